//! What a kitchen screen has selected and which view it shows, and what a key or a touch does
//! there. Keys (through the [`super::keymap::KeyMap`]) and touches end in the same
//! [`ScreenState::on_key`] calls, so a bump bar, a mouse and a finger always do the same thing.

use super::actions::KitchenAction;
use super::board::Board;
use super::cards::TicketCard;
use super::keymap::KeyAction;

/// How long a rush can be undone with one more press (the common 3 s).
pub const RUSH_UNDO_MS: i64 = 3_000;

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
