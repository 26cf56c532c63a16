//! Draws the [`Screen`] with bevy_ui: a status bar, the red "cut off" banner when no peer is
//! heard, the cards of the page shown (or the all-day counts, or the recall list), and a footer
//! with touch buttons. Only this module knows pixels and colours; what is written where comes
//! from `pass_shared::kitchen`.
//!
//! The screen is laid out for a 1080p monitor (1920 × 1080 logical pixels) and scaled to the
//! window with `UiScale`, so a 4K monitor shows the same layout twice as sharp. It is redrawn
//! only when the screen's version or the link status changed.

use std::path::PathBuf;

use bevy::prelude::*;
use bevy::text::{FontSmoothing, Strikethrough};
use pass_shared::kitchen::board::{Band, CardView, LineStyle, Placed};
use pass_shared::kitchen::keymap::KeyAction;
use pass_shared::kitchen::screen::View;
use serde::Serialize;

use crate::kitchen::{Input, LinkStatus, Screen};

/// The design size every position below is given in.
pub const DESIGN_WIDTH: f32 = 1920.0;
pub const DESIGN_HEIGHT: f32 = 1080.0;
const STATUS_HEIGHT: f32 = 64.0;
const BANNER_HEIGHT: f32 = 56.0;
const FOOTER_HEIGHT: f32 = 64.0;
const GAP: f32 = 8.0;

/// Near-black: high contrast in a bright kitchen, no glare at night.
pub const BACKGROUND: Color = Color::srgb_u8(0x10, 0x10, 0x10);
const CARD_BODY: Color = Color::srgb_u8(0x24, 0x24, 0x24);
const HELD_BODY: Color = Color::srgb_u8(0x3a, 0x3a, 0x3a);
const TEXT: Color = Color::WHITE;
const DIM: Color = Color::srgb_u8(0x9a, 0x9a, 0x9a);
/// Header colours by timer band: the sampled colours of the screenshot tests.
pub const ON_TIME: Color = Color::srgb_u8(0x1f, 0x6f, 0x3a);
pub const ALERT: Color = Color::srgb_u8(0xf2, 0xc0, 0x1e);
pub const LATE: Color = Color::srgb_u8(0xd3, 0x22, 0x22);
const HELD_HEADER: Color = Color::srgb_u8(0x55, 0x55, 0x55);
const RUSH_BORDER: Color = Color::srgb_u8(0xff, 0x4f, 0xd8);
const SELECTED_BORDER: Color = Color::WHITE;
const ALLERGY_BG: Color = Color::srgb_u8(0xb0, 0x10, 0x10);
const ADDITION: Color = Color::srgb_u8(0x5c, 0xe1, 0xe6);
const FORCED: Color = Color::srgb_u8(0xff, 0xd8, 0x6b);
const NOTE: Color = Color::srgb_u8(0x9c, 0xc8, 0xff);
const STATION_DONE: Color = Color::srgb_u8(0x6b, 0xe0, 0x8a);
const STATION_COOKING: Color = Color::srgb_u8(0xff, 0xa8, 0x4a);
const BAR: Color = Color::srgb_u8(0x1a, 0x1a, 0x2e);
const BUTTON: Color = Color::srgb_u8(0x33, 0x3a, 0x55);
const SLOT_BOX: Color = Color::srgb_u8(0x10, 0x10, 0x10);

/// The header colour of a card: its timer band, grey while held.
pub fn header_colour(card: &CardView) -> Color {
    if card.held {
        return HELD_HEADER;
    }
    match card.band {
        Band::OnTime => ON_TIME,
        Band::Alert => ALERT,
        Band::Late => LATE,
    }
}

/// The fonts: a plain, bold, condensed sans that OCR and tired eyes read alike.
#[derive(Resource, Clone)]
pub struct Fonts {
    pub bold: Handle<Font>,
    pub regular: Handle<Font>,
}

/// Where to write the layout of every drawn frame (`--layout-dump`), for the screenshot tests.
#[derive(Resource, Debug, Clone)]
pub struct LayoutDump(pub PathBuf);

