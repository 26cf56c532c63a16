//! The dinner rush across real processes: a real Mosquitto on a loopback port of the test's own,
//! two order terminals and three kitchen screens (grill, fry, bar), each its own `pass device
//! run` process with its own database. Real orders from the sample menu; the broker killed with
//! SIGKILL mid-burst; a screen cut off behind a blocked connection. Tests wait for outcomes with
//! a generous limit and never assert timings (they print them).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use pass_shared::domain::menu::Menu;
use pass_tests::{
    Device, DeviceSpec, Mosquitto, Order, PATIENCE, Relay, Role, all_see_each_other,
    assert_verified, converged, gated_burst, heads_of, order, own_heads, peers_of, sample_menu,
    sell, wait_converged, wait_until,
};
use serde_json::{Value, json};

/// The screens of these tests, one per station.
const STATIONS: [&str; 3] = ["grill", "fry", "bar"];

/// Items sold in the rush: each routes to grill, fry or bar only (some to two of them), and
/// together they reach all three. The test checks both against the menu.
const ITEMS: [&str; 8] = [
    "classic_burger",
    "fries",
    "draught_lager",
    "grilled_asparagus",
    "crispy_calamari",
    "margarita",
    "steak_frites",
    "onion_rings",
];

/// The order-number letter of a terminal of these tests (`t1` → A, `t2` → B).
fn letter(terminal: &str) -> char {
    match terminal {
        "t1" => 'A',
        "t2" => 'B',
        other => panic!("no letter for {other}"),
    }
}

/// Order `n` of `terminal` in the rush: 1–3 lines chosen deterministically from [`ITEMS`].
fn rush_order(menu: &Menu, terminal: &str, n: u64) -> Order {
    order(menu, &ITEMS, terminal, letter(terminal), n, terminal.len())
}

/// Appends `orders` on `device`, counting each order fully appended in `done`. After its `n`th
/// order the burst waits at each gate `(n, flag)` until the flag is up, so a fault lands at a
/// known point of the burst while the other terminal's appends go on.
fn rush(device: &Device, orders: &[Order], done: &AtomicU64, gates: &[(u64, &AtomicBool)]) {
    gated_burst(
        device,
        orders.iter().map(|o| o.events.to_vec()),
        done,
        gates,
    );
}

/// The tickets `station` shows on `screen`, read from its database (read-only, WAL, while it
/// runs): ticket id → the lines on it. Every row is listed, so a ticket twice would show as a
/// shorter map than rows (checked by the caller through `rows`).
fn tickets_on(screen: &Device, station: &str) -> Result<(usize, TicketSet), String> {
    let db = pass_shared::journal::open_read_only(screen.db()).map_err(|e| e.to_string())?;
    let mut stmt = db
        .prepare("SELECT ticket_id, items FROM proj_tickets WHERE station = ?1")
        .map_err(|e| e.to_string())?;
    let rows: Vec<(String, String)> = stmt
        .query_map([station], |r| Ok((r.get(0)?, r.get(1)?)))
        .and_then(|rows| rows.collect())
        .map_err(|e| e.to_string())?;
    let mut set = TicketSet::new();
    for (id, items) in &rows {
        let items: Value = serde_json::from_str(items).map_err(|e| e.to_string())?;
        let lines: Vec<String> = items
            .as_array()
            .ok_or("items is not an array")?
            .iter()
            .filter_map(|i| i["line"].as_str().map(str::to_owned))
            .collect();
        let unique: BTreeSet<String> = lines.iter().cloned().collect();
        if unique.len() != lines.len() {
            return Err(format!(
                "{station}: ticket {id} lists a line twice: {items}"
            ));
        }
        set.insert(id.clone(), unique);
    }
    Ok((rows.len(), set))
}

/// The first few conflict rows of a device's projections (what a refused transition left).
fn conflicts(device: &Device) -> Vec<String> {
    let Ok(db) = pass_shared::journal::open_read_only(device.db()) else {
        return Vec::new();
    };
    db.prepare("SELECT subject, reason FROM proj_conflicts LIMIT 5")
        .and_then(|mut stmt| {
            stmt.query_map([], |r| {
                Ok(format!(
                    "{}: {}",
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?
                ))
            })?
            .collect()
        })
        .unwrap_or_default()
}

