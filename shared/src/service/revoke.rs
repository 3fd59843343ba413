//! Revoking one token: by a caller ([`TokenService::revoke`], [`TokenService::delete`]), by a
//! revocation event ([`TokenService::revoke_in`]) or by a leaked secret
//! ([`TokenService::revoke_leaked`]).
//!
//! Revocation is idempotent: revoking a revoked token changes nothing and answers with the
//! first revocation. A token out of the caller's sight (another tenant's, or another user's
//! without `tokens:admin`) reads as not found, never as forbidden.

use uuid::Uuid;

use crate::domain::error::ApiError;
use crate::domain::model::{StoredStatus, TokenItem};
use crate::domain::principal::Principal;
use crate::domain::scope::TOKENS_WRITE;
use crate::service::authority::visible_to;
use crate::service::token_service::TokenService;
use crate::store::{Revocation, RevokeOutcome, StoreError, TokenStore};
use crate::support::secret;
use crate::support::time;

/// The result of revoking by a leaked secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeakOutcome {
    /// Not a token of this format or its checksum fails: no lookup was made.
    Malformed,
    /// No token has this secret.
    Unknown,
    /// The token was revoked now.
    Revoked,
    /// The token was revoked already.
    AlreadyRevoked,
}

impl<S: TokenStore> TokenService<S> {
    /// Revokes a token and returns its record. Revoking a revoked token returns the first
    /// revocation unchanged. Costs a read and a transaction: the answer is the record.
    pub async fn revoke(
        &self,
        caller: &Principal,
        id: &str,
        reason: Option<&str>,
    ) -> Result<TokenItem, ApiError> {
        let r = self.revocation_by(caller, id, reason)?;
        let outcome = self.store.revoke(&r).await?;
        logged(&r, &outcome);
        answer(caller, &r, outcome, |already| already)
    }

    /// Revokes a token without returning it (`DELETE /tokens/{id}`): a caller's own active
    /// token is one transaction, without the read [`TokenService::revoke`] needs.
    pub async fn delete(
        &self,
        caller: &Principal,
        id: &str,
        reason: Option<&str>,
    ) -> Result<(), ApiError> {
        let r = self.revocation_by(caller, id, reason)?;
        let outcome = self.store.revoke_write_only(&r).await?;
        logged(&r, &outcome);
        answer(caller, &r, outcome, |_| ())
    }

    /// The revocation a caller asks for: of their own token, or any of their tenant's
    /// with `tokens:admin`.
    fn revocation_by<'a>(
        &self,
        caller: &'a Principal,
        id: &str,
        reason: Option<&'a str>,
    ) -> Result<Revocation<'a>, ApiError> {
        if !caller.can_write() {
            return Err(ApiError::MissingScope(TOKENS_WRITE));
        }
        let id = Uuid::parse_str(id).map_err(|_| ApiError::TokenNotFound)?;
        let owner = (!caller.is_admin()).then_some(caller.user_id.as_str());
        Ok(self.revocation(&caller.tenant_id, owner, id, &caller.user_id, reason))
    }

    /// A revocation of token `id` of `tenant_id` (and of `owner`, when given), now.
    pub(super) fn revocation<'a>(
        &self,
        tenant_id: &'a str,
        owner: Option<&'a str>,
        id: Uuid,
        actor: &'a str,
        reason: Option<&'a str>,
    ) -> Revocation<'a> {
        let at = time::now();
        Revocation {
            id,
            tenant_id,
            owner,
            actor,
            via: None,
            reason,
            at,
            purge_at: at + self.retention,
        }
    }

    /// The one revocation path of the revocation events: revokes token `id` if it belongs
    /// to `tenant_id` (and to `owner`, when given). Idempotent: a revoked token is returned
    /// unchanged. `via` is recorded as `revoked_via` beside the claimed `actor`.
    pub async fn revoke_in(
        &self,
        tenant_id: &str,
        owner: Option<&str>,
        id: Uuid,
        actor: &str,
        via: Option<&str>,
        reason: Option<&str>,
    ) -> Result<RevokeOutcome<()>, StoreError> {
        let r = Revocation {
            via,
            ..self.revocation(tenant_id, owner, id, actor, reason)
        };
        let outcome = self.store.revoke_write_only(&r).await?;
        logged(&r, &outcome);
        Ok(outcome)
    }

    /// Revokes the token whose secret leaked (a secret-scanning alert), in whatever tenant it
    /// is. The format and checksum are checked before any lookup, so junk costs nothing; a
    /// secret that does not match its token's hash revokes nothing.
    pub async fn revoke_leaked(
        &self,
        presented: &str,
        actor: &str,
        via: Option<&str>,
        reason: Option<&str>,
    ) -> Result<LeakOutcome, StoreError> {
        let Ok(parsed) = secret::parse(presented) else {
            return Ok(LeakOutcome::Malformed);
        };
        let Some(cred) = self.store.credential(parsed.id).await? else {
            return Ok(LeakOutcome::Unknown);
        };
        if !self.hasher()?.verify(&parsed, &cred.secret_hash) {
            return Ok(LeakOutcome::Unknown);
        }
        let outcome = self
            .revoke_in(
                &cred.tenant_id,
                Some(&cred.user_id),
                parsed.id,
                actor,
                via,
                reason,
            )
            .await?;
        Ok(match outcome {
            RevokeOutcome::Revoked(_) => LeakOutcome::Revoked,
            RevokeOutcome::Unchanged(_) => LeakOutcome::AlreadyRevoked,
        })
    }
}

/// Logs a revocation that happened.
fn logged<R>(r: &Revocation<'_>, outcome: &RevokeOutcome<R>) {
    if let RevokeOutcome::Revoked(_) = outcome {
        tracing::info!(tenant = %r.tenant_id, token_id = %r.id, by = %r.actor, "token revoked");
    }
}

/// A caller's revocation as the API answers it: the token revoked now, or revoked already
/// (`already` turns that record into the answer); anything out of the caller's sight is
/// not found.
fn answer<R>(
    caller: &Principal,
    r: &Revocation<'_>,
    outcome: RevokeOutcome<R>,
    already: impl FnOnce(TokenItem) -> R,
) -> Result<R, ApiError> {
    match outcome {
        RevokeOutcome::Revoked(revoked) => Ok(revoked),
        RevokeOutcome::Unchanged(Some(item))
            if visible_to(caller, &item) && item.status == StoredStatus::Revoked =>
        {
            Ok(already(item))
        }
        RevokeOutcome::Unchanged(Some(item)) if visible_to(caller, &item) => {
            Err(ApiError::Internal(format!(
                "revocation of {} failed its condition while active",
                r.id
            )))
        }
        RevokeOutcome::Unchanged(_) => Err(ApiError::TokenNotFound),
    }
}
