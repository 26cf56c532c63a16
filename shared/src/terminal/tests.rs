//! The terminal over a real journal with the sample menu and the demo staff (Maria, manager,
//! 2580; Sam, server, 1357; Ana, server, 2468; Ben, bartender, 3690), on a controlled clock.

use std::sync::Arc;

use super::views::{LineStatus, ScreenView, TableState};
use super::*;
use crate::clock::{Clock, ManualClock};
use crate::domain::check::Course;
use crate::domain::menu::StationId;
use crate::domain::order::OrderType;
use crate::event::{DeviceRole, SplitRecord};
use crate::journal::JournalOptions;
use crate::projection::StoreProjections;
use crate::projection::fold::ticket_id;

const START: i64 = 1_767_295_800_000;

struct Host {
    journal: Journal,
    clock: ManualClock,
    link: Link,
    _dir: tempfile::TempDir,
}

impl TerminalHost for Host {
    fn journal(&self) -> &Journal {
        &self.journal
    }
    fn append(&self, event: &Event) -> Result<crate::journal::Committed, JournalError> {
        self.journal.append(event)
    }
    fn now_ms(&self) -> i64 {
        self.clock.wall_ms()
    }
    fn device_id(&self) -> String {
        "t1".to_owned()
    }
    fn link(&self) -> Link {
        self.link.clone()
    }
}

fn host() -> Host {
    let dir = tempfile::tempdir().expect("dir");
    let clock = ManualClock::starting_at(START);
    let journal = Journal::open_with(
        dir.path().join("t1.db"),
        JournalOptions::new(Arc::new(clock.clone()), DeviceRole::OrderTerminal, "t1"),
        vec![Box::new(StoreProjections::new())],
    )
    .expect("journal");
    crate::kitchen::sample::publish_store(&journal).expect("store");
    Host {
        journal,
        clock,
        link: Link {
            connected: true,
            cut_off_since_ms: None,
            unconfirmed: 0,
            peers: vec!["grill".into()],
        },
        _dir: dir,
    }
}

fn terminal() -> Terminal {
    Terminal::new(TerminalSettings::new("t1"), FloorPlan::default_plan())
}

/// How many events the journal holds (all kinds), or of one kind.
fn events(host: &Host, kind: Option<&str>) -> i64 {
    host.journal
        .read(|db| match kind {
            Some(k) => db.query_row("SELECT COUNT(*) FROM events WHERE kind = ?1", [k], |r| {
                r.get(0)
            }),
            None => db.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0)),
        })
        .expect("count")
}

fn act(t: &mut Terminal, host: &Host, intent: Intent) -> Outcome {
    let shown = format!("{intent:?}");
    t.apply(host, intent)
        .unwrap_or_else(|e| panic!("{shown}: {e}"))
}

/// Refused, writing nothing; the refusal's text.
fn refused(t: &mut Terminal, host: &Host, intent: Intent) -> String {
    let before = events(host, None);
    let shown = format!("{intent:?}");
    let e = t
        .apply(host, intent)
        .expect_err(&format!("{shown} is refused"));
    assert_eq!(events(host, None), before, "{shown} wrote nothing");
    e.to_string()
}

fn sign_in(t: &mut Terminal, host: &Host, pin: &str) {
    act(t, host, Intent::SignIn { pin: pin.into() });
}

/// Opens table `table` for `guests` as whoever is signed in; the check id.
fn open(t: &mut Terminal, host: &Host, table: &str, guests: u32) -> String {
    act(
        t,
        host,
        Intent::OpenCheck {
            table: Some(table.into()),
            guests,
            seats: None,
            order_type: None,
        },
    )
    .check
    .expect("a check")
}

fn add(
    t: &mut Terminal,
    host: &Host,
    check: &str,
    item: &str,
    modifiers: &[&str],
    seat: u32,
    course: u8,
) -> String {
    act(
        t,
        host,
        Intent::AddLine {
            check: check.into(),
            item: item.into(),
            modifiers: modifiers.iter().map(|m| (*m).to_owned()).collect(),
            qty: 1,
            seat: Some(seat),
            course,
            notes: String::new(),
        },
    )
    .line
    .expect("a line")
}

