//! The payments projections: each check's payments and refunds, the alerts a manager must see,
//! receipts printed (or not), card batches and cash drawers.
//!
//! A check's payment facts fold with the rest of its events ([`fold_event`], called from
//! [`super::fold`]) into a [`PaymentFold`]: the domain's [`PaymentLedger`] plus where each fact
//! sits in the fold order. Its rows are rewritten with the check's ([`write`]). Batches and
//! drawers are store facts, not a check's: [`write_store_event`] keeps one row per event.
//!
//! Alerts are derived, never written as events: every device computes the same ones from the
//! same journal, and one that is dealt with (an overpayment refunded, a declined offline payment
//! paid again) is marked resolved by the very facts that dealt with it.

use std::collections::BTreeMap;
use std::fmt::Display;

use rusqlite::{Connection, OptionalExtension, params};

use super::fold::{CheckFold, FoldKey};
use crate::domain::Money;
use crate::domain::check::StaffId;
use crate::domain::payment::{
    AuthCode, CardPart, CardRef, DrawerTotals, LedgerDecline, LedgerRefund, PaymentAlert,
    PaymentId, PaymentLedger, PaymentState, TakenPayment, Tender,
};
use crate::event::{CardRecord, Event, ReceiptCopy, UploadRecord};

/// A check's payments as folded.
#[derive(Debug, Default)]
pub struct PaymentFold {
    pub ledger: PaymentLedger,
    /// Where each payment (`p:<id>`) and refund (`r:<id>`) was taken, in the fold order.
    pub keys: BTreeMap<String, FoldKey>,
    /// Every attempt to print a receipt of the check, in the fold order.
    pub receipts: Vec<ReceiptAttempt>,
}

/// One receipt sent to a printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptAttempt {
    pub at: FoldKey,
    pub copy: ReceiptCopy,
    pub printer: String,
    /// Why it did not print; `None` when it did.
    pub error: Option<String>,
}

impl PaymentFold {
    /// The last attempt to print, if it failed: what the terminal shows beside "paid".
    pub fn print_failure(&self) -> Option<&ReceiptAttempt> {
        self.receipts.last().filter(|r| r.error.is_some())
    }
}

const NOT_OPENED: &str = "its check has not been opened (the opening has not arrived)";

/// The domain's card part from its record.
pub fn card_part(record: &CardRecord) -> Result<CardPart, String> {
    let err = |e: &dyn Display| e.to_string();
    Ok(CardPart {
        card: CardRef::new(&record.token, record.brand, &record.last4).map_err(|e| err(&e))?,
        auth_code: record
            .auth_code
            .as_deref()
            .map(AuthCode::new)
            .transpose()
            .map_err(|e| err(&e))?,
        reference: record.reference.clone(),
        partial: record.partial,
        offline_approved_by: record.offline_approved_by.as_deref().map(StaffId::new),
    })
}

