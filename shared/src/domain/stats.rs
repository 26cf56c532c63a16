//! Service-time statistics: how long tickets take.
//!
//! # Definitions
//!
//! - **Ticket time** = the screen's final bump minus its "ticket shown", both read from that one
//!   screen's clock in milliseconds ([`ticket_time_ms`]). Two devices' clocks are never
//!   subtracted.
//! - **Trimming**: ticket times under [`MIN_TICKET_MS`] (10 s: a bump by mistake) or over
//!   [`MAX_TICKET_MS`] (4 h: a ticket forgotten on screen) are ignored, and counted as ignored.
//! - **Percentiles by nearest rank**, exact: sort the `n` kept times ascending; the `p`th
//!   percentile (0 < p ≤ 100) is the value at 1-based rank `⌈p × n / 100⌉`. The result is always
//!   one of the measured times, never an interpolation. The **median** is the 50th percentile by
//!   this rule: for an even count, the lower of the two middle times.

/// Ticket times below this are ignored (10 s).
pub const MIN_TICKET_MS: i64 = 10_000;

/// Ticket times above this are ignored (4 h).
pub const MAX_TICKET_MS: i64 = 4 * 60 * 60 * 1000;

/// A ticket's time on one screen: its final bump minus its first show.
pub fn ticket_time_ms(shown_ms: i64, bumped_ms: i64) -> i64 {
    bumped_ms.saturating_sub(shown_ms)
}

/// Whether a ticket time counts (10 s to 4 h, both included).
pub fn is_counted(time_ms: i64) -> bool {
    (MIN_TICKET_MS..=MAX_TICKET_MS).contains(&time_ms)
}

/// The 1-based rank of the `percent`th percentile among `n` times, `⌈percent × n / 100⌉`, or
/// `None` when `n` is zero or `percent` is not in 1..=100.
pub fn percentile_rank(n: usize, percent: u32) -> Option<usize> {
    if n == 0 || !(1..=100).contains(&percent) {
        return None;
    }
    // At least 1 because percent ≥ 1 and n ≥ 1.
    Some((usize::try_from(percent).ok()?.checked_mul(n)?).div_ceil(100))
}

/// The `percent`th percentile of ascending `sorted` times by nearest rank, or `None` when there
/// are no times or `percent` is not in 1..=100.
pub fn nearest_rank(sorted: &[i64], percent: u32) -> Option<i64> {
    let rank = percentile_rank(sorted.len(), percent)?;
    sorted.get(rank - 1).copied()
}

/// Service times of a set of tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceTimes {
    /// Ticket times kept.
    pub count: usize,
    /// Ticket times ignored as under 10 s or over 4 h.
    pub ignored: usize,
    /// `None` when no time was kept.
    pub median_ms: Option<i64>,
    pub p90_ms: Option<i64>,
}

/// Median and 90th percentile of `times_ms`, trimmed as the module documentation says.
pub fn service_times(times_ms: impl IntoIterator<Item = i64>) -> ServiceTimes {
    let mut kept = Vec::new();
    let mut ignored = 0;
    for time in times_ms {
        if is_counted(time) {
            kept.push(time);
        } else {
            ignored += 1;
        }
    }
    kept.sort_unstable();
    ServiceTimes {
        count: kept.len(),
        ignored,
        median_ms: nearest_rank(&kept, 50),
        p90_ms: nearest_rank(&kept, 90),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const MIN: i64 = 60_000;

    fn check(times_ms: &[i64], expected: (usize, usize, Option<i64>, Option<i64>)) {
        let stats = service_times(times_ms.iter().copied());
        let actual = (stats.count, stats.ignored, stats.median_ms, stats.p90_ms);
        assert_eq!(actual, expected, "{times_ms:?}");
    }

    #[test]
    fn median_and_90th_percentile_by_nearest_rank() {
        check(&[], (0, 0, None, None));
        check(&[5 * MIN], (1, 0, Some(5 * MIN), Some(5 * MIN)));
        // Even count: the lower middle. n = 2: ranks ⌈1⌉ = 1 and ⌈1.8⌉ = 2.
        check(&[7 * MIN, 5 * MIN], (2, 0, Some(5 * MIN), Some(7 * MIN)));
        // n = 10, 1..=10 minutes: median rank 5, p90 rank 9.
        let ten: Vec<i64> = (1..=10).rev().map(|m| m * MIN).collect();
        check(&ten, (10, 0, Some(5 * MIN), Some(9 * MIN)));
        // n = 11: median rank ⌈5.5⌉ = 6, p90 rank ⌈9.9⌉ = 10.
        let eleven: Vec<i64> = (1..=11).map(|m| m * MIN).collect();
        check(&eleven, (11, 0, Some(6 * MIN), Some(10 * MIN)));
        // Trimmed: under 10 s and over 4 h are ignored; the bounds themselves count.
        check(
            &[
                9_999,
                MIN_TICKET_MS,
                12 * MIN,
                MAX_TICKET_MS,
                MAX_TICKET_MS + 1,
                -5,
            ],
            (3, 3, Some(12 * MIN), Some(MAX_TICKET_MS)),
        );
        check(&[1_000, 5 * 60 * MIN], (0, 2, None, None));
    }

    #[test]
    fn ticket_time_is_bump_minus_show_on_one_clock() {
        assert_eq!(ticket_time_ms(1_000, 721_000), 12 * MIN);
        assert_eq!(ticket_time_ms(i64::MIN, i64::MAX), i64::MAX);
    }

    #[test]
    fn percent_out_of_range_has_no_percentile() {
        assert_eq!(nearest_rank(&[1, 2, 3], 0), None);
        assert_eq!(nearest_rank(&[1, 2, 3], 101), None);
        assert_eq!(nearest_rank(&[1, 2, 3], 100), Some(3));
        assert_eq!(nearest_rank(&[1, 2, 3], 1), Some(1));
    }

    proptest! {
        #[test]
        fn a_percentile_is_a_kept_time_with_the_right_share_below(
            times in prop::collection::vec(0i64..20_000_000, 0..200),
            percent in 1u32..=100,
        ) {
            let mut kept: Vec<i64> = times.iter().copied().filter(|t| is_counted(*t)).collect();
            kept.sort_unstable();
            match nearest_rank(&kept, percent) {
                None => prop_assert!(kept.is_empty()),
                Some(value) => {
                    prop_assert!(kept.contains(&value));
                    let n = kept.len() as u64;
                    let at_or_below = kept.iter().filter(|t| **t <= value).count() as u64;
                    let below = kept.iter().filter(|t| **t < value).count() as u64;
                    // At least p% of the times are ≤ value, and fewer than p% are < value.
                    prop_assert!(at_or_below * 100 >= u64::from(percent) * n);
                    prop_assert!(below * 100 < u64::from(percent) * n);
                }
            }
            let stats = service_times(times.iter().copied());
            prop_assert_eq!(stats.count + stats.ignored, times.len());
            prop_assert!(stats.median_ms <= stats.p90_ms);
        }
    }
}
