//! The menu: what can be ordered, for how much, how it is taxed, where it is cooked and what it
//! is made of.
//!
//! # Model
//!
//! - **Stations** are the kitchen screens items route to (`grill`, `fry`, `saute_cold`, `bar`…). A
//!   station of kind `expo` sees every item of every order; items are never routed to it.
//! - **Categories** group items for the terminal and give their items default routing and tax.
//! - **Items** have a price ([`Money`]), a tax class, the allergens they contain (the 14 major
//!   allergens, [`Allergen`]), a prep-time target in seconds, one or more stations, modifier
//!   groups and a recipe.
//! - **Modifier groups** are *forced* (choose exactly one: doneness, dressing) or *optional*
//!   (between `min` and `max` choices: extras). A **modifier** may change the price and the
//!   recipe: add ingredients ("add bacon"), remove them ("no cheese") or replace one with another
//!   ("gluten-free bun").
//! - **Ingredients** have a unit (g, kg, ml, l, each) and may carry allergens. Recipes give
//!   quantities in the ingredient's unit; stock is counted in the same unit.
//! - **Tax rates and classes** are described in [`super::tax`].
//!
//! Everything is validated once, by [`Menu::from_toml_str`]; the types below cannot hold a
//! reference to something that does not exist.
//!
//! # The menu file
//!
//! A menu is a TOML document; `assets/menu.toml` is a complete, commented example. Every thing
//! is a table whose **key is its id** (`[items.classic_burger]`), so importing the same file
//! twice gives equal menus, and the ids stay stable across edits. Ids are 1 to 64 characters of
//! `a-z`, `0-9`, `_` and `-`. Sections, all optional:
//!
//! ```toml
//! name = "Harbour Street Kitchen"
//!
//! [tax_rates.sales]            # percent as a string or integer; inclusive defaults to false
//! name = "Sales tax"
//! percent = "8.875"
//! inclusive = false
//!
//! [tax_classes.food]           # rates for every order type, and optional overrides for
//! name = "Food"                # dine_in, takeout, delivery and online
//! rates = ["sales"]
//! takeout = ["sales"]
//!
//! [stations.grill]             # kind: "prep" (default) or "expo"
//! name = "Grill"
//!
//! [categories.burgers]         # stations and tax_class: defaults for its items
//! name = "Burgers"
//! stations = ["grill"]
//! tax_class = "food"
//!
//! [ingredients.beef_patty]     # unit: g, kg, ml, l or each; allergens optional
//! name = "Beef patty 180 g"
//! unit = "each"
//!
//! [modifiers.add_bacon]        # price: a delta, may be negative, default "0.00"
//! name = "Add bacon"
//! price = "2.00"
//! add = { bacon = "2" }        # also: remove = ["cheddar"], replace = { brioche_bun = "gf_bun" }
//!
//! [modifier_groups.burger_doneness]
//! name = "Doneness"
//! kind = "forced"              # exactly one; or "optional" with min (default 0) and max
//! modifiers = ["rare", "medium_rare", "medium", "well_done"]   # (max defaults to all of them)
//!
//! [items.classic_burger]
//! name = "Classic Burger"
//! category = "burgers"
//! price = "14.50"              # always a string: never a float
//! allergens = ["gluten", "milk", "sesame"]    # required, [] when there are none
//! prep_secs = 600
//! modifier_groups = ["burger_doneness", "burger_extras"]
//! recipe = { beef_patty = "1", brioche_bun = "1", cheddar = "1" }
//! # optional: tax_class, stations (override the category's), description
//! ```
//!
//! A file is refused whole at the first mistake, with its line and place: a misspelt field
//! (*line 42: items.classic_burger: unknown field \`pirce\`, expected one of …*), a price that is
//! not an amount, a reference to something not defined (naming the referrer and the missing id),
//! an item whose declared allergens miss one of its ingredients', a modifier that removes an
//! ingredient its item does not have. The caller reads the file and prefixes its name.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::id::string_id;
use super::money::{Money, MoneyError};
use super::order::OrderType;
use super::tax::{TaxClass, TaxClassId, TaxError, TaxRate, TaxRateId, TaxableLine};

string_id!(
    /// An item's id: its key in the menu file (`[items.classic_burger]`).
    ItemId
);
string_id!(
    /// A category's id (`[categories.burgers]`).
    CategoryId
);
string_id!(
    /// A station's id (`[stations.grill]`).
    StationId
);
string_id!(
    /// A modifier group's id (`[modifier_groups.burger_doneness]`).
    ModifierGroupId
);
string_id!(
    /// A modifier's id (`[modifiers.add_bacon]`).
    ModifierId
);
string_id!(
    /// An ingredient's id (`[ingredients.beef_patty]`).
    IngredientId
);

/// The largest menu file accepted, in bytes.
pub const MAX_MENU_BYTES: usize = 1024 * 1024;

/// The largest quantity of one ingredient in a recipe or modifier.
const MAX_QUANTITY: Decimal = Decimal::from_parts(1_000_000, 0, 0, false, 0);

/// The 14 major allergens that must be declared (EU and UK food law).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Allergen {
    Celery,
    /// Cereals containing gluten (wheat, rye, barley, oats).
    Gluten,
    Crustaceans,
    Eggs,
    Fish,
    Lupin,
    Milk,
    Molluscs,
    Mustard,
    /// Tree nuts (almonds, hazelnuts, walnuts, cashews…).
    TreeNuts,
    Peanuts,
    Sesame,
    Soy,
    /// Sulphur dioxide and sulphites.
    Sulphites,
}

impl Allergen {
    pub const ALL: [Allergen; 14] = [
        Allergen::Celery,
        Allergen::Gluten,
        Allergen::Crustaceans,
        Allergen::Eggs,
        Allergen::Fish,
        Allergen::Lupin,
        Allergen::Milk,
        Allergen::Molluscs,
        Allergen::Mustard,
        Allergen::TreeNuts,
        Allergen::Peanuts,
        Allergen::Sesame,
        Allergen::Soy,
        Allergen::Sulphites,
    ];

    /// The name used in menu files and on the wire (`tree_nuts`).
    pub fn key(self) -> &'static str {
        match self {
            Allergen::Celery => "celery",
            Allergen::Gluten => "gluten",
            Allergen::Crustaceans => "crustaceans",
            Allergen::Eggs => "eggs",
            Allergen::Fish => "fish",
            Allergen::Lupin => "lupin",
            Allergen::Milk => "milk",
            Allergen::Molluscs => "molluscs",
            Allergen::Mustard => "mustard",
            Allergen::TreeNuts => "tree_nuts",
            Allergen::Peanuts => "peanuts",
            Allergen::Sesame => "sesame",
            Allergen::Soy => "soy",
            Allergen::Sulphites => "sulphites",
        }
    }
}

impl fmt::Display for Allergen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Allergen::Gluten => "cereals containing gluten",
            Allergen::TreeNuts => "tree nuts",
            Allergen::Sulphites => "sulphur dioxide and sulphites",
            other => other.key(),
        })
    }
}

/// The unit an ingredient is counted in, in recipes and in stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Unit {
    #[serde(rename = "g")]
    Gram,
    #[serde(rename = "kg")]
    Kilogram,
    #[serde(rename = "ml")]
    Millilitre,
    #[serde(rename = "l")]
    Litre,
    #[serde(rename = "each")]
    Each,
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unit::Gram => "g",
            Unit::Kilogram => "kg",
            Unit::Millilitre => "ml",
            Unit::Litre => "l",
            Unit::Each => "each",
        })
    }
}

/// What a station's screen shows.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum StationKind {
    /// Cooks the items routed to it.
    #[default]
    Prep,
    /// Sees every item of every order and hands plates to the floor.
    Expo,
}

/// A kitchen station.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Station {
    id: StationId,
    name: String,
    kind: StationKind,
}

impl Station {
    pub fn id(&self) -> &StationId {
        &self.id
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn kind(&self) -> StationKind {
        self.kind
    }
}

/// A group of items on the terminal, with default routing and tax for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    id: CategoryId,
    name: String,
    stations: Vec<StationId>,
    tax_class: Option<TaxClassId>,
}

impl Category {
    pub fn id(&self) -> &CategoryId {
        &self.id
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Where its items go unless they say otherwise (possibly none).
    pub fn stations(&self) -> &[StationId] {
        &self.stations
    }
    /// Its items' tax class unless they say otherwise.
    pub fn tax_class(&self) -> Option<&TaxClassId> {
        self.tax_class.as_ref()
    }
}

/// Something recipes use and stock counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingredient {
    id: IngredientId,
    name: String,
    unit: Unit,
    allergens: BTreeSet<Allergen>,
}

impl Ingredient {
    pub fn id(&self) -> &IngredientId {
        &self.id
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn unit(&self) -> Unit {
        self.unit
    }
    pub fn allergens(&self) -> &BTreeSet<Allergen> {
        &self.allergens
    }
}

/// A choice a guest can make about an item, with its price and recipe effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modifier {
    id: ModifierId,
    name: String,
    price_delta: Money,
    add: BTreeMap<IngredientId, Decimal>,
    remove: BTreeSet<IngredientId>,
    replace: BTreeMap<IngredientId, IngredientId>,
}

impl Modifier {
    pub fn id(&self) -> &ModifierId {
        &self.id
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Added to the item's unit price (may be negative or zero).
    pub fn price_delta(&self) -> Money {
        self.price_delta
    }
    /// Ingredients added, with quantities per item.
    pub fn adds(&self) -> &BTreeMap<IngredientId, Decimal> {
        &self.add
    }
    /// Ingredients taken out of the recipe.
    pub fn removes(&self) -> &BTreeSet<IngredientId> {
        &self.remove
    }
    /// Ingredients swapped for another (same unit, same quantity).
    pub fn replaces(&self) -> &BTreeMap<IngredientId, IngredientId> {
        &self.replace
    }
    fn changes_recipe(&self) -> bool {
        !self.remove.is_empty() || !self.replace.is_empty()
    }
}

/// How many modifiers of a group a line must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChoiceRule {
    /// Exactly one (doneness, dressing). Tickets show it as a forced choice.
    Forced,
    /// Between `min` and `max` (extras).
    Optional { min: u32, max: u32 },
}

