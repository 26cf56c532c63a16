//! Tickets as kitchen screens read them from the projections (`proj_tickets` joined with the
//! check's table, server and order type), and the items running low that a screen's stations
//! cook ([`low_stock`]). Reading only: the projections are written by the journal's projector.

use std::collections::BTreeMap;

use rusqlite::{Connection, params};
use serde::Deserialize;

use crate::domain::menu::Menu;
use crate::domain::order::OrderType;
use crate::domain::stats;
use crate::domain::ticket::{ItemState, TicketState};
use crate::projection::{self, LowItem};

/// One modifier as the cook reads it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CardModifier {
    pub name: String,
    /// A forced choice (doneness, side) rather than an optional extra.
    pub forced: bool,
}

/// One item of a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardItem {
    pub line: String,
    pub name: String,
    pub qty: u32,
    pub modifiers: Vec<CardModifier>,
    pub seat: Option<u8>,
    pub notes: Option<String>,
    pub allergens: Vec<String>,
    /// Ordered after the check's first send.
    pub addition: bool,
    pub state: ItemState,
}

/// One ticket: what one station cooks for one course of one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketCard {
    pub ticket: String,
    pub check: String,
    /// The order number people call out, e.g. `B42`.
    pub number: String,
    pub station: String,
    pub course: u8,
    pub state: TicketState,
    pub held: bool,
    pub rush: bool,
    /// Its place in the queue (the send's, or the fire's, HLC stamp).
    pub queued_hlc: i64,
    /// When a screen first showed it, on that screen's clock.
    pub shown_ms: Option<i64>,
    pub bumped_ms: Option<i64>,
    pub recalls: u32,
    pub order_type: OrderType,
    pub table: Option<String>,
    /// The server's name (their id when the staff list does not know them).
    pub server: String,
    pub items: Vec<CardItem>,
}

impl TicketCard {
    /// Milliseconds since a screen showed it (0 until then), at `now_ms` on this screen's clock.
    pub fn elapsed_ms(&self, now_ms: i64) -> i64 {
        self.shown_ms.map_or(0, |shown| (now_ms - shown).max(0))
    }

    /// Open for the cook: shown, started or recalled, not bumped or voided.
    pub fn is_open(&self) -> bool {
        matches!(
            self.state,
            TicketState::New | TicketState::Shown | TicketState::Started | TicketState::Recalled
        )
    }
}

#[derive(Deserialize)]
struct ItemRow {
    line: String,
    name: String,
    qty: u32,
    #[serde(default)]
    modifiers: Vec<CardModifier>,
    seat: Option<u8>,
    notes: Option<String>,
    #[serde(default)]
    allergens: Vec<String>,
    #[serde(default)]
    addition: bool,
    state: String,
}

fn ticket_state(text: &str) -> TicketState {
    match text {
        "shown" => TicketState::Shown,
        "started" => TicketState::Started,
        "done" => TicketState::Done,
        "recalled" => TicketState::Recalled,
        "voided" => TicketState::Voided,
        _ => TicketState::New,
    }
}

fn item_state(text: &str) -> ItemState {
    match text {
        "started" => ItemState::Started,
        "done" => ItemState::Done,
        "voided" => ItemState::Voided,
        _ => ItemState::New,
    }
}

fn order_type(text: &str) -> OrderType {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).unwrap_or(OrderType::DineIn)
}

const SELECT: &str =
    "SELECT t.ticket_id, t.check_id, t.number, t.station, t.course, t.state, t.held,
        t.rush, t.queued_hlc, t.shown_ms, t.bumped_ms, t.recalls, t.items,
        COALESCE(c.order_type, 'dine_in'), c.table_id, COALESCE(c.server, '')
    FROM proj_tickets t LEFT JOIN proj_checks c ON c.check_id = t.check_id";

