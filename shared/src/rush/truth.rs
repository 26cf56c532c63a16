//! What a rush did, as the driver saw it (its ground truth), and the report figures that follow
//! from it.
//!
//! The driver writes down what it ordered, voided, comped and paid, and when each screen first
//! listed and finally bumped each ticket, from its own requests and observations. The figures
//! here are computed from that record alone, with the definitions the manager's reports
//! document (`pass report service-times`, `pass report sales`), and nothing of Pass's own
//! arithmetic: a test compares them with what the reports say.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::Money;

/// A line as ordered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthLine {
    pub line: String,
    pub item: String,
    pub modifiers: Vec<String>,
    pub qty: u32,
    /// The item's price plus its modifiers' deltas, from the menu.
    pub unit_price: Money,
    pub course: u8,
    pub seat: Option<u32>,
    pub stations: Vec<String>,
    pub voided: bool,
    pub comped: bool,
}

/// A payment handed over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthPayment {
    pub tender: String,
    pub amount: Money,
    pub tip: Money,
    pub at_ms: i64,
}

/// One check, from its opening to its close.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthCheck {
    pub party: usize,
    pub check: String,
    pub number: String,
    /// The staff id of the server who opened it.
    pub server: String,
    pub guests: u32,
    pub order_type: String,
    pub table: Option<String>,
    pub opened_ms: i64,
    pub lines: Vec<TruthLine>,
    /// Course 2 was sent held.
    pub held_course: bool,
    pub split: Option<String>,
    pub payments: Vec<TruthPayment>,
    pub closed_ms: Option<i64>,
}

/// One station ticket as its screen listed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthTicket {
    pub station: String,
    pub ticket: String,
    pub check: String,
    pub course: u8,
    pub order_type: String,
    /// When the screen first listed it (not held).
    pub shown_ms: i64,
    /// The last bump; `None` while open.
    pub bumped_ms: Option<i64>,
    pub recalls: u32,
}

/// An order a terminal refused (an 86'd item), as expected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthRefusal {
    pub party: usize,
    pub item: String,
    pub at_ms: i64,
    pub reason: String,
}

/// Everything the driver did and saw.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truth {
    pub seed: u64,
    pub start_ms: i64,
    pub end_ms: i64,
    pub checks: Vec<TruthCheck>,
    pub tickets: Vec<TruthTicket>,
    pub refused: Vec<TruthRefusal>,
    /// Items 86'd by hand during the service, and when.
    pub eighty_sixed: Vec<(String, i64)>,
    /// Expo bumps: (check, course, at).
    pub expo_bumps: Vec<(String, u8, i64)>,
}

/// Service-time figures of a set of tickets (the report's definitions).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TimeFigures {
    pub tickets: usize,
    pub ignored: usize,
    pub median_ms: Option<i64>,
    pub p90_ms: Option<i64>,
    pub past_alert: usize,
    pub past_late: usize,
    pub recalled: usize,
    pub recalls: u64,
}

/// Money and quantities of the lines of one item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ItemFigures {
    pub qty: u64,
    pub gross: Money,
    pub comps: Money,
}

/// Lines voided or comped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Adjusted {
    pub lines: u64,
    pub qty: u64,
    pub value: Money,
}

/// The figures the reports must show for this rush.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Implied {
    pub all: TimeFigures,
    pub by_station: BTreeMap<String, TimeFigures>,
    /// Closed checks.
    pub checks: u64,
    pub guests: u64,
    pub gross: Money,
    pub comps: Adjusted,
    pub voids: Adjusted,
    pub by_item: BTreeMap<String, ItemFigures>,
    /// Closed checks per server.
    pub checks_by_server: BTreeMap<String, u64>,
    /// Payments per tender: (count, amount, tips).
    pub tenders: BTreeMap<String, (u64, Money, Money)>,
    pub payments: Money,
    pub tips: Money,
}

/// Trimmed as outliers by the reports: under 10 s or over 4 h.
const SHORTEST_MS: i64 = 10_000;
const LONGEST_MS: i64 = 4 * 3_600_000;
/// The kitchen screens' default thresholds: yellow at 5 minutes, red at 8.
const ALERT_MS: i64 = 5 * 60_000;
const LATE_MS: i64 = 8 * 60_000;

