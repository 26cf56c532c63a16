//! Reports as tables: what `pass report … --format table` prints, and `--format csv` writes
//! (each row led by its table's name, so one file holds every table of a report).

use std::io::Write;

use crate::domain::Money;

use super::ReportError;
use super::sales::{SalesReport, ZReport};
use super::service::{Figures, ServiceTimeReport};
use super::stock::StockReport;

/// One table of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: &'static str,
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    fn new(name: &'static str, headers: &[&'static str]) -> Table {
        Table {
            name,
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }
}

/// A duration as `m:ss` (or `h:mm:ss`), or `-` for none.
pub fn duration(ms: Option<i64>) -> String {
    let Some(ms) = ms else {
        return "-".to_owned();
    };
    let secs = ms / 1000;
    if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, secs % 3600 / 60, secs % 60)
    } else {
        format!("{}:{:02}", secs / 60, secs % 60)
    }
}

const FIGURE_HEADERS: [&str; 9] = [
    "tickets",
    "ignored",
    "median",
    "p90",
    "on_time",
    "past_alert",
    "past_late",
    "recalled",
    "recalls",
];

fn figure_cells(f: &Figures) -> Vec<String> {
    vec![
        f.tickets.to_string(),
        f.ignored.to_string(),
        duration(f.median_ms),
        duration(f.p90_ms),
        f.on_time.to_string(),
        f.past_alert.to_string(),
        f.past_late.to_string(),
        f.recalled.to_string(),
        f.recalls.to_string(),
    ]
}

fn figures_table(name: &'static str, key: &'static str) -> Table {
    let mut headers = vec![key];
    headers.extend(FIGURE_HEADERS);
    Table::new(name, &headers)
}

/// The service-time report's tables.
pub fn service_tables(r: &ServiceTimeReport) -> Vec<Table> {
    let mut all = figures_table("all", "period");
    all.row(
        [format!("{} to {}", r.period.from, r.period.to)]
            .into_iter()
            .chain(figure_cells(&r.all))
            .collect(),
    );
    let mut out = vec![all];
    for (name, key, groups) in [
        ("by_station", "station", &r.by_station),
        ("by_item", "item", &r.by_item),
        ("by_server", "server", &r.by_server),
        ("by_order_type", "order_type", &r.by_order_type),
    ] {
        let mut t = figures_table(name, key);
        for g in groups {
            t.row(
                [g.key.clone()]
                    .into_iter()
                    .chain(figure_cells(&g.figures))
                    .collect(),
            );
        }
        out.push(t);
    }
    let mut hours = figures_table("by_hour", "hour");
    for h in &r.by_hour {
        hours.row(
            [format!("{:02}", h.hour)]
                .into_iter()
                .chain(figure_cells(&h.figures))
                .collect(),
        );
    }
    out.push(hours);
    let mut series = Table::new(
        "station_hours",
        &["station", "hour", "tickets", "median", "p90"],
    );
    for s in &r.station_hours {
        for h in &s.hours {
            series.row(vec![
                s.station.clone(),
                format!("{:02}", h.hour),
                h.figures.tickets.to_string(),
                duration(h.figures.median_ms),
                duration(h.figures.p90_ms),
            ]);
        }
    }
    out.push(series);
    let mut dist = Table::new("distribution", &["from", "to", "tickets"]);
    for b in &r.distribution {
        dist.row(vec![
            duration(Some(b.from_ms)),
            duration(Some(b.to_ms)),
            b.tickets.to_string(),
        ]);
    }
    out.push(dist);
    let mut late = Table::new(
        "late_tickets",
        &[
            "business_day",
            "hour",
            "ticket",
            "order_number",
            "station",
            "server",
            "time",
            "late_after",
            "recalls",
        ],
    );
    for t in &r.late_tickets {
        late.row(vec![
            t.business_day.to_string(),
            format!("{:02}", t.hour),
            t.ticket.clone(),
            t.number.clone(),
            t.station.clone(),
            t.server.clone(),
            duration(Some(t.time_ms)),
            duration(Some(t.late_ms)),
            t.recalls.to_string(),
        ]);
    }
    out.push(late);
    if let Some(h) = &r.last_hour {
        let mut t = figures_table("last_hour", "station");
        t.row(
            ["(all)".to_owned()]
                .into_iter()
                .chain(figure_cells(&h.all))
                .collect(),
        );
        for g in &h.by_station {
            t.row(
                [g.key.clone()]
                    .into_iter()
                    .chain(figure_cells(&g.figures))
                    .collect(),
            );
        }
        out.push(t);
    }
    out
}

