//! The verified caller, from the context the api-tokens authorizer hands to your integration
//! (the context contract, version 1: the same keys for an HTTP API's `authorizer.lambda` and
//! a REST API's `authorizer`; unknown keys are ignored, a breaking change bumps
//! `context_version`).

use std::collections::HashMap;

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::{Map, Value};

use crate::problem::Problem;
use crate::usage::{Usage, Verdict};

/// The context contract version this crate reads.
pub const CONTEXT_VERSION: &str = "1";

/// The caller of a request, as the authorizer verified it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Tenant the token belongs to: confine every read and write to it.
    pub tenant_id: String,
    /// User the token acts for.
    pub user_id: String,
    /// Id of the token that was presented (not its secret).
    pub token_id: String,
    /// Scopes the token carries.
    pub scopes: Vec<String>,
    /// When the token expires, RFC 3339 UTC (`None`: never).
    pub expires_at: Option<String>,
    /// CIDR blocks the token may be used from (empty: anywhere); the authorizer checked them.
    pub allowed_ips: Vec<String>,
    /// The token's metadata, as set when it was created.
    pub metadata: Map<String, Value>,
    /// The declared route the authorizer matched (`GET /orders/{id}`); `None` for a route
    /// your declarations do not list (under `"default": "authenticated"`).
    pub route: Option<String>,
    /// The scopes that route's declaration names (already enforced by the authorizer).
    pub required_scopes: Vec<String>,
    /// The context contract version the authorizer wrote.
    pub context_version: String,
    /// The authorizer's verdict on the token's rate limit and quota; `None` for a token
    /// without either. Under `"limits": "context"` a request over a limit reaches you:
    /// [`Principal::require_within_limits`] answers it.
    pub usage: Option<Usage>,
    /// The request path, for the `instance` of this caller's problems.
    instance: String,
}

/// Context keys of version 1.
mod key {
    pub const VERSION: &str = "context_version";
    pub const TENANT: &str = "tenant_id";
    pub const USER: &str = "user_id";
    pub const TOKEN: &str = "token_id";
    pub const SCOPES: &str = "scopes";
    pub const EXPIRES: &str = "expires_at";
    pub const ALLOWED_IPS: &str = "allowed_ips";
    pub const METADATA: &str = "metadata";
    pub const ROUTE: &str = "route";
    pub const REQUIRED: &str = "required_scopes";
}

