//! Which broker an unconfigured device connects to, and when a device that may host the
//! embedded broker starts its own: plain logic over state, time passed in, no network, so every
//! rule is tested without a socket (the device's discovery task carries out the decisions).
//!
//! The rules, in order:
//!
//! 1. **Advertised brokers win**, chosen by the election rule ([`elect`]): the oldest broker of
//!    the store, the host id breaking a tie. Every device applies it to the same advertisements,
//!    so all of them settle on the same broker.
//! 2. **The last address that worked** is tried first at start-up (before any advertisement has
//!    been heard: mDNS takes about a second), and whenever no advertised broker is left.
//! 3. **A broker that does not answer** (no connection within [`Timing::fail_after_ms`]) is set
//!    aside, so a stale advertisement (a host that lost power keeps its records in caches for
//!    minutes) cannot hold the store. A set-aside broker is probed (a TCP connection, nothing
//!    more) every [`Timing::probe_every_ms`] and taken back as soon as it answers or is
//!    advertised again, so a broker that was only restarting gets everybody back, and a device
//!    connected elsewhere never leaves a working broker for one that has not proved itself.
//! 4. **Hosting**: a device that may host (kitchen screens by default) and has been without a
//!    broker for its host wait (a few seconds, jittered per device so two screens started
//!    together rarely both start one) starts the embedded broker. Its own broker counts as a
//!    candidate as soon as it is up, under the same rule, so when two were started, the younger
//!    one's host moves to the older one and, once connected there, stops its own.

use std::collections::BTreeMap;
use std::fmt;

use super::broker::EMBEDDED_MQTT;
use super::discovery::{BrokerAd, BrokerKey, MqttVersion, broker_fullname};

/// Where a broker listens, and what it speaks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub mqtt: MqttVersion,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "mqtt://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "mqtt://{}:{}", self.host, self.port)
        }
    }
}

/// How a device came to a broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `--broker`, or the `broker` entry of the device's configuration file: no discovery.
    Configured,
    /// The last address that worked, remembered beside the database.
    Remembered,
    /// Found by mDNS.
    Advertised(BrokerKey),
    /// The embedded broker this device hosts.
    Hosted(BrokerKey),
}

impl Source {
    pub fn as_str(&self) -> &'static str {
        match self {
            Source::Configured => "configured",
            Source::Remembered => "remembered",
            Source::Advertised(_) => "advertised",
            Source::Hosted(_) => "hosted",
        }
    }

    fn key(&self) -> Option<&BrokerKey> {
        match self {
            Source::Advertised(k) | Source::Hosted(k) => Some(k),
            Source::Configured | Source::Remembered => None,
        }
    }
}

/// The broker a device points its MQTT connection at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub endpoint: Endpoint,
    pub source: Source,
}

impl Target {
    /// Whether two targets are the same broker: the same advertised broker (whatever address
    /// it was reached by), or the same address.
    fn same_broker(&self, other: &Target) -> bool {
        match (self.source.key(), other.source.key()) {
            (Some(a), Some(b)) => a == b,
            _ => self.endpoint == other.endpoint,
        }
    }
}

/// The embedded broker this device hosts, as its supervisor reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnBroker {
    pub key: BrokerKey,
    pub port: u16,
    /// Whether its process is up and listening now (it is being restarted otherwise).
    pub up: bool,
}

/// What the finder asks of the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Point the MQTT connection at this broker (instead of the current one).
    Connect(Target),
    /// Start hosting the embedded broker.
    Host,
    /// Stop the embedded broker: this device is connected to the broker that won.
    StopHosting,
    /// Remember this address beside the database: it worked.
    Remember(Endpoint),
    /// Try a TCP connection to this set-aside broker and report with [`Finder::on_probe`].
    Probe { key: BrokerKey, endpoint: Endpoint },
    /// Ask mDNS to confirm this advertisement (a host that is gone stops answering and its
    /// records are flushed).
    Verify { instance: String },
}

/// The finder's timings, in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// A broker that gives no connection for this long is set aside.
    pub fail_after_ms: u64,
    /// A set-aside broker is probed this often.
    pub probe_every_ms: u64,
    /// How long a device that may host waits without a broker before starting its own (drawn
    /// per device: a base plus jitter, see [`Timing::host_wait_ms`]).
    pub host_wait_ms: u64,
}

