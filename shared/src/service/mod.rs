//! The domain operations: create, get, list, revoke, verify. Transport-free: the HTTP layer
//! (`api`) and the authorizer call these with a verified [`Principal`].

pub mod bootstrap;
pub mod idempotency;
pub mod listing;
pub mod verify_cache;

use std::collections::BTreeMap;

use chrono::Duration;
use futures_util::StreamExt;
use ring::rand::SystemRandom;
use uuid::Uuid;

use crate::config::Config;
use crate::domain::error::ApiError;
use crate::domain::limits::{MAX_LIFETIME, MAX_LIFETIME_DAYS};
use crate::domain::model::{Status, StoredStatus, TokenItem};
use crate::domain::principal::Principal;
use crate::domain::scope::{ScopeCatalog, TOKENS_ADMIN, TOKENS_READ, TOKENS_WRITE};
use crate::domain::verification::Rejection;
use crate::service::idempotency::{Keyed, Sealer};
use crate::service::listing::{ListQuery, ListResult};
use crate::service::verify_cache::VerifyCache;
use crate::store::schema;
use crate::store::{
    Amendment, KeyRange, Once, PageRequest, Patch, Revocation, RevokeOutcome, RotateOutcome,
    Rotation, StoreError, TokenStore,
};
use crate::support::cidr::Cidr;
use crate::support::cursor::CursorCodec;
use crate::support::secret::{self, SecretHasher, TokenSecret};
use crate::support::time::{self, Timestamp};

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

/// A validated rotation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotateInput {
    /// How long the old token keeps working (0..=[`MAX_GRACE_PERIOD`]).
    pub grace_period: Duration,
    /// The new token's expiry; by default the old token's lifetime, counted from now.
    pub expires_at: Option<Timestamp>,
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

/// Why verification did not produce a principal.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The token is not acceptable (answer 401 / deny).
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The store failed; the caller should not be told "invalid token".
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The token service over a store.
pub struct TokenService<S> {
    store: S,
    hasher: SecretHasher,
    sealer: Sealer,
    cursors: CursorCodec,
    scopes: ScopeCatalog,
    prefix: String,
    retention: Duration,
    read_budget: usize,
    verify_cache: VerifyCache,
    touched: std::sync::Mutex<std::collections::HashMap<Uuid, std::time::Instant>>,
    touch_interval: std::time::Duration,
    rng: SystemRandom,
    user_revocation_page: i32,
}

impl<S: TokenStore> TokenService<S> {
    /// Builds the service from its store and configuration.
    pub fn new(store: S, config: &Config) -> Self {
        Self {
            store,
            hasher: SecretHasher::new(&config.token_hash_key),
            sealer: Sealer::new(&config.token_hash_key),
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
            user_revocation_page: USER_REVOCATION_PAGE,
        }
    }

