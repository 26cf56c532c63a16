//! Receipts on a network printer: a printer listening on loopback receives the guest check and,
//! when a cash payment closes the check, the customer's receipt; decoded (text, styles, cuts)
//! they are exactly the preview the terminal shows, and they say what the check says. With the
//! printer down the check still closes, the terminal says the receipt did not print, a manager
//! sees it, and a reprint once the printer is back clears it.

use pass_tests::payments::{
    Printed, PrinterListener, SERVER_PIN, decode_escpos, open_check, pay_ok, set_up_payments,
    set_up_store, view,
};
use pass_tests::{Device, DeviceSpec, Mosquitto, PATIENCE, Role, free_loopback_port, wait_until};

/// 2026-05-01 18:30 UTC: a fixed clock, so the time printed is the time previewed.
const T0: i64 = 1_777_660_200_000;

/// The text lines of a decoded job, and whether it ends in a cut (one cut only).
fn lines_and_cut(job: &[u8]) -> (Vec<String>, bool) {
    let printed = decode_escpos(job).expect("the job decodes");
    let cuts = printed.iter().filter(|p| **p == Printed::Cut).count();
    let lines = printed
        .iter()
        .filter_map(|p| match p {
            Printed::Line { text, .. } => Some(text.clone()),
            Printed::Cut => None,
        })
        .collect();
    (lines, cuts == 1 && printed.last() == Some(&Printed::Cut))
}

/// The styled lines of a decoded job: (text, bold, double).
fn styled(job: &[u8]) -> Vec<(String, bool, bool)> {
    decode_escpos(job)
        .expect("decodes")
        .into_iter()
        .filter_map(|p| match p {
            Printed::Line { text, bold, double } => Some((text, bold, double)),
            Printed::Cut => None,
        })
        .collect()
}

