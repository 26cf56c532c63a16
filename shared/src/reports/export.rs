//! CSV exports for an accountant or a spreadsheet, one file per kind ([`Export`]), over a
//! period of business days.
//!
//! Every file is UTF-8 CSV (RFC 4180: comma-separated, a header row, fields quoted when they
//! hold a comma, a quote or a line break, quotes doubled). Money is a decimal number in the
//! store's currency with two decimals and a point (`12.50`, `-3.00`); quantities are decimal
//! numbers; times are the store's local time with its UTC offset (RFC 3339, `2026-05-01T19:30:05-04:00`);
//! business days are `YYYY-MM-DD`; `true`/`false` for flags.
//!
//! ## `sales-lines`: one row per line of every sale (closed check) of the period
//!
//! | column | meaning |
//! |---|---|
//! | `business_day` | the day the sale is reported on |
//! | `late_after_z` | `true` when the sale reached this device after the Z of the day it was made on; it is reported on the day after |
//! | `check`, `order_number` | the check's id and its order number |
//! | `closed_at`, `hour` | when the check was closed (local), and that local hour (0–23) |
//! | `server`, `order_type` | the check's owner, and `dine_in`, `takeout`, `delivery` or `online` |
//! | `line`, `item`, `name`, `category` | the line's id, the menu item's id, its name as sold, its category on the menu in force |
//! | `modifiers` | the modifiers' names, separated by `; ` |
//! | `qty` | quantity |
//! | `state` | `sold`, `voided` or `comped` |
//! | `gross` | price × quantity as listed, modifiers included |
//! | `discount` | the line's discount |
//! | `net` | what the line adds to the check's subtotal (0 when voided or comped) |
//!
//! ## `payments`: one row per payment and per refund on the sales of the period
//!
//! | column | meaning |
//! |---|---|
//! | `business_day`, `late_after_z`, `check`, `order_number` | the sale, as above |
//! | `kind` | `payment` or `refund` |
//! | `id` | the payment's or refund's id; `payment`: the payment a refund gives back on |
//! | `tender` | `cash`, `card` or `other` |
//! | `state` | a payment's: `taken`, `offline` (stored, not yet uploaded), `open_tab`, `declined_on_upload`; `refunded` for a refund |
//! | `amount`, `tip`, `refunded` | what it paid of the check, the tip on top, what was refunded of it |
//! | `brand`, `last4` | a card's brand and last four digits (never the card number) |
//! | `drawer`, `staff` | the cash drawer, and who took it |
//! | `at` | when (local) |
//!
//! ## `ticket-times`: one row per finished ticket shown in the period
//!
//! | column | meaning |
//! |---|---|
//! | `business_day`, `hour` | the day and local hour the screen showed it |
//! | `ticket`, `check`, `order_number` | ids |
//! | `station`, `order_type`, `server` | where it was cooked, the order type, the check's owner |
//! | `shown_at`, `bumped_at` | on the screen's clock (local) |
//! | `time_ms` | bump minus show, in milliseconds, on that one screen's clock |
//! | `band` | `on_time`, `alert`, `late` by the thresholds of its order type, or `ignored` (under 10 s or over 4 h) |
//! | `recalls` | how many times it was recalled |
//!
//! ## `stock-movements`: one row per stock movement in the period, in fold order
//!
//! | column | meaning |
//! |---|---|
//! | `at`, `business_day` | when (local), by the fold order's clock |
//! | `ingredient` | the ingredient's id |
//! | `kind` | `received`, `counted` (sets the level), `sold` (deducted by recipe with modifiers) or `waste` (a line voided after the kitchen started it) |
//! | `qty` | in the ingredient's unit |
//! | `check`, `line` | for `sold` and `waste`: the line that used it |

use std::io::Write;

use rusqlite::Connection;

use crate::kitchen::board::TimerSettings;
use crate::projection::store_settings;

use super::{Period, ReportError, money, sales, service, stock};

/// The files `pass report export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    SalesLines,
    Payments,
    TicketTimes,
    StockMovements,
}

impl Export {
    pub const ALL: [Export; 4] = [
        Export::SalesLines,
        Export::Payments,
        Export::TicketTimes,
        Export::StockMovements,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Export::SalesLines => "sales-lines",
            Export::Payments => "payments",
            Export::TicketTimes => "ticket-times",
            Export::StockMovements => "stock-movements",
        }
    }

    /// The header row.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Export::SalesLines => &[
                "business_day",
                "late_after_z",
                "check",
                "order_number",
                "closed_at",
                "hour",
                "server",
                "order_type",
                "line",
                "item",
                "name",
                "category",
                "modifiers",
                "qty",
                "state",
                "gross",
                "discount",
                "net",
            ],
            Export::Payments => &[
                "business_day",
                "late_after_z",
                "check",
                "order_number",
                "kind",
                "id",
                "payment",
                "tender",
                "state",
                "amount",
                "tip",
                "refunded",
                "brand",
                "last4",
                "drawer",
                "staff",
                "at",
            ],
            Export::TicketTimes => &[
                "business_day",
                "hour",
                "ticket",
                "check",
                "order_number",
                "station",
                "order_type",
                "server",
                "shown_at",
                "bumped_at",
                "time_ms",
                "band",
                "recalls",
            ],
            Export::StockMovements => &[
                "at",
                "business_day",
                "ingredient",
                "kind",
                "qty",
                "check",
                "line",
            ],
        }
    }
}

