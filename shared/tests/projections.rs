//! Projections from the journal: a real dinner-service flow on the sample menu, oversold sales
//! from an offline peer, and the same projections whatever order events arrive in.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use common::*;
use pass_shared::clock::ManualClock;
use pass_shared::domain::check::{Course, LineId, NewLine, Seat};
use pass_shared::domain::menu::{ItemId, Menu, ModifierId};
use pass_shared::event::{DeviceRole, DiscountRecord, Event, LineRecord};
use pass_shared::journal::{Journal, JournalOptions};
use pass_shared::projection::fold::{line_record, ticket_id};
use pass_shared::projection::{self, StoreProjections};
use proptest::prelude::*;
use rust_decimal::Decimal;

const MENU: &str = include_str!("../../assets/menu.toml");

fn store_device(dir: &Path, name: &str, role: DeviceRole) -> Journal {
    let opts = JournalOptions::new(Arc::new(ManualClock::starting_at(T0)), role, name);
    Journal::open_with(
        db_path(dir, name),
        opts,
        vec![Box::new(StoreProjections::new())],
    )
    .expect("open")
}

fn menu() -> Menu {
    Menu::from_toml_str(MENU).expect("sample menu")
}

/// A line of `item` with the first choice of every forced group plus `extra` modifiers.
fn sell(menu: &Menu, item: &str, extra: &[&str], line: &str, seat: u32, course: u8) -> LineRecord {
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
    let priced = menu.price_line(&id, &mods, 1).expect("priced");
    line_record(&NewLine {
        id: LineId::new(line),
        priced,
        seat: Some(Seat(seat)),
        course: Course(course),
        notes: String::new(),
    })
}

fn open(check: &str, number: &str) -> Event {
    Event::CheckOpened {
        check: check.into(),
        number: number.into(),
        order_type: pass_shared::domain::order::OrderType::DineIn,
        table: Some("T12".into()),
        guests: 2,
        seats: 2,
        server: "maria".into(),
        external: None,
    }
}

fn dump(j: &Journal) -> Vec<String> {
    j.read(projection::dump).expect("dump")
}

