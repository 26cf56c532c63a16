//! Helpers for Pass's cross-process tests: find the built binaries, run them, read their output;
//! start a real Mosquitto on a free loopback port ([`Mosquitto`]) or the embedded broker
//! (`pass broker`, [`EmbeddedBroker`]); start, drive, kill and restart real device processes
//! ([`Device`]), given a broker or finding one by mDNS; cut one device's connection to the broker
//! through a loopback relay ([`Relay`]); join two network namespaces of the test's own by a veth
//! pair ([`NetnsPair`]); wait for a condition with a generous limit ([`wait_until`]). The
//! replication checks every broker must pass are in [`checks`].
//!
//! Everything here listens on and connects to loopback only (or to addresses inside network
//! namespaces the test created), and never the system broker on 1883; mDNS runs on loopback or
//! on a namespace's veth, never on the machine's own interfaces. Tests wait for outcomes with
//! [`PATIENCE`]; they never assert how long anything took.

pub mod checks;
pub mod evening;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use pass_shared::domain::check::{Course, LineId, NewLine, Seat};
use pass_shared::domain::menu::{ItemId, Menu, ModifierId};
use pass_shared::event::{Event, LineRecord};
use pass_shared::projection::fold::{line_record, ticket_id};
use serde_json::{Value, json};
use tempfile::TempDir;

pub mod payments;

/// The path of a workspace binary built beside this test (`pass`). `cargo test --workspace`
/// (what `scripts/test.sh` runs) builds it fresh; run alone, `cargo test -p pass-tests` does not
/// rebuild another package's binary, so build it first (`cargo build -p pass-shared`). A test
/// cannot run cargo itself: the running `cargo test` holds the target directory's lock.
pub fn bin(name: &str) -> PathBuf {
    // Test executables live in <target>/<profile>/deps; binaries one level up.
    let exe = std::env::current_exe().expect("the test knows its own path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binary sits in <target>/<profile>/deps");
    let path = profile_dir.join(name);
    assert!(
        path.exists(),
        "{} is not built; run the tests with `cargo test --workspace` (or build it first)",
        path.display()
    );
    path
}

/// The Python interpreter of the test tools' virtual environment (zeroconf, jsonschema), made by
/// `scripts/test.sh` (`ensure_python_tools`); `PASS_PYTHON` overrides where it is.
pub fn python() -> PathBuf {
    let path = std::env::var_os("PASS_PYTHON")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|home| PathBuf::from(home).join(".cache/pass-venv/bin/python"))
        })
        .expect("HOME or PASS_PYTHON is set");
    assert!(
        path.exists(),
        "{} is missing: run scripts/test.sh once (it installs the python test tools)",
        path.display()
    );
    path
}

/// Runs `pass` with `args`; returns success and the combined output.
pub fn pass(args: &[&str]) -> (bool, String) {
    let out: Output = Command::new(bin("pass"))
        .args(args)
        .output()
        .expect("run pass");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `pass journal verify --all-signatures` over `dbs` (read-only; the devices may be running).
/// Returns success and the output.
pub fn journal_verify(dbs: &[&Path]) -> (bool, String) {
    let paths: Vec<String> = dbs.iter().map(|p| p.display().to_string()).collect();
    let mut args = vec!["journal", "verify", "--all-signatures"];
    args.extend(paths.iter().map(String::as_str));
    pass(&args)
}

// ---------------------------------------------------------------------------------------------
// Waiting

/// How long a test waits for something that should happen: generous, because a loaded 2-core
/// machine running several tests side by side is slow, and tests assert outcomes, not timings.
pub const PATIENCE: Duration = Duration::from_secs(120);

/// How long a process gets to come up (a broker to listen, a device to answer its socket).
pub const STARTUP: Duration = Duration::from_secs(60);

/// Appends `groups` of events on `device` in order, checking that seqs grow, and counts each
/// group in `done`. After its `n`th group the burst waits at each gate `(n, flag)` until the
/// flag is up, so a fault lands at a known point while other devices' appends go on. Returns
/// the last seq.
pub fn gated_burst(
    device: &Device,
    groups: impl IntoIterator<Item = Vec<Value>>,
    done: &std::sync::atomic::AtomicU64,
    gates: &[(u64, &std::sync::atomic::AtomicBool)],
) -> u64 {
    use std::sync::atomic::Ordering;
    let mut last = 0;
    for (n, group) in groups.into_iter().enumerate() {
        for event in &group {
            let seq = device.append(event);
            assert!(seq > last, "seqs grow: {seq} after {last}");
            last = seq;
        }
        done.fetch_add(1, Ordering::SeqCst);
        for (at, flag) in gates {
            if *at == n as u64 + 1 {
                assert!(
                    wait_until(PATIENCE, || flag.load(Ordering::SeqCst)),
                    "{}: the burst waited in vain at {at}",
                    device.id()
                );
            }
        }
    }
    last
}

/// Polls `cond` every 50 ms until it holds or `limit` has passed; says whether it held. `cond`
/// is always tried at least once, and once more at the limit.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------------------------
// Processes

/// The last `lines` lines of a text.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Kills (SIGKILL) and reaps a child, if it is still there.
fn kill_child(child: &mut Child) {
    // `Child::kill` sends SIGKILL on Unix; it fails only when the child was already reaped.
    let _ = child.kill();
    let _ = child.wait();
}

/// Log files `<prefix>-<n>.log` in `dir`, one per start, concatenated in start order.
fn read_logs(dir: &Path, prefix: &str, starts: u32) -> String {
    let mut text = String::new();
    for n in 1..=starts {
        let path = dir.join(format!("{prefix}-{n}.log"));
        if let Ok(bytes) = std::fs::read(&path) {
            text.push_str(&format!("----- {} -----\n", path.display()));
            text.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    text
}

fn open_log(dir: &Path, prefix: &str, n: u32) -> (PathBuf, File, File) {
    let path = dir.join(format!("{prefix}-{n}.log"));
    let out = File::create(&path).expect("create a log file");
    let err = out.try_clone().expect("clone a log file handle");
    (path, out, err)
}

// ---------------------------------------------------------------------------------------------
// Mosquitto

/// The tests' Mosquitto configuration template (`broker-config/test.conf`).
pub fn test_config_template() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../broker-config/test.conf")
}

/// The test configuration with `@PORT@` filled in. Refuses a template that would listen
/// anywhere but loopback, or on anything but the one port given.
pub fn render_test_config(template: &str, port: u16) -> String {
    let listeners: Vec<&str> = template
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("listener"))
        .collect();
    assert_eq!(
        listeners,
        ["listener @PORT@ 127.0.0.1"],
        "test.conf must have exactly one listener, on loopback, with the @PORT@ placeholder"
    );
    template.replace("@PORT@", &port.to_string())
}

/// A free loopback TCP port: bind 127.0.0.1:0, read the port, release it. Never 1883.
pub fn free_loopback_port() -> u16 {
    loop {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        drop(listener);
        if port != 1883 {
            return port;
        }
    }
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
pub fn port_accepts(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
}

/// The Mosquitto broker binary: `$PASS_MOSQUITTO`, else `/usr/sbin/mosquitto`, else
/// `mosquitto` on the `PATH`.
pub fn mosquitto_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("PASS_MOSQUITTO") {
        return PathBuf::from(p);
    }
    let system = PathBuf::from("/usr/sbin/mosquitto");
    if system.exists() {
        system
    } else {
        PathBuf::from("mosquitto")
    }
}

/// The `mosquitto_pub` client: `$PASS_MOSQUITTO_PUB`, else `mosquitto_pub` on the `PATH`.
pub fn mosquitto_pub_binary() -> PathBuf {
    std::env::var_os("PASS_MOSQUITTO_PUB")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("mosquitto_pub"))
}

/// The `mosquitto_sub` client: `$PASS_MOSQUITTO_SUB`, else `mosquitto_sub` on the `PATH`.
pub fn mosquitto_sub_binary() -> PathBuf {
    std::env::var_os("PASS_MOSQUITTO_SUB")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("mosquitto_sub"))
}