fn screen(t: &mut Terminal, host: &Host) -> ScreenView {
    t.view(host).expect("view").screen
}

#[test]
fn wrong_pins_back_off_alert_a_manager_once_and_never_lock_out() {
    let host = host();
    let mut t = terminal();
    for try_no in 1..=5 {
        let wait = t.session().wait_ms(host.now_ms());
        host.clock.advance(i64::try_from(wait).expect("ms"));
        let before = events(&host, None);
        let e = t
            .apply(&host, Intent::SignIn { pin: "0000".into() })
            .expect_err("a wrong PIN");
        assert_eq!(e.to_string(), "wrong PIN");
        // The fifth wrong PIN in a row writes the alert for a manager, and nothing else.
        let alerts = if try_no == 5 { 1 } else { 0 };
        assert_eq!(events(&host, None) - before, alerts, "try {try_no}");
    }
    assert_eq!(events(&host, Some("sign_in_alert")), 1);
    let ScreenView::SignIn(pad) = screen(&mut t, &host) else {
        panic!("the PIN screen");
    };
    assert!(pad.wait_ms > 0, "the next try waits");
    let e = refused(&mut t, &host, Intent::SignIn { pin: "1357".into() });
    assert!(e.starts_with("too many wrong PINs: try again in"), "{e}");
    host.clock.advance(i64::try_from(pad.wait_ms).expect("ms"));
    // The PIN pad: digits are counted, not shown; Enter signs in.
    for d in [1, 3, 5, 9] {
        act(
            &mut t,
            &host,
            Intent::PinKey {
                key: PinKey::Digit(d),
            },
        );
    }
    act(&mut t, &host, Intent::PinKey { key: PinKey::Back });
    let ScreenView::SignIn(pad) = screen(&mut t, &host) else {
        panic!("still the PIN screen");
    };
    assert_eq!(pad.digits, 3);
    act(
        &mut t,
        &host,
        Intent::PinKey {
            key: PinKey::Digit(7),
        },
    );
    let out = act(&mut t, &host, Intent::PinKey { key: PinKey::Enter });
    assert_eq!(out.staff.as_deref(), Some("Sam"));
    assert!(matches!(screen(&mut t, &host), ScreenView::Floor(_)));
}

#[test]
fn the_role_decides_and_overrides_need_a_manager_pin_and_a_reason() {
    let host = host();
    let mut t = terminal();
    assert_eq!(
        refused(
            &mut t,
            &host,
            Intent::OpenCheck {
                table: Some("12".into()),
                guests: 2,
                seats: None,
                order_type: None
            }
        ),
        "sign in first"
    );
    sign_in(&mut t, &host, "1357");
    let check = open(&mut t, &host, "12", 2);
    let line = add(&mut t, &host, &check, "cola", &[], 1, 1);
    let void = |pin: Option<&str>, reason: Option<&str>| Intent::Void {
        check: check.clone(),
        line: line.clone(),
        manager_pin: pin.map(str::to_owned),
        reason: reason.map(str::to_owned),
    };
    assert_eq!(
        refused(&mut t, &host, void(None, Some("spilt"))),
        "a void needs a manager's PIN"
    );
    assert!(refused(&mut t, &host, void(Some("2580"), None)).starts_with("a void needs a reason"),);
    assert_eq!(
        refused(&mut t, &host, void(Some("1357"), Some("spilt"))),
        "Sam (server) may not approve a void"
    );
    assert_eq!(
        refused(&mut t, &host, void(Some("3690"), Some("spilt"))),
        "Ben (bartender) may not approve a void"
    );
    let out = act(&mut t, &host, void(Some("2580"), Some("spilt")));
    assert_eq!(out.written.len(), 1);
    assert_eq!(events(&host, Some("line_voided")), 1);
    let view = t.check(&host, &check).expect("check");
    assert_eq!(view.lines[0].status, LineStatus::Voided);

    // Another server's check needs a manager.
    sign_in(&mut t, &host, "2468");
    assert_eq!(
        refused(
            &mut t,
            &host,
            Intent::Move {
                check: check.clone(),
                table: "14".into()
            }
        ),
        "Ana (server) may not change another server's check"
    );
    sign_in(&mut t, &host, "2580");
    act(
        &mut t,
        &host,
        Intent::Move {
            check: check.clone(),
            table: "14".into(),
        },
    );
}

