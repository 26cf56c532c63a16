//! Stock levels and the rules derived from them: deduction by recipe, 86 at zero, oversold.
//!
//! # Rules
//!
//! - Stock is kept per ingredient, in the ingredient's unit, as an exact [`Decimal`]. Only
//!   ingredients that have a level are *tracked*; an ingredient never received or counted is not,
//!   and never makes anything run out.
//! - A sale deducts [`Menu::ingredients_for`] the line: the item's recipe adjusted by its
//!   modifiers ("no cheese" takes none, "add bacon" takes two rashers more), times the quantity.
//!   Only tracked ingredients are deducted.
//! - An item is **86'd** when any tracked ingredient of its recipe is at or below zero.
//! - **Portions left** of an item: how many of it the tracked stock still makes, the fewest over
//!   the tracked ingredients of its recipe (before modifiers) of the whole number of times the
//!   level holds the recipe's quantity ([`portions_left`]). An item none of whose ingredients is
//!   tracked has no count and is never low.
//! - An item is **low** when it has more than zero and fewer portions left than the store's
//!   threshold ([`is_low`]; the store setting `low_stock_portions`, default
//!   [`DEFAULT_LOW_STOCK_PORTIONS`], 0 for no alerts). At zero it is 86'd instead, not low.
//! - A sale is never refused here: a terminal refuses to *create* a sale of an 86'd item
//!   ([`super::check::Check::add_line`]), but one arriving from a peer that was offline is applied
//!   and comes back **oversold**: its item was already 86'd, or one of the ingredients it uses
//!   (an added extra) was already at or below zero. Levels may go negative; a count corrects them.
//!
//! These are projections of journal events (stock received, counted, adjusted; items sold), so
//! they are derived on every device the same way and never written back as events.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::menu::{IngredientId, ItemId, Menu, ModifierId};

/// The low-stock threshold a store starts with: an item shows as low below 10 portions left.
pub const DEFAULT_LOW_STOCK_PORTIONS: u32 = 10;

/// How many portions of a recipe (`uses`: ingredient quantities for one) the stock makes: for
/// each tracked ingredient (`level_of` gives its level, `None` when it is not tracked), the whole
/// number of times its level holds the quantity; the fewest of those. `None` when no ingredient
/// of the recipe is tracked. A level at or below zero makes none; a count too large for a `u32`
/// is `u32::MAX`.
pub fn portions_left(
    uses: &BTreeMap<IngredientId, Decimal>,
    level_of: impl Fn(&IngredientId) -> Option<Decimal>,
) -> Option<u32> {
    uses.iter()
        .filter(|(_, quantity)| **quantity > Decimal::ZERO)
        .filter_map(|(ingredient, quantity)| {
            let level = level_of(ingredient)?;
            if level <= Decimal::ZERO {
                return Some(0);
            }
            let portions = level
                .checked_div(*quantity)
                .map_or(u32::MAX, |p| p.floor().to_u32().unwrap_or(u32::MAX));
            Some(portions)
        })
        .min()
}

/// Whether an item with `portions` left shows as low under `threshold` (see the module
/// documentation): more than none, fewer than the threshold.
pub fn is_low(portions: u32, threshold: u32) -> bool {
    portions > 0 && portions < threshold
}

/// A refused stock change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InventoryError {
    #[error("a delivery of {quantity} `{ingredient}` must be more than zero")]
    NotADelivery {
        ingredient: IngredientId,
        quantity: Decimal,
    },
    #[error("a count of {quantity} `{ingredient}` may not be negative")]
    NegativeCount {
        ingredient: IngredientId,
        quantity: Decimal,
    },
    #[error("there is no ingredient `{0}` on the menu")]
    UnknownIngredient(IngredientId),
    #[error("the stock of `{0}` overflows")]
    Overflow(IngredientId),
}

/// What a sale did to stock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sale {
    /// Quantities taken off tracked ingredients.
    pub deducted: BTreeMap<IngredientId, Decimal>,
    /// The sale came in for something already out (see the module documentation).
    pub oversold: bool,
}

/// Stock levels of the tracked ingredients.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stock {
    levels: BTreeMap<IngredientId, Decimal>,
}

impl Stock {
    /// No ingredient tracked.
    pub fn new() -> Stock {
        Stock::default()
    }

    /// The level of an ingredient, or `None` when it is not tracked.
    pub fn level(&self, ingredient: &IngredientId) -> Option<Decimal> {
        self.levels.get(ingredient).copied()
    }

