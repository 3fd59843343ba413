//! The lifecycle publisher under faults: EventBridge (behind the proxy) resets connections,
//! loses answers of puts that happened, fails and throttles, while Lambda's stream retries
//! call the publisher again from the first failed record. Every event arrives, more than once
//! only as an identical copy with the same `event_id`, and a publisher out of time reports
//! every record it did not send.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use api_tokens::events::lifecycle::{self, EventBridgeSink, PublisherConfig};
use api_tokens::Budget;
use fault_proxy::{Fault, FaultProxy, Rule};
use serde_json::{json, Value};

use crate::aws_stub::{AwsStub, Captured};
use crate::jobs::{assert_faults_fired, LATE};

/// EventBridge's `ThrottlingException`, as its JSON protocol answers it (HTTP 400).
const EVENTBRIDGE_THROTTLING: &str =
    r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;

/// EventBridge behind a fault proxy: the stand-in that records every `PutEvents` and
/// accepts every entry, the proxy in front of it, and the sink publishing through the proxy
/// on the publisher's budget (`Budget::EVENTS`: its timeouts and retries).
struct FaultyEventBridge {
    stub: AwsStub,
    proxy: FaultProxy,
    sink: EventBridgeSink,
}

impl FaultyEventBridge {
    async fn start() -> Self {
        let stub = AwsStub::start(|_, _, body| {
            let n = body["Entries"].as_array().map_or(0, Vec::len);
            let entries: Vec<Value> = (0..n)
                .map(|i| json!({ "EventId": format!("6f8e2a4c-1b3d-4e5f-8a7b-{i:012}") }))
                .collect();
            (200, json!({"FailedEntryCount": 0, "Entries": entries}))
        })
        .await;
        let proxy = FaultProxy::start(&stub.endpoint)
            .await
            .expect("start the fault proxy");
        let config = stub
            .sdk_config()
            .into_builder()
            .endpoint_url(proxy.endpoint())
            .timeout_config(Budget::EVENTS.timeout_config())
            .retry_config(Budget::EVENTS.retry_config())
            .build();
        let sink = EventBridgeSink::new(
            aws_sdk_eventbridge::Client::new(&config),
            PublisherConfig {
                event_bus_name: "tokens-events".into(),
                event_source: "api-tokens".into(),
            },
        );
        Self { stub, proxy, sink }
    }

    /// Every entry that reached EventBridge, in arrival order, its `Detail` parsed.
    fn entries(&self) -> Vec<Value> {
        self.stub
            .requests()
            .iter()
            .flat_map(|r: &Captured| {
                assert_eq!(r.target, "AWSEvents.PutEvents");
                let body: Value = serde_json::from_str(&r.body).expect("a JSON request");
                body["Entries"].as_array().cloned().unwrap_or_default()
            })
            .map(|mut e| {
                e["Detail"] = serde_json::from_str(e["Detail"].as_str().unwrap()).unwrap();
                e
            })
            .collect()
    }
}

/// `n` stream records, each the creation of a token of its own (one event each), with
/// increasing sequence numbers.
fn stream_records(n: u128) -> Vec<Value> {
    let created =
        integration_tests::fixture("streams-token-lifecycle.json", &[])["Records"][8].clone();
    assert_eq!(created["eventName"], "INSERT");
    (0..n)
        .map(|i| {
            let mut r = created.clone();
            r["eventID"] = json!(format!("{i:032x}"));
            r["dynamodb"]["SequenceNumber"] =
                json!(format!("{}", 800_000_000_000_000_000_000u128 + i));
            r["dynamodb"]["NewImage"]["id"] =
                json!({ "S": format!("01a20644-e8ec-7530-a3ba-{i:012}") });
            r
        })
        .collect()
}

/// The `event_id` each record's event must carry, by the record's sequence number.
fn expected_event_ids(records: &[Value]) -> BTreeMap<String, String> {
    records
        .iter()
        .map(|raw| {
            let record = lifecycle::stream::read_record(raw).expect("a readable record");
            let events = lifecycle::events_of(&record);
            assert_eq!(events.len(), 1);
            (
                record.sequence_number.clone(),
                events[0].detail.event_id.to_string(),
            )
        })
        .collect()
}

