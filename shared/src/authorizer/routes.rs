//! Route-scope declarations: the document a consumer API's stack writes to SSM (one per
//! API), parsed and checked once per refresh, then matched per request without I/O.
//!
//! ```json
//! {"version": 1, "default": "deny",
//!  "routes": {"GET /orders": {"any_of": ["orders:read"]}, "POST /orders": {"all_of": ["orders:write"]},
//!             "GET /orders/{id}": {"any_of": ["orders:read"]}, "ANY /health": {}}}
//! ```
//!
//! - `limits` says how a request over its token's rate limit or quota is answered: `deny`
//!   (when absent) refuses it at the edge (API Gateway's `403`, which cannot say why); `context`
//!   lets it through with the verdict in the authorizer context (`usage`, `retry_after`,
//!   `ratelimit_policy`, `ratelimit`), for an integration that answers `429` itself (the
//!   `api-tokens-consumer` crate's `UsageVerdict`, and this service's own API).
//! - A key is `METHOD /path` as an HTTP API's `routeKey` (`ANY`, `{param}` and a final
//!   `{proxy+}` allowed) or `$default`. A requirement is `any_of` (at least one), `all_of`
//!   (every one), both, or `{}` (any valid token). `default` (routes not listed) is `deny`
//!   (when absent) or `authenticated`.
//! - HTTP APIs match `routeKey` exactly ([`RouteTable::http_route`]). REST APIs match the
//!   method ARN's method and path segment by segment, most specific first
//!   ([`RouteTable::rest_route`]).
//! - A REST answer is a policy over every declared route ([`RestPolicy`]), so the answer API
//!   Gateway caches is right for every method of the API. An IAM `*` spans `/`, so where
//!   declared templates overlap (`GET /orders/{id}` and `GET /orders/special`) the cached
//!   policy follows the broader one; the request that produced it is always decided by the
//!   most specific route.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use crate::authorizer::policy::{MethodArn, RestPolicy};
use crate::domain::scope::ScopeCatalog;

/// Largest declaration read (SSM's limit for a standard parameter).
pub const MAX_DECLARATION_BYTES: usize = 4096;

/// Methods a route key may name.
const METHODS: [&str; 8] = [
    "ANY", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS",
];

/// Why a declaration was refused (the whole API is then refused).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeclarationError {
    /// Over [`MAX_DECLARATION_BYTES`].
    #[error("declaration is over {MAX_DECLARATION_BYTES} bytes")]
    TooLarge,
    /// Not the JSON shape (unknown fields included).
    #[error("declaration is not valid: {0}")]
    Shape(String),
    /// `version` other than 1.
    #[error("declaration version {0} is not supported (1 is)")]
    Version(u64),
    /// `default` other than `deny` or `authenticated`.
    #[error("default must be \"deny\" or \"authenticated\", not {0:?}")]
    Default(String),
    /// `limits` other than `deny` or `context`.
    #[error("limits must be \"deny\" or \"context\", not {0:?}")]
    Limits(String),
    /// A route key that is not `METHOD /path` or `$default`.
    #[error("route key {0:?} is not `METHOD /path` or `$default`")]
    RouteKey(String),
    /// A scope that is not a scope, or an empty list.
    #[error("route {route:?}: {problem}")]
    Requirement {
        /// The route key.
        route: String,
        /// What is wrong.
        problem: String,
    },
}

/// What happens to a route the declaration does not list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlisted {
    /// Refused (the default).
    Deny,
    /// Any valid token; the integration checks scopes itself.
    Authenticated,
}

/// How a request over its token's rate limit or quota is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverLimit {
    /// Refused by the authorizer (the default): API Gateway answers `403`.
    Deny,
    /// Allowed, with the verdict in the context: the integration answers `429`.
    Context,
}

/// The scopes a route requires.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirement {
    /// At least one of these (none listed: no condition).
    pub any_of: Vec<String>,
    /// Every one of these.
    pub all_of: Vec<String>,
}

impl Requirement {
    /// Whether a token with `scopes` meets it.
    pub fn met_by(&self, scopes: &[String]) -> bool {
        let has = |s: &String| scopes.contains(s);
        (self.any_of.is_empty() || self.any_of.iter().any(has)) && self.all_of.iter().all(has)
    }

