//! The sign-in screen: the first thing staff see.

use bevy_egui::egui;

use crate::TITLE;

pub const PIN_PROMPT: &str = "Sign in with your PIN";

/// Draws the sign-in screen. The PIN pad comes later.
pub fn sign_in_ui(ui: &mut egui::Ui) {
    ui.vertical_centered(|ui| {
        ui.add_space(ui.available_height() / 4.0);
        ui.heading(TITLE);
        ui.add_space(32.0);
        ui.label(PIN_PROMPT);
    });
}

#[cfg(test)]
mod tests {
    use bevy_egui::egui::{CentralPanel, Context, RawInput, Shape, epaint::Galley};

    use super::*;
    use crate::touch::touch_style;

    /// Every text galley painted in one pass of `ui`, in paint order.
    fn painted_text(run_ui: impl FnMut(&mut egui::Ui)) -> Vec<std::sync::Arc<Galley>> {
        fn collect(shape: &Shape, out: &mut Vec<std::sync::Arc<Galley>>) {
            match shape {
                Shape::Text(text) => out.push(text.galley.clone()),
                Shape::Vec(shapes) => shapes.iter().for_each(|shape| collect(shape, out)),
                _ => {}
            }
        }
        let ctx = Context::default();
        ctx.all_styles_mut(touch_style);
        let mut output = ctx.run_ui(RawInput::default(), run_ui);
        let shapes = std::mem::take(&mut output.shapes);
        // No renderer here to take the font atlas upload.
        output.drop_without_applying_deltas();
        let mut galleys = Vec::new();
        for clipped in &shapes {
            collect(&clipped.shape, &mut galleys);
        }
        galleys
    }

    #[test]
    fn sign_in_shows_product_role_and_pin_prompt_in_large_text() {
        let galleys = painted_text(|ui| {
            CentralPanel::default().show(ui, sign_in_ui);
        });
        let texts: Vec<&str> = galleys.iter().map(|galley| galley.text()).collect();
        assert_eq!(texts, ["Pass — Order terminal", "Sign in with your PIN"]);

        let heading_height = galleys[0].rect.height();
        let prompt_height = galleys[1].rect.height();
        assert!(
            heading_height >= 48.0,
            "heading is {heading_height} pt tall"
        );
        assert!(prompt_height >= 32.0, "prompt is {prompt_height} pt tall");
        assert!(galleys[0].rect.width() > galleys[1].rect.width() / 2.0);
    }
}
