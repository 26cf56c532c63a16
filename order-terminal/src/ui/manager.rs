//! The manager's screen: the reports of a business day, opened with "Reports" in the status bar
//! by whoever may view reports (managers and owners).
//!
//! Four tabs, each drawn from one report of `pass_shared::reports` that the app reads from the
//! device's journal while the screen is open ([`ManagerData::read`]):
//!
//! - **Service times**: every station's median and 90th-percentile ticket time, tickets past the
//!   alert and late thresholds, recalls; a chart of each station's median ticket time by local
//!   hour, the distribution of ticket times with the thresholds marked, the late tickets
//!   (longest first), the figures by hour, item, server and order type and, for today, the
//!   last hour as the kitchen screens count it;
//! - **Sales**: totals, tenders and tips, tax by rate, voids, comps and discounts, and sales by
//!   category, item, server and hour;
//! - **Z report**: the business day's Z exactly as its close covers it (or, while the day is
//!   open, the sales so far), its tenders and tax, the cash drawers counted against what was
//!   expected, and the sales of the day before that arrived after that day's Z;
//! - **Stock**: ingredients low or out, items 86'd, counts against the level expected,
//!   deliveries, counts and waste, and every tracked level (lines sold on stock already out
//!   are on the Sales tab).
//!
//! The charts are drawn with `egui_plot` (the release built on egui 0.36); they only show,
//! they take no taps (no dragging or zooming on a touch screen).
//!
//! The screen holds no report of its own: its taps ([`ManagerTap`]) pick the tab and the day
//! ([`ManagerLocal`]), and the app reads what they ask for. The day starts as today (the
//! business day now, whose "last hour" stays live) and steps back and forth one business day at
//! a time, never past today.

use egui::{Color32, Grid, RichText, ScrollArea, Ui, vec2};
use egui_plot::{Bar, BarChart, Legend, Line, Plot, VLine};
use pass_shared::domain::Money;
use pass_shared::domain::business_day::{BusinessDay, StoreTimeZone};
use pass_shared::domain::staff::{Permission, Role};
use pass_shared::journal::Journal;
use pass_shared::reports::sales::{
    Adjustments, CheckGroup, LineGroup, SalesReport, ZReport, sales_report, z_report,
};
use pass_shared::reports::service::{
    Figures, Group, ServiceOptions, ServiceTimeReport, service_time_report,
};
use pass_shared::reports::stock::{StockOptions, StockReport, stock_report};
use pass_shared::reports::{Period, hour_rank};
use pass_shared::terminal::views::PersonView;

use super::widgets::{self, ATTENTION, DANGER, GO, MUTED};

/// The tabs of the manager's screen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ReportTab {
    #[default]
    Service,
    Sales,
    Z,
    Stock,
}

impl ReportTab {
    pub const ALL: [ReportTab; 4] = [
        ReportTab::Service,
        ReportTab::Sales,
        ReportTab::Z,
        ReportTab::Stock,
    ];

    /// The tab's button.
    pub fn label(self) -> &'static str {
        match self {
            ReportTab::Service => "Service times",
            ReportTab::Sales => "Sales",
            ReportTab::Z => "Z report",
            ReportTab::Stock => "Stock",
        }
    }
}

/// What the manager's screen remembers: the tab and the business day shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ManagerLocal {
    pub tab: ReportTab,
    /// `None`: today, whichever business day that is when the reports are read.
    pub day: Option<BusinessDay>,
}

impl ManagerLocal {
    /// The screen opened on `tab`, today.
    pub fn on(tab: ReportTab) -> ManagerLocal {
        ManagerLocal { tab, day: None }
    }

