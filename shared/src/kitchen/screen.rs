//! What a kitchen screen has selected and which view it shows, and what a key or a touch does
//! there. Keys (through the [`super::keymap::KeyMap`]) and touches end in the same
//! [`ScreenState::on_key`] calls, so a bump bar, a mouse and a finger always do the same thing.
//! [`LowStock`] holds what its status bar says runs low.

use std::sync::Arc;

use rusqlite::Connection;

use super::actions::KitchenAction;
use super::board::Board;
use super::cards::TicketCard;
use super::keymap::KeyAction;
use crate::domain::menu::Menu;
use crate::projection::{self, LowItem};

/// How long a rush can be undone with one more press (the common 3 s).
pub const RUSH_UNDO_MS: i64 = 3_000;

/// The items running low that a screen's stations cook (expo: every one), fewest portions left
/// first, as its status bar shows them ("LOW: Classic Burger 6 left, +2 more"). Read again with
/// the tickets; the published menu is parsed again only when another one is published.
#[derive(Debug, Clone, Default)]
pub struct LowStock {
    /// The menu in force by its version; `None` for a version that does not load.
    menu: Option<(projection::MenuVersion, Option<Arc<Menu>>)>,
    items: Vec<LowItem>,
}

impl LowStock {
    /// Reads the low items for `stations` again (none before a menu is published, or while the
    /// published one does not load).
    pub fn refresh(&mut self, db: &Connection, stations: &[String]) -> rusqlite::Result<()> {
        let version = projection::menu_version(db)?;
        if self.menu.as_ref().map(|(v, _)| v) != version.as_ref() {
            self.menu = match version {
                None => None,
                Some(version) => {
                    let text = projection::register(db, "menu")?.unwrap_or_default();
                    let parsed = Menu::from_toml_str(&text)
                        .map(Arc::new)
                        .map_err(|e| {
                            tracing::warn!(error = %e, "the published menu does not load: no low stock shown");
                        })
                        .ok();
                    Some((version, parsed))
                }
            };
        }
        self.items = match &self.menu {
            Some((_, Some(menu))) => super::cards::low_stock_on(db, menu, stations)?,
            _ => Vec::new(),
        };
        Ok(())
    }

    pub fn items(&self) -> &[LowItem] {
        &self.items
    }

    /// The status bar's words: the fewest left named, the rest counted; `None` when nothing is
    /// low.
    pub fn notice(&self) -> Option<String> {
        projection::low_stock::notice(&self.items, projection::low_stock::NAMED_ON_KITCHEN_SCREEN)
    }
}

/// Which view fills the screen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum View {
    #[default]
    Tickets,
    AllDay,
    /// The recall list: recently bumped tickets.
    Recall,
}

/// The screen's selection and view; kept across refreshes of the board.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScreenState {
    pub view: View,
    pub page: usize,
    /// The selected card (its key), if any.
    pub selected: Option<String>,
    /// The highlighted item line of the selected card, from 0 over its item lines.
    pub item: usize,
    /// The highlighted row of the recall list.
    pub recall_row: usize,
    /// The last rush, while it can still be undone: (ticket, when).
    pub last_rush: Option<(String, i64)>,
}

