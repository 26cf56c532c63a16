//! `pass journal verify`: checks journals read-only, without trusting anything stored in them.
//!
//! For each origin: seqs run gapless from 1; each stored body says the origin and seq of its
//! row; each hash is `SHA-256(prev || body)`; each `prev` is the hash of the event before; the
//! first event announces a key that belongs to the origin. The head's signature is checked
//! (it covers the whole chain); with `all_signatures`, every event's. Given several databases,
//! a database whose own origin is behind another copy of that origin was cut short.
//!
//! Each origin's events are checked in `(seq, id)` order, and the first problem found in that
//! order is the one reported. Events enter the journal only once their predecessor is there, so
//! an origin's rows normally sit in that order by row id already: the journal is read in one
//! pass in row id order (one thread reads, another checks), every origin's chain checked along
//! the way. An origin whose rows turn out not to be in `(seq, id)` order in that pass (a fork
//! that arrived later, or rows changed behind the journal's back), or that `forks` lists, is
//! checked again with a query that sorts its rows, so that what is reported never depends on
//! which way the rows were read.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use ed25519_dalek::VerifyingKey;
use rusqlite::{Connection, OptionalExtension};

use super::envelope::{body_header, body_origin_seq, genesis_key, signature_ok};
use super::{BodyHeader, Envelope, GENESIS_PREV, blob32, blob64, chain_hash, open_read_only};

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// A chain is broken at this event: the first such place in that origin.
    Broken {
        db: PathBuf,
        origin: String,
        seq: u64,
        what: String,
    },
    /// Two versions of one event.
    Fork {
        db: PathBuf,
        origin: String,
        seq: u64,
    },
    /// The database's own origin is behind another copy of it: its journal was cut short.
    CutShort {
        db: PathBuf,
        origin: String,
        local_seq: u64,
        other_db: PathBuf,
        other_seq: u64,
    },
    /// Two databases hold different events at the same origin and seq.
    Diverged {
        origin: String,
        seq: u64,
        a: PathBuf,
        b: PathBuf,
    },
    /// The file is not a readable journal.
    Unreadable { db: PathBuf, what: String },
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Finding::Broken {
                db,
                origin,
                seq,
                what,
            } => {
                write!(
                    f,
                    "BROKEN {}: origin {origin} seq {seq}: {what}",
                    db.display()
                )
            }
            Finding::Fork { db, origin, seq } => {
                write!(
                    f,
                    "FORK {}: origin {origin} seq {seq} has two versions",
                    db.display()
                )
            }
            Finding::CutShort {
                db,
                origin,
                local_seq,
                other_db,
                other_seq,
            } => write!(
                f,
                "CUT SHORT {}: its own origin {origin} ends at seq {local_seq} but {} holds it up to seq {other_seq}",
                db.display(),
                other_db.display()
            ),
            Finding::Diverged { origin, seq, a, b } => write!(
                f,
                "DIVERGED: origin {origin} seq {seq} differs between {} and {}",
                a.display(),
                b.display()
            ),
            Finding::Unreadable { db, what } => write!(f, "UNREADABLE {}: {what}", db.display()),
        }
    }
}

/// What one database holds, after checking.
#[derive(Debug, Clone, Default)]
pub struct DbSummary {
    pub path: PathBuf,
    pub own_origin: Option<String>,
    /// Per origin: the last seq checked good and its hash.
    pub heads: BTreeMap<String, (u64, [u8; 32])>,
    /// Per origin and seq: the hash (for comparing copies).
    pub hashes: BTreeMap<(String, u64), [u8; 32]>,
    pub events: u64,
}

/// The result of a verify run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// Ordinary replication lag: (database, origin, its seq, the highest seq seen elsewhere).
    pub lag: Vec<(PathBuf, String, u64, u64)>,
    pub summaries: Vec<DbSummary>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.findings.is_empty()
    }
}

/// One stored event's columns, as the checks read them.
struct StoredEvent<'a> {
    seq: u64,
    body: &'a str,
    prev: [u8; 32],
    hash: [u8; 32],
    sig: [u8; 64],
}

/// A stored seq as the checks read it: a negative one reads as 0, never an event's seq.
fn stored_seq(seq: i64) -> u64 {
    u64::try_from(seq).unwrap_or(0)
}

/// A fixed-size column (a hash or a signature): one of another size reads as all zeros.
fn fixed<const N: usize>(bytes: &[u8]) -> [u8; N] {
    bytes.try_into().unwrap_or([0; N])
}

/// One origin's chain, checked event by event in `(seq, id)` order. The first problem ends the
/// check: later events of the origin are neither counted nor recorded.
struct Chain<'p> {
    db: &'p Path,
    origin: String,
    all_signatures: bool,
    /// The seq the next new event must have.
    expected_seq: u64,
    /// Hashes of every version at the previous seq (more than one after a fork).
    previous: Vec<[u8; 32]>,
    /// Hashes of every version at the seq just checked.
    current: Vec<[u8; 32]>,
    key: Option<VerifyingKey>,
    /// The last event checked: seq, hash, signature.
    head: Option<(u64, [u8; 32], [u8; 64])>,
    /// Events checked, the one that broke the chain included.
    events: u64,
    /// The first version's hash at each seq checked good, in seq order, keyed as in
    /// [`DbSummary::hashes`].
    hashes: Vec<((String, u64), [u8; 32])>,
    findings: Vec<Finding>,
    broken: bool,
}

