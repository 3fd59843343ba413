//! An HTTP API's Lambda authorizer (payload format 2.0), as "Control access to HTTP APIs with
//! AWS Lambda authorizers" describes it.
//!
//! The function is invoked by its logical id, or by the model's `function_arn` when it is
//! another stack's (an imported alias ARN: serve with an [`crate::invoke::Router`]).
//!
//! Reproduced:
//! - Identity sources (`$request.header.X` case-insensitive, `$request.querystring.x`
//!   case-sensitive, `$context.<variable>`, `$stageVariables.x`) are evaluated first; when
//!   one is missing or empty the client gets 401 `{"message":"Unauthorized"}` and the
//!   function is not invoked.
//! - Simple responses: `{"isAuthorized": bool, "context": {..}}`; `false` is 403
//!   `{"message":"Forbidden"}`. Otherwise an IAM policy (`policyDocument`) evaluated against
//!   the route ARN: explicit or implicit deny is 403 `{"message":"Forbidden"}`.
//! - A function error, a timeout (the function's, or API Gateway's 10 s for an authorizer's
//!   response), or an answer of the wrong shape is 500 `{"message":"Internal Server Error"}`
//!   and is not cached.
//! - With a TTL, the answer (allow or deny, with its context; for a policy, the policy
//!   itself, evaluated anew against each request's route ARN) is cached by the
//!   identity-source values alone.
//! - The context reaches the integration unchanged as `requestContext.authorizer.lambda`
//!   (HTTP APIs keep numbers, booleans, lists and maps as they are).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{json, Value};

use super::event::{authorizer_event, ApiContext, RouteMatch};
use crate::apigw::cache::ResultCache;
use crate::apigw::policy::{Decision, PolicyDocument};
use crate::apigw::request::ApiRequest;
use crate::invoke::Invoke;
use crate::model::HttpAuthorizer;

/// API Gateway's limit on waiting for a Lambda authorizer's response (HTTP API quotas).
pub const AUTHORIZER_TIMEOUT: Duration = Duration::from_secs(10);

/// What the authorizer decided for one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Go on to the integration with this context.
    Allow(Value),
    /// 401: an identity source is missing.
    Unauthorized,
    /// 403: denied.
    Forbidden,
    /// 500: the authorizer failed or answered nonsense.
    Failed,
}

/// An authorizer's answer, as cached.
#[derive(Debug, Clone, PartialEq)]
pub enum AuthAnswer {
    /// `{"isAuthorized": .., "context": ..}`.
    Simple {
        /// `isAuthorized`.
        authorized: bool,
        /// `context`, or `{}`.
        context: Value,
    },
    /// An IAM policy and its context.
    Policy {
        /// `policyDocument`.
        policy: PolicyDocument,
        /// `context`, or `{}`.
        context: Value,
    },
}

/// One authorizer of a running API: its configuration, cache and invocation count.
#[derive(Debug)]
pub struct Authorizer {
    config: HttpAuthorizer,
    cache: ResultCache<AuthAnswer>,
    /// How many times its function was invoked.
    pub invocations: AtomicU64,
}

impl Authorizer {
    /// An authorizer with an empty cache.
    pub fn new(config: &HttpAuthorizer) -> Self {
        let ttl = if config.identity_sources.is_empty() {
            0
        } else {
            config.result_ttl_seconds
        };
        Self {
            config: config.clone(),
            cache: ResultCache::new(ttl),
            invocations: AtomicU64::new(0),
        }
    }

    /// Decides for `request` on `route`, invoking the function unless the cache answers.
    pub async fn authorize(
        &self,
        invoker: &dyn Invoke,
        request: &ApiRequest,
        api: &ApiContext,
        route: &RouteMatch,
    ) -> Outcome {
        let Some(identity) = identity_values(&self.config.identity_sources, request, api, route)
        else {
            return Outcome::Unauthorized;
        };
        let route_arn = api.execute_arn(&request.method, &route.stage_path);
        if let Some(answer) = self.cache.get(&identity) {
            return answer.outcome(&route_arn);
        }
        let event = authorizer_event(request, api, route, &identity, &route_arn);
        self.invocations.fetch_add(1, Ordering::SeqCst);
        let invocation = tokio::time::timeout(
            AUTHORIZER_TIMEOUT,
            invoker.invoke(self.config.target(), event),
        );
        let Ok(Ok(payload)) = invocation.await.map(|i| i.result) else {
            return Outcome::Failed;
        };
        match interpret(&payload, self.config.enable_simple_responses) {
            Some(answer) => {
                let outcome = answer.outcome(&route_arn);
                self.cache.put(identity, answer);
                outcome
            }
            None => Outcome::Failed,
        }
    }
}

impl AuthAnswer {
    /// The decision for a request on `route_arn`.
    pub fn outcome(&self, route_arn: &str) -> Outcome {
        match self {
            Self::Simple {
                authorized: true,
                context,
            } => Outcome::Allow(context.clone()),
            Self::Simple {
                authorized: false, ..
            } => Outcome::Forbidden,
            Self::Policy { policy, context } => match policy.evaluate_invoke(route_arn) {
                Decision::Allow => Outcome::Allow(context.clone()),
                Decision::ExplicitDeny | Decision::ImplicitDeny => Outcome::Forbidden,
            },
        }
    }
}

