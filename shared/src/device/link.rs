//! The MQTT link: one task owns the MQTT client's event loop and points it at whichever broker
//! the device has chosen (a watch channel of targets: a configured address, or what discovery
//! decides). It speaks MQTT 5 to a broker that does (Mosquitto: a refused publish comes back
//! with a reason code, counted and logged) and MQTT 3.1.1 to one that says so (the embedded
//! broker advertises `mqtt=3.1.1`). Only the client differs: both feed replication the same
//! [`Input`]s, and replication publishes through one [`MqttLink`] handle, whichever client is in
//! use. A configured address says no version: the link starts with MQTT 5 and, when a broker
//! closes the connection without answering the CONNECT, tries 3.1.1 next (and back).
//!
//! The task never blocks on anything but the event loop: incoming messages are handed to
//! replication with `try_send` (one dropped while replication is busy comes back through
//! `have` and a pull), and subscribing after each ConnAck goes through a separate task, because
//! rumqttc's request queue, which only this task drains, may be full of outage publishes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::{Credentials, Input, Shared, lock};
use crate::net::discovery::MqttVersion;
use crate::net::finder::Endpoint;
use crate::net::protocol::v1;
use crate::net::replication::{Outgoing, Qos};

/// rumqttc's queue of requests from the client to the event loop.
const REQUEST_CAPACITY: usize = 1_024;
/// Most QoS 1 messages this device keeps unacknowledged: the embedded broker takes 100 per
/// connection ([`crate::net::broker::MAX_INFLIGHT`]) and Mosquitto's store configuration 20,
/// so more is never used. rumqttc's MQTT 5 client otherwise sizes its in-flight table for
/// 65,535 and fills it at start: 14 MiB of every device's memory.
const OUTGOING_INFLIGHT: u16 = 100;
/// The keepalive: a broker that stops answering is noticed within about this long.
const KEEP_ALIVE: Duration = Duration::from_secs(5);
/// First pause after a failed connection; doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Where the link should connect, numbered so that news about a previous target is not
/// mistaken for news about this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkTarget {
    pub generation: u64,
    pub endpoint: Endpoint,
    /// Whether the endpoint's version is only a first guess (a configured address).
    pub version_known: bool,
}

/// What the link reports about its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LinkState {
    /// Connected to the target of this generation.
    Connected { generation: u64 },
    /// Not connected (the target of this generation is being tried, or was lost).
    Down { generation: u64 },
}

/// One of the two MQTT clients.
#[derive(Clone)]
enum Client {
    V5(rumqttc::v5::AsyncClient),
    V311(rumqttc::AsyncClient),
}

/// The handle through which replication publishes: the client of the current connection.
#[derive(Clone, Default)]
pub(crate) struct MqttLink {
    current: Arc<Mutex<Option<Client>>>,
}

impl MqttLink {
    fn set(&self, client: Option<Client>) {
        *lock(&self.current) = client;
    }

    fn client(&self) -> Option<Client> {
        lock(&self.current).clone()
    }

    /// Queues a publish without waiting; `Err` when there is no connection or the queue is
    /// full (what is not published now is offered again through `have` and pulls).
    pub fn try_publish(&self, out: Outgoing) -> Result<(), String> {
        match self.client() {
            None => Err("no broker yet".to_owned()),
            Some(Client::V5(c)) => c
                .try_publish(out.topic, qos_v5(out.qos), out.retain, out.payload)
                .map_err(|e| e.to_string()),
            Some(Client::V311(c)) => c
                .try_publish(out.topic, qos_v311(out.qos), out.retain, out.payload)
                .map_err(|e| e.to_string()),
        }
    }

    /// Queues a publish, waiting for room.
    pub async fn publish(&self, out: Outgoing) -> Result<(), String> {
        match self.client() {
            None => Err("no broker yet".to_owned()),
            Some(Client::V5(c)) => c
                .publish(out.topic, qos_v5(out.qos), out.retain, out.payload)
                .await
                .map_err(|e| e.to_string()),
            Some(Client::V311(c)) => c
                .publish(out.topic, qos_v311(out.qos), out.retain, out.payload)
                .await
                .map_err(|e| e.to_string()),
        }
    }

