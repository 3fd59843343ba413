//! The one endpoint every function's SDK clients call (`AWS_ENDPOINT_URL`). It tells the
//! service by `X-Amz-Target` (all four use AWS's JSON protocol, SQS included), the calling
//! function by the access key in the signature, and records every call.
//!
//! DynamoDB calls go on to DynamoDB Local, which keeps one database per access key and
//! region: the credential in the `Authorization` header is rewritten to the tests' own key
//! and region, so functions and tests see one database. DynamoDB Local does not verify
//! signatures, so the rewritten header needs no new signature.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, Uri};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::call::{Call, IamRequest, Recorder};
use super::credentials::KeyOwners;
use super::dynamodb;
use super::services::{Answer, Memory};
use crate::model::Deployment;

type Body = BoxBody<Bytes, hyper::Error>;

/// Where the stand-in sends DynamoDB calls, what it answers SSM with, where it logs calls.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// DynamoDB Local's URL (`http://127.0.0.1:8000`).
    pub dynamodb_endpoint: String,
    /// The access key the tests' own DynamoDB client uses.
    pub dynamodb_access_key: String,
    /// The region the tests' own DynamoDB client uses.
    pub dynamodb_region: String,
    /// SSM SecureString parameters: name → value (the model's `ssm_parameters` are served
    /// too, as String parameters).
    pub parameters: BTreeMap<String, String>,
    /// A file every call is appended to as a JSON line.
    pub calls_log: Option<PathBuf>,
}

/// The AWS stand-in: an HTTP server on 127.0.0.1. Clones share it; it stops when the last
/// clone is dropped.
#[derive(Clone)]
pub struct AwsStandIn {
    shared: Arc<Shared>,
    url: String,
    _server: Arc<Server>,
}

struct Shared {
    model: Deployment,
    options: AwsOptions,
    owners: KeyOwners,
    memory: Memory,
    recorder: Recorder,
    client: Client<HttpConnector, Full<Bytes>>,
}

struct Server(JoinHandle<()>);

