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
use crate::domain::payment::{CardBrand, Tender};

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
    /// Below how many portions left an item shows as low (0: never).
    LowStockPortions(u32),
}

/// An order that came in through the integration inbox from an online-ordering or delivery
/// system (see `net::inbox`): who sent it, under which id, for whom and for when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalOrderRecord {
    /// The sending system's id in the store (the `<source>` of its inbox topic).
    pub source: String,
    /// The sending system's own id for the order; (source, order id) is unique in the store.
    pub order_id: String,
    /// The guest's name, as the kitchen and the pass call it out.
    pub customer: String,
    /// When the guest wants it (ms since the epoch); `None` for as soon as possible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_ms: Option<i64>,
    /// A note for the whole order ("ring the bell"); empty for none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
}

/// The card of a payment as the store keeps it: the terminal's token, the brand, the last four
/// digits and the authorisation code. Never the card number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardRecord {
    pub token: String,
    pub brand: CardBrand,
    pub last4: String,
    /// The card network's authorisation code; absent while the payment is stored offline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_code: Option<String>,
    /// The card terminal's reference of the transaction: the idempotency key of the request
    /// that made it (later captures, tip adjustments and refunds name it).
    pub reference: String,
    /// The terminal approved less than was asked.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
    /// Stored by the terminal while the card network was out of reach: it must be uploaded
    /// before this instant (ms since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_expires_ms: Option<i64>,
    /// The manager who approved an offline payment over the store's offline card cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_approved_by: Option<String>,
}

/// Cash handed over for a payment, the change given back, and the drawer it went into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashRecord {
    pub tendered: Money,
    pub change: Money,
    pub drawer: String,
}

/// What the card network answered when a payment stored offline reached it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum UploadRecord {
    Approved { auth_code: String },
    Declined { reason: String },
}

/// Which copy of a receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptCopy {
    /// The bill brought to the table before paying.
    Guest,
    /// The guest's receipt of what was paid.
    Customer,
    /// The store's copy of a card payment, for the guest to sign and write a tip on.
    Merchant,
}

