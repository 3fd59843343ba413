//! The API Gateway Lambda authorizer: turns `Authorization: Bearer <token>` into an allow or
//! deny, and hands the verified principal to the integration as authorizer context
//! (version 1, the same keys for both API types: [`crate::domain::principal`]).
//!
//! - HTTP API, payload 2.0 with simple responses: `{"isAuthorized": bool, "context": {...}}`.
//! - REST API, `TOKEN` or `REQUEST` authorizer: an IAM policy over every method of the API
//!   and stage ([`policy`]), so the answer API Gateway caches (300 s by default) is right for
//!   the token's next call to any method. A refused request gets a `Deny` of the whole API
//!   and stage, which API Gateway answers with 403. A refusal is an answer, not a function
//!   error: only real failures count in the functions' `Errors` metric and its alarm. (A
//!   request without the identity source is answered 401 by API Gateway itself.)
//!
//! Route scopes at the edge: with `ROUTE_SCOPES_PARAMETER_PREFIX` set, each API's
//! declarations ([`routes`], read and cached by [`declarations`]) decide which routes a token
//! may call: an HTTP API by `routeKey` and `apiId`, a REST API by its method ARN. An API
//! with no declaration, or one that does not parse, is refused entirely. Unset (the dev
//! server, the tests), any valid token is allowed, as before.
//!
//! A token with `allowed_ips` is allowed only from those blocks: the source address is
//! `requestContext.http.sourceIp` (HTTP API) or `requestContext.identity.sourceIp` (REST
//! `REQUEST` authorizers). REST `TOKEN` authorizers see no address, so such tokens fail there.
//!
//! A token with a rate limit or a quota is counted once its request is otherwise allowed
//! ([`TokenService::admit`]): one conditional `UpdateItem` per limit, shared by every warm
//! instance. Over a limit, the API's declaration decides (`limits`, [`OverLimit`]): `deny`
//! refuses at the edge (an HTTP API answers `403`; a REST API's deny carries the verdict in
//! its context, for a gateway response to show), `context` allows the request with the
//! verdict in the context, for the integration to answer `429`. Without route checks (the
//! dev server) it is `context`, as this service's own API declares. API Gateway's authorizer
//! cache must be off (`AuthorizerCacheTtlSeconds` 0, REST `authorizerResultTtlInSeconds` 0)
//! for limits to count every request: a cached answer never reaches the authorizer.
//!
//! A DynamoDB failure, or SSM failing with nothing cached, is an error (API Gateway answers
//! 500), never a silent "invalid token".

pub mod declarations;
pub mod policy;
pub mod routes;

use std::time::Duration;

use serde_json::{json, Value};

use crate::authorizer::declarations::{DeclarationSource, Declarations, Lookup, SsmSource};
use crate::authorizer::policy::{rest_answer, rest_deny, MethodArn};
use crate::authorizer::routes::{OverLimit, Route, RouteTable, Unlisted};
use crate::config::{Budget, Config, ConfigError, Keys};
use crate::domain::principal::Principal;
use crate::domain::usage::{Usage, Verdict};
use crate::service::{TokenService, VerifyError};
use crate::store::{DynamoStore, TokenStore};

/// Why the authorizer produced no answer.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizerError {
    /// The event is not an API Gateway authorizer event we know.
    #[error("unsupported authorizer event: {0}")]
    UnsupportedEvent(&'static str),
    /// The store failed.
    #[error("verification unavailable: {0}")]
    Store(#[from] crate::store::StoreError),
    /// The declarations could not be read, and none were cached.
    #[error(transparent)]
    Declarations(#[from] declarations::SourceError),
    /// DynamoDB or SSM did not answer within the authorizer's budget ([`Budget::AUTHORIZER`]).
    #[error("no answer within the authorizer's budget of {0:?}")]
    OutOfTime(Duration),
}

/// The token in an `Authorization` value: `Bearer <token>` (scheme case-insensitive).
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn header<'a>(event: &'a Value, name: &str) -> Option<&'a str> {
    event
        .get("headers")?
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))?
        .1
        .as_str()
}

/// The message of the log line written for every denial; `template.yaml`'s metric filter
/// counts these lines for the denials alarm.
pub const DENIED: &str = "authorization denied";

/// The authorizer as the function runs it: the service, and the route declarations when
/// `ROUTE_SCOPES_PARAMETER_PREFIX` is set.
pub struct Authorizer<S, D> {
    /// Verifies tokens.
    pub service: TokenService<S>,
    /// Route-scope declarations; `None`: routes are not checked.
    pub routes: Option<Declarations<D>>,
}

