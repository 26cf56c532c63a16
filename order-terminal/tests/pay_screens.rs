//! Screen tests of the payment and receipt-preview screens. Most draw the screens over a
//! payment view written here (a check of 43.21) and read back what a tap asks the device for;
//! the last runs the whole flow in one process: the terminal's screens over a real journal with
//! the sample store, "Pay" on the ordering screen, cash taken through the payment desk exactly
//! as the device's control socket carries it out, and the payment view read again from the
//! journal.

use std::sync::{Arc, Mutex};

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use order_terminal::ui::pay::{self, PayScreen};
use order_terminal::ui::{self, Local, PayLocal, PayTap, Payments, Tap};
use pass_shared::clock::{Clock, ManualClock};
use pass_shared::domain::Money;
use pass_shared::domain::staff::{SignInThrottle, ThrottlePolicy};
use pass_shared::event::{DeviceRole, ReceiptCopy};
use pass_shared::journal::{Journal, JournalOptions};
use pass_shared::payments::desk::Desk;
use pass_shared::payments::provider::CashDrawer;
use pass_shared::payments::view::{
    PaymentIntent, PaymentRow, PaymentView, ReceiptIntent, ReceiptPreview, payment_view,
};
use pass_shared::projection::{StoreProjections, load_check_fold};
use pass_shared::terminal::{FloorPlan, Intent, JournalHost, Terminal, TerminalSettings};

const START: i64 = 1_767_295_800_000;

fn m(s: &str) -> Money {
    s.parse().expect("amount")
}

/// Check 7 at table 12: 43.21, nothing paid yet.
fn check_of_43_21() -> PaymentView {
    PaymentView {
        check: "t1-c7".into(),
        number: "A7".into(),
        table: Some("12".into()),
        state: "open".into(),
        total: m("43.21"),
        paid: Money::ZERO,
        tips: Money::ZERO,
        refunded: Money::ZERO,
        balance_due: m("43.21"),
        overpaid: Money::ZERO,
        seats: Vec::new(),
        payments: Vec::new(),
        declines: Vec::new(),
        alerts: Vec::new(),
        notice: None,
        can_take_payment: true,
        has_card_terminal: true,
        has_printer: true,
    }
}

/// The same check paid in cash, the receipt not printed.
fn paid_in_cash() -> PaymentView {
    PaymentView {
        state: "closed".into(),
        paid: m("43.21"),
        balance_due: Money::ZERO,
        payments: vec![PaymentRow {
            id: "t1-cashpaid-0001".into(),
            label: "Cash".into(),
            amount: m("43.21"),
            tip: Money::ZERO,
            status: "taken".into(),
            refunded: Money::ZERO,
            seat: None,
            can_adjust_tip: false,
            can_refund: true,
            can_close_tab: false,
        }],
        notice: Some(
            "Paid. The customer receipt did not print: printer 127.0.0.1:9 not reachable".into(),
        ),
        can_take_payment: false,
        ..check_of_43_21()
    }
}

/// The payment screens alone, over what the device would give them; every tap kept.
struct Screen {
    payments: Payments,
    local: PayLocal,
    taps: Vec<PayTap>,
    done: bool,
}

fn screen(payments: Payments) -> Harness<'static, Screen> {
    let local = PayLocal::new("t1-c7", "t1");
    Harness::builder()
        .with_size(egui::vec2(1920.0, 1080.0))
        .build_ui_state(
            |ui, s: &mut Screen| {
                ui.ctx().all_styles_mut(ui::touch_style);
                let (done, tap) = pay::screen_ui(ui, &s.payments, &mut s.local);
                s.done |= done;
                s.taps.extend(tap);
            },
            Screen {
                payments,
                local,
                taps: Vec::new(),
                done: false,
            },
        )
}

fn paying(view: PaymentView) -> Harness<'static, Screen> {
    screen(Payments {
        view: Some(Ok(view)),
        ..Payments::default()
    })
}

