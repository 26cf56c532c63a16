//! The facts the manager's reports read (see [`crate::reports`]), kept with each check's other
//! rows whenever the check is re-folded: every finished ticket's time with what it needs to be
//! grouped (station, business day and local hour, order type, server, items), and every sale
//! (a closed check) with its lines and its tax by rate.
//!
//! Finished tickets are kept twice: one row each (`proj_ticket_times`: exports, late tickets,
//! the last hour) and packed by business day, station and local hour (`proj_ticket_chunks`, a
//! [`chunk`] of a hundred tickets or so per row), which is what the service-time report reads:
//! a year of a busy kitchen is a few thousand chunks instead of a million rows. A check's chunks
//! are packed again only when one of its finished tickets changed (a bump, a recall, a new
//! setting), from the rows of that day, station and hour.

use std::collections::BTreeSet;

use rusqlite::{Connection, params};

use crate::domain::business_day::StoreSettings;
use crate::domain::check::CheckState;
use crate::domain::menu::Menu;
use crate::domain::order::OrderType;
use crate::domain::stats;
use crate::domain::ticket::{ItemState, TicketState};

use super::cents;
use super::fold::CheckFold;

/// The sale tables this module keeps, each with a `check_id` column (the caller deletes a
/// check's rows before [`write`]; ticket facts are compared and rewritten by [`write`]).
pub(super) const TABLES: [&str; 3] = ["proj_sales", "proj_sale_lines", "proj_sale_taxes"];

/// One finished ticket's row.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TicketFact {
    ticket: String,
    number: String,
    station: String,
    order_type: String,
    server: String,
    day: u32,
    hour: u8,
    shown_ms: i64,
    bumped_ms: i64,
    time_ms: i64,
    recalls: u32,
    /// The menu items on it (not voided), sorted, separated by spaces.
    items: String,
}

fn ticket_facts(check_id: &str, fold: &CheckFold, settings: &StoreSettings) -> Vec<TicketFact> {
    let Some(check) = &fold.check else {
        return Vec::new();
    };
    let zone = settings.time_zone();
    let mut out = Vec::new();
    for t in &fold.tickets {
        let (Some(shown), Some(bumped)) = (t.shown_ms(), t.bumped_ms()) else {
            continue;
        };
        if t.state() != TicketState::Done {
            continue;
        }
        let (Ok(day), Some(hour)) = (settings.business_day(shown), zone.local_hour(shown)) else {
            tracing::warn!(
                check = check_id,
                ticket = %t.id(),
                shown,
                "ticket shown at an impossible time left out of the reports"
            );
            continue;
        };
        let items: BTreeSet<&str> = t
            .items()
            .iter()
            .filter(|l| l.state != ItemState::Voided)
            .map(|l| l.item.item.as_str())
            .collect();
        out.push(TicketFact {
            ticket: t.id().to_string(),
            number: check.number().to_string(),
            station: t.station().to_string(),
            order_type: check.order_type().key().to_owned(),
            server: check.server().to_string(),
            day: day.number(),
            hour,
            shown_ms: shown,
            bumped_ms: bumped,
            time_ms: stats::ticket_time_ms(shown, bumped),
            recalls: t.recalls(),
            items: items.into_iter().collect::<Vec<_>>().join(" "),
        });
    }
    out.sort_by(|a, b| a.ticket.cmp(&b.ticket));
    out
}

