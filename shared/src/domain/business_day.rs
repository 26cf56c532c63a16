//! The store's business day, and the settings every device of a store shares.
//!
//! # The business day
//!
//! A restaurant's day does not end at midnight: a sale at 01:30 belongs to the evening before.
//! The store sets a **cut-off hour** ([`CutoffHour`], 0–23, default 04:00) in its **time zone**
//! ([`StoreTimeZone`], an IANA name such as `America/New_York`, default `UTC`). Business day *D*
//! starts at the first instant at which the store's wall clock reads *D* at the cut-off hour or
//! later, and lasts until business day *D + 1* starts. An instant belongs to the latest business
//! day that has started by then ([`business_day`]). Instants are milliseconds since the Unix
//! epoch, passed in: this module never reads a clock.
//!
//! Daylight saving time, with cut-off 04:00 in New York:
//!
//! - The business day of the spring change (clocks jump from 02:00 to 03:00) is 23 hours long,
//!   the one of the autumn change (03:00 summer time back to 01:00 standard time, the hour
//!   01:00–02:00 is lived twice) is 25 hours long. The day's sales are the sales between its
//!   two cut-offs, whatever their length.
//! - A cut-off hour the clock skips (cut-off 02:00 on the spring change): the business day starts
//!   when the clock jumps, the first instant at which it reads 02:00 or later (03:00 summer time).
//! - A cut-off hour the clock lives twice (cut-off 01:00 on the autumn change): the business day
//!   starts the first time the clock reads 01:00; the second pass through 01:00–02:00 belongs to
//!   the same business day. A business day never starts twice.
//!
//! So an instant later than another never belongs to an earlier business day (a property test
//! checks this in every time zone chrono-tz knows). A business day may be 22 to 26 hours long in
//! the years around now; a time zone that changes its offset for good makes one day shorter or
//! longer by that change.
//!
//! Instants from 1900-01-01 to 9999-12-01 (UTC) are supported ([`MIN_INSTANT_MS`],
//! [`MAX_INSTANT_MS`]); others are refused with [`BusinessDayError::InstantOutOfRange`].
//!
//! # Store settings
//!
//! [`StoreSettings`] holds what a store decides once for all its devices: where stock is deducted
//! ([`StockDeduction`], default on send), the cut-off hour (04:00), the time zone (`UTC`), the
//! offline card cap (the largest card payment a terminal takes while cut off from the card
//! processor without a manager's approval: 100.00 by default, 0 means every offline card payment
//! needs one), and the low-stock threshold (an item the tracked stock makes fewer portions of is
//! shown as low on the terminals and kitchen screens: 10 by default, 0 turns the alerts off; see
//! [`super::inventory`]). A change is one [`SettingChange`], applied by [`StoreSettings::apply`], which
//! refuses an invalid value with a [`SettingsError`] and leaves the settings as they were.
//! Settings changes are journal events; [`SettingChange::parse`] reads the (setting, value) pair
//! a person or an event gives, [`SettingChange::setting`] and [`SettingChange::value`] write it.
//!
//! A time zone name is checked against the IANA database built into this release (chrono-tz).
//! A zone added to the database later is unknown to an older build, which then refuses the
//! change; the caller keeps the previous settings and surfaces the refusal.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use super::money::Money;

/// The cut-off hour a store starts with: 04:00.
pub const DEFAULT_CUTOFF_HOUR: u8 = 4;

/// The earliest instant supported: 1900-01-01T00:00:00Z.
pub const MIN_INSTANT_MS: i64 = -2_208_988_800_000;
/// The first instant no longer supported: 9999-12-01T00:00:00Z.
pub const MAX_INSTANT_MS: i64 = 253_399_622_400_000;

/// The longest time zone name accepted.
const MAX_ZONE_NAME_CHARS: usize = 64;
/// Every UTC offset ever used is within this, in seconds.
const MAX_OFFSET_SECS: i64 = 16 * 3600;

/// A refused business-day computation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusinessDayError {
    #[error("instant {0} ms is outside the supported years 1900–9999")]
    InstantOutOfRange(i64),
    #[error("`{0}` is not a business day (expected YYYY-MM-DD, years 1899–9999)")]
    BadDay(String),
}

/// A refused store setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error(
        "`{0}` is not a store setting \
         (deduct_stock_on, day_cutoff_hour, time_zone, offline_card_cap, low_stock_portions)"
    )]
    UnknownSetting(String),
    #[error("`{value}` is not a value for {setting} (expected {expected})")]
    BadValue {
        setting: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("the day cut-off is an hour from 0 to 23, not {0}")]
    CutoffHourOutOfRange(u8),
    #[error(
        "`{0}` is not a time zone this release knows (expected an IANA name such as Europe/Paris)"
    )]
    UnknownTimeZone(String),
    #[error("the offline card cap cannot be negative ({0})")]
    NegativeCardCap(Money),
}

