//! The payment and receipt-preview screens of one check, opened with "Pay" on the ordering
//! screen.
//!
//! The payment screen ([`pay_ui`]) draws a [`PaymentView`] the app reads from the device: the
//! total, what was paid, the balance due (and, in red with the manager's alert, what was paid
//! beyond the total), each seat's share when the check is split by seat, the payments and the
//! declined cards, and the line under the total ("Paid. The receipt did not print: …"). Its
//! middle is where money is taken: cash with quick tenders and the change to count back, a card
//! with the tip chosen, a bar tab's hold; for the balance, a seat's share or an amount typed
//! (split tender and partial payments are several payments). A payment on the list can have its
//! tip set, its tab closed, or be refunded (behind a manager's PIN and a reason).
//!
//! The receipt preview ([`receipt_ui`]) shows a [`ReceiptPreview`]'s lines as they print, on a
//! paper-like panel: the guest check, the customer's receipt or a merchant copy; Print and
//! Reprint; and a failed print said plainly, above the receipt, with the check still paid.
//!
//! # Who takes the payment
//!
//! The person signed in at the terminal. They typed their PIN to sign in, and the terminal signs
//! them out when idle (and, as set, after a send or a close), so asking for it again at every
//! payment would be friction that proves nothing new; the payment desk still checks their role
//! against the staff list as it is at that moment, so a person deactivated mid-shift cannot take
//! money. What only a manager may approve (a refund, a card payment stored offline over the
//! store's cap) asks for the manager's PIN there and then, in a dialog like the one for voids.
//!
//! # Attempts: a double tap is never two payments
//!
//! A button that takes money makes an *attempt* (the payment's idempotency key) when it is first
//! pressed, and every further press sends that same attempt until the outcome is known: a double
//! tap, or "Try again" after the card terminal did not answer, asks the device about the same
//! payment, which the desk and the card terminal carry out once. The attempt is dropped when the
//! payment is done (the form is cleared, so the button must be set up afresh), when the device
//! says nothing was taken (a decline, a refusal: the next try is a new payment), or when the form
//! is changed (it is another payment). While the outcome is unknown the form is locked, so a
//! changed amount cannot become a second charge by mistake.

use egui::{Align, Color32, Frame, Layout, Rect, RichText, ScrollArea, Ui, vec2};
use pass_shared::domain::Money;
use pass_shared::domain::payment::{self as rules, IdempotencyKey};
use pass_shared::domain::payment::{SUGGESTED_TIP_PERCENTS, tip_at};
use pass_shared::event::ReceiptCopy;
use pass_shared::payments::view::{
    PaymentIntent, PaymentRow, PaymentView, ReceiptIntent, ReceiptPreview,
};

use super::widgets::{self, ATTENTION, DANGER, GO, Key, MUTED, SEATED};

/// Reasons a manager picks for a refund (it is recorded with one).
pub const REFUND_REASONS: [&str; 4] = [
    "Guest complaint",
    "Charged the wrong amount",
    "Item returned",
    "Charged twice",
];

/// Holds offered for a bar tab.
pub const TAB_HOLDS: [i64; 3] = [5_000, 10_000, 20_000];

/// The most digits an amount typed on the keypad has (99,999.99).
const MAX_DIGITS: usize = 7;

const SUMMARY_WIDTH: f32 = 560.0;
const SIDE_WIDTH: f32 = 380.0;

/// What the payment screens are given each frame, read from the device for the check shown.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Payments {
    /// The payment screen's data (`None`: not read yet).
    pub view: Option<Result<PaymentView, String>>,
    /// The receipt preview of the copy asked for (`None`: not read yet).
    pub preview: Option<Result<ReceiptPreview, String>>,
    /// What the device is carrying out now (a card payment can take a while): its buttons wait.
    pub working: Option<String>,
}

/// What a payment screen asks the device to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayTap {
    /// Take, adjust or give back money, as the attempt made when its button was first pressed.
    Payment {
        check: String,
        intent: PaymentIntent,
        attempt: Option<String>,
    },
    /// Print a receipt (again).
    Receipt {
        check: String,
        intent: ReceiptIntent,
    },
}

/// Which of the two screens is up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayScreen {
    Pay,
    /// The preview of `copy` (a merchant copy is of one card `payment`); `printed` once Print
    /// was pressed here (the button then reprints).
    Receipt {
        copy: ReceiptCopy,
        payment: Option<String>,
        printed: bool,
    },
}

/// How the guest pays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Tender {
    #[default]
    Cash,
    Card,
    /// A bar tab: a hold on the card now, the bill (and tip) captured at the end.
    Tab,
}

/// What a payment pays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Part {
    /// What the check still owes.
    #[default]
    Balance,
    /// A seat's share of a check split by seat.
    Seat(u32),
    /// An amount typed on the keypad.
    Amount,
}

/// The tip chosen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TipChoice {
    #[default]
    None,
    Percent(u32),
    /// Typed on the keypad.
    Custom,
}

/// Which amount the keypad is typing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Amount,
    Tendered,
    Tip,
    Hold,
    Refund,
}

/// What is being done to a payment already on the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowAction {
    AdjustTip,
    CloseTab,
    Refund,
}

/// Digits typed on a keypad, read as cents: 5, 0, 0, 0 is 50.00.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cents(String);

impl Cents {
    /// The digits of `amount` (nothing for zero or less).
    pub fn of(amount: Money) -> Cents {
        match amount.minor_units() {
            Ok(c) if c > 0 => Cents(c.to_string()),
            _ => Cents::default(),
        }
    }

    /// Types a key: a digit (never a leading zero, at most [`MAX_DIGITS`]), Back or Clear.
    pub fn key(&mut self, key: Key) {
        match key {
            Key::Digit(0) if self.0.is_empty() => {}
            Key::Digit(d) if self.0.len() < MAX_DIGITS && d <= 9 => {
                self.0.push(char::from(b'0' + d));
            }
            Key::Digit(_) => {}
            Key::Back => {
                self.0.pop();
            }
            Key::Clear => self.0.clear(),
        }
    }

    /// The amount typed (`None` while nothing is).
    pub fn money(&self) -> Option<Money> {
        self.0.parse::<i64>().ok().map(Money::from_minor)
    }

    fn shown(&self) -> String {
        self.money().unwrap_or(Money::ZERO).to_string()
    }
}