/// Why a broker start did not come up.
enum StartFailure {
    /// The process exited (its port was taken between choosing it and binding it, most likely).
    Exited,
    /// It never listened within [`STARTUP`].
    TimedOut,
}

/// A Mosquitto 2.0 broker of the test's own, on a free loopback port, configured from
/// `broker-config/test.conf` in a temporary directory (0755, the file 0644: started as root,
/// Mosquitto drops to the `mosquitto` user). Its log goes to files beside the configuration and
/// is printed when a test fails. Dropping it kills it.
pub struct Mosquitto {
    ports: Vec<u16>,
    dir: TempDir,
    config: PathBuf,
    child: Option<Child>,
    starts: u32,
}

impl Mosquitto {
    /// Starts a broker on a free loopback port and waits (bounded) until it accepts
    /// connections. Panics, with the broker's log, if it cannot.
    pub fn start() -> Mosquitto {
        Mosquitto::start_with("", &[])
    }

    /// As [`Mosquitto::start`], with `extra` configuration lines appended to `test.conf` and
    /// `files` (name, content) written beside it; `@DIR@` in either stands for that directory
    /// (e.g. `acl_file @DIR@/acl`).
    pub fn start_with(extra: &str, files: &[(&str, &str)]) -> Mosquitto {
        let template =
            std::fs::read_to_string(test_config_template()).expect("read broker-config/test.conf");
        Mosquitto::start_in(Mosquitto::new_dir(), 1, |dir, ports| {
            let dir_text = dir.display().to_string();
            for (name, content) in files {
                let path = dir.join(name);
                std::fs::write(&path, content.replace("@DIR@", &dir_text))
                    .expect("write a broker file");
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
                    .expect("chmod 0644 a broker file");
            }
            let template = format!("{template}\n{}\n", extra.replace("@DIR@", &dir_text));
            render_test_config(&template, ports[0])
        })
    }

    /// A fresh temporary directory for a broker (mode 0755: Mosquitto started as root drops to
    /// the `mosquitto` user, which must still reach its files), to prepare before
    /// [`Mosquitto::start_in`].
    pub fn new_dir() -> TempDir {
        let dir = tempfile::Builder::new()
            .prefix("pass-mosquitto-")
            .tempdir()
            .expect("create a temporary directory for the broker");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod 0755 the broker directory");
        dir
    }

    /// Starts a broker in `dir` (from [`Mosquitto::new_dir`]) on `count` free loopback ports,
    /// with the configuration `render(dir, ports)` returns (written to `dir/mosquitto.conf`,
    /// 0644), and waits (bounded) until it logs that it runs and accepts connections on every
    /// port. The configuration must listen on those ports of 127.0.0.1 and nowhere else; a port
    /// taken before Mosquitto binds it makes it exit, and fresh ports are tried. Panics, with the
    /// broker's log, if it cannot start.
    pub fn start_in(
        dir: TempDir,
        count: usize,
        render: impl Fn(&Path, &[u16]) -> String,
    ) -> Mosquitto {
        assert!(count >= 1, "a broker listens on at least one port");
        let config = dir.path().join("mosquitto.conf");
        let mut broker = Mosquitto {
            ports: Vec::new(),
            dir,
            config,
            child: None,
            starts: 0,
        };
        for _ in 0..10 {
            broker.ports.clear();
            while broker.ports.len() < count {
                let port = free_loopback_port();
                if !broker.ports.contains(&port) {
                    broker.ports.push(port);
                }
            }
            let text = render(broker.dir.path(), &broker.ports);
            std::fs::write(&broker.config, text).expect("write the broker configuration");
            std::fs::set_permissions(&broker.config, std::fs::Permissions::from_mode(0o644))
                .expect("chmod 0644 the broker configuration");
            match broker.spawn_and_wait() {
                Ok(()) => return broker,
                Err(StartFailure::Exited) => continue,
                Err(StartFailure::TimedOut) => break,
            }
        }
        panic!(
            "mosquitto did not come up on loopback ports:\n{}",
            broker.log()
        );
    }

    /// The port it listens on (127.0.0.1 only); the first of [`Mosquitto::ports`].
    pub fn port(&self) -> u16 {
        self.ports[0]
    }

    /// Every port it listens on, in the order its configuration was given them.
    pub fn ports(&self) -> &[u16] {
        &self.ports
    }

    /// Its directory: the configuration, its logs and whatever the test put there.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Asks the broker to reload its configuration (SIGHUP): Mosquitto reads its password file
    /// and ACL again, disconnecting clients they no longer admit.
    pub fn reload(&self) {
        let pid = self.child.as_ref().expect("the broker runs").id();
        let status = Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -HUP {pid} failed");
    }

    /// `mqtt://127.0.0.1:<port>`, what a device's `--broker` takes.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port())
    }

    /// Whether the broker process is alive.
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Kills the broker with SIGKILL (no clean disconnects, no will messages sent by a broker
    /// that shuts down politely, nothing kept: `persistence false`) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_child(&mut child);
        }
    }

    /// Starts the broker again on the same port (killing it first if it runs) and waits until
    /// it accepts connections. The port may stay busy a moment (a client's socket, a previous
    /// process), so this retries within [`STARTUP`].
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + STARTUP;
        loop {
            match self.spawn_and_wait() {
                Ok(()) => return,
                Err(StartFailure::Exited) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(250));
                }
                Err(_) => panic!(
                    "mosquitto did not come back on port {}:\n{}",
                    self.port(),
                    self.log()
                ),
            }
        }
    }

    /// Everything the broker logged, every start in order.
    pub fn log(&self) -> String {
        read_logs(self.dir.path(), "mosquitto", self.starts)
    }

    /// Publishes `payload` (any bytes) on `topic` with `mosquitto_pub` at QoS 1, as an outside
    /// client would. Returns whether `mosquitto_pub` succeeded and its output.
    pub fn publish(&self, topic: &str, payload: &[u8]) -> (bool, String) {
        let file = tempfile::NamedTempFile::new().expect("create a payload file");
        std::fs::write(file.path(), payload).expect("write the payload file");
        let out = Command::new(mosquitto_pub_binary())
            .args(["-h", "127.0.0.1", "-p", &self.port().to_string()])
            .args(["-q", "1", "-t", topic, "-f"])
            .arg(file.path())
            .stdin(Stdio::null())
            .output()
            .expect("run mosquitto_pub");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// Subscribes to `filter` with `mosquitto_sub` at QoS 1, as an outside client would, and
    /// returns once the subscription is live: it publishes a probe on `probe_topic` (which
    /// `filter` must match) until the probe comes back, then forgets it.
    pub fn subscribe(&self, filter: &str, probe_topic: &str) -> Subscription {
        let mut child = Command::new(mosquitto_sub_binary())
            .args(["-h", "127.0.0.1", "-p", &self.port().to_string()])
            .args(["-q", "1", "-v", "-t", filter])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run mosquitto_sub");
        let stdout = child.stdout.take().expect("piped stdout");
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = std::sync::Arc::clone(&received);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // `-v`: the topic, a space, the payload (one line: our payloads are JSON).
                let (topic, payload) = line.split_once(' ').unwrap_or((line.as_str(), ""));
                sink.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push((topic.to_owned(), payload.to_owned()));
            }
        });
        let subscription = Subscription { child, received };
        let probe = format!("probe-{}", std::process::id());
        let live = wait_until(PATIENCE, || {
            let _ = self.publish(probe_topic, probe.as_bytes());
            let seen = || {
                subscription
                    .messages()
                    .iter()
                    .any(|(t, p)| t == probe_topic && *p == probe)
            };
            wait_until(Duration::from_millis(500), seen)
        });
        assert!(live, "mosquitto_sub on {filter} never received its probe");
        subscription.clear();
        subscription
    }

    fn spawn_and_wait(&mut self) -> Result<(), StartFailure> {
        self.starts += 1;
        let (log_path, out, err) = open_log(self.dir.path(), "mosquitto", self.starts);
        let child = Command::new(mosquitto_binary())
            .arg("-c")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start mosquitto (is Mosquitto 2.0 installed? set PASS_MOSQUITTO)");
        self.child = Some(child);
        let deadline = Instant::now() + STARTUP;
        loop {
            let child = self.child.as_mut().expect("just spawned");
            if let Ok(Some(_)) = child.try_wait() {
                self.child = None;
                return Err(StartFailure::Exited);
            }
            // "running" is logged once every listener is open; the connection proves it is ours
            // and reachable.
            let logged = std::fs::read_to_string(&log_path).unwrap_or_default();
            if logged.contains(" running") && self.ports.iter().all(|&p| port_accepts(p)) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.kill();
                return Err(StartFailure::TimedOut);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "===== mosquitto on port {} (last lines) =====\n{}",
                self.port(),
                tail(&self.log(), 40)
            );
        }
    }
}