    /// Subscribes to `filter` at QoS 1, waiting for room in the request queue (call it from a
    /// task of its own). `Err` when there is no connection.
    pub async fn subscribe(&self, filter: String) -> Result<(), String> {
        match self.client() {
            None => Err("no broker yet".to_owned()),
            Some(client) => subscribe_one(&client, filter).await,
        }
    }

    /// Says goodbye to the broker (a clean DISCONNECT: no last will).
    pub async fn disconnect(&self) {
        let _ = match self.client() {
            None => return,
            Some(Client::V5(c)) => c.disconnect().await.map_err(|e| e.to_string()),
            Some(Client::V311(c)) => c.disconnect().await.map_err(|e| e.to_string()),
        };
    }
}

fn qos_v5(q: Qos) -> rumqttc::v5::mqttbytes::QoS {
    match q {
        Qos::AtMostOnce => rumqttc::v5::mqttbytes::QoS::AtMostOnce,
        Qos::AtLeastOnce => rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
    }
}

fn qos_v311(q: Qos) -> rumqttc::QoS {
    match q {
        Qos::AtMostOnce => rumqttc::QoS::AtMostOnce,
        Qos::AtLeastOnce => rumqttc::QoS::AtLeastOnce,
    }
}

/// The client id: one per device and store, so a device that reconnects replaces its old
/// session at the broker.
fn client_id(shared: &Shared) -> String {
    format!("pass-{}-{}", shared.store, shared.device)
}

/// What one event-loop poll brought, the same for both clients.
enum Polled {
    ConnAck,
    Publish {
        topic: String,
        payload: Vec<u8>,
        retained: bool,
    },
    /// A publish the broker acknowledged with a refusal (MQTT 5 only).
    Refused(String),
    Other,
}

/// Why a poll failed: whether the broker was reached at all (a connection closed before
/// the CONNACK, or refused by the broker, as opposed to nothing listening).
struct PollError {
    text: String,
    reached: bool,
}

enum EventLoop {
    V5(Box<rumqttc::v5::EventLoop>),
    V311(Box<rumqttc::EventLoop>),
}

fn unreachable_io(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | TimedOut | HostUnreachable | NetworkUnreachable | AddrNotAvailable
    )
}

impl EventLoop {
    async fn poll(&mut self) -> Result<Polled, PollError> {
        match self {
            EventLoop::V5(el) => {
                use rumqttc::v5::mqttbytes::v5::{Packet, PubAckReason};
                use rumqttc::v5::{ConnectionError, Event};
                match el.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => Ok(Polled::ConnAck),
                    Ok(Event::Incoming(Packet::PubAck(ack)))
                        if ack.reason != PubAckReason::Success
                            && ack.reason != PubAckReason::NoMatchingSubscribers =>
                    {
                        Ok(Polled::Refused(format!("{:?}", ack.reason)))
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => Ok(Polled::Publish {
                        topic: String::from_utf8_lossy(&p.topic).into_owned(),
                        payload: p.payload.to_vec(),
                        retained: p.retain,
                    }),
                    Ok(_) => Ok(Polled::Other),
                    Err(e) => {
                        let reached = match &e {
                            ConnectionError::Io(io) => !unreachable_io(io),
                            ConnectionError::Timeout(_) => false,
                            _ => true,
                        };
                        Err(PollError {
                            text: e.to_string(),
                            reached,
                        })
                    }
                }
            }
            EventLoop::V311(el) => {
                use rumqttc::{ConnectionError, Event, Packet};
                match el.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => Ok(Polled::ConnAck),
                    Ok(Event::Incoming(Packet::Publish(p))) => Ok(Polled::Publish {
                        topic: p.topic,
                        payload: p.payload.to_vec(),
                        retained: p.retain,
                    }),
                    Ok(_) => Ok(Polled::Other),
                    Err(e) => {
                        let reached = match &e {
                            ConnectionError::Io(io) => !unreachable_io(io),
                            ConnectionError::NetworkTimeout => false,
                            _ => true,
                        };
                        Err(PollError {
                            text: e.to_string(),
                            reached,
                        })
                    }
                }
            }
        }
    }
}

