//! The integration inbox on the wire: orders from online-ordering and delivery systems, and
//! the store's answers.
//!
//! An integrator (a delivery platform's connector, the restaurant's web shop) is an outside
//! MQTT client with a **source** id of its own (same rules as a device id). It publishes each
//! order on `pass/v1/<store>/inbox/orders/<source>` (QoS 1) and reads every answer on
//! `pass/v1/<store>/inbox/replies/<source>`. The source in the topic lets a broker ACL give each
//! integrator exactly its two topics, and lets the store answer even an order it cannot read.
//!
//! ```json
//! {"v":1,"type":"order","source":"deliverydash","order_id":"DD-10023","order_type":"delivery",
//!  "customer":"Sam Lee","requested_for":"2026-05-01T19:30:00+01:00","notes":"ring twice",
//!  "items":[{"item":"classic_burger","qty":2,"modifiers":["medium","add_bacon"],
//!            "notes":"no pickles","unit_price":"16.50"},
//!           {"item":"fries","qty":1}],
//!  "total":"41.03"}
//! ```
//!
//! Items are named by their menu id, modifiers likewise. Prices are optional: Pass prices every
//! order from the menu in force and never from the message; a `unit_price` (the item with its
//! modifiers, for one) or a `total` (the check total with tax) that is given must match, or the
//! order is refused. Unknown fields are refused too, so a misspelt `modifers` cannot silently drop
//! a choice.
//!
//! Every order is answered, once per delivery, on the reply topic: accepted with the Pass order
//! number, or refused with a machine-readable [`RefusalCode`] and a reason for a person. Orders
//! are deduplicated on (source, order id): a repeat gets the first answer again, byte for byte,
//! so an integrator retries until it hears back and never makes a second order.
//!
//! ```json
//! {"v":1,"type":"accepted","source":"deliverydash","order_id":"DD-10023","number":"W7",
//!  "check":"inbox:deliverydash:DD-10023","total":"41.03"}
//! {"v":1,"type":"refused","source":"deliverydash","order_id":"DD-10024","code":"eighty_sixed",
//!  "reason":"`fish_tacos` is 86'd: none left to sell","line":0}
//! ```
//!
//! The document `shared/asyncapi/pass.asyncapi.json` describes both messages with JSON Schemas.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{StoreId, VERSION, prefix, valid_id};
use crate::net::protocol::ProtocolError;

/// Largest order message accepted, in bytes: far more than a 100-line order needs, small enough
/// that nobody can make the ingesting device parse megabytes.
pub const MAX_ORDER_BYTES: usize = 64 * 1024;
/// Most lines one order may have.
pub const MAX_ORDER_LINES: usize = 100;
/// Most of one item on one line.
pub const MAX_LINE_QTY: u32 = 99;
/// Most modifiers on one line.
pub const MAX_LINE_MODIFIERS: usize = 32;
/// Longest external order id, in characters.
pub const MAX_ORDER_ID_CHARS: usize = 64;
/// Longest customer name, in characters.
pub const MAX_CUSTOMER_CHARS: usize = 64;
/// Longest note (on the order or on a line), in characters: the domain's limit for a note.
pub const MAX_NOTE_CHARS: usize = crate::domain::check::MAX_TEXT_CHARS;
/// Longest menu id (item or modifier), in characters: the menu's limit.
pub const MAX_MENU_ID_CHARS: usize = 64;

id_type!(
    /// An integrator's id in the store, the `<source>` of its inbox topics: 1 to 32 characters
    /// of `a-z`, `0-9` and `-`.
    SourceId
);

/// A topic of the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxTopic {
    /// `inbox/orders/<source>`: where `source` publishes its orders.
    Orders { source: SourceId },
    /// `inbox/replies/<source>`: where the store answers them.
    Replies { source: SourceId },
}

impl InboxTopic {
    /// The topic's full path for `store`.
    pub fn path(&self, store: &StoreId) -> String {
        let p = prefix(store);
        match self {
            InboxTopic::Orders { source } => format!("{p}/inbox/orders/{source}"),
            InboxTopic::Replies { source } => format!("{p}/inbox/replies/{source}"),
        }
    }

