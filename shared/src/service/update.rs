//! Changing a token's name, description or metadata ([`TokenService::update`], `PATCH`).
//! Scopes, expiry, owner and address limits never change: a token's authority is fixed when
//! it is minted.
//!
//! The credential carries a copy of the metadata (the authorizer hands it to integrations
//! and reads nothing else), so a `PATCH` of the metadata writes both in one transaction:
//!
//! | `PATCH` changes | DynamoDB requests |
//! | --- | --- |
//! | `name`, `description` only | 1 conditional `UpdateItem` (returns the new record) |
//! | `metadata` (with or without the others) | 1 `TransactWriteItems` (record update conditioned as above + credential update) + 1 strongly consistent `GetItem` of the record |
//!
//! An authorizer instance that cached the token's verification (`AUTH_CACHE_TTL_SECONDS`)
//! hands out the old metadata until that entry expires.

use uuid::Uuid;

use crate::domain::error::ApiError;
use crate::domain::model::TokenItem;
use crate::domain::principal::Principal;
use crate::domain::scope::TOKENS_WRITE;
use crate::service::token_service::TokenService;
use crate::store::{Amendment, Patch, TokenStore};
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
        let item = self
            .store
            .amend(&Amendment {
                id,
                tenant_id: &caller.tenant_id,
                owner: (!caller.is_admin()).then_some(caller.user_id.as_str()),
                patch,
                actor: &caller.user_id,
                at: time::now(),
            })
            .await?
            .ok_or(ApiError::TokenNotFound)?;
        tracing::info!(tenant = %item.tenant_id, token_id = %item.id, by = %caller.user_id, "token updated");
        Ok(item)
    }
}