#[test]
fn a_burger_goes_from_order_to_bumped_ticket_and_deducts_its_adjusted_recipe() {
    let dir = tempfile::tempdir().expect("tmp");
    let terminal = store_device(dir.path(), "terminal", DeviceRole::OrderTerminal);
    let grill = store_device(dir.path(), "grill", DeviceRole::KitchenScreen);
    let menu = menu();
    terminal
        .append(&Event::MenuPublished { toml: MENU.into() })
        .expect("menu");
    for (ingredient, qty) in [("beef_patty", 10), ("cheddar_slice", 10), ("bacon", 10)] {
        terminal
            .append(&Event::StockReceived {
                ingredient: ingredient.into(),
                qty: Decimal::from(qty),
            })
            .expect("stock");
    }
    terminal.append(&open("c1", "A1")).expect("open");
    let burger = sell(
        &menu,
        "classic_burger",
        &["no_cheese", "add_bacon"],
        "c1-l1",
        1,
        1,
    );
    terminal
        .append(&Event::LinesAdded {
            check: "c1".into(),
            lines: vec![burger],
        })
        .expect("add");
    terminal
        .append(&Event::ItemsSent {
            check: "c1".into(),
            send: 1,
            lines: vec!["c1-l1".into()],
        })
        .expect("send");
    sync(&terminal, &grill);

    let ticket = ticket_id("c1", 1, &"grill".into(), Course(1)).to_string();
    let open_tickets: Vec<(String, String)> = grill
        .read(|c| {
            c.prepare("SELECT ticket_id, state FROM proj_tickets WHERE station = 'grill'")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
        .expect("tickets");
    assert_eq!(open_tickets, vec![(ticket.clone(), "new".to_owned())]);

    grill
        .append(&Event::TicketShown {
            check: "c1".into(),
            ticket: ticket.clone(),
            at_ms: T0,
        })
        .expect("shown");
    grill
        .append(&Event::TicketBumped {
            check: "c1".into(),
            ticket: ticket.clone(),
            at_ms: T0 + 540_000,
        })
        .expect("bump");
    sync(&grill, &terminal);
    for device in [&terminal, &grill] {
        let (state, shown, bumped): (String, i64, i64) = device
            .read(|c| {
                c.query_row(
                    "SELECT state, shown_ms, bumped_ms FROM proj_tickets WHERE ticket_id = ?1",
                    [&ticket],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
            })
            .expect("ticket");
        assert_eq!(
            (state.as_str(), bumped - shown),
            ("done", 540_000),
            "a nine-minute ticket on the grill's clock"
        );
    }
    let times = grill
        .read(|c| projection::station_service_times(c, "grill", T0, T0 + 3_600_000))
        .expect("times");
    assert_eq!(
        (times.count, times.median_ms, times.p90_ms),
        (1, Some(540_000), Some(540_000))
    );
    let levels = terminal.read(projection::stock_levels).expect("levels");
    let expected: BTreeMap<&str, Decimal> = [
        ("beef_patty", Decimal::from(9)),
        ("cheddar_slice", Decimal::from(10)),
        ("bacon", Decimal::from(8)),
    ]
    .into();
    for (ingredient, level) in expected {
        assert_eq!(
            levels[ingredient], level,
            "{ingredient}: no cheese taken, two rashers of bacon added"
        );
    }
    assert_eq!(
        dump(&terminal),
        dump(&grill),
        "both devices project the same"
    );
}

#[test]
fn a_sale_of_an_item_that_ran_out_arrives_from_an_offline_peer_and_shows_as_oversold() {
    let dir = tempfile::tempdir().expect("tmp");
    let office = store_device(dir.path(), "office", DeviceRole::Console);
    let bar = store_device(dir.path(), "bar", DeviceRole::OrderTerminal);
    let menu = menu();
    office
        .append(&Event::MenuPublished { toml: MENU.into() })
        .expect("menu");
    office
        .append(&Event::StockCounted {
            ingredient: "beef_patty".into(),
            qty: Decimal::ZERO,
        })
        .expect("count");
    // The bar terminal was cut off: it never heard that the patties ran out, and sold a burger.
    bar.append(&open("c9", "B1")).expect("open");
    bar.append(&Event::LinesAdded {
        check: "c9".into(),
        lines: vec![sell(&menu, "classic_burger", &[], "c9-l1", 1, 1)],
    })
    .expect("add");
    bar.append(&Event::ItemsSent {
        check: "c9".into(),
        send: 1,
        lines: vec!["c9-l1".into()],
    })
    .expect("send");
    sync(&office, &bar);
    sync(&bar, &office);
    for device in [&office, &bar] {
        let out = device
            .read(|c| projection::eighty_sixed(c, &menu))
            .expect("86 list");
        assert!(
            out.contains(&ItemId::new("classic_burger")),
            "the burger is off the menu"
        );
        let oversold = device.read(projection::oversold).expect("oversold");
        assert_eq!(
            oversold,
            vec![("beef_patty".to_owned(), Decimal::ONE)],
            "one patty sold that the store did not have"
        );
        let lines: i64 = device
            .read(|c| {
                c.query_row(
                    "SELECT COUNT(*) FROM proj_lines WHERE check_id = 'c9'",
                    [],
                    |r| r.get(0),
                )
            })
            .expect("lines");
        assert_eq!(lines, 1, "the sale is accepted, not refused");
    }
    // At creation, the same sale is refused: the rules know the burger is out.
    let mut check =
        pass_shared::domain::check::Check::open(pass_shared::domain::check::OpenCheck {
            id: "c10".into(),
            number: "A2".parse().expect("number"),
            order_type: pass_shared::domain::order::OrderType::DineIn,
            table: Some("T1".into()),
            guests: 1,
            seats: 1,
            server: "maria".into(),
        })
        .expect("open");
    let out: std::collections::BTreeSet<ItemId> = office
        .read(|c| projection::eighty_sixed(c, &menu))
        .expect("86")
        .into_iter()
        .collect();
    let line = pass_shared::projection::fold::new_line(&sell(
        &menu,
        "classic_burger",
        &[],
        "c10-l1",
        1,
        1,
    ))
    .expect("line");
    assert!(
        check.add_line(line, &out).is_err(),
        "ordering an 86'd item is refused at creation"
    );
}

#[test]
fn a_bump_that_arrives_before_its_ticket_is_applied_once_the_ticket_arrives() {
    let dir = tempfile::tempdir().expect("tmp");
    let terminal = store_device(dir.path(), "terminal", DeviceRole::OrderTerminal);
    let grill = store_device(dir.path(), "grill", DeviceRole::KitchenScreen);
    let late = store_device(dir.path(), "late", DeviceRole::KitchenScreen);
    let menu = menu();
    terminal.append(&open("c2", "A2")).expect("open");
    terminal
        .append(&Event::LinesAdded {
            check: "c2".into(),
            lines: vec![sell(&menu, "classic_burger", &[], "c2-l1", 1, 1)],
        })
        .expect("add");
    terminal
        .append(&Event::ItemsSent {
            check: "c2".into(),
            send: 1,
            lines: vec!["c2-l1".into()],
        })
        .expect("send");
    sync(&terminal, &grill);
    let ticket = ticket_id("c2", 1, &"grill".into(), Course(1)).to_string();
    grill
        .append(&Event::TicketShown {
            check: "c2".into(),
            ticket: ticket.clone(),
            at_ms: T0,
        })
        .expect("shown");
    grill
        .append(&Event::TicketBumped {
            check: "c2".into(),
            ticket: ticket.clone(),
            at_ms: T0 + 60_000,
        })
        .expect("bump");
    // The late device hears the grill's own events first, then the terminal's.
    let from_grill = grill.events_after(grill.origin(), 0, 100).expect("read");
    late.apply(bytes(&from_grill)).expect("apply");
    let waiting: i64 = late
        .read(|c| {
            c.query_row(
                "SELECT COUNT(*) FROM proj_conflicts WHERE subject = 'c2'",
                [],
                |r| r.get(0),
            )
        })
        .expect("conflicts");
    assert!(
        waiting > 0,
        "events whose check has not arrived are shown as waiting"
    );
    sync(&terminal, &late);
    let state: String = late
        .read(|c| {
            c.query_row(
                "SELECT state FROM proj_tickets WHERE ticket_id = ?1",
                [&ticket],
                |r| r.get(0),
            )
        })
        .expect("ticket");
    assert_eq!(state, "done");
    assert_eq!(dump(&late), dump(&grill));
}

#[test]
fn rebuilding_gives_what_incremental_application_gave() {
    let dir = tempfile::tempdir().expect("tmp");
    let t = store_device(dir.path(), "t", DeviceRole::OrderTerminal);
    let menu = menu();
    t.append(&Event::MenuPublished { toml: MENU.into() })
        .expect("menu");
    t.append(&Event::StockReceived {
        ingredient: "beef_patty".into(),
        qty: Decimal::from(5),
    })
    .expect("stock");
    t.append(&open("c3", "A3")).expect("open");
    t.append(&Event::LinesAdded {
        check: "c3".into(),
        lines: vec![
            sell(&menu, "classic_burger", &["add_bacon"], "c3-l1", 1, 1),
            sell(&menu, "bacon_bbq_burger", &[], "c3-l2", 2, 1),
        ],
    })
    .expect("add");
    t.append(&Event::ItemsSent {
        check: "c3".into(),
        send: 1,
        lines: vec!["c3-l1".into(), "c3-l2".into()],
    })
    .expect("send");
    t.append(&Event::CheckDiscounted {
        check: "c3".into(),
        discount: DiscountRecord::Percent(Decimal::from(10)),
        manager: "sam".into(),
        reason: "birthday".into(),
    })
    .expect("discount");
    t.append(&Event::ItemEightySixed {
        item: "caesar_salad".into(),
        reason: "no romaine".into(),
    })
    .expect("86");
    let before = dump(&t);
    assert!(
        before.iter().any(|r| r.starts_with("proj_checks:")),
        "{before:?}"
    );
    let path = t.path().to_path_buf();
    drop(t);
    let mut conn = rusqlite::Connection::open(&path).expect("open");
    projection::rebuild(&mut conn).expect("rebuild");
    assert_eq!(projection::dump(&conn).expect("dump"), before);
}

/// A small service: two terminals open checks, add lines, send, void, pay and close; a screen
/// shows and bumps. Returns every envelope, from three origins.
fn service(dir: &Path, checks: usize, voids: &[bool], bumps: &[bool]) -> Vec<Vec<u8>> {
    let menu = menu();
    let a = store_device(dir, "gen-a", DeviceRole::OrderTerminal);
    let b = store_device(dir, "gen-b", DeviceRole::OrderTerminal);
    let screen = store_device(dir, "gen-s", DeviceRole::KitchenScreen);
    a.append(&Event::MenuPublished { toml: MENU.into() })
        .expect("menu");
    a.append(&Event::StockReceived {
        ingredient: "beef_patty".into(),
        qty: Decimal::from(3),
    })
    .expect("stock");
    let items = [
        "classic_burger",
        "caesar_salad",
        "draught_lager",
        "bacon_bbq_burger",
    ];
    for n in 0..checks {
        let dev = if n % 2 == 0 { &a } else { &b };
        let c = format!("c{n}");
        dev.append(&open(
            &c,
            &format!("{}{}", if n % 2 == 0 { 'A' } else { 'B' }, n + 1),
        ))
        .expect("open");
        let lines: Vec<LineRecord> = (0..2)
            .map(|k| {
                sell(
                    &menu,
                    items[(n + k) % items.len()],
                    &[],
                    &format!("{c}-l{k}"),
                    1,
                    1,
                )
            })
            .collect();
        dev.append(&Event::LinesAdded {
            check: c.clone(),
            lines,
        })
        .expect("add");
        dev.append(&Event::ItemsSent {
            check: c.clone(),
            send: 1,
            lines: vec![format!("{c}-l0"), format!("{c}-l1")],
        })
        .expect("send");
        if voids.get(n).copied().unwrap_or(false) {
            dev.append(&Event::LineVoided {
                check: c.clone(),
                line: format!("{c}-l1"),
                manager: "sam".into(),
                reason: "changed mind".into(),
            })
            .expect("void");
        }
        sync(dev, &screen);
        let tickets: Vec<String> = screen
            .read(|db| {
                db.prepare("SELECT ticket_id FROM proj_tickets WHERE check_id = ?1 AND state != 'voided' ORDER BY ticket_id")?
                    .query_map([&c], |r| r.get(0))?
                    .collect()
            })
            .expect("tickets");
        for t in tickets {
            screen
                .append(&Event::TicketShown {
                    check: c.clone(),
                    ticket: t.clone(),
                    at_ms: T0 + n as i64,
                })
                .expect("shown");
            if bumps.get(n).copied().unwrap_or(true) {
                screen
                    .append(&Event::TicketBumped {
                        check: c.clone(),
                        ticket: t,
                        at_ms: T0 + 300_000,
                    })
                    .expect("bump");
            }
        }
        sync(&screen, dev);
        let total: i64 = dev
            .read(|db| {
                db.query_row(
                    "SELECT total_cents FROM proj_checks WHERE check_id = ?1",
                    [&c],
                    |r| r.get(0),
                )
            })
            .expect("total");
        dev.append(&Event::PaymentRecorded {
            check: c.clone(),
            payment: format!("{c}-p1"),
            amount: pass_shared::domain::Money::from_minor(total),
        })
        .expect("pay");
        dev.append(&Event::CheckClosed { check: c.clone() })
            .expect("close");
    }
    let mut all = Vec::new();
    for d in [&a, &b, &screen] {
        all.extend(bytes(&d.all_events().expect("read")));
    }
    all
}

fn foreign_only(j: &Journal) -> Vec<String> {
    // A device's own first event differs between devices; everything else must match.
    dump(j)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, failure_persistence: None, .. ProptestConfig::default() })]

    /// Orders, sends, voids, bumps and payments from three devices: every arrival order, with
    /// duplicates, gives identical projections.
    #[test]
    fn any_arrival_order_gives_identical_projections(
        checks in 1usize..4,
        voids in proptest::collection::vec(any::<bool>(), 4),
        bumps in proptest::collection::vec(any::<bool>(), 4),
        order in proptest::collection::vec(any::<prop::sample::Index>(), 40),
        dups in proptest::collection::vec(any::<prop::sample::Index>(), 0..15),
        chunk in 1usize..6,
    ) {
        let dir = tempfile::tempdir().expect("tmp");
        let all = service(dir.path(), checks, &voids, &bumps);
        let in_order = store_device(dir.path(), "in-order", DeviceRole::KitchenScreen);
        in_order.apply(all.clone()).expect("apply");
        let mut shuffled = all.clone();
        for (i, idx) in order.iter().enumerate() {
            let len = shuffled.len();
            shuffled.swap(i % len, idx.index(len));
        }
        for idx in &dups {
            let pick = shuffled[idx.index(shuffled.len())].clone();
            shuffled.push(pick);
        }
        let other = store_device(dir.path(), "shuffled", DeviceRole::KitchenScreen);
        for piece in shuffled.chunks(chunk) {
            other.apply(piece.to_vec()).expect("apply");
        }
        prop_assert_eq!(foreign_only(&in_order), foreign_only(&other));
        let conflicts: i64 = other.read(|c| c.query_row("SELECT COUNT(*) FROM proj_conflicts", [], |r| r.get(0))).expect("conflicts");
        prop_assert_eq!(conflicts, 0, "once everything has arrived nothing is left waiting");
    }
}

