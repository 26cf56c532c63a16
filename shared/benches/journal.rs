//! Journal append rate against a raw rusqlite baseline, measured in the same run.
//!
//! Two modes, each beside its baseline:
//! - one event per commit (one caller, each append committed alone);
//! - group commit under 8 concurrent writers.
//!
//! The baseline inserts the very same rows (taken from the journal just written: same bodies,
//! hashes and signatures) into a database with the same schema and indexes, with
//! `synchronous=FULL` and WAL, in transactions of the same size the journal's writer used: that
//! is, the journal's work minus serialising, hashing, signing and the hand-off between threads.
//!
//! `cargo bench -p pass-shared --bench journal` (PASS_BENCH_ROUNDS, PASS_BENCH_EVENTS to change
//! the size). Prints medians over the rounds and the journal/baseline ratio (target ≥ 80%).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use pass_shared::clock::SystemClock;
use pass_shared::event::{DeviceRole, NewEvent};
use pass_shared::journal::{Journal, JournalOptions, schema};
use rusqlite::{Connection, params};
use serde::Serialize;
use serde_json::value::RawValue;

const WRITERS: usize = 8;

/// A ticket-sized payload, serialised for every append as a device would.
#[derive(Serialize)]
struct SampleLine<'a> {
    line: u64,
    item: &'a str,
    qty: u32,
    price: &'a str,
    modifiers: [&'a str; 2],
    seat: u8,
    course: u8,
    station: &'a str,
}

#[derive(Serialize)]
struct SampleSend<'a> {
    check: u64,
    ticket: u64,
    table: &'a str,
    server: &'a str,
    lines: [SampleLine<'a>; 3],
}

fn sample(n: u64) -> NewEvent {
    let line = |k: u64| SampleLine {
        line: n * 3 + k,
        item: "classic_burger",
        qty: 1,
        price: "14.50",
        modifiers: ["medium_rare", "add_bacon"],
        seat: 2,
        course: 1,
        station: "grill",
    };
    let send = SampleSend {
        check: n,
        ticket: n,
        table: "T12",
        server: "maria",
        lines: [line(0), line(1), line(2)],
    };
    let text = serde_json::to_string(&send).expect("a plain struct serialises");
    NewEvent {
        kind: "items_sent".into(),
        payload: RawValue::from_string(text).expect("valid json"),
    }
}

fn open(dir: &Path, name: &str) -> Journal {
    open_with(dir, name, true)
}

fn open_with(dir: &Path, name: &str, preseal: bool) -> Journal {
    let mut options =
        JournalOptions::new(Arc::new(SystemClock), DeviceRole::OrderTerminal, "bench");
    options.preseal = preseal;
    Journal::open(dir.join(name), options).expect("open journal")
}

