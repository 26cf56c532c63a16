//! What an order terminal shows, as plain data: the screens draw these views and nothing else
//! (`fn …_ui(ui, &View) -> Option<Intent>`), and `pass terminal show …` prints them as JSON.
//!
//! - [`FloorView`]: the floor plan's tables with their state (free, or seated with guests,
//!   total, time seated, the course in progress, food ready) and who has each check open
//!   elsewhere;
//! - [`CheckView`]: a check's lines (seat, course, modifiers, sent or held, and per sent line
//!   whether the kitchen screens have it — "received ✓" — and whether it is ready), its totals
//!   to the cent as the domain computed them, and its split;
//! - [`MenuView`] and [`ModifierDialog`]: the menu by category with prices, 86'd items greyed,
//!   low ones with how many are left, and the dialog whose "Add" stays off until every required
//!   choice is made;
//! - [`StatusView`]: who is signed in, whether the terminal is cut off from its peers and how
//!   many of its events none has confirmed, and the items running low.
//!
//! Built from the projections and the check's fold; reading only.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;
use serde::Serialize;

use super::floor::{FloorPlan, Shape};
use super::intents::PartView;
use crate::device::Link;
use crate::domain::Money;
use crate::domain::check::{Check, CheckLine, CheckState, Course, SplitPart};
use crate::domain::hlc::HlcStamp;
use crate::domain::menu::{ItemId, Menu, ModifierId};
use crate::domain::order::OrderType;
use crate::domain::ticket::{ItemState, Ticket, TicketState};
use crate::event::SplitRecord;
use crate::projection::LowItem;
use crate::projection::fold::split_record;

/// A person, as the status bar names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonView {
    pub staff: String,
    pub name: String,
    pub role: String,
}

/// The status bar: who is signed in, the link to the rest of the store, and what runs low.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusView {
    pub device: String,
    pub signed_in: Option<PersonView>,
    pub connected: bool,
    /// No peer heard for a while: orders are still taken and kept, and go out once a peer is
    /// back. The screen must say so.
    pub cut_off: bool,
    pub cut_off_since_ms: Option<u64>,
    /// This terminal's events no peer has confirmed yet.
    pub unconfirmed: u64,
    pub peers: usize,
    /// Items with only a few portions left (under the store's `low_stock_portions`), fewest
    /// first; an item at zero is 86'd instead.
    pub low_stock: Vec<LowItem>,
}

impl StatusView {
    /// The bar for `device` over `link`, with nothing low.
    pub fn new(device: &str, signed_in: Option<PersonView>, link: &Link) -> StatusView {
        StatusView {
            device: device.to_owned(),
            signed_in,
            connected: link.connected,
            cut_off: link.cut_off_since_ms.is_some(),
            cut_off_since_ms: link.cut_off_since_ms,
            unconfirmed: link.unconfirmed,
            peers: link.peers.len(),
            low_stock: Vec::new(),
        }
    }

    /// The low-stock alert's words (the first few items, then "+N more"); `None` when nothing
    /// is low.
    pub fn low_stock_notice(&self) -> Option<String> {
        crate::projection::low_stock::notice(
            &self.low_stock,
            crate::projection::low_stock::NAMED_ON_TERMINAL,
        )
    }
}

/// The sign-in screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignInView {
    /// How many digits are typed (shown as dots).
    pub digits: usize,
    /// How long before the next PIN may be tried (after wrong ones); 0: now.
    pub wait_ms: u64,
}

/// A check open elsewhere: the device and the person who have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenOn {
    pub device: String,
    pub staff: String,
    pub name: String,
}

/// An open check as the floor shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableCheck {
    pub check: String,
    pub number: String,
    pub order_type: OrderType,
    pub table: Option<String>,
    pub guests: u32,
    pub server: String,
    pub server_name: String,
    pub total: Money,
    /// Milliseconds since the check was opened.
    pub seated_ms: i64,
    /// The first fired course the kitchen is still cooking.
    pub course_in_progress: Option<u8>,
    /// The latest course whose every ticket is bumped and not yet taken by expo.
    pub food_ready: Option<u8>,
    /// Courses sent held and not yet fired.
    pub held_courses: Vec<u8>,
    /// Open on another terminal (`None` when on none, or on this one).
    pub open_elsewhere: Option<OpenOn>,
    /// Open on this terminal.
    pub open_here: bool,
}

/// Free, or seated with one or more checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TableState {
    Free,
    Seated,
}

