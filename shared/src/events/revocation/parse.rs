//! What a message asks: the three requests, read from a bare body or a whole EventBridge
//! event, and every field checked before anything is revoked.

use serde_json::{Map, Value};
use uuid::Uuid;

/// `detail-type` of a request to revoke one token.
pub const REVOKE_TOKEN: &str = "RevokeToken";
/// `detail-type` of a request to revoke every active token of a user.
pub const REVOKE_USER_TOKENS: &str = "RevokeUserTokens";
/// `detail-type` of a request to revoke the token whose secret leaked.
pub const REVOKE_LEAKED_SECRET: &str = "RevokeLeakedSecret";

/// Longest `reason` and `actor`.
const MAX_TEXT: usize = 512;

/// A revocation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// One token of a tenant.
    Token {
        /// Tenant.
        tenant_id: String,
        /// Token id.
        token_id: Uuid,
    },
    /// Every active token of a user.
    User {
        /// Tenant.
        tenant_id: String,
        /// User.
        user_id: String,
    },
    /// The token with this (leaked) secret.
    LeakedSecret {
        /// The secret as found.
        secret: String,
    },
}

/// A request with its audit fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoke {
    /// What to revoke.
    pub request: Request,
    /// Reason recorded on the revoked tokens.
    pub reason: Option<String>,
    /// Who asks (recorded as `revoked_by`); defaults to the transport's source.
    pub actor: Option<String>,
}

/// Why a message is not a revocation request. Logged; never retried into success.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    /// Not JSON.
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    /// Not a JSON object.
    #[error("the body is not a JSON object")]
    NotObject,
    /// An EventBridge `detail-type` this service does not handle.
    #[error("unknown detail-type {0:?}; use RevokeToken, RevokeUserTokens or RevokeLeakedSecret")]
    UnknownDetailType(String),
    /// The fields match no request, or the detail-type's request.
    #[error("{0}")]
    Fields(String),
    /// A leaked secret that is not a token of this service (bad format or checksum).
    #[error("the secret is not a token of this service (format or checksum)")]
    NotAToken,
}

/// Reads a request from an EventBridge event or an SQS message body (either a bare body or
/// a whole EventBridge event).
pub fn parse(body: &Value) -> Result<Revoke, Malformed> {
    let obj = body.as_object().ok_or(Malformed::NotObject)?;
    match (obj.get("detail-type"), obj.get("detail")) {
        (Some(kind), Some(detail)) => {
            let kind = kind.as_str().unwrap_or_default();
            let detail = detail.as_object().ok_or(Malformed::NotObject)?;
            let revoke = fields(detail)?;
            let expected = match revoke.request {
                Request::Token { .. } => REVOKE_TOKEN,
                Request::User { .. } => REVOKE_USER_TOKENS,
                Request::LeakedSecret { .. } => REVOKE_LEAKED_SECRET,
            };
            if ![REVOKE_TOKEN, REVOKE_USER_TOKENS, REVOKE_LEAKED_SECRET].contains(&kind) {
                return Err(Malformed::UnknownDetailType(kind.to_string()));
            }
            if kind != expected {
                return Err(Malformed::Fields(format!(
                    "a {kind} detail has the fields of {expected}"
                )));
            }
            Ok(revoke)
        }
        _ => fields(obj),
    }
}

