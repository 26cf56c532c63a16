//! A check (a table's or a guest's bill) and every change a terminal may make to it.
//!
//! # Model
//!
//! A [`Check`] is opened with an [`OrderNumber`], an [`OrderType`], a table (dine-in only), the
//! number of guests and seats, and the server who owns it. Lines are [`PricedLine`]s from
//! [`Menu::price_line`](super::menu::Menu::price_line) with a seat, a course and notes: the line
//! keeps its price, tax class, stations and allergens as they were when it was sold.
//!
//! Every change is a method that either applies completely or refuses with a [`CheckError`] and
//! leaves the check as it was. After every accepted change the check's totals are recomputed
//! through [`tax::check_totals`], so a check built through these methods always has totals
//! ([`Check::totals`] cannot fail) and `total = Σ live line amounts − discounts + exclusive tax`.
//!
//! - **Send** ([`Check::send`]) takes the unsent, unvoided lines and groups them into one ticket
//!   draft per station and course. A line added after the check's first send is marked as an
//!   *addition*. Lines of a held course go out on *held* drafts: the kitchen sees them, greyed,
//!   and cooks them once the course is fired ([`Check::fire_course`]); firing a course that is
//!   already fired makes nothing new.
//! - **Void** takes a line off the check (not made, or made and wasted); **comp** keeps it on the
//!   check and the ticket at no charge. Both need an [`Approval`]: a manager and a reason.
//! - **Discounts** are an amount or a percentage ([`CheckDiscount`]), on one line or on the whole
//!   check, each with an [`Approval`]. A percentage is rounded once to the cent by the store's
//!   policy ([`Money::round`]). A line discount never exceeds the line, a check discount never
//!   exceeds the subtotal: a change that would break this (voiding a line under an amount off the
//!   check) is refused.
//! - **Splits** ([`Check::split_by_seat`], [`Check::split_by_items`], [`Check::split_evenly`]) say
//!   what each guest pays; the check stays one check. The parts come from [`Money::allocate`] or
//!   [`Money::split`] of the check total, so they always sum to it exactly.
//! - A **split** ([`Check::set_split`]) is recorded on the check as a [`SplitRule`] (by seat, by
//!   groups of lines, evenly): [`Check::split_parts`] recomputes the parts from the check as it is
//!   now, so a split by seat or evenly follows later changes, and a split by items that no longer
//!   covers every line says so.
//! - **Move** gives the check another table; **merge** takes in another open check's lines, and
//!   the check taken in is marked merged ([`Check::mark_merged`]): it can no longer change, and
//!   it is not a sale of its own.
//! - **Payments** lower the balance; **close** needs every line sent or voided and nothing left to
//!   pay. Nothing may be added to, paid on, or changed on a closed check.
//!
//! # Order numbers
//!
//! An order number is a device letter and that device's counter for the business day: `B42` is
//! the 42nd order taken on device B today. Letters are assigned to ordering devices by the store
//! (one letter per device, A–Z without I and O, which read as 1 and 0), so two devices never
//! issue the same number, even while cut off from each other; the counter starts again at 1 on
//! each business day and goes up to [`MAX_ORDER_COUNTER`], so a number is at most five characters
//! and easy to call out. The full identity of an order is (business day, number).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use rust_decimal::Decimal;

use super::id::string_id;
use super::menu::{Allergen, ChosenModifier, ItemId, PricedLine, StationId};
use super::money::{Money, MoneyError};
use super::order::OrderType;
use super::tax::{self, CheckDiscount, CheckTotals, TaxError, TaxableLine};

string_id!(
    /// A check's id, given by the device that opens it.
    CheckId
);
string_id!(
    /// An order line's id, given by the device that adds it. Unique in the store.
    LineId
);
string_id!(
    /// A member of staff.
    StaffId
);
string_id!(
    /// A table on the floor plan.
    TableId
);

/// The highest per-day counter of one device.
pub const MAX_ORDER_COUNTER: u16 = 9999;

/// The longest reason or note accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 200;

/// Letters a device may be given: A–Z without I and O.
const DEVICE_LETTERS: &str = "ABCDEFGHJKLMNPQRSTUVWXYZ";

/// A refused change to a check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    #[error("check {0} is closed")]
    Closed(CheckId),
    #[error("check {check} was merged into check {into}")]
    Merged { check: CheckId, into: CheckId },
    #[error("check {0} is not closed")]
    NotClosed(CheckId),
    #[error("a dine-in check needs a table")]
    TableRequired,
    #[error("a dine-in check needs at least one guest")]
    NoGuests,
    #[error("seat {seat} does not exist on a check with {seats} seats")]
    NoSuchSeat { seat: Seat, seats: u32 },
    #[error("`{0}` is 86'd: none left to sell")]
    EightySixed(ItemId),
    #[error("line {0} is already on a check")]
    DuplicateLine(LineId),
    #[error("there is no line {0} on this check")]
    UnknownLine(LineId),
    #[error("line {0} is voided")]
    LineVoided(LineId),
    #[error("line {0} is comped")]
    LineComped(LineId),
    #[error("there is nothing new to send")]
    NothingToSend,
    #[error("{course} was already sent to cook; it cannot be held now")]
    CourseAlreadySent { course: Course },
    #[error("{course} was already fired")]
    CourseAlreadyFired { course: Course },
    #[error("a reason or note may not be empty")]
    EmptyText,
    #[error("a reason or note is at most {MAX_TEXT_CHARS} characters")]
    TextTooLong,
    #[error("a discount of {discount} exceeds the line's {amount}")]
    DiscountExceedsLine { discount: Money, amount: Money },
    #[error("a payment must be more than zero, not {0}")]
    BadPayment(Money),
    #[error("{due} is still to pay")]
    BalanceDue { due: Money },
    #[error("lines not yet sent: send or void them first")]
    UnsentLines,
    #[error("the check is already at table {0}")]
    SameTable(TableId),
    #[error("a check cannot be merged into itself")]
    MergeIntoItself,
    #[error("cannot merge a {from} check into a {into} check")]
    OrderTypeMismatch { into: OrderType, from: OrderType },
    #[error("check {0} has payments: move them before merging")]
    HasPayments(CheckId),
    #[error("check {0} has a check discount: remove it before merging")]
    HasCheckDiscount(CheckId),
    #[error("a split needs at least one part")]
    NoParts,
    #[error("line {0} is in more than one part")]
    LineInTwoParts(LineId),
    #[error("line {0} is in no part")]
    LineInNoPart(LineId),
    #[error("no seat has anything to pay")]
    NothingToSplit,
    #[error(transparent)]
    Tax(#[from] TaxError),
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// A refused order number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderNumberError {
    #[error("`{0}` is not a device letter (A–Z without I and O)")]
    BadLetter(char),
    #[error("device {device} has used all {MAX_ORDER_COUNTER} order numbers of the day")]
    Exhausted { device: DeviceLetter },
    #[error("order numbers run from 1 to {MAX_ORDER_COUNTER}, not {0}")]
    BadCounter(u16),
}

/// The letter the store gave an ordering device, the first character of its order numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceLetter(char);

impl DeviceLetter {
    pub fn new(letter: char) -> Result<DeviceLetter, OrderNumberError> {
        if DEVICE_LETTERS.contains(letter) {
            Ok(DeviceLetter(letter))
        } else {
            Err(OrderNumberError::BadLetter(letter))
        }
    }

    pub fn as_char(self) -> char {
        self.0
    }
}

impl fmt::Display for DeviceLetter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A short order number such as `B42` (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrderNumber {
    device: DeviceLetter,
    counter: u16,
}

impl OrderNumber {
    pub fn new(device: DeviceLetter, counter: u16) -> Result<OrderNumber, OrderNumberError> {
        if counter == 0 || counter > MAX_ORDER_COUNTER {
            return Err(OrderNumberError::BadCounter(counter));
        }
        Ok(OrderNumber { device, counter })
    }

    pub fn device(self) -> DeviceLetter {
        self.device
    }

    /// From 1, per device and business day.
    pub fn counter(self) -> u16 {
        self.counter
    }
}

impl fmt::Display for OrderNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.device, self.counter)
    }
}

impl std::str::FromStr for OrderNumber {
    type Err = OrderNumberError;

    /// Reads `B42` back.
    fn from_str(s: &str) -> Result<OrderNumber, OrderNumberError> {
        let mut chars = s.chars();
        let letter = chars.next().ok_or(OrderNumberError::BadCounter(0))?;
        let counter: u16 = chars
            .as_str()
            .parse()
            .map_err(|_| OrderNumberError::BadCounter(0))?;
        OrderNumber::new(DeviceLetter::new(letter)?, counter)
    }
}

/// One device's order-number counter. The business day is a number the caller derives from the
/// store's cut-off hour (for example days since an epoch); only its changes matter here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderNumbers {
    device: DeviceLetter,
    business_day: Option<u32>,
    last: u16,
}

