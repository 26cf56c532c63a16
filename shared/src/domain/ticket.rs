//! Kitchen tickets: what a prep station cooks, and the expo rule over them.
//!
//! # Model
//!
//! A send ([`super::check::Send`]) becomes one [`Ticket`] per station and course. A ticket's life:
//!
//! ```text
//!   (held) --fire--> New --show--> Shown --start--> Started --bump--> Done --recall--> Recalled
//!                                    \_____________________bump______/ ^         |
//!                                                                      \---bump---/
//!   any state except Voided --void--> Voided   (or when its last item is voided)
//! ```
//!
//! - **Shown** is written by the screen the first time it displays the ticket, with that screen's
//!   clock (`shown_ms`); a held ticket is displayed greyed and counts as shown only after it is
//!   fired. **Done** records the bump on the same screen's clock (`bumped_ms`); a recall clears it,
//!   so the ticket time is always the final bump minus the first show.
//! - Items are bumped one by one or with their ticket: an item is New, Started, Done or Voided.
//!   Bumping the last unfinished item bumps the ticket.
//! - **Priority**: a rush ticket comes before every normal one; within a priority, tickets are in
//!   the order they were queued (sent, or fired when held), by HLC stamp.
//! - **Coursing**: the tickets of a held course are created held and cannot be shown, started or
//!   bumped until fired. [`fire_course`] fires them; firing a course that is already fired makes
//!   nothing new. [`course_to_auto_fire`] says which held course follows a completed one.
//! - **Expo** sees every ticket of an order. [`ExpoOrder::bump`] refuses while a prep station
//!   still holds an item of that order and course, unless forced with a reason.
//!
//! Every transition is a method that refuses an illegal move with a [`TicketError`] and then
//! leaves the ticket as it was.

use std::cmp::Reverse;
use std::collections::BTreeSet;

use super::check::{CheckId, Course, LineId, Reason, TicketDraft, TicketHeader, TicketItem};
use super::hlc::HlcStamp;
use super::id::string_id;
use super::menu::StationId;

string_id!(
    /// A ticket's id, given by the device that sends it.
    TicketId
);

/// A refused ticket transition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    #[error("a ticket needs at least one item")]
    NoItems,
    #[error("ticket {0} is held: fire its course first")]
    Held(TicketId),
    #[error("ticket {0} has not been shown on a screen yet")]
    NotShown(TicketId),
    #[error("ticket {0} is already started")]
    AlreadyStarted(TicketId),
    #[error("ticket {0} is already bumped")]
    AlreadyBumped(TicketId),
    #[error("ticket {0} is not bumped, so it cannot be recalled")]
    NotBumped(TicketId),
    #[error("ticket {0} is voided")]
    Voided(TicketId),
    #[error("ticket {ticket} has no item for line {line}")]
    UnknownItem { ticket: TicketId, line: LineId },
    #[error("line {0} is voided on this ticket")]
    ItemVoided(LineId),
    #[error("line {0} is already done")]
    ItemDone(LineId),
    #[error("line {0} is already started")]
    ItemStarted(LineId),
    #[error("{} still cooking this order", list(.stations))]
    StillAtStations { stations: Vec<StationId> },
    #[error("this course is held: nothing to bump at expo yet")]
    CourseHeld,
    #[error("this order has no tickets to bump at expo")]
    NothingToBump,
    #[error("this order is already bumped at expo")]
    ExpoAlreadyBumped,
}

fn list(stations: &[StationId]) -> String {
    let names: Vec<&str> = stations.iter().map(StationId::as_str).collect();
    names.join(", ")
}

/// Where a ticket is in its life (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TicketState {
    New,
    Shown,
    Started,
    Done,
    Recalled,
    Voided,
}

/// Where one item of a ticket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemState {
    New,
    Started,
    Done,
    Voided,
}

/// A ticket's priority on the screen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    #[default]
    Normal,
    /// Moved to the front.
    Rush,
}