    /// Carries out a tap on the screen, with what was read last (the day shown and today);
    /// whether the screen is to close. A step to a day that does not exist, or past today, is
    /// ignored.
    pub fn apply(&mut self, tap: ManagerTap, data: &ManagerData) -> bool {
        match tap {
            ManagerTap::Tab(tab) => self.tab = tab,
            ManagerTap::Today => self.day = None,
            ManagerTap::DayBack => {
                let before = self
                    .day
                    .or(data.day)
                    .and_then(|d| d.number().checked_sub(1))
                    .and_then(|n| BusinessDay::from_number(n).ok());
                if let Some(day) = before {
                    self.day = Some(day);
                }
            }
            ManagerTap::DayForward => {
                let Some(shown) = self.day else { return false };
                let Ok(after) = shown.next() else {
                    return false;
                };
                match data.today {
                    Some(today) if after >= today => self.day = None,
                    Some(_) => self.day = Some(after),
                    // Today is not known yet: stay put rather than step into the future.
                    None => {}
                }
            }
            ManagerTap::Close => return true,
        }
        false
    }
}

/// A tap on the manager's screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagerTap {
    Tab(ReportTab),
    DayBack,
    DayForward,
    Today,
    Close,
}

/// What the manager's screen draws: the reports read for its tab and day. `None`: not read
/// (yet); an error says why the report could not be made.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ManagerData {
    /// The business day the reports are of.
    pub day: Option<BusinessDay>,
    /// The business day now.
    pub today: Option<BusinessDay>,
    pub service: Option<Result<ServiceTimeReport, String>>,
    pub sales: Option<Result<SalesReport, String>>,
    pub z: Option<Result<ZReport, String>>,
    pub stock: Option<Result<StockReport, String>>,
}

impl ManagerData {
    /// Reads the report of `local`'s tab and day from `journal` at `now_ms` (the device's
    /// clock): the business day now decides "today", and today's service times include the
    /// last hour before `now_ms`. A problem reading is the report's error, never a panic.
    pub fn read(journal: &Journal, local: ManagerLocal, now_ms: i64) -> ManagerData {
        let read = journal.read(|db| {
            let settings = match pass_shared::reports::service::settings(db) {
                Ok(s) => s,
                Err(e) => return Ok(Err(e.to_string())),
            };
            let today = match settings.business_day(now_ms) {
                Ok(d) => d,
                Err(e) => return Ok(Err(e.to_string())),
            };
            let day = local.day.filter(|d| *d < today).unwrap_or(today);
            let period = Period::day(day);
            let mut data = ManagerData {
                day: Some(day),
                today: Some(today),
                ..ManagerData::default()
            };
            match local.tab {
                ReportTab::Service => {
                    let options = ServiceOptions {
                        now_ms: (day == today).then_some(now_ms),
                        late_list_max: LATE_LISTED,
                        ..ServiceOptions::default()
                    };
                    data.service =
                        Some(service_time_report(db, period, &options).map_err(|e| e.to_string()));
                }
                ReportTab::Sales => {
                    data.sales = Some(sales_report(db, period).map_err(|e| e.to_string()));
                }
                ReportTab::Z => data.z = Some(z_report(db, day).map_err(|e| e.to_string())),
                ReportTab::Stock => {
                    data.stock = Some(
                        stock_report(db, period, &StockOptions::default())
                            .map_err(|e| e.to_string()),
                    );
                }
            }
            Ok(Ok(data))
        });
        match read.map_err(|e| e.to_string()).and_then(|r| r) {
            Ok(data) => data,
            Err(e) => ManagerData::failed(local.tab, e),
        }
    }

    /// The tab's report could not be read at all.
    fn failed(tab: ReportTab, error: String) -> ManagerData {
        let mut data = ManagerData::default();
        match tab {
            ReportTab::Service => data.service = Some(Err(error)),
            ReportTab::Sales => data.sales = Some(Err(error)),
            ReportTab::Z => data.z = Some(Err(error)),
            ReportTab::Stock => data.stock = Some(Err(error)),
        }
        data
    }
}

/// At most this many late tickets are listed (all are counted).
pub const LATE_LISTED: usize = 30;

/// Whether `person` may open the reports (managers and owners).
pub fn sees_reports(person: &PersonView) -> bool {
    person
        .role
        .parse::<Role>()
        .is_ok_and(|r| r.permits(Permission::ViewReports))
}

