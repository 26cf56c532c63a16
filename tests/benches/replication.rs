//! Replication over a real Mosquitto between real release device processes, each figure printed
//! beside a baseline measured in the same run. Printed, never asserted: the machine is shared.
//!
//! `scripts/bench.sh` builds `pass` in release first (`cargo build --release -p pass-shared --bin
//! pass`); this bench then finds it beside itself (`<target>/release/pass`).
//!
//! Figures, in the order they run:
//! 1. baselines: a raw fsync (4 KiB written and fsynced, the devices' temporary directory's
//!    disk; back to back, and paced like the latency run, which is cheaper on this VM's disk;
//!    and an overwrite with fdatasync), raw MQTT publish→receive latency and throughput through the same Mosquitto
//!    (rumqttc, MQTT 3.1.1 like the devices, QoS 1), a control-socket round trip;
//! 2. send→applied latency at a paced rate, two terminals and three screens: `append` on a
//!    terminal (answers after the local commit), then `wait_for` that event on each screen; the
//!    latency is from the start of the append to the return of the `wait_for`, so it includes
//!    two control-socket round trips (one connection each);
//! 3. sustained events per second with nothing lost: both terminals append as fast as several
//!    concurrent control connections allow; the time runs until every screen holds every event;
//! 4. catch-up: events generated on a terminal, then a fresh screen started; the time runs from
//!    its start until its heads match;
//! 5. time to report "cut off" after the broker is SIGKILLed, and with the broker up once every
//!    peer of a screen is SIGKILLed;
//! 6. resident memory (VmRSS) of the headless release devices (none hosts the broker).
//!
//! The events are `check_opened` (one event a "ticket"). Screens' progress in 3 and 4 is read
//! from their databases opened read-only (an indexed `MAX(seq)` a origin, every 10 ms), which
//! costs the devices nothing.
//!
//! Sizes (environment): PASS_BENCH_LATENCY_SAMPLES (500), PASS_BENCH_RATE (50 a second),
//! PASS_BENCH_SUSTAINED_EVENTS (6000, both terminals together), PASS_BENCH_CONNECTIONS (8 a
//! terminal), PASS_BENCH_CATCHUP_EVENTS (20000; 100000 for the figure),
//! PASS_BENCH_CUTOFF_ROUNDS (3), PASS_BENCH_FSYNC_SAMPLES (200).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pass_tests::{
    ControlClient, Device, DeviceSpec, Mosquitto, Role, check_opened, heads_of, peers_of,
    wait_until,
};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{Value, json};

