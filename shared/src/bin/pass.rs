//! `pass`: the command line of a Pass store. It talks to running devices through their control
//! sockets, and opens databases read-only to verify and report. It never appends to a journal
//! that another process is writing.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use pass_shared::clock::{Clock, SystemClock};
use pass_shared::domain::menu::Menu;
use pass_shared::domain::staff;
use pass_shared::event::DeviceRole;
use pass_shared::event::Event;
use pass_shared::journal::{Journal, JournalOptions, Origin, verify};
use pass_shared::net::mosquitto::{AclEntry, IntegrationName};
use pass_shared::net::protocol::v1::{DeviceId, StoreId};
use pass_shared::projection::{self, StoreProjections};

#[derive(Parser)]
#[command(
    name = "pass",
    version,
    about = "Pass: restaurant kitchen display and ordering — command line"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Inspect and check store journals.
    #[command(subcommand)]
    Journal(JournalCommand),
    /// Set up a store.
    #[command(subcommand)]
    Store(StoreCommand),
    /// The menu.
    #[command(subcommand)]
    Menu(MenuCommand),
    /// A manager's reports from a device's database, opened read-only: service times, sales,
    /// the Z report, stock, and CSV exports (as a table, CSV or JSON).
    #[command(subcommand)]
    Report(pass_shared::reports::cli::ReportCommand),
    /// Play a dinner rush on running devices through their control sockets: parties seated,
    /// orders sent, tickets cooked for station-dependent times and bumped, voids, comps,
    /// splits, recalls, a held course, an 86, cash with tips; prints what happened. With
    /// `--controlled-from-ms` it moves the devices' manual clocks itself (a five-hour service
    /// in minutes). Ctrl-C stops it (the devices keep everything done so far).
    Rush(pass_shared::rush::cli::RushArgs),
    /// Run a device without a screen (what kitchen screens and terminals run underneath).
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Run the embedded MQTT broker (3.1.1, one store login, no ACL) and advertise it by mDNS,
    /// until Ctrl-C or SIGTERM. Kitchen screens run it themselves when a store has no broker.
    Broker(BrokerArgs),
    /// A store's Mosquitto (broker-config/): the ACL entry of each broker user.
    #[command(subcommand)]
    Mosquitto(MosquittoCommand),
    /// Talk to a running device through its control socket.
    Ctl {
        /// The device's control socket.
        #[arg(long)]
        control: PathBuf,
        #[command(subcommand)]
        request: CtlRequest,
    },
    /// Work a running kitchen screen's tickets, as a cook does (list, start, bump, recall, rush,
    /// expo bump and force-bump).
    Kitchen {
        /// The kitchen screen's control socket (its database path with `.sock`).
        #[arg(long)]
        control: PathBuf,
        #[command(subcommand)]
        request: KitchenRequest,
    },
    /// Take payments on a running terminal: cash, cards, bar tabs, tips, refunds, offline
    /// uploads, the card batch, the cash drawer, receipts. Answers are JSON.
    Pay {
        /// The terminal's control socket (its database path with `.sock`).
        #[arg(long)]
        control: PathBuf,
        #[command(subcommand)]
        request: PayRequest,
    },
    /// Work a running order terminal as a server does: sign in, open a table, add lines with
    /// modifiers, send, hold and fire courses, void, comp and discount with a manager's PIN,
    /// split, move, merge, close, clock in and out, and show a check or the floor. Each verb
    /// answers what the terminal did (JSON), or why it refused (exit status 1, nothing written).
    Terminal {
        /// The order terminal's control socket (its database path with `.sock`).
        #[arg(long)]
        control: PathBuf,
        /// Sign in with this PIN first. The terminal goes back to its PIN screen after each send
        /// and close (unless set not to), and after idle minutes.
        #[arg(long)]
        pin: Option<String>,
        #[command(subcommand)]
        request: TerminalRequest,
    },
}

/// The check a terminal verb acts on: the open check at a table, or a check by id.
#[derive(clap::Args)]
struct CheckAt {
    /// The table whose (only) open check it is.
    #[arg(long, conflicts_with = "check", required_unless_present = "check")]
    table: Option<String>,
    /// The check's id (as `open` and `show` print it).
    #[arg(long)]
    check: Option<String>,
}

/// A manager's approval of an override.
#[derive(clap::Args)]
struct ManagerApproval {
    /// The approving manager's PIN (refused without one).
    #[arg(long)]
    manager_pin: Option<String>,
    /// Why (refused without one; at most 200 characters).
    #[arg(long)]
    reason: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum OrderTypeArg {
    DineIn,
    Takeout,
    Delivery,
}

#[derive(Subcommand)]
enum TerminalRequest {
    /// Sign in with a PIN (wrong PINs slow further tries down and alert a manager).
    SignIn { pin: String },
    /// Back to the PIN screen (the check shown is put down).
    SignOut,
    /// Clock a person in with their PIN.
    ClockIn { pin: String },
    /// Clock a person out with their PIN.
    ClockOut { pin: String },
    /// Open a check: at a table of the floor plan for some guests (dine-in), or without a table
    /// for takeout or delivery. Prints the check's id and order number.
    Open {
        /// The table (an id of the floor plan); none for takeout and delivery.
        #[arg(long)]
        table: Option<String>,
        #[arg(long, default_value_t = 1)]
        guests: u32,
        /// Seats lines may name (the number of guests when left out).
        #[arg(long)]
        seats: Option<u32>,
        #[arg(long, value_enum, default_value = "dine-in")]
        order_type: OrderTypeArg,
    },
    /// Add a line: a menu item id, its modifiers (every required choice, e.g. the doneness),
    /// quantity, seat, course and notes for the kitchen. Prints the line's id.
    Add {
        #[command(flatten)]
        at: CheckAt,
        item: String,
        /// A modifier id; repeat for each (`--modifier medium --modifier add_bacon`).
        #[arg(long = "modifier")]
        modifiers: Vec<String>,
        #[arg(long, default_value_t = 1)]
        qty: u32,
        /// The seat (from 1); for the table when left out.
        #[arg(long)]
        seat: Option<u32>,
        #[arg(long, default_value_t = 1)]
        course: u8,
        #[arg(long, default_value = "")]
        notes: String,
    },
    /// Send every unsent line to the kitchen: one ticket per station and course, held courses
    /// held, lines added after the first send marked as additions.
    Send {
        #[command(flatten)]
        at: CheckAt,
    },
    /// Hold a course: its lines go to the kitchen greyed, to be cooked once fired.
    Hold {
        #[command(flatten)]
        at: CheckAt,
        #[arg(long)]
        course: u8,
    },
    /// Fire a held course: the kitchen cooks it now.
    Fire {
        #[command(flatten)]
        at: CheckAt,
        #[arg(long)]
        course: u8,
    },
    /// Take a line off the check (its tickets show it voided). Needs a manager's PIN and a
    /// reason.
    Void {
        #[command(flatten)]
        at: CheckAt,
        /// The line's id (see `show`).
        line: String,
        #[command(flatten)]
        approval: ManagerApproval,
    },
    /// Give a line away (it stays on the ticket). Needs a manager's PIN and a reason.
    Comp {
        #[command(flatten)]
        at: CheckAt,
        line: String,
        #[command(flatten)]
        approval: ManagerApproval,
    },
    /// Take an amount or a percentage off a line (`--line`) or the whole check. Needs a
    /// manager's PIN and a reason.
    Discount {
        #[command(flatten)]
        at: CheckAt,
        /// The line; the whole check when left out.
        #[arg(long)]
        line: Option<String>,
        /// An amount off, e.g. 5.00.
        #[arg(long, conflicts_with = "percent", required_unless_present = "percent")]
        amount: Option<String>,
        /// A percentage off, e.g. 10.
        #[arg(long)]
        percent: Option<String>,
        #[command(flatten)]
        approval: ManagerApproval,
    },
    /// Split the check: by seat, evenly in N parts, or by groups of lines (`--part l1,l2
    /// --part l3`); `--undo` takes the split off. Prints each part's amount.
    Split {
        #[command(flatten)]
        at: CheckAt,
        /// One part per seat; lines for the table shared equally.
        #[arg(long, group = "how")]
        by_seat: bool,
        /// This many equal parts (to the cent).
        #[arg(long, group = "how")]
        evenly: Option<u32>,
        /// Line ids of one part, separated by commas; repeat for each part.
        #[arg(long = "part", group = "how")]
        parts: Vec<String>,
        /// Take the split off.
        #[arg(long, group = "how")]
        undo: bool,
    },
    /// Move the check to another table.
    Move {
        #[command(flatten)]
        at: CheckAt,
        /// The table it goes to.
        #[arg(long)]
        to: String,
    },
    /// Take another check (by its table or id) into this one.
    Merge {
        #[command(flatten)]
        at: CheckAt,
        #[arg(
            long,
            conflicts_with = "from_check",
            required_unless_present = "from_check"
        )]
        from_table: Option<String>,
        #[arg(long)]
        from_check: Option<String>,
    },
    /// Close a check with nothing left to pay.
    Close {
        #[command(flatten)]
        at: CheckAt,
    },
    /// Show a check: lines with seat, course and kitchen status ("received ✓", "ready"),
    /// totals to the cent, split.
    Show {
        #[command(flatten)]
        at: CheckAt,
        /// `table` for people, `json` for programs.
        #[arg(long, default_value = "table", value_parser = ["table", "json"])]
        format: String,
    },
    /// The floor: every table with its state, and open checks at no table.
    Tables {
        #[arg(long, default_value = "table", value_parser = ["table", "json"])]
        format: String,
    },
    /// The menu panel: categories, and one category's items with prices (86'd marked).
    Menu {
        /// A category id; the first category when left out.
        #[arg(long)]
        category: Option<String>,
    },
    /// Everything the terminal's screen shows now, as JSON (status bar included: cut off, and
    /// how many events no peer has confirmed).
    Screen,
    /// Change this terminal's settings. Needs a manager's PIN.
    Settings {
        /// The approving manager's PIN.
        #[arg(long)]
        manager_pin: Option<String>,
        /// The letter of its order numbers (A–Z without I and O).
        #[arg(long)]
        letter: Option<char>,
        /// Back to the PIN screen after each send (true or false).
        #[arg(long)]
        return_to_pin_after_send: Option<bool>,
        /// Back to the PIN screen after each close (true or false).
        #[arg(long)]
        return_to_pin_after_close: Option<bool>,
        /// Back to the PIN screen after this many idle minutes (0: never).
        #[arg(long)]
        idle_minutes: Option<u32>,
        /// A floor-plan file (TOML, see assets/floor.toml); an empty value for the built-in.
        #[arg(long)]
        floor_plan: Option<PathBuf>,
        /// The broker's address (mqtt://host:port) where the network blocks mDNS, used from
        /// the terminal's next start; an empty value goes back to discovery.
        #[arg(long)]
        broker: Option<String>,
        /// The receipt printer (host or host:port, port 9100 by default); an empty value for
        /// none.
        #[arg(long)]
        printer: Option<String>,
    },
}

