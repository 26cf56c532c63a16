//! Finding the store on the network: mDNS (DNS-SD) advertisements of the broker and of every
//! device, with mdns-sd.
//!
//! # What is advertised
//!
//! | service type | who | instance | TXT |
//! |---|---|---|---|
//! | `_mqtt._tcp` | the store's broker (the embedded one advertises itself) | `broker-<host>@<store>` | `txtvers=1`, `store`, `host`, `started`, `mqtt` |
//! | `_pass-kds._tcp` | a kitchen screen | `<device>@<store>` | `txtvers=1`, `store`, `device`, `role`, `station`, `name` |
//! | `_pass-terminal._tcp` | an order terminal | `<device>@<store>` | `txtvers=1`, `store`, `device`, `role`, `name` |
//! | `_pass-console._tcp` | a console device | `<device>@<store>` | as a terminal |
//!
//! `started` is when the broker was first started (ms since the epoch) and `host` the id of
//! whoever runs it; `mqtt` is the protocol version it speaks (`3.1.1` or `5`). A device serves
//! nothing on the network (its control socket is a local Unix socket), so its SRV record names
//! port 0: its advertisement says "this device is here, with this role and station", which any
//! DNS-SD browser (python zeroconf, avahi-browse, dns-sd) lists.
//!
//! # Which broker: one rule everybody applies
//!
//! When two brokers are advertised for one store (two kitchen screens started at once, or a
//! screen that started its own while the network was split), every device connects to the one
//! with the lowest `(started, host)` ([`elect`]): the oldest broker wins, the host id breaks a
//! tie. Each device computes this from the same advertisements, so they all settle on the same
//! broker without talking to each other; a host whose broker lost stops it once it is connected
//! to the winner.
//!
//! # Which interfaces
//!
//! A setting ([`MdnsScope`]), because multicast leaves the machine: `lan` in a store (every
//! interface), `loopback` for tests, CI and the demo (mdns-sd's interfaces are all disabled, then
//! loopback alone enabled), an interface name (a network namespace's veth in the tests, or the
//! one store-facing port of a machine with several), or `off`. Advertisements are untrusted
//! input: a TXT record that does not parse is ignored and logged once.
//!
//! # What mDNS does not protect
//!
//! Advertisements are not authenticated: anyone on the LAN can advertise a broker for the store,
//! with an old `started` to win the election, and unconfigured devices would connect to it and
//! give it the store's broker password (which plain MQTT carries in clear anyway). It cannot
//! write in a device's name (events are signed) but it can withhold messages. A store whose LAN
//! is not trusted runs Mosquitto with TLS and per-device credentials (`broker-config/`) and
//! gives devices its address (`--broker`, or `broker` in the device's configuration file).
//!
//! A responder multicasts a record at most once a second on an interface (RFC 6762 section 6):
//! a device that starts within a second of another device's answer waits for that second, so
//! finding the broker takes about 0.1 s at best and 1.1 s at worst.

use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use mdns_sd::{IfKind, ResolvedService, ServiceDaemon, ServiceEvent, ServiceInfo};

use crate::net::protocol::v1::{DeviceId, MAX_NAME_CHARS, Role, StoreId};

/// The DNS-SD service type of an MQTT broker.
pub const BROKER_SERVICE_TYPE: &str = "_mqtt._tcp.local.";
/// A kitchen screen's service type.
pub const KITCHEN_SCREEN_SERVICE_TYPE: &str = "_pass-kds._tcp.local.";
/// An order terminal's service type.
pub const TERMINAL_SERVICE_TYPE: &str = "_pass-terminal._tcp.local.";
/// A console device's service type (the `pass` command line running as a device).
pub const CONSOLE_SERVICE_TYPE: &str = "_pass-console._tcp.local.";
/// The TXT format version written in `txtvers`.
pub const TXT_VERSION: &str = "1";
/// Longest station name advertised, in bytes (a TXT string holds 255 with its key).
pub const MAX_STATION_BYTES: usize = 64;
/// Longest DNS label (an instance or host name), in bytes.
const MAX_LABEL_BYTES: usize = 63;
/// How long [`Mdns::shutdown`] waits for the goodbye packets to go out.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);

