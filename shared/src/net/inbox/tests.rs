use std::collections::BTreeSet;
use std::sync::Arc;

use super::*;
use crate::clock::ManualClock;
use crate::domain::check::DeviceLetter;
use crate::event::DeviceRole;
use crate::journal::JournalOptions;
use crate::net::protocol::v1::inbox::{OrderItemV1, OrderTypeV1, encode_order};
use crate::projection::StoreProjections;
use crate::projection::fold::{FoldKey, fold_check};

const MENU: &str = include_str!("../../../../assets/menu.toml");
/// 2026-05-01 12:00 UTC.
const NOON_MS: i64 = 1_777_636_800_000;

fn menu() -> Menu {
    Menu::from_toml_str(MENU).expect("the sample menu loads")
}

fn dash() -> SourceId {
    "deliverydash".parse().expect("source")
}

fn item(id: &str, qty: u32, modifiers: &[&str]) -> OrderItemV1 {
    OrderItemV1 {
        item: id.into(),
        qty,
        modifiers: modifiers.iter().map(|m| (*m).to_owned()).collect(),
        notes: None,
        unit_price: None,
    }
}

/// Two burgers (medium, with bacon) and fries, for delivery: 38.00 + 8.875 % = 41.37.
fn order(order_id: &str) -> OrderV1 {
    OrderV1 {
        source: dash(),
        order_id: order_id.into(),
        order_type: OrderTypeV1::Delivery,
        customer: " Sam Lee ".into(),
        requested_for: Some("2026-05-01T13:30:00+01:00".into()),
        notes: Some("ring twice".into()),
        items: vec![
            OrderItemV1 {
                notes: Some(" no pickles ".into()),
                unit_price: Some("16.50".into()),
                ..item("classic_burger", 2, &["medium", "add_bacon"])
            },
            item("fries", 1, &[]),
        ],
        total: Some("41.37".into()),
    }
}

fn number(n: u16) -> OrderNumber {
    OrderNumber::new(DeviceLetter::new(INBOX_LETTER).expect("letter"), n).expect("number")
}

fn planned(order: &OrderV1, out: &[&str]) -> Result<[Event; 3], Refusal> {
    let menu = menu();
    let out: BTreeSet<ItemId> = out.iter().map(|i| ItemId::new(*i)).collect();
    plan(
        order,
        &StoreView {
            menu: &menu,
            eighty_sixed: &out,
            number: number(7),
            now_ms: NOON_MS,
        },
    )
}

#[test]
fn a_valid_order_becomes_an_opening_its_lines_and_their_send() {
    let events = planned(&order("DD-1"), &[]).expect("planned");
    let check = "inbox:deliverydash:DD-1";
    let Event::CheckOpened {
        check: id,
        number,
        order_type,
        table,
        server,
        external: Some(external),
        ..
    } = &events[0]
    else {
        panic!("not an opening with its external order: {:?}", events[0]);
    };
    assert_eq!(
        (id.as_str(), number.as_str(), table, server.as_str()),
        (check, "W7", &None, "deliverydash")
    );
    assert_eq!(*order_type, crate::domain::order::OrderType::Delivery);
    assert_eq!(
        external,
        &ExternalOrderRecord {
            source: "deliverydash".into(),
            order_id: "DD-1".into(),
            customer: "Sam Lee".into(),
            requested_ms: Some(NOON_MS + 30 * 60_000),
            notes: "ring twice".into(),
        }
    );
    let Event::LinesAdded { lines, .. } = &events[1] else {
        panic!("not lines: {:?}", events[1]);
    };
    let summary: Vec<(&str, &str, u32, String, &str)> = lines
        .iter()
        .map(|l| {
            (
                l.line.as_str(),
                l.item.as_str(),
                l.qty,
                l.unit_price.to_string(),
                l.notes.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "inbox:deliverydash:DD-1:1",
                "classic_burger",
                2,
                "16.50".to_owned(),
                "no pickles"
            ),
            (
                "inbox:deliverydash:DD-1:2",
                "fries",
                1,
                "5.00".to_owned(),
                ""
            ),
        ],
        "priced from the menu, modifiers included"
    );
    assert_eq!(
        events[2],
        Event::ItemsSent {
            check: check.into(),
            send: 1,
            lines: vec![
                "inbox:deliverydash:DD-1:1".into(),
                "inbox:deliverydash:DD-1:2".into()
            ],
        }
    );
    // Folded as every device folds them: one check, its tickets at the grill and the fryer.
    let keyed = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            (
                FoldKey {
                    hlc: i as u64 + 1,
                    origin: "0000000000000001".into(),
                    seq: i as u64 + 2,
                    wall_ms: NOON_MS,
                },
                e.clone(),
            )
        })
        .collect();
    let fold = fold_check(check, keyed);
    assert!(fold.conflicts.is_empty(), "{:?}", fold.conflicts);
    let check = fold.check.expect("the check");
    assert_eq!(check.totals().total.to_string(), "41.37");
    let stations: BTreeSet<String> = fold
        .tickets
        .iter()
        .map(|t| t.station().to_string())
        .collect();
    assert_eq!(
        stations,
        BTreeSet::from(["grill".to_owned(), "fry".to_owned()])
    );
}

