//! The business day and its close (Z).
//!
//! A sale is a closed check; its moment is the event that closed it. A "day closed" event
//! records, per origin, the last seq it covers. For the day `D` a sale's closing instant falls in
//! (by the store's time zone and cut-off hour):
//!
//! - if `D` has been closed and the sale's closing event is within the close's heads, the sale
//!   is in `D`'s Z report;
//! - if `D` has been closed, the sale is not within its heads, but it was closed before the day
//!   was (in HLC order), it is **late, after Z**: it arrived from a device that was cut off, and
//!   is listed in the next day's report as late;
//! - if it was closed after the close of `D`, it belongs to the next business day;
//! - otherwise it belongs to `D` (an X report of a day still open).
//!
//! Every device decides the same, because all of this is read from journal facts.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};

use crate::domain::Money;
use crate::domain::business_day::{BusinessDay, StoreSettings};
use crate::event::Event;
use crate::journal::{Journal, JournalError};

/// A close as recorded: its place in fold order and the heads it covers.
#[derive(Debug, Clone)]
struct Close {
    hlc: i64,
    heads: BTreeMap<String, u64>,
}

fn close_of(db: &Connection, day: BusinessDay) -> rusqlite::Result<Option<Close>> {
    let row: Option<(i64, String)> = db
        .prepare_cached(
            "SELECT hlc, heads FROM proj_days WHERE business_day = ?1 ORDER BY hlc, origin, seq LIMIT 1",
        )?
        .query_row([day.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(row.map(|(hlc, heads)| Close {
        hlc,
        heads: serde_json::from_str(&heads).unwrap_or_default(),
    }))
}

/// Where one sale belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaleDay {
    /// In this day's sales (its Z once closed).
    In(BusinessDay),
    /// Made on this day but reached the closing device after its Z.
    LateAfterZ(BusinessDay),
}

/// One closed check as a sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sale {
    pub check: String,
    pub number: String,
    pub total: Money,
    pub paid: Money,
    pub tax: Money,
    pub day: SaleDay,
}

/// A day's report: its sales (exactly the Z's when the day is closed) and the late sales of the
/// day before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayReport {
    pub day: BusinessDay,
    pub closed: bool,
    pub sales: Vec<Sale>,
    pub total: Money,
    pub tax: Money,
    /// Sales of the previous day that arrived after its Z.
    pub late_after_z: Vec<Sale>,
}

/// A closed check's row, as read for the reports.
struct ClosedCheck {
    check: String,
    number: String,
    total: i64,
    paid: i64,
    tax: i64,
    hlc: i64,
    origin: String,
    seq: i64,
    wall_ms: i64,
}

