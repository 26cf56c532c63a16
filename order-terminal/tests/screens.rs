//! Screen tests of the terminal's flows: the egui screens drawn each frame from a real
//! terminal's view over a real journal (the sample menu and the demo staff: Maria, manager,
//! 2580; Sam, server, 1357), every tap applied to the terminal as the app does. A second journal
//! plays the grill's headless kitchen screen: the two exchange events as replication would, and
//! the kitchen writes "ticket shown" for what reached it.

use std::sync::Arc;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use order_terminal::ui::{self, Local};
use pass_shared::clock::{Clock, ManualClock};
use pass_shared::event::DeviceRole;
use pass_shared::journal::{Journal, JournalOptions};
use pass_shared::projection::StoreProjections;
use pass_shared::terminal::views::ScreenView;
use pass_shared::terminal::{FloorPlan, JournalHost, Terminal, TerminalSettings};

const START: i64 = 1_767_295_800_000;

/// The terminal, its host, the grill's kitchen journal, and what the screens remember.
struct Rig {
    terminal: Terminal,
    host: JournalHost,
    clock: ManualClock,
    _dir: tempfile::TempDir,
    kitchen: Journal,
    local: Local,
    /// The screen drawn last ("sign_in", "floor", "order").
    screen: &'static str,
}

fn journal(dir: &std::path::Path, name: &str, role: DeviceRole, clock: &ManualClock) -> Journal {
    Journal::open_with(
        dir.join(format!("{name}.db")),
        JournalOptions::new(Arc::new(clock.clone()), role, name),
        vec![Box::new(StoreProjections::new())],
    )
    .expect("journal")
}

fn rig() -> Rig {
    let dir = tempfile::tempdir().expect("dir");
    let clock = ManualClock::starting_at(START);
    let terminal_journal = journal(dir.path(), "t1", DeviceRole::OrderTerminal, &clock);
    pass_shared::kitchen::sample::publish_store(&terminal_journal).expect("store");
    let kitchen = journal(dir.path(), "grill", DeviceRole::KitchenScreen, &clock);
    Rig {
        terminal: Terminal::new(TerminalSettings::new("t1"), FloorPlan::default_plan()),
        host: JournalHost::new(terminal_journal, Arc::new(clock.clone()), "t1"),
        clock,
        _dir: dir,
        kitchen,
        local: Local::default(),
        screen: "",
    }
}

/// Copies every event of `from` that `to` lacks (as replication does; applying is idempotent).
fn replicate(from: &Journal, to: &Journal) {
    let envelopes = from
        .all_events()
        .expect("events")
        .iter()
        .map(|e| e.to_json().into_bytes())
        .collect();
    to.apply(envelopes).expect("apply");
}

/// The grill's screen: receives what was sent, shows its new tickets, and replicates back.
fn grill_shows_its_tickets(rig: &Rig) -> usize {
    replicate(&rig.host.journal, &rig.kitchen);
    let now = rig.clock.wall_ms();
    let shown = rig
        .kitchen
        .read(|db| {
            Ok(pass_shared::kitchen::actions::shown_events(
                db,
                &["grill".to_owned()],
                now,
            ))
        })
        .expect("read")
        .expect("shown events");
    rig.kitchen.append_all(&shown).expect("append");
    replicate(&rig.kitchen, &rig.host.journal);
    shown.len()
}

fn harness(rig: Rig) -> Harness<'static, Rig> {
    Harness::builder()
        .with_size(egui::vec2(1920.0, 1080.0))
        .build_ui_state(
            |ui, rig: &mut Rig| {
                ui.ctx().all_styles_mut(ui::touch_style);
                let view = rig.terminal.view(&rig.host).expect("view");
                rig.screen = match view.screen {
                    ScreenView::SignIn(_) => "sign_in",
                    ScreenView::Floor(_) => "floor",
                    ScreenView::Order(_) => "order",
                };
                if let Some(intent) = ui::terminal_ui(ui, &view, &mut rig.local) {
                    // A refusal is shown in the next view's notice, as on the device.
                    let _ = rig.terminal.apply(&rig.host, intent);
                }
            },
            rig,
        )
}

/// A finger's tap at `pos`: down on one frame, up on the next (as a touch screen reports it;
/// a press and release in the same frame would not reach buttons inside scroll areas).
fn tap_at(h: &mut Harness<'_, Rig>, pos: egui::Pos2) {
    h.hover_at(pos);
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
        h.step();
    }
    h.run();
}

