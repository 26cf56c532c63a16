//! Service times: how long the kitchen takes, by station, local hour, item, server and order
//! type, over a period of business days; the distribution; the late tickets; the last hour.
//!
//! # Figures ([`Figures`])
//!
//! For a set of finished tickets (shown and bumped on one screen):
//!
//! - `tickets`: the ticket times kept, `ignored`: those trimmed as outliers (under 10 s or over
//!   4 h, [`crate::domain::stats`]);
//! - `median_ms`, `p90_ms`: exact, by nearest rank over the kept times (always a measured time);
//! - `past_alert`, `past_late`: kept tickets whose time reached the first (alert) and the second
//!   (late) threshold of their order type, as a kitchen screen colours them
//!   ([`crate::kitchen::board::Thresholds`]: yellow at 5 min, red at 8 min by default);
//!   `past_alert` includes the late ones, and `on_time` is the rest;
//! - `recalled`: tickets recalled at least once, `recalls`: recalls in all (every finished
//!   ticket counts here, trimmed or not).
//!
//! A ticket belongs to the business day and local hour of its showing. "By item" counts a ticket
//! once for each menu item on it (not voided). The late tickets are the kept tickets past their
//! late threshold, longest first. The last hour ([`LastHour`]) is the tickets bumped in the hour
//! before a given instant, whatever the period, as the kitchen screens show it.

use std::collections::HashMap;

use rusqlite::{Connection, params};
use serde::Serialize;

use crate::domain::business_day::{BusinessDay, StoreSettings};
use crate::domain::order::OrderType;
use crate::domain::stats;
use crate::kitchen::board::{Thresholds, TimerSettings};
use crate::projection::store_settings;

use super::{Period, ReportError, check_schema, hour_rank};

/// How the report is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceOptions {
    /// The thresholds tickets are counted against (the kitchen screens' defaults unless given).
    pub timers: TimerSettings,
    /// The instant the "last hour" ends at; `None` leaves the last hour out.
    pub now_ms: Option<i64>,
    /// The width of a bar of the distribution, in seconds (at least 1).
    pub bucket_secs: u32,
    /// At most this many late tickets are listed (all are counted).
    pub late_list_max: usize,
}

impl Default for ServiceOptions {
    fn default() -> ServiceOptions {
        ServiceOptions {
            timers: TimerSettings::default(),
            now_ms: None,
            bucket_secs: 60,
            late_list_max: 50,
        }
    }
}

/// Service-time figures of a set of tickets (see the module documentation).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    pub tickets: usize,
    pub ignored: usize,
    pub median_ms: Option<i64>,
    pub p90_ms: Option<i64>,
    pub on_time: usize,
    pub past_alert: usize,
    pub past_late: usize,
    pub recalled: usize,
    pub recalls: u64,
}

/// The figures of one station, item, server or order type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    pub key: String,
    pub figures: Figures,
}

/// The figures of one local hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HourFigures {
    pub hour: u8,
    pub figures: Figures,
}

/// One station's figures hour by hour (for a chart of ticket time by hour).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StationHours {
    pub station: String,
    pub hours: Vec<HourFigures>,
}

/// A bar of the distribution: kept tickets whose time is in `[from_ms, to_ms)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bucket {
    pub from_ms: i64,
    pub to_ms: i64,
    pub tickets: usize,
}

/// A ticket past its late threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LateTicket {
    pub ticket: String,
    pub check: String,
    pub number: String,
    pub station: String,
    pub order_type: String,
    pub server: String,
    pub business_day: BusinessDay,
    pub hour: u8,
    pub shown_ms: i64,
    pub bumped_ms: i64,
    pub time_ms: i64,
    pub late_ms: i64,
    pub recalls: u32,
}

/// The hour before an instant: tickets bumped in `(now − 1 h, now]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastHour {
    pub now_ms: i64,
    pub all: Figures,
    pub by_station: Vec<Group>,
}

