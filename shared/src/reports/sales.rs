//! Sales over a period, and the Z report that closes a business day.
//!
//! A **sale** is a closed check, placed on a business day by the rules of
//! [`crate::projection::day`] (so every device places it the same): its own day, or — when it
//! reached the closing device after that day's Z — "late, after Z", listed in the next day's
//! report and not in the Z it missed.
//!
//! # Figures
//!
//! - `gross`: Σ lines as listed (price × quantity, modifiers included) of lines not voided;
//! - `comps`: Σ comped lines as listed; `line_discounts`, `check_discounts`: money off;
//! - `net_sales = gross − comps − line_discounts − check_discounts` (the checks' subtotals less
//!   their discounts);
//! - `tax`: all tax, added on top or contained, rounded once per rate per check as the checks
//!   computed it; `tax_added` is the part added on top;
//! - `total = net_sales + tax_added`: what the guests were asked to pay, before tips;
//! - payments by tender: taken (and stored offline) payments of these sales, their tips, and
//!   refunds; open tabs and payments declined on upload are not payments;
//! - voids: lines taken off (count, quantity and their listed value), never in the other
//!   figures.
//!
//! Items and categories show gross, comps, line discounts and net (`gross − comps − line
//! discounts`); a discount on a whole check is not spread over items, it is in
//! `check_discounts`. Sales by hour are by the store's local hour of the closing; by server, the
//! check's owner.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{Connection, params};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::domain::Money;
use crate::domain::business_day::BusinessDay;
use crate::projection::day::{DayClose, SaleDay, day_close, place_sale};
use crate::projection::store_settings;

use super::{Period, ReportError, add, check_schema, hour_rank, money, stock};

/// Quantities and money of a set of lines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LineFigures {
    /// Quantity sold (comped included, voided not).
    pub qty: u64,
    pub gross: Money,
    pub comps: Money,
    pub discounts: Money,
    pub net: Money,
}

/// The lines of one item or category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineGroup {
    pub key: String,
    pub name: String,
    pub figures: LineFigures,
}

/// The sales of one server or local hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckGroup {
    pub key: String,
    pub checks: u64,
    pub net_sales: Money,
    pub total: Money,
    pub tips: Money,
}

/// One tax rate's base and tax.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaxFigures {
    pub rate: String,
    pub name: String,
    pub percent: Decimal,
    pub inclusive: bool,
    pub base: Money,
    pub tax: Money,
}

/// The payments of one tender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenderFigures {
    pub tender: String,
    pub payments: u64,
    pub amount: Money,
    pub tips: Money,
    pub refunds: Money,
}

/// Voided or comped lines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Adjustments {
    pub lines: u64,
    pub qty: u64,
    pub value: Money,
}

/// One sale, in brief.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SaleBrief {
    pub check: String,
    pub number: String,
    pub server: String,
    pub order_type: String,
    pub closed_ms: i64,
    pub total: Money,
    pub paid: Money,
}

/// A sale that arrived after its day's Z: listed in the next day's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LateSale {
    pub sale: SaleBrief,
    /// The day it was made on (whose Z it missed).
    pub made_on: BusinessDay,
}

/// A line sold on an ingredient that had already run out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OversoldItem {
    pub check: String,
    pub number: String,
    pub line: String,
    pub item: String,
    pub name: String,
    pub ingredients: Vec<String>,
}

/// A cash drawer counted: what was in it against what the device expected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DrawerCount {
    pub drawer: String,
    pub at_ms: i64,
    pub counted: Money,
    pub expected: Money,
    /// `counted − expected`: positive over, negative short.
    pub over_short: Money,
    pub staff: String,
}

/// The totals of a set of sales (see the module documentation).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SalesTotals {
    pub checks: u64,
    pub guests: u64,
    pub gross: Money,
    pub comps: Money,
    pub line_discounts: Money,
    pub check_discounts: Money,
    pub net_sales: Money,
    pub tax: Money,
    pub tax_added: Money,
    pub total: Money,
    pub payments: Money,
    pub tips: Money,
    pub refunds: Money,
}

