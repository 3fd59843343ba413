//! Revoking every token of a user with many tokens (`RevokeUserTokens`), in a test binary of
//! its own: cargo runs test binaries one after another, so these heavy runs do not share
//! DynamoDB Local with the rest of the suite, and they run one at a time here.

use std::time::Instant;

use api_tokens::events::revocation;
use api_tokens::model::StoredStatus;
use api_tokens::store::TokenStore;
use integration_tests::{fixture, revocation_options, sqs_batch, App};
use serde_json::json;

#[path = "spec/aws_stub.rs"]
#[allow(dead_code)]
mod aws_stub;

#[path = "spec/revocation_events/verification.rs"]
#[allow(dead_code)]
mod verification;
use verification::{assert_refused_as_revoked, credentials_of, table, tenant_counts};

/// `n` tokens of `user` minted through the service (real secrets, for `verify`).
async fn mint_secrets(app: &App, user: &str, n: usize) -> Vec<String> {
    let mut secrets = Vec::new();
    for _ in 0..n {
        secrets.push(app.mint_with("acme", user, &[], Default::default()).await.1);
    }
    secrets
}

/// Every credential of `user` has `status`; there are `n`.
async fn assert_credentials(app: &App, user: &str, n: usize, status: &str) {
    let credentials = credentials_of(app, "acme", user).await;
    assert_eq!(credentials.len(), n, "{user}'s credentials");
    let other: Vec<_> = credentials.iter().filter(|(_, s)| *s != status).collect();
    assert!(
        other.is_empty(),
        "{user}'s credentials not {status}: {other:?}"
    );
}

/// One heavy test at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn revoking_a_user_with_2000_tokens_revokes_each_exactly_once() {
    let _serial = SERIAL.lock().await;
    let app = App::start().await;
    let tokens = app.seed("acme", "mallory", 1998).await;
    let minted = mint_secrets(&app, "mallory", 2).await;
    let others = app.seed("acme", "bob", 5).await;
    let event = fixture(
        "eventbridge-revoke-user-tokens.json",
        &[("USER_ID", "mallory")],
    );
    let before = app.requests.get();
    let started = Instant::now();
    let r = revocation::handle(&app.service, &revocation_options(), event.clone(), None)
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
        tokens.len() + minted.len()
    );
    for t in &others {
        let now = app.service.store().get(t.id).await.unwrap().unwrap();
        assert_eq!(now.status, StoredStatus::Active);
    }
    // Where verification reads; the tenant's counters.
    assert_credentials(&app, "mallory", 2000, "revoked").await;
    assert_refused_as_revoked(&app, &[&minted[0], &minted[1]]).await;
    assert_credentials(&app, "bob", 5, "active").await;
    assert_eq!(tenant_counts(&app, "acme").await, (5, 2000));
    let before = table(&app).await;
    let replay = revocation::handle(&app.service, &revocation_options(), event, None)
        .await
        .unwrap();
    assert_eq!(replay["done"], "nothing to do");
    assert_eq!(table(&app).await, before, "a replay changes nothing");
}

/// Without a continuation queue (`REVOCATION_QUEUE_URL` unset) an incomplete job falls back
/// to redelivery.
#[tokio::test]
async fn a_revocation_cut_short_by_the_deadline_continues_on_redelivery() {
    let _serial = SERIAL.lock().await;
    let app = App::start().await;
    app.seed("acme", "erin", 699).await;
    let minted = mint_secrets(&app, "erin", 1).await;
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
        let r = revocation::handle(
            &app.service,
            &revocation_options(),
            batch.clone(),
            Some(Instant::now()),
        )
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
    assert_credentials(&app, "erin", 700, "revoked").await;
    assert_refused_as_revoked(&app, &[&minted[0]]).await;
    assert_eq!(tenant_counts(&app, "acme").await, (0, 700));
    // A duplicate delivery after that finds nothing to do.
    let before = table(&app).await;
    let r = revocation::handle(&app.service, &revocation_options(), batch, None)
        .await
        .unwrap();
    assert_eq!(r["batchItemFailures"], json!([]));
    assert_eq!(
        counts().await,
        (0, 700),
        "nothing skipped, nothing counted twice"
    );
    assert_eq!(
        table(&app).await,
        before,
        "a duplicate delivery changes nothing"
    );
}

