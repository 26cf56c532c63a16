//! A terminal's payment devices: its card terminal and its receipt printer, and how long to
//! wait for the card terminal. Per device (a store's terminals each have their own), kept in a
//! TOML file beside the device's database (`<db>.payments.toml`), written by `pass pay setup`
//! (or by hand while the device is stopped). A file that does not read is refused whole.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::card::CardTiming;

/// The raw TCP port of network receipt printers.
pub const PRINTER_PORT: u16 = 9100;

/// A terminal's payment devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentSettings {
    /// The card terminal, `host:port`; none: cards cannot be taken on this terminal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_terminal: Option<String>,
    /// The receipt printer, `host:port` (port 9100 when left out); none: no paper receipts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub printer: Option<String>,
    /// How long the card terminal may take to answer one request (the guest taps, the network
    /// answers), in milliseconds.
    #[serde(default = "default_answer_ms")]
    pub card_answer_ms: u64,
    /// Tries per card request, the first included (a retry uses the same idempotency key).
    #[serde(default = "default_attempts")]
    pub card_attempts: u32,
}

fn default_answer_ms() -> u64 {
    60_000
}

fn default_attempts() -> u32 {
    3
}

impl Default for PaymentSettings {
    fn default() -> PaymentSettings {
        PaymentSettings {
            card_terminal: None,
            printer: None,
            card_answer_ms: default_answer_ms(),
            card_attempts: default_attempts(),
        }
    }
}

/// `host:port` checked, with `default_port` when the port is left out.
pub fn address(text: &str, default_port: Option<u16>) -> Result<String, String> {
    let text = text.trim();
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && !port.contains(']') => {
            let port: u16 = port
                .parse()
                .map_err(|_| format!("`{text}`: `{port}` is not a port"))?;
            (host, port)
        }
        _ => (
            text,
            default_port.ok_or_else(|| format!("`{text}`: give host:port"))?,
        ),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
    if !host_ok || port == 0 {
        return Err(format!("`{text}`: not a usable address"));
    }
    Ok(format!("{host}:{port}"))
}

impl PaymentSettings {
    /// Checks every field.
    pub fn check(&self) -> Result<(), String> {
        if let Some(t) = &self.card_terminal {
            address(t, None).map_err(|e| format!("card_terminal {e}"))?;
        }
        if let Some(p) = &self.printer {
            address(p, Some(PRINTER_PORT)).map_err(|e| format!("printer {e}"))?;
        }
        if !(100..=600_000).contains(&self.card_answer_ms) {
            return Err("card_answer_ms: from 100 to 600000".to_owned());
        }
        if !(1..=10).contains(&self.card_attempts) {
            return Err("card_attempts: from 1 to 10".to_owned());
        }
        Ok(())
    }

    /// The driver's timing from these settings.
    pub fn card_timing(&self) -> CardTiming {
        CardTiming {
            answer: std::time::Duration::from_millis(self.card_answer_ms),
            attempts: self.card_attempts,
            ..CardTiming::default()
        }
    }

    /// The printer's address with its port.
    pub fn printer_address(&self) -> Option<String> {
        self.printer
            .as_deref()
            .and_then(|p| address(p, Some(PRINTER_PORT)).ok())
    }

    /// Reads settings from TOML text, checked.
    pub fn parse(text: &str) -> Result<PaymentSettings, String> {
        let settings: PaymentSettings = toml::from_str(text).map_err(|e| e.to_string())?;
        settings.check()?;
        Ok(settings)
    }

    /// Where a device with database `db` keeps them.
    pub fn path_for(db: &Path) -> PathBuf {
        db.with_extension("payments.toml")
    }

    /// The settings in `path`; the defaults (no card terminal, no printer) when there is no file.
    pub fn load(path: &Path) -> Result<PaymentSettings, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                PaymentSettings::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(PaymentSettings::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Writes them to `path` whole (a temporary file renamed over it), after checking.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        self.check()?;
        let text = toml::to_string(self).map_err(|e| e.to_string())?;
        let tmp = path.with_extension("payments.toml.new");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| format!("{}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_limits_are_checked_and_settings_round_trip() {
        assert_eq!(
            address("10.0.0.5", Some(PRINTER_PORT)),
            Ok("10.0.0.5:9100".into())
        );
        assert_eq!(address("127.0.0.1:7700", None), Ok("127.0.0.1:7700".into()));
        assert!(address("127.0.0.1", None).is_err());
        assert!(address("127.0.0.1:0", None).is_err());
        assert!(address("bad host:1", None).is_err());
        let settings = PaymentSettings {
            card_terminal: Some("127.0.0.1:7700".into()),
            printer: Some("127.0.0.1".into()),
            ..PaymentSettings::default()
        };
        assert_eq!(
            settings.printer_address().as_deref(),
            Some("127.0.0.1:9100")
        );
        let dir = tempfile::tempdir().expect("dir");
        let path = PaymentSettings::path_for(&dir.path().join("pass.db"));
        assert_eq!(PaymentSettings::load(&path), Ok(PaymentSettings::default()));
        settings.save(&path).expect("save");
        assert_eq!(PaymentSettings::load(&path), Ok(settings));
        assert!(PaymentSettings::parse("card_attempts = 0").is_err());
        assert!(PaymentSettings::parse("typo = 1").is_err());
    }
}