fn device_at(dir: &Path, name: &str, clock: &ManualClock) -> Journal {
    let opts = JournalOptions::new(Arc::new(clock.clone()), DeviceRole::OrderTerminal, name);
    Journal::open_with(
        db_path(dir, name),
        opts,
        vec![Box::new(StoreProjections::new())],
    )
    .expect("open")
}

/// Opens, sells one burger, sends, pays and closes a check.
fn whole_sale(dev: &Journal, menu: &Menu, check: &str, number: &str) {
    dev.append(&open(check, number)).expect("open");
    let line = format!("{check}-l1");
    dev.append(&Event::LinesAdded {
        check: check.into(),
        lines: vec![sell(menu, "classic_burger", &[], &line, 1, 1)],
    })
    .expect("add");
    dev.append(&Event::ItemsSent {
        check: check.into(),
        send: 1,
        lines: vec![line],
    })
    .expect("send");
    let total: i64 = dev
        .read(|db| {
            db.query_row(
                "SELECT total_cents FROM proj_checks WHERE check_id = ?1",
                [check],
                |r| r.get(0),
            )
        })
        .expect("total");
    dev.append(&Event::PaymentRecorded {
        check: check.into(),
        payment: format!("{check}-p"),
        amount: pass_shared::domain::Money::from_minor(total),
    })
    .expect("pay");
    dev.append(&Event::CheckClosed {
        check: check.into(),
    })
    .expect("close");
}

