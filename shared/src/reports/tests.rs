//! Report tests against independent ground truth.
//!
//! # The dinner-service generator
//!
//! [`dinner_service`] plays a five-hour dinner service (17:00–22:00, New York time, business day
//! 2026-05-01) through the journal API of a store device, from a fixed seed ([`SEED`]) with a
//! small SplitMix64 generator, so every run writes the same events. Checks open through the
//! evening; each has two to five lines from a pool of menu items (forced choices plus sometimes an
//! optional extra), goes to the kitchen in one send (one ticket per station), and every ticket is
//! shown, started and bumped by its station's screen on that screen's own clock (each screen's
//! clock is off the terminal's by a few seconds). Some tickets are recalled and bumped again; some
//! take under 10 s or over 4 h (trimmed outliers). Some checks have a line voided before the
//! kitchen started it (its stock comes back) or after (waste), a line comped, a line discounted
//! 10 %, or an amount off the whole check; each is paid by cash or card, sometimes split in two,
//! card payments with a tip; then closed. A cash drawer is opened and counted (two dollars
//! short), and the day is closed.
//!
//! While it writes, the generator records its own ground truth ([`Truth`]): what it ordered
//! (item, category, quantity, price as charged, tax class), voided, comped and discounted, what
//! it paid, and when each screen showed and finally bumped each ticket. Tax and totals are
//! worked out from that record with the store's documented rules (exclusive rates, rounded once
//! per rate per check, half away from zero), independently of Pass's own totals; local hours come
//! straight from chrono-tz. Every report figure is compared with what the record implies.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{TimeZone, Timelike};
use rust_decimal::{Decimal, RoundingStrategy};
use rust_decimal_macros::dec;

use crate::clock::{Clock, ManualClock};
use crate::domain::Money;
use crate::domain::business_day::BusinessDay;
use crate::domain::check::{Course, LineId, NewLine, Seat};
use crate::domain::menu::{ItemId, Menu, ModifierId, StationId};
use crate::domain::order::OrderType;
use crate::domain::payment::{CardBrand, Tender};
use crate::domain::stats;
use crate::event::{
    CardRecord, CashRecord, DeviceRole, DiscountRecord, Event, LineRecord, SettingRecord,
};
use crate::journal::{Journal, JournalOptions, open_read_only};
use crate::kitchen::board::TimerSettings;
use crate::projection::StoreProjections;
use crate::projection::fold::{line_record, ticket_id};

use super::export::{Export, write_csv};
use super::sales::z_report;
use super::service::{Figures, ServiceOptions, service_time_report};
use super::stock::{StockOptions, stock_report};
use super::{Period, hour_rank};

const MENU: &str = include_str!("../../../assets/menu.toml");

/// The generator's seed.
pub const SEED: u64 = 0x005E_EDD1;

const MIN: i64 = 60_000;

/// SplitMix64: small, fast, and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + i64::try_from(self.below(u64::try_from(hi - lo).expect("range"))).expect("fits")
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A store device on a controlled clock, with the store's projections.
struct Device {
    _dir: Option<tempfile::TempDir>,
    path: PathBuf,
    clock: Arc<ManualClock>,
    journal: Journal,
}

fn device(dir: &Path, name: &str, start_ms: i64) -> Device {
    let clock = Arc::new(ManualClock::starting_at(start_ms));
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let path = dir.join(format!("{name}.db"));
    let journal = Journal::open_with(
        &path,
        JournalOptions::new(dyn_clock, DeviceRole::OrderTerminal, name),
        vec![Box::new(StoreProjections::new())],
    )
    .expect("open journal");
    Device {
        _dir: None,
        path,
        clock,
        journal,
    }
}

impl Device {
    fn at(&self, ms: i64, event: Event) {
        self.clock.set(ms);
        self.journal.append(&event).expect("append");
    }

    fn db(&self) -> rusqlite::Connection {
        open_read_only(&self.path).expect("open read-only")
    }
}

/// A store in New York time with the sample menu, ready for service.
fn store(start_ms: i64) -> Device {
    let dir = tempfile::tempdir().expect("tmp");
    let mut d = device(dir.path(), "terminal", start_ms);
    d._dir = Some(dir);
    d.at(start_ms, Event::MenuPublished { toml: MENU.into() });
    d.at(
        start_ms,
        Event::SettingChanged {
            setting: SettingRecord::TimeZone("America/New_York".into()),
            by: "owner".into(),
        },
    );
    d
}

fn menu() -> Menu {
    Menu::from_toml_str(MENU).expect("sample menu")
}

fn ny() -> chrono_tz::Tz {
    chrono_tz::America::New_York
}

/// An instant of New York wall time.
fn ny_ms(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
    ny().with_ymd_and_hms(y, mo, d, h, mi, 0)
        .earliest()
        .expect("a wall time that exists")
        .timestamp_millis()
}

fn ny_hour(ms: i64) -> u8 {
    let t = chrono::DateTime::from_timestamp_millis(ms)
        .expect("instant")
        .with_timezone(&ny());
    u8::try_from(t.hour()).expect("hour")
}

fn day(s: &str) -> BusinessDay {
    s.parse().expect("day")
}

fn round_cents(x: Decimal) -> i64 {
    let r = x.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    i64::try_from((r * dec!(100)).trunc()).expect("cents")
}

fn cents_of(m: Money) -> i64 {
    m.minor_units().expect("cents")
}

/// A line of `item` with the first choice of every forced group plus `extra`.
fn line_of(menu: &Menu, item: &str, extra: &[&str], line: &str, qty: u32) -> LineRecord {
    let id = ItemId::new(item);
    let found = menu.item(&id).expect("item on the sample menu");
    let mut mods: Vec<ModifierId> = found
        .modifier_groups()
        .iter()
        .filter_map(|g| menu.modifier_group(g))
        .filter(|g| g.is_forced())
        .filter_map(|g| g.modifiers().first().cloned())
        .collect();
    mods.extend(extra.iter().map(|m| ModifierId::new(*m)));
    let priced = menu.price_line(&id, &mods, qty).expect("priced");
    line_record(&NewLine {
        id: LineId::new(line),
        priced,
        seat: Some(Seat(1)),
        course: Course(1),
        notes: String::new(),
    })
}

/// What the generator knows of one line it ordered.
#[derive(Debug, Clone)]
struct LineTruth {
    check: String,
    line: String,
    item: String,
    category: String,
    qty: u64,
    gross: i64,
    alcohol: bool,
    stations: Vec<String>,
    state: &'static str,
    discount: i64,
    /// Voided after the kitchen started it.
    wasted: bool,
}

impl LineTruth {
    fn net(&self) -> i64 {
        match self.state {
            "sold" => self.gross - self.discount,
            _ => 0,
        }
    }
}

#[derive(Debug, Clone)]
struct TicketTruth {
    id: String,
    station: String,
    server: String,
    order_type: &'static str,
    items: BTreeSet<String>,
    shown_ms: i64,
    bumped_ms: i64,
    recalls: u32,
    /// Every item voided: the ticket never finishes.
    voided: bool,
}

