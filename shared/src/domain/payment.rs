//! Payments on a check, pure: tenders, tips, what the store may keep of a card, cash and its
//! change, the offline card rules, refunds, and the [`PaymentLedger`] folded from a check's
//! payment facts.
//!
//! # What the store keeps of a card
//!
//! A card payment is taken on a payment terminal; the store never sees the card number. It keeps
//! a [`CardRef`]: the terminal's token for the card, the brand and the last four digits, plus the
//! authorisation code the card network gave ([`AuthCode`]). Every text the payment code accepts
//! from outside (tokens, references, reasons) is refused when it holds anything that reads as a
//! card number ([`find_card_number`]: 13 to 19 digits, Luhn-valid, in a real card network's
//! range, written as one run or in groups), so a number typed into the wrong field is never
//! stored, logged or published.
//!
//! # Amounts
//!
//! A payment has an `amount`, what it pays of the check, and a `tip`, on top. Cash applies at
//! most what is due and gives the rest back as change ([`cash_payment`]). A card payment may be
//! approved for less than asked (a *partial* approval): the check keeps the rest due.
//!
//! # Offline card payments
//!
//! When the card network is out of reach the terminal stores a payment and forwards it later. A
//! store allows that up to a cap per payment (the store setting, 100.00 by default); above it a
//! manager must approve ([`check_offline_cap`]). A stored payment must reach the network within
//! [`OFFLINE_EXPIRY_MS`] (24 hours); one the network declines when it finally arrives is taken
//! off the check, which opens again with that amount due, and a manager is alerted.
//!
//! # The ledger and its alerts
//!
//! [`PaymentLedger`] is folded from the payment facts of one check in the journal's order. It
//! accepts every fact that arrives from another device (money really changed hands) and says
//! what a manager must look at ([`PaymentLedger::alerts`]): a check paid more than its total (two
//! terminals each took the whole amount while cut off from each other), an offline payment
//! declined on upload, a payment refunded more than it took.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::check::{CheckState, StaffId};
use super::id::string_id;
use super::money::{Money, MoneyError};

string_id!(
    /// A payment's id, given by the device that takes it. Unique in the store.
    PaymentId
);

/// The largest amount one payment, tip, tender or refund may have, in cents (100,000.00).
pub const MAX_AMOUNT_CENTS: i64 = 10_000_000;

/// How long a payment stored offline may wait for the card network: 24 hours.
pub const OFFLINE_EXPIRY_MS: i64 = 24 * 60 * 60 * 1000;

/// Why a payment, a refund or a card fact was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    #[error("{what} must be more than zero, not {amount}")]
    NotPositive { what: &'static str, amount: Money },
    #[error("{what} may not be negative ({amount})")]
    Negative { what: &'static str, amount: Money },
    #[error("{what} of {amount} is more than the 100000.00 one payment may be")]
    TooLarge { what: &'static str, amount: Money },
    #[error("{amount} is more than the {due} still to pay")]
    MoreThanDue { amount: Money, due: Money },
    #[error("nothing is left to pay")]
    NothingDue,
    #[error("over the offline card cap of {cap}: a manager must approve this payment")]
    OverOfflineCap { cap: Money },
    #[error("{field} reads as a card number: card numbers are never taken or kept")]
    CardNumber { field: &'static str },
    #[error("{field} `{value}` is not valid: {rule}")]
    BadText {
        field: &'static str,
        value: String,
        rule: &'static str,
    },
    #[error("there is no payment {0} on this check")]
    UnknownPayment(PaymentId),
    #[error("payment {0} is already recorded")]
    DuplicatePayment(PaymentId),
    #[error("payment {0} is not a card payment")]
    NotCard(PaymentId),
    #[error("payment {0} is an open tab: close it before adjusting or refunding it")]
    OpenTab(PaymentId),
    #[error("payment {0} is not an open tab")]
    NotATab(PaymentId),
    #[error("payment {0} was declined when it was uploaded")]
    DeclinedOnUpload(PaymentId),
    #[error("payment {0} was not taken offline")]
    NotOffline(PaymentId),
    #[error("payment {0} has already been uploaded")]
    AlreadyUploaded(PaymentId),
    #[error(
        "a refund of {amount} is more than the {refundable} left to refund on payment {payment}"
    )]
    RefundTooLarge {
        payment: PaymentId,
        amount: Money,
        refundable: Money,
    },
    #[error("refund {0} is already recorded")]
    DuplicateRefund(String),
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// How a payment was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tender {
    Cash,
    Card,
    /// Recorded without a tender (an older device's payment, a voucher).
    Other,
}

impl Tender {
    pub fn as_str(self) -> &'static str {
        match self {
            Tender::Cash => "cash",
            Tender::Card => "card",
            Tender::Other => "other",
        }
    }
}

/// A card network, as read from a card number's first digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardBrand {
    Visa,
    Mastercard,
    Amex,
    Discover,
    Jcb,
    Diners,
    Unionpay,
    Maestro,
}

impl CardBrand {
    pub const ALL: [CardBrand; 8] = [
        CardBrand::Visa,
        CardBrand::Mastercard,
        CardBrand::Amex,
        CardBrand::Discover,
        CardBrand::Jcb,
        CardBrand::Diners,
        CardBrand::Unionpay,
        CardBrand::Maestro,
    ];

