//! The bump bar's key map. Bump bars are keyboards: number keys select a card, and a handful of
//! keys bump, recall, move, page, show all-day counts and bump single items. The map is a TOML
//! file (`assets/kds-keys.toml` is the default) naming, for each action, the keys that do it:
//!
//! ```toml
//! bump = ["Enter", "KeyB"]
//! recall = ["KeyR"]
//! ```
//!
//! Keys are named as the renderer names physical keys (`Digit1`, `Numpad1`, `KeyB`, `Enter`,
//! `ArrowUp`, `PageDown`, `F1` …). Digits 1–9 (top row and keypad) always select a card, unless
//! the file gives them another action. A key bound to two actions, an unknown action or a key
//! name that is not a key is refused, naming it.

use std::collections::BTreeMap;

use serde::Deserialize;

/// What a key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyAction {
    /// Select the card with this number on the page (1–9).
    Select(usize),
    Bump,
    /// Bump the selected item of the selected card.
    ItemDone,
    Start,
    /// Open the recall list; in it, recall the highlighted ticket.
    Recall,
    Up,
    Down,
    PageNext,
    PagePrevious,
    /// Show or hide the all-day counts.
    AllDay,
    /// Rush the selected ticket, or undo a rush.
    Rush,
    /// Back to the tickets (closes the all-day and recall views).
    Back,
}

/// The actions a key map file may name, with the keys each has when the file does not say.
const ACTIONS: &[(&str, KeyAction, &[&str])] = &[
    ("bump", KeyAction::Bump, &["Enter", "NumpadEnter", "KeyB"]),
    ("item_done", KeyAction::ItemDone, &["KeyI", "NumpadDecimal"]),
    ("start", KeyAction::Start, &["KeyS"]),
    ("recall", KeyAction::Recall, &["KeyR", "NumpadSubtract"]),
    ("up", KeyAction::Up, &["ArrowUp"]),
    ("down", KeyAction::Down, &["ArrowDown"]),
    (
        "page_next",
        KeyAction::PageNext,
        &["PageDown", "ArrowRight"],
    ),
    (
        "page_previous",
        KeyAction::PagePrevious,
        &["PageUp", "ArrowLeft"],
    ),
    ("all_day", KeyAction::AllDay, &["KeyA", "NumpadAdd"]),
    ("rush", KeyAction::Rush, &["KeyP"]),
    ("back", KeyAction::Back, &["Escape", "Backspace"]),
];

/// Key name to action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMap {
    keys: BTreeMap<String, KeyAction>,
}

/// A refused key map file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyMapError {
    #[error("key map: {0}")]
    Syntax(String),
    #[error("key map: unknown action `{0}` (known: {known})", known = known_actions())]
    UnknownAction(String),
    #[error("key map: `{0}` is not a key name (e.g. Enter, KeyB, Digit1, ArrowUp, F1)")]
    NotAKey(String),
    #[error("key map: `{key}` is bound to both {first} and {second}")]
    Twice {
        key: String,
        first: String,
        second: String,
    },
}

fn known_actions() -> String {
    ACTIONS.iter().map(|a| a.0).collect::<Vec<_>>().join(", ")
}

fn is_key_name(name: &str) -> bool {
    let named = [
        "Enter",
        "NumpadEnter",
        "Space",
        "Tab",
        "Escape",
        "Backspace",
        "Delete",
        "Insert",
        "Home",
        "End",
        "PageUp",
        "PageDown",
        "ArrowUp",
        "ArrowDown",
        "ArrowLeft",
        "ArrowRight",
        "NumpadAdd",
        "NumpadSubtract",
        "NumpadMultiply",
        "NumpadDivide",
        "NumpadDecimal",
        "Minus",
        "Equal",
        "Period",
        "Comma",
        "Slash",
    ];
    if named.contains(&name) {
        return true;
    }
    let one_of = |prefix: &str, ok: fn(&str) -> bool| name.strip_prefix(prefix).is_some_and(ok);
    one_of("Key", |r| {
        r.len() == 1 && r.chars().all(|c| c.is_ascii_uppercase())
    }) || one_of("Digit", |r| {
        r.len() == 1 && r.chars().all(|c| c.is_ascii_digit())
    }) || one_of("Numpad", |r| {
        r.len() == 1 && r.chars().all(|c| c.is_ascii_digit())
    }) || one_of("F", |r| {
        r.parse::<u8>().is_ok_and(|n| (1..=24).contains(&n))
    })
}