/// The preview the terminal shows of a copy: its lines.
fn preview(terminal: &Device, check: &str, copy: &str) -> Vec<String> {
    let answer = pay_ok(
        terminal,
        &["receipt", check, "--copy", copy, "--format", "json"],
    );
    answer["preview"]["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| l.as_str().unwrap_or_default().to_owned())
        .collect()
}

fn has_line(lines: &[String], left: &str, right: &str) -> bool {
    lines
        .iter()
        .any(|l| l.starts_with(left) && l.trim_end().ends_with(right))
}

fn open_alert_kinds(terminal: &Device) -> Vec<String> {
    pay_ok(terminal, &["alerts"])["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["open"] == true)
        .map(|a| a["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn receipts_print_as_previewed_and_a_dead_printer_never_hides_a_payment() {
    let broker = Mosquitto::start();
    let printer = PrinterListener::start();
    let terminal = Device::start_spec(
        DeviceSpec::new("t1", Role::OrderTerminal, &broker.url()).manual_clock(T0),
    );
    set_up_store(&terminal);
    set_up_payments(&terminal, None, Some(&printer.address()));
    open_check(
        &terminal,
        "t1-c1",
        "A1",
        "T1",
        2,
        &[("classic_burger", 1), ("cola", 2)],
    );

    // The guest check, before paying.
    let answer = pay_ok(
        &terminal,
        &[
            "receipt", "t1-c1", "--copy", "guest", "--print", "--format", "json",
        ],
    );
    assert_eq!(answer["printed"]["printed"], true, "{answer:#}");
    assert!(wait_until(PATIENCE, || printer.jobs().len() == 1));
    let job = &printer.jobs()[0];
    let (lines, cut) = lines_and_cut(job);
    assert!(cut, "the guest check ends in one cut");
    assert_eq!(lines, preview(&terminal, "t1-c1", "guest"));
    let styles = styled(job);
    assert_eq!(
        styles[0],
        ("          HARBOUR STREET KITCHEN".to_owned(), true, false),
        "the store's name, bold and centred (too long for double size)"
    );
    assert!(
        styles
            .iter()
            .any(|(t, bold, _)| *bold && t.starts_with("TOTAL") && t.ends_with("19.60"))
    );
    for (left, right) in [
        ("Check A1", "Table T1   Guests 2"),
        ("Server Sam", "2026-05-01 18:30"),
        ("1 x Classic Burger", "14.50"),
        ("    Medium rare", ""),
        ("1 x Cola", "3.50"),
        ("Subtotal", "18.00"),
        ("Sales tax 8.875%", "1.60"),
        ("TOTAL", "19.60"),
        ("BALANCE DUE", "19.60"),
    ] {
        assert!(
            has_line(&lines, left, right),
            "{left} … {right} in {lines:#?}"
        );
    }
    assert!(lines.iter().any(|l| l.trim() == "GUEST CHECK"));

    // Paid in cash: the check closes and the customer's receipt prints.
    let paid = pay_ok(
        &terminal,
        &["cash", "t1-c1", "--pin", SERVER_PIN, "--tendered", "20.00"],
    );
    assert_eq!(paid["check"]["state"], "closed");
    assert_eq!(paid["receipt"]["printed"], true, "{paid:#}");
    assert!(wait_until(PATIENCE, || printer.jobs().len() == 2));
    let (lines, cut) = lines_and_cut(&printer.jobs()[1]);
    assert!(cut);
    assert_eq!(lines, preview(&terminal, "t1-c1", "customer"));
    for (left, right) in [
        ("TOTAL", "19.60"),
        ("Cash", "19.60"),
        ("  Tendered 20.00", "Change 0.40"),
        ("Paid", "19.60"),
        ("BALANCE DUE", "0.00"),
    ] {
        assert!(
            has_line(&lines, left, right),
            "{left} … {right} in {lines:#?}"
        );
    }
    assert!(lines.iter().any(|l| l.trim() == "CUSTOMER COPY"));
    assert_eq!(view(&terminal, "t1-c1")["notice"], "Paid");

    // The printer is down: the check still closes, and the terminal says the receipt did not
    // print.
    let dead = format!("127.0.0.1:{}", free_loopback_port());
    set_up_payments(&terminal, None, Some(&dead));
    open_check(
        &terminal,
        "t1-c2",
        "A2",
        "T2",
        2,
        &[("classic_burger", 1), ("cola", 2)],
    );
    let paid = pay_ok(
        &terminal,
        &["cash", "t1-c2", "--pin", SERVER_PIN, "--tendered", "19.60"],
    );
    assert_eq!(paid["check"]["state"], "closed", "{paid:#}");
    assert_eq!(paid["receipt"]["printed"], false, "{paid:#}");
    assert!(
        paid["receipt"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("not reachable")),
        "{paid:#}"
    );
    let shown = view(&terminal, "t1-c2");
    assert_eq!(shown["state"], "closed");
    let notice = shown["notice"].as_str().unwrap_or_default();
    assert!(
        notice.starts_with("Paid. The customer receipt did not print"),
        "{shown:#}"
    );
    assert_eq!(open_alert_kinds(&terminal), ["receipt_not_printed"]);

    // The printer is back: a reprint prints the same receipt and clears the alert.
    set_up_payments(&terminal, None, Some(&printer.address()));
    let again = pay_ok(
        &terminal,
        &[
            "receipt", "t1-c2", "--copy", "customer", "--print", "--format", "json",
        ],
    );
    assert_eq!(again["printed"]["printed"], true, "{again:#}");
    assert!(wait_until(PATIENCE, || printer.jobs().len() == 3));
    let (lines, cut) = lines_and_cut(&printer.jobs()[2]);
    assert!(cut);
    assert_eq!(lines, preview(&terminal, "t1-c2", "customer"));
    assert_eq!(view(&terminal, "t1-c2")["notice"], "Paid");
    assert!(open_alert_kinds(&terminal).is_empty());
}
