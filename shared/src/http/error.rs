//! What a request can fail with at the HTTP edge: the failures only the transport produces
//! (routing, content type, body size and syntax), or any use case's [`ApiError`]. Its one
//! mapping to a problem+json response is in [`crate::http::problem`].

use serde_json::Value;

use crate::domain::error::ApiError;

/// A failed request. Each transport variant has exactly one HTTP status; `Domain` has its
/// error's.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// No such route.
    #[error("no route for this path")]
    RouteNotFound,
    /// The path exists but not with this method.
    #[error("method not allowed; allowed: {}", .0.join(", "))]
    MethodNotAllowed(&'static [&'static str]),
    /// A body that is not JSON by its content type.
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    /// The body is larger than the service accepts.
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// The body does not parse as JSON.
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    /// What a use case, or the validation of its input, refused.
    #[error(transparent)]
    Domain(#[from] ApiError),
}

/// A [`crate::domain::error::FieldError`] location from names: `loc(&["query", "limit"])`.
pub fn loc(parts: &[&str]) -> Vec<Value> {
    parts.iter().map(|p| Value::from(*p)).collect()
}
