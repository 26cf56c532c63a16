//! The discovery task of an unconfigured device: it feeds the [`Finder`] what mDNS, the MQTT
//! link and the broker supervisor report, and carries out its decisions (point the link at a
//! broker, start or stop hosting the embedded broker, remember an address, probe or verify an
//! advertisement). The rules themselves are in [`crate::net::finder`], tested without a
//! network; this is only the wiring.

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::host::{HostCommand, Hosting};
use super::link::{LinkState, LinkTarget};
use super::{BrokerView, Shared, files, lock};
use crate::net::discovery::{BrokerBrowser, BrokerEvent, BrokerKey, Mdns};
use crate::net::finder::{Decision, Finder, OwnBroker, Source};

/// How often the finder is ticked.
const TICK: Duration = Duration::from_millis(250);
/// How long a probe of a set-aside broker waits for a TCP connection.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long mDNS gets to confirm an advertisement that did not answer.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(3);

/// Everything the discovery task works with.
pub(crate) struct Discovery {
    pub shared: Arc<Shared>,
    pub finder: Finder,
    pub mdns: Arc<Mdns>,
    pub browser: BrokerBrowser,
    pub db: PathBuf,
    pub targets: watch::Sender<Option<LinkTarget>>,
    pub states: watch::Receiver<LinkState>,
    /// `None` for a device that does not host.
    pub host: Option<mpsc::Sender<HostCommand>>,
    pub hosting: watch::Receiver<Option<Hosting>>,
}

impl Discovery {
    /// Runs until the device stops (`stop`).
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let (probe_tx, mut probes) = mpsc::channel::<(BrokerKey, bool)>(16);
        let mut generation = 0u64;
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut browsing = true;
        loop {
            let now = self.shared.mono_ms();
            let decisions = tokio::select! {
                _ = stop.changed() => return,
                _ = tick.tick() => self.finder.tick(now),
                event = self.browser.next(), if browsing => match event {
                    Some(BrokerEvent::Up(ad)) => {
                        tracing::debug!(broker = %ad.key, port = ad.port, "broker advertised");
                        self.finder.on_ad_up(ad, now)
                    }
                    Some(BrokerEvent::Down { instance }) => {
                        tracing::debug!(%instance, "broker advertisement withdrawn");
                        self.finder.on_ad_down(&instance, now)
                    }
                    None => {
                        tracing::warn!("mDNS browsing stopped; keeping the brokers known so far");
                        browsing = false;
                        Vec::new()
                    }
                },
                changed = self.states.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let state = *self.states.borrow_and_update();
                    match state {
                        LinkState::Connected { generation: g } if g == generation => {
                            self.finder.on_connected(now)
                        }
                        LinkState::Down { generation: g } if g == generation => {
                            self.finder.on_disconnected(now)
                        }
                        _ => Vec::new(),
                    }
                }
                changed = self.hosting.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let hosting = self.hosting.borrow_and_update().clone();
                    lock(&self.shared.broker).hosting = hosting.clone();
                    let own = hosting.map(|h| OwnBroker { key: h.key, port: h.port, up: h.up });
                    self.finder.on_hosting(own, now)
                }
                Some((key, answered)) = probes.recv() => self.finder.on_probe(&key, answered, now),
            };
            for decision in decisions {
                self.carry_out(decision, &mut generation, &probe_tx).await;
            }
        }
    }

    async fn carry_out(
        &self,
        decision: Decision,
        generation: &mut u64,
        probe_tx: &mpsc::Sender<(BrokerKey, bool)>,
    ) {
        match decision {
            Decision::Connect(target) => {
                *generation += 1;
                {
                    let mut view = lock(&self.shared.broker);
                    view.url = Some(target.endpoint.to_string());
                    view.source = Some(target.source.as_str());
                    view.mqtt = None;
                    view.broker = match &target.source {
                        Source::Advertised(k) | Source::Hosted(k) => Some(k.to_string()),
                        Source::Configured | Source::Remembered => None,
                    };
                }
                let _ = self.targets.send(Some(LinkTarget {
                    generation: *generation,
                    endpoint: target.endpoint,
                    version_known: true,
                }));
            }
            Decision::Host => {
                if let Some(host) = &self.host {
                    tracing::info!("no broker answers for this store: hosting the embedded broker");
                    let _ = host.send(HostCommand::Start).await;
                }
            }
            Decision::StopHosting => {
                if let Some(host) = &self.host {
                    tracing::info!("connected to the broker that won the election: stopping ours");
                    let _ = host.send(HostCommand::Stop).await;
                }
            }
            Decision::Remember(endpoint) => {
                let db = self.db.clone();
                let written =
                    tokio::task::spawn_blocking(move || files::remember_broker(&db, &endpoint))
                        .await;
                match written {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::warn!(error = %e, "cannot remember the broker"),
                    Err(e) => tracing::warn!(error = %e, "cannot remember the broker"),
                }
            }
            Decision::Probe { key, endpoint } => {
                let tx = probe_tx.clone();
                tokio::spawn(async move {
                    let answered = tokio::task::spawn_blocking(move || {
                        let addr: Option<SocketAddr> = endpoint
                            .host
                            .parse()
                            .ok()
                            .map(|ip| SocketAddr::new(ip, endpoint.port));
                        addr.is_some_and(|a| TcpStream::connect_timeout(&a, PROBE_TIMEOUT).is_ok())
                    })
                    .await
                    .unwrap_or(false);
                    let _ = tx.send((key, answered)).await;
                });
            }
            Decision::Verify { instance } => {
                if let Err(e) = self.mdns.verify(instance, VERIFY_TIMEOUT) {
                    tracing::debug!(error = %e, "cannot ask mDNS to verify an advertisement");
                }
            }
        }
    }
}

/// What the status shows about the broker (see [`BrokerView`]).
pub(crate) fn view_json(view: &BrokerView) -> serde_json::Value {
    let hosting = view.hosting.as_ref().map(|h| {
        serde_json::json!({
            "broker": h.key.to_string(),
            "port": h.port,
            "pid": h.pid,
            "up": h.up,
            "restarts": h.restarts,
        })
    });
    serde_json::json!({
        "url": view.url,
        "source": view.source,
        "broker": view.broker,
        "mqtt": view.mqtt.map(|m| m.as_str()),
        "connected_after_ms": view.connected_after_ms,
        "hosting": hosting,
    })
}
