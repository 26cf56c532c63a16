//! Pass kitchen display (KDS): the screen cooks work from.
//!
//! The app runs its device (journal, replication, control socket) on a thread beside the
//! renderer and draws what the device's projections hold. It is built from small plugins:
//! [`kitchen`] (the logic: board, keys, actions; no rendering, so tested headless with
//! `MinimalPlugins`), [`view`] (bevy_ui drawing), [`alerts`] (sound and flash) and
//! [`settings_ui`] (the egui settings overlay). Everything a cook reads or does is decided in
//! `pass_shared::kitchen`.

pub mod alerts;
pub mod bench;
mod cli;
#[cfg(test)]
mod fixtures;
pub mod kitchen;
mod screen;
pub mod settings_ui;
pub mod view;

use std::path::PathBuf;

use bevy::app::PluginGroupBuilder;
use bevy::prelude::*;
use bevy::winit::{UpdateMode, WinitSettings};
use bevy_egui::EguiPlugin;
use pass_shared::device::DeviceHandle;
use pass_shared::kitchen::keymap::KeyMap;

pub use cli::Cli;
pub use screen::window_title;

/// Start-up configuration of one kitchen display's window, validated once by [`Cli`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Render the screen once, save a PNG of the window here, then exit.
    pub screenshot: Option<PathBuf>,
    /// Write the layout of each drawn frame here (card rectangles, bands), for tests.
    pub layout_dump: Option<PathBuf>,
    /// The window's size in pixels.
    pub window: (u32, u32),
    pub keymap: KeyMap,
}

/// The whole kitchen display app: Bevy's default plugins, the window, and every feature plugin.
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
    fn cleanup(&self, app: &mut App) {
        main_world_on_one_thread(app);
    }

    fn build(&self, app: &mut App) {
        let Config {
            screenshot,
            layout_dump,
            window,
            keymap,
        } = &self.config;
        let measured = app.world().contains_resource::<bench::Bench>();
        let station = self
            .device
            .kitchen_settings()
            .map(|s| s.station)
            .unwrap_or_default();
        let plugins = window_plugins(app, window_title(&station), *window);
        app.add_plugins((plugins, EguiPlugin::default()))
            .insert_resource(kitchen::Device(self.device.clone()))
            .insert_resource(kitchen::Keys(keymap.clone()))
            // Redraw on input or when woken, and at least once a second for the timers; never
            // continuously (six screens share one small machine in the demo).
            .insert_resource(if screenshot.is_some() || measured {
                WinitSettings::game()
            } else {
                WinitSettings {
                    focused_mode: UpdateMode::reactive(std::time::Duration::from_millis(250)),
                    unfocused_mode: UpdateMode::reactive(std::time::Duration::from_millis(250)),
                }
            });
        if let Some(path) = screenshot {
            app.insert_resource(pass_shared::app::screenshot::ScreenshotRequest::new(
                path.clone(),
            ));
        }
        if let Some(path) = layout_dump {
            app.insert_resource(view::LayoutDump(path.clone()));
        }
        if measured {
            app.add_plugins(bench::plugin);
        }
        app.add_plugins((
            kitchen::plugin,
            kitchen::link_plugin,
            view::plugin,
            alerts::plugin,
            settings_ui::plugin,
            pass_shared::app::screenshot::plugin,
        ));
    }
}

/// Bevy's default plugins for a window of `size` pixels titled `title`, with rendering done
/// on the main thread right after the main world's update instead of pipelined.
///
/// Pipelined rendering draws frame N on a thread of its own while the main world updates frame
/// N + 1: more frames a second when both take long, one frame more between a bump and the
/// screen showing it. A kitchen screen redraws at most a few times a second, so it has no use
/// for the throughput; and on a small machine the render thread (and a software renderer's
/// threads, which it sets rasterising) took the processors from under the main world's update.
fn window_plugins(app: &App, title: String, size: (u32, u32)) -> PluginGroupBuilder {
    let plugins = DefaultPlugins.set(WindowPlugin {
        primary_window: Some(Window {
            title,
            resolution: bevy::window::WindowResolution::new(size.0, size.1)
                .with_scale_factor_override(1.0),
            ..default()
        }),
        ..default()
    });
    let measured_pipelined = app
        .world()
        .get_resource::<bench::Bench>()
        .is_some_and(|b| b.pipelined);
    if measured_pipelined {
        plugins
    } else {
        plugins.disable::<bevy::render::pipelined_rendering::PipelinedRenderingPlugin>()
    }
}

/// Runs every schedule of the main world on the main thread, one system after another.
///
/// The screen's update is small (a board re-laid when a second passes, a few changed texts), and
/// a kitchen screen runs on a small machine, two processors here, which the renderer shares (all
/// of them with a software renderer). Bevy's multi-threaded executor hands each system to a
/// thread pool and waits for it: on two processors, most of a frame went in those hand-offs and
/// in waiting for a processor (`cargo bench -p kds --bench frame` compares both in one run).
/// The render world's schedules are left as they come (rendering follows the update on the main
/// thread, see [`window_plugins`]). Called once every plugin has added its systems.
pub fn main_world_on_one_thread(app: &mut App) {
    let measured_multi = app
        .world()
        .get_resource::<bench::Bench>()
        .is_some_and(|b| b.multi_threaded);
    if measured_multi {
        return;
    }
    let mut schedules = app.world_mut().resource_mut::<Schedules>();
    for (_, schedule) in schedules.iter_mut() {
        schedule.set_executor(bevy::ecs::schedule::SingleThreadedExecutor::new());
    }
}

/// The benchmark's baseline: an empty Bevy + egui window (no device, no kitchen plugins).
pub struct EmptyWindowPlugin;

impl Plugin for EmptyWindowPlugin {
    fn cleanup(&self, app: &mut App) {
        main_world_on_one_thread(app);
    }

    fn build(&self, app: &mut App) {
        let plugins = window_plugins(app, "Pass — empty window".to_owned(), (1920, 1080));
        app.add_plugins((plugins, EguiPlugin::default()))
            .insert_resource(WinitSettings::game())
            .add_systems(Startup, |mut commands: Commands| {
                // The same camera as the screen's (`view::spawn_camera`).
                commands.spawn((Camera2d, Msaa::Off));
            })
            // An egui pass that draws nothing: egui's own cost is in the baseline, as it is in the
            // screen (whose settings overlay is egui).
            .add_systems(
                bevy_egui::EguiPrimaryContextPass,
                |mut contexts: bevy_egui::EguiContexts| -> Result {
                    contexts.ctx_mut()?;
                    Ok(())
                },
            );
    }
}

/// Runs this device without a window until it is stopped; the exit code says how it ended.
pub fn run_headless(args: pass_shared::device::DeviceArgs) -> AppExit {
    pass_shared::app::run_headless("kds", pass_shared::event::DeviceRole::KitchenScreen, args)
}