impl Authorizer<DynamoStore, SsmSource> {
    /// Built once per cold start from the environment: the `keys` it uses (the secret-hash
    /// key, from SSM where named), DynamoDB, and the declarations read through SSM.
    pub async fn from_env(keys: Keys) -> Result<Self, ConfigError> {
        let sdk = crate::config::lambda_sdk_config(Budget::AUTHORIZER)?;
        let config = Config::load(&sdk, keys).await?;
        let store = DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            config.table_name.clone(),
        );
        Ok(Self {
            service: TokenService::new(store, &config),
            routes: declarations_from(&config, SsmSource(aws_sdk_ssm::Client::new(&sdk))),
        })
    }
}

/// The declarations `config` asks for, read from `source`; `None` when route checks are off.
pub fn declarations_from<D: DeclarationSource>(
    config: &Config,
    source: D,
) -> Option<Declarations<D>> {
    let prefix = config.route_scopes_parameter_prefix.clone()?;
    let refresh = Duration::from_secs(config.route_scopes_refresh_seconds.into());
    Some(Declarations::new(source, prefix, refresh))
}

impl<S: TokenStore, D: DeclarationSource> Authorizer<S, D> {
    /// Handles one authorizer event of either API type.
    pub async fn handle(&self, event: Value) -> Result<Value, AuthorizerError> {
        handle_with(&self.service, self.routes.as_ref(), event).await
    }
}

/// Handles one authorizer event of either API type without route checks (any valid token
/// is allowed): the dev server, the benchmarks.
pub async fn handle<S: TokenStore>(
    service: &TokenService<S>,
    event: Value,
) -> Result<Value, AuthorizerError> {
    handle_with::<S, SsmSource>(service, None, event).await
}

/// Handles one authorizer event of either API type, checking routes against `routes`;
/// fails fast ([`AuthorizerError::OutOfTime`]) when AWS is slower than
/// [`Budget::AUTHORIZER`] allows, so API Gateway answers 500 within it.
pub async fn handle_with<S: TokenStore, D: DeclarationSource>(
    service: &TokenService<S>,
    routes: Option<&Declarations<D>>,
    event: Value,
) -> Result<Value, AuthorizerError> {
    let within = Budget::AUTHORIZER.in_effect().answer;
    let answer = async {
        if event.get("version").and_then(Value::as_str) == Some("2.0") {
            return http_api(service, routes, &event).await;
        }
        rest_api(service, routes, &event).await
    };
    tokio::time::timeout(within, answer)
        .await
        .unwrap_or(Err(AuthorizerError::OutOfTime(within)))
}

/// Logs a refusal (never the token or its scopes) and returns `None`.
fn denied<T>(reason: &str, api: &str, route: &str) -> Option<T> {
    tracing::info!(reason, api, route, "{DENIED}");
    None
}

/// What the declarations say before the token is looked at: `Ok(table)` to go on (`None`:
/// route checks off), `Err(reason)` to refuse.
async fn declared<D: DeclarationSource>(
    routes: Option<&Declarations<D>>,
    api_id: &str,
) -> Result<Result<Option<std::sync::Arc<RouteTable>>, &'static str>, AuthorizerError> {
    let Some(routes) = routes else {
        return Ok(Ok(None));
    };
    Ok(match routes.lookup(api_id).await? {
        Lookup::Declared(table) => Ok(Some(table)),
        Lookup::Missing => Err("no route declarations for api"),
        Lookup::Invalid => Err("route declarations invalid"),
    })
}

/// A request's route, when the table lets it on to the token check: `Ok(None)` for an
/// unlisted route under `default: authenticated`, `Err` for one under `default: deny`.
fn listed<'a>(table: &RouteTable, route: Option<&'a Route>) -> Result<Option<&'a Route>, ()> {
    match (route, table.unlisted) {
        (Some(r), _) => Ok(Some(r)),
        (None, Unlisted::Authenticated) => Ok(None),
        (None, Unlisted::Deny) => Err(()),
    }
}

/// The context for `p` on `route` (none matched: empty route and scopes), with the verdict
/// on its limits when it has any.
fn context(p: &Principal, route: Option<&Route>, usage: Option<&Usage>) -> Value {
    let mut ctx = match route {
        Some(r) => p.to_context_for(&r.key, &r.requirement.scopes()),
        None => p.to_context(),
    };
    for (k, v) in usage.map(Usage::to_context).into_iter().flatten() {
        ctx.insert(k.into(), Value::from(v));
    }
    json!(ctx)
}

/// Counts the request of `p`, which is otherwise allowed, against its token's limits:
/// `Ok(Ok(usage))` to allow it (`usage` for the context), `Ok(Err(usage))` to refuse it
/// (over a limit, and `over` says refuse).
async fn metered<S: TokenStore>(
    service: &TokenService<S>,
    p: &Principal,
    over: OverLimit,
) -> Result<Result<Option<Usage>, Usage>, AuthorizerError> {
    let usage = service.admit(p, crate::support::time::now()).await?;
    Ok(match usage {
        Some(u) if u.verdict != Verdict::Admitted && over == OverLimit::Deny => {
            tracing::info!(reason = u.verdict.as_str(), "{DENIED}");
            Err(u)
        }
        usage => Ok(usage),
    })
}