const TAB_SIZE: egui::Vec2 = vec2(230.0, 64.0);
const NAV_SIZE: egui::Vec2 = vec2(170.0, 64.0);
/// Station colours on the charts, in the order of the stations' names.
const PALETTE: [Color32; 6] = [
    Color32::from_rgb(0x4e, 0x9a, 0xf0),
    Color32::from_rgb(0xf0, 0x9a, 0x3e),
    Color32::from_rgb(0x5c, 0xc8, 0x6e),
    Color32::from_rgb(0xe0, 0x5c, 0x8a),
    Color32::from_rgb(0xb4, 0x8c, 0xf0),
    Color32::from_rgb(0xd8, 0xd0, 0x50),
];

/// Draws the manager's screen; what was tapped.
pub fn manager_ui(ui: &mut Ui, data: &ManagerData, local: &ManagerLocal) -> Option<ManagerTap> {
    let mut tap = None;
    ui.horizontal(|ui| {
        ui.heading("Reports");
        ui.add_space(16.0);
        for tab in ReportTab::ALL {
            if widgets::choice(ui, local.tab == tab, tab.label(), TAB_SIZE).clicked() {
                tap = Some(ManagerTap::Tab(tab));
            }
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if widgets::filled(ui, "Close", DANGER, vec2(150.0, 64.0)).clicked() {
                tap = Some(ManagerTap::Close);
            }
        });
    });
    ui.horizontal(|ui| {
        if widgets::big(ui, "Day before", NAV_SIZE).clicked() {
            tap = Some(ManagerTap::DayBack);
        }
        let is_today = local.day.is_none();
        let shown = local.day.or(data.day);
        let day_text = match shown {
            Some(d) if is_today => format!("Today · {d}"),
            Some(d) => d.to_string(),
            None => "Today".to_owned(),
        };
        ui.label(RichText::new(day_text).strong().size(34.0));
        if widgets::enabled(ui, !is_today, "Day after", Color32::from_gray(60), NAV_SIZE).clicked()
        {
            tap = Some(ManagerTap::DayForward);
        }
        if widgets::enabled(ui, !is_today, "Today", Color32::from_gray(60), NAV_SIZE).clicked() {
            tap = Some(ManagerTap::Today);
        }
    });
    ui.separator();
    ScrollArea::vertical()
        .id_salt("manager-report")
        .auto_shrink([false, false])
        .show(ui, |ui| match local.tab {
            ReportTab::Service => shown(ui, &data.service, "the service times", service_ui),
            ReportTab::Sales => shown(ui, &data.sales, "the sales", sales_ui),
            ReportTab::Z => shown(ui, &data.z, "the Z report", z_ui),
            ReportTab::Stock => shown(ui, &data.stock, "the stock", stock_ui),
        });
    tap
}

/// Draws a report, or says it is being read or why it could not be.
fn shown<R>(ui: &mut Ui, report: &Option<Result<R, String>>, what: &str, draw: fn(&mut Ui, &R)) {
    match report {
        Some(Ok(r)) => draw(ui, r),
        Some(Err(e)) => {
            ui.label(
                RichText::new(format!("Could not read {what}: {e}"))
                    .color(Color32::WHITE)
                    .background_color(DANGER),
            );
        }
        None => {
            ui.label(RichText::new(format!("Reading {what}…")).color(MUTED));
        }
    }
}

/// A ticket time as a kitchen clock reads it, or a dash when there is none.
fn time_text(ms: Option<i64>) -> String {
    ms.map_or_else(|| "—".to_owned(), widgets::duration)
}

/// A figure in a box: its name above, its value big below.
fn figure(ui: &mut Ui, name: &str, value: String, colour: Option<Color32>) {
    egui::Frame::new()
        .fill(Color32::from_gray(36))
        .corner_radius(8)
        .inner_margin(10.0)
        .show(ui, |ui| {
            ui.vertical(|ui| {
                ui.label(RichText::new(name).small().color(MUTED));
                let text = RichText::new(value).size(34.0).strong();
                ui.label(match colour {
                    Some(c) => text.color(c),
                    None => text,
                });
            });
        });
}

/// A section's title.
fn title(ui: &mut Ui, text: &str) {
    ui.add_space(8.0);
    ui.label(RichText::new(text).strong().size(32.0));
}