/// The form of the payment being set up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    pub tender: Tender,
    pub part: Part,
    /// The amount to pay, for [`Part::Amount`].
    pub amount: Cents,
    /// The cash handed over.
    pub tendered: Cents,
    pub tip: TipChoice,
    /// The tip typed, for [`TipChoice::Custom`].
    pub tip_typed: Cents,
    /// A bar tab's hold.
    pub hold: Cents,
    /// A payment on the list and what is being done to it (its tip, its tab, a refund).
    pub row: Option<(String, RowAction)>,
    /// What a refund gives back.
    pub refund: Cents,
    /// What the keypad types into.
    pub typing: Option<Field>,
}

/// A manager's approval being asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approve {
    /// Give back `amount` of a payment.
    Refund {
        payment: String,
        label: String,
        amount: Money,
    },
    /// A card payment the card terminal can only store offline, over the store's cap.
    OfflineCard {
        amount: Option<Money>,
        seat: Option<u32>,
        tip: Money,
    },
}

/// The manager's PIN (and, for a refund, a reason) being typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagerAsk {
    pub approve: Approve,
    pub pin: String,
    pub reason: Option<String>,
}

impl ManagerAsk {
    fn new(approve: Approve) -> ManagerAsk {
        ManagerAsk {
            approve,
            pin: String::new(),
            reason: None,
        }
    }

    /// Whether the dialog has all it needs (the desk still checks the PIN and the role).
    pub fn complete(&self) -> bool {
        let reason = match self.approve {
            Approve::Refund { .. } => self.reason.is_some(),
            Approve::OfflineCard { .. } => true,
        };
        !self.pin.is_empty() && reason
    }

    fn intent(&self) -> Option<PaymentIntent> {
        if !self.complete() {
            return None;
        }
        Some(match &self.approve {
            Approve::Refund {
                payment, amount, ..
            } => PaymentIntent::Refund {
                payment: payment.clone(),
                amount: *amount,
                reason: self.reason.clone()?,
                manager_pin: self.pin.clone(),
            },
            Approve::OfflineCard { amount, seat, tip } => PaymentIntent::Card {
                amount: *amount,
                seat: *seat,
                tip: *tip,
                manager_pin: Some(self.pin.clone()),
            },
        })
    }
}

/// What became of the last payment or print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Done(String),
    /// Nothing was taken (or printed): why.
    Refused(String),
    /// The device could not say whether it went through: the same attempt finds out.
    Unknown(String),
}

/// The payment screens' state for one check: what is being typed, the attempt in flight, the
/// last answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayLocal {
    pub check: String,
    /// This terminal's device id (the first part of the attempts it makes).
    pub device: String,
    pub screen: PayScreen,
    pub form: Form,
    /// The attempt of the payment being taken (see the module's docs).
    pub attempt: Option<String>,
    /// What was last sent, until it is answered.
    pub sent: Option<PaymentIntent>,
    pub answer: Option<Answer>,
    pub manager: Option<ManagerAsk>,
}

impl PayLocal {
    pub fn new(check: &str, device: &str) -> PayLocal {
        PayLocal {
            check: check.to_owned(),
            device: device.to_owned(),
            screen: PayScreen::Pay,
            form: Form::default(),
            attempt: None,
            sent: None,
            answer: None,
            manager: None,
        }
    }

    /// The receipt preview of `copy` (a merchant copy names its card `payment`).
    pub fn preview(&mut self, copy: ReceiptCopy, payment: Option<String>) {
        self.screen = PayScreen::Receipt {
            copy,
            payment,
            printed: false,
        };
    }

    /// The device's answer to the last [`PayTap::Payment`]: `Ok` with what it said, or why
    /// nothing was done. See the module's docs for what happens to the attempt.
    pub fn answered(&mut self, result: Result<String, String>) {
        let sent = self.sent.take();
        match result {
            Ok(message) => {
                self.answer = Some(Answer::Done(sentence(&message)));
                self.attempt = None;
                let tender = self.form.tender;
                self.form = Form {
                    tender,
                    ..Form::default()
                };
            }
            Err(error) => {
                let unknown = self.attempt.as_deref().is_some_and(|a| error.contains(a));
                if unknown {
                    // The same attempt, sent again, finds out what happened.
                    self.sent = sent;
                    self.answer = Some(Answer::Unknown(sentence(&error)));
                    return;
                }
                self.attempt = None;
                if let Some(PaymentIntent::Card {
                    amount,
                    seat,
                    tip,
                    manager_pin: None,
                }) = sent
                    && error.contains("offline card cap")
                {
                    self.manager =
                        Some(ManagerAsk::new(Approve::OfflineCard { amount, seat, tip }));
                }
                self.answer = Some(Answer::Refused(sentence(&error)));
            }
        }
    }

    /// The device's answer to a print: whether it printed, or why not.
    pub fn printed(&mut self, result: Result<String, String>) {
        self.answer = Some(match result {
            Ok(message) => Answer::Done(sentence(&message)),
            Err(error) => Answer::Refused(sentence(&error)),
        });
    }

    /// The attempt for a press: the one in flight, or a new one.
    fn attempt(&mut self) -> Option<String> {
        if self.attempt.is_none() {
            self.attempt = new_attempt(&self.device);
        }
        self.attempt.clone()
    }

    /// A press that takes money: `intent` as this form's attempt.
    fn send(&mut self, intent: PaymentIntent) -> Option<PayTap> {
        let attempt = self.attempt()?;
        self.sent = Some(intent.clone());
        Some(PayTap::Payment {
            check: self.check.clone(),
            intent,
            attempt: Some(attempt),
        })
    }

    fn outcome_unknown(&self) -> bool {
        matches!(self.answer, Some(Answer::Unknown(_))) && self.attempt.is_some()
    }
}

