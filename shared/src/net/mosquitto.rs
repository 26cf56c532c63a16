//! Access rules for a store's Mosquitto (`broker-config/`): the ACL entry of each broker user.
//!
//! The embedded broker has no per-topic ACL (anyone with the store's password may publish
//! anywhere; event signatures keep them from writing in another device's name). On a store's
//! Mosquitto, every device is a broker user of its own, named by its device id, and its entry
//! lets it read everything of its store and write only the topics that name itself, as
//! [`v1::publish_patterns`] lists them. An integration (an online-ordering or delivery system) is
//! the user `integration-<name>`, and `<name>` is its source id in the store's inbox: it writes
//! its orders on `inbox/orders/<name>` and reads its answers on `inbox/replies/<name>`, nothing
//! else, so no integration sees another's orders or answers (see [`v1::inbox`]).
//!
//! A device's events topic names its journal origin exactly (`ev/9f2c0a11b3d4e5f6`), not
//! `ev/+`. Signatures already keep a device from forging another's events, so this is a second
//! lock, and a cheap one: a journal copied onto another device, or a device whose entry is out
//! of date after a reinstall, has its live events refused by the broker and counted in its
//! status (`refused_publishes`) instead of flooding peers with a fork. Nothing is lost meanwhile:
//! its events still reach the others as answers to their pulls, which travel on the device's own
//! `sync/…/<device>` topic. The price is one step when a device gets a new journal: add it again
//! with the new origin (`pass journal init` and `pass ctl … status` print it).
//!
//! Entries are printed by `pass mosquitto device-acl | integration-acl` and assembled into the
//! broker's `acl_file` by `broker-config/broker-user.sh`.

use std::fmt;

use crate::journal::Origin;
use crate::net::protocol::v1::inbox::{InboxTopic, SourceId, ingest_publish_patterns};
use crate::net::protocol::v1::{self, DeviceId, StoreId};

/// Every topic of a store (`pass/v1/<store>/#`): what a device reads.
pub fn store_topics(store: &StoreId) -> String {
    format!("pass/v{}/{store}/#", v1::VERSION)
}

/// The name of an integration: its source id in the store's inbox, 1 to 32 characters of `a-z`,
/// `0-9` and `-`. Its broker user is `integration-<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationName(SourceId);

/// Why a name or id given for an ACL entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a valid integration name (1 to 32 characters of a-z, 0-9 and -)")]
pub struct BadIntegrationName(String);

impl TryFrom<String> for IntegrationName {
    type Error = BadIntegrationName;
    fn try_from(s: String) -> Result<IntegrationName, BadIntegrationName> {
        SourceId::try_from(s.clone())
            .map(IntegrationName)
            .map_err(|_| BadIntegrationName(s))
    }
}

impl std::str::FromStr for IntegrationName {
    type Err = BadIntegrationName;
    fn from_str(s: &str) -> Result<IntegrationName, BadIntegrationName> {
        IntegrationName::try_from(s.to_owned())
    }
}

impl IntegrationName {
    /// The broker user of this integration.
    pub fn user(&self) -> String {
        format!("integration-{}", self.0)
    }

    /// The integration's source id in the store's inbox.
    pub fn source(&self) -> &SourceId {
        &self.0
    }
}

/// One user's block of a Mosquitto `acl_file`: the user line, then what it may read and write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclEntry {
    user: String,
    about: String,
    read: Vec<String>,
    write: Vec<String>,
}

impl AclEntry {
    /// A device's entry: user = its device id; reads every topic of its store; writes its own
    /// topics, its events under `origin` only. `answers_inbox` adds every integration's reply
    /// topic, for the one device that ingests integrations' orders.
    pub fn device(
        store: &StoreId,
        device: &DeviceId,
        origin: &Origin,
        answers_inbox: bool,
    ) -> AclEntry {
        let mut write = v1::publish_patterns(store, device, origin);
        if answers_inbox {
            write.extend(ingest_publish_patterns(store));
        }
        AclEntry {
            user: device.to_string(),
            about: format!(
                "device {device} of store {store}, journal origin {}{}",
                origin.as_str(),
                if answers_inbox {
                    ", answers the integration inbox"
                } else {
                    ""
                }
            ),
            read: vec![store_topics(store)],
            write,
        }
    }

    /// An integration's entry: user `integration-<name>`; writes its orders to the store's inbox
    /// and reads its answers, under its own name.
    pub fn integration(store: &StoreId, name: &IntegrationName) -> AclEntry {
        let source = name.source().clone();
        AclEntry {
            user: name.user(),
            about: format!("integration {} of store {store}", name.0),
            read: vec![
                InboxTopic::Replies {
                    source: source.clone(),
                }
                .path(store),
            ],
            write: vec![InboxTopic::Orders { source }.path(store)],
        }
    }

    /// The broker user this entry is for.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The topics (with wildcards) the user may read.
    pub fn read(&self) -> &[String] {
        &self.read
    }

    /// The topics (with wildcards) the user may write.
    pub fn write(&self) -> &[String] {
        &self.write
    }

    /// Whether the entry lets its user publish on `topic` (a topic name, no wildcards).
    pub fn may_write(&self, topic: &str) -> bool {
        self.write.iter().any(|p| matches(p, topic))
    }

    /// Whether the entry lets its user receive messages published on `topic`.
    pub fn may_read(&self, topic: &str) -> bool {
        self.read.iter().any(|p| matches(p, topic))
    }
}

/// The block as Mosquitto's `acl_file` reads it: a comment, `user`, then `topic read|write`.
impl fmt::Display for AclEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "# {}", self.about)?;
        writeln!(f, "user {}", self.user)?;
        for topic in &self.read {
            writeln!(f, "topic read {topic}")?;
        }
        for topic in &self.write {
            writeln!(f, "topic write {topic}")?;
        }
        Ok(())
    }
}