#[test]
fn back_to_the_pin_screen_after_a_send_and_when_idle_putting_the_check_down() {
    let host = host();
    let mut t = terminal();
    sign_in(&mut t, &host, "1357");
    let check = open(&mut t, &host, "12", 2);
    assert_eq!(events(&host, Some("check_claimed")), 1);
    add(&mut t, &host, &check, "cola", &[], 1, 1);
    let out = act(
        &mut t,
        &host,
        Intent::Send {
            check: check.clone(),
        },
    );
    assert!(out.signed_out);
    assert_eq!(events(&host, Some("check_released")), 1);
    assert!(matches!(screen(&mut t, &host), ScreenView::SignIn(_)));
    assert_eq!(refused(&mut t, &host, Intent::ShowFloor), "sign in first");

    // Idle minutes: the terminal goes back by itself.
    sign_in(&mut t, &host, "1357");
    act(&mut t, &host, Intent::SelectTable { table: "12".into() });
    assert_eq!(events(&host, Some("check_claimed")), 2);
    host.clock
        .advance(t.settings().idle_ms().expect("idle") - 1);
    assert!(matches!(screen(&mut t, &host), ScreenView::Order(_)));
    host.clock.advance(1);
    t.tick(&host).expect("tick");
    assert!(matches!(screen(&mut t, &host), ScreenView::SignIn(_)));
    assert_eq!(events(&host, Some("check_released")), 2);

    // Set not to: a manager's PIN changes it.
    sign_in(&mut t, &host, "1357");
    assert_eq!(
        refused(
            &mut t,
            &host,
            Intent::ChangeSettings {
                manager_pin: Some("1357".into()),
                change: SettingsChange {
                    return_to_pin_after_send: Some(false),
                    ..SettingsChange::default()
                }
            }
        ),
        "Sam (server) may not change a device's settings"
    );
    act(
        &mut t,
        &host,
        Intent::ChangeSettings {
            manager_pin: Some("2580".into()),
            change: SettingsChange {
                return_to_pin_after_send: Some(false),
                ..SettingsChange::default()
            },
        },
    );
    add(&mut t, &host, &check, "cola", &[], 2, 1);
    let out = act(&mut t, &host, Intent::Send { check });
    assert!(!out.signed_out);
    assert!(matches!(screen(&mut t, &host), ScreenView::Order(_)));
}

