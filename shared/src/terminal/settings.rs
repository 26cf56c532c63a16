//! An order terminal's own settings: the letter of its order numbers, when it goes back to the
//! PIN screen, and which floor plan it draws. Kept in a TOML file beside the terminal's database
//! (`<db>.terminal.toml`), made with defaults on first start; changed behind a manager's PIN
//! (`pass terminal settings …`, the settings screen), or by editing the file while the terminal
//! is stopped. A file that does not read is refused whole with the reason.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::domain::check::DeviceLetter;

/// Everything an order terminal can be told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TerminalSettings {
    /// The first character of this terminal's order numbers (`B` gives B1, B2 …): A–Z without
    /// I and O, one per ordering device of the store.
    pub letter: char,
    /// Back to the PIN screen after each send.
    #[serde(default = "yes")]
    pub return_to_pin_after_send: bool,
    /// Back to the PIN screen after each close.
    #[serde(default = "yes")]
    pub return_to_pin_after_close: bool,
    /// Back to the PIN screen after this many minutes without a touch; 0: never.
    #[serde(default = "default_idle_minutes")]
    pub idle_minutes: u32,
    /// A floor-plan file; the built-in plan when absent.
    #[serde(default)]
    pub floor_plan: Option<PathBuf>,
}

fn yes() -> bool {
    true
}

fn default_idle_minutes() -> u32 {
    2
}

/// The longest idle time that can be set (a whole shift).
pub const MAX_IDLE_MINUTES: u32 = 12 * 60;

impl TerminalSettings {
    /// Defaults for the terminal `device`: its letter is the device id's first letter when that
    /// is a device letter (`b-bar` gives B), else `A`; a manager sets the store's own.
    pub fn new(device: &str) -> TerminalSettings {
        let letter = device
            .chars()
            .next()
            .map(|c| c.to_ascii_uppercase())
            .filter(|c| DeviceLetter::new(*c).is_ok())
            .unwrap_or('A');
        TerminalSettings {
            letter,
            return_to_pin_after_send: true,
            return_to_pin_after_close: true,
            idle_minutes: default_idle_minutes(),
            floor_plan: None,
        }
    }

    pub fn check(&self) -> Result<(), String> {
        DeviceLetter::new(self.letter).map_err(|e| format!("letter: {e}"))?;
        if self.idle_minutes > MAX_IDLE_MINUTES {
            return Err(format!(
                "idle_minutes: at most {MAX_IDLE_MINUTES} (0 for never)"
            ));
        }
        Ok(())
    }

    /// The letter, checked.
    pub fn device_letter(&self) -> DeviceLetter {
        // `check` ran when the settings were made or read; 'A' is a letter.
        DeviceLetter::new(self.letter)
            .or_else(|_| DeviceLetter::new('A'))
            .expect("A is a device letter")
    }

    /// Idle time before the PIN screen, in ms; `None`: never.
    pub fn idle_ms(&self) -> Option<i64> {
        (self.idle_minutes > 0).then(|| i64::from(self.idle_minutes) * 60_000)
    }

    pub fn parse(text: &str) -> Result<TerminalSettings, String> {
        let settings: TerminalSettings = toml::from_str(text).map_err(|e| e.to_string())?;
        settings.check()?;
        Ok(settings)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// Where a terminal with database `db` keeps its settings.
    pub fn path_for(db: &Path) -> PathBuf {
        db.with_extension("terminal.toml")
    }

    /// The settings in `path`, or `None` when there is no file yet.
    pub fn load(path: &Path) -> Result<Option<TerminalSettings>, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => TerminalSettings::parse(&text)
                .map(Some)
                .map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Writes the settings to `path` whole (a temporary file renamed over it), after checking.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        self.check()?;
        let tmp = path.with_extension("terminal.toml.new");
        std::fs::write(&tmp, self.to_toml())
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// A change to a terminal's settings (fields left out stay as they are).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsChange {
    #[serde(default)]
    pub letter: Option<char>,
    #[serde(default)]
    pub return_to_pin_after_send: Option<bool>,
    #[serde(default)]
    pub return_to_pin_after_close: Option<bool>,
    #[serde(default)]
    pub idle_minutes: Option<u32>,
    /// A floor-plan file to draw from now on; an empty path goes back to the built-in plan.
    #[serde(default)]
    pub floor_plan: Option<PathBuf>,
    /// The broker's address (`mqtt://host:port`) for stores whose network blocks mDNS, kept in
    /// the device's configuration file and used from the next start; empty: find it by mDNS.
    #[serde(default)]
    pub broker: Option<String>,
    /// The receipt printer (`host` or `host:port`, port 9100 when left out), kept in the
    /// terminal's payment settings; empty: no paper receipts.
    #[serde(default)]
    pub printer: Option<String>,
}

impl TerminalSettings {
    /// These settings with `change` made, checked.
    pub fn changed(&self, change: &SettingsChange) -> Result<TerminalSettings, String> {
        let mut next = self.clone();
        if let Some(letter) = change.letter {
            next.letter = letter.to_ascii_uppercase();
        }
        if let Some(v) = change.return_to_pin_after_send {
            next.return_to_pin_after_send = v;
        }
        if let Some(v) = change.return_to_pin_after_close {
            next.return_to_pin_after_close = v;
        }
        if let Some(v) = change.idle_minutes {
            next.idle_minutes = v;
        }
        if let Some(path) = &change.floor_plan {
            next.floor_plan = (!path.as_os_str().is_empty()).then(|| path.clone());
        }
        next.check()?;
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_take_the_device_letter_and_a_file_reads_back() {
        assert_eq!(TerminalSettings::new("b-bar").letter, 'B');
        assert_eq!(
            TerminalSettings::new("iris").letter,
            'A',
            "I is not a letter"
        );
        assert_eq!(TerminalSettings::new("9").letter, 'A');
        let dir = tempfile::tempdir().expect("dir");
        let path = TerminalSettings::path_for(&dir.path().join("pass.db"));
        assert!(path.ends_with("pass.terminal.toml"));
        assert_eq!(TerminalSettings::load(&path), Ok(None));
        let settings = TerminalSettings::new("t1");
        settings.save(&path).expect("save");
        assert_eq!(TerminalSettings::load(&path), Ok(Some(settings)));
        std::fs::write(&path, "letter = \"O\"\n").expect("write");
        let err = TerminalSettings::load(&path).expect_err("O is not a letter");
        assert!(err.contains("letter"), "{err}");
        std::fs::write(&path, "letter = \"C\"\nidle = 3\n").expect("write");
        assert!(TerminalSettings::load(&path).is_err(), "unknown field");
    }

    #[test]
    fn a_change_is_checked_whole() {
        let s = TerminalSettings::new("t1");
        let change = SettingsChange {
            letter: Some('c'),
            idle_minutes: Some(0),
            return_to_pin_after_send: Some(false),
            ..SettingsChange::default()
        };
        let next = s.changed(&change).expect("valid");
        assert_eq!(next.letter, 'C');
        assert_eq!(next.idle_ms(), None);
        assert!(!next.return_to_pin_after_send);
        let bad = SettingsChange {
            letter: Some('I'),
            ..SettingsChange::default()
        };
        assert!(s.changed(&bad).is_err());
        let bad = SettingsChange {
            idle_minutes: Some(MAX_IDLE_MINUTES + 1),
            ..SettingsChange::default()
        };
        assert!(s.changed(&bad).is_err());
    }
}