impl Timing {
    /// The least a device waits without a broker before hosting one: long enough for mDNS to
    /// find a broker that is there (about a second) and for a connection attempt to fail.
    pub const HOST_WAIT_BASE_MS: u64 = 3_000;
    /// The jitter on top, drawn per device.
    pub const HOST_WAIT_JITTER_MS: u64 = 2_000;

    /// The host wait for a random draw `r` (any u64): base plus `r` modulo the jitter.
    pub fn host_wait_ms(r: u64) -> u64 {
        Self::HOST_WAIT_BASE_MS + r % Self::HOST_WAIT_JITTER_MS
    }

    /// The timings with a host wait drawn from `r`.
    pub fn with_draw(r: u64) -> Timing {
        Timing {
            fail_after_ms: 3_000,
            probe_every_ms: 5_000,
            host_wait_ms: Timing::host_wait_ms(r),
        }
    }
}

#[derive(Debug, Clone)]
struct Advertised {
    ad: BrokerAd,
    /// Set aside (it did not answer); `Some(when it is next probed)`.
    next_probe_ms: Option<u64>,
}

impl Advertised {
    fn endpoint(&self) -> Option<Endpoint> {
        self.ad.addrs.first().map(|ip| Endpoint {
            host: ip.to_string(),
            port: self.ad.port,
            mqtt: self.ad.mqtt,
        })
    }
}

/// The decision state of one device (see the module documentation).
#[derive(Debug)]
pub struct Finder {
    may_host: bool,
    timing: Timing,
    remembered: Option<Endpoint>,
    remembered_failed: bool,
    /// Advertised brokers of the store, by full DNS-SD name.
    ads: BTreeMap<String, Advertised>,
    own: Option<OwnBroker>,
    /// Since when this device's own broker has been down (being restarted).
    own_down_since_ms: Option<u64>,
    host_requested: bool,
    target: Option<Target>,
    /// Since when the current target has been tried without a connection.
    trying_since_ms: u64,
    connected: bool,
    /// Since when this device has had no broker (`None` while connected).
    unconnected_since_ms: Option<u64>,
}

impl Finder {
    /// A device without a broker yet, at `now_ms`; `remembered` is the last address that
    /// worked. Call [`Finder::tick`] at once for the first decisions.
    pub fn new(
        may_host: bool,
        timing: Timing,
        remembered: Option<Endpoint>,
        now_ms: u64,
    ) -> Finder {
        Finder {
            may_host,
            timing,
            remembered,
            remembered_failed: false,
            ads: BTreeMap::new(),
            own: None,
            own_down_since_ms: None,
            host_requested: false,
            target: None,
            trying_since_ms: now_ms,
            connected: false,
            unconnected_since_ms: Some(now_ms),
        }
    }

    /// The broker the connection points at now.
    pub fn target(&self) -> Option<&Target> {
        self.target.as_ref()
    }

    pub fn timing(&self) -> Timing {
        self.timing
    }

    /// The advertised brokers of the store now, best first, and whether each is set aside.
    pub fn advertised(&self) -> Vec<(BrokerAd, bool)> {
        let mut all: Vec<(BrokerAd, bool)> = self
            .ads
            .values()
            .map(|a| (a.ad.clone(), a.next_probe_ms.is_some()))
            .collect();
        all.sort_by(|a, b| a.0.key.cmp(&b.0.key));
        all
    }

    /// A broker of the store was advertised (again). Being advertised again is news that it is
    /// alive: a set-aside broker is taken back.
    pub fn on_ad_up(&mut self, ad: BrokerAd, now_ms: u64) -> Vec<Decision> {
        let name = broker_fullname(&ad);
        self.ads.insert(
            name,
            Advertised {
                ad,
                next_probe_ms: None,
            },
        );
        self.decide(now_ms)
    }

    /// An advertisement was withdrawn or expired.
    pub fn on_ad_down(&mut self, instance: &str, now_ms: u64) -> Vec<Decision> {
        self.ads
            .retain(|name, _| !name.eq_ignore_ascii_case(instance));
        self.decide(now_ms)
    }

    /// The supervisor's news about this device's own broker (`None`: not hosting).
    pub fn on_hosting(&mut self, own: Option<OwnBroker>, now_ms: u64) -> Vec<Decision> {
        if own.is_none() {
            self.host_requested = false;
        }
        self.own_down_since_ms = match &own {
            Some(o) if !o.up => self.own_down_since_ms.or(Some(now_ms)),
            _ => None,
        };
        self.own = own;
        self.decide(now_ms)
    }

