//! Configuration, read once per cold start from the environment, the SDK clients
//! (`clients.rs`) and the time budgets they run on (`budget.rs`).
//!
//! | variable | meaning | default |
//! | --- | --- | --- |
//! | `TABLE_NAME` | the DynamoDB table | required |
//! | `CURSOR_KEYS` | comma list of base64 32-byte keys; the first seals cursors, all open them | required where used ([`Keys`]) |
//! | `TOKEN_HASH_KEY` | base64 of at least 32 bytes: HMAC key of stored secret hashes | required where used ([`Keys`]) |
//! | `CURSOR_KEYS_PARAMETER` | instead of `CURSOR_KEYS`: the SSM parameter holding it | - |
//! | `TOKEN_HASH_KEY_PARAMETER` | instead of `TOKEN_HASH_KEY`: the SSM parameter holding it | - |
//! | `TOKEN_PREFIX` | secret prefix, 2..=10 of `[a-z0-9]` | `tkn` |
//! | `EXTRA_SCOPES` | comma list of scopes for your own API, beside the `tokens:*` ones | empty |
//! | `RETENTION_DAYS` | days an expired or revoked token is kept before TTL deletes it | `90` |
//! | `LIST_READ_BUDGET` | most items one filtered list request reads | `2000` |
//! | `AUTH_CACHE_TTL_SECONDS` | seconds the authorizer keeps a verification result (0: off) | `0` |
//! | `LAST_USED_INTERVAL_SECONDS` | a token's use is recorded at most this often (0: never) | `60` |
//! | `ROUTE_SCOPES_PARAMETER_PREFIX` | the authorizer reads each API's route-scope declarations from the SSM parameter `<prefix><apiId>` | unset: no route checks |
//! | `ROUTE_SCOPES_REFRESH_SECONDS` | seconds the authorizer keeps an API's declarations (0..=3600) | `60` |
//! | `QUOTA_WARNING_PERCENT` | a `TokenQuotaThreshold` event when a token has used this share of its quota in a period (0: none) | `80` |
//! | `TIME_BUDGET_SCALE` | multiplies every time budget (`budget.rs`), 1..=100: for test machines only | `1` |
//! | `AWS_ENDPOINT_URL_DYNAMODB` | DynamoDB endpoint override (DynamoDB Local) | AWS |
//! | `AWS_REGION`, `AWS_ACCESS_KEY_ID`, … | the functions' region and credentials ([`lambda_sdk_config`]) | Lambda |

mod budget;
mod clients;
mod error;
pub mod parameters;

pub use budget::Budget;
pub use clients::{
    dynamodb_client, http_client, lambda_sdk_config, lambda_sdk_config_from, sdk_config,
};
pub use error::ConfigError;

use std::env;
use std::ops::RangeInclusive;
use std::str::FromStr;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;

use crate::domain::limits::READ_BUDGET;
use crate::domain::scope::ScopeCatalog;
use crate::support::cursor::{CursorCodec, KEY_LEN};
use crate::support::secret;

/// Everything the service needs besides its clients.
#[derive(Clone)]
pub struct Config {
    /// DynamoDB table name.
    pub table_name: String,
    /// Cursor keys, 32 bytes each, sealing key first; empty where not used ([`Keys`]).
    pub cursor_keys: Vec<Vec<u8>>,
    /// HMAC key for secret hashes; empty where not used ([`Keys`]).
    pub token_hash_key: Vec<u8>,
    /// Secret prefix.
    pub token_prefix: String,
    /// Grantable scopes.
    pub scopes: ScopeCatalog,
    /// Retention of expired and revoked records, in days.
    pub retention_days: u32,
    /// Most items one list request reads when its filters are not key conditions.
    pub list_read_budget: usize,
    /// Seconds the authorizer caches a verification result (0: off).
    pub auth_cache_ttl_seconds: u32,
    /// A token's use is recorded at most this often, in seconds (0: never recorded).
    pub last_used_interval_seconds: u32,
    /// Where the authorizer reads route-scope declarations: SSM parameter `<prefix><apiId>`
    /// (`None`: routes are not checked, any valid token is allowed).
    pub route_scopes_parameter_prefix: Option<String>,
    /// Seconds the authorizer keeps an API's declarations before reading them again.
    pub route_scopes_refresh_seconds: u32,
    /// Percent of a quota at which the threshold event fires (0: never).
    pub quota_warning_percent: u8,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("table_name", &self.table_name)
            .field(
                "cursor_keys",
                &format_args!("<{} redacted>", self.cursor_keys.len()),
            )
            .field("token_hash_key", &"<redacted>")
            .field("token_prefix", &self.token_prefix)
            .field("scopes", &self.scopes)
            .field("retention_days", &self.retention_days)
            .field("list_read_budget", &self.list_read_budget)
            .field("auth_cache_ttl_seconds", &self.auth_cache_ttl_seconds)
            .field(
                "last_used_interval_seconds",
                &self.last_used_interval_seconds,
            )
            .field(
                "route_scopes_parameter_prefix",
                &self.route_scopes_parameter_prefix,
            )
            .field(
                "route_scopes_refresh_seconds",
                &self.route_scopes_refresh_seconds,
            )
            .finish()
    }
}

