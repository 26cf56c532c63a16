//! Bevy adapter for the egui screens: a camera for egui to draw on, the touch style, and one
//! system per frame that draws the terminal's view and applies the tap.

use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, EguiStartupSet, egui};
use pass_shared::device::DeviceHandle;
use pass_shared::terminal::views::View;
use tokio::sync::watch;

use crate::ui;

const BACKGROUND: Color = Color::srgb_u8(0x10, 0x10, 0x10);
/// The view is read again at least this often (timers on the floor, the link).
const REFRESH: Duration = Duration::from_millis(250);

/// The device this terminal runs.
#[derive(Resource, Clone)]
pub struct Device(pub DeviceHandle);

/// The view drawn, when it was read, and what the screens remember between frames.
#[derive(Resource)]
pub struct Shown {
    pub view: Option<Result<View, String>>,
    read_at: Option<Instant>,
    changes: watch::Receiver<u64>,
    pub local: ui::Local,
    /// Read the view again this frame, whatever changed (the benchmark's worst case).
    pub always_read: bool,
}

pub(super) fn plugin(app: &mut App) {
    app.insert_resource(ClearColor(BACKGROUND))
        .add_systems(
            PreStartup,
            spawn_camera.before(EguiStartupSet::InitContexts),
        )
        .add_systems(Startup, (apply_touch_style, start))
        .add_systems(EguiPrimaryContextPass, draw);
}

/// egui makes its primary context on the first camera.
fn spawn_camera(mut commands: Commands) {
    commands.spawn((Name::new("Camera"), Camera2d));
}

fn apply_touch_style(mut contexts: EguiContexts) -> Result {
    contexts.ctx_mut()?.all_styles_mut(ui::touch_style);
    Ok(())
}

fn start(mut commands: Commands, device: Res<Device>) {
    commands.insert_resource(Shown {
        view: None,
        read_at: None,
        changes: device.0.changes(),
        local: ui::Local::default(),
        always_read: false,
    });
}

/// Reads the terminal's view (when the journal changed, after a tap, or every [`REFRESH`]).
fn read_view(device: &DeviceHandle, shown: &mut Shown) {
    let changed = shown.changes.has_changed().unwrap_or(false);
    let stale = shown.read_at.is_none_or(|at| at.elapsed() >= REFRESH);
    if shown.view.is_some() && !changed && !stale && !shown.always_read {
        return;
    }
    shown.changes.mark_unchanged();
    shown.read_at = Some(Instant::now());
    shown.view = Some(
        device
            .with_terminal(|t, h| t.view(h).map_err(|e| e.to_string()))
            .unwrap_or_else(|| Err("this device is not an order terminal".to_owned())),
    );
}

/// The screens are laid out for 1920 × 1080 points; a smaller or larger window zooms them to fit.
fn fit_to_window(ctx: &egui::Context) {
    let pixels = ctx.viewport_rect().size() * ctx.pixels_per_point();
    let zoom = (pixels.x / 1920.0).min(pixels.y / 1080.0).clamp(0.5, 3.0);
    if zoom.is_finite() && (ctx.zoom_factor() - zoom).abs() > 0.01 {
        ctx.set_zoom_factor(zoom);
    }
}

fn draw(mut contexts: EguiContexts, device: Res<Device>, mut shown: ResMut<Shown>) -> Result {
    let ctx = contexts.ctx_mut()?.clone();
    fit_to_window(&ctx);
    read_view(&device.0, &mut shown);
    let shown = &mut *shown;
    let mut tapped = None;
    egui::CentralPanel::default().show(&ctx, |ui| match &shown.view {
        Some(Ok(view)) => tapped = ui::terminal_ui(ui, view, &mut shown.local),
        Some(Err(e)) => {
            ui.heading("This terminal cannot read its journal");
            ui.label(e);
        }
        None => {}
    });
    if let Some(intent) = tapped {
        let shown_intent = format!("{intent:?}");
        match device.0.with_terminal(|t, h| t.apply(h, intent)) {
            Some(Ok(_)) => debug!(intent = %shown_intent, "done"),
            // The refusal is the view's notice.
            Some(Err(e)) => info!(intent = %shown_intent, "refused: {e}"),
            None => error!("this device is not an order terminal"),
        }
        shown.read_at = None;
        ctx.request_repaint();
    }
    Ok(())
}