#[derive(Debug, Clone, Default)]
struct CheckTruth {
    server: String,
    guests: u64,
    closed_ms: i64,
    check_discount: i64,
    payments: Vec<(&'static str, i64, i64)>,
}

/// The generator's record of what it did.
#[derive(Debug, Default)]
struct Truth {
    lines: Vec<LineTruth>,
    tickets: Vec<TicketTruth>,
    checks: BTreeMap<String, CheckTruth>,
    drawer_float: i64,
    drawer_counted: i64,
    drawer_expected: i64,
}

impl Truth {
    fn lines_of<'a>(&'a self, check: &'a str) -> impl Iterator<Item = &'a LineTruth> + 'a {
        self.lines.iter().filter(move |l| l.check == check)
    }

    /// Tax per rate of one check: (sales, liquor), by the documented rules.
    fn taxes(&self, check: &str) -> (i64, i64) {
        let c = &self.checks[check];
        let all: i64 = self.lines_of(check).map(LineTruth::net).sum();
        let alcohol: i64 = self
            .lines_of(check)
            .filter(|l| l.alcohol)
            .map(LineTruth::net)
            .sum();
        // Check discounts are only given on checks without alcohol (one tax group).
        let sales_base = all - c.check_discount;
        let sales = round_cents(Decimal::new(sales_base, 2) * dec!(8.875) / dec!(100));
        let liquor = round_cents(Decimal::new(alcohol, 2) * dec!(2.5) / dec!(100));
        (sales, liquor)
    }

    fn total(&self, check: &str) -> i64 {
        let net: i64 = self.lines_of(check).map(LineTruth::net).sum();
        let (s, l) = self.taxes(check);
        net - self.checks[check].check_discount + s + l
    }

    /// Service-time figures of tickets, by the documented definitions, with default thresholds.
    fn figures<'a>(tickets: impl Iterator<Item = &'a TicketTruth>) -> Figures {
        let mut kept = Vec::new();
        let mut f = Figures::default();
        for t in tickets {
            if t.recalls > 0 {
                f.recalled += 1;
                f.recalls += u64::from(t.recalls);
            }
            let time = t.bumped_ms - t.shown_ms;
            if !(10_000..=4 * 3_600_000).contains(&time) {
                f.ignored += 1;
                continue;
            }
            kept.push(time);
            if time >= 5 * MIN {
                f.past_alert += 1;
            }
            if time >= 8 * MIN {
                f.past_late += 1;
            }
        }
        kept.sort_unstable();
        let rank = |p: usize| (!kept.is_empty()).then(|| kept[(p * kept.len()).div_ceil(100) - 1]);
        f.tickets = kept.len();
        f.on_time = kept.len() - f.past_alert;
        f.median_ms = rank(50);
        f.p90_ms = rank(90);
        f
    }

    fn finished(&self) -> impl Iterator<Item = &TicketTruth> {
        self.tickets.iter().filter(|t| !t.voided)
    }
}

const ITEMS: [(&str, &[&str]); 16] = [
    ("classic_burger", &["add_bacon"]),
    ("bacon_bbq_burger", &[]),
    ("crispy_calamari", &[]),
    ("chicken_wings", &[]),
    ("caesar_salad", &[]),
    ("house_salad", &[]),
    ("ribeye", &[]),
    ("steak_frites", &[]),
    ("roast_half_chicken", &[]),
    ("chocolate_lava_cake", &[]),
    ("ny_cheesecake", &[]),
    ("old_fashioned", &[]),
    ("margarita", &[]),
    ("draught_lager", &[]),
    ("house_red_glass", &[]),
    ("cola", &[]),
];

const SERVERS: [&str; 6] = ["maria", "jon", "aisha", "tom", "li", "sam"];

/// One step of the service, at an instant on the terminal's clock.
enum Step {
    Event(Box<Event>),
    /// Pay the check its total (as the generator works it out) and close it.
    Payment {
        check: String,
    },
}

fn ev(e: Event) -> Step {
    Step::Event(Box::new(e))
}

