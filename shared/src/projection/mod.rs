//! Projections: what screens and reports read, derived from the journal.
//!
//! Kept in the device's database, updated in the same transaction as each accepted event, and
//! rebuildable from the journal at any time ([`rebuild`]). Every projection is a function of the
//! *set* of events, never of their arrival order:
//!
//! - a check and its tickets are re-folded from all of that check's events in (HLC, origin, seq)
//!   order whenever one of them arrives ([`fold`]); checks linked by a merge are re-folded
//!   together, from the events of all of them;
//! - the menu, store settings, 86 state, staff records and who is clocked in are registers
//!   where the last event in that order wins;
//! - stock levels are sums of movements keyed by what caused them; a count sets the level as of
//!   its place in the order, and later movements add to it. Sales are movements derived from the
//!   checks (on send or on payment, per the store setting), never events of their own.
//!
//! An event naming a check that has not arrived yet simply waits in the check's event set: the
//! fold reports it as a conflict until the opening arrives, then folds it normally.

pub mod day;
pub mod fold;
pub mod low_stock;
pub mod payments;
pub(crate) mod report_facts;

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use rusqlite::{Connection, OptionalExtension, params};
use rust_decimal::Decimal;

use crate::domain::business_day::{SettingChange, StockDeduction, StoreSettings};
use crate::domain::check::CheckState;
use crate::domain::menu::{ItemId, Menu, ModifierId};
use crate::domain::ticket::{ItemState, Priority, TicketState};
use crate::event::{Event, SettingRecord};
use crate::journal::{AcceptedEvent, Projector};
use fold::{CheckFold, FoldKey, fold_check, fold_checks};
pub use low_stock::{LowItem, low_stock};

/// The store's projections. Add it to a journal with `Journal::open_with`.
#[derive(Debug, Default)]
pub struct StoreProjections {
    /// The current menu, parsed once per change, with the (hlc, origin, seq) of its event.
    menu: Option<((i64, String, i64), Menu)>,
    /// Events this device must write because of what it applied.
    follow_ups: Vec<Event>,
}

impl StoreProjections {
    pub fn new() -> StoreProjections {
        StoreProjections::default()
    }
}

fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn cents(m: crate::domain::Money) -> i64 {
    m.minor_units().unwrap_or(i64::MAX)
}

/// Writes a register if this event comes later in fold order than what it holds; returns
/// whether it changed.
fn write_register(db: &Connection, key: &str, at: &FoldKey, value: &str) -> rusqlite::Result<bool> {
    let changed = db
        .prepare_cached(
            "INSERT INTO proj_registers (key, hlc, origin, seq, value) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (key) DO UPDATE SET hlc = excluded.hlc, origin = excluded.origin,
                 seq = excluded.seq, value = excluded.value
             WHERE (excluded.hlc, excluded.origin, excluded.seq) > (proj_registers.hlc, proj_registers.origin, proj_registers.seq)",
        )?
        .execute(params![key, i64_of(at.hlc), at.origin, i64_of(at.seq), value])?;
    Ok(changed > 0)
}

