//! The one mapping from a failed request ([`HttpError`]: a transport failure or a use case's
//! [`ApiError`]) to an RFC 9457 `application/problem+json` response.

use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use serde_json::json;

use crate::domain::error::ApiError;
use crate::http::error::HttpError;
use crate::http::response::json_response;

/// Prefix of every problem `type` (a relative URI reference, documented in the README).
pub const PROBLEM_BASE: &str = "/problems/";

type Parts = (StatusCode, &'static str, &'static str);

impl HttpError {
    /// HTTP status, problem `type` slug and title.
    fn parts(&self) -> Parts {
        use StatusCode as S;
        match self {
            Self::RouteNotFound => (S::NOT_FOUND, "route-not-found", "Not found"),
            Self::MethodNotAllowed(_) => (
                S::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            Self::UnsupportedMediaType => (
                S::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            Self::PayloadTooLarge(_) => (
                S::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
            ),
            Self::MalformedJson(_) => (S::BAD_REQUEST, "malformed-json", "Malformed JSON"),
            Self::Domain(err) => domain_parts(err),
        }
    }

    /// The problem+json response for this error. `instance` is the request path.
    pub fn into_response(self, instance: &str) -> Response<Body> {
        let (status, slug, title) = self.parts();
        if let Self::Domain(ApiError::Internal(detail)) = &self {
            tracing::error!(detail = %detail, "internal error");
        }
        let mut body = json!({
            "type": format!("{PROBLEM_BASE}{slug}"),
            "title": title,
            "status": status.as_u16(),
            "detail": self.to_string(),
            "instance": instance,
        });
        if let Self::Domain(ApiError::Validation(errors)) = &self {
            body["errors"] = serde_json::to_value(errors).unwrap_or_default();
        }
        let mut resp = json_response(status, &body);
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match &self {
            Self::Domain(ApiError::Unauthorized) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::MethodNotAllowed(allow) => {
                if let Ok(v) = HeaderValue::from_str(&allow.join(", ")) {
                    headers.insert(header::ALLOW, v);
                }
            }
            Self::Domain(ApiError::Unavailable) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            Self::Domain(ApiError::RateLimited(u) | ApiError::QuotaExhausted(u)) => {
                if let Some(t) = u.retry_after {
                    headers.insert(header::RETRY_AFTER, HeaderValue::from(t));
                }
            }
            _ => {}
        }
        resp
    }
}

/// HTTP status, problem `type` slug and title of a use case's error.
fn domain_parts(err: &ApiError) -> Parts {
    use ApiError as E;
    use StatusCode as S;
    match err {
        E::Unauthorized => (S::UNAUTHORIZED, "unauthorized", "Unauthorized"),
        E::MissingScope(_) => (S::FORBIDDEN, "missing-scope", "Missing scope"),
        E::Forbidden(_) => (S::FORBIDDEN, "forbidden", "Forbidden"),
        E::TokenNotFound => (S::NOT_FOUND, "token-not-found", "Token not found"),
        E::InvalidCursor => (S::BAD_REQUEST, "invalid-cursor", "Invalid cursor"),
        E::NotRotatable(_) => (S::CONFLICT, "token-not-rotatable", "Token not rotatable"),
        E::IdempotencyKeyReused => (
            S::UNPROCESSABLE_ENTITY,
            "idempotency-key-reused",
            "Idempotency key reused",
        ),
        E::Validation(_) => (
            S::UNPROCESSABLE_ENTITY,
            "validation-error",
            "Validation error",
        ),
        E::RateLimited(_) => (S::TOO_MANY_REQUESTS, "rate-limited", "Rate limited"),
        E::QuotaExhausted(_) => (S::TOO_MANY_REQUESTS, "quota-exhausted", "Quota exhausted"),
        E::Unavailable => (
            S::SERVICE_UNAVAILABLE,
            "service-unavailable",
            "Service unavailable",
        ),
        E::Internal(_) => (
            S::INTERNAL_SERVER_ERROR,
            "internal-error",
            "Internal server error",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;
    use serde_json::{json, Value};

    fn body_of(resp: &Response<Body>) -> Value {
        serde_json::from_slice(resp.body().as_ref()).unwrap()
    }

    #[test]
    fn validation_errors_name_each_field() {
        let err = ApiError::field(vec!["body".into(), "name".into()], "missing", "required");
        let resp = HttpError::from(err).into_response("/tokens");
        assert_eq!(resp.status(), 422);
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
        let body = body_of(&resp);
        assert_eq!(body["type"], "/problems/validation-error");
        assert_eq!(body["status"], 422);
        assert_eq!(body["errors"][0]["loc"], json!(["body", "name"]));
        assert_eq!(body["errors"][0]["type"], "missing");
    }

    #[test]
    fn internal_details_are_not_sent() {
        let resp = HttpError::from(ApiError::Internal("table xyz exploded".into()))
            .into_response("/tokens");
        assert_eq!(resp.status(), 500);
        assert!(!body_of(&resp).to_string().contains("xyz"));
    }

    #[test]
    fn protocol_headers_accompany_their_statuses() {
        let r = HttpError::from(ApiError::Unauthorized).into_response("/");
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        let r = HttpError::MethodNotAllowed(&["GET", "POST"]).into_response("/");
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()["allow"], "GET, POST");
        for retryable in [
            StoreError::Throttled("x".into()),
            StoreError::Unavailable("x".into()),
            StoreError::Contended("x".into()),
        ] {
            let r = HttpError::from(ApiError::from(retryable)).into_response("/");
            assert_eq!(r.status(), 503);
            assert_eq!(r.headers()["retry-after"], "1");
        }
    }
}
