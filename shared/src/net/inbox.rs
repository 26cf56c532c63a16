//! The integration inbox: orders from online-ordering and delivery systems become checks whose
//! tickets reach the kitchen screens like any other.
//!
//! One device of the store ingests them (`--inbox`; by default the broker's host). For every
//! message on `pass/v1/<store>/inbox/orders/<source>` it publishes exactly one answer on
//! `inbox/replies/<source>` (the wire is [`crate::net::protocol::v1::inbox`]):
//!
//! 1. **Read** the message strictly ([`decode_order`]): size, version, shape, ids, texts,
//!    counts. A message it cannot read is refused; a topic that names no valid source cannot be
//!    answered and is only logged.
//! 2. **Deduplicate** on (source, order id). The order's check id is derived from them
//!    ([`check_id`]), so whether the order was taken is a question to the projections, which
//!    live in the journal's database: it holds across restarts, and across a change of the
//!    ingesting device once the journal has replicated. A repeat gets the first answer again,
//!    rebuilt from the check, byte for byte.
//! 3. **Price** it from the menu in force, against the 86 list, through the same domain rules
//!    a terminal uses ([`plan`]): an unknown item, a missing forced choice, a modifier the item
//!    does not offer, an item that has run out, a price that differs from the menu's are
//!    refused with a [`RefusalCode`] and a reason. Prices in the message are compared, never
//!    used.
//! 4. **Write** the check's opening (with the external order recorded), its lines and their
//!    send as one all-or-nothing append ([`Journal::append_all`]): the kitchen never sees half an
//!    order, and a refused or failed order writes nothing.
//!
//! Orders from the inbox are numbered with the letter [`INBOX_LETTER`] and a counter per business
//! day (`W1`, `W2`…), counted from the inbox checks of the day in the projections, so the count
//! survives a restart and a change of ingesting device. The store gives no terminal that letter.
//!
//! Ids being derived also makes a mistake harmless: were two devices to ingest the same order,
//! both would write the same check and line ids, and the projections (which fold each check
//! once) would show one check with its tickets once, the second opening as a conflict.

use std::collections::BTreeSet;
use std::str::FromStr;
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params};

use crate::clock::Clock;
use crate::domain::Money;
use crate::domain::business_day::business_day_span_ms;
use crate::domain::check::{
    Check, CheckError, Course, DeviceLetter, LineId, NewLine, OpenCheck, OrderNumber, OrderNumbers,
    StaffId,
};
use crate::domain::menu::{ItemId, Menu, MenuError, ModifierId};
use crate::event::{Event, ExternalOrderRecord};
use crate::journal::Journal;
use crate::net::protocol::v1::StoreId;
pub use crate::net::protocol::v1::inbox::{
    AcceptedV1, InboxTopic, OrderV1, Refusal, RefusalCode, ReplyV1, SourceId, decode_order,
    encode_reply, order_id_of,
};
use crate::projection;

/// The order-number letter of orders that come in through the inbox.
pub const INBOX_LETTER: char = 'W';

/// How far before now a requested time may be (an order "for 12:00" that arrives late).
pub const MAX_REQUESTED_BEHIND_MS: i64 = 24 * 3_600_000;
/// How far ahead a requested time may be.
pub const MAX_REQUESTED_AHEAD_MS: i64 = 7 * 24 * 3_600_000;

/// The id of the check an external order becomes: derived, so a repeat finds it.
pub fn check_id(source: &SourceId, order_id: &str) -> String {
    format!("inbox:{source}:{order_id}")
}

/// The id of line `index` (from 0) of an external order's check: unique in the store.
pub fn line_id(check: &str, index: usize) -> String {
    format!("{check}:{}", index + 1)
}

/// What the store says at the moment an order is priced.
#[derive(Debug, Clone, Copy)]
pub struct StoreView<'a> {
    pub menu: &'a Menu,
    /// Items that cannot be sold now (86'd by hand, or an ingredient run out).
    pub eighty_sixed: &'a BTreeSet<ItemId>,
    /// The number the order gets if it is taken.
    pub number: OrderNumber,
    /// The ingesting device's clock.
    pub now_ms: i64,
}