const WARMUP: usize = 20;
const LIMIT: Duration = Duration::from_secs(300);

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Nearest-rank percentile of `v` (sorted here), in the unit given.
fn pct(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let rank = ((q / 100.0) * s.len() as f64).ceil().max(1.0) as usize;
    s[rank.min(s.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

// ---------------------------------------------------------------------------------------------
// Baselines

/// Writes 4 KiB and syncs, `samples` times, in a file under `dir`; milliseconds each. `append`:
/// the file grows and `fsync` runs (metadata too); otherwise the same 4 KiB block is
/// overwritten and `fdatasync` runs (what SQLite does to a WAL it reuses).
/// With `pace`, one write every `pace` (as the paced latency run commits) instead of back to back.
fn raw_fsync(dir: &Path, samples: usize, append: bool, pace: Option<Duration>) -> Vec<f64> {
    use std::io::{Seek, SeekFrom};
    let path = dir.join("fsync-probe");
    let mut file = std::fs::File::create(&path).expect("create the fsync probe");
    let block = vec![0x5au8; 4096];
    let mut out = Vec::with_capacity(samples);
    for _ in 0..samples + WARMUP {
        if let Some(pace) = pace {
            std::thread::sleep(pace);
        }
        let t = Instant::now();
        if !append {
            file.seek(SeekFrom::Start(0)).expect("seek");
        }
        file.write_all(&block).expect("write 4 KiB");
        if append {
            file.sync_all().expect("fsync");
        } else {
            file.sync_data().expect("fdatasync");
        }
        out.push(ms(t.elapsed()));
    }
    let _ = std::fs::remove_file(&path);
    out.split_off(WARMUP)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// A connected rumqttc client whose event loop runs in a task; `on_publish` sees every
/// incoming publish. Returns once the ConnAck (and the SubAck, with `subscribe`) came.
async fn mqtt_client(
    port: u16,
    id: &str,
    subscribe: Option<&str>,
    on_publish: impl Fn(&[u8]) + Send + 'static,
) -> AsyncClient {
    let mut options = MqttOptions::new(id, "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(5));
    options.set_clean_session(true);
    let (client, mut eventloop) = AsyncClient::new(options, 1_024);
    if let Some(topic) = subscribe {
        client
            .subscribe(topic, QoS::AtLeastOnce)
            .await
            .expect("queue a subscribe");
    }
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let wants_suback = subscribe.is_some();
    tokio::spawn(async move {
        let mut ready = Some(ready_tx);
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) if !wants_suback => {
                    if let Some(r) = ready.take() {
                        let _ = r.send(());
                    }
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    if let Some(r) = ready.take() {
                        let _ = r.send(());
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => on_publish(&p.payload),
                Ok(_) => {}
                Err(e) => {
                    eprintln!("raw MQTT client: {e}");
                    return;
                }
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(30), ready_rx)
        .await
        .expect("the raw MQTT client connects within 30 s")
        .expect("the raw MQTT client's loop runs");
    client
}

/// Raw MQTT publish→receive latency through the broker: one publisher, one subscriber, QoS 1,
/// a 16-byte payload, paced at `rate` a second; milliseconds each.
fn mqtt_latency(port: u16, samples: usize, rate: f64) -> Vec<f64> {
    let rt = runtime();
    rt.block_on(async move {
        let topic = "bench/raw/latency";
        let received: Arc<Mutex<Vec<Option<Instant>>>> =
            Arc::new(Mutex::new(vec![None; samples + WARMUP]));
        let r = Arc::clone(&received);
        let _sub = mqtt_client(port, "bench-lat-sub", Some(topic), move |payload| {
            let now = Instant::now();
            if let Some(i) = payload
                .get(..8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
            {
                let mut r = r.lock().expect("lock");
                if let Some(slot) = r.get_mut(i as usize) {
                    *slot = Some(now);
                }
            }
        })
        .await;
        let publisher = mqtt_client(port, "bench-lat-pub", None, |_| {}).await;
        let period = Duration::from_secs_f64(1.0 / rate);
        let start = tokio::time::Instant::now();
        let mut sent = Vec::with_capacity(samples + WARMUP);
        for i in 0..(samples + WARMUP) as u64 {
            tokio::time::sleep_until(start + period * i as u32).await;
            let mut payload = i.to_be_bytes().to_vec();
            payload.extend_from_slice(&[0u8; 8]);
            sent.push(Instant::now());
            publisher
                .publish(topic, QoS::AtLeastOnce, false, payload)
                .await
                .expect("queue a publish");
        }
        let all = || received.lock().expect("lock").iter().all(Option::is_some);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !all() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let received = received.lock().expect("lock");
        sent.iter()
            .zip(received.iter())
            .skip(WARMUP)
            .filter_map(|(s, r)| r.map(|r| ms(r.duration_since(*s))))
            .collect()
    })
}

/// Raw MQTT throughput through the broker, shaped like the sustained run: two publishers send
/// `total` messages of 512 bytes (about an envelope) as fast as QoS 1 allows, three subscribers
/// each receive all of them; messages a second until the last subscriber has all.
fn mqtt_throughput(port: u16, total: usize) -> (f64, u64) {
    let rt = runtime();
    rt.block_on(async move {
        let topic = "bench/raw/throughput";
        let counts: Vec<Arc<AtomicU64>> = (0..3).map(|_| Arc::new(AtomicU64::new(0))).collect();
        let mut subs = Vec::new();
        for (n, count) in counts.iter().enumerate() {
            let c = Arc::clone(count);
            subs.push(
                mqtt_client(port, &format!("bench-tp-sub{n}"), Some(topic), move |_| {
                    c.fetch_add(1, Ordering::Relaxed);
                })
                .await,
            );
        }
        let mut pubs = Vec::new();
        for n in 0..2 {
            pubs.push(mqtt_client(port, &format!("bench-tp-pub{n}"), None, |_| {}).await);
        }
        let start = Instant::now();
        let per = total / 2;
        let tasks: Vec<_> = pubs
            .into_iter()
            .map(|p| {
                tokio::spawn(async move {
                    for _ in 0..per {
                        p.publish(topic, QoS::AtLeastOnce, false, vec![b'x'; 512])
                            .await
                            .expect("queue a publish");
                    }
                    p
                })
            })
            .collect();
        let mut keep = Vec::new();
        for t in tasks {
            keep.push(t.await.expect("publisher task"));
        }
        let expected = (per * 2) as u64;
        let deadline = Instant::now() + Duration::from_secs(120);
        while counts.iter().any(|c| c.load(Ordering::Relaxed) < expected)
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let elapsed = start.elapsed().as_secs_f64();
        let least = counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .min()
            .unwrap_or(0);
        (expected as f64 / elapsed, expected - least.min(expected))
    })
}

// ---------------------------------------------------------------------------------------------
// Devices

fn request(client: &ControlClient, req: &Value) -> Result<Value, String> {
    let answer = client.request(req)?;
    if answer["ok"] == true {
        Ok(answer)
    } else {
        Err(format!("{answer}"))
    }
}

fn append(client: &ControlClient, event: &Value) -> Result<u64, String> {
    request(client, &json!({"cmd": "append", "event": event}))?["seq"]
        .as_u64()
        .ok_or_else(|| "append answered without a seq".to_owned())
}

fn wait_for(client: &ControlClient, origin: &str, seq: u64, timeout_ms: u64) -> Result<(), String> {
    request(
        client,
        &json!({"cmd": "wait_for", "origin": origin, "seq": seq, "timeout_ms": timeout_ms}),
    )
    .map(|_| ())
}

/// The own head (seq) of `device`.
fn own_head(device: &Device) -> u64 {
    heads_of(&device.status())
        .get(device.origin())
        .copied()
        .unwrap_or(0)
}

/// A read-only view of a device's database: the highest seq it holds of each origin.
struct DbProbe {
    conn: rusqlite::Connection,
}

impl DbProbe {
    fn open(db: &Path) -> DbProbe {
        let conn = rusqlite::Connection::open_with_flags(
            db,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .expect("open a device's database read-only");
        conn.busy_timeout(Duration::from_secs(5))
            .expect("busy timeout");
        DbProbe { conn }
    }

    fn head(&self, origin: &str) -> u64 {
        self.conn
            .query_row(
                "SELECT COALESCE(MAX(seq), 0) FROM events WHERE origin = ?1",
                [origin],
                |r| r.get::<_, i64>(0),
            )
            .map(|s| s.max(0) as u64)
            .unwrap_or(0)
    }

    fn holds(&self, targets: &BTreeMap<String, u64>) -> bool {
        targets.iter().all(|(o, s)| self.head(o) >= *s)
    }
}

/// Polls `db` every 10 ms until it holds `targets`; when it did, or `None` past [`LIMIT`].
fn held_at(db: &Path, targets: &BTreeMap<String, u64>) -> Option<Instant> {
    let probe = DbProbe::open(db);
    let deadline = Instant::now() + LIMIT;
    loop {
        if probe.holds(targets) {
            return Some(Instant::now());
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The pid of the `pass device run` process using `db` (from /proc; the harness keeps its own).
fn device_pid(db: &Path) -> Option<u32> {
    let want = db.as_os_str().as_encoded_bytes();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        if args.iter().any(|a| a.ends_with(b"pass")) && args.contains(&want) {
            return Some(pid);
        }
    }
    None
}

/// VmRSS of `pid`, in MiB.
fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn device_rss(device: &Device) -> Option<f64> {
    device_pid(device.db()).and_then(rss_mib)
}

fn all_see_each_other(devices: &[&Device]) -> bool {
    devices.iter().all(|d| match d.try_status() {
        Ok(status) => {
            let peers = peers_of(&status);
            status["cut_off_since"].is_null()
                && devices
                    .iter()
                    .filter(|o| o.id() != d.id())
                    .all(|o| peers.iter().any(|p| p == o.id()))
        }
        Err(_) => false,
    })
}

/// Appends `count` events on `terminal` over `connections` concurrent control connections;
/// the terminal's own head afterwards, or the first error.
fn flood(terminal: &Device, tag: &str, count: usize, connections: usize) -> Result<u64, String> {
    let next = AtomicU64::new(0);
    let error: Mutex<Option<String>> = Mutex::new(None);
    let control = ControlClient::new(terminal.control_path());
    std::thread::scope(|s| {
        for _ in 0..connections.max(1) {
            s.spawn(|| {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= count as u64 {
                        return;
                    }
                    let check = format!("{}-{tag}-{n}", terminal.id());
                    if let Err(e) = append(&control, &check_opened(&check, &format!("{tag}{n}"))) {
                        *error.lock().expect("lock") = Some(e);
                        return;
                    }
                }
            });
        }
    });
    match error.into_inner().expect("lock") {
        Some(e) => Err(e),
        None => Ok(own_head(terminal)),
    }
}

/// A row of the final table.
struct Row {
    figure: String,
    value: String,
    baseline: String,
    target: String,
}

fn row(rows: &mut Vec<Row>, figure: &str, value: String, baseline: String, target: &str) {
    println!("  {figure}: {value}   [baseline: {baseline}]   [target: {target}]");
    rows.push(Row {
        figure: figure.to_owned(),
        value,
        baseline,
        target: target.to_owned(),
    });
}

fn fmt_ms(v: f64) -> String {
    if v.is_nan() {
        "n/a".to_owned()
    } else if v < 10.0 {
        format!("{v:.2} ms")
    } else {
        format!("{v:.1} ms")
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a list; nothing to run then
    }
    let latency_samples = env_or("PASS_BENCH_LATENCY_SAMPLES", 500);
    let rate = env_or("PASS_BENCH_RATE", 50).max(1) as f64;
    let sustained = env_or("PASS_BENCH_SUSTAINED_EVENTS", 6_000).max(2);
    let connections = env_or("PASS_BENCH_CONNECTIONS", 8).max(1);
    let catchup = env_or("PASS_BENCH_CATCHUP_EVENTS", 20_000);
    let cutoff_rounds = env_or("PASS_BENCH_CUTOFF_ROUNDS", 3).max(1);
    let fsync_samples = env_or("PASS_BENCH_FSYNC_SAMPLES", 200).max(1);
    let pass = pass_tests::bin("pass");
    println!(
        "replication benchmark: devices {} (release), broker {}, {} CPUs",
        pass.display(),
        pass_tests::mosquitto_binary().display(),
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    println!(
        "sizes: {latency_samples} latency samples at {rate}/s, {sustained} sustained events over \
         {connections} connections a terminal, {catchup} catch-up events, {cutoff_rounds} cut-off rounds"
    );
    let mut rows: Vec<Row> = Vec::new();
    let run_start = Instant::now();

    // 1. Baselines -----------------------------------------------------------------------------
    println!("\n[1] baselines");
    let scratch = tempfile::Builder::new()
        .prefix("pass-bench-")
        .tempdir()
        .expect("a temporary directory");
    let fsync = raw_fsync(scratch.path(), fsync_samples, true, None);
    let fsync_p50 = pct(&fsync, 50.0);
    println!(
        "  raw fsync (4 KiB appended + fsync, {}): p50 {} p99 {} over {}",
        scratch.path().display(),
        fmt_ms(fsync_p50),
        fmt_ms(pct(&fsync, 99.0)),
        fsync.len()
    );
    let paced = raw_fsync(
        scratch.path(),
        fsync_samples.min(100),
        true,
        Some(Duration::from_secs_f64(1.0 / rate)),
    );
    let paced_p50 = pct(&paced, 50.0);
    println!(
        "  raw fsync (4 KiB appended + fsync) paced at {rate}/s: p50 {} p99 {} over {}",
        fmt_ms(paced_p50),
        fmt_ms(pct(&paced, 99.0)),
        paced.len()
    );
    let fdatasync = raw_fsync(scratch.path(), fsync_samples, false, None);
    let fdatasync_p50 = pct(&fdatasync, 50.0);
    println!(
        "  raw fdatasync (4 KiB overwritten + fdatasync): p50 {} p99 {} over {}",
        fmt_ms(fdatasync_p50),
        fmt_ms(pct(&fdatasync, 99.0)),
        fdatasync.len()
    );
    let mut broker = Mosquitto::start();
    let raw_lat = mqtt_latency(broker.port(), latency_samples, rate);
    let (raw_p50, raw_p99) = (pct(&raw_lat, 50.0), pct(&raw_lat, 99.0));
    println!(
        "  raw MQTT publish→receive (rumqttc, QoS 1, 16 B, {rate}/s): p50 {} p99 {} over {} (of {latency_samples})",
        fmt_ms(raw_p50),
        fmt_ms(raw_p99),
        raw_lat.len()
    );
    let (raw_rate, raw_missing) = mqtt_throughput(broker.port(), sustained);
    println!(
        "  raw MQTT throughput (2 publishers → 3 subscribers, QoS 1, 512 B, {sustained} messages): \
         {raw_rate:.0}/s, {raw_missing} missing at the slowest subscriber"
    );

    // Devices ----------------------------------------------------------------------------------
    let url = broker.url();
    let start = |id: &str, role| Device::start_spec(DeviceSpec::new(id, role, &url));
    let t1 = start("t1", Role::OrderTerminal);
    let t2 = start("t2", Role::OrderTerminal);
    let screens = [
        start("grill", Role::KitchenScreen),
        start("fry", Role::KitchenScreen),
        start("expo", Role::KitchenScreen),
    ];
    let terminals = [&t1, &t2];
    let mut everyone: Vec<&Device> = terminals.to_vec();
    everyone.extend(screens.iter());
    let seen = wait_until(LIMIT, || all_see_each_other(&everyone));
    println!("\n  devices up: 2 terminals, 3 screens; all see each other: {seen}");
    let idle_rss: Vec<f64> = everyone.iter().filter_map(|d| device_rss(d)).collect();

    // Control-socket round trip: a wait_for on an event the screen already holds.
    let grill_control = ControlClient::new(screens[0].control_path());
    let grill_origin = screens[0].origin().to_owned();
    let mut rtt = Vec::new();
    for _ in 0..200 + WARMUP {
        let t = Instant::now();
        if wait_for(&grill_control, &grill_origin, 1, 1_000).is_ok() {
            rtt.push(ms(t.elapsed()));
        }
    }
    let rtt = rtt.split_off(WARMUP.min(rtt.len()));
    let rtt_p50 = pct(&rtt, 50.0);
    println!(
        "  control-socket round trip (wait_for of an event held): p50 {} p99 {}",
        fmt_ms(rtt_p50),
        fmt_ms(pct(&rtt, 99.0))
    );
    row(
        &mut rows,
        "raw fsync, 4 KiB appended (p50)",
        fmt_ms(fsync_p50),
        "—".into(),
        "—",
    );
    row(
        &mut rows,
        &format!("raw fsync, 4 KiB appended, paced at {rate}/s (p50)"),
        fmt_ms(paced_p50),
        "—".into(),
        "—",
    );
    row(
        &mut rows,
        "raw fdatasync, 4 KiB overwritten (p50)",
        fmt_ms(fdatasync_p50),
        "—".into(),
        "—",
    );
    row(
        &mut rows,
        "raw MQTT publish→receive, QoS 1 (p50 / p99)",
        format!("{} / {}", fmt_ms(raw_p50), fmt_ms(raw_p99)),
        "—".into(),
        "—",
    );
    row(
        &mut rows,
        "control-socket round trip (p50)",
        fmt_ms(rtt_p50),
        "—".into(),
        "—",
    );

    // 2. Send→applied latency ------------------------------------------------------------------
    println!(
        "\n[2] send→applied latency, {latency_samples} events at {rate}/s, alternating terminals"
    );
    let per_screen: Mutex<Vec<f64>> = Mutex::new(Vec::new());
    let all_screens: Mutex<Vec<f64>> = Mutex::new(Vec::new());
    let appends: Mutex<Vec<f64>> = Mutex::new(Vec::new());
    let failures = AtomicU64::new(0);
    let terminal_controls: Vec<(ControlClient, String)> = terminals
        .iter()
        .map(|t| (ControlClient::new(t.control_path()), t.origin().to_owned()))
        .collect();
    let screen_controls: Vec<ControlClient> = screens
        .iter()
        .map(|s| ControlClient::new(s.control_path()))
        .collect();
    let period = Duration::from_secs_f64(1.0 / rate);
    let phase = Instant::now();
    std::thread::scope(|s| {
        for i in 0..latency_samples + WARMUP {
            let due = phase + period * i as u32;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let (control, origin) = &terminal_controls[i % 2];
            let (per_screen, all_screens, appends, failures, screen_controls) = (
                &per_screen,
                &all_screens,
                &appends,
                &failures,
                &screen_controls,
            );
            s.spawn(move || {
                let t0 = Instant::now();
                let event = check_opened(&format!("lat-{i}"), &format!("L{i}"));
                let seq = match append(control, &event) {
                    Ok(seq) => seq,
                    Err(e) => {
                        eprintln!("append failed: {e}");
                        failures.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                };
                let appended = ms(t0.elapsed());
                let lats: Vec<Option<f64>> = std::thread::scope(|s2| {
                    let handles: Vec<_> = screen_controls
                        .iter()
                        .map(|sc| {
                            s2.spawn(move || {
                                wait_for(sc, origin, seq, 30_000)
                                    .ok()
                                    .map(|()| ms(t0.elapsed()))
                            })
                        })
                        .collect();
                    handles
                        .into_iter()
                        .map(|h| h.join().ok().flatten())
                        .collect()
                });
                if i < WARMUP {
                    return;
                }
                appends.lock().expect("lock").push(appended);
                if lats.iter().all(Option::is_some) {
                    let lats: Vec<f64> = lats.into_iter().flatten().collect();
                    all_screens
                        .lock()
                        .expect("lock")
                        .push(lats.iter().copied().fold(0.0, f64::max));
                    per_screen.lock().expect("lock").extend(lats);
                } else {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    let (per_screen, all_screens, appends) = (
        per_screen.into_inner().expect("lock"),
        all_screens.into_inner().expect("lock"),
        appends.into_inner().expect("lock"),
    );
    let achieved = (latency_samples + WARMUP) as f64 / phase.elapsed().as_secs_f64();
    println!(
        "  {} events applied on all 3 screens, {} failed or timed out; {achieved:.1} events/s achieved",
        all_screens.len(),
        failures.load(Ordering::Relaxed)
    );
    println!(
        "  append (local commit, incl. one round trip): p50 {} p99 {}",
        fmt_ms(pct(&appends, 50.0)),
        fmt_ms(pct(&appends, 99.0))
    );
    row(
        &mut rows,
        "append→local commit via control (p50 / p99)",
        format!(
            "{} / {}",
            fmt_ms(pct(&appends, 50.0)),
            fmt_ms(pct(&appends, 99.0))
        ),
        format!(
            "fsync {}, round trip {}",
            fmt_ms(fsync_p50),
            fmt_ms(rtt_p50)
        ),
        "—",
    );
    row(
        &mut rows,
        &format!(
            "send→applied, each screen (p50 / p99, {} samples)",
            per_screen.len()
        ),
        format!(
            "{} / {}",
            fmt_ms(pct(&per_screen, 50.0)),
            fmt_ms(pct(&per_screen, 99.0))
        ),
        format!(
            "raw MQTT {} / {}; + paced fsync {} ×2, round trip {} ×2",
            fmt_ms(raw_p50),
            fmt_ms(raw_p99),
            fmt_ms(paced_p50),
            fmt_ms(rtt_p50)
        ),
        "p50 ≤ 5 ms, p99 ≤ 20 ms",
    );
    row(
        &mut rows,
        "send→applied, slowest of 3 screens (p50 / p99)",
        format!(
            "{} / {}",
            fmt_ms(pct(&all_screens, 50.0)),
            fmt_ms(pct(&all_screens, 99.0))
        ),
        format!("raw MQTT {} / {}", fmt_ms(raw_p50), fmt_ms(raw_p99)),
        "p50 ≤ 5 ms, p99 ≤ 20 ms",
    );

    // 3. Sustained rate --------------------------------------------------------------------------
    println!(
        "\n[3] sustained: {sustained} events, both terminals, {connections} connections each, as fast as they go"
    );
    let per_terminal = sustained / 2;
    let mut targets = BTreeMap::new();
    for t in terminals {
        targets.insert(t.origin().to_owned(), own_head(t) + per_terminal as u64);
    }
    let phase = Instant::now();
    let (committed, applied) = std::thread::scope(|s| {
        let watchers: Vec<_> = screens
            .iter()
            .map(|screen| {
                let targets = &targets;
                s.spawn(move || held_at(screen.db(), targets))
            })
            .collect();
        let floods: Vec<_> = terminals
            .iter()
            .enumerate()
            .map(|(n, t)| s.spawn(move || flood(t, &format!("s{n}"), per_terminal, connections)))
            .collect();
        for f in floods {
            if let Err(e) = f.join().expect("flood thread") {
                eprintln!("sustained append failed: {e}");
            }
        }
        let committed = phase.elapsed();
        let applied: Vec<Option<Instant>> = watchers
            .into_iter()
            .map(|w| w.join().expect("watcher"))
            .collect();
        (committed, applied)
    });
    let total = (per_terminal * 2) as f64;
    let commit_rate = total / committed.as_secs_f64();
    let applied_all = applied.iter().all(Option::is_some);
    let applied_after = applied
        .iter()
        .flatten()
        .map(|t| t.duration_since(phase))
        .max()
        .unwrap_or(LIMIT);
    let applied_rate = total / applied_after.as_secs_f64();
    // Nothing lost, nothing doubled: each screen holds both terminals' events up to the target,
    // and as many events as its heads add up to.
    let mut lost_report = Vec::new();
    for screen in &screens {
        match screen.try_status() {
            Ok(status) => {
                let heads = heads_of(&status);
                let ok_heads = targets.iter().all(|(o, s)| heads.get(o) >= Some(s));
                let sum: u64 = heads.values().sum();
                let ok_count = status["events"].as_u64() == Some(sum);
                if !(ok_heads && ok_count) {
                    lost_report.push(format!("{}: {status}", screen.id()));
                }
            }
            Err(e) => lost_report.push(format!("{}: {e}", screen.id())),
        }
    }
    let nothing_lost = applied_all && lost_report.is_empty();
    println!(
        "  committed on the terminals in {:.2} s ({commit_rate:.0}/s); on every screen after {:.2} s; \
         nothing lost or doubled: {nothing_lost} {}",
        committed.as_secs_f64(),
        applied_after.as_secs_f64(),
        lost_report.join("; ")
    );
    row(
        &mut rows,
        &format!("sustained, applied on all 3 screens ({sustained} events)"),
        format!(
            "{applied_rate:.0} events/s (nothing lost: {})",
            if nothing_lost { "yes" } else { "NO" }
        ),
        format!("raw MQTT 2→3 QoS 1: {raw_rate:.0} msgs/s"),
        "≥ 1,000 tickets/s",
    );
    row(
        &mut rows,
        "sustained, committed on the terminals",
        format!("{commit_rate:.0} events/s"),
        format!(
            "1 / fdatasync p50 = {:.0} commits/s",
            1_000.0 / fdatasync_p50
        ),
        "—",
    );

    // 4. Catch-up ----------------------------------------------------------------------------
    println!("\n[4] catch-up: {catchup} new events on t1, then a fresh screen");
    let generated = Instant::now();
    if let Err(e) = flood(&t1, "cu", catchup, connections) {
        eprintln!("catch-up generation failed: {e}");
    }
    println!("  generated in {:.2} s", generated.elapsed().as_secs_f64());
    // What the fresh device must reach: every origin as t1 holds it.
    let targets = heads_of(&t1.status());
    let total_events: u64 = targets.values().sum();
    let started = Instant::now();
    let fresh = start("fresh", Role::KitchenScreen);
    let answered = started.elapsed();
    let caught = held_at(fresh.db(), &targets).map(|t| t.duration_since(started));
    match caught {
        Some(d) => println!(
            "  fresh screen answered its socket after {:.2} s, held all {total_events} events after {:.2} s ({:.0} events/s)",
            answered.as_secs_f64(),
            d.as_secs_f64(),
            total_events as f64 / d.as_secs_f64()
        ),
        None => println!("  fresh screen did NOT catch up within {LIMIT:?}"),
    }
    let fresh_status = fresh.try_status().unwrap_or(Value::Null);
    println!(
        "  fresh screen: received_by_pull {}, received_live {}",
        fresh_status["received_by_pull"], fresh_status["received_live"]
    );
    let per_100k = caught.map(|d| d.as_secs_f64() * 100_000.0 / total_events.max(1) as f64);
    row(
        &mut rows,
        &format!("catch-up of a fresh screen ({total_events} events)"),
        match (caught, per_100k) {
            (Some(d), Some(p)) => format!(
                "{:.2} s ({:.0} events/s; ≈ {p:.1} s per 100,000)",
                d.as_secs_f64(),
                total_events as f64 / d.as_secs_f64()
            ),
            _ => "did not catch up".into(),
        },
        format!(
            "device start to control answer {:.2} s",
            answered.as_secs_f64()
        ),
        "100,000 within 10 s",
    );

    // 6. Memory (after the workload, before the faults) ------------------------------------------
    println!("\n[6] resident memory");
    let mut rss: Vec<(String, f64)> = Vec::new();
    for d in everyone.iter().copied().chain(std::iter::once(&fresh)) {
        if let Some(m) = device_rss(d) {
            rss.push((d.id().to_owned(), m));
        }
    }
    let listed: Vec<String> = rss.iter().map(|(id, m)| format!("{id} {m:.1}")).collect();
    println!("  VmRSS MiB after the workload: {}", listed.join(", "));
    let max_rss = rss.iter().map(|(_, m)| *m).fold(f64::NAN, f64::max);
    row(
        &mut rows,
        "resident memory, headless release device (max of 6)",
        format!("{max_rss:.1} MiB"),
        format!(
            "same devices idle after start: max {:.1} MiB",
            idle_rss.iter().copied().fold(f64::NAN, f64::max)
        ),
        "< 40 MB",
    );

    // 5. Cut off ------------------------------------------------------------------------------
    let mut with_fresh = everyone.clone();
    with_fresh.push(&fresh);
    println!("\n[5] cut off: broker SIGKILLed, {cutoff_rounds} rounds, every device watched");
    let mut detect = Vec::new();
    let mut rejoin = Vec::new();
    for round in 0..cutoff_rounds {
        if !wait_until(LIMIT, || all_see_each_other(&with_fresh)) {
            println!(
                "  round {}: devices never all saw each other; skipped",
                round + 1
            );
            continue;
        }
        let killed = Instant::now();
        broker.kill();
        let times: Vec<Option<Duration>> = std::thread::scope(|s| {
            let hs: Vec<_> = with_fresh
                .iter()
                .map(|d| {
                    s.spawn(move || {
                        let deadline = killed + Duration::from_secs(60);
                        while Instant::now() < deadline {
                            if let Ok(st) = d.try_status()
                                && st["cut_off_since"].is_number()
                            {
                                return Some(killed.elapsed());
                            }
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        None
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().ok().flatten()).collect()
        });
        let got: Vec<f64> = times.iter().flatten().map(|d| ms(*d)).collect();
        println!(
            "  round {}: {} of {} reported cut off, after {} ms",
            round + 1,
            got.len(),
            times.len(),
            got.iter()
                .map(|m| format!("{m:.0}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        detect.extend(got);
        let restarted = Instant::now();
        broker.restart();
        if wait_until(LIMIT, || all_see_each_other(&with_fresh)) {
            rejoin.push(ms(restarted.elapsed()));
        }
    }
    row(
        &mut rows,
        &format!(
            "cut off reported after broker SIGKILL (p50 / max, {} samples)",
            detect.len()
        ),
        format!(
            "{:.2} s / {:.2} s",
            pct(&detect, 50.0) / 1_000.0,
            pct(&detect, 100.0) / 1_000.0
        ),
        "no peer heard for 3 s (design threshold)".into(),
        "within 5 s",
    );
    row(
        &mut rows,
        "broker restarted → every device sees every peer again (p50)",
        format!("{:.2} s", pct(&rejoin, 50.0) / 1_000.0),
        "—".into(),
        "—",
    );

    // Peers stop with the broker up: every device but the grill is SIGKILLed.
    println!("\n[5b] cut off with the broker up: every peer of the grill SIGKILLed");
    let grill = &screens[0];
    let ready = wait_until(LIMIT, || {
        grill
            .try_status()
            .map(|s| s["cut_off_since"].is_null() && peers_of(&s).len() == 5)
            .unwrap_or(false)
    });
    // The devices are owned above; kill their processes by pid (the harness reaps them on drop).
    let victims: Vec<u32> = with_fresh
        .iter()
        .filter(|d| d.id() != grill.id())
        .filter_map(|d| device_pid(d.db()))
        .collect();
    let killed = Instant::now();
    for pid in &victims {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    let mut peers_stop = None;
    if ready {
        let deadline = killed + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(st) = grill.try_status()
                && st["cut_off_since"].is_number()
            {
                peers_stop = Some(killed.elapsed());
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    println!(
        "  {} peers killed; grill reported cut off after {}",
        victims.len(),
        peers_stop.map_or("—".into(), |d| format!("{:.2} s", d.as_secs_f64()))
    );
    row(
        &mut rows,
        "cut off reported when all 5 peers are SIGKILLed, broker up",
        peers_stop.map_or("not reported".into(), |d| {
            format!("{:.2} s", d.as_secs_f64())
        }),
        "no peer heard for 3 s (design threshold)".into(),
        "within 5 s",
    );

    // Table ------------------------------------------------------------------------------------
    println!(
        "\nrun took {:.0} s; the machine is shared (other builds and tests may run beside it)\n",
        run_start.elapsed().as_secs_f64()
    );
    println!("| figure | value | baseline (same run) | target |");
    println!("|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} |",
            r.figure, r.value, r.baseline, r.target
        );
    }
    drop(fresh);
    drop(screens);
    drop(t1);
    drop(t2);
    broker.kill();
}
