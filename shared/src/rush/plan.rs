//! The parties of a dinner service, drawn from a seed: who comes when, where they sit, what they
//! order, and what happens to their check (a held course, a void, a comp, a split, the tip).
//!
//! The plan is made before the service starts and depends on nothing but the menu, the tables
//! and the [`PlanOptions`]: the same seed gives the same service on every machine (ChaCha8, whose
//! output is fixed across versions).
//!
//! # The model
//!
//! - Parties arrive as a Poisson process at `checks_per_hour`; a party sits at a free table
//!   that seats it (dine-in), or orders takeout when none is free (and one in eight always does).
//! - Dine-in guests each order a main, most a drink, and two in five a side; a table shares a
//!   starter or two. Takeout orders mains and sides only.
//! - Three tables in ten hold their mains and sides as course 2: they go to the kitchen held and
//!   fire when course 1 is done (the device that sent them fires them), or when the server
//!   fires them after [`HOLD_FIRE_AFTER_MS`].
//! - One check in twenty has a line voided right after the send (a line whose tickets keep other
//!   lines, so no ticket empties), one in twenty-five a line comped before paying; one table in
//!   eight of two or more guests splits the bill, evenly or by seat.
//! - Guests stay 35–70 minutes (takeout: collected 15–25 minutes after ordering), then pay cash
//!   with a tip of 0, 10, 15, 18 or 20 %.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::domain::Money;
use crate::domain::menu::{ChoiceRule, ItemId, Menu, MenuItem, ModifierId, StationKind};

/// A held course the kitchen has not finished with is fired by hand this long after the send.
pub const HOLD_FIRE_AFTER_MS: i64 = 25 * 60_000;

/// What the plan is drawn from.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanOptions {
    pub seed: u64,
    /// The first instant a party may arrive.
    pub start_ms: i64,
    /// Parties arrive during this many minutes.
    pub minutes: u32,
    pub checks_per_hour: f64,
    /// How many servers share the floor (parties go to them in turn).
    pub servers: usize,
}

/// A table of the floor plan: its id and how many it seats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSeats {
    pub id: String,
    pub seats: u32,
}

/// One line a party orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedLine {
    pub item: ItemId,
    pub modifiers: Vec<String>,
    /// `None`: for the table.
    pub seat: Option<u32>,
    pub course: u8,
    /// The price as the menu lists it: the item's price plus its modifiers' deltas.
    pub unit_price: Money,
    /// The stations the item goes to.
    pub stations: Vec<String>,
}

/// How a party splits its bill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitPlan {
    Evenly(u32),
    BySeat,
}

/// One party: one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub id: usize,
    pub arrive_ms: i64,
    /// Dine-in when true (a table is chosen at arrival), takeout otherwise.
    pub dine_in: bool,
    pub guests: u32,
    pub server: usize,
    pub lines: Vec<PlannedLine>,
    /// Course 2 is sent held.
    pub hold_course_2: bool,
    /// The line voided right after the send.
    pub void_line: Option<usize>,
    /// The line comped before paying.
    pub comp_line: Option<usize>,
    pub split: Option<SplitPlan>,
    pub tip_percent: u32,
    /// From arrival to paying.
    pub stay_ms: i64,
}

/// Items of the menu by the part of a meal they are.
struct Pools<'m> {
    drinks: Vec<&'m MenuItem>,
    starters: Vec<&'m MenuItem>,
    mains: Vec<&'m MenuItem>,
    sides: Vec<&'m MenuItem>,
}