fn amount(cents: i64) -> String {
    money(cents).to_string()
}

/// Writes one export of `period` as CSV to `out`; returns the number of data rows.
pub fn write_csv(
    db: &Connection,
    export: Export,
    period: Period,
    timers: &TimerSettings,
    out: impl Write,
) -> Result<usize, ReportError> {
    let settings = store_settings(db)?;
    let zone = settings.time_zone();
    let at = |ms: i64| zone.local_text(ms).unwrap_or_default();
    let mut w = csv::Writer::from_writer(out);
    w.write_record(export.columns())?;
    let mut rows = 0;
    match export {
        Export::SalesLines => {
            let mut stmt = db.prepare_cached(
                "SELECT line_id, item, name, category, modifiers, qty, state, gross_cents,
                        discount_cents, net_cents
                 FROM proj_sale_lines WHERE check_id = ?1 ORDER BY line_id",
            )?;
            for sale in sales::export_sales(db, period)? {
                let b = &sale.brief;
                let lines = stmt.query_map([&b.check], |r| {
                    Ok([
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, i64>(5)?.to_string(),
                        r.get::<_, String>(6)?,
                        amount(r.get(7)?),
                        amount(r.get(8)?),
                        amount(r.get(9)?),
                    ])
                })?;
                for line in lines {
                    let line = line?;
                    let head = [
                        sale.day.to_string(),
                        sale.late.to_string(),
                        b.check.clone(),
                        b.number.clone(),
                        at(b.closed_ms),
                        sale.hour.to_string(),
                        b.server.clone(),
                        b.order_type.clone(),
                    ];
                    w.write_record(head.iter().chain(line.iter()))?;
                    rows += 1;
                }
            }
        }
        Export::Payments => {
            let mut stmt = db.prepare_cached(
                "SELECT kind, id, payment, tender, state, amount_cents, tip_cents, refunded_cents,
                        brand, last4, drawer, staff, wall_ms
                 FROM proj_payments WHERE check_id = ?1 ORDER BY hlc, origin, seq, kind, id",
            )?;
            for sale in sales::export_sales(db, period)? {
                let b = &sale.brief;
                let pays = stmt.query_map([&b.check], |r| {
                    Ok([
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        amount(r.get(5)?),
                        amount(r.get(6)?),
                        amount(r.get(7)?),
                        r.get::<_, Option<String>>(8)?.unwrap_or_default(),
                        r.get::<_, Option<String>>(9)?.unwrap_or_default(),
                        r.get::<_, Option<String>>(10)?.unwrap_or_default(),
                        r.get::<_, Option<String>>(11)?.unwrap_or_default(),
                        at(r.get(12)?),
                    ])
                })?;
                for pay in pays {
                    let pay = pay?;
                    let head = [
                        sale.day.to_string(),
                        sale.late.to_string(),
                        b.check.clone(),
                        b.number.clone(),
                    ];
                    w.write_record(head.iter().chain(pay.iter()))?;
                    rows += 1;
                }
            }
        }
        Export::TicketTimes => {
            for t in service::ticket_rows(db, period)? {
                let day = crate::domain::business_day::BusinessDay::from_number(t.day)?;
                w.write_record([
                    day.to_string(),
                    t.hour.to_string(),
                    t.ticket,
                    t.check,
                    t.number,
                    t.station,
                    t.order_type.clone(),
                    t.server,
                    at(t.shown_ms),
                    at(t.bumped_ms),
                    t.time_ms.to_string(),
                    service::band_of(timers, &t.order_type, t.time_ms).to_owned(),
                    t.recalls.to_string(),
                ])?;
                rows += 1;
            }
        }
        Export::StockMovements => {
            for (m, day) in stock::movement_rows(db, period)? {
                w.write_record([
                    at(m.at_ms()),
                    day.to_string(),
                    m.ingredient.clone(),
                    m.kind.clone(),
                    m.qty.normalize().to_string(),
                    m.check.clone(),
                    m.line.clone(),
                ])?;
                rows += 1;
            }
        }
    }
    w.flush()?;
    Ok(rows)
}
