//! The wire protocol between devices: MQTT topics and message payloads.
//!
//! Wire types live here and nowhere else; they are not the journal's or the domain's types, and
//! the conversions between them are `From`/`TryFrom` impls at this boundary. Everything a peer
//! sends is untrusted: [`v1::decode`] and [`v1::decode_publish`] refuse an oversized, malformed,
//! unknown-version or invalid message with a [`ProtocolError`] and never panic.
//!
//! # Topics (v1)
//!
//! Every topic is `pass/v1/<store>/…`. A device publishes only on topics that name itself (its
//! device id, or for events its journal origin), so a per-device broker ACL can hold
//! ([`v1::publish_patterns`] lists them for the broker configuration):
//!
//! | topic | published by | QoS | retained | payload `type` |
//! |---|---|---|---|---|
//! | `ev/<origin>` | the origin's device | 1 | no | `events`: a batch of that origin's envelopes |
//! | `have/<device>` | the device | 1 | **yes** | `have`: per-origin head (highest contiguous seq + hash), role, name |
//! | `pull/<device>` | the requester | 1 | no | `pull`: missing ranges, naming ONE responder |
//! | `sync/<requester>/<responder>` | the responder | 1 | no | `sync`: one batch of the answer |
//! | `hb/<device>` | the device | 0 | no | `heartbeat`: every second |
//! | `gone/<device>` | the broker (last will) or the device on a clean stop | 1 | no | `gone` |
//!
//! The integration inbox adds two topics for outside systems (online ordering, delivery), read
//! and answered by the one device that ingests orders: `inbox/orders/<source>` and
//! `inbox/replies/<source>` ([`v1::inbox`]).
//!
//! Every topic and payload, device-to-device and integration alike, is described with JSON
//! Schemas in the AsyncAPI 3.0 document `shared/asyncapi/pass.asyncapi.json` ([`ASYNCAPI`]); a
//! unit test keeps it listing every event kind.
//!
//! Presence is carried by heartbeats, not by a retained state: a retained "online" flag would
//! outlive a device whose broker died with it, while a heartbeat that stops is unambiguous. The
//! last will on `gone/<device>` only lets peers stop asking a device that dropped its connection
//! without waiting for its heartbeats to time out.
//!
//! # Messages (v1)
//!
//! JSON objects, internally tagged by `type`, with the protocol version in `v`:
//!
//! ```json
//! {"v":1,"type":"events","origin":"9f2c0a11b3d4e5f6","events":[{"body":{…},"prev":"…","hash":"…","sig":"…"}, …]}
//! {"v":1,"type":"have","device":"grill","origin":"9f2c0a11b3d4e5f6","role":"kitchen_screen","name":"Grill",
//!  "heads":{"9f2c0a11b3d4e5f6":{"seq":812,"hash":"<64 hex>"}, …}}
//! {"v":1,"type":"pull","req":7,"requester":"expo","responder":"grill",
//!  "ranges":[{"origin":"9f2c0a11b3d4e5f6","after":700,"through":812}]}
//! {"v":1,"type":"sync","req":7,"requester":"expo","responder":"grill","origin":"9f2c0a11b3d4e5f6",
//!  "events":[…],"last":false}
//! {"v":1,"type":"heartbeat","device":"grill","origin":"9f2c0a11b3d4e5f6","role":"kitchen_screen",
//!  "wall_ms":1767225600000,"unconfirmed":0}
//! {"v":1,"type":"gone","device":"grill"}
//! ```
//!
//! Envelopes travel as their JSON text, byte for byte ([`RawValue`]): never re-serialised, never
//! base64, so the hash chain and signatures survive any device that does not know a field.
//!
//! Within v1 changes are additive only: a new optional field (ignored by older devices), a new
//! message `type` (refused as [`ProtocolError::UnknownType`], which a receiver logs quietly), a
//! new role (read as [`v1::Role::Unknown`]). Anything else is v2, on `pass/v2/…`.
//!
//! # Sizes, chosen on purpose
//!
//! - **Packets: 512 KiB** ([`v1::MAX_PACKET_BYTES`]). rumqttc refuses packets over 10 KiB by
//!   default, which one menu-import event already exceeds; the journal accepts envelopes up to
//!   256 KiB ([`MAX_ENVELOPE_BYTES`]), and the largest envelope must still travel alone in one
//!   message with its framing. The MQTT client sets this as its incoming and outgoing maximum and
//!   the store's Mosquitto sets `max_packet_size` to the same value, so a larger packet is
//!   refused at the broker rather than half-delivered.
//! - **Messages: the packet less 4 KiB** ([`v1::MAX_MESSAGE_BYTES`]) for the fixed header, the
//!   topic (under 130 bytes) and MQTT 5 properties.
//! - **Batches: filled to 64 KiB and at most 256 envelopes** ([`v1::BATCH_TARGET_BYTES`],
//!   [`v1::BATCH_MAX_EVENTS`]). A ticket event is 0.5–2 KiB, so a batch carries 30–130 of them:
//!   enough to amortise the per-message cost of the broker and of one journal apply, small enough
//!   that one message takes well under a millisecond on a wired LAN. An envelope larger than the
//!   target goes in a batch of its own.
//! - **Queues.** Mosquitto queues at most 1,000 messages per client beyond its in-flight window
//!   (`max_queued_messages`) and drops QoS 1 messages past that. Live event batches are one
//!   message per commit group, and a pull is answered with at most 2 MiB, i.e. 32 batches (the
//!   replicator's `Tuning`), with one pull in flight per requester, so a catch-up never floods a
//!   peer's queue. Anything dropped anyway is repaired by the `have`/`pull` path, never lost.

