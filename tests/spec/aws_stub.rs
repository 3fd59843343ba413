//! A local stand-in for an AWS service that speaks the JSON protocol (EventBridge, SSM): it
//! records every request the SDK sends and answers each with what the test decides. Only for
//! services without a local emulator; DynamoDB is always DynamoDB Local.

use std::sync::{Arc, Mutex};

use aws_sdk_ssm::config::{Credentials, SharedCredentialsProvider};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// One request as the SDK sent it.
#[derive(Debug, Clone)]
pub struct Captured {
    /// The `X-Amz-Target` header: service and operation, e.g. `AmazonSSM.GetParameters`.
    pub target: String,
    /// The JSON body, as sent.
    pub body: String,
    /// The request's headers (signature, security token).
    pub headers: hyper::HeaderMap,
}

/// Answers request number `n` (from 0), given its operation (`X-Amz-Target`) and parsed
/// body, with a status and JSON body.
type Answer = dyn Fn(usize, &str, &Value) -> (u16, Value) + Send + Sync;

/// The running stand-in; stops when dropped.
pub struct AwsStub {
    /// `http://127.0.0.1:<port>`, the endpoint to give the SDK client.
    pub endpoint: String,
    requests: Arc<Mutex<Vec<Captured>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for AwsStub {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl AwsStub {
    /// Starts a stand-in answering with `answer`.
    pub async fn start(
        answer: impl Fn(usize, &str, &Value) -> (u16, Value) + Send + Sync + 'static,
    ) -> Self {
        let answer: Arc<Answer> = Arc::new(answer);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let recorded = requests.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (answer, recorded) = (answer.clone(), recorded.clone());
                let handler = service_fn(move |req: Request<Incoming>| {
                    let (answer, recorded) = (answer.clone(), recorded.clone());
                    async move {
                        let target = req
                            .headers()
                            .get("x-amz-target")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string();
                        let (parts, body) = req.into_parts();
                        let bytes = body.collect().await?.to_bytes();
                        let body = String::from_utf8_lossy(&bytes).into_owned();
                        let parsed = serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null);
                        let n = {
                            let mut recorded = recorded.lock().unwrap();
                            recorded.push(Captured {
                                target: target.clone(),
                                body,
                                headers: parts.headers,
                            });
                            recorded.len() - 1
                        };
                        let (status, json) = answer(n, &target, &parsed);
                        Ok::<_, hyper::Error>(
                            Response::builder()
                                .status(status)
                                .header("content-type", "application/x-amz-json-1.1")
                                .body(Full::new(Bytes::from(json.to_string())))
                                .unwrap(),
                        )
                    }
                });
                tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), handler));
            }
        });
        Self {
            endpoint: format!("http://{addr}"),
            requests,
            server,
        }
    }

    /// What a client of this stand-in is built from (`Client::new(&stub.sdk_config())`): its
    /// endpoint, a fixed region, dummy credentials and the service's HTTP client.
    pub fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "local", "local", None, None, "tests",
            )))
            .endpoint_url(&self.endpoint)
            .http_client(api_tokens::config::http_client())
            .build()
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Captured> {
        self.requests.lock().unwrap().clone()
    }
}
