//! The command-line options every device takes (`pass device run`, `kds --headless`,
//! `order-terminal --headless`), parsed and validated once, together with the device's
//! configuration file beside its database ([`super::files::DeviceFile`]): an option given on
//! the command line wins over the file, the file over the defaults.

use std::path::PathBuf;

use crate::event::DeviceRole;
use crate::net::discovery::MdnsScope;
use crate::net::protocol::v1::{DeviceId, StoreId};

use super::files::DeviceFile;
use super::{BrokerSetting, Credentials, DeviceConfig, parse_broker_url};

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
    /// The broker, as mqtt://host:port: no discovery (default: the configuration file's
    /// `broker`, else found by mDNS).
    #[arg(long)]
    pub broker: Option<String>,
    /// Which interfaces mDNS uses to advertise this device and find the broker: off, loopback
    /// (tests, CI, the demo), lan (a store) or an interface name (default: the configuration
    /// file's `mdns`, else loopback).
    #[arg(long, value_name = "off|loopback|lan|IFACE")]
    pub mdns: Option<String>,
    /// Whether this device may host the embedded broker when no broker answers (default: the
    /// configuration file's `host_broker`, else on for kitchen screens, off for the others).
    #[arg(long, value_name = "on|off", value_parser = on_off, action = clap::ArgAction::Set)]
    pub host_broker: Option<bool>,
    /// A fixed port for the embedded broker this device hosts (default: 1883 with --mdns lan, a
    /// free one otherwise).
    #[arg(long)]
    pub broker_port: Option<u16>,
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

/// `on` or `off`.
fn on_off(text: &str) -> Result<bool, String> {
    match text {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err("on or off".to_owned()),
    }
}

impl DeviceArgs {
    /// Checks the options for a device of `role`, with the configuration file beside the
    /// database; the error names the option or the file.
    pub fn into_config(self, role: DeviceRole) -> Result<DeviceConfig, String> {
        let db = self.db.ok_or("--db is required to run a device")?;
        let device = self.device.ok_or("--device is required to run a device")?;
        let file = DeviceFile::load(&DeviceFile::path_for(&db)).map_err(|e| e.to_string())?;
        let broker = match self.broker {
            Some(url) => {
                let (host, port) = parse_broker_url(&url).map_err(|e| format!("--broker: {e}"))?;
                BrokerSetting::Configured { host, port }
            }
            None => match &file.broker {
                // Checked when the file was read.
                Some(url) => {
                    let (host, port) = parse_broker_url(url)?;
                    BrokerSetting::Configured { host, port }
                }
                None => BrokerSetting::Discover,
            },
        };
        let mdns = match self.mdns {
            Some(text) => text
                .parse::<MdnsScope>()
                .map_err(|e| format!("--mdns: {e}"))?,
            None => file.mdns.clone().unwrap_or_default(),
        };
        if broker == BrokerSetting::Discover && mdns == MdnsScope::Off {
            return Err(
                "--mdns off: nothing can find the broker; give --broker mqtt://host:port"
                    .to_owned(),
            );
        }
        if self.broker_port == Some(0) {
            return Err("--broker-port: give a port from 1 to 65535".to_owned());
        }
        let host_broker = self
            .host_broker
            .or(file.host_broker)
            .unwrap_or(role == DeviceRole::KitchenScreen);
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
            broker,
            control,
            manual_clock_ms: self.manual_clock,
            mdns,
            station: self.station,
            host_broker,
            broker_port: self.broker_port,
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
            mdns: None,
            host_broker: None,
            broker_port: None,
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
        assert_eq!(
            ok.broker,
            BrokerSetting::Configured {
                host: "127.0.0.1".to_owned(),
                port: 1883
            }
        );
        assert_eq!(ok.mdns, MdnsScope::Loopback, "never the LAN unless asked");
        assert!(ok.host_broker, "kitchen screens may host by default");
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

    #[test]
    fn without_a_broker_the_device_discovers_one_and_the_file_fills_in_what_options_omit() {
        let dir = tempfile::tempdir().expect("tmp");
        let db = dir.path().join("t1.db");
        let db_text = db.display().to_string();
        let config = args(Some(&db_text), Some("t1"), None, "demo")
            .into_config(DeviceRole::OrderTerminal)
            .expect("valid");
        assert_eq!(config.broker, BrokerSetting::Discover);
        assert_eq!(config.mdns, MdnsScope::Loopback);
        assert!(!config.host_broker, "a terminal does not host by default");

        DeviceFile {
            broker: Some("mqtt://10.0.0.5:1883".into()),
            mdns: Some(MdnsScope::Lan),
            host_broker: Some(true),
        }
        .save(&DeviceFile::path_for(&db))
        .expect("save");
        let config = args(Some(&db_text), Some("t1"), None, "demo")
            .into_config(DeviceRole::OrderTerminal)
            .expect("valid");
        assert_eq!(
            config.broker,
            BrokerSetting::Configured {
                host: "10.0.0.5".into(),
                port: 1883
            }
        );
        assert_eq!(config.mdns, MdnsScope::Lan);
        assert!(config.host_broker);

        // Options win over the file.
        let mut given = args(
            Some(&db_text),
            Some("t1"),
            Some("mqtt://127.0.0.1:18830"),
            "demo",
        );
        given.mdns = Some("off".into());
        given.host_broker = Some(false);
        let config = given.into_config(DeviceRole::OrderTerminal).expect("valid");
        assert_eq!(
            config.broker,
            BrokerSetting::Configured {
                host: "127.0.0.1".into(),
                port: 18830
            }
        );
        assert_eq!(config.mdns, MdnsScope::Off);
        assert!(!config.host_broker);

        // A file that does not read stops the device, naming the file.
        std::fs::write(DeviceFile::path_for(&db), "mdns = 3\n").expect("write");
        let err = args(Some(&db_text), Some("t1"), None, "demo")
            .into_config(DeviceRole::OrderTerminal)
            .expect_err("bad file");
        assert!(err.contains("t1.device.toml"), "{err}");
    }

    #[test]
    fn nothing_to_find_the_broker_with_is_refused() {
        let mut off = args(Some("/tmp/x.db"), Some("grill"), None, "demo");
        off.mdns = Some("off".into());
        let err = off.into_config(DeviceRole::KitchenScreen).expect_err("off");
        assert!(err.starts_with("--mdns off"), "{err}");
        let mut bad = args(Some("/tmp/x.db"), Some("grill"), None, "demo");
        bad.mdns = Some("every interface".into());
        let err = bad.into_config(DeviceRole::KitchenScreen).expect_err("bad");
        assert!(err.starts_with("--mdns"), "{err}");
        let mut port = args(Some("/tmp/x.db"), Some("grill"), None, "demo");
        port.broker_port = Some(0);
        assert!(port.into_config(DeviceRole::KitchenScreen).is_err());
        assert_eq!(on_off("on"), Ok(true));
        assert_eq!(on_off("off"), Ok(false));
        assert!(on_off("yes").is_err());
    }
}