use crate::journal::MAX_ENVELOPE_BYTES;

/// The AsyncAPI 3.0 document describing every topic and payload of the store network (JSON).
pub const ASYNCAPI: &str = include_str!("../../asyncapi/pass.asyncapi.json");

/// Why a message or topic was refused. Each is logged once by whoever received it, and the
/// message is set aside.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("message is {len} bytes, more than the {max}-byte limit")]
    TooLarge { len: usize, max: usize },
    #[error("message is not valid JSON of the expected shape: {0}")]
    Malformed(String),
    #[error("message speaks protocol version {0}; this build speaks version 1")]
    UnknownVersion(u64),
    #[error("message type `{0}` is not known to this build")]
    UnknownType(String),
    #[error("message is invalid: {0}")]
    Invalid(String),
    #[error("`{0}` is not a valid id (1 to 32 characters of a-z, 0-9 and -)")]
    BadId(String),
    #[error("`{0}` is not a Pass v1 topic of this store")]
    BadTopic(String),
    #[error("topic `{topic}` does not match the message it carries (expected `{expected}`)")]
    TopicMismatch { topic: String, expected: String },
    #[error("message could not be encoded: {0}")]
    Encode(String),
}

pub mod v1 {
    //! Protocol version 1: see the [module documentation](super).

    use std::collections::{BTreeMap, BTreeSet};
    use std::fmt;

    use serde::{Deserialize, Serialize};
    use serde_json::value::RawValue;

    use super::{MAX_ENVELOPE_BYTES, ProtocolError};
    use crate::event::DeviceRole;
    use crate::journal::{Head, Origin};

    /// The version this module speaks, written in every message's `v`.
    pub const VERSION: u64 = 1;
    /// Largest MQTT packet, both directions: the client's and the broker's maximum.
    pub const MAX_PACKET_BYTES: usize = 512 * 1024;
    /// Largest message payload sent or accepted.
    pub const MAX_MESSAGE_BYTES: usize = MAX_PACKET_BYTES - 4 * 1024;
    /// Room a batch message needs around its envelopes (type, ids, seqs, commas).
    pub const BATCH_OVERHEAD_BYTES: usize = 1024;
    /// A sender fills a batch up to this many bytes of envelopes.
    pub const BATCH_TARGET_BYTES: usize = 64 * 1024;
    /// A sender puts at most this many envelopes in one batch.
    pub const BATCH_MAX_EVENTS: usize = 256;
    /// A receiver accepts at most this many envelopes in one message (more than this build
    /// sends, so a later sender may batch differently).
    pub const MAX_EVENTS_PER_MESSAGE: usize = 4096;
    /// Most origins one `have` may list (a store has a few dozen over its life).
    pub const MAX_HEADS_PER_HAVE: usize = 4096;
    /// Most ranges one `pull` may ask for.
    pub const MAX_RANGES_PER_PULL: usize = 256;
    /// Longest device name, in characters.
    pub const MAX_NAME_CHARS: usize = 64;
    /// Longest store or device id.
    pub const MAX_ID_CHARS: usize = 32;

    // The largest envelope the journal accepts must fit in one message with its framing.
    const _: () = assert!(MAX_ENVELOPE_BYTES + BATCH_OVERHEAD_BYTES <= MAX_MESSAGE_BYTES);
    const _: () = assert!(BATCH_TARGET_BYTES + BATCH_OVERHEAD_BYTES <= MAX_MESSAGE_BYTES);

    fn valid_id(s: &str) -> bool {
        !s.is_empty()
            && s.len() <= MAX_ID_CHARS
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    }

    macro_rules! id_type {
        ($(#[$doc:meta])* $name:ident) => {
            $(#[$doc])*
            #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
            #[serde(try_from = "String", into = "String")]
            pub struct $name(String);

            impl $name {
                pub fn as_str(&self) -> &str {
                    &self.0
                }
            }

            impl TryFrom<String> for $name {
                type Error = ProtocolError;
                fn try_from(s: String) -> Result<$name, ProtocolError> {
                    if valid_id(&s) {
                        Ok($name(s))
                    } else {
                        Err(ProtocolError::BadId(s))
                    }
                }
            }

            impl std::str::FromStr for $name {
                type Err = ProtocolError;
                fn from_str(s: &str) -> Result<$name, ProtocolError> {
                    $name::try_from(s.to_owned())
                }
            }

            impl From<$name> for String {
                fn from(id: $name) -> String {
                    id.0
                }
            }

            impl fmt::Display for $name {
                fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str(&self.0)
                }
            }
        };
    }

    id_type!(
        /// A store's id in topics: 1 to 32 characters of `a-z`, `0-9` and `-`.
        StoreId
    );
    id_type!(
        /// A device's id in topics (its MQTT identity, what the ACL names): 1 to 32 characters
        /// of `a-z`, `0-9` and `-`. It is not the journal origin: a reinstalled device keeps its
        /// device id and gets a new origin.
        DeviceId
    );

    pub mod inbox;

    /// What a device is, as the wire says it. A role added later reads as `Unknown`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum Role {
        KitchenScreen,
        OrderTerminal,
        Console,
        #[serde(other)]
        Unknown,
    }