impl Default for KeyMap {
    fn default() -> Self {
        let mut keys = BTreeMap::new();
        for (_, action, defaults) in ACTIONS {
            for key in *defaults {
                keys.insert((*key).to_owned(), *action);
            }
        }
        for n in 1..=9 {
            keys.insert(format!("Digit{n}"), KeyAction::Select(n));
            keys.insert(format!("Numpad{n}"), KeyAction::Select(n));
        }
        KeyMap { keys }
    }
}

impl KeyMap {
    /// Reads a key map file's text. Actions the file leaves out keep their default keys.
    pub fn parse(text: &str) -> Result<KeyMap, KeyMapError> {
        #[derive(Deserialize)]
        struct File(BTreeMap<String, Vec<String>>);
        let file: File = toml::from_str(text).map_err(|e| KeyMapError::Syntax(e.to_string()))?;
        let mut keys: BTreeMap<String, KeyAction> = BTreeMap::new();
        let mut bound: BTreeMap<String, String> = BTreeMap::new();
        for (name, action, defaults) in ACTIONS {
            let chosen: Vec<String> = match file.0.get(*name) {
                Some(list) => list.clone(),
                None => defaults.iter().map(|k| (*k).to_owned()).collect(),
            };
            for key in chosen {
                if !is_key_name(&key) {
                    return Err(KeyMapError::NotAKey(key));
                }
                if let Some(first) = bound.insert(key.clone(), (*name).to_owned()) {
                    return Err(KeyMapError::Twice {
                        key,
                        first,
                        second: (*name).to_owned(),
                    });
                }
                keys.insert(key, *action);
            }
        }
        if let Some(unknown) = file.0.keys().find(|k| !ACTIONS.iter().any(|a| a.0 == *k)) {
            return Err(KeyMapError::UnknownAction(unknown.clone()));
        }
        for n in 1..=9 {
            for key in [format!("Digit{n}"), format!("Numpad{n}")] {
                keys.entry(key).or_insert(KeyAction::Select(n));
            }
        }
        Ok(KeyMap { keys })
    }

    /// What `key` does, if anything.
    pub fn action(&self, key: &str) -> Option<KeyAction> {
        self.keys.get(key).copied()
    }

    /// The first key bound to `action`, for the help line on screen.
    pub fn key_for(&self, action: KeyAction) -> Option<&str> {
        self.keys
            .iter()
            .find(|(_, a)| **a == action)
            .map(|(k, _)| k.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_cover_the_common_bump_bar_set() {
        let map = KeyMap::default();
        assert_eq!(map.action("Digit3"), Some(KeyAction::Select(3)));
        assert_eq!(map.action("Numpad9"), Some(KeyAction::Select(9)));
        assert_eq!(map.action("Enter"), Some(KeyAction::Bump));
        assert_eq!(map.action("KeyR"), Some(KeyAction::Recall));
        assert_eq!(map.action("PageDown"), Some(KeyAction::PageNext));
        assert_eq!(map.action("KeyA"), Some(KeyAction::AllDay));
        assert_eq!(map.action("KeyI"), Some(KeyAction::ItemDone));
        assert_eq!(map.action("KeyZ"), None);
    }

    #[test]
    fn the_shipped_key_map_file_reads() {
        let text = include_str!("../../../assets/kds-keys.toml");
        let map = KeyMap::parse(text).expect("the shipped key map is valid");
        assert_eq!(map.action("Enter"), Some(KeyAction::Bump));
        assert_eq!(map.action("Digit1"), Some(KeyAction::Select(1)));
    }

    #[test]
    fn a_file_rebinds_actions_and_keeps_the_rest() {
        let map = KeyMap::parse("bump = [\"F1\"]\nrecall = [\"F2\", \"Digit0\"]\n").expect("valid");
        assert_eq!(map.action("F1"), Some(KeyAction::Bump));
        assert_eq!(map.action("Enter"), None, "bump now has only F1");
        assert_eq!(map.action("Digit0"), Some(KeyAction::Recall));
        assert_eq!(map.action("ArrowUp"), Some(KeyAction::Up));
        assert_eq!(map.key_for(KeyAction::Bump), Some("F1"));
    }

    #[test]
    fn bad_files_are_refused_naming_the_problem() {
        assert_eq!(
            KeyMap::parse("bmp = [\"F1\"]"),
            Err(KeyMapError::UnknownAction("bmp".into()))
        );
        assert_eq!(
            KeyMap::parse("bump = [\"Entr\"]"),
            Err(KeyMapError::NotAKey("Entr".into()))
        );
        assert!(matches!(
            KeyMap::parse("bump = [\"KeyR\"]"),
            Err(KeyMapError::Twice { key, .. }) if key == "KeyR"
        ));
        assert!(matches!(
            KeyMap::parse("bump = \"Enter\""),
            Err(KeyMapError::Syntax(_))
        ));
    }
}
