//! `pass report …`: the reports from a device's database, opened read-only, as a table, CSV or
//! JSON; and the CSV exports. The `pass` binary parses these arguments and calls [`run`].

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use rust_decimal::Decimal;

use crate::domain::business_day::BusinessDay;
use crate::journal::open_read_only;
use crate::kitchen::board::{Thresholds, TimerSettings};

use super::export::{Export, write_csv};
use super::sales::{sales_report, z_report};
use super::service::{ServiceOptions, service_time_report};
use super::stock::{StockOptions, stock_report};
use super::text::{
    Table, render_text, sales_tables, service_tables, stock_tables, write_tables_csv, z_tables,
};
use super::{Period, ReportError};

/// How a report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns, one table after another.
    Table,
    /// One CSV file: every row led by the name of its table (`by_station`, `taxes`, …), each
    /// table with its own header row.
    Csv,
    /// The whole report as one JSON document (money as strings, times in ms since the epoch).
    Json,
}

/// Which database and which business days.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// The device's database (its `pass.db`); opened read-only.
    #[arg(long)]
    pub db: PathBuf,
    /// The first business day (YYYY-MM-DD: the day on which it starts). Default: `--to`, or
    /// the business day now.
    #[arg(long, value_parser = parse_day)]
    pub from: Option<BusinessDay>,
    /// The last business day, included (YYYY-MM-DD). Default: `--from`, or the business day
    /// now.
    #[arg(long, value_parser = parse_day)]
    pub to: Option<BusinessDay>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// The kitchen's thresholds, when not the screens' defaults.
#[derive(Debug, Clone, Args)]
pub struct ThresholdArgs {
    /// The first threshold (yellow on the screens), in seconds. Default 300.
    #[arg(long)]
    pub alert_secs: Option<u32>,
    /// The second threshold (red: late), in seconds. Default 480.
    #[arg(long)]
    pub late_secs: Option<u32>,
}

/// The CSV exports (their columns are documented in `pass_shared::reports::export`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportKind {
    /// One row per line of every sale: day, late after Z, check, order number, closing time
    /// and hour, server, order type, line, item, name, category, modifiers, quantity, state
    /// (sold/voided/comped), gross, discount, net.
    SalesLines,
    /// One row per payment and refund of the sales: day, late after Z, check, order number,
    /// kind, id, payment, tender, state, amount, tip, refunded, card brand and last four,
    /// drawer, staff, time.
    Payments,
    /// One row per finished ticket: day, hour, ticket, check, order number, station, order
    /// type, server, shown and bumped (screen clock), time in ms, band
    /// (on_time/alert/late/ignored), recalls.
    TicketTimes,
    /// One row per stock movement: time, day, ingredient, kind (received/counted/sold/waste),
    /// quantity, check and line.
    StockMovements,
}

impl From<ExportKind> for Export {
    fn from(k: ExportKind) -> Export {
        match k {
            ExportKind::SalesLines => Export::SalesLines,
            ExportKind::Payments => Export::Payments,
            ExportKind::TicketTimes => Export::TicketTimes,
            ExportKind::StockMovements => Export::StockMovements,
        }
    }
}

