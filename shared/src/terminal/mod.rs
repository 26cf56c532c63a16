//! The order terminal's logic, with no renderer: who is signed in, what the screens show and
//! what each tap does. The `order-terminal` app draws a [`views::View`] and hands every tap back
//! as an [`Intent`] to [`Terminal::apply`]; the device's control socket (`pass terminal …`)
//! calls the same, so tests, the demo and integrators work a terminal exactly as a server does.
//!
//! - [`session`]: signing in with a PIN (the throttle slows wrong ones and alerts a manager,
//!   never locks out), the role's permissions, back to the PIN screen after a send or a close
//!   and after idle minutes;
//! - [`floor`]: the floor plan file; [`settings`]: the terminal's own settings file;
//! - [`views`]: the floor, the check, the menu and the modifier dialog as plain data;
//! - [`intents`]: what can be asked, and what came of it.
//!
//! An order intent is planned against the domain's rules on the check's fold (as the
//! projections have it, merged checks included) and only then written, as one event (a few for
//! opening a check, which also puts it on this terminal). A refusal writes nothing. Everything is
//! written to the local journal first, so a terminal cut off from every peer keeps taking orders;
//! they go out when the network is back, and the status bar says meanwhile that it is cut off and
//! how many events wait.
//!
//! Soft ownership: the check a terminal shows is claimed for it (`check_claimed`), and put down
//! (`check_released`) when the terminal goes back to the floor or the PIN screen, so other
//! terminals show who has it. Nobody is locked out by it.

pub mod floor;
pub mod intents;
mod orders;
pub mod sample;
pub mod session;
pub mod settings;
pub mod views;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use crate::device::Link;
use crate::domain::check::{
    Check, CheckError, MAX_TEXT_CHARS, OrderNumberError, OrderNumbers, Seat,
};
use crate::domain::menu::{ItemId, Menu, MenuError, ModifierId};
use crate::domain::staff::{MAX_PIN_DIGITS, Permission, SignInError, Staff};
use crate::event::Event;
use crate::journal::{Journal, JournalError};
use crate::projection::{self, MenuVersion, load_check_folds};

pub use floor::FloorPlan;
pub use intents::{Intent, Outcome, PinKey};
use orders::{check_course, check_qty};
pub use session::{NotAllowed, Session};
pub use settings::{SettingsChange, TerminalSettings};

use views::{
    CheckView, FloorView, MenuView, OpenTableView, OrderView, PendingView, PersonView, ScreenView,
    SignInView, StatusView, View,
};

