//! What the payment and receipt screens show, as plain data, and what their buttons ask for,
//! as intents: a screen is `fn payment_ui(ui, &PaymentView) -> Option<PaymentIntent>`, and the
//! app turns an intent into a [`PaymentCommand`] (with the signed-in person's PIN and the
//! attempt the Pay button made) carried out by the device, as `pass pay …` does.

use rusqlite::Connection;
use serde::Serialize;

use super::PaymentCommand;
use super::receipt::{self, Receipt};
use crate::domain::Money;
use crate::domain::check::CheckState;
use crate::domain::payment::{PaymentState, Tender};
use crate::event::ReceiptCopy;
use crate::projection::fold::CheckFold;
use crate::projection::payments as proj;

/// One seat's share of a check split by seat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeatShare {
    pub seat: u32,
    pub share: Money,
    pub paid: Money,
    pub due: Money,
}

/// One payment on the check, as a row of the screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentRow {
    pub id: String,
    /// `Cash`, `Visa **** 4242`.
    pub label: String,
    pub amount: Money,
    pub tip: Money,
    /// `taken`, `tab open (50.00 held)`, `offline, not yet uploaded`, `declined on upload: …`.
    pub status: String,
    pub refunded: Money,
    pub seat: Option<u32>,
    /// A card payment whose tip may be set now.
    pub can_adjust_tip: bool,
    /// Something is left to refund.
    pub can_refund: bool,
    /// An open tab that can be closed.
    pub can_close_tab: bool,
}

/// The payment screen of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentView {
    pub check: String,
    pub number: String,
    pub table: Option<String>,
    /// `open` or `closed`.
    pub state: String,
    pub total: Money,
    /// Paid towards the check, after refunds.
    pub paid: Money,
    pub tips: Money,
    pub refunded: Money,
    pub balance_due: Money,
    /// Paid beyond the total (shown in red, with the manager alert).
    pub overpaid: Money,
    /// The split by seat, when the check's lines have seats.
    pub seats: Vec<SeatShare>,
    pub payments: Vec<PaymentRow>,
    /// Cards the terminal declined on this check (nothing was taken).
    pub declines: Vec<String>,
    /// Alerts about this check a manager must see.
    pub alerts: Vec<String>,
    /// What the screen says under the total: "Paid", "Paid. The receipt did not print: …".
    pub notice: Option<String>,
    pub can_take_payment: bool,
    pub has_card_terminal: bool,
    pub has_printer: bool,
}

/// What the payment screen's buttons ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentIntent {
    /// Cash handed over: for `seat` (its share) or `amount` (or the balance).
    Cash {
        tendered: Money,
        amount: Option<Money>,
        seat: Option<u32>,
    },
    /// A card on the terminal, with the tip the guest chose there.
    Card {
        amount: Option<Money>,
        seat: Option<u32>,
        tip: Money,
        /// A manager's PIN, when offline over the cap.
        manager_pin: Option<String>,
    },
    OpenTab {
        hold: Money,
    },
    CloseTab {
        payment: String,
        tip: Money,
    },
    AdjustTip {
        payment: String,
        tip: Money,
    },
    Refund {
        payment: String,
        amount: Money,
        reason: String,
        manager_pin: String,
    },
    /// Show the receipt preview of a copy.
    Preview {
        copy: ReceiptCopy,
        payment: Option<String>,
    },
}

impl PaymentIntent {
    /// The device command for this intent on `check`, by the person whose `pin` is signed in,
    /// as `attempt` (made once when the button was pressed: pressing twice sends it twice).
    pub fn command(self, check: &str, pin: &str, attempt: Option<String>) -> PaymentCommand {
        let check = check.to_owned();
        let pin = pin.to_owned();
        match self {
            PaymentIntent::Cash {
                tendered,
                amount,
                seat,
            } => PaymentCommand::Cash {
                check,
                pin,
                tendered,
                amount,
                seat,
                tip: Money::ZERO,
                attempt,
            },
            PaymentIntent::Card {
                amount,
                seat,
                tip,
                manager_pin,
            } => PaymentCommand::Card {
                check,
                pin,
                amount,
                seat,
                tip,
                attempt,
                manager_pin,
            },
            PaymentIntent::OpenTab { hold } => PaymentCommand::OpenTab {
                check,
                pin,
                hold,
                seat: None,
                attempt,
            },
            PaymentIntent::CloseTab { payment, tip } => PaymentCommand::CloseTab {
                check,
                pin,
                payment: Some(payment),
                tip,
                attempt,
            },
            PaymentIntent::AdjustTip { payment, tip } => PaymentCommand::AdjustTip {
                check,
                pin,
                payment,
                tip,
                attempt,
            },
            PaymentIntent::Refund {
                payment,
                amount,
                reason,
                manager_pin,
            } => PaymentCommand::Refund {
                check,
                manager_pin,
                payment,
                amount,
                reason,
                attempt,
            },
            PaymentIntent::Preview { copy, payment } => PaymentCommand::Receipt {
                check,
                copy,
                payment,
                print: false,
            },
        }
    }
}

fn status(state: &PaymentState) -> String {
    match state {
        PaymentState::Taken => "taken".to_owned(),
        PaymentState::OpenTab { hold } => format!("tab open ({hold} held)"),
        PaymentState::Offline { .. } => "offline, not yet uploaded".to_owned(),
        PaymentState::DeclinedOnUpload { reason } => format!("declined on upload: {reason}"),
    }
}

