//! The terminal's settings, behind a manager's PIN: its order-number letter, when it goes back
//! to the PIN screen, its floor plan, the broker's address (for stores whose Wi-Fi blocks
//! mDNS), its receipt printer. The form is checked by the terminal as a whole when applied; nothing changes before a
//! manager approves.

use std::path::PathBuf;

use egui::{RichText, Ui, vec2};
use pass_shared::terminal::SettingsChange;

use super::approval::Guarded;
use super::widgets::{self, DANGER, GO, MUTED};

/// What is being edited (empty text fields leave a setting as it is).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    pub letter: String,
    pub idle_minutes: String,
    pub return_after_send: Option<bool>,
    pub return_after_close: Option<bool>,
    pub floor_plan: String,
    pub broker: String,
    pub printer: String,
    /// Why the form cannot be applied yet.
    pub problem: Option<String>,
}

impl Form {
    /// The change this form asks for, or why it cannot be made.
    pub fn change(&self) -> Result<SettingsChange, String> {
        let letter = match self.letter.trim() {
            "" => None,
            l => {
                let mut chars = l.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if c.is_ascii_alphabetic() => Some(c.to_ascii_uppercase()),
                    _ => return Err("the letter is one letter, A to Z".to_owned()),
                }
            }
        };
        let idle_minutes = match self.idle_minutes.trim() {
            "" => None,
            m => Some(
                m.parse::<u32>()
                    .map_err(|_| "idle minutes are a whole number (0: never)".to_owned())?,
            ),
        };
        let broker = match self.broker.trim() {
            "" => None,
            b => Some(b.to_owned()),
        };
        let printer = match self.printer.trim() {
            "" => None,
            "-" => Some(String::new()),
            p => Some(p.to_owned()),
        };
        let change = SettingsChange {
            letter,
            return_to_pin_after_send: self.return_after_send,
            return_to_pin_after_close: self.return_after_close,
            idle_minutes,
            floor_plan: match self.floor_plan.trim() {
                "" => None,
                "-" => Some(PathBuf::new()),
                p => Some(PathBuf::from(p)),
            },
            broker,
            printer,
        };
        if change == SettingsChange::default() {
            return Err("nothing to change".to_owned());
        }
        Ok(change)
    }
}

/// Draws the settings form. Returns (closed, the change to approve).
pub fn settings_ui(ui: &mut Ui, form: &mut Form) -> (bool, Option<Guarded>) {
    let mut closed = false;
    let mut asked = None;
    ui.heading("Terminal settings");
    ui.label(
        RichText::new("Empty fields stay as they are. A manager approves the change.").color(MUTED),
    );
    let field = |ui: &mut Ui, name: &str, hint: &str, value: &mut String| {
        ui.horizontal(|ui| {
            ui.add_sized(vec2(360.0, 56.0), egui::Label::new(name));
            ui.add(
                egui::TextEdit::singleline(value)
                    .hint_text(hint)
                    .desired_width(640.0)
                    .font(egui::TextStyle::Body),
            );
        });
    };
    field(
        ui,
        "Broker address",
        "mqtt://192.168.1.10:1883 (empty: find it by mDNS)",
        &mut form.broker,
    );
    field(
        ui,
        "Receipt printer",
        "192.168.1.20:9100 (-: no printer)",
        &mut form.printer,
    );
    field(
        ui,
        "Order-number letter",
        "A to Z, one per terminal",
        &mut form.letter,
    );
    field(
        ui,
        "Idle minutes",
        "back to the PIN screen after (0: never)",
        &mut form.idle_minutes,
    );
    field(
        ui,
        "Floor plan file",
        "path to a floor plan (-: the built-in one)",
        &mut form.floor_plan,
    );
    let toggle = |ui: &mut Ui, name: &str, value: &mut Option<bool>| {
        ui.horizontal(|ui| {
            ui.add_sized(vec2(360.0, 56.0), egui::Label::new(name));
            for (label, v) in [("Yes", Some(true)), ("No", Some(false)), ("As is", None)] {
                if widgets::choice(ui, *value == v, label, vec2(110.0, 56.0)).clicked() {
                    *value = v;
                }
            }
        });
    };
    toggle(ui, "PIN screen after send", &mut form.return_after_send);
    toggle(ui, "PIN screen after close", &mut form.return_after_close);
    if let Some(problem) = &form.problem {
        ui.label(RichText::new(problem).color(DANGER));
    }
    ui.horizontal(|ui| {
        if widgets::filled(ui, "Close", DANGER, vec2(220.0, 72.0)).clicked() {
            closed = true;
        }
        if widgets::filled(ui, "Apply", GO, vec2(300.0, 72.0)).clicked() {
            match form.change() {
                Ok(change) => {
                    form.problem = None;
                    asked = Some(Guarded::Settings(change));
                    closed = true;
                }
                Err(problem) => form.problem = Some(problem),
            }
        }
    });
    (closed, asked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_becomes_one_checked_change() {
        assert_eq!(
            Form::default().change(),
            Err("nothing to change".to_owned())
        );
        let form = Form {
            letter: "c".into(),
            idle_minutes: "5".into(),
            broker: " mqtt://10.0.0.2:1883 ".into(),
            floor_plan: "-".into(),
            printer: "-".into(),
            ..Form::default()
        };
        let change = form.change().expect("valid");
        assert_eq!(change.letter, Some('C'));
        assert_eq!(change.idle_minutes, Some(5));
        assert_eq!(change.broker.as_deref(), Some("mqtt://10.0.0.2:1883"));
        assert_eq!(change.floor_plan, Some(PathBuf::new()));
        assert_eq!(change.printer.as_deref(), Some(""), "no printer");
        for (letter, idle) in [("cd", ""), ("7", ""), ("", "soon")] {
            let bad = Form {
                letter: letter.into(),
                idle_minutes: idle.into(),
                ..Form::default()
            };
            assert!(bad.change().is_err(), "{letter:?} {idle:?}");
        }
    }
}
