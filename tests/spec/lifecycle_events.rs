//! Lifecycle events: DynamoDB Streams records in, EventBridge `PutEvents` requests out.
//!
//! The input is what Lambda delivers. `fixtures/streams-token-lifecycle.json` is one
//! tenant's day as DynamoDB Local streamed it (the scenario of
//! `events_follow_what_dynamodb_local_really_streamed`), given AWS's identifiers (eventID,
//! region, stream ARN, sequence numbers), with the TTL deletion of the expired token
//! appended. The last test runs the scenario live and publishes what the stream holds. A
//! local endpoint stands in for EventBridge: it records every request the SDK sends and
//! answers as EventBridge does, or with the failures a test asks for.

use std::collections::BTreeSet;

use api_tokens::events::lifecycle::{self, BatchResponse, EventBridgeSink, Kind, PublisherConfig};
use integration_tests::{endpoint, App, HttpClient, Method, Reply};
use serde_json::{json, Value};

use crate::aws_stub::{AwsStub, Captured};
use crate::{ADMIN, USER};

const BUS: &str = "tokens-events";
const FIXTURE: &str = "streams-token-lifecycle.json";

// The tokens of the fixture.
const ROOT: &str = "01a20644-e8ab-7487-9916-abb852d20fc8";
const ALICE: &str = "01a20644-e8c7-7070-9284-73f59abf0aef";
const CI: &str = "01a20644-e8ec-7530-a3ba-1552b2870d24";
const CI_2: &str = "01a20644-e963-73b6-8872-8605b6a38927";
const BACKUP: &str = "01a20644-e9a5-73b8-aece-bde1e9321af6";
const LAPTOP: &str = "01a20644-e9cc-7356-b593-355bd8324fad";
const CI_3: &str = "01a20644-e9fd-71d2-aa97-a11330785c4c";

#[tokio::test]
async fn a_tenant_s_day_is_these_events_in_stream_order() {
    let bridge = EventBridge::start().await;
    let response = bridge.publish(&fixture(FIXTURE)).await;

    assert!(response.batch_item_failures.is_empty());
    let summary: Vec<(String, String, String, String)> = bridge
        .entries()
        .iter()
        .map(|e| {
            assert_eq!(
                (e["Source"].as_str(), e["EventBusName"].as_str()),
                (Some("api-tokens"), Some(BUS))
            );
            let d = &e["Detail"];
            let text = |v: &Value| v.as_str().unwrap_or("-").to_string();
            (
                text(&e["DetailType"]),
                text(&d["token_id"]),
                text(&d["actor"]),
                text(&d["reason"]),
            )
        })
        .collect();
    let expected = [
        ("TokenCreated", ROOT, "root", "-"),
        ("TokenCreated", ALICE, "alice", "-"),
        ("TokenCreated", CI, "root", "-"), // for alice
        // (the authorizer's last-use records of ROOT, CI and ALICE: no event)
        ("TokenUpdated", CI, "alice", "-"),
        ("TokenCreated", CI_2, "alice", "-"), // alice rotates CI, one second of grace
        ("TokenRotated", CI, "alice", "-"),
        ("TokenCreated", BACKUP, "root", "-"), // for bob, expires in 1.5 s
        ("TokenCreated", LAPTOP, "root", "-"), // for bob
        ("TokenCreated", CI_3, "root", "-"),   // root rotates CI_2 with no grace period...
        ("TokenRotated", CI_2, "root", "-"),
        ("TokenRevoked", CI_2, "root", "rotated"), // ...in the same write
        ("TokenRevoked", LAPTOP, "root", "laptop lost"),
        ("TokenRevoked", CI, "alice", "rotated"), // the sweeper ends CI's grace period
        ("TokenExpired", BACKUP, "tokens-expire", "-"),
        ("TokenPurged", BACKUP, "dynamodb-ttl", "-"), // TTL, retention elapsed
    ];
    let expected: Vec<(String, String, String, String)> = expected
        .iter()
        .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
        .collect();
    assert_eq!(summary, expected);
    let sizes: Vec<usize> = bridge.calls().iter().map(Vec::len).collect();
    assert_eq!(sizes, [10, 5]);
}

