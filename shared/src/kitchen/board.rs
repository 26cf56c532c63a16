//! A station's screen as a board of cards: order, timer bands, the text of every line, and where
//! each card sits (column and line) on which page. The renderer only turns this into pixels, so
//! everything a cook reads is decided, and tested, here.
//!
//! Cards are placed top to bottom in columns, left to right; a card that does not fit in what is
//! left of a column starts the next column, and when the columns run out a new page starts. A
//! card taller than a whole column is cut, with a last line saying how many lines are hidden.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::cards::{CardItem, TicketCard};
use crate::domain::order::OrderType;
use crate::domain::ticket::{ItemState, TicketState};

/// How late a ticket is, by its timer against the two thresholds of its order type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    /// Under the first threshold.
    OnTime,
    /// Past the first threshold ("alert 1").
    Alert,
    /// Past the second threshold ("alert 2").
    Late,
}

impl Band {
    /// The cue shown beside the colour, so a colour-blind cook reads the same thing.
    pub fn cue(self) -> &'static str {
        match self {
            Band::OnTime => "",
            Band::Alert => "ALERT",
            Band::Late => "LATE",
        }
    }
}

/// The two timer thresholds of one order type, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    pub alert_secs: u32,
    pub late_secs: u32,
}

impl Default for Thresholds {
    /// Yellow at 5 minutes, red at 8: the common defaults.
    fn default() -> Self {
        Thresholds {
            alert_secs: 5 * 60,
            late_secs: 8 * 60,
        }
    }
}

impl Thresholds {
    /// Both above zero, the second after the first, at most 4 hours.
    pub fn check(&self) -> Result<(), String> {
        if self.alert_secs == 0 || self.late_secs <= self.alert_secs || self.late_secs > 4 * 3600 {
            return Err(format!(
                "thresholds {}s / {}s: the first above zero, the second after it, at most 4 hours",
                self.alert_secs, self.late_secs
            ));
        }
        Ok(())
    }

    pub fn band(&self, elapsed_ms: i64) -> Band {
        let secs = elapsed_ms / 1000;
        if secs >= i64::from(self.late_secs) {
            Band::Late
        } else if secs >= i64::from(self.alert_secs) {
            Band::Alert
        } else {
            Band::OnTime
        }
    }
}

/// Thresholds per order type, with a default for the types not named.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimerSettings {
    #[serde(default)]
    pub default: Thresholds,
    #[serde(default)]
    pub by_order_type: BTreeMap<OrderType, Thresholds>,
}

impl TimerSettings {
    pub fn for_type(&self, order_type: OrderType) -> Thresholds {
        self.by_order_type
            .get(&order_type)
            .copied()
            .unwrap_or(self.default)
    }

    pub fn check(&self) -> Result<(), String> {
        self.default.check()?;
        for (order_type, t) in &self.by_order_type {
            t.check().map_err(|e| format!("{order_type}: {e}"))?;
        }
        Ok(())
    }
}

/// What a line of a card is, which decides its look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineStyle {
    /// An item still to cook.
    Item,
    /// An item added after the check's first send.
    Addition,
    /// A forced choice (doneness, side).
    Forced,
    /// An optional extra or removal.
    Optional,
    Note,
    /// Allergies: highlighted.
    Allergy,
    /// Voided on the check: struck through.
    Voided,
    /// Bumped on its own.
    Done,
    /// Expo: a station that still cooks this order.
    StationCooking,
    /// Expo: a station that has bumped its part.
    StationDone,
    /// The last line of a cut card.
    More,
}

/// One line of text on a card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardLine {
    pub text: String,
    pub style: LineStyle,
    /// The ticket line it shows, for an item (what "item done" bumps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
}

