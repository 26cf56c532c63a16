//! A table and a bar tab paid end to end through `pass pay`, on a terminal with its card
//! terminal (the simulator process), a real Mosquitto and a kitchen screen: a four-top split by
//! seat (cash with change, a card with a tip, two more cards), a refund with a manager's PIN,
//! a bar tab pre-authorised, closed and tip-adjusted, the cash drawer counted, and the card
//! batch closed. Every amount is checked to the cent against the worked table below; the batch
//! total is the sum of the card captures; the kitchen screen holds the same payments; every
//! event body matches the AsyncAPI document; no card number is on any disk or in any log.
//!
//! # The worked table
//!
//! Sample menu, dine-in: sales tax 8.875 % on everything, liquor tax 2.5 % on alcohol, each
//! rounded once per check (half away from zero).
//!
//! | check A1, table T4 | seat 1 | seat 2 | seat 3 | seat 4 | check |
//! |---|---|---|---|---|---|
//! | lines | burger 14.50, cola 3.50 | salmon 28.00, white wine 10.00 | caesar 13.00, IPA 8.00 | ribeye 42.00, sparkling 4.00 | 123.00 |
//! | sales tax: 123.00 × 8.875 % = 10.91625 | | | | | 10.92 |
//! | liquor tax: 18.00 × 2.5 % | | | | | 0.45 |
//! | total | | | | | 134.37 |
//! | weight: Σ line × (100 + its exclusive %) | 1959.75 | 4162.25 | 2306.375 | 5008.25 | 13436.625 |
//! | exact share of 134.37 | 19.5980… | 41.6237… | 23.0644… | 50.0839… | |
//! | share (cents down, then the 2 cents left to the largest remainders: seats 1 and 3) | 19.60 | 41.62 | 23.07 | 50.08 | 134.37 |
//! | paid by | cash 25.00, change 5.40 | Visa, tip 8.00 | Mastercard | Amex, tip 9.00 | |
//! | card captured (amount + tip) | | 49.62 | 23.07 | 59.08 | |
//! | refund (manager) | | | −5.00 | | paid 129.37 net |
//!
//! | check A2, the bar, seat 1 | |
//! |---|---|
//! | negroni 14.00, stout 8.00 | 22.00 |
//! | sales tax 22.00 × 8.875 % = 1.9525; liquor tax 22.00 × 2.5 % | 1.95 + 0.55 |
//! | total | 24.50 |
//! | pre-authorised (Visa) | 30.00 held (capture allowed up to 37.50) |
//! | tab closed: captured | 24.50 |
//! | tip adjusted after signing | 4.50 → 29.00 |
//!
//! | card batch | |
//! |---|---|
//! | captured: 49.62 + 23.07 + 59.08 + 29.00 | 160.77 |
//! | refunded | 5.00 |
//! | net | 155.77 |
//! | transactions: 4 captures, 1 refund | 5 |
//!
//! | cash drawer t1 | |
//! |---|---|
//! | float | 100.00 |
//! | tendered 25.00 − change 5.40 | +19.60 |
//! | expected at close | 119.60 |

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use pass_tests::payments::{
    BARTENDER_PIN, CardSim, MANAGER_PIN, SERVER_PIN, card_number_hits, cards, open_check, pay,
    pay_ok, set_up_payments, set_up_store, view,
};
use pass_tests::{
    Device, DeviceSpec, Mosquitto, PATIENCE, Role, own_heads, pass, python, wait_converged,
    wait_until,
};
use serde_json::{Value, json};

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// The payments a device's projections hold for a check: (kind, tender, amount, tip).
fn payment_rows(device: &Device, check: &str) -> Vec<(String, String, i64, i64)> {
    let db = pass_shared::journal::open_read_only(device.db()).expect("open read-only");
    let mut stmt = db
        .prepare(
            "SELECT kind, tender, amount_cents, tip_cents FROM proj_payments
             WHERE check_id = ?1 ORDER BY hlc, kind",
        )
        .expect("prepare");
    stmt.query_map([check], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })
    .and_then(|rows| rows.collect())
    .expect("rows")
}

fn asyncapi_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/asyncapi/pass.asyncapi.json")
}

/// Every event body in the devices' journals, checked against the AsyncAPI document's schemas
/// by the python validator; its success and output.
fn validate_every_event(devices: &[&Device]) -> (bool, String) {
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
    let events: Vec<Value> = seen.into_values().collect();
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), Value::Array(events).to_string()).expect("write");
    let out = Command::new(python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("python/validate_events.py"))
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