#[test]
fn the_z_covers_exactly_the_closed_heads_and_a_late_sale_shows_as_late_after_z_everywhere() {
    use pass_shared::projection::day::{self, SaleDay};
    let dir = tempfile::tempdir().expect("tmp");
    let menu = menu();
    let (clock_a, clock_b, clock_office) = (
        ManualClock::starting_at(T0),
        ManualClock::starting_at(T0 + 60_000),
        ManualClock::starting_at(T0 + 120_000),
    );
    let a = device_at(dir.path(), "a", &clock_a);
    let b = device_at(dir.path(), "b", &clock_b);
    let office = device_at(dir.path(), "office", &clock_office);
    whole_sale(&a, &menu, "c1", "A1");
    // b is cut off: its sale, made before the close, reaches nobody until later.
    whole_sale(&b, &menu, "c2", "B1");
    sync(&a, &office);
    let today = pass_shared::domain::business_day::StoreSettings::default()
        .business_day(T0)
        .expect("day");
    day::close_day(&office, today).expect("close the day");
    assert!(
        day::close_day(&office, today).is_err(),
        "a day is closed once"
    );
    // After the close, a sale on the same evening belongs to the next business day.
    sync(&office, &a);
    clock_a.set(T0 + 180_000);
    whole_sale(&a, &menu, "c3", "A2");
    for (from, to) in [
        (&a, &b),
        (&b, &a),
        (&a, &office),
        (&b, &office),
        (&office, &a),
        (&office, &b),
    ] {
        sync(from, to);
    }
    let tomorrow = today.next().expect("next day");
    let mut reports = Vec::new();
    for dev in [&a, &b, &office] {
        let z = dev
            .read(|db| Ok(day::day_report(db, today)))
            .expect("read")
            .expect("report");
        let next = dev
            .read(|db| Ok(day::day_report(db, tomorrow)))
            .expect("read")
            .expect("report");
        let checks =
            |sales: &[day::Sale]| sales.iter().map(|s| s.check.clone()).collect::<Vec<_>>();
        assert!(z.closed);
        assert_eq!(
            checks(&z.sales),
            vec!["c1"],
            "the Z covers exactly the sale within the close's heads"
        );
        assert_eq!(
            checks(&next.sales),
            vec!["c3"],
            "a sale after the close is the next day's"
        );
        assert_eq!(
            checks(&next.late_after_z),
            vec!["c2"],
            "the cut-off terminal's sale is late, after Z"
        );
        assert_eq!(next.late_after_z[0].day, SaleDay::LateAfterZ(today));
        reports.push((z, next));
    }
    assert!(
        reports.windows(2).all(|w| w[0] == w[1]),
        "every device reports the same"
    );
}

