//! The events a REST API sends its Lambda authorizer ("Input to an API Gateway Lambda
//! authorizer", developer guide).
//!
//! TOKEN: `{"type":"TOKEN","authorizationToken":..,"methodArn":..}`. REQUEST: `type`,
//! `methodArn`, `resource`, `path`, `httpMethod`, `headers` and `queryStringParameters` (the
//! last value of a repeated name), `multiValueHeaders` and `multiValueQueryStringParameters`
//! (every value), `pathParameters`, `stageVariables` and `requestContext`. The method ARN
//! names the request's path, path parameters as requested
//! (`.../prod/GET/orders/42` for `/orders/{id}`).
//!
//! Not reproduced: header names reach the function lower-cased (REST keeps the client's
//! case; the stand-in's HTTP server does not keep it).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::apigw::request::ApiRequest;

/// What the events say about the API.
#[derive(Debug, Clone)]
pub struct RestContext {
    /// The API id.
    pub api_id: String,
    /// The stage.
    pub stage: String,
    /// `AWS::AccountId`.
    pub account: String,
    /// `AWS::Region`.
    pub region: String,
    /// `AWS::Partition`.
    pub partition: String,
}

/// What the events say about the selected method.
#[derive(Debug, Clone)]
pub struct MethodMatch {
    /// The request id (`x-amzn-RequestId`).
    pub request_id: String,
    /// The resource path template (`/orders/{id}`).
    pub resource: String,
    /// The request's path without the stage (`/orders/42`).
    pub path: String,
    /// Path parameters.
    pub path_params: BTreeMap<String, String>,
}

impl RestContext {
    /// `arn:aws:execute-api:<region>:<account>:<id>/<stage>/<METHOD>/<path>`.
    pub fn method_arn(&self, method: &str, path: &str) -> String {
        format!(
            "arn:{}:execute-api:{}:{}:{}/{}/{}/{}",
            self.partition,
            self.region,
            self.account,
            self.api_id,
            self.stage,
            method,
            path.trim_start_matches('/')
        )
    }
}

/// The TOKEN authorizer's event.
pub fn token_event(token: &str, method_arn: &str) -> Value {
    json!({"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn})
}

/// The REQUEST authorizer's event.
pub fn request_event(
    request: &ApiRequest,
    api: &RestContext,
    method: &MethodMatch,
    method_arn: &str,
) -> Value {
    let (headers, multi_headers) = single_and_multi(request.headers.iter().cloned());
    let (query, multi_query) = single_and_multi(request.query_pairs().into_iter());
    json!({
        "type": "REQUEST",
        "methodArn": method_arn,
        "resource": method.resource,
        "path": method.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": method.path_params,
        "stageVariables": {},
        "requestContext": {
            "path": format!("/{}{}", api.stage, method.path),
            "accountId": api.account,
            "resourceId": resource_id(&method.resource),
            "stage": api.stage,
            "requestId": method.request_id,
            "identity": {
                "sourceIp": request.source_ip.to_string(),
                "userAgent": request.user_agent(),
            },
            "resourcePath": method.resource,
            "httpMethod": request.method,
            "apiId": api.api_id,
        },
    })
}

/// `(name → last value, name → every value)`.
fn single_and_multi(
    pairs: impl Iterator<Item = (String, String)>,
) -> (Map<String, Value>, Map<String, Value>) {
    let mut single = Map::new();
    let mut multi = Map::new();
    for (name, value) in pairs {
        single.insert(name.clone(), json!(value));
        match multi.entry(name).or_insert_with(|| json!([])) {
            Value::Array(values) => values.push(json!(value)),
            other => *other = json!([value]),
        }
    }
    (single, multi)
}

/// A resource's id: 6 lowercase letters and digits, stable for a path.
pub fn resource_id(resource: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in resource.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..6)
        .map(|i| alphabet[((hash >> (i * 8)) % 36) as usize] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apigw::request::fixture::request;

    fn api() -> RestContext {
        RestContext {
            api_id: "rest123456".into(),
            stage: "prod".into(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            partition: "aws".into(),
        }
    }

    #[test]
    fn the_method_arn_names_the_requested_path() {
        let arn = api().method_arn("GET", "/orders/42");
        assert_eq!(
            arn,
            "arn:aws:execute-api:us-east-1:123456789012:rest123456/prod/GET/orders/42"
        );
        assert_eq!(
            token_event("Bearer t", &arn),
            json!({"type": "TOKEN", "authorizationToken": "Bearer t", "methodArn": arn})
        );
    }

    #[test]
    fn the_request_event_has_single_and_multi_value_maps() {
        let r = request(
            "GET",
            "/prod/orders/42?a=1&a=2",
            &[
                ("Authorization", "t"),
                ("X-M", "1"),
                ("x-m", "2"),
                ("User-Agent", "ua"),
            ],
        );
        let method = MethodMatch {
            request_id: "req-1".into(),
            resource: "/orders/{id}".into(),
            path: "/orders/42".into(),
            path_params: BTreeMap::from([("id".to_string(), "42".to_string())]),
        };
        let arn = api().method_arn("GET", &method.path);
        let event = request_event(&r, &api(), &method, &arn);
        let expected = json!({
            "type": "REQUEST",
            "methodArn": arn,
            "resource": "/orders/{id}",
            "path": "/orders/42",
            "httpMethod": "GET",
            "headers": {"authorization": "t", "x-m": "2", "user-agent": "ua"},
            "multiValueHeaders": {"authorization": ["t"], "x-m": ["1", "2"], "user-agent": ["ua"]},
            "queryStringParameters": {"a": "2"},
            "multiValueQueryStringParameters": {"a": ["1", "2"]},
            "pathParameters": {"id": "42"},
            "stageVariables": {},
            "requestContext": {
                "path": "/prod/orders/42", "accountId": "123456789012",
                "resourceId": resource_id("/orders/{id}"), "stage": "prod", "requestId": "req-1",
                "identity": {"sourceIp": "127.0.0.1", "userAgent": "ua"},
                "resourcePath": "/orders/{id}", "httpMethod": "GET", "apiId": "rest123456"
            }
        });
        assert_eq!(event, expected);
    }
}
