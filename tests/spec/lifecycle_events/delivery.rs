//! Delivery: calls of at most ten entries, a refused entry or call fails exactly the stream
//! records in it, and what can never be read is skipped.

use api_tokens::events::lifecycle;
use serde_json::{json, Value};

use super::eventbridge::{failures, put_events_answer, EventBridge};
use super::fixture::{fixture, sequence_number_of, ALICE, CI, FIXTURE};

#[tokio::test]
async fn more_than_ten_events_go_out_in_calls_of_at_most_ten() {
    let bridge = EventBridge::start().await;
    let created = fixture(FIXTURE)["Records"][8].clone();
    let records: Vec<Value> = (0..23)
        .map(|i| {
            let mut r = created.clone();
            let id = format!("01a20644-e8ec-7530-a3ba-{i:012}");
            r["eventID"] = json!(format!("{i:032x}"));
            r["dynamodb"]["SequenceNumber"] =
                json!(format!("{}", 800_000_000_000_000_000_000u128 + i));
            r["dynamodb"]["NewImage"]["id"] = json!({ "S": id });
            r
        })
        .collect();

    let response = bridge.publish(&json!({ "Records": records })).await;

    assert!(response.batch_item_failures.is_empty());
    let sizes: Vec<usize> = bridge.calls().iter().map(Vec::len).collect();
    assert_eq!(sizes, [10, 10, 3]);
    let ids: Vec<String> = bridge
        .entries()
        .iter()
        .map(|e| e["Detail"]["token_id"].as_str().unwrap().to_string())
        .collect();
    let in_order: Vec<String> = (0..23)
        .map(|i| format!("01a20644-e8ec-7530-a3ba-{i:012}"))
        .collect();
    assert_eq!(ids, in_order);
}

#[tokio::test]
async fn a_refused_entry_fails_exactly_its_stream_record() {
    // EventBridge refuses the 6th entry of the first call: CI's TokenRotated.
    let bridge = EventBridge::answering(|call, entries| {
        let refused: &[usize] = if call == 0 { &[5] } else { &[] };
        (200, put_events_answer(entries.len(), refused))
    })
    .await;

    let response = bridge.publish(&fixture(FIXTURE)).await;

    assert_eq!(
        failures(&response),
        [sequence_number_of("e2d07386965b5550f23be0cfbcfbbe00")]
    );
    // Everything was still sent once (a retry resends from that record on).
    assert_eq!(bridge.entries().len(), 15);
}

#[tokio::test]
async fn a_failed_call_fails_every_record_with_an_entry_in_it() {
    // The second call is refused whole. CI_2's rotation without grace period is two events,
    // the last of the first call and the first of the second: that record fails too.
    let bridge = EventBridge::answering(|call, entries| match call {
        0 => (200, put_events_answer(entries.len(), &[])),
        _ => (
            400,
            json!({"__type": "AccessDeniedException", "Message": "not authorized to perform: events:PutEvents"}),
        ),
    })
    .await;

    let response = bridge.publish(&fixture(FIXTURE)).await;

    let expected: Vec<String> = [
        "12d622e24241e72a31356e0a13d6bbb0", // CI_2 rotated and revoked
        "e5c9f61970915cae757512f568161e46", // LAPTOP revoked
        "3a3f8589e0460884f0b5f3f3347f6511", // CI revoked at the end of its grace period
        "8bc439943f7a8a37d315142ba911c140", // BACKUP expired
        "79567fb3ef8724f7ce416485a2627813", // BACKUP purged
    ]
    .iter()
    .map(|id| sequence_number_of(id))
    .collect();
    assert_eq!(failures(&response), expected);
}

#[tokio::test]
async fn a_record_that_can_never_be_read_is_skipped_and_the_rest_published() {
    let bridge = EventBridge::start().await;
    let mut event = fixture(FIXTURE);
    let records = event["Records"].as_array_mut().unwrap();
    // ALICE's creation without its image; CI's update with a status no token has.
    records[4]["dynamodb"]
        .as_object_mut()
        .unwrap()
        .remove("NewImage");
    records[14]["dynamodb"]["NewImage"]["status"] = json!({"S": "paused"});

    let response = bridge.publish(&event).await;

    // Retrying could not help, so neither is reported; the batch goes on.
    assert!(response.batch_item_failures.is_empty());
    let sent: Vec<(String, String)> = bridge
        .entries()
        .iter()
        .map(|e| {
            (
                e["DetailType"].as_str().unwrap().into(),
                e["Detail"]["token_id"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(sent.len(), 13);
    assert!(!sent.contains(&("TokenCreated".into(), ALICE.into())));
    assert!(!sent.contains(&("TokenUpdated".into(), CI.into())));
}

#[tokio::test]
async fn an_invocation_that_is_not_a_stream_event_is_an_error() {
    let bridge = EventBridge::start().await;
    let not_a_stream = json!({"detail-type": "Scheduled Event", "detail": {}});
    assert_eq!(
        lifecycle::publish(&bridge.sink, &not_a_stream).await,
        Err(lifecycle::NotAStreamEvent)
    );
    assert!(bridge.requests().is_empty());
}
