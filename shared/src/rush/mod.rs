//! A dinner rush driven through running devices' control sockets, as servers and cooks would
//! work them: `pass rush`.
//!
//! The [`plan`] draws the parties from a seed. The driver then plays them against real order
//! terminals and kitchen screens, only through their control sockets (the same requests as
//! `pass terminal`, `pass pay` and `pass kitchen`): it opens checks, adds lines with their
//! modifiers, holds and sends, voids and comps with a manager's PIN, splits, pays cash with a
//! tip and closes; on each screen it bumps each ticket once it has cooked for a time that
//! depends on the station and the items, now and then recalls one and bumps it again, and has
//! expo hand each finished order out. Partway through, a cook 86's an item and the terminals
//! refuse it from then on.
//!
//! Two clocks:
//! - [`ClockMode::Controlled`]: every device runs on a manual clock (`--manual-clock`) and the
//!   driver moves all of them together, step by step, waiting after each step until every device
//!   holds every event (their journal heads agree and stay so). A five-hour service then takes
//!   minutes, and what the driver saw happens at exactly the instants the devices recorded.
//! - [`ClockMode::Wall`]: the devices' own clocks; the driver acts when the time comes (the
//!   demo's rush).
//!
//! The driver records what it did and saw in a [`truth::Truth`] (its ground truth), from its own
//! requests, never from the reports.

pub mod cli;
pub mod plan;
pub mod truth;

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use crate::domain::Money;
use crate::domain::menu::{ItemId, Menu};
use crate::domain::payment::tip_at;

use plan::{Party, PlanOptions, SplitPlan, TableSeats};
use truth::{Truth, TruthCheck, TruthLine, TruthPayment, TruthRefusal, TruthTicket};

/// What went wrong with a rush: a device that does not answer, or refuses what it must do.
#[derive(Debug, thiserror::Error)]
pub enum RushError {
    #[error("no device answers on {0}: {1}")]
    Unreachable(PathBuf, std::io::Error),
    #[error("{0} answered something that is not JSON: {1}")]
    NotJson(PathBuf, serde_json::Error),
    #[error("{device} refused {what}: {error}")]
    Refused {
        device: PathBuf,
        what: String,
        error: String,
    },
    #[error("the devices did not agree within {0:?} (their journal heads differ)")]
    NotSettled(Duration),
    #[error("{0}")]
    Setup(String),
}

/// How time passes during the rush.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMode {
    /// The devices' own clocks; the driver looks at the screens every `tick_ms` of real time.
    Wall { tick_ms: u64 },
    /// Every device on a manual clock, moved together by `step_ms` at a time.
    Controlled { start_ms: i64, step_ms: i64 },
}

/// How the rush is played.
#[derive(Debug, Clone)]
pub struct RushOptions {
    pub seed: u64,
    /// Parties arrive during this many minutes (the service then runs until every check is
    /// closed, or `drain_minutes` more at most).
    pub minutes: u32,
    pub checks_per_hour: f64,
    pub clock: ClockMode,
    /// The servers' PINs (parties go to them in turn).
    pub server_pins: Vec<String>,
    /// A manager's PIN for voids and comps.
    pub manager_pin: String,
    /// An item a cook 86's partway through the service, and at which fraction of it.
    pub eighty_six: Option<(String, f64)>,
    pub drain_minutes: u32,
}

/// The devices the rush works.
#[derive(Debug, Clone, Default)]
pub struct RushDevices {
    /// Order terminals' control sockets (parties go to them in turn).
    pub terminals: Vec<PathBuf>,
    /// Kitchen screens' control sockets: prep stations and expo (each says which it is).
    pub screens: Vec<PathBuf>,
}

/// Sends one request to a device's control socket and reads its answer (waiting up to
/// `timeout`).
pub fn request(control: &Path, body: &Value, timeout: Duration) -> Result<Value, RushError> {
    let mut stream = std::os::unix::net::UnixStream::connect(control)
        .map_err(|e| RushError::Unreachable(control.to_owned(), e))?;
    let io = |e| RushError::Unreachable(control.to_owned(), e);
    stream.set_read_timeout(Some(timeout)).map_err(io)?;
    writeln!(stream, "{body}").map_err(io)?;
    let mut answer = String::new();
    std::io::BufReader::new(&stream)
        .read_line(&mut answer)
        .map_err(io)?;
    serde_json::from_str(answer.trim()).map_err(|e| RushError::NotJson(control.to_owned(), e))
}

