//! Zero-configuration store network across real processes: devices started without `--broker`
//! find their store's broker by mDNS (on loopback, or across two network namespaces joined by a
//! veth pair), kitchen screens host the embedded broker (`pass broker`, a supervised child
//! process) when none answers, every device settles on one broker, and a killed broker is
//! started again. Standard mDNS clients (python zeroconf) list what is advertised. The
//! replication checks that Mosquitto passes run here against the embedded broker.
//!
//! Every test uses a store of its own (`unique_store`), since tests run side by side on the same
//! loopback; mDNS never leaves loopback or the test's own namespaces.

use std::collections::BTreeMap;
use std::process::Command;

use pass_tests::checks;
use pass_tests::{
    Device, DeviceSpec, EmbeddedBroker, Mosquitto, NetnsPair, PATIENCE, Role, TEST_STORE_PASSWORD,
    all_see_each_other, assert_verified, broker_of, check_opened, own_heads, python, unique_store,
    wait_all_confirmed, wait_converged, wait_until,
};
use serde_json::{Value, json};

/// A device of `store` that finds its broker by mDNS and knows the store's broker password.
fn discovering(id: &str, role: Role, store: &str) -> DeviceSpec {
    DeviceSpec::discovering(id, role, store).store_password(TEST_STORE_PASSWORD)
}

/// An event a kitchen screen writes itself.
fn eighty_six(item: &str) -> Value {
    json!({"kind": "item_eighty_sixed", "payload": {"item": item, "reason": "out"}})
}

/// The `broker` part of a device's status, `Null` when it does not answer.
fn broker_view(device: &Device) -> Value {
    device
        .try_status()
        .map(|s| broker_of(&s))
        .unwrap_or(Value::Null)
}

/// Whether every device is connected, and all to the same advertised or hosted broker; which.
fn one_broker(devices: &[&Device]) -> Option<String> {
    let mut seen = None;
    for d in devices {
        let status = d.try_status().ok()?;
        if status["connected"] != true {
            return None;
        }
        let key = status["broker"]["broker"].as_str()?.to_owned();
        match &seen {
            None => seen = Some(key),
            Some(k) if *k == key => {}
            Some(_) => return None,
        }
    }
    seen
}

/// `pass broker` processes serving `store` now (their command lines name it).
fn broker_processes(store: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("read /proc").flatten() {
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
        let is_broker = args.get(1) == Some(&&b"broker"[..]);
        let for_store = args
            .windows(2)
            .any(|w| w[0] == b"--store" && w[1] == store.as_bytes());
        if is_broker && for_store {
            pids.push(pid);
        }
    }
    pids
}

/// Whether a TCP socket listens on `port` bound to 127.0.0.1 only (from /proc/net/tcp).
fn listens_on_loopback_only(port: u16) -> bool {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("read /proc/net/tcp");
    let wanted = format!(":{port:04X}");
    let listening: Vec<&str> = table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            // local_address, state 0A = LISTEN
            (cols.len() > 3 && cols[1].ends_with(&wanted) && cols[3] == "0A").then_some(cols[1])
        })
        .collect();
    !listening.is_empty() && listening.iter().all(|a| a.starts_with("0100007F:"))
}

fn kill_pid(pid: u32) {
    let out = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .output()
        .expect("run kill");
    assert!(out.status.success(), "kill -KILL {pid}: {out:?}");
}