#[test]
fn a_four_top_split_by_seat_and_a_bar_tab_are_paid_to_the_cent_and_batched() {
    let broker = Mosquitto::start();
    let sim = CardSim::start(2_500);
    let kitchen = Device::start_spec(
        DeviceSpec::new("grill", Role::KitchenScreen, &broker.url()).station("grill"),
    );
    let terminal = Device::start("t1", Role::OrderTerminal, &broker);
    set_up_store(&terminal);
    set_up_payments(&terminal, Some(&sim.address()), None);
    let drawer = pay_ok(
        &terminal,
        &["drawer-open", "--pin", MANAGER_PIN, "--float", "100.00"],
    );
    assert_eq!(drawer["expected"], "100.00");

    open_check(
        &terminal,
        "t1-c1",
        "A1",
        "T4",
        4,
        &[
            ("classic_burger", 1),
            ("cola", 1),
            ("seared_salmon", 2),
            ("house_white_glass", 2),
            ("caesar_salad", 3),
            ("draught_ipa", 3),
            ("ribeye", 4),
            ("sparkling_water", 4),
        ],
    );
    // The kitchen screen has the table's grill tickets.
    assert!(
        wait_until(PATIENCE, || {
            let (_, out) = pass(&[
                "kitchen",
                "--control",
                kitchen.control_path().to_str().expect("utf-8"),
                "list",
                "--format",
                "json",
            ]);
            out.contains("\"t1-c1\"")
        }),
        "the grill screen shows the table's tickets"
    );

    let table = view(&terminal, "t1-c1");
    assert_eq!(table["total"], "134.37");
    let shares: Vec<(u64, String)> = table["seats"]
        .as_array()
        .expect("seats")
        .iter()
        .map(|s| {
            (
                s["seat"].as_u64().unwrap_or(0),
                text(&s["share"]).to_owned(),
            )
        })
        .collect();
    assert_eq!(
        shares,
        [
            (1, "19.60".to_owned()),
            (2, "41.62".to_owned()),
            (3, "23.07".to_owned()),
            (4, "50.08".to_owned())
        ]
    );

    // Seat 1, cash: 25.00 for 19.60, change 5.40.
    let seat1 = pay_ok(
        &terminal,
        &[
            "cash",
            "t1-c1",
            "--pin",
            SERVER_PIN,
            "--seat",
            "1",
            "--tendered",
            "25.00",
        ],
    );
    assert_eq!(
        (&seat1["amount"], &seat1["tendered"], &seat1["change"]),
        (&"19.60".into(), &"25.00".into(), &"5.40".into())
    );
    assert_eq!(seat1["check"]["balance_due"], "114.77");
    // Seat 2, Visa with an 8.00 tip chosen on the terminal.
    let seat2 = pay_ok(
        &terminal,
        &[
            "card", "t1-c1", "--pin", SERVER_PIN, "--seat", "2", "--tip", "8.00",
        ],
    );
    assert_eq!(
        (&seat2["amount"], &seat2["tip"]),
        (&"41.62".into(), &"8.00".into())
    );
    assert_eq!(seat2["card"]["brand"], "visa");
    // Seat 3, Mastercard.
    sim.tap(cards::MASTERCARD);
    let seat3 = pay_ok(
        &terminal,
        &["card", "t1-c1", "--pin", SERVER_PIN, "--seat", "3"],
    );
    assert_eq!(
        (&seat3["amount"], &seat3["card"]["last4"]),
        (&"23.07".into(), &"4444".into())
    );
    assert_eq!(seat3["check"]["balance_due"], "50.08");
    // Seat 4, Amex with a 9.00 tip: the check is paid and closes.
    sim.tap(cards::AMEX);
    let seat4 = pay_ok(
        &terminal,
        &[
            "card", "t1-c1", "--pin", SERVER_PIN, "--seat", "4", "--tip", "9.00",
        ],
    );
    assert_eq!(
        (&seat4["amount"], &seat4["tip"]),
        (&"50.08".into(), &"9.00".into())
    );
    assert_eq!(
        (
            &seat4["check"]["state"],
            &seat4["check"]["paid"],
            &seat4["check"]["tips"]
        ),
        (&"closed".into(), &"134.37".into(), &"17.00".into())
    );

    // A refund of 5.00 on seat 3's card: a server may not, a manager may, with a reason.
    let seat3_payment = text(&seat3["payment"]).to_owned();
    let refund = |pin: &str| {
        pay(
            &terminal,
            &[
                "refund",
                "t1-c1",
                "--manager-pin",
                pin,
                "--payment",
                &seat3_payment,
                "--amount",
                "5.00",
                "--reason",
                "salad sent back",
            ],
        )
    };
    let (ok, refused) = refund(SERVER_PIN);
    assert!(
        !ok && text(&refused["error"]).contains("may not give refunds"),
        "{refused:#}"
    );
    let (ok, refund) = refund(MANAGER_PIN);
    assert!(ok, "{refund:#}");
    assert_eq!(
        (
            &refund["amount"],
            &refund["manager"],
            &refund["check"]["paid"],
            &refund["check"]["refunded"]
        ),
        (
            &"5.00".into(),
            &"maria".into(),
            &"129.37".into(),
            &"5.00".into()
        )
    );

    // The bar tab: 30.00 held, closed for 24.50, then 4.50 tip written on the slip.
    open_check(
        &terminal,
        "t1-c2",
        "A2",
        "B1",
        1,
        &[("negroni", 1), ("draught_stout", 1)],
    );
    assert_eq!(view(&terminal, "t1-c2")["total"], "24.50");
    let (ok, refused) = pay(
        &terminal,
        &["tab-open", "t1-c2", "--pin", SERVER_PIN, "--hold", "30.00"],
    );
    assert!(
        !ok && text(&refused["error"]).contains("may not open bar tabs"),
        "{refused:#}"
    );
    let tab = pay_ok(
        &terminal,
        &[
            "tab-open",
            "t1-c2",
            "--pin",
            BARTENDER_PIN,
            "--hold",
            "30.00",
        ],
    );
    assert_eq!(
        (&tab["hold"], &tab["check"]["paid"]),
        (&"30.00".into(), &"0.00".into())
    );
    let closed = pay_ok(&terminal, &["tab-close", "t1-c2", "--pin", BARTENDER_PIN]);
    assert_eq!(
        (&closed["amount"], &closed["tip"], &closed["check"]["state"]),
        (&"24.50".into(), &"0.00".into(), &"closed".into())
    );
    let tab_payment = text(&tab["payment"]).to_owned();
    let tipped = pay_ok(
        &terminal,
        &[
            "tip",
            "t1-c2",
            "--pin",
            BARTENDER_PIN,
            "--payment",
            &tab_payment,
            "--tip",
            "4.50",
        ],
    );
    assert_eq!(
        (&tipped["tip"], &tipped["check"]["tips"]),
        (&"4.50".into(), &"4.50".into())
    );

    // The cash drawer: 100.00 float + 25.00 tendered − 5.40 change.
    let drawer = pay_ok(&terminal, &["drawer", "--pin", MANAGER_PIN]);
    assert_eq!(
        (
            &drawer["cash_sales"],
            &drawer["change"],
            &drawer["expected"]
        ),
        (&"19.60".into(), &"5.40".into(), &"119.60".into())
    );
    let count = pay_ok(
        &terminal,
        &["drawer-count", "--pin", MANAGER_PIN, "--counted", "119.60"],
    );
    assert_eq!(count["over_short"], "0.00");

    // The batch: the terminal's totals are the sum of the card captures of the table above.
    let (ok, refused) = pay(&terminal, &["batch-close", "--pin", SERVER_PIN]);
    assert!(!ok && text(&refused["error"]).contains("may not close the card batch"));
    let batch = pay_ok(&terminal, &["batch-close", "--pin", MANAGER_PIN]);
    assert_eq!(
        (
            &batch["captured"],
            &batch["refunded"],
            &batch["net"],
            &batch["count"]
        ),
        (
            &"160.77".into(),
            &"5.00".into(),
            &"155.77".into(),
            &5.into()
        )
    );
    assert_eq!(
        (&batch["recorded_captured"], &batch["matches"]),
        (&"160.77".into(), &true.into())
    );
    let captures: Vec<Value> = sim
        .log()
        .into_iter()
        .filter(|e| e["effect"] == "capture")
        .collect();
    assert_eq!(captures.len(), 4, "four captures, each once: {captures:#?}");
    assert!(
        pay_ok(&terminal, &["alerts"])["alerts"]
            .as_array()
            .is_some_and(|a| a.iter().all(|x| x["open"] == false)),
        "nothing for a manager to look at"
    );

    // The kitchen screen holds the same payments (the journal replicates them).
    let heads = own_heads(&[&terminal, &kitchen]);
    wait_converged(&[&terminal, &kitchen], &heads);
    for check in ["t1-c1", "t1-c2"] {
        assert_eq!(
            payment_rows(&kitchen, check),
            payment_rows(&terminal, check),
            "{check}"
        );
    }
    assert_eq!(
        payment_rows(&kitchen, "t1-c1"),
        [
            ("payment".to_owned(), "cash".to_owned(), 1960, 0),
            ("payment".to_owned(), "card".to_owned(), 4162, 800),
            ("payment".to_owned(), "card".to_owned(), 2307, 0),
            ("payment".to_owned(), "card".to_owned(), 5008, 900),
            ("refund".to_owned(), "card".to_owned(), 500, 0),
        ]
    );

    let (ok, out) = validate_every_event(&[&terminal, &kitchen]);
    assert!(ok, "{out}");

    let dirs = [
        terminal.db().parent().expect("dir"),
        kitchen.db().parent().expect("dir"),
        sim.dir(),
        broker.dir(),
    ];
    let hits = card_number_hits(&dirs, &cards::ALL);
    assert!(hits.is_empty(), "card numbers found: {hits:#?}");
}
