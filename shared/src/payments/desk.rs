//! The payment desk: what a terminal does when money changes hands, from the PIN to the
//! committed event and the printed receipt.
//!
//! Each operation signs the person in (with the permission the operation needs), folds the
//! check from the journal as the projections see it, checks the request against the domain's
//! rules, asks the provider (cash drawer or card terminal) with an idempotency key, and only
//! then commits what happened, in one commit with the check's close when the payment settles
//! it. A refusal writes nothing; a card the terminal declines is recorded as declined (nothing
//! was taken) and the check stays as it was.
//!
//! # Attempts and keys
//!
//! The idempotency key of a request is its *attempt*: given by the caller (a screen makes one
//! when the server presses Pay, so a double tap sends the same attempt twice), or made here. An
//! attempt already recorded on the check is asked of the terminal again, which answers it
//! again without charging, and the payment already recorded is the answer: one attempt is one
//! payment, however often it is submitted. When the terminal does not answer at all, the
//! error names the attempt, so the server can ask again with it and learn what happened.

use std::sync::Mutex;

use serde_json::{Value, json};

use super::printer::ReceiptPrinter;
use super::provider::{
    OfflinePolicy, PaymentProvider, ProviderError, ProviderOp, ProviderReply, ProviderRequest,
};
use super::receipt::{self, ReceiptError, ReceiptInput};
use crate::domain::Money;
use crate::domain::check::{Check, CheckError, CheckState, Reason};
use crate::domain::menu::Menu;
use crate::domain::payment::{
    self, IdempotencyKey, LedgerPayment, OFFLINE_EXPIRY_MS, PaymentError, PaymentId, PaymentState,
    Tender, check_amount,
};
use crate::domain::staff::{self, Permission, SignInError, SignInThrottle, Staff};
use crate::event::{CardRecord, CashRecord, Event, ReceiptCopy, UploadRecord};
use crate::journal::{Journal, JournalError};
use crate::projection::fold::CheckFold;
use crate::projection::{self, load_check_fold, payments as proj};

