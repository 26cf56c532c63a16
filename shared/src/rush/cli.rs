//! `pass rush`: plays a dinner rush on running devices and prints what happened.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::Context;

use super::{ClockMode, RushDevices, RushOptions};
use crate::domain::menu::Menu;

/// The options of `pass rush`.
#[derive(clap::Args, Debug)]
pub struct RushArgs {
    /// An order terminal's control socket; repeat for each (parties go to them in turn).
    #[arg(long = "terminal", required = true)]
    pub terminals: Vec<PathBuf>,
    /// A kitchen screen's control socket (prep station or expo); repeat for each.
    #[arg(long = "screen")]
    pub screens: Vec<PathBuf>,
    /// The store's menu file (what the devices sell).
    #[arg(long, default_value = "assets/menu.toml")]
    pub menu: PathBuf,
    /// Parties arrive during this many minutes.
    #[arg(long, default_value_t = 60)]
    pub minutes: u32,
    /// How many checks an hour (a busy dinner: about 120).
    #[arg(long, default_value_t = 120.0)]
    pub checks_per_hour: f64,
    /// The seed of the service's draws: the same seed plays the same service.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Move the devices' manual clocks (started with `--manual-clock`) from this instant
    /// (milliseconds since 1970), a step at a time, instead of waiting for real time.
    #[arg(long)]
    pub controlled_from_ms: Option<i64>,
    /// The step of the controlled clock, in seconds.
    #[arg(long, default_value_t = 15)]
    pub step_secs: u32,
    /// Servers' PINs, repeated (parties go to them in turn).
    #[arg(long = "server-pin", required = true)]
    pub server_pins: Vec<String>,
    /// A manager's PIN, for voids and comps.
    #[arg(long)]
    pub manager_pin: String,
    /// An item a cook 86's partway through the service.
    #[arg(long)]
    pub eighty_six: Option<String>,
    /// After the last arrival, serve at most this many more minutes.
    #[arg(long, default_value_t = 120)]
    pub drain_minutes: u32,
    /// Write the driver's ground truth (JSON) here.
    #[arg(long)]
    pub truth: Option<PathBuf>,
}

/// Runs `pass rush`: the rush, then its summary on `out`. Ctrl-C (`stop`) ends it early.
pub fn run(args: RushArgs, stop: &AtomicBool, out: &mut impl std::io::Write) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.menu)
        .with_context(|| format!("cannot read the menu {}", args.menu.display()))?;
    let menu = Menu::from_toml_str(&text)
        .with_context(|| format!("the menu {} is not valid", args.menu.display()))?;
    if !(args.checks_per_hour > 0.0 && args.checks_per_hour <= 2_000.0) {
        anyhow::bail!("--checks-per-hour must be above 0 and at most 2000");
    }
    if args.step_secs == 0 || args.step_secs > 600 {
        anyhow::bail!("--step-secs must be between 1 and 600");
    }
    let clock = match args.controlled_from_ms {
        Some(start_ms) => ClockMode::Controlled {
            start_ms,
            step_ms: i64::from(args.step_secs) * 1000,
        },
        None => ClockMode::Wall { tick_ms: 1000 },
    };
    let options = RushOptions {
        seed: args.seed,
        minutes: args.minutes,
        checks_per_hour: args.checks_per_hour,
        clock,
        server_pins: args.server_pins,
        manager_pin: args.manager_pin,
        eighty_six: args.eighty_six.map(|item| (item, 0.6)),
        drain_minutes: args.drain_minutes,
    };
    let devices = RushDevices {
        terminals: args.terminals,
        screens: args.screens,
    };
    let truth = super::run(&menu, &devices, &options, stop)?;
    if let Some(path) = &args.truth {
        let json = serde_json::to_string_pretty(&truth)?;
        std::fs::write(path, json)
            .with_context(|| format!("cannot write the ground truth to {}", path.display()))?;
    }
    write!(out, "{}", truth.summary())?;
    Ok(())
}