/// A `mosquitto_sub` of a test's own ([`Mosquitto::subscribe`]): everything it received, in
/// order, as (topic, payload). Dropping it stops it.
pub struct Subscription {
    child: Child,
    received: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
}

impl Subscription {
    /// Every message received so far, in order: (topic, payload).
    pub fn messages(&self) -> Vec<(String, String)> {
        self.received
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Forgets what was received so far.
    pub fn clear(&self) {
        self.received
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        kill_child(&mut self.child);
    }
}

// ---------------------------------------------------------------------------------------------
// Control socket

/// A client of a device's control socket: one JSON object per line, a request then its
/// response, one connection per request.
#[derive(Debug, Clone)]
pub struct ControlClient {
    path: PathBuf,
    timeout: Duration,
}

impl ControlClient {
    pub fn new(path: impl Into<PathBuf>) -> ControlClient {
        ControlClient {
            path: path.into(),
            timeout: Duration::from_secs(30),
        }
    }

    /// Sends `request` and returns the response as it came, `{"ok":false,…}` included. `Err`
    /// when the socket cannot be reached or the answer is not one JSON object on a line.
    pub fn request(&self, request: &Value) -> Result<Value, String> {
        let mut stream = UnixStream::connect(&self.path)
            .map_err(|e| format!("connect {}: {e}", self.path.display()))?;
        stream
            .set_read_timeout(Some(self.timeout))
            .and_then(|()| stream.set_write_timeout(Some(self.timeout)))
            .map_err(|e| format!("socket timeouts: {e}"))?;
        let mut line = serde_json::to_string(request).map_err(|e| e.to_string())?;
        line.push('\n');
        stream
            .write_all(line.as_bytes())
            .and_then(|()| stream.flush())
            .map_err(|e| format!("send {line:?}: {e}"))?;
        let mut answer = String::new();
        BufReader::new(stream)
            .read_line(&mut answer)
            .map_err(|e| format!("read the answer to {line:?}: {e}"))?;
        if answer.is_empty() {
            return Err(format!("no answer to {line:?}: the connection closed"));
        }
        let value: Value = serde_json::from_str(answer.trim_end())
            .map_err(|e| format!("answer {answer:?} is not JSON: {e}"))?;
        if value.is_object() {
            Ok(value)
        } else {
            Err(format!("answer {answer:?} is not a JSON object"))
        }
    }
}

/// A response's `"ok"`: `Ok(response)` when true, `Err(error text)` otherwise.
fn ok_or_error(response: Value) -> Result<Value, String> {
    if response.get("ok") == Some(&Value::Bool(true)) {
        Ok(response)
    } else {
        Err(response
            .get("error")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| format!("not ok: {response}")))
    }
}

/// The `heads` of a status response: origin → highest contiguous seq.
pub fn heads_of(status: &Value) -> BTreeMap<String, u64> {
    status
        .get("heads")
        .and_then(Value::as_object)
        .map(|heads| {
            heads
                .iter()
                .filter_map(|(origin, seq)| seq.as_u64().map(|s| (origin.clone(), s)))
                .collect()
        })
        .unwrap_or_default()
}

