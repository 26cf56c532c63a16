//! The store journal: an append-only, hash-chained, signed log of facts, one per device,
//! replicated to every device.
//!
//! One writer owns the database connection that writes. Callers queue events to
//! append or envelopes to apply; it drains everything queued, does it in one transaction,
//! commits once (`synchronous=FULL`, WAL) and only then answers each caller (group commit). A
//! caller told "committed" can rely on it surviving a power cut.

mod envelope;
pub mod schema;
pub mod verify;
mod writer;

pub use writer::WriterStats;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};

pub use envelope::{
    BODY_VERSION, BodyHeader, Envelope, EnvelopeError, GENESIS_PREV, MAX_ENVELOPE_BYTES, Origin,
    chain_hash, valid_kind,
};
pub use schema::{LATEST as SCHEMA_VERSION, MigrationError};

use crate::clock::Clock;
use crate::event::{DeviceRole, Event, NewEvent};

/// How long a caller waits for its answer before it checks whether it should serve the queue
/// itself (only when the caller serving it stopped after its rounds).
const TAKE_OVER_AFTER: std::time::Duration = std::time::Duration::from_millis(2);
/// Transactions one caller serves before it returns to its own work.
const SERVE_ROUNDS: usize = 4;

/// Most requests the writer takes into one transaction.
pub const DEFAULT_MAX_BATCH: usize = 512;

/// Everything that can stop an append or an apply. Each is reported once, to the caller.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("the disk is full: nothing was written")]
    DiskFull,
    #[error("the database is read-only: nothing was written")]
    ReadOnly,
    #[error(
        "a peer holds events up to seq {peer_seq} of this device's own origin but this journal \
         ends at {local_seq}: catching up before writing anything new"
    )]
    BehindPeer { local_seq: u64, peer_seq: u64 },
    #[error("the journal's writer has stopped")]
    Closed,
    #[error("{0} is in use by another process (a running device owns its database; stop it first)")]
    InUse(PathBuf),
    #[error("cannot lock {path}: {error}")]
    Lock { path: PathBuf, error: String },
    #[error("the event could not be serialised: {0}")]
    Serialise(String),
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error(transparent)]
    Migration(#[from] MigrationError),
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
    #[error("refused: {0}")]
    Refused(String),
    #[error("the commit failed, nothing of this batch was written: {0}")]
    CommitFailed(String),
}

impl From<rusqlite::Error> for JournalError {
    fn from(e: rusqlite::Error) -> JournalError {
        use rusqlite::ErrorCode;
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => JournalError::DiskFull,
            Some(ErrorCode::ReadOnly) => JournalError::ReadOnly,
            _ => JournalError::Sqlite(e),
        }
    }
}

/// What this device is, written into its first event when the journal is created.
#[derive(Debug, Clone)]
pub struct DeviceInfo {
    pub role: DeviceRole,
    pub name: String,
}

/// How to open a journal.
#[derive(Debug, Clone)]
pub struct JournalOptions {
    pub clock: Arc<dyn Clock>,
    /// Used only when the database is new.
    pub device: DeviceInfo,
    pub max_batch: usize,
    /// Caps the database file at this many pages (4 KiB each): a size-limited journal refuses
    /// new events with [`JournalError::DiskFull`] instead of filling the device's disk.
    pub max_db_pages: Option<u64>,
    /// Waiting callers seal queued events ahead of the writer (stamped in queue order, signed
    /// off the writer's path; see [`Journal::preseal_queued`]). On by default; the benchmark
    /// turns it off to measure what it gains.
    pub preseal: bool,
}

impl JournalOptions {
    pub fn new(clock: Arc<dyn Clock>, role: DeviceRole, name: impl Into<String>) -> JournalOptions {
        JournalOptions {
            clock,
            device: DeviceInfo {
                role,
                name: name.into(),
            },
            max_batch: DEFAULT_MAX_BATCH,
            max_db_pages: None,
            preseal: true,
        }
    }
}