/// Why a payment operation did nothing (or, for [`PaymentsError::Declined`], took nothing).
#[derive(Debug, thiserror::Error)]
pub enum PaymentsError {
    #[error("there is no check {0}")]
    NoCheck(String),
    #[error(transparent)]
    Rule(#[from] PaymentError),
    #[error(transparent)]
    Check(#[from] CheckError),
    #[error("sign-in: {0}")]
    SignIn(#[from] SignInError),
    #[error("{who} may not {what}")]
    NotAllowed { who: String, what: &'static str },
    #[error("declined: {message} ({code}); nothing was taken")]
    Declined { code: String, message: String },
    #[error("{error} [attempt {key}]")]
    Provider { error: ProviderError, key: String },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Receipt(#[from] ReceiptError),
    #[error(transparent)]
    Money(#[from] crate::domain::MoneyError),
}

impl From<rusqlite::Error> for PaymentsError {
    fn from(e: rusqlite::Error) -> PaymentsError {
        PaymentsError::Journal(JournalError::from(e))
    }
}

/// A payment towards a check: how much, for which seat, with which attempt.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Towards {
    pub check: String,
    /// What to pay; `None`: the seat's share when `seat` is given, else the balance.
    pub amount: Option<Money>,
    pub seat: Option<u32>,
    pub tip: Money,
    /// The idempotency key; `None`: a new attempt.
    pub attempt: Option<String>,
}

/// Who takes a payment: a PIN typed for this operation (`pass pay`), or the person a
/// terminal's session has already signed in (no second PIN check; their role is checked against
/// the staff list as it is now). A manager's approval is always a PIN typed there and then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator<'a> {
    Pin(&'a str),
    SignedIn(&'a crate::domain::check::StaffId),
}

impl<'a> From<&'a str> for Operator<'a> {
    fn from(pin: &'a str) -> Operator<'a> {
        Operator::Pin(pin)
    }
}

impl<'a> From<&'a String> for Operator<'a> {
    fn from(pin: &'a String) -> Operator<'a> {
        Operator::Pin(pin)
    }
}

/// What a terminal's desk works with.
pub struct Desk<'a> {
    pub journal: &'a Journal,
    /// The device's id: its cash drawer, and the first part of the keys it makes.
    pub device: &'a str,
    pub now_ms: i64,
    pub cash: &'a dyn PaymentProvider,
    /// The card terminal, when the device has one.
    pub card: Option<&'a dyn PaymentProvider>,
    /// The card terminal's address, as card batches record it.
    pub card_terminal: Option<&'a str>,
    pub printer: Option<&'a dyn ReceiptPrinter>,
    /// The device's sign-in throttle (wrong PINs slow further tries).
    pub throttle: &'a Mutex<SignInThrottle>,
}

fn closed_or_open(state: CheckState) -> &'static str {
    match state {
        CheckState::Open => "open",
        CheckState::Closed => "closed",
        CheckState::Merged => "merged",
    }
}

/// A decline as an error, quoting the terminal's words without any card number in them.
fn refused(code: &str, message: &str) -> PaymentsError {
    PaymentsError::Declined {
        code: payment::printable(code),
        message: payment::printable(message),
    }
}

/// What `towards` should pay of `check` now: the amount given, the seat's share less what the
/// seat paid, or the balance; never more than the balance.
pub fn amount_due(
    check: &Check,
    ledger: &payment::PaymentLedger,
    seat: Option<u32>,
    amount: Option<Money>,
) -> Result<Money, PaymentsError> {
    let balance = check.balance_due()?;
    if balance <= Money::ZERO {
        return Err(PaymentError::NothingDue.into());
    }
    if let Some(amount) = amount {
        check_amount("a payment", amount, true)?;
        if amount > balance {
            return Err(PaymentError::MoreThanDue {
                amount,
                due: balance,
            }
            .into());
        }
        return Ok(amount);
    }
    let Some(seat) = seat else {
        return Ok(balance);
    };
    let parts = check.split_by_seat()?;
    let part = parts
        .iter()
        .find(|p| p.seat.is_some_and(|s| s.0 == seat))
        .ok_or_else(|| PaymentsError::Invalid(format!("seat {seat} has nothing on this check")))?;
    let due = part.amount.checked_sub(ledger.paid_for_seat(seat)?)?;
    if due <= Money::ZERO {
        return Err(PaymentsError::Invalid(format!(
            "seat {seat} has paid its share"
        )));
    }
    Ok(due.min(balance))
}

/// The check's close, when a payment of `adding` settles it (every line sent, nothing due).
fn close_if_settled(check: &Check, adding: Money) -> Vec<Event> {
    let mut after = check.clone();
    if after.accept_payment(adding).is_ok() && after.close().is_ok() {
        vec![Event::CheckClosed {
            check: check.id().to_string(),
        }]
    } else {
        Vec::new()
    }
}

/// A card record from an approval.
fn card_record(
    approval: &super::provider::Approval,
    reference: &IdempotencyKey,
    now_ms: i64,
    approved_by: Option<&Staff>,
) -> Result<CardRecord, PaymentsError> {
    let card = approval
        .card
        .as_ref()
        .ok_or_else(|| PaymentsError::Provider {
            error: ProviderError::Protocol("a card approval without its card".to_owned()),
            key: reference.to_string(),
        })?;
    Ok(CardRecord {
        token: card.token().to_owned(),
        brand: card.brand(),
        last4: card.last4().to_owned(),
        auth_code: approval.auth_code.as_ref().map(|a| a.as_str().to_owned()),
        reference: reference.to_string(),
        partial: approval.partial,
        offline_expires_ms: approval
            .offline
            .then(|| now_ms.saturating_add(OFFLINE_EXPIRY_MS)),
        offline_approved_by: approval
            .offline
            .then(|| approved_by.map(|s| s.id().to_string()))
            .flatten(),
    })
}

impl Desk<'_> {
    fn read<T>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
    ) -> Result<T, PaymentsError> {
        Ok(self.journal.read(f)?)
    }

    /// Signs `who` in (a PIN, or a person already signed in) and checks that they may do
    /// `what`.
    fn sign_in(
        &self,
        who: Operator<'_>,
        permission: Permission,
        what: &'static str,
    ) -> Result<Staff, PaymentsError> {
        let people = self.read(projection::staff)?;
        let id = match who {
            Operator::Pin(pin) => {
                let now = u64::try_from(self.now_ms).unwrap_or(0);
                let mut throttle = self
                    .throttle
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                staff::sign_in(&people, pin, now, &mut throttle)?
            }
            Operator::SignedIn(id) => id.clone(),
        };
        let person = people
            .into_iter()
            .find(|p| p.id() == &id && p.is_active())
            .ok_or_else(|| {
                PaymentsError::Invalid(format!("{id} is not an active member of staff"))
            })?;
        if !person.permits(permission) {
            return Err(PaymentsError::NotAllowed {
                who: format!("{} ({})", person.name(), person.role().as_str()),
                what,
            });
        }
        Ok(person)
    }

    fn fold(&self, check: &str) -> Result<(CheckFold, Check), PaymentsError> {
        let fold = self.read(|db| load_check_fold(db, check))?;
        let c = fold
            .check
            .clone()
            .ok_or_else(|| PaymentsError::NoCheck(payment::printable(check)))?;
        Ok((fold, c))
    }

    fn key(&self, attempt: Option<&str>) -> Result<IdempotencyKey, PaymentsError> {
        match attempt {
            Some(a) => Ok(IdempotencyKey::new(a)?),
            None => {
                let mut random = [0u8; 10];
                getrandom::fill(&mut random)
                    .map_err(|e| PaymentsError::Invalid(format!("no randomness for a key: {e}")))?;
                Ok(IdempotencyKey::generate(self.device, random)?)
            }
        }
    }

    fn card(&self) -> Result<&dyn PaymentProvider, PaymentsError> {
        self.card.ok_or_else(|| {
            PaymentsError::Invalid(
                "this terminal has no card terminal (pass pay setup --card-terminal host:port)"
                    .to_owned(),
            )
        })
    }

    fn submit(
        &self,
        provider: &dyn PaymentProvider,
        key: &IdempotencyKey,
        op: ProviderOp,
    ) -> Result<ProviderReply, PaymentsError> {
        provider
            .submit(&ProviderRequest {
                key: key.clone(),
                op,
            })
            .map_err(|error| PaymentsError::Provider {
                error,
                key: key.to_string(),
            })
    }

    /// A refusal is written down as declined (once per attempt) and answered as an error.
    fn declined(
        &self,
        fold: &CheckFold,
        key: &IdempotencyKey,
        amount: Money,
        code: String,
        message: String,
        person: &Staff,
    ) -> PaymentsError {
        // What the terminal says is quoted, never a card number it might carry.
        let (code, message) = (payment::printable(&code), payment::printable(&message));
        let seen = fold
            .payments
            .ledger
            .declines()
            .iter()
            .any(|d| d.reference == key.as_str());
        if !seen && let Some(check) = &fold.check {
            let event = Event::CardDeclined {
                check: check.id().to_string(),
                reference: key.to_string(),
                amount,
                code: code.clone(),
                message: message.clone(),
                staff: person.id().to_string(),
            };
            if let Err(e) = self.journal.append(&event) {
                tracing::error!(error = %e, "a declined card could not be recorded");
            }
        }
        if code == "offline_cap" {
            return PaymentsError::Rule(PaymentError::OverOfflineCap {
                cap: self
                    .read(projection::store_settings)
                    .map(|s| s.offline_card_cap())
                    .unwrap_or_default(),
            });
        }
        PaymentsError::Declined { code, message }
    }

    /// Refuses an attempt already used on another check.
    fn attempt_is_for(&self, key: &IdempotencyKey, check: &str) -> Result<(), PaymentsError> {
        let elsewhere: Option<String> = self.read(|db| {
            use rusqlite::OptionalExtension;
            db.prepare_cached(
                "SELECT check_id FROM proj_payments WHERE (reference = ?1 OR id = ?1) AND check_id <> ?2 LIMIT 1",
            )?
            .query_row([key.as_str(), check], |r| r.get(0))
            .optional()
        })?;
        match elsewhere {
            Some(other) => Err(PaymentsError::Invalid(format!(
                "attempt {key} was used on check {other}"
            ))),
            None => Ok(()),
        }
    }

    /// Commits `events` in one commit; prints the customer's receipt when they close the check.
    fn commit(&self, check: &str, events: &[Event]) -> Result<Value, PaymentsError> {
        self.journal.append_all(events)?;
        let closes = events
            .iter()
            .any(|e| matches!(e, Event::CheckClosed { .. }));
        if closes && self.printer.is_some() {
            return self.print(check, ReceiptCopy::Customer, None);
        }
        Ok(Value::Null)
    }

    /// The check as a payment screen sums it up.
    pub fn summary(&self, check: &str) -> Result<Value, PaymentsError> {
        let (fold, c) = self.fold(check)?;
        let ledger = &fold.payments.ledger;
        let total = c.totals().total;
        let net = ledger.net_paid()?;
        let due = c.balance_due()?;
        Ok(json!({
            "check": check,
            "number": c.number().to_string(),
            "state": closed_or_open(c.state()),
            "total": total,
            "paid": net,
            "tips": ledger.tips()?,
            "refunded": ledger.refunded()?,
            "balance_due": if due.is_negative() { Money::ZERO } else { due },
            "overpaid": if net > total { net.checked_sub(total)? } else { Money::ZERO },
        }))
    }

    fn answer(
        &self,
        check: &str,
        mut fields: Value,
        receipt: Value,
    ) -> Result<Value, PaymentsError> {
        fields["ok"] = json!(true);
        fields["check"] = self.summary(check)?;
        if !receipt.is_null() {
            fields["receipt"] = receipt;
        }
        Ok(fields)
    }

    /// Cash: `tendered` handed over towards `towards`; the change is the rest.
    pub fn cash<'p>(
        &self,
        who: impl Into<Operator<'p>>,
        towards: &Towards,
        tendered: Money,
    ) -> Result<Value, PaymentsError> {
        let person = self.sign_in(who.into(), Permission::TakePayment, "take payments")?;
        let key = self.key(towards.attempt.as_deref())?;
        let (fold, check) = self.fold(&towards.check)?;
        let id = PaymentId::new(key.as_str());
        if let Some(done) = fold.payments.ledger.payment(&id) {
            let fields = json!({"message": "already recorded", "payment": id.as_str(), "amount": done.amount});
            return self.answer(&towards.check, fields, Value::Null);
        }
        self.attempt_is_for(&key, &towards.check)?;
        if check.state() != CheckState::Open {
            return Err(CheckError::Closed(check.id().clone()).into());
        }
        check_amount("a tip", towards.tip, false)?;
        let due = amount_due(&check, &fold.payments.ledger, towards.seat, towards.amount)?;
        let reply = self.submit(
            self.cash,
            &key,
            ProviderOp::Sale {
                amount: due,
                tip: towards.tip,
                tendered: Some(tendered),
                offline: OfflinePolicy {
                    cap: Money::ZERO,
                    approved_by: None,
                },
            },
        )?;
        let ProviderReply::Approved(approval) = reply else {
            return Err(PaymentsError::Invalid(
                "the cash drawer did not take it".into(),
            ));
        };
        let cash = approval
            .cash
            .ok_or_else(|| PaymentsError::Invalid("the cash drawer gave no change".into()))?;
        let mut events = vec![Event::PaymentTaken {
            check: towards.check.clone(),
            payment: key.to_string(),
            tender: Tender::Cash,
            amount: approval.amount,
            tip: approval.tip,
            seat: towards.seat,
            card: None,
            cash: Some(CashRecord {
                tendered: cash.tendered,
                change: cash.change,
                drawer: self.device.to_owned(),
            }),
            staff: person.id().to_string(),
        }];
        events.extend(close_if_settled(&check, approval.amount));
        let receipt = self.commit(&towards.check, &events)?;
        let fields = json!({
            "message": format!("cash {}: change {}", approval.amount, cash.change),
            "payment": key.as_str(),
            "amount": approval.amount,
            "tip": approval.tip,
            "tendered": cash.tendered,
            "change": cash.change,
        });
        self.answer(&towards.check, fields, receipt)
    }

    /// A card payment through the card terminal. Offline, a payment over the store's cap needs
    /// `manager_pin` (someone who may approve it).
    pub fn card_sale<'p>(
        &self,
        who: impl Into<Operator<'p>>,
        towards: &Towards,
        manager_pin: Option<&str>,
    ) -> Result<Value, PaymentsError> {
        let person = self.sign_in(who.into(), Permission::TakePayment, "take payments")?;
        let provider = self.card()?;
        let key = self.key(towards.attempt.as_deref())?;
        let (fold, check) = self.fold(&towards.check)?;
        let ledger = &fold.payments.ledger;
        self.attempt_is_for(&key, &towards.check)?;
        let known = ledger.by_reference(key.as_str()).cloned();
        let (amount, tip) = match &known {
            Some(p) => (p.amount, p.tip),
            None => {
                if check.state() != CheckState::Open {
                    return Err(CheckError::Closed(check.id().clone()).into());
                }
                check_amount("a tip", towards.tip, false)?;
                (
                    amount_due(&check, ledger, towards.seat, towards.amount)?,
                    towards.tip,
                )
            }
        };
        let manager = match manager_pin {
            Some(p) => Some(self.sign_in(
                Operator::Pin(p),
                Permission::OverrideOfflineCardCap,
                "approve an offline card payment over the cap",
            )?),
            None => None,
        };
        let cap = self.read(projection::store_settings)?.offline_card_cap();
        let reply = self.submit(
            provider,
            &key,
            ProviderOp::Sale {
                amount,
                tip,
                tendered: None,
                offline: OfflinePolicy {
                    cap,
                    approved_by: manager.as_ref().map(|m| m.id().clone()),
                },
            },
        )?;
        let approval = match reply {
            ProviderReply::Approved(a) => a,
            ProviderReply::Declined { code, message } => {
                return Err(self.declined(&fold, &key, amount, code, message, &person));
            }
            other => {
                return Err(PaymentsError::Invalid(format!(
                    "the card terminal answered a sale with {other:?}"
                )));
            }
        };
        if let Some(done) = known {
            let fields = json!({
                "message": "already recorded: the terminal confirmed the same attempt",
                "payment": done.id.as_str(),
                "amount": done.amount,
                "tip": done.tip,
            });
            return self.answer(&towards.check, fields, Value::Null);
        }
        let record = card_record(&approval, &key, self.now_ms, manager.as_ref())?;
        let mut events = vec![Event::PaymentTaken {
            check: towards.check.clone(),
            payment: key.to_string(),
            tender: Tender::Card,
            amount: approval.amount,
            tip: approval.tip,
            seat: towards.seat,
            card: Some(record.clone()),
            cash: None,
            staff: person.id().to_string(),
        }];
        events.extend(close_if_settled(&check, approval.amount));
        let receipt = self.commit(&towards.check, &events)?;
        let mut message = format!(
            "{} {} **** {}",
            if approval.offline {
                "stored offline (uploaded when the card network is back):"
            } else {
                "approved:"
            },
            record.brand.label(),
            record.last4
        );
        if approval.partial {
            message = format!(
                "partially approved: {} of {}; the rest is still due ({} **** {})",
                approval.amount,
                amount,
                record.brand.label(),
                record.last4
            );
        }
        let fields = json!({
            "message": message,
            "payment": key.as_str(),
            "amount": approval.amount,
            "tip": approval.tip,
            "partial": approval.partial,
            "offline": approval.offline,
            "card": {"brand": record.brand, "last4": record.last4, "auth_code": record.auth_code},
        });
        self.answer(&towards.check, fields, receipt)
    }