/// An amount of money on the command line ("12.50").
fn money_arg(text: &str) -> Result<pass_shared::domain::Money, String> {
    text.parse()
        .map_err(|e: pass_shared::domain::MoneyError| e.to_string())
}

#[derive(Subcommand)]
enum PayRequest {
    /// A check's payment screen: total, paid, tips, balance, each seat's share, payments,
    /// alerts.
    View { check: String },
    /// Cash handed over: pays the seat's share (--seat), an amount (--amount) or the balance;
    /// the rest is change.
    Cash {
        check: String,
        /// The PIN of the person taking the payment.
        #[arg(long)]
        pin: String,
        #[arg(long, value_parser = money_arg)]
        tendered: pass_shared::domain::Money,
        #[arg(long, value_parser = money_arg)]
        amount: Option<pass_shared::domain::Money>,
        #[arg(long)]
        seat: Option<u32>,
        #[arg(long, value_parser = money_arg)]
        tip: Option<pass_shared::domain::Money>,
        /// The attempt's idempotency key (to ask again about an attempt); default: a new one.
        #[arg(long)]
        attempt: Option<String>,
    },
    /// A card on the card terminal, with the tip chosen there.
    Card {
        check: String,
        #[arg(long)]
        pin: String,
        #[arg(long, value_parser = money_arg)]
        amount: Option<pass_shared::domain::Money>,
        #[arg(long)]
        seat: Option<u32>,
        #[arg(long, value_parser = money_arg)]
        tip: Option<pass_shared::domain::Money>,
        #[arg(long)]
        attempt: Option<String>,
        /// A manager's PIN: approves storing the payment offline above the store's cap.
        #[arg(long)]
        manager_pin: Option<String>,
    },
    /// Open a bar tab: a card pre-authorisation holding --hold.
    TabOpen {
        check: String,
        #[arg(long)]
        pin: String,
        #[arg(long, value_parser = money_arg)]
        hold: pass_shared::domain::Money,
        #[arg(long)]
        seat: Option<u32>,
        #[arg(long)]
        attempt: Option<String>,
    },
    /// Close a bar tab: capture what the check owes, and --tip, on the held card.
    TabClose {
        check: String,
        #[arg(long)]
        pin: String,
        /// The tab's payment id (default: the check's only open tab).
        #[arg(long)]
        tab: Option<String>,
        #[arg(long, value_parser = money_arg)]
        tip: Option<pass_shared::domain::Money>,
        #[arg(long)]
        attempt: Option<String>,
    },
    /// Set the tip of a card payment (written on the merchant copy after the guest signed).
    Tip {
        check: String,
        #[arg(long)]
        pin: String,
        #[arg(long)]
        payment: String,
        #[arg(long, value_parser = money_arg)]
        tip: pass_shared::domain::Money,
        #[arg(long)]
        attempt: Option<String>,
    },
    /// Give back part or all of a payment: needs a manager's PIN and a reason.
    Refund {
        check: String,
        #[arg(long)]
        manager_pin: String,
        #[arg(long)]
        payment: String,
        #[arg(long, value_parser = money_arg)]
        amount: pass_shared::domain::Money,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        attempt: Option<String>,
    },
    /// Record what became of the card payments stored offline.
    Upload {
        #[arg(long)]
        pin: String,
    },
    /// The card terminal's end-of-day batch, compared with the store's records.
    BatchClose {
        #[arg(long)]
        pin: String,
        #[arg(long)]
        attempt: Option<String>,
    },
    /// Open this terminal's cash drawer with a float.
    DrawerOpen {
        #[arg(long)]
        pin: String,
        #[arg(long, value_parser = money_arg)]
        float: pass_shared::domain::Money,
    },
    /// The cash drawer's totals since it was opened.
    Drawer {
        #[arg(long)]
        pin: String,
    },
    /// Count the cash drawer at close: over or short against what it should hold.
    DrawerCount {
        #[arg(long)]
        pin: String,
        #[arg(long, value_parser = money_arg)]
        counted: pass_shared::domain::Money,
    },
    /// A receipt: its lines as printed; --print sends it to the printer (again, to reprint).
    Receipt {
        check: String,
        #[arg(long, value_parser = ["guest", "customer", "merchant"], default_value = "customer")]
        copy: String,
        /// The card payment of a merchant copy.
        #[arg(long)]
        payment: Option<String>,
        #[arg(long)]
        print: bool,
        /// `text` (the receipt's lines) or `json`.
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        format: String,
    },
    /// Every payment alert (overpaid checks, offline payments declined on upload, receipts
    /// not printed, card batches that do not match).
    Alerts,
    /// Name this terminal's card terminal and receipt printer (an empty value removes one).
    Setup {
        #[arg(long)]
        card_terminal: Option<String>,
        #[arg(long)]
        printer: Option<String>,
        /// How long the card terminal may take to answer, in ms.
        #[arg(long)]
        card_answer_ms: Option<u64>,
        /// Tries per card request (a retry uses the same key).
        #[arg(long)]
        card_attempts: Option<u32>,
    },
}