    /// The wire spelling (`visa`).
    pub fn as_str(self) -> &'static str {
        match self {
            CardBrand::Visa => "visa",
            CardBrand::Mastercard => "mastercard",
            CardBrand::Amex => "amex",
            CardBrand::Discover => "discover",
            CardBrand::Jcb => "jcb",
            CardBrand::Diners => "diners",
            CardBrand::Unionpay => "unionpay",
            CardBrand::Maestro => "maestro",
        }
    }

    /// What a receipt prints (`Visa`).
    pub fn label(self) -> &'static str {
        match self {
            CardBrand::Visa => "Visa",
            CardBrand::Mastercard => "Mastercard",
            CardBrand::Amex => "Amex",
            CardBrand::Discover => "Discover",
            CardBrand::Jcb => "JCB",
            CardBrand::Diners => "Diners",
            CardBrand::Unionpay => "UnionPay",
            CardBrand::Maestro => "Maestro",
        }
    }

    /// Reads the wire spelling.
    pub fn parse(text: &str) -> Result<CardBrand, PaymentError> {
        CardBrand::ALL
            .into_iter()
            .find(|b| b.as_str() == text)
            .ok_or_else(|| PaymentError::BadText {
                field: "card brand",
                value: printable(text),
                rule: "one of visa, mastercard, amex, discover, jcb, diners, unionpay, maestro",
            })
    }
}

impl fmt::Display for CardBrand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The network of a card number (digits only), by its issuer identification number; `None`
/// outside the ranges of the networks above.
pub fn card_brand(digits: &str) -> Option<CardBrand> {
    let prefix = |n: usize| -> Option<u32> { digits.get(..n).and_then(|p| p.parse().ok()) };
    let in_range = |n: usize, lo: u32, hi: u32| prefix(n).is_some_and(|p| (lo..=hi).contains(&p));
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if digits.starts_with('4') {
        Some(CardBrand::Visa)
    } else if in_range(2, 51, 55) || in_range(4, 2221, 2720) {
        Some(CardBrand::Mastercard)
    } else if in_range(2, 34, 34) || in_range(2, 37, 37) {
        Some(CardBrand::Amex)
    } else if in_range(4, 6011, 6011) || in_range(3, 644, 649) || in_range(2, 65, 65) {
        Some(CardBrand::Discover)
    } else if in_range(4, 3528, 3589) {
        Some(CardBrand::Jcb)
    } else if in_range(3, 300, 305) || in_range(2, 36, 36) || in_range(2, 38, 39) {
        Some(CardBrand::Diners)
    } else if in_range(2, 62, 62) {
        Some(CardBrand::Unionpay)
    } else if in_range(2, 50, 50)
        || in_range(2, 56, 58)
        || in_range(2, 63, 63)
        || in_range(2, 67, 67)
    {
        Some(CardBrand::Maestro)
    } else {
        None
    }
}

/// Whether a string of digits passes the Luhn check that every card number passes.
pub fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return false;
        }
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    !digits.is_empty() && sum.is_multiple_of(10)
}

/// Shortest and longest card numbers.
const PAN_DIGITS: std::ops::RangeInclusive<usize> = 13..=19;

/// Whether `digits` is a card number: 13 to 19 digits, Luhn-valid, in a network's range.
pub fn is_card_number(digits: &str) -> bool {
    PAN_DIGITS.contains(&digits.len()) && luhn_valid(digits) && card_brand(digits).is_some()
}

/// The first card number in `text` as (byte start, byte end), written as one run of digits
/// (`4242424242424242`) or in groups of 4 to 6 digits joined by one space or dash
/// (`4242 4242 4242 4242`, `3782-822463-10005`). A run of more than 19 digits is not a card
/// number (a timestamp, a clock reading), nor is a number glued to letters on both sides of a
/// longer run.
pub fn find_card_number(text: &str) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() || (i > 0 && bytes[i - 1].is_ascii_digit()) {
            i += 1;
            continue;
        }
        // A maximal run of digits from here.
        let run_end = (i..bytes.len())
            .find(|&j| !bytes[j].is_ascii_digit())
            .unwrap_or(bytes.len());
        if is_card_number(&text[i..run_end]) {
            return Some((i, run_end));
        }
        // Groups joined by one separator.
        let first = run_end - i;
        if (4..=6).contains(&first) {
            let mut digits = text[i..run_end].to_owned();
            let mut end = run_end;
            while end + 1 < bytes.len() && (bytes[end] == b' ' || bytes[end] == b'-') {
                let start = end + 1;
                let group_end = (start..bytes.len())
                    .find(|&j| !bytes[j].is_ascii_digit())
                    .unwrap_or(bytes.len());
                let len = group_end - start;
                if !(1..=6).contains(&len) || digits.len() + len > *PAN_DIGITS.end() {
                    break;
                }
                digits.push_str(&text[start..group_end]);
                end = group_end;
                if is_card_number(&digits) {
                    return Some((i, end));
                }
            }
        }
        i = run_end;
    }
    None
}

/// Whether `text` holds anything that reads as a card number.
pub fn contains_card_number(text: &str) -> bool {
    find_card_number(text).is_some()
}

/// `text` with every card number in it replaced by `[card number]`.
pub fn mask_card_numbers(text: &str) -> String {
    let mut out = text.to_owned();
    while let Some((start, end)) = find_card_number(&out) {
        out.replace_range(start..end, "[card number]");
    }
    out
}

/// `text` as an error may quote it: a card number in it is masked, long text cut.
pub fn printable(text: &str) -> String {
    let mut out = mask_card_numbers(text);
    if out.chars().count() > 64 {
        out = out.chars().take(61).collect::<String>() + "...";
    }
    out
}