/// The sales report of a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SalesReport {
    pub period: Period,
    pub time_zone: String,
    pub totals: SalesTotals,
    pub by_category: Vec<LineGroup>,
    pub by_item: Vec<LineGroup>,
    pub by_server: Vec<CheckGroup>,
    /// Local hours with sales, in business-day order.
    pub by_hour: Vec<CheckGroup>,
    pub taxes: Vec<TaxFigures>,
    pub tenders: Vec<TenderFigures>,
    pub voids: Adjustments,
    pub comps: Adjustments,
    pub oversold: Vec<OversoldItem>,
    /// Sales of the day before the period (or of a day in it) that arrived after that day's Z.
    pub late_after_z: Vec<LateSale>,
    pub late_after_z_total: Money,
    pub drawers: Vec<DrawerCount>,
}

/// The Z report of a business day: its sales exactly as its close covers them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZReport {
    pub business_day: BusinessDay,
    /// Whether the day was closed (otherwise this is an X report of a day still open).
    pub closed: bool,
    pub close: Option<DayClose>,
    pub sales: Vec<SaleBrief>,
    pub report: SalesReport,
}

/// A sale as read for the report.
struct SaleRow {
    brief: SaleBrief,
    /// The day it is reported on (for a late sale: the day it was made on).
    day: BusinessDay,
    guests: u64,
    hour: u8,
    subtotal: i64,
    discount: i64,
    tax: i64,
    total: i64,
}

/// The sales of a period, and the late ones it lists with the day each was made on.
type PlacedSales = (Vec<SaleRow>, Vec<(SaleRow, BusinessDay)>);

