//! RFC 9457 problems exactly as the token service writes them (its `http::problem`): the same
//! fields, content type and headers, so a client handles a `403` from your API and one from
//! the token service with the same code. Your own problems (`404`, `422`, ...) take the same
//! shape through [`Problem::new`].

use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use serde::Serialize;
use serde_json::{json, Value};

/// Prefix of every problem `type` (a relative URI reference, as the token service's).
pub const PROBLEM_BASE: &str = "/problems/";

/// A refused or failed request; [`Problem::into_response`] is its problem+json answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct Problem {
    /// HTTP status.
    pub status: u16,
    /// The `type` slug, without [`PROBLEM_BASE`] (`missing-scope`).
    pub kind: &'static str,
    /// Short summary of the kind (`Missing scope`).
    pub title: &'static str,
    /// What went wrong with this request.
    pub detail: String,
    /// The request path (empty until [`Problem::at`] or the principal sets it).
    pub instance: String,
    /// The invalid fields of a `422` (sent as `errors` when not empty).
    pub errors: Vec<FieldError>,
    /// A `429`'s verdict, sent as its `Retry-After` and `RateLimit` headers (boxed: a
    /// `Problem` is every handler's error, so it stays small).
    pub usage: Option<Box<crate::usage::Usage>>,
}

/// One invalid input, as the token service reports it: where, what, a machine-readable kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Location, e.g. `["body", "quantity"]`.
    pub loc: Vec<Value>,
    /// Human-readable message.
    pub msg: String,
    /// Stable kind, e.g. `missing`, `int_type`, `greater_than_equal`.
    #[serde(rename = "type")]
    pub kind: String,
}

impl FieldError {
    /// A field error at `loc` (`"body"` or `"query"` first, then field names or indexes).
    pub fn new<L: Into<Value>>(
        loc: impl IntoIterator<Item = L>,
        kind: impl Into<String>,
        msg: impl Into<String>,
    ) -> Self {
        Self {
            loc: loc.into_iter().map(Into::into).collect(),
            msg: msg.into(),
            kind: kind.into(),
        }
    }
}