/// The service-time report of a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceTimeReport {
    pub period: Period,
    pub time_zone: String,
    pub cutoff_hour: u8,
    pub timers: TimerSettings,
    pub all: Figures,
    pub by_station: Vec<Group>,
    /// Local hours with tickets, in business-day order.
    pub by_hour: Vec<HourFigures>,
    pub by_item: Vec<Group>,
    pub by_server: Vec<Group>,
    pub by_order_type: Vec<Group>,
    pub station_hours: Vec<StationHours>,
    /// The distribution of kept ticket times, from zero to the longest, in bars of
    /// `bucket_ms`.
    pub bucket_ms: i64,
    pub distribution: Vec<Bucket>,
    /// Every late ticket is counted here; at most `late_list_max` are listed.
    pub late_count: usize,
    pub late_tickets: Vec<LateTicket>,
    pub last_hour: Option<LastHour>,
}

/// Figures being gathered from tickets that arrive in ascending time order.
#[derive(Debug, Default, Clone)]
struct Acc {
    kept: Vec<i64>,
    ignored: usize,
    past_alert: usize,
    past_late: usize,
    recalled: usize,
    recalls: u64,
}

impl Acc {
    fn add(&mut self, time_ms: i64, thresholds: Thresholds, recalls: u32) {
        if recalls > 0 {
            self.recalled += 1;
            self.recalls += u64::from(recalls);
        }
        if !stats::is_counted(time_ms) {
            self.ignored += 1;
            return;
        }
        self.kept.push(time_ms);
        let secs = time_ms / 1000;
        if secs >= i64::from(thresholds.alert_secs) {
            self.past_alert += 1;
        }
        if secs >= i64::from(thresholds.late_secs) {
            self.past_late += 1;
        }
    }

    /// The figures; `kept` must be ascending.
    fn figures(&self) -> Figures {
        debug_assert!(self.kept.is_sorted());
        Figures {
            tickets: self.kept.len(),
            ignored: self.ignored,
            median_ms: stats::nearest_rank(&self.kept, 50),
            p90_ms: stats::nearest_rank(&self.kept, 90),
            on_time: self.kept.len() - self.past_alert,
            past_alert: self.past_alert,
            past_late: self.past_late,
            recalled: self.recalled,
            recalls: self.recalls,
        }
    }
}

/// Names seen in a column, numbered in order of first sight; consecutive rows usually repeat the
/// previous name, which is checked first.
#[derive(Default)]
struct Names {
    list: Vec<String>,
    index: HashMap<String, usize>,
    last: Option<usize>,
}

impl Names {
    fn id(&mut self, name: &str) -> usize {
        if let Some(last) = self.last
            && self.list[last] == name
        {
            return last;
        }
        let id = match self.index.get(name) {
            Some(id) => *id,
            None => {
                self.list.push(name.to_owned());
                self.index.insert(name.to_owned(), self.list.len() - 1);
                self.list.len() - 1
            }
        };
        self.last = Some(id);
        id
    }
}

/// One finished ticket as the report reads it.
#[derive(Clone, Copy)]
struct Row {
    time_ms: i64,
    station: u32,
    server: u32,
    hour: u8,
    order_type: u8,
    recalls: u32,
    rowid: i64,
}

/// The order types' thresholds by their number in [`OrderType::ALL`], and one for a type this
/// build does not know.
fn thresholds_by_type(timers: &TimerSettings) -> ([Thresholds; 4], Thresholds) {
    (OrderType::ALL.map(|t| timers.for_type(t)), timers.default)
}

fn order_type_index(name: &str) -> Option<u8> {
    OrderType::ALL
        .iter()
        .position(|t| t.key() == name)
        .and_then(|i| u8::try_from(i).ok())
}

const UNKNOWN_TYPE: u8 = u8::MAX;

