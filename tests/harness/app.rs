//! A running service: the dev server over a table of its own, and requests to it.

use std::net::SocketAddr;
use std::sync::Arc;

use api_tokens::service::CreateInput;
use api_tokens::{schema, Config, DynamoStore, TokenService};
use hyper::body::Bytes;
use hyper::Method;
use serde_json::Value;

use crate::capture;
use crate::config::test_config_with;
use crate::dynamodb::{dynamodb, dynamodb_for_service, endpoint, RequestCounter};
use crate::http::{HttpClient, Reply};

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
    /// The fault-injecting proxy between the service and DynamoDB Local, when started
    /// with [`App::start_behind_proxy`].
    pub proxy: Option<fault_proxy::FaultProxy>,
    http: HttpClient,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for App {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl App {
    /// Starts a service over a new table.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Starts a service with extra configuration variables.
    pub async fn start_with(extra: &[(&str, &str)]) -> Self {
        Self::start_on(extra, None).await
    }

    /// Starts a service whose DynamoDB requests go through a fault-injecting proxy
    /// ([`App::faults`]); the test's own client (`dynamodb`) still reaches DynamoDB Local
    /// directly.
    pub async fn start_behind_proxy(extra: &[(&str, &str)]) -> Self {
        let proxy = fault_proxy::FaultProxy::start(&endpoint())
            .await
            .expect("start the fault proxy");
        Self::start_on(extra, Some(proxy)).await
    }

    /// The proxy of an app started with [`App::start_behind_proxy`].
    pub fn faults(&self) -> &fault_proxy::FaultProxy {
        self.proxy
            .as_ref()
            .expect("App::start_behind_proxy starts the proxy")
    }

    async fn start_on(extra: &[(&str, &str)], proxy: Option<fault_proxy::FaultProxy>) -> Self {
        let table = format!("tokens-{}", uuid::Uuid::now_v7().simple());
        let dynamodb = dynamodb(&endpoint());
        schema::create_table(&dynamodb, &table)
            .await
            .expect("create the test table on DynamoDB Local");
        let config = test_config_with(&table, extra);
        let requests = RequestCounter::default();
        let service_endpoint = proxy.as_ref().map_or_else(endpoint, |p| p.endpoint());
        let service = Arc::new(TokenService::new(
            DynamoStore::new(
                dynamodb_for_service(&service_endpoint, requests.clone()),
                &table,
            ),
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
            proxy,
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
        mint_token(&self.service, tenant, user, scopes, input).await
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
}

/// Mints a token of `user` in `tenant` with `scopes` directly through `service` (no HTTP, as
/// the operator's tool mints a first admin); returns its id and secret. An empty name in
/// `input` becomes `"<user> token"`.
pub async fn mint_token<S: api_tokens::store::TokenStore>(
    service: &TokenService<S>,
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
    let (item, secret) = service
        .issue(tenant, user, user, input)
        .await
        .expect("mint a token");
    (item.id.to_string(), secret.expose().to_string())
}