fn tap(h: &mut Harness<'_, Rig>, label: &str) {
    let pos = h.get_by_label(label).rect().center();
    tap_at(h, pos);
}

fn tap_containing(h: &mut Harness<'_, Rig>, text: &str) {
    let pos = h.get_by_label_contains(text).rect().center();
    tap_at(h, pos);
}

fn type_pin(h: &mut Harness<'_, Rig>, pin: &str) {
    for digit in pin.chars() {
        tap(h, &digit.to_string());
    }
}

fn sign_in(h: &mut Harness<'_, Rig>, pin: &str) {
    assert_eq!(h.state().screen, "sign_in");
    type_pin(h, pin);
    tap(h, "Sign in");
}

fn enabled(h: &Harness<'_, Rig>, label: &str) -> bool {
    !h.get_by_label(label).accesskit_node().is_disabled()
}

fn has_text(h: &Harness<'_, Rig>, text: &str) -> bool {
    h.query_all_by_label_contains(text).next().is_some()
}

/// The check's only line, by the text of its button.
fn line_label(h: &Harness<'_, Rig>, name: &str) -> String {
    h.get_all_by_role(Role::Button)
        .filter_map(|n| n.accesskit_node().label())
        .find(|l| l.starts_with("1× ") && l.contains(name))
        .unwrap_or_else(|| panic!("no line {name}"))
}

/// Sign in as Sam, open table 12 for four, add a burger (its doneness asked), send.
fn burger_sent_to_twelve(h: &mut Harness<'_, Rig>) {
    h.run();
    sign_in(h, "1357");
    assert_eq!(h.state().screen, "floor");
    tap_containing(h, "Table 12\n");
    assert!(has_text(h, "How many guests?"));
    assert!(!enabled(h, "Open"), "no guests counted yet");
    tap(h, "4");
    tap(h, "Open");
    assert_eq!(h.state().screen, "order");
    assert!(has_text(h, "Table 12 · 4 guests"));

    tap(h, "Burgers");
    tap_containing(h, "Classic Burger");
    // The doneness is a required choice: the dialog cannot be skipped.
    assert!(has_text(h, "Doneness"), "the modifier dialog asks");
    let add = h
        .get_by_label_contains("Add · ")
        .accesskit_node()
        .label()
        .expect("label");
    assert!(!enabled(h, &add), "Add waits for the doneness");
    tap(h, "Medium");
    let add = h
        .get_by_label_contains("Add · ")
        .accesskit_node()
        .label()
        .expect("label");
    assert!(enabled(h, &add));
    tap(h, &add);
    assert!(!has_text(h, "Add · "), "the dialog closed");
    let line = line_label(h, "Classic Burger");
    assert!(line.contains("Medium") && line.contains("new"), "{line}");

    tap(h, "Send 1 new");
}

#[test]
fn a_server_signs_in_opens_twelve_for_four_sends_a_burger_and_sees_the_kitchen_has_it() {
    let mut h = harness(rig());
    burger_sent_to_twelve(&mut h);
    // Back to the PIN screen after a send (the default).
    assert_eq!(h.state().screen, "sign_in");
    sign_in(&mut h, "1357");
    tap_containing(&mut h, "Table 12\n");
    assert_eq!(h.state().screen, "order", "one check at 12: straight to it");
    let line = line_label(&h, "Classic Burger");
    assert!(line.contains("· sent"), "{line}");

    assert_eq!(grill_shows_its_tickets(h.state()), 1, "the grill's ticket");
    h.run();
    let line = line_label(&h, "Classic Burger");
    assert!(
        !line.contains("received ✓"),
        "the fryer has not shown its part yet: {line}"
    );
    // The fryer's screen shows its ticket too (a burger goes to grill and fry).
    let now = h.state().clock.wall_ms();
    let fry = h
        .state()
        .host
        .journal
        .read(|db| {
            Ok(pass_shared::kitchen::actions::shown_events(
                db,
                &["fry".to_owned()],
                now,
            ))
        })
        .expect("read")
        .expect("events");
    h.state().kitchen.append_all(&fry).expect("fry shows");
    replicate(&h.state().kitchen, &h.state().host.journal);
    h.run();
    let line = line_label(&h, "Classic Burger");
    assert!(line.contains("received ✓"), "{line}");
}