/// The payment screen of a check, from its fold and the alerts in the projections.
pub fn payment_view(
    db: &Connection,
    fold: &CheckFold,
    has_card_terminal: bool,
    has_printer: bool,
) -> rusqlite::Result<Option<PaymentView>> {
    let Some(check) = &fold.check else {
        return Ok(None);
    };
    let ledger = &fold.payments.ledger;
    let total = check.totals().total;
    let paid = ledger.net_paid().unwrap_or(Money::ZERO);
    let due = check.balance_due().unwrap_or(Money::ZERO);
    let balance = if due.is_negative() { Money::ZERO } else { due };
    let seats = check
        .split_by_seat()
        .map(|parts| {
            parts
                .into_iter()
                .filter_map(|p| {
                    let seat = p.seat?.0;
                    let paid = ledger.paid_for_seat(seat).unwrap_or(Money::ZERO);
                    // What the seat still owes; never more than the check does (a payment for
                    // no seat in particular pays every seat's share).
                    let left = p.amount.checked_sub(paid).unwrap_or(Money::ZERO);
                    let left = if left.is_negative() {
                        Money::ZERO
                    } else {
                        left
                    };
                    Some(SeatShare {
                        seat,
                        share: p.amount,
                        paid,
                        due: left.min(balance),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let payments = ledger
        .payments()
        .iter()
        .map(|p| {
            let taken = matches!(p.state, PaymentState::Taken | PaymentState::Offline { .. });
            PaymentRow {
                id: p.id.to_string(),
                label: receipt::tender_label(p),
                amount: p.amount,
                tip: p.tip,
                status: status(&p.state),
                refunded: p.refunded,
                seat: p.seat,
                can_adjust_tip: taken && p.tender == Tender::Card,
                can_refund: taken && p.refundable().is_ok_and(|r| !r.is_zero()),
                can_close_tab: matches!(p.state, PaymentState::OpenTab { .. }),
            }
        })
        .collect();
    let alerts = proj::alerts(db)?
        .into_iter()
        .filter(|a| a.open && a.subject == check.id().as_str())
        .map(|a| a.detail)
        .collect();
    let open = check.state() == CheckState::Open;
    let notice = match (open, fold.payments.print_failure()) {
        (false, Some(failed)) => Some(format!(
            "Paid. The {} receipt did not print: {}",
            failed.copy.as_str(),
            failed.error.as_deref().unwrap_or("unknown error")
        )),
        (false, None) => Some("Paid".to_owned()),
        (true, _) if paid > Money::ZERO && due > Money::ZERO => Some(format!("{due} still to pay")),
        _ => None,
    };
    Ok(Some(PaymentView {
        check: check.id().to_string(),
        number: check.number().to_string(),
        table: check.table().map(|t| t.to_string()),
        state: if open { "open" } else { "closed" }.to_owned(),
        total,
        paid,
        tips: ledger.tips().unwrap_or(Money::ZERO),
        refunded: ledger.refunded().unwrap_or(Money::ZERO),
        balance_due: balance,
        overpaid: if paid > total {
            paid.checked_sub(total).unwrap_or(Money::ZERO)
        } else {
            Money::ZERO
        },
        seats,
        payments,
        declines: ledger
            .declines()
            .iter()
            .map(|d| format!("{} declined: {}", d.amount, d.message))
            .collect(),
        alerts,
        notice,
        can_take_payment: open && due > Money::ZERO,
        has_card_terminal,
        has_printer,
    }))
}

/// The receipt preview screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceiptPreview {
    pub check: String,
    pub copy: ReceiptCopy,
    /// The lines exactly as they print.
    pub lines: Vec<String>,
    /// Card payments a merchant copy can be printed for.
    pub merchant_copies: Vec<String>,
    pub has_printer: bool,
    /// The last print of this check, if it failed: shown above the preview.
    pub last_failure: Option<String>,
}

/// What the receipt preview's buttons ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptIntent {
    /// Show another copy.
    Show {
        copy: ReceiptCopy,
        payment: Option<String>,
    },
    /// Print (or print again) the copy shown.
    Print {
        copy: ReceiptCopy,
        payment: Option<String>,
    },
    Close,
}

impl ReceiptIntent {
    /// The device command for this intent on `check` (`None` for closing the preview).
    pub fn command(self, check: &str) -> Option<PaymentCommand> {
        let check = check.to_owned();
        match self {
            ReceiptIntent::Show { copy, payment } => Some(PaymentCommand::Receipt {
                check,
                copy,
                payment,
                print: false,
            }),
            ReceiptIntent::Print { copy, payment } => Some(PaymentCommand::Receipt {
                check,
                copy,
                payment,
                print: true,
            }),
            ReceiptIntent::Close => None,
        }
    }
}

/// The preview of `receipt` for the check folded in `fold`.
pub fn receipt_preview(fold: &CheckFold, receipt: &Receipt, has_printer: bool) -> ReceiptPreview {
    ReceiptPreview {
        check: fold
            .check
            .as_ref()
            .map(|c| c.id().to_string())
            .unwrap_or_default(),
        copy: receipt.copy,
        lines: receipt.preview(),
        merchant_copies: fold
            .payments
            .ledger
            .payments()
            .iter()
            .filter(|p| p.card.is_some())
            .map(|p| p.id.to_string())
            .collect(),
        has_printer,
        last_failure: fold.payments.print_failure().map(|f| {
            format!(
                "The {} receipt did not print on {}: {}",
                f.copy.as_str(),
                f.printer,
                f.error.as_deref().unwrap_or("unknown error")
            )
        }),
    }
}
