//! Balances, the ledger, top-up codes and apps spending within the user's limit.

pub mod charges;
pub mod ledger;
pub mod limit;
pub mod notices;
pub mod spend;
pub mod topup;

/// The most quota one account may hold (admin edits, top-ups, the new-user setting): far
/// below `i64::MAX`, so that no sum of quotas overflows in either database.
pub const MAX_QUOTA: i64 = 1_000_000_000_000_000;

/// `(quota − used_quota) / quota_per_unit` with two decimals, rounded half away from zero
/// (new-api's `balance_formatted`).
pub fn balance_formatted(quota: i64, used: i64, per_unit: i64) -> String {
    let per_unit = i128::from(per_unit.max(1));
    let scaled = (i128::from(quota) - i128::from(used)) * 100;
    let rounded = (scaled.abs() * 2 + per_unit) / (per_unit * 2);
    let sign = if scaled < 0 && rounded != 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", rounded / 100, rounded % 100)
}

/// An amount of quota in the settings' currency, as pages write it: `$5.00`, `-¥0.01`.
pub fn in_currency(quota: i64, per_unit: i64, symbol: &str) -> String {
    let amount = balance_formatted(quota, 0, per_unit);
    match amount.strip_prefix('-') {
        Some(positive) => format!("-{symbol}{positive}"),
        None => format!("{symbol}{amount}"),
    }
}

#[cfg(test)]
mod tests {
    use super::{balance_formatted, in_currency};

    #[test]
    fn amounts_carry_the_currency() {
        assert_eq!(in_currency(2_500_000, 500_000, "$"), "$5.00");
        assert_eq!(in_currency(5000, 1000, "¥"), "¥5.00");
        assert_eq!(in_currency(-5, 1000, "$"), "-$0.01");
        assert_eq!(in_currency(0, 1000, ""), "0.00");
    }

    #[test]
    fn balance_is_formatted_with_two_decimals() {
        assert_eq!(balance_formatted(1_000_000, 250_000, 1000), "750.00");
        assert_eq!(balance_formatted(1_000_000, 250_000, 500_000), "1.50");
        assert_eq!(balance_formatted(5, 0, 1000), "0.01");
        assert_eq!(balance_formatted(0, 5, 1000), "-0.01");
    }
}