const ANSWER_WITHIN: Duration = Duration::from_secs(30);
const SETTLE_WITHIN: Duration = Duration::from_secs(60);

/// A request whose answer must be `ok`.
fn ask(control: &Path, what: &str, body: &Value) -> Result<Value, RushError> {
    let answer = request(control, body, ANSWER_WITHIN)?;
    if answer["ok"] == Value::Bool(true) {
        Ok(answer)
    } else {
        Err(refused(control, what, &answer))
    }
}

fn refused(control: &Path, what: &str, answer: &Value) -> RushError {
    RushError::Refused {
        device: control.to_owned(),
        what: what.to_owned(),
        error: answer["error"]
            .as_str()
            .unwrap_or("no reason given")
            .to_owned(),
    }
}

/// A request that may be refused: `Ok(Err(reason))` then.
fn try_ask(control: &Path, body: &Value) -> Result<Result<Value, String>, RushError> {
    let answer = request(control, body, ANSWER_WITHIN)?;
    Ok(if answer["ok"] == Value::Bool(true) {
        Ok(answer)
    } else {
        Err(answer["error"]
            .as_str()
            .unwrap_or("no reason given")
            .to_owned())
    })
}

/// A check's payment view on a terminal.
fn payment_view(control: &Path, check: &str) -> Result<Value, RushError> {
    let answer = ask(
        control,
        "a payment view",
        &json!({"cmd": "payment", "request": {"op": "view", "check": check}}),
    )?;
    Ok(answer["view"].clone())
}

/// An amount a device answered with.
fn money_of(control: &Path, v: &Value) -> Result<Money, RushError> {
    text(v).parse().map_err(|_| RushError::Refused {
        device: control.to_owned(),
        what: "an amount".to_owned(),
        error: format!("answered {v}, not an amount"),
    })
}

fn text(v: &Value) -> String {
    v.as_str().map(str::to_owned).unwrap_or_default()
}

/// A check being served.
struct Live {
    party: usize,
    terminal: usize,
    pin: String,
    truth: usize,
    pay_at_ms: i64,
    sent_ms: i64,
    fired: bool,
}

/// A ticket on a screen, as the driver sees it.
struct Cooking {
    truth: usize,
    bump_at_ms: i64,
    /// Recall it this long after its bump, then bump it again `rebump_after_ms` later.
    recall: Option<(i64, i64)>,
    recall_at_ms: Option<i64>,
}

struct Screen {
    control: PathBuf,
    station: String,
    expo: bool,
}

/// The rush in progress.
struct Rush<'a> {
    menu: &'a Menu,
    devices: &'a RushDevices,
    options: &'a RushOptions,
    screens: Vec<Screen>,
    parties: Vec<Party>,
    next_party: usize,
    free_tables: Vec<TableSeats>,
    live: Vec<Live>,
    cooking: HashMap<(String, String), Cooking>,
    /// (check, course) handed out by expo.
    expo_done: BTreeSet<(String, u8)>,
    eighty_sixed: BTreeSet<ItemId>,
    rng: ChaCha8Rng,
    truth: Truth,
    now_ms: i64,
    /// Tables taken, by check.
    taken: HashMap<String, TableSeats>,
    /// Who the driver last signed in on each terminal (`None`: signed out).
    signed_in: Vec<Option<String>>,
}