/// Why discovery could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error(
        "`{0}` is not an mDNS setting: give off, loopback, lan or an interface name (at most 15 of a-z, A-Z, 0-9, . _ -)"
    )]
    BadScope(String),
    #[error("mDNS is off, so nothing can be advertised or found")]
    Off,
    #[error("mDNS: {0}")]
    Mdns(#[from] mdns_sd::Error),
    #[error("station `{0}`: 1 to 64 bytes of printable characters")]
    BadStation(String),
}

/// Which network interfaces mDNS uses: a setting, because multicast leaves the machine.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum MdnsScope {
    /// No mDNS at all: the device needs `--broker` (or a remembered or configured address).
    Off,
    /// Loopback only (tests, CI, the demo): nothing leaves the machine.
    #[default]
    Loopback,
    /// Every interface: a real store's LAN. Chosen explicitly, never by default.
    Lan,
    /// One named interface (a machine with several, or a network namespace's veth).
    Interface(String),
}

impl std::str::FromStr for MdnsScope {
    type Err = DiscoveryError;

    fn from_str(text: &str) -> Result<MdnsScope, DiscoveryError> {
        match text {
            "off" => Ok(MdnsScope::Off),
            "loopback" => Ok(MdnsScope::Loopback),
            "lan" => Ok(MdnsScope::Lan),
            name if valid_interface_name(name) => Ok(MdnsScope::Interface(name.to_owned())),
            other => Err(DiscoveryError::BadScope(other.to_owned())),
        }
    }
}

impl fmt::Display for MdnsScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MdnsScope::Off => f.write_str("off"),
            MdnsScope::Loopback => f.write_str("loopback"),
            MdnsScope::Lan => f.write_str("lan"),
            MdnsScope::Interface(name) => f.write_str(name),
        }
    }
}

/// A Linux interface name as `ip link` shows it: 1 to 15 characters (IFNAMSIZ less the NUL),
/// restricted here to letters, digits and `._-` so it can never be mistaken for an option.
fn valid_interface_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

impl MdnsScope {
    /// The address the embedded broker listens on under this setting: loopback when mDNS is
    /// loopback-only (nothing reachable from outside), every address otherwise (a store's LAN;
    /// the broker password guards it). Off means nobody can find it, so loopback.
    pub fn broker_listen_ip(&self) -> IpAddr {
        match self {
            MdnsScope::Off | MdnsScope::Loopback => IpAddr::V4(Ipv4Addr::LOCALHOST),
            MdnsScope::Lan | MdnsScope::Interface(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        }
    }
}

/// The MQTT protocol version a broker speaks, as its `mqtt` TXT entry says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MqttVersion {
    /// MQTT 3.1.1 (the embedded broker).
    V311,
    /// MQTT 5 (Mosquitto): a refused publish comes back with a reason code.
    V5,
}

impl MqttVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            MqttVersion::V311 => "3.1.1",
            MqttVersion::V5 => "5",
        }
    }
}

impl std::str::FromStr for MqttVersion {
    type Err = String;

    fn from_str(text: &str) -> Result<MqttVersion, String> {
        match text {
            "3.1.1" => Ok(MqttVersion::V311),
            "5" | "5.0" => Ok(MqttVersion::V5),
            other => Err(format!("`{other}` is not an MQTT version (3.1.1 or 5)")),
        }
    }
}

impl fmt::Display for MqttVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `<first>@<store>` cut to one DNS label (63 bytes): the TXT record carries the full store, so
/// a shortened name only has to be unique, and device and store ids are ASCII.
fn instance_name(first: &str, store: &StoreId) -> String {
    let mut name = format!("{first}@{store}");
    name.truncate(MAX_LABEL_BYTES);
    name
}

/// The host name an advertisement's address records use (one per process and role).
fn host_name(first: &str, store: &StoreId) -> String {
    let mut label = format!("{first}-{store}");
    label.truncate(MAX_LABEL_BYTES);
    format!("{label}.local.")
}

/// What a device says about itself on the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAd {
    pub store: StoreId,
    pub device: DeviceId,
    pub role: Role,
    /// The kitchen station a screen serves (grill, fry, expo).
    pub station: Option<String>,
    /// A name people recognise.
    pub name: String,
}

impl DeviceAd {
    /// Checks what comes from options or the device's configuration file.
    pub fn new(
        store: StoreId,
        device: DeviceId,
        role: Role,
        station: Option<String>,
        name: String,
    ) -> Result<DeviceAd, DiscoveryError> {
        if let Some(s) = &station
            && !valid_station(s)
        {
            return Err(DiscoveryError::BadStation(s.clone()));
        }
        let name: String = name.chars().take(MAX_NAME_CHARS).collect();
        Ok(DeviceAd {
            store,
            device,
            role,
            station,
            name,
        })
    }

