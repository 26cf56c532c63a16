//! Hosting the embedded broker: a device that may host one (kitchen screens by default) runs
//! `pass broker` as a **supervised child process** when discovery asks it to
//! ([`crate::net::finder`]), so the broker can be stopped, restarted and killed on its own.
//!
//! - The child gets the store's login from the password file beside the database (generated,
//!   0600, the first time this device hosts), listens where the mDNS setting says (loopback, or
//!   every address on a store's LAN) on `--broker-port`, else 1883 on a store's LAN and a free
//!   port elsewhere (or when 1883 is taken), and advertises itself.
//! - If it dies, it is started again on the same port with the same `started` time, so it keeps
//!   its place in the election and devices reconnect to the same address; the pause between
//!   starts doubles from 250 ms to 5 s and resets once a start has stayed up for 30 s.
//! - Its standard input is a pipe from the device, and it runs with `--exit-with-stdin`: when
//!   the device stops, or dies by any signal, the pipe closes and the broker withdraws its
//!   advertisement and exits, so a broker never outlives the device that hosts it. Stopping it
//!   on purpose (it lost the election) is the same: the device closes the pipe, and kills it if
//!   it has not exited within 3 s.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use crate::clock::Clock;

use crate::net::discovery::{BrokerKey, MdnsScope};
use crate::net::protocol::v1::{DeviceId, StoreId};

/// The standard MQTT port, the embedded broker's default on a store's LAN.
const STORE_PORT: u16 = 1883;
/// How long a started broker gets to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(10);
/// First pause before starting a broker that died again; doubled up to [`MAX_RESTART_PAUSE`].
const FIRST_RESTART_PAUSE: Duration = Duration::from_millis(250);
const MAX_RESTART_PAUSE: Duration = Duration::from_secs(5);
/// A start that stayed up this long resets the pause.
const STABLE_AFTER: Duration = Duration::from_secs(30);
/// How long a broker asked to stop gets before it is killed.
const STOP_WITHIN: Duration = Duration::from_secs(3);

/// How to host: what the child is told.
#[derive(Debug, Clone)]
pub(crate) struct HostSettings {
    /// The `pass` program.
    pub program: PathBuf,
    pub store: StoreId,
    pub host: DeviceId,
    pub mdns: MdnsScope,
    /// The device's database: the store's broker password is kept beside it
    /// ([`super::files::store_password_path`]), generated the first time this device hosts.
    pub db: PathBuf,
    /// The store user name devices give the embedded broker.
    pub user: String,
    /// A port given by the person configuring the device (`--broker-port`); otherwise the
    /// standard 1883 on a store's LAN (easy to type into a terminal whose Wi-Fi blocks
    /// multicast) and a free port elsewhere, and a free one whenever that one is taken.
    pub port: Option<u16>,
}

/// What the discovery task asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostCommand {
    Start,
    Stop,
}

/// The hosted broker as the device's status shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hosting {
    pub key: BrokerKey,
    pub port: u16,
    /// The broker process now (while it is up).
    pub pid: Option<u32>,
    pub up: bool,
    /// How many times it was started again after dying.
    pub restarts: u64,
}

/// The `pass` program: this executable when it is `pass`, else `pass` beside it (the kitchen
/// screen and the terminal are installed next to it), else `pass` on the `PATH`.
pub(crate) fn pass_program() -> PathBuf {
    match std::env::current_exe() {
        Ok(exe) if exe.file_stem().is_some_and(|s| s == "pass") => exe,
        Ok(exe) => match exe.parent().map(|dir| dir.join("pass")) {
            Some(sibling) if sibling.exists() => sibling,
            _ => PathBuf::from("pass"),
        },
        Err(_) => PathBuf::from("pass"),
    }
}

/// A port nobody listens on now, on `ip` (the kernel's choice).
fn free_port(ip: IpAddr) -> std::io::Result<u16> {
    Ok(TcpListener::bind(SocketAddr::new(ip, 0))?
        .local_addr()?
        .port())
}

/// Whether the broker accepts connections (it listens on loopback or on every address).
fn accepts(port: u16) -> bool {
    let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
    TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
}

fn spawn(settings: &HostSettings, key: &BrokerKey, port: u16) -> std::io::Result<Child> {
    let listen = SocketAddr::new(settings.mdns.broker_listen_ip(), port);
    Command::new(&settings.program)
        .arg("broker")
        .args(["--store", settings.store.as_str()])
        .args(["--host", key.host.as_str()])
        .args(["--listen", &listen.to_string()])
        .args(["--mdns", &settings.mdns.to_string()])
        .args(["--started-at", &key.started_at_ms.to_string()])
        .args(["--user", &settings.user])
        .arg("--password-file")
        .arg(super::files::store_password_path(&settings.db))
        .arg("--exit-with-stdin")
        .stdin(Stdio::piped())
        .spawn()
}

/// How often a child's state is looked at (std's `Child` has no asynchronous wait).
const CHILD_POLL: Duration = Duration::from_millis(100);

/// Whether the child has exited (reaping it if so).
fn exited(child: &mut Child) -> Option<std::process::ExitStatus> {
    child.try_wait().ok().flatten()
}

