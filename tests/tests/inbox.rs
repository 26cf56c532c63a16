//! The integration inbox across real processes: a real Mosquitto on a loopback port of the
//! test's own, a kitchen screen that ingests the inbox (`pass device run --role kitchen-screen
//! --inbox`) and a second kitchen screen, each its own process with its own database. Orders are
//! published with `mosquitto_pub` as an online-ordering system would, following the AsyncAPI
//! document; answers are read with `mosquitto_sub`. A last test validates every event body of an
//! end-to-end run against the document's JSON Schemas with python jsonschema.
//!
//! Tests wait for outcomes with a generous limit and never assert timings.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use pass_shared::domain::menu::ItemId;
use pass_shared::net::protocol::v1::inbox::{MAX_ORDER_BYTES, ReplyV1, decode_reply};
use pass_tests::{
    Device, DeviceSpec, Mosquitto, PATIENCE, Role, SAMPLE_MENU, Subscription, TEST_STORE,
    all_see_each_other, order, own_heads, python, sample_menu, wait_converged, wait_until,
};
use serde_json::{Value, json};

const SOURCE: &str = "deliverydash";

fn orders_topic() -> String {
    format!("pass/v1/{TEST_STORE}/inbox/orders/{SOURCE}")
}

fn replies_topic() -> String {
    format!("pass/v1/{TEST_STORE}/inbox/replies/{SOURCE}")
}

/// An order as the AsyncAPI document describes it: two burgers (medium, with bacon) and fries,
/// for delivery, with the prices the integrator showed (16.50 each, 41.37 with tax).
fn delivery(order_id: &str) -> Value {
    json!({
        "v": 1,
        "type": "order",
        "source": SOURCE,
        "order_id": order_id,
        "order_type": "delivery",
        "customer": "Sam Lee",
        "notes": "ring twice",
        "items": [
            {"item": "classic_burger", "qty": 2, "modifiers": ["medium", "add_bacon"],
             "notes": "no pickles", "unit_price": "16.50"},
            {"item": "fries", "qty": 1}
        ],
        "total": "41.37"
    })
}

/// The store of these tests: a broker, `expo` ingesting the inbox, `grill` showing tickets,
/// both with the sample menu, and a subscription to the answers.
struct Store {
    broker: Mosquitto,
    expo: Device,
    grill: Device,
    answers: Subscription,
}

impl Store {
    fn start() -> Store {
        let broker = Mosquitto::start();
        let expo = Device::start_spec(
            DeviceSpec::new("expo", Role::KitchenScreen, &broker.url()).arg("--inbox"),
        );
        let grill = Device::start("grill", Role::KitchenScreen, &broker);
        assert!(wait_until(PATIENCE, || all_see_each_other(&[
            &expo, &grill
        ])));
        expo.append(&json!({"kind": "menu_published", "payload": {"toml": SAMPLE_MENU}}));
        wait_converged(&[&expo, &grill], &own_heads(&[&expo, &grill]));
        let answers = broker.subscribe(
            &format!("pass/v1/{TEST_STORE}/inbox/replies/+"),
            &format!("pass/v1/{TEST_STORE}/inbox/replies/probe"),
        );
        let store = Store {
            broker,
            expo,
            grill,
            answers,
        };
        store.wait_until_the_inbox_answers();
        store
    }

    /// Publishes unreadable orders (`probe-1`, `probe-2`…) until one is answered: then the
    /// ingesting device is subscribed (it subscribes on connecting, which may come after its
    /// control socket answers). Probes change nothing. The inbox answers in order, so once the
    /// last probe's answer is in, every answer to an earlier probe is too, and all are forgotten.
    fn wait_until_the_inbox_answers(&self) {
        let mut n = 0;
        let answered = wait_until(PATIENCE, || {
            n += 1;
            let id = format!("probe-{n}");
            self.publish(
                json!({"v": 1, "type": "order", "order_id": id})
                    .to_string()
                    .as_bytes(),
            );
            wait_until(std::time::Duration::from_millis(500), || {
                self.replies().iter().any(|(_, r)| {
                    matches!(r, ReplyV1::Refused(r) if r.order_id.as_deref() == Some(id.as_str()))
                })
            })
        });
        assert!(answered, "the inbox never answered\n{}", self.expo.log());
        self.answers.clear();
    }

