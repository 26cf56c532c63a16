//! The journal's single writer: group commit, sequence numbers, chain, signatures, and the
//! checks on everything that arrives from elsewhere.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::ThreadId;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::envelope::genesis_key;
use super::{
    AcceptedEvent, Applied, ApplyReport, BodyHeader, Committed, Envelope, GENESIS_PREV, Head,
    JournalError, JournalOptions, Origin, Projector, Reply, Request, StoredRow, blob32,
    envelope_of, stored_row,
};
use crate::clock::Clock;
use crate::domain::{Hlc, HlcStamp};
use crate::event::{DeviceJoined, Event, NewEvent};

/// Most events held while waiting for their predecessor; past it, new ones are set aside (a peer
/// will offer them again once the gap is filled).
const MAX_HELD: i64 = 200_000;
/// How much of a set-aside message is kept for a person to read.
const EXCERPT_BYTES: usize = 512;

#[derive(Clone)]
struct State {
    hlc: Hlc,
    own_head: Head,
    /// Highest seq of this device's own origin that a peer has shown.
    peer_claim: u64,
    keys: HashMap<Origin, VerifyingKey>,
}

/// Everything the writer needs besides the connection (kept apart so a transaction on the
/// connection can be open while these change).
struct Core {
    origin: Origin,
    clock: Arc<dyn Clock>,
    projectors: Vec<Box<dyn Projector>>,
    st: State,
    sealer: Arc<Sealer>,
    /// Time spent sealing own events, and own events written as sealed ahead, since the writer
    /// last added them to its stats.
    seal_ns: u64,
    presealed: u64,
}

pub(crate) struct Writer {
    conn: Connection,
    core: Core,
    stats: Arc<WriterStats>,
}

/// Counters of the writer's work, readable while it runs.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Transactions committed.
    pub commits: AtomicU64,
    /// Local events appended.
    pub appended: AtomicU64,
    /// Nanoseconds spent in batches, from the first request taken to the last caller answered.
    pub busy_ns: AtomicU64,
    /// Of which sealing own events: serialising, hashing, signing.
    pub seal_ns: AtomicU64,
    /// Of which committing (the fsync).
    pub commit_ns: AtomicU64,
    /// Of which telling callers the outcome, once committed.
    pub answer_ns: AtomicU64,
    /// Own events written as sealed ahead by a waiting caller.
    pub presealed: AtomicU64,
}

fn nanos(since: std::time::Instant) -> u64 {
    u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// The state an own event is sealed from: the origin's head and the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SealFrom {
    seq: u64,
    hash: [u8; 32],
    hlc: Hlc,
}

/// An own event stamped (serialised and hashed into the chain) from one state of the journal,
/// with its signature made by whichever thread gets to it first. The writer uses it only if the
/// journal is still in exactly that state; otherwise it stamps the event again. Stamping is
/// deterministic given the state and the wall time, and so is an ed25519 signature, so an event
/// sealed ahead of its turn is the very event the writer would have sealed at that time.
pub(crate) struct Presealed {
    from: SealFrom,
    body: Box<serde_json::value::RawValue>,
    prev: [u8; 32],
    wall_ms: i64,
    stamp: HlcStamp,
    next: SealFrom,
    signing: Arc<SignJob>,
}

impl Presealed {
    /// The state the journal is in once this event is written.
    pub(crate) fn next(&self) -> SealFrom {
        self.next
    }

    pub(crate) fn from(&self) -> SealFrom {
        self.from
    }

    pub(crate) fn signing(&self) -> &Arc<SignJob> {
        &self.signing
    }
}

/// The signature of one stamped event: made once, by the first thread that claims it (a caller
/// waiting for its commit, or the writer when no caller got there first).
pub(crate) struct SignJob {
    hash: [u8; 32],
    claimed: AtomicBool,
    sig: OnceLock<[u8; 64]>,
}

impl SignJob {
    fn new(hash: [u8; 32]) -> SignJob {
        SignJob {
            hash,
            claimed: AtomicBool::new(false),
            sig: OnceLock::new(),
        }
    }

    pub(crate) fn claimed(&self) -> bool {
        self.claimed.load(Ordering::Acquire)
    }

    /// Signs unless another thread has claimed the job; says whether this call signed.
    pub(crate) fn sign_if_unclaimed(&self, key: &SigningKey) -> bool {
        if self.claimed.swap(true, Ordering::AcqRel) {
            return false;
        }
        // Only the claiming thread sets the cell, so it is empty here.
        let _ = self.sig.set(key.sign(&self.hash).to_bytes());
        true
    }

    /// The signature: made now if nobody claimed the job, else the claimant's (waiting for it
    /// if it is still being made; signing cannot fail, so it always comes).
    fn signature(&self, key: &SigningKey) -> ([u8; 64], bool) {
        let here = self.sign_if_unclaimed(key);
        (*self.sig.wait(), here)
    }
}

/// Seals this device's own events, for the writer and for callers waiting on it: the device
/// key, and the state the journal will be in once what the writer holds is committed (callers
/// stamp what is queued behind it from there and sign it while they wait, so the writer's next
/// batch only inserts).
pub(crate) struct Sealer {
    origin: Origin,
    key: SigningKey,
    clock: Arc<dyn Clock>,
    /// Whether callers seal ahead at all ([`JournalOptions::preseal`]).
    ahead: bool,
    prediction: Mutex<Option<SealFrom>>,
}

