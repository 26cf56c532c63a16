//! The facts the manager's reports read (see [`crate::reports`]), kept with each check's other
//! rows whenever the check is re-folded: every finished ticket's time with what it needs to be
//! grouped (station, business day and local hour, order type, server, items), and every sale
//! (a closed check) with its lines and its tax by rate. Compact rows with covering indexes, so a
//! report over years of service reads an index range instead of re-folding the journal.

use rusqlite::{Connection, params};

use crate::domain::business_day::StoreSettings;
use crate::domain::check::CheckState;
use crate::domain::menu::Menu;
use crate::domain::stats;
use crate::domain::ticket::{ItemState, TicketState};

use super::cents;
use super::fold::CheckFold;

/// The tables this module keeps, each with a `check_id` column.
pub(super) const TABLES: [&str; 5] = [
    "proj_ticket_times",
    "proj_ticket_items",
    "proj_sales",
    "proj_sale_lines",
    "proj_sale_taxes",
];

/// Rewrites a check's report facts from its fold (the caller has deleted the old ones).
pub(super) fn write(
    db: &Connection,
    check_id: &str,
    fold: &CheckFold,
    settings: &StoreSettings,
    menu: Option<&Menu>,
) -> rusqlite::Result<()> {
    let Some(check) = &fold.check else {
        return Ok(());
    };
    let zone = settings.time_zone();
    let order_type = check.order_type().key();
    let number = check.number().to_string();
    for t in &fold.tickets {
        let (Some(shown), Some(bumped)) = (t.shown_ms(), t.bumped_ms()) else {
            continue;
        };
        if t.state() != TicketState::Done {
            continue;
        }
        let (Ok(day), Some(hour)) = (settings.business_day(shown), zone.local_hour(shown)) else {
            tracing::warn!(
                ticket = %t.id(),
                shown,
                "ticket shown at an impossible time left out of the reports"
            );
            continue;
        };
        let time_ms = stats::ticket_time_ms(shown, bumped);
        db.prepare_cached(
            "INSERT OR REPLACE INTO proj_ticket_times (ticket_id, check_id, number, station,
                 order_type, server, day, hour, shown_ms, bumped_ms, time_ms, recalls)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?
        .execute(params![
            t.id().as_str(),
            check_id,
            number,
            t.station().as_str(),
            order_type,
            check.server().as_str(),
            day.number(),
            hour,
            shown,
            bumped,
            time_ms,
            t.recalls(),
        ])?;
        for line in t.items() {
            if line.state == ItemState::Voided {
                continue;
            }
            db.prepare_cached(
                "INSERT OR IGNORE INTO proj_ticket_items (ticket_id, item, check_id, order_type,
                     day, time_ms, recalls)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                t.id().as_str(),
                line.item.item.as_str(),
                check_id,
                order_type,
                day.number(),
                time_ms,
                t.recalls(),
            ])?;
        }
    }

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
