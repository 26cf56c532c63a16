//! An injecting test client against real processes: a real Mosquitto on a loopback port of the
//! test's own and real device processes (`pass device run`), each with its own database. The
//! test publishes a terminal's own envelopes again, three times each and shuffled, as an outside
//! client on the terminal's `ev/<origin>` topic (`mosquitto_pub`), and makes a second journal of
//! one origin (a copy of a terminal's database run as another device) to raise the fork alarm.
//! Tests wait for outcomes with a generous limit and never assert timings (they print them).

use std::collections::BTreeSet;
use std::time::Instant;

use pass_tests::{
    Device, DeviceSpec, Mosquitto, Order, PATIENCE, Relay, Role, TEST_STORE, all_see_each_other,
    assert_verified, check_opened, journal_verify, order, own_heads, pass, sample_menu,
    wait_converged, wait_until,
};
use serde_json::Value;

/// Items of these orders: each routes to grill, fry or bar (some to two of them).
const ITEMS: [&str; 6] = [
    "classic_burger",
    "fries",
    "draught_lager",
    "crispy_calamari",
    "steak_frites",
    "onion_rings",
];

/// One number from a device's database (read-only, WAL, while it runs).
fn count(device: &Device, sql: &str, params: &[&dyn rusqlite::ToSql]) -> Result<u64, String> {
    let db = pass_shared::journal::open_read_only(device.db()).map_err(|e| e.to_string())?;
    db.query_row(sql, params, |r| r.get::<_, i64>(0))
        .map(|n| n as u64)
        .map_err(|e| e.to_string())
}

/// Every ticket row of a screen's projection (all stations): the rows' count and their ids.
fn tickets_on(screen: &Device) -> Result<(usize, BTreeSet<String>), String> {
    let db = pass_shared::journal::open_read_only(screen.db()).map_err(|e| e.to_string())?;
    let mut stmt = db
        .prepare("SELECT ticket_id FROM proj_tickets")
        .map_err(|e| e.to_string())?;
    let ids: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| e.to_string())?;
    let rows = ids.len();
    Ok((rows, ids.into_iter().collect()))
}

/// Whether `screen` shows exactly `expected`, each ticket once.
fn shows_exactly(screen: &Device, expected: &BTreeSet<String>) -> Result<(), String> {
    let (rows, got) = tickets_on(screen)?;
    if rows != got.len() {
        return Err(format!(
            "{}: {rows} rows for {} tickets",
            screen.id(),
            got.len()
        ));
    }
    if got != *expected {
        let missing = expected.difference(&got).count();
        let extra: Vec<&String> = got.difference(expected).collect();
        return Err(format!(
            "{}: {} of {} tickets, {missing} missing, extra {extra:?}",
            screen.id(),
            got.len(),
            expected.len()
        ));
    }
    Ok(())
}

fn wait_shows_exactly(screen: &Device, expected: &BTreeSet<String>) {
    let mut last = String::new();
    let ok = wait_until(PATIENCE, || match shows_exactly(screen, expected) {
        Ok(()) => true,
        Err(e) => {
            last = e;
            false
        }
    });
    assert!(ok, "{last}");
}

/// A status counter (`received_live`, `set_aside`, `forks`, …).
fn counter(device: &Device, name: &str) -> u64 {
    let status = device.status();
    status[name]
        .as_u64()
        .unwrap_or_else(|| panic!("{}: no {name} in {status}", device.id()))
}

/// The envelopes of `origin` in `device`'s journal, each as the text `pass journal show` prints
/// (the stored body byte for byte), in seq order.
fn envelopes_of(device: &Device, origin: &str) -> Vec<String> {
    let (ok, shown) = pass(&["journal", "show", &device.db().display().to_string()]);
    assert!(ok, "{shown}");
    shown
        .lines()
        .filter(|l| l.starts_with('{'))
        .filter(|l| {
            let envelope: Value = serde_json::from_str(l).expect("an envelope per line");
            envelope["body"]["origin"] == origin
        })
        .map(str::to_owned)
        .collect()
}

