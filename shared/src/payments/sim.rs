//! A payment terminal and its card network, simulated: what `card-terminal-sim` runs, as a
//! separate process, for tests, the demo and integrators. It speaks the card terminal protocol
//! ([`super::protocol`]) with realistic behaviour, chosen by the card presented.
//!
//! # Test cards
//!
//! The card "tapped" before a `sale` or `pre_auth` (`{"sim":"tap","card":…}`) decides what
//! happens; with none tapped, the terminal reads 4242 4242 4242 4242.
//!
//! | card number | brand | what happens |
//! |---|---|---|
//! | 4242 4242 4242 4242 | Visa | approved |
//! | 5555 5555 5555 4444 | Mastercard | approved |
//! | 3782 822463 10005 | Amex | approved |
//! | 4000 0000 0000 0002 | Visa | declined (`card_declined`) |
//! | 4000 0000 0000 9995 | Visa | a prepaid card holding 20.00: a larger sale is approved for 20.00 (`partial`, tip dropped); a pre-authorisation above it is declined |
//! | 4000 0000 0000 0119 | Visa | the card network never answers: the terminal gives up after its hold time (`--hold-ms`, default 40 s) and declines with `timeout` |
//! | 4000 0000 0000 0259 | Visa | approved and captured, but the answer to the first request is lost (the connection closes without one); the same key asked again gets the approval |
//! | 4000 0000 0000 0341 | Visa | the issuer declines: declined online; stored offline, it is declined when it is uploaded |
//!
//! Any other Luhn-valid number in a card network's range is approved; anything else is declined
//! (`invalid_card`).
//!
//! # Behaviour
//!
//! - **Idempotency**: a key's work is done once; the same key gets the first answer again
//!   (while the first is still being worked on, the second waits for it). Only the key counts:
//!   the same amount under a new key is a new payment.
//! - **Offline** (`{"sim":"network","online":false}`): a `sale` is stored to forward later, up to
//!   the request's `offline_cap` (amount and tip) unless `offline_approved_by` names a manager;
//!   `pre_auth`, `capture`, `refund` and `batch_close` need the network. When the network comes
//!   back every stored payment is uploaded in order: one stored more than 24 hours earlier (on the
//!   simulator's clock, see `advance`) is declined as expired, a declining card is declined, the
//!   rest are approved; `uploads` tells the outcomes.
//! - **Pre-authorisation**: a hold, captured once for at most 125 % of it (the tip on a tab).
//! - **Tip adjust** on a payment not yet in a batch; **refunds** up to what a payment took;
//!   **batch close** settles every capture and refund since the last batch and reports them.
//!
//! # The request log
//!
//! Every line received is logged as one JSON object per line: `at_ms` (simulator clock),
//! `conn`, `key`, `op`, the `request` as received, the `effect` (`capture`, `hold`,
//! `store_offline`, `decline`, `adjust`, `refund`, `batch`, `uploads`, `status`, `replay`,
//! `error`), the `result`, and `answer`: `sent`, or `dropped` when the answer was lost on
//! purpose. Controls and uploads are logged too. Card numbers are never logged: a tapped card
//! appears as its brand and last four digits.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::protocol::{
    self, Answer, Batch, Capture, Card, Op, Outcome, Refund, Request, SimControl,
};
use crate::domain::Money;
use crate::domain::payment::{
    CardBrand, IdempotencyKey, OFFLINE_EXPIRY_MS, card_brand, is_card_number, mask_card_numbers,
    printable,
};

/// The card read when none was tapped.
pub const DEFAULT_CARD: &str = "4242424242424242";

/// What a prepaid test card holds.
const PREPAID_CENTS: i64 = 2_000;

/// How far a capture may exceed its hold, in percent.
const CAPTURE_OVER_HOLD_PERCENT: i64 = 125;

/// What a card does (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Approve,
    Decline,
    Prepaid,
    Timeout,
    LoseAnswer,
    DeclineOnUpload,
}

fn scenario(pan: &str) -> Scenario {
    match pan {
        "4000000000000002" => Scenario::Decline,
        "4000000000009995" => Scenario::Prepaid,
        "4000000000000119" => Scenario::Timeout,
        "4000000000000259" => Scenario::LoseAnswer,
        "4000000000000341" => Scenario::DeclineOnUpload,
        _ => Scenario::Approve,
    }
}

/// A card as the simulated terminal read it: the number itself is dropped at once.
#[derive(Debug, Clone)]
struct SimCard {
    token: String,
    brand: CardBrand,
    last4: String,
    scenario: Scenario,
}

