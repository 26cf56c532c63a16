//! A running device's payment desk: the control socket's `payment` command (what `pass pay …`
//! and the payment screens send) carried out on the device, one payment at a time.
//!
//! Each device has its own desk state: a lock that lets one payment operation run at a time
//! (a terminal has one card reader; two submissions of one attempt then meet the same recorded
//! payment), its sign-in throttle, and its cash drawer. The card terminal and the printer are
//! named in the device's payment settings, read for each command.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::{Value, json};

use super::PaymentCommand;
use super::card::CardTerminal;
use super::desk::{Desk, PaymentsError, Towards};
use super::printer::{NetworkPrinter, ReceiptPrinter};
use super::provider::{CashDrawer, PaymentProvider};
use super::settings::{self, PaymentSettings};
use super::view;
use crate::device::DeviceHandle;
use crate::domain::staff::{SignInThrottle, ThrottlePolicy};
use crate::projection::{load_check_fold, payments as proj};

/// How long a printer may take to accept a receipt.
const PRINTER_TIMEOUT: Duration = Duration::from_secs(3);

/// One device's desk state.
struct DeskState {
    /// One payment operation at a time.
    busy: Mutex<()>,
    throttle: Mutex<SignInThrottle>,
    cash: CashDrawer,
}

/// The desk state of each device in this process, by database path.
fn desk_state(db: PathBuf) -> Arc<DeskState> {
    static DESKS: OnceLock<Mutex<BTreeMap<PathBuf, Arc<DeskState>>>> = OnceLock::new();
    let mut desks = DESKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Arc::clone(desks.entry(db).or_insert_with(|| {
        Arc::new(DeskState {
            busy: Mutex::new(()),
            throttle: Mutex::new(SignInThrottle::new(ThrottlePolicy::default())),
            cash: CashDrawer::new(),
        })
    }))
}

fn text(e: PaymentsError) -> String {
    e.to_string()
}

/// Carries out a payment command on a running device; the answer as JSON, or why nothing was
/// done (or, for a declined card, taken).
pub fn handle(device: &DeviceHandle, command: PaymentCommand) -> Result<Value, String> {
    let journal = device.journal();
    let path = settings::PaymentSettings::path_for(journal.path());
    if let PaymentCommand::Setup {
        card_terminal,
        printer,
        card_answer_ms,
        card_attempts,
    } = command
    {
        let mut s = PaymentSettings::load(&path)?;
        if let Some(t) = card_terminal {
            s.card_terminal = (!t.trim().is_empty())
                .then(|| settings::address(&t, None))
                .transpose()
                .map_err(|e| format!("card terminal {e}"))?;
        }
        if let Some(p) = printer {
            s.printer = (!p.trim().is_empty())
                .then(|| settings::address(&p, Some(settings::PRINTER_PORT)))
                .transpose()
                .map_err(|e| format!("printer {e}"))?;
        }
        if let Some(ms) = card_answer_ms {
            s.card_answer_ms = ms;
        }
        if let Some(n) = card_attempts {
            s.card_attempts = n;
        }
        s.save(&path)?;
        return Ok(json!({"ok": true, "settings": s}));
    }
    let s = PaymentSettings::load(&path)?;
    let state = desk_state(journal.path().to_path_buf());
    let _one_at_a_time = state
        .busy
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let card = s
        .card_terminal
        .as_deref()
        .map(|a| CardTerminal::new(a, s.card_timing()));
    let printer = s
        .printer_address()
        .map(|a| NetworkPrinter::new(&a, PRINTER_TIMEOUT));
    let desk = Desk {
        journal,
        device: device.device_id(),
        now_ms: device.now_ms(),
        cash: &state.cash,
        card: card.as_ref().map(|c| c as &dyn PaymentProvider),
        card_terminal: s.card_terminal.as_deref(),
        printer: printer.as_ref().map(|p| p as &dyn ReceiptPrinter),
        throttle: &state.throttle,
    };
    let answer = run(&desk, command, &s);
    // Whatever was written (a payment, a decline, a failed print) goes out now.
    device.note_journal_changed();
    answer
}