/// Folds one payment fact of a check (the kinds [`is_payment_event`] names). An error is the
/// reason the fact could not be taken in (kept as a conflict).
pub(super) fn fold_event(fold: &mut CheckFold, key: &FoldKey, event: &Event) -> Result<(), String> {
    let err = |e: &dyn Display| e.to_string();
    if fold.check.is_none() {
        return Err(NOT_OPENED.to_owned());
    }
    let ledger = &mut fold.payments.ledger;
    match event {
        Event::PaymentRecorded {
            payment, amount, ..
        }
        | Event::PaymentTaken {
            payment, amount, ..
        } => {
            if amount.is_negative() {
                return Err(format!("a payment may not be negative ({amount})"));
            }
            let mut taken = TakenPayment {
                id: PaymentId::new(payment.clone()),
                tender: Tender::Other,
                amount: *amount,
                tip: Money::ZERO,
                seat: None,
                card: None,
                cash: None,
                drawer: None,
                staff: None,
                offline_expires_ms: None,
                taken_ms: key.wall_ms,
            };
            if let Event::PaymentTaken {
                tender,
                tip,
                seat,
                card,
                cash,
                staff,
                ..
            } = event
            {
                if tip.is_negative() {
                    return Err(format!("a tip may not be negative ({tip})"));
                }
                taken.tender = *tender;
                taken.tip = *tip;
                taken.seat = *seat;
                taken.card = card.as_ref().map(card_part).transpose()?;
                taken.offline_expires_ms = card.as_ref().and_then(|c| c.offline_expires_ms);
                taken.cash = cash.as_ref().map(|c| (c.tendered, c.change));
                taken.drawer = cash.as_ref().map(|c| c.drawer.clone());
                taken.staff = Some(StaffId::new(staff.clone()));
            }
            let added = ledger.take(taken).map_err(|e| err(&e))?;
            fold.payments
                .keys
                .insert(format!("p:{payment}"), key.clone());
            if let Some(check) = fold.check.as_mut() {
                check.accept_payment(added).map_err(|e| err(&e))?;
            }
        }
        Event::TabOpened {
            payment,
            hold,
            card,
            seat,
            staff,
            ..
        } => {
            ledger
                .open_tab(
                    PaymentId::new(payment.clone()),
                    *hold,
                    card_part(card)?,
                    Some(StaffId::new(staff.clone())),
                    *seat,
                    key.wall_ms,
                )
                .map_err(|e| err(&e))?;
            fold.payments
                .keys
                .insert(format!("p:{payment}"), key.clone());
        }
        Event::TipAdjusted { payment, tip, .. } => ledger
            .adjust_tip(&PaymentId::new(payment.clone()), *tip)
            .map_err(|e| err(&e))?,
        Event::PaymentRefunded {
            payment,
            refund,
            amount,
            tender,
            drawer,
            manager,
            reason,
            ..
        } => {
            if amount.is_negative() || amount.is_zero() {
                return Err(format!("a refund must be more than zero, not {amount}"));
            }
            ledger
                .refund(LedgerRefund {
                    id: refund.clone(),
                    payment: PaymentId::new(payment.clone()),
                    amount: *amount,
                    tender: *tender,
                    manager: StaffId::new(manager.clone()),
                    reason: reason.clone(),
                    drawer: drawer.clone(),
                })
                .map_err(|e| err(&e))?;
            fold.payments
                .keys
                .insert(format!("r:{refund}"), key.clone());
        }
        Event::OfflinePaymentUploaded {
            payment, outcome, ..
        } => {
            let id = PaymentId::new(payment.clone());
            match outcome {
                UploadRecord::Approved { auth_code } => {
                    let code = AuthCode::new(auth_code).map_err(|e| err(&e))?;
                    ledger.upload_approved(&id, code).map_err(|e| err(&e))?;
                }
                UploadRecord::Declined { reason } => {
                    let back = ledger.upload_declined(&id, reason).map_err(|e| err(&e))?;
                    if let Some(check) = fold.check.as_mut() {
                        check.reverse_payment(back).map_err(|e| err(&e))?;
                        // Open again (or still open): not closed by anyone now.
                        if check.state() == crate::domain::check::CheckState::Open {
                            fold.closed = None;
                        }
                    }
                }
            }
        }
        Event::CardDeclined {
            reference,
            amount,
            code,
            message,
            ..
        } => ledger.declined(LedgerDecline {
            reference: reference.clone(),
            amount: *amount,
            code: code.clone(),
            message: message.clone(),
        }),
        Event::ReceiptPrinted {
            copy,
            printer,
            error,
            ..
        } => fold.payments.receipts.push(ReceiptAttempt {
            at: key.clone(),
            copy: *copy,
            printer: printer.clone(),
            error: error.clone(),
        }),
        _ => {}
    }
    Ok(())
}

/// Whether a check event is a payment fact that [`fold_event`] folds.
pub fn is_payment_event(event: &Event) -> bool {
    matches!(
        event,
        Event::PaymentRecorded { .. }
            | Event::PaymentTaken { .. }
            | Event::TabOpened { .. }
            | Event::TipAdjusted { .. }
            | Event::PaymentRefunded { .. }
            | Event::OfflinePaymentUploaded { .. }
            | Event::CardDeclined { .. }
            | Event::ReceiptPrinted { .. }
    )
}

fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn cents(m: Money) -> i64 {
    m.minor_units().unwrap_or(i64::MAX)
}

fn state_text(state: &PaymentState) -> &'static str {
    match state {
        PaymentState::Taken => "taken",
        PaymentState::OpenTab { .. } => "open_tab",
        PaymentState::Offline { .. } => "offline",
        PaymentState::DeclinedOnUpload { .. } => "declined_on_upload",
    }
}

