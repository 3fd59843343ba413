//! `scripts/bench cold-start`: cold start of every function's release binary, started the
//! way Lambda starts it, against a minimal Lambda Runtime API emulator (below) and DynamoDB
//! Local. Prints a Markdown table.
//!
//! Each run spawns the binary with a Lambda-like environment (and nothing else; the keys are
//! read from SSM Parameter Store, which the emulator also answers), hands it two
//! invocations of a realistic event, and timestamps what the runtime client does:
//! - init: process spawn → its first `GET /runtime/invocation/next`;
//! - cold start: process spawn → the first invocation's `POST .../response`;
//! - 1st invocation: that `next` → that response (a fresh DynamoDB connection);
//! - 2nd invocation: the same work again in the same process (the connection is warm).
//!
//! The response must be a success (no `/error` or `/init/error` POST; a 2xx status, an
//! authorization, an empty `batchItemFailures`, events actually put), or the run fails.
//!
//! `COLD_START_RUNS` (default 20) sets the runs per function; `COLD_START_BIN_DIR` (default
//! `target/release`) where the binaries are; `COLD_START_KEYS=env` passes the keys in the
//! environment instead of through SSM.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use api_tokens::service::CreateInput;
use api_tokens::{schema, Config, DynamoStore, TokenService};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use integration_tests::{dynamodb, endpoint, fixture, sqs_batch};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Notify};

const TENANT: &str = "bench";
const USER: &str = "alice";
const INVOCATIONS: usize = 2;

// ---------------------------------------------------------------------------------------
// The Lambda Runtime API emulator (and a PutEvents stand-in for the publisher)

/// What the function did, and when the emulator saw it complete.
#[derive(Debug)]
enum Seen {
    /// `GET /runtime/invocation/next` answered with an invocation.
    Next(Instant),
    /// `POST /runtime/invocation/{id}/response`.
    Response(Instant, Value),
    /// `POST /runtime/invocation/{id}/error` or `/runtime/init/error`.
    Error(String),
    /// An EventBridge `PutEvents` with this many entries.
    PutEvents(usize),
}

struct Emulator {
    events: Mutex<VecDeque<Value>>,
    /// SSM parameters by name, for `GetParameters`.
    parameters: Vec<(String, String)>,
    seen: mpsc::UnboundedSender<Seen>,
    stop: Notify,
}

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
const INVOCATION: &str = "/2018-06-01/runtime/invocation/";
const INIT_ERROR: &str = "/2018-06-01/runtime/init/error";

