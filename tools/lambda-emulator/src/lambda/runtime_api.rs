//! The Lambda Runtime API one environment's process talks to (`AWS_LAMBDA_RUNTIME_API`), as
//! the `lambda_runtime` crate uses it, and the freezing around it: Lambda stops the whole
//! process once it asks for the next event and none is waiting, and lets it go on only when
//! one is. A task the function left running therefore makes no progress between invocations,
//! which is exactly what the emulator exists to show.

use std::convert::Infallible;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const PREFIX: &str = "/2018-06-01/runtime/";

/// One event handed to the runtime by `/invocation/next`.
#[derive(Debug, Clone)]
pub(super) struct Event {
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub id: String,
    /// The payload.
    pub body: Bytes,
    /// `Lambda-Runtime-Deadline-Ms`: epoch milliseconds.
    pub deadline_ms: i64,
    /// `Lambda-Runtime-Invoked-Function-Arn`.
    pub function_arn: String,
    /// `Lambda-Runtime-Trace-Id`.
    pub trace_id: String,
}

/// How the runtime ended an invocation.
#[derive(Debug)]
pub(super) enum Outcome {
    /// `/invocation/{id}/response`: the payload.
    Response(Vec<u8>),
    /// `/invocation/{id}/error`: the environment stays.
    Error {
        /// `errorType`.
        error_type: String,
        /// `errorMessage`.
        message: String,
    },
    /// The environment cannot go on (exit, init error, broken protocol).
    Broken(String),
}

/// The invocation in flight.
struct Current {
    id: String,
    outcome: oneshot::Sender<Outcome>,
}

#[derive(Default)]
struct State {
    /// A `/next` that is waiting for an event (the process is frozen while freezing is on).
    waiting: Option<oneshot::Sender<Event>>,
    /// An event assigned before the runtime asked for it.
    queued: Option<Event>,
    frozen: bool,
    current: Option<Current>,
    /// Told of the first `/next` (init done) or of a failed init.
    init: Option<oneshot::Sender<Result<Instant, String>>>,
    broken: Option<String>,
}

/// The runtime API's state for one environment, shared by its connections and its owner.
pub(super) struct RuntimeApi {
    state: Mutex<State>,
    freeze: bool,
    pid: AtomicI32,
}