/// Builds the client and event loop for `endpoint` speaking `mqtt`.
fn client_for(
    shared: &Shared,
    endpoint: &Endpoint,
    mqtt: MqttVersion,
    credentials: Option<&Credentials>,
) -> (Client, EventLoop) {
    let will = lock(&shared.replicator).last_will();
    let max_packet = v1::MAX_PACKET_BYTES;
    // Small packets (events, acks, heartbeats) go out at once: Nagle's algorithm would hold
    // them back up to a delayed-ACK timeout (tens of milliseconds) on every send.
    let mut network = rumqttc::NetworkOptions::new();
    network.set_tcp_nodelay(true);
    match mqtt {
        MqttVersion::V5 => {
            use rumqttc::v5::mqttbytes::v5::LastWill;
            let mut options = rumqttc::v5::MqttOptions::new(
                client_id(shared),
                endpoint.host.clone(),
                endpoint.port,
            );
            options.set_keep_alive(KEEP_ALIVE);
            options.set_clean_start(true);
            options.set_max_packet_size(Some(u32::try_from(max_packet).unwrap_or(u32::MAX)));
            options.set_request_channel_capacity(REQUEST_CAPACITY);
            options.set_outgoing_inflight_upper_limit(OUTGOING_INFLIGHT);
            if let Some(Credentials { user, password }) = credentials {
                options.set_credentials(user.clone(), password.clone());
            }
            options.set_last_will(LastWill::new(
                will.topic,
                will.payload,
                qos_v5(will.qos),
                will.retain,
                None,
            ));
            options.set_network_options(network);
            let (client, eventloop) = rumqttc::v5::AsyncClient::new(options, REQUEST_CAPACITY);
            (Client::V5(client), EventLoop::V5(Box::new(eventloop)))
        }
        MqttVersion::V311 => {
            let mut options =
                rumqttc::MqttOptions::new(client_id(shared), endpoint.host.clone(), endpoint.port);
            options.set_keep_alive(KEEP_ALIVE);
            options.set_clean_session(true);
            options.set_max_packet_size(max_packet, max_packet);
            options.set_request_channel_capacity(REQUEST_CAPACITY);
            options.set_inflight(OUTGOING_INFLIGHT);
            if let Some(Credentials { user, password }) = credentials {
                options.set_credentials(user.clone(), password.clone());
            }
            options.set_last_will(rumqttc::LastWill::new(
                will.topic,
                will.payload,
                qos_v311(will.qos),
                will.retain,
            ));
            let (client, mut eventloop) = rumqttc::AsyncClient::new(options, REQUEST_CAPACITY);
            eventloop.set_network_options(network);
            (Client::V311(client), EventLoop::V311(Box::new(eventloop)))
        }
    }
}

async fn subscribe_one(client: &Client, filter: String) -> Result<(), String> {
    match client {
        Client::V5(c) => c
            .subscribe(filter, rumqttc::v5::mqttbytes::QoS::AtLeastOnce)
            .await
            .map_err(|e| e.to_string()),
        Client::V311(c) => c
            .subscribe(filter, rumqttc::QoS::AtLeastOnce)
            .await
            .map_err(|e| e.to_string()),
    }
}

fn subscribe_all(client: Client, topics: Vec<String>) {
    tokio::spawn(async move {
        for topic in topics {
            if let Err(e) = subscribe_one(&client, topic).await {
                tracing::warn!(error = %e, "subscribe failed");
            }
        }
    });
}

/// Credentials for a broker: the device's own (`--mqtt-user`), else the store's login for the
/// embedded broker, read when a connection is made.
pub(crate) type CredentialSource = Arc<dyn Fn() -> Option<Credentials> + Send + Sync>;