#[test]
fn the_modifier_dialog_cannot_be_skipped_and_86_items_are_refused() {
    let host = host();
    let mut t = terminal();
    sign_in(&mut t, &host, "1357");
    let check = open(&mut t, &host, "12", 4);
    act(
        &mut t,
        &host,
        Intent::ChooseCategory {
            category: "burgers".into(),
        },
    );
    act(&mut t, &host, Intent::SetSeat { seat: Some(3) });
    act(&mut t, &host, Intent::SetCourse { course: 2 });
    act(
        &mut t,
        &host,
        Intent::PickItem {
            item: "classic_burger".into(),
        },
    );
    let ScreenView::Order(order) = screen(&mut t, &host) else {
        panic!("the ordering screen");
    };
    let burger = order
        .menu
        .items
        .iter()
        .find(|i| i.id == "classic_burger")
        .expect("on the burgers page");
    assert_eq!(burger.price.to_string(), "14.50");
    assert!(burger.has_required_choice);
    let dialog = order.dialog.expect("the dialog");
    assert!(!dialog.can_add);
    assert_eq!(dialog.missing, ["Doneness"]);
    assert_eq!(
        refused(&mut t, &host, Intent::ConfirmItem),
        "Classic Burger needs a choice of Doneness"
    );
    act(
        &mut t,
        &host,
        Intent::ToggleModifier {
            modifier: "medium".into(),
        },
    );
    act(
        &mut t,
        &host,
        Intent::ToggleModifier {
            modifier: "medium_rare".into(),
        },
    );
    act(
        &mut t,
        &host,
        Intent::ToggleModifier {
            modifier: "add_bacon".into(),
        },
    );
    assert!(
        refused(
            &mut t,
            &host,
            Intent::ToggleModifier {
                modifier: "dressing_ranch".into()
            }
        )
        .contains("not offered"),
    );
    let ScreenView::Order(order) = screen(&mut t, &host) else {
        panic!("the ordering screen");
    };
    let dialog = order.dialog.expect("the dialog");
    assert!(dialog.can_add);
    assert_eq!(dialog.unit_price.to_string(), "16.50", "14.50 + bacon 2.00");
    let chosen: Vec<&str> = dialog
        .groups
        .iter()
        .flat_map(|g| g.options.iter().filter(|o| o.chosen).map(|o| o.id.as_str()))
        .collect();
    assert_eq!(
        chosen,
        ["medium_rare", "add_bacon"],
        "choose-one replaced medium"
    );
    let out = act(&mut t, &host, Intent::ConfirmItem);
    let view = t.check(&host, &check).expect("check");
    let line = &view.lines[0];
    assert_eq!(Some(&line.line), out.line.as_ref());
    assert_eq!(
        (line.seat, line.course, line.amount.to_string().as_str()),
        (Some(3), 2, "16.50")
    );
    let names: Vec<(&str, bool)> = line
        .modifiers
        .iter()
        .map(|m| (m.name.as_str(), m.forced))
        .collect();
    assert_eq!(names, [("Medium rare", true), ("Add bacon", false)]);
    assert_eq!(line.status, LineStatus::New);

    // In one step the same rule holds.
    assert_eq!(
        refused(
            &mut t,
            &host,
            Intent::AddLine {
                check: check.clone(),
                item: "ribeye".into(),
                modifiers: vec![],
                qty: 1,
                seat: None,
                course: 2,
                notes: String::new(),
            }
        ),
        "Ribeye 12 oz needs a choice of Doneness"
    );

    // 86: greyed on the menu, refused when picked or added.
    host.journal
        .append(&Event::ItemEightySixed {
            item: "cola".into(),
            reason: "out".into(),
        })
        .expect("86");
    act(
        &mut t,
        &host,
        Intent::ChooseCategory {
            category: "soft_drinks".into(),
        },
    );
    let ScreenView::Order(order) = screen(&mut t, &host) else {
        panic!("the ordering screen");
    };
    let cola = order
        .menu
        .items
        .iter()
        .find(|i| i.id == "cola")
        .expect("cola");
    assert!(cola.eighty_sixed);
    assert_eq!(
        refused(
            &mut t,
            &host,
            Intent::PickItem {
                item: "cola".into()
            }
        ),
        "Cola is 86'd: none left to sell"
    );
    assert_eq!(
        refused(
            &mut t,
            &host,
            Intent::AddLine {
                check,
                item: "cola".into(),
                modifiers: vec![],
                qty: 1,
                seat: None,
                course: 1,
                notes: String::new(),
            }
        ),
        "Cola is 86'd: none left to sell"
    );
}

