//! `pass journal verify`: checks journals read-only, without trusting anything stored in them.
//!
//! For each origin: seqs run gapless from 1; each stored body says the origin and seq of its
//! row; each hash is `SHA-256(prev || body)`; each `prev` is the hash of the event before; the
//! first event announces a key that belongs to the origin. The head's signature is checked
//! (it covers the whole chain); with `all_signatures`, every event's. Given several databases,
//! a database whose own origin is behind another copy of that origin was cut short.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;
use rusqlite::{Connection, OptionalExtension};

use super::envelope::genesis_key;
use super::{Envelope, GENESIS_PREV, blob32, blob64, open_read_only};

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

struct Row {
    seq: u64,
    body: String,
    prev: [u8; 32],
    hash: [u8; 32],
    sig: [u8; 64],
}

/// Checks one database.
pub fn verify_db(path: &Path, all_signatures: bool) -> (DbSummary, Vec<Finding>) {
    let mut summary = DbSummary {
        path: path.to_path_buf(),
        ..DbSummary::default()
    };
    let mut findings = Vec::new();
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
    let origins: Vec<String> = match conn
        .prepare("SELECT DISTINCT origin FROM events ORDER BY origin")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
    {
        Ok(o) => o,
        Err(e) => return (summary, vec![unreadable(e.to_string())]),
    };
    for origin in origins {
        match verify_origin(&conn, path, &origin, all_signatures, &mut summary) {
            Ok(mut f) => findings.append(&mut f),
            Err(e) => findings.push(unreadable(e.to_string())),
        }
    }
    (summary, findings)
}

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
    // Hashes of every version at the previous seq (more than one after a fork).
    let mut previous: Vec<[u8; 32]> = Vec::new();
    let mut current: Vec<[u8; 32]> = vec![GENESIS_PREV];
    let mut last: Option<(u64, Envelope)> = None;
    for row in rows {
        let row = row?;
        summary.events += 1;
        if row.seq + 1 == expected_seq {
            // A second version of the seq just checked.
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
