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
use super::desk::Operator;
use super::desk::{Desk, PaymentsError, Towards};
use super::printer::{NetworkPrinter, ReceiptPrinter};
use super::provider::{CashDrawer, PaymentProvider};
use super::settings::{self, PaymentSettings};
use super::view::{self, PaymentView, ReceiptPreview};
use crate::device::DeviceHandle;
use crate::domain::check::StaffId;
use crate::domain::staff::{SignInThrottle, ThrottlePolicy};
use crate::event::ReceiptCopy;
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
    handle_as(device, command, None)
}

/// [`handle`], for the person a terminal's session has signed in (`signed_in`): the command's
/// own `pin` is then not asked for (that person typed theirs to sign in, and their role is
/// still checked against the staff list as it is now). A manager's PIN (a refund, an offline
/// payment over the cap) is always the one the command carries. `None`: the command's PIN.
pub fn handle_as(
    device: &DeviceHandle,
    command: PaymentCommand,
    signed_in: Option<&StaffId>,
) -> Result<Value, String> {
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
    let answer = carry_out(&desk, command, signed_in);
    // Whatever was written (a payment, a decline, a failed print) goes out now.
    device.note_journal_changed();
    answer
}

/// The payment screen of `check` on a running device. Reads only: it does not wait for a
/// payment in progress on the device.
pub fn payment_view(device: &DeviceHandle, check: &str) -> Result<PaymentView, String> {
    let s = PaymentSettings::load(&PaymentSettings::path_for(device.journal().path()))?;
    view_of(
        device.journal(),
        check,
        s.card_terminal.is_some(),
        s.printer_address().is_some(),
    )
}

/// The receipt preview of `copy` of `check` (a merchant copy is of one card `payment`) on a
/// running device, without printing it. Reads only.
pub fn receipt_preview(
    device: &DeviceHandle,
    check: &str,
    copy: ReceiptCopy,
    payment: Option<&str>,
) -> Result<ReceiptPreview, String> {
    let s = PaymentSettings::load(&PaymentSettings::path_for(device.journal().path()))?;
    let state = desk_state(device.journal().path().to_path_buf());
    let desk = Desk {
        journal: device.journal(),
        device: device.device_id(),
        now_ms: device.now_ms(),
        cash: &state.cash,
        card: None,
        card_terminal: s.card_terminal.as_deref(),
        printer: None,
        throttle: &state.throttle,
    };
    preview_of(&desk, check, copy, payment, s.printer_address().is_some())
}

fn view_of(
    journal: &crate::journal::Journal,
    check: &str,
    has_card_terminal: bool,
    has_printer: bool,
) -> Result<PaymentView, String> {
    let fold = journal
        .read(|db| load_check_fold(db, check))
        .map_err(|e| e.to_string())?;
    journal
        .read(|db| view::payment_view(db, &fold, has_card_terminal, has_printer))
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("there is no check {check}"))
}

/// Who takes a payment: the person signed in, else the PIN the command carries.
fn operator<'a>(pin: &'a str, signed_in: Option<&'a StaffId>) -> Operator<'a> {
    signed_in.map_or(Operator::Pin(pin), Operator::SignedIn)
}

fn preview_of(
    desk: &Desk<'_>,
    check: &str,
    copy: ReceiptCopy,
    payment: Option<&str>,
    has_printer: bool,
) -> Result<ReceiptPreview, String> {
    let laid_out = desk.receipt(check, copy, payment).map_err(text)?;
    let fold = desk
        .journal
        .read(|db| load_check_fold(db, check))
        .map_err(|e| e.to_string())?;
    Ok(view::receipt_preview(&fold, &laid_out, has_printer))
}

/// Carries out `command` on `desk` (what [`handle`] does once the desk is set up), as the
/// command's PINs say or, with `signed_in`, as that person (see [`handle_as`]).
pub fn carry_out(
    desk: &Desk<'_>,
    command: PaymentCommand,
    signed_in: Option<&StaffId>,
) -> Result<Value, String> {
    match command {
        PaymentCommand::View { check } => {
            let view = view_of(
                desk.journal,
                &check,
                desk.card.is_some(),
                desk.printer.is_some(),
            )?;
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
                operator(&pin, signed_in),
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
                operator(&pin, signed_in),
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
            .open_tab(
                operator(&pin, signed_in),
                &check,
                hold,
                seat,
                attempt.as_deref(),
            )
            .map_err(text),
        PaymentCommand::CloseTab {
            check,
            pin,
            payment,
            tip,
            attempt,
        } => desk
            .close_tab(
                operator(&pin, signed_in),
                &check,
                payment.as_deref(),
                tip,
                attempt.as_deref(),
            )
            .map_err(text),
        PaymentCommand::AdjustTip {
            check,
            pin,
            payment,
            tip,
            attempt,
        } => desk
            .adjust_tip(
                operator(&pin, signed_in),
                &check,
                &payment,
                tip,
                attempt.as_deref(),
            )
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
        PaymentCommand::Upload { pin } => desk.upload(operator(&pin, signed_in)).map_err(text),
        PaymentCommand::BatchClose { pin, attempt } => desk
            .batch_close(operator(&pin, signed_in), attempt.as_deref())
            .map_err(text),
        PaymentCommand::DrawerOpen { pin, float } => desk
            .drawer_open(operator(&pin, signed_in), float)
            .map_err(text),
        PaymentCommand::Drawer { pin } => desk.drawer(operator(&pin, signed_in)).map_err(text),
        PaymentCommand::DrawerCount { pin, counted } => desk
            .drawer_count(operator(&pin, signed_in), counted)
            .map_err(text),
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
            let preview = view::receipt_preview(&fold, &laid_out, desk.printer.is_some());
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