/// A set of modifiers offered together, with a rule on how many to choose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModifierGroup {
    id: ModifierGroupId,
    name: String,
    rule: ChoiceRule,
    modifiers: Vec<ModifierId>,
}

impl ModifierGroup {
    pub fn id(&self) -> &ModifierGroupId {
        &self.id
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn rule(&self) -> ChoiceRule {
        self.rule
    }
    pub fn is_forced(&self) -> bool {
        self.rule == ChoiceRule::Forced
    }
    /// The fewest modifiers a line must choose from this group.
    pub fn min_choices(&self) -> u32 {
        match self.rule {
            ChoiceRule::Forced => 1,
            ChoiceRule::Optional { min, .. } => min,
        }
    }
    /// The most modifiers a line may choose from this group.
    pub fn max_choices(&self) -> u32 {
        match self.rule {
            ChoiceRule::Forced => 1,
            ChoiceRule::Optional { max, .. } => max,
        }
    }
    /// Its modifiers, in the order the terminal shows them.
    pub fn modifiers(&self) -> &[ModifierId] {
        &self.modifiers
    }
}

/// Something on the menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuItem {
    id: ItemId,
    name: String,
    description: Option<String>,
    category: CategoryId,
    price: Money,
    tax_class: TaxClass,
    allergens: BTreeSet<Allergen>,
    prep_secs: u32,
    stations: Vec<StationId>,
    modifier_groups: Vec<ModifierGroupId>,
    recipe: BTreeMap<IngredientId, Decimal>,
}

impl MenuItem {
    pub fn id(&self) -> &ItemId {
        &self.id
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
    pub fn category(&self) -> &CategoryId {
        &self.category
    }
    /// The base price, before modifiers. Never negative.
    pub fn price(&self) -> Money {
        self.price
    }
    pub fn tax_class(&self) -> &TaxClass {
        &self.tax_class
    }
    /// The allergens it contains, before modifiers (a superset of its ingredients').
    pub fn allergens(&self) -> &BTreeSet<Allergen> {
        &self.allergens
    }
    /// How long it should take to prepare, in seconds. At least 1.
    pub fn prep_secs(&self) -> u32 {
        self.prep_secs
    }
    /// The prep stations it is routed to: at least one. Expo stations see it as well.
    pub fn stations(&self) -> &[StationId] {
        &self.stations
    }
    /// Its modifier groups, in the order the terminal asks them.
    pub fn modifier_groups(&self) -> &[ModifierGroupId] {
        &self.modifier_groups
    }
    /// Ingredient quantities for one, before modifiers (empty when stock is not tracked).
    pub fn recipe(&self) -> &BTreeMap<IngredientId, Decimal> {
        &self.recipe
    }
}

/// A modifier chosen on a line, as it was when the line was priced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChosenModifier {
    pub id: ModifierId,
    pub name: String,
    pub group: ModifierGroupId,
    /// From a forced group (tickets show forced and optional choices differently).
    pub forced: bool,
    pub price_delta: Money,
}

/// An order line priced against the menu: what a check records as sold (price, tax, routing),
/// so that a later menu change never changes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    item: ItemId,
    name: String,
    qty: u32,
    modifiers: Vec<ChosenModifier>,
    unit_price: Money,
    amount: Money,
    tax_class: TaxClass,
    stations: Vec<StationId>,
    allergens: BTreeSet<Allergen>,
    prep_secs: u32,
}

/// A line's record as it was sold, from which every device rebuilds the same [`PricedLine`]
/// without consulting the menu (which may have changed since).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoldLine {
    pub item: ItemId,
    pub name: String,
    pub qty: u32,
    pub modifiers: Vec<ChosenModifier>,
    pub unit_price: Money,
    pub tax_class: TaxClass,
    pub stations: Vec<StationId>,
    pub allergens: BTreeSet<Allergen>,
    pub prep_secs: u32,
}

impl PricedLine {
    /// Rebuilds a line from what was recorded when it was sold. The amount is recomputed from
    /// the unit price and quantity, so a record cannot carry an inconsistent total.
    pub fn as_sold(sold: SoldLine) -> Result<PricedLine, MenuError> {
        if sold.qty == 0 {
            return Err(MenuError::ZeroQuantity { item: sold.item });
        }
        if sold.unit_price.is_negative() {
            return Err(MenuError::NegativePrice {
                item: sold.item,
                unit_price: sold.unit_price,
            });
        }
        let amount = sold.unit_price.checked_mul_qty(i64::from(sold.qty))?;
        Ok(PricedLine {
            item: sold.item,
            name: sold.name,
            qty: sold.qty,
            modifiers: sold.modifiers,
            unit_price: sold.unit_price,
            amount,
            tax_class: sold.tax_class,
            stations: sold.stations,
            allergens: sold.allergens,
            prep_secs: sold.prep_secs,
        })
    }

    pub fn item(&self) -> &ItemId {
        &self.item
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    /// At least 1.
    pub fn qty(&self) -> u32 {
        self.qty
    }
    /// The chosen modifiers, in the order the item's groups list them.
    pub fn modifiers(&self) -> &[ChosenModifier] {
        &self.modifiers
    }
    /// Item price plus modifier deltas. Never negative.
    pub fn unit_price(&self) -> Money {
        self.unit_price
    }
    /// `unit_price × qty`.
    pub fn amount(&self) -> Money {
        self.amount
    }
    pub fn tax_class(&self) -> &TaxClass {
        &self.tax_class
    }
    pub fn stations(&self) -> &[StationId] {
        &self.stations
    }
    /// The item's allergens plus those of anything its modifiers add.
    pub fn allergens(&self) -> &BTreeSet<Allergen> {
        &self.allergens
    }
    pub fn prep_secs(&self) -> u32 {
        self.prep_secs
    }
    /// The line as tax sees it.
    pub fn taxable(&self) -> TaxableLine<'_> {
        TaxableLine {
            amount: self.amount,
            tax_class: &self.tax_class,
        }
    }
}

/// Where in a menu file something is: a line (when known) and a dotted path
/// (`items.classic_burger.price`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    line: Option<usize>,
    path: String,
}

impl Place {
    /// The 1-based line in the file.
    pub fn line(&self) -> Option<usize> {
        self.line
    }
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.path.is_empty()) {
            (Some(line), true) => write!(f, "line {line}"),
            (Some(line), false) => write!(f, "line {line}: {}", self.path),
            (None, _) => f.write_str(&self.path),
        }
    }
}

/// The kinds of thing a menu refers to by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    Category,
    Station,
    ModifierGroup,
    Modifier,
    Ingredient,
    TaxClass,
    TaxRate,
}

impl fmt::Display for RefKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RefKind::Category => "category",
            RefKind::Station => "station",
            RefKind::ModifierGroup => "modifier group",
            RefKind::Modifier => "modifier",
            RefKind::Ingredient => "ingredient",
            RefKind::TaxClass => "tax class",
            RefKind::TaxRate => "tax rate",
        })
    }
}

/// A menu file refused, or an order line the menu does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MenuError {
    #[error("the menu is {bytes} bytes; the most accepted is {limit}")]
    TooLarge { bytes: usize, limit: usize },
    /// Not TOML, or not the menu's shape: a misspelt or missing field, a value of the wrong type.
    #[error("{at}: {message}")]
    Format { at: Place, message: String },
    #[error(
        "{at}: `{value}` is not a price (expected an amount of money such as \"14.50\", at most 2 decimals)"
    )]
    BadPrice { at: Place, value: String },
    #[error("{at}: `{value}` is not a number (expected digits such as \"1\" or \"0.25\")")]
    BadNumber { at: Place, value: String },
    /// `at` is the referrer; `id` the missing thing.
    #[error("{at}: {kind} `{id}` is not defined")]
    Undefined {
        at: Place,
        kind: RefKind,
        id: String,
    },
    #[error("{at}: {message}")]
    Invalid { at: Place, message: String },

    #[error("there is no item `{item}` on the menu")]
    UnknownItem { item: ItemId },
    #[error("quantity of `{item}` must be at least 1")]
    ZeroQuantity { item: ItemId },
    #[error("`{modifier}` is not offered with `{item}`")]
    ModifierNotOffered { item: ItemId, modifier: ModifierId },
    #[error("`{modifier}` is chosen twice for `{item}`")]
    DuplicateModifier { item: ItemId, modifier: ModifierId },
    #[error("`{item}` needs a choice of {group}")]
    MissingForcedChoice {
        item: ItemId,
        group: ModifierGroupId,
    },
    #[error("`{item}` needs at least {min} of {group}, got {chosen}")]
    TooFewChoices {
        item: ItemId,
        group: ModifierGroupId,
        min: u32,
        chosen: u32,
    },
    #[error("`{item}` takes at most {max} of {group}, got {chosen}")]
    TooManyChoices {
        item: ItemId,
        group: ModifierGroupId,
        max: u32,
        chosen: u32,
    },
    #[error("`{item}` with these modifiers would cost {unit_price}")]
    NegativePrice { item: ItemId, unit_price: Money },
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// A whole menu, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Menu {
    name: Option<String>,
    /// In file order, as the terminal shows them; the maps index into them.
    stations: Vec<Station>,
    categories: Vec<Category>,
    items: Vec<MenuItem>,
    station_index: BTreeMap<StationId, usize>,
    category_index: BTreeMap<CategoryId, usize>,
    item_index: BTreeMap<ItemId, usize>,
    modifier_groups: BTreeMap<ModifierGroupId, ModifierGroup>,
    modifiers: BTreeMap<ModifierId, Modifier>,
    ingredients: BTreeMap<IngredientId, Ingredient>,
    tax_classes: BTreeMap<TaxClassId, TaxClass>,
}

