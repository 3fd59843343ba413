//! The live scenario: a tenant's day run against DynamoDB Local, its stream read back as
//! Lambda delivers it, and published.

use integration_tests::{endpoint, App, HttpClient, Method, Reply};
use serde_json::{json, Value};

use super::eventbridge::{assert_sent_none_of, EventBridge};
use crate::{ADMIN, USER};

#[tokio::test]
async fn events_follow_what_dynamodb_local_really_streamed() {
    let app = App::start().await;
    let day = a_tenants_day(&app).await;
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
        of(&day.ci),
        events(&[
            ("TokenCreated", "root", "-"),
            ("TokenUpdated", "alice", "-"),
            ("TokenRotated", "alice", "-"),
            ("TokenRevoked", "alice", "rotated"),
        ])
    );
    assert_eq!(
        of(&day.ci_2),
        events(&[
            ("TokenCreated", "alice", "-"),
            ("TokenRotated", "root", "-"),
            ("TokenRevoked", "root", "rotated"),
        ])
    );
    assert_eq!(of(&day.ci_3), events(&[("TokenCreated", "root", "-")]));
    assert_eq!(
        of(&day.backup),
        events(&[
            ("TokenCreated", "root", "-"),
            ("TokenExpired", "tokens-expire", "-")
        ])
    );
    assert_eq!(
        of(&day.laptop),
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
    let mut forbidden = day.secrets;
    forbidden.extend(["tkn_".to_string(), "secret_hash".into(), "sealed".into()]);
    assert_sent_none_of(&bridge, &forbidden);
}

/// The tokens of the day, and every secret it showed.
struct Day {
    ci: String,
    ci_2: String,
    ci_3: String,
    backup: String,
    laptop: String,
    secrets: Vec<String>,
}

/// The fixture's scenario, live: root and alice get tokens; root creates CI for alice, who
/// uses, renames and rotates it with a second of grace; root creates BACKUP (expiring in
/// 1.5 s) and LAPTOP for bob, rotates CI_2 with no grace and revokes LAPTOP; the sweeper
/// then ends CI's grace period and expires BACKUP.
async fn a_tenants_day(app: &App) -> Day {
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
    // Due in three seconds, far enough for its own create on a busy machine.
    let soon = api_tokens::time::now() + chrono::Duration::milliseconds(3000);
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
    // Past the backup's expiry (ci's one-second grace period ended before it was set).
    integration_tests::sleep_past(soon, 50).await;
    assert_eq!(app.service.sweep_expired().await.unwrap(), 2);
    Day {
        ci,
        ci_2,
        ci_3,
        backup,
        laptop,
        secrets,
    }
}

/// Every record of the table's stream so far, as a Lambda DynamoDB Streams event: the
/// `GetRecords` records as DynamoDB Local returned them, plus the `eventSourceARN` Lambda
/// adds.
pub(super) async fn stream_event(app: &App) -> Value {
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