/// A text column, borrowed from the row (no copy).
fn text<'a>(r: &'a rusqlite::Row<'_>, i: usize) -> rusqlite::Result<&'a str> {
    r.get_ref(i)?.as_str().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// The service-time report of `period`.
pub fn service_time_report(
    db: &Connection,
    period: Period,
    options: &ServiceOptions,
) -> Result<ServiceTimeReport, ReportError> {
    check_schema(db)?;
    let settings = store_settings(db)?;
    let cutoff = settings.cutoff_hour().hour();
    let (by_type, fallback) = thresholds_by_type(&options.timers);
    let thresholds = |t: u8| by_type.get(usize::from(t)).copied().unwrap_or(fallback);

    let mut stations = Names::default();
    let mut servers = Names::default();
    let mut rows: Vec<Row> = Vec::new();
    {
        let mut stmt = db.prepare_cached(
            "SELECT station, hour, order_type, server, time_ms, recalls, rowid
             FROM proj_ticket_times INDEXED BY proj_ticket_times_report
             WHERE day BETWEEN ?1 AND ?2",
        )?;
        let mut q = stmt.query(params![period.from.number(), period.to.number()])?;
        let mut type_cache: Option<(String, u8)> = None;
        while let Some(r) = q.next()? {
            let station = stations.id(text(r, 0)?);
            let hour = u8::try_from(r.get::<_, i64>(1)?).unwrap_or(0) % 24;
            let type_name = text(r, 2)?;
            let order_type = match &type_cache {
                Some((name, t)) if name == type_name => *t,
                _ => {
                    let t = order_type_index(type_name).unwrap_or(UNKNOWN_TYPE);
                    type_cache = Some((type_name.to_owned(), t));
                    t
                }
            };
            let server = servers.id(text(r, 3)?);
            rows.push(Row {
                time_ms: r.get(4)?,
                recalls: u32::try_from(r.get::<_, i64>(5)?).unwrap_or(u32::MAX),
                rowid: r.get(6)?,
                station: u32::try_from(station).unwrap_or(u32::MAX),
                server: u32::try_from(server).unwrap_or(u32::MAX),
                hour,
                order_type,
            });
        }
    }
    rows.sort_unstable_by_key(|r| r.time_ms);

    let mut all = Acc::default();
    let mut by_station = vec![Acc::default(); stations.list.len()];
    let mut by_server = vec![Acc::default(); servers.list.len()];
    let mut by_type: HashMap<u8, Acc> = HashMap::new();
    let mut by_hour: [Acc; 24] = Default::default();
    let mut station_hours: Vec<[Option<Acc>; 24]> = vec![Default::default(); stations.list.len()];
    let bucket_ms = i64::from(options.bucket_secs.max(1)) * 1000;
    let mut distribution: Vec<usize> = Vec::new();
    let mut late: Vec<(i64, i64, i64)> = Vec::new();
    for r in &rows {
        let t = thresholds(r.order_type);
        all.add(r.time_ms, t, r.recalls);
        let s = r.station as usize;
        by_station[s].add(r.time_ms, t, r.recalls);
        by_server[r.server as usize].add(r.time_ms, t, r.recalls);
        by_type
            .entry(r.order_type)
            .or_default()
            .add(r.time_ms, t, r.recalls);
        let h = usize::from(r.hour);
        by_hour[h].add(r.time_ms, t, r.recalls);
        station_hours[s][h]
            .get_or_insert_with(Acc::default)
            .add(r.time_ms, t, r.recalls);
        if stats::is_counted(r.time_ms) {
            let bar = usize::try_from(r.time_ms / bucket_ms).unwrap_or(0);
            if distribution.len() <= bar {
                distribution.resize(bar + 1, 0);
            }
            distribution[bar] += 1;
            let late_ms = i64::from(t.late_secs) * 1000;
            if r.time_ms >= late_ms {
                late.push((r.time_ms, late_ms, r.rowid));
            }
        }
    }

    let groups = |names: &Names, accs: &[Acc]| -> Vec<Group> {
        let mut out: Vec<Group> = names
            .list
            .iter()
            .zip(accs)
            .map(|(key, acc)| Group {
                key: key.clone(),
                figures: acc.figures(),
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out
    };
    let hour_list = |accs: &[Option<&Acc>; 24]| -> Vec<HourFigures> {
        let mut out: Vec<HourFigures> = (0..24u8)
            .filter_map(|h| {
                accs[usize::from(h)].map(|acc| HourFigures {
                    hour: h,
                    figures: acc.figures(),
                })
            })
            .collect();
        out.sort_by_key(|h| hour_rank(h.hour, cutoff));
        out
    };
    let mut by_order_type: Vec<Group> = by_type
        .iter()
        .map(|(t, acc)| Group {
            key: OrderType::ALL
                .get(usize::from(*t))
                .map_or("other", |t| t.key())
                .to_owned(),
            figures: acc.figures(),
        })
        .collect();
    by_order_type.sort_by(|a, b| a.key.cmp(&b.key));
    let hours_of_all: [Option<&Acc>; 24] =
        std::array::from_fn(|h| Some(&by_hour[h]).filter(|a| a.kept.len() + a.ignored > 0));
    let mut station_series: Vec<StationHours> = stations
        .list
        .iter()
        .zip(&station_hours)
        .map(|(station, hours)| StationHours {
            station: station.clone(),
            hours: hour_list(&std::array::from_fn(|h| hours[h].as_ref())),
        })
        .collect();
    station_series.sort_by(|a, b| a.station.cmp(&b.station));

    late.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.2.cmp(&b.2)));
    let late_count = late.len();
    let late_tickets = late
        .iter()
        .take(options.late_list_max)
        .map(|(_, late_ms, rowid)| late_ticket(db, *rowid, *late_ms))
        .collect::<Result<Vec<_>, _>>()?;

    let distribution = distribution
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let from_ms = i64::try_from(i).unwrap_or(i64::MAX / 2) * bucket_ms;
            Bucket {
                from_ms,
                to_ms: from_ms + bucket_ms,
                tickets: *n,
            }
        })
        .collect();
    Ok(ServiceTimeReport {
        period,
        time_zone: settings.time_zone().name().to_owned(),
        cutoff_hour: cutoff,
        timers: options.timers.clone(),
        all: all.figures(),
        by_station: groups(&stations, &by_station),
        by_hour: hour_list(&hours_of_all),
        by_item: by_item(db, period, &thresholds)?,
        by_server: groups(&servers, &by_server),
        by_order_type,
        station_hours: station_series,
        bucket_ms,
        distribution,
        late_count,
        late_tickets,
        last_hour: options
            .now_ms
            .map(|now| last_hour(db, now, &thresholds))
            .transpose()?,
    })
}