/// The highest contiguous event of one origin held here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub hash: [u8; 32],
}

/// A local event, committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub seq: u64,
    pub hash: [u8; 32],
    pub hlc: u64,
}

/// What became of one applied envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// New here, chained and signed correctly; now part of the journal.
    Accepted,
    /// Already held: no effect.
    Duplicate,
    /// Its predecessor (or its origin's first event) has not arrived; kept until it does.
    Held,
    /// A second version of an (origin, seq) already held: both kept, alarm raised.
    Fork,
    /// Malformed, oversized, badly signed or wrongly chained: logged and kept out.
    SetAside(String),
}

/// Totals of one apply call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    pub accepted: usize,
    pub duplicates: usize,
    pub held: usize,
    pub forks: usize,
    pub set_aside: usize,
    /// Held events released (accepted) because this call brought their predecessor.
    pub released: usize,
}

impl ApplyReport {
    fn count(&mut self, outcome: &Applied) {
        match outcome {
            Applied::Accepted => self.accepted += 1,
            Applied::Duplicate => self.duplicates += 1,
            Applied::Held => self.held += 1,
            Applied::Fork => self.forks += 1,
            Applied::SetAside(_) => self.set_aside += 1,
        }
    }
}

/// An accepted event, as a projection sees it inside the committing transaction.
#[derive(Debug)]
pub struct AcceptedEvent<'a> {
    /// The event's row in `events`.
    pub id: i64,
    pub header: &'a BodyHeader,
    pub envelope: &'a Envelope,
    /// The typed event, or `None` for a kind this build does not know.
    pub event: Option<&'a Event>,
    /// This device's own origin.
    pub own_origin: &'a Origin,
}

/// Something derived from the journal and kept up to date in the same transaction as each
/// accepted event (open checks, tickets, stock…). It must be rebuildable from the journal alone.
pub trait Projector: Send {
    fn on_event(&mut self, db: &Connection, ev: &AcceptedEvent<'_>) -> rusqlite::Result<()>;

    /// Events this device must write because of what it just applied (an automatic action that
    /// exactly one device writes, such as firing the next course). Appended under this device's
    /// origin in the same transaction.
    fn take_follow_ups(&mut self) -> Vec<Event> {
        Vec::new()
    }

    /// A second version of (origin, seq) arrived: neither version may stay in the projections.
    fn on_fork(&mut self, _db: &Connection, _origin: &Origin, _seq: u64) -> rusqlite::Result<()> {
        Ok(())
    }
}

pub(crate) enum Request {
    /// An own event, maybe already sealed by a waiting caller (see [`Journal::preseal_queued`]).
    Append(NewEvent, Option<Box<writer::Presealed>>, Reply<Committed>),
    /// Several events that stand or fall together (one savepoint).
    AppendAll(Vec<NewEvent>, Reply<Vec<Committed>>),
    Apply(Vec<Vec<u8>>, Reply<(ApplyReport, Vec<Applied>)>),
    PeerHead(Origin, u64, Reply<()>),
}

/// What a waiting caller is told: its outcome, and other callers' outcomes of the same batch for
/// it to pass on (see [`writer::relay`]).
pub(crate) struct Answer<T> {
    result: Result<T, JournalError>,
    relay: Vec<writer::Pending>,
}

impl<T> Answer<T> {
    /// Passes on what this caller was handed, then gives its own outcome.
    pub(crate) fn take(mut self) -> Result<T, JournalError> {
        writer::relay(std::mem::take(&mut self.relay));
        // The result is moved out; an empty relay is left for `drop`.
        std::mem::replace(&mut self.result, Err(JournalError::Closed))
    }
}

impl<T> Drop for Answer<T> {
    /// An answer dropped unread (its caller gone, or a panic) still passes on the outcomes it
    /// carries: those callers' events were committed and they must hear so.
    fn drop(&mut self) {
        writer::relay(std::mem::take(&mut self.relay));
    }
}

/// Where a request's outcome goes: the waiting caller's channel, and the caller's thread.
pub(crate) struct Reply<T> {
    tx: mpsc::SyncSender<Answer<T>>,
    thread: std::thread::ThreadId,
}

impl<T> Reply<T> {
    /// A reply for the calling thread, and where it waits for it.
    pub(crate) fn new() -> (Reply<T>, mpsc::Receiver<Answer<T>>) {
        let (tx, rx) = mpsc::sync_channel(1);
        let reply = Reply {
            tx,
            thread: std::thread::current().id(),
        };
        (reply, rx)
    }