    impl From<DeviceRole> for Role {
        fn from(role: DeviceRole) -> Role {
            match role {
                DeviceRole::KitchenScreen => Role::KitchenScreen,
                DeviceRole::OrderTerminal => Role::OrderTerminal,
                DeviceRole::Console => Role::Console,
            }
        }
    }

    /// One origin's head in a `have`: its highest contiguous seq and that event's hash.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub struct HeadV1 {
        pub seq: u64,
        #[serde(with = "hex32")]
        pub hash: [u8; 32],
    }

    impl From<Head> for HeadV1 {
        fn from(h: Head) -> HeadV1 {
            HeadV1 {
                seq: h.seq,
                hash: h.hash,
            }
        }
    }

    impl From<HeadV1> for Head {
        fn from(h: HeadV1) -> Head {
            Head {
                seq: h.seq,
                hash: h.hash,
            }
        }
    }

    /// A batch of one origin's envelopes, published by that origin's device on `ev/<origin>`.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    pub struct EventBatch {
        pub origin: Origin,
        /// Each envelope's JSON text exactly as stored, in seq order.
        pub events: Vec<Box<RawValue>>,
    }

    /// What a device holds, retained on `have/<device>`. Peers confirm delivery from it, pick
    /// pull responders from it, and a restored journal learns from it that it is behind.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Have {
        pub device: DeviceId,
        /// The device's own journal origin.
        pub origin: Origin,
        pub role: Role,
        pub name: String,
        pub heads: BTreeMap<Origin, HeadV1>,
    }

    /// Events of `origin` with `after < seq <= through`.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Range {
        pub origin: Origin,
        pub after: u64,
        pub through: u64,
    }

    /// A request for missing ranges, published on `pull/<requester>` and answered by
    /// `responder` alone.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Pull {
        /// Chosen by the requester; the answer repeats it.
        pub req: u64,
        pub requester: DeviceId,
        pub responder: DeviceId,
        pub ranges: Vec<Range>,
    }

    /// One batch of the answer to a pull, on `sync/<requester>/<responder>`.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    pub struct SyncBatch {
        pub req: u64,
        pub requester: DeviceId,
        pub responder: DeviceId,
        pub origin: Origin,
        pub events: Vec<Box<RawValue>>,
        /// The answer's final batch. The answer may hold less than was asked (the responder
        /// holds less, or its size budget ran out): the requester asks again for the rest.
        pub last: bool,
    }

    /// "I am here", every second on `hb/<device>`.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Heartbeat {
        pub device: DeviceId,
        pub origin: Origin,
        pub role: Role,
        /// The sender's clock, for display only: nobody measures a duration across two clocks.
        pub wall_ms: i64,
        /// How many of the sender's own events not every peer it waits for has confirmed.
        pub unconfirmed: u64,
    }

    /// The device left: its last will (published by the broker when its connection drops) or
    /// its goodbye on a clean stop, on `gone/<device>`.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Gone {
        pub device: DeviceId,
    }

    /// Every v1 message.
    #[derive(Debug, Clone, Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum Message {
        Events(EventBatch),
        Have(Have),
        Pull(Pull),
        Sync(SyncBatch),
        Heartbeat(Heartbeat),
        Gone(Gone),
    }

    /// A topic under `pass/v1/<store>/`.
    #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
    pub enum Topic {
        Events {
            origin: Origin,
        },
        Have {
            device: DeviceId,
        },
        Pull {
            requester: DeviceId,
        },
        Sync {
            requester: DeviceId,
            responder: DeviceId,
        },
        Heartbeat {
            device: DeviceId,
        },
        Gone {
            device: DeviceId,
        },
    }

    fn prefix(store: &StoreId) -> String {
        format!("pass/v{VERSION}/{store}")
    }

    impl Topic {
        /// The topic's full path for `store`.
        pub fn path(&self, store: &StoreId) -> String {
            let p = prefix(store);
            match self {
                Topic::Events { origin } => format!("{p}/ev/{origin}"),
                Topic::Have { device } => format!("{p}/have/{device}"),
                Topic::Pull { requester } => format!("{p}/pull/{requester}"),
                Topic::Sync {
                    requester,
                    responder,
                } => format!("{p}/sync/{requester}/{responder}"),
                Topic::Heartbeat { device } => format!("{p}/hb/{device}"),
                Topic::Gone { device } => format!("{p}/gone/{device}"),
            }
        }

        /// Reads a topic path of `store`. A path of another store, another version or an
        /// unknown kind is refused.
        pub fn parse(store: &StoreId, path: &str) -> Result<Topic, ProtocolError> {
            let bad = || ProtocolError::BadTopic(path.chars().take(200).collect());
            let mut parts = path.split('/');
            let head = (parts.next(), parts.next(), parts.next());
            if head != (Some("pass"), Some("v1"), Some(store.as_str())) {
                return Err(bad());
            }
            let rest: Vec<&str> = parts.collect();
            let device = |s: &str| s.parse::<DeviceId>().map_err(|_| bad());
            let topic = match rest.as_slice() {
                ["ev", origin] => Topic::Events {
                    origin: origin.parse().map_err(|_| bad())?,
                },
                ["have", d] => Topic::Have { device: device(d)? },
                ["pull", d] => Topic::Pull {
                    requester: device(d)?,
                },
                ["sync", r, s] => Topic::Sync {
                    requester: device(r)?,
                    responder: device(s)?,
                },
                ["hb", d] => Topic::Heartbeat { device: device(d)? },
                ["gone", d] => Topic::Gone { device: device(d)? },
                _ => return Err(bad()),
            };
            Ok(topic)
        }
    }

    /// The topic filters a device subscribes to: everyone's events, haves, pulls (it answers
    /// those naming it), heartbeats and goodbyes, and the answers addressed to itself.
    pub fn subscriptions(store: &StoreId, me: &DeviceId) -> Vec<String> {
        let p = prefix(store);
        vec![
            format!("{p}/ev/+"),
            format!("{p}/have/+"),
            format!("{p}/pull/+"),
            format!("{p}/sync/{me}/+"),
            format!("{p}/hb/+"),
            format!("{p}/gone/+"),
        ]
    }

    /// The topics (with `+` wildcards) a device may publish on: what a per-device ACL grants.
    pub fn publish_patterns(store: &StoreId, me: &DeviceId, origin: &Origin) -> Vec<String> {
        let p = prefix(store);
        vec![
            format!("{p}/ev/{origin}"),
            format!("{p}/have/{me}"),
            format!("{p}/pull/{me}"),
            format!("{p}/sync/+/{me}"),
            format!("{p}/hb/{me}"),
            format!("{p}/gone/{me}"),
        ]
    }

    impl Message {
        /// The one topic this message may travel on.
        pub fn topic(&self) -> Topic {
            match self {
                Message::Events(m) => Topic::Events {
                    origin: m.origin.clone(),
                },
                Message::Have(m) => Topic::Have {
                    device: m.device.clone(),
                },
                Message::Pull(m) => Topic::Pull {
                    requester: m.requester.clone(),
                },
                Message::Sync(m) => Topic::Sync {
                    requester: m.requester.clone(),
                    responder: m.responder.clone(),
                },
                Message::Heartbeat(m) => Topic::Heartbeat {
                    device: m.device.clone(),
                },
                Message::Gone(m) => Topic::Gone {
                    device: m.device.clone(),
                },
            }
        }

        /// Checks what the type system does not: counts, sizes, ranges.
        pub fn validate(&self) -> Result<(), ProtocolError> {
            let invalid = |why: String| Err(ProtocolError::Invalid(why));
            match self {
                Message::Events(m) => validate_envelopes(&m.events),
                Message::Sync(m) => {
                    if m.requester == m.responder {
                        return invalid("a device cannot answer its own pull".into());
                    }
                    validate_envelopes(&m.events)
                }
                Message::Have(m) => {
                    if m.name.chars().count() > MAX_NAME_CHARS {
                        return invalid(format!("name longer than {MAX_NAME_CHARS} characters"));
                    }
                    if m.heads.len() > MAX_HEADS_PER_HAVE {
                        return invalid(format!("more than {MAX_HEADS_PER_HAVE} heads"));
                    }
                    if let Some((origin, _)) = m.heads.iter().find(|(_, h)| h.seq == 0) {
                        return invalid(format!("head of {origin} at seq 0"));
                    }
                    Ok(())
                }
                Message::Pull(m) => {
                    if m.requester == m.responder {
                        return invalid("a device cannot pull from itself".into());
                    }
                    if m.ranges.is_empty() || m.ranges.len() > MAX_RANGES_PER_PULL {
                        return invalid(format!("1 to {MAX_RANGES_PER_PULL} ranges expected"));
                    }
                    let mut seen = BTreeSet::new();
                    for r in &m.ranges {
                        if r.after >= r.through {
                            return invalid(format!(
                                "empty range {}..={} of {}",
                                r.after + 1,
                                r.through,
                                r.origin
                            ));
                        }
                        if !seen.insert(&r.origin) {
                            return invalid(format!("origin {} asked twice", r.origin));
                        }
                    }
                    Ok(())
                }
                Message::Heartbeat(_) | Message::Gone(_) => Ok(()),
            }
        }
    }

    fn validate_envelopes(events: &[Box<RawValue>]) -> Result<(), ProtocolError> {
        if events.len() > MAX_EVENTS_PER_MESSAGE {
            return Err(ProtocolError::Invalid(format!(
                "{} envelopes, more than {MAX_EVENTS_PER_MESSAGE}",
                events.len()
            )));
        }
        for e in events {
            let text = e.get();
            if text.len() > MAX_ENVELOPE_BYTES {
                return Err(ProtocolError::Invalid(format!(
                    "an envelope of {} bytes, more than {MAX_ENVELOPE_BYTES}",
                    text.len()
                )));
            }
            if !text.starts_with('{') {
                return Err(ProtocolError::Invalid(
                    "an envelope is not a JSON object".into(),
                ));
            }
        }
        Ok(())
    }

    #[derive(Serialize)]
    struct Framed<'a> {
        v: u64,
        #[serde(flatten)]
        message: &'a Message,
    }

    /// The message as it goes on the wire. Refuses what a peer would refuse (invalid or
    /// oversized), so nothing this build sends is set aside by another.
    pub fn encode(message: &Message) -> Result<Vec<u8>, ProtocolError> {
        message.validate()?;
        let bytes = serde_json::to_vec(&Framed {
            v: VERSION,
            message,
        })
        .map_err(|e| ProtocolError::Encode(e.to_string()))?;
        if bytes.len() > MAX_MESSAGE_BYTES {
            return Err(ProtocolError::TooLarge {
                len: bytes.len(),
                max: MAX_MESSAGE_BYTES,
            });
        }
        Ok(bytes)
    }

    #[derive(Deserialize)]
    struct Probe {
        v: u64,
        #[serde(rename = "type")]
        kind: String,
    }

    /// Reads a message from untrusted bytes: size, version, type, shape, then [`Message::validate`].
    pub fn decode(bytes: &[u8]) -> Result<Message, ProtocolError> {
        if bytes.len() > MAX_MESSAGE_BYTES {
            return Err(ProtocolError::TooLarge {
                len: bytes.len(),
                max: MAX_MESSAGE_BYTES,
            });
        }
        let malformed = |e: serde_json::Error| ProtocolError::Malformed(e.to_string());
        // Raw values cannot be read through serde's buffering of internally tagged enums, so
        // the tag is read first and the variant's struct straight from the bytes.
        let probe: Probe = serde_json::from_slice(bytes).map_err(malformed)?;
        if probe.v != VERSION {
            return Err(ProtocolError::UnknownVersion(probe.v));
        }
        let message = match probe.kind.as_str() {
            "events" => Message::Events(serde_json::from_slice(bytes).map_err(malformed)?),
            "have" => Message::Have(serde_json::from_slice(bytes).map_err(malformed)?),
            "pull" => Message::Pull(serde_json::from_slice(bytes).map_err(malformed)?),
            "sync" => Message::Sync(serde_json::from_slice(bytes).map_err(malformed)?),
            "heartbeat" => Message::Heartbeat(serde_json::from_slice(bytes).map_err(malformed)?),
            "gone" => Message::Gone(serde_json::from_slice(bytes).map_err(malformed)?),
            other => {
                return Err(ProtocolError::UnknownType(other.chars().take(64).collect()));
            }
        };
        message.validate()?;
        Ok(message)
    }

    /// Reads a message received on `topic`: the topic must be this store's and be the one
    /// topic the message may travel on (a device cannot speak for another in its payload).
    pub fn decode_publish(
        store: &StoreId,
        topic: &str,
        payload: &[u8],
    ) -> Result<(Topic, Message), ProtocolError> {
        let parsed = Topic::parse(store, topic)?;
        let message = decode(payload)?;
        let expected = message.topic();
        if expected != parsed {
            return Err(ProtocolError::TopicMismatch {
                topic: topic.chars().take(200).collect(),
                expected: expected.path(store),
            });
        }
        Ok((parsed, message))
    }

    /// Splits envelopes (in order) into batches of at most `max_events` and, unless a single
    /// envelope is larger, at most `target_bytes` of envelope text.
    pub fn batches(
        envelopes: Vec<Box<RawValue>>,
        target_bytes: usize,
        max_events: usize,
    ) -> Vec<Vec<Box<RawValue>>> {
        let max_events = max_events.max(1);
        let mut out = Vec::new();
        let mut current: Vec<Box<RawValue>> = Vec::new();
        let mut bytes = 0usize;
        for env in envelopes {
            let size = env.get().len() + 1;
            if !current.is_empty() && (current.len() >= max_events || bytes + size > target_bytes) {
                out.push(std::mem::take(&mut current));
                bytes = 0;
            }
            bytes += size;
            current.push(env);
        }
        if !current.is_empty() {
            out.push(current);
        }
        out
    }

    mod hex32 {
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&hex::encode(bytes))
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
            let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
            let mut out = [0u8; 32];
            hex::decode_to_slice(text.as_ref(), &mut out).map_err(serde::de::Error::custom)?;
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde_json::value::RawValue;

    use super::ProtocolError;
    use super::v1::*;
    use crate::journal::{MAX_ENVELOPE_BYTES, Origin};

    fn store() -> StoreId {
        "corner-bistro".parse().expect("valid store id")
    }

    fn dev(s: &str) -> DeviceId {
        s.parse().expect("valid device id")
    }

    fn origin(n: u64) -> Origin {
        format!("{n:016x}").parse().expect("valid origin")
    }

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).expect("valid JSON")
    }

    fn samples() -> Vec<Message> {
        let mut heads = BTreeMap::new();
        heads.insert(
            origin(1),
            HeadV1 {
                seq: 812,
                hash: [0xab; 32],
            },
        );
        vec![
            Message::Events(EventBatch {
                origin: origin(1),
                events: vec![raw(r#"{"body":{"seq":1},"prev":"00"}"#), raw(r#"{"n":2}"#)],
            }),
            Message::Have(Have {
                device: dev("grill"),
                origin: origin(2),
                role: Role::KitchenScreen,
                name: "Grill".into(),
                heads,
            }),
            Message::Pull(Pull {
                req: 7,
                requester: dev("expo"),
                responder: dev("grill"),
                ranges: vec![Range {
                    origin: origin(1),
                    after: 700,
                    through: 812,
                }],
            }),
            Message::Sync(SyncBatch {
                req: 7,
                requester: dev("expo"),
                responder: dev("grill"),
                origin: origin(1),
                events: vec![raw(r#"{"n":701}"#)],
                last: true,
            }),
            Message::Heartbeat(Heartbeat {
                device: dev("bar-1"),
                origin: origin(3),
                role: Role::OrderTerminal,
                wall_ms: 1_767_225_600_000,
                unconfirmed: 4,
            }),
            Message::Gone(Gone {
                device: dev("bar-1"),
            }),
        ]
    }

    #[test]
    fn every_message_travels_on_its_topic_and_reads_back_the_same() {
        for message in samples() {
            let bytes = encode(&message).expect("encodes");
            let topic = message.topic().path(&store());
            let (parsed, back) = decode_publish(&store(), &topic, &bytes).expect("decodes");
            assert_eq!(parsed, message.topic());
            assert_eq!(encode(&back).expect("re-encodes"), bytes, "{topic}");
        }
    }

    #[test]
    fn the_wire_form_is_tagged_and_versioned() {
        let text = String::from_utf8(encode(&samples()[5]).expect("encodes")).expect("utf-8");
        assert_eq!(text, r#"{"v":1,"type":"gone","device":"bar-1"}"#);
        let text = String::from_utf8(encode(&samples()[1]).expect("encodes")).expect("utf-8");
        assert!(
            text.starts_with(r#"{"v":1,"type":"have","device":"grill""#),
            "{text}"
        );
        assert!(text.contains(&format!(r#""seq":812,"hash":"{}""#, "ab".repeat(32))));
    }

    #[test]
    fn envelopes_travel_byte_for_byte() {
        // Odd spacing, key order and number forms must survive: the hash covers these bytes.
        let envelope = "{\"body\" : {\"seq\":1, \"x\":1.50e0,\"a\":[ ]},\n \"prev\":\"00\"}";
        let message = Message::Events(EventBatch {
            origin: origin(9),
            events: vec![raw(envelope)],
        });
        let bytes = encode(&message).expect("encodes");
        let text = String::from_utf8(bytes.clone()).expect("utf-8");
        assert!(text.contains(envelope), "{text}");
        let Message::Events(back) = decode(&bytes).expect("decodes") else {
            panic!("not an events message");
        };
        assert_eq!(back.events[0].get(), envelope);
    }

    fn check_refused(payload: &str, expected: fn(&ProtocolError) -> bool) {
        match decode(payload.as_bytes()) {
            Ok(m) => panic!("accepted {payload}: {m:?}"),
            Err(e) => assert!(expected(&e), "{payload}: {e}"),
        }
    }

    #[test]
    fn bad_payloads_are_refused_with_a_reason() {
        use ProtocolError as E;
        let hb = |v: &str| {
            format!(
                r#"{{"v":{v},"type":"heartbeat","device":"grill","origin":"{}","role":"kitchen_screen","wall_ms":1,"unconfirmed":0}}"#,
                origin(1)
            )
        };
        assert!(decode(hb("1").as_bytes()).is_ok());
        check_refused(&hb("2"), |e| matches!(e, E::UnknownVersion(2)));
        check_refused(&hb("\"1\""), |e| matches!(e, E::Malformed(_)));
        check_refused("not json", |e| matches!(e, E::Malformed(_)));
        check_refused("", |e| matches!(e, E::Malformed(_)));
        check_refused(r#"{"type":"gone","device":"grill"}"#, |e| {
            matches!(e, E::Malformed(_))
        });
        check_refused(
            r#"{"v":1,"type":"order","device":"grill"}"#,
            |e| matches!(e, E::UnknownType(t) if t == "order"),
        );
        check_refused(
            r#"{"v":1,"type":"gone","device":"Grill"}"#,
            |e| matches!(e, E::Malformed(m) if m.contains("not a valid id")),
        );
        check_refused(r#"{"v":1,"type":"gone"}"#, |e| matches!(e, E::Malformed(_)));
        let pull = |req: &str, resp: &str, ranges: &str| {
            format!(
                r#"{{"v":1,"type":"pull","req":1,"requester":"{req}","responder":"{resp}","ranges":{ranges}}}"#
            )
        };
        let range = |after: u64, through: u64| {
            format!(
                r#"{{"origin":"{}","after":{after},"through":{through}}}"#,
                origin(1)
            )
        };
        assert!(decode(pull("expo", "grill", &format!("[{}]", range(0, 5))).as_bytes()).is_ok());
        check_refused(&pull("expo", "grill", "[]"), |e| matches!(e, E::Invalid(_)));
        check_refused(&pull("expo", "expo", &format!("[{}]", range(0, 5))), |e| {
            matches!(e, E::Invalid(_))
        });
        check_refused(&pull("expo", "grill", &format!("[{}]", range(5, 5))), |e| {
            matches!(e, E::Invalid(_))
        });
        check_refused(
            &pull(
                "expo",
                "grill",
                &format!("[{},{}]", range(0, 5), range(1, 9)),
            ),
            |e| matches!(e, E::Invalid(m) if m.contains("twice")),
        );
        let events = |list: &str| {
            format!(
                r#"{{"v":1,"type":"events","origin":"{}","events":{list}}}"#,
                origin(1)
            )
        };
        check_refused(&events("[1]"), |e| matches!(e, E::Invalid(_)));
        check_refused(&events(&format!("[{}]", vec!["{}"; 4097].join(","))), |e| {
            matches!(e, E::Invalid(_))
        });
        check_refused(
            &format!(
                r#"{{"v":1,"type":"have","device":"grill","origin":"{o}","role":"kitchen_screen","name":"G","heads":{{"{o}":{{"seq":0,"hash":"{h}"}}}}}}"#,
                o = origin(1),
                h = "00".repeat(32)
            ),
            |e| matches!(e, E::Invalid(_)),
        );
    }

    #[test]
    fn oversized_messages_are_refused_before_parsing() {
        let big = vec![b' '; MAX_MESSAGE_BYTES + 1];
        assert_eq!(
            decode(&big).map(|_| ()),
            Err(ProtocolError::TooLarge {
                len: MAX_MESSAGE_BYTES + 1,
                max: MAX_MESSAGE_BYTES
            })
        );
        // The largest envelope the journal accepts still travels alone.
        let body = "x".repeat(MAX_ENVELOPE_BYTES - 20);
        let message = Message::Events(EventBatch {
            origin: origin(1),
            events: vec![raw(&format!(r#"{{"body":"{body}"}}"#))],
        });
        let bytes = encode(&message).expect("the largest envelope fits in one message");
        assert!(decode(&bytes).is_ok());
        // Too many of them do not, and are not sent.
        let message = Message::Events(EventBatch {
            origin: origin(1),
            events: vec![raw(&format!(r#"{{"body":"{body}"}}"#)); 2],
        });
        assert!(matches!(
            encode(&message),
            Err(ProtocolError::TooLarge { .. })
        ));
    }

    #[test]
    fn a_role_from_a_newer_build_reads_as_unknown_and_new_fields_are_ignored() {
        let text = format!(
            r#"{{"v":1,"type":"heartbeat","device":"bar","origin":"{}","role":"drive_thru","wall_ms":1,"unconfirmed":0,"battery":0.5}}"#,
            origin(1)
        );
        let Message::Heartbeat(hb) = decode(text.as_bytes()).expect("decodes") else {
            panic!("not a heartbeat");
        };
        assert_eq!(hb.role, Role::Unknown);
    }

    fn check_topic(path: &str, expected: Option<Topic>) {
        assert_eq!(Topic::parse(&store(), path).ok(), expected, "{path}");
        if let Some(t) = expected {
            assert_eq!(t.path(&store()), path);
        }
    }

    #[test]
    fn topics_are_built_and_read_back() {
        let o = origin(0xbeef);
        check_topic(
            &format!("pass/v1/corner-bistro/ev/{o}"),
            Some(Topic::Events { origin: o.clone() }),
        );
        check_topic(
            "pass/v1/corner-bistro/have/grill",
            Some(Topic::Have {
                device: dev("grill"),
            }),
        );
        check_topic(
            "pass/v1/corner-bistro/pull/expo",
            Some(Topic::Pull {
                requester: dev("expo"),
            }),
        );
        check_topic(
            "pass/v1/corner-bistro/sync/expo/grill",
            Some(Topic::Sync {
                requester: dev("expo"),
                responder: dev("grill"),
            }),
        );
        check_topic(
            "pass/v1/corner-bistro/hb/bar-2",
            Some(Topic::Heartbeat {
                device: dev("bar-2"),
            }),
        );
        check_topic(
            "pass/v1/corner-bistro/gone/bar-2",
            Some(Topic::Gone {
                device: dev("bar-2"),
            }),
        );
        for bad in [
            "pass/v1/other-store/have/grill",
            "pass/v2/corner-bistro/have/grill",
            "pass/v1/corner-bistro/have/Grill",
            "pass/v1/corner-bistro/have/grill/x",
            "pass/v1/corner-bistro/have/",
            "pass/v1/corner-bistro/ev/grill",
            "pass/v1/corner-bistro/sync/expo",
            "pass/v1/corner-bistro/orders/grill",
            "/pass/v1/corner-bistro/have/grill",
            "",
        ] {
            check_topic(bad, None);
        }
    }

    #[test]
    fn a_message_on_another_devices_topic_is_refused() {
        let gone = Message::Gone(Gone {
            device: dev("grill"),
        });
        let bytes = encode(&gone).expect("encodes");
        let err = decode_publish(&store(), "pass/v1/corner-bistro/gone/expo", &bytes);
        assert!(matches!(err, Err(ProtocolError::TopicMismatch { .. })));
        let err = decode_publish(&store(), "pass/v1/corner-bistro/hb/grill", &bytes);
        assert!(matches!(err, Err(ProtocolError::TopicMismatch { .. })));
    }

    #[test]
    fn ids_are_short_lowercase_words() {
        for (id, ok) in [
            ("grill", true),
            ("bar-2", true),
            ("0", true),
            (&*"a".repeat(32), true),
            (&*"a".repeat(33), false),
            ("", false),
            ("Grill", false),
            ("bar_2", false),
            ("bar 2", false),
            ("grill/+", false),
            ("é", false),
        ] {
            assert_eq!(id.parse::<DeviceId>().is_ok(), ok, "{id:?}");
            assert_eq!(id.parse::<StoreId>().is_ok(), ok, "{id:?}");
        }
    }

    #[test]
    fn a_device_subscribes_to_its_answers_and_publishes_only_its_own_topics() {
        let subs = subscriptions(&store(), &dev("expo"));
        assert!(subs.contains(&"pass/v1/corner-bistro/sync/expo/+".to_owned()));
        assert!(!subs.iter().any(|s| s.contains("sync/+")));
        // Of the sample messages, grill (whose journal origin is 1) may publish the events of
        // origin 1, its own have and its answer to expo's pull, nothing else.
        let mine = publish_patterns(&store(), &dev("grill"), &origin(1));
        let allowed: Vec<bool> = samples()
            .iter()
            .map(|m| {
                let path = m.topic().path(&store());
                mine.iter().any(|p| topic_matches(p, &path))
            })
            .collect();
        assert_eq!(allowed, [true, true, false, true, false, false]);
    }

    fn topic_matches(pattern: &str, path: &str) -> bool {
        let (p, t): (Vec<_>, Vec<_>) = (pattern.split('/').collect(), path.split('/').collect());
        p.len() == t.len() && p.iter().zip(&t).all(|(a, b)| *a == "+" || a == b)
    }

    fn check_batches(sizes: &[usize], target: usize, max: usize, expected: &[usize]) {
        let envelopes: Vec<_> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| raw(&format!(r#"{{"i":"{i:03}","p":"{}"}}"#, "x".repeat(n))))
            .collect();
        let texts: Vec<String> = envelopes.iter().map(|e| e.get().to_owned()).collect();
        let out = batches(envelopes, target, max);
        let counts: Vec<usize> = out.iter().map(Vec::len).collect();
        assert_eq!(counts, expected, "sizes {sizes:?}");
        let flat: Vec<String> = out.iter().flatten().map(|e| e.get().to_owned()).collect();
        assert_eq!(flat, texts, "order and bytes kept");
    }

    #[test]
    fn batches_fill_to_the_target_and_keep_order() {
        // Each envelope is 18 bytes of framing plus its payload, plus a comma.
        check_batches(&[], 100, 10, &[]);
        check_batches(&[0, 0, 0], 100, 10, &[3]);
        check_batches(&[0, 0, 0], 100, 2, &[2, 1]);
        check_batches(&[30, 30, 30], 110, 10, &[2, 1]);
        check_batches(&[500, 0, 0], 100, 10, &[1, 2]);
        check_batches(&[0, 500, 0], 100, 10, &[1, 1, 1]);
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode(&bytes);
            let _ = decode_publish(&store(), "pass/v1/corner-bistro/hb/grill", &bytes);
        }

        #[test]
        fn decoding_damaged_messages_never_panics(
            which in 0usize..6,
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        ) {
            let mut bytes = encode(&samples()[which]).expect("encodes");
            for (at, b) in edits {
                let i = at.index(bytes.len());
                bytes[i] = b;
            }
            if let Ok(m) = decode(&bytes) {
                // Whatever is accepted is valid and encodes again.
                prop_assert!(m.validate().is_ok());
                prop_assert!(encode(&m).is_ok());
            }
        }
    }
}