/// One table of the floor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableView {
    pub id: String,
    pub name: String,
    pub area: Option<String>,
    pub seats: u32,
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
    pub shape: Shape,
    pub state: TableState,
    pub checks: Vec<TableCheck>,
}

/// The "open table" dialog: a free table tapped, asking for the number of guests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenTableView {
    pub table: String,
    pub name: String,
    pub seats: u32,
}

/// The floor plan and every open check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FloorView {
    pub name: Option<String>,
    pub width: u32,
    pub height: u32,
    pub tables: Vec<TableView>,
    /// Open checks at no table of this plan (takeout, delivery, an unknown table).
    pub other_checks: Vec<TableCheck>,
    pub opening: Option<OpenTableView>,
}

/// Where a sent line is in the kitchen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineStatus {
    /// Not sent yet.
    New,
    /// Sent on a held course: the kitchen sees it greyed until the course is fired.
    Held,
    /// Sent; no kitchen screen has shown it yet.
    Sent,
    /// Every screen it went to shows it ("received ✓").
    Received,
    /// Every station bumped it.
    Ready,
    Voided,
}

impl LineStatus {
    /// The words the check shows for it.
    pub fn text(self) -> &'static str {
        match self {
            LineStatus::New => "new",
            LineStatus::Held => "held",
            LineStatus::Sent => "sent",
            LineStatus::Received => "received ✓",
            LineStatus::Ready => "ready",
            LineStatus::Voided => "void",
        }
    }
}

/// One station's part of a sent line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StationStatus {
    pub station: String,
    pub ticket: String,
    pub status: LineStatus,
}

/// A modifier on a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModifierView {
    pub name: String,
    pub forced: bool,
    pub price_delta: Money,
}

/// A line of the check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineView {
    pub line: String,
    pub item: String,
    pub name: String,
    pub qty: u32,
    pub modifiers: Vec<ModifierView>,
    pub unit_price: Money,
    /// What it adds to the subtotal (nothing when voided or comped, less its discount).
    pub amount: Money,
    pub discount: Option<Money>,
    pub seat: Option<u32>,
    pub course: u8,
    pub notes: Option<String>,
    /// Ordered after the first send.
    pub addition: bool,
    pub sent: bool,
    pub comped: bool,
    pub status: LineStatus,
    /// The words for `status` (`received ✓`).
    pub status_text: &'static str,
    pub stations: Vec<StationStatus>,
}

/// One tax rate's share of the check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RateView {
    pub name: String,
    pub percent: String,
    pub inclusive: bool,
    pub base: Money,
    pub tax: Money,
}

/// The check's totals, to the cent, as the domain computed them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TotalsView {
    pub subtotal: Money,
    pub discount: Money,
    pub tax_added: Money,
    pub tax_included: Money,
    pub total: Money,
    pub paid: Money,
    pub balance_due: Money,
    pub rates: Vec<RateView>,
}

/// The check's split and its parts now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SplitView {
    pub rule: SplitRecord,
    pub parts: Vec<PartView>,
    /// Why the recorded split no longer fits the check (split again), if it does not.
    pub problem: Option<String>,
}

/// A check as the terminal shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckView {
    pub check: String,
    pub number: String,
    pub order_type: OrderType,
    pub table: Option<String>,
    pub guests: u32,
    pub seats: u32,
    pub server: String,
    pub server_name: String,
    /// `open`, `closed` or `merged`.
    pub state: &'static str,
    pub merged_into: Option<String>,
    pub merged_from: Vec<String>,
    pub lines: Vec<LineView>,
    pub held_courses: Vec<u8>,
    /// Lines not sent yet (what "Send" would send).
    pub unsent: usize,
    pub totals: TotalsView,
    pub split: Option<SplitView>,
    pub open_elsewhere: Option<OpenOn>,
    /// Events the rules refused on this check (from devices that were cut off), with reasons.
    pub conflicts: Vec<String>,
}

/// A category button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryView {
    pub id: String,
    pub name: String,
}

/// An item button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemView {
    pub id: String,
    pub name: String,
    pub price: Money,
    /// Out: greyed, and refused when tapped.
    pub eighty_sixed: bool,
    /// Running low: how many portions are left (`None` when not low).
    pub portions_left: Option<u32>,
    /// Tapping opens the modifier dialog.
    pub has_modifiers: bool,
    /// The dialog cannot be skipped: a choice is required.
    pub has_required_choice: bool,
}