impl Sealer {
    /// Stamps `new` as the event after `from`; its signature is left to [`SignJob`].
    pub(crate) fn stamp(&self, from: SealFrom, new: &NewEvent) -> Result<Presealed, JournalError> {
        let wall_ms = self.clock.wall_ms();
        let mut hlc = from.hlc;
        let stamp = hlc.tick(to_u64(wall_ms));
        let seq = from.seq + 1;
        let (body, hash) = Envelope::stamp(
            &self.origin,
            seq,
            stamp.0,
            wall_ms,
            &new.kind,
            &new.payload,
            &from.hash,
        )?;
        Ok(Presealed {
            from,
            body,
            prev: from.hash,
            wall_ms,
            stamp,
            next: SealFrom { seq, hash, hlc },
            signing: Arc::new(SignJob::new(hash)),
        })
    }

    pub(crate) fn key(&self) -> &SigningKey {
        &self.key
    }

    pub(crate) fn ahead(&self) -> bool {
        self.ahead
    }

    /// Where the next own event goes once what the writer holds is committed; `None` while
    /// that cannot be known (the writer seals events itself, or the device is catching up).
    pub(crate) fn prediction(&self) -> Option<SealFrom> {
        *self.prediction.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn predict(&self, state: Option<SealFrom>) {
        *self.prediction.lock().unwrap_or_else(|p| p.into_inner()) = state;
    }
}

/// A request's outcome, ready to be told to its caller.
pub(crate) enum Pending {
    Noted(Reply<()>, Result<(), JournalError>),
    Append(Reply<Committed>, Result<Committed, JournalError>),
    AppendAll(Reply<Vec<Committed>>, Result<Vec<Committed>, JournalError>),
    Apply(
        Reply<(ApplyReport, Vec<Applied>)>,
        Result<(ApplyReport, Vec<Applied>), JournalError>,
    ),
}

impl Pending {
    /// The error this request ended with, as the batch's error.
    fn error(&self) -> Option<JournalError> {
        let text = |e: &JournalError| same_error(e, &e.to_string());
        match self {
            Pending::Append(_, Err(e)) => Some(text(e)),
            Pending::AppendAll(_, Err(e)) => Some(text(e)),
            Pending::Apply(_, Err(e)) => Some(text(e)),
            _ => None,
        }
    }

    /// Tells the caller that its request was not written after all.
    fn fail(self, e: &JournalError, text: &str) {
        // A caller that gave up waiting is not an error of the journal.
        let _ = match self {
            Pending::Append(reply, _) => reply.send(Err(same_error(e, text)), Vec::new()),
            Pending::AppendAll(reply, _) => reply.send(Err(same_error(e, text)), Vec::new()),
            Pending::Apply(reply, _) => reply.send(Err(same_error(e, text)), Vec::new()),
            Pending::Noted(reply, _) => reply.send(Err(same_error(e, text)), Vec::new()),
        };
    }

    fn thread(&self) -> ThreadId {
        match self {
            Pending::Append(reply, _) => reply.thread(),
            Pending::AppendAll(reply, _) => reply.thread(),
            Pending::Apply(reply, _) => reply.thread(),
            Pending::Noted(reply, _) => reply.thread(),
        }
    }