    /// The connection to the current target is up.
    pub fn on_connected(&mut self, now_ms: u64) -> Vec<Decision> {
        self.connected = true;
        self.unconnected_since_ms = None;
        let mut out = Vec::new();
        if let Some(target) = &self.target {
            if let Some(key) = target.source.key() {
                for a in self.ads.values_mut().filter(|a| &a.ad.key == key) {
                    a.next_probe_ms = None;
                }
            }
            if self.remembered.as_ref() != Some(&target.endpoint) {
                self.remembered = Some(target.endpoint.clone());
                out.push(Decision::Remember(target.endpoint.clone()));
            }
            self.remembered_failed = false;
        }
        out.extend(self.decide(now_ms));
        out
    }

    /// The connection is down (the broker went away, or refused it).
    pub fn on_disconnected(&mut self, now_ms: u64) -> Vec<Decision> {
        if self.connected {
            self.connected = false;
            self.unconnected_since_ms = Some(now_ms);
            self.trying_since_ms = now_ms;
        }
        self.decide(now_ms)
    }

    /// What a probe of a set-aside broker found.
    pub fn on_probe(&mut self, key: &BrokerKey, answered: bool, now_ms: u64) -> Vec<Decision> {
        for a in self.ads.values_mut().filter(|a| &a.ad.key == key) {
            a.next_probe_ms = if answered {
                None
            } else {
                Some(now_ms + self.timing.probe_every_ms)
            };
        }
        self.decide(now_ms)
    }

    /// Time passes.
    pub fn tick(&mut self, now_ms: u64) -> Vec<Decision> {
        self.decide(now_ms)
    }

    fn own_key(&self) -> Option<&BrokerKey> {
        self.own.as_ref().map(|o| &o.key)
    }

    /// The brokers that may be chosen now: advertised ones not set aside, and this device's
    /// own (reached on loopback, whatever it advertises) while it is up or has been down for
    /// less than the failure wait: its supervisor is starting it again, and moving elsewhere
    /// meanwhile would only move everybody twice.
    fn candidates(&self, now_ms: u64) -> Vec<(BrokerKey, Target)> {
        let mut out: Vec<(BrokerKey, Target)> = Vec::new();
        let own_usable = |o: &&OwnBroker| {
            o.up || self
                .own_down_since_ms
                .is_some_and(|since| now_ms.saturating_sub(since) < self.timing.fail_after_ms)
        };
        if let Some(own) = self.own.as_ref().filter(own_usable) {
            out.push((
                own.key.clone(),
                Target {
                    endpoint: Endpoint {
                        host: "127.0.0.1".to_owned(),
                        port: own.port,
                        mqtt: EMBEDDED_MQTT,
                    },
                    source: Source::Hosted(own.key.clone()),
                },
            ));
        }
        for a in self.ads.values() {
            if a.next_probe_ms.is_some() || Some(&a.ad.key) == self.own_key() {
                continue;
            }
            if let Some(endpoint) = a.endpoint() {
                out.push((
                    a.ad.key.clone(),
                    Target {
                        endpoint,
                        source: Source::Advertised(a.ad.key.clone()),
                    },
                ));
            }
        }
        out
    }

