//! `pass report …` run as a process against a store's database: every verb in every format, its
//! figures the same as the library's, its help documenting each option, and clear refusals.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use pass_shared::clock::{Clock, ManualClock};
use pass_shared::domain::Money;
use pass_shared::domain::check::{Course, LineId, NewLine, Seat};
use pass_shared::domain::menu::{ItemId, Menu, ModifierId, StationId};
use pass_shared::domain::order::OrderType;
use pass_shared::domain::payment::Tender;
use pass_shared::event::{CashRecord, DeviceRole, Event, SettingRecord};
use pass_shared::journal::{Journal, JournalOptions, open_read_only};
use pass_shared::projection::StoreProjections;
use pass_shared::projection::fold::{line_record, ticket_id};
use pass_shared::reports::Period;
use pass_shared::reports::sales::sales_report;
use pass_shared::reports::service::{ServiceOptions, service_time_report};
use rust_decimal::Decimal;

const MENU: &str = include_str!("../../assets/menu.toml");
const MIN: i64 = 60_000;
/// 2026-05-01 18:00 in New York (EDT).
const SIX_PM: i64 = 1_777_672_800_000;

struct Store {
    _dir: tempfile::TempDir,
    db: PathBuf,
}

/// A New York store with three checks: tickets of 6, 9 and 12 minutes on the grill, a burger,
/// a salad and a cola each, paid in cash; the day closed.
fn store() -> Store {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("pass.db");
    let clock = Arc::new(ManualClock::starting_at(SIX_PM - 60 * MIN));
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let journal = Journal::open_with(
        &db,
        JournalOptions::new(dyn_clock, DeviceRole::OrderTerminal, "terminal"),
        vec![Box::new(StoreProjections::new())],
    )
    .expect("open");
    let menu = Menu::from_toml_str(MENU).expect("menu");
    let at = |ms: i64, e: Event| {
        clock.set(ms);
        journal.append(&e).expect("append");
    };
    at(
        SIX_PM - 60 * MIN,
        Event::MenuPublished { toml: MENU.into() },
    );
    at(
        SIX_PM - 60 * MIN,
        Event::SettingChanged {
            setting: SettingRecord::TimeZone("America/New_York".into()),
            by: "owner".into(),
        },
    );
    at(
        SIX_PM - 60 * MIN,
        Event::StockReceived {
            ingredient: "beef_patty".into(),
            qty: Decimal::from(10),
        },
    );
    for (n, minutes) in [(1i64, 6i64), (2, 9), (3, 12)] {
        let check = format!("c{n}");
        let t0 = SIX_PM + n * 10 * MIN;
        at(
            t0,
            Event::CheckOpened {
                check: check.clone(),
                number: format!("A{n}"),
                order_type: OrderType::DineIn,
                table: Some("T1".into()),
                guests: 2,
                seats: 2,
                server: "maria".into(),
                external: None,
            },
        );
        let lines = [
            ("classic_burger", &["medium"][..]),
            ("caesar_salad", &["dressing_caesar"][..]),
            ("cola", &[][..]),
        ]
        .iter()
        .enumerate()
        .map(|(i, (item, mods))| {
            let priced = menu
                .price_line(
                    &ItemId::new(*item),
                    &mods.iter().map(|m| ModifierId::new(*m)).collect::<Vec<_>>(),
                    1,
                )
                .expect("priced");
            line_record(&NewLine {
                id: LineId::new(format!("{check}-l{i}")),
                priced,
                seat: Some(Seat(1)),
                course: Course(1),
                notes: "no salt, please".into(),
            })
        })
        .collect::<Vec<_>>();
        let ids = lines.iter().map(|l| l.line.clone()).collect();
        at(
            t0,
            Event::LinesAdded {
                check: check.clone(),
                lines,
            },
        );
        at(
            t0,
            Event::ItemsSent {
                check: check.clone(),
                send: 1,
                lines: ids,
            },
        );
        let grill = ticket_id(&check, 1, &StationId::new("grill"), Course(1)).to_string();
        at(
            t0 + 10_000,
            Event::TicketShown {
                check: check.clone(),
                ticket: grill.clone(),
                at_ms: t0 + 10_000,
            },
        );
        at(
            t0 + 10_000 + minutes * MIN,
            Event::TicketBumped {
                check: check.clone(),
                ticket: grill,
                at_ms: t0 + 10_000 + minutes * MIN,
            },
        );
        let total: i64 = open_read_only(&db)
            .expect("read")
            .query_row(
                "SELECT total_cents FROM proj_checks WHERE check_id = ?1",
                [&check],
                |r| r.get(0),
            )
            .expect("total");
        at(
            t0 + 40 * MIN,
            Event::PaymentTaken {
                check: check.clone(),
                payment: format!("{check}-p"),
                tender: Tender::Cash,
                amount: Money::from_minor(total),
                tip: Money::ZERO,
                seat: None,
                card: None,
                cash: Some(CashRecord {
                    tendered: Money::from_minor(total),
                    change: Money::ZERO,
                    drawer: "t1".into(),
                }),
                staff: "maria".into(),
            },
        );
        at(t0 + 40 * MIN, Event::CheckClosed { check });
    }
    clock.set(SIX_PM + 5 * 60 * MIN);
    pass_shared::projection::day::close_day(&journal, "2026-05-01".parse().expect("day"))
        .expect("close");
    drop(journal);
    Store { _dir: dir, db }
}