impl SimCard {
    fn wire(&self) -> Card {
        Card {
            token: self.token.clone(),
            brand: self.brand,
            last4: self.last4.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sale,
    Hold,
    Capture,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TxnState {
    /// Charged, not yet in a batch.
    Captured,
    /// A hold not yet captured.
    Held,
    /// A hold that was captured (the capture is its own transaction).
    HoldCaptured,
    /// Stored while offline, waiting to upload.
    Stored,
    /// Declined when it was uploaded.
    DeclinedOnUpload,
    /// In a batch.
    Settled,
}

#[derive(Debug, Clone)]
struct Txn {
    kind: Kind,
    card: SimCard,
    amount: Money,
    tip: Money,
    refunded: Money,
    state: TxnState,
    at_ms: i64,
    auth_code: Option<String>,
}

#[derive(Debug, Clone)]
struct RefundTxn {
    reference: String,
    of: String,
    amount: Money,
    settled: bool,
}

#[derive(Debug, Default)]
struct State {
    offline: bool,
    offset_ms: i64,
    tapped: Option<String>,
    answers: BTreeMap<String, Answer>,
    busy: BTreeSet<String>,
    txns: BTreeMap<String, Txn>,
    order: Vec<String>,
    refunds: Vec<RefundTxn>,
    uploads: Vec<protocol::Upload>,
    batches: u32,
    auth_codes: u32,
}

/// How the simulator behaves.
#[derive(Debug, Clone, Copy)]
pub struct SimConfig {
    /// How long the terminal waits for a network that never answers before declining.
    pub hold: Duration,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            hold: Duration::from_secs(40),
        }
    }
}

/// What to do with a line's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Send this line.
    Line(String),
    /// Close the connection without answering (an answer lost on the way).
    Drop,
}

/// The simulated terminal. Shared by the connections' threads.
pub struct Simulator {
    state: Mutex<State>,
    done: Condvar,
    log: Mutex<Box<dyn Write + Send>>,
    secret: [u8; 16],
    config: SimConfig,
    connections: AtomicU64,
}