    pub(crate) fn thread(&self) -> std::thread::ThreadId {
        self.thread
    }

    /// Sends the outcome with `relay`; gives `relay` back if the caller is gone.
    pub(crate) fn send(
        self,
        result: Result<T, JournalError>,
        relay: Vec<writer::Pending>,
    ) -> Result<(), Vec<writer::Pending>> {
        self.tx
            .send(Answer { result, relay })
            .map_err(|mpsc::SendError(mut answer)| std::mem::take(&mut answer.relay))
    }
}

/// A device's journal. Cheap to share behind an `Arc`; every method may be called from any thread.
pub struct Journal {
    path: PathBuf,
    origin: Origin,
    /// Requests waiting for the writer.
    queue: Mutex<Vec<Request>>,
    /// Whoever holds the writer does everything queued (group commit without a thread hop when
    /// nobody else is writing). `None` once closed.
    writer: Mutex<Option<writer::Writer>>,
    max_batch: usize,
    sealer: Arc<writer::Sealer>,
    reader: Mutex<Connection>,
    stats: Arc<WriterStats>,
    /// Held for as long as the journal is open: one process owns a device's database.
    _lock: std::fs::File,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("path", &self.path)
            .field("origin", &self.origin)
            .finish()
    }
}

pub(crate) fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(())
}

impl Journal {
    /// Opens the journal at `path`, creating it (new origin, new key, first event) if it does
    /// not exist yet.
    pub fn open(path: impl AsRef<Path>, options: JournalOptions) -> Result<Journal, JournalError> {
        Journal::open_with(path, options, Vec::new())
    }

