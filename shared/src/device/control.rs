//! The control socket: a Unix socket beside the device, one JSON request per line, one JSON
//! answer per line. Only processes on the device can reach it (the socket file is 0600).
//!
//! Requests: `{"cmd":"status"}`, `{"cmd":"append","event":{"kind":…,"payload":…}}`,
//! `{"cmd":"clock","set_ms":N}` / `{"cmd":"clock","advance_ms":N}` (controlled clock only),
//! `{"cmd":"wait_for","origin":…,"seq":N,"timeout_ms":N}` (answers once the device holds that
//! event), `{"cmd":"stop"}`. Every answer has `"ok"`; a refusal has `"error"` and changes nothing.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use super::{Shared, lock};
use crate::event::Event;

/// Longest request line accepted.
const MAX_REQUEST_BYTES: usize = 512 * 1024;

pub(crate) fn bind(path: &Path) -> anyhow::Result<UnixListener> {
    if path.exists() {
        // A socket left by a device that died: nobody answers on it, so it can go.
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            anyhow::bail!("{} is in use by a running device", path.display());
        }
        std::fs::remove_file(path)?;
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

pub(crate) async fn serve(listener: UnixListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(connection(stream, Arc::clone(&shared)));
            }
            Err(e) => {
                tracing::warn!(error = %e, "control socket accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

async fn connection(stream: UnixStream, shared: Arc<Shared>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) => return,
            Ok(n) if n > MAX_REQUEST_BYTES => {
                let _ = write
                    .write_all(b"{\"ok\":false,\"error\":\"request too large\"}\n")
                    .await;
                return;
            }
            Ok(_) => {}
            Err(_) => return,
        }
        let answer = handle(&shared, line.trim()).await;
        let mut text = answer.to_string();
        text.push('\n');
        if write.write_all(text.as_bytes()).await.is_err() {
            return;
        }
    }
}

#[derive(Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
enum Request {
    Status,
    Append {
        event: Value,
    },
    Clock {
        set_ms: Option<i64>,
        advance_ms: Option<i64>,
    },
    /// Answers once this device holds `origin` up to `seq`, or after `timeout_ms`.
    WaitFor {
        origin: String,
        seq: u64,
        timeout_ms: u64,
    },
    Stop,
}

fn refuse(error: impl std::fmt::Display) -> Value {
    json!({"ok": false, "error": error.to_string()})
}

async fn handle(shared: &Arc<Shared>, line: &str) -> Value {
    let request: Request = match serde_json::from_str(line) {
        Ok(r) => r,
        Err(e) => return refuse(format!("not a request: {e}")),
    };
    match request {
        Request::Status => status(shared).await,
        Request::Append { event } => {
            let event: Event = match serde_json::from_value(event) {
                Ok(e) => e,
                Err(e) => return refuse(format!("not an event: {e}")),
            };
            let journal = Arc::clone(&shared.journal);
            match tokio::task::spawn_blocking(move || journal.append(&event)).await {
                Ok(Ok(committed)) => {
                    shared.local_changed.notify_one();
                    json!({"ok": true, "seq": committed.seq})
                }
                Ok(Err(e)) => refuse(e),
                Err(e) => refuse(e),
            }
        }
        Request::Clock { set_ms, advance_ms } => {
            let Some(clock) = &shared.manual_clock else {
                return refuse("this device runs on the system clock");
            };
            match (set_ms, advance_ms) {
                (Some(ms), None) => clock.set(ms),
                (None, Some(ms)) if ms >= 0 => clock.advance(ms),
                _ => return refuse("give set_ms, or a non-negative advance_ms"),
            }
            use crate::clock::Clock;
            json!({"ok": true, "now_ms": clock.wall_ms()})
        }
        Request::WaitFor {
            origin,
            seq,
            timeout_ms,
        } => wait_for(shared, &origin, seq, timeout_ms).await,
        Request::Stop => {
            let _ = shared.stop.send(true);
            json!({"ok": true})
        }
    }
}

/// Longest wait a request may ask for.
const MAX_WAIT_MS: u64 = 600_000;

async fn wait_for(shared: &Arc<Shared>, origin: &str, seq: u64, timeout_ms: u64) -> Value {
    let origin: crate::journal::Origin = match origin.parse() {
        Ok(o) => o,
        Err(e) => return refuse(e),
    };
    let mut changes = shared.heads_version.subscribe();
    let deadline =
        tokio::time::Instant::now() + std::time::Duration::from_millis(timeout_ms.min(MAX_WAIT_MS));
    loop {
        // Marked seen before reading, so a change during the read wakes the next wait.
        changes.borrow_and_update();
        let journal = Arc::clone(&shared.journal);
        let held = match tokio::task::spawn_blocking(move || journal.heads()).await {
            Ok(Ok(heads)) => heads.get(&origin).map_or(0, |h| h.seq),
            Ok(Err(e)) => return refuse(e),
            Err(e) => return refuse(e),
        };
        if held >= seq {
            return json!({"ok": true, "seq": held});
        }
        if tokio::time::timeout_at(deadline, changes.changed())
            .await
            .is_err()
        {
            return json!({"ok": false, "error": "timed out", "seq": held});
        }
    }
}

async fn status(shared: &Arc<Shared>) -> Value {
    let journal = Arc::clone(&shared.journal);
    let read = tokio::task::spawn_blocking(move || {
        let heads = journal.heads()?;
        let events = journal
            .read(|c| c.query_row("SELECT COUNT(*) FROM events", [], |r| r.get::<_, i64>(0)))?;
        let set_aside = journal.set_aside_count()?;
        let forks = journal.forks()?.len();
        Ok::<_, crate::journal::JournalError>((heads, events, set_aside, forks))
    })
    .await;
    let (heads, events, set_aside, forks) = match read {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => return refuse(e),
        Err(e) => return refuse(e),
    };
    let now = shared.mono_ms();
    let (unconfirmed, cut_off_since, peers) = {
        let r = lock(&shared.replicator);
        let peers: Vec<String> = r
            .peers(now)
            .into_iter()
            .filter(|p| p.present)
            .map(|p| p.device.to_string())
            .collect();
        (r.unconfirmed(), r.cut_off_since(now), peers)
    };
    let heads: serde_json::Map<String, Value> = heads
        .into_iter()
        .map(|(o, h)| (o.to_string(), json!(h.seq)))
        .collect();
    json!({
        "ok": true,
        "device": shared.device.to_string(),
        "origin": shared.journal.origin().to_string(),
        "heads": heads,
        "events": events,
        "unconfirmed": unconfirmed,
        "cut_off_since": cut_off_since,
        "peers": peers,
        "connected": *lock(&shared.connected),
        "set_aside": set_aside,
        "forks": forks,
    })
}
