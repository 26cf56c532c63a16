//! A dining room in service, written through a terminal's own intents: for screenshots, the
//! terminal's benchmark and the demo's screenshot mode.

use std::path::Path;
use std::sync::Arc;

use crate::clock::ManualClock;
use crate::event::DeviceRole;
use crate::journal::{Journal, JournalOptions};
use crate::projection::StoreProjections;

use super::{FloorPlan, Intent, JournalHost, Terminal, TerminalError, TerminalSettings};

/// What a table is served: (item, modifiers).
type Lines = &'static [(&'static str, &'static [&'static str])];

/// Tables seated, in order: table, guests, lines (one seat each, course 1), all sent.
const SEATED: [(&str, u32, Lines); 3] = [
    ("3", 2, &[("caesar_salad", &["dressing_caesar"])]),
    ("10", 3, &[("ribeye", &["medium_rare"])]),
    (
        "12",
        4,
        &[
            ("classic_burger", &["medium"]),
            ("fries", &[]),
            ("classic_burger", &["medium_well", "add_bacon"]),
            ("house_red_glass", &[]),
            ("caesar_salad", &["dressing_ranch"]),
            ("crispy_calamari", &[]),
            ("ribeye", &["rare"]),
            ("garlic_bread", &[]),
            ("fries", &[]),
            ("house_red_glass", &[]),
        ],
    ),
];

/// Writes the sample store into a new database at `db` as terminal `device` (Sam, the server,
/// PIN 1357, signed in and out again), with tables 3, 10 and 12 seated five minutes apart, the
/// last at `now_ms - 30 min`: table 12 has ten lines sent to the kitchen.
pub fn seated_store(db: &Path, device: &str, now_ms: i64) -> Result<(), TerminalError> {
    let clock = ManualClock::starting_at(now_ms - 40 * 60_000);
    let journal = Journal::open_with(
        db,
        JournalOptions::new(Arc::new(clock.clone()), DeviceRole::OrderTerminal, device),
        vec![Box::new(StoreProjections::new())],
    )?;
    crate::kitchen::sample::publish_store(&journal)
        .map_err(|e| TerminalError::Invalid(format!("the sample store: {e}")))?;
    let host = JournalHost::new(journal, Arc::new(clock.clone()), device);
    let mut settings = TerminalSettings::new(device);
    settings.return_to_pin_after_send = false;
    let mut t = Terminal::new(settings, FloorPlan::default_plan());
    for (table, guests, lines) in SEATED {
        // Signed in again for each table: the minutes between them end the session.
        t.apply(&host, Intent::SignIn { pin: "1357".into() })?;
        let check = t
            .apply(
                &host,
                Intent::OpenCheck {
                    table: Some(table.into()),
                    guests,
                    seats: None,
                    order_type: None,
                },
            )?
            .check
            .ok_or_else(|| TerminalError::Invalid("no check opened".into()))?;
        for (i, (item, modifiers)) in lines.iter().enumerate() {
            t.apply(
                &host,
                Intent::AddLine {
                    check: check.clone(),
                    item: (*item).into(),
                    modifiers: modifiers.iter().map(|m| (*m).to_owned()).collect(),
                    qty: 1,
                    seat: Some(u32::try_from(i % guests as usize).unwrap_or(0) + 1),
                    course: 1,
                    notes: String::new(),
                },
            )?;
        }
        t.apply(&host, Intent::Send { check })?;
        clock.advance(5 * 60_000);
    }
    t.apply(&host, Intent::SignOut)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_room_seats_three_tables_with_twelve_holding_ten_sent_lines() {
        let dir = tempfile::tempdir().expect("dir");
        let db = dir.path().join("t1.db");
        let now = 1_767_295_800_000;
        seated_store(&db, "t1", now).expect("room");
        let journal = Journal::open_with(
            &db,
            JournalOptions::new(
                Arc::new(ManualClock::starting_at(now)),
                DeviceRole::OrderTerminal,
                "t1",
            ),
            vec![Box::new(StoreProjections::new())],
        )
        .expect("reopen");
        let host = JournalHost::new(journal, Arc::new(ManualClock::starting_at(now)), "t1");
        let mut t = Terminal::new(TerminalSettings::new("t1"), FloorPlan::default_plan());
        t.apply(&host, Intent::SignIn { pin: "1357".into() })
            .expect("sign in");
        let floor = t.floor(&host).expect("floor");
        let seated: Vec<(&str, u32)> = floor
            .tables
            .iter()
            .filter(|t| !t.checks.is_empty())
            .map(|t| (t.id.as_str(), t.checks[0].guests))
            .collect();
        assert_eq!(seated, [("10", 3), ("12", 4), ("3", 2)]);
        let twelve = t.check_at(&host, "12").expect("12");
        let check = t.check(&host, &twelve).expect("check");
        assert_eq!(check.lines.len(), 10);
        assert!(check.lines.iter().all(|l| l.sent));
    }
}
