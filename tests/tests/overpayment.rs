//! Two terminals cut off from each other each take the whole of one check in cash. Neither
//! payment is lost when they reconnect: both devices show the check paid twice over, overpaid by
//! its total, with an open manager alert; a manager's refund of the excess resolves it
//! everywhere.

use pass_tests::payments::{MANAGER_PIN, SERVER_PIN, open_check, pay_ok, set_up_store, view};
use pass_tests::{Device, DeviceSpec, Mosquitto, PATIENCE, Relay, Role, wait_until};
use serde_json::Value;

/// The open payment alerts of `device`: (check, kind, amount).
fn open_alerts(device: &Device) -> Vec<(String, String, String)> {
    pay_ok(device, &["alerts"])["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["open"] == true)
        .map(|a| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (s(&a["subject"]), s(&a["kind"]), s(&a["amount"]))
        })
        .collect()
}

#[test]
fn two_cut_off_terminals_paying_one_check_leave_it_overpaid_with_a_manager_alert() {
    let broker = Mosquitto::start();
    let (relay1, relay2) = (Relay::start(broker.port()), Relay::start(broker.port()));
    let t1 = Device::start_spec(DeviceSpec::new("t1", Role::OrderTerminal, &relay1.url()));
    let t2 = Device::start_spec(DeviceSpec::new("t2", Role::OrderTerminal, &relay2.url()));
    set_up_store(&t1);
    // Burger and cola: 19.60.
    open_check(
        &t1,
        "t1-c1",
        "A1",
        "T1",
        2,
        &[("classic_burger", 1), ("cola", 2)],
    );
    assert!(
        wait_until(PATIENCE, || pay_ok(&t1, &["view", "t1-c1"])
            .get("view")
            .is_some()
            && pass_tests::payments::pay(&t2, &["view", "t1-c1"]).0
            && pass_tests::payments::pay(
                &t2,
                &["drawer", "--pin", MANAGER_PIN]
            )
            .0),
        "t2 has the check and the staff"
    );

    // Cut both off from the broker, and so from each other.
    relay1.block();
    relay2.block();
    assert!(
        wait_until(PATIENCE, || [&t1, &t2]
            .iter()
            .all(|t| t.status()["connected"] == false)),
        "both terminals are cut off"
    );

    let on_t1 = pay_ok(
        &t1,
        &["cash", "t1-c1", "--pin", SERVER_PIN, "--tendered", "20.00"],
    );
    assert_eq!(
        (&on_t1["amount"], &on_t1["change"], &on_t1["check"]["state"]),
        (&"19.60".into(), &"0.40".into(), &"closed".into())
    );
    // t2 has not heard of it: the check is open there, and it takes the whole amount too.
    assert_eq!(view(&t2, "t1-c1")["state"], "open");
    let on_t2 = pay_ok(
        &t2,
        &["cash", "t1-c1", "--pin", SERVER_PIN, "--tendered", "19.60"],
    );
    assert_eq!(
        (&on_t2["amount"], &on_t2["check"]["state"]),
        (&"19.60".into(), &"closed".into())
    );
    assert!(open_alerts(&t1).is_empty() && open_alerts(&t2).is_empty());

    // Reconnected: both payments everywhere, the check overpaid by 19.60, a manager alerted.
    relay1.unblock();
    relay2.unblock();
    let overpaid = |t: &Device| {
        let v = view(t, "t1-c1");
        v["paid"] == "39.20" && v["overpaid"] == "19.60" && v["state"] == "closed"
    };
    assert!(
        wait_until(PATIENCE, || overpaid(&t1) && overpaid(&t2)),
        "both show the check overpaid: {:#}\n{:#}",
        view(&t1, "t1-c1"),
        view(&t2, "t1-c1")
    );
    let alert = vec![(
        "t1-c1".to_owned(),
        "overpaid".to_owned(),
        "19.60".to_owned(),
    )];
    assert_eq!(open_alerts(&t1), alert);
    assert_eq!(open_alerts(&t2), alert);
    let payments = view(&t1, "t1-c1")["payments"].clone();
    assert_eq!(payments.as_array().map(Vec::len), Some(2), "{payments:#}");

    // A manager refunds t2's payment on t1: settled on both.
    let second = on_t2["payment"].as_str().expect("payment id").to_owned();
    let refund = pay_ok(
        &t1,
        &[
            "refund",
            "t1-c1",
            "--manager-pin",
            MANAGER_PIN,
            "--payment",
            &second,
            "--amount",
            "19.60",
            "--reason",
            "paid twice while the terminals were cut off",
        ],
    );
    assert_eq!(
        (&refund["check"]["paid"], &refund["check"]["overpaid"]),
        (&"19.60".into(), &"0.00".into())
    );
    assert!(
        wait_until(PATIENCE, || open_alerts(&t1).is_empty()
            && open_alerts(&t2).is_empty()),
        "the alert is resolved on both"
    );
}
