//! Receipts: the guest check (the bill before paying), the customer's receipt and the
//! merchant's copy of a card payment, as lines of text for a screen's preview and as ESC/POS
//! bytes for a receipt printer.
//!
//! A receipt is 42 columns of ASCII (an 80 mm printer's standard font); the store's name is
//! printed double size (21 columns). Every line is laid out here, so the preview and the paper
//! show exactly the same text: [`Receipt::preview`] is what [`escpos_job`] prints.
//!
//! # ESC/POS
//!
//! A job is: `ESC @` (initialise), `ESC t 0` (code page 437); per line its text then `LF`,
//! the title wrapped in `GS ! 0x11` (double width and height) and `ESC E 1` (bold) and their
//! resets, the total lines in `ESC E 1`/`ESC E 0`; after each copy `ESC d 4` (feed four lines)
//! and `GS V 66 0` (feed and partial cut). Several copies go in one job, each ending in a cut.

use rust_decimal::Decimal;

use crate::domain::Money;
use crate::domain::check::Check;
use crate::domain::payment::{LedgerPayment, PaymentId, PaymentLedger, PaymentState, Tender};
use crate::event::ReceiptCopy;

/// Columns of a receipt line.
pub const WIDTH: usize = 42;
/// Columns of a double-width line.
pub const TITLE_WIDTH: usize = 21;

/// How a line is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Style {
    Normal,
    Bold,
    /// Double width and height, bold.
    Title,
}

/// One printed line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReceiptLine {
    pub text: String,
    pub style: Style,
}

/// A receipt, laid out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Receipt {
    pub copy: ReceiptCopy,
    pub lines: Vec<ReceiptLine>,
}

/// Why a receipt could not be laid out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("a merchant copy is of one card payment: name it")]
    NoPayment,
    #[error("there is no card payment {0} on this check")]
    UnknownPayment(PaymentId),
    #[error(transparent)]
    Money(#[from] crate::domain::MoneyError),
}

/// What a receipt is made from.
#[derive(Debug, Clone, Copy)]
pub struct ReceiptInput<'a> {
    /// The restaurant's name (the menu's).
    pub store: &'a str,
    /// The store's time zone (an IANA name), for the date and time printed.
    pub time_zone: &'a str,
    pub now_ms: i64,
    pub check: &'a Check,
    pub payments: &'a PaymentLedger,
    /// The server's name as people know it.
    pub server: &'a str,
}

/// `text` in printable ASCII: accented letters lose their accents, other characters become `?`.
pub fn ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let mapped: &str = match c {
            ' '..='~' => {
                out.push(c);
                continue;
            }
            'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' => "a",
            'À' | 'Á' | 'Â' | 'Ä' | 'Ã' | 'Å' => "A",
            'ç' => "c",
            'Ç' => "C",
            'è' | 'é' | 'ê' | 'ë' => "e",
            'È' | 'É' | 'Ê' | 'Ë' => "E",
            'ì' | 'í' | 'î' | 'ï' => "i",
            'Ì' | 'Í' | 'Î' | 'Ï' => "I",
            'ñ' => "n",
            'Ñ' => "N",
            'ò' | 'ó' | 'ô' | 'ö' | 'õ' | 'ø' => "o",
            'Ò' | 'Ó' | 'Ô' | 'Ö' | 'Õ' | 'Ø' => "O",
            'ù' | 'ú' | 'û' | 'ü' => "u",
            'Ù' | 'Ú' | 'Û' | 'Ü' => "U",
            'ß' => "ss",
            '–' | '—' | '·' => "-",
            '•' => "*",
            '‘' | '’' => "'",
            '“' | '”' => "\"",
            '\t' => " ",
            _ => "?",
        };
        out.push_str(mapped);
    }
    out
}

fn cut(text: &str, width: usize) -> String {
    text.chars().take(width).collect()
}

/// `left` and `right` on one line, `right` flush right; `left` is cut to fit.
fn columns(left: &str, right: &str) -> String {
    let left = ascii(left);
    let right = ascii(right);
    let room = WIDTH.saturating_sub(right.len() + 1);
    let left = cut(&left, room);
    let pad = WIDTH.saturating_sub(left.len() + right.len());
    format!("{left}{}{right}", " ".repeat(pad))
}

fn centred(text: &str, width: usize) -> String {
    let text = cut(&ascii(text), width);
    let pad = (width - text.len()) / 2;
    format!("{}{text}", " ".repeat(pad))
}

/// The local date and time at `ms` in the zone named `zone` (UTC if it is not a zone).
fn when(zone: &str, ms: i64) -> String {
    use chrono::TimeZone;
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::UTC);
    match tz.timestamp_millis_opt(ms) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
            t.format("%Y-%m-%d %H:%M").to_string()
        }
        chrono::LocalResult::None => String::new(),
    }
}

fn percent(p: Decimal) -> String {
    format!("{}%", p.normalize())
}

/// What a receipt names a payment by: `Cash`, `Visa **** 4242`.
pub fn tender_label(p: &LedgerPayment) -> String {
    match (&p.card, p.tender) {
        (Some(card), _) => card.card.masked_ascii(),
        (None, Tender::Cash) => "Cash".to_owned(),
        (None, _) => "Payment".to_owned(),
    }
}