#[test]
fn the_next_course_is_fired_once_by_the_device_that_sent_it_when_the_course_before_is_bumped() {
    let dir = tempfile::tempdir().expect("tmp");
    let menu = menu();
    let terminal = store_device(dir.path(), "terminal", DeviceRole::OrderTerminal);
    let grill = store_device(dir.path(), "grill", DeviceRole::KitchenScreen);
    let other = store_device(dir.path(), "other", DeviceRole::OrderTerminal);
    terminal.append(&open("c5", "A5")).expect("open");
    terminal
        .append(&Event::CourseHeld {
            check: "c5".into(),
            course: 2,
        })
        .expect("hold");
    let lines = vec![
        sell(&menu, "classic_burger", &[], "c5-l1", 1, 1),
        sell(&menu, "bacon_bbq_burger", &[], "c5-l2", 2, 2),
    ];
    terminal
        .append(&Event::LinesAdded {
            check: "c5".into(),
            lines,
        })
        .expect("add");
    terminal
        .append(&Event::ItemsSent {
            check: "c5".into(),
            send: 1,
            lines: vec!["c5-l1".into(), "c5-l2".into()],
        })
        .expect("send");
    sync(&terminal, &grill);
    sync(&terminal, &other);
    let held = |j: &Journal| -> bool {
        j.read(|c| {
            c.query_row(
                "SELECT MAX(held) FROM proj_tickets WHERE check_id = 'c5' AND course = 2",
                [],
                |r| r.get(0),
            )
        })
        .expect("ticket")
    };
    assert!(held(&grill), "course 2 waits, held");
    // Every station's course-1 ticket is bumped (the burger also goes to the fryer for its fries).
    let course_one: Vec<String> = grill
        .read(|c| {
            c.prepare("SELECT ticket_id FROM proj_tickets WHERE check_id = 'c5' AND course = 1")?
                .query_map([], |r| r.get(0))?
                .collect()
        })
        .expect("tickets");
    assert!(!course_one.is_empty());
    for t in course_one {
        grill
            .append(&Event::TicketShown {
                check: "c5".into(),
                ticket: t.clone(),
                at_ms: T0,
            })
            .expect("shown");
        grill
            .append(&Event::TicketBumped {
                check: "c5".into(),
                ticket: t,
                at_ms: T0 + 400_000,
            })
            .expect("bump");
    }
    assert!(
        held(&grill),
        "the grill did not send course 2, so it does not fire it"
    );
    sync(&grill, &other);
    assert!(held(&other), "nor does another terminal");
    sync(&grill, &terminal);
    assert!(
        !held(&terminal),
        "the sending terminal fires course 2 as it applies the completing bump"
    );
    // Delivered again, the bump fires nothing new.
    sync(&grill, &terminal);
    for (from, to) in [(&terminal, &grill), (&terminal, &other), (&grill, &other)] {
        sync(from, to);
    }
    for dev in [&terminal, &grill, &other] {
        assert!(!held(dev));
        let fired = dev
            .all_events()
            .expect("events")
            .iter()
            .filter(|e| e.header().expect("header").kind == "course_fired")
            .count();
        assert_eq!(fired, 1, "exactly one device wrote exactly one fire");
    }
    assert_eq!(dump(&terminal), dump(&other));
}

