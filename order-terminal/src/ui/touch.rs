//! Touch-first egui style: large, high-contrast text and finger-sized targets.

use egui::{self, Color32, FontFamily, FontId, TextStyle};

/// Smallest side of anything a finger has to hit, in points (platform guidelines ask for 44–48).
pub const MIN_TOUCH_TARGET: f32 = 64.0;

/// Text colour on the dark panels: egui's default grey is too faint under restaurant lighting.
pub const TEXT: Color32 = Color32::from_gray(240);

/// Makes `style` dark, readable at arm's length and usable with a finger. The terminal is always
/// dark, whatever theme egui was asked for.
pub fn touch_style(style: &mut egui::Style) {
    style.visuals = egui::Visuals::dark();
    style.visuals.widgets.noninteractive.fg_stroke.color = TEXT;
    style.text_styles = [
        (
            TextStyle::Heading,
            FontId::new(48.0, FontFamily::Proportional),
        ),
        (TextStyle::Body, FontId::new(30.0, FontFamily::Proportional)),
        (
            TextStyle::Button,
            FontId::new(30.0, FontFamily::Proportional),
        ),
        (
            TextStyle::Monospace,
            FontId::new(28.0, FontFamily::Monospace),
        ),
        (
            TextStyle::Small,
            FontId::new(22.0, FontFamily::Proportional),
        ),
    ]
    .into();
    style.spacing.interact_size = egui::vec2(MIN_TOUCH_TARGET, MIN_TOUCH_TARGET);
    style.spacing.button_padding = egui::vec2(16.0, 12.0);
    style.spacing.item_spacing = egui::vec2(12.0, 12.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_targets_are_finger_sized() {
        let mut style = egui::Style::default();
        touch_style(&mut style);
        let size = |text_style: TextStyle| style.text_styles[&text_style].size;
        assert!(size(TextStyle::Heading) >= 48.0);
        assert!(size(TextStyle::Body) >= 28.0);
        assert!(size(TextStyle::Button) >= 28.0);
        assert!(size(TextStyle::Small) >= 20.0);
        assert!(style.spacing.interact_size.min_elem() >= 48.0);
    }

    #[test]
    fn text_stands_out_from_the_panel_whatever_the_theme() {
        let light = egui::Style {
            visuals: egui::Visuals::light(),
            ..Default::default()
        };
        for mut style in [egui::Style::default(), light] {
            touch_style(&mut style);
            let text = style.visuals.text_color();
            let panel = style.visuals.panel_fill;
            let lightness = |colour: Color32| {
                u32::from(colour.r()) + u32::from(colour.g()) + u32::from(colour.b())
            };
            assert!(
                lightness(text) >= 3 * 220 && lightness(panel) <= 3 * 40,
                "text {text:?} on panel {panel:?}"
            );
        }
    }
}