/// Plays the dinner service (see the module documentation); returns the device and the truth.
fn dinner_service(checks: usize) -> (Device, Truth) {
    let menu = menu();
    let start = ny_ms(2026, 5, 1, 17, 0);
    let d = store(start - 60 * MIN);
    let mut rng = Rng(SEED);
    let mut truth = Truth {
        drawer_float: 15_000,
        ..Truth::default()
    };
    d.at(
        start - 30 * MIN,
        Event::DrawerOpened {
            drawer: "t1".into(),
            float: Money::from_minor(truth.drawer_float),
            staff: "maria".into(),
        },
    );
    for ingredient in ["beef_patty", "cheddar_slice", "bacon", "romaine", "ribeye"] {
        d.at(
            start - 30 * MIN,
            Event::StockReceived {
                ingredient: ingredient.into(),
                qty: Decimal::from(500),
            },
        );
    }
    let skew: BTreeMap<&str, i64> = [
        ("grill", 1_500),
        ("fry", -2_250),
        ("saute_cold", 700),
        ("bar", 4_100),
    ]
    .into();
    let mut steps: Vec<(i64, u64, Step)> = Vec::new();
    let mut order = 0u64;
    let mut push = |steps: &mut Vec<(i64, u64, Step)>, at: i64, step: Step| {
        order += 1;
        steps.push((at, order, step));
    };
    for n in 1..=checks {
        let check = format!("c{n}");
        let opened = start + rng.range(0, 4 * 60 * MIN);
        let takeout = rng.chance(15);
        let server = SERVERS[usize::try_from(rng.below(6)).expect("index")];
        let guests = 1 + rng.below(4);
        truth.checks.insert(
            check.clone(),
            CheckTruth {
                server: server.into(),
                guests,
                ..CheckTruth::default()
            },
        );
        push(
            &mut steps,
            opened,
            ev(Event::CheckOpened {
                check: check.clone(),
                number: format!("A{n}"),
                order_type: if takeout {
                    OrderType::Takeout
                } else {
                    OrderType::DineIn
                },
                table: (!takeout).then(|| format!("T{}", 1 + n % 20)),
                guests: u32::try_from(guests).expect("guests"),
                seats: u32::try_from(guests).expect("guests"),
                server: server.into(),
                external: None,
            }),
        );
        let mut records = Vec::new();
        for l in 0..2 + rng.below(4) {
            let (item, extras) = ITEMS[usize::try_from(rng.below(16)).expect("index")];
            let extra: &[&str] = if rng.chance(30) { extras } else { &[] };
            let qty = if rng.chance(10) { 2 } else { 1 };
            let line = format!("{check}-l{l}");
            let record = line_of(&menu, item, extra, &line, qty);
            let category = menu
                .item(&ItemId::new(item))
                .expect("item")
                .category()
                .to_string();
            truth.lines.push(LineTruth {
                check: check.clone(),
                line: line.clone(),
                item: item.into(),
                category,
                qty: u64::from(qty),
                gross: cents_of(record.unit_price) * i64::from(qty),
                alcohol: record.tax_class.id == "alcohol",
                stations: record.stations.clone(),
                state: "sold",
                discount: 0,
                wasted: false,
            });
            records.push(record);
        }
        let line_ids: Vec<String> = records.iter().map(|r| r.line.clone()).collect();
        push(
            &mut steps,
            opened + MIN,
            ev(Event::LinesAdded {
                check: check.clone(),
                lines: records,
            }),
        );
        let sent = opened + 2 * MIN;
        push(
            &mut steps,
            sent,
            ev(Event::ItemsSent {
                check: check.clone(),
                send: 1,
                lines: line_ids.clone(),
            }),
        );
        // Tickets: one per station of the send.
        let mut by_station: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, l) in truth.lines.iter().enumerate() {
            if l.check == check {
                for s in &l.stations {
                    by_station.entry(s.clone()).or_default().push(i);
                }
            }
        }
        // A void before the kitchen starts, or after, on a ticket of two lines or more.
        let void_kind = rng.below(100);
        let void_target = by_station
            .values()
            .find(|ls| ls.len() >= 2)
            .map(|ls| ls[0])
            .filter(|i| truth.lines[*i].stations.len() == 1);
        let mut last_bump = sent;
        let mut started_at: BTreeMap<String, i64> = BTreeMap::new();
        for (station, lines) in &by_station {
            let ticket =
                ticket_id(&check, 1, &StationId::new(station.clone()), Course(1)).to_string();
            let screen = |terminal_ms: i64| terminal_ms + skew[station.as_str()];
            let shown_at = sent + rng.range(2_000, 20_000);
            let cook = match rng.below(100) {
                0 => rng.range(1_000, 9_000),
                1 => 5 * 60 * MIN,
                _ => rng.range(3 * MIN, 16 * MIN),
            };
            let started = shown_at + (cook / 2).min(30_000);
            started_at.insert(station.clone(), started);
            let bumped_at = shown_at + cook;
            push(
                &mut steps,
                shown_at,
                ev(Event::TicketShown {
                    check: check.clone(),
                    ticket: ticket.clone(),
                    at_ms: screen(shown_at),
                }),
            );
            push(
                &mut steps,
                started,
                ev(Event::TicketStarted {
                    check: check.clone(),
                    ticket: ticket.clone(),
                }),
            );
            push(
                &mut steps,
                bumped_at,
                ev(Event::TicketBumped {
                    check: check.clone(),
                    ticket: ticket.clone(),
                    at_ms: screen(bumped_at),
                }),
            );
            let mut final_bump = bumped_at;
            let mut recalls = 0;
            if rng.chance(6) {
                recalls = 1;
                push(
                    &mut steps,
                    bumped_at + 30_000,
                    ev(Event::TicketRecalled {
                        check: check.clone(),
                        ticket: ticket.clone(),
                    }),
                );
                final_bump = bumped_at + 90_000;
                push(
                    &mut steps,
                    final_bump,
                    ev(Event::TicketBumped {
                        check: check.clone(),
                        ticket: ticket.clone(),
                        at_ms: screen(final_bump),
                    }),
                );
            }
            last_bump = last_bump.max(final_bump);
            let (server, order_type) = (
                server.to_owned(),
                if takeout { "takeout" } else { "dine_in" },
            );
            truth.tickets.push(TicketTruth {
                id: ticket,
                station: station.clone(),
                server,
                order_type,
                items: lines.iter().map(|i| truth.lines[*i].item.clone()).collect(),
                shown_ms: screen(shown_at),
                bumped_ms: screen(final_bump),
                recalls,
                voided: false,
            });
        }
        if let Some(i) = void_target {
            let l = &mut truth.lines[i];
            let station = l.stations[0].clone();
            let ticket_start = started_at[&station];
            let at = if void_kind < 8 {
                Some(ticket_start - 10_000)
            } else if void_kind < 12 {
                l.wasted = true;
                Some(ticket_start + 10_000)
            } else {
                None
            };
            if let Some(at) = at {
                l.state = "voided";
                // The ticket loses this item (its other items keep it going).
                let item = l.item.clone();
                let others_have_item = truth.lines.iter().any(|o| {
                    o.check == check
                        && o.line != truth.lines[i].line
                        && o.item == item
                        && o.stations.contains(&station)
                });
                if !others_have_item
                    && let Some(t) =
                        truth.tickets.iter_mut().rev().find(|t| {
                            t.station == station && t.id.starts_with(&format!("{check}/"))
                        })
                {
                    t.items.remove(&item);
                }
                push(
                    &mut steps,
                    at,
                    ev(Event::LineVoided {
                        check: check.clone(),
                        line: truth.lines[i].line.clone(),
                        manager: "boss".into(),
                        reason: "guest changed their mind".into(),
                    }),
                );
            }
        }
        // A comp or a line discount on a line still sold.
        let adjust = rng.below(100);
        if let Some(i) = truth
            .lines
            .iter()
            .position(|l| l.check == check && l.state == "sold")
        {
            if adjust < 6 {
                truth.lines[i].state = "comped";
                push(
                    &mut steps,
                    sent + 60_000,
                    ev(Event::LineComped {
                        check: check.clone(),
                        line: truth.lines[i].line.clone(),
                        manager: "boss".into(),
                        reason: "long wait".into(),
                    }),
                );
            } else if adjust < 12 {
                let gross = truth.lines[i].gross;
                truth.lines[i].discount = round_cents(Decimal::new(gross, 2) * dec!(0.10));
                push(
                    &mut steps,
                    sent + 60_000,
                    ev(Event::LineDiscounted {
                        check: check.clone(),
                        line: truth.lines[i].line.clone(),
                        discount: DiscountRecord::Percent(dec!(10)),
                        manager: "boss".into(),
                        reason: "regular".into(),
                    }),
                );
            }
        }
        let food_only = truth.lines_of(&check).all(|l| !l.alcohol);
        let net: i64 = truth.lines_of(&check).map(LineTruth::net).sum();
        if food_only && net > 1_000 && rng.chance(8) {
            if let Some(c) = truth.checks.get_mut(&check) {
                c.check_discount = 500;
            }
            push(
                &mut steps,
                sent + 70_000,
                ev(Event::CheckDiscounted {
                    check: check.clone(),
                    discount: DiscountRecord::Amount(Money::from_minor(500)),
                    manager: "boss".into(),
                    reason: "birthday".into(),
                }),
            );
        }
        let paid_at = last_bump.max(sent + 5 * MIN) + rng.range(10 * MIN, 30 * MIN);
        push(
            &mut steps,
            paid_at,
            Step::Payment {
                check: check.clone(),
            },
        );
    }
    steps.sort_by_key(|(at, n, _)| (*at, *n));

    let mut cash_taken = 0i64;
    for (at, _, step) in steps {
        match step {
            Step::Event(e) => d.at(at, *e),
            Step::Payment { check } => {
                let total = truth.total(&check);
                let split = rng.chance(20);
                let parts = if split {
                    vec![total / 2, total - total / 2]
                } else {
                    vec![total]
                };
                for (k, amount) in parts.into_iter().enumerate() {
                    let card = rng.chance(65);
                    let tip = if card {
                        round_cents(Decimal::new(amount, 2) * Decimal::new(15 + rng.range(0, 6), 2))
                    } else {
                        0
                    };
                    let payment = format!("{check}-p{k}");
                    let (tender, name) = if card {
                        (Tender::Card, "card")
                    } else {
                        cash_taken += amount;
                        (Tender::Cash, "cash")
                    };
                    d.at(
                        at + i64::try_from(k).expect("k") * 1000,
                        Event::PaymentTaken {
                            check: check.clone(),
                            payment: payment.clone(),
                            tender,
                            amount: Money::from_minor(amount),
                            tip: Money::from_minor(tip),
                            seat: None,
                            card: card.then(|| CardRecord {
                                token: format!("tok_{payment}xx"),
                                brand: CardBrand::Visa,
                                last4: "4242".into(),
                                auth_code: Some("A1B2C3".into()),
                                reference: format!("{payment}-key"),
                                partial: false,
                                offline_expires_ms: None,
                                offline_approved_by: None,
                            }),
                            cash: (!card).then(|| CashRecord {
                                tendered: Money::from_minor(amount),
                                change: Money::ZERO,
                                drawer: "t1".into(),
                            }),
                            staff: truth.checks[&check].server.clone(),
                        },
                    );
                    if let Some(c) = truth.checks.get_mut(&check) {
                        c.payments.push((name, amount, tip));
                    }
                }
                let closed = at + 5_000;
                d.at(
                    closed,
                    Event::CheckClosed {
                        check: check.clone(),
                    },
                );
                if let Some(c) = truth.checks.get_mut(&check) {
                    c.closed_ms = closed;
                }
            }
        }
    }
    truth.drawer_expected = truth.drawer_float + cash_taken;
    truth.drawer_counted = truth.drawer_expected - 200;
    d.at(
        ny_ms(2026, 5, 1, 23, 0),
        Event::DrawerCounted {
            drawer: "t1".into(),
            counted: Money::from_minor(truth.drawer_counted),
            expected: Money::from_minor(truth.drawer_expected),
            staff: "boss".into(),
        },
    );
    (d, truth)
}