/// Why an intent was refused; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    #[error(transparent)]
    NotAllowed(#[from] NotAllowed),
    #[error("{0}")]
    SignIn(SignInError),
    #[error(transparent)]
    Check(#[from] CheckError),
    #[error(transparent)]
    Menu(#[from] MenuError),
    #[error(transparent)]
    OrderNumber(#[from] OrderNumberError),
    #[error("no check {0} in this store")]
    UnknownCheck(String),
    #[error("no table `{0}` on this terminal's floor plan")]
    UnknownTable(String),
    #[error("no menu has been published yet")]
    NoMenu,
    #[error("{0} is 86'd: none left to sell")]
    EightySixed(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("the terminal's database: {0}")]
    Db(#[from] rusqlite::Error),
}

/// What a terminal needs of the device it runs on: the journal (read the projections, append
/// events that replication then publishes), the device's clock and id, and its link.
pub trait TerminalHost {
    fn journal(&self) -> &Journal;
    /// Appends `event` (committed before this returns) and lets replication publish it.
    fn append(&self, event: &Event) -> Result<crate::journal::Committed, JournalError>;
    /// Now, on the device's clock.
    fn now_ms(&self) -> i64;
    fn device_id(&self) -> String;
    fn link(&self) -> Link;
}

/// A terminal over a bare journal, with no network: for tools, screen tests and benchmarks
/// that work a terminal in-process. Its link is whatever [`JournalHost::link`] holds.
#[derive(Debug)]
pub struct JournalHost {
    pub journal: Journal,
    pub clock: Arc<dyn crate::clock::Clock>,
    pub device: String,
    pub link: Link,
}

impl JournalHost {
    /// A host for device `device` over `journal`, on `clock`, shown as connected to one peer.
    pub fn new(journal: Journal, clock: Arc<dyn crate::clock::Clock>, device: &str) -> JournalHost {
        JournalHost {
            journal,
            clock,
            device: device.to_owned(),
            link: Link {
                connected: true,
                cut_off_since_ms: None,
                unconfirmed: 0,
                peers: vec!["kitchen".to_owned()],
            },
        }
    }
}

impl TerminalHost for JournalHost {
    fn journal(&self) -> &Journal {
        &self.journal
    }
    fn append(&self, event: &Event) -> Result<crate::journal::Committed, JournalError> {
        self.journal.append(event)
    }
    fn now_ms(&self) -> i64 {
        self.clock.wall_ms()
    }
    fn device_id(&self) -> String {
        self.device.clone()
    }
    fn link(&self) -> Link {
        self.link.clone()
    }
}

/// The ordering screen's state: the check shown and where new lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ordering {
    check: String,
    category: Option<String>,
    seat: Option<u32>,
    course: u8,
    qty: u32,
    notes: String,
    /// The modifier dialog: the item and the modifiers chosen so far.
    dialog: Option<(ItemId, Vec<ModifierId>)>,
}

impl Ordering {
    fn new(check: &str) -> Ordering {
        Ordering {
            check: check.to_owned(),
            category: None,
            seat: None,
            course: 1,
            qty: 1,
            notes: String::new(),
            dialog: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Screen {
    /// The floor plan; `Some(table)` with the "open table" dialog up.
    Floor(Option<String>),
    Order(Ordering),
}

/// The most of one item on one line.
pub const MAX_QTY: u32 = 99;
/// The highest course.
pub const MAX_COURSE: u8 = 9;
/// The most guests at one check.
pub const MAX_GUESTS: u32 = 99;

/// One order terminal: its settings, floor plan and session. See the module documentation.
pub struct Terminal {
    settings: TerminalSettings,
    settings_path: Option<PathBuf>,
    /// The device's configuration file (the broker's address), when it keeps one.
    device_file: Option<PathBuf>,
    /// The device's payment settings file (the receipt printer), when it keeps one.
    payments_file: Option<PathBuf>,
    floor: FloorPlan,
    session: Session,
    pin_entry: String,
    screen: Screen,
    /// The check this terminal has claimed.
    claimed: Option<String>,
    notice: Option<String>,
    menu: Option<(MenuVersion, Arc<Menu>)>,
    /// Order numbers of the business day (its number) they were issued for.
    numbers: Option<(u32, OrderNumbers)>,
}

impl std::fmt::Debug for Terminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Terminal")
            .field("settings", &self.settings)
            .field("signed_in", &self.session.signed_in())
            .field("screen", &self.screen)
            .finish_non_exhaustive()
    }
}

fn invalid(text: impl Into<String>) -> TerminalError {
    TerminalError::Invalid(text.into())
}

impl Terminal {
    /// A terminal with these settings and floor plan (not kept in a file).
    pub fn new(settings: TerminalSettings, floor: FloorPlan) -> Terminal {
        Terminal {
            settings,
            settings_path: None,
            device_file: None,
            payments_file: None,
            floor,
            session: Session::default(),
            pin_entry: String::new(),
            screen: Screen::Floor(None),
            claimed: None,
            notice: None,
            menu: None,
            numbers: None,
        }
    }

    /// The terminal of the device `device` whose settings are kept in `path`: read from it, or
    /// made with defaults and written there on first start; the floor plan they name (or the
    /// built-in one).
    pub fn open(path: PathBuf, device: &str) -> Result<Terminal, String> {
        let settings = match TerminalSettings::load(&path)? {
            Some(s) => s,
            None => {
                let s = TerminalSettings::new(device);
                s.save(&path)?;
                s
            }
        };
        let floor = match &settings.floor_plan {
            Some(file) => FloorPlan::load(file).map_err(|e| e.to_string())?,
            None => FloorPlan::default_plan(),
        };
        let mut terminal = Terminal::new(settings, floor);
        terminal.settings_path = Some(path);
        Ok(terminal)
    }

    /// Keeps the broker's address and the printer (settings changes) in the files beside the
    /// device's database `db`: its configuration file and its payment settings.
    pub fn with_device_files(mut self, db: &std::path::Path) -> Terminal {
        self.device_file = Some(crate::device::files::DeviceFile::path_for(db));
        self.payments_file = Some(crate::payments::settings::PaymentSettings::path_for(db));
        self
    }

    pub fn settings(&self) -> &TerminalSettings {
        &self.settings
    }

    pub fn floor_plan(&self) -> &FloorPlan {
        &self.floor
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Notes a touch on a screen whose taps are not the terminal's intents (the payment
    /// screens, which go to the payment desk): the idle time of the person signed in starts
    /// again, so they are not signed out while taking a payment.
    pub fn touch<H: TerminalHost>(&mut self, host: &H) {
        if self.session.signed_in().is_some() {
            self.session.touch(host.now_ms());
        }
    }

    /// Carries out `intent` at the device's now. Screen intents change what is shown; order
    /// intents write events. A refusal writes nothing; its reason is also kept as the screen's
    /// notice until the next touch.
    pub fn apply<H: TerminalHost>(
        &mut self,
        host: &H,
        intent: Intent,
    ) -> Result<Outcome, TerminalError> {
        let now = host.now_ms();
        self.tick(host)?;
        let result = self.carry_out(host, intent, now);
        if self.session.signed_in().is_some() {
            self.session.touch(now);
        }
        self.notice = result.as_ref().err().map(ToString::to_string);
        result
    }

    /// What the terminal shows now.
    pub fn view<H: TerminalHost>(&mut self, host: &H) -> Result<View, TerminalError> {
        self.tick(host)?;
        let now = host.now_ms();
        let device = host.device_id();
        let signed_in = self.session.signed_in().map(|s| PersonView {
            staff: s.staff.to_string(),
            name: s.name.clone(),
            role: s.role.to_string(),
        });
        let mut status = StatusView::new(&device, signed_in, &host.link());
        // The menu that does not load is the ordering screen's to report; the bar then shows
        // nothing low.
        let menu = self.menu_now(host.journal());
        let stock = match &menu {
            Ok(menu) => Some(stock_now(host.journal(), menu)?),
            Err(_) => None,
        };
        if let Some(stock) = &stock {
            status.low_stock.clone_from(&stock.low);
        }
        let screen = if self.session.signed_in().is_none() {
            ScreenView::SignIn(SignInView {
                digits: self.pin_entry.chars().count(),
                wait_ms: self.session.wait_ms(now),
            })
        } else {
            match self.screen.clone() {
                Screen::Floor(opening) => {
                    let mut floor = self.floor_view(host)?;
                    floor.opening = opening.and_then(|t| {
                        self.floor.table(&t).map(|table| OpenTableView {
                            table: table.id.clone(),
                            name: table.name.clone(),
                            seats: table.seats,
                        })
                    });
                    ScreenView::Floor(floor)
                }
                Screen::Order(o) => {
                    let menu = menu.map(|m| (m, stock.unwrap_or_default()));
                    ScreenView::Order(Box::new(self.order_view(host, &o, menu)?))
                }
            }
        };
        Ok(View {
            status,
            screen,
            notice: self.notice.clone(),
        })
    }

    /// Ends an idle session (back to the PIN screen, the check put down). Call it now and then;
    /// [`Terminal::apply`] and [`Terminal::view`] call it first.
    pub fn tick<H: TerminalHost>(&mut self, host: &H) -> Result<(), TerminalError> {
        if self.session.idle(host.now_ms(), self.settings.idle_ms()) {
            tracing::info!("idle: back to the PIN screen");
            self.sign_out(host)?;
        }
        Ok(())
    }

    /// The floor as this terminal shows it (someone must be signed in).
    pub fn floor<H: TerminalHost>(&mut self, host: &H) -> Result<FloorView, TerminalError> {
        self.tick(host)?;
        self.signed_in_staff(host)?;
        self.floor_view(host)
    }

    /// A check as this terminal shows it (someone must be signed in).
    pub fn check<H: TerminalHost>(
        &mut self,
        host: &H,
        check: &str,
    ) -> Result<CheckView, TerminalError> {
        self.tick(host)?;
        self.signed_in_staff(host)?;
        self.check_view(host, check)
    }

    /// The open check at `table` (the only one; several must be told apart by id). Someone
    /// must be signed in.
    pub fn check_at<H: TerminalHost>(
        &mut self,
        host: &H,
        table: &str,
    ) -> Result<String, TerminalError> {
        self.tick(host)?;
        self.signed_in_staff(host)?;
        if self.floor.table(table).is_none() {
            return Err(TerminalError::UnknownTable(table.to_owned()));
        }
        let checks = open_checks_at(host.journal(), table)?;
        match checks.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(invalid(format!("table {table} has no open check"))),
            several => Err(invalid(format!(
                "table {table} has {} open checks ({}): name one",
                several.len(),
                several.join(", ")
            ))),
        }
    }

    /// The menu panel for `category` (someone must be signed in).
    pub fn menu<H: TerminalHost>(
        &mut self,
        host: &H,
        category: Option<&str>,
    ) -> Result<MenuView, TerminalError> {
        self.tick(host)?;
        self.signed_in_staff(host)?;
        let menu = self.menu_now(host.journal())?;
        let stock = stock_now(host.journal(), &menu)?;
        Ok(views::menu_view(&menu, &stock.out, &stock.low, category))
    }

    // -----------------------------------------------------------------------------------------

    fn floor_view<H: TerminalHost>(&self, host: &H) -> Result<FloorView, TerminalError> {
        let device = host.device_id();
        let now = host.now_ms();
        Ok(host
            .journal()
            .read(|db| views::floor_view(db, &self.floor, &device, now))?)
    }

    fn check_view<H: TerminalHost>(
        &self,
        host: &H,
        check: &str,
    ) -> Result<CheckView, TerminalError> {
        let device = host.device_id();
        let (folds, names) = host
            .journal()
            .read(|db| Ok((load_check_folds(db, check)?, views::staff_names(db)?)))?;
        views::check_view(check, &folds, &names, &device)
            .ok_or_else(|| TerminalError::UnknownCheck(check.to_owned()))
    }

    /// The ordering screen of `o`, with the menu now and its stock (or why there is no menu).
    fn order_view<H: TerminalHost>(
        &mut self,
        host: &H,
        o: &Ordering,
        menu: Result<(Arc<Menu>, StockNow), TerminalError>,
    ) -> Result<OrderView, TerminalError> {
        let check = self.check_view(host, &o.check)?;
        let (menu, dialog) = match menu {
            Ok((menu, stock)) => {
                let dialog = o
                    .dialog
                    .as_ref()
                    .and_then(|(item, chosen)| views::modifier_dialog(&menu, item, chosen, o.qty));
                (
                    views::menu_view(&menu, &stock.out, &stock.low, o.category.as_deref()),
                    dialog,
                )
            }
            Err(TerminalError::NoMenu) => (
                MenuView {
                    categories: Vec::new(),
                    category: None,
                    items: Vec::new(),
                },
                None,
            ),
            Err(e) => return Err(e),
        };
        let floor = self.floor_view(host)?;
        let elsewhere = views::elsewhere(&floor, &o.check);
        Ok(OrderView {
            check,
            menu,
            elsewhere,
            pending: PendingView {
                seat: o.seat,
                course: o.course,
                qty: o.qty,
                notes: o.notes.clone(),
            },
            dialog,
        })
    }

    fn menu_now(&mut self, journal: &Journal) -> Result<Arc<Menu>, TerminalError> {
        let version: Option<MenuVersion> = journal.read(projection::menu_version)?;
        let version = version.ok_or(TerminalError::NoMenu)?;
        if let Some((v, menu)) = &self.menu
            && *v == version
        {
            return Ok(Arc::clone(menu));
        }
        let text = journal
            .read(|db| projection::register(db, "menu"))?
            .unwrap_or_default();
        let menu = Arc::new(
            Menu::from_toml_str(&text)
                .map_err(|e| invalid(format!("the published menu does not load: {e}")))?,
        );
        self.menu = Some((version, Arc::clone(&menu)));
        Ok(menu)
    }

    fn staff<H: TerminalHost>(&self, host: &H) -> Result<Vec<Staff>, TerminalError> {
        Ok(host.journal().read(projection::staff)?)
    }

    /// The person signed in, as the staff list has them, if they may take orders.
    fn signed_in_staff<H: TerminalHost>(&self, host: &H) -> Result<Staff, TerminalError> {
        let staff = self.staff(host)?;
        Ok(self.session.require(&staff, Permission::TakeOrder)?.clone())
    }

    fn me<H: TerminalHost>(
        &self,
        host: &H,
        permission: Permission,
    ) -> Result<Staff, TerminalError> {
        let staff = self.staff(host)?;
        Ok(self.session.require(&staff, permission)?.clone())
    }

    fn write<H: TerminalHost>(
        host: &H,
        out: &mut Outcome,
        event: &Event,
    ) -> Result<(), TerminalError> {
        let committed = host.append(event)?;
        out.written.push(committed.seq);
        Ok(())
    }

    fn sign_in<H: TerminalHost>(
        &mut self,
        host: &H,
        pin: &str,
        now: i64,
    ) -> Result<Outcome, TerminalError> {
        let staff = self.staff(host)?;
        let before = self.session.signed_in().map(|s| s.staff.clone());
        match self.session.sign_in(&staff, pin, now) {
            Ok(who) => {
                let name = who.name.clone();
                let id = who.staff.clone();
                let mut out = Outcome {
                    staff: Some(name),
                    ..Outcome::default()
                };
                if before.as_ref().is_some_and(|b| *b != id) {
                    self.release(host, &mut out)?;
                    self.screen = Screen::Floor(None);
                } else if before.is_none() {
                    self.screen = Screen::Floor(None);
                }
                Ok(out)
            }
            Err(refused) => {
                if let Some((in_a_row, recently)) = refused.alert {
                    tracing::warn!(in_a_row, recently, "wrong PINs: a manager is alerted");
                    host.append(&Event::SignInAlert {
                        device: host.device_id(),
                        wrong_in_a_row: in_a_row,
                        wrong_recently: recently,
                    })?;
                }
                Err(TerminalError::SignIn(refused.error))
            }
        }
    }

    fn sign_out<H: TerminalHost>(&mut self, host: &H) -> Result<Outcome, TerminalError> {
        let mut out = Outcome {
            signed_out: true,
            ..Outcome::default()
        };
        self.release(host, &mut out)?;
        self.session.sign_out();
        self.pin_entry.clear();
        self.screen = Screen::Floor(None);
        Ok(out)
    }

    /// Puts the claimed check down.
    fn release<H: TerminalHost>(
        &mut self,
        host: &H,
        out: &mut Outcome,
    ) -> Result<(), TerminalError> {
        if let Some(check) = self.claimed.take() {
            let event = Event::CheckReleased {
                check: check.clone(),
                device: host.device_id(),
            };
            if let Err(e) = Terminal::write(host, out, &event) {
                self.claimed = Some(check);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Shows `check` on this terminal, claiming it (and putting down the one before).
    fn focus<H: TerminalHost>(
        &mut self,
        host: &H,
        check: &Check,
        me: &Staff,
        out: &mut Outcome,
    ) -> Result<(), TerminalError> {
        let id = check.id().to_string();
        match &mut self.screen {
            Screen::Order(o) if o.check == id => {}
            screen => *screen = Screen::Order(Ordering::new(&id)),
        }
        if self.claimed.as_deref() == Some(id.as_str())
            || check.state() != crate::domain::check::CheckState::Open
        {
            return Ok(());
        }
        self.release(host, out)?;
        Terminal::write(
            host,
            out,
            &Event::CheckClaimed {
                check: id.clone(),
                device: host.device_id(),
                staff: me.id().to_string(),
            },
        )?;
        self.claimed = Some(id);
        Ok(())
    }

    fn ordering(&mut self) -> Result<&mut Ordering, TerminalError> {
        match &mut self.screen {
            Screen::Order(o) => Ok(o),
            Screen::Floor(_) => Err(invalid("open a check first")),
        }
    }

    fn carry_out<H: TerminalHost>(
        &mut self,
        host: &H,
        intent: Intent,
        now: i64,
    ) -> Result<Outcome, TerminalError> {
        match intent {
            Intent::PinKey { key } => self.pin_key(host, key, now),
            Intent::SignIn { pin } => {
                self.pin_entry.clear();
                self.sign_in(host, &pin, now)
            }
            Intent::SignOut => self.sign_out(host),
            Intent::ClockIn { pin } => self.clock(host, &pin, true, now),
            Intent::ClockOut { pin } => self.clock(host, &pin, false, now),
            Intent::ShowFloor => {
                self.signed_in_staff(host)?;
                let mut out = Outcome::default();
                self.release(host, &mut out)?;
                self.screen = Screen::Floor(None);
                Ok(out)
            }
            Intent::SelectTable { table } => {
                let me = self.signed_in_staff(host)?;
                if self.floor.table(&table).is_none() {
                    return Err(TerminalError::UnknownTable(table));
                }
                let checks = open_checks_at(host.journal(), &table)?;
                match checks.as_slice() {
                    [] => {
                        let mut out = Outcome::default();
                        self.release(host, &mut out)?;
                        self.screen = Screen::Floor(Some(table));
                        Ok(out)
                    }
                    [one] => {
                        let one = one.clone();
                        self.select(host, &one, &me)
                    }
                    several => Err(invalid(format!(
                        "table {table} has {} open checks: choose one",
                        several.len()
                    ))),
                }
            }
            Intent::SelectCheck { check } => {
                let me = self.signed_in_staff(host)?;
                self.select(host, &check, &me)
            }
            Intent::OpenCheck {
                table,
                guests,
                seats,
                order_type,
            } => self.open_check(host, table, guests, seats, order_type, now),
            Intent::ChooseCategory { category } => {
                self.signed_in_staff(host)?;
                let menu = self.menu_now(host.journal())?;
                if !menu
                    .categories()
                    .iter()
                    .any(|c| c.id().as_str() == category)
                {
                    return Err(invalid(format!("no category `{category}` on the menu")));
                }
                self.ordering()?.category = Some(category);
                Ok(Outcome::default())
            }
            Intent::SetSeat { seat } => {
                self.signed_in_staff(host)?;
                let check = self.ordering()?.check.clone();
                let seats = self.fold_of(host, &check)?.1.seats();
                if let Some(s) = seat
                    && (s == 0 || s > seats)
                {
                    return Err(CheckError::NoSuchSeat {
                        seat: Seat(s),
                        seats,
                    }
                    .into());
                }
                self.ordering()?.seat = seat;
                Ok(Outcome::default())
            }
            Intent::SetCourse { course } => {
                self.signed_in_staff(host)?;
                check_course(course)?;
                self.ordering()?.course = course;
                Ok(Outcome::default())
            }
            Intent::SetQty { qty } => {
                self.signed_in_staff(host)?;
                check_qty(qty)?;
                self.ordering()?.qty = qty;
                Ok(Outcome::default())
            }
            Intent::SetNotes { notes } => {
                self.signed_in_staff(host)?;
                if notes.trim().chars().count() > MAX_TEXT_CHARS {
                    return Err(CheckError::TextTooLong.into());
                }
                self.ordering()?.notes = notes.trim().to_owned();
                Ok(Outcome::default())
            }
            Intent::PickItem { item } => self.pick_item(host, &item),
            Intent::ToggleModifier { modifier } => self.toggle_modifier(host, &modifier),
            Intent::ConfirmItem => {
                let o = self.ordering()?.clone();
                let Some((item, chosen)) = o.dialog.clone() else {
                    return Err(invalid("no item is waiting for its choices"));
                };
                let out = self.add_line(
                    host,
                    &o.check,
                    item.as_str(),
                    &chosen,
                    o.qty,
                    o.seat,
                    o.course,
                    &o.notes,
                )?;
                let ordering = self.ordering()?;
                ordering.dialog = None;
                ordering.qty = 1;
                ordering.notes.clear();
                Ok(out)
            }
            Intent::CancelItem => {
                self.ordering()?.dialog = None;
                Ok(Outcome::default())
            }
            Intent::AddLine {
                check,
                item,
                modifiers,
                qty,
                seat,
                course,
                notes,
            } => {
                let modifiers: Vec<ModifierId> = modifiers
                    .iter()
                    .map(|m| ModifierId::new(m.as_str()))
                    .collect();
                self.add_line(host, &check, &item, &modifiers, qty, seat, course, &notes)
            }
            Intent::Send { check } => self.send(host, &check),
            Intent::HoldCourse { check, course } => self.hold(host, &check, course),
            Intent::FireCourse { check, course } => self.fire(host, &check, course),
            Intent::Void {
                check,
                line,
                manager_pin,
                reason,
            } => {
                let approval = self.approval(
                    host,
                    "a void",
                    manager_pin.as_deref(),
                    reason.as_deref(),
                    Permission::Void,
                    now,
                )?;
                self.void(host, &check, &line, approval)
            }
            Intent::Comp {
                check,
                line,
                manager_pin,
                reason,
            } => {
                let approval = self.approval(
                    host,
                    "a comp",
                    manager_pin.as_deref(),
                    reason.as_deref(),
                    Permission::Comp,
                    now,
                )?;
                self.comp(host, &check, &line, approval)
            }
            Intent::Discount {
                check,
                line,
                discount,
                manager_pin,
                reason,
            } => {
                let approval = self.approval(
                    host,
                    "a discount",
                    manager_pin.as_deref(),
                    reason.as_deref(),
                    Permission::Discount,
                    now,
                )?;
                self.discount(host, &check, line.as_deref(), discount, approval)
            }
            Intent::Split { check, split } => self.split(host, &check, &split),
            Intent::Move { check, table } => self.move_to(host, &check, &table),
            Intent::Merge { check, from } => self.merge(host, &check, &from),
            Intent::Close { check } => self.close(host, &check),
            Intent::ChangeSettings {
                manager_pin,
                change,
            } => self.change_settings(host, manager_pin.as_deref(), &change, now),
        }
    }

    fn pin_key<H: TerminalHost>(
        &mut self,
        host: &H,
        key: PinKey,
        now: i64,
    ) -> Result<Outcome, TerminalError> {
        match key {
            PinKey::Digit(d) if d <= 9 => {
                if self.pin_entry.len() < MAX_PIN_DIGITS {
                    self.pin_entry.push(char::from(b'0' + d));
                }
            }
            PinKey::Digit(d) => return Err(invalid(format!("{d} is not a digit"))),
            PinKey::Back => {
                self.pin_entry.pop();
            }
            PinKey::Clear => self.pin_entry.clear(),
            PinKey::Enter => {
                let pin = std::mem::take(&mut self.pin_entry);
                return self.sign_in(host, &pin, now);
            }
        }
        Ok(Outcome::default())
    }
}

/// The open checks at `table`, oldest first.
fn open_checks_at(journal: &Journal, table: &str) -> Result<Vec<String>, TerminalError> {
    Ok(journal.read(|db| {
        db.prepare_cached(
            "SELECT check_id FROM proj_checks WHERE state = 'open' AND table_id = ?1 ORDER BY opened_hlc, check_id",
        )?
        .query_map([table], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()
    })?)
}

fn eighty_sixed(journal: &Journal, menu: &Menu) -> Result<BTreeSet<ItemId>, TerminalError> {
    Ok(journal
        .read(|db| projection::eighty_sixed(db, menu))?
        .into_iter()
        .collect())
}

/// The menu's 86'd and low items, from one reading of the stock levels.
#[derive(Debug, Default)]
struct StockNow {
    out: BTreeSet<ItemId>,
    low: Vec<projection::LowItem>,
}

fn stock_now(journal: &Journal, menu: &Menu) -> Result<StockNow, TerminalError> {
    Ok(journal.read(|db| {
        let levels = projection::stock_levels(db)?;
        let threshold = projection::store_settings(db)?.low_stock_portions();
        Ok(StockNow {
            out: projection::eighty_sixed_at(db, menu, &levels)?
                .into_iter()
                .collect(),
            low: projection::low_stock::low_stock_at(db, menu, &levels, threshold)?,
        })
    })?)
}

#[cfg(test)]
mod tests;
