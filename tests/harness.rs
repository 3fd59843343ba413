//! Test harness: a fresh table on the DynamoDB Local that `scripts/test` started, the dev
//! server on an ephemeral port in front of it, and a small HTTP client.
//!
//! Each [`App`] gets its own table, so tests run in parallel without sharing state.

use std::net::SocketAddr;
use std::sync::Arc;

use api_tokens::service::CreateInput;
use api_tokens::{config, schema, Config, DynamoStore, TokenService};
use aws_sdk_dynamodb::config::{Credentials, Region};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::HeaderMap;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

pub use hyper::Method;

/// The DynamoDB Local endpoint. `scripts/test` sets `DYNAMODB_ENDPOINT`.
pub fn endpoint() -> String {
    std::env::var("DYNAMODB_ENDPOINT").expect(
        "DYNAMODB_ENDPOINT is not set: run the suite with ./scripts/test, which starts DynamoDB Local",
    )
}

/// The suite's record of what the service logged and answered, for `tests/after_suite.rs`.
///
/// When `SUITE_CAPTURE_DIR` is set (`scripts/test` sets it), each test process writes, in that
/// directory, every tracing event of the service (dev server, authorizer, handlers) as JSON
/// lines to `logs-<pid>.jsonl`, and every answer of an [`App`]'s dev server to an
/// [`HttpClient`] as one JSON line `{method, path, status, body}` to `http-<pid>.jsonl`. One
/// file per process, each line written whole under a mutex, so parallel tests and parallel
/// test binaries never interleave. Unset (benchmarks, single tests), nothing is captured.
pub mod capture {
    use std::collections::HashSet;
    use std::fs::{File, OpenOptions};
    use std::io::Write as _;
    use std::net::SocketAddr;
    use std::path::PathBuf;
    use std::sync::{Mutex, OnceLock};

    use subscriber::layer::SubscriberExt as _;
    use subscriber::util::SubscriberInitExt as _;
    use tracing_subscriber as subscriber;

    /// The environment variable naming the capture directory.
    pub const DIR_VAR: &str = "SUITE_CAPTURE_DIR";
    /// File name prefix of the captured logs.
    pub const LOGS: &str = "logs-";
    /// File name prefix of the captured HTTP answers.
    pub const HTTP: &str = "http-";
    /// What is logged: everything of ours, `info` and above of the libraries.
    pub const FILTER: &str = "info,api_tokens=trace,dev_server=trace,integration_tests=trace";

    /// The capture directory, when capturing.
    pub fn dir() -> Option<PathBuf> {
        std::env::var_os(DIR_VAR)
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
    }

    fn open(prefix: &str) -> Option<File> {
        let dir = dir()?;
        std::fs::create_dir_all(&dir).expect("create the capture directory");
        let path = dir.join(format!("{prefix}{}.jsonl", std::process::id()));
        Some(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .unwrap_or_else(|e| panic!("open {}: {e}", path.display())),
        )
    }

    /// Sends this process's tracing events to `logs-<pid>.jsonl` (once; no-op when not
    /// capturing or when the process already has a global subscriber).
    pub fn install_log_capture() {
        static INSTALLED: OnceLock<()> = OnceLock::new();
        INSTALLED.get_or_init(|| {
            let Some(file) = open(LOGS) else { return };
            let filter: subscriber::filter::Targets = FILTER.parse().expect("the capture filter");
            let collector = subscriber::registry().with(filter).with(
                subscriber::fmt::layer()
                    .json()
                    .with_writer(Mutex::new(file)),
            );
            // Another global subscriber (a test's own) wins; its output is then not captured.
            let _ = collector.try_init();
        });
    }

