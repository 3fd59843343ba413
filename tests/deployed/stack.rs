//! One deployment of the stack under the emulator: the AWS stand-in (DynamoDB Local behind it,
//! SSM serving fresh keys), the Lambda service running the release binaries, and the HTTP API.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use api_tokens::service::CreateInput;
use api_tokens::{Config, DynamoStore, TokenService};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::Method;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use lambda_emulator::apigw::{serve_http_api, HttpApiServer};
use lambda_emulator::aws::{AwsOptions, AwsStandIn};
use lambda_emulator::invoke::Invoke;
use lambda_emulator::lambda::{Lambda, LambdaOptions};
use lambda_emulator::model::Deployment;
use serde_json::Value;

/// The directory `scripts/test-lambda` prepared: `bin/`, `model.json`, `model-cached.json`,
/// `logs/`, and the calls log.
pub fn emulator_dir() -> PathBuf {
    std::env::var("LAMBDA_EMULATOR_DIR")
        .expect("LAMBDA_EMULATOR_DIR is not set: run ./scripts/test-lambda")
        .into()
}

/// Which expansion of the template.
#[derive(Clone, Copy)]
pub enum Template {
    /// Parameters at their defaults (no authorizer cache).
    Default,
    /// `AuthorizerCacheTtlSeconds=300`.
    Cached,
}

/// A running stack.
pub struct Stack {
    pub deployment: Deployment,
    pub lambda: Lambda,
    pub aws: AwsStandIn,
    pub api: HttpApiServer,
    /// The same table and keys, in process: for minting a first token and reading records.
    pub service: TokenService<DynamoStore>,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub table: String,
    /// Between the functions and DynamoDB, when started by [`Stack::start_behind_proxy`].
    pub proxy: Option<fault_proxy::FaultProxy>,
}

impl Stack {
    /// Starts a stack from the template as deployed by default.
    pub async fn start() -> Self {
        Self::start_with(Template::Default, |_| {}).await
    }

    /// Starts a stack from `template`, after `edit` changed the expanded model (for controls
    /// that show what a different template would do).
    pub async fn start_with(template: Template, edit: impl FnOnce(&mut Deployment)) -> Self {
        Self::start_on(template, edit, false).await
    }

    /// Starts a stack from `template` whose functions reach DynamoDB through a
    /// fault-injecting proxy ([`Stack::proxy`]) in front of the AWS stand-in.
    pub async fn start_behind_proxy(template: Template) -> Self {
        Self::start_on(template, |_| {}, true).await
    }

    async fn start_on(
        template: Template,
        edit: impl FnOnce(&mut Deployment),
        proxied: bool,
    ) -> Self {
        let dir = emulator_dir();
        let file = match template {
            Template::Default => "model.json",
            Template::Cached => "model-cached.json",
        };
        let mut deployment = Deployment::read(&dir.join(file)).expect("the expanded template");
        edit(&mut deployment);
        let table = deployment.tables["TokensTable"].name.clone();
        let endpoint = integration_tests::endpoint();
        let dynamodb = integration_tests::dynamodb(&endpoint);
        match api_tokens::schema::create_table(&dynamodb, &table).await {
            Ok(()) => {}
            Err(e) if format!("{e:?}").contains("ResourceInUse") => {}
            Err(e) => panic!("create {table}: {e:?}"),
        }
        // Fresh keys, served by the SSM stand-in under the template's parameter names.
        let key = || {
            let mut k = [0u8; 32];
            ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut k).unwrap();
            STANDARD.encode(k)
        };
        let (cursor_keys, hash_key) = (key(), key());
        let parameters = BTreeMap::from([
            (
                deployment.parameters["CursorKeysParameter"].clone(),
                cursor_keys.clone(),
            ),
            (
                deployment.parameters["TokenHashKeyParameter"].clone(),
                hash_key.clone(),
            ),
        ]);
        let aws = aws_stand_in(&deployment, parameters).await;
        let proxy = match proxied {
            true => Some(
                fault_proxy::FaultProxy::start(&aws.url())
                    .await
                    .expect("the fault proxy"),
            ),
            false => None,
        };
        let dynamodb_endpoint = proxy.as_ref().map(|p| {
            let var = "AWS_ENDPOINT_URL_DYNAMODB".to_string();
            BTreeMap::from([(var, p.endpoint())])
        });
        let lambda = lambda_with(&deployment, &aws, dynamodb_endpoint.unwrap_or_default());
        let invoker: Arc<dyn Invoke> = Arc::new(lambda.clone());
        let api = serve_http_api(&deployment.http_apis["TokensApi"], &deployment, invoker)
            .await
            .expect("the HTTP API");
        let scopes = &deployment.functions["TokensCreateFunction"].environment["EXTRA_SCOPES"];
        let config = Config::from_lookup(|k| match k {
            "TABLE_NAME" => Some(table.clone()),
            "CURSOR_KEYS" => Some(cursor_keys.clone()),
            "TOKEN_HASH_KEY" => Some(hash_key.clone()),
            "EXTRA_SCOPES" => Some(scopes.clone()),
            _ => None,
        })
        .unwrap();
        let service = TokenService::new(DynamoStore::new(dynamodb.clone(), &table), &config);
        Self {
            deployment,
            lambda,
            aws,
            api,
            service,
            dynamodb,
            table,
            proxy,
        }
    }

    /// Mints a token in process (a tenant's first admin token, as `tokens-admin` does).
    pub async fn mint(&self, tenant: &str, user: &str, scopes: &[&str]) -> String {
        self.mint_with(tenant, user, scopes, CreateInput::default())
            .await
    }

    /// [`Self::mint`] with more of the token's fields.
    pub async fn mint_with(
        &self,
        tenant: &str,
        user: &str,
        scopes: &[&str],
        input: CreateInput,
    ) -> String {
        integration_tests::mint_token(&self.service, tenant, user, scopes, input)
            .await
            .1
    }

    /// A request to the HTTP API from the loopback address `from` (its `sourceIp`).
    pub async fn request(
        &self,
        from: IpAddr,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        request(self.api.addr(), from, method, path, token, body).await
    }

    /// [`Self::request`] from 127.0.0.1.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Reply {
        self.request(LOCALHOST, method, path, Some(token), body)
            .await
    }

    /// A token record as stored.
    pub async fn record(
        &self,
        id: &str,
    ) -> Option<BTreeMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let out = self
            .dynamodb
            .get_item()
            .table_name(&self.table)
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("TOKEN#{id}")),
            )
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        out.item.map(|i| i.into_iter().collect())
    }
}