/// Prices a (well-formed) order against the store and turns it into the events that open its
/// check, add its lines and send them: `check_opened`, `lines_added`, `items_sent`. Pure: the
/// caller reads the store and writes the events.
pub fn plan(order: &OrderV1, store: &StoreView<'_>) -> Result<[Event; 3], Refusal> {
    use RefusalCode as C;
    let requested_ms = match &order.requested_for {
        None => None,
        Some(text) => Some(requested_ms(text, store.now_ms)?),
    };
    let check = check_id(&order.source, &order.order_id);
    let mut folded = Check::open(OpenCheck {
        id: check.as_str().into(),
        number: store.number,
        order_type: order.order_type.into(),
        table: None,
        guests: 1,
        seats: 0,
        server: StaffId::new(order.source.as_str()),
    })
    .map_err(|e| Refusal::new(C::Unavailable, e.to_string()))?;
    let mut records = Vec::with_capacity(order.items.len());
    for (index, line) in order.items.iter().enumerate() {
        let on_line = |r: Refusal| r.on_line(index);
        let mods: Vec<ModifierId> = line.modifiers.iter().map(ModifierId::new).collect();
        let priced = store
            .menu
            .price_line(&ItemId::new(line.item.as_str()), &mods, line.qty)
            .map_err(|e| on_line(menu_refusal(&e)))?;
        if let Some(given) = &line.unit_price {
            let given = Money::from_str(given)
                .map_err(|e| on_line(Refusal::new(C::BadPrice, e.to_string())))?;
            if given != priced.unit_price() {
                return Err(on_line(Refusal::new(
                    C::PriceMismatch,
                    format!(
                        "`{}` as ordered costs {} on the menu, not {given}",
                        line.item,
                        priced.unit_price()
                    ),
                )));
            }
        }
        let new = NewLine {
            id: LineId::new(line_id(&check, index)),
            priced,
            seat: None,
            course: Course::FIRST,
            notes: line.notes.as_deref().unwrap_or("").trim().to_owned(),
        };
        records.push(projection::fold::line_record(&new));
        folded
            .add_line(new, store.eighty_sixed)
            .map_err(|e| on_line(check_refusal(&e)))?;
    }
    let total = folded.totals().total;
    if let Some(given) = &order.total {
        let given = Money::from_str(given).map_err(|e| Refusal::new(C::BadPrice, e.to_string()))?;
        if given != total {
            return Err(Refusal::new(
                C::PriceMismatch,
                format!("the order costs {total} with tax on the menu, not {given}"),
            ));
        }
    }
    let send = folded
        .send()
        .map_err(|e| Refusal::new(C::Unavailable, e.to_string()))?;
    let sent: Vec<String> = records.iter().map(|r| r.line.clone()).collect();
    Ok([
        Event::CheckOpened {
            check: check.clone(),
            number: store.number.to_string(),
            order_type: order.order_type.into(),
            table: None,
            guests: 1,
            seats: 0,
            server: order.source.to_string(),
            external: Some(ExternalOrderRecord {
                source: order.source.to_string(),
                order_id: order.order_id.clone(),
                customer: order.customer.trim().to_owned(),
                requested_ms,
                notes: order.notes.as_deref().unwrap_or("").trim().to_owned(),
            }),
        },
        Event::LinesAdded {
            check: check.clone(),
            lines: records,
        },
        Event::ItemsSent {
            check,
            send: send.number,
            lines: sent,
        },
    ])
}

/// Reads an RFC 3339 time and checks it is a sensible time to want an order for.
fn requested_ms(text: &str, now_ms: i64) -> Result<i64, Refusal> {
    let bad = |why: String| Refusal::new(RefusalCode::BadRequestedTime, why);
    let at = chrono::DateTime::parse_from_rfc3339(text)
        .map_err(|e| {
            bad(format!(
                "`{}` is not an RFC 3339 time ({e}), e.g. 2026-05-01T19:30:00+01:00",
                text.chars().take(40).collect::<String>()
            ))
        })?
        .timestamp_millis();
    if at < now_ms.saturating_sub(MAX_REQUESTED_BEHIND_MS) {
        return Err(bad(format!("{text} is more than a day ago")));
    }
    if at > now_ms.saturating_add(MAX_REQUESTED_AHEAD_MS) {
        return Err(bad(format!("{text} is more than a week ahead")));
    }
    Ok(at)
}

