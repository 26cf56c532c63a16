//! The embedded broker: rumqttd inside `pass broker`, for a store that runs nothing but Pass
//! devices. A device that may host it (kitchen screens by default) runs it as a supervised child
//! process when no broker for its store answers; a person may also run `pass broker` by hand on
//! any machine of the store. It advertises itself by mDNS (`_mqtt._tcp`, see
//! [`super::discovery`]) with the store, its host and when it was first started.
//!
//! # What it is, and what it is not
//!
//! - **A relay, nothing kept**: rumqttd keeps messages in memory only; a restart loses retained
//!   `have`s and in-flight messages, which replication repairs (every device re-announces its
//!   heads every few seconds and pulls what it misses).
//! - **MQTT 3.1.1 only** ([`EMBEDDED_MQTT`]): rumqttd's MQTT 5 support is partial, so it listens
//!   for 3.1.1 and advertises `mqtt=3.1.1`; devices use their 3.1.1 client with it. A publish it
//!   refuses is not reported back (3.1.1 has no reason codes) — delivery is confirmed by peers'
//!   `have`s anyway, never by the broker's acknowledgement.
//! - **One user and password per store**, no per-topic ACL: any device holding the store's
//!   password may publish on any topic. Event signatures make up for it: nobody can write an
//!   event in another device's name, whatever the broker lets through. A store that wants
//!   per-device credentials and ACLs runs Mosquitto with `broker-config/`.
//! - **Plain TCP**: it listens on loopback when mDNS is loopback-only (tests, CI, the demo) and
//!   on every address on a store's LAN; no TLS.
//!
//! # Limits, chosen on purpose
//!
//! | limit | value | why |
//! |---|---|---|
//! | connections | [`MAX_CONNECTIONS`] = 64 | a store has a few dozen devices at most, plus tools and integrations; more is a fault or an attack |
//! | packet size | 512 KiB ([`MAX_PACKET_BYTES`]) | the devices' own maximum: the largest envelope travels alone in one message |
//! | in-flight QoS 1 per connection | [`MAX_INFLIGHT`] = 100 | a device publishes a batch per commit group; more in flight is a device far behind, which pulls anyway |
//! | time to send CONNECT | [`CONNECT_TIMEOUT_MS`] = 5 s | a connection that says nothing is dropped before it holds a slot for long |
//! | memory per subscription filter | [`SEGMENT_COUNT`] × [`SEGMENT_BYTES`] = 4 × 256 KiB (plus at most one packet per segment) | rumqttd keeps a log per filter; a subscriber further behind skips ahead and its device pulls what it missed. Devices share 5 filters and each has its own `sync/<device>/+`, so a store of 30 devices stays under about 35 × 3 MiB in the worst case and a few MiB in practice |
//! | packets sent to one connection per router pass | [`MAX_OUTGOING_PACKETS`] = 200 | fairness between connections |

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::discovery::{BrokerAd, Mdns, MdnsScope, MqttVersion};
use super::protocol::v1::MAX_PACKET_BYTES;

/// The MQTT version the embedded broker speaks and advertises.
pub const EMBEDDED_MQTT: MqttVersion = MqttVersion::V311;
/// Most connections at once.
pub const MAX_CONNECTIONS: usize = 64;
/// Most unacknowledged QoS 1 messages per connection, each way.
pub const MAX_INFLIGHT: usize = 100;
/// How long a new connection may take to send its CONNECT.
pub const CONNECT_TIMEOUT_MS: u16 = 5_000;
/// Size at which a filter's in-memory log starts a new segment.
pub const SEGMENT_BYTES: usize = 256 * 1024;
/// Segments kept per filter; the oldest is dropped beyond this.
pub const SEGMENT_COUNT: usize = 4;
/// Packets the router hands one connection per pass.
pub const MAX_OUTGOING_PACKETS: u64 = 200;