fn run(desk: &Desk<'_>, command: PaymentCommand, s: &PaymentSettings) -> Result<Value, String> {
    match command {
        PaymentCommand::View { check } => {
            let fold = desk
                .journal
                .read(|db| load_check_fold(db, &check))
                .map_err(|e| e.to_string())?;
            let view = desk
                .journal
                .read(|db| {
                    view::payment_view(db, &fold, s.card_terminal.is_some(), s.printer.is_some())
                })
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("there is no check {check}"))?;
            Ok(json!({"ok": true, "view": view}))
        }
        PaymentCommand::Cash {
            check,
            pin,
            tendered,
            amount,
            seat,
            tip,
            attempt,
        } => desk
            .cash(
                &pin,
                &Towards {
                    check,
                    amount,
                    seat,
                    tip,
                    attempt,
                },
                tendered,
            )
            .map_err(text),
        PaymentCommand::Card {
            check,
            pin,
            amount,
            seat,
            tip,
            attempt,
            manager_pin,
        } => desk
            .card_sale(
                &pin,
                &Towards {
                    check,
                    amount,
                    seat,
                    tip,
                    attempt,
                },
                manager_pin.as_deref(),
            )
            .map_err(text),
        PaymentCommand::OpenTab {
            check,
            pin,
            hold,
            seat,
            attempt,
        } => desk
            .open_tab(&pin, &check, hold, seat, attempt.as_deref())
            .map_err(text),
        PaymentCommand::CloseTab {
            check,
            pin,
            payment,
            tip,
            attempt,
        } => desk
            .close_tab(&pin, &check, payment.as_deref(), tip, attempt.as_deref())
            .map_err(text),
        PaymentCommand::AdjustTip {
            check,
            pin,
            payment,
            tip,
            attempt,
        } => desk
            .adjust_tip(&pin, &check, &payment, tip, attempt.as_deref())
            .map_err(text),
        PaymentCommand::Refund {
            check,
            manager_pin,
            payment,
            amount,
            reason,
            attempt,
        } => desk
            .refund(
                &manager_pin,
                &check,
                &payment,
                amount,
                &reason,
                attempt.as_deref(),
            )
            .map_err(text),
        PaymentCommand::Upload { pin } => desk.upload(&pin).map_err(text),
        PaymentCommand::BatchClose { pin, attempt } => {
            desk.batch_close(&pin, attempt.as_deref()).map_err(text)
        }
        PaymentCommand::DrawerOpen { pin, float } => desk.drawer_open(&pin, float).map_err(text),
        PaymentCommand::Drawer { pin } => desk.drawer(&pin).map_err(text),
        PaymentCommand::DrawerCount { pin, counted } => {
            desk.drawer_count(&pin, counted).map_err(text)
        }
        PaymentCommand::Receipt {
            check,
            copy,
            payment,
            print,
        } => {
            let laid_out = desk
                .receipt(&check, copy, payment.as_deref())
                .map_err(text)?;
            let printed = if print {
                desk.print(&check, copy, payment.as_deref()).map_err(text)?
            } else {
                Value::Null
            };
            let fold = desk
                .journal
                .read(|db| load_check_fold(db, &check))
                .map_err(|e| e.to_string())?;
            let preview = view::receipt_preview(&fold, &laid_out, s.printer.is_some());
            Ok(
                json!({"ok": true, "preview": preview, "styles": laid_out.lines.iter().map(|l| l.style).collect::<Vec<_>>(), "printed": printed}),
            )
        }
        PaymentCommand::Alerts => {
            let alerts = desk.journal.read(proj::alerts).map_err(|e| e.to_string())?;
            Ok(json!({"ok": true, "alerts": alerts}))
        }
        PaymentCommand::Setup { .. } => Err("setup is handled before the desk".to_owned()),
    }
}
