//! Screen tests of the manager's reports: a real journal (the sample store and demo staff:
//! Maria, manager, 2580; Sam, server, 1357) with five finished tickets on the cold station, one
//! check paid in cash and closed, a cash drawer counted and the day closed; the reports read from
//! it exactly as the app reads them ([`ManagerData::read`]) and drawn with the terminal's
//! screens, every tap applied as the app applies it.

use std::sync::Arc;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use order_terminal::ui::{self, Local, ManagerData, ManagerLocal, Payments, ReportTab};
use pass_shared::clock::ManualClock;
use pass_shared::terminal::views::ScreenView;
use pass_shared::terminal::{FloorPlan, JournalHost, Terminal, TerminalSettings};
use pass_tests::evening::{NOW, TICKET_MINUTES, day, evening};

const MIN: i64 = 60_000;

/// The terminal over the evening's journal, and what the screens remember and were given.
struct Rig {
    terminal: Terminal,
    host: JournalHost,
    _dir: tempfile::TempDir,
    local: Local,
    reports: ManagerData,
    /// The screen drawn last ("sign_in", "floor", "order").
    screen: &'static str,
}

fn rig() -> Rig {
    let dir = tempfile::tempdir().expect("dir");
    let clock = ManualClock::starting_at(NOW);
    let journal = evening(dir.path(), &clock);
    Rig {
        terminal: Terminal::new(TerminalSettings::new("t1"), FloorPlan::default_plan()),
        host: JournalHost::new(journal, Arc::new(clock), "t1"),
        _dir: dir,
        local: Local::default(),
        reports: ManagerData::default(),
        screen: "",
    }
}

/// Draws the terminal with the reports read as the app reads them: for the tab and day asked,
/// only while the reports are open.
fn harness(rig: Rig) -> Harness<'static, Rig> {
    Harness::builder()
        .with_size(egui::vec2(1920.0, 1080.0))
        .build_ui_state(
            |ui, rig: &mut Rig| {
                ui.ctx().all_styles_mut(ui::touch_style);
                rig.reports = match rig.local.manager {
                    Some(asked) => ManagerData::read(&rig.host.journal, asked, NOW),
                    None => ManagerData::default(),
                };
                let view = rig.terminal.view(&rig.host).expect("view");
                rig.screen = match view.screen {
                    ScreenView::SignIn(_) => "sign_in",
                    ScreenView::Floor(_) => "floor",
                    ScreenView::Order(_) => "order",
                };
                let tapped = ui::screens_and_reports_ui(
                    ui,
                    &view,
                    &Payments::default(),
                    &rig.reports,
                    &mut rig.local,
                );
                if let Some(ui::Tap::Terminal(intent)) = tapped {
                    let _ = rig.terminal.apply(&rig.host, intent);
                }
            },
            rig,
        )
}

/// A finger's tap at `pos`: down on one frame, up on the next.
fn tap_at<S>(h: &mut Harness<'_, S>, pos: egui::Pos2) {
    h.hover_at(pos);
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
        h.step();
    }
    h.run();
}

fn tap<S>(h: &mut Harness<'_, S>, label: &str) {
    let pos = h.get_by_label(label).rect().center();
    tap_at(h, pos);
}

fn shows<S>(h: &Harness<'_, S>, text: &str) -> bool {
    h.query_all_by_label(text).next().is_some()
}

fn shows_containing<S>(h: &Harness<'_, S>, text: &str) -> bool {
    h.query_all_by_label_contains(text).next().is_some()
}

fn sign_in(h: &mut Harness<'_, Rig>, pin: &str) {
    h.run();
    assert_eq!(h.state().screen, "sign_in");
    for digit in pin.chars() {
        tap(h, &digit.to_string());
    }
    tap(h, "Sign in");
    assert_eq!(h.state().screen, "floor");
}

#[test]
fn only_a_manager_finds_the_reports_button() {
    let mut h = harness(rig());
    sign_in(&mut h, "1357");
    assert!(shows(&h, "Sign out"));
    assert!(!shows(&h, "Reports"), "a server sees no reports");
    tap(&mut h, "Sign out");
    sign_in(&mut h, "2580");
    assert!(shows(&h, "Reports"), "the manager does");
}