    /// As [`Journal::open`], keeping `projectors` up to date with every accepted event.
    pub fn open_with(
        path: impl AsRef<Path>,
        options: JournalOptions,
        projectors: Vec<Box<dyn Projector>>,
    ) -> Result<Journal, JournalError> {
        let path = path.as_ref().to_path_buf();
        let lock = owner_lock(&path)?;
        let mut conn = Connection::open(&path)?;
        configure(&conn)?;
        schema::migrate(&mut conn)?;
        let state = writer::Writer::load_or_create(conn, &options, projectors)?;
        let origin = state.origin().clone();
        let stats = state.stats();
        let sealer = state.sealer();
        let reader = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        reader.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Journal {
            path,
            origin,
            queue: Mutex::new(Vec::new()),
            writer: Mutex::new(Some(state)),
            max_batch: options.max_batch.max(1),
            sealer,
            reader: Mutex::new(reader),
            stats,
            _lock: lock,
        })
    }

    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The writer's counters (commits, events appended).
    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    /// Appends one event under this device's origin. Returns once it is committed to disk.
    pub fn append(&self, event: &Event) -> Result<Committed, JournalError> {
        let new = event
            .to_new()
            .map_err(|e| JournalError::Serialise(e.to_string()))?;
        self.append_new(new)
    }

    /// Appends `events` under this device's origin, in order, all or none: they are committed
    /// in one transaction, and if one of them cannot be written none of them is. For what must
    /// never be seen half-done (an order that came in whole: its check, lines and send).
    pub fn append_all(&self, events: &[Event]) -> Result<Vec<Committed>, JournalError> {
        let news = events
            .iter()
            .map(|e| {
                let new = e
                    .to_new()
                    .map_err(|e| JournalError::Serialise(e.to_string()))?;
                if valid_kind(&new.kind) {
                    Ok(new)
                } else {
                    Err(EnvelopeError::BadKind(new.kind).into())
                }
            })
            .collect::<Result<Vec<_>, JournalError>>()?;
        let (reply, answer) = Reply::new();
        self.submit(Request::AppendAll(news, reply), answer)
    }

    /// Appends an already serialised event (kind and payload bytes).
    pub fn append_new(&self, new: NewEvent) -> Result<Committed, JournalError> {
        if !valid_kind(&new.kind) {
            return Err(EnvelopeError::BadKind(new.kind).into());
        }
        let (reply, answer) = Reply::new();
        self.submit(Request::Append(new, None, reply), answer)
    }

    /// Applies envelopes from peers or files (untrusted bytes). Idempotent.
    pub fn apply(&self, envelopes: Vec<Vec<u8>>) -> Result<ApplyReport, JournalError> {
        self.apply_each(envelopes).map(|(report, _)| report)
    }

    /// As [`Journal::apply`], also saying what became of each envelope, in order.
    pub fn apply_each(
        &self,
        envelopes: Vec<Vec<u8>>,
    ) -> Result<(ApplyReport, Vec<Applied>), JournalError> {
        let (reply, answer) = Reply::new();
        self.submit(Request::Apply(envelopes, reply), answer)
    }

    /// Records that a peer holds `origin` up to `seq`. When that is this device's own origin and
    /// more than it holds, appends are refused until the missing events have been applied.
    pub fn note_peer_head(&self, origin: &Origin, seq: u64) -> Result<(), JournalError> {
        let (reply, answer) = Reply::new();
        self.submit(Request::PeerHead(origin.clone(), seq, reply), answer)
    }

    /// Queues a request and waits for its answer. Whoever finds the writer free serves the
    /// queue (its own request and everything queued behind it, one transaction per batch), so
    /// a lone caller commits on its own thread and concurrent callers share commits. A caller
    /// whose request is still queued when the serving caller has done its rounds takes over.
    fn submit<T>(
        &self,
        request: Request,
        answer: mpsc::Receiver<Answer<T>>,
    ) -> Result<T, JournalError> {
        lock(&self.queue).push(request);
        self.preseal_queued();
        loop {
            // Answered already (maybe with others' outcomes to pass on): no serving first.
            if let Ok(answer) = answer.try_recv() {
                return answer.take();
            }
            self.serve()?;
            match answer.recv_timeout(TAKE_OVER_AFTER) {
                Ok(answer) => return answer.take(),
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => return Err(JournalError::Closed),
            }
        }
    }

    /// Serves the queue if nobody else is: at most [`SERVE_ROUNDS`] transactions.
    fn serve(&self) -> Result<(), JournalError> {
        let mut guard = match self.writer.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return Ok(()),
        };
        let writer = guard.as_mut().ok_or(JournalError::Closed)?;
        for _ in 0..SERVE_ROUNDS {
            let batch: Vec<Request> = {
                let mut queue = lock(&self.queue);
                let take = queue.len().min(self.max_batch);
                let batch: Vec<Request> = queue.drain(..take).collect();
                // Callers queued behind this batch seal from where it leaves the journal.
                if !batch.is_empty() && self.sealer.ahead() {
                    self.sealer.predict(writer.after(&batch));
                }
                batch
            };
            if batch.is_empty() {
                break;
            }
            writer.process(batch);
        }
        Ok(())
    }

    /// Seals the own events waiting in the queue ahead of their turn, so that the writer's
    /// batch only inserts them. Under the queue's lock each is stamped (serialised, given its
    /// seq, timestamps and chain hash) in queue order, chained from where the writer will leave
    /// the journal ([`writer::Sealer::prediction`]); that is cheap. The signatures, the costliest
    /// part of an append, are made after the lock is released, by whichever waiting caller claims
    /// each one first, so they overlap the writer's commit and each other instead of following
    /// it. Stops at the first request that is not a single own event (an apply may move the
    /// head). The writer checks every stamp against its state before using it and stamps again
    /// whatever no longer fits, so a failed commit or an unexpected event costs time, never a
    /// wrong chain.
    fn preseal_queued(&self) {
        let to_sign: Vec<Arc<writer::SignJob>> = {
            let mut queue = lock(&self.queue);
            let Some(mut at) = self.sealer.prediction() else {
                return;
            };
            let mut to_sign = Vec::new();
            for request in queue.iter_mut() {
                let Request::Append(new, sealed, _) = request else {
                    break;
                };
                match sealed {
                    Some(p) if p.from() == at => at = p.next(),
                    _ => match self.sealer.stamp(at, new) {
                        Ok(p) => {
                            at = p.next();
                            *sealed = Some(Box::new(p));
                        }
                        // The writer meets the same error and reports it to the caller.
                        Err(_) => break,
                    },
                }
                if let Some(p) = sealed
                    && !p.signing().claimed()
                {
                    to_sign.push(Arc::clone(p.signing()));
                }
            }
            to_sign
        };
        for job in to_sign {
            job.sign_if_unclaimed(self.sealer.key());
        }
    }

    /// Runs a read-only query on the device's database (journal and projections).
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, JournalError> {
        let conn = self.reader.lock().map_err(|_| JournalError::Closed)?;
        Ok(f(&conn)?)
    }

    /// The highest contiguous event held per origin (for a forked head, the version that arrived
    /// first).
    pub fn heads(&self) -> Result<BTreeMap<Origin, Head>, JournalError> {
        self.read(read_heads)
    }

    /// Events of `origin` after `after_seq`, in seq order, at most `limit` (every version of a
    /// forked seq is included).
    pub fn events_after(
        &self,
        origin: &Origin,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<Envelope>, JournalError> {
        self.read(|c| read_events(c, Some((origin, after_seq)), limit))
    }

    /// Every event, ordered by origin and seq.
    pub fn all_events(&self) -> Result<Vec<Envelope>, JournalError> {
        self.read(|c| read_events(c, None, usize::MAX))
    }

    /// Forks detected so far: (origin, seq).
    pub fn forks(&self) -> Result<Vec<(Origin, u64)>, JournalError> {
        self.read(|c| {
            let mut stmt =
                c.prepare("SELECT DISTINCT origin, seq FROM forks ORDER BY origin, seq")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            let mut out = Vec::new();
            for row in rows {
                let (origin, seq) = row?;
                if let Ok(o) = origin.parse() {
                    out.push((o, u64::try_from(seq).unwrap_or(0)));
                }
            }
            Ok(out)
        })
    }

    /// Number of messages set aside so far.
    pub fn set_aside_count(&self) -> Result<u64, JournalError> {
        self.read(|c| c.query_row("SELECT COUNT(*) FROM set_aside", [], |r| r.get::<_, i64>(0)))
            .map(|n| u64::try_from(n).unwrap_or(0))
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        // Close the read-only connection first: the writer's connection must be the last one,
        // so that closing it checkpoints the WAL into the database file and removes the WAL.
        if let Ok(mut reader) = self.reader.lock()
            && let Ok(placeholder) = Connection::open_in_memory()
        {
            *reader = placeholder;
        }
        // Every call has returned (the journal is being dropped), so nothing is queued.
        drop(lock(&self.writer).take());
    }
}