fn system_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Simulator {
    /// A terminal logging to `log`; `secret` keys its card tokens (a new one per run).
    pub fn new(config: SimConfig, log: Box<dyn Write + Send>, secret: [u8; 16]) -> Arc<Simulator> {
        Arc::new(Simulator {
            state: Mutex::new(State::default()),
            done: Condvar::new(),
            log: Mutex::new(log),
            secret,
            config,
            connections: AtomicU64::new(0),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn now_ms(&self, state: &State) -> i64 {
        system_ms().saturating_add(state.offset_ms)
    }

    fn write_log(&self, entry: Value) {
        let mut log = self
            .log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let line = format!("{entry}\n");
        if let Err(e) = log.write_all(line.as_bytes()).and_then(|()| log.flush()) {
            tracing::error!(error = %e, "cannot write the request log");
        }
    }

    /// Serves connections until the listener fails.
    pub fn serve(self: Arc<Self>, listener: TcpListener) -> std::io::Result<()> {
        loop {
            let (stream, _) = listener.accept()?;
            let sim = Arc::clone(&self);
            std::thread::spawn(move || sim.connection(stream));
        }
    }

    fn connection(&self, stream: TcpStream) {
        let conn = self.connections.fetch_add(1, Ordering::SeqCst) + 1;
        let _ = stream.set_nodelay(true);
        let limit = u64::try_from(protocol::MAX_LINE_BYTES + 1).unwrap_or(u64::MAX);
        let Ok(read_half) = stream.try_clone() else {
            return;
        };
        let mut reader = BufReader::new(read_half);
        let mut writer = &stream;
        loop {
            let mut line = String::new();
            match (&mut reader).take(limit).read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(n) if n > protocol::MAX_LINE_BYTES => {
                    let _ = writer.write_all(b"{\"v\":1,\"key\":\"\",\"result\":\"error\",\"message\":\"line too long\"}\n");
                    return;
                }
                Ok(_) => {}
            }
            match self.handle_line(conn, line.trim()) {
                Reply::Line(answer) => {
                    if writer.write_all(format!("{answer}\n").as_bytes()).is_err() {
                        return;
                    }
                }
                Reply::Drop => {
                    let _ = stream.shutdown(std::net::Shutdown::Both);
                    return;
                }
            }
        }
    }

    /// Handles one received line (a request or a control) and says what to answer.
    pub fn handle_line(&self, conn: u64, line: &str) -> Reply {
        let value: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                self.write_log(json!({"at_ms": self.now_ms(&self.state()), "conn": conn,
                    "request": printable(line), "effect": "error", "result": "error"}));
                return Reply::Line(
                    json!({"v": 1, "key": "", "result": "error", "message": format!("not JSON: {e}")})
                        .to_string(),
                );
            }
        };
        if value.get("sim").is_some() {
            return Reply::Line(self.control(conn, value).to_string());
        }
        let request: Request = match serde_json::from_value(value.clone()) {
            Ok(r) => r,
            Err(e) => {
                let key = value.get("key").and_then(Value::as_str).unwrap_or_default();
                let answer = Answer {
                    message: Some(format!("not a request: {e}")),
                    ..Answer::new(&printable(key), Outcome::Error)
                };
                self.log_request(conn, &value, "error", &answer, false);
                return Reply::Line(encode(&answer));
            }
        };
        if request.v != protocol::VERSION || IdempotencyKey::new(&request.key).is_err() {
            let answer = Answer {
                message: Some(
                    "version 1 and a key of 8 to 64 characters of a-z, 0-9 and - are required"
                        .to_owned(),
                ),
                ..Answer::new(&printable(&request.key), Outcome::Error)
            };
            self.log_request(conn, &value, "error", &answer, false);
            return Reply::Line(encode(&answer));
        }
        let mut state = self.state();
        // Once per key: a key already done (or being done) gets the same answer.
        while state.busy.contains(&request.key) {
            state = self
                .done
                .wait_timeout(state, Duration::from_secs(600))
                .map(|(s, _)| s)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        if let Some(answer) = state.answers.get(&request.key).cloned() {
            drop(state);
            self.log_request(conn, &value, "replay", &answer, false);
            return Reply::Line(encode(&answer));
        }
        state.busy.insert(request.key.clone());
        let step = self.process(&mut state, &request);
        let step = match step {
            Step::Now(done) => done,
            Step::After(hold, done) => {
                // The network is slow: wait without holding up other requests.
                drop(state);
                std::thread::sleep(hold);
                state = self.state();
                done
            }
        };
        state
            .answers
            .insert(request.key.clone(), step.answer.clone());
        state.busy.remove(&request.key);
        drop(state);
        self.done.notify_all();
        self.log_request(conn, &value, step.effect, &step.answer, step.drop);
        if step.drop {
            Reply::Drop
        } else {
            Reply::Line(encode(&step.answer))
        }
    }

    fn log_request(
        &self,
        conn: u64,
        request: &Value,
        effect: &str,
        answer: &Answer,
        dropped: bool,
    ) {
        let at_ms = self.now_ms(&self.state());
        // A request never carries a card number; one that does anyway is logged masked.
        let text = mask_card_numbers(&request.to_string());
        let request: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        self.write_log(json!({
            "at_ms": at_ms,
            "conn": conn,
            "key": request.get("key"),
            "op": request.get("op"),
            "request": &request,
            "effect": effect,
            "result": answer.result,
            "code": answer.code,
            "answer": if dropped { "dropped" } else { "sent" },
        }));
    }

    fn control(&self, conn: u64, value: Value) -> Value {
        let control: SimControl = match serde_json::from_value(value) {
            Ok(c) => c,
            Err(e) => return json!({"ok": false, "error": format!("not a control: {e}")}),
        };
        let mut state = self.state();
        let logged = match &control {
            SimControl::Tap { card } => {
                let digits: String = card.chars().filter(char::is_ascii_digit).collect();
                let shown = format!(
                    "{} ....{}",
                    card_brand(&digits).map_or("unknown", CardBrand::as_str),
                    digits
                        .get(digits.len().saturating_sub(4)..)
                        .unwrap_or_default()
                );
                state.tapped = Some(digits);
                json!({"control": "tap", "card": shown})
            }
            SimControl::Network { online } => {
                state.offline = !online;
                if *online {
                    self.upload_stored(&mut state);
                }
                json!({"control": "network", "online": online})
            }
            SimControl::Advance { ms } => {
                if *ms < 0 {
                    return json!({"ok": false, "error": "the clock only moves on"});
                }
                state.offset_ms = state.offset_ms.saturating_add(*ms);
                json!({"control": "advance", "ms": ms})
            }
        };
        let mut entry = logged;
        entry["at_ms"] = json!(self.now_ms(&state));
        entry["conn"] = json!(conn);
        drop(state);
        self.write_log(entry);
        json!({"ok": true})
    }

    /// The network is back: every stored payment is uploaded, in order.
    fn upload_stored(&self, state: &mut State) {
        let now = self.now_ms(state);
        let stored: Vec<String> = state
            .order
            .iter()
            .filter(|r| {
                state
                    .txns
                    .get(*r)
                    .is_some_and(|t| t.state == TxnState::Stored)
            })
            .cloned()
            .collect();
        for reference in stored {
            state.auth_codes += 1;
            let code = format!("A{:05}", state.auth_codes);
            let Some(txn) = state.txns.get_mut(&reference) else {
                continue;
            };
            let upload = if now.saturating_sub(txn.at_ms) > OFFLINE_EXPIRY_MS {
                txn.state = TxnState::DeclinedOnUpload;
                protocol::Upload {
                    reference: reference.clone(),
                    outcome: protocol::UploadOutcome::Declined,
                    auth_code: None,
                    reason: Some("expired: not uploaded within 24 hours".to_owned()),
                }
            } else if matches!(
                txn.card.scenario,
                Scenario::Decline | Scenario::DeclineOnUpload
            ) {
                txn.state = TxnState::DeclinedOnUpload;
                protocol::Upload {
                    reference: reference.clone(),
                    outcome: protocol::UploadOutcome::Declined,
                    auth_code: None,
                    reason: Some("card declined by the issuer".to_owned()),
                }
            } else {
                txn.state = TxnState::Captured;
                txn.auth_code = Some(code.clone());
                protocol::Upload {
                    reference: reference.clone(),
                    outcome: protocol::UploadOutcome::Approved,
                    auth_code: Some(code),
                    reason: None,
                }
            };
            self.write_log(
                json!({"at_ms": now, "event": "upload", "reference": reference,
                "outcome": upload.outcome, "reason": upload.reason}),
            );
            state.uploads.push(upload);
        }
    }

    fn token(&self, pan: &str) -> String {
        const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyzABCDEFGH";
        let mut hash = Sha256::new();
        hash.update(self.secret);
        hash.update(pan.as_bytes());
        let digest = hash.finalize();
        let spelled: String = digest
            .iter()
            .take(20)
            .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
            .collect();
        format!("tok_{spelled}")
    }

    /// Reads the card presented for a card-present request (the tap is used up); `None` when
    /// it is not a card number.
    fn read_card(&self, state: &mut State) -> Option<SimCard> {
        let pan = state
            .tapped
            .take()
            .unwrap_or_else(|| DEFAULT_CARD.to_owned());
        let brand = card_brand(&pan).filter(|_| is_card_number(&pan));
        let brand = brand?;
        Some(SimCard {
            token: self.token(&pan),
            brand,
            last4: pan.get(pan.len() - 4..).unwrap_or_default().to_owned(),
            scenario: scenario(&pan),
        })
    }

    fn auth_code(state: &mut State) -> String {
        state.auth_codes += 1;
        format!("A{:05}", state.auth_codes)
    }

    fn process(&self, state: &mut State, request: &Request) -> Step {
        let key = request.key.as_str();
        let now = self.now_ms(state);
        let declined = |code: &str, message: &str| {
            Step::Now(Done::new(Answer::declined(key, code, message), "decline"))
        };
        let approved = |txn: &Txn, reference: &str, effect: &'static str| {
            Done::new(
                Answer {
                    amount: Some(txn.amount),
                    tip: Some(txn.tip),
                    card: Some(txn.card.wire()),
                    auth_code: txn.auth_code.clone(),
                    offline: txn.state == TxnState::Stored,
                    ..Answer::new(reference, Outcome::Approved)
                },
                effect,
            )
        };
        let bad_amount = |a: Money, positive: bool| a.is_negative() || (positive && a.is_zero());
        match &request.op {
            Op::Sale {
                amount,
                tip,
                offline_cap,
                offline_approved_by,
            } => {
                if bad_amount(*amount, true) || bad_amount(*tip, false) {
                    return declined("invalid_amount", "the amount must be more than zero");
                }
                let Some(card) = self.read_card(state) else {
                    return declined("invalid_card", "the card could not be read");
                };
                let total = amount.checked_add(*tip).unwrap_or(*amount);
                let mut txn = Txn {
                    kind: Kind::Sale,
                    card,
                    amount: *amount,
                    tip: *tip,
                    refunded: Money::ZERO,
                    state: TxnState::Captured,
                    at_ms: now,
                    auth_code: None,
                };
                if state.offline {
                    if total > *offline_cap && offline_approved_by.is_none() {
                        return declined(
                            "offline_cap",
                            &format!(
                                "the card network is out of reach and {total} is over the offline cap of {offline_cap}: a manager must approve"
                            ),
                        );
                    }
                    txn.state = TxnState::Stored;
                    let done = approved(&txn, key, "store_offline");
                    state.txns.insert(key.to_owned(), txn);
                    state.order.push(key.to_owned());
                    return Step::Now(done);
                }
                match txn.card.scenario {
                    Scenario::Decline | Scenario::DeclineOnUpload => {
                        declined("card_declined", "the card was declined by its issuer")
                    }
                    Scenario::Timeout => Step::After(
                        self.config.hold,
                        Done::new(
                            Answer::declined(
                                key,
                                "timeout",
                                "the card network did not answer: nothing was charged",
                            ),
                            "decline",
                        ),
                    ),
                    scenario => {
                        let prepaid = Money::from_minor(PREPAID_CENTS);
                        let partial = scenario == Scenario::Prepaid && total > prepaid;
                        if partial {
                            txn.amount = (*amount).min(prepaid);
                            txn.tip = Money::ZERO;
                        }
                        txn.auth_code = Some(Simulator::auth_code(state));
                        let mut done = approved(&txn, key, "capture");
                        if partial {
                            done.answer.result = Outcome::Partial;
                        }
                        done.drop = scenario == Scenario::LoseAnswer;
                        state.txns.insert(key.to_owned(), txn);
                        state.order.push(key.to_owned());
                        Step::Now(done)
                    }
                }
            }
            Op::PreAuth { amount } => {
                if bad_amount(*amount, true) {
                    return declined("invalid_amount", "the amount must be more than zero");
                }
                if state.offline {
                    return declined("offline", "a pre-authorisation needs the card network");
                }
                let Some(card) = self.read_card(state) else {
                    return declined("invalid_card", "the card could not be read");
                };
                match card.scenario {
                    Scenario::Decline | Scenario::DeclineOnUpload => {
                        declined("card_declined", "the card was declined by its issuer")
                    }
                    Scenario::Prepaid if *amount > Money::from_minor(PREPAID_CENTS) => {
                        declined("card_declined", "insufficient funds for the hold")
                    }
                    Scenario::Timeout => Step::After(
                        self.config.hold,
                        Done::new(
                            Answer::declined(
                                key,
                                "timeout",
                                "the card network did not answer: nothing was held",
                            ),
                            "decline",
                        ),
                    ),
                    scenario => {
                        let txn = Txn {
                            kind: Kind::Hold,
                            card,
                            amount: *amount,
                            tip: Money::ZERO,
                            refunded: Money::ZERO,
                            state: TxnState::Held,
                            at_ms: now,
                            auth_code: Some(Simulator::auth_code(state)),
                        };
                        let mut done = approved(&txn, key, "hold");
                        done.drop = scenario == Scenario::LoseAnswer;
                        state.txns.insert(key.to_owned(), txn);
                        state.order.push(key.to_owned());
                        Step::Now(done)
                    }
                }
            }
            Op::Capture {
                reference,
                amount,
                tip,
            } => {
                if bad_amount(*amount, false) || bad_amount(*tip, false) {
                    return declined("invalid_amount", "amounts may not be negative");
                }
                if state.offline {
                    return declined("offline", "a capture needs the card network");
                }
                let Some(hold) = state.txns.get(reference).cloned() else {
                    return declined("unknown_reference", "no such hold");
                };
                if hold.kind != Kind::Hold || hold.state != TxnState::Held {
                    return declined("unknown_reference", "not an open hold");
                }
                let total = amount.checked_add(*tip).unwrap_or(*amount);
                let limit = hold
                    .amount
                    .checked_mul_rounded(rust_decimal::Decimal::new(CAPTURE_OVER_HOLD_PERCENT, 2))
                    .unwrap_or(hold.amount);
                if total > limit {
                    return declined(
                        "over_authorised",
                        &format!("{total} is more than the {limit} the hold allows"),
                    );
                }
                if let Some(h) = state.txns.get_mut(reference) {
                    h.state = TxnState::HoldCaptured;
                }
                let txn = Txn {
                    kind: Kind::Capture,
                    card: hold.card,
                    amount: *amount,
                    tip: *tip,
                    refunded: Money::ZERO,
                    state: TxnState::Captured,
                    at_ms: now,
                    auth_code: Some(Simulator::auth_code(state)),
                };
                let done = approved(&txn, key, "capture");
                state.txns.insert(key.to_owned(), txn);
                state.order.push(key.to_owned());
                Step::Now(done)
            }
            Op::Adjust { reference, tip } => {
                if bad_amount(*tip, false) {
                    return declined("invalid_amount", "a tip may not be negative");
                }
                let Some(txn) = state.txns.get_mut(reference) else {
                    return declined("unknown_reference", "no such payment");
                };
                if txn.kind == Kind::Hold {
                    return declined("unknown_reference", "a hold has no tip: capture it");
                }
                match txn.state {
                    TxnState::Captured | TxnState::Stored => {}
                    TxnState::Settled => {
                        return declined("settled", "the payment is already in a batch");
                    }
                    _ => return declined("unknown_reference", "the payment was not taken"),
                }
                txn.tip = *tip;
                let txn = txn.clone();
                Step::Now(approved(&txn, key, "adjust"))
            }
            Op::Refund { reference, amount } => {
                if bad_amount(*amount, true) {
                    return declined("invalid_amount", "the amount must be more than zero");
                }
                if state.offline {
                    return declined("offline", "a refund needs the card network");
                }
                let code = Simulator::auth_code(state);
                let Some(txn) = state.txns.get_mut(reference) else {
                    return declined("unknown_reference", "no such payment");
                };
                if txn.kind == Kind::Hold
                    || !matches!(txn.state, TxnState::Captured | TxnState::Settled)
                {
                    return declined("unknown_reference", "the payment was not taken");
                }
                let left = txn
                    .amount
                    .checked_add(txn.tip)
                    .and_then(|t| t.checked_sub(txn.refunded))
                    .unwrap_or(Money::ZERO);
                if *amount > left {
                    return declined(
                        "refund_too_large",
                        &format!("only {left} is left to refund"),
                    );
                }
                txn.refunded = txn.refunded.checked_add(*amount).unwrap_or(txn.refunded);
                let card = txn.card.wire();
                state.refunds.push(RefundTxn {
                    reference: key.to_owned(),
                    of: reference.clone(),
                    amount: *amount,
                    settled: false,
                });
                Step::Now(Done::new(
                    Answer {
                        amount: Some(*amount),
                        tip: Some(Money::ZERO),
                        card: Some(card),
                        auth_code: Some(code),
                        ..Answer::new(key, Outcome::Approved)
                    },
                    "refund",
                ))
            }
            Op::Uploads => Step::Now(Done::new(
                Answer {
                    uploads: Some(state.uploads.clone()),
                    ..Answer::new(key, Outcome::Approved)
                },
                "uploads",
            )),
            Op::BatchClose => {
                if state.offline {
                    return declined("offline", "a batch close needs the card network");
                }
                if state.txns.values().any(|t| t.state == TxnState::Stored) {
                    return declined(
                        "offline_pending",
                        "payments stored offline are still waiting to upload",
                    );
                }
                let mut captures = Vec::new();
                for reference in &state.order {
                    if let Some(txn) = state.txns.get_mut(reference)
                        && txn.state == TxnState::Captured
                    {
                        txn.state = TxnState::Settled;
                        captures.push(Capture {
                            reference: reference.clone(),
                            amount: txn.amount,
                            tip: txn.tip,
                        });
                    }
                }
                let mut refunds = Vec::new();
                for refund in state.refunds.iter_mut().filter(|r| !r.settled) {
                    refund.settled = true;
                    refunds.push(Refund {
                        reference: refund.reference.clone(),
                        of: refund.of.clone(),
                        amount: refund.amount,
                    });
                }
                state.batches += 1;
                let captured = Money::sum(
                    captures
                        .iter()
                        .map(|c| c.amount.checked_add(c.tip).unwrap_or(c.amount)),
                )
                .unwrap_or(Money::ZERO);
                let refunded = Money::sum(refunds.iter().map(|r| r.amount)).unwrap_or(Money::ZERO);
                let count = u32::try_from(captures.len() + refunds.len()).unwrap_or(u32::MAX);
                let batch = Batch {
                    batch: format!("B{:04}", state.batches),
                    count,
                    captured,
                    refunded,
                    captures,
                    refunds,
                };
                Step::Now(Done::new(
                    Answer {
                        batch: Some(batch),
                        ..Answer::new(key, Outcome::Approved)
                    },
                    "batch",
                ))
            }
            Op::Status => {
                let stored = state
                    .txns
                    .values()
                    .filter(|t| t.state == TxnState::Stored)
                    .count();
                Step::Now(Done::new(
                    Answer {
                        online: Some(!state.offline),
                        stored: Some(u32::try_from(stored).unwrap_or(u32::MAX)),
                        ..Answer::new(key, Outcome::Approved)
                    },
                    "status",
                ))
            }
        }
    }
}

