//! Pass kitchen display (KDS): the screen cooks work from.
//!
//! [`AppPlugin`] builds the whole app from small feature plugins; `main.rs` only parses the
//! command line, checks for a display and runs it. Screen content that needs no renderer lives in
//! plain modules ([`screen`]) so it can be tested without a window or GPU.

mod cli;
pub mod screen;
mod screens;

use std::path::PathBuf;

use bevy::prelude::*;

pub use cli::Cli;

/// Start-up configuration of one kitchen display, validated once by [`Cli`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The kitchen station this display serves, e.g. "grill" or "expo".
    pub station: String,
    /// Render a few frames, save a PNG of the window here, then exit.
    pub screenshot: Option<PathBuf>,
}

/// The kitchen station this display serves.
#[derive(Resource, Debug, Clone, PartialEq, Eq)]
pub struct Station(pub String);

/// The whole kitchen display app: Bevy's default plugins, the window, and every feature plugin.
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
        let Config {
            station,
            screenshot,
        } = &self.config;
        app.add_plugins(DefaultPlugins.set(WindowPlugin {
            primary_window: Some(Window {
                title: screen::window_title(station),
                ..default()
            }),
            ..default()
        }))
        .insert_resource(Station(station.clone()));
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
    pass_shared::app::run_headless("kds", pass_shared::event::DeviceRole::KitchenScreen, args)
}
