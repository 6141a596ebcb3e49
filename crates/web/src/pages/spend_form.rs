//! The spending limit a user sets when they consent to `balance:spend` (issue #19): one fieldset
//! (`templates/_spend_limit.html`) on the authorize and the device consent pages, read back the
//! same way from both.

use keyward_core::billing::balance_formatted;
use keyward_core::billing::limit::SpendLimit;
use keyward_core::oauth::scope::{Scope, ScopeSet};
use keyward_core::settings::Settings;

/// The fieldset's values: an amount in the platform's currency and a period, with presets.
pub(crate) struct SpendForm {
    pub symbol: String,
    pub amount: String,
    pub period: &'static str,
    pub presets: Vec<String>,
}

impl SpendForm {
    /// The form for a request of `scopes`, pre-filled with the app's suggestion (or ten
    /// currency units a month); `None` when `balance:spend` is not asked.
    pub(crate) fn new(
        scopes: ScopeSet,
        suggested: Option<SpendLimit>,
        settings: &Settings,
    ) -> Option<Self> {
        if !scopes.contains(Scope::BalanceSpend) {
            return None;
        }
        let per_unit = settings.quota_per_unit;
        let limit = suggested.unwrap_or_else(|| SpendLimit::default_for(per_unit));
        Some(Self {
            symbol: settings.currency_symbol.clone(),
            amount: balance_formatted(limit.amount, 0, per_unit),
            period: limit.period.as_str(),
            presets: [1, 5, 10, 50, 100]
                .iter()
                .map(|units| balance_formatted(units * per_unit, 0, per_unit))
                .collect(),
        })
    }

    /// A filled-in form, for the test that renders every template.
    #[cfg(test)]
    pub(crate) fn sample() -> Self {
        Self {
            symbol: "$".into(),
            amount: "10.00".into(),
            period: "month",
            presets: vec!["1.00".into(), "5.00".into()],
        }
    }
}
