//! Test support: a store set up with the sample menu and orders written as a terminal would.

use std::sync::atomic::{AtomicU64, Ordering};

use pass_shared::device::DeviceHandle;
use pass_shared::domain::order::OrderType;
use pass_shared::kitchen::sample::{self, LineSpec, Sample};

static NEXT: AtomicU64 = AtomicU64::new(1);

/// The sample menu and demo staff, written by the screen's own journal.
pub(crate) fn set_up_store(device: &DeviceHandle) {
    sample::publish_store(device.journal()).expect("store set up");
    device.note_journal_changed();
}

/// A dine-in order at `table` of `(item, modifiers)` lines, all in course 1, sent: its check.
pub(crate) fn order(device: &DeviceHandle, table: &str, lines: &[(&str, &[&str])]) -> String {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut sample = Sample::new(device.journal(), 'T', n).expect("sample");
    let specs: Vec<LineSpec> = lines
        .iter()
        .map(|(item, mods)| LineSpec::new(item, mods))
        .collect();
    let check = sample
        .order(OrderType::DineIn, Some(table), "sam", &specs, &[])
        .expect("order");
    device.note_journal_changed();
    check
}
