//! Card payments through `pass pay` on a real terminal device, against the card terminal
//! simulator as a process of its own: one attempt is one capture however often it is sent (a
//! double submit, an answer lost on the way), a declined card leaves the check open, a partial
//! approval leaves the rest due, a network that never answers charges nothing; offline, a
//! payment over the store's cap needs a manager, and one the issuer declines on upload (or that
//! waited more than a day) opens its check again and alerts a manager. Afterwards no card
//! number is anywhere in the databases, their WAL files or the logs.

use pass_tests::payments::{
    CardSim, MANAGER_PIN, SERVER_PIN, card_number_hits, cards, open_check, pay, pay_ok,
    set_up_payments, set_up_store, view,
};
use pass_tests::{Device, Mosquitto, Role};
use serde_json::Value;

/// The effects the simulator logged for one key, in order.
fn effects(sim: &CardSim, key: &str) -> Vec<String> {
    sim.requests_with_key(key)
        .iter()
        .map(|e| e["effect"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// No card number in any file of the devices, the simulator or the broker.
fn assert_no_card_numbers(devices: &[&Device], sim: &CardSim, broker: &Mosquitto) {
    let mut dirs: Vec<&std::path::Path> = devices
        .iter()
        .map(|d| d.db().parent().expect("the device's directory"))
        .collect();
    dirs.push(sim.dir());
    dirs.push(broker.dir());
    let hits = card_number_hits(&dirs, &cards::ALL);
    assert!(hits.is_empty(), "card numbers found: {hits:#?}");
}

#[test]
fn one_attempt_is_one_capture_and_a_refused_card_takes_nothing() {
    let broker = Mosquitto::start();
    let sim = CardSim::start(2_500);
    let terminal = Device::start("t1", Role::OrderTerminal, &broker);
    set_up_store(&terminal);
    set_up_payments(&terminal, Some(&sim.address()), None);

    // Burger 14.50 and cola 3.50: 18.00 + 8.875 % sales tax 1.60 = 19.60.
    open_check(
        &terminal,
        "t1-c1",
        "A1",
        "T1",
        2,
        &[("classic_burger", 1), ("cola", 2)],
    );
    assert_eq!(view(&terminal, "t1-c1")["total"], "19.60");

    // A double submit: the same attempt sent twice. One capture; the second is told it is
    // already recorded.
    let attempt = "t1-double-submit-1";
    let args = ["card", "t1-c1", "--pin", SERVER_PIN, "--attempt", attempt];
    let first = pay_ok(&terminal, &args);
    assert_eq!(first["amount"], "19.60");
    assert_eq!(first["check"]["state"], "closed");
    let second = pay_ok(&terminal, &args);
    assert!(
        text(&second["message"]).contains("already recorded"),
        "{second:#}"
    );
    assert_eq!(
        effects(&sim, attempt),
        ["capture", "replay"],
        "both attempts reached the terminal with one key, one capture"
    );
    let paid = view(&terminal, "t1-c1");
    assert_eq!(paid["payments"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        (&paid["paid"], &paid["state"]),
        (&"19.60".into(), &"closed".into())
    );

    // Approved, but the answer is lost on the way: the driver asks again with the same key and
    // learns it was approved. One capture, one payment.
    open_check(
        &terminal,
        "t1-c2",
        "A2",
        "T2",
        2,
        &[("classic_burger", 1), ("cola", 2)],
    );
    sim.tap(cards::ANSWER_LOST);
    let lost = pay_ok(&terminal, &["card", "t1-c2", "--pin", SERVER_PIN]);
    let key = text(&lost["payment"]).to_owned();
    assert_eq!(effects(&sim, &key), ["capture", "replay"]);
    let answers: Vec<Value> = sim
        .requests_with_key(&key)
        .iter()
        .map(|e| e["answer"].clone())
        .collect();
    assert_eq!(answers, ["dropped", "sent"]);
    let paid = view(&terminal, "t1-c2");
    assert_eq!(paid["payments"].as_array().map(Vec::len), Some(1));
    assert_eq!(paid["state"], "closed");

    // Declined: nothing taken, the check stays open with everything due.
    open_check(
        &terminal,
        "t1-c3",
        "A3",
        "T3",
        2,
        &[("classic_burger", 1), ("cola", 2)],
    );
    sim.tap(cards::DECLINED);
    let (ok, declined) = pay(&terminal, &["card", "t1-c3", "--pin", SERVER_PIN]);
    assert!(
        !ok && text(&declined["error"]).contains("declined"),
        "{declined:#}"
    );
    let open = view(&terminal, "t1-c3");
    assert_eq!(
        (&open["state"], &open["paid"], &open["balance_due"]),
        (&"open".into(), &"0.00".into(), &"19.60".into())
    );
    assert_eq!(open["declines"].as_array().map(Vec::len), Some(1));

    // A prepaid card holding 20.00 on a 45.73 check (ribeye 42.00 + 3.73 tax): 20.00 approved,
    // 25.73 still due, paid by the next card.
    open_check(&terminal, "t1-c4", "A4", "T4", 1, &[("ribeye", 1)]);
    sim.tap(cards::PREPAID_20);
    let partial = pay_ok(&terminal, &["card", "t1-c4", "--pin", SERVER_PIN]);
    assert_eq!(
        (&partial["partial"], &partial["amount"]),
        (&true.into(), &"20.00".into())
    );
    assert_eq!(partial["check"]["balance_due"], "25.73");
    assert_eq!(partial["check"]["state"], "open");
    let rest = pay_ok(&terminal, &["card", "t1-c4", "--pin", SERVER_PIN]);
    assert_eq!(rest["amount"], "25.73");
    assert_eq!(rest["check"]["state"], "closed");

    // The card network never answers: the terminal gives up and nothing is charged. (If this
    // device gave up first, the same attempt asked again gets the terminal's answer.)
    open_check(
        &terminal,
        "t1-c5",
        "A5",
        "T5",
        2,
        &[("classic_burger", 1), ("cola", 2)],
    );
    sim.tap(cards::NETWORK_TIMEOUT);
    let attempt = "t1-network-timeout-1";
    let args = ["card", "t1-c5", "--pin", SERVER_PIN, "--attempt", attempt];
    let (ok, answer) = pay(&terminal, &args);
    assert!(!ok, "{answer:#}");
    let answer = if text(&answer["error"]).contains("did not answer") {
        pay(&terminal, &args).1
    } else {
        answer
    };
    assert!(text(&answer["error"]).contains("(timeout)"), "{answer:#}");
    assert!(!effects(&sim, attempt).contains(&"capture".to_owned()));
    let open = view(&terminal, "t1-c5");
    assert_eq!(
        (&open["state"], &open["paid"]),
        (&"open".into(), &"0.00".into())
    );

    assert_no_card_numbers(&[&terminal], &sim, &broker);
}

#[test]
fn offline_over_the_cap_needs_a_manager_and_a_decline_on_upload_reopens_the_check() {
    let broker = Mosquitto::start();
    let sim = CardSim::start(2_500);
    let terminal = Device::start("t1", Role::OrderTerminal, &broker);
    set_up_store(&terminal);
    set_up_payments(&terminal, Some(&sim.address()), None);
    sim.network(false);

    // Stored a day and more before the network returns: it expires.
    open_check(
        &terminal,
        "t1-c3",
        "A3",
        "T3",
        2,
        &[("classic_burger", 1), ("cola", 2)],
    );
    let stale = pay_ok(&terminal, &["card", "t1-c3", "--pin", SERVER_PIN]);
    assert_eq!(
        (&stale["offline"], &stale["check"]["state"]),
        (&true.into(), &"closed".into())
    );
    sim.advance(25 * 60 * 60 * 1000);

    // Three ribeyes: 126.00 + 11.18 tax = 137.18, over the 100.00 offline cap.
    open_check(
        &terminal,
        "t1-c1",
        "A1",
        "T1",
        3,
        &[("ribeye", 1), ("ribeye", 2), ("ribeye", 3)],
    );
    let (ok, over) = pay(&terminal, &["card", "t1-c1", "--pin", SERVER_PIN]);
    assert!(!ok, "{over:#}");
    assert!(
        text(&over["error"]).contains("offline card cap of 100.00")
            && text(&over["error"]).contains("manager"),
        "{over:#}"
    );
    let (ok, not_a_manager) = pay(
        &terminal,
        &[
            "card",
            "t1-c1",
            "--pin",
            SERVER_PIN,
            "--manager-pin",
            SERVER_PIN,
        ],
    );
    assert!(
        !ok && text(&not_a_manager["error"]).contains("may not approve"),
        "{not_a_manager:#}"
    );
    let open = view(&terminal, "t1-c1");
    assert_eq!(
        (&open["state"], &open["paid"]),
        (&"open".into(), &"0.00".into())
    );
    let approved = pay_ok(
        &terminal,
        &[
            "card",
            "t1-c1",
            "--pin",
            SERVER_PIN,
            "--manager-pin",
            MANAGER_PIN,
        ],
    );
    assert_eq!(
        (
            &approved["offline"],
            &approved["amount"],
            &approved["check"]["state"]
        ),
        (&true.into(), &"137.18".into(), &"closed".into())
    );
    assert_eq!(
        view(&terminal, "t1-c1")["payments"][0]["status"],
        "offline, not yet uploaded"
    );

    // Taken offline on a card its issuer declines.
    open_check(
        &terminal,
        "t1-c2",
        "A2",
        "T2",
        2,
        &[("classic_burger", 1), ("cola", 2)],
    );
    sim.tap(cards::DECLINED_ON_UPLOAD);
    let doomed = pay_ok(&terminal, &["card", "t1-c2", "--pin", SERVER_PIN]);
    assert_eq!(doomed["check"]["state"], "closed");

    // The network is back: the terminal uploads; the device records what became of each.
    sim.network(true);
    let uploaded = pay_ok(&terminal, &["upload", "--pin", SERVER_PIN]);
    assert_eq!(
        (&uploaded["approved"], &uploaded["declined"]),
        (&1.into(), &2.into()),
        "{uploaded:#}"
    );
    let settled = view(&terminal, "t1-c1");
    assert_eq!(
        (&settled["state"], &settled["payments"][0]["status"]),
        (&"closed".into(), &"taken".into())
    );
    for (check, why) in [("t1-c2", "declined"), ("t1-c3", "expired")] {
        let reopened = view(&terminal, check);
        assert_eq!(
            (
                &reopened["state"],
                &reopened["paid"],
                &reopened["balance_due"]
            ),
            (&"open".into(), &"0.00".into(), &"19.60".into()),
            "{check}"
        );
        let status = text(&reopened["payments"][0]["status"]);
        assert!(
            status.starts_with("declined on upload") && status.contains(why),
            "{status}"
        );
        assert_eq!(
            reopened["alerts"].as_array().map(Vec::len),
            Some(1),
            "{reopened:#}"
        );
    }
    let alerts = pay_ok(&terminal, &["alerts"])["alerts"].clone();
    let open_alerts = |alerts: &Value| -> Vec<(String, String)> {
        alerts
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["open"] == true)
            .map(|a| (text(&a["subject"]).to_owned(), text(&a["kind"]).to_owned()))
            .collect()
    };
    assert_eq!(
        open_alerts(&alerts),
        [
            ("t1-c2".to_owned(), "declined_on_upload".to_owned()),
            ("t1-c3".to_owned(), "declined_on_upload".to_owned())
        ]
    );

    // Paid again in cash: closed, and the alert is resolved.
    let cash = pay_ok(
        &terminal,
        &["cash", "t1-c2", "--pin", SERVER_PIN, "--tendered", "20.00"],
    );
    assert_eq!(
        (&cash["change"], &cash["check"]["state"]),
        (&"0.40".into(), &"closed".into())
    );
    let alerts = pay_ok(&terminal, &["alerts"])["alerts"].clone();
    assert_eq!(
        open_alerts(&alerts),
        [("t1-c3".to_owned(), "declined_on_upload".to_owned())]
    );

    assert_no_card_numbers(&[&terminal], &sim, &broker);
}