/// Rewrites a check's payments, refunds, receipts and alerts from its fold.
pub(super) fn write(db: &Connection, check_id: &str, fold: &CheckFold) -> rusqlite::Result<()> {
    for table in ["proj_payments", "proj_receipts"] {
        db.prepare_cached(&format!("DELETE FROM {table} WHERE check_id = ?1"))?
            .execute([check_id])?;
    }
    db.prepare_cached("DELETE FROM proj_alerts WHERE subject = ?1")?
        .execute([check_id])?;
    let Some(check) = &fold.check else {
        return Ok(());
    };
    let p = &fold.payments;
    let no_key = FoldKey {
        hlc: 0,
        origin: String::new(),
        seq: 0,
        wall_ms: 0,
    };
    for pay in p.ledger.payments() {
        let at = p.keys.get(&format!("p:{}", pay.id)).unwrap_or(&no_key);
        let card = pay.card.as_ref();
        let (hold, expires) = match &pay.state {
            PaymentState::OpenTab { hold } => (Some(cents(*hold)), None),
            PaymentState::Offline { expires_ms } => (None, Some(*expires_ms)),
            _ => (None, None),
        };
        db.prepare_cached(
            "INSERT INTO proj_payments (check_id, kind, id, payment, tender, state, amount_cents,
                 tip_cents, refunded_cents, hold_cents, seat, brand, last4, auth_code, reference,
                 offline_expires_ms, tendered_cents, change_cents, drawer, staff, hlc, origin, seq, wall_ms)
             VALUES (?1, 'payment', ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                 ?17, ?18, ?19, ?20, ?21, ?22)",
        )?
        .execute(params![
            check_id,
            pay.id.as_str(),
            pay.tender.as_str(),
            state_text(&pay.state),
            cents(pay.amount),
            cents(pay.tip),
            cents(pay.refunded),
            hold,
            pay.seat,
            card.map(|c| c.card.brand().as_str()),
            card.map(|c| c.card.last4().to_owned()),
            card.and_then(|c| c.auth_code.as_ref().map(|a| a.as_str().to_owned())),
            card.map(|c| c.reference.clone()),
            expires,
            pay.cash.map(|(t, _)| cents(t)),
            pay.cash.map(|(_, c)| cents(c)),
            pay.drawer,
            pay.staff.as_ref().map(|s| s.as_str().to_owned()),
            i64_of(at.hlc),
            at.origin,
            i64_of(at.seq),
            at.wall_ms,
        ])?;
    }
    for refund in p.ledger.refunds() {
        let at = p.keys.get(&format!("r:{}", refund.id)).unwrap_or(&no_key);
        db.prepare_cached(
            "INSERT INTO proj_payments (check_id, kind, id, payment, tender, state, amount_cents,
                 tip_cents, refunded_cents, drawer, staff, reason, hlc, origin, seq, wall_ms)
             VALUES (?1, 'refund', ?2, ?3, ?4, 'refunded', ?5, 0, 0, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?
        .execute(params![
            check_id,
            refund.id,
            refund.payment.as_str(),
            refund.tender.as_str(),
            cents(refund.amount),
            refund.drawer,
            refund.manager.as_str(),
            refund.reason,
            i64_of(at.hlc),
            at.origin,
            i64_of(at.seq),
            at.wall_ms,
        ])?;
    }
    for r in &p.receipts {
        db.prepare_cached(
            "INSERT OR REPLACE INTO proj_receipts (check_id, hlc, origin, seq, wall_ms, copy, printer, error)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            check_id,
            i64_of(r.at.hlc),
            r.at.origin,
            i64_of(r.at.seq),
            r.at.wall_ms,
            r.copy.as_str(),
            r.printer,
            r.error,
        ])?;
    }
    let alerts = p
        .ledger
        .alerts(check.totals().total, check.state())
        .unwrap_or_default();
    let insert =
        |kind: &str, reference: &str, amount: Money, detail: String, open: bool| {
            db.prepare_cached(
            "INSERT OR REPLACE INTO proj_alerts (subject, kind, ref, amount_cents, detail, open)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![check_id, kind, reference, cents(amount), detail, open])
        };
    let number = check.number();
    for alert in alerts {
        match alert {
            PaymentAlert::Overpaid { excess } => insert(
                "overpaid",
                "",
                excess,
                format!("check {number} is paid {excess} more than its total: refund the excess"),
                true,
            )?,
            PaymentAlert::DeclinedOnUpload {
                payment,
                amount,
                reason,
                resolved,
            } => insert(
                "declined_on_upload",
                payment.as_str(),
                amount,
                format!(
                    "an offline card payment of {amount} on check {number} was declined on upload ({reason}): the check is open again"
                ),
                !resolved,
            )?,
            PaymentAlert::OverRefunded { payment, excess } => insert(
                "over_refunded",
                payment.as_str(),
                excess,
                format!(
                    "payment {payment} on check {number} was refunded {excess} more than it took"
                ),
                true,
            )?,
        };
    }
    if let Some(failed) = p.print_failure() {
        insert(
            "receipt_not_printed",
            failed.copy.as_str(),
            Money::ZERO,
            format!(
                "the {} receipt of check {number} did not print on {}: {}",
                failed.copy.as_str(),
                failed.printer,
                failed.error.as_deref().unwrap_or("unknown error")
            ),
            true,
        )?;
    }
    Ok(())
}