/// Appends `per_writer` events from each of [`WRITERS`] threads at once; returns events per
/// second, the mean batch and the writer's time split.
fn group_run(j: &Arc<Journal>, per_writer: usize) -> (f64, usize, Split) {
    let commits_before = j.stats().commits.load(Ordering::Relaxed);
    let before = Counters::of(j);
    let start = Instant::now();
    let handles: Vec<_> = (0..WRITERS)
        .map(|w| {
            let j = Arc::clone(j);
            std::thread::spawn(move || {
                for n in 0..per_writer as u64 {
                    j.append_new(sample(w as u64 * 1_000_000 + n))
                        .expect("append");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("writer");
    }
    let elapsed = start.elapsed().as_secs_f64();
    let total = (per_writer * WRITERS) as f64;
    let commits = (j.stats().commits.load(Ordering::Relaxed) - commits_before).max(1);
    let batch = (total / commits as f64).round().max(1.0) as usize;
    (
        total / elapsed,
        batch,
        Counters::of(j).since(&before, elapsed, total as usize),
    )
}

struct Row {
    origin: String,
    seq: i64,
    hlc: i64,
    wall_ms: i64,
    kind: String,
    body: String,
    prev: Vec<u8>,
    hash: Vec<u8>,
    sig: Vec<u8>,
}

fn rows_of(journal: &Journal) -> Vec<Row> {
    journal
        .all_events()
        .expect("read")
        .into_iter()
        .skip(1) // the device's first event was written at creation, not in the timed part
        .map(|e| {
            let h = e.header().expect("header");
            Row {
                origin: h.origin.to_string(),
                seq: h.seq as i64,
                hlc: h.hlc as i64,
                wall_ms: h.wall_ms,
                kind: h.kind,
                body: e.body().to_owned(),
                prev: e.prev().to_vec(),
                hash: e.hash().to_vec(),
                sig: e.sig().to_vec(),
            }
        })
        .collect()
}

/// Inserts `rows` in transactions of `batch` rows; returns events per second and the time per
/// event spent committing, in microseconds.
fn raw_baseline(dir: &Path, name: &str, rows: &[Row], batch: usize) -> (f64, f64) {
    let mut conn = Connection::open(dir.join(name)).expect("open");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    conn.pragma_update(None, "synchronous", "FULL")
        .expect("full");
    schema::migrate(&mut conn).expect("schema");
    let start = Instant::now();
    let mut committing = 0.0;
    for chunk in rows.chunks(batch.max(1)) {
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .expect("begin");
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO events (origin, seq, hlc, wall_ms, kind, body, prev_hash, hash, sig)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .expect("prepare");
            for r in chunk {
                stmt.execute(params![
                    r.origin, r.seq, r.hlc, r.wall_ms, r.kind, r.body, r.prev, r.hash, r.sig
                ])
                .expect("insert");
            }
        }
        let commit = Instant::now();
        tx.commit().expect("commit");
        committing += commit.elapsed().as_secs_f64();
    }
    let n = rows.len() as f64;
    (n / start.elapsed().as_secs_f64(), committing * 1e6 / n)
}

/// Where a mode's time went, per event, in microseconds: in the writer's batches (of which
/// sealing and committing), and outside them (callers' own work, waiting to be served, hand-offs).
#[derive(Clone, Copy)]
struct Split {
    busy: f64,
    seal: f64,
    commit: f64,
    answer: f64,
    outside: f64,
}

/// The writer's time counters at one moment, in nanoseconds.
struct Counters([u64; 4]);

impl Counters {
    fn of(j: &Journal) -> Counters {
        let s = j.stats();
        Counters([
            s.busy_ns.load(Ordering::Relaxed),
            s.seal_ns.load(Ordering::Relaxed),
            s.commit_ns.load(Ordering::Relaxed),
            s.answer_ns.load(Ordering::Relaxed),
        ])
    }

    fn since(&self, before: &Counters, wall_s: f64, events: usize) -> Split {
        let per = |i: usize| (self.0[i] - before.0[i]) as f64 / 1000.0 / events as f64;
        Split {
            busy: per(0),
            seal: per(1),
            commit: per(2),
            answer: per(3),
            outside: wall_s * 1e6 / events as f64 - per(0),
        }
    }
}

fn median_split(v: &[Split]) -> Split {
    let m = |f: fn(&Split) -> f64| median(v.iter().map(f).collect());
    Split {
        busy: m(|s| s.busy),
        seal: m(|s| s.seal),
        commit: m(|s| s.commit),
        answer: m(|s| s.answer),
        outside: m(|s| s.outside),
    }
}

/// Median cost of one ed25519 signature and one SHA-256 of a ticket-sized body, in microseconds.
fn primitives() -> (f64, f64) {
    use ed25519_dalek::{Signer, SigningKey};
    use sha2::{Digest, Sha256};
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let body = serde_json::to_string(&sample(1).payload).expect("json");
    let time = |f: &mut dyn FnMut()| {
        let mut runs = Vec::with_capacity(21);
        for _ in 0..21 {
            let start = Instant::now();
            for _ in 0..500 {
                f();
            }
            runs.push(start.elapsed().as_secs_f64() * 1e6 / 500.0);
        }
        median(runs)
    };
    let mut digest = [0u8; 32];
    let hash = time(&mut || {
        digest = Sha256::digest(body.as_bytes()).into();
        std::hint::black_box(&digest);
    });
    let sign = time(&mut || {
        std::hint::black_box(key.sign(&digest));
    });
    (sign, hash)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a list; nothing to run then
    }
    let rounds = env_or("PASS_BENCH_ROUNDS", 5);
    let events = env_or("PASS_BENCH_EVENTS", 2_000);
    let base = std::env::var_os("PASS_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    println!(
        "journal append benchmark: {rounds} rounds, {events} events per mode per round, in {}",
        base.display()
    );
    let (mut single_j, mut single_r, mut group_j, mut group_r, mut batches) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut single_split, mut group_split, mut plain_split, mut plain_j) =
        (vec![], vec![], vec![], vec![]);
    let (mut single_raw_commit, mut group_raw_commit) = (vec![], vec![]);
    for round in 0..rounds {
        let dir = tempfile::tempdir_in(&base).expect("tmp");
        // One event per commit.
        let j = open(dir.path(), "single.db");
        let before = Counters::of(&j);
        let start = Instant::now();
        for n in 0..events as u64 {
            j.append_new(sample(n)).expect("append");
        }
        let wall = start.elapsed().as_secs_f64();
        single_j.push(events as f64 / wall);
        single_split.push(Counters::of(&j).since(&before, wall, events));
        let rows = rows_of(&j);
        drop(j);
        let (rate, commit) = raw_baseline(dir.path(), "single-raw.db", &rows, 1);
        single_r.push(rate);
        single_raw_commit.push(commit);

        // Group commit, 8 writers: without sealing ahead, then as devices run.
        let per_writer = events / WRITERS;
        let plain = Arc::new(open_with(dir.path(), "group-plain.db", false));
        let (rate, _, split) = group_run(&plain, per_writer);
        drop(plain);
        plain_j.push(rate);
        plain_split.push(split);
        let j = Arc::new(open(dir.path(), "group.db"));
        let (rate, batch, split) = group_run(&j, per_writer);
        let total = per_writer * WRITERS;
        let presealed = j.stats().presealed.load(Ordering::Relaxed);
        group_j.push(rate);
        group_split.push(split);
        batches.push(batch as f64);
        let rows = rows_of(&j);
        drop(j);
        let (rate, commit) = raw_baseline(dir.path(), "group-raw.db", &rows, batch);
        group_r.push(rate);
        group_raw_commit.push(commit);
        println!(
            "round {}: single {:.0}/s vs raw {:.0}/s; group {:.0}/s (without sealing ahead {:.0}/s) vs raw {:.0}/s (mean batch {batch}, {presealed} of {total} sealed while the batch before committed)",
            round + 1,
            single_j[round],
            single_r[round],
            group_j[round],
            plain_j[round],
            group_r[round]
        );
    }
    let (sj, sr, gj, gr) = (
        median(single_j),
        median(single_r),
        median(group_j),
        median(group_r),
    );
    println!();
    println!("| mode | journal events/s (median) | raw rusqlite events/s (median) | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| one event per commit | {sj:.0} | {sr:.0} | {:.0}% |",
        100.0 * sj / sr
    );
    println!(
        "| group commit, {WRITERS} writers (median batch {:.0}) | {gj:.0} | {gr:.0} | {:.0}% |",
        median(batches),
        100.0 * gj / gr
    );
    let pj = median(plain_j);
    println!(
        "| group commit, {WRITERS} writers, without sealing ahead | {pj:.0} | (same) | {:.0}% |",
        100.0 * pj / gr
    );
    let (sign, hash) = primitives();
    println!();
    println!(
        "per event, µs (medians): in the writer's batches = sealing + commit + answering + inserting; outside = callers and hand-offs"
    );
    for (mode, split) in [
        ("one event per commit", median_split(&single_split)),
        ("group commit", median_split(&group_split)),
        (
            "group commit without sealing ahead",
            median_split(&plain_split),
        ),
    ] {
        println!(
            "  {mode}: batches {:.1} (sealing {:.1}, commit {:.1}, answering callers {:.1}, inserting and the rest {:.1}); outside {:.1}",
            split.busy,
            split.seal,
            split.commit,
            split.answer,
            split.busy - split.seal - split.commit - split.answer,
            split.outside
        );
    }
    for (mode, rate, commit) in [
        ("one event per commit", sr, median(single_raw_commit)),
        ("group commit", gr, median(group_raw_commit)),
    ] {
        let total = 1e6 / rate;
        println!(
            "  raw rusqlite, {mode}: {total:.1} (commit {commit:.1}, inserting {:.1})",
            total - commit
        );
    }
    println!("  one ed25519 signature {sign:.1} µs, one SHA-256 of a ticket body {hash:.2} µs");
}
