//! Each API's route-scope declarations, read from SSM Parameter Store (`<prefix><apiId>`)
//! and kept per warm instance for a bounded time, so a route check costs no request after
//! the first of each refresh period.
//!
//! - One `ssm:GetParameters` (one name) per API per refresh; a parameter that does not exist
//!   arrives as `InvalidParameters` and is remembered as [`Lookup::Missing`] for the same
//!   time, a declaration that does not parse as [`Lookup::Invalid`] (logged once per read).
//! - SSM failing with nothing cached is an error (API Gateway answers 500); with a value
//!   cached, that value is used (and kept for another period) and the failure logged.
//! - [`DeclarationSource`] is what is read from: SSM in Lambda, a map in tests.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_ssm::error::DisplayErrorContext;

use crate::authorizer::routes::RouteTable;

/// Most APIs remembered; past it, expired entries go, then all of them.
pub const MAX_APIS: usize = 1024;

/// Reading a declaration failed (not "there is none").
#[derive(Debug, thiserror::Error)]
#[error("route declarations unavailable: {0}")]
pub struct SourceError(pub String);

/// How long a refresh waits when a stale answer is cached: one attempt's time.
fn refresh_wait() -> Duration {
    crate::config::Budget::AUTHORIZER.in_effect().attempt
}

/// Where declarations are read from.
pub trait DeclarationSource: Send + Sync {
    /// The value of parameter `name`; `None` when it does not exist.
    fn read(&self, name: &str) -> impl Future<Output = Result<Option<String>, SourceError>> + Send;
}

/// SSM Parameter Store, one `GetParameters` per read (the IAM action is
/// `ssm:GetParameters` on `parameter<prefix>*`).
#[derive(Debug, Clone)]
pub struct SsmSource(pub aws_sdk_ssm::Client);

impl DeclarationSource for SsmSource {
    async fn read(&self, name: &str) -> Result<Option<String>, SourceError> {
        let out = self
            .0
            .get_parameters()
            .names(name)
            .send()
            .await
            .map_err(|e| SourceError(DisplayErrorContext(&e).to_string()))?;
        Ok(out
            .parameters
            .unwrap_or_default()
            .into_iter()
            .find(|p| p.name.as_deref() == Some(name))
            .and_then(|p| p.value))
    }
}

/// What is declared for one API.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// Its routes.
    Declared(Arc<RouteTable>),
    /// No parameter (or an API id no parameter can be named after): refused.
    Missing,
    /// A parameter that does not parse: refused.
    Invalid,
}

/// The per-instance cache of every API's declarations.
pub struct Declarations<D> {
    source: D,
    prefix: String,
    refresh: Duration,
    cache: Mutex<HashMap<String, (Instant, Lookup)>>,
}

impl<D: DeclarationSource> Declarations<D> {
    /// Declarations read from `source` as `<prefix><apiId>`, each kept for `refresh`.
    pub fn new(source: D, prefix: impl Into<String>, refresh: Duration) -> Self {
        Self {
            source,
            prefix: prefix.into(),
            refresh,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// What the declarations are read from.
    pub fn source(&self) -> &D {
        &self.source
    }

    /// What is declared for `api_id`: from the cache while fresh, else read again.
    pub async fn lookup(&self, api_id: &str) -> Result<Lookup, SourceError> {
        if !valid_api_id(api_id) {
            return Ok(Lookup::Missing);
        }
        let now = Instant::now();
        let cached = self.entries().get(api_id).cloned();
        if let Some((at, lookup)) = &cached {
            if now.duration_since(*at) < self.refresh {
                return Ok(lookup.clone());
            }
        }
        let name = format!("{}{api_id}", self.prefix);
        let read = self.source.read(&name);
        let read = match &cached {
            // A refresh with a stale answer to fall back on gets one attempt's time, so a
            // slow SSM costs no request its answer.
            Some(_) => tokio::time::timeout(refresh_wait(), read)
                .await
                .unwrap_or_else(|_| Err(SourceError("no answer within one attempt's time".into()))),
            None => read.await,
        };
        let lookup = match read {
            Ok(None) => Lookup::Missing,
            Ok(Some(text)) => match RouteTable::parse(&text) {
                Ok(table) => Lookup::Declared(Arc::new(table)),
                Err(e) => {
                    tracing::warn!(api = %api_id, parameter = %name, error = %e, "route declarations invalid");
                    Lookup::Invalid
                }
            },
            Err(e) => match cached {
                Some((_, stale)) => {
                    tracing::warn!(api = %api_id, error = %e, "route declarations unavailable; the cached ones are used");
                    stale
                }
                None => return Err(e),
            },
        };
        self.remember(api_id, now, lookup.clone());
        Ok(lookup)
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Lookup)>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn remember(&self, api_id: &str, at: Instant, lookup: Lookup) {
        let mut entries = self.entries();
        if entries.len() >= MAX_APIS && !entries.contains_key(api_id) {
            entries.retain(|_, (t, _)| at.duration_since(*t) < self.refresh);
            if entries.len() >= MAX_APIS {
                entries.clear();
            }
        }
        entries.insert(api_id.to_string(), (at, lookup));
    }
}

/// An API id a parameter can be named after: 1..=64 of `[A-Za-z0-9_-]` (API Gateway's are
/// 10 lower-case letters and digits).
fn valid_api_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A source answering from a map, counting reads; `fail` makes every read fail, `hang`
    /// never answer.
    struct Fake {
        values: Mutex<HashMap<String, String>>,
        reads: AtomicUsize,
        fail: std::sync::atomic::AtomicBool,
        hang: std::sync::atomic::AtomicBool,
    }

    impl DeclarationSource for Fake {
        async fn read(&self, name: &str) -> Result<Option<String>, SourceError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            if self.fail.load(Ordering::SeqCst) {
                return Err(SourceError("down".into()));
            }
            if self.hang.load(Ordering::SeqCst) {
                std::future::pending::<()>().await;
            }
            Ok(self.values.lock().unwrap().get(name).cloned())
        }
    }

