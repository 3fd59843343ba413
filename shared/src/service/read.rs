//! Reading tokens: one by id ([`TokenService::get`]), the caller's own
//! ([`TokenService::get_self`]), or a page of them ([`TokenService::list`], whose rules are
//! in [`crate::service::listing`]). A token out of the caller's sight reads as not found.

use uuid::Uuid;

use crate::domain::error::ApiError;
use crate::domain::model::TokenItem;
use crate::domain::principal::Principal;
use crate::domain::scope::TOKENS_READ;
use crate::service::authority::visible_to;
use crate::service::listing::{self, ListQuery, ListResult};
use crate::service::token_service::TokenService;
use crate::store::TokenStore;

impl<S: TokenStore> TokenService<S> {
    /// Reads one token the caller may see; anything else is "not found".
    pub async fn get(&self, caller: &Principal, id: &str) -> Result<TokenItem, ApiError> {
        if !caller.can_read() {
            return Err(ApiError::MissingScope(TOKENS_READ));
        }
        let id = Uuid::parse_str(id).map_err(|_| ApiError::TokenNotFound)?;
        match self.store.get(id).await? {
            Some(item) if visible_to(caller, &item) => Ok(item),
            _ => Err(ApiError::TokenNotFound),
        }
    }

    /// The record of the token the caller presented (`GET /tokens/self`); any valid token
    /// may read its own record.
    pub async fn get_self(&self, caller: &Principal) -> Result<TokenItem, ApiError> {
        let id = Uuid::parse_str(&caller.token_id).map_err(|_| ApiError::TokenNotFound)?;
        match self.store.get(id).await? {
            Some(item) if item.tenant_id == caller.tenant_id => Ok(item),
            _ => Err(ApiError::TokenNotFound),
        }
    }

    /// One page of tokens matching `query` (see [`crate::service::listing`]).
    pub async fn list(
        &self,
        caller: &Principal,
        query: &ListQuery,
    ) -> Result<ListResult, ApiError> {
        let mut page = listing::list(
            &self.store,
            self.cursors()?,
            self.read_budget,
            caller,
            query,
        )
        .await?;
        page.quota_remaining = self
            .quota_remaining(&page.items, crate::support::time::now())
            .await?;
        Ok(page)
    }
}
