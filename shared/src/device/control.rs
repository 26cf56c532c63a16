//! The control socket: a Unix socket beside the device, one JSON request per line, one JSON
//! answer per line. Only processes on the device can reach it (the socket file is 0600).
//!
//! Requests: `{"cmd":"status"}`, `{"cmd":"append","event":{"kind":…,"payload":…}}`,
//! `{"cmd":"clock","set_ms":N}` / `{"cmd":"clock","advance_ms":N}` (controlled clock only),
//! `{"cmd":"wait_for","origin":…,"seq":N,"timeout_ms":N}` (answers once the device holds that
//! event), `{"cmd":"stop"}`, `{"cmd":"payment","request":{"op":…}}` (a terminal's payments, see
//! [`crate::payments::PaymentCommand`]). Every answer has `"ok"`; a refusal has `"error"` and changes nothing.
//!
//! A kitchen screen answers `{"cmd":"kitchen","op":"list"|"recall_list"|"act",…}`; `list` gives
//! the board of every page, the all-day counts and the items running low that its stations cook
//! (`low_stock`: item, name, portions left, stations; expo: every one). An order
//! terminal answers `{"cmd":"terminal","op":…}`, doing exactly what its screen does:
//! `"act"` carries out `"intent"` (an [`crate::terminal::Intent`]) and answers its outcome;
//! `"view"` gives the whole screen, `"floor"` the floor plan, `"check"` a check (by `"check"` id
//! or `"table"`), `"menu"` the menu panel (`"category"`), `"find"` the open check at `"table"`.
//! Any of them may carry `"pin"`: that person signs in first (a wrong PIN counts against the
//! terminal's back-off like any other). Seeing anything but the sign-in screen needs someone
//! signed in.
//!
//! The status answer says which broker the device uses (`broker`: its `url`, how it came to it
//! — `source`: configured, remembered, advertised or hosted —, the MQTT version, how long after
//! start it first connected, and the embedded broker it hosts, if any, with its process id),
//! and counts the peers' envelopes this run has accepted into the journal by the
//! path they came: `received_live` (published live on `ev/…`) and `received_by_pull` (answers
//! to this device's pulls on `sync/…`); an envelope held for a gap counts once released, on the
//! path of the message that released it.
//!
//! ## Fault hook (tests only)
//!
//! `PASS_FAULT=abort-after-commit:N` in the device's environment makes the process abort
//! (`std::process::abort()`, no clean-up, no answer) right after its `N`th local append of this
//! run is committed and before replication hears of it, so that event is committed but never
//! published live: the cross-process tests use it to show it still reaches every peer (by pull)
//! after a restart. The variable is read once at start-up ([`Fault::from_env`]); an unknown value
//! stops the device from starting. Nothing received over the control socket or the network can
//! arm, change or trigger it. A store never sets it.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use super::{Shared, lock};
use crate::event::Event;

/// The environment variable of the test-only fault hook (see the module documentation).
pub(crate) const FAULT_VAR: &str = "PASS_FAULT";

/// A fault a test injects through [`FAULT_VAR`]; test-only, read once at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Abort right after the `n`th (from 1) local append of this run is committed, before
    /// replication is told of it.
    AbortAfterCommit(u64),
}

impl Fault {
    /// The fault [`FAULT_VAR`] asks for: `None` when it is unset or empty, an error when it is
    /// set to anything but a known fault.
    pub(crate) fn from_env() -> anyhow::Result<Option<Fault>> {
        match std::env::var(FAULT_VAR) {
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(e) => anyhow::bail!("{FAULT_VAR}: {e}"),
            Ok(text) => Fault::parse(&text).map_err(|e| anyhow::anyhow!("{FAULT_VAR}: {e}")),
        }
    }

