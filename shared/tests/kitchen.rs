//! The kitchen screen's logic over a real journal: a dinner rush written through real events,
//! read back as cards and boards, and cooks' actions checked against the ticket rules before
//! anything is written.

use std::sync::Arc;

use pass_shared::clock::ManualClock;
use pass_shared::domain::order::OrderType;
use pass_shared::event::DeviceRole;
use pass_shared::journal::{Journal, JournalOptions};
use pass_shared::kitchen::KitchenError;
use pass_shared::kitchen::actions::{KitchenAction, plan, shown_events};
use pass_shared::kitchen::board::{BoardInput, Grid, TimerSettings, station_board};
use pass_shared::kitchen::cards::{all_day, expo_tickets, open_tickets, recently_bumped};
use pass_shared::kitchen::sample::{LineSpec, Sample, kitchen_rush};
use pass_shared::projection::StoreProjections;

const NOW: i64 = 1_767_295_800_000;

fn journal(dir: &tempfile::TempDir) -> Journal {
    Journal::open_with(
        dir.path().join("k.db"),
        JournalOptions::new(
            Arc::new(ManualClock::starting_at(NOW)),
            DeviceRole::KitchenScreen,
            "k",
        ),
        vec![Box::new(StoreProjections::new())],
    )
    .expect("journal")
}

fn grill() -> Vec<String> {
    vec!["grill".to_owned()]
}

fn act(j: &Journal, action: KitchenAction, at: i64) -> Result<u64, KitchenError> {
    let event = j.read(|db| Ok(plan(db, &action, at))).expect("read")?;
    Ok(j.append(&event).expect("append").seq)
}

#[test]
fn a_rush_reads_back_as_the_grill_screen_shows_it() {
    let dir = tempfile::tempdir().expect("dir");
    let j = journal(&dir);
    let rush = kitchen_rush(&j, NOW, 24).expect("rush");
    let cards = j.read(|db| open_tickets(db, &grill())).expect("cards");
    assert_eq!(cards.len(), 24 + 1, "24 fired tickets and the held course");
    assert_eq!(cards.iter().filter(|c| c.held).count(), 1);
    let timers = TimerSettings::default();
    let board = station_board(
        &BoardInput {
            station: "grill",
            taken_over: &[],
            timers: &timers,
            grid: Grid::default(),
            now_ms: NOW,
            page: 0,
        },
        &cards,
    );
    let first = board.cards().next().expect("a card");
    assert_eq!(Some(first.number.clone()), rush.rushed, "rush first");
    assert!(first.rush);
    let held = board.cards().last().expect("a card");
    assert!(held.held, "held last");
    let voided = board
        .cards()
        .find(|c| Some(&c.number) == rush.voided.as_ref())
        .expect("the voided line's ticket");
    assert!(voided.lines.iter().any(|l| l.text.starts_with("VOID")));
    let allergy = board
        .cards()
        .find(|c| Some(&c.number) == rush.allergy.as_ref())
        .expect("the allergy ticket");
    assert!(
        allergy
            .lines
            .iter()
            .any(|l| l.text.contains("ALLERGY sesame"))
    );
    assert!(board.cards().any(|c| c.addition));
    let counts = all_day(&cards);
    let total: u32 = counts.iter().map(|(_, n)| n).sum();
    assert!(total >= 24, "{counts:?}");
    assert!(
        j.read(|db| Ok(shown_events(db, &grill(), NOW)))
            .expect("read")
            .expect("shown")
            .is_empty(),
        "every fired ticket was shown; the held one waits for its fire"
    );
}

#[test]
fn actions_follow_the_ticket_rules_and_refusals_write_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let j = journal(&dir);
    let mut sample = Sample::set_up(&j, 'K').expect("store");
    let check = sample
        .order(
            OrderType::DineIn,
            Some("12"),
            "sam",
            &[
                LineSpec::new("classic_burger", &["medium"]),
                LineSpec::new("ribeye", &["rare"]).course(2),
            ],
            &[2],
        )
        .expect("order");
    let shown = j
        .read(|db| {
            Ok(shown_events(
                db,
                &["grill".to_owned(), "fry".to_owned()],
                NOW,
            ))
        })
        .expect("read")
        .expect("shown");
    assert_eq!(shown.len(), 2, "grill and fry course 1; course 2 is held");
    for e in &shown {
        j.append(e).expect("append");
    }
    let cards = j.read(|db| open_tickets(db, &grill())).expect("cards");
    let fired = cards
        .iter()
        .find(|c| !c.held)
        .expect("course 1")
        .ticket
        .clone();
    let held = cards
        .iter()
        .find(|c| c.held)
        .expect("course 2")
        .ticket
        .clone();

    let events_before = j.heads().expect("heads");
    for (action, why) in [
        (
            KitchenAction::Bump {
                ticket: held.clone(),
            },
            "held",
        ),
        (
            KitchenAction::Recall {
                ticket: fired.clone(),
            },
            "not bumped",
        ),
        (
            KitchenAction::Bump {
                ticket: "nope".into(),
            },
            "no ticket",
        ),
        (
            KitchenAction::ExpoBump {
                check: check.clone(),
                course: 1,
                force_reason: None,
            },
            "still cooking",
        ),
    ] {
        let err = act(&j, action, NOW + 1_000).expect_err("refused");
        assert!(err.to_string().contains(why), "{err} / {why}");
    }
    assert_eq!(
        j.heads().expect("heads"),
        events_before,
        "refusals wrote nothing"
    );

    act(
        &j,
        KitchenAction::Start {
            ticket: fired.clone(),
        },
        NOW + 1_000,
    )
    .expect("start");
    act(
        &j,
        KitchenAction::Bump {
            ticket: fired.clone(),
        },
        NOW + 300_000,
    )
    .expect("bump");
    let recall = j
        .read(|db| recently_bumped(db, &grill(), NOW + 301_000))
        .expect("recall");
    assert_eq!(recall.len(), 1);
    let later = j
        .read(|db| recently_bumped(db, &grill(), NOW + 300_000 + 16 * 60_000))
        .expect("recall");
    assert!(later.is_empty(), "the recall list keeps 15 minutes");
    act(
        &j,
        KitchenAction::Recall {
            ticket: fired.clone(),
        },
        NOW + 302_000,
    )
    .expect("recall");
    act(
        &j,
        KitchenAction::Bump {
            ticket: fired.clone(),
        },
        NOW + 303_000,
    )
    .expect("bump again");

    // The fries on fry are still open: expo can only force the order out, with a reason.
    let err = act(
        &j,
        KitchenAction::ExpoBump {
            check: check.clone(),
            course: 1,
            force_reason: Some("   ".into()),
        },
        NOW + 304_000,
    )
    .expect_err("an empty reason");
    assert!(err.to_string().contains("reason"), "{err}");
    act(
        &j,
        KitchenAction::ExpoBump {
            check: check.clone(),
            course: 1,
            force_reason: Some("table leaving".into()),
        },
        NOW + 305_000,
    )
    .expect("force-bump");
    let at_expo = j.read(expo_tickets).expect("expo");
    assert!(
        at_expo.iter().all(|t| t.course == 2),
        "course 1 left expo; the held course 2 stays: {at_expo:?}"
    );
    let kinds: Vec<String> = j
        .read(|db| {
            let mut stmt = db.prepare("SELECT kind FROM events ORDER BY id")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect()
        })
        .expect("kinds");
    assert_eq!(
        kinds.iter().filter(|k| *k == "expo_bumped").count(),
        1,
        "{kinds:?}"
    );
}