/// A capital first letter.
fn sentence(text: &str) -> String {
    let mut chars = text.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A new attempt: this device's id (spelled as a key allows) and random letters.
fn new_attempt(device: &str) -> Option<String> {
    let mut prefix: String = device
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .take(24)
        .collect();
    if prefix.is_empty() {
        prefix = "pay".to_owned();
    }
    let mut random = [0u8; 10];
    if let Err(e) = getrandom::fill(&mut random) {
        tracing::error!(error = %e, "no randomness for a payment attempt");
        return None;
    }
    IdempotencyKey::generate(&prefix, random)
        .or_else(|_| IdempotencyKey::generate("pay", random))
        .ok()
        .map(|k| k.to_string())
}

/// Cash amounts a guest is likely to hand over for `due`: the next round amounts above it.
pub fn quick_tenders(due: Money) -> Vec<Money> {
    let Ok(cents) = due.minor_units() else {
        return Vec::new();
    };
    let mut out: Vec<i64> = Vec::new();
    for step in [500, 1_000, 2_000, 5_000, 10_000] {
        let next = (cents / step + 1) * step;
        if next > cents && !out.contains(&next) {
            out.push(next);
        }
    }
    out.truncate(4);
    out.into_iter().map(Money::from_minor).collect()
}

/// The tip chosen on `form` for `base`, or why it cannot be taken.
fn chosen_tip(form: &Form, base: Money) -> Result<Money, String> {
    match form.tip {
        TipChoice::None => Ok(Money::ZERO),
        TipChoice::Percent(p) => Ok(tip_at(base, p)),
        TipChoice::Custom => {
            let tip = form.tip_typed.money().unwrap_or(Money::ZERO);
            if tip > base && !base.is_zero() {
                Err(format!("A tip over {base} is more than the bill: check it"))
            } else {
                Ok(tip)
            }
        }
    }
}

/// What the payment being set up pays (before any tip), or why it cannot be taken.
fn due_for(form: &Form, view: &PaymentView) -> Result<Money, String> {
    let due = match form.part {
        Part::Balance => view.balance_due,
        Part::Seat(seat) => view
            .seats
            .iter()
            .find(|s| s.seat == seat)
            .map(|s| s.due)
            .unwrap_or(Money::ZERO),
        Part::Amount => {
            let amount = form
                .amount
                .money()
                .ok_or_else(|| format!("Type the amount to pay (up to {})", view.balance_due))?;
            if amount > view.balance_due {
                return Err(format!(
                    "{amount} is more than the {} due",
                    view.balance_due
                ));
            }
            amount
        }
    };
    if due.is_zero() || due.is_negative() {
        return Err("Nothing is left to pay here".to_owned());
    }
    Ok(due)
}

/// The amount and seat an intent names for the part chosen.
fn towards(form: &Form) -> (Option<Money>, Option<u32>) {
    match form.part {
        Part::Balance => (None, None),
        Part::Seat(seat) => (None, Some(seat)),
        Part::Amount => (form.amount.money(), None),
    }
}

/// Draws the payment screens of `local`'s check (the payment screen or the receipt preview);
/// whether the server is done with them, and what to ask the device for.
pub fn screen_ui(ui: &mut Ui, payments: &Payments, local: &mut PayLocal) -> (bool, Option<PayTap>) {
    match local.screen.clone() {
        PayScreen::Pay => match &payments.view {
            Some(Ok(view)) => pay_ui(ui, view, local, payments.working.as_deref()),
            Some(Err(e)) => (unreadable(ui, "this check's payments", e), None),
            None => {
                ui.label(RichText::new("Reading the check's payments…").color(MUTED));
                (false, None)
            }
        },
        PayScreen::Receipt { copy, payment, .. } => {
            let preview = payments.preview.as_ref().filter(|p| match p {
                Ok(p) => p.copy == copy,
                Err(_) => true,
            });
            let tapped = match preview {
                Some(Ok(preview)) => receipt_ui(ui, preview, local, payments.working.as_deref()),
                Some(Err(e)) => unreadable(ui, "this receipt", e).then_some(ReceiptIntent::Close),
                None => {
                    ui.label(RichText::new("Laying out the receipt…").color(MUTED));
                    widgets::big(ui, "Back to payment", vec2(400.0, 72.0))
                        .clicked()
                        .then_some(ReceiptIntent::Close)
                }
            };
            let tap = match tapped {
                Some(ReceiptIntent::Show { copy, payment }) => {
                    local.preview(copy, payment);
                    None
                }
                Some(ReceiptIntent::Close) => {
                    local.screen = PayScreen::Pay;
                    None
                }
                Some(print @ ReceiptIntent::Print { .. }) => {
                    local.screen = PayScreen::Receipt {
                        copy,
                        payment,
                        printed: true,
                    };
                    Some(PayTap::Receipt {
                        check: local.check.clone(),
                        intent: print,
                    })
                }
                None => None,
            };
            (false, tap)
        }
    }
}

/// Says what could not be read; whether the server pressed "Back".
fn unreadable(ui: &mut Ui, what: &str, error: &str) -> bool {
    ui.label(
        RichText::new(format!("Could not read {what}: {error}"))
            .color(Color32::WHITE)
            .background_color(DANGER),
    );
    widgets::big(ui, "Back to the check", vec2(300.0, 72.0)).clicked()
}

/// The payment screen: the check's money on the left, the payment being taken in the middle,
/// the last answer and the receipts on the right; whether the server is done, and the tap.
pub fn pay_ui(
    ui: &mut Ui,
    view: &PaymentView,
    local: &mut PayLocal,
    working: Option<&str>,
) -> (bool, Option<PayTap>) {
    let before = local.form.clone();
    let mut done = false;
    let mut tap = None;
    let area = ui.available_rect_before_wrap();
    let summary = Rect::from_min_size(area.min, vec2(SUMMARY_WIDTH, area.height()));
    let side = Rect::from_min_max(egui::pos2(area.max.x - SIDE_WIDTH, area.min.y), area.max);
    let middle = Rect::from_min_max(
        egui::pos2(summary.max.x + 16.0, area.min.y),
        egui::pos2(side.min.x - 16.0, area.max.y),
    );
    ui.scope_builder(egui::UiBuilder::new().max_rect(summary), |ui| {
        summary_ui(ui, view, local, working.is_none());
    });
    ui.scope_builder(egui::UiBuilder::new().max_rect(middle), |ui| {
        if local.manager.is_some() {
            ui.label(RichText::new("Waiting for a manager's approval…").size(30.0));
        } else if local.outcome_unknown() {
            tap = unknown_ui(ui, local, working.is_none());
        } else if let Some((payment, action)) = local.form.row.clone() {
            match view.payments.iter().find(|p| p.id == payment) {
                Some(row) => tap = row_ui(ui, view, row, action, local, working.is_none()),
                None => local.form.row = None,
            }
        } else {
            tap = take_ui(ui, view, local, working.is_none());
        }
    });
    ui.scope_builder(egui::UiBuilder::new().max_rect(side), |ui| {
        done = side_ui(ui, view, local, working);
    });
    ui.allocate_rect(area, egui::Sense::hover());
    if local.form != before && !local.outcome_unknown() {
        // Another payment: a press now is a new attempt.
        local.attempt = None;
    }
    if let Some(approved) = manager_ui(ui.ctx(), local)
        && working.is_none()
    {
        tap = local.send(approved);
    }
    (done, tap)
}

/// A row of the totals: name on the left, amount on the right.
fn amount_row(ui: &mut Ui, name: &str, amount: String, size: f32, colour: Option<Color32>) {
    ui.horizontal(|ui| {
        let name = RichText::new(name).size(size);
        ui.label(match colour {
            Some(c) => name.color(c).strong(),
            None => name,
        });
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            let amount = RichText::new(amount).size(size).strong();
            ui.label(match colour {
                Some(c) => amount.color(c),
                None => amount,
            });
        });
    });
}