/// A finger's tap at the centre of what `find` finds: down on one frame, up on the next.
fn tap_at<S>(h: &mut Harness<'_, S>, pos: egui::Pos2) {
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

fn tap<S>(h: &mut Harness<'_, S>, label: &str) {
    let pos = h.get_by_label(label).rect().center();
    tap_at(h, pos);
}

fn has_text<S>(h: &Harness<'_, S>, text: &str) -> bool {
    h.query_all_by_label_contains(text).next().is_some()
}

fn enabled<S>(h: &Harness<'_, S>, label: &str) -> bool {
    !h.get_by_label(label).accesskit_node().is_disabled()
}

fn attempt_of(tap: &PayTap) -> Option<String> {
    match tap {
        PayTap::Payment { attempt, .. } => attempt.clone(),
        PayTap::Receipt { .. } => None,
    }
}

#[test]
fn cash_of_50_00_on_43_21_shows_change_of_6_79_and_asks_for_that_payment() {
    let mut h = paying(check_of_43_21());
    h.run();
    assert!(has_text(&h, "Pay check A7 · Table 12"));
    assert!(has_text(&h, "Balance due"));
    assert!(has_text(&h, "Choose what the guest handed over"));
    assert!(h.query_by_label("Take 50.00 cash").is_none());
    for quick in ["Exact 43.21", "45.00", "50.00", "60.00", "100.00"] {
        assert!(has_text(&h, quick), "quick tender {quick}");
    }
    tap(&mut h, "50.00");
    assert!(has_text(&h, "Change 6.79"), "the change to count back");
    assert!(
        h.state().taps.is_empty(),
        "choosing the tender takes nothing"
    );
    tap(&mut h, "Take 50.00 cash");
    let taps = &h.state().taps;
    assert_eq!(taps.len(), 1);
    let PayTap::Payment {
        check,
        intent,
        attempt,
    } = &taps[0]
    else {
        panic!("a payment: {taps:?}");
    };
    assert_eq!(check, "t1-c7");
    assert_eq!(
        intent,
        &PaymentIntent::Cash {
            tendered: m("50.00"),
            amount: None,
            seat: None,
        }
    );
    let attempt = attempt.as_deref().expect("an attempt");
    assert!(attempt.starts_with("t1-"), "{attempt}");

    // Other cash, typed: 20.00 pays part of it.
    tap(&mut h, "Other…");
    for key in ["2", "0", "0", "0"] {
        tap(&mut h, key);
    }
    assert!(has_text(&h, "Pays 20.00 · 23.21 still due"));
    tap(&mut h, "Take 20.00 cash");
    let taps = &h.state().taps;
    assert_eq!(taps.len(), 2);
    assert_ne!(
        attempt_of(&taps[1]),
        attempt_of(&taps[0]),
        "another tender is another payment"
    );
}

#[test]
fn a_double_tap_sends_one_attempt_twice_and_a_new_payment_gets_a_new_one() {
    let mut h = paying(check_of_43_21());
    h.run();
    tap(&mut h, "Exact 43.21");
    assert!(has_text(&h, "Change 0.00"));
    tap(&mut h, "Take 43.21 cash");
    tap(&mut h, "Take 43.21 cash");
    let taps = h.state().taps.clone();
    assert_eq!(taps.len(), 2, "both taps reach the device");
    assert_eq!(taps[0], taps[1], "the same payment, the same attempt");
    let first = attempt_of(&taps[0]).expect("attempt");

    // The device answers: the form is cleared, nothing more can be sent by that button.
    h.state_mut()
        .local
        .answered(Ok("cash 43.21: change 0.00".into()));
    h.run();
    assert!(has_text(&h, "Cash 43.21: change 0.00"));
    assert!(h.query_by_label("Take 43.21 cash").is_none());
    tap(&mut h, "Exact 43.21");
    tap(&mut h, "Take 43.21 cash");
    let next = attempt_of(&h.state().taps[2]).expect("attempt");
    assert_ne!(next, first, "a payment set up afresh is a new attempt");
}

#[test]
fn a_card_lost_answer_locks_the_form_until_the_same_attempt_is_asked_again() {
    let mut h = paying(check_of_43_21());
    h.run();
    tap(&mut h, "Card");
    tap(&mut h, "18% · 7.78");
    tap(&mut h, "Charge 50.99 (tip 7.78) on the card terminal");
    let first = h.state().taps[0].clone();
    assert_eq!(
        first,
        PayTap::Payment {
            check: "t1-c7".into(),
            intent: PaymentIntent::Card {
                amount: None,
                seat: None,
                tip: m("7.78"),
                manager_pin: None,
            },
            attempt: attempt_of(&first),
        }
    );
    let attempt = attempt_of(&first).expect("attempt");
    h.state_mut().local.answered(Err(format!(
        "the payment device did not answer (timed out): try again with the same attempt to find out whether it went through [attempt {attempt}]"
    )));
    h.run();
    assert!(has_text(&h, "Did it go through?"));
    assert!(h.query_by_label("Cash").is_none(), "the form waits");
    tap(&mut h, "Try again");
    assert_eq!(h.state().taps[1], first, "asked again, as the same attempt");
}

#[test]
fn a_refund_asks_for_a_managers_pin_and_a_reason() {
    let mut h = paying(paid_in_cash());
    h.run();
    assert!(has_text(
        &h,
        "Paid. The customer receipt did not print: printer 127.0.0.1:9 not reachable"
    ));
    assert!(has_text(&h, "This check is closed"));
    tap(&mut h, "Refund");
    assert!(has_text(&h, "Refund Cash (up to 43.21)"));
    // Part of it: 10.00.
    tap(&mut h, "Clear");
    for key in ["1", "0", "0", "0"] {
        tap(&mut h, key);
    }
    tap(&mut h, "Refund 10.00…");
    assert!(has_text(&h, "Refund 10.00 of Cash"), "the manager's dialog");
    assert!(h.state().taps.is_empty(), "nothing without a manager");
    assert!(!enabled(&h, "Approve"), "no reason, no PIN");
    tap(&mut h, "Item returned");
    assert!(!enabled(&h, "Approve"), "no PIN");
    for key in ["2", "5", "8", "0"] {
        tap(&mut h, key);
    }
    assert!(has_text(&h, "● ● ● ●"), "the PIN is never shown");
    tap(&mut h, "Approve");
    let taps = &h.state().taps;
    assert_eq!(taps.len(), 1);
    let PayTap::Payment {
        intent, attempt, ..
    } = &taps[0]
    else {
        panic!("a refund: {taps:?}");
    };
    assert_eq!(
        intent,
        &PaymentIntent::Refund {
            payment: "t1-cashpaid-0001".into(),
            amount: m("10.00"),
            reason: "Item returned".into(),
            manager_pin: "2580".into(),
        }
    );
    assert!(attempt.is_some());
    // A wrong PIN is refused by the desk: nothing was given back, the refund can be asked again.
    h.state_mut()
        .local
        .answered(Err("sign-in: wrong PIN".into()));
    h.run();
    assert!(has_text(&h, "Sign-in: wrong PIN"));
    assert!(
        has_text(&h, "Refund 10.00…"),
        "the refund form is still there"
    );
}

#[test]
fn the_receipt_preview_shows_the_receipt_its_copies_and_a_failed_print() {
    let preview = ReceiptPreview {
        check: "t1-c7".into(),
        copy: ReceiptCopy::Customer,
        lines: vec![
            "      The Corner Bistro".into(),
            "Check A7        Table 12".into(),
            "1 Classic Burger   16.50".into(),
            "TOTAL              43.21".into(),
            "Cash               43.21".into(),
        ],
        merchant_copies: Vec::new(),
        has_printer: true,
        last_failure: Some(
            "The customer receipt did not print on 127.0.0.1:9: printer 127.0.0.1:9 not reachable"
                .into(),
        ),
    };
    let mut h = screen(Payments {
        view: Some(Ok(paid_in_cash())),
        preview: Some(Ok(preview)),
        working: None,
    });
    h.state_mut().local.preview(ReceiptCopy::Customer, None);
    h.run();
    assert!(has_text(&h, "Customer receipt"));
    for line in ["1 Classic Burger   16.50", "TOTAL              43.21"] {
        assert!(has_text(&h, line), "{line}");
    }
    assert!(has_text(
        &h,
        "The customer receipt did not print on 127.0.0.1:9: printer 127.0.0.1:9 not reachable. The check's payments stand."
    ));
    tap(&mut h, "Reprint");
    assert_eq!(
        h.state().taps,
        [PayTap::Receipt {
            check: "t1-c7".into(),
            intent: ReceiptIntent::Print {
                copy: ReceiptCopy::Customer,
                payment: None,
            },
        }]
    );
    tap(&mut h, "Guest check");
    assert_eq!(
        h.state().local.screen,
        PayScreen::Receipt {
            copy: ReceiptCopy::Guest,
            payment: None,
            printed: false,
        },
        "another copy is asked of the device"
    );
    h.run();
    assert!(has_text(&h, "Laying out the receipt…"), "until it is read");
    tap(&mut h, "Back to payment");
    assert_eq!(h.state().local.screen, PayScreen::Pay);
    tap(&mut h, "Back to the check");
    assert!(h.state().done);
}

/// The terminal, its journal, and the payment desk over that journal, in one process.
struct Till {
    terminal: Terminal,
    host: JournalHost,
    clock: ManualClock,
    _dir: tempfile::TempDir,
    cash: CashDrawer,
    throttle: Mutex<SignInThrottle>,
    local: Local,
    taps: Vec<PayTap>,
}

impl Till {
    fn desk(&self) -> Desk<'_> {
        Desk {
            journal: &self.host.journal,
            device: "t1",
            now_ms: self.clock.wall_ms(),
            cash: &self.cash,
            card: None,
            card_terminal: None,
            printer: None,
            throttle: &self.throttle,
        }
    }

    fn payment_view(&self, check: &str) -> Result<PaymentView, String> {
        let fold = self
            .host
            .journal
            .read(|db| load_check_fold(db, check))
            .map_err(|e| e.to_string())?;
        self.host
            .journal
            .read(|db| payment_view(db, &fold, false, false))
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no check {check}"))
    }

    /// What the app does with a payment tap: the desk carries it out for the person signed in.
    fn carry_out(&mut self, tap: PayTap) {
        self.taps.push(tap.clone());
        let PayTap::Payment {
            check,
            intent,
            attempt,
        } = tap
        else {
            return;
        };
        let staff = self
            .terminal
            .session()
            .signed_in()
            .map(|s| s.staff.clone())
            .expect("someone is signed in");
        let answer = pass_shared::payments::device::carry_out(
            &self.desk(),
            intent.command(&check, "", attempt),
            Some(&staff),
        )
        .map(|v| v["message"].as_str().unwrap_or("done").to_owned());
        if let Some(pay) = &mut self.local.pay {
            pay.answered(answer);
        }
    }
}