/// Plays a rush and returns what the driver did and saw. `stop` ends it early (Ctrl-C).
pub fn run(
    menu: &Menu,
    devices: &RushDevices,
    options: &RushOptions,
    stop: &AtomicBool,
) -> Result<Truth, RushError> {
    let first_terminal = devices
        .terminals
        .first()
        .ok_or_else(|| RushError::Setup("a rush needs an order terminal".to_owned()))?;
    if options.server_pins.is_empty() {
        return Err(RushError::Setup("a rush needs a server's PIN".to_owned()));
    }
    let mut screens = Vec::new();
    for control in &devices.screens {
        let list = ask(
            control,
            "a list of tickets",
            &json!({"cmd": "kitchen", "op": "list"}),
        )?;
        let station = text(&list["station"]);
        screens.push(Screen {
            control: control.clone(),
            expo: station == crate::kitchen::EXPO,
            station,
        });
    }
    let floor = ask(
        first_terminal,
        "the floor",
        &json!({"cmd": "terminal", "op": "floor", "pin": options.server_pins[0]}),
    )?;
    let tables = floor_tables(&floor["floor"]);
    // Every server's PIN must sign in before the first party comes.
    for pin in &options.server_pins {
        ask(
            first_terminal,
            "a server's sign-in",
            &json!({"cmd": "terminal", "op": "act", "intent": {"intent": "sign_in", "pin": pin}}),
        )?;
    }
    let start_ms = match options.clock {
        ClockMode::Controlled { start_ms, .. } => start_ms,
        ClockMode::Wall { .. } => wall_ms(),
    };
    let parties = plan::plan(
        menu,
        &tables,
        &PlanOptions {
            seed: options.seed,
            start_ms,
            minutes: options.minutes,
            checks_per_hour: options.checks_per_hour,
            servers: options.server_pins.len(),
        },
    );
    tracing::info!(
        parties = parties.len(),
        tables = tables.len(),
        screens = screens.len(),
        "rush planned"
    );
    let mut rush = Rush {
        menu,
        devices,
        options,
        screens,
        parties,
        next_party: 0,
        free_tables: tables,
        live: Vec::new(),
        cooking: HashMap::new(),
        expo_done: BTreeSet::new(),
        eighty_sixed: BTreeSet::new(),
        rng: ChaCha8Rng::seed_from_u64(options.seed ^ 0x6b69_7463_6865_6e21),
        truth: Truth {
            seed: options.seed,
            start_ms,
            ..Truth::default()
        },
        now_ms: start_ms,
        taken: HashMap::new(),
        signed_in: vec![None; devices.terminals.len()],
    };
    rush.play(stop)?;
    Ok(rush.truth)
}

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The floor plan's tables and seats, from a terminal's `floor` answer.
fn floor_tables(floor: &Value) -> Vec<TableSeats> {
    let mut tables: Vec<TableSeats> = floor["tables"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .filter(|t| {
                    t["check"].is_null() && t["checks"].as_array().is_none_or(|c| c.is_empty())
                })
                .filter_map(|t| {
                    Some(TableSeats {
                        id: t["id"].as_str()?.to_owned(),
                        seats: t["seats"].as_u64().unwrap_or(4) as u32,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    tables.sort_by_key(|t| t.seats);
    tables
}

impl Rush<'_> {
    fn play(&mut self, stop: &AtomicBool) -> Result<(), RushError> {
        let arrivals_end = self.truth.start_ms + i64::from(self.options.minutes) * 60_000;
        let hard_end = arrivals_end + i64::from(self.options.drain_minutes) * 60_000;
        let eighty_six_at = self.options.eighty_six.as_ref().map(|(item, fraction)| {
            let at = self.truth.start_ms
                + (f64::from(self.options.minutes) * 60_000.0 * fraction.clamp(0.0, 1.0)) as i64;
            (item.clone(), at)
        });
        let mut eighty_six_done = false;
        loop {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            self.tick()?;
            if let Some((item, at)) = &eighty_six_at
                && !eighty_six_done
                && self.now_ms >= *at
            {
                self.eighty_six(item)?;
                eighty_six_done = true;
            }
            self.arrivals()?;
            self.fire_held()?;
            self.payments()?;
            self.settle()?;
            self.kitchen(true)?;
            self.settle()?;
            // A bump that completed a course fired the next one (its tickets were shown as
            // that settled): note them now, at the instant the screens showed them.
            self.kitchen(false)?;
            let quiet = self.next_party >= self.parties.len()
                && self.live.is_empty()
                && self.cooking.is_empty();
            if quiet || self.now_ms >= hard_end {
                break;
            }
        }
        self.truth.end_ms = self.now_ms;
        Ok(())
    }

    /// Moves time on: every manual clock by a step, or the wall clock by a tick.
    fn tick(&mut self) -> Result<(), RushError> {
        match self.options.clock {
            ClockMode::Controlled { step_ms, start_ms } => {
                if self.now_ms > start_ms || self.truth.end_ms != 0 {
                    self.now_ms += step_ms;
                }
                self.truth.end_ms = self.now_ms;
                let body = json!({"cmd": "clock", "set_ms": self.now_ms});
                for control in self.all_devices() {
                    ask(&control, "the clock", &body)?;
                }
            }
            ClockMode::Wall { tick_ms } => {
                std::thread::sleep(Duration::from_millis(tick_ms));
                self.now_ms = wall_ms();
            }
        }
        Ok(())
    }

    fn all_devices(&self) -> Vec<PathBuf> {
        self.devices
            .terminals
            .iter()
            .chain(self.devices.screens.iter())
            .cloned()
            .collect()
    }

    /// Waits until every device holds every event (on a controlled clock; on the wall clock the
    /// devices catch up as they do in a store).
    fn settle(&self) -> Result<(), RushError> {
        if matches!(self.options.clock, ClockMode::Wall { .. }) {
            return Ok(());
        }
        let started = Instant::now();
        let mut agreed_before: Option<Value> = None;
        loop {
            let mut heads = Vec::new();
            for control in self.all_devices() {
                heads
                    .push(ask(&control, "its status", &json!({"cmd": "status"}))?["heads"].clone());
            }
            let agreed = heads.windows(2).all(|w| w[0] == w[1]);
            if agreed {
                // Agreeing twice in a row, a moment apart: nobody was still writing.
                if agreed_before.as_ref() == heads.first() {
                    return Ok(());
                }
                agreed_before = heads.first().cloned();
            } else {
                agreed_before = None;
            }
            if started.elapsed() > SETTLE_WITHIN {
                return Err(RushError::NotSettled(SETTLE_WITHIN));
            }
            std::thread::sleep(Duration::from_millis(if agreed { 25 } else { 5 }));
        }
    }

    fn eighty_six(&mut self, item: &str) -> Result<(), RushError> {
        let Some(screen) = self.screens.iter().find(|s| !s.expo) else {
            return Ok(());
        };
        let event =
            json!({"kind": "item_eighty_sixed", "payload": {"item": item, "reason": "ran out"}});
        ask(
            &screen.control,
            "an 86",
            &json!({"cmd": "append", "event": event}),
        )?;
        self.eighty_sixed.insert(ItemId::new(item));
        self.truth.eighty_sixed.push((item.to_owned(), self.now_ms));
        tracing::info!(item, "86'd on {}", screen.station);
        Ok(())
    }

    /// Carries out an intent on a terminal as the person with `pin`: signed in first unless
    /// that person is still signed in there (a PIN check costs an argon2 hash). A refusal that
    /// may come from having been signed out (after a send, a close, idle minutes) is tried
    /// once more, signed in.
    fn terminal_act(
        &mut self,
        terminal: usize,
        pin: &str,
        intent: Value,
    ) -> Result<Result<Value, String>, RushError> {
        let control = self.devices.terminals[terminal].clone();
        let signed_in = self.signed_in.get(terminal).and_then(Option::as_deref) == Some(pin);
        let mut body = json!({"cmd": "terminal", "op": "act", "intent": intent});
        if !signed_in {
            body["pin"] = json!(pin);
        }
        let mut answer = try_ask(&control, &body)?;
        if answer.is_err() && signed_in {
            body["pin"] = json!(pin);
            answer = try_ask(&control, &body)?;
        }
        let still = match &answer {
            Ok(v) => (v["signed_out"] != Value::Bool(true)).then(|| pin.to_owned()),
            Err(_) => None,
        };
        if let Some(slot) = self.signed_in.get_mut(terminal) {
            *slot = still;
        }
        Ok(answer)
    }

    fn must_act(
        &mut self,
        terminal: usize,
        pin: &str,
        what: &str,
        intent: Value,
    ) -> Result<Value, RushError> {
        self.terminal_act(terminal, pin, intent)?
            .map_err(|error| RushError::Refused {
                device: self.devices.terminals[terminal].clone(),
                what: what.to_owned(),
                error,
            })
    }

    /// Seats (or serves at the counter) every party that has arrived.
    fn arrivals(&mut self) -> Result<(), RushError> {
        while self.next_party < self.parties.len()
            && self.parties[self.next_party].arrive_ms <= self.now_ms
        {
            let party = self.parties[self.next_party].clone();
            self.next_party += 1;
            self.seat(&party)?;
        }
        Ok(())
    }

    fn seat(&mut self, party: &Party) -> Result<(), RushError> {
        let terminal = party.id % self.devices.terminals.len();
        let pin = self.options.server_pins[party.server % self.options.server_pins.len()].clone();
        let table = if party.dine_in {
            self.free_tables
                .iter()
                .position(|t| t.seats >= party.guests)
                .map(|i| self.free_tables.remove(i))
        } else {
            None
        };
        let order_type = if table.is_some() {
            "dine_in"
        } else {
            "takeout"
        };
        let open = match &table {
            Some(t) => json!({"intent": "open_check", "table": t.id, "guests": party.guests}),
            None => {
                json!({"intent": "open_check", "guests": party.guests, "seats": party.guests, "order_type": "takeout"})
            }
        };
        let opened = self.must_act(terminal, &pin, "a new check", open)?;
        let check = text(&opened["check"]);
        let shown = ask(
            &self.devices.terminals[terminal],
            "a check",
            &json!({"cmd": "terminal", "op": "check", "check": check}),
        )?;
        let server = text(&shown["check"]["server"]);
        let mut lines = Vec::new();
        for planned in &party.lines {
            let seat = if table.is_some() { planned.seat } else { None };
            let add = json!({
                "intent": "add_line", "check": check, "item": planned.item.as_str(),
                "modifiers": planned.modifiers, "seat": seat, "course": planned.course,
            });
            match self.terminal_act(terminal, &pin, add)? {
                Ok(added) => lines.push(TruthLine {
                    line: text(&added["line"]),
                    item: planned.item.as_str().to_owned(),
                    modifiers: planned.modifiers.clone(),
                    qty: 1,
                    unit_price: planned.unit_price,
                    course: planned.course,
                    seat,
                    stations: planned.stations.clone(),
                    voided: false,
                    comped: false,
                }),
                // 86'd during this rush, or before it (a store's 86 stays until lifted).
                Err(reason)
                    if self.eighty_sixed.contains(&planned.item) || reason.contains("86'd") =>
                {
                    self.truth.refused.push(TruthRefusal {
                        party: party.id,
                        item: planned.item.as_str().to_owned(),
                        at_ms: self.now_ms,
                        reason,
                    });
                }
                Err(error) => {
                    return Err(RushError::Refused {
                        device: self.devices.terminals[terminal].clone(),
                        what: format!("a line of {}", planned.item),
                        error,
                    });
                }
            }
        }
        let mut record = TruthCheck {
            party: party.id,
            check: check.clone(),
            number: text(&opened["number"]),
            server,
            guests: party.guests,
            order_type: order_type.to_owned(),
            table: table.as_ref().map(|t| t.id.clone()),
            opened_ms: self.now_ms,
            lines: Vec::new(),
            held_course: false,
            split: None,
            payments: Vec::new(),
            closed_ms: None,
        };
        if lines.is_empty() {
            // Everything they wanted was 86'd: they leave, and the check is closed empty, a
            // sale of nothing that the reports count (and its guests).
            self.must_act(
                terminal,
                &pin,
                "closing an empty check",
                json!({"intent": "close", "check": check}),
            )?;
            record.closed_ms = Some(self.now_ms);
            self.truth.checks.push(record);
            if let Some(t) = table {
                self.free_table(t);
            }
            return Ok(());
        }
        let held = party.hold_course_2 && lines.iter().any(|l| l.course == 2);
        if held {
            self.must_act(
                terminal,
                &pin,
                "holding course 2",
                json!({"intent": "hold_course", "check": check, "course": 2}),
            )?;
        }
        self.must_act(
            terminal,
            &pin,
            "a send",
            json!({"intent": "send", "check": check}),
        )?;
        // A void right after the send (the kitchen has not started), with a manager's PIN.
        if let Some(i) = party.void_line.filter(|&i| i < party.lines.len()) {
            let item = party.lines[i].item.as_str();
            if let Some(l) = lines.iter_mut().find(|l| l.item == item && !l.voided) {
                self.must_act(terminal, &pin, "a void", json!({
                    "intent": "void", "check": check, "line": l.line,
                    "manager_pin": self.options.manager_pin, "reason": "guest changed their mind",
                }))?;
                l.voided = true;
            }
        }
        record.lines = lines;
        record.held_course = held;
        self.truth.checks.push(record);
        self.live.push(Live {
            party: party.id,
            terminal,
            pin,
            truth: self.truth.checks.len() - 1,
            pay_at_ms: self.now_ms + party.stay_ms,
            sent_ms: self.now_ms,
            fired: !held,
        });
        if let Some(t) = table {
            // The table is taken until the check closes (see `payments`).
            self.taken.insert(check, t);
        }
        Ok(())
    }

    /// A table free again (the smallest that seats a party is taken first).
    fn free_table(&mut self, table: TableSeats) {
        self.free_tables.push(table);
        self.free_tables.sort_by_key(|t| t.seats);
    }

    /// Fires a held course the kitchen has not fired by itself after a while, as a server does.
    fn fire_held(&mut self) -> Result<(), RushError> {
        for i in 0..self.live.len() {
            let live = &self.live[i];
            if live.fired || self.now_ms < live.sent_ms + plan::HOLD_FIRE_AFTER_MS {
                continue;
            }
            let check = self.truth.checks[live.truth].check.clone();
            let (terminal, pin) = (live.terminal, live.pin.clone());
            // Refused when course 1's bump already fired it: nothing to do then.
            let _ = self.terminal_act(
                terminal,
                &pin,
                json!({"intent": "fire_course", "check": check, "course": 2}),
            )?;
            self.live[i].fired = true;
        }
        Ok(())
    }

    /// Parties whose time has come pay (a comp first, a split where planned) and leave.
    fn payments(&mut self) -> Result<(), RushError> {
        let due: Vec<usize> = (0..self.live.len())
            .filter(|&i| self.live[i].pay_at_ms <= self.now_ms)
            .collect();
        for &i in due.iter().rev() {
            let live = self.live.remove(i);
            self.pay(&live)?;
        }
        Ok(())
    }

    fn pay(&mut self, live: &Live) -> Result<(), RushError> {
        let party = self.parties[live.party].clone();
        let (terminal, pin) = (live.terminal, live.pin.as_str());
        let check = self.truth.checks[live.truth].check.clone();
        if let Some(i) = party.comp_line {
            let item = party.lines.get(i).map(|l| l.item.as_str().to_owned());
            let target = self.truth.checks[live.truth]
                .lines
                .iter()
                .position(|l| Some(&l.item) == item.as_ref() && !l.voided && !l.comped);
            if let Some(j) = target {
                let line = self.truth.checks[live.truth].lines[j].line.clone();
                self.must_act(
                    terminal,
                    pin,
                    "a comp",
                    json!({
                        "intent": "comp", "check": check, "line": line,
                        "manager_pin": self.options.manager_pin, "reason": "long wait",
                    }),
                )?;
                self.truth.checks[live.truth].lines[j].comped = true;
            }
        }
        let mut parts: Vec<(Option<Money>, Option<u32>)> = vec![(None, None)];
        // A party that found no free table got takeout: no seats to split by.
        let seated = self.truth.checks[live.truth].table.is_some();
        if let Some(split) = party.split.filter(|_| seated) {
            let (record, name) = match split {
                SplitPlan::Evenly(n) => {
                    (json!({"by": "evenly", "parts": n}), format!("evenly {n}"))
                }
                SplitPlan::BySeat => (json!({"by": "seat"}), "by seat".to_owned()),
            };
            let outcome = self.must_act(
                terminal,
                pin,
                "a split",
                json!({"intent": "split", "check": check, "split": record}),
            )?;
            parts = outcome["parts"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .map(|p| match split {
                            SplitPlan::Evenly(_) => (text(&p["amount"]).parse().ok(), None),
                            SplitPlan::BySeat => (None, p["seat"].as_u64().map(|s| s as u32)),
                        })
                        .collect()
                })
                .unwrap_or_default();
            // Lines for the table are shared among the seats: the last payment takes what is
            // left.
            if matches!(split, SplitPlan::BySeat) {
                parts.retain(|p| p.1.is_some());
            }
            self.truth.checks[live.truth].split = Some(name);
        }
        let control = self.devices.terminals[terminal].clone();
        // Whatever the parts leave (the table's shared lines, a cent of rounding) is paid last.
        if parts.last() != Some(&(None, None)) {
            parts.push((None, None));
        }
        let last = parts.len().saturating_sub(1);
        for (n, (amount, seat)) in parts.into_iter().enumerate() {
            let view = payment_view(&control, &check)?;
            let due = money_of(&control, &view["balance_due"])?;
            if due.is_zero() || due.is_negative() {
                break;
            }
            // The last part pays what is left (seat shares leave the table's lines' cents).
            let (amount, seat) = if n == last {
                (None, None)
            } else {
                (amount, seat)
            };
            let share = match (amount, seat) {
                (Some(a), _) => a,
                (None, Some(s)) => view["seats"]
                    .as_array()
                    .and_then(|ss| ss.iter().find(|x| x["seat"].as_u64() == Some(u64::from(s))))
                    .and_then(|x| text(&x["share"]).parse().ok())
                    .unwrap_or(due),
                (None, None) => due,
            };
            if share.is_zero() {
                continue;
            }
            let tip = tip_at(share, party.tip_percent);
            // The guest hands over notes: the share and the tip, rounded up to a whole unit.
            let tendered = Money::round(
                share
                    .checked_add(tip)
                    .map_err(|e| RushError::Setup(e.to_string()))?
                    .amount()
                    .ceil(),
            );
            let mut request = json!({
                "op": "cash", "check": check, "pin": pin, "tendered": tendered.to_string(),
                "tip": tip.to_string(),
            });
            if let Some(a) = amount {
                request["amount"] = json!(a.to_string());
            }
            if let Some(s) = seat {
                request["seat"] = json!(s);
            }
            let paid = ask(
                &control,
                "a cash payment",
                &json!({"cmd": "payment", "request": request}),
            )?;
            let amount = money_of(&control, &paid["amount"])?;
            if money_of(&control, &paid["tip"])? != tip {
                return Err(RushError::Refused {
                    device: control.clone(),
                    what: format!("a tip of {tip}"),
                    error: format!("the payment recorded {}", paid["tip"]),
                });
            }
            self.truth.checks[live.truth].payments.push(TruthPayment {
                tender: "cash".to_owned(),
                amount,
                tip,
                at_ms: self.now_ms,
            });
        }
        let view = payment_view(&control, &check)?;
        if text(&view["state"]) != "closed" {
            self.must_act(
                terminal,
                pin,
                "a close",
                json!({"intent": "close", "check": check}),
            )?;
        }
        self.truth.checks[live.truth].closed_ms = Some(self.now_ms);
        if let Some(t) = self.taken.remove(&check) {
            self.free_table(t);
        }
        Ok(())
    }

    /// Each screen: notes new tickets and, when `act`, bumps the cooked ones, recalls now and
    /// then, and has expo hand finished orders out.
    fn kitchen(&mut self, act: bool) -> Result<(), RushError> {
        for s in 0..self.screens.len() {
            if self.screens[s].expo && !act {
                continue;
            }
            let control = self.screens[s].control.clone();
            let list = ask(
                &control,
                "a list of tickets",
                &json!({"cmd": "kitchen", "op": "list"}),
            )?;
            let cards = list["cards"].as_array().cloned().unwrap_or_default();
            if self.screens[s].expo {
                if act {
                    self.expo(&control, &cards)?;
                }
                continue;
            }
            let station = self.screens[s].station.clone();
            for card in &cards {
                if card["held"] == Value::Bool(true) {
                    continue;
                }
                let ticket = text(&card["key"]);
                let key = (station.clone(), ticket.clone());
                if self.cooking.contains_key(&key) {
                    continue;
                }
                // A recalled ticket is back: it was already noted.
                if self
                    .truth
                    .tickets
                    .iter()
                    .any(|t| t.station == station && t.ticket == ticket)
                {
                    continue;
                }
                self.note_ticket(&station, card);
            }
            if act {
                self.bump_due(&control, &station)?;
            }
        }
        Ok(())
    }

    fn note_ticket(&mut self, station: &str, card: &Value) {
        let ticket = text(&card["key"]);
        let check = text(&card["check"]);
        let course = card["course"].as_u64().unwrap_or(1) as u8;
        let items: Vec<_> = self
            .truth
            .checks
            .iter()
            .find(|c| c.check == check)
            .map(|c| {
                c.lines
                    .iter()
                    .filter(|l| l.course == course && l.stations.iter().any(|s| s == station))
                    .filter_map(|l| self.menu.item(&ItemId::new(l.item.clone())))
                    .collect()
            })
            .unwrap_or_default();
        let order_type = self
            .truth
            .checks
            .iter()
            .find(|c| c.check == check)
            .map(|c| c.order_type.clone())
            .unwrap_or_default();
        let cook_ms = plan::prep_ms(&items, station, &mut self.rng);
        let recall = self.rng.random_bool(0.03).then(|| {
            (
                self.rng.random_range(1..=3) * 15_000,
                self.rng.random_range(4..=8) * 15_000,
            )
        });
        self.truth.tickets.push(TruthTicket {
            station: station.to_owned(),
            ticket: ticket.clone(),
            check,
            course,
            order_type,
            shown_ms: self.now_ms,
            bumped_ms: None,
            recalls: 0,
        });
        self.cooking.insert(
            (station.to_owned(), ticket),
            Cooking {
                truth: self.truth.tickets.len() - 1,
                bump_at_ms: self.now_ms + cook_ms,
                recall,
                recall_at_ms: None,
            },
        );
    }

    fn bump_due(&mut self, control: &Path, station: &str) -> Result<(), RushError> {
        let mut keys: Vec<(String, String)> = self
            .cooking
            .keys()
            .filter(|(s, _)| s == station)
            .cloned()
            .collect();
        keys.sort();
        for key in keys {
            let Some(c) = self.cooking.get_mut(&key) else {
                continue;
            };
            let ticket = key.1.clone();
            if let Some(recall_at) = c.recall_at_ms {
                // Bumped, and to be recalled.
                if self.now_ms >= recall_at {
                    let rebump = c.recall.map(|r| r.1).unwrap_or(60_000);
                    c.recall = None;
                    c.recall_at_ms = None;
                    c.bump_at_ms = self.now_ms + rebump;
                    let truth = c.truth;
                    ask(
                        control,
                        "a recall",
                        &json!({"cmd": "kitchen", "op": "act", "action": {"action": "recall", "ticket": ticket}}),
                    )?;
                    self.truth.tickets[truth].recalls += 1;
                    self.truth.tickets[truth].bumped_ms = None;
                }
                continue;
            }
            if self.now_ms < c.bump_at_ms {
                continue;
            }
            let truth = c.truth;
            ask(
                control,
                "a bump",
                &json!({"cmd": "kitchen", "op": "act", "action": {"action": "bump", "ticket": ticket}}),
            )?;
            self.truth.tickets[truth].bumped_ms = Some(self.now_ms);
            match c.recall {
                Some((after, _)) => c.recall_at_ms = Some(self.now_ms + after),
                None => {
                    self.cooking.remove(&key);
                }
            }
        }
        Ok(())
    }

    /// Expo hands out an order once every station has bumped its part.
    fn expo(&mut self, control: &Path, cards: &[Value]) -> Result<(), RushError> {
        for card in cards {
            let check = text(&card["check"]);
            let course = card["course"].as_u64().unwrap_or(1) as u8;
            if card["held"] == Value::Bool(true)
                || self.expo_done.contains(&(check.clone(), course))
            {
                continue;
            }
            let tickets: Vec<&TruthTicket> = self
                .truth
                .tickets
                .iter()
                .filter(|t| t.check == check && t.course == course)
                .collect();
            let expected: BTreeSet<String> = self
                .truth
                .checks
                .iter()
                .filter(|c| c.check == check)
                .flat_map(|c| c.lines.iter().filter(|l| l.course == course && !l.voided))
                .flat_map(|l| l.stations.iter().cloned())
                .filter(|s| self.screens.iter().any(|x| &x.station == s))
                .collect();
            let done: BTreeSet<String> = tickets
                .iter()
                .filter(|t| t.bumped_ms.is_some())
                .map(|t| t.station.clone())
                .collect();
            let recalled = tickets.iter().any(|t| {
                self.cooking
                    .get(&(t.station.clone(), t.ticket.clone()))
                    .is_some_and(|c| c.recall.is_some())
            });
            if expected.is_empty() || !expected.is_subset(&done) || recalled {
                continue;
            }
            let answer = try_ask(
                control,
                &json!({"cmd": "kitchen", "op": "act", "action": {"action": "expo_bump", "check": check, "course": course}}),
            )?;
            if answer.is_ok() {
                self.truth
                    .expo_bumps
                    .push((check.clone(), course, self.now_ms));
                self.expo_done.insert((check, course));
            }
        }
        Ok(())
    }
}