impl<'p> Chain<'p> {
    fn new(db: &'p Path, origin: &str, all_signatures: bool) -> Chain<'p> {
        Chain {
            db,
            origin: origin.to_owned(),
            all_signatures,
            expected_seq: 1,
            previous: Vec::new(),
            current: vec![GENESIS_PREV],
            key: None,
            head: None,
            events: 0,
            hashes: Vec::new(),
            findings: Vec::new(),
            broken: false,
        }
    }

    /// Checks the next event in `(seq, id)` order; the chain must not be broken yet.
    fn check(&mut self, event: &StoredEvent<'_>) {
        self.events += 1;
        if let Err((seq, what)) = self.link(event) {
            self.findings.push(Finding::Broken {
                db: self.db.to_path_buf(),
                origin: self.origin.clone(),
                seq,
                what,
            });
            self.broken = true;
        }
    }

    /// The checks of one event; an error names the seq at fault and what is wrong.
    fn link(&mut self, event: &StoredEvent<'_>) -> Result<(), (u64, String)> {
        let seq = event.seq;
        if seq + 1 == self.expected_seq {
            // A second version of the seq just checked.
            self.findings.push(Finding::Fork {
                db: self.db.to_path_buf(),
                origin: self.origin.clone(),
                seq,
            });
        } else if seq != self.expected_seq {
            let what = if seq > self.expected_seq {
                format!("event missing (the next one held is seq {seq})")
            } else {
                format!("seq {seq} appears out of order")
            };
            return Err((self.expected_seq, what));
        } else {
            std::mem::swap(&mut self.previous, &mut self.current);
            self.current.clear();
            self.expected_seq += 1;
        }
        // Most bodies give their origin and seq without anything copied out of them; the
        // others are read in full, which names the problem with a body that has one.
        let header;
        let (origin, body_seq) = match body_origin_seq(event.body) {
            Some(fields) => fields,
            None => {
                header = self.header(event)?;
                (header.origin.as_str(), header.seq)
            }
        };
        if origin != self.origin || body_seq != seq {
            return Err((
                seq,
                format!(
                    "the stored row says origin {} seq {seq} but its body says origin {origin} seq {body_seq}",
                    self.origin
                ),
            ));
        }
        if chain_hash(&event.prev, event.body.as_bytes()) != event.hash {
            return Err((
                seq,
                "hash does not match the body (its content was changed)".into(),
            ));
        }
        if !self.previous.contains(&event.prev) {
            return Err((seq, "prev does not link to the event before it".into()));
        }
        if seq == 1 {
            let header = self.header(event)?;
            let env = self.envelope(event).map_err(|what| (seq, what))?;
            self.key = Some(genesis_key(&header, &env).map_err(|what| (1, what))?);
        } else if self.all_signatures
            && let Some(key) = &self.key
            && !signature_ok(key, &event.hash, &event.sig)
        {
            return Err((seq, "signature does not verify".into()));
        }
        self.current.push(event.hash);
        if self.hashes.last().map(|((_, s), _)| *s) != Some(seq) {
            self.hashes.push(((self.origin.clone(), seq), event.hash));
        }
        self.head = Some((seq, event.hash, event.sig));
        Ok(())
    }

    /// The body's header, or what is wrong with the body: its JSON as a whole, or its header.
    fn header(&self, event: &StoredEvent<'_>) -> Result<BodyHeader, (u64, String)> {
        body_header(event.body).map_err(|e| {
            let what = match self.envelope(event) {
                Err(what) => what,
                Ok(_) => format!("body: {e}"),
            };
            (event.seq, what)
        })
    }

    /// The event rebuilt as an envelope (its body must be well-formed JSON).
    fn envelope(&self, event: &StoredEvent<'_>) -> Result<Envelope, String> {
        Envelope::from_parts(event.body.to_owned(), event.prev, event.hash, event.sig)
            .map_err(|e| format!("body is not valid JSON: {e}"))
    }

    /// Records what was checked in `summary`: the events, each seq's hash and, for an intact
    /// chain whose head's signature verifies, the head. Returns the findings.
    fn finish(mut self, summary: &mut DbSummary) -> Vec<Finding> {
        self.record(summary);
        if !self.broken
            && let (Some((seq, hash, sig)), Some(key)) = (&self.head, &self.key)
        {
            if signature_ok(key, hash, sig) {
                summary.heads.insert(self.origin, (*seq, *hash));
            } else {
                self.findings.push(Finding::Broken {
                    db: self.db.to_path_buf(),
                    origin: self.origin,
                    seq: *seq,
                    what: "the head's signature does not verify".into(),
                });
            }
        }
        self.findings
    }

    /// Adds the events checked so far and their hashes to `summary`.
    fn record(&mut self, summary: &mut DbSummary) {
        summary.events += std::mem::take(&mut self.events);
        for (key, hash) in self.hashes.drain(..) {
            summary.hashes.entry(key).or_insert(hash);
        }
    }
}

/// Checks one database.
pub fn verify_db(path: &Path, all_signatures: bool) -> (DbSummary, Vec<Finding>) {
    let mut summary = DbSummary {
        path: path.to_path_buf(),
        ..DbSummary::default()
    };
    let unreadable = |what: String| Finding::Unreadable {
        db: path.to_path_buf(),
        what,
    };
    if !path.exists() {
        return (summary, vec![unreadable("no such file".into())]);
    }
    let conn = match open_read_only(path) {
        Ok(c) => c,
        Err(e) => return (summary, vec![unreadable(e.to_string())]),
    };
    summary.own_origin = match conn
        .query_row("SELECT origin FROM identity WHERE only_row = 1", [], |r| {
            r.get::<_, String>(0)
        })
        .optional()
    {
        Ok(o) => o,
        Err(e) => {
            return (
                summary,
                vec![unreadable(format!("not a Pass journal: {e}"))],
            );
        }
    };
    let findings = match scan(&conn, path, all_signatures) {
        Some(origins) => verify_scanned(&conn, path, all_signatures, origins, &mut summary),
        // A journal the pass cannot read through (an origin that is not text, a damaged page)
        // is read origin by origin, rows sorted: each problem is then reported where that
        // walk meets it, as its origin's.
        None => verify_ordered(&conn, path, all_signatures, &mut summary),
    };
    (summary, findings)
}

/// What the pass in row id order made of one origin.
enum Scanned<'p> {
    /// Every row so far in `(seq, id)` order: the chain as checked along the way.
    InOrder(Box<Chain<'p>>),
    /// To be checked with its rows sorted.
    Sort,
}

/// One origin met in the pass.
struct ScannedOrigin<'p> {
    /// The seq of its last row read.
    last_seq: i64,
    scanned: Scanned<'p>,
}

