//! A REST API's Lambda authorizer (TOKEN or REQUEST) and REST's answers for it ("Use API
//! Gateway Lambda authorizers", "Output from an API Gateway Lambda authorizer", "Gateway
//! response types", developer guide).
//!
//! Reproduced:
//! - TOKEN: a missing or empty token header, or a token the validation expression does not
//!   match as a whole, is 401 `{"message":"Unauthorized"}` without invoking. REQUEST: with
//!   caching on, a missing or empty identity source is the same 401; with caching off the
//!   identity sources are not checked.
//! - The function's error with message exactly `Unauthorized` is 401
//!   `{"message":"Unauthorized"}`; any other error, a timeout, or an answer without
//!   `principalId` and a valid `policyDocument`, or with a `context` value that is an object or
//!   a list, is 500 `{"message":null}` (AuthorizerConfigurationException). Neither is cached.
//! - The policy is evaluated against the request's method ARN: explicit deny is 403
//!   `{"Message":"User is not authorized to access this resource with an explicit deny"}`,
//!   no allow is 403 `{"Message":"User is not authorized to access this resource"}`.
//! - The cache (key: the token, or the identity-source values) keeps the *policy*, evaluated
//!   anew for each request's method ARN: a policy that allowed only the first method's ARN
//!   refuses the next method with 403, as API Gateway does.
//! - The context reaches the integration with every value stringified, `principalId` added.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::config::{RestAuthorizer, RestAuthorizerKind};
use super::event::{request_event, token_event, MethodMatch, RestContext};
use crate::apigw::cache::ResultCache;
use crate::apigw::error::ApigwError;
use crate::apigw::policy::{Decision, PolicyDocument};
use crate::apigw::request::ApiRequest;
use crate::invoke::{FunctionError, Invoke};

/// How long API Gateway waits for a REST authorizer (its integration timeout, 29 s).
pub const AUTHORIZER_TIMEOUT: Duration = Duration::from_secs(29);

/// What the authorizer decided for one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Go on with this context (values stringified, `principalId` included).
    Allow(Map<String, Value>),
    /// 401 Unauthorized.
    Unauthorized,
    /// 403, explicit deny.
    ExplicitDeny,
    /// 403, no allow.
    NotAllowed,
    /// 500 `{"message":null}`.
    Failed,
}

/// A valid authorizer answer, as cached.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyAnswer {
    policy: PolicyDocument,
    context: Map<String, Value>,
}

/// A running REST authorizer.
#[derive(Debug)]
pub struct Authorizer {
    config: RestAuthorizer,
    validation: Option<regex_lite::Regex>,
    cache: ResultCache<PolicyAnswer>,
    /// How many times its function was invoked.
    pub invocations: AtomicU64,
}

impl Authorizer {
    /// An authorizer with an empty cache.
    pub fn new(config: &RestAuthorizer) -> Result<Self, ApigwError> {
        let validation = match &config.kind {
            RestAuthorizerKind::Token {
                validation_regex: Some(expression),
                ..
            } => Some(
                regex_lite::Regex::new(&format!("^(?:{expression})$"))
                    .map_err(|_| ApigwError::Regex(expression.clone()))?,
            ),
            _ => None,
        };
        Ok(Self {
            config: config.clone(),
            validation,
            cache: ResultCache::new(config.result_ttl_seconds),
            invocations: AtomicU64::new(0),
        })
    }

    /// Decides for `request` on `method`.
    pub async fn authorize(
        &self,
        invoker: &dyn Invoke,
        request: &ApiRequest,
        api: &RestContext,
        method: &MethodMatch,
    ) -> Outcome {
        let method_arn = api.method_arn(&request.method, &method.path);
        let (key, event) = match &self.config.kind {
            RestAuthorizerKind::Token { header, .. } => {
                let token = request.joined_header(header).unwrap_or_default();
                let valid = self.validation.as_ref().is_none_or(|r| r.is_match(&token));
                if token.is_empty() || !valid {
                    return Outcome::Unauthorized;
                }
                let event = token_event(&token, &method_arn);
                (vec![token], event)
            }
            RestAuthorizerKind::Request { identity_sources } => {
                let values: Vec<Option<String>> = identity_sources
                    .iter()
                    .map(|s| identity_value(s, request, api, method).filter(|v| !v.is_empty()))
                    .collect();
                if self.cache.enabled() && values.iter().any(Option::is_none) {
                    return Outcome::Unauthorized;
                }
                let key = values.into_iter().map(Option::unwrap_or_default).collect();
                (key, request_event(request, api, method, &method_arn))
            }
        };
        if let Some(answer) = self.cache.get(&key) {
            return answer.outcome(&method_arn);
        }
        self.invocations.fetch_add(1, Ordering::SeqCst);
        let invocation = invoker.invoke(&self.config.function, event);
        let result = match tokio::time::timeout(AUTHORIZER_TIMEOUT, invocation).await {
            Ok(invocation) => invocation.result,
            Err(_) => return Outcome::Failed,
        };
        match result {
            Ok(payload) => match interpret(&payload) {
                Some(answer) => {
                    let outcome = answer.outcome(&method_arn);
                    self.cache.put(key, answer);
                    outcome
                }
                None => Outcome::Failed,
            },
            Err(FunctionError::Handled { message, .. }) if message == "Unauthorized" => {
                Outcome::Unauthorized
            }
            Err(_) => Outcome::Failed,
        }
    }
}