impl Problem {
    /// A problem of your own: `Problem::new(404, "order-not-found", "Order not found", "no
    /// order with this id")`.
    pub fn new(
        status: u16,
        kind: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            kind,
            title,
            detail: detail.into(),
            instance: String::new(),
            errors: Vec::new(),
            usage: None,
        }
    }

    /// `429 rate-limited` or `429 quota-exhausted`, as the service answers a token over its
    /// rate limit or quota: `Retry-After` (unless a total quota, which never refills) and the
    /// IETF `RateLimit-Policy` and `RateLimit` headers.
    pub fn over_limit(usage: &crate::usage::Usage) -> Self {
        let retry = match usage.retry_after {
            Some(t) => format!("; retry in {t} s"),
            None => " for good".into(),
        };
        let mut problem = match usage.verdict {
            crate::usage::Verdict::QuotaExhausted => Self::new(
                429,
                "quota-exhausted",
                "Quota exhausted",
                format!("this token's quota is used up{retry}"),
            ),
            _ => Self::new(
                429,
                "rate-limited",
                "Rate limited",
                format!("this token's rate limit is reached{retry}"),
            ),
        };
        problem.usage = Some(Box::new(usage.clone()));
        problem
    }

    /// This problem for the request at `path` (the `instance` member).
    pub fn at(mut self, path: &str) -> Self {
        self.instance = path.into();
        self
    }

    /// `401 unauthorized`: no verified caller (the request did not come through the
    /// authorizer, or its context is incomplete). Sent with `WWW-Authenticate: Bearer`.
    pub fn unauthorized() -> Self {
        Self::new(
            401,
            "unauthorized",
            "Unauthorized",
            "a valid bearer token is required",
        )
    }

    /// `403 missing-scope`: the token lacks `scope`.
    pub fn missing_scope(scope: &str) -> Self {
        Self::new(
            403,
            "missing-scope",
            "Missing scope",
            format!("this request needs the `{scope}` scope"),
        )
    }

    /// `403 missing-scope`: the token has none of `scopes` (one scope: [`Self::missing_scope`]).
    pub fn missing_any(scopes: &[&str]) -> Self {
        match scopes {
            [one] => Self::missing_scope(one),
            _ => Self::new(
                403,
                "missing-scope",
                "Missing scope",
                format!(
                    "this request needs one of the {} scopes",
                    scopes
                        .iter()
                        .map(|s| format!("`{s}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        }
    }

    /// `422 validation-error` listing each invalid field.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut problem = Self::new(
            422,
            "validation-error",
            "Validation error",
            format!("{} invalid field(s)", errors.len()),
        );
        problem.errors = errors;
        problem
    }

    /// `500 internal-error`. Log the cause yourself: it is never sent.
    pub fn internal() -> Self {
        Self::new(
            500,
            "internal-error",
            "Internal server error",
            "internal error",
        )
    }

    /// The `application/problem+json` response, as the token service writes it (no cache
    /// may keep it).
    pub fn into_response(self) -> Response<Body> {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut body = json!({
            "type": format!("{PROBLEM_BASE}{}", self.kind),
            "title": self.title,
            "status": status.as_u16(),
            "detail": self.detail,
            "instance": self.instance,
        });
        if !self.errors.is_empty() {
            body["errors"] = serde_json::to_value(&self.errors).unwrap_or_default();
        }
        let mut resp = Response::new(Body::from(body.to_string()));
        *resp.status_mut() = status;
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(usage) = &self.usage {
            if let Some(t) = usage.retry_after {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(t));
            }
            usage.add_headers(&mut resp);
        }
        resp
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use api_tokens::http::HttpError;
    use api_tokens::ApiError;

    /// Status, the headers a client reads, and the body as JSON.
    pub(crate) fn parts(resp: &Response<Body>) -> (u16, Vec<(String, String)>, Value) {
        let mut headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        headers.sort();
        let body = serde_json::from_slice(resp.body().as_ref()).unwrap();
        (resp.status().as_u16(), headers, body)
    }

    fn service(err: ApiError, path: &str) -> Response<Body> {
        HttpError::from(err).into_response(path)
    }

    #[test]
    fn a_missing_scope_is_the_services_403_field_by_field() {
        let ours = parts(
            &Problem::missing_scope("orders:write")
                .at("/orders")
                .into_response(),
        );
        let theirs = parts(&service(ApiError::MissingScope("orders:write"), "/orders"));
        assert_eq!(ours, theirs);
        let (status, _, body) = ours;
        assert_eq!(status, 403);
        assert_eq!(body["type"], "/problems/missing-scope");
        assert_eq!(body["title"], "Missing scope");
        assert_eq!(body["status"], 403);
        assert_eq!(
            body["detail"],
            "this request needs the `orders:write` scope"
        );
        assert_eq!(body["instance"], "/orders");
        assert_eq!(body.as_object().unwrap().len(), 5);
    }

    #[test]
    fn no_caller_is_the_services_401() {
        let ours = Problem::unauthorized().at("/orders/7").into_response();
        let theirs = service(ApiError::Unauthorized, "/orders/7");
        assert_eq!(parts(&ours), parts(&theirs));
        assert_eq!(ours.headers()["www-authenticate"], "Bearer");
    }

    #[test]
    fn invalid_fields_are_the_services_422() {
        let ours = Problem::validation(vec![FieldError::new(
            ["body", "quantity"],
            "int_type",
            "must be an integer",
        )])
        .at("/orders");
        let theirs = ApiError::field(
            vec!["body".into(), "quantity".into()],
            "int_type",
            "must be an integer",
        );
        assert_eq!(
            parts(&ours.into_response()),
            parts(&service(theirs, "/orders"))
        );
    }

    #[test]
    fn an_internal_error_is_the_services_500() {
        let ours = Problem::internal().at("/orders").into_response();
        let theirs = service(ApiError::Internal("the cause".into()), "/orders");
        assert_eq!(parts(&ours), parts(&theirs));
    }

    #[test]
    fn any_of_several_scopes_names_them_all() {
        let p = Problem::missing_any(&["orders:read", "orders:admin"]);
        assert_eq!(
            p.detail,
            "this request needs one of the `orders:read`, `orders:admin` scopes"
        );
        assert_eq!((p.status, p.kind), (403, "missing-scope"));
        assert_eq!(
            Problem::missing_any(&["orders:read"]),
            Problem::missing_scope("orders:read")
        );
    }

    #[test]
    fn a_problem_of_your_own_has_the_same_shape() {
        let resp = Problem::new(
            404,
            "order-not-found",
            "Order not found",
            "no order with this id",
        )
        .at("/orders/9")
        .into_response();
        let (status, headers, body) = parts(&resp);
        assert_eq!(status, 404);
        assert!(headers.contains(&("content-type".into(), "application/problem+json".into())));
        assert_eq!(
            body,
            json!({"type": "/problems/order-not-found", "title": "Order not found",
                   "status": 404, "detail": "no order with this id", "instance": "/orders/9"})
        );
    }
}