impl<'m> Pools<'m> {
    /// Sorts the menu's items by their category's id (`starters`, `salads`, `sides`, …) and by
    /// where they go (an item only the bar makes is a drink). Anything else is a main.
    fn of(menu: &'m Menu) -> Pools<'m> {
        let bar_only = |item: &MenuItem| {
            !item.stations().is_empty()
                && item
                    .stations()
                    .iter()
                    .all(|s| s.as_str().contains("bar") || s.as_str().contains("drink"))
        };
        let mut pools = Pools {
            drinks: Vec::new(),
            starters: Vec::new(),
            mains: Vec::new(),
            sides: Vec::new(),
        };
        for item in menu.items() {
            if item.stations().is_empty()
                || item.stations().iter().any(|s| {
                    menu.station(s)
                        .is_some_and(|st| st.kind() == StationKind::Expo)
                })
            {
                continue;
            }
            let category = item.category().as_str();
            if bar_only(item) {
                pools.drinks.push(item);
            } else if category.contains("starter") || category.contains("salad") {
                pools.starters.push(item);
            } else if category.contains("side") {
                pools.sides.push(item);
            } else if category.contains("dessert") {
                continue;
            } else {
                pools.mains.push(item);
            }
        }
        if pools.mains.is_empty() {
            pools.mains = menu.items().iter().collect();
        }
        pools
    }
}

/// Chooses an item's modifiers: every forced group's minimum, and now and then an optional one.
fn choose_modifiers(menu: &Menu, item: &MenuItem, rng: &mut ChaCha8Rng) -> Vec<String> {
    let mut chosen = Vec::new();
    for group_id in item.modifier_groups() {
        let Some(group) = menu.modifier_group(group_id) else {
            continue;
        };
        let offered = group.modifiers();
        if offered.is_empty() {
            continue;
        }
        let want = match group.rule() {
            ChoiceRule::Forced => 1,
            ChoiceRule::Optional { min, max } => {
                if min > 0 || rng.random_bool(0.25) {
                    min.max(1).min(max)
                } else {
                    0
                }
            }
        };
        let mut pool: Vec<_> = offered.to_vec();
        for _ in 0..want.min(pool.len() as u32) {
            let i = rng.random_range(0..pool.len());
            chosen.push(pool.swap_remove(i).as_str().to_owned());
        }
    }
    chosen
}

fn line(
    menu: &Menu,
    item: &MenuItem,
    seat: Option<u32>,
    course: u8,
    rng: &mut ChaCha8Rng,
) -> PlannedLine {
    let modifiers = choose_modifiers(menu, item, rng);
    let mut unit_price = item.price();
    for m in &modifiers {
        if let Some(found) = menu.modifier(&ModifierId::new(m.clone())) {
            unit_price = unit_price
                .checked_add(found.price_delta())
                .unwrap_or(unit_price);
        }
    }
    PlannedLine {
        item: item.id().clone(),
        modifiers,
        seat,
        course,
        unit_price,
        stations: item
            .stations()
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect(),
    }
}

fn pick<'a, T>(pool: &'a [T], rng: &mut ChaCha8Rng) -> Option<&'a T> {
    (!pool.is_empty()).then(|| &pool[rng.random_range(0..pool.len())])
}

/// A line that can be voided without emptying a ticket: every station it goes to has another
/// line of the same course.
fn voidable(lines: &[PlannedLine], rng: &mut ChaCha8Rng) -> Option<usize> {
    let candidates: Vec<usize> = (0..lines.len())
        .filter(|&i| {
            lines[i].stations.iter().all(|s| {
                lines.iter().enumerate().any(|(j, other)| {
                    j != i && other.course == lines[i].course && other.stations.contains(s)
                })
            })
        })
        .collect();
    pick(&candidates, rng).copied()
}

