//! Order intents: each is planned against the domain's rules on a copy of the check's fold (as
//! the projections have it), and only if the rules accept it written as its event through the
//! device (`Terminal::change`). A refusal writes nothing.
//!
//! Who may do what: the person signed in needs the intent's permission, another server's check
//! needs someone who may take checks over, and voids, comps and discounts need a manager's PIN
//! and a reason (`Terminal::approval`), checked through the terminal's PIN throttle.

use rusqlite::Connection;

use super::intents::Outcome;
use super::session::{self, NotAllowed};
use super::{
    FloorPlan, Screen, SettingsChange, Terminal, TerminalError, TerminalHost, eighty_sixed,
    invalid, views,
};
use crate::domain::check::{
    Approval, Check, CheckError, CheckId, Course, LineId, NewLine, OpenCheck, OrderNumber,
    OrderNumbers, Reason, Seat, TableId,
};
use crate::domain::menu::{ItemId, Menu, MenuError, ModifierId};
use crate::domain::order::OrderType;
use crate::domain::staff::{Permission, Staff};
use crate::domain::tax::CheckDiscount;
use crate::event::{DiscountRecord, Event, SplitRecord};
use crate::projection::fold::{CheckFold, line_record, split_rule};
use crate::projection::{self, load_check_fold};

use super::{MAX_COURSE, MAX_GUESTS, MAX_QTY};

impl Terminal {
    pub(super) fn clock<H: TerminalHost>(
        &mut self,
        host: &H,
        pin: &str,
        clock_in: bool,
        now: i64,
    ) -> Result<Outcome, TerminalError> {
        let staff = self.staff(host)?;
        let person = match self.session.identify(&staff, pin, now) {
            Ok(p) => p.clone(),
            Err(refused) => {
                if let Some((in_a_row, recently)) = refused.alert {
                    host.append(&Event::SignInAlert {
                        device: host.device_id(),
                        wrong_in_a_row: in_a_row,
                        wrong_recently: recently,
                    })?;
                }
                return Err(TerminalError::SignIn(refused.error));
            }
        };
        let id = person.id().to_string();
        let is_in = host.journal().read(|db| projection::clocked_in(db, &id))?;
        let event = match (clock_in, is_in) {
            (true, false) => Event::ClockedIn { staff: id },
            (false, true) => Event::ClockedOut { staff: id },
            (true, true) => {
                return Err(invalid(format!("{} is already clocked in", person.name())));
            }
            (false, false) => {
                return Err(invalid(format!("{} is not clocked in", person.name())));
            }
        };
        let mut out = Outcome {
            staff: Some(person.name().to_owned()),
            ..Outcome::default()
        };
        Terminal::write(host, &mut out, &event)?;
        Ok(out)
    }

    pub(super) fn select<H: TerminalHost>(
        &mut self,
        host: &H,
        check: &str,
        me: &Staff,
    ) -> Result<Outcome, TerminalError> {
        let (_, c) = self.fold_of(host, check)?;
        let mut out = Outcome {
            check: Some(check.to_owned()),
            number: Some(c.number().to_string()),
            ..Outcome::default()
        };
        self.focus(host, &c, me, &mut out)?;
        Ok(out)
    }

    pub(super) fn fold_of<H: TerminalHost>(
        &self,
        host: &H,
        check: &str,
    ) -> Result<(CheckFold, Check), TerminalError> {
        let mut fold = host.journal().read(|db| load_check_fold(db, check))?;
        let c = fold
            .check
            .take()
            .ok_or_else(|| TerminalError::UnknownCheck(check.to_owned()))?;
        Ok((fold, c))
    }

    /// Plans one change to `check` on a copy of its fold (`plan` refuses or gives the event),
    /// then writes it. The person signed in needs `permission`, and another server's check
    /// needs a manager.
    pub(super) fn change<H: TerminalHost>(
        &mut self,
        host: &H,
        check: &str,
        permission: Permission,
        plan: impl FnOnce(&mut Check) -> Result<Event, TerminalError>,
    ) -> Result<Outcome, TerminalError> {
        let me = self.me(host, permission)?;
        let (_, mut c) = self.fold_of(host, check)?;
        may_change(&me, &c)?;
        let before = c.clone();
        let event = plan(&mut c)?;
        let mut out = Outcome {
            check: Some(check.to_owned()),
            number: Some(c.number().to_string()),
            ..Outcome::default()
        };
        // The check changed is the one this terminal shows (a close is the end of it).
        if !matches!(event, Event::CheckClosed { .. }) {
            self.focus(host, &before, &me, &mut out)?;
        }
        Terminal::write(host, &mut out, &event)?;
        Ok(out)
    }

