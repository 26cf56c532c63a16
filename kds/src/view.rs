//! Draws the [`Screen`] with bevy_ui: a status bar, the red "cut off" banner when no peer is
//! heard, the cards of the page shown (or the all-day counts, or the recall list), and a footer
//! with touch buttons. Only this module knows pixels and colours; what is written where comes
//! from `pass_shared::kitchen`.
//!
//! The screen is laid out for a 1080p monitor (1920 × 1080 logical pixels) and scaled to the
//! window with `UiScale`, so a 4K monitor shows the same layout twice as sharp. It is redrawn
//! only when the screen's version or the link status changed, and then in place: the screen is
//! described as a tree of [`Piece`]s, compared with the tree drawn last, and only the entities
//! whose piece changed are touched (a timer ticking over rewrites one text per card; nothing is
//! despawned unless its place in the tree is gone).

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

/// What is on screen now: the version and link it was drawn for, the description it was drawn
/// from and the entities that show it.
#[derive(Resource, Default)]
struct Drawn {
    version: Option<u64>,
    link: Option<pass_shared::device::Link>,
    tree: Option<(Piece, Built)>,
}

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

/// The screen is boxes and text, all square to the pixel grid, and glyphs come antialiased from
/// their atlases: multisampling would add nothing but a fourfold colour target to fill.
fn spawn_camera(mut commands: Commands) {
    commands.spawn((Name::new("Camera"), Camera2d, Msaa::Off));
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

/// One UI node as the screen wants it: an absolutely placed box, maybe with a background, a
/// border, a text, and what touching it does.
#[derive(Debug, Clone, PartialEq)]
struct Piece {
    /// x, y, width, height in design pixels, relative to the parent.
    rect: [f32; 4],
    border: Option<(f32, Color)>,
    background: Option<Color>,
    text: Option<Label>,
    role: Role,
    children: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq)]
struct Label {
    value: String,
    bold: bool,
    size: f32,
    colour: Color,
    centred: bool,
    struck: bool,
}

/// What a touch on a piece does.
#[derive(Debug, Clone, PartialEq)]
enum Role {
    Nothing,
    Card(usize),
    Footer(Input),
}

/// The entities drawn for a piece and its children.
struct Built {
    entity: Entity,
    children: Vec<Built>,
}

impl Piece {
    fn boxed(rect: [f32; 4]) -> Piece {
        Piece {
            rect,
            border: None,
            background: None,
            text: None,
            role: Role::Nothing,
            children: Vec::new(),
        }
    }

    fn filled(rect: [f32; 4], colour: Color) -> Piece {
        Piece {
            background: Some(colour),
            ..Piece::boxed(rect)
        }
    }

    fn text(rect: [f32; 4], label: Label) -> Piece {
        Piece {
            text: Some(label),
            ..Piece::boxed(rect)
        }
    }

    /// A text in a box of its own that clips it: a long line never runs into its neighbour.
    fn clipped(rect: [f32; 4], label: Label) -> Piece {
        let [_, _, w, h] = rect;
        Piece {
            children: vec![Piece::text([0.0, 0.0, w, h], label)],
            ..Piece::boxed(rect)
        }
    }

    fn with(mut self, child: Piece) -> Piece {
        self.children.push(child);
        self
    }

    /// The pieces' own components (not its children).
    fn node(&self) -> Node {
        let [x, y, w, h] = self.rect;
        Node {
            position_type: PositionType::Absolute,
            left: Val::Px(x),
            top: Val::Px(y),
            width: Val::Px(w),
            height: Val::Px(h),
            overflow: Overflow::clip(),
            border: UiRect::all(Val::Px(self.border.map(|(w, _)| w).unwrap_or(0.0))),
            ..default()
        }
    }
}

/// The type sizes the screen draws in. Each font at each size is rasterised into glyph atlases of
/// its own (a megabyte each, kept twice: in memory and on the GPU), so every size asked for is
/// drawn at the largest of these that is at most a pixel bigger: a few sizes, a few atlases.
const TYPE_SCALE: [f32; 6] = [22.0, 26.0, 30.0, 36.0, 48.0, 56.0];

/// The type size `size` is drawn at (see [`TYPE_SCALE`]).
fn type_size(size: f32) -> f32 {
    TYPE_SCALE
        .iter()
        .rev()
        .copied()
        .find(|step| *step <= size + 1.0)
        .unwrap_or(TYPE_SCALE[0])
}

impl Label {
    fn new(value: impl Into<String>, bold: bool, size: f32, colour: Color) -> Label {
        Label {
            value: value.into(),
            bold,
            size: type_size(size),
            colour,
            centred: false,
            struck: false,
        }
    }

    fn centred(mut self) -> Label {
        self.centred = true;
        self
    }