/// The check's money: totals, the notice, alerts, seats, payments and declines.
fn summary_ui(ui: &mut Ui, view: &PaymentView, local: &mut PayLocal, idle: bool) {
    let table = view
        .table
        .as_deref()
        .map(|t| format!(" · Table {t}"))
        .unwrap_or_default();
    ui.label(
        RichText::new(format!("Pay check {}{table}", view.number))
            .size(34.0)
            .strong(),
    );
    Frame::new()
        .fill(Color32::from_gray(30))
        .inner_margin(8.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            amount_row(ui, "Total", view.total.to_string(), 26.0, None);
            amount_row(ui, "Paid", view.paid.to_string(), 24.0, None);
            if !view.tips.is_zero() {
                amount_row(ui, "Tips", view.tips.to_string(), 22.0, None);
            }
            if !view.refunded.is_zero() {
                amount_row(ui, "Refunded", view.refunded.to_string(), 22.0, None);
            }
            amount_row(ui, "Balance due", view.balance_due.to_string(), 34.0, None);
            if !view.overpaid.is_zero() {
                amount_row(
                    ui,
                    "OVERPAID",
                    view.overpaid.to_string(),
                    30.0,
                    Some(Color32::from_rgb(0xff, 0x55, 0x55)),
                );
            }
        });
    if let Some(notice) = &view.notice {
        let fill = if notice == "Paid" {
            GO
        } else if notice.starts_with("Paid") {
            DANGER
        } else {
            ATTENTION
        };
        Frame::new().fill(fill).inner_margin(8.0).show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(
                RichText::new(notice)
                    .size(26.0)
                    .strong()
                    .color(Color32::WHITE),
            );
        });
    }
    for alert in &view.alerts {
        ui.label(
            RichText::new(format!("Manager alert: {alert}"))
                .color(Color32::WHITE)
                .background_color(DANGER),
        );
    }
    for decline in &view.declines {
        ui.label(RichText::new(decline).color(ATTENTION));
    }
    if !view.seats.is_empty() {
        ui.label(RichText::new("By seat").strong());
        for s in &view.seats {
            ui.label(
                RichText::new(format!(
                    "Seat {}: {} · paid {} · due {}",
                    s.seat, s.share, s.paid, s.due
                ))
                .size(22.0),
            );
        }
    }
    ui.separator();
    ui.label(RichText::new("Payments").strong());
    ScrollArea::vertical()
        .id_salt("payments")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            if view.payments.is_empty() {
                ui.label(RichText::new("None yet.").color(MUTED));
            }
            for row in &view.payments {
                payment_row_ui(ui, row, local, idle);
            }
        });
}

/// One payment on the check, with what can be done to it.
fn payment_row_ui(ui: &mut Ui, row: &PaymentRow, local: &mut PayLocal, idle: bool) {
    let tip = if row.tip.is_zero() {
        String::new()
    } else {
        format!(" + tip {}", row.tip)
    };
    let seat = row.seat.map(|s| format!(" · seat {s}")).unwrap_or_default();
    let refunded = if row.refunded.is_zero() {
        String::new()
    } else {
        format!(" · refunded {}", row.refunded)
    };
    ui.label(
        RichText::new(format!(
            "{} {}{tip}{seat}\n   {}{refunded}",
            row.label, row.amount, row.status
        ))
        .size(22.0),
    );
    ui.add_enabled_ui(idle, |ui| {
        ui.horizontal_wrapped(|ui| {
            let size = vec2(120.0, 52.0);
            let chosen = local.form.row.clone();
            let mut act = |ui: &mut Ui, label: &str, action: RowAction| {
                let on = chosen
                    .as_ref()
                    .is_some_and(|(p, a)| *p == row.id && *a == action);
                if widgets::choice(ui, on, label, size).clicked() {
                    local.form.row = (!on).then(|| (row.id.clone(), action));
                    local.form.tip = TipChoice::None;
                    local.form.tip_typed = Cents::default();
                    local.form.typing = None;
                    if action == RowAction::Refund {
                        let left = row
                            .amount
                            .checked_add(row.tip)
                            .and_then(|t| t.checked_sub(row.refunded))
                            .unwrap_or(Money::ZERO);
                        local.form.refund = Cents::of(left);
                        local.form.typing = Some(Field::Refund);
                    }
                }
            };
            if row.can_adjust_tip {
                act(ui, "Tip", RowAction::AdjustTip);
            }
            if row.can_close_tab {
                act(ui, "Close tab", RowAction::CloseTab);
            }
            if row.can_refund {
                act(ui, "Refund", RowAction::Refund);
            }
            if row.label != "Cash" && widgets::big(ui, "Merchant copy", vec2(170.0, 52.0)).clicked()
            {
                local.preview(ReceiptCopy::Merchant, Some(row.id.clone()));
            }
        });
    });
}

/// The keypad typing into `field` of the form.
fn keypad_ui(ui: &mut Ui, local: &mut PayLocal, field: Field) {
    if let Some(key) = widgets::keypad(ui, 96.0) {
        let form = &mut local.form;
        let cents = match field {
            Field::Amount => &mut form.amount,
            Field::Tendered => &mut form.tendered,
            Field::Tip => &mut form.tip_typed,
            Field::Hold => &mut form.hold,
            Field::Refund => &mut form.refund,
        };
        cents.key(key);
    }
}