/// Waits until the child accepts connections (`true`) or exits (`false`).
async fn ready(child: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + READY_WITHIN;
    loop {
        if exited(child).is_some() {
            return false;
        }
        let probe = tokio::task::spawn_blocking(move || accepts(port)).await;
        if matches!(probe, Ok(true)) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Closes the child's standard input (it withdraws its advertisement and exits) and waits for
/// it; kills it if it takes too long.
async fn stop(mut child: Child) {
    drop(child.stdin.take());
    let deadline = Instant::now() + STOP_WITHIN;
    while exited(&mut child).is_none() {
        if Instant::now() >= deadline {
            tracing::warn!("the embedded broker did not stop when asked; killing it");
            let _ = child.kill();
            let _ = tokio::task::spawn_blocking(move || child.wait()).await;
            return;
        }
        tokio::time::sleep(CHILD_POLL).await;
    }
}

/// The supervisor: starts the broker on [`HostCommand::Start`], keeps it running, stops it on
/// [`HostCommand::Stop`]; reports on `report`. Ends when `commands` closes (the device stops),
/// stopping the broker.
pub(crate) async fn supervise(
    settings: HostSettings,
    mut commands: mpsc::Receiver<HostCommand>,
    report: watch::Sender<Option<Hosting>>,
) {
    loop {
        match commands.recv().await {
            None => return,
            Some(HostCommand::Stop) => continue,
            Some(HostCommand::Start) => {}
        }
        let db = settings.db.clone();
        let password =
            tokio::task::spawn_blocking(move || super::files::store_password_or_generate(&db))
                .await;
        match password {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %e, "cannot host the embedded broker without the store's password");
                let _ = report.send(None);
                continue;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot host the embedded broker");
                let _ = report.send(None);
                continue;
            }
        }
        let started_at_ms = u64::try_from(crate::clock::SystemClock.wall_ms()).unwrap_or(0);
        let key = BrokerKey {
            started_at_ms,
            host: settings.host.clone(),
        };
        let mut port = match (settings.port, &settings.mdns) {
            (Some(p), _) => p,
            (None, MdnsScope::Lan) => STORE_PORT,
            (None, _) => match free_port(settings.mdns.broker_listen_ip()) {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "no free port for the embedded broker");
                    let _ = report.send(None);
                    continue;
                }
            },
        };
        tracing::info!(%key, port, "hosting the embedded broker");
        let mut pause = FIRST_RESTART_PAUSE;
        let mut restarts = 0u64;
        let mut ever_up = false;
        'hosting: loop {
            let mut child = match spawn(&settings, &key, port) {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, program = %settings.program.display(), "cannot start the embedded broker");
                    let _ = report.send(None);
                    break 'hosting;
                }
            };
            let pid = Some(child.id());
            let came_up = ready(&mut child, port).await;
            let since = Instant::now();
            if came_up {
                ever_up = true;
                let _ = report.send(Some(Hosting {
                    key: key.clone(),
                    port,
                    pid,
                    up: true,
                    restarts,
                }));
            }
            if !came_up {
                if exited(&mut child).is_none() {
                    tracing::warn!(
                        port,
                        "the embedded broker did not listen in time; starting it again"
                    );
                    stop(child).await;
                }
            } else {
                // Runs until the broker exits or the device asks it to stop (a second Start
                // while hosting changes nothing).
                let stopped = loop {
                    tokio::select! {
                        () = tokio::time::sleep(CHILD_POLL) => {
                            if let Some(status) = exited(&mut child) {
                                tracing::warn!(%status, port, "the embedded broker exited; starting it again");
                                break false;
                            }
                        }
                        command = commands.recv() => match command {
                            Some(HostCommand::Start) => continue,
                            Some(HostCommand::Stop) | None => break true,
                        },
                    }
                };
                if stopped {
                    tracing::info!(%key, "stopping the embedded broker");
                    stop(child).await;
                    let _ = report.send(None);
                    if commands.is_closed() {
                        return;
                    }
                    break 'hosting;
                }
            }
            let _ = report.send(Some(Hosting {
                key: key.clone(),
                port,
                pid: None,
                up: false,
                restarts,
            }));
            if since.elapsed() >= STABLE_AFTER {
                pause = FIRST_RESTART_PAUSE;
            }
            if !ever_up && settings.port.is_none() {
                // It never listened: the port was probably taken meanwhile; take another.
                if let Ok(p) = free_port(settings.mdns.broker_listen_ip()) {
                    port = p;
                }
            }
            restarts += 1;
            let sleep = tokio::time::sleep(pause);
            tokio::pin!(sleep);
            let stopped = loop {
                tokio::select! {
                    () = &mut sleep => break false,
                    command = commands.recv() => match command {
                        Some(HostCommand::Start) => continue,
                        Some(HostCommand::Stop) | None => break true,
                    },
                }
            };
            if stopped {
                let _ = report.send(None);
                if commands.is_closed() {
                    return;
                }
                break 'hosting;
            }
            pause = (pause * 2).min(MAX_RESTART_PAUSE);
        }
    }
}
