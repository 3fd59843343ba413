//! Who is calling: the principal a verified token stands for, and how it travels from the
//! authorizer to the handlers (API Gateway's authorizer context, never a client header).
//!
//! The context is a versioned contract, the same for HTTP APIs (`authorizer.lambda`) and REST
//! APIs (`authorizer`); every value is a string. Version 1:
//!
//! | key | value |
//! | --- | --- |
//! | `context_version` | `"1"` |
//! | `tenant_id`, `user_id`, `token_id` | strings |
//! | `scopes` | space-separated |
//! | `expires_at` | RFC 3339 UTC, `""` when none |
//! | `allowed_ips` | space-separated CIDRs, `""` when none |
//! | `metadata` | the token's metadata as a JSON object string, `"{}"` when none |
//! | `route` | the matched declared route key, `""` when none was matched |
//! | `required_scopes` | that route's scopes, space-separated, `""` when none |
//! | `rate_limit` | `<limit>/<window seconds>` (`100/60`), `""` when none |
//! | `quota` | `<limit>/<day, month or total>` (`10000/day`), `""` when none |
//! | `usage` | the authorizer's verdict on the limits ([`crate::domain::usage`]), `""` when the token has none |
//!
//! Readers ignore keys they do not know: a later version adds keys, a breaking change bumps
//! `context_version`. [`Principal::from_context`] also reads a context without the
//! version 1 keys (what authorizers wrote before).

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::domain::scope::{TOKENS_ADMIN, TOKENS_READ, TOKENS_WRITE};
use crate::domain::usage::{Quota, RateLimit};
use crate::support::time::{self, Timestamp};

/// The verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Tenant the token belongs to; every read and write is confined to it.
    pub tenant_id: String,
    /// User the token acts for.
    pub user_id: String,
    /// Id of the token that was presented.
    pub token_id: String,
    /// Scopes the token carries.
    pub scopes: Vec<String>,
    /// When the presented token expires (`None`: never). Tokens it creates may not outlive it.
    pub expires_at: Option<Timestamp>,
    /// CIDR blocks the presented token may be used from (empty: anywhere). Tokens it creates
    /// or rotates are held inside them.
    pub allowed_ips: Vec<String>,
    /// The token's metadata (empty for a credential written before it carried them).
    pub metadata: BTreeMap<String, String>,
    /// The presented token's rate limit: tokens it mints get no more.
    pub rate_limit: Option<RateLimit>,
    /// The presented token's quota: tokens it mints get no more.
    pub quota: Option<Quota>,
}

/// The version of the context [`Principal::to_context`] writes.
pub const CONTEXT_VERSION: &str = "1";

/// Authorizer context keys. Values are strings so both HTTP and REST APIs pass them through.
mod key {
    pub const TENANT: &str = "tenant_id";
    pub const USER: &str = "user_id";
    pub const TOKEN: &str = "token_id";
    pub const SCOPES: &str = "scopes";
    pub const EXPIRES: &str = "expires_at";
    pub const ALLOWED_IPS: &str = "allowed_ips";
    pub const VERSION: &str = "context_version";
    pub const METADATA: &str = "metadata";
    pub const ROUTE: &str = "route";
    pub const REQUIRED: &str = "required_scopes";
    pub const RATE_LIMIT: &str = "rate_limit";
    pub const QUOTA: &str = "quota";
}

