//! `pass journal verify` over a journal of a million events: by default (every hash and link,
//! each origin's head signature) and with `--all-signatures` (every event's signature too).
//!
//! The journal is written once through the journal API (ticket and check events of a busy
//! kitchen, appended in batches) and kept in the target's temporary folder for later runs.
//! The timed part runs the `pass` binary, as a person would.
//!
//! `cargo bench -p pass-shared --bench verify` (PASS_BENCH_EVENTS, PASS_BENCH_ROUNDS). Prints
//! medians. Target: under 2 s by default for a million events.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use pass_shared::clock::SystemClock;
use pass_shared::event::{DeviceRole, Event};
use pass_shared::journal::{Journal, JournalOptions};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn event(n: usize) -> Event {
    let check = format!("c{}", n / 4);
    let ticket = format!("{check}/1/grill/1");
    let at_ms = 1_777_000_000_000 + n as i64 * 1_000;
    match n % 4 {
        0 => Event::TicketShown {
            check,
            ticket,
            at_ms,
        },
        1 => Event::TicketStarted { check, ticket },
        2 => Event::TicketBumped {
            check,
            ticket,
            at_ms,
        },
        _ => Event::CheckClosed { check },
    }
}

/// A journal of `events` events (the device's own first event included), made once.
fn journal(events: usize) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("verify-{events}.db"));
    let done = path.with_extension("done");
    if done.exists() {
        return path;
    }
    for p in [
        &path,
        &path.with_extension("db-wal"),
        &path.with_extension("db-shm"),
    ] {
        let _ = std::fs::remove_file(p);
    }
    let start = Instant::now();
    let journal = Journal::open(
        &path,
        JournalOptions::new(Arc::new(SystemClock), DeviceRole::KitchenScreen, "grill"),
    )
    .expect("open");
    let mut n = 1;
    while n < events {
        let batch: Vec<Event> = (n..events.min(n + 2_000)).map(event).collect();
        n += batch.len();
        journal.append_all(&batch).expect("append");
    }
    drop(journal);
    std::fs::write(&done, b"").expect("mark");
    println!(
        "wrote {events} events in {:.0} s",
        start.elapsed().as_secs_f64()
    );
    path
}

fn verify(path: &Path, all_signatures: bool) -> f64 {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pass"));
    cmd.args(["journal", "verify"]);
    if all_signatures {
        cmd.arg("--all-signatures");
    }
    let start = Instant::now();
    let out = cmd.arg(path).output().expect("run pass");
    let secs = start.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("OK: every chain intact"), "{text}");
    secs
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let events = env_or("PASS_BENCH_EVENTS", 1_000_000);
    let rounds = env_or("PASS_BENCH_ROUNDS", 3);
    let path = journal(events);
    println!("pass journal verify benchmark: {events} events, {rounds} rounds");
    let mut default = Vec::new();
    let mut all = Vec::new();
    for round in 0..rounds {
        default.push(verify(&path, false));
        all.push(verify(&path, true));
        println!(
            "round {}: default {:.2} s, --all-signatures {:.2} s",
            round + 1,
            default[round],
            all[round]
        );
    }
    println!();
    println!("| pass journal verify, {events} events | median |");
    println!("|---|---|");
    println!(
        "| default (hashes, links, head signatures) | {:.2} s |",
        median(default)
    );
    println!("| --all-signatures | {:.2} s |", median(all));
}
