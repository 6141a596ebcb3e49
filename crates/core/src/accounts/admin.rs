//! What an admin may change on a user's account: the rank rules shared by the admin API and the
//! admin pages.

use crate::audit;
use crate::clock::UnixTime;
use crate::model::{Role, User, UserId, UserStatus};
use crate::store::{Store, StoreError, UserPatch};

#[derive(Debug, thiserror::Error)]
pub enum UserEditError {
    #[error("用户不存在")]
    NotFound,
    #[error("无权更新同权限等级或更高权限等级的用户信息")]
    Rank,
    #[error("只有超级管理员可以修改角色")]
    RoleRootOnly,
    #[error("不能禁用或降级自己")]
    SelfLockout,
    #[error("数值不能为负")]
    Negative,
    #[error("额度不能超过 {}", crate::billing::MAX_QUOTA)]
    QuotaTooLarge,
    #[error("该用户未开启两步验证")]
    TwoFactorOff,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How a user can sign in, as an admin sees it (never a secret).
#[derive(Debug, Clone, serde::Serialize)]
pub struct WaysIn {
    pub has_password: bool,
    pub identities: Vec<WayInIdentity>,
    pub two_factor: bool,
    /// Names and dates only, never the keys.
    pub passkeys: Vec<crate::accounts::passkeys::PasskeyInfo>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct WayInIdentity {
    pub provider: String,
    pub display: String,
    pub linked_at: UnixTime,
}

/// `id`'s ways in, for an admin. Reading them follows the rank rules of changing the account:
/// what an admin may not change, it does not need to see.
pub async fn ways_in(store: &dyn Store, actor: &User, id: UserId) -> Result<WaysIn, UserEditError> {
    let target = store.user_by_id(id).await?.ok_or(UserEditError::NotFound)?;
    check(actor, &target, &UserPatch::default())?;
    let identities = store.identities_of_user(id).await?;
    let passkeys = store.passkeys_of_user(id).await?;
    Ok(WaysIn {
        has_password: target.password_hash.is_some(),
        identities: identities
            .into_iter()
            .map(|i| WayInIdentity {
                provider: i.provider,
                display: i.display,
                linked_at: i.created_at,
            })
            .collect(),
        two_factor: target.totp_enabled,
        passkeys: passkeys
            .iter()
            .map(crate::accounts::passkeys::PasskeyInfo::from)
            .collect(),
    })
}

/// Admins may not touch accounts of their own rank or above, only root may change roles, and
/// nobody can disable or demote themselves (so the last admin cannot lock everyone out).
pub fn check(actor: &User, target: &User, patch: &UserPatch) -> Result<(), UserEditError> {
    let is_self = actor.id == target.id;
    if !is_self && actor.role != Role::Root && target.role >= actor.role {
        return Err(UserEditError::Rank);
    }
    if patch.role.is_some() && actor.role != Role::Root {
        return Err(UserEditError::RoleRootOnly);
    }
    if is_self
        && (patch.status == Some(UserStatus::Disabled)
            || patch.role.is_some_and(|r| r < actor.role))
    {
        return Err(UserEditError::SelfLockout);
    }
    if [patch.quota, patch.used_quota, patch.level]
        .into_iter()
        .flatten()
        .any(|v| v < 0)
    {
        return Err(UserEditError::Negative);
    }
    if [patch.quota, patch.used_quota]
        .into_iter()
        .flatten()
        .any(|v| v > crate::billing::MAX_QUOTA)
    {
        return Err(UserEditError::QuotaTooLarge);
    }
    Ok(())
}

/// Checks and applies `patch` to user `id` and records it in the audit log; returns the updated
/// account. Disabling ends the user's sessions and revokes their tokens (the store does both with
/// the update).
pub async fn edit_user(
    store: &dyn Store,
    actor: &User,
    id: UserId,
    patch: &UserPatch,
    now: UnixTime,
    ip: &str,
) -> Result<User, UserEditError> {
    let target = store.user_by_id(id).await?.ok_or(UserEditError::NotFound)?;
    check(actor, &target, patch)?;
    let patch = &UserPatch {
        by: Some(actor.id),
        ..patch.clone()
    };
    store.patch_user(id, patch, now).await?;
    tracing::info!(
        admin.id = actor.id,
        user.id = id,
        ?patch,
        "user updated by admin"
    );
    audit::record(
        store,
        now,
        Some(actor.id),
        audit::action::USER_UPDATED,
        id.to_string(),
        serde_json::json!({
            "quota": patch.quota, "used_quota": patch.used_quota, "level": patch.level,
            "role": patch.role.map(|r| r.as_i64()), "status": patch.status.map(|s| s.as_i64()),
        }),
        ip,
    )
    .await;
    store.user_by_id(id).await?.ok_or(UserEditError::NotFound)
}

impl super::Accounts {
    /// [`edit_user`] at this moment: the admin API's and the admin pages' way in.
    pub async fn edit_user(
        &self,
        actor: &User,
        id: UserId,
        patch: &UserPatch,
        ip: &str,
    ) -> Result<User, UserEditError> {
        edit_user(self.store.as_ref(), actor, id, patch, self.clock.now(), ip).await
    }

    /// [`ways_in`]: the admin API's and the admin pages' view of how a user signs in.
    pub async fn ways_in(&self, actor: &User, id: UserId) -> Result<WaysIn, UserEditError> {
        ways_in(self.store.as_ref(), actor, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: UserId, role: Role) -> User {
        User {
            id,
            uuid: uuid::Uuid::nil(),
            username: format!("u{id}"),
            display_name: String::new(),
            email: None,
            email_verified: false,
            password_hash: None,
            avatar_url: String::new(),
            level: 0,
            role,
            status: UserStatus::Enabled,
            quota: 0,
            used_quota: 0,
            aff_code: String::new(),
            inviter_id: None,
            created_at: 0,
            last_login_at: None,
            totp_enabled: false,
        }
    }

    #[test]
    fn ranks_roles_and_self_lockout() {
        let root = user(1, Role::Root);
        let admin = user(2, Role::Admin);
        let other_admin = user(3, Role::Admin);
        let plain = user(4, Role::User);
        let disable = UserPatch {
            status: Some(UserStatus::Disabled),
            ..UserPatch::default()
        };
        assert!(check(&admin, &plain, &disable).is_ok());
        assert!(matches!(
            check(&admin, &other_admin, &disable),
            Err(UserEditError::Rank)
        ));
        assert!(check(&root, &other_admin, &disable).is_ok());
        assert!(matches!(
            check(&admin, &admin, &disable),
            Err(UserEditError::SelfLockout)
        ));
        let promote = UserPatch {
            role: Some(Role::Admin),
            ..UserPatch::default()
        };
        assert!(matches!(
            check(&admin, &plain, &promote),
            Err(UserEditError::RoleRootOnly)
        ));
        assert!(check(&root, &plain, &promote).is_ok());
        let demote_self = UserPatch {
            role: Some(Role::User),
            ..UserPatch::default()
        };
        assert!(matches!(
            check(&root, &root, &demote_self),
            Err(UserEditError::SelfLockout)
        ));
        let negative = UserPatch {
            quota: Some(-1),
            ..UserPatch::default()
        };
        assert!(matches!(
            check(&root, &plain, &negative),
            Err(UserEditError::Negative)
        ));
    }
}
