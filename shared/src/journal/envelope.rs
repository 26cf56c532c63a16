//! The envelope: one event as it is stored, forwarded and hashed.
//!
//! ```json
//! {"body":{"v":1,"origin":"9f2c…","seq":7,"hlc":…,"wall_ms":…,"kind":"device_joined","payload":{…}},
//!  "prev":"<64 hex>","hash":"<64 hex>","sig":"<128 hex>"}
//! ```
//!
//! `body` is kept as the exact bytes its origin first wrote (a [`RawValue`]): every device stores
//! and forwards those bytes and hashes them, never a re-serialisation, so a device that does not
//! know a field cannot break the chain. `hash = SHA-256(prev || body)`; `sig` is the origin's
//! ed25519 signature over `hash`, so the signature on a chain's head covers the whole chain.

use std::fmt;

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

/// Body format version written by this build.
pub const BODY_VERSION: u32 = 1;
/// Largest envelope accepted from the network or a file.
pub const MAX_ENVELOPE_BYTES: usize = 256 * 1024;
/// The `prev` of every origin's first event.
pub const GENESIS_PREV: [u8; 32] = [0; 32];

/// An origin id: 16 lowercase hex digits, the first 8 bytes of SHA-256 of the origin's public
/// key. Deriving it from the key means a first event can be checked against its own origin id:
/// nobody can announce a different key under an existing origin.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Origin(String);

impl Origin {
    pub fn from_public_key(key: &VerifyingKey) -> Origin {
        let digest = Sha256::digest(key.as_bytes());
        Origin(hex::encode(&digest[..8]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `s` is an origin id: 16 lowercase hex digits.
fn origin_ok(s: &str) -> bool {
    s.len() == 16
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl TryFrom<String> for Origin {
    type Error = EnvelopeError;
    fn try_from(s: String) -> Result<Origin, EnvelopeError> {
        if origin_ok(&s) {
            Ok(Origin(s))
        } else {
            Err(EnvelopeError::BadOrigin(s))
        }
    }
}

impl std::str::FromStr for Origin {
    type Err = EnvelopeError;
    fn from_str(s: &str) -> Result<Origin, EnvelopeError> {
        Origin::try_from(s.to_owned())
    }
}

impl From<Origin> for String {
    fn from(o: Origin) -> String {
        o.0
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why an envelope is malformed. Each of these sets the envelope aside.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("envelope is {0} bytes, more than the {MAX_ENVELOPE_BYTES}-byte limit")]
    TooLarge(usize),
    #[error("envelope is not valid JSON of the expected shape: {0}")]
    Malformed(String),
    #[error("body is not valid: {0}")]
    BadBody(String),
    #[error("`{0}` is not an origin id (16 lowercase hex digits)")]
    BadOrigin(String),
    #[error("`{0}` is not a valid event kind")]
    BadKind(String),
    #[error("hash does not match prev and body")]
    HashMismatch,
}

/// The fields every body carries, read from the stored bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyHeader {
    pub version: u32,
    pub origin: Origin,
    pub seq: u64,
    pub hlc: u64,
    pub wall_ms: i64,
    pub kind: String,
}

#[derive(Deserialize)]
struct BodyView<'a> {
    v: u32,
    origin: Origin,
    seq: u64,
    hlc: u64,
    wall_ms: i64,
    kind: String,
    #[serde(borrow)]
    payload: &'a RawValue,
}

/// [`BodyView`]'s fields with the same types, so the same checks, but the strings borrowed from
/// the body's text: one written with escapes cannot be borrowed and fails to read.
#[derive(Deserialize)]
struct BodyKeyView<'a> {
    #[serde(rename = "v")]
    _version: u32,
    origin: &'a str,
    seq: u64,
    #[serde(rename = "hlc")]
    _hlc: u64,
    #[serde(rename = "wall_ms")]
    _wall_ms: i64,
    kind: &'a str,
    #[serde(borrow, rename = "payload")]
    _payload: &'a RawValue,
}

#[derive(Serialize)]
struct BodyOut<'a> {
    v: u32,
    origin: &'a Origin,
    seq: u64,
    hlc: u64,
    wall_ms: i64,
    kind: &'a str,
    payload: &'a RawValue,
}

/// Checks an event kind: lowercase words joined by `_` or `.`.
pub fn valid_kind(kind: &str) -> bool {
    !kind.is_empty()
        && kind.len() <= 64
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
}

/// One event, exactly as stored and forwarded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    body: Box<RawValue>,
    #[serde(with = "hex_array")]
    prev: [u8; 32],
    #[serde(with = "hex_array")]
    hash: [u8; 32],
    #[serde(with = "hex_array")]
    sig: [u8; 64],
}

