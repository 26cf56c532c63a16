//! The card terminal protocol, version 1: how a Pass device talks to a payment terminal (and
//! how the simulator in `card-terminal-sim` answers).
//!
//! # Transport
//!
//! TCP, one JSON object per line (UTF-8, `\n`-terminated, at most [`MAX_LINE_BYTES`]), request
//! then answer, on one connection or many. The device connects, writes a request, reads the
//! answer. The terminal answers each request on the connection it came on.
//!
//! # Requests
//!
//! Every request carries `"v":1`, an `op`, and an idempotency `key` (8 to 64 characters of
//! a–z, 0–9 and `-`). **The terminal does a request's work once per key**: a request whose key
//! it has seen is answered with the first answer, whatever the rest of it says. A device that
//! gets no answer (the connection broke, the answer never came) sends the same request with the
//! same key again, and learns what happened without charging twice. A new attempt (after a
//! decline, say) gets a new key. The key of the request that made a transaction is that
//! transaction's **reference**: captures, tip adjustments and refunds name it.
//!
//! | `op` | fields | what it does |
//! |---|---|---|
//! | `sale` | `amount`, `tip`, `offline_cap`, `offline_approved_by`? | takes a card payment of `amount` + `tip` from the card presented |
//! | `pre_auth` | `amount` | holds `amount` on the card presented (a bar tab) |
//! | `capture` | `reference` (the hold), `amount`, `tip` | charges a hold: at most 125 % of it |
//! | `adjust` | `reference`, `tip` | sets the tip of a payment not yet settled |
//! | `refund` | `reference`, `amount` | gives back up to what the payment took |
//! | `uploads` | – | the outcome of every payment stored offline that has reached the network |
//! | `batch_close` | – | settles every captured transaction and refund since the last batch |
//! | `status` | – | whether the card network is reachable, how many payments wait to upload |
//!
//! Amounts are money strings with two decimals (`"12.50"`).
//!
//! # Answers
//!
//! `{"v":1,"key":…,"result":…}` with `result`:
//!
//! - `approved`: `amount`, `tip`, `card` (`token`, `brand`, `last4`), `auth_code` (absent when
//!   `offline` is true: stored to forward later);
//! - `partial`: approved for less than asked (`amount` is what was approved, the tip is dropped);
//! - `declined`: `code` and `message` (nothing was charged); codes: `card_declined`,
//!   `invalid_card`, `timeout` (the network never answered), `offline` (needs the network),
//!   `offline_cap` (over the offline cap without a manager's approval), `over_authorised`,
//!   `unknown_reference`, `settled`, `refund_too_large`, `offline_pending`;
//! - `error`: `message`: the request was not understood (nothing was done).
//!
//! `uploads` answers `uploads`: `[{reference, outcome: approved|declined, auth_code?, reason?}]`;
//! `batch_close` answers `batch`: `{batch, count, captured, refunded, captures: [{reference,
//! amount, tip}], refunds: [{reference, of, amount}]}`; `status` answers `online` and `stored`.
//!
//! # Card data
//!
//! The card is read by the terminal. A device receives only the terminal's `token` for it, the
//! brand and the last four digits, and keeps only those and the authorisation code: no request
//! or answer of this protocol ever carries a card number.
//!
//! # Simulator controls
//!
//! The simulator also takes `{"sim":…}` lines, which stand for what happens at the counter and
//! in the card network, for tests and the demo (a device never sends them):
//! `{"sim":"tap","card":"4242424242424242"}` (the card the next `sale` or `pre_auth` reads),
//! `{"sim":"network","online":false}` (the card network goes out of reach, or comes back: stored
//! payments are then uploaded), `{"sim":"advance","ms":N}` (moves the simulator's clock on, for
//! the 24-hour offline expiry). Each is answered `{"ok":true}` or `{"ok":false,"error":…}`.

use serde::{Deserialize, Serialize};

use crate::domain::Money;
use crate::domain::payment::CardBrand;

/// The protocol version this build speaks.
pub const VERSION: u32 = 1;