#[test]
fn the_check_shows_received_and_ready_per_sent_line_and_totals_to_the_cent() {
    let host = host();
    let mut t = terminal();
    sign_in(&mut t, &host, "1357");
    let check = open(&mut t, &host, "12", 2);
    let burger = add(&mut t, &host, &check, "classic_burger", &["medium"], 1, 1);
    let wine = add(&mut t, &host, &check, "house_red_glass", &[], 2, 2);
    act(
        &mut t,
        &host,
        Intent::HoldCourse {
            check: check.clone(),
            course: 2,
        },
    );
    assert_eq!(
        refused(
            &mut t,
            &host,
            Intent::HoldCourse {
                check: check.clone(),
                course: 2
            }
        ),
        "course 2 is already held"
    );
    sign_in(&mut t, &host, "1357");
    act(
        &mut t,
        &host,
        Intent::Send {
            check: check.clone(),
        },
    );
    sign_in(&mut t, &host, "1357");
    let status = |t: &mut Terminal, line: &str| {
        let view = t.check(&host, &check).expect("check");
        view.lines
            .iter()
            .find(|l| l.line == line)
            .map(|l| (l.status, l.status_text))
            .expect("line")
    };
    assert_eq!(status(&mut t, &burger), (LineStatus::Sent, "sent"));
    assert_eq!(status(&mut t, &wine), (LineStatus::Held, "held"));
    let grill = ticket_id(&check, 1, &StationId::new("grill"), Course(1)).to_string();
    let fry = ticket_id(&check, 1, &StationId::new("fry"), Course(1)).to_string();
    for ticket in [&grill, &fry] {
        host.journal
            .append(&Event::TicketShown {
                check: check.clone(),
                ticket: ticket.clone(),
                at_ms: START,
            })
            .expect("shown");
        if ticket == &grill {
            assert_eq!(
                status(&mut t, &burger).0,
                LineStatus::Sent,
                "the fryer has not"
            );
        }
    }
    assert_eq!(
        status(&mut t, &burger),
        (LineStatus::Received, "received ✓")
    );
    let bump = |ticket: &String| {
        host.journal
            .append(&Event::TicketBumped {
                check: check.clone(),
                ticket: ticket.clone(),
                at_ms: START + 1,
            })
            .expect("bumped");
    };
    bump(&grill);
    // Course 1 is not done yet (the fryer has not bumped): course 2 is still held, and the
    // server fires it.
    let floor = t.floor(&host).expect("floor");
    let twelve = floor.tables.iter().find(|t| t.id == "12").expect("12");
    assert_eq!(twelve.checks[0].held_courses, [2]);
    act(
        &mut t,
        &host,
        Intent::FireCourse {
            check: check.clone(),
            course: 2,
        },
    );
    assert_eq!(
        refused(
            &mut t,
            &host,
            Intent::FireCourse {
                check: check.clone(),
                course: 2
            }
        ),
        "course 2 is not held"
    );
    bump(&fry);
    assert_eq!(status(&mut t, &burger), (LineStatus::Ready, "ready"));
    let floor = t.floor(&host).expect("floor");
    let twelve = floor.tables.iter().find(|t| t.id == "12").expect("12");
    assert_eq!(twelve.state, TableState::Seated);
    assert_eq!(twelve.checks[0].food_ready, Some(1));
    assert_eq!(status(&mut t, &wine).0, LineStatus::Sent);
    let floor = t.floor(&host).expect("floor");
    let twelve = floor.tables.iter().find(|t| t.id == "12").expect("12");
    assert_eq!(twelve.checks[0].course_in_progress, Some(2));
    assert!(twelve.checks[0].held_courses.is_empty());

    // Burger 14.50 and wine 10.00 at 8.875 % sales tax (2.174375 → 2.17), the wine also at
    // 2.5 % liquor tax (0.25): 24.50 + 2.42.
    let view = t.check(&host, &check).expect("check");
    let totals = &view.totals;
    assert_eq!(totals.subtotal.to_string(), "24.50");
    assert_eq!(totals.tax_added.to_string(), "2.42");
    assert_eq!(totals.total.to_string(), "26.92");
    assert_eq!(totals.balance_due.to_string(), "26.92");
}