fn close_day(d: &Device, at: i64, business_day: &str) {
    d.clock.set(at);
    crate::projection::day::close_day(&d.journal, day(business_day)).expect("close day");
}

fn conflicts(d: &Device) -> Vec<String> {
    d.db()
        .prepare("SELECT subject || ': ' || reason FROM proj_conflicts")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows")
}

#[test]
fn every_service_time_figure_equals_what_the_generator_recorded() {
    let (d, truth) = dinner_service(120);
    assert_eq!(conflicts(&d), Vec::<String>::new(), "every event folds");
    let db = d.db();
    let period = Period::day(day("2026-05-01"));
    let now = ny_ms(2026, 5, 1, 21, 30);
    let report = service_time_report(
        &db,
        period,
        &ServiceOptions {
            now_ms: Some(now),
            ..ServiceOptions::default()
        },
    )
    .expect("report");
    assert!(
        truth.finished().count() > 250,
        "a real service: {}",
        truth.tickets.len()
    );

    assert_eq!(report.all, Truth::figures(truth.finished()), "all tickets");
    let stations: BTreeSet<&str> = truth.finished().map(|t| t.station.as_str()).collect();
    assert_eq!(stations.len(), 4, "four stations");
    assert_eq!(report.by_station.len(), 4);
    for g in &report.by_station {
        let expected = Truth::figures(truth.finished().filter(|t| t.station == g.key));
        assert_eq!(g.figures, expected, "station {}", g.key);
    }
    for g in &report.by_server {
        let expected = Truth::figures(truth.finished().filter(|t| t.server == g.key));
        assert_eq!(g.figures, expected, "server {}", g.key);
    }
    assert_eq!(report.by_server.len(), SERVERS.len());
    for g in &report.by_order_type {
        let expected = Truth::figures(truth.finished().filter(|t| t.order_type == g.key));
        assert_eq!(g.figures, expected, "order type {}", g.key);
    }
    let items: BTreeSet<&String> = truth.finished().flat_map(|t| &t.items).collect();
    assert_eq!(
        report
            .by_item
            .iter()
            .map(|g| &g.key)
            .collect::<BTreeSet<_>>(),
        items
    );
    for g in &report.by_item {
        let expected = Truth::figures(truth.finished().filter(|t| t.items.contains(&g.key)));
        assert_eq!(g.figures, expected, "item {}", g.key);
    }
    // Hours: the store's local hour of the showing, in business-day order.
    let hours: BTreeSet<u8> = truth.finished().map(|t| ny_hour(t.shown_ms)).collect();
    assert_eq!(report.by_hour.iter().map(|h| h.hour).collect::<Vec<_>>(), {
        let mut v: Vec<u8> = hours.iter().copied().collect();
        v.sort_by_key(|h| hour_rank(*h, 4));
        v
    });
    assert!(hours.contains(&17) && hours.contains(&21), "{hours:?}");
    for h in &report.by_hour {
        let expected = Truth::figures(truth.finished().filter(|t| ny_hour(t.shown_ms) == h.hour));
        assert_eq!(h.figures, expected, "hour {}", h.hour);
    }
    for s in &report.station_hours {
        for h in &s.hours {
            let expected = Truth::figures(
                truth
                    .finished()
                    .filter(|t| t.station == s.station && ny_hour(t.shown_ms) == h.hour),
            );
            assert_eq!(h.figures, expected, "{} at {}", s.station, h.hour);
        }
    }
    // The distribution: one-minute bars of the kept times.
    let kept: Vec<i64> = truth
        .finished()
        .map(|t| t.bumped_ms - t.shown_ms)
        .filter(|t| stats::is_counted(*t))
        .collect();
    for b in &report.distribution {
        let n = kept
            .iter()
            .filter(|t| (b.from_ms..b.to_ms).contains(*t))
            .count();
        assert_eq!(b.tickets, n, "bar from {}", b.from_ms);
    }
    assert_eq!(
        report.distribution.iter().map(|b| b.tickets).sum::<usize>(),
        kept.len()
    );
    // Late tickets: past 8 minutes, longest first.
    let mut late: Vec<(i64, &str)> = truth
        .finished()
        .map(|t| (t.bumped_ms - t.shown_ms, t.id.as_str()))
        .filter(|(time, _)| stats::is_counted(*time) && *time >= 8 * MIN)
        .collect();
    late.sort_by_key(|t| std::cmp::Reverse(t.0));
    assert_eq!(report.late_count, late.len());
    assert_eq!(
        report
            .late_tickets
            .iter()
            .map(|t| t.time_ms)
            .collect::<Vec<_>>(),
        late.iter().take(50).map(|t| t.0).collect::<Vec<_>>()
    );
    // The last hour: tickets bumped in (now − 1 h, now].
    let last = report.last_hour.expect("last hour");
    let in_hour = |t: &&TicketTruth| t.bumped_ms > now - 60 * MIN && t.bumped_ms <= now;
    assert_eq!(last.all, Truth::figures(truth.finished().filter(in_hour)));
    for g in &last.by_station {
        assert_eq!(
            g.figures,
            Truth::figures(
                truth
                    .finished()
                    .filter(in_hour)
                    .filter(|t| t.station == g.key)
            )
        );
    }
    // Nothing on the days around it.
    let next = service_time_report(
        &db,
        Period::day(day("2026-05-02")),
        &ServiceOptions::default(),
    )
    .expect("report");
    assert_eq!(next.all, Figures::default());
}

