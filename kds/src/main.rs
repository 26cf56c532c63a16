use bevy::prelude::*;
use clap::Parser as _;
use pass_shared::event::DeviceRole;

fn main() -> AppExit {
    let started = std::time::Instant::now();
    let cli = kds::Cli::parse();
    if cli.headless {
        return kds::run_headless(cli.device);
    }
    let config = match cli.config() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("kds: {e}");
            return AppExit::from_code(2);
        }
    };
    if let Err(no_display) = pass_shared::app::display::check_env() {
        eprintln!("kds: {no_display}");
        return AppExit::from_code(2);
    }
    let bench = match (cli.bench_frames, &cli.bench_out) {
        (Some(frames), Some(out)) => Some(kds::bench::Bench {
            frames,
            out: out.clone(),
            started,
            empty: cli.bench_empty,
            multi_threaded: cli.bench_multi_threaded,
            pipelined: cli.bench_pipelined,
        }),
        _ => None,
    };
    if let Some(bench) = bench.clone().filter(|b| b.empty) {
        return App::new()
            .insert_resource(bench)
            .add_plugins((kds::EmptyWindowPlugin, kds::bench::plugin))
            .run();
    }
    let device = match cli.device.into_config(DeviceRole::KitchenScreen) {
        Ok(device) => device,
        Err(e) => {
            eprintln!("kds: {e}");
            return AppExit::from_code(2);
        }
    };
    let device = match pass_shared::device::spawn(device) {
        Ok(handle) => handle,
        Err(e) => {
            eprintln!("kds: {e:#}");
            return AppExit::from_code(1);
        }
    };
    let mut app = App::new();
    if let Some(bench) = bench {
        app.insert_resource(bench);
    }
    let exit = app
        .add_plugins(kds::AppPlugin::new(config, device.clone()))
        .run();
    device.stop();
    exit
}
