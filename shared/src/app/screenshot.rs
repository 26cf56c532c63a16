//! `--screenshot PATH`: render a few frames, save a PNG of the primary window, then exit.

use std::path::{Path, PathBuf};

use bevy::{
    diagnostic::FrameCount,
    prelude::*,
    render::view::screenshot::{Screenshot, ScreenshotCaptured},
};
use tracing::{error, info};

/// Frames rendered before the capture, so that text is laid out and pipelines are compiled.
const WARM_UP_FRAMES: u32 = 30;
/// Give up if the capture has not arrived this many frames after it was requested.
const CAPTURE_TIMEOUT_FRAMES: u32 = 600;

/// Present when the app was asked for a screenshot; the plugin does nothing otherwise.
#[derive(Resource, Debug)]
pub struct ScreenshotRequest {
    path: PathBuf,
    requested_at_frame: Option<u32>,
}

impl ScreenshotRequest {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            requested_at_frame: None,
        }
    }
}

/// Run condition: true from the frame the capture is requested on. A screen stops redrawing
/// then, so that what it reports about the frame (its layout dump) is what the PNG shows.
pub fn capturing(request: Option<Res<ScreenshotRequest>>) -> bool {
    request.is_some_and(|r| r.requested_at_frame.is_some())
}

/// Adds the capture system; it acts only when a [`ScreenshotRequest`] resource is present.
pub fn plugin(app: &mut App) {
    app.add_systems(
        Update,
        request_screenshot.run_if(resource_exists::<ScreenshotRequest>),
    );
}

fn request_screenshot(
    mut commands: Commands,
    frame: Res<FrameCount>,
    mut request: ResMut<ScreenshotRequest>,
    mut exit: MessageWriter<AppExit>,
) {
    match request.requested_at_frame {
        None if frame.0 >= WARM_UP_FRAMES => {
            request.requested_at_frame = Some(frame.0);
            info!(path = %request.path.display(), frame = frame.0, "capturing the primary window");
            commands
                .spawn(Screenshot::primary_window())
                .observe(save_and_exit(request.path.clone()));
        }
        Some(requested_at) if frame.0.saturating_sub(requested_at) > CAPTURE_TIMEOUT_FRAMES => {
            error!(
                path = %request.path.display(),
                "no screenshot arrived after {CAPTURE_TIMEOUT_FRAMES} frames"
            );
            exit.write(AppExit::error());
        }
        _ => {}
    }
}

/// Observer for the capture: writes the PNG and ends the app, with a failing exit code if the
/// file could not be written.
fn save_and_exit(path: PathBuf) -> impl FnMut(On<ScreenshotCaptured>, MessageWriter<AppExit>) {
    move |captured, mut exit| match save_png(&captured.image, &path) {
        Ok(()) => {
            info!(path = %path.display(), "screenshot saved");
            exit.write(AppExit::Success);
        }
        Err(why) => {
            error!(path = %path.display(), "cannot save screenshot: {why}");
            exit.write(AppExit::error());
        }
    }
}

fn save_png(image: &Image, path: &Path) -> Result<(), String> {
    let image = image
        .clone()
        .try_into_dynamic()
        .map_err(|why| why.to_string())?;
    // The alpha channel of a window capture carries no meaning; drop it.
    image.to_rgb8().save(path).map_err(|why| why.to_string())
}