/// A table: its header and rows of cells, in small type.
fn table(ui: &mut Ui, id: &str, header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) {
    Grid::new(id)
        .striped(true)
        .spacing(vec2(28.0, 6.0))
        .show(ui, |ui| {
            for h in header {
                ui.label(RichText::new(*h).small().color(MUTED));
            }
            ui.end_row();
            for row in rows {
                for cell in row {
                    ui.label(RichText::new(cell).small());
                }
                ui.end_row();
            }
        });
}

/// The cells of one station's (or server's, item's) figures.
fn figure_cells(key: &str, f: &Figures) -> Vec<String> {
    vec![
        key.to_owned(),
        f.tickets.to_string(),
        time_text(f.median_ms),
        time_text(f.p90_ms),
        f.past_alert.to_string(),
        f.past_late.to_string(),
        format!("{} ({})", f.recalled, f.recalls),
    ]
}

fn figure_header(first: &'static str, report: &ServiceTimeReport) -> Vec<String> {
    vec![
        first.to_owned(),
        "Tickets".to_owned(),
        "Median".to_owned(),
        "90th pct".to_owned(),
        format!(
            "Past {}",
            widgets::duration(i64::from(report.timers.default.alert_secs) * 1000)
        ),
        format!(
            "Late ({})",
            widgets::duration(i64::from(report.timers.default.late_secs) * 1000)
        ),
        "Recalled (recalls)".to_owned(),
    ]
}

fn groups_table(ui: &mut Ui, id: &str, first: &'static str, r: &ServiceTimeReport, g: &[Group]) {
    let header = figure_header(first, r);
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    table(
        ui,
        id,
        &header,
        g.iter().map(|g| figure_cells(&g.key, &g.figures)),
    );
}

/// Local time of day at `ms` in the report's time zone.
fn clock(zone: &str, ms: i64) -> String {
    StoreTimeZone::parse(zone).map_or_else(|_| "--:--".to_owned(), |z| z.clock_text(ms))
}

/// The service-time report.
pub fn service_ui(ui: &mut Ui, r: &ServiceTimeReport) {
    let all = &r.all;
    ui.horizontal_wrapped(|ui| {
        figure(ui, "Tickets", all.tickets.to_string(), None);
        figure(ui, "Median", time_text(all.median_ms), None);
        figure(ui, "90th percentile", time_text(all.p90_ms), None);
        figure(
            ui,
            &format!(
                "Past {}",
                widgets::duration(i64::from(r.timers.default.alert_secs) * 1000)
            ),
            all.past_alert.to_string(),
            (all.past_alert > 0).then_some(ATTENTION),
        );
        figure(
            ui,
            "Late tickets",
            r.late_count.to_string(),
            (r.late_count > 0).then_some(DANGER),
        );
        figure(ui, "Recalled", all.recalled.to_string(), None);
        figure(ui, "Ignored", all.ignored.to_string(), None);
    });
    if all.tickets + all.ignored == 0 {
        ui.label(RichText::new("No tickets finished on this business day.").color(MUTED));
    }
    ui.columns(2, |cols| {
        let left = &mut cols[0];
        title(left, "By station");
        groups_table(left, "by-station", "Station", r, &r.by_station);
        if let Some(last) = &r.last_hour {
            title(
                left,
                &format!("Last hour (to {})", clock(&r.time_zone, last.now_ms)),
            );
            let mut rows = vec![figure_cells("All stations", &last.all)];
            rows.extend(
                last.by_station
                    .iter()
                    .map(|g| figure_cells(&g.key, &g.figures)),
            );
            let header = figure_header("Station", r);
            let header: Vec<&str> = header.iter().map(String::as_str).collect();
            table(left, "last-hour", &header, rows);
        }
        title(
            left,
            &match r.late_count {
                0 => "Late tickets: none".to_owned(),
                n if n > r.late_tickets.len() => {
                    format!("Late tickets: {n} (the {} longest)", r.late_tickets.len())
                }
                n => format!("Late tickets: {n}"),
            },
        );
        table(
            left,
            "late-tickets",
            &["Order", "Station", "Server", "Shown", "Time", "Recalls"],
            r.late_tickets.iter().map(|t| {
                vec![
                    t.number.clone(),
                    t.station.clone(),
                    t.server.clone(),
                    clock(&r.time_zone, t.shown_ms),
                    widgets::duration(t.time_ms),
                    t.recalls.to_string(),
                ]
            }),
        );
        title(left, "By hour");
        let header = figure_header("Hour", r);
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        table(
            left,
            "by-hour",
            &header,
            r.by_hour
                .iter()
                .map(|h| figure_cells(&format!("{:02}:00", h.hour), &h.figures)),
        );
        title(left, "By item");
        groups_table(left, "by-item", "Item", r, &r.by_item);
        title(left, "By server");
        groups_table(left, "by-server", "Server", r, &r.by_server);
        title(left, "By order type");
        groups_table(left, "by-type", "Order type", r, &r.by_order_type);

        let right = &mut cols[1];
        title(right, "Median ticket time by hour (minutes)");
        hours_chart(right, r);
        title(right, "Ticket times (tickets per minute)");
        distribution_chart(right, r);
    });
}