    /// This role's service type.
    pub fn service_type(&self) -> &'static str {
        match self.role {
            Role::KitchenScreen => KITCHEN_SCREEN_SERVICE_TYPE,
            Role::OrderTerminal | Role::Unknown => TERMINAL_SERVICE_TYPE,
            Role::Console => CONSOLE_SERVICE_TYPE,
        }
    }

    /// The instance name: `<device>@<store>`.
    pub fn instance(&self) -> String {
        instance_name(self.device.as_str(), &self.store)
    }

    /// The TXT entries, in order.
    pub fn txt(&self) -> Vec<(&'static str, String)> {
        let role = match self.role {
            Role::KitchenScreen => "kitchen_screen",
            Role::OrderTerminal => "order_terminal",
            Role::Console => "console",
            Role::Unknown => "unknown",
        };
        let mut txt = vec![
            ("txtvers", TXT_VERSION.to_owned()),
            ("store", self.store.to_string()),
            ("device", self.device.to_string()),
            ("role", role.to_owned()),
        ];
        if let Some(station) = &self.station {
            txt.push(("station", station.clone()));
        }
        txt.push(("name", self.name.clone()));
        txt
    }
}

/// A station name fit for a TXT value: printable, no control characters, at most 64 bytes.
pub fn valid_station(station: &str) -> bool {
    !station.is_empty()
        && station.len() <= MAX_STATION_BYTES
        && station.chars().all(|c| !c.is_control())
}

/// Which broker an advertisement is: its host and when it was first started. The same broker
/// keeps its key across restarts of its process, and the lowest key wins the election.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BrokerKey {
    /// When the broker was first started, ms since the epoch.
    pub started_at_ms: u64,
    /// Who runs it (the hosting device's id).
    pub host: DeviceId,
}

impl fmt::Display for BrokerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.host, self.started_at_ms)
    }
}

/// A broker of a store, as advertised (or about to be).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerAd {
    pub store: StoreId,
    pub key: BrokerKey,
    pub mqtt: MqttVersion,
    pub port: u16,
    /// Where it can be reached, best first (IPv4, then routable IPv6, then link-local).
    pub addrs: Vec<IpAddr>,
}

impl BrokerAd {
    /// The instance name: `broker-<host>@<store>`.
    pub fn instance(&self) -> String {
        instance_name(&format!("broker-{}", self.key.host), &self.store)
    }

    /// The TXT entries, in order.
    pub fn txt(&self) -> Vec<(&'static str, String)> {
        vec![
            ("txtvers", TXT_VERSION.to_owned()),
            ("store", self.store.to_string()),
            ("host", self.key.host.to_string()),
            ("started", self.key.started_at_ms.to_string()),
            ("mqtt", self.mqtt.as_str().to_owned()),
        ]
    }

    /// Reads a resolved `_mqtt._tcp` advertisement. `Ok(None)`: a broker that is not a Pass
    /// store's (no `store` entry), which is none of our business. `Err`: a Pass advertisement
    /// that does not parse.
    pub fn from_resolved(info: &ResolvedService) -> Result<Option<BrokerAd>, String> {
        let txt = |key: &str| info.get_property_val_str(key);
        let Some(store) = txt("store") else {
            return Ok(None);
        };
        let store: StoreId = store.parse().map_err(|e| format!("store: {e}"))?;
        let host: DeviceId = txt("host")
            .ok_or("no `host` entry")?
            .parse()
            .map_err(|e| format!("host: {e}"))?;
        let started_at_ms: u64 = txt("started")
            .ok_or("no `started` entry")?
            .parse()
            .map_err(|_| "`started` is not a whole number of ms")?;
        // A broker that does not say is taken to speak 3.1.1, which every broker does.
        let mqtt = match txt("mqtt") {
            Some(v) => v.parse()?,
            None => MqttVersion::V311,
        };
        if info.get_port() == 0 {
            return Err("port 0".to_owned());
        }
        let addrs = preferred_order(info.get_addresses().iter().map(|a| a.to_ip_addr()));
        if addrs.is_empty() {
            return Err("no address".to_owned());
        }
        Ok(Some(BrokerAd {
            store,
            key: BrokerKey {
                started_at_ms,
                host,
            },
            mqtt,
            port: info.get_port(),
            addrs,
        }))
    }
}

