//! The journal's single writer: group commit, sequence numbers, chain, signatures, and the
//! checks on everything that arrives from elsewhere.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};

use ed25519_dalek::{SigningKey, VerifyingKey};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::envelope::genesis_key;
use super::{
    AcceptedEvent, Applied, ApplyReport, BodyHeader, Committed, Envelope, GENESIS_PREV, Head,
    JournalError, JournalOptions, Origin, Projector, Request, StoredRow, blob32, envelope_of,
    stored_row,
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
    key: SigningKey,
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

/// An own event sealed (serialised, hashed, signed) from one state of the journal. The writer
/// uses it only if the journal is still in exactly that state; otherwise it seals the event
/// again. Sealing is deterministic given the state and the wall time, so an event sealed ahead
/// of its turn is the very event the writer would have sealed at that time.
pub(crate) struct Presealed {
    from: SealFrom,
    env: Envelope,
    wall_ms: i64,
    stamp: HlcStamp,
    next: SealFrom,
}

impl Presealed {
    /// The state the journal is in once this event is written.
    pub(crate) fn next(&self) -> SealFrom {
        self.next
    }

    pub(crate) fn from(&self) -> SealFrom {
        self.from
    }
}

/// Seals this device's own events, for the writer and for callers waiting on it: the device
/// key, and while the writer commits a batch, the state the journal will be in once that commit
/// succeeds (callers seal what is queued behind it from there, so the next batch only inserts).
pub(crate) struct Sealer {
    origin: Origin,
    key: SigningKey,
    clock: Arc<dyn Clock>,
    /// Whether callers seal ahead at all ([`JournalOptions::preseal`]).
    ahead: bool,
    prediction: Mutex<Option<SealFrom>>,
}

impl Sealer {
    pub(crate) fn seal(&self, from: SealFrom, new: &NewEvent) -> Result<Presealed, JournalError> {
        let wall_ms = self.clock.wall_ms();
        let mut hlc = from.hlc;
        let stamp = hlc.tick(to_u64(wall_ms));
        let seq = from.seq + 1;
        let env = Envelope::seal(
            &self.key,
            &self.origin,
            seq,
            stamp.0,
            wall_ms,
            &new.kind,
            &new.payload,
            from.hash,
        )?;
        let next = SealFrom {
            seq,
            hash: *env.hash(),
            hlc,
        };
        Ok(Presealed {
            from,
            env,
            wall_ms,
            stamp,
            next,
        })
    }

    /// The state the journal is committing towards, while a commit is under way.
    pub(crate) fn prediction(&self) -> Option<SealFrom> {
        *self.prediction.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn predict(&self, state: Option<SealFrom>) {
        *self.prediction.lock().unwrap_or_else(|p| p.into_inner()) = state;
    }
}

enum Pending {
    Noted(SyncSender<Result<(), JournalError>>),
    Append(
        SyncSender<Result<Committed, JournalError>>,
        Result<Committed, JournalError>,
    ),
    AppendAll(
        SyncSender<Result<Vec<Committed>, JournalError>>,
        Result<Vec<Committed>, JournalError>,
    ),
    Apply(
        SyncSender<Result<(ApplyReport, Vec<Applied>), JournalError>>,
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
        match self {
            Pending::Append(reply, _) => {
                let _ = reply.send(Err(same_error(e, text)));
            }
            Pending::AppendAll(reply, _) => {
                let _ = reply.send(Err(same_error(e, text)));
            }
            Pending::Apply(reply, _) => {
                let _ = reply.send(Err(same_error(e, text)));
            }
            Pending::Noted(reply) => {
                let _ = reply.send(Err(same_error(e, text)));
            }
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
                key: key.clone(),
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
                public_key: hex::encode(writer.core.key.verifying_key().as_bytes()),
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
                params![origin.as_str(), &writer.core.key.to_bytes()[..], writer.core.clock.wall_ms()],
            )?;
            writer.core.append_in(&tx, new, None)?;
            tx.commit()?;
            tracing::info!(origin = %origin, "new journal created");
        }
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

    /// Does one batch in one transaction, commits once, then answers every caller.
    pub(crate) fn process(&mut self, batch: Vec<Request>) {
        let started = std::time::Instant::now();
        self.process_batch(batch);
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
                        savepoint(&tx, |db| self.core.append_in(db, new, sealed))
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
                    let result = savepoint(&tx, |db| self.core.apply_all(db, envelopes));
                    answers.push(Pending::Apply(reply, result));
                }
                Request::PeerHead(origin, seq, reply) => {
                    self.core.note_peer_head(&origin, seq);
                    answers.push(Pending::Noted(reply));
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
        if self.core.sealer.ahead && self.core.st.peer_claim <= self.core.st.own_head.seq {
            self.core.sealer.predict(Some(self.core.seal_from()));
        }
        let committing = std::time::Instant::now();
        let commit = tx.commit();
        self.core.sealer.predict(None);
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
        for answer in answers {
            // A caller that gave up waiting is not an error of the journal.
            match answer {
                Pending::Append(reply, result) => {
                    let _ = reply.send(result);
                }
                Pending::AppendAll(reply, result) => {
                    let _ = reply.send(result);
                }
                Pending::Apply(reply, result) => {
                    let _ = reply.send(result);
                }
                Pending::Noted(reply) => {
                    let _ = reply.send(Ok(()));
                }
            }
        }
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
    match req {
        Request::Append(_, _, reply) => {
            let _ = reply.send(Err(same_error(e, text)));
        }
        Request::AppendAll(_, reply) => {
            let _ = reply.send(Err(same_error(e, text)));
        }
        Request::Apply(_, reply) => {
            let _ = reply.send(Err(same_error(e, text)));
        }
        Request::PeerHead(_, _, reply) => {
            let _ = reply.send(Err(same_error(e, text)));
        }
    }
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
        let sealed = match sealed {
            Some(p) if p.from == from => {
                self.presealed += 1;
                *p
            }
            _ => {
                let sealing = std::time::Instant::now();
                let p = self.sealer.seal(from, &new)?;
                self.seal_ns = self.seal_ns.saturating_add(nanos(sealing));
                p
            }
        };
        let Presealed {
            env,
            wall_ms,
            stamp,
            next,
            ..
        } = sealed;
        let header = BodyHeader {
            version: super::BODY_VERSION,
            origin: self.origin.clone(),
            seq: next.seq,
            hlc: stamp.0,
            wall_ms,
            kind: new.kind,
        };
        let id = insert_event(db, &header, &env)?;
        if !self.projectors.is_empty() {
            let event = Event::decode(&header.kind, &new.payload)
                .map_err(|e| JournalError::Serialise(e.to_string()))?;
            self.project(db, id, &header, &env, event.as_ref())?;
        }
        self.st.hlc = next.hlc;
        self.st.own_head = Head {
            seq: next.seq,
            hash: next.hash,
        };
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
    use crate::journal::{Journal, verify};

    fn open(dir: &std::path::Path) -> Journal {
        Journal::open(
            dir.join("t.db"),
            JournalOptions::new(
                Arc::new(ManualClock::starting_at(1_767_000_000_000)),
                DeviceRole::OrderTerminal,
                "t",
            ),
        )
        .expect("open")
    }

    fn note(n: u64) -> NewEvent {
        NewEvent {
            kind: "test_note".into(),
            payload: RawValue::from_string(format!("{{\"n\":{n}}}")).expect("json"),
        }
    }

    type Reply = mpsc::Receiver<Result<Committed, JournalError>>;

    /// Queues appends as waiting callers do; returns their answer channels.
    fn queue(j: &Journal, from: u64, count: u64) -> Vec<Reply> {
        (from..from + count)
            .map(|n| {
                let (reply, answer) = mpsc::sync_channel(1);
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

    fn seqs(answers: Vec<Reply>) -> Vec<u64> {
        answers
            .into_iter()
            .map(|a| a.recv().expect("answer").expect("committed").seq)
            .collect()
    }

    fn presealed(j: &Journal) -> u64 {
        j.stats().presealed.load(Ordering::Relaxed)
    }

    #[test]
    fn events_sealed_while_the_batch_before_commits_are_written_as_sealed() {
        let dir = tempfile::tempdir().expect("tmp");
        let j = open(dir.path());
        j.append_new(note(0)).expect("append");
        // The writer is committing and says where it will be; three callers queue and seal.
        j.sealer.predict(Some(state(&j)));
        let answers = queue(&j, 1, 3);
        j.preseal_queued();
        j.sealer.predict(None);
        j.serve().expect("serve");
        assert_eq!(seqs(answers), vec![3, 4, 5]);
        assert_eq!(presealed(&j), 3);
        let report = verify::verify(&[dir.path().join("t.db")], true);
        assert!(report.ok(), "{:?}", report.findings);
    }

    #[test]
    fn events_sealed_from_a_state_that_never_came_are_sealed_again() {
        let dir = tempfile::tempdir().expect("tmp");
        let j = open(dir.path());
        j.append_new(note(0)).expect("append");
        // Sealed ahead from the state after the commit under way...
        j.sealer.predict(Some(state(&j)));
        let late = queue(&j, 1, 2);
        j.preseal_queued();
        j.sealer.predict(None);
        // ...but another event goes in first (as a failed commit or an apply would move the
        // head elsewhere): both are sealed again, on top of it.
        let first = {
            let (reply, answer) = mpsc::sync_channel(1);
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
            presealed(&j),
            0,
            "nothing sealed from a stale state is written"
        );
        let report = verify::verify(&[dir.path().join("t.db")], true);
        assert!(report.ok(), "{:?}", report.findings);
    }
}
