//! The order terminal as a server sees it: the sign-in, floor-plan and ordering screens rendered
//! under Xvfb with Mesa's software Vulkan and read back by tesseract, which must find the labels
//! a server looks for. The store is set up in-process through the terminal's own intents
//! (`pass_shared::terminal::sample`: tables seated, lines sent) on a controlled clock; the app is then started on that database with
//! `--intents` to reach the screen photographed.

use std::path::{Path, PathBuf};

use pass_tests::{TerminalShot, assert_reads, terminal_screenshot};
use serde_json::{Value, json};

/// 2026-01-01 19:30 UTC.
const NOW_MS: i64 = 1_767_295_800_000;

/// The sample dining room (tables 3, 10 and 12 seated, 12 with ten lines sent).
fn seated_store(dir: &Path) -> PathBuf {
    let db = dir.join("t1.db");
    pass_shared::terminal::sample::seated_store(&db, "t1", NOW_MS).expect("the sample room");
    db
}

/// Renders the terminal on `db` after `intents`; OCR of the page.
fn screenshot(dir: &Path, db: &Path, name: &str, intents: Value) -> String {
    terminal_screenshot(
        dir,
        name,
        TerminalShot {
            db,
            intents,
            options: &[],
            now_ms: NOW_MS,
            threshold: Some(100),
        },
    )
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