/// Runs `deployment`'s functions as the suite does: the AWS stand-in (DynamoDB Local behind
/// it, SSM serving `parameters`, every call appended to the calls log) and the Lambda service
/// over the release binaries, frozen between invocations.
pub async fn run_functions(
    deployment: &Deployment,
    parameters: BTreeMap<String, String>,
) -> (AwsStandIn, Lambda) {
    let aws = aws_stand_in(deployment, parameters).await;
    let lambda = lambda_for(deployment, &aws);
    (aws, lambda)
}

/// The AWS stand-in for `deployment`: DynamoDB Local behind it, SSM serving `parameters`,
/// every call appended to the calls log.
async fn aws_stand_in(deployment: &Deployment, parameters: BTreeMap<String, String>) -> AwsStandIn {
    let dir = emulator_dir();
    AwsStandIn::start(
        deployment,
        AwsOptions {
            dynamodb_endpoint: integration_tests::endpoint(),
            dynamodb_access_key: "local".into(),
            dynamodb_region: "us-east-1".into(),
            parameters,
            calls_log: Some(dir.join("calls.jsonl")),
        },
    )
    .await
    .expect("the AWS stand-in")
}

/// A Lambda service over the release binaries for `deployment`'s functions, calling `aws`.
pub fn lambda_for(deployment: &Deployment, aws: &AwsStandIn) -> Lambda {
    lambda_with(deployment, aws, BTreeMap::new())
}

/// [`lambda_for`], every function also given `extra_env`.
fn lambda_with(
    deployment: &Deployment,
    aws: &AwsStandIn,
    extra_env: BTreeMap<String, String>,
) -> Lambda {
    let dir = emulator_dir();
    Lambda::new(
        deployment,
        LambdaOptions {
            bin_dir: dir.join("bin"),
            log_dir: dir.join("logs"),
            freeze: true,
            extra_env,
            aws_endpoint: aws.url(),
        },
    )
}

/// 127.0.0.1.
pub const LOCALHOST: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// A loopback address other than 127.0.0.1: `127.0.0.n`.
pub fn loopback(n: u8) -> IpAddr {
    IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, n))
}

/// An answer of the API.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub json: Value,
    pub text: String,
}

/// Sends one request to `addr` from the local address `from`.
pub async fn request(
    addr: SocketAddr,
    from: IpAddr,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut connector = HttpConnector::new();
    connector.set_local_address(Some(from));
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let method_name = method.to_string();
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    let bytes = match body {
        Some(b) => {
            req = req.header("content-type", "application/json");
            serde_json::to_vec(&b).unwrap()
        }
        None => Vec::new(),
    };
    let resp = client
        .request(req.body(Full::new(Bytes::from(bytes))).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    // For the secrets scan after the suite (scripts/test-lambda runs it).
    integration_tests::capture::record_http(&method_name, path, status, &text);
    Reply {
        status,
        headers,
        json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        text,
    }
}
