//! Revocation requested by other AWS services: EventBridge events and SQS messages.
//!
//! Three requests, the same bodies on both transports (see `docs/revocation-events.md`):
//!
//! | EventBridge `detail-type` | body (`detail`, or the SQS message body) | revokes |
//! | --- | --- | --- |
//! | `RevokeToken` | `{tenant_id, token_id, reason?, actor?}` | one token |
//! | `RevokeUserTokens` | `{tenant_id, user_id, reason?, actor?}` | every active token of a user |
//! | `RevokeLeakedSecret` | `{secret, reason?, actor?}` | the token whose secret leaked |
//!
//! An SQS body may also be a whole EventBridge event (an EventBridge rule targeting the
//! queue delivers that). Every request is idempotent: a replay changes nothing and succeeds.
//! A malformed request is logged with its reason and reported as failed (SQS: in
//! `batchItemFailures`, so the queue's redrive policy moves it to the dead-letter queue;
//! EventBridge: as the invocation's error, so Lambda's retries and failure destination get
//! it). It never fails the other records of a batch.

use std::time::Instant;

use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::service::{LeakOutcome, TokenService};
use crate::store::{RevokeOutcome, StoreError, TokenStore};

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
            Some(v) if !crate::api::valid_id(&v) => Err(Malformed::Fields(format!(
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

/// What a request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// This many tokens were revoked now.
    Revoked(usize),
    /// Nothing to do: already revoked, or no such token (a replay, or a purged token).
    Nothing,
    /// Part of a user's tokens were revoked before the deadline; deliver the request again.
    Incomplete(usize),
}

/// Why a request could not be completed.
#[derive(Debug, thiserror::Error)]
pub enum Failed {
    /// Not a request; retrying will not help.
    #[error(transparent)]
    Malformed(#[from] Malformed),
    /// DynamoDB failed; retrying may.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The deadline came first; delivering the request again continues it.
    #[error("stopped at the deadline after revoking {0} tokens; deliver again to continue")]
    Incomplete(usize),
}

/// Carries out one request through the service's one revocation path.
pub async fn apply<S: TokenStore>(
    service: &TokenService<S>,
    revoke: &Revoke,
    default_actor: &str,
    deadline: Option<Instant>,
) -> Result<Done, Failed> {
    let actor = revoke.actor.as_deref().unwrap_or(default_actor);
    let reason = revoke.reason.as_deref();
    let single = |outcome: RevokeOutcome<()>| match outcome {
        RevokeOutcome::Revoked(_) => Done::Revoked(1),
        RevokeOutcome::Unchanged(_) => Done::Nothing,
    };
    match &revoke.request {
        Request::Token {
            tenant_id,
            token_id,
        } => {
            let outcome = service
                .revoke_in(tenant_id, None, *token_id, actor, reason)
                .await?;
            if matches!(&outcome, RevokeOutcome::Unchanged(t) if t.as_ref().is_none_or(|t| &t.tenant_id != tenant_id))
            {
                tracing::warn!(tenant = %tenant_id, token_id = %token_id, "revocation event for a token that does not exist in its tenant");
            }
            Ok(single(outcome))
        }
        Request::User { tenant_id, user_id } => {
            let bulk =
                Box::pin(service.revoke_user(tenant_id, user_id, actor, reason, deadline)).await?;
            match (bulk.complete, bulk.revoked) {
                (false, n) => Err(Failed::Incomplete(n)),
                (true, 0) => Ok(Done::Nothing),
                (true, n) => Ok(Done::Revoked(n)),
            }
        }
        Request::LeakedSecret { secret } => {
            match service.revoke_leaked(secret, actor, reason).await? {
                LeakOutcome::Malformed => Err(Malformed::NotAToken.into()),
                LeakOutcome::Unknown => {
                    tracing::warn!("leaked-secret event for a secret that matches no token");
                    Ok(Done::Nothing)
                }
                LeakOutcome::Revoked => Ok(Done::Revoked(1)),
                LeakOutcome::AlreadyRevoked => Ok(Done::Nothing),
            }
        }
    }
}

/// Handles one Lambda invocation: an SQS batch (answered with `batchItemFailures`) or one
/// EventBridge event (an error makes Lambda retry it, then send it to the failure
/// destination).
pub async fn handle<S: TokenStore>(
    service: &TokenService<S>,
    event: Value,
    deadline: Option<Instant>,
) -> Result<Value, Failed> {
    if let Some(records) = event.get("Records").and_then(Value::as_array) {
        // Boxed: one allocation keeps the future types shallow enough for rustc's layout
        // queries (see `TokenService::verify_cached`).
        return Ok(Box::pin(handle_sqs(service, records, deadline)).await);
    }
    let source = event
        .get("source")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    let actor = format!("eventbridge:{source}");
    let id = event.get("id").and_then(Value::as_str).unwrap_or_default();
    let revoke = parse(&event).inspect_err(|e| {
        tracing::error!(event_id = %id, source = %source, reason = %e, "malformed revocation event");
    })?;
    let done = Box::pin(apply(service, &revoke, &actor, deadline))
        .await
        .inspect_err(|e| tracing::warn!(event_id = %id, error = %e, "revocation event failed"))?;
    Ok(json!({ "done": describe(done) }))
}

async fn handle_sqs<S: TokenStore>(
    service: &TokenService<S>,
    records: &[Value],
    deadline: Option<Instant>,
) -> Value {
    let mut failures = Vec::new();
    for record in records {
        let message_id = record
            .get("messageId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let queue = record
            .get("eventSourceARN")
            .and_then(Value::as_str)
            .and_then(|arn| arn.rsplit(':').next())
            .unwrap_or("unknown");
        let result = async {
            let body = record
                .get("body")
                .and_then(Value::as_str)
                .ok_or(Malformed::NotObject)?;
            let body: Value =
                serde_json::from_str(body).map_err(|e| Malformed::NotJson(e.to_string()))?;
            let revoke = parse(&body)?;
            Box::pin(apply(service, &revoke, &format!("sqs:{queue}"), deadline)).await
        }
        .await;
        match result {
            Ok(done) => {
                tracing::info!(message_id = %message_id, done = %describe(done), "revocation message handled")
            }
            Err(Failed::Malformed(e)) => {
                tracing::error!(message_id = %message_id, reason = %e, "malformed revocation message");
                failures.push(message_id.to_string());
            }
            Err(e) => {
                tracing::warn!(message_id = %message_id, error = %e, "revocation message failed; it will be delivered again");
                failures.push(message_id.to_string());
            }
        }
    }
    json!({
        "batchItemFailures": failures
            .into_iter()
            .map(|id| json!({ "itemIdentifier": id }))
            .collect::<Vec<_>>()
    })
}

fn describe(done: Done) -> String {
    match done {
        Done::Revoked(n) => format!("revoked {n}"),
        Done::Nothing => "nothing to do".into(),
        Done::Incomplete(n) => format!("revoked {n}, incomplete"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
