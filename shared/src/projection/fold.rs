//! Folding one check's events into its state: the check and its tickets.
//!
//! The fold is a pure function of the set of the check's events, taken in the deterministic
//! order (HLC, origin, seq): any arrival order and any duplication give the same result. Every
//! transition goes through `domain` (the rules live there, once); a transition the rules refuse
//! is not applied and is surfaced as a conflict (the event stays in the journal), never dropped
//! silently and never allowed to stop the fold.
//!
//! A merge links two checks: the check taken in gives its lines to the other at the merge's
//! place in the order, and is marked merged. So checks linked by merges are folded together
//! ([`fold_checks`]) from the events of all of them, and each gets its own fold out of it: both
//! sides of a merge always agree on whether it happened.

use std::collections::{BTreeMap, BTreeSet};

use crate::domain::HlcStamp;
use crate::domain::check::{
    Approval, Check, CheckId, Course, LineId, NewLine, OpenCheck, Reason, Seat, SplitRule, StaffId,
    TableId,
};
use crate::domain::menu::{
    ChosenModifier, ItemId, ModifierGroupId, ModifierId, PricedLine, SoldLine, StationId,
};
use crate::domain::tax::{CheckDiscount, TaxClass, TaxRate};
use crate::domain::ticket::{ExpoOrder, Priority, Ticket, TicketId};
use crate::event::{DiscountRecord, Event, LineRecord, RateRecord, SplitRecord, TaxClassRecord};

/// Where an event sits in the fold order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FoldKey {
    pub hlc: u64,
    pub origin: String,
    pub seq: u64,
    /// The origin's wall clock when it wrote the event (never decides the order: the three
    /// fields above are unique).
    pub wall_ms: i64,
}

/// A check and its tickets, as folded.
#[derive(Debug, Default)]
pub struct CheckFold {
    pub check: Option<Check>,
    pub tickets: Vec<Ticket>,
    pub expo: Vec<ExpoOrder>,
    /// Events the rules refused, with the reason: (origin, seq, reason).
    pub conflicts: Vec<(String, u64, String)>,
    /// HLC of the opening.
    pub opened_hlc: u64,
    /// HLC of each send, by send number.
    pub send_hlc: std::collections::BTreeMap<u32, u64>,
    /// The event that closed the check, while closed.
    pub closed: Option<FoldKey>,
    /// The origin whose send first put each held course on tickets: the device that fires it
    /// automatically when the course before it is complete.
    pub held_sent_by: std::collections::BTreeMap<Course, String>,
    /// Who has the check open now (device, staff): soft ownership, shown to other terminals.
    pub open_on: Option<(String, String)>,
    /// Checks merged into this one, in merge order.
    pub merged_from: Vec<CheckId>,
    /// The lines those merges brought in (their sales were counted on the check that sent them).
    pub merged_lines: BTreeSet<LineId>,
    /// Its payments, refunds and receipts.
    pub payments: super::payments::PaymentFold,
    /// Lines voided after the kitchen had started them (a ticket carrying the line was started,
    /// the line done, or its ticket bumped): made and thrown away, so their stock is waste. A
    /// line voided before that is not in here: its stock was never used.
    pub wasted_lines: BTreeSet<LineId>,
}

/// The id of the ticket a send makes for one station and course. Derived, so every device
/// names it the same without it being written anywhere.
pub fn ticket_id(check: &str, send: u32, station: &StationId, course: Course) -> TicketId {
    TicketId::new(format!("{check}/{send}/{station}/{}", course.0))
}

fn rate(r: &RateRecord) -> Result<TaxRate, String> {
    TaxRate::new(r.id.as_str().into(), r.name.clone(), r.percent, r.inclusive)
        .map_err(|e| e.to_string())
}

fn tax_class(t: &TaxClassRecord) -> Result<TaxClass, String> {
    let rates = t.rates.iter().map(rate).collect::<Result<Vec<_>, _>>()?;
    let by_type = t
        .by_order_type
        .iter()
        .map(|(ot, list)| {
            Ok((
                *ot,
                list.iter().map(rate).collect::<Result<Vec<_>, String>>()?,
            ))
        })
        .collect::<Result<_, String>>()?;
    TaxClass::new(t.id.as_str().into(), t.name.clone(), rates, by_type).map_err(|e| e.to_string())
}

