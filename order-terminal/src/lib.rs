//! Pass order terminal: the front-of-house touch screen where staff take orders.
//!
//! The screens ([`ui`]) are plain egui functions over the terminal's view model
//! (`pass_shared::terminal`), tested without a window or GPU
//! (`cargo test -p order-terminal --no-default-features`). With the `app` feature (on by
//! default) the crate is also the Bevy app that runs the device, draws those screens each frame
//! and applies every tap to the terminal.

pub mod ui;

#[cfg(feature = "app")]
mod app;

#[cfg(feature = "app")]
pub use app::{
    AppPlugin, Cli, Config, PaymentStart, ReportsStart, apply_intents, bench, run_headless,
};
pub use ui::TITLE;