/// The hour (0–23, on the store's wall clock) at which one business day ends and the next
/// begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CutoffHour(u8);

impl CutoffHour {
    pub fn new(hour: u8) -> Result<CutoffHour, SettingsError> {
        if hour > 23 {
            return Err(SettingsError::CutoffHourOutOfRange(hour));
        }
        Ok(CutoffHour(hour))
    }

    pub fn hour(self) -> u8 {
        self.0
    }
}

impl Default for CutoffHour {
    fn default() -> CutoffHour {
        CutoffHour(DEFAULT_CUTOFF_HOUR)
    }
}

impl fmt::Display for CutoffHour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:00", self.0)
    }
}

/// The store's time zone: a name from the IANA time zone database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StoreTimeZone(Tz);

impl StoreTimeZone {
    pub const UTC: StoreTimeZone = StoreTimeZone(Tz::UTC);

    /// Checks a name against the database built into this release. Names are case-sensitive,
    /// as in the database (`Europe/Paris`, not `europe/paris`).
    pub fn parse(name: &str) -> Result<StoreTimeZone, SettingsError> {
        let unknown = || SettingsError::UnknownTimeZone(name.chars().take(80).collect());
        if name.len() > MAX_ZONE_NAME_CHARS {
            return Err(unknown());
        }
        Tz::from_str(name).map(StoreTimeZone).map_err(|_| unknown())
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// The hour (0–23) the store's wall clock reads at `instant_ms` (ms since the epoch), or
    /// `None` outside the supported instants. Across a daylight-saving change the hour lived
    /// twice is the same hour both times, and the hour skipped never comes.
    pub fn local_hour(self, instant_ms: i64) -> Option<u8> {
        use chrono::Timelike;
        if !(MIN_INSTANT_MS..MAX_INSTANT_MS).contains(&instant_ms) {
            return None;
        }
        let utc = DateTime::from_timestamp_millis(instant_ms)?;
        u8::try_from(utc.with_timezone(&self.0).hour()).ok()
    }

    /// `instant_ms` (ms since the epoch) on the store's wall clock with its UTC offset, in
    /// RFC 3339 to the second (`2026-05-01T19:30:05-04:00`); `None` outside the supported
    /// instants.
    pub fn local_text(self, instant_ms: i64) -> Option<String> {
        if !(MIN_INSTANT_MS..MAX_INSTANT_MS).contains(&instant_ms) {
            return None;
        }
        let utc = DateTime::from_timestamp_millis(instant_ms)?;
        Some(
            utc.with_timezone(&self.0)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        )
    }

    /// The local time of day at `instant_ms` (ms since the epoch), as `hh:mm`.
    pub fn clock_text(self, instant_ms: i64) -> String {
        use chrono::TimeZone;
        match self.0.timestamp_millis_opt(instant_ms) {
            chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
                t.format("%H:%M").to_string()
            }
            chrono::LocalResult::None => "--:--".to_owned(),
        }
    }
}

impl Default for StoreTimeZone {
    fn default() -> StoreTimeZone {
        StoreTimeZone::UTC
    }
}

impl fmt::Display for StoreTimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A business day, named by its date (the date on which it starts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BusinessDay(NaiveDate);

impl BusinessDay {
    /// The business day named by a date in the years 1899–9999 (the business days of the
    /// supported instants).
    pub fn new(date: NaiveDate) -> Result<BusinessDay, BusinessDayError> {
        if !(1899..=9999).contains(&date.year()) {
            return Err(BusinessDayError::BadDay(date.to_string()));
        }
        Ok(BusinessDay(date))
    }

    pub fn date(self) -> NaiveDate {
        self.0
    }

    /// A number for the day that goes up by one each day (days since 1 January of year 1, that
    /// day being 1), for counters that restart each business day.
    pub fn number(self) -> u32 {
        u32::try_from(self.0.num_days_from_ce()).expect("business days are after year 1")
    }

    /// The business day of a [`BusinessDay::number`].
    pub fn from_number(number: u32) -> Result<BusinessDay, BusinessDayError> {
        let bad = || BusinessDayError::BadDay(format!("day number {number}"));
        let days = i32::try_from(number).map_err(|_| bad())?;
        let date = NaiveDate::from_num_days_from_ce_opt(days).ok_or_else(bad)?;
        BusinessDay::new(date).map_err(|_| bad())
    }

    /// The business day after this one.
    pub fn next(self) -> Result<BusinessDay, BusinessDayError> {
        let next = self
            .0
            .checked_add_days(Days::new(1))
            .ok_or_else(|| BusinessDayError::BadDay(self.0.to_string()))?;
        BusinessDay::new(next)
    }
}

impl fmt::Display for BusinessDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl FromStr for BusinessDay {
    type Err = BusinessDayError;

    /// Reads `YYYY-MM-DD`.
    fn from_str(s: &str) -> Result<BusinessDay, BusinessDayError> {
        let bad = || BusinessDayError::BadDay(s.chars().take(40).collect());
        if s.len() != 10 {
            return Err(bad());
        }
        let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad())?;
        BusinessDay::new(date).map_err(|_| bad())
    }
}

