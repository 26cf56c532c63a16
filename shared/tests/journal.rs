//! The store journal's behaviour: chain, signatures, idempotent apply, held events, forks,
//! catching up before writing, and clean failure when the disk is full.

mod common;

use common::*;
use pass_shared::journal::{Applied, Journal, JournalError, verify};
use proptest::prelude::*;

#[test]
fn appends_are_gapless_chained_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tmp");
    let origin;
    {
        let j = device(dir.path(), "bar");
        origin = j.origin().clone();
        for n in 0..5 {
            let c = j.append(&note(n)).expect("append");
            assert_eq!(c.seq, n + 2, "seq 1 is the device's first event");
        }
    }
    let j = device(dir.path(), "bar");
    assert_eq!(j.origin(), &origin, "reopening keeps the origin");
    let c = j.append(&note(9)).expect("append after restart");
    assert_eq!(c.seq, 7);
    let events = j.all_events().expect("read");
    assert_eq!(events.len(), 7);
    for pair in events.windows(2) {
        assert_eq!(
            pair[1].prev(),
            pair[0].hash(),
            "each event links to the one before"
        );
    }
    let report = verify::verify(&[db_path(dir.path(), "bar")], true);
    assert!(report.ok(), "{:?}", report.findings);
}

#[test]
fn applying_from_peers_is_idempotent_and_out_of_order_events_wait() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = device(dir.path(), "a");
    let b = device(dir.path(), "b");
    for n in 0..4 {
        a.append(&note(n)).expect("append");
    }
    let mut events = a.all_events().expect("read");
    events.reverse(); // newest first: everything but the first event must wait
    let (report, outcomes) = b.apply_each(bytes(&events)).expect("apply");
    assert_eq!(
        outcomes.last(),
        Some(&Applied::Accepted),
        "the first event arrives last"
    );
    assert_eq!(report.held, 4);
    assert_eq!(
        report.released, 4,
        "the held events are released once their predecessor arrives"
    );
    assert_eq!(b.heads().expect("heads")[a.origin()].seq, 5);
    let again = b.apply(bytes(&events)).expect("apply again");
    assert_eq!(again.duplicates, 5, "a second delivery changes nothing");
    assert_eq!(again.accepted + again.held + again.released, 0);
    assert_eq!(
        contents(&b).len(),
        5 + 1,
        "a's five events and b's own first event"
    );
}

#[test]
fn an_event_re_signed_with_another_key_is_set_aside() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = device(dir.path(), "a");
    let mallory = device(dir.path(), "mallory");
    let b = device(dir.path(), "b");
    a.append(&note(1)).expect("append");
    let events = a.all_events().expect("read");
    // Mallory signs a's second event with her own key: same bytes, foreign signature.
    let forged_sig = {
        use ed25519_dalek::Signer;
        let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        hex::encode(key.sign(events[1].hash()).to_bytes())
    };
    let forged = events[1]
        .to_json()
        .replace(&hex::encode(events[1].sig()), &forged_sig);
    let (report, outcomes) = b
        .apply_each(vec![events[0].to_json().into_bytes(), forged.into_bytes()])
        .expect("apply");
    assert_eq!(report.accepted, 1);
    assert!(
        matches!(&outcomes[1], Applied::SetAside(r) if r.contains("signature")),
        "{outcomes:?}"
    );
    assert_eq!(b.set_aside_count().expect("count"), 1);
    assert_eq!(
        b.heads().expect("heads")[a.origin()].seq,
        1,
        "nothing entered in a's name"
    );
    drop(mallory);
}

#[test]
fn malformed_and_oversized_messages_are_set_aside_and_change_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let b = device(dir.path(), "b");
    let before = contents(&b);
    let huge = format!("{{\"body\":\"{}\"}}", "x".repeat(300_000));
    let junk = vec![
        b"not json".to_vec(),
        br#"{"body":{"v":1}}"#.to_vec(),
        huge.into_bytes(),
        vec![0xff, 0xfe],
    ];
    let report = b.apply(junk).expect("apply");
    assert_eq!(report.set_aside, 4);
    assert_eq!(contents(&b), before);
    b.append(&note(1)).expect("the device keeps working");
}