fn sequence_number(record: &Value) -> &str {
    record["dynamodb"]["SequenceNumber"].as_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_publisher_under_faults_delivers_every_event_with_only_identical_duplicates() {
    let bridge = FaultyEventBridge::start().await;
    let records = stream_records(60);
    let expected = expected_event_ids(&records);
    // Each fault once on the first requests (the first call's three attempts fail: an
    // answer lost after EventBridge took the events, a reset, a 500; the next is throttled),
    // then each at random.
    let throttled = || Fault::Status {
        status: 400,
        body: EVENTBRIDGE_THROTTLING.into(),
    };
    let faults = [
        (Fault::Reset.after_forward(), 0.2),
        (Fault::Reset, 0.15),
        (Fault::ServerError, 0.15),
        (throttled(), 0.15),
    ];
    let once = faults.iter().map(|(f, _)| Rule::new(f.clone()).limit(1));
    let mixed = faults
        .iter()
        .map(|(f, share)| Rule::new(f.clone()).share(*share));
    bridge.proxy.set(once.chain(mixed).collect());

    // Lambda's stream retry: the batch again from the first record reported failed on.
    let mut pending = records.clone();
    let mut deliveries = 0;
    while !pending.is_empty() {
        deliveries += 1;
        assert!(
            deliveries <= 30,
            "{} records never published",
            pending.len()
        );
        let stop_at = Instant::now() + Duration::from_secs(20);
        let event = json!({ "Records": pending });
        let answer = lifecycle::publish_until(&bridge.sink, &event, Some(stop_at))
            .await
            .expect("a stream event");
        let Some(first) = answer.batch_item_failures.first() else {
            break;
        };
        let from = pending
            .iter()
            .position(|r| sequence_number(r) == first.item_identifier)
            .expect("a failure names a record of the batch");
        pending.drain(..from);
    }
    eprintln!("publisher under faults: {deliveries} deliveries");
    assert_faults_fired(
        &bridge.proxy,
        &["after_forward:reset", "reset", "server_error", "status"],
    );

    // Every record's event arrived; the copies of one event are identical.
    let entries = bridge.entries();
    let mut by_event_id: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for e in &entries {
        let id = e["Detail"]["event_id"].as_str().unwrap().to_string();
        by_event_id.entry(id).or_default().push(e);
    }
    let sent: BTreeSet<&String> = by_event_id.keys().collect();
    let wanted: BTreeSet<&String> = expected.values().collect();
    assert_eq!(sent, wanted, "one distinct event per record");
    for (id, copies) in &by_event_id {
        assert!(copies.iter().all(|c| *c == copies[0]), "event {id} differs");
    }
    // A write whose answer was lost is sent again: duplicates, all identical.
    eprintln!("{} entries for {} events", entries.len(), by_event_id.len());
    assert!(entries.len() > records.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publisher_out_of_time_reports_every_record_it_did_not_send() {
    let bridge = FaultyEventBridge::start().await;
    let records = stream_records(60);
    let expected = expected_event_ids(&records);
    // Each call takes 400 ms: two calls of ten fit before the stop, the third does not.
    bridge
        .proxy
        .set(vec![Rule::new(Fault::Latency(Duration::from_millis(400)))]);
    let stop_at = Instant::now() + Duration::from_secs(1);
    let answer =
        lifecycle::publish_until(&bridge.sink, &json!({ "Records": records }), Some(stop_at))
            .await
            .expect("a stream event");
    let late = Instant::now().saturating_duration_since(stop_at);
    assert!(late <= LATE, "returned {late:?} after its stop");

    let failed: Vec<&str> = answer
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    let reached: BTreeSet<String> = bridge
        .entries()
        .iter()
        .map(|e| e["Detail"]["event_id"].as_str().unwrap().to_string())
        .collect();
    let (sent, unsent) = (reached.len(), failed.len());
    eprintln!("out of time: {sent} events reached EventBridge, {unsent} records failed");
    assert!(!failed.is_empty(), "the stop came before the end");
    assert!(!reached.is_empty(), "the calls before the stop went out");
    // Lambda retries from the first failure on: every record before it was published, and
    // none is lost.
    let first = records
        .iter()
        .position(|r| sequence_number(r) == failed[0])
        .expect("a failure names a record of the batch");
    for r in &records[..first] {
        let id = &expected[sequence_number(r)];
        assert!(reached.contains(id), "record {} lost", sequence_number(r));
    }
    let reported: Vec<&str> = records[first..].iter().map(sequence_number).collect();
    assert_eq!(failed, reported, "everything from the first failure on");
}