/// The menu panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MenuView {
    pub categories: Vec<CategoryView>,
    pub category: Option<String>,
    pub items: Vec<ItemView>,
}

/// One choice of the modifier dialog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OptionView {
    pub id: String,
    pub name: String,
    pub price_delta: Money,
    pub chosen: bool,
}

/// One group of the modifier dialog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupView {
    pub id: String,
    pub name: String,
    /// Choose exactly one.
    pub forced: bool,
    pub min: u32,
    pub max: u32,
    pub options: Vec<OptionView>,
    /// Its rule is met by the choices made.
    pub satisfied: bool,
}

/// The modifier dialog of the item being added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModifierDialog {
    pub item: String,
    pub name: String,
    pub qty: u32,
    pub groups: Vec<GroupView>,
    /// The unit price with the choices made.
    pub unit_price: Money,
    /// "Add" may be pressed: every group's rule is met.
    pub can_add: bool,
    /// The groups still waiting for a choice, by name.
    pub missing: Vec<String>,
}

/// Where new lines go, and with what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingView {
    pub seat: Option<u32>,
    pub course: u8,
    pub qty: u32,
    pub notes: String,
}

/// The ordering screen: the check, the menu and the dialog if one is open.
/// Where a check can go (move) or come from (merge): a table of the floor plan and the open
/// checks on it, or an open check on no table (a tab, takeout).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Elsewhere {
    /// The table, or `None` for the checks on no table.
    pub table: Option<String>,
    pub name: String,
    /// Open checks there, other than the one shown: (check id, order number).
    pub checks: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderView {
    pub check: CheckView,
    pub menu: MenuView,
    pub pending: PendingView,
    pub dialog: Option<ModifierDialog>,
    /// Every table and the other open checks, for moving this check or merging another in.
    pub elsewhere: Vec<Elsewhere>,
}

/// The floor as move and merge choices, leaving out `shown`.
pub fn elsewhere(floor: &FloorView, shown: &str) -> Vec<Elsewhere> {
    let others = |checks: &[TableCheck]| -> Vec<(String, String)> {
        checks
            .iter()
            .filter(|c| c.check != shown)
            .map(|c| (c.check.clone(), c.number.clone()))
            .collect()
    };
    let mut out: Vec<Elsewhere> = floor
        .tables
        .iter()
        .map(|t| Elsewhere {
            table: Some(t.id.clone()),
            name: t.name.clone(),
            checks: others(&t.checks),
        })
        .collect();
    out.push(Elsewhere {
        table: None,
        name: "Tabs and takeout".to_owned(),
        checks: others(&floor.other_checks),
    });
    out
}

/// Which screen fills the terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "screen", rename_all = "snake_case")]
pub enum ScreenView {
    SignIn(SignInView),
    Floor(FloorView),
    Order(Box<OrderView>),
}

/// Everything the terminal shows now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct View {
    pub status: StatusView,
    pub screen: ScreenView,
    /// The last refusal or notice, until the next touch.
    pub notice: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Builders

/// Staff ids to names (ids stand in for people the list does not know).
pub fn staff_names(db: &Connection) -> rusqlite::Result<BTreeMap<String, String>> {
    Ok(crate::projection::staff(db)?
        .into_iter()
        .map(|s| (s.id().to_string(), s.name().to_owned()))
        .collect())
}

fn name_of(names: &BTreeMap<String, String>, id: &str) -> String {
    names.get(id).cloned().unwrap_or_else(|| id.to_owned())
}

fn open_on(
    names: &BTreeMap<String, String>,
    here: &str,
    device: Option<String>,
    staff: Option<String>,
) -> (Option<OpenOn>, bool) {
    match (device, staff) {
        (Some(device), _) if device == here => (None, true),
        (Some(device), Some(staff)) => (
            Some(OpenOn {
                device,
                name: name_of(names, &staff),
                staff,
            }),
            false,
        ),
        _ => (None, false),
    }
}

/// Per course of one check: (any fired ticket still cooking, all fired tickets done, all held).
#[derive(Default)]
struct CourseProgress {
    cooking: bool,
    done: bool,
    held: bool,
    fired: bool,
}

