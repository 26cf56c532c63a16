//! The command line, parsed and validated once at start-up.

use std::path::PathBuf;

use clap::{Parser, builder::NonEmptyStringValueParser};

use crate::Config;

/// Pass kitchen display: the screen cooks work from.
#[derive(Parser, Debug)]
#[command(version, about)]
pub struct Cli {
    /// Kitchen station this display serves (for example grill, fry, expo).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "expo",
        value_parser = NonEmptyStringValueParser::new()
    )]
    station: String,

    /// Render a few frames, save a PNG of the window to PATH, then exit.
    #[arg(long, value_name = "PATH", value_parser = pass_shared::app::png_path)]
    screenshot: Option<PathBuf>,

    /// Run the device without a window: journal, replication and control socket only.
    #[arg(long)]
    pub headless: bool,

    #[command(flatten)]
    pub device: pass_shared::device::DeviceArgs,
}

impl Cli {
    pub fn into_config(self) -> Config {
        Config {
            station: self.station,
            screenshot: self.screenshot,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn check(args: &[&str], expected: Result<Config, ()>) {
        let parsed = Cli::try_parse_from(std::iter::once("kds").chain(args.iter().copied()))
            .map(Cli::into_config)
            .map_err(|_| ());
        assert_eq!(parsed, expected, "args: {args:?}");
    }

    fn config(station: &str, screenshot: Option<&str>) -> Result<Config, ()> {
        Ok(Config {
            station: station.to_owned(),
            screenshot: screenshot.map(PathBuf::from),
        })
    }

    #[test]
    fn station_defaults_to_expo() {
        check(&[], config("expo", None));
        check(&["--station", "grill"], config("grill", None));
        check(&["--station", ""], Err(()));
    }

    #[test]
    fn screenshot_must_be_a_png() {
        check(
            &["--screenshot", "/tmp/kds.png"],
            config("expo", Some("/tmp/kds.png")),
        );
        check(&["--screenshot", "/tmp/kds.jpg"], Err(()));
        check(&["--screenshot", "/tmp/kds"], Err(()));
    }

    #[test]
    fn command_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