#[derive(Resource, Default)]
struct Drawn {
    version: Option<u64>,
    link: Option<pass_shared::device::Link>,
}

#[derive(Component)]
struct Root;

/// A card on screen, by its slot on the page.
#[derive(Component)]
struct CardSlot(usize);

/// A footer button and what it does.
#[derive(Component, Clone)]
struct FooterButton(Input);

pub fn plugin(app: &mut App) {
    app.insert_resource(ClearColor(BACKGROUND))
        .init_resource::<Drawn>()
        .add_systems(Startup, (load_fonts, spawn_camera))
        .add_systems(
            Update,
            (scale_to_window, touches, draw)
                .chain()
                .after(crate::kitchen::Systems)
                .run_if(resource_exists::<Screen>)
                .run_if(not(pass_shared::app::screenshot::capturing)),
        );
}

fn load_fonts(mut commands: Commands, mut fonts: ResMut<Assets<Font>>) {
    let bold = fonts.add(Font::from_bytes(
        include_bytes!("../../assets/fonts/DejaVuSansCondensed-Bold.ttf").to_vec(),
    ));
    let regular = fonts.add(Font::from_bytes(
        include_bytes!("../../assets/fonts/DejaVuSansCondensed.ttf").to_vec(),
    ));
    commands.insert_resource(Fonts { bold, regular });
}

fn spawn_camera(mut commands: Commands) {
    commands.spawn((Name::new("Camera"), Camera2d));
}

/// Keeps the 1920 × 1080 design filling the window.
fn scale_to_window(windows: Query<&Window>, mut scale: ResMut<UiScale>) {
    if let Some(window) = windows.iter().next() {
        let s = (window.width() / DESIGN_WIDTH).min(window.height() / DESIGN_HEIGHT);
        if s.is_finite() && s > 0.0 && (scale.0 - s).abs() > f32::EPSILON {
            scale.0 = s;
        }
    }
}

/// Touches and clicks on cards and footer buttons become inputs.
fn touches(
    cards: Query<(&Interaction, &CardSlot), Changed<Interaction>>,
    buttons: Query<(&Interaction, &FooterButton), Changed<Interaction>>,
    mut input: MessageWriter<Input>,
) {
    for (interaction, slot) in &cards {
        if *interaction == Interaction::Pressed {
            input.write(Input::Card(slot.0));
        }
    }
    for (interaction, button) in &buttons {
        if *interaction == Interaction::Pressed {
            input.write(button.0.clone());
        }
    }
}

/// Where things go, in design pixels.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    top: f32,
    column_width: f32,
    line_height: f32,
}

impl Geometry {
    fn of(screen: &Screen, banner: bool) -> Geometry {
        let top = STATUS_HEIGHT + if banner { BANNER_HEIGHT } else { 0.0 };
        let height = DESIGN_HEIGHT - top - FOOTER_HEIGHT - GAP;
        let grid = screen.board.grid;
        Geometry {
            top: top + GAP,
            column_width: DESIGN_WIDTH / grid.columns.max(1) as f32,
            line_height: height / grid.lines_per_column.max(1) as f32,
        }
    }

    /// A placed card's rectangle: x, y, width, height.
    fn card(&self, p: &Placed) -> [f32; 4] {
        [
            p.column as f32 * self.column_width + GAP / 2.0,
            self.top + p.top as f32 * self.line_height,
            self.column_width - GAP,
            p.height as f32 * self.line_height - 2.0,
        ]
    }
}

#[derive(Serialize)]
struct DumpedCard {
    slot: usize,
    key: String,
    number: String,
    band: Band,
    held: bool,
    rush: bool,
    /// The whole card, in window pixels: x, y, width, height.
    rect: [f32; 4],
    /// The header (the band's colour), in window pixels.
    header: [f32; 4],
}

#[derive(Serialize)]
struct Dump {
    station: String,
    view: &'static str,
    scale: f32,
    page: usize,
    pages: usize,
    hidden: usize,
    cut_off: bool,
    cards: Vec<DumpedCard>,
}