    fn bundle(&self, fonts: &Fonts) -> (Text, TextFont, TextColor, TextLayout) {
        let font = if self.bold {
            &fonts.bold
        } else {
            &fonts.regular
        };
        let layout = if self.centred {
            TextLayout::justify(Justify::Center).with_no_wrap()
        } else {
            TextLayout::no_wrap()
        };
        (
            Text::new(self.value.clone()),
            TextFont {
                font: font.clone().into(),
                font_size: self.size.into(),
                font_smoothing: FontSmoothing::AntiAliased,
                ..default()
            },
            TextColor(self.colour),
            layout,
        )
    }
}

/// Spawns `piece` and its children under `parent`.
fn spawn(commands: &mut Commands, parent: Option<Entity>, piece: &Piece, fonts: &Fonts) -> Built {
    let mut e = commands.spawn(piece.node());
    if let Some(parent) = parent {
        e.insert(ChildOf(parent));
    }
    if let Some(colour) = piece.background {
        e.insert(BackgroundColor(colour));
    }
    if let Some((_, colour)) = piece.border {
        e.insert(BorderColor::all(colour));
    }
    if let Some(label) = &piece.text {
        e.insert(label.bundle(fonts));
        if label.struck {
            e.insert(Strikethrough);
        }
    }
    match &piece.role {
        Role::Nothing => {}
        Role::Card(slot) => {
            e.insert((Button, CardSlot(*slot)));
        }
        Role::Footer(input) => {
            e.insert((Button, FooterButton(input.clone())));
        }
    }
    let entity = e.id();
    let children = piece
        .children
        .iter()
        .map(|child| spawn(commands, Some(entity), child, fonts))
        .collect();
    Built { entity, children }
}

/// Brings the entities `built` for `old` to show `new`, touching only what differs.
fn update(
    commands: &mut Commands,
    parent: Option<Entity>,
    old: &Piece,
    built: &mut Built,
    new: &Piece,
    fonts: &Fonts,
) {
    if old == new {
        return;
    }
    if old.role != new.role || old.text.is_some() != new.text.is_some() {
        commands.entity(built.entity).despawn();
        *built = spawn(commands, parent, new, fonts);
        return;
    }
    let mut e = commands.entity(built.entity);
    if old.rect != new.rect || old.border.map(|b| b.0) != new.border.map(|b| b.0) {
        e.insert(new.node());
    }
    if old.background != new.background {
        match new.background {
            Some(colour) => e.insert(BackgroundColor(colour)),
            None => e.remove::<BackgroundColor>(),
        };
    }
    if old.border.map(|b| b.1) != new.border.map(|b| b.1) {
        match new.border {
            Some((_, colour)) => e.insert(BorderColor::all(colour)),
            None => e.remove::<BorderColor>(),
        };
    }
    if let (Some(was), Some(now)) = (&old.text, &new.text) {
        if was.value != now.value {
            e.insert(Text::new(now.value.clone()));
        }
        if (was.bold, was.size, was.colour, was.centred)
            != (now.bold, now.size, now.colour, now.centred)
        {
            let (_, font, colour, layout) = now.bundle(fonts);
            e.insert((font, colour, layout));
        }
        if was.struck != now.struck {
            if now.struck {
                e.insert(Strikethrough);
            } else {
                e.remove::<Strikethrough>();
            }
        }
    }
    let entity = built.entity;
    let kept = old.children.len().min(new.children.len());
    for (i, child) in new.children.iter().enumerate() {
        if i < kept {
            update(
                commands,
                Some(entity),
                &old.children[i],
                &mut built.children[i],
                child,
                fonts,
            );
        } else {
            let spawned = spawn(commands, Some(entity), child, fonts);
            built.children.push(spawned);
        }
    }
    for gone in built.children.drain(new.children.len()..) {
        commands.entity(gone.entity).despawn();
    }
}

