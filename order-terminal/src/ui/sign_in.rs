//! The sign-in screen: a PIN pad. The terminal keeps the digits (each key is a
//! [`PinKey`] intent) and says how long to wait after wrong PINs; the pad also clocks staff in
//! and out, with a PIN typed here and sent whole.

use egui::{Align, Layout, RichText, Ui, vec2};
use pass_shared::terminal::views::SignInView;
use pass_shared::terminal::{Intent, PinKey};

use super::widgets::{self, GO, Key, MUTED};
use super::{Local, TITLE};

pub const PIN_PROMPT: &str = "Sign in with your PIN";

/// Clocking in or out: which, and the PIN typed so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clocking {
    pub clock_in: bool,
    pub pin: String,
}

/// Draws the sign-in screen.
pub fn sign_in_ui(ui: &mut Ui, view: &SignInView, local: &mut Local) -> Option<Intent> {
    let mut intent = None;
    ui.with_layout(Layout::top_down(Align::Center), |ui| {
        ui.add_space(16.0);
        ui.heading(TITLE);
        ui.add_space(8.0);
        let (prompt, digits) = match &local.clock {
            Some(c) if c.clock_in => ("Clock in: enter your PIN", c.pin.chars().count()),
            Some(c) => ("Clock out: enter your PIN", c.pin.chars().count()),
            None => (PIN_PROMPT, view.digits),
        };
        ui.label(RichText::new(prompt).size(34.0));
        ui.label(RichText::new(widgets::dots(digits)).size(40.0));
        if view.wait_ms > 0 && local.clock.is_none() {
            ui.label(
                RichText::new(format!(
                    "Wrong PIN. Try again in {} s",
                    view.wait_ms.div_ceil(1000)
                ))
                .color(widgets::ATTENTION)
                .size(30.0),
            );
        } else {
            ui.label(RichText::new(" ").size(30.0));
        }
        let key = 120.0;
        ui.allocate_ui(vec2(key * 3.0 + 40.0, key * 4.0), |ui| {
            ui.set_width(key * 3.0 + 40.0);
            if let Some(pressed) = widgets::keypad(ui, key) {
                intent = press(local, pressed);
            }
        });
        ui.add_space(8.0);
        let enter = match &local.clock {
            Some(c) if c.clock_in => "Clock in",
            Some(_) => "Clock out",
            None => "Sign in",
        };
        let waiting = view.wait_ms > 0 && local.clock.is_none();
        if widgets::enabled(ui, !waiting, enter, GO, vec2(key * 3.0 + 24.0, 80.0)).clicked() {
            intent = match local.clock.take() {
                Some(c) if c.clock_in => Some(Intent::ClockIn { pin: c.pin }),
                Some(c) => Some(Intent::ClockOut { pin: c.pin }),
                None => Some(Intent::PinKey { key: PinKey::Enter }),
            };
        }
        ui.add_space(16.0);
        ui.horizontal(|ui| {
            ui.add_space((ui.available_width() - 2.0 * 220.0 - 12.0).max(0.0) / 2.0);
            match &local.clock {
                None => {
                    if widgets::big(ui, "Clock in", vec2(220.0, 64.0)).clicked() {
                        local.clock = Some(Clocking {
                            clock_in: true,
                            pin: String::new(),
                        });
                    }
                    if widgets::big(ui, "Clock out", vec2(220.0, 64.0)).clicked() {
                        local.clock = Some(Clocking {
                            clock_in: false,
                            pin: String::new(),
                        });
                    }
                }
                Some(_) => {
                    if widgets::big(ui, "Back to sign-in", vec2(452.0, 64.0)).clicked() {
                        local.clock = None;
                    }
                }
            }
        });
        ui.label(RichText::new("Staff PINs are set by a manager.").color(MUTED));
    });
    intent
}

/// A key of the pad: to the terminal while signing in, kept here while clocking.
fn press(local: &mut Local, key: Key) -> Option<Intent> {
    match (&mut local.clock, key) {
        (Some(c), Key::Digit(d)) => {
            if c.pin.len() < pass_shared::domain::staff::MAX_PIN_DIGITS {
                c.pin.push(char::from(b'0' + d));
            }
            None
        }
        (Some(c), Key::Back) => {
            c.pin.pop();
            None
        }
        (Some(c), Key::Clear) => {
            c.pin.clear();
            None
        }
        (None, Key::Digit(d)) => Some(Intent::PinKey {
            key: PinKey::Digit(d),
        }),
        (None, Key::Back) => Some(Intent::PinKey { key: PinKey::Back }),
        (None, Key::Clear) => Some(Intent::PinKey { key: PinKey::Clear }),
    }
}