/// MQTT topic matching: `+` matches one level, a final `#` any number of levels (none included).
fn matches(pattern: &str, topic: &str) -> bool {
    let mut levels = topic.split('/');
    for p in pattern.split('/') {
        if p == "#" {
            return true;
        }
        match levels.next() {
            Some(level) if p == "+" || p == level => {}
            _ => return false,
        }
    }
    levels.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> StoreId {
        StoreId::try_from("corner-bistro".to_owned()).expect("store")
    }
    fn dev(s: &str) -> DeviceId {
        DeviceId::try_from(s.to_owned()).expect("device")
    }
    fn origin(s: &str) -> Origin {
        Origin::try_from(s.to_owned()).expect("origin")
    }

    #[test]
    fn a_device_entry_is_its_publish_patterns_and_a_read_of_its_store() {
        let entry = AclEntry::device(&store(), &dev("grill"), &origin("9f2c0a11b3d4e5f6"), false);
        assert_eq!(
            entry.to_string(),
            "# device grill of store corner-bistro, journal origin 9f2c0a11b3d4e5f6\n\
             user grill\n\
             topic read pass/v1/corner-bistro/#\n\
             topic write pass/v1/corner-bistro/ev/9f2c0a11b3d4e5f6\n\
             topic write pass/v1/corner-bistro/have/grill\n\
             topic write pass/v1/corner-bistro/pull/grill\n\
             topic write pass/v1/corner-bistro/sync/+/grill\n\
             topic write pass/v1/corner-bistro/hb/grill\n\
             topic write pass/v1/corner-bistro/gone/grill\n"
        );
        assert_eq!(
            entry.write(),
            v1::publish_patterns(&store(), &dev("grill"), &origin("9f2c0a11b3d4e5f6"))
        );
    }

    #[test]
    fn a_device_writes_its_own_topics_only_and_reads_all_of_its_store() {
        let grill = AclEntry::device(&store(), &dev("grill"), &origin("00000000000000aa"), false);
        let p = "pass/v1/corner-bistro";
        for (topic, allowed) in [
            (format!("{p}/ev/00000000000000aa"), true),
            (format!("{p}/have/grill"), true),
            (format!("{p}/pull/grill"), true),
            (format!("{p}/sync/expo/grill"), true),
            (format!("{p}/hb/grill"), true),
            (format!("{p}/gone/grill"), true),
            (format!("{p}/ev/00000000000000bb"), false),
            (format!("{p}/have/expo"), false),
            (format!("{p}/pull/expo"), false),
            (format!("{p}/sync/grill/expo"), false),
            (format!("{p}/hb/grill-2"), false),
            (format!("{p}/inbox/replies/web-shop"), false),
            (format!("{p}/inbox/orders/web-shop"), false),
            ("pass/v1/other/hb/grill".to_owned(), false),
        ] {
            assert_eq!(grill.may_write(&topic), allowed, "{topic}");
        }
        assert!(grill.may_read(&format!("{p}/ev/00000000000000bb")));
        assert!(grill.may_read(&format!("{p}/inbox/orders/web-shop")));
        assert!(!grill.may_read("pass/v1/other/ev/00000000000000bb"));
    }

    #[test]
    fn only_the_device_that_answers_the_inbox_may_write_replies() {
        let expo = AclEntry::device(&store(), &dev("expo"), &origin("00000000000000cc"), true);
        assert!(expo.may_write("pass/v1/corner-bistro/inbox/replies/web-shop"));
        assert!(!expo.may_write("pass/v1/corner-bistro/inbox/orders/web-shop"));
        assert!(expo.to_string().contains("answers the integration inbox"));
    }

    #[test]
    fn an_integration_writes_orders_and_reads_replies_only() {
        let name: IntegrationName = "web-shop".parse().expect("name");
        let entry = AclEntry::integration(&store(), &name);
        assert_eq!(entry.user(), "integration-web-shop");
        assert_eq!(
            entry.to_string(),
            "# integration web-shop of store corner-bistro\n\
             user integration-web-shop\n\
             topic read pass/v1/corner-bistro/inbox/replies/web-shop\n\
             topic write pass/v1/corner-bistro/inbox/orders/web-shop\n"
        );
        assert!(entry.may_write("pass/v1/corner-bistro/inbox/orders/web-shop"));
        assert!(!entry.may_write("pass/v1/corner-bistro/inbox/orders/other-shop"));
        assert!(!entry.may_write("pass/v1/corner-bistro/ev/00000000000000aa"));
        assert!(entry.may_read("pass/v1/corner-bistro/inbox/replies/web-shop"));
        assert!(!entry.may_read("pass/v1/corner-bistro/inbox/replies/other-shop"));
        assert!(!entry.may_read("pass/v1/corner-bistro/ev/00000000000000aa"));
    }

    #[test]
    fn integration_names_are_checked() {
        for bad in [
            "",
            "Web Shop",
            "web/shop",
            "#",
            "a".repeat(33).as_str(),
            "shop\nuser x",
        ] {
            assert!(bad.parse::<IntegrationName>().is_err(), "{bad:?}");
        }
        assert!("a".repeat(32).parse::<IntegrationName>().is_ok());
    }

    #[test]
    fn topic_matching_follows_mqtt() {
        for (pattern, topic, expected) in [
            ("a/#", "a", true),
            ("a/#", "a/b/c", true),
            ("a/+", "a/b", true),
            ("a/+", "a/b/c", false),
            ("a/+/c", "a/b/c", true),
            ("a/b", "a/b/c", false),
            ("a/b/c", "a/b", false),
        ] {
            assert_eq!(matches(pattern, topic), expected, "{pattern} {topic}");
        }
    }
}
