//! Replication across real processes: a real Mosquitto on a loopback port of the test's own,
//! real device processes (`pass device run`), each with its own database, faults injected by
//! SIGKILL. Tests wait for outcomes with a generous limit and never assert timings.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use pass_shared::net::protocol::v1::{MAX_MESSAGE_BYTES, MAX_PACKET_BYTES};
use pass_tests::{
    Device, DeviceSpec, Mosquitto, PATIENCE, Role, TEST_STORE, all_see_each_other, assert_verified,
    check_opened, converged, gated_burst, heads_of, own_heads, pass, peers_of, wait_all_confirmed,
    wait_converged, wait_until,
};
use serde_json::{Value, json};

/// Appends `count` `check_opened` events on `device` (check ids unique per device); returns the
/// last seq. Counts each committed append in `done`. After its `n`th append a burst waits at each
/// gate `(n, flag)` until the flag is up, so a fault lands at a known point of the burst while the
/// other appends go on.
fn burst(
    device: &Device,
    from: u64,
    count: u64,
    done: &AtomicU64,
    gates: &[(u64, &AtomicBool)],
) -> u64 {
    let groups = (from..from + count).map(|i| {
        let check = format!("{}-c{i}", device.id());
        vec![check_opened(&check, &format!("{}{i}", device.id()))]
    });
    gated_burst(device, groups, done, gates)
}

fn appended(device: &Device, from: u64, count: u64) -> u64 {
    burst(device, from, count, &AtomicU64::new(0), &[])
}

#[test]
fn events_appended_on_one_device_reach_the_other() {
    let broker = Mosquitto::start();
    let t1 = Device::start("t1", Role::OrderTerminal, &broker);
    let grill = Device::start("grill", Role::KitchenScreen, &broker);
    assert_eq!(t1.status()["device"], "t1");
    assert_eq!(t1.origin().len(), 16, "{}", t1.origin());
    assert_ne!(t1.origin(), grill.origin());
    assert!(
        wait_until(PATIENCE, || all_see_each_other(&[&t1, &grill])),
        "peers: {} / {}",
        t1.status(),
        grill.status()
    );

    let last = appended(&t1, 1, 20);
    let expected = BTreeMap::from([
        (t1.origin().to_owned(), last),
        (grill.origin().to_owned(), grill.heads()[grill.origin()]),
    ]);
    wait_converged(&[&t1, &grill], &expected);
    wait_all_confirmed(&[&t1, &grill]);
    assert_eq!(t1.status()["connected"], true);
    assert_eq!(grill.status()["cut_off_since"], Value::Null);
    assert_verified(&[&t1, &grill]);
}

#[test]
fn a_broker_killed_mid_burst_loses_nothing_and_doubles_nothing() {
    let mut broker = Mosquitto::start();
    let t1 = Device::start("t1", Role::OrderTerminal, &broker);
    let t2 = Device::start("t2", Role::OrderTerminal, &broker);
    let grill = Device::start("grill", Role::KitchenScreen, &broker);
    let all = [&t1, &t2, &grill];
    assert!(wait_until(PATIENCE, || all_see_each_other(&all)));

    // Two terminals append 250 events each. The broker is SIGKILLed once 80 are committed, while
    // the appends go on (each terminal waits after its 50th until the kill has happened), and
    // restarted on the same port once 380 are, again mid-burst (each waits after its 200th until
    // it is back): 300 events are committed while the broker is down.
    let done = AtomicU64::new(0);
    let killed = AtomicBool::new(false);
    let restarted = AtomicBool::new(false);
    let gates = [(50, &killed), (200, &restarted)];
    let (last1, last2) = std::thread::scope(|s| {
        let a = s.spawn(|| burst(&t1, 1, 250, &done, &gates));
        let b = s.spawn(|| burst(&t2, 1, 250, &done, &gates));
        let reached = |n: u64| wait_until(PATIENCE, || done.load(Ordering::SeqCst) >= n);
        assert!(reached(80), "appends stalled before the kill");
        broker.kill();
        killed.store(true, Ordering::SeqCst);
        assert!(
            reached(380),
            "appends must go on while the broker is down (a commit is local)"
        );
        broker.restart();
        restarted.store(true, Ordering::SeqCst);
        (a.join().expect("t1 burst"), b.join().expect("t2 burst"))
    });
    assert_eq!(done.load(Ordering::SeqCst), 500);

    let mut expected = own_heads(&all);
    assert_eq!(expected[t1.origin()], last1);
    assert_eq!(expected[t2.origin()], last2);
    wait_converged(&all, &expected);
    wait_all_confirmed(&all);
    // Nothing more arrives later: the heads stay as they are.
    expected = own_heads(&all);
    assert_eq!(expected[t1.origin()], last1);
    assert_eq!(expected[t2.origin()], last2);
    converged(&all, &expected).expect("still converged");
    assert_verified(&all);
}