/// Where each candidate sale belongs; those of the period and the late ones it lists.
fn placed_sales(db: &Connection, period: Period) -> Result<PlacedSales, ReportError> {
    // A sale moves at most a few days forward from the day it closed on.
    let first = period.from.number().saturating_sub(4);
    let mut stmt = db.prepare_cached(
        "SELECT s.check_id, s.day, s.hour, s.closed_ms, c.number, c.server, c.guests,
                c.subtotal_cents, c.discount_cents, c.tax_cents, c.total_cents, c.paid_cents,
                c.closed_hlc, c.closed_origin, c.closed_seq, c.order_type
         FROM proj_sales s JOIN proj_checks c ON c.check_id = s.check_id
         WHERE s.day BETWEEN ?1 AND ?2 AND c.state = 'closed' AND c.closed_hlc IS NOT NULL
         ORDER BY s.closed_ms, s.check_id",
    )?;
    type Raw = (SaleRow, u32, i64, String, i64);
    let raws: Vec<Raw> = stmt
        .query_map(params![first, period.to.number()], |r| {
            Ok((
                SaleRow {
                    brief: SaleBrief {
                        check: r.get(0)?,
                        number: r.get(4)?,
                        server: r.get(5)?,
                        order_type: r.get(15)?,
                        closed_ms: r.get(3)?,
                        total: money(r.get(10)?),
                        paid: money(r.get(11)?),
                    },
                    guests: r.get(6)?,
                    day: period.from,
                    hour: r.get(2)?,
                    subtotal: r.get(7)?,
                    discount: r.get(8)?,
                    tax: r.get(9)?,
                    total: r.get(10)?,
                },
                r.get(1)?,
                r.get(12)?,
                r.get(13)?,
                r.get(14)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut sales = Vec::new();
    let mut late = Vec::new();
    for (mut row, day, hlc, origin, seq) in raws {
        let day = BusinessDay::from_number(day)?;
        match place_sale(db, day, &origin, seq, hlc)? {
            SaleDay::In(d) if period.contains(d.number()) => {
                row.day = d;
                sales.push(row)
            }
            SaleDay::LateAfterZ(d) if d.next().is_ok_and(|n| period.contains(n.number())) => {
                row.day = d;
                late.push((row, d))
            }
            _ => {}
        }
    }
    Ok((sales, late))
}

/// Lines of a set of sales, grouped.
#[derive(Default)]
struct LineAcc {
    name: String,
    qty: u64,
    gross: i64,
    comps: i64,
    discounts: i64,
}

impl LineAcc {
    fn figures(&self) -> Result<LineFigures, ReportError> {
        let net = self
            .gross
            .checked_sub(self.comps)
            .and_then(|n| n.checked_sub(self.discounts))
            .ok_or_else(|| ReportError::Overflow("net of lines".into()))?;
        Ok(LineFigures {
            qty: self.qty,
            gross: money(self.gross),
            comps: money(self.comps),
            discounts: money(self.discounts),
            net: money(net),
        })
    }
}

/// Sales totals in minor units while they are summed.
#[derive(Default)]
struct Cents {
    gross: i64,
    comps: i64,
    line_discounts: i64,
    check_discounts: i64,
    net: i64,
    tax: i64,
    tax_added: i64,
    total: i64,
}

#[derive(Default)]
struct CheckAcc {
    checks: u64,
    net: i64,
    total: i64,
    tips: i64,
}

/// The sales report of `period`.
pub fn sales_report(db: &Connection, period: Period) -> Result<SalesReport, ReportError> {
    check_schema(db)?;
    let (sales, late) = placed_sales(db, period)?;
    report_of(db, period, &sales, &late)
}

fn report_of(
    db: &Connection,
    period: Period,
    sales: &[SaleRow],
    late: &[(SaleRow, BusinessDay)],
) -> Result<SalesReport, ReportError> {
    let settings = store_settings(db)?;
    let cutoff = settings.cutoff_hour().hour();
    let mut totals = Cents::default();
    let mut guests = 0u64;
    let mut by_category: BTreeMap<String, LineAcc> = BTreeMap::new();
    let mut by_item: BTreeMap<String, LineAcc> = BTreeMap::new();
    let mut by_server: BTreeMap<String, CheckAcc> = BTreeMap::new();
    let mut by_hour: BTreeMap<u8, CheckAcc> = BTreeMap::new();
    let mut taxes: BTreeMap<String, (TaxFigures, i64, i64)> = BTreeMap::new();
    let mut tenders: BTreeMap<String, (u64, i64, i64, i64)> = BTreeMap::new();
    let mut voids = (0u64, 0u64, 0i64);
    let mut comps = (0u64, 0u64, 0i64);
    let mut numbers: HashMap<&str, &str> = HashMap::new();
    let mut payments_total = 0i64;
    let mut tips_total = 0i64;
    let mut refunds_total = 0i64;

    let mut lines_stmt = db.prepare_cached(
        "SELECT line_id, item, name, category, qty, gross_cents, discount_cents, state
         FROM proj_sale_lines WHERE check_id = ?1 ORDER BY line_id",
    )?;
    let mut tax_stmt = db.prepare_cached(
        "SELECT rate, name, percent, inclusive, base_cents, tax_cents
         FROM proj_sale_taxes WHERE check_id = ?1",
    )?;
    let mut pay_stmt = db.prepare_cached(
        "SELECT kind, tender, state, amount_cents, tip_cents FROM proj_payments
         WHERE check_id = ?1",
    )?;
    for sale in sales {
        let check = sale.brief.check.as_str();
        numbers.insert(check, sale.brief.number.as_str());
        guests += sale.guests;
        let net = sale
            .subtotal
            .checked_sub(sale.discount)
            .ok_or_else(|| ReportError::Overflow("net sales".into()))?;
        add(&mut totals.check_discounts, sale.discount)?;
        add(&mut totals.net, net)?;
        add(&mut totals.tax, sale.tax)?;
        add(&mut totals.total, sale.total)?;
        add(&mut totals.tax_added, sale.total - net)?;

        let lines = lines_stmt.query_map([check], |r| {
            Ok((
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, u64>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, String>(7)?,
            ))
        })?;
        for line in lines {
            let (item, name, category, qty, gross, discount, state) = line?;
            match state.as_str() {
                "voided" => {
                    voids.0 += 1;
                    voids.1 += qty;
                    add(&mut voids.2, gross)?;
                    continue;
                }
                "comped" => {
                    comps.0 += 1;
                    comps.1 += qty;
                    add(&mut comps.2, gross)?;
                }
                _ => {}
            }
            let comped = if state == "comped" { gross } else { 0 };
            let discount = if state == "comped" { 0 } else { discount };
            add(&mut totals.gross, gross)?;
            add(&mut totals.comps, comped)?;
            add(&mut totals.line_discounts, discount)?;
            let category = if category.is_empty() {
                "uncategorised".to_owned()
            } else {
                category
            };
            for (acc, key, label) in [
                (&mut by_category, category.clone(), category.clone()),
                (&mut by_item, item, name),
            ] {
                let a = acc.entry(key).or_default();
                a.name = label;
                a.qty += qty;
                add(&mut a.gross, gross)?;
                add(&mut a.comps, comped)?;
                add(&mut a.discounts, discount)?;
            }
        }

        let rates = tax_stmt.query_map([check], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, bool>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })?;
        for rate in rates {
            let (id, name, percent, inclusive, base, tax) = rate?;
            let entry = taxes.entry(id.clone()).or_insert_with(|| {
                (
                    TaxFigures {
                        rate: id,
                        name,
                        percent: percent.parse().unwrap_or_default(),
                        inclusive,
                        base: Money::ZERO,
                        tax: Money::ZERO,
                    },
                    0,
                    0,
                )
            });
            add(&mut entry.1, base)?;
            add(&mut entry.2, tax)?;
        }

        let mut sale_tips = 0i64;
        let pays = pay_stmt.query_map([check], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?;
        for pay in pays {
            let (kind, tender, state, amount, tip) = pay?;
            let t = tenders.entry(tender).or_default();
            if kind == "refund" {
                add(&mut t.3, amount)?;
                add(&mut refunds_total, amount)?;
            } else if matches!(state.as_str(), "taken" | "offline") {
                t.0 += 1;
                add(&mut t.1, amount)?;
                add(&mut t.2, tip)?;
                add(&mut payments_total, amount)?;
                add(&mut tips_total, tip)?;
                add(&mut sale_tips, tip)?;
            }
        }

        for acc in [
            by_server.entry(sale.brief.server.clone()).or_default(),
            by_hour.entry(sale.hour).or_default(),
        ] {
            acc.checks += 1;
            add(&mut acc.net, net)?;
            add(&mut acc.total, sale.total)?;
            add(&mut acc.tips, sale_tips)?;
        }
    }

    let line_groups = |map: BTreeMap<String, LineAcc>| -> Result<Vec<LineGroup>, ReportError> {
        map.into_iter()
            .map(|(key, acc)| {
                Ok(LineGroup {
                    key,
                    name: acc.name.clone(),
                    figures: acc.figures()?,
                })
            })
            .collect()
    };
    let check_group = |key: String, acc: &CheckAcc| CheckGroup {
        key,
        checks: acc.checks,
        net_sales: money(acc.net),
        total: money(acc.total),
        tips: money(acc.tips),
    };
    let mut hours: Vec<(u8, &CheckAcc)> = by_hour.iter().map(|(h, a)| (*h, a)).collect();
    hours.sort_by_key(|(h, _)| hour_rank(*h, cutoff));

    // Sales of the period were deducted from a day or so before it at the earliest.
    let (start_ms, _) = period.span_ms(&settings);
    let oversold = oversold_items(db, &numbers, start_ms.saturating_sub(2 * 86_400_000))?;
    let mut late_total = 0i64;
    let late_after_z = late
        .iter()
        .map(|(row, day)| {
            add(&mut late_total, row.total)?;
            Ok(LateSale {
                sale: row.brief.clone(),
                made_on: *day,
            })
        })
        .collect::<Result<Vec<_>, ReportError>>()?;

    Ok(SalesReport {
        period,
        time_zone: settings.time_zone().name().to_owned(),
        totals: SalesTotals {
            checks: u64::try_from(sales.len()).unwrap_or(u64::MAX),
            guests,
            gross: money(totals.gross),
            comps: money(totals.comps),
            line_discounts: money(totals.line_discounts),
            check_discounts: money(totals.check_discounts),
            net_sales: money(totals.net),
            tax: money(totals.tax),
            tax_added: money(totals.tax_added),
            total: money(totals.total),
            payments: money(payments_total),
            tips: money(tips_total),
            refunds: money(refunds_total),
        },
        by_category: line_groups(by_category)?,
        by_item: line_groups(by_item)?,
        by_server: by_server
            .iter()
            .map(|(k, a)| check_group(k.clone(), a))
            .collect(),
        by_hour: hours
            .into_iter()
            .map(|(h, a)| check_group(format!("{h:02}"), a))
            .collect(),
        taxes: taxes
            .into_values()
            .map(|(mut f, base, tax)| {
                f.base = money(base);
                f.tax = money(tax);
                f
            })
            .collect(),
        tenders: tenders
            .into_iter()
            .map(|(tender, (n, amount, tips, refunds))| TenderFigures {
                tender,
                payments: n,
                amount: money(amount),
                tips: money(tips),
                refunds: money(refunds),
            })
            .collect(),
        voids: Adjustments {
            lines: voids.0,
            qty: voids.1,
            value: money(voids.2),
        },
        comps: Adjustments {
            lines: comps.0,
            qty: comps.1,
            value: money(comps.2),
        },
        oversold,
        late_after_z,
        late_after_z_total: money(late_total),
        drawers: drawer_counts(db, period)?,
    })
}

/// The lines of these sales (check → order number) sold on an ingredient already out.
fn oversold_items(
    db: &Connection,
    numbers: &HashMap<&str, &str>,
    from_ms: i64,
) -> Result<Vec<OversoldItem>, ReportError> {
    let settings = store_settings(db)?;
    let walk = stock::walk(&stock::moves(db, from_ms)?, &settings, (0, 0))?;
    let mut by_line: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for o in walk.oversold {
        if numbers.contains_key(o.check.as_str()) {
            by_line
                .entry((o.check, o.line))
                .or_default()
                .push(o.ingredient);
        }
    }
    let mut out = Vec::new();
    for ((check, line), ingredients) in by_line {
        let (item, name): (String, String) = db
            .prepare_cached(
                "SELECT item, name FROM proj_sale_lines WHERE check_id = ?1 AND line_id = ?2",
            )?
            .query_row(params![check, line], |r| Ok((r.get(0)?, r.get(1)?)))?;
        out.push(OversoldItem {
            number: numbers
                .get(check.as_str())
                .copied()
                .unwrap_or("")
                .to_owned(),
            check,
            line,
            item,
            name,
            ingredients,
        });
    }
    Ok(out)
}

/// Cash drawers counted in the period.
fn drawer_counts(db: &Connection, period: Period) -> Result<Vec<DrawerCount>, ReportError> {
    let settings = store_settings(db)?;
    let (start, end) = period.span_ms(&settings);
    let mut stmt = db.prepare_cached(
        "SELECT drawer, wall_ms, amount_cents, expected_cents, staff FROM proj_drawers
         WHERE kind = 'counted' AND wall_ms >= ?1 AND wall_ms < ?2
         ORDER BY wall_ms, drawer, origin, seq",
    )?;
    let rows = stmt.query_map(params![start, end], |r| {
        let counted: i64 = r.get(2)?;
        let expected: i64 = r.get::<_, Option<i64>>(3)?.unwrap_or(0);
        Ok(DrawerCount {
            drawer: r.get(0)?,
            at_ms: r.get(1)?,
            counted: money(counted),
            expected: money(expected),
            over_short: money(counted.saturating_sub(expected)),
            staff: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The Z report of `day`: exactly the sales its close covers (or, while it is open, those so
/// far), and the sales of the day before that arrived after that day's Z.
pub fn z_report(db: &Connection, day: BusinessDay) -> Result<ZReport, ReportError> {
    check_schema(db)?;
    let period = Period::day(day);
    let close = day_close(db, day)?;
    let (sales, late) = placed_sales(db, period)?;
    let report = report_of(db, period, &sales, &late)?;
    Ok(ZReport {
        business_day: day,
        closed: close.is_some(),
        close,
        sales: sales.iter().map(|s| s.brief.clone()).collect(),
        report,
    })
}

/// A sale as exported: the day it is reported on, whether it is late (after the Z of the day
/// before that), the sale, and the local hour of its closing.
pub(crate) struct ExportSale {
    pub day: BusinessDay,
    pub late: bool,
    pub brief: SaleBrief,
    pub hour: u8,
}

/// The sales of a period, late ones included (flagged), for the exports.
pub(crate) fn export_sales(
    db: &Connection,
    period: Period,
) -> Result<Vec<ExportSale>, ReportError> {
    check_schema(db)?;
    let (sales, late) = placed_sales(db, period)?;
    let mut out = Vec::new();
    for s in sales {
        out.push(ExportSale {
            day: s.day,
            late: false,
            brief: s.brief,
            hour: s.hour,
        });
    }
    for (s, made_on) in late {
        out.push(ExportSale {
            day: made_on.next()?,
            late: true,
            brief: s.brief,
            hour: s.hour,
        });
    }
    out.sort_by(|a, b| {
        (a.day, a.brief.closed_ms, &a.brief.check).cmp(&(b.day, b.brief.closed_ms, &b.brief.check))
    });
    Ok(out)
}
