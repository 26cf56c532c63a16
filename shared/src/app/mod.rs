//! What both apps share on top of Bevy: the display check, `--screenshot`, PNG path checking, and
//! running the device headless. Behind the `app` feature, so the rest of the crate (and its
//! tests) builds without the renderer.

pub mod display;
pub mod screenshot;

use std::path::PathBuf;

use bevy::app::AppExit;

use crate::device::DeviceArgs;
use crate::event::DeviceRole;

/// Checks a `--screenshot` path: the capture is saved as PNG.
pub fn png_path(value: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(value);
    let is_png = path
        .extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("png"));
    if is_png {
        Ok(path)
    } else {
        Err("the screenshot is saved as PNG: the path must end in .png".to_owned())
    }
}

/// Runs a device of `role` without a window until it is stopped; the exit code says how it
/// ended. `program` names the binary in messages.
pub fn run_headless(program: &str, role: DeviceRole, args: DeviceArgs) -> AppExit {
    crate::device::init_logging();
    let config = match args.into_config(role) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{program}: {e}");
            return AppExit::from_code(2);
        }
    };
    match crate::device::run(config) {
        Ok(()) => AppExit::Success,
        Err(e) => {
            eprintln!("{program}: {e:#}");
            AppExit::from_code(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screenshots_are_png() {
        assert_eq!(png_path("/tmp/kds.PNG"), Ok(PathBuf::from("/tmp/kds.PNG")));
        assert!(png_path("/tmp/kds.jpg").is_err());
        assert!(png_path("/tmp/kds").is_err());
    }
}