    /// Tells the caller its outcome and hands it `relay` to pass on; gives `relay` back if the
    /// caller is gone.
    fn tell(self, relay: Vec<Pending>) -> Result<(), Vec<Pending>> {
        match self {
            Pending::Append(reply, result) => reply.send(result, relay),
            Pending::AppendAll(reply, result) => reply.send(result, relay),
            Pending::Apply(reply, result) => reply.send(result, relay),
            Pending::Noted(reply, result) => reply.send(result, relay),
        }
    }
}

/// Tells the callers of a committed batch their outcomes with one wake-up on the writer's
/// thread. Waking a sleeping thread costs microseconds (on a virtual machine, an interrupt to
/// another processor), and every one the writer does delays the next batch: so the writer
/// answers the caller it runs for directly (that one is awake), wakes one other caller and hands
/// it everybody else's outcome, to pass on from its own thread ([`relay`]) while the writer goes
/// on with the next batch. Every outcome is told only after the commit, as before.
fn answer_batch(answers: Vec<Pending>, me: ThreadId) {
    let (mine, mut answers): (Vec<Pending>, Vec<Pending>) =
        answers.into_iter().partition(|a| a.thread() == me);
    for answer in mine {
        let _ = answer.tell(Vec::new());
    }
    // The caller queued first is the likeliest to be asleep already (the last may still be
    // signing what was queued behind it).
    while !answers.is_empty() {
        let head = answers.remove(0);
        match head.tell(answers) {
            Ok(()) => return,
            Err(back) => answers = back,
        }
    }
}

/// Passes on outcomes a caller was handed with its own: to two callers at a time, each given
/// half of what is left to pass on, so a batch is told in a few steps of a few wake-ups each.
pub(crate) fn relay(mut answers: Vec<Pending>) {
    while let Some(head) = answers.pop() {
        let onward = answers.split_off(answers.len() / 2);
        if let Err(back) = head.tell(onward) {
            answers.extend(back);
        }
    }
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Inserts one event; returns its row id.
fn insert_event(db: &Connection, h: &BodyHeader, env: &Envelope) -> rusqlite::Result<i64> {
    let mut stmt = db.prepare_cached(
        "INSERT INTO events (origin, seq, hlc, wall_ms, kind, body, prev_hash, hash, sig)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    stmt.execute(params![
        h.origin.as_str(),
        to_i64(h.seq),
        to_i64(h.hlc),
        h.wall_ms,
        h.kind,
        env.body(),
        &env.prev()[..],
        &env.hash()[..],
        &env.sig()[..],
    ])?;
    Ok(db.last_insert_rowid())
}

impl Writer {
    /// Reads the device identity, or creates one (key, origin, first event) in one transaction.
    pub(crate) fn load_or_create(
        conn: Connection,
        options: &JournalOptions,
        projectors: Vec<Box<dyn Projector>>,
    ) -> Result<Writer, JournalError> {
        let found: Option<(String, Vec<u8>)> = conn
            .query_row(
                "SELECT origin, secret_key FROM identity WHERE only_row = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let created = found.is_none();
        let (origin, key) = match found {
            Some((origin, secret)) => {
                let secret: [u8; 32] = secret
                    .try_into()
                    .map_err(|_| JournalError::Serialise("stored device key is damaged".into()))?;
                (origin.parse::<Origin>()?, SigningKey::from_bytes(&secret))
            }
            None => {
                let mut secret = [0u8; 32];
                getrandom::fill(&mut secret).map_err(|e| {
                    JournalError::Serialise(format!("no randomness for a device key: {e}"))
                })?;
                let key = SigningKey::from_bytes(&secret);
                (Origin::from_public_key(&key.verifying_key()), key)
            }
        };
        let (head_seq, head_hash, last_hlc) = conn
            .query_row(
                "SELECT seq, hash, (SELECT MAX(hlc) FROM events) FROM events
                 WHERE origin = ?1 ORDER BY seq DESC, id ASC LIMIT 1",
                [origin.as_str()],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, Option<i64>>(2)?,
                    ))
                },
            )
            .optional()?
            .map(|(s, h, l)| (to_u64(s), blob32(h), l.map(to_u64).unwrap_or(0)))
            .unwrap_or((0, GENESIS_PREV, 0));
        let mut writer = Writer {
            core: Core {
                origin: origin.clone(),
                clock: Arc::clone(&options.clock),
                projectors,
                sealer: Arc::new(Sealer {
                    origin: origin.clone(),
                    key,
                    clock: Arc::clone(&options.clock),
                    ahead: options.preseal,
                    prediction: Mutex::new(None),
                }),
                seal_ns: 0,
                presealed: 0,
                st: State {
                    hlc: Hlc::starting_at(HlcStamp(last_hlc)),
                    own_head: Head {
                        seq: head_seq,
                        hash: head_hash,
                    },
                    peer_claim: 0,
                    keys: HashMap::new(),
                },
            },
            conn,
            stats: Arc::new(WriterStats::default()),
        };
        if let Some(pages) = options.max_db_pages {
            writer
                .conn
                .pragma_update(None, "max_page_count", to_i64(pages))?;
        }
        if created {
            let joined = Event::DeviceJoined(DeviceJoined {
                public_key: hex::encode(writer.core.sealer.key.verifying_key().as_bytes()),
                role: options.device.role,
                name: options.device.name.clone(),
            });
            let new = joined
                .to_new()
                .map_err(|e| JournalError::Serialise(e.to_string()))?;
            let tx = writer
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO identity (only_row, origin, secret_key, created_ms) VALUES (1, ?1, ?2, ?3)",
                params![origin.as_str(), &writer.core.sealer.key.to_bytes()[..], writer.core.clock.wall_ms()],
            )?;
            writer.core.append_in(&tx, new, None)?;
            tx.commit()?;
            tracing::info!(origin = %origin, "new journal created");
        }
        writer.core.sealer.predict(writer.core.prediction());
        Ok(writer)
    }

    pub(crate) fn origin(&self) -> &Origin {
        &self.core.origin
    }

    pub(crate) fn stats(&self) -> Arc<WriterStats> {
        Arc::clone(&self.stats)
    }

    pub(crate) fn sealer(&self) -> Arc<Sealer> {
        Arc::clone(&self.core.sealer)
    }

    /// Where own events go once `batch` (just taken from the queue) is committed, if that is
    /// known now: when every request in it is an own event sealed ahead in a chain from the
    /// journal's present state. Otherwise `None` until the batch is written.
    pub(crate) fn after(&self, batch: &[Request]) -> Option<SealFrom> {
        let mut at = self.core.prediction()?;
        for request in batch {
            match request {
                Request::Append(_, Some(p), _) if p.from == at => at = p.next,
                _ => return None,
            }
        }
        Some(at)
    }

    /// Does one batch in one transaction, commits once, then answers every caller.
    pub(crate) fn process(&mut self, batch: Vec<Request>) {
        let started = std::time::Instant::now();
        self.process_batch(batch);
        // Whatever became of the batch, callers seal from where the journal now is.
        self.core.sealer.predict(self.core.prediction());
        let sealing = std::mem::take(&mut self.core.seal_ns);
        self.stats.seal_ns.fetch_add(sealing, Ordering::Relaxed);
        let presealed = std::mem::take(&mut self.core.presealed);
        self.stats.presealed.fetch_add(presealed, Ordering::Relaxed);
        self.stats
            .busy_ns
            .fetch_add(nanos(started), Ordering::Relaxed);
    }

    fn process_batch(&mut self, mut batch: Vec<Request>) {
        let batch = &mut batch;
        let saved = self.core.st.clone();
        let mut answers = Vec::with_capacity(batch.len());
        let tx = match self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
        {
            Ok(tx) => tx,
            Err(e) => {
                let e = JournalError::from(e);
                let text = e.to_string();
                for req in batch.drain(..) {
                    reply_err(req, &text, &e);
                }
                return;
            }
        };
        let mut aborted: Option<JournalError> = None;
        for req in batch.drain(..) {
            if let Some(e) = &aborted {
                reply_err(req, &e.to_string(), e);
                continue;
            }
            match req {
                Request::Append(new, sealed, reply) => {
                    // Without projectors an append is one INSERT, atomic on its own; with them it
                    // writes several rows, which a savepoint keeps together.
                    let result = if self.core.projectors.is_empty() {
                        self.core.append_in(&tx, new, sealed)
                    } else {
                        // The savepoint undoes the rows; the head and clock the event and its
                        // automatic follow-ups advanced go back with them.
                        let before = self.core.st.clone();
                        let result = savepoint(&tx, |db| self.core.append_in(db, new, sealed));
                        if result.is_err() {
                            self.core.st = before;
                        }
                        result
                    };
                    answers.push(Pending::Append(reply, result));
                }
                Request::AppendAll(news, reply) => {
                    // All or none: on an error the savepoint undoes the rows already written,
                    // and the state those appends advanced goes back with them.
                    let before = self.core.st.clone();
                    let result = savepoint(&tx, |db| {
                        news.into_iter()
                            .map(|new| self.core.append_in(db, new, None))
                            .collect::<Result<Vec<_>, _>>()
                    });
                    if result.is_err() {
                        self.core.st = before;
                    }
                    answers.push(Pending::AppendAll(reply, result));
                }
                Request::Apply(envelopes, reply) => {
                    let before = self.core.st.clone();
                    let result = savepoint(&tx, |db| self.core.apply_all(db, envelopes));
                    if result.is_err() {
                        self.core.st = before;
                    }
                    answers.push(Pending::Apply(reply, result));
                }
                Request::PeerHead(origin, seq, reply) => {
                    self.core.note_peer_head(&origin, seq);
                    answers.push(Pending::Noted(reply, Ok(())));
                }
            }
            // SQLite rolls the whole transaction back by itself on some errors (a full disk):
            // then nothing of this batch is written, and every caller must hear so.
            if tx.is_autocommit() {
                aborted = Some(answers.iter().find_map(Pending::error).unwrap_or(
                    JournalError::CommitFailed("the transaction was rolled back".into()),
                ));
            }
        }
        if let Some(e) = aborted {
            self.core.st = saved;
            tracing::error!(error = %e, "journal batch rolled back; nothing of it was written");
            let text = e.to_string();
            drop(tx);
            for answer in answers {
                answer.fail(&e, &text);
            }
            return;
        }
        // While this commit waits for the disk, callers queued behind it may seal their events
        // from the state it leaves.
        self.core.sealer.predict(self.core.prediction());
        let committing = std::time::Instant::now();
        let commit = tx.commit();
        self.stats
            .commit_ns
            .fetch_add(nanos(committing), Ordering::Relaxed);
        if let Err(e) = commit {
            self.core.st = saved;
            let e = JournalError::from(e);
            tracing::error!(error = %e, "journal commit failed; nothing of the batch was written");
            let text = e.to_string();
            for answer in answers {
                answer.fail(&e, &text);
            }
            return;
        }
        self.stats.commits.fetch_add(1, Ordering::Relaxed);
        let appended: usize = answers
            .iter()
            .map(|a| match a {
                Pending::Append(_, Ok(_)) => 1,
                Pending::AppendAll(_, Ok(all)) => all.len(),
                _ => 0,
            })
            .sum();
        self.stats
            .appended
            .fetch_add(appended as u64, Ordering::Relaxed);
        let answering = std::time::Instant::now();
        answer_batch(answers, std::thread::current().id());
        self.stats
            .answer_ns
            .fetch_add(nanos(answering), Ordering::Relaxed);
    }
}

