//! The kitchen screen's logic as a Bevy plugin, with no rendering: it keeps the [`Screen`]
//! resource (the board, the selection, the link status) up to date from the device, turns keys
//! and touches into kitchen actions, and carries them out. Everything it decides comes from
//! `pass_shared::kitchen`; this module only schedules it.
//!
//! The board is rebuilt when the journal changed, when an action was taken, or when a ticket's
//! timer shows another second — not every frame.

use std::collections::BTreeMap;

use bevy::prelude::*;
use pass_shared::device::{DeviceHandle, Link};
use pass_shared::domain::business_day::StoreTimeZone;
use pass_shared::domain::ticket::ItemState;
use pass_shared::kitchen::EXPO;
use pass_shared::kitchen::actions::KitchenAction;
use pass_shared::kitchen::board::{self, Board, BoardInput};
use pass_shared::kitchen::cards::{self, TicketCard};
use pass_shared::kitchen::keymap::{KeyAction, KeyMap};
use pass_shared::kitchen::screen::{LowStock, ScreenState};
use pass_shared::kitchen::settings::KdsSettings;
use tokio::sync::watch;

/// The running device this screen shows.
#[derive(Resource, Clone)]
pub struct Device(pub DeviceHandle);

/// The device's change counter, watched for "the journal changed".
#[derive(Resource)]
struct Changes(watch::Receiver<u64>);

/// The bump bar's key map.
#[derive(Resource, Debug, Clone, Default)]
pub struct Keys(pub KeyMap);

/// How the screen's link to the store looks; refreshed from the device every frame, set by hand
/// in tests.
#[derive(Resource, Debug, Clone, PartialEq, Eq)]
pub struct LinkStatus(pub Link);

impl Default for LinkStatus {
    fn default() -> Self {
        LinkStatus(Link {
            connected: false,
            cut_off_since_ms: None,
            unconfirmed: 0,
            peers: Vec::new(),
        })
    }
}

/// Something on the screen a cook should notice: a sound and a flash (see `alerts`).
#[derive(Message, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Alert {
    NewTicket,
    Changed,
    Voided,
}

/// A cook's command from a touch or a click (keys come through the key map).
#[derive(Message, Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Key(KeyAction),
    /// A card touched, by its slot on the page.
    Card(usize),
    /// A button for one exact action (force-bump, undo a rush).
    Act(KitchenAction),
    /// Open the settings overlay (it asks for a manager PIN).
    OpenSettings,
}

/// What the screen shows now.
#[derive(Resource, Debug)]
pub struct Screen {
    pub settings: KdsSettings,
    pub state: ScreenState,
    pub board: Board,
    /// The open tickets the board was built from.
    pub tickets: Vec<TicketCard>,
    pub recall: Vec<TicketCard>,
    pub all_day: Vec<(String, u32)>,
    pub median_last_hour_ms: Option<i64>,
    /// The items running low that this screen's stations cook, for the status bar.
    pub low_stock: LowStock,
    /// The device's clock when the board was built.
    pub now_ms: i64,
    /// The store's time zone, for clock times on screen.
    pub time_zone: StoreTimeZone,
    /// The last refusal, shown until the next action.
    pub message: Option<String>,
    /// Bumped whenever what is shown changed: the renderer redraws then.
    pub version: u64,
    /// Each ticket's items as last seen (for the new / changed / voided alerts).
    seen: BTreeMap<String, Vec<(String, ItemState)>>,
    loaded: bool,
}

impl Screen {
    fn new(settings: KdsSettings) -> Screen {
        let board = board::station_board(
            &BoardInput {
                station: &settings.station,
                taken_over: &settings.taken_over,
                timers: &settings.timers,
                grid: settings.layout,
                now_ms: 0,
                page: 0,
            },
            &[],
        );
        Screen {
            settings,
            state: ScreenState::default(),
            board,
            tickets: Vec::new(),
            recall: Vec::new(),
            all_day: Vec::new(),
            median_last_hour_ms: None,
            low_stock: LowStock::default(),
            now_ms: 0,
            time_zone: StoreTimeZone::default(),
            message: None,
            version: 0,
            seen: BTreeMap::new(),
            loaded: false,
        }
    }

