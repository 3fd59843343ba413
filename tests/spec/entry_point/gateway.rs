//! API Gateway (HTTP API, payload 2.0) in front of the Lambdas' own code, built the way
//! `tools/dev-server` builds it but from a request value instead of a socket: the route
//! match (404/405), the `Authorization` identity source (none: 401 without calling the
//! authorizer), `authorizer::handle` on the authorizer event, then the function that serves
//! the route (`http::serve` with that function's operations) on the event
//! `http::lambda::read_event` reads (as `http::lambda::run` does), with the authorizer's
//! context.

use api_tokens::http::{self, HttpError, Operation};
use api_tokens::{authorizer, ApiError, DynamoStore, TokenService};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use lambda_http::http::Method;
use lambda_http::Body;
use serde_json::{json, Map, Value};

/// One HTTP request as a client sends it (placeholders filled).
#[derive(Debug, Clone)]
pub(super) struct Sent {
    pub(super) method: String,
    /// The raw path, percent-encoded as on the wire.
    pub(super) path: String,
    /// The raw query string, without `?`.
    pub(super) query: String,
    /// Header names and values, in order; names may repeat.
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
}

/// Who answered a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Answerer {
    /// No route for the method and path (API Gateway itself in AWS).
    Router,
    /// No `Authorization` header, or the authorizer refused (API Gateway in AWS).
    Gateway,
    /// The function the route is integrated with.
    Function,
}

/// The answer: status, headers, body bytes, and who gave it.
pub(super) struct Answer {
    pub(super) by: Answerer,
    pub(super) response: lambda_http::Response<Body>,
}

/// Sends `sent` through the route match, the authorizer and the route's function. `Err` is
/// what AWS answers 500 for: the authorizer failing, or an event the function cannot read.
pub(super) async fn send(
    service: &TokenService<DynamoStore>,
    sent: &Sent,
) -> Result<Answer, String> {
    let path = sent.path.as_str();
    let method = Method::from_bytes(sent.method.as_bytes()).map_err(|e| e.to_string())?;
    let matched = match http::match_route(&method, path) {
        Ok(m) => m,
        Err(e) => return Ok(answer(Answerer::Router, e.into_response(path))),
    };
    let template = http::ROUTES
        .iter()
        .find(|(_, _, op)| *op == matched.operation)
        .map(|(m, t, _)| format!("{m} {t}"))
        .unwrap_or_default();
    let headers = header_map(&sent.headers);
    let context = request_context(&sent.method, path, &template, &headers);
    let Some(authorization) = headers.get("authorization").cloned() else {
        let refused = HttpError::from(ApiError::Unauthorized).into_response(path);
        return Ok(answer(Answerer::Gateway, refused));
    };
    let auth_event = json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": format!("arn:aws:execute-api:local:000000000000:local/$default/{}{path}", sent.method),
        "identitySource": [authorization],
        "routeKey": template,
        "rawPath": path,
        "rawQueryString": sent.query,
        "headers": headers,
        "requestContext": context,
    });
    let verdict = authorizer::handle(service, auth_event)
        .await
        .map_err(|e| format!("the authorizer failed: {e}"))?;
    if verdict["isAuthorized"] != true {
        let refused = HttpError::from(ApiError::Unauthorized).into_response(path);
        return Ok(answer(Answerer::Gateway, refused));
    }
    let mut context = context;
    context["authorizer"] = json!({ "lambda": verdict["context"] });
    let mut event = json!({
        "version": "2.0",
        "routeKey": template,
        "rawPath": path,
        "rawQueryString": sent.query,
        "headers": headers,
        "requestContext": context,
        "isBase64Encoded": false,
    });
    if !sent.body.is_empty() {
        match std::str::from_utf8(&sent.body) {
            Ok(text) => event["body"] = Value::from(text),
            Err(_) => {
                event["body"] = Value::from(STANDARD.encode(&sent.body));
                event["isBase64Encoded"] = Value::Bool(true);
            }
        }
    }
    if let Some(id) = &matched.id {
        event["pathParameters"] = json!({ "id": id });
    }
    let req = http::lambda::read_event(&event.to_string())
        .map_err(|e| format!("the function cannot read its event: {e}"))?;
    let resp = match http::serve(service, req, function_of(matched.operation)).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    Ok(answer(Answerer::Function, resp))
}

fn answer(by: Answerer, response: lambda_http::Response<Body>) -> Answer {
    Answer { by, response }
}

/// The operations of the Lambda function API Gateway integrates `operation`'s route with.
fn function_of(operation: Operation) -> &'static [Operation] {
    [
        http::LIST_FUNCTION,
        http::CREATE_FUNCTION,
        http::REVOKE_FUNCTION,
    ]
    .into_iter()
    .find(|ops| ops.contains(&operation))
    .unwrap_or(http::ALL_OPERATIONS)
}

/// Headers as API Gateway v2 passes them: lower-case names, repeated values comma-joined.
fn header_map(headers: &[(String, String)]) -> Map<String, Value> {
    let mut out: Map<String, Value> = Map::new();
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        match out.get_mut(&name) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(value);
            }
            _ => {
                out.insert(name, Value::from(value.as_str()));
            }
        }
    }
    out
}

fn request_context(
    method: &str,
    path: &str,
    route_key: &str,
    headers: &Map<String, Value>,
) -> Value {
    let now = chrono::Utc::now();
    json!({
        "accountId": "000000000000",
        "apiId": "local",
        "domainName": "localhost",
        "domainPrefix": "local",
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.7",
            "userAgent": headers.get("user-agent").cloned().unwrap_or(Value::from("")),
        },
        "requestId": uuid::Uuid::now_v7().to_string(),
        "routeKey": route_key,
        "stage": "$default",
        "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
        "timeEpoch": now.timestamp_millis(),
    })
}
