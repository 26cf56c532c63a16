//! A running device: its journal, replication over MQTT, and a local control socket.
//!
//! One process owns the device's database. The tokio runtime runs these tasks that talk over
//! channels, so that nothing waits on anything it also has to drive:
//!
//! - the **MQTT task** ([`link`]) owns the MQTT client's event loop, pointed at whichever broker
//!   the device uses (MQTT 5 with a broker that speaks it, so a publish the broker refuses comes
//!   back with a reason code, counted and logged; 3.1.1 with the embedded broker): it polls,
//!   hands incoming publishes and (re)connections to the replication task, and backs off on
//!   errors (the session starts clean, so every ConnAck re-subscribes);
//! - the **discovery task** ([`discover`], only without `--broker`) finds the store's broker by
//!   mDNS, tries the last address that worked first, and hosts the embedded broker as a
//!   supervised child process ([`host`]) when the device may and nobody answers;
//! - the **replication task** owns the [`Replicator`] state machine and carries out its actions
//!   in order: publish, apply to the journal (on a blocking thread: the journal commits before it
//!   answers), note a peer's head of this device's own origin;
//! - the **inbox task**, on the one device that ingests the store's integration inbox
//!   (`--inbox`), takes orders from outside systems and answers them (see [`crate::net::inbox`]);
//! - the **control task** serves the control socket (one JSON object per line), which is how
//!   `pass` drives a device: status, append an event, set or advance the controlled clock, stop,
//!   and work a kitchen screen's tickets or an order terminal's screens as a person would;
//! - a kitchen screen writes "ticket shown" for its new tickets whenever the journal changes,
//!   and an order terminal goes back to its PIN screen once idle (`kitchen_duty`,
//!   `terminal_duty`).
//!
//! Replication timing (heartbeats, cut-off) runs on the machine's monotonic clock; events are
//! stamped with the device's clock source (the system clock, or a controlled clock in tests and
//! the demo), so a simulated service can run fast without breaking presence.

mod args;
mod control;
mod discover;
pub mod files;
mod host;
mod inbox;
mod link;

pub use args::DeviceArgs;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, mpsc, watch};

use crate::clock::{Clock, ManualClock, SystemClock};
use crate::event::DeviceRole;
use crate::journal::{Journal, JournalOptions};
use crate::kitchen::actions::KitchenAction;
use crate::kitchen::settings::KdsSettings;
use crate::net::discovery::{DeviceAd, Mdns, MdnsScope, MqttVersion};
use crate::net::finder::{Endpoint, Finder, Timing};
use crate::net::protocol::v1::{DeviceId, StoreId, Topic};
use crate::net::replication::{Action, Identity, Replicator, Tuning};
use crate::projection::StoreProjections;
use crate::terminal::{Terminal, TerminalHost, TerminalSettings};

use self::host::Hosting;
use self::link::{LinkState, LinkTarget, MqttLink};

/// How often the replicator is ticked.
const TICK: Duration = Duration::from_millis(250);
/// The user name devices give the embedded broker (one login per store).
pub const STORE_BROKER_USER: &str = "pass";

/// Everything a device needs to start.
#[derive(Debug, Clone)]
pub struct DeviceConfig {
    pub db: PathBuf,
    pub store: StoreId,
    pub device: DeviceId,
    pub role: DeviceRole,
    pub name: String,
    /// The broker: a configured address, or found by discovery.
    pub broker: BrokerSetting,
    /// User name and password for the broker, when it asks for them. Without them a device
    /// gives the embedded broker the store's login (the password file beside the database).
    pub credentials: Option<Credentials>,
    pub control: PathBuf,
    /// Start a controlled clock at this instant (ms since the epoch) instead of the system clock.
    pub manual_clock_ms: Option<i64>,
    /// A kitchen screen's station (`--station`); its settings file may add stations taken over.
    pub station: Option<String>,
    /// This device ingests the store's integration inbox (orders from online-ordering and
    /// delivery systems): exactly one device of a store does.
    pub inbox: bool,
    /// Which interfaces mDNS uses (advertising this device, finding the broker).
    pub mdns: MdnsScope,
    /// Whether this device may host the embedded broker when no broker answers.
    pub host_broker: bool,
    /// A fixed port for the embedded broker this device hosts (`None`: 1883 on a store's LAN,
    /// a free one elsewhere).
    pub broker_port: Option<u16>,
}

