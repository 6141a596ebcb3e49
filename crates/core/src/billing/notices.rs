//! Spending notices (issue #19): the user is mailed when an app's spending in the current
//! period reaches 80 % and 100 % of the limit they set, and when an app gives part of a charge
//! back. Like the security notices: only with SMTP configured and a verified address, in both
//! languages, handed to the mailer (which sends in the background) so that the charge's answer
//! does not wait for it, and never failing the charge.

use super::in_currency;
use super::limit::Period;
use super::spend::{LimitReached, Mark};
use crate::accounts::email::MailContext;
use crate::accounts::notices::deliver;
use crate::model::User;
use crate::settings::Settings;

/// Where the user sees, changes and revokes what apps may spend.
pub const CONNECTED_APPS_PATH: &str = "/user/authorizations";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpendNotice {
    /// A charge of `app` took this period's spending across a mark of the limit.
    LimitReached { app: String, reached: LimitReached },
    /// `app` gave back `amount` of charge `charge_id`; the account then held `quota` and
    /// `used_quota`.
    Refunded {
        app: String,
        charge_id: i64,
        amount: i64,
        quota: i64,
        used_quota: i64,
    },
}

impl SpendNotice {
    /// Subject and body, in both of the platform's languages as every Keyward mail is.
    fn texts(&self, settings: &Settings, public_url: &str) -> (String, String) {
        let money =
            |quota: i64| in_currency(quota, settings.quota_per_unit, &settings.currency_symbol);
        let link = format!("{public_url}{CONNECTED_APPS_PATH}");
        let (subject_zh, subject_en, zh, en) = match self {
            Self::LimitReached { app, reached } => {
                let limit = money(reached.limit.amount);
                let spent = money(reached.spent);
                let (limit_zh, limit_en, during_zh, during_en) = match reached.limit.period {
                    Period::Day => (
                        format!("每天 {limit}"),
                        format!("{limit} a day"),
                        "今天",
                        "today",
                    ),
                    Period::Month => (
                        format!("每月 {limit}"),
                        format!("{limit} a month"),
                        "本月",
                        "this month",
                    ),
                    Period::Total => (
                        format!("总计 {limit}"),
                        format!("{limit} in total"),
                        "累计",
                        "in total",
                    ),
                };
                match reached.mark {
                    Mark::Most => (
                        "应用消费已达限额的 80%",
                        "an app spent 80% of its limit",
                        format!(
                            "应用“{app}”{during_zh}已消费您余额中的 {spent}，达到您为它设置的限额（{limit_zh}）的 80%。"
                        ),
                        format!(
                            "The app \"{app}\" has spent {spent} of your balance {during_en}: 80% of the limit you set for it ({limit_en})."
                        ),
                    ),
                    Mark::All => (
                        "应用消费已达限额",
                        "an app reached its limit",
                        format!(
                            "应用“{app}”{during_zh}已消费您余额中的 {spent}，用完了您为它设置的限额（{limit_zh}）；超出限额的扣费将被拒绝。"
                        ),
                        format!(
                            "The app \"{app}\" has spent {spent} of your balance {during_en}: all of the limit you set for it ({limit_en}). Charges above the limit are refused."
                        ),
                    ),
                }
            }
            Self::Refunded {
                app,
                charge_id,
                amount,
                quota,
                used_quota,
            } => {
                let amount = money(*amount);
                let balance = money(quota.saturating_sub(*used_quota));
                (
                    "应用退款",
                    "an app refunded a charge",
                    format!(
                        "应用“{app}”退还了扣费 #{charge_id} 中的 {amount}，您的余额现为 {balance}。"
                    ),
                    format!(
                        "The app \"{app}\" refunded {amount} of charge #{charge_id}. Your balance is now {balance}."
                    ),
                )
            }
        };
        let subject = format!("{} {subject_zh} / {subject_en}", settings.system_name);
        let body = format!(
            "{zh}\n查看、修改限额或撤销授权：{link}\n\n{en}\nTo see or change the limit, or revoke the app: {link}\n"
        );
        (subject, body)
    }
}

/// Mails `notice` to `user`'s verified address if SMTP is configured. Returns whether a mail
/// was handed over; never fails.
pub async fn send(mail: &MailContext<'_>, user: &User, notice: &SpendNotice) -> bool {
    let sent = deliver(mail, user, |settings| {
        notice.texts(settings, mail.public_url)
    })
    .await;
    if sent {
        tracing::info!(user.id = user.id, ?notice, "spending notice mailed");
    }
    sent
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::limit::SpendLimit;

    fn settings() -> Settings {
        Settings {
            quota_per_unit: 1000,
            currency_symbol: "¥".into(),
            system_name: "Keyward".into(),
            ..Settings::default()
        }
    }

    #[test]
    fn a_reached_limit_names_the_app_the_amounts_the_period_and_the_page() {
        let notice = SpendNotice::LimitReached {
            app: "Chat".into(),
            reached: LimitReached {
                mark: Mark::Most,
                limit: SpendLimit::parse("5000/month").expect("limit"),
                spent: 4000,
            },
        };
        let (subject, body) = notice.texts(&settings(), "https://id.example");
        assert!(
            subject.starts_with("Keyward ") && subject.contains("80%"),
            "{subject}"
        );
        for part in [
            "“Chat”",
            "\"Chat\"",
            "¥4.00",
            "每月 ¥5.00",
            "¥5.00 a month",
            "80%",
            "https://id.example/user/authorizations",
        ] {
            assert!(body.contains(part), "{part} in {body}");
        }
        let all = SpendNotice::LimitReached {
            app: "Chat".into(),
            reached: LimitReached {
                mark: Mark::All,
                limit: SpendLimit::parse("2000/total").expect("limit"),
                spent: 2000,
            },
        };
        let (_, body) = all.texts(&settings(), "https://id.example");
        assert!(
            body.contains("总计 ¥2.00") && body.contains("all of the limit"),
            "{body}"
        );
    }

    #[test]
    fn a_refund_names_the_app_the_amount_and_the_balance() {
        let notice = SpendNotice::Refunded {
            app: "Chat".into(),
            charge_id: 42,
            amount: 1500,
            quota: 10_000,
            used_quota: 2500,
        };
        let (subject, body) = notice.texts(&settings(), "https://id.example");
        assert!(subject.contains("refunded"), "{subject}");
        for part in ["“Chat”", "#42", "¥1.50", "¥7.50", "/user/authorizations"] {
            assert!(body.contains(part), "{part} in {body}");
        }
        assert!(!body.is_ascii());
    }
}
