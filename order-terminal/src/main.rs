use bevy::prelude::*;
use clap::Parser as _;
use pass_shared::event::DeviceRole;

fn main() -> AppExit {
    let cli = order_terminal::Cli::parse();
    if cli.headless {
        return order_terminal::run_headless(cli.device);
    }
    let config = match cli.config() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("order-terminal: {e}");
            return AppExit::from_code(2);
        }
    };
    if let Err(no_display) = pass_shared::app::display::check_env() {
        eprintln!("order-terminal: {no_display}");
        return AppExit::from_code(2);
    }
    let device = match cli.device.into_config(DeviceRole::OrderTerminal) {
        Ok(device) => device,
        Err(e) => {
            eprintln!("order-terminal: {e}");
            return AppExit::from_code(2);
        }
    };
    let device = match pass_shared::device::spawn(device) {
        Ok(handle) => handle,
        Err(e) => {
            eprintln!("order-terminal: {e:#}");
            return AppExit::from_code(1);
        }
    };
    if let Err(e) = order_terminal::apply_intents(&device, &config.intents) {
        eprintln!("order-terminal: --intents: {e}");
        device.stop();
        return AppExit::from_code(2);
    }
    let mut app = App::new();
    if let (Some(frames), Some(out)) = (cli.bench_frames, cli.bench_out.clone()) {
        app.insert_resource(order_terminal::bench::Bench { frames, out });
    }
    let exit = app
        .add_plugins(order_terminal::AppPlugin::new(config, device.clone()))
        .run();
    device.stop();
    exit
}
