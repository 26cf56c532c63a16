//! A kitchen screen's own settings: its station, stations taken over from dead screens, timer
//! thresholds, layout and sound. Kept in a TOML file beside the screen's database
//! (`<db>.kds.toml`); changed from the screen's settings overlay behind a manager PIN, or by
//! editing the file while the screen is stopped. A file that does not read is refused whole
//! with the reason; nothing is half-applied.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::board::{Grid, TimerSettings};
use crate::domain::staff::{Permission, SignInError, SignInThrottle, Staff, sign_in};

/// Everything a kitchen screen can be told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KdsSettings {
    /// The station this screen serves, or `expo`.
    pub station: String,
    /// Stations whose dead screens this one stands in for.
    #[serde(default)]
    pub taken_over: Vec<String>,
    #[serde(default)]
    pub timers: TimerSettings,
    #[serde(default)]
    pub layout: Grid,
    /// No sound (the flash stays).
    #[serde(default)]
    pub silent: bool,
}

impl KdsSettings {
    pub fn new(station: &str) -> KdsSettings {
        KdsSettings {
            station: station.to_owned(),
            taken_over: Vec::new(),
            timers: TimerSettings::default(),
            layout: Grid::default(),
            silent: false,
        }
    }

    /// The stations whose tickets this screen shows: its own, then those taken over.
    pub fn stations(&self) -> Vec<String> {
        let mut out = vec![self.station.clone()];
        for s in &self.taken_over {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
        out
    }

    pub fn check(&self) -> Result<(), String> {
        for station in std::iter::once(&self.station).chain(&self.taken_over) {
            let ok = !station.is_empty()
                && station.len() <= 32
                && station
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
            if !ok {
                return Err(format!(
                    "station `{station}`: 1 to 32 lowercase letters, digits, _ or -"
                ));
            }
        }
        if self.taken_over.contains(&self.station) {
            return Err("a screen cannot take over its own station".to_owned());
        }
        if self.station == super::EXPO && !self.taken_over.is_empty() {
            return Err("expo already sees every station".to_owned());
        }
        self.timers.check()?;
        self.layout.check()
    }

    /// Reads settings from TOML text, checked.
    pub fn parse(text: &str) -> Result<KdsSettings, String> {
        let settings: KdsSettings = toml::from_str(text).map_err(|e| e.to_string())?;
        settings.check()?;
        Ok(settings)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// Where a screen with database `db` keeps its settings.
    pub fn path_for(db: &Path) -> PathBuf {
        db.with_extension("kds.toml")
    }

    /// The settings in `path`, or `None` when there is no file yet.
    pub fn load(path: &Path) -> Result<Option<KdsSettings>, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => KdsSettings::parse(&text)
                .map(Some)
                .map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Writes the settings to `path` whole (a temporary file renamed over it), after checking.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        self.check()?;
        let tmp = path.with_extension("kds.toml.new");
        std::fs::write(&tmp, self.to_toml())
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// Why a settings change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    #[error(transparent)]
    SignIn(#[from] SignInError),
    #[error("{0} may not change a kitchen screen's settings: a manager's PIN is needed")]
    NotAManager(String),
}

/// Checks that `pin` belongs to someone allowed to change a screen's settings; returns their
/// name. Wrong PINs slow further tries down through `throttle`, as at the terminals.
pub fn approve(
    staff: &[Staff],
    pin: &str,
    now_ms: u64,
    throttle: &mut SignInThrottle,
) -> Result<String, ApprovalError> {
    let id = sign_in(staff, pin, now_ms, throttle)?;
    let person = staff
        .iter()
        .find(|s| s.id() == &id)
        .ok_or_else(|| ApprovalError::NotAManager(id.as_str().to_owned()))?;
    // A screen's settings are the device's, not the store's: whoever manages the store's
    // devices (managers and owners) may change them.
    if !person.permits(Permission::RetireDevice) {
        return Err(ApprovalError::NotAManager(person.name().to_owned()));
    }
    Ok(person.name().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::check::StaffId;
    use crate::domain::staff::{PinHash, Role, ThrottlePolicy};

    #[test]
    fn settings_round_trip_through_the_file_and_bad_ones_are_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = KdsSettings::path_for(&dir.path().join("grill.db"));
        assert_eq!(KdsSettings::load(&path), Ok(None));
        let mut s = KdsSettings::new("grill");
        s.taken_over.push("fry".into());
        s.timers.default.alert_secs = 240;
        s.silent = true;
        s.save(&path).expect("save");
        assert_eq!(KdsSettings::load(&path), Ok(Some(s.clone())));
        assert_eq!(s.stations(), ["grill", "fry"]);

        for bad in [
            "station = \"Grill!\"",
            "station = \"grill\"\ntaken_over = [\"grill\"]",
            "station = \"grill\"\n[timers.default]\nalert_secs = 600\nlate_secs = 300",
            "station = \"grill\"\n[layout]\ncolumns = 0\nlines_per_column = 20",
            "station = \"grill\"\ncolour = \"red\"",
        ] {
            assert!(KdsSettings::parse(bad).is_err(), "{bad}");
        }
        let mut bad = s.clone();
        bad.station = String::new();
        assert!(bad.save(&path).is_err());
        assert_eq!(
            KdsSettings::load(&path),
            Ok(Some(s)),
            "a refused save leaves the file"
        );
    }

    #[test]
    fn only_a_manager_pin_approves_a_change() {
        let salt = *b"kitchen-salt-16b";
        let staff = vec![
            Staff::new(
                StaffId::new("m1"),
                "Maria",
                Role::Manager,
                PinHash::new("4827", salt).expect("pin"),
            )
            .expect("staff"),
            Staff::new(
                StaffId::new("c1"),
                "Carl",
                Role::Server,
                PinHash::new("1593", salt).expect("pin"),
            )
            .expect("staff"),
        ];
        let mut throttle = SignInThrottle::new(ThrottlePolicy::default());
        assert_eq!(
            approve(&staff, "4827", 1_000, &mut throttle).expect("manager"),
            "Maria"
        );
        assert!(matches!(
            approve(&staff, "1593", 2_000, &mut throttle),
            Err(ApprovalError::NotAManager(name)) if name == "Carl"
        ));
        assert!(matches!(
            approve(&staff, "9999", 3_000, &mut throttle),
            Err(ApprovalError::SignIn(SignInError::WrongPin { .. }))
        ));
    }
}