#[tokio::test]
async fn each_kind_of_change_has_exactly_this_detail() {
    let bridge = EventBridge::start().await;
    bridge.publish(&fixture(FIXTURE)).await;
    let entries = bridge.entries();

    let expect = |kind: Kind, token: &str, stream_event_id: &str, detail: Value| {
        let entry = entries
            .iter()
            .find(|e| e["DetailType"] == kind.detail_type() && e["Detail"]["token_id"] == token)
            .unwrap_or_else(|| panic!("no {kind:?} of {token}"));
        let mut want = json!({
            "event_id": lifecycle::event_id(stream_event_id, kind).to_string(),
            "tenant_id": "acme",
            "token_id": token,
            "reason": null,
            "via": null,
            "rotated_from": null,
            "rotated_to": null,
            "grace_ends_at": null,
            "changed": [],
        });
        want.as_object_mut()
            .unwrap()
            .extend(detail.as_object().unwrap().clone());
        assert_eq!(entry["Detail"], want, "{kind:?}");
        let keys: BTreeSet<&String> = entry.as_object().unwrap().keys().collect();
        assert_eq!(
            keys.into_iter().collect::<Vec<_>>(),
            ["Detail", "DetailType", "EventBusName", "Source", "Time"]
        );
        // The event's time is the change's.
        let time = api_tokens::time::parse(want["time"].as_str().unwrap()).unwrap();
        let sent = entry["Time"].as_f64().unwrap();
        assert!(
            (sent - time.timestamp_millis() as f64 / 1000.0).abs() < 0.0005,
            "{kind:?}: {sent}"
        );
    };

    expect(
        Kind::Created,
        CI_3,
        "e1166135d75485256a1e0aef05740d3a",
        json!({
            "user_id": "alice", "actor": "root", "time": "2026-11-23T02:38:29.373Z",
            "name": "ci deploy (eu)", "scopes": ["tokens:read"], "status": "active",
            "expires_at": "2026-12-23T02:38:29.373Z", "rotated_from": CI_2,
        }),
    );
    expect(
        Kind::Updated,
        CI,
        "e13f22cdf99e27421a1355b28cce6c68",
        json!({
            "user_id": "alice", "actor": "alice", "time": "2026-11-23T02:38:29.180Z",
            "name": "ci deploy (eu)", "scopes": ["tokens:read"], "status": "active",
            "expires_at": "2026-12-23T02:38:29.100Z", "changed": ["name", "metadata"],
        }),
    );
    // With a grace period the old token stays active until it ends; its expiry says when.
    expect(
        Kind::Rotated,
        CI,
        "e2d07386965b5550f23be0cfbcfbbe00",
        json!({
            "user_id": "alice", "actor": "alice", "time": "2026-11-23T02:38:29.219Z",
            "name": "ci deploy (eu)", "scopes": ["tokens:read"], "status": "active",
            "expires_at": "2026-11-23T02:38:30.219Z", "rotated_to": CI_2,
            "grace_ends_at": "2026-11-23T02:38:30.219Z",
        }),
    );
    expect(
        Kind::Revoked,
        LAPTOP,
        "e5c9f61970915cae757512f568161e46",
        json!({
            "user_id": "bob", "actor": "root", "reason": "laptop lost",
            "time": "2026-11-23T02:38:29.444Z", "name": "bob laptop",
            "scopes": ["tokens:read", "tokens:write"], "status": "revoked", "expires_at": null,
        }),
    );
    // The sweeper stores the end of the grace period; the revocation is the rotating user's.
    expect(
        Kind::Revoked,
        CI,
        "3a3f8589e0460884f0b5f3f3347f6511",
        json!({
            "user_id": "alice", "actor": "alice", "reason": "rotated",
            "time": "2026-11-23T02:38:30.219Z", "name": "ci deploy (eu)",
            "scopes": ["tokens:read"], "status": "revoked",
            "expires_at": "2026-11-23T02:38:30.219Z", "rotated_to": CI_2,
        }),
    );
    expect(
        Kind::Expired,
        BACKUP,
        "8bc439943f7a8a37d315142ba911c140",
        json!({
            "user_id": "bob", "actor": "tokens-expire", "time": "2026-11-23T02:38:30.770Z",
            "name": "nightly backup", "scopes": ["orders:read"], "status": "expired",
            "expires_at": "2026-11-23T02:38:30.770Z",
        }),
    );
    expect(
        Kind::Purged,
        BACKUP,
        "79567fb3ef8724f7ce416485a2627813",
        json!({
            "user_id": "bob", "actor": "dynamodb-ttl", "time": "2027-02-21T03:57:01.000Z",
            "name": "nightly backup", "scopes": ["orders:read"], "status": "expired",
            "expires_at": "2026-11-23T02:38:30.770Z",
        }),
    );
}

