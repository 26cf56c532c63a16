//! Sample service written straight into a journal: the sample menu, demo staff and orders built
//! through the same events a terminal writes (open, add lines priced on the menu in force,
//! hold, send, void). The kitchen screen's tests, its screenshots, its benchmark and the demo's
//! seeded states use it, so what they show is what a real service would produce.

use crate::domain::check::{Course, LineId, Seat};
use crate::domain::menu::{ItemId, Menu, ModifierId};
use crate::domain::order::OrderType;
use crate::domain::staff::PinHash;
use crate::event::Event;
use crate::journal::{Journal, JournalError};
use crate::projection::fold::line_record;

/// The sample menu shipped in `assets/`.
pub const SAMPLE_MENU: &str = include_str!("../../../assets/menu.toml");

/// The demo staff: id, name, role, PIN.
pub const DEMO_STAFF: &[(&str, &str, &str, &str)] = &[
    ("maria", "Maria", "manager", "2580"),
    ("sam", "Sam", "server", "1357"),
    ("ana", "Ana", "server", "2468"),
    ("ben", "Ben", "bartender", "3690"),
];

/// Why a sample could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("sample data: {0}")]
    Invalid(String),
}

/// One line of a sample order.
#[derive(Debug, Clone)]
pub struct LineSpec {
    /// A menu item id, e.g. `classic_burger`.
    pub item: String,
    /// Modifier ids; forced groups left out get their first choice.
    pub modifiers: Vec<String>,
    pub qty: u32,
    pub seat: Option<u32>,
    pub course: u8,
    pub notes: String,
}

impl LineSpec {
    pub fn new(item: &str, modifiers: &[&str]) -> LineSpec {
        LineSpec {
            item: item.to_owned(),
            modifiers: modifiers.iter().map(|m| (*m).to_owned()).collect(),
            qty: 1,
            seat: None,
            course: 1,
            notes: String::new(),
        }
    }

    pub fn seat(mut self, seat: u32) -> LineSpec {
        self.seat = Some(seat);
        self
    }

    pub fn course(mut self, course: u8) -> LineSpec {
        self.course = course;
        self
    }

    pub fn qty(mut self, qty: u32) -> LineSpec {
        self.qty = qty;
        self
    }

    pub fn notes(mut self, notes: &str) -> LineSpec {
        self.notes = notes.to_owned();
        self
    }
}

/// The events that set up the demo store: the sample menu, then the demo staff
/// ([`DEMO_STAFF`]). Tests append them to a running device through its control socket.
pub fn store_events() -> Result<Vec<Event>, SampleError> {
    let mut events = vec![Event::MenuPublished {
        toml: SAMPLE_MENU.to_owned(),
    }];
    // One salt for the demo staff: sign-in then costs one hash, and these PINs are public anyway.
    let salt = *b"pass-demo-salt16";
    for (id, name, role, pin) in DEMO_STAFF {
        let pin_hash =
            PinHash::new(pin, salt).map_err(|e| SampleError::Invalid(format!("demo PIN: {e}")))?;
        events.push(Event::StaffAdded {
            staff: (*id).to_owned(),
            name: (*name).to_owned(),
            role: (*role).to_owned(),
            pin_hash: pin_hash.as_str().to_owned(),
        });
    }
    Ok(events)
}

/// Publishes the sample menu and the demo staff ([`DEMO_STAFF`]) into `journal`.
pub fn publish_store(journal: &Journal) -> Result<(), SampleError> {
    for event in store_events()? {
        journal.append(&event)?;
    }
    Ok(())
}

/// Writes sample orders into one journal.
pub struct Sample<'a> {
    journal: &'a Journal,
    menu: Menu,
    letter: char,
    next: u64,
}