/// Where a device's broker comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerSetting {
    /// `--broker`, or the configuration file's `broker`: this address, no discovery. The MQTT
    /// version is found by trying (5 first, then 3.1.1).
    Configured { host: String, port: u16 },
    /// Found by mDNS (the last address that worked first), hosted if the device may.
    Discover,
}

/// A broker user name and password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password never reaches a log.
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Parses `mqtt://host:port` (loopback or LAN address; no credentials in the URL).
pub fn parse_broker_url(url: &str) -> Result<(String, u16), String> {
    let rest = url
        .strip_prefix("mqtt://")
        .ok_or_else(|| format!("`{url}`: a broker address starts with mqtt://"))?;
    let (host, port) = rest
        .rsplit_once(':')
        .ok_or_else(|| format!("`{url}`: give host:port"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("`{url}`: `{port}` is not a port"))?;
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
    if !host_ok || port == 0 {
        return Err(format!("`{url}`: not a usable broker address"));
    }
    Ok((
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned(),
        port,
    ))
}

/// What the replication task hears.
enum Input {
    Connected,
    Message {
        topic: String,
        payload: Vec<u8>,
        retained: bool,
    },
}

/// State shared between the tasks (read by the control socket).
pub(crate) struct Shared {
    pub journal: Arc<Journal>,
    pub replicator: Mutex<Replicator>,
    pub connected: Mutex<bool>,
    /// Publishes the broker acknowledged with a refusal (MQTT 5 reason code), e.g. an ACL that
    /// does not let this device write a topic.
    pub refused_publishes: std::sync::atomic::AtomicU64,
    pub manual_clock: Option<ManualClock>,
    pub started: Instant,
    /// The system clock when the device started: replication time starts there, so request
    /// ids of a restarted device never repeat those of its previous run.
    pub base_ms: u64,
    pub local_changed: Notify,
    /// Bumped whenever the journal's heads may have changed (for `wait_for`).
    pub heads_version: watch::Sender<u64>,
    pub stop: watch::Sender<bool>,
    pub device: DeviceId,
    pub store: StoreId,
    /// The test-only fault hook, read from the environment once at start-up.
    pub fault: Option<control::Fault>,
    /// Local appends committed by this run (for the fault hook).
    pub appends: AtomicU64,
    /// Peers' envelopes accepted into the journal from live `ev/…` messages, this run.
    pub received_live: AtomicU64,
    /// Peers' envelopes accepted into the journal from pull answers (`sync/…`), this run.
    pub received_by_pull: AtomicU64,
    /// The clock events are stamped with (and kitchen actions are timed by).
    pub clock: Arc<dyn Clock>,
    /// A kitchen screen's settings and where they are kept; `None` for other devices.
    pub kitchen: Option<Mutex<(KdsSettings, PathBuf)>>,
    /// An order terminal's session, screens and settings; `None` for other devices.
    pub terminal: Option<Mutex<Terminal>>,
    /// When the device was opened, for the time it took to connect.
    pub launched: Instant,
    /// The broker in use, for the status.
    pub broker: Mutex<BrokerView>,
}

/// What the status shows about the broker.
#[derive(Debug, Default)]
pub(crate) struct BrokerView {
    /// The address the link points at.
    pub url: Option<String>,
    /// How the device came to it: configured, remembered, advertised, hosted.
    pub source: Option<&'static str>,
    /// Which advertised broker it is (`<host>@<started>`), when it is one.
    pub broker: Option<String>,
    /// The MQTT version of the current connection.
    pub mqtt: Option<MqttVersion>,
    /// How long after start the first connection came, in ms.
    pub connected_after_ms: Option<u64>,
    /// The embedded broker this device hosts.
    pub hosting: Option<Hosting>,
}

impl Shared {
    /// Milliseconds on the monotonic clock that replication timing uses.
    pub fn mono_ms(&self) -> u64 {
        let elapsed = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.base_ms.saturating_add(elapsed)
    }
}

/// Runs a device until it is told to stop (control socket `stop`, Ctrl-C or SIGTERM).
pub fn run(config: DeviceConfig) -> anyhow::Result<()> {
    Device::open(config)?.serve()
}

/// Opens a device and serves it on a thread of its own: how an app with a window runs its
/// device beside the renderer. The handle reads and drives it; [`DeviceHandle::stop`] ends it.
pub fn spawn(config: DeviceConfig) -> anyhow::Result<DeviceHandle> {
    let device = Device::open(config)?;
    let handle = device.handle();
    std::thread::Builder::new()
        .name("pass-device".into())
        .spawn(move || {
            if let Err(e) = device.serve() {
                tracing::error!(error = %format!("{e:#}"), "the device stopped");
            }
        })?;
    Ok(handle)
}

/// A device opened (journal, identity, replication state) but not yet serving.
pub struct Device {
    config: DeviceConfig,
    shared: Arc<Shared>,
}

impl Device {
    /// Opens the device's database and settings; nothing is on the network yet.
    pub fn open(config: DeviceConfig) -> anyhow::Result<Device> {
        let launched = Instant::now();
        let fault = control::Fault::from_env()?;
        if let Some(fault) = fault {
            tracing::warn!(?fault, "test fault hook armed ({})", control::FAULT_VAR);
        }
        let (clock, manual): (Arc<dyn Clock>, Option<ManualClock>) = match config.manual_clock_ms {
            Some(ms) => {
                let c = ManualClock::starting_at(ms);
                (Arc::new(c.clone()), Some(c))
            }
            None => (Arc::new(SystemClock), None),
        };
        let kitchen = match config.role {
            DeviceRole::KitchenScreen => Some(Mutex::new(kitchen_settings(&config)?)),
            _ => None,
        };
        let terminal = match config.role {
            DeviceRole::OrderTerminal => Some(Mutex::new(
                Terminal::open(
                    TerminalSettings::path_for(&config.db),
                    config.device.as_str(),
                )
                .map_err(anyhow::Error::msg)?
                .with_device_files(&config.db),
            )),
            _ => None,
        };
        // A database from before the report facts gets them derived once, from its journal.
        crate::projection::upgrade(&config.db)?;
        let journal = Arc::new(Journal::open_with(
            &config.db,
            JournalOptions::new(Arc::clone(&clock), config.role, config.name.clone()),
            vec![Box::new(StoreProjections::new())],
        )?);
        let identity = Identity {
            store: config.store.clone(),
            device: config.device.clone(),
            origin: journal.origin().clone(),
            role: config.role.into(),
            name: config.name.clone(),
        };
        let started = Instant::now();
        let base_ms = u64::try_from(SystemClock.wall_ms()).unwrap_or(0);
        let replicator = Replicator::new(identity, Tuning::default(), journal.heads()?, base_ms);
        let shared = Arc::new(Shared {
            journal,
            replicator: Mutex::new(replicator),
            connected: Mutex::new(false),
            refused_publishes: std::sync::atomic::AtomicU64::new(0),
            manual_clock: manual,
            started,
            base_ms,
            local_changed: Notify::new(),
            heads_version: watch::channel(0).0,
            stop: watch::channel(false).0,
            device: config.device.clone(),
            store: config.store.clone(),
            fault,
            appends: AtomicU64::new(0),
            received_live: AtomicU64::new(0),
            received_by_pull: AtomicU64::new(0),
            clock,
            kitchen,
            terminal,
            launched,
            broker: Mutex::new(BrokerView::default()),
        });
        Ok(Device { config, shared })
    }

    /// A handle for reading and driving the device while it serves.
    pub fn handle(&self) -> DeviceHandle {
        DeviceHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Serves the device (MQTT, replication, control socket) until it is told to stop.
    pub fn serve(self) -> anyhow::Result<()> {
        let Device { config, shared } = self;
        let stop_rx = shared.stop.subscribe();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("pass-device")
            .build()?;
        runtime.block_on(async move {
            let (inputs, inputs_rx) = mpsc::channel(4_096);
            let link = MqttLink::default();
            let (targets, targets_rx) = watch::channel(None);
            let (states, states_rx) = watch::channel(LinkState::Down { generation: 0 });
            tokio::spawn(link::run(
                Arc::clone(&shared),
                link.clone(),
                targets_rx,
                states,
                inputs,
                credential_source(&config),
            ));
            let inbox = config
                .inbox
                .then(|| inbox::Handle::start(&shared, link.clone()));
            let listener = control::bind(&config.control)?;
            let mdns = advertise(&config, &shared)?;
            let (hosting_tx, hosting_rx) = watch::channel(None);
            let mut supervisor = None;
            let mut discovery = None;
            match &config.broker {
                BrokerSetting::Configured { host, port } => {
                    let endpoint = Endpoint {
                        host: host.clone(),
                        port: *port,
                        mqtt: MqttVersion::V5,
                    };
                    {
                        let mut view = lock(&shared.broker);
                        view.url = Some(endpoint.to_string());
                        view.source = Some("configured");
                    }
                    let _ = targets.send(Some(LinkTarget {
                        generation: 1,
                        endpoint,
                        version_known: false,
                    }));
                }
                BrokerSetting::Discover => {
                    let mdns = mdns.clone().ok_or_else(|| {
                        anyhow::anyhow!("no broker: give --broker mqtt://host:port, or let mDNS find one (--mdns loopback, lan or an interface)")
                    })?;
                    let browser = mdns.browse_brokers(&config.store)?;
                    let host = if config.host_broker {
                        let (commands, commands_rx) = mpsc::channel(4);
                        let settings = host::HostSettings {
                            program: host::pass_program(),
                            store: config.store.clone(),
                            host: config.device.clone(),
                            mdns: config.mdns.clone(),
                            db: config.db.clone(),
                            user: STORE_BROKER_USER.to_owned(),
                            port: config.broker_port,
                        };
                        supervisor = Some(tokio::spawn(host::supervise(
                            settings,
                            commands_rx,
                            hosting_tx.clone(),
                        )));
                        Some(commands)
                    } else {
                        None
                    };
                    let remembered = files::remembered_broker(&config.db);
                    let finder = Finder::new(
                        config.host_broker,
                        Timing::with_draw(random_draw()),
                        remembered,
                        shared.mono_ms(),
                    );
                    let task = discover::Discovery {
                        shared: Arc::clone(&shared),
                        finder,
                        mdns,
                        browser,
                        db: config.db.clone(),
                        targets,
                        states: states_rx,
                        host,
                        hosting: hosting_rx,
                    };
                    discovery = Some(tokio::spawn(task.run(stop_rx.clone())));
                }
            }
            tracing::info!(device = %config.device, origin = %shared.journal.origin(), control = %config.control.display(), mdns = %config.mdns, "device running");
            let control_task = tokio::spawn(control::serve(listener, Arc::clone(&shared)));
            let signals = tokio::spawn(stop_on_signal(Arc::clone(&shared)));
            let kitchen_task = tokio::spawn(kitchen_duty(Arc::clone(&shared)));
            let terminal_task = tokio::spawn(terminal_duty(Arc::clone(&shared)));
            replicate(Arc::clone(&shared), link.clone(), inputs_rx, stop_rx, inbox).await;
            // A clean stop says goodbye, so peers do not wait for the heartbeat to lapse.
            let farewell = lock(&shared.replicator).farewell();
            for action in farewell {
                if let Action::Publish(out) = action {
                    let _ = link.publish(out).await;
                }
            }
            link.disconnect().await;
            // The discovery task ends with the stop; its end closes the supervisor's commands,
            // which stops a hosted broker (it withdraws its advertisement as it goes).
            if let Some(task) = discovery {
                let _ = task.await;
            }
            if let Some(task) = supervisor {
                let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
            }
            if let Some(mdns) = mdns.and_then(|m| Arc::try_unwrap(m).ok()) {
                tokio::task::spawn_blocking(move || mdns.shutdown()).await.ok();
            }
            control_task.abort();
            signals.abort();
            kitchen_task.abort();
            terminal_task.abort();
            let _ = std::fs::remove_file(&config.control);
            anyhow::Ok(())
        })?;
        Ok(())
    }
}

/// A kitchen screen's settings: its file beside the database, with `--station` (when given)
/// deciding the station; written back when the station changed or there was no file.
fn kitchen_settings(config: &DeviceConfig) -> anyhow::Result<(KdsSettings, PathBuf)> {
    let path = KdsSettings::path_for(&config.db);
    let loaded = KdsSettings::load(&path).map_err(|e| anyhow::anyhow!(e))?;
    let settings = match (loaded, &config.station) {
        (Some(s), Some(station)) if &s.station == station => s,
        (Some(mut s), Some(station)) => {
            s.station = station.clone();
            s.taken_over.retain(|t| t != station);
            s.save(&path).map_err(|e| anyhow::anyhow!(e))?;
            s
        }
        (Some(s), None) => s,
        (None, station) => {
            let s = KdsSettings::new(station.as_deref().unwrap_or(crate::kitchen::EXPO));
            s.save(&path).map_err(|e| anyhow::anyhow!(e))?;
            s
        }
    };
    Ok((settings, path))
}

/// A kitchen screen's standing duty: whenever the journal changes, write "ticket shown" for
/// each fired ticket of its stations that no screen has shown yet (its timer starts there).
async fn kitchen_duty(shared: Arc<Shared>) {
    if shared.kitchen.is_none() {
        return;
    }
    let mut changes = shared.heads_version.subscribe();
    loop {
        changes.borrow_and_update();
        let handle = DeviceHandle {
            shared: Arc::clone(&shared),
        };
        match tokio::task::spawn_blocking(move || handle.show_new_tickets()).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::debug!(tickets = n, "tickets shown"),
            Ok(Err(e)) => tracing::error!(error = %e, "cannot mark tickets shown"),
            Err(e) => tracing::error!(error = %e, "kitchen duty stopped"),
        }
        if changes.changed().await.is_err() {
            return;
        }
    }
}

/// How often an order terminal checks whether its session has been idle too long.
const TERMINAL_TICK: Duration = Duration::from_secs(1);

/// An order terminal's standing duty: back to the PIN screen (its check put down) once nobody
/// has touched it for its idle minutes, even when nobody looks at it.
async fn terminal_duty(shared: Arc<Shared>) {
    if shared.terminal.is_none() {
        return;
    }
    let mut tick = tokio::time::interval(TERMINAL_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let handle = DeviceHandle {
            shared: Arc::clone(&shared),
        };
        let ticked = tokio::task::spawn_blocking(move || {
            handle.with_terminal(|terminal, host| terminal.tick(host))
        })
        .await;
        match ticked {
            Ok(Some(Ok(()))) | Ok(None) => {}
            Ok(Some(Err(e))) => tracing::error!(error = %e, "terminal idle check failed"),
            Err(e) => tracing::error!(error = %e, "terminal duty stopped"),
        }
    }
}

/// How a device's link to its store looks now: what its screen's status bar shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Link {
    /// Connected to the broker.
    pub connected: bool,
    /// No peer heard since this instant on the device's clock (ms since the epoch, like its
    /// events' times); `None` while some peer is heard (or none was ever expected).
    pub cut_off_since_ms: Option<u64>,
    /// Own events no peer has confirmed holding yet.
    pub unconfirmed: u64,
    /// Peers heard recently, by device id.
    pub peers: Vec<String>,
}