/// Lists every DNS-SD service of the three Pass types that python zeroconf sees within a few
/// seconds, from inside network namespace `ns` (on `addr`'s interface).
fn zeroconf_listing(ns: &str, addr: &str) -> Vec<Value> {
    const SCRIPT: &str = r#"
import json, sys, time
from zeroconf import ServiceBrowser, ServiceListener, Zeroconf
addr = sys.argv[1]
types = ["_mqtt._tcp.local.", "_pass-kds._tcp.local.", "_pass-terminal._tcp.local."]
zc = Zeroconf(interfaces=[addr])
names = set()
class Found(ServiceListener):
    def add_service(self, zc, type_, name): names.add((type_, name))
    def update_service(self, zc, type_, name): names.add((type_, name))
    def remove_service(self, zc, type_, name): pass
browsers = [ServiceBrowser(zc, t, Found()) for t in types]
time.sleep(4)
out = []
for type_, name in sorted(names):
    info = zc.get_service_info(type_, name, timeout=3000)
    if info is None:
        continue
    out.append({
        "type": type_, "name": name, "port": info.port,
        "addresses": info.parsed_addresses(),
        "txt": {k.decode(): (v.decode() if v is not None else None) for k, v in info.properties.items()},
    })
zc.close()
print(json.dumps(out))
"#;
    let out = NetnsPair::exec(ns, &python(), &["-c", SCRIPT, addr]);
    assert!(
        out.status.success(),
        "zeroconf: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "zeroconf printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn an_unconfigured_terminal_in_another_namespace_finds_the_broker_and_the_store_works() {
    let pair = NetnsPair::create();
    let store = unique_store("netns");
    // A kitchen screen in namespace a hosts the embedded broker (nobody else is there);
    // an order terminal in namespace b, given no broker, finds it across the veth pair.
    let grill = Device::start_spec(
        discovering("grill", Role::KitchenScreen, &store)
            .netns(&pair.a)
            .mdns(NetnsPair::A_IF)
            .station("grill"),
    );
    let t1 = Device::start_spec(
        discovering("t1", Role::OrderTerminal, &store)
            .netns(&pair.b)
            .mdns(NetnsPair::B_IF),
    );
    assert!(
        wait_until(PATIENCE, || all_see_each_other(&[&grill, &t1])),
        "grill {} / t1 {}",
        grill.status(),
        t1.status()
    );
    let hosted = broker_view(&grill);
    assert_eq!(hosted["source"], "hosted", "{hosted}");
    let port = hosted["hosting"]["port"].as_u64().expect("hosting port");
    let found = broker_view(&t1);
    assert_eq!(found["source"], "advertised", "{found}");
    assert_eq!(
        found["url"],
        format!("mqtt://{}:{port}", NetnsPair::A_ADDR),
        "{found}"
    );
    assert_eq!(found["mqtt"], "3.1.1", "{found}");
    assert_eq!(found["broker"], hosted["broker"], "the same broker");
    // The address that worked is remembered beside the terminal's database.
    let remembered =
        std::fs::read_to_string(t1.db().with_extension("last-broker")).expect("remembered");
    assert_eq!(
        remembered.trim(),
        format!("mqtt://{}:{port} 3.1.1", NetnsPair::A_ADDR)
    );

    // Events replicate both ways.
    let t1_seq = t1.append(&check_opened("t1-c1", "A1"));
    let grill_seq = grill.append(&eighty_six("classic_burger"));
    let expected = BTreeMap::from([
        (t1.origin().to_owned(), t1_seq),
        (grill.origin().to_owned(), grill_seq),
    ]);
    wait_converged(&[&grill, &t1], &expected);
    wait_all_confirmed(&[&grill, &t1]);
    assert_verified(&[&grill, &t1]);

    // A standard mDNS client sees every advertisement, with the right TXT records.
    let listing = zeroconf_listing(&pair.b, NetnsPair::B_ADDR);
    let find = |type_: &str, name: &str| -> Value {
        listing
            .iter()
            .find(|s| s["type"] == type_ && s["name"] == format!("{name}.{type_}"))
            .cloned()
            .unwrap_or_else(|| panic!("{name} ({type_}) not listed: {listing:#?}"))
    };
    let broker = find("_mqtt._tcp.local.", &format!("broker-grill@{store}"));
    assert_eq!(broker["port"], port);
    assert!(
        broker["addresses"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == NetnsPair::A_ADDR)),
        "{broker}"
    );
    let txt = &broker["txt"];
    assert_eq!(txt["txtvers"], "1");
    assert_eq!(txt["store"], store.as_str());
    assert_eq!(txt["host"], "grill");
    assert_eq!(txt["mqtt"], "3.1.1");
    assert_eq!(
        hosted["broker"],
        format!("grill@{}", txt["started"].as_str().expect("started")),
        "the election key is what TXT says"
    );
    let screen = find("_pass-kds._tcp.local.", &format!("grill@{store}"));
    assert_eq!(screen["port"], 0, "a device serves nothing on the network");
    let txt = &screen["txt"];
    assert_eq!(txt["store"], store.as_str());
    assert_eq!(txt["device"], "grill");
    assert_eq!(txt["role"], "kitchen_screen");
    assert_eq!(txt["station"], "grill");
    let terminal = find("_pass-terminal._tcp.local.", &format!("t1@{store}"));
    let txt = &terminal["txt"];
    assert_eq!(txt["store"], store.as_str());
    assert_eq!(txt["device"], "t1");
    assert_eq!(txt["role"], "order_terminal");
    assert!(txt.get("station").is_none(), "{terminal}");
    assert!(
        terminal["addresses"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == NetnsPair::B_ADDR)),
        "{terminal}"
    );
}

