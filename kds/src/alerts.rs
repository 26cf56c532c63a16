//! Sound and flash on new, changed and voided tickets. The sounds are built into the program
//! (from `assets/sounds/`); a screen set to silent only flashes, and a machine with no sound
//! device runs without sound (Bevy's audio output reports it once and plays nothing).

use bevy::audio::{AudioPlayer, AudioSource, PlaybackSettings};
use bevy::prelude::*;

use crate::kitchen::{Alert, Screen};

/// How long a flash takes to fade.
const FLASH_SECS: f32 = 0.8;

#[derive(Resource)]
struct Sounds {
    ticket: Handle<AudioSource>,
    void: Handle<AudioSource>,
}

/// A full-screen flash, fading out.
#[derive(Component)]
struct Flash {
    timer: Timer,
    colour: Color,
}

pub fn plugin(app: &mut App) {
    app.add_systems(Startup, load_sounds).add_systems(
        Update,
        (alert, fade)
            .after(crate::kitchen::Systems)
            .run_if(resource_exists::<Screen>),
    );
}

fn load_sounds(mut commands: Commands, mut sources: ResMut<Assets<AudioSource>>) {
    let ticket = sources.add(AudioSource {
        bytes: include_bytes!("../../assets/sounds/ticket.wav")
            .to_vec()
            .into(),
    });
    let void = sources.add(AudioSource {
        bytes: include_bytes!("../../assets/sounds/void.wav")
            .to_vec()
            .into(),
    });
    commands.insert_resource(Sounds { ticket, void });
}

fn alert(
    mut commands: Commands,
    mut alerts: MessageReader<Alert>,
    screen: Res<Screen>,
    sounds: Option<Res<Sounds>>,
) {
    let Some(strongest) = alerts.read().copied().max_by_key(|a| match a {
        Alert::Voided => 2,
        Alert::Changed => 1,
        Alert::NewTicket => 0,
    }) else {
        return;
    };
    let (colour, sound) = match strongest {
        Alert::Voided => (
            Color::srgba(0.85, 0.1, 0.1, 0.45),
            sounds.as_ref().map(|s| s.void.clone()),
        ),
        Alert::Changed | Alert::NewTicket => (
            Color::srgba(1.0, 1.0, 1.0, 0.35),
            sounds.as_ref().map(|s| s.ticket.clone()),
        ),
    };
    if !screen.settings.silent
        && let Some(sound) = sound
    {
        commands.spawn((AudioPlayer(sound), PlaybackSettings::DESPAWN));
    }
    commands.spawn((
        Name::new("Flash"),
        Flash {
            timer: Timer::from_seconds(FLASH_SECS, TimerMode::Once),
            colour,
        },
        Node {
            position_type: PositionType::Absolute,
            width: Val::Percent(100.0),
            height: Val::Percent(100.0),
            ..default()
        },
        BackgroundColor(colour),
        GlobalZIndex(10),
    ));
}

fn fade(
    mut commands: Commands,
    time: Res<Time>,
    mut flashes: Query<(Entity, &mut Flash, &mut BackgroundColor)>,
) {
    for (entity, mut flash, mut background) in &mut flashes {
        flash.timer.tick(time.delta());
        if flash.timer.is_finished() {
            commands.entity(entity).despawn();
        } else {
            let left = 1.0 - flash.timer.fraction();
            background.0 = flash.colour.with_alpha(flash.colour.alpha() * left);
        }
    }
}