/// One card as drawn: a station's ticket, or an order (check and course) at expo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardView {
    /// The ticket id, or `<check>#<course>` at expo.
    pub key: String,
    pub check: String,
    pub course: u8,
    /// The ticket's own station (expo: `expo`).
    pub station: String,
    /// Order number, e.g. `B42`.
    pub number: String,
    /// "T12", or the order type for orders without a table ("TAKEOUT").
    pub place: String,
    pub server: String,
    pub order_type: OrderType,
    pub elapsed_ms: i64,
    pub band: Band,
    pub rush: bool,
    pub held: bool,
    /// Some line was added after the first send.
    pub addition: bool,
    pub recalls: u32,
    /// A ticket of a station this screen took over from a dead screen.
    pub taken_over: bool,
    pub lines: Vec<CardLine>,
}

impl CardView {
    /// The timer as people read it: `m:ss`, or `h:mm:ss` past an hour.
    pub fn timer_text(&self) -> String {
        timer_text(self.elapsed_ms)
    }

    /// The header's second line: course, timer and the late cue.
    pub fn status_text(&self) -> String {
        let mut parts = vec![format!("C{}", self.course)];
        if self.held {
            parts.push("HELD".to_owned());
        } else {
            parts.push(self.timer_text());
        }
        if !self.held && self.band != Band::OnTime {
            parts.push(self.band.cue().to_owned());
        }
        if self.rush {
            parts.push("RUSH".to_owned());
        }
        parts.join("  ")
    }
}

/// `m:ss`, or `h:mm:ss` from an hour.
pub fn timer_text(elapsed_ms: i64) -> String {
    let secs = elapsed_ms.max(0) / 1000;
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// The screen's grid: how many columns, and how many text lines fit in one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    pub columns: usize,
    pub lines_per_column: usize,
}

impl Default for Grid {
    /// Six columns of 26 lines: a 1080p kitchen monitor read from two metres.
    fn default() -> Self {
        Grid {
            columns: 6,
            lines_per_column: 26,
        }
    }
}

impl Grid {
    pub fn check(&self) -> Result<(), String> {
        if !(1..=12).contains(&self.columns) || !(6..=80).contains(&self.lines_per_column) {
            return Err(format!(
                "layout {} columns × {} lines: 1 to 12 columns, 6 to 80 lines",
                self.columns, self.lines_per_column
            ));
        }
        Ok(())
    }
}

/// The lines a card's header takes (number / place / server, then course / timer / cues).
pub const HEADER_LINES: usize = 2;

/// A card placed on a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placed {
    /// Its number on the page, from 1: the digit key that selects it.
    pub slot: usize,
    pub column: usize,
    /// First line (from 0) of the column it starts on.
    pub top: usize,
    /// Lines it takes, header included.
    pub height: usize,
    pub card: CardView,
}

/// What a screen shows: its cards on pages, and the headline figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Board {
    pub station: String,
    pub expo: bool,
    pub grid: Grid,
    /// The page shown, from 0 (clamped to the pages there are).
    pub page: usize,
    pub pages: Vec<Vec<Placed>>,
    /// All cards, on every page.
    pub total: usize,
}

impl Board {
    /// The cards of the page shown.
    pub fn visible(&self) -> &[Placed] {
        self.pages.get(self.page).map_or(&[], Vec::as_slice)
    }

    /// How many cards are on other pages.
    pub fn hidden(&self) -> usize {
        self.total - self.visible().len()
    }

    pub fn page_count(&self) -> usize {
        self.pages.len().max(1)
    }

    /// The card at `slot` on the page shown.
    pub fn slot(&self, slot: usize) -> Option<&Placed> {
        self.visible().iter().find(|p| p.slot == slot)
    }

    /// Every card, every page, in screen order.
    pub fn cards(&self) -> impl Iterator<Item = &CardView> {
        self.pages.iter().flatten().map(|p| &p.card)
    }
}

/// Everything a board is built from.
#[derive(Debug, Clone)]
pub struct BoardInput<'a> {
    /// The station this screen serves, or [`super::EXPO`].
    pub station: &'a str,
    /// Stations taken over from dead screens: their tickets are shown too, marked.
    pub taken_over: &'a [String],
    pub timers: &'a TimerSettings,
    pub grid: Grid,
    pub now_ms: i64,
    pub page: usize,
}