impl Principal {
    /// Whether the token holds `scope` exactly.
    pub fn has(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// `tokens:admin`: acts on every user's tokens in the tenant.
    pub fn is_admin(&self) -> bool {
        self.has(TOKENS_ADMIN)
    }

    /// May read its own tokens (`tokens:read`, or admin).
    pub fn can_read(&self) -> bool {
        self.has(TOKENS_READ) || self.is_admin()
    }

    /// May create and revoke its own tokens (`tokens:write`, or admin).
    pub fn can_write(&self) -> bool {
        self.has(TOKENS_WRITE) || self.is_admin()
    }

    /// The authorizer context (version 1) that carries this principal to the handlers, for
    /// a request that matched no declared route.
    pub fn to_context(&self) -> HashMap<String, Value> {
        self.to_context_for("", &[])
    }

    /// The authorizer context (version 1) for a request that matched the declared `route`,
    /// which requires `required_scopes`.
    pub fn to_context_for(
        &self,
        route: &str,
        required_scopes: &[String],
    ) -> HashMap<String, Value> {
        // A map of strings always serializes.
        let metadata = serde_json::to_string(&self.metadata).unwrap_or_else(|_| "{}".into());
        HashMap::from([
            (key::VERSION.into(), Value::from(CONTEXT_VERSION)),
            (key::METADATA.into(), Value::from(metadata)),
            (key::ROUTE.into(), Value::from(route)),
            (key::REQUIRED.into(), Value::from(required_scopes.join(" "))),
            (key::TENANT.into(), Value::from(self.tenant_id.clone())),
            (key::USER.into(), Value::from(self.user_id.clone())),
            (key::TOKEN.into(), Value::from(self.token_id.clone())),
            (key::SCOPES.into(), Value::from(self.scopes.join(" "))),
            (
                key::EXPIRES.into(),
                Value::from(
                    self.expires_at
                        .map(|t| time::format(&t))
                        .unwrap_or_default(),
                ),
            ),
            (
                key::ALLOWED_IPS.into(),
                Value::from(self.allowed_ips.join(" ")),
            ),
            (
                key::RATE_LIMIT.into(),
                Value::from(self.rate_limit.map(|r| r.to_text()).unwrap_or_default()),
            ),
            (
                key::QUOTA.into(),
                Value::from(self.quota.map(|q| q.to_text()).unwrap_or_default()),
            ),
        ])
    }

    /// Reads the principal back from an authorizer context; `None` if any part is missing, an
    /// expiry or a limit does not parse, or `metadata` is given but not a JSON object of
    /// strings. The keys added by version 1 may be absent (no metadata, no limits).
    pub fn from_context(ctx: &HashMap<String, Value>) -> Option<Self> {
        let get = |k: &str| {
            ctx.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let words = |k: &str| -> Vec<String> {
            ctx.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect()
        };
        Some(Self {
            tenant_id: get(key::TENANT)?,
            user_id: get(key::USER)?,
            token_id: get(key::TOKEN)?,
            scopes: words(key::SCOPES),
            expires_at: match get(key::EXPIRES) {
                Some(t) => Some(time::parse(&t)?),
                None => None,
            },
            allowed_ips: words(key::ALLOWED_IPS),
            metadata: match get(key::METADATA) {
                Some(m) => serde_json::from_str(&m).ok()?,
                None => BTreeMap::new(),
            },
            rate_limit: match get(key::RATE_LIMIT) {
                Some(r) => Some(RateLimit::from_text(&r)?),
                None => None,
            },
            quota: match get(key::QUOTA) {
                Some(q) => Some(Quota::from_text(&q)?),
                None => None,
            },
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A principal for unit tests: tenant `acme`, user `alice`, `tokens:read`.
    pub(crate) fn alice() -> Principal {
        Principal {
            tenant_id: "acme".into(),
            user_id: "alice".into(),
            token_id: "t1".into(),
            scopes: vec!["tokens:read".into(), "orders:read".into()],
            expires_at: time::parse("2027-01-01T00:00:00Z"),
            allowed_ips: vec!["10.0.0.0/8".into(), "2001:db8::/32".into()],
            metadata: [("team".to_string(), "payments".to_string())].into(),
            rate_limit: Some(RateLimit {
                limit: 100,
                window_seconds: 60,
            }),
            quota: Some(Quota {
                limit: 10_000,
                period: crate::domain::usage::QuotaPeriod::Day,
            }),
        }
    }

    #[test]
    fn the_context_round_trips() {
        assert_eq!(
            Principal::from_context(&alice().to_context()),
            Some(alice())
        );
    }

    #[test]
    fn a_token_without_expiry_round_trips() {
        let forever = Principal {
            expires_at: None,
            ..alice()
        };
        assert_eq!(
            Principal::from_context(&forever.to_context()),
            Some(forever)
        );
    }

    #[test]
    fn an_incomplete_context_is_no_principal() {
        let mut ctx = alice().to_context();
        ctx.remove("tenant_id");
        assert_eq!(Principal::from_context(&ctx), None);
        let mut ctx = alice().to_context();
        ctx.insert("user_id".into(), Value::from(""));
        assert_eq!(Principal::from_context(&ctx), None);
        let mut ctx = alice().to_context();
        ctx.insert("expires_at".into(), Value::from("soon"));
        assert_eq!(Principal::from_context(&ctx), None);
    }

    #[test]
    fn the_context_is_version_1_with_every_key_a_string() {
        let required = ["orders:read".to_string(), "orders:admin".to_string()];
        let ctx = alice().to_context_for("GET /orders/{id}", &required);
        let text = |k: &str| ctx[k].as_str().unwrap().to_string();
        assert_eq!(text("context_version"), "1");
        assert_eq!(text("metadata"), r#"{"team":"payments"}"#);
        assert_eq!(text("route"), "GET /orders/{id}");
        assert_eq!(text("required_scopes"), "orders:read orders:admin");
        assert_eq!(text("allowed_ips"), "10.0.0.0/8 2001:db8::/32");
        assert_eq!(text("expires_at"), "2027-01-01T00:00:00.000Z");
        assert_eq!(text("rate_limit"), "100/60");
        assert_eq!(text("quota"), "10000/day");
        assert_eq!(ctx.len(), 12);
        assert!(ctx.values().all(Value::is_string));
        let none = Principal {
            metadata: BTreeMap::new(),
            ..alice()
        }
        .to_context();
        assert_eq!(none["metadata"], "{}");
        assert_eq!(none["route"], "");
        assert_eq!(none["required_scopes"], "");
    }

    #[test]
    fn a_context_without_the_version_1_keys_still_reads() {
        let mut ctx = alice().to_context();
        for k in [
            "context_version",
            "metadata",
            "route",
            "required_scopes",
            "rate_limit",
            "quota",
        ] {
            ctx.remove(k);
        }
        let read = Principal::from_context(&ctx).unwrap();
        assert!(read.metadata.is_empty());
        assert_eq!((read.rate_limit, read.quota), (None, None));
        let mut ctx = alice().to_context();
        ctx.insert("rate_limit".into(), Value::from("lots"));
        assert_eq!(
            Principal::from_context(&ctx),
            None,
            "a limit that does not parse"
        );
        assert_eq!(read.token_id, "t1");
        let mut ctx = alice().to_context();
        ctx.insert("metadata".into(), Value::from("[1]"));
        assert_eq!(Principal::from_context(&ctx), None);
    }

    #[test]
    fn admin_implies_read_and_write() {
        let mut p = alice();
        assert!(p.can_read() && !p.can_write() && !p.is_admin());
        p.scopes = vec!["tokens:admin".into()];
        assert!(p.can_read() && p.can_write() && p.is_admin());
    }

    #[test]
    fn write_alone_does_not_read_and_no_scope_does_nothing() {
        let mut p = alice();
        p.scopes = vec!["tokens:write".into()];
        assert!(!p.can_read() && p.can_write() && !p.is_admin());
        assert!(p.has("tokens:write") && !p.has("tokens:writ") && !p.has("orders:read"));
        p.scopes = vec![];
        assert!(!p.can_read() && !p.can_write() && !p.is_admin());
    }
}