    /// Every scope named, `any_of` first, each once (the context's `required_scopes`).
    pub fn scopes(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::with_capacity(self.any_of.len() + self.all_of.len());
        for s in self.any_of.iter().chain(&self.all_of) {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
        out
    }
}

/// One segment of a path template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Static(String),
    /// `{x}`: one segment.
    Param,
    /// `{proxy+}` (last only): one or more segments.
    Proxy,
}

impl Segment {
    /// Static beats `{x}` beats `{proxy+}`.
    fn rank(&self) -> u8 {
        match self {
            Self::Static(_) => 2,
            Self::Param => 1,
            Self::Proxy => 0,
        }
    }
}

/// A declared route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The key as declared (`GET /orders/{id}`, `$default`): the context's `route`.
    pub key: String,
    /// What it requires.
    pub requirement: Requirement,
    /// The method; `None` for `ANY` and `$default`.
    method: Option<String>,
    /// The path template; `None` for `$default`.
    path: Option<Vec<Segment>>,
}

impl Route {
    fn parse(key: &str, requirement: Requirement) -> Result<Self, DeclarationError> {
        let bad = || DeclarationError::RouteKey(key.to_string());
        if key == "$default" {
            return Ok(Self {
                key: key.into(),
                requirement,
                method: None,
                path: None,
            });
        }
        let (method, path) = key.split_once(' ').ok_or_else(bad)?;
        if !METHODS.contains(&method) || !path.starts_with('/') {
            return Err(bad());
        }
        let raw: Vec<&str> = match &path[1..] {
            "" => Vec::new(),
            rest => rest.split('/').collect(),
        };
        let mut segments = Vec::with_capacity(raw.len());
        for (i, seg) in raw.iter().enumerate() {
            segments.push(
                match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name)
                        if name.ends_with('+')
                            && i + 1 == raw.len()
                            && param(&name[..name.len() - 1]) =>
                    {
                        Segment::Proxy
                    }
                    Some(name) if param(name) => Segment::Param,
                    Some(_) => return Err(bad()),
                    None if literal(seg) => Segment::Static(seg.to_string()),
                    None => return Err(bad()),
                },
            );
        }
        Ok(Self {
            key: key.into(),
            requirement,
            method: (method != "ANY").then(|| method.to_string()),
            path: Some(segments),
        })
    }

    /// Whether it matches a REST request's `method` and path `segments`.
    fn matches(&self, method: &str, segments: &[&str]) -> bool {
        if self.method.as_deref().is_some_and(|m| m != method) {
            return false;
        }
        let Some(template) = &self.path else {
            return true;
        };
        let mut i = 0;
        for seg in template {
            match seg {
                Segment::Proxy => return segments.len() > i,
                Segment::Param if segments.get(i).is_some_and(|s| !s.is_empty()) => {}
                Segment::Static(s) if segments.get(i) == Some(&s.as_str()) => {}
                _ => return false,
            }
            i += 1;
        }
        i == segments.len()
    }

    /// Whether it is more specific than `other` (both matching one request): path first
    /// (segment by segment), then a declared method over `ANY`; `$default` is least.
    fn beats(&self, other: &Self) -> bool {
        let (Some(a), Some(b)) = (&self.path, &other.path) else {
            return self.path.is_some();
        };
        for (x, y) in a.iter().zip(b) {
            if x.rank() != y.rank() {
                return x.rank() > y.rank();
            }
        }
        if a.len() != b.len() {
            return a.len() > b.len();
        }
        self.method.is_some() && other.method.is_none()
    }

    /// Its resource in a REST policy, for the API and stage of `arn`: the method (`*` for
    /// `ANY`) and the path with each parameter as `*`; `$default` is every method and path.
    pub fn policy_arn(&self, arn: &MethodArn<'_>) -> String {
        let base = format!("{}:{}/{}", arn.prefix, arn.api_id, arn.stage);
        let Some(template) = &self.path else {
            return format!("{base}/*/*");
        };
        let path: Vec<&str> = template
            .iter()
            .map(|s| match s {
                Segment::Static(s) => s.as_str(),
                Segment::Param | Segment::Proxy => "*",
            })
            .collect();
        format!(
            "{base}/{}/{}",
            self.method.as_deref().unwrap_or("*"),
            path.join("/")
        )
    }
}

