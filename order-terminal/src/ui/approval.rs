//! The manager's approval: voids, comps, discounts and settings changes ask for a manager's PIN
//! and (for corrections) a reason, then become one intent that carries both. The terminal checks
//! the PIN and the role; a refusal shows in the notice and writes nothing.

use egui::{RichText, vec2};
use pass_shared::event::DiscountRecord;
use pass_shared::terminal::{Intent, SettingsChange};

use super::Local;
use super::widgets::{self, ATTENTION, DANGER, GO, Key};

/// Reasons a manager picks from (every override is recorded with one).
pub const VOID_REASONS: [&str; 5] = [
    "Entered by mistake",
    "Guest changed their mind",
    "Kitchen error",
    "Took too long",
    "Item unavailable",
];
pub const COMP_REASONS: [&str; 4] = [
    "Quality complaint",
    "Long wait",
    "Manager's guest",
    "Staff meal",
];
pub const DISCOUNT_REASONS: [&str; 4] = ["Promotion", "Staff", "Regular guest", "Service recovery"];

/// What waits for the approval.
#[derive(Debug, Clone, PartialEq)]
pub enum Guarded {
    Void {
        check: String,
        line: String,
        what: String,
    },
    Comp {
        check: String,
        line: String,
        what: String,
    },
    Discount {
        check: String,
        line: Option<String>,
        what: String,
        discount: Option<DiscountRecord>,
    },
    Settings(SettingsChange),
}

impl Guarded {
    fn title(&self) -> String {
        match self {
            Guarded::Void { what, .. } => format!("Void {what}"),
            Guarded::Comp { what, .. } => format!("Comp {what}"),
            Guarded::Discount { what, .. } => format!("Discount {what}"),
            Guarded::Settings(_) => "Change this terminal's settings".to_owned(),
        }
    }

    fn reasons(&self) -> &'static [&'static str] {
        match self {
            Guarded::Void { .. } => &VOID_REASONS,
            Guarded::Comp { .. } => &COMP_REASONS,
            Guarded::Discount { .. } => &DISCOUNT_REASONS,
            Guarded::Settings(_) => &[],
        }
    }

    /// The intent, with the PIN and reason given.
    fn intent(self, pin: String, reason: Option<String>) -> Option<Intent> {
        let manager_pin = Some(pin);
        Some(match self {
            Guarded::Void { check, line, .. } => Intent::Void {
                check,
                line,
                manager_pin,
                reason,
            },
            Guarded::Comp { check, line, .. } => Intent::Comp {
                check,
                line,
                manager_pin,
                reason,
            },
            Guarded::Discount {
                check,
                line,
                discount,
                ..
            } => Intent::Discount {
                check,
                line,
                discount: discount?,
                manager_pin,
                reason,
            },
            Guarded::Settings(change) => Intent::ChangeSettings {
                manager_pin,
                change,
            },
        })
    }
}

/// A guarded action and what the manager has entered so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Approval {
    pub guarded: Guarded,
    pub pin: String,
    pub reason: Option<String>,
}

impl Approval {
    pub fn new(guarded: Guarded) -> Approval {
        Approval {
            guarded,
            pin: String::new(),
            reason: None,
        }
    }

    /// Whether everything the action needs is there (the terminal still checks the PIN).
    pub fn complete(&self) -> bool {
        let discount_chosen = match &self.guarded {
            Guarded::Discount { discount, .. } => discount.is_some(),
            _ => true,
        };
        !self.pin.is_empty()
            && discount_chosen
            && (self.guarded.reasons().is_empty() || self.reason.is_some())
    }
}

/// Draws the approval dialog while one is asked for; the intent once approved.
pub fn approval_ui(ctx: &egui::Context, local: &mut Local) -> Option<Intent> {
    let mut approval = local.approval.take()?;
    let mut done = false;
    let mut intent = None;
    egui::Modal::new(egui::Id::new("manager approval")).show(ctx, |ui| {
        ui.set_width(760.0);
        ui.heading(approval.guarded.title());
        if let Guarded::Discount { discount, .. } = &mut approval.guarded {
            ui.horizontal_wrapped(|ui| {
                for (label, record) in super::order::discount_choices() {
                    let chosen = discount.as_ref() == Some(&record);
                    if widgets::choice(ui, chosen, label, vec2(110.0, 64.0)).clicked() {
                        *discount = Some(record);
                    }
                }
            });
        }
        let reasons = approval.guarded.reasons();
        if !reasons.is_empty() {
            ui.label("Reason");
            ui.horizontal_wrapped(|ui| {
                for reason in reasons {
                    let chosen = approval.reason.as_deref() == Some(*reason);
                    if widgets::choice(ui, chosen, *reason, vec2(230.0, 60.0)).clicked() {
                        approval.reason = Some((*reason).to_owned());
                    }
                }
            });
        }
        ui.label(
            RichText::new(format!(
                "Manager PIN: {}",
                widgets::dots(approval.pin.len())
            ))
            .size(32.0)
            .color(ATTENTION),
        );
        match widgets::keypad(ui, 100.0) {
            Some(Key::Digit(d))
                if approval.pin.len() < pass_shared::domain::staff::MAX_PIN_DIGITS =>
            {
                approval.pin.push(char::from(b'0' + d));
            }
            Some(Key::Back) => {
                approval.pin.pop();
            }
            Some(Key::Clear) => approval.pin.clear(),
            _ => {}
        }
        ui.horizontal(|ui| {
            if widgets::filled(ui, "Cancel", DANGER, vec2(220.0, 76.0)).clicked() {
                done = true;
            }
            if widgets::enabled(ui, approval.complete(), "Approve", GO, vec2(300.0, 76.0)).clicked()
            {
                done = true;
                intent = approval
                    .clone()
                    .guarded
                    .intent(approval.pin.clone(), approval.reason.clone());
            }
        });
    });
    if !done {
        local.approval = Some(approval);
    }
    intent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_approval_needs_a_pin_a_reason_and_for_a_discount_its_size() {
        let mut a = Approval::new(Guarded::Void {
            check: "c".into(),
            line: "l".into(),
            what: "Burger".into(),
        });
        assert!(!a.complete());
        a.pin = "2580".into();
        assert!(!a.complete(), "a void needs a reason");
        a.reason = Some(VOID_REASONS[0].into());
        assert!(a.complete());
        let intent = a.clone().guarded.intent(a.pin.clone(), a.reason.clone());
        assert_eq!(
            intent,
            Some(Intent::Void {
                check: "c".into(),
                line: "l".into(),
                manager_pin: Some("2580".into()),
                reason: Some("Entered by mistake".into()),
            })
        );
        let mut d = Approval::new(Guarded::Discount {
            check: "c".into(),
            line: None,
            what: "check A1".into(),
            discount: None,
        });
        d.pin = "2580".into();
        d.reason = Some(DISCOUNT_REASONS[0].into());
        assert!(!d.complete(), "no discount chosen");
        let settings = Approval {
            pin: "2580".into(),
            ..Approval::new(Guarded::Settings(SettingsChange::default()))
        };
        assert!(settings.complete(), "settings need no reason");
    }
}
