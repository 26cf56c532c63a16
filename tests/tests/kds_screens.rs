//! The kitchen screen as a cook sees it: rendered under Xvfb with Mesa's software Vulkan, read
//! back. Each screenshot is checked to be non-blank, to show the cards the screen's layout dump
//! says it drew in the colour of their timer band (pixels sampled in each card's header), and
//! to be readable: tesseract finds the order numbers and item names that should be there.
//!
//! The state is a dinner rush written through the same events a terminal and screens write
//! (`pass_shared::kitchen::sample::kitchen_rush`), on a controlled clock, so the timers are
//! exactly where the test put them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use pass_shared::clock::ManualClock;
use pass_shared::event::DeviceRole;
use pass_shared::journal::{Journal, JournalOptions};
use pass_shared::kitchen::sample::{Rush, kitchen_rush};
use pass_shared::projection::StoreProjections;
use pass_tests::{Mosquitto, bin, python};
use serde_json::Value;

/// 2026-01-01 19:30 UTC: the controlled "now" of every screenshot.
const NOW_MS: i64 = 1_767_295_800_000;

struct Shot {
    png: PathBuf,
    layout: Value,
    /// OCR of the whole page.
    text: String,
    /// OCR of each card's first header line, in the layout's order.
    cards_read: Vec<String>,
}

/// A store database with a dinner rush of `grill_tickets` open grill tickets.
fn rush_db(dir: &Path, grill_tickets: usize) -> (PathBuf, Rush) {
    let db = dir.join("screen.db");
    let journal = Journal::open_with(
        &db,
        JournalOptions::new(
            Arc::new(ManualClock::starting_at(NOW_MS - 3_600_000)),
            DeviceRole::KitchenScreen,
            "screen",
        ),
        vec![Box::new(StoreProjections::new())],
    )
    .expect("journal");
    let rush = kitchen_rush(&journal, NOW_MS, grill_tickets).expect("rush");
    drop(journal);
    (db, rush)
}

