//! The authorizer result cache: one per authorizer, keyed by the identity-source values only
//! (API Gateway puts nothing else of the request in the key, so a decision made for one
//! client address, path or method is replayed for another with the same values), each entry
//! living for the authorizer's TTL from the invocation that produced it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Cached authorizer answers by identity-source values.
#[derive(Debug)]
pub struct ResultCache<V> {
    ttl: Duration,
    entries: Mutex<HashMap<Vec<String>, (Instant, V)>>,
}

impl<V: Clone> ResultCache<V> {
    /// A cache keeping answers for `ttl_seconds` (0: keeps nothing).
    pub fn new(ttl_seconds: u32) -> Self {
        Self {
            ttl: Duration::from_secs(u64::from(ttl_seconds)),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Whether answers are kept at all.
    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// The answer cached for `key`, if it has not expired.
    pub fn get(&self, key: &[String]) -> Option<V> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(key) {
            Some((expires, value)) if Instant::now() < *expires => Some(value.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Keeps `value` for `key` for the TTL (nothing when caching is off).
    pub fn put(&self, key: Vec<String>, value: V) {
        if !self.enabled() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, (expires, _)| Instant::now() < *expires);
        entries.insert(key, (Instant::now() + self.ttl, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let cache = ResultCache::new(0);
        cache.put(key(&["a"]), 1);
        assert_eq!(cache.get(&key(&["a"])), None);
    }

    #[test]
    fn answers_are_kept_by_the_whole_list_of_values() {
        let cache = ResultCache::new(300);
        cache.put(key(&["a", "b"]), 1);
        assert_eq!(cache.get(&key(&["a", "b"])), Some(1));
        assert_eq!(cache.get(&key(&["a"])), None);
        assert_eq!(cache.get(&key(&["a", "c"])), None);
    }

    #[test]
    fn expired_answers_are_gone() {
        let cache = ResultCache {
            ttl: Duration::from_millis(20),
            entries: Mutex::new(HashMap::new()),
        };
        cache.put(key(&["a"]), 1);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(cache.get(&key(&["a"])), None);
    }
}