/// Runs `f` inside a savepoint: on error, everything it wrote is undone and the rest of the
/// batch goes on.
fn savepoint<T>(
    tx: &rusqlite::Transaction<'_>,
    f: impl FnOnce(&Connection) -> Result<T, JournalError>,
) -> Result<T, JournalError> {
    tx.prepare_cached("SAVEPOINT request")?.execute([])?;
    match f(tx) {
        Ok(v) => {
            tx.prepare_cached("RELEASE request")?.execute([])?;
            Ok(v)
        }
        Err(e) if tx.is_autocommit() => Err(e), // SQLite already rolled everything back
        Err(e) => {
            if let Err(undo) = tx.execute_batch("ROLLBACK TO request; RELEASE request") {
                tracing::error!(error = %undo, "could not undo a failed request");
            }
            Err(e)
        }
    }
}

/// The same failure, told to each caller of a failed batch.
fn same_error(e: &JournalError, text: &str) -> JournalError {
    match e {
        JournalError::DiskFull => JournalError::DiskFull,
        JournalError::ReadOnly => JournalError::ReadOnly,
        _ => JournalError::CommitFailed(text.to_owned()),
    }
}

fn reply_err(req: Request, text: &str, e: &JournalError) {
    // A caller that gave up waiting is not an error of the journal.
    let _ = match req {
        Request::Append(_, _, reply) => reply.send(Err(same_error(e, text)), Vec::new()),
        Request::AppendAll(_, reply) => reply.send(Err(same_error(e, text)), Vec::new()),
        Request::Apply(_, reply) => reply.send(Err(same_error(e, text)), Vec::new()),
        Request::PeerHead(_, _, reply) => reply.send(Err(same_error(e, text)), Vec::new()),
    };
}