fn draw(
    mut commands: Commands,
    screen: Res<Screen>,
    link: Res<LinkStatus>,
    fonts: Option<Res<Fonts>>,
    mut drawn: ResMut<Drawn>,
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
    let banner = link.0.cut_off_since_ms.is_some();
    let geometry = Geometry::of(&screen, banner);
    let mut dumped = Vec::new();
    let mut root = Piece::filled([0.0, 0.0, DESIGN_WIDTH, DESIGN_HEIGHT], BACKGROUND)
        .with(status_bar(&screen, &link))
        .with(match screen.cut_off_banner(&link.0) {
            Some(banner) => cut_off_banner(banner),
            // An empty box keeps every later piece in its place in the tree.
            None => Piece::boxed([0.0, 0.0, 0.0, 0.0]),
        });
    match screen.state.view {
        View::Tickets => {
            for placed in screen.board.visible() {
                let rect = geometry.card(placed);
                root.children.push(card(placed, rect, &geometry, &screen));
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
                root.children.push(empty(&screen, &geometry));
            }
        }
        View::AllDay => root.children.extend(all_day(&screen, &geometry)),
        View::Recall => root.children.extend(recall(&screen, &geometry)),
    }
    // The footer first among the children would move with every card count; it is drawn over
    // nothing, so its place in the tree is fixed instead: second.
    root.children.insert(1, footer(&screen));
    match drawn.tree.take() {
        Some((old, mut built)) => {
            update(&mut commands, None, &old, &mut built, &root, &fonts);
            drawn.tree = Some((root, built));
        }
        None => {
            let built = spawn(&mut commands, None, &root, &fonts);
            commands
                .entity(built.entity)
                .insert(Name::new("Kitchen screen"));
            drawn.tree = Some((root, built));
        }
    }
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

fn status_bar(screen: &Screen, link: &LinkStatus) -> Piece {
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
    let station_width = if low.is_some() { 300.0 } else { 900.0 };
    let connection_colour = if link.0.connected {
        STATION_DONE
    } else {
        ALERT
    };
    Piece::filled([0.0, 0.0, DESIGN_WIDTH, STATUS_HEIGHT], BAR)
        .with(Piece::text(
            [16.0, 8.0, station_width, 48.0],
            Label::new(stations.join("  "), true, 40.0, TEXT),
        ))
        .with(Piece::text(
            [930.0, 14.0, 480.0, 40.0],
            Label::new(connection, true, 30.0, connection_colour),
        ))
        .with(Piece::text(
            [1420.0, 14.0, 330.0, 40.0],
            Label::new(unconfirmed, false, 30.0, TEXT),
        ))
        .with(Piece::text(
            [1770.0, 10.0, 140.0, 44.0],
            Label::new(clock, true, 36.0, TEXT),
        ))
        .with(match &low {
            Some(low) => Piece::text(
                [330.0, 14.0, 590.0, 40.0],
                Label::new(low.clone(), true, 28.0, ALERT),
            ),
            None => Piece::boxed([0.0, 0.0, 0.0, 0.0]),
        })
}

fn cut_off_banner(banner: String) -> Piece {
    Piece::filled([0.0, STATUS_HEIGHT, DESIGN_WIDTH, BANNER_HEIGHT], LATE).with(Piece::text(
        [16.0, 6.0, DESIGN_WIDTH - 32.0, 44.0],
        Label::new(banner, true, 34.0, TEXT),
    ))
}

fn card(placed: &Placed, rect: [f32; 4], geometry: &Geometry, screen: &Screen) -> Piece {
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
    let header_text = if c.band == Band::Alert && !c.held {
        Color::BLACK
    } else {
        TEXT
    };
    let body = if c.held { HELD_BODY } else { CARD_BODY };
    let item_size = (lh * 0.70).min(30.0);
    let [_, _, w, _] = rect;
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
    let mut status = c.status_text();
    if c.addition {
        status.push_str("  ADD-ON");
    }
    if c.recalls > 0 {
        status.push_str("  RECALLED");
    }
    let header = Piece::filled([0.0, 0.0, w, lh * 2.0], header_colour(c))
        .with(Piece::clipped(
            [8.0, 0.0, w - 64.0, lh],
            Label::new(
                format!("{}  {}  {}", c.number, place, c.server),
                true,
                size,
                header_text,
            ),
        ))
        // The slot number (the bump bar's digit) in a box of its own.
        .with(
            Piece::filled([w - 50.0, 3.0, 44.0, lh - 6.0], SLOT_BOX).with(Piece::text(
                [0.0, 0.0, 44.0, lh - 6.0],
                Label::new(placed.slot.to_string(), true, size * 0.9, TEXT).centred(),
            )),
        )
        .with(Piece::clipped(
            [8.0, lh, w - 16.0, lh],
            Label::new(status, true, (lh * 0.74).min(32.0), header_text),
        ));
    let mut piece = Piece {
        border: Some((if selected || c.rush { 5.0 } else { 0.0 }, border)),
        role: Role::Card(placed.slot),
        ..Piece::filled(rect, body)
    }
    .with(header);
    for (i, line) in c.lines.iter().enumerate() {
        let top = lh * (2.0 + i as f32);
        let (colour, bold, background) = match line.style {
            LineStyle::Item => (TEXT, true, None),
            LineStyle::Addition => (ADDITION, true, None),
            LineStyle::Forced => (FORCED, true, None),
            LineStyle::Optional => (TEXT, false, None),
            LineStyle::Note => (NOTE, false, None),
            LineStyle::Allergy => (TEXT, true, Some(ALLERGY_BG)),
            LineStyle::Voided | LineStyle::Done | LineStyle::More => (DIM, false, None),
            LineStyle::StationCooking => (STATION_COOKING, true, None),
            LineStyle::StationDone => (STATION_DONE, true, None),
        };
        let mut label = Label::new(line.text.clone(), bold, item_size, colour);
        label.struck = line.style == LineStyle::Voided;
        piece.children.push(
            Piece {
                background,
                ..Piece::boxed([0.0, top, w, lh])
            }
            .with(Piece::text([8.0, 0.0, w - 16.0, lh], label)),
        );
    }
    piece
}

fn empty(screen: &Screen, geometry: &Geometry) -> Piece {
    let message = if screen.is_expo() {
        "No orders waiting at expo"
    } else {
        "No open tickets"
    };
    Piece::text(
        [0.0, geometry.top + 300.0, DESIGN_WIDTH, 80.0],
        Label::new(message, true, 56.0, DIM).centred(),
    )
}

fn all_day(screen: &Screen, geometry: &Geometry) -> Vec<Piece> {
    let rows = 18usize;
    let mut pieces = vec![Piece::text(
        [40.0, geometry.top, 1200.0, 60.0],
        Label::new("ALL DAY", true, 48.0, ALERT),
    )];
    for (i, (name, n)) in screen.all_day.iter().enumerate().take(rows * 2) {
        let (col, row) = (i / rows, i % rows);
        pieces.push(Piece::text(
            [
                40.0 + col as f32 * 900.0,
                geometry.top + 70.0 + row as f32 * 46.0,
                880.0,
                44.0,
            ],
            Label::new(format!("{n:>3}  {name}"), true, 38.0, TEXT),
        ));
    }
    pieces
}

fn recall(screen: &Screen, geometry: &Geometry) -> Vec<Piece> {
    let mut pieces = vec![Piece::text(
        [40.0, geometry.top, 1600.0, 60.0],
        Label::new(
            "RECALL: bumped in the last 15 minutes (digit or Recall to bring back)",
            true,
            40.0,
            ALERT,
        ),
    )];
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
        let text = format!(
            "{:>2}  {}  {}  bumped {bumped}  {}",
            i + 1,
            t.number,
            t.table
                .as_deref()
                .map(|t| format!("T{t}"))
                .unwrap_or_default(),
            items.join(", ")
        );
        pieces.push(Piece {
            background: highlighted.then_some(BUTTON),
            ..Piece::text(
                [40.0, geometry.top + 70.0 + i as f32 * 46.0, 1840.0, 44.0],
                Label::new(text, true, 36.0, if highlighted { ALERT } else { TEXT }),
            )
        });
    }
    pieces
}

