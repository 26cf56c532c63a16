//! What a person asks of the terminal: an [`Intent`] per tap (or per `pass terminal …` verb),
//! and the [`Outcome`] of carrying it out.
//!
//! Intents are of two kinds. Screen intents move around the terminal (the PIN pad, the floor,
//! a category, the modifier dialog) and write nothing. Order intents change a check; they name
//! the check they act on, are planned against the domain rules on the check's fold, and are
//! written as events through the device. A refusal writes nothing and says why.
//!
//! Intents are JSON on the control socket: `{"intent":"send","check":"t1-739600-A3"}`.

use serde::{Deserialize, Serialize};

use crate::domain::order::OrderType;
use crate::event::{DiscountRecord, SplitRecord};

use super::settings::SettingsChange;

/// A key of the PIN pad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PinKey {
    /// One digit, 0 to 9.
    Digit(u8),
    Back,
    Clear,
    /// Sign in with the digits typed.
    Enter,
}

/// Everything a person can do at an order terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "intent", rename_all = "snake_case", deny_unknown_fields)]
pub enum Intent {
    // ---- Sign-in screen (no one signed in needed)
    /// A key of the PIN pad (the digits typed are never shown, only counted).
    PinKey {
        key: PinKey,
    },
    /// Sign in with a PIN in one step.
    SignIn {
        pin: String,
    },
    /// Back to the PIN screen.
    SignOut,
    /// Clock a person in (their PIN; nobody needs to be signed in).
    ClockIn {
        pin: String,
    },
    ClockOut {
        pin: String,
    },

    // ---- Floor
    /// Back to the floor plan (puts the check down).
    ShowFloor,
    /// A table tapped: its check, or the "open table" dialog for a free one.
    SelectTable {
        table: String,
    },
    /// A check tapped (several at one table, or one without a table).
    SelectCheck {
        check: String,
    },
    /// Open a check: dine-in at a table (guests required), or takeout and delivery without.
    OpenCheck {
        #[serde(default)]
        table: Option<String>,
        guests: u32,
        /// Seats lines may name; the number of guests when left out.
        #[serde(default)]
        seats: Option<u32>,
        /// Dine-in when left out.
        #[serde(default)]
        order_type: Option<OrderType>,
    },

    // ---- Ordering (on the check shown)
    ChooseCategory {
        category: String,
    },
    /// The seat new lines go to (`None`: for the table).
    SetSeat {
        #[serde(default)]
        seat: Option<u32>,
    },
    /// The course new lines go to.
    SetCourse {
        course: u8,
    },
    /// How many of the next item.
    SetQty {
        qty: u32,
    },
    /// Notes for the kitchen on the next item.
    SetNotes {
        notes: String,
    },
    /// An item tapped: added at once, or its modifier dialog opened.
    PickItem {
        item: String,
    },
    /// A modifier tapped in the dialog (choosing another in a choose-one group replaces it).
    ToggleModifier {
        modifier: String,
    },
    /// The dialog's "Add": refused while a required choice is missing.
    ConfirmItem,
    /// The dialog closed without adding the item.
    CancelItem,

    // ---- Order changes (written as events)
    /// Add a line in one step (what the dialog's "Add" does).
    AddLine {
        check: String,
        item: String,
        #[serde(default)]
        modifiers: Vec<String>,
        #[serde(default = "one")]
        qty: u32,
        #[serde(default)]
        seat: Option<u32>,
        #[serde(default = "first_course")]
        course: u8,
        #[serde(default)]
        notes: String,
    },
    /// Send every unsent line: one ticket per station and course.
    Send {
        check: String,
    },
    HoldCourse {
        check: String,
        course: u8,
    },
    FireCourse {
        check: String,
        course: u8,
    },
    /// Take a line off; needs a manager's PIN and a reason.
    Void {
        check: String,
        line: String,
        #[serde(default)]
        manager_pin: Option<String>,
        #[serde(default)]
        reason: Option<String>,
    },
    /// Give a line away; needs a manager's PIN and a reason.
    Comp {
        check: String,
        line: String,
        #[serde(default)]
        manager_pin: Option<String>,
        #[serde(default)]
        reason: Option<String>,
    },
    /// An amount or percentage off one line (`line`) or the whole check; needs a manager's
    /// PIN and a reason.
    Discount {
        check: String,
        #[serde(default)]
        line: Option<String>,
        discount: DiscountRecord,
        #[serde(default)]
        manager_pin: Option<String>,
        #[serde(default)]
        reason: Option<String>,
    },
    /// Split the check by seat, by groups of lines or evenly (or undo the split).
    Split {
        check: String,
        split: SplitRecord,
    },
    /// Give the check another table.
    Move {
        check: String,
        table: String,
    },
    /// Take the check `from` into `check`.
    Merge {
        check: String,
        from: String,
    },
    /// Close a check with nothing left to pay.
    Close {
        check: String,
    },
    /// Change this terminal's settings; needs a manager's PIN.
    ChangeSettings {
        #[serde(default)]
        manager_pin: Option<String>,
        change: SettingsChange,
    },
}

fn one() -> u32 {
    1
}

fn first_course() -> u8 {
    1
}

impl Intent {
    /// The check an order intent acts on, if it names one.
    pub fn check(&self) -> Option<&str> {
        match self {
            Intent::AddLine { check, .. }
            | Intent::Send { check }
            | Intent::HoldCourse { check, .. }
            | Intent::FireCourse { check, .. }
            | Intent::Void { check, .. }
            | Intent::Comp { check, .. }
            | Intent::Discount { check, .. }
            | Intent::Split { check, .. }
            | Intent::Move { check, .. }
            | Intent::Merge { check, .. }
            | Intent::Close { check }
            | Intent::SelectCheck { check } => Some(check),
            _ => None,
        }
    }
}

/// One part of a split, as the terminal shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartView {
    pub seat: Option<u32>,
    pub lines: Vec<String>,
    pub amount: crate::domain::Money,
}

/// What carrying out an intent did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The sequence numbers of the events written, in order (none for screen intents).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub written: Vec<u64>,
    /// The check acted on, and its order number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// The line added.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
    /// Who signed in or was identified (clock in and out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staff: Option<String>,
    /// The terminal went back to the PIN screen.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub signed_out: bool,
    /// A split's parts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parts: Option<Vec<PartView>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intents_read_from_json_with_defaults_and_refuse_unknown_fields() {
        let add: Intent = serde_json::from_str(
            r#"{"intent":"add_line","check":"c1","item":"classic_burger","modifiers":["medium"]}"#,
        )
        .expect("add_line");
        assert_eq!(
            add,
            Intent::AddLine {
                check: "c1".into(),
                item: "classic_burger".into(),
                modifiers: vec!["medium".into()],
                qty: 1,
                seat: None,
                course: 1,
                notes: String::new(),
            }
        );
        let key: Intent =
            serde_json::from_str(r#"{"intent":"pin_key","key":{"digit":7}}"#).expect("pin key");
        assert_eq!(
            key,
            Intent::PinKey {
                key: PinKey::Digit(7)
            }
        );
        let split: Intent =
            serde_json::from_str(r#"{"intent":"split","check":"c1","split":{"by":"seat"}}"#)
                .expect("split");
        assert_eq!(split.check(), Some("c1"));
        assert!(
            serde_json::from_str::<Intent>(r#"{"intent":"send","check":"c1","force":true}"#)
                .is_err()
        );
        assert!(serde_json::from_str::<Intent>(r#"{"intent":"teleport"}"#).is_err());
    }
}