/// Each station's median ticket time, hour by hour in business-day order.
fn hours_chart(ui: &mut Ui, r: &ServiceTimeReport) {
    let cutoff = r.cutoff_hour;
    Plot::new("hours-chart")
        .height(330.0)
        .legend(Legend::default())
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .allow_double_click_reset(false)
        .include_y(0.0)
        .x_axis_formatter(move |mark, _| {
            let rank = mark.value.round();
            if (0.0..24.0).contains(&rank) && (mark.value - rank).abs() < 1e-6 {
                // `rank` is a whole number below 24.
                format!("{:02}", (u32::from(cutoff) + rank as u32) % 24)
            } else {
                String::new()
            }
        })
        .show(ui, |plot| {
            for (i, station) in r.station_hours.iter().enumerate() {
                let points: Vec<[f64; 2]> = station
                    .hours
                    .iter()
                    .filter_map(|h| {
                        let median = h.figures.median_ms?;
                        Some([
                            f64::from(hour_rank(h.hour, cutoff)),
                            median as f64 / 60_000.0,
                        ])
                    })
                    .collect();
                plot.line(
                    Line::new(station.station.clone(), points)
                        .color(PALETTE[i % PALETTE.len()])
                        .width(3.0),
                );
            }
        });
}

/// How many tickets took how long, with the alert and late thresholds marked.
fn distribution_chart(ui: &mut Ui, r: &ServiceTimeReport) {
    let width_min = r.bucket_ms as f64 / 60_000.0;
    let bars: Vec<Bar> = r
        .distribution
        .iter()
        .map(|b| {
            let from = b.from_ms as f64 / 60_000.0;
            let late = b.from_ms >= i64::from(r.timers.default.late_secs) * 1000;
            let alert = b.from_ms >= i64::from(r.timers.default.alert_secs) * 1000;
            Bar::new(from + width_min / 2.0, b.tickets as f64)
                .width(width_min * 0.9)
                .fill(if late {
                    DANGER
                } else if alert {
                    ATTENTION
                } else {
                    GO
                })
        })
        .collect();
    Plot::new("distribution-chart")
        .height(330.0)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .allow_double_click_reset(false)
        .include_y(0.0)
        .include_x(0.0)
        .show(ui, |plot| {
            plot.bar_chart(BarChart::new("Tickets", bars));
            plot.vline(
                VLine::new("Alert", f64::from(r.timers.default.alert_secs) / 60.0)
                    .color(ATTENTION)
                    .width(2.0),
            );
            plot.vline(
                VLine::new("Late", f64::from(r.timers.default.late_secs) / 60.0)
                    .color(DANGER)
                    .width(2.0),
            );
        });
}

fn money_text(m: Money) -> String {
    m.to_string()
}

fn line_rows(groups: &[LineGroup]) -> impl Iterator<Item = Vec<String>> + '_ {
    groups.iter().map(|g| {
        vec![
            if g.name.is_empty() {
                g.key.clone()
            } else {
                g.name.clone()
            },
            g.figures.qty.to_string(),
            money_text(g.figures.gross),
            money_text(g.figures.comps),
            money_text(g.figures.discounts),
            money_text(g.figures.net),
        ]
    })
}

const LINE_HEADER: [&str; 6] = ["", "Qty", "Gross", "Comps", "Discounts", "Net"];

