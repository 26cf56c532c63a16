//! Low stock: the items the tracked stock makes only a few more portions of, for the alerts on
//! the order terminals and kitchen screens. The rules are the domain's
//! ([`crate::domain::inventory::portions_left`], [`crate::domain::inventory::is_low`]): an item
//! is low with more than zero and fewer portions left than the store's threshold (the store
//! setting `low_stock_portions`). At zero, or 86'd by hand, it is on the 86 list
//! ([`super::eighty_sixed`]) instead, never here; an item none of whose ingredients is tracked is
//! never low.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::domain::inventory::{is_low, portions_left};
use crate::domain::menu::Menu;

/// How many low items a terminal's status bar names before it says "+N more".
pub const NAMED_ON_TERMINAL: usize = 3;
/// How many a kitchen screen's status bar names (its bar has room for one).
pub const NAMED_ON_KITCHEN_SCREEN: usize = 1;

/// An item running low.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LowItem {
    pub item: String,
    pub name: String,
    /// Whole portions the tracked stock still makes (more than zero).
    pub portions_left: u32,
    /// The prep stations it is routed to.
    pub stations: Vec<String>,
}

impl LowItem {
    /// Whether it goes to any of `stations`.
    pub fn routes_to(&self, stations: &[String]) -> bool {
        self.stations.iter().any(|s| stations.contains(s))
    }
}

/// The menu's low items under `threshold_portions` (0: none), fewest portions left first, then
/// by name.
pub fn low_stock(
    db: &Connection,
    menu: &Menu,
    threshold_portions: u32,
) -> rusqlite::Result<Vec<LowItem>> {
    let levels = super::stock_levels(db)?;
    low_stock_at(db, menu, &levels, threshold_portions)
}

