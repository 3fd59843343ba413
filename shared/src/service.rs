//! The domain operations: create, get, list, revoke, verify. Transport-free: the HTTP layer
//! (`api`) and the authorizer call these with a verified [`Principal`].

use std::collections::BTreeMap;

use chrono::Duration;
use ring::rand::SystemRandom;
use uuid::Uuid;

use crate::config::Config;
use crate::cursor::CursorCodec;
use crate::error::ApiError;
use crate::identity::Principal;
use crate::listing::{self, ListQuery, ListResult};
use crate::model::{StoredStatus, TokenItem};
use crate::schema;
use crate::scope::{ScopeCatalog, TOKENS_ADMIN, TOKENS_READ, TOKENS_WRITE};
use crate::secret::{self, SecretHasher, TokenSecret};
use crate::store::{Revocation, RevokeOutcome, TokenStore};
use crate::time::{self, Timestamp};
use crate::verify_cache::VerifyCache;

/// A validated creation request (see `api::parse_create` for the field rules).
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
}

/// Why a presented token was refused. Logged (without the token), never sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Bad format or checksum: rejected without any DynamoDB call.
    #[error("malformed token: {0}")]
    Malformed(#[from] secret::MalformedToken),
    /// No record with that id.
    #[error("unknown token")]
    Unknown,
    /// A record exists but the secret does not match its hash.
    #[error("secret does not match")]
    Mismatch,
    /// Revoked.
    #[error("token revoked")]
    Revoked,
    /// Past its expiry.
    #[error("token expired")]
    Expired,
    /// The request comes from outside the token's `allowed_ips`.
    #[error("source address not allowed")]
    IpNotAllowed,
}

/// A verified token: who it stands for, and where it may be used from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The principal.
    pub principal: Principal,
    /// CIDR blocks requests must come from (empty: anywhere).
    pub allowed_ips: Vec<String>,
}

/// Why verification did not produce a principal.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The token is not acceptable (answer 401 / deny).
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The store failed; the caller should not be told "invalid token".
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// The token service over a store.
pub struct TokenService<S> {
    store: S,
    hasher: SecretHasher,
    cursors: CursorCodec,
    scopes: ScopeCatalog,
    prefix: String,
    retention: Duration,
    read_budget: usize,
    verify_cache: VerifyCache,
    touched: std::sync::Mutex<std::collections::HashMap<Uuid, std::time::Instant>>,
    touch_interval: std::time::Duration,
    rng: SystemRandom,
}

impl<S: TokenStore> TokenService<S> {
    /// Builds the service from its store and configuration.
    pub fn new(store: S, config: &Config) -> Self {
        Self {
            store,
            hasher: SecretHasher::new(&config.token_hash_key),
            cursors: CursorCodec::new(&config.cursor_keys).expect("config validated the keys"),
            scopes: config.scopes.clone(),
            prefix: config.token_prefix.clone(),
            retention: Duration::days(i64::from(config.retention_days)),
            read_budget: config.list_read_budget,
            verify_cache: VerifyCache::new(config.auth_cache_ttl_seconds),
            touched: Default::default(),
            touch_interval: std::time::Duration::from_secs(u64::from(
                config.last_used_interval_seconds,
            )),
            rng: SystemRandom::new(),
        }
    }

    /// The store, for tools and tests.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The scopes tokens may be given in this deployment.
    pub fn scopes(&self) -> &ScopeCatalog {
        &self.scopes
    }

