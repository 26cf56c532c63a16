use bevy::prelude::*;
use clap::Parser as _;

fn main() -> AppExit {
    let cli = kds::Cli::parse();
    if cli.headless {
        return kds::run_headless(cli.device);
    }
    let config = cli.into_config();
    if let Err(no_display) = pass_shared::app::display::check_env() {
        eprintln!("kds: {no_display}");
        return AppExit::from_code(2);
    }
    App::new().add_plugins(kds::AppPlugin::new(config)).run()
}