#[test]
fn the_service_times_show_the_medians_and_percentiles_the_report_computed() {
    let mut h = harness(rig());
    sign_in(&mut h, "2580");
    tap(&mut h, "Reports");
    assert_eq!(h.state().local.manager, Some(ManagerLocal::default()));
    let report = match &h.state().reports.service {
        Some(Ok(r)) => r.clone(),
        other => panic!("no service-time report: {other:?}"),
    };
    // The report holds what the kitchen did, and the screen shows the report's figures.
    assert_eq!(report.all.tickets, TICKET_MINUTES.len());
    assert_eq!(report.all.median_ms, Some(7 * MIN));
    assert_eq!(report.all.p90_ms, Some(12 * MIN));
    assert_eq!(report.late_count, 2);
    assert!(shows(&h, "Today · 2026-01-01"));
    for (name, value) in [("Median", "7:00"), ("90th percentile", "12:00")] {
        assert!(shows(&h, name), "{name}");
        assert!(shows(&h, value), "{name} {value}");
    }
    assert!(shows(&h, "saute_cold"), "the station's row");
    assert!(shows(&h, "Late tickets: 2"));
    // The late tickets, longest first, by order number.
    assert!(shows(&h, "K5") && shows(&h, "K4"));
    assert!(!shows(&h, "K1"), "on time: not listed");
    assert!(
        shows_containing(&h, "Last hour"),
        "today's report has the live last hour"
    );
}

#[test]
fn the_tabs_switch_and_the_z_shows_the_days_total_and_drawer() {
    let mut h = harness(rig());
    sign_in(&mut h, "2580");
    tap(&mut h, "Reports");

    tap(&mut h, "Z report");
    assert_eq!(
        h.state().local.manager.map(|m| m.tab),
        Some(ReportTab::Z),
        "the Z tab"
    );
    let z = match &h.state().reports.z {
        Some(Ok(z)) => z.clone(),
        other => panic!("no Z report: {other:?}"),
    };
    assert!(z.closed);
    assert_eq!(z.sales.len(), 1);
    assert_eq!(z.report.totals.total, z.report.totals.payments);
    assert!(shows(&h, "Z report · business day 2026-01-01 · closed"));
    let total = z.report.totals.total.to_string();
    assert!(shows(&h, "Total"));
    assert!(shows(&h, &total), "the Z total {total}");
    // The drawer: 98.00 counted against 100.00 expected, 2.00 short.
    for figure in ["98.00", "100.00", "-2.00"] {
        assert!(shows(&h, figure), "drawer {figure}");
    }

    tap(&mut h, "Sales");
    assert!(shows(&h, "By category") && shows(&h, "By server"));
    assert!(shows(&h, &total), "the same sale on the sales tab");

    tap(&mut h, "Stock");
    assert!(shows(&h, "Low stock") && shows(&h, "86'd items"));

    tap(&mut h, "Service times");
    assert!(shows(&h, "Median"));
}

#[test]
fn the_day_before_has_its_own_reports_and_close_goes_back_to_the_floor() {
    let mut h = harness(rig());
    sign_in(&mut h, "2580");
    tap(&mut h, "Reports");
    tap(&mut h, "Z report");
    tap(&mut h, "Day before");
    assert_eq!(
        h.state().local.manager.and_then(|m| m.day),
        Some(day("2025-12-31"))
    );
    assert!(shows(&h, "2025-12-31"));
    assert!(
        shows_containing(&h, "not closed yet"),
        "nothing closed then"
    );
    tap(&mut h, "Service times");
    assert!(shows_containing(&h, "No tickets finished"));
    assert!(
        !shows_containing(&h, "Last hour"),
        "the live last hour is today's only"
    );
    tap(&mut h, "Z report");
    tap(&mut h, "Day after");
    assert_eq!(h.state().local.manager.and_then(|m| m.day), None, "today");
    assert!(shows(&h, "Z report · business day 2026-01-01 · closed"));

    tap(&mut h, "Close");
    assert_eq!(h.state().local.manager, None);
    assert_eq!(h.state().screen, "floor");
    assert!(shows(&h, "Reports"), "the button is still there");
}

#[test]
fn the_reports_close_when_the_manager_signs_out() {
    let mut h = harness(rig());
    sign_in(&mut h, "2580");
    tap(&mut h, "Reports");
    tap(&mut h, "Sign out");
    assert_eq!(h.state().local.manager, None);
    assert_eq!(h.state().screen, "sign_in");
}

#[test]
fn a_report_that_cannot_be_made_says_why() {
    let data = ManagerData {
        service: Some(Err("the database is at schema version 4".into())),
        ..ManagerData::default()
    };
    let mut h = Harness::builder()
        .with_size(egui::vec2(1920.0, 1080.0))
        .build_ui(move |ui| {
            ui.ctx().all_styles_mut(ui::touch_style);
            let _ = ui::manager::manager_ui(ui, &data, &ManagerLocal::default());
        });
    h.run();
    assert!(shows_containing(
        &h,
        "Could not read the service times: the database is at schema version 4"
    ));
    let mut h = Harness::builder()
        .with_size(egui::vec2(1920.0, 1080.0))
        .build_ui(|ui| {
            ui.ctx().all_styles_mut(ui::touch_style);
            let _ = ui::manager::manager_ui(
                ui,
                &ManagerData::default(),
                &ManagerLocal::on(ReportTab::Stock),
            );
        });
    h.run();
    assert!(shows(&h, "Reading the stock…"));
}