/// The value at `percent` of sorted `v` by nearest rank (the smallest value with at least
/// `percent` % of the values at or below it).
fn nearest_rank(sorted: &[i64], percent: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

fn add(a: Money, b: Money) -> Money {
    Money::from_minor(a.minor_units().unwrap_or(0) + b.minor_units().unwrap_or(0))
}

fn times<'a>(tickets: impl Iterator<Item = &'a TruthTicket>) -> TimeFigures {
    let mut kept = Vec::new();
    let mut f = TimeFigures::default();
    for t in tickets {
        let Some(bumped) = t.bumped_ms else { continue };
        f.recalls += u64::from(t.recalls);
        if t.recalls > 0 {
            f.recalled += 1;
        }
        let time = bumped - t.shown_ms;
        if !(SHORTEST_MS..=LONGEST_MS).contains(&time) {
            f.ignored += 1;
            continue;
        }
        if time >= ALERT_MS {
            f.past_alert += 1;
        }
        if time >= LATE_MS {
            f.past_late += 1;
        }
        kept.push(time);
    }
    kept.sort_unstable();
    f.tickets = kept.len();
    f.median_ms = nearest_rank(&kept, 50);
    f.p90_ms = nearest_rank(&kept, 90);
    f
}

impl Truth {
    /// The figures the service-time and sales reports must show for this rush.
    pub fn implied(&self) -> Implied {
        let mut out = Implied {
            all: times(self.tickets.iter()),
            ..Implied::default()
        };
        let stations: std::collections::BTreeSet<&str> =
            self.tickets.iter().map(|t| t.station.as_str()).collect();
        for s in stations {
            out.by_station.insert(
                s.to_owned(),
                times(self.tickets.iter().filter(|t| t.station == s)),
            );
        }
        for c in self.checks.iter().filter(|c| c.closed_ms.is_some()) {
            out.checks += 1;
            out.guests += u64::from(c.guests);
            *out.checks_by_server.entry(c.server.clone()).or_insert(0) += 1;
            for l in &c.lines {
                let value =
                    Money::from_minor(l.unit_price.minor_units().unwrap_or(0) * i64::from(l.qty));
                if l.voided {
                    out.voids.lines += 1;
                    out.voids.qty += u64::from(l.qty);
                    out.voids.value = add(out.voids.value, value);
                    continue;
                }
                out.gross = add(out.gross, value);
                let item = out.by_item.entry(l.item.clone()).or_default();
                item.qty += u64::from(l.qty);
                item.gross = add(item.gross, value);
                if l.comped {
                    out.comps.lines += 1;
                    out.comps.qty += u64::from(l.qty);
                    out.comps.value = add(out.comps.value, value);
                    item.comps = add(item.comps, value);
                }
            }
            for p in &c.payments {
                let t =
                    out.tenders
                        .entry(p.tender.clone())
                        .or_insert((0, Money::ZERO, Money::ZERO));
                t.0 += 1;
                t.1 = add(t.1, p.amount);
                t.2 = add(t.2, p.tip);
                out.payments = add(out.payments, p.amount);
                out.tips = add(out.tips, p.tip);
            }
        }
        out
    }

    /// The expected station tickets: (check, station, course) for every check sent, from what
    /// was ordered (voided lines included: a void strikes a line through, the ticket stays).
    pub fn expected_tickets(&self) -> std::collections::BTreeSet<(String, String, u8)> {
        self.checks
            .iter()
            .flat_map(|c| {
                c.lines.iter().flat_map(move |l| {
                    l.stations
                        .iter()
                        .map(move |s| (c.check.clone(), s.clone(), l.course))
                })
            })
            .collect()
    }

