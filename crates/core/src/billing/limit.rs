//! The spending limit a user sets for an app at consent: an amount of quota per day, per month
//! or in total. Days and months are UTC calendar windows (a day starts at 00:00 UTC, a month on
//! its first day at 00:00 UTC), so every node and the statement agree on what "this period" is;
//! `total` counts since the consent was given.

use super::MAX_QUOTA;
use crate::clock::UnixTime;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    Month,
    Total,
}

impl Period {
    pub const ALL: [Self; 3] = [Self::Day, Self::Month, Self::Total];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Month => "month",
            Self::Total => "total",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpendLimit {
    /// Quota units, `1..=MAX_QUOTA`.
    pub amount: i64,
    pub period: Period,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("spend_limit must be <quota units>/<day|month|total>, the amount a positive integer")]
pub struct BadSpendLimit;

impl BadSpendLimit {
    /// The `error_description` for an app's malformed `spend_limit` suggestion.
    pub const SUGGESTION: &'static str = "spend_limit must be <quota units>/<day|month|total>";
}

impl SpendLimit {
    pub fn new(amount: i64, period: Period) -> Result<Self, BadSpendLimit> {
        if (1..=MAX_QUOTA).contains(&amount) {
            Ok(Self { amount, period })
        } else {
            Err(BadSpendLimit)
        }
    }

    /// `10000/month`: digits only (no sign, no fraction, no spaces), then a period.
    pub fn parse(text: &str) -> Result<Self, BadSpendLimit> {
        let (amount, period) = text.split_once('/').ok_or(BadSpendLimit)?;
        if amount.is_empty() || amount.len() > 19 || !amount.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BadSpendLimit);
        }
        let amount = amount.parse().map_err(|_| BadSpendLimit)?;
        Self::new(amount, Period::parse(period).ok_or(BadSpendLimit)?)
    }

    /// The limit a user typed on the consent form: an amount in the platform's currency (at
    /// most two decimals) and a period. Refused when it is not a positive amount.
    pub fn from_currency(amount: &str, period: &str, per_unit: i64) -> Result<Self, BadSpendLimit> {
        let (whole, cents) = match amount.trim().split_once('.') {
            Some((whole, fraction)) if (1..=2).contains(&fraction.len()) => {
                (whole, format!("{fraction:0<2}"))
            }
            Some(_) => return Err(BadSpendLimit),
            None => (amount.trim(), "00".to_owned()),
        };
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 15 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || !digits(&cents) {
            return Err(BadSpendLimit);
        }
        let cents = i128::from(whole.parse::<i64>().map_err(|_| BadSpendLimit)?) * 100
            + i128::from(cents.parse::<i64>().map_err(|_| BadSpendLimit)?);
        let quota = cents * i128::from(per_unit.max(1)) / 100;
        let quota = i64::try_from(quota).map_err(|_| BadSpendLimit)?;
        Self::new(quota, Period::parse(period).ok_or(BadSpendLimit)?)
    }

    /// A limit as stored in two nullable columns (amount, period); `None` when either is
    /// missing or unreadable (on a consent: no charge is allowed).
    pub fn from_columns(amount: Option<i64>, period: Option<&str>) -> Option<Self> {
        Self::new(amount?, Period::parse(period?)?).ok()
    }

    /// The limit a new consent form suggests when the app suggests none: 10 currency units a
    /// month.
    pub fn default_for(per_unit: i64) -> Self {
        Self {
            amount: per_unit.max(1).saturating_mul(10),
            period: Period::Month,
        }
    }

    /// Where the current period began: spending since then counts against the limit.
    /// `consented_at` starts the `total` period.
    pub fn window_start(self, now: UnixTime, consented_at: UnixTime) -> UnixTime {
        match self.period {
            Period::Day => day_start(now),
            Period::Month => month_start(now),
            Period::Total => consented_at,
        }
    }
}

impl fmt::Display for SpendLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.amount, self.period.as_str())
    }
}

/// Whether changing a consent's limit from `old` to `new` may let the app spend more than
/// `old` would, at any time: then the change needs the user's confirmation (the same as
/// consent), and a developer token cannot make it. A change is a lowering only when the amount
/// is not larger and the new period's window always contains the old one's, so that whatever
/// the app spent counts at least as much against the new limit: the same period, or a day
/// turned into a month (a UTC day lies in its month). `total` counts since the consent, which
/// may be younger than this month or day (spending under an earlier, revoked consent does not
/// count): from or to `total` only `total` itself is comparable.
pub fn is_raise(old: SpendLimit, new: SpendLimit) -> bool {
    let contains = matches!(
        (old.period, new.period),
        (Period::Day, Period::Day | Period::Month)
            | (Period::Month, Period::Month)
            | (Period::Total, Period::Total)
    );
    !(contains && new.amount <= old.amount)
}

