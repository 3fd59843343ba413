//! The proxy itself: accepts HTTP/1.1 connections, picks a fault for each request from the
//! rules in force, and forwards the rest.
//!
//! Every connection task lives in one `JoinSet` owned by the accept task, so dropping the
//! [`FaultProxy`] aborts the accept task and with it every connection, hung ones included.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};
use std::task::{Context, Poll};
use std::time::Instant;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use crate::faults::{self, Connection};
use crate::forward::{Failure, ProxyBody, Upstream, UpstreamError};
use crate::rules::{Rule, RuleSet, DEFAULT_SEED};
use crate::stats::{Recorder, Stats};

/// Why the proxy could not start.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, io::Error),
}

/// A fault-injecting HTTP/1.1 proxy in front of one upstream; stops when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

#[derive(Debug)]
struct Shared {
    rules: RwLock<Arc<RuleSet>>,
    upstream: Upstream,
    stats: Recorder,
}

impl FaultProxy {
    /// Listens on 127.0.0.1 (a free port) and forwards to `upstream`, for example
    /// `"http://127.0.0.1:8000"` (plain HTTP only). No rules: every request is forwarded.
    pub async fn start(upstream: &str) -> Result<FaultProxy, ProxyError> {
        FaultProxy::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), upstream).await
    }

    /// Like [`FaultProxy::start`], listening on `listen`.
    pub async fn start_on(listen: SocketAddr, upstream: &str) -> Result<FaultProxy, ProxyError> {
        let stats = Recorder::default();
        let upstream = Upstream::new(upstream, stats.clone())?;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| ProxyError::Bind(listen, e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| ProxyError::Bind(listen, e))?;
        let shared = Arc::new(Shared {
            rules: RwLock::new(Arc::new(RuleSet::new(Vec::new(), DEFAULT_SEED))),
            upstream,
            stats,
        });
        let accept = tokio::spawn(accept(listener, shared.clone()));
        Ok(FaultProxy {
            addr,
            shared,
            accept,
        })
    }

    /// `http://127.0.0.1:<port>`: what the client's endpoint is set to.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the proxy listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the rules in force, all at once; shares are drawn from [`DEFAULT_SEED`] anew,
    /// and every rule's `limit` counts from zero.
    pub fn set(&self, rules: Vec<Rule>) {
        self.set_seeded(rules, DEFAULT_SEED);
    }

    /// Like [`FaultProxy::set`], drawing the shares from `seed`.
    pub fn set_seeded(&self, rules: Vec<Rule>, seed: u64) {
        let rules = Arc::new(RuleSet::new(rules, seed));
        *self
            .shared
            .rules
            .write()
            .unwrap_or_else(PoisonError::into_inner) = rules;
    }

    /// Removes every rule: new requests are forwarded. Requests already hung stay hung until
    /// their client closes the connection, like a real stuck socket.
    pub fn clear(&self) {
        self.set(Vec::new());
    }

    /// The counts so far.
    pub fn stats(&self) -> Stats {
        self.shared.stats.snapshot()
    }

    /// Zeroes the counts (but [`Stats::hanging`], which counts requests still held).
    pub fn reset_stats(&self) {
        self.shared.stats.reset();
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    connections.spawn(serve(stream, shared.clone()));
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Serves one client connection until it closes or a fault drops it.
async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let conn = Arc::new(Connection::default());
    let io = ResettableStream {
        stream,
        conn: conn.clone(),
    };
    let service = service_fn(move |req| {
        let (shared, conn) = (shared.clone(), conn.clone());
        async move { shared.handle(req, &conn).await }
    });
    let _ = http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .await;
}

impl Shared {
    async fn handle(
        &self,
        req: Request<Incoming>,
        conn: &Connection,
    ) -> Result<Response<ProxyBody>, Failure> {
        let target = req
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        self.stats.request(target.as_deref());
        let rules = self
            .rules
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let fault = if rules.is_empty() {
            None
        } else {
            rules.pick(target.as_deref(), Instant::now())
        };
        match fault {
            None => Ok(self.upstream.forward(req).await),
            Some(fault) => {
                self.stats.applied(fault.kind());
                faults::apply(fault, req, &self.upstream, &self.stats, conn).await
            }
        }
    }
}

/// The client's socket; when a fault asked for a reset, it is closed with SO_LINGER 0 so the
/// kernel answers with an RST instead of a FIN.
struct ResettableStream {
    stream: TcpStream,
    conn: Arc<Connection>,
}

impl Drop for ResettableStream {
    fn drop(&mut self) {
        if self.conn.wants_reset() {
            let _ = self.stream.set_zero_linger();
        }
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