impl serde::Serialize for BusinessDay {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for BusinessDay {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<BusinessDay, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The business day that `instant_ms` (milliseconds since the Unix epoch) belongs to, for a
/// store in `zone` whose day ends at `cutoff`. See the module docs.
pub fn business_day(
    instant_ms: i64,
    zone: StoreTimeZone,
    cutoff: CutoffHour,
) -> Result<BusinessDay, BusinessDayError> {
    if !(MIN_INSTANT_MS..MAX_INSTANT_MS).contains(&instant_ms) {
        return Err(BusinessDayError::InstantOutOfRange(instant_ms));
    }
    let utc = DateTime::from_timestamp_millis(instant_ms)
        .ok_or(BusinessDayError::InstantOutOfRange(instant_ms))?;
    let local_date = utc.with_timezone(&zone.0).date_naive();
    // The latest date whose cut-off is not after the instant. Offsets stay within a day of each
    // other, so it is the local date, the day before, or (around odd transitions) a day either
    // side of those.
    let candidates = [1i64, 0, -1, -2, -3].map(|offset| shift(local_date, offset));
    let day = candidates
        .iter()
        .copied()
        .find(|&date| start_ms(date, zone, cutoff) <= instant_ms)
        .unwrap_or(candidates[4]);
    BusinessDay::new(day).map_err(|_| BusinessDayError::InstantOutOfRange(instant_ms))
}

/// When business day `day` starts and when the next one starts (end exclusive), in milliseconds
/// since the Unix epoch.
pub fn business_day_span_ms(
    day: BusinessDay,
    zone: StoreTimeZone,
    cutoff: CutoffHour,
) -> (i64, i64) {
    (
        start_ms(day.0, zone, cutoff),
        start_ms(shift(day.0, 1), zone, cutoff),
    )
}

/// `date` moved by `days`. Business days and supported instants stay far from the ends of
/// chrono's calendar (years ±262,000), so this cannot fail for them.
fn shift(date: NaiveDate, days: i64) -> NaiveDate {
    let moved = if days >= 0 {
        date.checked_add_days(Days::new(days.unsigned_abs()))
    } else {
        date.checked_sub_days(Days::new(days.unsigned_abs()))
    };
    moved.expect("dates of supported business days are far from the calendar's ends")
}

/// The first instant (ms) at which the wall clock in `zone` reads `date` at the cut-off hour or
/// later.
fn start_ms(date: NaiveDate, zone: StoreTimeZone, cutoff: CutoffHour) -> i64 {
    let wall = date
        .and_hms_opt(u32::from(cutoff.0), 0, 0)
        .expect("a cut-off hour is 0–23");
    match zone.0.from_local_datetime(&wall).earliest() {
        Some(instant) => instant.timestamp_millis(),
        None => first_second_reading(zone.0, wall).saturating_mul(1000),
    }
}

/// For a wall-clock time the clock skips: the first second (since the epoch) at which the clock
/// reads `wall` or later, that is the instant the clock jumps. Transitions happen on whole
/// seconds, at most one within the ±16 h searched, so a binary search finds it exactly.
fn first_second_reading(zone: Tz, wall: NaiveDateTime) -> i64 {
    let reads_at_least = |secs: i64| match DateTime::from_timestamp(secs, 0) {
        Some(utc) => utc.with_timezone(&zone).naive_local() >= wall,
        None => secs > 0,
    };
    let as_if_utc = wall.and_utc().timestamp();
    // Invariant: the clock reads less than `wall` at `before`, at least `wall` at `after`.
    let (mut before, mut after) = (as_if_utc - MAX_OFFSET_SECS, as_if_utc + MAX_OFFSET_SECS);
    while after - before > 1 {
        let mid = before + (after - before) / 2;
        if reads_at_least(mid) {
            after = mid;
        } else {
            before = mid;
        }
    }
    after
}

/// When stock is deducted for what a check sells.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum StockDeduction {
    /// When the lines are sent to the kitchen (the default: the food is being made).
    #[default]
    OnSend,
    /// When the check is paid.
    OnPayment,
}

impl StockDeduction {
    /// The value's word in a setting change: `send` or `payment`.
    pub fn as_str(self) -> &'static str {
        match self {
            StockDeduction::OnSend => "send",
            StockDeduction::OnPayment => "payment",
        }
    }
}