/// Checks an identifier-like text: `min..=max` characters, each allowed by `ok`, and no card
/// number in it.
fn checked_text(
    field: &'static str,
    text: &str,
    min: usize,
    max: usize,
    ok: impl Fn(char) -> bool,
    rule: &'static str,
) -> Result<String, PaymentError> {
    if contains_card_number(text) {
        return Err(PaymentError::CardNumber { field });
    }
    let n = text.chars().count();
    if n < min || n > max || !text.chars().all(ok) {
        return Err(PaymentError::BadText {
            field,
            value: printable(text),
            rule,
        });
    }
    Ok(text.to_owned())
}

/// What the store keeps of a card: the terminal's token, the brand and the last four digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardRef {
    token: String,
    brand: CardBrand,
    last4: String,
}

impl CardRef {
    /// Checks each part: a token of 8 to 64 letters, digits, `_` and `-` with no card number in
    /// it; exactly four last digits.
    pub fn new(token: &str, brand: CardBrand, last4: &str) -> Result<CardRef, PaymentError> {
        let token = checked_text(
            "card token",
            token,
            8,
            64,
            |c| c.is_ascii_alphanumeric() || c == '_' || c == '-',
            "8 to 64 letters, digits, _ and -",
        )?;
        let last4 = checked_text(
            "last four digits",
            last4,
            4,
            4,
            |c| c.is_ascii_digit(),
            "exactly four digits",
        )?;
        Ok(CardRef {
            token,
            brand,
            last4,
        })
    }

    pub fn token(&self) -> &str {
        &self.token
    }
    pub fn brand(&self) -> CardBrand {
        self.brand
    }
    pub fn last4(&self) -> &str {
        &self.last4
    }
    /// `Visa •••• 4242` as a screen shows it; receipts print [`CardRef::masked_ascii`].
    pub fn masked(&self) -> String {
        format!("{} •••• {}", self.brand.label(), self.last4)
    }
    /// `Visa **** 4242`.
    pub fn masked_ascii(&self) -> String {
        format!("{} **** {}", self.brand.label(), self.last4)
    }
}

/// The card network's authorisation code for a payment: 1 to 12 letters and digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCode(String);

impl AuthCode {
    pub fn new(code: &str) -> Result<AuthCode, PaymentError> {
        checked_text(
            "authorisation code",
            code,
            1,
            12,
            |c| c.is_ascii_alphanumeric(),
            "1 to 12 letters and digits",
        )
        .map(AuthCode)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A payment request's idempotency key: every request to a payment provider carries one, and
/// the provider does a request's work once per key, whatever number of times it arrives. A
/// retry of the same request uses the same key; a new attempt gets a new one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// 8 to 64 characters of a–z, 0–9 and `-`, with no card number in it.
    pub fn new(key: &str) -> Result<IdempotencyKey, PaymentError> {
        checked_text(
            "idempotency key",
            key,
            8,
            64,
            |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
            "8 to 64 characters of a-z, 0-9 and -",
        )
        .map(IdempotencyKey)
    }

    /// A key made of `prefix` (a device id) and `random` bytes, spelled in a 32-letter alphabet
    /// that keeps digit runs short (so a key never reads as a card number).
    pub fn generate(prefix: &str, random: [u8; 10]) -> Result<IdempotencyKey, PaymentError> {
        const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
        let mut bits: u128 = 0;
        for b in random {
            bits = (bits << 8) | u128::from(b);
        }
        let spelled: String = (0..16)
            .map(|i| {
                let index = usize::try_from((bits >> (i * 5)) & 31).unwrap_or(0);
                char::from(ALPHABET[index])
            })
            .collect();
        IdempotencyKey::new(&format!("{prefix}-{spelled}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks an amount of a payment, tip, tender or refund: not negative (or, with `positive`,
/// more than zero) and at most [`MAX_AMOUNT_CENTS`].
pub fn check_amount(what: &'static str, amount: Money, positive: bool) -> Result<(), PaymentError> {
    if amount.is_negative() {
        return Err(PaymentError::Negative { what, amount });
    }
    if positive && amount.is_zero() {
        return Err(PaymentError::NotPositive { what, amount });
    }
    if amount > Money::from_minor(MAX_AMOUNT_CENTS) {
        return Err(PaymentError::TooLarge { what, amount });
    }
    Ok(())
}

/// A cash payment: what it pays of the check, what was handed over and the change given back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CashPayment {
    pub applied: Money,
    pub tendered: Money,
    pub change: Money,
}

/// Cash handed over towards `due` (what this payment is meant to pay: the balance, or a seat's
/// share). Pays at most `due`; the rest is change. Tendering less pays part of it.
pub fn cash_payment(due: Money, tendered: Money) -> Result<CashPayment, PaymentError> {
    check_amount("the cash tendered", tendered, true)?;
    if due.is_zero() || due.is_negative() {
        return Err(PaymentError::NothingDue);
    }
    if tendered >= due {
        Ok(CashPayment {
            applied: due,
            tendered,
            change: tendered.checked_sub(due)?,
        })
    } else {
        Ok(CashPayment {
            applied: tendered,
            tendered,
            change: Money::ZERO,
        })
    }
}

/// The tips suggested to a guest, in percent of the total: the same on the terminal's payment
/// screen and on the printed guest check.
pub const SUGGESTED_TIP_PERCENTS: [u32; 3] = [18, 20, 22];

/// `percent` % of `base`, rounded as all money is (zero where it would not fit).
pub fn tip_at(base: Money, percent: u32) -> Money {
    base.checked_mul_rounded(rust_decimal::Decimal::new(i64::from(percent), 2))
        .unwrap_or(Money::ZERO)
}

/// Whether a card payment of `total` (amount and tip) may be stored offline under `cap`: above
/// the cap only with a manager's approval.
pub fn check_offline_cap(total: Money, cap: Money, manager: bool) -> Result<(), PaymentError> {
    if total > cap && !manager {
        return Err(PaymentError::OverOfflineCap { cap });
    }
    Ok(())
}

/// Whether a payment stored offline at `taken_ms` can no longer be uploaded at `now_ms`.
pub fn offline_expired(taken_ms: i64, now_ms: i64) -> bool {
    now_ms.saturating_sub(taken_ms) > OFFLINE_EXPIRY_MS
}

/// Where a payment stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentState {
    /// Taken: counts towards the check.
    Taken,
    /// A card pre-authorisation holding `hold` for a bar tab: counts for nothing until the tab
    /// is closed (captured).
    OpenTab { hold: Money },
    /// Stored by the terminal while the card network was out of reach; counts towards the
    /// check until the network answers. Must be uploaded before `expires_ms`.
    Offline { expires_ms: i64 },
    /// Stored offline and declined when it reached the network: taken off the check.
    DeclinedOnUpload { reason: String },
}

/// The card part of a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardPart {
    pub card: CardRef,
    /// `None` while stored offline.
    pub auth_code: Option<AuthCode>,
    /// The terminal's reference of the transaction (the key of the request that made it).
    pub reference: String,
    /// Approved for less than was asked.
    pub partial: bool,
    /// The manager who approved it over the offline cap.
    pub offline_approved_by: Option<StaffId>,
}

/// One payment on a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerPayment {
    pub id: PaymentId,
    pub tender: Tender,
    /// What it pays of the check.
    pub amount: Money,
    pub tip: Money,
    pub seat: Option<u32>,
    pub card: Option<CardPart>,
    /// Cash handed over and change given.
    pub cash: Option<(Money, Money)>,
    /// The cash drawer it went into.
    pub drawer: Option<String>,
    pub staff: Option<StaffId>,
    pub state: PaymentState,
    /// Refunded so far.
    pub refunded: Money,
    /// When it was taken (the origin's clock), for the offline expiry.
    pub taken_ms: i64,
}

impl LedgerPayment {
    /// Whether it counts towards the check now.
    pub fn counts(&self) -> bool {
        matches!(
            self.state,
            PaymentState::Taken | PaymentState::Offline { .. }
        )
    }