#[test]
fn a_fork_is_raised_and_both_versions_are_kept() {
    let dir = tempfile::tempdir().expect("tmp");
    let a_path = db_path(dir.path(), "a");
    let origin;
    {
        let a = device(dir.path(), "a");
        origin = a.origin().clone();
        a.append(&note(1)).expect("append");
    }
    // A restored copy of the same device writes its own seq 3.
    let copy_path = db_path(dir.path(), "a-copy");
    std::fs::copy(&a_path, &copy_path).expect("copy");
    let a = Journal::open(&a_path, options("a")).expect("open");
    let copy = Journal::open(&copy_path, options("a")).expect("open copy");
    assert_eq!(copy.origin(), &origin);
    a.append(&note(2)).expect("a writes seq 3");
    copy.append(&note(3))
        .expect("the copy writes another seq 3");
    let b = device(dir.path(), "b");
    sync(&a, &b);
    let report = b
        .apply(bytes(&copy.all_events().expect("read")))
        .expect("apply");
    assert_eq!(report.forks, 1);
    assert_eq!(b.forks().expect("forks"), vec![(origin.clone(), 3)]);
    let versions = b.events_after(&origin, 2, 10).expect("read");
    assert_eq!(versions.len(), 2, "both versions of seq 3 are kept");
    assert_ne!(versions[0].hash(), versions[1].hash());
    let verdict = verify::verify(&[db_path(dir.path(), "b")], false);
    assert!(
        verdict
            .findings
            .iter()
            .any(|f| f.to_string().contains("FORK") && f.to_string().contains("seq 3")),
        "{:?}",
        verdict.findings
    );
}

#[test]
fn a_restored_journal_catches_up_before_writing_under_its_own_origin() {
    let dir = tempfile::tempdir().expect("tmp");
    let a_path = db_path(dir.path(), "a");
    let backup = db_path(dir.path(), "a-backup");
    let peer = device(dir.path(), "peer");
    {
        let a = device(dir.path(), "a");
        a.append(&note(1)).expect("append");
        drop(a);
        std::fs::copy(&a_path, &backup).expect("backup");
        let a = Journal::open(&a_path, options("a")).expect("reopen");
        a.append(&note(2)).expect("append");
        a.append(&note(3)).expect("append");
        sync(&a, &peer);
    }
    // The device is restored from the backup: it holds seq 1–2; the peer shows seq 4.
    std::fs::remove_file(&a_path).expect("remove");
    std::fs::copy(&backup, &a_path).expect("restore");
    let a = Journal::open(&a_path, options("a")).expect("open restored");
    let peer_head = peer.heads().expect("heads")[a.origin()].seq;
    assert_eq!(peer_head, 4);
    a.note_peer_head(a.origin(), peer_head).expect("note");
    match a.append(&note(4)) {
        Err(JournalError::BehindPeer {
            local_seq: 2,
            peer_seq: 4,
        }) => {}
        other => panic!("a restored journal must not write before catching up: {other:?}"),
    }
    sync(&peer, &a);
    let c = a.append(&note(4)).expect("writes once caught up");
    assert_eq!(c.seq, 5, "it continues the chain instead of forking it");
    assert!(a.forks().expect("forks").is_empty());
}

#[test]
fn a_full_disk_fails_the_append_cleanly_and_the_journal_still_verifies() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = db_path(dir.path(), "small");
    let mut opts = options("small");
    opts.max_db_pages = Some(40);
    let j = Journal::open(&path, opts).expect("open");
    let big = format!(
        r#"{{"origin":"0000000000000000","reason":"{}"}}"#,
        "r".repeat(3_000)
    );
    let mut committed = 0;
    let err = loop {
        match j.append_new(raw("device_retired", &big)) {
            Ok(_) => committed += 1,
            Err(e) => break e,
        }
        assert!(committed < 10_000, "the size limit never took effect");
    };
    assert!(matches!(err, JournalError::DiskFull), "{err:?}");
    assert!(err.to_string().contains("disk is full"));
    let heads = j.heads().expect("heads");
    assert_eq!(
        heads[j.origin()].seq,
        committed + 1,
        "nothing half-written, no seq lost"
    );
    drop(j);
    let report = verify::verify(&[path], true);
    assert!(report.ok(), "{:?}", report.findings);
}

