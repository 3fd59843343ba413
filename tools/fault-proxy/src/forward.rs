//! Sending a client's request on to the upstream unchanged, over a pooled connection.
//!
//! Transparent for the AWS SDK: SigV4 signs the Host header, so Host (and every other end-to-end
//! header, Content-Length included) goes upstream as the client sent it; only the hop-by-hop
//! headers of RFC 9110 section 7.6.1 are dropped in both directions.

use std::io;

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::stats::Recorder;

/// What a body or a handler fails with. A concrete type, not a boxed `dyn Error`: with one,
/// rustc cannot prove the connection future `Send` ("implementation of `From` is not general
/// enough").
pub(crate) type Failure = io::Error;

/// The body of every answer the proxy gives.
pub(crate) type ProxyBody = BoxBody<Bytes, Failure>;

/// Why an upstream address is refused.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("the upstream {0:?} is not a URI: {1}")]
    Invalid(String, hyper::http::uri::InvalidUri),
    #[error("the upstream {0:?} is not http://host:port (only plain HTTP is proxied)")]
    NotHttp(String),
}

/// The upstream's base address and the pooled client that reaches it.
#[derive(Debug, Clone)]
pub(crate) struct Upstream {
    base: Uri,
    client: Client<HttpConnector, Incoming>,
    stats: Recorder,
}

impl Upstream {
    pub(crate) fn new(upstream: &str, stats: Recorder) -> Result<Upstream, UpstreamError> {
        let base: Uri = upstream
            .parse()
            .map_err(|e| UpstreamError::Invalid(upstream.to_owned(), e))?;
        let plain = base.scheme_str() == Some("http")
            && base.authority().is_some()
            && matches!(base.path(), "" | "/");
        if !plain {
            return Err(UpstreamError::NotHttp(upstream.to_owned()));
        }
        let client = Client::builder(TokioExecutor::new()).build_http();
        Ok(Upstream {
            base,
            client,
            stats,
        })
    }

    /// Sends `req` (path, query, headers and body as received) to the upstream. The answer's
    /// body is not read yet.
    pub(crate) async fn send(&self, req: Request<Incoming>) -> Result<Response<Incoming>, Failure> {
        let (mut parts, body) = req.into_parts();
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let mut uri = Uri::builder().path_and_query(path);
        if let (Some(scheme), Some(authority)) = (self.base.scheme(), self.base.authority()) {
            uri = uri.scheme(scheme.clone()).authority(authority.clone());
        }
        parts.uri = uri.build().map_err(Failure::other)?;
        drop_hop_by_hop(&mut parts.headers);
        self.stats.forwarded();
        let answer = self
            .client
            .request(Request::from_parts(parts, body))
            .await
            .map_err(Failure::other)?;
        let (mut parts, body) = answer.into_parts();
        drop_hop_by_hop(&mut parts.headers);
        Ok(Response::from_parts(parts, body))
    }

    /// Forwards `req` and streams the upstream's answer back; 502 if the upstream cannot be
    /// reached.
    pub(crate) async fn forward(&self, req: Request<Incoming>) -> Response<ProxyBody> {
        match self.send(req).await {
            Ok(answer) => answer.map(|body| body.map_err(Failure::other).boxed()),
            Err(e) => bad_gateway(&e),
        }
    }
}

/// 502 with what went wrong, as JSON.
pub(crate) fn bad_gateway(error: &Failure) -> Response<ProxyBody> {
    let body = serde_json::json!({
        "__type": "FaultProxy#BadGateway",
        "message": format!("fault-proxy could not reach the upstream: {error}"),
    });
    let mut answer = Response::new(full(body.to_string()));
    *answer.status_mut() = StatusCode::BAD_GATEWAY;
    answer.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    answer
}

/// A whole body from bytes.
pub(crate) fn full(bytes: impl Into<Bytes>) -> ProxyBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// Removes the headers that describe one connection rather than the message.
fn drop_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .collect();
    for name in named {
        headers.remove(name.as_str());
    }
    for name in [
        header::CONNECTION,
        header::TE,
        header::TRAILER,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
    ] {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
}