#[allow(clippy::too_many_arguments)]
fn draw(
    mut commands: Commands,
    screen: Res<Screen>,
    link: Res<LinkStatus>,
    fonts: Option<Res<Fonts>>,
    mut drawn: ResMut<Drawn>,
    roots: Query<Entity, With<Root>>,
    dump: Option<Res<LayoutDump>>,
    scale: Res<UiScale>,
) {
    let Some(fonts) = fonts else {
        return;
    };
    if drawn.version == Some(screen.version) && drawn.link.as_ref() == Some(&link.0) {
        return;
    }
    drawn.version = Some(screen.version);
    drawn.link = Some(link.0.clone());
    for root in &roots {
        commands.entity(root).despawn();
    }
    let banner = link.0.cut_off_since_ms.is_some();
    let geometry = Geometry::of(&screen, banner);
    let mut dumped = Vec::new();
    commands
        .spawn((
            Name::new("Kitchen screen"),
            Root,
            Node {
                width: Val::Px(DESIGN_WIDTH),
                height: Val::Px(DESIGN_HEIGHT),
                ..default()
            },
            BackgroundColor(BACKGROUND),
        ))
        .with_children(|root| {
            status_bar(root, &screen, &link, &fonts);
            if let Some(banner) = screen.cut_off_banner(&link.0) {
                cut_off_banner(root, banner, &fonts);
            }
            match screen.state.view {
                View::Tickets => {
                    for placed in screen.board.visible() {
                        let rect = geometry.card(placed);
                        card(root, placed, rect, &geometry, &screen, &fonts);
                        dumped.push(DumpedCard {
                            slot: placed.slot,
                            key: placed.card.key.clone(),
                            number: placed.card.number.clone(),
                            band: placed.card.band,
                            held: placed.card.held,
                            rush: placed.card.rush,
                            rect: rect.map(|v| v * scale.0),
                            header: [rect[0], rect[1], rect[2], geometry.line_height * 2.0]
                                .map(|v| v * scale.0),
                        });
                    }
                    if screen.board.total == 0 {
                        empty(root, &screen, &geometry, &fonts);
                    }
                }
                View::AllDay => all_day(root, &screen, &geometry, &fonts),
                View::Recall => recall(root, &screen, &geometry, &fonts),
            }
            footer(root, &screen, &fonts);
        });
    if let Some(dump) = dump {
        let layout = Dump {
            station: screen.settings.station.clone(),
            view: match screen.state.view {
                View::Tickets => "tickets",
                View::AllDay => "all_day",
                View::Recall => "recall",
            },
            scale: scale.0,
            page: screen.board.page,
            pages: screen.board.page_count(),
            hidden: screen.board.hidden(),
            cut_off: banner,
            cards: dumped,
        };
        match serde_json::to_string_pretty(&layout) {
            Ok(text) => {
                if let Err(e) = std::fs::write(&dump.0, text) {
                    warn!(path = %dump.0.display(), error = %e, "cannot write the layout dump");
                }
            }
            Err(e) => warn!(error = %e, "cannot serialise the layout dump"),
        }
    }
}

fn text(
    value: impl Into<String>,
    font: &Handle<Font>,
    size: f32,
    colour: Color,
) -> (Text, TextFont, TextColor, TextLayout) {
    (
        Text::new(value),
        TextFont {
            font: font.clone().into(),
            font_size: size.into(),
            font_smoothing: FontSmoothing::AntiAliased,
            ..default()
        },
        TextColor(colour),
        TextLayout::no_wrap(),
    )
}

/// A text in a box of its own that clips it: a long line never runs into its neighbour.
fn label(
    parent: &mut ChildSpawnerCommands,
    rect: [f32; 4],
    text: (Text, TextFont, TextColor, TextLayout),
) {
    let [x, y, w, h] = rect;
    parent.spawn(absolute(x, y, w, h)).with_children(|b| {
        b.spawn(text);
    });
}

fn absolute(x: f32, y: f32, w: f32, h: f32) -> Node {
    Node {
        position_type: PositionType::Absolute,
        left: Val::Px(x),
        top: Val::Px(y),
        width: Val::Px(w),
        height: Val::Px(h),
        overflow: Overflow::clip(),
        ..default()
    }
}

