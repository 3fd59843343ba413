//! Minting tokens: [`TokenService::create`] for a caller, [`TokenService::issue`] for the
//! operator's tool, and the sealing and replay of a keyed request's first result
//! (`Idempotency-Key`, see [`crate::service::idempotency`]), which rotation shares.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::domain::error::ApiError;
use crate::domain::limits::{MAX_LIFETIME, MAX_LIFETIME_DAYS};
use crate::domain::model::{StoredStatus, TokenItem};
use crate::domain::principal::Principal;
use crate::domain::scope::{TOKENS_ADMIN, TOKENS_WRITE};
use crate::domain::usage::{Quota, RateLimit};
use crate::service::authority::{
    ips_beyond, limit_for, limits_within, outlives, within_expiry, within_ips, within_scopes,
};
use crate::service::idempotency::{self, Keyed};
use crate::service::token_service::TokenService;
use crate::store::{Once, StoreError, TokenStore};
use crate::support::secret::{self, TokenSecret};
use crate::support::time::{self, Timestamp};

/// A validated creation request (see `http`'s `parse_create` for the field rules).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateInput {
    /// Token name.
    pub name: String,
    /// Optional description.
    pub description: Option<String>,
    /// Requested scopes, deduplicated, each in the catalog.
    pub scopes: Vec<String>,
    /// Expiry, already checked to be in the future.
    pub expires_at: Option<Timestamp>,
    /// Owner, if not the caller.
    pub user_id: Option<String>,
    /// Labels.
    pub metadata: BTreeMap<String, String>,
    /// Normalised CIDR blocks requests must come from (empty: anywhere).
    pub allowed_ips: Vec<String>,
    /// Requested rate limit (`None`: the caller's own, if any).
    pub rate_limit: Option<RateLimit>,
    /// Requested quota (`None`: the caller's own, if any).
    pub quota: Option<Quota>,
}

/// A token just minted by a create or a rotation, or, for a retry with the same
/// `Idempotency-Key`, the one first minted.
#[derive(Debug)]
pub struct Minted {
    /// The token as it was minted.
    pub item: TokenItem,
    /// Its secret, to show to the client (and nowhere else).
    pub secret: TokenSecret,
    /// Whether this is a retry's replay of the first result.
    pub replayed: bool,
}

/// The result a keyed request seals into its idempotency record.
#[derive(serde::Serialize, serde::Deserialize)]
struct SealedResult {
    token: TokenItem,
    secret: String,
}

impl<S: TokenStore> TokenService<S> {
    /// Creates a token for the caller (or, with `tokens:admin`, for another user of the
    /// tenant). Scopes can never exceed the caller's own, nor expiry outlast the caller's.
    /// With an idempotency `key`, a retry within its window returns the first result.
    /// `now` is the instant the request's relative times (`expires_in_days`) were counted
    /// from; it becomes `created_at`, so the stored lifetime is exactly the one asked for.
    pub async fn create(
        &self,
        caller: &Principal,
        input: CreateInput,
        key: Option<&Keyed>,
        now: Timestamp,
    ) -> Result<Minted, ApiError> {
        if !caller.can_write() {
            return Err(ApiError::MissingScope(TOKENS_WRITE));
        }
        let owner = match input.user_id.as_deref() {
            Some(user) if user != caller.user_id && !caller.is_admin() => {
                return Err(ApiError::MissingScope(TOKENS_ADMIN))
            }
            Some(user) => user.to_string(),
            None => caller.user_id.clone(),
        };
        within_scopes(caller, &input.scopes)?;
        let input = CreateInput {
            expires_at: within_expiry(caller, input.expires_at)?,
            allowed_ips: within_ips(caller, input.allowed_ips)?,
            rate_limit: limit_for(
                caller,
                caller.rate_limit,
                caller.rate_limit,
                input.rate_limit.map(Some),
                true,
            )?,
            quota: limit_for(
                caller,
                caller.quota,
                caller.quota,
                input.quota.map(Some),
                true,
            )?,
            ..input
        };
        let (item, secret) =
            self.new_token(&caller.tenant_id, &owner, &caller.user_id, input, now)?;
        let once = key.map(|k| self.seal(k, &item, &secret)).transpose()?;
        let purge_at = item.expires_at.map(|e| e + self.retention);
        let hash = self.hasher()?.hash(&secret);
        if let Some(held) = self
            .store
            .insert(&item, &hash, purge_at, once.as_ref())
            .await?
        {
            return self.replay(caller, key, held);
        }
        tracing::info!(tenant = %item.tenant_id, token_id = %item.id, user = %item.user_id, by = %caller.user_id, "token created");
        Ok(Minted {
            item,
            secret,
            replayed: false,
        })
    }