    /// A manager's approval: a PIN of someone who may do `permission`, and a reason.
    pub(super) fn approval<H: TerminalHost>(
        &mut self,
        host: &H,
        what: &str,
        pin: Option<&str>,
        reason: Option<&str>,
        permission: Permission,
        now: i64,
    ) -> Result<Approval, TerminalError> {
        self.me(host, Permission::TakeOrder)?;
        let reason = Reason::new(reason.unwrap_or_default())
            .map_err(|e| invalid(format!("{what} needs a reason: {e}")))?;
        let pin = pin
            .filter(|p| !p.trim().is_empty())
            .ok_or_else(|| invalid(format!("{what} needs a manager's PIN")))?;
        let staff = self.staff(host)?;
        match self.session.approve(&staff, pin, permission, now) {
            Ok(Ok(manager)) => Ok(Approval {
                manager: manager.id().clone(),
                reason,
            }),
            Ok(Err(not_allowed)) => Err(not_allowed.into()),
            Err(refused) => {
                if let Some((in_a_row, recently)) = refused.alert {
                    host.append(&Event::SignInAlert {
                        device: host.device_id(),
                        wrong_in_a_row: in_a_row,
                        wrong_recently: recently,
                    })?;
                }
                Err(TerminalError::SignIn(refused.error))
            }
        }
    }

    pub(super) fn open_check<H: TerminalHost>(
        &mut self,
        host: &H,
        table: Option<String>,
        guests: u32,
        seats: Option<u32>,
        order_type: Option<OrderType>,
        now: i64,
    ) -> Result<Outcome, TerminalError> {
        let me = self.me(host, Permission::TakeOrder)?;
        if let Some(t) = &table
            && self.floor.table(t).is_none()
        {
            return Err(TerminalError::UnknownTable(t.clone()));
        }
        if guests > MAX_GUESTS {
            return Err(invalid(format!("at most {MAX_GUESTS} guests at one check")));
        }
        let seats = seats.unwrap_or(guests).max(1);
        if seats > MAX_GUESTS {
            return Err(invalid(format!("at most {MAX_GUESTS} seats at one check")));
        }
        let (day, mut numbers) = self.order_numbers(host, now)?;
        let number = numbers.next(day)?;
        let id = format!("{}-{day}-{number}", host.device_id());
        let opening = OpenCheck {
            id: CheckId::new(id.as_str()),
            number,
            order_type: order_type.unwrap_or(OrderType::DineIn),
            table: table.as_deref().map(TableId::new),
            guests,
            seats,
            server: me.id().clone(),
        };
        let check = Check::open(opening.clone())?;
        let mut out = Outcome {
            check: Some(id.clone()),
            number: Some(number.to_string()),
            ..Outcome::default()
        };
        Terminal::write(
            host,
            &mut out,
            &Event::CheckOpened {
                check: id,
                number: number.to_string(),
                order_type: opening.order_type,
                table,
                guests,
                seats,
                server: me.id().to_string(),
                external: None,
            },
        )?;
        self.numbers = Some((day, numbers));
        self.focus(host, &check, &me, &mut out)?;
        Ok(out)
    }

    /// The order numbers of the business day at `now` (a copy: it is kept once a check is open),
    /// carried on from this terminal's own openings of that day in the journal.
    pub(super) fn order_numbers<H: TerminalHost>(
        &self,
        host: &H,
        now: i64,
    ) -> Result<(u32, OrderNumbers), TerminalError> {
        let settings = host.journal().read(projection::store_settings)?;
        let day = settings
            .business_day(now)
            .map_err(|e| invalid(e.to_string()))?;
        let letter = self.settings.device_letter();
        if let Some((d, numbers)) = &self.numbers
            && *d == day.number()
            && numbers.device() == letter
        {
            return Ok((*d, *numbers));
        }
        let origin = host.journal().origin().to_string();
        let last = host.journal().read(|db| {
            last_counter(db, &origin, letter, |wall_ms| {
                settings.business_day(wall_ms).ok() == Some(day)
            })
        })?;
        Ok((
            day.number(),
            OrderNumbers::resume(letter, day.number(), last),
        ))
    }

