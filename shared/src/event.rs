//! The store journal's event vocabulary, version 1.
//!
//! An event is an immutable fact. In a body, `kind` names the variant and `payload` holds its
//! fields (the enum is tagged by `kind` with its content in `payload`). Within v1 changes are
//! additive only: new kinds, new optional fields. A device meeting a kind it does not know keeps
//! and forwards the event untouched and leaves it out of its projections.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::domain::Money;
use crate::domain::menu::Allergen;
use crate::domain::order::OrderType;

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

/// A modifier as it was chosen and priced on a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModifierRecord {
    pub id: String,
    pub name: String,
    pub group: String,
    pub forced: bool,
    pub price_delta: Money,
}

/// A tax rate as it applied when a line was sold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateRecord {
    pub id: String,
    pub name: String,
    /// 8.875 for 8.875 %.
    pub percent: Decimal,
    pub inclusive: bool,
}

/// A line's tax class as it was when sold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxClassRecord {
    pub id: String,
    pub name: String,
    pub rates: Vec<RateRecord>,
    #[serde(default)]
    pub by_order_type: BTreeMap<OrderType, Vec<RateRecord>>,
}

/// An order line as sold: price, tax and routing recorded, so a later menu change never
/// changes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineRecord {
    pub line: String,
    pub item: String,
    pub name: String,
    pub qty: u32,
    #[serde(default)]
    pub modifiers: Vec<ModifierRecord>,
    pub unit_price: Money,
    pub tax_class: TaxClassRecord,
    pub stations: Vec<String>,
    #[serde(default)]
    pub allergens: Vec<Allergen>,
    pub prep_secs: u32,
    pub seat: Option<u32>,
    pub course: u8,
    #[serde(default)]
    pub notes: String,
}

/// An amount or a percentage off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscountRecord {
    Amount(Money),
    Percent(Decimal),
}

/// How a check is split between its guests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum SplitRecord {
    /// One part per seat; lines for the table shared equally.
    Seat,
    /// One part per group of line ids.
    Items { parts: Vec<Vec<String>> },
    /// The total in `parts` equal parts (to the cent).
    Evenly { parts: u32 },
    /// Not split (a split undone).
    None,
}

/// A store-wide setting (every device computes the same thing from it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "setting", content = "value", rename_all = "snake_case")]
pub enum SettingRecord {
    /// "send" or "payment".
    DeductStockOn(String),
    DayCutoffHour(u8),
    TimeZone(String),
    OfflineCardCap(Money),
}

/// Every event kind this build understands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
pub enum Event {
    DeviceJoined(DeviceJoined),
    DeviceRetired(DeviceRetired),
    /// The whole menu, as its TOML text (ids are the TOML keys).
    MenuPublished {
        toml: String,
    },
    ItemEightySixed {
        item: String,
        reason: String,
    },
    ItemRestored {
        item: String,
    },
    StaffAdded {
        staff: String,
        name: String,
        role: String,
        pin_hash: String,
    },
    StaffRetired {
        staff: String,
    },
    ClockedIn {
        staff: String,
    },
    ClockedOut {
        staff: String,
    },
    /// Wrong PINs keep being tried on a terminal: a manager should look. Counts are of the
    /// terminal's wrong tries in a row and within the throttle's memory (15 minutes).
    SignInAlert {
        device: String,
        wrong_in_a_row: u32,
        wrong_recently: u32,
    },
    SettingChanged {
        setting: SettingRecord,
        by: String,
    },
    CheckOpened {
        check: String,
        number: String,
        order_type: OrderType,
        table: Option<String>,
        guests: u32,
        seats: u32,
        server: String,
    },
    LinesAdded {
        check: String,
        lines: Vec<LineRecord>,
    },
    CourseHeld {
        check: String,
        course: u8,
    },
    CourseFired {
        check: String,
        course: u8,
    },
    /// A send: exactly these lines went to the kitchen (one ticket per station and course).
    ItemsSent {
        check: String,
        send: u32,
        lines: Vec<String>,
    },
    LineVoided {
        check: String,
        line: String,
        manager: String,
        reason: String,
    },
    LineComped {
        check: String,
        line: String,
        manager: String,
        reason: String,
    },
    LineDiscounted {
        check: String,
        line: String,
        discount: DiscountRecord,
        manager: String,
        reason: String,
    },
    CheckDiscounted {
        check: String,
        discount: DiscountRecord,
        manager: String,
        reason: String,
    },
    CheckMoved {
        check: String,
        table: String,
    },
    /// How the check is split between its guests (the check stays one check).
    CheckSplit {
        check: String,
        split: SplitRecord,
    },
    /// `from` was taken into `check`: its lines, guests and seats are `check`'s now, and `from`
    /// can no longer change. Both checks' projections fold this event.
    ChecksMerged {
        check: String,
        from: String,
    },
    PaymentRecorded {
        check: String,
        payment: String,
        amount: Money,
    },
    /// A terminal has the check open (soft ownership: others see who, nobody is locked out).
    CheckClaimed {
        check: String,
        device: String,
        staff: String,
    },
    /// The terminal put the check down.
    CheckReleased {
        check: String,
        device: String,
    },
    CheckClosed {
        check: String,
    },
    CheckReopened {
        check: String,
        manager: String,
        reason: String,
    },
    /// A kitchen screen displayed a ticket for the first time (on its own clock).
    TicketShown {
        check: String,
        ticket: String,
        at_ms: i64,
    },
    TicketStarted {
        check: String,
        ticket: String,
    },
    ItemDone {
        check: String,
        ticket: String,
        line: String,
        at_ms: i64,
    },
    TicketBumped {
        check: String,
        ticket: String,
        at_ms: i64,
    },
    TicketRecalled {
        check: String,
        ticket: String,
    },
    TicketPriority {
        check: String,
        ticket: String,
        rush: bool,
    },
    ExpoBumped {
        check: String,
        course: u8,
        at_ms: i64,
        force_reason: Option<String>,
    },
    StockReceived {
        ingredient: String,
        qty: Decimal,
    },
    StockCounted {
        ingredient: String,
        qty: Decimal,
    },
    /// The business day is closed: the Z report covers exactly the events up to these heads.
    DayClosed {
        business_day: String,
        heads: BTreeMap<String, u64>,
    },
}