    /// The red banner's text while no other device is heard (cut off), in the store's local
    /// time; `None` while the store is heard.
    pub fn cut_off_banner(&self, link: &Link) -> Option<String> {
        let since = link.cut_off_since_ms?;
        let since = self
            .time_zone
            .clock_text(i64::try_from(since).unwrap_or(i64::MAX));
        Some(format!(
            "CUT OFF SINCE {since}: no other device heard, new orders may be missing"
        ))
    }

    /// Whether the tickets have been read from the device at least once.
    pub fn loaded(&self) -> bool {
        self.loaded
    }

    /// Lays the board out again now and has it redrawn, changed or not (the benchmark's worst
    /// case).
    pub fn force_rebuild(&mut self, now_ms: i64) {
        self.rebuild(now_ms);
    }

    pub fn is_expo(&self) -> bool {
        self.settings.station == EXPO
    }

    /// Reads the tickets again from the device's projections; returns the alerts they raise.
    fn reload(&mut self, device: &DeviceHandle) -> Vec<Alert> {
        let now = device.now_ms();
        let stations = self.settings.stations();
        let expo = self.is_expo();
        let read = device.journal().read(|db| {
            let tickets = if expo {
                cards::expo_tickets(db)?
            } else {
                cards::open_tickets(db, &stations)?
            };
            let recall = if expo {
                Vec::new()
            } else {
                cards::recently_bumped(db, &stations, now)?
            };
            let median = cards::median_last_hour_ms(db, &stations, now)?;
            self.low_stock.refresh(db, &stations)?;
            let zone = pass_shared::projection::store_settings(db)?.time_zone();
            Ok((tickets, recall, median, zone))
        });
        match read {
            Ok((tickets, recall, median, zone)) => {
                self.time_zone = zone;
                let alerts = self.alerts_for(&tickets);
                self.all_day = cards::all_day(&tickets);
                self.tickets = tickets;
                self.recall = recall;
                self.median_last_hour_ms = median;
                self.loaded = true;
                alerts
            }
            Err(e) => {
                error!(error = %e, "cannot read the tickets");
                self.message = Some(format!("cannot read the tickets: {e}"));
                Vec::new()
            }
        }
    }

    /// New tickets, tickets whose items changed, and items voided since the last read.
    fn alerts_for(&mut self, tickets: &[TicketCard]) -> Vec<Alert> {
        let now: BTreeMap<String, Vec<(String, ItemState)>> = tickets
            .iter()
            .filter(|t| t.is_open() && !t.held)
            .map(|t| {
                (
                    t.ticket.clone(),
                    t.items.iter().map(|i| (i.line.clone(), i.state)).collect(),
                )
            })
            .collect();
        let mut alerts = Vec::new();
        if self.loaded {
            for (ticket, items) in &now {
                match self.seen.get(ticket) {
                    None => alerts.push(Alert::NewTicket),
                    Some(before) if before != items => {
                        let voided = items.iter().any(|(line, state)| {
                            *state == ItemState::Voided
                                && before
                                    .iter()
                                    .any(|(l, s)| l == line && *s != ItemState::Voided)
                        });
                        let added = items.len() != before.len();
                        if voided {
                            alerts.push(Alert::Voided);
                        } else if added {
                            alerts.push(Alert::Changed);
                        }
                    }
                    Some(_) => {}
                }
            }
        }
        self.seen = now;
        alerts.sort();
        alerts.dedup();
        alerts
    }

    /// Lays the board out again at `now_ms`, keeping the selection.
    fn rebuild(&mut self, now_ms: i64) {
        let input = BoardInput {
            station: &self.settings.station,
            taken_over: &self.settings.taken_over,
            timers: &self.settings.timers,
            grid: self.settings.layout,
            now_ms,
            page: self.state.page,
        };
        self.board = if self.is_expo() {
            board::expo_board(&input, &self.tickets)
        } else {
            board::station_board(&input, &self.tickets)
        };
        self.now_ms = now_ms;
        self.state.forget_stale(&self.board, now_ms);
        self.version += 1;
    }
}