impl ScreenState {
    /// Carries out `key` on the `board` shown (and the `recall` list), at `now_ms`. Returns the
    /// action to carry out on the tickets, if the key does one; view and selection changes are
    /// made here.
    pub fn on_key(
        &mut self,
        key: KeyAction,
        board: &Board,
        recall: &[TicketCard],
        now_ms: i64,
    ) -> Option<KitchenAction> {
        self.forget_stale(board, now_ms);
        match (self.view, key) {
            (_, KeyAction::Back) => {
                self.view = View::Tickets;
                None
            }
            (View::AllDay, KeyAction::AllDay) => {
                self.view = View::Tickets;
                None
            }
            (_, KeyAction::AllDay) => {
                self.view = View::AllDay;
                None
            }
            (View::Recall, KeyAction::Recall | KeyAction::Bump) => {
                let ticket = recall.get(self.recall_row)?;
                self.view = View::Tickets;
                Some(KitchenAction::Recall {
                    ticket: ticket.ticket.clone(),
                })
            }
            (View::Recall, KeyAction::Up) => {
                self.recall_row = self.recall_row.saturating_sub(1);
                None
            }
            (View::Recall, KeyAction::Down) => {
                if self.recall_row + 1 < recall.len() {
                    self.recall_row += 1;
                }
                None
            }
            (View::Recall, KeyAction::Select(n)) => {
                let ticket = recall.get(n - 1)?;
                self.view = View::Tickets;
                Some(KitchenAction::Recall {
                    ticket: ticket.ticket.clone(),
                })
            }
            (View::Recall | View::AllDay, _) => None,
            (View::Tickets, KeyAction::Recall) => {
                self.view = View::Recall;
                self.recall_row = 0;
                None
            }
            (View::Tickets, KeyAction::Select(n)) => {
                let card = board.slot(n)?;
                self.selected = Some(card.card.key.clone());
                self.item = 0;
                None
            }
            (View::Tickets, KeyAction::PageNext) => {
                if self.page + 1 < board.page_count() {
                    self.page += 1;
                    self.selected = None;
                }
                None
            }
            (View::Tickets, KeyAction::PagePrevious) => {
                if self.page > 0 {
                    self.page -= 1;
                    self.selected = None;
                }
                None
            }
            (View::Tickets, KeyAction::Up) => {
                self.item = self.item.saturating_sub(1);
                None
            }
            (View::Tickets, KeyAction::Down) => {
                let items = self.selected_items(board);
                if self.item + 1 < items.len() {
                    self.item += 1;
                }
                None
            }
            (View::Tickets, KeyAction::Bump) => {
                let card = &self.selected_or_first(board)?.card;
                let action = if board.expo {
                    KitchenAction::ExpoBump {
                        check: card.check.clone(),
                        course: card.course,
                        force_reason: None,
                    }
                } else {
                    KitchenAction::Bump {
                        ticket: card.key.clone(),
                    }
                };
                self.selected = None;
                Some(action)
            }
            (View::Tickets, KeyAction::ItemDone) if !board.expo => {
                let items = self.selected_items(board);
                let line = items.get(self.item).or(items.first())?.clone();
                let ticket = self.selected_or_first(board)?.card.key.clone();
                Some(KitchenAction::BumpItem { ticket, line })
            }
            (View::Tickets, KeyAction::Start) if !board.expo => {
                let ticket = self.selected_or_first(board)?.card.key.clone();
                Some(KitchenAction::Start { ticket })
            }
            (View::Tickets, KeyAction::Rush) if !board.expo => {
                if let Some((ticket, _)) = self.last_rush.take() {
                    return Some(KitchenAction::Priority {
                        ticket,
                        rush: false,
                    });
                }
                let card = &self.selected_or_first(board)?.card;
                let rush = !card.rush;
                if rush {
                    self.last_rush = Some((card.key.clone(), now_ms));
                }
                Some(KitchenAction::Priority {
                    ticket: card.key.clone(),
                    rush,
                })
            }
            (View::Tickets, _) => None,
        }
    }

    /// A touch on the card at `slot`: the first touch selects it, a second one bumps it.
    pub fn on_touch_card(
        &mut self,
        slot: usize,
        board: &Board,
        now_ms: i64,
    ) -> Option<KitchenAction> {
        let key = board.slot(slot)?.card.key.clone();
        if self.selected.as_deref() == Some(key.as_str()) {
            self.on_key(KeyAction::Bump, board, &[], now_ms)
        } else {
            self.on_key(KeyAction::Select(slot), board, &[], now_ms)
        }
    }

    /// The rush that can still be undone at `now_ms`.
    pub fn undoable_rush(&self, now_ms: i64) -> Option<&str> {
        self.last_rush
            .as_ref()
            .filter(|(_, at)| now_ms - at < RUSH_UNDO_MS)
            .map(|(t, _)| t.as_str())
    }

    /// Drops a selection whose card has gone and a rush past its undo time; keeps the page in
    /// range.
    pub fn forget_stale(&mut self, board: &Board, now_ms: i64) {
        if self.undoable_rush(now_ms).is_none() {
            self.last_rush = None;
        }
        self.page = self.page.min(board.page_count() - 1);
        if let Some(key) = &self.selected
            && !board.visible().iter().any(|p| &p.card.key == key)
        {
            self.selected = None;
            self.item = 0;
        }
    }

