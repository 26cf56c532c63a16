//! The small files a device keeps beside its database (`<db>` is the database path):
//!
//! | file | what | who writes it |
//! |---|---|---|
//! | `<db stem>.device.toml` | the per-device network configuration ([`DeviceFile`]) | a person, or the terminal's settings screen through [`DeviceFile::save`] |
//! | `<db stem>.last-broker` | the last broker address that worked ([`remember_broker`]) | the device |
//! | `<db stem>.broker-password` | the store's broker password (0600, [`store_password`]) | the first device that hosts the embedded broker, or whoever installs the store |
//!
//! Everything read here is untrusted: a file that does not parse is refused whole with the
//! line and the reason, and the device does not start on a configuration it cannot read. The
//! remembered address is only a hint: one that does not parse is ignored.
//!
//! # `<db stem>.device.toml`
//!
//! How this device reaches its store: only what is truly per device (store-wide settings are
//! journal events; a kitchen screen's station, timers and layout are in its own settings file,
//! `<db stem>.kds.toml`). Every entry is optional, and a command-line option overrides it:
//!
//! ```toml
//! # The broker, when discovery cannot find it (a Wi-Fi that blocks multicast): overrides mDNS.
//! broker = "mqtt://10.0.0.5:1883"
//! # Which interfaces mDNS uses: "off", "loopback", "lan" or an interface name.
//! mdns = "lan"
//! # Whether this device may host the embedded broker (kitchen screens do by default).
//! host_broker = true
//! ```

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::parse_broker_url;
use crate::net::discovery::{MdnsScope, MqttVersion};
use crate::net::finder::Endpoint;

/// Largest configuration or password file read.
const MAX_FILE_BYTES: u64 = 64 * 1024;

/// Why a file beside the database could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> FileError + '_ {
    move |source| FileError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The per-device configuration file (see the module documentation). `Default` is an empty
/// file: nothing configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceFile {
    /// The broker, as `mqtt://host:port`; overrides discovery.
    pub broker: Option<String>,
    /// Which interfaces mDNS uses.
    pub mdns: Option<MdnsScope>,
    /// Whether this device may host the embedded broker.
    pub host_broker: Option<bool>,
}

/// The file as TOML has it, before checking.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeviceFile {
    broker: Option<String>,
    mdns: Option<String>,
    host_broker: Option<bool>,
}

impl DeviceFile {
    /// Where the file of the device whose database is `db` lives: `<db stem>.device.toml`.
    pub fn path_for(db: &Path) -> PathBuf {
        db.with_extension("device.toml")
    }

    /// Reads and checks the file at `path`; a missing file is an empty configuration.
    pub fn load(path: &Path) -> Result<DeviceFile, FileError> {
        let text = match read_limited(path) {
            Ok(text) => text,
            Err(FileError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Ok(DeviceFile::default());
            }
            Err(e) => return Err(e),
        };
        DeviceFile::parse(&text).map_err(|reason| FileError::Invalid {
            path: path.to_owned(),
            reason,
        })
    }

    /// Checks a configuration's text; the error names the line or the entry.
    pub fn parse(text: &str) -> Result<DeviceFile, String> {
        let raw: RawDeviceFile = toml::from_str(text).map_err(|e| e.to_string())?;
        if let Some(broker) = &raw.broker {
            parse_broker_url(broker).map_err(|e| format!("broker: {e}"))?;
        }
        let mdns = raw
            .mdns
            .map(|m| m.parse::<MdnsScope>())
            .transpose()
            .map_err(|e| format!("mdns: {e}"))?;
        Ok(DeviceFile {
            broker: raw.broker,
            mdns,
            host_broker: raw.host_broker,
        })
    }

    /// The configuration as TOML text, entries in a fixed order with a comment each.
    pub fn to_toml(&self) -> String {
        let mut text = String::from(
            "# Pass device configuration. Options given on the command line override it.\n",
        );
        if let Some(broker) = &self.broker {
            text.push_str("# The broker, when discovery cannot find it: overrides mDNS.\n");
            text.push_str(&format!("broker = {}\n", toml_string(broker)));
        }
        if let Some(mdns) = &self.mdns {
            text.push_str(
                "# Which interfaces mDNS uses: off, loopback, lan or an interface name.\n",
            );
            text.push_str(&format!("mdns = {}\n", toml_string(&mdns.to_string())));
        }
        if let Some(host) = self.host_broker {
            text.push_str("# Whether this device may host the embedded broker.\n");
            text.push_str(&format!("host_broker = {host}\n"));
        }
        text
    }