#[test]
fn the_floor_shows_free_and_seated_tables_and_who_has_a_check_elsewhere() {
    let host = host();
    let mut t = terminal();
    sign_in(&mut t, &host, "1357");
    let check = open(&mut t, &host, "12", 3);
    add(&mut t, &host, &check, "cola", &[], 1, 1);
    host.clock.advance(90_000);
    let floor = t.floor(&host).expect("floor");
    let twelve = floor.tables.iter().find(|t| t.id == "12").expect("12");
    let c = &twelve.checks[0];
    assert_eq!((c.guests, c.server_name.as_str()), (3, "Sam"));
    assert_eq!(c.total.to_string(), "3.81", "cola 3.50 + 8.875 %");
    assert!(c.seated_ms >= 90_000, "{}", c.seated_ms);
    assert!(c.open_here && c.open_elsewhere.is_none());
    assert!(
        floor
            .tables
            .iter()
            .filter(|t| t.id != "12")
            .all(|t| t.state == TableState::Free)
    );
    // Another terminal takes it up.
    host.journal
        .append(&Event::CheckClaimed {
            check: check.clone(),
            device: "t2".into(),
            staff: "ana".into(),
        })
        .expect("claim");
    let floor = t.floor(&host).expect("floor");
    let c = &floor
        .tables
        .iter()
        .find(|t| t.id == "12")
        .expect("12")
        .checks[0];
    let elsewhere = c.open_elsewhere.as_ref().expect("open elsewhere");
    assert_eq!(
        (elsewhere.device.as_str(), elsewhere.name.as_str()),
        ("t2", "Ana")
    );
    // A free table opens the guests dialog.
    act(&mut t, &host, Intent::SelectTable { table: "14".into() });
    let ScreenView::Floor(floor) = screen(&mut t, &host) else {
        panic!("the floor");
    };
    assert_eq!(
        floor.opening.map(|o| (o.table, o.seats)),
        Some(("14".into(), 4))
    );
    assert_eq!(
        refused(&mut t, &host, Intent::SelectTable { table: "99".into() }),
        "no table `99` on this terminal's floor plan"
    );
    // The status bar tells the truth about the link.
    let mut cut = host;
    cut.link = Link {
        connected: false,
        cut_off_since_ms: Some(1),
        unconfirmed: 7,
        peers: Vec::new(),
    };
    let status = t.view(&cut).expect("view").status;
    assert!(status.cut_off && !status.connected);
    assert_eq!(status.unconfirmed, 7);
}

#[test]
fn split_move_and_merge_are_planned_on_the_fold() {
    let host = host();
    let mut t = terminal();
    sign_in(&mut t, &host, "1357");
    let twelve = open(&mut t, &host, "12", 2);
    add(&mut t, &host, &twelve, "classic_burger", &["medium"], 1, 1);
    add(&mut t, &host, &twelve, "house_red_glass", &[], 2, 1);
    let out = act(
        &mut t,
        &host,
        Intent::Split {
            check: twelve.clone(),
            split: SplitRecord::Seat,
        },
    );
    let parts: Vec<String> = out
        .parts
        .expect("parts")
        .iter()
        .map(|p| p.amount.to_string())
        .collect();
    // 26.92 in proportion to 14.50 × 108.875 and 10.00 × 111.375: each seat pays its own tax.
    assert_eq!(parts, ["15.78", "11.14"]);
    assert_eq!(
        refused(
            &mut t,
            &host,
            Intent::Split {
                check: twelve.clone(),
                split: SplitRecord::Evenly { parts: 0 }
            }
        ),
        "a split needs at least one part"
    );
    assert_eq!(
        refused(
            &mut t,
            &host,
            Intent::Move {
                check: twelve.clone(),
                table: "12".into()
            }
        ),
        "the check is already at table 12"
    );
    act(
        &mut t,
        &host,
        Intent::Move {
            check: twelve.clone(),
            table: "14".into(),
        },
    );
    let floor = t.floor(&host).expect("floor");
    let at = |id: &str| {
        floor
            .tables
            .iter()
            .find(|t| t.id == id)
            .expect("table")
            .state
    };
    assert_eq!((at("12"), at("14")), (TableState::Free, TableState::Seated));

    let ten = open(&mut t, &host, "10", 2);
    add(&mut t, &host, &ten, "cola", &[], 1, 1);
    act(
        &mut t,
        &host,
        Intent::Merge {
            check: twelve.clone(),
            from: ten.clone(),
        },
    );
    let view = t.check(&host, &twelve).expect("merged");
    assert_eq!((view.guests, view.lines.len()), (4, 3));
    assert_eq!(view.merged_from, std::slice::from_ref(&ten));
    // 28.00 of lines: sales tax 2.485 → 2.49, liquor tax 0.25.
    assert_eq!(view.totals.total.to_string(), "30.74");
    let gone = t.check(&host, &ten).expect("the merged check");
    assert_eq!(
        (gone.state, gone.merged_into.as_deref()),
        ("merged", Some(twelve.as_str()))
    );
    assert!(
        refused(&mut t, &host, Intent::Send { check: ten.clone() }).contains("was merged into"),
    );
    let floor = t.floor(&host).expect("floor");
    assert!(
        floor
            .tables
            .iter()
            .find(|t| t.id == "10")
            .expect("10")
            .checks
            .is_empty()
    );
}