/// A parameter's name: `[A-Za-z0-9_.-]+`.
fn param(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// A static segment: printable ASCII without the characters policies and templates give
/// meaning to.
fn literal(seg: &str) -> bool {
    !seg.is_empty()
        && seg
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"{}*?#/".contains(&b))
}

/// The declaration as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    version: u64,
    #[serde(default)]
    default: Option<String>,
    #[serde(default)]
    limits: Option<String>,
    #[serde(default)]
    routes: BTreeMap<String, RawRequirement>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequirement {
    #[serde(default)]
    any_of: Option<Vec<String>>,
    #[serde(default)]
    all_of: Option<Vec<String>>,
}

/// One API's declarations, ready to match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTable {
    /// What an unlisted route gets.
    pub unlisted: Unlisted,
    /// How a request over its token's limits is answered.
    pub over_limit: OverLimit,
    routes: Vec<Route>,
    by_key: HashMap<String, usize>,
}

impl RouteTable {
    /// Parses and checks a declaration; any fault refuses all of it.
    pub fn parse(text: &str) -> Result<Self, DeclarationError> {
        if text.len() > MAX_DECLARATION_BYTES {
            return Err(DeclarationError::TooLarge);
        }
        let raw: Raw =
            serde_json::from_str(text).map_err(|e| DeclarationError::Shape(e.to_string()))?;
        if raw.version != 1 {
            return Err(DeclarationError::Version(raw.version));
        }
        let unlisted = match raw.default.as_deref() {
            None | Some("deny") => Unlisted::Deny,
            Some("authenticated") => Unlisted::Authenticated,
            Some(other) => return Err(DeclarationError::Default(other.into())),
        };
        let over_limit = match raw.limits.as_deref() {
            None | Some("deny") => OverLimit::Deny,
            Some("context") => OverLimit::Context,
            Some(other) => return Err(DeclarationError::Limits(other.into())),
        };
        let mut routes = Vec::with_capacity(raw.routes.len());
        for (key, r) in raw.routes {
            let requirement = Requirement {
                any_of: scope_list(&key, "any_of", r.any_of)?,
                all_of: scope_list(&key, "all_of", r.all_of)?,
            };
            routes.push(Route::parse(&key, requirement)?);
        }
        let by_key = routes
            .iter()
            .enumerate()
            .map(|(i, r)| (r.key.clone(), i))
            .collect();
        Ok(Self {
            unlisted,
            over_limit,
            routes,
            by_key,
        })
    }

    /// Every declared route.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The route an HTTP API request matched: its `routeKey`, exactly.
    pub fn http_route(&self, route_key: &str) -> Option<&Route> {
        self.by_key.get(route_key).map(|&i| &self.routes[i])
    }

    /// The most specific route matching a REST request's method and path (the method ARN's
    /// part after the method, without a leading `/`).
    pub fn rest_route(&self, method: &str, path: &str) -> Option<&Route> {
        let segments: Vec<&str> = match path {
            "" => Vec::new(),
            p => p.split('/').collect(),
        };
        self.routes
            .iter()
            .filter(|r| r.matches(method, &segments))
            .fold(None, |best: Option<&Route>, r| match best {
                Some(b) if !r.beats(b) => Some(b),
                _ => Some(r),
            })
    }

    /// The REST policy for a token with `scopes`, for the API and stage of `arn`.
    pub fn rest_policy(&self, arn: &MethodArn<'_>, scopes: &[String]) -> RestPolicy {
        let mut policy = RestPolicy::default();
        let add = |list: &mut Vec<String>, resource: String| {
            if !list.contains(&resource) {
                list.push(resource);
            }
        };
        for route in &self.routes {
            let met = route.requirement.met_by(scopes);
            match (self.unlisted, met) {
                (Unlisted::Deny, true) => add(&mut policy.allow, route.policy_arn(arn)),
                (Unlisted::Authenticated, false) => add(&mut policy.deny, route.policy_arn(arn)),
                _ => {}
            }
        }
        if self.unlisted == Unlisted::Authenticated {
            policy.allow = vec![arn.api_wide()];
        }
        policy
    }
}

