//! A local stand-in for an AWS service that speaks the JSON protocol (EventBridge, SSM, SQS):
//! it records every request the SDK sends and answers each with what the test decides. Only
//! for services without a local emulator; DynamoDB is always DynamoDB Local. [`SqsQueue`]
//! builds a queue with a redrive policy on it.

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

/// An SQS queue with a redrive policy, as the revocation function meets it: the stand-in
/// takes the function's `SendMessage`s (JSON protocol), and the test delivers messages in
/// batches as Lambda's event source mapping does, counting every receive. A message listed
/// in an answer's `batchItemFailures` is delivered again; one that would be received more
/// than `max_receive_count` times goes to the dead-letter list instead.
pub struct SqsQueue {
    /// The stand-in `SendMessage` goes to (its `sdk_config` builds the client).
    pub stub: AwsStub,
    /// The queue's URL.
    pub url: String,
    state: Arc<Mutex<QueueState>>,
}

/// A message of an [`SqsQueue`].
#[derive(Debug, Clone)]
pub struct Message {
    /// Its id.
    pub id: String,
    /// Its body.
    pub body: String,
    /// Its message attributes, as `SendMessage` gave them (`{name: {DataType, StringValue}}`).
    pub attributes: Value,
    /// How often it was received.
    pub receives: u32,
}

#[derive(Default)]
struct QueueState {
    visible: std::collections::VecDeque<Message>,
    in_flight: Vec<Message>,
    dead: Vec<Message>,
    deleted: Vec<Message>,
    sent: usize,
    max_receive_count: u32,
}

impl QueueState {
    fn push(&mut self, body: String, attributes: Value) -> String {
        self.sent += 1;
        let id = format!("m-{}", self.sent);
        self.visible.push_back(Message {
            id: id.clone(),
            body,
            attributes,
            receives: 0,
        });
        id
    }
}

impl SqsQueue {
    /// An empty queue whose redrive policy has `max_receive_count`.
    pub async fn start(max_receive_count: u32) -> Self {
        let url = "https://sqs.eu-west-1.amazonaws.com/123456789012/api-tokens-revocations";
        let state = Arc::new(Mutex::new(QueueState {
            max_receive_count,
            ..QueueState::default()
        }));
        let queue = state.clone();
        let stub = AwsStub::start(move |_, target, body| {
            if target != "AmazonSQS.SendMessage" {
                return (
                    400,
                    serde_json::json!({"__type": "UnknownOperationException"}),
                );
            }
            if body["QueueUrl"] != url {
                let error = "com.amazonaws.sqs#QueueDoesNotExist";
                return (
                    400,
                    serde_json::json!({"__type": error, "message": "no such queue"}),
                );
            }
            let text = body["MessageBody"].as_str().unwrap_or_default().to_string();
            let id = queue
                .lock()
                .unwrap()
                .push(text, body["MessageAttributes"].clone());
            // The SDK does not check the body's MD5; SQS would send the real one.
            (200, serde_json::json!({"MessageId": id}))
        })
        .await;
        Self {
            stub,
            url: url.to_string(),
            state,
        }
    }

    /// A producer's message (not the function's).
    #[allow(dead_code)] // tests/bulk_revocation.rs
    pub fn send(&self, body: impl Into<String>) -> String {
        self.state.lock().unwrap().push(body.into(), Value::Null)
    }

    /// Up to `n` visible messages as one SQS event of the fixture's shape, each receive
    /// counted (a message past its last receive is dead-lettered instead); `None` when no
    /// message is left to deliver.
    pub fn receive(&self, n: usize) -> Option<Value> {
        let mut state = self.state.lock().unwrap();
        let template =
            integration_tests::fixture("sqs-revoke-batch.json", &[])["Records"][0].clone();
        let mut records = Vec::new();
        while records.len() < n {
            let Some(mut m) = state.visible.pop_front() else {
                break;
            };
            if m.receives >= state.max_receive_count {
                state.dead.push(m);
                continue;
            }
            m.receives += 1;
            let mut r = template.clone();
            r["messageId"] = serde_json::json!(m.id);
            r["body"] = serde_json::json!(m.body);
            r["attributes"]["ApproximateReceiveCount"] = serde_json::json!(m.receives.to_string());
            // The event source mapping's shape of each attribute.
            let mut attributes = serde_json::Map::new();
            for (name, a) in m.attributes.as_object().into_iter().flatten() {
                attributes.insert(
                    name.clone(),
                    serde_json::json!({
                        "stringValue": a["StringValue"],
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": a["DataType"],
                    }),
                );
            }
            r["messageAttributes"] = Value::Object(attributes);
            records.push(r);
            state.in_flight.push(m);
        }
        (!records.is_empty()).then(|| serde_json::json!({ "Records": records }))
    }

    /// Settles a delivered batch by the function's answer: the messages it names in
    /// `batchItemFailures` become visible again, the others are deleted.
    pub fn settle(&self, batch: &Value, answer: &Value) {
        let failed: Vec<&str> = answer["batchItemFailures"]
            .as_array()
            .expect("an SQS answer")
            .iter()
            .filter_map(|f| f["itemIdentifier"].as_str())
            .collect();
        let mut state = self.state.lock().unwrap();
        for record in batch["Records"].as_array().unwrap() {
            let id = record["messageId"].as_str().unwrap();
            let at = state.in_flight.iter().position(|m| m.id == id).unwrap();
            let m = state.in_flight.remove(at);
            if failed.contains(&id) {
                state.visible.push_back(m);
            } else {
                state.deleted.push(m);
            }
        }
    }

    /// Messages moved to the dead-letter queue.
    pub fn dead(&self) -> Vec<Message> {
        self.state.lock().unwrap().dead.clone()
    }

    /// Messages handled and deleted, in that order.
    pub fn deleted(&self) -> Vec<Message> {
        self.state.lock().unwrap().deleted.clone()
    }
}