fn check_rows(groups: &[CheckGroup]) -> impl Iterator<Item = Vec<String>> + '_ {
    groups.iter().map(|g| {
        vec![
            g.key.clone(),
            g.checks.to_string(),
            money_text(g.net_sales),
            money_text(g.total),
            money_text(g.tips),
        ]
    })
}

fn adjustments(a: &Adjustments) -> String {
    format!("{} ({} lines, qty {})", money_text(a.value), a.lines, a.qty)
}

/// The sales totals, tenders, tax, voids and comps of a report (shared by Sales and Z).
fn totals_ui(ui: &mut Ui, r: &SalesReport) {
    let t = &r.totals;
    ui.horizontal_wrapped(|ui| {
        figure(ui, "Checks", t.checks.to_string(), None);
        figure(ui, "Guests", t.guests.to_string(), None);
        figure(ui, "Gross", money_text(t.gross), None);
        figure(ui, "Net sales", money_text(t.net_sales), None);
        figure(ui, "Tax", money_text(t.tax), None);
        figure(ui, "Total", money_text(t.total), Some(GO));
        figure(ui, "Payments", money_text(t.payments), None);
        figure(ui, "Tips", money_text(t.tips), None);
        figure(ui, "Refunds", money_text(t.refunds), None);
    });
    ui.columns(2, |cols| {
        let left = &mut cols[0];
        title(left, "Tenders");
        table(
            left,
            "tenders",
            &["Tender", "Payments", "Amount", "Tips", "Refunds"],
            r.tenders.iter().map(|t| {
                vec![
                    t.tender.clone(),
                    t.payments.to_string(),
                    money_text(t.amount),
                    money_text(t.tips),
                    money_text(t.refunds),
                ]
            }),
        );
        title(left, "Tax by rate");
        table(
            left,
            "taxes",
            &["Rate", "Percent", "Base", "Tax"],
            r.taxes.iter().map(|t| {
                vec![
                    if t.inclusive {
                        format!("{} (included)", t.name)
                    } else {
                        t.name.clone()
                    },
                    format!("{}%", t.percent.normalize()),
                    money_text(t.base),
                    money_text(t.tax),
                ]
            }),
        );
        let right = &mut cols[1];
        title(right, "Voids, comps, discounts");
        table(
            right,
            "adjustments",
            &["", "Amount"],
            [
                vec!["Voids".to_owned(), adjustments(&r.voids)],
                vec!["Comps".to_owned(), adjustments(&r.comps)],
                vec![
                    "Line discounts".to_owned(),
                    money_text(r.totals.line_discounts),
                ],
                vec![
                    "Check discounts".to_owned(),
                    money_text(r.totals.check_discounts),
                ],
            ],
        );
        if !r.oversold.is_empty() {
            title(right, "Sold on stock already out");
            table(
                right,
                "oversold",
                &["Order", "Item", "Ingredients"],
                r.oversold
                    .iter()
                    .map(|o| vec![o.number.clone(), o.name.clone(), o.ingredients.join(", ")]),
            );
        }
    });
}

/// Sales that arrived after the day before's Z, and cash drawers counted.
fn late_and_drawers_ui(ui: &mut Ui, r: &SalesReport) {
    title(
        ui,
        &format!(
            "Late, after Z: {} ({})",
            r.late_after_z.len(),
            money_text(r.late_after_z_total)
        ),
    );
    let zone = r.time_zone.clone();
    table(
        ui,
        "late-after-z",
        &["Order", "Made on", "Closed", "Server", "Total"],
        r.late_after_z.iter().map(|l| {
            vec![
                l.sale.number.clone(),
                l.made_on.to_string(),
                clock(&zone, l.sale.closed_ms),
                l.sale.server.clone(),
                money_text(l.sale.total),
            ]
        }),
    );
    title(ui, "Cash drawers counted");
    if r.drawers.is_empty() {
        ui.label(RichText::new("No drawer counted on this day.").color(MUTED));
    }
    table(
        ui,
        "drawers",
        &[
            "Drawer",
            "Counted at",
            "Counted",
            "Expected",
            "Over / short",
            "By",
        ],
        r.drawers.iter().map(|d| {
            vec![
                d.drawer.clone(),
                clock(&zone, d.at_ms),
                money_text(d.counted),
                money_text(d.expected),
                money_text(d.over_short),
                d.staff.clone(),
            ]
        }),
    );
}

