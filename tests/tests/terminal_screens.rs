//! The order terminal as a server sees it: the sign-in, floor-plan and ordering screens rendered
//! under Xvfb with Mesa's software Vulkan and read back by tesseract, which must find the labels
//! a server looks for. The store is set up in-process through the terminal's own intents
//! (`pass_shared::terminal::sample`: tables seated, lines sent) on a controlled clock; the app is then started on that database with
//! `--intents` to reach the screen photographed.

use pass_tests::{Mosquitto, bin, python};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

/// 2026-01-01 19:30 UTC.
const NOW_MS: i64 = 1_767_295_800_000;

/// The sample dining room (tables 3, 10 and 12 seated, 12 with ten lines sent).
fn seated_store(dir: &Path) -> PathBuf {
    let db = dir.join("t1.db");
    pass_shared::terminal::sample::seated_store(&db, "t1", NOW_MS).expect("the sample room");
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
        .args(["[]", "100"])
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
            "148.57",
            "3 guests",
            "C1 cooking",
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
            {"intent": "pick_item", "item": "bacon_bbq_burger"},
            {"intent": "toggle_modifier", "modifier": "medium_rare"},
            {"intent": "confirm_item"},
        ]),
    );
    assert_reads(
        &text,
        &[
            "Table 12",
            "Classic Burger",
            "Medium",
            "Burgers",
            "Send 1 new",
            "Bacon BBQ Burger",
            "Floor plan",
            "Total",
        ],
    );
}