impl Core {
    fn note_peer_head(&mut self, origin: &Origin, seq: u64) {
        if *origin == self.origin && seq > self.st.peer_claim {
            self.st.peer_claim = seq;
            if seq > self.st.own_head.seq {
                tracing::warn!(
                    local = self.st.own_head.seq,
                    peer = seq,
                    "a peer holds more of this device's own events than its journal: catching up before writing"
                );
            }
        }
    }

    /// Where the next own event goes, for callers sealing ahead: the present state, unless
    /// sealing ahead is off or this device must catch up first.
    fn prediction(&self) -> Option<SealFrom> {
        (self.sealer.ahead && self.st.peer_claim <= self.st.own_head.seq).then(|| self.seal_from())
    }

    fn seal_from(&self) -> SealFrom {
        SealFrom {
            seq: self.st.own_head.seq,
            hash: self.st.own_head.hash,
            hlc: self.st.hlc,
        }
    }

    /// Writes one own event: the one `sealed` ahead if the journal is still in the state it was
    /// sealed from, else sealed now.
    fn append_in(
        &mut self,
        db: &Connection,
        new: NewEvent,
        sealed: Option<Box<Presealed>>,
    ) -> Result<Committed, JournalError> {
        if self.st.peer_claim > self.st.own_head.seq {
            return Err(JournalError::BehindPeer {
                local_seq: self.st.own_head.seq,
                peer_seq: self.st.peer_claim,
            });
        }
        let from = self.seal_from();
        let sealing = std::time::Instant::now();
        let stamped = match sealed {
            Some(p) if p.from == from => *p,
            _ => self.sealer.stamp(from, &new)?,
        };
        let Presealed {
            body,
            prev,
            wall_ms,
            stamp,
            next,
            signing,
            ..
        } = stamped;
        let (sig, signed_here) = signing.signature(&self.sealer.key);
        if !signed_here {
            self.presealed += 1;
        }
        self.seal_ns = self.seal_ns.saturating_add(nanos(sealing));
        let env = Envelope::signed(body, prev, next.hash, sig);
        let header = BodyHeader {
            version: super::BODY_VERSION,
            origin: self.origin.clone(),
            seq: next.seq,
            hlc: stamp.0,
            wall_ms,
            kind: new.kind,
        };
        let id = insert_event(db, &header, &env)?;
        // The head moves on before projecting: an automatic follow-up the projectors ask for is
        // the next event of this origin, chained onto this one. If projecting fails, the batch
        // puts the state back with the savepoint's rows.
        self.st.hlc = next.hlc;
        self.st.own_head = Head {
            seq: next.seq,
            hash: next.hash,
        };
        if !self.projectors.is_empty() {
            let event = Event::decode(&header.kind, &new.payload)
                .map_err(|e| JournalError::Serialise(e.to_string()))?;
            self.project(db, id, &header, &env, event.as_ref())?;
        }
        Ok(Committed {
            seq: next.seq,
            hash: next.hash,
            hlc: stamp.0,
        })
    }