fn fields(obj: &Map<String, Value>) -> Result<Revoke, Malformed> {
    let known = [
        "tenant_id",
        "token_id",
        "user_id",
        "secret",
        "reason",
        "actor",
    ];
    if let Some(k) = obj.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(Malformed::Fields(format!("unknown field {k:?}")));
    }
    let text = |k: &str, max: usize| -> Result<Option<String>, Malformed> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s))
                if (1..=max).contains(&s.chars().count()) && !s.chars().any(char::is_control) =>
            {
                Ok(Some(s.clone()))
            }
            Some(_) => Err(Malformed::Fields(format!(
                "{k} must be a string of 1..={max} characters"
            ))),
        }
    };
    let id = |k: &str| -> Result<Option<String>, Malformed> {
        match text(k, 128)? {
            Some(v) if !crate::domain::limits::valid_id(&v) => Err(Malformed::Fields(format!(
                "{k} must be 1..=128 of [A-Za-z0-9._@:+-]"
            ))),
            v => Ok(v),
        }
    };
    let tenant_id = id("tenant_id")?;
    let user_id = id("user_id")?;
    let token_id = text("token_id", 64)?;
    let secret = text("secret", 128)?;
    let request = match (tenant_id, token_id, user_id, secret) {
        (Some(tenant_id), Some(token), None, None) => Request::Token {
            tenant_id,
            token_id: Uuid::parse_str(&token)
                .map_err(|_| Malformed::Fields("token_id is not a token id".into()))?,
        },
        (Some(tenant_id), None, Some(user_id), None) => Request::User { tenant_id, user_id },
        (None, None, None, Some(secret)) => Request::LeakedSecret { secret },
        _ => {
            return Err(Malformed::Fields(
                "give {tenant_id, token_id}, {tenant_id, user_id} or {secret}".into(),
            ))
        }
    };
    Ok(Revoke {
        request,
        reason: text("reason", MAX_TEXT)?,
        actor: text("actor", MAX_TEXT)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bodies_are_recognised_by_their_fields() {
        let id = Uuid::now_v7();
        let r = parse(&json!({"tenant_id": "acme", "token_id": id.to_string(), "reason": "r"}))
            .unwrap();
        assert_eq!(
            r.request,
            Request::Token {
                tenant_id: "acme".into(),
                token_id: id
            }
        );
        assert_eq!(r.reason.as_deref(), Some("r"));
        let r = parse(&json!({"tenant_id": "acme", "user_id": "bob", "actor": "okta"})).unwrap();
        assert_eq!(
            r.request,
            Request::User {
                tenant_id: "acme".into(),
                user_id: "bob".into()
            }
        );
        assert_eq!(r.actor.as_deref(), Some("okta"));
        let r = parse(&json!({"secret": "tkn_x"})).unwrap();
        assert_eq!(
            r.request,
            Request::LeakedSecret {
                secret: "tkn_x".into()
            }
        );
    }

    #[test]
    fn an_eventbridge_envelope_must_name_the_request_its_detail_holds() {
        let detail = json!({"tenant_id": "acme", "user_id": "bob"});
        let event = |kind: &str| json!({"detail-type": kind, "source": "idp", "detail": detail});
        assert!(parse(&event("RevokeUserTokens")).is_ok());
        assert!(matches!(
            parse(&event("RevokeToken")),
            Err(Malformed::Fields(_))
        ));
        assert!(matches!(
            parse(&event("DeleteEverything")),
            Err(Malformed::UnknownDetailType(_))
        ));
    }

    #[test]
    fn every_malformed_body_says_why() {
        for (body, why) in [
            (json!([1]), "not a JSON object"),
            (json!({}), "give {tenant_id, token_id}"),
            (json!({"tenant_id": "acme"}), "give {tenant_id, token_id}"),
            (
                json!({"tenant_id": "acme", "token_id": "x", "user_id": "bob"}),
                "give",
            ),
            (
                json!({"tenant_id": "acme", "token_id": "not-a-uuid"}),
                "not a token id",
            ),
            (
                json!({"tenant_id": "a#b", "user_id": "bob"}),
                "tenant_id must be",
            ),
            (
                json!({"tenant_id": "acme", "user_id": 7}),
                "user_id must be a string",
            ),
            (json!({"secret": "s", "tenant": "acme"}), "unknown field"),
            (
                json!({"secret": "s", "reason": "x".repeat(513)}),
                "reason must be",
            ),
        ] {
            let err = parse(&body).unwrap_err().to_string();
            assert!(err.contains(why), "{body}: {err}");
        }
    }
}