/// An item on a ticket and its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketLine {
    pub item: TicketItem,
    pub state: ItemState,
}

/// What one station cooks for one course of one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    id: TicketId,
    station: StationId,
    header: TicketHeader,
    course: Course,
    held: bool,
    items: Vec<TicketLine>,
    state: TicketState,
    priority: Priority,
    queued: HlcStamp,
    shown_ms: Option<i64>,
    bumped_ms: Option<i64>,
    recalls: u32,
}

impl Ticket {
    /// A ticket from a send's draft; `sent` is the send's HLC stamp (its place in the queue).
    pub fn new(
        id: TicketId,
        header: TicketHeader,
        draft: TicketDraft,
        sent: HlcStamp,
    ) -> Result<Ticket, TicketError> {
        if draft.items.is_empty() {
            return Err(TicketError::NoItems);
        }
        Ok(Ticket {
            id,
            station: draft.station,
            header,
            course: draft.course,
            held: draft.held,
            items: draft
                .items
                .into_iter()
                .map(|item| TicketLine {
                    item,
                    state: ItemState::New,
                })
                .collect(),
            state: TicketState::New,
            priority: Priority::Normal,
            queued: sent,
            shown_ms: None,
            bumped_ms: None,
            recalls: 0,
        })
    }

    pub fn id(&self) -> &TicketId {
        &self.id
    }
    pub fn station(&self) -> &StationId {
        &self.station
    }
    pub fn header(&self) -> &TicketHeader {
        &self.header
    }
    pub fn check(&self) -> &CheckId {
        &self.header.check
    }
    pub fn course(&self) -> Course {
        self.course
    }
    /// Its course is held and not yet fired.
    pub fn is_held(&self) -> bool {
        self.held
    }
    pub fn items(&self) -> &[TicketLine] {
        &self.items
    }
    pub fn state(&self) -> TicketState {
        self.state
    }
    pub fn priority(&self) -> Priority {
        self.priority
    }
    /// When it joined the queue: sent, or fired when it was held.
    pub fn queued(&self) -> HlcStamp {
        self.queued
    }
    /// The screen's clock when it first showed the ticket (after its fire, when held).
    pub fn shown_ms(&self) -> Option<i64> {
        self.shown_ms
    }
    /// The screen's clock at the final bump; cleared by a recall.
    pub fn bumped_ms(&self) -> Option<i64> {
        self.bumped_ms
    }
    /// How many times it was recalled.
    pub fn recalls(&self) -> u32 {
        self.recalls
    }
    /// Still to cook: neither bumped nor voided.
    pub fn is_open(&self) -> bool {
        !matches!(self.state, TicketState::Done | TicketState::Voided)
    }
    /// Final bump minus first show, both on the screen's clock, once bumped.
    pub fn ticket_time_ms(&self) -> Option<i64> {
        match (self.state, self.shown_ms, self.bumped_ms) {
            (TicketState::Done, Some(shown), Some(bumped)) => Some(bumped - shown),
            _ => None,
        }
    }

    /// Fires a held ticket: it joins the queue at `at`. Returns false, changing nothing, when it
    /// is not held (already fired, never held) or voided.
    pub fn fire(&mut self, at: HlcStamp) -> bool {
        if !self.held || self.state == TicketState::Voided {
            return false;
        }
        self.held = false;
        self.queued = at;
        true
    }

    /// The screen shows the ticket, at `at_ms` on its clock. Returns true the first time (the
    /// screen then writes "ticket shown"), false afterwards or for a voided ticket. A held
    /// ticket is refused: its time starts when it is fired.
    pub fn show(&mut self, at_ms: i64) -> Result<bool, TicketError> {
        if self.held {
            return Err(TicketError::Held(self.id.clone()));
        }
        if self.state != TicketState::New {
            return Ok(false);
        }
        self.state = TicketState::Shown;
        self.shown_ms = Some(at_ms);
        Ok(true)
    }