/// Plans `order` edited by `edit`; expects the refusal `code` about `line`.
fn refused(edit: impl FnOnce(&mut OrderV1), out: &[&str], code: RefusalCode, line: Option<usize>) {
    let mut o = order("DD-2");
    edit(&mut o);
    match planned(&o, out) {
        Ok(events) => panic!("taken: {events:?}"),
        Err(r) => {
            assert_eq!((r.code, r.line), (code, line), "{r}");
            assert!(!r.reason.is_empty());
        }
    }
}

#[test]
fn what_the_menu_or_the_store_does_not_allow_is_refused_with_its_code() {
    use RefusalCode as C;
    refused(
        |o| o.items[1].item = "pizza".into(),
        &[],
        C::UnknownItem,
        Some(1),
    );
    refused(
        |o| o.items[0].modifiers = vec!["add_bacon".into()],
        &[],
        C::MissingForcedModifier,
        Some(0),
    );
    refused(
        |o| o.items[0].modifiers.push("dressing_ranch".into()),
        &[],
        C::BadModifiers,
        Some(0),
    );
    refused(
        |o| o.items[0].modifiers.push("medium".into()),
        &[],
        C::BadModifiers,
        Some(0),
    );
    refused(
        |o| o.items[0].modifiers.push("rare_as_can_be".into()),
        &[],
        C::BadModifiers,
        Some(0),
    );
    refused(|_| {}, &["fries"], C::EightySixed, Some(1));
    refused(
        |o| o.items[0].unit_price = Some("14.50".into()),
        &[],
        C::PriceMismatch,
        Some(0),
    );
    refused(
        |o| o.items[0].unit_price = Some("16.5O".into()),
        &[],
        C::BadPrice,
        Some(0),
    );
    refused(
        |o| o.total = Some("38.00".into()),
        &[],
        C::PriceMismatch,
        None,
    );
    refused(|o| o.total = Some("41.375".into()), &[], C::BadPrice, None);
    refused(
        |o| o.requested_for = Some("tonight at 8".into()),
        &[],
        C::BadRequestedTime,
        None,
    );
    refused(
        |o| o.requested_for = Some("2026-05-01 13:30".into()),
        &[],
        C::BadRequestedTime,
        None,
    );
    refused(
        |o| o.requested_for = Some("2026-06-01T12:00:00Z".into()),
        &[],
        C::BadRequestedTime,
        None,
    );
    refused(
        |o| o.requested_for = Some("2026-04-29T12:00:00Z".into()),
        &[],
        C::BadRequestedTime,
        None,
    );
    // Without prices and a time, the same order is taken.
    let mut bare = order("DD-3");
    bare.items[0].unit_price = None;
    bare.total = None;
    bare.requested_for = None;
    assert!(planned(&bare, &[]).is_ok());
}

// ---------------------------------------------------------------------------------------------
// The inbox on a real journal

struct Store {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    clock: ManualClock,
}

impl Store {
    fn new() -> Store {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("expo.db");
        Store {
            _dir: dir,
            path,
            clock: ManualClock::starting_at(NOON_MS),
        }
    }

    fn open(&self) -> (Arc<Journal>, Inbox) {
        let journal = Arc::new(
            Journal::open_with(
                &self.path,
                JournalOptions::new(
                    Arc::new(self.clock.clone()),
                    DeviceRole::KitchenScreen,
                    "expo",
                ),
                vec![Box::new(StoreProjections::new())],
            )
            .expect("open journal"),
        );
        let inbox = Inbox::new(
            Arc::clone(&journal),
            Arc::new(self.clock.clone()),
            "corner-bistro".parse().expect("store"),
        );
        (journal, inbox)
    }
}

const ORDERS: &str = "pass/v1/corner-bistro/inbox/orders/deliverydash";

fn send(inbox: &mut Inbox, order: &OrderV1) -> Answer {
    inbox
        .handle(ORDERS, &encode_order(order).expect("encodes"))
        .expect("answered")
}

fn accepted(answer: &Answer) -> &AcceptedV1 {
    match &answer.reply {
        ReplyV1::Accepted(a) => a,
        ReplyV1::Refused(r) => panic!("refused: {r:?}"),
    }
}

fn own_seq(journal: &Journal) -> u64 {
    journal.heads().expect("heads")[journal.origin()].seq
}

