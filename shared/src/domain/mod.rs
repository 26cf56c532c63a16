//! The restaurant's rules. Pure: no IO, no clock, no randomness, no SQLite, no network, no
//! renderer. Time and ids come in as arguments.

pub mod hlc;
mod id;
pub mod menu;
pub mod money;
pub mod order;
pub mod tax;

pub use hlc::{Hlc, HlcStamp};
pub use money::{Money, MoneyError};