/// What a store decides once for all its devices. Always valid: built by [`Default`] and changed
/// only through [`StoreSettings::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSettings {
    stock_deduction: StockDeduction,
    cutoff_hour: CutoffHour,
    time_zone: StoreTimeZone,
    offline_card_cap: Money,
    low_stock_portions: u32,
}

impl Default for StoreSettings {
    fn default() -> StoreSettings {
        StoreSettings {
            stock_deduction: StockDeduction::OnSend,
            cutoff_hour: CutoffHour::default(),
            time_zone: StoreTimeZone::UTC,
            offline_card_cap: Money::from_minor(10_000),
            low_stock_portions: super::inventory::DEFAULT_LOW_STOCK_PORTIONS,
        }
    }
}

impl StoreSettings {
    pub fn stock_deduction(&self) -> StockDeduction {
        self.stock_deduction
    }
    pub fn cutoff_hour(&self) -> CutoffHour {
        self.cutoff_hour
    }
    pub fn time_zone(&self) -> StoreTimeZone {
        self.time_zone
    }
    /// The largest card payment taken offline without a manager's approval.
    pub fn offline_card_cap(&self) -> Money {
        self.offline_card_cap
    }
    /// Below how many portions left an item is shown as low (0: never).
    pub fn low_stock_portions(&self) -> u32 {
        self.low_stock_portions
    }

    /// The business day `instant_ms` belongs to under these settings.
    pub fn business_day(&self, instant_ms: i64) -> Result<BusinessDay, BusinessDayError> {
        business_day(instant_ms, self.time_zone, self.cutoff_hour)
    }

    /// These settings with one change, or the reason the change is refused.
    pub fn apply(&self, change: &SettingChange) -> Result<StoreSettings, SettingsError> {
        let mut next = self.clone();
        match change {
            SettingChange::StockDeduction(deduction) => next.stock_deduction = *deduction,
            SettingChange::CutoffHour(hour) => next.cutoff_hour = CutoffHour::new(*hour)?,
            SettingChange::TimeZone(name) => next.time_zone = StoreTimeZone::parse(name)?,
            SettingChange::OfflineCardCap(cap) => {
                if cap.is_negative() {
                    return Err(SettingsError::NegativeCardCap(*cap));
                }
                next.offline_card_cap = *cap;
            }
            SettingChange::LowStockPortions(portions) => next.low_stock_portions = *portions,
        }
        Ok(next)
    }
}

/// One change to the store settings, with its value as given (checked by
/// [`StoreSettings::apply`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingChange {
    StockDeduction(StockDeduction),
    CutoffHour(u8),
    TimeZone(String),
    OfflineCardCap(Money),
    LowStockPortions(u32),
}

impl SettingChange {
    /// Reads a change as a person or an event names it. Settings and values:
    /// `deduct_stock_on` = `send` | `payment`; `day_cutoff_hour` = 0–23; `time_zone` = an IANA
    /// name; `offline_card_cap` = an amount such as `100.00`; `low_stock_portions` = a whole
    /// number of portions (0 turns the low-stock alerts off). Only the form is checked here; the
    /// value is checked when applied.
    pub fn parse(setting: &str, value: &str) -> Result<SettingChange, SettingsError> {
        let bad = |setting: &'static str, expected: &'static str| SettingsError::BadValue {
            setting,
            value: value.chars().take(80).collect(),
            expected,
        };
        match setting {
            "deduct_stock_on" => match value {
                "send" => Ok(SettingChange::StockDeduction(StockDeduction::OnSend)),
                "payment" => Ok(SettingChange::StockDeduction(StockDeduction::OnPayment)),
                _ => Err(bad("deduct_stock_on", "send or payment")),
            },
            "day_cutoff_hour" => value
                .parse()
                .map(SettingChange::CutoffHour)
                .map_err(|_| bad("day_cutoff_hour", "an hour from 0 to 23")),
            "time_zone" => Ok(SettingChange::TimeZone(value.to_owned())),
            "offline_card_cap" => value
                .parse()
                .map(SettingChange::OfflineCardCap)
                .map_err(|_| bad("offline_card_cap", "an amount such as 100.00")),
            "low_stock_portions" => {
                value
                    .parse()
                    .map(SettingChange::LowStockPortions)
                    .map_err(|_| {
                        bad(
                            "low_stock_portions",
                            "a whole number of portions, 0 for no alerts",
                        )
                    })
            }
            other => Err(SettingsError::UnknownSetting(
                other.chars().take(80).collect(),
            )),
        }
    }

