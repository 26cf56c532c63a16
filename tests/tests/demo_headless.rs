//! The README's demo, run as a newcomer on a machine with no display would: `scripts/demo.sh
//! --headless --fast --minutes 30` (thirty minutes of dinner rush on a controlled clock), twice
//! on the same demo folder, the second time with `--screenshots`. Tickets are created, routed to their stations, bumped and reported;
//! the second run resumes from the journals; every device's journal verifies and all hold the
//! same events.

use std::path::{Path, PathBuf};
use std::process::Command;

use pass_shared::rush::truth::Truth;
use pass_tests::{assert_reads, bin, journal_verify, ocr_page, pass, unique_store};
use serde_json::Value;

const DEVICES: [&str; 6] = ["grill", "fry", "saute_cold", "bar", "expo", "front"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs the demo headless and fast for `minutes` (with `extra` options); its output.
fn demo(dir: &Path, store: &str, minutes: &str, extra: &[&str]) -> String {
    let pass_bin = bin("pass");
    let target = pass_bin
        .parent()
        .and_then(Path::parent)
        .expect("the target directory");
    let out = Command::new("bash")
        .arg(root().join("scripts/demo.sh"))
        .args(["--headless", "--fast", "--minutes", minutes])
        .args(extra)
        .env("PASS_DEMO_DIR", dir)
        .env("PASS_DEMO_STORE", store)
        .env("PASS_NO_BUILD", "1")
        .env("CARGO_TARGET_DIR", target)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("run scripts/demo.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the demo failed:\n{text}");
    text
}

fn report(db: &Path, which: &str) -> Value {
    let (ok, out) = pass(&[
        "report",
        which,
        "--db",
        db.to_str().expect("utf-8"),
        "--from",
        "2020-01-01",
        "--to",
        "2029-12-31",
        "--format",
        "json",
    ]);
    assert!(ok, "{out}");
    serde_json::from_str(&out).expect("report JSON")
}

fn truth(dir: &Path) -> Truth {
    serde_json::from_slice(&std::fs::read(dir.join("rush-truth.json")).expect("the rush's record"))
        .expect("its JSON")
}

#[test]
fn the_headless_demo_runs_a_rush_reports_it_and_resumes() {
    let dir = tempfile::tempdir().expect("a demo folder");
    let store = unique_store("demo");

    let first = demo(dir.path(), &store, "30", &[]);
    assert!(
        first.contains("no display found") || first.contains("checks closed"),
        "{first}"
    );
    assert!(
        first.contains("service times (kitchen screens) and sales"),
        "{first}"
    );
    let run1 = truth(dir.path());
    let implied = run1.implied();
    assert!(
        implied.checks >= 20,
        "thirty minutes at 120 an hour: {first}"
    );
    assert_eq!(
        implied
            .by_station
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["bar", "fry", "grill", "saute_cold"],
        "tickets reached every prep station"
    );
    assert!(
        run1.tickets.iter().all(|t| t.bumped_ms.is_some()),
        "every ticket bumped"
    );
    let seen: std::collections::BTreeSet<_> = run1
        .tickets
        .iter()
        .map(|t| (t.check.clone(), t.station.clone(), t.course))
        .collect();
    let expected: std::collections::BTreeSet<_> = run1
        .expected_tickets()
        .into_iter()
        .filter(|(_, s, _)| s != "expo")
        .collect();
    assert_eq!(
        seen, expected,
        "each ticket routed to its stations, none elsewhere"
    );

    // The reports of the devices say the same.
    let service = report(&dir.path().join("expo.db"), "service-times");
    assert_eq!(
        service["all"]["tickets"].as_u64(),
        Some(implied.all.tickets as u64),
        "service times"
    );
    let sales = report(&dir.path().join("front.db"), "sales");
    assert_eq!(sales["totals"]["checks"].as_u64(), Some(implied.checks));
    assert_eq!(sales["totals"]["payments"], implied.payments.to_string());

    // Again, and photographed: the store resumes from its journals, the new service adds to
    // the old, and each screen is drawn once (the rush stops at its last arrival, so the
    // screens still hold tickets) and reads back.
    let shots = dir.path().join("shots");
    let shots_arg = shots.display().to_string();
    let second = demo(dir.path(), &store, "10", &["--screenshots", &shots_arg]);
    for (png, phrases) in [
        ("terminal.png", &["Online"][..]),
        ("kds-grill.png", &["GRILL"][..]),
        ("kds-expo.png", &["EXPO"][..]),
    ] {
        let path = shots.join(png);
        assert!(path.exists(), "{png} was drawn: {second}");
        assert_reads(&ocr_page(&path, None), phrases);
    }
    for station in ["fry", "saute_cold", "bar"] {
        assert!(
            shots.join(format!("kds-{station}.png")).exists(),
            "{station} was drawn"
        );
    }
    let run2 = truth(dir.path());
    assert!(
        run2.start_ms > run1.end_ms,
        "the second service comes after the first"
    );
    let sales = report(&dir.path().join("front.db"), "sales");
    assert_eq!(
        sales["totals"]["checks"].as_u64(),
        Some(implied.checks + run2.implied().checks),
        "both services' checks"
    );

    let dbs: Vec<PathBuf> = DEVICES
        .iter()
        .map(|d| dir.path().join(format!("{d}.db")))
        .collect();
    let dbs: Vec<&Path> = dbs.iter().map(PathBuf::as_path).collect();
    let (ok, text) = journal_verify(&dbs);
    assert!(ok, "{text}");
    assert!(text.contains("OK: every chain intact"), "{text}");
    assert!(
        !text.contains("LAG"),
        "every device holds every event: {text}"
    );
}