    /// A cook starts the whole ticket.
    pub fn start(&mut self) -> Result<(), TicketError> {
        match self.ensure_workable()? {
            TicketState::Shown | TicketState::Recalled => {
                self.state = TicketState::Started;
                Ok(())
            }
            _ => Err(TicketError::AlreadyStarted(self.id.clone())),
        }
    }

    /// A cook starts one item; the ticket counts as started.
    pub fn start_item(&mut self, line: &LineId) -> Result<(), TicketError> {
        self.ensure_workable()?;
        let index = self.item_index(line)?;
        match self.items[index].state {
            ItemState::New => {}
            ItemState::Started => return Err(TicketError::ItemStarted(line.clone())),
            ItemState::Done => return Err(TicketError::ItemDone(line.clone())),
            ItemState::Voided => return Err(TicketError::ItemVoided(line.clone())),
        }
        self.items[index].state = ItemState::Started;
        self.state = TicketState::Started;
        Ok(())
    }

    /// A cook bumps one item at `at_ms`. Returns true when that was the last unfinished item:
    /// the ticket is then bumped too.
    pub fn item_done(&mut self, line: &LineId, at_ms: i64) -> Result<bool, TicketError> {
        self.ensure_workable()?;
        let index = self.item_index(line)?;
        match self.items[index].state {
            ItemState::New | ItemState::Started => {}
            ItemState::Done => return Err(TicketError::ItemDone(line.clone())),
            ItemState::Voided => return Err(TicketError::ItemVoided(line.clone())),
        }
        self.items[index].state = ItemState::Done;
        let finished = self
            .items
            .iter()
            .all(|i| matches!(i.state, ItemState::Done | ItemState::Voided));
        if finished {
            self.state = TicketState::Done;
            self.bumped_ms = Some(at_ms);
        } else {
            self.state = TicketState::Started;
        }
        Ok(finished)
    }

    /// Bumps the whole ticket at `at_ms`: every item not voided is done.
    pub fn bump(&mut self, at_ms: i64) -> Result<(), TicketError> {
        self.ensure_workable()?;
        for line in &mut self.items {
            if line.state != ItemState::Voided {
                line.state = ItemState::Done;
            }
        }
        self.state = TicketState::Done;
        self.bumped_ms = Some(at_ms);
        Ok(())
    }

    /// Brings a bumped ticket back to the screen; its time runs until its next bump.
    pub fn recall(&mut self) -> Result<(), TicketError> {
        match self.state {
            TicketState::Done => {
                self.state = TicketState::Recalled;
                self.bumped_ms = None;
                self.recalls += 1;
                Ok(())
            }
            TicketState::Voided => Err(TicketError::Voided(self.id.clone())),
            _ => Err(TicketError::NotBumped(self.id.clone())),
        }
    }

    /// Voids one item (voided on its check). Returns true when no item is left: the ticket is
    /// then voided too.
    pub fn void_item(&mut self, line: &LineId) -> Result<bool, TicketError> {
        if self.state == TicketState::Voided {
            return Err(TicketError::Voided(self.id.clone()));
        }
        let index = self.item_index(line)?;
        if self.items[index].state == ItemState::Voided {
            return Err(TicketError::ItemVoided(line.clone()));
        }
        self.items[index].state = ItemState::Voided;
        let empty = self.items.iter().all(|i| i.state == ItemState::Voided);
        if empty {
            self.state = TicketState::Voided;
        }
        Ok(empty)
    }

    /// Voids the whole ticket.
    pub fn void(&mut self) -> Result<(), TicketError> {
        if self.state == TicketState::Voided {
            return Err(TicketError::Voided(self.id.clone()));
        }
        for line in &mut self.items {
            line.state = ItemState::Voided;
        }
        self.state = TicketState::Voided;
        Ok(())
    }

