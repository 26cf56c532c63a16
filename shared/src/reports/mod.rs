//! The manager's reports: service times, sales (and the Z report that closes a business day),
//! stock, and CSV exports an accountant can import.
//!
//! Every report is plain data (serde-serialisable structs, money as [`Money`], times in
//! milliseconds) computed from a device's database, which may be opened read-only: the screens
//! draw these structs, `pass report` prints them as a table, CSV or JSON. Reports read the compact
//! facts the projections keep as each event applies (`proj_ticket_times`, `proj_ticket_chunks`,
//! `proj_sales`, `proj_sale_lines`, `proj_sale_taxes`, `proj_payments`, `proj_stock_moves`,
//! `proj_days`, `proj_drawers`; schema version 5), never the raw journal, so they stay fast as
//! years of service pile up.
//!
//! # Periods, days and hours
//!
//! A report covers a [`Period`]: a range of business days, both ends included (the store's
//! cut-off hour and time zone decide which day an instant belongs to; see
//! [`crate::domain::business_day`]). Hours are the store's local hours (0–23), so a chart by hour
//! stays right across daylight-saving changes: the hour lived twice in autumn is one hour of the
//! chart, the hour skipped in spring has no tickets. Hours are listed in the business day's order,
//! from the cut-off hour on.
//!
//! - A **ticket** belongs to the business day and hour in which its screen showed it (when the
//!   order reached the kitchen); its time is that screen's bump minus its showing
//!   ([`crate::domain::stats`]).
//! - A **sale** is a closed check; it belongs to the business day of its closing, moved by the Z
//!   rules of [`crate::projection::day`]: a sale from a day already closed whose closing event is
//!   beyond the close's heads is **late, after Z** and is listed in the next day's report.
//! - A **stock movement** belongs to the business day of its place in the fold order (the
//!   physical part of its hybrid logical clock stamp).
//!
//! # CSV exports
//!
//! See [`export`] for the files and their columns.

pub mod cli;
pub mod export;
pub mod sales;
pub mod service;
pub mod stock;
pub mod text;

use rusqlite::Connection;
use serde::Serialize;

use crate::domain::Money;
use crate::domain::business_day::{BusinessDay, BusinessDayError, StoreSettings};

/// The schema version whose facts the reports read.
pub const SCHEMA_VERSION: i64 = 5;

/// The longest period a report covers: ten years of business days.
pub const MAX_PERIOD_DAYS: u32 = 3660;

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(
        "the database is at schema version {found}, reports need version {SCHEMA_VERSION}: \
         run the device once with this release (it migrates and rebuilds its projections)"
    )]
    SchemaTooOld { found: i64 },
    #[error("the period ends on {to}, before it starts on {from}")]
    PeriodBackwards { from: BusinessDay, to: BusinessDay },
    #[error("the period covers {days} business days; a report covers at most {MAX_PERIOD_DAYS}")]
    PeriodTooLong { days: u32 },
    #[error(transparent)]
    Day(#[from] BusinessDayError),
    #[error("the totals overflow: {0}")]
    Overflow(String),
    #[error("the database holds damaged report facts ({0}); rebuild its projections")]
    Corrupt(String),
    #[error("reading the database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("writing CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("writing: {0}")]
    Io(#[from] std::io::Error),
}

/// A range of business days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: BusinessDay,
    pub to: BusinessDay,
}

impl Period {
    /// From `from` to `to`, both included; refused when backwards or longer than
    /// [`MAX_PERIOD_DAYS`].
    pub fn new(from: BusinessDay, to: BusinessDay) -> Result<Period, ReportError> {
        if to < from {
            return Err(ReportError::PeriodBackwards { from, to });
        }
        let days = to.number() - from.number() + 1;
        if days > MAX_PERIOD_DAYS {
            return Err(ReportError::PeriodTooLong { days });
        }
        Ok(Period { from, to })
    }

    /// One business day.
    pub fn day(day: BusinessDay) -> Period {
        Period { from: day, to: day }
    }

    /// How many business days it covers.
    pub fn days(&self) -> u32 {
        self.to.number() - self.from.number() + 1
    }

    /// Whether a business day (by its number) is in the period.
    pub fn contains(&self, day_number: u32) -> bool {
        (self.from.number()..=self.to.number()).contains(&day_number)
    }

    /// When the period starts and ends (exclusive), in ms since the epoch.
    pub fn span_ms(&self, settings: &StoreSettings) -> (i64, i64) {
        let zone = settings.time_zone();
        let cutoff = settings.cutoff_hour();
        let (start, _) = crate::domain::business_day::business_day_span_ms(self.from, zone, cutoff);
        let (_, end) = crate::domain::business_day::business_day_span_ms(self.to, zone, cutoff);
        (start, end)
    }
}

/// Refuses a database whose projections do not hold the report facts yet.
pub fn check_schema(db: &Connection) -> Result<(), ReportError> {
    let found: i64 = db.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found < SCHEMA_VERSION {
        return Err(ReportError::SchemaTooOld { found });
    }
    Ok(())
}

/// The hours of a day in business-day order: from the cut-off hour round to the hour before it.
pub fn hours_in_day_order(cutoff_hour: u8) -> impl Iterator<Item = u8> {
    (0..24u8).map(move |i| (cutoff_hour + i) % 24)
}

/// The place of a local hour in business-day order (0 for the cut-off hour).
pub fn hour_rank(hour: u8, cutoff_hour: u8) -> u8 {
    (hour + 24 - cutoff_hour % 24) % 24
}

/// Money from integer minor units.
pub(crate) fn money(cents: i64) -> Money {
    Money::from_minor(cents)
}

/// Adds minor units, refusing an overflow.
pub(crate) fn add(total: &mut i64, cents: i64) -> Result<(), ReportError> {
    *total = total
        .checked_add(cents)
        .ok_or_else(|| ReportError::Overflow(format!("{total} + {cents}")))?;
    Ok(())
}

#[cfg(test)]
mod tests;