    /// Checks the configuration and writes it to `path` whole: a temporary file beside it,
    /// flushed to disk, then renamed over the old one, so a crash leaves the old file or the
    /// new one, never half of one. Refuses (and writes nothing) what [`DeviceFile::load`]
    /// would refuse.
    pub fn save(&self, path: &Path) -> Result<(), FileError> {
        let text = self.to_toml();
        DeviceFile::parse(&text).map_err(|reason| FileError::Invalid {
            path: path.to_owned(),
            reason,
        })?;
        write_whole(path, text.as_bytes(), 0o644)
    }
}

/// A TOML basic string: quotes, backslashes and control characters escaped.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Reads a small text file (at most 64 KiB).
fn read_limited(path: &Path) -> Result<String, FileError> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(io_error(path))?;
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(io_error(path))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(FileError::Invalid {
            path: path.to_owned(),
            reason: "larger than 64 KiB".to_owned(),
        });
    }
    Ok(text)
}

/// Writes `bytes` to `path` through a temporary file beside it (mode `mode`), fsynced, then
/// renamed over `path`.
fn write_whole(path: &Path, bytes: &[u8], mode: u32) -> Result<(), FileError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io_error(&tmp))?;
    // The mode given at creation is masked by the umask; say it again.
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(io_error(&tmp))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io_error(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_error(path))
}

/// Where the last broker that worked is remembered: `<db stem>.last-broker`.
pub fn last_broker_path(db: &Path) -> PathBuf {
    db.with_extension("last-broker")
}

/// The remembered broker, if there is one that reads: one line, `mqtt://host:port <version>`.
/// A missing or unreadable file is no memory (it is only a hint).
pub fn remembered_broker(db: &Path) -> Option<Endpoint> {
    let path = last_broker_path(db);
    let text = read_limited(&path).ok()?;
    let parsed = parse_remembered(text.trim());
    if parsed.is_none() {
        tracing::warn!(path = %path.display(), "ignoring a remembered broker address that does not read");
    }
    parsed
}

fn parse_remembered(line: &str) -> Option<Endpoint> {
    let (url, version) = line.split_once(' ')?;
    let (host, port) = parse_broker_url(url).ok()?;
    let mqtt: MqttVersion = version.parse().ok()?;
    Some(Endpoint { host, port, mqtt })
}

/// Remembers `endpoint` as the broker that worked.
pub fn remember_broker(db: &Path, endpoint: &Endpoint) -> Result<(), FileError> {
    let line = format!("{endpoint} {}\n", endpoint.mqtt);
    write_whole(&last_broker_path(db), line.as_bytes(), 0o644)
}

/// Where the store's broker password is kept: `<db stem>.broker-password`.
pub fn store_password_path(db: &Path) -> PathBuf {
    db.with_extension("broker-password")
}

/// The store's broker password, from the file beside the database (first line); `Ok(None)` if
/// there is no file.
pub fn store_password(db: &Path) -> Result<Option<String>, FileError> {
    let path = store_password_path(db);
    match std::fs::metadata(&path) {
        Ok(_) => read_password_file(&path).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(&path)(e)),
    }
}

/// A password file's first line, surrounding whitespace dropped. A file that others can read
/// is refused: it guards the store's broker.
pub fn read_password_file(path: &Path) -> Result<String, FileError> {
    let meta = std::fs::metadata(path).map_err(io_error(path))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(FileError::Invalid {
            path: path.to_owned(),
            reason: "readable by others: chmod 600 it".to_owned(),
        });
    }
    let text = read_limited(path)?;
    let password = text.lines().next().unwrap_or("").trim().to_owned();
    if password.is_empty() {
        return Err(FileError::Invalid {
            path: path.to_owned(),
            reason: "the first line is empty".to_owned(),
        });
    }
    Ok(password)
}

