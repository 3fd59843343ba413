//! Applying one [`Fault`] to one request: what the client gets instead of a plain forward.
//!
//! A reset cannot be expressed as an answer: the handler marks the connection
//! ([`Connection::reset`]) and fails, hyper drops the connection, and the socket is closed
//! with SO_LINGER 0 so the kernel sends an RST (the proxy's connection wrapper does that).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use tokio::time::Sleep;

use crate::forward::{bad_gateway, full, Failure, ProxyBody, Upstream};
use crate::rules::Fault;
use crate::stats::Recorder;

/// DynamoDB's answer to a throttled request (HTTP 400).
pub const THROTTLING_BODY: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#;

/// DynamoDB's answer to an internal failure (HTTP 500).
pub const SERVER_ERROR_BODY: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}"#;

/// An answer for HTTP 503 in the same shape.
pub const SERVICE_UNAVAILABLE_BODY: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ServiceUnavailable","message":"Service unavailable"}"#;

/// The content type of the canned answers (DynamoDB's JSON protocol).
const AMZ_JSON: &str = "application/x-amz-json-1.0";

/// How long a truncated answer's first half has to leave before the connection is closed.
const TRUNCATE_FLUSH: Duration = Duration::from_millis(50);

/// One client connection's state shared with its requests' handlers.
#[derive(Debug, Default)]
pub(crate) struct Connection {
    reset: AtomicBool,
}

impl Connection {
    /// Whether a handler asked for this connection to end with an RST.
    pub(crate) fn wants_reset(&self) -> bool {
        self.reset.load(Ordering::SeqCst)
    }
}

/// Gives `req` the fault `fault`. `Err` drops the connection.
pub(crate) async fn apply(
    fault: Fault,
    req: Request<Incoming>,
    upstream: &Upstream,
    stats: &Recorder,
    conn: &Connection,
) -> Result<Response<ProxyBody>, Failure> {
    match fault {
        Fault::Latency(delay) => {
            tokio::time::sleep(delay).await;
            Ok(upstream.forward(req).await)
        }
        Fault::Truncate => match upstream.send(req).await {
            Ok(answer) => Ok(truncate(collect(answer).await.map_err(Failure::other)?)),
            Err(e) => Ok(bad_gateway(&e)),
        },
        Fault::AfterForward(inner) => {
            let answer = match upstream.send(req).await {
                Ok(answer) => collect(answer).await.map_err(Failure::other)?,
                Err(e) => return Ok(bad_gateway(&e)),
            };
            after_forward(*inner, answer, stats, conn).await
        }
        fault => answer_without_forwarding(fault, stats, conn).await,
    }
}

/// The faults that need no upstream answer: hang, reset and the canned answers.
async fn answer_without_forwarding(
    fault: Fault,
    stats: &Recorder,
    conn: &Connection,
) -> Result<Response<ProxyBody>, Failure> {
    match fault {
        Fault::Hang => hang(stats).await,
        Fault::Reset => {
            conn.reset.store(true, Ordering::SeqCst);
            Err(Failure::other("fault-proxy: connection reset on purpose"))
        }
        Fault::Throttle => Ok(canned(StatusCode::BAD_REQUEST, THROTTLING_BODY)),
        Fault::ServerError => Ok(canned(StatusCode::INTERNAL_SERVER_ERROR, SERVER_ERROR_BODY)),
        Fault::ServiceUnavailable => Ok(canned(
            StatusCode::SERVICE_UNAVAILABLE,
            SERVICE_UNAVAILABLE_BODY,
        )),
        Fault::Status { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Ok(canned(status, body))
        }
        // Only reached through `after_forward`, where the answer is already there.
        Fault::Latency(_) | Fault::Truncate | Fault::AfterForward(_) => {
            Ok(canned(StatusCode::INTERNAL_SERVER_ERROR, SERVER_ERROR_BODY))
        }
    }
}

/// The inner fault of [`Fault::AfterForward`], given the upstream's whole answer.
async fn after_forward(
    fault: Fault,
    answer: Response<Bytes>,
    stats: &Recorder,
    conn: &Connection,
) -> Result<Response<ProxyBody>, Failure> {
    match fault {
        Fault::Latency(delay) => {
            tokio::time::sleep(delay).await;
            Ok(answer.map(full))
        }
        Fault::Truncate => Ok(truncate(answer)),
        Fault::AfterForward(inner) => Box::pin(after_forward(*inner, answer, stats, conn)).await,
        fault => answer_without_forwarding(fault, stats, conn).await,
    }
}

/// Never returns; counted in [`crate::Stats::hanging`] until hyper drops it (the client
/// closed the connection, or the proxy stopped).
async fn hang(stats: &Recorder) -> Result<Response<ProxyBody>, Failure> {
    let _held = stats.hanging();
    std::future::pending().await
}

/// An answer of `status` with a JSON `body`.
fn canned(status: StatusCode, body: impl Into<Bytes>) -> Response<ProxyBody> {
    let body: Bytes = body.into();
    let mut answer = Response::new(full(body.clone()));
    *answer.status_mut() = status;
    let headers = answer.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(AMZ_JSON));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    answer
}

/// Reads the upstream's whole answer.
async fn collect(answer: Response<Incoming>) -> Result<Response<Bytes>, hyper::Error> {
    let (parts, body) = answer.into_parts();
    let bytes = body.collect().await?.to_bytes();
    Ok(Response::from_parts(parts, bytes))
}

/// The upstream's status and headers, then half its body, then the connection closes.
fn truncate(answer: Response<Bytes>) -> Response<ProxyBody> {
    let (mut parts, bytes) = answer.into_parts();
    if !parts.headers.contains_key(header::TRANSFER_ENCODING) {
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    }
    let half = bytes.slice(..bytes.len() / 2);
    let body = Truncated {
        half: Some(half),
        close: None,
    };
    Response::from_parts(parts, ProxyBody::new(body))
}

/// A body that yields its data, then (after a pause that lets hyper flush it) fails, which
/// makes hyper close the connection short of the promised length.
struct Truncated {
    half: Option<Bytes>,
    close: Option<Pin<Box<Sleep>>>,
}

impl Body for Truncated {
    type Data = Bytes;
    type Error = Failure;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Failure>>> {
        let this = self.get_mut();
        if let Some(half) = this.half.take().filter(|h| !h.is_empty()) {
            return Poll::Ready(Some(Ok(Frame::data(half))));
        }
        let close = this
            .close
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(TRUNCATE_FLUSH)));
        match close.as_mut().poll(cx) {
            Poll::Ready(()) => {
                Poll::Ready(Some(Err(Failure::other("fault-proxy: answer truncated"))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