impl PolicyAnswer {
    /// The decision for a request on `method_arn`.
    pub fn outcome(&self, method_arn: &str) -> Outcome {
        match self.policy.evaluate_invoke(method_arn) {
            Decision::Allow => Outcome::Allow(self.context.clone()),
            Decision::ExplicitDeny => Outcome::ExplicitDeny,
            Decision::ImplicitDeny => Outcome::NotAllowed,
        }
    }
}

/// Reads the function's answer; `None` when API Gateway would refuse it.
pub fn interpret(payload: &[u8]) -> Option<PolicyAnswer> {
    let value: Value = serde_json::from_slice(payload).ok()?;
    let principal = match value.get("principalId")? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let policy = PolicyDocument::parse(value.get("policyDocument")?).ok()?;
    let mut context = Map::new();
    match value.get("context") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (key, v) in map {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(_) | Value::Bool(_) => v.to_string(),
                    Value::Null => continue,
                    Value::Array(_) | Value::Object(_) => return None,
                };
                context.insert(key.clone(), json!(text));
            }
        }
        Some(_) => return None,
    }
    context.insert("principalId".into(), json!(principal));
    Some(PolicyAnswer { policy, context })
}

/// One identity source's value (`method.request.header.X`, `method.request.querystring.x`,
/// `context.identity.sourceIp`, ...), `None` when missing.
fn identity_value(
    source: &str,
    request: &ApiRequest,
    api: &RestContext,
    method: &MethodMatch,
) -> Option<String> {
    if let Some(header) = source.strip_prefix("method.request.header.") {
        return request.joined_header(header);
    }
    if let Some(name) = source.strip_prefix("method.request.querystring.") {
        let pairs = request.query_pairs();
        return pairs
            .into_iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v);
    }
    if let Some(name) = source.strip_prefix("method.request.path.") {
        return method.path_params.get(name).cloned();
    }
    let variable = source.strip_prefix("context.")?;
    Some(match variable {
        "identity.sourceIp" => request.source_ip.to_string(),
        "identity.userAgent" => request.user_agent(),
        "httpMethod" => request.method.clone(),
        "resourcePath" => method.resource.clone(),
        "path" => format!("/{}{}", api.stage, method.path),
        "stage" => api.stage.clone(),
        "apiId" => api.api_id.clone(),
        "accountId" => api.account.clone(),
        "requestId" => method.request_id.clone(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:rest123456/prod/GET/orders/42";

    fn answer(context: Value, effect: &str) -> Option<PolicyAnswer> {
        let payload = json!({"principalId": "user-1", "context": context, "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": effect, "Action": "execute-api:Invoke", "Resource": ARN}]}});
        interpret(payload.to_string().as_bytes())
    }

    #[test]
    fn an_allow_passes_the_context_stringified_with_the_principal() {
        let a = answer(json!({"owner": "o", "n": 1, "admin": true}), "Allow").expect("valid");
        let expected = json!({"owner": "o", "n": "1", "admin": "true", "principalId": "user-1"});
        assert_eq!(
            a.outcome(ARN),
            Outcome::Allow(expected.as_object().cloned().unwrap_or_default())
        );
    }

    #[test]
    fn deny_and_no_allow_are_told_apart() {
        let deny = answer(json!({}), "Deny").expect("valid");
        assert_eq!(deny.outcome(ARN), Outcome::ExplicitDeny);
        let allow = answer(json!({}), "Allow").expect("valid");
        assert_eq!(
            allow.outcome(&ARN.replace("/GET/", "/DELETE/")),
            Outcome::NotAllowed
        );
    }

    #[test]
    fn answers_api_gateway_refuses() {
        assert_eq!(answer(json!({"nested": {"a": 1}}), "Allow"), None);
        assert_eq!(answer(json!({"list": [1]}), "Allow"), None);
        assert_eq!(answer(json!({}), "Perhaps"), None);
        assert_eq!(interpret(br#"{"policyDocument": {"Statement": []}}"#), None);
        assert_eq!(interpret(br#"{"principalId": "p"}"#), None);
        assert_eq!(interpret(b"Allow"), None);
    }
}
