//! A recording upstream and two clients: one connection per call (so each fault's effect on a
//! connection is seen alone) and a pooled one for many calls.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fault_proxy::FaultProxy;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1 as client_http1;
use hyper::header::HeaderMap;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The Host header every test request carries: not the proxy's address, so a proxy that
/// rewrote it would be caught.
pub const HOST: &str = "dynamodb.eu-west-1.amazonaws.com";

/// What the upstream answers every request with.
pub const ANSWER: &str =
    r#"{"TableNames":["tokens","tokens-audit","orders","orders-by-customer"]}"#;

/// One request as the upstream received it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub uri: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// An HTTP/1.1 server that records every request and answers 200 [`ANSWER`] with an
/// `x-upstream` header.
pub struct Upstream {
    pub endpoint: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: JoinHandle<()>,
}

impl Upstream {
    pub async fn start() -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let record = record.clone();
                let service = service_fn(move |req: Request<Incoming>| {
                    let record = record.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await?.to_bytes();
                        record.lock().unwrap().push(Seen {
                            method: parts.method.to_string(),
                            uri: parts.uri.to_string(),
                            headers: parts.headers,
                            body,
                        });
                        let answer = Response::builder()
                            .status(StatusCode::OK)
                            .header("content-type", "application/x-amz-json-1.0")
                            .header("x-upstream", "yes")
                            .header("content-length", ANSWER.len())
                            .body(Full::new(Bytes::from(ANSWER)))
                            .unwrap();
                        Ok::<_, hyper::Error>(answer)
                    }
                });
                tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
            }
        });
        Upstream {
            endpoint,
            seen,
            task,
        }
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An upstream and a proxy in front of it.
pub async fn proxied() -> (Upstream, FaultProxy) {
    let upstream = Upstream::start().await;
    let proxy = FaultProxy::start(&upstream.endpoint).await.unwrap();
    (upstream, proxy)
}

/// What a client got: the head, the body bytes that arrived, and how the body ended.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub body_error: Option<hyper::Error>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A DynamoDB-shaped request for `operation` (`X-Amz-Target: DynamoDB_20120810.<operation>`).
pub fn dynamodb(operation: &str, body: &str) -> Request<Full<Bytes>> {
    Request::post("/")
        .header("host", HOST)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", format!("DynamoDB_20120810.{operation}"))
        .header("content-length", body.len())
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

/// Sends `req` to `proxy` over a connection of its own. Dropping the future closes the
/// connection (the client gives up).
pub async fn call(proxy: SocketAddr, req: Request<Full<Bytes>>) -> Result<Reply, hyper::Error> {
    let stream = TcpStream::connect(proxy).await.unwrap();
    let (mut sender, conn) = client_http1::handshake(TokioIo::new(stream)).await?;
    let mut conn = std::pin::pin!(conn);
    let mut exchange = std::pin::pin!(async move {
        let answer = sender.send_request(req).await?;
        let (parts, mut body) = answer.into_parts();
        let (mut bytes, mut body_error) = (Vec::new(), None);
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(frame) => bytes.extend_from_slice(frame.data_ref().map_or(&[][..], |d| d)),
                Err(e) => {
                    body_error = Some(e);
                    break;
                }
            }
        }
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body: bytes,
            body_error,
        })
    });
    tokio::select! {
        biased;
        reply = &mut exchange => reply,
        ended = &mut conn => match (exchange.await, ended) {
            (Ok(reply), _) => Ok(reply),
            (Err(_), Err(conn_error)) => Err(conn_error),
            (Err(e), Ok(())) => Err(e),
        },
    }
}

/// [`call`] with a deadline: `None` if no answer came within `within`.
pub async fn call_within(
    proxy: SocketAddr,
    req: Request<Full<Bytes>>,
    within: Duration,
) -> Option<Result<Reply, hyper::Error>> {
    tokio::time::timeout(within, call(proxy, req)).await.ok()
}

/// A pooled client, for many requests over kept-alive connections.
pub fn pooled() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

/// `req` with the proxy's absolute URI, as a pooled client needs it.
pub fn to(proxy: &FaultProxy, mut req: Request<Full<Bytes>>) -> Request<Full<Bytes>> {
    *req.uri_mut() = format!("{}{}", proxy.endpoint(), req.uri())
        .parse()
        .unwrap();
    req
}

/// Whether `error`, or an error it was caused by, is an I/O error of `kind`.
pub fn caused_by(error: &(dyn std::error::Error + 'static), kind: std::io::ErrorKind) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == kind)
        {
            return true;
        }
        cause = e.source();
    }
    false
}

/// Waits until `check` holds (up to 3 s); whether it did.
pub async fn eventually(mut check: impl FnMut() -> bool) -> bool {
    for _ in 0..300 {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}
