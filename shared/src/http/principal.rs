//! The caller of a request: the principal API Gateway's authorizer attached to it (its
//! context, never a client header; the codec is [`Principal::from_context`]).

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::domain::principal::Principal;
use crate::domain::usage::Usage;

/// The authorizer context of `req`.
fn context(req: &Request) -> Option<&std::collections::HashMap<String, serde_json::Value>> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(c) => Some(&c.authorizer.as_ref()?.fields),
        RequestContext::ApiGatewayV1(c) => Some(&c.authorizer.fields),
        _ => None,
    }
}

/// The principal the authorizer attached to `req`; `None` when there is none or it is
/// incomplete.
pub fn from_request(req: &Request) -> Option<Principal> {
    Principal::from_context(context(req)?)
}

/// The authorizer's verdict on the limits of `req`'s token; `None` when it has none.
pub fn usage_of(req: &Request) -> Option<Usage> {
    let fields = context(req)?;
    Usage::from_context(|k| {
        fields
            .get(k)
            .and_then(serde_json::Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn context() -> Value {
        json!({"tenant_id": "acme", "user_id": "alice", "token_id": "t1", "scopes": "tokens:read"})
    }

    fn http_api(authorizer: Value) -> Request {
        let event = json!({
            "version": "2.0", "routeKey": "GET /tokens", "rawPath": "/tokens",
            "rawQueryString": "", "headers": {},
            "requestContext": {
                "accountId": "123456789012", "apiId": "api", "authorizer": authorizer,
                "domainName": "api.example.com", "requestId": "r", "routeKey": "GET /tokens",
                "stage": "$default", "time": "01/Jan/2027:00:00:00 +0000", "timeEpoch": 0,
                "http": {"method": "GET", "path": "/tokens", "protocol": "HTTP/1.1",
                         "sourceIp": "203.0.113.7", "userAgent": "test"}
            },
            "isBase64Encoded": false
        });
        lambda_http::request::from_str(&event.to_string()).expect("an HTTP API event")
    }

    fn rest_api(authorizer: Value) -> Request {
        let event = json!({
            "resource": "/tokens", "path": "/tokens", "httpMethod": "GET",
            "headers": {}, "multiValueHeaders": {},
            "requestContext": {
                "accountId": "123456789012", "apiId": "api", "authorizer": authorizer,
                "httpMethod": "GET", "path": "/prod/tokens", "requestId": "r",
                "resourceId": "x", "resourcePath": "/tokens", "stage": "prod",
                "identity": {"sourceIp": "203.0.113.7"}
            },
            "isBase64Encoded": false
        });
        lambda_http::request::from_str(&event.to_string()).expect("a REST API event")
    }

    #[test]
    fn the_caller_comes_from_the_authorizer_context_of_either_api() {
        let http = from_request(&http_api(json!({"lambda": context()}))).unwrap();
        assert_eq!(
            (http.tenant_id.as_str(), http.user_id.as_str()),
            ("acme", "alice")
        );
        let rest = from_request(&rest_api(context())).unwrap();
        assert_eq!(rest, http);
    }

    #[test]
    fn a_request_without_an_authorizer_context_has_no_caller() {
        assert_eq!(from_request(&http_api(Value::Null)), None);
        assert_eq!(from_request(&rest_api(json!({}))), None);
        assert_eq!(from_request(&Request::default()), None);
    }
}