/// Rewrites a check's finished tickets if they changed, and packs their chunks again.
fn write_tickets(
    db: &Connection,
    check_id: &str,
    fold: &CheckFold,
    settings: &StoreSettings,
) -> rusqlite::Result<()> {
    let new = ticket_facts(check_id, fold, settings);
    let old: Vec<TicketFact> = db
        .prepare_cached(
            "SELECT ticket_id, number, station, order_type, server, day, hour, shown_ms,
                    bumped_ms, time_ms, recalls, items
             FROM proj_ticket_times WHERE check_id = ?1 ORDER BY ticket_id",
        )?
        .query_map([check_id], |r| {
            Ok(TicketFact {
                ticket: r.get(0)?,
                number: r.get(1)?,
                station: r.get(2)?,
                order_type: r.get(3)?,
                server: r.get(4)?,
                day: r.get(5)?,
                hour: r.get(6)?,
                shown_ms: r.get(7)?,
                bumped_ms: r.get(8)?,
                time_ms: r.get(9)?,
                recalls: r.get(10)?,
                items: r.get(11)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    if old == new {
        return Ok(());
    }
    db.prepare_cached("DELETE FROM proj_ticket_times WHERE check_id = ?1")?
        .execute([check_id])?;
    for f in &new {
        db.prepare_cached(
            "INSERT OR REPLACE INTO proj_ticket_times (ticket_id, check_id, number, station,
                 order_type, server, day, hour, shown_ms, bumped_ms, time_ms, recalls, items)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?
        .execute(params![
            f.ticket,
            check_id,
            f.number,
            f.station,
            f.order_type,
            f.server,
            f.day,
            f.hour,
            f.shown_ms,
            f.bumped_ms,
            f.time_ms,
            f.recalls,
            f.items,
        ])?;
    }
    let chunks: BTreeSet<(u32, &str, u8)> = old
        .iter()
        .chain(&new)
        .map(|f| (f.day, f.station.as_str(), f.hour))
        .collect();
    for (day, station, hour) in chunks {
        chunk::pack(db, day, station, hour)?;
    }
    Ok(())
}

/// Rewrites a check's report facts from its fold (the caller has deleted its sale rows).
pub(super) fn write(
    db: &Connection,
    check_id: &str,
    fold: &CheckFold,
    settings: &StoreSettings,
    menu: Option<&Menu>,
) -> rusqlite::Result<()> {
    write_tickets(db, check_id, fold, settings)?;
    let Some(check) = &fold.check else {
        return Ok(());
    };
    let zone = settings.time_zone();
    let (CheckState::Closed, Some(closed)) = (check.state(), &fold.closed) else {
        return Ok(());
    };
    let (Ok(day), Some(hour)) = (
        settings.business_day(closed.wall_ms),
        zone.local_hour(closed.wall_ms),
    ) else {
        tracing::warn!(
            check = check_id,
            closed_ms = closed.wall_ms,
            "sale closed at an impossible time left out of the reports"
        );
        return Ok(());
    };
    db.prepare_cached(
        "INSERT INTO proj_sales (check_id, day, hour, closed_ms) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![check_id, day.number(), hour, closed.wall_ms])?;
    for line in check.lines() {
        let p = line.priced();
        let category = menu
            .and_then(|m| m.item(p.item()))
            .map(|i| i.category().to_string())
            .unwrap_or_default();
        let state = if line.is_voided() {
            "voided"
        } else if line.comp().is_some() {
            "comped"
        } else {
            "sold"
        };
        let modifiers: Vec<&str> = p.modifiers().iter().map(|m| m.name.as_str()).collect();
        db.prepare_cached(
            "INSERT INTO proj_sale_lines (check_id, line_id, item, name, category, qty,
                 gross_cents, discount_cents, net_cents, state, modifiers)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?
        .execute(params![
            check_id,
            line.id().as_str(),
            p.item().as_str(),
            p.name(),
            category,
            p.qty(),
            cents(p.amount()),
            line.discount().map(cents).unwrap_or(0),
            line.net_amount().map(cents).unwrap_or(0),
            state,
            modifiers.join("; "),
        ])?;
    }
    for rate in &check.totals().rates {
        db.prepare_cached(
            "INSERT OR REPLACE INTO proj_sale_taxes (check_id, rate, name, percent, inclusive,
                 base_cents, tax_cents)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            check_id,
            rate.rate.id().as_str(),
            rate.rate.name(),
            rate.rate.percent().to_string(),
            rate.rate.is_inclusive(),
            cents(rate.base),
            cents(rate.tax),
        ])?;
    }
    Ok(())
}

/// The order type's place in [`OrderType::ALL`], or [`chunk::OTHER_TYPE`].
pub(crate) fn order_type_code(key: &str) -> u8 {
    OrderType::ALL
        .iter()
        .position(|t| t.key() == key)
        .and_then(|i| u8::try_from(i).ok())
        .unwrap_or(chunk::OTHER_TYPE)
}

/// A packed chunk: the finished tickets of one business day, station and local hour.
///
/// Little-endian: a version byte (1); the servers named in it (u16 count, then u16 length and
/// UTF-8 bytes each); the menu items named in it (the same); then u32 tickets, each: its
/// `proj_ticket_times` rowid (i64), time in ms (i64), order type (u8, its place in
/// [`OrderType::ALL`], 255 for another), server (u16, into the chunk's servers), recalls (u32),
/// item count (u8) and items (u16 each, into the chunk's items).
pub(crate) mod chunk {
    use std::collections::BTreeMap;

    use rusqlite::{Connection, params};

    use super::order_type_code;

    const VERSION: u8 = 1;
    /// The order-type code of a type this build does not know.
    pub(crate) const OTHER_TYPE: u8 = u8::MAX;

    /// One ticket of a chunk, as read back.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) struct Ticket<'a> {
        pub rowid: i64,
        pub time_ms: i64,
        pub order_type: u8,
        pub server: u16,
        pub recalls: u32,
        /// Indexes into the chunk's items.
        pub items: &'a [u8],
    }

    impl Ticket<'_> {
        pub(crate) fn item_indexes(&self) -> impl Iterator<Item = u16> + '_ {
            self.items
                .chunks_exact(2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
        }
    }

    fn names<'a>(list: &mut BTreeMap<&'a str, u16>, name: &'a str) -> rusqlite::Result<u16> {
        let next = u16::try_from(list.len()).map_err(|_| {
            rusqlite::Error::ToSqlConversionFailure("over 65,535 names in a chunk".into())
        })?;
        Ok(*list.entry(name).or_insert(next))
    }

    fn put_names(out: &mut Vec<u8>, list: &BTreeMap<&str, u16>) {
        let mut ordered: Vec<(&str, u16)> = list.iter().map(|(n, i)| (*n, *i)).collect();
        ordered.sort_by_key(|(_, i)| *i);
        out.extend_from_slice(
            &u16::try_from(ordered.len())
                .unwrap_or(u16::MAX)
                .to_le_bytes(),
        );
        for (name, _) in ordered {
            let bytes = &name.as_bytes()[..name.len().min(usize::from(u16::MAX))];
            out.extend_from_slice(&u16::try_from(bytes.len()).unwrap_or(u16::MAX).to_le_bytes());
            out.extend_from_slice(bytes);
        }
    }

    /// Packs the chunk of (`day`, `station`, `hour`) again from its rows (or removes it).
    pub(crate) fn pack(db: &Connection, day: u32, station: &str, hour: u8) -> rusqlite::Result<()> {
        type Row = (i64, i64, String, String, u32, String);
        let rows: Vec<Row> = db
            .prepare_cached(
                "SELECT rowid, time_ms, order_type, server, recalls, items FROM proj_ticket_times
                 WHERE day = ?1 AND station = ?2 AND hour = ?3 ORDER BY rowid",
            )?
            .query_map(params![day, station, hour], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        if rows.is_empty() {
            db.prepare_cached(
                "DELETE FROM proj_ticket_chunks WHERE day = ?1 AND station = ?2 AND hour = ?3",
            )?
            .execute(params![day, station, hour])?;
            return Ok(());
        }
        let mut servers = BTreeMap::new();
        let mut items = BTreeMap::new();
        let mut body = Vec::with_capacity(rows.len() * 28);
        for (rowid, time_ms, order_type, server, recalls, item_list) in &rows {
            let server = names(&mut servers, server)?;
            let codes = item_list
                .split_whitespace()
                .map(|i| names(&mut items, i))
                .collect::<rusqlite::Result<Vec<u16>>>()?;
            body.extend_from_slice(&rowid.to_le_bytes());
            body.extend_from_slice(&time_ms.to_le_bytes());
            body.push(order_type_code(order_type));
            body.extend_from_slice(&server.to_le_bytes());
            body.extend_from_slice(&recalls.to_le_bytes());
            body.push(u8::try_from(codes.len()).unwrap_or(u8::MAX));
            for code in codes.iter().take(usize::from(u8::MAX)) {
                body.extend_from_slice(&code.to_le_bytes());
            }
        }
        let mut data = vec![VERSION];
        put_names(&mut data, &servers);
        put_names(&mut data, &items);
        data.extend_from_slice(&u32::try_from(rows.len()).unwrap_or(u32::MAX).to_le_bytes());
        data.extend_from_slice(&body);
        db.prepare_cached(
            "INSERT OR REPLACE INTO proj_ticket_chunks (day, station, hour, tickets, data)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![day, station, hour, rows.len(), data])?;
        Ok(())
    }

    /// A chunk read back.
    #[derive(Debug)]
    pub(crate) struct Chunk<'a> {
        pub servers: Vec<&'a str>,
        pub items: Vec<&'a str>,
        count: u32,
        body: &'a [u8],
    }

    /// Why a chunk does not read.
    #[derive(Debug, thiserror::Error)]
    #[error("a packed chunk of ticket times does not read: {0}")]
    pub(crate) struct BadChunk(&'static str);

    struct Reader<'a> {
        data: &'a [u8],
    }

    impl<'a> Reader<'a> {
        fn take(&mut self, n: usize) -> Result<&'a [u8], BadChunk> {
            if self.data.len() < n {
                return Err(BadChunk("cut short"));
            }
            let (head, rest) = self.data.split_at(n);
            self.data = rest;
            Ok(head)
        }

        fn u16(&mut self) -> Result<u16, BadChunk> {
            let b = self.take(2)?;
            Ok(u16::from_le_bytes([b[0], b[1]]))
        }

        fn names(&mut self) -> Result<Vec<&'a str>, BadChunk> {
            let n = self.u16()?;
            (0..n)
                .map(|_| {
                    let len = usize::from(self.u16()?);
                    std::str::from_utf8(self.take(len)?)
                        .map_err(|_| BadChunk("a name is not UTF-8"))
                })
                .collect()
        }
    }

    impl<'a> Chunk<'a> {
        pub(crate) fn read(data: &'a [u8]) -> Result<Chunk<'a>, BadChunk> {
            let mut r = Reader { data };
            if r.take(1)? != [VERSION] {
                return Err(BadChunk("unknown version"));
            }
            let servers = r.names()?;
            let items = r.names()?;
            let c = r.take(4)?;
            let count = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            Ok(Chunk {
                servers,
                items,
                count,
                body: r.data,
            })
        }

        /// Calls `f` with every ticket; refuses a chunk that does not read to its end.
        pub(crate) fn for_each(&self, mut f: impl FnMut(Ticket<'a>)) -> Result<(), BadChunk> {
            let mut r = Reader { data: self.body };
            for _ in 0..self.count {
                let fixed = r.take(8 + 8 + 1 + 2 + 4 + 1)?;
                let i64_at = |at: usize| {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&fixed[at..at + 8]);
                    i64::from_le_bytes(b)
                };
                let n = usize::from(fixed[23]);
                let items = r.take(n * 2)?;
                let ticket = Ticket {
                    rowid: i64_at(0),
                    time_ms: i64_at(8),
                    order_type: fixed[16],
                    server: u16::from_le_bytes([fixed[17], fixed[18]]),
                    recalls: u32::from_le_bytes([fixed[19], fixed[20], fixed[21], fixed[22]]),
                    items,
                };
                if usize::from(ticket.server) >= self.servers.len()
                    || ticket
                        .item_indexes()
                        .any(|i| usize::from(i) >= self.items.len())
                {
                    return Err(BadChunk("a name index out of range"));
                }
                f(ticket);
            }
            if !r.data.is_empty() {
                return Err(BadChunk("bytes left over"));
            }
            Ok(())
        }
    }
}
