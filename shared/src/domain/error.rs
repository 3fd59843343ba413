//! The one error every use case returns. Each variant has one HTTP status, given by its one
//! mapping to an RFC 9457 problem (`http::problem`), which only the adapters call. Failures
//! only the transport produces (routing, body syntax) are the HTTP adapter's own
//! (`http::HttpError`).

use serde::Serialize;
use serde_json::Value;

/// One invalid input, FastAPI-style: where it is, what is wrong, a machine-readable kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Location, e.g. `["body", "scopes", 1]` or `["query", "limit"]`.
    pub loc: Vec<Value>,
    /// Human-readable message.
    pub msg: String,
    /// Stable kind, e.g. `missing`, `string_too_long`, `extra_forbidden`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

impl FieldError {
    /// A field error at `loc` (`"body"`/`"query"` first, then field names or indexes).
    pub fn new(loc: Vec<Value>, kind: &'static str, msg: impl Into<String>) -> Self {
        Self {
            loc,
            msg: msg.into(),
            kind,
        }
    }
}

/// Everything a use case can fail with. Each variant has exactly one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No bearer token, or one that does not verify (malformed, unknown, revoked, expired).
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// The token lacks the scope the route needs.
    #[error("this request needs the `{0}` scope")]
    MissingScope(&'static str),
    /// Allowed route, but not for this caller and these values (e.g. wider scopes).
    #[error("{0}")]
    Forbidden(String),
    /// No such token in the caller's reach (also another tenant's or user's token).
    #[error("no token with this id")]
    TokenNotFound,
    /// The cursor was edited, truncated, or issued for another tenant, caller or query.
    #[error("the cursor is invalid, or was issued for a different query or caller")]
    InvalidCursor,
    /// Only an active token that has not been rotated yet can be rotated.
    #[error("{0}")]
    NotRotatable(String),
    /// The `Idempotency-Key` was used, within its window, for a different request.
    #[error("this Idempotency-Key was already used for a different request; use a new key")]
    IdempotencyKeyReused,
    /// One or more fields or parameters are invalid.
    #[error("{} invalid field(s)", .0.len())]
    Validation(Vec<FieldError>),
    /// The presented token is over its rate limit in this window.
    #[error("this token's rate limit is reached{}", retry_in(.0))]
    RateLimited(crate::domain::usage::Usage),
    /// The presented token's quota is used up for this period (or for good, a total quota).
    #[error("this token's quota is used up{}", retry_in(.0))]
    QuotaExhausted(crate::domain::usage::Usage),
    /// DynamoDB throttled or timed out; the client may retry.
    #[error("the service is busy; retry shortly")]
    Unavailable,
    /// A fault of ours. Details are logged, never sent.
    #[error("internal error")]
    Internal(String),
}

/// `; retry in N s`, or `` for a limit that never refills.
fn retry_in(u: &crate::domain::usage::Usage) -> String {
    match u.retry_after {
        Some(t) => format!("; retry in {t} s"),
        None => " for good".into(),
    }
}

impl ApiError {
    /// A single-field validation error.
    pub fn field(loc: Vec<Value>, kind: &'static str, msg: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(loc, kind, msg)])
    }
}
