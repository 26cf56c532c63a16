//! What a cook does to tickets, checked against the domain's ticket rules before anything is
//! written. [`plan`] folds the ticket's check from the journal as the projections see it, applies
//! the action to a copy of the ticket (or the expo order), and only if the rules accept it gives
//! back the event to append. A refusal writes nothing.

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::{EXPO, KitchenError};
use crate::domain::check::{CheckId, Course, LineId, Reason};
use crate::domain::ticket::{ExpoOrder, Priority, Ticket};
use crate::event::Event;
use crate::projection::load_check_fold;

/// One thing a cook does, by touch, mouse, bump bar or `pass kitchen …`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum KitchenAction {
    /// Start cooking a whole ticket.
    Start { ticket: String },
    /// Bump a ticket: every item done.
    Bump { ticket: String },
    /// Bump one item; the last one bumps the ticket.
    BumpItem { ticket: String, line: String },
    /// Bring a bumped ticket back.
    Recall { ticket: String },
    /// Rush a ticket to the front, or undo that.
    Priority { ticket: String, rush: bool },
    /// Expo bumps a whole order (check and course); `force_reason` lets it go while a prep
    /// station still holds an item of it.
    ExpoBump {
        check: String,
        course: u8,
        #[serde(default)]
        force_reason: Option<String>,
    },
}

impl KitchenAction {
    /// The ticket it acts on (none for an expo bump).
    pub fn ticket(&self) -> Option<&str> {
        match self {
            KitchenAction::Start { ticket }
            | KitchenAction::Bump { ticket }
            | KitchenAction::BumpItem { ticket, .. }
            | KitchenAction::Recall { ticket }
            | KitchenAction::Priority { ticket, .. } => Some(ticket),
            KitchenAction::ExpoBump { .. } => None,
        }
    }
}

fn check_of(db: &Connection, ticket: &str) -> Result<String, KitchenError> {
    use rusqlite::OptionalExtension;
    db.prepare_cached("SELECT check_id FROM proj_tickets WHERE ticket_id = ?1")?
        .query_row([ticket], |r| r.get::<_, String>(0))
        .optional()?
        .ok_or_else(|| KitchenError::UnknownTicket(ticket.to_owned()))
}

fn folded_ticket(db: &Connection, ticket: &str) -> Result<(String, Ticket), KitchenError> {
    let check = check_of(db, ticket)?;
    let fold = load_check_fold(db, &check)?;
    let found = fold
        .tickets
        .into_iter()
        .find(|t| t.id().as_str() == ticket)
        .ok_or_else(|| KitchenError::UnknownTicket(ticket.to_owned()))?;
    Ok((check, found))
}

/// The event that carries out `action` at `now_ms` (this screen's clock), or why it is refused.
pub fn plan(db: &Connection, action: &KitchenAction, now_ms: i64) -> Result<Event, KitchenError> {
    match action {
        KitchenAction::Start { ticket } => {
            let (check, mut t) = folded_ticket(db, ticket)?;
            t.start()?;
            Ok(Event::TicketStarted {
                check,
                ticket: ticket.clone(),
            })
        }
        KitchenAction::Bump { ticket } => {
            let (check, mut t) = folded_ticket(db, ticket)?;
            t.bump(now_ms)?;
            Ok(Event::TicketBumped {
                check,
                ticket: ticket.clone(),
                at_ms: now_ms,
            })
        }
        KitchenAction::BumpItem { ticket, line } => {
            let (check, mut t) = folded_ticket(db, ticket)?;
            t.item_done(&LineId::new(line.clone()), now_ms)?;
            Ok(Event::ItemDone {
                check,
                ticket: ticket.clone(),
                line: line.clone(),
                at_ms: now_ms,
            })
        }
        KitchenAction::Recall { ticket } => {
            let (check, mut t) = folded_ticket(db, ticket)?;
            t.recall()?;
            Ok(Event::TicketRecalled {
                check,
                ticket: ticket.clone(),
            })
        }
        KitchenAction::Priority { ticket, rush } => {
            let (check, mut t) = folded_ticket(db, ticket)?;
            let priority = if *rush {
                Priority::Rush
            } else {
                Priority::Normal
            };
            if t.priority() == priority {
                return Err(KitchenError::Invalid(format!(
                    "ticket {ticket} is already {}",
                    if *rush { "rushed" } else { "not rushed" }
                )));
            }
            t.set_priority(priority)?;
            Ok(Event::TicketPriority {
                check,
                ticket: ticket.clone(),
                rush: *rush,
            })
        }
        KitchenAction::ExpoBump {
            check,
            course,
            force_reason,
        } => {
            let reason = force_reason
                .as_deref()
                .map(Reason::new)
                .transpose()
                .map_err(|e| KitchenError::Invalid(format!("force-bump reason: {e}")))?;
            let fold = load_check_fold(db, check)?;
            if fold.check.is_none() {
                return Err(KitchenError::UnknownOrder(check.clone()));
            }
            let mut order = fold
                .expo
                .into_iter()
                .find(|o| o.course() == Course(*course))
                .unwrap_or_else(|| ExpoOrder::new(CheckId::new(check.clone()), Course(*course)));
            order.bump(&fold.tickets, now_ms, reason)?;
            Ok(Event::ExpoBumped {
                check: check.clone(),
                course: *course,
                at_ms: now_ms,
                force_reason: force_reason.as_ref().map(|r| r.trim().to_owned()),
            })
        }
    }
}

/// The "ticket shown" events the screen serving `stations` owes: one per fired ticket no screen
/// has shown yet, stamped `now_ms` on this screen's clock (the ticket's timer starts there).
/// Expo shows nothing of its own: prep stations' screens start their tickets' timers.
pub fn shown_events(
    db: &Connection,
    stations: &[String],
    now_ms: i64,
) -> Result<Vec<Event>, KitchenError> {
    let stations: Vec<String> = stations.iter().filter(|s| *s != EXPO).cloned().collect();
    Ok(super::cards::unshown(db, &stations)?
        .into_iter()
        .map(|(check, ticket)| Event::TicketShown {
            check,
            ticket,
            at_ms: now_ms,
        })
        .collect())
}