/// A requirement's list: absent is none; present must be non-empty valid scopes.
fn scope_list(
    route: &str,
    field: &str,
    list: Option<Vec<String>>,
) -> Result<Vec<String>, DeclarationError> {
    let problem = |problem: String| DeclarationError::Requirement {
        route: route.into(),
        problem,
    };
    let Some(list) = list else {
        return Ok(Vec::new());
    };
    if list.is_empty() {
        return Err(problem(format!("{field} is empty")));
    }
    if let Some(bad) = list
        .iter()
        .find(|s| ScopeCatalog::with_extra([s.as_str()]).is_err())
    {
        return Err(problem(format!("{bad:?} is not a scope")));
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDERS: &str = r#"{"version": 1, "default": "deny", "routes": {
        "GET /orders": {"any_of": ["orders:read", "orders:admin"]},
        "POST /orders": {"all_of": ["orders:write"]},
        "GET /orders/{id}": {"any_of": ["orders:read"]},
        "GET /orders/special": {"all_of": ["orders:admin"]},
        "DELETE /orders/{id}": {"any_of": ["orders:admin"], "all_of": ["orders:write"]},
        "ANY /orders/{id}/items/{proxy+}": {"any_of": ["orders:read"]},
        "GET /orders/{id}/items/{proxy+}": {"any_of": ["orders:admin"]},
        "ANY /health": {},
        "GET /": {}
    }}"#;

    fn scopes(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    fn rest<'a>(t: &'a RouteTable, method: &str, path: &str) -> Option<&'a str> {
        t.rest_route(method, path).map(|r| r.key.as_str())
    }

    #[test]
    fn requirements_are_any_of_all_of_both_or_nothing() {
        let t = RouteTable::parse(ORDERS).unwrap();
        let met = |key: &str, s: &[&str]| t.http_route(key).unwrap().requirement.met_by(&scopes(s));
        assert!(met("GET /orders", &["orders:admin"]));
        assert!(!met("GET /orders", &["orders:write"]));
        assert!(met("POST /orders", &["orders:write"]));
        assert!(!met("POST /orders", &[]));
        assert!(met(
            "DELETE /orders/{id}",
            &["orders:admin", "orders:write"]
        ));
        assert!(!met("DELETE /orders/{id}", &["orders:admin"]));
        assert!(!met("DELETE /orders/{id}", &["orders:write"]));
        assert!(met("ANY /health", &[]));
        assert_eq!(
            t.http_route("DELETE /orders/{id}")
                .unwrap()
                .requirement
                .scopes(),
            scopes(&["orders:admin", "orders:write"])
        );
        assert_eq!(t.http_route("GET /nothing"), None);
        assert_eq!(t.unlisted, Unlisted::Deny);
    }

    #[test]
    fn rest_paths_match_the_most_specific_route() {
        let t = RouteTable::parse(ORDERS).unwrap();
        assert_eq!(rest(&t, "GET", "orders"), Some("GET /orders"));
        assert_eq!(rest(&t, "GET", "orders/7"), Some("GET /orders/{id}"));
        assert_eq!(
            rest(&t, "GET", "orders/special"),
            Some("GET /orders/special")
        );
        assert_eq!(rest(&t, "PUT", "orders/7"), None);
        assert_eq!(rest(&t, "GET", "orders/7/extra"), None);
        assert_eq!(rest(&t, "GET", "orders/"), None);
        assert_eq!(
            rest(&t, "POST", "orders/7/items/a/b"),
            Some("ANY /orders/{id}/items/{proxy+}")
        );
        assert_eq!(
            rest(&t, "GET", "orders/7/items/a/b"),
            Some("GET /orders/{id}/items/{proxy+}")
        );
        assert_eq!(rest(&t, "GET", "orders/7/items"), None);
        assert_eq!(rest(&t, "HEAD", "health"), Some("ANY /health"));
        assert_eq!(rest(&t, "GET", ""), Some("GET /"));
        let with_default = RouteTable::parse(
            r#"{"version": 1, "routes": {"$default": {}, "ANY /{proxy+}": {"any_of": ["a:b"]}, "GET /a": {}}}"#,
        )
        .unwrap();
        assert_eq!(rest(&with_default, "GET", "a"), Some("GET /a"));
        assert_eq!(rest(&with_default, "GET", "b/c"), Some("ANY /{proxy+}"));
        assert_eq!(rest(&with_default, "GET", ""), Some("$default"));
    }

    #[test]
    fn policy_arns_put_a_star_for_each_parameter_and_for_any() {
        let t = RouteTable::parse(ORDERS).unwrap();
        let arn = MethodArn::parse("arn:aws:execute-api:r:1:abc/prod/GET/orders/7").unwrap();
        let of = |key: &str| t.http_route(key).unwrap().policy_arn(&arn);
        let base = "arn:aws:execute-api:r:1:abc/prod";
        assert_eq!(of("GET /orders/{id}"), format!("{base}/GET/orders/*"));
        assert_eq!(
            of("ANY /orders/{id}/items/{proxy+}"),
            format!("{base}/*/orders/*/items/*")
        );
        assert_eq!(of("GET /"), format!("{base}/GET/"));
        let d = RouteTable::parse(r#"{"version": 1, "routes": {"$default": {}}}"#).unwrap();
        assert_eq!(d.routes()[0].policy_arn(&arn), format!("{base}/*/*"));
    }

    #[test]
    fn a_rest_policy_lists_the_met_routes_or_denies_the_unmet_ones() {
        let arn = MethodArn::parse("arn:aws:execute-api:r:1:abc/prod/GET/orders").unwrap();
        let base = "arn:aws:execute-api:r:1:abc/prod";
        let t = RouteTable::parse(ORDERS).unwrap();
        let p = t.rest_policy(&arn, &scopes(&["orders:read"]));
        assert!(p.deny.is_empty());
        assert!(p.allows(&format!("{base}/GET/orders")));
        assert!(p.allows(&format!("{base}/GET/orders/7")));
        assert!(!p.allows(&format!("{base}/POST/orders")));
        assert!(!p.allows(&format!("{base}/GET/customers")));
        let open = r#"{"version": 1, "default": "authenticated", "routes": {"POST /orders": {"all_of": ["orders:write"]}}}"#;
        let p = RouteTable::parse(open)
            .unwrap()
            .rest_policy(&arn, &scopes(&["orders:read"]));
        assert_eq!(p.allow, [format!("{base}/*")]);
        assert_eq!(p.deny, [format!("{base}/POST/orders")]);
        assert!(p.allows(&format!("{base}/GET/customers")));
        assert!(!p.allows(&format!("{base}/POST/orders")));
    }

    #[test]
    fn a_faulty_declaration_is_refused_whole_and_named() {
        let big = format!(
            r#"{{"version": 1, "routes": {{}}, "x": "{}"}}"#,
            "a".repeat(5000)
        );
        for (text, expected) in [
            ("not json", "not valid"),
            (r#"{"routes": {}}"#, "missing field `version`"),
            (r#"{"version": 2}"#, "version 2"),
            (r#"{"version": 1, "default": "allow"}"#, "default must be"),
            (r#"{"version": 1, "extra": 1}"#, "unknown field"),
            (
                r#"{"version": 1, "routes": {"GET orders": {}}}"#,
                "route key",
            ),
            (
                r#"{"version": 1, "routes": {"FETCH /orders": {}}}"#,
                "route key",
            ),
            (
                r#"{"version": 1, "routes": {"GET /{proxy+}/x": {}}}"#,
                "route key",
            ),
            (r#"{"version": 1, "routes": {"GET /a*": {}}}"#, "route key"),
            (
                r#"{"version": 1, "routes": {"GET /a//b": {}}}"#,
                "route key",
            ),
            (r#"{"version": 1, "routes": {"GET /{}": {}}}"#, "route key"),
            (
                r#"{"version": 1, "routes": {"GET /a": {"any_of": []}}}"#,
                "any_of is empty",
            ),
            (
                r#"{"version": 1, "routes": {"GET /a": {"all_of": ["no spaces"]}}}"#,
                "is not a scope",
            ),
            (
                r#"{"version": 1, "routes": {"GET /a": {"one_of": ["a"]}}}"#,
                "unknown field",
            ),
            (big.as_str(), "over 4096 bytes"),
        ] {
            let err = RouteTable::parse(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
        let minimal = RouteTable::parse(r#"{"version": 1, "default": "authenticated"}"#).unwrap();
        assert_eq!(
            (minimal.unlisted, minimal.routes().len()),
            (Unlisted::Authenticated, 0)
        );
    }
}
