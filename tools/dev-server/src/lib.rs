//! The local stand-in for API Gateway. For each HTTP request it does what API Gateway does in
//! AWS: match the route (404/405), invoke the Lambda authorizer with a payload-2.0 authorizer
//! event, and invoke the function with a payload-2.0 HTTP event carrying the authorizer's
//! context. The authorizer and handler code are exactly the Lambdas' (`api_tokens`).
//!
//! One difference, on purpose: a missing or refused token is answered with our 401
//! problem+json, where an HTTP API answers 401/403 with its own `{"message": ...}` body.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use api_tokens::http::{self, HttpError, Matched};
use api_tokens::store::TokenStore;
use api_tokens::{authorizer, ApiError, TokenService};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;

/// Bodies larger than this are refused before they reach a handler (API Gateway's own cap
/// is 10 MB; the handlers cap at [`http::MAX_BODY_BYTES`]).
const MAX_READ_BYTES: usize = 1024 * 1024;

/// Accepts connections on `listener` until the future is dropped.
pub async fn serve<S: TokenStore + 'static>(
    listener: TcpListener,
    service: Arc<TokenService<S>>,
) -> std::io::Result<()> {
    loop {
        let (stream, remote) = listener.accept().await?;
        let service = service.clone();
        tokio::spawn(async move {
            let handler = service_fn(move |req| {
                let service = service.clone();
                async move { Ok::<_, Infallible>(handle(&service, req, remote).await) }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), handler)
                .await
            {
                tracing::debug!(error = %e, "connection closed with an error");
            }
        });
    }
}

/// Handles one request as API Gateway + Lambda would.
pub async fn handle<S: TokenStore>(
    service: &TokenService<S>,
    req: Request<Incoming>,
    remote: SocketAddr,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let body = match Limited::new(body, MAX_READ_BYTES).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return problem(HttpError::PayloadTooLarge(http::MAX_BODY_BYTES), &path),
    };
    let matched = match http::match_route(&parts.method, &path) {
        Ok(m) => m,
        Err(e) => return problem(e, &path),
    };
    let template = http::ROUTES
        .iter()
        .find(|(_, _, op)| *op == matched.operation)
        .map(|(m, t, _)| format!("{m} {t}"))
        .unwrap_or_default();
    let headers = header_map(&parts.headers);
    let raw_query = parts.uri.query().unwrap_or_default().to_string();
    let context = request_context(&parts.method, &path, &template, remote, &headers);

    let Some(authorization) = headers.get("authorization").cloned() else {
        return problem(ApiError::Unauthorized, &path);
    };
    let auth_event = json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": format!("arn:aws:execute-api:local:000000000000:local/$default/{}{}", parts.method, path),
        "identitySource": [authorization],
        "routeKey": template,
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": context,
    });
    let lambda_context = match authorizer::handle(service, auth_event).await {
        Ok(answer) if answer["isAuthorized"] == true => answer["context"].clone(),
        Ok(_) => return problem(ApiError::Unauthorized, &path),
        Err(e) => {
            tracing::error!(error = %e, "authorizer failed");
            return problem(ApiError::Unavailable, &path);
        }
    };

    let mut context = context;
    context["authorizer"] = json!({ "lambda": lambda_context });
    let (body_text, is_base64) = match std::str::from_utf8(&body) {
        Ok(text) => (text.to_string(), false),
        Err(_) => (STANDARD.encode(&body), true),
    };
    let mut event = json!({
        "version": "2.0",
        "routeKey": template,
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": context,
        "isBase64Encoded": is_base64,
    });
    if !body.is_empty() {
        event["body"] = Value::from(body_text);
    }
    if let Matched { id: Some(id), .. } = &matched {
        event["pathParameters"] = json!({ "id": id });
    }
    let lambda_req = match lambda_http::request::from_str(&event.to_string()) {
        Ok(r) => r,
        Err(e) => return problem(ApiError::Internal(format!("event: {e}")), &path),
    };
    let resp = match http::serve(service, lambda_req, http::ALL_OPERATIONS).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    to_hyper(resp)
}

/// Headers as API Gateway v2 passes them: lower-case names, repeated values comma-joined.
fn header_map(headers: &hyper::HeaderMap) -> Map<String, Value> {
    let mut out: Map<String, Value> = Map::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match out.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                out.insert(name.as_str().to_string(), Value::from(value));
            }
        }
    }
    out
}

fn request_context(
    method: &hyper::Method,
    path: &str,
    route_key: &str,
    remote: SocketAddr,
    headers: &Map<String, Value>,
) -> Value {
    let now = chrono::Utc::now();
    json!({
        "accountId": "000000000000",
        "apiId": "local",
        "domainName": headers.get("host").cloned().unwrap_or(Value::from("localhost")),
        "domainPrefix": "local",
        "http": {
            "method": method.as_str(),
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": remote.ip().to_string(),
            "userAgent": headers.get("user-agent").cloned().unwrap_or(Value::from("")),
        },
        "requestId": uuid::Uuid::now_v7().to_string(),
        "routeKey": route_key,
        "stage": "$default",
        "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
        "timeEpoch": now.timestamp_millis(),
    })
}

fn problem(err: impl Into<HttpError>, path: &str) -> Response<Full<Bytes>> {
    to_hyper(err.into().into_response(path))
}

fn to_hyper(resp: lambda_http::Response<lambda_http::Body>) -> Response<Full<Bytes>> {
    let (parts, body) = resp.into_parts();
    let bytes = Bytes::copy_from_slice(body.as_ref());
    Response::from_parts(parts, Full::new(bytes))
}