    /// Reads an inbox topic of `store`; anything else is refused.
    pub fn parse(store: &StoreId, path: &str) -> Result<InboxTopic, ProtocolError> {
        let bad = || ProtocolError::BadTopic(path.chars().take(200).collect());
        let rest = path
            .strip_prefix(&prefix(store))
            .and_then(|r| r.strip_prefix("/inbox/"))
            .ok_or_else(bad)?;
        let source = |s: &str| s.parse::<SourceId>().map_err(|_| bad());
        match rest.split('/').collect::<Vec<_>>().as_slice() {
            ["orders", s] => Ok(InboxTopic::Orders { source: source(s)? }),
            ["replies", s] => Ok(InboxTopic::Replies { source: source(s)? }),
            _ => Err(bad()),
        }
    }
}

/// Whether `path` is under this store's `inbox/` (a valid inbox topic or not).
pub fn is_inbox_topic(store: &StoreId, path: &str) -> bool {
    path.strip_prefix(&prefix(store))
        .is_some_and(|rest| rest.starts_with("/inbox/"))
}

/// What the ingesting device subscribes to: every source's orders.
pub fn orders_filter(store: &StoreId) -> String {
    format!("{}/inbox/orders/+", prefix(store))
}

/// What the ingesting device publishes on (with `+` wildcards), for its broker ACL.
pub fn ingest_publish_patterns(store: &StoreId) -> Vec<String> {
    vec![format!("{}/inbox/replies/+", prefix(store))]
}

/// How an order is to reach the guest. Dine-in orders come from the floor, not the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderTypeV1 {
    Takeout,
    Delivery,
    Online,
}

impl From<OrderTypeV1> for crate::domain::order::OrderType {
    fn from(t: OrderTypeV1) -> Self {
        match t {
            OrderTypeV1::Takeout => Self::Takeout,
            OrderTypeV1::Delivery => Self::Delivery,
            OrderTypeV1::Online => Self::Online,
        }
    }
}

/// One line of an order as an integrator sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderItemV1 {
    /// The item's menu id.
    pub item: String,
    pub qty: u32,
    /// Menu ids of the chosen modifiers, every forced choice included.
    #[serde(default)]
    pub modifiers: Vec<String>,
    /// For the kitchen ("no pickles", "allergy: sesame").
    #[serde(default)]
    pub notes: Option<String>,
    /// The price the integrator showed for one, modifiers included (a decimal string): compared,
    /// never used.
    #[serde(default)]
    pub unit_price: Option<String>,
}

/// An order as an integrator sends it, on `inbox/orders/<source>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderV1 {
    pub source: SourceId,
    /// The integrator's own id for the order: 1 to 64 characters of `A-Z`, `a-z`, `0-9`, `.`,
    /// `_`, `:` and `-`.
    pub order_id: String,
    pub order_type: OrderTypeV1,
    /// The guest's name.
    pub customer: String,
    /// When the guest wants it, RFC 3339 with an offset; absent for as soon as possible.
    #[serde(default)]
    pub requested_for: Option<String>,
    /// For the whole order.
    #[serde(default)]
    pub notes: Option<String>,
    pub items: Vec<OrderItemV1>,
    /// The check total the integrator showed (a decimal string): compared, never used.
    #[serde(default)]
    pub total: Option<String>,
}

/// Why an order was refused: a stable, machine-readable code (the reply's `code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalCode {
    /// More than [`MAX_ORDER_BYTES`].
    TooLarge,
    /// Not JSON, or not an order's shape (a missing or unknown field, a wrong type).
    Malformed,
    /// `v` is not 1.
    UnknownVersion,
    /// The payload's `source` is not the topic's.
    SourceMismatch,
    BadOrderId,
    /// Not takeout, delivery or online.
    BadOrderType,
    BadCustomer,
    BadRequestedTime,
    /// A note too long, or with control characters.
    BadNotes,
    /// An order without lines, or with more than [`MAX_ORDER_LINES`].
    BadItems,
    /// A quantity of 0 or more than [`MAX_LINE_QTY`].
    BadQuantity,
    /// An item the menu in force does not have.
    UnknownItem,
    /// A forced choice (doneness, dressing…) missing.
    MissingForcedModifier,
    /// A modifier the item does not offer, chosen twice, or too many or too few of a group.
    BadModifiers,
    /// An item that has run out.
    EightySixed,
    /// A price given that is not a decimal amount.
    BadPrice,
    /// A price given that is not what the menu charges.
    PriceMismatch,
    /// The store has no menu yet.
    NoMenu,
    /// The store cannot take the order now (its journal refused the write, its order numbers
    /// for the day are used up): try again later.
    Unavailable,
}

