//! Replication across real processes: a real Mosquitto on a loopback port of the test's own,
//! real device processes (`pass device run`), each with its own database, faults injected by
//! SIGKILL. Tests wait for outcomes with a generous limit and never assert timings. The checks
//! any broker must pass live in `pass_tests::checks` and run here against Mosquitto (and in
//! `discovery.rs` against the embedded broker).

use pass_tests::checks::{self, appended};
use pass_tests::{
    Device, DeviceSpec, Mosquitto, PATIENCE, Role, TEST_STORE, all_see_each_other, assert_verified,
    check_opened, own_heads, pass, wait_all_confirmed, wait_converged, wait_until,
};
use serde_json::Value;

#[test]
fn events_appended_on_one_device_reach_the_other() {
    checks::events_appended_on_one_device_reach_the_other(&mut Mosquitto::start());
}

#[test]
fn a_broker_killed_mid_burst_loses_nothing_and_doubles_nothing() {
    checks::a_broker_killed_mid_burst_loses_nothing_and_doubles_nothing(&mut Mosquitto::start());
}

#[test]
fn a_device_killed_mid_burst_and_restarted_catches_up() {
    checks::a_device_killed_mid_burst_and_restarted_catches_up(&mut Mosquitto::start());
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
    checks::a_device_whose_peers_all_stop_reports_itself_cut_off_until_one_returns(
        &mut Mosquitto::start(),
    );
}

#[test]
fn malformed_and_oversized_messages_are_set_aside_and_every_device_keeps_working() {
    checks::malformed_and_oversized_messages_are_set_aside_and_every_device_keeps_working(
        &mut Mosquitto::start(),
    );
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