/// The `peers` of a status response.
pub fn peers_of(status: &Value) -> Vec<String> {
    status
        .get("peers")
        .and_then(Value::as_array)
        .map(|peers| {
            peers
                .iter()
                .filter_map(|p| p.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Devices

/// The store id every test device uses unless told otherwise (each test has its own broker).
pub const TEST_STORE: &str = "test-store";

/// What a device is, as `pass device run --role` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    KitchenScreen,
    OrderTerminal,
}

impl Role {
    pub fn arg(self) -> &'static str {
        match self {
            Role::KitchenScreen => "kitchen-screen",
            Role::OrderTerminal => "order-terminal",
        }
    }
}

/// How to start a device: `pass device run --db … --store … --device … --role … [--broker …]
/// [--mdns …] [--host-broker on|off] --control … [--manual-clock …] [--mqtt-user …
/// --mqtt-password-file …] [extra options]`, inside a network namespace when `netns` says so.
#[derive(Debug, Clone)]
pub struct DeviceSpec {
    pub id: String,
    pub role: Role,
    pub store: String,
    /// `--broker`: a loopback url; `None` for a device that finds its broker by mDNS.
    pub broker: Option<String>,
    /// `--mdns`; unset: `off` for a device given a broker (nothing it needs), `loopback` for
    /// one that finds its broker.
    pub mdns: Option<String>,
    /// `--host-broker on|off`; unset: the role's default (kitchen screens host).
    pub host_broker: Option<bool>,
    /// Run in this network namespace (`ip netns exec`), e.g. one of a [`NetnsPair`].
    pub netns: Option<String>,
    /// The store's broker password, written beside the database (0600) before the first start.
    pub store_password: Option<String>,
    /// The device's configuration file (`<db stem>.device.toml`), written before the first start.
    pub device_file: Option<String>,
    pub manual_clock_ms: Option<i64>,
    /// The broker user and the file holding its password (`--mqtt-user`,
    /// `--mqtt-password-file`), for a broker that asks for them.
    pub credentials: Option<(String, PathBuf)>,
    /// Extra environment for the process (fault hooks, `PASS_LOG`).
    pub env: Vec<(String, String)>,
    /// Extra command-line arguments (e.g. `--station grill`, `--inbox`).
    pub args: Vec<String>,
}

impl DeviceSpec {
    /// A device of [`TEST_STORE`] on `broker` (an `mqtt://127.0.0.1:PORT` url: loopback only).
    pub fn new(id: &str, role: Role, broker: &str) -> DeviceSpec {
        assert!(
            broker.starts_with("mqtt://127.0.0.1:"),
            "test devices talk to a loopback broker only, not {broker}"
        );
        DeviceSpec {
            broker: Some(broker.to_owned()),
            ..DeviceSpec::discovering(id, role, TEST_STORE)
        }
    }

    /// An unconfigured device of `store` (no `--broker`): it finds its broker by mDNS on
    /// loopback, and hosts the embedded broker if its role does by default. Give each test its
    /// own store ([`unique_store`]): tests run side by side on the same loopback.
    pub fn discovering(id: &str, role: Role, store: &str) -> DeviceSpec {
        DeviceSpec {
            id: id.to_owned(),
            role,
            store: store.to_owned(),
            broker: None,
            mdns: None,
            host_broker: None,
            netns: None,
            store_password: None,
            device_file: None,
            manual_clock_ms: None,
            credentials: None,
            env: Vec::new(),
            args: Vec::new(),
        }
    }

    /// A kitchen screen's station (`--station`).
    pub fn station(mut self, station: &str) -> DeviceSpec {
        self.args
            .extend(["--station".to_owned(), station.to_owned()]);
        self
    }

    /// Gives the broker the user `user` with the password in `password_file`.
    pub fn credentials(mut self, user: &str, password_file: &Path) -> DeviceSpec {
        self.credentials = Some((user.to_owned(), password_file.to_owned()));
        self
    }

    /// Runs the device on a manual clock starting at `start_ms`.
    pub fn manual_clock(mut self, start_ms: i64) -> DeviceSpec {
        self.manual_clock_ms = Some(start_ms);
        self
    }

    pub fn store(mut self, store: &str) -> DeviceSpec {
        self.store = store.to_owned();
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> DeviceSpec {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// `--mdns <scope>`: loopback, or an interface of the device's network namespace.
    pub fn mdns(mut self, scope: &str) -> DeviceSpec {
        assert_ne!(scope, "lan", "tests never use mDNS on the machine's LAN");
        self.mdns = Some(scope.to_owned());
        self
    }

    pub fn host_broker(mut self, on: bool) -> DeviceSpec {
        self.host_broker = Some(on);
        self
    }

    pub fn netns(mut self, netns: &str) -> DeviceSpec {
        self.netns = Some(netns.to_owned());
        self
    }

    pub fn store_password(mut self, password: &str) -> DeviceSpec {
        self.store_password = Some(password.to_owned());
        self
    }

    /// The text of the device's configuration file.
    pub fn device_file(mut self, toml: &str) -> DeviceSpec {
        self.device_file = Some(toml.to_owned());
        self
    }

    /// Adds a command-line option (e.g. `--inbox`).
    pub fn arg(mut self, arg: &str) -> DeviceSpec {
        self.args.push(arg.to_owned());
        self
    }
}

/// A store id no other test uses: tests run side by side, and devices of one store on the same
/// loopback find each other's brokers by mDNS.
pub fn unique_store(tag: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let mut id = format!("t{}-{n}-{tag}", std::process::id());
    id.truncate(32);
    id.trim_end_matches('-').to_owned()
}

/// A password for a test store's embedded broker (the same for every device of the store).
pub const TEST_STORE_PASSWORD: &str = "test-store-password-0123456789";

/// Writes a secret file readable by its owner only.
fn write_private(path: &Path, text: &str) {
    std::fs::write(path, format!("{text}\n")).expect("write a password file");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .expect("chmod 0600 a password file");
}

/// A running device process (`pass device run`), with its own temporary directory holding its
/// database (`pass.db`), its control socket and its logs. It can be killed and restarted on the
/// same database; dropping it kills it (and prints its log when a test fails).
pub struct Device {
    spec: DeviceSpec,
    dir: TempDir,
    db: PathBuf,
    control: ControlClient,
    control_path: PathBuf,
    child: Option<Child>,
    starts: u32,
    origin: String,
}

impl Device {
    /// Starts a device of [`TEST_STORE`] with the system clock on `broker`.
    pub fn start(id: &str, role: Role, broker: &Mosquitto) -> Device {
        Device::start_spec(DeviceSpec::new(id, role, &broker.url()))
    }

    /// Starts a device as `spec` says and waits (bounded) until its control socket answers a
    /// status. Panics, with the device's log, if it exits or never answers.
    pub fn start_spec(spec: DeviceSpec) -> Device {
        Device::start_seeded(spec, None)
    }

    /// Starts a device as `spec` says on a copy of another device's stopped database `seed`
    /// (`pass.db` and its `-wal`/`-shm` files where present): same journal, same origin and
    /// signing key. Tests use it to make a second journal of one origin, i.e. a fork.
    pub fn start_spec_from_copy(spec: DeviceSpec, seed: &Path) -> Device {
        Device::start_seeded(spec, Some(seed))
    }

    fn start_seeded(spec: DeviceSpec, seed: Option<&Path>) -> Device {
        let dir = tempfile::Builder::new()
            .prefix(&format!("pass-{}-", spec.id))
            .tempdir()
            .expect("create a temporary directory for the device");
        let db = dir.path().join("pass.db");
        if let Some(seed) = seed {
            std::fs::copy(seed, &db).expect("copy the seed database");
            for suffix in ["-wal", "-shm"] {
                let from = PathBuf::from(format!("{}{suffix}", seed.display()));
                if from.exists() {
                    let to = PathBuf::from(format!("{}{suffix}", db.display()));
                    std::fs::copy(&from, &to).expect("copy the seed database's side file");
                }
            }
        }
        if let Some(password) = &spec.store_password {
            write_private(&db.with_extension("broker-password"), password);
        }
        if let Some(toml) = &spec.device_file {
            std::fs::write(db.with_extension("device.toml"), toml)
                .expect("write the device's configuration file");
        }
        let control_path = dir.path().join("control.sock");
        // sun_path holds 108 bytes with its terminating NUL.
        assert!(
            control_path.as_os_str().len() < 100,
            "control socket path too long for a Unix socket: {} (set TMPDIR shorter)",
            control_path.display()
        );
        let mut device = Device {
            spec,
            dir,
            db,
            control: ControlClient::new(&control_path),
            control_path,
            child: None,
            starts: 0,
            origin: String::new(),
        };
        device.spawn_and_wait();
        device
    }

    pub fn id(&self) -> &str {
        &self.spec.id
    }

    pub fn spec(&self) -> &DeviceSpec {
        &self.spec
    }

    /// The spec the next [`Device::restart`] starts from (e.g. to drop a fault hook's variable).
    pub fn spec_mut(&mut self) -> &mut DeviceSpec {
        &mut self.spec
    }

    /// The device's database (open it read-only only: the device owns it).
    pub fn db(&self) -> &Path {
        &self.db
    }

    pub fn control_path(&self) -> &Path {
        &self.control_path
    }

    /// Its journal's own origin (16 hex), as its last start reported.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Whether the device process is alive.
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Sends one control request; the response as it came (`{"ok":false,…}` included).
    pub fn request(&self, request: &Value) -> Result<Value, String> {
        self.control.request(request)
    }

    /// `{"cmd":"status"}`; `Err` when the device does not answer or answers not ok.
    pub fn try_status(&self) -> Result<Value, String> {
        self.request(&json!({"cmd": "status"}))
            .and_then(ok_or_error)
    }

    /// `{"cmd":"status"}`; panics, with the device's log, unless it answers ok.
    pub fn status(&self) -> Value {
        match self.try_status() {
            Ok(status) => status,
            Err(e) => panic!(
                "{}: status failed: {e}\n{}",
                self.id(),
                tail(&self.log(), 40)
            ),
        }
    }

    /// The status's heads (origin → highest contiguous seq); empty when it does not answer.
    pub fn heads(&self) -> BTreeMap<String, u64> {
        self.try_status().map(|s| heads_of(&s)).unwrap_or_default()
    }

    /// Appends an event (`{"kind":…,"payload":{…}}`); its seq, or why not.
    pub fn try_append(&self, event: &Value) -> Result<u64, String> {
        let response = ok_or_error(self.request(&json!({"cmd": "append", "event": event}))?)?;
        response
            .get("seq")
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("append answered without a seq: {response}"))
    }

    /// Appends an event; its seq. Panics, with the device's log, if refused.
    pub fn append(&self, event: &Value) -> u64 {
        match self.try_append(event) {
            Ok(seq) => seq,
            Err(e) => panic!(
                "{}: append of {event} failed: {e}\n{}",
                self.id(),
                tail(&self.log(), 40)
            ),
        }
    }

    /// `{"cmd":"clock","set_ms":ms}` (manual clock only); the response as it came.
    pub fn clock_set(&self, ms: i64) -> Result<Value, String> {
        self.request(&json!({"cmd": "clock", "set_ms": ms}))
    }

    /// `{"cmd":"clock","advance_ms":ms}` (manual clock only); the response as it came.
    pub fn clock_advance(&self, ms: i64) -> Result<Value, String> {
        self.request(&json!({"cmd": "clock", "advance_ms": ms}))
    }

    /// Asks the device to stop (`{"cmd":"stop"}`) and waits for it to exit; kills it if it has
    /// not within [`STARTUP`].
    pub fn stop(&mut self) {
        if !self.is_running() {
            self.child = None;
            return;
        }
        let _ = self.request(&json!({"cmd": "stop"}));
        let exited = wait_until(STARTUP, || !self.is_running());
        if let Some(mut child) = self.child.take() {
            kill_child(&mut child);
        }
        assert!(
            exited,
            "{}: did not exit after stop; killed\n{}",
            self.id(),
            tail(&self.log(), 40)
        );
    }

    /// Kills the device with SIGKILL (no goodbye, nothing flushed beyond what was committed)
    /// and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_child(&mut child);
        }
    }

    /// Starts the device again on the same database and control socket (killing it first if it
    /// runs) and waits until it answers.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn_and_wait();
    }

    /// Everything the device logged, every start in order.
    pub fn log(&self) -> String {
        read_logs(self.dir.path(), "device", self.starts)
    }

    fn spawn_and_wait(&mut self) {
        self.starts += 1;
        let (_, out, err) = open_log(self.dir.path(), "device", self.starts);
        let mut cmd = match &self.spec.netns {
            Some(ns) => {
                let mut cmd = Command::new("ip");
                cmd.args(["netns", "exec", ns]).arg(bin("pass"));
                cmd
            }
            None => Command::new(bin("pass")),
        };
        cmd.args(["device", "run", "--db"])
            .arg(&self.db)
            .args(["--store", &self.spec.store])
            .args(["--device", &self.spec.id])
            .args(["--role", self.spec.role.arg()])
            .arg("--control")
            .arg(&self.control_path);
        match &self.spec.broker {
            Some(broker) => {
                cmd.args(["--broker", broker]);
                cmd.args(["--mdns", self.spec.mdns.as_deref().unwrap_or("off")]);
            }
            None => {
                cmd.args(["--mdns", self.spec.mdns.as_deref().unwrap_or("loopback")]);
            }
        }
        if let Some(on) = self.spec.host_broker {
            cmd.args(["--host-broker", if on { "on" } else { "off" }]);
        }
        if let Some(ms) = self.spec.manual_clock_ms {
            cmd.args(["--manual-clock", &ms.to_string()]);
        }
        if let Some((user, password_file)) = &self.spec.credentials {
            cmd.args(["--mqtt-user", user])
                .arg("--mqtt-password-file")
                .arg(password_file);
        }
        if std::env::var_os("PASS_LOG").is_none() {
            cmd.env("PASS_LOG", "info");
        }
        // Plain text logs, to be read in a failing test's output.
        cmd.env("NO_COLOR", "1");
        cmd.envs(self.spec.env.iter().map(|(k, v)| (k, v)));
        cmd.args(&self.spec.args);
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start pass device run");
        self.child = Some(child);
        let deadline = Instant::now() + STARTUP;
        let mut last_error;
        loop {
            if !self.is_running() {
                self.child = None;
                panic!(
                    "{}: `pass device run` exited before its control socket answered\n{}",
                    self.id(),
                    tail(&self.log(), 40)
                );
            }
            match self.try_status() {
                Ok(status) => {
                    self.origin = status
                        .get("origin")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    return;
                }
                Err(e) => last_error = e,
            }
            if Instant::now() >= deadline {
                self.kill();
                panic!(
                    "{}: control socket did not answer within {STARTUP:?}: {last_error}\n{}",
                    self.id(),
                    tail(&self.log(), 40)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "===== device {} (last lines) =====\n{}",
                self.spec.id,
                tail(&self.log(), 60)
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A relay that can cut a connection

/// A loopback TCP relay in front of a broker: it accepts on 127.0.0.1:`port()` (a free port)
/// and copies bytes both ways between each client and 127.0.0.1:`target` (the broker's port,
/// which stays the same across [`Mosquitto::restart`]). A device started with `--broker
/// <relay.url()>` reaches the broker only through it, so a test can cut that one device off.
///
/// [`Relay::block`] stands for a pulled cable at the device's end, made deterministic: every
/// current connection is shut down (both sockets, both directions), and while blocked a new
/// connection is accepted and closed at once, without a byte forwarded. [`Relay::unblock`] lets
/// new connections through again (the device's own reconnect brings it back). When the broker
/// is down, a relayed connection is closed the same way, as a refused direct one would be.
/// Dropping the relay stops it and closes every connection.
pub struct Relay {
    port: u16,
    shared: std::sync::Arc<RelayShared>,
    accept: Option<std::thread::JoinHandle<()>>,
}

#[derive(Default)]
struct RelayShared {
    /// Blocked (or stopped) flag and the sockets of the connections now relayed (client and
    /// broker side), under one lock so that no connection slips in while a block runs.
    state: std::sync::Mutex<RelayState>,
    stopped: std::sync::atomic::AtomicBool,
    accepted: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct RelayState {
    blocked: bool,
    open: Vec<TcpStream>,
}

impl RelayShared {
    fn close_all(state: &mut RelayState) {
        for stream in state.open.drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}

impl Relay {
    /// Starts relaying 127.0.0.1:<a free port> to 127.0.0.1:`target`.
    pub fn start(target: u16) -> Relay {
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind the relay");
        let port = listener.local_addr().expect("relay address").port();
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener, so the relay can stop");
        let shared = std::sync::Arc::new(RelayShared::default());
        let accept_shared = shared.clone();
        let accept = std::thread::spawn(move || {
            let shared = accept_shared;
            while !shared.stopped.load(Ordering::SeqCst) {
                let client = match listener.accept() {
                    Ok((client, _)) => client,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    }
                    Err(_) => continue,
                };
                shared.accepted.fetch_add(1, Ordering::SeqCst);
                let _ = client.set_nonblocking(false);
                let _ = client.set_nodelay(true);
                if shared.state.lock().expect("relay lock").blocked {
                    let _ = client.shutdown(std::net::Shutdown::Both);
                    continue;
                }
                let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, target));
                let Ok(server) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
                    let _ = client.shutdown(std::net::Shutdown::Both);
                    continue;
                };
                let _ = server.set_nodelay(true);
                let clones = (
                    client.try_clone(),
                    server.try_clone(),
                    server.try_clone(),
                    client.try_clone(),
                );
                let (Ok(c_read), Ok(s_write), Ok(s_read), Ok(c_write)) = clones else {
                    continue;
                };
                {
                    let mut state = shared.state.lock().expect("relay lock");
                    if state.blocked {
                        // A block came between the check above and now.
                        let _ = client.shutdown(std::net::Shutdown::Both);
                        let _ = server.shutdown(std::net::Shutdown::Both);
                        continue;
                    }
                    state.open.push(client);
                    state.open.push(server);
                }
                std::thread::spawn(move || pipe(c_read, s_write));
                std::thread::spawn(move || pipe(s_read, c_write));
            }
        });
        Relay {
            port,
            shared,
            accept: Some(accept),
        }
    }

    /// The port it accepts on (127.0.0.1 only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `mqtt://127.0.0.1:<port>`, what a device's `--broker` takes to go through the relay.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// Cuts every relayed connection and refuses (accepts and closes) new ones until
    /// [`Relay::unblock`].
    pub fn block(&self) {
        let mut state = self.shared.state.lock().expect("relay lock");
        state.blocked = true;
        RelayShared::close_all(&mut state);
    }

    /// Relays new connections again.
    pub fn unblock(&self) {
        self.shared.state.lock().expect("relay lock").blocked = false;
    }

    /// How many connections it has accepted so far, refused ones included.
    pub fn accepted(&self) -> u64 {
        self.shared
            .accepted
            .load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Copies `from` into `to` until either side closes or fails, then shuts both down (so the
/// other direction ends too).
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = std::io::copy(&mut from, &mut to);
    let _ = from.shutdown(std::net::Shutdown::Both);
    let _ = to.shutdown(std::net::Shutdown::Both);
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.shared
            .stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.block();
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Events

/// A `check_opened` event in the journal's `kind`/`payload` form (a dine-in check at a table).
pub fn check_opened(check: &str, number: &str) -> Value {
    json!({
        "kind": "check_opened",
        "payload": {
            "check": check,
            "number": number,
            "order_type": "dine_in",
            "table": "T1",
            "guests": 2,
            "seats": 2,
            "server": "maria",
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Orders from the sample menu

/// The sample menu (`assets/menu.toml`) as text.
pub const SAMPLE_MENU: &str = include_str!("../../assets/menu.toml");

/// The sample menu, loaded.
pub fn sample_menu() -> Menu {
    Menu::from_toml_str(SAMPLE_MENU).expect("the sample menu loads")
}

/// A line of `item` with the first choice of every forced modifier group, priced on `menu`.
pub fn sell(menu: &Menu, item: &str, line: &str, seat: u32, course: u8) -> LineRecord {
    let id = ItemId::new(item);
    let found = menu.item(&id).expect("item on the sample menu");
    let mods: Vec<ModifierId> = found
        .modifier_groups()
        .iter()
        .filter_map(|g| menu.modifier_group(g))
        .filter(|g| g.is_forced())
        .filter_map(|g| g.modifiers().first().cloned())
        .collect();
    let priced = menu.price_line(&id, &mods, 1).expect("priced");
    line_record(&NewLine {
        id: LineId::new(line),
        priced,
        seat: Some(Seat(seat)),
        course: Course(course),
        notes: String::new(),
    })
}

/// One order: the three events a terminal appends for it (open, add lines, send them all as
/// send 1) and the tickets it must produce: ticket id → station and the lines on it.
pub struct Order {
    /// `check_opened`, `lines_added` and `items_sent`, in that order.
    pub events: [Value; 3],
    /// Ticket id → the station it goes to and the lines on it.
    pub tickets: BTreeMap<String, (String, BTreeSet<String>)>,
}

/// Order `n` of `terminal` (check `<terminal>-o<n>`, number `<letter><n>`): 1–3 lines chosen
/// deterministically from `items` (shifted by `shift`), in course 1 or 2, seats 1 and 2.
pub fn order(
    menu: &Menu,
    items: &[&str],
    terminal: &str,
    letter: char,
    n: u64,
    shift: usize,
) -> Order {
    let check = format!("{terminal}-o{n}");
    let count = 1 + (n % 3) as usize;
    let lines: Vec<LineRecord> = (0..count)
        .map(|k| {
            let item = items[(n as usize * 5 + k * 3 + shift) % items.len()];
            let course = 1 + ((n as usize + k) % 2) as u8;
            sell(
                menu,
                item,
                &format!("{check}-l{k}"),
                1 + (k as u32 % 2),
                course,
            )
        })
        .collect();
    let mut tickets: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
    for line in &lines {
        for station in &line.stations {
            let id = ticket_id(&check, 1, &station.as_str().into(), Course(line.course));
            tickets
                .entry(id.to_string())
                .or_insert_with(|| (station.clone(), BTreeSet::new()))
                .1
                .insert(line.line.clone());
        }
    }
    let sent: Vec<String> = lines.iter().map(|l| l.line.clone()).collect();
    let added = Event::LinesAdded {
        check: check.clone(),
        lines,
    };
    let send = Event::ItemsSent {
        check: check.clone(),
        send: 1,
        lines: sent,
    };
    Order {
        events: [
            check_opened(&check, &format!("{letter}{n}")),
            serde_json::to_value(&added).expect("lines_added as JSON"),
            serde_json::to_value(&send).expect("items_sent as JSON"),
        ],
        tickets,
    }
}

// ---------------------------------------------------------------------------------------------
// Replication outcomes across devices

/// Every device answers, each sees every other as a present peer.
pub fn all_see_each_other(devices: &[&Device]) -> bool {
    devices.iter().all(|d| match d.try_status() {
        Ok(status) => {
            let peers = peers_of(&status);
            devices
                .iter()
                .filter(|o| o.id() != d.id())
                .all(|o| peers.iter().any(|p| p == o.id()))
        }
        Err(_) => false,
    })
}

/// Every device answers with the same heads, which include `expected` (origin → seq) exactly,
/// and each holds as many events as its heads add up to (nothing twice, nothing held apart).
pub fn converged(devices: &[&Device], expected: &BTreeMap<String, u64>) -> Result<(), String> {
    let mut first: Option<BTreeMap<String, u64>> = None;
    for d in devices {
        let status = d.try_status()?;
        let heads = heads_of(&status);
        for (origin, seq) in expected {
            if heads.get(origin) != Some(seq) {
                return Err(format!(
                    "{} has {origin} at {:?}, expected {seq}: {status}",
                    d.id(),
                    heads.get(origin)
                ));
            }
        }
        let total: u64 = heads.values().sum();
        if status["events"].as_u64() != Some(total) {
            return Err(format!(
                "{} holds {} events, its heads add up to {total}: {status}",
                d.id(),
                status["events"]
            ));
        }
        match &first {
            None => first = Some(heads),
            Some(h) if *h == heads => {}
            Some(h) => return Err(format!("{} has heads {heads:?}, another {h:?}", d.id())),
        }
    }
    Ok(())
}

/// Waits until the devices converge on `expected`; panics with the last difference.
pub fn wait_converged(devices: &[&Device], expected: &BTreeMap<String, u64>) {
    let mut last = String::new();
    let ok = wait_until(PATIENCE, || match converged(devices, expected) {
        Ok(()) => true,
        Err(e) => {
            last = e;
            false
        }
    });
    assert!(ok, "the devices did not converge: {last}");
}

/// Waits until no device has events that no peer has confirmed; panics with the last status.
pub fn wait_all_confirmed(devices: &[&Device]) {
    let mut last = Value::Null;
    let ok = wait_until(PATIENCE, || {
        devices.iter().all(|d| match d.try_status() {
            Ok(s) if s["unconfirmed"].as_u64() == Some(0) => true,
            Ok(s) => {
                last = s;
                false
            }
            Err(_) => false,
        })
    });
    assert!(ok, "events stay unconfirmed: {last}");
}

/// Each device's own origin at its current own head (panics if a device has none).
pub fn own_heads(devices: &[&Device]) -> BTreeMap<String, u64> {
    devices
        .iter()
        .map(|d| {
            let seq = d.heads()[d.origin()];
            (d.origin().to_owned(), seq)
        })
        .collect()
}

/// `pass journal verify` over every device's database passes, no copy lagging, all equal in size.
pub fn assert_verified(devices: &[&Device]) {
    let dbs: Vec<&Path> = devices.iter().map(|d| d.db()).collect();
    let (ok, text) = journal_verify(&dbs);
    assert!(ok, "{text}");
    assert!(text.contains("OK: every chain intact"), "{text}");
    assert!(!text.contains("LAG"), "{text}");
    let counts: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once(": ").map(|(_, rest)| rest))
        .filter_map(|rest| rest.split_once(", own origin").map(|(c, _)| c))
        .collect();
    assert_eq!(counts.len(), devices.len(), "{text}");
    assert!(
        counts.iter().all(|c| *c == counts[0]),
        "every copy holds the same: {text}"
    );
}

// ---------------------------------------------------------------------------------------------
// The embedded broker, run by hand

/// `pass broker` of the test's own: the embedded broker (rumqttd, MQTT 3.1.1, one store login)
/// for `store` on a free loopback port, advertised by mDNS on loopback, as a person would run it
/// on a machine of the store. It can be killed and started again on the same port with the same
/// `started` time (its place in the election). Dropping it kills it.
pub struct EmbeddedBroker {
    store: String,
    host: String,
    mdns: String,
    port: u16,
    started_at_ms: u64,
    dir: TempDir,
    password_file: PathBuf,
    child: Option<Child>,
    starts: u32,
}

impl EmbeddedBroker {
    /// Starts one for `store`, advertised on loopback as hosted by `host`, and waits until it
    /// accepts connections.
    pub fn start(store: &str, host: &str) -> EmbeddedBroker {
        EmbeddedBroker::start_with(store, host, "loopback", None)
    }

    /// As [`EmbeddedBroker::start`], advertised on `mdns` (`off`: not at all), claiming to have
    /// been started at `started_at_ms` (default: now) — an older broker wins the election.
    pub fn start_with(
        store: &str,
        host: &str,
        mdns: &str,
        started_at_ms: Option<u64>,
    ) -> EmbeddedBroker {
        assert!(
            mdns == "loopback" || mdns == "off",
            "a test broker is advertised on loopback only"
        );
        let dir = tempfile::Builder::new()
            .prefix("pass-broker-")
            .tempdir()
            .expect("create a temporary directory for the broker");
        let password_file = dir.path().join("broker-password");
        write_private(&password_file, TEST_STORE_PASSWORD);
        let started_at_ms = started_at_ms.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0)
        });
        let mut broker = EmbeddedBroker {
            store: store.to_owned(),
            host: host.to_owned(),
            mdns: mdns.to_owned(),
            port: 0,
            started_at_ms,
            dir,
            password_file,
            child: None,
            starts: 0,
        };
        for _ in 0..10 {
            broker.port = free_loopback_port();
            if broker.spawn_and_wait() {
                return broker;
            }
        }
        panic!("pass broker did not come up:\n{}", broker.log());
    }

    pub fn store(&self) -> &str {
        &self.store
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `mqtt://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// The broker process's id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills it with SIGKILL (no goodbye on mDNS, nothing kept) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_child(&mut child);
        }
    }

    /// Starts it again on the same port with the same `started` time (killing it first if it
    /// runs); retries within [`STARTUP`] while the port is still busy.
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + STARTUP;
        while !self.spawn_and_wait() {
            assert!(
                Instant::now() < deadline,
                "pass broker did not come back on port {}:\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Everything it logged, every start in order.
    pub fn log(&self) -> String {
        read_logs(self.dir.path(), "broker", self.starts)
    }

    /// Publishes `payload` on `topic` at QoS 1 with `mosquitto_pub` (MQTT 3.1.1, the store
    /// login), as an outside client would. Returns whether it succeeded and its output.
    pub fn publish(&self, topic: &str, payload: &[u8]) -> (bool, String) {
        let file = tempfile::NamedTempFile::new().expect("create a payload file");
        std::fs::write(file.path(), payload).expect("write the payload file");
        let out = Command::new(mosquitto_pub_binary())
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-V", "mqttv311", "-u", "pass", "-P", TEST_STORE_PASSWORD])
            .args(["-q", "1", "-t", topic, "-f"])
            .arg(file.path())
            .stdin(Stdio::null())
            .output()
            .expect("run mosquitto_pub");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// Starts the process; `true` once it accepts connections, `false` if it exited first.
    fn spawn_and_wait(&mut self) -> bool {
        self.starts += 1;
        let (_, out, err) = open_log(self.dir.path(), "broker", self.starts);
        let mut cmd = Command::new(bin("pass"));
        cmd.args(["broker", "--store", &self.store, "--host", &self.host])
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .args(["--mdns", &self.mdns])
            .args(["--started-at", &self.started_at_ms.to_string()])
            .arg("--password-file")
            .arg(&self.password_file);
        if std::env::var_os("PASS_LOG").is_none() {
            cmd.env("PASS_LOG", "info");
        }
        cmd.env("NO_COLOR", "1");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start pass broker");
        self.child = Some(child);
        let deadline = Instant::now() + STARTUP;
        loop {
            let child = self.child.as_mut().expect("just spawned");
            if let Ok(Some(_)) = child.try_wait() {
                self.child = None;
                return false;
            }
            if port_accepts(self.port) {
                return true;
            }
            if Instant::now() >= deadline {
                self.kill();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for EmbeddedBroker {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "===== pass broker on port {} (last lines) =====\n{}",
                self.port,
                tail(&self.log(), 40)
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Network namespaces

/// Two network namespaces of the test's own joined by a veth pair: `a` has `veth-a` with
/// 10.77.0.1/24, `b` has `veth-b` with 10.77.0.2/24, both with loopback up. Those addresses
/// exist only inside the two namespaces, so pairs of different tests never meet. Dropping it
/// deletes both namespaces (and with them the veth pair). Needs root.
pub struct NetnsPair {
    pub a: String,
    pub b: String,
}

impl NetnsPair {
    pub const A_IF: &'static str = "veth-a";
    pub const B_IF: &'static str = "veth-b";
    pub const A_ADDR: &'static str = "10.77.0.1";
    pub const B_ADDR: &'static str = "10.77.0.2";

    pub fn create() -> NetnsPair {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let base = format!("pass-{}-{n}", std::process::id());
        let pair = NetnsPair {
            a: format!("{base}-a"),
            b: format!("{base}-b"),
        };
        let ip = |args: &[&str]| {
            let out = Command::new("ip")
                .args(args)
                .output()
                .expect("run ip (iproute2)");
            assert!(
                out.status.success(),
                "ip {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        ip(&["netns", "add", &pair.a]);
        ip(&["netns", "add", &pair.b]);
        ip(&[
            "link",
            "add",
            Self::A_IF,
            "netns",
            &pair.a,
            "type",
            "veth",
            "peer",
            "name",
            Self::B_IF,
            "netns",
            &pair.b,
        ]);
        for (ns, dev, addr) in [
            (&pair.a, Self::A_IF, Self::A_ADDR),
            (&pair.b, Self::B_IF, Self::B_ADDR),
        ] {
            ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", dev]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        pair
    }

    /// Runs `program args` inside namespace `ns`; its output.
    pub fn exec(ns: &str, program: &Path, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", ns])
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run ip netns exec")
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// The `broker` part of a device's status.
pub fn broker_of(status: &Value) -> Value {
    status.get("broker").cloned().unwrap_or(Value::Null)
}

/// One order-terminal screenshot: the database, the intents carried out at start (`--intents`),
/// other start options (`--show-payment`, `--show-reports z` …), the controlled clock, and the
/// threshold at which the page is binarised before OCR (screens with coloured panels read
/// better binarised; see `tests/python/ocr_cards.py`).
pub struct TerminalShot<'a> {
    pub db: &'a Path,
    pub intents: Value,
    pub options: &'a [&'a str],
    pub now_ms: i64,
    pub threshold: Option<u8>,
}

/// Renders the order terminal once at 1920×1080 under Xvfb with Mesa's software Vulkan (its own
/// Mosquitto, so the status bar reads as in a store), keeps a copy as `terminal-NAME.png` in
/// `$PASS_SCREENSHOTS` when set, and returns tesseract's reading of the page.
pub fn terminal_screenshot(dir: &Path, name: &str, shot: TerminalShot<'_>) -> String {
    let png = dir.join(format!("{name}.png"));
    let intents_file = dir.join(format!("{name}.json"));
    std::fs::write(&intents_file, shot.intents.to_string()).expect("intents");
    let broker = Mosquitto::start();
    // Another device of the store on the same broker, so the terminal is online however long
    // the software renderer takes (alone, it would rightly say it is cut off after 3 s).
    let _peer =
        Device::start_spec(DeviceSpec::new("t9", Role::OrderTerminal, &broker.url()).store("demo"));
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
        .args(shot.options)
        .args(["--window", "1920x1080", "--device", "t1"])
        .arg("--db")
        .arg(shot.db)
        .args(["--broker", &broker.url(), "--mdns", "off"])
        .args(["--manual-clock", &shot.now_ms.to_string()])
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
    ocr_page(&png, shot.threshold)
}

/// What OCR reads on a whole screenshot (`tests/python/ocr_cards.py`), binarised at `threshold`
/// (0–255) when given.
pub fn ocr_page(png: &Path, threshold: Option<u8>) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/ocr_cards.py");
    let mut ocr = Command::new(python());
    ocr.arg(script).arg(png).arg("[]");
    if let Some(threshold) = threshold {
        ocr.arg(threshold.to_string());
    }
    let ocr = ocr.output().expect("run the OCR script");
    assert!(
        ocr.status.success(),
        "OCR failed: {}",
        String::from_utf8_lossy(&ocr.stderr)
    );
    let v: Value = serde_json::from_slice(&ocr.stdout).expect("OCR JSON");
    v["page"].as_str().unwrap_or_default().to_owned()
}

/// Every phrase of `expected` is in what OCR read (whitespace runs counted as one space).
pub fn assert_reads(text: &str, expected: &[&str]) {
    let squashed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for phrase in expected {
        assert!(
            squashed.contains(phrase),
            "OCR did not find {phrase:?} in:\n{text}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_config_listens_on_loopback_at_the_given_port_only() {
        let template = std::fs::read_to_string(test_config_template()).expect("read");
        let config = render_test_config(&template, 40123);
        assert!(config.contains("\nlistener 40123 127.0.0.1\n"), "{config}");
        assert!(!config.contains("@PORT@"));
        for setting in [
            "allow_anonymous true",
            "persistence false",
            "max_packet_size 524288",
            "max_queued_messages 10000",
            "log_dest stderr",
        ] {
            assert!(
                config.lines().any(|l| l.trim() == setting),
                "{setting} missing"
            );
        }
        assert_eq!(
            524_288,
            pass_shared::net::protocol::v1::MAX_PACKET_BYTES,
            "the broker's packet limit is the devices' one"
        );
    }

    #[test]
    #[should_panic(expected = "exactly one listener")]
    fn a_config_listening_beyond_loopback_is_refused() {
        render_test_config("listener @PORT@ 0.0.0.0\n", 1);
    }

    #[test]
    fn wait_until_says_whether_the_condition_came_true() {
        let mut n = 0;
        assert!(wait_until(Duration::from_secs(10), || {
            n += 1;
            n >= 3
        }));
        assert!(!wait_until(Duration::from_millis(120), || false));
    }

    #[test]
    fn two_brokers_get_their_own_ports_and_never_1883() {
        let a = Mosquitto::start();
        let b = Mosquitto::start();
        assert_ne!(a.port(), b.port());
        for broker in [&a, &b] {
            assert_ne!(broker.port(), 1883);
            assert_eq!(broker.url(), format!("mqtt://127.0.0.1:{}", broker.port()));
            assert!(port_accepts(broker.port()));
        }
    }

    #[test]
    fn mosquitto_is_killed_and_restarted_on_the_same_port() {
        let mut broker = Mosquitto::start();
        let port = broker.port();
        assert!(broker.is_running());
        let (ok, out) = broker.publish("pass/v1/test-store/probe", b"before");
        assert!(ok, "{out}");

        broker.kill();
        assert!(!broker.is_running());
        assert!(
            wait_until(PATIENCE, || !port_accepts(port)),
            "nothing listens once it is killed"
        );
        let (ok, _) = broker.publish("pass/v1/test-store/probe", b"while down");
        assert!(!ok, "publishing to a killed broker fails");

        broker.restart();
        assert_eq!(broker.port(), port, "same port after a restart");
        assert!(broker.is_running() && port_accepts(port));
        let (ok, out) = broker.publish("pass/v1/test-store/probe", b"after");
        assert!(ok, "{out}");
        // Restarting a running broker works too.
        broker.restart();
        assert!(broker.is_running() && port_accepts(port));
        let log = broker.log();
        assert_eq!(log.matches(" running").count(), 3, "{log}");
    }

    #[test]
    fn the_broker_refuses_a_packet_over_512_kib_and_relays_one_under_it() {
        let broker = Mosquitto::start();
        let limit = pass_shared::net::protocol::v1::MAX_PACKET_BYTES;
        let (ok, out) = broker.publish("pass/v1/test-store/probe", &vec![b'a'; limit - 2048]);
        assert!(ok, "{out}");
        let (ok, _) = broker.publish("pass/v1/test-store/probe", &vec![b'a'; limit + 1]);
        assert!(!ok, "over max_packet_size");
        assert!(
            wait_until(PATIENCE, || broker.log().contains("oversize packet")),
            "{}",
            broker.log()
        );
        assert!(port_accepts(broker.port()), "the broker keeps running");
    }

    #[test]
    fn a_subscription_is_live_when_it_returns_and_keeps_what_follows_in_order() {
        let broker = Mosquitto::start();
        let sub = broker.subscribe("pass/v1/test-store/probe/#", "pass/v1/test-store/probe/x");
        assert!(sub.messages().is_empty(), "the probe is forgotten");
        for n in 0..3 {
            let (ok, out) = broker.publish(
                "pass/v1/test-store/probe/y",
                format!("{{\"n\":{n}}}").as_bytes(),
            );
            assert!(ok, "{out}");
        }
        assert!(wait_until(PATIENCE, || sub.messages().len() >= 3));
        assert_eq!(
            sub.messages(),
            (0..3)
                .map(|n| (
                    "pass/v1/test-store/probe/y".to_owned(),
                    format!("{{\"n\":{n}}}")
                ))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn the_control_client_sends_a_line_and_reads_one_back() {
        use std::os::unix::net::UnixListener;
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("control.sock");
        let listener = UnixListener::bind(&path).expect("bind");
        let server = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for _ in 0..3 {
                let (stream, _) = listener.accept().expect("accept");
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                reader.read_line(&mut line).expect("read");
                let request: Value = serde_json::from_str(&line).expect("json request");
                let answer = match request["cmd"].as_str() {
                    Some("status") => json!({
                        "ok": true, "origin": "0011223344556677", "device": "grill",
                        "heads": {"0011223344556677": 3, "8899aabbccddeeff": 7},
                        "events": 10, "unconfirmed": 0, "cut_off_since": null,
                        "peers": ["t1"], "connected": true
                    }),
                    Some("append") => json!({"ok": true, "seq": 4}),
                    _ => json!({"ok": false, "error": "unknown command"}),
                };
                let mut stream = stream;
                writeln!(stream, "{answer}").expect("write");
                seen.push(request);
            }
            seen
        });
        let client = ControlClient::new(&path);
        let status =
            ok_or_error(client.request(&json!({"cmd": "status"})).expect("status")).expect("ok");
        assert_eq!(
            heads_of(&status),
            BTreeMap::from([
                ("0011223344556677".to_owned(), 3),
                ("8899aabbccddeeff".to_owned(), 7)
            ])
        );
        assert_eq!(peers_of(&status), ["t1"]);
        let event = check_opened("c1", "A1");
        let answer = client
            .request(&json!({"cmd": "append", "event": event}))
            .expect("append");
        assert_eq!(answer["seq"], 4);
        let refused = client.request(&json!({"cmd": "nope"})).expect("answer");
        assert_eq!(ok_or_error(refused).expect_err("not ok"), "unknown command");
        let seen = server.join().expect("server");
        assert_eq!(seen[1]["event"]["kind"], "check_opened");
        assert_eq!(seen[1]["event"]["payload"]["number"], "A1");
        assert!(
            ControlClient::new(dir.path().join("absent.sock"))
                .request(&json!({"cmd": "status"}))
                .is_err()
        );
    }

    #[test]
    fn the_relay_forwards_both_ways_cuts_when_blocked_and_forwards_again_when_unblocked() {
        use std::io::Read;
        // An echo server stands in for the broker.
        let echo = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind echo");
        let echo_port = echo.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            for stream in echo.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut reader = stream.try_clone().expect("clone");
                    let mut writer = stream;
                    let _ = std::io::copy(&mut reader, &mut writer);
                });
            }
        });
        let relay = Relay::start(echo_port);
        assert_ne!(relay.port(), echo_port);
        assert_eq!(relay.url(), format!("mqtt://127.0.0.1:{}", relay.port()));
        let round_trip = |stream: &mut TcpStream, bytes: &[u8]| -> bool {
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            let mut back = vec![0; bytes.len()];
            stream.write_all(bytes).is_ok() && stream.read_exact(&mut back).is_ok() && back == bytes
        };
        let mut a = TcpStream::connect((Ipv4Addr::LOCALHOST, relay.port())).expect("connect");
        assert!(round_trip(&mut a, b"hello"));

        relay.block();
        // The open connection is closed: a read sees the end (or an error), never an echo.
        let mut buf = [0u8; 8];
        let _ = a.write_all(b"lost");
        a.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        assert!(matches!(a.read(&mut buf), Ok(0) | Err(_)));
        // A new one is accepted and closed without a byte through.
        let mut b = TcpStream::connect((Ipv4Addr::LOCALHOST, relay.port())).expect("connect");
        assert!(!round_trip(&mut b, b"blocked"));

        relay.unblock();
        let mut c = TcpStream::connect((Ipv4Addr::LOCALHOST, relay.port())).expect("connect");
        assert!(round_trip(&mut c, b"again"));
        assert_eq!(relay.accepted(), 3);
    }

    #[test]
    #[should_panic(expected = "loopback broker only")]
    fn a_device_never_talks_to_a_broker_beyond_loopback() {
        DeviceSpec::new("grill", Role::KitchenScreen, "mqtt://192.168.1.10:1883");
    }
}
