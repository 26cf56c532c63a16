//! Bevy adapter for the egui screens: a camera for egui to draw on, the touch style, and one
//! system per frame that draws the terminal's view and applies the tap.
//!
//! While the payment screens are open, the same system reads the check's payment view (and the
//! receipt preview shown) from the device, as the control socket's `payment` command does, and
//! hands each payment tap to the device's payment desk on a thread of its own: a card terminal
//! may take seconds to answer, and the screen keeps drawing (saying what it waits for) while it
//! does. The answer goes back to the payment screen, which decides what becomes of the attempt.
//!
//! While the manager's reports are open, it reads the report of their tab and day from the
//! device's journal (as `pass report` computes it): when the tab or day changes, when the journal
//! changed (at most every [`REPORTS_AFTER_CHANGE`]), and every [`REPORTS_REFRESH`] whatever
//! changed (today's "last hour" moves on with the clock). Nothing is read while they are closed.

use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, EguiStartupSet, egui};
use pass_shared::device::DeviceHandle;
use pass_shared::event::ReceiptCopy;
use pass_shared::payments::device as desk;
use pass_shared::terminal::views::View;
use tokio::sync::watch;

use super::{PaymentStart, ReportsStart};
use crate::ui::pay::{PayScreen, PayTap, Payments};
use crate::ui::{self, ManagerData, ManagerLocal, Tap};

const BACKGROUND: Color = Color::srgb_u8(0x10, 0x10, 0x10);
/// The view is read again at least this often (timers on the floor, the link).
const REFRESH: Duration = Duration::from_millis(250);
/// The reports shown are read again at most this often while the journal keeps changing.
const REPORTS_AFTER_CHANGE: Duration = Duration::from_secs(2);
/// The reports shown are read again at least this often.
const REPORTS_REFRESH: Duration = Duration::from_secs(10);

/// The device this terminal runs.
#[derive(Resource, Clone)]
pub struct Device(pub DeviceHandle);

/// The view drawn, when it was read, and what the screens remember between frames.
#[derive(Resource)]
pub struct Shown {
    pub view: Option<Result<View, String>>,
    read_at: Option<Instant>,
    changes: watch::Receiver<u64>,
    pub local: ui::Local,
    /// Read the view again this frame, whatever changed (the benchmark's worst case).
    pub always_read: bool,
    /// What the payment screens show, read for the check they are open on.
    payments: Payments,
    /// The receipt preview read last: check, copy and payment.
    preview_of: Option<(String, ReceiptCopy, Option<String>)>,
    /// Answers of the payment desk, from its thread.
    answers: Mutex<Receiver<Answered>>,
    answer_to: Sender<Answered>,
    /// A screen to open at start (`--show-payment`, `--show-receipt`).
    start_on: Option<PaymentStart>,
    /// The reports to open at start (`--show-reports`).
    reports_start: Option<ReportsStart>,
    /// What the manager's reports show, read for their tab and day.
    reports: ManagerData,
    /// The tab and day the reports were read for, and when.
    reports_of: Option<ManagerLocal>,
    reports_at: Option<Instant>,
    /// The journal changed since the reports were read.
    reports_stale: bool,
}

/// What the payment desk said to a tap.
enum Answered {
    Payment(Result<String, String>),
    Print(Result<String, String>),
}

pub(super) fn plugin(app: &mut App) {
    app.insert_resource(ClearColor(BACKGROUND))
        .add_systems(
            PreStartup,
            spawn_camera.before(EguiStartupSet::InitContexts),
        )
        .add_systems(Startup, (apply_touch_style, start))
        .add_systems(EguiPrimaryContextPass, draw);
}

/// egui makes its primary context on the first camera.
fn spawn_camera(mut commands: Commands) {
    commands.spawn((Name::new("Camera"), Camera2d));
}

fn apply_touch_style(mut contexts: EguiContexts) -> Result {
    contexts.ctx_mut()?.all_styles_mut(ui::touch_style);
    Ok(())
}