/// The logic plugin. Needs a [`Device`] resource; adds [`Screen`], [`Keys`] (default map unless
/// present), [`LinkStatus`], and the [`Alert`] and [`Input`] messages.
pub fn plugin(app: &mut App) {
    app.init_resource::<Keys>()
        .init_resource::<LinkStatus>()
        .add_message::<Alert>()
        .add_message::<Input>()
        .add_systems(Startup, start)
        .add_systems(
            Update,
            (read_keys, carry_out, refresh)
                .chain()
                .in_set(Systems)
                .run_if(resource_exists::<Screen>),
        );
}

/// The logic's systems: the renderer draws after them.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub struct Systems;

/// Also refresh the link status from the device each frame (left out in tests that set it).
pub fn link_plugin(app: &mut App) {
    app.add_systems(PreUpdate, read_link);
}

fn start(mut commands: Commands, device: Res<Device>) {
    let settings = device
        .0
        .kitchen_settings()
        .unwrap_or_else(|| KdsSettings::new(EXPO));
    let mut changes = device.0.changes();
    // Seen as changed, so the first frame reads the tickets.
    changes.mark_changed();
    commands.insert_resource(Changes(changes));
    commands.insert_resource(Screen::new(settings));
}

fn read_link(device: Option<Res<Device>>, mut link: ResMut<LinkStatus>) {
    if let Some(device) = device {
        let now = device.0.link();
        if link.0 != now {
            link.0 = now;
        }
    }
}

/// Keys pressed this frame, through the key map.
fn read_keys(keys: Res<ButtonInput<KeyCode>>, map: Res<Keys>, mut input: MessageWriter<Input>) {
    for key in keys.get_just_pressed() {
        let name = format!("{key:?}");
        if let Some(action) = map.0.action(&name) {
            input.write(Input::Key(action));
        }
    }
}

/// Carries out the inputs of this frame in order.
fn carry_out(mut inputs: MessageReader<Input>, mut screen: ResMut<Screen>, device: Res<Device>) {
    let mut acted = false;
    for input in inputs.read() {
        let now = device.0.now_ms();
        let screen = &mut *screen;
        let action = match input {
            Input::Key(key) => {
                let before = (screen.state.clone(), screen.board.page);
                let action = screen
                    .state
                    .on_key(*key, &screen.board, &screen.recall, now);
                if (screen.state.clone(), screen.board.page) != before {
                    acted = true;
                }
                action
            }
            Input::Card(slot) => {
                acted = true;
                screen.state.on_touch_card(*slot, &screen.board, now)
            }
            Input::Act(action) => Some(action.clone()),
            Input::OpenSettings => None,
        };
        if let Some(action) = action {
            acted = true;
            match device.0.act(&action) {
                Ok(_) => screen.message = None,
                Err(e) => {
                    warn!(?action, error = %e, "kitchen action refused");
                    screen.message = Some(e);
                }
            }
        }
    }
    if acted {
        let now = device.0.now_ms();
        screen.rebuild(now);
    }
}