    fn publish(&self, payload: &[u8]) {
        let (ok, out) = self.broker.publish(&orders_topic(), payload);
        assert!(ok, "mosquitto_pub failed: {out}");
    }

    /// The answers received so far on this source's reply topic, decoded, with their bytes.
    fn replies(&self) -> Vec<(String, ReplyV1)> {
        self.answers
            .messages()
            .into_iter()
            .filter(|(topic, _)| *topic == replies_topic())
            .map(|(_, payload)| {
                let reply = decode_reply(payload.as_bytes())
                    .unwrap_or_else(|e| panic!("an answer does not decode ({e}): {payload}"));
                (payload, reply)
            })
            .collect()
    }

    /// Publishes `payload` and waits for the one answer it gets.
    fn ask(&self, payload: &[u8]) -> (String, ReplyV1) {
        let before = self.replies().len();
        self.publish(payload);
        assert!(
            wait_until(PATIENCE, || self.replies().len() > before),
            "no answer to {}\n{}",
            String::from_utf8_lossy(&payload[..payload.len().min(300)]),
            self.expo.log()
        );
        let replies = self.replies();
        assert_eq!(
            replies.len(),
            before + 1,
            "one answer per order: {replies:?}"
        );
        replies[before].clone()
    }
}

/// Rows of `sql` (one text column) in a device's database, read-only while it runs.
fn texts(device: &Device, sql: &str, param: &str) -> Vec<String> {
    let db = pass_shared::journal::open_read_only(device.db()).expect("open read-only");
    let mut stmt = db.prepare(sql).expect("prepare");
    stmt.query_map([param], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .expect("query")
}

/// The tickets a screen holds for `check`: ticket id → the lines on it. Err when a ticket is
/// there twice or lists a line twice.
fn tickets_of(screen: &Device, check: &str) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    let db = pass_shared::journal::open_read_only(screen.db()).map_err(|e| e.to_string())?;
    let mut stmt = db
        .prepare("SELECT ticket_id, items FROM proj_tickets WHERE check_id = ?1")
        .map_err(|e| e.to_string())?;
    let rows: Vec<(String, String)> = stmt
        .query_map([check], |r| Ok((r.get(0)?, r.get(1)?)))
        .and_then(|rows| rows.collect())
        .map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    for (id, items) in rows {
        let items: Value = serde_json::from_str(&items).map_err(|e| e.to_string())?;
        let lines: Vec<String> = items
            .as_array()
            .ok_or("items is not an array")?
            .iter()
            .filter_map(|i| i["line"].as_str().map(str::to_owned))
            .collect();
        let unique: BTreeSet<String> = lines.iter().cloned().collect();
        if unique.len() != lines.len() || out.insert(id.clone(), unique).is_some() {
            return Err(format!("ticket {id} twice, or a line twice on it: {items}"));
        }
    }
    Ok(out)
}

/// The tickets the delivery order must make, from the menu's routing: ticket id → lines.
fn expected_tickets(check: &str) -> BTreeMap<String, BTreeSet<String>> {
    let menu = sample_menu();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (n, item) in ["classic_burger", "fries"].iter().enumerate() {
        let found = menu.item(&ItemId::new(*item)).expect("on the menu");
        for station in found.stations() {
            out.entry(format!("{check}/1/{station}/1"))
                .or_default()
                .insert(format!("{check}:{}", n + 1));
        }
    }
    out
}

fn accepted_number(reply: &ReplyV1) -> &str {
    match reply {
        ReplyV1::Accepted(a) => &a.number,
        ReplyV1::Refused(r) => panic!("refused: {r:?}"),
    }
}