/// Renders `station`'s screen of `db` once at 1920×1080.
fn screenshot(dir: &Path, db: &Path, station: &str, name: &str) -> Shot {
    let png = dir.join(format!("{name}.png"));
    let layout = dir.join(format!("{name}.json"));
    // A broker of its own, so the status bar reads as in a store (connected).
    let broker = Mosquitto::start();
    let out = Command::new("xvfb-run")
        .args([
            "--auto-servernum",
            "--server-args",
            "-screen 0 1920x1080x24",
        ])
        .arg(bin("kds"))
        .arg("--screenshot")
        .arg(&png)
        .arg("--layout-dump")
        .arg(&layout)
        .args([
            "--window",
            "1920x1080",
            "--station",
            station,
            "--device",
            station,
        ])
        .arg("--db")
        .arg(db)
        .args(["--broker", &broker.url(), "--mdns", "off"])
        .args(["--manual-clock", &NOW_MS.to_string()])
        .env("WGPU_BACKEND", "vulkan")
        .output()
        .expect("run kds under xvfb-run");
    assert!(
        out.status.success() && png.exists(),
        "kds --screenshot failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let layout: Value =
        serde_json::from_str(&std::fs::read_to_string(&layout).expect("layout dump"))
            .expect("layout JSON");
    let (cards_read, text) = read_back(&png, &layout);
    // Keep the evidence beside the test's other output for people to look at.
    if let Some(keep) = std::env::var_os("PASS_SCREENSHOTS") {
        let keep = PathBuf::from(keep);
        let _ = std::fs::create_dir_all(&keep);
        let _ = std::fs::copy(&png, keep.join(format!("kds-{name}.png")));
    }
    Shot {
        png,
        layout,
        text,
        cards_read,
    }
}

/// OCR of each card's first header line (its order number, place and server) and of the whole
/// page (`tests/python/ocr_cards.py`).
fn read_back(png: &Path, layout: &Value) -> (Vec<String>, String) {
    let rects: Vec<[f64; 4]> = layout["cards"]
        .as_array()
        .expect("cards")
        .iter()
        .map(|c| {
            let h: Vec<f64> = c["header"]
                .as_array()
                .expect("header rect")
                .iter()
                .map(|v| v.as_f64().expect("number"))
                .collect();
            // The first of the header's two lines, less the slot number at its right.
            [h[0], h[1], h[2] - 56.0, h[3] / 2.0]
        })
        .collect();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/ocr_cards.py");
    let out = Command::new(python())
        .arg(script)
        .arg(png)
        .arg(serde_json::to_string(&rects).expect("rects"))
        .output()
        .expect("run the OCR script");
    assert!(
        out.status.success(),
        "OCR failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("OCR JSON");
    let cards = v["cards"]
        .as_array()
        .expect("cards")
        .iter()
        .map(|t| t.as_str().unwrap_or_default().to_owned())
        .collect();
    (cards, v["page"].as_str().unwrap_or_default().to_owned())
}

/// An order number as OCR reads it, with its one classic confusion undone: after the letter, a
/// `1` read as `l`, `I` or `|` and a `0` read as `O` (the number's letter itself is kept).
fn ocr_number(token: &str) -> String {
    let mut chars = token.chars();
    let letter = chars.next().map(String::from).unwrap_or_default();
    let rest: String = chars
        .map(|c| match c {
            'l' | 'I' | '|' => '1',
            'O' | 'o' => '0',
            other => other,
        })
        .collect();
    letter + &rest
}

/// Every card's header reads back, by OCR, as its order number first.
fn check_numbers_read(shot: &Shot) {
    let cards = shot.layout["cards"].as_array().expect("cards");
    assert_eq!(cards.len(), shot.cards_read.len());
    for (card, read) in cards.iter().zip(&shot.cards_read) {
        let number = card["number"].as_str().expect("number");
        let first = ocr_number(read.split_whitespace().next().unwrap_or_default());
        assert_eq!(
            first, number,
            "card {} header read as {read:?}, expected it to start with {number}",
            card["slot"]
        );
    }
}

/// Pixel colours at points of the PNG, and how many distinct colours it has.
fn sample(png: &Path, points: &[(u32, u32)]) -> (Vec<[u8; 3]>, usize) {
    let script = r#"
import json, sys
from PIL import Image
img = Image.open(sys.argv[1]).convert("RGB")
points = json.loads(sys.argv[2])
colours = len(img.getcolors(maxcolors=1 << 24) or [])
print(json.dumps({"pixels": [list(img.getpixel((x, y))) for x, y in points], "colours": colours}))
"#;
    let out = Command::new(python())
        .args(["-c", script])
        .arg(png)
        .arg(serde_json::to_string(points).expect("points"))
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("pixel JSON");
    let pixels = v["pixels"]
        .as_array()
        .expect("pixels")
        .iter()
        .map(|p| {
            let c: Vec<u8> = p
                .as_array()
                .expect("rgb")
                .iter()
                .map(|x| x.as_u64().expect("channel") as u8)
                .collect();
            [c[0], c[1], c[2]]
        })
        .collect();
    (pixels, v["colours"].as_u64().expect("colours") as usize)
}

/// The header colour of each band (kds/src/view.rs: ON_TIME, ALERT, LATE, and held grey).
fn expected_colour(card: &Value) -> [u8; 3] {
    if card["held"].as_bool() == Some(true) {
        return [0x55, 0x55, 0x55];
    }
    match card["band"].as_str() {
        Some("on_time") => [0x1f, 0x6f, 0x3a],
        Some("alert") => [0xf2, 0xc0, 0x1e],
        Some("late") => [0xd3, 0x22, 0x22],
        other => panic!("unknown band {other:?}"),
    }
}

fn close(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 12)
}

/// Every card's header shows its band's colour, sampled just inside its top-right corner
/// (clear of the header text).
fn check_cards_in_their_bands(shot: &Shot) -> Vec<Value> {
    let cards = shot.layout["cards"].as_array().expect("cards").clone();
    assert!(!cards.is_empty(), "no cards drawn");
    let points: Vec<(u32, u32)> = cards
        .iter()
        .map(|c| {
            let h: Vec<f64> = c["header"]
                .as_array()
                .expect("header rect")
                .iter()
                .map(|v| v.as_f64().expect("number"))
                .collect();
            ((h[0] + h[2] - 6.0) as u32, (h[1] + h[3] - 4.0) as u32)
        })
        .collect();
    let (pixels, colours) = sample(&shot.png, &points);
    assert!(
        colours > 50,
        "the screenshot is (nearly) blank: {colours} colours"
    );
    for (card, pixel) in cards.iter().zip(pixels) {
        let expected = expected_colour(card);
        assert!(
            close(pixel, expected),
            "card {} ({}) header is {pixel:?}, expected {expected:?} for band {}",
            card["slot"],
            card["number"],
            card["band"]
        );
    }
    cards
}

/// The words OCR read, for looking things up.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_dinner_rush_on_the_grill_screen_reads_in_its_colours() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (db, rush) = rush_db(dir.path(), 24);
    let shot = screenshot(dir.path(), &db, "grill", "grill-rush");
    let cards = check_cards_in_their_bands(&shot);

    let bands: std::collections::BTreeSet<&str> =
        cards.iter().filter_map(|c| c["band"].as_str()).collect();
    assert_eq!(
        bands.len(),
        3,
        "all three timer bands on the page: {bands:?}"
    );
    assert!(
        cards.iter().any(|c| c["rush"] == Value::Bool(true)),
        "the rush ticket is on the first page"
    );
    assert_eq!(
        cards[0]["number"].as_str(),
        rush.rushed.as_deref(),
        "the rush ticket comes first"
    );

    check_numbers_read(&shot);
    let read = words(&shot.text);
    let numbers: Vec<&str> = cards.iter().filter_map(|c| c["number"].as_str()).collect();
    for expected in [
        "Burger", "Ribeye", "Medium", "ALLERGY", "RUSH", "LATE", "ALERT", "GRILL",
    ] {
        assert!(
            read.iter().any(|w| w == expected),
            "OCR did not find {expected:?} in:\n{}",
            shot.text
        );
    }
    for (what, number) in [
        ("allergy", &rush.allergy),
        ("voided line", &rush.voided),
        ("addition", &rush.addition),
    ] {
        let number = number.as_deref().expect("the rush has one");
        assert!(
            numbers.contains(&number),
            "the {what} ticket {number} is on the first page"
        );
    }
}