fn status_bar(root: &mut ChildSpawnerCommands, screen: &Screen, link: &LinkStatus, fonts: &Fonts) {
    let stations: Vec<String> = screen
        .settings
        .stations()
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if i == 0 {
                pass_shared::kitchen::board::station_label(s)
            } else {
                format!(
                    "+ {} (taken over)",
                    pass_shared::kitchen::board::station_label(s)
                )
            }
        })
        .collect();
    let connection = if link.0.connected {
        let n = link.0.peers.len();
        format!("CONNECTED  {n} peer{}", if n == 1 { "" } else { "s" })
    } else {
        "BROKER NOT REACHABLE".to_owned()
    };
    let unconfirmed = format!("{} unconfirmed", link.0.unconfirmed);
    let clock = screen.time_zone.clock_text(screen.now_ms);
    let low = screen.low_stock.notice();
    root.spawn((
        absolute(0.0, 0.0, DESIGN_WIDTH, STATUS_HEIGHT),
        BackgroundColor(BAR),
    ))
    .with_children(|bar| {
        bar.spawn((
            absolute(16.0, 8.0, if low.is_some() { 300.0 } else { 900.0 }, 48.0),
            text(stations.join("  "), &fonts.bold, 40.0, TEXT),
        ));
        if let Some(low) = &low {
            bar.spawn((
                absolute(330.0, 14.0, 590.0, 40.0),
                text(low, &fonts.bold, 28.0, ALERT),
            ));
        }
        bar.spawn((
            absolute(930.0, 14.0, 480.0, 40.0),
            text(
                connection,
                &fonts.bold,
                30.0,
                if link.0.connected {
                    STATION_DONE
                } else {
                    ALERT
                },
            ),
        ));
        bar.spawn((
            absolute(1420.0, 14.0, 330.0, 40.0),
            text(unconfirmed, &fonts.regular, 30.0, TEXT),
        ));
        bar.spawn((
            absolute(1770.0, 10.0, 140.0, 44.0),
            text(clock, &fonts.bold, 36.0, TEXT),
        ));
    });
}

fn cut_off_banner(root: &mut ChildSpawnerCommands, banner: String, fonts: &Fonts) {
    root.spawn((
        absolute(0.0, STATUS_HEIGHT, DESIGN_WIDTH, BANNER_HEIGHT),
        BackgroundColor(LATE),
    ))
    .with_children(|b| {
        b.spawn((
            absolute(16.0, 6.0, DESIGN_WIDTH - 32.0, 44.0),
            text(banner, &fonts.bold, 34.0, TEXT),
        ));
    });
}