    /// A few lines for people: checks, tickets, sales, and each station's ticket times.
    pub fn summary(&self) -> String {
        let f = self.implied();
        let minutes = |ms: Option<i64>| {
            ms.map(|ms| format!("{}:{:02}", ms / 60_000, (ms % 60_000) / 1000))
                .unwrap_or_else(|| "-".to_owned())
        };
        let mut out = format!(
            "{} checks closed ({} guests), {} station tickets bumped, {} still open\n\
             sales {} (voids {}: {}, comps {}: {}), paid {} + tips {}\n",
            f.checks,
            f.guests,
            self.tickets
                .iter()
                .filter(|t| t.bumped_ms.is_some())
                .count(),
            self.tickets
                .iter()
                .filter(|t| t.bumped_ms.is_none())
                .count(),
            f.gross,
            f.voids.lines,
            f.voids.value,
            f.comps.lines,
            f.comps.value,
            f.payments,
            f.tips,
        );
        for (station, t) in &f.by_station {
            out.push_str(&format!(
                "{station:<12} {:>4} tickets  median {}  p90 {}  past 5 min {}  past 8 min {}\n",
                t.tickets,
                minutes(t.median_ms),
                minutes(t.p90_ms),
                t.past_alert,
                t.past_late
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(station: &str, shown: i64, bumped: i64, recalls: u32) -> TruthTicket {
        TruthTicket {
            station: station.into(),
            ticket: format!("{station}-{shown}"),
            check: "c".into(),
            course: 1,
            order_type: "dine_in".into(),
            shown_ms: shown,
            bumped_ms: Some(bumped),
            recalls,
        }
    }

    #[test]
    fn ticket_times_follow_the_reports_definitions() {
        let truth = Truth {
            tickets: vec![
                ticket("grill", 0, 4 * 60_000, 0),
                ticket("grill", 0, 5 * 60_000, 0),
                ticket("grill", 0, 9 * 60_000, 1),
                ticket("grill", 0, 5_000, 0),
                ticket("bar", 0, 60_000, 0),
            ],
            ..Truth::default()
        };
        let f = truth.implied();
        let grill = &f.by_station["grill"];
        assert_eq!((grill.tickets, grill.ignored), (3, 1));
        assert_eq!(grill.median_ms, Some(5 * 60_000));
        assert_eq!(grill.p90_ms, Some(9 * 60_000));
        assert_eq!((grill.past_alert, grill.past_late), (2, 1));
        assert_eq!((grill.recalled, grill.recalls), (1, 1));
        assert_eq!(f.all.tickets, 4);
        assert_eq!(nearest_rank(&[1, 2, 3, 4], 50), Some(2));
        assert_eq!(nearest_rank(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90), Some(9));
    }

    #[test]
    fn sales_leave_voids_out_and_count_comps_in() {
        let line = |item: &str, cents: i64, voided: bool, comped: bool| TruthLine {
            line: item.into(),
            item: item.into(),
            modifiers: vec![],
            qty: 1,
            unit_price: Money::from_minor(cents),
            course: 1,
            seat: None,
            stations: vec!["grill".into()],
            voided,
            comped,
        };
        let truth = Truth {
            checks: vec![TruthCheck {
                party: 0,
                check: "c1".into(),
                number: "A1".into(),
                server: "sam".into(),
                guests: 2,
                order_type: "dine_in".into(),
                table: Some("4".into()),
                opened_ms: 0,
                lines: vec![
                    line("burger", 1450, false, false),
                    line("fries", 450, true, false),
                    line("cola", 300, false, true),
                ],
                held_course: false,
                split: None,
                payments: vec![TruthPayment {
                    tender: "cash".into(),
                    amount: Money::from_minor(1595),
                    tip: Money::from_minor(200),
                    at_ms: 1,
                }],
                closed_ms: Some(2),
            }],
            ..Truth::default()
        };
        let f = truth.implied();
        assert_eq!(f.gross, Money::from_minor(1750));
        assert_eq!((f.voids.lines, f.voids.value), (1, Money::from_minor(450)));
        assert_eq!((f.comps.lines, f.comps.value), (1, Money::from_minor(300)));
        assert_eq!(f.by_item["cola"].comps, Money::from_minor(300));
        assert!(!f.by_item.contains_key("fries"));
        assert_eq!(
            f.tenders["cash"],
            (1, Money::from_minor(1595), Money::from_minor(200))
        );
        assert_eq!(f.checks_by_server["sam"], 1);
    }
}
