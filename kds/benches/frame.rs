//! Kitchen screen benchmark (release build, under Xvfb with Mesa's software Vulkan):
//!
//! - main-world schedule time per frame with 300 open tickets on the station, every frame a
//!   redraw (normally at most one a second): the clock moves on a second per frame, so every
//!   card's timer changes, and every tenth frame turns the page, so every card on screen changes:
//!   median and p99 of each kind, beside an empty Bevy + egui window measured in the same run;
//! - the same screen with rendering pipelined on a thread of its own (`kds::window_plugins`),
//!   for comparison;
//! - the same screen with its main world on Bevy's multi-threaded executor instead of the main
//!   thread (`kds::main_world_on_one_thread`), for comparison;
//! - time from process start until the 300 tickets are restored into the ECS;
//! - resident memory of the screen and of the empty window.
//!
//! Run with `cargo bench -p kds --bench frame` (scripts/bench.sh does). Targets: ≤ 4 ms p99 per
//! frame, restored within 0.5 s, at most 60 MB more than the empty window.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use pass_shared::clock::ManualClock;
use pass_shared::event::DeviceRole;
use pass_shared::journal::{Journal, JournalOptions};
use pass_shared::kitchen::sample::kitchen_rush;
use pass_shared::projection::StoreProjections;
use serde_json::Value;

const NOW_MS: i64 = 1_767_295_800_000;
const FRAMES: u32 = 300;
const RUNS: usize = 2;

fn kds() -> PathBuf {
    let exe = std::env::current_exe().expect("own path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("bench sits in <target>/<profile>/deps");
    dir.join("kds")
}

/// Runs kds once under Xvfb. `PASS_BENCH_WRAP` puts a profiler in front of it (for example
/// `heaptrack -o /tmp/kds` or `perf record -g -o /tmp/kds.perf --`), split on spaces.
fn run(args: &[String], out: &Path) -> Value {
    let wrap = std::env::var("PASS_BENCH_WRAP").unwrap_or_default();
    let status = Command::new("xvfb-run")
        .args([
            "--auto-servernum",
            "--server-args",
            "-screen 0 1920x1080x24",
        ])
        .args(wrap.split_whitespace())
        .arg(kds())
        .args(args)
        .args(["--bench-frames", &FRAMES.to_string()])
        .arg("--bench-out")
        .arg(out)
        .env("WGPU_BACKEND", "vulkan")
        .status()
        .expect("run kds under xvfb-run");
    assert!(status.success(), "kds benchmark run failed");
    serde_json::from_str(&std::fs::read_to_string(out).expect("report")).expect("report JSON")
}

fn percentile(sorted: &[u64], p: usize) -> f64 {
    let rank = (p * sorted.len()).div_ceil(100).max(1) - 1;
    sorted[rank.min(sorted.len() - 1)] as f64 / 1000.0
}

fn frames(v: &Value, key: &str) -> Vec<u64> {
    let mut f: Vec<u64> = v[key]
        .as_array()
        .expect("frames")
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    f.sort_unstable();
    f
}

/// "median X ms p99 Y ms" of sorted frame times in microseconds.
fn spread(sorted: &[u64]) -> String {
    format!(
        "median {:.2} ms p99 {:.2} ms",
        percentile(sorted, 50),
        percentile(sorted, 99)
    )
}

/// Timer frames and page frames together, sorted: every frame of a run.
fn every_frame(timers: &[u64], pages: &[u64]) -> Vec<u64> {
    let mut all: Vec<u64> = timers.iter().chain(pages).copied().collect();
    all.sort_unstable();
    all
}

/// Of the frames at the p99 wall time or slower: how their time split between the main thread
/// being on a processor and waiting for one; and the p99 of the on-processor time alone.
fn slow_frames(v: &Value, frames_key: &str, sched_key: &str) -> String {
    let walls: Vec<u64> = v[frames_key]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    let scheds: Vec<(u64, u64)> = v[sched_key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| Some((s["on_cpu_us"].as_u64()?, s["waiting_us"].as_u64()?)))
                .collect()
        })
        .unwrap_or_default();
    if scheds.len() != walls.len() || walls.is_empty() {
        return "no scheduler statistics".to_owned();
    }
    let mut sorted = walls.clone();
    sorted.sort_unstable();
    let p99 = percentile(&sorted, 99);
    let mut on_cpu: Vec<u64> = scheds.iter().map(|s| s.0).collect();
    on_cpu.sort_unstable();
    let slow: Vec<String> = walls
        .iter()
        .zip(&scheds)
        .filter(|(w, _)| **w as f64 / 1000.0 >= p99)
        .map(|(w, (cpu, wait))| {
            format!(
                "{:.2} = {:.2} on a processor + {:.2} waiting",
                *w as f64 / 1000.0,
                *cpu as f64 / 1000.0,
                *wait as f64 / 1000.0
            )
        })
        .collect();
    let waited = scheds.iter().filter(|s| s.1 >= 1_000).count();
    format!(
        "on a processor {}; {waited} of {} frames waited ≥ 1 ms for a processor; slowest ms: {}",
        spread(&on_cpu),
        walls.len(),
        slow.join(", ")
    )
}