// size: the queue's whole run and its checks where verification reads, read top to bottom
// as the scenario it specifies.
#[tokio::test]
async fn a_user_with_far_more_tokens_than_one_pass_is_revoked_through_continuations() {
    let _serial = SERIAL.lock().await;
    let app = App::start().await;
    // 20 passes of 20 tokens for mallory, through the queue, in batches with other jobs.
    let (page, n) = (20, 400);
    app.seed("acme", "mallory", n - 1).await;
    let minted = mint_secrets(&app, "mallory", 1).await;
    app.seed("acme", "trent", 50).await;
    let single = app.seed("acme", "peggy", 1).await;
    let bystanders = app.seed("acme", "bob", 3).await;
    let queue = aws_stub::SqsQueue::start(5).await;
    let service = api_tokens::TokenService::new(
        api_tokens::DynamoStore::new(app.dynamodb.clone(), &app.table),
        &integration_tests::test_config_with(&app.table, &[]),
    )
    .with_user_revocation_page(page);
    let options = revocation_options().with_continuation(revocation::Continuation::new(
        &queue.stub.sdk_config(),
        &queue.url,
    ));
    queue.send(
        json!({"tenant_id": "acme", "user_id": "mallory", "reason": "offboarded"}).to_string(),
    );
    queue.send(
        fixture(
            "eventbridge-revoke-user-tokens.json",
            &[("USER_ID", "trent")],
        )
        .to_string(),
    );
    queue.send(json!({"tenant_id": "acme", "token_id": single[0].id}).to_string());

    let mut deliveries = 0;
    while let Some(batch) = queue.receive(10) {
        let answer = revocation::handle(&service, &options, batch.clone(), Some(Instant::now()))
            .await
            .unwrap();
        assert_eq!(answer["batchItemFailures"], json!([]));
        queue.settle(&batch, &answer);
        deliveries += 1;
        assert!(deliveries < 200, "the jobs end");
    }
    assert!(queue.dead().is_empty());
    let handled = queue.deleted();
    assert!(handled.iter().all(|m| m.receives == 1), "no redelivery");
    assert!(
        handled.len() > n / page as usize,
        "{} messages",
        handled.len()
    );

    assert_each_job_counted_and_where_verification_reads(&app, n, &minted[0]).await;
    for t in app.records().await {
        match t.user_id.as_str() {
            "mallory" => {
                assert_eq!(t.status, StoredStatus::Revoked);
                assert_eq!(t.revocation_reason.as_deref(), Some("offboarded"));
                assert_eq!(t.revoked_via.as_deref(), Some("sqs:api-tokens-revocations"));
            }
            "trent" => assert_eq!(
                t.revoked_via.as_deref(),
                Some("event:com.example.idp@123456789012")
            ),
            "bob" => assert!(bystanders
                .iter()
                .any(|b| b.id == t.id && t.status == StoredStatus::Active)),
            _ => {}
        }
    }
}

/// After the jobs of `a_user_with_far_more_tokens_than_one_pass_…`: each user's counters and
/// the tenant's, every credential (revoked, or bob's still active), and a minted secret of
/// mallory's refused as revoked.
async fn assert_each_job_counted_and_where_verification_reads(app: &App, n: usize, minted: &str) {
    let counts = |user: &'static str| async move {
        let c = app
            .service
            .store()
            .counts("acme", Some(user))
            .await
            .unwrap();
        (c.active, c.revoked)
    };
    assert_eq!(counts("mallory").await, (0, n as i64), "each exactly once");
    assert_eq!(counts("trent").await, (0, 50));
    assert_eq!(counts("peggy").await, (0, 1));
    assert_eq!(counts("bob").await, (3, 0));
    assert_eq!(tenant_counts(app, "acme").await, (3, n as i64 + 51));
    for (user, n, status) in [
        ("mallory", n, "revoked"),
        ("trent", 50, "revoked"),
        ("peggy", 1, "revoked"),
        ("bob", 3, "active"),
    ] {
        assert_credentials(app, user, n, status).await;
    }
    assert_refused_as_revoked(app, &[minted]).await;
}
