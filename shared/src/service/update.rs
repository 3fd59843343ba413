//! Changing a token's name, description, metadata, rate limit or quota
//! ([`TokenService::update`], `PATCH`). Scopes, expiry, owner and address limits never
//! change: a token's authority is fixed when it is minted, and only shrinks.
//!
//! The credential carries a copy of the metadata and the limits (the authorizer hands them
//! to integrations and enforces them, and reads nothing else), so a `PATCH` of those writes
//! both in one transaction. A limit may be lowered by anyone who may write the token; set,
//! raised or removed only with `tokens:admin`, and never beyond the caller's own
//! (`authority::limit_for`), so those are checked against the record as read, and the write
//! is conditioned on it being unchanged:
//!
//! | `PATCH` changes | DynamoDB requests |
//! | --- | --- |
//! | `name`, `description` only | 1 conditional `UpdateItem` (returns the new record) |
//! | `metadata` (with or without the others) | 1 `TransactWriteItems` (record update conditioned as above + credential update) + 1 strongly consistent `GetItem` of the record |
//! | `rate_limit` or `quota` | 1 `GetItem` of the record + as `metadata` (the record conditioned on its `updated_at` as read; read again and retried, at most 3 times, when it changed) |
//!
//! An authorizer instance that cached the token's verification (`AUTH_CACHE_TTL_SECONDS`)
//! hands out the old metadata, and counts against the old limits, until that entry expires.

use uuid::Uuid;

use crate::domain::error::ApiError;
use crate::domain::model::TokenItem;
use crate::domain::principal::Principal;
use crate::domain::scope::TOKENS_WRITE;
use crate::service::authority::{limit_for, visible_to};
use crate::service::token_service::TokenService;
use crate::store::{Amendment, Patch, StoreError, TokenStore};
use crate::support::time;

impl<S: TokenStore> TokenService<S> {
    /// Changes a token's name, description or metadata (one conditional `UpdateItem`; with
    /// the credential in one transaction when the metadata changes).
    /// Scopes, expiry, owner and address limits cannot change: rotate or create instead.
    pub async fn update(
        &self,
        caller: &Principal,
        id: &str,
        patch: &Patch,
    ) -> Result<TokenItem, ApiError> {
        if !caller.can_write() {
            return Err(ApiError::MissingScope(TOKENS_WRITE));
        }
        let id = Uuid::parse_str(id).map_err(|_| ApiError::TokenNotFound)?;
        if !patch.changes_limits() {
            let item = self
                .store
                .amend(&amendment(caller, id, patch, None))
                .await?
                .ok_or(ApiError::TokenNotFound)?;
            return Ok(updated(item, caller));
        }
        for _ in 0..LIMIT_ATTEMPTS {
            let current = match self.store.get(id).await? {
                Some(t) if visible_to(caller, &t) => t,
                _ => return Err(ApiError::TokenNotFound),
            };
            let checked = Patch {
                rate_limit: patch
                    .rate_limit
                    .map(|asked| {
                        limit_for(
                            caller,
                            caller.rate_limit,
                            current.rate_limit,
                            Some(asked),
                            false,
                        )
                    })
                    .transpose()?,
                quota: patch
                    .quota
                    .map(|asked| limit_for(caller, caller.quota, current.quota, Some(asked), false))
                    .transpose()?,
                ..patch.clone()
            };
            if let Some(item) = self
                .store
                .amend(&amendment(caller, id, &checked, Some(current.updated_at)))
                .await?
            {
                return Ok(updated(item, caller));
            }
        }
        Err(StoreError::Contended(format!("update of {id}")).into())
    }
}

/// The amendment of token `id` by `caller`: in its reach, written now, and with `seen` only
/// if the record's `updated_at` is still that.
fn amendment<'a>(
    caller: &'a Principal,
    id: Uuid,
    patch: &'a Patch,
    seen: Option<time::Timestamp>,
) -> Amendment<'a> {
    Amendment {
        id,
        tenant_id: &caller.tenant_id,
        owner: (!caller.is_admin()).then_some(caller.user_id.as_str()),
        patch,
        actor: &caller.user_id,
        at: time::now(),
        seen,
    }
}

/// Attempts of a limit change whose token keeps changing under it.
const LIMIT_ATTEMPTS: usize = 3;

/// `item`, logged as updated by `caller`.
fn updated(item: TokenItem, caller: &Principal) -> TokenItem {
    tracing::info!(tenant = %item.tenant_id, token_id = %item.id, by = %caller.user_id, "token updated");
    item
}
