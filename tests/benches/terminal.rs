//! From "send" on an order terminal to the send's event committed and published, for a
//! ten-line order, on a real release device and a real Mosquitto, beside baselines measured in
//! the same run on the same disk. Printed, never asserted: the machine is shared.
//!
//! `scripts/bench.sh` builds `pass` in release first (`cargo build --release -p pass-shared --bin
//! pass`); this bench finds it beside itself (`<target>/release/pass`).
//!
//! Each round opens a takeout check and adds ten lines (untimed), then times one `send` intent
//! on the terminal's control socket:
//! - **committed**: from writing the request to reading the answer, which comes only after the
//!   `items_sent` event is committed (fsynced) in the terminal's journal and the intent's
//!   planning (the check's fold, the domain's rules) is done;
//! - **published**: from writing the request to an MQTT subscriber on the same broker receiving
//!   the envelope of that `items_sent` on the terminal's `ev/<origin>` topic.
//!
//! Baselines, measured in the same rounds (one sample of each right after each send, so a busy
//! moment of the shared machine weighs on all alike): a raw 4 KiB write + fsync on the disk the
//! devices use; `Journal::append` of the same `items_sent` event (signature, hash chain, one
//! fsynced commit) without projections; a control-socket round trip (`status`).
//!
//! Size (environment): PASS_BENCH_TERMINAL_SENDS (300).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use pass_shared::clock::SystemClock;
use pass_shared::event::{DeviceRole, Event};
use pass_shared::journal::{Journal, JournalOptions};
use pass_tests::{ControlClient, Device, DeviceSpec, Mosquitto, Role, TEST_STORE, wait_until};
use rumqttc::{AsyncClient, Event as MqttEvent, MqttOptions, Packet, QoS};
use serde_json::{Value, json};

const WARMUP: usize = 20;

/// The ten lines of each order: item and its required choices.
const LINES: [(&str, &[&str]); 10] = [
    ("classic_burger", &["medium"]),
    ("classic_burger", &["well_done", "add_bacon"]),
    ("ribeye", &["medium_rare", "sauce_peppercorn"]),
    ("caesar_salad", &["dressing_caesar"]),
    ("tomato_soup", &[]),
    ("fish_and_chips", &[]),
    ("fries", &[]),
    ("house_red_glass", &[]),
    ("cola", &[]),
    ("draught_lager", &[]),
];

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

/// Nearest-rank percentile.
fn pct(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let rank = ((q / 100.0) * s.len() as f64).ceil().max(1.0) as usize;
    s[rank.min(s.len()) - 1]
}

fn row(figure: &str, v: &[f64]) {
    println!(
        "{figure:<58} {:>8.2} ms {:>8.2} ms {:>6}",
        pct(v, 50.0),
        pct(v, 99.0),
        v.len()
    );
}

/// The baselines, one sample of each per call: a raw fsync, a bare journal's append.
struct Baselines {
    probe: std::fs::File,
    block: Vec<u8>,
    journal: Journal,
}

impl Baselines {
    fn new(dir: &Path) -> Baselines {
        Baselines {
            probe: std::fs::File::create(dir.join("fsync-probe")).expect("create the fsync probe"),
            block: vec![0x5au8; 4096],
            journal: Journal::open(
                dir.join("baseline.db"),
                JournalOptions::new(Arc::new(SystemClock), DeviceRole::OrderTerminal, "baseline"),
            )
            .expect("a baseline journal"),
        }
    }

    /// 4 KiB written to a growing file and fsynced; ms.
    fn fsync(&mut self) -> f64 {
        let t = Instant::now();
        self.probe.write_all(&self.block).expect("write 4 KiB");
        self.probe.sync_all().expect("fsync");
        ms(t.elapsed())
    }

    /// `event` appended (committed); ms.
    fn append(&self, event: &Event) -> f64 {
        let t = Instant::now();
        self.journal.append(event).expect("append");
        ms(t.elapsed())
    }
}

fn ok(client: &ControlClient, request: &Value) -> Value {
    let answer = client.request(request).expect("the terminal answers");
    assert!(answer["ok"] == true, "{request} refused: {answer}");
    answer
}

fn act(client: &ControlClient, intent: Value) -> Value {
    ok(
        client,
        &json!({"cmd": "terminal", "op": "act", "intent": intent}),
    )
}