/// The floor at `now_ms`, for the terminal `device`.
pub fn floor_view(
    db: &Connection,
    plan: &FloorPlan,
    device: &str,
    now_ms: i64,
) -> rusqlite::Result<FloorView> {
    let names = staff_names(db)?;
    let mut progress: BTreeMap<String, BTreeMap<u8, CourseProgress>> = BTreeMap::new();
    {
        let mut stmt = db.prepare_cached(
            "SELECT t.check_id, t.course, t.state, t.held,
                 EXISTS(SELECT 1 FROM proj_expo x WHERE x.check_id = t.check_id AND x.course = t.course)
             FROM proj_tickets t JOIN proj_checks c ON c.check_id = t.check_id
             WHERE c.state = 'open' AND t.state != 'voided'",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, u8>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, bool>(3)?,
                r.get::<_, bool>(4)?,
            ))
        })?;
        for row in rows {
            let (check, course, state, held, expo_done) = row?;
            let p = progress
                .entry(check)
                .or_default()
                .entry(course)
                .or_insert_with(|| CourseProgress {
                    done: true,
                    held: true,
                    ..CourseProgress::default()
                });
            p.held &= held;
            if !held {
                p.fired = true;
                let finished = state == "done";
                p.cooking |= !finished;
                p.done &= finished && !expo_done;
            } else {
                p.done = false;
            }
        }
    }
    let mut checks: Vec<TableCheck> = Vec::new();
    {
        let mut stmt = db.prepare_cached(
            "SELECT check_id, number, order_type, table_id, guests, server, total_cents, opened_hlc,
                 open_on_device, open_on_staff
             FROM proj_checks WHERE state = 'open' ORDER BY opened_hlc, check_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, u32>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, i64>(7)?,
                r.get::<_, Option<String>>(8)?,
                r.get::<_, Option<String>>(9)?,
            ))
        })?;
        for row in rows {
            let (check, number, order_type, table, guests, server, total, opened, dev, staff) =
                row?;
            let courses = progress.remove(&check).unwrap_or_default();
            let opened_ms = HlcStamp(u64::try_from(opened).unwrap_or(0)).physical_ms();
            let (open_elsewhere, open_here) = open_on(&names, device, dev, staff);
            checks.push(TableCheck {
                number,
                order_type: serde_json::from_value(serde_json::Value::String(order_type))
                    .unwrap_or(OrderType::DineIn),
                table,
                guests,
                server_name: name_of(&names, &server),
                server,
                total: Money::from_minor(total),
                seated_ms: now_ms
                    .saturating_sub(i64::try_from(opened_ms).unwrap_or(i64::MAX))
                    .max(0),
                course_in_progress: courses
                    .iter()
                    .find(|(_, p)| p.fired && p.cooking)
                    .map(|(c, _)| *c),
                food_ready: courses
                    .iter()
                    .rev()
                    .find(|(_, p)| p.fired && p.done)
                    .map(|(c, _)| *c),
                held_courses: courses
                    .iter()
                    .filter(|(_, p)| p.held)
                    .map(|(c, _)| *c)
                    .collect(),
                open_elsewhere,
                open_here,
                check,
            });
        }
    }
    let mut tables = Vec::with_capacity(plan.tables().len());
    for t in plan.tables() {
        let at: Vec<TableCheck> = checks
            .iter()
            .filter(|c| c.table.as_deref() == Some(t.id.as_str()))
            .cloned()
            .collect();
        tables.push(TableView {
            id: t.id.clone(),
            name: t.name.clone(),
            area: t.area.clone(),
            seats: t.seats,
            x: t.x,
            y: t.y,
            w: t.w,
            h: t.h,
            shape: t.shape,
            state: if at.is_empty() {
                TableState::Free
            } else {
                TableState::Seated
            },
            checks: at,
        });
    }
    let other_checks = checks
        .into_iter()
        .filter(|c| c.table.as_deref().is_none_or(|t| plan.table(t).is_none()))
        .collect();
    Ok(FloorView {
        name: plan.name.clone(),
        width: plan.width,
        height: plan.height,
        tables,
        other_checks,
        opening: None,
    })
}

fn parts_view(parts: &[SplitPart]) -> Vec<PartView> {
    parts
        .iter()
        .map(|p| PartView {
            seat: p.seat.map(|s| s.0),
            lines: p.lines.iter().map(ToString::to_string).collect(),
            amount: p.amount,
        })
        .collect()
}

/// A split's parts as the terminal shows them.
pub fn split_parts(parts: &[SplitPart]) -> Vec<PartView> {
    parts_view(parts)
}