/// Rebuilds a line as it was sold from its record.
pub fn new_line(r: &LineRecord) -> Result<NewLine, String> {
    let priced = PricedLine::as_sold(SoldLine {
        item: ItemId::new(r.item.clone()),
        name: r.name.clone(),
        qty: r.qty,
        modifiers: r
            .modifiers
            .iter()
            .map(|m| ChosenModifier {
                id: ModifierId::new(m.id.clone()),
                name: m.name.clone(),
                group: ModifierGroupId::new(m.group.clone()),
                forced: m.forced,
                price_delta: m.price_delta,
            })
            .collect(),
        unit_price: r.unit_price,
        tax_class: tax_class(&r.tax_class)?,
        stations: r
            .stations
            .iter()
            .map(|s| StationId::new(s.clone()))
            .collect(),
        allergens: r.allergens.iter().copied().collect(),
        prep_secs: r.prep_secs,
    })
    .map_err(|e| e.to_string())?;
    Ok(NewLine {
        id: LineId::new(r.line.clone()),
        priced,
        seat: r.seat.map(Seat),
        course: Course(r.course),
        notes: r.notes.clone(),
    })
}

/// The record a line is written with when it is sold (the inverse of [`new_line`]).
pub fn line_record(line: &NewLine) -> LineRecord {
    let p = &line.priced;
    let rates = |list: &[TaxRate]| {
        list.iter()
            .map(|r| RateRecord {
                id: r.id().to_string(),
                name: r.name().to_owned(),
                percent: r.percent(),
                inclusive: r.is_inclusive(),
            })
            .collect::<Vec<_>>()
    };
    let class = p.tax_class();
    LineRecord {
        line: line.id.to_string(),
        item: p.item().to_string(),
        name: p.name().to_owned(),
        qty: p.qty(),
        modifiers: p
            .modifiers()
            .iter()
            .map(|m| crate::event::ModifierRecord {
                id: m.id.to_string(),
                name: m.name.clone(),
                group: m.group.to_string(),
                forced: m.forced,
                price_delta: m.price_delta,
            })
            .collect(),
        unit_price: p.unit_price(),
        tax_class: TaxClassRecord {
            id: class.id().to_string(),
            name: class.name().to_owned(),
            rates: rates(class.default_rates()),
            by_order_type: class
                .overrides()
                .map(|(ot, list)| (*ot, rates(list)))
                .collect(),
        },
        stations: p.stations().iter().map(ToString::to_string).collect(),
        allergens: p.allergens().iter().copied().collect(),
        prep_secs: p.prep_secs(),
        seat: line.seat.map(|s| s.0),
        course: line.course.0,
        notes: line.notes.clone(),
    }
}

fn approval(manager: &str, reason: &str) -> Result<Approval, String> {
    Ok(Approval {
        manager: StaffId::new(manager),
        reason: Reason::new(reason).map_err(|e| e.to_string())?,
    })
}

/// The split rule a record asks for (`None`: not split).
pub fn split_rule(record: &SplitRecord) -> Result<Option<SplitRule>, String> {
    Ok(match record {
        SplitRecord::Seat => Some(SplitRule::BySeat),
        SplitRecord::Items { parts } => Some(SplitRule::ByItems(
            parts
                .iter()
                .map(|group| group.iter().map(|l| LineId::new(l.clone())).collect())
                .collect(),
        )),
        SplitRecord::Evenly { parts } => Some(SplitRule::Evenly(
            usize::try_from(*parts).map_err(|_| format!("{parts} parts is too many"))?,
        )),
        SplitRecord::None => None,
    })
}

