//! The command line, parsed and validated once at start-up.

use std::path::PathBuf;

use clap::Parser;
use pass_shared::kitchen::keymap::KeyMap;

use crate::Config;

/// Pass kitchen display: the screen cooks work from.
///
/// The station comes from `--station` (kept in the screen's settings file beside its database,
/// so later starts may leave it out); `expo` shows whole orders.
#[derive(Parser, Debug)]
#[command(version, about)]
pub struct Cli {
    /// Render the screen once, save a PNG of the window to PATH, then exit.
    #[arg(long, value_name = "PATH", value_parser = pass_shared::app::png_path)]
    screenshot: Option<PathBuf>,

    /// Write the layout of each drawn frame (card rectangles and bands, JSON) to PATH.
    #[arg(long, value_name = "PATH")]
    layout_dump: Option<PathBuf>,

    /// The window's size, WIDTHxHEIGHT in pixels.
    #[arg(long, value_name = "WxH", default_value = "1920x1080", value_parser = window_size)]
    window: (u32, u32),

    /// The bump bar's key map (TOML; see assets/kds-keys.toml). Defaults to the built-in map.
    #[arg(long, value_name = "FILE")]
    keymap: Option<PathBuf>,

    /// Run the device without a window: journal, replication and control socket only.
    #[arg(long)]
    pub headless: bool,

    /// Benchmark: measure this many frames (see kds/benches/frame.rs), write them to
    /// `--bench-out` and exit.
    #[arg(long, hide = true, requires = "bench_out")]
    pub bench_frames: Option<u32>,
    #[arg(long, hide = true)]
    pub bench_out: Option<PathBuf>,
    /// Benchmark baseline: an empty Bevy + egui window, no device.
    #[arg(long, hide = true, requires = "bench_frames")]
    pub bench_empty: bool,
    /// Benchmark comparison: the main world on Bevy's multi-threaded executor, as it comes,
    /// instead of on the main thread (see `kds::main_world_on_one_thread`).
    #[arg(long, hide = true, requires = "bench_frames")]
    pub bench_multi_threaded: bool,
    /// Benchmark comparison: rendering pipelined on a thread of its own, a frame behind the
    /// main world, as Bevy comes (see `kds::window_plugins`).
    #[arg(long, hide = true, requires = "bench_frames")]
    pub bench_pipelined: bool,

    #[command(flatten)]
    pub device: pass_shared::device::DeviceArgs,
}

fn window_size(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text
        .split_once('x')
        .ok_or_else(|| format!("`{text}`: give WIDTHxHEIGHT, e.g. 1920x1080"))?;
    let parse = |v: &str| v.parse::<u32>().ok().filter(|n| (320..=8192).contains(n));
    match (parse(w), parse(h)) {
        (Some(w), Some(h)) => Ok((w, h)),
        _ => Err(format!("`{text}`: each side from 320 to 8192 pixels")),
    }
}

impl Cli {
    /// The window's configuration (reads the key map file, if any).
    pub fn config(&self) -> Result<Config, String> {
        let keymap = match &self.keymap {
            None => KeyMap::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("--keymap {}: {e}", path.display()))?;
                KeyMap::parse(&text).map_err(|e| format!("--keymap {}: {e}", path.display()))?
            }
        };
        Ok(Config {
            screenshot: self.screenshot.clone(),
            layout_dump: self.layout_dump.clone(),
            window: self.window,
            keymap,
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("kds").chain(args.iter().copied()))
    }

    #[test]
    fn station_and_device_options_come_from_the_device_arguments() {
        let cli = parse(&["--station", "grill", "--db", "/tmp/g.db"]).expect("valid");
        assert_eq!(cli.device.station.as_deref(), Some("grill"));
        assert_eq!(cli.config().expect("config").window, (1920, 1080));
    }

    #[test]
    fn screenshot_must_be_a_png_and_the_window_a_size() {
        assert!(parse(&["--screenshot", "/tmp/kds.png"]).is_ok());
        assert!(parse(&["--screenshot", "/tmp/kds.jpg"]).is_err());
        assert_eq!(
            parse(&["--window", "3840x2160"]).expect("4K").window,
            (3840, 2160)
        );
        assert!(parse(&["--window", "big"]).is_err());
        assert!(parse(&["--window", "10x10"]).is_err());
    }

    #[test]
    fn a_bad_key_map_file_is_refused_naming_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("keys.toml");
        std::fs::write(&path, "bmp = [\"F1\"]").expect("write");
        let cli = parse(&["--keymap", path.to_str().expect("utf-8")]).expect("parses");
        let err = cli.config().expect_err("unknown action");
        assert!(err.starts_with("--keymap"), "{err}");
    }

    #[test]
    fn command_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