    fn services() -> &'static Mutex<HashSet<SocketAddr>> {
        static SERVICES: OnceLock<Mutex<HashSet<SocketAddr>>> = OnceLock::new();
        SERVICES.get_or_init(Default::default)
    }

    /// Marks `addr` as the service's (a dev server an [`crate::App`] started): only its
    /// answers are recorded, not those of DynamoDB Local that some tests call over HTTP.
    pub fn register_service(addr: SocketAddr) {
        services()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(addr);
    }

    /// Whether `addr` is a registered service address.
    pub fn is_service(addr: SocketAddr) -> bool {
        services()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&addr)
    }

    /// Appends one HTTP answer to `http-<pid>.jsonl` (no-op when not capturing).
    pub fn record_http(method: &str, path: &str, status: u16, body: &str) {
        static FILE: OnceLock<Option<Mutex<File>>> = OnceLock::new();
        let Some(file) = FILE.get_or_init(|| open(HTTP).map(Mutex::new)) else {
            return;
        };
        let mut line = serde_json::to_vec(&serde_json::json!({
            "method": method, "path": path, "status": status, "body": body,
        }))
        .expect("a JSON line");
        line.push(b'\n');
        let mut f = file.lock().unwrap_or_else(|p| p.into_inner());
        f.write_all(&line).expect("append to the HTTP capture");
    }
}

/// Counts every DynamoDB request a client sends (an SDK interceptor, so retries of one
/// operation count once and nothing is faked).
#[derive(Debug, Clone, Default)]
pub struct RequestCounter(Arc<std::sync::atomic::AtomicUsize>);