impl OrderNumbers {
    /// A device that has issued no number yet.
    pub fn new(device: DeviceLetter) -> OrderNumbers {
        OrderNumbers {
            device,
            business_day: None,
            last: 0,
        }
    }

    /// Carries on after `last` on `business_day` (as rebuilt from the journal).
    pub fn resume(device: DeviceLetter, business_day: u32, last: u16) -> OrderNumbers {
        OrderNumbers {
            device,
            business_day: Some(business_day),
            last,
        }
    }

    /// The device letter of the numbers.
    pub fn device(&self) -> DeviceLetter {
        self.device
    }

    /// The next number on `business_day`; the counter starts again at 1 when the day changes.
    pub fn next(&mut self, business_day: u32) -> Result<OrderNumber, OrderNumberError> {
        let last = if self.business_day == Some(business_day) {
            self.last
        } else {
            0
        };
        if last >= MAX_ORDER_COUNTER {
            return Err(OrderNumberError::Exhausted {
                device: self.device,
            });
        }
        let number = OrderNumber::new(self.device, last + 1)?;
        self.business_day = Some(business_day);
        self.last = last + 1;
        Ok(number)
    }
}

/// A seat at the table, from 1. A line without a seat is for the table (shared).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Seat(pub u32);

impl fmt::Display for Seat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seat {}", self.0)
    }
}

/// A course, from 1 (starters) upwards. A check without coursing has everything in course 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Course(pub u8);

impl Course {
    pub const FIRST: Course = Course(1);
}

impl fmt::Display for Course {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "course {}", self.0)
    }
}

/// A short text a person typed: not empty, at most [`MAX_TEXT_CHARS`] characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reason(String);

impl Reason {
    pub fn new(text: &str) -> Result<Reason, CheckError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(CheckError::EmptyText);
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(CheckError::TextTooLong);
        }
        Ok(Reason(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A manager's approval of an override (void, comp, discount, reopen), with the reason given.
/// Whether the person may approve (their role, their PIN) is checked by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub manager: StaffId,
    pub reason: Reason,
}

/// What the terminal gives to open a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCheck {
    pub id: CheckId,
    pub number: OrderNumber,
    pub order_type: OrderType,
    /// Required for dine-in.
    pub table: Option<TableId>,
    pub guests: u32,
    /// Seats that lines may name (1..=seats).
    pub seats: u32,
    pub server: StaffId,
}

/// What the terminal gives to add a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLine {
    pub id: LineId,
    /// The item, its modifiers and quantity, priced against the menu.
    pub priced: PricedLine,
    pub seat: Option<Seat>,
    pub course: Course,
    /// For the kitchen ("allergy: sesame", "sauce on the side"); empty for none.
    pub notes: String,
}

/// A line on a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckLine {
    id: LineId,
    priced: PricedLine,
    seat: Option<Seat>,
    course: Course,
    notes: Option<Reason>,
    addition: bool,
    sent: Option<u32>,
    discount: Option<(CheckDiscount, Money, Approval)>,
    void: Option<Approval>,
    comp: Option<Approval>,
}

impl CheckLine {
    pub fn id(&self) -> &LineId {
        &self.id
    }
    pub fn priced(&self) -> &PricedLine {
        &self.priced
    }
    pub fn seat(&self) -> Option<Seat> {
        self.seat
    }
    pub fn course(&self) -> Course {
        self.course
    }
    pub fn notes(&self) -> Option<&str> {
        self.notes.as_ref().map(Reason::as_str)
    }
    /// Added after the check's first send: the kitchen sees it marked as an addition.
    pub fn is_addition(&self) -> bool {
        self.addition
    }
    /// The number of the send that took it to the kitchen, if any.
    pub fn sent(&self) -> Option<u32> {
        self.sent
    }
    pub fn void(&self) -> Option<&Approval> {
        self.void.as_ref()
    }
    pub fn comp(&self) -> Option<&Approval> {
        self.comp.as_ref()
    }
    /// The line discount in money, if any.
    pub fn discount(&self) -> Option<Money> {
        self.discount.as_ref().map(|(_, money, _)| *money)
    }
    pub fn is_voided(&self) -> bool {
        self.void.is_some()
    }
    /// What the line adds to the subtotal: nothing when voided or comped, else its amount less
    /// its discount.
    pub fn net_amount(&self) -> Result<Money, MoneyError> {
        if self.void.is_some() || self.comp.is_some() {
            return Ok(Money::ZERO);
        }
        self.priced
            .amount()
            .checked_sub(self.discount().unwrap_or(Money::ZERO))
    }
}

/// Whether a check can still change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckState {
    Open,
    Closed,
    /// Taken into another check ([`Check::merged_into`] says which): it can no longer change.
    Merged,
}

/// How a check is split between its guests (see [`Check::set_split`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitRule {
    /// One part per seat with a live line; lines without a seat shared equally.
    BySeat,
    /// One part per group of line ids: every live line in exactly one part.
    ByItems(Vec<Vec<LineId>>),
    /// The total in this many parts that differ by at most a cent.
    Evenly(usize),
}

/// The check, its owner and the tickets' header: what every ticket of a send shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketHeader {
    pub check: CheckId,
    pub number: OrderNumber,
    pub order_type: OrderType,
    pub table: Option<TableId>,
    pub server: StaffId,
}

/// One item of a ticket draft: what the kitchen needs to cook a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketItem {
    pub line: LineId,
    pub item: ItemId,
    pub name: String,
    pub qty: u32,
    pub modifiers: Vec<ChosenModifier>,
    pub seat: Option<Seat>,
    pub notes: Option<String>,
    pub allergens: BTreeSet<Allergen>,
    pub prep_secs: u32,
    /// Ordered after the check's first send.
    pub addition: bool,
}

/// The items one station gets for one course in one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketDraft {
    pub station: StationId,
    pub course: Course,
    /// The course is held: shown to the kitchen, cooked once fired.
    pub held: bool,
    pub items: Vec<TicketItem>,
}

/// What a send takes to the kitchen: one draft per station and course, in station then course
/// order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Send {
    /// 1 for the check's first send, then 2, 3…
    pub number: u32,
    pub header: TicketHeader,
    pub tickets: Vec<TicketDraft>,
}

/// One part of a split: the lines it pays for and its share of the check total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitPart {
    /// For a split by seat.
    pub seat: Option<Seat>,
    pub lines: Vec<LineId>,
    pub amount: Money,
}

/// A check. See the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    id: CheckId,
    number: OrderNumber,
    order_type: OrderType,
    table: Option<TableId>,
    guests: u32,
    seats: u32,
    server: StaffId,
    state: CheckState,
    lines: Vec<CheckLine>,
    discount: Option<(CheckDiscount, Approval)>,
    sends: u32,
    held: BTreeSet<Course>,
    fired: BTreeSet<Course>,
    paid: Money,
    reopened: Vec<Approval>,
    split: Option<SplitRule>,
    merged_into: Option<CheckId>,
    totals: CheckTotals,
}

impl Check {
    /// Opens a check. Dine-in needs a table and at least one guest.
    pub fn open(open: OpenCheck) -> Result<Check, CheckError> {
        if open.order_type == OrderType::DineIn {
            if open.table.is_none() {
                return Err(CheckError::TableRequired);
            }
            if open.guests == 0 {
                return Err(CheckError::NoGuests);
            }
        }
        let totals = tax::check_totals(open.order_type, &[], None)?;
        Ok(Check {
            id: open.id,
            number: open.number,
            order_type: open.order_type,
            table: open.table,
            guests: open.guests,
            seats: open.seats,
            server: open.server,
            state: CheckState::Open,
            lines: Vec::new(),
            discount: None,
            sends: 0,
            held: BTreeSet::new(),
            fired: BTreeSet::new(),
            paid: Money::ZERO,
            reopened: Vec::new(),
            split: None,
            merged_into: None,
            totals,
        })
    }

