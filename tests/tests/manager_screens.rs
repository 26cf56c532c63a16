//! The manager's reports on the order terminal as a manager sees them, rendered under Xvfb with
//! Mesa's software Vulkan and read back by tesseract: the service-time charts and the Z report.
//! The store is set up in-process on a controlled clock (five finished tickets on the cold
//! station, one check paid in cash and closed, a cash drawer counted two dollars short, the
//! business day closed); the app is then started on that database with `--intents` to sign the
//! manager in and `--show-reports service|z` to open the tab photographed (which screen is up is
//! the screens' state, not a terminal intent).

use std::path::{Path, PathBuf};

use pass_shared::clock::ManualClock;
use pass_tests::evening::{NOW, evening};
use pass_tests::{TerminalShot, assert_reads, terminal_screenshot};
use serde_json::json;

/// The evening's store, written to `dir/t1.db`.
fn evening_store(dir: &Path) -> PathBuf {
    let clock = ManualClock::starting_at(NOW);
    let journal = evening(dir, &clock);
    drop(journal);
    dir.join("t1.db")
}

/// Renders the manager's Reports screen on `tab` of `db`, Maria signed in; OCR of the page.
fn screenshot(dir: &Path, db: &Path, tab: &str) -> String {
    terminal_screenshot(
        dir,
        &format!("reports-{tab}"),
        TerminalShot {
            db,
            intents: json!([{"intent": "sign_in", "pin": "2580"}]),
            options: &["--show-reports", tab],
            now_ms: NOW,
            threshold: None,
        },
    )
}

#[test]
fn service_time_charts_and_the_z_report_read_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = evening_store(dir.path());

    let text = screenshot(dir.path(), &db, "service");
    assert_reads(
        &text,
        &[
            "Reports",
            "Service times",
            "Median",
            "7:00",
            "12:00",
            "By station",
            "Late tickets: 2",
            "Median ticket time by hour",
            "Ticket times",
        ],
    );

    let text = screenshot(dir.path(), &db, "z");
    assert_reads(
        &text,
        &[
            "Z report",
            "2026-01-01",
            "closed",
            "Total",
            "Tenders",
            "cash",
            "14.15",
            "Sales tax",
            "Cash drawers counted",
        ],
    );
}