fn start(
    mut commands: Commands,
    device: Res<Device>,
    start_on: Option<Res<PaymentStart>>,
    reports_start: Option<Res<ReportsStart>>,
) {
    let (answer_to, answers) = mpsc::channel();
    commands.insert_resource(Shown {
        view: None,
        read_at: None,
        changes: device.0.changes(),
        local: ui::Local::default(),
        always_read: false,
        payments: Payments::default(),
        preview_of: None,
        answers: Mutex::new(answers),
        answer_to,
        start_on: start_on.map(|s| *s),
        reports_start: reports_start.map(|s| *s),
        reports: ManagerData::default(),
        reports_of: None,
        reports_at: None,
        reports_stale: false,
    });
}

/// Whether the views were read this frame, and whether the journal (or a tap) changed them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Read {
    view: bool,
    changed: bool,
}

/// Reads the terminal's view (when the journal changed, after a tap, or every [`REFRESH`]).
fn read_view(device: &DeviceHandle, shown: &mut Shown) -> Read {
    let changed = shown.changes.has_changed().unwrap_or(false) || shown.read_at.is_none();
    let stale = shown.read_at.is_none_or(|at| at.elapsed() >= REFRESH);
    if shown.view.is_some() && !changed && !stale && !shown.always_read {
        return Read {
            view: false,
            changed: false,
        };
    }
    shown.changes.mark_unchanged();
    shown.read_at = Some(Instant::now());
    shown.view = Some(
        device
            .with_terminal(|t, h| t.view(h).map_err(|e| e.to_string()))
            .unwrap_or_else(|| Err("this device is not an order terminal".to_owned())),
    );
    Read {
        view: true,
        changed,
    }
}

/// Opens the payment screens asked for at start, once the check they are for is shown.
fn open_start_screen(shown: &mut Shown) {
    let Some(start) = shown.start_on else { return };
    let Some(Ok(View {
        screen: pass_shared::terminal::views::ScreenView::Order(order),
        ..
    })) = &shown.view
    else {
        return;
    };
    shown.start_on = None;
    shown.local.open_payment(&order.check.check);
    if let (PaymentStart::Receipt(copy), Some(pay)) = (start, &mut shown.local.pay) {
        pay.preview(copy, None);
    }
}

/// Opens the manager's reports asked for at start, once a manager or owner is signed in.
fn open_start_reports(shown: &mut Shown) {
    let Some(ReportsStart(tab)) = shown.reports_start else {
        return;
    };
    let Some(Ok(view)) = &shown.view else { return };
    if !view
        .status
        .signed_in
        .as_ref()
        .is_some_and(ui::manager::sees_reports)
    {
        return;
    }
    shown.reports_start = None;
    shown.local.manager = Some(ManagerLocal::on(tab));
}

/// Reads the report the manager's screen shows, for its tab and day (see the module
/// documentation for when); nothing while it is closed.
fn read_reports(device: &DeviceHandle, shown: &mut Shown, read: Read) {
    let Some(asked) = shown.local.manager else {
        shown.reports = ManagerData::default();
        shown.reports_of = None;
        shown.reports_at = None;
        shown.reports_stale = false;
        return;
    };
    shown.reports_stale |= read.changed;
    let since = shown.reports_at.map(|at| at.elapsed());
    let due = shown.reports_of != Some(asked)
        || since.is_none_or(|s| s >= REPORTS_REFRESH)
        || (shown.reports_stale && since.is_none_or(|s| s >= REPORTS_AFTER_CHANGE));
    if !due {
        return;
    }
    let started = Instant::now();
    shown.reports = ManagerData::read(device.journal(), asked, device.now_ms());
    shown.reports_of = Some(asked);
    shown.reports_at = Some(Instant::now());
    shown.reports_stale = false;
    debug!(
        tab = ?asked.tab,
        ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "report read for the manager's screen"
    );
}