type TicketSet = BTreeMap<String, BTreeSet<String>>;

/// What each station must show: ticket id → lines, from every order.
fn expected_by_station(orders: &[&[Order]]) -> BTreeMap<String, TicketSet> {
    let mut by_station: BTreeMap<String, TicketSet> = STATIONS
        .iter()
        .map(|s| ((*s).to_owned(), TicketSet::new()))
        .collect();
    for order in orders.iter().flat_map(|o| o.iter()) {
        for (id, (station, lines)) in &order.tickets {
            let previous = by_station
                .get_mut(station)
                .unwrap_or_else(|| panic!("{id} routes to {station}, no screen of this test"))
                .insert(id.clone(), lines.clone());
            assert!(previous.is_none(), "ticket ids are unique: {id}");
        }
    }
    by_station
}

/// Whether every screen shows, for its own station, exactly `expected`: no ticket missing, none
/// extra, none twice, each with exactly its lines. Err says the first difference.
fn screens_show(screens: &[&Device], expected: &BTreeMap<String, TicketSet>) -> Result<(), String> {
    for screen in screens {
        let station = screen.id();
        let want = &expected[station];
        let (rows, got) = tickets_on(screen, station)?;
        if rows != got.len() {
            return Err(format!("{station}: {rows} rows for {} tickets", got.len()));
        }
        if got != *want {
            let missing: Vec<&String> = want.keys().filter(|k| !got.contains_key(*k)).collect();
            let extra: Vec<&String> = got.keys().filter(|k| !want.contains_key(*k)).collect();
            let differ: Vec<&String> = want
                .iter()
                .filter(|(k, v)| got.get(*k).is_some_and(|g| g != *v))
                .map(|(k, _)| k)
                .collect();
            return Err(format!(
                "{station}: {} of {} tickets; missing {} (first {:?}), extra {} (first {:?}), \
                 different lines {} (first {:?})",
                got.len(),
                want.len(),
                missing.len(),
                missing.first(),
                extra.len(),
                extra.first(),
                differ.len(),
                differ.first()
            ));
        }
    }
    Ok(())
}

fn wait_screens_show(screens: &[&Device], expected: &BTreeMap<String, TicketSet>) {
    let mut last = String::new();
    let ok = wait_until(PATIENCE, || match screens_show(screens, expected) {
        Ok(()) => true,
        Err(e) => {
            last = e;
            false
        }
    });
    let conflicts: Vec<Vec<String>> = screens.iter().map(|s| conflicts(s)).collect();
    assert!(
        ok,
        "the screens do not show their tickets: {last}; conflicts {conflicts:?}"
    );
}

