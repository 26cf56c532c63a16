//! Time from start to connected for a device started without `--broker` (it finds the embedded
//! broker by mDNS on loopback), beside a baseline measured in the same run: the same device given
//! the broker's address. Printed, never asserted: the machine is shared. Target for the first
//! row: at most 1.5 s (mdns-sd resolves in about a second on a LAN).
//!
//! `scripts/bench.sh` builds `pass` in release first (`cargo build --release -p pass-shared --bin
//! pass`); this bench then finds it beside itself (`<target>/release/pass`).
//!
//! Rows, each over PASS_BENCH_DISCOVERY_RUNS (9) device processes:
//! 1. **unconfigured, first start**: a new database, nothing remembered: process start, journal
//!    creation, mDNS browse and resolution of the broker's advertisement, connection. The starts
//!    are 1.5 s apart, as devices of a store start (not several within a second);
//! 2. **the same, back to back**: each start right after the previous device connected. A
//!    responder multicasts a record at most once a second on an interface (RFC 6762 section 6),
//!    so a query within a second of the previous answer waits for that second to pass: this row
//!    shows that worst case;
//! 3. **unconfigured, restarted**: the devices of row 1 started again: the last address that
//!    worked is tried first, before mDNS has answered;
//! 4. **configured (baseline)**: a new database and `--broker mqtt://127.0.0.1:<port>` of a
//!    Mosquitto started by the bench (MQTT 5, what a configured device tries first): process
//!    start, journal creation, connection — everything but discovery.
//!
//! "wall" runs from just before the process is spawned until its control socket reports
//! `connected` (polled every 2 ms); "in device" is the device's own figure
//! (`broker.connected_after_ms`: from the start of `run` to the first CONNACK).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pass_tests::{
    ControlClient, EmbeddedBroker, Mosquitto, TEST_STORE_PASSWORD, bin, unique_store,
};
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(60);
/// Between starts in the paced rows: longer than the responder's one-second rate limit.
const PACE: Duration = Duration::from_millis(1_500);

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Nearest-rank median and the maximum of `v`.
fn median_max(v: &mut [f64]) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    let median = v[(v.len() - 1) / 2];
    (median, v[v.len() - 1])
}

/// One device process of the bench, killed when dropped.
struct Run(Child);

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `t<n>` with its database in `dir` (a password file beside it) and waits until it is
/// connected; returns the process, the wall time and the device's own figure, in ms.
fn start_and_time(
    pass: &Path,
    dir: &Path,
    store: &str,
    n: usize,
    broker: Option<&str>,
) -> (Run, f64, f64) {
    let db = dir.join(format!("t{n}.db"));
    let password = db.with_extension("broker-password");
    if !password.exists() {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(&password, format!("{TEST_STORE_PASSWORD}\n")).expect("password");
        std::fs::set_permissions(&password, std::fs::Permissions::from_mode(0o600))
            .expect("chmod 0600 the password file");
    }
    let control = dir.join(format!("t{n}.sock"));
    let mut cmd = Command::new(pass);
    cmd.args([
        "device",
        "run",
        "--role",
        "order-terminal",
        "--store",
        store,
    ])
    .args(["--device", &format!("t{n}")])
    .arg("--db")
    .arg(&db)
    .arg("--control")
    .arg(&control)
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    match broker {
        Some(url) => cmd.args(["--broker", url, "--mdns", "off"]),
        None => cmd.args(["--mdns", "loopback"]),
    };
    let started = Instant::now();
    let child = Run(cmd.spawn().expect("start pass device run"));
    let client = ControlClient::new(&control);
    loop {
        if let Ok(status) = client.request(&json!({"cmd": "status"}))
            && status["connected"] == Value::Bool(true)
        {
            let wall = started.elapsed().as_secs_f64() * 1e3;
            let inside = status["broker"]["connected_after_ms"]
                .as_f64()
                .unwrap_or(f64::NAN);
            if broker.is_none() {
                // It writes the address it connected to just after connecting: let it, so
                // the restarted row finds it.
                let remembered = db.with_extension("last-broker");
                while !remembered.exists() {
                    assert!(
                        started.elapsed() < LIMIT,
                        "t{n} never remembered its broker"
                    );
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
            return (child, wall, inside);
        }
        assert!(started.elapsed() < LIMIT, "t{n} never connected");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn print_row(name: &str, wall: &mut [f64], inside: &mut [f64]) {
    let (wall_median, wall_max) = median_max(wall);
    let (in_median, in_max) = median_max(inside);
    println!("{name:<36} {wall_median:>8.0} {wall_max:>8.0} {in_median:>12.0} {in_max:>9.0}");
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a list; nothing to run then
    }
    let runs = env_or("PASS_BENCH_DISCOVERY_RUNS", 9).max(1);
    let pass = bin("pass");
    let store = unique_store("bench");
    // Advertised on loopback for the unconfigured rows; kept running to the end.
    let _broker = EmbeddedBroker::start(&store, "hub");
    let dir = tempfile::tempdir().expect("tmp");
    println!(
        "start → connected, {runs} runs each, ms ({}; embedded broker advertised on loopback)",
        pass.display()
    );
    println!(
        "{:<36} {:>8} {:>8} {:>12} {:>9}",
        "", "median", "max", "in device", "max"
    );

    let mosquitto = Mosquitto::start();
    let url = mosquitto.url();
    let rows: [(&str, usize, Option<&str>, Duration); 4] = [
        ("unconfigured, first start (mDNS)", 0, None, PACE),
        ("  the same, back to back", runs, None, Duration::ZERO),
        ("unconfigured, restarted (remembered)", 0, None, PACE),
        ("configured --broker (baseline)", 2 * runs, Some(&url), PACE),
    ];
    for (name, first, configured, pause) in rows {
        let (mut wall, mut inside) = (Vec::new(), Vec::new());
        for n in first..first + runs {
            std::thread::sleep(pause);
            let (run, w, i) = start_and_time(&pass, dir.path(), &store, n, configured);
            wall.push(w);
            inside.push(i);
            drop(run);
        }
        print_row(name, &mut wall, &mut inside);
    }
    println!("target: unconfigured first start ≤ 1500 ms");
}