impl Emulator {
    async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> Result<Response<Full<Bytes>>, Infallible> {
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
        let reply = |status: StatusCode, body: String| {
            let mut resp = Response::new(Full::new(Bytes::from(body)));
            *resp.status_mut() = status;
            Ok(resp)
        };
        match (method, path.as_str()) {
            (Method::GET, NEXT) => {
                let event = self.events.lock().unwrap().pop_front();
                let Some(event) = event else {
                    // No more work: hold the request, as Lambda does, until the run ends.
                    self.stop.notified().await;
                    return reply(StatusCode::GONE, String::new());
                };
                let _ = self.seen.send(Seen::Next(Instant::now()));
                let deadline =
                    SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(30);
                let id = uuid::Uuid::now_v7().to_string();
                let resp = Response::builder()
                    .header("Lambda-Runtime-Aws-Request-Id", &id)
                    .header("Lambda-Runtime-Deadline-Ms", deadline.as_millis().to_string())
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
            (Method::POST, INIT_ERROR) => {
                let _ = self.seen.send(Seen::Error(format!(
                    "init error: {}",
                    String::from_utf8_lossy(&body)
                )));
                reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#.into())
            }
            (Method::POST, p) if p.starts_with(INVOCATION) && p.ends_with("/response") => {
                let at = Instant::now();
                let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let _ = self.seen.send(Seen::Response(at, value));
                reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#.into())
            }
            (Method::POST, p) if p.starts_with(INVOCATION) && p.ends_with("/error") => {
                let _ = self.seen.send(Seen::Error(format!(
                    "invocation error: {}",
                    String::from_utf8_lossy(&body)
                )));
                reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#.into())
            }
            (Method::POST, "/") if target == "AmazonSSM.GetParameters" => {
                let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let found: Vec<Value> = request["Names"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|n| self.parameters.iter().find(|(k, _)| n == k.as_str()))
                    .map(|(name, value)| {
                        json!({"Name": name, "Value": value, "Type": "SecureString", "Version": 1})
                    })
                    .collect();
                let mut resp = Response::new(Full::new(Bytes::from(
                    json!({"Parameters": found, "InvalidParameters": []}).to_string(),
                )));
                resp.headers_mut().insert(
                    "content-type",
                    "application/x-amz-json-1.1".parse().unwrap(),
                );
                Ok(resp)
            }
            (Method::POST, "/") if target == "AWSEvents.PutEvents" => {
                let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let n = request["Entries"].as_array().map_or(0, Vec::len);
                let _ = self.seen.send(Seen::PutEvents(n));
                let entries: Vec<Value> = (0..n)
                    .map(|_| json!({"EventId": uuid::Uuid::now_v7().to_string()}))
                    .collect();
                let mut resp = Response::new(Full::new(Bytes::from(
                    json!({"FailedEntryCount": 0, "Entries": entries}).to_string(),
                )));
                resp.headers_mut().insert(
                    "content-type",
                    "application/x-amz-json-1.1".parse().unwrap(),
                );
                Ok(resp)
            }
            _ => reply(StatusCode::NOT_FOUND, format!("no such route: {path}")),
        }
    }

    /// Serves the Runtime API (and PutEvents) on an ephemeral port until `stop`.
    async fn start(
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

// ---------------------------------------------------------------------------------------
// The functions and their events

/// How a function's answer shows that it did the work.
#[derive(Clone, Copy)]
enum Expect {
    /// An API Gateway response with a 2xx status.
    Http,
    /// `{"isAuthorized": true}`.
    Authorized,
    /// `{"moved": n}`.
    Swept,
    /// `{"batchItemFailures": []}`.
    NoFailures,
    /// `{"batchItemFailures": []}` after at least one `PutEvents`.
    Published,
}

struct Function {
    bin: &'static str,
    expect: Expect,
}

const FUNCTIONS: [Function; 7] = [
    Function {
        bin: "tokens-list",
        expect: Expect::Http,
    },
    Function {
        bin: "tokens-create",
        expect: Expect::Http,
    },
    Function {
        bin: "tokens-revoke",
        expect: Expect::Http,
    },
    Function {
        bin: "tokens-authorizer",
        expect: Expect::Authorized,
    },
    Function {
        bin: "tokens-expire",
        expect: Expect::Swept,
    },
    Function {
        bin: "tokens-revoke-events",
        expect: Expect::NoFailures,
    },
    Function {
        bin: "tokens-publish-events",
        expect: Expect::Published,
    },
];

/// An API Gateway HTTP API (payload 2.0) request from `alice`, through the authorizer,
/// shaped like `tests/fixtures/http-api-get-token.json`.
fn http_event(method: &str, route: &str, path: &str, caller: &str, body: Option<Value>) -> Value {
    let mut e = fixture(
        "http-api-get-token.json",
        &[
            ("TOKEN_ID", ""),
            ("SECRET", "unused"),
            ("CALLER_TOKEN_ID", caller),
        ],
    );
    e["routeKey"] = json!(format!("{method} {route}"));
    e["requestContext"]["routeKey"] = e["routeKey"].clone();
    e["rawPath"] = json!(format!("/prod{path}"));
    e["requestContext"]["http"]["path"] = e["rawPath"].clone();
    e["requestContext"]["http"]["method"] = json!(method);
    e["requestContext"]["authorizer"]["lambda"]["tenant_id"] = json!(TENANT);
    e["requestContext"]["authorizer"]["lambda"]["user_id"] = json!(USER);
    // `/tokens/{id}/...`: the id is the path's third segment.
    e["pathParameters"] = match path.split('/').nth(2) {
        Some(id) if route.contains("{id}") => json!({ "id": id }),
        _ => json!({}),
    };
    if route == "GET /tokens" {
        e["rawQueryString"] = json!("limit=20");
    }
    if let Some(body) = body {
        e["body"] = json!(body.to_string());
        e["headers"]["content-type"] = json!("application/json");
    }
    e
}

struct Bench {
    service: TokenService<DynamoStore>,
    /// The keys, as SSM parameters (name, value).
    parameters: Vec<(String, String)>,
    env: Vec<(String, String)>,
    caller_token_id: String,
    secret: String,
}

impl Bench {
    async fn token(&self, expires_at: Option<api_tokens::time::Timestamp>) -> String {
        let (item, _) = self
            .service
            .issue(
                TENANT,
                USER,
                USER,
                CreateInput {
                    name: "cold start".into(),
                    scopes: vec!["tokens:read".into()],
                    expires_at,
                    ..CreateInput::default()
                },
            )
            .await
            .expect("seed a token");
        item.id.to_string()
    }

    /// A fresh event for `bin` that does real work (seeding what it works on).
    async fn event(&self, bin: &str) -> Value {
        let caller = self.caller_token_id.as_str();
        match bin {
            "tokens-list" => http_event("GET", "/tokens", "/tokens", caller, None),
            "tokens-create" => http_event(
                "POST",
                "/tokens",
                "/tokens",
                caller,
                Some(
                    json!({"name": "cold start", "scopes": ["tokens:read"], "expires_in_days": 30}),
                ),
            ),
            "tokens-revoke" => {
                let id = self.token(None).await;
                http_event(
                    "POST",
                    "/tokens/{id}/revoke",
                    &format!("/tokens/{id}/revoke"),
                    caller,
                    Some(json!({"reason": "cold start"})),
                )
            }
            "tokens-authorizer" => json!({
                "version": "2.0", "type": "REQUEST",
                "routeArn": "arn:aws:execute-api:us-east-1:123456789012:abc123def4/$default/GET/tokens",
                "identitySource": [format!("Bearer {}", self.secret)],
                "routeKey": "GET /tokens", "rawPath": "/tokens", "rawQueryString": "",
                "headers": {"authorization": format!("Bearer {}", self.secret)},
                "requestContext": {"http": {"method": "GET", "path": "/tokens", "sourceIp": "203.0.113.7"}}
            }),
            "tokens-expire" => {
                let past = api_tokens::time::now() - chrono::Duration::minutes(1);
                self.token(Some(past)).await;
                json!({
                    "version": "0", "id": uuid::Uuid::now_v7().to_string(),
                    "detail-type": "Scheduled Event", "source": "aws.events",
                    "account": "123456789012", "time": "2026-11-23T10:00:00Z",
                    "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/tokens-expire"],
                    "detail": {}
                })
            }
            "tokens-revoke-events" => {
                let id = self.token(None).await;
                sqs_batch(&[(
                    uuid::Uuid::now_v7().to_string(),
                    json!({"tenant_id": TENANT, "token_id": id, "reason": "cold start"})
                        .to_string(),
                )])
            }
            "tokens-publish-events" => fixture("streams-token-lifecycle.json", &[]),
            other => panic!("no event for {other}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// One run

/// One cold start's timings, in milliseconds.
struct Sample {
    init: f64,
    cold_start: f64,
    first: f64,
    second: f64,
}

fn check(expect: Expect, answer: &Value, first: bool, put_events: usize) -> Result<(), String> {
    let ok = match expect {
        Expect::Http => answer["statusCode"]
            .as_u64()
            .is_some_and(|s| (200..300).contains(&s)),
        Expect::Authorized => answer["isAuthorized"] == json!(true),
        // Every invocation's expired token is seeded before the first one runs, which moves
        // them all.
        Expect::Swept => answer["moved"].as_u64().is_some_and(|n| n >= 1 || !first),
        Expect::NoFailures => answer["batchItemFailures"] == json!([]),
        Expect::Published => answer["batchItemFailures"] == json!([]) && put_events > 0,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("unsuccessful answer: {answer}"))
    }
}

async fn run_once(
    bench: &Bench,
    bin: &Path,
    function: &Function,
    log: &Path,
) -> Result<Sample, String> {
    let mut events = Vec::new();
    for _ in 0..INVOCATIONS {
        events.push(bench.event(function.bin).await);
    }
    let (emulator, port, mut seen) = Emulator::start(events, bench.parameters.clone()).await;
    let log = std::fs::File::create(log).map_err(|e| e.to_string())?;
    let runtime_api = format!("127.0.0.1:{port}");
    let local = format!("http://{runtime_api}");
    let mut command = Command::new(bin);
    command
        .env_clear()
        .envs(bench.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", &runtime_api)
        .env("AWS_ENDPOINT_URL_EVENTBRIDGE", &local)
        .env("AWS_ENDPOINT_URL_SSM", &local)
        .env("AWS_LAMBDA_FUNCTION_NAME", function.bin)
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", function.bin),
        )
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log);

    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let mut nexts = Vec::new();
    let mut answers = Vec::new();
    let mut put_events = 0;
    let outcome = loop {
        if answers.len() == INVOCATIONS {
            break Ok(());
        }
        match tokio::time::timeout(Duration::from_secs(20), seen.recv()).await {
            Ok(Some(Seen::Next(at))) => nexts.push(at),
            Ok(Some(Seen::Response(at, answer))) => {
                if let Err(e) = check(function.expect, &answer, answers.is_empty(), put_events) {
                    break Err(e);
                }
                answers.push(at);
            }
            Ok(Some(Seen::PutEvents(n))) => put_events += n,
            Ok(Some(Seen::Error(e))) => break Err(e),
            Ok(None) => break Err("the emulator stopped".into()),
            Err(_) => break Err("no answer within 20 s".into()),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    emulator.stop.notify_waiters();
    outcome?;
    let ms = |from: Instant, to: Instant| (to - from).as_secs_f64() * 1000.0;
    Ok(Sample {
        init: ms(started, nexts[0]),
        cold_start: ms(started, answers[0]),
        first: ms(nexts[0], answers[0]),
        second: ms(nexts[1], answers[1]),
    })
}

/// What a function's first DynamoDB request costs beyond a later one: the client as
/// `service_from_env` builds it at init, from `config::lambda_sdk_config` and the Lambda
/// environment (nothing is sent then), a first `GetItem` that
/// opens the connection, then the same `GetItem` again over the warm connection.
async fn first_request_cost(bench: &Bench, runs: usize) {
    for (k, v) in &bench.env {
        std::env::set_var(k, v);
    }
    let table = bench
        .env
        .iter()
        .find(|(k, _)| k == "TABLE_NAME")
        .unwrap()
        .1
        .clone();
    let (mut build, mut first, mut second) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..=runs {
        let t = Instant::now();
        let sdk = api_tokens::config::lambda_sdk_config().expect("the Lambda environment");
        let client = aws_sdk_dynamodb::Client::new(&sdk);
        build.push(t.elapsed().as_secs_f64() * 1000.0);
        for times in [&mut first, &mut second] {
            let t = Instant::now();
            client
                .get_item()
                .table_name(&table)
                .key(
                    schema::PK,
                    aws_sdk_dynamodb::types::AttributeValue::S("WARMUP#".into()),
                )
                .send()
                .await
                .expect("GetItem on DynamoDB Local");
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let median = |v: &[f64]| percentile(&v[1..], 0.5);
    println!("| DynamoDB client (in-process, {runs} fresh clients) | median |");
    println!("| --- | --- |");
    println!(
        "| build the client (`config::lambda_sdk_config`, at init) | {:.2} ms |",
        median(&build)
    );
    println!(
        "| first `GetItem`: connector, TCP connection | {:.2} ms |",
        median(&first)
    );
    println!(
        "| second `GetItem`, warm connection | {:.2} ms |",
        median(&second)
    );
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn random_key() -> String {
    let mut k = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut k).unwrap();
    STANDARD.encode(k)
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::var("COLD_START_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let bin_dir = PathBuf::from(
        std::env::var("COLD_START_BIN_DIR").unwrap_or_else(|_| "target/release".into()),
    );
    let db = dynamodb(&endpoint());
    let table = format!("bench-{}", uuid::Uuid::now_v7().simple());
    schema::create_table(&db, &table).await.unwrap();

    let (cursor_keys, hash_key) = (random_key(), random_key());
    let vars = [
        ("TABLE_NAME", table.clone()),
        ("CURSOR_KEYS", cursor_keys),
        ("TOKEN_HASH_KEY", hash_key),
        ("EVENT_BUS_NAME", "bench-bus".to_string()),
    ];
    let config =
        Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .expect("bench configuration");
    let service = TokenService::new(DynamoStore::new(db.clone(), &table), &config);
    let (caller, secret) = service
        .issue(
            TENANT,
            USER,
            USER,
            CreateInput {
                name: "cold start caller".into(),
                scopes: vec!["tokens:read".into(), "tokens:write".into()],
                ..CreateInput::default()
            },
        )
        .await
        .expect("seed the caller's token");

    // What Lambda sets (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html),
    // dummy credentials, DynamoDB Local, and the service's configuration.
    let mut env: Vec<(String, String)> = [
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
        ("AWS_SESSION_TOKEN", "local"),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/11/23/[$LATEST]0123456789abcdef0123456789abcdef",
        ),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        ("_HANDLER", "bootstrap"),
        ("LAMBDA_TASK_ROOT", "/var/task"),
        ("TZ", ":UTC"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.push(("AWS_ENDPOINT_URL_DYNAMODB".into(), endpoint()));
    // As deployed: the keys are read from SSM Parameter Store (the emulator answers
    // `GetParameters`), the rest from the environment.
    // `COLD_START_KEYS=env` puts them in the environment instead (binaries older than SSM).
    let from_ssm = std::env::var("COLD_START_KEYS").as_deref() != Ok("env");
    let mut parameters = Vec::new();
    for (k, v) in &vars {
        if from_ssm && (k.ends_with("_KEY") || k.ends_with("_KEYS")) {
            let name = format!("/api-tokens/bench/{}", k.to_lowercase());
            env.push((format!("{k}_PARAMETER"), name.clone()));
            parameters.push((name, v.clone()));
        } else {
            env.push((k.to_string(), v.clone()));
        }
    }
    let bench = Bench {
        service,
        parameters,
        env,
        caller_token_id: caller.id.to_string(),
        secret: secret.expose().to_string(),
    };

    println!(
        "| function | binary | init (spawn → first `next`) | cold start (spawn → first response) median / p90 | 1st invocation, cold connection | 2nd invocation, warm connection |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    let mut failed = false;
    for function in &FUNCTIONS {
        let bin = bin_dir.join(function.bin);
        let size = std::fs::metadata(&bin)
            .unwrap_or_else(|e| {
                panic!(
                    "{}: {e}; build the functions with cargo build --release",
                    bin.display()
                )
            })
            .len();
        let log = std::env::temp_dir().join(format!("cold-start-{}.log", function.bin));
        // One unrecorded run: DynamoDB Local (a JVM) warms up too, and it is not under test.
        let mut samples = Vec::with_capacity(runs);
        let mut error = None;
        for i in 0..=runs {
            match run_once(&bench, &bin, function, &log).await {
                Ok(s) if i > 0 => samples.push(s),
                Ok(_) => {}
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = error {
            println!(
                "| {} | FAILED: {e} (log: {}) | | | | |",
                function.bin,
                log.display()
            );
            failed = true;
            continue;
        }
        let col = |f: fn(&Sample) -> f64| samples.iter().map(f).collect::<Vec<_>>();
        let (init, cold, first, second) = (
            col(|s| s.init),
            col(|s| s.cold_start),
            col(|s| s.first),
            col(|s| s.second),
        );
        println!(
            "| {} | {:.2} MB | {:.1} ms | **{:.1} ms** / {:.1} ms | {:.1} ms | {:.1} ms |",
            function.bin,
            size as f64 / 1e6,
            percentile(&init, 0.5),
            percentile(&cold, 0.5),
            percentile(&cold, 0.9),
            percentile(&first, 0.5),
            percentile(&second, 0.5),
        );
    }
    println!("\n{runs} runs per function (medians unless marked), after one unrecorded run.\n");
    first_request_cost(&bench, runs).await;
    db.delete_table().table_name(&table).send().await.unwrap();
    if failed {
        std::process::exit(1);
    }
}