/// Reads what the payment screens show, for the check they are open on: the payment view
/// whenever the terminal's view was read, the receipt preview (laid out from the menu and the
/// staff list) only when the journal changed or another copy is asked for.
fn read_payments(device: &DeviceHandle, shown: &mut Shown, read: Read) {
    let Some(pay) = &shown.local.pay else {
        shown.payments.view = None;
        shown.payments.preview = None;
        shown.preview_of = None;
        return;
    };
    let other_check = match &shown.payments.view {
        Some(Ok(view)) => view.check != pay.check,
        Some(Err(_)) => false,
        None => true,
    };
    if read.view || other_check {
        shown.payments.view = Some(desk::payment_view(device, &pay.check));
    }
    let PayScreen::Receipt { copy, payment, .. } = &pay.screen else {
        shown.payments.preview = None;
        shown.preview_of = None;
        return;
    };
    let key = (pay.check.clone(), *copy, payment.clone());
    if read.changed || shown.preview_of.as_ref() != Some(&key) {
        shown.payments.preview = Some(desk::receipt_preview(
            device,
            &key.0,
            key.1,
            key.2.as_deref(),
        ));
        shown.preview_of = Some(key);
    }
}

/// Hands the payment desk's answers to the payment screen.
fn take_answers(shown: &mut Shown) {
    loop {
        let answered = match shown.answers.lock() {
            Ok(answers) => answers.try_recv(),
            Err(_) => return,
        };
        let Ok(answered) = answered else { return };
        shown.payments.working = None;
        shown.read_at = None;
        let Some(pay) = &mut shown.local.pay else {
            continue;
        };
        match answered {
            Answered::Payment(result) => pay.answered(result),
            Answered::Print(result) => pay.printed(result),
        }
    }
}

/// What the payment desk answered, in words.
fn said(answer: &serde_json::Value) -> String {
    answer["message"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| "done".to_owned())
}

/// Carries out a payment screen's tap on the payment desk, on a thread of its own.
fn pay(device: &DeviceHandle, shown: &mut Shown, tap: PayTap) {
    if let Some(busy) = &shown.payments.working {
        info!(busy = %busy, "a payment tap while the desk is busy: not sent");
        return;
    }
    let to = shown.answer_to.clone();
    let device = device.clone();
    let (working, job): (String, Box<dyn FnOnce() -> Answered + Send>) = match tap {
        PayTap::Payment {
            check,
            intent,
            attempt,
        } => {
            // The person signed in takes the payment (see `ui::pay`); a manager's PIN travels
            // in the intent.
            let Some(staff) = device
                .with_terminal(|t, _| t.session().signed_in().map(|s| s.staff.clone()))
                .flatten()
            else {
                if let Some(pay) = &mut shown.local.pay {
                    pay.answered(Err("sign in first".to_owned()));
                }
                return;
            };
            let working = match &intent {
                pass_shared::payments::view::PaymentIntent::Cash { .. } => "Taking cash…",
                pass_shared::payments::view::PaymentIntent::Refund { .. } => "Refunding…",
                _ => "Waiting for the card terminal…",
            };
            let command = intent.command(&check, "", attempt);
            let job = move || {
                Answered::Payment(desk::handle_as(&device, command, Some(&staff)).map(|a| said(&a)))
            };
            (working.to_owned(), Box::new(job))
        }
        PayTap::Receipt { check, intent } => {
            let Some(command) = intent.command(&check) else {
                return;
            };
            let job = move || {
                Answered::Print(desk::handle(&device, command).and_then(|a| {
                    let printed = &a["printed"];
                    match printed["printed"].as_bool() {
                        Some(true) => Ok(format!(
                            "Printed on {}",
                            printed["printer"].as_str().unwrap_or("the printer")
                        )),
                        Some(false) => Err(format!(
                            "Not printed: {}",
                            printed["error"].as_str().unwrap_or("unknown error")
                        )),
                        None => Ok("Laid out".to_owned()),
                    }
                }))
            };
            ("Printing…".to_owned(), Box::new(job))
        }
    };
    let spawned = std::thread::Builder::new()
        .name("payment-desk".into())
        .spawn(move || {
            // The screen may be gone by the time the desk answers: then nobody waits for it.
            let _ = to.send(job());
        });
    match spawned {
        Ok(_) => shown.payments.working = Some(working),
        Err(e) => {
            error!(error = %e, "no thread for the payment desk");
            if let Some(pay) = &mut shown.local.pay {
                pay.answered(Err(format!(
                    "this terminal could not start the payment: {e}"
                )));
            }
        }
    }
}