impl RequestCounter {
    /// Requests sent so far.
    pub fn get(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl aws_sdk_dynamodb::config::Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_execution(
        &self,
        _: &aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef<'_>,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

/// A DynamoDB client for DynamoDB Local with fixed dummy credentials.
pub fn dynamodb(endpoint: &str) -> aws_sdk_dynamodb::Client {
    dynamodb_counted(endpoint, RequestCounter::default())
}

/// [`dynamodb`], counting its requests in `counter`.
pub fn dynamodb_counted(endpoint: &str, counter: RequestCounter) -> aws_sdk_dynamodb::Client {
    capture::install_log_capture();
    dynamodb_with(endpoint, counter)
}

/// A DynamoDB Local client with fixed dummy credentials and `interceptor` on it (request
/// counters, capacity meters).
pub fn dynamodb_with(
    endpoint: &str,
    interceptor: impl aws_sdk_dynamodb::config::Intercept + 'static,
) -> aws_sdk_dynamodb::Client {
    let conf = aws_sdk_dynamodb::Config::builder()
        .interceptor(interceptor)
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "tests"))
        .endpoint_url(endpoint)
        .http_client(config::http_client())
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

/// A configuration with fresh random keys for `table`.
pub fn test_config(table: &str) -> Config {
    test_config_with(table, &[])
}

/// [`test_config`] with extra variables.
pub fn test_config_with(table: &str, extra: &[(&str, &str)]) -> Config {
    let key = || {
        let mut k = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut k).unwrap();
        STANDARD.encode(k)
    };
    let (cursor, hash) = (key(), key());
    Config::from_lookup(|k| match k {
        "TABLE_NAME" => Some(table.to_string()),
        "CURSOR_KEYS" => Some(cursor.clone()),
        "TOKEN_HASH_KEY" => Some(hash.clone()),
        "EXTRA_SCOPES" => Some("orders:read,orders:write".into()),
        other => extra
            .iter()
            .find(|(k, _)| *k == other)
            .map(|(_, v)| v.to_string()),
    })
    .expect("test configuration is valid")
}

/// A plain active token record of `tenant` and `user`, created now, for tests and benchmarks
/// that build records without the service (override fields with `..sample_token(..)`).
pub fn sample_token(tenant: &str, user: &str) -> api_tokens::model::TokenItem {
    let now = api_tokens::time::now();
    api_tokens::model::TokenItem {
        id: uuid::Uuid::now_v7(),
        tenant_id: tenant.into(),
        user_id: user.into(),
        name: "sample".into(),
        description: None,
        prefix: "tkn_sample".into(),
        scopes: vec![],
        status: api_tokens::model::StoredStatus::Active,
        created_by: user.into(),
        created_at: now,
        updated_at: now,
        last_used_at: None,
        last_used_ip: None,
        expires_at: None,
        revoked_at: None,
        revoked_by: None,
        revoked_via: None,
        revocation_reason: None,
        metadata: Default::default(),
        allowed_ips: vec![],
        rotated_from: None,
        rotated_to: None,
        updated_by: None,
    }
}

/// A fixture of `tests/fixtures/` with its `{{PLACEHOLDERS}}` filled in.
pub fn fixture(name: &str, fill: &[(&str, &str)]) -> Value {
    let path = format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut text = std::fs::read_to_string(path).unwrap();
    for (k, v) in fill {
        text = text.replace(&format!("{{{{{k}}}}}"), v);
    }
    serde_json::from_str(&text).unwrap()
}

/// An SQS event of the fixture's shape with one record per `(message id, body)`.
pub fn sqs_batch(bodies: &[(String, String)]) -> Value {
    let template = fixture("sqs-revoke-batch.json", &[])["Records"][0].clone();
    let records: Vec<Value> = bodies
        .iter()
        .map(|(id, body)| {
            let mut r = template.clone();
            r["messageId"] = serde_json::json!(id);
            r["body"] = serde_json::json!(body);
            r
        })
        .collect();
    serde_json::json!({ "Records": records })
}

/// The EventBridge sources of the revocation fixtures (`tests/fixtures/eventbridge-*.json`):
/// the default of `RevocationEventSources` in `template.yaml` (`tests/spec/template.rs`
/// checks that they agree).
pub const EVENT_SOURCES: &[&str] = &[
    "com.example.idp",
    "com.example.security",
    "com.example.secret-scanning",
];

/// The revocation handler's options as the template sets them, without a continuation
/// queue: events of [`EVENT_SOURCES`] only.
pub fn revocation_options() -> api_tokens::events::revocation::Options {
    api_tokens::events::revocation::Options::new(EVENT_SOURCES.iter().copied())
}

/// A principal for calling the service directly (as the authorizer context would).
pub fn principal(tenant: &str, user: &str, scopes: &[&str]) -> api_tokens::Principal {
    api_tokens::Principal {
        tenant_id: tenant.into(),
        user_id: user.into(),
        token_id: uuid::Uuid::now_v7().to_string(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        expires_at: None,
        allowed_ips: vec![],
    }
}

/// A running service over its own table.
pub struct App {
    /// Address of the dev server.
    pub addr: SocketAddr,
    /// The service, for minting tokens directly.
    pub service: Arc<TokenService<DynamoStore>>,
    /// Raw DynamoDB access, for inspecting the table.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// DynamoDB requests the service has sent.
    pub requests: RequestCounter,
    /// The table name.
    pub table: String,
    /// The service's configuration (its keys included), for services built beside it.
    pub config: Config,
    http: HttpClient,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for App {
    fn drop(&mut self) {
        self.server.abort();
    }
}

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
        let resp = self
            .0
            .request(req.body(Full::new(Bytes::from(body))).unwrap())
            .await
            .expect("the dev server answers");
        let status = resp.status().as_u16();
        let (parts, body) = resp.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (status, parts.headers, bytes)
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

impl App {
    /// Starts a service over a new table.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Starts a service with extra configuration variables.
    pub async fn start_with(extra: &[(&str, &str)]) -> Self {
        let table = format!("tokens-{}", uuid::Uuid::now_v7().simple());
        let dynamodb = dynamodb(&endpoint());
        schema::create_table(&dynamodb, &table)
            .await
            .expect("create the test table on DynamoDB Local");
        let config = test_config_with(&table, extra);
        let requests = RequestCounter::default();
        let service = Arc::new(TokenService::new(
            DynamoStore::new(dynamodb_counted(&endpoint(), requests.clone()), &table),
            &config,
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        capture::register_service(addr);
        let server = tokio::spawn(dev_server::serve(listener, service.clone()));
        let http = HttpClient::new();
        Self {
            addr,
            service,
            dynamodb,
            requests,
            table,
            config,
            http,
            server,
        }
    }

    /// Mints a token directly (no HTTP) and returns its secret.
    pub async fn mint(&self, tenant: &str, user: &str, scopes: &[&str]) -> String {
        self.mint_with(tenant, user, scopes, CreateInput::default())
            .await
            .1
    }

    /// Mints a token with more settings; returns its id and secret.
    pub async fn mint_with(
        &self,
        tenant: &str,
        user: &str,
        scopes: &[&str],
        input: CreateInput,
    ) -> (String, String) {
        let input = CreateInput {
            name: if input.name.is_empty() {
                format!("{user} token")
            } else {
                input.name
            },
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            ..input
        };
        let (item, secret) = self
            .service
            .issue(tenant, user, user, input)
            .await
            .expect("mint a token");
        (item.id.to_string(), secret.expose().to_string())
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut headers = Vec::new();
        let auth = token.map(|t| format!("Bearer {t}"));
        if let Some(a) = &auth {
            headers.push(("authorization", a.as_str()));
        }
        let bytes = match &body {
            Some(b) => {
                headers.push(("content-type", "application/json"));
                serde_json::to_vec(b).unwrap()
            }
            None => Vec::new(),
        };
        self.raw(method, path, &headers, bytes).await
    }

    /// `GET path` with a token.
    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    /// `POST path` with a token and a JSON body.
    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// `POST path` with a token, an `Idempotency-Key` and a JSON body.
    pub async fn post_keyed(&self, path: &str, token: &str, key: &str, body: Value) -> Reply {
        let auth = format!("Bearer {token}");
        let headers = [
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
            ("idempotency-key", key),
        ];
        let bytes = serde_json::to_vec(&body).unwrap();
        self.raw(Method::POST, path, &headers, bytes).await
    }

    /// `PATCH path` with a token and a JSON body.
    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// Sends exactly these headers and body bytes.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Reply {
        self.http.send(self.addr, method, path, headers, body).await
    }

    /// `GET path` with a token, the answer unparsed: status and body bytes (benchmarks).
    pub async fn get_bytes(&self, path: &str, token: &str) -> (u16, Bytes) {
        let auth = format!("Bearer {token}");
        let headers = [("authorization", auth.as_str())];
        let (status, _, body) = self
            .http
            .send_raw(self.addr, Method::GET, path, &headers, Vec::new())
            .await;
        (status, body)
    }

    /// Every token record of the table, as stored.
    pub async fn records(&self) -> Vec<api_tokens::model::TokenItem> {
        self.scan_all()
            .await
            .into_iter()
            .filter(|i| matches!(i.get("pk"), Some(aws_sdk_dynamodb::types::AttributeValue::S(pk)) if pk.starts_with("TOKEN#")))
            .map(|i| serde_dynamo::from_item(i).expect("a token record"))
            .collect()
    }

    /// Records a use of a token at `at` (what the authorizer's last-used touch writes).
    pub async fn touch(&self, id: uuid::Uuid, at: api_tokens::time::Timestamp) {
        use api_tokens::store::TokenStore as _;
        let mut item = self
            .service
            .store()
            .get(id)
            .await
            .unwrap()
            .expect("the token exists");
        item.last_used_at = Some(at);
        use aws_sdk_dynamodb::types::AttributeValue::S;
        self.dynamodb
            .update_item()
            .table_name(&self.table)
            .key("pk", S(schema::token_pk(id)))
            .update_expression("SET last_used_at = :t, last_used_sk = :k")
            .expression_attribute_values(":t", S(api_tokens::time::format(&at)))
            .expression_attribute_values(":k", S(schema::SortField::LastUsedAt.key_of(&item)))
            .send()
            .await
            .expect("touch");
    }

    /// Writes `n` active tokens of `user` with `BatchWriteItem` (records, credentials with a
    /// dummy hash, and the counters they add up to): fast setup for tests that need many
    /// tokens. Returns the records.
    pub async fn seed(
        &self,
        tenant: &str,
        user: &str,
        n: usize,
    ) -> Vec<api_tokens::model::TokenItem> {
        self.seed_with(tenant, user, n, |t| t).await
    }

    /// [`App::seed`] with each record changed by `edit` first (still active: the counters
    /// count them so).
    pub async fn seed_with(
        &self,
        tenant: &str,
        user: &str,
        n: usize,
        edit: impl Fn(api_tokens::model::TokenItem) -> api_tokens::model::TokenItem,
    ) -> Vec<api_tokens::model::TokenItem> {
        use aws_sdk_dynamodb::types::{AttributeValue as A, PutRequest, WriteRequest};
        use futures_util::StreamExt;
        let items: Vec<_> = (0..n).map(|_| edit(sample_token(tenant, user))).collect();
        let mut writes = Vec::new();
        let mut shards = std::collections::BTreeMap::<u32, i64>::new();
        for t in &items {
            let record = api_tokens::store::record_attributes(t, None).unwrap();
            let cred = std::collections::HashMap::from([
                ("pk".to_string(), A::S(schema::credential_pk(t.id))),
                ("tenant_id".into(), A::S(t.tenant_id.clone())),
                ("user_id".into(), A::S(t.user_id.clone())),
                ("scopes".into(), A::L(vec![])),
                ("status".into(), A::S("active".into())),
                (schema::SECRET_HASH.into(), A::S("not-a-real-hash".into())),
            ]);
            for item in [record, cred] {
                let put = PutRequest::builder().set_item(Some(item)).build().unwrap();
                writes.push(WriteRequest::builder().put_request(put).build());
            }
            *shards.entry(schema::counter_shard(t.id)).or_default() += 1;
        }
        let chunks: Vec<Vec<WriteRequest>> = writes.chunks(25).map(<[_]>::to_vec).collect();
        futures_util::stream::iter(chunks)
            .for_each_concurrent(4, |mut chunk| async move {
                while !chunk.is_empty() {
                    let out = self
                        .dynamodb
                        .batch_write_item()
                        .request_items(&self.table, chunk)
                        .send()
                        .await
                        .expect("seed");
                    chunk = out
                        .unprocessed_items
                        .and_then(|mut u| u.remove(&self.table))
                        .unwrap_or_default();
                }
            })
            .await;
        for (shard, count) in shards {
            for owner in [None, Some(user)] {
                self.dynamodb
                    .update_item()
                    .table_name(&self.table)
                    .key("pk", A::S(schema::counter_pk(tenant, owner, shard)))
                    .update_expression("ADD active :n")
                    .expression_attribute_values(":n", A::N(count.to_string()))
                    .send()
                    .await
                    .expect("seed counters");
            }
        }
        items
    }

    /// Writes record `t` with every index key the service would give it, after `edit` has
    /// changed its attributes: for records the service itself never writes (damaged or
    /// left by an older version). No credential, no counters.
    pub async fn put_record(
        &self,
        t: &api_tokens::model::TokenItem,
        edit: impl FnOnce(
            &mut std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
        ),
    ) {
        let mut item = api_tokens::store::record_attributes(t, None).unwrap();
        edit(&mut item);
        self.dynamodb
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .expect("put a record");
    }

    /// Every item of the table, as DynamoDB returns it (for inspecting what is stored).
    pub async fn scan_all(
        &self,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .dynamodb
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan");
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return items;
            }
        }
    }
}