/// The sales report.
pub fn sales_ui(ui: &mut Ui, r: &SalesReport) {
    totals_ui(ui, r);
    ui.columns(2, |cols| {
        let left = &mut cols[0];
        title(left, "By category");
        let mut header = LINE_HEADER;
        header[0] = "Category";
        table(left, "by-category", &header, line_rows(&r.by_category));
        title(left, "By item");
        header[0] = "Item";
        table(left, "by-item", &header, line_rows(&r.by_item));
        let right = &mut cols[1];
        title(right, "By server");
        table(
            right,
            "by-server",
            &["Server", "Checks", "Net sales", "Total", "Tips"],
            check_rows(&r.by_server),
        );
        title(right, "By hour");
        table(
            right,
            "by-hour",
            &["Hour", "Checks", "Net sales", "Total", "Tips"],
            check_rows(&r.by_hour),
        );
    });
    late_and_drawers_ui(ui, r);
}

/// The Z report of a business day.
pub fn z_ui(ui: &mut Ui, z: &ZReport) {
    let (state, colour) = if z.closed {
        (
            format!("Z report · business day {} · closed", z.business_day),
            GO,
        )
    } else {
        (
            format!(
                "Business day {} not closed yet: the sales so far (X report)",
                z.business_day
            ),
            ATTENTION,
        )
    };
    ui.label(
        RichText::new(state)
            .strong()
            .color(Color32::WHITE)
            .background_color(colour),
    );
    if let Some(close) = &z.close {
        ui.label(
            RichText::new(format!(
                "Closed by {} (covers {} devices' events)",
                close.origin,
                close.heads.len()
            ))
            .small()
            .color(MUTED),
        );
    }
    totals_ui(ui, &z.report);
    late_and_drawers_ui(ui, &z.report);
    title(ui, &format!("Sales in this Z: {}", z.sales.len()));
    let zone = z.report.time_zone.clone();
    table(
        ui,
        "z-sales",
        &["Order", "Closed", "Server", "Type", "Total", "Paid"],
        z.sales.iter().map(|s| {
            vec![
                s.number.clone(),
                clock(&zone, s.closed_ms),
                s.server.clone(),
                s.order_type.clone(),
                money_text(s.total),
                money_text(s.paid),
            ]
        }),
    );
}