fn footer(screen: &Screen) -> Piece {
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
    let info_colour = if screen.message.is_some() { LATE } else { TEXT };
    let mut bar = Piece::filled([0.0, y, DESIGN_WIDTH, FOOTER_HEIGHT], BAR)
        .with(Piece::clipped(
            [16.0, 14.0, 600.0, 40.0],
            Label::new(info, true, 28.0, info_colour),
        ))
        .with(if !top.is_empty() && screen.state.view == View::Tickets {
            Piece::clipped(
                [630.0, 18.0, start - 650.0, 36.0],
                Label::new(format!("All day: {}", top.join(", ")), false, 24.0, DIM),
            )
        } else {
            Piece::boxed([0.0, 0.0, 0.0, 0.0])
        });
    for (i, (name, input)) in buttons.into_iter().enumerate() {
        bar.children.push(
            Piece {
                role: Role::Footer(input),
                ..Piece::filled([start + i as f32 * (width + 8.0), 6.0, width, 52.0], BUTTON)
            }
            .with(Piece::text(
                [0.0, 12.0, width, 36.0],
                Label::new(name, true, 22.0, TEXT).centred(),
            )),
        );
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_size_is_on_the_scale_and_at_most_a_pixel_bigger_than_asked() {
        let mut drawn = std::collections::BTreeSet::new();
        for tenth in 100..=800 {
            let asked = tenth as f32 / 10.0;
            let size = type_size(asked);
            assert!(TYPE_SCALE.contains(&size), "{asked} drawn at {size}");
            assert!(
                size <= asked + 1.0 || size == TYPE_SCALE[0],
                "{asked} drawn at {size}"
            );
            drawn.insert(size.to_bits());
        }
        assert_eq!(drawn.len(), TYPE_SCALE.len());
        // The sizes a 1080p station screen asks for (26 lines a column, with and without the
        // cut-off banner) come down to four.
        let asked = [
            28.3, 25.5, 26.9, 25.4, 26.7, 24.0, 25.3, 23.9, 40.0, 30.0, 36.0, 28.0, 22.0,
        ];
        let sizes: std::collections::BTreeSet<u32> =
            asked.iter().map(|s| type_size(*s).to_bits()).collect();
        assert_eq!(sizes.len(), 4, "{asked:?}");
    }
}
