//! Stock: levels, what moved in a period, counts against what was expected, what runs low.
//!
//! Read from the stock movements the projections keep (`proj_stock_moves`): deliveries
//! received, counts, sales deducted by recipe with their modifiers (on send or on payment, as
//! the store's setting says) and waste (a line voided after the kitchen started it; a line voided
//! before gives its stock back and moves nothing). Movements are taken in fold order, exactly as
//! [`crate::projection::stock_levels`] takes them, so the levels here are the levels every device
//! shows.
//!
//! - **Variance**: at each count in the period, the level expected just before it (the previous
//!   level plus deliveries minus sales and waste) against what was counted; `variance =
//!   counted − expected` (negative: stock went missing).
//! - **Oversold**: a sale deducted from an ingredient already at or below zero (it came from a
//!   device that could not know it had run out).
//! - **Low stock**: an ingredient whose level covers less than `cover_days` of the period's
//!   average daily use (sales and waste); **out**: at or below zero, which 86's every item whose
//!   recipe uses it.
//!
//! The movements listed are deliveries, counts and waste; sales are summed per ingredient (the
//! stock-movements export lists every one).

use std::collections::BTreeMap;
use std::str::FromStr;

use rusqlite::{Connection, OptionalExtension, params};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::domain::business_day::{BusinessDay, StoreSettings};
use crate::domain::hlc::HlcStamp;
use crate::domain::menu::{IngredientId, Menu};
use crate::projection::{self, register, store_settings};

use super::{Period, ReportError, check_schema};

/// How the report is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockOptions {
    /// An ingredient is low when its level covers fewer days of average use than this.
    pub cover_days: Decimal,
}

impl Default for StockOptions {
    fn default() -> StockOptions {
        StockOptions {
            cover_days: Decimal::ONE,
        }
    }
}

/// One tracked ingredient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StockLevel {
    pub ingredient: String,
    /// Its name and unit on the menu in force (empty when the menu no longer lists it).
    pub name: String,
    pub unit: String,
    /// The level now.
    pub level: Decimal,
    /// In the period: delivered, sold and wasted.
    pub received: Decimal,
    pub sold: Decimal,
    pub waste: Decimal,
    /// Average use (sold + waste) per business day of the period.
    pub daily_use: Decimal,
    /// How many days of that use the level covers; `None` when nothing was used.
    pub days_cover: Option<Decimal>,
    pub out: bool,
    pub low: bool,
}

/// A delivery, a count or waste.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StockMovement {
    pub ingredient: String,
    pub kind: String,
    pub qty: Decimal,
    /// When, by the fold order's clock (ms since the epoch).
    pub at_ms: i64,
    pub business_day: BusinessDay,
    /// For sales and waste: the check and line.
    pub check: String,
    pub line: String,
}

/// A count against the level expected just before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CountVariance {
    pub ingredient: String,
    pub at_ms: i64,
    pub business_day: BusinessDay,
    pub expected: Decimal,
    pub counted: Decimal,
    pub variance: Decimal,
}

/// A sale that took an ingredient already at or below zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OversoldLine {
    pub check: String,
    pub line: String,
    pub ingredient: String,
    pub level_before: Decimal,
    pub at_ms: i64,
}

/// The stock report of a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StockReport {
    pub period: Period,
    pub cover_days: Decimal,
    pub levels: Vec<StockLevel>,
    pub movements: Vec<StockMovement>,
    pub variances: Vec<CountVariance>,
    /// Ingredients low or out, lowest cover first.
    pub low_stock: Vec<String>,
    /// Items that cannot be made now: 86'd by hand or out of an ingredient.
    pub eighty_sixed: Vec<String>,
    pub oversold: Vec<OversoldLine>,
}

/// One stock movement as stored.
#[derive(Debug, Clone)]
pub(crate) struct MoveRow {
    pub ingredient: String,
    pub hlc: i64,
    pub kind: String,
    pub qty: Decimal,
    pub check: String,
    pub line: String,
}

impl MoveRow {
    pub(crate) fn at_ms(&self) -> i64 {
        i64::try_from(HlcStamp(u64::try_from(self.hlc).unwrap_or(0)).physical_ms())
            .unwrap_or(i64::MAX)
    }
}