fn menu_refusal(e: &MenuError) -> Refusal {
    use RefusalCode as C;
    let code = match e {
        MenuError::UnknownItem { .. } => C::UnknownItem,
        MenuError::ZeroQuantity { .. } => C::BadQuantity,
        MenuError::MissingForcedChoice { .. } => C::MissingForcedModifier,
        MenuError::ModifierNotOffered { .. }
        | MenuError::DuplicateModifier { .. }
        | MenuError::TooFewChoices { .. }
        | MenuError::TooManyChoices { .. }
        | MenuError::NegativePrice { .. } => C::BadModifiers,
        _ => C::Unavailable,
    };
    Refusal::new(code, e.to_string())
}

fn check_refusal(e: &CheckError) -> Refusal {
    let code = match e {
        CheckError::EightySixed(_) => RefusalCode::EightySixed,
        CheckError::EmptyText | CheckError::TextTooLong => RefusalCode::BadNotes,
        _ => RefusalCode::Unavailable,
    };
    Refusal::new(code, e.to_string())
}

/// The answer an order already taken gets: rebuilt from its check, so every repeat reads the
/// same. `Ok(None)` when no such order was taken.
fn answer_of(
    db: &Connection,
    source: &SourceId,
    order_id: &str,
) -> Result<Option<ReplyV1>, Refusal> {
    let check = check_id(source, order_id);
    let unavailable = |e: rusqlite::Error| Refusal::new(RefusalCode::Unavailable, e.to_string());
    let row: Option<(String, i64)> = db
        .prepare_cached("SELECT number, total_cents FROM proj_checks WHERE check_id = ?1")
        .and_then(|mut s| {
            s.query_row([&check], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(unavailable)?;
    if let Some((number, total_cents)) = row {
        return Ok(Some(ReplyV1::Accepted(AcceptedV1 {
            source: source.clone(),
            order_id: order_id.to_owned(),
            number,
            check,
            total: Money::from_minor(total_cents).to_string(),
        })));
    }
    // Events of the check without a folded check: never write it a second time.
    let written: bool = db
        .prepare_cached("SELECT EXISTS(SELECT 1 FROM subject_events WHERE subject = ?1)")
        .and_then(|mut s| s.query_row([&check], |r| r.get(0)))
        .map_err(unavailable)?;
    if written {
        return Err(Refusal::new(
            RefusalCode::Unavailable,
            format!(
                "order {order_id} is in the journal but its check does not fold; a manager must look at {check}"
            ),
        ));
    }
    Ok(None)
}

/// The next inbox order number of the business day `now_ms` falls in: one more than the highest
/// taken that day by any device (the counter starts again each business day).
fn next_number(db: &Connection, now_ms: i64) -> Result<OrderNumber, Refusal> {
    let unavailable = |e: String| Refusal::new(RefusalCode::Unavailable, e);
    let settings = projection::store_settings(db).map_err(|e| unavailable(e.to_string()))?;
    let day = settings
        .business_day(now_ms)
        .map_err(|e| unavailable(e.to_string()))?;
    let (from_ms, to_ms) = business_day_span_ms(day, settings.time_zone(), settings.cutoff_hour());
    let letter = DeviceLetter::new(INBOX_LETTER).map_err(|e| unavailable(e.to_string()))?;
    let numbers: Vec<String> = db
        .prepare_cached(
            "SELECT c.number FROM proj_checks c
             JOIN subject_events s ON s.subject = c.check_id
             JOIN events e ON e.id = s.event_id
             WHERE c.check_id LIKE 'inbox:%' AND e.kind = 'check_opened'
               AND e.wall_ms >= ?1 AND e.wall_ms < ?2",
        )
        .and_then(|mut s| {
            s.query_map(params![from_ms, to_ms], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()
        })
        .map_err(|e| unavailable(e.to_string()))?;
    let last = numbers
        .iter()
        .filter_map(|n| n.parse::<OrderNumber>().ok())
        .filter(|n| n.device() == letter)
        .map(OrderNumber::counter)
        .max()
        .unwrap_or(0);
    OrderNumbers::resume(letter, day.number(), last)
        .next(day.number())
        .map_err(|e| unavailable(e.to_string()))
}

/// The ingesting side of the inbox on one device: reads orders, writes them to the journal,
/// makes the answers. The device runs it on a blocking thread, one order at a time (so two
/// deliveries of one order never race each other).
pub struct Inbox {
    journal: Arc<Journal>,
    clock: Arc<dyn Clock>,
    store: StoreId,
    /// The menu in force, parsed once per menu event: (hlc, origin, seq) of that event.
    menu: Option<((i64, String, i64), Arc<Menu>)>,
}

/// One answer to publish: its topic and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub topic: String,
    pub payload: Vec<u8>,
    pub reply: ReplyV1,
}

impl Inbox {
    pub fn new(journal: Arc<Journal>, clock: Arc<dyn Clock>, store: StoreId) -> Inbox {
        Inbox {
            journal,
            clock,
            store,
            menu: None,
        }
    }

    /// Handles one message received on `topic`. Returns the answer to publish; `None` when the
    /// topic names no source to answer (logged).
    pub fn handle(&mut self, topic: &str, payload: &[u8]) -> Option<Answer> {
        let source = match InboxTopic::parse(&self.store, topic) {
            Ok(InboxTopic::Orders { source }) => source,
            Ok(InboxTopic::Replies { .. }) | Err(_) => {
                tracing::warn!(
                    topic = %topic.chars().take(200).collect::<String>(),
                    "a message on no inbox orders topic cannot be answered; ignored"
                );
                return None;
            }
        };
        let reply = match decode_order(&source, payload) {
            Err(refusal) => ReplyV1::refused(&source, order_id_of(payload), refusal),
            Ok(order) => self
                .take(&order)
                .unwrap_or_else(|r| ReplyV1::refused(&source, Some(order.order_id.clone()), r)),
        };
        match &reply {
            ReplyV1::Accepted(a) => {
                tracing::info!(source = %a.source, order = %a.order_id, number = %a.number, "inbox order taken")
            }
            ReplyV1::Refused(r) => {
                tracing::info!(source = %r.source, order = ?r.order_id, code = %r.code, reason = %r.reason, "inbox order refused")
            }
        }
        match encode_reply(&reply) {
            Ok(bytes) => Some(Answer {
                topic: reply.topic().path(&self.store),
                payload: bytes,
                reply,
            }),
            Err(e) => {
                tracing::error!(error = %e, "an inbox answer could not be encoded");
                None
            }
        }
    }

    /// Takes a well-formed order (or finds it taken already): the answer, or why not.
    fn take(&mut self, order: &OrderV1) -> Result<ReplyV1, Refusal> {
        let unavailable =
            |e: crate::journal::JournalError| Refusal::new(RefusalCode::Unavailable, e.to_string());
        let read = |inbox: &Inbox| {
            inbox
                .journal
                .read(|db| Ok(answer_of(db, &order.source, &order.order_id)))
                .map_err(unavailable)?
        };
        if let Some(first) = read(self)? {
            return Ok(first);
        }
        let menu = self.menu()?;
        let now_ms = self.clock.wall_ms();
        let (eighty_sixed, number) = self
            .journal
            .read(|db| {
                let out: BTreeSet<ItemId> =
                    projection::eighty_sixed(db, &menu)?.into_iter().collect();
                Ok((out, next_number(db, now_ms)))
            })
            .map_err(unavailable)?;
        let events = plan(
            order,
            &StoreView {
                menu: &menu,
                eighty_sixed: &eighty_sixed,
                number: number?,
                now_ms,
            },
        )?;
        self.journal.append_all(&events).map_err(unavailable)?;
        read(self)?.ok_or_else(|| {
            Refusal::new(
                RefusalCode::Unavailable,
                "the order was written but its check is not found",
            )
        })
    }

    /// The menu in force, parsed once per menu event.
    fn menu(&mut self) -> Result<Arc<Menu>, Refusal> {
        let no_menu = || Refusal::new(RefusalCode::NoMenu, "the store has no menu yet");
        let version = self
            .journal
            .read(|db| {
                db.prepare_cached("SELECT hlc, origin, seq FROM proj_registers WHERE key = 'menu'")?
                    .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()
            })
            .map_err(|e| Refusal::new(RefusalCode::Unavailable, e.to_string()))?
            .ok_or_else(no_menu)?;
        if let Some((held, menu)) = &self.menu
            && *held == version
        {
            return Ok(Arc::clone(menu));
        }
        let text = self
            .journal
            .read(|db| projection::register(db, "menu"))
            .map_err(|e| Refusal::new(RefusalCode::Unavailable, e.to_string()))?
            .ok_or_else(no_menu)?;
        let menu = Arc::new(Menu::from_toml_str(&text).map_err(|e| {
            Refusal::new(
                RefusalCode::NoMenu,
                format!("the store's menu does not load: {e}"),
            )
        })?);
        self.menu = Some((version, Arc::clone(&menu)));
        Ok(menu)
    }
}

#[cfg(test)]
mod tests;