#[test]
fn event_ids_never_change_across_versions() {
    // Consumers drop duplicates by event_id: a redelivered record must give the same id in
    // every version of the publisher.
    assert_eq!(
        lifecycle::event_id("e1166135d75485256a1e0aef05740d3a", Kind::Created).to_string(),
        "3760c38b-77f2-8e48-ab51-ae3d0d257b4f"
    );
}

#[tokio::test]
async fn writes_that_change_no_lifecycle_state_are_no_event() {
    let bridge = EventBridge::start().await;
    // Credentials, counters, the idempotency record, and the last-use records (two by the
    // authorizer, with the caller's address, and one by the harness).
    let quiet = fixture_records(|r| {
        let pk = r["dynamodb"]["Keys"]["pk"]["S"].as_str().unwrap();
        !pk.starts_with("TOKEN#") || last_use_only(r)
    });
    let last_uses = fixture_records(last_use_only);
    assert_eq!(last_uses["Records"].as_array().unwrap().len(), 3);

    let response = bridge.publish(&quiet).await;

    assert!(response.batch_item_failures.is_empty());
    assert!(bridge.requests().is_empty(), "{:?}", bridge.requests());
}

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
async fn no_secret_hash_or_sealed_result_is_ever_sent() {
    let bridge = EventBridge::start().await;
    let event = fixture(FIXTURE);
    bridge.publish(&event).await;

    // What the table holds that must never leave it: secret hashes (credentials), sealed
    // secrets (idempotency records), and the secret's first characters (`prefix`).
    let mut forbidden = vec![
        "tkn_".to_string(),
        "secret_hash".into(),
        "sealed".into(),
        "prefix".into(),
    ];
    for record in event["Records"].as_array().unwrap() {
        for image in ["NewImage", "OldImage"] {
            let image = &record["dynamodb"][image];
            for (attribute, kind) in [("secret_hash", "S"), ("sealed", "B"), ("prefix", "S")] {
                if let Some(value) = image[attribute][kind].as_str() {
                    forbidden.push(value.to_string());
                }
            }
        }
    }
    assert!(forbidden.len() > 20);
    assert_sent_none_of(&bridge, &forbidden);
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
    assert!(lifecycle::publish(&bridge.sink, &not_a_stream)
        .await
        .is_err());
    assert!(bridge.requests().is_empty());
}