/// The keys a function uses. Each function is given, and reads, only its own: the list
/// function cannot hash a secret, the authorizer cannot open a cursor, and the functions that
/// use neither read no key parameter at all (the template gives each function exactly the
/// parameters its `Keys` name; the emulator suite runs every function that way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keys {
    /// `CURSOR_KEYS`: listing.
    pub cursors: bool,
    /// `TOKEN_HASH_KEY`: minting, verifying, matching a leaked secret.
    pub token_hash: bool,
}

impl Keys {
    /// Both keys: the dev server, the tools and the tests.
    pub const ALL: Self = Self {
        cursors: true,
        token_hash: true,
    };
    /// Neither key: revoking, updating and sweeping by id.
    pub const NONE: Self = Self {
        cursors: false,
        token_hash: false,
    };
    /// `CURSOR_KEYS` only: listing.
    pub const CURSORS: Self = Self {
        cursors: true,
        token_hash: false,
    };
    /// `TOKEN_HASH_KEY` only: minting and verifying.
    pub const TOKEN_HASH: Self = Self {
        cursors: false,
        token_hash: true,
    };

    /// Whether the key variable `var` is one of these.
    pub fn uses(self, var: &str) -> bool {
        match var {
            "CURSOR_KEYS" => self.cursors,
            "TOKEN_HASH_KEY" => self.token_hash,
            _ => false,
        }
    }
}

/// Decodes standard or URL-safe base64, padded or not.
pub fn decode_key(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
}

