//! The store journal's event vocabulary, version 1.
//!
//! An event is an immutable fact. In a body, `kind` names the variant and `payload` holds its
//! fields (the enum is tagged by `kind` with its content in `payload`). Within v1 changes are
//! additive only: new kinds, new optional fields. A device meeting a kind it does not know keeps
//! and forwards the event untouched and leaves it out of its projections.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// What a device is in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceRole {
    KitchenScreen,
    OrderTerminal,
    /// The `pass` command line writing on a store's behalf (store setup).
    Console,
}

/// The first event of every origin: announces its signing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceJoined {
    /// The ed25519 public key, 64 hex digits. The origin id is derived from it.
    pub public_key: String,
    pub role: DeviceRole,
    /// A name people recognise ("grill screen", "bar terminal").
    pub name: String,
}

/// A manager retired a device that is gone for good: nobody waits for it any more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRetired {
    pub origin: String,
    pub reason: String,
}

/// Every event kind this build understands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
pub enum Event {
    DeviceJoined(DeviceJoined),
    DeviceRetired(DeviceRetired),
}

/// An event ready for the journal's writer: its kind and its payload's bytes.
#[derive(Debug)]
pub struct NewEvent {
    pub kind: String,
    pub payload: Box<RawValue>,
}

#[derive(Deserialize)]
struct Parts {
    kind: String,
    payload: Box<RawValue>,
}

impl Event {
    /// Serialises the event into kind and payload bytes (done by the caller, off the writer).
    pub fn to_new(&self) -> Result<NewEvent, serde_json::Error> {
        let text = serde_json::to_string(self)?;
        let parts: Parts = serde_json::from_str(&text)?;
        Ok(NewEvent {
            kind: parts.kind,
            payload: parts.payload,
        })
    }

    /// Reads a stored event. `Ok(None)` for a kind this build does not know.
    pub fn decode(kind: &str, payload: &RawValue) -> Result<Option<Event>, serde_json::Error> {
        if !KNOWN_KINDS.contains(&kind) {
            return Ok(None);
        }
        #[derive(Serialize)]
        struct Tagged<'a> {
            kind: &'a str,
            payload: &'a RawValue,
        }
        let text = serde_json::to_string(&Tagged { kind, payload })?;
        serde_json::from_str(&text).map(Some)
    }
}

/// Kinds understood by this build (kept in step with [`Event`] by a test).
pub const KNOWN_KINDS: &[&str] = &["device_joined", "device_retired"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_list_matches_the_enum() {
        let samples = [
            Event::DeviceJoined(DeviceJoined {
                public_key: "00".repeat(32),
                role: DeviceRole::KitchenScreen,
                name: "grill".into(),
            }),
            Event::DeviceRetired(DeviceRetired {
                origin: "0".repeat(16),
                reason: "broken".into(),
            }),
        ];
        assert_eq!(samples.len(), KNOWN_KINDS.len());
        for ev in samples {
            let new = ev.to_new().expect("serialise");
            assert!(
                KNOWN_KINDS.contains(&new.kind.as_str()),
                "{} missing",
                new.kind
            );
            let back = Event::decode(&new.kind, &new.payload).expect("decode");
            assert_eq!(back, Some(ev));
        }
    }

    #[test]
    fn unknown_kinds_decode_to_none_and_unknown_fields_are_ignored() {
        let payload = RawValue::from_string(
            r#"{"origin":"0000000000000000","reason":"x","future":1}"#.into(),
        )
        .expect("raw");
        assert!(
            Event::decode("device_retired", &payload)
                .expect("decode")
                .is_some()
        );
        assert_eq!(
            Event::decode("table_reserved", &payload).expect("decode"),
            None
        );
    }
}