#[derive(Subcommand)]
enum KitchenRequest {
    /// The screen's tickets in screen order (page, slot, ticket id, number, timer, items), its
    /// all-day counts and its median ticket time over the last hour.
    List {
        /// `table` for people, `json` for programs.
        #[arg(long, default_value = "table", value_parser = ["table", "json"])]
        format: String,
    },
    /// Tickets bumped in the last 15 minutes (at most 50), newest first.
    RecallList,
    /// Start cooking a ticket.
    Start { ticket: String },
    /// Bump a ticket (every item done).
    Bump { ticket: String },
    /// Bump one item of a ticket, by its line id (see `list --format json`).
    BumpItem { ticket: String, line: String },
    /// Bring a bumped ticket back to the screen.
    Recall { ticket: String },
    /// Rush a ticket to the front (`--undo` puts it back in line).
    Rush {
        ticket: String,
        #[arg(long)]
        undo: bool,
    },
    /// Expo: bump a whole order (check and course) once every station has bumped its part.
    ExpoBump {
        check: String,
        #[arg(long, default_value_t = 1)]
        course: u8,
    },
    /// Expo: bump an order while a station still holds part of it; the reason is recorded.
    ForceBump {
        check: String,
        #[arg(long, default_value_t = 1)]
        course: u8,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand)]
enum DeviceCommand {
    /// Run a headless device: it owns its database, replicates over MQTT and serves a control
    /// socket, until stopped (Ctrl-C, SIGTERM or `pass ctl … stop`). Without --broker it finds
    /// the store's broker by mDNS, and a kitchen screen hosts the embedded broker when none
    /// answers.
    Run {
        #[arg(long, value_enum)]
        role: Role,
        #[command(flatten)]
        device: pass_shared::device::DeviceArgs,
    },
}

/// `pass broker`: the embedded broker (see `pass_shared::net::broker`).
#[derive(clap::Args)]
struct BrokerArgs {
    /// The store it serves (advertised in its mDNS TXT record).
    #[arg(long)]
    store: String,
    /// Who runs it: a device id, advertised for the election.
    #[arg(long, default_value = "broker")]
    host: String,
    /// Where to listen, IP:PORT (127.0.0.1:PORT with --mdns loopback; 0.0.0.0:1883 on a store's
    /// LAN).
    #[arg(long)]
    listen: std::net::SocketAddr,
    /// Where to advertise it: off, loopback, lan or an interface name.
    #[arg(long, default_value = "loopback")]
    mdns: String,
    /// The user name devices give.
    #[arg(long, default_value = pass_shared::device::STORE_BROKER_USER)]
    user: String,
    /// The store's broker password file (first line; readable by its owner only).
    #[arg(long)]
    password_file: PathBuf,
    /// When this broker was first started, ms since the epoch (default: now). A broker started
    /// again keeps its place in the election by giving the same time.
    #[arg(long)]
    started_at: Option<u64>,
    /// Exit when standard input closes (how a device that supervises it makes sure it never
    /// outlives the device).
    #[arg(long)]
    exit_with_stdin: bool,
}

