//! The command line, parsed and validated once at start-up.

use std::path::PathBuf;

use clap::Parser;

use crate::Config;

/// Pass order terminal: the front-of-house touch screen where staff take orders.
#[derive(Parser, Debug)]
#[command(version, about)]
pub struct Cli {
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
            screenshot: self.screenshot,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn check(args: &[&str], expected: Result<Config, ()>) {
        let parsed =
            Cli::try_parse_from(std::iter::once("order-terminal").chain(args.iter().copied()))
                .map(Cli::into_config)
                .map_err(|_| ());
        assert_eq!(parsed, expected, "args: {args:?}");
    }

    #[test]
    fn screenshot_must_be_a_png() {
        check(&[], Ok(Config { screenshot: None }));
        check(
            &["--screenshot", "/tmp/terminal.PNG"],
            Ok(Config {
                screenshot: Some(PathBuf::from("/tmp/terminal.PNG")),
            }),
        );
        check(&["--screenshot", "/tmp/terminal.jpg"], Err(()));
        check(&["--no-such-option"], Err(()));
    }

    #[test]
    fn command_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