/// A report from a device's database, opened read-only (nothing is written).
#[derive(Debug, Clone, Subcommand)]
pub enum ReportCommand {
    /// Ticket times: median and 90th percentile (exact, nearest rank), tickets past the alert
    /// and late thresholds, recalls, by station, local hour, item, server and order type; each
    /// station hour by hour; the distribution in bars; the late tickets; the last hour. A ticket
    /// counts on the business day and local hour its screen showed it; times under 10 s or
    /// over 4 h are ignored (and counted as ignored).
    ServiceTimes {
        #[command(flatten)]
        args: ReportArgs,
        #[command(flatten)]
        thresholds: ThresholdArgs,
        /// The end of the "last hour" (RFC 3339, e.g. 2026-05-01T21:30:00-04:00, or ms since
        /// the epoch). Default: now.
        #[arg(long)]
        now: Option<String>,
        /// The width of a bar of the distribution, in seconds (1 to 3600).
        #[arg(long, default_value_t = 60)]
        bucket_secs: u32,
    },
    /// Sales: totals (gross, comps, discounts, net, tax, total, payments, tips, refunds), by
    /// category, item, server and local hour; tax by rate; tenders; voids and comps; items
    /// sold on stock already out; sales late after a Z; cash drawers counted against expected.
    Sales {
        #[command(flatten)]
        args: ReportArgs,
    },
    /// The Z report of one business day: exactly the sales its close covers, the same on every
    /// device, and the sales of the day before that arrived after that day's Z. For a day not
    /// closed yet, the sales so far (an X report).
    Z {
        /// The device's database (its `pass.db`); opened read-only.
        #[arg(long)]
        db: PathBuf,
        /// The business day (YYYY-MM-DD). Default: the business day now.
        #[arg(long, value_parser = parse_day)]
        day: Option<BusinessDay>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Stock: levels, what was received, sold and wasted in the period, counts against the
    /// level expected, ingredients low (covering less than `--cover-days` of the period's
    /// average use) or out, items 86'd, sales on stock already out.
    Stock {
        #[command(flatten)]
        args: ReportArgs,
        /// An ingredient is low when its level covers fewer days of use than this (0 to 365).
        #[arg(long, default_value = "1", allow_negative_numbers = true)]
        cover_days: Decimal,
    },
    /// A CSV export for an accountant or a spreadsheet (RFC 4180, a header row, money with
    /// two decimals, local times with their UTC offset).
    Export {
        #[arg(value_enum)]
        kind: ExportKind,
        /// The device's database (its `pass.db`); opened read-only.
        #[arg(long)]
        db: PathBuf,
        #[arg(long, value_parser = parse_day)]
        from: Option<BusinessDay>,
        #[arg(long, value_parser = parse_day)]
        to: Option<BusinessDay>,
        #[command(flatten)]
        thresholds: ThresholdArgs,
        /// Write to this file (created or replaced) instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Why `pass report` could not answer.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot open {}: {source}", path.display())]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error("--now `{0}` is neither an RFC 3339 time nor milliseconds since the epoch")]
    BadNow(String),
    #[error("{0}")]
    BadOption(String),
    #[error("writing {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing the report: {0}")]
    Output(#[from] std::io::Error),
    #[error("writing JSON: {0}")]
    Json(#[from] serde_json::Error),
}

fn parse_day(s: &str) -> Result<BusinessDay, String> {
    s.parse::<BusinessDay>().map_err(|e| e.to_string())
}

fn parse_now(s: &str) -> Result<i64, CliError> {
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|_| CliError::BadNow(s.chars().take(60).collect()))
}

fn open(path: &Path) -> Result<rusqlite::Connection, CliError> {
    open_read_only(path).map_err(|source| CliError::Open {
        path: path.to_path_buf(),
        source,
    })
}

fn timers(t: &ThresholdArgs) -> Result<TimerSettings, CliError> {
    let defaults = Thresholds::default();
    let thresholds = Thresholds {
        alert_secs: t.alert_secs.unwrap_or(defaults.alert_secs),
        late_secs: t.late_secs.unwrap_or(defaults.late_secs),
    };
    thresholds.check().map_err(CliError::BadOption)?;
    Ok(TimerSettings {
        default: thresholds,
        by_order_type: Default::default(),
    })
}

/// The period asked for; the business day of `now_ms` where neither end is given.
fn period(
    db: &rusqlite::Connection,
    from: Option<BusinessDay>,
    to: Option<BusinessDay>,
    now_ms: i64,
) -> Result<Period, CliError> {
    let today = || -> Result<BusinessDay, CliError> {
        let settings = super::service::settings(db)?;
        Ok(settings.business_day(now_ms).map_err(ReportError::from)?)
    };
    let (from, to) = match (from, to) {
        (Some(f), Some(t)) => (f, t),
        (Some(f), None) => (f, f),
        (None, Some(t)) => (t, t),
        (None, None) => {
            let d = today()?;
            (d, d)
        }
    };
    Ok(Period::new(from, to)?)
}

fn print(
    format: Format,
    tables: Vec<Table>,
    json: &impl serde::Serialize,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    match format {
        Format::Table => out.write_all(render_text(&tables).as_bytes())?,
        Format::Csv => write_tables_csv(&tables, &mut *out)?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, json)?;
            out.write_all(b"\n")?;
        }
    }
    Ok(())
}

/// Runs one `pass report` command, writing to `out`; `now_ms` is the time now (the default
/// day and the end of the last hour).
pub fn run(command: ReportCommand, now_ms: i64, out: &mut dyn Write) -> Result<(), CliError> {
    match command {
        ReportCommand::ServiceTimes {
            args,
            thresholds,
            now,
            bucket_secs,
        } => {
            if !(1..=3600).contains(&bucket_secs) {
                return Err(CliError::BadOption(format!(
                    "--bucket-secs {bucket_secs}: a bar is 1 to 3600 seconds wide"
                )));
            }
            let timers = timers(&thresholds)?;
            let now_ms = now.as_deref().map(parse_now).transpose()?.unwrap_or(now_ms);
            let db = open(&args.db)?;
            let period = period(&db, args.from, args.to, now_ms)?;
            let report = service_time_report(
                &db,
                period,
                &ServiceOptions {
                    timers,
                    now_ms: Some(now_ms),
                    bucket_secs,
                    ..ServiceOptions::default()
                },
            )?;
            print(args.format, service_tables(&report), &report, out)
        }
        ReportCommand::Sales { args } => {
            let db = open(&args.db)?;
            let period = period(&db, args.from, args.to, now_ms)?;
            let report = sales_report(&db, period)?;
            print(args.format, sales_tables(&report), &report, out)
        }
        ReportCommand::Z { db, day, format } => {
            let conn = open(&db)?;
            let period = period(&conn, day, day, now_ms)?;
            let report = z_report(&conn, period.from)?;
            print(format, z_tables(&report), &report, out)
        }
        ReportCommand::Stock { args, cover_days } => {
            if cover_days < Decimal::ZERO || cover_days > Decimal::from(365) {
                return Err(CliError::BadOption(format!(
                    "--cover-days {cover_days}: expected 0 to 365"
                )));
            }
            let db = open(&args.db)?;
            let period = period(&db, args.from, args.to, now_ms)?;
            let report = stock_report(&db, period, &StockOptions { cover_days })?;
            print(args.format, stock_tables(&report), &report, out)
        }
        ReportCommand::Export {
            kind,
            db,
            from,
            to,
            thresholds,
            out: file,
        } => {
            let timers = timers(&thresholds)?;
            let conn = open(&db)?;
            let period = period(&conn, from, to, now_ms)?;
            match file {
                None => {
                    write_csv(&conn, kind.into(), period, &timers, &mut *out)?;
                }
                Some(path) => {
                    let file = std::fs::File::create(&path).map_err(|source| CliError::Write {
                        path: path.clone(),
                        source,
                    })?;
                    let rows = write_csv(
                        &conn,
                        kind.into(),
                        period,
                        &timers,
                        std::io::BufWriter::new(file),
                    )?;
                    tracing::info!(rows, path = %path.display(), "export written");
                }
            }
            Ok(())
        }
    }
}