#[test]
fn order_numbers_go_on_from_the_journal_after_a_restart() {
    let host = host();
    let mut t = terminal();
    sign_in(&mut t, &host, "1357");
    let first = act(
        &mut t,
        &host,
        Intent::OpenCheck {
            table: None,
            guests: 1,
            seats: None,
            order_type: Some(OrderType::Takeout),
        },
    );
    assert_eq!(first.number.as_deref(), Some("T1"), "t1's letter is T");
    let second = open(&mut t, &host, "1", 2);
    assert!(second.ends_with("-T2"), "{second}");
    let mut again = terminal();
    sign_in(&mut again, &host, "1357");
    let third = open(&mut again, &host, "2", 2);
    assert!(third.ends_with("-T3"), "{third}");
    let floor = again.floor(&host).expect("floor");
    assert_eq!(floor.other_checks.len(), 1, "the takeout has no table");
    assert!(
        refused(
            &mut again,
            &host,
            Intent::OpenCheck {
                table: None,
                guests: 2,
                seats: None,
                order_type: None
            }
        )
        .contains("needs a table")
    );
}

#[test]
fn clocking_in_and_out_takes_a_pin_and_no_sign_in() {
    let host = host();
    let mut t = terminal();
    let out = act(&mut t, &host, Intent::ClockIn { pin: "2468".into() });
    assert_eq!(out.staff.as_deref(), Some("Ana"));
    assert_eq!(events(&host, Some("clocked_in")), 1);
    assert!(
        t.session().signed_in().is_none(),
        "clocking in signs nobody in"
    );
    assert_eq!(
        refused(&mut t, &host, Intent::ClockIn { pin: "2468".into() }),
        "Ana is already clocked in"
    );
    assert_eq!(
        refused(&mut t, &host, Intent::ClockOut { pin: "1357".into() }),
        "Sam is not clocked in"
    );
    assert_eq!(
        refused(&mut t, &host, Intent::ClockIn { pin: "9999".into() }),
        "wrong PIN"
    );
    act(&mut t, &host, Intent::ClockOut { pin: "2468".into() });
    assert_eq!(events(&host, Some("clocked_out")), 1);
    assert!(
        !host
            .journal
            .read(|db| projection::clocked_in(db, "ana"))
            .expect("read")
    );
}

#[test]
fn the_broker_address_and_the_printer_are_kept_beside_the_database_and_a_bad_one_changes_nothing() {
    let host = host();
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("front.db");
    let mut t = Terminal::open(TerminalSettings::path_for(&db), "front")
        .expect("terminal")
        .with_device_files(&db);
    sign_in(&mut t, &host, "1357");
    let change = |broker: &str, printer: &str| Intent::ChangeSettings {
        manager_pin: Some("2580".into()),
        change: SettingsChange {
            broker: Some(broker.into()),
            printer: Some(printer.into()),
            ..SettingsChange::default()
        },
    };
    act(
        &mut t,
        &host,
        change("mqtt://192.168.1.10:1883", "192.168.1.20"),
    );
    let device =
        crate::device::files::DeviceFile::load(&crate::device::files::DeviceFile::path_for(&db))
            .expect("device file");
    assert_eq!(device.broker.as_deref(), Some("mqtt://192.168.1.10:1883"));
    let payments = crate::payments::settings::PaymentSettings::load(
        &crate::payments::settings::PaymentSettings::path_for(&db),
    )
    .expect("payment settings");
    assert_eq!(payments.printer.as_deref(), Some("192.168.1.20:9100"));
    for (broker, printer) in [
        ("http://nowhere", "192.168.1.21"),
        ("mqtt://10.0.0.1:1883", "printer:port"),
    ] {
        let e = refused(&mut t, &host, change(broker, printer));
        assert!(!e.is_empty());
        let device = crate::device::files::DeviceFile::load(
            &crate::device::files::DeviceFile::path_for(&db),
        )
        .expect("device file");
        assert_eq!(
            device.broker.as_deref(),
            Some("mqtt://192.168.1.10:1883"),
            "{e}"
        );
        let payments = crate::payments::settings::PaymentSettings::load(
            &crate::payments::settings::PaymentSettings::path_for(&db),
        )
        .expect("payment settings");
        assert_eq!(
            payments.printer.as_deref(),
            Some("192.168.1.20:9100"),
            "{e}"
        );
    }
    act(&mut t, &host, change("", ""));
    let device =
        crate::device::files::DeviceFile::load(&crate::device::files::DeviceFile::path_for(&db))
            .expect("device file");
    assert_eq!(device.broker, None, "back to discovery");
}

