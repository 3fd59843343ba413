//! Verifying a presented token, and recording its use.
//!
//! - Format and checksum are checked first, without I/O; then one strongly consistent
//!   `GetItem` of the credential and a constant-time hash comparison.
//! - The authorizer verifies through the warm-instance cache ([`crate::service::verify_cache`]):
//!   a fresh answer, positive or negative, costs no request; store failures and malformed
//!   tokens are never cached.
//! - A use is recorded (`last_used_at`, `last_used_ip`) at most once per
//!   `LAST_USED_INTERVAL_SECONDS` per token, by one conditional `UpdateItem` awaited before the
//!   answer: Lambda freezes the environment as soon as the runtime asks for its next event, so a
//!   write left to a background task might only leave at the next thaw, or never. The answer
//!   waits for that one write (a failed write is logged, the answer is unchanged), and only when
//!   the interval has passed, and at most one attempt's time of the authorizer's budget.

use chrono::Duration;
use uuid::Uuid;

use crate::domain::model::StoredStatus;
use crate::domain::principal::Principal;
use crate::domain::verification::Rejection;
use crate::service::token_service::TokenService;
use crate::service::verify_cache;
use crate::store::{StoreError, TokenStore};
use crate::support::secret;
use crate::support::time::{self, Timestamp};

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

impl<S: TokenStore> TokenService<S> {
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
        self.record_use(&principal, source_ip).await;
        Ok(principal)
    }

    /// Records the use within the invocation that observed it, at most once per
    /// `LAST_USED_INTERVAL_SECONDS` per token and instance; the store's condition makes it at
    /// most once per interval overall. A failure is logged, never the caller's.
    async fn record_use(&self, principal: &Principal, ip: Option<std::net::IpAddr>) {
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
            verify_cache::make_room_in_touched(
                &mut touched,
                verify_cache::MAX_TOUCHED,
                now,
                self.touch_interval,
            );
            touched.insert(id, now);
        }
        let ip = ip.map(|ip| ip.to_canonical().to_string());
        let interval = Duration::from_std(self.touch_interval).unwrap_or_default();
        // One attempt's time at most: a slow table must not cost the caller its answer.
        let within = crate::config::Budget::AUTHORIZER.in_effect().attempt;
        match tokio::time::timeout(within, self.store.touch(id, time::now(), ip, interval)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(token_id = %id, error = %e, "recording the last use failed")
            }
            Err(_) => tracing::warn!(token_id = %id, "recording the last use ran out of time"),
        }
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
        if !self.hasher()?.verify(&parsed, &cred.secret_hash) {
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
            metadata: cred.metadata,
            rate_limit: cred.rate_limit,
            quota: cred.quota,
        };
        Ok((principal, cred.expires_at))
    }
}
