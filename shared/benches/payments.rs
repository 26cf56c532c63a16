//! What one payment costs at the terminal, against its baseline measured in the same run.
//!
//! - **baseline**: committing the very events a cash payment writes (`payment_taken` and the
//!   check's close, one commit) straight into the journal;
//! - **cash**: the desk's whole cash payment: PIN sign-in (one argon2id verification), folding
//!   the check, the rules, the cash drawer, the same commit;
//! - **cash, signed in**: the same for a person the terminal's session already signed in (no
//!   PIN to verify);
//! - **card**: the desk's card payment through the card-terminal driver to the simulator on
//!   loopback TCP (one request, one answer), then the same commit;
//! - **PIN**: one sign-in alone, the part of every operation that needs a person.
//!
//! `cargo bench -p pass-shared --bench payments` (PASS_BENCH_PAYMENTS to change how many per
//! mode). Prints the median and 90th percentile of each, and each median against the baseline.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pass_shared::clock::ManualClock;
use pass_shared::domain::Money;
use pass_shared::domain::check::StaffId;
use pass_shared::domain::order::OrderType;
use pass_shared::domain::payment::Tender;
use pass_shared::domain::staff::{SignInThrottle, ThrottlePolicy, sign_in};
use pass_shared::event::{CashRecord, DeviceRole, Event};
use pass_shared::journal::{Journal, JournalOptions};
use pass_shared::kitchen::sample::{LineSpec, Sample};
use pass_shared::payments::card::{CardTerminal, CardTiming};
use pass_shared::payments::desk::{Desk, Operator, Towards};
use pass_shared::payments::provider::CashDrawer;
use pass_shared::payments::sim::{SimConfig, Simulator};
use pass_shared::projection::{self, StoreProjections};

const T0: i64 = 1_790_000_000_000;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// (median, 90th percentile) in milliseconds, nearest rank.
fn stats(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    let rank = |p: f64| {
        let i = ((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1;
        ms[i]
    };
    (rank(0.5), rank(0.9))
}

fn timed(n: usize, mut f: impl FnMut(usize)) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let start = Instant::now();
            f(i);
            start.elapsed().as_secs_f64() * 1_000.0
        })
        .collect()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a list; nothing to run then
    }
    let n = env_or("PASS_BENCH_PAYMENTS", 100);
    let dir = tempfile::tempdir().expect("tmp");
    let journal = Journal::open_with(
        dir.path().join("t1.db"),
        JournalOptions::new(
            Arc::new(ManualClock::starting_at(T0)),
            DeviceRole::OrderTerminal,
            "t1",
        ),
        vec![Box::new(StoreProjections::new())],
    )
    .expect("journal");
    let mut sample = Sample::set_up(&journal, 'A').expect("store");
    let lines = [
        LineSpec::new("classic_burger", &[]).seat(1),
        LineSpec::new("cola", &[]).seat(2),
    ];
    let checks: Vec<String> = (0..4 * n)
        .map(|_| {
            sample
                .order(OrderType::DineIn, Some("T1"), "sam", &lines, &[])
                .expect("order")
        })
        .collect();
    println!("payments benchmark: {n} payments per mode, each on its own 19.60 check");

    // The simulator on loopback, in this process (a thread per connection).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    let sim = Simulator::new(SimConfig::default(), Box::new(std::io::sink()), [1; 16]);
    std::thread::spawn(move || sim.serve(listener));
    let card = CardTerminal::new(
        &address,
        CardTiming {
            answer: Duration::from_secs(10),
            ..CardTiming::default()
        },
    );
    let cash = CashDrawer::new();
    let throttle = Mutex::new(SignInThrottle::new(ThrottlePolicy::default()));
    let desk = Desk {
        journal: &journal,
        device: "t1",
        now_ms: T0,
        cash: &cash,
        card: Some(&card),
        card_terminal: Some(&address),
        printer: None,
        throttle: &throttle,
    };
    let amount: Money = "19.60".parse().expect("amount");

    let baseline = timed(n, |i| {
        let check = &checks[i];
        journal
            .append_all(&[
                Event::PaymentTaken {
                    check: check.clone(),
                    payment: format!("t1-bench-{i:06}"),
                    tender: Tender::Cash,
                    amount,
                    tip: Money::ZERO,
                    seat: None,
                    card: None,
                    cash: Some(CashRecord {
                        tendered: "20.00".parse().expect("amount"),
                        change: "0.40".parse().expect("amount"),
                        drawer: "t1".into(),
                    }),
                    staff: "sam".into(),
                },
                Event::CheckClosed {
                    check: check.clone(),
                },
            ])
            .expect("commit");
    });
    let cash_ms = timed(n, |i| {
        let towards = Towards {
            check: checks[n + i].clone(),
            ..Towards::default()
        };
        desk.cash("1357", &towards, "20.00".parse().expect("amount"))
            .expect("cash");
    });
    let card_ms = timed(n, |i| {
        let towards = Towards {
            check: checks[2 * n + i].clone(),
            ..Towards::default()
        };
        desk.card_sale("1357", &towards, None).expect("card");
    });
    let sam = StaffId::new("sam");
    let signed_in_ms = timed(n, |i| {
        let towards = Towards {
            check: checks[3 * n + i].clone(),
            ..Towards::default()
        };
        desk.cash(
            Operator::SignedIn(&sam),
            &towards,
            "20.00".parse().expect("amount"),
        )
        .expect("cash");
    });
    let staff = journal.read(projection::staff).expect("staff");
    let pin_ms = timed(n, |i| {
        let mut throttle = SignInThrottle::new(ThrottlePolicy::default());
        sign_in(&staff, "1357", u64::try_from(i).unwrap_or(0), &mut throttle).expect("sign in");
    });

    let (b50, b90) = stats(baseline);
    println!();
    println!("| mode | median ms | p90 ms | median vs baseline |");
    println!("|---|---|---|---|");
    println!("| baseline: the payment's commit alone | {b50:.2} | {b90:.2} | 1.0× |");
    for (name, ms) in [
        ("cash through the desk", cash_ms),
        ("cash through the desk, signed in", signed_in_ms),
        ("card through the desk and the simulator", card_ms),
        ("PIN sign-in alone", pin_ms),
    ] {
        let (p50, p90) = stats(ms);
        println!(
            "| {name} | {p50:.2} | {p90:.2} | {:.1}× |",
            p50 / b50.max(f64::MIN_POSITIVE)
        );
    }
}