    /// Creates a token for the caller (or, with `tokens:admin`, for another user of the
    /// tenant). Scopes can never exceed the caller's own.
    pub async fn create(
        &self,
        caller: &Principal,
        input: CreateInput,
    ) -> Result<(TokenItem, TokenSecret), ApiError> {
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
        let beyond: Vec<&str> = input
            .scopes
            .iter()
            .filter(|s| !caller.has(s))
            .map(String::as_str)
            .collect();
        if !beyond.is_empty() {
            return Err(ApiError::Forbidden(format!(
                "a token cannot grant scopes its creator does not hold: {}",
                beyond.join(", ")
            )));
        }
        self.issue(&caller.tenant_id, &owner, &caller.user_id, input)
            .await
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
        if !crate::api::valid_id(tenant_id) || !crate::api::valid_id(owner) {
            return Err(ApiError::Internal(
                "tenant and user ids must be 1..=128 of [A-Za-z0-9._@:+-]".into(),
            ));
        }
        if let Some(unknown) = input.scopes.iter().find(|s| !self.scopes.contains(s)) {
            return Err(ApiError::Internal(format!(
                "scope {unknown} is not in the catalog"
            )));
        }
        let now = time::now();
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
            revocation_reason: None,
            metadata: input.metadata,
            allowed_ips: input.allowed_ips,
        };
        let purge_at = item.expires_at.map(|e| e + self.retention);
        self.store
            .insert(&item, &self.hasher.hash(&secret), purge_at)
            .await?;
        tracing::info!(tenant = %item.tenant_id, token_id = %item.id, user = %item.user_id, "token created");
        Ok((item, secret))
    }

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

    /// One page of tokens matching `query` (see [`crate::listing`]).
    pub async fn list(
        &self,
        caller: &Principal,
        query: &ListQuery,
    ) -> Result<ListResult, ApiError> {
        listing::list(&self.store, &self.cursors, self.read_budget, caller, query).await
    }

    /// Moves every stored-active token past its expiry to `expired` (the scheduled sweeper).
    /// Returns how many moved.
    pub async fn sweep_expired(&self) -> Result<usize, crate::store::StoreError> {
        const BATCH: i32 = 100;
        let now = time::now();
        let mut moved = 0;
        for shard in 0..schema::DUE_SHARDS {
            loop {
                let n = self.store.expire_due(shard, now, BATCH).await?;
                moved += n;
                if n < BATCH as usize {
                    break;
                }
            }
        }
        if moved > 0 {
            tracing::info!(moved, "expired tokens moved to the expired status");
        }
        Ok(moved)
    }

    /// Revokes a token. Revoking a revoked token returns the first revocation unchanged.
    pub async fn revoke(
        &self,
        caller: &Principal,
        id: &str,
        reason: Option<&str>,
    ) -> Result<TokenItem, ApiError> {
        if !caller.can_write() {
            return Err(ApiError::MissingScope(TOKENS_WRITE));
        }
        let id = Uuid::parse_str(id).map_err(|_| ApiError::TokenNotFound)?;
        let at = time::now();
        let outcome = self
            .store
            .revoke(&Revocation {
                id,
                tenant_id: &caller.tenant_id,
                owner: (!caller.is_admin()).then_some(caller.user_id.as_str()),
                actor: &caller.user_id,
                reason,
                at,
                purge_at: at + self.retention,
            })
            .await?;
        match outcome {
            RevokeOutcome::Revoked(item) => {
                tracing::info!(tenant = %item.tenant_id, token_id = %item.id, by = %caller.user_id, "token revoked");
                Ok(item)
            }
            RevokeOutcome::Unchanged(Some(item))
                if visible_to(caller, &item) && item.status == StoredStatus::Revoked =>
            {
                Ok(item)
            }
            RevokeOutcome::Unchanged(Some(item)) if visible_to(caller, &item) => {
                Err(ApiError::Internal(format!(
                    "revocation of {id} failed its condition while active"
                )))
            }
            RevokeOutcome::Unchanged(_) => Err(ApiError::TokenNotFound),
        }
    }

    /// Verifies a presented token: format and checksum first (no I/O), then one strongly
    /// consistent `GetItem` of its credential and a constant-time hash comparison.
    /// It does not check `allowed_ips`: the authorizer does, with the request's address.
    pub async fn verify(&self, presented: &str) -> Result<Principal, VerifyError> {
        self.verify_uncached(presented)
            .await
            .map(|(v, _)| v.principal)
    }

    /// [`Self::verify`] through the warm-instance cache (`AUTH_CACHE_TTL_SECONDS`): a fresh
    /// cached answer, positive or negative, costs no DynamoDB request. The authorizer uses it.
    /// The request's source address must be inside the token's `allowed_ips`, if any.
    pub async fn verify_cached(
        &self,
        presented: &str,
        source_ip: Option<std::net::IpAddr>,
    ) -> Result<Principal, VerifyError> {
        let verified = match self.verify_cache.get(presented) {
            Some(cached) => cached.map_err(VerifyError::from),
            // Boxed: one allocation cuts the nesting of futures the Lambda runtime wraps this
            // in (rustc's layout queries otherwise overflow their depth limit).
            None => Box::pin(self.verify_and_remember(presented)).await,
        }?;
        if !crate::cidr::allows(&verified.allowed_ips, source_ip) {
            return Err(Rejection::IpNotAllowed.into());
        }
        self.record_use(&verified.principal, source_ip);
        Ok(verified.principal)
    }

    /// Records the use off the response path (a spawned task), at most once per
    /// `LAST_USED_INTERVAL_SECONDS` per token and instance; the store's condition makes it at
    /// most once per interval overall.
    fn record_use(&self, principal: &Principal, ip: Option<std::net::IpAddr>) {
        if self.touch_interval.is_zero() {
            return;
        }
        let Ok(id) = Uuid::parse_str(&principal.token_id) else {
            return;
        };
        let now = std::time::Instant::now();
        {
            let mut touched = self.touched.lock().unwrap_or_else(|e| e.into_inner());
            if touched
                .get(&id)
                .is_some_and(|t| now.duration_since(*t) < self.touch_interval)
            {
                return;
            }
            if touched.len() >= 10_000 {
                touched.clear();
            }
            touched.insert(id, now);
        }
        let store = self.store.clone();
        let ip = ip.map(|ip| ip.to_canonical().to_string());
        let interval = Duration::from_std(self.touch_interval).unwrap_or_default();
        tokio::spawn(async move {
            if let Err(e) = store.touch(id, time::now(), ip, interval).await {
                tracing::warn!(token_id = %id, error = %e, "recording the last use failed");
            }
        });
    }

    async fn verify_and_remember(&self, presented: &str) -> Result<Verified, VerifyError> {
        match self.verify_uncached(presented).await {
            Ok((verified, expires_at)) => {
                self.verify_cache
                    .put(presented, Ok(verified.clone()), expires_at);
                Ok(verified)
            }
            // Malformed tokens cost nothing to re-check; store failures must not stick.
            Err(VerifyError::Rejected(r)) if !matches!(r, Rejection::Malformed(_)) => {
                self.verify_cache.put(presented, Err(r), None);
                Err(r.into())
            }
            Err(e) => Err(e),
        }
    }

    async fn verify_uncached(
        &self,
        presented: &str,
    ) -> Result<(Verified, Option<Timestamp>), VerifyError> {
        let parsed = secret::parse(presented).map_err(Rejection::from)?;
        let cred = self
            .store
            .credential(parsed.id)
            .await?
            .ok_or(Rejection::Unknown)?;
        if !self.hasher.verify(&parsed, &cred.secret_hash) {
            return Err(Rejection::Mismatch.into());
        }
        if cred.status == StoredStatus::Revoked {
            return Err(Rejection::Revoked.into());
        }
        if cred.expires_at.is_some_and(|e| e <= time::now()) {
            return Err(Rejection::Expired.into());
        }
        let principal = Principal {
            tenant_id: cred.tenant_id,
            user_id: cred.user_id,
            token_id: parsed.id.to_string(),
            scopes: cred.scopes,
        };
        let verified = Verified {
            principal,
            allowed_ips: cred.allowed_ips,
        };
        Ok((verified, cred.expires_at))
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
}

/// Same tenant, and the caller's own token unless it is an admin.
fn visible_to(caller: &Principal, item: &TokenItem) -> bool {
    item.tenant_id == caller.tenant_id && (caller.is_admin() || item.user_id == caller.user_id)
}