#[test]
fn a_forked_event_stays_out_of_the_projections_until_a_later_event_chains_onto_one_version() {
    let dir = tempfile::tempdir().expect("tmp");
    let menu = menu();
    let a_path = db_path(dir.path(), "a");
    {
        let a = store_device(dir.path(), "a", DeviceRole::OrderTerminal);
        a.append(&open("c7", "A7")).expect("open");
    }
    let copy_path = db_path(dir.path(), "a-copy");
    std::fs::copy(&a_path, &copy_path).expect("copy");
    let opts = || {
        JournalOptions::new(
            Arc::new(ManualClock::starting_at(T0)),
            DeviceRole::OrderTerminal,
            "a",
        )
    };
    let a =
        Journal::open_with(&a_path, opts(), vec![Box::new(StoreProjections::new())]).expect("open");
    let copy = Journal::open_with(&copy_path, opts(), vec![Box::new(StoreProjections::new())])
        .expect("open copy");
    a.append(&Event::LinesAdded {
        check: "c7".into(),
        lines: vec![sell(&menu, "classic_burger", &[], "c7-l1", 1, 1)],
    })
    .expect("a's seq 3");
    copy.append(&Event::LinesAdded {
        check: "c7".into(),
        lines: vec![sell(&menu, "caesar_salad", &[], "c7-l9", 1, 1)],
    })
    .expect("the copy's seq 3");
    let b = store_device(dir.path(), "b", DeviceRole::KitchenScreen);
    let lines = |j: &Journal| -> Vec<String> {
        j.read(|c| {
            c.prepare("SELECT line_id FROM proj_lines WHERE check_id = 'c7' ORDER BY line_id")?
                .query_map([], |r| r.get(0))?
                .collect()
        })
        .expect("lines")
    };
    sync(&a, &b);
    assert_eq!(lines(&b), vec!["c7-l1"]);
    sync(&copy, &b);
    assert_eq!(b.forks().expect("forks").len(), 1);
    assert!(
        lines(&b).is_empty(),
        "neither version of a forked event is projected"
    );
    a.append(&Event::ItemsSent {
        check: "c7".into(),
        send: 1,
        lines: vec!["c7-l1".into()],
    })
    .expect("a's seq 4");
    sync(&a, &b);
    assert_eq!(
        lines(&b),
        vec!["c7-l1"],
        "the version that a later event chains onto enters"
    );
    let incremental = dump(&b);
    let path = b.path().to_path_buf();
    drop(b);
    let mut conn = rusqlite::Connection::open(&path).expect("open");
    projection::rebuild(&mut conn).expect("rebuild");
    assert_eq!(projection::dump(&conn).expect("dump"), incremental);
}

