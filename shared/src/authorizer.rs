//! The API Gateway Lambda authorizer: turns `Authorization: Bearer <token>` into an allow or
//! deny, and hands the verified principal to the integration as authorizer context.
//!
//! - HTTP API, payload 2.0 with simple responses: `{"isAuthorized": bool, "context": {...}}`.
//! - REST API, `TOKEN` or `REQUEST` authorizer: an IAM policy. An accepted token is allowed
//!   the method ARN; a refused one gets a `Deny` of the whole API and stage, which API Gateway
//!   answers with 403. A refusal is an answer, not a function error: only real failures count
//!   in the functions' `Errors` metric and its alarm. (A request without the identity source
//!   is answered 401 by API Gateway itself, without invoking the authorizer.)
//!
//! A token with `allowed_ips` is allowed only from those blocks: the source address is
//! `requestContext.http.sourceIp` (HTTP API) or `requestContext.identity.sourceIp` (REST
//! `REQUEST` authorizers). REST `TOKEN` authorizers see no address, so such tokens fail there.
//!
//! A DynamoDB failure is an error (API Gateway answers 500), never a silent "invalid token".

use serde_json::{json, Value};

use crate::domain::principal::Principal;
use crate::service::{TokenService, VerifyError};
use crate::store::TokenStore;

/// Why the authorizer produced no answer.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizerError {
    /// The event is not an API Gateway authorizer event we know.
    #[error("unsupported authorizer event: {0}")]
    UnsupportedEvent(&'static str),
    /// The store failed.
    #[error("verification unavailable: {0}")]
    Store(#[from] crate::store::StoreError),
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

/// Handles one authorizer event of either API type.
pub async fn handle<S: TokenStore>(
    service: &TokenService<S>,
    event: Value,
) -> Result<Value, AuthorizerError> {
    if event.get("version").and_then(Value::as_str) == Some("2.0") {
        let authorization = header(&event, "authorization").or_else(|| {
            event
                .get("identitySource")
                .and_then(|v| v.get(0))
                .and_then(Value::as_str)
        });
        let source_ip = event
            .pointer("/requestContext/http/sourceIp")
            .and_then(Value::as_str)
            .and_then(|ip| ip.parse().ok());
        return Ok(match principal(service, authorization, source_ip).await? {
            Some(p) => json!({ "isAuthorized": true, "context": p.to_context() }),
            None => json!({ "isAuthorized": false, "context": {} }),
        });
    }
    let method_arn =
        event
            .get("methodArn")
            .and_then(Value::as_str)
            .ok_or(AuthorizerError::UnsupportedEvent(
                "no version 2.0 and no methodArn",
            ))?;
    let authorization = match event.get("type").and_then(Value::as_str) {
        Some("TOKEN") => event.get("authorizationToken").and_then(Value::as_str),
        Some("REQUEST") => header(&event, "authorization"),
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
    let Some(p) = principal(service, authorization, source_ip).await? else {
        return Ok(rest_deny(method_arn));
    };
    Ok(json!({
        "principalId": p.user_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{
                "Action": "execute-api:Invoke",
                "Effect": "Allow",
                "Resource": method_arn,
            }],
        },
        "context": p.to_context(),
    }))
}

/// The REST answer for a refused token: `Deny` on every method of the API and stage the
/// request was for, so a cached refusal is right for any method.
fn rest_deny(method_arn: &str) -> Value {
    json!({
        "principalId": "anonymous",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{
                "Action": "execute-api:Invoke",
                "Effect": "Deny",
                "Resource": api_wide(method_arn),
            }],
        },
    })
}

/// `arn:…:<api>/<stage>/*` from `arn:…:<api>/<stage>/<METHOD>/<path>`; an ARN of another
/// shape is denied as it is.
fn api_wide(method_arn: &str) -> String {
    let Some((prefix, resource)) = method_arn.rsplit_once(':') else {
        return method_arn.to_string();
    };
    let mut parts = resource.splitn(3, '/');
    match (parts.next(), parts.next()) {
        (Some(api), Some(stage)) if !api.is_empty() && !stage.is_empty() => {
            format!("{prefix}:{api}/{stage}/*")
        }
        _ => method_arn.to_string(),
    }
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

    #[test]
    fn a_rest_refusal_denies_the_whole_api_and_stage() {
        let arn = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/orders/7";
        assert_eq!(
            api_wide(arn),
            "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/*"
        );
        assert_eq!(api_wide("not-an-arn"), "not-an-arn");
        assert_eq!(
            api_wide("arn:aws:execute-api:r:a:abc123"),
            "arn:aws:execute-api:r:a:abc123"
        );
        let deny = rest_deny(arn);
        assert_eq!(deny["policyDocument"]["Statement"][0]["Effect"], "Deny");
        assert!(deny.get("context").is_none());
    }
}
