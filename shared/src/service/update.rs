//! Changing a token's name, description or metadata ([`TokenService::update`], `PATCH`).
//! Scopes, expiry, owner and address limits never change: a token's authority is fixed when
//! it is minted.

use uuid::Uuid;

use crate::domain::error::ApiError;
use crate::domain::model::TokenItem;
use crate::domain::principal::Principal;
use crate::domain::scope::TOKENS_WRITE;
use crate::service::token_service::TokenService;
use crate::store::{Amendment, Patch, TokenStore};
use crate::support::time;

impl<S: TokenStore> TokenService<S> {
    /// Changes a token's name, description or metadata (one conditional `UpdateItem`).
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