    pub fn id(&self) -> &CheckId {
        &self.id
    }
    pub fn number(&self) -> OrderNumber {
        self.number
    }
    pub fn order_type(&self) -> OrderType {
        self.order_type
    }
    pub fn table(&self) -> Option<&TableId> {
        self.table.as_ref()
    }
    pub fn guests(&self) -> u32 {
        self.guests
    }
    pub fn seats(&self) -> u32 {
        self.seats
    }
    pub fn server(&self) -> &StaffId {
        &self.server
    }
    pub fn state(&self) -> CheckState {
        self.state
    }
    /// Every line, voided ones included, in the order they were added.
    pub fn lines(&self) -> &[CheckLine] {
        &self.lines
    }
    pub fn line(&self, id: &LineId) -> Option<&CheckLine> {
        self.lines.iter().find(|l| &l.id == id)
    }
    /// The check discount and its approval.
    pub fn discount(&self) -> Option<&(CheckDiscount, Approval)> {
        self.discount.as_ref()
    }
    /// How many sends the check has had.
    pub fn sends(&self) -> u32 {
        self.sends
    }
    /// Courses held and not yet fired.
    pub fn held_courses(&self) -> &BTreeSet<Course> {
        &self.held
    }
    pub fn totals(&self) -> &CheckTotals {
        &self.totals
    }
    pub fn paid(&self) -> Money {
        self.paid
    }
    /// The approvals of every reopening, oldest first.
    pub fn reopened(&self) -> &[Approval] {
        &self.reopened
    }
    /// How the check is split, if it is.
    pub fn split(&self) -> Option<&SplitRule> {
        self.split.as_ref()
    }
    /// The check this one was merged into, once it was.
    pub fn merged_into(&self) -> Option<&CheckId> {
        self.merged_into.as_ref()
    }
    /// What is left to pay; negative when more was paid than the total (change or overpayment).
    pub fn balance_due(&self) -> Result<Money, MoneyError> {
        self.totals.total.checked_sub(self.paid)
    }
    /// What the tickets of this check show above their items.
    pub fn header(&self) -> TicketHeader {
        TicketHeader {
            check: self.id.clone(),
            number: self.number,
            order_type: self.order_type,
            table: self.table.clone(),
            server: self.server.clone(),
        }
    }

    /// Adds a line. Refuses a closed check, an item in `eighty_sixed` (validated at creation: a
    /// line arriving from a peer is accepted by the projections and shown as oversold), a line
    /// id already used, a seat the check does not have, and notes that are too long.
    pub fn add_line(
        &mut self,
        line: NewLine,
        eighty_sixed: &BTreeSet<ItemId>,
    ) -> Result<(), CheckError> {
        self.ensure_open()?;
        if eighty_sixed.contains(line.priced.item()) {
            return Err(CheckError::EightySixed(line.priced.item().clone()));
        }
        if self.line(&line.id).is_some() {
            return Err(CheckError::DuplicateLine(line.id));
        }
        if let Some(seat) = line.seat {
            self.ensure_seat(seat)?;
        }
        let notes = if line.notes.trim().is_empty() {
            None
        } else {
            Some(Reason::new(&line.notes)?)
        };
        let mut lines = self.lines.clone();
        lines.push(CheckLine {
            id: line.id,
            priced: line.priced,
            seat: line.seat,
            course: line.course,
            notes,
            addition: self.sends > 0,
            sent: None,
            discount: None,
            void: None,
            comp: None,
        });
        self.commit_lines(lines)
    }

    /// Holds a course: its lines go to the kitchen as held until it is fired. Holding a course
    /// already held changes nothing; a course already fired, or with lines already sent to cook,
    /// is refused.
    pub fn hold_course(&mut self, course: Course) -> Result<(), CheckError> {
        self.ensure_open()?;
        if self.fired.contains(&course) {
            return Err(CheckError::CourseAlreadyFired { course });
        }
        let sent_live = self
            .lines
            .iter()
            .any(|l| l.course == course && l.sent.is_some() && !self.held.contains(&course));
        if sent_live {
            return Err(CheckError::CourseAlreadySent { course });
        }
        self.held.insert(course);
        Ok(())
    }

    /// Fires a held course: its held tickets become cookable and later lines of it go out live.
    /// Returns whether anything changed: firing a course that is not held (never held, or
    /// already fired) makes nothing new.
    pub fn fire_course(&mut self, course: Course) -> Result<bool, CheckError> {
        self.ensure_open()?;
        if !self.held.remove(&course) {
            return Ok(false);
        }
        self.fired.insert(course);
        Ok(true)
    }

    /// Sends every unsent, unvoided line: one ticket draft per station and course, held where
    /// the course is held. Refuses when there is nothing new.
    pub fn send(&mut self) -> Result<Send, CheckError> {
        self.send_lines(None)
    }

    /// Records a send made on another device: exactly `lines` (those still unsent and unvoided)
    /// go out, so two devices adding lines at once never send each other's lines.
    pub fn record_send(&mut self, lines: &BTreeSet<LineId>) -> Result<Send, CheckError> {
        self.send_lines(Some(lines))
    }

    fn send_lines(&mut self, only: Option<&BTreeSet<LineId>>) -> Result<Send, CheckError> {
        self.ensure_open()?;
        let number = self.sends + 1;
        let mut drafts: BTreeMap<(StationId, Course), Vec<TicketItem>> = BTreeMap::new();
        let mut lines = self.lines.clone();
        let mut any = false;
        for line in lines
            .iter_mut()
            .filter(|l| l.sent.is_none() && !l.is_voided())
            .filter(|l| only.is_none_or(|set| set.contains(&l.id)))
        {
            any = true;
            line.sent = Some(number);
            for station in line.priced.stations() {
                drafts
                    .entry((station.clone(), line.course))
                    .or_default()
                    .push(ticket_item(line));
            }
        }
        if !any {
            return Err(CheckError::NothingToSend);
        }
        let tickets = drafts
            .into_iter()
            .map(|((station, course), items)| TicketDraft {
                station,
                course,
                held: self.held.contains(&course),
                items,
            })
            .collect();
        self.lines = lines;
        self.sends = number;
        Ok(Send {
            number,
            header: self.header(),
            tickets,
        })
    }

    /// Voids a line: it leaves the totals (and, when sent, its ticket items are voided).
    pub fn void_line(&mut self, id: &LineId, approval: Approval) -> Result<(), CheckError> {
        self.change_line(id, |line| {
            line.void = Some(approval);
            Ok(())
        })
    }

    /// Comps a line: it stays on the check and the ticket, at no charge.
    pub fn comp_line(&mut self, id: &LineId, approval: Approval) -> Result<(), CheckError> {
        self.change_line(id, |line| {
            if line.comp.is_some() {
                return Err(CheckError::LineComped(line.id.clone()));
            }
            line.comp = Some(approval);
            line.discount = None;
            Ok(())
        })
    }

    /// Discounts a line (replacing any earlier discount on it). A percentage is of the line's
    /// amount, rounded once; the discount may not exceed the line.
    pub fn discount_line(
        &mut self,
        id: &LineId,
        discount: CheckDiscount,
        approval: Approval,
    ) -> Result<(), CheckError> {
        self.change_line(id, |line| {
            if line.comp.is_some() {
                return Err(CheckError::LineComped(line.id.clone()));
            }
            let amount = line.priced.amount();
            let money = match discount {
                CheckDiscount::Amount(money) => money,
                CheckDiscount::Percent(percent) => {
                    if percent.is_sign_negative() || percent > Decimal::ONE_HUNDRED {
                        return Err(TaxError::BadDiscountPercent { percent }.into());
                    }
                    amount.checked_mul_rounded(percent / Decimal::ONE_HUNDRED)?
                }
            };
            if money.is_negative() {
                return Err(TaxError::NegativeDiscount { discount: money }.into());
            }
            if money > amount {
                return Err(CheckError::DiscountExceedsLine {
                    discount: money,
                    amount,
                });
            }
            line.discount = Some((discount, money, approval));
            Ok(())
        })
    }

    /// Sets the check discount (replacing any earlier one); `None` removes it.
    pub fn discount_check(
        &mut self,
        discount: Option<(CheckDiscount, Approval)>,
    ) -> Result<(), CheckError> {
        self.ensure_open()?;
        let totals = self.compute_totals(&self.lines, discount.as_ref())?;
        self.discount = discount;
        self.totals = totals;
        Ok(())
    }

    /// Moves the check to another table.
    pub fn move_to(&mut self, table: TableId) -> Result<(), CheckError> {
        self.ensure_open()?;
        if self.table.as_ref() == Some(&table) {
            return Err(CheckError::SameTable(table));
        }
        self.table = Some(table);
        Ok(())
    }

    /// Takes in another open check of the same order type, which the caller then closes as
    /// merged. Its lines keep their ids and state; their seats are renumbered after this check's
    /// (its seat 1 becomes seat `self.seats() + 1`), its guests are added, and its held and
    /// fired courses join this check's. Refuses a check with payments or a check discount (they
    /// would be lost) and line ids present on both.
    pub fn merge(&mut self, other: &Check) -> Result<(), CheckError> {
        self.ensure_open()?;
        other.ensure_open()?;
        if other.id == self.id {
            return Err(CheckError::MergeIntoItself);
        }
        if other.order_type != self.order_type {
            return Err(CheckError::OrderTypeMismatch {
                into: self.order_type,
                from: other.order_type,
            });
        }
        if !other.paid.is_zero() {
            return Err(CheckError::HasPayments(other.id.clone()));
        }
        if other.discount.is_some() {
            return Err(CheckError::HasCheckDiscount(other.id.clone()));
        }
        let mut lines = self.lines.clone();
        for line in &other.lines {
            if self.line(&line.id).is_some() {
                return Err(CheckError::DuplicateLine(line.id.clone()));
            }
            let mut line = line.clone();
            line.seat = line.seat.map(|Seat(s)| Seat(s + self.seats));
            lines.push(line);
        }
        let totals = self.compute_totals(&lines, self.discount.as_ref())?;
        self.lines = lines;
        self.totals = totals;
        self.guests += other.guests;
        self.seats += other.seats;
        self.sends += other.sends;
        self.fired.extend(other.fired.iter().copied());
        self.held.extend(other.held.iter().copied());
        let fired = self.fired.clone();
        self.held.retain(|c| !fired.contains(c));
        Ok(())
    }