fn pass(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pass"))
        .args(args)
        .output()
        .expect("run pass");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn db(s: &Store) -> &str {
    s.db.to_str().expect("utf-8 path")
}

fn day() -> Period {
    Period::day("2026-05-01".parse().expect("day"))
}

#[test]
fn service_times_print_the_same_figures_as_the_library_in_every_format() {
    let s = store();
    let base = [
        "report",
        "service-times",
        "--db",
        db(&s),
        "--from",
        "2026-05-01",
    ];
    let now = ["--now", "2026-05-01T19:00:00-04:00"];
    let (ok, json, err) = pass(&[&base[..], &now[..], &["--format", "json"]].concat());
    assert!(ok, "{err}");
    let printed: serde_json::Value = serde_json::from_str(&json).expect("json");
    let conn = open_read_only(&s.db).expect("open");
    let report = service_time_report(
        &conn,
        day(),
        &ServiceOptions {
            now_ms: Some(SIX_PM + 60 * MIN),
            ..ServiceOptions::default()
        },
    )
    .expect("report");
    assert_eq!(printed, serde_json::to_value(&report).expect("value"));
    assert_eq!(printed["all"]["tickets"], 3);
    assert_eq!(printed["all"]["median_ms"], 9 * MIN);
    assert_eq!(printed["all"]["p90_ms"], 12 * MIN);
    assert_eq!(printed["all"]["past_alert"], 3);
    assert_eq!(printed["all"]["past_late"], 2);

    let (ok, table, err) = pass(&[&base[..], &now[..]].concat());
    assert!(ok, "{err}");
    assert!(table.contains("== by_station =="), "{table}");
    let grill = table
        .lines()
        .find(|l| l.starts_with("grill"))
        .expect("a grill row");
    let cells: Vec<&str> = grill.split_whitespace().collect();
    assert_eq!(cells[0], "grill");
    assert_eq!(cells[1], "3");
    assert_eq!(cells[3], "9:00");
    assert_eq!(cells[4], "12:00");

    let (ok, csv_text, err) = pass(&[&base[..], &now[..], &["--format", "csv"]].concat());
    assert!(ok, "{err}");
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(csv_text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("csv");
    let hours: Vec<&csv::StringRecord> = rows.iter().filter(|r| &r[0] == "by_hour").collect();
    assert_eq!(
        hours.iter().map(|r| r[1].to_owned()).collect::<Vec<_>>(),
        ["18"],
        "local hours"
    );
}

#[test]
fn sales_z_and_stock_print_in_every_format() {
    let s = store();
    let conn = open_read_only(&s.db).expect("open");
    let sales = sales_report(&conn, day()).expect("sales");
    let (ok, json, err) = pass(&[
        "report",
        "sales",
        "--db",
        db(&s),
        "--from",
        "2026-05-01",
        "--to",
        "2026-05-01",
        "--format",
        "json",
    ]);
    assert!(ok, "{err}");
    let printed: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(printed, serde_json::to_value(&sales).expect("value"));
    assert_eq!(printed["totals"]["checks"], 3);
    assert_eq!(printed["totals"]["payments"], printed["totals"]["total"]);

    let (ok, z, err) = pass(&["report", "z", "--db", db(&s), "--day", "2026-05-01"]);
    assert!(ok, "{err}");
    assert!(z.contains("closed"), "{z}");
    assert!(z.contains("== taxes =="), "{z}");
    assert!(z.contains(&sales.totals.total.to_string()), "{z}");
    let (ok, z_csv, err) = pass(&[
        "report",
        "z",
        "--db",
        db(&s),
        "--day",
        "2026-05-01",
        "--format",
        "csv",
    ]);
    assert!(ok, "{err}");
    assert!(
        z_csv.lines().any(|l| l.starts_with("sales,A1,c1,maria,")),
        "{z_csv}"
    );

    let (ok, stock, err) = pass(&[
        "report",
        "stock",
        "--db",
        db(&s),
        "--from",
        "2026-05-01",
        "--format",
        "json",
    ]);
    assert!(ok, "{err}");
    let stock: serde_json::Value = serde_json::from_str(&stock).expect("json");
    assert_eq!(stock["levels"][0]["ingredient"], "beef_patty");
    assert_eq!(stock["levels"][0]["level"], "7");
    assert_eq!(stock["levels"][0]["sold"], "3");
}

#[test]
fn exports_write_documented_csv_to_standard_output_or_a_file() {
    let s = store();
    let (ok, lines, err) = pass(&[
        "report",
        "export",
        "sales-lines",
        "--db",
        db(&s),
        "--from",
        "2026-05-01",
    ]);
    assert!(ok, "{err}");
    let mut reader = csv::Reader::from_reader(lines.as_bytes());
    let headers = reader.headers().expect("headers").clone();
    assert_eq!(&headers[0], "business_day");
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("rows");
    assert_eq!(rows.len(), 9);
    let closed_at = headers
        .iter()
        .position(|h| h == "closed_at")
        .expect("column");
    assert!(
        rows[0][closed_at].ends_with("-04:00"),
        "local time: {}",
        &rows[0][closed_at]
    );

    let out = s.db.with_file_name("tickets.csv");
    let out_text = out.to_str().expect("utf-8");
    let (ok, _, err) = pass(&[
        "report",
        "export",
        "ticket-times",
        "--db",
        db(&s),
        "--from",
        "2026-05-01",
        "--out",
        out_text,
    ]);
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&out).expect("written");
    assert_eq!(
        text.lines().count(),
        1 + 3,
        "a header and three tickets: {text}"
    );
    assert!(
        text.lines().skip(1).all(|l| l.contains(",grill,")),
        "{text}"
    );
}

#[test]
fn help_documents_every_verb_and_option() {
    let (ok, help, _) = pass(&["report", "--help"]);
    assert!(ok);
    for verb in ["service-times", "sales", "z", "stock", "export"] {
        assert!(help.contains(verb), "{verb}: {help}");
    }
    for (verb, options) in [
        (
            "service-times",
            &[
                "--db",
                "--from",
                "--to",
                "--format",
                "--now",
                "--alert-secs",
                "--late-secs",
                "--bucket-secs",
            ][..],
        ),
        ("sales", &["--db", "--from", "--to", "--format"][..]),
        ("z", &["--db", "--day", "--format"][..]),
        ("stock", &["--db", "--cover-days", "--format"][..]),
        (
            "export",
            &[
                "--db",
                "--from",
                "--to",
                "--out",
                "sales-lines",
                "payments",
                "ticket-times",
                "stock-movements",
            ][..],
        ),
    ] {
        let (ok, help, _) = pass(&["report", verb, "--help"]);
        assert!(ok, "{verb}");
        for option in options {
            assert!(help.contains(option), "{verb} documents {option}: {help}");
        }
    }
}

#[test]
fn bad_input_is_refused_with_a_clear_message() {
    let s = store();
    let missing = Path::new("/nonexistent/pass.db");
    for (args, says) in [
        (
            vec!["report", "sales", "--db", missing.to_str().expect("utf-8")],
            "cannot open /nonexistent/pass.db",
        ),
        (
            vec!["report", "sales", "--db", db(&s), "--from", "2026-13-01"],
            "not a business day",
        ),
        (
            vec![
                "report",
                "sales",
                "--db",
                db(&s),
                "--from",
                "2026-05-02",
                "--to",
                "2026-05-01",
            ],
            "before it starts",
        ),
        (
            vec![
                "report",
                "service-times",
                "--db",
                db(&s),
                "--alert-secs",
                "600",
                "--late-secs",
                "300",
            ],
            "thresholds",
        ),
        (
            vec![
                "report",
                "service-times",
                "--db",
                db(&s),
                "--now",
                "yesterday",
            ],
            "--now `yesterday`",
        ),
        (
            vec!["report", "stock", "--db", db(&s), "--cover-days", "-1"],
            "--cover-days",
        ),
        (
            vec!["report", "sales", "--db", db(&s), "--format", "xml"],
            "xml",
        ),
    ] {
        let (ok, _, err) = pass(&args);
        assert!(!ok, "{args:?} is refused");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // Nothing was written: the database is as it was.
    let conn = open_read_only(&s.db).expect("open");
    let events: i64 = conn
        .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
        .expect("count");
    assert!(events > 0);
}