/// Takes the exclusive owner lock beside the database (`<db>.lock`), so that no second process
/// writes to a device's journal.
fn owner_lock(db: &Path) -> Result<std::fs::File, JournalError> {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = PathBuf::from(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| JournalError::Lock {
            path: lock_path.clone(),
            error: e.to_string(),
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(JournalError::InUse(db.to_path_buf())),
        Err(std::fs::TryLockError::Error(e)) => Err(JournalError::Lock {
            path: lock_path,
            error: e.to_string(),
        }),
    }
}

/// An event's stored columns: body, prev_hash, hash, sig (selected in that order).
pub type StoredRow = (String, Vec<u8>, Vec<u8>, Vec<u8>);

pub(crate) fn stored_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

pub fn envelope_of((body, prev, hash, sig): StoredRow) -> Result<Envelope, EnvelopeError> {
    Envelope::from_parts(body, blob32(prev), blob32(hash), blob64(sig))
}

/// Locks a mutex; a panic while it was held leaves the state as it was between two whole calls
/// (each batch is one transaction), so the poison is cleared.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn blob32(v: Vec<u8>) -> [u8; 32] {
    let mut out = [0u8; 32];
    if v.len() == 32 {
        out.copy_from_slice(&v);
    }
    out
}

fn blob64(v: Vec<u8>) -> [u8; 64] {
    let mut out = [0u8; 64];
    if v.len() == 64 {
        out.copy_from_slice(&v);
    }
    out
}