    fn parse(text: &str) -> Result<Option<Fault>, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let n = text
            .strip_prefix("abort-after-commit:")
            .ok_or_else(|| format!("`{text}`: the known fault is abort-after-commit:N"))?;
        match n.parse::<u64>() {
            Ok(n) if n > 0 => Ok(Some(Fault::AbortAfterCommit(n))),
            _ => Err(format!("`{text}`: N is a whole number from 1")),
        }
    }
}

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
    /// A kitchen screen's tickets: `list`, `recall_list`, or `act` with a kitchen action.
    Kitchen {
        op: KitchenOp,
        #[serde(default)]
        action: Option<crate::kitchen::actions::KitchenAction>,
    },
    /// A terminal's payments: take cash or a card, tabs, tips, refunds, uploads, the card
    /// batch, the cash drawer, receipts (see [`crate::payments::PaymentCommand`]).
    Payment {
        request: crate::payments::PaymentCommand,
    },
    /// An order terminal's screens and intents (see the module documentation).
    Terminal {
        op: TerminalOp,
        #[serde(default)]
        intent: Option<crate::terminal::Intent>,
        #[serde(default)]
        pin: Option<String>,
        #[serde(default)]
        check: Option<String>,
        #[serde(default)]
        table: Option<String>,
        #[serde(default)]
        category: Option<String>,
    },
}

#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum TerminalOp {
    /// Carry out `intent`.
    Act,
    /// The whole screen as it is now.
    View,
    Floor,
    /// A check, by id or table.
    Check,
    Menu,
    /// The open check at a table.
    Find,
}

/// One terminal request, as read from the socket.
struct TerminalRequest {
    op: TerminalOp,
    intent: Option<crate::terminal::Intent>,
    pin: Option<String>,
    check: Option<String>,
    table: Option<String>,
    category: Option<String>,
}

#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum KitchenOp {
    /// The board as this screen shows it (every page).
    List,
    /// Recently bumped tickets that can be recalled.
    RecallList,
    /// Carry out `action`.
    Act,
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
                    let n = shared.appends.fetch_add(1, Ordering::SeqCst) + 1;
                    if shared.fault == Some(Fault::AbortAfterCommit(n)) {
                        tracing::error!(
                            seq = committed.seq,
                            "{FAULT_VAR}: aborting after append {n} was committed, before replication hears of it"
                        );
                        std::process::abort();
                    }
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
        Request::Payment { request } => {
            let handle = super::DeviceHandle {
                shared: Arc::clone(shared),
            };
            let done = tokio::task::spawn_blocking(move || {
                crate::payments::device::handle(&handle, request)
            })
            .await;
            match done {
                Ok(Ok(v)) => v,
                Ok(Err(e)) => refuse(e),
                Err(e) => refuse(e),
            }
        }
        Request::Terminal {
            op,
            intent,
            pin,
            check,
            table,
            category,
        } => {
            let handle = super::DeviceHandle {
                shared: Arc::clone(shared),
            };
            let request = TerminalRequest {
                op,
                intent,
                pin,
                check,
                table,
                category,
            };
            match tokio::task::spawn_blocking(move || terminal(&handle, request)).await {
                Ok(Ok(v)) => v,
                Ok(Err(e)) => refuse(e),
                Err(e) => refuse(e),
            }
        }
        Request::Kitchen { op, action } => {
            let handle = super::DeviceHandle {
                shared: Arc::clone(shared),
            };
            match tokio::task::spawn_blocking(move || kitchen(&handle, op, action)).await {
                Ok(Ok(v)) => v,
                Ok(Err(e)) => refuse(e),
                Err(e) => refuse(e),
            }
        }
    }
}