#[test]
fn a_device_killed_mid_burst_and_restarted_catches_up() {
    let broker = Mosquitto::start();
    let t1 = Device::start("t1", Role::OrderTerminal, &broker);
    let mut grill = Device::start("grill", Role::KitchenScreen, &broker);
    assert!(wait_until(PATIENCE, || all_see_each_other(&[&t1, &grill])));
    let last = appended(&t1, 1, 30);
    wait_converged(&[&t1, &grill], &own_heads(&[&t1, &grill]));
    let grill_origin = grill.origin().to_owned();
    assert_eq!(grill.heads()[t1.origin()], last);

    // The grill is SIGKILLed after 50 of 300 events while the terminal goes on appending (it
    // waits after its 100th until the kill has happened), and restarted after 200, again
    // mid-burst (the terminal waits after its 250th until the grill answers).
    let done = AtomicU64::new(0);
    let killed = AtomicBool::new(false);
    let restarted = AtomicBool::new(false);
    let gates = [(100, &killed), (250, &restarted)];
    let last = std::thread::scope(|s| {
        let a = s.spawn(|| burst(&t1, 31, 300, &done, &gates));
        assert!(wait_until(PATIENCE, || done.load(Ordering::SeqCst) >= 50));
        grill.kill();
        killed.store(true, Ordering::SeqCst);
        assert!(
            grill.try_status().is_err(),
            "a killed device does not answer"
        );
        assert!(wait_until(PATIENCE, || done.load(Ordering::SeqCst) >= 200));
        grill.restart();
        restarted.store(true, Ordering::SeqCst);
        a.join().expect("t1 burst")
    });
    assert_eq!(
        grill.origin(),
        grill_origin,
        "a restarted device keeps its journal and origin"
    );

    let expected = own_heads(&[&t1, &grill]);
    assert_eq!(expected[t1.origin()], last);
    wait_converged(&[&t1, &grill], &expected);
    wait_all_confirmed(&[&t1, &grill]);
    assert_verified(&[&t1, &grill]);
    // What it missed while down was published before it came back (clean sessions keep nothing
    // for it at the broker): it came back through the pull path.
    let status = grill.status();
    let by_pull = status["received_by_pull"]
        .as_u64()
        .expect("received_by_pull");
    assert!(by_pull > 0, "nothing came back by pull: {status}");
    assert!(
        status["received_live"].as_u64().is_some(),
        "received_live: {status}"
    );

    // Killed again while nothing happens, it comes back and stays converged.
    grill.restart();
    wait_converged(&[&t1, &grill], &expected);
    assert_verified(&[&t1, &grill]);
}

#[test]
fn a_terminal_aborted_between_commit_and_publish_sends_that_event_after_restart() {
    const ABORT_AT: u64 = 5;
    let broker = Mosquitto::start();
    let mut t1 = Device::start_spec(
        DeviceSpec::new("t1", Role::OrderTerminal, &broker.url())
            .env("PASS_FAULT", &format!("abort-after-commit:{ABORT_AT}")),
    );
    let grill = Device::start("grill", Role::KitchenScreen, &broker);
    let expo = Device::start("expo", Role::KitchenScreen, &broker);
    assert!(wait_until(PATIENCE, || all_see_each_other(&[
        &t1, &grill, &expo
    ])));
    let t1_origin = t1.origin().to_owned();

    // The first appends are answered and published live.
    let before = appended(&t1, 1, ABORT_AT - 1);
    let screens = [&grill, &expo];
    assert!(
        wait_until(PATIENCE, || screens
            .iter()
            .all(|d| d.heads().get(&t1_origin) == Some(&before))),
        "the screens never got t1's first events"
    );

    // The next one is committed, and the process dies before answering or publishing it.
    let refused = t1.try_append(&check_opened("t1-c-aborted", "A99"));
    assert!(
        refused.is_err(),
        "the aborting append got an answer: {refused:?}"
    );
    assert!(wait_until(PATIENCE, || !t1.is_running()), "t1 did not die");
    assert!(
        t1.log().contains("PASS_FAULT: aborting after append"),
        "the abort is logged: {}",
        t1.log()
    );
    for d in screens {
        assert_eq!(
            d.heads().get(&t1_origin),
            Some(&before),
            "{}: nothing after the aborted commit was published",
            d.id()
        );
    }

    // Restarted without the hook, its journal holds the event, and it reaches everyone once.
    t1.spec_mut().env.retain(|(key, _)| key != "PASS_FAULT");
    t1.restart();
    assert_eq!(t1.origin(), t1_origin);
    let aborted = before + 1;
    assert_eq!(
        t1.heads().get(&t1_origin),
        Some(&aborted),
        "the event was committed before the abort"
    );
    let all = [&t1, &grill, &expo];
    let expected = own_heads(&all);
    assert_eq!(expected[&t1_origin], aborted);
    wait_converged(&all, &expected);
    wait_all_confirmed(&all);
    assert_verified(&all);
    for d in screens {
        let status = d.status();
        assert!(
            status["received_by_pull"].as_u64() > Some(0),
            "{}: the event never published live came by pull: {status}",
            d.id()
        );
    }

    // New events flow as before, and everything is still there once.
    let last = appended(&t1, ABORT_AT + 1, 5);
    let expected = own_heads(&all);
    assert_eq!(expected[&t1_origin], last);
    wait_converged(&all, &expected);
    assert_verified(&all);
    let (_, shown) = pass(&["journal", "show", &grill.db().display().to_string()]);
    assert_eq!(
        shown.matches("t1-c-aborted").count(),
        1,
        "the aborted event is in the grill's journal once: {shown}"
    );
}