fn card(
    root: &mut ChildSpawnerCommands,
    placed: &Placed,
    rect: [f32; 4],
    geometry: &Geometry,
    screen: &Screen,
    fonts: &Fonts,
) {
    let c = &placed.card;
    let selected = screen.state.selected.as_deref() == Some(c.key.as_str());
    let border = if selected {
        SELECTED_BORDER
    } else if c.rush {
        RUSH_BORDER
    } else {
        CARD_BODY
    };
    let lh = geometry.line_height;
    let header = header_colour(c);
    let header_text = if c.band == Band::Alert && !c.held {
        Color::BLACK
    } else {
        TEXT
    };
    let body = if c.held { HELD_BODY } else { CARD_BODY };
    let item_size = (lh * 0.70).min(30.0);
    let [x, y, w, h] = rect;
    root.spawn((
        absolute(x, y, w, h),
        Button,
        CardSlot(placed.slot),
        BackgroundColor(body),
        BorderColor::all(border),
    ))
    .insert(Node {
        border: UiRect::all(Val::Px(if selected || c.rush { 5.0 } else { 0.0 })),
        ..absolute(x, y, w, h)
    })
    .with_children(|card| {
        card.spawn((absolute(0.0, 0.0, w, lh * 2.0), BackgroundColor(header)))
            .with_children(|head| {
                let place = if c.taken_over {
                    format!(
                        "{}  {}",
                        c.place,
                        pass_shared::kitchen::board::station_label(&c.station)
                    )
                } else {
                    c.place.clone()
                };
                let size = (lh * 0.78).min(34.0);
                label(
                    head,
                    [8.0, 0.0, w - 64.0, lh],
                    text(
                        format!("{}  {}  {}", c.number, place, c.server),
                        &fonts.bold,
                        size,
                        header_text,
                    ),
                );
                // The slot number (the bump bar's digit) in a box of its own.
                head.spawn((
                    absolute(w - 50.0, 3.0, 44.0, lh - 6.0),
                    BackgroundColor(SLOT_BOX),
                ))
                .with_children(|slot| {
                    slot.spawn((
                        absolute(0.0, 0.0, 44.0, lh - 6.0),
                        text(placed.slot.to_string(), &fonts.bold, size * 0.9, TEXT),
                    ))
                    .insert(TextLayout::justify(Justify::Center).with_no_wrap());
                });
                let mut status = c.status_text();
                if c.addition {
                    status.push_str("  ADD-ON");
                }
                if c.recalls > 0 {
                    status.push_str("  RECALLED");
                }
                label(
                    head,
                    [8.0, lh, w - 16.0, lh],
                    text(status, &fonts.bold, (lh * 0.74).min(32.0), header_text),
                );
            });
        for (i, line) in c.lines.iter().enumerate() {
            let top = lh * (2.0 + i as f32);
            let (colour, font, background) = match line.style {
                LineStyle::Item => (TEXT, &fonts.bold, None),
                LineStyle::Addition => (ADDITION, &fonts.bold, None),
                LineStyle::Forced => (FORCED, &fonts.bold, None),
                LineStyle::Optional => (TEXT, &fonts.regular, None),
                LineStyle::Note => (NOTE, &fonts.regular, None),
                LineStyle::Allergy => (TEXT, &fonts.bold, Some(ALLERGY_BG)),
                LineStyle::Voided | LineStyle::Done | LineStyle::More => {
                    (DIM, &fonts.regular, None)
                }
                LineStyle::StationCooking => (STATION_COOKING, &fonts.bold, None),
                LineStyle::StationDone => (STATION_DONE, &fonts.bold, None),
            };
            let mut row = card.spawn(absolute(0.0, top, w, lh));
            if let Some(bg) = background {
                row.insert(BackgroundColor(bg));
            }
            row.with_children(|row| {
                let mut t = row.spawn((
                    absolute(8.0, 0.0, w - 16.0, lh),
                    text(line.text.clone(), font, item_size, colour),
                ));
                if line.style == LineStyle::Voided {
                    t.insert(Strikethrough);
                }
            });
        }
    });
}

fn empty(root: &mut ChildSpawnerCommands, screen: &Screen, geometry: &Geometry, fonts: &Fonts) {
    let message = if screen.is_expo() {
        "No orders waiting at expo"
    } else {
        "No open tickets"
    };
    root.spawn((
        absolute(0.0, geometry.top + 300.0, DESIGN_WIDTH, 80.0),
        text(message, &fonts.bold, 56.0, DIM),
    ))
    .insert(TextLayout::justify(Justify::Center));
}

fn all_day(root: &mut ChildSpawnerCommands, screen: &Screen, geometry: &Geometry, fonts: &Fonts) {
    root.spawn((
        absolute(40.0, geometry.top, 1200.0, 60.0),
        text("ALL DAY", &fonts.bold, 48.0, ALERT),
    ));
    let rows = 18usize;
    for (i, (name, n)) in screen.all_day.iter().enumerate().take(rows * 2) {
        let (col, row) = (i / rows, i % rows);
        root.spawn((
            absolute(
                40.0 + col as f32 * 900.0,
                geometry.top + 70.0 + row as f32 * 46.0,
                880.0,
                44.0,
            ),
            text(format!("{n:>3}  {name}"), &fonts.bold, 38.0, TEXT),
        ));
    }
}