/// `SHA-256(prev || body)`.
pub fn chain_hash(prev: &[u8; 32], body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(body);
    h.finalize().into()
}

impl Envelope {
    /// Writes a new event's body and its chain hash, unsigned yet ([`Envelope::signed`] adds
    /// the signature). Used for the journal's own events only, once `seq` and `prev` are known.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn stamp(
        origin: &Origin,
        seq: u64,
        hlc: u64,
        wall_ms: i64,
        kind: &str,
        payload: &RawValue,
        prev: &[u8; 32],
    ) -> Result<(Box<RawValue>, [u8; 32]), EnvelopeError> {
        if !valid_kind(kind) {
            return Err(EnvelopeError::BadKind(kind.to_owned()));
        }
        let out = BodyOut {
            v: BODY_VERSION,
            origin,
            seq,
            hlc,
            wall_ms,
            kind,
            payload,
        };
        // Serialised straight into a raw value: written once, never parsed back.
        let body = serde_json::value::to_raw_value(&out)
            .map_err(|e| EnvelopeError::BadBody(e.to_string()))?;
        let hash = chain_hash(prev, body.get().as_bytes());
        Ok((body, hash))
    }

    /// A stamped event with its signature over `hash`.
    pub(crate) fn signed(
        body: Box<RawValue>,
        prev: [u8; 32],
        hash: [u8; 32],
        sig: [u8; 64],
    ) -> Envelope {
        Envelope {
            body,
            prev,
            hash,
            sig,
        }
    }

    /// Rebuilds an envelope from stored columns, without checking anything.
    pub(crate) fn from_parts(
        body: String,
        prev: [u8; 32],
        hash: [u8; 32],
        sig: [u8; 64],
    ) -> Result<Envelope, EnvelopeError> {
        let body =
            RawValue::from_string(body).map_err(|e| EnvelopeError::BadBody(e.to_string()))?;
        Ok(Envelope {
            body,
            prev,
            hash,
            sig,
        })
    }

    /// Parses one envelope from untrusted bytes: size limit, shape, body header, and the hash.
    /// The signature and the chain link need the journal and are checked there.
    pub fn parse(bytes: &[u8]) -> Result<(Envelope, BodyHeader), EnvelopeError> {
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(EnvelopeError::TooLarge(bytes.len()));
        }
        let env: Envelope =
            serde_json::from_slice(bytes).map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
        let header = env.header()?;
        if !env.hash_ok() {
            return Err(EnvelopeError::HashMismatch);
        }
        Ok((env, header))
    }

    /// Reads the body's header fields.
    pub fn header(&self) -> Result<BodyHeader, EnvelopeError> {
        body_header(self.body.get())
    }

    /// The payload's bytes, exactly as written by the origin.
    pub fn payload(&self) -> Result<&RawValue, EnvelopeError> {
        let view: BodyView<'_> = serde_json::from_str(self.body.get())
            .map_err(|e| EnvelopeError::BadBody(e.to_string()))?;
        Ok(view.payload)
    }

    pub fn body(&self) -> &str {
        self.body.get()
    }

    pub fn prev(&self) -> &[u8; 32] {
        &self.prev
    }

    pub fn hash(&self) -> &[u8; 32] {
        &self.hash
    }

    pub fn sig(&self) -> &[u8; 64] {
        &self.sig
    }

    /// Whether `hash` is the hash of `prev` and the body bytes.
    pub fn hash_ok(&self) -> bool {
        chain_hash(&self.prev, self.body.get().as_bytes()) == self.hash
    }

    /// Whether `sig` is `key`'s signature over `hash`.
    pub fn signature_ok(&self, key: &VerifyingKey) -> bool {
        signature_ok(key, &self.hash, &self.sig)
    }

    /// The envelope as one line of JSON (the body bytes unchanged).
    pub fn to_json(&self) -> String {
        // Serialising a struct of a raw value and hex strings cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Reads a body's header fields straight from its stored text, in one pass over the whole body
/// that also proves it well-formed JSON (a stored body need not be rebuilt into an [`Envelope`]
/// first): it succeeds exactly when [`Envelope::from_parts`] and [`Envelope::header`] both
/// would, with the same fields. Which of the two refused a body is theirs to say.
pub(crate) fn body_header(body: &str) -> Result<BodyHeader, EnvelopeError> {
    let view: BodyView<'_> =
        serde_json::from_str(body).map_err(|e| EnvelopeError::BadBody(e.to_string()))?;
    if view.seq == 0 {
        return Err(EnvelopeError::BadBody("seq starts at 1".into()));
    }
    if !valid_kind(&view.kind) {
        return Err(EnvelopeError::BadKind(view.kind));
    }
    Ok(BodyHeader {
        version: view.v,
        origin: view.origin,
        seq: view.seq,
        hlc: view.hlc,
        wall_ms: view.wall_ms,
        kind: view.kind,
    })
}

/// The origin and seq a stored body names, read without copying anything out of it. `Some`
/// only where [`body_header`] would succeed with that origin and seq; `None` also where it
/// might succeed all the same (a string written with escapes), so `None` means: ask it.
pub(crate) fn body_origin_seq(body: &str) -> Option<(&str, u64)> {
    let view: BodyKeyView<'_> = serde_json::from_str(body).ok()?;
    (view.seq != 0 && valid_kind(view.kind) && origin_ok(view.origin))
        .then_some((view.origin, view.seq))
}

/// Whether `sig` is `key`'s signature over `hash` (an event's stored columns).
pub(crate) fn signature_ok(key: &VerifyingKey, hash: &[u8; 32], sig: &[u8; 64]) -> bool {
    key.verify(hash, &Signature::from_bytes(sig)).is_ok()
}

mod hex_array {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer, const N: usize>(
        bytes: &[u8; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let text = <&str>::deserialize(d)?;
        let mut out = [0u8; N];
        hex::decode_to_slice(text, &mut out).map_err(serde::de::Error::custom)?;
        Ok(out)
    }
}

/// Checks an origin's first event and returns the key it announces: kind `device_joined`, a
/// well-formed public key whose derived origin id is the event's origin, the genesis `prev`,
/// and a signature by that key.
pub(crate) fn genesis_key(header: &BodyHeader, env: &Envelope) -> Result<VerifyingKey, String> {
    if header.seq != 1 {
        return Err(format!("seq {} is not an origin's first event", header.seq));
    }
    if header.kind != "device_joined" {
        return Err(format!(
            "first event is `{}`, not `device_joined`",
            header.kind
        ));
    }
    if env.prev != GENESIS_PREV {
        return Err("first event does not start a chain (prev is not zero)".into());
    }
    let payload = env.payload().map_err(|e| e.to_string())?;
    let joined: crate::event::DeviceJoined =
        serde_json::from_str(payload.get()).map_err(|e| format!("first event's payload: {e}"))?;
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(&joined.public_key, &mut bytes).map_err(|e| format!("public key: {e}"))?;
    let key = VerifyingKey::from_bytes(&bytes).map_err(|e| format!("public key: {e}"))?;
    if Origin::from_public_key(&key) != header.origin {
        return Err("the announced key does not belong to this origin".into());
    }
    if !env.signature_ok(&key) {
        return Err("signature does not verify".into());
    }
    Ok(key)
}