#[test]
fn an_order_is_taken_once_and_a_repeat_gets_the_same_answer_even_after_a_restart() {
    let store = Store::new();
    let first;
    {
        let (journal, mut inbox) = store.open();
        let no_menu = send(&mut inbox, &order("DD-1"));
        assert!(
            matches!(&no_menu.reply, ReplyV1::Refused(r) if r.code == RefusalCode::NoMenu),
            "{:?}",
            no_menu.reply
        );
        journal
            .append(&Event::MenuPublished { toml: MENU.into() })
            .expect("menu");
        let before = own_seq(&journal);

        first = send(&mut inbox, &order("DD-1"));
        assert_eq!(
            first.topic,
            "pass/v1/corner-bistro/inbox/replies/deliverydash"
        );
        let a = accepted(&first);
        assert_eq!(
            (a.number.as_str(), a.check.as_str(), a.total.as_str()),
            ("W1", "inbox:deliverydash:DD-1", "41.37")
        );
        assert_eq!(own_seq(&journal), before + 3, "opening, lines and send");
        let tickets: i64 = journal
            .read(|db| {
                db.query_row(
                    "SELECT COUNT(*) FROM proj_tickets WHERE check_id = 'inbox:deliverydash:DD-1'",
                    [],
                    |r| r.get(0),
                )
            })
            .expect("count");
        assert_eq!(tickets, 2, "grill and fry");

        let again = send(&mut inbox, &order("DD-1"));
        assert_eq!(
            again, first,
            "a repeat gets the first answer, byte for byte"
        );
        let mut changed = order("DD-1");
        changed.items.pop();
        changed.total = None;
        assert_eq!(
            send(&mut inbox, &changed),
            first,
            "the order id decides, not the contents"
        );
        assert_eq!(own_seq(&journal), before + 3, "nothing written twice");

        let second = send(&mut inbox, &order("DD-2"));
        assert_eq!(accepted(&second).number, "W2");
    }
    // A restarted device still knows the order: from its journal, not from memory.
    let (journal, mut inbox) = store.open();
    let before = own_seq(&journal);
    assert_eq!(send(&mut inbox, &order("DD-1")), first);
    assert_eq!(own_seq(&journal), before);
    assert_eq!(accepted(&send(&mut inbox, &order("DD-3"))).number, "W3");
    // The next business day counts from 1 again.
    store.clock.advance(24 * 3_600_000);
    assert_eq!(accepted(&send(&mut inbox, &order("DD-4"))).number, "W1");
}

#[test]
fn a_refused_order_is_answered_with_its_reason_and_writes_nothing() {
    let store = Store::new();
    let (journal, mut inbox) = store.open();
    journal
        .append(&Event::MenuPublished { toml: MENU.into() })
        .expect("menu");
    journal
        .append(&Event::ItemEightySixed {
            item: "fries".into(),
            reason: "fryer down".into(),
        })
        .expect("86");
    let before = journal.heads().expect("heads");
    let dump = journal.read(projection::dump).expect("dump");

    let answer = send(&mut inbox, &order("DD-9"));
    let ReplyV1::Refused(r) = &answer.reply else {
        panic!("taken: {:?}", answer.reply);
    };
    assert_eq!(
        (r.order_id.as_deref(), r.code, r.line),
        (Some("DD-9"), RefusalCode::EightySixed, Some(1))
    );
    assert!(r.reason.contains("fries"), "{}", r.reason);
    let text = String::from_utf8(answer.payload.clone()).expect("utf-8");
    assert!(
        text.starts_with(r#"{"v":1,"type":"refused","source":"deliverydash","order_id":"DD-9","code":"eighty_sixed""#),
        "{text}"
    );

    let unreadable = inbox.handle(ORDERS, b"{not json").expect("answered");
    assert!(
        matches!(&unreadable.reply, ReplyV1::Refused(r) if r.code == RefusalCode::Malformed && r.order_id.is_none()),
        "{:?}",
        unreadable.reply
    );
    assert_eq!(
        inbox.handle("pass/v1/corner-bistro/inbox/replies/deliverydash", b"{}"),
        None,
        "only the orders topic is answered"
    );
    assert_eq!(
        inbox.handle("pass/v1/corner-bistro/inbox/orders/Not_A_Source", b"{}"),
        None,
        "a topic naming no source cannot be answered"
    );
    assert_eq!(journal.heads().expect("heads"), before);
    assert_eq!(journal.read(projection::dump).expect("dump"), dump);

    // Once restored, the same order is taken: a refusal is not remembered as a duplicate.
    journal
        .append(&Event::ItemRestored {
            item: "fries".into(),
        })
        .expect("restore");
    assert_eq!(accepted(&send(&mut inbox, &order("DD-9"))).number, "W1");
}