    /// The same service reading `page` tokens per page when revoking a user's tokens
    /// (default 500; at least 1), for tests of long revocations with few tokens.
    pub fn with_user_revocation_page(mut self, page: i32) -> Self {
        self.user_revocation_page = page.max(1);
        self
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
            ..input
        };
        let (item, secret) =
            self.new_token(&caller.tenant_id, &owner, &caller.user_id, input, now)?;
        let once = key.map(|k| self.seal(k, &item, &secret));
        let purge_at = item.expires_at.map(|e| e + self.retention);
        let hash = self.hasher.hash(&secret);
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
            .insert(&item, &self.hasher.hash(&secret), purge_at, None)
            .await?;
        tracing::info!(tenant = %item.tenant_id, token_id = %item.id, user = %item.user_id, "token issued");
        Ok((item, secret))
    }

    /// A new active token record and its secret (nothing written yet).
    fn new_token(
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
        };
        Ok((item, secret))
    }

    /// The idempotency record of a keyed request that minted `item`: the result, sealed.
    fn seal(&self, key: &Keyed, item: &TokenItem, secret: &TokenSecret) -> Once {
        let result = SealedResult {
            token: item.clone(),
            secret: secret.expose().to_string(),
        };
        let plain = serde_json::to_vec(&result).unwrap_or_default();
        Once {
            pk: key.pk.clone(),
            fingerprint: key.fingerprint.clone(),
            sealed: self.sealer.seal(&key.pk, &plain),
            expires_at: time::now() + idempotency::WINDOW,
        }
    }

    /// The first result of a keyed request, for its retry; 422 if the key was used for a
    /// different request. Keys are bound to the presenting token (`Keyed::new`), and the
    /// result passes again every check a fresh request would before it is shown: a replay
    /// never hands out a token stronger, longer-lived or less restricted than `caller`.
    fn replay(
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
            .sealer
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
        tracing::info!(token_id = %result.token.id, "idempotent retry answered with the original result");
        Ok(Minted {
            item: result.token,
            secret: TokenSecret::recovered(result.secret),
            replayed: true,
        })
    }

    /// Replaces a token by a new one with the same name, scopes, owner and settings and a
    /// new secret. The old token keeps working for `grace_period`, then reads as revoked
    /// with reason `rotated`; the two are linked by `rotated_to` and `rotated_from`.
    pub async fn rotate(
        &self,
        caller: &Principal,
        id: &str,
        input: RotateInput,
        key: Option<&Keyed>,
    ) -> Result<Minted, ApiError> {
        if !caller.can_write() {
            return Err(ApiError::MissingScope(TOKENS_WRITE));
        }
        let id = Uuid::parse_str(id).map_err(|_| ApiError::TokenNotFound)?;
        for _ in 0..ROTATE_ATTEMPTS {
            let old = match self.store.get(id).await? {
                Some(t) if visible_to(caller, &t) => t,
                _ => return Err(ApiError::TokenNotFound),
            };
            let now = time::now();
            let refusal = match (old.rotated_to, old.status_at(now)) {
                (Some(to), _) => Some(format!("this token was already rotated to {to}")),
                (None, Status::Active) => None,
                (None, other) => Some(format!(
                    "only an active token can be rotated; this one is {}",
                    serde_json::to_value(other)
                        .unwrap_or_default()
                        .as_str()
                        .unwrap_or("")
                )),
            };
            if let Some(why) = refusal {
                // The retry of the rotation that did this gets that rotation's result.
                if let Some(k) = key {
                    if let Some(held) = self.store.held(&k.pk).await? {
                        return self.replay(caller, key, held);
                    }
                }
                return Err(ApiError::NotRotatable(why));
            }
            within_scopes(caller, &old.scopes)?;
            let allowed_ips = within_ips(caller, old.allowed_ips.clone())?;
            let expires_at = match input.expires_at {
                Some(t) => within_expiry(caller, Some(t))?,
                // Same lifetime as the old token had, within the caller's own.
                None => {
                    let same = old.expires_at.map(|e| now + (e - old.created_at));
                    match (same, caller.expires_at) {
                        (Some(e), Some(cap)) => Some(e.min(cap)),
                        (same, cap) => same.or(cap),
                    }
                }
            };
            let (mut new, secret) = self.new_token(
                &old.tenant_id,
                &old.user_id,
                &caller.user_id,
                CreateInput {
                    name: old.name.clone(),
                    description: old.description.clone(),
                    scopes: old.scopes.clone(),
                    expires_at,
                    user_id: None,
                    metadata: old.metadata.clone(),
                    allowed_ips,
                },
                now,
            )?;
            new.rotated_from = Some(old.id);
            let retired = retire(&old, new.id, &caller.user_id, now, input.grace_period);
            let once = key.map(|k| self.seal(k, &new, &secret));
            let hash = self.hasher.hash(&secret);
            let outcome = self
                .store
                .rotate(&Rotation {
                    old: &old,
                    retired: &retired,
                    retired_purge_at: retired.revoked_at.map(|t| t + self.retention),
                    new: &new,
                    new_hash: &hash,
                    new_purge_at: new.expires_at.map(|e| e + self.retention),
                    once: once.as_ref(),
                })
                .await?;
            match outcome {
                RotateOutcome::Rotated => {
                    tracing::info!(tenant = %new.tenant_id, token_id = %new.id, rotated_from = %old.id, by = %caller.user_id, "token rotated");
                    return Ok(Minted {
                        item: new,
                        secret,
                        replayed: false,
                    });
                }
                RotateOutcome::Held(held) => return self.replay(caller, key, held),
                RotateOutcome::Stale => continue,
            }
        }
        Err(StoreError::Contended(format!("rotation of {id}")).into())
    }

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

    /// One page of tokens matching `query` (see [`crate::service::listing`]).
    pub async fn list(
        &self,
        caller: &Principal,
        query: &ListQuery,
    ) -> Result<ListResult, ApiError> {
        listing::list(&self.store, &self.cursors, self.read_budget, caller, query).await
    }

    /// Moves every stored-active token past its expiry to `expired` (the scheduled sweeper).
    /// Each `by_due` shard is walked to its end from the last key read, so records that do
    /// not decode (logged and counted by the store) are stepped over; a shard that fails
    /// is logged and the others are still swept. `Err` names the failed shards after every
    /// shard was tried, so the run is reported failed and retried.
    pub async fn sweep_expired(&self) -> Result<usize, StoreError> {
        const BATCH: i32 = 100;
        let now = time::now();
        let mut moved = 0;
        let mut failed = Vec::new();
        for shard in 0..schema::DUE_SHARDS {
            let mut after: Option<String> = None;
            loop {
                match self
                    .store
                    .expire_due(shard, now, BATCH, after.as_deref())
                    .await
                {
                    Ok(step) => {
                        moved += step.moved;
                        match step.next {
                            Some(next) => after = Some(next),
                            None => break,
                        }
                    }
                    Err(e) => {
                        tracing::error!(shard, error = %e, "sweeping a shard failed; going on with the others");
                        failed.push(format!("shard {shard}: {e}"));
                        break;
                    }
                }
            }
        }
        if moved > 0 {
            tracing::info!(moved, "expired tokens moved to the expired status");
        }
        if failed.is_empty() {
            Ok(moved)
        } else {
            Err(StoreError::Unavailable(format!(
                "moved {moved}; failed: {}",
                failed.join("; ")
            )))
        }
    }

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
    fn revocation<'a>(
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
        if !self.hasher.verify(&parsed, &cred.secret_hash) {
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

    /// Revokes every stored-active token of a user (an identity provider offboarding them).
    /// Reads the owner's active partition page by page; revokes each page in parallel lanes
    /// (4 at a time), one per counter shard (lanes never contend on a counter), up to 25
    /// tokens per transaction (`store::MAX_BATCH_REVOCATIONS`). Stops between pages once
    /// `deadline` is near, after at least one page: the result then says `complete: false`,
    /// and calling again finishes the job (revoked tokens have left the partition, so
    /// nothing is done twice and nothing is skipped).
    pub async fn revoke_user(
        &self,
        tenant_id: &str,
        user_id: &str,
        actor: &str,
        via: Option<&str>,
        reason: Option<&str>,
        deadline: Option<std::time::Instant>,
    ) -> Result<BulkRevocation, StoreError> {
        let partition = schema::partition_value(
            schema::Partition::OwnerStatus,
            tenant_id,
            user_id,
            StoredStatus::Active.as_str(),
        );
        let range = KeyRange::default();
        let mut after: Option<String> = None;
        let mut done = BulkRevocation::default();
        loop {
            let page = self
                .store
                .page(&PageRequest {
                    index: schema::BY_OWNER_STATUS,
                    partition: &partition,
                    range: &range,
                    ascending: true,
                    limit: self.user_revocation_page,
                    start_after: after.as_deref(),
                })
                .await?;
            done.requests += 1;
            let at = time::now();
            let revocation = Revocation {
                id: Uuid::nil(),
                tenant_id,
                owner: Some(user_id),
                actor,
                via,
                reason,
                at,
                purge_at: at + self.retention,
            };
            let mut lanes: BTreeMap<u32, Vec<&TokenItem>> = BTreeMap::new();
            for t in page
                .items
                .iter()
                .filter(|t| t.status == StoredStatus::Active)
            {
                lanes
                    .entry(schema::counter_shard(t.id))
                    .or_default()
                    .push(t);
            }
            let results: Vec<_> = futures_util::stream::iter(lanes.into_values())
                .map(|lane| self.revoke_lane(lane, &revocation))
                .buffer_unordered(REVOCATION_LANES)
                .collect()
                .await;
            for lane in results {
                done.add(lane?);
            }
            // A record that does not decode is still revoked when its tenant, owner and
            // status are intact (the write-only revocation conditions on nothing else); when
            // they are not, its credential alone is revoked. So a damaged record never keeps
            // its token working past an offboarding.
            for id in page
                .unreadable
                .iter()
                .filter_map(|pk| schema::id_from_token_pk(pk))
            {
                done.unreadable += 1;
                if let Err(e) = self.revoke_damaged(id, &revocation, &mut done).await {
                    tracing::warn!(token_id = %id, error = %e, "revoking a damaged record failed");
                }
            }
            after = match (page.more, page.last_key) {
                (true, Some(last)) => Some(last),
                _ => {
                    done.complete = true;
                    break;
                }
            };
            if deadline.is_some_and(|d| {
                d.saturating_duration_since(std::time::Instant::now()) < USER_REVOCATION_MARGIN
            }) {
                break;
            }
        }
        tracing::info!(tenant = %tenant_id, user = %user_id, by = %actor, via = via.unwrap_or("-"), revoked = done.revoked, complete = done.complete, "user's tokens revoked");
        Ok(done)
    }

    /// Revokes token `id`, whose record in the owner's active partition does not decode:
    /// its record when its tenant, owner and status allow, else its credential alone.
    async fn revoke_damaged(
        &self,
        id: Uuid,
        revocation: &Revocation<'_>,
        done: &mut BulkRevocation,
    ) -> Result<(), StoreError> {
        let single = Revocation {
            id,
            ..revocation.clone()
        };
        done.requests += 1;
        if let RevokeOutcome::Revoked(_) = self.store.revoke_write_only(&single).await? {
            done.revoked += 1;
            return Ok(());
        }
        done.requests += 1;
        let owner = revocation.owner.unwrap_or_default();
        if self
            .store
            .revoke_credential(id, revocation.tenant_id, owner)
            .await?
        {
            done.revoked += 1;
        } else {
            done.unchanged += 1;
        }
        Ok(())
    }

    /// Revokes tokens sharing one counter shard, in batches; a batch whose records changed
    /// since they were read, or that DynamoDB could not take (throttled, timed out), falls
    /// back to revoking its tokens one by one.
    async fn revoke_lane(
        &self,
        lane: Vec<&TokenItem>,
        revocation: &Revocation<'_>,
    ) -> Result<BulkRevocation, StoreError> {
        let mut done = BulkRevocation::default();
        for chunk in lane.chunks(crate::store::MAX_BATCH_REVOCATIONS) {
            let changes: Vec<(TokenItem, TokenItem)> = chunk
                .iter()
                .map(|old| ((*old).clone(), revocation.applied_to(old)))
                .collect();
            let mut written = false;
            for attempt in 0..BATCH_ATTEMPTS {
                done.requests += 1;
                match self.store.revoke_batch(&changes, revocation.purge_at).await {
                    Ok(ok) => {
                        written = ok;
                        break;
                    }
                    Err(e @ (StoreError::Throttled(_) | StoreError::Unavailable(_))) => {
                        tracing::warn!(error = %e, attempt, tokens = changes.len(), "batched revocation failed");
                        let backoff = std::time::Duration::from_millis(100 << attempt);
                        tokio::time::sleep(backoff).await;
                    }
                    Err(e) => return Err(e),
                }
            }
            if written {
                done.revoked += changes.len();
                continue;
            }
            for (old, _) in &changes {
                // One transaction each, no read (two when the token expired meanwhile).
                done.requests += 1;
                let single = Revocation {
                    id: old.id,
                    ..revocation.clone()
                };
                match self.store.revoke_write_only(&single).await? {
                    RevokeOutcome::Revoked(_) => done.revoked += 1,
                    RevokeOutcome::Unchanged(_) => done.unchanged += 1,
                }
            }
        }
        Ok(done)
    }

    /// Verifies a presented token: format and checksum first (no I/O), then one strongly
    /// consistent `GetItem` of its credential and a constant-time hash comparison.
    /// It does not check `allowed_ips`: the authorizer does, with the request's address.
    pub async fn verify(&self, presented: &str) -> Result<Principal, VerifyError> {
        self.verify_uncached(presented).await.map(|(p, _)| p)
    }

    /// [`Self::verify`] through the warm-instance cache (`AUTH_CACHE_TTL_SECONDS`): a fresh
    /// cached answer, positive or negative, costs no DynamoDB request. The authorizer uses it.
    /// The request's source address must be inside the token's `allowed_ips`, if any.
    pub async fn verify_cached(
        &self,
        presented: &str,
        source_ip: Option<std::net::IpAddr>,
    ) -> Result<Principal, VerifyError> {
        let principal = match self.verify_cache.get(presented) {
            Some(cached) => cached.map_err(VerifyError::from),
            // Boxed: one allocation cuts the nesting of futures the Lambda runtime wraps this
            // in (rustc's layout queries otherwise overflow their depth limit).
            None => Box::pin(self.verify_and_remember(presented)).await,
        }?;
        if !crate::support::cidr::allows(&principal.allowed_ips, source_ip) {
            return Err(Rejection::IpNotAllowed.into());
        }
        self.record_use(&principal, source_ip);
        Ok(principal)
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
            // Bounded without a clear (which would let every token write again at once).
            crate::service::verify_cache::make_room_in_touched(
                &mut touched,
                crate::service::verify_cache::MAX_TOUCHED,
                now,
                self.touch_interval,
            );
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

    async fn verify_and_remember(&self, presented: &str) -> Result<Principal, VerifyError> {
        match self.verify_uncached(presented).await {
            Ok((principal, expires_at)) => {
                self.verify_cache
                    .put(presented, Ok(principal.clone()), expires_at);
                Ok(principal)
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
    ) -> Result<(Principal, Option<Timestamp>), VerifyError> {
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
            expires_at: cred.expires_at,
            allowed_ips: cred.allowed_ips,
        };
        Ok((principal, cred.expires_at))
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

/// Lanes (counter shards) revoked at once when revoking all of a user's tokens.
const REVOCATION_LANES: usize = 4;

/// Attempts of one batched revocation that DynamoDB throttles or times out, before its
/// tokens are revoked one by one.
const BATCH_ATTEMPTS: u32 = 3;

/// Tokens read per page when revoking all of a user's tokens.
const USER_REVOCATION_PAGE: i32 = 500;

/// Time kept in reserve before the deadline when revoking a user's tokens: another page is
/// started only with more than this left.
const USER_REVOCATION_MARGIN: std::time::Duration = std::time::Duration::from_secs(5);

/// The result of revoking a user's tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BulkRevocation {
    /// Tokens this call revoked.
    pub revoked: usize,
    /// Tokens found active but revoked (or changed) by someone else meanwhile.
    pub unchanged: usize,
    /// Records in the user's active partition that did not decode: logged, counted
    /// (`metrics`) and stepped over.
    pub unreadable: usize,
    /// DynamoDB requests sent.
    pub requests: usize,
    /// Whether every active token is now revoked; if not, call again.
    pub complete: bool,
}

impl BulkRevocation {
    fn add(&mut self, other: Self) {
        self.revoked += other.revoked;
        self.unchanged += other.unchanged;
        self.unreadable += other.unreadable;
        self.requests += other.requests;
    }
}

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

/// Attempts of a rotation whose old token keeps changing under it.
const ROTATE_ATTEMPTS: usize = 4;

/// The result a keyed request seals into its idempotency record.
#[derive(serde::Serialize, serde::Deserialize)]
struct SealedResult {
    token: TokenItem,
    secret: String,
}

/// The old token of a rotation: linked to its successor, and revoked now (no grace period)
/// or at the end of the grace period, which becomes its expiry so that verification, the
/// listing and the sweeper all stop it then (the sweeper stores it as revoked).
fn retire(
    old: &TokenItem,
    successor: Uuid,
    actor: &str,
    now: Timestamp,
    grace_period: Duration,
) -> TokenItem {
    let end = match old.expires_at {
        Some(e) => e.min(now + grace_period),
        None => now + grace_period,
    };
    let immediate = end <= now;
    TokenItem {
        status: if immediate {
            StoredStatus::Revoked
        } else {
            old.status
        },
        expires_at: if immediate { old.expires_at } else { Some(end) },
        revoked_at: Some(if immediate { now } else { end }),
        revoked_by: Some(actor.to_string()),
        revocation_reason: Some(ROTATED.to_string()),
        rotated_to: Some(successor),
        updated_at: now,
        updated_by: Some(actor.to_string()),
        ..old.clone()
    }
}

/// The revocation reason of a rotated token.
pub const ROTATED: &str = "rotated";

/// Scopes a caller may grant: only its own.
fn within_scopes(caller: &Principal, scopes: &[String]) -> Result<(), ApiError> {
    let beyond: Vec<&str> = scopes
        .iter()
        .filter(|s| !caller.has(s))
        .map(String::as_str)
        .collect();
    if beyond.is_empty() {
        return Ok(());
    }
    Err(ApiError::Forbidden(format!(
        "scopes: a token cannot grant scopes it does not hold: {}",
        beyond.join(", ")
    )))
}

/// The expiry of a token `caller` creates: never later than the caller's own; a caller that
/// expires gives its own expiry to a token asked to live forever.
fn within_expiry(
    caller: &Principal,
    requested: Option<Timestamp>,
) -> Result<Option<Timestamp>, ApiError> {
    match (caller.expires_at, requested) {
        (Some(cap), Some(t)) if t > cap => Err(outlives(cap)),
        (cap, requested) => Ok(requested.or(cap)),
    }
}

/// The 403 of a token asked to outlive its creator, which expires at `cap`.
fn outlives(cap: Timestamp) -> ApiError {
    ApiError::Forbidden(format!(
        "expires_at: a token cannot create a token that outlives it; the latest allowed is {}",
        time::format(&cap)
    ))
}

/// The address blocks of a token `caller` mints: the caller's own when none are asked
/// for; a request may narrow them (every block inside one of the caller's), never widen.
fn within_ips(caller: &Principal, requested: Vec<String>) -> Result<Vec<String>, ApiError> {
    if caller.allowed_ips.is_empty() {
        return Ok(requested);
    }
    if requested.is_empty() {
        return Ok(caller.allowed_ips.clone());
    }
    let outer: Vec<Cidr> = caller
        .allowed_ips
        .iter()
        .filter_map(|c| c.parse().ok())
        .collect();
    let inside = |block: &String| {
        block
            .parse::<Cidr>()
            .is_ok_and(|b| outer.iter().any(|o| o.covers(&b)))
    };
    if requested.iter().all(inside) {
        Ok(requested)
    } else {
        Err(ips_beyond(&caller.allowed_ips))
    }
}

/// The 403 of a token asked to be usable from addresses its creator is not.
fn ips_beyond(caller_ips: &[String]) -> ApiError {
    ApiError::Forbidden(format!(
        "allowed_ips: a token cannot create a token usable from addresses it may not use; \
         every block must lie inside {}",
        caller_ips.join(", ")
    ))
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

fn visible_to(caller: &Principal, item: &TokenItem) -> bool {
    item.tenant_id == caller.tenant_id && (caller.is_admin() || item.user_id == caller.user_id)
}

/// The service as every function runs it: configuration from the environment (keys from
/// SSM Parameter Store where named) and one DynamoDB client, built once per cold start.
pub async fn service_from_env(
) -> Result<TokenService<crate::store::DynamoStore>, crate::config::ConfigError> {
    let sdk = crate::config::lambda_sdk_config()?;
    let config = Config::load(&sdk).await?;
    Ok(TokenService::new(
        crate::store::DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            config.table_name.clone(),
        ),
        &config,
    ))
}
