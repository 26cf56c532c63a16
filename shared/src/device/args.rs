//! The command-line options every device takes (`pass device run`, `kds --headless`,
//! `order-terminal --headless`), parsed and validated once.

use std::path::PathBuf;

use crate::event::DeviceRole;
use crate::net::protocol::v1::{DeviceId, StoreId};

use super::{Credentials, DeviceConfig, parse_broker_url};

/// How to run a device.
#[derive(Debug, Clone, clap::Args)]
pub struct DeviceArgs {
    /// The device's database (created on first start).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// The store this device belongs to (lowercase letters, digits and -).
    #[arg(long, default_value = "demo")]
    pub store: String,
    /// This device's id in the store (lowercase letters, digits and -).
    #[arg(long)]
    pub device: Option<String>,
    /// A name people recognise (defaults to the device id).
    #[arg(long)]
    pub name: Option<String>,
    /// The broker, as mqtt://host:port.
    #[arg(long)]
    pub broker: Option<String>,
    /// The user name this device gives the broker (a store's Mosquitto or the embedded broker).
    #[arg(long, requires = "mqtt_password_file")]
    pub mqtt_user: Option<String>,
    /// A file holding the broker password on its first line (never on the command line, where
    /// other users of the machine could read it).
    #[arg(long, requires = "mqtt_user")]
    pub mqtt_password_file: Option<PathBuf>,
    /// Where to put the control socket (defaults to the database path with `.sock`).
    #[arg(long)]
    pub control: Option<PathBuf>,
    /// A kitchen screen's station (for example grill, fry, expo); kept in its settings file, so
    /// later starts may leave it out.
    #[arg(long)]
    pub station: Option<String>,
    /// Run on a controlled clock starting at this instant (ms since the epoch), set and
    /// advanced with `pass ctl … clock`: tests and the demo only.
    #[arg(long)]
    pub manual_clock: Option<i64>,
    /// Ingest the store's integration inbox: take orders from online-ordering and delivery
    /// systems and answer them. Exactly one device of a store does.
    #[arg(long)]
    pub inbox: bool,
}

impl DeviceArgs {
    /// Checks the options for a device of `role`; the error names the option.
    pub fn into_config(self, role: DeviceRole) -> Result<DeviceConfig, String> {
        let db = self.db.ok_or("--db is required to run a device")?;
        let device = self.device.ok_or("--device is required to run a device")?;
        let broker = self
            .broker
            .ok_or("--broker mqtt://host:port is required (discovery comes later)")?;
        let control = self.control.unwrap_or_else(|| db.with_extension("sock"));
        let credentials = match (self.mqtt_user, self.mqtt_password_file) {
            (Some(user), Some(file)) => Some(read_credentials(user, &file)?),
            (None, None) => None,
            _ => return Err("--mqtt-user and --mqtt-password-file go together".to_owned()),
        };
        Ok(DeviceConfig {
            credentials,
            db,
            store: StoreId::try_from(self.store).map_err(|e| format!("--store: {e}"))?,
            name: self.name.unwrap_or_else(|| device.clone()),
            device: DeviceId::try_from(device).map_err(|e| format!("--device: {e}"))?,
            role,
            broker: parse_broker_url(&broker).map_err(|e| format!("--broker: {e}"))?,
            control,
            manual_clock_ms: self.manual_clock,
            station: self.station,
            inbox: self.inbox,
        })
    }
}

/// Checks a broker user name and reads its password from `file` (first line, surrounding
/// whitespace dropped).
fn read_credentials(user: String, file: &std::path::Path) -> Result<Credentials, String> {
    if user.is_empty() || user.len() > 64 || !user.chars().all(|c| c.is_ascii_graphic()) {
        return Err("--mqtt-user: 1 to 64 printable characters without spaces".to_owned());
    }
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("--mqtt-password-file {}: {e}", file.display()))?;
    let password = text.lines().next().unwrap_or("").trim().to_owned();
    if password.is_empty() {
        return Err(format!(
            "--mqtt-password-file {}: the first line is empty",
            file.display()
        ));
    }
    Ok(Credentials { user, password })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(
        db: Option<&str>,
        device: Option<&str>,
        broker: Option<&str>,
        store: &str,
    ) -> DeviceArgs {
        DeviceArgs {
            db: db.map(PathBuf::from),
            store: store.into(),
            device: device.map(str::to_owned),
            name: None,
            broker: broker.map(str::to_owned),
            mqtt_user: None,
            mqtt_password_file: None,
            control: None,
            manual_clock: None,
            station: None,
            inbox: false,
        }
    }

    #[test]
    fn options_are_checked_once_and_errors_name_the_option() {
        let ok = args(
            Some("/tmp/grill.db"),
            Some("grill"),
            Some("mqtt://127.0.0.1:1883"),
            "demo",
        )
        .into_config(DeviceRole::KitchenScreen)
        .expect("valid");
        assert_eq!(ok.control, PathBuf::from("/tmp/grill.sock"));
        assert_eq!(ok.broker, ("127.0.0.1".to_owned(), 1883));
        assert_eq!(ok.name, "grill");
        for (bad, option) in [
            (
                args(None, Some("grill"), Some("mqtt://127.0.0.1:1883"), "demo"),
                "--db",
            ),
            (
                args(
                    Some("/tmp/x.db"),
                    Some("Grill!"),
                    Some("mqtt://127.0.0.1:1883"),
                    "demo",
                ),
                "--device",
            ),
            (
                args(
                    Some("/tmp/x.db"),
                    Some("grill"),
                    Some("http://127.0.0.1:1883"),
                    "demo",
                ),
                "--broker",
            ),
            (
                args(
                    Some("/tmp/x.db"),
                    Some("grill"),
                    Some("mqtt://127.0.0.1:0"),
                    "demo",
                ),
                "--broker",
            ),
            (
                args(
                    Some("/tmp/x.db"),
                    Some("grill"),
                    Some("mqtt://127.0.0.1:1883"),
                    "My Store",
                ),
                "--store",
            ),
        ] {
            let err = bad
                .into_config(DeviceRole::KitchenScreen)
                .expect_err(option);
            assert!(err.starts_with(option), "{option}: {err}");
        }
    }

    #[test]
    fn broker_password_comes_from_a_file_and_never_shows_in_debug_output() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("grill.pw");
        std::fs::write(&file, "s3cret-pw\nignored\n").expect("write");
        let mut ok = args(
            Some("/tmp/g.db"),
            Some("grill"),
            Some("mqtt://127.0.0.1:1883"),
            "demo",
        );
        ok.mqtt_user = Some("grill".into());
        ok.mqtt_password_file = Some(file.clone());
        let config = ok.into_config(DeviceRole::KitchenScreen).expect("valid");
        let credentials = config.credentials.expect("credentials");
        assert_eq!(
            (credentials.user.as_str(), credentials.password.as_str()),
            ("grill", "s3cret-pw")
        );
        assert!(!format!("{credentials:?}").contains("s3cret"));

        std::fs::write(&file, "\n").expect("write");
        let mut empty = args(
            Some("/tmp/g.db"),
            Some("grill"),
            Some("mqtt://127.0.0.1:1883"),
            "demo",
        );
        empty.mqtt_user = Some("grill".into());
        empty.mqtt_password_file = Some(file);
        let err = empty
            .into_config(DeviceRole::KitchenScreen)
            .expect_err("empty password");
        assert!(err.starts_with("--mqtt-password-file"), "{err}");
    }
}
