//! Hybrid logical clock: orders events across devices without trusting any one wall clock.
//!
//! A stamp packs the physical milliseconds in the high 48 bits and a counter in the low 16.
//! A peer's stamp pulls the local clock forward only up to [`MAX_PULL_MS`] ahead of the local
//! wall clock: a device whose clock is set to next year cannot drag the whole store with it.

use serde::{Deserialize, Serialize};

/// How far ahead of the local wall clock a peer's stamp may pull this clock.
pub const MAX_PULL_MS: u64 = 60_000;

const COUNTER_BITS: u32 = 16;
const COUNTER_MASK: u64 = (1 << COUNTER_BITS) - 1;

/// One HLC reading, comparable across devices.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct HlcStamp(pub u64);

impl HlcStamp {
    pub fn new(physical_ms: u64, counter: u16) -> HlcStamp {
        HlcStamp((physical_ms << COUNTER_BITS) | u64::from(counter))
    }

    pub fn physical_ms(self) -> u64 {
        self.0 >> COUNTER_BITS
    }

    pub fn counter(self) -> u16 {
        // Masked to 16 bits, so the conversion is exact.
        (self.0 & COUNTER_MASK) as u16
    }
}

/// The clock state of one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Hlc {
    last: HlcStamp,
}

/// A peer's stamp that was too far ahead to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("peer clock is {ahead_ms} ms ahead of ours; not followed")]
pub struct ClockSkew {
    pub ahead_ms: u64,
}

impl Hlc {
    pub fn starting_at(last: HlcStamp) -> Hlc {
        Hlc { last }
    }

    pub fn last(&self) -> HlcStamp {
        self.last
    }

    /// A stamp for a local event at `wall_ms`; strictly greater than every stamp seen so far.
    pub fn tick(&mut self, wall_ms: u64) -> HlcStamp {
        let last_pt = self.last.physical_ms();
        self.last = if wall_ms > last_pt {
            HlcStamp::new(wall_ms, 0)
        } else if self.last.counter() == u16::MAX {
            // Counter exhausted within one millisecond: borrow the next millisecond.
            HlcStamp::new(last_pt + 1, 0)
        } else {
            HlcStamp::new(last_pt, self.last.counter() + 1)
        };
        self.last
    }

    /// Takes a peer's stamp into account, so later local stamps order after it.
    pub fn observe(&mut self, remote: HlcStamp, wall_ms: u64) -> Result<(), ClockSkew> {
        let limit = wall_ms.saturating_add(MAX_PULL_MS);
        if remote.physical_ms() > limit {
            return Err(ClockSkew {
                ahead_ms: remote.physical_ms() - wall_ms,
            });
        }
        if remote > self.last {
            self.last = remote;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_increase_even_when_the_wall_clock_stands_still_or_steps_back() {
        let mut clock = Hlc::default();
        let a = clock.tick(1_000);
        let b = clock.tick(1_000);
        let c = clock.tick(900);
        assert!(a < b && b < c);
        assert_eq!(c.physical_ms(), 1_000);
        assert_eq!(c.counter(), 2);
    }

    #[test]
    fn a_peer_ahead_pulls_the_clock_within_the_cap() {
        let mut clock = Hlc::default();
        clock
            .observe(HlcStamp::new(5_000, 3), 1_000)
            .expect("within cap");
        assert!(clock.tick(1_000) > HlcStamp::new(5_000, 3));
    }

    #[test]
    fn a_peer_too_far_ahead_is_not_followed() {
        let mut clock = Hlc::default();
        let far = HlcStamp::new(1_000 + MAX_PULL_MS + 1, 0);
        assert!(clock.observe(far, 1_000).is_err());
        assert_eq!(clock.tick(1_000).physical_ms(), 1_000);
    }
}
