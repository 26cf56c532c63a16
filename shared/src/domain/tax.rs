//! Tax: rates, tax classes, and the totals of a check.
//!
//! # Model
//!
//! A [`TaxRate`] is a percentage that is either **exclusive** (added on top of the listed price,
//! like US sales tax) or **inclusive** (already contained in the listed price, like VAT). A
//! [`TaxClass`] (food, alcohol, soft drinks) says which rates apply to an item, by
//! [`OrderType`]: one list of rates for every order type, and optionally a different list for
//! some of them (the same sandwich may be standard-rated eaten in and zero-rated taken away). A
//! line may carry several rates (a state and a city tax), but a class's rates for one order type
//! are all inclusive or all exclusive: a mix is refused when the class is built.
//!
//! Lines carry their whole tax class, rates included, as it was when they were sold, so a later
//! change of rate never changes an old check.
//!
//! # How a check's totals are computed ([`check_totals`])
//!
//! 1. **Subtotal** = Σ line amounts, as listed (inclusive tax inside, exclusive tax not).
//! 2. **Discount**: a fixed amount, or a percentage of the subtotal rounded once to the cent with
//!    the store's rounding policy ([`Money::round`]). It may not exceed the subtotal.
//! 3. Lines are grouped by the set of rates that apply to them for the check's order type (a *tax
//!    group*; with one rate per class, one group per rate). The discount is spread across the
//!    groups in proportion to their gross amounts with [`Money::allocate`], so the parts sum to the
//!    discount exactly; each group's *net* is its gross minus its part.
//! 4. Each rate's **taxable base** = Σ net of the groups that carry it.
//! 5. **Tax is computed once per rate per check** and rounded once with [`Money::round`]:
//!    - exclusive rate `p`: `base × p / 100`;
//!    - inclusive rate `p`: the tax contained, `Σ over its groups of net × p / (100 + P)`, where
//!      `P` is the sum of the group's (inclusive) rates. The sum is formed as one exact fraction and
//!      divided once, so it rounds exactly as the true value would.
//! 6. **Total** = subtotal − discount + exclusive tax. Inclusive tax is inside the subtotal; it is
//!    reported as `tax_included`.
//!
//! Rounding per rate per check (not per line) keeps each rate's tax within half a cent of the
//! exact tax on the whole check, however many lines it has.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::id::string_id;
use super::money::{Money, MoneyError};
use super::order::OrderType;

string_id!(
    /// A tax rate's id: its key in the menu file (`[tax_rates.sales]`).
    TaxRateId
);
string_id!(
    /// A tax class's id: its key in the menu file (`[tax_classes.food]`).
    TaxClassId
);

const HUNDRED: Decimal = Decimal::ONE_HUNDRED;

/// What is wrong with a tax definition or a check's totals.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxError {
    #[error("tax rate `{rate}`: {percent}% is not a tax rate (expected 0 to 100)")]
    BadRatePercent { rate: TaxRateId, percent: Decimal },
    #[error("tax class `{class}` lists rate `{rate}` twice for {}", scope(*.order_type))]
    DuplicateRate {
        class: TaxClassId,
        rate: TaxRateId,
        order_type: Option<OrderType>,
    },
    #[error(
        "tax class `{class}` mixes inclusive and exclusive rates for {}; use one kind per class",
        scope(*.order_type)
    )]
    MixedInclusion {
        class: TaxClassId,
        order_type: Option<OrderType>,
    },
    #[error("line {index} has a negative amount ({amount}); a check's lines are never negative")]
    NegativeLine { index: usize, amount: Money },
    #[error("a discount of {discount} is negative")]
    NegativeDiscount { discount: Money },
    #[error("a discount of {discount} exceeds the subtotal of {subtotal}")]
    DiscountExceedsSubtotal { discount: Money, subtotal: Money },
    #[error("a discount of {percent}% is not a percentage (expected 0 to 100)")]
    BadDiscountPercent { percent: Decimal },
    #[error(transparent)]
    Money(#[from] MoneyError),
}

fn scope(order_type: Option<OrderType>) -> String {
    match order_type {
        Some(order_type) => format!("{order_type} orders"),
        None => "every order type".to_owned(),
    }
}