impl Config {
    /// Reads the configuration from the process environment. Keys named by
    /// `*_PARAMETER` variables are not read: use [`Config::load`] where they may be.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| env::var(k).ok())
    }

    /// Reads the configuration from the process environment, and the `keys` a function uses
    /// from SSM Parameter Store where `CURSOR_KEYS_PARAMETER` / `TOKEN_HASH_KEY_PARAMETER`
    /// name them (one `GetParameters` call, none when it uses no key). Call it once per cold
    /// start.
    pub async fn load(sdk: &aws_config::SdkConfig, keys: Keys) -> Result<Self, ConfigError> {
        Self::load_for(&aws_sdk_ssm::Client::new(sdk), |k| env::var(k).ok(), keys).await
    }

    /// [`Config::load`] of both keys with its SSM client, and the environment read through
    /// `get`: the operator's tools.
    pub async fn load_with(
        ssm: &aws_sdk_ssm::Client,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        Self::load_for(ssm, get, Keys::ALL).await
    }

    /// [`Config::load`] with its SSM client, and the environment read through `get`.
    pub async fn load_for(
        ssm: &aws_sdk_ssm::Client,
        get: impl Fn(&str) -> Option<String>,
        keys: Keys,
    ) -> Result<Self, ConfigError> {
        let fetched = parameters::fetch(ssm, &parameters::requested(&get, keys)?).await?;
        Self::from_lookup_for(|k| fetched.get(k).cloned().or_else(|| get(k)), keys)
    }

    /// Reads the configuration, both keys included, through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::from_lookup_for(get, Keys::ALL)
    }

    /// Reads the configuration through `get`, with the `keys` named (and only those: a key
    /// not named is left empty even if given). The variables are checked in this order, so
    /// the first bad one is the one named.
    pub fn from_lookup_for(
        get: impl Fn(&str) -> Option<String>,
        keys: Keys,
    ) -> Result<Self, ConfigError> {
        let set = |var: &str| get(var).filter(|v| !v.is_empty());
        let required = |var: &'static str| {
            get(var)
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| bad(var, "is required"))
        };
        let cursor_keys = match keys.cursors {
            true => cursor_keys(&required("CURSOR_KEYS")?)?,
            false => Vec::new(),
        };
        let token_hash_key = match keys.token_hash {
            true => token_hash_key(&required("TOKEN_HASH_KEY")?)?,
            false => Vec::new(),
        };
        let token_prefix = token_prefix(set("TOKEN_PREFIX"))?;
        let scopes = scopes(&get("EXTRA_SCOPES").unwrap_or_default())?;
        let retention_days = number(set("RETENTION_DAYS"), 90, 1..=3650)
            .ok_or_else(|| bad("RETENTION_DAYS", "must be a whole number of days, 1..=3650"))?;
        let list_read_budget = number(set("LIST_READ_BUDGET"), READ_BUDGET, 10..=100_000)
            .ok_or_else(|| bad("LIST_READ_BUDGET", "must be a whole number, 10..=100000"))?;
        let auth_cache_ttl_seconds = number(set("AUTH_CACHE_TTL_SECONDS"), 0, 0..=3600)
            .ok_or_else(|| bad("AUTH_CACHE_TTL_SECONDS", "must be a whole number, 0..=3600"))?;
        let last_used_interval_seconds = number(set("LAST_USED_INTERVAL_SECONDS"), 60, 0..=86_400)
            .ok_or_else(|| {
                bad(
                    "LAST_USED_INTERVAL_SECONDS",
                    "must be a whole number, 0..=86400",
                )
            })?;
        let route_scopes_parameter_prefix =
            route_scopes_prefix(set("ROUTE_SCOPES_PARAMETER_PREFIX"))?;
        let route_scopes_refresh_seconds =
            number(set("ROUTE_SCOPES_REFRESH_SECONDS"), 60, 0..=3600).ok_or_else(|| {
                bad(
                    "ROUTE_SCOPES_REFRESH_SECONDS",
                    "must be a whole number, 0..=3600",
                )
            })?;
        let quota_warning_percent = number(set("QUOTA_WARNING_PERCENT"), 80, 0..=99)
            .ok_or_else(|| bad("QUOTA_WARNING_PERCENT", "must be a whole number, 0..=99"))?;
        Ok(Self {
            quota_warning_percent,
            route_scopes_parameter_prefix,
            route_scopes_refresh_seconds,
            cursor_keys,
            token_hash_key,
            token_prefix,
            scopes,
            retention_days,
            list_read_budget,
            auth_cache_ttl_seconds,
            last_used_interval_seconds,
            table_name: required("TABLE_NAME")?,
        })
    }
}

/// The error for `var`, which names it and never its value.
fn bad(var: &'static str, problem: &str) -> ConfigError {
    ConfigError {
        var,
        problem: problem.into(),
    }
}

/// `CURSOR_KEYS`: a comma list of 1 to 255 keys of 32 bytes.
fn cursor_keys(value: &str) -> Result<Vec<Vec<u8>>, ConfigError> {
    let keys = value
        .split(',')
        .map(|k| decode_key(k).filter(|k| k.len() == KEY_LEN))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| bad("CURSOR_KEYS", "each key must be base64 of exactly 32 bytes"))?;
    if CursorCodec::new(&keys).is_none() {
        return Err(bad("CURSOR_KEYS", "between 1 and 255 keys are required"));
    }
    Ok(keys)
}

/// `TOKEN_HASH_KEY`: at least 32 bytes.
fn token_hash_key(value: &str) -> Result<Vec<u8>, ConfigError> {
    decode_key(value)
        .filter(|k| k.len() >= 32)
        .ok_or_else(|| bad("TOKEN_HASH_KEY", "must be base64 of at least 32 bytes"))
}

/// `TOKEN_PREFIX`, `tkn` when unset.
fn token_prefix(value: Option<String>) -> Result<String, ConfigError> {
    let prefix = value.unwrap_or_else(|| "tkn".into());
    if !secret::valid_prefix(&prefix) {
        return Err(bad("TOKEN_PREFIX", "must be 2..=10 of [a-z0-9]"));
    }
    Ok(prefix)
}