impl Event {
    /// The check an event acts on, if any: its projection is folded from that check's events.
    pub fn check(&self) -> Option<&str> {
        match self {
            Event::CheckOpened { check, .. }
            | Event::LinesAdded { check, .. }
            | Event::CourseHeld { check, .. }
            | Event::CourseFired { check, .. }
            | Event::ItemsSent { check, .. }
            | Event::LineVoided { check, .. }
            | Event::LineComped { check, .. }
            | Event::LineDiscounted { check, .. }
            | Event::CheckDiscounted { check, .. }
            | Event::CheckMoved { check, .. }
            | Event::CheckSplit { check, .. }
            | Event::ChecksMerged { check, .. }
            | Event::PaymentRecorded { check, .. }
            | Event::CheckClaimed { check, .. }
            | Event::CheckReleased { check, .. }
            | Event::CheckClosed { check }
            | Event::CheckReopened { check, .. }
            | Event::TicketShown { check, .. }
            | Event::TicketStarted { check, .. }
            | Event::ItemDone { check, .. }
            | Event::TicketBumped { check, .. }
            | Event::TicketRecalled { check, .. }
            | Event::TicketPriority { check, .. }
            | Event::ExpoBumped { check, .. } => Some(check),
            _ => None,
        }
    }

    /// Every check whose projection folds this event: the check it acts on and, for a merge,
    /// the check merged away.
    pub fn subjects(&self) -> Vec<&str> {
        match self {
            Event::ChecksMerged { check, from } => vec![check.as_str(), from.as_str()],
            other => other.check().into_iter().collect(),
        }
    }
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
        #[derive(Serialize)]
        struct Tagged<'a> {
            kind: &'a str,
            payload: &'a RawValue,
        }
        let text = serde_json::to_string(&Tagged { kind, payload })?;
        match serde_json::from_str(&text) {
            Ok(event) => Ok(Some(event)),
            // serde's own wording for a tag no variant carries: a kind from a newer build.
            Err(e) if e.to_string().starts_with("unknown variant") => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_kind_and_payload() {
        let samples = [
            Event::DeviceJoined(DeviceJoined {
                public_key: "00".repeat(32),
                role: DeviceRole::KitchenScreen,
                name: "grill".into(),
            }),
            Event::TicketBumped {
                check: "c1".into(),
                ticket: "c1/1/grill/1".into(),
                at_ms: 5,
            },
            Event::SettingChanged {
                setting: SettingRecord::DayCutoffHour(4),
                by: "owner".into(),
            },
        ];
        for ev in samples {
            let new = ev.to_new().expect("serialise");
            let back = Event::decode(&new.kind, &new.payload).expect("decode");
            assert_eq!(back, Some(ev));
        }
    }

    #[test]
    fn a_known_kind_with_a_bad_payload_is_an_error() {
        let payload = RawValue::from_string(r#"{"check":"c1"}"#.into()).expect("raw");
        assert!(Event::decode("ticket_bumped", &payload).is_err());
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