/// Builds a prep station's board from its open tickets (and those of stations taken over).
pub fn station_board(input: &BoardInput<'_>, cards: &[TicketCard]) -> Board {
    let mut cards: Vec<&TicketCard> = cards.iter().filter(|c| c.is_open()).collect();
    // Fired before held; rush first; then queue order; the id breaks ties so all screens agree.
    cards.sort_by(|a, b| {
        (a.held, !a.rush, a.queued_hlc, &a.ticket).cmp(&(b.held, !b.rush, b.queued_hlc, &b.ticket))
    });
    let views = cards.into_iter().map(|c| station_card(c, input)).collect();
    place(input, false, views)
}

fn station_card(c: &TicketCard, input: &BoardInput<'_>) -> CardView {
    let elapsed_ms = c.elapsed_ms(input.now_ms);
    let mut lines = Vec::new();
    for item in &c.items {
        item_lines(item, &mut lines);
    }
    CardView {
        key: c.ticket.clone(),
        check: c.check.clone(),
        course: c.course,
        station: c.station.clone(),
        number: c.number.clone(),
        place: place_text(c),
        server: c.server.clone(),
        order_type: c.order_type,
        elapsed_ms,
        band: input.timers.for_type(c.order_type).band(elapsed_ms),
        rush: c.rush,
        held: c.held,
        addition: c.items.iter().any(|i| i.addition),
        recalls: c.recalls,
        taken_over: c.station != input.station && input.taken_over.contains(&c.station),
        lines,
    }
}

fn place_text(c: &TicketCard) -> String {
    match (&c.table, c.order_type) {
        (Some(table), _) => format!("T{table}"),
        (None, t) => t.to_string().to_uppercase(),
    }
}

/// The lines of one item: the item, then its modifiers, note and allergies.
fn item_lines(item: &CardItem, out: &mut Vec<CardLine>) {
    let seat = item.seat.map(|s| format!("S{s} ")).unwrap_or_default();
    let (style, label) = match item.state {
        ItemState::Voided => (LineStyle::Voided, "VOID "),
        ItemState::Done => (LineStyle::Done, "DONE "),
        _ if item.addition => (LineStyle::Addition, "ADD "),
        _ => (LineStyle::Item, ""),
    };
    out.push(CardLine {
        text: format!("{label}{seat}{} {}", item.qty, item.name),
        style,
        line: Some(item.line.clone()),
    });
    if item.state == ItemState::Voided {
        return;
    }
    for m in &item.modifiers {
        let (style, mark) = if m.forced {
            (LineStyle::Forced, "> ")
        } else {
            (LineStyle::Optional, "+ ")
        };
        out.push(CardLine {
            text: format!("  {mark}{}", m.name),
            style,
            line: None,
        });
    }
    if let Some(note) = item
        .notes
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        if is_allergy_note(note) {
            // A declared allergy: highlighted, with what the menu says the item contains.
            let contains = if item.allergens.is_empty() {
                String::new()
            } else {
                format!(" (contains {})", item.allergens.join(", "))
            };
            let lower = note.to_lowercase();
            let what = if lower.starts_with("allergy") {
                note.get("allergy".len()..)
                    .unwrap_or(note)
                    .trim_start_matches([':', ' ', '-'])
            } else {
                note
            };
            out.push(CardLine {
                text: format!("  ALLERGY {what}{contains}"),
                style: LineStyle::Allergy,
                line: None,
            });
        } else {
            out.push(CardLine {
                text: format!("  NOTE {note}"),
                style: LineStyle::Note,
                line: None,
            });
        }
    }
}

/// A note that declares an allergy ("allergy: sesame", "nut allergy", "allergic to shellfish").
pub fn is_allergy_note(note: &str) -> bool {
    note.to_lowercase().contains("allerg")
}