    /// Amount and tip.
    pub fn total(&self) -> Result<Money, MoneyError> {
        self.amount.checked_add(self.tip)
    }

    /// What may still be refunded: amount and tip less what was refunded.
    pub fn refundable(&self) -> Result<Money, MoneyError> {
        let left = self.total()?.checked_sub(self.refunded)?;
        Ok(if left.is_negative() {
            Money::ZERO
        } else {
            left
        })
    }
}

/// A refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRefund {
    pub id: String,
    pub payment: PaymentId,
    pub amount: Money,
    pub tender: Tender,
    pub manager: StaffId,
    pub reason: String,
    pub drawer: Option<String>,
}

/// A card the terminal declined, as shown on the check (nothing was taken).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerDecline {
    pub reference: String,
    pub amount: Money,
    pub code: String,
    pub message: String,
}

/// A payment fact as the ledger takes it (from a `payment_taken` event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TakenPayment {
    pub id: PaymentId,
    pub tender: Tender,
    pub amount: Money,
    pub tip: Money,
    pub seat: Option<u32>,
    pub card: Option<CardPart>,
    pub cash: Option<(Money, Money)>,
    pub drawer: Option<String>,
    pub staff: Option<StaffId>,
    /// Stored offline: it expires at this instant.
    pub offline_expires_ms: Option<i64>,
    pub taken_ms: i64,
}

/// Something about a check's payments that a manager must look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentAlert {
    /// More was paid than the check's total (two terminals each took payment while cut off from
    /// each other): refund the excess.
    Overpaid { excess: Money },
    /// An offline card payment the network declined on upload: the check was opened again with
    /// the amount due. Resolved once the check is paid and closed again.
    DeclinedOnUpload {
        payment: PaymentId,
        amount: Money,
        reason: String,
        resolved: bool,
    },
    /// Refunds of a payment exceed what it took.
    OverRefunded { payment: PaymentId, excess: Money },
}

/// The payments of one check, folded from its payment facts in the journal's order (see the
/// module documentation). Every fact arriving from a device is accepted where it can be at all;
/// an `Err` is a fact that names something this check does not have (surfaced as a conflict).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentLedger {
    payments: Vec<LedgerPayment>,
    refunds: Vec<LedgerRefund>,
    declines: Vec<LedgerDecline>,
}

impl PaymentLedger {
    pub fn payments(&self) -> &[LedgerPayment] {
        &self.payments
    }
    pub fn refunds(&self) -> &[LedgerRefund] {
        &self.refunds
    }
    pub fn declines(&self) -> &[LedgerDecline] {
        &self.declines
    }
    pub fn payment(&self, id: &PaymentId) -> Option<&LedgerPayment> {
        self.payments.iter().find(|p| &p.id == id)
    }
    /// The payment a terminal reference belongs to (a sale, a tab's hold or its capture).
    pub fn by_reference(&self, reference: &str) -> Option<&LedgerPayment> {
        self.payments
            .iter()
            .find(|p| p.card.as_ref().is_some_and(|c| c.reference == reference))
    }

