//! Is there a display server to open the window on? Checked before Bevy starts, because winit
//! panics when it finds none.

use std::{ffi::OsStr, fmt};

/// Why the app cannot open a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoDisplay {
    /// Neither `DISPLAY` nor `WAYLAND_DISPLAY` is set.
    Unset,
    /// Only `WAYLAND_DISPLAY` is set, and this build talks to X11 only (Bevy's `x11` feature).
    WaylandOnly,
}

impl fmt::Display for NoDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoDisplay::Unset => f.write_str(
                "no display found: set DISPLAY or run under Xvfb \
                 (scripts/screenshot.sh, or xvfb-run -a <command>)",
            ),
            NoDisplay::WaylandOnly => f.write_str(
                "no X11 display found: WAYLAND_DISPLAY is set but this build speaks X11 only; \
                 set DISPLAY (XWayland) or run under Xvfb",
            ),
        }
    }
}

impl std::error::Error for NoDisplay {}

/// Decides from the values of `DISPLAY` and `WAYLAND_DISPLAY` whether a window can be opened.
/// An empty value counts as unset.
pub fn check(display: Option<&OsStr>, wayland_display: Option<&OsStr>) -> Result<(), NoDisplay> {
    let is_set = |value: Option<&OsStr>| value.is_some_and(|value| !value.is_empty());
    match (is_set(display), is_set(wayland_display)) {
        (true, _) => Ok(()),
        (false, true) => Err(NoDisplay::WaylandOnly),
        (false, false) => Err(NoDisplay::Unset),
    }
}

/// [`check`] against this process's environment. Only X11/Wayland platforms need a display
/// variable; elsewhere this always succeeds.
pub fn check_env() -> Result<(), NoDisplay> {
    if cfg!(all(
        unix,
        not(target_vendor = "apple"),
        not(target_os = "android")
    )) {
        check(
            std::env::var_os("DISPLAY").as_deref(),
            std::env::var_os("WAYLAND_DISPLAY").as_deref(),
        )
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_vars(display: Option<&str>, wayland: Option<&str>, expected: Result<(), NoDisplay>) {
        assert_eq!(
            check(display.map(OsStr::new), wayland.map(OsStr::new)),
            expected,
            "DISPLAY={display:?} WAYLAND_DISPLAY={wayland:?}"
        );
    }

    #[test]
    fn a_window_needs_an_x11_display() {
        check_vars(Some(":99"), None, Ok(()));
        check_vars(Some(":0"), Some("wayland-0"), Ok(()));
        check_vars(None, None, Err(NoDisplay::Unset));
        check_vars(Some(""), Some(""), Err(NoDisplay::Unset));
        check_vars(None, Some("wayland-0"), Err(NoDisplay::WaylandOnly));
    }

    #[test]
    fn the_message_says_what_to_do() {
        let message = NoDisplay::Unset.to_string();
        assert!(message.starts_with("no display found: set DISPLAY or run under Xvfb"));
        assert!(!message.contains('\n'), "one line: {message}");
    }
}