    /// The setting's name, as [`SettingChange::parse`] reads it.
    pub fn setting(&self) -> &'static str {
        match self {
            SettingChange::StockDeduction(_) => "deduct_stock_on",
            SettingChange::CutoffHour(_) => "day_cutoff_hour",
            SettingChange::TimeZone(_) => "time_zone",
            SettingChange::OfflineCardCap(_) => "offline_card_cap",
            SettingChange::LowStockPortions(_) => "low_stock_portions",
        }
    }

    /// The value, as [`SettingChange::parse`] reads it.
    pub fn value(&self) -> String {
        match self {
            SettingChange::StockDeduction(deduction) => deduction.as_str().to_owned(),
            SettingChange::CutoffHour(hour) => hour.to_string(),
            SettingChange::TimeZone(name) => name.clone(),
            SettingChange::OfflineCardCap(cap) => cap.to_string(),
            SettingChange::LowStockPortions(portions) => portions.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_text_is_local_time() {
        let paris = StoreTimeZone::parse("Europe/Paris").expect("zone");
        // 2026-01-01 18:42 UTC is 19:42 in Paris (winter time).
        assert_eq!(paris.clock_text(1_767_292_920_000), "19:42");
        assert_eq!(StoreTimeZone::UTC.clock_text(1_767_292_920_000), "18:42");
    }
    use proptest::prelude::*;

    const HOUR_MS: i64 = 3_600_000;

    fn zone(name: &str) -> StoreTimeZone {
        StoreTimeZone::parse(name).expect("known zone")
    }

    fn cutoff(hour: u8) -> CutoffHour {
        CutoffHour::new(hour).expect("valid hour")
    }

    fn instant(utc: &str) -> i64 {
        DateTime::parse_from_rfc3339(utc)
            .expect("RFC 3339 instant")
            .timestamp_millis()
    }

    fn day(text: &str) -> BusinessDay {
        text.parse().expect("a date")
    }

    #[test]
    fn instants_belong_to_the_business_day_that_has_started() {
        fn check(zone_name: &str, hour: u8, utc: &str, expected: &str) {
            let actual = business_day(instant(utc), zone(zone_name), cutoff(hour));
            assert_eq!(
                actual,
                Ok(day(expected)),
                "{zone_name} cut-off {hour}: {utc}"
            );
        }
        // A sale at 01:30 belongs to the evening before; 04:00 sharp starts the new day.
        check("America/New_York", 4, "2025-03-15T05:30:00Z", "2025-03-14"); // 01:30 EDT
        check(
            "America/New_York",
            4,
            "2025-03-15T07:59:59.999Z",
            "2025-03-14",
        ); // 03:59:59.999
        check("America/New_York", 4, "2025-03-15T08:00:00Z", "2025-03-15"); // 04:00
        check("America/New_York", 4, "2025-03-15T03:59:00Z", "2025-03-14"); // 23:59 the day before
        check("America/New_York", 0, "2025-03-15T04:00:00Z", "2025-03-15"); // midnight cut-off
        check("America/New_York", 0, "2025-03-15T03:59:59Z", "2025-03-14");
        check("America/New_York", 23, "2025-03-16T02:59:00Z", "2025-03-14"); // 22:59 on the 15th
        check("America/New_York", 23, "2025-03-16T03:00:00Z", "2025-03-15"); // 23:00
        check("UTC", 4, "2025-01-01T03:59:59Z", "2024-12-31");
        check("UTC", 4, "2025-01-01T04:00:00Z", "2025-01-01");
        check("Asia/Kolkata", 4, "2025-06-01T22:29:00Z", "2025-06-01"); // 03:59 on the 2nd, +5:30
        check("Asia/Kolkata", 4, "2025-06-01T22:30:00Z", "2025-06-02");
        check(
            "Pacific/Kiritimati",
            4,
            "2025-06-01T14:00:00Z",
            "2025-06-02",
        ); // +14
        check("Pacific/Pago_Pago", 4, "2025-06-01T14:00:00Z", "2025-05-31"); // -11: 03:00
        // Spring forward in New York, 2025-03-09 02:00 EST → 03:00 EDT (07:00Z); cut-off 02:00
        // is skipped: the day starts when the clock jumps.
        check("America/New_York", 2, "2025-03-09T06:59:59Z", "2025-03-08"); // 01:59:59 EST
        check("America/New_York", 2, "2025-03-09T07:00:00Z", "2025-03-09"); // 03:00 EDT
        check("America/New_York", 4, "2025-03-09T07:30:00Z", "2025-03-08"); // 03:30 EDT
        check("America/New_York", 4, "2025-03-09T08:00:00Z", "2025-03-09"); // 04:00 EDT
        // Fall back, 2025-11-02 02:00 EDT → 01:00 EST (06:00Z); cut-off 01:00 is lived twice:
        // the day starts the first time, the second pass stays in it.
        check("America/New_York", 1, "2025-11-02T04:59:59Z", "2025-11-01"); // 00:59:59 EDT
        check("America/New_York", 1, "2025-11-02T05:00:00Z", "2025-11-02"); // 01:00 EDT
        check("America/New_York", 1, "2025-11-02T06:30:00Z", "2025-11-02"); // 01:30 EST
        check("America/New_York", 4, "2025-11-02T08:59:59Z", "2025-11-01"); // 03:59:59 EST
        check("America/New_York", 4, "2025-11-02T09:00:00Z", "2025-11-02"); // 04:00 EST
        // Europe: 2025-03-30 01:00 GMT → 02:00 BST.
        check("Europe/London", 1, "2025-03-30T00:59:59Z", "2025-03-29");
        check("Europe/London", 1, "2025-03-30T01:00:00Z", "2025-03-30");
        // Chile skips midnight: 2025-09-07 00:00 -04 → 01:00 -03 (04:00Z).
        check("America/Santiago", 0, "2025-09-07T03:59:59Z", "2025-09-06");
        check("America/Santiago", 0, "2025-09-07T04:00:00Z", "2025-09-07");
        // Lord Howe moves by half an hour: 2025-04-06 02:00 +11 → 01:30 +10:30 (15:00Z).
        check(
            "Australia/Lord_Howe",
            1,
            "2025-04-05T14:30:00Z",
            "2025-04-06",
        ); // 01:30 +11
        check(
            "Australia/Lord_Howe",
            1,
            "2025-04-05T15:15:00Z",
            "2025-04-06",
        ); // 01:45 +10:30
    }

    #[test]
    fn business_days_are_as_long_as_the_clock_says() {
        fn check(zone_name: &str, hour: u8, business: &str, expected_ms: i64) {
            let (start, end) = business_day_span_ms(day(business), zone(zone_name), cutoff(hour));
            assert_eq!(
                end - start,
                expected_ms,
                "{zone_name} cut-off {hour}: {business}"
            );
        }
        check("America/New_York", 4, "2025-03-08", 23 * HOUR_MS);
        check("America/New_York", 4, "2025-03-09", 24 * HOUR_MS);
        check("America/New_York", 4, "2025-11-01", 25 * HOUR_MS);
        // Cut-off 02:00 on the spring change: 02:00 EST on the 8th to the jump on the 9th.
        check("America/New_York", 2, "2025-03-08", 24 * HOUR_MS);
        check("America/New_York", 2, "2025-03-09", 23 * HOUR_MS);
        check(
            "Australia/Lord_Howe",
            4,
            "2025-04-05",
            24 * HOUR_MS + HOUR_MS / 2,
        );
        // Chile skips midnight on the 7th: the 6th ends at the jump, the 7th is short.
        check("America/Santiago", 0, "2025-09-06", 24 * HOUR_MS);
        check("America/Santiago", 0, "2025-09-07", 23 * HOUR_MS);
        check("UTC", 4, "2025-03-09", 24 * HOUR_MS);
    }

    #[test]
    fn instants_outside_the_supported_years_are_refused() {
        let utc = StoreTimeZone::UTC;
        let four = CutoffHour::default();
        assert_eq!(
            business_day(MIN_INSTANT_MS - 1, utc, four),
            Err(BusinessDayError::InstantOutOfRange(MIN_INSTANT_MS - 1))
        );
        assert_eq!(
            business_day(MAX_INSTANT_MS, utc, four),
            Err(BusinessDayError::InstantOutOfRange(MAX_INSTANT_MS))
        );
        assert_eq!(
            business_day(i64::MIN, utc, four),
            Err(BusinessDayError::InstantOutOfRange(i64::MIN))
        );
        assert_eq!(MIN_INSTANT_MS, instant("1900-01-01T00:00:00Z"));
        assert_eq!(MAX_INSTANT_MS, instant("9999-12-01T00:00:00Z"));
        assert_eq!(
            business_day(MIN_INSTANT_MS, utc, four),
            Ok(day("1899-12-31"))
        );
        let last = business_day(MAX_INSTANT_MS - 1, zone("Pacific/Kiritimati"), cutoff(0));
        assert_eq!(last.map(|d| d.to_string()), Ok("9999-12-01".to_owned()));
    }

    #[test]
    fn business_days_read_and_write_as_dates() {
        fn check(text: &str, expected: Result<&str, ()>) {
            let actual = text
                .parse::<BusinessDay>()
                .map(|d| d.to_string())
                .map_err(|_| ());
            assert_eq!(actual, expected.map(str::to_owned), "{text:?}");
        }
        check("2025-03-09", Ok("2025-03-09"));
        check("2024-02-29", Ok("2024-02-29"));
        check("2025-02-29", Err(()));
        check("2025-3-9", Err(()));
        check("20250309", Err(()));
        check("", Err(()));
        check("0999-01-01", Err(()));
        check("1898-12-31", Err(()));
        let json = serde_json::to_string(&day("2025-03-09")).expect("serialises");
        assert_eq!(json, "\"2025-03-09\"");
        let back: BusinessDay = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, day("2025-03-09"));
        assert!(serde_json::from_str::<BusinessDay>("\"2025-13-01\"").is_err());
    }

    #[test]
    fn day_numbers_count_days() {
        let first = day("2025-12-31");
        let next = first.next().expect("in range");
        assert_eq!(next, day("2026-01-01"));
        assert_eq!(next.number(), first.number() + 1);
        assert_eq!(day("1899-12-31").number(), 693_595);
        assert!(day("9999-12-31").next().is_err());
    }

    #[test]
    fn settings_start_with_the_defaults() {
        let settings = StoreSettings::default();
        assert_eq!(settings.stock_deduction(), StockDeduction::OnSend);
        assert_eq!(settings.cutoff_hour().hour(), 4);
        assert_eq!(settings.time_zone().name(), "UTC");
        assert_eq!(
            settings.offline_card_cap(),
            "100.00".parse().expect("money")
        );
        assert_eq!(settings.low_stock_portions(), 10);
    }

    #[test]
    fn a_setting_change_is_applied_or_refused() {
        fn check(setting: &str, value: &str, expected: Result<StoreSettings, SettingsError>) {
            let actual = SettingChange::parse(setting, value)
                .and_then(|change| StoreSettings::default().apply(&change));
            assert_eq!(actual, expected, "{setting} = {value:?}");
        }
        let defaults = StoreSettings::default();
        let with = |f: fn(&mut StoreSettings)| {
            let mut settings = StoreSettings::default();
            f(&mut settings);
            Ok(settings)
        };
        check(
            "deduct_stock_on",
            "payment",
            with(|s| s.stock_deduction = StockDeduction::OnPayment),
        );
        check("deduct_stock_on", "send", Ok(defaults.clone()));
        check(
            "deduct_stock_on",
            "sale",
            Err(SettingsError::BadValue {
                setting: "deduct_stock_on",
                value: "sale".into(),
                expected: "send or payment",
            }),
        );
        check(
            "day_cutoff_hour",
            "5",
            with(|s| s.cutoff_hour = CutoffHour(5)),
        );
        check(
            "day_cutoff_hour",
            "0",
            with(|s| s.cutoff_hour = CutoffHour(0)),
        );
        check(
            "day_cutoff_hour",
            "23",
            with(|s| s.cutoff_hour = CutoffHour(23)),
        );
        check(
            "day_cutoff_hour",
            "24",
            Err(SettingsError::CutoffHourOutOfRange(24)),
        );
        check(
            "day_cutoff_hour",
            "-1",
            Err(SettingsError::BadValue {
                setting: "day_cutoff_hour",
                value: "-1".into(),
                expected: "an hour from 0 to 23",
            }),
        );
        check(
            "time_zone",
            "America/New_York",
            with(|s| s.time_zone = StoreTimeZone(Tz::America__New_York)),
        );
        check(
            "time_zone",
            "america/new_york",
            Err(SettingsError::UnknownTimeZone("america/new_york".into())),
        );
        check(
            "time_zone",
            "Mars/Olympus_Mons",
            Err(SettingsError::UnknownTimeZone("Mars/Olympus_Mons".into())),
        );
        check(
            "time_zone",
            "",
            Err(SettingsError::UnknownTimeZone(String::new())),
        );
        check(
            "offline_card_cap",
            "250.00",
            with(|s| s.offline_card_cap = Money::from_minor(25_000)),
        );
        check(
            "offline_card_cap",
            "0",
            with(|s| s.offline_card_cap = Money::ZERO),
        );
        check(
            "offline_card_cap",
            "-5.00",
            Err(SettingsError::NegativeCardCap(Money::from_minor(-500))),
        );
        check(
            "offline_card_cap",
            "12.345",
            Err(SettingsError::BadValue {
                setting: "offline_card_cap",
                value: "12.345".into(),
                expected: "an amount such as 100.00",
            }),
        );
        check(
            "low_stock_portions",
            "4",
            with(|s| s.low_stock_portions = 4),
        );
        check(
            "low_stock_portions",
            "0",
            with(|s| s.low_stock_portions = 0),
        );
        check(
            "low_stock_portions",
            "-3",
            Err(SettingsError::BadValue {
                setting: "low_stock_portions",
                value: "-3".into(),
                expected: "a whole number of portions, 0 for no alerts",
            }),
        );
        check(
            "opening_hour",
            "9",
            Err(SettingsError::UnknownSetting("opening_hour".into())),
        );
    }

    #[test]
    fn a_refused_change_leaves_the_settings_as_they_were() {
        let settings = StoreSettings::default()
            .apply(&SettingChange::TimeZone("Europe/Paris".into()))
            .expect("known zone");
        let refused = settings.apply(&SettingChange::CutoffHour(30));
        assert_eq!(refused, Err(SettingsError::CutoffHourOutOfRange(30)));
        assert_eq!(settings.time_zone().name(), "Europe/Paris");
        assert_eq!(
            settings.business_day(instant("2025-07-01T01:30:00Z")),
            Ok(day("2025-06-30")) // 03:30 in Paris
        );
    }

    /// Every time zone chrono-tz knows, any cut-off hour, instants from 1970 to 2100.
    fn any_zone() -> impl Strategy<Value = StoreTimeZone> {
        (0..chrono_tz::TZ_VARIANTS.len()).prop_map(|i| StoreTimeZone(chrono_tz::TZ_VARIANTS[i]))
    }

    const YEAR_2100_MS: i64 = 4_102_444_800_000;

    proptest! {
        #[test]
        fn a_later_instant_never_belongs_to_an_earlier_business_day(
            zone in any_zone(),
            hour in 0u8..24,
            earlier in 0i64..YEAR_2100_MS,
            gap in 0i64..(3 * 24 * HOUR_MS),
        ) {
            let hour = cutoff(hour);
            let first = business_day(earlier, zone, hour).expect("in range");
            let second = business_day(earlier + gap, zone, hour).expect("in range");
            prop_assert!(first <= second, "{zone}: {first} then {second}");
        }

        #[test]
        fn an_instant_lies_within_its_business_day(
            zone in any_zone(),
            hour in 0u8..24,
            at in 0i64..YEAR_2100_MS,
        ) {
            let hour = cutoff(hour);
            let day = business_day(at, zone, hour).expect("in range");
            let (start, end) = business_day_span_ms(day, zone, hour);
            prop_assert!(start <= at && at < end, "{zone} {day}: {start} ≤ {at} < {end}");
        }

        #[test]
        fn instants_near_a_cut_off_lie_within_their_business_day(
            zone in any_zone(),
            hour in 0u8..24,
            days_after_2024 in 0u64..1_100,
            offset_ms in -3 * HOUR_MS..3 * HOUR_MS,
        ) {
            let hour = cutoff(hour);
            let first = NaiveDate::from_ymd_opt(2024, 1, 1).expect("date");
            let date = first + Days::new(days_after_2024);
            let (start, _) = business_day_span_ms(BusinessDay(date), zone, hour);
            let at = start + offset_ms;
            let day = business_day(at, zone, hour).expect("in range");
            let (day_start, day_end) = business_day_span_ms(day, zone, hour);
            prop_assert!(day_start <= at && at < day_end, "{zone} {day}: {at} outside");
            prop_assert_eq!(day.date() >= date, offset_ms >= 0, "{} {}", zone, date);
        }

        #[test]
        fn setting_changes_read_back_as_written(
            change in prop_oneof![
                Just(SettingChange::StockDeduction(StockDeduction::OnSend)),
                Just(SettingChange::StockDeduction(StockDeduction::OnPayment)),
                any::<u8>().prop_map(SettingChange::CutoffHour),
                "[A-Za-z_/]{0,20}".prop_map(SettingChange::TimeZone),
                any::<i64>()
                    .prop_map(|c| SettingChange::OfflineCardCap(Money::from_minor(c / 100))),
                any::<u32>().prop_map(SettingChange::LowStockPortions),
            ],
        ) {
            prop_assert_eq!(SettingChange::parse(change.setting(), &change.value()), Ok(change));
        }
    }

    #[test]
    fn business_days_around_now_start_in_order_and_last_22_to_26_hours() {
        let first = NaiveDate::from_ymd_opt(2024, 1, 1).expect("date");
        for tz in chrono_tz::TZ_VARIANTS {
            let zone = StoreTimeZone(tz);
            for hour in [0, 2, 4] {
                let hour = cutoff(hour);
                let mut date = first;
                let mut previous_end = None;
                while date.year() < 2027 {
                    let (start, end) = business_day_span_ms(BusinessDay(date), zone, hour);
                    let length = end - start;
                    assert!(
                        (22 * HOUR_MS..=26 * HOUR_MS).contains(&length),
                        "{zone} {date} cut-off {hour}: {length} ms"
                    );
                    if let Some(previous_end) = previous_end {
                        assert_eq!(start, previous_end, "{zone} {date}");
                    }
                    previous_end = Some(end);
                    date = shift(date, 1);
                }
            }
        }
    }
}
