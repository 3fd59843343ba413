//! A warm-instance cache of verification results, for the authorizer.
//!
//! Keyed by the SHA-256 of the presented token (never the token itself), holding both
//! answers: a principal (positive) or a rejection (negative: unknown, mismatched, revoked or
//! expired). An entry lives `AUTH_CACHE_TTL_SECONDS`, and a positive one never past the
//! token's own expiry. A token revoked elsewhere is therefore still accepted by an instance
//! that cached it for up to that TTL (plus API Gateway's own authorizer cache TTL): the
//! documented revocation delay. A TTL of 0 turns the cache off.
//!
//! **Bounded, and forgeries cannot flush it.** Positive and negative results live in two
//! separate maps, each with its own capacity ([`MAX_VERIFIED`], [`MAX_REJECTED`]); a full map
//! evicts its oldest entry (by when it was stored), one for one. A forged token with a valid
//! checksum (the checksum is no secret: anyone can compute it) costs one strongly consistent
//! `GetItem` the first time an instance sees it, since only the read tells an unknown id or a
//! wrong secret from a real token; it then costs nothing while its negative entry lasts. A flood
//! of distinct forgeries therefore costs one read each, pushes out only older negatives, and
//! never a verified token: real callers keep being answered from the cache. Reads per forged
//! token and memory at capacity are in docs/benchmarks.md ("Forged tokens").
//!
//! The maps are written here rather than taken from the `lru` crate: eviction by insertion
//! order is all that is needed (every entry lives one TTL, so the oldest stored is the first to
//! expire, and an entry is only re-stored after it expired), and that is a `HashMap` plus a
//! `BTreeMap` of insertion numbers, without a dependency or its unsafe linked list.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

// Tokio's clock is the OS monotonic clock, except in a test whose runtime pauses it: the tests
// then step past a TTL without sleeping.
use tokio::time::Instant;

use ring::digest;

use crate::domain::principal::Principal;
use crate::domain::verification::Rejection;
use crate::support::time::{self, Timestamp};

/// Verified (positive) results kept at most per instance.
pub const MAX_VERIFIED: usize = 10_000;
/// Rejected (negative) results kept at most per instance, apart from the positive ones.
pub const MAX_REJECTED: usize = 10_000;

type Key = [u8; 32];

struct Entry<V> {
    value: V,
    until: Instant,
    /// When it was stored, as a count: its key in `Bounded::order`.
    stored: u64,
}

/// A map of at most `capacity` entries that evicts the oldest stored when full.
struct Bounded<V> {
    capacity: usize,
    entries: HashMap<Key, Entry<V>>,
    /// Keys by when they were stored, oldest first.
    order: BTreeMap<u64, Key>,
    next: u64,
}

