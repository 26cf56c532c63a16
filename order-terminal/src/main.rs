use bevy::prelude::*;
use clap::Parser as _;

fn main() -> AppExit {
    let cli = order_terminal::Cli::parse();
    if cli.headless {
        return order_terminal::run_headless(cli.device);
    }
    let config = cli.into_config();
    if let Err(no_display) = pass_shared::app::display::check_env() {
        eprintln!("order-terminal: {no_display}");
        return AppExit::from_code(2);
    }
    App::new()
        .add_plugins(order_terminal::AppPlugin::new(config))
        .run()
}