fn late_ticket(db: &Connection, rowid: i64, late_ms: i64) -> Result<LateTicket, ReportError> {
    let row = db
        .prepare_cached(
            "SELECT ticket_id, check_id, number, station, order_type, server, day, hour,
                    shown_ms, bumped_ms, time_ms, recalls
             FROM proj_ticket_times WHERE rowid = ?1",
        )?
        .query_row([rowid], |r| {
            Ok(TicketTimeRow {
                ticket: r.get(0)?,
                check: r.get(1)?,
                number: r.get(2)?,
                station: r.get(3)?,
                order_type: r.get(4)?,
                server: r.get(5)?,
                day: r.get(6)?,
                hour: r.get(7)?,
                shown_ms: r.get(8)?,
                bumped_ms: r.get(9)?,
                time_ms: r.get(10)?,
                recalls: r.get(11)?,
            })
        })?;
    Ok(LateTicket {
        business_day: BusinessDay::from_number(row.day)?,
        ticket: row.ticket,
        check: row.check,
        number: row.number,
        station: row.station,
        order_type: row.order_type,
        server: row.server,
        hour: row.hour,
        shown_ms: row.shown_ms,
        bumped_ms: row.bumped_ms,
        time_ms: row.time_ms,
        late_ms,
        recalls: row.recalls,
    })
}