/// Rows read per batch handed from the thread that reads the journal to the one that checks
/// (a handful in unit tests, so that their small journals span many batches).
const BATCH_ROWS: usize = if cfg!(test) { 3 } else { 2048 };

/// Rows of `events` as the pass reads them, in row id order: their origins' and bodies' text
/// side by side in one buffer. Batches go back to the reading thread to be filled again.
#[derive(Default)]
struct Batch {
    text: String,
    rows: Vec<BatchRow>,
}

/// One row of a [`Batch`].
struct BatchRow {
    /// The origin's text in [`Batch::text`].
    origin: Range<usize>,
    /// `None` where the stored seq is not an integer.
    seq: Option<i64>,
    /// Body, prev, hash and signature; `None` where one of them is not of its type.
    columns: Option<BatchColumns>,
}

/// A [`BatchRow`]'s body, prev, hash and signature.
struct BatchColumns {
    /// The body's text in [`Batch::text`].
    body: Range<usize>,
    prev: [u8; 32],
    hash: [u8; 32],
    sig: [u8; 64],
}

impl Batch {
    /// Adds the current row of `SELECT origin, seq, body, prev_hash, hash, sig`. `None` where
    /// its origin is not text: the pass cannot go on.
    fn push(&mut self, row: &rusqlite::Row<'_>) -> Option<()> {
        let origin = row.get_ref(0).ok()?.as_str().ok()?;
        let start = self.text.len();
        self.text.push_str(origin);
        let origin = start..self.text.len();
        let seq = row.get_ref(1).ok()?.as_i64().ok();
        let columns = (|| {
            let body = row.get_ref(2).ok()?.as_str().ok()?;
            let prev = fixed(row.get_ref(3).ok()?.as_blob().ok()?);
            let hash = fixed(row.get_ref(4).ok()?.as_blob().ok()?);
            let sig = fixed(row.get_ref(5).ok()?.as_blob().ok()?);
            let start = self.text.len();
            self.text.push_str(body);
            Some(BatchColumns {
                body: start..self.text.len(),
                prev,
                hash,
                sig,
            })
        })();
        self.rows.push(BatchRow {
            origin,
            seq,
            columns,
        });
        Some(())
    }
}

/// Reads the whole journal once, in row id order, while another thread checks each origin's
/// chain for as long as its rows come in `(seq, id)` order. Origins listed in `forks` are left
/// to the sorting query. `None`: the pass could not read the journal through and must not be
/// relied on.
fn scan<'p>(
    conn: &Connection,
    path: &'p Path,
    all_signatures: bool,
) -> Option<BTreeMap<String, Scanned<'p>>> {
    // Only a hint that saves checking a forked origin twice: whether rows are in order is
    // decided by the rows themselves.
    let forked: HashSet<String> = conn
        .prepare("SELECT DISTINCT origin FROM forks")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .unwrap_or_default();
    let mut stmt = conn
        .prepare("SELECT origin, seq, body, prev_hash, hash, sig FROM events ORDER BY id")
        .ok()?;
    let mut rows = stmt.query([]).ok()?;
    std::thread::scope(|s| {
        let (full_tx, full_rx) = mpsc::sync_channel::<Batch>(2);
        let (empty_tx, empty_rx) = mpsc::channel::<Batch>();
        let forked = &forked;
        let checker = std::thread::Builder::new()
            .name("journal verify".into())
            .spawn_scoped(s, move || {
                check_batches(path, all_signatures, forked, &full_rx, &empty_tx)
            })
            .ok()?;
        let read = (|| {
            let mut batch = Batch::default();
            while let Some(row) = rows.next().ok()? {
                batch.push(row)?;
                if batch.rows.len() == BATCH_ROWS {
                    let next = empty_rx.try_recv().unwrap_or_default();
                    full_tx.send(std::mem::replace(&mut batch, next)).ok()?;
                }
            }
            full_tx.send(batch).ok()
        })();
        drop(full_tx);
        let origins = match checker.join() {
            Ok(origins) => origins,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        read.map(|()| origins)
    })
}