    /// Marks this check as taken into `into` by [`Check::merge`]: from now on it refuses every
    /// change, and it is not a sale of its own (its lines are paid on `into`).
    pub fn mark_merged(&mut self, into: CheckId) -> Result<(), CheckError> {
        self.ensure_open()?;
        if into == self.id {
            return Err(CheckError::MergeIntoItself);
        }
        self.state = CheckState::Merged;
        self.merged_into = Some(into);
        Ok(())
    }

    /// Records how the check is split (`None`: not split). The rule must give parts for the
    /// check as it is now; [`Check::split_parts`] recomputes them after later changes.
    pub fn set_split(&mut self, rule: Option<SplitRule>) -> Result<(), CheckError> {
        self.ensure_open()?;
        if let Some(rule) = &rule {
            self.parts_of(rule)?;
        }
        self.split = rule;
        Ok(())
    }

    /// The parts of the recorded split, computed from the check as it is now: `None` when the
    /// check is not split, an error when the rule no longer fits (a line added after a split by
    /// items is in no part).
    pub fn split_parts(&self) -> Option<Result<Vec<SplitPart>, CheckError>> {
        self.split.as_ref().map(|rule| self.parts_of(rule))
    }

    fn parts_of(&self, rule: &SplitRule) -> Result<Vec<SplitPart>, CheckError> {
        match rule {
            SplitRule::BySeat => self.split_by_seat(),
            SplitRule::ByItems(groups) => self.split_by_items(groups),
            SplitRule::Evenly(parts) => self.split_evenly(*parts),
        }
    }

    /// Records a payment (any tender). Paying more than is due is allowed: the caller gives
    /// change or flags an overpayment.
    pub fn pay(&mut self, amount: Money) -> Result<(), CheckError> {
        self.ensure_open()?;
        if amount.is_negative() || amount.is_zero() {
            return Err(CheckError::BadPayment(amount));
        }
        self.paid = self.paid.checked_add(amount)?;
        Ok(())
    }

    /// Takes in a payment made on another device, open or closed check alike: the money was
    /// taken, so it counts. A payment that makes the check paid more than its total is an
    /// overpayment, which the payments ledger reports; [`Check::pay`] is what a device checks a
    /// new payment against.
    pub fn accept_payment(&mut self, amount: Money) -> Result<(), CheckError> {
        if amount.is_negative() {
            return Err(CheckError::BadPayment(amount));
        }
        self.paid = self.paid.checked_add(amount)?;
        Ok(())
    }

    /// Takes a payment back off the check (an offline card payment the card network declined
    /// when it was uploaded). A closed check that now has something to pay opens again; returns
    /// whether it did.
    pub fn reverse_payment(&mut self, amount: Money) -> Result<bool, CheckError> {
        if amount.is_negative() {
            return Err(CheckError::BadPayment(amount));
        }
        self.paid = self.paid.checked_sub(amount)?;
        if self.state == CheckState::Closed && self.balance_due()? > Money::ZERO {
            self.state = CheckState::Open;
            return Ok(true);
        }
        Ok(false)
    }

    /// Closes the check: every line sent or voided, nothing left to pay.
    pub fn close(&mut self) -> Result<(), CheckError> {
        self.ensure_open()?;
        if self
            .lines
            .iter()
            .any(|l| l.sent.is_none() && !l.is_voided())
        {
            return Err(CheckError::UnsentLines);
        }
        let due = self.balance_due()?;
        if due > Money::ZERO {
            return Err(CheckError::BalanceDue { due });
        }
        self.state = CheckState::Closed;
        Ok(())
    }

    /// Reopens a closed check (a refund, a declined offline card) with a manager's approval.
    pub fn reopen(&mut self, approval: Approval) -> Result<(), CheckError> {
        if self.state != CheckState::Closed {
            return Err(CheckError::NotClosed(self.id.clone()));
        }
        self.state = CheckState::Open;
        self.reopened.push(approval);
        Ok(())
    }

    /// Splits the check total evenly into `parts` amounts that differ by at most a cent.
    pub fn split_evenly(&self, parts: usize) -> Result<Vec<SplitPart>, CheckError> {
        if parts == 0 {
            return Err(CheckError::NoParts);
        }
        Ok(self
            .totals
            .total
            .split(parts)?
            .into_iter()
            .map(|amount| SplitPart {
                seat: None,
                lines: Vec::new(),
                amount,
            })
            .collect())
    }

    /// One part per seat that has a live line. Each seat pays its lines; lines for the table
    /// (no seat) are shared equally by those seats. The check total is allocated in proportion
    /// to each part's lines with their exclusive tax ([`Money::allocate`]), so the parts sum to
    /// the total exactly and a seat that drank the higher-taxed wine pays its tax.
    pub fn split_by_seat(&self) -> Result<Vec<SplitPart>, CheckError> {
        let live: Vec<&CheckLine> = self.lines.iter().filter(|l| !l.is_voided()).collect();
        let seats: BTreeSet<Seat> = live.iter().filter_map(|l| l.seat).collect();
        if seats.is_empty() {
            return Err(CheckError::NothingToSplit);
        }
        let shared: Vec<&CheckLine> = live.iter().copied().filter(|l| l.seat.is_none()).collect();
        let shared_weight = weight_of(&shared, self.order_type)?;
        let seat_count = u128::try_from(seats.len()).map_err(|_| MoneyError::Overflow)?;
        let mut parts = Vec::with_capacity(seats.len());
        let mut weights = Vec::with_capacity(seats.len());
        for seat in seats {
            let own: Vec<&CheckLine> = live
                .iter()
                .copied()
                .filter(|l| l.seat == Some(seat))
                .collect();
            // Each seat's own lines count `seat_count` times and the shared lines once: the
            // shared lines are divided equally without rounding.
            let weight = weight_of(&own, self.order_type)?
                .checked_mul(seat_count)
                .and_then(|w| w.checked_add(shared_weight))
                .ok_or(MoneyError::Overflow)?;
            weights.push(weight);
            parts.push(SplitPart {
                seat: Some(seat),
                lines: own.iter().chain(&shared).map(|l| l.id.clone()).collect(),
                amount: Money::ZERO,
            });
        }
        self.allocate_parts(parts, &weights)
    }

    /// One part per group of line ids: every live line in exactly one part. Each part's share is
    /// allocated as in [`Check::split_by_seat`].
    pub fn split_by_items(&self, groups: &[Vec<LineId>]) -> Result<Vec<SplitPart>, CheckError> {
        if groups.is_empty() {
            return Err(CheckError::NoParts);
        }
        let mut placed: BTreeSet<&LineId> = BTreeSet::new();
        let mut parts = Vec::with_capacity(groups.len());
        let mut weights = Vec::with_capacity(groups.len());
        for group in groups {
            let mut lines = Vec::with_capacity(group.len());
            for id in group {
                let line = self
                    .line(id)
                    .ok_or_else(|| CheckError::UnknownLine(id.clone()))?;
                if line.is_voided() {
                    return Err(CheckError::LineVoided(id.clone()));
                }
                if !placed.insert(id) {
                    return Err(CheckError::LineInTwoParts(id.clone()));
                }
                lines.push(line);
            }
            weights.push(weight_of(&lines, self.order_type)?);
            parts.push(SplitPart {
                seat: None,
                lines: group.clone(),
                amount: Money::ZERO,
            });
        }
        if let Some(missing) = self
            .lines
            .iter()
            .find(|l| !l.is_voided() && !placed.contains(&l.id))
        {
            return Err(CheckError::LineInNoPart(missing.id.clone()));
        }
        self.allocate_parts(parts, &weights)
    }

    fn allocate_parts(
        &self,
        mut parts: Vec<SplitPart>,
        weights: &[u128],
    ) -> Result<Vec<SplitPart>, CheckError> {
        let total = self.totals.total;
        if total.is_zero() || weights.iter().all(|w| *w == 0) {
            // Nothing to pay (all comped, or 100% off): every part pays nothing. A non-zero
            // total always has a line with a non-zero amount, so no money is lost here.
            return Ok(parts);
        }
        let weights = scale_weights(weights)?;
        for (part, amount) in parts.iter_mut().zip(total.allocate(&weights)?) {
            part.amount = amount;
        }
        Ok(parts)
    }