/// The link task: follows `targets`, reports on `states`, feeds `inputs`. Ends when
/// replication stops listening.
pub(crate) async fn run(
    shared: Arc<Shared>,
    link: MqttLink,
    mut targets: watch::Receiver<Option<LinkTarget>>,
    states: watch::Sender<LinkState>,
    inputs: mpsc::Sender<Input>,
    credentials: CredentialSource,
) {
    loop {
        let target = targets.borrow_and_update().clone();
        let Some(target) = target else {
            if targets.changed().await.is_err() {
                return;
            }
            continue;
        };
        tracing::info!(broker = %target.endpoint, mqtt = %target.endpoint.mqtt, "connecting");
        let mut mqtt = target.endpoint.mqtt;
        let mut backoff = FIRST_BACKOFF;
        // Whether the version was switched once already for this target.
        let mut switched = false;
        // One client per version tried; a new one when the version changes.
        'session: loop {
            let (client, mut eventloop) =
                client_for(&shared, &target.endpoint, mqtt, credentials().as_ref());
            link.set(Some(client.clone()));
            let mut connected = false;
            loop {
                let polled = tokio::select! {
                    changed = targets.changed() => {
                        link.set(None);
                        *lock(&shared.connected) = false;
                        if changed.is_err() {
                            return;
                        }
                        break 'session;
                    }
                    polled = eventloop.poll() => polled,
                };
                match polled {
                    Ok(Polled::ConnAck) => {
                        backoff = FIRST_BACKOFF;
                        connected = true;
                        *lock(&shared.connected) = true;
                        {
                            let mut view = lock(&shared.broker);
                            view.mqtt = Some(mqtt);
                            if view.connected_after_ms.is_none() {
                                let ms = shared.launched.elapsed().as_millis();
                                view.connected_after_ms =
                                    Some(u64::try_from(ms).unwrap_or(u64::MAX));
                            }
                        }
                        tracing::info!(broker = %target.endpoint, %mqtt, "connected to the broker");
                        let _ = states.send(LinkState::Connected {
                            generation: target.generation,
                        });
                        subscribe_all(client.clone(), lock(&shared.replicator).subscriptions());
                        if inputs.send(Input::Connected).await.is_err() {
                            return;
                        }
                    }
                    Ok(Polled::Refused(reason)) => {
                        let n = shared
                            .refused_publishes
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        // Logged once, then counted: a refusal repeats for every publish on that topic.
                        if n == 0 {
                            tracing::error!(%reason, "the broker refused a publish (is this device's ACL right?)");
                        }
                    }
                    Ok(Polled::Publish {
                        topic,
                        payload,
                        retained,
                    }) => {
                        // Never wait here: a task that stops polling stops answering the
                        // broker's keepalive and is disconnected.
                        match inputs.try_send(Input::Message {
                            topic,
                            payload,
                            retained,
                        }) {
                            Ok(()) => {}
                            Err(mpsc::error::TrySendError::Full(_)) => {
                                tracing::debug!(
                                    "replication busy: incoming message left for a pull"
                                );
                            }
                            Err(mpsc::error::TrySendError::Closed(_)) => return,
                        }
                    }
                    Ok(Polled::Other) => {}
                    Err(e) => {
                        let was = std::mem::replace(&mut *lock(&shared.connected), false);
                        let _ = states.send(LinkState::Down {
                            generation: target.generation,
                        });
                        if was {
                            tracing::warn!(error = %e.text, "lost the broker; reconnecting");
                        } else {
                            tracing::debug!(error = %e.text, broker = %target.endpoint, "broker not reachable");
                        }
                        let retry_other_version = !connected && e.reached && !target.version_known;
                        // The first switch of version is tried at once; after that, both have
                        // been refused and the broker gets the usual pause.
                        let pause = if retry_other_version && !switched {
                            Duration::ZERO
                        } else {
                            backoff
                        };
                        tokio::select! {
                            changed = targets.changed() => {
                                link.set(None);
                                if changed.is_err() {
                                    return;
                                }
                                break 'session;
                            }
                            () = tokio::time::sleep(pause) => {}
                        }
                        if !pause.is_zero() {
                            backoff = (backoff * 2).min(MAX_BACKOFF);
                        }
                        if retry_other_version {
                            switched = true;
                            mqtt = match mqtt {
                                MqttVersion::V5 => MqttVersion::V311,
                                MqttVersion::V311 => MqttVersion::V5,
                            };
                            tracing::info!(broker = %target.endpoint, %mqtt, "the broker closed the connection unanswered; trying the other MQTT version");
                            continue 'session;
                        }
                    }
                }
            }
        }
    }
}
