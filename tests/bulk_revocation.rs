//! Revoking every token of a user with many tokens (`RevokeUserTokens`), in a test binary of
//! its own: cargo runs test binaries one after another, so these heavy runs do not share
//! DynamoDB Local with the rest of the suite, and they run one at a time here.

use std::time::Instant;

use api_tokens::model::StoredStatus;
use api_tokens::revocation;
use api_tokens::store::TokenStore;
use integration_tests::{fixture, sqs_batch, App};
use serde_json::json;

/// One heavy test at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn revoking_a_user_with_2000_tokens_revokes_each_exactly_once() {
    let _serial = SERIAL.lock().await;
    let app = App::start().await;
    let tokens = app.seed("acme", "mallory", 2000).await;
    let others = app.seed("acme", "bob", 5).await;
    let event = fixture(
        "eventbridge-revoke-user-tokens.json",
        &[("USER_ID", "mallory")],
    );
    let before = app.requests.get();
    let started = Instant::now();
    let r = revocation::handle(&app.service, event.clone(), None)
        .await
        .unwrap();
    let took = started.elapsed();
    let requests = app.requests.get() - before;
    eprintln!(
        "revoked 2,000 tokens of one user: {} ms, {requests} DynamoDB requests",
        took.as_millis()
    );
    assert_eq!(r["done"], "revoked 2000");
    // A handful of pages and ~2000 / 25 transactions; one at a time would be 4,000.
    assert!(
        requests < 400,
        "{requests} requests: batched, not one per token"
    );

    let counts = app
        .service
        .store()
        .counts("acme", Some("mallory"))
        .await
        .unwrap();
    assert_eq!((counts.active, counts.revoked), (0, 2000));
    let records = app.records().await;
    let revoked_at: std::collections::BTreeSet<_> = records
        .iter()
        .filter(|t| t.user_id == "mallory")
        .map(|t| {
            assert_eq!(t.status, StoredStatus::Revoked);
            assert_eq!(t.revocation_reason.as_deref(), Some("offboarded"));
            t.revoked_at
        })
        .collect();
    assert!(revoked_at.len() <= 4, "one revocation time per page");
    assert_eq!(
        records.iter().filter(|t| t.user_id == "mallory").count(),
        tokens.len()
    );
    for t in &others {
        let now = app.service.store().get(t.id).await.unwrap().unwrap();
        assert_eq!(now.status, StoredStatus::Active);
    }
    let replay = revocation::handle(&app.service, event, None).await.unwrap();
    assert_eq!(replay["done"], "nothing to do");
}

#[tokio::test]
async fn a_revocation_cut_short_by_the_deadline_continues_on_redelivery() {
    let _serial = SERIAL.lock().await;
    let app = App::start().await;
    app.seed("acme", "erin", 700).await;
    let body = json!({"tenant_id": "acme", "user_id": "erin", "reason": "offboarded"}).to_string();
    let batch = sqs_batch(&[("m-1".to_string(), body)]);

    // No time left: each delivery revokes one page (≤ 500 tokens, ≤ 1 MB) and reports the
    // message for redelivery until the last page; every delivery makes progress.
    let counts = || async {
        let c = app
            .service
            .store()
            .counts("acme", Some("erin"))
            .await
            .unwrap();
        (c.active, c.revoked)
    };
    let mut deliveries = 0;
    loop {
        let before = counts().await;
        let r = revocation::handle(&app.service, batch.clone(), Some(Instant::now()))
            .await
            .unwrap();
        deliveries += 1;
        let after = counts().await;
        assert!(after.1 > before.1, "delivery {deliveries} made progress");
        assert_eq!(after.0 + after.1, 700);
        if r["batchItemFailures"] == json!([]) {
            break;
        }
        assert_eq!(r["batchItemFailures"], json!([{"itemIdentifier": "m-1"}]));
        assert!(deliveries < 5);
    }
    assert!(deliveries >= 2, "the deadline cut the first delivery short");
    // A duplicate delivery after that finds nothing to do.
    let r = revocation::handle(&app.service, batch, None).await.unwrap();
    assert_eq!(r["batchItemFailures"], json!([]));
    assert_eq!(
        counts().await,
        (0, 700),
        "nothing skipped, nothing counted twice"
    );
}
