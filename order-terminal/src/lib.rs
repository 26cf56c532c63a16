//! Pass order terminal: the front-of-house touch screen where staff take orders.
//!
//! [`AppPlugin`] builds the whole app from small feature plugins; `main.rs` only parses the
//! command line, checks for a display and runs it. Screens are plain egui functions
//! ([`sign_in`]) and the touch style is a plain function ([`touch`]), so both are tested without
//! a window or GPU; [`screens`] is the thin Bevy adapter that draws them.

mod cli;
mod screens;
pub mod sign_in;
pub mod touch;

use std::path::PathBuf;

use bevy::prelude::*;
use bevy_egui::EguiPlugin;

pub use cli::Cli;

/// Product and role, shown in the window title and as the screen heading.
pub const TITLE: &str = "Pass — Order terminal";

/// Start-up configuration of one order terminal, validated once by [`Cli`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Render a few frames, save a PNG of the window here, then exit.
    pub screenshot: Option<PathBuf>,
}

/// The whole order terminal app: Bevy's default plugins, egui, the window, and every feature
/// plugin.
pub struct AppPlugin {
    config: Config,
}

impl AppPlugin {
    pub fn new(config: Config) -> Self {
        Self { config }
    }
}

impl Plugin for AppPlugin {
    fn build(&self, app: &mut App) {
        let Config { screenshot } = &self.config;
        app.add_plugins((
            DefaultPlugins.set(WindowPlugin {
                primary_window: Some(Window {
                    title: TITLE.to_owned(),
                    ..default()
                }),
                ..default()
            }),
            EguiPlugin::default(),
        ));
        if let Some(path) = screenshot {
            app.insert_resource(pass_shared::app::screenshot::ScreenshotRequest::new(
                path.clone(),
            ));
        }
        app.add_plugins((screens::plugin, pass_shared::app::screenshot::plugin));
    }
}

/// Runs this device without a window until it is stopped; the exit code says how it ended.
pub fn run_headless(args: pass_shared::device::DeviceArgs) -> AppExit {
    pass_shared::app::run_headless(
        "order-terminal",
        pass_shared::event::DeviceRole::OrderTerminal,
        args,
    )
}