/// How the guest pays, what it pays, and the button that takes it.
fn take_ui(ui: &mut Ui, view: &PaymentView, local: &mut PayLocal, idle: bool) -> Option<PayTap> {
    if !view.can_take_payment {
        let why = if view.state == "open" {
            "Nothing is left to pay on this check."
        } else {
            "This check is closed: nothing more can be taken."
        };
        ui.label(RichText::new(why).size(28.0).color(MUTED));
        return None;
    }
    ui.horizontal(|ui| {
        let size = vec2(170.0, 72.0);
        for (tender, label) in [
            (Tender::Cash, "Cash"),
            (Tender::Card, "Card"),
            (Tender::Tab, "Bar tab"),
        ] {
            let on = local.form.tender == tender;
            let label = RichText::new(label).size(30.0).strong();
            if widgets::choice(ui, on, label, size).clicked() && !on {
                local.form.tender = tender;
                local.form.typing = None;
            }
        }
    });
    if local.form.tender != Tender::Tab {
        part_ui(ui, view, local);
    }
    ui.separator();
    match local.form.tender {
        Tender::Cash => cash_ui(ui, view, local, idle),
        Tender::Card => card_ui(ui, view, local, idle),
        Tender::Tab => tab_ui(ui, view, local, idle),
    }
}

/// The balance, a seat's share, or an amount typed.
fn part_ui(ui: &mut Ui, view: &PaymentView, local: &mut PayLocal) {
    ui.horizontal_wrapped(|ui| {
        let size = vec2(150.0, 60.0);
        let form = &mut local.form;
        let balance = format!("Balance {}", view.balance_due);
        if widgets::choice(ui, form.part == Part::Balance, balance, size).clicked() {
            form.part = Part::Balance;
            form.typing = None;
        }
        for s in view.seats.iter().filter(|s| !s.due.is_zero()) {
            let label = format!("Seat {} · {}", s.seat, s.due);
            if widgets::choice(ui, form.part == Part::Seat(s.seat), label, size).clicked() {
                form.part = Part::Seat(s.seat);
                form.typing = None;
            }
        }
        let typed = match (form.part, form.amount.money()) {
            (Part::Amount, Some(a)) => format!("Amount {a}"),
            _ => "Amount…".to_owned(),
        };
        if widgets::choice(ui, form.part == Part::Amount, typed, size).clicked() {
            form.part = Part::Amount;
            form.typing = Some(Field::Amount);
        }
    });
}

/// A line that says why the button below waits.
fn problem(ui: &mut Ui, text: &str) {
    ui.label(RichText::new(text).size(24.0).color(ATTENTION));
}

/// Cash: quick tenders, the keypad for another amount, the change to give back.
fn cash_ui(ui: &mut Ui, view: &PaymentView, local: &mut PayLocal, idle: bool) -> Option<PayTap> {
    let due = due_for(&local.form, view);
    if local.form.typing == Some(Field::Amount) {
        ui.label(RichText::new(format!("Amount to pay: {}", local.form.amount.shown())).size(30.0));
        keypad_ui(ui, local, Field::Amount);
        if widgets::big(ui, "Done", vec2(200.0, 60.0)).clicked() {
            local.form.typing = None;
        }
        return None;
    }
    let due = match due {
        Ok(due) => due,
        Err(why) => {
            problem(ui, &why);
            return None;
        }
    };
    ui.label(RichText::new(format!("Cash for {due}: handed over")).size(26.0));
    ui.horizontal_wrapped(|ui| {
        let size = vec2(150.0, 72.0);
        let tendered = local.form.tendered.money();
        let exact = RichText::new(format!("Exact {due}")).size(26.0);
        if widgets::choice(ui, tendered == Some(due), exact, vec2(200.0, 72.0)).clicked() {
            local.form.tendered = Cents::of(due);
            local.form.typing = None;
        }
        for amount in quick_tenders(due) {
            let label = RichText::new(amount.to_string()).size(26.0);
            if widgets::choice(ui, tendered == Some(amount), label, size).clicked() {
                local.form.tendered = Cents::of(amount);
                local.form.typing = None;
            }
        }
        let other = local.form.typing == Some(Field::Tendered);
        if widgets::choice(ui, other, "Other…", size).clicked() {
            local.form.tendered = Cents::default();
            local.form.typing = Some(Field::Tendered);
        }
    });
    if local.form.typing == Some(Field::Tendered) {
        ui.label(RichText::new(format!("Handed over: {}", local.form.tendered.shown())).size(30.0));
        keypad_ui(ui, local, Field::Tendered);
    }
    let Some(tendered) = local.form.tendered.money() else {
        problem(ui, "Choose what the guest handed over");
        return None;
    };
    let cash = match rules::cash_payment(due, tendered) {
        Ok(cash) => cash,
        Err(e) => {
            problem(ui, &sentence(&e.to_string()));
            return None;
        }
    };
    if cash.change.is_zero() && cash.applied < due {
        let left = due.checked_sub(cash.applied).unwrap_or(Money::ZERO);
        ui.label(
            RichText::new(format!("Pays {} · {left} still due", cash.applied))
                .size(34.0)
                .color(ATTENTION),
        );
    } else {
        ui.label(
            RichText::new(format!("Change {}", cash.change))
                .size(48.0)
                .strong(),
        );
    }
    let label = RichText::new(format!("Take {tendered} cash"))
        .size(34.0)
        .strong();
    if widgets::enabled(ui, idle, label, GO, vec2(ui.available_width(), 90.0)).clicked() {
        let (amount, seat) = towards(&local.form);
        return local.send(PaymentIntent::Cash {
            tendered,
            amount,
            seat,
        });
    }
    None
}

/// The tip choices for `base`: none, the usual shares, or one typed.
fn tip_ui(ui: &mut Ui, local: &mut PayLocal, base: Money) {
    ui.horizontal_wrapped(|ui| {
        let size = vec2(150.0, 64.0);
        let form = &mut local.form;
        if widgets::choice(ui, form.tip == TipChoice::None, "No tip", size).clicked() {
            form.tip = TipChoice::None;
            form.typing = None;
        }
        for p in SUGGESTED_TIP_PERCENTS {
            let label = format!("{p}% · {}", tip_at(base, p));
            if widgets::choice(ui, form.tip == TipChoice::Percent(p), label, size).clicked() {
                form.tip = TipChoice::Percent(p);
                form.typing = None;
            }
        }
        let custom = form.tip == TipChoice::Custom;
        if widgets::choice(ui, custom, "Other tip…", size).clicked() {
            form.tip = TipChoice::Custom;
            form.tip_typed = Cents::default();
            form.typing = Some(Field::Tip);
        }
    });
    if local.form.typing == Some(Field::Tip) {
        ui.label(RichText::new(format!("Tip: {}", local.form.tip_typed.shown())).size(30.0));
        keypad_ui(ui, local, Field::Tip);
    }
}

