//! `--bench-frames N --bench-out FILE`: measures the screen in a real window. Each frame's
//! main-world time (from the first system of `First` to the last of `Last`: reading the
//! terminal's view from the journal, building the egui screen, Bevy's own update systems; not
//! the render world) is recorded over `N` frames after a warm-up, with the view read again on
//! every frame (the worst case: normally that happens after a tap, a change or every 250 ms).
//! The figures go to FILE as JSON and the app exits; `order-terminal/benches/frame.rs` runs it
//! and prints the summary.

use std::path::PathBuf;
use std::time::Instant;

use bevy::prelude::*;
use serde::Serialize;

use super::screens::Shown;

/// Frames left out at the start (pipelines compiling, fonts rasterised).
const WARM_UP: u32 = 30;

/// What to measure.
#[derive(Resource, Debug, Clone)]
pub struct Bench {
    pub frames: u32,
    pub out: PathBuf,
}

#[derive(Resource, Default)]
struct Record {
    frame_start: Option<Instant>,
    seen: u32,
    frames_us: Vec<u64>,
}

#[derive(Serialize)]
struct Report {
    frames_us: Vec<u64>,
    screen: Option<&'static str>,
}

pub fn plugin(app: &mut App) {
    app.init_resource::<Record>()
        .add_systems(First, frame_start)
        .add_systems(Last, frame_end);
}

fn frame_start(mut record: ResMut<Record>, shown: Option<ResMut<Shown>>) {
    record.frame_start = Some(Instant::now());
    if let Some(mut shown) = shown {
        shown.always_read = true;
    }
}

fn frame_end(
    bench: Res<Bench>,
    shown: Option<Res<Shown>>,
    mut record: ResMut<Record>,
    mut exit: MessageWriter<AppExit>,
) {
    let Some(start) = record.frame_start.take() else {
        return;
    };
    record.seen += 1;
    if record.seen <= WARM_UP {
        return;
    }
    let us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
    record.frames_us.push(us);
    if record.frames_us.len() as u32 >= bench.frames {
        let screen = shown.and_then(|s| match &s.view {
            Some(Ok(v)) => Some(match v.screen {
                pass_shared::terminal::views::ScreenView::SignIn(_) => "sign_in",
                pass_shared::terminal::views::ScreenView::Floor(_) => "floor",
                pass_shared::terminal::views::ScreenView::Order(_) => "order",
            }),
            _ => None,
        });
        let report = Report {
            frames_us: std::mem::take(&mut record.frames_us),
            screen,
        };
        match serde_json::to_string(&report) {
            Ok(text) => {
                if let Err(e) = std::fs::write(&bench.out, text) {
                    error!(path = %bench.out.display(), error = %e, "cannot write the benchmark");
                }
            }
            Err(e) => error!(error = %e, "cannot serialise the benchmark"),
        }
        exit.write(AppExit::Success);
    }
}