#[derive(Subcommand)]
enum MosquittoCommand {
    /// Print a device's ACL entry: user = the device id; it reads every topic of its store and
    /// writes only its own, its events under its journal's origin only.
    DeviceAcl {
        #[arg(long)]
        store: String,
        #[arg(long)]
        device: String,
        /// The device's journal origin (16 hex digits), as `pass journal init` prints it and
        /// `pass ctl … status` shows it.
        #[arg(long)]
        origin: String,
        /// This device ingests the integrations' orders and writes the replies.
        #[arg(long)]
        answers_inbox: bool,
    },
    /// Print an integration's ACL entry: user `integration-<name>`; it writes orders into the
    /// store's inbox and reads the replies.
    IntegrationAcl {
        #[arg(long)]
        store: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum CtlRequest {
    /// The device's journal heads, peers, unconfirmed events and whether it is cut off.
    Status,
    /// Append one event, given as JSON: {"kind":"…","payload":{…}}.
    Append { event: String },
    /// Set (`--set-ms`) or advance (`--advance-ms`) the device's controlled clock.
    Clock {
        #[arg(long)]
        set_ms: Option<i64>,
        #[arg(long)]
        advance_ms: Option<i64>,
    },
    /// Stop the device cleanly.
    Stop,
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Write the menu and the first owner into a (stopped) device's journal, creating the
    /// journal if needed. Run once, on one device; the others receive it by replication.
    /// Running it again with the same menu file changes nothing.
    Init {
        /// The device database to write to (created if missing).
        #[arg(long)]
        db: PathBuf,
        /// The menu file (TOML; see assets/menu.toml for the format).
        #[arg(long)]
        menu: PathBuf,
        /// The owner's name.
        #[arg(long)]
        owner: String,
        /// The owner's PIN (4 to 8 digits).
        #[arg(long)]
        pin: String,
    },
    /// Change a store-wide setting (every device follows it). Needs the PIN of someone allowed
    /// to change store settings (an owner). Settings: deduct_stock_on = send | payment;
    /// day_cutoff_hour = 0–23; time_zone = an IANA name (Europe/London); offline_card_cap = 100.00;
    /// low_stock_portions = 10 (below it an item shows as low; 0 for no alerts).
    Set {
        #[arg(long)]
        db: PathBuf,
        setting: String,
        value: String,
        /// The PIN of the person making the change.
        #[arg(long)]
        pin: String,
    },
    /// Show the store's settings as every device computes them.
    Settings {
        #[arg(long)]
        db: PathBuf,
    },
    /// Add a person to the staff (every device learns them by replication). Needs the PIN of
    /// someone allowed to manage staff of that role (a manager adds servers and bartenders, an
    /// owner anyone). The new PIN must not be anyone else's.
    AddStaff {
        #[arg(long)]
        db: PathBuf,
        /// Their staff id (a-z, 0-9, `_`, `-`): what events record.
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        /// server, bartender, manager or owner.
        #[arg(long)]
        role: String,
        /// Their PIN (4 to 8 digits).
        #[arg(long)]
        pin: String,
        /// The PIN of the manager or owner adding them.
        #[arg(long)]
        by_pin: String,
    },
}

#[derive(Subcommand)]
enum MenuCommand {
    /// Check a menu file and publish it to every device through a (stopped) device's journal.
    /// A file identical to the menu in force changes nothing.
    Import {
        #[arg(long)]
        db: PathBuf,
        file: PathBuf,
    },
    /// Check a menu file without writing anything.
    Check { file: PathBuf },
}

#[derive(Subcommand)]
enum JournalCommand {
    /// Check every hash, link and head signature of each journal, then compare the copies.
    ///
    /// Exit status: 0 when every chain is intact (replication lag is only reported);
    /// 1 when a chain is broken, a fork is present, copies diverge, or a database's own origin
    /// is behind another copy of it (its journal was cut short); 2 on a usage error.
    Verify {
        /// Check every event's signature, not only each head's (the head's covers its chain).
        #[arg(long)]
        all_signatures: bool,
        /// Database files to check (each device's `pass.db`).
        #[arg(required = true)]
        dbs: Vec<PathBuf>,
    },
    /// Create a new, empty journal (a new origin with its own key) for a device.
    Init {
        db: PathBuf,
        #[arg(long, value_enum)]
        role: Role,
        /// A name people recognise, e.g. "grill screen".
        #[arg(long)]
        name: String,
    },
    /// Print every event of a journal as one JSON envelope per line, ordered by origin and seq.
    Show { db: PathBuf },
    /// Apply envelopes (one JSON envelope per line, as `show` prints them) to a stopped device's
    /// journal: the same checks as events from the network; duplicates change nothing.
    Import {
        db: PathBuf,
        /// File of envelopes, one per line.
        file: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Role {
    KitchenScreen,
    OrderTerminal,
    Console,
}

impl From<Role> for DeviceRole {
    fn from(r: Role) -> DeviceRole {
        match r {
            Role::KitchenScreen => DeviceRole::KitchenScreen,
            Role::OrderTerminal => DeviceRole::OrderTerminal,
            Role::Console => DeviceRole::Console,
        }
    }
}

fn main() -> ExitCode {
    pass_shared::device::init_logging();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pass: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Journal(JournalCommand::Verify {
            all_signatures,
            dbs,
        }) => Ok(journal_verify(&dbs, all_signatures)),
        Command::Journal(JournalCommand::Init { db, role, name }) => {
            if db.exists() {
                anyhow::bail!("{} already exists; a journal is created once", db.display());
            }
            let journal = Journal::open(
                &db,
                JournalOptions::new(Arc::new(SystemClock), role.into(), name),
            )
            .with_context(|| format!("creating {}", db.display()))?;
            println!("created {} with origin {}", db.display(), journal.origin());
            Ok(ExitCode::SUCCESS)
        }
        Command::Journal(JournalCommand::Import { db, file }) => journal_import(&db, &file),
        Command::Store(StoreCommand::Init {
            db,
            menu,
            owner,
            pin,
        }) => store_init(&db, &menu, &owner, &pin),
        Command::Store(StoreCommand::Set {
            db,
            setting,
            value,
            pin,
        }) => store_set(&db, &setting, &value, &pin),
        Command::Store(StoreCommand::AddStaff {
            db,
            id,
            name,
            role,
            pin,
            by_pin,
        }) => store_add_staff(&db, &id, &name, &role, &pin, &by_pin),
        Command::Store(StoreCommand::Settings { db }) => {
            let conn = pass_shared::journal::open_read_only(&db)
                .with_context(|| format!("opening {}", db.display()))?;
            let s = projection::store_settings(&conn)?;
            println!("deduct_stock_on = {}", s.stock_deduction().as_str());
            println!("day_cutoff_hour = {}", s.cutoff_hour().hour());
            println!("time_zone = {}", s.time_zone().name());
            println!("offline_card_cap = {}", s.offline_card_cap());
            println!("low_stock_portions = {}", s.low_stock_portions());
            Ok(ExitCode::SUCCESS)
        }
        Command::Menu(MenuCommand::Import { db, file }) => {
            let (text, menu) = read_menu(&file)?;
            let journal = open_store_db(&db)?;
            publish_menu(&journal, &text, &menu)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Device(DeviceCommand::Run { role, device }) => {
            let config = device
                .into_config(role.into())
                .map_err(anyhow::Error::msg)?;
            pass_shared::device::run(config)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Report(command) => {
            let mut out = std::io::stdout().lock();
            pass_shared::reports::cli::run(command, SystemClock.wall_ms(), &mut out)?;
            std::io::Write::flush(&mut out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Rush(args) => {
            let stop = std::sync::atomic::AtomicBool::new(false);
            let mut out = std::io::stdout().lock();
            pass_shared::rush::cli::run(args, &stop, &mut out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Broker(args) => broker(args),
        Command::Ctl { control, request } => ctl(&control, request),
        Command::Kitchen { control, request } => kitchen(&control, request),
        Command::Terminal {
            control,
            pin,
            request,
        } => terminal(&control, pin, request),
        Command::Pay { control, request } => pay(&control, request),
        Command::Mosquitto(command) => {
            print!("{}", mosquitto_acl(command)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Menu(MenuCommand::Check { file }) => {
            let (_, menu) = read_menu(&file)?;
            println!(
                "{}: a valid menu of {} items",
                file.display(),
                menu.items().len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Journal(JournalCommand::Show { db }) => {
            let report = verify::verify_db(&db, false);
            if let Some(problem) = report.1.first() {
                eprintln!("warning: {problem}");
            }
            for line in read_envelopes(&db)? {
                println!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The ACL entry a `pass mosquitto …` command asks for; the error names the option at fault.
fn mosquitto_acl(command: MosquittoCommand) -> anyhow::Result<AclEntry> {
    let store_id = |store: String| StoreId::try_from(store).context("--store");
    Ok(match command {
        MosquittoCommand::DeviceAcl {
            store,
            device,
            origin,
            answers_inbox,
        } => AclEntry::device(
            &store_id(store)?,
            &DeviceId::try_from(device).context("--device")?,
            &Origin::try_from(origin).context("--origin")?,
            answers_inbox,
        ),
        MosquittoCommand::IntegrationAcl { store, name } => AclEntry::integration(
            &store_id(store)?,
            &IntegrationName::try_from(name).context("--name")?,
        ),
    })
}

/// Largest menu file read.
const MAX_MENU_BYTES: u64 = 1024 * 1024;

fn read_menu(file: &std::path::Path) -> anyhow::Result<(String, Menu)> {
    let size = std::fs::metadata(file)
        .with_context(|| format!("reading {}", file.display()))?
        .len();
    if size > MAX_MENU_BYTES {
        anyhow::bail!(
            "{}: {size} bytes, more than the {MAX_MENU_BYTES}-byte limit for a menu",
            file.display()
        );
    }
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let menu =
        Menu::from_toml_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    Ok((text, menu))
}

fn open_store_db(db: &std::path::Path) -> anyhow::Result<Journal> {
    Journal::open_with(
        db,
        JournalOptions::new(Arc::new(SystemClock), DeviceRole::Console, "store console"),
        vec![Box::new(StoreProjections::new())],
    )
    .with_context(|| format!("opening {}", db.display()))
}

fn publish_menu(journal: &Journal, text: &str, menu: &Menu) -> anyhow::Result<()> {
    let current = journal.read(|c| projection::register(c, "menu"))?;
    if current.as_deref() == Some(text) {
        println!(
            "menu unchanged ({} items): nothing written",
            menu.items().len()
        );
        return Ok(());
    }
    journal.append(&Event::MenuPublished {
        toml: text.to_owned(),
    })?;
    println!("menu published: {} items", menu.items().len());
    Ok(())
}

fn store_init(
    db: &std::path::Path,
    menu_file: &std::path::Path,
    owner: &str,
    pin: &str,
) -> anyhow::Result<ExitCode> {
    // Everything is checked before anything is written.
    let (text, menu) = read_menu(menu_file)?;
    staff::check_new_pin(pin).map_err(|e| anyhow::anyhow!("owner PIN: {e}"))?;
    let owner = owner.trim();
    if owner.is_empty() || owner.chars().count() > 60 {
        anyhow::bail!("owner name: give 1 to 60 characters");
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| anyhow::anyhow!("no randomness for the PIN's salt: {e}"))?;
    let hash = staff::PinHash::new(pin, salt).map_err(|e| anyhow::anyhow!("owner PIN: {e}"))?;
    let journal = open_store_db(db)?;
    publish_menu(&journal, &text, &menu)?;
    let has_staff = journal.read(|c| {
        c.query_row(
            "SELECT EXISTS(SELECT 1 FROM proj_registers WHERE key LIKE 'staff:%')",
            [],
            |r| r.get::<_, bool>(0),
        )
    })?;
    if has_staff {
        println!("the store already has staff: no owner added");
    } else {
        journal.append(&Event::StaffAdded {
            staff: "owner".into(),
            name: owner.to_owned(),
            role: staff::Role::Owner.as_str().to_owned(),
            pin_hash: hash.as_str().to_owned(),
        })?;
        println!("owner {owner} added (staff id `owner`)");
    }
    println!(
        "store initialised in {} (origin {})",
        db.display(),
        journal.origin()
    );
    Ok(ExitCode::SUCCESS)
}

fn store_set(
    db: &std::path::Path,
    setting: &str,
    value: &str,
    pin: &str,
) -> anyhow::Result<ExitCode> {
    use pass_shared::domain::business_day::SettingChange;
    use pass_shared::event::SettingRecord;
    let change = SettingChange::parse(setting, value)?;
    let journal = open_store_db(db)?;
    let current = journal.read(projection::store_settings)?;
    current.apply(&change)?;
    let people = journal.read(projection::staff)?;
    let person = signed_in(
        &people,
        pin,
        staff::Permission::ChangeStoreSettings,
        "change store settings",
    )?;
    let who = person.id().clone();
    let record = match change {
        SettingChange::StockDeduction(d) => SettingRecord::DeductStockOn(d.as_str().to_owned()),
        SettingChange::CutoffHour(h) => SettingRecord::DayCutoffHour(h),
        SettingChange::TimeZone(tz) => SettingRecord::TimeZone(tz),
        SettingChange::OfflineCardCap(cap) => SettingRecord::OfflineCardCap(cap),
        SettingChange::LowStockPortions(n) => SettingRecord::LowStockPortions(n),
    };
    journal.append(&Event::SettingChanged {
        setting: record,
        by: who.to_string(),
    })?;
    println!("{setting} = {value} (changed by {})", person.name());
    Ok(ExitCode::SUCCESS)
}

/// The person whose PIN this is, if their role allows `permission` (`doing` names it).
fn signed_in<'a>(
    people: &'a [staff::Staff],
    pin: &str,
    permission: staff::Permission,
    doing: &str,
) -> anyhow::Result<&'a staff::Staff> {
    let mut throttle = staff::SignInThrottle::new(staff::ThrottlePolicy::default());
    let now = u64::try_from(SystemClock.wall_ms()).unwrap_or(0);
    let who = staff::sign_in(people, pin, now, &mut throttle)
        .map_err(|e| anyhow::anyhow!("sign-in: {e}"))?;
    let person = people
        .iter()
        .find(|p| *p.id() == who)
        .context("the person who signed in is not on the staff list")?;
    if !person.permits(permission) {
        anyhow::bail!(
            "{} ({}) may not {doing}",
            person.name(),
            person.role().as_str()
        );
    }
    Ok(person)
}

/// `pass store add-staff`: checks everything, then writes one `staff_added`.
fn store_add_staff(
    db: &std::path::Path,
    id: &str,
    name: &str,
    role: &str,
    pin: &str,
    by_pin: &str,
) -> anyhow::Result<ExitCode> {
    let role: staff::Role = role.parse().map_err(|e| anyhow::anyhow!("--role: {e}"))?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 60 {
        anyhow::bail!("--name: give 1 to 60 characters");
    }
    let valid_id = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !valid_id {
        anyhow::bail!("--id: 1 to 64 characters of a-z, 0-9, `_` and `-`");
    }
    staff::check_new_pin(pin).map_err(|e| anyhow::anyhow!("--pin: {e}"))?;
    let journal = open_store_db(db)?;
    let people = journal.read(projection::staff)?;
    let by = signed_in(
        &people,
        by_pin,
        staff::Permission::ManageStaff,
        "manage staff",
    )?;
    if !by.role().can_manage(role) {
        anyhow::bail!(
            "{} ({}) may not add a {}",
            by.name(),
            by.role().as_str(),
            role.as_str()
        );
    }
    if people.iter().any(|p| p.id().to_string() == id) {
        anyhow::bail!("--id: `{id}` is already on the staff");
    }
    if people.iter().any(|p| p.is_active() && p.pin().verify(pin)) {
        anyhow::bail!("--pin: someone already has that PIN: choose another");
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| anyhow::anyhow!("no randomness for the PIN's salt: {e}"))?;
    let hash = staff::PinHash::new(pin, salt).map_err(|e| anyhow::anyhow!("--pin: {e}"))?;
    journal.append(&Event::StaffAdded {
        staff: id.to_owned(),
        name: name.to_owned(),
        role: role.as_str().to_owned(),
        pin_hash: hash.as_str().to_owned(),
    })?;
    println!(
        "{name} added as {} (staff id `{id}`, by {})",
        role.as_str(),
        by.name()
    );
    Ok(ExitCode::SUCCESS)
}

/// `pass broker`: checks the options, reads the password file, runs until stopped.
fn broker(args: BrokerArgs) -> anyhow::Result<ExitCode> {
    use pass_shared::net::broker::{EMBEDDED_MQTT, ServeSettings, StoreLogin, serve};
    use pass_shared::net::discovery::{BrokerAd, BrokerKey, MdnsScope};
    let store = args
        .store
        .parse()
        .map_err(|e| anyhow::anyhow!("--store: {e}"))?;
    let host = args
        .host
        .parse()
        .map_err(|e| anyhow::anyhow!("--host: {e}"))?;
    let mdns: MdnsScope = args
        .mdns
        .parse()
        .map_err(|e| anyhow::anyhow!("--mdns: {e}"))?;
    if args.listen.port() == 0 {
        anyhow::bail!("--listen: give a port");
    }
    let password = pass_shared::device::files::read_password_file(&args.password_file)
        .context("--password-file")?;
    let login = StoreLogin::new(args.user, password)?;
    let started_at_ms = match args.started_at {
        Some(ms) => ms,
        None => u64::try_from(SystemClock.wall_ms()).unwrap_or(0),
    };
    let ad = BrokerAd {
        store,
        key: BrokerKey {
            started_at_ms,
            host,
        },
        mqtt: EMBEDDED_MQTT,
        port: args.listen.port(),
        addrs: Vec::new(),
    };
    serve(ServeSettings {
        listen: args.listen,
        login,
        mdns,
        ad,
        exit_with_stdin: args.exit_with_stdin,
    })?;
    Ok(ExitCode::SUCCESS)
}

fn ctl(control: &std::path::Path, request: CtlRequest) -> anyhow::Result<ExitCode> {
    let body = match request {
        CtlRequest::Status => serde_json::json!({"cmd": "status"}),
        CtlRequest::Append { event } => {
            let event: serde_json::Value =
                serde_json::from_str(&event).context("the event is not JSON")?;
            serde_json::json!({"cmd": "append", "event": event})
        }
        CtlRequest::Clock { set_ms, advance_ms } => {
            serde_json::json!({"cmd": "clock", "set_ms": set_ms, "advance_ms": advance_ms})
        }
        CtlRequest::Stop => serde_json::json!({"cmd": "stop"}),
    };
    let value = control_request(control, &body)?;
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(exit_code(&value))
}

/// How long `pass` waits for a device's answer (payments wait longer: [`PAY_ANSWER_TIMEOUT`]).
const CONTROL_ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Sends one request to a device's control socket and reads its answer.
fn control_request(
    control: &std::path::Path,
    body: &serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    control_request_waiting(control, body, CONTROL_ANSWER_TIMEOUT)
}

fn exit_code(answer: &serde_json::Value) -> ExitCode {
    if answer["ok"] == serde_json::Value::Bool(true) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn kitchen(control: &std::path::Path, request: KitchenRequest) -> anyhow::Result<ExitCode> {
    use serde_json::json;
    let act = |action: serde_json::Value| json!({"cmd": "kitchen", "op": "act", "action": action});
    let (body, table) = match request {
        KitchenRequest::List { format } => {
            (json!({"cmd": "kitchen", "op": "list"}), format == "table")
        }
        KitchenRequest::RecallList => (json!({"cmd": "kitchen", "op": "recall_list"}), false),
        KitchenRequest::Start { ticket } => {
            (act(json!({"action": "start", "ticket": ticket})), false)
        }
        KitchenRequest::Bump { ticket } => {
            (act(json!({"action": "bump", "ticket": ticket})), false)
        }
        KitchenRequest::BumpItem { ticket, line } => (
            act(json!({"action": "bump_item", "ticket": ticket, "line": line})),
            false,
        ),
        KitchenRequest::Recall { ticket } => {
            (act(json!({"action": "recall", "ticket": ticket})), false)
        }
        KitchenRequest::Rush { ticket, undo } => (
            act(json!({"action": "priority", "ticket": ticket, "rush": !undo})),
            false,
        ),
        KitchenRequest::ExpoBump { check, course } => (
            act(json!({"action": "expo_bump", "check": check, "course": course})),
            false,
        ),
        KitchenRequest::ForceBump {
            check,
            course,
            reason,
        } => (
            act(
                json!({"action": "expo_bump", "check": check, "course": course, "force_reason": reason}),
            ),
            false,
        ),
    };
    let answer = control_request(control, &body)?;
    if table && answer["ok"] == serde_json::Value::Bool(true) {
        print!("{}", kitchen_table(&answer));
    } else {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    }
    Ok(exit_code(&answer))
}

/// One `pass terminal` run's conversation with the terminal.
struct TerminalClient<'a> {
    control: &'a std::path::Path,
    /// Sent with the first request only: the terminal is signed in after it.
    pin: Option<String>,
}

impl TerminalClient<'_> {
    fn send(&mut self, mut body: serde_json::Value) -> anyhow::Result<serde_json::Value> {
        body["cmd"] = serde_json::json!("terminal");
        if let Some(pin) = self.pin.take() {
            body["pin"] = serde_json::json!(pin);
        }
        control_request(self.control, &body)
    }

    /// The check `at` names (asking the terminal for the one at a table), or its refusal.
    fn check(&mut self, at: &CheckAt) -> anyhow::Result<Result<String, serde_json::Value>> {
        match (&at.check, &at.table) {
            (Some(check), _) => Ok(Ok(check.clone())),
            (None, Some(table)) => {
                let answer = self.send(serde_json::json!({"op": "find", "table": table}))?;
                Ok(match answer["found"].as_str() {
                    Some(check) => Ok(check.to_owned()),
                    None => Err(answer),
                })
            }
            (None, None) => anyhow::bail!("give --table or --check"),
        }
    }

    /// Carries out the intent `intent` makes for the check `at` names.
    fn act(
        &mut self,
        at: &CheckAt,
        intent: impl FnOnce(&str) -> serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        match self.check(at)? {
            Ok(check) => self.send(serde_json::json!({"op": "act", "intent": intent(&check)})),
            Err(refusal) => Ok(refusal),
        }
    }
}

/// Talks to an order terminal: resolves `--table` to its check, then carries out the verb.
fn terminal(
    control: &std::path::Path,
    pin: Option<String>,
    request: TerminalRequest,
) -> anyhow::Result<ExitCode> {
    use serde_json::json;
    let mut client = TerminalClient { control, pin };
    let approval = |a: ManagerApproval| (a.manager_pin, a.reason);
    let (answer, table) = {
        match request {
            TerminalRequest::SignIn { pin } => (
                client.send(json!({"op": "act", "intent": {"intent": "sign_in", "pin": pin}}))?,
                None,
            ),
            TerminalRequest::SignOut => (
                client.send(json!({"op": "act", "intent": {"intent": "sign_out"}}))?,
                None,
            ),
            TerminalRequest::ClockIn { pin } => (
                client.send(json!({"op": "act", "intent": {"intent": "clock_in", "pin": pin}}))?,
                None,
            ),
            TerminalRequest::ClockOut { pin } => (
                client.send(json!({"op": "act", "intent": {"intent": "clock_out", "pin": pin}}))?,
                None,
            ),
            TerminalRequest::Open {
                table,
                guests,
                seats,
                order_type,
            } => {
                let order_type = match order_type {
                    OrderTypeArg::DineIn => "dine_in",
                    OrderTypeArg::Takeout => "takeout",
                    OrderTypeArg::Delivery => "delivery",
                };
                (
                    client.send(json!({"op": "act", "intent": {
                        "intent": "open_check", "table": table, "guests": guests,
                        "seats": seats, "order_type": order_type}}))?,
                    None,
                )
            }
            TerminalRequest::Add {
                at,
                item,
                modifiers,
                qty,
                seat,
                course,
                notes,
            } => (
                client.act(&at, |check| {
                    json!({"intent": "add_line", "check": check, "item": item,
                        "modifiers": modifiers, "qty": qty, "seat": seat, "course": course,
                        "notes": notes})
                })?,
                None,
            ),
            TerminalRequest::Send { at } => (
                client.act(&at, |check| json!({"intent": "send", "check": check}))?,
                None,
            ),
            TerminalRequest::Hold { at, course } => (
                client.act(
                    &at,
                    |check| json!({"intent": "hold_course", "check": check, "course": course}),
                )?,
                None,
            ),
            TerminalRequest::Fire { at, course } => (
                client.act(
                    &at,
                    |check| json!({"intent": "fire_course", "check": check, "course": course}),
                )?,
                None,
            ),
            TerminalRequest::Void {
                at,
                line,
                approval: a,
            } => {
                let (manager_pin, reason) = approval(a);
                (
                    client.act(&at, |check| {
                        json!({"intent": "void", "check": check, "line": line,
                            "manager_pin": manager_pin, "reason": reason})
                    })?,
                    None,
                )
            }
            TerminalRequest::Comp {
                at,
                line,
                approval: a,
            } => {
                let (manager_pin, reason) = approval(a);
                (
                    client.act(&at, |check| {
                        json!({"intent": "comp", "check": check, "line": line,
                            "manager_pin": manager_pin, "reason": reason})
                    })?,
                    None,
                )
            }
            TerminalRequest::Discount {
                at,
                line,
                amount,
                percent,
                approval: a,
            } => {
                let (manager_pin, reason) = approval(a);
                let discount = match (amount, percent) {
                    (Some(amount), _) => json!({"amount": amount}),
                    (None, Some(percent)) => json!({"percent": percent}),
                    (None, None) => anyhow::bail!("give --amount or --percent"),
                };
                (
                    client.act(&at, |check| {
                        json!({"intent": "discount", "check": check, "line": line,
                            "discount": discount, "manager_pin": manager_pin, "reason": reason})
                    })?,
                    None,
                )
            }
            TerminalRequest::Split {
                at,
                by_seat,
                evenly,
                parts,
                undo,
            } => {
                let split = match (by_seat, evenly, parts.is_empty(), undo) {
                    (true, _, _, _) => json!({"by": "seat"}),
                    (_, Some(n), _, _) => json!({"by": "evenly", "parts": n}),
                    (_, _, false, _) => {
                        let groups: Vec<Vec<String>> = parts
                            .iter()
                            .map(|p| {
                                p.split(',')
                                    .map(str::trim)
                                    .filter(|l| !l.is_empty())
                                    .map(str::to_owned)
                                    .collect()
                            })
                            .collect();
                        json!({"by": "items", "parts": groups})
                    }
                    (_, _, _, true) => json!({"by": "none"}),
                    _ => anyhow::bail!("give --by-seat, --evenly N, --part … or --undo"),
                };
                (
                    client.act(
                        &at,
                        |check| json!({"intent": "split", "check": check, "split": split}),
                    )?,
                    None,
                )
            }
            TerminalRequest::Move { at, to } => (
                client.act(
                    &at,
                    |check| json!({"intent": "move", "check": check, "table": to}),
                )?,
                None,
            ),
            TerminalRequest::Merge {
                at,
                from_table,
                from_check,
            } => {
                let from = CheckAt {
                    table: from_table,
                    check: from_check,
                };
                let answer = match client.check(&from)? {
                    Ok(from) => client.act(
                        &at,
                        |check| json!({"intent": "merge", "check": check, "from": from}),
                    )?,
                    Err(refusal) => refusal,
                };
                (answer, None)
            }
            TerminalRequest::Close { at } => (
                client.act(&at, |check| json!({"intent": "close", "check": check}))?,
                None,
            ),
            TerminalRequest::Show { at, format } => {
                let answer = match (&at.check, &at.table) {
                    (Some(check), _) => client.send(json!({"op": "check", "check": check}))?,
                    (None, table) => client.send(json!({"op": "check", "table": table}))?,
                };
                (answer, (format == "table").then_some("check"))
            }
            TerminalRequest::Tables { format } => (
                client.send(json!({"op": "floor"}))?,
                (format == "table").then_some("floor"),
            ),
            TerminalRequest::Menu { category } => (
                client.send(json!({"op": "menu", "category": category}))?,
                None,
            ),
            TerminalRequest::Screen => (client.send(json!({"op": "view"}))?, None),
            TerminalRequest::Settings {
                manager_pin,
                letter,
                return_to_pin_after_send,
                return_to_pin_after_close,
                idle_minutes,
                floor_plan,
                broker,
                printer,
            } => {
                let mut change = serde_json::Map::new();
                if let Some(v) = broker {
                    change.insert("broker".into(), json!(v));
                }
                if let Some(v) = printer {
                    change.insert("printer".into(), json!(v));
                }
                if let Some(v) = letter {
                    change.insert("letter".into(), json!(v));
                }
                if let Some(v) = return_to_pin_after_send {
                    change.insert("return_to_pin_after_send".into(), json!(v));
                }
                if let Some(v) = return_to_pin_after_close {
                    change.insert("return_to_pin_after_close".into(), json!(v));
                }
                if let Some(v) = idle_minutes {
                    change.insert("idle_minutes".into(), json!(v));
                }
                if let Some(v) = floor_plan {
                    let path = if v.as_os_str().is_empty() {
                        v
                    } else {
                        std::path::absolute(&v).with_context(|| format!("{}", v.display()))?
                    };
                    change.insert("floor_plan".into(), json!(path));
                }
                (
                    client.send(json!({"op": "act", "intent": {"intent": "change_settings",
                        "manager_pin": manager_pin, "change": change}}))?,
                    None,
                )
            }
        }
    };
    match table {
        Some(kind) if answer["ok"] == serde_json::Value::Bool(true) => {
            print!("{}", terminal_table(kind, &answer))
        }
        _ => println!("{}", serde_json::to_string_pretty(&answer)?),
    }
    Ok(exit_code(&answer))
}

/// A terminal's check or floor as text for people.
fn terminal_table(kind: &str, answer: &serde_json::Value) -> String {
    use std::fmt::Write as _;
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "-".to_owned(),
        other => other.to_string(),
    };
    let mut out = String::new();
    if kind == "check" {
        let c = &answer["check"];
        let _ = writeln!(
            out,
            "check {} · {} · table {} · {} guests · {} · {}",
            text(&c["number"]),
            text(&c["check"]),
            text(&c["table"]),
            text(&c["guests"]),
            text(&c["server_name"]),
            text(&c["state"])
        );
        for l in c["lines"].as_array().into_iter().flatten() {
            let mods: Vec<String> = l["modifiers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| text(&m["name"]))
                .collect();
            let _ = writeln!(
                out,
                "  {:<28} seat {:<2} c{} {:>3} × {:<26} {:>8}  {:<11} {}{}",
                text(&l["line"]),
                text(&l["seat"]),
                text(&l["course"]),
                text(&l["qty"]),
                text(&l["name"]),
                text(&l["amount"]),
                text(&l["status_text"]),
                if l["addition"] == serde_json::Value::Bool(true) {
                    "ADD "
                } else {
                    ""
                },
                mods.join(", ")
            );
        }
        let t = &c["totals"];
        let _ = writeln!(
            out,
            "  subtotal {} · discount {} · tax {} · total {} · paid {} · due {}",
            text(&t["subtotal"]),
            text(&t["discount"]),
            text(&t["tax_added"]),
            text(&t["total"]),
            text(&t["paid"]),
            text(&t["balance_due"])
        );
        if let Some(split) = c["split"].as_object() {
            let parts: Vec<String> = split["parts"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| format!("{} {}", text(&p["seat"]), text(&p["amount"])))
                .collect();
            let _ = writeln!(
                out,
                "  split {}: {}",
                text(&split["rule"]["by"]),
                parts.join(", ")
            );
        }
    } else {
        let f = &answer["floor"];
        let row = |out: &mut String, label: &str, c: &serde_json::Value| {
            let elsewhere = c["open_elsewhere"]
                .as_object()
                .map(|o| format!(" · open on {} by {}", text(&o["device"]), text(&o["name"])))
                .unwrap_or_default();
            let minutes = c["seated_ms"].as_i64().unwrap_or(0) / 60_000;
            let _ = writeln!(
                out,
                "{:<8} {:<6} {:>2} guests {:>9} {:>4} min  course {} ready {} held {}{}",
                label,
                text(&c["number"]),
                text(&c["guests"]),
                text(&c["total"]),
                minutes,
                text(&c["course_in_progress"]),
                text(&c["food_ready"]),
                text(&c["held_courses"]),
                elsewhere
            );
        };
        for t in f["tables"].as_array().into_iter().flatten() {
            let checks = t["checks"].as_array().cloned().unwrap_or_default();
            if checks.is_empty() {
                let _ = writeln!(
                    out,
                    "{:<8} free ({} seats)",
                    text(&t["name"]),
                    text(&t["seats"])
                );
            }
            for c in &checks {
                row(&mut out, &text(&t["name"]), c);
            }
        }
        for c in f["other_checks"].as_array().into_iter().flatten() {
            row(&mut out, &text(&c["order_type"]), c);
        }
    }
    out
}

/// A kitchen screen's list as a table for people.
fn kitchen_table(answer: &serde_json::Value) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let _ = writeln!(
        out,
        "station {} · {} page(s)",
        text(&answer["station"]),
        answer["pages"]
    );
    for card in answer["cards"].as_array().into_iter().flatten() {
        let items: Vec<String> = card["lines"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| text(&l["text"]).trim().to_owned())
            .collect();
        let _ = writeln!(
            out,
            "p{} #{:<2} {:<24} {:<6} {:<8} {:<28} {}",
            card["page"],
            card["slot"],
            text(&card["key"]),
            text(&card["number"]),
            text(&card["place"]),
            text(&card["status"]),
            items.join(" | ")
        );
    }
    if let Some(all_day) = answer["all_day"].as_array().filter(|a| !a.is_empty()) {
        let counts: Vec<String> = all_day
            .iter()
            .map(|pair| format!("{} {}", pair[1], text(&pair[0])))
            .collect();
        let _ = writeln!(out, "all day: {}", counts.join(", "));
    }
    if let Some(ms) = answer["median_last_hour_ms"].as_i64() {
        let _ = writeln!(
            out,
            "median ticket time, last hour: {}",
            pass_shared::kitchen::board::timer_text(ms)
        );
    }
    if let Some(low) = answer["low_stock"].as_array().filter(|a| !a.is_empty()) {
        let items: Vec<String> = low
            .iter()
            .map(|i| format!("{} {} left", text(&i["name"]), i["portions_left"]))
            .collect();
        let _ = writeln!(out, "low: {}", items.join(", "));
    }
    out
}

fn journal_import(db: &std::path::Path, file: &std::path::Path) -> anyhow::Result<ExitCode> {
    use std::io::BufRead;
    if !db.exists() {
        anyhow::bail!(
            "{} does not exist; create it with `pass journal init`",
            db.display()
        );
    }
    let journal = Journal::open(
        db,
        JournalOptions::new(Arc::new(SystemClock), DeviceRole::Console, "import"),
    )
    .with_context(|| format!("opening {}", db.display()))?;
    let reader = std::io::BufReader::new(
        std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?,
    );
    let mut total = pass_shared::journal::ApplyReport::default();
    let mut chunk = Vec::new();
    let flush = |chunk: &mut Vec<Vec<u8>>,
                 total: &mut pass_shared::journal::ApplyReport|
     -> anyhow::Result<()> {
        let r = journal.apply(std::mem::take(chunk))?;
        total.accepted += r.accepted;
        total.duplicates += r.duplicates;
        total.held += r.held;
        total.forks += r.forks;
        total.set_aside += r.set_aside;
        total.released += r.released;
        Ok(())
    };
    for line in reader.split(b'\n') {
        let line = line.with_context(|| format!("reading {}", file.display()))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        chunk.push(line);
        if chunk.len() == 1_000 {
            flush(&mut chunk, &mut total)?;
        }
    }
    flush(&mut chunk, &mut total)?;
    println!(
        "{}: {} accepted, {} released after waiting, {} already held, {} waiting for earlier events, {} forks, {} set aside",
        db.display(),
        total.accepted,
        total.released,
        total.duplicates,
        total.held.saturating_sub(total.released),
        total.forks,
        total.set_aside
    );
    Ok(if total.set_aside > 0 || total.forks > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn read_envelopes(db: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let conn = rusqlite_open(db)?;
    let mut stmt = conn.prepare(
        "SELECT body, hex(prev_hash), hex(hash), hex(sig) FROM events ORDER BY origin, seq, id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(format!(
            r#"{{"body":{},"prev":"{}","hash":"{}","sig":"{}"}}"#,
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?.to_lowercase(),
            r.get::<_, String>(2)?.to_lowercase(),
            r.get::<_, String>(3)?.to_lowercase()
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn rusqlite_open(db: &std::path::Path) -> anyhow::Result<pass_shared::journal::ReadOnlyDb> {
    pass_shared::journal::open_read_only(db).with_context(|| format!("opening {}", db.display()))
}

fn journal_verify(dbs: &[PathBuf], all_signatures: bool) -> ExitCode {
    let report = verify::verify(dbs, all_signatures);
    for s in &report.summaries {
        let heads: Vec<String> = s
            .heads
            .iter()
            .map(|(o, (seq, _))| format!("{o}@{seq}"))
            .collect();
        println!(
            "{}: {} events, {} origins, own origin {} [{}]",
            s.path.display(),
            s.events,
            s.heads.len(),
            s.own_origin.as_deref().unwrap_or("-"),
            heads.join(" ")
        );
    }
    for (db, origin, seq, best) in &report.lag {
        println!(
            "LAG {}: origin {origin} at seq {seq}, another copy has {best} (replication lag, not an error)",
            db.display()
        );
    }
    for finding in &report.findings {
        println!("{finding}");
    }
    if report.ok() {
        println!("OK: every chain intact");
        ExitCode::SUCCESS
    } else {
        println!("FAILED: {} problem(s)", report.findings.len());
        ExitCode::from(1)
    }
}

/// How long `pass pay` waits for a terminal's answer: a card payment waits for the guest, the
/// card network and the terminal's retries.
const PAY_ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

fn pay(control: &std::path::Path, request: PayRequest) -> anyhow::Result<ExitCode> {
    use pass_shared::payments::PaymentCommand as P;
    let zero = pass_shared::domain::Money::ZERO;
    let mut receipt_text = false;
    let command = match request {
        PayRequest::View { check } => P::View { check },
        PayRequest::Cash {
            check,
            pin,
            tendered,
            amount,
            seat,
            tip,
            attempt,
        } => P::Cash {
            check,
            pin,
            tendered,
            amount,
            seat,
            tip: tip.unwrap_or(zero),
            attempt,
        },
        PayRequest::Card {
            check,
            pin,
            amount,
            seat,
            tip,
            attempt,
            manager_pin,
        } => P::Card {
            check,
            pin,
            amount,
            seat,
            tip: tip.unwrap_or(zero),
            attempt,
            manager_pin,
        },
        PayRequest::TabOpen {
            check,
            pin,
            hold,
            seat,
            attempt,
        } => P::OpenTab {
            check,
            pin,
            hold,
            seat,
            attempt,
        },
        PayRequest::TabClose {
            check,
            pin,
            tab,
            tip,
            attempt,
        } => P::CloseTab {
            check,
            pin,
            payment: tab,
            tip: tip.unwrap_or(zero),
            attempt,
        },
        PayRequest::Tip {
            check,
            pin,
            payment,
            tip,
            attempt,
        } => P::AdjustTip {
            check,
            pin,
            payment,
            tip,
            attempt,
        },
        PayRequest::Refund {
            check,
            manager_pin,
            payment,
            amount,
            reason,
            attempt,
        } => P::Refund {
            check,
            manager_pin,
            payment,
            amount,
            reason,
            attempt,
        },
        PayRequest::Upload { pin } => P::Upload { pin },
        PayRequest::BatchClose { pin, attempt } => P::BatchClose { pin, attempt },
        PayRequest::DrawerOpen { pin, float } => P::DrawerOpen { pin, float },
        PayRequest::Drawer { pin } => P::Drawer { pin },
        PayRequest::DrawerCount { pin, counted } => P::DrawerCount { pin, counted },
        PayRequest::Receipt {
            check,
            copy,
            payment,
            print,
            format,
        } => {
            receipt_text = format == "text";
            P::Receipt {
                check,
                copy: serde_json::from_value(serde_json::Value::String(copy)).context("--copy")?,
                payment,
                print,
            }
        }
        PayRequest::Alerts => P::Alerts,
        PayRequest::Setup {
            card_terminal,
            printer,
            card_answer_ms,
            card_attempts,
        } => P::Setup {
            card_terminal,
            printer,
            card_answer_ms,
            card_attempts,
        },
    };
    let body = serde_json::json!({"cmd": "payment", "request": command});
    let answer = control_request_waiting(control, &body, PAY_ANSWER_TIMEOUT)?;
    let ok = answer["ok"] == serde_json::Value::Bool(true);
    if receipt_text && ok {
        for line in answer["preview"]["lines"].as_array().into_iter().flatten() {
            println!("{}", line.as_str().unwrap_or_default());
        }
        if let Some(printed) = answer.get("printed").filter(|p| !p.is_null()) {
            if printed["printed"] == serde_json::Value::Bool(true) {
                println!(
                    "printed on {}",
                    printed["printer"].as_str().unwrap_or_default()
                );
            } else {
                println!(
                    "NOT PRINTED: {}",
                    printed["error"].as_str().unwrap_or_default()
                );
            }
        }
    } else {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    }
    Ok(exit_code(&answer))
}

/// Sends one request to a device's control socket and reads its answer, waiting up to `timeout`
/// (one client for every verb and for the demo's rush: [`pass_shared::rush::request`]).
fn control_request_waiting(
    control: &std::path::Path,
    body: &serde_json::Value,
    timeout: std::time::Duration,
) -> anyhow::Result<serde_json::Value> {
    Ok(pass_shared::rush::request(control, body, timeout)?)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn command_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