/// [`low_stock`] at stock `levels` already read ([`super::stock_levels`]).
pub fn low_stock_at(
    db: &Connection,
    menu: &Menu,
    levels: &BTreeMap<String, Decimal>,
    threshold_portions: u32,
) -> rusqlite::Result<Vec<LowItem>> {
    if threshold_portions == 0 {
        return Ok(Vec::new());
    }
    let by_hand = eighty_sixed_by_hand(db)?;
    let mut out: Vec<LowItem> = menu
        .items()
        .iter()
        .filter(|item| !by_hand.contains(item.id().as_str()))
        .filter_map(|item| {
            let uses = menu.ingredients_for(item.id(), &[], 1);
            let left = portions_left(&uses, |i| levels.get(i.as_str()).copied())?;
            is_low(left, threshold_portions).then(|| LowItem {
                item: item.id().to_string(),
                name: item.name().to_owned(),
                portions_left: left,
                stations: item.stations().iter().map(ToString::to_string).collect(),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (a.portions_left, &a.name, &a.item).cmp(&(b.portions_left, &b.name, &b.item))
    });
    Ok(out)
}

/// Items on the 86 list by hand.
fn eighty_sixed_by_hand(db: &Connection) -> rusqlite::Result<BTreeSet<String>> {
    let mut stmt =
        db.prepare_cached("SELECT key, value FROM proj_registers WHERE key LIKE '86:%'")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = BTreeSet::new();
    for row in rows {
        let (key, value) = row?;
        if value.starts_with("out") {
            out.insert(key.trim_start_matches("86:").to_owned());
        }
    }
    Ok(out)
}

/// The alert's words, naming the first `at_most` items (the fewest left):
/// `LOW: Classic Burger 6 left, Fries 9 left, +2 more`. `None` when nothing is low.
pub fn notice(items: &[LowItem], at_most: usize) -> Option<String> {
    if items.is_empty() {
        return None;
    }
    let mut parts: Vec<String> = items
        .iter()
        .take(at_most.max(1))
        .map(|i| format!("{} {} left", i.name, i.portions_left))
        .collect();
    let more = items.len().saturating_sub(parts.len());
    if more > 0 {
        parts.push(format!("+{more} more"));
    }
    Some(format!("LOW: {}", parts.join(", ")))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;
    use crate::event::{DeviceRole, Event, SettingRecord};
    use crate::journal::{Journal, JournalOptions};
    use crate::kitchen::sample::Sample;
    use crate::projection::StoreProjections;

    const START: i64 = 1_767_295_800_000;

    struct Store {
        journal: Journal,
        menu: Menu,
        _dir: tempfile::TempDir,
    }

    /// A terminal's journal with the sample store (menu and staff), nothing in stock.
    fn store() -> Store {
        let dir = tempfile::tempdir().expect("dir");
        let journal = Journal::open_with(
            dir.path().join("t1.db"),
            JournalOptions::new(
                Arc::new(ManualClock::starting_at(START)),
                DeviceRole::OrderTerminal,
                "t1",
            ),
            vec![Box::new(StoreProjections::new())],
        )
        .expect("journal");
        crate::kitchen::sample::publish_store(&journal).expect("store");
        let menu = Menu::from_toml_str(include_str!("../../../assets/menu.toml")).expect("menu");
        Store {
            journal,
            menu,
            _dir: dir,
        }
    }

    impl Store {
        fn receive(&self, ingredient: &str, qty: i64) {
            self.journal
                .append(&Event::StockReceived {
                    ingredient: ingredient.into(),
                    qty: Decimal::from(qty),
                })
                .expect("received");
        }

        /// Sends `n` classic burgers (medium) on a check of their own, numbered `<letter>1`.
        fn sell_burgers(&self, letter: char, n: u32) {
            use crate::domain::order::OrderType;
            use crate::kitchen::sample::LineSpec;
            Sample::new(&self.journal, letter, 1)
                .expect("sample")
                .order(
                    OrderType::DineIn,
                    Some("12"),
                    "maria",
                    &[LineSpec::new("classic_burger", &["medium"]).qty(n)],
                    &[],
                )
                .expect("order");
        }

        fn low(&self, threshold: u32) -> Vec<(String, u32)> {
            self.journal
                .read(|db| low_stock(db, &self.menu, threshold))
                .expect("low stock")
                .into_iter()
                .map(|i| (i.item, i.portions_left))
                .collect()
        }
    }

    fn items(list: &[(&str, u32)]) -> Vec<(String, u32)> {
        list.iter().map(|(i, n)| ((*i).to_owned(), *n)).collect()
    }

    /// The four burgers of one beef patty each.
    const PATTY_BURGERS: [&str; 4] = [
        "bacon_bbq_burger",
        "blue_cheese_burger",
        "classic_burger",
        "mushroom_swiss_burger",
    ];

    fn patty_burgers(left: u32) -> Vec<(String, u32)> {
        PATTY_BURGERS
            .iter()
            .map(|i| ((*i).to_owned(), left))
            .collect()
    }

    #[test]
    fn an_item_is_low_below_the_threshold_and_leaves_the_list_at_zero() {
        let store = store();
        assert_eq!(store.low(10), items(&[]), "nothing tracked, nothing low");
        store.receive("beef_patty", 12);
        assert_eq!(store.low(10), items(&[]), "12 left is not low");
        store.sell_burgers('A', 3);
        assert_eq!(store.low(10), patty_burgers(9), "9 patties left: low");
        assert_eq!(store.low(9), items(&[]), "under a lower threshold, not yet");
        assert_eq!(store.low(0), items(&[]), "0 turns the alerts off");

        store.sell_burgers('B', 9);
        assert_eq!(store.low(10), items(&[]), "at zero it is 86'd, not low");
        let out = store
            .journal
            .read(|db| super::super::eighty_sixed(db, &store.menu))
            .expect("86");
        assert!(out.contains(&crate::domain::menu::ItemId::new("classic_burger")));

        // A delivery lifts the 86: three patties are low again, and enough are not.
        store.receive("beef_patty", 3);
        assert_eq!(store.low(10), patty_burgers(3));
        store.receive("beef_patty", 20);
        assert_eq!(store.low(10), items(&[]));
    }

    #[test]
    fn the_scarcest_ingredient_counts_and_the_fewest_left_come_first() {
        let store = store();
        // 1,500 g of fries: ten burgers' worth (150 g each), seven and a half bowls of fries
        // (200 g each).
        store.receive("potato_fries", 1500);
        store.receive("beef_patty", 4);
        let low = store.low(10);
        let at = |item: &str| low.iter().find(|(i, _)| i == item).map(|(_, n)| *n);
        assert_eq!(at("classic_burger"), Some(4), "the patties run out first");
        let burger = store
            .journal
            .read(|db| low_stock(db, &store.menu, 10))
            .expect("low")
            .into_iter()
            .find(|i| i.item == "classic_burger")
            .expect("the burger is low");
        assert_eq!(burger.name, "Classic Burger");
        assert_eq!(burger.stations, ["grill", "fry"], "where it is cooked");
        assert!(burger.routes_to(&["fry".to_owned()]));
        assert!(!burger.routes_to(&["bar".to_owned()]));
        assert_eq!(at("fries"), Some(7), "whole portions only");
        let counts: Vec<u32> = low.iter().map(|(_, n)| *n).collect();
        let mut sorted = counts.clone();
        sorted.sort_unstable();
        assert_eq!(counts, sorted, "fewest portions left first");
        assert_eq!(
            at("sweet_potato_fries"),
            None,
            "its potatoes are not tracked"
        );
    }

    #[test]
    fn an_item_86d_by_hand_is_not_low() {
        let store = store();
        store.receive("beef_patty", 5);
        assert!(store.low(10).contains(&("classic_burger".to_owned(), 5)));
        store
            .journal
            .append(&Event::ItemEightySixed {
                item: "classic_burger".into(),
                reason: "the grill is down".into(),
            })
            .expect("86");
        assert!(
            !store.low(10).iter().any(|(i, _)| i == "classic_burger"),
            "on the 86 list instead"
        );
    }

    #[test]
    fn the_threshold_is_a_store_setting() {
        let store = store();
        let threshold = |s: &Store| {
            s.journal
                .read(super::super::store_settings)
                .expect("settings")
                .low_stock_portions()
        };
        assert_eq!(threshold(&store), 10, "the default");
        store
            .journal
            .append(&Event::SettingChanged {
                setting: SettingRecord::LowStockPortions(4),
                by: "owner".into(),
            })
            .expect("setting");
        assert_eq!(threshold(&store), 4);
    }

    #[test]
    fn the_notice_names_the_first_few_and_counts_the_rest() {
        let item = |name: &str, n: u32| LowItem {
            item: name.to_lowercase(),
            name: name.to_owned(),
            portions_left: n,
            stations: vec!["grill".to_owned()],
        };
        assert_eq!(notice(&[], 3), None);
        assert_eq!(
            notice(&[item("Classic Burger", 6)], 3).as_deref(),
            Some("LOW: Classic Burger 6 left")
        );
        let five = [
            item("Classic Burger", 2),
            item("Fries", 3),
            item("Patty Melt", 6),
            item("Wings", 8),
            item("Ribeye", 9),
        ];
        assert_eq!(
            notice(&five, 3).as_deref(),
            Some("LOW: Classic Burger 2 left, Fries 3 left, Patty Melt 6 left, +2 more")
        );
        assert_eq!(
            notice(&five, 5).as_deref(),
            Some(
                "LOW: Classic Burger 2 left, Fries 3 left, Patty Melt 6 left, Wings 8 left, \
                 Ribeye 9 left"
            )
        );
    }
}