/// The screens are laid out for 1920 × 1080 points; a smaller or larger window zooms them to fit.
fn fit_to_window(ctx: &egui::Context) {
    let pixels = ctx.viewport_rect().size() * ctx.pixels_per_point();
    let zoom = (pixels.x / 1920.0).min(pixels.y / 1080.0).clamp(0.5, 3.0);
    if zoom.is_finite() && (ctx.zoom_factor() - zoom).abs() > 0.01 {
        ctx.set_zoom_factor(zoom);
    }
}

fn draw(mut contexts: EguiContexts, device: Res<Device>, mut shown: ResMut<Shown>) -> Result {
    let ctx = contexts.ctx_mut()?.clone();
    fit_to_window(&ctx);
    let shown = &mut *shown;
    take_answers(shown);
    let read = read_view(&device.0, shown);
    open_start_screen(shown);
    open_start_reports(shown);
    read_payments(&device.0, shown, read);
    read_reports(&device.0, shown, read);
    let mut tapped = None;
    // egui 0.36 shows panels inside a `Ui`: one covering the window, on the background layer
    // (dialogs go on layers above it).
    let mut window_ui = egui::Ui::new(
        ctx.clone(),
        egui::Id::new("terminal"),
        egui::UiBuilder::new()
            .layer_id(egui::LayerId::background())
            .max_rect(ctx.viewport_rect()),
    );
    egui::CentralPanel::default().show(&mut window_ui, |ui| match &shown.view {
        Some(Ok(view)) => {
            tapped = ui::screens_and_reports_ui(
                ui,
                view,
                &shown.payments,
                &shown.reports,
                &mut shown.local,
            );
        }
        Some(Err(e)) => {
            ui.heading("This terminal cannot read its journal");
            ui.label(e);
        }
        None => {}
    });
    let touched = ctx.input(|i| i.pointer.any_pressed());
    let reading_reports = shown.local.manager.is_some() && touched;
    if (shown.local.pay.is_some() && (touched || shown.payments.working.is_some()))
        || reading_reports
    {
        // The payment screens' and the reports' taps are not the terminal's intents: the
        // person taking the payment, or the manager reading, is not signed out as idle.
        device.0.with_terminal(|t, h| t.touch(h));
    }
    match tapped {
        Some(Tap::Terminal(intent)) => {
            let shown_intent = format!("{intent:?}");
            match device.0.with_terminal(|t, h| t.apply(h, intent)) {
                Some(Ok(_)) => debug!(intent = %shown_intent, "done"),
                // The refusal is the view's notice.
                Some(Err(e)) => info!(intent = %shown_intent, "refused: {e}"),
                None => error!("this device is not an order terminal"),
            }
            shown.read_at = None;
            ctx.request_repaint();
        }
        // Never logged with its intent: a manager's PIN may be in it.
        Some(Tap::Pay(tap)) => {
            pay(&device.0, shown, tap);
            shown.read_at = None;
            ctx.request_repaint();
        }
        None => {}
    }
    if shown.payments.working.is_some() {
        // Keep drawing while the desk works, so its answer shows as soon as it comes.
        ctx.request_repaint_after(Duration::from_millis(100));
    }
    if shown.local.manager != shown.reports_of {
        // A new tab or day: its report is read on the next frame.
        ctx.request_repaint();
    }
    Ok(())
}