impl<V: Clone> Bounded<V> {
    fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            entries: HashMap::new(),
            order: BTreeMap::new(),
            next: 0,
        }
    }

    fn get(&self, key: &Key, now: Instant) -> Option<V> {
        self.entries
            .get(key)
            .filter(|e| e.until > now)
            .map(|e| e.value.clone())
    }

    fn insert(&mut self, key: Key, value: V, until: Instant) {
        self.remove(&key);
        while self.entries.len() >= self.capacity {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
        }
        let stored = self.next;
        self.next += 1;
        self.order.insert(stored, key);
        self.entries.insert(
            key,
            Entry {
                value,
                until,
                stored,
            },
        );
    }

    fn remove(&mut self, key: &Key) {
        if let Some(old) = self.entries.remove(key) {
            self.order.remove(&old.stored);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

struct Maps {
    verified: Bounded<Principal>,
    rejected: Bounded<Rejection>,
}

/// Verification results by token hash, for a bounded time and in bounded memory.
pub struct VerifyCache {
    ttl: Duration,
    maps: Mutex<Maps>,
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
        Self::with_capacities(ttl_seconds, MAX_VERIFIED, MAX_REJECTED)
    }

    fn with_capacities(ttl_seconds: u32, verified: usize, rejected: usize) -> Self {
        Self {
            ttl: Duration::from_secs(u64::from(ttl_seconds)),
            maps: Mutex::new(Maps {
                verified: Bounded::new(verified),
                rejected: Bounded::new(rejected),
            }),
        }
    }

    /// Whether results are cached at all.
    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    fn maps(&self) -> std::sync::MutexGuard<'_, Maps> {
        self.maps.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached result for `token`, if fresh.
    pub fn get(&self, token: &str) -> Option<Result<Principal, Rejection>> {
        if !self.enabled() {
            return None;
        }
        let (k, now) = (key(token), Instant::now());
        let maps = self.maps();
        match maps.verified.get(&k, now) {
            Some(v) => Some(Ok(v)),
            None => maps.rejected.get(&k, now).map(Err),
        }
    }

    /// Remembers a result; a positive one no longer than `token_expires_at`.
    pub fn put(
        &self,
        token: &str,
        result: Result<Principal, Rejection>,
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
        let k = key(token);
        let mut maps = self.maps();
        // One answer per token: the newer one.
        match result {
            Ok(v) => {
                maps.rejected.remove(&k);
                maps.verified.insert(k, v, now + life);
            }
            Err(r) => {
                maps.verified.remove(&k);
                maps.rejected.insert(k, r, now + life);
            }
        }
    }

    /// Entries held (fresh or not): verified, rejected.
    #[cfg(test)]
    fn sizes(&self) -> (usize, usize) {
        let maps = self.maps();
        (maps.verified.len(), maps.rejected.len())
    }
}

/// Most tokens whose last use an instance remembers (`TokenService::record_use`).
pub(crate) const MAX_TOUCHED: usize = 10_000;

/// Makes room in the authorizer's map of when it last recorded each token's use, when it holds
/// `max` of them: first drops those older than `interval` (they hold nothing back), then, if
/// none is, the oldest eighth (a token dropped early is recorded again at its next use, once;
/// the store's condition still keeps it to once per interval overall). Never clears the map.
pub(crate) fn make_room_in_touched(
    touched: &mut HashMap<uuid::Uuid, std::time::Instant>,
    max: usize,
    now: std::time::Instant,
    interval: Duration,
) {
    if touched.len() < max {
        return;
    }
    touched.retain(|_, at| now.saturating_duration_since(*at) < interval);
    if touched.len() < max {
        return;
    }
    let mut by_age: Vec<(std::time::Instant, uuid::Uuid)> =
        touched.iter().map(|(id, at)| (*at, *id)).collect();
    let cut = (max / 8).clamp(1, by_age.len());
    by_age.select_nth_unstable(cut - 1);
    for (_, id) in &by_age[..cut] {
        touched.remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Principal {
        Principal {
            tenant_id: "acme".into(),
            user_id: "alice".into(),
            token_id: "t".into(),
            scopes: vec![],
            expires_at: None,
            allowed_ips: vec![],
            metadata: Default::default(),
            rate_limit: None,
            quota: None,
        }
    }

    #[test]
    fn a_zero_ttl_caches_nothing() {
        let c = VerifyCache::new(0);
        assert!(!c.enabled());
        c.put("tok", Ok(alice()), None);
        c.put("bad", Err(Rejection::Unknown), None);
        assert!(c.get("tok").is_none());
        assert_eq!(c.sizes(), (0, 0), "not even stored");
        assert!(VerifyCache::new(1).enabled());
    }

    #[test]
    fn debug_output_shows_the_ttl_only() {
        let c = VerifyCache::new(60);
        c.put("tkn_secret", Ok(alice()), None);
        assert_eq!(format!("{c:?}"), "VerifyCache(ttl 60s)");
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

    impl VerifyCache {
        /// Slots the maps have allocated: verified, rejected.
        fn allocated(&self) -> (usize, usize) {
            let maps = self.maps();
            assert_eq!(maps.verified.order.len(), maps.verified.len());
            assert_eq!(maps.rejected.order.len(), maps.rejected.len());
            (
                maps.verified.entries.capacity(),
                maps.rejected.entries.capacity(),
            )
        }
    }

    fn someone(i: usize) -> Principal {
        Principal {
            token_id: format!("t{i}"),
            ..alice()
        }
    }

    #[test]
    fn a_flood_of_forgeries_leaves_every_verified_entry_cached() {
        let c = VerifyCache::new(60);
        for i in 0..MAX_VERIFIED {
            c.put(&format!("real-{i}"), Ok(someone(i)), None);
        }
        const FLOOD: usize = 100_000;
        let mut allocated = Vec::new();
        for i in 0..FLOOD {
            c.put(&format!("forged-{i}"), Err(Rejection::Unknown), None);
            if (i + 1) % (FLOOD / 4) == 0 {
                allocated.push(c.allocated());
            }
        }
        for i in 0..MAX_VERIFIED {
            assert_eq!(
                c.get(&format!("real-{i}")),
                Some(Ok(someone(i))),
                "real-{i}"
            );
        }
        assert_eq!(c.sizes(), (MAX_VERIFIED, MAX_REJECTED));
        // The newest forgeries are remembered (a repeat costs no read), the oldest evicted.
        for i in FLOOD - MAX_REJECTED..FLOOD {
            assert_eq!(c.get(&format!("forged-{i}")), Some(Err(Rejection::Unknown)));
        }
        assert_eq!(c.get("forged-0"), None);
        // Memory: bounded by the capacities, not by the flood (ten times as many tokens): a
        // map churned by evictions keeps up to twice the slots of one filled once.
        for (verified, rejected) in allocated {
            assert!(verified < 2 * MAX_VERIFIED, "{verified}");
            assert!(rejected < 4 * MAX_REJECTED, "{rejected}");
        }
    }

    #[test]
    fn verified_entries_are_evicted_oldest_first_and_only_by_verified_ones() {
        let c = VerifyCache::with_capacities(60, 3, 2);
        for i in 0..4 {
            c.put(&format!("real-{i}"), Ok(someone(i)), None);
        }
        for i in 0..10 {
            c.put(&format!("forged-{i}"), Err(Rejection::Mismatch), None);
        }
        assert_eq!(c.get("real-0"), None);
        for i in 1..4 {
            assert_eq!(c.get(&format!("real-{i}")), Some(Ok(someone(i))));
        }
        assert_eq!(c.sizes(), (3, 2));
    }

    #[test]
    fn a_token_has_one_cached_answer_the_latest() {
        let c = VerifyCache::new(60);
        c.put("tok", Err(Rejection::Unknown), None);
        c.put("tok", Ok(alice()), None);
        assert_eq!(c.get("tok"), Some(Ok(alice())));
        assert_eq!(c.sizes(), (1, 0));
        c.put("tok", Err(Rejection::Revoked), None);
        assert_eq!(c.get("tok"), Some(Err(Rejection::Revoked)));
        assert_eq!(c.sizes(), (0, 1));
    }

    #[test]
    fn entries_expire_at_their_ttl() {
        let now = Instant::now();
        let mut m = Bounded::new(4);
        m.insert(key("a"), 1, now + Duration::from_secs(60));
        m.insert(key("b"), 2, now + Duration::from_secs(30));
        assert_eq!(m.get(&key("a"), now + Duration::from_secs(59)), Some(1));
        assert_eq!(m.get(&key("a"), now + Duration::from_secs(60)), None);
        assert_eq!(m.get(&key("b"), now + Duration::from_secs(29)), Some(2));
        assert_eq!(m.get(&key("b"), now + Duration::from_secs(30)), None);
        // Stored again, it lives again, and counts as the newest.
        m.insert(key("a"), 3, now + Duration::from_secs(120));
        assert_eq!(m.get(&key("a"), now + Duration::from_secs(90)), Some(3));
        assert_eq!(m.order.first_key_value().map(|(_, k)| *k), Some(key("b")));
    }

    #[tokio::test(start_paused = true)]
    async fn a_verified_entry_expires_after_the_ttl_even_after_a_flood() {
        let c = VerifyCache::with_capacities(1, 4, 4);
        c.put("real", Ok(alice()), None);
        for i in 0..100 {
            c.put(&format!("forged-{i}"), Err(Rejection::Unknown), None);
        }
        assert_eq!(c.get("real"), Some(Ok(alice())));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(c.get("real"), None);
    }

    /// The documented revocation delay: a token revoked elsewhere after this instance verified
    /// it keeps passing here for at most `AUTH_CACHE_TTL_SECONDS`; then the cache has no answer,
    /// the table is read again and the refusal is what the cache holds.
    #[tokio::test(start_paused = true)]
    async fn a_revoked_token_passes_for_at_most_the_ttl() {
        let c = VerifyCache::new(5);
        c.put("tok", Ok(alice()), None);
        // Revoked in the table now: this instance does not know.
        tokio::time::advance(Duration::from_millis(4_999)).await;
        assert_eq!(c.get("tok"), Some(Ok(alice())));
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(c.get("tok"), None);
        c.put("tok", Err(Rejection::Revoked), None);
        assert_eq!(c.get("tok"), Some(Err(Rejection::Revoked)));
    }

    /// A refusal is remembered for the TTL too (a forgery costs one read per TTL), and then
    /// forgotten: a token whose answer changed is read again.
    #[tokio::test(start_paused = true)]
    async fn a_negative_answer_lasts_the_ttl_and_no_longer() {
        let c = VerifyCache::new(5);
        c.put("tok", Err(Rejection::Mismatch), None);
        tokio::time::advance(Duration::from_millis(4_999)).await;
        assert_eq!(c.get("tok"), Some(Err(Rejection::Mismatch)));
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(c.get("tok"), None);
    }

    #[test]
    fn a_full_touched_map_is_trimmed_not_cleared() {
        let start = std::time::Instant::now();
        let interval = Duration::from_secs(60);
        let mut touched = HashMap::new();
        let ids: Vec<uuid::Uuid> = (0..MAX_TOUCHED).map(|_| uuid::Uuid::now_v7()).collect();
        for (i, id) in ids.iter().enumerate() {
            touched.insert(*id, start + Duration::from_millis(i as u64));
        }
        let now = start + Duration::from_secs(10);
        make_room_in_touched(&mut touched, MAX_TOUCHED, now, interval);
        assert_eq!(touched.len(), MAX_TOUCHED - MAX_TOUCHED / 8);
        // The oldest went; the newest still hold their tokens back.
        assert!(!touched.contains_key(&ids[0]));
        assert!(ids[MAX_TOUCHED / 8..]
            .iter()
            .all(|id| touched.contains_key(id)));
        // Under the bound nothing is touched; past the interval, the stale go first.
        make_room_in_touched(&mut touched, MAX_TOUCHED, now, interval);
        assert_eq!(touched.len(), MAX_TOUCHED - MAX_TOUCHED / 8);
        let fresh = uuid::Uuid::now_v7();
        touched.insert(fresh, start + Duration::from_secs(100));
        let full = touched.len();
        make_room_in_touched(
            &mut touched,
            full,
            start + Duration::from_secs(101),
            interval,
        );
        assert_eq!(touched.len(), 1);
        assert!(touched.contains_key(&fresh));
    }

    #[test]
    fn a_touched_map_under_the_bound_is_left_alone_even_if_stale() {
        let start = std::time::Instant::now();
        let interval = Duration::from_secs(60);
        let mut touched = HashMap::from([(uuid::Uuid::now_v7(), start)]);
        make_room_in_touched(&mut touched, 2, start + 10 * interval, interval);
        assert_eq!(touched.len(), 1);
    }

    /// A use exactly one interval old holds nothing back: it goes, and since that makes room,
    /// no fresh one does.
    #[test]
    fn a_use_exactly_one_interval_old_is_stale() {
        let start = std::time::Instant::now();
        let interval = Duration::from_secs(60);
        let stale = uuid::Uuid::now_v7();
        let mut touched = HashMap::from([(stale, start)]);
        for i in 1..16 {
            touched.insert(uuid::Uuid::now_v7(), start + Duration::from_secs(i));
        }
        make_room_in_touched(&mut touched, 16, start + interval, interval);
        assert_eq!(touched.len(), 15);
        assert!(!touched.contains_key(&stale));
    }

    #[test]
    fn a_touched_map_of_one_makes_room_for_the_next() {
        let start = std::time::Instant::now();
        let mut touched = HashMap::from([(uuid::Uuid::now_v7(), start)]);
        make_room_in_touched(&mut touched, 1, start, Duration::from_secs(60));
        assert!(touched.is_empty());
    }
}
