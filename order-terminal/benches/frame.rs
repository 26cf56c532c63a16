//! Order terminal benchmark (release build, under Xvfb with Mesa's software Vulkan): main-world
//! time per frame of the ordering screen (table 12 of the sample room: ten sent lines, the
//! burgers on the menu), with the terminal's view read from the journal again on every frame
//! (the worst case: normally after a tap, a change, or every 250 ms), beside the sign-in screen
//! (the lightest screen: a PIN pad) measured in the same run. Median and p99, two runs.
//!
//! Run with `cargo bench -p order-terminal --bench frame` (scripts/bench.sh does). Target: the
//! ordering screen within 8 ms a frame, so a tap always answers in the next frame.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

const NOW_MS: i64 = 1_767_295_800_000;
const FRAMES: u32 = 300;
const RUNS: usize = 2;

fn terminal() -> PathBuf {
    let exe = std::env::current_exe().expect("own path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("bench sits in <target>/<profile>/deps");
    dir.join("order-terminal")
}

fn run(db: &Path, intents: &Path, out: &Path, port: u16) -> Value {
    let status = Command::new("xvfb-run")
        .args([
            "--auto-servernum",
            "--server-args",
            "-screen 0 1920x1080x24",
        ])
        .arg(terminal())
        .args(["--window", "1920x1080", "--device", "t1", "--mdns", "off"])
        .args(["--manual-clock", &NOW_MS.to_string()])
        .args(["--broker", &format!("mqtt://127.0.0.1:{port}")])
        .arg("--db")
        .arg(db)
        .arg("--intents")
        .arg(intents)
        .args(["--bench-frames", &FRAMES.to_string()])
        .arg("--bench-out")
        .arg(out)
        .env("WGPU_BACKEND", "vulkan")
        .status()
        .expect("run order-terminal under xvfb-run");
    assert!(status.success(), "order-terminal benchmark run failed");
    serde_json::from_str(&std::fs::read_to_string(out).expect("report")).expect("report JSON")
}

fn percentile(sorted: &[u64], p: usize) -> f64 {
    let rank = (p * sorted.len()).div_ceil(100).max(1) - 1;
    sorted[rank.min(sorted.len() - 1)] as f64 / 1000.0
}

fn frames(v: &Value) -> Vec<u64> {
    let mut f: Vec<u64> = v["frames_us"]
        .as_array()
        .expect("frames")
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    f.sort_unstable();
    f
}

fn main() {
    assert!(
        terminal().exists(),
        "build order-terminal first: cargo bench -p order-terminal builds it"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("t1.db");
    pass_shared::terminal::sample::seated_store(&db, "t1", NOW_MS).expect("the sample room");
    let order = dir.path().join("order.json");
    std::fs::write(
        &order,
        json!([
            {"intent": "sign_in", "pin": "1357"},
            {"intent": "select_table", "table": "12"},
            {"intent": "choose_category", "category": "burgers"},
        ])
        .to_string(),
    )
    .expect("intents");
    let sign_in = dir.path().join("sign-in.json");
    std::fs::write(&sign_in, "[]").expect("intents");
    // Nothing listens there: the terminal works cut off, as it must.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    println!("order terminal, table 12 with ten lines, {FRAMES} frames a run, {RUNS} runs");
    for run_no in 1..=RUNS {
        let pad = run(&db, &sign_in, &dir.path().join("pad.json"), port);
        let screen = run(&db, &order, &dir.path().join("order-out.json"), port);
        assert_eq!(
            screen["screen"], "order",
            "the ordering screen was measured"
        );
        let (p, s) = (frames(&pad), frames(&screen));
        println!(
            "run {run_no}: ordering screen median {:.2} ms p99 {:.2} ms | sign-in pad median {:.2} ms p99 {:.2} ms | ratio of medians {:.2}",
            percentile(&s, 50),
            percentile(&s, 99),
            percentile(&p, 50),
            percentile(&p, 99),
            percentile(&s, 50) / percentile(&p, 50),
        );
    }
}