#[test]
fn an_order_published_three_times_reaches_the_kitchen_once_and_is_answered_the_same_three_times() {
    let mut store = Store::start();
    let check = format!("inbox:{SOURCE}:DD-1001");
    let order = delivery("DD-1001").to_string();
    for _ in 0..3 {
        store.publish(order.as_bytes());
    }
    assert!(
        wait_until(PATIENCE, || store.replies().len() >= 3),
        "three answers expected: {:?}\n{}",
        store.replies(),
        store.expo.log()
    );
    let replies = store.replies();
    assert_eq!(replies.len(), 3, "{replies:?}");
    assert!(
        replies.iter().all(|(bytes, _)| *bytes == replies[0].0),
        "the same answer three times: {replies:?}"
    );
    let ReplyV1::Accepted(first) = &replies[0].1 else {
        panic!("refused: {replies:?}");
    };
    assert_eq!(
        (
            first.order_id.as_str(),
            first.number.as_str(),
            first.check.as_str(),
            first.total.as_str()
        ),
        ("DD-1001", "W1", check.as_str(), "41.37")
    );

    // The grill screen shows the order's tickets, each once, with exactly its lines.
    let expected = expected_tickets(&check);
    let mut last = Ok(BTreeMap::new());
    let shown = wait_until(PATIENCE, || {
        last = tickets_of(&store.grill, &check);
        last.as_ref() == Ok(&expected)
    });
    assert!(shown, "grill shows {last:?}, expected {expected:?}");
    // Everything the ingesting device wrote has reached the screen, and it was written once:
    // the opening, the lines and the send, after the menu.
    let heads = own_heads(&[&store.expo, &store.grill]);
    wait_converged(&[&store.expo, &store.grill], &heads);
    let kinds = texts(
        &store.grill,
        "SELECT kind FROM events WHERE origin = ?1 ORDER BY seq",
        store.expo.origin(),
    );
    assert_eq!(
        kinds,
        [
            "device_joined",
            "menu_published",
            "check_opened",
            "lines_added",
            "items_sent"
        ]
    );
    assert_eq!(tickets_of(&store.grill, &check), Ok(expected.clone()));

    // A restarted ingesting device still knows the order: the same answer, nothing written.
    store.expo.restart();
    store.wait_until_the_inbox_answers();
    let (again, _) = store.ask(order.as_bytes());
    assert_eq!(again, replies[0].0);
    let (_, next) = store.ask(delivery("DD-1002").to_string().as_bytes());
    assert_eq!(accepted_number(&next), "W2");
    wait_converged(
        &[&store.expo, &store.grill],
        &own_heads(&[&store.expo, &store.grill]),
    );
    assert_eq!(
        texts(
            &store.grill,
            "SELECT COUNT(*) || '' FROM events WHERE kind = 'check_opened' AND origin = ?1",
            store.expo.origin()
        ),
        ["2"],
        "DD-1001 once and DD-1002"
    );
    assert_eq!(tickets_of(&store.grill, &check), Ok(expected));
}

/// A malformed order and the refusal it must get: its code, the order id it names (none when
/// the message has no readable one) and the line it is about.
struct Case {
    what: &'static str,
    payload: Vec<u8>,
    code: &'static str,
    order_id: Option<&'static str>,
    line: Option<u64>,
}

impl Case {
    fn new(
        what: &'static str,
        payload: Vec<u8>,
        code: &'static str,
        order_id: Option<&'static str>,
        line: Option<u64>,
    ) -> Case {
        Case {
            what,
            payload,
            code,
            order_id,
            line,
        }
    }
}