/// How `table`'s API answers a request over its limits (no route checks: in the context).
fn over_limit(table: Option<&std::sync::Arc<RouteTable>>) -> OverLimit {
    table.map_or(OverLimit::Context, |t| t.over_limit)
}

/// Verifies the presented token; `Ok(None)` means "refused" (reason logged, token not).
async fn principal<S: TokenStore>(
    service: &TokenService<S>,
    authorization: Option<&str>,
    source_ip: Option<std::net::IpAddr>,
) -> Result<Option<Principal>, AuthorizerError> {
    let Some(token) = authorization.and_then(bearer_token) else {
        tracing::info!(reason = "no bearer token", "{DENIED}");
        return Ok(None);
    };
    match service.verify_cached(token, source_ip).await {
        Ok(p) => Ok(Some(p)),
        Err(VerifyError::Rejected(reason)) => {
            tracing::info!(reason = %reason, "{DENIED}");
            Ok(None)
        }
        Err(VerifyError::Store(e)) => Err(e.into()),
    }
}

/// An HTTP API (payload 2.0) event: the route is `routeKey`, exactly.
async fn http_api<S: TokenStore, D: DeclarationSource>(
    service: &TokenService<S>,
    routes: Option<&Declarations<D>>,
    event: &Value,
) -> Result<Value, AuthorizerError> {
    let text = |pointer: &str| event.pointer(pointer).and_then(Value::as_str);
    let authorization = header(event, "authorization").or_else(|| text("/identitySource/0"));
    let source_ip = text("/requestContext/http/sourceIp").and_then(|ip| ip.parse().ok());
    let api_id = text("/requestContext/apiId").unwrap_or_default();
    let route_key = text("/routeKey").unwrap_or_default();
    let verdict = async {
        let table = match declared(routes, api_id).await? {
            Ok(table) => table,
            Err(reason) => return Ok(denied(reason, api_id, route_key)),
        };
        let route = match &table {
            None => None,
            Some(t) => match listed(t, t.http_route(route_key)) {
                Ok(route) => route,
                Err(()) => return Ok(denied("route not declared", api_id, route_key)),
            },
        };
        let Some(p) = principal(service, authorization, source_ip).await? else {
            return Ok(None);
        };
        if route.is_some_and(|r| !r.requirement.met_by(&p.scopes)) {
            return Ok(denied("missing scope for route", api_id, route_key));
        }
        match metered(service, &p, over_limit(table.as_ref())).await? {
            Ok(usage) => Ok::<_, AuthorizerError>(Some(context(&p, route, usage.as_ref()))),
            Err(_) => Ok(None),
        }
    };
    Ok(match verdict.await? {
        Some(ctx) => json!({ "isAuthorized": true, "context": ctx }),
        None => json!({ "isAuthorized": false, "context": {} }),
    })
}

/// A REST event (`TOKEN` or `REQUEST`): the route from the method ARN, the answer a policy
/// over every declared route (or the whole API and stage where routes are not checked).
async fn rest_api<S: TokenStore, D: DeclarationSource>(
    service: &TokenService<S>,
    routes: Option<&Declarations<D>>,
    event: &Value,
) -> Result<Value, AuthorizerError> {
    let method_arn =
        event
            .get("methodArn")
            .and_then(Value::as_str)
            .ok_or(AuthorizerError::UnsupportedEvent(
                "no version 2.0 and no methodArn",
            ))?;
    let authorization = match event.get("type").and_then(Value::as_str) {
        Some("TOKEN") => event.get("authorizationToken").and_then(Value::as_str),
        Some("REQUEST") => header(event, "authorization"),
        _ => {
            return Err(AuthorizerError::UnsupportedEvent(
                "type is neither TOKEN nor REQUEST",
            ))
        }
    };
    // REST `TOKEN` events carry no source address: a token with `allowed_ips` is refused there.
    let source_ip = event
        .pointer("/requestContext/identity/sourceIp")
        .and_then(Value::as_str)
        .and_then(|ip| ip.parse().ok());
    let deny = || rest_deny(method_arn);
    let Some(arn) = MethodArn::parse(method_arn) else {
        if routes.is_some() {
            return Ok(denied("method arn not understood", "", "").unwrap_or_else(deny));
        }
        // Routes not checked, an ARN of another shape: allowed as it is, as API Gateway named it.
        let Some(p) = principal(service, authorization, source_ip).await? else {
            return Ok(deny());
        };
        return Ok(match metered(service, &p, OverLimit::Context).await? {
            Ok(usage) => single_method_answer(&p, method_arn, usage.as_ref()),
            Err(u) => over_limit_deny(method_arn, &u),
        });
    };
    let (api, path) = (arn.api_id, arn.path);
    let table = match declared(routes, api).await? {
        Ok(table) => table,
        Err(reason) => return Ok(denied(reason, api, path).unwrap_or_else(deny)),
    };
    let route = match &table {
        None => None,
        Some(t) => match listed(t, t.rest_route(arn.method, path)) {
            Ok(route) => route,
            Err(()) => return Ok(denied("route not declared", api, path).unwrap_or_else(deny)),
        },
    };
    let Some(p) = principal(service, authorization, source_ip).await? else {
        return Ok(deny());
    };
    let policy = match &table {
        Some(t) => t.rest_policy(&arn, &p.scopes),
        None => policy::RestPolicy {
            allow: vec![arn.api_wide()],
            deny: Vec::new(),
        },
    };
    if route.is_some_and(|r| !r.requirement.met_by(&p.scopes)) || !policy.allows(method_arn) {
        return Ok(denied("missing scope for route", api, path).unwrap_or_else(deny));
    }
    Ok(
        match metered(service, &p, over_limit(table.as_ref())).await? {
            Ok(usage) => rest_answer(&p.user_id, &policy, context(&p, route, usage.as_ref())),
            Err(u) => over_limit_deny(method_arn, &u),
        },
    )
}