    /// Every tracked ingredient and its level.
    pub fn levels(&self) -> &BTreeMap<IngredientId, Decimal> {
        &self.levels
    }

    /// A delivery: adds `quantity` (more than zero) and starts tracking the ingredient.
    pub fn receive(
        &mut self,
        menu: &Menu,
        ingredient: &IngredientId,
        quantity: Decimal,
    ) -> Result<(), InventoryError> {
        known(menu, ingredient)?;
        if quantity <= Decimal::ZERO {
            return Err(InventoryError::NotADelivery {
                ingredient: ingredient.clone(),
                quantity,
            });
        }
        let level = self.level(ingredient).unwrap_or_default();
        let level = level
            .checked_add(quantity)
            .ok_or_else(|| InventoryError::Overflow(ingredient.clone()))?;
        self.levels.insert(ingredient.clone(), level.normalize());
        Ok(())
    }

    /// A count: sets the level to what is on the shelf (zero or more).
    pub fn count(
        &mut self,
        menu: &Menu,
        ingredient: &IngredientId,
        quantity: Decimal,
    ) -> Result<(), InventoryError> {
        known(menu, ingredient)?;
        if quantity.is_sign_negative() && !quantity.is_zero() {
            return Err(InventoryError::NegativeCount {
                ingredient: ingredient.clone(),
                quantity,
            });
        }
        self.levels.insert(ingredient.clone(), quantity.normalize());
        Ok(())
    }

    /// Whether an item is 86'd: a tracked ingredient of its recipe is at or below zero. An item
    /// not on the menu is not.
    pub fn is_eighty_sixed(&self, menu: &Menu, item: &ItemId) -> bool {
        menu.item(item).is_some_and(|item| {
            item.recipe()
                .keys()
                .any(|ingredient| self.is_out(ingredient))
        })
    }

    /// Every 86'd item on the menu: what [`super::check::Check::add_line`] refuses.
    pub fn eighty_sixed(&self, menu: &Menu) -> BTreeSet<ItemId> {
        menu.items()
            .iter()
            .map(|item| item.id())
            .filter(|id| self.is_eighty_sixed(menu, id))
            .cloned()
            .collect()
    }

    /// Applies a sale of `qty` of `item` with `modifiers`. Never refused; flagged oversold when
    /// it came in for something already out.
    pub fn sell(
        &mut self,
        menu: &Menu,
        item: &ItemId,
        modifiers: &[ModifierId],
        qty: u32,
    ) -> Result<Sale, InventoryError> {
        let uses = menu.ingredients_for(item, modifiers, qty);
        let oversold = self.is_eighty_sixed(menu, item) || uses.keys().any(|i| self.is_out(i));
        let mut levels = self.levels.clone();
        let mut deducted = BTreeMap::new();
        for (ingredient, quantity) in uses {
            let Some(level) = levels.get_mut(&ingredient) else {
                continue;
            };
            *level = level
                .checked_sub(quantity)
                .ok_or_else(|| InventoryError::Overflow(ingredient.clone()))?
                .normalize();
            deducted.insert(ingredient, quantity);
        }
        self.levels = levels;
        Ok(Sale { deducted, oversold })
    }

    fn is_out(&self, ingredient: &IngredientId) -> bool {
        self.level(ingredient)
            .is_some_and(|level| level <= Decimal::ZERO)
    }
}