/// The record of a split rule (the inverse of [`split_rule`]).
pub fn split_record(rule: Option<&SplitRule>) -> SplitRecord {
    match rule {
        None => SplitRecord::None,
        Some(SplitRule::BySeat) => SplitRecord::Seat,
        Some(SplitRule::ByItems(groups)) => SplitRecord::Items {
            parts: groups
                .iter()
                .map(|g| g.iter().map(ToString::to_string).collect())
                .collect(),
        },
        Some(SplitRule::Evenly(parts)) => SplitRecord::Evenly {
            parts: u32::try_from(*parts).unwrap_or(u32::MAX),
        },
    }
}

fn discount(d: DiscountRecord) -> CheckDiscount {
    match d {
        DiscountRecord::Amount(m) => CheckDiscount::Amount(m),
        DiscountRecord::Percent(p) => CheckDiscount::Percent(p),
    }
}

impl CheckFold {
    /// Whether the kitchen has started on a line: a ticket carrying it was started, bumped or
    /// recalled, or the line itself started or done.
    fn kitchen_started(&self, line: &LineId) -> bool {
        use crate::domain::ticket::{ItemState, TicketState};
        self.tickets.iter().any(|t| {
            t.items().iter().any(|l| {
                &l.item.line == line
                    && (matches!(l.state, ItemState::Started | ItemState::Done)
                        || matches!(
                            t.state(),
                            TicketState::Started | TicketState::Done | TicketState::Recalled
                        ))
            })
        })
    }

    fn ticket(&mut self, id: &str) -> Result<&mut Ticket, String> {
        self.tickets
            .iter_mut()
            .find(|t| t.id().as_str() == id)
            .ok_or_else(|| format!("ticket {id} is not known (its send has not arrived)"))
    }

    fn open_check(&mut self) -> Result<&mut Check, String> {
        self.check
            .as_mut()
            .ok_or_else(|| "its check has not been opened (the opening has not arrived)".to_owned())
    }

