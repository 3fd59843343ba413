//! The listening side every stand-in shares: HTTP/1.1 on 127.0.0.1 at a free port, each
//! request handed over with its TCP peer's address; stopped on drop or `shutdown`, which
//! also ends the open connections.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use super::gateway::Answer;

/// What a handler returns.
pub type AnswerFuture = Pin<Box<dyn Future<Output = Answer> + Send>>;

/// Answers one request from a peer.
pub type Handler = Arc<dyn Fn(hyper::Request<Incoming>, SocketAddr) -> AnswerFuture + Send + Sync>;

/// A running listener.
#[derive(Debug)]
pub struct Listener {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Listener {
    /// Listens on 127.0.0.1 at a free port and serves every connection with `handler`.
    pub async fn bind(handler: Handler) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(accept_loop(listener, handler));
        Ok(Self { addr, task })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops listening and closes every connection.
    pub async fn shutdown(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, handler: Handler) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let Ok((stream, peer)) = listener.accept().await else {
            // Out of descriptors, most likely: wait for connections to end.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let handler = handler.clone();
        connections.spawn(async move {
            let service = service_fn(move |request| {
                let answer = handler(request, peer);
                async move { Ok::<_, std::convert::Infallible>(answer.await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