fn main() {
    assert!(
        kds().exists(),
        "build kds first: cargo bench -p kds builds it"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("grill.db");
    let journal = Journal::open_with(
        &db,
        JournalOptions::new(
            Arc::new(ManualClock::starting_at(NOW_MS - 3_600_000)),
            DeviceRole::KitchenScreen,
            "grill",
        ),
        vec![Box::new(StoreProjections::new())],
    )
    .expect("journal");
    kitchen_rush(&journal, NOW_MS, 300).expect("300 open grill tickets");
    drop(journal);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let screen_args: Vec<String> = [
        "--station",
        "grill",
        "--device",
        "grill",
        "--window",
        "1920x1080",
        "--manual-clock",
        &NOW_MS.to_string(),
        "--broker",
        &format!("mqtt://127.0.0.1:{port}"),
        "--db",
        db.to_str().expect("utf-8 path"),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    println!("kitchen screen, 300 open grill tickets, {FRAMES} frames a run, {RUNS} runs");
    for run_no in 1..=RUNS {
        let empty = run(
            &["--bench-empty".to_owned()],
            &dir.path().join("empty.json"),
        );
        let screen = run(&screen_args, &dir.path().join("screen.json"));
        let (e, s, p) = (
            frames(&empty, "frames_us"),
            frames(&screen, "frames_us"),
            frames(&screen, "page_frames_us"),
        );
        let rss = |v: &Value| v["rss_kib"].as_u64().unwrap_or(0) as f64 / 1024.0;
        let part = |v: &Value, k: &str| v[k].as_u64().unwrap_or(0) as f64 / 1024.0;
        let parts = |v: &Value| {
            format!(
                "anonymous {:.0}, file-backed {:.0}, shared {:.0}",
                part(v, "rss_anon_kib"),
                part(v, "rss_file_kib"),
                part(v, "rss_shmem_kib")
            )
        };
        // The same screen as Bevy comes in one respect each: the main world on the
        // multi-threaded executor; rendering pipelined on a thread of its own.
        for (flag, what, file) in [
            (
                "--bench-multi-threaded",
                "main world on Bevy's multi-threaded executor instead",
                "multi.json",
            ),
            (
                "--bench-pipelined",
                "rendering pipelined on its own thread instead",
                "pipelined.json",
            ),
        ] {
            let mut args = screen_args.clone();
            args.push(flag.to_owned());
            let other = run(&args, &dir.path().join(file));
            let (t, tp) = (
                frames(&other, "frames_us"),
                frames(&other, "page_frames_us"),
            );
            println!(
                "run {run_no}: {what}: every frame {}; timers ticking {}; page turning {}",
                spread(&every_frame(&t, &tp)),
                spread(&t),
                spread(&tp),
            );
        }
        let all = every_frame(&s, &p);
        println!(
            "run {run_no}: screen, every frame ({} frames, target p99 ≤ 4 ms): {}",
            all.len(),
            spread(&all),
        );
        println!(
            "run {run_no}: screen, timers ticking: {}; page turning ({} frames): {} | empty window {} | restored {} tickets in {:.0} ms | RSS screen {:.0} MiB, empty {:.0} MiB, difference {:.0} MiB",
            spread(&s),
            p.len(),
            spread(&p),
            spread(&e),
            screen["tickets"],
            screen["restored_ms"].as_f64().unwrap_or(f64::NAN),
            rss(&screen),
            rss(&empty),
            rss(&screen) - rss(&empty),
        );
        println!(
            "       main thread, timers ticking: {}",
            slow_frames(&screen, "frames_us", "frames_sched")
        );
        println!(
            "       main thread, page turning: {}",
            slow_frames(&screen, "page_frames_us", "page_frames_sched")
        );
        println!(
            "       main thread, empty window: {}",
            slow_frames(&empty, "frames_us", "frames_sched")
        );
        println!(
            "       resident memory, MiB: screen {}; empty window {}",
            parts(&screen),
            parts(&empty)
        );
        println!(
            "       text: {} font sizes, {} glyph atlases, {:.1} MiB; all images {:.1} MiB (empty window {:.1} MiB)",
            screen["font_sizes"],
            screen["font_atlases"],
            part(&screen, "font_atlas_kib"),
            part(&screen, "images_kib"),
            part(&empty, "images_kib"),
        );
    }
}
