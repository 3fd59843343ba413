//! A warm-instance cache of verification results, for the authorizer.
//!
//! Keyed by the SHA-256 of the presented token (never the token itself), holding both
//! answers: a principal (positive) or a rejection (negative: unknown, mismatched, revoked or
//! expired). An entry lives `AUTH_CACHE_TTL_SECONDS`, and a positive one never past the
//! token's own expiry. A token revoked elsewhere is therefore still accepted by an instance
//! that cached it for up to that TTL (plus API Gateway's own authorizer cache TTL): the
//! documented revocation delay. A TTL of 0 turns the cache off.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ring::digest;

use crate::service::{Rejection, Verified};
use crate::time::{self, Timestamp};

/// Entries kept at most; a full cache first drops expired entries, then everything.
const MAX_ENTRIES: usize = 10_000;

type Key = [u8; 32];

struct Entry {
    result: Result<Verified, Rejection>,
    until: Instant,
}

/// Verification results by token hash, for a bounded time.
pub struct VerifyCache {
    ttl: Duration,
    entries: Mutex<HashMap<Key, Entry>>,
}

impl std::fmt::Debug for VerifyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VerifyCache(ttl {:?})", self.ttl)
    }
}

fn key(token: &str) -> Key {
    let mut k = [0u8; 32];
    k.copy_from_slice(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
    k
}

impl VerifyCache {
    /// A cache keeping results for `ttl_seconds` (0: no caching).
    pub fn new(ttl_seconds: u32) -> Self {
        Self {
            ttl: Duration::from_secs(u64::from(ttl_seconds)),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Whether results are cached at all.
    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// The cached result for `token`, if fresh.
    pub fn get(&self, token: &str) -> Option<Result<Verified, Rejection>> {
        if !self.enabled() {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&key(token))
            .filter(|e| e.until > Instant::now())
            .map(|e| e.result.clone())
    }

    /// Remembers a result; a positive one no longer than `token_expires_at`.
    pub fn put(
        &self,
        token: &str,
        result: Result<Verified, Rejection>,
        token_expires_at: Option<Timestamp>,
    ) {
        if !self.enabled() {
            return;
        }
        let now = Instant::now();
        let mut life = self.ttl;
        if let (Ok(_), Some(expires)) = (&result, token_expires_at) {
            let left = (expires - time::now()).to_std().unwrap_or_default();
            life = life.min(left);
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.until > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            key(token),
            Entry {
                result,
                until: now + life,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Principal;

    fn alice() -> Verified {
        Verified {
            principal: Principal {
                tenant_id: "acme".into(),
                user_id: "alice".into(),
                token_id: "t".into(),
                scopes: vec![],
                expires_at: None,
            },
            allowed_ips: vec![],
        }
    }

    #[test]
    fn a_zero_ttl_caches_nothing() {
        let c = VerifyCache::new(0);
        c.put("tok", Ok(alice()), None);
        assert!(c.get("tok").is_none());
    }

    #[test]
    fn positive_and_negative_results_are_kept() {
        let c = VerifyCache::new(60);
        c.put("good", Ok(alice()), None);
        c.put("bad", Err(Rejection::Unknown), None);
        assert_eq!(c.get("good"), Some(Ok(alice())));
        assert_eq!(c.get("bad"), Some(Err(Rejection::Unknown)));
        assert!(c.get("other").is_none());
    }

    #[test]
    fn a_positive_entry_never_outlives_the_token() {
        let c = VerifyCache::new(60);
        c.put(
            "soon",
            Ok(alice()),
            Some(time::now() - chrono::Duration::seconds(1)),
        );
        assert!(c.get("soon").is_none());
    }

    #[test]
    fn keys_are_hashes_not_tokens() {
        assert_ne!(&key("tkn_abc")[..7], b"tkn_abc");
    }
}