pub(crate) fn read_heads(c: &Connection) -> rusqlite::Result<BTreeMap<Origin, Head>> {
    // Events enter only once their predecessor is held, so the highest seq is contiguous.
    // Origin by origin through the (origin, seq, hash) index: a few index probes per origin,
    // never a scan of the journal (this runs after every apply).
    let mut next_origin = c.prepare_cached("SELECT MIN(origin) FROM events WHERE origin > ?1")?;
    let mut top = c.prepare_cached(
        "SELECT seq, hash FROM events WHERE origin = ?1 ORDER BY seq DESC, id ASC LIMIT 1",
    )?;
    let mut heads = BTreeMap::new();
    let mut after = String::new();
    while let Some(origin) = next_origin.query_row([&after], |r| r.get::<_, Option<String>>(0))? {
        let (seq, hash): (i64, Vec<u8>) =
            top.query_row([&origin], |r| Ok((r.get(0)?, r.get(1)?)))?;
        if let Ok(parsed) = origin.parse::<Origin>() {
            heads.insert(
                parsed,
                Head {
                    seq: u64::try_from(seq).unwrap_or(0),
                    hash: blob32(hash),
                },
            );
        }
        after = origin;
    }
    Ok(heads)
}

pub(crate) fn read_events(
    c: &Connection,
    from: Option<(&Origin, u64)>,
    limit: usize,
) -> rusqlite::Result<Vec<Envelope>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let map = stored_row;
    let rows: Vec<_> = match from {
        Some((origin, after)) => {
            let mut stmt = c.prepare_cached(
                "SELECT body, prev_hash, hash, sig FROM events WHERE origin = ?1 AND seq > ?2
                 ORDER BY seq, id LIMIT ?3",
            )?;
            let after = i64::try_from(after).unwrap_or(i64::MAX);
            stmt.query_map(rusqlite::params![origin.as_str(), after, limit], map)?
                .collect::<rusqlite::Result<_>>()?
        }
        None => {
            let mut stmt = c.prepare_cached(
                "SELECT body, prev_hash, hash, sig FROM events ORDER BY origin, seq, id LIMIT ?1",
            )?;
            stmt.query_map([limit], map)?
                .collect::<rusqlite::Result<_>>()?
        }
    };
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        match envelope_of(row) {
            Ok(env) => out.push(env),
            Err(e) => {
                tracing::error!(error = %e, "stored event is not valid JSON; run `pass journal verify`")
            }
        }
    }
    Ok(out)
}

/// A read-only connection to a journal database (for reports and `pass` inspection).
pub type ReadOnlyDb = Connection;

/// Opens a database read-only; nothing can be written through it.
pub fn open_read_only(path: &Path) -> rusqlite::Result<ReadOnlyDb> {
    if !path.exists() {
        return Err(rusqlite::Error::InvalidPath(path.to_path_buf()));
    }
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}