    fn selected_or_first<'b>(&self, board: &'b Board) -> Option<&'b super::board::Placed> {
        match &self.selected {
            Some(key) => board.visible().iter().find(|p| &p.card.key == key),
            None => board.visible().first(),
        }
    }

    /// The item lines (ticket line ids) of the selected card that are still to cook.
    fn selected_items(&self, board: &Board) -> Vec<String> {
        use super::board::LineStyle;
        self.selected_or_first(board)
            .map(|p| {
                p.card
                    .lines
                    .iter()
                    .filter(|l| matches!(l.style, LineStyle::Item | LineStyle::Addition))
                    .filter_map(|l| l.line.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;
    use crate::clock::ManualClock;
    use crate::event::{DeviceRole, Event};
    use crate::journal::{Journal, JournalOptions};
    use crate::kitchen::sample::{LineSpec, Sample};
    use crate::projection::StoreProjections;

    /// The kitchen app keeps it in a resource its systems share across threads.
    #[test]
    fn it_can_live_in_an_app_resource() {
        fn shared_across_threads<T: Send + Sync + 'static>() {}
        shared_across_threads::<LowStock>();
    }

    fn parsed(low: &LowStock) -> Option<Arc<Menu>> {
        low.menu.as_ref().and_then(|(_, m)| m.clone())
    }

    #[test]
    fn the_status_bar_shows_what_its_stations_cook_that_runs_low_until_a_delivery() {
        let dir = tempfile::tempdir().expect("dir");
        let journal = Journal::open_with(
            dir.path().join("grill.db"),
            JournalOptions::new(
                Arc::new(ManualClock::starting_at(1_767_295_800_000)),
                DeviceRole::KitchenScreen,
                "grill",
            ),
            vec![Box::new(StoreProjections::new())],
        )
        .expect("journal");
        let grill = ["grill".to_owned()];
        let bar = ["bar".to_owned()];
        let mut low = LowStock::default();
        let mut at_bar = LowStock::default();
        journal
            .read(|db| low.refresh(db, &grill))
            .expect("no menu yet");
        assert_eq!(low.notice(), None);

        let mut sample = Sample::set_up(&journal, 'A').expect("store");
        let receive = |qty: i64| {
            journal
                .append(&Event::StockReceived {
                    ingredient: "skirt_steak".into(),
                    qty: Decimal::from(qty),
                })
                .expect("received");
        };
        receive(10);
        journal.read(|db| low.refresh(db, &grill)).expect("read");
        assert_eq!(low.notice(), None, "ten steaks are not low");
        let menu = parsed(&low).expect("the menu is parsed");

        sample
            .order(
                crate::domain::order::OrderType::DineIn,
                Some("12"),
                "sam",
                &[LineSpec::new("steak_frites", &["medium_rare"]).qty(3)],
                &[],
            )
            .expect("three steaks sent");
        journal.read(|db| low.refresh(db, &grill)).expect("read");
        journal.read(|db| at_bar.refresh(db, &bar)).expect("read");
        assert_eq!(low.notice().as_deref(), Some("LOW: Steak Frites 7 left"));
        assert_eq!(low.items().len(), 1);
        assert_eq!(at_bar.notice(), None, "the bar does not cook it");
        assert!(
            parsed(&low).is_some_and(|m| Arc::ptr_eq(&m, &menu)),
            "the same menu: not parsed again"
        );

        receive(20);
        journal.read(|db| low.refresh(db, &grill)).expect("read");
        assert_eq!(low.notice(), None, "a delivery: enough again");

        journal
            .append(&Event::MenuPublished {
                toml: crate::kitchen::sample::SAMPLE_MENU.to_owned(),
            })
            .expect("menu");
        journal.read(|db| low.refresh(db, &grill)).expect("read");
        assert!(
            parsed(&low).is_some_and(|m| !Arc::ptr_eq(&m, &menu)),
            "a new menu is parsed again"
        );
    }
}