/// Answers a kitchen request on the device's own station(s), as its screen would.
fn kitchen(
    handle: &super::DeviceHandle,
    op: KitchenOp,
    action: Option<crate::kitchen::actions::KitchenAction>,
) -> Result<Value, String> {
    use crate::kitchen::{board, cards};
    let settings = handle
        .kitchen_settings()
        .ok_or("this device is not a kitchen screen")?;
    let now = handle.now_ms();
    match (op, action) {
        (KitchenOp::Act, Some(action)) => {
            let seq = handle.act(&action)?;
            Ok(json!({"ok": true, "seq": seq}))
        }
        (KitchenOp::Act, None) => Err("act needs an action".to_owned()),
        (_, Some(_)) => Err("only act takes an action".to_owned()),
        (KitchenOp::List, None) => {
            let stations = settings.stations();
            let expo = settings.station == crate::kitchen::EXPO;
            let (board, all_day, median, low_stock) = handle
                .journal()
                .read(|db| {
                    let low_stock = cards::low_stock(db, &stations)?;
                    let input = board::BoardInput {
                        station: &settings.station,
                        taken_over: &settings.taken_over,
                        timers: &settings.timers,
                        grid: settings.layout,
                        now_ms: now,
                        page: 0,
                    };
                    if expo {
                        let tickets = cards::expo_tickets(db)?;
                        Ok((
                            board::expo_board(&input, &tickets),
                            Vec::new(),
                            None,
                            low_stock,
                        ))
                    } else {
                        let open = cards::open_tickets(db, &stations)?;
                        Ok((
                            board::station_board(&input, &open),
                            cards::all_day(&open),
                            cards::median_last_hour_ms(db, &stations, now)?,
                            low_stock,
                        ))
                    }
                })
                .map_err(|e| e.to_string())?;
            let cards: Vec<Value> = board
                .pages
                .iter()
                .enumerate()
                .flat_map(|(page, placed)| {
                    placed.iter().map(move |p| {
                        let c = &p.card;
                        json!({
                            "page": page + 1, "slot": p.slot, "key": c.key, "check": c.check,
                            "course": c.course, "station": c.station, "number": c.number,
                            "place": c.place, "server": c.server, "band": c.band,
                            "status": c.status_text(), "rush": c.rush, "held": c.held,
                            "taken_over": c.taken_over,
                            "lines": c.lines.iter().map(|l| json!({"text": l.text, "style": l.style, "line": l.line})).collect::<Vec<_>>(),
                        })
                    })
                })
                .collect();
            Ok(json!({
                "ok": true,
                "station": settings.station,
                "stations": stations,
                "pages": board.page_count(),
                "cards": cards,
                "all_day": all_day,
                "median_last_hour_ms": median,
                "low_stock": low_stock,
            }))
        }
        (KitchenOp::RecallList, None) => {
            let recall = handle
                .journal()
                .read(|db| cards::recently_bumped(db, &settings.stations(), now))
                .map_err(|e| e.to_string())?;
            let rows: Vec<Value> = recall
                .iter()
                .map(|c| json!({"ticket": c.ticket, "number": c.number, "station": c.station, "bumped_ms": c.bumped_ms}))
                .collect();
            Ok(json!({"ok": true, "recall": rows}))
        }
    }
}

/// Answers a terminal request as its screen would.
fn terminal(handle: &super::DeviceHandle, request: TerminalRequest) -> Result<Value, String> {
    use crate::terminal::{Intent, Terminal, TerminalError};
    let TerminalRequest {
        op,
        intent,
        pin,
        check,
        table,
        category,
    } = request;
    let answer = |terminal: &mut Terminal,
                  host: &super::DeviceHandle|
     -> Result<Value, TerminalError> {
        if let Some(pin) = pin {
            terminal.apply(host, Intent::SignIn { pin })?;
        }
        let found = |terminal: &mut Terminal| -> Result<String, TerminalError> {
            match (&check, &table) {
                (Some(c), None) => Ok(c.clone()),
                (None, Some(t)) => terminal.check_at(host, t),
                _ => Err(TerminalError::Invalid("give a check or a table".to_owned())),
            }
        };
        Ok(match (op, intent) {
            (TerminalOp::Act, Some(intent)) => {
                let outcome = terminal.apply(host, intent)?;
                let mut v = to_value(&outcome)?;
                v["ok"] = Value::Bool(true);
                v
            }
            (TerminalOp::Act, None) => {
                return Err(TerminalError::Invalid("act needs an intent".to_owned()));
            }
            (_, Some(_)) => {
                return Err(TerminalError::Invalid(
                    "only act takes an intent".to_owned(),
                ));
            }
            (TerminalOp::View, None) => {
                json!({"ok": true, "view": to_value(&terminal.view(host)?)?})
            }
            (TerminalOp::Floor, None) => {
                json!({"ok": true, "floor": to_value(&terminal.floor(host)?)?})
            }
            (TerminalOp::Check, None) => {
                let id = found(terminal)?;
                json!({"ok": true, "check": to_value(&terminal.check(host, &id)?)?})
            }
            (TerminalOp::Menu, None) => {
                json!({"ok": true, "menu": to_value(&terminal.menu(host, category.as_deref())?)?})
            }
            (TerminalOp::Find, None) => json!({"ok": true, "found": found(terminal)?}),
        })
    };
    handle
        .with_terminal(|terminal, host| answer(terminal, host).map_err(|e| e.to_string()))
        .unwrap_or_else(|| Err("this device is not an order terminal".to_owned()))
}

