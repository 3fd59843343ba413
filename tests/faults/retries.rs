//! A write whose answer is lost (DynamoDB applied it; the connection reset before the answer:
//! the proxy's `Reset.after_forward()`) is recognised when it is sent again, never doubled:
//! the SDK's retry of a transaction carries the same idempotency token, and a client's retry
//! with the same `Idempotency-Key` gets the token the lost attempt created.

use fault_proxy::{Fault, Rule};
use integration_tests::App;
use serde_json::{json, Value};

use crate::ADMIN;

/// The tenant's active and revoked totals.
async fn totals(app: &App, admin: &str) -> (Value, Value) {
    let count = |status: &'static str| async move {
        let path = format!("/tokens?status={status}&include_total_count=true&limit=1");
        let r = app.get(&path, admin).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.json["total"].clone()
    };
    (count("active").await, count("revoked").await)
}

/// Loses the answer of the next `n` requests of `operation`, after DynamoDB applied them.
fn lose_answers(app: &App, operation: &str, n: usize) {
    let lost = Fault::Reset.after_forward();
    app.faults()
        .set(vec![Rule::new(lost).target(operation).limit(n)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_answer_was_lost_once_is_retried_and_recognised() {
    let app = App::start_behind_proxy(&[]).await;
    let admin = app.mint("acme", "root", ADMIN).await;

    lose_answers(&app, "TransactWriteItems", 1);
    let created = app.post("/tokens", &admin, json!({"name": "once"})).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(app.faults().stats().applied("after_forward:reset"), 1);
    assert_eq!(app.records().await.len(), 2, "one token, not two");
    let id = created.json["id"].as_str().unwrap().to_string();
    let secret = created.json["secret"].as_str().unwrap().to_string();
    assert_eq!(app.get("/tokens/self", &secret).await.status, 200);

    lose_answers(&app, "UpdateItem", 1);
    let patched = app
        .patch(&format!("/tokens/{id}"), &admin, json!({"name": "renamed"}))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.json["name"], "renamed");

    lose_answers(&app, "TransactWriteItems", 1);
    let rotated = app
        .post(
            &format!("/tokens/{id}/rotate"),
            &admin,
            json!({"grace_period_seconds": 0}),
        )
        .await;
    assert_eq!(rotated.status, 201, "{}", rotated.text);
    assert_eq!(app.records().await.len(), 3, "one new token");
    let new_id = rotated.json["id"].as_str().unwrap().to_string();

    lose_answers(&app, "TransactWriteItems", 1);
    let revoked = app
        .post(
            &format!("/tokens/{new_id}/revoke"),
            &admin,
            json!({"reason": "x"}),
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert_eq!(revoked.json["status"], "revoked");
    let new_secret = rotated.json["secret"].as_str().unwrap();
    assert_eq!(app.get("/tokens/self", new_secret).await.status, 401);

    // The counters moved once per change: the admin active; the rotated and the revoked one.
    app.faults().clear();
    assert_eq!(totals(&app, &admin).await, (json!(1), json!(2)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_answered_503_is_whole_or_absent_and_its_key_returns_it() {
    let app = App::start_behind_proxy(&[]).await;
    let admin = app.mint("acme", "root", ADMIN).await;
    // Every attempt's answer lost: the first attempt wrote the token, the SDK's retries were
    // recognised as the same transaction, and the client got 503.
    lose_answers(&app, "TransactWriteItems", usize::MAX);
    let body = json!({"name": "keyed"});
    let first = app.post_keyed("/tokens", &admin, "k-1", body.clone()).await;
    assert_eq!(first.status, 503, "{}", first.text);
    assert!(
        app.faults().stats().applied("after_forward:reset") >= 2,
        "the SDK retried"
    );
    let records = app.records().await;
    assert_eq!(records.len(), 2, "written once, whole");

    // The client retries with its key once DynamoDB answers: the token the lost attempt
    // created, with its secret, shown now for the first time.
    app.faults().clear();
    let again = app.post_keyed("/tokens", &admin, "k-1", body).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.header("idempotent-replayed"), "true");
    let id = again.json["id"].as_str().unwrap();
    assert!(records.iter().any(|r| r.id.to_string() == id));
    let secret = again.json["secret"].as_str().unwrap();
    assert_eq!(app.get("/tokens/self", secret).await.status, 200);
    assert_eq!(app.records().await.len(), 2);
    assert_eq!(totals(&app, &admin).await, (json!(2), json!(0)));
}

/// The value of token `id`'s usage counter `label`, read straight from DynamoDB Local.
async fn use_count(app: &App, id: &str, label: &str) -> Option<u64> {
    let key = api_tokens::schema::usage_pk(uuid::Uuid::parse_str(id).unwrap(), label);
    let out = app
        .dynamodb
        .get_item()
        .table_name(&app.table)
        .key(
            api_tokens::schema::PK,
            aws_sdk_dynamodb::types::AttributeValue::S(key),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.item?.get("n")?.as_n().ok()?.parse().ok()
}

/// A use's count is never sent twice: one whose answer was lost fails the request (API Gateway's
/// 5xx, a retry for the client) and is counted once, not once per SDK retry; one DynamoDB
/// throttled (not applied) is sent again and counted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_count_whose_answer_was_lost_is_counted_once_and_a_throttled_one_is_retried() {
    use api_tokens::domain::usage::{Quota, QuotaPeriod};
    // No last-use write: the count is the only UpdateItem.
    let app = App::start_behind_proxy(&[("LAST_USED_INTERVAL_SECONDS", "0")]).await;
    let quota = Quota {
        limit: 10,
        period: QuotaPeriod::Total,
    };
    let input = api_tokens::service::CreateInput {
        quota: Some(quota),
        ..Default::default()
    };
    let (id, secret) = app
        .mint_with("acme", "alice", &["tokens:read"], input)
        .await;

    lose_answers(&app, "UpdateItem", 1);
    let lost = app.get("/tokens/self", &secret).await;
    assert_eq!(lost.status, 503, "{}", lost.text);
    assert_eq!(app.faults().stats().applied("after_forward:reset"), 1);
    assert_eq!(use_count(&app, &id, "total").await, Some(1), "sent once");

    app.faults().set(vec![Rule::new(Fault::Throttle)
        .target("UpdateItem")
        .limit(1)]);
    let throttled = app.get("/tokens/self", &secret).await;
    assert_eq!(throttled.status, 200, "{}", throttled.text);
    assert_eq!(app.faults().stats().applied("throttle"), 1);
    assert_eq!(use_count(&app, &id, "total").await, Some(2));
    assert_eq!(throttled.json["quota_remaining"], 8);
}
