//! A minimal Lambda Runtime API emulator, which also answers SSM `GetParameters` (the keys)
//! and stands in for EventBridge `PutEvents` (the publisher).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Notify};

/// What the function did, and when the emulator saw it complete.
#[derive(Debug)]
pub enum Seen {
    /// `GET /runtime/invocation/next` answered with an invocation.
    Next(Instant),
    /// `POST /runtime/invocation/{id}/response`.
    Response(Instant, Value),
    /// `POST /runtime/invocation/{id}/error` or `/runtime/init/error`.
    Error(String),
    /// An EventBridge `PutEvents` with this many entries.
    PutEvents(usize),
}

pub struct Emulator {
    events: Mutex<VecDeque<Value>>,
    /// SSM parameters by name, for `GetParameters`.
    parameters: Vec<(String, String)>,
    seen: mpsc::UnboundedSender<Seen>,
    stop: Notify,
}

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
const INVOCATION: &str = "/2018-06-01/runtime/invocation/";
const INIT_ERROR: &str = "/2018-06-01/runtime/init/error";

type Answer = Result<Response<Full<Bytes>>, Infallible>;

fn reply(status: StatusCode, body: String) -> Answer {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    Ok(resp)
}

/// An AWS JSON 1.1 answer.
fn aws_json(body: Value) -> Answer {
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    resp.headers_mut().insert(
        "content-type",
        "application/x-amz-json-1.1".parse().unwrap(),
    );
    Ok(resp)
}

impl Emulator {
    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Answer {
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let target = req
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let accepted = || reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#.into());
        match (method, path.as_str()) {
            (Method::GET, NEXT) => self.next().await,
            (Method::POST, INIT_ERROR) => {
                let _ = self.seen.send(Seen::Error(format!(
                    "init error: {}",
                    String::from_utf8_lossy(&body)
                )));
                accepted()
            }
            (Method::POST, p) if p.starts_with(INVOCATION) && p.ends_with("/response") => {
                let at = Instant::now();
                let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let _ = self.seen.send(Seen::Response(at, value));
                accepted()
            }
            (Method::POST, p) if p.starts_with(INVOCATION) && p.ends_with("/error") => {
                let _ = self.seen.send(Seen::Error(format!(
                    "invocation error: {}",
                    String::from_utf8_lossy(&body)
                )));
                accepted()
            }
            (Method::POST, "/") if target == "AmazonSSM.GetParameters" => {
                self.get_parameters(&body)
            }
            (Method::POST, "/") if target == "AWSEvents.PutEvents" => self.put_events(&body),
            _ => reply(StatusCode::NOT_FOUND, format!("no such route: {path}")),
        }
    }

    /// `GET /runtime/invocation/next`: the next event, or, when there is none, a request
    /// held (as Lambda does) until the run ends.
    async fn next(&self) -> Answer {
        let event = self.events.lock().unwrap().pop_front();
        let Some(event) = event else {
            self.stop.notified().await;
            return reply(StatusCode::GONE, String::new());
        };
        let _ = self.seen.send(Seen::Next(Instant::now()));
        let deadline =
            SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(30);
        let id = uuid::Uuid::now_v7().to_string();
        let resp = Response::builder()
            .header("Lambda-Runtime-Aws-Request-Id", &id)
            .header(
                "Lambda-Runtime-Deadline-Ms",
                deadline.as_millis().to_string(),
            )
            .header(
                "Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:us-east-1:123456789012:function:bench",
            )
            .header(
                "Lambda-Runtime-Trace-Id",
                "Root=1-6741190b-3c4a0e5d2f1b6a7c8d9e0f1a;Parent=5b1d1c6e7f8a9b0c;Sampled=0",
            )
            .header("Content-Type", "application/json")
            .body(Full::new(Bytes::from(event.to_string())))
            .unwrap();
        Ok(resp)
    }

    /// SSM `GetParameters`: the named parameters this emulator holds.
    fn get_parameters(&self, body: &[u8]) -> Answer {
        let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let found: Vec<Value> = request["Names"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| self.parameters.iter().find(|(k, _)| n == k.as_str()))
            .map(|(name, value)| {
                json!({"Name": name, "Value": value, "Type": "SecureString", "Version": 1})
            })
            .collect();
        aws_json(json!({"Parameters": found, "InvalidParameters": []}))
    }

    /// EventBridge `PutEvents`: every entry accepted.
    fn put_events(&self, body: &[u8]) -> Answer {
        let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let n = request["Entries"].as_array().map_or(0, Vec::len);
        let _ = self.seen.send(Seen::PutEvents(n));
        let entries: Vec<Value> = (0..n)
            .map(|_| json!({"EventId": uuid::Uuid::now_v7().to_string()}))
            .collect();
        aws_json(json!({"FailedEntryCount": 0, "Entries": entries}))
    }

    /// Ends the run: held requests are answered, the server stops accepting.
    pub fn stop(&self) {
        self.stop.notify_waiters();
    }

    /// Serves the Runtime API (and PutEvents) on an ephemeral port until `stop`.
    pub async fn start(
        events: Vec<Value>,
        parameters: Vec<(String, String)>,
    ) -> (Arc<Self>, u16, mpsc::UnboundedReceiver<Seen>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let emulator = Arc::new(Self {
            events: Mutex::new(events.into()),
            parameters,
            seen: tx,
            stop: Notify::new(),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = emulator.clone();
        tokio::spawn(async move {
            loop {
                let stopped = server.stop.notified();
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = stopped => return,
                };
                let Ok((stream, _)) = accepted else { continue };
                let conn = server.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| conn.clone().handle(req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (emulator, port, rx)
    }
}
