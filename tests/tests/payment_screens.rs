//! The order terminal's payment and receipt-preview screens as a server sees them, rendered
//! under Xvfb with Mesa's software Vulkan and read back by tesseract. The store is set up
//! in-process on a controlled clock: table 12 seated with a burger (seat 1) and fries (seat 2),
//! seat 1 paid in cash through the payment desk, and the guest check sent to a printer that is
//! not there (the failure is recorded, as on a device). The app is then started on that
//! database with `--intents` to reach the check and `--show-payment` / `--show-receipt` to open
//! the screen photographed (which screen is up is the screens' state, not a terminal intent).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pass_shared::clock::ManualClock;
use pass_shared::domain::Money;
use pass_shared::domain::staff::{SignInThrottle, ThrottlePolicy};
use pass_shared::event::{DeviceRole, ReceiptCopy};
use pass_shared::journal::{Journal, JournalOptions};
use pass_shared::payments::desk::{Desk, Towards};
use pass_shared::payments::printer::NetworkPrinter;
use pass_shared::payments::provider::CashDrawer;
use pass_shared::payments::settings::PaymentSettings;
use pass_shared::projection::StoreProjections;
use pass_shared::terminal::{FloorPlan, Intent, JournalHost, Terminal, TerminalSettings};
use pass_tests::{TerminalShot, assert_reads, free_loopback_port, terminal_screenshot};
use serde_json::{Value, json};

/// 2026-01-01 19:30 UTC.
const NOW_MS: i64 = 1_767_295_800_000;

/// Table 12 with a burger and fries, seat 1 paid in cash, a failed print of the guest check; the
/// terminal's printer is the address nothing listens on.
fn part_paid_store(dir: &Path) -> PathBuf {
    let db = dir.join("t1.db");
    let clock = ManualClock::starting_at(NOW_MS - 30 * 60_000);
    let journal = Journal::open_with(
        &db,
        JournalOptions::new(Arc::new(clock.clone()), DeviceRole::OrderTerminal, "t1"),
        vec![Box::new(StoreProjections::new())],
    )
    .expect("journal");
    pass_shared::kitchen::sample::publish_store(&journal).expect("store");
    let host = JournalHost::new(journal, Arc::new(clock.clone()), "t1");
    let mut settings = TerminalSettings::new("t1");
    settings.return_to_pin_after_send = false;
    let mut t = Terminal::new(settings, FloorPlan::default_plan());
    let mut act = |intent: Intent| {
        let shown = format!("{intent:?}");
        t.apply(&host, intent)
            .unwrap_or_else(|e| panic!("{shown}: {e}"))
    };
    act(Intent::SignIn { pin: "1357".into() });
    let check = act(Intent::OpenCheck {
        table: Some("12".into()),
        guests: 2,
        seats: None,
        order_type: None,
    })
    .check
    .expect("check");
    for (seat, item, modifiers) in [(1, "classic_burger", vec!["medium"]), (2, "fries", vec![])] {
        act(Intent::AddLine {
            check: check.clone(),
            item: item.into(),
            modifiers: modifiers.into_iter().map(str::to_owned).collect(),
            qty: 1,
            seat: Some(seat),
            course: 1,
            notes: String::new(),
        });
    }
    act(Intent::Send {
        check: check.clone(),
    });
    act(Intent::SignOut);
    clock.advance(20 * 60_000);

    // Nothing listens on this port: the print fails, and says so.
    let printer_at = format!("127.0.0.1:{}", free_loopback_port());
    PaymentSettings {
        printer: Some(printer_at.clone()),
        ..PaymentSettings::default()
    }
    .save(&PaymentSettings::path_for(&db))
    .expect("payment settings");
    let cash = CashDrawer::new();
    let printer = NetworkPrinter::new(&printer_at, Duration::from_secs(1));
    let throttle = Mutex::new(SignInThrottle::new(ThrottlePolicy::default()));
    let desk = Desk {
        journal: &host.journal,
        device: "t1",
        now_ms: NOW_MS - 10 * 60_000,
        cash: &cash,
        card: None,
        card_terminal: None,
        printer: Some(&printer),
        throttle: &throttle,
    };
    let paid = desk
        .cash(
            "1357",
            &Towards {
                check: check.clone(),
                seat: Some(1),
                ..Towards::default()
            },
            Money::from_minor(2_000),
        )
        .expect("seat 1 pays cash");
    assert_eq!(paid["check"]["state"], "open", "{paid:#}");
    let printed = desk
        .print(&check, ReceiptCopy::Guest, None)
        .expect("the print is recorded");
    assert_eq!(printed["printed"], false, "{printed:#}");
    drop(t);
    drop(host);
    db
}

/// Renders the terminal on `db` after `intents`, with the payment screen asked for by `open`;
/// OCR of the page.
fn screenshot(dir: &Path, db: &Path, name: &str, intents: Value, open: &[&str]) -> String {
    terminal_screenshot(
        dir,
        name,
        TerminalShot {
            db,
            intents,
            options: open,
            now_ms: NOW_MS,
            threshold: Some(100),
        },
    )
}

#[test]
fn payment_and_receipt_preview_screens_read_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = part_paid_store(dir.path());
    let to_twelve = json!([
        {"intent": "sign_in", "pin": "1357"},
        {"intent": "select_table", "table": "12"},
    ]);

    let text = screenshot(
        dir.path(),
        &db,
        "payment",
        to_twelve.clone(),
        &["--show-payment"],
    );
    assert_reads(
        &text,
        &[
            "Pay check",
            "Table 12",
            "Balance due",
            "still to pay",
            "By seat",
            "Payments",
            "Cash",
            "Bar tab",
            "Exact",
            "Guest check",
            "Back to the check",
        ],
    );

    let text = screenshot(
        dir.path(),
        &db,
        "receipt-preview",
        to_twelve,
        &["--show-receipt", "guest"],
    );
    assert_reads(
        &text,
        &[
            "GUEST CHECK",
            "Classic Burger",
            "TOTAL",
            "did not print",
            "Reprint",
            "Back to payment",
        ],
    );
}
