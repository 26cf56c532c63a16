//! `pass kitchen …` works running kitchen screens through their control sockets, exactly as a
//! cook does on the screen: list, start, bump an item, bump, recall, rush and undo, and at expo
//! the bump that waits for every station unless forced with a reason. Real processes, a real
//! Mosquitto; every action replicates to the terminal that sent the order.

use std::collections::BTreeMap;

use pass_tests::{Device, DeviceSpec, Mosquitto, PATIENCE, Role, pass, sample_menu, wait_until};
use serde_json::Value;

fn kitchen(device: &Device, args: &[&str]) -> (bool, String) {
    let control = device
        .control_path()
        .to_str()
        .expect("utf-8 path")
        .to_owned();
    let mut all = vec!["kitchen", "--control", control.as_str()];
    all.extend_from_slice(args);
    pass(&all)
}

fn list(device: &Device) -> Value {
    let (ok, out) = kitchen(device, &["list", "--format", "json"]);
    assert!(ok, "{out}");
    serde_json::from_str(&out).expect("list JSON")
}

fn ticket_keys(device: &Device) -> Vec<String> {
    list(device)["cards"]
        .as_array()
        .expect("cards")
        .iter()
        .filter_map(|c| c["key"].as_str().map(str::to_owned))
        .collect()
}

/// The kinds of events the terminal holds from `device`'s origin.
fn kinds_from(terminal: &Device, device: &Device) -> Vec<String> {
    let origin = device.origin().to_owned();
    let conn = rusqlite::Connection::open_with_flags(
        terminal.db(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open the terminal's database");
    let mut stmt = conn
        .prepare("SELECT kind FROM events WHERE origin = ?1 ORDER BY seq")
        .expect("query");
    stmt.query_map([origin], |r| r.get::<_, String>(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("kinds")
}

#[test]
fn cooks_and_expo_work_tickets_through_pass_kitchen() {
    let broker = Mosquitto::start();
    let grill = Device::start_spec(
        DeviceSpec::new("grill", Role::KitchenScreen, &broker.url()).station("grill"),
    );
    let fry = Device::start_spec(
        DeviceSpec::new("fry", Role::KitchenScreen, &broker.url()).station("fry"),
    );
    let expo = Device::start_spec(
        DeviceSpec::new("expo", Role::KitchenScreen, &broker.url()).station("expo"),
    );
    let terminal = Device::start("t1", Role::OrderTerminal, &broker);

    // A burger goes to the grill and, for its fries, to the fry station.
    let menu = sample_menu();
    let order = pass_tests::order(&menu, &["classic_burger"], "t1", 'A', 3, 0);
    for event in &order.events {
        terminal.append(event);
    }
    let expected: BTreeMap<String, String> = order
        .tickets
        .iter()
        .map(|(id, (station, _))| (station.clone(), id.clone()))
        .collect();
    let grill_ticket = expected.get("grill").expect("a grill ticket").clone();
    let fry_ticket = expected.get("fry").expect("a fry ticket").clone();
    let check = "t1-o3";

    assert!(
        wait_until(PATIENCE, || ticket_keys(&grill).contains(&grill_ticket)
            && ticket_keys(&fry).contains(&fry_ticket)
            && !ticket_keys(&expo).is_empty()),
        "the tickets reach their screens"
    );
    let (ok, table) = kitchen(&grill, &["list"]);
    assert!(
        ok && table.contains("A3") && table.contains("Classic Burger"),
        "{table}"
    );

    let grill_list = list(&grill);
    let course = grill_list["cards"][0]["course"].to_string();
    let line = grill_list["cards"][0]["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .find_map(|l| l["line"].as_str())
        .expect("an item line")
        .to_owned();
    for args in [
        vec!["start", grill_ticket.as_str()],
        vec!["rush", grill_ticket.as_str()],
        vec!["rush", grill_ticket.as_str(), "--undo"],
        vec!["bump-item", grill_ticket.as_str(), line.as_str()],
    ] {
        let (ok, out) = kitchen(&grill, &args);
        assert!(ok, "{args:?}: {out}");
    }
    // The burger was its only item: bumping it bumped the ticket.
    assert!(!ticket_keys(&grill).contains(&grill_ticket));
    let (ok, out) = kitchen(&grill, &["recall-list"]);
    assert!(ok && out.contains(&grill_ticket), "{out}");
    let (ok, out) = kitchen(&grill, &["recall", &grill_ticket]);
    assert!(ok, "{out}");
    assert!(ticket_keys(&grill).contains(&grill_ticket), "recalled");
    let (ok, out) = kitchen(&grill, &["bump", &grill_ticket]);
    assert!(ok, "{out}");
    let (ok, out) = kitchen(&grill, &["bump", &grill_ticket]);
    assert!(
        !ok && out.contains("already bumped"),
        "a second bump is refused: {out}"
    );

    // Expo waits for the fry station, unless forced with a reason.
    assert!(
        wait_until(PATIENCE, || {
            let (_, out) = kitchen(&expo, &["list", "--format", "json"]);
            out.contains("GRILL READY")
        }),
        "expo sees the grill's part ready"
    );
    let (ok, out) = kitchen(&expo, &["expo-bump", check, "--course", &course]);
    assert!(!ok && out.contains("fry still cooking"), "{out}");
    let (ok, out) = kitchen(
        &expo,
        &["force-bump", check, "--course", &course, "--reason", " "],
    );
    assert!(!ok, "a force-bump needs a reason: {out}");
    let (ok, out) = kitchen(
        &expo,
        &[
            "force-bump",
            check,
            "--course",
            &course,
            "--reason",
            "guest leaving",
        ],
    );
    assert!(ok, "{out}");
    assert!(
        wait_until(PATIENCE, || ticket_keys(&expo).is_empty()),
        "the order left expo"
    );

    assert!(
        wait_until(PATIENCE, || {
            let grill_kinds = kinds_from(&terminal, &grill);
            let expo_kinds = kinds_from(&terminal, &expo);
            grill_kinds.iter().filter(|k| *k == "ticket_bumped").count() == 1
                && grill_kinds.iter().any(|k| k == "item_done")
                && grill_kinds.iter().any(|k| k == "ticket_recalled")
                && grill_kinds
                    .iter()
                    .filter(|k| *k == "ticket_priority")
                    .count()
                    == 2
                && expo_kinds.iter().any(|k| k == "expo_bumped")
        }),
        "every action reached the terminal: grill {:?}, expo {:?}",
        kinds_from(&terminal, &grill),
        kinds_from(&terminal, &expo)
    );
    drop(fry);
}
