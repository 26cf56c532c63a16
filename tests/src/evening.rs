//! An evening written to a terminal's journal for the manager's report screens: the sample store
//! and demo staff (Maria, manager, 2580; Sam, server, 1357), five finished tickets on the cold
//! station, one check paid in cash and closed, a cash drawer counted 2.00 short and the day
//! closed, on a controlled clock ending at [`NOW`].

use pass_shared::clock::ManualClock;
use pass_shared::domain::Money;
use pass_shared::domain::business_day::BusinessDay;
use pass_shared::domain::check::{Course, LineId, NewLine, Seat};
use pass_shared::domain::menu::{ItemId, Menu, ModifierId, StationId};
use pass_shared::domain::order::OrderType;
use pass_shared::domain::payment::Tender;
use pass_shared::event::{DeviceRole, Event, LineRecord};
use pass_shared::journal::{Journal, JournalOptions};
use pass_shared::projection::StoreProjections;
use pass_shared::projection::fold::{line_record, ticket_id};
use std::sync::Arc;

/// 2026-01-01 19:30 UTC.
pub const NOW: i64 = 1_767_295_800_000;
const MIN: i64 = 60_000;

/// The cold station's ticket times, in minutes: median 7:00, 90th percentile 12:00.
pub const TICKET_MINUTES: [i64; 5] = [4, 6, 7, 9, 12];

/// A line of `item` with the first choice of each forced group.
fn line_of(menu: &Menu, item: &str, line: &str) -> LineRecord {
    let id = ItemId::new(item);
    let found = menu.item(&id).expect("item on the sample menu");
    let mods: Vec<ModifierId> = found
        .modifier_groups()
        .iter()
        .filter_map(|g| menu.modifier_group(g))
        .filter(|g| g.is_forced())
        .filter_map(|g| g.modifiers().first().cloned())
        .collect();
    let priced = menu.price_line(&id, &mods, 1).expect("priced");
    line_record(&NewLine {
        id: LineId::new(line),
        priced,
        seat: Some(Seat(1)),
        course: Course(1),
        notes: String::new(),
    })
}

/// Appends `event` at `at_ms` on the journal's clock.
fn at(journal: &Journal, clock: &ManualClock, at_ms: i64, event: Event) {
    clock.set(at_ms);
    journal.append(&event).expect("append");
}

/// A takeout check with a Caesar salad sent to the cold station.
fn salad_sent(journal: &Journal, clock: &ManualClock, menu: &Menu, check: &str, sent_ms: i64) {
    for event in [
        Event::CheckOpened {
            check: check.into(),
            number: check.to_uppercase(),
            order_type: OrderType::Takeout,
            table: None,
            guests: 1,
            seats: 1,
            server: "sam".into(),
            external: None,
        },
        Event::LinesAdded {
            check: check.into(),
            lines: vec![line_of(menu, "caesar_salad", &format!("{check}-l1"))],
        },
        Event::ItemsSent {
            check: check.into(),
            send: 1,
            lines: vec![format!("{check}-l1")],
        },
    ] {
        at(journal, clock, sent_ms, event);
    }
}

/// The store after an evening: see the module documentation.
pub fn evening(dir: &std::path::Path, clock: &ManualClock) -> Journal {
    clock.set(NOW - 4 * 60 * MIN);
    let journal = Journal::open_with(
        dir.join("t1.db"),
        JournalOptions::new(Arc::new(clock.clone()), DeviceRole::OrderTerminal, "t1"),
        vec![Box::new(StoreProjections::new())],
    )
    .expect("journal");
    pass_shared::kitchen::sample::publish_store(&journal).expect("store");
    let menu = Menu::from_toml_str(pass_shared::kitchen::sample::SAMPLE_MENU).expect("menu");
    for (n, minutes) in TICKET_MINUTES.iter().enumerate() {
        let check = format!("k{}", n + 1);
        let shown = NOW - 3 * 60 * MIN + i64::try_from(n).expect("n") * 20 * MIN;
        salad_sent(&journal, clock, &menu, &check, shown - MIN);
        let ticket = ticket_id(&check, 1, &StationId::new("saute_cold"), Course(1)).to_string();
        at(
            &journal,
            clock,
            shown,
            Event::TicketShown {
                check: check.clone(),
                ticket: ticket.clone(),
                at_ms: shown,
            },
        );
        at(
            &journal,
            clock,
            shown + minutes * MIN,
            Event::TicketBumped {
                check,
                ticket,
                at_ms: shown + minutes * MIN,
            },
        );
    }
    // One sale, paid in cash and closed; the drawer counted two dollars short; the day closed.
    salad_sent(&journal, clock, &menu, "s1", NOW - 60 * MIN);
    let total: i64 = journal
        .read(|db| {
            db.query_row(
                "SELECT total_cents FROM proj_checks WHERE check_id = ?1",
                ["s1"],
                |r| r.get(0),
            )
        })
        .expect("the check's total");
    for event in [
        Event::PaymentTaken {
            check: "s1".into(),
            payment: "s1-p".into(),
            tender: Tender::Cash,
            amount: Money::from_minor(total),
            tip: Money::ZERO,
            seat: None,
            card: None,
            cash: None,
            staff: "sam".into(),
        },
        Event::CheckClosed { check: "s1".into() },
    ] {
        at(&journal, clock, NOW - 50 * MIN, event);
    }
    at(
        &journal,
        clock,
        NOW - 40 * MIN,
        Event::DrawerOpened {
            drawer: "t1".into(),
            float: Money::from_minor(10_000),
            staff: "maria".into(),
        },
    );
    at(
        &journal,
        clock,
        NOW - 20 * MIN,
        Event::DrawerCounted {
            drawer: "t1".into(),
            counted: Money::from_minor(9_800),
            expected: Money::from_minor(10_000),
            staff: "maria".into(),
        },
    );
    clock.set(NOW - 10 * MIN);
    pass_shared::projection::day::close_day(&journal, day("2026-01-01")).expect("close the day");
    clock.set(NOW);
    journal
}

/// A business day from `YYYY-MM-DD`.
pub fn day(s: &str) -> BusinessDay {
    s.parse().expect("day")
}