impl ReceiptCopy {
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiptCopy::Guest => "guest",
            ReceiptCopy::Customer => "customer",
            ReceiptCopy::Merchant => "merchant",
        }
    }
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
        /// Set when the order came in through the integration inbox. Left out of the body
        /// otherwise, so checks opened on a terminal are written as before.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        external: Option<ExternalOrderRecord>,
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
    /// A payment taken on a check: cash (what was tendered, the change), a card (see
    /// [`CardRecord`]: never the card number) or another tender. `amount` is what it pays of
    /// the check, `tip` comes on top, `seat` the seat it pays for in a split by seat. Closing a
    /// bar tab takes the tab's payment id: the hold becomes this payment.
    PaymentTaken {
        check: String,
        payment: String,
        tender: Tender,
        amount: Money,
        tip: Money,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seat: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        card: Option<CardRecord>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cash: Option<CashRecord>,
        staff: String,
    },
    /// A bar tab opened on a card pre-authorisation holding `hold`: nothing is paid until the
    /// tab is closed with a `payment_taken` of the same payment id.
    TabOpened {
        check: String,
        payment: String,
        hold: Money,
        card: CardRecord,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seat: Option<u32>,
        staff: String,
    },
    /// The tip of a card payment, set after the guest signed (replaces the earlier tip).
    /// `reference` is the idempotency key of the terminal request that adjusted it.
    TipAdjusted {
        check: String,
        payment: String,
        tip: Money,
        reference: String,
        staff: String,
    },
    /// Money given back on a payment, approved by a manager. A card refund names the terminal
    /// request (`reference`); a cash refund the drawer it came out of.
    PaymentRefunded {
        check: String,
        payment: String,
        refund: String,
        amount: Money,
        tender: Tender,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        drawer: Option<String>,
        manager: String,
        reason: String,
    },
    /// What the card network answered when a payment stored offline was uploaded. A decline
    /// takes the payment off the check, which opens again, and alerts a manager.
    OfflinePaymentUploaded {
        check: String,
        payment: String,
        outcome: UploadRecord,
    },
    /// The card terminal declined a card: nothing was taken, the check stays as it was.
    CardDeclined {
        check: String,
        reference: String,
        amount: Money,
        code: String,
        message: String,
        staff: String,
    },
    /// A receipt was sent to a printer; `error` says why it did not print.
    ReceiptPrinted {
        check: String,
        copy: ReceiptCopy,
        printer: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A card terminal's end-of-day batch as the terminal reported it (`captured` and
    /// `refunded`, over `count` transactions whose references are `refs`), with what this store
    /// recorded for the same references (`recorded_captured`) and the references the store has
    /// no record of (`unrecorded`).
    CardBatchClosed {
        terminal: String,
        batch: String,
        count: u32,
        captured: Money,
        refunded: Money,
        recorded_captured: Money,
        refs: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        unrecorded: Vec<String>,
        staff: String,
    },
    /// A cash drawer opened with a float.
    DrawerOpened {
        drawer: String,
        float: Money,
        staff: String,
    },
    /// A cash drawer counted at close, against what it should hold.
    DrawerCounted {
        drawer: String,
        counted: Money,
        expected: Money,
        staff: String,
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
            | Event::ExpoBumped { check, .. }
            | Event::PaymentTaken { check, .. }
            | Event::TabOpened { check, .. }
            | Event::TipAdjusted { check, .. }
            | Event::PaymentRefunded { check, .. }
            | Event::OfflinePaymentUploaded { check, .. }
            | Event::CardDeclined { check, .. }
            | Event::ReceiptPrinted { check, .. } => Some(check),
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

    /// One event of every kind, every optional field set. The match in [`variant`] has no
    /// catch-all: a new kind does not compile until it is added there and here.
    fn one_of_each_kind() -> Vec<Event> {
        let rate = RateRecord {
            id: "sales".into(),
            name: "Sales tax".into(),
            percent: Decimal::new(8875, 3),
            inclusive: false,
        };
        let line = LineRecord {
            line: "c1-l0".into(),
            item: "classic_burger".into(),
            name: "Classic Burger".into(),
            qty: 1,
            modifiers: vec![ModifierRecord {
                id: "add_bacon".into(),
                name: "Add bacon".into(),
                group: "burger_extras".into(),
                forced: false,
                price_delta: Money::from_minor(200),
            }],
            unit_price: Money::from_minor(1650),
            tax_class: TaxClassRecord {
                id: "food".into(),
                name: "Food".into(),
                rates: vec![rate.clone()],
                by_order_type: BTreeMap::from([(OrderType::Takeout, vec![rate])]),
            },
            stations: vec!["grill".into()],
            allergens: vec![Allergen::Gluten],
            prep_secs: 600,
            seat: Some(1),
            course: 1,
            notes: "no pickles".into(),
        };
        let check = || "c1".to_owned();
        let ticket = || "c1/1/grill/1".to_owned();
        let staff = || "maria".to_owned();
        let why = || "guest changed their mind".to_owned();
        vec![
            Event::DeviceJoined(DeviceJoined {
                public_key: "00".repeat(32),
                role: DeviceRole::KitchenScreen,
                name: "grill".into(),
            }),
            Event::DeviceRetired(DeviceRetired {
                origin: "0".repeat(16),
                reason: "broken".into(),
            }),
            Event::MenuPublished {
                toml: "name = \"Harbour Street Kitchen\"\n".into(),
            },
            Event::ItemEightySixed {
                item: "fries".into(),
                reason: "fryer down".into(),
            },
            Event::ItemRestored {
                item: "fries".into(),
            },
            Event::StaffAdded {
                staff: staff(),
                name: "Maria".into(),
                role: "server".into(),
                pin_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA"
                    .into(),
            },
            Event::StaffRetired { staff: staff() },
            Event::ClockedIn { staff: staff() },
            Event::ClockedOut { staff: staff() },
            Event::SignInAlert {
                device: "t1".into(),
                wrong_in_a_row: 5,
                wrong_recently: 5,
            },
            Event::SettingChanged {
                setting: SettingRecord::DayCutoffHour(4),
                by: "owner".into(),
            },
            Event::CheckOpened {
                check: check(),
                number: "W1".into(),
                order_type: OrderType::Delivery,
                table: Some("T1".into()),
                guests: 1,
                seats: 0,
                server: "deliverydash".into(),
                external: Some(ExternalOrderRecord {
                    source: "deliverydash".into(),
                    order_id: "DD-1".into(),
                    customer: "Sam Lee".into(),
                    requested_ms: Some(1_777_636_800_000),
                    notes: "ring twice".into(),
                }),
            },
            Event::LinesAdded {
                check: check(),
                lines: vec![line],
            },
            Event::CourseHeld {
                check: check(),
                course: 2,
            },
            Event::CourseFired {
                check: check(),
                course: 2,
            },
            Event::ItemsSent {
                check: check(),
                send: 1,
                lines: vec!["c1-l0".into()],
            },
            Event::LineVoided {
                check: check(),
                line: "c1-l0".into(),
                manager: staff(),
                reason: why(),
            },
            Event::LineComped {
                check: check(),
                line: "c1-l0".into(),
                manager: staff(),
                reason: why(),
            },
            Event::LineDiscounted {
                check: check(),
                line: "c1-l0".into(),
                discount: DiscountRecord::Percent(Decimal::new(10, 0)),
                manager: staff(),
                reason: why(),
            },
            Event::CheckDiscounted {
                check: check(),
                discount: DiscountRecord::Amount(Money::from_minor(500)),
                manager: staff(),
                reason: why(),
            },
            Event::CheckMoved {
                check: check(),
                table: "T2".into(),
            },
            Event::CheckSplit {
                check: check(),
                split: SplitRecord::Items {
                    parts: vec![vec!["c1-l0".into()], vec!["c1-l1".into()]],
                },
            },
            Event::ChecksMerged {
                check: check(),
                from: "c2".into(),
            },
            Event::PaymentRecorded {
                check: check(),
                payment: "p1".into(),
                amount: Money::from_minor(4137),
            },
            Event::CheckClaimed {
                check: check(),
                device: "t1".into(),
                staff: staff(),
            },
            Event::CheckReleased {
                check: check(),
                device: "t1".into(),
            },
            Event::CheckClosed { check: check() },
            Event::CheckReopened {
                check: check(),
                manager: staff(),
                reason: why(),
            },
            Event::TicketShown {
                check: check(),
                ticket: ticket(),
                at_ms: 5,
            },
            Event::TicketStarted {
                check: check(),
                ticket: ticket(),
            },
            Event::ItemDone {
                check: check(),
                ticket: ticket(),
                line: "c1-l0".into(),
                at_ms: 6,
            },
            Event::TicketBumped {
                check: check(),
                ticket: ticket(),
                at_ms: 7,
            },
            Event::TicketRecalled {
                check: check(),
                ticket: ticket(),
            },
            Event::TicketPriority {
                check: check(),
                ticket: ticket(),
                rush: true,
            },
            Event::ExpoBumped {
                check: check(),
                course: 1,
                at_ms: 8,
                force_reason: Some("guest leaving".into()),
            },
            Event::StockReceived {
                ingredient: "beef_patty".into(),
                qty: Decimal::new(40, 0),
            },
            Event::StockCounted {
                ingredient: "beef_patty".into(),
                qty: Decimal::new(38, 0),
            },
            Event::DayClosed {
                business_day: "2026-05-01".into(),
                heads: BTreeMap::from([("0".repeat(16), 12)]),
            },
            Event::PaymentTaken {
                check: check(),
                payment: "t1-pay".into(),
                tender: Tender::Card,
                amount: Money::from_minor(4137),
                tip: Money::from_minor(600),
                seat: Some(2),
                card: Some(card()),
                cash: Some(CashRecord {
                    tendered: Money::from_minor(5000),
                    change: Money::from_minor(863),
                    drawer: "t1".into(),
                }),
                staff: staff(),
            },
            Event::TabOpened {
                check: check(),
                payment: "t1-tab".into(),
                hold: Money::from_minor(5000),
                card: card(),
                seat: Some(1),
                staff: staff(),
            },
            Event::TipAdjusted {
                check: check(),
                payment: "t1-tab".into(),
                tip: Money::from_minor(600),
                reference: "t1-adjust-key".into(),
                staff: staff(),
            },
            Event::PaymentRefunded {
                check: check(),
                payment: "t1-pay".into(),
                refund: "t1-refund-key".into(),
                amount: Money::from_minor(500),
                tender: Tender::Card,
                reference: Some("t1-refund-key".into()),
                drawer: Some("t1".into()),
                manager: staff(),
                reason: why(),
            },
            Event::OfflinePaymentUploaded {
                check: check(),
                payment: "t1-pay".into(),
                outcome: UploadRecord::Declined {
                    reason: "card declined".into(),
                },
            },
            Event::CardDeclined {
                check: check(),
                reference: "t1-declined-key".into(),
                amount: Money::from_minor(4137),
                code: "card_declined".into(),
                message: "the card was declined".into(),
                staff: staff(),
            },
            Event::ReceiptPrinted {
                check: check(),
                copy: ReceiptCopy::Customer,
                printer: "127.0.0.1:9100".into(),
                error: Some("connection refused".into()),
            },
            Event::CardBatchClosed {
                terminal: "127.0.0.1:7700".into(),
                batch: "B0001".into(),
                count: 2,
                captured: Money::from_minor(8274),
                refunded: Money::from_minor(500),
                recorded_captured: Money::from_minor(8274),
                refs: vec!["t1-pay-key".into()],
                unrecorded: vec!["t1-lost-key".into()],
                staff: staff(),
            },
            Event::DrawerOpened {
                drawer: "t1".into(),
                float: Money::from_minor(15000),
                staff: staff(),
            },
            Event::DrawerCounted {
                drawer: "t1".into(),
                counted: Money::from_minor(18345),
                expected: Money::from_minor(18345),
                staff: staff(),
            },
        ]
    }

    fn card() -> CardRecord {
        CardRecord {
            token: "tok_abcdefghjk".into(),
            brand: CardBrand::Visa,
            last4: "4242".into(),
            auth_code: Some("A1B2C3".into()),
            reference: "t1-pay-key".into(),
            partial: true,
            offline_expires_ms: Some(1_777_723_200_000),
            offline_approved_by: Some("maria".into()),
        }
    }

    /// The variant's place in the enum (no catch-all: see [`one_of_each_kind`]).
    fn variant(e: &Event) -> usize {
        match e {
            Event::DeviceJoined(_) => 0,
            Event::DeviceRetired(_) => 1,
            Event::MenuPublished { .. } => 2,
            Event::ItemEightySixed { .. } => 3,
            Event::ItemRestored { .. } => 4,
            Event::StaffAdded { .. } => 5,
            Event::StaffRetired { .. } => 6,
            Event::ClockedIn { .. } => 7,
            Event::ClockedOut { .. } => 8,
            Event::SignInAlert { .. } => 9,
            Event::SettingChanged { .. } => 10,
            Event::CheckOpened { .. } => 11,
            Event::LinesAdded { .. } => 12,
            Event::CourseHeld { .. } => 13,
            Event::CourseFired { .. } => 14,
            Event::ItemsSent { .. } => 15,
            Event::LineVoided { .. } => 16,
            Event::LineComped { .. } => 17,
            Event::LineDiscounted { .. } => 18,
            Event::CheckDiscounted { .. } => 19,
            Event::CheckMoved { .. } => 20,
            Event::CheckSplit { .. } => 21,
            Event::ChecksMerged { .. } => 22,
            Event::PaymentRecorded { .. } => 23,
            Event::CheckClaimed { .. } => 24,
            Event::CheckReleased { .. } => 25,
            Event::CheckClosed { .. } => 26,
            Event::CheckReopened { .. } => 27,
            Event::TicketShown { .. } => 28,
            Event::TicketStarted { .. } => 29,
            Event::ItemDone { .. } => 30,
            Event::TicketBumped { .. } => 31,
            Event::TicketRecalled { .. } => 32,
            Event::TicketPriority { .. } => 33,
            Event::ExpoBumped { .. } => 34,
            Event::StockReceived { .. } => 35,
            Event::StockCounted { .. } => 36,
            Event::DayClosed { .. } => 37,
            Event::PaymentTaken { .. } => 38,
            Event::TabOpened { .. } => 39,
            Event::TipAdjusted { .. } => 40,
            Event::PaymentRefunded { .. } => 41,
            Event::OfflinePaymentUploaded { .. } => 42,
            Event::CardDeclined { .. } => 43,
            Event::ReceiptPrinted { .. } => 44,
            Event::CardBatchClosed { .. } => 45,
            Event::DrawerOpened { .. } => 46,
            Event::DrawerCounted { .. } => 47,
        }
    }

    /// `device_joined` → `DeviceJoinedPayload`, the document's name for a kind's payload schema.
    fn payload_schema_name(kind: &str) -> String {
        let mut name: String = kind
            .split('_')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect();
        name.push_str("Payload");
        name
    }

    #[test]
    fn the_asyncapi_document_describes_every_event_kind_and_its_fields() {
        let doc: serde_json::Value =
            serde_json::from_str(crate::net::protocol::ASYNCAPI).expect("the document is JSON");
        assert_eq!(doc["asyncapi"], "3.0.0");
        let schemas = &doc["components"]["schemas"];
        let listed: Vec<&str> = schemas["EventKind"]["enum"]
            .as_array()
            .expect("EventKind lists the kinds")
            .iter()
            .filter_map(serde_json::Value::as_str)
            .collect();
        let samples = one_of_each_kind();
        let places: Vec<usize> = samples.iter().map(variant).collect();
        assert_eq!(
            places,
            (0..places.len()).collect::<Vec<_>>(),
            "one sample of every kind, in order"
        );
        let mut kinds = Vec::new();
        for event in &samples {
            let new = event.to_new().expect("serialise");
            let kind = new.kind.clone();
            assert!(
                listed.contains(&kind.as_str()),
                "the document lacks the kind `{kind}`"
            );
            let name = payload_schema_name(&kind);
            let schema = &schemas[&name];
            assert!(schema.is_object(), "the document lacks the schema {name}");
            let fields: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(new.payload.get()).expect("a payload is an object");
            let described = schema["properties"].as_object().expect("properties");
            for field in fields.keys() {
                assert!(
                    described.contains_key(field),
                    "{name} does not describe `{field}`"
                );
            }
            for required in schema["required"].as_array().expect("required") {
                let required = required.as_str().expect("a field name");
                assert!(
                    fields.contains_key(required),
                    "{name} requires `{required}`, which {kind} does not write"
                );
            }
            assert_eq!(schema["additionalProperties"], false, "{name}");
            kinds.push(kind);
        }
        assert_eq!(
            listed, kinds,
            "the document lists exactly this build's kinds, in the enum's order"
        );
        // Every kind has its branch in the body schema, which picks the payload's schema.
        let branches: Vec<&str> = schemas["EventBody"]["allOf"]
            .as_array()
            .expect("EventBody picks a payload schema per kind")
            .iter()
            .filter_map(|b| b["if"]["properties"]["kind"]["const"].as_str())
            .collect();
        assert_eq!(branches, listed);
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