#[test]
fn a_check_open_on_one_terminal_shows_who_has_it_on_the_others() {
    let dir = tempfile::tempdir().expect("tmp");
    let bar = store_device(dir.path(), "bar", DeviceRole::OrderTerminal);
    let floor = store_device(dir.path(), "floor", DeviceRole::OrderTerminal);
    bar.append(&open("c8", "A8")).expect("open");
    bar.append(&Event::CheckClaimed {
        check: "c8".into(),
        device: "bar".into(),
        staff: "maria".into(),
    })
    .expect("claim");
    sync(&bar, &floor);
    let holder = |j: &Journal| -> Option<(String, String)> {
        j.read(|c| {
            c.query_row(
                "SELECT open_on_device, open_on_staff FROM proj_checks WHERE check_id = 'c8'",
                [],
                |r| {
                    Ok(r.get::<_, Option<String>>(0)?
                        .zip(r.get::<_, Option<String>>(1)?))
                },
            )
        })
        .expect("check")
    };
    assert_eq!(
        holder(&floor),
        Some(("bar".into(), "maria".into())),
        "the floor terminal sees Maria has it on the bar"
    );
    // A release from a terminal that does not hold the check changes nothing.
    floor
        .append(&Event::CheckReleased {
            check: "c8".into(),
            device: "floor".into(),
        })
        .expect("release");
    sync(&floor, &bar);
    assert_eq!(holder(&bar), Some(("bar".into(), "maria".into())));
    bar.append(&Event::CheckReleased {
        check: "c8".into(),
        device: "bar".into(),
    })
    .expect("release");
    sync(&bar, &floor);
    assert_eq!(holder(&floor), None);
}