#[test]
fn an_overflowing_screen_pages_and_counts_what_is_hidden() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (db, _) = rush_db(dir.path(), 70);
    let shot = screenshot(dir.path(), &db, "grill", "grill-overflow");
    check_cards_in_their_bands(&shot);
    let pages = shot.layout["pages"].as_u64().expect("pages");
    let hidden = shot.layout["hidden"].as_u64().expect("hidden");
    assert!(pages >= 2 && hidden > 0, "{}", shot.layout);
    let expected = format!("Page 1/{pages}");
    let squashed: String = shot.text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        squashed.contains(&expected) && squashed.contains("more on other pages"),
        "OCR did not find {expected:?} and the hidden count in:\n{}",
        shot.text
    );
    assert!(squashed.contains(&hidden.to_string()));
}

#[test]
fn expo_shows_whole_orders_with_each_stations_progress() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (db, _) = rush_db(dir.path(), 12);
    let shot = screenshot(dir.path(), &db, "expo", "expo");
    let cards = check_cards_in_their_bands(&shot);
    assert!(cards.len() >= 6, "{} orders", cards.len());
    let read = words(&shot.text);
    for expected in ["COOKING", "GRILL", "EXPO"] {
        assert!(
            read.iter().any(|w| w == expected),
            "OCR did not find {expected:?} in:\n{}",
            shot.text
        );
    }
    check_numbers_read(&shot);
}
