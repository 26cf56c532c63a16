//! The payment provider trait: one interface for every way money is taken, each request with
//! an idempotency key. A provider does a request's work once per key; asked again with the same
//! key it gives the first answer. [`CashDrawer`] takes cash; [`super::card::CardTerminal`]
//! drives a card terminal over TCP.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::domain::Money;
use crate::domain::check::StaffId;
use crate::domain::payment::{AuthCode, CardRef, CashPayment, IdempotencyKey, cash_payment};

/// One request to a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderRequest {
    /// Done once per key, answered the same way every time.
    pub key: IdempotencyKey,
    pub op: ProviderOp,
}

/// What may be stored offline, and who approved going over the cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflinePolicy {
    pub cap: Money,
    pub approved_by: Option<StaffId>,
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderOp {
    /// Take `amount` and `tip`; cash also says what was handed over.
    Sale {
        amount: Money,
        tip: Money,
        tendered: Option<Money>,
        offline: OfflinePolicy,
    },
    /// Hold `amount` on a card (a bar tab).
    PreAuth { amount: Money },
    /// Charge a hold.
    Capture {
        reference: String,
        amount: Money,
        tip: Money,
    },
    /// Set the tip of a payment not yet settled.
    AdjustTip { reference: String, tip: Money },
    /// Give back up to what a payment took.
    Refund { reference: String, amount: Money },
    /// Outcomes of payments stored offline.
    Uploads,
    /// Settle the day's transactions.
    BatchClose,
}

impl ProviderOp {
    pub fn name(&self) -> &'static str {
        match self {
            ProviderOp::Sale { .. } => "sale",
            ProviderOp::PreAuth { .. } => "pre_auth",
            ProviderOp::Capture { .. } => "capture",
            ProviderOp::AdjustTip { .. } => "adjust",
            ProviderOp::Refund { .. } => "refund",
            ProviderOp::Uploads => "uploads",
            ProviderOp::BatchClose => "batch_close",
        }
    }
}

/// An approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// What was approved of the amount asked (less for a partial approval).
    pub amount: Money,
    pub tip: Money,
    pub card: Option<CardRef>,
    /// `None` for cash, and for a card payment stored offline.
    pub auth_code: Option<AuthCode>,
    /// Stored by the terminal to upload later.
    pub offline: bool,
    /// Approved for less than was asked.
    pub partial: bool,
    /// Cash: what was handed over and the change.
    pub cash: Option<CashPayment>,
}

/// What became of a payment stored offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadResult {
    pub reference: String,
    /// `Ok(auth code)` or `Err(reason)`.
    pub outcome: Result<AuthCode, String>,
}

/// A settled batch as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchReport {
    pub batch: String,
    pub count: u32,
    pub captured: Money,
    pub refunded: Money,
    /// (reference, amount + tip) of each capture.
    pub captures: Vec<(String, Money)>,
    /// References of the refunds settled.
    pub refunds: Vec<String>,
}

/// A provider's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderReply {
    Approved(Approval),
    /// Nothing was taken.
    Declined {
        code: String,
        message: String,
    },
    Uploads(Vec<UploadResult>),
    Batch(BatchReport),
}

/// Why a provider gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The request never left: nothing can have been charged.
    #[error("the payment device could not be reached ({0}): nothing was charged")]
    Unreachable(String),
    /// The request went out and no answer came back: it may or may not have been done. The
    /// same request with the same key finds out.
    #[error(
        "the payment device did not answer ({0}): try again with the same attempt to find out whether it went through"
    )]
    NoAnswer(String),
    #[error("the payment device answered something this build does not understand: {0}")]
    Protocol(String),
    #[error("{provider} cannot {op}")]
    Unsupported {
        provider: &'static str,
        op: &'static str,
    },
    #[error("{0}")]
    Refused(String),
}

/// A way of taking money. Every request carries an idempotency key; a provider does each key's
/// work once.
pub trait PaymentProvider: Send + Sync {
    /// A name for logs and messages ("cash", "card terminal 127.0.0.1:7700").
    fn name(&self) -> String;