#[test]
fn two_thousand_orders_reach_their_screens_exactly_once_through_a_broker_killed_mid_burst() {
    let started = Instant::now();
    const PER_TERMINAL: u64 = 1_000;
    let menu = sample_menu();
    // The items route only to this test's screens, and reach each of them.
    let mut reached = BTreeSet::new();
    for item in ITEMS {
        let line = sell(&menu, item, "probe", 1, 1);
        for station in &line.stations {
            assert!(STATIONS.contains(&station.as_str()), "{item} → {station}");
            reached.insert(station.clone());
        }
    }
    assert_eq!(reached.len(), STATIONS.len(), "{reached:?}");

    let orders1: Vec<Order> = (1..=PER_TERMINAL)
        .map(|n| rush_order(&menu, "t1", n))
        .collect();
    let orders2: Vec<Order> = (1..=PER_TERMINAL)
        .map(|n| rush_order(&menu, "t2", n))
        .collect();
    let expected = expected_by_station(&[&orders1, &orders2]);
    for (station, tickets) in &expected {
        assert!(
            tickets.len() > 100,
            "{station} gets work: {}",
            tickets.len()
        );
    }

    let mut broker = Mosquitto::start();
    let t1 = Device::start("t1", Role::OrderTerminal, &broker);
    let t2 = Device::start("t2", Role::OrderTerminal, &broker);
    let screens: Vec<Device> = STATIONS
        .iter()
        .map(|s| Device::start(s, Role::KitchenScreen, &broker))
        .collect();
    let screen_refs: Vec<&Device> = screens.iter().collect();
    let mut all = vec![&t1, &t2];
    all.extend(screen_refs.iter().copied());
    assert!(wait_until(PATIENCE, || all_see_each_other(&all)));

    // Both terminals send 1,000 orders each (3 events an order). The broker is SIGKILLed once
    // 250 orders are in, while the appends go on (each terminal waits after its 200th until the
    // kill has happened), and restarted once 1,000 are, again mid-burst (each waits after its
    // 600th until it is back): some 750 orders are committed while the broker is down.
    let burst_started = Instant::now();
    let done = AtomicU64::new(0);
    let killed = AtomicBool::new(false);
    let restarted = AtomicBool::new(false);
    let gates = [(200, &killed), (600, &restarted)];
    std::thread::scope(|s| {
        let a = s.spawn(|| rush(&t1, &orders1, &done, &gates));
        let b = s.spawn(|| rush(&t2, &orders2, &done, &gates));
        let reached = |n: u64| wait_until(PATIENCE, || done.load(Ordering::SeqCst) >= n);
        assert!(reached(250), "orders stalled before the kill");
        broker.kill();
        killed.store(true, Ordering::SeqCst);
        assert!(
            reached(1_000),
            "orders must go on while the broker is down (a commit is local)"
        );
        broker.restart();
        restarted.store(true, Ordering::SeqCst);
        a.join().expect("t1 rush");
        b.join().expect("t2 rush");
    });
    assert_eq!(done.load(Ordering::SeqCst), 2 * PER_TERMINAL);
    let burst = burst_started.elapsed();
    println!("dinner rush: 2,000 orders (6,000 events) appended in {burst:.1?}");

    // Every device holds every event once, and each terminal's events are exactly its orders.
    let heads = own_heads(&all);
    wait_converged(&all, &heads);
    let converged_after = burst_started.elapsed();
    wait_screens_show(&screen_refs, &expected);
    // Nothing more arrives later: the heads stay, and so do the tickets.
    assert_eq!(own_heads(&all), heads, "no device wrote anything more");
    converged(&all, &heads).expect("still converged");
    screens_show(&screen_refs, &expected).expect("still exactly the expected tickets");
    // The screens' projections are store-wide: each one holds every station's tickets.
    for screen in &screens {
        for station in STATIONS {
            let (rows, got) = tickets_on(screen, station).expect("read tickets");
            assert_eq!(rows, expected[station].len(), "{} / {station}", screen.id());
            assert_eq!(got, expected[station], "{} / {station}", screen.id());
        }
    }
    for d in &all {
        assert_eq!(
            conflicts(d),
            Vec::<String>::new(),
            "{}: nothing refused",
            d.id()
        );
    }
    assert_verified(&all);
    let counts: Vec<String> = STATIONS
        .iter()
        .map(|s| format!("{s} {}", expected[*s].len()))
        .collect();
    println!(
        "dinner rush: all five converged {converged_after:.1?} after the burst began; tickets \
         {}; whole test {:.1?}",
        counts.join(", "),
        started.elapsed()
    );
}