/// Fisher–Yates with a fixed xorshift seed: the same shuffle every run.
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let j = (seed % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

#[test]
fn every_event_delivered_three_times_and_shuffled_has_one_effect() {
    let started = Instant::now();
    let menu = sample_menu();
    let broker = Mosquitto::start();
    let t1 = Device::start("t1", Role::OrderTerminal, &broker);
    let grill = Device::start("grill", Role::KitchenScreen, &broker);
    assert!(wait_until(PATIENCE, || all_see_each_other(&[&t1, &grill])));

    // The terminal sends a few orders while the grill runs (its journal begins with an event of
    // its own: the genesis that announces its key).
    let genesis = t1.heads()[t1.origin()];
    let written = genesis + 24;
    let mut expected = BTreeSet::new();
    for n in 1..=8 {
        let Order { events, tickets } = order(&menu, &ITEMS, "t1", 'A', n, 0);
        let tickets = tickets.into_keys();
        for event in &events {
            t1.append(event);
        }
        expected.extend(tickets);
    }
    assert!(expected.len() >= 8, "the orders make tickets: {expected:?}");
    let heads = own_heads(&[&t1, &grill]);
    assert_eq!(heads[t1.origin()], written, "3 events an order");
    wait_converged(&[&t1, &grill], &heads);
    wait_shows_exactly(&grill, &expected);
    let grill_live = counter(&grill, "received_live");
    let grill_pulled = counter(&grill, "received_by_pull");

    // The injecting client reads the terminal's journal while it runs.
    let envelopes = envelopes_of(&t1, t1.origin());
    assert_eq!(envelopes.len() as u64, written, "every event of t1, once");

    // A second screen that has seen nothing comes up; once it hears its peers (so its
    // subscriptions are in place) every envelope is published three times, shuffled, each in
    // its own `events` message on t1's topic, as if the broker redelivered and reordered them.
    let fry = Device::start("fry", Role::KitchenScreen, &broker);
    let all = [&t1, &grill, &fry];
    assert!(wait_until(PATIENCE, || all_see_each_other(&all)));
    let mut deliveries: Vec<&str> = envelopes.iter().flat_map(|e| [e.as_str(); 3]).collect();
    shuffle(&mut deliveries, 0x9e37_79b9_7f4a_7c15);
    let in_order: Vec<&str> = envelopes.iter().flat_map(|e| [e.as_str(); 3]).collect();
    assert_ne!(deliveries, in_order, "the shuffle reorders");
    let topic = format!("pass/v1/{TEST_STORE}/ev/{}", t1.origin());
    let injected_at = Instant::now();
    for envelope in &deliveries {
        // The envelope's text exactly as stored: its hash and signature must survive.
        let message = format!(
            r#"{{"v":1,"type":"events","origin":"{}","events":[{envelope}]}}"#,
            t1.origin()
        );
        let (ok, out) = broker.publish(&topic, message.as_bytes());
        assert!(ok, "{out}");
    }
    let injected = injected_at.elapsed();

    // One effect: every device holds every event once, and each screen shows each ticket once.
    let heads = own_heads(&all);
    assert_eq!(
        heads[t1.origin()],
        written,
        "the terminal wrote nothing more"
    );
    wait_converged(&all, &heads);
    wait_shows_exactly(&grill, &expected);
    wait_shows_exactly(&fry, &expected);
    for screen in [&grill, &fry] {
        assert_eq!(
            count(
                screen,
                "SELECT COUNT(*) FROM events WHERE origin = ?1",
                &[&t1.origin()]
            ),
            Ok(written),
            "{}: each of t1's events is in the journal once",
            screen.id()
        );
        assert_eq!(
            count(screen, "SELECT COUNT(*) FROM held", &[]),
            Ok(0),
            "{}: nothing is left waiting for a predecessor",
            screen.id()
        );
        assert_eq!(
            count(screen, "SELECT COUNT(*) FROM proj_conflicts", &[]),
            Ok(0),
            "{}: nothing refused",
            screen.id()
        );
        assert_eq!(counter(screen, "set_aside"), 0, "{}", screen.id());
        assert_eq!(counter(screen, "forks"), 0, "{}", screen.id());
    }
    // The grill held t1's events already: three deliveries of each accepted nothing more; what
    // it accepted since is the fry's own journal (its genesis), and only that.
    let fry_own = heads.get(fry.origin()).copied().unwrap_or(0);
    assert_eq!(
        counter(&grill, "received_live") + counter(&grill, "received_by_pull"),
        grill_live + grill_pulled + fry_own,
        "{}",
        grill.status()
    );
    // The fry accepted each event of its peers once, by whichever path came first.
    let fry_status = fry.status();
    let peers_events: u64 = heads
        .iter()
        .filter(|(o, _)| *o != fry.origin())
        .map(|(_, s)| s)
        .sum();
    let fry_live = fry_status["received_live"].as_u64().expect("received_live");
    let fry_pulled = fry_status["received_by_pull"]
        .as_u64()
        .expect("received_by_pull");
    assert_eq!(fry_live + fry_pulled, peers_events, "{fry_status}");
    assert_verified(&all);
    for d in all {
        assert!(!d.log().contains("panicked"), "{}", d.log());
    }
    println!(
        "injection: {} deliveries of {written} events published in {injected:.1?}; the fry \
         accepted {fry_live} live and {fry_pulled} by pull; whole test {:.1?}",
        deliveries.len(),
        started.elapsed()
    );
}

#[test]
fn a_forked_event_raises_the_alarm_keeps_both_versions_and_the_screen_keeps_working() {
    let started = Instant::now();
    let broker = Mosquitto::start();
    let mut t1 = Device::start("t1", Role::OrderTerminal, &broker);
    let t2 = Device::start("t2", Role::OrderTerminal, &broker);
    let grill = Device::start("grill", Role::KitchenScreen, &broker);
    assert!(wait_until(PATIENCE, || all_see_each_other(&[
        &t1, &t2, &grill
    ])));
    for i in 1..=3 {
        t1.append(&check_opened(&format!("t1-c{i}"), &format!("A{i}")));
    }
    t2.append(&check_opened("t2-c1", "B1"));
    let heads = own_heads(&[&t1, &t2, &grill]);
    wait_converged(&[&t1, &t2, &grill], &heads);
    let origin = t1.origin().to_owned();
    let head = heads[&origin];
    assert_eq!(grill.status()["forks"], 0);

    // A second journal of t1's origin: t1 stopped cleanly, its database copied and run as
    // another device, cut off for now behind a blocked relay so that it cannot hear t1.
    t1.stop();
    let relay = Relay::start(broker.port());
    relay.block();
    let twin = Device::start_spec_from_copy(
        DeviceSpec::new("t1-twin", Role::OrderTerminal, &relay.url()),
        t1.db(),
    );
    t1.restart();
    assert_eq!(twin.origin(), origin, "the copy writes as t1's origin");
    assert_eq!(t1.origin(), origin);

    // Both write a different event at the same next seq.
    let twin_seq = twin.append(&check_opened("twin-c1", "Z1"));
    let t1_seq = t1.append(&check_opened("t1-c4", "A4"));
    assert_eq!((twin_seq, t1_seq), (head + 1, head + 1));
    assert!(
        wait_until(PATIENCE, || grill.heads().get(&origin) == Some(&t1_seq)),
        "the grill has t1's version: {}",
        grill.status()
    );

    // The twin's cable goes in: the grill sees a second version of (origin, seq).
    relay.unblock();
    let mut last = Value::Null;
    let alarm = wait_until(PATIENCE, || {
        last = grill.status();
        last["forks"].as_u64().is_some_and(|f| f >= 1)
    });
    assert!(alarm, "the fork is never reported: {last}");
    let versions = count(
        &grill,
        "SELECT COUNT(*) FROM events WHERE origin = ?1 AND seq = ?2",
        &[&origin, &(t1_seq as i64)],
    );
    assert_eq!(versions, Ok(2), "both versions are kept");
    assert!(
        count(
            &grill,
            "SELECT COUNT(*) FROM forks WHERE origin = ?1 AND seq = ?2",
            &[&origin, &(t1_seq as i64)],
        )
        .is_ok_and(|n| n >= 1),
        "the fork is recorded"
    );
    assert!(grill.log().contains("FORK"), "the alarm is logged");
    let shown = envelopes_of(&grill, &origin);
    assert_eq!(
        shown.iter().filter(|e| e.contains("\"twin-c1\"")).count(),
        1,
        "the twin's version is there"
    );
    assert_eq!(
        shown.iter().filter(|e| e.contains("\"t1-c4\"")).count(),
        1,
        "t1's version is there"
    );

    // The screen keeps working: a later event of another terminal still arrives and projects.
    let later = t2.append(&check_opened("t2-c2", "B2"));
    assert!(
        wait_until(PATIENCE, || grill.heads().get(t2.origin()) == Some(&later)),
        "t2's later event never reached the grill: {}",
        grill.status()
    );
    assert!(
        wait_until(PATIENCE, || count(
            &grill,
            "SELECT COUNT(*) FROM proj_checks WHERE check_id = 't2-c2'",
            &[]
        ) == Ok(1)),
        "t2's later check is projected on the grill"
    );
    assert!(!grill.log().contains("panicked"), "{}", grill.log());
    // `pass journal verify` names the fork too (and so fails).
    let (ok, verify) = journal_verify(&[grill.db()]);
    assert!(!ok, "{verify}");
    assert!(
        verify.contains(&format!("origin {origin} seq {t1_seq} has two versions")),
        "{verify}"
    );
    println!(
        "fork: the grill reports {} (status {}); verify says: {}; whole test {:.1?}",
        grill.status()["forks"],
        grill.status(),
        verify.trim().replace('\n', " | "),
        started.elapsed()
    );
}