/// Every sale, with the day it belongs to.
pub fn sales(db: &Connection) -> Result<Vec<Sale>, JournalError> {
    let settings: StoreSettings = super::store_settings(db)?;
    let rows: Vec<ClosedCheck> = db
        .prepare_cached(
            "SELECT check_id, number, total_cents, paid_cents, tax_cents, closed_hlc, closed_origin,
                    closed_seq, closed_wall_ms
             FROM proj_checks WHERE state = 'closed' AND closed_hlc IS NOT NULL ORDER BY check_id",
        )?
        .query_map([], |r| {
            Ok(ClosedCheck {
                check: r.get(0)?,
                number: r.get(1)?,
                total: r.get(2)?,
                paid: r.get(3)?,
                tax: r.get(4)?,
                hlc: r.get(5)?,
                origin: r.get(6)?,
                seq: r.get(7)?,
                wall_ms: r.get(8)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::with_capacity(rows.len());
    for ClosedCheck {
        check,
        number,
        total,
        paid,
        tax,
        hlc,
        origin,
        seq,
        wall_ms,
    } in rows
    {
        let Ok(day) = settings.business_day(wall_ms) else {
            tracing::warn!(
                check,
                wall_ms,
                "sale with an impossible time left out of the reports"
            );
            continue;
        };
        let placed = place_sale(db, day, &origin, seq, hlc)?;
        out.push(Sale {
            check,
            number,
            total: Money::from_minor(total),
            paid: Money::from_minor(paid),
            tax: Money::from_minor(tax),
            day: placed,
        });
    }
    Ok(out)
}

/// Where a sale belongs: the one whose closing event is (`origin`, `seq`) at `hlc`, closed on
/// business day `day` by the store's clock (see the module documentation).
pub fn place_sale(
    db: &Connection,
    mut day: BusinessDay,
    origin: &str,
    seq: i64,
    hlc: i64,
) -> rusqlite::Result<SaleDay> {
    let mut placed = SaleDay::In(day);
    // A sale closed after its day's close moves on, day by day (at most a few).
    for _ in 0..3 {
        let Some(close) = close_of(db, day)? else {
            break;
        };
        let covered = close
            .heads
            .get(origin)
            .is_some_and(|h| u64::try_from(seq).is_ok_and(|s| s <= *h));
        if covered {
            break;
        }
        if hlc < close.hlc {
            placed = SaleDay::LateAfterZ(day);
            break;
        }
        match day.next() {
            Ok(next) => {
                day = next;
                placed = SaleDay::In(day);
            }
            Err(_) => break,
        }
    }
    Ok(placed)
}

/// A business day's close as every device reads it: the first "day closed" event for the day
/// in fold order, and the per-origin heads it covers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DayClose {
    pub hlc: i64,
    pub origin: String,
    pub seq: i64,
    pub heads: BTreeMap<String, u64>,
}

/// The close of `day`, if it was closed.
pub fn day_close(db: &Connection, day: BusinessDay) -> rusqlite::Result<Option<DayClose>> {
    let row: Option<(i64, String, i64, String)> = db
        .prepare_cached(
            "SELECT hlc, origin, seq, heads FROM proj_days WHERE business_day = ?1
             ORDER BY hlc, origin, seq LIMIT 1",
        )?
        .query_row([day.to_string()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    Ok(row.map(|(hlc, origin, seq, heads)| DayClose {
        hlc,
        origin,
        seq,
        heads: serde_json::from_str(&heads).unwrap_or_default(),
    }))
}

/// The report of one business day.
pub fn day_report(db: &Connection, day: BusinessDay) -> Result<DayReport, JournalError> {
    let all = sales(db)?;
    let closed = close_of(db, day)?.is_some();
    let sales: Vec<Sale> = all
        .iter()
        .filter(|s| s.day == SaleDay::In(day))
        .cloned()
        .collect();
    let late_after_z = all
        .into_iter()
        .filter(|s| matches!(s.day, SaleDay::LateAfterZ(d) if d.next().is_ok_and(|n| n == day)))
        .collect();
    let total = Money::sum(sales.iter().map(|s| s.total))
        .map_err(|e| JournalError::Serialise(e.to_string()))?;
    let tax = Money::sum(sales.iter().map(|s| s.tax))
        .map_err(|e| JournalError::Serialise(e.to_string()))?;
    Ok(DayReport {
        day,
        closed,
        sales,
        total,
        tax,
        late_after_z,
    })
}

/// Closes a business day on this device: records the heads of every origin it holds now, so the
/// Z covers exactly these events on every device. Closing a day already closed is refused.
pub fn close_day(journal: &Journal, day: BusinessDay) -> Result<(), JournalError> {
    let already = journal.read(|db| {
        db.prepare_cached("SELECT EXISTS(SELECT 1 FROM proj_days WHERE business_day = ?1)")?
            .query_row(params![day.to_string()], |r| r.get::<_, bool>(0))
    })?;
    if already {
        return Err(JournalError::Refused(format!(
            "business day {day} is already closed"
        )));
    }
    let heads = journal
        .heads()?
        .into_iter()
        .map(|(o, h)| (o.to_string(), h.seq))
        .collect();
    journal.append(&Event::DayClosed {
        business_day: day.to_string(),
        heads,
    })?;
    Ok(())
}