    fn decide(&mut self, now_ms: u64) -> Vec<Decision> {
        let mut out = Vec::new();

        // A target that has not given a connection in time is set aside.
        if !self.connected
            && let Some(target) = &self.target
            && now_ms.saturating_sub(self.trying_since_ms) >= self.timing.fail_after_ms
        {
            match &target.source {
                Source::Advertised(key) => {
                    for (name, a) in self.ads.iter_mut().filter(|(_, a)| &a.ad.key == key) {
                        if a.next_probe_ms.is_none() {
                            a.next_probe_ms = Some(now_ms + self.timing.probe_every_ms);
                            out.push(Decision::Verify {
                                instance: name.clone(),
                            });
                        }
                    }
                }
                Source::Remembered => self.remembered_failed = true,
                // The supervisor restarts its own broker; a configured one is all there is.
                Source::Hosted(_) | Source::Configured => {}
            }
            self.trying_since_ms = now_ms;
        }

        // Probes of set-aside brokers that are due.
        for a in self.ads.values_mut() {
            if let Some(due) = a.next_probe_ms
                && due <= now_ms
            {
                a.next_probe_ms = Some(now_ms + self.timing.probe_every_ms);
                if let Some(endpoint) = a.endpoint() {
                    out.push(Decision::Probe {
                        key: a.ad.key.clone(),
                        endpoint,
                    });
                }
            }
        }

        // The broker to use: the election's winner, else the remembered address.
        let candidates = self.candidates(now_ms);
        let winner = candidates
            .iter()
            .min_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, t)| t.clone());
        let desired = winner.or_else(|| {
            self.remembered
                .as_ref()
                .filter(|_| !self.remembered_failed)
                .map(|endpoint| Target {
                    endpoint: endpoint.clone(),
                    source: Source::Remembered,
                })
        });
        if let Some(desired) = desired {
            let same = self
                .target
                .as_ref()
                .is_some_and(|t| t.same_broker(&desired));
            if !same {
                tracing::info!(broker = %desired.endpoint, source = desired.source.as_str(), "choosing a broker");
                self.target = Some(desired.clone());
                self.trying_since_ms = now_ms;
                if self.connected {
                    self.connected = false;
                    self.unconnected_since_ms = Some(now_ms);
                }
                out.push(Decision::Connect(desired));
            } else if let Some(t) = &mut self.target {
                // The same broker, perhaps newly seen by mDNS: keep the connection as it is.
                if matches!(t.source, Source::Remembered) {
                    t.source = desired.source;
                }
            }
        }

        // Host the embedded broker after the wait, unless a broker is being tried.
        let waited = self
            .unconnected_since_ms
            .is_some_and(|since| now_ms.saturating_sub(since) >= self.timing.host_wait_ms);
        let untried_ad = self.ads.values().any(|a| a.next_probe_ms.is_none())
            && !matches!(
                self.target.as_ref().map(|t| &t.source),
                Some(Source::Remembered) | None
            )
            && now_ms.saturating_sub(self.trying_since_ms) < self.timing.fail_after_ms;
        if self.may_host && self.own.is_none() && !self.host_requested && waited && !untried_ad {
            self.host_requested = true;
            out.push(Decision::Host);
        }

        // Connected to a broker that beats this device's own: stop ours.
        if self.connected
            && let (Some(own), Some(Source::Advertised(key))) =
                (&self.own, self.target.as_ref().map(|t| &t.source))
            && key < &own.key
        {
            let stopped = own.key.clone();
            self.own = None;
            self.host_requested = false;
            self.ads.retain(|_, a| a.ad.key != stopped);
            out.push(Decision::StopHosting);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::net::discovery::BrokerAd;
    use crate::net::protocol::v1::DeviceId;

    fn dev(s: &str) -> DeviceId {
        s.parse().expect("device id")
    }

    fn key(host: &str, started: u64) -> BrokerKey {
        BrokerKey {
            started_at_ms: started,
            host: dev(host),
        }
    }

    fn ad(host: &str, started: u64, port: u16) -> BrokerAd {
        BrokerAd {
            store: "bistro".parse().expect("store"),
            key: key(host, started),
            mqtt: MqttVersion::V311,
            port,
            addrs: vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))],
        }
    }

    fn endpoint(port: u16) -> Endpoint {
        Endpoint {
            host: "10.0.0.1".into(),
            port,
            mqtt: MqttVersion::V311,
        }
    }

    const TIMING: Timing = Timing {
        fail_after_ms: 3_000,
        probe_every_ms: 5_000,
        host_wait_ms: 4_000,
    };

    fn connects(out: &[Decision]) -> Vec<u16> {
        out.iter()
            .filter_map(|d| match d {
                Decision::Connect(t) => Some(t.endpoint.port),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_remembered_address_is_tried_first_then_the_advertised_winner_takes_over() {
        let mut f = Finder::new(false, TIMING, Some(endpoint(1000)), 0);
        let out = f.tick(0);
        assert_eq!(connects(&out), [1000], "{out:?}");
        assert_eq!(f.target().map(|t| &t.source), Some(&Source::Remembered));
        // Two brokers advertised: the older one wins, whatever the order they are heard in.
        let out = f.on_ad_up(ad("grill", 200, 2000), 500);
        assert_eq!(connects(&out), [2000]);
        let out = f.on_ad_up(ad("expo", 100, 3000), 600);
        assert_eq!(connects(&out), [3000]);
        let out = f.on_connected(700);
        assert_eq!(out, [Decision::Remember(endpoint(3000))]);
        // Heard again, nothing changes.
        assert!(f.on_ad_up(ad("expo", 100, 3000), 800).is_empty());
        assert!(f.tick(10_000).is_empty(), "connected: nothing to do");
    }

    #[test]
    fn a_remembered_address_that_is_the_advertised_broker_keeps_its_connection() {
        let mut f = Finder::new(false, TIMING, Some(endpoint(2000)), 0);
        assert_eq!(connects(&f.tick(0)), [2000]);
        f.on_connected(100);
        let out = f.on_ad_up(ad("grill", 1, 2000), 900);
        assert!(connects(&out).is_empty(), "same broker: {out:?}");
        assert_eq!(
            f.target().map(|t| &t.source),
            Some(&Source::Advertised(key("grill", 1)))
        );
    }

    #[test]
    fn a_broker_that_does_not_answer_is_set_aside_probed_and_taken_back() {
        let mut f = Finder::new(false, TIMING, None, 0);
        assert!(f.tick(0).is_empty(), "nothing known, nothing to do");
        assert_eq!(connects(&f.on_ad_up(ad("old", 1, 1111), 100)), [1111]);
        assert!(
            connects(&f.on_ad_up(ad("new", 5, 2222), 200)).is_empty(),
            "old wins"
        );
        // The old one never answers: after the wait it is set aside and verified.
        let out = f.tick(3_100);
        assert_eq!(connects(&out), [2222], "{out:?}");
        assert!(out.iter().any(|d| matches!(d, Decision::Verify { .. })));
        f.on_connected(3_200);
        // Probed every 5 s; a failed probe changes nothing.
        let out = f.tick(8_100);
        assert_eq!(
            out,
            [Decision::Probe {
                key: key("old", 1),
                endpoint: endpoint(1111)
            }]
        );
        assert!(f.on_probe(&key("old", 1), false, 8_200).is_empty());
        // It answers: everybody returns to it, by the same rule.
        let out = f.on_probe(&key("old", 1), true, 13_200);
        assert_eq!(connects(&out), [1111]);
        // Advertised again also takes it back.
        let mut g = Finder::new(false, TIMING, None, 0);
        g.on_ad_up(ad("old", 1, 1111), 0);
        g.on_ad_up(ad("new", 5, 2222), 0);
        g.tick(3_000);
        g.on_connected(3_100);
        assert_eq!(connects(&g.on_ad_up(ad("old", 1, 1111), 4_000)), [1111]);
    }

    #[test]
    fn a_screen_without_a_broker_hosts_after_its_wait_and_uses_its_own() {
        let mut f = Finder::new(true, TIMING, None, 0);
        assert!(f.tick(3_999).is_empty());
        assert_eq!(f.tick(4_000), [Decision::Host]);
        assert!(f.tick(5_000).is_empty(), "asked once");
        let own = OwnBroker {
            key: key("grill", 4_100),
            port: 4444,
            up: true,
        };
        let out = f.on_hosting(Some(own.clone()), 4_200);
        assert_eq!(out.len(), 1);
        let Decision::Connect(target) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(target.endpoint.host, "127.0.0.1");
        assert_eq!(target.source, Source::Hosted(own.key.clone()));
        f.on_connected(4_300);
        // Its own advertisement, heard by mDNS, is the same broker.
        assert!(connects(&f.on_ad_up(ad("grill", 4_100, 4444), 5_000)).is_empty());
        // A terminal never hosts.
        let mut t = Finder::new(false, TIMING, None, 0);
        assert!(t.tick(60_000).is_empty());
    }

    #[test]
    fn a_broker_being_tried_delays_hosting_and_a_remembered_one_does_not() {
        let mut f = Finder::new(true, TIMING, Some(endpoint(9)), 0);
        assert_eq!(connects(&f.tick(0)), [9]);
        assert_eq!(connects(&f.on_ad_up(ad("expo", 1, 1000), 3_900)), [1000]);
        assert!(
            !f.tick(4_000).contains(&Decision::Host),
            "an advertised broker is being tried"
        );
        f.on_connected(4_100);
        assert!(f.tick(20_000).is_empty());
        // The remembered address alone does not hold hosting back.
        let mut g = Finder::new(true, TIMING, Some(endpoint(9)), 0);
        g.tick(0);
        assert!(g.tick(4_000).contains(&Decision::Host));
    }

    #[test]
    fn two_hosts_settle_on_the_older_broker_and_the_younger_stops_its_own() {
        // expo started its broker first; grill's came later.
        let older = ad("expo", 1_000, 1000);
        let mut grill = Finder::new(true, TIMING, None, 0);
        assert_eq!(grill.tick(4_000), [Decision::Host]);
        let own = OwnBroker {
            key: key("grill", 4_050),
            port: 2000,
            up: true,
        };
        assert_eq!(
            connects(&grill.on_hosting(Some(own), 4_100)),
            [2000],
            "its own first"
        );
        grill.on_connected(4_150);
        // expo's advertisement arrives: it is older, so grill moves there...
        assert_eq!(connects(&grill.on_ad_up(older.clone(), 4_200)), [1000]);
        // ...and once connected there, stops its own broker.
        let out = grill.on_connected(4_300);
        assert!(out.contains(&Decision::StopHosting), "{out:?}");
        assert!(grill.on_hosting(None, 4_400).is_empty());
        assert!(grill.tick(30_000).is_empty(), "settled");

        // expo sees grill's younger broker and stays on its own.
        let mut expo = Finder::new(true, TIMING, None, 0);
        assert_eq!(expo.tick(4_000), [Decision::Host]);
        expo.on_hosting(
            Some(OwnBroker {
                key: key("expo", 1_000),
                port: 1000,
                up: true,
            }),
            4_000,
        );
        expo.on_connected(4_050);
        assert!(connects(&expo.on_ad_up(ad("grill", 4_050, 2000), 4_200)).is_empty());
        assert!(!expo.on_connected(4_300).contains(&Decision::StopHosting));

        // A terminal hearing both picks the same one, in either order.
        for order in [
            [older.clone(), ad("grill", 4_050, 2000)],
            [ad("grill", 4_050, 2000), older.clone()],
        ] {
            let mut t = Finder::new(false, TIMING, None, 0);
            for a in order {
                t.on_ad_up(a, 5_000);
            }
            assert_eq!(t.target().map(|t| t.endpoint.port), Some(1000));
        }
    }

    #[test]
    fn an_own_broker_that_restarts_keeps_the_device_on_it() {
        let mut f = Finder::new(true, TIMING, None, 0);
        f.tick(4_000);
        let mut own = OwnBroker {
            key: key("grill", 4_000),
            port: 2000,
            up: true,
        };
        f.on_hosting(Some(own.clone()), 4_000);
        f.on_connected(4_100);
        // Another broker is advertised meanwhile (a younger one, or one whose goodbye is still
        // in the caches): while its own is being restarted, the device waits for it.
        f.on_ad_up(ad("expo", 9_000, 3000), 4_500);
        own.up = false;
        assert!(connects(&f.on_hosting(Some(own.clone()), 5_000)).is_empty());
        f.on_disconnected(5_000);
        let out = f.tick(7_900);
        assert!(
            connects(&out).is_empty() && !out.contains(&Decision::Host),
            "{out:?}"
        );
        own.up = true;
        assert!(connects(&f.on_hosting(Some(own.clone()), 7_950)).is_empty());
        f.on_connected(8_000);
        // Down for longer than the failure wait, it is left for the other one.
        own.up = false;
        f.on_hosting(Some(own.clone()), 10_000);
        f.on_disconnected(10_000);
        assert!(connects(&f.tick(12_000)).is_empty());
        assert_eq!(connects(&f.tick(13_000)), [3000]);
        own.up = true;
        assert_eq!(
            connects(&f.on_hosting(Some(own), 20_100)),
            [2000],
            "and back"
        );
    }

    #[test]
    fn a_withdrawn_advertisement_is_forgotten() {
        let mut f = Finder::new(false, TIMING, None, 0);
        let a = ad("old", 1, 1111);
        f.on_ad_up(a.clone(), 0);
        f.on_ad_up(ad("new", 5, 2222), 0);
        assert_eq!(f.target().map(|t| t.endpoint.port), Some(1111));
        let out = f.on_ad_down(&broker_fullname(&a).to_uppercase(), 10);
        assert_eq!(connects(&out), [2222]);
        assert_eq!(f.advertised().len(), 1);
    }

    #[test]
    fn host_waits_are_jittered_within_the_documented_range() {
        for r in [0, 1, 1_999, 2_000, u64::MAX] {
            let w = Timing::host_wait_ms(r);
            assert!((3_000..5_000).contains(&w), "{w}");
        }
        assert_ne!(Timing::host_wait_ms(17), Timing::host_wait_ms(1_017));
    }
}