    /// Rushes a ticket (or takes the rush off). Only an open ticket.
    pub fn set_priority(&mut self, priority: Priority) -> Result<(), TicketError> {
        match self.state {
            TicketState::Voided => Err(TicketError::Voided(self.id.clone())),
            TicketState::Done => Err(TicketError::AlreadyBumped(self.id.clone())),
            _ => {
                self.priority = priority;
                Ok(())
            }
        }
    }

    /// The state, when the ticket may be worked on (shown, not held, not bumped, not voided).
    fn ensure_workable(&self) -> Result<TicketState, TicketError> {
        if self.held {
            return Err(TicketError::Held(self.id.clone()));
        }
        match self.state {
            TicketState::New => Err(TicketError::NotShown(self.id.clone())),
            TicketState::Done => Err(TicketError::AlreadyBumped(self.id.clone())),
            TicketState::Voided => Err(TicketError::Voided(self.id.clone())),
            state => Ok(state),
        }
    }

    fn item_index(&self, line: &LineId) -> Result<usize, TicketError> {
        self.items
            .iter()
            .position(|i| &i.item.line == line)
            .ok_or_else(|| TicketError::UnknownItem {
                ticket: self.id.clone(),
                line: line.clone(),
            })
    }
}

/// Orders tickets for a screen: rush first, then by when they were queued, then by id (so every
/// screen agrees).
pub fn sort_for_screen(tickets: &mut [&Ticket]) {
    tickets.sort_by(|a, b| {
        (Reverse(a.priority), a.queued, &a.id).cmp(&(Reverse(b.priority), b.queued, &b.id))
    });
}

/// Fires `course` of `check` at `at`: returns how many tickets that made cookable. Zero when the
/// course is already fired: nothing new.
pub fn fire_course(tickets: &mut [Ticket], check: &CheckId, course: Course, at: HlcStamp) -> usize {
    tickets
        .iter_mut()
        .filter(|t| t.check() == check && t.course == course)
        .map(|t| t.fire(at))
        .filter(|fired| *fired)
        .count()
}

/// Whether every ticket of `course` of `check` is bumped (voided ones aside), with at least one
/// bumped.
pub fn course_complete(tickets: &[Ticket], check: &CheckId, course: Course) -> bool {
    let mut live = tickets
        .iter()
        .filter(|t| t.check() == check && t.course == course && t.state != TicketState::Voided)
        .peekable();
    live.peek().is_some() && live.all(|t| t.state == TicketState::Done)
}

/// The course to fire automatically once `bumped` is complete: the next held course of the same
/// check, if `bumped` is complete and one is held. The device that sent the held course does it.
pub fn course_to_auto_fire(tickets: &[Ticket], check: &CheckId, bumped: Course) -> Option<Course> {
    if !course_complete(tickets, check, bumped) {
        return None;
    }
    tickets
        .iter()
        .filter(|t| t.check() == check && t.held && t.course > bumped)
        .map(|t| t.course)
        .min()
}

/// How an expo bump went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpoBump {
    pub at_ms: i64,
    /// The reason of a force-bump.
    pub forced: Option<Reason>,
    /// The prep stations that still held an item (forced bumps only).
    pub overridden: Vec<StationId>,
}

/// One course of one order as the expo screen sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpoOrder {
    check: CheckId,
    course: Course,
    bumped: Option<ExpoBump>,
}

impl ExpoOrder {
    pub fn new(check: CheckId, course: Course) -> ExpoOrder {
        ExpoOrder {
            check,
            course,
            bumped: None,
        }
    }

    pub fn check(&self) -> &CheckId {
        &self.check
    }
    pub fn course(&self) -> Course {
        self.course
    }
    pub fn bumped(&self) -> Option<&ExpoBump> {
        self.bumped.as_ref()
    }

    /// The prep stations still holding an open ticket of this order and course, in order.
    pub fn stations_cooking(&self, tickets: &[Ticket]) -> Vec<StationId> {
        let stations: BTreeSet<&StationId> = self
            .tickets(tickets)
            .filter(|t| t.is_open())
            .map(|t| &t.station)
            .collect();
        stations.into_iter().cloned().collect()
    }

