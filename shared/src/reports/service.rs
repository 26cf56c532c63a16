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
use crate::projection::report_facts::chunk::{Chunk, OTHER_TYPE};
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

/// Figures being gathered in two passes: every ticket is counted ([`Acc::count`]), then the
/// kept times are offered in ascending order ([`Acc::rank`]) and the ones at the median's and
/// the 90th percentile's ranks are kept. Nothing else is stored, so a million tickets in a
/// hundred groups cost a few counters each.
#[derive(Debug, Default, Clone)]
struct Acc {
    kept: usize,
    ignored: usize,
    past_alert: usize,
    past_late: usize,
    recalled: usize,
    recalls: u64,
    seen: usize,
    /// The ranks of the median and of the 90th percentile, once every ticket was counted.
    ranks: (usize, usize),
    median_ms: Option<i64>,
    p90_ms: Option<i64>,
}

impl Acc {
    fn count(&mut self, time_ms: i64, thresholds: Thresholds, recalls: u32) {
        if recalls > 0 {
            self.recalled += 1;
            self.recalls += u64::from(recalls);
        }
        if !stats::is_counted(time_ms) {
            self.ignored += 1;
            return;
        }
        self.kept += 1;
        let secs = time_ms / 1000;
        if secs >= i64::from(thresholds.alert_secs) {
            self.past_alert += 1;
        }
        if secs >= i64::from(thresholds.late_secs) {
            self.past_late += 1;
        }
    }

    /// Every ticket was counted: the ranks to look for.
    fn settle(&mut self) {
        self.ranks = (
            stats::percentile_rank(self.kept, 50).unwrap_or(0),
            stats::percentile_rank(self.kept, 90).unwrap_or(0),
        );
    }

    /// The next kept time in ascending order (after [`Acc::settle`]).
    fn rank(&mut self, time_ms: i64) {
        self.seen += 1;
        if self.seen == self.ranks.0 {
            self.median_ms = Some(time_ms);
        }
        if self.seen == self.ranks.1 {
            self.p90_ms = Some(time_ms);
        }
    }

    fn is_empty(&self) -> bool {
        self.kept + self.ignored == 0
    }

    fn figures(&self) -> Figures {
        Figures {
            tickets: self.kept,
            ignored: self.ignored,
            median_ms: self.median_ms,
            p90_ms: self.p90_ms,
            on_time: self.kept - self.past_alert,
            past_alert: self.past_alert,
            past_late: self.past_late,
            recalled: self.recalled,
            recalls: self.recalls,
        }
    }
}

const TYPES: usize = OrderType::ALL.len() + 1;

/// Every group's figures: all tickets, by station, server, order type, hour, station and hour,
/// item. Lists grow as names are met.
#[derive(Default)]
struct Accs {
    all: Acc,
    stations: Vec<Acc>,
    servers: Vec<Acc>,
    types: [Acc; TYPES],
    hours: [Acc; 24],
    station_hours: Vec<[Acc; 24]>,
    items: Vec<Acc>,
}

impl Accs {
    fn grow(&mut self, stations: usize, servers: usize, items: usize) {
        if self.stations.len() < stations {
            self.stations.resize_with(stations, Acc::default);
            self.station_hours.resize_with(stations, Default::default);
        }
        if self.servers.len() < servers {
            self.servers.resize_with(servers, Acc::default);
        }
        if self.items.len() < items {
            self.items.resize_with(items, Acc::default);
        }
    }

    /// Calls `f` on every group a ticket counts in.
    fn each(&mut self, k: &Kept, items: &[u32], mut f: impl FnMut(&mut Acc)) {
        let s = k.station as usize;
        let h = usize::from(k.hour);
        f(&mut self.all);
        f(&mut self.stations[s]);
        f(&mut self.servers[k.server as usize]);
        f(&mut self.types[usize::from(k.order_type).min(TYPES - 1)]);
        f(&mut self.hours[h]);
        f(&mut self.station_hours[s][h]);
        for item in items {
            f(&mut self.items[*item as usize]);
        }
    }