    fn project(
        &mut self,
        db: &Connection,
        id: i64,
        header: &BodyHeader,
        envelope: &Envelope,
        event: Option<&Event>,
    ) -> Result<(), JournalError> {
        let own = self.origin.clone();
        let accepted = AcceptedEvent {
            id,
            header,
            envelope,
            event,
            own_origin: &own,
        };
        let mut follow_ups = Vec::new();
        for p in &mut self.projectors {
            p.on_event(db, &accepted)?;
            follow_ups.extend(p.take_follow_ups());
        }
        for event in follow_ups {
            let new = event
                .to_new()
                .map_err(|e| JournalError::Serialise(e.to_string()))?;
            match self.append_in(db, new, None) {
                Ok(c) => tracing::info!(seq = c.seq, kind = ?event, "automatic event written"),
                // Catching up first: a peer will have written it, or this device will after.
                Err(JournalError::BehindPeer { .. }) => {
                    tracing::warn!(?event, "automatic event not written while catching up")
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn apply_all(
        &mut self,
        db: &Connection,
        envelopes: Vec<Vec<u8>>,
    ) -> Result<(ApplyReport, Vec<Applied>), JournalError> {
        let mut report = ApplyReport::default();
        let mut outcomes = Vec::with_capacity(envelopes.len());
        for bytes in envelopes {
            let outcome = self.apply_one(db, &bytes, &mut report)?;
            report.count(&outcome);
            outcomes.push(outcome);
        }
        Ok((report, outcomes))
    }

    fn set_aside(
        &mut self,
        db: &Connection,
        bytes: &[u8],
        reason: String,
    ) -> Result<Applied, JournalError> {
        let end = bytes.len().min(EXCERPT_BYTES);
        let excerpt = String::from_utf8_lossy(&bytes[..end]).into_owned();
        db.prepare_cached("INSERT INTO set_aside (at_ms, reason, excerpt) VALUES (?1, ?2, ?3)")?
            .execute(params![self.clock.wall_ms(), reason, excerpt])?;
        tracing::warn!(%reason, bytes = bytes.len(), "message set aside");
        Ok(Applied::SetAside(reason))
    }

    fn key_of(
        &mut self,
        db: &Connection,
        origin: &Origin,
    ) -> Result<Option<VerifyingKey>, JournalError> {
        if let Some(k) = self.st.keys.get(origin) {
            return Ok(Some(*k));
        }
        let first: Option<StoredRow> = db
            .prepare_cached(
                "SELECT body, prev_hash, hash, sig FROM events WHERE origin = ?1 AND seq = 1 ORDER BY id LIMIT 1",
            )?
            .query_row([origin.as_str()], stored_row)
            .optional()?;
        let Some(row) = first else {
            return Ok(None);
        };
        let env = envelope_of(row)?;
        let header = env.header()?;
        match genesis_key(&header, &env) {
            Ok(key) => {
                self.st.keys.insert(origin.clone(), key);
                Ok(Some(key))
            }
            Err(e) => Err(JournalError::Serialise(format!(
                "stored first event of {origin} is invalid: {e}"
            ))),
        }
    }

    /// Applies one envelope, then any held events it unblocks.
    fn apply_one(
        &mut self,
        db: &Connection,
        bytes: &[u8],
        report: &mut ApplyReport,
    ) -> Result<Applied, JournalError> {
        let first = self.apply_single(db, bytes)?;
        if first != Applied::Accepted && first != Applied::Fork {
            return Ok(first);
        }
        // Release held successors, breadth first.
        let (env, header) = Envelope::parse(bytes)?;
        let mut work = vec![(header.origin, header.seq, *env.hash())];
        while let Some((origin, seq, hash)) = work.pop() {
            let waiting: Vec<(Vec<u8>, String)> = db
                .prepare_cached("SELECT hash, envelope FROM held WHERE origin = ?1 AND seq = ?2")?
                .query_map(params![origin.as_str(), to_i64(seq + 1)], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            for (held_hash, text) in waiting {
                let Ok((held_env, held_header)) = Envelope::parse(text.as_bytes()) else {
                    continue;
                };
                if *held_env.prev() != hash {
                    continue;
                }
                db.prepare_cached("DELETE FROM held WHERE origin = ?1 AND seq = ?2 AND hash = ?3")?
                    .execute(params![origin.as_str(), to_i64(seq + 1), held_hash])?;
                let outcome = self.apply_single(db, text.as_bytes())?;
                if outcome == Applied::Accepted || outcome == Applied::Fork {
                    report.released += 1;
                    if outcome == Applied::Fork {
                        report.forks += 1;
                    }
                    work.push((held_header.origin, held_header.seq, *held_env.hash()));
                }
            }
        }
        Ok(first)
    }

    fn hold(
        &mut self,
        db: &Connection,
        header: &BodyHeader,
        env: &Envelope,
        bytes: &[u8],
    ) -> Result<Applied, JournalError> {
        let count: i64 = db
            .prepare_cached("SELECT COUNT(*) FROM held")?
            .query_row([], |r| r.get(0))?;
        if count >= MAX_HELD {
            return self.set_aside(
                db,
                bytes,
                "too many events waiting for their predecessors".into(),
            );
        }
        db.prepare_cached(
            "INSERT OR IGNORE INTO held (origin, seq, hash, envelope, held_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            header.origin.as_str(),
            to_i64(header.seq),
            &env.hash()[..],
            env.to_json(),
            self.clock.wall_ms()
        ])?;
        if header.origin == self.origin {
            self.note_peer_head(&header.origin, header.seq);
        }
        Ok(Applied::Held)
    }

    fn apply_single(&mut self, db: &Connection, bytes: &[u8]) -> Result<Applied, JournalError> {
        let (env, header) = match Envelope::parse(bytes) {
            Ok(parsed) => parsed,
            Err(e) => return self.set_aside(db, bytes, e.to_string()),
        };
        let exists: bool = db
            .prepare_cached(
                "SELECT EXISTS(SELECT 1 FROM events WHERE origin = ?1 AND seq = ?2 AND hash = ?3)",
            )?
            .query_row(
                params![header.origin.as_str(), to_i64(header.seq), &env.hash()[..]],
                |r| r.get(0),
            )?;
        if exists {
            return Ok(Applied::Duplicate);
        }
        // The signing key: announced by the origin's first event.
        let key = if header.seq == 1 {
            match genesis_key(&header, &env) {
                Ok(key) => key,
                Err(reason) => {
                    let reason = format!("origin {} seq 1: {reason}", header.origin);
                    return self.set_aside(db, bytes, reason);
                }
            }
        } else {
            match self.key_of(db, &header.origin)? {
                Some(key) => key,
                None => return self.hold(db, &header, &env, bytes),
            }
        };
        if !env.signature_ok(&key) {
            let reason = format!(
                "origin {} seq {}: signature does not verify",
                header.origin, header.seq
            );
            return self.set_aside(db, bytes, reason);
        }
        if header.seq > 1 {
            let linked: bool = db
                .prepare_cached(
                    "SELECT EXISTS(SELECT 1 FROM events WHERE origin = ?1 AND seq = ?2 AND hash = ?3)",
                )?
                .query_row(
                    params![header.origin.as_str(), to_i64(header.seq - 1), &env.prev()[..]],
                    |r| r.get(0),
                )?;
            if !linked {
                // Its predecessor (or the version of it that it chains onto) is not here yet.
                return self.hold(db, &header, &env, bytes);
            }
        }
        let existing: Option<Vec<u8>> = db
            .prepare_cached(
                "SELECT hash FROM events WHERE origin = ?1 AND seq = ?2 ORDER BY id LIMIT 1",
            )?
            .query_row(params![header.origin.as_str(), to_i64(header.seq)], |r| {
                r.get(0)
            })
            .optional()?;
        let id = insert_event(db, &header, &env)?;
        let outcome = if let Some(kept) = existing {
            db.prepare_cached(
                "INSERT INTO forks (origin, seq, kept_hash, other_hash, detected_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                header.origin.as_str(),
                to_i64(header.seq),
                kept,
                &env.hash()[..],
                self.clock.wall_ms()
            ])?;
            tracing::error!(
                origin = %header.origin,
                seq = header.seq,
                "FORK: two different events claim the same origin and seq; both kept, neither projected"
            );
            for p in &mut self.projectors {
                p.on_fork(db, &header.origin, header.seq)?;
            }
            Applied::Fork
        } else {
            if !self.projectors.is_empty() {
                let payload = env.payload()?;
                let event = Event::decode(&header.kind, payload).ok().flatten();
                self.project(db, id, &header, &env, event.as_ref())?;
            }
            Applied::Accepted
        };
        if header.origin == self.origin && header.seq > self.st.own_head.seq {
            self.st.own_head = Head {
                seq: header.seq,
                hash: *env.hash(),
            };
        }
        let wall = to_u64(self.clock.wall_ms());
        if let Err(skew) = self.st.hlc.observe(HlcStamp(header.hlc), wall) {
            tracing::debug!(origin = %header.origin, %skew, "peer clock ignored");
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    //! Events sealed ahead by waiting callers: used when the journal is in the state they were
    //! sealed from, sealed again when it is not; either way the chain and every signature hold.

    use std::sync::mpsc;

    use serde_json::value::RawValue;

    use super::*;
    use crate::clock::ManualClock;
    use crate::event::DeviceRole;
    use crate::journal::{Answer, Journal, verify};

    fn open(dir: &std::path::Path) -> Journal {
        open_with(dir, Vec::new())
    }

    fn open_with(dir: &std::path::Path, projectors: Vec<Box<dyn Projector>>) -> Journal {
        Journal::open_with(
            dir.join("t.db"),
            JournalOptions::new(
                Arc::new(ManualClock::starting_at(1_767_000_000_000)),
                DeviceRole::OrderTerminal,
                "t",
            ),
            projectors,
        )
        .expect("open")
    }

    fn note(n: u64) -> NewEvent {
        NewEvent {
            kind: "test_note".into(),
            payload: RawValue::from_string(format!("{{\"n\":{n}}}")).expect("json"),
        }
    }

    type Waiting = mpsc::Receiver<Answer<Committed>>;

    /// Queues appends as waiting callers do; returns their answer channels.
    fn queue(j: &Journal, from: u64, count: u64) -> Vec<Waiting> {
        (from..from + count)
            .map(|n| {
                let (reply, answer) = super::Reply::new();
                j.queue
                    .lock()
                    .expect("queue")
                    .push(Request::Append(note(n), None, reply));
                answer
            })
            .collect()
    }

    fn state(j: &Journal) -> SealFrom {
        j.writer
            .lock()
            .expect("writer")
            .as_ref()
            .expect("open")
            .core
            .seal_from()
    }

    fn seqs(answers: Vec<Waiting>) -> Vec<u64> {
        answers
            .into_iter()
            .map(|a| a.recv().expect("answer").take().expect("committed").seq)
            .collect()
    }

    fn presealed(j: &Journal) -> u64 {
        j.stats().presealed.load(Ordering::Relaxed)
    }

    /// Replies as callers on their own threads make them (each caller waits on its thread).
    fn callers(count: usize) -> Vec<(Reply<Committed>, Waiting)> {
        (0..count)
            .map(|_| {
                std::thread::spawn(super::Reply::new)
                    .join()
                    .expect("caller thread")
            })
            .collect()
    }

    fn committed(seq: u64) -> Result<Committed, JournalError> {
        Ok(Committed {
            seq,
            hash: [0; 32],
            hlc: seq,
        })
    }

    #[test]
    fn every_caller_of_a_batch_is_told_once_through_the_relay_even_when_one_is_gone() {
        for size in [1usize, 2, 3, 8, 33] {
            let mut waiting = Vec::new();
            let mut answers = Vec::new();
            for (n, (reply, rx)) in callers(size).into_iter().enumerate() {
                answers.push(Pending::Append(reply, committed(n as u64)));
                waiting.push(Some(rx));
            }
            // One caller stopped waiting: the others must still hear.
            let gone = size / 2;
            waiting[gone] = None;
            answer_batch(answers, std::thread::current().id());
            // Each caller that wakes passes on what it was handed, as `submit` does.
            let mut told = vec![0; size];
            let mut rounds = 0;
            while told.iter().enumerate().any(|(i, t)| i != gone && *t == 0) {
                rounds += 1;
                assert!(rounds <= size + 1, "relay did not reach everyone: {told:?}");
                for (i, rx) in waiting.iter().enumerate() {
                    let Some(rx) = rx else { continue };
                    while let Ok(answer) = rx.try_recv() {
                        let seq = answer.take().expect("committed").seq;
                        assert_eq!(seq, i as u64, "each caller gets its own outcome");
                        told[i] += 1;
                    }
                }
            }
            for (i, t) in told.iter().enumerate() {
                assert_eq!(*t, usize::from(i != gone), "caller {i} of {size}");
            }
        }
    }

    #[test]
    fn the_writers_own_request_is_answered_directly() {
        let (mine, my_rx) = super::Reply::new();
        let others = callers(3);
        let mut answers = vec![Pending::Append(mine, committed(7))];
        let mut rxs = Vec::new();
        for (n, (reply, rx)) in others.into_iter().enumerate() {
            answers.push(Pending::Append(reply, committed(n as u64)));
            rxs.push(rx);
        }
        answer_batch(answers, std::thread::current().id());
        let own = my_rx.try_recv().expect("told at once");
        assert!(
            own.relay.is_empty(),
            "the serving caller is not asked to pass anything on"
        );
        assert_eq!(own.take().expect("ok").seq, 7);
        // Exactly one other caller was woken, holding the rest.
        let woken: Vec<_> = rxs.iter().filter_map(|rx| rx.try_recv().ok()).collect();
        assert_eq!(woken.len(), 1);
        assert_eq!(woken[0].relay.len(), 2);
    }

    /// Asks for one automatic follow-up after each own `test_note`, as the course-firing
    /// projection does after a bump.
    struct FollowUp(Vec<Event>);

    impl Projector for FollowUp {
        fn on_event(&mut self, _db: &Connection, ev: &AcceptedEvent<'_>) -> rusqlite::Result<()> {
            if ev.header.kind == "test_note" && ev.header.origin == *ev.own_origin {
                self.0.push(Event::CourseFired {
                    check: format!("c{}", ev.header.seq),
                    course: 2,
                });
            }
            Ok(())
        }

        fn take_follow_ups(&mut self) -> Vec<Event> {
            std::mem::take(&mut self.0)
        }
    }

    #[test]
    fn an_automatic_follow_up_of_an_own_event_is_chained_after_it() {
        let dir = tempfile::tempdir().expect("tmp");
        let j = open_with(dir.path(), vec![Box::new(FollowUp(Vec::new()))]);
        let first = j.append_new(note(1)).expect("append");
        let second = j.append_new(note(2)).expect("append");
        // Each note is followed by its follow-up: seqs 2, 3 then 4, 5, no version twice.
        assert_eq!((first.seq, second.seq), (2, 4));
        let events = j.all_events().expect("read");
        let seqs: Vec<u64> = events
            .iter()
            .map(|e| e.header().expect("header").seq)
            .collect();
        assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
        drop(j);
        let report = verify::verify(&[dir.path().join("t.db")], true);
        assert!(report.ok(), "{:?}", report.findings);
    }

    #[test]
    fn events_sealed_while_the_batch_before_commits_are_written_as_sealed() {
        let dir = tempfile::tempdir().expect("tmp");
        let j = open(dir.path());
        j.append_new(note(0)).expect("append");
        let before = presealed(&j);
        // The writer is committing and says where it will be; three callers queue and seal.
        j.sealer.predict(Some(state(&j)));
        let answers = queue(&j, 1, 3);
        j.preseal_queued();
        j.sealer.predict(None);
        j.serve().expect("serve");
        assert_eq!(seqs(answers), vec![3, 4, 5]);
        assert_eq!(presealed(&j) - before, 3);
        let report = verify::verify(&[dir.path().join("t.db")], true);
        assert!(report.ok(), "{:?}", report.findings);
    }

    #[test]
    fn events_sealed_from_a_state_that_never_came_are_sealed_again() {
        let dir = tempfile::tempdir().expect("tmp");
        let j = open(dir.path());
        j.append_new(note(0)).expect("append");
        let before = presealed(&j);
        // Sealed ahead from the state after the commit under way...
        j.sealer.predict(Some(state(&j)));
        let late = queue(&j, 1, 2);
        j.preseal_queued();
        j.sealer.predict(None);
        // ...but another event goes in first (as a failed commit or an apply would move the
        // head elsewhere): both are sealed again, on top of it.
        let first = {
            let (reply, answer) = super::Reply::new();
            j.queue
                .lock()
                .expect("queue")
                .insert(0, Request::Append(note(9), None, reply));
            answer
        };
        j.serve().expect("serve");
        assert_eq!(seqs(vec![first]), vec![3]);
        assert_eq!(seqs(late), vec![4, 5]);
        assert_eq!(
            presealed(&j) - before,
            0,
            "nothing sealed from a stale state is written"
        );
        let report = verify::verify(&[dir.path().join("t.db")], true);
        assert!(report.ok(), "{:?}", report.findings);
    }
}