#[test]
fn wrong_pins_slow_the_pad_down_and_the_right_one_still_works_after_the_wait() {
    let mut h = harness(rig());
    h.run();
    for _ in 0..3 {
        type_pin(&mut h, "9999");
        if enabled(&h, "Sign in") {
            tap(&mut h, "Sign in");
        }
    }
    assert!(
        has_text(&h, "Wrong PIN. Try again in"),
        "the pad says to wait"
    );
    assert!(!enabled(&h, "Sign in"), "no tries while waiting");
    assert_eq!(h.state().screen, "sign_in");
    let rig = h.state_mut();
    let wait = match rig.terminal.view(&rig.host).expect("view").screen {
        ScreenView::SignIn(s) => s.wait_ms,
        _ => panic!("sign-in screen"),
    };
    assert!(wait > 0);
    h.state().clock.advance(wait as i64);
    h.run();
    assert!(enabled(&h, "Sign in"));
    tap(&mut h, "Clear");
    sign_in(&mut h, "1357");
    assert_eq!(h.state().screen, "floor");
}

#[test]
fn a_void_needs_a_managers_pin_and_a_reason() {
    let mut h = harness(rig());
    burger_sent_to_twelve(&mut h);
    sign_in(&mut h, "1357");
    tap_containing(&mut h, "Table 12\n");
    let line = line_label(&h, "Classic Burger");
    tap(&mut h, &line);
    tap(&mut h, "Void");
    assert!(has_text(&h, "Void Classic Burger"));
    assert!(!enabled(&h, "Approve"), "no PIN, no reason");
    tap(&mut h, "Kitchen error");
    assert!(!enabled(&h, "Approve"), "no PIN");
    // Sam's own PIN is no manager's: refused, nothing written.
    let before = events(h.state());
    type_pin(&mut h, "1357");
    tap(&mut h, "Approve");
    assert_eq!(events(h.state()), before, "the refused void wrote nothing");
    let line = line_label(&h, "Classic Burger");
    assert!(!line.contains("void"), "{line}");
    assert!(
        has_text(&h, "manager") || has_text(&h, "not allowed") || has_text(&h, "may not"),
        "the refusal is on screen"
    );

    // The line stays selected: the manager comes over and approves.
    tap(&mut h, "Void");
    tap(&mut h, "Kitchen error");
    type_pin(&mut h, "2580");
    tap(&mut h, "Approve");
    let line = line_label(&h, "Classic Burger");
    assert!(line.contains("void"), "{line}");
}

fn events(rig: &Rig) -> i64 {
    rig.host
        .journal
        .read(|db| db.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0)))
        .expect("count")
}

/// A delivery of `qty` beef patties, written on the terminal's journal.
fn patties(rig: &Rig, qty: i64) {
    rig.host
        .journal
        .append(&pass_shared::event::Event::StockReceived {
            ingredient: "beef_patty".into(),
            qty: rust_decimal::Decimal::from(qty),
        })
        .expect("received");
}

/// The menu button of `name`, by its text.
fn menu_button(h: &Harness<'_, Rig>, name: &str) -> String {
    h.get_all_by_role(Role::Button)
        .filter_map(|n| n.accesskit_node().label())
        .find(|l| l.starts_with(&format!("{name}\n")))
        .unwrap_or_else(|| panic!("no menu button {name}"))
}

#[test]
fn the_status_bar_says_what_runs_low_once_a_send_takes_stock_under_the_threshold_until_a_delivery()
{
    let rig = rig();
    // Ten patties: not low (the store's threshold is 10 portions). A burger takes one.
    patties(&rig, 10);
    let mut h = harness(rig);
    h.run();
    assert!(!has_text(&h, "LOW: "), "ten left is not low");

    burger_sent_to_twelve(&mut h);
    assert!(
        has_text(&h, "LOW: ") && has_text(&h, "Classic Burger 9 left"),
        "the amber notice, on the PIN screen too"
    );
    assert!(
        has_text(&h, "+1 more"),
        "four burgers take a patty: three named, the rest counted"
    );

    sign_in(&mut h, "1357");
    tap_containing(&mut h, "Table 12\n");
    tap(&mut h, "Burgers");
    let burger = menu_button(&h, "Classic Burger");
    assert!(burger.ends_with("9 left"), "{burger}");
    let smash = menu_button(&h, "Double Smash Burger");
    assert!(
        !smash.contains("left"),
        "its patties are not counted: {smash}"
    );

    // The delivery comes in: the notice and the count go away.
    patties(h.state(), 24);
    h.run();
    assert!(!has_text(&h, "LOW: "), "33 patties are not low");
    let burger = menu_button(&h, "Classic Burger");
    assert!(!burger.contains("left"), "{burger}");
}