    /// Opens a bar tab: a pre-authorisation holding `hold` on the card.
    pub fn open_tab<'p>(
        &self,
        who: impl Into<Operator<'p>>,
        check_id: &str,
        hold: Money,
        seat: Option<u32>,
        attempt: Option<&str>,
    ) -> Result<Value, PaymentsError> {
        let person = self.sign_in(who.into(), Permission::OpenTab, "open bar tabs")?;
        let provider = self.card()?;
        let key = self.key(attempt)?;
        let (fold, check) = self.fold(check_id)?;
        self.attempt_is_for(&key, check_id)?;
        let id = PaymentId::new(key.as_str());
        let known = fold.payments.ledger.payment(&id).is_some();
        if !known {
            if check.state() != CheckState::Open {
                return Err(CheckError::Closed(check.id().clone()).into());
            }
            check_amount("a hold", hold, true)?;
        }
        let reply = self.submit(provider, &key, ProviderOp::PreAuth { amount: hold })?;
        let approval = match reply {
            ProviderReply::Approved(a) => a,
            ProviderReply::Declined { code, message } => {
                return Err(self.declined(&fold, &key, hold, code, message, &person));
            }
            other => {
                return Err(PaymentsError::Invalid(format!(
                    "the card terminal answered a pre-authorisation with {other:?}"
                )));
            }
        };
        if known {
            let fields = json!({"message": "already open", "payment": id.as_str(), "hold": hold});
            return self.answer(check_id, fields, Value::Null);
        }
        let record = card_record(&approval, &key, self.now_ms, None)?;
        self.journal.append(&Event::TabOpened {
            check: check_id.to_owned(),
            payment: key.to_string(),
            hold: approval.amount,
            card: record.clone(),
            seat,
            staff: person.id().to_string(),
        })?;
        let fields = json!({
            "message": format!("tab open: {} held on {} **** {}", approval.amount, record.brand.label(), record.last4),
            "payment": key.as_str(),
            "hold": approval.amount,
            "card": {"brand": record.brand, "last4": record.last4, "auth_code": record.auth_code},
        });
        self.answer(check_id, fields, Value::Null)
    }

    /// Closes a bar tab: captures what the check owes (plus `tip`) on the held card.
    pub fn close_tab<'p>(
        &self,
        who: impl Into<Operator<'p>>,
        check_id: &str,
        tab: Option<&str>,
        tip: Money,
        attempt: Option<&str>,
    ) -> Result<Value, PaymentsError> {
        let person = self.sign_in(who.into(), Permission::TakePayment, "close tabs")?;
        let provider = self.card()?;
        let key = self.key(attempt)?;
        let (fold, check) = self.fold(check_id)?;
        let ledger = &fold.payments.ledger;
        self.attempt_is_for(&key, check_id)?;
        if let Some(done) = ledger.by_reference(key.as_str()) {
            let fields = json!({"message": "already closed", "payment": done.id.as_str(), "amount": done.amount, "tip": done.tip});
            return self.answer(check_id, fields, Value::Null);
        }
        let open: Vec<&LedgerPayment> = match tab {
            Some(id) => {
                let p = ledger.payment(&PaymentId::new(id)).ok_or_else(|| {
                    PaymentError::UnknownPayment(PaymentId::new(payment::printable(id)))
                })?;
                if !matches!(p.state, PaymentState::OpenTab { .. }) {
                    return Err(PaymentError::NotATab(p.id.clone()).into());
                }
                vec![p]
            }
            None => ledger.open_tabs().collect(),
        };
        let [tab] = open.as_slice() else {
            return Err(PaymentsError::Invalid(format!(
                "{} open tabs on this check: name the one to close",
                open.len()
            )));
        };
        let tab = (*tab).clone();
        let reference = tab
            .card
            .as_ref()
            .map(|c| c.reference.clone())
            .ok_or_else(|| PaymentError::NotCard(tab.id.clone()))?;
        check_amount("a tip", tip, false)?;
        let amount = amount_due(&check, ledger, tab.seat, None)?;
        let reply = self.submit(
            provider,
            &key,
            ProviderOp::Capture {
                reference,
                amount,
                tip,
            },
        )?;
        let approval = match reply {
            ProviderReply::Approved(a) => a,
            ProviderReply::Declined { code, message } => {
                return Err(self.declined(&fold, &key, amount, code, message, &person));
            }
            other => {
                return Err(PaymentsError::Invalid(format!(
                    "the card terminal answered a capture with {other:?}"
                )));
            }
        };
        let mut approval = approval;
        if approval.card.is_none() {
            approval.card = tab.card.as_ref().map(|c| c.card.clone());
        }
        let record = card_record(&approval, &key, self.now_ms, None)?;
        let mut events = vec![Event::PaymentTaken {
            check: check_id.to_owned(),
            payment: tab.id.to_string(),
            tender: Tender::Card,
            amount: approval.amount,
            tip: approval.tip,
            seat: tab.seat,
            card: Some(record),
            cash: None,
            staff: person.id().to_string(),
        }];
        events.extend(close_if_settled(&check, approval.amount));
        let receipt = self.commit(check_id, &events)?;
        let fields = json!({
            "message": format!("tab closed: {} captured, tip {}", approval.amount, approval.tip),
            "payment": tab.id.as_str(),
            "amount": approval.amount,
            "tip": approval.tip,
        });
        self.answer(check_id, fields, receipt)
    }

    /// Sets the tip of a card payment (written on the merchant copy after the guest signed).
    pub fn adjust_tip<'p>(
        &self,
        who: impl Into<Operator<'p>>,
        check_id: &str,
        payment_id: &str,
        tip: Money,
        attempt: Option<&str>,
    ) -> Result<Value, PaymentsError> {
        let person = self.sign_in(who.into(), Permission::TakePayment, "adjust tips")?;
        let provider = self.card()?;
        let key = self.key(attempt)?;
        let (fold, _) = self.fold(check_id)?;
        let id = PaymentId::new(payment_id);
        let p = fold.payments.ledger.payment(&id).ok_or_else(|| {
            PaymentError::UnknownPayment(PaymentId::new(payment::printable(id.as_str())))
        })?;
        let reference = match (&p.card, &p.state) {
            (_, PaymentState::OpenTab { .. }) => return Err(PaymentError::OpenTab(id).into()),
            (_, PaymentState::DeclinedOnUpload { .. }) => {
                return Err(PaymentError::DeclinedOnUpload(id).into());
            }
            (Some(card), _) => card.reference.clone(),
            (None, _) => return Err(PaymentError::NotCard(id).into()),
        };
        check_amount("a tip", tip, false)?;
        let reply = self.submit(provider, &key, ProviderOp::AdjustTip { reference, tip })?;
        let approval = match reply {
            ProviderReply::Approved(a) => a,
            ProviderReply::Declined { code, message } => {
                return Err(refused(&code, &message));
            }
            other => {
                return Err(PaymentsError::Invalid(format!(
                    "the card terminal answered a tip adjustment with {other:?}"
                )));
            }
        };
        self.journal.append(&Event::TipAdjusted {
            check: check_id.to_owned(),
            payment: payment_id.to_owned(),
            tip: approval.tip,
            reference: key.to_string(),
            staff: person.id().to_string(),
        })?;
        let fields = json!({
            "message": format!("tip {} on payment {payment_id}", approval.tip),
            "payment": payment_id,
            "amount": p.amount,
            "tip": approval.tip,
        });
        self.answer(check_id, fields, Value::Null)
    }

    /// Gives back `amount` of a payment, approved by a manager with a reason: to the card
    /// through the card terminal, or out of this terminal's cash drawer.
    pub fn refund(
        &self,
        manager_pin: &str,
        check_id: &str,
        payment_id: &str,
        amount: Money,
        reason: &str,
        attempt: Option<&str>,
    ) -> Result<Value, PaymentsError> {
        let manager = self.sign_in(
            Operator::Pin(manager_pin),
            Permission::Refund,
            "give refunds",
        )?;
        if payment::contains_card_number(reason) {
            return Err(PaymentError::CardNumber { field: "reason" }.into());
        }
        let reason = Reason::new(reason)?;
        let key = self.key(attempt)?;
        let (fold, _) = self.fold(check_id)?;
        let ledger = &fold.payments.ledger;
        if ledger.refunds().iter().any(|r| r.id == key.as_str()) {
            let fields = json!({"message": "already refunded", "refund": key.as_str()});
            return self.answer(check_id, fields, Value::Null);
        }
        let id = PaymentId::new(payment_id);
        let p = ledger
            .payment(&id)
            .ok_or_else(|| {
                PaymentError::UnknownPayment(PaymentId::new(payment::printable(id.as_str())))
            })?
            .clone();
        match p.state {
            PaymentState::OpenTab { .. } => return Err(PaymentError::OpenTab(id).into()),
            PaymentState::DeclinedOnUpload { .. } => {
                return Err(PaymentError::DeclinedOnUpload(id).into());
            }
            _ => {}
        }
        check_amount("a refund", amount, true)?;
        let refundable = p.refundable()?;
        if amount > refundable {
            return Err(PaymentError::RefundTooLarge {
                payment: id,
                amount,
                refundable,
            }
            .into());
        }
        let (reference, drawer) = match (&p.card, p.tender) {
            (Some(card), _) => {
                let reply = self.submit(
                    self.card()?,
                    &key,
                    ProviderOp::Refund {
                        reference: card.reference.clone(),
                        amount,
                    },
                )?;
                if let ProviderReply::Declined { code, message } = reply {
                    return Err(refused(&code, &message));
                }
                (Some(key.to_string()), None)
            }
            (None, Tender::Cash) => {
                self.submit(
                    self.cash,
                    &key,
                    ProviderOp::Refund {
                        reference: p.id.to_string(),
                        amount,
                    },
                )?;
                (None, Some(self.device.to_owned()))
            }
            (None, _) => (None, None),
        };
        self.journal.append(&Event::PaymentRefunded {
            check: check_id.to_owned(),
            payment: payment_id.to_owned(),
            refund: key.to_string(),
            amount,
            tender: p.tender,
            reference,
            drawer,
            manager: manager.id().to_string(),
            reason: reason.as_str().to_owned(),
        })?;
        let fields = json!({
            "message": format!("refunded {amount} of payment {payment_id} ({})", receipt::tender_label(&p)),
            "refund": key.as_str(),
            "payment": payment_id,
            "amount": amount,
            "manager": manager.id().as_str(),
        });
        self.answer(check_id, fields, Value::Null)
    }

    /// Asks the card terminal what became of the payments it stored offline, and records each
    /// answer once: an approval settles the payment, a decline takes it off its check (which
    /// opens again) and alerts a manager.
    pub fn upload<'p>(&self, who: impl Into<Operator<'p>>) -> Result<Value, PaymentsError> {
        self.sign_in(
            who.into(),
            Permission::TakePayment,
            "upload offline payments",
        )?;
        self.record_uploads()
    }

    fn record_uploads(&self) -> Result<Value, PaymentsError> {
        let provider = self.card()?;
        let key = self.key(None)?;
        let ProviderReply::Uploads(results) = self.submit(provider, &key, ProviderOp::Uploads)?
        else {
            return Err(PaymentsError::Invalid(
                "the card terminal did not list its uploads".into(),
            ));
        };
        let waiting = self.read(proj::offline_payments)?;
        let mut events = Vec::new();
        let (mut approved, mut declined) = (0, 0);
        for result in results {
            let Some((check, payment, _)) = waiting.iter().find(|(_, _, r)| *r == result.reference)
            else {
                continue;
            };
            let outcome = match result.outcome {
                Ok(code) => {
                    approved += 1;
                    UploadRecord::Approved {
                        auth_code: code.as_str().to_owned(),
                    }
                }
                Err(reason) => {
                    declined += 1;
                    UploadRecord::Declined {
                        reason: payment::printable(&reason),
                    }
                }
            };
            events.push(Event::OfflinePaymentUploaded {
                check: check.clone(),
                payment: payment.clone(),
                outcome,
            });
        }
        if !events.is_empty() {
            self.journal.append_all(&events)?;
        }
        let still = waiting.len().saturating_sub(events.len());
        Ok(json!({
            "ok": true,
            "message": format!("{approved} offline payment(s) approved, {declined} declined, {still} still waiting"),
            "approved": approved,
            "declined": declined,
            "waiting": still,
        }))
    }

    /// The card terminal's end-of-day batch: offline payments' outcomes first, then the batch,
    /// recorded with what this store recorded for the same transactions.
    pub fn batch_close<'p>(
        &self,
        who: impl Into<Operator<'p>>,
        attempt: Option<&str>,
    ) -> Result<Value, PaymentsError> {
        let person = self.sign_in(who.into(), Permission::CloseDay, "close the card batch")?;
        let provider = self.card()?;
        self.record_uploads()?;
        let key = self.key(attempt)?;
        let report = match self.submit(provider, &key, ProviderOp::BatchClose)? {
            ProviderReply::Batch(report) => report,
            ProviderReply::Declined { code, message } => {
                return Err(refused(&code, &message));
            }
            other => {
                return Err(PaymentsError::Invalid(format!(
                    "the card terminal answered a batch close with {other:?}"
                )));
            }
        };
        let recorded = self.read(proj::recorded_card_totals)?;
        let mut recorded_captured = Money::ZERO;
        let mut unrecorded = Vec::new();
        for (reference, _) in &report.captures {
            match recorded.get(reference) {
                Some(amount) => recorded_captured = recorded_captured.checked_add(*amount)?,
                None => unrecorded.push(reference.clone()),
            }
        }
        let mut refs: Vec<String> = report.captures.iter().map(|(r, _)| r.clone()).collect();
        refs.extend(report.refunds.iter().cloned());
        let already: bool = self.read(|db| {
            db.prepare_cached(
                "SELECT EXISTS(SELECT 1 FROM proj_batches WHERE batch = ?1 AND terminal = ?2)",
            )?
            .query_row(
                [
                    report.batch.as_str(),
                    self.card_terminal.unwrap_or_default(),
                ],
                |r| r.get(0),
            )
        })?;
        if !already {
            self.journal.append(&Event::CardBatchClosed {
                terminal: self.card_terminal.unwrap_or_default().to_owned(),
                batch: report.batch.clone(),
                count: report.count,
                captured: report.captured,
                refunded: report.refunded,
                recorded_captured,
                refs,
                unrecorded: unrecorded.clone(),
                staff: person.id().to_string(),
            })?;
        }
        let matches = recorded_captured == report.captured && unrecorded.is_empty();
        Ok(json!({
            "ok": true,
            "message": format!(
                "batch {}: {} transaction(s), captured {}, refunded {}{}",
                report.batch, report.count, report.captured, report.refunded,
                if matches { "; matches the store's records" } else { "; DOES NOT match the store's records" }
            ),
            "batch": report.batch,
            "count": report.count,
            "captured": report.captured,
            "refunded": report.refunded,
            "net": report.captured.checked_sub(report.refunded)?,
            "recorded_captured": recorded_captured,
            "unrecorded": unrecorded,
            "matches": matches,
        }))
    }

    /// Opens this terminal's cash drawer with a float.
    pub fn drawer_open<'p>(
        &self,
        who: impl Into<Operator<'p>>,
        float: Money,
    ) -> Result<Value, PaymentsError> {
        let who = who.into();
        let person = self.sign_in(who, Permission::OpenDrawer, "open the cash drawer")?;
        check_amount("a float", float, false)?;
        self.journal.append(&Event::DrawerOpened {
            drawer: self.device.to_owned(),
            float,
            staff: person.id().to_string(),
        })?;
        self.drawer(who)
    }

    /// This terminal's cash drawer since it was opened: float, cash taken, change given,
    /// refunds, and what it should hold.
    pub fn drawer<'p>(&self, who: impl Into<Operator<'p>>) -> Result<Value, PaymentsError> {
        self.sign_in(who.into(), Permission::OpenDrawer, "see the cash drawer")?;
        let totals = self.read(|db| proj::drawer_totals(db, self.device))?;
        Ok(json!({
            "ok": true,
            "drawer": self.device,
            "float": totals.float,
            "cash_sales": totals.cash_sales,
            "cash_tips": totals.cash_tips,
            "tendered": totals.tendered,
            "change": totals.change,
            "refunds": totals.refunds,
            "payments": totals.payments,
            "expected": totals.expected()?,
        }))
    }

    /// Counts this terminal's cash drawer at close: records the count against what it should
    /// hold, and says how far over or short it is.
    pub fn drawer_count<'p>(
        &self,
        who: impl Into<Operator<'p>>,
        counted: Money,
    ) -> Result<Value, PaymentsError> {
        let person = self.sign_in(who.into(), Permission::OpenDrawer, "count the cash drawer")?;
        check_amount("a count", counted, false)?;
        let totals = self.read(|db| proj::drawer_totals(db, self.device))?;
        let expected = totals.expected()?;
        self.journal.append(&Event::DrawerCounted {
            drawer: self.device.to_owned(),
            counted,
            expected,
            staff: person.id().to_string(),
        })?;
        let over = totals.over_short(counted)?;
        Ok(json!({
            "ok": true,
            "message": format!("drawer {}: counted {counted}, expected {expected}, {} {}",
                self.device, if over.is_negative() { "short" } else { "over" },
                if over.is_negative() { over.negate() } else { over }),
            "drawer": self.device,
            "counted": counted,
            "expected": expected,
            "over_short": over,
        }))
    }

    fn store_name(&self) -> Result<String, PaymentsError> {
        let text = self.read(|db| projection::register(db, "menu"))?;
        Ok(text
            .and_then(|t| Menu::from_toml_str(&t).ok())
            .and_then(|m| m.name().map(str::to_owned))
            .unwrap_or_else(|| "Pass".to_owned()))
    }

    /// Lays out `copy` of a check's receipt (a merchant copy is of one card `payment`).
    pub fn receipt(
        &self,
        check_id: &str,
        copy: ReceiptCopy,
        payment: Option<&str>,
    ) -> Result<receipt::Receipt, PaymentsError> {
        let (fold, check) = self.fold(check_id)?;
        let store = self.store_name()?;
        let zone = self.read(projection::store_settings)?.time_zone().name();
        let people = self.read(projection::staff)?;
        let server = people
            .iter()
            .find(|p| p.id() == check.server())
            .map(|p| p.name().to_owned())
            .unwrap_or_else(|| check.server().to_string());
        let input = ReceiptInput {
            store: &store,
            time_zone: zone,
            now_ms: self.now_ms,
            check: &check,
            payments: &fold.payments.ledger,
            server: &server,
        };
        let id = payment.map(PaymentId::new);
        Ok(receipt::receipt(&input, copy, id.as_ref())?)
    }

    /// Prints `copy` of a check's receipt and records whether it printed. A failure is an
    /// answer, not an error: the check stays as it is, and the failure shows.
    pub fn print(
        &self,
        check_id: &str,
        copy: ReceiptCopy,
        payment: Option<&str>,
    ) -> Result<Value, PaymentsError> {
        let printer = self.printer.ok_or_else(|| {
            PaymentsError::Invalid(
                "this terminal has no receipt printer (pass pay setup --printer host:port)"
                    .to_owned(),
            )
        })?;
        let laid_out = self.receipt(check_id, copy, payment)?;
        let job = receipt::escpos_job(std::slice::from_ref(&laid_out));
        let outcome = printer.print(&job);
        if let Err(e) = &outcome {
            tracing::warn!(check = check_id, copy = copy.as_str(), error = %e, "receipt not printed");
        }
        let error = outcome.err().map(|e| payment::printable(&e));
        self.journal.append(&Event::ReceiptPrinted {
            check: check_id.to_owned(),
            copy,
            printer: printer.address(),
            error: error.clone(),
        })?;
        Ok(json!({
            "copy": copy,
            "printer": printer.address(),
            "printed": error.is_none(),
            "error": error,
        }))
    }
}