/// The stock report.
pub fn stock_ui(ui: &mut Ui, r: &StockReport) {
    let name_of = |ingredient: &str| -> String {
        r.levels
            .iter()
            .find(|l| l.ingredient == ingredient && !l.name.is_empty())
            .map_or_else(|| ingredient.to_owned(), |l| l.name.clone())
    };
    ui.horizontal_wrapped(|ui| {
        figure(
            ui,
            "Low or out",
            r.low_stock.len().to_string(),
            (!r.low_stock.is_empty()).then_some(ATTENTION),
        );
        figure(
            ui,
            "Items 86'd",
            r.eighty_sixed.len().to_string(),
            (!r.eighty_sixed.is_empty()).then_some(DANGER),
        );
        figure(ui, "Counts", r.variances.len().to_string(), None);
        figure(ui, "Oversold lines", r.oversold.len().to_string(), None);
    });
    ui.columns(2, |cols| {
        let left = &mut cols[0];
        title(left, "Low stock");
        if r.low_stock.is_empty() {
            left.label(RichText::new("Nothing runs low.").color(MUTED));
        }
        table(
            left,
            "low-stock",
            &["Ingredient", "Level", "Days of use", "State"],
            r.low_stock.iter().map(|i| {
                let level = r.levels.iter().find(|l| &l.ingredient == i);
                vec![
                    name_of(i),
                    level.map_or_else(String::new, |l| {
                        format!("{} {}", l.level.normalize(), l.unit)
                    }),
                    level
                        .and_then(|l| l.days_cover)
                        .map_or_else(|| "—".to_owned(), |d| d.round_dp(1).to_string()),
                    if level.is_some_and(|l| l.out) {
                        "OUT".to_owned()
                    } else {
                        "low".to_owned()
                    },
                ]
            }),
        );
        title(left, "86'd items");
        if r.eighty_sixed.is_empty() {
            left.label(RichText::new("Everything can be made.").color(MUTED));
        }
        for item in &r.eighty_sixed {
            left.label(RichText::new(item).color(DANGER));
        }
        title(left, "Counts against expected");
        table(
            left,
            "variances",
            &[
                "Ingredient",
                "Counted at",
                "Expected",
                "Counted",
                "Variance",
            ],
            r.variances.iter().map(|v| {
                vec![
                    name_of(&v.ingredient),
                    v.business_day.to_string(),
                    v.expected.normalize().to_string(),
                    v.counted.normalize().to_string(),
                    v.variance.normalize().to_string(),
                ]
            }),
        );
        title(left, "Received, counted, wasted");
        table(
            left,
            "movements",
            &["Ingredient", "Day", "What", "Quantity"],
            r.movements.iter().map(|m| {
                vec![
                    name_of(&m.ingredient),
                    m.business_day.to_string(),
                    m.kind.clone(),
                    m.qty.normalize().to_string(),
                ]
            }),
        );
        let right = &mut cols[1];
        title(right, "Levels");
        table(
            right,
            "levels",
            &["Ingredient", "Level", "Received", "Sold", "Waste"],
            r.levels.iter().map(|l| {
                vec![
                    name_of(&l.ingredient),
                    format!("{} {}", l.level.normalize(), l.unit),
                    l.received.normalize().to_string(),
                    l.sold.normalize().to_string(),
                    l.waste.normalize().to_string(),
                ]
            }),
        );
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> BusinessDay {
        s.parse().expect("day")
    }

    fn read_on(shown: &str, today: &str) -> ManagerData {
        ManagerData {
            day: Some(day(shown)),
            today: Some(day(today)),
            ..ManagerData::default()
        }
    }

    #[test]
    fn days_step_back_and_forth_but_never_past_today() {
        let data = read_on("2026-05-01", "2026-05-01");
        let mut local = ManagerLocal::default();
        assert!(!local.apply(ManagerTap::DayForward, &data), "not closed");
        assert_eq!(local.day, None, "today has no day after it");
        local.apply(ManagerTap::DayBack, &data);
        assert_eq!(local.day, Some(day("2026-04-30")));
        local.apply(ManagerTap::DayBack, &read_on("2026-04-30", "2026-05-01"));
        assert_eq!(local.day, Some(day("2026-04-29")));
        local.apply(ManagerTap::DayForward, &read_on("2026-04-29", "2026-05-01"));
        assert_eq!(local.day, Some(day("2026-04-30")));
        local.apply(ManagerTap::DayForward, &read_on("2026-04-30", "2026-05-01"));
        assert_eq!(local.day, None, "back to today, live");
        local.apply(ManagerTap::DayBack, &data);
        local.apply(ManagerTap::Today, &data);
        assert_eq!(local.day, None);
        assert!(local.apply(ManagerTap::Close, &data));
    }

    #[test]
    fn a_step_with_nothing_read_yet_goes_nowhere() {
        let mut local = ManagerLocal::default();
        local.apply(ManagerTap::DayBack, &ManagerData::default());
        assert_eq!(local.day, None);
        let mut local = ManagerLocal {
            tab: ReportTab::Z,
            day: Some(day("2026-04-01")),
        };
        local.apply(ManagerTap::DayForward, &ManagerData::default());
        assert_eq!(local.day, Some(day("2026-04-01")));
        local.apply(ManagerTap::Tab(ReportTab::Stock), &ManagerData::default());
        assert_eq!(local.tab, ReportTab::Stock);
    }

    #[test]
    fn only_managers_and_owners_see_reports() {
        let person = |role: &str| PersonView {
            staff: "x".into(),
            name: "X".into(),
            role: role.into(),
        };
        assert!(sees_reports(&person("manager")));
        assert!(sees_reports(&person("owner")));
        assert!(!sees_reports(&person("server")));
        assert!(!sees_reports(&person("bartender")));
        assert!(!sees_reports(&person("chef")));
    }
}