impl Principal {
    /// The caller the authorizer attached to `req` (HTTP API payload 2.0 or REST).
    ///
    /// `401 unauthorized` when there is no context (the route has no authorizer, or the
    /// request was not made through API Gateway) or it lacks the tenant, user or token;
    /// `500` when the context is of an incompatible later version or its metadata is not a
    /// JSON object (the authorizer and this crate disagree: a deployment fault).
    pub fn from_request(req: &Request) -> Result<Self, Problem> {
        let instance = req.uri().path();
        let fields = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(c)) => c.authorizer.as_ref().map(|a| &a.fields),
            Some(RequestContext::ApiGatewayV1(c)) => Some(&c.authorizer.fields),
            _ => None,
        };
        match fields {
            Some(fields) => Self::from_context(fields, instance),
            None => Err(Problem::unauthorized().at(instance)),
        }
    }

    /// The caller from an authorizer context already taken out of the event; `instance` is
    /// the request path. Refuses as [`Principal::from_request`] does.
    pub fn from_context(ctx: &HashMap<String, Value>, instance: &str) -> Result<Self, Problem> {
        let text = |k: &str| ctx.get(k).and_then(Value::as_str).unwrap_or_default();
        let words = |k: &str| text(k).split_whitespace().map(str::to_string).collect();
        let required = |k: &str| match text(k) {
            "" => Err(Problem::unauthorized().at(instance)),
            v => Ok(v.to_string()),
        };
        let context_version = match text(key::VERSION) {
            // Written by authorizers older than the contract: the same keys.
            "" => CONTEXT_VERSION,
            v => v,
        };
        if context_version != CONTEXT_VERSION {
            return Err(Problem::internal().at(instance));
        }
        let metadata = match text(key::METADATA) {
            "" => Map::new(),
            json => match serde_json::from_str(json) {
                Ok(Value::Object(map)) => map,
                _ => return Err(Problem::internal().at(instance)),
            },
        };
        Ok(Self {
            tenant_id: required(key::TENANT)?,
            user_id: required(key::USER)?,
            token_id: required(key::TOKEN)?,
            scopes: words(key::SCOPES),
            expires_at: Some(text(key::EXPIRES))
                .filter(|v| !v.is_empty())
                .map(str::to_string),
            allowed_ips: words(key::ALLOWED_IPS),
            metadata,
            route: Some(text(key::ROUTE))
                .filter(|v| !v.is_empty())
                .map(str::to_string),
            required_scopes: words(key::REQUIRED),
            context_version: context_version.to_string(),
            usage: Usage::from_context(ctx),
            instance: instance.to_string(),
        })
    }

    /// The request path this caller was read from (the `instance` of its problems).
    pub fn path(&self) -> &str {
        &self.instance
    }

    /// Whether the token holds `scope` exactly.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// `Ok` when the token holds `scope`; otherwise the service's `403 missing-scope`.
    pub fn require_scope(&self, scope: &str) -> Result<(), Problem> {
        if self.has_scope(scope) {
            Ok(())
        } else {
            Err(Problem::missing_scope(scope).at(&self.instance))
        }
    }

    /// `Ok` unless the authorizer found the token over its rate limit or quota; then the
    /// service's `429` (`rate-limited` or `quota-exhausted`) with `Retry-After` and the
    /// `RateLimit-Policy` and `RateLimit` headers. Call it first in every handler of an API
    /// that declares `"limits": "context"`.
    pub fn require_within_limits(&self) -> Result<(), Problem> {
        match &self.usage {
            Some(u) if u.verdict != Verdict::Admitted => {
                Err(Problem::over_limit(u).at(&self.instance))
            }
            _ => Ok(()),
        }
    }

    /// `Ok` when the token holds at least one of `scopes` (an empty list is never met);
    /// otherwise `403 missing-scope` naming them.
    pub fn require_any(&self, scopes: &[&str]) -> Result<(), Problem> {
        if scopes.iter().any(|s| self.has_scope(s)) {
            Ok(())
        } else {
            Err(Problem::missing_any(scopes).at(&self.instance))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An HTTP API (payload 2.0) request for `GET /orders/{id}` by alice of acme.
    const HTTP_API: &str = include_str!("../fixtures/http-api-v2.json");
    /// A REST API request for `POST /orders` on stage `prod` by bob of globex.
    const REST_API: &str = include_str!("../fixtures/rest-api.json");

    fn request(event: &str) -> Request {
        lambda_http::request::from_str(event).unwrap()
    }

    /// `event` with its authorizer context replaced by `context` (`null`: none at all).
    fn with_context(event: &str, context: Value) -> Request {
        let mut e: Value = serde_json::from_str(event).unwrap();
        if e["version"] == "2.0" {
            e["requestContext"]["authorizer"] = json!({ "lambda": context });
        } else {
            e["requestContext"]["authorizer"] = context;
        }
        request(&e.to_string())
    }

    #[test]
    fn an_http_api_request_gives_every_field_of_the_contract() {
        let p = Principal::from_request(&request(HTTP_API)).unwrap();
        assert_eq!(p.tenant_id, "acme");
        assert_eq!(p.user_id, "alice");
        assert_eq!(p.token_id, "0190a5c4-aaaa-7bbb-8ccc-000000000001");
        assert_eq!(p.scopes, ["orders:read", "tokens:read"]);
        assert_eq!(p.expires_at.as_deref(), Some("2027-01-01T00:00:00Z"));
        assert_eq!(p.allowed_ips, ["10.0.0.0/8", "2001:db8::/32"]);
        assert_eq!(
            Value::Object(p.metadata.clone()),
            json!({"team": "billing", "env": "prod"})
        );
        assert_eq!(p.route.as_deref(), Some("GET /orders/{id}"));
        assert_eq!(p.required_scopes, ["orders:read"]);
        assert_eq!(p.context_version, "1");
        assert_eq!(p.path(), "/orders/0190a5c4");
    }

    #[test]
    fn a_rest_request_gives_the_same_fields_from_its_authorizer() {
        let p = Principal::from_request(&request(REST_API)).unwrap();
        assert_eq!(
            (p.tenant_id.as_str(), p.user_id.as_str()),
            ("globex", "bob")
        );
        assert_eq!(p.scopes, ["orders:write"]);
        assert_eq!(p.expires_at, None);
        assert!(p.allowed_ips.is_empty() && p.metadata.is_empty());
        assert_eq!(p.route.as_deref(), Some("POST /orders"));
        assert_eq!(p.required_scopes, ["orders:write"]);
        // lambda_http puts a REST stage in the path, as the token service's problems show it.
        assert_eq!(p.path(), "/prod/orders");
    }

    #[test]
    fn scopes_are_checked_exactly() {
        let p = Principal::from_request(&request(HTTP_API)).unwrap();
        assert!(p.has_scope("orders:read"));
        assert!(!p.has_scope("orders"));
        assert!(!p.has_scope("orders:write"));
        assert_eq!(p.require_scope("orders:read"), Ok(()));
        assert_eq!(p.require_any(&["orders:admin", "orders:read"]), Ok(()));
        assert!(p.require_any(&[]).is_err());
    }

    #[test]
    fn a_missing_scope_is_a_403_naming_it_at_the_request_path() {
        let p = Principal::from_request(&request(HTTP_API)).unwrap();
        let problem = p.require_scope("orders:write").unwrap_err();
        assert_eq!(
            problem,
            Problem::missing_scope("orders:write").at("/orders/0190a5c4")
        );
        let resp = problem.into_response();
        assert_eq!(resp.status(), 403);
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
        let body: Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
        assert_eq!(
            body,
            json!({"type": "/problems/missing-scope", "title": "Missing scope", "status": 403,
                   "detail": "this request needs the `orders:write` scope",
                   "instance": "/orders/0190a5c4"})
        );
        let any = p
            .require_any(&["orders:write", "orders:admin"])
            .unwrap_err();
        assert_eq!(any.status, 403);
        assert!(any.detail.contains("`orders:write`, `orders:admin`"));
    }

    #[test]
    fn no_context_is_a_401_in_either_shape() {
        for event in [HTTP_API, REST_API] {
            let err = Principal::from_request(&with_context(event, Value::Null)).unwrap_err();
            assert_eq!(err.status, 401, "{event}");
            assert_eq!(err.kind, "unauthorized");
        }
        let mut e: Value = serde_json::from_str(HTTP_API).unwrap();
        e["requestContext"]
            .as_object_mut()
            .unwrap()
            .remove("authorizer");
        let err = Principal::from_request(&request(&e.to_string())).unwrap_err();
        assert_eq!(
            (err.status, err.instance.as_str()),
            (401, "/orders/0190a5c4")
        );
    }

    #[test]
    fn a_context_without_tenant_user_or_token_is_a_401() {
        for missing in ["tenant_id", "user_id", "token_id"] {
            let mut ctx: Value = serde_json::from_str::<Value>(HTTP_API).unwrap()["requestContext"]
                ["authorizer"]["lambda"]
                .clone();
            ctx[missing] = json!("");
            let err = Principal::from_request(&with_context(HTTP_API, ctx)).unwrap_err();
            assert_eq!(err.status, 401, "{missing}");
        }
    }

    #[test]
    fn the_minimal_context_reads_with_defaults() {
        let ctx = json!({"tenant_id": "acme", "user_id": "alice", "token_id": "t1"});
        let p = Principal::from_request(&with_context(REST_API, ctx)).unwrap();
        assert!(p.scopes.is_empty() && p.metadata.is_empty() && p.required_scopes.is_empty());
        assert_eq!((&p.route, &p.expires_at), (&None, &None));
        assert_eq!(p.context_version, CONTEXT_VERSION);
        assert!(!p.has_scope(""));
    }

    #[test]
    fn a_context_this_crate_cannot_read_is_a_500_not_a_guess() {
        let base = json!({"tenant_id": "acme", "user_id": "alice", "token_id": "t1"});
        let mut later = base.clone();
        later["context_version"] = json!("2");
        let mut bad_metadata = base.clone();
        bad_metadata["metadata"] = json!("[1, 2]");
        for ctx in [later, bad_metadata] {
            let err = Principal::from_request(&with_context(HTTP_API, ctx)).unwrap_err();
            assert_eq!((err.status, err.kind), (500, "internal-error"));
        }
    }
}