/// `ROUTE_SCOPES_PARAMETER_PREFIX`: the start of an SSM parameter name (`/api-tokens/routes/`),
/// 1..=900 of `[A-Za-z0-9_.\-/]`, starting with `/` when it has one (SSM's rule for paths).
fn route_scopes_prefix(value: Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(prefix) = value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
    else {
        return Ok(None);
    };
    let chars_ok = prefix
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c));
    if !chars_ok || prefix.len() > 900 || (prefix.contains('/') && !prefix.starts_with('/')) {
        return Err(bad(
            "ROUTE_SCOPES_PARAMETER_PREFIX",
            "must be the start of an SSM parameter name: [A-Za-z0-9_.-/], starting with / if it has one",
        ));
    }
    Ok(Some(prefix))
}

/// `EXTRA_SCOPES`: a comma list, blanks ignored.
fn scopes(value: &str) -> Result<ScopeCatalog, ConfigError> {
    ScopeCatalog::with_extra(value.split(',').map(str::trim).filter(|s| !s.is_empty()))
        .map_err(|s| bad("EXTRA_SCOPES", &format!("invalid scope {s:?}")))
}

/// `value` as a whole number in `range`, `default` when unset; `None` when it is neither.
fn number<T: FromStr + PartialOrd>(
    value: Option<String>,
    default: T,
    range: RangeInclusive<T>,
) -> Option<T> {
    match value {
        None => Some(default),
        Some(v) => v.parse::<T>().ok().filter(|n| range.contains(n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="; // 32 zero bytes

    #[test]
    fn a_minimal_environment_gives_the_defaults() {
        let c = Config::from_lookup(env(&[
            ("TABLE_NAME", "t"),
            ("CURSOR_KEYS", KEY),
            ("TOKEN_HASH_KEY", KEY),
        ]))
        .unwrap();
        assert_eq!(c.token_prefix, "tkn");
        assert_eq!(c.retention_days, 90);
        assert_eq!(c.cursor_keys.len(), 1);
        assert_eq!(c.route_scopes_parameter_prefix, None);
        assert_eq!(c.route_scopes_refresh_seconds, 60);
        assert!(!format!("{c:?}").contains(KEY));
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        let base = [
            ("TABLE_NAME", "t"),
            ("CURSOR_KEYS", KEY),
            ("TOKEN_HASH_KEY", KEY),
        ];
        for (var, value) in [
            ("CURSOR_KEYS", "c2hvcnQ="),
            ("CURSOR_KEYS", ""),
            ("TOKEN_HASH_KEY", "c2hvcnQ="),
            ("TOKEN_PREFIX", "Bad_"),
            ("EXTRA_SCOPES", "ok:read,not ok"),
            ("RETENTION_DAYS", "0"),
            ("LIST_READ_BUDGET", "5"),
            ("AUTH_CACHE_TTL_SECONDS", "3601"),
            ("ROUTE_SCOPES_PARAMETER_PREFIX", "api tokens/"),
            ("ROUTE_SCOPES_PARAMETER_PREFIX", "api-tokens/routes/"),
            ("ROUTE_SCOPES_REFRESH_SECONDS", "3601"),
            ("TABLE_NAME", " "),
        ] {
            let mut pairs = base.to_vec();
            pairs.retain(|(k, _)| *k != var);
            pairs.push((var, value));
            let err = Config::from_lookup(env(&pairs)).unwrap_err();
            assert_eq!(err.var, var, "{value}");
        }
    }

    #[test]
    fn rotated_cursor_keys_are_a_comma_list() {
        let c = Config::from_lookup(env(&[
            ("TABLE_NAME", "t"),
            ("CURSOR_KEYS", &format!("{KEY}, {KEY}")),
            ("TOKEN_HASH_KEY", KEY),
            ("EXTRA_SCOPES", "orders:read, orders:write"),
            ("ROUTE_SCOPES_PARAMETER_PREFIX", "/api-tokens/routes/"),
            ("ROUTE_SCOPES_REFRESH_SECONDS", "0"),
        ]))
        .unwrap();
        assert_eq!(
            c.route_scopes_parameter_prefix.as_deref(),
            Some("/api-tokens/routes/")
        );
        assert_eq!(c.route_scopes_refresh_seconds, 0);
        assert_eq!(c.cursor_keys.len(), 2);
        assert!(c.scopes.contains("orders:write"));
    }
}