fn recall(root: &mut ChildSpawnerCommands, screen: &Screen, geometry: &Geometry, fonts: &Fonts) {
    root.spawn((
        absolute(40.0, geometry.top, 1600.0, 60.0),
        text(
            "RECALL: bumped in the last 15 minutes (digit or Recall to bring back)",
            &fonts.bold,
            40.0,
            ALERT,
        ),
    ));
    for (i, t) in screen.recall.iter().enumerate().take(18) {
        let highlighted = i == screen.state.recall_row;
        let bumped = t
            .bumped_ms
            .map(|ms| screen.time_zone.clock_text(ms))
            .unwrap_or_default();
        let items: Vec<String> = t
            .items
            .iter()
            .map(|i| format!("{} {}", i.qty, i.name))
            .collect();
        let mut row = root.spawn((
            absolute(40.0, geometry.top + 70.0 + i as f32 * 46.0, 1840.0, 44.0),
            text(
                format!(
                    "{:>2}  {}  {}  bumped {bumped}  {}",
                    i + 1,
                    t.number,
                    t.table
                        .as_deref()
                        .map(|t| format!("T{t}"))
                        .unwrap_or_default(),
                    items.join(", ")
                ),
                &fonts.bold,
                36.0,
                if highlighted { ALERT } else { TEXT },
            ),
        ));
        if highlighted {
            row.insert(BackgroundColor(BUTTON));
        }
    }
}

fn footer(root: &mut ChildSpawnerCommands, screen: &Screen, fonts: &Fonts) {
    let y = DESIGN_HEIGHT - FOOTER_HEIGHT;
    let board = &screen.board;
    let mut info = format!("Page {}/{}", board.page + 1, board.page_count());
    if board.hidden() > 0 {
        info.push_str(&format!("  {} more on other pages", board.hidden()));
    }
    if let Some(ms) = screen.median_last_hour_ms {
        info.push_str(&format!(
            "  median {} last hour",
            pass_shared::kitchen::board::timer_text(ms)
        ));
    }
    if let Some(message) = &screen.message {
        info = message.clone();
    }
    let top: Vec<String> = screen
        .all_day
        .iter()
        .take(3)
        .map(|(name, n)| format!("{n} {name}"))
        .collect();
    let mut buttons: Vec<(&str, Input)> = vec![
        ("BUMP", Input::Key(KeyAction::Bump)),
        ("RECALL", Input::Key(KeyAction::Recall)),
        ("ALL DAY", Input::Key(KeyAction::AllDay)),
        ("PREV", Input::Key(KeyAction::PagePrevious)),
        ("NEXT", Input::Key(KeyAction::PageNext)),
    ];
    if screen.state.view != View::Tickets {
        buttons.push(("BACK", Input::Key(KeyAction::Back)));
    } else if screen.state.undoable_rush(screen.now_ms).is_some() {
        buttons.push(("UNDO RUSH", Input::Key(KeyAction::Rush)));
    } else if !screen.is_expo() {
        buttons.push(("RUSH", Input::Key(KeyAction::Rush)));
    }
    buttons.push(("SETTINGS", Input::OpenSettings));
    let width = 128.0;
    let start = DESIGN_WIDTH - (width + 8.0) * buttons.len() as f32;
    root.spawn((
        absolute(0.0, y, DESIGN_WIDTH, FOOTER_HEIGHT),
        BackgroundColor(BAR),
    ))
    .with_children(|bar| {
        label(
            bar,
            [16.0, 14.0, 600.0, 40.0],
            text(
                info,
                &fonts.bold,
                28.0,
                if screen.message.is_some() { LATE } else { TEXT },
            ),
        );
        if !top.is_empty() && screen.state.view == View::Tickets {
            label(
                bar,
                [630.0, 18.0, start - 650.0, 36.0],
                text(
                    format!("All day: {}", top.join(", ")),
                    &fonts.regular,
                    24.0,
                    DIM,
                ),
            );
        }
        for (i, (name, input)) in buttons.into_iter().enumerate() {
            bar.spawn((
                absolute(start + i as f32 * (width + 8.0), 6.0, width, 52.0),
                Button,
                FooterButton(input),
                BackgroundColor(BUTTON),
            ))
            .with_children(|b| {
                b.spawn((
                    absolute(0.0, 12.0, width, 36.0),
                    text(name, &fonts.bold, 22.0, TEXT),
                ))
                .insert(TextLayout::justify(Justify::Center).with_no_wrap());
            });
        }
    });
}