struct Lines(Vec<ReceiptLine>);

impl Lines {
    fn add(&mut self, text: String, style: Style) {
        self.0.push(ReceiptLine { text, style });
    }
    fn text(&mut self, text: String) {
        self.add(text, Style::Normal);
    }
    fn rule(&mut self) {
        self.text("-".repeat(WIDTH));
    }
    fn money(&mut self, label: &str, amount: Money) {
        self.text(columns(label, &amount.to_string()));
    }
}

/// Lays out `copy` of the check in `input`. A merchant copy is of one card `payment`.
pub fn receipt(
    input: &ReceiptInput<'_>,
    copy: ReceiptCopy,
    payment: Option<&PaymentId>,
) -> Result<Receipt, ReceiptError> {
    let check = input.check;
    let mut out = Lines(Vec::new());
    // The store's name double size when it fits, else bold at the normal size.
    let name = ascii(&input.store.to_uppercase());
    if name.len() <= TITLE_WIDTH {
        out.add(centred(&name, TITLE_WIDTH), Style::Title);
    } else {
        out.add(centred(&name, WIDTH), Style::Bold);
    }
    let place = match check.table() {
        Some(table) => format!("Table {table}   Guests {}", check.guests()),
        None => check.order_type().to_string(),
    };
    out.text(columns(&format!("Check {}", check.number()), &place));
    out.text(columns(
        &format!("Server {}", input.server),
        &when(input.time_zone, input.now_ms),
    ));
    out.rule();
    if copy == ReceiptCopy::Merchant {
        merchant(&mut out, input, payment)?;
        return Ok(Receipt { copy, lines: out.0 });
    }
    for line in check.lines().iter().filter(|l| !l.is_voided()) {
        let p = line.priced();
        let amount = if line.comp().is_some() {
            "COMP".to_owned()
        } else {
            p.amount().to_string()
        };
        out.text(columns(&format!("{} x {}", p.qty(), p.name()), &amount));
        for m in p.modifiers() {
            out.text(format!("    {}", cut(&ascii(&m.name), WIDTH - 4)));
        }
        if let Some(off) = line.discount() {
            out.text(columns("    Discount", &off.negate().to_string()));
        }
    }
    out.rule();
    let totals = check.totals();
    out.money("Subtotal", totals.subtotal);
    if !totals.discount.is_zero() {
        out.money("Discount", totals.discount.negate());
    }
    for rate in &totals.rates {
        let label = format!(
            "{} {}{}",
            rate.rate.name(),
            percent(rate.rate.percent()),
            if rate.rate.is_inclusive() {
                " (incl.)"
            } else {
                ""
            }
        );
        out.money(&label, rate.tax);
    }
    out.add(columns("TOTAL", &totals.total.to_string()), Style::Bold);
    out.rule();
    let ledger = input.payments;
    match copy {
        ReceiptCopy::Guest => {
            let due = check.balance_due()?;
            if !ledger.paid()?.is_zero() {
                out.money("Paid", ledger.paid()?);
            }
            out.add(columns("BALANCE DUE", &due.to_string()), Style::Bold);
            out.rule();
            out.text("Suggested tip (on the total):".to_owned());
            let tips: Vec<String> = crate::domain::payment::SUGGESTED_TIP_PERCENTS
                .iter()
                .map(|pct| {
                    format!(
                        "{pct}% {}",
                        crate::domain::payment::tip_at(totals.total, *pct)
                    )
                })
                .collect();
            out.text(format!("  {}", tips.join("   ")));
        }
        ReceiptCopy::Customer => {
            for p in ledger.payments() {
                if matches!(p.state, PaymentState::OpenTab { .. }) {
                    continue;
                }
                let mut label = tender_label(p);
                match &p.state {
                    PaymentState::Offline { .. } => label.push_str("  (offline)"),
                    PaymentState::DeclinedOnUpload { .. } => label.push_str("  DECLINED"),
                    _ => {}
                }
                let shown = if p.counts() { p.amount } else { Money::ZERO };
                out.money(&label, shown);
                if let Some(card) = &p.card
                    && let Some(code) = &card.auth_code
                {
                    out.text(format!("  Auth {}", code.as_str()));
                }
                if let Some((tendered, change)) = p.cash {
                    out.text(columns(
                        &format!("  Tendered {tendered}"),
                        &format!("Change {change}"),
                    ));
                }
                if !p.tip.is_zero() {
                    out.money("  Tip", p.tip);
                }
            }
            for r in ledger.refunds() {
                let of = ledger
                    .payment(&r.payment)
                    .map(tender_label)
                    .unwrap_or_else(|| "Payment".to_owned());
                out.money(&format!("Refund ({of})"), r.amount.negate());
            }
            out.rule();
            out.money("Paid", ledger.net_paid()?);
            let tips = ledger.tips()?;
            if !tips.is_zero() {
                out.money("Tips", tips);
            }
            let due = check.balance_due()?;
            let due = if due.is_negative() { Money::ZERO } else { due };
            out.add(columns("BALANCE DUE", &due.to_string()), Style::Bold);
        }
        ReceiptCopy::Merchant => {}
    }
    out.rule();
    let label = match copy {
        ReceiptCopy::Guest => "GUEST CHECK",
        ReceiptCopy::Customer => "CUSTOMER COPY",
        ReceiptCopy::Merchant => "MERCHANT COPY",
    };
    out.add(centred(label, WIDTH), Style::Bold);
    out.text(centred("Thank you for coming", WIDTH));
    Ok(Receipt { copy, lines: out.0 })
}