/// Ticket time by item over `period`.
fn by_item(
    db: &Connection,
    period: Period,
    thresholds: &dyn Fn(u8) -> Thresholds,
) -> Result<Vec<Group>, ReportError> {
    let mut items = Names::default();
    let mut rows: Vec<(i64, u32, u8, u32)> = Vec::new();
    let mut stmt = db.prepare_cached(
        "SELECT item, order_type, time_ms, recalls
         FROM proj_ticket_items INDEXED BY proj_ticket_items_report
         WHERE day BETWEEN ?1 AND ?2",
    )?;
    let mut q = stmt.query(params![period.from.number(), period.to.number()])?;
    let mut type_cache: Option<(String, u8)> = None;
    while let Some(r) = q.next()? {
        let item = items.id(text(r, 0)?);
        let type_name = text(r, 1)?;
        let order_type = match &type_cache {
            Some((name, t)) if name == type_name => *t,
            _ => {
                let t = order_type_index(type_name).unwrap_or(UNKNOWN_TYPE);
                type_cache = Some((type_name.to_owned(), t));
                t
            }
        };
        rows.push((
            r.get(2)?,
            u32::try_from(item).unwrap_or(u32::MAX),
            order_type,
            u32::try_from(r.get::<_, i64>(3)?).unwrap_or(u32::MAX),
        ));
    }
    rows.sort_unstable_by_key(|r| r.0);
    let mut accs = vec![Acc::default(); items.list.len()];
    for (time_ms, item, order_type, recalls) in rows {
        accs[item as usize].add(time_ms, thresholds(order_type), recalls);
    }
    let mut out: Vec<Group> = items
        .list
        .into_iter()
        .zip(accs)
        .map(|(key, acc)| Group {
            key,
            figures: acc.figures(),
        })
        .collect();
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

/// Tickets bumped in the hour before `now_ms`, by station.
fn last_hour(
    db: &Connection,
    now_ms: i64,
    thresholds: &dyn Fn(u8) -> Thresholds,
) -> Result<LastHour, ReportError> {
    let mut stmt = db.prepare_cached(
        "SELECT station, order_type, time_ms, recalls FROM proj_ticket_times
         WHERE bumped_ms > ?1 AND bumped_ms <= ?2",
    )?;
    let mut rows: Vec<(i64, String, u8, u32)> = stmt
        .query_map(params![now_ms - 3_600_000, now_ms], |r| {
            let order_type: String = r.get(1)?;
            Ok((
                r.get::<_, i64>(2)?,
                r.get::<_, String>(0)?,
                order_type_index(&order_type).unwrap_or(UNKNOWN_TYPE),
                r.get::<_, u32>(3)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    rows.sort_unstable_by_key(|r| r.0);
    let mut all = Acc::default();
    let mut stations: std::collections::BTreeMap<String, Acc> = Default::default();
    for (time_ms, station, order_type, recalls) in rows {
        let t = thresholds(order_type);
        all.add(time_ms, t, recalls);
        stations
            .entry(station)
            .or_default()
            .add(time_ms, t, recalls);
    }
    Ok(LastHour {
        now_ms,
        all: all.figures(),
        by_station: stations
            .into_iter()
            .map(|(key, acc)| Group {
                key,
                figures: acc.figures(),
            })
            .collect(),
    })
}

/// Every finished ticket of a period, for the ticket-times export: in order of showing.
pub(crate) fn ticket_rows(
    db: &Connection,
    period: Period,
) -> Result<Vec<TicketTimeRow>, ReportError> {
    check_schema(db)?;
    let mut stmt = db.prepare_cached(
        "SELECT ticket_id, check_id, number, station, order_type, server, day, hour, shown_ms,
                bumped_ms, time_ms, recalls
         FROM proj_ticket_times WHERE day BETWEEN ?1 AND ?2 ORDER BY shown_ms, ticket_id",
    )?;
    let rows = stmt
        .query_map(params![period.from.number(), period.to.number()], |r| {
            Ok(TicketTimeRow {
                ticket: r.get(0)?,
                check: r.get(1)?,
                number: r.get(2)?,
                station: r.get(3)?,
                order_type: r.get(4)?,
                server: r.get(5)?,
                day: r.get(6)?,
                hour: r.get(7)?,
                shown_ms: r.get(8)?,
                bumped_ms: r.get(9)?,
                time_ms: r.get(10)?,
                recalls: r.get(11)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// One finished ticket, as exported.
#[derive(Debug, Clone)]
pub(crate) struct TicketTimeRow {
    pub ticket: String,
    pub check: String,
    pub number: String,
    pub station: String,
    pub order_type: String,
    pub server: String,
    pub day: u32,
    pub hour: u8,
    pub shown_ms: i64,
    pub bumped_ms: i64,
    pub time_ms: i64,
    pub recalls: u32,
}

/// The band a ticket time falls in for an order type (by its name), under `timers`.
pub(crate) fn band_of(timers: &TimerSettings, order_type: &str, time_ms: i64) -> &'static str {
    if !stats::is_counted(time_ms) {
        return "ignored";
    }
    let t = order_type_index(order_type)
        .and_then(|i| OrderType::ALL.get(usize::from(i)).copied())
        .map_or(timers.default, |t| timers.for_type(t));
    match t.band(time_ms) {
        crate::kitchen::board::Band::OnTime => "on_time",
        crate::kitchen::board::Band::Alert => "alert",
        crate::kitchen::board::Band::Late => "late",
    }
}

/// The store settings the report was made with (for callers that print days and hours).
pub fn settings(db: &Connection) -> Result<StoreSettings, ReportError> {
    Ok(store_settings(db)?)
}