/// A terminal answer as JSON.
fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, crate::terminal::TerminalError> {
    serde_json::to_value(v).map_err(|e| {
        crate::terminal::TerminalError::Invalid(format!("cannot write the answer: {e}"))
    })
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
        "refused_publishes": shared.refused_publishes.load(std::sync::atomic::Ordering::Relaxed),
        "set_aside": set_aside,
        "forks": forks,
        "received_live": shared.received_live.load(Ordering::Relaxed),
        "received_by_pull": shared.received_by_pull.load(Ordering::Relaxed),
        "broker": super::discover::view_json(&lock(&shared.broker)),
    })
}

#[cfg(test)]
mod tests {
    use super::Fault;
    use super::{KitchenOp, TerminalOp, TerminalRequest};
    use crate::device::{BrokerSetting, Device, DeviceConfig, DeviceHandle};
    use crate::event::{DeviceRole, Event};

    /// A device of the sample store, unserved (no network), on a controlled clock; five skirt
    /// steaks in stock (steak frites: grill and fry).
    fn device(dir: &std::path::Path, name: &str, role: DeviceRole) -> DeviceHandle {
        let db = dir.join(format!("{name}.db"));
        let handle = Device::open(DeviceConfig {
            db: db.clone(),
            store: "demo".to_owned().try_into().expect("store"),
            device: name.to_owned().try_into().expect("device"),
            role,
            name: name.to_owned(),
            broker: BrokerSetting::Configured {
                host: "127.0.0.1".to_owned(),
                port: 9,
            },
            credentials: None,
            control: db.with_extension("sock"),
            manual_clock_ms: Some(1_767_295_800_000),
            station: (role == DeviceRole::KitchenScreen).then(|| name.to_owned()),
            inbox: false,
            mdns: crate::net::discovery::MdnsScope::Off,
            host_broker: false,
            broker_port: None,
        })
        .expect("device opens")
        .handle();
        crate::kitchen::sample::publish_store(handle.journal()).expect("store");
        handle
            .journal()
            .append(&Event::StockReceived {
                ingredient: "skirt_steak".into(),
                qty: rust_decimal::Decimal::from(5),
            })
            .expect("received");
        handle
    }

    /// (item, portions left) of a `low_stock` list in an answer.
    fn low(list: &serde_json::Value) -> Vec<(String, u64)> {
        list.as_array()
            .expect("a list")
            .iter()
            .map(|i| {
                (
                    i["item"].as_str().unwrap_or_default().to_owned(),
                    i["portions_left"].as_u64().unwrap_or_default(),
                )
            })
            .collect()
    }

    #[test]
    fn a_kitchen_screens_list_and_a_terminals_view_say_what_runs_low() {
        let dir = tempfile::tempdir().expect("dir");
        let steak = vec![("steak_frites".to_owned(), 5)];
        for (station, expected) in [("grill", steak.clone()), ("bar", Vec::new())] {
            let kitchen = device(dir.path(), station, DeviceRole::KitchenScreen);
            let answer = super::kitchen(&kitchen, KitchenOp::List, None).expect("list");
            assert_eq!(low(&answer["low_stock"]), expected, "{station}");
        }
        let fry = device(dir.path(), "fry", DeviceRole::KitchenScreen);
        let answer = super::kitchen(&fry, KitchenOp::List, None).expect("list");
        assert_eq!(answer["low_stock"][0]["name"], "Steak Frites");
        assert_eq!(
            answer["low_stock"][0]["stations"],
            serde_json::json!(["grill", "fry"])
        );

        let terminal = device(dir.path(), "t1", DeviceRole::OrderTerminal);
        let request = TerminalRequest {
            op: TerminalOp::View,
            intent: None,
            pin: None,
            check: None,
            table: None,
            category: None,
        };
        let answer = super::terminal(&terminal, request).expect("view");
        assert_eq!(low(&answer["view"]["status"]["low_stock"]), steak);
    }

    #[test]
    fn the_fault_hook_reads_only_what_it_knows() {
        assert_eq!(Fault::parse(""), Ok(None));
        assert_eq!(Fault::parse("  "), Ok(None));
        assert_eq!(
            Fault::parse("abort-after-commit:3"),
            Ok(Some(Fault::AbortAfterCommit(3)))
        );
        for bad in [
            "abort-after-commit:0",
            "abort-after-commit:",
            "abort-after-commit:-1",
            "abort-after-commit:x",
            "abort",
            "crash:3",
        ] {
            assert!(Fault::parse(bad).is_err(), "{bad}");
        }
    }
}