fn m(x: Money) -> String {
    x.to_string()
}

/// The sales report's tables.
pub fn sales_tables(r: &SalesReport) -> Vec<Table> {
    let t = &r.totals;
    let mut totals = Table::new("totals", &["figure", "value"]);
    for (k, v) in [
        ("checks", t.checks.to_string()),
        ("guests", t.guests.to_string()),
        ("gross", m(t.gross)),
        ("comps", m(t.comps)),
        ("line_discounts", m(t.line_discounts)),
        ("check_discounts", m(t.check_discounts)),
        ("net_sales", m(t.net_sales)),
        ("tax", m(t.tax)),
        ("tax_added", m(t.tax_added)),
        ("total", m(t.total)),
        ("payments", m(t.payments)),
        ("tips", m(t.tips)),
        ("refunds", m(t.refunds)),
        (
            "voids",
            format!(
                "{} lines, {} items, {}",
                r.voids.lines, r.voids.qty, r.voids.value
            ),
        ),
        (
            "comped",
            format!(
                "{} lines, {} items, {}",
                r.comps.lines, r.comps.qty, r.comps.value
            ),
        ),
        (
            "late_after_z",
            format!("{} sales, {}", r.late_after_z.len(), r.late_after_z_total),
        ),
    ] {
        totals.row(vec![k.to_owned(), v]);
    }
    let mut out = vec![totals];
    for (name, key, groups) in [
        ("by_category", "category", &r.by_category),
        ("by_item", "item", &r.by_item),
    ] {
        let mut tb = Table::new(
            name,
            &[key, "name", "qty", "gross", "comps", "discounts", "net"],
        );
        for g in groups {
            let f = &g.figures;
            tb.row(vec![
                g.key.clone(),
                g.name.clone(),
                f.qty.to_string(),
                m(f.gross),
                m(f.comps),
                m(f.discounts),
                m(f.net),
            ]);
        }
        out.push(tb);
    }
    for (name, key, groups) in [
        ("by_server", "server", &r.by_server),
        ("by_hour", "hour", &r.by_hour),
    ] {
        let mut tb = Table::new(name, &[key, "checks", "net_sales", "total", "tips"]);
        for g in groups {
            tb.row(vec![
                g.key.clone(),
                g.checks.to_string(),
                m(g.net_sales),
                m(g.total),
                m(g.tips),
            ]);
        }
        out.push(tb);
    }
    let mut taxes = Table::new(
        "taxes",
        &["rate", "name", "percent", "inclusive", "base", "tax"],
    );
    for x in &r.taxes {
        taxes.row(vec![
            x.rate.clone(),
            x.name.clone(),
            x.percent.to_string(),
            x.inclusive.to_string(),
            m(x.base),
            m(x.tax),
        ]);
    }
    out.push(taxes);
    let mut tenders = Table::new(
        "tenders",
        &["tender", "payments", "amount", "tips", "refunds"],
    );
    for x in &r.tenders {
        tenders.row(vec![
            x.tender.clone(),
            x.payments.to_string(),
            m(x.amount),
            m(x.tips),
            m(x.refunds),
        ]);
    }
    out.push(tenders);
    let mut over = Table::new(
        "oversold",
        &["order_number", "check", "line", "item", "ingredients"],
    );
    for o in &r.oversold {
        over.row(vec![
            o.number.clone(),
            o.check.clone(),
            o.line.clone(),
            o.item.clone(),
            o.ingredients.join(" "),
        ]);
    }
    out.push(over);
    let mut late = Table::new(
        "late_after_z",
        &["made_on", "order_number", "check", "server", "total"],
    );
    for l in &r.late_after_z {
        late.row(vec![
            l.made_on.to_string(),
            l.sale.number.clone(),
            l.sale.check.clone(),
            l.sale.server.clone(),
            m(l.sale.total),
        ]);
    }
    out.push(late);
    let mut drawers = Table::new(
        "drawers",
        &["drawer", "counted", "expected", "over_short", "staff"],
    );
    for d in &r.drawers {
        drawers.row(vec![
            d.drawer.clone(),
            m(d.counted),
            m(d.expected),
            m(d.over_short),
            d.staff.clone(),
        ]);
    }
    out.push(drawers);
    out
}