fn known(menu: &Menu, ingredient: &IngredientId) -> Result<(), InventoryError> {
    match menu.ingredient(ingredient) {
        Some(_) => Ok(()),
        None => Err(InventoryError::UnknownIngredient(ingredient.clone())),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    use super::*;

    fn menu() -> &'static Menu {
        static MENU: OnceLock<Menu> = OnceLock::new();
        MENU.get_or_init(|| {
            Menu::from_toml_str(include_str!("../../../assets/menu.toml")).expect("sample menu")
        })
    }

    fn ing(id: &str) -> IngredientId {
        IngredientId::new(id)
    }

    fn mods(list: &[&str]) -> Vec<ModifierId> {
        list.iter().map(|m| ModifierId::new(*m)).collect()
    }

    /// Stock with every ingredient of the sample menu at `level`.
    fn stocked(level: Decimal) -> Stock {
        let mut stock = Stock::new();
        for ingredient in menu().ingredients() {
            stock.count(menu(), ingredient.id(), level).expect("count");
        }
        stock
    }

    /// Sells `qty` of `item` with `modifiers` on stock at 1000 of everything and compares the
    /// quantities deducted.
    fn check(item: &str, modifiers: &[&str], qty: u32, expected: &[(&str, Decimal)]) {
        let mut stock = stocked(dec!(1000));
        let sale = stock
            .sell(menu(), &ItemId::new(item), &mods(modifiers), qty)
            .expect("sale");
        let expected: BTreeMap<IngredientId, Decimal> =
            expected.iter().map(|(i, q)| (ing(i), *q)).collect();
        assert_eq!(sale.deducted, expected, "{item} {modifiers:?} × {qty}");
        assert!(!sale.oversold);
        for (ingredient, quantity) in &expected {
            assert_eq!(stock.level(ingredient), Some(dec!(1000) - quantity));
        }
    }

    #[test]
    fn a_sale_deducts_the_recipe_adjusted_by_its_modifiers() {
        let burger_without_cheese = [
            ("beef_patty", dec!(1)),
            ("brioche_bun", dec!(1)),
            ("iceberg", dec!(20)),
            ("tomato", dec!(30)),
            ("red_onion", dec!(15)),
            ("pickles", dec!(15)),
            ("house_sauce", dec!(20)),
            ("potato_fries", dec!(150)),
            ("fryer_oil", dec!(15)),
        ];
        let with_cheese = [
            burger_without_cheese.as_slice(),
            &[("cheddar_slice", dec!(1))],
        ]
        .concat();
        check("classic_burger", &["medium"], 1, &with_cheese);
        // No cheese and add bacon: no cheddar, two rashers of bacon.
        let adjusted = [burger_without_cheese.as_slice(), &[("bacon", dec!(2))]].concat();
        check(
            "classic_burger",
            &["medium", "no_cheese", "add_bacon"],
            1,
            &adjusted,
        );
        let doubled: Vec<(&str, Decimal)> =
            adjusted.iter().map(|(i, q)| (*i, q * dec!(2))).collect();
        check(
            "classic_burger",
            &["medium", "no_cheese", "add_bacon"],
            2,
            &doubled,
        );
        check("house_red_glass", &[], 3, &[("house_red", dec!(525))]);
    }

    #[test]
    fn only_tracked_ingredients_are_deducted() {
        let mut stock = Stock::new();
        stock
            .receive(menu(), &ing("beef_patty"), dec!(10))
            .expect("receive");
        let sale = stock
            .sell(
                menu(),
                &ItemId::new("classic_burger"),
                &mods(&["medium"]),
                2,
            )
            .expect("sale");
        assert_eq!(
            sale.deducted,
            BTreeMap::from([(ing("beef_patty"), dec!(2))])
        );
        assert_eq!(stock.level(&ing("beef_patty")), Some(dec!(8)));
        assert_eq!(stock.level(&ing("brioche_bun")), None);
    }

    #[test]
    fn an_item_is_86d_at_zero_and_a_later_sale_is_oversold() {
        let burger = ItemId::new("classic_burger");
        let mut stock = stocked(dec!(10000));
        stock
            .count(menu(), &ing("beef_patty"), dec!(1))
            .expect("count");
        assert!(!stock.is_eighty_sixed(menu(), &burger));

        let first = stock
            .sell(menu(), &burger, &mods(&["medium"]), 1)
            .expect("sale");
        assert!(!first.oversold);
        assert!(
            stock.is_eighty_sixed(menu(), &burger),
            "the last patty went"
        );
        let out = stock.eighty_sixed(menu());
        assert!(out.contains(&burger));
        assert!(out.contains(&ItemId::new("bacon_bbq_burger")));
        assert!(!out.contains(&ItemId::new("veggie_burger")));

        // From a terminal that was offline: accepted, flagged, and the level goes negative.
        let late = stock
            .sell(menu(), &burger, &mods(&["medium"]), 1)
            .expect("sale");
        assert!(late.oversold);
        assert_eq!(stock.level(&ing("beef_patty")), Some(dec!(-1)));

        // An extra that is out makes the sale oversold though the item is not 86'd.
        stock.count(menu(), &ing("bacon"), dec!(0)).expect("count");
        let chicken = ItemId::new("crispy_chicken_sandwich");
        assert!(!stock.is_eighty_sixed(menu(), &chicken));
        let extra = stock.sell(menu(), &chicken, &mods(&["add_bacon"]), 1);
        assert!(extra.map(|s| s.oversold).unwrap_or(false));
    }

    #[test]
    fn portions_left_are_the_fewest_whole_portions_over_the_tracked_ingredients() {
        fn check(levels: &[(&str, Decimal)], expected: Option<u32>) {
            let levels: BTreeMap<IngredientId, Decimal> =
                levels.iter().map(|(i, l)| (ing(i), *l)).collect();
            let uses = menu().ingredients_for(&ItemId::new("classic_burger"), &[], 1);
            let actual = portions_left(&uses, |i| levels.get(i).copied());
            assert_eq!(actual, expected, "{levels:?}");
        }
        // One patty and 150 g of fries a burger; nothing else tracked.
        check(&[], None);
        check(&[("lobster", dec!(3))], None);
        check(&[("beef_patty", dec!(6))], Some(6));
        check(
            &[("beef_patty", dec!(6)), ("potato_fries", dec!(1000))],
            Some(6),
        );
        check(
            &[("beef_patty", dec!(60)), ("potato_fries", dec!(1000))],
            Some(6),
        );
        check(
            &[("beef_patty", dec!(60)), ("potato_fries", dec!(149.9))],
            Some(0),
        );
        check(&[("beef_patty", dec!(6.5))], Some(6));
        check(&[("beef_patty", dec!(0))], Some(0));
        check(&[("beef_patty", dec!(-2))], Some(0));
        check(&[("beef_patty", Decimal::MAX)], Some(u32::MAX));
    }

    #[test]
    fn an_item_is_low_between_zero_and_the_threshold() {
        for (portions, threshold, low) in [
            (0, 10, false),
            (1, 10, true),
            (9, 10, true),
            (10, 10, false),
            (u32::MAX, 10, false),
            (1, 0, false),
            (1, 1, false),
            (1, 2, true),
        ] {
            assert_eq!(
                is_low(portions, threshold),
                low,
                "{portions} of {threshold}"
            );
        }
    }

    #[test]
    fn bad_stock_changes_are_refused() {
        let mut stock = Stock::new();
        assert_eq!(
            stock.receive(menu(), &ing("bacon"), dec!(0)),
            Err(InventoryError::NotADelivery {
                ingredient: ing("bacon"),
                quantity: dec!(0)
            })
        );
        assert_eq!(
            stock.count(menu(), &ing("bacon"), dec!(-1)),
            Err(InventoryError::NegativeCount {
                ingredient: ing("bacon"),
                quantity: dec!(-1)
            })
        );
        assert_eq!(
            stock.receive(menu(), &ing("unobtainium"), dec!(1)),
            Err(InventoryError::UnknownIngredient(ing("unobtainium")))
        );
        assert_eq!(stock, Stock::new());
    }

    const SALES: [(&str, &[&str]); 5] = [
        ("classic_burger", &["medium", "no_cheese", "add_bacon"]),
        (
            "classic_burger",
            &["well_done", "sub_gf_bun", "sub_side_salad"],
        ),
        ("house_red_glass", &[]),
        ("caesar_salad", &["dressing_caesar"]),
        ("bacon_bbq_burger", &["medium", "no_onions", "extra_cheese"]),
    ];

    proptest! {
        #[test]
        fn stock_balances(
            sales in prop::collection::vec((0..SALES.len(), 1u32..5), 0..30),
            start in 0u32..200,
        ) {
            let start = Decimal::from(start);
            let mut stock = stocked(start);
            let mut used: BTreeMap<IngredientId, Decimal> = BTreeMap::new();
            for (index, qty) in &sales {
                let (item, modifiers) = SALES[*index];
                let sale = stock.sell(menu(), &ItemId::new(item), &mods(modifiers), *qty).expect("sale");
                for (ingredient, quantity) in sale.deducted {
                    *used.entry(ingredient).or_default() += quantity;
                }
            }
            for (ingredient, level) in stock.levels() {
                let expected = start - used.get(ingredient).copied().unwrap_or_default();
                prop_assert_eq!(*level, expected.normalize(), "{}", ingredient);
                for item in menu().items().iter().filter(|i| i.recipe().contains_key(ingredient)) {
                    if *level <= Decimal::ZERO {
                        prop_assert!(stock.is_eighty_sixed(menu(), item.id()));
                    }
                }
            }
        }
    }
}