impl RefusalCode {
    /// Every code, in a fixed order.
    pub const ALL: [RefusalCode; 19] = [
        RefusalCode::TooLarge,
        RefusalCode::Malformed,
        RefusalCode::UnknownVersion,
        RefusalCode::SourceMismatch,
        RefusalCode::BadOrderId,
        RefusalCode::BadOrderType,
        RefusalCode::BadCustomer,
        RefusalCode::BadRequestedTime,
        RefusalCode::BadNotes,
        RefusalCode::BadItems,
        RefusalCode::BadQuantity,
        RefusalCode::UnknownItem,
        RefusalCode::MissingForcedModifier,
        RefusalCode::BadModifiers,
        RefusalCode::EightySixed,
        RefusalCode::BadPrice,
        RefusalCode::PriceMismatch,
        RefusalCode::NoMenu,
        RefusalCode::Unavailable,
    ];
}

impl fmt::Display for RefusalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        f.write_str(&text)
    }
}

/// A refusal: its code, a reason for a person, and the line (index in `items`) it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: RefusalCode,
    pub reason: String,
    pub line: Option<usize>,
}

impl Refusal {
    pub fn new(code: RefusalCode, reason: impl Into<String>) -> Refusal {
        Refusal {
            code,
            reason: reason.into(),
            line: None,
        }
    }

    /// The same refusal, about line `index` of the order.
    pub fn on_line(mut self, index: usize) -> Refusal {
        self.line = Some(index);
        self
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{} (line {line}): {}", self.code, self.reason),
            None => write!(f, "{}: {}", self.code, self.reason),
        }
    }
}

/// The order was taken: it is in the journal and on its way to the kitchen screens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptedV1 {
    pub source: SourceId,
    pub order_id: String,
    /// The Pass order number the kitchen and the pass call out (`W7`).
    pub number: String,
    /// The check Pass opened for it.
    pub check: String,
    /// The check total with tax, as Pass priced it.
    pub total: String,
}

/// The order was not taken, and nothing of it was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedV1 {
    pub source: SourceId,
    /// The order's id when it could be read; `null` otherwise.
    pub order_id: Option<String>,
    pub code: RefusalCode,
    pub reason: String,
    /// The index in `items` of the line refused, when the refusal is about one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

/// An answer on `inbox/replies/<source>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ReplyV1 {
    Accepted(AcceptedV1),
    Refused(RefusedV1),
}

impl ReplyV1 {
    /// The refusal of an order from `source` (whose id is `order_id` when it could be read).
    pub fn refused(source: &SourceId, order_id: Option<String>, refusal: Refusal) -> ReplyV1 {
        ReplyV1::Refused(RefusedV1 {
            source: source.clone(),
            order_id,
            code: refusal.code,
            reason: refusal.reason,
            line: refusal.line,
        })
    }

    /// The topic the answer goes on.
    pub fn topic(&self) -> InboxTopic {
        let source = match self {
            ReplyV1::Accepted(a) => a.source.clone(),
            ReplyV1::Refused(r) => r.source.clone(),
        };
        InboxTopic::Replies { source }
    }
}

#[derive(Serialize)]
struct Framed<'a, T> {
    v: u64,
    #[serde(flatten)]
    message: &'a T,
}

/// The answer as it goes on the wire.
pub fn encode_reply(reply: &ReplyV1) -> Result<Vec<u8>, ProtocolError> {
    serde_json::to_vec(&Framed {
        v: VERSION,
        message: reply,
    })
    .map_err(|e| ProtocolError::Encode(e.to_string()))
}