/// The Z report's tables: the close, its sales report, and its sales one by one.
pub fn z_tables(z: &ZReport) -> Vec<Table> {
    let mut head = Table::new("z", &["business_day", "closed", "covered_heads"]);
    head.row(vec![
        z.business_day.to_string(),
        if z.closed {
            "closed"
        } else {
            "open (X report)"
        }
        .to_owned(),
        z.close
            .as_ref()
            .map(|c| {
                c.heads
                    .iter()
                    .map(|(o, s)| format!("{o}:{s}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default(),
    ]);
    let mut out = vec![head];
    out.extend(sales_tables(&z.report));
    let mut sales = Table::new(
        "sales",
        &["order_number", "check", "server", "total", "paid"],
    );
    for s in &z.sales {
        sales.row(vec![
            s.number.clone(),
            s.check.clone(),
            s.server.clone(),
            m(s.total),
            m(s.paid),
        ]);
    }
    out.push(sales);
    out
}

/// The stock report's tables.
pub fn stock_tables(r: &StockReport) -> Vec<Table> {
    let mut levels = Table::new(
        "levels",
        &[
            "ingredient",
            "unit",
            "level",
            "received",
            "sold",
            "waste",
            "daily_use",
            "days_cover",
            "status",
        ],
    );
    for l in &r.levels {
        levels.row(vec![
            l.ingredient.clone(),
            l.unit.clone(),
            l.level.to_string(),
            l.received.to_string(),
            l.sold.to_string(),
            l.waste.to_string(),
            l.daily_use.to_string(),
            l.days_cover
                .map(|d| d.to_string())
                .unwrap_or_else(|| "-".into()),
            if l.out {
                "OUT"
            } else if l.low {
                "low"
            } else {
                ""
            }
            .to_owned(),
        ]);
    }
    let mut moves = Table::new(
        "movements",
        &["business_day", "ingredient", "kind", "qty", "check", "line"],
    );
    for x in &r.movements {
        moves.row(vec![
            x.business_day.to_string(),
            x.ingredient.clone(),
            x.kind.clone(),
            x.qty.to_string(),
            x.check.clone(),
            x.line.clone(),
        ]);
    }
    let mut variances = Table::new(
        "variances",
        &[
            "business_day",
            "ingredient",
            "expected",
            "counted",
            "variance",
        ],
    );
    for v in &r.variances {
        variances.row(vec![
            v.business_day.to_string(),
            v.ingredient.clone(),
            v.expected.to_string(),
            v.counted.to_string(),
            v.variance.to_string(),
        ]);
    }
    let mut low = Table::new("low_stock", &["ingredient"]);
    for i in &r.low_stock {
        low.row(vec![i.clone()]);
    }
    let mut out86 = Table::new("eighty_sixed", &["item"]);
    for i in &r.eighty_sixed {
        out86.row(vec![i.clone()]);
    }
    let mut over = Table::new("oversold", &["check", "line", "ingredient", "level_before"]);
    for o in &r.oversold {
        over.row(vec![
            o.check.clone(),
            o.line.clone(),
            o.ingredient.clone(),
            o.level_before.to_string(),
        ]);
    }
    vec![levels, moves, variances, low, out86, over]
}

/// Tables as aligned text, each under its name.
pub fn render_text(tables: &[Table]) -> String {
    let mut out = String::new();
    for t in tables {
        out.push_str(&format!("== {} ==\n", t.name));
        if t.rows.is_empty() {
            out.push_str("(none)\n\n");
            continue;
        }
        let mut widths: Vec<usize> = t.headers.iter().map(|h| h.chars().count()).collect();
        for row in &t.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.chars().count());
                }
            }
        }
        let line = |cells: Vec<&str>| {
            let mut s = String::new();
            for (i, cell) in cells.iter().enumerate() {
                let w = widths.get(i).copied().unwrap_or(0);
                if i > 0 {
                    s.push_str("  ");
                }
                s.push_str(&format!("{cell:<w$}"));
            }
            s.trim_end().to_owned() + "\n"
        };
        out.push_str(&line(t.headers.clone()));
        for row in &t.rows {
            out.push_str(&line(row.iter().map(String::as_str).collect()));
        }
        out.push('\n');
    }
    out
}

/// Tables as one CSV: every row, the header rows included, led by its table's name (rows of
/// different tables have different lengths).
pub fn write_tables_csv(tables: &[Table], out: impl Write) -> Result<(), ReportError> {
    let mut w = csv::WriterBuilder::new().flexible(true).from_writer(out);
    for t in tables {
        w.write_record(std::iter::once("table").chain(t.headers.iter().copied()))?;
        for row in &t.rows {
            w.write_record(std::iter::once(t.name).chain(row.iter().map(String::as_str)))?;
        }
    }
    w.flush()?;
    Ok(())
}
