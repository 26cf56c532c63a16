//! The restaurant's rules. Pure: no IO, no clock, no randomness, no SQLite, no network, no
//! renderer. Time and ids come in as arguments.

pub mod business_day;
pub mod check;
pub mod hlc;
mod id;
pub mod inventory;
pub mod menu;
pub mod money;
pub mod order;
pub mod payment;
pub mod staff;
pub mod stats;
pub mod tax;
pub mod ticket;

pub use hlc::{Hlc, HlcStamp};
pub use money::{Money, MoneyError};