/// Reads an answer (what an integrator does; the tests too).
pub fn decode_reply(bytes: &[u8]) -> Result<ReplyV1, ProtocolError> {
    #[derive(Deserialize)]
    struct Version {
        v: u64,
    }
    let malformed = |e: serde_json::Error| ProtocolError::Malformed(e.to_string());
    let version: Version = serde_json::from_slice(bytes).map_err(malformed)?;
    if version.v != VERSION {
        return Err(ProtocolError::UnknownVersion(version.v));
    }
    serde_json::from_slice(bytes).map_err(malformed)
}

/// The order as it goes on the wire (what an integrator sends; the tests too).
pub fn encode_order(order: &OrderV1) -> Result<Vec<u8>, ProtocolError> {
    #[derive(Serialize)]
    struct Tagged<'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        #[serde(flatten)]
        order: &'a OrderV1,
    }
    serde_json::to_vec(&Framed {
        v: VERSION,
        message: &Tagged {
            kind: "order",
            order,
        },
    })
    .map_err(|e| ProtocolError::Encode(e.to_string()))
}

/// The order id of a message that may not be a valid order, when it has a readable one: so
/// that even a refusal of a malformed order names the order it refuses.
pub fn order_id_of(bytes: &[u8]) -> Option<String> {
    if bytes.len() > MAX_ORDER_BYTES {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let id = value.get("order_id")?.as_str()?;
    valid_order_id(id).then(|| id.to_owned())
}

/// An external order id: 1 to [`MAX_ORDER_ID_CHARS`] of `A-Z a-z 0-9 . _ : -`.
pub fn valid_order_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ORDER_ID_CHARS
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_:".contains(&b))
}

/// A person's text: at most `max` characters, no control characters (a line break included:
/// one line on a ticket).
fn valid_text(text: &str, max: usize) -> bool {
    text.chars().count() <= max && !text.chars().any(char::is_control)
}

