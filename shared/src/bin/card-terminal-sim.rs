//! `card-terminal-sim`: a payment terminal and its card network, simulated, as a process of its
//! own. It speaks the card terminal protocol that Pass devices use (JSON lines over TCP, see
//! `pass_shared::payments::protocol`), picks its behaviour by the test card presented (see
//! `pass_shared::payments::sim`), does each idempotency key's work once, and logs every request
//! it receives as JSON lines.
//!
//! `serve` runs it; `tap`, `network` and `advance` stand for what happens at the counter and in
//! the card network (a guest taps a card, the network goes away or comes back, a day passes).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use pass_shared::payments::sim::{SimConfig, Simulator};

#[derive(Parser)]
#[command(
    name = "card-terminal-sim",
    version,
    about = "A simulated payment terminal for Pass: test cards, offline store-and-forward, tabs, refunds, batches"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the terminal until killed.
    Serve {
        /// Where to listen, host:port (port 0: any free port, written to --port-file).
        #[arg(long, default_value = "127.0.0.1:7700")]
        listen: String,
        /// The request log (JSON lines, appended).
        #[arg(long)]
        log: PathBuf,
        /// Write the port listened on to this file once listening.
        #[arg(long)]
        port_file: Option<PathBuf>,
        /// How long the terminal waits for a card network that never answers (the timeout test
        /// card) before declining, in milliseconds.
        #[arg(long, default_value_t = 40_000)]
        hold_ms: u64,
    },
    /// Present a card: the next sale or pre-authorisation reads it.
    Tap {
        #[arg(long)]
        terminal: String,
        #[arg(long)]
        card: String,
    },
    /// Take the card network away (--offline) or bring it back (--online).
    Network {
        #[arg(long)]
        terminal: String,
        #[arg(long, conflicts_with = "offline", required_unless_present = "offline")]
        online: bool,
        #[arg(long)]
        offline: bool,
    },
    /// Move the terminal's clock on.
    Advance {
        #[arg(long)]
        terminal: String,
        #[arg(long)]
        ms: i64,
    },
}

fn main() -> ExitCode {
    pass_shared::device::init_logging();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("card-terminal-sim: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            listen,
            log,
            port_file,
            hold_ms,
        } => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)
                .with_context(|| format!("opening the log {}", log.display()))?;
            let listener =
                TcpListener::bind(&listen).with_context(|| format!("listening on {listen}"))?;
            let port = listener.local_addr()?.port();
            if let Some(path) = port_file {
                let tmp = path.with_extension("new");
                std::fs::write(&tmp, format!("{port}\n"))
                    .and_then(|()| std::fs::rename(&tmp, &path))
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            let mut secret = [0u8; 16];
            getrandom::fill(&mut secret)
                .map_err(|e| anyhow::anyhow!("no randomness for card tokens: {e}"))?;
            let config = SimConfig {
                hold: Duration::from_millis(hold_ms),
            };
            println!("card terminal simulator listening on port {port}");
            Simulator::new(config, Box::new(file), secret).serve(listener)?;
            Ok(())
        }
        Command::Tap { terminal, card } => {
            control(&terminal, serde_json::json!({"sim": "tap", "card": card}))
        }
        Command::Network {
            terminal, online, ..
        } => control(
            &terminal,
            serde_json::json!({"sim": "network", "online": online}),
        ),
        Command::Advance { terminal, ms } => {
            control(&terminal, serde_json::json!({"sim": "advance", "ms": ms}))
        }
    }
}

/// Sends one control line and checks its answer.
fn control(terminal: &str, line: serde_json::Value) -> anyhow::Result<()> {
    let stream =
        TcpStream::connect(terminal).with_context(|| format!("connecting to {terminal}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    (&stream).write_all(format!("{line}\n").as_bytes())?;
    let mut answer = String::new();
    BufReader::new(&stream).read_line(&mut answer)?;
    let answer: serde_json::Value =
        serde_json::from_str(answer.trim()).context("the terminal's answer is not JSON")?;
    if answer["ok"] != serde_json::Value::Bool(true) {
        anyhow::bail!("refused: {}", answer["error"]);
    }
    println!("ok");
    Ok(())
}
