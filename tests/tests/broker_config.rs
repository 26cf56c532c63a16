//! A store's Mosquitto as `broker-config/` sets it up: the real `store.conf` (its listeners moved
//! to free loopback ports, its folders to the test's), with the password file, ACL, CA and
//! certificates made by the real scripts, and the bridge example carrying events to a second
//! Mosquitto standing in for the head office.
//!
//! Absence is proved by order, never by waiting: a publish the broker refuses is answered
//! (MQTT 5 reason code) before the next one is sent, so when a subscriber has received a message
//! published after it, the refused one would have arrived first.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use pass_shared::journal::Origin;
use pass_shared::net::protocol::v1::{DeviceId, StoreId, publish_patterns};
use pass_tests::{
    Device, DeviceSpec, Mosquitto, PATIENCE, Role, all_see_each_other, bin, check_opened,
    wait_converged, wait_until,
};
use serde_json::Value;
use tempfile::TempDir;

/// The store of every test here: the one `bridge.conf.example` is written for.
const STORE: &str = "demo";

fn broker_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../broker-config")
}

/// Runs a `broker-config/` script with `PASS` set to the `pass` built beside the tests; panics
/// with its output unless it succeeds. Returns its output.
fn script(name: &str, args: &[&str]) -> String {
    let (ok, text) = try_script(name, args);
    assert!(ok, "{name} {args:?} failed:\n{text}");
    text
}

fn try_script(name: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(broker_config().join(name))
        .args(args)
        .env("PASS", bin("pass"))
        .stdin(Stdio::null())
        .output()
        .expect("run a broker-config script");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}

/// `store.conf` for a test: `listener 1883` and `listener 8883` move to `lan` and `tls` on
/// 127.0.0.1, `/etc/mosquitto/pass/` to `<dir>/etc/` and `/var/lib/mosquitto/` to
/// `<dir>/data/`; nothing else changes. Refuses a file with other listeners or other paths, so
/// the test can never run something that is not the store's configuration, nor listen beyond
/// loopback.
fn render_store_config(template: &str, dir: &Path, lan: u16, tls: u16) -> String {
    let dir = path_str(dir);
    let mut listeners = Vec::new();
    let mut out = String::new();
    for line in template.lines() {
        let line = if line.trim_start().starts_with("listener") {
            listeners.push(line.trim().to_owned());
            match line.trim() {
                "listener 1883" => format!("listener {lan} 127.0.0.1"),
                "listener 8883" => format!("listener {tls} 127.0.0.1"),
                other => panic!("store.conf has an unexpected listener: {other}"),
            }
        } else {
            substitute_paths(line, dir)
        };
        out.push_str(&line);
        out.push('\n');
    }
    assert_eq!(
        listeners,
        ["listener 1883", "listener 8883"],
        "store.conf listens on 1883 (LAN) and 8883 (TLS)"
    );
    out
}

/// A configuration line with the store's folders moved into `dir`; panics on any other absolute
/// path outside a comment.
fn substitute_paths(line: &str, dir: &str) -> String {
    let line = line
        .replace("/etc/mosquitto/pass/", &format!("{dir}/etc/"))
        .replace("/var/lib/mosquitto/", &format!("{dir}/data/"));
    if !line.trim_start().starts_with('#') {
        for word in line.split_whitespace().filter(|w| w.starts_with('/')) {
            assert!(
                word.starts_with(dir),
                "a path the test does not move: {word} in {line:?}"
            );
        }
    }
    line
}

/// The bridge example for a test: `/etc/mosquitto/pass/` moved as in [`render_store_config`],
/// and the head office's address replaced by 127.0.0.1:`port`.
fn render_bridge_config(template: &str, dir: &Path, port: u16) -> String {
    let mut addresses = 0;
    let mut out = String::new();
    for line in template.lines() {
        let line = if line.trim_start().starts_with("address ") {
            addresses += 1;
            format!("address 127.0.0.1:{port}")
        } else {
            substitute_paths(line, path_str(dir))
        };
        out.push_str(&line);
        out.push('\n');
    }
    assert_eq!(
        addresses, 1,
        "the bridge example names one head-office address"
    );
    out
}

/// Whether this test runs as root (then Mosquitto drops to the `mosquitto` user, and the folders
/// it writes must be that user's).
fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("run id");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// A folder Mosquitto writes to (its persistence), as a store's `/var/lib/mosquitto` is.
fn broker_writable_dir(path: &Path) {
    std::fs::create_dir_all(path).expect("create a broker folder");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o750))
        .expect("chmod the broker folder");
    if is_root() {
        let status = Command::new("chown")
            .args(["mosquitto:mosquitto", path_str(path)])
            .status()
            .expect("run chown");
        assert!(status.success(), "chown mosquitto {}", path.display());
    }
}

