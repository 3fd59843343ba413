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

mod gateway;

use api_tokens::http::{self, HttpError};
use api_tokens::store::TokenStore;
use api_tokens::{ApiError, TokenService};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

pub use gateway::{gateway, header_map, Answerer, GatewayError, GatewayRequest};

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
    let headers = parts
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_bytes()));
    let req = GatewayRequest {
        method: &parts.method,
        path: &path,
        raw_query: parts.uri.query().unwrap_or_default(),
        headers: header_map(headers),
        body: &body,
        source_ip: remote.ip().to_string(),
    };
    // One process serves every route.
    match gateway(service, &req, |_| http::ALL_OPERATIONS).await {
        Ok((_, resp)) => to_hyper(resp),
        Err(e @ GatewayError::Authorizer(_)) => {
            tracing::error!(error = %e, "authorizer failed");
            problem(ApiError::Unavailable, &path)
        }
        Err(e @ GatewayError::Event(_)) => problem(ApiError::Internal(e.to_string()), &path),
    }
}

fn problem(err: impl Into<HttpError>, path: &str) -> Response<Full<Bytes>> {
    to_hyper(err.into().into_response(path))
}

fn to_hyper(resp: lambda_http::Response<lambda_http::Body>) -> Response<Full<Bytes>> {
    let (parts, body) = resp.into_parts();
    let bytes = Bytes::copy_from_slice(body.as_ref());
    Response::from_parts(parts, Full::new(bytes))
}
