//! Bevy adapter for the egui screens: a camera for egui to draw on, the touch style, and one
//! system per frame that draws the current screen.

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, EguiStartupSet, egui};

use crate::{sign_in, touch};

const BACKGROUND: Color = Color::srgb_u8(0x10, 0x10, 0x10);

pub(super) fn plugin(app: &mut App) {
    app.insert_resource(ClearColor(BACKGROUND))
        .add_systems(
            PreStartup,
            spawn_camera.before(EguiStartupSet::InitContexts),
        )
        .add_systems(Startup, apply_touch_style)
        .add_systems(EguiPrimaryContextPass, draw_sign_in);
}

/// egui makes its primary context on the first camera.
fn spawn_camera(mut commands: Commands) {
    commands.spawn((Name::new("Camera"), Camera2d));
}

fn apply_touch_style(mut contexts: EguiContexts) -> Result {
    contexts.ctx_mut()?.all_styles_mut(touch::touch_style);
    Ok(())
}

fn draw_sign_in(mut contexts: EguiContexts) -> Result {
    let ctx = contexts.ctx_mut()?;
    let mut root = egui::Ui::new(
        ctx.clone(),
        "root".into(),
        egui::UiBuilder::new()
            .layer_id(egui::LayerId::background())
            .max_rect(ctx.viewport_rect()),
    );
    egui::CentralPanel::default().show(&mut root, sign_in::sign_in_ui);
    Ok(())
}