/// Checks the rows of each batch in turn (see [`scan`]) until the reading thread is done.
fn check_batches<'p>(
    path: &'p Path,
    all_signatures: bool,
    forked: &HashSet<String>,
    full: &mpsc::Receiver<Batch>,
    empty: &mpsc::Sender<Batch>,
) -> BTreeMap<String, Scanned<'p>> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut origins: Vec<(String, ScannedOrigin<'p>)> = Vec::new();
    // The origin of the row before: runs of one origin skip the lookup.
    let mut at: Option<usize> = None;
    for mut batch in full {
        for row in &batch.rows {
            let origin = &batch.text[row.origin.clone()];
            let i = match at {
                Some(i) if origins[i].0 == origin => i,
                _ => {
                    let i = match index.get(origin) {
                        Some(&i) => i,
                        None => {
                            let scanned = if forked.contains(origin) {
                                Scanned::Sort
                            } else {
                                Scanned::InOrder(Box::new(Chain::new(path, origin, all_signatures)))
                            };
                            index.insert(origin.to_owned(), origins.len());
                            origins.push((
                                origin.to_owned(),
                                ScannedOrigin {
                                    last_seq: i64::MIN,
                                    scanned,
                                },
                            ));
                            origins.len() - 1
                        }
                    };
                    at = Some(i);
                    i
                }
            };
            let entry = &mut origins[i].1;
            let Scanned::InOrder(chain) = &mut entry.scanned else {
                continue;
            };
            let Some(seq) = row.seq else {
                entry.scanned = Scanned::Sort;
                continue;
            };
            if seq < entry.last_seq {
                entry.scanned = Scanned::Sort;
                continue;
            }
            entry.last_seq = seq;
            if chain.broken {
                continue;
            }
            match &row.columns {
                Some(columns) => chain.check(&StoredEvent {
                    seq: stored_seq(seq),
                    body: &batch.text[columns.body.clone()],
                    prev: columns.prev,
                    hash: columns.hash,
                    sig: columns.sig,
                }),
                // The sorting query reports the row as its origin's.
                None => entry.scanned = Scanned::Sort,
            }
        }
        batch.text.clear();
        batch.rows.clear();
        // Once the reading thread has stopped, the batch is simply dropped.
        let _ = empty.send(batch);
    }
    origins.into_iter().map(|(o, s)| (o, s.scanned)).collect()
}

/// Finishes the origins checked in the pass and checks the others with their rows sorted, in
/// origin order.
fn verify_scanned(
    conn: &Connection,
    path: &Path,
    all_signatures: bool,
    mut origins: BTreeMap<String, Scanned<'_>>,
    summary: &mut DbSummary,
) -> Vec<Finding> {
    // Every seq's hash at once, already in key order: a bulk build, far quicker than one
    // insert at a time. The first origin's list becomes the whole list without a copy.
    let mut hashes = Vec::new();
    for scanned in origins.values_mut() {
        if let Scanned::InOrder(chain) = scanned {
            if hashes.is_empty() {
                std::mem::swap(&mut hashes, &mut chain.hashes);
            } else {
                hashes.append(&mut chain.hashes);
            }
        }
    }
    summary.hashes = hashes.into_iter().collect();
    let mut findings = Vec::new();
    for (origin, scanned) in origins {
        match scanned {
            Scanned::InOrder(chain) => findings.append(&mut chain.finish(summary)),
            Scanned::Sort => match verify_origin(conn, path, &origin, all_signatures, summary) {
                Ok(mut f) => findings.append(&mut f),
                Err(e) => findings.push(Finding::Unreadable {
                    db: path.to_path_buf(),
                    what: e.to_string(),
                }),
            },
        }
    }
    findings
}

/// Checks every origin with its rows sorted, origin by origin.
fn verify_ordered(
    conn: &Connection,
    path: &Path,
    all_signatures: bool,
    summary: &mut DbSummary,
) -> Vec<Finding> {
    let unreadable = |what: String| Finding::Unreadable {
        db: path.to_path_buf(),
        what,
    };
    let origins: Vec<String> = match conn
        .prepare("SELECT DISTINCT origin FROM events ORDER BY origin")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
    {
        Ok(o) => o,
        Err(e) => return vec![unreadable(e.to_string())],
    };
    let mut findings = Vec::new();
    for origin in origins {
        match verify_origin(conn, path, &origin, all_signatures, summary) {
            Ok(mut f) => findings.append(&mut f),
            Err(e) => findings.push(unreadable(e.to_string())),
        }
    }
    findings
}

/// An event's columns as the sorting query reads them.
struct Row {
    seq: u64,
    body: String,
    prev: [u8; 32],
    hash: [u8; 32],
    sig: [u8; 64],
}