#[test]
fn items_running_low_show_in_the_status_bar_and_on_their_menu_buttons() {
    let host = host();
    let mut t = terminal();
    let receive = |qty: i64| {
        host.journal
            .append(&Event::StockReceived {
                ingredient: "beef_patty".into(),
                qty: rust_decimal::Decimal::from(qty),
            })
            .expect("received");
    };
    let low = |t: &mut Terminal| -> Vec<(String, u32)> {
        t.view(&host)
            .expect("view")
            .status
            .low_stock
            .into_iter()
            .map(|i| (i.item, i.portions_left))
            .collect()
    };
    let burger_button = |t: &mut Terminal| {
        let ScreenView::Order(order) = screen(t, &host) else {
            panic!("the ordering screen");
        };
        order
            .menu
            .items
            .iter()
            .find(|i| i.id == "classic_burger")
            .expect("on the burgers page")
            .portions_left
    };
    receive(12);
    assert_eq!(low(&mut t), [], "twelve patties are not low");
    host.journal
        .append(&Event::StockCounted {
            ingredient: "beef_patty".into(),
            qty: rust_decimal::Decimal::from(7),
        })
        .expect("counted");
    let patties = |n: u32| -> Vec<(String, u32)> {
        [
            "bacon_bbq_burger",
            "blue_cheese_burger",
            "classic_burger",
            "mushroom_swiss_burger",
        ]
        .iter()
        .map(|i| ((*i).to_owned(), n))
        .collect()
    };
    assert_eq!(low(&mut t), patties(7), "on the PIN screen too");
    let status = t.view(&host).expect("view").status;
    assert_eq!(
        status.low_stock_notice().as_deref(),
        Some(
            "LOW: Bacon BBQ Burger 7 left, Black and Blue Burger 7 left, Classic Burger 7 left, +1 more"
        )
    );

    sign_in(&mut t, &host, "1357");
    act(
        &mut t,
        &host,
        Intent::ChangeSettings {
            manager_pin: Some("2580".into()),
            change: SettingsChange {
                return_to_pin_after_send: Some(false),
                ..SettingsChange::default()
            },
        },
    );
    let check = open(&mut t, &host, "12", 2);
    act(
        &mut t,
        &host,
        Intent::ChooseCategory {
            category: "burgers".into(),
        },
    );
    assert_eq!(burger_button(&mut t), Some(7));
    add(&mut t, &host, &check, "classic_burger", &["medium"], 1, 1);
    add(&mut t, &host, &check, "classic_burger", &["medium"], 2, 1);
    assert_eq!(burger_button(&mut t), Some(7), "not sent: nothing used yet");
    act(&mut t, &host, Intent::Send { check });
    assert_eq!(burger_button(&mut t), Some(5), "sent: two patties used");
    assert_eq!(low(&mut t), patties(5));
    let menu = t.menu(&host, Some("burgers")).expect("menu");
    assert!(
        menu.items
            .iter()
            .any(|i| i.id == "classic_burger" && i.portions_left == Some(5)),
        "`pass terminal menu` says so too"
    );

    receive(24);
    assert_eq!(low(&mut t), [], "a delivery: enough again");
    assert_eq!(burger_button(&mut t), None);
}