impl<'a> Sample<'a> {
    /// Publishes the sample menu and the demo staff into `journal` (a new store), and returns a
    /// writer of orders numbered `<letter>1`, `<letter>2` …
    pub fn set_up(journal: &'a Journal, letter: char) -> Result<Sample<'a>, SampleError> {
        publish_store(journal)?;
        Sample::new(journal, letter, 1)
    }

    /// A writer of orders numbered from `<letter><first>` into a store already set up.
    pub fn new(journal: &'a Journal, letter: char, first: u64) -> Result<Sample<'a>, SampleError> {
        let menu = Menu::from_toml_str(SAMPLE_MENU)
            .map_err(|e| SampleError::Invalid(format!("the sample menu: {e}")))?;
        Ok(Sample {
            journal,
            menu,
            letter,
            next: first,
        })
    }

    pub fn menu(&self) -> &Menu {
        &self.menu
    }

    /// Opens a check, adds `lines`, holds `held` courses, and sends everything: returns the
    /// check id.
    pub fn order(
        &mut self,
        order_type: OrderType,
        table: Option<&str>,
        server: &str,
        lines: &[LineSpec],
        held: &[u8],
    ) -> Result<String, SampleError> {
        let n = self.next;
        self.next += 1;
        let check = format!("{}-{n}", self.letter.to_ascii_lowercase());
        self.journal.append(&Event::CheckOpened {
            check: check.clone(),
            number: format!("{}{n}", self.letter),
            order_type,
            table: table.map(str::to_owned),
            guests: 2,
            seats: 4,
            server: server.to_owned(),
            external: None,
        })?;
        for course in held {
            self.journal.append(&Event::CourseHeld {
                check: check.clone(),
                course: *course,
            })?;
        }
        self.add(&check, 1, lines)?;
        Ok(check)
    }

    /// Adds `lines` to `check` and sends them as send number `send` (additions after the first).
    pub fn add(&mut self, check: &str, send: u32, lines: &[LineSpec]) -> Result<(), SampleError> {
        let records = lines
            .iter()
            .enumerate()
            .map(|(i, spec)| self.line(&format!("{check}-s{send}-l{i}"), spec))
            .collect::<Result<Vec<_>, _>>()?;
        let ids: Vec<String> = records.iter().map(|r| r.line.clone()).collect();
        self.journal.append(&Event::LinesAdded {
            check: check.to_owned(),
            lines: records,
        })?;
        self.journal.append(&Event::ItemsSent {
            check: check.to_owned(),
            send,
            lines: ids,
        })?;
        Ok(())
    }

    /// Voids line `index` of send `send` of `check`, approved by the demo manager.
    pub fn void(&mut self, check: &str, send: u32, index: usize) -> Result<(), SampleError> {
        self.journal.append(&Event::LineVoided {
            check: check.to_owned(),
            line: format!("{check}-s{send}-l{index}"),
            manager: "maria".to_owned(),
            reason: "guest changed their mind".to_owned(),
        })?;
        Ok(())
    }

    fn line(&self, id: &str, spec: &LineSpec) -> Result<crate::event::LineRecord, SampleError> {
        let item_id = ItemId::new(spec.item.clone());
        let item = self
            .menu
            .item(&item_id)
            .ok_or_else(|| SampleError::Invalid(format!("no item {}", spec.item)))?;
        let mut modifiers: Vec<ModifierId> = spec
            .modifiers
            .iter()
            .map(|m| ModifierId::new(m.clone()))
            .collect();
        for group in item.modifier_groups() {
            let Some(group) = self.menu.modifier_group(group) else {
                continue;
            };
            let chosen = group.modifiers().iter().any(|m| modifiers.contains(m));
            if group.is_forced()
                && !chosen
                && let Some(first) = group.modifiers().first()
            {
                modifiers.push(first.clone());
            }
        }
        let priced = self
            .menu
            .price_line(&item_id, &modifiers, spec.qty)
            .map_err(|e| SampleError::Invalid(format!("{}: {e}", spec.item)))?;
        Ok(line_record(&crate::domain::check::NewLine {
            id: LineId::new(id),
            priced,
            seat: spec.seat.map(Seat),
            course: Course(spec.course),
            notes: spec.notes.clone(),
        }))
    }
}

/// What [`kitchen_rush`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rush {
    /// Checks opened, in order.
    pub checks: Vec<String>,
    /// Order numbers (e.g. `R7`) of the open grill tickets.
    pub grill_numbers: Vec<String>,
    /// The order number of the rushed ticket.
    pub rushed: Option<String>,
    /// The check with an allergy, one with a voided line, one with a held course, one with an
    /// addition.
    pub allergy: Option<String>,
    pub voided: Option<String>,
    pub held: Option<String>,
    pub addition: Option<String>,
}

/// A dinner rush as the kitchen sees it at `now_ms`: orders until the grill has `grill_tickets`
/// open tickets, shown over the last twelve minutes (so their timers fall in every band), with
/// one rush, one declared allergy, one voided line, one held course and one addition. Writes
/// the store set-up first.
pub fn kitchen_rush(
    journal: &Journal,
    now_ms: i64,
    grill_tickets: usize,
) -> Result<Rush, SampleError> {
    use crate::domain::menu::StationId;
    use crate::projection::fold::ticket_id;

    let mut sample = Sample::set_up(journal, 'R')?;
    let mut rush = Rush::default();
    let mains: [(&str, &[&str]); 8] = [
        ("classic_burger", &["medium"]),
        ("ribeye", &["medium_rare"]),
        ("bacon_bbq_burger", &["medium_well"]),
        ("sirloin", &["medium"]),
        ("double_smash_burger", &["well_done", "add_bacon"]),
        ("ny_strip", &["rare"]),
        ("mushroom_swiss_burger", &["medium"]),
        ("grilled_chicken_club", &[]),
    ];
    let servers = ["sam", "ana", "ben"];
    let mut grill = 0usize;
    let mut n = 0usize;
    while grill < grill_tickets {
        let (item, mods) = mains[n % mains.len()];
        let mut lines = vec![LineSpec::new(item, mods).seat(1)];
        if n.is_multiple_of(3) {
            lines.push(LineSpec::new(mains[(n + 3) % mains.len()].0, &[]).seat(2));
        }
        if n % 4 == 1 {
            lines.push(LineSpec::new("caesar_salad", &[]).seat(2));
        }
        let special = n % 29;
        if special == 2 {
            lines[0].notes = "allergy: sesame, no bun seeds".to_owned();
        }
        if special == 5 {
            lines.push(LineSpec::new("onion_rings", &[]).seat(2));
            lines.push(LineSpec::new("classic_burger", &["medium_rare"]).seat(3));
        }
        let held: &[u8] = if special == 7 {
            lines.push(LineSpec::new("ribeye", &["medium"]).course(2).seat(1));
            &[2]
        } else {
            &[]
        };
        let order_type = match n % 7 {
            3 => OrderType::Takeout,
            5 => OrderType::Online,
            _ => OrderType::DineIn,
        };
        let table = (order_type == OrderType::DineIn).then(|| format!("{}", 1 + (n * 7) % 40));
        let check = sample.order(
            order_type,
            table.as_deref(),
            servers[n % servers.len()],
            &lines,
            held,
        )?;
        let number = format!("R{}", n + 1);
        // Shown 0–12 minutes ago, newest last: every timer band is on screen.
        let age_ms =
            (grill_tickets.saturating_sub(grill) as i64 * 720_000) / grill_tickets.max(1) as i64;
        let mut stations: Vec<(StationId, u8)> = Vec::new();
        let menu = sample.menu().clone();
        for spec in &lines {
            if let Some(found) = menu.item(&ItemId::new(spec.item.clone())) {
                for station in found.stations() {
                    if !stations.contains(&(station.clone(), spec.course)) {
                        stations.push((station.clone(), spec.course));
                    }
                }
            }
        }
        for (station, course) in &stations {
            if held.contains(course) {
                continue;
            }
            let ticket = ticket_id(&check, 1, station, Course(*course));
            journal.append(&Event::TicketShown {
                check: check.clone(),
                ticket: ticket.as_str().to_owned(),
                at_ms: now_ms - age_ms,
            })?;
            if station.as_str() == "grill" {
                grill += 1;
                rush.grill_numbers.push(number.clone());
                if special == 11 && rush.rushed.is_none() {
                    journal.append(&Event::TicketPriority {
                        check: check.clone(),
                        ticket: ticket.as_str().to_owned(),
                        rush: true,
                    })?;
                    rush.rushed = Some(number.clone());
                }
            }
        }
        match special {
            2 => rush.allergy = Some(number.clone()),
            5 => {
                sample.void(&check, 1, lines.len() - 1)?;
                rush.voided = Some(number.clone());
            }
            7 => rush.held = Some(number.clone()),
            13 => {
                sample.add(
                    &check,
                    2,
                    &[LineSpec::new("classic_burger", &["medium"]).seat(4)],
                )?;
                let ticket = ticket_id(&check, 2, &StationId::new("grill"), Course(1));
                journal.append(&Event::TicketShown {
                    check: check.clone(),
                    ticket: ticket.as_str().to_owned(),
                    at_ms: now_ms - age_ms / 2,
                })?;
                grill += 1;
                rush.grill_numbers.push(number.clone());
                rush.addition = Some(number.clone());
            }
            _ => {}
        }
        rush.checks.push(check);
        n += 1;
    }
    Ok(rush)
}