/// A card: the tip chosen, then the card terminal takes it.
fn card_ui(ui: &mut Ui, view: &PaymentView, local: &mut PayLocal, idle: bool) -> Option<PayTap> {
    if !view.has_card_terminal {
        problem(ui, "This terminal has no card terminal set up.");
        return None;
    }
    if local.form.typing == Some(Field::Amount) {
        ui.label(RichText::new(format!("Amount to pay: {}", local.form.amount.shown())).size(30.0));
        keypad_ui(ui, local, Field::Amount);
        if widgets::big(ui, "Done", vec2(200.0, 60.0)).clicked() {
            local.form.typing = None;
        }
        return None;
    }
    let due = match due_for(&local.form, view) {
        Ok(due) => due,
        Err(why) => {
            problem(ui, &why);
            return None;
        }
    };
    ui.label(RichText::new(format!("Card for {due}: tip")).size(26.0));
    tip_ui(ui, local, due);
    let tip = match chosen_tip(&local.form, due) {
        Ok(tip) => tip,
        Err(why) => {
            problem(ui, &why);
            return None;
        }
    };
    let total = due.checked_add(tip).unwrap_or(due);
    let label = if tip.is_zero() {
        format!("Charge {total} on the card terminal")
    } else {
        format!("Charge {total} (tip {tip}) on the card terminal")
    };
    let label = RichText::new(label).size(30.0).strong();
    if widgets::enabled(ui, idle, label, GO, vec2(ui.available_width(), 90.0)).clicked() {
        let (amount, seat) = towards(&local.form);
        return local.send(PaymentIntent::Card {
            amount,
            seat,
            tip,
            manager_pin: None,
        });
    }
    None
}

/// A bar tab: a hold on the guest's card, the bill captured when the tab closes.
fn tab_ui(ui: &mut Ui, view: &PaymentView, local: &mut PayLocal, idle: bool) -> Option<PayTap> {
    if !view.has_card_terminal {
        problem(ui, "This terminal has no card terminal set up.");
        return None;
    }
    ui.label(RichText::new("Hold on the guest's card").size(26.0));
    ui.horizontal_wrapped(|ui| {
        let size = vec2(150.0, 72.0);
        let hold = local.form.hold.money();
        for cents in TAB_HOLDS {
            let amount = Money::from_minor(cents);
            if widgets::choice(ui, hold == Some(amount), amount.to_string(), size).clicked() {
                local.form.hold = Cents::of(amount);
                local.form.typing = None;
            }
        }
        let other = local.form.typing == Some(Field::Hold);
        if widgets::choice(ui, other, "Other…", size).clicked() {
            local.form.hold = Cents::default();
            local.form.typing = Some(Field::Hold);
        }
    });
    if local.form.typing == Some(Field::Hold) {
        ui.label(RichText::new(format!("Hold: {}", local.form.hold.shown())).size(30.0));
        keypad_ui(ui, local, Field::Hold);
    }
    let Some(hold) = local.form.hold.money() else {
        problem(ui, "Choose the hold");
        return None;
    };
    let label = RichText::new(format!("Open tab · hold {hold}"))
        .size(30.0)
        .strong();
    if widgets::enabled(ui, idle, label, GO, vec2(ui.available_width(), 90.0)).clicked() {
        return local.send(PaymentIntent::OpenTab { hold });
    }
    None
}

/// A payment on the list: its tip, closing its tab, or a refund.
fn row_ui(
    ui: &mut Ui,
    view: &PaymentView,
    row: &PaymentRow,
    action: RowAction,
    local: &mut PayLocal,
    idle: bool,
) -> Option<PayTap> {
    let mut tap = None;
    match action {
        RowAction::AdjustTip => {
            ui.label(
                RichText::new(format!("Tip on {} {}", row.label, row.amount))
                    .size(30.0)
                    .strong(),
            );
            tip_ui(ui, local, row.amount);
            match chosen_tip(&local.form, row.amount) {
                Ok(tip) => {
                    let label = RichText::new(format!("Set the tip to {tip}")).size(30.0);
                    if widgets::enabled(ui, idle, label, GO, vec2(ui.available_width(), 84.0))
                        .clicked()
                    {
                        tap = local.send(PaymentIntent::AdjustTip {
                            payment: row.id.clone(),
                            tip,
                        });
                    }
                }
                Err(why) => problem(ui, &why),
            }
        }
        RowAction::CloseTab => {
            let due = view.balance_due;
            ui.label(
                RichText::new(format!("Close the tab on {}: {due} due", row.label))
                    .size(30.0)
                    .strong(),
            );
            tip_ui(ui, local, due);
            match chosen_tip(&local.form, due) {
                Ok(tip) => {
                    let total = due.checked_add(tip).unwrap_or(due);
                    let label = RichText::new(format!("Close tab · charge {total}")).size(30.0);
                    if widgets::enabled(ui, idle, label, GO, vec2(ui.available_width(), 84.0))
                        .clicked()
                    {
                        tap = local.send(PaymentIntent::CloseTab {
                            payment: row.id.clone(),
                            tip,
                        });
                    }
                }
                Err(why) => problem(ui, &why),
            }
        }
        RowAction::Refund => {
            let left = row
                .amount
                .checked_add(row.tip)
                .and_then(|t| t.checked_sub(row.refunded))
                .unwrap_or(Money::ZERO);
            ui.label(
                RichText::new(format!("Refund {} (up to {left})", row.label))
                    .size(30.0)
                    .strong(),
            );
            ui.label(RichText::new(format!("Amount: {}", local.form.refund.shown())).size(30.0));
            keypad_ui(ui, local, Field::Refund);
            match local.form.refund.money() {
                Some(amount) if amount <= left => {
                    let label = RichText::new(format!("Refund {amount}…")).size(30.0);
                    if widgets::enabled(ui, idle, label, DANGER, vec2(ui.available_width(), 84.0))
                        .clicked()
                    {
                        local.manager = Some(ManagerAsk::new(Approve::Refund {
                            payment: row.id.clone(),
                            label: row.label.clone(),
                            amount,
                        }));
                    }
                }
                Some(amount) => problem(ui, &format!("{amount} is more than the {left} paid")),
                None => problem(ui, "Type the amount to give back"),
            }
        }
    }
    if widgets::big(ui, "Cancel", vec2(200.0, 60.0)).clicked() {
        local.form.row = None;
        local.form.typing = None;
    }
    tap
}