#[tokio::test]
async fn events_follow_what_dynamodb_local_really_streamed() {
    let app = App::start().await;
    let root = app.mint("acme", "root", ADMIN).await;
    let alice = app.mint("acme", "alice", USER).await;
    let mut secrets = vec![root.clone(), alice.clone()];
    let mut created = |reply: Reply| {
        assert_eq!(reply.status, 201, "{}", reply.text);
        secrets.push(reply.json["secret"].as_str().unwrap().to_string());
        reply.json["id"].as_str().unwrap().to_string()
    };
    let ci = created(
        app.post(
            "/tokens",
            &root,
            json!({"name": "ci deploy", "user_id": "alice", "scopes": ["tokens:read"],
                   "expires_in_days": 30, "metadata": {"team": "infra"}}),
        )
        .await,
    );
    app.touch(ci.parse().unwrap(), api_tokens::time::now())
        .await;
    let patched = app
        .patch(
            &format!("/tokens/{ci}"),
            &alice,
            json!({"name": "ci deploy (eu)", "metadata": {"team": "infra", "region": "eu"}}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let ci_2 = created(
        app.post_keyed(
            &format!("/tokens/{ci}/rotate"),
            &alice,
            "rotate-ci-1",
            json!({"grace_period_seconds": 1}),
        )
        .await,
    );
    let soon = api_tokens::time::now() + chrono::Duration::milliseconds(1500);
    let backup = created(
        app.post(
            "/tokens",
            &root,
            json!({"name": "nightly backup", "user_id": "bob", "scopes": ["orders:read"],
                   "expires_at": api_tokens::time::format(&soon)}),
        )
        .await,
    );
    let laptop = created(
        app.post(
            "/tokens",
            &root,
            json!({"name": "bob laptop", "user_id": "bob", "scopes": ["tokens:read"]}),
        )
        .await,
    );
    let ci_3 = created(
        app.post(&format!("/tokens/{ci_2}/rotate"), &root, json!({}))
            .await,
    );
    let revoked = app
        .post(
            &format!("/tokens/{laptop}/revoke"),
            &root,
            json!({"reason": "laptop lost"}),
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    assert_eq!(app.service.sweep_expired().await.unwrap(), 2);
    let stream = stream_event(&app).await;

    let bridge = EventBridge::start().await;
    let response = bridge.publish(&stream).await;

    assert!(response.batch_item_failures.is_empty());
    let entries = bridge.entries();
    let of = |token: &str| -> Vec<(String, String, String)> {
        entries
            .iter()
            .filter(|e| e["Detail"]["token_id"] == token)
            .map(|e| {
                let d = &e["Detail"];
                let text = |v: &Value| v.as_str().unwrap_or("-").to_string();
                (
                    text(&e["DetailType"]),
                    text(&d["actor"]),
                    text(&d["reason"]),
                )
            })
            .collect()
    };
    let events = |list: &[(&str, &str, &str)]| -> Vec<(String, String, String)> {
        list.iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .collect()
    };
    assert_eq!(
        of(&ci),
        events(&[
            ("TokenCreated", "root", "-"),
            ("TokenUpdated", "alice", "-"),
            ("TokenRotated", "alice", "-"),
            ("TokenRevoked", "alice", "rotated"),
        ])
    );
    assert_eq!(
        of(&ci_2),
        events(&[
            ("TokenCreated", "alice", "-"),
            ("TokenRotated", "root", "-"),
            ("TokenRevoked", "root", "rotated"),
        ])
    );
    assert_eq!(of(&ci_3), events(&[("TokenCreated", "root", "-")]));
    assert_eq!(
        of(&backup),
        events(&[
            ("TokenCreated", "root", "-"),
            ("TokenExpired", "tokens-expire", "-")
        ])
    );
    assert_eq!(
        of(&laptop),
        events(&[
            ("TokenCreated", "root", "-"),
            ("TokenRevoked", "root", "laptop lost")
        ])
    );
    // Beside those, root's and alice's own tokens were created (and used: no event).
    assert_eq!(entries.len(), 2 + 4 + 3 + 1 + 2 + 2);
    let mut ids: Vec<&str> = entries
        .iter()
        .map(|e| e["Detail"]["event_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), entries.len(), "event ids are unique");
    let mut forbidden = secrets;
    forbidden.extend(["tkn_".to_string(), "secret_hash".into(), "sealed".into()]);
    assert_sent_none_of(&bridge, &forbidden);
}

// ---------------------------------------------------------------------------------------
// The EventBridge stand-in.

/// How the stand-in answers the `n`th `PutEvents` call (from 0), given its entries.
/// A stand-in for EventBridge that records every request, and the sink publishing to it.
struct EventBridge {
    sink: EventBridgeSink,
    stub: AwsStub,
}

impl EventBridge {
    /// Accepts every entry.
    async fn start() -> Self {
        Self::answering(|_, entries| (200, put_events_answer(entries.len(), &[]))).await
    }

    /// Answers call `n` with `answer(n, entries)`.
    async fn answering(
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

    async fn publish(&self, event: &Value) -> BatchResponse {
        lifecycle::publish(&self.sink, event)
            .await
            .expect("a stream event")
    }

    /// Every request so far.
    fn requests(&self) -> Vec<Captured> {
        self.stub.requests()
    }

    /// The entries of each `PutEvents` call, with each `Detail` parsed.
    fn calls(&self) -> Vec<Vec<Value>> {
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
    fn entries(&self) -> Vec<Value> {
        self.calls().into_iter().flatten().collect()
    }
}

/// EventBridge's answer to `PutEvents`: an event id per entry, or an error for the indexes in
/// `refused`.
fn put_events_answer(entries: usize, refused: &[usize]) -> Value {
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
fn assert_sent_none_of(bridge: &EventBridge, forbidden: &[String]) {
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

fn fixture(name: &str) -> Value {
    let path = format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).expect("a JSON fixture")
}

/// The fixture's records that `keep` selects, as a Lambda event.
fn fixture_records(keep: impl Fn(&Value) -> bool) -> Value {
    let records: Vec<Value> = fixture(FIXTURE)["Records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| keep(r))
        .cloned()
        .collect();
    json!({ "Records": records })
}

/// A `MODIFY` that changed nothing but the last-use attributes.
fn last_use_only(record: &Value) -> bool {
    let change = &record["dynamodb"];
    let (Some(old), Some(new)) = (
        change["OldImage"].as_object(),
        change["NewImage"].as_object(),
    ) else {
        return false;
    };
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let changed: Vec<&&String> = names
        .iter()
        .filter(|k| old.get(**k) != new.get(**k))
        .collect();
    !changed.is_empty() && changed.iter().all(|k| k.starts_with("last_used_"))
}

/// The `SequenceNumber` of the fixture record with this `eventID`.
fn sequence_number_of(event_id: &str) -> String {
    fixture(FIXTURE)["Records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["eventID"] == event_id)
        .and_then(|r| r["dynamodb"]["SequenceNumber"].as_str())
        .expect("a record of the fixture")
        .to_string()
}

fn failures(response: &BatchResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

// ---------------------------------------------------------------------------------------
// DynamoDB Local's stream, as Lambda delivers it.

/// Every record of the table's stream so far, as a Lambda DynamoDB Streams event: the
/// `GetRecords` records as DynamoDB Local returned them, plus the `eventSourceARN` Lambda
/// adds.
async fn stream_event(app: &App) -> Value {
    let table = dynamodb_call(
        "DynamoDB_20120810.DescribeTable",
        json!({"TableName": app.table}),
    )
    .await;
    let arn = table["Table"]["LatestStreamArn"]
        .as_str()
        .expect("the table has a stream")
        .to_string();
    let stream = dynamodb_call(
        "DynamoDBStreams_20120810.DescribeStream",
        json!({"StreamArn": arn}),
    )
    .await;
    let mut records = Vec::new();
    for shard in stream["StreamDescription"]["Shards"].as_array().unwrap() {
        let start = json!({"StreamArn": arn, "ShardId": shard["ShardId"], "ShardIteratorType": "TRIM_HORIZON"});
        let mut iterator = dynamodb_call("DynamoDBStreams_20120810.GetShardIterator", start).await
            ["ShardIterator"]
            .clone();
        while iterator.is_string() {
            let page = dynamodb_call(
                "DynamoDBStreams_20120810.GetRecords",
                json!({"ShardIterator": iterator}),
            )
            .await;
            let Some(got) = page["Records"].as_array().filter(|r| !r.is_empty()) else {
                break;
            };
            for record in got {
                let mut record = record.clone();
                record["eventSourceARN"] = json!(arn);
                empty_maps_as_dynamodb_streams_them(&mut record["dynamodb"]);
                records.push(record);
            }
            iterator = page["NextShardIterator"].clone();
        }
    }
    json!({ "Records": records })
}

/// DynamoDB Local streams an empty map attribute as `{}`; DynamoDB streams `{"M": {}}`, as
/// DynamoDB Local's own `GetItem` answers.
fn empty_maps_as_dynamodb_streams_them(change: &mut Value) {
    for image in ["Keys", "NewImage", "OldImage"] {
        if let Some(attributes) = change[image].as_object_mut() {
            for value in attributes.values_mut() {
                if value.as_object().is_some_and(|v| v.is_empty()) {
                    *value = json!({"M": {}});
                }
            }
        }
    }
}

/// One call of the DynamoDB (Streams) JSON API to DynamoDB Local, which wants a request to
/// name credentials but does not check its signature. (The Rust SDK for DynamoDB Streams
/// cannot read DynamoDB Local's `{}` for an empty map, so the tests read the records raw.)
async fn dynamodb_call(target: &str, body: Value) -> Value {
    let addr = endpoint()
        .trim_start_matches("http://")
        .parse()
        .expect("DYNAMODB_ENDPOINT is http://host:port");
    let auth = "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0";
    let headers = [
        ("content-type", "application/x-amz-json-1.0"),
        ("x-amz-target", target),
        ("authorization", auth),
    ];
    let reply = HttpClient::new()
        .send(
            addr,
            Method::POST,
            "/",
            &headers,
            body.to_string().into_bytes(),
        )
        .await;
    assert_eq!(reply.status, 200, "{target}: {}", reply.text);
    reply.json
}