    fn payment_mut(&mut self, id: &PaymentId) -> Result<&mut LedgerPayment, PaymentError> {
        self.payments
            .iter_mut()
            .find(|p| &p.id == id)
            .ok_or_else(|| PaymentError::UnknownPayment(id.clone()))
    }

    /// Takes a payment; returns what it adds to the check's paid amount. Closing a tab records
    /// the tab's payment id again: the hold becomes the payment.
    pub fn take(&mut self, taken: TakenPayment) -> Result<Money, PaymentError> {
        let state = match taken.offline_expires_ms {
            Some(expires_ms) => PaymentState::Offline { expires_ms },
            None => PaymentState::Taken,
        };
        if let Some(existing) = self.payments.iter_mut().find(|p| p.id == taken.id) {
            if !matches!(existing.state, PaymentState::OpenTab { .. }) {
                return Err(PaymentError::DuplicatePayment(taken.id));
            }
            existing.amount = taken.amount;
            existing.tip = taken.tip;
            existing.seat = taken.seat.or(existing.seat);
            if let (Some(card), Some(new)) = (existing.card.as_mut(), taken.card) {
                // The capture's auth code and reference; the card is the one that was held.
                card.auth_code = new.auth_code.or(card.auth_code.take());
                card.reference = new.reference;
                card.partial = new.partial;
            }
            existing.staff = taken.staff.or(existing.staff.take());
            existing.state = state;
            return Ok(taken.amount);
        }
        let amount = taken.amount;
        self.payments.push(LedgerPayment {
            id: taken.id,
            tender: taken.tender,
            amount: taken.amount,
            tip: taken.tip,
            seat: taken.seat,
            card: taken.card,
            cash: taken.cash,
            drawer: taken.drawer,
            staff: taken.staff,
            state,
            refunded: Money::ZERO,
            taken_ms: taken.taken_ms,
        });
        Ok(amount)
    }

    /// Opens a bar tab on a card pre-authorisation holding `hold`.
    pub fn open_tab(
        &mut self,
        id: PaymentId,
        hold: Money,
        card: CardPart,
        staff: Option<StaffId>,
        seat: Option<u32>,
        taken_ms: i64,
    ) -> Result<(), PaymentError> {
        if self.payment(&id).is_some() {
            return Err(PaymentError::DuplicatePayment(id));
        }
        self.payments.push(LedgerPayment {
            id,
            tender: Tender::Card,
            amount: Money::ZERO,
            tip: Money::ZERO,
            seat,
            card: Some(card),
            cash: None,
            drawer: None,
            staff,
            state: PaymentState::OpenTab { hold },
            refunded: Money::ZERO,
            taken_ms,
        });
        Ok(())
    }

    /// Sets the tip of a card payment (a tip written on the receipt and adjusted later).
    pub fn adjust_tip(&mut self, id: &PaymentId, tip: Money) -> Result<(), PaymentError> {
        let payment = self.payment_mut(id)?;
        if payment.tender != Tender::Card {
            return Err(PaymentError::NotCard(id.clone()));
        }
        if matches!(payment.state, PaymentState::OpenTab { .. }) {
            return Err(PaymentError::OpenTab(id.clone()));
        }
        if tip.is_negative() {
            return Err(PaymentError::Negative {
                what: "a tip",
                amount: tip,
            });
        }
        payment.tip = tip;
        Ok(())
    }

    /// Records a refund of (part of) a payment. A refund that arrives from another device is
    /// accepted even beyond what the payment took (the money went back): the excess is an alert.
    pub fn refund(&mut self, refund: LedgerRefund) -> Result<(), PaymentError> {
        if self.refunds.iter().any(|r| r.id == refund.id) {
            return Err(PaymentError::DuplicateRefund(refund.id));
        }
        let payment = self.payment_mut(&refund.payment)?;
        if matches!(payment.state, PaymentState::OpenTab { .. }) {
            return Err(PaymentError::OpenTab(refund.payment.clone()));
        }
        payment.refunded = payment.refunded.checked_add(refund.amount)?;
        self.refunds.push(refund);
        Ok(())
    }

    /// The network approved a payment stored offline.
    pub fn upload_approved(&mut self, id: &PaymentId, code: AuthCode) -> Result<(), PaymentError> {
        let payment = self.payment_mut(id)?;
        match payment.state {
            PaymentState::Offline { .. } => {}
            PaymentState::DeclinedOnUpload { .. } => {
                return Err(PaymentError::AlreadyUploaded(id.clone()));
            }
            _ => return Err(PaymentError::NotOffline(id.clone())),
        }
        payment.state = PaymentState::Taken;
        if let Some(card) = payment.card.as_mut() {
            card.auth_code = Some(code);
        }
        Ok(())
    }

    /// The network declined a payment stored offline: returns the amount to take off the check.
    pub fn upload_declined(&mut self, id: &PaymentId, reason: &str) -> Result<Money, PaymentError> {
        let payment = self.payment_mut(id)?;
        match payment.state {
            PaymentState::Offline { .. } => {}
            PaymentState::DeclinedOnUpload { .. } | PaymentState::Taken => {
                return Err(PaymentError::AlreadyUploaded(id.clone()));
            }
            PaymentState::OpenTab { .. } => return Err(PaymentError::NotOffline(id.clone())),
        }
        payment.state = PaymentState::DeclinedOnUpload {
            reason: reason.to_owned(),
        };
        Ok(payment.amount)
    }

    /// A card the terminal declined (nothing taken).
    pub fn declined(&mut self, decline: LedgerDecline) {
        self.declines.push(decline);
    }

