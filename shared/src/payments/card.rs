//! The card-terminal driver: a [`PaymentProvider`] speaking the card terminal protocol
//! ([`super::protocol`]) over TCP.
//!
//! Each request goes out on a fresh connection and waits a bounded time for its answer. When
//! the answer does not come (the connection broke, the terminal was slow, the answer was lost on
//! the way) the same request goes out again **with the same key**, up to
//! [`CardTiming::attempts`] times: the terminal does a key's work once, so a payment approved
//! whose answer was lost is found approved on the next attempt and charged once. If no attempt
//! got an answer, the outcome is unknown ([`ProviderError::NoAnswer`]) when any request may have
//! reached the terminal, and nothing was charged ([`ProviderError::Unreachable`]) when none
//! could be sent.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::protocol::{self, Answer, Op, Outcome, Request};
use super::provider::{
    Approval, BatchReport, PaymentProvider, ProviderError, ProviderOp, ProviderReply,
    ProviderRequest, UploadResult,
};
use crate::domain::payment::{AuthCode, CardRef};

/// How long the driver waits, and how often it tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardTiming {
    pub connect: Duration,
    /// How long an answer may take (the guest taps, the network answers).
    pub answer: Duration,
    /// Tries per request, the first included.
    pub attempts: u32,
    /// Pause before the second try; doubled before each later one.
    pub backoff: Duration,
}

impl Default for CardTiming {
    fn default() -> CardTiming {
        CardTiming {
            connect: Duration::from_secs(2),
            answer: Duration::from_secs(60),
            attempts: 3,
            backoff: Duration::from_millis(250),
        }
    }
}

/// A card terminal on the network.
#[derive(Debug, Clone)]
pub struct CardTerminal {
    address: String,
    timing: CardTiming,
}

/// Why one exchange got no answer.
enum Missed {
    /// Nothing went out.
    NotSent(String),
    /// The request may have reached the terminal.
    Lost(String),
}

impl CardTerminal {
    /// A terminal at `address` (`host:port`).
    pub fn new(address: &str, timing: CardTiming) -> CardTerminal {
        CardTerminal {
            address: address.to_owned(),
            timing,
        }
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    fn resolve(&self) -> Result<SocketAddr, String> {
        self.address
            .to_socket_addrs()
            .map_err(|e| format!("{}: {e}", self.address))?
            .next()
            .ok_or_else(|| format!("{}: no address", self.address))
    }

    /// One request and its answer on a fresh connection.
    fn exchange(&self, line: &str) -> Result<String, Missed> {
        let addr = self.resolve().map_err(Missed::NotSent)?;
        let stream = TcpStream::connect_timeout(&addr, self.timing.connect)
            .map_err(|e| Missed::NotSent(format!("{}: {e}", self.address)))?;
        let _ = stream.set_nodelay(true);
        stream
            .set_read_timeout(Some(self.timing.answer))
            .map_err(|e| Missed::NotSent(e.to_string()))?;
        stream
            .set_write_timeout(Some(self.timing.connect))
            .map_err(|e| Missed::NotSent(e.to_string()))?;
        let mut writer = &stream;
        writer
            .write_all(format!("{line}\n").as_bytes())
            .map_err(|e| Missed::Lost(format!("sending: {e}")))?;
        let limit = u64::try_from(protocol::MAX_LINE_BYTES + 1).unwrap_or(u64::MAX);
        let mut reader = BufReader::new((&stream).take(limit));
        let mut answer = String::new();
        match reader.read_line(&mut answer) {
            Ok(0) => Err(Missed::Lost(
                "the connection closed without an answer".to_owned(),
            )),
            Ok(_) if !answer.ends_with('\n') => Err(Missed::Lost(
                "the answer was cut off or too long".to_owned(),
            )),
            Ok(_) => Ok(answer),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Err(Missed::Lost(format!(
                    "no answer within {} s",
                    self.timing.answer.as_secs_f32()
                )))
            }
            Err(e) => Err(Missed::Lost(e.to_string())),
        }
    }
}

fn wire_op(op: &ProviderOp) -> Op {
    match op {
        ProviderOp::Sale {
            amount,
            tip,
            offline,
            ..
        } => Op::Sale {
            amount: *amount,
            tip: *tip,
            offline_cap: offline.cap,
            offline_approved_by: offline.approved_by.as_ref().map(|s| s.to_string()),
        },
        ProviderOp::PreAuth { amount } => Op::PreAuth { amount: *amount },
        ProviderOp::Capture {
            reference,
            amount,
            tip,
        } => Op::Capture {
            reference: reference.clone(),
            amount: *amount,
            tip: *tip,
        },
        ProviderOp::AdjustTip { reference, tip } => Op::Adjust {
            reference: reference.clone(),
            tip: *tip,
        },
        ProviderOp::Refund { reference, amount } => Op::Refund {
            reference: reference.clone(),
            amount: *amount,
        },
        ProviderOp::Uploads => Op::Uploads,
        ProviderOp::BatchClose => Op::BatchClose,
    }
}

