//! From the sale that takes the last of an ingredient to the item 86'd on every other device,
//! and from a delivery to the 86 lifted, across real release processes on a real Mosquitto:
//! an order terminal that sells, and a second terminal and two kitchen screens that must follow.
//! Beside it, measured in the same rounds: a plain event (a delivery of another ingredient)
//! from its commit to its level on every other device, i.e. replication and projection alone.
//! Printed, never asserted: the machine is shared. Target: the 86 everywhere within one second.
//!
//! `scripts/bench.sh` builds `pass` in release first; this bench finds it beside itself.
//!
//! Each round: three patties received (and seen everywhere), three burgers sold on the first
//! terminal; the clock runs from the commit of the third send (the control socket answers after
//! the commit) until each device's projection, read from its own database every millisecond,
//! lists the burger as 86'd; then a delivery of three patties and the time until the 86 is
//! lifted everywhere (the next round's delivery). Size: PASS_BENCH_86_ROUNDS (15).

use std::time::{Duration, Instant};

use pass_shared::domain::check::{Course, LineId, NewLine};
use pass_shared::domain::menu::{ItemId, Menu, ModifierId};
use pass_shared::journal::open_read_only;
use pass_shared::projection;
use pass_tests::{Device, DeviceSpec, Mosquitto, Role, check_opened, sample_menu};
use serde_json::json;

const LIMIT: Duration = Duration::from_secs(30);

fn rounds() -> usize {
    std::env::var("PASS_BENCH_86_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15)
}

/// A device's database, opened read-only once; each query sees the latest commit.
struct Reader {
    name: String,
    db: rusqlite::Connection,
}

impl Reader {
    fn of(device: &Device) -> Reader {
        Reader {
            name: device.id().to_owned(),
            db: open_read_only(device.db()).expect("open read-only"),
        }
    }

    fn burger_out(&self, menu: &Menu) -> bool {
        projection::eighty_sixed(&self.db, menu)
            .is_ok_and(|items| items.contains(&ItemId::new("classic_burger")))
    }

    fn level(&self, ingredient: &str) -> Option<String> {
        projection::stock_levels(&self.db)
            .ok()?
            .get(ingredient)
            .map(|l| l.normalize().to_string())
    }
}

/// Milliseconds from `from` until `cond` holds for every reader (polled every millisecond);
/// the time of the slowest.
fn until_all(readers: &[Reader], from: Instant, cond: impl Fn(&Reader) -> bool) -> f64 {
    let mut pending: Vec<&Reader> = readers.iter().collect();
    let mut slowest = 0.0f64;
    while !pending.is_empty() {
        pending.retain(|r| {
            if cond(r) {
                slowest = slowest.max(from.elapsed().as_secs_f64() * 1000.0);
                false
            } else {
                true
            }
        });
        assert!(
            from.elapsed() < LIMIT,
            "not reached on {:?}",
            pending.iter().map(|r| &r.name).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    slowest
}

fn sell_burger(terminal: &Device, menu: &Menu, n: usize) {
    let check = format!("t1-b{n}");
    let priced = menu
        .price_line(
            &ItemId::new("classic_burger"),
            &[ModifierId::new("medium")],
            1,
        )
        .expect("priced");
    let line = projection::fold::line_record(&NewLine {
        id: LineId::new(format!("{check}-l1")),
        priced,
        seat: None,
        course: Course(1),
        notes: String::new(),
    });
    terminal.append(&check_opened(&check, &format!("A{n}")));
    terminal.append(&json!({"kind": "lines_added", "payload": {"check": check, "lines": [line]}}));
    terminal.append(&json!({
        "kind": "items_sent",
        "payload": {"check": check, "send": 1, "lines": [format!("{check}-l1")]}
    }));
}

fn summary(label: &str, v: &mut [f64]) {
    v.sort_by(f64::total_cmp);
    let at = |p: usize| v[((p * v.len()).div_ceil(100)).max(1) - 1];
    println!(
        "{label:<58} median {:>7.1} ms   p90 {:>7.1} ms   max {:>7.1} ms   ({} rounds)",
        at(50),
        at(90),
        v[v.len() - 1],
        v.len()
    );
}

fn main() {
    let broker = Mosquitto::start();
    let seller = Device::start("t1", Role::OrderTerminal, &broker);
    let others = [
        Device::start("t2", Role::OrderTerminal, &broker),
        Device::start_spec(
            DeviceSpec::new("grill", Role::KitchenScreen, &broker.url()).station("grill"),
        ),
        Device::start_spec(
            DeviceSpec::new("fry", Role::KitchenScreen, &broker.url()).station("fry"),
        ),
    ];
    let menu = sample_menu();
    seller.append(&json!({"kind": "menu_published", "payload": {"toml": pass_tests::SAMPLE_MENU}}));
    let readers: Vec<Reader> = others.iter().map(Reader::of).collect();
    let all: Vec<&Device> = std::iter::once(&seller).chain(others.iter()).collect();
    pass_tests::wait_converged(&all, &pass_tests::own_heads(&all));

    let (mut out, mut lifted, mut plain) = (Vec::new(), Vec::new(), Vec::new());
    let mut sold = 0;
    let mut bacon = 0u64;
    for round in 0..rounds() {
        // Baseline: a plain delivery, from its commit to its level everywhere.
        bacon += 5;
        let want = bacon.to_string();
        seller.append(
            &json!({"kind": "stock_received", "payload": {"ingredient": "bacon", "qty": "5"}}),
        );
        let from = Instant::now();
        plain.push(until_all(&readers, from, |r| {
            r.level("bacon").as_deref() == Some(&want)
        }));

        // Three patties in (from the second round on, this lifts the 86 of the round before),
        // then three burgers: the last sale 86's the burger.
        seller.append(
            &json!({"kind": "stock_received", "payload": {"ingredient": "beef_patty", "qty": "3"}}),
        );
        let from = Instant::now();
        let ms = until_all(&readers, from, |r| !r.burger_out(&menu));
        if round > 0 {
            lifted.push(ms);
        }
        for _ in 0..3 {
            sold += 1;
            sell_burger(&seller, &menu, sold);
        }
        let from = Instant::now();
        out.push(until_all(&readers, from, |r| r.burger_out(&menu)));
    }
    println!("86 at zero across processes (t1 sells; t2, grill and fry follow), release build:");
    summary(
        "last patty sold (committed) -> burger 86'd on every device",
        &mut out,
    );
    summary(
        "patties received (committed) -> 86 lifted on every device",
        &mut lifted,
    );
    summary(
        "baseline: a delivery (committed) -> its level on every device",
        &mut plain,
    );
}