/// The allow of exactly `method_arn` (an ARN not of the method ARN shape).
fn single_method_answer(p: &Principal, method_arn: &str, usage: Option<&Usage>) -> Value {
    let policy = policy::RestPolicy {
        allow: vec![method_arn.to_string()],
        deny: Vec::new(),
    };
    rest_answer(&p.user_id, &policy, context(p, None, usage))
}

/// A REST deny of a request over its limits, the verdict in its context: a gateway response
/// (`ACCESS_DENIED`) can show `$context.authorizer.usage` and `retry_after`.
fn over_limit_deny(method_arn: &str, usage: &Usage) -> Value {
    let mut answer = rest_deny(method_arn);
    let ctx: serde_json::Map<String, Value> = usage
        .to_context()
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::from(v)))
        .collect();
    answer["context"] = Value::Object(ctx);
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_extracted_leniently_but_exactly() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer   abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("abc"), None);
    }

    /// Per-request cost of a route check: `cargo test -p api-tokens --lib route_check_cost
    /// -- --ignored --nocapture` (build with `--release` for the figure that matters).
    #[test]
    #[ignore]
    fn route_check_cost() {
        let mut routes = Vec::new();
        for r in ["orders", "customers", "invoices", "products", "shipments"] {
            routes.push(format!(
                r#""GET /{r}": {{"any_of": ["{r}:read", "{r}:admin"]}}"#
            ));
            routes.push(format!(r#""POST /{r}": {{"all_of": ["{r}:write"]}}"#));
            routes.push(format!(r#""GET /{r}/{{id}}": {{"any_of": ["{r}:read"]}}"#));
            routes.push(format!(
                r#""DELETE /{r}/{{id}}": {{"all_of": ["{r}:admin"]}}"#
            ));
        }
        let text = format!(r#"{{"version": 1, "routes": {{{}}}}}"#, routes.join(","));
        let t = RouteTable::parse(&text).unwrap();
        assert_eq!(t.routes().len(), 20);
        let held = vec!["shipments:read".to_string(), "tokens:read".to_string()];
        let n = 100_000;
        let time = |f: &dyn Fn() -> bool| {
            let start = std::time::Instant::now();
            let mut hits = 0;
            for _ in 0..n {
                hits += usize::from(std::hint::black_box(f()));
            }
            assert_eq!(hits, n);
            start.elapsed().as_secs_f64() * 1e6 / n as f64
        };
        let http = time(&|| {
            t.http_route(std::hint::black_box("GET /shipments/{id}"))
                .is_some_and(|r| r.requirement.met_by(&held))
        });
        let rest = time(&|| {
            t.rest_route("GET", std::hint::black_box("shipments/42"))
                .is_some_and(|r| r.requirement.met_by(&held))
        });
        let arn = MethodArn::parse("arn:aws:execute-api:r:1:abc/prod/GET/shipments/42").unwrap();
        let policy = time(&|| {
            let p = t.rest_policy(&arn, &held);
            p.allows("arn:aws:execute-api:r:1:abc/prod/GET/shipments/42")
        });
        println!(
            "route check, 20 routes, {n} checks: HTTP routeKey {http:.3} µs, REST method ARN {rest:.3} µs, REST policy built and checked {policy:.3} µs"
        );
    }
}
