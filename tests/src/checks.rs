//! Replication checks shared by every broker a store may use: each takes a [`StoreBroker`] (how
//! devices of the store reach the broker, and how to kill and restart it), so the same test
//! bodies run against Mosquitto (`tests/replication.rs`) and against the embedded broker found by
//! mDNS (`tests/discovery.rs`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use pass_shared::net::protocol::v1::{MAX_MESSAGE_BYTES, MAX_PACKET_BYTES};
use serde_json::{Value, json};

use crate::{
    Device, DeviceSpec, EmbeddedBroker, Mosquitto, PATIENCE, Role, TEST_STORE, TEST_STORE_PASSWORD,
    all_see_each_other, assert_verified, check_opened, converged, gated_burst, heads_of, own_heads,
    pass, peers_of, wait_all_confirmed, wait_converged, wait_until,
};

/// A broker under test, and how the devices of its store reach it.
pub trait StoreBroker {
    /// The store its devices belong to.
    fn store(&self) -> &str;
    /// How to start device `id` of the store so that it uses this broker.
    fn spec(&self, id: &str, role: Role) -> DeviceSpec;
    /// Kills it with SIGKILL.
    fn kill(&mut self);
    /// Starts it again where it was (same address).
    fn restart(&mut self);
    /// Publishes raw bytes at QoS 1 as an outside client; success and output.
    fn publish(&self, topic: &str, payload: &[u8]) -> (bool, String);

    /// Starts device `id` on this broker.
    fn device(&self, id: &str, role: Role) -> Device {
        Device::start_spec(self.spec(id, role))
    }
}

/// Mosquitto: devices are given its address (`--broker`).
impl StoreBroker for Mosquitto {
    fn store(&self) -> &str {
        TEST_STORE
    }
    fn spec(&self, id: &str, role: Role) -> DeviceSpec {
        DeviceSpec::new(id, role, &self.url())
    }
    fn kill(&mut self) {
        Mosquitto::kill(self)
    }
    fn restart(&mut self) {
        Mosquitto::restart(self)
    }
    fn publish(&self, topic: &str, payload: &[u8]) -> (bool, String) {
        Mosquitto::publish(self, topic, payload)
    }
}

/// The embedded broker run by hand (`pass broker`): devices are unconfigured and find it by
/// mDNS on loopback; none of them hosts a broker of its own, so the checks are about this one.
impl StoreBroker for EmbeddedBroker {
    fn store(&self) -> &str {
        EmbeddedBroker::store(self)
    }
    fn spec(&self, id: &str, role: Role) -> DeviceSpec {
        DeviceSpec::discovering(id, role, EmbeddedBroker::store(self))
            .host_broker(false)
            .store_password(TEST_STORE_PASSWORD)
    }
    fn kill(&mut self) {
        EmbeddedBroker::kill(self)
    }
    fn restart(&mut self) {
        EmbeddedBroker::restart(self)
    }
    fn publish(&self, topic: &str, payload: &[u8]) -> (bool, String) {
        EmbeddedBroker::publish(self, topic, payload)
    }
}

/// Appends `count` `check_opened` events on `device` (check ids unique per device); returns the
/// last seq. Counts each committed append in `done`. After its `n`th append a burst waits at each
/// gate `(n, flag)` until the flag is up, so a fault lands at a known point of the burst while the
/// other appends go on.
pub fn burst(
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

/// Appends `count` events on `device` from check `from`; returns the last seq.
pub fn appended(device: &Device, from: u64, count: u64) -> u64 {
    burst(device, from, count, &AtomicU64::new(0), &[])
}

/// Two devices see each other; twenty events appended on one reach the other, confirmed, verified.
pub fn events_appended_on_one_device_reach_the_other(broker: &mut impl StoreBroker) {
    let t1 = broker.device("t1", Role::OrderTerminal);
    let grill = broker.device("grill", Role::KitchenScreen);
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

/// The broker is SIGKILLed mid-burst and restarted mid-burst: nothing lost, nothing twice.
pub fn a_broker_killed_mid_burst_loses_nothing_and_doubles_nothing(broker: &mut impl StoreBroker) {
    let t1 = broker.device("t1", Role::OrderTerminal);
    let t2 = broker.device("t2", Role::OrderTerminal);
    let grill = broker.device("grill", Role::KitchenScreen);
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

/// A screen SIGKILLed mid-burst and restarted catches up, by pull.
pub fn a_device_killed_mid_burst_and_restarted_catches_up(broker: &mut impl StoreBroker) {
    let t1 = broker.device("t1", Role::OrderTerminal);
    let mut grill = broker.device("grill", Role::KitchenScreen);
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

/// A device whose peers all stop reports itself cut off, keeps working, and recovers.
pub fn a_device_whose_peers_all_stop_reports_itself_cut_off_until_one_returns(
    broker: &mut impl StoreBroker,
) {
    let grill = broker.device("grill", Role::KitchenScreen);
    let mut t1 = broker.device("t1", Role::OrderTerminal);
    let mut t2 = broker.device("t2", Role::OrderTerminal);
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

/// Malformed, forged and oversized messages are set aside; every device keeps working.
pub fn malformed_and_oversized_messages_are_set_aside_and_every_device_keeps_working(
    broker: &mut impl StoreBroker,
) {
    let t1 = broker.device("t1", Role::OrderTerminal);
    let grill = broker.device("grill", Role::KitchenScreen);
    let all = [&t1, &grill];
    assert!(wait_until(PATIENCE, || all_see_each_other(&all)));
    appended(&t1, 1, 10);
    wait_converged(&all, &own_heads(&all));

    let stranger = "00112233deadbeef";
    let store = broker.store().to_owned();
    let ev = |origin: &str| format!("pass/v1/{store}/ev/{origin}");
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
    // Over the broker's packet limit: the broker itself refuses it.
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