fn read_cards(
    db: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<Vec<TicketCard>> {
    let names = staff_names(db)?;
    let mut stmt = db.prepare_cached(sql)?;
    let rows = stmt.query_map(params, |r| {
        let items_json: String = r.get(12)?;
        let server_id: String = r.get(15)?;
        Ok((
            TicketCard {
                ticket: r.get(0)?,
                check: r.get(1)?,
                number: r.get(2)?,
                station: r.get(3)?,
                course: r.get(4)?,
                state: ticket_state(&r.get::<_, String>(5)?),
                held: r.get(6)?,
                rush: r.get(7)?,
                queued_hlc: r.get(8)?,
                shown_ms: r.get(9)?,
                bumped_ms: r.get(10)?,
                recalls: r.get(11)?,
                order_type: order_type(&r.get::<_, String>(13)?),
                table: r.get(14)?,
                server: names.get(&server_id).cloned().unwrap_or(server_id),
                items: Vec::new(),
            },
            items_json,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (mut card, items_json) = row?;
        match serde_json::from_str::<Vec<ItemRow>>(&items_json) {
            Ok(items) => {
                card.items = items
                    .into_iter()
                    .map(|i| CardItem {
                        line: i.line,
                        name: i.name,
                        qty: i.qty,
                        modifiers: i.modifiers,
                        seat: i.seat,
                        notes: i.notes,
                        allergens: i.allergens,
                        addition: i.addition,
                        state: item_state(&i.state),
                    })
                    .collect();
                out.push(card);
            }
            Err(e) => {
                tracing::error!(ticket = %card.ticket, error = %e, "ticket items unreadable; ticket left out")
            }
        }
    }
    Ok(out)
}

fn staff_names(db: &Connection) -> rusqlite::Result<BTreeMap<String, String>> {
    let mut stmt = db.prepare_cached(
        "SELECT key, value FROM proj_registers WHERE key LIKE 'staff:%' ORDER BY key",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (key, value) = row?;
        let name = serde_json::from_str::<serde_json::Value>(&value)
            .ok()
            .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(str::to_owned));
        if let Some(name) = name {
            out.insert(key.trim_start_matches("staff:").to_owned(), name);
        }
    }
    Ok(out)
}

/// The open tickets of `stations` (held ones included, shown greyed), in no particular order.
pub fn open_tickets(db: &Connection, stations: &[String]) -> rusqlite::Result<Vec<TicketCard>> {
    let mut out = Vec::new();
    for station in stations {
        out.extend(read_cards(
            db,
            &format!(
                "{SELECT} WHERE t.station = ?1 AND t.state IN ('new', 'shown', 'started', 'recalled')"
            ),
            params![station],
        )?);
    }
    Ok(out)
}

/// Every ticket of the orders expo has not bumped yet (one order = one check and course), all
/// stations, bumped ones included so expo sees each station's progress.
pub fn expo_tickets(db: &Connection) -> rusqlite::Result<Vec<TicketCard>> {
    read_cards(
        db,
        &format!(
            "{SELECT} WHERE t.state != 'voided' AND EXISTS (
                SELECT 1 FROM proj_tickets o WHERE o.check_id = t.check_id AND o.course = t.course
                    AND o.state IN ('new', 'shown', 'started', 'recalled', 'done'))
              AND NOT EXISTS (
                SELECT 1 FROM proj_expo x WHERE x.check_id = t.check_id AND x.course = t.course)"
        ),
        [],
    )
}

/// One ticket by id, any state.
pub fn ticket(db: &Connection, ticket: &str) -> rusqlite::Result<Option<TicketCard>> {
    Ok(read_cards(
        db,
        &format!("{SELECT} WHERE t.ticket_id = ?1"),
        params![ticket],
    )?
    .into_iter()
    .next())
}

/// How many recently bumped tickets a screen can recall, and for how long.
pub const RECALL_LIMIT: usize = 50;
pub const RECALL_WINDOW_MS: i64 = 15 * 60 * 1000;

/// The recall list: the last [`RECALL_LIMIT`] tickets of `stations` bumped within
/// [`RECALL_WINDOW_MS`] before `now_ms`, newest first.
pub fn recently_bumped(
    db: &Connection,
    stations: &[String],
    now_ms: i64,
) -> rusqlite::Result<Vec<TicketCard>> {
    let mut out = Vec::new();
    for station in stations {
        out.extend(read_cards(
            db,
            &format!(
                "{SELECT} WHERE t.station = ?1 AND t.state = 'done' AND t.bumped_ms >= ?2
                 ORDER BY t.bumped_ms DESC LIMIT {RECALL_LIMIT}"
            ),
            params![station, now_ms - RECALL_WINDOW_MS],
        )?);
    }
    out.sort_by(|a, b| b.bumped_ms.cmp(&a.bumped_ms).then(a.ticket.cmp(&b.ticket)));
    out.truncate(RECALL_LIMIT);
    Ok(out)
}

/// The open tickets of every station that are waiting for a screen to show them (not held, not
/// yet shown): the screen serving that station writes "ticket shown" for each.
pub fn unshown(db: &Connection, stations: &[String]) -> rusqlite::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for station in stations {
        let mut stmt = db.prepare_cached(
            "SELECT check_id, ticket_id FROM proj_tickets
             WHERE station = ?1 AND state = 'new' AND held = 0 ORDER BY queued_hlc",
        )?;
        let rows = stmt.query_map(params![station], |r| Ok((r.get(0)?, r.get(1)?)))?;
        for row in rows {
            out.push(row?);
        }
    }
    Ok(out)
}

/// All-day counts: how many of each item the open, fired tickets of `cards` still need, by
/// item name, largest first.
pub fn all_day(cards: &[TicketCard]) -> Vec<(String, u32)> {
    let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
    for card in cards.iter().filter(|c| c.is_open() && !c.held) {
        for item in &card.items {
            if matches!(item.state, ItemState::New | ItemState::Started) {
                *counts.entry(item.name.as_str()).or_default() += item.qty;
            }
        }
    }
    let mut out: Vec<(String, u32)> = counts
        .into_iter()
        .map(|(name, n)| (name.to_owned(), n))
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// The median ticket time (show to final bump) of `stations`' tickets bumped in the hour before
/// `now_ms`, outliers trimmed as the service-time reports trim them.
pub fn median_last_hour_ms(
    db: &Connection,
    stations: &[String],
    now_ms: i64,
) -> rusqlite::Result<Option<i64>> {
    let mut times = Vec::new();
    for station in stations {
        let mut stmt = db.prepare_cached(
            "SELECT shown_ms, bumped_ms FROM proj_tickets
             WHERE station = ?1 AND state = 'done' AND bumped_ms >= ?2 AND shown_ms IS NOT NULL",
        )?;
        let rows = stmt.query_map(params![station, now_ms - 3_600_000], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })?;
        for row in rows {
            let (shown, bumped) = row?;
            times.push(stats::ticket_time_ms(shown, bumped));
        }
    }
    Ok(stats::service_times(times).median_ms)
}

/// The items running low that a screen for `stations` cooks, fewest portions left first: those
/// routed to any of them (expo's screen: every one). Read against the published menu and the
/// store's `low_stock_portions`; none before a menu is published. Parses the menu each time: a
/// screen that reads on every change keeps a [`super::screen::LowStock`] instead.
pub fn low_stock(db: &Connection, stations: &[String]) -> rusqlite::Result<Vec<LowItem>> {
    let Some(text) = projection::register(db, "menu")? else {
        return Ok(Vec::new());
    };
    match Menu::from_toml_str(&text) {
        Ok(menu) => low_stock_on(db, &menu, stations),
        Err(e) => {
            tracing::debug!(error = %e, "the published menu does not load: no low stock shown");
            Ok(Vec::new())
        }
    }
}

/// [`low_stock`] on `menu`, the menu in force.
pub fn low_stock_on(
    db: &Connection,
    menu: &Menu,
    stations: &[String],
) -> rusqlite::Result<Vec<LowItem>> {
    let threshold = projection::store_settings(db)?.low_stock_portions();
    let expo = stations.iter().any(|s| s == super::EXPO);
    Ok(projection::low_stock(db, menu, threshold)?
        .into_iter()
        .filter(|item| expo || item.routes_to(stations))
        .collect())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rust_decimal::Decimal;

    use super::*;
    use crate::clock::ManualClock;
    use crate::event::{DeviceRole, Event};
    use crate::journal::{Journal, JournalOptions};
    use crate::projection::StoreProjections;

    fn low_on(journal: &Journal, stations: &[&str]) -> Vec<(String, u32)> {
        let stations: Vec<String> = stations.iter().map(|s| (*s).to_owned()).collect();
        journal
            .read(|db| low_stock(db, &stations))
            .expect("low stock")
            .into_iter()
            .map(|i| (i.item, i.portions_left))
            .collect()
    }

    fn items(list: &[(&str, u32)]) -> Vec<(String, u32)> {
        list.iter().map(|(i, n)| ((*i).to_owned(), *n)).collect()
    }

    #[test]
    fn a_screen_shows_the_low_items_its_stations_cook_and_expo_shows_them_all() {
        let dir = tempfile::tempdir().expect("dir");
        let journal = Journal::open_with(
            dir.path().join("grill.db"),
            JournalOptions::new(
                Arc::new(ManualClock::starting_at(1_767_295_800_000)),
                DeviceRole::KitchenScreen,
                "grill",
            ),
            vec![Box::new(StoreProjections::new())],
        )
        .expect("journal");
        assert_eq!(low_on(&journal, &["grill"]), items(&[]), "no menu yet");
        crate::kitchen::sample::publish_store(&journal).expect("store");
        // Five skirt steaks (steak frites: grill and fry) and four pints of lager (bar).
        for (ingredient, qty) in [("skirt_steak", 5), ("lager_keg", 2500)] {
            journal
                .append(&Event::StockReceived {
                    ingredient: ingredient.into(),
                    qty: Decimal::from(qty),
                })
                .expect("received");
        }
        let steak = ("steak_frites", 5);
        let lager = ("draught_lager", 4);
        assert_eq!(low_on(&journal, &["grill"]), items(&[steak]));
        assert_eq!(low_on(&journal, &["fry"]), items(&[steak]));
        assert_eq!(low_on(&journal, &["bar"]), items(&[lager]));
        assert_eq!(
            low_on(&journal, &["saute_cold"]),
            items(&[]),
            "nothing low is made there"
        );
        assert_eq!(
            low_on(&journal, &["saute_cold", "bar"]),
            items(&[lager]),
            "a screen that took another station over shows that station's too"
        );
        assert_eq!(
            low_on(&journal, &["expo"]),
            items(&[lager, steak]),
            "expo sees every item, fewest left first"
        );
        // What the expo screen's status bar says: the fewest left named, the rest counted.
        let expo = journal
            .read(|db| low_stock(db, &["expo".to_owned()]))
            .expect("low stock");
        assert_eq!(
            projection::low_stock::notice(&expo, projection::low_stock::NAMED_ON_KITCHEN_SCREEN)
                .as_deref(),
            Some("LOW: Draught Lager (pint) 4 left, +1 more")
        );
    }
}