/// A store broker's files, made as README.md says: a CA, the broker folder with its
/// certificate, and users.
struct StoreFiles {
    dir: TempDir,
}

impl StoreFiles {
    /// A CA in `<dir>/ca`, the broker folder in `<dir>/etc` (certificate for 127.0.0.1), the
    /// persistence folder `<dir>/data`.
    fn new() -> StoreFiles {
        let dir = Mosquitto::new_dir();
        let files = StoreFiles { dir };
        let ca = files.path("ca");
        let etc = files.path("etc");
        script("make-ca.sh", &["--dir", &ca, "--store", STORE]);
        script(
            "init-broker.sh",
            &[
                "--dir",
                &etc,
                "--store",
                STORE,
                "--ca",
                &ca,
                "--host",
                "127.0.0.1",
            ],
        );
        broker_writable_dir(&files.dir.path().join("data"));
        files
    }

    fn path(&self, name: &str) -> String {
        path_str(&self.dir.path().join(name)).to_owned()
    }

    /// Adds a device user with its ACL entry; returns its password file.
    fn add_device(&self, device: &str, origin: &str) -> PathBuf {
        script(
            "broker-user.sh",
            &[
                "--dir",
                &self.path("etc"),
                "add-device",
                device,
                "--origin",
                origin,
            ],
        );
        self.password_file(device)
    }

    fn add_integration(&self, name: &str) -> PathBuf {
        script(
            "broker-user.sh",
            &["--dir", &self.path("etc"), "add-integration", name],
        );
        self.password_file(&format!("integration-{name}"))
    }

    fn password_file(&self, user: &str) -> PathBuf {
        self.dir.path().join(format!("etc/clients/{user}.pw"))
    }

    fn password(&self, user: &str) -> String {
        std::fs::read_to_string(self.password_file(user))
            .expect("read a password file")
            .trim()
            .to_owned()
    }

    /// A client certificate `name` from the store's CA, in `<dir>/clients`.
    fn client_cert(&self, name: &str) -> Tls {
        let out = self.path("clients");
        script(
            "make-cert.sh",
            &["--ca", &self.path("ca"), "--out", &out, "client", name],
        );
        Tls::new(&out, name)
    }

    /// Starts Mosquitto on these files with `store.conf` (whatever the test put in `etc/conf.d`
    /// included, as a store's would be).
    fn start(self) -> Mosquitto {
        let template =
            std::fs::read_to_string(broker_config().join("store.conf")).expect("read store.conf");
        Mosquitto::start_in(self.dir, 2, |dir, ports| {
            render_store_config(&template, dir, ports[0], ports[1])
        })
    }
}

/// The files a TLS client presents: the CA to check the broker with, its certificate and key.
#[derive(Clone)]
struct Tls {
    ca: String,
    cert: String,
    key: String,
}

impl Tls {
    fn new(dir: &str, name: &str) -> Tls {
        Tls {
            ca: format!("{dir}/ca.crt"),
            cert: format!("{dir}/{name}.crt"),
            key: format!("{dir}/{name}.key"),
        }
    }

    fn args(&self) -> Vec<String> {
        [
            "--cafile", &self.ca, "--cert", &self.cert, "--key", &self.key,
        ]
        .map(str::to_owned)
        .to_vec()
    }
}

/// How a test client logs in: a user and password, a certificate, or nothing.
fn user(name: &str, password: &str) -> Vec<String> {
    ["-u", name, "-P", password].map(str::to_owned).to_vec()
}

fn mosquitto_client(name: &str, env: &str) -> PathBuf {
    std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(name))
}