#[test]
fn an_unknown_field_survives_a_device_that_does_not_know_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let newer = device(dir.path(), "newer");
    let older = device(dir.path(), "older");
    let third = device(dir.path(), "third");
    // Odd spacing and key order on purpose: the bytes must come through untouched.
    let payload = r#"{ "reason":"wobbly leg",  "origin":"00000000000000aa", "seat_map": {"x": [1, 2.50, "é"]} }"#;
    let c = newer
        .append_new(raw("device_retired", payload))
        .expect("append");
    let unknown = newer
        .append_new(raw("table_reserved", r#"{"table":"T4","at":"19:30"}"#))
        .expect("append");
    sync(&newer, &older);
    sync(&older, &third); // reaches the third device only through the older one
    for (seq, hash) in [(c.seq, c.hash), (unknown.seq, unknown.hash)] {
        let got = third
            .events_after(newer.origin(), seq - 1, 1)
            .expect("read");
        assert_eq!(
            got[0].hash(),
            &hash,
            "hash unchanged after passing through an older device"
        );
        assert!(got[0].hash_ok());
    }
    let original = newer.all_events().expect("read");
    let forwarded = third.events_after(newer.origin(), 0, 100).expect("read");
    let bodies = |v: &[pass_shared::journal::Envelope]| {
        v.iter().map(|e| e.body().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(bodies(&original), bodies(&forwarded));
    assert!(
        forwarded[1].body().contains(payload),
        "payload bytes kept exactly"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn unknown_fields_round_trip_with_their_hash(
        field in "[a-z_]{1,12}",
        value in prop_oneof![any::<i64>().prop_map(|n| n.to_string()), "[a-zA-Z0-9 ]{0,20}".prop_map(|s| format!("\"{s}\""))],
        spaces in " {0,3}",
    ) {
        let dir = tempfile::tempdir().expect("tmp");
        let newer = device(dir.path(), "newer");
        let older = device(dir.path(), "older");
        let payload = format!(r#"{{"origin":"0000000000000001",{spaces}"reason":"x","{field}_new":{spaces}{value}}}"#);
        let c = newer.append_new(raw("device_retired", &payload)).expect("append");
        sync(&newer, &older);
        let exported = older.events_after(newer.origin(), c.seq - 1, 1).expect("read");
        prop_assert_eq!(exported[0].hash(), &c.hash);
        prop_assert!(exported[0].body().contains(&payload));
    }

    /// Any arrival order, with duplicates, gives the same journal as in-order, once-only delivery.
    #[test]
    fn any_arrival_order_gives_the_same_journal(
        counts in proptest::collection::vec(1usize..8, 3),
        order in proptest::collection::vec(any::<prop::sample::Index>(), 0..60),
        dups in proptest::collection::vec(any::<prop::sample::Index>(), 0..20),
    ) {
        let dir = tempfile::tempdir().expect("tmp");
        let origins: Vec<Journal> = counts
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let j = device(dir.path(), &format!("o{i}"));
                for k in 0..*n {
                    j.append(&note(k as u64)).expect("append");
                }
                j
            })
            .collect();
        let mut all = Vec::new();
        for j in &origins {
            all.extend(bytes(&j.all_events().expect("read")));
        }
        let in_order = device(dir.path(), "in-order");
        in_order.apply(all.clone()).expect("apply");

        let mut shuffled = all.clone();
        for (i, idx) in order.iter().enumerate() {
            let len = shuffled.len();
            shuffled.swap(i % len, idx.index(len));
        }
        for idx in &dups {
            let pick = shuffled[idx.index(shuffled.len())].clone();
            shuffled.push(pick);
        }
        let shuffled_dev = device(dir.path(), "shuffled");
        // Delivered in small pieces, as messages would arrive.
        for chunk in shuffled.chunks(3) {
            shuffled_dev.apply(chunk.to_vec()).expect("apply");
        }
        let strip_own = |j: &Journal| -> Vec<String> {
            contents(j).into_iter().filter(|l| !l.starts_with(j.origin().as_str())).collect()
        };
        prop_assert_eq!(strip_own(&in_order), strip_own(&shuffled_dev));
        let heads = |j: &Journal| {
            let mut h = j.heads().expect("heads");
            h.remove(j.origin());
            h
        };
        prop_assert_eq!(heads(&in_order), heads(&shuffled_dev));
        for (j, n) in origins.iter().zip(&counts) {
            prop_assert_eq!(heads(&shuffled_dev)[j.origin()].seq, *n as u64 + 1);
        }
    }
}

#[test]
fn group_commit_answers_every_concurrent_caller_with_a_distinct_seq() {
    let dir = tempfile::tempdir().expect("tmp");
    let j = std::sync::Arc::new(device(dir.path(), "busy"));
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let j = std::sync::Arc::clone(&j);
            std::thread::spawn(move || {
                (0..50)
                    .map(|n| j.append(&note(t * 100 + n)).expect("append").seq)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut seqs: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("thread"))
        .collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (2..=401).collect::<Vec<_>>(),
        "gapless, no seq given twice"
    );
    let stats = j.stats();
    let commits = stats.commits.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        commits < 400,
        "concurrent appends share commits ({commits} commits for 400 events)"
    );
    // Events sealed ahead by waiting callers and those sealed by the writer make one chain, and
    // every event's own signature verifies.
    drop(j);
    let report = verify::verify(&[db_path(dir.path(), "busy")], true);
    assert!(report.ok(), "{:?}", report.findings);
}

#[test]
fn one_process_owns_a_journal() {
    let dir = tempfile::tempdir().expect("tmp");
    let first = device(dir.path(), "owned");
    match Journal::open(db_path(dir.path(), "owned"), options("owned")) {
        Err(JournalError::InUse(_)) => {}
        other => panic!("a second owner must be refused: {other:?}"),
    }
    drop(first);
    Journal::open(db_path(dir.path(), "owned"), options("owned")).expect("free again once closed");
}

/// A projection that refuses one event kind, so a batch can fail half-way through.
struct RefuseKind(&'static str);

impl pass_shared::journal::Projector for RefuseKind {
    fn on_event(
        &mut self,
        _db: &rusqlite::Connection,
        ev: &pass_shared::journal::AcceptedEvent<'_>,
    ) -> rusqlite::Result<()> {
        if ev.header.kind == self.0 {
            return Err(rusqlite::Error::InvalidQuery);
        }
        Ok(())
    }
}

#[test]
fn append_all_writes_every_event_in_one_commit_or_none_of_them() {
    use pass_shared::event::Event;
    let dir = tempfile::tempdir().expect("tmp");
    let j = Journal::open_with(
        db_path(dir.path(), "inbox"),
        options("inbox"),
        vec![Box::new(RefuseKind("clocked_out"))],
    )
    .expect("open journal");
    let commits = |j: &Journal| j.stats().commits.load(std::sync::atomic::Ordering::Relaxed);

    let before = commits(&j);
    let all = j
        .append_all(&[note(1), note(2), note(3)])
        .expect("append all");
    assert_eq!(
        all.iter().map(|c| c.seq).collect::<Vec<_>>(),
        [2, 3, 4],
        "in order, after the device's first event"
    );
    assert_eq!(commits(&j), before + 1, "one commit for the three");

    // The second event of this batch cannot be written: the first is undone with it.
    let clock_in = Event::ClockedIn {
        staff: "maria".into(),
    };
    let clock_out = Event::ClockedOut {
        staff: "maria".into(),
    };
    let held = contents(&j);
    assert!(j.append_all(&[clock_in.clone(), clock_out]).is_err());
    assert_eq!(
        contents(&j),
        held,
        "nothing of the failed batch was written"
    );
    assert_eq!(j.heads().expect("heads")[j.origin()].seq, 4);
    // The chain goes on from the last event written, not from the undone one.
    assert_eq!(j.append(&clock_in).expect("append").seq, 5);
    let report = verify::verify(&[db_path(dir.path(), "inbox")], true);
    assert!(report.ok(), "{:?}", report.findings);
}