/// Checks one origin with its rows sorted by `(seq, id)`. A row that cannot be read ends the
/// check with an error; what was checked before it stays counted.
fn verify_origin(
    conn: &Connection,
    path: &Path,
    origin: &str,
    all_signatures: bool,
    summary: &mut DbSummary,
) -> rusqlite::Result<Vec<Finding>> {
    let mut stmt = conn.prepare(
        "SELECT seq, body, prev_hash, hash, sig FROM events WHERE origin = ?1 ORDER BY seq, id",
    )?;
    let rows = stmt.query_map([origin], |r| {
        Ok(Row {
            seq: stored_seq(r.get(0)?),
            body: r.get(1)?,
            prev: blob32(r.get(2)?),
            hash: blob32(r.get(3)?),
            sig: blob64(r.get(4)?),
        })
    })?;
    let mut chain = Chain::new(path, origin, all_signatures);
    for row in rows {
        let row = match row {
            Ok(row) => row,
            Err(e) => {
                chain.record(summary);
                return Err(e);
            }
        };
        chain.check(&StoredEvent {
            seq: row.seq,
            body: &row.body,
            prev: row.prev,
            hash: row.hash,
            sig: row.sig,
        });
        if chain.broken {
            break;
        }
    }
    Ok(chain.finish(summary))
}

/// Checks every database, then compares them.
pub fn verify(paths: &[PathBuf], all_signatures: bool) -> Report {
    let mut report = Report::default();
    for path in paths {
        let (summary, mut findings) = verify_db(path, all_signatures);
        report.findings.append(&mut findings);
        report.summaries.push(summary);
    }
    compare(&mut report);
    report
}

