//! Who is calling: the principal a verified token stands for, and how it travels from the
//! authorizer to the handlers (API Gateway's authorizer context, never a client header).

use std::collections::HashMap;

use serde_json::Value;

use crate::domain::scope::{TOKENS_ADMIN, TOKENS_READ, TOKENS_WRITE};
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
}

/// Authorizer context keys. Values are strings so both HTTP and REST APIs pass them through.
mod key {
    pub const TENANT: &str = "tenant_id";
    pub const USER: &str = "user_id";
    pub const TOKEN: &str = "token_id";
    pub const SCOPES: &str = "scopes";
    pub const EXPIRES: &str = "expires_at";
    pub const ALLOWED_IPS: &str = "allowed_ips";
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

    /// The authorizer context that carries this principal to the handlers. `expires_at` is
    /// an empty string for a token that never expires.
    pub fn to_context(&self) -> HashMap<String, Value> {
        HashMap::from([
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
        ])
    }

    /// Reads the principal back from an authorizer context; `None` if any part is missing or
    /// an expiry does not parse.
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
    fn admin_implies_read_and_write() {
        let mut p = alice();
        assert!(p.can_read() && !p.can_write() && !p.is_admin());
        p.scopes = vec!["tokens:admin".into()];
        assert!(p.can_read() && p.can_write() && p.is_admin());
    }
}