#[test]
fn every_sales_figure_and_the_z_equal_what_the_generator_recorded() {
    let (d, truth) = dinner_service(120);
    assert_eq!(conflicts(&d), Vec::<String>::new());
    close_day(&d, ny_ms(2026, 5, 1, 23, 30), "2026-05-01");
    let db = d.db();
    let z = z_report(&db, day("2026-05-01")).expect("z");
    assert!(z.closed);
    let r = &z.report;
    let checks: Vec<&String> = truth.checks.keys().collect();
    assert_eq!(r.totals.checks, u64::try_from(checks.len()).expect("n"));
    assert_eq!(
        z.sales.iter().map(|s| &s.check).collect::<BTreeSet<_>>(),
        checks.iter().copied().collect::<BTreeSet<_>>()
    );
    let sold = |l: &&LineTruth| l.state != "voided";
    let gross: i64 = truth.lines.iter().filter(sold).map(|l| l.gross).sum();
    let comps: i64 = truth
        .lines
        .iter()
        .filter(|l| l.state == "comped")
        .map(|l| l.gross)
        .sum();
    let line_discounts: i64 = truth
        .lines
        .iter()
        .filter(|l| l.state == "sold")
        .map(|l| l.discount)
        .sum();
    let check_discounts: i64 = truth.checks.values().map(|c| c.check_discount).sum();
    let (sales_tax, liquor_tax): (i64, i64) = checks
        .iter()
        .map(|c| truth.taxes(c))
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let total: i64 = checks.iter().map(|c| truth.total(c)).sum();
    let paid: i64 = truth
        .checks
        .values()
        .flat_map(|c| &c.payments)
        .map(|p| p.1)
        .sum();
    let tips: i64 = truth
        .checks
        .values()
        .flat_map(|c| &c.payments)
        .map(|p| p.2)
        .sum();
    let t = &r.totals;
    assert_eq!(cents_of(t.gross), gross);
    assert_eq!(cents_of(t.comps), comps);
    assert_eq!(cents_of(t.line_discounts), line_discounts);
    assert_eq!(cents_of(t.check_discounts), check_discounts);
    assert_eq!(
        cents_of(t.net_sales),
        gross - comps - line_discounts - check_discounts
    );
    assert_eq!(cents_of(t.tax), sales_tax + liquor_tax);
    assert_eq!(cents_of(t.total), total);
    // The Z's totals equal the sum of its payments.
    assert_eq!(cents_of(t.payments), paid);
    assert_eq!(paid, total, "every check paid in full");
    assert_eq!(cents_of(t.tips), tips);
    assert_eq!(
        t.guests,
        truth.checks.values().map(|c| c.guests).sum::<u64>()
    );
    // Tax by rate.
    let taxes: BTreeMap<&str, i64> = r
        .taxes
        .iter()
        .map(|x| (x.rate.as_str(), cents_of(x.tax)))
        .collect();
    assert_eq!(
        taxes,
        BTreeMap::from([("liquor", liquor_tax), ("sales", sales_tax)])
    );
    // Tenders.
    for tender in &r.tenders {
        let mine: Vec<&(&str, i64, i64)> = truth
            .checks
            .values()
            .flat_map(|c| &c.payments)
            .filter(|p| p.0 == tender.tender)
            .collect();
        assert_eq!(tender.payments, u64::try_from(mine.len()).expect("n"));
        assert_eq!(
            cents_of(tender.amount),
            mine.iter().map(|p| p.1).sum::<i64>()
        );
        assert_eq!(cents_of(tender.tips), mine.iter().map(|p| p.2).sum::<i64>());
    }
    assert_eq!(r.tenders.len(), 2);
    // By item and category.
    for g in &r.by_item {
        let lines: Vec<&LineTruth> = truth
            .lines
            .iter()
            .filter(sold)
            .filter(|l| l.item == g.key)
            .collect();
        assert_eq!(
            g.figures.qty,
            lines.iter().map(|l| l.qty).sum::<u64>(),
            "{}",
            g.key
        );
        assert_eq!(
            cents_of(g.figures.gross),
            lines.iter().map(|l| l.gross).sum::<i64>()
        );
        assert_eq!(
            cents_of(g.figures.net),
            lines.iter().map(|l| l.net()).sum::<i64>(),
            "{}",
            g.key
        );
    }
    for g in &r.by_category {
        let lines: Vec<&LineTruth> = truth
            .lines
            .iter()
            .filter(sold)
            .filter(|l| l.category == g.key)
            .collect();
        assert!(!lines.is_empty(), "{}", g.key);
        assert_eq!(
            cents_of(g.figures.gross),
            lines.iter().map(|l| l.gross).sum::<i64>()
        );
        assert_eq!(
            cents_of(g.figures.comps),
            lines
                .iter()
                .filter(|l| l.state == "comped")
                .map(|l| l.gross)
                .sum::<i64>()
        );
    }
    // By server and by hour of closing.
    for g in &r.by_server {
        let mine: Vec<&String> = truth
            .checks
            .iter()
            .filter(|(_, c)| c.server == g.key)
            .map(|(k, _)| k)
            .collect();
        assert_eq!(g.checks, u64::try_from(mine.len()).expect("n"));
        assert_eq!(
            cents_of(g.total),
            mine.iter().map(|c| truth.total(c)).sum::<i64>()
        );
    }
    for g in &r.by_hour {
        let mine: Vec<&String> = truth
            .checks
            .iter()
            .filter(|(_, c)| format!("{:02}", ny_hour(c.closed_ms)) == g.key)
            .map(|(k, _)| k)
            .collect();
        assert_eq!(
            g.checks,
            u64::try_from(mine.len()).expect("n"),
            "hour {}",
            g.key
        );
    }
    // Voids and comps.
    let voided: Vec<&LineTruth> = truth.lines.iter().filter(|l| l.state == "voided").collect();
    assert!(!voided.is_empty());
    assert_eq!(r.voids.lines, u64::try_from(voided.len()).expect("n"));
    assert_eq!(
        cents_of(r.voids.value),
        voided.iter().map(|l| l.gross).sum::<i64>()
    );
    assert_eq!(
        r.comps.lines,
        u64::try_from(truth.lines.iter().filter(|l| l.state == "comped").count()).expect("n")
    );
    // The drawer: counted against expected.
    assert_eq!(r.drawers.len(), 1);
    assert_eq!(cents_of(r.drawers[0].counted), truth.drawer_counted);
    assert_eq!(cents_of(r.drawers[0].expected), truth.drawer_expected);
    assert_eq!(cents_of(r.drawers[0].over_short), -200);
    assert!(r.late_after_z.is_empty());
    // A void before the kitchen started gave the stock back; one after is waste.
    let waste: BTreeSet<(String, String)> = db
        .prepare("SELECT DISTINCT check_id, line_id FROM proj_stock_moves WHERE kind = 'waste'")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows");
    let expected_waste: BTreeSet<(String, String)> = truth
        .lines
        .iter()
        .filter(|l| l.wasted)
        .map(|l| (l.check.clone(), l.line.clone()))
        .collect();
    assert_eq!(waste, expected_waste);
    for l in truth
        .lines
        .iter()
        .filter(|l| l.state == "voided" && !l.wasted)
    {
        let moves: i64 = db
            .query_row(
                "SELECT COUNT(*) FROM proj_stock_moves WHERE check_id = ?1 AND line_id = ?2",
                [&l.check, &l.line],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(moves, 0, "{} gave its stock back", l.line);
    }
}

#[test]
fn a_sale_from_before_the_close_that_arrives_after_it_is_late_in_the_next_report() {
    let dir = tempfile::tempdir().expect("tmp");
    let main = store(ny_ms(2026, 5, 1, 16, 0));
    let offline = device(dir.path(), "bar-terminal", ny_ms(2026, 5, 1, 21, 0));
    let menu = menu();
    // The bar terminal sells a burger at 21:00, cut off from the store.
    let sale = [
        Event::CheckOpened {
            check: "b1".into(),
            number: "B1".into(),
            order_type: OrderType::Takeout,
            table: None,
            guests: 1,
            seats: 1,
            server: "li".into(),
            external: None,
        },
        Event::LinesAdded {
            check: "b1".into(),
            lines: vec![line_of(&menu, "classic_burger", &[], "b1-l1", 1)],
        },
        Event::ItemsSent {
            check: "b1".into(),
            send: 1,
            lines: vec!["b1-l1".into()],
        },
        Event::PaymentTaken {
            check: "b1".into(),
            payment: "b1-p".into(),
            tender: Tender::Cash,
            amount: Money::from_minor(1579),
            tip: Money::ZERO,
            seat: None,
            card: None,
            cash: None,
            staff: "li".into(),
        },
        Event::CheckClosed { check: "b1".into() },
    ];
    for (i, e) in sale.into_iter().enumerate() {
        offline.at(
            ny_ms(2026, 5, 1, 21, 0) + i64::try_from(i).expect("i") * 1000,
            e,
        );
    }
    // The store sells one check at 20:00 and closes the day at 23:30 without the bar's sale.
    let own = [
        Event::CheckOpened {
            check: "a1".into(),
            number: "A1".into(),
            order_type: OrderType::Takeout,
            table: None,
            guests: 1,
            seats: 1,
            server: "maria".into(),
            external: None,
        },
        Event::LinesAdded {
            check: "a1".into(),
            lines: vec![line_of(&menu, "cola", &[], "a1-l1", 2)],
        },
        Event::ItemsSent {
            check: "a1".into(),
            send: 1,
            lines: vec!["a1-l1".into()],
        },
        Event::PaymentTaken {
            check: "a1".into(),
            payment: "a1-p".into(),
            tender: Tender::Cash,
            amount: Money::from_minor(762),
            tip: Money::ZERO,
            seat: None,
            card: None,
            cash: None,
            staff: "maria".into(),
        },
        Event::CheckClosed { check: "a1".into() },
    ];
    for (i, e) in own.into_iter().enumerate() {
        main.at(
            ny_ms(2026, 5, 1, 20, 0) + i64::try_from(i).expect("i") * 1000,
            e,
        );
    }
    close_day(&main, ny_ms(2026, 5, 1, 23, 30), "2026-05-01");
    // After the close, on the same evening: the next business day's first sale.
    let after = [
        Event::CheckOpened {
            check: "a2".into(),
            number: "A2".into(),
            order_type: OrderType::Takeout,
            table: None,
            guests: 1,
            seats: 1,
            server: "maria".into(),
            external: None,
        },
        Event::LinesAdded {
            check: "a2".into(),
            lines: vec![line_of(&menu, "cola", &[], "a2-l1", 1)],
        },
        Event::ItemsSent {
            check: "a2".into(),
            send: 1,
            lines: vec!["a2-l1".into()],
        },
        Event::PaymentTaken {
            check: "a2".into(),
            payment: "a2-p".into(),
            tender: Tender::Cash,
            amount: Money::from_minor(381),
            tip: Money::ZERO,
            seat: None,
            card: None,
            cash: None,
            staff: "maria".into(),
        },
        Event::CheckClosed { check: "a2".into() },
    ];
    for (i, e) in after.into_iter().enumerate() {
        main.at(
            ny_ms(2026, 5, 1, 23, 45) + i64::try_from(i).expect("i") * 1000,
            e,
        );
    }
    // The bar terminal comes back: its sale arrives after the Z.
    main.journal
        .apply(
            offline
                .journal
                .all_events()
                .expect("events")
                .iter()
                .map(|e| e.to_json().into_bytes())
                .collect(),
        )
        .expect("apply");
    assert_eq!(conflicts(&main), Vec::<String>::new());
    let db = main.db();
    let z = z_report(&db, day("2026-05-01")).expect("z");
    assert!(z.closed);
    assert_eq!(
        z.sales.iter().map(|s| s.check.as_str()).collect::<Vec<_>>(),
        ["a1"],
        "the Z covers exactly what its heads cover"
    );
    assert_eq!(cents_of(z.report.totals.total), 762);
    assert_eq!(cents_of(z.report.totals.payments), 762);
    let next = z_report(&db, day("2026-05-02")).expect("next");
    assert!(!next.closed);
    assert_eq!(
        next.sales
            .iter()
            .map(|s| s.check.as_str())
            .collect::<Vec<_>>(),
        ["a2"]
    );
    assert_eq!(next.report.late_after_z.len(), 1);
    let late = &next.report.late_after_z[0];
    assert_eq!(
        (late.sale.check.as_str(), late.made_on),
        ("b1", day("2026-05-01"))
    );
    assert_eq!(cents_of(late.sale.total), 1579);
    assert_eq!(cents_of(next.report.late_after_z_total), 1579);
    // The same placement in the exports.
    let mut csv = Vec::new();
    write_csv(
        &db,
        Export::SalesLines,
        Period::day(day("2026-05-02")),
        &TimerSettings::default(),
        &mut csv,
    )
    .expect("export");
    let text = String::from_utf8(csv).expect("utf8");
    assert!(text.contains("2026-05-02,true,b1,B1,"), "{text}");
    assert!(text.contains("2026-05-02,false,a2,A2,"), "{text}");
}

/// Burgers with mixed modifiers: (modifiers, how many).
const BURGERS: [(&[&str], u32); 4] = [
    (&["medium"], 10),
    (&["medium", "no_cheese"], 10),
    (&["medium", "add_bacon"], 10),
    (&["medium", "extra_cheese", "add_bacon"], 10),
];

#[test]
fn forty_burgers_deduct_exactly_their_recipes_and_86_the_burger_at_zero() {
    let start = ny_ms(2026, 5, 1, 17, 0);
    let d = store(start);
    let menu = menu();
    // Stocked exactly for forty patties; plenty of the rest.
    for (ingredient, qty) in [
        ("beef_patty", 40),
        ("cheddar_slice", 100),
        ("bacon", 100),
        ("brioche_bun", 100),
        ("potato_fries", 10_000),
    ] {
        d.at(
            start,
            Event::StockReceived {
                ingredient: ingredient.into(),
                qty: Decimal::from(qty),
            },
        );
    }
    let mut n = 0;
    for (mods, count) in BURGERS {
        for _ in 0..count {
            n += 1;
            let check = format!("c{n}");
            let at = start + i64::from(n) * MIN;
            d.at(
                at,
                Event::CheckOpened {
                    check: check.clone(),
                    number: format!("A{n}"),
                    order_type: OrderType::Takeout,
                    table: None,
                    guests: 1,
                    seats: 1,
                    server: "jon".into(),
                    external: None,
                },
            );
            let mut record = line_of(&menu, "classic_burger", &[], &format!("{check}-l1"), 1);
            let priced = menu
                .price_line(
                    &ItemId::new("classic_burger"),
                    &mods.iter().map(|m| ModifierId::new(*m)).collect::<Vec<_>>(),
                    1,
                )
                .expect("priced");
            record = LineRecord {
                line: record.line,
                ..line_record(&NewLine {
                    id: LineId::new(format!("{check}-l1")),
                    priced,
                    seat: None,
                    course: Course(1),
                    notes: String::new(),
                })
            };
            d.at(
                at,
                Event::LinesAdded {
                    check: check.clone(),
                    lines: vec![record],
                },
            );
            d.at(
                at,
                Event::ItemsSent {
                    check: check.clone(),
                    send: 1,
                    lines: vec![format!("{check}-l1")],
                },
            );
        }
    }
    assert_eq!(conflicts(&d), Vec::<String>::new());
    // Counted by hand from the recipe: a patty, a bun and 150 g of fries each; a cheddar slice
    // unless "no cheese", one more with "extra cheese"; two rashers with "add bacon".
    let db = d.db();
    let r = stock_report(
        &db,
        Period::day(day("2026-05-01")),
        &StockOptions::default(),
    )
    .expect("stock");
    let level = |i: &str| {
        r.levels
            .iter()
            .find(|l| l.ingredient == i)
            .unwrap_or_else(|| panic!("{i} is tracked"))
    };
    assert_eq!(level("beef_patty").sold, dec!(40));
    assert_eq!(level("beef_patty").level, dec!(0));
    assert_eq!(level("brioche_bun").sold, dec!(40));
    assert_eq!(level("cheddar_slice").sold, dec!(10) + dec!(10) + dec!(20));
    assert_eq!(level("bacon").sold, dec!(20) + dec!(20));
    assert_eq!(level("potato_fries").sold, dec!(6000));
    assert_eq!(level("cheddar_slice").level, dec!(60));
    assert_eq!(level("bacon").level, dec!(60));
    assert!(level("beef_patty").out);
    assert!(r.low_stock.first().is_some_and(|i| i == "beef_patty"));
    assert!(r.eighty_sixed.iter().any(|i| i == "classic_burger"));
    assert!(r.oversold.is_empty());
    // A terminal that was cut off sold one more: accepted, and shown as oversold.
    let late = line_of(&menu, "classic_burger", &["no_cheese"], "c41-l1", 1);
    for e in [
        Event::CheckOpened {
            check: "c41".into(),
            number: "B1".into(),
            order_type: OrderType::Takeout,
            table: None,
            guests: 1,
            seats: 1,
            server: "li".into(),
            external: None,
        },
        Event::LinesAdded {
            check: "c41".into(),
            lines: vec![late],
        },
        Event::ItemsSent {
            check: "c41".into(),
            send: 1,
            lines: vec!["c41-l1".into()],
        },
    ] {
        d.at(start + 50 * MIN, e);
    }
    // A count finds three slices missing: variance against what was expected.
    d.at(
        start + 60 * MIN,
        Event::StockCounted {
            ingredient: "cheddar_slice".into(),
            qty: dec!(57),
        },
    );
    // Receiving patties lifts the 86.
    d.at(
        start + 61 * MIN,
        Event::StockReceived {
            ingredient: "beef_patty".into(),
            qty: dec!(10),
        },
    );
    let r = stock_report(
        &d.db(),
        Period::day(day("2026-05-01")),
        &StockOptions::default(),
    )
    .expect("stock");
    assert_eq!(r.variances.len(), 1);
    assert_eq!(
        (
            r.variances[0].expected,
            r.variances[0].counted,
            r.variances[0].variance
        ),
        (dec!(60), dec!(57), dec!(-3))
    );
    assert!(!r.eighty_sixed.iter().any(|i| i == "classic_burger"));
    assert_eq!(
        r.oversold
            .iter()
            .map(|o| (
                o.check.as_str(),
                o.line.as_str(),
                o.ingredient.as_str(),
                o.level_before
            ))
            .collect::<Vec<_>>(),
        [("c41", "c41-l1", "beef_patty", dec!(0))]
    );
    assert_eq!(
        r.levels
            .iter()
            .find(|l| l.ingredient == "beef_patty")
            .map(|l| l.level),
        Some(dec!(9))
    );
    assert_eq!(
        r.movements
            .iter()
            .map(|m| (m.ingredient.as_str(), m.kind.as_str()))
            .filter(|(i, _)| *i == "beef_patty")
            .collect::<Vec<_>>(),
        [("beef_patty", "received"), ("beef_patty", "received")]
    );
    // The levels are the ones every device shows.
    let levels = crate::projection::stock_levels(&d.db()).expect("levels");
    for l in &r.levels {
        assert_eq!(
            levels.get(&l.ingredient).map(|x| x.normalize()),
            Some(l.level)
        );
    }
}

/// Shows and bumps one ticket of a fresh takeout check.
fn ticket_at(d: &Device, menu: &Menu, n: u32, shown_ms: i64, minutes: i64) {
    let check = format!("c{n}");
    d.at(
        shown_ms - MIN,
        Event::CheckOpened {
            check: check.clone(),
            number: format!("A{n}"),
            order_type: OrderType::Takeout,
            table: None,
            guests: 1,
            seats: 1,
            server: "sam".into(),
            external: None,
        },
    );
    d.at(
        shown_ms - MIN,
        Event::LinesAdded {
            check: check.clone(),
            lines: vec![line_of(
                menu,
                "caesar_salad",
                &[],
                &format!("{check}-l1"),
                1,
            )],
        },
    );
    d.at(
        shown_ms - MIN,
        Event::ItemsSent {
            check: check.clone(),
            send: 1,
            lines: vec![format!("{check}-l1")],
        },
    );
    let ticket = ticket_id(&check, 1, &StationId::new("saute_cold"), Course(1)).to_string();
    d.at(
        shown_ms,
        Event::TicketShown {
            check: check.clone(),
            ticket: ticket.clone(),
            at_ms: shown_ms,
        },
    );
    d.at(
        shown_ms + minutes * MIN,
        Event::TicketBumped {
            check,
            ticket,
            at_ms: shown_ms + minutes * MIN,
        },
    );
}

#[test]
fn hours_are_local_and_days_are_business_days_across_daylight_saving_changes() {
    // Autumn: on 2026-11-01 New York lives 01:00–02:00 twice (EDT, then EST).
    let first_pass = chrono::DateTime::parse_from_rfc3339("2026-11-01T05:30:00Z")
        .expect("t")
        .timestamp_millis();
    let second_pass = chrono::DateTime::parse_from_rfc3339("2026-11-01T06:30:00Z")
        .expect("t")
        .timestamp_millis();
    let before_cutoff = chrono::DateTime::parse_from_rfc3339("2026-11-01T08:30:00Z")
        .expect("t")
        .timestamp_millis(); // 03:30 EST
    let after_cutoff = chrono::DateTime::parse_from_rfc3339("2026-11-01T09:30:00Z")
        .expect("t")
        .timestamp_millis(); // 04:30 EST
    // Spring: on 2026-03-08 the clock jumps from 02:00 to 03:00.
    let spring = chrono::DateTime::parse_from_rfc3339("2026-03-08T07:30:00Z")
        .expect("t")
        .timestamp_millis(); // 03:30 EDT
    let d = store(ny_ms(2026, 3, 7, 12, 0));
    let menu = menu();
    ticket_at(&d, &menu, 1, spring, 6);
    ticket_at(&d, &menu, 2, first_pass, 4);
    ticket_at(&d, &menu, 3, second_pass, 9);
    ticket_at(&d, &menu, 4, before_cutoff, 7);
    ticket_at(&d, &menu, 5, after_cutoff, 12);
    let db = d.db();
    let report = |from: &str, to: &str| {
        service_time_report(
            &db,
            Period::new(day(from), day(to)).expect("period"),
            &ServiceOptions::default(),
        )
        .expect("report")
    };
    let autumn = report("2026-10-31", "2026-10-31");
    // Both passes through 01:00 are hour 1 of the 25-hour business day of 31 October; 03:30 is
    // still that day; 04:30 is the next.
    assert_eq!(
        autumn
            .by_hour
            .iter()
            .map(|h| (h.hour, h.figures.tickets))
            .collect::<Vec<_>>(),
        [(1, 2), (3, 1)]
    );
    assert_eq!(autumn.all.median_ms, Some(7 * MIN));
    let next = report("2026-11-01", "2026-11-01");
    assert_eq!(
        next.by_hour
            .iter()
            .map(|h| (h.hour, h.figures.tickets))
            .collect::<Vec<_>>(),
        [(4, 1)]
    );
    // 03:30 EDT on the spring change belongs to the business day of 7 March, hour 3 (there is no
    // hour 2 that night).
    let spring_day = report("2026-03-07", "2026-03-07");
    assert_eq!(
        spring_day
            .by_hour
            .iter()
            .map(|h| (h.hour, h.figures.tickets))
            .collect::<Vec<_>>(),
        [(3, 1)]
    );
    // A whole year in one period, hours in business-day order (from the 04:00 cut-off).
    let year = report("2026-01-01", "2026-12-31");
    assert_eq!(
        year.by_hour.iter().map(|h| h.hour).collect::<Vec<_>>(),
        [4, 1, 3]
    );
    assert_eq!(year.all.tickets, 5);
    // Moving the store to another zone moves its hours: the facts follow the setting.
    d.at(
        after_cutoff + 60 * MIN,
        Event::SettingChanged {
            setting: SettingRecord::TimeZone("Europe/London".into()),
            by: "owner".into(),
        },
    );
    let london = service_time_report(
        &d.db(),
        Period::new(day("2026-01-01"), day("2026-12-31")).expect("period"),
        &ServiceOptions::default(),
    )
    .expect("report");
    assert_eq!(
        london.by_hour.iter().map(|h| h.hour).collect::<Vec<_>>(),
        [5, 6, 7, 8, 9]
    );
}

#[test]
fn exports_quote_properly_and_list_every_row() {
    let (d, truth) = dinner_service(30);
    let db = d.db();
    let period = Period::day(day("2026-05-01"));
    for export in Export::ALL {
        let mut out = Vec::new();
        let rows =
            write_csv(&db, export, period, &TimerSettings::default(), &mut out).expect("export");
        let mut reader = csv::Reader::from_reader(out.as_slice());
        let headers: Vec<String> = reader
            .headers()
            .expect("headers")
            .iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(headers, export.columns(), "{}", export.name());
        let records: Vec<csv::StringRecord> = reader
            .records()
            .collect::<Result<_, _>>()
            .expect("every row reads back");
        assert_eq!(records.len(), rows);
        let expected = match export {
            Export::SalesLines => truth.lines.len(),
            Export::Payments => truth.checks.values().map(|c| c.payments.len()).sum(),
            Export::TicketTimes => truth.finished().count(),
            Export::StockMovements => records.len(),
        };
        assert_eq!(rows, expected, "{}", export.name());
        if export == Export::SalesLines {
            // A modifier list holds "; " and names may hold commas: read back intact.
            let modifiers = headers
                .iter()
                .position(|h| h == "modifiers")
                .expect("column");
            assert!(records.iter().any(|r| r[modifiers].contains("; ")));
            let net = headers.iter().position(|h| h == "net").expect("column");
            let sum: i64 = records
                .iter()
                .map(|r| cents_of(r[net].parse::<Money>().expect("money")))
                .sum();
            assert_eq!(sum, truth.lines.iter().map(LineTruth::net).sum::<i64>());
        }
    }
}

#[test]
fn a_period_backwards_or_too_long_is_refused() {
    assert!(Period::new(day("2026-05-02"), day("2026-05-01")).is_err());
    assert!(Period::new(day("2000-01-01"), day("2026-05-01")).is_err());
    assert_eq!(
        Period::new(day("2026-05-01"), day("2026-05-31"))
            .expect("period")
            .days(),
        31
    );
}

#[test]
fn reports_are_the_same_after_the_projections_are_rebuilt_from_the_journal() {
    let (d, _) = dinner_service(40);
    close_day(&d, ny_ms(2026, 5, 1, 23, 30), "2026-05-01");
    let period = Period::day(day("2026-05-01"));
    let options = ServiceOptions {
        now_ms: Some(ny_ms(2026, 5, 1, 20, 0)),
        ..ServiceOptions::default()
    };
    let reports = |db: &rusqlite::Connection| {
        (
            service_time_report(db, period, &options).expect("service"),
            z_report(db, day("2026-05-01")).expect("z"),
            stock_report(db, period, &StockOptions::default()).expect("stock"),
        )
    };
    let before = reports(&d.db());
    let Device {
        _dir,
        path,
        journal,
        ..
    } = d;
    drop(journal);
    let mut conn = rusqlite::Connection::open(&path).expect("open");
    crate::projection::rebuild(&mut conn).expect("rebuild");
    drop(conn);
    let after = reports(&open_read_only(&path).expect("open"));
    assert_eq!(before, after);
    assert!(before.0.all.tickets > 100);
}

#[test]
fn a_database_from_before_the_report_facts_gets_them_from_its_journal() {
    let (d, truth) = dinner_service(20);
    let period = Period::day(day("2026-05-01"));
    let before = service_time_report(&d.db(), period, &ServiceOptions::default()).expect("report");
    let Device {
        _dir,
        path,
        journal,
        ..
    } = d;
    drop(journal);
    // As a release before the reports left it: schema 4, no report facts.
    let conn = rusqlite::Connection::open(&path).expect("open");
    conn.execute_batch(
        "DROP TABLE proj_ticket_times; DROP TABLE proj_ticket_chunks; DROP TABLE proj_sales;
         DROP TABLE proj_sale_lines; DROP TABLE proj_sale_taxes; PRAGMA user_version = 4;",
    )
    .expect("downgrade");
    drop(conn);
    assert!(crate::projection::upgrade(&path).expect("upgrade"));
    let after = service_time_report(
        &open_read_only(&path).expect("open"),
        period,
        &ServiceOptions::default(),
    )
    .expect("report");
    assert_eq!(before, after);
    assert_eq!(
        after.all.tickets + after.all.ignored,
        truth.finished().count()
    );
    assert!(
        !crate::projection::upgrade(&path).expect("again"),
        "once only"
    );
}
