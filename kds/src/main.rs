use bevy::prelude::*;
use clap::Parser as _;

fn main() -> AppExit {
    let config = kds::Cli::parse().into_config();
    if let Err(no_display) = kds::display::check_env() {
        eprintln!("kds: {no_display}");
        return AppExit::from_code(2);
    }
    App::new().add_plugins(kds::AppPlugin::new(config)).run()
}