/// `mosquitto_pub` with MQTT 5 at QoS 1 (so a refusal comes back as a reason code): whether it
/// succeeded, and its output.
fn publish(port: u16, auth: &[String], topic: &str, payload: &str) -> (bool, String) {
    let out = Command::new(mosquitto_client("mosquitto_pub", "PASS_MOSQUITTO_PUB"))
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-V", "mqttv5"])
        .args(["-q", "1", "-t", topic, "-m", payload])
        .args(auth)
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

/// A publish the broker accepted: no error, no refusal.
fn accepted(port: u16, auth: &[String], topic: &str, payload: &str) {
    let (ok, text) = publish(port, auth, topic, payload);
    assert!(
        ok && text.trim().is_empty(),
        "publish on {topic} was not accepted: {text}"
    );
}

/// A publish the broker refused with MQTT 5's "Not authorized" (the client stays connected).
fn refused(port: u16, auth: &[String], topic: &str, payload: &str) {
    let (_, text) = publish(port, auth, topic, payload);
    assert!(
        text.contains("Not authorized"),
        "publish on {topic} was not refused: {text:?}"
    );
}

/// A `mosquitto_sub -v` of the test's, writing what it receives (`topic payload` lines) to a
/// file. Dropping it kills it.
struct Watcher {
    child: Child,
    out: tempfile::NamedTempFile,
}

impl Watcher {
    fn start(port: u16, auth: &[String], topic: &str) -> Watcher {
        let out = tempfile::NamedTempFile::new().expect("create the watcher's output file");
        // One open file for both streams, so neither writes over the other.
        let file = out.reopen().expect("reopen the output file");
        let err = file.try_clone().expect("clone the output file handle");
        let child = Command::new(mosquitto_client("mosquitto_sub", "PASS_MOSQUITTO_SUB"))
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-V", "mqttv5"])
            .args(["-q", "1", "-v", "-t", topic])
            .args(auth)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .expect("run mosquitto_sub");
        Watcher { child, out }
    }

    fn text(&self) -> String {
        std::fs::read_to_string(self.out.path()).unwrap_or_default()
    }

    fn lines(&self) -> Vec<String> {
        self.text().lines().map(str::to_owned).collect()
    }

    /// Waits until a received line satisfies `want`; panics with everything received.
    fn wait_for(&self, what: &str, want: impl Fn(&str) -> bool) {
        assert!(
            wait_until(PATIENCE, || self.lines().iter().any(|l| want(l))),
            "{what} never arrived; received:\n{}",
            self.text()
        );
    }

    /// Waits until the watcher is subscribed: `send` publishes its argument on `topic`, again
    /// and again until a copy arrives.
    fn wait_ready(&self, topic: &str, send: impl Fn(&str)) {
        let line = format!("{topic} ready");
        assert!(
            wait_until(PATIENCE, || {
                send("ready");
                self.lines().contains(&line)
            }),
            "the watcher never received {line:?}: {}",
            self.text()
        );
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn store() -> StoreId {
    StoreId::try_from(STORE.to_owned()).expect("store id")
}

/// The topics a device may publish on, with `sync/+/<device>`'s requester filled in.
fn own_topics(device: &str, origin: &str, requester: &str) -> Vec<String> {
    publish_patterns(
        &store(),
        &DeviceId::try_from(device.to_owned()).expect("device id"),
        &Origin::try_from(origin.to_owned()).expect("origin"),
    )
    .into_iter()
    .map(|p| p.replace('+', requester))
    .collect()
}

const GRILL_ORIGIN: &str = "00000000000000aa";
const EXPO_ORIGIN: &str = "00000000000000bb";

#[test]
fn a_devices_credentials_cannot_publish_into_another_devices_topics() {
    let files = StoreFiles::new();
    files.add_device("grill", GRILL_ORIGIN);
    files.add_device("expo", EXPO_ORIGIN);
    files.add_device("watch", "00000000000000cc");
    files.add_integration("web-shop");
    let (grill, watch, shop) = (
        user("grill", &files.password("grill")),
        user("watch", &files.password("watch")),
        user(
            "integration-web-shop",
            &files.password("integration-web-shop"),
        ),
    );
    let broker = files.start();
    let lan = broker.port();
    let p = format!("pass/v1/{STORE}");

    // A device reads every topic of its store.
    let watcher = Watcher::start(lan, &watch, &format!("{p}/#"));
    watcher.wait_ready(&format!("{p}/hb/grill"), |payload| {
        let _ = publish(lan, &grill, &format!("{p}/hb/grill"), payload);
    });

    // The grill's credentials on each of the expo's topics, the inbox's, another store's: each
    // refused by the broker with a reason code.
    let mut forbidden = own_topics("expo", EXPO_ORIGIN, "grill");
    forbidden.extend([
        format!("{p}/inbox/orders/web-shop"),
        format!("{p}/inbox/replies/web-shop"),
        "pass/v1/other-store/hb/grill".to_owned(),
    ]);
    for (n, topic) in forbidden.iter().enumerate() {
        refused(lan, &grill, topic, &format!("forged-{n}"));
    }
    // The integration may send its orders, nothing else (not another integration's).
    for (n, topic) in [
        format!("{p}/ev/{GRILL_ORIGIN}"),
        format!("{p}/have/web-shop"),
        format!("{p}/inbox/replies/web-shop"),
        format!("{p}/inbox/orders/other-shop"),
    ]
    .iter()
    .enumerate()
    {
        refused(lan, &shop, topic, &format!("forged-shop-{n}"));
    }

    // Then the grill's own topics and the integration's order topic: accepted and delivered,
    // after every refused publish.
    let mut allowed = own_topics("grill", GRILL_ORIGIN, "expo");
    allowed.push(format!("{p}/inbox/orders/web-shop"));
    for (n, topic) in allowed.iter().enumerate() {
        let auth = if topic.ends_with("inbox/orders/web-shop") {
            &shop
        } else {
            &grill
        };
        accepted(lan, auth, topic, &format!("allowed-{n}"));
    }
    for (n, topic) in allowed.iter().enumerate() {
        let line = format!("{topic} allowed-{n}");
        watcher.wait_for(&line, |l| l == line);
    }
    let received = watcher.text();
    assert!(
        !received.contains("forged"),
        "a refused publish reached a subscriber:\n{received}"
    );
}

#[test]
fn an_anonymous_client_or_a_wrong_password_cannot_connect() {
    let files = StoreFiles::new();
    files.add_device("grill", GRILL_ORIGIN);
    let password = files.password("grill");
    let broker = files.start();
    let (lan, tls) = (broker.port(), broker.ports()[1]);
    let topic = format!("pass/v1/{STORE}/hb/grill");

    let (ok, text) = publish(lan, &[], &topic, "anonymous");
    assert!(!ok && text.contains("Not authorized"), "{text}");
    let (ok, text) = publish(lan, &user("grill", "not-the-password"), &topic, "guess");
    assert!(!ok && text.contains("Not authorized"), "{text}");
    let (ok, text) = publish(lan, &user("nobody", &password), &topic, "stranger");
    assert!(!ok && text.contains("Not authorized"), "{text}");
    // On the TLS listener, no certificate is no connection either (the server's CA is known).
    let ca = format!("{}/etc/ca.crt", path_str(broker.dir()));
    let (ok, text) = publish(tls, &["--cafile".to_owned(), ca], &topic, "no certificate");
    assert!(!ok, "{text}");

    // The device's own password gets in.
    accepted(lan, &user("grill", &password), &topic, "hello");
    assert!(
        wait_until(PATIENCE, || broker
            .log()
            .matches("disconnected, not authorised")
            .count()
            == 3),
        "the broker turned away the three clients without a valid password: {}",
        broker.log()
    );
}

#[test]
fn the_tls_listener_takes_only_certificates_from_the_store_ca() {
    let files = StoreFiles::new();
    files.add_device("grill", GRILL_ORIGIN);
    files.add_device("watch", "00000000000000cc");
    let grill_tls = files.client_cert("grill");
    let stranger_tls = files.client_cert("stranger");
    let watch = user("watch", &files.password("watch"));
    // Another store's CA, with a certificate of the same name.
    let elsewhere = files.path("elsewhere");
    script("make-ca.sh", &["--dir", &elsewhere, "--store", "elsewhere"]);
    let forged_out = files.path("forged");
    script(
        "make-cert.sh",
        &["--ca", &elsewhere, "--out", &forged_out, "client", "grill"],
    );
    let mut forged_tls = Tls::new(&forged_out, "grill");
    let broker = files.start();
    let (lan, tls) = (broker.port(), broker.ports()[1]);
    // The forged client knows the store broker's CA; only its own certificate is foreign.
    forged_tls.ca = grill_tls.ca.clone();
    let p = format!("pass/v1/{STORE}");
    let topic = format!("{p}/hb/grill");

    let watcher = Watcher::start(lan, &watch, &format!("{p}/#"));
    watcher.wait_ready(&topic, |payload| {
        let _ = publish(tls, &grill_tls.args(), &topic, payload);
    });

    let (ok, text) = publish(tls, &forged_tls.args(), &topic, "forged");
    assert!(!ok, "a certificate from another CA got in: {text}");
    assert!(
        wait_until(PATIENCE, || broker
            .log()
            .contains("certificate verify failed")),
        "{}",
        broker.log()
    );
    // A certificate of the store CA is its common name's user: the grill's own topics only.
    refused(tls, &grill_tls.args(), &format!("{p}/hb/expo"), "forged-2");
    // A name without an ACL entry may do nothing.
    refused(
        tls,
        &stranger_tls.args(),
        &format!("{p}/hb/stranger"),
        "forged-3",
    );
    accepted(tls, &grill_tls.args(), &topic, "over-tls");
    watcher.wait_for("the TLS client's message", |l| {
        l == format!("{topic} over-tls")
    });
    assert!(!watcher.text().contains("forged"), "{}", watcher.text());
    assert!(broker.log().contains("as grill (p5, c1, k60, u'grill')"));
}

/// A device's journal made before it first starts (`pass journal init`), so its origin can go
/// into its ACL entry; returns the database and the origin.
fn new_journal(dir: &Path, device: &str, role: &str) -> (PathBuf, String) {
    let db = dir.join(format!("{device}.db"));
    let (ok, text) = pass_tests::pass(&[
        "journal",
        "init",
        path_str(&db),
        "--role",
        role,
        "--name",
        device,
    ]);
    assert!(ok, "{text}");
    let origin = text
        .split("with origin ")
        .nth(1)
        .map(str::trim)
        .expect("journal init prints the origin")
        .to_owned();
    (db, origin)
}

fn device_with_credentials(
    files_broker: &Mosquitto,
    id: &str,
    role: Role,
    seed: &Path,
    password_file: &Path,
) -> Device {
    let spec = DeviceSpec::new(id, role, &files_broker.url())
        .store(STORE)
        .credentials(id, password_file);
    Device::start_spec_from_copy(spec, seed)
}

fn refused_publishes(device: &Device) -> u64 {
    device.status()["refused_publishes"].as_u64().unwrap_or(0)
}

#[test]
fn devices_with_their_own_credentials_replicate_through_the_store_broker() {
    let seeds = tempfile::tempdir().expect("tmp");
    let (grill_db, grill_origin) = new_journal(seeds.path(), "grill", "kitchen-screen");
    let (t1_db, t1_origin) = new_journal(seeds.path(), "t1", "order-terminal");
    let files = StoreFiles::new();
    let grill_pw = files.add_device("grill", &grill_origin);
    let t1_pw = files.add_device("t1", &t1_origin);
    let broker = files.start();

    let grill =
        device_with_credentials(&broker, "grill", Role::KitchenScreen, &grill_db, &grill_pw);
    let mut t1 = device_with_credentials(&broker, "t1", Role::OrderTerminal, &t1_db, &t1_pw);
    assert_eq!(grill.origin(), grill_origin);
    assert_eq!(t1.origin(), t1_origin);
    // Each hears the other (so each is subscribed) before the events are written: they travel
    // live, on ev/<origin>, which is what the ACL entry's origin must allow.
    assert!(
        wait_until(PATIENCE, || all_see_each_other(&[&grill, &t1])),
        "the devices never heard each other"
    );
    // And each holds what the other wrote before (its first event, fetched by pull), so that a
    // new event is applied as it arrives rather than held until that pull answers.
    wait_converged(&[&grill, &t1], &pass_tests::own_heads(&[&grill, &t1]));

    let t1_seq = t1.append(&check_opened("t1-c1", "A1"));
    let grill_seq = grill.append(&check_opened("grill-c1", "G1"));
    let expected = [
        (grill_origin.clone(), grill_seq),
        (t1_origin.clone(), t1_seq),
    ]
    .into_iter()
    .collect();
    wait_converged(&[&grill, &t1], &expected);
    pass_tests::wait_all_confirmed(&[&grill, &t1]);
    for device in [&grill, &t1] {
        assert_eq!(
            refused_publishes(device),
            0,
            "{}: the ACL allows everything a device publishes",
            device.id()
        );
        assert!(
            device.status()["received_live"].as_u64().unwrap_or(0) > 0,
            "{}: the peer's events came live on ev/<origin>: {}",
            device.id(),
            device.status()
        );
    }
    let log = broker.log();
    assert!(log.contains("as grill (p5, c1, k5, u'grill')"), "{log}");
    assert!(log.contains("as t1 (p5, c1, k5, u't1')"), "{log}");

    // A device removed from the broker is disconnected on reload and stays out.
    script(
        "broker-user.sh",
        &[
            "--dir",
            &format!("{}/etc", path_str(broker.dir())),
            "remove",
            "t1",
        ],
    );
    broker.reload();
    assert!(
        wait_until(PATIENCE, || t1.status()["connected"] == Value::Bool(false)),
        "t1 is still connected: {}",
        t1.status()
    );
    assert!(
        wait_until(PATIENCE, || broker
            .log()
            .contains("disconnected, not authorised")),
        "t1 tried to come back and was refused: {}",
        broker.log()
    );
    assert_eq!(t1.status()["connected"], Value::Bool(false));
    t1.stop();
}

#[test]
fn the_bridge_example_carries_a_stores_events_to_the_head_office_under_its_prefix() {
    // The head office: its own CA, a broker with a TLS listener (a stand-in, not part of
    // broker-config), the store's bridge certificate and an office client of its own.
    let files = StoreFiles::new();
    let office_ca = files.path("office-ca");
    script(
        "make-ca.sh",
        &["--dir", &office_ca, "--store", "head-office"],
    );
    let office_dir = Mosquitto::new_dir();
    let office_etc = path_str(office_dir.path()).to_owned();
    script(
        "make-cert.sh",
        &[
            "--ca",
            &office_ca,
            "--out",
            &office_etc,
            "server",
            "127.0.0.1",
        ],
    );
    script(
        "make-cert.sh",
        &["--ca", &office_ca, "--out", &office_etc, "client", "office"],
    );
    // What bridge.conf.example reads from /etc/mosquitto/pass/head-office/.
    let bridge_files = files.path("etc/head-office");
    script(
        "make-cert.sh",
        &[
            "--ca",
            &office_ca,
            "--out",
            &bridge_files,
            "--broker-key",
            "client",
            "store-demo",
        ],
    );
    let office = Mosquitto::start_in(office_dir, 1, |dir, ports| {
        let d = path_str(dir);
        format!(
            "listener {port} 127.0.0.1\n\
             cafile {d}/ca.crt\ncertfile {d}/server.crt\nkeyfile {d}/server.key\n\
             require_certificate true\nuse_identity_as_username true\n\
             allow_anonymous false\npersistence false\n\
             log_dest stderr\nlog_type all\nconnection_messages true\n",
            port = ports[0]
        )
    });

    // The store: store.conf with the bridge example in conf.d, pointed at the head office.
    let seeds = tempfile::tempdir().expect("tmp");
    let (grill_db, grill_origin) = new_journal(seeds.path(), "grill", "kitchen-screen");
    let grill_pw = files.add_device("grill", &grill_origin);
    let example = std::fs::read_to_string(broker_config().join("bridge.conf.example"))
        .expect("read bridge.conf.example");
    let bridge = render_bridge_config(&example, files.dir.path(), office.port());
    let bridge_path = files.dir.path().join("etc/conf.d/bridge.conf");
    std::fs::write(&bridge_path, bridge).expect("write the bridge configuration");
    std::fs::set_permissions(&bridge_path, std::fs::Permissions::from_mode(0o644))
        .expect("chmod the bridge configuration");
    let store_broker = files.start();

    let office_tls = Tls::new(&office_etc, "office");
    let watcher = Watcher::start(office.port(), &office_tls.args(), "stores/#");
    // The bridge announces itself on its notification topic (retained): the watcher is
    // subscribed and the bridge connected.
    watcher.wait_for("the bridge's state", |l| l == "stores/demo/bridge/state 1");

    let grill = device_with_credentials(
        &store_broker,
        "grill",
        Role::KitchenScreen,
        &grill_db,
        &grill_pw,
    );
    grill.append(&check_opened("bridged-c1", "B1"));
    let events_topic = format!("stores/{STORE}/pass/v1/{STORE}/ev/{grill_origin} ");
    watcher.wait_for("the grill's event at the head office", |l| {
        l.starts_with(&events_topic) && l.contains("bridged-c1")
    });
    let have_topic = format!("stores/{STORE}/pass/v1/{STORE}/have/grill ");
    watcher.wait_for("the grill's heads at the head office", |l| {
        l.starts_with(&have_topic)
    });
    for line in watcher.lines() {
        assert!(
            line.starts_with(&format!("stores/{STORE}/pass/v1/{STORE}/ev/"))
                || line.starts_with(&format!("stores/{STORE}/pass/v1/{STORE}/have/"))
                || line.starts_with(&format!("stores/{STORE}/bridge/state")),
            "only events, heads and the bridge state cross, under the store's prefix: {line}"
        );
    }
    assert!(
        office.log().contains("u'store-demo'"),
        "the bridge logged in with its certificate: {}",
        office.log()
    );
}