/// One tax rate: a percentage, inclusive or exclusive.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaxRate {
    id: TaxRateId,
    name: String,
    percent: Decimal,
    inclusive: bool,
}

impl TaxRate {
    /// A rate of `percent` % (8.875 for 8.875 %), from 0 to 100.
    pub fn new(
        id: TaxRateId,
        name: impl Into<String>,
        percent: Decimal,
        inclusive: bool,
    ) -> Result<TaxRate, TaxError> {
        if percent.is_sign_negative() || percent > HUNDRED {
            return Err(TaxError::BadRatePercent { rate: id, percent });
        }
        Ok(TaxRate {
            id,
            name: name.into(),
            percent: percent.normalize(),
            inclusive,
        })
    }

    pub fn id(&self) -> &TaxRateId {
        &self.id
    }

    /// The name printed on receipts and reports ("Sales tax", "VAT 20%").
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The rate in percent (8.875 means 8.875 %).
    pub fn percent(&self) -> Decimal {
        self.percent
    }

    /// True when the listed price already contains this tax.
    pub fn is_inclusive(&self) -> bool {
        self.inclusive
    }
}

/// Which rates apply to an item, by order type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TaxClass {
    id: TaxClassId,
    name: String,
    rates: Vec<TaxRate>,
    by_order_type: BTreeMap<OrderType, Vec<TaxRate>>,
}

impl TaxClass {
    /// A class whose `rates` apply to every order type except those in `by_order_type`, which
    /// have their own list (possibly empty: untaxed). Refuses a rate listed twice in one list, and
    /// a list mixing inclusive and exclusive rates.
    pub fn new(
        id: TaxClassId,
        name: impl Into<String>,
        rates: Vec<TaxRate>,
        by_order_type: BTreeMap<OrderType, Vec<TaxRate>>,
    ) -> Result<TaxClass, TaxError> {
        let rates = canonical_rates(&id, None, rates)?;
        let by_order_type = by_order_type
            .into_iter()
            .map(|(order_type, list)| {
                Ok((order_type, canonical_rates(&id, Some(order_type), list)?))
            })
            .collect::<Result<_, TaxError>>()?;
        Ok(TaxClass {
            id,
            name: name.into(),
            rates,
            by_order_type,
        })
    }

    pub fn id(&self) -> &TaxClassId {
        &self.id
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The rates that apply to an order of this type, sorted by rate id.
    pub fn rates_for(&self, order_type: OrderType) -> &[TaxRate] {
        self.by_order_type.get(&order_type).unwrap_or(&self.rates)
    }

    /// The rates for every order type without its own list.
    pub fn default_rates(&self) -> &[TaxRate] {
        &self.rates
    }

    /// The order types with their own list of rates.
    pub fn overrides(&self) -> impl Iterator<Item = (&OrderType, &[TaxRate])> {
        self.by_order_type
            .iter()
            .map(|(ot, list)| (ot, list.as_slice()))
    }
}

/// Sorts a rate list (so equal sets compare equal) and checks it.
fn canonical_rates(
    class: &TaxClassId,
    order_type: Option<OrderType>,
    mut rates: Vec<TaxRate>,
) -> Result<Vec<TaxRate>, TaxError> {
    rates.sort();
    if let Some(pair) = rates.windows(2).find(|pair| pair[0].id == pair[1].id) {
        return Err(TaxError::DuplicateRate {
            class: class.clone(),
            rate: pair[0].id.clone(),
            order_type,
        });
    }
    let inclusive = rates.iter().filter(|r| r.inclusive).count();
    if inclusive != 0 && inclusive != rates.len() {
        return Err(TaxError::MixedInclusion {
            class: class.clone(),
            order_type,
        });
    }
    Ok(rates)
}

/// One line of a check as far as tax is concerned: its amount as listed (price × quantity, after
/// any line discount) and the tax class it was sold under.
#[derive(Debug, Clone, Copy)]
pub struct TaxableLine<'a> {
    pub amount: Money,
    pub tax_class: &'a TaxClass,
}

/// A discount on the whole check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckDiscount {
    /// A fixed amount off.
    Amount(Money),
    /// A percentage of the subtotal (10 means 10 %), from 0 to 100.
    Percent(Decimal),
}