/// Why the embedded broker could not run.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the broker stopped: {0}")]
    Broker(String),
    #[error("broker user name: 1 to 64 printable characters without spaces")]
    BadUser,
    #[error("broker password: 16 to 256 printable characters without spaces")]
    BadPassword,
    #[error("the broker did not accept connections on {0} within 10 s")]
    NotListening(SocketAddr),
    #[error("advertising the broker: {0}")]
    Advertise(#[from] super::discovery::DiscoveryError),
}

/// The one store user and password the embedded broker accepts.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreLogin {
    user: String,
    password: String,
}

impl std::fmt::Debug for StoreLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password never reaches a log.
        f.debug_struct("StoreLogin")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl StoreLogin {
    /// Checks a user name and password: printable ASCII without spaces; the password at least
    /// 16 characters (generated ones are 32 hex digits).
    pub fn new(user: String, password: String) -> Result<StoreLogin, BrokerError> {
        let printable = |s: &str| s.chars().all(|c| c.is_ascii_graphic());
        if user.is_empty() || user.len() > 64 || !printable(&user) {
            return Err(BrokerError::BadUser);
        }
        if password.len() < 16 || password.len() > 256 || !printable(&password) {
            return Err(BrokerError::BadPassword);
        }
        Ok(StoreLogin { user, password })
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn password(&self) -> &str {
        &self.password
    }
}

/// rumqttd's configuration for the embedded broker listening on `listen` (see the limits in
/// the module documentation).
pub fn rumqttd_config(listen: SocketAddr, login: &StoreLogin) -> rumqttd::Config {
    let connections = rumqttd::ConnectionSettings {
        connection_timeout_ms: CONNECT_TIMEOUT_MS,
        max_payload_size: MAX_PACKET_BYTES,
        max_inflight_count: MAX_INFLIGHT,
        auth: Some(HashMap::from([(
            login.user.clone(),
            login.password.clone(),
        )])),
        external_auth: None,
        dynamic_filters: true,
    };
    let server = rumqttd::ServerSettings {
        name: "pass-store".to_owned(),
        listen,
        tls: None,
        next_connection_delay_ms: 1,
        connections,
    };
    rumqttd::Config {
        id: 0,
        router: rumqttd::RouterConfig {
            max_connections: MAX_CONNECTIONS,
            max_outgoing_packet_count: MAX_OUTGOING_PACKETS,
            max_segment_size: SEGMENT_BYTES,
            max_segment_count: SEGMENT_COUNT,
            ..Default::default()
        },
        v4: Some(HashMap::from([("1".to_owned(), server)])),
        ..Default::default()
    }
}

/// How `pass broker` runs: where, for whom, advertised how.
#[derive(Debug)]
pub struct ServeSettings {
    pub listen: SocketAddr,
    pub login: StoreLogin,
    /// Where to advertise it (`Off`: not at all).
    pub mdns: MdnsScope,
    /// What to advertise (its port is the listening port).
    pub ad: BrokerAd,
    /// Exit when standard input closes: how a supervising device makes sure the broker never
    /// outlives it.
    pub exit_with_stdin: bool,
}

/// How long a starting broker gets to accept connections.
const LISTEN_WITHIN: Duration = Duration::from_secs(10);

/// Runs the embedded broker and advertises it once it accepts connections, until it fails,
/// standard input closes (with `exit_with_stdin`), or the process gets SIGTERM or Ctrl-C; on
/// the way out the advertisement is withdrawn (goodbye packets), so devices move on at once.
pub fn serve(settings: ServeSettings) -> Result<(), BrokerError> {
    let (done, finished) = std::sync::mpsc::channel::<Result<(), BrokerError>>();
    let listen = settings.listen;
    let login = settings.login.clone();
    let broker_done = done.clone();
    std::thread::Builder::new()
        .name("pass-broker".to_owned())
        .spawn(move || {
            let _ = broker_done.send(run(listen, &login));
        })
        .map_err(|e| BrokerError::Broker(e.to_string()))?;
    // Loopback reaches a broker listening on every address.
    let probe = SocketAddr::new(
        match listen.ip() {
            IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        },
        listen.port(),
    );
    let deadline = Instant::now() + LISTEN_WITHIN;
    while TcpStream::connect_timeout(&probe, Duration::from_millis(200)).is_err() {
        if let Ok(outcome) = finished.try_recv() {
            return outcome;
        }
        if Instant::now() >= deadline {
            return Err(BrokerError::NotListening(listen));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mdns = match settings.mdns {
        MdnsScope::Off => None,
        ref scope => {
            let mdns = Mdns::start(scope)?;
            mdns.advertise_broker(&settings.ad)?;
            Some(mdns)
        }
    };
    tracing::info!(%listen, broker = %settings.ad.key, store = %settings.ad.store, mdns = %settings.mdns, "embedded broker running");
    if settings.exit_with_stdin {
        let stdin_done = done.clone();
        std::thread::Builder::new()
            .name("pass-broker-stdin".to_owned())
            .spawn(move || {
                // Whatever is written is ignored; the end of the stream is the signal.
                let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
                tracing::info!("standard input closed: stopping");
                let _ = stdin_done.send(Ok(()));
            })
            .map_err(|e| BrokerError::Broker(e.to_string()))?;
    }
    std::thread::Builder::new()
        .name("pass-broker-signals".to_owned())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            let Ok(runtime) = runtime else {
                return;
            };
            runtime.block_on(async {
                let Ok(mut term) =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                else {
                    return;
                };
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
                tracing::info!("stopping on signal");
                let _ = done.send(Ok(()));
            });
        })
        .map_err(|e| BrokerError::Broker(e.to_string()))?;
    let outcome = finished
        .recv()
        .unwrap_or_else(|_| Err(BrokerError::Broker("stopped".to_owned())));
    if let Some(mdns) = mdns {
        mdns.shutdown();
    }
    outcome
}

/// Runs the embedded broker on `listen` until the process ends. Fails at once if the address
/// cannot be bound (rumqttd itself would only log it and keep running with no listener).
pub fn run(listen: SocketAddr, login: &StoreLogin) -> Result<(), BrokerError> {
    // Bind once to find out now whether the address is free; rumqttd binds it again at once.
    drop(
        std::net::TcpListener::bind(listen).map_err(|source| BrokerError::Listen {
            addr: listen,
            source,
        })?,
    );
    let mut broker = rumqttd::Broker::new(rumqttd_config(listen, login));
    broker
        .start()
        .map_err(|e| BrokerError::Broker(e.to_string()))?;
    Err(BrokerError::Broker(
        "every listener stopped (see the log)".to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_login_is_checked_and_its_password_never_printed() {
        let login = StoreLogin::new("pass".into(), "0123456789abcdef0123".into()).expect("ok");
        assert!(!format!("{login:?}").contains("0123456789"));
        assert!(StoreLogin::new(String::new(), "0123456789abcdef".into()).is_err());
        assert!(StoreLogin::new("a b".into(), "0123456789abcdef".into()).is_err());
        assert!(StoreLogin::new("pass".into(), "short".into()).is_err());
        assert!(StoreLogin::new("pass".into(), "0123456789abcde f".into()).is_err());
    }

    #[test]
    fn the_broker_is_configured_with_the_documented_limits_and_one_listener() {
        let login = StoreLogin::new("pass".into(), "0123456789abcdef".into()).expect("ok");
        let addr: SocketAddr = "127.0.0.1:18830".parse().expect("addr");
        let config = rumqttd_config(addr, &login);
        assert!(config.v5.is_none() && config.ws.is_none() && config.bridge.is_none());
        assert!(config.console.is_none() && config.prometheus.is_none());
        let servers = config.v4.expect("a 3.1.1 listener");
        assert_eq!(servers.len(), 1);
        let server = servers.values().next().expect("one");
        assert_eq!(server.listen, addr);
        assert_eq!(server.connections.max_payload_size, 512 * 1024);
        assert_eq!(
            server.connections.auth,
            Some(HashMap::from([("pass".into(), "0123456789abcdef".into())]))
        );
        assert_eq!(config.router.max_connections, 64);
    }
}