/// Addresses, best first: IPv4 (loopback last among them unless it is all there is), then
/// routable IPv6, then link-local IPv6 (which needs a scope to connect). Duplicates dropped.
pub fn preferred_order(addrs: impl IntoIterator<Item = IpAddr>) -> Vec<IpAddr> {
    let rank = |a: &IpAddr| match a {
        IpAddr::V4(v4) if !v4.is_loopback() => 0,
        IpAddr::V4(_) => 1,
        IpAddr::V6(v6) if v6.is_loopback() => 2,
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) != 0xfe80 => 2,
        IpAddr::V6(_) => 3,
    };
    let unique: BTreeSet<(u8, IpAddr)> = addrs.into_iter().map(|a| (rank(&a), a)).collect();
    unique.into_iter().map(|(_, a)| a).collect()
}

/// The broker every device of a store uses when several are advertised: the lowest
/// [`BrokerKey`], i.e. the one started first (the host id breaks a tie).
pub fn elect<'a>(ads: impl IntoIterator<Item = &'a BrokerAd>) -> Option<&'a BrokerAd> {
    ads.into_iter().min_by(|a, b| a.key.cmp(&b.key))
}

/// What the broker browser reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerEvent {
    /// A broker of this store was advertised (again, or with new addresses).
    Up(BrokerAd),
    /// An advertisement was withdrawn (goodbye) or expired.
    Down { instance: String },
}

/// The mDNS responder and browser of one process, on the interfaces its [`MdnsScope`] allows.
/// Dropping it without [`Mdns::shutdown`] stops the daemon without goodbyes.
pub struct Mdns {
    daemon: ServiceDaemon,
    scope: MdnsScope,
}

impl Mdns {
    /// Starts the daemon and restricts it to `scope` before anything is advertised or browsed.
    pub fn start(scope: &MdnsScope) -> Result<Mdns, DiscoveryError> {
        let daemon = ServiceDaemon::new()?;
        match scope {
            MdnsScope::Off => return Err(DiscoveryError::Off),
            MdnsScope::Lan => {}
            MdnsScope::Loopback => {
                daemon.disable_interface(IfKind::All)?;
                daemon.enable_interface(IfKind::LoopbackV4)?;
            }
            MdnsScope::Interface(name) => {
                daemon.disable_interface(IfKind::All)?;
                daemon.enable_interface(IfKind::Name(name.clone()))?;
            }
        }
        Ok(Mdns {
            daemon,
            scope: scope.clone(),
        })
    }

    pub fn scope(&self) -> &MdnsScope {
        &self.scope
    }