    /// Bumps the order at expo at `at_ms`. Refused while a prep station still holds one of its
    /// items, unless `force` gives a reason; refused when its course is still held, when there is
    /// nothing to bump, or when already bumped.
    pub fn bump(
        &mut self,
        tickets: &[Ticket],
        at_ms: i64,
        force: Option<Reason>,
    ) -> Result<&ExpoBump, TicketError> {
        if self.bumped.is_some() {
            return Err(TicketError::ExpoAlreadyBumped);
        }
        let mut mine = self
            .tickets(tickets)
            .filter(|t| t.state != TicketState::Voided)
            .peekable();
        if mine.peek().is_none() {
            return Err(TicketError::NothingToBump);
        }
        if mine.all(|t| t.held) {
            return Err(TicketError::CourseHeld);
        }
        let cooking = self.stations_cooking(tickets);
        let bump = match force {
            None if !cooking.is_empty() => {
                return Err(TicketError::StillAtStations { stations: cooking });
            }
            None => ExpoBump {
                at_ms,
                forced: None,
                overridden: Vec::new(),
            },
            Some(reason) => ExpoBump {
                at_ms,
                forced: Some(reason),
                overridden: cooking,
            },
        };
        Ok(self.bumped.insert(bump))
    }

    fn tickets<'t>(&self, tickets: &'t [Ticket]) -> impl Iterator<Item = &'t Ticket> + use<'t> {
        let (check, course) = (self.check.clone(), self.course);
        tickets
            .iter()
            .filter(move |t| t.check() == &check && t.course == course)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::domain::check::{DeviceLetter, OrderNumber, StaffId, TableId};
    use crate::domain::menu::ItemId;
    use crate::domain::order::OrderType;

    fn header(check: &str) -> TicketHeader {
        TicketHeader {
            check: CheckId::new(check),
            number: OrderNumber::new(DeviceLetter::new('A').expect("letter"), 7).expect("number"),
            order_type: OrderType::DineIn,
            table: Some(TableId::new("t4")),
            server: StaffId::new("sam"),
        }
    }

    fn item(line: &str) -> TicketItem {
        TicketItem {
            line: LineId::new(line),
            item: ItemId::new("classic_burger"),
            name: "Classic Burger".to_owned(),
            qty: 1,
            modifiers: Vec::new(),
            seat: None,
            notes: None,
            allergens: BTreeSet::new(),
            prep_secs: 600,
            addition: false,
        }
    }

    /// A ticket `id` for `check` at `station`, course `course`, with lines `lines`.
    fn ticket(id: &str, check: &str, station: &str, course: u8, held: bool, sent: u64) -> Ticket {
        let draft = TicketDraft {
            station: StationId::new(station),
            course: Course(course),
            held,
            items: vec![item("l1"), item("l2")],
        };
        Ticket::new(TicketId::new(id), header(check), draft, HlcStamp(sent)).expect("ticket")
    }

    #[derive(Debug, Clone, Copy)]
    enum Op {
        Show(i64),
        Start,
        StartItem(&'static str),
        ItemDone(&'static str, i64),
        Bump(i64),
        Recall,
        VoidItem(&'static str),
        Void,
        Fire,
        Rush,
    }

    fn apply(ticket: &mut Ticket, op: Op) -> Result<(), TicketError> {
        match op {
            Op::Show(at) => ticket.show(at).map(|_| ()),
            Op::Start => ticket.start(),
            Op::StartItem(line) => ticket.start_item(&LineId::new(line)),
            Op::ItemDone(line, at) => ticket.item_done(&LineId::new(line), at).map(|_| ()),
            Op::Bump(at) => ticket.bump(at),
            Op::Recall => ticket.recall(),
            Op::VoidItem(line) => ticket.void_item(&LineId::new(line)).map(|_| ()),
            Op::Void => ticket.void(),
            Op::Fire => {
                ticket.fire(HlcStamp(99));
                Ok(())
            }
            Op::Rush => ticket.set_priority(Priority::Rush),
        }
    }

    /// Applies `ops` to a fresh ticket (held or not; all but the last op must be accepted) and
    /// compares the last op's outcome: the ticket's state and ticket time, or the refusal.
    fn check(held: bool, ops: &[Op], expected: Result<(TicketState, Option<i64>), TicketError>) {
        let mut t = ticket("k1", "c1", "grill", 1, held, 1);
        let Some((last, before)) = ops.split_last() else {
            panic!("no ops");
        };
        for op in before {
            apply(&mut t, *op).unwrap_or_else(|e| panic!("{op:?}: {e}"));
        }
        let snapshot = t.clone();
        let actual = apply(&mut t, *last).map(|()| (t.state(), t.ticket_time_ms()));
        assert_eq!(actual, expected, "{ops:?}");
        if actual.is_err() {
            assert_eq!(t, snapshot, "a refused move leaves the ticket as it was");
        }
    }

    use Op::*;
    use TicketState as S;

    fn k1() -> TicketId {
        TicketId::new("k1")
    }

    #[test]
    fn ticket_transitions() {
        check(false, &[Show(1_000)], Ok((S::Shown, None)));
        check(
            false,
            &[Show(1_000), Show(5_000), Bump(61_000)],
            Ok((S::Done, Some(60_000))),
        );
        check(
            false,
            &[Show(1_000), Start, Bump(61_000)],
            Ok((S::Done, Some(60_000))),
        );
        check(false, &[Show(0), StartItem("l1")], Ok((S::Started, None)));
        check(
            false,
            &[Show(0), ItemDone("l1", 10)],
            Ok((S::Started, None)),
        );
        check(
            false,
            &[Show(0), ItemDone("l1", 10), ItemDone("l2", 20_000)],
            Ok((S::Done, Some(20_000))),
        );
        check(
            false,
            &[Show(0), VoidItem("l2"), ItemDone("l1", 30_000)],
            Ok((S::Done, Some(30_000))),
        );
        // A recall reopens the ticket: its time runs to the final bump.
        check(
            false,
            &[Show(1_000), Bump(61_000), Recall],
            Ok((S::Recalled, None)),
        );
        check(
            false,
            &[Show(1_000), Bump(61_000), Recall, Bump(91_000)],
            Ok((S::Done, Some(90_000))),
        );
        check(
            false,
            &[Show(0), VoidItem("l1"), VoidItem("l2")],
            Ok((S::Voided, None)),
        );
        check(false, &[Show(0), Bump(5), Void], Ok((S::Voided, None)));
        check(false, &[Show(0), Rush], Ok((S::Shown, None)));
        // A held ticket: shown only after its fire.
        check(
            true,
            &[Fire, Show(5_000), Bump(65_000)],
            Ok((S::Done, Some(60_000))),
        );
        check(true, &[Void], Ok((S::Voided, None)));
    }

    #[test]
    fn illegal_ticket_moves_are_refused() {
        let line = |l: &str| LineId::new(l);
        check(
            false,
            &[Show(0), Void, Bump(10)],
            Err(TicketError::Voided(k1())),
        );
        check(false, &[Void, Void], Err(TicketError::Voided(k1())));
        check(
            false,
            &[Void, VoidItem("l1")],
            Err(TicketError::Voided(k1())),
        );
        check(false, &[Bump(10)], Err(TicketError::NotShown(k1())));
        check(false, &[Start], Err(TicketError::NotShown(k1())));
        check(
            false,
            &[Show(0), Bump(1), Bump(2)],
            Err(TicketError::AlreadyBumped(k1())),
        );
        check(
            false,
            &[Show(0), Bump(1), Rush],
            Err(TicketError::AlreadyBumped(k1())),
        );
        check(
            false,
            &[Show(0), Start, Start],
            Err(TicketError::AlreadyStarted(k1())),
        );
        check(false, &[Show(0), Recall], Err(TicketError::NotBumped(k1())));
        check(
            false,
            &[Show(0), Void, Recall],
            Err(TicketError::Voided(k1())),
        );
        check(true, &[Show(0)], Err(TicketError::Held(k1())));
        check(true, &[Bump(0)], Err(TicketError::Held(k1())));
        check(
            false,
            &[Show(0), ItemDone("l1", 1), ItemDone("l1", 2)],
            Err(TicketError::ItemDone(line("l1"))),
        );
        check(
            false,
            &[Show(0), StartItem("l1"), StartItem("l1")],
            Err(TicketError::ItemStarted(line("l1"))),
        );
        check(
            false,
            &[Show(0), VoidItem("l1"), ItemDone("l1", 2)],
            Err(TicketError::ItemVoided(line("l1"))),
        );
        check(
            false,
            &[Show(0), VoidItem("l1"), VoidItem("l1")],
            Err(TicketError::ItemVoided(line("l1"))),
        );
        check(
            false,
            &[Show(0), ItemDone("l9", 1)],
            Err(TicketError::UnknownItem {
                ticket: k1(),
                line: line("l9"),
            }),
        );
    }

    #[test]
    fn show_is_written_once_and_fire_only_once() {
        let mut t = ticket("k1", "c1", "grill", 2, true, 1);
        assert!(t.fire(HlcStamp(50)));
        assert!(!t.fire(HlcStamp(60)), "firing again makes nothing new");
        assert_eq!(t.queued(), HlcStamp(50));
        assert_eq!(t.show(100), Ok(true));
        assert_eq!(t.show(200), Ok(false));
        assert_eq!(t.shown_ms(), Some(100));
        let draft = TicketDraft {
            station: StationId::new("grill"),
            course: Course::FIRST,
            held: false,
            items: Vec::new(),
        };
        assert_eq!(
            Ticket::new(TicketId::new("k0"), header("c1"), draft, HlcStamp(1)),
            Err(TicketError::NoItems)
        );
    }

    #[test]
    fn rush_tickets_come_first_then_by_queue_time() {
        let mut late_rush = ticket("k3", "c3", "grill", 1, false, 30);
        late_rush.set_priority(Priority::Rush).expect("rush");
        let tickets = [
            ticket("k2", "c2", "grill", 1, false, 20),
            late_rush,
            ticket("k1", "c1", "grill", 1, false, 10),
            ticket("k0", "c0", "grill", 1, false, 20),
        ];
        let mut on_screen: Vec<&Ticket> = tickets.iter().collect();
        sort_for_screen(&mut on_screen);
        let ids: Vec<&str> = on_screen.iter().map(|t| t.id().as_str()).collect();
        assert_eq!(ids, ["k3", "k1", "k0", "k2"]);
    }

    #[test]
    fn the_next_course_fires_once_the_previous_is_bumped() {
        let c1 = CheckId::new("c1");
        let mut tickets = vec![
            ticket("k1", "c1", "saute_cold", 1, false, 1),
            ticket("k2", "c1", "grill", 1, false, 1),
            ticket("k3", "c1", "grill", 2, true, 1),
            ticket("k4", "c1", "fry", 2, true, 1),
            ticket("k5", "c2", "grill", 2, true, 1),
        ];
        for t in &mut tickets[..2] {
            t.show(0).expect("show");
        }
        tickets[0].bump(10).expect("bump");
        assert_eq!(course_to_auto_fire(&tickets, &c1, Course(1)), None);
        tickets[1].bump(20).expect("bump");
        assert!(course_complete(&tickets, &c1, Course(1)));
        assert_eq!(
            course_to_auto_fire(&tickets, &c1, Course(1)),
            Some(Course(2))
        );

        assert_eq!(fire_course(&mut tickets, &c1, Course(2), HlcStamp(30)), 2);
        assert_eq!(fire_course(&mut tickets, &c1, Course(2), HlcStamp(40)), 0);
        assert!(tickets[4].is_held(), "another check's course is not fired");
        assert_eq!(course_to_auto_fire(&tickets, &c1, Course(1)), None);
        assert!(!course_complete(&tickets, &c1, Course(3)), "no tickets");
    }

    fn reason(text: &str) -> Reason {
        Reason::new(text).expect("reason")
    }

    #[test]
    fn expo_waits_for_every_prep_station_unless_forced() {
        let c1 = CheckId::new("c1");
        let mut tickets = vec![
            ticket("k1", "c1", "grill", 1, false, 1),
            ticket("k2", "c1", "fry", 1, false, 1),
            ticket("k3", "c1", "bar", 1, false, 1),
            ticket("k4", "c1", "grill", 2, true, 1),
        ];
        for t in &mut tickets[..3] {
            t.show(0).expect("show");
        }
        tickets[0].bump(100).expect("bump");
        tickets[2].void().expect("void");

        let mut expo = ExpoOrder::new(c1.clone(), Course(1));
        assert_eq!(expo.stations_cooking(&tickets), [StationId::new("fry")]);
        assert_eq!(
            expo.bump(&tickets, 200, None),
            Err(TicketError::StillAtStations {
                stations: vec![StationId::new("fry")]
            })
        );
        let forced = expo
            .bump(&tickets, 200, Some(reason("fries remade, plate now")))
            .expect("forced")
            .clone();
        assert_eq!(forced.overridden, [StationId::new("fry")]);
        assert_eq!(
            expo.bump(&tickets, 300, None),
            Err(TicketError::ExpoAlreadyBumped)
        );

        let mut clean = ExpoOrder::new(c1.clone(), Course(1));
        tickets[1].bump(150).expect("bump");
        let bump = clean.bump(&tickets, 200, None).expect("bump").clone();
        assert_eq!((bump.forced, bump.overridden), (None, Vec::new()));

        let mut held = ExpoOrder::new(c1.clone(), Course(2));
        assert_eq!(held.bump(&tickets, 200, None), Err(TicketError::CourseHeld));
        let mut nothing = ExpoOrder::new(c1, Course(3));
        assert_eq!(
            nothing.bump(&tickets, 200, None),
            Err(TicketError::NothingToBump)
        );
    }

    #[test]
    fn a_checks_send_becomes_tickets() {
        use crate::domain::check::{Check, NewLine, OpenCheck, Seat};
        use crate::domain::menu::{Menu, ModifierId};

        let menu = Menu::from_toml_str(include_str!("../../../assets/menu.toml")).expect("menu");
        let mut check = Check::open(OpenCheck {
            id: CheckId::new("c1"),
            number: header("c1").number,
            order_type: OrderType::DineIn,
            table: Some(TableId::new("t4")),
            guests: 1,
            seats: 1,
            server: StaffId::new("sam"),
        })
        .expect("open");
        let burger = menu
            .price_line(
                &ItemId::new("classic_burger"),
                &[ModifierId::new("medium")],
                1,
            )
            .expect("priced");
        let line = NewLine {
            id: LineId::new("l1"),
            priced: burger,
            seat: Some(Seat(1)),
            course: Course(2),
            notes: String::new(),
        };
        check.add_line(line, &BTreeSet::new()).expect("add");
        check.hold_course(Course(2)).expect("hold");
        let send = check.send().expect("send");
        let tickets: Vec<Ticket> = send
            .tickets
            .into_iter()
            .enumerate()
            .map(|(i, draft)| {
                let id = TicketId::new(format!("k{i}"));
                Ticket::new(id, send.header.clone(), draft, HlcStamp(1)).expect("ticket")
            })
            .collect();
        let stations: Vec<(&str, bool)> = tickets
            .iter()
            .map(|t| (t.station().as_str(), t.is_held()))
            .collect();
        assert_eq!(stations, [("fry", true), ("grill", true)]);
    }
}
