//! An order terminal cut off from the broker keeps taking orders: signed in, a table opened,
//! grilled asparagus (a grill-only item) added and sent, all answered from its own journal while
//! its screen says it is cut off and how many events wait. Once its link is back, the grill has
//! the order exactly once.

use pass_tests::{Device, DeviceSpec, Mosquitto, PATIENCE, Relay, Role, pass, wait_until};
use serde_json::Value;

const SAM: &str = "1357";

fn terminal(device: &Device, args: &[&str]) -> Value {
    let control = device
        .control_path()
        .to_str()
        .expect("utf-8 path")
        .to_owned();
    let mut all = vec!["terminal", "--control", control.as_str(), "--pin", SAM];
    all.extend_from_slice(args);
    let (ok, out) = pass(&all);
    assert!(ok, "pass terminal {args:?}: {out}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out}"))
}

/// The terminal's status bar.
fn status(device: &Device) -> Value {
    terminal(device, &["screen"])["view"]["status"].clone()
}

fn grill_keys(grill: &Device) -> Vec<String> {
    let control = grill
        .control_path()
        .to_str()
        .expect("utf-8 path")
        .to_owned();
    let (ok, out) = pass(&["kitchen", "--control", &control, "list", "--format", "json"]);
    assert!(ok, "{out}");
    let list: Value = serde_json::from_str(&out).expect("list JSON");
    list["cards"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["key"].as_str().map(str::to_owned))
        .collect()
}

/// How many `items_sent` events of `check` a device's journal holds.
fn sends_held(device: &Device, check: &str) -> i64 {
    let conn = rusqlite::Connection::open_with_flags(
        device.db(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open the database read-only");
    conn.query_row(
        "SELECT COUNT(*) FROM events WHERE kind = 'items_sent' AND body LIKE ?1",
        [format!("%\"check\":\"{check}\"%")],
        |r| r.get(0),
    )
    .expect("count")
}

/// Every event a device holds: origin, seq and kind, in arrival order (for failure messages).
fn kinds(device: &Device) -> Vec<(String, i64, String)> {
    let conn = rusqlite::Connection::open_with_flags(
        device.db(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open");
    let mut stmt = conn
        .prepare("SELECT origin, seq, kind FROM events ORDER BY id")
        .expect("q");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("k")
}

#[test]
fn a_terminal_cut_off_from_the_broker_takes_an_order_and_the_kitchen_gets_it_once() {
    let broker = Mosquitto::start();
    let relay = Relay::start(broker.port());
    let grill = Device::start_spec(
        DeviceSpec::new("grill", Role::KitchenScreen, &broker.url()).station("grill"),
    );
    let t1 = Device::start_spec(DeviceSpec::new("t1", Role::OrderTerminal, &relay.url()));
    for event in pass_shared::kitchen::sample::store_events().expect("store") {
        t1.append(&serde_json::to_value(&event).expect("event JSON"));
    }
    assert!(
        wait_until(PATIENCE, || {
            let s = status(&t1);
            s["cut_off"] == false && s["peers"].as_u64() == Some(1) && s["unconfirmed"] == 0
        }),
        "the terminal hears the grill and the grill holds the store set-up: {:#}",
        status(&t1)
    );

    relay.block();
    assert!(
        wait_until(PATIENCE, || status(&t1)["cut_off"] == true),
        "the terminal shows it is cut off: {:#}",
        status(&t1)
    );
    let opened = terminal(&t1, &["open", "--table", "12", "--guests", "2"]);
    let check = opened["check"].as_str().expect("check").to_owned();
    terminal(
        &t1,
        &["add", "--table", "12", "grilled_asparagus", "--seat", "1"],
    );
    terminal(&t1, &["send", "--table", "12"]);
    let cut = status(&t1);
    assert_eq!(cut["cut_off"], true, "{cut:#}");
    assert!(
        cut["unconfirmed"].as_u64().is_some_and(|n| n >= 4),
        "open, claim, add, send and release wait for a peer: {cut:#}"
    );
    let ticket = format!("{check}/1/grill/1");
    assert!(
        !grill_keys(&grill).contains(&ticket),
        "nothing reached the grill while the terminal was cut off"
    );
    let shown = terminal(&t1, &["show", "--table", "12", "--format", "json"]);
    assert_eq!(shown["check"]["lines"][0]["status_text"], "sent");

    relay.unblock();
    assert!(
        wait_until(PATIENCE, || grill_keys(&grill) == [ticket.clone()]),
        "the grill has the ticket, once: {:?}",
        grill_keys(&grill)
    );
    assert!(
        wait_until(PATIENCE, || {
            let s = status(&t1);
            s["cut_off"] == false && s["unconfirmed"] == 0
        }),
        "back in touch, every event confirmed: {:#}",
        status(&t1)
    );
    assert!(
        wait_until(PATIENCE, || {
            terminal(&t1, &["show", "--table", "12", "--format", "json"])["check"]["lines"][0]["status_text"]
                == "received ✓"
        }),
        "the terminal sees the grill has it: grill {:?} terminal {:?} view {:#}",
        kinds(&grill),
        kinds(&t1),
        terminal(&t1, &["show", "--table", "12", "--format", "json"])
    );
    assert_eq!(sends_held(&grill, &check), 1, "one send, held once");
    assert_eq!(grill_keys(&grill), [ticket], "still exactly one ticket");
}