/// The provider's reply from a terminal's answer.
fn reply_of(op: &ProviderOp, answer: Answer) -> Result<ProviderReply, ProviderError> {
    let bad = |what: &str| ProviderError::Protocol(format!("{} answer: {what}", op.name()));
    match answer.result {
        Outcome::Declined => {
            return Ok(ProviderReply::Declined {
                code: answer.code.unwrap_or_else(|| "declined".to_owned()),
                message: answer
                    .message
                    .unwrap_or_else(|| "the card terminal declined".to_owned()),
            });
        }
        Outcome::Error => {
            return Err(ProviderError::Refused(format!(
                "the card terminal refused the request: {}",
                answer.message.unwrap_or_default()
            )));
        }
        Outcome::Approved | Outcome::Partial => {}
    }
    match op {
        ProviderOp::Uploads => {
            let uploads = answer.uploads.ok_or_else(|| bad("no uploads"))?;
            let results = uploads
                .into_iter()
                .map(|u| {
                    let outcome = match u.outcome {
                        protocol::UploadOutcome::Approved => {
                            Ok(AuthCode::new(u.auth_code.as_deref().unwrap_or_default())
                                .map_err(|e| bad(&e.to_string()))?)
                        }
                        protocol::UploadOutcome::Declined => {
                            Err(u.reason.unwrap_or_else(|| "declined".to_owned()))
                        }
                    };
                    Ok(UploadResult {
                        reference: u.reference,
                        outcome,
                    })
                })
                .collect::<Result<Vec<_>, ProviderError>>()?;
            Ok(ProviderReply::Uploads(results))
        }
        ProviderOp::BatchClose => {
            let batch = answer.batch.ok_or_else(|| bad("no batch"))?;
            let captures = batch
                .captures
                .iter()
                .map(|c| {
                    c.amount
                        .checked_add(c.tip)
                        .map(|total| (c.reference.clone(), total))
                        .map_err(|e| bad(&e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(ProviderReply::Batch(BatchReport {
                batch: batch.batch,
                count: batch.count,
                captured: batch.captured,
                refunded: batch.refunded,
                captures,
                refunds: batch.refunds.into_iter().map(|r| r.reference).collect(),
            }))
        }
        _ => {
            let card = answer
                .card
                .map(|c| CardRef::new(&c.token, c.brand, &c.last4))
                .transpose()
                .map_err(|e| bad(&e.to_string()))?;
            let auth_code = answer
                .auth_code
                .as_deref()
                .map(AuthCode::new)
                .transpose()
                .map_err(|e| bad(&e.to_string()))?;
            if auth_code.is_none() && !answer.offline {
                return Err(bad("approved without an authorisation code"));
            }
            Ok(ProviderReply::Approved(Approval {
                amount: answer.amount.ok_or_else(|| bad("no amount"))?,
                tip: answer.tip.unwrap_or_default(),
                card,
                auth_code,
                offline: answer.offline,
                partial: answer.result == Outcome::Partial,
                cash: None,
            }))
        }
    }
}

impl PaymentProvider for CardTerminal {
    fn name(&self) -> String {
        format!("card terminal {}", self.address)
    }

    fn submit(&self, request: &ProviderRequest) -> Result<ProviderReply, ProviderError> {
        let wire = Request {
            v: protocol::VERSION,
            key: request.key.to_string(),
            op: wire_op(&request.op),
        };
        let line = serde_json::to_string(&wire)
            .map_err(|e| ProviderError::Protocol(format!("writing the request: {e}")))?;
        let mut sent = false;
        let mut last = String::new();
        let mut pause = self.timing.backoff;
        for attempt in 1..=self.timing.attempts.max(1) {
            if attempt > 1 {
                std::thread::sleep(pause);
                pause = pause.saturating_mul(2);
            }
            match self.exchange(&line) {
                Ok(text) => {
                    let answer: Answer = serde_json::from_str(text.trim()).map_err(|e| {
                        ProviderError::Protocol(format!("the answer is not valid: {e}"))
                    })?;
                    if answer.key != wire.key {
                        return Err(ProviderError::Protocol(format!(
                            "the answer is for another request ({})",
                            answer.key
                        )));
                    }
                    tracing::info!(key = %wire.key, op = wire.op.name(), attempt, result = ?answer.result, "card terminal answered");
                    return reply_of(&request.op, answer);
                }
                Err(Missed::NotSent(e)) => {
                    tracing::warn!(key = %wire.key, attempt, error = %e, "card terminal not reached");
                    last = e;
                }
                Err(Missed::Lost(e)) => {
                    tracing::warn!(key = %wire.key, attempt, error = %e, "no answer from the card terminal; asking again with the same key");
                    sent = true;
                    last = e;
                }
            }
        }
        if sent {
            Err(ProviderError::NoAnswer(last))
        } else {
            Err(ProviderError::Unreachable(last))
        }
    }
}
