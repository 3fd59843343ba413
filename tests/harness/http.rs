//! A plain HTTP/1.1 client for the dev server, and its answers.

use std::net::SocketAddr;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::HeaderMap;
use hyper::Method;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::capture;

/// A plain HTTP/1.1 client for the dev server.
pub struct HttpClient(Client<HttpConnector, Full<Bytes>>);

impl Default for HttpClient {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpClient {
    /// A new client.
    pub fn new() -> Self {
        capture::install_log_capture();
        Self(Client::builder(TokioExecutor::new()).build_http())
    }

    /// Sends exactly these headers and body bytes to `addr`.
    pub async fn send(
        &self,
        addr: SocketAddr,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Reply {
        let method_name = method.to_string();
        let (status, headers, bytes) = self.send_raw(addr, method, path, headers, body).await;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if capture::is_service(addr) {
            capture::record_http(&method_name, path, status, &text);
        }
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            text,
            json,
        }
    }

    /// Sends a request and returns the answer's status, headers and body bytes, unparsed and
    /// unrecorded: what a client does before it reads the body (the benchmarks' view).
    pub async fn send_raw(
        &self,
        addr: SocketAddr,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (u16, HeaderMap, Bytes) {
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(format!("http://{addr}{path}"));
        for (k, v) in headers {
            // From bytes, so tests can send what clients do send: non-ASCII values included.
            let value = hyper::header::HeaderValue::from_bytes(v.as_bytes())
                .expect("a header value without CR, LF or NUL");
            req = req.header(*k, value);
        }
        // Far past any time budget (the service answers 503 when one is spent): an answer
        // that never comes is a failure naming the request, not a stalled suite.
        let exchange = async {
            let resp = self
                .0
                .request(req.body(Full::new(Bytes::from(body))).unwrap())
                .await
                .expect("the dev server answers");
            let status = resp.status().as_u16();
            let (parts, body) = resp.into_parts();
            let bytes = body.collect().await.unwrap().to_bytes();
            (status, parts.headers, bytes)
        };
        tokio::time::timeout(std::time::Duration::from_secs(120), exchange)
            .await
            .unwrap_or_else(|_| panic!("no answer within 120 s to {path}"))
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub text: String,
    /// The body as JSON (`Null` when empty or not JSON).
    pub json: Value,
}

impl Reply {
    /// The problem `type` of an error answer.
    pub fn problem(&self) -> &str {
        self.json["type"].as_str().unwrap_or_default()
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Asserts a problem+json answer with this status and problem type.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, slug: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.header("content-type"), "application/problem+json");
        assert_eq!(self.problem(), format!("/problems/{slug}"), "{}", self.text);
        assert_eq!(self.json["status"], status);
        assert!(self.json["title"].is_string() && self.json["detail"].is_string());
    }

    /// The `loc` of each validation error, as compact JSON strings.
    pub fn error_locs(&self) -> Vec<String> {
        self.json["errors"]
            .as_array()
            .map(|errs| errs.iter().map(|e| e["loc"].to_string()).collect())
            .unwrap_or_default()
    }
}