    fn fake(pairs: &[(&str, &str)]) -> Fake {
        Fake {
            values: Mutex::new(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            reads: AtomicUsize::new(0),
            fail: Default::default(),
            hang: Default::default(),
        }
    }

    const OPEN: &str = r#"{"version": 1, "default": "authenticated"}"#;

    #[tokio::test]
    async fn each_api_is_read_once_per_refresh_negative_answers_included() {
        let d = Declarations::new(
            fake(&[("/p/abc", OPEN), ("/p/bad", "{")]),
            "/p/",
            Duration::from_secs(60),
        );
        for _ in 0..3 {
            assert!(matches!(d.lookup("abc").await, Ok(Lookup::Declared(_))));
            assert!(matches!(d.lookup("none").await, Ok(Lookup::Missing)));
            assert!(matches!(d.lookup("bad").await, Ok(Lookup::Invalid)));
        }
        assert_eq!(d.source.reads.load(Ordering::SeqCst), 3);
        // An id no parameter could be named after is never read.
        assert!(matches!(d.lookup("a/b").await, Ok(Lookup::Missing)));
        assert!(matches!(d.lookup("").await, Ok(Lookup::Missing)));
        assert_eq!(d.source.reads.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_failure_uses_the_stale_value_or_is_an_error_without_one() {
        let d = Declarations::new(fake(&[("/p/abc", OPEN)]), "/p/", Duration::ZERO);
        assert!(matches!(d.lookup("abc").await, Ok(Lookup::Declared(_))));
        d.source.fail.store(true, Ordering::SeqCst);
        assert!(matches!(d.lookup("abc").await, Ok(Lookup::Declared(_))));
        assert!(d.lookup("other").await.is_err());
        assert_eq!(d.source.reads.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_hung_refresh_falls_back_to_the_stale_value_within_one_attempt() {
        let d = Declarations::new(fake(&[("/p/abc", OPEN)]), "/p/", Duration::ZERO);
        assert!(matches!(d.lookup("abc").await, Ok(Lookup::Declared(_))));
        d.source.hang.store(true, Ordering::SeqCst);
        let started = tokio::time::Instant::now();
        assert!(matches!(d.lookup("abc").await, Ok(Lookup::Declared(_))));
        assert_eq!(started.elapsed(), refresh_wait());
        // Without a stale value the read is the caller's to bound (the authorizer's deadline).
        let unbounded = tokio::time::timeout(Duration::from_secs(30), d.lookup("other")).await;
        assert!(unbounded.is_err());
    }

    #[tokio::test]
    async fn the_cache_is_bounded() {
        let d = Declarations::new(fake(&[]), "/p/", Duration::from_secs(60));
        for i in 0..MAX_APIS + 5 {
            d.lookup(&format!("api{i}")).await.unwrap();
        }
        assert!(d.entries().len() <= MAX_APIS);
    }
}