    /// Applies one event; an error is the reason the rules refused it.
    fn apply(&mut self, key: &FoldKey, event: &Event) -> Result<(), String> {
        let err = |e: &dyn std::fmt::Display| e.to_string();
        match event {
            Event::CheckOpened {
                check,
                number,
                order_type,
                table,
                guests,
                seats,
                server,
                ..
            } => {
                if self.check.is_some() {
                    return Err("the check was already opened".into());
                }
                let opened = Check::open(OpenCheck {
                    id: CheckId::new(check.clone()),
                    number: number.parse().map_err(|e| err(&e))?,
                    order_type: *order_type,
                    table: table.as_ref().map(|t| TableId::new(t.clone())),
                    guests: *guests,
                    seats: *seats,
                    server: StaffId::new(server.clone()),
                })
                .map_err(|e| err(&e))?;
                self.check = Some(opened);
                self.opened_hlc = key.hlc;
            }
            Event::LinesAdded { lines, .. } => {
                let check = self.open_check()?;
                // On replication an 86'd item is accepted (it was sold while out of reach); the
                // creating device refused it if it knew.
                let none = BTreeSet::new();
                let mut refused = Vec::new();
                for record in lines {
                    match new_line(record)
                        .and_then(|l| check.add_line(l, &none).map_err(|e| err(&e)))
                    {
                        Ok(()) => {}
                        Err(reason) => refused.push(format!("line {}: {reason}", record.line)),
                    }
                }
                if !refused.is_empty() {
                    return Err(refused.join("; "));
                }
            }
            Event::CourseHeld { course, .. } => self
                .open_check()?
                .hold_course(Course(*course))
                .map_err(|e| err(&e))?,
            Event::CourseFired { check: id, course } => {
                let fired = self
                    .open_check()?
                    .fire_course(Course(*course))
                    .map_err(|e| err(&e))?;
                if fired {
                    crate::domain::ticket::fire_course(
                        &mut self.tickets,
                        &CheckId::new(id.clone()),
                        Course(*course),
                        HlcStamp(key.hlc),
                    );
                }
            }
            Event::ItemsSent {
                check: id,
                send,
                lines,
            } => {
                let only: BTreeSet<LineId> = lines.iter().map(|l| LineId::new(l.clone())).collect();
                let made = self.open_check()?.record_send(&only).map_err(|e| err(&e))?;
                self.send_hlc.insert(made.number, key.hlc);
                if made.number != *send {
                    tracing::debug!(check = %id, recorded = send, folded = made.number, "send numbered differently");
                }
                for draft in made.tickets {
                    if draft.held {
                        self.held_sent_by
                            .entry(draft.course)
                            .or_insert_with(|| key.origin.clone());
                    }
                    let tid = ticket_id(id, made.number, &draft.station, draft.course);
                    let ticket = Ticket::new(tid, made.header.clone(), draft, HlcStamp(key.hlc))
                        .map_err(|e| err(&e))?;
                    self.tickets.push(ticket);
                }
            }
            Event::LineVoided {
                line,
                manager,
                reason,
                ..
            } => {
                let approval = approval(manager, reason)?;
                let line = LineId::new(line.clone());
                self.open_check()?
                    .void_line(&line, approval)
                    .map_err(|e| err(&e))?;
                if self.kitchen_started(&line) {
                    self.wasted_lines.insert(line.clone());
                }
                for t in &mut self.tickets {
                    // Only tickets that carry the line change; a finished ticket keeps its history.
                    let _ = t.void_item(&line);
                }
            }
            Event::LineComped {
                line,
                manager,
                reason,
                ..
            } => {
                let approval = approval(manager, reason)?;
                self.open_check()?
                    .comp_line(&LineId::new(line.clone()), approval)
                    .map_err(|e| err(&e))?;
            }
            Event::LineDiscounted {
                line,
                discount: d,
                manager,
                reason,
                ..
            } => {
                let approval = approval(manager, reason)?;
                self.open_check()?
                    .discount_line(&LineId::new(line.clone()), discount(*d), approval)
                    .map_err(|e| err(&e))?;
            }
            Event::CheckDiscounted {
                discount: d,
                manager,
                reason,
                ..
            } => {
                let approval = approval(manager, reason)?;
                self.open_check()?
                    .discount_check(Some((discount(*d), approval)))
                    .map_err(|e| err(&e))?;
            }
            Event::CheckMoved { table, .. } => self
                .open_check()?
                .move_to(TableId::new(table.clone()))
                .map_err(|e| err(&e))?,
            Event::CheckSplit { split, .. } => {
                let rule = split_rule(split)?;
                self.open_check()?.set_split(rule).map_err(|e| err(&e))?;
            }
            Event::CheckClaimed { device, staff, .. } => {
                self.open_check()?;
                self.open_on = Some((device.clone(), staff.clone()));
            }
            // Only the holder's release frees it; a stale release from elsewhere changes nothing.
            Event::CheckReleased { device, .. }
                if self.open_on.as_ref().is_some_and(|(d, _)| d == device) =>
            {
                self.open_on = None;
            }
            Event::CheckClosed { .. } => {
                self.open_check()?.close().map_err(|e| err(&e))?;
                self.closed = Some(key.clone());
            }
            Event::CheckReopened {
                manager, reason, ..
            } => {
                let approval = approval(manager, reason)?;
                self.open_check()?.reopen(approval).map_err(|e| err(&e))?;
                self.closed = None;
            }
            Event::TicketShown { ticket, at_ms, .. } => {
                self.ticket(ticket)?.show(*at_ms).map_err(|e| err(&e))?;
            }
            Event::TicketStarted { ticket, .. } => {
                self.ticket(ticket)?.start().map_err(|e| err(&e))?
            }
            Event::ItemDone {
                ticket,
                line,
                at_ms,
                ..
            } => {
                self.ticket(ticket)?
                    .item_done(&LineId::new(line.clone()), *at_ms)
                    .map_err(|e| err(&e))?;
            }
            Event::TicketBumped { ticket, at_ms, .. } => {
                self.ticket(ticket)?.bump(*at_ms).map_err(|e| err(&e))?
            }
            Event::TicketRecalled { ticket, .. } => {
                self.ticket(ticket)?.recall().map_err(|e| err(&e))?
            }
            Event::TicketPriority { ticket, rush, .. } => {
                let p = if *rush {
                    Priority::Rush
                } else {
                    Priority::Normal
                };
                self.ticket(ticket)?.set_priority(p).map_err(|e| err(&e))?;
            }
            Event::ExpoBumped {
                check,
                course,
                at_ms,
                force_reason,
            } => {
                let force = match force_reason {
                    Some(r) => Some(Reason::new(r).map_err(|e| err(&e))?),
                    None => None,
                };
                let mut order = ExpoOrder::new(CheckId::new(check.clone()), Course(*course));
                order
                    .bump(&self.tickets, *at_ms, force)
                    .map_err(|e| err(&e))?;
                self.expo.push(order);
            }
            // Payments, tabs, tips, refunds, uploads, declines and receipts.
            e if super::payments::is_payment_event(e) => super::payments::fold_event(self, key, e)?,
            _ => {}
        }
        Ok(())
    }
}

