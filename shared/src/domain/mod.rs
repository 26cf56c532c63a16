//! The restaurant's rules. Pure: no IO, no clock, no randomness, no SQLite, no network, no
//! renderer. Time and ids come in as arguments.

pub mod hlc;
pub mod money;

pub use hlc::{Hlc, HlcStamp};
pub use money::{Money, MoneyError};