#[test]
fn two_kitchen_screens_started_at_once_keep_one_embedded_broker_restarted_when_killed() {
    let store = unique_store("two");
    let (grill, expo) = std::thread::scope(|s| {
        let g = s.spawn(|| {
            Device::start_spec(discovering("grill", Role::KitchenScreen, &store).station("grill"))
        });
        let e = s.spawn(|| {
            Device::start_spec(discovering("expo", Role::KitchenScreen, &store).station("expo"))
        });
        (g.join().expect("grill"), e.join().expect("expo"))
    });
    let t1 = Device::start_spec(discovering("t1", Role::OrderTerminal, &store));
    let all = [&grill, &expo, &t1];

    // Exactly one screen ends up hosting, every device uses its broker, and only one broker
    // process of this store is left.
    let mut last = String::new();
    let settled = wait_until(PATIENCE, || {
        let hosts: Vec<&&Device> = all
            .iter()
            .filter(|d| broker_view(d)["hosting"]["up"] == true)
            .collect();
        let brokers = broker_processes(&store);
        last = format!(
            "hosts {:?}, broker processes {brokers:?}, using {:?}",
            hosts.iter().map(|d| d.id()).collect::<Vec<_>>(),
            one_broker(&all)
        );
        hosts.len() == 1
            && brokers.len() == 1
            && one_broker(&all).is_some_and(|k| k.starts_with(&format!("{}@", hosts[0].id())))
            && all_see_each_other(&all)
    });
    assert!(settled, "{last}");
    let host = if broker_view(&grill)["hosting"]["up"] == true {
        &grill
    } else {
        &expo
    };
    let other = if host.id() == "grill" { &expo } else { &grill };
    let hosting = broker_view(host)["hosting"].clone();
    assert!(
        broker_view(other)["hosting"].is_null(),
        "{}",
        broker_view(other)
    );
    let port = u16::try_from(hosting["port"].as_u64().expect("port")).expect("a port");
    assert!(
        listens_on_loopback_only(port),
        "with mDNS on loopback the embedded broker listens on loopback only"
    );
    let key = one_broker(&all).expect("one broker");

    // Some events first.
    let mut expected = BTreeMap::new();
    expected.insert(
        t1.origin().to_owned(),
        t1.append(&check_opened("t1-c1", "A1")),
    );
    wait_converged(&all, &{
        let mut e = own_heads(&all);
        e.extend(expected.clone());
        e
    });

    // Kill the broker process: its device starts it again, same broker, and everyone returns.
    let pid = u32::try_from(hosting["pid"].as_u64().expect("pid")).expect("a pid");
    kill_pid(pid);
    let mut last = Value::Null;
    let restarted = wait_until(PATIENCE, || {
        last = broker_view(host)["hosting"].clone();
        last["up"] == true && last["pid"] != pid && last["restarts"].as_u64() >= Some(1)
    });
    assert!(restarted, "the broker was not started again: {last}");
    assert_eq!(last["port"], hosting["port"], "on the same port");
    // Events written while it was down and after it came back reach everyone.
    expected.insert(
        t1.origin().to_owned(),
        t1.append(&check_opened("t1-c2", "A2")),
    );
    expected.insert(
        grill.origin().to_owned(),
        grill.append(&eighty_six("classic_burger")),
    );
    expected.insert(expo.origin().to_owned(), expo.append(&eighty_six("fries")));
    wait_converged(&all, &expected);
    wait_all_confirmed(&all);
    assert!(
        wait_until(PATIENCE, || one_broker(&all).as_deref()
            == Some(key.as_str())),
        "everyone is back on {key}"
    );
    assert_eq!(broker_processes(&store).len(), 1);
    assert_verified(&all);
}

#[test]
fn a_hosting_screen_hands_over_to_an_older_broker_and_stops_its_own() {
    let store = unique_store("older");
    let grill = Device::start_spec(discovering("grill", Role::KitchenScreen, &store));
    let t1 = Device::start_spec(discovering("t1", Role::OrderTerminal, &store));
    assert!(
        wait_until(PATIENCE, || broker_view(&grill)["hosting"]["up"] == true
            && one_broker(&[&grill, &t1])
                .is_some_and(|k| k.starts_with("grill@"))),
        "grill hosts: {}",
        broker_view(&grill)
    );
    // A broker that has been running longer (an earlier `started`) turns up for the store:
    // by the election rule everybody moves to it, and grill stops its own.
    let older = EmbeddedBroker::start_with(&store, "backoffice", "loopback", Some(1_000));
    let mut last = String::new();
    let moved = wait_until(PATIENCE, || {
        let using = one_broker(&[&grill, &t1]);
        last = format!("{using:?}, grill {}", broker_view(&grill));
        using.as_deref() == Some("backoffice@1000")
            && broker_view(&grill)["hosting"].is_null()
            && broker_processes(&store) == older.pid().into_iter().collect::<Vec<_>>()
    });
    assert!(moved, "{last}");
    let seq = t1.append(&check_opened("t1-c1", "A1"));
    wait_converged(
        &[&grill, &t1],
        &BTreeMap::from([(t1.origin().to_owned(), seq)]),
    );
}