    /// Carries out `request` (or answers it again, for a key already done).
    fn submit(&self, request: &ProviderRequest) -> Result<ProviderReply, ProviderError>;
}

/// Cash: what was tendered against what is due, and the change. Remembers each key's answer,
/// so a request sent twice gives the same change once.
#[derive(Debug, Default)]
pub struct CashDrawer {
    done: Mutex<BTreeMap<IdempotencyKey, ProviderReply>>,
}

impl CashDrawer {
    pub fn new() -> CashDrawer {
        CashDrawer::default()
    }
}

impl PaymentProvider for CashDrawer {
    fn name(&self) -> String {
        "cash".to_owned()
    }

    fn submit(&self, request: &ProviderRequest) -> Result<ProviderReply, ProviderError> {
        let mut done = self
            .done
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(reply) = done.get(&request.key) {
            return Ok(reply.clone());
        }
        let reply = match &request.op {
            ProviderOp::Sale {
                amount,
                tip,
                tendered,
                ..
            } => {
                let tendered = tendered.ok_or_else(|| {
                    ProviderError::Refused("a cash payment needs the amount tendered".to_owned())
                })?;
                let owed = amount
                    .checked_add(*tip)
                    .map_err(|e| ProviderError::Refused(e.to_string()))?;
                let cash = cash_payment(owed, tendered)
                    .map_err(|e| ProviderError::Refused(e.to_string()))?;
                // Short of amount and tip: the tip goes first.
                let (paid, tip) = if cash.applied < owed {
                    (cash.applied.min(*amount), Money::ZERO)
                } else {
                    (*amount, *tip)
                };
                ProviderReply::Approved(Approval {
                    amount: paid,
                    tip,
                    card: None,
                    auth_code: None,
                    offline: false,
                    partial: paid < *amount,
                    cash: Some(cash),
                })
            }
            ProviderOp::Refund { amount, .. } => ProviderReply::Approved(Approval {
                amount: *amount,
                tip: Money::ZERO,
                card: None,
                auth_code: None,
                offline: false,
                partial: false,
                cash: None,
            }),
            other => {
                return Err(ProviderError::Unsupported {
                    provider: "cash",
                    op: other.name(),
                });
            }
        };
        done.insert(request.key.clone(), reply.clone());
        Ok(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        s.parse().expect("amount")
    }

    fn sale(key: &str, amount: &str, tendered: &str) -> ProviderRequest {
        ProviderRequest {
            key: IdempotencyKey::new(key).expect("key"),
            op: ProviderOp::Sale {
                amount: m(amount),
                tip: Money::ZERO,
                tendered: Some(m(tendered)),
                offline: OfflinePolicy {
                    cap: m("100.00"),
                    approved_by: None,
                },
            },
        }
    }

    #[test]
    fn cash_gives_change_once_per_key() {
        let drawer = CashDrawer::new();
        let first = drawer.submit(&sale("t1-cash-0001", "33.45", "40.00"));
        let again = drawer.submit(&sale("t1-cash-0001", "99.00", "100.00"));
        assert_eq!(first, again, "the same key answers the same");
        let Ok(ProviderReply::Approved(approval)) = first else {
            panic!("approved: {first:?}");
        };
        let cash = approval.cash.expect("cash");
        assert_eq!((cash.applied, cash.change), (m("33.45"), m("6.55")));
        let short = drawer.submit(&sale("t1-cash-0002", "33.45", "20.00"));
        let Ok(ProviderReply::Approved(short)) = short else {
            panic!("approved: {short:?}");
        };
        assert_eq!((short.amount, short.partial), (m("20.00"), true));
        let pre_auth = ProviderRequest {
            key: IdempotencyKey::new("t1-cash-0003").expect("key"),
            op: ProviderOp::PreAuth { amount: m("1.00") },
        };
        assert!(matches!(
            drawer.submit(&pre_auth),
            Err(ProviderError::Unsupported { .. })
        ));
    }
}