/// The value of a register.
pub fn register(db: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    db.prepare_cached("SELECT value FROM proj_registers WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()
}

/// A published menu, named by its event's place in fold order: (hlc, origin, seq).
pub type MenuVersion = (i64, String, i64);

/// Which menu is in force; `None` before any is published. A cheap lookup, for readers that
/// parse the menu only when it changes.
pub fn menu_version(db: &Connection) -> rusqlite::Result<Option<MenuVersion>> {
    db.prepare_cached("SELECT hlc, origin, seq FROM proj_registers WHERE key = 'menu'")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()
}

/// The store's settings as the journal has set them (defaults where nothing was set). A value
/// this build cannot accept (a time zone it does not know) is logged and the default kept.
pub fn store_settings(db: &Connection) -> rusqlite::Result<StoreSettings> {
    let mut stmt = db.prepare_cached(
        "SELECT key, value FROM proj_registers WHERE key LIKE 'setting:%' ORDER BY key",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut settings = StoreSettings::default();
    for row in rows {
        let (key, value) = row?;
        let name = key.trim_start_matches("setting:");
        match SettingChange::parse(name, &value).and_then(|c| settings.apply(&c)) {
            Ok(next) => settings = next,
            Err(e) => {
                tracing::warn!(setting = name, %value, error = %e, "store setting not applied")
            }
        }
    }
    Ok(settings)
}

fn setting_key(s: &SettingRecord) -> (&'static str, String) {
    match s {
        SettingRecord::DeductStockOn(v) => ("deduct_stock_on", v.clone()),
        SettingRecord::DayCutoffHour(h) => ("day_cutoff_hour", h.to_string()),
        SettingRecord::TimeZone(tz) => ("time_zone", tz.clone()),
        SettingRecord::OfflineCardCap(m) => ("offline_card_cap", m.to_string()),
        SettingRecord::LowStockPortions(n) => ("low_stock_portions", n.to_string()),
    }
}

impl StoreProjections {
    fn menu(&mut self, db: &Connection) -> rusqlite::Result<Option<&Menu>> {
        // Which menu event is in force: a cheap lookup; the text is read and parsed only when
        // it changes (this runs for every check event).
        let Some(version) = db
            .prepare_cached("SELECT hlc, origin, seq FROM proj_registers WHERE key = 'menu'")?
            .query_row([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .optional()?
        else {
            return Ok(None);
        };
        if self.menu.as_ref().is_none_or(|(v, _)| *v != version) {
            let text = register(db, "menu")?.unwrap_or_default();
            match Menu::from_toml_str(&text) {
                Ok(menu) => self.menu = Some((version, menu)),
                Err(e) => {
                    tracing::error!(error = %e, "the published menu does not load; stock is not deducted");
                    self.menu = None;
                }
            }
        }
        Ok(self.menu.as_ref().map(|(_, m)| m))
    }

    /// Re-folds one check, and every check linked to it by a merge, from all their events and
    /// rewrites their rows. Returns the fold of `check_id`.
    fn refold(&mut self, db: &Connection, check_id: &str) -> rusqlite::Result<CheckFold> {
        let (members, events) = component_events(db, check_id)?;
        let mut folds = fold_checks(events);
        for member in &members {
            let fold = folds.remove(member.as_str()).unwrap_or_default();
            self.write_fold(db, member, &fold)?;
            if member == check_id {
                folds.insert(member.clone(), fold);
            }
        }
        Ok(folds.remove(check_id).unwrap_or_default())
    }

    fn write_fold(
        &mut self,
        db: &Connection,
        check_id: &str,
        fold: &CheckFold,
    ) -> rusqlite::Result<()> {
        for table in [
            "proj_checks",
            "proj_lines",
            "proj_tickets",
            "proj_expo",
            "proj_stock_moves",
        ] {
            db.prepare_cached(&format!("DELETE FROM {table} WHERE check_id = ?1"))?
                .execute([check_id])?;
        }
        for table in report_facts::TABLES {
            db.prepare_cached(&format!("DELETE FROM {table} WHERE check_id = ?1"))?
                .execute([check_id])?;
        }
        db.prepare_cached("DELETE FROM proj_conflicts WHERE subject = ?1")?
            .execute([check_id])?;
        for (origin, seq, reason) in &fold.conflicts {
            db.prepare_cached("INSERT OR REPLACE INTO proj_conflicts (subject, origin, seq, reason) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![check_id, origin, i64_of(*seq), reason])?;
        }
        write_check(db, fold)?;
        payments::write(db, check_id, fold)?;
        let settings = store_settings(db)?;
        report_facts::write(db, check_id, fold, &settings, self.menu(db)?)?;
        self.write_sales(db, check_id, fold)
    }

    /// Stock movements of a check's sales, by the store's deduction setting.
    fn write_sales(
        &mut self,
        db: &Connection,
        check_id: &str,
        fold: &CheckFold,
    ) -> rusqlite::Result<()> {
        let Some(check) = &fold.check else {
            return Ok(());
        };
        let on = store_settings(db)?.stock_deduction();
        let closed_hlc = fold.closed.as_ref().map(|k| k.hlc);
        let Some(menu) = self.menu(db)? else {
            return Ok(());
        };
        for line in check.lines() {
            // A line voided before the kitchen started it gives its stock back (no movement);
            // one voided after was made and thrown away: waste.
            let wasted = fold.wasted_lines.contains(line.id());
            if line.is_voided() && !wasted {
                continue;
            }
            let at_hlc = match on {
                // A line merged in from another check was sold (and counted) there.
                StockDeduction::OnSend if fold.merged_lines.contains(line.id()) => None,
                StockDeduction::OnSend => line.sent().and_then(|n| fold.send_hlc.get(&n).copied()),
                StockDeduction::OnPayment if check.state() == CheckState::Closed => closed_hlc,
                StockDeduction::OnPayment => None,
            };
            let Some(at_hlc) = at_hlc else { continue };
            let kind = if wasted { "waste" } else { "sold" };
            let p = line.priced();
            let mods: Vec<ModifierId> = p.modifiers().iter().map(|m| m.id.clone()).collect();
            for (ingredient, qty) in menu.ingredients_for(p.item(), &mods, p.qty()) {
                db.prepare_cached(
                    "INSERT OR REPLACE INTO proj_stock_moves (ingredient, hlc, origin, seq, kind, qty, check_id, line_id)
                     VALUES (?1, ?2, '', 0, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![ingredient.as_str(), i64_of(at_hlc), kind, qty.to_string(), check_id, line.id().as_str()])?;
            }
        }
        Ok(())
    }

    fn refold_all(&mut self, db: &Connection) -> rusqlite::Result<()> {
        let checks: Vec<String> = db
            .prepare("SELECT DISTINCT subject FROM subject_events ORDER BY subject")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for c in checks {
            self.refold(db, &c)?;
        }
        Ok(())
    }
}

/// Events with their fold keys, as a fold takes them.
type KeyedEvents = Vec<(FoldKey, Event)>;

/// The checks linked to `check_id` by merges (itself included), and all their events, decoded,
/// with their fold keys.
fn component_events(
    db: &Connection,
    check_id: &str,
) -> rusqlite::Result<(BTreeSet<String>, KeyedEvents)> {
    let mut members = BTreeSet::from([check_id.to_owned()]);
    let mut todo = vec![check_id.to_owned()];
    let mut events = Vec::new();
    while let Some(check) = todo.pop() {
        for (key, event) in check_events(db, &check)? {
            if let Event::ChecksMerged { check: into, from } = &event {
                for side in [into, from] {
                    if members.insert(side.clone()) {
                        todo.push(side.clone());
                    }
                }
            }
            events.push((key, event));
        }
    }
    Ok((members, events))
}

/// A check's events, decoded, with their fold keys.
fn check_events(db: &Connection, check_id: &str) -> rusqlite::Result<Vec<(FoldKey, Event)>> {
    let mut stmt = db.prepare_cached(
        "SELECT s.hlc, s.origin, s.seq, e.body, e.wall_ms FROM subject_events s JOIN events e ON e.id = s.event_id
         WHERE s.subject = ?1 ORDER BY s.hlc, s.origin, s.seq",
    )?;
    let rows = stmt.query_map([check_id], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, i64>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (hlc, origin, seq, body, wall_ms) = row?;
        match serde_json::from_str::<Event>(&body) {
            Ok(event) => out.push((
                FoldKey {
                    hlc: u64::try_from(hlc).unwrap_or(0),
                    origin,
                    seq: u64::try_from(seq).unwrap_or(0),
                    wall_ms,
                },
                event,
            )),
            Err(e) => tracing::error!(check = check_id, error = %e, "stored event does not decode"),
        }
    }
    Ok(out)
}

fn ticket_state(s: TicketState) -> &'static str {
    match s {
        TicketState::New => "new",
        TicketState::Shown => "shown",
        TicketState::Started => "started",
        TicketState::Done => "done",
        TicketState::Recalled => "recalled",
        TicketState::Voided => "voided",
    }
}

fn item_state(s: ItemState) -> &'static str {
    match s {
        ItemState::New => "new",
        ItemState::Started => "started",
        ItemState::Done => "done",
        ItemState::Voided => "voided",
    }
}

fn write_check(db: &Connection, fold: &CheckFold) -> rusqlite::Result<()> {
    let Some(check) = &fold.check else {
        return Ok(());
    };
    let totals = check.totals();
    let order_type = serde_json::to_value(check.order_type())
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    db.prepare_cached(
        "INSERT INTO proj_checks (check_id, number, order_type, table_id, server, guests, state,
             subtotal_cents, discount_cents, tax_cents, total_cents, paid_cents, opened_hlc,
             closed_hlc, closed_origin, closed_seq, closed_wall_ms, open_on_device, open_on_staff)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
    )?
    .execute(params![
        check.id().as_str(),
        check.number().to_string(),
        order_type,
        check.table().map(|t| t.as_str().to_owned()),
        check.server().as_str(),
        check.guests(),
        match check.state() {
            CheckState::Open => "open",
            CheckState::Closed => "closed",
            CheckState::Merged => "merged",
        },
        cents(totals.subtotal),
        cents(totals.discount),
        totals.tax().map(cents).unwrap_or(0),
        cents(totals.total),
        cents(check.paid()),
        i64_of(fold.opened_hlc),
        fold.closed.as_ref().map(|k| i64_of(k.hlc)),
        fold.closed.as_ref().map(|k| k.origin.clone()),
        fold.closed.as_ref().map(|k| i64_of(k.seq)),
        fold.closed.as_ref().map(|k| k.wall_ms),
        fold.open_on.as_ref().map(|(d, _)| d.clone()),
        fold.open_on.as_ref().map(|(_, s)| s.clone()),
    ])?;
    for line in check.lines() {
        let p = line.priced();
        db.prepare_cached(
            "INSERT INTO proj_lines (check_id, line_id, item, name, qty, amount_cents, seat, course, sent, voided, comped)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?
        .execute(params![
            check.id().as_str(),
            line.id().as_str(),
            p.item().as_str(),
            p.name(),
            p.qty(),
            line.net_amount().map(cents).unwrap_or(0),
            line.seat().map(|s| s.0),
            line.course().0,
            line.sent(),
            line.is_voided(),
            line.comp().is_some(),
        ])?;
    }
    for t in &fold.tickets {
        let items: Vec<serde_json::Value> = t
            .items()
            .iter()
            .map(|l| {
                serde_json::json!({
                    "line": l.item.line.as_str(),
                    "name": l.item.name,
                    "qty": l.item.qty,
                    "modifiers": l.item.modifiers.iter().map(|m| serde_json::json!({"name": m.name, "forced": m.forced})).collect::<Vec<_>>(),
                    "seat": l.item.seat.map(|s| s.0),
                    "notes": l.item.notes,
                    "allergens": l.item.allergens,
                    "addition": l.item.addition,
                    "state": item_state(l.state),
                })
            })
            .collect();
        db.prepare_cached(
            "INSERT INTO proj_tickets (ticket_id, check_id, number, station, course, state, held, rush,
                 queued_hlc, shown_ms, bumped_ms, recalls, items)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?
        .execute(params![
            t.id().as_str(),
            check.id().as_str(),
            check.number().to_string(),
            t.station().as_str(),
            t.course().0,
            ticket_state(t.state()),
            t.is_held(),
            t.priority() == Priority::Rush,
            i64_of(t.queued().0),
            t.shown_ms(),
            t.bumped_ms(),
            t.recalls(),
            serde_json::Value::Array(items).to_string(),
        ])?;
    }
    for order in &fold.expo {
        if let Some(bump) = order.bumped() {
            db.prepare_cached(
                "INSERT INTO proj_expo (check_id, course, bumped_ms, force_reason) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                check.id().as_str(),
                order.course().0,
                bump.at_ms,
                bump.forced.as_ref().map(|r| r.as_str().to_owned()),
            ])?;
        }
    }
    Ok(())
}

/// A check's fold from the journal, as the projections see it now: what kitchen and terminal
/// actions check their rules against before they write an event.
pub fn load_check_fold(db: &Connection, check_id: &str) -> rusqlite::Result<CheckFold> {
    let (_, events) = component_events(db, check_id)?;
    Ok(fold_check(check_id, events))
}

/// The folds of a check and of every check linked to it by a merge, by check id: what a
/// terminal shows of a check that took others in (their tickets stay theirs).
pub fn load_check_folds(
    db: &Connection,
    check_id: &str,
) -> rusqlite::Result<BTreeMap<String, CheckFold>> {
    let (_, events) = component_events(db, check_id)?;
    Ok(fold_checks(events))
}

impl StoreProjections {
    /// An event chaining onto one version of a forked (origin, seq) settles the fork: that
    /// version enters the projections.
    fn resolve_fork(&mut self, db: &Connection, ev: &AcceptedEvent<'_>) -> rusqlite::Result<()> {
        let origin = ev.header.origin.as_str();
        let prev_seq = i64_of(ev.header.seq - 1);
        let forked: bool = db
            .prepare_cached("SELECT EXISTS(SELECT 1 FROM forks WHERE origin = ?1 AND seq = ?2)")?
            .query_row(params![origin, prev_seq], |r| r.get(0))?;
        if !forked {
            return Ok(());
        }
        self.admit_version(db, origin, prev_seq, ev.envelope.prev())
    }

    /// Lets one version of a forked (origin, seq) into the projections.
    fn admit_version(
        &mut self,
        db: &Connection,
        origin: &str,
        seq: i64,
        hash: &[u8],
    ) -> rusqlite::Result<()> {
        let chosen: Option<(i64, i64, String)> = db
            .prepare_cached(
                "SELECT id, hlc, body FROM events WHERE origin = ?1 AND seq = ?2 AND hash = ?3",
            )?
            .query_row(params![origin, seq, hash], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        let Some((id, hlc, body)) = chosen else {
            return Ok(());
        };
        tracing::warn!(
            origin,
            seq,
            "fork settled: a later event chains onto one version"
        );
        if let Ok(event) = serde_json::from_str::<Event>(&body) {
            for check in event.subjects() {
                db.prepare_cached(
                    "INSERT OR IGNORE INTO subject_events (subject, hlc, origin, seq, event_id) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![check, hlc, origin, seq, id])?;
            }
            for check in event.subjects() {
                self.refold(db, check)?;
            }
        }
        Ok(())
    }
}

impl Projector for StoreProjections {
    fn take_follow_ups(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.follow_ups)
    }

    fn on_fork(
        &mut self,
        db: &Connection,
        origin: &crate::journal::Origin,
        seq: u64,
    ) -> rusqlite::Result<()> {
        let subjects: Vec<String> = db
            .prepare_cached("SELECT subject FROM subject_events WHERE origin = ?1 AND seq = ?2")?
            .query_map(params![origin.as_str(), i64_of(seq)], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        db.prepare_cached("DELETE FROM subject_events WHERE origin = ?1 AND seq = ?2")?
            .execute(params![origin.as_str(), i64_of(seq)])?;
        for s in subjects {
            self.refold(db, &s)?;
        }
        // Already settled when a later event chains onto one of the versions.
        let next_prev: Option<Vec<u8>> = db
            .prepare_cached(
                "SELECT prev_hash FROM events WHERE origin = ?1 AND seq = ?2 ORDER BY id LIMIT 1",
            )?
            .query_row(params![origin.as_str(), i64_of(seq + 1)], |r| r.get(0))
            .optional()?;
        if let Some(prev) = next_prev {
            self.admit_version(db, origin.as_str(), i64_of(seq), &prev)?;
        }
        Ok(())
    }

    fn on_event(&mut self, db: &Connection, ev: &AcceptedEvent<'_>) -> rusqlite::Result<()> {
        if ev.header.seq > 1 {
            self.resolve_fork(db, ev)?;
        }
        let Some(event) = ev.event else { return Ok(()) };
        let key = FoldKey {
            hlc: ev.header.hlc,
            origin: ev.header.origin.to_string(),
            seq: ev.header.seq,
            wall_ms: ev.header.wall_ms,
        };
        if let Some(check) = event.check() {
            for subject in event.subjects() {
                db.prepare_cached(
                    "INSERT OR IGNORE INTO subject_events (subject, hlc, origin, seq, event_id) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![subject, i64_of(key.hlc), key.origin, i64_of(key.seq), ev.id])?;
            }
            // Every check linked to this one by a merge is refolded with it.
            let fold = self.refold(db, check)?;
            let bumped = match event {
                Event::TicketBumped { ticket, .. } | Event::ItemDone { ticket, .. } => Some(ticket),
                _ => None,
            };
            if let Some(course) = bumped.and_then(|t| fold.auto_fire(t, ev.own_origin.as_str())) {
                self.follow_ups.push(Event::CourseFired {
                    check: check.to_owned(),
                    course: course.0,
                });
            }
            return Ok(());
        }
        match event {
            // Recipes may have changed: the derived stock movements follow.
            Event::MenuPublished { toml } if write_register(db, "menu", &key, toml)? => {
                self.refold_all(db)?
            }
            Event::SettingChanged { setting, .. } => {
                let (name, value) = setting_key(setting);
                // Stock movements follow where stock is deducted; report facts follow the
                // business day and the local hour.
                if write_register(db, &format!("setting:{name}"), &key, &value)?
                    && matches!(name, "deduct_stock_on" | "time_zone" | "day_cutoff_hour")
                {
                    self.refold_all(db)?;
                }
            }
            Event::ItemEightySixed { item, reason } => {
                write_register(db, &format!("86:{item}"), &key, &format!("out:{reason}"))?;
            }
            Event::ItemRestored { item } => {
                write_register(db, &format!("86:{item}"), &key, "in")?;
            }
            Event::ClockedIn { staff } => {
                write_register(db, &format!("clock:{staff}"), &key, "in")?;
            }
            Event::ClockedOut { staff } => {
                write_register(db, &format!("clock:{staff}"), &key, "out")?;
            }
            Event::StaffAdded {
                staff,
                name,
                role,
                pin_hash,
            } => {
                let value = serde_json::json!({"name": name, "role": role, "pin_hash": pin_hash, "active": true});
                write_register(db, &format!("staff:{staff}"), &key, &value.to_string())?;
            }
            Event::DeviceRetired(retired) => {
                write_register(
                    db,
                    &format!("retired:{}", retired.origin),
                    &key,
                    &retired.reason,
                )?;
            }
            Event::StaffRetired { staff } => {
                if let Some(old) = register(db, &format!("staff:{staff}"))? {
                    let mut value: serde_json::Value =
                        serde_json::from_str(&old).unwrap_or_default();
                    value["active"] = serde_json::Value::Bool(false);
                    write_register(db, &format!("staff:{staff}"), &key, &value.to_string())?;
                }
            }
            Event::StockReceived { ingredient, qty } | Event::StockCounted { ingredient, qty } => {
                let kind = if matches!(event, Event::StockReceived { .. }) {
                    "received"
                } else {
                    "counted"
                };
                db.prepare_cached(
                    "INSERT OR IGNORE INTO proj_stock_moves (ingredient, hlc, origin, seq, kind, qty) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![ingredient, i64_of(key.hlc), key.origin, i64_of(key.seq), kind, qty.to_string()])?;
            }
            Event::DayClosed {
                business_day,
                heads,
            } => {
                let heads = serde_json::to_string(heads).unwrap_or_default();
                db.prepare_cached(
                    "INSERT OR IGNORE INTO proj_days (business_day, hlc, origin, seq, heads) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![business_day, i64_of(key.hlc), key.origin, i64_of(key.seq), heads])?;
            }
            e if payments::is_store_payment_event(e) => payments::write_store_event(db, &key, e)?,
            _ => {}
        }
        Ok(())
    }
}

/// Stock level per ingredient: the last count (in fold order) plus what was received and minus
/// what was sold after it. Ingredients never received nor counted are not tracked.
pub fn stock_levels(db: &Connection) -> rusqlite::Result<BTreeMap<String, Decimal>> {
    let mut stmt = db.prepare_cached(
        "SELECT ingredient, kind, qty FROM proj_stock_moves ORDER BY ingredient, hlc, origin, seq, line_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut levels: BTreeMap<String, (bool, Decimal)> = BTreeMap::new();
    for row in rows {
        let (ingredient, kind, qty) = row?;
        let qty = Decimal::from_str(&qty).unwrap_or_default();
        let entry = levels.entry(ingredient).or_insert((false, Decimal::ZERO));
        match kind.as_str() {
            "counted" => *entry = (true, qty),
            "received" => *entry = (true, entry.1 + qty),
            _ => entry.1 -= qty,
        }
    }
    Ok(levels
        .into_iter()
        .filter(|(_, (tracked, _))| *tracked)
        .map(|(k, (_, v))| (k, v))
        .collect())
}

/// Items that cannot be made: 86'd by hand, or an ingredient at or below zero.
pub fn eighty_sixed(db: &Connection, menu: &Menu) -> rusqlite::Result<Vec<ItemId>> {
    eighty_sixed_at(db, menu, &stock_levels(db)?)
}

/// [`eighty_sixed`] at stock `levels` already read ([`stock_levels`]).
pub fn eighty_sixed_at(
    db: &Connection,
    menu: &Menu,
    levels: &BTreeMap<String, Decimal>,
) -> rusqlite::Result<Vec<ItemId>> {
    let mut out = Vec::new();
    for item in menu.items() {
        let id = item.id();
        let by_hand = register(db, &format!("86:{id}"))?.is_some_and(|v| v.starts_with("out"));
        let used = menu.ingredients_for(id, &[], 1);
        let empty = used
            .keys()
            .any(|i| levels.get(i.as_str()).is_some_and(|l| *l <= Decimal::ZERO));
        if by_hand || empty {
            out.push(id.clone());
        }
    }
    Ok(out)
}

/// Ingredients sold beyond what the store held (sales that arrived from a device that could
/// not know the item had run out): ingredient and how far below zero.
pub fn oversold(db: &Connection) -> rusqlite::Result<Vec<(String, Decimal)>> {
    Ok(stock_levels(db)?
        .into_iter()
        .filter(|(_, l)| *l < Decimal::ZERO)
        .map(|(i, l)| (i, -l))
        .collect())
}

/// Every projection row as text, in a fixed order: for comparing devices and rebuilds.
pub fn dump(db: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut out = Vec::new();
    for (table, order) in [
        ("proj_checks", "check_id"),
        ("proj_lines", "check_id, line_id"),
        ("proj_tickets", "ticket_id"),
        ("proj_expo", "check_id, course"),
        ("proj_conflicts", "subject, origin, seq"),
        ("proj_registers", "key"),
        ("proj_stock_moves", "ingredient, hlc, origin, seq, line_id"),
        ("proj_days", "business_day, origin, seq"),
        ("proj_payments", "check_id, kind, id"),
        ("proj_receipts", "check_id, hlc, origin, seq"),
        ("proj_alerts", "subject, kind, ref"),
        ("proj_batches", "terminal, batch, hlc, origin, seq"),
        ("proj_drawers", "drawer, hlc, origin, seq"),
        ("proj_ticket_times", "ticket_id"),
        ("proj_sales", "check_id"),
        ("proj_sale_lines", "check_id, line_id"),
        ("proj_sale_taxes", "check_id, rate"),
    ] {
        let mut stmt = db.prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))?;
        let n = stmt.column_count();
        let rows = stmt.query_map([], |r| {
            let mut cells = Vec::with_capacity(n);
            for i in 0..n {
                let v: rusqlite::types::Value = r.get(i)?;
                cells.push(format!("{v:?}"));
            }
            Ok(format!("{table}: {}", cells.join(" | ")))
        })?;
        for row in rows {
            out.push(row?);
        }
    }
    Ok(out)
}

/// Rebuilds every projection from the journal alone.
pub fn rebuild(db: &mut Connection) -> Result<(), crate::journal::JournalError> {
    let tx = db.transaction()?;
    for table in [
        "subject_events",
        "proj_checks",
        "proj_lines",
        "proj_tickets",
        "proj_expo",
        "proj_conflicts",
        "proj_registers",
        "proj_stock_moves",
        "proj_days",
        "proj_payments",
        "proj_receipts",
        "proj_alerts",
        "proj_batches",
        "proj_drawers",
        "proj_ticket_times",
        "proj_ticket_chunks",
        "proj_sales",
        "proj_sale_lines",
        "proj_sale_taxes",
    ] {
        tx.execute(&format!("DELETE FROM {table}"), [])?;
    }
    let mut projector = StoreProjections::new();
    let own: crate::journal::Origin = tx
        .query_row("SELECT origin FROM identity", [], |r| r.get::<_, String>(0))?
        .parse()
        .map_err(crate::journal::JournalError::Envelope)?;
    let rows: Vec<(i64, crate::journal::StoredRow)> = {
        let mut stmt =
            tx.prepare("SELECT id, body, prev_hash, hash, sig FROM events ORDER BY id")?;
        stmt.query_map([], |r| {
            Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        })?
        .collect::<rusqlite::Result<_>>()?
    };
    // Forked events stay out, except the version a later event of the origin chains onto (it is
    // let in when that later event is projected, as it was the first time).
    let forked: std::collections::BTreeSet<(String, i64)> = tx
        .prepare("SELECT origin, seq FROM forks")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, row) in rows {
        let env = crate::journal::envelope_of(row)?;
        let header = env.header()?;
        if forked.contains(&(header.origin.to_string(), i64_of(header.seq))) {
            continue;
        }
        let event = env
            .payload()
            .ok()
            .and_then(|p| Event::decode(&header.kind, p).ok().flatten());
        let accepted = AcceptedEvent {
            id,
            header: &header,
            envelope: &env,
            event: event.as_ref(),
            own_origin: &own,
        };
        projector.on_event(&tx, &accepted)?;
        // A rebuild re-derives; it never writes events (those were written the first time).
        projector.follow_ups.clear();
    }
    tx.commit()?;
    Ok(())
}

/// Packs every chunk of finished tickets again from their rows (what the service-time report
/// reads; see `report_facts`); returns how many chunks there are. The projections keep them
/// packed as events apply: this is for tools that write ticket rows themselves.
pub fn repack_ticket_chunks(db: &Connection) -> rusqlite::Result<usize> {
    db.execute("DELETE FROM proj_ticket_chunks", [])?;
    let keys: Vec<(u32, String, u8)> = db
        .prepare("SELECT DISTINCT day, station, hour FROM proj_ticket_times ORDER BY 1, 2, 3")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (day, station, hour) in &keys {
        report_facts::chunk::pack(db, *day, station, *hour)?;
    }
    Ok(keys.len())
}

/// The first schema version whose projections hold the report facts.
const REPORT_FACTS_VERSION: i64 = 5;

/// A database written before the report facts existed (schema 4 or older) holds events whose
/// facts were never derived: migrates it and rebuilds its projections from the journal, once,
/// so the reports cover its past too. A device calls this before it opens its journal; a new
/// database or a current one is left alone. Returns whether it rebuilt.
pub fn upgrade(path: &std::path::Path) -> Result<bool, crate::journal::JournalError> {
    if !path.exists() {
        return Ok(false);
    }
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version == 0 || version >= REPORT_FACTS_VERSION {
        return Ok(false);
    }
    crate::journal::schema::migrate(&mut conn)?;
    let events: i64 = conn.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?;
    if events == 0 {
        return Ok(false);
    }
    rebuild(&mut conn)?;
    tracing::info!(
        from_version = version,
        events,
        "projections rebuilt for the manager's reports"
    );
    Ok(true)
}

/// Whether a person is clocked in, as the journal says.
pub fn clocked_in(db: &Connection, staff: &str) -> rusqlite::Result<bool> {
    Ok(register(db, &format!("clock:{staff}"))?.as_deref() == Some("in"))
}

/// Whether an item is on the 86 list by hand.
pub fn is_eighty_sixed_by_hand(db: &Connection, item: &str) -> rusqlite::Result<bool> {
    Ok(register(db, &format!("86:{item}"))?.is_some_and(|v| v.starts_with("out")))
}

/// Service times of a station's finished tickets whose bump falls in `[from_ms, to_ms)`, each
/// measured on the one screen's clock (its bump minus its first showing).
pub fn station_service_times(
    db: &Connection,
    station: &str,
    from_ms: i64,
    to_ms: i64,
) -> rusqlite::Result<crate::domain::stats::ServiceTimes> {
    let times: Vec<i64> = db
        .prepare_cached(
            "SELECT bumped_ms - shown_ms FROM proj_tickets
             WHERE station = ?1 AND state = 'done' AND shown_ms IS NOT NULL
               AND bumped_ms >= ?2 AND bumped_ms < ?3",
        )?
        .query_map(params![station, from_ms, to_ms], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(crate::domain::stats::service_times(times))
}

/// The store's staff as the journal records them (a record that does not read back is logged
/// and left out: nobody can sign in with it).
pub fn staff(db: &Connection) -> rusqlite::Result<Vec<crate::domain::staff::Staff>> {
    use crate::domain::check::StaffId;
    use crate::domain::staff::{PinHash, Role, Staff};
    let mut stmt = db.prepare_cached(
        "SELECT key, value FROM proj_registers WHERE key LIKE 'staff:%' ORDER BY key",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (key, value) = row?;
        let id = key.trim_start_matches("staff:");
        let v: serde_json::Value = serde_json::from_str(&value).unwrap_or_default();
        let field = |name: &str| {
            v.get(name)
                .and_then(|x| x.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let built = field("role")
            .parse::<Role>()
            .and_then(|role| Ok((role, PinHash::parse(&field("pin_hash"))?)))
            .and_then(|(role, pin)| Staff::new(StaffId::new(id), &field("name"), role, pin));
        match built {
            Ok(person) => out.push(
                person.with_active(v.get("active").and_then(|a| a.as_bool()).unwrap_or(false)),
            ),
            Err(e) => tracing::warn!(staff = id, error = %e, "staff record left out"),
        }
    }
    Ok(out)
}

/// Origins of devices a manager retired (gone for good: nobody waits for them).
pub fn retired_devices(
    db: &Connection,
) -> rusqlite::Result<std::collections::BTreeSet<crate::journal::Origin>> {
    let mut stmt =
        db.prepare_cached("SELECT key FROM proj_registers WHERE key LIKE 'retired:%'")?;
    let keys = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let mut out = std::collections::BTreeSet::new();
    for key in keys {
        if let Ok(origin) = key?.trim_start_matches("retired:").parse() {
            out.insert(origin);
        }
    }
    Ok(out)
}