/// Keeps a store payment fact that is not a check's (card batches, cash drawers).
pub(super) fn write_store_event(
    db: &Connection,
    key: &FoldKey,
    event: &Event,
) -> rusqlite::Result<()> {
    match event {
        Event::CardBatchClosed {
            terminal,
            batch,
            count,
            captured,
            refunded,
            recorded_captured,
            refs,
            unrecorded,
            staff,
        } => {
            db.prepare_cached(
                "INSERT OR IGNORE INTO proj_batches (terminal, batch, hlc, origin, seq, wall_ms, count,
                     captured_cents, refunded_cents, recorded_cents, refs, unrecorded, staff)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?
            .execute(params![
                terminal,
                batch,
                i64_of(key.hlc),
                key.origin,
                i64_of(key.seq),
                key.wall_ms,
                count,
                cents(*captured),
                cents(*refunded),
                cents(*recorded_captured),
                serde_json::to_string(refs).unwrap_or_default(),
                serde_json::to_string(unrecorded).unwrap_or_default(),
                staff,
            ])?;
            if captured != recorded_captured || !unrecorded.is_empty() {
                db.prepare_cached(
                    "INSERT OR REPLACE INTO proj_alerts (subject, kind, ref, amount_cents, detail, open)
                     VALUES (?1, 'batch_mismatch', ?2, ?3, ?4, 1)",
                )?
                .execute(params![
                    format!("batch:{terminal}"),
                    batch,
                    cents(captured.checked_sub(*recorded_captured).unwrap_or(Money::ZERO)),
                    format!(
                        "card batch {batch}: the terminal captured {captured}, the store recorded {recorded_captured}; {} transaction(s) the store has no record of",
                        unrecorded.len()
                    ),
                ])?;
            }
        }
        Event::DrawerOpened {
            drawer,
            float,
            staff,
        } => {
            db.prepare_cached(
                "INSERT OR IGNORE INTO proj_drawers (drawer, hlc, origin, seq, wall_ms, kind, amount_cents, expected_cents, staff)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'opened', ?6, NULL, ?7)",
            )?
            .execute(params![drawer, i64_of(key.hlc), key.origin, i64_of(key.seq), key.wall_ms, cents(*float), staff])?;
        }
        Event::DrawerCounted {
            drawer,
            counted,
            expected,
            staff,
        } => {
            db.prepare_cached(
                "INSERT OR IGNORE INTO proj_drawers (drawer, hlc, origin, seq, wall_ms, kind, amount_cents, expected_cents, staff)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'counted', ?6, ?7, ?8)",
            )?
            .execute(params![
                drawer,
                i64_of(key.hlc),
                key.origin,
                i64_of(key.seq),
                key.wall_ms,
                cents(*counted),
                cents(*expected),
                staff
            ])?;
        }
        _ => {}
    }
    Ok(())
}

/// Whether an event is a store payment fact that [`write_store_event`] keeps.
pub fn is_store_payment_event(event: &Event) -> bool {
    matches!(
        event,
        Event::CardBatchClosed { .. } | Event::DrawerOpened { .. } | Event::DrawerCounted { .. }
    )
}

