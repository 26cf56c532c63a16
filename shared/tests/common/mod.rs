//! Helpers shared by the journal's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use pass_shared::clock::ManualClock;
use pass_shared::event::{DeviceRetired, DeviceRole, Event, NewEvent};
use pass_shared::journal::{Envelope, Journal, JournalOptions};
use serde_json::value::RawValue;

pub const T0: i64 = 1_790_000_000_000;

pub fn options(name: &str) -> JournalOptions {
    JournalOptions::new(
        Arc::new(ManualClock::starting_at(T0)),
        DeviceRole::OrderTerminal,
        name,
    )
}

pub fn device(dir: &Path, name: &str) -> Journal {
    Journal::open(db_path(dir, name), options(name)).expect("open journal")
}

pub fn db_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.db"))
}

/// A small real event (the content does not matter to the journal).
pub fn note(n: u64) -> Event {
    Event::DeviceRetired(DeviceRetired {
        origin: format!("{n:016x}"),
        reason: format!("test event {n}"),
    })
}

pub fn raw(kind: &str, payload: &str) -> NewEvent {
    NewEvent {
        kind: kind.into(),
        payload: RawValue::from_string(payload.into()).expect("raw json"),
    }
}

pub fn bytes(envs: &[Envelope]) -> Vec<Vec<u8>> {
    envs.iter().map(|e| e.to_json().into_bytes()).collect()
}

/// Copies every event `from` holds into `to`.
pub fn sync(from: &Journal, to: &Journal) {
    let all = from.all_events().expect("read");
    to.apply(bytes(&all)).expect("apply");
}

/// The journal's contents as comparable text: (origin, seq, hash) of every event.
pub fn contents(j: &Journal) -> Vec<String> {
    let mut out: Vec<String> = j
        .all_events()
        .expect("read")
        .iter()
        .map(|e| {
            let h = e.header().expect("header");
            format!("{} {} {}", h.origin, h.seq, hex::encode(e.hash()))
        })
        .collect();
    out.sort();
    out
}