/// The card terminal did not answer: the same attempt again finds out; the form waits.
fn unknown_ui(ui: &mut Ui, local: &mut PayLocal, idle: bool) -> Option<PayTap> {
    ui.label(
        RichText::new("Did it go through? The device did not answer.")
            .size(30.0)
            .strong()
            .color(ATTENTION),
    );
    ui.label(
        RichText::new("Try again: the same payment is asked about again, and never charged twice.")
            .size(24.0),
    );
    let mut tap = None;
    if widgets::enabled(ui, idle, "Try again", GO, vec2(ui.available_width(), 90.0)).clicked()
        && let Some(intent) = local.sent.clone()
    {
        tap = local.send(intent);
    }
    ui.label(
        RichText::new("Only when the card terminal shows it was not taken:")
            .size(20.0)
            .color(MUTED),
    );
    if widgets::filled(ui, "Forget this payment", DANGER, vec2(300.0, 60.0)).clicked() {
        local.attempt = None;
        local.sent = None;
        local.answer = None;
    }
    tap
}

/// The last answer, the receipts, and the way back to the check; whether the server is done.
fn side_ui(ui: &mut Ui, view: &PaymentView, local: &mut PayLocal, working: Option<&str>) -> bool {
    if let Some(working) = working {
        Frame::new().fill(SEATED).inner_margin(8.0).show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new(working).size(26.0).color(Color32::WHITE));
        });
    }
    if let Some(answer) = &local.answer {
        answer_ui(ui, answer);
    }
    ui.separator();
    ui.label(RichText::new("Receipts").strong());
    let size = vec2(SIDE_WIDTH - 8.0, 64.0);
    if widgets::big(ui, "Guest check", size).clicked() {
        local.preview(ReceiptCopy::Guest, None);
    }
    if !view.payments.is_empty() && widgets::big(ui, "Customer receipt", size).clicked() {
        local.preview(ReceiptCopy::Customer, None);
    }
    let mut done = false;
    ui.with_layout(Layout::bottom_up(Align::Min), |ui| {
        if widgets::filled(
            ui,
            "Back to the check",
            SEATED,
            vec2(SIDE_WIDTH - 8.0, 72.0),
        )
        .clicked()
        {
            done = true;
        }
    });
    done
}

fn answer_ui(ui: &mut Ui, answer: &Answer) {
    let (text, fill) = match answer {
        Answer::Done(t) => (t, GO),
        Answer::Refused(t) => (t, DANGER),
        Answer::Unknown(t) => (t, ATTENTION),
    };
    Frame::new().fill(fill).inner_margin(8.0).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(
            RichText::new(text)
                .size(26.0)
                .strong()
                .color(Color32::WHITE),
        );
    });
}

/// The manager's dialog while one is asked for; the intent once approved.
fn manager_ui(ctx: &egui::Context, local: &mut PayLocal) -> Option<PaymentIntent> {
    let mut ask = local.manager.take()?;
    let mut done = false;
    let mut intent = None;
    egui::Modal::new(egui::Id::new("payment approval")).show(ctx, |ui| {
        ui.set_width(760.0);
        let title = match &ask.approve {
            Approve::Refund { label, amount, .. } => format!("Refund {amount} of {label}"),
            Approve::OfflineCard { .. } => {
                "The card network is out of reach: store this payment offline?".to_owned()
            }
        };
        ui.heading(title);
        if let Approve::Refund { .. } = ask.approve {
            ui.label("Reason");
            ui.horizontal_wrapped(|ui| {
                for reason in REFUND_REASONS {
                    let chosen = ask.reason.as_deref() == Some(reason);
                    if widgets::choice(ui, chosen, reason, vec2(230.0, 60.0)).clicked() {
                        ask.reason = Some(reason.to_owned());
                    }
                }
            });
        } else {
            ui.label("It is over the store's offline cap: a manager approves it.");
        }
        ui.label(
            RichText::new(format!("Manager PIN: {}", widgets::dots(ask.pin.len())))
                .size(32.0)
                .color(ATTENTION),
        );
        match widgets::keypad(ui, 100.0) {
            Some(Key::Digit(d)) if ask.pin.len() < pass_shared::domain::staff::MAX_PIN_DIGITS => {
                ask.pin.push(char::from(b'0' + d));
            }
            Some(Key::Back) => {
                ask.pin.pop();
            }
            Some(Key::Clear) => ask.pin.clear(),
            _ => {}
        }
        ui.horizontal(|ui| {
            if widgets::filled(ui, "Cancel", DANGER, vec2(220.0, 76.0)).clicked() {
                done = true;
            }
            if widgets::enabled(ui, ask.complete(), "Approve", GO, vec2(300.0, 76.0)).clicked() {
                done = true;
                intent = ask.intent();
            }
        });
    });
    if !done {
        local.manager = Some(ask);
    }
    intent
}