/// A menu id's spelling (the menu's rules): 1 to 64 of `a-z 0-9 _ -`, starting with a letter
/// or digit.
fn valid_menu_id(id: &str) -> bool {
    id.len() <= MAX_MENU_ID_CHARS
        && id
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Reads an order received on `inbox/orders/<source>` from untrusted bytes and checks
/// everything that does not need the menu: size, version, type, shape, the source against the
/// topic's, ids, texts, counts and quantities. What needs the menu (items, modifiers, 86,
/// prices) is checked where the order is priced.
pub fn decode_order(source: &SourceId, bytes: &[u8]) -> Result<OrderV1, Refusal> {
    use RefusalCode as C;
    if bytes.len() > MAX_ORDER_BYTES {
        return Err(Refusal::new(
            C::TooLarge,
            format!(
                "the order is {} bytes; the most accepted is {MAX_ORDER_BYTES}",
                bytes.len()
            ),
        ));
    }
    #[derive(Deserialize)]
    struct Probe {
        v: serde_json::Value,
        #[serde(rename = "type")]
        kind: serde_json::Value,
    }
    let malformed = |e: serde_json::Error| Refusal::new(C::Malformed, e.to_string());
    let probe: Probe = serde_json::from_slice(bytes).map_err(malformed)?;
    if probe.v.as_u64() != Some(VERSION) {
        return Err(Refusal::new(
            C::UnknownVersion,
            format!("`v` is {}; this store speaks version {VERSION}", probe.v),
        ));
    }
    if probe.kind.as_str() != Some("order") {
        return Err(Refusal::new(
            C::Malformed,
            format!("`type` is {}; an order has \"order\"", probe.kind),
        ));
    }
    // The framing fields are read above; the order's own fields are read strictly.
    let mut value: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(bytes).map_err(malformed)?;
    value.remove("v");
    value.remove("type");
    if let Some(t) = value.get("order_type").and_then(|t| t.as_str())
        && serde_json::from_value::<OrderTypeV1>(serde_json::Value::from(t)).is_err()
    {
        return Err(Refusal::new(
            C::BadOrderType,
            format!("order type `{t}`: the inbox takes takeout, delivery or online orders"),
        ));
    }
    let order: OrderV1 =
        serde_json::from_value(serde_json::Value::Object(value)).map_err(malformed)?;
    order.validate(source)?;
    Ok(order)
}

impl OrderV1 {
    /// Checks what the type system does not (see [`decode_order`]).
    pub fn validate(&self, source: &SourceId) -> Result<(), Refusal> {
        use RefusalCode as C;
        if self.source != *source {
            return Err(Refusal::new(
                C::SourceMismatch,
                format!(
                    "the order says source `{}` but came on the topic of `{source}`",
                    self.source
                ),
            ));
        }
        if !valid_order_id(&self.order_id) {
            return Err(Refusal::new(
                C::BadOrderId,
                format!(
                    "an order id is 1 to {MAX_ORDER_ID_CHARS} characters of A-Z, a-z, 0-9, '.', '_', ':' and '-'"
                ),
            ));
        }
        if self.customer.trim().is_empty() || !valid_text(&self.customer, MAX_CUSTOMER_CHARS) {
            return Err(Refusal::new(
                C::BadCustomer,
                format!("the customer's name is 1 to {MAX_CUSTOMER_CHARS} characters on one line"),
            ));
        }
        if let Some(notes) = &self.notes
            && !valid_text(notes, MAX_NOTE_CHARS)
        {
            return Err(Refusal::new(
                C::BadNotes,
                format!("the order's notes are at most {MAX_NOTE_CHARS} characters on one line"),
            ));
        }
        if self.items.is_empty() || self.items.len() > MAX_ORDER_LINES {
            return Err(Refusal::new(
                C::BadItems,
                format!(
                    "an order has 1 to {MAX_ORDER_LINES} lines, not {}",
                    self.items.len()
                ),
            ));
        }
        for (index, line) in self.items.iter().enumerate() {
            line.validate().map_err(|r| r.on_line(index))?;
        }
        Ok(())
    }
}

impl OrderItemV1 {
    fn validate(&self) -> Result<(), Refusal> {
        use RefusalCode as C;
        if !valid_menu_id(&self.item) {
            return Err(Refusal::new(
                C::UnknownItem,
                format!(
                    "`{}` is not a menu id",
                    self.item
                        .chars()
                        .take(MAX_MENU_ID_CHARS)
                        .collect::<String>()
                ),
            ));
        }
        if self.qty == 0 || self.qty > MAX_LINE_QTY {
            return Err(Refusal::new(
                C::BadQuantity,
                format!(
                    "a quantity is 1 to {MAX_LINE_QTY}, not {} ({})",
                    self.qty, self.item
                ),
            ));
        }
        if self.modifiers.len() > MAX_LINE_MODIFIERS {
            return Err(Refusal::new(
                C::BadModifiers,
                format!("at most {MAX_LINE_MODIFIERS} modifiers on a line"),
            ));
        }
        if let Some(bad) = self.modifiers.iter().find(|m| !valid_menu_id(m)) {
            return Err(Refusal::new(
                C::BadModifiers,
                format!(
                    "`{}` is not a menu id",
                    bad.chars().take(MAX_MENU_ID_CHARS).collect::<String>()
                ),
            ));
        }
        if let Some(notes) = &self.notes
            && !valid_text(notes, MAX_NOTE_CHARS)
        {
            return Err(Refusal::new(
                C::BadNotes,
                format!("a line's notes are at most {MAX_NOTE_CHARS} characters on one line"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> StoreId {
        "corner-bistro".parse().expect("store")
    }

    fn dash() -> SourceId {
        "deliverydash".parse().expect("source")
    }

    fn sample() -> OrderV1 {
        OrderV1 {
            source: dash(),
            order_id: "DD-10023".into(),
            order_type: OrderTypeV1::Delivery,
            customer: "Sam Lee".into(),
            requested_for: Some("2026-05-01T19:30:00+01:00".into()),
            notes: Some("ring twice".into()),
            items: vec![
                OrderItemV1 {
                    item: "classic_burger".into(),
                    qty: 2,
                    modifiers: vec!["medium".into(), "add_bacon".into()],
                    notes: Some("no pickles".into()),
                    unit_price: Some("16.50".into()),
                },
                OrderItemV1 {
                    item: "fries".into(),
                    qty: 1,
                    modifiers: Vec::new(),
                    notes: None,
                    unit_price: None,
                },
            ],
            total: None,
        }
    }

    #[test]
    fn inbox_topics_are_built_and_read_back() {
        for topic in [
            InboxTopic::Orders { source: dash() },
            InboxTopic::Replies { source: dash() },
        ] {
            let path = topic.path(&store());
            assert_eq!(InboxTopic::parse(&store(), &path), Ok(topic));
        }
        assert_eq!(
            InboxTopic::Orders { source: dash() }.path(&store()),
            "pass/v1/corner-bistro/inbox/orders/deliverydash"
        );
        for bad in [
            "pass/v1/corner-bistro/inbox/orders",
            "pass/v1/corner-bistro/inbox/orders/",
            "pass/v1/corner-bistro/inbox/orders/Dash",
            "pass/v1/corner-bistro/inbox/orders/dash/x",
            "pass/v1/corner-bistro/inbox/menu/dash",
            "pass/v1/other/inbox/orders/dash",
            "pass/v1/corner-bistro/have/dash",
            "pass/v1/corner-bistro-2/inbox/orders/dash",
        ] {
            assert!(InboxTopic::parse(&store(), bad).is_err(), "{bad}");
        }
        assert_eq!(
            orders_filter(&store()),
            "pass/v1/corner-bistro/inbox/orders/+"
        );
        assert!(is_inbox_topic(
            &store(),
            "pass/v1/corner-bistro/inbox/orders/Bad"
        ));
        assert!(!is_inbox_topic(
            &store(),
            "pass/v1/corner-bistro/have/inbox"
        ));
        assert!(!is_inbox_topic(
            &store(),
            "pass/v1/corner-bistro-2/inbox/orders/x"
        ));
    }

    #[test]
    fn an_order_travels_and_reads_back_the_same() {
        let bytes = encode_order(&sample()).expect("encodes");
        let text = String::from_utf8(bytes.clone()).expect("utf-8");
        assert!(
            text.starts_with(r#"{"v":1,"type":"order","source":"deliverydash""#),
            "{text}"
        );
        assert_eq!(decode_order(&dash(), &bytes), Ok(sample()));
        assert_eq!(order_id_of(&bytes).as_deref(), Some("DD-10023"));
    }

    fn check(payload: &str, expected: RefusalCode, line: Option<usize>) {
        match decode_order(&dash(), payload.as_bytes()) {
            Ok(o) => panic!("accepted {payload}: {o:?}"),
            Err(r) => {
                assert_eq!((r.code, r.line), (expected, line), "{payload}: {r}");
                assert!(!r.reason.is_empty());
            }
        }
    }

    fn with(edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let mut v: serde_json::Value =
            serde_json::from_slice(&encode_order(&sample()).expect("encodes")).expect("json");
        edit(&mut v);
        v.to_string()
    }

    #[test]
    fn bad_orders_are_refused_with_a_code_and_a_reason() {
        use RefusalCode as C;
        check("not json", C::Malformed, None);
        check("", C::Malformed, None);
        check("[]", C::Malformed, None);
        check(&with(|v| v["v"] = 2.into()), C::UnknownVersion, None);
        check(&with(|v| v["v"] = "1".into()), C::UnknownVersion, None);
        check(&with(|v| v["type"] = "menu".into()), C::Malformed, None);
        check(
            &with(|v| {
                v.as_object_mut().expect("object").remove("customer");
            }),
            C::Malformed,
            None,
        );
        check(&with(|v| v["modifers"] = 1.into()), C::Malformed, None);
        check(
            &with(|v| v["items"][1]["modifers"] = serde_json::json!(["x"])),
            C::Malformed,
            None,
        );
        check(
            &with(|v| v["items"][0]["qty"] = (-1).into()),
            C::Malformed,
            None,
        );
        check(
            &with(|v| v["items"][0]["qty"] = 1.5.into()),
            C::Malformed,
            None,
        );
        check(
            &with(|v| v["source"] = "other".into()),
            C::SourceMismatch,
            None,
        );
        check(&with(|v| v["order_id"] = "".into()), C::BadOrderId, None);
        check(&with(|v| v["order_id"] = "a/b".into()), C::BadOrderId, None);
        check(
            &with(|v| v["order_id"] = "x".repeat(65).into()),
            C::BadOrderId,
            None,
        );
        check(
            &with(|v| v["order_type"] = "dine_in".into()),
            C::BadOrderType,
            None,
        );
        check(
            &with(|v| v["order_type"] = "drone".into()),
            C::BadOrderType,
            None,
        );
        check(&with(|v| v["customer"] = "  ".into()), C::BadCustomer, None);
        check(
            &with(|v| v["customer"] = "a\nb".into()),
            C::BadCustomer,
            None,
        );
        check(
            &with(|v| v["notes"] = "n".repeat(201).into()),
            C::BadNotes,
            None,
        );
        check(
            &with(|v| v["items"] = serde_json::json!([])),
            C::BadItems,
            None,
        );
        check(
            &with(|v| {
                let line = v["items"][1].clone();
                v["items"] = serde_json::Value::Array(vec![line; 101]);
            }),
            C::BadItems,
            None,
        );
        check(
            &with(|v| v["items"][1]["qty"] = 0.into()),
            C::BadQuantity,
            Some(1),
        );
        check(
            &with(|v| v["items"][1]["qty"] = 100.into()),
            C::BadQuantity,
            Some(1),
        );
        check(
            &with(|v| v["items"][0]["item"] = "Classic Burger".into()),
            C::UnknownItem,
            Some(0),
        );
        check(
            &with(|v| v["items"][0]["modifiers"] = serde_json::json!(["medium", "Add!"])),
            C::BadModifiers,
            Some(0),
        );
        check(
            &with(|v| v["items"][1]["notes"] = "tab\there".into()),
            C::BadNotes,
            Some(1),
        );
        let big = format!(
            r#"{{"v":1,"type":"order","pad":"{}"}}"#,
            "x".repeat(MAX_ORDER_BYTES)
        );
        check(&big, C::TooLarge, None);
        assert_eq!(order_id_of(big.as_bytes()), None);
    }

    #[test]
    fn answers_are_tagged_and_versioned() {
        let accepted = ReplyV1::Accepted(AcceptedV1 {
            source: dash(),
            order_id: "DD-10023".into(),
            number: "W7".into(),
            check: "inbox:deliverydash:DD-10023".into(),
            total: "41.03".into(),
        });
        let text = String::from_utf8(encode_reply(&accepted).expect("encodes")).expect("utf-8");
        assert_eq!(
            text,
            r#"{"v":1,"type":"accepted","source":"deliverydash","order_id":"DD-10023","number":"W7","check":"inbox:deliverydash:DD-10023","total":"41.03"}"#
        );
        assert_eq!(decode_reply(text.as_bytes()), Ok(accepted.clone()));
        assert_eq!(
            accepted.topic().path(&store()),
            "pass/v1/corner-bistro/inbox/replies/deliverydash"
        );
        let refused = ReplyV1::refused(
            &dash(),
            None,
            Refusal::new(RefusalCode::Malformed, "expected value").on_line(3),
        );
        let text = String::from_utf8(encode_reply(&refused).expect("encodes")).expect("utf-8");
        assert_eq!(
            text,
            r#"{"v":1,"type":"refused","source":"deliverydash","order_id":null,"code":"malformed","reason":"expected value","line":3}"#
        );
        assert_eq!(decode_reply(text.as_bytes()), Ok(refused));
    }

    #[test]
    fn every_refusal_code_has_its_wire_name() {
        let names: std::collections::BTreeSet<String> =
            RefusalCode::ALL.iter().map(ToString::to_string).collect();
        assert_eq!(names.len(), RefusalCode::ALL.len());
        assert!(names.contains("eighty_sixed") && names.contains("missing_forced_modifier"));
    }
}
