//! The order terminal as a server sees it: the sign-in, floor-plan and ordering screens rendered
//! under Xvfb with Mesa's software Vulkan and read back by tesseract, which must find the labels
//! a server looks for. The store is set up in-process through the terminal's own intents (tables
//! seated, lines sent) on a controlled clock; the app is then started on that database with
//! `--intents` to reach the screen photographed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use pass_shared::clock::ManualClock;
use pass_shared::event::DeviceRole;
use pass_shared::journal::{Journal, JournalOptions};
use pass_shared::projection::StoreProjections;
use pass_shared::terminal::{FloorPlan, Intent, JournalHost, Terminal, TerminalSettings};
use pass_tests::{Mosquitto, bin, python};
use serde_json::{Value, json};

/// 2026-01-01 19:30 UTC.
const NOW_MS: i64 = 1_767_295_800_000;

/// A store with tables 3, 7 and 12 seated (12 with a burger, fries and a held dessert course).
fn seated_store(dir: &Path) -> PathBuf {
    let db = dir.join("t1.db");
    let clock = ManualClock::starting_at(NOW_MS - 40 * 60_000);
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
    for (table, guests, lines) in [
        ("3", 2, vec![("caesar_salad", vec!["dressing_caesar"])]),
        ("7", 3, vec![("ribeye", vec!["medium_rare"])]),
        (
            "12",
            4,
            vec![("classic_burger", vec!["medium"]), ("fries", vec![])],
        ),
    ] {
        let check = act(Intent::OpenCheck {
            table: Some(table.into()),
            guests,
            seats: None,
            order_type: None,
        })
        .check
        .expect("check");
        for (seat, (item, modifiers)) in lines.into_iter().enumerate() {
            act(Intent::AddLine {
                check: check.clone(),
                item: item.into(),
                modifiers: modifiers.into_iter().map(str::to_owned).collect(),
                qty: 1,
                seat: Some(seat as u32 + 1),
                course: 1,
                notes: String::new(),
            });
        }
        act(Intent::Send {
            check: check.clone(),
        });
        clock.advance(5 * 60_000);
    }
    act(Intent::SignOut);
    drop(t);
    drop(host);
    db
}

/// Renders the terminal on `db` at 1920×1080 after `intents`; OCR of the page.
fn screenshot(dir: &Path, db: &Path, name: &str, intents: Value) -> String {
    let png = dir.join(format!("{name}.png"));
    let intents_file = dir.join(format!("{name}.json"));
    std::fs::write(&intents_file, intents.to_string()).expect("intents");
    let broker = Mosquitto::start();
    let out = Command::new("xvfb-run")
        .args([
            "--auto-servernum",
            "--server-args",
            "-screen 0 1920x1080x24",
        ])
        .arg(bin("order-terminal"))
        .arg("--screenshot")
        .arg(&png)
        .arg("--intents")
        .arg(&intents_file)
        .args(["--window", "1920x1080", "--device", "t1"])
        .arg("--db")
        .arg(db)
        .args(["--broker", &broker.url(), "--mdns", "off"])
        .args(["--manual-clock", &NOW_MS.to_string()])
        .env("WGPU_BACKEND", "vulkan")
        .output()
        .expect("run order-terminal under xvfb-run");
    assert!(
        out.status.success() && png.exists(),
        "order-terminal --screenshot failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if let Some(keep) = std::env::var_os("PASS_SCREENSHOTS") {
        let keep = PathBuf::from(keep);
        let _ = std::fs::create_dir_all(&keep);
        let _ = std::fs::copy(&png, keep.join(format!("terminal-{name}.png")));
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/ocr_cards.py");
    let ocr = Command::new(python())
        .arg(script)
        .arg(&png)
        .arg("[]")
        .output()
        .expect("run the OCR script");
    assert!(
        ocr.status.success(),
        "OCR failed: {}",
        String::from_utf8_lossy(&ocr.stderr)
    );
    let v: Value = serde_json::from_slice(&ocr.stdout).expect("OCR JSON");
    v["page"].as_str().unwrap_or_default().to_owned()
}

fn assert_reads(text: &str, expected: &[&str]) {
    let squashed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for phrase in expected {
        assert!(
            squashed.contains(phrase),
            "OCR did not find {phrase:?} in:\n{text}"
        );
    }
}

#[test]
fn sign_in_floor_and_ordering_screens_read_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = seated_store(dir.path());

    let text = screenshot(dir.path(), &db, "sign-in", json!([]));
    assert_reads(
        &text,
        &["Sign in with your PIN", "Clock in", "Sign in", "Online"],
    );

    let text = screenshot(
        dir.path(),
        &db,
        "floor",
        json!([{"intent": "sign_in", "pin": "1357"}]),
    );
    assert_reads(
        &text,
        &[
            "Table 12",
            "4 guests",
            "Tabs and takeout",
            "New bar tab",
            "Sam",
        ],
    );

    let text = screenshot(
        dir.path(),
        &db,
        "order",
        json!([
            {"intent": "sign_in", "pin": "1357"},
            {"intent": "select_table", "table": "12"},
            {"intent": "choose_category", "category": "burgers"},
            {"intent": "set_seat", "seat": 3},
        ]),
    );
    assert_reads(
        &text,
        &[
            "Table 12",
            "Classic Burger",
            "Medium",
            "Burgers",
            "Send",
            "Floor plan",
            "Total",
        ],
    );
}
