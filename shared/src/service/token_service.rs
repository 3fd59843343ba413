//! [`TokenService`]: the store, the keys and the settings every operation shares. The
//! operations themselves are `impl` blocks in the files named after them (see
//! [`crate::service`]).

use chrono::Duration;
use ring::rand::SystemRandom;
use uuid::Uuid;

use crate::config::{Config, Keys};
use crate::domain::scope::ScopeCatalog;
use crate::service::idempotency::Sealer;
use crate::service::verify_cache::VerifyCache;
use crate::store::{StoreError, TokenStore};
use crate::support::cursor::CursorCodec;
use crate::support::secret::SecretHasher;

/// Tokens read per page when revoking all of a user's tokens.
const USER_REVOCATION_PAGE: i32 = 500;

/// The token service over a store.
pub struct TokenService<S> {
    pub(super) store: S,
    /// `None` where the function was not given `TOKEN_HASH_KEY` (it does not use it).
    hasher: Option<SecretHasher>,
    sealer: Option<Sealer>,
    /// `None` where the function was not given `CURSOR_KEYS` (it does not use them).
    cursors: Option<CursorCodec>,
    pub(super) scopes: ScopeCatalog,
    pub(super) prefix: String,
    /// How long a record is kept after its token expired or was revoked (`purge_at`).
    pub(super) retention: Duration,
    pub(super) read_budget: usize,
    pub(super) verify_cache: VerifyCache,
    /// When this instance last recorded each token's use (`verify::record_use`).
    pub(super) touched: std::sync::Mutex<std::collections::HashMap<Uuid, std::time::Instant>>,
    pub(super) touch_interval: std::time::Duration,
    pub(super) rng: SystemRandom,
    pub(super) user_revocation_page: i32,
    /// Percent of a quota at which its threshold notice is written (0: never).
    pub(super) quota_warning_percent: u8,
    /// The usage notices this instance has written (`usage::notice_if_due`).
    pub(super) noticed: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl<S: TokenStore> TokenService<S> {
    /// Builds the service from its store and configuration.
    pub fn new(store: S, config: &Config) -> Self {
        Self {
            store,
            hasher: (!config.token_hash_key.is_empty())
                .then(|| SecretHasher::new(&config.token_hash_key)),
            sealer: (!config.token_hash_key.is_empty())
                .then(|| Sealer::new(&config.token_hash_key)),
            cursors: CursorCodec::new(&config.cursor_keys),
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
            quota_warning_percent: config.quota_warning_percent,
            noticed: Default::default(),
        }
    }

    /// The same service reading `page` tokens per page when revoking a user's tokens
    /// (default 500; at least 1), for tests of long revocations with few tokens.
    pub fn with_user_revocation_page(mut self, page: i32) -> Self {
        self.user_revocation_page = page.max(1);
        self
    }

    /// The secret hasher; an error in a function deployed without `TOKEN_HASH_KEY`.
    pub(super) fn hasher(&self) -> Result<&SecretHasher, StoreError> {
        self.hasher
            .as_ref()
            .ok_or_else(|| not_given("TOKEN_HASH_KEY"))
    }

    /// The idempotency records' sealer (derived from `TOKEN_HASH_KEY`).
    pub(super) fn sealer(&self) -> Result<&Sealer, StoreError> {
        self.sealer
            .as_ref()
            .ok_or_else(|| not_given("TOKEN_HASH_KEY"))
    }

    /// The cursor codec; an error in a function deployed without `CURSOR_KEYS`.
    pub(super) fn cursors(&self) -> Result<&CursorCodec, StoreError> {
        self.cursors
            .as_ref()
            .ok_or_else(|| not_given("CURSOR_KEYS"))
    }

    /// The store, for tools and tests.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The scopes tokens may be given in this deployment.
    pub fn scopes(&self) -> &ScopeCatalog {
        &self.scopes
    }
}

/// A function reached code needing a key its deployment does not give it (a wiring fault: each
/// function's `main` names the keys it uses, and `template.yaml` gives it exactly those).
fn not_given(var: &str) -> StoreError {
    StoreError::Other(format!("this function is deployed without {var}"))
}

/// The service as every function runs it: configuration from the environment (the `keys` it
/// uses, from SSM Parameter Store where named) and one DynamoDB client on the function's time
/// `budget`, built once per cold start.
pub async fn service_from_env(
    keys: Keys,
    budget: crate::config::Budget,
) -> Result<TokenService<crate::store::DynamoStore>, crate::config::ConfigError> {
    let sdk = crate::config::lambda_sdk_config(budget)?;
    let config = Config::load(&sdk, keys).await?;
    Ok(TokenService::new(
        crate::store::DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            config.table_name.clone(),
        ),
        &config,
    ))
}