fn encode(answer: &Answer) -> String {
    serde_json::to_string(answer).unwrap_or_else(|e| {
        json!({"v": 1, "key": "", "result": "error", "message": e.to_string()}).to_string()
    })
}

/// A request's outcome.
struct Done {
    answer: Answer,
    effect: &'static str,
    /// Lose the answer (close the connection without it).
    drop: bool,
}

impl Done {
    fn new(answer: Answer, effect: &'static str) -> Done {
        Done {
            answer,
            effect,
            drop: false,
        }
    }
}

/// Now, or after the network kept the terminal waiting.
enum Step {
    Now(Done),
    After(Duration, Done),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log sink the test can read.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Sink {
        fn entries(&self) -> Vec<Value> {
            let bytes = self.0.lock().expect("log").clone();
            String::from_utf8(bytes)
                .expect("utf-8")
                .lines()
                .map(|l| serde_json::from_str(l).expect("a JSON line"))
                .collect()
        }
    }

    fn sim() -> (Arc<Simulator>, Sink) {
        let sink = Sink::default();
        let config = SimConfig {
            hold: Duration::from_millis(10),
        };
        (
            Simulator::new(config, Box::new(sink.clone()), [9; 16]),
            sink,
        )
    }

    fn ask(sim: &Simulator, line: Value) -> Option<Answer> {
        match sim.handle_line(1, &line.to_string()) {
            Reply::Line(text) => Some(serde_json::from_str(&text).expect("an answer")),
            Reply::Drop => None,
        }
    }