#[test]
fn the_last_broker_that_worked_is_tried_first_and_a_configured_one_overrides_discovery() {
    let store = unique_store("memory");
    // A broker nobody advertises: a device can only know it from memory.
    let hidden = EmbeddedBroker::start_with(&store, "hidden", "off", None);
    let mut t1 = Device::start_spec(discovering("t1", Role::OrderTerminal, &store));
    t1.stop();
    std::fs::write(
        t1.db().with_extension("last-broker"),
        format!("{} 3.1.1\n", hidden.url()),
    )
    .expect("remember");
    t1.restart();
    let mut last = Value::Null;
    assert!(
        wait_until(PATIENCE, || {
            last = broker_view(&t1);
            t1.status()["connected"] == true
        }),
        "{last}"
    );
    assert_eq!(last["source"], "remembered", "{last}");
    assert_eq!(last["url"], hidden.url());

    // With an advertised embedded broker for the store, a device whose configuration file
    // names a broker (here Mosquitto) uses that one and ignores discovery.
    let _advertised = EmbeddedBroker::start(&store, "hub");
    let mosquitto = Mosquitto::start();
    let t2 = Device::start_spec(
        discovering("t2", Role::OrderTerminal, &store)
            .device_file(&format!("broker = \"{}\"\n", mosquitto.url())),
    );
    let t3 = Device::start_spec(discovering("t3", Role::OrderTerminal, &store));
    assert!(
        wait_until(PATIENCE, || t2.status()["connected"] == true
            && broker_view(&t3)["source"] == "advertised"
            && t3.status()["connected"] == true),
        "t2 {} / t3 {}",
        broker_view(&t2),
        broker_view(&t3)
    );
    let configured = broker_view(&t2);
    assert_eq!(configured["source"], "configured", "{configured}");
    assert_eq!(configured["url"], mosquitto.url());
    assert_eq!(configured["mqtt"], "5", "Mosquitto speaks MQTT 5");
    let advertised = broker_view(&t3);
    assert!(
        advertised["broker"]
            .as_str()
            .is_some_and(|k| k.starts_with("hub@")),
        "an unconfigured device uses the advertised broker: {advertised}"
    );
    // The same address given with --broker works too, and MQTT 3.1.1 is found by trying.
    let t4 = Device::start_spec(
        DeviceSpec::new("t4", Role::OrderTerminal, &hidden.url())
            .store(&store)
            .store_password(TEST_STORE_PASSWORD),
    );
    assert!(
        wait_until(PATIENCE, || t4.status()["connected"] == true),
        "{}",
        broker_view(&t4)
    );
    assert_eq!(broker_view(&t4)["mqtt"], "3.1.1");
}

// The replication checks Mosquitto passes, against the embedded broker found by mDNS.

#[test]
fn embedded_broker_events_appended_on_one_device_reach_the_other() {
    checks::events_appended_on_one_device_reach_the_other(&mut EmbeddedBroker::start(
        &unique_store("e1"),
        "hub",
    ));
}

#[test]
fn embedded_broker_killed_mid_burst_loses_nothing_and_doubles_nothing() {
    checks::a_broker_killed_mid_burst_loses_nothing_and_doubles_nothing(
        &mut EmbeddedBroker::start(&unique_store("e2"), "hub"),
    );
}

#[test]
fn embedded_broker_a_device_killed_mid_burst_and_restarted_catches_up() {
    checks::a_device_killed_mid_burst_and_restarted_catches_up(&mut EmbeddedBroker::start(
        &unique_store("e3"),
        "hub",
    ));
}

#[test]
fn embedded_broker_a_device_whose_peers_all_stop_reports_itself_cut_off() {
    checks::a_device_whose_peers_all_stop_reports_itself_cut_off_until_one_returns(
        &mut EmbeddedBroker::start(&unique_store("e4"), "hub"),
    );
}

#[test]
fn embedded_broker_malformed_and_oversized_messages_are_set_aside() {
    checks::malformed_and_oversized_messages_are_set_aside_and_every_device_keeps_working(
        &mut EmbeddedBroker::start(&unique_store("e5"), "hub"),
    );
}