#[test]
fn malformed_orders_get_their_reason_on_the_reply_topic_and_change_nothing() {
    let store = Store::start();
    store.expo.append(&json!({
        "kind": "item_eighty_sixed",
        "payload": {"item": "onion_rings", "reason": "out of onions"}
    }));
    wait_converged(
        &[&store.expo, &store.grill],
        &own_heads(&[&store.expo, &store.grill]),
    );
    let before: Vec<Value> = [&store.expo, &store.grill]
        .iter()
        .map(|d| {
            let s = d.status();
            json!([s["heads"], s["events"], s["set_aside"]])
        })
        .collect();
    let dump = |d: &Device| {
        let db = pass_shared::journal::open_read_only(d.db()).expect("open read-only");
        pass_shared::projection::dump(&db).expect("dump")
    };
    let projections = (dump(&store.expo), dump(&store.grill));

    let edit = |id: &str, change: &dyn Fn(&mut Value)| {
        let mut v = delivery(id);
        change(&mut v);
        v.to_string().into_bytes()
    };
    let cases = vec![
        Case::new(
            "not JSON",
            b"{\"v\":1,\"type\":\"order\",".to_vec(),
            "malformed",
            None,
            None,
        ),
        Case::new(
            "a misspelt field",
            edit("BAD-1", &|v| {
                let line = v["items"][0].as_object_mut().expect("a line");
                let modifiers = line.remove("modifiers").expect("modifiers");
                line.insert("modifers".into(), modifiers);
            }),
            "malformed",
            Some("BAD-1"),
            None,
        ),
        Case::new(
            "a price as a float",
            edit("BAD-2", &|v| v["total"] = json!(41.37)),
            "malformed",
            Some("BAD-2"),
            None,
        ),
        Case::new(
            "version 2",
            edit("BAD-3", &|v| v["v"] = json!(2)),
            "unknown_version",
            Some("BAD-3"),
            None,
        ),
        Case::new(
            "another source's order",
            edit("BAD-4", &|v| v["source"] = json!("webshop")),
            "source_mismatch",
            Some("BAD-4"),
            None,
        ),
        Case::new(
            "dine-in",
            edit("BAD-5", &|v| v["order_type"] = json!("dine_in")),
            "bad_order_type",
            Some("BAD-5"),
            None,
        ),
        Case::new(
            "no items",
            edit("BAD-6", &|v| v["items"] = json!([])),
            "bad_items",
            Some("BAD-6"),
            None,
        ),
        Case::new(
            "an item not on the menu",
            edit("BAD-7", &|v| v["items"][1]["item"] = json!("truffle_pizza")),
            "unknown_item",
            Some("BAD-7"),
            Some(1),
        ),
        Case::new(
            "a burger without its doneness",
            edit("BAD-8", &|v| {
                v["items"][0]["modifiers"] = json!(["add_bacon"])
            }),
            "missing_forced_modifier",
            Some("BAD-8"),
            Some(0),
        ),
        Case::new(
            "a modifier the item does not offer",
            edit("BAD-9", &|v| v["items"][1]["modifiers"] = json!(["medium"])),
            "bad_modifiers",
            Some("BAD-9"),
            Some(1),
        ),
        Case::new(
            "an 86'd item",
            edit("BAD-10", &|v| {
                v["items"][1]["item"] = json!("onion_rings");
                v.as_object_mut().expect("object").remove("total");
            }),
            "eighty_sixed",
            Some("BAD-10"),
            Some(1),
        ),
        Case::new(
            "a quantity of 0",
            edit("BAD-11", &|v| v["items"][1]["qty"] = json!(0)),
            "bad_quantity",
            Some("BAD-11"),
            Some(1),
        ),
        Case::new(
            "a quantity of 1000",
            edit("BAD-12", &|v| v["items"][1]["qty"] = json!(1000)),
            "bad_quantity",
            Some("BAD-12"),
            Some(1),
        ),
        Case::new(
            "a price that is not the menu's",
            edit("BAD-13", &|v| v["items"][0]["unit_price"] = json!("12.00")),
            "price_mismatch",
            Some("BAD-13"),
            Some(0),
        ),
        Case::new(
            "a total that is not the menu's",
            edit("BAD-14", &|v| v["total"] = json!("38.00")),
            "price_mismatch",
            Some("BAD-14"),
            None,
        ),
        Case::new(
            "a requested time that is not a time",
            edit("BAD-15", &|v| v["requested_for"] = json!("tonight")),
            "bad_requested_time",
            Some("BAD-15"),
            None,
        ),
        Case::new(
            "an order id with a slash",
            edit("BAD/16", &|_| {}),
            "bad_order_id",
            None,
            None,
        ),
        Case::new(
            "an oversized order",
            edit("BAD-17", &|v| {
                v["notes"] = json!("x".repeat(MAX_ORDER_BYTES))
            }),
            "too_large",
            None,
            None,
        ),
    ];
    for Case {
        what,
        payload,
        code,
        order_id,
        line,
    } in &cases
    {
        let (text, reply) = store.ask(payload);
        let ReplyV1::Refused(refused) = &reply else {
            panic!("{what}: taken: {text}");
        };
        let wire: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(
            (
                wire["code"].as_str(),
                refused.order_id.as_deref(),
                wire["line"].as_u64()
            ),
            (Some(*code), *order_id, *line),
            "{what}: {text}"
        );
        assert!(
            !refused.reason.is_empty(),
            "{what}: a reason for a person: {text}"
        );
    }

    // Nothing changed anywhere: no event, no check, nothing set aside.
    let after: Vec<Value> = [&store.expo, &store.grill]
        .iter()
        .map(|d| {
            let s = d.status();
            json!([s["heads"], s["events"], s["set_aside"]])
        })
        .collect();
    assert_eq!(after, before);
    assert_eq!((dump(&store.expo), dump(&store.grill)), projections);

    // The same order, put right, is taken.
    let (_, reply) = store.ask(delivery("BAD-14").to_string().as_bytes());
    assert_eq!(accepted_number(&reply), "W1");
}