impl Menu {
    /// Parses and validates a menu file's text. Refuses the whole file at the first mistake,
    /// naming its line and place.
    pub fn from_toml_str(text: &str) -> Result<Menu, MenuError> {
        if text.len() > MAX_MENU_BYTES {
            return Err(MenuError::TooLarge {
                bytes: text.len(),
                limit: MAX_MENU_BYTES,
            });
        }
        let raw: raw::Menu = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            MenuError::Format {
                at: Place {
                    line: Some(line_of(text, span.start)),
                    path: table_at(text, span.start),
                },
                message: e.message().trim().to_owned(),
            }
        })?;
        Loader { text }.load(raw)
    }

    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Stations in file order.
    pub fn stations(&self) -> &[Station] {
        &self.stations
    }
    pub fn station(&self, id: &StationId) -> Option<&Station> {
        self.station_index.get(id).map(|i| &self.stations[*i])
    }
    /// The stations that see every item.
    pub fn expo_stations(&self) -> impl Iterator<Item = &Station> {
        self.stations.iter().filter(|s| s.kind == StationKind::Expo)
    }

    /// Categories in file order.
    pub fn categories(&self) -> &[Category] {
        &self.categories
    }
    pub fn category(&self, id: &CategoryId) -> Option<&Category> {
        self.category_index.get(id).map(|i| &self.categories[*i])
    }

    /// Items in file order.
    pub fn items(&self) -> &[MenuItem] {
        &self.items
    }
    pub fn item(&self, id: &ItemId) -> Option<&MenuItem> {
        self.item_index.get(id).map(|i| &self.items[*i])
    }
    /// A category's items, in file order.
    pub fn items_in<'a>(&'a self, category: &'a CategoryId) -> impl Iterator<Item = &'a MenuItem> {
        self.items.iter().filter(move |i| &i.category == category)
    }

    pub fn modifier_group(&self, id: &ModifierGroupId) -> Option<&ModifierGroup> {
        self.modifier_groups.get(id)
    }
    pub fn modifier(&self, id: &ModifierId) -> Option<&Modifier> {
        self.modifiers.get(id)
    }
    pub fn ingredients(&self) -> impl Iterator<Item = &Ingredient> {
        self.ingredients.values()
    }
    pub fn ingredient(&self, id: &IngredientId) -> Option<&Ingredient> {
        self.ingredients.get(id)
    }
    pub fn tax_classes(&self) -> impl Iterator<Item = &TaxClass> {
        self.tax_classes.values()
    }
    pub fn tax_class(&self, id: &TaxClassId) -> Option<&TaxClass> {
        self.tax_classes.get(id)
    }

    /// Prices `qty` of an item with the chosen modifiers. Refuses an unknown item, a zero
    /// quantity, a modifier the item does not offer or chosen twice, a forced group without its
    /// choice, an optional group with too few or too many, and a negative unit price. The order
    /// of `modifiers` does not matter.
    pub fn price_line(
        &self,
        item_id: &ItemId,
        modifiers: &[ModifierId],
        qty: u32,
    ) -> Result<PricedLine, MenuError> {
        let item = self.item(item_id).ok_or_else(|| MenuError::UnknownItem {
            item: item_id.clone(),
        })?;
        if qty == 0 {
            return Err(MenuError::ZeroQuantity {
                item: item_id.clone(),
            });
        }
        let mut chosen = BTreeSet::new();
        for modifier in modifiers {
            if !chosen.insert(modifier) {
                return Err(MenuError::DuplicateModifier {
                    item: item_id.clone(),
                    modifier: modifier.clone(),
                });
            }
            let offered = item
                .modifier_groups
                .iter()
                .filter_map(|g| self.modifier_groups.get(g))
                .any(|g| g.modifiers.contains(modifier));
            if !offered {
                return Err(MenuError::ModifierNotOffered {
                    item: item_id.clone(),
                    modifier: modifier.clone(),
                });
            }
        }

        let mut lines_modifiers = Vec::with_capacity(chosen.len());
        let mut unit_price = item.price;
        for group in item
            .modifier_groups
            .iter()
            .filter_map(|g| self.modifier_groups.get(g))
        {
            let mut count = 0u32;
            for modifier in group.modifiers.iter().filter(|m| chosen.contains(m)) {
                let Some(found) = self.modifiers.get(modifier) else {
                    continue; // cannot happen: groups refer only to defined modifiers
                };
                count += 1;
                unit_price = unit_price.checked_add(found.price_delta)?;
                lines_modifiers.push(ChosenModifier {
                    id: found.id.clone(),
                    name: found.name.clone(),
                    group: group.id.clone(),
                    forced: group.is_forced(),
                    price_delta: found.price_delta,
                });
            }
            let item = item_id.clone();
            let group_id = group.id.clone();
            match group.rule {
                ChoiceRule::Forced if count == 0 => {
                    return Err(MenuError::MissingForcedChoice {
                        item,
                        group: group_id,
                    });
                }
                ChoiceRule::Optional { min, .. } if count < min => {
                    return Err(MenuError::TooFewChoices {
                        item,
                        group: group_id,
                        min,
                        chosen: count,
                    });
                }
                _ if count > group.max_choices() => {
                    return Err(MenuError::TooManyChoices {
                        item,
                        group: group_id,
                        max: group.max_choices(),
                        chosen: count,
                    });
                }
                _ => {}
            }
        }
        if unit_price.is_negative() {
            return Err(MenuError::NegativePrice {
                item: item_id.clone(),
                unit_price,
            });
        }
        let amount = unit_price.checked_mul_qty(i64::from(qty))?;
        Ok(PricedLine {
            item: item_id.clone(),
            name: item.name.clone(),
            qty,
            modifiers: lines_modifiers,
            unit_price,
            amount,
            tax_class: item.tax_class.clone(),
            stations: item.stations.clone(),
            allergens: self.allergens_for(item_id, modifiers),
            prep_secs: item.prep_secs,
        })
    }

    /// The ingredients `qty` of an item use, with its recipe adjusted by `modifiers`: first every
    /// removal, then every replacement (the replacement takes the replaced quantity), then every
    /// addition. Quantities are in each ingredient's unit; ingredients left at zero are omitted.
    ///
    /// Never fails, because it also serves sales that arrive from other devices, which are
    /// accepted whatever the menu says now: an item not on the menu uses nothing, and a modifier
    /// id not on the menu changes nothing. A modifier chosen twice counts once.
    pub fn ingredients_for(
        &self,
        item_id: &ItemId,
        modifiers: &[ModifierId],
        qty: u32,
    ) -> BTreeMap<IngredientId, Decimal> {
        let Some(item) = self.item(item_id) else {
            return BTreeMap::new();
        };
        let chosen: Vec<&Modifier> = modifiers
            .iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter_map(|m| self.modifiers.get(m))
            .collect();
        let mut quantities = item.recipe.clone();
        for modifier in &chosen {
            for ingredient in &modifier.remove {
                quantities.remove(ingredient);
            }
        }
        for modifier in &chosen {
            for (from, to) in &modifier.replace {
                if let Some(quantity) = quantities.remove(from) {
                    *quantities.entry(to.clone()).or_default() += quantity;
                }
            }
        }
        for modifier in &chosen {
            for (ingredient, quantity) in &modifier.add {
                *quantities.entry(ingredient.clone()).or_default() += *quantity;
            }
        }
        // Each quantity is at most MAX_QUANTITY (checked at load), summed over a recipe and the
        // menu's modifiers and times a u32: far inside Decimal's range.
        let qty = Decimal::from(qty);
        quantities
            .into_iter()
            .filter(|(_, quantity)| !quantity.is_zero())
            .map(|(ingredient, quantity)| (ingredient, (quantity * qty).normalize()))
            .filter(|(_, quantity)| !quantity.is_zero())
            .collect()
    }

    /// The allergens of an item with `modifiers`: the item's own plus those of every ingredient
    /// the modifiers add or substitute in. A modifier never takes an allergen away (shared
    /// fryers and boards make "no cheese" no promise). Unknown ids add nothing.
    pub fn allergens_for(&self, item_id: &ItemId, modifiers: &[ModifierId]) -> BTreeSet<Allergen> {
        let Some(item) = self.item(item_id) else {
            return BTreeSet::new();
        };
        let mut allergens = item.allergens.clone();
        for modifier in modifiers.iter().filter_map(|m| self.modifiers.get(m)) {
            let brought_in = modifier.add.keys().chain(modifier.replace.values());
            for ingredient in brought_in.filter_map(|i| self.ingredients.get(i)) {
                allergens.extend(ingredient.allergens.iter().copied());
            }
        }
        allergens
    }
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    1 + text.as_bytes()[..offset]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
}

/// The name of the table whose header is the last at or before `offset` (`items.classic_burger`),
/// or "" for the top of the file.
fn table_at(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let line_end = text.as_bytes()[offset..]
        .iter()
        .position(|b| *b == b'\n')
        .map_or(text.len(), |i| offset + i);
    text.get(..line_end)
        .unwrap_or(text)
        .lines()
        .rev()
        .find_map(header_name)
        .unwrap_or_default()
}

/// `[items.classic_burger]` or `[[x.y]]` → `items.classic_burger` / `x.y`; any other line → None.
fn header_name(line: &str) -> Option<String> {
    let line = line.split('#').next().unwrap_or_default().trim();
    let inner = line.strip_prefix('[')?.strip_suffix(']')?;
    let inner = inner
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(inner);
    let plausible = !inner.trim().is_empty()
        && inner
            .chars()
            .all(|c| c.is_alphanumeric() || "_-. \"'".contains(c));
    plausible.then(|| {
        inner
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '"' && *c != '\'')
            .collect()
    })
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        && id
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Parses a decimal written as digits with an optional fraction ("2", "0.25"); no sign, no
/// exponent.
fn parse_decimal(text: &str) -> Option<Decimal> {
    let digits_and_point = !text.is_empty()
        && text.chars().all(|c| c.is_ascii_digit() || c == '.')
        && text.chars().filter(|c| *c == '.').count() <= 1
        && text.chars().any(|c| c.is_ascii_digit());
    if !digits_and_point {
        return None;
    }
    Decimal::from_str(text).ok().map(|d| d.normalize())
}