    fn ensure_open(&self) -> Result<(), CheckError> {
        match (self.state, &self.merged_into) {
            (CheckState::Open, _) => Ok(()),
            (CheckState::Merged, Some(into)) => Err(CheckError::Merged {
                check: self.id.clone(),
                into: into.clone(),
            }),
            _ => Err(CheckError::Closed(self.id.clone())),
        }
    }

    fn ensure_seat(&self, seat: Seat) -> Result<(), CheckError> {
        if seat.0 == 0 || seat.0 > self.seats {
            return Err(CheckError::NoSuchSeat {
                seat,
                seats: self.seats,
            });
        }
        Ok(())
    }

    /// Applies `change` to a copy of an unvoided line and commits it if the totals still hold.
    fn change_line(
        &mut self,
        id: &LineId,
        change: impl FnOnce(&mut CheckLine) -> Result<(), CheckError>,
    ) -> Result<(), CheckError> {
        self.ensure_open()?;
        let mut lines = self.lines.clone();
        let line = lines
            .iter_mut()
            .find(|l| &l.id == id)
            .ok_or_else(|| CheckError::UnknownLine(id.clone()))?;
        if line.is_voided() {
            return Err(CheckError::LineVoided(id.clone()));
        }
        change(line)?;
        self.commit_lines(lines)
    }

    fn commit_lines(&mut self, lines: Vec<CheckLine>) -> Result<(), CheckError> {
        let totals = self.compute_totals(&lines, self.discount.as_ref())?;
        self.lines = lines;
        self.totals = totals;
        Ok(())
    }

    fn compute_totals(
        &self,
        lines: &[CheckLine],
        discount: Option<&(CheckDiscount, Approval)>,
    ) -> Result<CheckTotals, CheckError> {
        let amounts = lines
            .iter()
            .filter(|l| !l.is_voided())
            .map(|l| Ok((l.net_amount()?, l)))
            .collect::<Result<Vec<_>, MoneyError>>()?;
        let taxable: Vec<TaxableLine<'_>> = amounts
            .iter()
            .map(|(amount, line)| TaxableLine {
                amount: *amount,
                tax_class: line.priced.tax_class(),
            })
            .collect();
        Ok(tax::check_totals(
            self.order_type,
            &taxable,
            discount.map(|(d, _)| *d),
        )?)
    }
}

fn ticket_item(line: &CheckLine) -> TicketItem {
    TicketItem {
        line: line.id.clone(),
        item: line.priced.item().clone(),
        name: line.priced.name().to_owned(),
        qty: line.priced.qty(),
        modifiers: line.priced.modifiers().to_vec(),
        seat: line.seat,
        notes: line.notes.as_ref().map(|n| n.as_str().to_owned()),
        allergens: line.priced.allergens().clone(),
        prep_secs: line.priced.prep_secs(),
        addition: line.addition,
    }
}

/// A split weight: Σ net cents × (100 + exclusive percent) × 1000, exact for rates with up to
/// three decimals (8.875 %) and rounded otherwise: a weight only sets proportions.
fn weight_of(lines: &[&CheckLine], order_type: OrderType) -> Result<u128, CheckError> {
    let mut weight: u128 = 0;
    for line in lines {
        let cents =
            u128::try_from(line.net_amount()?.minor_units()?).map_err(|_| MoneyError::Overflow)?;
        let exclusive: Decimal = line
            .priced
            .tax_class()
            .rates_for(order_type)
            .iter()
            .filter(|r| !r.is_inclusive())
            .map(|r| r.percent())
            .sum();
        let factor = ((Decimal::ONE_HUNDRED + exclusive) * Decimal::ONE_THOUSAND).round();
        let factor = u128::try_from(factor).map_err(|_| MoneyError::Overflow)?;
        weight = cents
            .checked_mul(factor)
            .and_then(|w| weight.checked_add(w))
            .ok_or(MoneyError::Overflow)?;
    }
    Ok(weight)
}