const DAY: i64 = 86_400;

fn day_start(now: UnixTime) -> UnixTime {
    now - now.rem_euclid(DAY)
}

/// 00:00 UTC on the first day of `now`'s month.
fn month_start(now: UnixTime) -> UnixTime {
    let days = now.div_euclid(DAY);
    (days - (day_of_month(days) - 1)) * DAY
}

/// The day of the month (1–31) of a day count since 1970-01-01 (H. Hinnant's civil_from_days).
fn day_of_month(days: i64) -> i64 {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    doy - (153 * mp + 2) / 5 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_amount_and_period() {
        let limit = SpendLimit::parse("10000/month").expect("valid");
        assert_eq!((limit.amount, limit.period), (10_000, Period::Month));
        assert_eq!(limit.to_string(), "10000/month");
        for bad in [
            "",
            "10000",
            "/month",
            "0/day",
            "-5/day",
            "+5/day",
            "1.5/day",
            "5/week",
            "5/Day",
            " 5/day",
            "5 /day",
            "99999999999999999999/day",
            "1000000000000000001/total",
        ] {
            assert_eq!(SpendLimit::parse(bad), Err(BadSpendLimit), "{bad:?}");
        }
        assert!(SpendLimit::parse(&format!("{MAX_QUOTA}/total")).is_ok());
    }

    #[test]
    fn the_consent_form_limit_is_in_the_currency() {
        let limit = SpendLimit::from_currency("10.5", "day", 1000).expect("valid");
        assert_eq!((limit.amount, limit.period), (10_500, Period::Day));
        assert_eq!(
            SpendLimit::from_currency(" 3 ", "total", 500_000).map(|l| l.amount),
            Ok(1_500_000)
        );
        for (amount, period) in [
            ("0", "day"),
            ("-1", "day"),
            ("1.234", "day"),
            ("1,5", "day"),
            ("", "day"),
            ("abc", "day"),
            ("5", "week"),
            ("0.001", "day"),
            ("1e3", "day"),
        ] {
            assert_eq!(
                SpendLimit::from_currency(amount, period, 1000),
                Err(BadSpendLimit),
                "{amount:?} {period:?}"
            );
        }
    }

    #[test]
    fn only_a_change_that_never_allows_more_is_a_lowering() {
        let limit = |text: &str| SpendLimit::parse(text).expect(text);
        for (old, new) in [
            ("100/day", "100/day"),
            ("100/day", "50/day"),
            ("100/day", "100/month"),
            ("100/day", "1/month"),
            ("100/month", "99/month"),
            ("100/total", "100/total"),
            ("100/total", "1/total"),
        ] {
            assert!(!is_raise(limit(old), limit(new)), "{old} → {new}");
        }
        for (old, new) in [
            ("100/day", "101/day"),
            ("100/month", "100/day"),
            ("100/month", "1/day"),
            ("100/month", "101/month"),
            // `total` starts at the consent: not comparable with a calendar window.
            ("100/month", "50/total"),
            ("100/day", "50/total"),
            ("100/total", "50/month"),
            ("100/total", "50/day"),
            ("100/total", "101/total"),
        ] {
            assert!(is_raise(limit(old), limit(new)), "{old} → {new}");
        }
    }

    #[test]
    fn periods_are_utc_calendar_windows() {
        // 2026-12-07T11:45:59Z.
        let now = 1_796_643_959;
        let day = SpendLimit::parse("1/day").expect("day");
        let month = SpendLimit::parse("1/month").expect("month");
        let total = SpendLimit::parse("1/total").expect("total");
        assert_eq!(day.window_start(now, 5), 1_796_601_600); // 2026-12-07T00:00Z
        assert_eq!(month.window_start(now, 5), 1_796_083_200); // 2026-12-01T00:00Z
        assert_eq!(total.window_start(now, 5), 5);
        // A leap day and the first second of a month.
        assert_eq!(month.window_start(1_709_164_800, 0), 1_706_745_600); // 2024-02-29 → 02-01
        assert_eq!(month.window_start(1_709_251_200, 0), 1_709_251_200); // 2024-03-01T00:00Z
    }
}