/// Turns the file's raw tables into validated menu types, with places for every refusal.
struct Loader<'a> {
    text: &'a str,
}

/// A table of the file, in file order, with its id checked.
struct Entry<'r, T> {
    id: String,
    span: Range<usize>,
    value: &'r T,
}

impl<'a> Loader<'a> {
    fn place(&self, span: &Range<usize>, path: String) -> Place {
        Place {
            line: Some(line_of(self.text, span.start)),
            path,
        }
    }

    fn invalid(&self, span: &Range<usize>, path: String, message: impl Into<String>) -> MenuError {
        MenuError::Invalid {
            at: self.place(span, path),
            message: message.into(),
        }
    }

    fn undefined(&self, reference: &Spanned<String>, path: String, kind: RefKind) -> MenuError {
        MenuError::Undefined {
            at: self.place(&reference.span(), path),
            kind,
            id: reference.get_ref().clone(),
        }
    }

    /// The section's tables in file order, refusing a badly spelt id.
    fn entries<'r, T>(
        &self,
        section: &str,
        tables: &'r BTreeMap<String, Spanned<T>>,
    ) -> Result<Vec<Entry<'r, T>>, MenuError> {
        let mut entries: Vec<Entry<'r, T>> = tables
            .iter()
            .map(|(id, table)| Entry {
                id: id.clone(),
                span: table.span(),
                value: table.get_ref(),
            })
            .collect();
        entries.sort_by_key(|e| e.span.start);
        for entry in &entries {
            if !valid_id(&entry.id) {
                return Err(self.invalid(
                    &entry.span,
                    format!("{section}.\"{}\"", entry.id),
                    "an id is 1 to 64 characters of a-z, 0-9, _ and -, starting with a letter or digit",
                ));
            }
        }
        Ok(entries)
    }

    fn name(&self, entry_span: &Range<usize>, path: &str, name: &str) -> Result<String, MenuError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(self.invalid(
                entry_span,
                format!("{path}.name"),
                "a name may not be empty",
            ));
        }
        Ok(name.to_owned())
    }

    fn quantity(&self, value: &Spanned<raw::Number>, path: String) -> Result<Decimal, MenuError> {
        let text = value.get_ref().0.trim();
        let quantity = parse_decimal(text).ok_or_else(|| MenuError::BadNumber {
            at: self.place(&value.span(), path.clone()),
            value: text.to_owned(),
        })?;
        if quantity.is_zero() || quantity > MAX_QUANTITY {
            return Err(self.invalid(
                &value.span(),
                path,
                format!("a quantity is more than 0 and at most {MAX_QUANTITY}, not {text}"),
            ));
        }
        Ok(quantity)
    }

    fn price(&self, value: &Spanned<raw::Price>, path: String) -> Result<Money, MenuError> {
        let text = value.get_ref().0.as_str();
        Money::from_str(text).map_err(|_| MenuError::BadPrice {
            at: self.place(&value.span(), path),
            value: text.to_owned(),
        })
    }

    /// Resolves a list of references against `defined`, refusing a missing one or a repeat.
    fn resolve<K: Ord + for<'k> From<&'k str> + Clone>(
        &self,
        references: &[Spanned<String>],
        defined: &BTreeMap<K, impl Sized>,
        path: String,
        kind: RefKind,
    ) -> Result<Vec<K>, MenuError> {
        let mut resolved: Vec<K> = Vec::with_capacity(references.len());
        for reference in references {
            let id = K::from(reference.get_ref().as_str());
            if !defined.contains_key(&id) {
                return Err(self.undefined(reference, path, kind));
            }
            if resolved.contains(&id) {
                return Err(self.invalid(
                    &reference.span(),
                    path,
                    format!("{kind} `{}` is listed twice", reference.get_ref()),
                ));
            }
            resolved.push(id);
        }
        Ok(resolved)
    }

    fn load(&self, raw: raw::Menu) -> Result<Menu, MenuError> {
        let tax_rates = self.tax_rates(&raw)?;
        let tax_classes = self.tax_classes(&raw, &tax_rates)?;
        let stations = self.stations(&raw)?;
        let station_index: BTreeMap<StationId, usize> = stations
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.clone(), i))
            .collect();
        let ingredients = self.ingredients(&raw)?;
        let categories = self.categories(&raw, &stations, &station_index, &tax_classes)?;
        let category_index: BTreeMap<CategoryId, usize> = categories
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.clone(), i))
            .collect();
        let modifiers = self.modifiers(&raw, &ingredients)?;
        let modifier_groups = self.modifier_groups(&raw, &modifiers)?;
        let items = self.items(
            &raw,
            &ItemContext {
                stations: &stations,
                station_index: &station_index,
                categories: &categories,
                category_index: &category_index,
                tax_classes: &tax_classes,
                ingredients: &ingredients,
                modifiers: &modifiers,
                modifier_groups: &modifier_groups,
            },
        )?;
        let item_index = items
            .iter()
            .enumerate()
            .map(|(i, item)| (item.id.clone(), i))
            .collect();
        let name = raw
            .name
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty());
        Ok(Menu {
            name,
            stations,
            categories,
            items,
            station_index,
            category_index,
            item_index,
            modifier_groups,
            modifiers,
            ingredients,
            tax_classes,
        })
    }

    fn tax_rates(&self, raw: &raw::Menu) -> Result<BTreeMap<TaxRateId, TaxRate>, MenuError> {
        let mut rates = BTreeMap::new();
        for entry in self.entries("tax_rates", &raw.tax_rates)? {
            let path = format!("tax_rates.{}", entry.id);
            let r = entry.value;
            let name = self.name(&entry.span, &path, &r.name)?;
            let text = r.percent.get_ref().0.trim();
            let percent = parse_decimal(text).ok_or_else(|| MenuError::BadNumber {
                at: self.place(&r.percent.span(), format!("{path}.percent")),
                value: text.to_owned(),
            })?;
            let id = TaxRateId::new(entry.id.as_str());
            let rate = TaxRate::new(id.clone(), name, percent, r.inclusive).map_err(|e| {
                self.invalid(&r.percent.span(), format!("{path}.percent"), e.to_string())
            })?;
            rates.insert(id, rate);
        }
        Ok(rates)
    }

    fn tax_classes(
        &self,
        raw: &raw::Menu,
        rates: &BTreeMap<TaxRateId, TaxRate>,
    ) -> Result<BTreeMap<TaxClassId, TaxClass>, MenuError> {
        let mut classes = BTreeMap::new();
        for entry in self.entries("tax_classes", &raw.tax_classes)? {
            let path = format!("tax_classes.{}", entry.id);
            let c = entry.value;
            let name = self.name(&entry.span, &path, &c.name)?;
            let rate_list = |references: &[Spanned<String>], field: &str| {
                let ids = self.resolve(
                    references,
                    rates,
                    format!("{path}.{field}"),
                    RefKind::TaxRate,
                )?;
                Ok::<Vec<TaxRate>, MenuError>(
                    ids.iter().filter_map(|id| rates.get(id)).cloned().collect(),
                )
            };
            let default_rates = rate_list(&c.rates, "rates")?;
            let mut by_order_type = BTreeMap::new();
            for order_type in OrderType::ALL {
                let overridden = match order_type {
                    OrderType::DineIn => &c.dine_in,
                    OrderType::Takeout => &c.takeout,
                    OrderType::Delivery => &c.delivery,
                    OrderType::Online => &c.online,
                };
                if let Some(references) = overridden {
                    by_order_type.insert(order_type, rate_list(references, order_type.key())?);
                }
            }
            let id = TaxClassId::new(entry.id.as_str());
            let class = TaxClass::new(id.clone(), name, default_rates, by_order_type)
                .map_err(|e: TaxError| self.invalid(&entry.span, path.clone(), e.to_string()))?;
            classes.insert(id, class);
        }
        Ok(classes)
    }

    fn stations(&self, raw: &raw::Menu) -> Result<Vec<Station>, MenuError> {
        self.entries("stations", &raw.stations)?
            .into_iter()
            .map(|entry| {
                let path = format!("stations.{}", entry.id);
                Ok(Station {
                    name: self.name(&entry.span, &path, &entry.value.name)?,
                    id: StationId::new(entry.id),
                    kind: entry.value.kind,
                })
            })
            .collect()
    }

    fn ingredients(
        &self,
        raw: &raw::Menu,
    ) -> Result<BTreeMap<IngredientId, Ingredient>, MenuError> {
        self.entries("ingredients", &raw.ingredients)?
            .into_iter()
            .map(|entry| {
                let path = format!("ingredients.{}", entry.id);
                let id = IngredientId::new(entry.id.as_str());
                let ingredient = Ingredient {
                    id: id.clone(),
                    name: self.name(&entry.span, &path, &entry.value.name)?,
                    unit: entry.value.unit,
                    allergens: entry.value.allergens.iter().copied().collect(),
                };
                Ok((id, ingredient))
            })
            .collect()
    }

    /// Resolves a routing list: every station defined, and a prep station.
    fn route(
        &self,
        references: &[Spanned<String>],
        stations: &[Station],
        station_index: &BTreeMap<StationId, usize>,
        path: String,
    ) -> Result<Vec<StationId>, MenuError> {
        let ids = self.resolve(references, station_index, path.clone(), RefKind::Station)?;
        for (id, reference) in ids.iter().zip(references) {
            let is_expo = station_index
                .get(id)
                .is_some_and(|i| stations[*i].kind == StationKind::Expo);
            if is_expo {
                return Err(self.invalid(
                    &reference.span(),
                    path,
                    format!("`{id}` is an expo station, which sees every item; route items to prep stations"),
                ));
            }
        }
        Ok(ids)
    }

    fn categories(
        &self,
        raw: &raw::Menu,
        stations: &[Station],
        station_index: &BTreeMap<StationId, usize>,
        tax_classes: &BTreeMap<TaxClassId, TaxClass>,
    ) -> Result<Vec<Category>, MenuError> {
        self.entries("categories", &raw.categories)?
            .into_iter()
            .map(|entry| {
                let path = format!("categories.{}", entry.id);
                let c = entry.value;
                let tax_class = match &c.tax_class {
                    Some(reference) => self
                        .resolve(
                            std::slice::from_ref(reference),
                            tax_classes,
                            format!("{path}.tax_class"),
                            RefKind::TaxClass,
                        )?
                        .pop(),
                    None => None,
                };
                Ok(Category {
                    name: self.name(&entry.span, &path, &c.name)?,
                    stations: self.route(
                        &c.stations,
                        stations,
                        station_index,
                        format!("{path}.stations"),
                    )?,
                    tax_class,
                    id: CategoryId::new(entry.id),
                })
            })
            .collect()
    }

    fn modifiers(
        &self,
        raw: &raw::Menu,
        ingredients: &BTreeMap<IngredientId, Ingredient>,
    ) -> Result<BTreeMap<ModifierId, Modifier>, MenuError> {
        let mut modifiers = BTreeMap::new();
        for entry in self.entries("modifiers", &raw.modifiers)? {
            let path = format!("modifiers.{}", entry.id);
            let m = entry.value;
            let price_delta = match &m.price {
                Some(price) => self.price(price, format!("{path}.price"))?,
                None => Money::ZERO,
            };
            let mut add = BTreeMap::new();
            for (ingredient, quantity) in &m.add {
                let id = self.ingredient_ref(ingredient, ingredients, format!("{path}.add"))?;
                add.insert(
                    id,
                    self.quantity(quantity, format!("{path}.add.{}", ingredient.get_ref()))?,
                );
            }
            let remove: BTreeSet<IngredientId> = self
                .resolve(
                    &m.remove,
                    ingredients,
                    format!("{path}.remove"),
                    RefKind::Ingredient,
                )?
                .into_iter()
                .collect();
            let mut replace = BTreeMap::new();
            for (from, to) in &m.replace {
                let from_id = self.ingredient_ref(from, ingredients, format!("{path}.replace"))?;
                let to_id = self.ingredient_ref(
                    to,
                    ingredients,
                    format!("{path}.replace.{}", from.get_ref()),
                )?;
                let (from_unit, to_unit) = (
                    ingredients.get(&from_id).map(|i| i.unit),
                    ingredients.get(&to_id).map(|i| i.unit),
                );
                if from_unit != to_unit {
                    return Err(self.invalid(
                        &to.span(),
                        format!("{path}.replace.{from_id}"),
                        format!(
                            "`{from_id}` and `{to_id}` are counted in different units; a replacement takes the same quantity"
                        ),
                    ));
                }
                replace.insert(from_id, to_id);
            }
            let id = ModifierId::new(entry.id.as_str());
            let modifier = Modifier {
                id: id.clone(),
                name: self.name(&entry.span, &path, &m.name)?,
                price_delta,
                add,
                remove,
                replace,
            };
            modifiers.insert(id, modifier);
        }
        Ok(modifiers)
    }

    fn ingredient_ref(
        &self,
        reference: &Spanned<String>,
        ingredients: &BTreeMap<IngredientId, Ingredient>,
        path: String,
    ) -> Result<IngredientId, MenuError> {
        let id = IngredientId::new(reference.get_ref().as_str());
        if ingredients.contains_key(&id) {
            Ok(id)
        } else {
            Err(self.undefined(reference, path, RefKind::Ingredient))
        }
    }

    fn modifier_groups(
        &self,
        raw: &raw::Menu,
        modifiers: &BTreeMap<ModifierId, Modifier>,
    ) -> Result<BTreeMap<ModifierGroupId, ModifierGroup>, MenuError> {
        let mut groups = BTreeMap::new();
        for entry in self.entries("modifier_groups", &raw.modifier_groups)? {
            let path = format!("modifier_groups.{}", entry.id);
            let g = entry.value;
            let members: Vec<ModifierId> = self.resolve(
                &g.modifiers,
                modifiers,
                format!("{path}.modifiers"),
                RefKind::Modifier,
            )?;
            if members.is_empty() {
                return Err(self.invalid(
                    &entry.span,
                    format!("{path}.modifiers"),
                    "a group needs at least one modifier",
                ));
            }
            let count = u32::try_from(members.len()).unwrap_or(u32::MAX);
            let rule = match g.kind {
                raw::GroupKind::Forced => {
                    if let Some(bound) = g.min.as_ref().or(g.max.as_ref()) {
                        return Err(self.invalid(
                            &bound.span(),
                            path,
                            "a forced group is exactly one choice; min and max are for optional groups",
                        ));
                    }
                    ChoiceRule::Forced
                }
                raw::GroupKind::Optional => {
                    let min = g.min.as_ref().map_or(0, |m| *m.get_ref());
                    let max = g.max.as_ref().map_or(count, |m| *m.get_ref());
                    let span = g
                        .max
                        .as_ref()
                        .or(g.min.as_ref())
                        .map_or(entry.span.clone(), |s| s.span());
                    if max == 0 || min > max || max > count {
                        return Err(self.invalid(
                            &span,
                            path,
                            format!(
                                "min {min} and max {max} do not fit a group of {count} modifiers (need 0 ≤ min ≤ max, 1 ≤ max ≤ {count})"
                            ),
                        ));
                    }
                    ChoiceRule::Optional { min, max }
                }
            };
            let id = ModifierGroupId::new(entry.id.as_str());
            let group = ModifierGroup {
                id: id.clone(),
                name: self.name(&entry.span, &path, &g.name)?,
                rule,
                modifiers: members,
            };
            groups.insert(id, group);
        }
        Ok(groups)
    }

    fn items(&self, raw: &raw::Menu, cx: &ItemContext<'_>) -> Result<Vec<MenuItem>, MenuError> {
        self.entries("items", &raw.items)?
            .into_iter()
            .map(|entry| self.item(entry, cx))
            .collect()
    }

    fn item(
        &self,
        entry: Entry<'_, raw::Item>,
        cx: &ItemContext<'_>,
    ) -> Result<MenuItem, MenuError> {
        let path = format!("items.{}", entry.id);
        let it = entry.value;
        let name = self.name(&entry.span, &path, &it.name)?;

        let category_id = CategoryId::new(it.category.get_ref().as_str());
        let category = cx
            .category_index
            .get(&category_id)
            .map(|i| &cx.categories[*i])
            .ok_or_else(|| {
                self.undefined(&it.category, format!("{path}.category"), RefKind::Category)
            })?;

        let price = self.price(&it.price, format!("{path}.price"))?;
        if price.is_negative() {
            return Err(self.invalid(
                &it.price.span(),
                format!("{path}.price"),
                format!("an item's price may not be negative, not {price}"),
            ));
        }

        let tax_class_id = match &it.tax_class {
            Some(reference) => {
                let id = TaxClassId::new(reference.get_ref().as_str());
                if !cx.tax_classes.contains_key(&id) {
                    return Err(self.undefined(
                        reference,
                        format!("{path}.tax_class"),
                        RefKind::TaxClass,
                    ));
                }
                id
            }
            None => category.tax_class.clone().ok_or_else(|| {
                self.invalid(
                    &entry.span,
                    path.clone(),
                    format!(
                        "no tax class: set tax_class on the item or on its category `{category_id}`"
                    ),
                )
            })?,
        };
        let tax_class = cx.tax_classes.get(&tax_class_id).cloned().ok_or_else(|| {
            self.invalid(
                &entry.span,
                format!("{path}.tax_class"),
                "tax class missing",
            )
        })?;

        let stations = match &it.stations {
            Some(references) => self.route(
                references,
                cx.stations,
                cx.station_index,
                format!("{path}.stations"),
            )?,
            None => category.stations.clone(),
        };
        if stations.is_empty() {
            return Err(self.invalid(
                &entry.span,
                format!("{path}.stations"),
                format!("no station: set stations on the item or on its category `{category_id}`"),
            ));
        }

        if *it.prep_secs.get_ref() == 0 {
            return Err(self.invalid(
                &it.prep_secs.span(),
                format!("{path}.prep_secs"),
                "a prep-time target is at least 1 second",
            ));
        }

        let modifier_groups: Vec<ModifierGroupId> = self.resolve(
            &it.modifier_groups,
            cx.modifier_groups,
            format!("{path}.modifier_groups"),
            RefKind::ModifierGroup,
        )?;

        let mut recipe = BTreeMap::new();
        for (ingredient, quantity) in &it.recipe {
            let id = self.ingredient_ref(ingredient, cx.ingredients, format!("{path}.recipe"))?;
            recipe.insert(
                id,
                self.quantity(quantity, format!("{path}.recipe.{}", ingredient.get_ref()))?,
            );
        }

        let allergens: BTreeSet<Allergen> = it.allergens.get_ref().iter().copied().collect();
        for ingredient in recipe.keys().filter_map(|i| cx.ingredients.get(i)) {
            if let Some(missing) = ingredient.allergens.iter().find(|a| !allergens.contains(a)) {
                return Err(self.invalid(
                    &it.allergens.span(),
                    format!("{path}.allergens"),
                    format!(
                        "`{}` is missing: the recipe's `{}` contains it",
                        missing.key(),
                        ingredient.id
                    ),
                ));
            }
        }

        // A modifier in two of the item's groups would make a choice ambiguous; one that takes
        // out or swaps only what the recipe does not have is a mistake in the file.
        let mut seen: BTreeMap<&ModifierId, &ModifierGroupId> = BTreeMap::new();
        for (group_id, reference) in modifier_groups.iter().zip(&it.modifier_groups) {
            let Some(group) = cx.modifier_groups.get(group_id) else {
                continue;
            };
            for modifier_id in &group.modifiers {
                if let Some(other) = seen.insert(modifier_id, group_id) {
                    return Err(self.invalid(
                        &reference.span(),
                        format!("{path}.modifier_groups"),
                        format!("modifier `{modifier_id}` is in both `{other}` and `{group_id}`"),
                    ));
                }
                let Some(modifier) = cx.modifiers.get(modifier_id) else {
                    continue;
                };
                let applies = modifier
                    .remove
                    .iter()
                    .chain(modifier.replace.keys())
                    .any(|i| recipe.contains_key(i));
                if modifier.changes_recipe() && !recipe.is_empty() && !applies {
                    return Err(self.invalid(
                        &reference.span(),
                        format!("{path}.modifier_groups"),
                        format!(
                            "modifier `{modifier_id}` (group `{group_id}`) removes or replaces only ingredients the recipe does not have"
                        ),
                    ));
                }
            }
        }

        Ok(MenuItem {
            id: ItemId::new(entry.id.as_str()),
            name,
            description: it
                .description
                .as_ref()
                .map(|d| d.trim().to_owned())
                .filter(|d| !d.is_empty()),
            category: category_id,
            price,
            tax_class,
            allergens,
            prep_secs: *it.prep_secs.get_ref(),
            stations,
            modifier_groups,
            recipe,
        })
    }
}