    /// Mints a token without a calling principal: for bootstrapping a tenant's first admin
    /// token from an operator's tool. Scopes must be in the catalog.
    pub async fn issue(
        &self,
        tenant_id: &str,
        owner: &str,
        created_by: &str,
        input: CreateInput,
    ) -> Result<(TokenItem, TokenSecret), ApiError> {
        let (item, secret) = self.new_token(tenant_id, owner, created_by, input, time::now())?;
        let purge_at = item.expires_at.map(|e| e + self.retention);
        self.store
            .insert(&item, &self.hasher()?.hash(&secret), purge_at, None)
            .await?;
        tracing::info!(tenant = %item.tenant_id, token_id = %item.id, user = %item.user_id, "token issued");
        Ok((item, secret))
    }

    /// A new active token record and its secret (nothing written yet).
    pub(super) fn new_token(
        &self,
        tenant_id: &str,
        owner: &str,
        created_by: &str,
        input: CreateInput,
        now: Timestamp,
    ) -> Result<(TokenItem, TokenSecret), ApiError> {
        if !crate::domain::limits::valid_id(tenant_id) || !crate::domain::limits::valid_id(owner) {
            return Err(ApiError::Internal(
                "tenant and user ids must be 1..=128 of [A-Za-z0-9._@:+-]".into(),
            ));
        }
        if let Some(unknown) = input.scopes.iter().find(|s| !self.scopes.contains(s)) {
            return Err(ApiError::Internal(format!(
                "scope {unknown} is not in the catalog"
            )));
        }
        let latest = now + MAX_LIFETIME;
        if input.expires_at.is_some_and(|e| e > latest) {
            return Err(ApiError::field(
                vec!["body".into(), "expires_at".into()],
                "range",
                format!(
                    "a token lives at most {MAX_LIFETIME_DAYS} days: its expiry (asked for, or \
                     the lifetime a rotation keeps) must be at most {}; give an earlier expires_at",
                    time::format(&latest)
                ),
            ));
        }
        let id = Uuid::now_v7();
        let secret = secret::generate(&self.prefix, id, &self.rng);
        let item = TokenItem {
            id,
            tenant_id: tenant_id.to_string(),
            user_id: owner.to_string(),
            name: input.name,
            description: input.description,
            prefix: secret::display_prefix(&secret),
            scopes: input.scopes,
            status: StoredStatus::Active,
            created_by: created_by.to_string(),
            created_at: now,
            updated_at: now,
            last_used_at: None,
            last_used_ip: None,
            expires_at: input.expires_at,
            revoked_at: None,
            revoked_by: None,
            revoked_via: None,
            revocation_reason: None,
            metadata: input.metadata,
            allowed_ips: input.allowed_ips,
            rotated_from: None,
            rotated_to: None,
            updated_by: Some(created_by.to_string()),
            rate_limit: input.rate_limit,
            quota: input.quota,
        };
        Ok((item, secret))
    }

    /// The idempotency record of a keyed request that minted `item`: the result, sealed.
    pub(super) fn seal(
        &self,
        key: &Keyed,
        item: &TokenItem,
        secret: &TokenSecret,
    ) -> Result<Once, StoreError> {
        let result = SealedResult {
            token: item.clone(),
            secret: secret.expose().to_string(),
        };
        let plain = serde_json::to_vec(&result).unwrap_or_default();
        Ok(Once {
            pk: key.pk.clone(),
            fingerprint: key.fingerprint.clone(),
            sealed: self.sealer()?.seal(&key.pk, &plain),
            expires_at: time::now() + idempotency::WINDOW,
        })
    }

    /// The first result of a keyed request, for its retry; 422 if the key was used for a
    /// different request. Keys are bound to the presenting token (`Keyed::new`), and the
    /// result passes again every check a fresh request would before it is shown: a replay
    /// never hands out a token stronger, longer-lived or less restricted than `caller`.
    pub(super) fn replay(
        &self,
        caller: &Principal,
        key: Option<&Keyed>,
        held: Once,
    ) -> Result<Minted, ApiError> {
        let key = key.ok_or_else(|| ApiError::Internal("a replay without a key".into()))?;
        if held.fingerprint != key.fingerprint {
            return Err(ApiError::IdempotencyKeyReused);
        }
        let plain = self
            .sealer()?
            .open(&held.pk, &held.sealed)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let result: SealedResult = serde_json::from_slice(&plain)
            .map_err(|e| ApiError::Internal(format!("idempotent result: {e}")))?;
        let token = &result.token;
        if token.tenant_id != caller.tenant_id {
            return Err(ApiError::IdempotencyKeyReused);
        }
        within_scopes(caller, &token.scopes)?;
        if let Some(cap) = caller.expires_at {
            if token.expires_at.is_none_or(|e| e > cap) {
                return Err(outlives(cap));
            }
        }
        if !caller.allowed_ips.is_empty() && token.allowed_ips.is_empty() {
            return Err(ips_beyond(&caller.allowed_ips));
        }
        within_ips(caller, token.allowed_ips.clone())?;
        limits_within(caller, token.rate_limit, token.quota)?;
        tracing::info!(token_id = %result.token.id, "idempotent retry answered with the original result");
        Ok(Minted {
            item: result.token,
            secret: TokenSecret::recovered(result.secret),
            replayed: true,
        })
    }
}
