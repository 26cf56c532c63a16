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
    /// day_cutoff_hour = 0–23; time_zone = an IANA name (Europe/London); offline_card_cap = 100.00.
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
        Command::Store(StoreCommand::Settings { db }) => {
            let conn = pass_shared::journal::open_read_only(&db)
                .with_context(|| format!("opening {}", db.display()))?;
            let s = projection::store_settings(&conn)?;
            println!("deduct_stock_on = {}", s.stock_deduction().as_str());
            println!("day_cutoff_hour = {}", s.cutoff_hour().hour());
            println!("time_zone = {}", s.time_zone().name());
            println!("offline_card_cap = {}", s.offline_card_cap());
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
        Command::Broker(args) => broker(args),
        Command::Ctl { control, request } => ctl(&control, request),
        Command::Kitchen { control, request } => kitchen(&control, request),
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
    let mut throttle = staff::SignInThrottle::new(staff::ThrottlePolicy::default());
    let now = u64::try_from(SystemClock.wall_ms()).unwrap_or(0);
    let who = staff::sign_in(&people, pin, now, &mut throttle)
        .map_err(|e| anyhow::anyhow!("sign-in: {e}"))?;
    let person = people
        .iter()
        .find(|p| *p.id() == who)
        .context("the person who signed in is not on the staff list")?;
    if !person.permits(staff::Permission::ChangeStoreSettings) {
        anyhow::bail!(
            "{} ({}) may not change store settings",
            person.name(),
            person.role().as_str()
        );
    }
    let record = match change {
        SettingChange::StockDeduction(d) => SettingRecord::DeductStockOn(d.as_str().to_owned()),
        SettingChange::CutoffHour(h) => SettingRecord::DayCutoffHour(h),
        SettingChange::TimeZone(tz) => SettingRecord::TimeZone(tz),
        SettingChange::OfflineCardCap(cap) => SettingRecord::OfflineCardCap(cap),
    };
    journal.append(&Event::SettingChanged {
        setting: record,
        by: who.to_string(),
    })?;
    println!("{setting} = {value} (changed by {})", person.name());
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

/// Sends one request to a device's control socket and reads its answer.
fn control_request(
    control: &std::path::Path,
    body: &serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    use std::io::{BufRead, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(control)
        .with_context(|| format!("no device answers on {}", control.display()))?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    writeln!(stream, "{body}")?;
    let mut answer = String::new();
    std::io::BufReader::new(&stream).read_line(&mut answer)?;
    serde_json::from_str(answer.trim()).context("the device's answer is not JSON")
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

/// Sends one request to a device's control socket and waits up to `timeout` for its answer.
fn control_request_waiting(
    control: &std::path::Path,
    body: &serde_json::Value,
    timeout: std::time::Duration,
) -> anyhow::Result<serde_json::Value> {
    use std::io::{BufRead, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(control)
        .with_context(|| format!("no device answers on {}", control.display()))?;
    stream.set_read_timeout(Some(timeout))?;
    writeln!(stream, "{body}")?;
    let mut answer = String::new();
    std::io::BufReader::new(&stream).read_line(&mut answer)?;
    serde_json::from_str(answer.trim()).context("the device's answer is not JSON")
}