/// Two terminals' checks, one taken into the other after both were sent, the result split by
/// seat, paid and closed; the kitchen shows and bumps the merged check's ticket after the merge.
fn merged_service(dir: &Path) -> Vec<Vec<u8>> {
    let menu = menu();
    let a = store_device(dir, "merge-a", DeviceRole::OrderTerminal);
    let b = store_device(dir, "merge-b", DeviceRole::OrderTerminal);
    let screen = store_device(dir, "merge-s", DeviceRole::KitchenScreen);
    a.append(&Event::MenuPublished { toml: MENU.into() })
        .expect("menu");
    for (dev, check, number, item) in [
        (&a, "m1", "A1", "classic_burger"),
        (&b, "m2", "B1", "bacon_bbq_burger"),
    ] {
        dev.append(&open(check, number)).expect("open");
        dev.append(&Event::LinesAdded {
            check: check.into(),
            lines: vec![
                sell(&menu, item, &[], &format!("{check}-l1"), 1, 1),
                sell(&menu, "draught_lager", &[], &format!("{check}-l2"), 2, 1),
            ],
        })
        .expect("add");
        dev.append(&Event::ItemsSent {
            check: check.into(),
            send: 1,
            lines: vec![format!("{check}-l1"), format!("{check}-l2")],
        })
        .expect("send");
    }
    sync(&b, &a);
    a.append(&Event::ChecksMerged {
        check: "m1".into(),
        from: "m2".into(),
    })
    .expect("merge");
    a.append(&Event::CheckSplit {
        check: "m1".into(),
        split: pass_shared::event::SplitRecord::Seat,
    })
    .expect("split");
    sync(&a, &screen);
    let grill = ticket_id("m2", 1, &"grill".into(), Course(1)).to_string();
    for event in [
        Event::TicketShown {
            check: "m2".into(),
            ticket: grill.clone(),
            at_ms: T0,
        },
        Event::TicketBumped {
            check: "m2".into(),
            ticket: grill,
            at_ms: T0 + 60_000,
        },
    ] {
        screen.append(&event).expect("kitchen");
    }
    sync(&screen, &a);
    let total: i64 = a
        .read(|db| {
            db.query_row(
                "SELECT total_cents FROM proj_checks WHERE check_id = 'm1'",
                [],
                |r| r.get(0),
            )
        })
        .expect("total");
    a.append(&Event::PaymentRecorded {
        check: "m1".into(),
        payment: "m1-p1".into(),
        amount: pass_shared::domain::Money::from_minor(total),
    })
    .expect("pay");
    a.append(&Event::CheckClosed { check: "m1".into() })
        .expect("close");
    let mut all = Vec::new();
    for d in [&a, &b, &screen] {
        all.extend(bytes(&d.all_events().expect("read")));
    }
    all
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, failure_persistence: None, .. ProptestConfig::default() })]

    /// A merge folds both checks together: whatever order the events arrive in (the merge
    /// before either check, the bump of the merged check's ticket before the merge), every
    /// device ends with the same projections, the merged check is no sale of its own, and a
    /// rebuild gives the same again.
    #[test]
    fn a_merge_gives_identical_projections_in_any_arrival_order(
        order in proptest::collection::vec(any::<prop::sample::Index>(), 30),
        chunk in 1usize..5,
    ) {
        let dir = tempfile::tempdir().expect("tmp");
        let all = merged_service(dir.path());
        let in_order = store_device(dir.path(), "in-order", DeviceRole::KitchenScreen);
        in_order.apply(all.clone()).expect("apply");
        let mut shuffled = all;
        for (i, idx) in order.iter().enumerate() {
            let len = shuffled.len();
            shuffled.swap(i % len, idx.index(len));
        }
        let other = store_device(dir.path(), "shuffled", DeviceRole::KitchenScreen);
        for piece in shuffled.chunks(chunk) {
            other.apply(piece.to_vec()).expect("apply");
        }
        let expected = dump(&in_order);
        prop_assert_eq!(&expected, &dump(&other));
        let checks: Vec<(String, String, Option<i64>)> = other
            .read(|db| {
                db.prepare("SELECT check_id, state, closed_hlc FROM proj_checks ORDER BY check_id")?
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect()
            })
            .expect("checks");
        let states: Vec<(&str, &str, bool)> = checks
            .iter()
            .map(|(c, s, closed)| (c.as_str(), s.as_str(), closed.is_some()))
            .collect();
        prop_assert_eq!(states, [("m1", "closed", true), ("m2", "merged", false)]);
        let conflicts: i64 = other
            .read(|c| c.query_row("SELECT COUNT(*) FROM proj_conflicts", [], |r| r.get(0)))
            .expect("conflicts");
        prop_assert_eq!(conflicts, 0);
        let path = other.path().to_path_buf();
        drop(other);
        let mut conn = rusqlite::Connection::open(&path).expect("open");
        projection::rebuild(&mut conn).expect("rebuild");
        prop_assert_eq!(projection::dump(&conn).expect("dump"), expected);
    }
}