/// Reads the tickets again when the journal changed, and lays the board out again when a timer
/// shows another second.
fn refresh(
    mut screen: ResMut<Screen>,
    mut changes: ResMut<Changes>,
    device: Res<Device>,
    mut alerts: MessageWriter<Alert>,
) {
    let now = device.0.now_ms();
    let changed = changes.0.has_changed().unwrap_or(false);
    if changed {
        changes.0.borrow_and_update();
        if let Some(settings) = device.0.kitchen_settings()
            && settings != screen.settings
        {
            screen.settings = settings;
        }
        for alert in screen.reload(&device.0) {
            alerts.write(alert);
        }
    }
    if changed || now / 1000 != screen.now_ms / 1000 {
        screen.rebuild(now);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! Headless tests: MinimalPlugins and this plugin, a real device journal on a temporary
    //! database with a controlled clock advanced by hand, no window and no network.

    use super::*;
    use pass_shared::device::DeviceConfig;
    use pass_shared::event::DeviceRole;
    use pass_shared::kitchen::board::Band;

    pub(crate) struct Kitchen {
        pub app: App,
        pub device: DeviceHandle,
        _dir: tempfile::TempDir,
    }

    /// A kitchen screen for `station` with the sample menu and staff, and its app.
    pub(crate) fn kitchen(station: &str) -> Kitchen {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join(format!("{station}.db"));
        let device = open(&db, Some(station));
        crate::fixtures::set_up_store(&device);
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .init_resource::<ButtonInput<KeyCode>>()
            .insert_resource(Device(device.clone()))
            .add_plugins(plugin);
        app.update();
        Kitchen {
            app,
            device,
            _dir: dir,
        }
    }

    /// Opens (or reopens) a kitchen screen's device on `db`, unserved: no network.
    pub(crate) fn open(db: &std::path::Path, station: Option<&str>) -> DeviceHandle {
        let id = station.unwrap_or("grill");
        pass_shared::device::Device::open(DeviceConfig {
            db: db.to_path_buf(),
            store: "demo".to_owned().try_into().expect("store"),
            device: id.to_owned().try_into().expect("device"),
            role: DeviceRole::KitchenScreen,
            name: id.to_owned(),
            broker: pass_shared::device::BrokerSetting::Configured {
                host: "127.0.0.1".to_owned(),
                port: 9,
            },
            credentials: None,
            control: db.with_extension("sock"),
            manual_clock_ms: Some(START_MS),
            station: station.map(str::to_owned),
            inbox: false,
            mdns: pass_shared::net::discovery::MdnsScope::Off,
            host_broker: false,
            broker_port: None,
        })
        .expect("device opens")
        .handle()
    }

    pub(crate) const START_MS: i64 = 1_767_290_400_000;

    impl Kitchen {
        pub fn screen(&self) -> &Screen {
            self.app.world().resource::<Screen>()
        }

        /// Lets the device's kitchen duty run (it does in the served device) and updates.
        pub fn settle(&mut self) {
            self.device.show_new_tickets().expect("show tickets");
            self.app.update();
        }

        pub fn advance_secs(&mut self, secs: i64) {
            self.device
                .manual_clock()
                .expect("controlled clock")
                .advance(secs * 1000);
            self.app.update();
        }

        pub fn press(&mut self, key: KeyAction) {
            self.app.world_mut().write_message(Input::Key(key));
            self.app.update();
        }

        pub fn key(&mut self, code: KeyCode) {
            self.app
                .world_mut()
                .resource_mut::<ButtonInput<KeyCode>>()
                .press(code);
            self.app.update();
            let mut keys = self.app.world_mut().resource_mut::<ButtonInput<KeyCode>>();
            keys.release(code);
            keys.clear();
        }

        /// The kinds of the journal's events written by this screen, in order.
        pub fn own_kinds(&self) -> Vec<String> {
            let origin = self.device.journal().origin().to_string();
            self.device
                .journal()
                .read(|db| {
                    let mut stmt =
                        db.prepare("SELECT kind FROM events WHERE origin = ?1 ORDER BY seq")?;
                    let rows = stmt.query_map([origin], |r| r.get::<_, String>(0))?;
                    rows.collect()
                })
                .expect("read")
        }

        pub fn keys_of_cards(&self) -> Vec<String> {
            self.screen().board.cards().map(|c| c.key.clone()).collect()
        }
    }

    #[test]
    fn colours_and_cues_change_at_the_thresholds() {
        let mut k = kitchen("grill");
        crate::fixtures::order(&k.device, "T12", &[("classic_burger", &["medium"])]);
        k.settle();
        let band = |k: &Kitchen| k.screen().board.cards().next().expect("a card").band;
        assert_eq!(band(&k), Band::OnTime);
        k.advance_secs(299);
        assert_eq!(band(&k), Band::OnTime);
        k.advance_secs(1);
        assert_eq!(band(&k), Band::Alert);
        let card = k.screen().board.cards().next().expect("card").clone();
        assert!(
            card.status_text().contains("ALERT"),
            "{}",
            card.status_text()
        );
        k.advance_secs(180);
        assert_eq!(band(&k), Band::Late);
        let card = k.screen().board.cards().next().expect("card").clone();
        assert!(card.status_text().contains("LATE"));
    }

    #[test]
    fn start_bump_item_bump_recall_and_rush_write_the_right_events() {
        let mut k = kitchen("grill");
        crate::fixtures::order(
            &k.device,
            "T1",
            &[
                ("classic_burger", &["medium"]),
                ("classic_burger", &["well_done"]),
            ],
        );
        crate::fixtures::order(&k.device, "T2", &[("classic_burger", &["medium_rare"])]);
        k.settle();
        assert_eq!(k.screen().board.total, 2);
        let first = k.keys_of_cards()[0].clone();

        k.press(KeyAction::Select(1));
        k.press(KeyAction::Start);
        k.press(KeyAction::ItemDone);
        k.press(KeyAction::Select(2));
        k.press(KeyAction::Rush);
        k.press(KeyAction::Rush); // undo within 3 s
        k.press(KeyAction::Select(1));
        k.press(KeyAction::Bump);
        assert_eq!(
            k.screen().board.total,
            1,
            "the bumped ticket left the screen"
        );
        k.press(KeyAction::Recall);
        k.press(KeyAction::Recall);
        assert_eq!(k.keys_of_cards().len(), 2);
        assert!(k.keys_of_cards().contains(&first), "recalled");

        let kinds = k.own_kinds();
        let actions: Vec<&str> = kinds
            .iter()
            .map(String::as_str)
            .filter(|k| k.starts_with("ticket_") || *k == "item_done")
            .filter(|k| *k != "ticket_shown")
            .collect();
        assert_eq!(
            actions,
            [
                "ticket_started",
                "item_done",
                "ticket_priority",
                "ticket_priority",
                "ticket_bumped",
                "ticket_recalled"
            ]
        );
    }

    #[test]
    fn the_key_map_drives_the_same_actions() {
        let mut k = kitchen("grill");
        crate::fixtures::order(&k.device, "T3", &[("classic_burger", &["medium"])]);
        k.settle();
        k.key(KeyCode::Digit1);
        assert!(k.screen().state.selected.is_some());
        k.key(KeyCode::Enter);
        assert_eq!(k.screen().board.total, 0);
        assert!(k.own_kinds().iter().any(|kind| kind == "ticket_bumped"));
        k.key(KeyCode::KeyA);
        assert_eq!(
            k.screen().state.view,
            pass_shared::kitchen::screen::View::AllDay
        );
    }

    #[test]
    fn all_day_counts_follow_tickets_as_they_come_and_go() {
        let mut k = kitchen("grill");
        crate::fixtures::order(
            &k.device,
            "T4",
            &[
                ("classic_burger", &["medium"]),
                ("classic_burger", &["medium_rare"]),
            ],
        );
        crate::fixtures::order(&k.device, "T5", &[("classic_burger", &["well_done"])]);
        k.settle();
        let burgers = |k: &Kitchen| {
            k.screen()
                .all_day
                .iter()
                .find(|(name, _)| name.contains("Burger"))
                .map_or(0, |(_, n)| *n)
        };
        assert_eq!(burgers(&k), 3);
        k.press(KeyAction::Select(1));
        k.press(KeyAction::Bump);
        assert_eq!(burgers(&k), 1);
    }

    #[test]
    fn expo_cannot_bump_an_order_a_station_still_holds_except_by_force() {
        let mut k = kitchen("expo");
        let check = crate::fixtures::order(
            &k.device,
            "T6",
            &[("classic_burger", &["medium"]), ("fries", &[])],
        );
        k.settle();
        assert_eq!(k.screen().board.total, 1);
        k.press(KeyAction::Bump);
        assert!(
            k.screen()
                .message
                .as_deref()
                .is_some_and(|m| m.contains("still cooking")),
            "{:?}",
            k.screen().message
        );
        assert!(!k.own_kinds().iter().any(|kind| kind == "expo_bumped"));
        k.app
            .world_mut()
            .write_message(Input::Act(KitchenAction::ExpoBump {
                check,
                course: 1,
                force_reason: Some("guest leaving".into()),
            }));
        k.app.update();
        assert!(k.own_kinds().iter().any(|kind| kind == "expo_bumped"));
        k.settle();
        assert_eq!(k.screen().board.total, 0);
    }

    #[test]
    fn failover_shows_the_dead_stations_tickets_marked() {
        let mut k = kitchen("grill");
        crate::fixtures::order(&k.device, "T7", &[("fries", &[])]);
        k.settle();
        assert_eq!(k.screen().board.total, 0, "fries go to the fry station");
        let mut settings = k.device.kitchen_settings().expect("settings");
        settings.taken_over.push("fry".into());
        k.device.set_kitchen_settings(settings).expect("take over");
        k.settle();
        let card = k
            .screen()
            .board
            .cards()
            .next()
            .expect("the fry ticket")
            .clone();
        assert!(card.taken_over);
        assert_eq!(card.station, "fry");
    }

    #[test]
    fn the_cut_off_banner_shows_while_no_peer_is_heard_and_clears_on_return() {
        let mut k = kitchen("grill");
        k.settle();
        let banner = |k: &Kitchen| {
            let link = k.app.world().resource::<LinkStatus>().0.clone();
            k.screen().cut_off_banner(&link)
        };
        assert_eq!(banner(&k), None);
        // The device's link says no peer has been heard for a while (replication decides that
        // within 3 s of the last heartbeat; see the replication tests).
        let since = u64::try_from(START_MS).expect("positive") + 60_000;
        k.app.world_mut().resource_mut::<LinkStatus>().0 = Link {
            connected: false,
            cut_off_since_ms: Some(since),
            unconfirmed: 3,
            peers: Vec::new(),
        };
        k.app.update();
        // 2026-01-01 18:01 UTC, the store's default time zone.
        assert_eq!(
            banner(&k).as_deref(),
            Some("CUT OFF SINCE 18:01: no other device heard, new orders may be missing")
        );
        k.app.world_mut().resource_mut::<LinkStatus>().0 = Link {
            connected: true,
            cut_off_since_ms: None,
            unconfirmed: 0,
            peers: vec!["t1".into()],
        };
        k.app.update();
        assert_eq!(banner(&k), None);
    }

    #[test]
    fn a_restart_restores_the_screen_from_the_local_journal() {
        let mut k = kitchen("grill");
        crate::fixtures::order(&k.device, "T9", &[("classic_burger", &["medium"])]);
        crate::fixtures::order(&k.device, "T10", &[("ribeye", &["rare"])]);
        k.settle();
        k.press(KeyAction::Select(2));
        k.press(KeyAction::Start);
        let before = k.keys_of_cards();
        assert_eq!(before.len(), 2);
        let Kitchen { app, device, _dir } = k;
        let db = device.journal().path().to_path_buf();
        drop(app);
        drop(device);
        // The same database, opened again as after a power cut: everything comes back.
        let device = open(&db, None);
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .init_resource::<ButtonInput<KeyCode>>()
            .insert_resource(Device(device.clone()))
            .add_plugins(plugin);
        app.update();
        let screen = app.world().resource::<Screen>();
        assert_eq!(
            screen.settings.station, "grill",
            "the station from the settings file"
        );
        let after: Vec<String> = screen.board.cards().map(|c| c.key.clone()).collect();
        assert_eq!(after, before);
        assert!(
            screen
                .tickets
                .iter()
                .any(|t| t.state == pass_shared::domain::ticket::TicketState::Started),
            "the started ticket is still started"
        );
    }

    #[test]
    fn new_and_voided_tickets_raise_alerts() {
        let mut k = kitchen("grill");
        k.settle();
        crate::fixtures::order(&k.device, "T8", &[("classic_burger", &["medium"])]);
        k.app.update();
        let alerts: Vec<Alert> = k
            .app
            .world_mut()
            .resource_mut::<Messages<Alert>>()
            .drain()
            .collect();
        assert_eq!(alerts, [Alert::NewTicket]);
    }
}