/// Builds the expo board: one card per order (check and course) with each station's progress.
pub fn expo_board(input: &BoardInput<'_>, tickets: &[TicketCard]) -> Board {
    let mut orders: BTreeMap<(&str, u8), Vec<&TicketCard>> = BTreeMap::new();
    for t in tickets.iter().filter(|t| t.state != TicketState::Voided) {
        orders.entry((&t.check, t.course)).or_default().push(t);
    }
    let mut views: Vec<(bool, bool, i64, CardView)> = orders
        .into_iter()
        .map(|((check, course), mut ts)| {
            ts.sort_by(|a, b| (&a.station, &a.ticket).cmp(&(&b.station, &b.ticket)));
            let first = ts[0];
            let held = ts.iter().all(|t| t.held);
            let rush = ts.iter().any(|t| t.rush);
            let queued = ts.iter().map(|t| t.queued_hlc).min().unwrap_or(0);
            let shown = ts.iter().filter_map(|t| t.shown_ms).min();
            let elapsed_ms = shown.map_or(0, |s| (input.now_ms - s).max(0));
            let mut lines = Vec::new();
            for t in &ts {
                let done = matches!(t.state, TicketState::Done);
                lines.push(CardLine {
                    text: format!(
                        "{} {}",
                        station_label(&t.station),
                        if done {
                            "READY"
                        } else if t.held {
                            "HELD"
                        } else {
                            "COOKING"
                        }
                    ),
                    style: if done {
                        LineStyle::StationDone
                    } else {
                        LineStyle::StationCooking
                    },
                    line: None,
                });
            }
            // A line cooked at two stations (a burger and its fries) is one item to expo.
            let mut seen = std::collections::BTreeSet::new();
            for t in &ts {
                for item in t.items.iter().filter(|i| seen.insert(i.line.as_str())) {
                    item_lines(item, &mut lines);
                }
            }
            let view = CardView {
                key: format!("{check}#{course}"),
                check: check.to_owned(),
                course,
                station: super::EXPO.to_owned(),
                number: first.number.clone(),
                place: place_text(first),
                server: first.server.clone(),
                order_type: first.order_type,
                elapsed_ms,
                band: input.timers.for_type(first.order_type).band(elapsed_ms),
                rush,
                held,
                addition: ts.iter().any(|t| t.items.iter().any(|i| i.addition)),
                recalls: ts.iter().map(|t| t.recalls).sum(),
                taken_over: false,
                lines,
            };
            (held, !rush, queued, view)
        })
        .collect();
    views.sort_by(|a, b| (a.0, a.1, a.2, &a.3.key).cmp(&(b.0, b.1, b.2, &b.3.key)));
    place(input, true, views.into_iter().map(|v| v.3).collect())
}

/// A station's id as people read it on a screen: `saute_cold` is "SAUTE COLD".
pub fn station_label(station: &str) -> String {
    station.replace(['_', '-'], " ").to_uppercase()
}