/// The lines that share one set of rates, and their part of the check discount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxGroupTotal {
    /// The rates these lines carry (empty: untaxed), sorted by id.
    pub rates: Vec<TaxRate>,
    /// Σ of the lines' amounts.
    pub gross: Money,
    /// This group's part of the check discount.
    pub discount: Money,
    /// `gross − discount`.
    pub net: Money,
}

/// One rate's totals on a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateTotal {
    pub rate: TaxRate,
    /// Σ net of the groups carrying this rate (for an inclusive rate, tax included).
    pub base: Money,
    /// The tax, rounded once: added on top (exclusive) or contained in the base (inclusive).
    pub tax: Money,
}

/// A check's totals. See the module documentation for how each figure is computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckTotals {
    /// Σ line amounts as listed.
    pub subtotal: Money,
    /// The check discount, in money.
    pub discount: Money,
    /// The discount spread across tax groups; the parts sum to `discount`.
    pub groups: Vec<TaxGroupTotal>,
    /// Per rate: taxable base and tax, sorted by rate.
    pub rates: Vec<RateTotal>,
    /// Exclusive tax, added to the total.
    pub tax_added: Money,
    /// Inclusive tax, already contained in the subtotal.
    pub tax_included: Money,
    /// `subtotal − discount + tax_added`: what the guest pays before tips.
    pub total: Money,
}

impl CheckTotals {
    /// All tax on the check, added or contained (for reports).
    pub fn tax(&self) -> Result<Money, MoneyError> {
        self.tax_added.checked_add(self.tax_included)
    }
}

/// What one rate collects from the groups that carry it.
#[derive(Default)]
struct RateSum {
    base: Money,
    /// For inclusive rates: Σ net by the group's divisor `100 + P`.
    net_by_divisor: BTreeMap<Decimal, Decimal>,
}