    /// Builds a service record on this scope's interfaces: loopback gets 127.0.0.1, the others
    /// follow the interfaces' own addresses.
    fn service(
        &self,
        service_type: &str,
        instance: &str,
        host: &str,
        port: u16,
        txt: &[(&'static str, String)],
    ) -> Result<ServiceInfo, DiscoveryError> {
        let txt: Vec<(&str, &str)> = txt.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let info = match &self.scope {
            MdnsScope::Off => return Err(DiscoveryError::Off),
            MdnsScope::Loopback => {
                let mut info = ServiceInfo::new(
                    service_type,
                    instance,
                    host,
                    IpAddr::V4(Ipv4Addr::LOCALHOST),
                    port,
                    &txt[..],
                )?;
                info.set_interfaces(vec![IfKind::LoopbackV4]);
                info
            }
            MdnsScope::Lan => ServiceInfo::new(service_type, instance, host, (), port, &txt[..])?
                .enable_addr_auto(),
            MdnsScope::Interface(name) => {
                let mut info = ServiceInfo::new(service_type, instance, host, (), port, &txt[..])?
                    .enable_addr_auto();
                info.set_interfaces(vec![IfKind::Name(name.clone())]);
                info
            }
        };
        Ok(info)
    }

    /// Advertises this device (port 0: it serves nothing on the network).
    pub fn advertise_device(&self, ad: &DeviceAd) -> Result<(), DiscoveryError> {
        let info = self.service(
            ad.service_type(),
            &ad.instance(),
            &host_name(ad.device.as_str(), &ad.store),
            0,
            &ad.txt(),
        )?;
        self.daemon.register(info)?;
        Ok(())
    }

    /// Advertises a broker (`ad.addrs` is ignored: the scope decides the addresses).
    pub fn advertise_broker(&self, ad: &BrokerAd) -> Result<(), DiscoveryError> {
        let info = self.service(
            BROKER_SERVICE_TYPE,
            &ad.instance(),
            &host_name(&format!("broker-{}", ad.key.host), &ad.store),
            ad.port,
            &ad.txt(),
        )?;
        self.daemon.register(info)?;
        Ok(())
    }

    /// Starts browsing for `store`'s brokers.
    pub fn browse_brokers(&self, store: &StoreId) -> Result<BrokerBrowser, DiscoveryError> {
        Ok(BrokerBrowser {
            events: self.daemon.browse(BROKER_SERVICE_TYPE)?,
            store: store.clone(),
            refused: BTreeSet::new(),
        })
    }

    /// Asks mDNS to confirm an advertisement (RFC 6762 section 10.4): one whose host is gone
    /// gets no answer within `timeout`, is flushed, and comes back from the browser as
    /// [`BrokerEvent::Down`].
    pub fn verify(&self, instance: String, timeout: Duration) -> Result<(), DiscoveryError> {
        self.daemon.verify(instance, timeout)?;
        Ok(())
    }

    /// Withdraws every advertisement (goodbye packets, so browsers forget them at once rather
    /// than when they expire) and stops the daemon; waits a moment for it to confirm.
    pub fn shutdown(self) {
        match self.daemon.shutdown() {
            Ok(done) => {
                if done.recv_timeout(SHUTDOWN_WAIT).is_err() {
                    tracing::debug!("mDNS daemon did not confirm its shutdown");
                }
            }
            Err(e) => tracing::debug!(error = %e, "mDNS daemon already stopped"),
        }
    }
}

/// The brokers advertised for one store, as they come and go.
pub struct BrokerBrowser {
    events: mdns_sd::Receiver<ServiceEvent>,
    store: StoreId,
    /// Advertisements already logged as unreadable (each is logged once).
    refused: BTreeSet<String>,
}

impl BrokerBrowser {
    /// The next change for this store; `None` once the daemon has stopped. Other stores'
    /// brokers and brokers that are not Pass stores' are skipped; an unreadable advertisement
    /// is logged once and skipped.
    pub async fn next(&mut self) -> Option<BrokerEvent> {
        loop {
            let event = self.events.recv_async().await.ok()?;
            match event {
                ServiceEvent::ServiceResolved(info) => match BrokerAd::from_resolved(&info) {
                    Ok(Some(ad)) if ad.store == self.store => {
                        return Some(BrokerEvent::Up(ad));
                    }
                    Ok(_) => {}
                    Err(reason) => {
                        if self.refused.insert(info.get_fullname().to_owned()) {
                            tracing::warn!(advertisement = info.get_fullname(), %reason, "ignoring a broker advertisement that does not parse");
                        }
                    }
                },
                ServiceEvent::ServiceRemoved(_, fullname) => {
                    return Some(BrokerEvent::Down { instance: fullname });
                }
                ServiceEvent::SearchStopped(_) => return None,
                _ => {}
            }
        }
    }
}

/// The full DNS-SD name of a broker advertisement, as [`BrokerEvent::Down`] reports it.
pub fn broker_fullname(ad: &BrokerAd) -> String {
    format!("{}.{BROKER_SERVICE_TYPE}", ad.instance())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(s: &str) -> StoreId {
        s.parse().expect("store id")
    }

    fn dev(s: &str) -> DeviceId {
        s.parse().expect("device id")
    }

    fn ad(host: &str, started_at_ms: u64, port: u16) -> BrokerAd {
        BrokerAd {
            store: store("corner-bistro"),
            key: BrokerKey {
                started_at_ms,
                host: dev(host),
            },
            mqtt: MqttVersion::V311,
            port,
            addrs: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
        }
    }

    #[test]
    fn the_mdns_setting_is_off_loopback_lan_or_an_interface_name() {
        for (text, scope) in [
            ("off", MdnsScope::Off),
            ("loopback", MdnsScope::Loopback),
            ("lan", MdnsScope::Lan),
            ("eth0", MdnsScope::Interface("eth0".into())),
            ("veth-pass.1", MdnsScope::Interface("veth-pass.1".into())),
        ] {
            assert_eq!(text.parse::<MdnsScope>().expect(text), scope);
            assert_eq!(scope.to_string(), text);
        }
        for bad in [
            "",
            "-lan",
            "a-very-long-interface",
            "eth 0",
            "eth0;rm",
            "wlan/1",
        ] {
            assert!(bad.parse::<MdnsScope>().is_err(), "{bad:?}");
        }
        assert_eq!(
            MdnsScope::default(),
            MdnsScope::Loopback,
            "never the LAN by default"
        );
        assert_eq!(
            MdnsScope::Loopback.broker_listen_ip(),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(
            MdnsScope::Lan.broker_listen_ip(),
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        );
    }

    #[test]
    fn the_oldest_broker_wins_and_the_host_id_breaks_a_tie() {
        let a = ad("grill", 2_000, 1883);
        let b = ad("expo", 1_000, 1884);
        let c = ad("fry", 1_000, 1885);
        assert_eq!(
            elect([&a, &b, &c]),
            Some(&b),
            "started first, then expo < fry"
        );
        assert_eq!(elect([&c, &a, &b]), Some(&b), "any order gives the same");
        assert_eq!(elect([&a]), Some(&a));
        assert_eq!(elect(std::iter::empty()), None);
    }

    #[test]
    fn advertisements_carry_the_store_and_what_the_election_needs() {
        let broker = ad("grill", 1_767_225_600_000, 1883);
        assert_eq!(broker.instance(), "broker-grill@corner-bistro");
        assert_eq!(
            broker.txt(),
            vec![
                ("txtvers", "1".to_owned()),
                ("store", "corner-bistro".to_owned()),
                ("host", "grill".to_owned()),
                ("started", "1767225600000".to_owned()),
                ("mqtt", "3.1.1".to_owned()),
            ]
        );
        let screen = DeviceAd::new(
            store("corner-bistro"),
            dev("grill"),
            Role::KitchenScreen,
            Some("grill".into()),
            "Grill screen".into(),
        )
        .expect("valid");
        assert_eq!(screen.service_type(), KITCHEN_SCREEN_SERVICE_TYPE);
        assert_eq!(screen.instance(), "grill@corner-bistro");
        assert_eq!(
            screen.txt(),
            vec![
                ("txtvers", "1".to_owned()),
                ("store", "corner-bistro".to_owned()),
                ("device", "grill".to_owned()),
                ("role", "kitchen_screen".to_owned()),
                ("station", "grill".to_owned()),
                ("name", "Grill screen".to_owned()),
            ]
        );
        let terminal = DeviceAd::new(
            store("corner-bistro"),
            dev("bar"),
            Role::OrderTerminal,
            None,
            "bar".into(),
        )
        .expect("valid");
        assert_eq!(terminal.service_type(), TERMINAL_SERVICE_TYPE);
        assert!(terminal.txt().iter().all(|(k, _)| *k != "station"));
        for bad in ["", "grill\n", &"x".repeat(65)] {
            assert!(
                DeviceAd::new(
                    store("s"),
                    dev("d"),
                    Role::KitchenScreen,
                    Some(bad.to_owned()),
                    "d".into()
                )
                .is_err(),
                "{bad:?}"
            );
        }
        // The longest ids still make one DNS label.
        let long = "a".repeat(32);
        let long_ad = BrokerAd {
            store: store(&long),
            key: BrokerKey {
                started_at_ms: 1,
                host: dev(&long),
            },
            ..broker
        };
        assert_eq!(long_ad.instance().len(), 63);
        assert!(host_name(&long, &store(&long)).len() <= 63 + ".local.".len());
    }

    #[test]
    fn addresses_are_tried_ipv4_first_link_local_last() {
        let addrs: Vec<IpAddr> = [
            "fe80::1",
            "fd00::2",
            "127.0.0.1",
            "192.168.1.20",
            "192.168.1.20",
        ]
        .iter()
        .map(|a| a.parse().expect("ip"))
        .collect();
        let ordered: Vec<String> = preferred_order(addrs)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(ordered, ["192.168.1.20", "127.0.0.1", "fd00::2", "fe80::1"]);
    }

    #[test]
    fn mqtt_versions_read_as_the_txt_writes_them() {
        assert_eq!("3.1.1".parse(), Ok(MqttVersion::V311));
        assert_eq!("5".parse(), Ok(MqttVersion::V5));
        assert!("4".parse::<MqttVersion>().is_err());
        assert_eq!(MqttVersion::V311.to_string(), "3.1.1");
    }
}