#[test]
fn a_screen_behind_a_blocked_connection_keeps_working_reports_itself_cut_off_and_rejoins() {
    let started = Instant::now();
    let broker = Mosquitto::start();
    let relay = Relay::start(broker.port());
    let t1 = Device::start("t1", Role::OrderTerminal, &broker);
    let fry = Device::start("fry", Role::KitchenScreen, &broker);
    let grill = Device::start_spec(DeviceSpec::new("grill", Role::KitchenScreen, &relay.url()));
    let all = [&t1, &fry, &grill];
    assert!(wait_until(PATIENCE, || all_see_each_other(&all)));
    assert!(relay.accepted() > 0, "the grill goes through the relay");
    assert!(
        wait_until(PATIENCE, || grill.status()["cut_off_since"].is_null()),
        "{}",
        grill.status()
    );
    let menu = sample_menu();
    let mut orders: Vec<Order> = Vec::new();
    let send = |device: &Device, orders: &mut Vec<Order>, n: u64| {
        let o = rush_order(&menu, device.id(), n);
        for event in &o.events {
            device.append(event);
        }
        orders.push(o);
    };
    for n in 1..=10 {
        send(&t1, &mut orders, n);
    }
    wait_converged(&all, &own_heads(&all));

    // The cable is pulled: the grill's connection is cut and new ones are refused.
    relay.block();
    let blocked_at = Instant::now();
    let mut last = Value::Null;
    let cut_off = wait_until(PATIENCE, || {
        last = grill.status();
        last["cut_off_since"].is_number()
    });
    let detected = blocked_at.elapsed();
    assert!(cut_off, "never reported cut off: {last}");
    assert!(
        peers_of(&last).is_empty(),
        "cut off means no peer heard: {last}"
    );
    // The others still hear each other.
    let others = [&t1, &fry];
    assert!(wait_until(PATIENCE, || all_see_each_other(&others)));
    assert!(fry.status()["cut_off_since"].is_null());

    // Cut off, the grill keeps working: its own appends commit (a manager 86es an item on it,
    // then brings it back), and the terminal keeps sending orders the others see.
    let grill_origin = grill.origin().to_owned();
    let grill_before = grill.heads()[&grill_origin];
    let eighty_six = json!({
        "kind": "item_eighty_sixed",
        "payload": {"item": "ribeye", "reason": "out of ribeye (while cut off)"}
    });
    let restored = json!({"kind": "item_restored", "payload": {"item": "ribeye"}});
    let a = grill.append(&eighty_six);
    let b = grill.append(&restored);
    assert_eq!((a, b), (grill_before + 1, grill_before + 2));
    for n in 11..=20 {
        send(&t1, &mut orders, n);
    }
    let t1_head = t1.heads()[t1.origin()];
    assert!(
        wait_until(PATIENCE, || fry.heads().get(t1.origin()) == Some(&t1_head)),
        "fry keeps up with t1 while the grill is cut off"
    );
    let status = grill.status();
    assert!(status["cut_off_since"].is_number(), "{status}");
    assert!(
        heads_of(&status).get(t1.origin()) < Some(&t1_head),
        "the grill has not heard t1's new orders: {status}"
    );
    for d in others {
        assert_eq!(
            d.heads().get(&grill_origin),
            Some(&grill_before),
            "{}: nothing the grill wrote while cut off got out",
            d.id()
        );
    }

    // Plugged back in: it rejoins and everything converges.
    relay.unblock();
    let mut last = Value::Null;
    let back = wait_until(PATIENCE, || {
        last = grill.status();
        last["cut_off_since"].is_null() && peers_of(&last).len() == 2
    });
    assert!(back, "still cut off after the unblock: {last}");
    let expected = own_heads(&all);
    assert_eq!(expected[&grill_origin], b);
    assert_eq!(expected[t1.origin()], t1_head);
    wait_converged(&all, &expected);
    assert_verified(&all);
    // What the grill wrote while cut off is in every journal exactly once.
    for d in all {
        let (ok, shown) = pass_tests::pass(&["journal", "show", &d.db().display().to_string()]);
        assert!(ok, "{shown}");
        assert_eq!(
            shown.matches("out of ribeye (while cut off)").count(),
            1,
            "{}: the 86 is there once",
            d.id()
        );
        let restores = shown
            .lines()
            .filter(|l| l.contains("\"item_restored\""))
            .count();
        assert_eq!(restores, 1, "{}: the restore is there once", d.id());
    }
    // And every screen shows its tickets from all 20 orders, once.
    let expected_tickets = expected_by_station(&[&orders]);
    let screens = [&fry, &grill];
    let mut last = String::new();
    let ok = wait_until(PATIENCE, || {
        screens
            .iter()
            .all(|screen| match tickets_on(screen, screen.id()) {
                Ok((rows, got)) if rows == got.len() && got == expected_tickets[screen.id()] => {
                    true
                }
                Ok((rows, got)) => {
                    last = format!(
                        "{}: {rows} rows, {} tickets; conflicts: {:?}",
                        screen.id(),
                        got.len(),
                        conflicts(screen)
                    );
                    false
                }
                Err(e) => {
                    last = e;
                    false
                }
            })
    });
    assert!(ok, "{last}");
    for d in all {
        assert_eq!(
            conflicts(d),
            Vec::<String>::new(),
            "{}: nothing refused",
            d.id()
        );
    }
    println!(
        "cut off: the grill reported itself cut off {detected:.1?} after the block; whole test \
         {:.1?}",
        started.elapsed()
    );
}