#[test]
fn a_device_whose_peers_all_stop_reports_itself_cut_off_until_one_returns() {
    let broker = Mosquitto::start();
    let grill = Device::start("grill", Role::KitchenScreen, &broker);
    let mut t1 = Device::start("t1", Role::OrderTerminal, &broker);
    let mut t2 = Device::start("t2", Role::OrderTerminal, &broker);
    assert!(wait_until(PATIENCE, || all_see_each_other(&[
        &grill, &t1, &t2
    ])));
    assert!(
        wait_until(PATIENCE, || grill.status()["cut_off_since"].is_null()),
        "{}",
        grill.status()
    );

    // One peer dies without a word, the other stops cleanly; the broker stays up.
    t1.kill();
    t2.stop();
    let mut last = Value::Null;
    let cut_off = wait_until(PATIENCE, || {
        last = grill.status();
        last["cut_off_since"].is_number()
    });
    assert!(cut_off, "never reported cut off: {last}");
    assert!(
        peers_of(&last).is_empty(),
        "cut off means no peer heard: {last}"
    );
    assert_eq!(last["connected"], true, "the broker is still there: {last}");

    // Cut off, it keeps working: it answers and its own appends commit.
    let grill_origin = grill.origin().to_owned();
    let before = grill.heads()[&grill_origin];
    // A kitchen screen's own event: a manager 86es an item on it.
    let seq = grill.append(&json!({
        "kind": "item_eighty_sixed",
        "payload": {"item": "classic_burger", "reason": "out of buns"}
    }));
    assert!(seq > before);
    assert!(grill.status()["cut_off_since"].is_number());

    t1.restart();
    let mut last = Value::Null;
    let back = wait_until(PATIENCE, || {
        last = grill.status();
        last["cut_off_since"].is_null() && peers_of(&last).iter().any(|p| p == "t1")
    });
    assert!(back, "still cut off with t1 back: {last}");

    // What it wrote while cut off reaches the peer that returned, and new events flow.
    let last_t1 = appended(&t1, 1, 5);
    let expected = BTreeMap::from([
        (grill_origin.clone(), seq),
        (t1.origin().to_owned(), last_t1),
    ]);
    let mut both = String::new();
    let ok = wait_until(PATIENCE, || {
        let g = grill.heads();
        let t = t1.heads();
        both = format!("grill {g:?} / t1 {t:?}");
        expected
            .iter()
            .all(|(o, s)| g.get(o) == Some(s) && t.get(o) == Some(s))
    });
    assert!(ok, "{both}");
}