/// The status of one line from the tickets that carry it.
fn line_status(
    line: &CheckLine,
    held: &BTreeSet<Course>,
    tickets: &[&Ticket],
) -> (LineStatus, Vec<StationStatus>) {
    if line.is_voided() {
        return (LineStatus::Voided, Vec::new());
    }
    if line.sent().is_none() {
        return (LineStatus::New, Vec::new());
    }
    let mut stations = Vec::new();
    for ticket in tickets {
        let Some(item) = ticket.items().iter().find(|i| &i.item.line == line.id()) else {
            continue;
        };
        let status = if item.state == ItemState::Voided {
            LineStatus::Voided
        } else if ticket.is_held() {
            LineStatus::Held
        } else if item.state == ItemState::Done || ticket.state() == TicketState::Done {
            LineStatus::Ready
        } else if ticket.shown_ms().is_some() {
            LineStatus::Received
        } else {
            LineStatus::Sent
        };
        stations.push(StationStatus {
            station: ticket.station().to_string(),
            ticket: ticket.id().to_string(),
            status,
        });
    }
    let live: Vec<LineStatus> = stations
        .iter()
        .map(|s| s.status)
        .filter(|s| *s != LineStatus::Voided)
        .collect();
    // The line is as far as its slowest station.
    let status = if live.is_empty() {
        if held.contains(&line.course()) {
            LineStatus::Held
        } else {
            LineStatus::Sent
        }
    } else if live.contains(&LineStatus::Held) {
        LineStatus::Held
    } else if live.contains(&LineStatus::Sent) {
        LineStatus::Sent
    } else if live.contains(&LineStatus::Received) {
        LineStatus::Received
    } else {
        LineStatus::Ready
    };
    (status, stations)
}

/// A check as the terminal `device` shows it, from its fold and the folds of the checks merged
/// into it (`folds`, as [`crate::projection::load_check_folds`] gives them).
pub fn check_view(
    check_id: &str,
    folds: &BTreeMap<String, crate::projection::fold::CheckFold>,
    names: &BTreeMap<String, String>,
    device: &str,
) -> Option<CheckView> {
    let fold = folds.get(check_id)?;
    let check: &Check = fold.check.as_ref()?;
    let mut tickets: Vec<&Ticket> = fold.tickets.iter().collect();
    for merged in &fold.merged_from {
        if let Some(f) = folds.get(merged.as_str()) {
            tickets.extend(f.tickets.iter());
        }
    }
    let held = check.held_courses();
    let lines: Vec<LineView> = check
        .lines()
        .iter()
        .map(|l| {
            let p = l.priced();
            let (status, stations) = line_status(l, held, &tickets);
            LineView {
                line: l.id().to_string(),
                item: p.item().to_string(),
                name: p.name().to_owned(),
                qty: p.qty(),
                modifiers: p
                    .modifiers()
                    .iter()
                    .map(|m| ModifierView {
                        name: m.name.clone(),
                        forced: m.forced,
                        price_delta: m.price_delta,
                    })
                    .collect(),
                unit_price: p.unit_price(),
                amount: l.net_amount().unwrap_or(Money::ZERO),
                discount: l.discount(),
                seat: l.seat().map(|s| s.0),
                course: l.course().0,
                notes: l.notes().map(str::to_owned),
                addition: l.is_addition(),
                sent: l.sent().is_some(),
                comped: l.comp().is_some(),
                status,
                status_text: status.text(),
                stations,
            }
        })
        .collect();
    let totals = check.totals();
    let split = check.split().map(|rule| {
        let record = split_record(Some(rule));
        match check.split_parts() {
            Some(Ok(parts)) => SplitView {
                rule: record,
                parts: parts_view(&parts),
                problem: None,
            },
            Some(Err(e)) => SplitView {
                rule: record,
                parts: Vec::new(),
                problem: Some(e.to_string()),
            },
            None => SplitView {
                rule: record,
                parts: Vec::new(),
                problem: None,
            },
        }
    });
    let (open_elsewhere, _) = open_on(
        names,
        device,
        fold.open_on.as_ref().map(|(d, _)| d.clone()),
        fold.open_on.as_ref().map(|(_, s)| s.clone()),
    );
    Some(CheckView {
        check: check.id().to_string(),
        number: check.number().to_string(),
        order_type: check.order_type(),
        table: check.table().map(ToString::to_string),
        guests: check.guests(),
        seats: check.seats(),
        server: check.server().to_string(),
        server_name: name_of(names, check.server().as_str()),
        state: match check.state() {
            CheckState::Open => "open",
            CheckState::Closed => "closed",
            CheckState::Merged => "merged",
        },
        merged_into: check.merged_into().map(ToString::to_string),
        merged_from: fold.merged_from.iter().map(ToString::to_string).collect(),
        unsent: check
            .lines()
            .iter()
            .filter(|l| l.sent().is_none() && !l.is_voided())
            .count(),
        lines,
        held_courses: held.iter().map(|c| c.0).collect(),
        totals: TotalsView {
            subtotal: totals.subtotal,
            discount: totals.discount,
            tax_added: totals.tax_added,
            tax_included: totals.tax_included,
            total: totals.total,
            paid: check.paid(),
            balance_due: check.balance_due().unwrap_or(totals.total),
            rates: totals
                .rates
                .iter()
                .map(|r| RateView {
                    name: r.rate.name().to_owned(),
                    percent: r.rate.percent().normalize().to_string(),
                    inclusive: r.rate.is_inclusive(),
                    base: r.base,
                    tax: r.tax,
                })
                .collect(),
        },
        split,
        open_elsewhere,
        conflicts: fold
            .conflicts
            .iter()
            .map(|(origin, seq, reason)| format!("{origin}/{seq}: {reason}"))
            .collect(),
    })
}