/// A subscriber to every origin's events on the test store; each publish's payload and the
/// instant it arrived go to the channel.
fn subscriber(port: u16) -> (tokio::runtime::Runtime, mpsc::Receiver<(Instant, Vec<u8>)>) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let (tx, rx) = mpsc::channel();
    let (ready_tx, ready_rx) = mpsc::channel();
    runtime.spawn(async move {
        let mut options = MqttOptions::new("bench-terminal-watch", "127.0.0.1", port);
        options.set_keep_alive(Duration::from_secs(5));
        options.set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut eventloop): (AsyncClient, _) = AsyncClient::new(options, 64);
        client
            .subscribe(format!("pass/v1/{TEST_STORE}/ev/+"), QoS::AtLeastOnce)
            .await
            .expect("queue the subscription");
        loop {
            match eventloop.poll().await {
                Ok(MqttEvent::Incoming(Packet::SubAck(_))) => {
                    let _ = ready_tx.send(());
                }
                Ok(MqttEvent::Incoming(Packet::Publish(p))) => {
                    if tx.send((Instant::now(), p.payload.to_vec())).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    ready_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the subscriber is subscribed");
    (runtime, rx)
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn main() {
    let sends = env_or("PASS_BENCH_TERMINAL_SENDS", 300);
    let pass = pass_tests::bin("pass");
    println!(
        "order terminal benchmark: device {} (release), {} CPUs, {sends} sends of ten lines",
        pass.display(),
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    let broker = Mosquitto::start();
    let (_runtime, published) = subscriber(broker.port());
    let grill = Device::start_spec(
        DeviceSpec::new("grill", Role::KitchenScreen, &broker.url()).station("grill"),
    );
    let t1 = Device::start("t1", Role::OrderTerminal, &broker);
    for event in pass_shared::kitchen::sample::store_events().expect("store") {
        t1.append(&serde_json::to_value(&event).expect("event JSON"));
    }
    let client = ControlClient::new(t1.control_path());
    ok(
        &client,
        &json!({"cmd": "terminal", "op": "act", "pin": "2580", "intent": {
            "intent": "change_settings", "manager_pin": "2580",
            "change": {"return_to_pin_after_send": false, "idle_minutes": 0}}}),
    );
    act(&client, json!({"intent": "sign_in", "pin": "1357"}));
    assert!(
        wait_until(Duration::from_secs(120), || t1.status()["peers"]
            .as_array()
            .is_some_and(|p| !p.is_empty())),
        "the terminal hears the grill"
    );

    // The baselines write where the devices do (the temporary directory).
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut baselines = Baselines::new(dir.path());
    let mut committed = Vec::with_capacity(sends);
    let mut delivered = Vec::with_capacity(sends);
    let mut fsync = Vec::with_capacity(sends);
    let mut append = Vec::with_capacity(sends);
    let mut round_trip = Vec::with_capacity(sends);
    for round in 0..sends + WARMUP {
        let opened = act(
            &client,
            json!({"intent": "open_check", "guests": 1, "order_type": "takeout"}),
        );
        let check = opened["check"].as_str().expect("check id").to_owned();
        let mut lines = Vec::new();
        for (item, modifiers) in LINES {
            let added = act(
                &client,
                json!({"intent": "add_line", "check": check, "item": item, "modifiers": modifiers}),
            );
            lines.push(added["line"].as_str().expect("line id").to_owned());
        }
        // Nothing of earlier rounds may be mistaken for this send.
        while published.try_recv().is_ok() {}
        let request = json!({"cmd": "terminal", "op": "act",
            "intent": {"intent": "send", "check": check}});
        let start = Instant::now();
        ok(&client, &request);
        let commit = start.elapsed();
        let needle = format!("\"check\":\"{check}\"");
        let arrived = loop {
            let (at, payload) = published
                .recv_timeout(Duration::from_secs(60))
                .expect("the send is published");
            if contains(&payload, "items_sent") && contains(&payload, &needle) {
                break at;
            }
        };
        let same = Event::ItemsSent {
            check,
            send: 1,
            lines,
        };
        let raw = baselines.fsync();
        let bare = baselines.append(&same);
        let t = Instant::now();
        ok(&client, &json!({"cmd": "status"}));
        let trip = ms(t.elapsed());
        if round >= WARMUP {
            committed.push(ms(commit));
            delivered.push(ms(arrived.duration_since(start)));
            fsync.push(raw);
            append.push(bare);
            round_trip.push(trip);
        }
    }
    println!();
    println!("{:<58} {:>11} {:>11} {:>6}", "figure", "median", "p99", "n");
    row("send (10 lines) → committed on the terminal", &committed);
    row(
        "send (10 lines) → published, seen by a subscriber",
        &delivered,
    );
    row("baseline: raw 4 KiB write + fsync", &fsync);
    row("baseline: Journal::append of the same items_sent", &append);
    row("baseline: control-socket round trip (status)", &round_trip);
    drop(grill);
}