// ---------------------------------------------------------------------------------------------
// Every event body of an end-to-end run against the AsyncAPI document

fn asyncapi_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/asyncapi/pass.asyncapi.json")
}

fn validator_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python/validate_events.py")
}

/// Runs the python validator over `events` ({label, body} each); its success and its output.
fn validate(events: &[Value]) -> (bool, String) {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), Value::Array(events.to_vec()).to_string()).expect("write");
    let out = Command::new(python())
        .arg(validator_path())
        .arg(asyncapi_path())
        .arg(file.path())
        .output()
        .expect("run the python validator");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Every event in the devices' journals, once each: {label: "<origin>/<seq> <kind>", body}.
fn every_event(devices: &[&Device]) -> Vec<Value> {
    let mut seen = BTreeMap::new();
    for device in devices {
        let db = pass_shared::journal::open_read_only(device.db()).expect("open read-only");
        let mut stmt = db
            .prepare("SELECT origin, seq, kind, body FROM events")
            .expect("prepare");
        let rows: Vec<(String, i64, String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .and_then(|rows| rows.collect())
            .expect("events");
        for (origin, seq, kind, body) in rows {
            let body: Value = serde_json::from_str(&body).expect("a stored body is JSON");
            seen.insert(
                (origin.clone(), seq),
                json!({"label": format!("{origin}/{seq} {kind}"), "body": body}),
            );
        }
    }
    seen.into_values().collect()
}

#[test]
fn every_event_body_of_an_end_to_end_run_matches_the_asyncapi_document() {
    let store = Store::start();
    let t1 = Device::start("t1", Role::OrderTerminal, &store.broker);
    let all = [&store.expo, &store.grill, &t1];
    assert!(wait_until(PATIENCE, || all_see_each_other(&all)));
    let (expo, grill) = (&store.expo, &store.grill);

    // The store's set-up, as the console and a manager write it.
    let pin_hash = pass_shared::domain::staff::PinHash::new("2468", [7; 16]).expect("hash");
    for event in [
        json!({"kind": "staff_added", "payload": {"staff": "maria", "name": "Maria", "role": "manager", "pin_hash": pin_hash.as_str()}}),
        json!({"kind": "clocked_in", "payload": {"staff": "maria"}}),
        json!({"kind": "setting_changed", "payload": {"setting": {"setting": "day_cutoff_hour", "value": 4}, "by": "maria"}}),
        json!({"kind": "setting_changed", "payload": {"setting": {"setting": "time_zone", "value": "Europe/London"}, "by": "maria"}}),
        json!({"kind": "setting_changed", "payload": {"setting": {"setting": "deduct_stock_on", "value": "send"}, "by": "maria"}}),
        json!({"kind": "setting_changed", "payload": {"setting": {"setting": "offline_card_cap", "value": "150.00"}, "by": "maria"}}),
        json!({"kind": "stock_received", "payload": {"ingredient": "beef_patty", "qty": "40"}}),
        json!({"kind": "stock_counted", "payload": {"ingredient": "potato_fries", "qty": "12500.5"}}),
        json!({"kind": "item_eighty_sixed", "payload": {"item": "onion_rings", "reason": "out of onions"}}),
        json!({"kind": "item_restored", "payload": {"item": "onion_rings"}}),
    ] {
        expo.append(&event);
    }

    // An online order through the inbox.
    let (_, reply) = store.ask(delivery("DD-2001").to_string().as_bytes());
    assert_eq!(accepted_number(&reply), "W1");
    let inbox_check = format!("inbox:{SOURCE}:DD-2001");

    // A table's order through the harness, and what a terminal does to a check.
    let menu = sample_menu();
    let table = order(
        &menu,
        &["caesar_salad", "classic_burger", "fries"],
        "t1",
        'A',
        2,
        0,
    );
    for event in &table.events {
        t1.append(event);
    }
    let check = "t1-o2";
    let lines: Vec<String> = table
        .tickets
        .values()
        .flat_map(|(_, l)| l.clone())
        .collect();
    let line = lines.first().expect("a line").clone();
    let approval = |extra: Value| {
        let mut p =
            json!({"check": check, "manager": "maria", "reason": "guest changed their mind"});
        for (k, v) in extra.as_object().expect("object") {
            p[k] = v.clone();
        }
        p
    };
    for event in [
        json!({"kind": "check_claimed", "payload": {"check": check, "device": "t1", "staff": "maria"}}),
        json!({"kind": "course_held", "payload": {"check": check, "course": 3}}),
        json!({"kind": "course_fired", "payload": {"check": check, "course": 3}}),
        json!({"kind": "line_discounted", "payload": approval(json!({"line": line, "discount": {"percent": "10"}}))}),
        json!({"kind": "line_comped", "payload": approval(json!({"line": line}))}),
        json!({"kind": "line_voided", "payload": approval(json!({"line": line}))}),
        json!({"kind": "check_discounted", "payload": approval(json!({"discount": {"amount": "2.00"}}))}),
        json!({"kind": "check_moved", "payload": {"check": check, "table": "T7"}}),
        json!({"kind": "check_split", "payload": {"check": check, "split": {"by": "evenly", "parts": 2}}}),
        json!({"kind": "check_opened", "payload": {"check": "t1-o3", "number": "A3", "order_type": "dine_in", "table": "T8", "guests": 1, "seats": 1, "server": "maria"}}),
        json!({"kind": "checks_merged", "payload": {"check": check, "from": "t1-o3"}}),
        json!({"kind": "sign_in_alert", "payload": {"device": "t1", "wrong_in_a_row": 5, "wrong_recently": 5}}),
        json!({"kind": "payment_recorded", "payload": {"check": check, "payment": "t1-p1", "amount": "20.00"}}),
        json!({"kind": "check_closed", "payload": {"check": check}}),
        json!({"kind": "check_reopened", "payload": approval(json!({}))}),
        json!({"kind": "check_released", "payload": {"check": check, "device": "t1"}}),
    ] {
        t1.append(&event);
    }

    // Payments on the reopened check: a bar tab captured and tip-adjusted, an offline card
    // payment and its upload, cash with change and a refund, a declined card, a receipt that
    // did not print; the card batch and the cash drawer.
    let card = |reference: &str, auth: Option<&str>| {
        json!({"token": "tok_testtesttest", "brand": "visa", "last4": "4242",
            "auth_code": auth, "reference": reference})
    };
    let mut offline = card("t1-offline-0001", None);
    offline["offline_expires_ms"] = json!(1_777_723_200_000_i64);
    offline["offline_approved_by"] = json!("maria");
    for event in [
        json!({"kind": "tab_opened", "payload": {"check": check, "payment": "t1-tab", "hold": "30.00", "card": card("t1-hold-0001", Some("A00001")), "seat": 1, "staff": "maria"}}),
        json!({"kind": "payment_taken", "payload": {"check": check, "payment": "t1-tab", "tender": "card", "amount": "5.00", "tip": "0.00", "card": card("t1-capture-0001", Some("A00002")), "staff": "maria"}}),
        json!({"kind": "tip_adjusted", "payload": {"check": check, "payment": "t1-tab", "tip": "1.00", "reference": "t1-adjust-0001", "staff": "maria"}}),
        json!({"kind": "payment_taken", "payload": {"check": check, "payment": "t1-p2", "tender": "card", "amount": "1.00", "tip": "0.00", "card": offline, "staff": "maria"}}),
        json!({"kind": "offline_payment_uploaded", "payload": {"check": check, "payment": "t1-p2", "outcome": {"result": "approved", "auth_code": "A00003"}}}),
        json!({"kind": "payment_taken", "payload": {"check": check, "payment": "t1-p3", "tender": "cash", "amount": "2.00", "tip": "0.00", "seat": 1, "cash": {"tendered": "5.00", "change": "3.00", "drawer": "t1"}, "staff": "maria"}}),
        json!({"kind": "payment_refunded", "payload": {"check": check, "payment": "t1-p3", "refund": "t1-refund-0001", "amount": "1.00", "tender": "cash", "drawer": "t1", "manager": "maria", "reason": "cold fries"}}),
        json!({"kind": "card_declined", "payload": {"check": check, "reference": "t1-declined-0001", "amount": "3.00", "code": "card_declined", "message": "the card was declined by its issuer", "staff": "maria"}}),
        json!({"kind": "receipt_printed", "payload": {"check": check, "copy": "customer", "printer": "127.0.0.1:9100", "error": "printer 127.0.0.1:9100 not reachable: connection refused"}}),
        json!({"kind": "card_batch_closed", "payload": {"terminal": "127.0.0.1:7700", "batch": "B0001", "count": 2, "captured": "7.00", "refunded": "0.00", "recorded_captured": "7.00", "refs": ["t1-capture-0001", "t1-offline-0001"], "staff": "maria"}}),
        json!({"kind": "drawer_opened", "payload": {"drawer": "t1", "float": "100.00", "staff": "maria"}}),
        json!({"kind": "drawer_counted", "payload": {"drawer": "t1", "counted": "101.00", "expected": "101.00", "staff": "maria"}}),
    ] {
        t1.append(&event);
    }

    // The kitchen works the online order's tickets.
    let tickets = expected_tickets(&inbox_check);
    let mut last = Ok(BTreeMap::new());
    assert!(
        wait_until(PATIENCE, || {
            last = tickets_of(grill, &inbox_check);
            last.as_ref() == Ok(&tickets)
        }),
        "grill: {last:?}"
    );
    let (ticket, ticket_lines) = tickets.iter().next().expect("a ticket");
    let ticket_line = ticket_lines.iter().next().expect("a line");
    for event in [
        json!({"kind": "ticket_shown", "payload": {"check": inbox_check, "ticket": ticket, "at_ms": 1_777_636_800_000_i64}}),
        json!({"kind": "ticket_started", "payload": {"check": inbox_check, "ticket": ticket}}),
        json!({"kind": "ticket_priority", "payload": {"check": inbox_check, "ticket": ticket, "rush": true}}),
        json!({"kind": "item_done", "payload": {"check": inbox_check, "ticket": ticket, "line": ticket_line, "at_ms": 1_777_636_860_000_i64}}),
        json!({"kind": "ticket_bumped", "payload": {"check": inbox_check, "ticket": ticket, "at_ms": 1_777_636_900_000_i64}}),
        json!({"kind": "ticket_recalled", "payload": {"check": inbox_check, "ticket": ticket}}),
        json!({"kind": "expo_bumped", "payload": {"check": inbox_check, "course": 1, "at_ms": 1_777_636_960_000_i64, "force_reason": "the guest is leaving"}}),
        json!({"kind": "expo_bumped", "payload": {"check": inbox_check, "course": 1, "at_ms": 1_777_636_970_000_i64, "force_reason": null}}),
    ] {
        grill.append(&event);
    }

    // The end of the day.
    expo.append(&json!({"kind": "clocked_out", "payload": {"staff": "maria"}}));
    expo.append(&json!({"kind": "staff_retired", "payload": {"staff": "maria"}}));
    expo.append(&json!({"kind": "device_retired", "payload": {"origin": "0123456789abcdef", "reason": "screen replaced"}}));
    let heads: BTreeMap<String, u64> = own_heads(&all);
    expo.append(
        &json!({"kind": "day_closed", "payload": {"business_day": "2026-05-01", "heads": heads}}),
    );
    wait_converged(&all, &own_heads(&all));

    let events = every_event(&all);
    let kinds: BTreeSet<String> = events
        .iter()
        .filter_map(|e| e["body"]["kind"].as_str().map(str::to_owned))
        .collect();
    let doc: Value = serde_json::from_str(pass_shared::net::protocol::ASYNCAPI).expect("JSON");
    let documented: BTreeSet<String> = doc["components"]["schemas"]["EventKind"]["enum"]
        .as_array()
        .expect("kinds")
        .iter()
        .filter_map(|k| k.as_str().map(str::to_owned))
        .collect();
    assert_eq!(kinds, documented, "the run writes every documented kind");

    let (ok, out) = validate(&events);
    println!("{out}");
    assert!(
        ok,
        "event bodies that do not match the AsyncAPI document:\n{out}"
    );
    assert!(
        out.contains(&format!("{} event bodies checked", events.len())),
        "{out}"
    );

    // The check is not vacuous: a body that breaks the document is named with its error.
    let mut broken = events
        .iter()
        .find(|e| e["body"]["kind"] == "lines_added")
        .expect("a lines_added")
        .clone();
    broken["label"] = json!("broken lines_added");
    broken["body"]["payload"]["lines"][0]["unit_price"] = json!(16.5);
    let (ok, out) = validate(&[broken]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("broken lines_added: at /payload/lines/0/unit_price"),
        "{out}"
    );
}
