//! The server side's HTTP client.

use std::net::SocketAddr;

use futures_util::future::Either;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{Connection, SendRequest};
use hyper::Method;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// The server side's HTTP client: one kept-alive HTTP/1.1 connection (`TCP_NODELAY`) driven
/// in the calling task. A pooled client hands each request to a connection task and the
/// answer back, two task switches per request that are the client's plumbing, not the
/// route's latency. Answers are read as bytes, not parsed (the bare side has nothing to
/// parse them against).
pub struct Direct(tokio::sync::Mutex<(SendRequest<Full<Bytes>>, Link)>);

/// The connection's own future: polled alongside each exchange, it moves the bytes.
type Link = Connection<TokioIo<TcpStream>, Full<Bytes>>;

impl Direct {
    pub async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        Self(tokio::sync::Mutex::new((sender, connection)))
    }

    /// Sends one request with `token` (and a JSON `body`) and reads the whole answer.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Vec<u8>>,
    ) -> (u16, Bytes) {
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost")
            .header("authorization", format!("Bearer {token}"));
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .unwrap();
        let mut held = self.0.lock().await;
        let (sender, connection) = &mut *held;
        let exchange = std::pin::pin!(async {
            sender.ready().await.unwrap();
            let resp = sender.send_request(req).await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.into_body().collect().await.unwrap().to_bytes())
        });
        let answer = match futures_util::future::select(exchange, connection).await {
            Either::Left((answer, _)) => answer,
            Either::Right((closed, _)) => {
                panic!("the local server closed the connection: {closed:?}")
            }
        };
        answer
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Bytes) {
        self.send(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: serde_json::Value) -> (u16, Bytes) {
        let body = serde_json::to_vec(&body).unwrap();
        self.send(Method::POST, path, token, Some(body)).await
    }
}