/// The longest line either side sends.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// A request, as it goes on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub v: u32,
    pub key: String,
    #[serde(flatten)]
    pub op: Op,
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    Sale {
        amount: Money,
        tip: Money,
        /// The largest payment (amount and tip) the terminal may store offline.
        offline_cap: Money,
        /// A manager approved storing this payment offline above the cap.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offline_approved_by: Option<String>,
    },
    PreAuth {
        amount: Money,
    },
    Capture {
        reference: String,
        amount: Money,
        tip: Money,
    },
    Adjust {
        reference: String,
        tip: Money,
    },
    Refund {
        reference: String,
        amount: Money,
    },
    Uploads,
    BatchClose,
    Status,
}

impl Op {
    /// The op's wire name.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Sale { .. } => "sale",
            Op::PreAuth { .. } => "pre_auth",
            Op::Capture { .. } => "capture",
            Op::Adjust { .. } => "adjust",
            Op::Refund { .. } => "refund",
            Op::Uploads => "uploads",
            Op::BatchClose => "batch_close",
            Op::Status => "status",
        }
    }
}

/// The outcome of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Approved,
    Partial,
    Declined,
    Error,
}

/// The card of an answer: never its number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    pub token: String,
    pub brand: CardBrand,
    pub last4: String,
}

/// An offline payment's fate once it reached the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upload {
    pub reference: String,
    pub outcome: UploadOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadOutcome {
    Approved,
    Declined,
}

/// A transaction settled in a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capture {
    pub reference: String,
    pub amount: Money,
    pub tip: Money,
}

/// A refund settled in a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub reference: String,
    /// The reference of the payment refunded.
    pub of: String,
    pub amount: Money,
}

/// An end-of-day batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub batch: String,
    pub count: u32,
    /// Σ amount + tip of the captures.
    pub captured: Money,
    /// Σ refunds.
    pub refunded: Money,
    pub captures: Vec<Capture>,
    pub refunds: Vec<Refund>,
}

/// An answer, as it goes on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub v: u32,
    pub key: String,
    pub result: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tip: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<Card>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_code: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub offline: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploads: Option<Vec<Upload>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<Batch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored: Option<u32>,
}

impl Answer {
    /// An answer with only the outcome set.
    pub fn new(key: &str, result: Outcome) -> Answer {
        Answer {
            v: VERSION,
            key: key.to_owned(),
            result,
            amount: None,
            tip: None,
            card: None,
            auth_code: None,
            offline: false,
            code: None,
            message: None,
            uploads: None,
            batch: None,
            online: None,
            stored: None,
        }
    }

    /// A decline with its code and message.
    pub fn declined(key: &str, code: &str, message: impl Into<String>) -> Answer {
        Answer {
            code: Some(code.to_owned()),
            message: Some(message.into()),
            ..Answer::new(key, Outcome::Declined)
        }
    }
}

/// A simulator control line (tests and the demo; see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "sim", rename_all = "snake_case", deny_unknown_fields)]
pub enum SimControl {
    /// The card the next `sale` or `pre_auth` reads.
    Tap { card: String },
    /// The card network goes out of reach (`false`) or comes back (`true`).
    Network { online: bool },
    /// Moves the simulator's clock on.
    Advance { ms: i64 },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_answers_read_back_as_written() {
        let request = Request {
            v: VERSION,
            key: "t1-abcdefgh".into(),
            op: Op::Sale {
                amount: Money::from_minor(1250),
                tip: Money::from_minor(200),
                offline_cap: Money::from_minor(10_000),
                offline_approved_by: None,
            },
        };
        let line = serde_json::to_string(&request).expect("json");
        assert_eq!(
            line,
            r#"{"v":1,"key":"t1-abcdefgh","op":"sale","amount":"12.50","tip":"2.00","offline_cap":"100.00"}"#
        );
        assert_eq!(
            serde_json::from_str::<Request>(&line).expect("read"),
            request
        );
        let answer = Answer::declined("t1-abcdefgh", "card_declined", "declined");
        let line = serde_json::to_string(&answer).expect("json");
        assert_eq!(serde_json::from_str::<Answer>(&line).expect("read"), answer);
        let control: SimControl =
            serde_json::from_str(r#"{"sim":"network","online":false}"#).expect("control");
        assert_eq!(control, SimControl::Network { online: false });
    }
}
