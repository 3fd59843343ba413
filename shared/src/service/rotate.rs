//! Rotation: a token replaced by a new one with the same settings and a new secret, the old
//! one retired in the same transaction.
//!
//! - The old token keeps working for the grace period, which becomes its expiry; then it reads
//!   as revoked with reason [`ROTATED`] (the sweeper stores it so).
//! - The two are linked both ways (`rotated_to`, `rotated_from`); a token is rotated at most
//!   once, and only while active.
//! - The write is conditioned on the old record being as read; a rotation that loses a race
//!   reads again, at most [`ROTATE_ATTEMPTS`] times.

use chrono::Duration;
use uuid::Uuid;

use crate::domain::error::ApiError;
use crate::domain::model::{Status, StoredStatus, TokenItem};
use crate::domain::principal::Principal;
use crate::domain::scope::TOKENS_WRITE;
use crate::service::authority::{limit_for, visible_to, within_expiry, within_ips, within_scopes};
use crate::service::create::{CreateInput, Minted};
use crate::service::idempotency::Keyed;
use crate::service::token_service::TokenService;
use crate::store::{RotateOutcome, Rotation, StoreError, TokenStore};
use crate::support::secret::TokenSecret;
use crate::support::time::{self, Timestamp};

/// A validated rotation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotateInput {
    /// How long the old token keeps working (0..=[`crate::domain::limits::MAX_GRACE_PERIOD`]).
    pub grace_period: Duration,
    /// The new token's expiry; by default the old token's lifetime, counted from now.
    pub expires_at: Option<Timestamp>,
    /// The new token's rate limit; by default the old token's.
    pub rate_limit: Option<crate::domain::usage::RateLimit>,
    /// The new token's quota; by default the old token's.
    pub quota: Option<crate::domain::usage::Quota>,
}

/// The revocation reason of a rotated token.
pub const ROTATED: &str = "rotated";

/// Attempts of a rotation whose old token keeps changing under it.
const ROTATE_ATTEMPTS: usize = 4;

impl<S: TokenStore> TokenService<S> {
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
            if let Some(why) = not_rotatable(&old, now) {
                // The retry of the rotation that did this gets that rotation's result.
                if let Some(k) = key {
                    if let Some(held) = self.store.held(&k.pk).await? {
                        return self.replay(caller, key, held);
                    }
                }
                return Err(ApiError::NotRotatable(why));
            }
            let (new, secret) = self.successor(caller, &old, &input, now)?;
            let retired = retire(&old, new.id, &caller.user_id, now, input.grace_period);
            let once = key.map(|k| self.seal(k, &new, &secret)).transpose()?;
            let hash = self.hasher()?.hash(&secret);
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

    /// The successor of `old` that `caller` may mint (nothing written yet): its scopes and
    /// addresses, and an expiry within the caller's own.
    fn successor(
        &self,
        caller: &Principal,
        old: &TokenItem,
        input: &RotateInput,
        now: Timestamp,
    ) -> Result<(TokenItem, TokenSecret), ApiError> {
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
                // Lowering is anyone's; raising takes tokens:admin; never above the caller's.
                rate_limit: limit_for(
                    caller,
                    caller.rate_limit,
                    old.rate_limit,
                    input.rate_limit.map(Some),
                    true,
                )?,
                quota: limit_for(caller, caller.quota, old.quota, input.quota.map(Some), true)?,
            },
            now,
        )?;
        new.rotated_from = Some(old.id);
        Ok((new, secret))
    }
}

/// Why `old` cannot be rotated at `now`, if it cannot: it was rotated already, or it is not
/// active.
fn not_rotatable(old: &TokenItem, now: Timestamp) -> Option<String> {
    match (old.rotated_to, old.status_at(now)) {
        (Some(to), _) => Some(format!("this token was already rotated to {to}")),
        (None, Status::Active) => None,
        (None, other) => Some(format!(
            "only an active token can be rotated; this one is {}",
            serde_json::to_value(other)
                .unwrap_or_default()
                .as_str()
                .unwrap_or("")
        )),
    }
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