    fn settle(&mut self) {
        let lists = [
            &mut self.stations[..],
            &mut self.servers[..],
            &mut self.types[..],
            &mut self.hours[..],
            &mut self.items[..],
        ];
        for list in lists {
            list.iter_mut().for_each(Acc::settle);
        }
        self.all.settle();
        for hours in &mut self.station_hours {
            hours.iter_mut().for_each(Acc::settle);
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

/// A ticket as the report reads it, small enough to sort a million by time quickly.
#[derive(Clone, Copy)]
struct Kept {
    time_ms: u32,
    station: u32,
    server: u32,
    items_at: u32,
    hour: u8,
    order_type: u8,
    items_len: u8,
}

/// Sorts kept tickets by time: a least-significant-digit radix sort, 12 bits a pass (two passes
/// for times under 4.6 hours), several times faster than a comparison sort for a million.
fn sort_by_time(mut kept: Vec<Kept>) -> Vec<Kept> {
    const BITS: u32 = 12;
    const BUCKETS: usize = 1 << BITS;
    let max = kept.iter().map(|k| k.time_ms).max().unwrap_or(0);
    let mut other = kept.clone();
    let mut shift = 0;
    while shift < 32 && (max >> shift) > 0 {
        let digit = |k: &Kept| ((k.time_ms >> shift) as usize) & (BUCKETS - 1);
        let mut starts = vec![0usize; BUCKETS + 1];
        for k in &kept {
            starts[digit(k) + 1] += 1;
        }
        for i in 1..=BUCKETS {
            starts[i] += starts[i - 1];
        }
        for k in &kept {
            let d = digit(k);
            other[starts[d]] = *k;
            starts[d] += 1;
        }
        std::mem::swap(&mut kept, &mut other);
        shift += BITS;
    }
    kept
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

const UNKNOWN_TYPE: u8 = OTHER_TYPE;

/// A name's number as a report row holds it.
fn number(id: usize) -> u32 {
    u32::try_from(id).unwrap_or(u32::MAX)
}

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
    let mut items = Names::default();
    let mut accs = Accs::default();
    let mut item_list: Vec<u32> = Vec::new();
    // The kept tickets (10 s to 4 h: under 2^32 ms), to be sorted by time.
    let mut kept: Vec<Kept> = Vec::new();
    let bucket_ms = i64::from(options.bucket_secs.max(1)) * 1000;
    let mut distribution: Vec<usize> = Vec::new();
    let mut late: Vec<(i64, i64, i64)> = Vec::new();
    // First pass, as the chunks are read: count every ticket in its groups.
    {
        let mut stmt = db.prepare_cached(
            "SELECT station, hour, data FROM proj_ticket_chunks WHERE day BETWEEN ?1 AND ?2",
        )?;
        let mut q = stmt.query(params![period.from.number(), period.to.number()])?;
        while let Some(r) = q.next()? {
            let station = number(stations.id(text(r, 0)?));
            let hour = u8::try_from(r.get::<_, i64>(1)?).unwrap_or(0) % 24;
            let data = r.get_ref(2)?.as_blob().map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    2,
                    rusqlite::types::Type::Blob,
                    Box::new(e),
                )
            })?;
            let chunk = Chunk::read(data).map_err(|e| ReportError::Corrupt(e.to_string()))?;
            let server_numbers: Vec<u32> = chunk
                .servers
                .iter()
                .map(|n| number(servers.id(n)))
                .collect();
            let item_numbers: Vec<u32> = chunk.items.iter().map(|n| number(items.id(n))).collect();
            accs.grow(stations.list.len(), servers.list.len(), items.list.len());
            chunk
                .for_each(|t| {
                    let items_at = item_list.len();
                    item_list.extend(t.item_indexes().map(|i| item_numbers[usize::from(i)]));
                    let k = Kept {
                        time_ms: u32::try_from(t.time_ms).unwrap_or(0),
                        station,
                        server: server_numbers[usize::from(t.server)],
                        items_at: u32::try_from(items_at).unwrap_or(u32::MAX),
                        hour,
                        order_type: t.order_type,
                        items_len: u8::try_from(item_list.len() - items_at).unwrap_or(u8::MAX),
                    };
                    let th = thresholds(t.order_type);
                    accs.each(&k, &item_list[items_at..], |a| {
                        a.count(t.time_ms, th, t.recalls)
                    });
                    if stats::is_counted(t.time_ms) {
                        kept.push(k);
                        let bar = usize::try_from(t.time_ms / bucket_ms).unwrap_or(0);
                        if distribution.len() <= bar {
                            distribution.resize(bar + 1, 0);
                        }
                        distribution[bar] += 1;
                        let late_ms = i64::from(th.late_secs) * 1000;
                        if t.time_ms >= late_ms {
                            late.push((t.time_ms, late_ms, t.rowid));
                        }
                    }
                })
                .map_err(|e| ReportError::Corrupt(e.to_string()))?;
        }
    }
    // Second pass, in time order: each group keeps the times at its percentiles' ranks.
    accs.settle();
    let kept = sort_by_time(kept);
    for k in &kept {
        let at = k.items_at as usize;
        let time_ms = i64::from(k.time_ms);
        accs.each(k, &item_list[at..at + usize::from(k.items_len)], |a| {
            a.rank(time_ms)
        });
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
    let hour_list = |accs: &[Acc; 24]| -> Vec<HourFigures> {
        let mut out: Vec<HourFigures> = (0..24u8)
            .zip(accs)
            .filter(|(_, a)| !a.is_empty())
            .map(|(hour, a)| HourFigures {
                hour,
                figures: a.figures(),
            })
            .collect();
        out.sort_by_key(|h| hour_rank(h.hour, cutoff));
        out
    };
    let mut by_order_type: Vec<Group> = accs
        .types
        .iter()
        .enumerate()
        .filter(|(_, a)| !a.is_empty())
        .map(|(t, a)| Group {
            key: OrderType::ALL
                .get(t)
                .map_or("other", |t| t.key())
                .to_owned(),
            figures: a.figures(),
        })
        .collect();
    by_order_type.sort_by(|a, b| a.key.cmp(&b.key));
    let mut station_series: Vec<StationHours> = stations
        .list
        .iter()
        .zip(&accs.station_hours)
        .map(|(station, hours)| StationHours {
            station: station.clone(),
            hours: hour_list(hours),
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
        all: accs.all.figures(),
        by_station: groups(&stations, &accs.stations),
        by_hour: hour_list(&accs.hours),
        by_item: groups(&items, &accs.items),
        by_server: groups(&servers, &accs.servers),
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
    for (time_ms, station, order_type, recalls) in &rows {
        let t = thresholds(*order_type);
        all.count(*time_ms, t, *recalls);
        stations
            .entry(station.clone())
            .or_default()
            .count(*time_ms, t, *recalls);
    }
    all.settle();
    for acc in stations.values_mut() {
        acc.settle();
    }
    for (time_ms, station, _, _) in rows.iter().filter(|r| stats::is_counted(r.0)) {
        all.rank(*time_ms);
        if let Some(acc) = stations.get_mut(station) {
            acc.rank(*time_ms);
        }
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn two_passes_find_the_same_percentiles_as_sorting_every_time(
            times in prop::collection::vec(-1_000i64..20_000_000, 0..300),
        ) {
            let mut acc = Acc::default();
            for t in &times {
                acc.count(*t, Thresholds::default(), 0);
            }
            acc.settle();
            let mut kept: Vec<i64> = times.iter().copied().filter(|t| stats::is_counted(*t)).collect();
            kept.sort_unstable();
            for t in &kept {
                acc.rank(*t);
            }
            let expected = stats::service_times(times.iter().copied());
            let f = acc.figures();
            prop_assert_eq!(
                (f.tickets, f.ignored, f.median_ms, f.p90_ms),
                (expected.count, expected.ignored, expected.median_ms, expected.p90_ms)
            );
        }

        #[test]
        fn the_radix_sort_orders_by_time(times in prop::collection::vec(0u32..u32::MAX, 0..500)) {
            let kept: Vec<Kept> = times
                .iter()
                .enumerate()
                .map(|(i, t)| Kept {
                    time_ms: *t,
                    station: u32::try_from(i).unwrap_or(0),
                    server: 0,
                    items_at: 0,
                    hour: 0,
                    order_type: 0,
                    items_len: 0,
                })
                .collect();
            let sorted = sort_by_time(kept);
            let mut expected = times.clone();
            expected.sort_unstable();
            prop_assert_eq!(sorted.iter().map(|k| k.time_ms).collect::<Vec<_>>(), expected);
            // Stable: equal times keep their order.
            for w in sorted.windows(2) {
                if w[0].time_ms == w[1].time_ms {
                    prop_assert!(w[0].station < w[1].station);
                }
            }
        }
    }
}