/// The totals of a check of `order_type` with `lines` and an optional check-level `discount`.
pub fn check_totals(
    order_type: OrderType,
    lines: &[TaxableLine<'_>],
    discount: Option<CheckDiscount>,
) -> Result<CheckTotals, TaxError> {
    let mut gross_by_rates: BTreeMap<&[TaxRate], Money> = BTreeMap::new();
    for (index, line) in lines.iter().enumerate() {
        if line.amount.is_negative() {
            return Err(TaxError::NegativeLine {
                index,
                amount: line.amount,
            });
        }
        let gross = gross_by_rates
            .entry(line.tax_class.rates_for(order_type))
            .or_default();
        *gross = gross.checked_add(line.amount)?;
    }
    let subtotal = Money::sum(gross_by_rates.values().copied())?;
    let discount = discount_amount(subtotal, discount)?;
    let shares = if discount.is_zero() {
        vec![Money::ZERO; gross_by_rates.len()]
    } else {
        let weights = gross_by_rates
            .values()
            .map(|gross| {
                let cents = gross.minor_units()?;
                u64::try_from(cents).map_err(|_| MoneyError::Overflow)
            })
            .collect::<Result<Vec<u64>, MoneyError>>()?;
        discount.allocate(&weights)?
    };

    let mut groups = Vec::with_capacity(gross_by_rates.len());
    let mut by_rate: BTreeMap<&TaxRate, RateSum> = BTreeMap::new();
    for ((rates, gross), share) in gross_by_rates.into_iter().zip(shares) {
        let net = gross.checked_sub(share)?;
        let inclusive_percent: Decimal = rates
            .iter()
            .filter(|r| r.inclusive)
            .map(|r| r.percent)
            .sum();
        let divisor = HUNDRED + inclusive_percent;
        for rate in rates {
            let sum = by_rate.entry(rate).or_default();
            sum.base = sum.base.checked_add(net)?;
            let slot = sum.net_by_divisor.entry(divisor).or_default();
            *slot = slot.checked_add(net.amount()).ok_or(MoneyError::Overflow)?;
        }
        groups.push(TaxGroupTotal {
            rates: rates.to_vec(),
            gross,
            discount: share,
            net,
        });
    }

    let mut rate_totals = Vec::with_capacity(by_rate.len());
    let (mut tax_added, mut tax_included) = (Money::ZERO, Money::ZERO);
    for (rate, sum) in by_rate {
        let tax = if rate.inclusive {
            let tax = contained_tax(rate.percent, &sum.net_by_divisor)?;
            tax_included = tax_included.checked_add(tax)?;
            tax
        } else {
            let tax = sum.base.checked_mul_rounded(rate.percent / HUNDRED)?;
            tax_added = tax_added.checked_add(tax)?;
            tax
        };
        rate_totals.push(RateTotal {
            rate: rate.clone(),
            base: sum.base,
            tax,
        });
    }

    let total = subtotal.checked_sub(discount)?.checked_add(tax_added)?;
    Ok(CheckTotals {
        subtotal,
        discount,
        groups,
        rates: rate_totals,
        tax_added,
        tax_included,
        total,
    })
}

fn discount_amount(subtotal: Money, discount: Option<CheckDiscount>) -> Result<Money, TaxError> {
    let amount = match discount {
        None => return Ok(Money::ZERO),
        Some(CheckDiscount::Amount(amount)) => amount,
        Some(CheckDiscount::Percent(percent)) => {
            if percent.is_sign_negative() || percent > HUNDRED {
                return Err(TaxError::BadDiscountPercent { percent });
            }
            subtotal.checked_mul_rounded(percent / HUNDRED)?
        }
    };
    if amount.is_negative() {
        return Err(TaxError::NegativeDiscount { discount: amount });
    }
    if amount > subtotal {
        return Err(TaxError::DiscountExceedsSubtotal {
            discount: amount,
            subtotal,
        });
    }
    Ok(amount)
}

/// `Σ net_k × percent / divisor_k`, rounded once. The terms are added as one fraction
/// (`a/b + n/d = (a·d + n·b) / (b·d)`) and divided once, so a result that lands exactly on half a
/// cent is exact and rounds by the policy, never by an artefact of a truncated division.
fn contained_tax(
    percent: Decimal,
    net_by_divisor: &BTreeMap<Decimal, Decimal>,
) -> Result<Money, MoneyError> {
    let mut numerator = Decimal::ZERO;
    let mut denominator = Decimal::ONE;
    for (divisor, net) in net_by_divisor {
        numerator = numerator
            .checked_mul(*divisor)
            .and_then(|a| net.checked_mul(denominator).and_then(|b| a.checked_add(b)))
            .ok_or(MoneyError::Overflow)?;
        denominator = denominator
            .checked_mul(*divisor)
            .ok_or(MoneyError::Overflow)?;
    }
    let exact = numerator
        .checked_mul(percent)
        .and_then(|n| n.checked_div(denominator))
        .ok_or(MoneyError::Overflow)?;
    Ok(Money::round(exact))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn m(s: &str) -> Money {
        s.parse().expect("test amount")
    }

    fn rate(id: &str, percent: Decimal, inclusive: bool) -> TaxRate {
        TaxRate::new(TaxRateId::new(id), id, percent, inclusive).expect("test rate")
    }

    fn class(
        id: &str,
        rates: Vec<TaxRate>,
        by_order_type: Vec<(OrderType, Vec<TaxRate>)>,
    ) -> TaxClass {
        TaxClass::new(
            TaxClassId::new(id),
            id,
            rates,
            by_order_type.into_iter().collect(),
        )
        .expect("test class")
    }

    /// The tax classes the worked examples use.
    fn classes() -> BTreeMap<&'static str, TaxClass> {
        let vat20 = rate("vat20", dec!(20), true);
        let vat0 = rate("vat0", dec!(0), true);
        let state = rate("state", dec!(6.25), false);
        BTreeMap::from([
            // UK-style: standard-rated food, VAT inside the price.
            ("vat_food", class("vat_food", vec![vat20.clone()], vec![])),
            // Cold food: standard-rated eaten in, zero-rated taken away.
            (
                "cold_food",
                class(
                    "cold_food",
                    vec![vat20],
                    vec![(OrderType::Takeout, vec![vat0])],
                ),
            ),
            // New York City sales tax, added on top.
            (
                "nyc_food",
                class("nyc_food", vec![rate("sales", dec!(8.875), false)], vec![]),
            ),
            (
                "food7",
                class("food7", vec![rate("food", dec!(7), false)], vec![]),
            ),
            (
                "alcohol10",
                class("alcohol10", vec![rate("alcohol", dec!(10), false)], vec![]),
            ),
            // Two exclusive rates on one line when eaten in, one when taken away.
            (
                "meals",
                class(
                    "meals",
                    vec![state.clone(), rate("meals", dec!(0.75), false)],
                    vec![(OrderType::Takeout, vec![state])],
                ),
            ),
        ])
    }

    struct Case {
        name: &'static str,
        order_type: OrderType,
        /// (tax class, amount)
        lines: &'static [(&'static str, &'static str)],
        discount: Option<CheckDiscount>,
    }

    #[derive(Debug, PartialEq)]
    struct Expected {
        subtotal: &'static str,
        discount: &'static str,
        /// (rate id, taxable base, tax)
        rates: &'static [(&'static str, &'static str, &'static str)],
        tax_added: &'static str,
        tax_included: &'static str,
        total: &'static str,
    }

    /// Computes `case` and compares every figure with `expected`, to the cent.
    fn check(case: Case, expected: Expected) {
        let classes = classes();
        let lines: Vec<TaxableLine<'_>> = case
            .lines
            .iter()
            .map(|(class, amount)| TaxableLine {
                amount: m(amount),
                tax_class: &classes[class],
            })
            .collect();
        let totals = check_totals(case.order_type, &lines, case.discount)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let shown = |money: Money| money.to_string();
        let actual = (
            shown(totals.subtotal),
            shown(totals.discount),
            totals
                .rates
                .iter()
                .map(|r| (r.rate.id().to_string(), shown(r.base), shown(r.tax)))
                .collect::<Vec<_>>(),
            shown(totals.tax_added),
            shown(totals.tax_included),
            shown(totals.total),
        );
        let wanted = (
            expected.subtotal.to_owned(),
            expected.discount.to_owned(),
            expected
                .rates
                .iter()
                .map(|(id, base, tax)| ((*id).to_owned(), (*base).to_owned(), (*tax).to_owned()))
                .collect::<Vec<_>>(),
            expected.tax_added.to_owned(),
            expected.tax_included.to_owned(),
            expected.total.to_owned(),
        );
        assert_eq!(actual, wanted, "{}", case.name);
        let parts = Money::sum(totals.groups.iter().map(|g| g.discount)).expect("sum");
        assert_eq!(parts, totals.discount, "{}: discount parts", case.name);
    }

    #[test]
    fn worked_examples_to_the_cent() {
        use OrderType::{DineIn, Takeout};
        let cases = [
            (
                // 13.35 × 20/120 = 2.225, exactly half a cent: rounds away from zero.
                Case {
                    name: "20% VAT inclusive",
                    order_type: DineIn,
                    lines: &[("vat_food", "9.95"), ("vat_food", "3.40")],
                    discount: None,
                },
                Expected {
                    subtotal: "13.35",
                    discount: "0.00",
                    rates: &[("vat20", "13.35", "2.23")],
                    tax_added: "0.00",
                    tax_included: "2.23",
                    total: "13.35",
                },
            ),
            (
                // 11.35 × 20/120 = 1.891666…
                Case {
                    name: "20% VAT inclusive with a 2.00 discount",
                    order_type: DineIn,
                    lines: &[("vat_food", "9.95"), ("vat_food", "3.40")],
                    discount: Some(CheckDiscount::Amount(m("2.00"))),
                },
                Expected {
                    subtotal: "13.35",
                    discount: "2.00",
                    rates: &[("vat20", "11.35", "1.89")],
                    tax_added: "0.00",
                    tax_included: "1.89",
                    total: "11.35",
                },
            ),
            (
                // 23.75 × 8.875% = 2.1078125
                Case {
                    name: "8.875% sales tax exclusive",
                    order_type: DineIn,
                    lines: &[
                        ("nyc_food", "14.50"),
                        ("nyc_food", "6.25"),
                        ("nyc_food", "3.00"),
                    ],
                    discount: None,
                },
                Expected {
                    subtotal: "23.75",
                    discount: "0.00",
                    rates: &[("sales", "23.75", "2.11")],
                    tax_added: "2.11",
                    tax_included: "0.00",
                    total: "25.86",
                },
            ),
            (
                // 10.00 spread over 20.00 food and 19.00 alcohol: 5.128… and 4.871…; the spare
                // cent goes to the larger remainder (food): 5.13 and 4.87.
                // Food 14.87 × 7% = 1.0409; alcohol 14.13 × 10% = 1.413.
                Case {
                    name: "two rates, 10.00 off the check",
                    order_type: DineIn,
                    lines: &[
                        ("food7", "15.00"),
                        ("food7", "5.00"),
                        ("alcohol10", "7.00"),
                        ("alcohol10", "12.00"),
                    ],
                    discount: Some(CheckDiscount::Amount(m("10.00"))),
                },
                Expected {
                    subtotal: "39.00",
                    discount: "10.00",
                    rates: &[("alcohol", "14.13", "1.41"), ("food", "14.87", "1.04")],
                    tax_added: "2.45",
                    tax_included: "0.00",
                    total: "31.45",
                },
            ),
            (
                // 15% of 39.00 = 5.85: 3.00 off food, 2.85 off alcohol.
                // Food 17.00 × 7% = 1.19; alcohol 16.15 × 10% = 1.615, half a cent: 1.62.
                Case {
                    name: "two rates, 15% off the check",
                    order_type: DineIn,
                    lines: &[
                        ("food7", "15.00"),
                        ("food7", "5.00"),
                        ("alcohol10", "7.00"),
                        ("alcohol10", "12.00"),
                    ],
                    discount: Some(CheckDiscount::Percent(dec!(15))),
                },
                Expected {
                    subtotal: "39.00",
                    discount: "5.85",
                    rates: &[("alcohol", "16.15", "1.62"), ("food", "17.00", "1.19")],
                    tax_added: "2.81",
                    tax_included: "0.00",
                    total: "35.96",
                },
            ),
            (
                // 14.40 × 20/120 = 2.40
                Case {
                    name: "cold food eaten in: standard-rated",
                    order_type: DineIn,
                    lines: &[("cold_food", "6.00"), ("cold_food", "8.40")],
                    discount: None,
                },
                Expected {
                    subtotal: "14.40",
                    discount: "0.00",
                    rates: &[("vat20", "14.40", "2.40")],
                    tax_added: "0.00",
                    tax_included: "2.40",
                    total: "14.40",
                },
            ),
            (
                Case {
                    name: "the same cold food taken away: zero-rated",
                    order_type: Takeout,
                    lines: &[("cold_food", "6.00"), ("cold_food", "8.40")],
                    discount: None,
                },
                Expected {
                    subtotal: "14.40",
                    discount: "0.00",
                    rates: &[("vat0", "14.40", "0.00")],
                    tax_added: "0.00",
                    tax_included: "0.00",
                    total: "14.40",
                },
            ),
            (
                // 22.50 × 0.75% = 0.16875; 22.50 × 6.25% = 1.40625
                Case {
                    name: "meals eaten in: state and meals tax",
                    order_type: DineIn,
                    lines: &[("meals", "18.00"), ("meals", "4.50")],
                    discount: None,
                },
                Expected {
                    subtotal: "22.50",
                    discount: "0.00",
                    rates: &[("meals", "22.50", "0.17"), ("state", "22.50", "1.41")],
                    tax_added: "1.58",
                    tax_included: "0.00",
                    total: "24.08",
                },
            ),
            (
                Case {
                    name: "the same meals taken away: state tax only",
                    order_type: Takeout,
                    lines: &[("meals", "18.00"), ("meals", "4.50")],
                    discount: None,
                },
                Expected {
                    subtotal: "22.50",
                    discount: "0.00",
                    rates: &[("state", "22.50", "1.41")],
                    tax_added: "1.41",
                    tax_included: "0.00",
                    total: "23.91",
                },
            ),
            (
                Case {
                    name: "an empty check",
                    order_type: DineIn,
                    lines: &[],
                    discount: Some(CheckDiscount::Percent(dec!(10))),
                },
                Expected {
                    subtotal: "0.00",
                    discount: "0.00",
                    rates: &[],
                    tax_added: "0.00",
                    tax_included: "0.00",
                    total: "0.00",
                },
            ),
        ];
        for (case, expected) in cases {
            check(case, expected);
        }
    }

    #[test]
    fn refuses_impossible_checks() {
        let classes = classes();
        let food = &classes["food7"];
        let line = |amount: &str| TaxableLine {
            amount: m(amount),
            tax_class: food,
        };
        let totals =
            |lines: &[TaxableLine<'_>], discount| check_totals(OrderType::DineIn, lines, discount);
        assert_eq!(
            totals(&[line("5.00")], Some(CheckDiscount::Amount(m("5.01")))),
            Err(TaxError::DiscountExceedsSubtotal {
                discount: m("5.01"),
                subtotal: m("5.00")
            })
        );
        assert_eq!(
            totals(&[line("5.00")], Some(CheckDiscount::Amount(m("-1.00")))),
            Err(TaxError::NegativeDiscount {
                discount: m("-1.00")
            })
        );
        assert_eq!(
            totals(&[line("5.00")], Some(CheckDiscount::Percent(dec!(100.5)))),
            Err(TaxError::BadDiscountPercent {
                percent: dec!(100.5)
            })
        );
        assert_eq!(
            totals(&[line("5.00"), line("-1.00")], None),
            Err(TaxError::NegativeLine {
                index: 1,
                amount: m("-1.00")
            })
        );
        let all_off =
            totals(&[line("5.00")], Some(CheckDiscount::Percent(dec!(100)))).expect("totals");
        assert_eq!(all_off.total, Money::ZERO);
    }

    #[test]
    fn refuses_bad_tax_definitions() {
        assert!(matches!(
            TaxRate::new(TaxRateId::new("x"), "x", dec!(-1), false),
            Err(TaxError::BadRatePercent { .. })
        ));
        assert!(matches!(
            TaxRate::new(TaxRateId::new("x"), "x", dec!(100.01), false),
            Err(TaxError::BadRatePercent { .. })
        ));
        let mixed = TaxClass::new(
            TaxClassId::new("odd"),
            "Odd",
            vec![rate("vat", dec!(20), true), rate("sales", dec!(5), false)],
            BTreeMap::new(),
        );
        assert_eq!(
            mixed,
            Err(TaxError::MixedInclusion {
                class: TaxClassId::new("odd"),
                order_type: None
            })
        );
        let twice = TaxClass::new(
            TaxClassId::new("odd"),
            "Odd",
            vec![],
            BTreeMap::from([(
                OrderType::Delivery,
                vec![rate("sales", dec!(5), false), rate("sales", dec!(5), false)],
            )]),
        );
        let err = twice.expect_err("a rate listed twice");
        assert_eq!(
            err.to_string(),
            "tax class `odd` lists rate `sales` twice for delivery orders"
        );
    }

    #[test]
    fn several_inclusive_rates_share_the_price() {
        // 22.00 containing 20% and 2% inclusive: net of tax 22.00 / 1.22 = 18.0327…;
        // VAT 3.6065… → 3.61, levy 0.3606… → 0.36.
        let both = class(
            "both",
            vec![rate("vat20", dec!(20), true), rate("levy", dec!(2), true)],
            vec![],
        );
        let totals = check_totals(
            OrderType::DineIn,
            &[TaxableLine {
                amount: m("22.00"),
                tax_class: &both,
            }],
            None,
        )
        .expect("totals");
        let taxes: Vec<(String, Money)> = totals
            .rates
            .iter()
            .map(|r| (r.rate.id().to_string(), r.tax))
            .collect();
        assert_eq!(
            taxes,
            vec![
                ("levy".to_owned(), m("0.36")),
                ("vat20".to_owned(), m("3.61"))
            ]
        );
        assert_eq!(totals.total, m("22.00"));
        assert_eq!(totals.tax_included, m("3.97"));
    }

    /// Classes for the property test: exclusive, inclusive, two rates on a line, a rate shared
    /// between classes, untaxed, and one that changes with the order type.
    fn random_classes() -> Vec<TaxClass> {
        let sales = rate("sales", dec!(8.875), false);
        let vat = rate("vat", dec!(20), true);
        let reduced = rate("reduced", dec!(5), true);
        vec![
            class("food", vec![sales.clone()], vec![]),
            class(
                "liquor",
                vec![sales.clone(), rate("liquor", dec!(2.5), false)],
                vec![],
            ),
            class(
                "vat_food",
                vec![vat.clone()],
                vec![(OrderType::Takeout, vec![reduced.clone()])],
            ),
            class("vat_levy", vec![vat, rate("levy", dec!(1.5), true)], vec![]),
            class("exempt", vec![], vec![]),
            class(
                "odd",
                vec![reduced],
                vec![(OrderType::Delivery, vec![sales])],
            ),
        ]
    }

    fn any_order_type() -> impl Strategy<Value = OrderType> {
        prop::sample::select(OrderType::ALL.to_vec())
    }

    #[derive(Debug, Clone)]
    enum RandomDiscount {
        None,
        /// Thousandths of the subtotal, floored to the cent.
        Amount(u32),
        /// Percent with up to three decimals, in thousandths.
        Percent(u32),
    }

    fn any_discount() -> impl Strategy<Value = RandomDiscount> {
        prop_oneof![
            Just(RandomDiscount::None),
            (0u32..=1000).prop_map(RandomDiscount::Amount),
            (0u32..=100_000).prop_map(RandomDiscount::Percent),
        ]
    }

    proptest! {
        #[test]
        fn totals_add_up(
            raw_lines in prop::collection::vec((0usize..6, 0i64..200_000), 0..15),
            discount in any_discount(),
            order_type in any_order_type(),
        ) {
            let classes = random_classes();
            let lines: Vec<TaxableLine<'_>> = raw_lines
                .iter()
                .map(|(class, cents)| TaxableLine { amount: Money::from_minor(*cents), tax_class: &classes[*class] })
                .collect();
            let subtotal_cents: i64 = raw_lines.iter().map(|(_, cents)| cents).sum();
            let discount = match discount {
                RandomDiscount::None => None,
                RandomDiscount::Amount(permille) => Some(CheckDiscount::Amount(Money::from_minor(
                    subtotal_cents * i64::from(permille) / 1000,
                ))),
                RandomDiscount::Percent(thousandths) => {
                    Some(CheckDiscount::Percent(Decimal::new(i64::from(thousandths), 3)))
                }
            };
            let totals = check_totals(order_type, &lines, discount).expect("totals");

            let lines_sum = Money::sum(lines.iter().map(|l| l.amount)).expect("sum");
            prop_assert_eq!(totals.subtotal, lines_sum);
            let expected_total = lines_sum
                .checked_sub(totals.discount).expect("sub")
                .checked_add(totals.tax_added).expect("add");
            prop_assert_eq!(totals.total, expected_total);

            // The discount parts sum to the discount, and each is its proportional share to
            // within a cent.
            let parts = Money::sum(totals.groups.iter().map(|g| g.discount)).expect("sum");
            prop_assert_eq!(parts, totals.discount);
            for group in &totals.groups {
                prop_assert_eq!(group.net, group.gross.checked_sub(group.discount).expect("sub"));
                if !totals.subtotal.is_zero() {
                    let exact = totals.discount.amount() * group.gross.amount() / totals.subtotal.amount();
                    prop_assert!((group.discount.amount() - exact).abs() < dec!(0.01));
                }
            }

            // Each rate is rounded once on the whole check, by the one policy.
            let mut added = Money::ZERO;
            let mut included = Money::ZERO;
            for total in &totals.rates {
                let carried: Money = Money::sum(
                    totals.groups.iter().filter(|g| g.rates.contains(&total.rate)).map(|g| g.net),
                ).expect("sum");
                prop_assert_eq!(total.base, carried);
                if total.rate.is_inclusive() {
                    let exact: Decimal = totals.groups.iter()
                        .filter(|g| g.rates.contains(&total.rate))
                        .map(|g| {
                            let all: Decimal = g.rates.iter().map(|r| r.percent()).sum();
                            g.net.amount() * total.rate.percent() / (HUNDRED + all)
                        })
                        .sum();
                    prop_assert!((total.tax.amount() - exact).abs() <= dec!(0.005));
                    included = included.checked_add(total.tax).expect("add");
                } else {
                    prop_assert_eq!(total.tax, Money::round(total.base.amount() * total.rate.percent() / HUNDRED));
                    added = added.checked_add(total.tax).expect("add");
                }
            }
            prop_assert_eq!(totals.tax_added, added);
            prop_assert_eq!(totals.tax_included, included);
        }
    }
}