#[test]
fn malformed_and_oversized_messages_are_set_aside_and_every_device_keeps_working() {
    let broker = Mosquitto::start();
    let t1 = Device::start("t1", Role::OrderTerminal, &broker);
    let grill = Device::start("grill", Role::KitchenScreen, &broker);
    let all = [&t1, &grill];
    assert!(wait_until(PATIENCE, || all_see_each_other(&all)));
    appended(&t1, 1, 10);
    wait_converged(&all, &own_heads(&all));

    let stranger = "00112233deadbeef";
    let ev = |origin: &str| format!("pass/v1/{TEST_STORE}/ev/{origin}");
    let (_, shown) = pass(&["journal", "show", &t1.db().display().to_string()]);
    let newest: Value = serde_json::from_str(shown.lines().last().expect("t1 has events"))
        .expect("an envelope per line");
    let next_seq = newest["body"]["seq"].as_u64().expect("seq") + 1;
    // A well-shaped envelope in t1's name at its next seq, with a payload it never wrote: the
    // hash and signature cannot match, so it is set aside and the real one still gets in.
    let mut forged = newest.clone();
    forged["body"]["seq"] = json!(next_seq);
    forged["prev"] = newest["hash"].clone();
    forged["body"]["payload"]["server"] = json!("mallory");

    let oversized = {
        // Valid JSON of the right shape, over the devices' message limit but under the
        // broker's packet limit, so the broker relays it and the devices must refuse it.
        let head = format!(r#"{{"v":1,"type":"events","origin":"{stranger}","events":[],"pad":""#);
        let tail = r#""}"#;
        let pad = MAX_MESSAGE_BYTES + 1024 - head.len() - tail.len();
        format!("{head}{}{tail}", "x".repeat(pad)).into_bytes()
    };
    assert!(oversized.len() > MAX_MESSAGE_BYTES && oversized.len() + 256 < MAX_PACKET_BYTES);
    let bad: Vec<(String, Vec<u8>)> = vec![
        (ev(t1.origin()), b"this is not json".to_vec()),
        (ev(stranger), vec![0xff, 0xfe, 0x00, 0x01, 0x80]),
        (
            ev(stranger),
            format!(r#"{{"v":1,"type":"events","origin":"{stranger}","events":[{{"body":1}}]}}"#)
                .into_bytes(),
        ),
        (
            ev(stranger),
            format!(r#"{{"v":1,"type":"events","origin":"{stranger}","events":["#).into_bytes(),
        ),
        (
            ev(t1.origin()),
            json!({"v": 1, "type": "events", "origin": t1.origin(), "events": [forged]})
                .to_string()
                .into_bytes(),
        ),
        (ev(stranger), oversized),
    ];
    for (topic, payload) in &bad {
        let (ok, out) = broker.publish(topic, payload);
        assert!(ok, "{topic} ({} bytes): {out}", payload.len());
    }
    // Over the broker's packet limit: Mosquitto itself refuses it (max_packet_size).
    let (ok, _) = broker.publish(&ev(stranger), &vec![b'x'; MAX_PACKET_BYTES + 1]);
    assert!(!ok, "the broker refuses a packet over its limit");

    // Every device still answers, and later events still flow both ways.
    for d in all {
        let status = d.status();
        assert!(
            !heads_of(&status).contains_key(stranger),
            "nothing of an unknown origin got in: {status}"
        );
    }
    let last = appended(&t1, 11, 10);
    assert!(
        last > next_seq,
        "the real event at the forged seq was written"
    );
    let seq = grill.append(&json!({
        "kind": "item_eighty_sixed",
        "payload": {"item": "classic_burger", "reason": "out of buns"}
    }));
    let expected = own_heads(&all);
    assert_eq!(expected[t1.origin()], last);
    assert_eq!(expected[grill.origin()], seq);
    wait_converged(&all, &expected);
    wait_all_confirmed(&all);
    assert_verified(&all);
    for d in all {
        let log = d.log();
        assert!(
            log.contains("set aside"),
            "{}: a bad message is logged: {log}",
            d.id()
        );
        assert!(!log.contains("panicked"), "{}: {log}", d.id());
    }
    // The forged payload is nowhere in any journal.
    for d in all {
        let (_, shown) = pass(&["journal", "show", &d.db().display().to_string()]);
        assert!(!shown.contains("mallory"), "{}: {shown}", d.id());
    }
}

#[test]
fn a_device_on_a_manual_clock_stamps_events_with_it_and_others_refuse_clock_commands() {
    let broker = Mosquitto::start();
    let start_ms: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
    let t1 = Device::start_spec(
        DeviceSpec::new("t1", Role::OrderTerminal, &broker.url()).manual_clock(start_ms),
    );
    let grill = Device::start("grill", Role::KitchenScreen, &broker);
    assert!(wait_until(PATIENCE, || all_see_each_other(&[&t1, &grill])));

    let wall_ms_of = |seq: u64| -> i64 {
        let (ok, shown) = pass(&["journal", "show", &t1.db().display().to_string()]);
        assert!(ok, "{shown}");
        shown
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|e| {
                e["body"]["origin"].as_str() == Some(t1.origin())
                    && e["body"]["seq"].as_u64() == Some(seq)
            })
            .and_then(|e| e["body"]["wall_ms"].as_i64())
            .unwrap_or_else(|| panic!("seq {seq} of t1 not found: {shown}"))
    };
    let a = t1.append(&check_opened("t1-c1", "A1"));
    assert_eq!(wall_ms_of(a), start_ms);
    let answer = t1.clock_advance(90_000).expect("answer");
    assert_eq!(answer["ok"], true, "{answer}");
    let b = t1.append(&check_opened("t1-c2", "A2"));
    assert_eq!(wall_ms_of(b), start_ms + 90_000);
    let answer = t1.clock_set(start_ms + 5 * 3_600_000).expect("answer");
    assert_eq!(answer["ok"], true, "{answer}");
    let c = t1.append(&check_opened("t1-c3", "A3"));
    assert_eq!(wall_ms_of(c), start_ms + 5 * 3_600_000);

    // The system clock is not the test's to move.
    let refused = grill.clock_advance(1_000).expect("answer");
    assert_eq!(refused["ok"], false, "{refused}");
    assert!(refused["error"].is_string(), "{refused}");

    // A simulated five hours later, replication still works on real time.
    let expected = own_heads(&[&t1, &grill]);
    assert_eq!(expected[t1.origin()], c);
    wait_converged(&[&t1, &grill], &expected);
    assert!(grill.status()["cut_off_since"].is_null());
}

#[test]
fn a_device_gone_for_good_is_waited_for_until_a_manager_retires_it() {
    let broker = Mosquitto::start();
    let t1 = Device::start("t1", Role::OrderTerminal, &broker);
    let grill = Device::start("grill", Role::KitchenScreen, &broker);
    let mut fry = Device::start("fry", Role::KitchenScreen, &broker);
    assert!(wait_until(PATIENCE, || all_see_each_other(&[
        &t1, &grill, &fry
    ])));
    let fry_origin = fry.origin().to_owned();
    fry.kill();
    appended(&t1, 1, 5);
    let unconfirmed = |d: &Device| d.status()["unconfirmed"].as_u64().unwrap_or(u64::MAX);
    // The grill confirms; the dead fry screen never will: t1 keeps counting those events.
    assert!(
        wait_until(PATIENCE, || t1.heads().contains_key(grill.origin())
            && grill.heads().get(t1.origin()).copied()
                == t1.heads().get(t1.origin()).copied()),
        "the grill catches up"
    );
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert!(
        unconfirmed(&t1) >= 5,
        "events the fry screen has not confirmed: {}",
        t1.status()
    );
    let retire = serde_json::json!({
        "kind": "device_retired",
        "payload": {"origin": fry_origin, "reason": "screen replaced"}
    });
    t1.append(&retire);
    assert!(
        wait_until(PATIENCE, || unconfirmed(&t1) == 0),
        "once the fry screen is retired nobody waits for it: {}",
        t1.status()
    );
    assert!(
        wait_until(PATIENCE, || unconfirmed(&grill) == 0),
        "the grill stops waiting too: {}",
        grill.status()
    );
}

#[test]
fn a_publish_the_broker_refuses_is_counted_not_silent_and_events_still_arrive_by_pull() {
    // This broker lets anonymous devices read everything but write no events: every live
    // publish on `ev/…` is refused with an MQTT 5 reason code.
    let acl = format!(
        "topic read pass/#\n\
         topic write pass/v1/{TEST_STORE}/have/#\n\
         topic write pass/v1/{TEST_STORE}/hb/#\n\
         topic write pass/v1/{TEST_STORE}/pull/#\n\
         topic write pass/v1/{TEST_STORE}/sync/#\n\
         topic write pass/v1/{TEST_STORE}/gone/#\n"
    );
    let broker = Mosquitto::start_with("acl_file @DIR@/acl", &[("acl", acl.as_str())]);
    let t1 = Device::start("t1", Role::OrderTerminal, &broker);
    let grill = Device::start("grill", Role::KitchenScreen, &broker);
    assert!(wait_until(PATIENCE, || all_see_each_other(&[&t1, &grill])));
    let last = appended(&t1, 1, 5);
    let refused = |d: &Device| d.status()["refused_publishes"].as_u64().unwrap_or(0);
    assert!(
        wait_until(PATIENCE, || refused(&t1) > 0),
        "the refusal comes back and is counted: {}",
        t1.status()
    );
    // Nothing is lost: the grill's pulls are answered on `sync/…`, which the ACL allows.
    assert!(
        wait_until(PATIENCE, || grill.heads().get(t1.origin()).copied()
            == Some(last)),
        "the events arrive by pull: {}",
        grill.status()
    );
    assert!(grill.status()["received_by_pull"].as_u64().unwrap_or(0) >= 5);
    assert!(
        t1.log().contains("refused a publish"),
        "logged once: {}",
        t1.log()
    );
}