/// Weights for [`Money::allocate`], which takes `u64`: divided down together if any is larger.
fn scale_weights(weights: &[u128]) -> Result<Vec<u64>, MoneyError> {
    let max = weights.iter().copied().max().unwrap_or(0);
    let divisor = (max / u128::from(u64::MAX)) + 1;
    weights
        .iter()
        .map(|w| u64::try_from(w / divisor).map_err(|_| MoneyError::Overflow))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    use super::*;
    use crate::domain::menu::{Menu, MenuError, ModifierId};

    const SAMPLE: &str = include_str!("../../../assets/menu.toml");

    fn menu() -> &'static Menu {
        static MENU: OnceLock<Menu> = OnceLock::new();
        MENU.get_or_init(|| Menu::from_toml_str(SAMPLE).expect("the sample menu loads"))
    }

    fn m(s: &str) -> Money {
        s.parse().expect("test amount")
    }

    fn number(counter: u16) -> OrderNumber {
        OrderNumber::new(DeviceLetter::new('B').expect("letter"), counter).expect("number")
    }

    fn opening(order_type: OrderType, table: Option<&str>, guests: u32) -> OpenCheck {
        OpenCheck {
            id: CheckId::new("c1"),
            number: number(1),
            order_type,
            table: table.map(TableId::new),
            guests,
            seats: guests.max(1),
            server: StaffId::new("sam"),
        }
    }

    fn approval(reason: &str) -> Approval {
        Approval {
            manager: StaffId::new("mia"),
            reason: Reason::new(reason).expect("reason"),
        }
    }

    fn priced(item: &str, modifiers: &[&str], qty: u32) -> Result<PricedLine, MenuError> {
        let modifiers: Vec<ModifierId> = modifiers.iter().map(|m| ModifierId::new(*m)).collect();
        menu().price_line(&ItemId::new(item), &modifiers, qty)
    }

    /// One change a terminal makes, for data-driven tests.
    #[derive(Debug, Clone, Copy)]
    enum Step {
        /// line id, item, modifiers, qty, seat, course
        Add(
            &'static str,
            &'static str,
            &'static [&'static str],
            u32,
            u32,
            u8,
        ),
        Send,
        Hold(u8),
        Fire(u8),
        Void(&'static str),
        Comp(&'static str),
        LineOff(&'static str, &'static str),
        LinePercent(&'static str, u32),
        CheckOff(&'static str),
        CheckPercent(u32),
        Pay(&'static str),
        Close,
        MoveTo(&'static str),
        Reopen,
    }

    /// The 86'd items in these tests.
    fn eighty_sixed() -> BTreeSet<ItemId> {
        BTreeSet::from([ItemId::new("filet_mignon")])
    }

    fn apply(check: &mut Check, step: Step) -> Result<(), CheckError> {
        match step {
            Step::Add(id, item, modifiers, qty, seat, course) => {
                let priced = priced(item, modifiers, qty).expect("a valid line");
                let line = NewLine {
                    id: LineId::new(id),
                    priced,
                    seat: (seat > 0).then_some(Seat(seat)),
                    course: Course(course),
                    notes: String::new(),
                };
                check.add_line(line, &eighty_sixed())
            }
            Step::Send => check.send().map(|_| ()),
            Step::Hold(course) => check.hold_course(Course(course)),
            Step::Fire(course) => check.fire_course(Course(course)).map(|_| ()),
            Step::Void(id) => check.void_line(&LineId::new(id), approval("sent back")),
            Step::Comp(id) => check.comp_line(&LineId::new(id), approval("long wait")),
            Step::LineOff(id, amount) => check.discount_line(
                &LineId::new(id),
                CheckDiscount::Amount(m(amount)),
                approval("regular"),
            ),
            Step::LinePercent(id, percent) => check.discount_line(
                &LineId::new(id),
                CheckDiscount::Percent(Decimal::from(percent)),
                approval("staff"),
            ),
            Step::CheckOff(amount) => check.discount_check(Some((
                CheckDiscount::Amount(m(amount)),
                approval("voucher"),
            ))),
            Step::CheckPercent(percent) => check.discount_check(Some((
                CheckDiscount::Percent(Decimal::from(percent)),
                approval("happy hour"),
            ))),
            Step::Pay(amount) => check.pay(m(amount)),
            Step::Close => check.close(),
            Step::MoveTo(table) => check.move_to(TableId::new(table)),
            Step::Reopen => check.reopen(approval("card declined")),
        }
    }

    /// Opens a dine-in check for two at table 4, applies every step (all but the last must be
    /// accepted), and compares the last step's outcome; when accepted, the check's total.
    fn check(steps: &[Step], expected: Result<&str, CheckError>) {
        let mut check = Check::open(opening(OrderType::DineIn, Some("t4"), 2)).expect("open");
        let Some((last, before)) = steps.split_last() else {
            panic!("no steps");
        };
        for step in before {
            apply(&mut check, *step).unwrap_or_else(|e| panic!("{step:?}: {e}"));
        }
        let snapshot = check.clone();
        let actual = apply(&mut check, *last).map(|()| check.totals().total);
        assert_eq!(actual, expected.map(m), "{steps:?}");
        if actual.is_err() {
            assert_eq!(
                check, snapshot,
                "a refused change leaves the check as it was"
            );
        }
    }

    use Step::*;

    const BURGER: Step = Add("l1", "classic_burger", &["medium"], 1, 1, 1);
    const WINE: Step = Add("l2", "house_red_glass", &[], 1, 2, 1);

    #[test]
    fn changes_to_a_check_and_their_totals() {
        // classic burger 14.50 food (8.875%); house red 10.00 alcohol (8.875% + 2.5%).
        // Sales 24.50 × 8.875% = 2.1744 → 2.17; liquor 10.00 × 2.5% = 0.25.
        check(&[BURGER, WINE], Ok("26.92"));
        // Bacon +2.00, no cheese: 16.50; sales 26.50 × 8.875% = 2.3519 → 2.35.
        check(
            &[
                Add(
                    "l1",
                    "classic_burger",
                    &["medium", "no_cheese", "add_bacon"],
                    1,
                    1,
                    1,
                ),
                WINE,
            ],
            Ok("29.10"),
        );
        check(&[BURGER, WINE, Void("l2")], Ok("15.79"));
        check(&[BURGER, WINE, Comp("l1")], Ok("11.14"));
        // 2.50 off the burger: 12.00 + 10.00 → sales 1.9525 → 1.95; liquor 0.25.
        check(&[BURGER, WINE, LineOff("l1", "2.50")], Ok("24.20"));
        // 15% of 14.50 = 2.175 → 2.18 off (half away from zero).
        check(&[BURGER, LinePercent("l1", 15)], Ok("13.41"));
        // 10% off 24.50 = 2.45: food 1.45, wine 1.00 (proportional).
        // Sales 22.05 × 8.875% = 1.9569 → 1.96; liquor 9.00 × 2.5% = 0.225 → 0.23.
        check(&[BURGER, WINE, CheckPercent(10)], Ok("24.24"));
        check(&[BURGER, WINE, CheckOff("24.50")], Ok("0.00"));
        check(&[BURGER, Send, MoveTo("t9")], Ok("15.79"));
        check(&[BURGER, Send, Pay("15.79"), Close], Ok("15.79"));
        check(&[BURGER, Send, Pay("20.00"), Close], Ok("15.79"));
        check(&[BURGER, Send, Pay("15.79"), Close, Reopen], Ok("15.79"));
        check(&[BURGER, Void("l1"), Close], Ok("0.00"));
        check(&[Hold(2), Hold(2), Fire(2), Fire(2)], Ok("0.00"));
    }

    #[test]
    fn illegal_changes_are_refused() {
        let closed = [BURGER, Send, Pay("15.79"), Close];
        let after_close = |step: Step| [closed.as_slice(), &[step]].concat();
        let closed_error = Err(CheckError::Closed(CheckId::new("c1")));
        for step in [WINE, Send, Pay("1.00"), Void("l1"), MoveTo("t9"), Fire(1)] {
            check(&after_close(step), closed_error.clone());
        }
        check(
            &[Add("l1", "filet_mignon", &["rare"], 1, 1, 1)],
            Err(CheckError::EightySixed(ItemId::new("filet_mignon"))),
        );
        check(
            &[BURGER, Add("l1", "cola", &[], 1, 1, 1)],
            Err(CheckError::DuplicateLine(LineId::new("l1"))),
        );
        check(
            &[Add("l1", "cola", &[], 1, 3, 1)],
            Err(CheckError::NoSuchSeat {
                seat: Seat(3),
                seats: 2,
            }),
        );
        check(&[Send], Err(CheckError::NothingToSend));
        check(&[BURGER, Send, Send], Err(CheckError::NothingToSend));
        check(&[BURGER, Void("l1"), Send], Err(CheckError::NothingToSend));
        check(
            &[BURGER, Void("l1"), Void("l1")],
            Err(CheckError::LineVoided(LineId::new("l1"))),
        );
        check(
            &[BURGER, Comp("l1"), Comp("l1")],
            Err(CheckError::LineComped(LineId::new("l1"))),
        );
        check(
            &[BURGER, Comp("l1"), LineOff("l1", "1.00")],
            Err(CheckError::LineComped(LineId::new("l1"))),
        );
        check(
            &[Void("l9")],
            Err(CheckError::UnknownLine(LineId::new("l9"))),
        );
        check(
            &[BURGER, LineOff("l1", "14.51")],
            Err(CheckError::DiscountExceedsLine {
                discount: m("14.51"),
                amount: m("14.50"),
            }),
        );
        check(
            &[BURGER, LinePercent("l1", 101)],
            Err(TaxError::BadDiscountPercent { percent: dec!(101) }.into()),
        );
        check(
            &[BURGER, CheckOff("14.51")],
            Err(TaxError::DiscountExceedsSubtotal {
                discount: m("14.51"),
                subtotal: m("14.50"),
            }
            .into()),
        );
        // Voiding the wine would leave 20.00 off a 14.50 check.
        check(
            &[BURGER, WINE, CheckOff("20.00"), Void("l2")],
            Err(TaxError::DiscountExceedsSubtotal {
                discount: m("20.00"),
                subtotal: m("14.50"),
            }
            .into()),
        );
        check(
            &[BURGER, Pay("0.00")],
            Err(CheckError::BadPayment(m("0.00"))),
        );
        check(
            &[BURGER, Pay("-1.00")],
            Err(CheckError::BadPayment(m("-1.00"))),
        );
        check(
            &[BURGER, Send, Pay("15.00"), Close],
            Err(CheckError::BalanceDue { due: m("0.79") }),
        );
        check(&[BURGER, Pay("15.79"), Close], Err(CheckError::UnsentLines));
        check(
            &[BURGER, MoveTo("t4")],
            Err(CheckError::SameTable(TableId::new("t4"))),
        );
        check(&[Reopen], Err(CheckError::NotClosed(CheckId::new("c1"))));
        check(
            &[Add("l1", "tomato_soup", &[], 1, 1, 2), Send, Hold(2)],
            Err(CheckError::CourseAlreadySent { course: Course(2) }),
        );
        check(
            &[Hold(2), Fire(2), Hold(2)],
            Err(CheckError::CourseAlreadyFired { course: Course(2) }),
        );
    }

    #[test]
    fn opening_needs_a_table_and_guests_for_dine_in() {
        let cases = [
            (
                opening(OrderType::DineIn, None, 2),
                Err(CheckError::TableRequired),
            ),
            (
                opening(OrderType::DineIn, Some("t1"), 0),
                Err(CheckError::NoGuests),
            ),
            (opening(OrderType::DineIn, Some("t1"), 2), Ok(())),
            (opening(OrderType::Takeout, None, 0), Ok(())),
            (opening(OrderType::Online, None, 1), Ok(())),
        ];
        for (open, expected) in cases {
            assert_eq!(Check::open(open.clone()).map(|_| ()), expected, "{open:?}");
        }
    }

    #[test]
    fn a_line_without_its_forced_choice_is_refused_by_the_menu() {
        assert_eq!(
            priced("classic_burger", &["add_bacon"], 1),
            Err(MenuError::MissingForcedChoice {
                item: ItemId::new("classic_burger"),
                group: "burger_doneness".into(),
            })
        );
    }

    /// (station, course, held, [(line, addition)]) for each draft of a send.
    type Drafts<'a> = &'a [(&'a str, u8, bool, &'a [(&'a str, bool)])];

    type OwnedDrafts = Vec<(String, u8, bool, Vec<(String, bool)>)>;

    /// Applies `steps` to a fresh check, then sends, and compares the drafts.
    fn check_send(steps: &[Step], expected: Drafts<'_>) {
        let mut check = Check::open(opening(OrderType::DineIn, Some("t4"), 2)).expect("open");
        for step in steps {
            apply(&mut check, *step).unwrap_or_else(|e| panic!("{step:?}: {e}"));
        }
        let send = check.send().expect("send");
        let actual: OwnedDrafts = send
            .tickets
            .iter()
            .map(|t| {
                let items = t.items.iter().map(|i| (i.line.to_string(), i.addition));
                (t.station.to_string(), t.course.0, t.held, items.collect())
            })
            .collect();
        let expected: OwnedDrafts = expected
            .iter()
            .map(|(station, course, held, items)| {
                let items = items.iter().map(|(l, a)| ((*l).to_owned(), *a));
                ((*station).to_owned(), *course, *held, items.collect())
            })
            .collect();
        assert_eq!(actual, expected, "{steps:?}");
        assert_eq!(send.number, check.sends());
        assert_eq!(send.header, check.header());
    }

    const SOUP: Step = Add("s1", "tomato_soup", &[], 1, 1, 1);
    const MAIN: Step = Add("m1", "classic_burger", &["medium"], 1, 1, 2);

    #[test]
    fn a_send_makes_one_ticket_per_station_and_course_with_only_new_lines() {
        check_send(
            &[BURGER, WINE],
            &[
                ("bar", 1, false, &[("l2", false)]),
                ("fry", 1, false, &[("l1", false)]),
                ("grill", 1, false, &[("l1", false)]),
            ],
        );
        // Only what was added since; marked as additions.
        check_send(
            &[BURGER, Send, WINE, Add("l3", "draught_lager", &[], 2, 0, 1)],
            &[("bar", 1, false, &[("l2", true), ("l3", true)])],
        );
        // A voided unsent line never reaches the kitchen.
        check_send(
            &[BURGER, WINE, Void("l1")],
            &[("bar", 1, false, &[("l2", false)])],
        );
        // Coursing: the mains go out held, then live once fired; lines ordered before the first
        // send are not additions even when they go out later.
        check_send(
            &[SOUP, MAIN, Hold(2)],
            &[
                ("fry", 2, true, &[("m1", false)]),
                ("grill", 2, true, &[("m1", false)]),
                ("saute_cold", 1, false, &[("s1", false)]),
            ],
        );
        check_send(
            &[
                SOUP,
                MAIN,
                Hold(2),
                Send,
                Fire(2),
                Add("m2", "cola", &[], 1, 2, 2),
            ],
            &[("bar", 2, false, &[("m2", true)])],
        );
        check_send(
            &[SOUP, Hold(2), Send, MAIN],
            &[
                ("fry", 2, true, &[("m1", true)]),
                ("grill", 2, true, &[("m1", true)]),
            ],
        );
    }

    #[test]
    fn firing_a_course_twice_makes_nothing_new() {
        let mut check = Check::open(opening(OrderType::DineIn, Some("t4"), 2)).expect("open");
        for step in [SOUP, MAIN, Hold(2), Send] {
            apply(&mut check, step).expect("step");
        }
        assert_eq!(check.fire_course(Course(2)), Ok(true));
        assert_eq!(check.fire_course(Course(2)), Ok(false));
        assert_eq!(check.fire_course(Course(1)), Ok(false), "never held");
        assert!(check.held_courses().is_empty());
    }

    #[test]
    fn a_ticket_item_carries_what_the_kitchen_needs() {
        let mut check = Check::open(opening(OrderType::DineIn, Some("t4"), 2)).expect("open");
        let line = NewLine {
            id: LineId::new("l1"),
            priced: priced("classic_burger", &["medium_rare", "no_cheese"], 2).expect("priced"),
            seat: Some(Seat(2)),
            course: Course::FIRST,
            notes: "  allergy: sesame  ".to_owned(),
        };
        check.add_line(line, &BTreeSet::new()).expect("add");
        let send = check.send().expect("send");
        let item = &send.tickets[0].items[0];
        assert_eq!(item.name, "Classic Burger");
        assert_eq!(item.qty, 2);
        assert_eq!(item.seat, Some(Seat(2)));
        assert_eq!(item.notes.as_deref(), Some("allergy: sesame"));
        let modifiers: Vec<(&str, bool)> = item
            .modifiers
            .iter()
            .map(|m| (m.id.as_str(), m.forced))
            .collect();
        assert_eq!(modifiers, [("medium_rare", true), ("no_cheese", false)]);
        assert!(item.allergens.contains(&Allergen::Sesame));
        assert_eq!(
            check.line(&LineId::new("l1")).and_then(CheckLine::sent),
            Some(1)
        );
    }

    #[test]
    fn reasons_are_required_and_short() {
        assert_eq!(Reason::new("   "), Err(CheckError::EmptyText));
        assert_eq!(Reason::new(&"x".repeat(201)), Err(CheckError::TextTooLong));
        assert_eq!(
            Reason::new(" cold ").map(|r| r.to_string()),
            Ok("cold".to_owned())
        );
    }

    /// A check at table 4 for three: burger seat 1, wine seat 2, salad seat 3, shared nachos.
    fn table_of_three() -> Check {
        let mut check = Check::open(opening(OrderType::DineIn, Some("t4"), 3)).expect("open");
        for step in [
            BURGER,
            WINE,
            Add("l3", "caesar_salad", &["dressing_caesar"], 1, 3, 1),
            Add("l4", "loaded_nachos", &[], 1, 0, 1),
        ] {
            apply(&mut check, step).unwrap_or_else(|e| panic!("{step:?}: {e}"));
        }
        check
    }

    fn amounts(parts: &[SplitPart]) -> Vec<Money> {
        parts.iter().map(|p| p.amount).collect()
    }

    #[test]
    fn splits_sum_to_the_check() {
        let check = table_of_three();
        let total = check.totals().total;
        let parts = check.split_by_seat().expect("by seat");
        assert_eq!(Money::sum(amounts(&parts)), Ok(total));
        let seats: Vec<Option<Seat>> = parts.iter().map(|p| p.seat).collect();
        assert_eq!(seats, [Some(Seat(1)), Some(Seat(2)), Some(Seat(3))]);
        assert!(parts.iter().all(|p| p.lines.contains(&LineId::new("l4"))));

        let even = check.split_evenly(3).expect("evenly");
        assert_eq!(Money::sum(amounts(&even)), Ok(total));

        let groups = vec![
            vec![LineId::new("l1"), LineId::new("l4")],
            vec![LineId::new("l2"), LineId::new("l3")],
        ];
        let by_items = check.split_by_items(&groups).expect("by items");
        assert_eq!(Money::sum(amounts(&by_items)), Ok(total));
    }

    #[test]
    fn a_split_by_seat_charges_each_seat_its_own_tax() {
        // Burger 14.50 (8.875%) on seat 1, wine 10.00 (11.375%) on seat 2: total 26.92.
        // Weights 14.50 × 108.875 and 10.00 × 111.375: shares of 26.92 are 15.784… and 11.135…;
        // 15.78 and 11.13, and the spare cent goes to the larger remainder (seat 2). Split by
        // pre-tax amount, seat 2 would have paid 10.99 and seat 1 its liquor tax.
        let mut check = Check::open(opening(OrderType::DineIn, Some("t4"), 2)).expect("open");
        for step in [BURGER, WINE] {
            apply(&mut check, step).expect("step");
        }
        let parts = check.split_by_seat().expect("split");
        assert_eq!(amounts(&parts), [m("15.78"), m("11.14")]);
    }

    #[test]
    fn bad_splits_are_refused() {
        let check = table_of_three();
        let ids = |list: &[&str]| list.iter().map(|s| LineId::new(*s)).collect::<Vec<_>>();
        let cases: Vec<(Vec<Vec<LineId>>, CheckError)> = vec![
            (vec![], CheckError::NoParts),
            (
                vec![ids(&["l1", "l2"]), ids(&["l3", "l4", "l1"])],
                CheckError::LineInTwoParts(LineId::new("l1")),
            ),
            (
                vec![ids(&["l1", "l2", "l3"])],
                CheckError::LineInNoPart(LineId::new("l4")),
            ),
            (
                vec![ids(&["l1", "l2", "l3", "l4", "l9"])],
                CheckError::UnknownLine(LineId::new("l9")),
            ),
        ];
        for (groups, expected) in cases {
            assert_eq!(check.split_by_items(&groups), Err(expected), "{groups:?}");
        }
        assert_eq!(check.split_evenly(0), Err(CheckError::NoParts));
        let empty = Check::open(opening(OrderType::Takeout, None, 1)).expect("open");
        assert_eq!(empty.split_by_seat(), Err(CheckError::NothingToSplit));
    }

    #[test]
    fn merging_takes_the_other_checks_lines_and_seats() {
        let mut into = Check::open(opening(OrderType::DineIn, Some("t4"), 2)).expect("open");
        apply(&mut into, BURGER).expect("burger");
        let mut other = Check::open(OpenCheck {
            id: CheckId::new("c2"),
            number: number(2),
            ..opening(OrderType::DineIn, Some("t5"), 2)
        })
        .expect("open");
        apply(&mut other, WINE).expect("wine");
        apply(&mut other, Send).expect("send");

        into.merge(&other).expect("merge");
        assert_eq!((into.guests(), into.seats()), (4, 4));
        let wine = into.line(&LineId::new("l2")).expect("merged line");
        assert_eq!((wine.seat(), wine.sent()), (Some(Seat(4)), Some(1)));
        assert_eq!(into.totals().total, m("26.92"));

        assert_eq!(
            into.merge(&other),
            Err(CheckError::DuplicateLine(LineId::new("l2")))
        );
        assert_eq!(into.merge(&into.clone()), Err(CheckError::MergeIntoItself));
        let takeout = Check::open(OpenCheck {
            id: CheckId::new("c3"),
            ..opening(OrderType::Takeout, None, 1)
        })
        .expect("open");
        assert_eq!(
            into.merge(&takeout),
            Err(CheckError::OrderTypeMismatch {
                into: OrderType::DineIn,
                from: OrderType::Takeout
            })
        );
        other.pay(m("1.00")).expect("pay");
        assert_eq!(
            into.merge(&other),
            Err(CheckError::HasPayments(CheckId::new("c2")))
        );
    }

    #[test]
    fn a_merged_check_refuses_every_change_and_names_where_it_went() {
        let mut other = Check::open(OpenCheck {
            id: CheckId::new("c2"),
            number: number(2),
            ..opening(OrderType::DineIn, Some("t5"), 2)
        })
        .expect("open");
        apply(&mut other, WINE).expect("wine");
        assert_eq!(
            other.mark_merged(CheckId::new("c2")),
            Err(CheckError::MergeIntoItself)
        );
        other.mark_merged(CheckId::new("c1")).expect("merged");
        assert_eq!(other.state(), CheckState::Merged);
        assert_eq!(other.merged_into(), Some(&CheckId::new("c1")));
        let merged = CheckError::Merged {
            check: CheckId::new("c2"),
            into: CheckId::new("c1"),
        };
        for step in [BURGER, Send, Close, Pay("1.00"), MoveTo("t9")] {
            assert_eq!(apply(&mut other, step), Err(merged.clone()), "{step:?}");
        }
        assert_eq!(
            other.reopen(approval("no")),
            Err(CheckError::NotClosed(CheckId::new("c2")))
        );
        let mut into = Check::open(opening(OrderType::DineIn, Some("t4"), 2)).expect("open");
        assert_eq!(into.merge(&other), Err(merged));
    }

    #[test]
    fn a_recorded_split_follows_the_check_and_says_when_it_no_longer_fits() {
        let mut check = table_of_three();
        assert_eq!(check.split_parts(), None);
        let ids = |list: &[&str]| list.iter().map(|s| LineId::new(*s)).collect::<Vec<_>>();
        assert_eq!(
            check.set_split(Some(SplitRule::ByItems(vec![ids(&["l1", "l2"])]))),
            Err(CheckError::LineInNoPart(LineId::new("l3"))),
            "a split that does not fit is refused"
        );
        assert_eq!(check.split(), None, "and nothing was recorded");

        check.set_split(Some(SplitRule::BySeat)).expect("by seat");
        let before = check.split_parts().expect("split").expect("parts");
        assert_eq!(before.len(), 3);
        apply(&mut check, Add("l5", "cola", &[], 1, 1, 1)).expect("cola for seat 1");
        let after = check.split_parts().expect("split").expect("parts");
        assert!(after[0].amount > before[0].amount, "seat 1 pays its cola");
        assert_eq!(
            Money::sum(amounts(&after)),
            Ok(check.totals().total),
            "the parts still sum to the check"
        );

        check
            .set_split(Some(SplitRule::ByItems(vec![
                ids(&["l1", "l2"]),
                ids(&["l3", "l4", "l5"]),
            ])))
            .expect("by items");
        apply(&mut check, Add("l6", "cola", &[], 1, 2, 1)).expect("another cola");
        assert_eq!(
            check.split_parts(),
            Some(Err(CheckError::LineInNoPart(LineId::new("l6"))))
        );
        check.set_split(Some(SplitRule::Evenly(2))).expect("evenly");
        check.set_split(None).expect("not split");
        assert_eq!(check.split_parts(), None);
    }

    #[test]
    fn order_numbers_are_per_device_and_day() {
        let b = DeviceLetter::new('B').expect("letter");
        let mut numbers = OrderNumbers::new(b);
        let mut issued = Vec::new();
        for day in [20_000, 20_000, 20_000, 20_001, 20_001] {
            issued.push(numbers.next(day).expect("number").to_string());
        }
        assert_eq!(issued, ["B1", "B2", "B3", "B1", "B2"]);

        let mut full = OrderNumbers::resume(b, 7, MAX_ORDER_COUNTER - 1);
        assert_eq!(full.next(7).map(|n| n.to_string()), Ok("B9999".to_owned()));
        assert_eq!(full.next(7), Err(OrderNumberError::Exhausted { device: b }));
        assert_eq!(
            full.next(8).map(|n| n.counter()),
            Ok(1),
            "a new day starts again"
        );

        for bad in ['I', 'O', 'a', '1', 'É'] {
            assert_eq!(
                DeviceLetter::new(bad),
                Err(OrderNumberError::BadLetter(bad))
            );
        }
        assert_eq!(OrderNumber::new(b, 0), Err(OrderNumberError::BadCounter(0)));
    }

    /// Items for random checks: food, alcohol and soft drinks, over every station.
    const RANDOM_ITEMS: [(&str, &[&str]); 6] = [
        ("classic_burger", &["medium"]),
        ("house_red_glass", &[]),
        ("cola", &[]),
        ("caesar_salad", &["dressing_caesar"]),
        ("tomato_soup", &[]),
        ("draught_ipa", &[]),
    ];

    #[derive(Debug, Clone)]
    struct RandomLine {
        item: usize,
        qty: u32,
        seat: u32,
        /// 0: none; 1: comp; 2: void; 3: percent off; 4: amount off (thousandths of the line).
        change: u8,
        size: u32,
    }

    fn any_line() -> impl Strategy<Value = RandomLine> {
        (0..RANDOM_ITEMS.len(), 1u32..4, 0u32..5, 0u8..5, 0u32..=1000).prop_map(
            |(item, qty, seat, change, size)| RandomLine {
                item,
                qty,
                seat,
                change,
                size,
            },
        )
    }

    fn random_check(lines: &[RandomLine], check_percent: Option<u32>) -> Check {
        let mut check = Check::open(OpenCheck {
            seats: 4,
            ..opening(OrderType::DineIn, Some("t1"), 4)
        })
        .expect("open");
        for (i, line) in lines.iter().enumerate() {
            let (item, modifiers) = RANDOM_ITEMS[line.item];
            let id = LineId::new(format!("l{i}"));
            let new = NewLine {
                id: id.clone(),
                priced: priced(item, modifiers, line.qty).expect("priced"),
                seat: (line.seat > 0).then_some(Seat(line.seat)),
                course: Course::FIRST,
                notes: String::new(),
            };
            check.add_line(new, &BTreeSet::new()).expect("add");
            let ok = approval("test");
            let amount = check.line(&id).expect("line").priced().amount();
            let outcome = match line.change {
                1 => check.comp_line(&id, ok),
                2 => check.void_line(&id, ok),
                3 => check.discount_line(
                    &id,
                    CheckDiscount::Percent(Decimal::new(i64::from(line.size), 1) / dec!(10)),
                    ok,
                ),
                4 => check.discount_line(
                    &id,
                    CheckDiscount::Amount(Money::round(
                        amount.amount() * Decimal::from(line.size) / dec!(1000),
                    )),
                    ok,
                ),
                _ => Ok(()),
            };
            outcome.expect("line change");
        }
        if let Some(percent) = check_percent {
            let discount = CheckDiscount::Percent(Decimal::from(percent));
            check
                .discount_check(Some((discount, approval("test"))))
                .expect("check discount");
        }
        check
    }

    proptest! {
        #[test]
        fn totals_and_splits_add_up(
            lines in prop::collection::vec(any_line(), 0..12),
            check_percent in prop::option::of(0u32..=100),
            parts in 1usize..7,
        ) {
            let check = random_check(&lines, check_percent);
            let totals = check.totals();

            // total = Σ live lines − discounts + exclusive tax
            let mut listed = Money::ZERO;
            let mut line_discounts = Money::ZERO;
            for line in check.lines().iter().filter(|l| !l.is_voided() && l.comp().is_none()) {
                listed = listed.checked_add(line.priced().amount()).expect("add");
                let off = line.discount().unwrap_or(Money::ZERO);
                line_discounts = line_discounts.checked_add(off).expect("add");
            }
            let expected = listed
                .checked_sub(line_discounts).expect("sub")
                .checked_sub(totals.discount).expect("sub")
                .checked_add(totals.tax_added).expect("add");
            prop_assert_eq!(totals.total, expected);

            let total = totals.total;
            let even = check.split_evenly(parts).expect("evenly");
            prop_assert_eq!(Money::sum(amounts(&even)).expect("sum"), total);
            match check.split_by_seat() {
                Ok(by_seat) => prop_assert_eq!(Money::sum(amounts(&by_seat)).expect("sum"), total),
                Err(e) => prop_assert_eq!(e, CheckError::NothingToSplit),
            }
            // Every live line in part (index mod parts).
            let mut groups = vec![Vec::new(); parts];
            for (i, line) in check.lines().iter().filter(|l| !l.is_voided()).enumerate() {
                groups[i % parts].push(line.id().clone());
            }
            let by_items = check.split_by_items(&groups).expect("by items");
            prop_assert_eq!(Money::sum(amounts(&by_items)).expect("sum"), total);
            prop_assert!(by_items.iter().all(|p| !p.amount.is_negative()));
        }
    }
}