/// Places cards in columns and pages (see the module documentation).
fn place(input: &BoardInput<'_>, expo: bool, views: Vec<CardView>) -> Board {
    let grid = input.grid;
    let capacity = grid.lines_per_column.max(HEADER_LINES + 1);
    let total = views.len();
    let mut pages: Vec<Vec<Placed>> = Vec::new();
    let mut page: Vec<Placed> = Vec::new();
    let (mut column, mut top) = (0usize, 0usize);
    for mut card in views {
        let mut height = HEADER_LINES + card.lines.len();
        if height > capacity {
            let keep = capacity - HEADER_LINES - 1;
            let hidden = card.lines.len() - keep;
            card.lines.truncate(keep);
            card.lines.push(CardLine {
                text: format!("... {hidden} more lines"),
                style: LineStyle::More,
                line: None,
            });
            height = capacity;
        }
        if top + height > capacity {
            column += 1;
            top = 0;
        }
        if column >= grid.columns.max(1) {
            pages.push(std::mem::take(&mut page));
            column = 0;
            top = 0;
        }
        page.push(Placed {
            slot: page.len() + 1,
            column,
            top,
            height,
            card,
        });
        // One blank line between cards in a column.
        top += height + 1;
    }
    if !page.is_empty() {
        pages.push(page);
    }
    let page = input.page.min(pages.len().saturating_sub(1));
    Board {
        station: input.station.to_owned(),
        expo,
        grid,
        page,
        pages,
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kitchen::CardModifier;

    pub(crate) fn card(ticket: &str, queued: i64, items: usize) -> TicketCard {
        TicketCard {
            ticket: ticket.to_owned(),
            check: format!("c-{ticket}"),
            number: format!("A{queued}"),
            station: "grill".into(),
            course: 1,
            state: TicketState::Shown,
            held: false,
            rush: false,
            queued_hlc: queued,
            shown_ms: Some(1_000),
            bumped_ms: None,
            recalls: 0,
            order_type: OrderType::DineIn,
            table: Some("12".into()),
            server: "Ana".into(),
            items: (0..items)
                .map(|i| CardItem {
                    line: format!("l{i}"),
                    name: format!("Item {i}"),
                    qty: 1,
                    modifiers: Vec::new(),
                    seat: None,
                    notes: None,
                    allergens: Vec::new(),
                    addition: false,
                    state: ItemState::New,
                })
                .collect(),
        }
    }

    fn input<'a>(timers: &'a TimerSettings, now_ms: i64, grid: Grid) -> BoardInput<'a> {
        BoardInput {
            station: "grill",
            taken_over: &[],
            timers,
            grid,
            now_ms,
            page: 0,
        }
    }

    #[test]
    fn bands_change_at_each_threshold_per_order_type() {
        let mut timers = TimerSettings::default();
        timers.by_order_type.insert(
            OrderType::Takeout,
            Thresholds {
                alert_secs: 60,
                late_secs: 120,
            },
        );
        let dine = timers.for_type(OrderType::DineIn);
        assert_eq!(dine.band(299_999), Band::OnTime);
        assert_eq!(dine.band(300_000), Band::Alert);
        assert_eq!(dine.band(479_999), Band::Alert);
        assert_eq!(dine.band(480_000), Band::Late);
        let takeout = timers.for_type(OrderType::Takeout);
        assert_eq!(takeout.band(59_000), Band::OnTime);
        assert_eq!(takeout.band(60_000), Band::Alert);
        assert_eq!(takeout.band(120_000), Band::Late);
        assert_eq!(Band::Late.cue(), "LATE");
        assert!(
            Thresholds {
                alert_secs: 300,
                late_secs: 300
            }
            .check()
            .is_err()
        );
    }

    #[test]
    fn rush_comes_first_then_queue_order_and_held_last() {
        let timers = TimerSettings::default();
        let mut a = card("a", 1, 1);
        let b = card("b", 2, 1);
        let mut c = card("c", 3, 1);
        c.rush = true;
        a.held = true;
        let board = station_board(&input(&timers, 2_000, Grid::default()), &[a, b, c]);
        let keys: Vec<&str> = board.cards().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["c", "b", "a"]);
        let held = board.cards().last().expect("card");
        assert_eq!(held.status_text(), "C1  HELD");
    }

    #[test]
    fn cards_fill_columns_then_pages_and_count_what_is_hidden() {
        let timers = TimerSettings::default();
        let grid = Grid {
            columns: 2,
            lines_per_column: 10,
        };
        // Each card: 2 header + 3 items = 5 lines, plus a gap: one per column (5 + 1 + 5 > 10).
        let cards: Vec<TicketCard> = (0..5).map(|i| card(&format!("t{i}"), i, 3)).collect();
        let board = station_board(&input(&timers, 2_000, grid), &cards);
        assert_eq!(board.page_count(), 3);
        assert_eq!(board.visible().len(), 2);
        assert_eq!(board.hidden(), 3);
        let first: Vec<(usize, usize, usize)> = board
            .visible()
            .iter()
            .map(|p| (p.slot, p.column, p.top))
            .collect();
        assert_eq!(first, [(1, 0, 0), (2, 1, 0)]);
        let mut last = input(&timers, 2_000, grid);
        last.page = 9;
        let board = station_board(&last, &cards);
        assert_eq!(board.page, 2, "a page past the end shows the last");
        assert_eq!(board.visible().len(), 1);
    }

    #[test]
    fn a_card_taller_than_a_column_is_cut_and_says_how_much() {
        let timers = TimerSettings::default();
        let grid = Grid {
            columns: 2,
            lines_per_column: 8,
        };
        let board = station_board(&input(&timers, 0, grid), &[card("big", 1, 20)]);
        let placed = &board.visible()[0];
        assert_eq!(placed.height, 8);
        let last = placed.card.lines.last().expect("line");
        assert_eq!(last.style, LineStyle::More);
        assert_eq!(last.text, "... 15 more lines");
    }

    #[test]
    fn item_lines_tell_forced_optional_notes_allergies_additions_and_voids_apart() {
        let mut c = card("t", 1, 0);
        c.items = vec![
            CardItem {
                line: "l1".into(),
                name: "Classic Burger".into(),
                qty: 2,
                modifiers: vec![
                    CardModifier {
                        name: "Medium rare".into(),
                        forced: true,
                    },
                    CardModifier {
                        name: "Bacon".into(),
                        forced: false,
                    },
                ],
                seat: Some(3),
                notes: Some("allergy: sesame".into()),
                allergens: vec!["gluten".into(), "sesame".into()],
                addition: false,
                state: ItemState::New,
            },
            CardItem {
                line: "l2".into(),
                name: "Fries".into(),
                qty: 1,
                modifiers: Vec::new(),
                seat: None,
                notes: Some("extra crispy".into()),
                allergens: Vec::new(),
                addition: true,
                state: ItemState::New,
            },
            CardItem {
                line: "l3".into(),
                name: "Onion Rings".into(),
                qty: 1,
                modifiers: Vec::new(),
                seat: None,
                notes: None,
                allergens: Vec::new(),
                addition: false,
                state: ItemState::Voided,
            },
        ];
        let timers = TimerSettings::default();
        let board = station_board(&input(&timers, 400_000, Grid::default()), &[c]);
        let view = board.cards().next().expect("card");
        let lines: Vec<(&str, LineStyle)> = view
            .lines
            .iter()
            .map(|l| (l.text.as_str(), l.style))
            .collect();
        assert_eq!(
            lines,
            [
                ("S3 2 Classic Burger", LineStyle::Item),
                ("  > Medium rare", LineStyle::Forced),
                ("  + Bacon", LineStyle::Optional),
                (
                    "  ALLERGY sesame (contains gluten, sesame)",
                    LineStyle::Allergy
                ),
                ("ADD 1 Fries", LineStyle::Addition),
                ("  NOTE extra crispy", LineStyle::Note),
                ("VOID 1 Onion Rings", LineStyle::Voided),
            ]
        );
        assert!(view.addition);
        assert_eq!(view.place, "T12");
        assert_eq!(view.band, Band::Alert);
        assert_eq!(view.status_text(), "C1  6:39  ALERT");
    }

    #[test]
    fn expo_shows_one_card_per_order_with_each_stations_progress() {
        let timers = TimerSettings::default();
        let mut grill = card("g", 1, 1);
        grill.check = "c1".into();
        let mut fry = card("f", 2, 1);
        fry.check = "c1".into();
        fry.station = "fry".into();
        fry.state = TicketState::Done;
        let mut input = input(&timers, 2_000, Grid::default());
        input.station = crate::kitchen::EXPO;
        let board = expo_board(&input, &[grill, fry]);
        assert_eq!(board.total, 1);
        let view = board.cards().next().expect("card");
        assert_eq!(view.key, "c1#1");
        assert_eq!(view.lines[0].text, "FRY READY");
        assert_eq!(view.lines[1].text, "GRILL COOKING");
    }

    #[test]
    fn timers_read_as_minutes_and_seconds() {
        assert_eq!(timer_text(0), "0:00");
        assert_eq!(timer_text(65_400), "1:05");
        assert_eq!(timer_text(3_725_000), "1:02:05");
        assert_eq!(timer_text(-5), "0:00");
    }
}