/// What items refer to, already validated.
struct ItemContext<'c> {
    stations: &'c [Station],
    station_index: &'c BTreeMap<StationId, usize>,
    categories: &'c [Category],
    category_index: &'c BTreeMap<CategoryId, usize>,
    tax_classes: &'c BTreeMap<TaxClassId, TaxClass>,
    ingredients: &'c BTreeMap<IngredientId, Ingredient>,
    modifiers: &'c BTreeMap<ModifierId, Modifier>,
    modifier_groups: &'c BTreeMap<ModifierGroupId, ModifierGroup>,
}

/// The file's shape, as serde reads it. Every table refuses unknown fields; references and
/// numbers keep their spans so a refusal can name the line.
mod raw {
    use super::*;

    type Ref = Spanned<String>;
    type Section<T> = BTreeMap<String, Spanned<T>>;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Menu {
        pub name: Option<String>,
        #[serde(default)]
        pub tax_rates: Section<TaxRate>,
        #[serde(default)]
        pub tax_classes: Section<TaxClass>,
        #[serde(default)]
        pub stations: Section<Station>,
        #[serde(default)]
        pub categories: Section<Category>,
        #[serde(default)]
        pub ingredients: Section<Ingredient>,
        #[serde(default)]
        pub modifiers: Section<Modifier>,
        #[serde(default)]
        pub modifier_groups: Section<ModifierGroup>,
        #[serde(default)]
        pub items: Section<Item>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct TaxRate {
        pub name: String,
        pub percent: Spanned<Number>,
        #[serde(default)]
        pub inclusive: bool,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct TaxClass {
        pub name: String,
        pub rates: Vec<Ref>,
        pub dine_in: Option<Vec<Ref>>,
        pub takeout: Option<Vec<Ref>>,
        pub delivery: Option<Vec<Ref>>,
        pub online: Option<Vec<Ref>>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Station {
        pub name: String,
        #[serde(default)]
        pub kind: StationKind,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Category {
        pub name: String,
        #[serde(default)]
        pub stations: Vec<Ref>,
        pub tax_class: Option<Ref>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Ingredient {
        pub name: String,
        pub unit: Unit,
        #[serde(default)]
        pub allergens: Vec<Allergen>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Modifier {
        pub name: String,
        pub price: Option<Spanned<Price>>,
        #[serde(default)]
        pub add: BTreeMap<Ref, Spanned<Number>>,
        #[serde(default)]
        pub remove: Vec<Ref>,
        #[serde(default)]
        pub replace: BTreeMap<Ref, Ref>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub(super) enum GroupKind {
        Forced,
        Optional,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct ModifierGroup {
        pub name: String,
        pub kind: GroupKind,
        pub min: Option<Spanned<u32>>,
        pub max: Option<Spanned<u32>>,
        pub modifiers: Vec<Ref>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Item {
        pub name: String,
        pub description: Option<String>,
        pub category: Ref,
        pub price: Spanned<Price>,
        pub tax_class: Option<Ref>,
        pub stations: Option<Vec<Ref>>,
        pub allergens: Spanned<Vec<Allergen>>,
        pub prep_secs: Spanned<u32>,
        #[serde(default)]
        pub modifier_groups: Vec<Ref>,
        #[serde(default)]
        pub recipe: BTreeMap<Ref, Spanned<Number>>,
    }

    /// A price as written. Only a string is accepted: a TOML number with a fraction is a float,
    /// and money is never a float.
    pub(super) struct Price(pub String);

    impl<'de> Deserialize<'de> for Price {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Price, D::Error> {
            struct PriceVisitor;
            impl Visitor<'_> for PriceVisitor {
                type Value = Price;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a price written as a string, such as \"14.50\"")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Price, E> {
                    Ok(Price(v.to_owned()))
                }
            }
            d.deserialize_any(PriceVisitor)
        }
    }

    /// A quantity or percentage as written: a string ("0.25") or a whole number (2). Not a
    /// float, whose digits are not exact.
    pub(super) struct Number(pub String);

    impl<'de> Deserialize<'de> for Number {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Number, D::Error> {
            struct NumberVisitor;
            impl Visitor<'_> for NumberVisitor {
                type Value = Number;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a whole number, or a decimal written as a string such as \"0.25\"")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Number, E> {
                    Ok(Number(v.to_owned()))
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
                    Ok(Number(v.to_string()))
                }
                fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
                    Ok(Number(v.to_string()))
                }
            }
            d.deserialize_any(NumberVisitor)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tax::{CheckDiscount, check_totals};
    use rust_decimal_macros::dec;

    const SAMPLE: &str = include_str!("../../../assets/menu.toml");

    /// A small menu whose every rule the tests below exercise.
    const FIXTURE: &str = r#"
name = "Test kitchen"

[tax_rates.sales]
name = "Sales tax"
percent = "8.875"

[tax_classes.food]
name = "Food"
rates = ["sales"]

[stations.grill]
name = "Grill"

[stations.fry]
name = "Fry"

[stations.expo]
name = "Expo"
kind = "expo"

[categories.burgers]
name = "Burgers"
stations = ["grill", "fry"]
tax_class = "food"

[ingredients.beef_patty]
name = "Beef patty"
unit = "each"

[ingredients.brioche_bun]
name = "Brioche bun"
unit = "each"
allergens = ["gluten", "sesame"]

[ingredients.gf_bun]
name = "Gluten-free bun"
unit = "each"
allergens = ["eggs"]

[ingredients.cheddar]
name = "Cheddar"
unit = "each"
allergens = ["milk"]

[ingredients.bacon]
name = "Bacon"
unit = "each"

[ingredients.red_onion]
name = "Red onion"
unit = "g"

[ingredients.potato_fries]
name = "Fries"
unit = "g"

[modifiers.medium_rare]
name = "Medium rare"

[modifiers.well_done]
name = "Well done"

[modifiers.add_bacon]
name = "Add bacon"
price = "2.00"
add = { bacon = 2 }

[modifiers.extra_cheese]
name = "Extra cheese"
price = "1.50"
add = { cheddar = 1 }

[modifiers.no_cheese]
name = "No cheese"
remove = ["cheddar"]

[modifiers.no_onions]
name = "No onions"
remove = ["red_onion"]

[modifiers.sub_gf_bun]
name = "Gluten-free bun"
price = "1.50"
replace = { brioche_bun = "gf_bun" }

[modifiers.ketchup]
name = "Ketchup"

[modifiers.aioli]
name = "Aioli"
price = "0.75"

[modifiers.mayo]
name = "Mayo"

[modifiers.staff_discount]
name = "Staff portion"
price = "-6.00"

[modifier_groups.doneness]
name = "Doneness"
kind = "forced"
modifiers = ["medium_rare", "well_done"]

[modifier_groups.extras]
name = "Extras"
kind = "optional"
max = 2
modifiers = ["add_bacon", "extra_cheese", "no_cheese", "no_onions"]

[modifier_groups.bun]
name = "Bun"
kind = "optional"
modifiers = ["sub_gf_bun"]

[modifier_groups.dips]
name = "Dips"
kind = "optional"
min = 1
max = 2
modifiers = ["ketchup", "aioli", "mayo"]

[modifier_groups.staff]
name = "Staff"
kind = "optional"
modifiers = ["staff_discount"]

[items.classic_burger]
name = "Classic Burger"
category = "burgers"
price = "14.50"
allergens = ["gluten", "sesame", "milk"]
prep_secs = 600
modifier_groups = ["doneness", "extras", "bun"]
recipe = { beef_patty = 1, brioche_bun = 1, cheddar = 1, red_onion = "20.5", potato_fries = 150 }

[items.fries]
name = "Fries"
category = "burgers"
stations = ["fry"]
price = "5.00"
allergens = []
prep_secs = 300
modifier_groups = ["dips", "staff"]
recipe = { potato_fries = 200 }
"#;

    fn fixture() -> Menu {
        Menu::from_toml_str(FIXTURE).unwrap_or_else(|e| panic!("fixture menu: {e}"))
    }

    fn sample() -> Menu {
        Menu::from_toml_str(SAMPLE).unwrap_or_else(|e| panic!("assets/menu.toml: {e}"))
    }

    fn ids<T: for<'a> From<&'a str>>(list: &[&str]) -> Vec<T> {
        list.iter().map(|s| T::from(*s)).collect()
    }

    fn m(s: &str) -> Money {
        s.parse().expect("test amount")
    }

    // ---- the sample menu ----------------------------------------------------------------

    #[test]
    fn sample_menu_loads_and_is_a_full_service_menu() {
        let menu = sample();
        assert_eq!(menu.name(), Some("Harbour Street Kitchen"));
        let count = menu.items().len();
        assert!((60..=80).contains(&count), "{count} items");

        let prep: Vec<&str> = menu
            .stations()
            .iter()
            .filter(|s| s.kind() == StationKind::Prep)
            .map(|s| s.id().as_str())
            .collect();
        assert_eq!(prep, ["grill", "fry", "saute_cold", "bar"]);
        assert_eq!(menu.expo_stations().count(), 1);
        for station in &prep {
            let routed = menu
                .items()
                .iter()
                .filter(|i| i.stations().iter().any(|s| s.as_str() == *station))
                .count();
            assert!(routed > 0, "nothing goes to {station}");
        }

        for item in menu.items() {
            assert!(!item.stations().is_empty(), "{} goes nowhere", item.id());
            if item.tax_class().id().as_str() == "food" {
                assert!(!item.recipe().is_empty(), "{} has no recipe", item.id());
            }
        }

        let categories: Vec<&str> = menu.categories().iter().map(|c| c.id().as_str()).collect();
        for wanted in [
            "starters",
            "salads",
            "burgers",
            "steaks",
            "mains",
            "sides",
            "desserts",
            "cocktails",
            "beer",
            "wine",
            "soft_drinks",
        ] {
            assert!(categories.contains(&wanted), "no {wanted}");
            assert!(
                menu.items_in(&CategoryId::new(wanted)).count() > 0,
                "empty {wanted}"
            );
        }
        assert_eq!(categories[0], "starters", "categories keep file order");

        let has_forced = |item: &MenuItem, modifier: &str| {
            item.modifier_groups().iter().any(|g| {
                menu.modifier_group(g).is_some_and(|g| {
                    g.is_forced() && g.modifiers().iter().any(|m| m.as_str() == modifier)
                })
            })
        };
        for category in ["burgers", "steaks"] {
            for item in menu.items_in(&CategoryId::new(category)) {
                assert!(
                    has_forced(item, "medium_rare"),
                    "{} has no forced doneness",
                    item.id()
                );
            }
        }
        for item in menu.items_in(&CategoryId::new("salads")) {
            assert!(
                has_forced(item, "dressing_ranch"),
                "{} has no forced dressing",
                item.id()
            );
        }

        let tax_classes: Vec<&str> = menu.tax_classes().map(|c| c.id().as_str()).collect();
        assert_eq!(tax_classes, ["alcohol", "food", "soft_drink"]);
    }

    #[test]
    fn importing_the_same_file_twice_gives_equal_menus() {
        assert_eq!(sample(), sample());
        assert_eq!(fixture(), fixture());
        assert_ne!(sample(), fixture());
    }

    #[test]
    fn sample_burger_with_no_cheese_and_bacon_uses_the_adjusted_recipe() {
        let menu = sample();
        let burger = ItemId::new("classic_burger");
        let chosen = ids(&["medium_rare", "no_cheese", "add_bacon"]);
        let line = menu.price_line(&burger, &chosen, 2).expect("priced");
        assert_eq!(line.unit_price(), m("16.50"));
        assert_eq!(line.amount(), m("33.00"));

        let mut expected = menu.item(&burger).expect("on the menu").recipe().clone();
        expected.remove(&IngredientId::new("cheddar_slice"));
        expected.insert(IngredientId::new("bacon"), dec!(2));
        for quantity in expected.values_mut() {
            *quantity *= dec!(2);
        }
        assert_eq!(menu.ingredients_for(&burger, &chosen, 2), expected);
    }

    // ---- pricing a line -----------------------------------------------------------------

    /// Prices a line on the fixture menu and compares (unit price, amount, modifiers in order)
    /// or the refusal.
    fn check_price(
        item: &str,
        modifiers: &[&str],
        qty: u32,
        expected: Result<(&str, &str, &[&str]), MenuError>,
    ) {
        let menu = fixture();
        let actual = menu
            .price_line(&ItemId::new(item), &ids(modifiers), qty)
            .map(|line| {
                let chosen: Vec<String> =
                    line.modifiers().iter().map(|m| m.id.to_string()).collect();
                (line.unit_price(), line.amount(), chosen)
            });
        let expected = expected.map(|(unit, amount, chosen)| {
            (
                m(unit),
                m(amount),
                chosen.iter().map(|s| (*s).to_owned()).collect(),
            )
        });
        assert_eq!(actual, expected, "{item} {modifiers:?} × {qty}");
    }

    #[test]
    fn price_line_applies_the_modifier_rules() {
        let burger = ItemId::new("classic_burger");
        let fries = ItemId::new("fries");
        let group = ModifierGroupId::new;
        check_price(
            "classic_burger",
            &["medium_rare"],
            1,
            Ok(("14.50", "14.50", &["medium_rare"])),
        );
        // Chosen in any order; recorded in the order the groups list them.
        check_price(
            "classic_burger",
            &["sub_gf_bun", "add_bacon", "well_done"],
            2,
            Ok(("18.00", "36.00", &["well_done", "add_bacon", "sub_gf_bun"])),
        );
        check_price(
            "fries",
            &["aioli", "ketchup"],
            3,
            Ok(("5.75", "17.25", &["ketchup", "aioli"])),
        );
        check_price(
            "classic_burger",
            &[],
            1,
            Err(MenuError::MissingForcedChoice {
                item: burger.clone(),
                group: group("doneness"),
            }),
        );
        check_price(
            "classic_burger",
            &["add_bacon"],
            1,
            Err(MenuError::MissingForcedChoice {
                item: burger.clone(),
                group: group("doneness"),
            }),
        );
        check_price(
            "classic_burger",
            &["medium_rare", "well_done"],
            1,
            Err(MenuError::TooManyChoices {
                item: burger.clone(),
                group: group("doneness"),
                max: 1,
                chosen: 2,
            }),
        );
        check_price(
            "classic_burger",
            &["medium_rare", "add_bacon", "extra_cheese", "no_onions"],
            1,
            Err(MenuError::TooManyChoices {
                item: burger.clone(),
                group: group("extras"),
                max: 2,
                chosen: 3,
            }),
        );
        check_price(
            "fries",
            &[],
            1,
            Err(MenuError::TooFewChoices {
                item: fries.clone(),
                group: group("dips"),
                min: 1,
                chosen: 0,
            }),
        );
        check_price(
            "classic_burger",
            &["medium_rare", "ketchup"],
            1,
            Err(MenuError::ModifierNotOffered {
                item: burger.clone(),
                modifier: ModifierId::new("ketchup"),
            }),
        );
        check_price(
            "classic_burger",
            &["medium_rare", "truffle"],
            1,
            Err(MenuError::ModifierNotOffered {
                item: burger.clone(),
                modifier: ModifierId::new("truffle"),
            }),
        );
        check_price(
            "classic_burger",
            &["medium_rare", "medium_rare"],
            1,
            Err(MenuError::DuplicateModifier {
                item: burger.clone(),
                modifier: ModifierId::new("medium_rare"),
            }),
        );
        check_price(
            "fries",
            &["ketchup", "staff_discount"],
            1,
            Err(MenuError::NegativePrice {
                item: fries,
                unit_price: m("-1.00"),
            }),
        );
        check_price(
            "classic_burger",
            &["medium_rare"],
            0,
            Err(MenuError::ZeroQuantity { item: burger }),
        );
        check_price(
            "lobster",
            &[],
            1,
            Err(MenuError::UnknownItem {
                item: ItemId::new("lobster"),
            }),
        );
    }

    #[test]
    fn a_priced_line_records_routing_tax_and_allergens_as_sold() {
        let menu = fixture();
        let line = menu
            .price_line(
                &ItemId::new("classic_burger"),
                &ids(&["well_done", "sub_gf_bun"]),
                1,
            )
            .expect("priced");
        assert_eq!(line.name(), "Classic Burger");
        assert_eq!(
            line.stations(),
            ids::<StationId>(&["grill", "fry"]).as_slice()
        );
        assert_eq!(line.tax_class().id().as_str(), "food");
        assert_eq!(line.prep_secs(), 600);
        let forced: Vec<(&str, bool)> = line
            .modifiers()
            .iter()
            .map(|m| (m.id.as_str(), m.forced))
            .collect();
        assert_eq!(forced, [("well_done", true), ("sub_gf_bun", false)]);
        // The gluten-free bun brings eggs in; a modifier never takes an allergen away.
        let allergens: Vec<&str> = line.allergens().iter().map(|a| a.key()).collect();
        assert_eq!(allergens, ["gluten", "eggs", "milk", "sesame"]);

        // 16.00 × 8.875% = 1.42
        let totals = check_totals(OrderType::DineIn, &[line.taxable()], None).expect("totals");
        assert_eq!((totals.tax_added, totals.total), (m("1.42"), m("17.42")));
        let totals = check_totals(
            OrderType::Takeout,
            &[line.taxable()],
            Some(CheckDiscount::Amount(m("1.00"))),
        )
        .expect("totals");
        assert_eq!((totals.tax_added, totals.total), (m("1.33"), m("16.33")));
    }

    // ---- ingredients ---------------------------------------------------------------------

    fn check_ingredients(item: &str, modifiers: &[&str], qty: u32, expected: &[(&str, Decimal)]) {
        let actual = fixture().ingredients_for(&ItemId::new(item), &ids(modifiers), qty);
        let expected: BTreeMap<IngredientId, Decimal> = expected
            .iter()
            .map(|(id, q)| (IngredientId::new(*id), *q))
            .collect();
        assert_eq!(actual, expected, "{item} {modifiers:?} × {qty}");
    }

    #[test]
    fn ingredients_follow_the_recipe_and_its_modifiers() {
        let recipe_of_one = [
            ("beef_patty", dec!(1)),
            ("brioche_bun", dec!(1)),
            ("cheddar", dec!(1)),
            ("potato_fries", dec!(150)),
            ("red_onion", dec!(20.5)),
        ];
        check_ingredients("classic_burger", &["medium_rare"], 1, &recipe_of_one);
        check_ingredients(
            "classic_burger",
            &["medium_rare", "no_cheese", "add_bacon"],
            1,
            &[
                ("bacon", dec!(2)),
                ("beef_patty", dec!(1)),
                ("brioche_bun", dec!(1)),
                ("potato_fries", dec!(150)),
                ("red_onion", dec!(20.5)),
            ],
        );
        check_ingredients(
            "classic_burger",
            &["sub_gf_bun", "no_onions", "well_done"],
            3,
            &[
                ("beef_patty", dec!(3)),
                ("cheddar", dec!(3)),
                ("gf_bun", dec!(3)),
                ("potato_fries", dec!(450)),
            ],
        );
        // Removals come before additions, whatever order they were chosen in.
        for order in [["extra_cheese", "no_cheese"], ["no_cheese", "extra_cheese"]] {
            check_ingredients(
                "classic_burger",
                &order,
                2,
                &[
                    ("beef_patty", dec!(2)),
                    ("brioche_bun", dec!(2)),
                    ("cheddar", dec!(2)),
                    ("potato_fries", dec!(300)),
                    ("red_onion", dec!(41)),
                ],
            );
        }
        // A sale from another device is never refused here: unknown ids change nothing, and a
        // modifier listed twice counts once.
        check_ingredients("classic_burger", &["gold_leaf"], 1, &recipe_of_one);
        check_ingredients(
            "classic_burger",
            &["add_bacon", "add_bacon"],
            1,
            &[
                ("bacon", dec!(2)),
                ("beef_patty", dec!(1)),
                ("brioche_bun", dec!(1)),
                ("cheddar", dec!(1)),
                ("potato_fries", dec!(150)),
                ("red_onion", dec!(20.5)),
            ],
        );
        check_ingredients("lobster", &[], 1, &[]);
    }

    // ---- refusing a bad file -------------------------------------------------------------

    /// Edits the fixture (`find` → `replace`, which must match), loads it, and checks the refusal
    /// names the line holding `line_of` (in the edited text) and says `expected`.
    fn check_refusal(find: &str, replace: &str, line_of: &str, expected: &str) {
        assert!(FIXTURE.contains(find), "fixture has no {find:?}");
        let text = FIXTURE.replacen(find, replace, 1);
        let err = match Menu::from_toml_str(&text) {
            Ok(_) => panic!("{replace:?} was accepted"),
            Err(err) => err.to_string(),
        };
        let at = text
            .find(line_of)
            .unwrap_or_else(|| panic!("edited text has no {line_of:?}"));
        let line = line_of_offset(&text, at);
        assert!(
            err.starts_with(&format!("line {line}: ")) && err.contains(expected),
            "for {replace:?}\n  got:  {err}\n  want: line {line}: …{expected}…"
        );
    }

    fn line_of_offset(text: &str, offset: usize) -> usize {
        super::line_of(text, offset)
    }

    #[test]
    fn a_bad_file_is_refused_with_its_place() {
        let cases: &[(&str, &str, &str, &str)] = &[
            // (find, replace, the line named, what the message says)
            (
                "price = \"14.50\"",
                "pirce = \"14.50\"",
                "pirce",
                "items.classic_burger: unknown field `pirce`, expected one of `name`",
            ),
            (
                "price = \"14.50\"",
                "price = \"14.5x\"",
                "14.5x",
                "items.classic_burger.price: `14.5x` is not a price",
            ),
            (
                "price = \"14.50\"",
                "price = \"-14.50\"",
                "-14.50",
                "items.classic_burger.price: an item's price may not be negative, not -14.50",
            ),
            (
                "price = \"14.50\"",
                "price = 14.50",
                "14.50",
                "items.classic_burger: invalid type: floating point `14.5`, expected a price written as a string",
            ),
            (
                "price = \"2.00\"",
                "price = \"2.001\"",
                "2.001",
                "modifiers.add_bacon.price: `2.001` is not a price",
            ),
            (
                "modifiers = [\"medium_rare\", \"well_done\"]",
                "modifiers = [\"medium_rare\", \"wel_done\"]",
                "wel_done",
                "modifier_groups.doneness.modifiers: modifier `wel_done` is not defined",
            ),
            (
                "modifier_groups = [\"doneness\", \"extras\", \"bun\"]",
                "modifier_groups = [\"donenes\", \"extras\", \"bun\"]",
                "\"donenes\"",
                "items.classic_burger.modifier_groups: modifier group `donenes` is not defined",
            ),
            (
                "category = \"burgers\"\nprice",
                "category = \"burger\"\nprice",
                "\"burger\"",
                "items.classic_burger.category: category `burger` is not defined",
            ),
            (
                "stations = [\"fry\"]\nprice",
                "stations = [\"fryer\"]\nprice",
                "fryer",
                "items.fries.stations: station `fryer` is not defined",
            ),
            (
                "stations = [\"fry\"]\nprice",
                "stations = [\"expo\"]\nprice",
                "[\"expo\"]\nprice",
                "items.fries.stations: `expo` is an expo station",
            ),
            (
                "tax_class = \"food\"",
                "tax_class = \"fod\"",
                "fod",
                "categories.burgers.tax_class: tax class `fod` is not defined",
            ),
            (
                "rates = [\"sales\"]",
                "rates = [\"sale\"]",
                "\"sale\"",
                "tax_classes.food.rates: tax rate `sale` is not defined",
            ),
            (
                "recipe = { potato_fries = 200 }",
                "recipe = { potatoes = 200 }",
                "potatoes",
                "items.fries.recipe: ingredient `potatoes` is not defined",
            ),
            (
                "recipe = { potato_fries = 200 }",
                "recipe = { potato_fries = 200.5 }",
                "200.5",
                "items.fries: invalid type: floating point `200.5`, expected a whole number",
            ),
            (
                "recipe = { potato_fries = 200 }",
                "recipe = { potato_fries = \"0\" }",
                "\"0\"",
                "items.fries.recipe.potato_fries: a quantity is more than 0",
            ),
            (
                "add = { bacon = 2 }",
                "add = { bacon = \"two\" }",
                "two",
                "modifiers.add_bacon.add.bacon: `two` is not a number",
            ),
            (
                "allergens = [\"gluten\", \"sesame\", \"milk\"]",
                "allergens = [\"gluten\", \"sesame\"]",
                "[\"gluten\", \"sesame\"]\nprep_secs",
                "items.classic_burger.allergens: `milk` is missing: the recipe's `cheddar` contains it",
            ),
            (
                "allergens = [\"gluten\", \"sesame\", \"milk\"]",
                "allergens = [\"gluten\", \"sesame\", \"milk\", \"nuts\"]",
                "nuts",
                "unknown variant `nuts`, expected one of `celery`",
            ),
            (
                "[items.fries]",
                "[items.\"Fries\"]",
                "[items.\"Fries\"]",
                "items.\"Fries\": an id is 1 to 64 characters",
            ),
            (
                "[items.fries]",
                "[itemz.fries]",
                "[itemz.fries]",
                "unknown field `itemz`",
            ),
            (
                "kind = \"forced\"",
                "kind = \"forced\"\nmax = 1",
                "max = 1",
                "modifier_groups.doneness: a forced group is exactly one choice",
            ),
            (
                "max = 2\nmodifiers = [\"add_bacon\"",
                "max = 5\nmodifiers = [\"add_bacon\"",
                "max = 5",
                "modifier_groups.extras: min 0 and max 5 do not fit a group of 4 modifiers",
            ),
            (
                "modifier_groups = [\"dips\", \"staff\"]",
                "modifier_groups = [\"dips\", \"staff\", \"extras\"]",
                "\"extras\"]\nrecipe = { potato_fries",
                "items.fries.modifier_groups: modifier `no_cheese` (group `extras`) removes or replaces only ingredients the recipe does not have",
            ),
            (
                "replace = { brioche_bun = \"gf_bun\" }",
                "replace = { brioche_bun = \"red_onion\" }",
                "\"red_onion\" }",
                "modifiers.sub_gf_bun.replace.brioche_bun: `brioche_bun` and `red_onion` are counted in different units",
            ),
            (
                "prep_secs = 300",
                "prep_secs = 0",
                "prep_secs = 0",
                "items.fries.prep_secs: a prep-time target is at least 1 second",
            ),
            (
                "prep_secs = 300\n",
                "",
                "[items.fries]",
                "items.fries: missing field `prep_secs`",
            ),
            ("[stations.fry]", "[stations.fry", "[stations.fry", ""),
        ];
        for (find, replace, line_of, expected) in cases {
            check_refusal(find, replace, line_of, expected);
        }
    }

    #[test]
    fn refusals_are_typed() {
        let undefined = Menu::from_toml_str(&FIXTURE.replacen(
            "\"doneness\", \"extras\"",
            "\"donenes\", \"extras\"",
            1,
        ));
        match undefined {
            Err(MenuError::Undefined { at, kind, id }) => {
                assert_eq!(at.path(), "items.classic_burger.modifier_groups");
                assert_eq!((kind, id.as_str()), (RefKind::ModifierGroup, "donenes"));
                assert!(at.line().is_some());
            }
            other => panic!("expected Undefined, got {other:?}"),
        }
        let huge = "#".repeat(MAX_MENU_BYTES + 1);
        assert!(matches!(
            Menu::from_toml_str(&huge),
            Err(MenuError::TooLarge { .. })
        ));
        // An empty file is an empty menu.
        let empty = Menu::from_toml_str("").expect("empty menu");
        assert!(empty.items().is_empty() && empty.name().is_none());
    }

    #[test]
    fn an_item_takes_routing_and_tax_from_its_category_unless_it_says_otherwise() {
        let menu = fixture();
        let burger = menu.item(&ItemId::new("classic_burger")).expect("burger");
        assert_eq!(
            burger.stations(),
            ids::<StationId>(&["grill", "fry"]).as_slice()
        );
        let fries = menu.item(&ItemId::new("fries")).expect("fries");
        assert_eq!(fries.stations(), ids::<StationId>(&["fry"]).as_slice());
        assert_eq!(fries.tax_class().id().as_str(), "food");
        let rates = fries.tax_class().rates_for(OrderType::Online);
        assert_eq!(rates.len(), 1);
        assert_eq!(rates[0].percent(), dec!(8.875));

        let no_tax = FIXTURE.replacen("tax_class = \"food\"\n", "", 1);
        let err = Menu::from_toml_str(&no_tax).expect_err("no tax class anywhere");
        assert!(
            err.to_string()
                .contains("items.classic_burger: no tax class"),
            "{err}"
        );
    }
}