/// The merchant's copy of one card payment: amount, a tip line to write on, a signature line.
fn merchant(
    out: &mut Lines,
    input: &ReceiptInput<'_>,
    payment: Option<&PaymentId>,
) -> Result<(), ReceiptError> {
    let id = payment.ok_or(ReceiptError::NoPayment)?;
    let p = input
        .payments
        .payment(id)
        .filter(|p| p.card.is_some())
        .ok_or_else(|| ReceiptError::UnknownPayment(id.clone()))?;
    out.text(tender_label(p));
    if let Some(code) = p.card.as_ref().and_then(|c| c.auth_code.as_ref()) {
        out.text(format!("Auth {}", code.as_str()));
    } else {
        out.text("Stored offline: authorised on upload".to_owned());
    }
    let amount = match p.state {
        PaymentState::OpenTab { hold } => {
            out.money("Held", hold);
            input.check.balance_due()?
        }
        _ => p.amount,
    };
    out.money("Amount", amount);
    if p.tip.is_zero() {
        out.text(columns("Tip", "__________"));
        out.text(columns("Total", "__________"));
    } else {
        out.money("Tip", p.tip);
        out.add(columns("Total", &p.total()?.to_string()), Style::Bold);
    }
    out.text(String::new());
    out.text(format!("x{}", "_".repeat(WIDTH - 1)));
    out.text(centred("Signature", WIDTH));
    out.rule();
    out.add(centred("MERCHANT COPY", WIDTH), Style::Bold);
    Ok(())
}

impl Receipt {
    /// The lines as printed, for a screen.
    pub fn preview(&self) -> Vec<String> {
        self.lines.iter().map(|l| l.text.clone()).collect()
    }
}

const ESC: u8 = 0x1B;
const GS: u8 = 0x1D;
const LF: u8 = 0x0A;

/// One print job of `receipts`, each ending in a cut (see the module documentation).
pub fn escpos_job(receipts: &[Receipt]) -> Vec<u8> {
    let mut out = vec![ESC, b'@', ESC, b't', 0];
    for receipt in receipts {
        for line in &receipt.lines {
            let text = ascii(&line.text);
            match line.style {
                Style::Normal => {
                    out.extend_from_slice(text.as_bytes());
                    out.push(LF);
                }
                Style::Bold => {
                    out.extend_from_slice(&[ESC, b'E', 1]);
                    out.extend_from_slice(text.as_bytes());
                    out.push(LF);
                    out.extend_from_slice(&[ESC, b'E', 0]);
                }
                Style::Title => {
                    out.extend_from_slice(&[GS, b'!', 0x11, ESC, b'E', 1]);
                    out.extend_from_slice(text.as_bytes());
                    out.push(LF);
                    out.extend_from_slice(&[ESC, b'E', 0, GS, b'!', 0]);
                }
            }
        }
        out.extend_from_slice(&[ESC, b'd', 4, GS, b'V', 66, 0]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_printable_ascii_and_columns_fit() {
        assert_eq!(ascii("Sauté · Crème brûlée"), "Saute - Creme brulee");
        assert_eq!(ascii("日本"), "??");
        let line = columns("1 x A very long item name that goes on and on", "1234.50");
        assert_eq!(line.len(), WIDTH);
        assert!(line.ends_with(" 1234.50"));
        assert_eq!(centred("TOTAL", 11), "   TOTAL");
    }

    #[test]
    fn a_job_is_text_lines_with_styles_and_a_cut_per_copy() {
        let receipt = |copy| Receipt {
            copy,
            lines: vec![
                ReceiptLine {
                    text: "SHOP".into(),
                    style: Style::Title,
                },
                ReceiptLine {
                    text: "TOTAL 1.00".into(),
                    style: Style::Bold,
                },
                ReceiptLine {
                    text: "thanks".into(),
                    style: Style::Normal,
                },
            ],
        };
        let job = escpos_job(&[
            receipt(ReceiptCopy::Customer),
            receipt(ReceiptCopy::Merchant),
        ]);
        let expected_one: Vec<u8> = [
            &[GS, b'!', 0x11, ESC, b'E', 1][..],
            b"SHOP\n",
            &[ESC, b'E', 0, GS, b'!', 0],
            &[ESC, b'E', 1],
            b"TOTAL 1.00\n",
            &[ESC, b'E', 0],
            b"thanks\n",
            &[ESC, b'd', 4, GS, b'V', 66, 0],
        ]
        .concat();
        let expected = [&[ESC, b'@', ESC, b't', 0][..], &expected_one, &expected_one].concat();
        assert_eq!(job, expected);
    }
}