fn till() -> Harness<'static, Till> {
    let dir = tempfile::tempdir().expect("dir");
    let clock = ManualClock::starting_at(START);
    let journal = Journal::open_with(
        dir.path().join("t1.db"),
        JournalOptions::new(Arc::new(clock.clone()), DeviceRole::OrderTerminal, "t1"),
        vec![Box::new(StoreProjections::new())],
    )
    .expect("journal");
    pass_shared::kitchen::sample::publish_store(&journal).expect("store");
    let host = JournalHost::new(journal, Arc::new(clock.clone()), "t1");
    let mut settings = TerminalSettings::new("t1");
    settings.return_to_pin_after_send = false;
    let mut terminal = Terminal::new(settings, FloorPlan::default_plan());
    let mut act = |intent: Intent| {
        let shown = format!("{intent:?}");
        terminal
            .apply(&host, intent)
            .unwrap_or_else(|e| panic!("{shown}: {e}"))
    };
    act(Intent::SignIn { pin: "1357".into() });
    let check = act(Intent::OpenCheck {
        table: Some("12".into()),
        guests: 2,
        seats: None,
        order_type: None,
    })
    .check
    .expect("check");
    act(Intent::AddLine {
        check: check.clone(),
        item: "classic_burger".into(),
        modifiers: vec!["medium".into()],
        qty: 1,
        seat: Some(1),
        course: 1,
        notes: String::new(),
    });
    act(Intent::AddLine {
        check: check.clone(),
        item: "fries".into(),
        modifiers: Vec::new(),
        qty: 1,
        seat: Some(2),
        course: 1,
        notes: String::new(),
    });
    act(Intent::Send { check });
    Harness::builder()
        .with_size(egui::vec2(1920.0, 1080.0))
        .build_ui_state(
            |ui, till: &mut Till| {
                ui.ctx().all_styles_mut(ui::touch_style);
                let view = till.terminal.view(&till.host).expect("view");
                let payments = Payments {
                    view: till
                        .local
                        .pay
                        .as_ref()
                        .map(|pay| till.payment_view(&pay.check)),
                    ..Payments::default()
                };
                match ui::screens_ui(ui, &view, &payments, &mut till.local) {
                    Some(Tap::Terminal(intent)) => {
                        let _ = till.terminal.apply(&till.host, intent);
                    }
                    Some(Tap::Pay(tap)) => till.carry_out(tap),
                    None => {}
                }
            },
            Till {
                terminal,
                host,
                clock,
                _dir: dir,
                cash: CashDrawer::new(),
                throttle: Mutex::new(SignInThrottle::new(ThrottlePolicy::default())),
                local: Local::default(),
                taps: Vec::new(),
            },
        )
}

