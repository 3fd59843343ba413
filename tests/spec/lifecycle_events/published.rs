//! What is published: a tenant's day is these events in stream order, each kind of change
//! has exactly its detail, and writes that change no lifecycle state, secrets, hashes and
//! sealed results are never sent.

use std::collections::BTreeSet;

use api_tokens::events::lifecycle::{self, Kind};
use serde_json::{json, Value};

use super::eventbridge::{assert_sent_none_of, EventBridge, BUS};
use super::fixture::{
    fixture, fixture_records, last_use_only, ALICE, BACKUP, CI, CI_2, CI_3, FIXTURE, LAPTOP, ROOT,
};

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

    for (kind, token, stream_event_id, detail) in expected_details() {
        assert_detail(&entries, kind, token, stream_event_id, detail);
    }
}

/// Each kind of change in the fixture, with the detail it must have: kind, token, the stream
/// record's `eventID`, and the fields that differ from an empty detail.
fn expected_details() -> Vec<(Kind, &'static str, &'static str, Value)> {
    vec![
        (
            Kind::Created,
            CI_3,
            "e1166135d75485256a1e0aef05740d3a",
            json!({
                "user_id": "alice", "actor": "root", "time": "2026-11-23T02:38:29.373Z",
                "name": "ci deploy (eu)", "scopes": ["tokens:read"], "status": "active",
                "expires_at": "2026-12-23T02:38:29.373Z", "rotated_from": CI_2,
            }),
        ),
        (
            Kind::Updated,
            CI,
            "e13f22cdf99e27421a1355b28cce6c68",
            json!({
                "user_id": "alice", "actor": "alice", "time": "2026-11-23T02:38:29.180Z",
                "name": "ci deploy (eu)", "scopes": ["tokens:read"], "status": "active",
                "expires_at": "2026-12-23T02:38:29.100Z", "changed": ["name", "metadata"],
            }),
        ),
        // With a grace period the old token stays active until it ends; its expiry says when.
        (
            Kind::Rotated,
            CI,
            "e2d07386965b5550f23be0cfbcfbbe00",
            json!({
                "user_id": "alice", "actor": "alice", "time": "2026-11-23T02:38:29.219Z",
                "name": "ci deploy (eu)", "scopes": ["tokens:read"], "status": "active",
                "expires_at": "2026-11-23T02:38:30.219Z", "rotated_to": CI_2,
                "grace_ends_at": "2026-11-23T02:38:30.219Z",
            }),
        ),
        (
            Kind::Revoked,
            LAPTOP,
            "e5c9f61970915cae757512f568161e46",
            json!({
                "user_id": "bob", "actor": "root", "reason": "laptop lost",
                "time": "2026-11-23T02:38:29.444Z", "name": "bob laptop",
                "scopes": ["tokens:read", "tokens:write"], "status": "revoked", "expires_at": null,
            }),
        ),
        // The sweeper stores the end of the grace period; the revocation is the rotating user's.
        (
            Kind::Revoked,
            CI,
            "3a3f8589e0460884f0b5f3f3347f6511",
            json!({
                "user_id": "alice", "actor": "alice", "reason": "rotated",
                "time": "2026-11-23T02:38:30.219Z", "name": "ci deploy (eu)",
                "scopes": ["tokens:read"], "status": "revoked",
                "expires_at": "2026-11-23T02:38:30.219Z", "rotated_to": CI_2,
            }),
        ),
        (
            Kind::Expired,
            BACKUP,
            "8bc439943f7a8a37d315142ba911c140",
            json!({
                "user_id": "bob", "actor": "tokens-expire", "time": "2026-11-23T02:38:30.770Z",
                "name": "nightly backup", "scopes": ["orders:read"], "status": "expired",
                "expires_at": "2026-11-23T02:38:30.770Z",
            }),
        ),
        (
            Kind::Purged,
            BACKUP,
            "79567fb3ef8724f7ce416485a2627813",
            json!({
                "user_id": "bob", "actor": "dynamodb-ttl", "time": "2027-02-21T03:57:01.000Z",
                "name": "nightly backup", "scopes": ["orders:read"], "status": "expired",
                "expires_at": "2026-11-23T02:38:30.770Z",
            }),
        ),
    ]
}

/// Asserts that the `kind` entry of `token` carries exactly `detail` (beside the fields every
/// detail has), under the stream record's event id and at the change's time.
fn assert_detail(entries: &[Value], kind: Kind, token: &str, stream_event_id: &str, detail: Value) {
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
        "quota": null,
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