/// The stock movements that decide the levels from `from_ms` on, in fold order (as
/// [`projection::stock_levels`] reads them): for each ingredient, from its last count before
/// `from_ms` (a count sets the level, so nothing before it matters), or from its first movement
/// when it was never counted before then. So a report reads the weeks since the last count, not
/// years of sales.
pub(crate) fn moves(db: &Connection, from_ms: i64) -> Result<Vec<MoveRow>, ReportError> {
    let before =
        i64::try_from(HlcStamp::new(u64::try_from(from_ms).unwrap_or(0), 0).0).unwrap_or(i64::MAX);
    let ingredients: Vec<String> = db
        .prepare_cached("SELECT DISTINCT ingredient FROM proj_stock_moves ORDER BY ingredient")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::new();
    for ingredient in ingredients {
        let start: Option<(i64, String, i64, String)> = db
            .prepare_cached(
                "SELECT hlc, origin, seq, line_id FROM proj_stock_moves
                 WHERE ingredient = ?1 AND kind = 'counted' AND hlc < ?2
                 ORDER BY hlc DESC, origin DESC, seq DESC, line_id DESC LIMIT 1",
            )?
            .query_row(params![ingredient, before], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()?;
        let (hlc, origin, seq, line) = start.unwrap_or((i64::MIN, String::new(), 0, String::new()));
        let mut stmt = db.prepare_cached(
            "SELECT hlc, kind, qty, check_id, line_id FROM proj_stock_moves
             WHERE ingredient = ?1 AND (hlc, origin, seq, line_id) >= (?2, ?3, ?4, ?5)
             ORDER BY hlc, origin, seq, line_id",
        )?;
        let rows = stmt.query_map(params![ingredient, hlc, origin, seq, line], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?;
        for row in rows {
            let (hlc, kind, qty, check, line) = row?;
            let Ok(qty) = Decimal::from_str(&qty) else {
                tracing::warn!(
                    ingredient,
                    qty,
                    "stock movement with an unreadable quantity"
                );
                continue;
            };
            out.push(MoveRow {
                ingredient: ingredient.clone(),
                hlc,
                kind,
                qty,
                check,
                line,
            });
        }
    }
    Ok(out)
}

/// What walking the movements in order finds.
#[derive(Debug, Default)]
pub(crate) struct Walk {
    /// Tracked ingredients and their levels.
    pub levels: BTreeMap<String, Decimal>,
    /// Per ingredient, in the period: received, sold, waste.
    pub totals: BTreeMap<String, (Decimal, Decimal, Decimal)>,
    pub variances: Vec<CountVariance>,
    pub oversold: Vec<OversoldLine>,
    pub movements: Vec<StockMovement>,
}

/// Walks every movement in fold order; `span` (start, end) in ms picks the period's movements.
pub(crate) fn walk(
    rows: &[MoveRow],
    settings: &StoreSettings,
    span: (i64, i64),
) -> Result<Walk, ReportError> {
    let mut walk = Walk::default();
    let mut state: BTreeMap<&str, (bool, Decimal)> = BTreeMap::new();
    for m in rows {
        let at_ms = m.at_ms();
        let in_period = (span.0..span.1).contains(&at_ms);
        let entry = state
            .entry(m.ingredient.as_str())
            .or_insert((false, Decimal::ZERO));
        let day = || settings.business_day(at_ms);
        match m.kind.as_str() {
            "counted" => {
                if in_period && entry.0 {
                    walk.variances.push(CountVariance {
                        ingredient: m.ingredient.clone(),
                        at_ms,
                        business_day: day()?,
                        expected: entry.1,
                        counted: m.qty,
                        variance: m.qty - entry.1,
                    });
                }
                *entry = (true, m.qty);
            }
            "received" => *entry = (true, entry.1 + m.qty),
            kind => {
                if kind == "sold" && entry.0 && entry.1 <= Decimal::ZERO {
                    walk.oversold.push(OversoldLine {
                        check: m.check.clone(),
                        line: m.line.clone(),
                        ingredient: m.ingredient.clone(),
                        level_before: entry.1,
                        at_ms,
                    });
                }
                entry.1 -= m.qty;
            }
        }
        if in_period {
            let t = walk.totals.entry(m.ingredient.clone()).or_default();
            match m.kind.as_str() {
                "received" => t.0 += m.qty,
                "sold" => t.1 += m.qty,
                "waste" => t.2 += m.qty,
                _ => {}
            }
            if m.kind != "sold" {
                walk.movements.push(StockMovement {
                    ingredient: m.ingredient.clone(),
                    kind: m.kind.clone(),
                    qty: m.qty,
                    at_ms,
                    business_day: day()?,
                    check: m.check.clone(),
                    line: m.line.clone(),
                });
            }
        }
    }
    walk.levels = state
        .into_iter()
        .filter(|(_, (tracked, _))| *tracked)
        .map(|(i, (_, level))| (i.to_owned(), level.normalize()))
        .collect();
    walk.movements.sort_by(|a, b| {
        a.at_ms
            .cmp(&b.at_ms)
            .then_with(|| a.ingredient.cmp(&b.ingredient))
    });
    walk.variances.sort_by(|a, b| {
        a.at_ms
            .cmp(&b.at_ms)
            .then_with(|| a.ingredient.cmp(&b.ingredient))
    });
    Ok(walk)
}

/// The menu in force, if one was published and loads.
pub(crate) fn current_menu(db: &Connection) -> Result<Option<Menu>, ReportError> {
    let Some(text) = register(db, "menu")? else {
        return Ok(None);
    };
    match Menu::from_toml_str(&text) {
        Ok(menu) => Ok(Some(menu)),
        Err(e) => {
            tracing::warn!(error = %e, "the published menu does not load; names left out");
            Ok(None)
        }
    }
}

/// The stock report of `period`.
pub fn stock_report(
    db: &Connection,
    period: Period,
    options: &StockOptions,
) -> Result<StockReport, ReportError> {
    check_schema(db)?;
    let settings = store_settings(db)?;
    let span = period.span_ms(&settings);
    let rows = moves(db, span.0)?;
    let walk = walk(&rows, &settings, span)?;
    let menu = current_menu(db)?;
    let days = Decimal::from(period.days());
    let mut levels: Vec<StockLevel> = walk
        .levels
        .iter()
        .map(|(ingredient, level)| {
            let (received, sold, waste) = walk.totals.get(ingredient).copied().unwrap_or_default();
            let daily_use = ((sold + waste) / days).round_dp(4).normalize();
            let days_cover =
                (daily_use > Decimal::ZERO).then(|| (*level / daily_use).round_dp(2).normalize());
            let out = *level <= Decimal::ZERO;
            let low = out || days_cover.is_some_and(|d| d < options.cover_days);
            let found = menu
                .as_ref()
                .and_then(|m| m.ingredient(&IngredientId::new(ingredient.as_str())));
            StockLevel {
                ingredient: ingredient.clone(),
                name: found.map(|i| i.name().to_owned()).unwrap_or_default(),
                unit: found.map(|i| i.unit().to_string()).unwrap_or_default(),
                level: *level,
                received: received.normalize(),
                sold: sold.normalize(),
                waste: waste.normalize(),
                daily_use,
                days_cover,
                out,
                low,
            }
        })
        .collect();
    levels.sort_by(|a, b| a.ingredient.cmp(&b.ingredient));
    let mut low: Vec<&StockLevel> = levels.iter().filter(|l| l.low).collect();
    low.sort_by(|a, b| {
        let cover = |l: &StockLevel| {
            if l.out {
                Decimal::MIN
            } else {
                l.days_cover.unwrap_or(Decimal::MAX)
            }
        };
        cover(a)
            .cmp(&cover(b))
            .then_with(|| a.ingredient.cmp(&b.ingredient))
    });
    let low_stock = low.iter().map(|l| l.ingredient.clone()).collect();
    let eighty_sixed = match &menu {
        Some(menu) => projection::eighty_sixed(db, menu)?
            .into_iter()
            .map(|i| i.to_string())
            .collect(),
        None => Vec::new(),
    };
    let oversold = walk
        .oversold
        .iter()
        .filter(|o| (span.0..span.1).contains(&o.at_ms))
        .cloned()
        .collect();
    Ok(StockReport {
        period,
        cover_days: options.cover_days,
        levels,
        movements: walk.movements,
        variances: walk.variances,
        low_stock,
        eighty_sixed,
        oversold,
    })
}

/// Every stock movement of a period (sales included), for the export: in fold order.
pub(crate) fn movement_rows(
    db: &Connection,
    period: Period,
) -> Result<Vec<(MoveRow, BusinessDay)>, ReportError> {
    check_schema(db)?;
    let settings = store_settings(db)?;
    let (start, end) = period.span_ms(&settings);
    // HLC stamps carry the physical ms in their high 48 bits.
    let lo = HlcStamp::new(u64::try_from(start).unwrap_or(0), 0).0;
    let hi = HlcStamp::new(u64::try_from(end).unwrap_or(0), 0).0;
    let mut stmt = db.prepare_cached(
        "SELECT ingredient, hlc, kind, qty, check_id, line_id FROM proj_stock_moves
         WHERE hlc >= ?1 AND hlc < ?2 ORDER BY hlc, origin, seq, ingredient, line_id",
    )?;
    let rows = stmt.query_map(
        params![
            i64::try_from(lo).unwrap_or(i64::MAX),
            i64::try_from(hi).unwrap_or(i64::MAX)
        ],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ))
        },
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (ingredient, hlc, kind, qty, check, line) = row?;
        let Ok(qty) = Decimal::from_str(&qty) else {
            tracing::warn!(
                ingredient,
                qty,
                "stock movement with an unreadable quantity"
            );
            continue;
        };
        let m = MoveRow {
            ingredient,
            hlc,
            kind,
            qty,
            check,
            line,
        };
        let day = settings.business_day(m.at_ms())?;
        out.push((m, day));
    }
    Ok(out)
}