/// Reads and drives a running device from the same process (the app with a window).
#[derive(Clone)]
pub struct DeviceHandle {
    shared: Arc<Shared>,
}

impl DeviceHandle {
    pub fn journal(&self) -> &Arc<Journal> {
        &self.shared.journal
    }

    /// The device's id in the store.
    pub fn device_id(&self) -> &str {
        self.shared.device.as_str()
    }

    /// Now, on the device's clock (the one its events are stamped with).
    pub fn now_ms(&self) -> i64 {
        self.shared.clock.wall_ms()
    }

    /// The controlled clock, when the device runs on one (tests and the demo).
    pub fn manual_clock(&self) -> Option<&ManualClock> {
        self.shared.manual_clock.as_ref()
    }

    /// Changes whenever the journal's heads may have changed: a cue to read the projections again.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.shared.heads_version.subscribe()
    }

    pub fn link(&self) -> Link {
        let now = self.shared.mono_ms();
        let clock_now = u64::try_from(self.now_ms()).unwrap_or(0);
        let r = lock(&self.shared.replicator);
        Link {
            connected: *lock(&self.shared.connected),
            // Replication times on the monotonic clock; say it on the device's clock, which is
            // the one on screen (a controlled clock in the demo and tests).
            cut_off_since_ms: r
                .cut_off_since(now)
                .map(|since| clock_now.saturating_sub(now.saturating_sub(since))),
            unconfirmed: r.unconfirmed(),
            peers: r
                .peers(now)
                .into_iter()
                .filter(|p| p.present)
                .map(|p| p.device.to_string())
                .collect(),
        }
    }

    /// Appends `event` (committed before this returns) and lets replication publish it.
    pub fn append(
        &self,
        event: &crate::event::Event,
    ) -> Result<crate::journal::Committed, crate::journal::JournalError> {
        let committed = self.shared.journal.append(event)?;
        self.note_journal_changed();
        Ok(committed)
    }

    /// Tells replication and the screen that the journal was written to directly (through
    /// [`DeviceHandle::journal`]): replication publishes, the screen reads again.
    pub fn note_journal_changed(&self) {
        self.shared.local_changed.notify_one();
        self.shared.heads_version.send_modify(|v| *v += 1);
    }

    /// A kitchen screen's settings (`None` for other devices).
    pub fn kitchen_settings(&self) -> Option<KdsSettings> {
        self.shared.kitchen.as_ref().map(|k| lock(k).0.clone())
    }

    /// Replaces a kitchen screen's settings: checked, saved to its file, then in force.
    pub fn set_kitchen_settings(&self, settings: KdsSettings) -> Result<(), String> {
        let kitchen = self
            .shared
            .kitchen
            .as_ref()
            .ok_or("only a kitchen screen has kitchen settings")?;
        let mut guard = lock(kitchen);
        settings.save(&guard.1)?;
        guard.0 = settings;
        drop(guard);
        // Tickets of a station just taken over may need showing.
        self.shared.heads_version.send_modify(|v| *v += 1);
        Ok(())
    }

    /// Carries out a cook's action at the device's now: checked against the ticket rules, then
    /// committed. Returns the event's sequence number.
    pub fn act(&self, action: &KitchenAction) -> Result<u64, String> {
        let now = self.now_ms();
        let event = self
            .shared
            .journal
            .read(|db| Ok(crate::kitchen::actions::plan(db, action, now)))
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        self.append(&event)
            .map(|c| c.seq)
            .map_err(|e| e.to_string())
    }

    /// Writes "ticket shown" for this kitchen screen's new tickets; returns how many.
    pub fn show_new_tickets(&self) -> Result<usize, String> {
        let Some(settings) = self.kitchen_settings() else {
            return Ok(0);
        };
        let now = self.now_ms();
        let events = self
            .shared
            .journal
            .read(|db| {
                Ok(crate::kitchen::actions::shown_events(
                    db,
                    &settings.stations(),
                    now,
                ))
            })
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        for event in &events {
            self.append(event).map_err(|e| e.to_string())?;
        }
        Ok(events.len())
    }

    /// Runs `f` on an order terminal's [`Terminal`] with this handle as its host (`None` for
    /// other devices). Terminal intents are carried out one at a time.
    pub fn with_terminal<T>(&self, f: impl FnOnce(&mut Terminal, &DeviceHandle) -> T) -> Option<T> {
        let terminal = self.shared.terminal.as_ref()?;
        let mut guard = lock(terminal);
        Some(f(&mut guard, self))
    }

    /// Asks the device to stop (it says goodbye to its peers first).
    pub fn stop(&self) {
        let _ = self.shared.stop.send(true);
    }
}