/// An alert as the projections hold it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AlertRow {
    /// The check id, or `batch:<terminal>` for a card batch.
    pub subject: String,
    pub kind: String,
    pub reference: String,
    pub amount: Money,
    pub detail: String,
    pub open: bool,
}

/// Every payment alert, open ones first.
pub fn alerts(db: &Connection) -> rusqlite::Result<Vec<AlertRow>> {
    db.prepare_cached(
        "SELECT subject, kind, ref, amount_cents, detail, open FROM proj_alerts
         ORDER BY open DESC, subject, kind, ref",
    )?
    .query_map([], |r| {
        Ok(AlertRow {
            subject: r.get(0)?,
            kind: r.get(1)?,
            reference: r.get(2)?,
            amount: Money::from_minor(r.get(3)?),
            detail: r.get(4)?,
            open: r.get(5)?,
        })
    })?
    .collect()
}

/// A cash drawer since it was last opened: its totals and when it opened (`None` if it never
/// was: then everything it took counts, on a float of zero).
pub fn drawer_totals(db: &Connection, drawer: &str) -> rusqlite::Result<DrawerTotals> {
    let opened: Option<(i64, i64)> = db
        .prepare_cached(
            "SELECT hlc, amount_cents FROM proj_drawers WHERE drawer = ?1 AND kind = 'opened'
             ORDER BY hlc DESC, origin DESC, seq DESC LIMIT 1",
        )?
        .query_row([drawer], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (since, float) = opened.unwrap_or((-1, 0));
    let (payments, sales, tips, tendered, change): (u32, i64, i64, i64, i64) = db
        .prepare_cached(
            "SELECT COUNT(*), COALESCE(SUM(amount_cents), 0), COALESCE(SUM(tip_cents), 0),
                    COALESCE(SUM(tendered_cents), 0), COALESCE(SUM(change_cents), 0)
             FROM proj_payments WHERE kind = 'payment' AND tender = 'cash' AND drawer = ?1
               AND state = 'taken' AND hlc > ?2",
        )?
        .query_row(params![drawer, since], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?;
    let refunds: i64 = db
        .prepare_cached(
            "SELECT COALESCE(SUM(amount_cents), 0) FROM proj_payments
             WHERE kind = 'refund' AND tender = 'cash' AND drawer = ?1 AND hlc > ?2",
        )?
        .query_row(params![drawer, since], |r| r.get(0))?;
    Ok(DrawerTotals {
        float: Money::from_minor(float),
        cash_sales: Money::from_minor(sales),
        cash_tips: Money::from_minor(tips),
        tendered: Money::from_minor(tendered),
        change: Money::from_minor(change),
        refunds: Money::from_minor(refunds),
        payments,
    })
}

/// What this store recorded for card transactions with these terminal references: the amount
/// and tip of each payment, by reference (tip adjustments included).
pub fn recorded_card_totals(db: &Connection) -> rusqlite::Result<BTreeMap<String, Money>> {
    let rows = db
        .prepare_cached(
            "SELECT reference, amount_cents + tip_cents FROM proj_payments
             WHERE kind = 'payment' AND tender = 'card' AND reference IS NOT NULL
               AND state IN ('taken', 'offline')",
        )?
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows
        .into_iter()
        .map(|(reference, c)| (reference, Money::from_minor(c)))
        .collect())
}

/// The check a payment (by id) belongs to.
pub fn check_of_payment(db: &Connection, payment: &str) -> rusqlite::Result<Option<String>> {
    db.prepare_cached(
        "SELECT check_id FROM proj_payments WHERE kind = 'payment' AND id = ?1 LIMIT 1",
    )?
    .query_row([payment], |r| r.get(0))
    .optional()
}

/// Offline card payments not yet answered by the network: (check, payment, reference).
pub fn offline_payments(db: &Connection) -> rusqlite::Result<Vec<(String, String, String)>> {
    db.prepare_cached(
        "SELECT check_id, id, reference FROM proj_payments
         WHERE kind = 'payment' AND state = 'offline' AND reference IS NOT NULL ORDER BY hlc",
    )?
    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
    .collect()
}