impl Drop for Server {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl AwsStandIn {
    /// Starts the stand-in for `model`'s functions on a free port.
    pub async fn start(model: &Deployment, options: AwsOptions) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Shared {
            model: model.clone(),
            owners: KeyOwners::of(model),
            memory: Memory::new(model.clone(), options.parameters.clone()),
            recorder: Recorder::new(options.calls_log.clone()),
            client: Client::builder(TokioExecutor::new()).build_http(),
            options,
        });
        let server = Server(tokio::spawn(serve(listener, shared.clone())));
        Ok(Self {
            shared,
            url,
            _server: Arc::new(server),
        })
    }

    /// `http://127.0.0.1:<port>`: what `AWS_ENDPOINT_URL` is set to.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Every call so far, one per IAM request.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.recorder.calls()
    }

    /// Every entry `PutEvents` accepted, as sent.
    pub fn events(&self) -> Vec<Value> {
        self.shared.memory.events()
    }

    /// Every SQS message sent: (queue URL, body).
    pub fn sqs_messages(&self) -> Vec<(String, String)> {
        self.shared.memory.messages()
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(shared.handle(req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

impl Shared {
    async fn handle(&self, req: Request<Incoming>) -> Response<Body> {
        let target = header(&req, "x-amz-target").unwrap_or_default();
        let (prefix, operation) = target.split_once('.').unwrap_or((target.as_str(), ""));
        let (prefix, operation) = (prefix.to_owned(), operation.to_owned());
        let function = header(&req, "authorization")
            .and_then(|auth| credential(&auth).map(|c| c.0.to_owned()))
            .and_then(|key| self.owners.function(&key).map(str::to_owned))
            .unwrap_or_else(|| "unknown".into());
        let service = service_of(&prefix);
        if prefix == "DynamoDB_20120810" {
            return self.dynamodb(req, &function, &operation).await;
        }
        let body = match req.into_body().collect().await {
            Ok(body) => serde_json::from_slice(&body.to_bytes()).unwrap_or(Value::Null),
            Err(_) => Value::Null,
        };
        let answer = match (prefix.as_str(), operation.as_str()) {
            ("AmazonSSM", "GetParameters") => self.memory.get_parameters(&body),
            ("AWSEvents", "PutEvents") => self.memory.put_events(&body),
            ("AmazonSQS", "SendMessage" | "SendMessageBatch") => {
                self.memory.send_message(&operation, &body)
            }
            _ => Answer::error(
                400,
                "UnknownOperationException",
                &format!("the stand-in does not implement {target}"),
                &format!("{service}:{operation}"),
                "*",
            ),
        };
        self.recorder.record(
            &function,
            &service,
            &operation,
            answer.requests,
            answer.status,
        );
        let content_type = match prefix.as_str() {
            "AmazonSQS" => "application/x-amz-json-1.0",
            _ => "application/x-amz-json-1.1",
        };
        json_response(answer.status, content_type, &answer.body)
    }

    /// Forwards a DynamoDB call to DynamoDB Local under the tests' credential and streams
    /// the answer back unchanged.
    async fn dynamodb(
        &self,
        req: Request<Incoming>,
        function: &str,
        operation: &str,
    ) -> Response<Body> {
        let (mut parts, body) = req.into_parts();
        let bytes = match body.collect().await {
            Ok(body) => body.to_bytes(),
            Err(_) => Bytes::new(),
        };
        let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let requests = dynamodb::requests(&self.model, operation, &json);
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let endpoint = self.options.dynamodb_endpoint.trim_end_matches('/');
        let forwarded = format!("{endpoint}{path}")
            .parse::<Uri>()
            .map_err(|e| e.to_string());
        let auth = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if let Some(rewritten) = auth.and_then(|a| self.rewrite(a)) {
            parts.headers.insert("authorization", rewritten);
        }
        let result = match forwarded {
            Ok(uri) => {
                parts.uri = uri;
                let request = Request::from_parts(parts, Full::new(bytes));
                self.client
                    .request(request)
                    .await
                    .map_err(|e| e.to_string())
            }
            Err(e) => Err(e),
        };
        let response = match result {
            Ok(response) => response.map(BodyExt::boxed),
            Err(e) => {
                let body = serde_json::json!({"__type": "InternalServerError",
                    "message": format!("DynamoDB Local did not answer: {e}")});
                json_response(500, "application/x-amz-json-1.0", &body)
            }
        };
        self.record(
            function,
            "dynamodb",
            operation,
            requests,
            response.status().as_u16(),
        );
        response
    }

    fn record(
        &self,
        function: &str,
        service: &str,
        operation: &str,
        requests: Vec<IamRequest>,
        status: u16,
    ) {
        self.recorder
            .record(function, service, operation, requests, status);
    }

    /// The `Authorization` header with the tests' access key and region in its credential.
    fn rewrite(&self, auth: &str) -> Option<HeaderValue> {
        let (_, scope) = credential(auth)?;
        let mut parts: Vec<&str> = scope.split('/').collect();
        if parts.len() < 5 {
            return None;
        }
        parts[0] = &self.options.dynamodb_access_key;
        parts[2] = &self.options.dynamodb_region;
        auth.replacen(scope, &parts.join("/"), 1).parse().ok()
    }
}

/// (access key id, whole credential scope) of a SigV4 `Authorization` header.
fn credential(auth: &str) -> Option<(&str, &str)> {
    let start = auth.find("Credential=")? + "Credential=".len();
    let rest = &auth[start..];
    let scope = &rest[..rest.find([',', ' ']).unwrap_or(rest.len())];
    Some((scope.split('/').next()?, scope))
}

fn header(req: &Request<Incoming>, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The IAM service prefix of an `X-Amz-Target` prefix.
fn service_of(prefix: &str) -> String {
    match prefix {
        "DynamoDB_20120810" => "dynamodb".into(),
        "AmazonSSM" => "ssm".into(),
        "AWSEvents" => "events".into(),
        "AmazonSQS" => "sqs".into(),
        "" => "unknown".into(),
        other => other.to_lowercase(),
    }
}

fn json_response(status: u16, content_type: &str, body: &Value) -> Response<Body> {
    let bytes = Bytes::from(serde_json::to_vec(body).unwrap_or_default());
    let mut response = Response::new(Full::new(bytes).map_err(|never| match never {}).boxed());
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST);
    if let Ok(value) = content_type.parse() {
        response.headers_mut().insert("content-type", value);
    }
    if let Ok(value) = uuid::Uuid::now_v7().to_string().parse() {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_credential_names_the_key_and_is_rewritten_whole() {
        let auth = "AWS4-HMAC-SHA256 Credential=ASIAABC/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
        assert_eq!(
            credential(auth),
            Some((
                "ASIAABC",
                "ASIAABC/20240101/us-east-1/dynamodb/aws4_request"
            ))
        );
    }
}
