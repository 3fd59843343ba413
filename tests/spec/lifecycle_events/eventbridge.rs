//! The EventBridge stand-in: a local endpoint that records every request the SDK sends and
//! answers as EventBridge does, or with the failures a test asks for.

use api_tokens::events::lifecycle::{self, BatchResponse, EventBridgeSink, PublisherConfig};
use serde_json::{json, Value};

use crate::aws_stub::{AwsStub, Captured};

pub(super) const BUS: &str = "tokens-events";

/// A stand-in for EventBridge that records every request, and the sink publishing to it.
pub(super) struct EventBridge {
    pub(super) sink: EventBridgeSink,
    stub: AwsStub,
}

impl EventBridge {
    /// Accepts every entry.
    pub(super) async fn start() -> Self {
        Self::answering(|_, entries| (200, put_events_answer(entries.len(), &[]))).await
    }

    /// Answers call `n` with `answer(n, entries)`.
    pub(super) async fn answering(
        answer: impl Fn(usize, &[Value]) -> (u16, Value) + Send + Sync + 'static,
    ) -> Self {
        let stub = AwsStub::start(move |n, _, body| {
            let entries = body["Entries"].as_array().cloned().unwrap_or_default();
            answer(n, &entries)
        })
        .await;
        let client = aws_sdk_eventbridge::Client::new(&stub.sdk_config());
        let sink = EventBridgeSink::new(
            client,
            PublisherConfig {
                event_bus_name: BUS.into(),
                event_source: "api-tokens".into(),
            },
        );
        Self { sink, stub }
    }

    pub(super) async fn publish(&self, event: &Value) -> BatchResponse {
        lifecycle::publish(&self.sink, event)
            .await
            .expect("a stream event")
    }

    /// Every request so far.
    pub(super) fn requests(&self) -> Vec<Captured> {
        self.stub.requests()
    }

    /// The entries of each `PutEvents` call, with each `Detail` parsed.
    pub(super) fn calls(&self) -> Vec<Vec<Value>> {
        self.requests()
            .iter()
            .map(|r| {
                assert_eq!(r.target, "AWSEvents.PutEvents");
                let body: Value = serde_json::from_str(&r.body).unwrap();
                let entries = body["Entries"].as_array().unwrap();
                assert!(
                    (1..=10).contains(&entries.len()),
                    "{} entries",
                    entries.len()
                );
                entries
                    .iter()
                    .map(|e| {
                        let mut e = e.clone();
                        e["Detail"] = serde_json::from_str(e["Detail"].as_str().unwrap()).unwrap();
                        e
                    })
                    .collect()
            })
            .collect()
    }

    /// Every entry sent, in order.
    pub(super) fn entries(&self) -> Vec<Value> {
        self.calls().into_iter().flatten().collect()
    }
}

/// EventBridge's answer to `PutEvents`: an event id per entry, or an error for the indexes in
/// `refused`.
pub(super) fn put_events_answer(entries: usize, refused: &[usize]) -> Value {
    let results: Vec<Value> = (0..entries)
        .map(|i| match refused.contains(&i) {
            true => {
                json!({"ErrorCode": "InternalFailure", "ErrorMessage": "Internal service error"})
            }
            false => json!({"EventId": format!("6f8e2a4c-1b3d-4e5f-8a7b-{i:012}")}),
        })
        .collect();
    json!({"FailedEntryCount": refused.len(), "Entries": results})
}

/// Asserts that no request body contains any of `forbidden`.
pub(super) fn assert_sent_none_of(bridge: &EventBridge, forbidden: &[String]) {
    let requests = bridge.requests();
    assert!(!requests.is_empty());
    for request in requests {
        for text in forbidden {
            assert!(
                !request.body.contains(text.as_str()),
                "{text:?} was sent: {}",
                request.body
            );
        }
    }
}

pub(super) fn failures(response: &BatchResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}