    fn sum(&self, f: impl Fn(&LedgerPayment) -> Option<Money>) -> Result<Money, MoneyError> {
        Money::sum(self.payments.iter().filter_map(f))
    }

    /// What the payments that count pay of the check.
    pub fn paid(&self) -> Result<Money, MoneyError> {
        self.sum(|p| p.counts().then_some(p.amount))
    }

    /// Tips of the payments that count.
    pub fn tips(&self) -> Result<Money, MoneyError> {
        self.sum(|p| p.counts().then_some(p.tip))
    }

    /// Everything refunded.
    pub fn refunded(&self) -> Result<Money, MoneyError> {
        Money::sum(self.refunds.iter().map(|r| r.amount))
    }

    /// What the check's payments pay of it after refunds (refunds come off the tip last: a
    /// refund is money back on the check).
    pub fn net_paid(&self) -> Result<Money, MoneyError> {
        let mut net = Money::ZERO;
        for p in self.payments.iter().filter(|p| p.counts()) {
            let back = if p.refunded > p.amount {
                p.amount
            } else {
                p.refunded
            };
            net = net.checked_add(p.amount.checked_sub(back)?)?;
        }
        Ok(net)
    }

    /// What the payments that count paid towards `seat`.
    pub fn paid_for_seat(&self, seat: u32) -> Result<Money, MoneyError> {
        self.sum(|p| (p.counts() && p.seat == Some(seat)).then_some(p.amount))
    }

    /// Open tabs (pre-authorisations not yet captured).
    pub fn open_tabs(&self) -> impl Iterator<Item = &LedgerPayment> {
        self.payments
            .iter()
            .filter(|p| matches!(p.state, PaymentState::OpenTab { .. }))
    }

    /// What a manager must look at on a check with `total` in `state` (see [`PaymentAlert`]).
    pub fn alerts(&self, total: Money, state: CheckState) -> Result<Vec<PaymentAlert>, MoneyError> {
        let mut alerts = Vec::new();
        let net = self.net_paid()?;
        if net > total {
            alerts.push(PaymentAlert::Overpaid {
                excess: net.checked_sub(total)?,
            });
        }
        let settled =
            state == CheckState::Closed && total.checked_sub(self.paid()?)? <= Money::ZERO;
        for p in &self.payments {
            if let PaymentState::DeclinedOnUpload { reason } = &p.state {
                alerts.push(PaymentAlert::DeclinedOnUpload {
                    payment: p.id.clone(),
                    amount: p.amount,
                    reason: reason.clone(),
                    resolved: settled,
                });
            }
            let took = p.total()?;
            if p.refunded > took {
                alerts.push(PaymentAlert::OverRefunded {
                    payment: p.id.clone(),
                    excess: p.refunded.checked_sub(took)?,
                });
            }
        }
        Ok(alerts)
    }
}

/// What a cash drawer should hold: the float, plus cash payments, less cash refunds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DrawerTotals {
    pub float: Money,
    /// Cash payments' amounts (what they paid of checks).
    pub cash_sales: Money,
    /// Cash tips left in the drawer.
    pub cash_tips: Money,
    /// Cash handed over by guests.
    pub tendered: Money,
    /// Change given back.
    pub change: Money,
    /// Cash refunded from the drawer.
    pub refunds: Money,
    /// How many cash payments.
    pub payments: u32,
}

impl DrawerTotals {
    /// What the drawer should hold now.
    pub fn expected(&self) -> Result<Money, MoneyError> {
        self.float
            .checked_add(self.tendered)?
            .checked_sub(self.change)?
            .checked_sub(self.refunds)
    }

