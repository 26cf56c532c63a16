//! The screens, drawn with bevy_ui. Content comes from [`crate::screen`]; this module only maps it
//! to nodes, sizes and colours.

use bevy::prelude::*;

use crate::{
    Station,
    screen::{self, Emphasis},
};

/// Near-black: high contrast in a bright kitchen, and no glare at night.
const BACKGROUND: Color = Color::srgb_u8(0x0b, 0x0b, 0x0b);
const PRODUCT_AMBER: Color = Color::srgb_u8(0xff, 0xc4, 0x2e);
const TEXT_WHITE: Color = Color::WHITE;
const STATUS_GREY: Color = Color::srgb_u8(0xc8, 0xc8, 0xc8);

pub(super) fn plugin(app: &mut App) {
    app.insert_resource(ClearColor(BACKGROUND))
        .add_systems(Startup, spawn_idle_screen);
}

/// The root node of the screen shown while there are no tickets.
#[derive(Component, Debug)]
struct IdleScreen;

fn spawn_idle_screen(mut commands: Commands, station: Res<Station>) {
    commands.spawn((Name::new("Camera"), Camera2d));
    commands
        .spawn((
            Name::new("Idle screen"),
            IdleScreen,
            Node {
                width: Val::Percent(100.0),
                height: Val::Percent(100.0),
                flex_direction: FlexDirection::Column,
                justify_content: JustifyContent::Center,
                align_items: AlignItems::Center,
                row_gap: Val::Px(24.0),
                ..default()
            },
            BackgroundColor(BACKGROUND),
        ))
        .with_children(|screen| {
            for line in screen::idle_screen(&station.0) {
                let (font_size_px, color) = look(line.emphasis);
                screen.spawn((
                    Text::new(line.text),
                    TextFont::from_font_size(font_size_px),
                    TextColor(color),
                ));
            }
        });
}

/// Font size in logical pixels and colour for each kind of line: big enough to read from the pass.
fn look(emphasis: Emphasis) -> (f32, Color) {
    match emphasis {
        Emphasis::Product => (160.0, PRODUCT_AMBER),
        Emphasis::Role => (72.0, TEXT_WHITE),
        Emphasis::Station => (112.0, TEXT_WHITE),
        Emphasis::Status => (56.0, STATUS_GREY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_screen_shows_product_role_station_and_status_in_order() {
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .insert_resource(Station("grill".to_owned()))
            .add_plugins(plugin);
        app.update();

        let world = app.world_mut();
        let children: Vec<Entity> = world
            .query_filtered::<&Children, With<IdleScreen>>()
            .single(world)
            .expect("one idle screen")
            .to_vec();
        let texts: Vec<String> = children
            .into_iter()
            .map(|child| {
                world
                    .get::<Text>(child)
                    .expect("every line is a text node")
                    .0
                    .clone()
            })
            .collect();
        assert_eq!(
            texts,
            ["PASS", "Kitchen display", "grill", "Waiting for tickets"]
        );
        assert_eq!(world.query::<&Camera2d>().iter(world).count(), 1);
    }
}
