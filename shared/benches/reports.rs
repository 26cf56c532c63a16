//! The service-time report over a million finished tickets, with exact percentiles.
//!
//! The report reads only the facts the projections keep (finished tickets in
//! `proj_ticket_times`, packed by day, station and hour in `proj_ticket_chunks`), so the bench
//! writes those rows straight into a database built with the real schema and packs them as the
//! projections do: a million tickets over a year of business days (4 stations, 20 servers, two
//! order types, one or two menu items each, times from 10 seconds to 4 hours with a long tail,
//! one in fifty recalled). Then it times the whole report over the whole year (every figure:
//! by station, hour, item, server and order type; station by hour; the distribution; the late
//! tickets; the last hour), and over one day.
//!
//! `cargo bench -p pass-shared --bench reports` (PASS_BENCH_ROUNDS, PASS_BENCH_TICKETS to change
//! the size). Prints medians. Target: under 200 ms for a million tickets.

use std::time::Instant;

use pass_shared::domain::business_day::BusinessDay;
use pass_shared::journal::schema;
use pass_shared::reports::Period;
use pass_shared::reports::service::{ServiceOptions, service_time_report};
use rusqlite::{Connection, params};

const STATIONS: [&str; 4] = ["grill", "fry", "saute_cold", "bar"];
const ITEMS: [&str; 12] = [
    "classic_burger",
    "bacon_bbq_burger",
    "chicken_wings",
    "crispy_calamari",
    "caesar_salad",
    "ribeye",
    "steak_frites",
    "roast_half_chicken",
    "chocolate_lava_cake",
    "old_fashioned",
    "draught_lager",
    "cola",
];

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// SplitMix64, so every run writes the same tickets.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn fill(conn: &mut Connection, tickets: usize, first_day: BusinessDay) {
    let mut rng = Rng(7);
    let tx = conn.transaction().expect("tx");
    {
        let mut ticket = tx
            .prepare(
                "INSERT INTO proj_ticket_times (ticket_id, check_id, number, station, order_type,
                     server, day, hour, shown_ms, bumped_ms, time_ms, recalls, items)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )
            .expect("prepare");
        let per_day = tickets.div_ceil(365);
        for i in 0..tickets {
            let r = rng.next();
            let day = first_day.number() + u32::try_from(i / per_day).expect("days");
            let station = STATIONS[(r % 4) as usize];
            let order_type = if r.is_multiple_of(7) {
                "takeout"
            } else {
                "dine_in"
            };
            let server = format!("server{}", (r >> 8) % 20);
            let hour = 17 + ((r >> 16) % 6) as i64;
            // 2 to 20 minutes mostly; a long tail; a few outliers either side.
            let time_ms = match (r >> 24) % 100 {
                0 => 3_000,
                1 => 5 * 3_600_000,
                2..=9 => 20 * 60_000 + ((r >> 32) % 40 * 60_000) as i64,
                _ => 120_000 + ((r >> 32) % 1_080_000) as i64,
            };
            let recalls = i64::from((r >> 40).is_multiple_of(50));
            let shown_ms = 1_777_000_000_000 + i as i64 * 31_000;
            let mut items: Vec<&str> = (0..1 + (r >> 48) % 2)
                .map(|k| ITEMS[((r >> (50 + k)) % 12) as usize])
                .collect();
            items.sort_unstable();
            items.dedup();
            ticket
                .execute(params![
                    format!("c{}/{i}/{station}/1", i / 2),
                    format!("c{}", i / 2),
                    format!("A{}", i % 999),
                    station,
                    order_type,
                    server,
                    day,
                    hour,
                    shown_ms,
                    shown_ms + time_ms,
                    time_ms,
                    recalls,
                    items.join(" "),
                ])
                .expect("ticket");
        }
    }
    let chunks = pass_shared::projection::repack_ticket_chunks(&tx).expect("pack");
    println!("{chunks} chunks packed");
    tx.commit().expect("commit");
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rounds = env_or("PASS_BENCH_ROUNDS", 7);
    let tickets = env_or("PASS_BENCH_TICKETS", 1_000_000);
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("report.db");
    let mut conn = Connection::open(&path).expect("open");
    schema::migrate(&mut conn).expect("schema");
    let first: BusinessDay = "2026-01-01".parse().expect("day");
    let start = Instant::now();
    fill(&mut conn, tickets, first);
    conn.execute_batch("ANALYZE").expect("analyze");
    println!(
        "service-time report benchmark: {tickets} tickets written in {:.1} s; {rounds} rounds",
        start.elapsed().as_secs_f64()
    );
    drop(conn);
    let db = pass_shared::journal::open_read_only(&path).expect("read-only");
    let year = Period::new(first, "2026-12-31".parse().expect("day")).expect("period");
    let one_day = Period::day("2026-07-01".parse().expect("day"));
    let options = ServiceOptions {
        now_ms: Some(1_777_000_000_000 + tickets as i64 * 31_000),
        ..ServiceOptions::default()
    };
    let mut whole = Vec::new();
    let mut single = Vec::new();
    for round in 0..rounds {
        let t = Instant::now();
        let report = service_time_report(&db, year, &options).expect("report");
        whole.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        let day = service_time_report(&db, one_day, &options).expect("report");
        single.push(t.elapsed().as_secs_f64() * 1000.0);
        println!(
            "round {}: year {:.1} ms ({} tickets kept, {} ignored, median {:?} ms, p90 {:?} ms); one day {:.2} ms ({} tickets)",
            round + 1,
            whole[round],
            report.all.tickets,
            report.all.ignored,
            report.all.median_ms,
            report.all.p90_ms,
            single[round],
            day.all.tickets
        );
    }
    println!();
    println!("| service-time report | median |");
    println!("|---|---|");
    println!(
        "| {tickets} tickets, a year, every figure | {:.1} ms |",
        median(whole)
    );
    println!("| one business day | {:.2} ms |", median(single));
}