/// Reads the function's answer; `None` when it has the wrong shape.
pub fn interpret(payload: &[u8], simple: bool) -> Option<AuthAnswer> {
    let value: Value = serde_json::from_slice(payload).ok()?;
    let context = match value.get("context") {
        None | Some(Value::Null) => json!({}),
        Some(c @ Value::Object(_)) => c.clone(),
        Some(_) => return None,
    };
    if simple {
        let authorized = value.get("isAuthorized")?.as_bool()?;
        return Some(AuthAnswer::Simple {
            authorized,
            context,
        });
    }
    let policy = PolicyDocument::parse(value.get("policyDocument")?).ok()?;
    Some(AuthAnswer::Policy { policy, context })
}

/// The identity-source values, or `None` when one is missing or empty.
pub fn identity_values(
    sources: &[String],
    request: &ApiRequest,
    api: &ApiContext,
    route: &RouteMatch,
) -> Option<Vec<String>> {
    sources
        .iter()
        .map(|source| identity_value(source, request, api, route).filter(|v| !v.is_empty()))
        .collect()
}

fn identity_value(
    source: &str,
    request: &ApiRequest,
    api: &ApiContext,
    route: &RouteMatch,
) -> Option<String> {
    if let Some(header) = source.strip_prefix("$request.header.") {
        return request.joined_header(header);
    }
    if let Some(name) = source.strip_prefix("$request.querystring.") {
        let values: Vec<String> = request
            .query_pairs()
            .into_iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v)
            .collect();
        return (!values.is_empty()).then(|| values.join(","));
    }
    if let Some(name) = source.strip_prefix("$stageVariables.") {
        return api.stage_variables.get(name).cloned();
    }
    let variable = source.strip_prefix("$context.")?;
    Some(match variable {
        "identity.sourceIp" => request.source_ip.to_string(),
        "identity.userAgent" => request.user_agent(),
        "routeKey" => route.route_key.clone(),
        "httpMethod" => request.method.clone(),
        "path" => request.raw_path.clone(),
        "protocol" => request.protocol.clone(),
        "requestId" => route.request_id.clone(),
        "stage" => api.stage.clone(),
        "apiId" | "domainPrefix" => api.api_id.clone(),
        "domainName" => api.domain_name(),
        "accountId" => api.account.clone(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apigw::request::fixture::request;
    use std::collections::BTreeMap;

    fn api() -> ApiContext {
        ApiContext {
            api_id: "abcdef1234".into(),
            stage: "$default".into(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            partition: "aws".into(),
            stage_variables: BTreeMap::from([("env".to_string(), "test".to_string())]),
        }
    }

    fn route() -> RouteMatch {
        RouteMatch {
            request_id: "r".into(),
            route_key: "GET /tokens".into(),
            path_params: BTreeMap::new(),
            stage_path: "/tokens".into(),
        }
    }

    fn values(sources: &[&str], req: &ApiRequest) -> Option<Vec<String>> {
        let sources: Vec<String> = sources.iter().map(|s| s.to_string()).collect();
        identity_values(&sources, req, &api(), &route())
    }

    #[test]
    fn identity_sources_read_headers_queries_context_and_stage_variables() {
        let req = request(
            "GET",
            "/tokens?key=k1&key=k2",
            &[("Authorization", "Bearer t")],
        );
        let got = values(
            &[
                "$request.header.authorization",
                "$request.querystring.key",
                "$context.identity.sourceIp",
                "$context.routeKey",
                "$stageVariables.env",
            ],
            &req,
        );
        let expected = ["Bearer t", "k1,k2", "127.0.0.1", "GET /tokens", "test"];
        assert_eq!(got, Some(expected.map(String::from).to_vec()));
    }

    #[test]
    fn a_missing_or_empty_identity_source_gives_none() {
        let req = request("GET", "/tokens?Key=k&empty=", &[("Authorization", "")]);
        assert_eq!(values(&["$request.header.Authorization"], &req), None);
        assert_eq!(values(&["$request.header.X-Other"], &req), None);
        assert_eq!(values(&["$request.querystring.key"], &req), None);
        assert_eq!(values(&["$request.querystring.empty"], &req), None);
        assert_eq!(values(&["$stageVariables.none"], &req), None);
        assert_eq!(values(&["$context.nonsense"], &req), None);
        assert_eq!(values(&[], &req), Some(vec![]));
    }

    #[test]
    fn simple_answers() {
        let allow = interpret(
            br#"{"isAuthorized": true, "context": {"owner": "o", "n": 1}}"#,
            true,
        );
        assert_eq!(
            allow.map(|a| a.outcome("arn")),
            Some(Outcome::Allow(json!({"owner": "o", "n": 1})))
        );
        let deny = interpret(br#"{"isAuthorized": false}"#, true);
        assert_eq!(deny.map(|a| a.outcome("arn")), Some(Outcome::Forbidden));
        for bad in [
            &b"{}"[..],
            br#"{"isAuthorized": "true"}"#,
            br#"{"isAuthorized": true, "context": []}"#,
            b"nope",
        ] {
            assert_eq!(
                interpret(bad, true),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn policy_answers_are_evaluated_against_the_route_arn() {
        let arn = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/$default/GET/tokens";
        let payload = json!({"principalId": "p", "context": {"owner": "o"}, "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": arn}]}});
        let answer = interpret(payload.to_string().as_bytes(), false).expect("a policy answer");
        assert_eq!(answer.outcome(arn), Outcome::Allow(json!({"owner": "o"})));
        assert_eq!(
            answer.outcome(&arn.replace("GET", "POST")),
            Outcome::Forbidden
        );
        assert_eq!(interpret(br#"{"isAuthorized": true}"#, false), None);
    }
}