/// The menu panel: categories in menu order, the items of `category` (the first category when
/// `None` or unknown), 86'd ones marked and `low` ones with how many are left.
pub fn menu_view(
    menu: &Menu,
    eighty_sixed: &BTreeSet<ItemId>,
    low: &[LowItem],
    category: Option<&str>,
) -> MenuView {
    let categories: Vec<CategoryView> = menu
        .categories()
        .iter()
        .map(|c| CategoryView {
            id: c.id().to_string(),
            name: c.name().to_owned(),
        })
        .collect();
    let chosen = category
        .and_then(|c| menu.categories().iter().find(|k| k.id().as_str() == c))
        .or_else(|| menu.categories().first());
    let items = chosen
        .map(|c| {
            menu.items_in(c.id())
                .map(|item| {
                    let groups: Vec<_> = item
                        .modifier_groups()
                        .iter()
                        .filter_map(|g| menu.modifier_group(g))
                        .collect();
                    ItemView {
                        id: item.id().to_string(),
                        name: item.name().to_owned(),
                        price: item.price(),
                        eighty_sixed: eighty_sixed.contains(item.id()),
                        portions_left: low
                            .iter()
                            .find(|l| l.item == item.id().as_str())
                            .map(|l| l.portions_left),
                        has_modifiers: !groups.is_empty(),
                        has_required_choice: groups.iter().any(|g| g.min_choices() > 0),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    MenuView {
        categories,
        category: chosen.map(|c| c.id().to_string()),
        items,
    }
}

/// The modifier dialog for `item` with `chosen` so far. `None` when the item is not on `menu`.
pub fn modifier_dialog(
    menu: &Menu,
    item: &ItemId,
    chosen: &[ModifierId],
    qty: u32,
) -> Option<ModifierDialog> {
    let found = menu.item(item)?;
    let mut unit_price = found.price();
    let mut groups = Vec::new();
    let mut missing = Vec::new();
    for group in found
        .modifier_groups()
        .iter()
        .filter_map(|g| menu.modifier_group(g))
    {
        let mut options = Vec::new();
        let mut count = 0u32;
        for id in group.modifiers() {
            let Some(m) = menu.modifier(id) else { continue };
            let on = chosen.contains(id);
            if on {
                count += 1;
                unit_price = unit_price
                    .checked_add(m.price_delta())
                    .unwrap_or(unit_price);
            }
            options.push(OptionView {
                id: id.to_string(),
                name: m.name().to_owned(),
                price_delta: m.price_delta(),
                chosen: on,
            });
        }
        let satisfied = count >= group.min_choices() && count <= group.max_choices();
        if !satisfied {
            missing.push(group.name().to_owned());
        }
        groups.push(GroupView {
            id: group.id().to_string(),
            name: group.name().to_owned(),
            forced: group.is_forced(),
            min: group.min_choices(),
            max: group.max_choices(),
            options,
            satisfied,
        });
    }
    Some(ModifierDialog {
        item: item.to_string(),
        name: found.name().to_owned(),
        qty,
        groups,
        unit_price,
        can_add: missing.is_empty(),
        missing,
    })
}