fn compare(report: &mut Report) {
    let summaries = &report.summaries;
    for (i, a) in summaries.iter().enumerate() {
        for b in summaries.iter().skip(i + 1) {
            for ((origin, seq), hash) in &a.hashes {
                if let Some(other) = b.hashes.get(&(origin.clone(), *seq))
                    && other != hash
                {
                    report.findings.push(Finding::Diverged {
                        origin: origin.clone(),
                        seq: *seq,
                        a: a.path.clone(),
                        b: b.path.clone(),
                    });
                    break;
                }
            }
        }
    }
    for a in summaries {
        let mut origins: Vec<&String> = summaries.iter().flat_map(|s| s.heads.keys()).collect();
        origins.sort();
        origins.dedup();
        for origin in origins {
            let local = a.heads.get(origin).map(|h| h.0).unwrap_or(0);
            let Some(best) = summaries
                .iter()
                .filter(|b| b.path != a.path)
                .filter_map(|b| b.heads.get(origin).map(|h| (h.0, b)))
                .max_by_key(|(seq, _)| *seq)
            else {
                continue;
            };
            if best.0 <= local {
                continue;
            }
            if a.own_origin.as_deref() == Some(origin.as_str()) {
                report.findings.push(Finding::CutShort {
                    db: a.path.clone(),
                    origin: origin.clone(),
                    local_seq: local,
                    other_db: best.1.path.clone(),
                    other_seq: best.0,
                });
            } else {
                report
                    .lag
                    .push((a.path.clone(), origin.clone(), local, best.0));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    use super::*;
    use crate::clock::ManualClock;
    use crate::event::{DeviceRetired, DeviceRole, Event};
    use crate::journal::{Journal, JournalOptions};

    fn open(path: &Path, name: &str) -> Journal {
        let options = JournalOptions::new(
            Arc::new(ManualClock::starting_at(1_790_000_000_000)),
            DeviceRole::OrderTerminal,
            name,
        );
        Journal::open(path, options).expect("open journal")
    }

    fn note(n: u64) -> Event {
        Event::DeviceRetired(DeviceRetired {
            origin: format!("{n:016x}"),
            reason: format!("test event {n}"),
        })
    }

    fn sync(from: &Journal, to: &Journal) {
        let all = from.all_events().expect("read");
        to.apply(all.iter().map(|e| e.to_json().into_bytes()).collect())
            .expect("apply");
    }

    /// The check as it was before the pass in row id order: every origin read with its rows
    /// sorted by `(seq, id)`, each event rebuilt as an envelope. What `verify_db` reports must
    /// not differ from it in any way.
    fn sorted_walk(path: &Path, all_signatures: bool) -> (DbSummary, Vec<Finding>) {
        let mut summary = DbSummary {
            path: path.to_path_buf(),
            ..DbSummary::default()
        };
        let mut findings = Vec::new();
        let unreadable = |what: String| Finding::Unreadable {
            db: path.to_path_buf(),
            what,
        };
        let conn = open_read_only(path).expect("open");
        summary.own_origin = conn
            .query_row("SELECT origin FROM identity WHERE only_row = 1", [], |r| {
                r.get::<_, String>(0)
            })
            .optional()
            .expect("identity");
        let origins: Vec<String> = match conn
            .prepare("SELECT DISTINCT origin FROM events ORDER BY origin")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        {
            Ok(o) => o,
            Err(e) => return (summary, vec![unreadable(e.to_string())]),
        };
        for origin in origins {
            match sorted_walk_origin(&conn, path, &origin, all_signatures, &mut summary) {
                Ok(mut f) => findings.append(&mut f),
                Err(e) => findings.push(unreadable(e.to_string())),
            }
        }
        (summary, findings)
    }

    fn sorted_walk_origin(
        conn: &Connection,
        path: &Path,
        origin: &str,
        all_signatures: bool,
        summary: &mut DbSummary,
    ) -> rusqlite::Result<Vec<Finding>> {
        let mut stmt = conn.prepare(
            "SELECT seq, body, prev_hash, hash, sig FROM events WHERE origin = ?1 ORDER BY seq, id",
        )?;
        let rows = stmt.query_map([origin], |r| {
            Ok(Row {
                seq: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                body: r.get(1)?,
                prev: blob32(r.get(2)?),
                hash: blob32(r.get(3)?),
                sig: blob64(r.get(4)?),
            })
        })?;
        let broken = |seq: u64, what: String| Finding::Broken {
            db: path.to_path_buf(),
            origin: origin.to_owned(),
            seq,
            what,
        };
        let mut findings = Vec::new();
        let mut key: Option<VerifyingKey> = None;
        let mut expected_seq = 1u64;
        let mut previous: Vec<[u8; 32]> = Vec::new();
        let mut current: Vec<[u8; 32]> = vec![GENESIS_PREV];
        let mut last: Option<(u64, Envelope)> = None;
        for row in rows {
            let row = row?;
            summary.events += 1;
            if row.seq + 1 == expected_seq {
                findings.push(Finding::Fork {
                    db: path.to_path_buf(),
                    origin: origin.to_owned(),
                    seq: row.seq,
                });
            } else if row.seq != expected_seq {
                let what = if row.seq > expected_seq {
                    format!("event missing (the next one held is seq {})", row.seq)
                } else {
                    format!("seq {} appears out of order", row.seq)
                };
                findings.push(broken(expected_seq, what));
                return Ok(findings);
            } else {
                previous = std::mem::take(&mut current);
                expected_seq += 1;
            }
            let env = match Envelope::from_parts(row.body, row.prev, row.hash, row.sig) {
                Ok(env) => env,
                Err(e) => {
                    findings.push(broken(row.seq, format!("body is not valid JSON: {e}")));
                    return Ok(findings);
                }
            };
            let header = match env.header() {
                Ok(h) => h,
                Err(e) => {
                    findings.push(broken(row.seq, format!("body: {e}")));
                    return Ok(findings);
                }
            };
            if header.origin.as_str() != origin || header.seq != row.seq {
                findings.push(broken(
                    row.seq,
                    format!(
                        "the stored row says origin {origin} seq {} but its body says origin {} seq {}",
                        row.seq, header.origin, header.seq
                    ),
                ));
                return Ok(findings);
            }
            if !env.hash_ok() {
                findings.push(broken(
                    row.seq,
                    "hash does not match the body (its content was changed)".into(),
                ));
                return Ok(findings);
            }
            if !previous.contains(env.prev()) {
                findings.push(broken(
                    row.seq,
                    "prev does not link to the event before it".into(),
                ));
                return Ok(findings);
            }
            if row.seq == 1 {
                match genesis_key(&header, &env) {
                    Ok(k) => key = Some(k),
                    Err(e) => {
                        findings.push(broken(1, e));
                        return Ok(findings);
                    }
                }
            } else if all_signatures
                && let Some(k) = &key
                && !env.signature_ok(k)
            {
                findings.push(broken(row.seq, "signature does not verify".into()));
                return Ok(findings);
            }
            current.push(*env.hash());
            summary
                .hashes
                .entry((origin.to_owned(), row.seq))
                .or_insert(*env.hash());
            last = Some((row.seq, env));
        }
        if let (Some((seq, head)), Some(k)) = (&last, &key) {
            if !head.signature_ok(k) {
                findings.push(broken(*seq, "the head's signature does not verify".into()));
                return Ok(findings);
            }
            summary
                .heads
                .insert(origin.to_owned(), (*seq, *head.hash()));
        }
        Ok(findings)
    }

    /// Checks `path` both ways, with and without every signature, and insists on the same
    /// summary and findings. Returns the default check's findings.
    fn verify_both_ways(path: &Path) -> Vec<Finding> {
        let mut default_findings = Vec::new();
        for all_signatures in [false, true] {
            let (summary, findings) = verify_db(path, all_signatures);
            let (expected, expected_findings) = sorted_walk(path, all_signatures);
            assert_eq!(
                findings, expected_findings,
                "all_signatures {all_signatures}"
            );
            assert_eq!(summary.path, expected.path);
            assert_eq!(summary.own_origin, expected.own_origin);
            assert_eq!(summary.heads, expected.heads, "{findings:?}");
            assert_eq!(summary.hashes, expected.hashes, "{findings:?}");
            assert_eq!(summary.events, expected.events, "{findings:?}");
            if !all_signatures {
                default_findings = findings;
            }
        }
        default_findings
    }

    /// The origins the pass in row id order leaves to the sorting query.
    fn sorted_origins(path: &Path) -> Vec<String> {
        let conn = open_read_only(path).expect("open");
        scan(&conn, path, false)
            .expect("scan")
            .into_iter()
            .filter(|(_, s)| matches!(s, Scanned::Sort))
            .map(|(o, _)| o)
            .collect()
    }

    /// Runs `sql` on a copy of a journal, as a tool that ignores the append-only rules would.
    fn tamper(path: &Path, sql: &str) -> rusqlite::Result<usize> {
        let conn = Connection::open(path)?;
        conn.execute_batch(
            "DROP TRIGGER IF EXISTS events_no_update; DROP TRIGGER IF EXISTS events_no_delete;
             DROP TRIGGER IF EXISTS forks_no_delete;",
        )?;
        conn.execute(sql, [])
    }

    /// Three devices whose events reach `b` in turns, so that in `b`'s journal the three
    /// origins alternate in row id order. With `fork`, a restored copy of `a` then writes
    /// another version of a seq that `b` already holds a successor of.
    fn store(dir: &Path, fork: bool) -> (PathBuf, Vec<String>) {
        let a = open(&dir.join("a.db"), "a");
        let b = open(&dir.join("b.db"), "b");
        let c = open(&dir.join("c.db"), "c");
        for round in 0..4 {
            a.append(&note(round * 10)).expect("append");
            a.append(&note(round * 10 + 1)).expect("append");
            sync(&a, &b);
            c.append(&note(round * 10 + 2)).expect("append");
            sync(&c, &b);
            b.append(&note(round * 10 + 3)).expect("append");
        }
        let origins = vec![a.origin().to_string(), c.origin().to_string()];
        if fork {
            drop(a);
            std::fs::copy(dir.join("a.db"), dir.join("a-copy.db")).expect("copy");
            let a = open(&dir.join("a.db"), "a");
            a.append(&note(100)).expect("append");
            a.append(&note(101)).expect("append");
            sync(&a, &b);
            let copy = open(&dir.join("a-copy.db"), "a");
            copy.append(&note(200)).expect("append");
            sync(&copy, &b);
            assert_eq!(b.forks().expect("forks").len(), 1);
        }
        (dir.join("b.db"), origins)
    }

    #[test]
    fn an_origin_interleaved_with_others_is_checked_in_the_one_pass() {
        let dir = tempfile::tempdir().expect("tmp");
        let (path, origins) = store(dir.path(), false);
        let conn = open_read_only(&path).expect("open");
        let order: Vec<String> = conn
            .prepare("SELECT origin FROM events ORDER BY id")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("read");
        let runs = order.windows(2).filter(|w| w[0] != w[1]).count();
        assert!(
            runs >= 8,
            "the origins alternate in row id order: {order:?}"
        );
        assert_eq!(sorted_origins(&path), Vec::<String>::new());
        assert_eq!(verify_both_ways(&path), vec![]);
        let (summary, _) = verify_db(&path, false);
        assert_eq!(
            summary.events,
            9 + 5 + 5,
            "a: 9, b: 5, c: 5, each device's first event included"
        );
        assert_eq!(summary.heads.len(), 3);
        assert_eq!(summary.heads[&origins[0]].0, 9);
        assert_eq!(summary.heads[&origins[1]].0, 5);
    }

    #[test]
    fn a_forked_origin_is_checked_with_its_rows_sorted() {
        let dir = tempfile::tempdir().expect("tmp");
        let (path, origins) = store(dir.path(), true);
        let a = &origins[0];
        let fork = Finding::Fork {
            db: path.clone(),
            origin: a.clone(),
            seq: 10,
        };
        assert_eq!(sorted_origins(&path), vec![a.clone()], "forks lists it");
        assert_eq!(verify_both_ways(&path), vec![fork.clone()]);
        // Without the fork's record, its rows out of order are what sends it to be sorted.
        let bare = dir.path().join("no-fork-record.db");
        std::fs::copy(&path, &bare).expect("copy");
        tamper(&bare, "DELETE FROM forks").expect("tamper");
        let fork = Finding::Fork {
            db: bare.clone(),
            origin: a.clone(),
            seq: 10,
        };
        assert_eq!(
            sorted_origins(&bare),
            vec![a.clone()],
            "seq 10 after seq 11"
        );
        assert_eq!(verify_both_ways(&bare), vec![fork]);
        let (summary, _) = verify_db(&bare, false);
        assert_eq!(summary.heads[a].0, 11, "seq 11 links to the first seq 10");
    }

    #[test]
    fn a_fork_at_an_origins_head_is_reported_alike_either_way() {
        let dir = tempfile::tempdir().expect("tmp");
        let (path, origins) = store(dir.path(), true);
        // The second seq 11 gone, the second seq 10 sits right after the first in row id
        // order: in order, so the pass itself meets the fork (once forks no longer lists it).
        tamper(
            &path,
            &format!(
                "DELETE FROM events WHERE origin = '{}' AND seq = 11",
                origins[0]
            ),
        )
        .expect("tamper");
        let fork = Finding::Fork {
            db: path.clone(),
            origin: origins[0].clone(),
            seq: 10,
        };
        assert_eq!(
            sorted_origins(&path),
            vec![origins[0].clone()],
            "forks lists it"
        );
        assert_eq!(verify_both_ways(&path), vec![fork.clone()]);
        tamper(&path, "DELETE FROM forks").expect("tamper");
        assert_eq!(sorted_origins(&path), Vec::<String>::new());
        assert_eq!(verify_both_ways(&path), vec![fork]);
    }

    /// One change to a journal behind its back; rows are picked by position in row id order.
    #[derive(Debug, Clone)]
    enum Tamper {
        Seq(usize, i64),
        Delete(usize),
        MoveToEnd(usize),
        CopyAs(usize, i64),
        EditBody(usize),
        CutBody(usize),
        BodyOf(usize, usize),
        OriginOf(usize, usize),
        BodyAsBlob(usize),
        SeqAsText(usize),
        ShortHash(usize),
        ZeroSig(usize),
        OriginAsBlob(usize),
        DropForks,
    }

    impl Tamper {
        fn sql(&self) -> String {
            let row = |i: &usize| format!("(SELECT id FROM events ORDER BY id LIMIT 1 OFFSET {i})");
            match self {
                Tamper::Seq(i, seq) => format!("UPDATE events SET seq = {seq} WHERE id = {}", row(i)),
                Tamper::Delete(i) => format!("DELETE FROM events WHERE id = {}", row(i)),
                Tamper::MoveToEnd(i) => format!(
                    "UPDATE events SET id = (SELECT MAX(id) + 1 FROM events) WHERE id = {}",
                    row(i)
                ),
                Tamper::CopyAs(i, seq) => format!(
                    "INSERT INTO events (origin, seq, hlc, wall_ms, kind, body, prev_hash, hash, sig)
                     SELECT origin, {seq}, hlc, wall_ms, kind, body, prev_hash, hash, sig
                     FROM events WHERE id = {}",
                    row(i)
                ),
                Tamper::EditBody(i) => format!(
                    "UPDATE events SET body = replace(body, 'test event', 'best event') WHERE id = {}",
                    row(i)
                ),
                Tamper::CutBody(i) => format!(
                    "UPDATE events SET body = substr(body, 1, length(body) - 1) WHERE id = {}",
                    row(i)
                ),
                Tamper::BodyOf(i, j) => format!(
                    "UPDATE events SET body = (SELECT body FROM events WHERE id = {}) WHERE id = {}",
                    row(j),
                    row(i)
                ),
                Tamper::OriginOf(i, j) => format!(
                    "UPDATE events SET origin = (SELECT origin FROM events WHERE id = {}) WHERE id = {}",
                    row(j),
                    row(i)
                ),
                Tamper::BodyAsBlob(i) => format!(
                    "UPDATE events SET body = CAST(body AS BLOB) WHERE id = {}",
                    row(i)
                ),
                Tamper::SeqAsText(i) => format!("UPDATE events SET seq = 'x' WHERE id = {}", row(i)),
                Tamper::ShortHash(i) => {
                    format!("UPDATE events SET hash = x'00' WHERE id = {}", row(i))
                }
                Tamper::ZeroSig(i) => {
                    format!("UPDATE events SET sig = zeroblob(64) WHERE id = {}", row(i))
                }
                Tamper::OriginAsBlob(i) => format!(
                    "UPDATE events SET origin = CAST(origin AS BLOB) WHERE id = {}",
                    row(i)
                ),
                Tamper::DropForks => "DELETE FROM forks".into(),
            }
        }
    }

    fn tampers() -> impl Strategy<Value = Tamper> {
        let row = 0..24usize;
        let seq = -1..14i64;
        prop_oneof![
            (row.clone(), seq.clone()).prop_map(|(i, s)| Tamper::Seq(i, s)),
            row.clone().prop_map(Tamper::Delete),
            row.clone().prop_map(Tamper::MoveToEnd),
            (row.clone(), seq).prop_map(|(i, s)| Tamper::CopyAs(i, s)),
            row.clone().prop_map(Tamper::EditBody),
            row.clone().prop_map(Tamper::CutBody),
            (row.clone(), row.clone()).prop_map(|(i, j)| Tamper::BodyOf(i, j)),
            (row.clone(), row.clone()).prop_map(|(i, j)| Tamper::OriginOf(i, j)),
            row.clone().prop_map(Tamper::BodyAsBlob),
            row.clone().prop_map(Tamper::SeqAsText),
            row.clone().prop_map(Tamper::ShortHash),
            row.clone().prop_map(Tamper::ZeroSig),
            row.prop_map(Tamper::OriginAsBlob),
            Just(Tamper::DropForks),
        ]
    }

    #[test]
    fn a_journal_changed_behind_its_back_is_reported_as_by_the_sorted_walk() {
        let dir = tempfile::tempdir().expect("tmp");
        let forked = dir.path().join("forked");
        let plain = dir.path().join("plain");
        std::fs::create_dir(&forked).expect("dir");
        std::fs::create_dir(&plain).expect("dir");
        let bases = [store(&forked, true).0, store(&plain, false).0];
        let case = dir.path().join("case.db");
        let mut runner = TestRunner::new(Config {
            cases: 96,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(
                &(0..bases.len(), proptest::collection::vec(tampers(), 1..4)),
                |(base, changes)| {
                    std::fs::copy(&bases[base], &case).expect("copy");
                    for change in &changes {
                        // A change the schema refuses (a duplicate row) is simply not made.
                        let _ = tamper(&case, &change.sql());
                    }
                    verify_both_ways(&case);
                    Ok(())
                },
            )
            .expect("the same report as the sorted walk");
    }
}