    fn sale(key: &str, amount: &str) -> Value {
        json!({"v": 1, "key": key, "op": "sale", "amount": amount, "tip": "0.00", "offline_cap": "100.00"})
    }

    fn tap(sim: &Simulator, card: &str) {
        let answer = sim.handle_line(1, &json!({"sim": "tap", "card": card}).to_string());
        assert_eq!(answer, Reply::Line(json!({"ok": true}).to_string()));
    }

    #[test]
    fn each_test_card_does_what_its_row_says() {
        let (sim, _) = sim();
        let result = |a: &Option<Answer>| a.as_ref().map(|a| (a.result, a.code.clone()));
        let a = ask(&sim, sale("k-approve-1", "30.00"));
        assert_eq!(result(&a), Some((Outcome::Approved, None)));
        assert!(a.as_ref().and_then(|a| a.auth_code.clone()).is_some());
        tap(&sim, "4000000000000002");
        let a = ask(&sim, sale("k-decline-1", "30.00"));
        assert_eq!(
            result(&a),
            Some((Outcome::Declined, Some("card_declined".into())))
        );
        tap(&sim, "4000000000009995");
        let a = ask(&sim, sale("k-partial-1", "30.00")).expect("answer");
        assert_eq!(
            (a.result, a.amount),
            (Outcome::Partial, Some(Money::from_minor(2000)))
        );
        tap(&sim, "4000000000000119");
        let a = ask(&sim, sale("k-timeout-1", "30.00"));
        assert_eq!(
            result(&a),
            Some((Outcome::Declined, Some("timeout".into())))
        );
        tap(&sim, "4000000000000259");
        assert_eq!(
            ask(&sim, sale("k-lost-1", "30.00")),
            None,
            "the answer is lost"
        );
        let again = ask(&sim, sale("k-lost-1", "30.00")).expect("answered the second time");
        assert_eq!(again.result, Outcome::Approved);
        tap(&sim, "1234567812345678");
        let a = ask(&sim, sale("k-bad-card-1", "30.00"));
        assert_eq!(
            result(&a),
            Some((Outcome::Declined, Some("invalid_card".into())))
        );
    }