    /// A count at close against what is expected: positive over, negative short.
    pub fn over_short(&self, counted: Money) -> Result<Money, MoneyError> {
        counted.checked_sub(self.expected()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(s: &str) -> Money {
        s.parse().expect("test amount")
    }

    const TEST_CARDS: [&str; 8] = [
        "4242424242424242",
        "5555555555554444",
        "378282246310005",
        "4000000000000002",
        "4000000000009995",
        "4000000000000119",
        "4000000000000259",
        "4000000000000341",
    ];

    #[test]
    fn test_cards_are_card_numbers_and_their_brands_are_read() {
        for pan in TEST_CARDS {
            assert!(is_card_number(pan), "{pan}");
        }
        assert_eq!(card_brand("4242424242424242"), Some(CardBrand::Visa));
        assert_eq!(card_brand("5555555555554444"), Some(CardBrand::Mastercard));
        assert_eq!(card_brand("2221000000000009"), Some(CardBrand::Mastercard));
        assert_eq!(card_brand("378282246310005"), Some(CardBrand::Amex));
        assert_eq!(card_brand("6011111111111117"), Some(CardBrand::Discover));
        assert_eq!(card_brand("3530111333300000"), Some(CardBrand::Jcb));
        assert_eq!(card_brand("1234567890123452"), None);
        assert!(!luhn_valid("4242424242424241"));
        assert!(!is_card_number("4242424242424241"), "fails Luhn");
    }

    #[test]
    fn card_numbers_are_found_in_text_however_they_are_written() {
        fn found(t: &str) -> Option<&str> {
            find_card_number(t).map(|(s, e)| &t[s..e])
        }
        assert_eq!(found("card 4242424242424242 ok"), Some("4242424242424242"));
        assert_eq!(
            found("pan=4242 4242 4242 4242;"),
            Some("4242 4242 4242 4242")
        );
        assert_eq!(found("3782-822463-10005"), Some("3782-822463-10005"));
        assert_eq!(found("tok_4242424242424242x"), Some("4242424242424242"));
        // Not card numbers: timestamps, clock readings, a 20-digit run, a failing Luhn.
        for clean in [
            "1777636800000",
            "at 116480823623581696",
            "42424242424242424242",
            "4242424242424241",
            "12.50 14.50 2026-05-01",
            "seq 12 hlc 116480823623581696 wall 1777636800000",
        ] {
            assert_eq!(found(clean), None, "{clean}");
        }
        assert_eq!(
            printable("card 4242424242424242"),
            "card [card number]".to_owned()
        );
    }

    #[test]
    fn what_is_kept_of_a_card_is_checked() {
        let card = CardRef::new("tok_abcdefgh", CardBrand::Visa, "4242").expect("card");
        assert_eq!(card.masked_ascii(), "Visa **** 4242");
        assert_eq!(
            CardRef::new("4242424242424242", CardBrand::Visa, "4242"),
            Err(PaymentError::CardNumber {
                field: "card token"
            })
        );
        assert!(CardRef::new("tok_abcdefgh", CardBrand::Visa, "424").is_err());
        assert!(CardRef::new("tok abc defgh", CardBrand::Visa, "4242").is_err());
        assert!(AuthCode::new("A1B2C3").is_ok());
        assert!(AuthCode::new("").is_err());
        assert!(AuthCode::new("A1-B2").is_err());
        assert_eq!(CardBrand::parse("visa"), Ok(CardBrand::Visa));
        assert!(CardBrand::parse("Visa").is_err());
    }

    #[test]
    fn keys_are_checked_and_generated_keys_are_valid() {
        let key = IdempotencyKey::generate("t1", [7; 10]).expect("key");
        assert!(key.as_str().starts_with("t1-"));
        assert_eq!(key.as_str().len(), 19);
        assert!(IdempotencyKey::new("t1-4242424242424242").is_err());
        assert!(IdempotencyKey::new("short").is_err());
        assert!(IdempotencyKey::new("Has-Capitals-1").is_err());
    }

    #[test]
    fn cash_pays_at_most_what_is_due_and_gives_change() {
        let check = |due: &str, tendered: &str, expected: Result<(&str, &str), PaymentError>| {
            let got = cash_payment(m(due), m(tendered))
                .map(|c| (c.applied.to_string(), c.change.to_string()));
            let expected = expected.map(|(a, c)| (a.to_owned(), c.to_owned()));
            assert_eq!(got, expected, "due {due}, tendered {tendered}");
        };
        check("33.45", "40.00", Ok(("33.45", "6.55")));
        check("33.45", "33.45", Ok(("33.45", "0.00")));
        check("33.45", "20.00", Ok(("20.00", "0.00")));
        check("0.00", "20.00", Err(PaymentError::NothingDue));
        check(
            "10.00",
            "0.00",
            Err(PaymentError::NotPositive {
                what: "the cash tendered",
                amount: Money::ZERO,
            }),
        );
        check(
            "10.00",
            "100000.01",
            Err(PaymentError::TooLarge {
                what: "the cash tendered",
                amount: m("100000.01"),
            }),
        );
    }

    #[test]
    fn the_offline_cap_needs_a_manager_above_it_and_payments_expire_after_a_day() {
        let cap = m("100.00");
        assert_eq!(check_offline_cap(m("100.00"), cap, false), Ok(()));
        assert_eq!(
            check_offline_cap(m("100.01"), cap, false),
            Err(PaymentError::OverOfflineCap { cap })
        );
        assert_eq!(check_offline_cap(m("150.00"), cap, true), Ok(()));
        assert!(!offline_expired(0, OFFLINE_EXPIRY_MS));
        assert!(offline_expired(0, OFFLINE_EXPIRY_MS + 1));
    }

    fn card(reference: &str) -> CardPart {
        CardPart {
            card: CardRef::new("tok_abcdefgh", CardBrand::Visa, "4242").expect("card"),
            auth_code: Some(AuthCode::new("A1").expect("code")),
            reference: reference.to_owned(),
            partial: false,
            offline_approved_by: None,
        }
    }

    fn taken(id: &str, tender: Tender, amount: &str, tip: &str) -> TakenPayment {
        TakenPayment {
            id: PaymentId::new(id),
            tender,
            amount: m(amount),
            tip: m(tip),
            seat: None,
            card: (tender == Tender::Card).then(|| card(id)),
            cash: None,
            drawer: None,
            staff: None,
            offline_expires_ms: None,
            taken_ms: 0,
        }
    }

    #[test]
    fn two_full_payments_overpay_and_a_refund_of_the_excess_settles_it() {
        let mut ledger = PaymentLedger::default();
        assert_eq!(
            ledger.take(taken("p1", Tender::Cash, "50.00", "0")),
            Ok(m("50.00"))
        );
        assert_eq!(
            ledger.take(taken("p2", Tender::Cash, "50.00", "0")),
            Ok(m("50.00"))
        );
        assert_eq!(
            ledger.take(taken("p2", Tender::Cash, "50.00", "0")),
            Err(PaymentError::DuplicatePayment(PaymentId::new("p2")))
        );
        assert_eq!(
            ledger.alerts(m("50.00"), CheckState::Closed),
            Ok(vec![PaymentAlert::Overpaid { excess: m("50.00") }])
        );
        ledger
            .refund(LedgerRefund {
                id: "r1".into(),
                payment: PaymentId::new("p2"),
                amount: m("50.00"),
                tender: Tender::Cash,
                manager: StaffId::new("maria"),
                reason: "paid twice".into(),
                drawer: None,
            })
            .expect("refund");
        assert_eq!(ledger.alerts(m("50.00"), CheckState::Closed), Ok(vec![]));
        assert_eq!(ledger.net_paid(), Ok(m("50.00")));
    }

    #[test]
    fn a_tab_holds_then_becomes_the_payment_and_its_tip_is_adjusted() {
        let mut ledger = PaymentLedger::default();
        ledger
            .open_tab(PaymentId::new("tab"), m("50.00"), card("k1"), None, None, 0)
            .expect("tab");
        assert_eq!(ledger.paid(), Ok(Money::ZERO));
        assert_eq!(
            ledger.adjust_tip(&PaymentId::new("tab"), m("5.00")),
            Err(PaymentError::OpenTab(PaymentId::new("tab")))
        );
        let mut close = taken("tab", Tender::Card, "32.10", "0");
        close.card = Some(card("k2"));
        assert_eq!(ledger.take(close), Ok(m("32.10")));
        ledger
            .adjust_tip(&PaymentId::new("tab"), m("6.00"))
            .expect("tip");
        let tab = ledger.payment(&PaymentId::new("tab")).expect("tab");
        assert_eq!((tab.amount, tab.tip), (m("32.10"), m("6.00")));
        assert_eq!(
            ledger.by_reference("k2").map(|p| p.id.as_str()),
            Some("tab")
        );
        assert_eq!(ledger.tips(), Ok(m("6.00")));
    }

    #[test]
    fn an_offline_payment_declined_on_upload_comes_off_the_check_and_alerts() {
        let mut ledger = PaymentLedger::default();
        let mut offline = taken("p1", Tender::Card, "40.00", "0");
        offline.offline_expires_ms = Some(OFFLINE_EXPIRY_MS);
        ledger.take(offline).expect("taken offline");
        assert_eq!(ledger.paid(), Ok(m("40.00")));
        assert_eq!(
            ledger.upload_declined(&PaymentId::new("p1"), "card declined"),
            Ok(m("40.00"))
        );
        assert_eq!(ledger.paid(), Ok(Money::ZERO));
        let alert = |resolved| PaymentAlert::DeclinedOnUpload {
            payment: PaymentId::new("p1"),
            amount: m("40.00"),
            reason: "card declined".into(),
            resolved,
        };
        assert_eq!(
            ledger.alerts(m("40.00"), CheckState::Open),
            Ok(vec![alert(false)])
        );
        ledger
            .take(taken("p2", Tender::Cash, "40.00", "0"))
            .expect("paid again");
        assert_eq!(
            ledger.alerts(m("40.00"), CheckState::Closed),
            Ok(vec![alert(true)])
        );
        assert!(
            ledger
                .upload_approved(&PaymentId::new("p1"), AuthCode::new("X1").expect("code"))
                .is_err()
        );
    }

    #[test]
    fn drawer_expects_float_plus_cash_taken_less_change_and_refunds() {
        let totals = DrawerTotals {
            float: m("150.00"),
            cash_sales: m("33.45"),
            cash_tips: Money::ZERO,
            tendered: m("40.00"),
            change: m("6.55"),
            refunds: m("5.00"),
            payments: 1,
        };
        assert_eq!(totals.expected(), Ok(m("178.45")));
        assert_eq!(totals.over_short(m("178.00")), Ok(m("-0.45")));
    }

    proptest! {
        #[test]
        fn cash_always_balances(due in 1i64..1_000_000, tendered in 1i64..2_000_000) {
            let c = cash_payment(Money::from_minor(due), Money::from_minor(tendered)).expect("cash");
            prop_assert_eq!(c.applied.checked_add(c.change).expect("add"), c.tendered);
            prop_assert!(c.applied <= Money::from_minor(due));
            prop_assert!(!c.change.is_negative());
        }

        #[test]
        fn no_digit_string_with_a_card_number_passes_as_text(
            prefix in "[a-z_]{0,6}",
            pan in prop::sample::select(TEST_CARDS.to_vec()),
            suffix in "[a-z_]{0,6}",
        ) {
            let text = format!("{prefix}{pan}{suffix}");
            prop_assert!(contains_card_number(&text));
            prop_assert!(IdempotencyKey::new(&text).is_err());
            prop_assert!(CardRef::new(&text, CardBrand::Visa, "4242").is_err());
        }

        #[test]
        fn refunds_never_make_net_paid_negative(
            amounts in prop::collection::vec(1i64..10_000, 1..5),
            refunds in prop::collection::vec(0i64..20_000, 0..5),
        ) {
            let mut ledger = PaymentLedger::default();
            for (i, a) in amounts.iter().enumerate() {
                let mut p = taken(&format!("p{i}"), Tender::Cash, "0", "0");
                p.amount = Money::from_minor(*a);
                ledger.take(p).expect("take");
            }
            for (i, r) in refunds.iter().enumerate() {
                let refund = LedgerRefund {
                    id: format!("r{i}"),
                    payment: PaymentId::new(format!("p{}", i % amounts.len())),
                    amount: Money::from_minor(*r),
                    tender: Tender::Cash,
                    manager: StaffId::new("m"),
                    reason: "x".into(),
                    drawer: None,
                };
                ledger.refund(refund).expect("refund");
            }
            let net = ledger.net_paid().expect("net");
            prop_assert!(!net.is_negative());
            prop_assert!(net <= ledger.paid().expect("paid"));
        }
    }
}