impl RuntimeApi {
    /// A runtime API for a process not yet started; `init` hears of the first `/next`.
    pub fn new(freeze: bool, init: oneshot::Sender<Result<Instant, String>>) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                init: Some(init),
                ..State::default()
            }),
            freeze,
            pid: AtomicI32::new(0),
        })
    }

    /// The process this API freezes.
    pub fn set_pid(&self, pid: i32) {
        self.pid.store(pid, Ordering::SeqCst);
    }

    /// Whether the process is stopped while it waits.
    pub fn freezes(&self) -> bool {
        self.freeze
    }

    /// Gives `event` to the runtime (thawing it if it is waiting); the receiver hears how
    /// the invocation ended.
    pub fn assign(&self, event: Event) -> oneshot::Receiver<Outcome> {
        let (tx, rx) = oneshot::channel();
        let mut state = self.lock();
        if let Some(reason) = state.broken.clone() {
            let _ = tx.send(Outcome::Broken(reason));
            return rx;
        }
        state.current = Some(Current {
            id: event.id.clone(),
            outcome: tx,
        });
        match state.waiting.take() {
            Some(waiting) => {
                if state.frozen {
                    state.frozen = false;
                    self.signal(libc::SIGCONT);
                }
                if let Err(event) = waiting.send(event) {
                    state.queued = Some(event);
                }
            }
            None => state.queued = Some(event),
        }
        rx
    }

    /// Whether the runtime is waiting for an event with nothing in flight.
    pub fn parked(&self) -> bool {
        let state = self.lock();
        state.waiting.is_some() && state.queued.is_none() && state.current.is_none()
    }

    /// Why the environment cannot go on, if it cannot.
    pub fn broken(&self) -> Option<String> {
        self.lock().broken.clone()
    }

    /// Marks the environment unusable and fails what waits on it.
    pub fn break_with(&self, reason: String) {
        let mut state = self.lock();
        Self::fail(&mut state, reason);
    }

    fn fail(state: &mut State, reason: String) {
        if let Some(init) = state.init.take() {
            let _ = init.send(Err(reason.clone()));
        }
        if let Some(current) = state.current.take() {
            let _ = current.outcome.send(Outcome::Broken(reason.clone()));
        }
        state.broken.get_or_insert(reason);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn signal(&self, signal: libc::c_int) {
        let pid = self.pid.load(Ordering::SeqCst);
        if pid > 0 {
            // SAFETY: kill(2) has no memory effects; the pid is our own child's.
            unsafe { libc::kill(pid, signal) };
        }
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let path = req.uri().path().to_owned();
        let Some(route) = path.strip_prefix(PREFIX) else {
            return answer(StatusCode::NOT_FOUND, "unknown path");
        };
        match (req.method().clone(), route) {
            (Method::GET, "invocation/next") => self.next().await,
            (Method::POST, "init/error") => {
                let body = read(req).await;
                let (error_type, message) = diagnostic(&body, "Runtime.InitError");
                self.break_with(format!("{error_type}: {message}"));
                answer(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
            }
            (Method::POST, route) => match route
                .strip_prefix("invocation/")
                .and_then(|rest| rest.split_once('/'))
            {
                Some((id, "response")) => {
                    let id = id.to_owned();
                    let body = read(req).await;
                    self.complete(&id, Outcome::Response(body.to_vec()))
                }
                Some((id, "error")) => {
                    let id = id.to_owned();
                    let header = req
                        .headers()
                        .get("lambda-runtime-function-error-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("Unhandled")
                        .to_owned();
                    let body = read(req).await;
                    let (error_type, message) = diagnostic(&body, &header);
                    self.complete(
                        &id,
                        Outcome::Error {
                            error_type,
                            message,
                        },
                    )
                }
                _ => answer(StatusCode::NOT_FOUND, "unknown path"),
            },
            _ => answer(StatusCode::NOT_FOUND, "unknown path"),
        }
    }

    /// `GET /invocation/next`: the queued event, else freeze and wait for one.
    async fn next(&self) -> Response<Full<Bytes>> {
        let rx = {
            let mut state = self.lock();
            if let Some(init) = state.init.take() {
                let _ = init.send(Ok(Instant::now()));
            }
            if let Some(event) = state.queued.take() {
                return event_response(event);
            }
            let (tx, rx) = oneshot::channel();
            state.waiting = Some(tx);
            if self.freeze && state.broken.is_none() {
                state.frozen = true;
                self.signal(libc::SIGSTOP);
            }
            rx
        };
        match rx.await {
            Ok(event) => event_response(event),
            Err(_) => answer(StatusCode::INTERNAL_SERVER_ERROR, "environment shut down"),
        }
    }

    /// A response or error post for request `id`.
    fn complete(&self, id: &str, outcome: Outcome) -> Response<Full<Bytes>> {
        let mut state = self.lock();
        match state.current.take() {
            Some(current) if current.id == id => {
                let _ = current.outcome.send(outcome);
                answer(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
            }
            other => {
                state.current = other;
                Self::fail(
                    &mut state,
                    format!("the runtime answered the unknown request id {id}"),
                );
                answer(
                    StatusCode::BAD_REQUEST,
                    r#"{"errorType":"InvalidRequestID","errorMessage":"unknown request id"}"#,
                )
            }
        }
    }
}

/// Serves the runtime API on `listener` until the task is aborted; every connection is
/// kept alive as long as the runtime wants.
pub(super) async fn serve(listener: TcpListener, api: Arc<RuntimeApi>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let api = api.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let api = api.clone();
                async move { Ok::<_, Infallible>(api.handle(req).await) }
            });
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn event_response(event: Event) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(event.body));
    let headers = response.headers_mut();
    let pairs = [
        ("content-type", "application/json".to_owned()),
        ("lambda-runtime-aws-request-id", event.id),
        ("lambda-runtime-deadline-ms", event.deadline_ms.to_string()),
        ("lambda-runtime-invoked-function-arn", event.function_arn),
        ("lambda-runtime-trace-id", event.trace_id),
    ];
    for (name, value) in pairs {
        if let Ok(value) = value.parse() {
            headers.insert(name, value);
        }
    }
    response
}

fn answer(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}

async fn read(req: Request<Incoming>) -> Bytes {
    match req.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => Bytes::new(),
    }
}

/// `{errorType, errorMessage}` of an error post; `fallback_type` when the body has none.
fn diagnostic(body: &[u8], fallback_type: &str) -> (String, String) {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Diagnostic {
        error_type: Option<String>,
        error_message: Option<String>,
    }
    match serde_json::from_slice::<Diagnostic>(body) {
        Ok(d) => (
            d.error_type.unwrap_or_else(|| fallback_type.to_owned()),
            d.error_message.unwrap_or_default(),
        ),
        Err(_) => (
            fallback_type.to_owned(),
            String::from_utf8_lossy(body).into_owned(),
        ),
    }
}
