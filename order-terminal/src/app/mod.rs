//! The Bevy app: the window, egui, the device, and one system per frame that draws the current
//! screen from the terminal's view and applies what was tapped.

pub mod bench;
mod cli;
mod screens;

use std::path::PathBuf;
use std::time::Duration;

use bevy::prelude::*;
use bevy::winit::{UpdateMode, WinitSettings};
use bevy_egui::EguiPlugin;
use pass_shared::device::DeviceHandle;
use pass_shared::terminal::Intent;

pub use cli::Cli;

use crate::TITLE;

/// Start-up configuration of one order terminal, validated once by [`Cli`].
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Render a few frames, save a PNG of the window here, then exit.
    pub screenshot: Option<PathBuf>,
    /// The window's size in pixels.
    pub window: (u32, u32),
    /// Intents carried out at start, before the first frame (`--intents FILE`).
    pub intents: Vec<Intent>,
    /// The payment screens to open on the check shown at start (`--show-payment`,
    /// `--show-receipt`).
    pub payment_start: Option<PaymentStart>,
    /// The manager's reports to open at start on this tab (`--show-reports`), once a manager
    /// or owner is signed in.
    pub reports_start: Option<ReportsStart>,
}

/// The payment screens to open at start on the check the terminal shows (for demos and
/// screenshots: which screen is up is the screens' state, not the terminal's, so no terminal
/// intent reaches it).
#[derive(Resource, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStart {
    /// The payment screen.
    Pay,
    /// The receipt preview of this copy.
    Receipt(pass_shared::event::ReceiptCopy),
}

/// The manager's reports to open at start, on this tab, as soon as a manager or owner is signed
/// in (for demos and screenshots, like [`PaymentStart`]: which screen is up is the screens'
/// state, not the terminal's).
#[derive(Resource, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportsStart(pub crate::ui::ReportTab);

/// The whole order terminal app: Bevy's default plugins, egui, the window, and the screens over
/// the running device.
pub struct AppPlugin {
    config: Config,
    device: DeviceHandle,
}

impl AppPlugin {
    pub fn new(config: Config, device: DeviceHandle) -> Self {
        Self { config, device }
    }
}

impl Plugin for AppPlugin {
    fn build(&self, app: &mut App) {
        let Config {
            screenshot,
            window,
            intents: _,
            payment_start,
            reports_start,
        } = &self.config;
        let measured = app.world().contains_resource::<bench::Bench>();
        app.add_plugins((
            DefaultPlugins.set(WindowPlugin {
                primary_window: Some(Window {
                    title: format!("{TITLE} {}", self.device_name()),
                    resolution: bevy::window::WindowResolution::new(window.0, window.1)
                        .with_scale_factor_override(1.0),
                    ..default()
                }),
                ..default()
            }),
            EguiPlugin::default(),
        ))
        // Redraw on a touch, and four times a second for the link, the kitchen's "received"
        // marks and the tables' timers; never continuously.
        .insert_resource(if screenshot.is_some() || measured {
            WinitSettings::game()
        } else {
            WinitSettings {
                focused_mode: UpdateMode::reactive(Duration::from_millis(250)),
                unfocused_mode: UpdateMode::reactive(Duration::from_millis(250)),
            }
        })
        .insert_resource(screens::Device(self.device.clone()));
        if let Some(start) = payment_start {
            app.insert_resource(*start);
        }
        if let Some(start) = reports_start {
            app.insert_resource(*start);
        }
        if let Some(path) = screenshot {
            app.insert_resource(pass_shared::app::screenshot::ScreenshotRequest::new(
                path.clone(),
            ));
        }
        if measured {
            app.add_plugins(bench::plugin);
        }
        app.add_plugins((screens::plugin, pass_shared::app::screenshot::plugin));
    }
}

impl AppPlugin {
    fn device_name(&self) -> String {
        pass_shared::terminal::TerminalHost::device_id(&self.device)
    }
}

/// Carries out `intents` on the device's terminal in order; the first refusal is the error.
pub fn apply_intents(device: &DeviceHandle, intents: &[Intent]) -> Result<(), String> {
    for intent in intents {
        let shown = format!("{intent:?}");
        device
            .with_terminal(|t, h| t.apply(h, intent.clone()))
            .ok_or_else(|| "this device is not an order terminal".to_owned())?
            .map_err(|e| format!("{shown}: {e}"))?;
    }
    Ok(())
}

/// Runs this device without a window until it is stopped; the exit code says how it ended.
pub fn run_headless(args: pass_shared::device::DeviceArgs) -> AppExit {
    pass_shared::app::run_headless(
        "order-terminal",
        pass_shared::event::DeviceRole::OrderTerminal,
        args,
    )
}
