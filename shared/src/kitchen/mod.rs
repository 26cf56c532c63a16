//! The kitchen screen's logic, with no renderer: what a station's screen shows and what its
//! buttons and bump-bar keys do. The `kds` app draws a [`board::Board`] and turns touches and
//! keys into [`actions::KitchenAction`]s; the device's control socket (`pass kitchen …`) runs the
//! same actions, so tests, the demo and integrators work a screen exactly as a cook does.
//!
//! - [`cards`] reads tickets from the projections as [`TicketCard`]s (open ones for a station,
//!   whole orders for expo, the recall list, all-day counts, the station's recent ticket times)
//!   and the items running low that the screen's stations cook (expo: all of them);
//! - [`board`] lays a station's cards out in columns and pages, with timer bands;
//! - [`actions`] checks an action against the domain's ticket rules and gives the event to write;
//! - [`keymap`] reads the bump bar's key map (TOML) and [`screen`] keeps what is selected;
//! - [`settings`] holds a screen's settings (station, thresholds, layout, sound).

pub mod actions;
pub mod board;
pub mod cards;
pub mod keymap;
pub mod sample;
pub mod screen;
pub mod settings;

pub use cards::{CardItem, CardModifier, TicketCard};

/// The station name of the expo screen: it sees whole orders, not one station's tickets.
pub const EXPO: &str = "expo";

/// Why a kitchen action or query was refused; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum KitchenError {
    #[error("no ticket {0} on this store's screens")]
    UnknownTicket(String),
    #[error("no order {0} at expo")]
    UnknownOrder(String),
    #[error(transparent)]
    Rule(#[from] crate::domain::ticket::TicketError),
    #[error("{0}")]
    Invalid(String),
    #[error("the screen's database: {0}")]
    Db(#[from] rusqlite::Error),
}