/// The receipt preview: the receipt as it prints, the copies, Print / Reprint, a failed print.
pub fn receipt_ui(
    ui: &mut Ui,
    preview: &ReceiptPreview,
    local: &mut PayLocal,
    working: Option<&str>,
) -> Option<ReceiptIntent> {
    let mut intent = None;
    let (payment, printed) = match &local.screen {
        PayScreen::Receipt {
            payment, printed, ..
        } => (payment.clone(), *printed),
        PayScreen::Pay => (None, false),
    };
    let area = ui.available_rect_before_wrap();
    let paper = Rect::from_min_size(
        egui::pos2(area.min.x + 40.0, area.min.y),
        vec2(620.0, area.height()),
    );
    let side = Rect::from_min_max(
        egui::pos2(paper.max.x + 48.0, area.min.y),
        egui::pos2((paper.max.x + 48.0 + 640.0).min(area.max.x), area.max.y),
    );
    ui.scope_builder(egui::UiBuilder::new().max_rect(paper), |ui| {
        Frame::new()
            .fill(Color32::from_rgb(0xfb, 0xf8, 0xf0))
            .inner_margin(24.0)
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                ScrollArea::vertical()
                    .id_salt("receipt")
                    .auto_shrink([false, false])
                    .show(ui, |ui| {
                        for line in &preview.lines {
                            ui.label(
                                RichText::new(line)
                                    .monospace()
                                    .size(22.0)
                                    .color(Color32::BLACK),
                            );
                        }
                    });
            });
    });
    ui.scope_builder(egui::UiBuilder::new().max_rect(side), |ui| {
        let copy_name = match preview.copy {
            ReceiptCopy::Guest => "Guest check",
            ReceiptCopy::Customer => "Customer receipt",
            ReceiptCopy::Merchant => "Merchant copy",
        };
        ui.label(RichText::new(copy_name).size(34.0).strong());
        if let Some(failure) = &preview.last_failure {
            Frame::new().fill(DANGER).inner_margin(8.0).show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(
                    RichText::new(format!("{failure}. The check's payments stand."))
                        .size(26.0)
                        .strong()
                        .color(Color32::WHITE),
                );
            });
        }
        if let Some(answer) = &local.answer {
            answer_ui(ui, answer);
        }
        if let Some(working) = working {
            ui.label(RichText::new(working).size(24.0).color(MUTED));
        }
        ui.separator();
        ui.label(RichText::new("Copy").strong());
        ui.horizontal_wrapped(|ui| {
            let size = vec2(200.0, 64.0);
            for (copy, label) in [
                (ReceiptCopy::Guest, "Guest check"),
                (ReceiptCopy::Customer, "Customer"),
            ] {
                if widgets::choice(ui, preview.copy == copy, label, size).clicked() {
                    intent = Some(ReceiptIntent::Show {
                        copy,
                        payment: None,
                    });
                }
            }
            for (i, card) in preview.merchant_copies.iter().enumerate() {
                let label = if preview.merchant_copies.len() == 1 {
                    "Merchant".to_owned()
                } else {
                    format!("Merchant {}", i + 1)
                };
                let on = preview.copy == ReceiptCopy::Merchant
                    && payment.as_deref() == Some(card.as_str());
                if widgets::choice(ui, on, label, size).clicked() {
                    intent = Some(ReceiptIntent::Show {
                        copy: ReceiptCopy::Merchant,
                        payment: Some(card.clone()),
                    });
                }
            }
        });
        ui.separator();
        if preview.has_printer {
            let label = if printed || preview.last_failure.is_some() {
                "Reprint"
            } else {
                "Print"
            };
            let label = RichText::new(label).size(34.0).strong();
            if widgets::enabled(ui, working.is_none(), label, GO, vec2(400.0, 90.0)).clicked() {
                intent = Some(ReceiptIntent::Print {
                    copy: preview.copy,
                    payment: payment.clone(),
                });
            }
        } else {
            problem(ui, "This terminal has no receipt printer set up.");
        }
        ui.with_layout(Layout::bottom_up(Align::Min), |ui| {
            if widgets::filled(ui, "Back to payment", SEATED, vec2(400.0, 72.0)).clicked() {
                intent = Some(ReceiptIntent::Close);
            }
        });
    });
    ui.allocate_rect(area, egui::Sense::hover());
    intent
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        s.parse().expect("amount")
    }

    #[test]
    fn quick_tenders_are_the_next_round_amounts_above_what_is_due() {
        let shown: Vec<String> = quick_tenders(m("43.21"))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown, ["45.00", "50.00", "60.00", "100.00"]);
        let shown: Vec<String> = quick_tenders(m("50.00"))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown, ["55.00", "60.00", "100.00"]);
    }

    #[test]
    fn the_keypad_types_cents_and_refuses_what_is_not_an_amount() {
        let mut c = Cents::default();
        for key in [Key::Digit(0), Key::Digit(5), Key::Digit(0), Key::Digit(0)] {
            c.key(key);
        }
        assert_eq!(c.money(), Some(m("5.00")), "no leading zero");
        for _ in 0..10 {
            c.key(Key::Digit(9));
        }
        assert_eq!(c.money(), Some(m("50099.99")), "seven digits at most");
        c.key(Key::Back);
        assert_eq!(c.money(), Some(m("5009.99")));
        c.key(Key::Clear);
        assert_eq!(c.money(), None);
        assert_eq!(Cents::of(m("43.21")).money(), Some(m("43.21")));
        assert_eq!(Cents::of(Money::ZERO).money(), None);
    }

    #[test]
    fn tips_are_shares_rounded_as_money_is() {
        assert_eq!(tip_at(m("43.21"), 15), m("6.48"));
        assert_eq!(tip_at(m("43.21"), 18), m("7.78"));
        assert_eq!(tip_at(m("43.21"), 20), m("8.64"));
    }

    #[test]
    fn an_attempt_is_kept_while_the_outcome_is_unknown_and_dropped_once_it_is_known() {
        let mut local = PayLocal::new("t1-c1", "T1 bar");
        let tap = local.send(PaymentIntent::Cash {
            tendered: m("50.00"),
            amount: None,
            seat: None,
        });
        let Some(PayTap::Payment {
            attempt: Some(first),
            ..
        }) = tap
        else {
            panic!("a payment tap: {tap:?}");
        };
        assert!(first.starts_with("t1-bar-"), "{first}");
        assert!(IdempotencyKey::new(&first).is_ok());
        local.answered(Err(format!(
            "the payment device did not answer (timed out) [attempt {first}]"
        )));
        assert_eq!(local.attempt.as_deref(), Some(first.as_str()));
        assert!(local.outcome_unknown());
        local.answered(Ok("cash 43.21: change 6.79".into()));
        assert_eq!(local.attempt, None);
        assert_eq!(
            local.answer,
            Some(Answer::Done("Cash 43.21: change 6.79".into()))
        );
        local.attempt();
        local.answered(Err(
            "declined: insufficient funds (51); nothing was taken".into()
        ));
        assert_eq!(local.attempt, None, "a decline: the next try is new");
    }

    #[test]
    fn a_card_refused_offline_over_the_cap_asks_a_manager() {
        let mut local = PayLocal::new("t1-c1", "t1");
        let _ = local.send(PaymentIntent::Card {
            amount: None,
            seat: Some(2),
            tip: m("3.00"),
            manager_pin: None,
        });
        local.answered(Err(
            "over the offline card cap of 100.00: a manager must approve this payment".into(),
        ));
        let ask = local.manager.clone().expect("a manager is asked");
        assert_eq!(
            ask.approve,
            Approve::OfflineCard {
                amount: None,
                seat: Some(2),
                tip: m("3.00")
            }
        );
        assert_eq!(local.attempt, None);
    }
}