/// Draws the service's parties.
pub fn plan(menu: &Menu, tables: &[TableSeats], options: &PlanOptions) -> Vec<Party> {
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let pools = Pools::of(menu);
    let largest = tables
        .iter()
        .map(|t| t.seats)
        .max()
        .unwrap_or(4)
        .clamp(1, 6);
    let end_ms = options.start_ms + i64::from(options.minutes) * 60_000;
    let mean_gap_ms = 3_600_000.0 / options.checks_per_hour.max(0.01);
    let mut parties = Vec::new();
    let mut at = options.start_ms as f64;
    loop {
        // Exponential gaps: a Poisson process.
        let u: f64 = rng.random_range(f64::EPSILON..1.0);
        at += -u.ln() * mean_gap_ms;
        let arrive_ms = at as i64;
        if arrive_ms >= end_ms {
            break;
        }
        let id = parties.len();
        let dine_in = !tables.is_empty() && !rng.random_bool(0.125);
        let guests = if dine_in {
            rng.random_range(1..=largest.min(4))
        } else {
            1
        };
        let hold_course_2 = dine_in && rng.random_bool(0.3);
        let main_course = if hold_course_2 { 2 } else { 1 };
        let mut lines = Vec::new();
        if dine_in {
            for _ in 0..rng.random_range(0..=guests.div_ceil(2)) {
                if let Some(item) = pick(&pools.starters, &mut rng) {
                    lines.push(line(menu, item, None, 1, &mut rng));
                }
            }
        }
        for seat in 1..=guests {
            let seat_of = dine_in.then_some(seat);
            if dine_in
                && rng.random_bool(0.8)
                && let Some(item) = pick(&pools.drinks, &mut rng)
            {
                lines.push(line(menu, item, seat_of, 1, &mut rng));
            }
            if let Some(item) = pick(&pools.mains, &mut rng) {
                lines.push(line(menu, item, seat_of, main_course, &mut rng));
            }
            if rng.random_bool(0.4)
                && let Some(item) = pick(&pools.sides, &mut rng)
            {
                lines.push(line(menu, item, seat_of, main_course, &mut rng));
            }
        }
        let void_line = if rng.random_bool(0.05) {
            voidable(&lines, &mut rng)
        } else {
            None
        };
        let comp_line = if rng.random_bool(0.04) {
            let candidates: Vec<usize> =
                (0..lines.len()).filter(|&i| Some(i) != void_line).collect();
            pick(&candidates, &mut rng).copied()
        } else {
            None
        };
        let split = if dine_in && guests >= 2 && rng.random_bool(0.125) {
            Some(if rng.random_bool(0.5) {
                SplitPlan::BySeat
            } else {
                SplitPlan::Evenly(guests.min(2 + rng.random_range(0..=1)))
            })
        } else {
            None
        };
        let tip_percent = [0, 10, 15, 18, 20][rng.random_range(0..5)];
        let stay_ms = if dine_in {
            rng.random_range(35..=70) * 60_000
        } else {
            rng.random_range(15..=25) * 60_000
        };
        parties.push(Party {
            id,
            arrive_ms,
            dine_in,
            guests,
            server: id % options.servers.max(1),
            lines,
            hold_course_2,
            void_line,
            comp_line,
            split,
            tip_percent,
            stay_ms,
        });
    }
    parties
}

/// How long a station's ticket takes to cook: the longest prep time of its items (the menu's
/// `prep_secs`, or the station's usual time where an item has none), times 0.7 to 1.5.
pub fn prep_ms(items: &[&MenuItem], station: &str, rng: &mut ChaCha8Rng) -> i64 {
    let usual = match station {
        s if s.contains("bar") => 120,
        s if s.contains("fry") => 300,
        s if s.contains("grill") => 600,
        _ => 420,
    };
    let longest = items
        .iter()
        .map(|i| i.prep_secs())
        .filter(|&s| s > 0)
        .max()
        .unwrap_or(usual);
    let factor: f64 = rng.random_range(0.7..1.5);
    // Never under 30 s: a cook reads the ticket first.
    ((f64::from(longest) * factor) as i64).max(30) * 1000
}

/// How many parties of the plan order each item (for the documentation and tests).
pub fn items_ordered(parties: &[Party]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for p in parties {
        for l in &p.lines {
            *out.entry(l.item.as_str().to_owned()).or_insert(0) += 1;
        }
    }
    out
}