impl CheckFold {
    /// The held course this device must fire now that `ticket` was bumped: the next held course
    /// after the bumped one, once the bumped course is complete, when this device sent it.
    pub fn auto_fire(&self, ticket: &str, own_origin: &str) -> Option<Course> {
        let check = self.check.as_ref()?;
        let bumped = self.tickets.iter().find(|t| t.id().as_str() == ticket)?;
        let next =
            crate::domain::ticket::course_to_auto_fire(&self.tickets, check.id(), bumped.course())?;
        let mine = self
            .held_sent_by
            .get(&next)
            .is_some_and(|o| o == own_origin);
        (mine && check.held_courses().contains(&next)).then_some(next)
    }
}

/// Folds the checks of `events` (given in any order): every check named by them, each from its
/// own events, with merges between them taking effect at their place in the order. The events
/// of every check linked to another by a merge must be among them (see the module docs).
pub fn fold_checks(mut events: Vec<(FoldKey, Event)>) -> BTreeMap<String, CheckFold> {
    events.sort_by(|a, b| a.0.cmp(&b.0));
    events.dedup_by(|a, b| a.0 == b.0);
    let mut folds: BTreeMap<String, CheckFold> = BTreeMap::new();
    for (key, event) in &events {
        if let Event::ChecksMerged { check: into, from } = event {
            merge(&mut folds, key, into, from);
            continue;
        }
        let Some(check) = event.check() else { continue };
        let fold = folds.entry(check.to_owned()).or_default();
        if let Err(reason) = fold.apply(key, event) {
            fold.conflicts.push((key.origin.clone(), key.seq, reason));
        }
    }
    folds
}

/// Applies a merge of `from` into `into` to both folds: both change, or neither (and both
/// record the conflict).
fn merge(folds: &mut BTreeMap<String, CheckFold>, key: &FoldKey, into: &str, from: &str) {
    let outcome = (|| {
        let taken = folds
            .get(from)
            .and_then(|f| f.check.clone())
            .ok_or_else(|| {
                format!("check {from} is not known here (its opening has not arrived)")
            })?;
        let mut marked = taken.clone();
        marked
            .mark_merged(CheckId::new(into))
            .map_err(|e| e.to_string())?;
        let into_fold = folds.entry(into.to_owned()).or_default();
        let check = into_fold.check.as_mut().ok_or_else(|| {
            format!("check {into} is not known here (its opening has not arrived)")
        })?;
        check.merge(&taken).map_err(|e| e.to_string())?;
        into_fold.merged_from.push(taken.id().clone());
        into_fold
            .merged_lines
            .extend(taken.lines().iter().map(|l| l.id().clone()));
        folds.entry(from.to_owned()).or_default().check = Some(marked);
        Ok::<(), String>(())
    })();
    if let Err(reason) = outcome {
        for side in [into, from] {
            folds.entry(side.to_owned()).or_default().conflicts.push((
                key.origin.clone(),
                key.seq,
                reason.clone(),
            ));
        }
    }
}

/// Folds one check (`subject`) from its events and those of every check linked to it by a
/// merge, given in any order.
pub fn fold_check(subject: &str, events: Vec<(FoldKey, Event)>) -> CheckFold {
    fold_checks(events).remove(subject).unwrap_or_default()
}
