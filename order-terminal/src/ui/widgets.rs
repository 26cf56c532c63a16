//! Small pieces every screen uses: finger-sized buttons, a keypad, colours that mean the same
//! thing everywhere.

use egui::{Button, Color32, CornerRadius, Response, RichText, Ui, Vec2, vec2};

use super::touch::MIN_TOUCH_TARGET;

/// Go: send, open, add.
pub const GO: Color32 = Color32::from_rgb(0x1f, 0x6f, 0x3a);
/// Needs attention: held courses, a table whose food is ready, an item running low.
pub const ATTENTION: Color32 = Color32::from_rgb(0x9a, 0x6a, 0x00);
/// The low-stock alert in the status bar (amber, with black text).
pub const LOW_STOCK: Color32 = Color32::from_rgb(0xff, 0xb0, 0x00);
/// Takes something away: void, cancel.
pub const DANGER: Color32 = Color32::from_rgb(0xa3, 0x1f, 0x1f);
/// A seated table.
pub const SEATED: Color32 = Color32::from_rgb(0x1d, 0x4e, 0x89);
/// A free table.
pub const FREE: Color32 = Color32::from_rgb(0x3a, 0x3a, 0x3a);
/// Text that is less important (prices beside names, times).
pub const MUTED: Color32 = Color32::from_gray(190);
/// A choice that is not available (86'd).
pub const UNAVAILABLE: Color32 = Color32::from_gray(110);

/// A button at least `size` big (never smaller than a fingertip).
pub fn big(ui: &mut Ui, text: impl Into<RichText>, size: Vec2) -> Response {
    ui.add(sized(Button::new(text.into()), size))
}

/// A coloured button at least `size` big.
pub fn filled(ui: &mut Ui, text: impl Into<RichText>, fill: Color32, size: Vec2) -> Response {
    ui.add(sized(Button::new(text.into()).fill(fill), size))
}

/// A button that can be switched off (greyed out, taps ignored).
pub fn enabled(
    ui: &mut Ui,
    on: bool,
    text: impl Into<RichText>,
    fill: Color32,
    size: Vec2,
) -> Response {
    ui.add_enabled(on, sized(Button::new(text.into()).fill(fill), size))
}

/// One of several choices, shown selected when it is the current one.
pub fn choice(ui: &mut Ui, selected: bool, text: impl Into<RichText>, size: Vec2) -> Response {
    ui.add(sized(Button::selectable(selected, text.into()), size))
}

fn sized(button: Button<'_>, size: Vec2) -> Button<'_> {
    button
        .min_size(size.max(vec2(MIN_TOUCH_TARGET, MIN_TOUCH_TARGET)))
        .corner_radius(CornerRadius::same(8))
}

/// A key of a [`keypad`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Digit(u8),
    Clear,
    Back,
}

/// A phone-style digit pad (1 2 3 / 4 5 6 / 7 8 9 / Clear 0 ⌫), `key` wide keys.
pub fn keypad(ui: &mut Ui, key: f32) -> Option<Key> {
    let rows: [[Key; 3]; 4] = [
        [Key::Digit(1), Key::Digit(2), Key::Digit(3)],
        [Key::Digit(4), Key::Digit(5), Key::Digit(6)],
        [Key::Digit(7), Key::Digit(8), Key::Digit(9)],
        [Key::Clear, Key::Digit(0), Key::Back],
    ];
    let mut pressed = None;
    for row in rows {
        ui.horizontal(|ui| {
            for k in row {
                let label = match k {
                    Key::Digit(d) => RichText::new(d.to_string()).size(40.0).strong(),
                    Key::Clear => RichText::new("Clear"),
                    Key::Back => RichText::new("Back"),
                };
                if big(ui, label, vec2(key, key * 0.8)).clicked() {
                    pressed = Some(k);
                }
            }
        });
    }
    pressed
}

/// PIN digits as dots, so nobody reads a PIN over a shoulder.
pub fn dots(digits: usize) -> String {
    if digits == 0 {
        "—".to_owned()
    } else {
        "● ".repeat(digits).trim_end().to_owned()
    }
}

/// Minutes and seconds (`12:05`), or hours and minutes past an hour (`1h05`).
pub fn duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    if s >= 3600 {
        format!("{}h{:02}", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_a_kitchen_clock() {
        assert_eq!(duration(0), "0:00");
        assert_eq!(duration(65_000), "1:05");
        assert_eq!(duration(3_600_000 + 5 * 60_000), "1h05");
        assert_eq!(duration(-5), "0:00");
    }

    #[test]
    fn pin_digits_are_never_shown() {
        assert_eq!(dots(0), "—");
        assert_eq!(dots(4), "● ● ● ●");
    }
}