    #[test]
    fn a_key_is_done_once_and_the_log_shows_every_request() {
        let (sim, sink) = sim();
        let first = ask(&sim, sale("k-twice-1", "12.00"));
        tap(&sim, "4000000000000002");
        let second = ask(&sim, sale("k-twice-1", "99.00"));
        assert_eq!(first, second, "the same key gets the first answer");
        let log = sink.entries();
        let effects: Vec<&str> = log
            .iter()
            .filter(|e| e["key"] == "k-twice-1")
            .filter_map(|e| e["effect"].as_str())
            .collect();
        assert_eq!(effects, ["capture", "replay"]);
        // A request that carries a card number anyway is logged masked.
        let mut careless = sale("k-careless-1", "5.00");
        careless["note"] = json!("card 4242 4242 4242 4242");
        ask(&sim, careless);
        let text = String::from_utf8(sink.0.lock().expect("log").clone()).expect("utf-8");
        assert!(
            !text.contains("4000000000000002") && !text.contains("4242 4242"),
            "no card number in the log"
        );
        assert!(text.contains("card [card number]"), "{text}");
    }

    #[test]
    fn offline_payments_respect_the_cap_and_upload_when_the_network_returns() {
        let (sim, _) = sim();
        let network = |online: bool| {
            sim.handle_line(1, &json!({"sim": "network", "online": online}).to_string())
        };
        network(false);
        let over = ask(&sim, sale("k-offline-1", "150.00")).expect("answer");
        assert_eq!(over.code.as_deref(), Some("offline_cap"));
        let mut approved = sale("k-offline-2", "150.00");
        approved["offline_approved_by"] = json!("maria");
        let stored = ask(&sim, approved).expect("answer");
        assert!(stored.offline && stored.auth_code.is_none());
        tap(&sim, "4000000000000341");
        let declining = ask(&sim, sale("k-offline-3", "40.00")).expect("answer");
        assert!(declining.offline);
        let old = ask(&sim, sale("k-offline-4", "10.00")).expect("answer");
        assert!(old.offline);
        let batch = ask(
            &sim,
            json!({"v": 1, "key": "k-batch-1", "op": "batch_close"}),
        );
        assert_eq!(batch.and_then(|b| b.code), Some("offline".into()));
        sim.handle_line(1, &json!({"sim": "advance", "ms": 1_000}).to_string());
        network(true);
        let uploads = ask(&sim, json!({"v": 1, "key": "k-uploads-1", "op": "uploads"}))
            .and_then(|a| a.uploads)
            .expect("uploads");
        let outcomes: Vec<(&str, protocol::UploadOutcome)> = uploads
            .iter()
            .map(|u| (u.reference.as_str(), u.outcome))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("k-offline-2", protocol::UploadOutcome::Approved),
                ("k-offline-3", protocol::UploadOutcome::Declined),
                ("k-offline-4", protocol::UploadOutcome::Approved),
            ]
        );
    }

    #[test]
    fn a_stored_payment_older_than_a_day_expires_on_upload() {
        let (sim, _) = sim();
        sim.handle_line(1, &json!({"sim": "network", "online": false}).to_string());
        ask(&sim, sale("k-old-sale-1", "10.00"));
        sim.handle_line(
            1,
            &json!({"sim": "advance", "ms": OFFLINE_EXPIRY_MS + 1}).to_string(),
        );
        sim.handle_line(1, &json!({"sim": "network", "online": true}).to_string());
        let uploads = ask(&sim, json!({"v": 1, "key": "k-uploads-2", "op": "uploads"}))
            .and_then(|a| a.uploads)
            .expect("uploads");
        assert_eq!(uploads[0].outcome, protocol::UploadOutcome::Declined);
        assert!(
            uploads[0]
                .reason
                .as_deref()
                .is_some_and(|r| r.contains("expired"))
        );
    }

    #[test]
    fn a_tab_is_held_captured_within_its_limit_adjusted_refunded_and_batched() {
        let (sim, _) = sim();
        let hold = ask(
            &sim,
            json!({"v": 1, "key": "k-tab-hold", "op": "pre_auth", "amount": "40.00"}),
        )
        .expect("hold");
        assert_eq!(hold.result, Outcome::Approved);
        let over = ask(
            &sim,
            json!({"v": 1, "key": "k-tab-cap1", "op": "capture",
            "reference": "k-tab-hold", "amount": "45.00", "tip": "10.00"}),
        )
        .expect("answer");
        assert_eq!(over.code.as_deref(), Some("over_authorised"));
        let capture = ask(
            &sim,
            json!({"v": 1, "key": "k-tab-cap2", "op": "capture",
            "reference": "k-tab-hold", "amount": "32.10", "tip": "0.00"}),
        )
        .expect("answer");
        assert_eq!(capture.result, Outcome::Approved);
        let adjust = ask(
            &sim,
            json!({"v": 1, "key": "k-tab-adj1", "op": "adjust",
            "reference": "k-tab-cap2", "tip": "6.00"}),
        )
        .expect("answer");
        assert_eq!(adjust.tip, Some(Money::from_minor(600)));
        let refund = ask(
            &sim,
            json!({"v": 1, "key": "k-tab-ref1", "op": "refund",
            "reference": "k-tab-cap2", "amount": "50.00"}),
        )
        .expect("answer");
        assert_eq!(refund.code.as_deref(), Some("refund_too_large"));
        let refund = ask(
            &sim,
            json!({"v": 1, "key": "k-tab-ref2", "op": "refund",
            "reference": "k-tab-cap2", "amount": "5.00"}),
        )
        .expect("answer");
        assert_eq!(refund.result, Outcome::Approved);
        let batch = ask(
            &sim,
            json!({"v": 1, "key": "k-batch-2", "op": "batch_close"}),
        )
        .and_then(|a| a.batch)
        .expect("batch");
        assert_eq!(batch.captured, Money::from_minor(3810));
        assert_eq!(batch.refunded, Money::from_minor(500));
        let late = ask(
            &sim,
            json!({"v": 1, "key": "k-tab-adj2", "op": "adjust",
            "reference": "k-tab-cap2", "tip": "7.00"}),
        )
        .expect("answer");
        assert_eq!(late.code.as_deref(), Some("settled"));
    }
}
