//! Money: one currency per store, two decimal places, never a float.
//!
//! # The rounding policy (the only one in Pass)
//!
//! Amounts are held exactly as [`Decimal`]s. Whenever a computation produces more than two
//! decimal places (a percentage, a tax rate, a price times a fractional quantity), the result is
//! rounded **once, to the cent, half away from zero** ([`ROUNDING`]), at the point the domain
//! documents (per tax rate on a check, per discount). Splitting and allocating never round: they
//! hand out the remainder one cent at a time, so the parts always sum to the whole.
//!
//! On the wire and in JSON a `Money` is a string ("12.50"); in SQLite it is an integer number of
//! cents ([`Money::minor_units`]).

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Decimal places of the store currency.
pub const SCALE: u32 = 2;

/// The single rounding policy, applied by [`Money::round`].
pub const ROUNDING: RoundingStrategy = RoundingStrategy::MidpointAwayFromZero;

/// What can go wrong with money arithmetic or parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amount overflows")]
    Overflow,
    #[error(
        "`{0}` is not an amount of money (expected digits with at most 2 decimals, e.g. 12.50)"
    )]
    Parse(String),
    #[error("cannot split into zero parts")]
    ZeroParts,
    #[error("allocation weights must be non-negative and not all zero")]
    BadWeights,
}

/// An exact amount in the store currency. Always holds at most [`SCALE`] decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(Decimal);

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// From integer cents (the SQLite representation).
    pub fn from_minor(cents: i64) -> Money {
        Money(Decimal::new(cents, SCALE))
    }

    /// Integer cents, for SQLite. Exact: a `Money` never holds sub-cent digits.
    pub fn minor_units(self) -> Result<i64, MoneyError> {
        let scaled = self
            .0
            .checked_mul(Decimal::from(100))
            .ok_or(MoneyError::Overflow)?;
        i64::try_from(scaled.trunc()).map_err(|_| MoneyError::Overflow)
    }

    /// Rounds an exact decimal to the cent with the store's policy. This is the lossy step and
    /// the only place it happens.
    pub fn round(amount: Decimal) -> Money {
        Money(
            amount
                .round_dp_with_strategy(SCALE, ROUNDING)
                .normalize_to(SCALE),
        )
    }

    /// The exact amount as a decimal, for computations that round later through [`Money::round`].
    pub fn amount(self) -> Decimal {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.0
            .checked_add(other.0)
            .map(Money)
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.0
            .checked_sub(other.0)
            .map(Money)
            .ok_or(MoneyError::Overflow)
    }

    /// Price times a whole quantity: exact, no rounding.
    pub fn checked_mul_qty(self, qty: i64) -> Result<Money, MoneyError> {
        self.0
            .checked_mul(Decimal::from(qty))
            .map(Money)
            .ok_or(MoneyError::Overflow)
    }

    /// `self × factor`, rounded once with [`ROUNDING`] (percentages, tax rates).
    pub fn checked_mul_rounded(self, factor: Decimal) -> Result<Money, MoneyError> {
        self.0
            .checked_mul(factor)
            .map(Money::round)
            .ok_or(MoneyError::Overflow)
    }

    pub fn negate(self) -> Money {
        Money(-self.0)
    }

    /// Sums amounts, failing on overflow.
    pub fn sum<I: IntoIterator<Item = Money>>(items: I) -> Result<Money, MoneyError> {
        items
            .into_iter()
            .try_fold(Money::ZERO, |acc, m| acc.checked_add(m))
    }

    /// Splits into `parts` amounts that differ by at most one cent and sum exactly to `self`.
    /// The first parts receive the extra cents.
    pub fn split(self, parts: usize) -> Result<Vec<Money>, MoneyError> {
        if parts == 0 {
            return Err(MoneyError::ZeroParts);
        }
        self.allocate(&vec![1u64; parts])
    }

    /// Allocates `self` in proportion to `weights`. Each part is rounded toward zero to the cent,
    /// then the remaining cents go one at a time to the parts with the largest remainders (ties to
    /// the earliest), so the parts always sum exactly to `self`.
    pub fn allocate(self, weights: &[u64]) -> Result<Vec<Money>, MoneyError> {
        let total_weight: u128 = weights.iter().map(|w| u128::from(*w)).sum();
        if weights.is_empty() || total_weight == 0 {
            return Err(MoneyError::BadWeights);
        }
        let cents = i128::from(self.minor_units()?);
        let sign: i128 = if cents < 0 { -1 } else { 1 };
        let magnitude = cents.unsigned_abs();
        let mut parts: Vec<u128> = Vec::with_capacity(weights.len());
        let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(weights.len());
        for (i, w) in weights.iter().enumerate() {
            let product = magnitude
                .checked_mul(u128::from(*w))
                .ok_or(MoneyError::Overflow)?;
            parts.push(product / total_weight);
            remainders.push((product % total_weight, i));
        }
        let handed_out: u128 = parts.iter().sum();
        let mut left = magnitude - handed_out;
        // Largest remainder first; among equal remainders, the earliest part.
        remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, i) in remainders {
            if left == 0 {
                break;
            }
            parts[i] += 1;
            left -= 1;
        }
        parts
            .into_iter()
            .map(|p| {
                let signed = i128::try_from(p).map_err(|_| MoneyError::Overflow)? * sign;
                i64::try_from(signed)
                    .map(Money::from_minor)
                    .map_err(|_| MoneyError::Overflow)
            })
            .collect()
    }
}