#[test]
fn cash_taken_on_the_pay_screen_pays_the_check_once_however_often_it_is_sent() {
    let mut h = till();
    h.run();
    assert!(has_text(&h, "Table 12 · 2 guests"), "the ordering screen");
    tap(&mut h, "Pay");
    let check = h.state().local.pay.as_ref().expect("paying").check.clone();
    let before = h.state().payment_view(&check).expect("view");
    assert_eq!(before.state, "open");
    assert!(before.balance_due > Money::ZERO);
    assert_eq!(before.seats.len(), 2, "split by seat: {before:?}");
    let due = before.balance_due;
    assert!(has_text(&h, &format!("Balance {due}")));

    // Seat 1 pays its share in cash first: split tender.
    let seat1 = before.seats[0].due;
    tap(&mut h, &format!("Seat 1 · {seat1}"));
    tap(&mut h, &format!("Exact {seat1}"));
    tap(&mut h, &format!("Take {seat1} cash"));
    let part = h.state().payment_view(&check).expect("view");
    assert_eq!(part.paid, seat1);
    assert_eq!(part.state, "open");
    assert_eq!(part.payments.len(), 1);
    assert_eq!(part.payments[0].seat, Some(1));

    // The rest, with a 50.00 note.
    let rest = part.balance_due;
    tap(&mut h, &format!("Balance {rest}"));
    tap(&mut h, "Other…");
    for key in ["5", "0", "0", "0"] {
        tap(&mut h, key);
    }
    let change = m("50.00").checked_sub(rest).expect("change");
    assert!(has_text(&h, &format!("Change {change}")));
    tap(&mut h, "Take 50.00 cash");
    let paid = h.state().payment_view(&check).expect("view");
    assert_eq!(paid.state, "closed");
    assert_eq!(paid.paid, due);
    assert_eq!(paid.balance_due, Money::ZERO);
    assert_eq!(paid.notice.as_deref(), Some("Paid"));
    assert!(has_text(&h, &format!("Cash {rest}: change {change}")));
    assert!(has_text(&h, "This check is closed"));

    // The same tap again (a double tap that reached the device late): already recorded.
    let again = h.state().taps.last().cloned().expect("the cash tap");
    h.state_mut().carry_out(again);
    let still = h.state().payment_view(&check).expect("view");
    assert_eq!(still.payments.len(), 2, "never taken twice: {still:?}");
    assert_eq!(still.paid, due);

    tap(&mut h, "Back to the check");
    assert!(h.state().local.pay.is_none());
    assert!(has_text(&h, "Table 12 · 2 guests"));
}