    pub(super) fn pick_item<H: TerminalHost>(
        &mut self,
        host: &H,
        item: &str,
    ) -> Result<Outcome, TerminalError> {
        self.signed_in_staff(host)?;
        let o = self.ordering()?.clone();
        let menu = self.menu_now(host.journal())?;
        let id = ItemId::new(item);
        let found = menu
            .item(&id)
            .ok_or_else(|| MenuError::UnknownItem { item: id.clone() })?;
        if eighty_sixed(host.journal(), &menu)?.contains(&id) {
            return Err(TerminalError::EightySixed(found.name().to_owned()));
        }
        if found.modifier_groups().is_empty() {
            return self.add_line(host, &o.check, item, &[], o.qty, o.seat, o.course, &o.notes);
        }
        self.ordering()?.dialog = Some((id, Vec::new()));
        Ok(Outcome::default())
    }

    pub(super) fn toggle_modifier<H: TerminalHost>(
        &mut self,
        host: &H,
        modifier: &str,
    ) -> Result<Outcome, TerminalError> {
        self.signed_in_staff(host)?;
        let menu = self.menu_now(host.journal())?;
        let o = self.ordering()?;
        let Some((item, chosen)) = &mut o.dialog else {
            return Err(invalid("no item is waiting for its choices"));
        };
        let id = ModifierId::new(modifier);
        let group = menu
            .item(item)
            .into_iter()
            .flat_map(|i| i.modifier_groups())
            .filter_map(|g| menu.modifier_group(g))
            .find(|g| g.modifiers().contains(&id))
            .ok_or_else(|| MenuError::ModifierNotOffered {
                item: item.clone(),
                modifier: id.clone(),
            })?;
        if let Some(at) = chosen.iter().position(|m| *m == id) {
            chosen.remove(at);
            return Ok(Outcome::default());
        }
        let in_group: Vec<ModifierId> = chosen
            .iter()
            .filter(|m| group.modifiers().contains(m))
            .cloned()
            .collect();
        let max = usize::try_from(group.max_choices()).unwrap_or(usize::MAX);
        if max == 1 {
            // Choose one: the new choice replaces the old.
            chosen.retain(|m| !in_group.contains(m));
        } else if in_group.len() >= max {
            return Err(invalid(format!(
                "at most {max} of {}: take one off first",
                group.name()
            )));
        }
        chosen.push(id);
        Ok(Outcome::default())
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn add_line<H: TerminalHost>(
        &mut self,
        host: &H,
        check: &str,
        item: &str,
        modifiers: &[ModifierId],
        qty: u32,
        seat: Option<u32>,
        course: u8,
        notes: &str,
    ) -> Result<Outcome, TerminalError> {
        self.me(host, Permission::TakeOrder)?;
        check_qty(qty)?;
        check_course(course)?;
        let menu = self.menu_now(host.journal())?;
        let item_id = ItemId::new(item);
        let out_of_stock = eighty_sixed(host.journal(), &menu)?;
        let priced = menu
            .price_line(&item_id, modifiers, qty)
            .map_err(|e| explain(&menu, e))?;
        let device = host.device_id();
        let mut line_id = String::new();
        let mut out = self.change(host, check, Permission::TakeOrder, |c| {
            let prefix = format!("{}.{device}.", c.id());
            let n = c
                .lines()
                .iter()
                .filter(|l| l.id().as_str().starts_with(&prefix))
                .count()
                + 1;
            line_id = format!("{prefix}{n}");
            let line = NewLine {
                id: LineId::new(line_id.as_str()),
                priced,
                seat: seat.map(Seat),
                course: Course(course),
                notes: notes.to_owned(),
            };
            c.add_line(line.clone(), &out_of_stock)
                .map_err(|e| match e {
                    CheckError::EightySixed(i) => TerminalError::EightySixed(
                        menu.item(&i)
                            .map_or_else(|| i.to_string(), |m| m.name().to_owned()),
                    ),
                    e => e.into(),
                })?;
            Ok(Event::LinesAdded {
                check: c.id().to_string(),
                lines: vec![line_record(&line)],
            })
        })?;
        out.line = Some(line_id);
        Ok(out)
    }

    pub(super) fn send<H: TerminalHost>(
        &mut self,
        host: &H,
        check: &str,
    ) -> Result<Outcome, TerminalError> {
        let mut out = self.change(host, check, Permission::TakeOrder, |c| {
            let lines: Vec<String> = c
                .lines()
                .iter()
                .filter(|l| l.sent().is_none() && !l.is_voided())
                .map(|l| l.id().to_string())
                .collect();
            let made = c.send()?;
            Ok(Event::ItemsSent {
                check: c.id().to_string(),
                send: made.number,
                lines,
            })
        })?;
        if self.settings.return_to_pin_after_send {
            let gone = self.sign_out(host)?;
            out.written.extend(gone.written);
            out.signed_out = true;
        }
        Ok(out)
    }

    pub(super) fn change_settings<H: TerminalHost>(
        &mut self,
        host: &H,
        pin: Option<&str>,
        change: &SettingsChange,
        now: i64,
    ) -> Result<Outcome, TerminalError> {
        let pin = pin
            .filter(|p| !p.trim().is_empty())
            .ok_or_else(|| invalid("changing a terminal's settings needs a manager's PIN"))?;
        let staff = self.staff(host)?;
        let manager = match self
            .session
            .approve(&staff, pin, Permission::RetireDevice, now)
        {
            Ok(Ok(m)) => m.name().to_owned(),
            Ok(Err(e)) => return Err(e.into()),
            Err(refused) => return Err(TerminalError::SignIn(refused.error)),
        };
        let next = self.settings.changed(change).map_err(invalid)?;
        let floor = match (&change.floor_plan, &next.floor_plan) {
            (None, _) => None,
            (Some(_), Some(file)) => {
                Some(FloorPlan::load(file).map_err(|e| invalid(e.to_string()))?)
            }
            (Some(_), None) => Some(FloorPlan::default_plan()),
        };
        let device_file = match (&change.broker, &self.device_file) {
            (None, _) => None,
            (Some(_), None) => {
                return Err(invalid(
                    "this terminal keeps no configuration file: give --broker at start",
                ));
            }
            (Some(broker), Some(path)) => {
                let mut file = crate::device::files::DeviceFile::load(path)
                    .map_err(|e| invalid(e.to_string()))?;
                file.broker = Some(broker.trim().to_owned()).filter(|b| !b.is_empty());
                // Checked whole before anything is written.
                crate::device::files::DeviceFile::parse(&file.to_toml()).map_err(invalid)?;
                Some((file, path.clone()))
            }
        };
        let payments_file = match (&change.printer, &self.payments_file) {
            (None, _) => None,
            (Some(_), None) => {
                return Err(invalid("this terminal keeps no payment settings file"));
            }
            (Some(printer), Some(path)) => {
                use crate::payments::settings::{PRINTER_PORT, PaymentSettings, address};
                let mut settings = PaymentSettings::load(path).map_err(invalid)?;
                settings.printer = match printer.trim() {
                    "" => None,
                    p => Some(
                        address(p, Some(PRINTER_PORT))
                            .map_err(|e| invalid(format!("printer: {e}")))?,
                    ),
                };
                settings.check().map_err(invalid)?;
                Some((settings, path.clone()))
            }
        };
        if let Some(path) = &self.settings_path {
            next.save(path).map_err(invalid)?;
        }
        if let Some((settings, path)) = payments_file {
            settings.save(&path).map_err(invalid)?;
            tracing::info!(printer = ?settings.printer, "receipt printer changed");
        }
        if let Some((file, path)) = device_file {
            file.save(&path).map_err(|e| invalid(e.to_string()))?;
            tracing::info!(broker = ?file.broker, "broker address changed: used from the next start");
        }
        tracing::info!(%manager, "terminal settings changed");
        self.settings = next;
        if let Some(floor) = floor {
            self.floor = floor;
        }
        Ok(Outcome {
            staff: Some(manager),
            ..Outcome::default()
        })
    }

    pub(super) fn hold<H: TerminalHost>(
        &mut self,
        host: &H,
        check: &str,
        course: u8,
    ) -> Result<Outcome, TerminalError> {
        check_course(course)?;
        self.change(host, check, Permission::TakeOrder, |c| {
            if c.held_courses().contains(&Course(course)) {
                return Err(invalid(format!("course {course} is already held")));
            }
            c.hold_course(Course(course))?;
            Ok(Event::CourseHeld {
                check: c.id().to_string(),
                course,
            })
        })
    }

    pub(super) fn fire<H: TerminalHost>(
        &mut self,
        host: &H,
        check: &str,
        course: u8,
    ) -> Result<Outcome, TerminalError> {
        check_course(course)?;
        self.change(host, check, Permission::TakeOrder, |c| {
            if !c.fire_course(Course(course))? {
                return Err(invalid(format!("course {course} is not held")));
            }
            Ok(Event::CourseFired {
                check: c.id().to_string(),
                course,
            })
        })
    }

    pub(super) fn void<H: TerminalHost>(
        &mut self,
        host: &H,
        check: &str,
        line: &str,
        approval: Approval,
    ) -> Result<Outcome, TerminalError> {
        self.change(host, check, Permission::TakeOrder, |c| {
            c.void_line(&LineId::new(line), approval.clone())?;
            Ok(Event::LineVoided {
                check: c.id().to_string(),
                line: line.to_owned(),
                manager: approval.manager.to_string(),
                reason: approval.reason.to_string(),
            })
        })
    }

    pub(super) fn comp<H: TerminalHost>(
        &mut self,
        host: &H,
        check: &str,
        line: &str,
        approval: Approval,
    ) -> Result<Outcome, TerminalError> {
        self.change(host, check, Permission::TakeOrder, |c| {
            c.comp_line(&LineId::new(line), approval.clone())?;
            Ok(Event::LineComped {
                check: c.id().to_string(),
                line: line.to_owned(),
                manager: approval.manager.to_string(),
                reason: approval.reason.to_string(),
            })
        })
    }

    /// A discount on `line`, or on the whole check when `None`.
    pub(super) fn discount<H: TerminalHost>(
        &mut self,
        host: &H,
        check: &str,
        line: Option<&str>,
        discount: DiscountRecord,
        approval: Approval,
    ) -> Result<Outcome, TerminalError> {
        let off = match discount {
            DiscountRecord::Amount(m) => CheckDiscount::Amount(m),
            DiscountRecord::Percent(p) => CheckDiscount::Percent(p),
        };
        self.change(host, check, Permission::TakeOrder, |c| {
            let manager = approval.manager.to_string();
            let reason = approval.reason.to_string();
            match line {
                Some(line) => {
                    c.discount_line(&LineId::new(line), off, approval.clone())?;
                    Ok(Event::LineDiscounted {
                        check: c.id().to_string(),
                        line: line.to_owned(),
                        discount,
                        manager,
                        reason,
                    })
                }
                None => {
                    c.discount_check(Some((off, approval.clone())))?;
                    Ok(Event::CheckDiscounted {
                        check: c.id().to_string(),
                        discount,
                        manager,
                        reason,
                    })
                }
            }
        })
    }

    /// Records a split; the outcome carries its parts.
    pub(super) fn split<H: TerminalHost>(
        &mut self,
        host: &H,
        check: &str,
        split: &SplitRecord,
    ) -> Result<Outcome, TerminalError> {
        let rule = split_rule(split).map_err(invalid)?;
        let mut out = self.change(host, check, Permission::TakeOrder, |c| {
            c.set_split(rule.clone())?;
            Ok(Event::CheckSplit {
                check: c.id().to_string(),
                split: split.clone(),
            })
        })?;
        let (_, c) = self.fold_of(host, check)?;
        if let Some(parts) = c.split_parts() {
            out.parts = Some(views::split_parts(&parts?));
        }
        Ok(out)
    }

    /// Moves a check to another table of the floor plan.
    pub(super) fn move_to<H: TerminalHost>(
        &mut self,
        host: &H,
        check: &str,
        table: &str,
    ) -> Result<Outcome, TerminalError> {
        if self.floor.table(table).is_none() {
            return Err(TerminalError::UnknownTable(table.to_owned()));
        }
        self.change(host, check, Permission::TakeOrder, |c| {
            c.move_to(TableId::new(table))?;
            Ok(Event::CheckMoved {
                check: c.id().to_string(),
                table: table.to_owned(),
            })
        })
    }

    /// Takes the check `from` into `check` (both must be changeable by the person signed in).
    pub(super) fn merge<H: TerminalHost>(
        &mut self,
        host: &H,
        check: &str,
        from: &str,
    ) -> Result<Outcome, TerminalError> {
        let me = self.me(host, Permission::TakeOrder)?;
        let (_, other) = self.fold_of(host, from)?;
        may_change(&me, &other)?;
        self.change(host, check, Permission::TakeOrder, |c| {
            c.merge(&other)?;
            Ok(Event::ChecksMerged {
                check: c.id().to_string(),
                from: from.to_owned(),
            })
        })
    }

    /// Closes a check with nothing left to pay: it is put down, and the terminal goes back to
    /// the PIN screen when set to.
    pub(super) fn close<H: TerminalHost>(
        &mut self,
        host: &H,
        check: &str,
    ) -> Result<Outcome, TerminalError> {
        let mut out = self.change(host, check, Permission::TakePayment, |c| {
            c.close()?;
            Ok(Event::CheckClosed {
                check: c.id().to_string(),
            })
        })?;
        if self.claimed.as_deref() == Some(check) {
            // A closed check is nobody's any more.
            self.release(host, &mut out)?;
        }
        self.screen = Screen::Floor(None);
        if self.settings.return_to_pin_after_close {
            let gone = self.sign_out(host)?;
            out.written.extend(gone.written);
            out.signed_out = true;
        }
        Ok(out)
    }
}

/// The highest counter of `letter` among `origin`'s own openings whose wall time `same_day`
/// accepts, reading back from the newest until an opening of an earlier day.
fn last_counter(
    db: &Connection,
    origin: &str,
    letter: crate::domain::check::DeviceLetter,
    same_day: impl Fn(i64) -> bool,
) -> rusqlite::Result<u16> {
    let mut stmt = db.prepare_cached(
        "SELECT body, wall_ms FROM events WHERE origin = ?1 AND kind = 'check_opened' ORDER BY seq DESC",
    )?;
    let rows = stmt.query_map([origin], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    let mut last = 0;
    for row in rows {
        let (body, wall_ms) = row?;
        if !same_day(wall_ms) {
            break;
        }
        if let Ok(Event::CheckOpened { number, .. }) = serde_json::from_str::<Event>(&body)
            && let Ok(n) = number.parse::<OrderNumber>()
            && n.device() == letter
        {
            last = last.max(n.counter());
        }
    }
    Ok(last)
}

/// Another server's check needs someone who may take checks over.
fn may_change(me: &Staff, check: &Check) -> Result<(), NotAllowed> {
    if check.server() == me.id() || me.permits(Permission::TakeOverCheck) {
        Ok(())
    } else {
        Err(NotAllowed::Role {
            name: me.name().to_owned(),
            role: me.role(),
            what: session::describe(Permission::TakeOverCheck),
        })
    }
}

pub(super) fn check_qty(qty: u32) -> Result<(), TerminalError> {
    if (1..=MAX_QTY).contains(&qty) {
        Ok(())
    } else {
        Err(invalid(format!("a quantity is 1 to {MAX_QTY}, not {qty}")))
    }
}

pub(super) fn check_course(course: u8) -> Result<(), TerminalError> {
    if (1..=MAX_COURSE).contains(&course) {
        Ok(())
    } else {
        Err(invalid(format!(
            "a course is 1 to {MAX_COURSE}, not {course}"
        )))
    }
}

/// A menu refusal in the words of the menu (item and group names, not ids).
fn explain(menu: &Menu, e: MenuError) -> TerminalError {
    let item_name = |i: &ItemId| {
        menu.item(i)
            .map_or_else(|| i.to_string(), |m| m.name().to_owned())
    };
    let group_name = |g: &crate::domain::menu::ModifierGroupId| {
        menu.modifier_group(g)
            .map_or_else(|| g.to_string(), |m| m.name().to_owned())
    };
    match &e {
        MenuError::MissingForcedChoice { item, group } => invalid(format!(
            "{} needs a choice of {}",
            item_name(item),
            group_name(group)
        )),
        MenuError::TooFewChoices {
            item, group, min, ..
        } => invalid(format!(
            "{} needs at least {min} of {}",
            item_name(item),
            group_name(group)
        )),
        MenuError::TooManyChoices {
            item, group, max, ..
        } => invalid(format!(
            "{} takes at most {max} of {}",
            item_name(item),
            group_name(group)
        )),
        _ => e.into(),
    }
}
