//! API Gateway's HTTP API (payload 2.0) in front of the functions, from a request value: the
//! route match (404/405), the `Authorization` identity source (none: 401 without calling the
//! authorizer), `authorizer::handle` on the authorizer event, then the function that serves
//! the route (`http::serve`) on the event `http::lambda::read_event` reads, as the deployed
//! functions' `http::lambda::run` does, with the authorizer's context. The dev server feeds it
//! from a socket; the specification's entry-point property test from generated requests.

use api_tokens::http::{self, HttpError, Operation};
use api_tokens::store::TokenStore;
use api_tokens::{authorizer, ApiError, TokenService};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use lambda_http::http::Method;
use lambda_http::{Body, Response};
use serde_json::{json, Map, Value};

/// One request as API Gateway receives it.
pub struct GatewayRequest<'a> {
    pub method: &'a Method,
    /// The raw path, percent-encoded as on the wire.
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub raw_query: &'a str,
    /// The headers as [`header_map`] gives them.
    pub headers: Map<String, Value>,
    pub body: &'a [u8],
    pub source_ip: String,
}

/// Who answered a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answerer {
    /// No route for the method and path (API Gateway itself in AWS).
    Router,
    /// No `Authorization` header, or the authorizer refused (API Gateway in AWS).
    Gateway,
    /// The function the route is integrated with.
    Function,
}

/// What AWS answers 500 for.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("the authorizer failed: {0}")]
    Authorizer(String),
    #[error("the function cannot read its event: {0}")]
    Event(String),
}

/// Sends `req` through the route match, the authorizer and the function `function_of` names
/// for the route's operation.
pub async fn gateway<S: TokenStore>(
    service: &TokenService<S>,
    req: &GatewayRequest<'_>,
    function_of: impl Fn(Operation) -> &'static [Operation],
) -> Result<(Answerer, Response<Body>), GatewayError> {
    let path = req.path;
    let matched = match http::match_route(req.method, path) {
        Ok(m) => m,
        Err(e) => return Ok((Answerer::Router, e.into_response(path))),
    };
    let refused = || {
        let answer = HttpError::from(ApiError::Unauthorized).into_response(path);
        Ok((Answerer::Gateway, answer))
    };
    let template = http::ROUTES
        .iter()
        .find(|(_, _, op)| *op == matched.operation)
        .map(|(m, t, _)| format!("{m} {t}"))
        .unwrap_or_default();
    let headers = &req.headers;
    let mut context = request_context(req, &template);
    let Some(authorization) = headers.get("authorization").cloned() else {
        return refused();
    };
    let auth_event = json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": format!("arn:aws:execute-api:local:000000000000:local/$default/{}{path}", req.method),
        "identitySource": [authorization],
        "routeKey": template,
        "rawPath": path,
        "rawQueryString": req.raw_query,
        "headers": headers,
        "requestContext": context,
    });
    let verdict = authorizer::handle(service, auth_event)
        .await
        .map_err(|e| GatewayError::Authorizer(e.to_string()))?;
    if verdict["isAuthorized"] != true {
        return refused();
    }
    context["authorizer"] = json!({ "lambda": verdict["context"] });
    let mut event = json!({
        "version": "2.0",
        "routeKey": template,
        "rawPath": path,
        "rawQueryString": req.raw_query,
        "headers": headers,
        "requestContext": context,
        "isBase64Encoded": false,
    });
    if !req.body.is_empty() {
        match std::str::from_utf8(req.body) {
            Ok(text) => event["body"] = Value::from(text),
            Err(_) => {
                event["body"] = Value::from(STANDARD.encode(req.body));
                event["isBase64Encoded"] = Value::Bool(true);
            }
        }
    }
    if let Some(id) = &matched.id {
        event["pathParameters"] = json!({ "id": id });
    }
    let lambda_req = http::lambda::read_event(&event.to_string())
        .map_err(|e| GatewayError::Event(e.to_string()))?;
    let resp = match http::serve(service, lambda_req, function_of(matched.operation)).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    Ok((Answerer::Function, resp))
}

/// Headers as API Gateway v2 passes them: lower-case names, repeated values comma-joined.
pub fn header_map<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Map<String, Value> {
    let mut out: Map<String, Value> = Map::new();
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        let value = String::from_utf8_lossy(value);
        match out.get_mut(&name) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                out.insert(name, Value::from(value.into_owned()));
            }
        }
    }
    out
}

fn request_context(req: &GatewayRequest<'_>, route_key: &str) -> Value {
    let now = chrono::Utc::now();
    let header = |name: &str, or: &str| req.headers.get(name).cloned().unwrap_or(Value::from(or));
    json!({
        "accountId": "000000000000",
        "apiId": "local",
        "domainName": header("host", "localhost"),
        "domainPrefix": "local",
        "http": {
            "method": req.method.as_str(),
            "path": req.path,
            "protocol": "HTTP/1.1",
            "sourceIp": req.source_ip,
            "userAgent": header("user-agent", ""),
        },
        "requestId": uuid::Uuid::now_v7().to_string(),
        "routeKey": route_key,
        "stage": "$default",
        "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
        "timeEpoch": now.timestamp_millis(),
    })
}
