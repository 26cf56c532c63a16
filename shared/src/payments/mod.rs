//! Payments and receipts: taking cash and cards, tips, split tender, bar tabs, refunds, offline
//! card payments, the card batch, cash drawers, and receipts on paper and on screen.
//!
//! - [`provider`]: the [`provider::PaymentProvider`] trait, an idempotency key on every request;
//!   [`provider::CashDrawer`] takes cash (tendered, change).
//! - [`card`]: the card-terminal driver, over TCP, retrying a request with its own key when
//!   the answer does not come; [`protocol`] is that TCP protocol (JSON lines), documented.
//! - [`sim`]: the payment terminal simulator behind `card-terminal-sim` (test cards choose
//!   approve, decline, partial approval, timeout, lost answer, decline on upload).
//! - [`desk`]: what a terminal does when money changes hands, from PIN to committed events and
//!   printed receipt; [`settings`] names a terminal's card terminal and printer.
//! - [`receipt`]: guest check, customer and merchant copies as text and ESC/POS;
//!   [`printer`] sends them to a network printer (raw TCP, port 9100).
//! - [`view`]: the payment and receipt-preview screens as plain data and intents.
//!
//! The rules (amounts, cash change, the offline cap and expiry, the ledger of a check's
//! payments and its alerts) are the domain's, in [`crate::domain::payment`]; the facts are the
//! journal's events (`payment_taken`, `tab_opened`, `tip_adjusted`, `payment_refunded`,
//! `offline_payment_uploaded`, `card_declined`, `receipt_printed`, `card_batch_closed`,
//! `drawer_opened`, `drawer_counted`), folded by [`crate::projection::payments`].
//!
//! **No card number is ever taken, stored, logged or published**: the card is read by the
//! payment terminal, and a device keeps its token, brand, last four digits and authorisation
//! code only. Text that reads as a card number is refused wherever the payment code takes text.

pub mod card;
pub mod desk;
pub mod device;
pub mod printer;
pub mod protocol;
pub mod provider;
pub mod receipt;
pub mod settings;
pub mod sim;
pub mod view;

use serde::{Deserialize, Serialize};

use crate::domain::Money;
use crate::event::ReceiptCopy;

/// A payment request to a running terminal device (the control socket's `payment` command and
/// what the payment screens' intents become). PINs travel in it: never log one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum PaymentCommand {
    /// The check's payment view.
    View { check: String },
    /// Cash handed over (`tendered`): pays at most what is due, the rest is change.
    Cash {
        check: String,
        pin: String,
        tendered: Money,
        /// What to pay; default: the seat's share, or the balance.
        #[serde(default)]
        amount: Option<Money>,
        #[serde(default)]
        seat: Option<u32>,
        #[serde(default)]
        tip: Money,
        /// The attempt's idempotency key; default: a new attempt.
        #[serde(default)]
        attempt: Option<String>,
    },
    /// A card on the card terminal, with the tip chosen there.
    Card {
        check: String,
        pin: String,
        #[serde(default)]
        amount: Option<Money>,
        #[serde(default)]
        seat: Option<u32>,
        #[serde(default)]
        tip: Money,
        #[serde(default)]
        attempt: Option<String>,
        /// A manager approving an offline payment over the store's cap.
        #[serde(default)]
        manager_pin: Option<String>,
    },
    /// A bar tab: a pre-authorisation holding `hold` on the card.
    OpenTab {
        check: String,
        pin: String,
        hold: Money,
        #[serde(default)]
        seat: Option<u32>,
        #[serde(default)]
        attempt: Option<String>,
    },
    /// Captures what the check owes (and `tip`) on a tab's card.
    CloseTab {
        check: String,
        pin: String,
        /// The tab's payment id; default: the check's only open tab.
        #[serde(default)]
        payment: Option<String>,
        #[serde(default)]
        tip: Money,
        #[serde(default)]
        attempt: Option<String>,
    },
    /// Sets the tip of a card payment after the guest signed.
    AdjustTip {
        check: String,
        pin: String,
        payment: String,
        tip: Money,
        #[serde(default)]
        attempt: Option<String>,
    },
    /// Gives back (part of) a payment, with a manager's PIN and a reason.
    Refund {
        check: String,
        manager_pin: String,
        payment: String,
        amount: Money,
        reason: String,
        #[serde(default)]
        attempt: Option<String>,
    },
    /// Record what became of offline card payments.
    Upload { pin: String },
    /// The card terminal's end-of-day batch.
    BatchClose {
        pin: String,
        #[serde(default)]
        attempt: Option<String>,
    },
    /// Opens this terminal's cash drawer with a float.
    DrawerOpen { pin: String, float: Money },
    /// The cash drawer's totals.
    Drawer { pin: String },
    /// Counts the cash drawer at close.
    DrawerCount { pin: String, counted: Money },
    /// A receipt's lines; printed too with `print`.
    Receipt {
        check: String,
        copy: ReceiptCopy,
        #[serde(default)]
        payment: Option<String>,
        #[serde(default)]
        print: bool,
    },
    /// Every payment alert.
    Alerts,
    /// Names this terminal's card terminal and printer (an empty text removes one).
    Setup {
        #[serde(default)]
        card_terminal: Option<String>,
        #[serde(default)]
        printer: Option<String>,
        #[serde(default)]
        card_answer_ms: Option<u64>,
        #[serde(default)]
        card_attempts: Option<u32>,
    },
}
