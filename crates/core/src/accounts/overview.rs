//! One account as an admin sees it on its detail page: the facts, the ways in, the live
//! sessions, the apps it owns, the consents it gave and the audit about it. Reading follows the
//! rank rules of changing the account ([`admin::check`]).

use super::Accounts;
use super::activity::about_user_actions;
use super::admin::{self, UserEditError, WaysIn};
use crate::audit::action;
use crate::model::{AuditEntry, Client, Consent, Session, User, UserId};
use crate::store::{Page, UserAuditQuery, UserPatch};

/// How many audit records the overview shows (the audit log has the rest).
pub const AUDIT_SHOWN: i64 = 20;

#[derive(Debug, Clone)]
pub struct UserOverview {
    pub user: User,
    pub ways_in: WaysIn,
    /// Live sessions, pending second steps included.
    pub sessions: Vec<Session>,
    pub apps: Vec<Client>,
    pub consents: Vec<(Consent, Client)>,
    /// Newest first: what was done to the account (failed sign-ins naming it too) and what it
    /// did, at most [`AUDIT_SHOWN`].
    pub audit: Vec<AuditEntry>,
}

/// The actions an overview's audit lists with the user as target.
pub fn overview_actions() -> Vec<&'static str> {
    let mut actions = about_user_actions();
    actions.extend([action::SIGN_IN_FAILED, action::USER_REGISTERED]);
    actions
}

impl Accounts {
    /// `id`'s overview for `actor`, an admin who may change the account.
    pub async fn user_overview(
        &self,
        actor: &User,
        id: UserId,
    ) -> Result<UserOverview, UserEditError> {
        let store = self.store.as_ref();
        let user = store.user_by_id(id).await?.ok_or(UserEditError::NotFound)?;
        admin::check(actor, &user, &UserPatch::default())?;
        let ways_in = admin::ways_in(store, actor, id).await?;
        let sessions = store.list_user_sessions(id, self.clock.now()).await?;
        let apps = store.clients_of_owner(id).await?;
        let consents = store.consents_of_user(id).await?;
        let actions = overview_actions();
        let audit = store
            .audit_about_user(&UserAuditQuery {
                user: id,
                actions: &actions,
                include_acted: true,
                page: Page {
                    offset: 0,
                    limit: AUDIT_SHOWN,
                },
            })
            .await?;
        Ok(UserOverview {
            user,
            ways_in,
            sessions,
            apps,
            consents,
            audit,
        })
    }
}