/// The store's broker password, generated (128 random bits, 32 hex digits) and kept beside
/// the database (0600) if there is none yet.
pub fn store_password_or_generate(db: &Path) -> Result<String, FileError> {
    if let Some(password) = store_password(db)? {
        return Ok(password);
    }
    let mut bytes = [0u8; 16];
    let path = store_password_path(db);
    getrandom::fill(&mut bytes).map_err(|e| FileError::Invalid {
        path: path.clone(),
        reason: format!("no randomness for a password: {e}"),
    })?;
    let password = hex::encode(bytes);
    write_whole(&path, format!("{password}\n").as_bytes(), 0o600)?;
    tracing::info!(path = %path.display(), "generated the store's broker password");
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_missing_file_is_an_empty_configuration_and_a_full_one_reads_back() {
        let dir = tempfile::tempdir().expect("tmp");
        let db = dir.path().join("grill.db");
        let path = DeviceFile::path_for(&db);
        assert_eq!(path, dir.path().join("grill.device.toml"));
        assert_eq!(
            DeviceFile::load(&path).expect("missing"),
            DeviceFile::default()
        );
        let config = DeviceFile {
            broker: Some("mqtt://10.0.0.5:1883".into()),
            mdns: Some(MdnsScope::Lan),
            host_broker: Some(false),
        };
        config.save(&path).expect("save");
        assert_eq!(DeviceFile::load(&path).expect("load"), config);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(
            text.contains("broker = \"mqtt://10.0.0.5:1883\"\n"),
            "{text}"
        );
        assert!(!PathBuf::from(format!("{}.tmp", path.display())).exists());
    }

    #[test]
    fn a_bad_configuration_is_refused_whole_naming_the_entry() {
        for (text, names) in [
            ("broker = \"http://x:1\"\n", "broker"),
            ("mdns = \"every-interface-please\"\n", "mdns"),
            ("station = \"grill\"\n", "station"),
            ("host_broker = \"yes\"\n", "host_broker"),
            ("printer = \"lp0\"\n", "printer"),
            ("broker = \n", "line 1"),
        ] {
            let err = DeviceFile::parse(text).expect_err(text);
            assert!(err.contains(names), "{text:?}: {err}");
        }
        // Saving what cannot be read back writes nothing.
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("x.device.toml");
        let bad = DeviceFile {
            broker: Some("not a url".into()),
            ..DeviceFile::default()
        };
        assert!(bad.save(&path).is_err());
        assert!(!path.exists());
    }

    #[test]
    fn the_remembered_broker_reads_back_and_a_garbled_one_is_no_memory() {
        let dir = tempfile::tempdir().expect("tmp");
        let db = dir.path().join("t1.db");
        assert_eq!(remembered_broker(&db), None);
        let endpoint = Endpoint {
            host: "10.0.0.5".into(),
            port: 1883,
            mqtt: MqttVersion::V311,
        };
        remember_broker(&db, &endpoint).expect("write");
        assert_eq!(remembered_broker(&db), Some(endpoint));
        std::fs::write(last_broker_path(&db), "mqtt://10.0.0.5 5\n").expect("write");
        assert_eq!(remembered_broker(&db), None);
    }

    #[test]
    fn the_store_password_is_generated_once_kept_private_and_refused_if_readable() {
        let dir = tempfile::tempdir().expect("tmp");
        let db = dir.path().join("grill.db");
        assert_eq!(store_password(&db).expect("none"), None);
        let first = store_password_or_generate(&db).expect("generate");
        assert_eq!(first.len(), 32);
        let path = store_password_path(&db);
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(store_password_or_generate(&db).expect("again"), first);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = store_password(&db).expect_err("readable by others");
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }

    proptest! {
        #[test]
        fn any_valid_configuration_survives_a_save_and_a_load(
            port in 1u16..,
            host_broker in proptest::option::of(any::<bool>()),
            mdns in proptest::option::of(prop_oneof![
                Just(MdnsScope::Off), Just(MdnsScope::Loopback), Just(MdnsScope::Lan),
                "[a-z][a-z0-9]{0,7}".prop_map(MdnsScope::Interface),
            ]),
        ) {
            let mdns = mdns.filter(|m| !matches!(m, MdnsScope::Interface(n) if ["off", "loopback", "lan"].contains(&n.as_str())));
            let config = DeviceFile {
                broker: Some(format!("mqtt://10.1.2.3:{port}")),
                mdns,
                host_broker,
            };
            prop_assert_eq!(DeviceFile::parse(&config.to_toml()), Ok(config));
        }
    }
}
