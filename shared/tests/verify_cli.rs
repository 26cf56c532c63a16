//! `pass journal verify` against tampered copies of a journal holding several origins. Each
//! tamper goes through raw SQL with the append-only triggers dropped, as an attacker or a broken
//! tool would.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use pass_shared::journal::Journal;

struct Store {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    /// Origins of devices a, b, c.
    origins: Vec<String>,
}

/// Three devices, six events each, every journal holding every origin.
fn store() -> Store {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().to_path_buf();
    let devices: Vec<Journal> = ["a", "b", "c"].iter().map(|n| device(&path, n)).collect();
    for (i, d) in devices.iter().enumerate() {
        for n in 0..5 {
            d.append(&note(i as u64 * 10 + n)).expect("append");
        }
    }
    for from in &devices {
        for to in &devices {
            if from.origin() != to.origin() {
                sync(from, to);
            }
        }
    }
    let origins = devices.iter().map(|d| d.origin().to_string()).collect();
    drop(devices);
    Store {
        _dir: dir,
        dir: path,
        origins,
    }
}

fn copy(store: &Store, name: &str, as_name: &str) -> PathBuf {
    let to = store.dir.join(format!("{as_name}.db"));
    std::fs::copy(store.dir.join(format!("{name}.db")), &to).expect("copy");
    to
}

/// Opens a copy for tampering: the triggers that keep the journal append-only are dropped.
fn tamper(path: &Path, sql: &str, params: &[&dyn rusqlite::ToSql]) {
    let conn = rusqlite::Connection::open(path).expect("open");
    conn.execute_batch(
        "DROP TRIGGER IF EXISTS events_no_update; DROP TRIGGER IF EXISTS events_no_delete;",
    )
    .expect("drop triggers");
    let changed = conn.execute(sql, params).expect("tamper");
    assert!(changed > 0, "the tamper changed nothing: {sql}");
}

fn verify(dbs: &[&Path], extra: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pass"))
        .args(["journal", "verify"])
        .args(extra)
        .args(dbs)
        .output()
        .expect("run pass");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn untouched_copies_verify() {
    let s = store();
    let (ok, text) = verify(
        &[
            &s.dir.join("a.db"),
            &s.dir.join("b.db"),
            &s.dir.join("c.db"),
        ],
        &["--all-signatures"],
    );
    assert!(ok, "{text}");
    assert!(text.contains("OK: every chain intact"), "{text}");
    assert!(
        text.contains("18 events"),
        "each journal holds all three origins: {text}"
    );
}

#[test]
fn one_changed_payload_byte_is_named_by_origin_and_seq() {
    let s = store();
    let b = &s.origins[1];
    let p = copy(&s, "a", "changed-byte");
    // One character of b's seq 4 payload: "test event 12" becomes "test event 13".
    tamper(
        &p,
        "UPDATE events SET body = replace(body, 'test event 12', 'test event 13') WHERE origin = ?1 AND seq = 4",
        &[b],
    );
    let (ok, text) = verify(&[&p], &[]);
    assert!(!ok, "{text}");
    assert!(
        text.contains(&format!(
            "BROKEN {}: origin {b} seq 4: hash does not match",
            p.display()
        )),
        "{text}"
    );
}

#[test]
fn a_deleted_middle_event_is_named() {
    let s = store();
    let c = &s.origins[2];
    let p = copy(&s, "a", "deleted");
    tamper(&p, "DELETE FROM events WHERE origin = ?1 AND seq = 3", &[c]);
    let (ok, text) = verify(&[&p], &[]);
    assert!(!ok, "{text}");
    assert!(
        text.contains(&format!("origin {c} seq 3: event missing")),
        "{text}"
    );
}

#[test]
fn two_swapped_seqs_are_named() {
    let s = store();
    let a = &s.origins[0];
    let p = copy(&s, "b", "swapped");
    tamper(
        &p,
        "UPDATE events SET seq = 1000 WHERE origin = ?1 AND seq = 2",
        &[a],
    );
    tamper(
        &p,
        "UPDATE events SET seq = 2 WHERE origin = ?1 AND seq = 5",
        &[a],
    );
    tamper(
        &p,
        "UPDATE events SET seq = 5 WHERE origin = ?1 AND seq = 1000",
        &[a],
    );
    let (ok, text) = verify(&[&p], &[]);
    assert!(!ok, "{text}");
    assert!(
        text.contains(&format!("origin {a} seq 2: the stored row says")),
        "{text}"
    );
}

#[test]
fn a_journal_cut_short_passes_alone_and_fails_beside_a_peer_copy() {
    let s = store();
    let a = &s.origins[0];
    let p = copy(&s, "a", "cut-short");
    tamper(&p, "DELETE FROM events WHERE origin = ?1 AND seq > 4", &[a]);
    let (ok, text) = verify(&[&p], &["--all-signatures"]);
    assert!(ok, "a shorter chain is still intact on its own: {text}");
    let peer = s.dir.join("b.db");
    let (ok, text) = verify(&[&p, &peer], &[]);
    assert!(!ok, "{text}");
    assert!(
        text.contains(&format!(
            "CUT SHORT {}: its own origin {a} ends at seq 4",
            p.display()
        )),
        "{text}"
    );
    assert!(text.contains("up to seq 6"), "{text}");
}

#[test]
fn ordinary_replication_lag_is_reported_but_not_a_failure() {
    let s = store();
    let c = &s.origins[2];
    let p = copy(&s, "b", "lagging");
    // b has not yet received c's last two events: lag, not damage.
    tamper(&p, "DELETE FROM events WHERE origin = ?1 AND seq > 4", &[c]);
    let (ok, text) = verify(&[&p, &s.dir.join("c.db")], &[]);
    assert!(ok, "{text}");
    assert!(
        text.contains(&format!(
            "LAG {}: origin {c} at seq 4, another copy has 6",
            p.display()
        )),
        "{text}"
    );
}

#[test]
fn a_missing_file_is_a_clear_failure() {
    let (ok, text) = verify(&[Path::new("/nonexistent/pass.db")], &[]);
    assert!(!ok);
    assert!(
        text.contains("UNREADABLE /nonexistent/pass.db: no such file"),
        "{text}"
    );
}