impl TerminalHost for DeviceHandle {
    fn journal(&self) -> &Journal {
        &self.shared.journal
    }

    fn append(
        &self,
        event: &crate::event::Event,
    ) -> Result<crate::journal::Committed, crate::journal::JournalError> {
        DeviceHandle::append(self, event)
    }

    fn now_ms(&self) -> i64 {
        DeviceHandle::now_ms(self)
    }

    fn device_id(&self) -> String {
        self.shared.device.to_string()
    }

    fn link(&self) -> Link {
        DeviceHandle::link(self)
    }
}

/// Starts mDNS on the configured interfaces and advertises this device (a kitchen screen with
/// the station its settings hold); `None` when mDNS is off. A device with a configured broker
/// runs without mDNS if it cannot start (logged); an unconfigured one cannot.
fn advertise(config: &DeviceConfig, shared: &Shared) -> anyhow::Result<Option<Arc<Mdns>>> {
    if config.mdns == MdnsScope::Off {
        return Ok(None);
    }
    let station = match &shared.kitchen {
        Some(kitchen) => Some(lock(kitchen).0.station.clone()),
        None => config.station.clone(),
    };
    let ad = DeviceAd::new(
        config.store.clone(),
        config.device.clone(),
        config.role.into(),
        station,
        config.name.clone(),
    )?;
    let started = Mdns::start(&config.mdns).and_then(|mdns| {
        mdns.advertise_device(&ad)?;
        Ok(mdns)
    });
    match started {
        Ok(mdns) => Ok(Some(Arc::new(mdns))),
        Err(e) if matches!(config.broker, BrokerSetting::Configured { .. }) => {
            tracing::warn!(error = %e, "mDNS did not start: this device is not advertised");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// The credentials a connection gives: the device's own (`--mqtt-user`), else the store's
/// login for the embedded broker when the password file beside the database exists (read at
/// each connection, so a file that appears later is used).
fn credential_source(config: &DeviceConfig) -> link::CredentialSource {
    if let Some(own) = &config.credentials {
        let own = own.clone();
        return Arc::new(move || Some(own.clone()));
    }
    let db = config.db.clone();
    let warned = Arc::new(std::sync::atomic::AtomicBool::new(false));
    Arc::new(move || match files::store_password(&db) {
        Ok(password) => password.map(|password| Credentials {
            user: STORE_BROKER_USER.to_owned(),
            password,
        }),
        Err(e) => {
            if !warned.swap(true, Ordering::Relaxed) {
                tracing::warn!(error = %e, "cannot use the store's broker password");
            }
            None
        }
    })
}

/// A random draw for the host wait's jitter (the process id if the system has no randomness).
fn random_draw() -> u64 {
    getrandom::u64().unwrap_or_else(|_| u64::from(std::process::id()))
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves the state as it was between two whole calls.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn stop_on_signal(shared: Arc<Shared>) {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM");
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("stopping on signal");
    let _ = shared.stop.send(true);
}

/// The path by which a message brought peers' envelopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arrival {
    /// Published live on `ev/<origin>`.
    Live,
    /// An answer to this device's pull, on `sync/<requester>/<responder>`.
    Pull,
}

impl Arrival {
    fn of(store: &StoreId, topic: &str) -> Option<Arrival> {
        match Topic::parse(store, topic) {
            Ok(Topic::Events { .. }) => Some(Arrival::Live),
            Ok(Topic::Sync { .. }) => Some(Arrival::Pull),
            _ => None,
        }
    }
}

/// The replication task: feeds the replicator and carries out its actions.
async fn replicate(
    shared: Arc<Shared>,
    link: MqttLink,
    mut inputs: mpsc::Receiver<Input>,
    mut stop: watch::Receiver<bool>,
    inbox: Option<inbox::Handle>,
) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let (arrival, actions) = tokio::select! {
            _ = stop.changed() => return,
            _ = tick.tick() => (None, lock(&shared.replicator).tick(shared.mono_ms())),
            _ = shared.local_changed.notified() => (None, local_heads_changed(&shared).await),
            input = inputs.recv() => match input {
                None => return,
                Some(Input::Connected) => {
                    if let Some(inbox) = &inbox {
                        inbox.on_connected(&link);
                    }
                    (None, lock(&shared.replicator).on_connected(shared.mono_ms()))
                }
                // Orders for the integration inbox are not replication's.
                Some(Input::Message { topic, payload, .. })
                    if inbox.as_ref().is_some_and(|i| i.wants(&topic)) =>
                {
                    if let Some(inbox) = &inbox {
                        inbox.divert(topic, payload);
                    }
                    (None, Vec::new())
                }
                Some(Input::Message { topic, payload, retained }) => {
                    let journal = Arc::clone(&shared.journal);
                    let now = shared.mono_ms();
                    let arrival = Arrival::of(&shared.store, &topic);
                    let actions = lock(&shared.replicator)
                        .on_message(&topic, &payload, retained, now, &*journal);
                    (arrival, actions)
                }
            },
        };
        carry_out(&shared, &link, arrival, actions).await;
    }
}

async fn local_heads_changed(shared: &Arc<Shared>) -> Vec<Action> {
    let journal = Arc::clone(&shared.journal);
    let read = tokio::task::spawn_blocking(move || {
        let heads = journal.heads()?;
        let retired = journal.read(crate::projection::retired_devices)?;
        Ok::<_, crate::journal::JournalError>((heads, retired))
    });
    let heads = match read.await {
        Ok(Ok((h, retired))) => {
            lock(&shared.replicator).set_retired(retired);
            h
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot read the journal's heads");
            return Vec::new();
        }
        Err(e) => {
            tracing::error!(error = %e, "heads reader stopped");
            return Vec::new();
        }
    };
    shared.heads_version.send_modify(|v| *v += 1);
    let journal = Arc::clone(&shared.journal);
    lock(&shared.replicator).on_local_heads(heads, shared.mono_ms(), &*journal)
}

/// Carries out `actions` in order. `arrival` is the path of the message that produced them, so
/// that the envelopes its `Apply` brings in are counted by path (actions that follow from the
/// journal's new heads count nowhere).
async fn carry_out(
    shared: &Arc<Shared>,
    link: &MqttLink,
    arrival: Option<Arrival>,
    actions: Vec<Action>,
) {
    let mut queue: std::collections::VecDeque<(Option<Arrival>, Action)> =
        actions.into_iter().map(|a| (arrival, a)).collect();
    while let Some((arrival, action)) = queue.pop_front() {
        match action {
            Action::Publish(out) => {
                // A full request queue while the broker is away must not stall replication:
                // what is not published now is offered again through `have` and pulls.
                if let Err(e) = link.try_publish(out) {
                    tracing::debug!(error = %e, "publish not queued");
                }
            }
            Action::Apply(batch) => {
                let journal = Arc::clone(&shared.journal);
                match tokio::task::spawn_blocking(move || journal.apply(batch)).await {
                    Ok(Ok(report)) => {
                        tracing::debug!(?report, ?arrival, "applied");
                        let counter = match arrival {
                            Some(Arrival::Live) => Some(&shared.received_live),
                            Some(Arrival::Pull) => Some(&shared.received_by_pull),
                            None => None,
                        };
                        if let Some(counter) = counter {
                            let n = u64::try_from(report.accepted + report.released)
                                .unwrap_or(u64::MAX);
                            counter.fetch_add(n, Ordering::Relaxed);
                        }
                    }
                    Ok(Err(e)) => {
                        tracing::error!(error = %e, "applying events failed; they will be offered again")
                    }
                    Err(e) => tracing::error!(error = %e, "apply task stopped"),
                }
                queue.extend(
                    local_heads_changed(shared)
                        .await
                        .into_iter()
                        .map(|a| (None, a)),
                );
            }
            Action::NotePeerHead { origin, seq } => {
                if let Err(e) = shared.journal.note_peer_head(&origin, seq) {
                    tracing::error!(error = %e, "cannot note a peer's head");
                }
            }
        }
    }
}

/// Logs to stderr at the level `PASS_LOG` asks for (default `warn`; e.g. `PASS_LOG=info`).
/// For processes without a window; Bevy apps log through Bevy. By default the embedded broker's
/// per-connection messages are left out: it logs a connection that closes before its MQTT
/// CONNECT (a device checking that the broker's port answers) as an error. Failures that matter
/// are logged by Pass itself, and `PASS_LOG` shows everything.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PASS_LOG")
        .unwrap_or_else(|_| "warn,rumqttd::server::broker=off".into());
    // A second call (a test harness that set one up already) keeps the first.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