impl FromStr for Money {
    type Err = MoneyError;

    /// Parses "12", "12.5" or "-0.99". More than two decimals is an error, never a silent rounding.
    fn from_str(s: &str) -> Result<Money, MoneyError> {
        let trimmed = s.trim();
        let valid_chars = !trimmed.is_empty()
            && trimmed
                .chars()
                .enumerate()
                .all(|(i, c)| c.is_ascii_digit() || c == '.' || (i == 0 && c == '-'));
        if !valid_chars {
            return Err(MoneyError::Parse(s.to_owned()));
        }
        let d = Decimal::from_str(trimmed).map_err(|_| MoneyError::Parse(s.to_owned()))?;
        if d.normalize().scale() > SCALE {
            return Err(MoneyError::Parse(s.to_owned()));
        }
        Ok(Money(d.normalize_to(SCALE)))
    }
}

trait NormalizeTo {
    fn normalize_to(self, scale: u32) -> Decimal;
}

impl NormalizeTo for Decimal {
    fn normalize_to(self, scale: u32) -> Decimal {
        let mut d = self;
        d.rescale(scale);
        d
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}", self.0)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
        let s = String::deserialize(d)?;
        Money::from_str(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn m(s: &str) -> Money {
        s.parse().expect("test amount")
    }

    #[test]
    fn parses_and_prints_two_decimals() {
        for (input, shown) in [
            ("12", "12.00"),
            ("12.5", "12.50"),
            ("-0.99", "-0.99"),
            ("0", "0.00"),
        ] {
            assert_eq!(m(input).to_string(), shown, "{input}");
        }
    }

    #[test]
    fn refuses_what_is_not_money() {
        for bad in ["", "abc", "1.005", "1e3", "NaN", "1,50", "--1", " . "] {
            assert!(bad.parse::<Money>().is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn minor_units_round_trip() {
        assert_eq!(m("12.34").minor_units(), Ok(1234));
        assert_eq!(Money::from_minor(-5), m("-0.05"));
    }

    #[test]
    fn rounding_is_half_away_from_zero_to_the_cent() {
        assert_eq!(Money::round(dec!(0.125)), m("0.13"));
        assert_eq!(Money::round(dec!(-0.125)), m("-0.13"));
        assert_eq!(Money::round(dec!(0.124999)), m("0.12"));
        assert_eq!(m("10.00").checked_mul_rounded(dec!(0.08875)), Ok(m("0.89")));
    }

    #[test]
    fn split_hands_out_cents_to_the_first_parts() {
        assert_eq!(
            m("10.00").split(3),
            Ok(vec![m("3.34"), m("3.33"), m("3.33")])
        );
        assert_eq!(m("-0.05").split(2), Ok(vec![m("-0.03"), m("-0.02")]));
        assert_eq!(m("1.00").split(0), Err(MoneyError::ZeroParts));
    }

    #[test]
    fn allocate_follows_weights() {
        assert_eq!(
            m("100.00").allocate(&[1, 1, 2]),
            Ok(vec![m("25.00"), m("25.00"), m("50.00")])
        );
        assert_eq!(m("0.05").allocate(&[3, 7]), Ok(vec![m("0.02"), m("0.03")]));
        assert_eq!(m("1.00").allocate(&[0, 0]), Err(MoneyError::BadWeights));
    }

    #[test]
    fn serialises_as_a_string() {
        let json = serde_json::to_string(&m("3.5")).expect("serialise");
        assert_eq!(json, "\"3.50\"");
        let back: Money = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, m("3.50"));
        assert!(
            serde_json::from_str::<Money>("3.5").is_err(),
            "a JSON number is not money"
        );
    }

    proptest! {
        #[test]
        fn split_parts_sum_to_the_whole(cents in -10_000_000i64..10_000_000, parts in 1usize..50) {
            let whole = Money::from_minor(cents);
            let split = whole.split(parts).expect("split");
            prop_assert_eq!(split.len(), parts);
            prop_assert_eq!(Money::sum(split.iter().copied()).expect("sum"), whole);
            let max = split.iter().max().expect("non-empty").minor_units().expect("cents");
            let min = split.iter().min().expect("non-empty").minor_units().expect("cents");
            prop_assert!(max - min <= 1, "parts differ by at most a cent");
        }

        #[test]
        fn allocate_parts_sum_to_the_whole(
            cents in -10_000_000i64..10_000_000,
            weights in proptest::collection::vec(0u64..1_000, 1..20),
        ) {
            prop_assume!(weights.iter().any(|w| *w > 0));
            let whole = Money::from_minor(cents);
            let parts = whole.allocate(&weights).expect("allocate");
            prop_assert_eq!(parts.len(), weights.len());
            prop_assert_eq!(Money::sum(parts.iter().copied()).expect("sum"), whole);
            for (part, w) in parts.iter().zip(&weights) {
                if *w == 0 {
                    prop_assert!(part.is_zero(), "a zero weight gets nothing");
                }
            }
        }

        #[test]
        fn wire_form_round_trips(cents in i64::MIN / 1000..i64::MAX / 1000) {
            let money = Money::from_minor(cents);
            let back: Money = money.to_string().parse().expect("parse");
            prop_assert_eq!(back, money);
            prop_assert_eq!(back.minor_units().expect("cents"), cents);
        }
    }
}
