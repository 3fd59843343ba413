//! A revocation longer than one pass continues in new messages, none received twice; a
//! continuation that cannot be sent leaves its message to redelivery.

use api_tokens::events::revocation;
use api_tokens::model::StoredStatus;
use api_tokens::store::TokenStore;
use integration_tests::{fixture, revocation_options, sqs_batch, App};
use serde_json::json;

use super::{
    assert_refused_as_revoked, assert_still_verified, credentials_of, mint_n, record, secrets,
    tenant_counts,
};
use crate::aws_stub::SqsQueue;

/// `maxReceiveCount` of the revocation queue's redrive policy in `template.yaml`.
fn max_receive_count() -> u32 {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let t: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let policy = &t["Resources"]["RevocationQueue"]["Properties"]["RedrivePolicy"];
    policy["maxReceiveCount"].as_u64().unwrap() as u32
}

// size: one delivery loop and its checks where verification reads, read top to bottom as
// the scenario it specifies.
#[tokio::test]
async fn a_long_revocation_continues_in_new_messages_and_none_is_received_twice() {
    let app = App::start().await;
    let max = max_receive_count();
    // Ten tokens a pass and no time at all: each delivery revokes one page, so the job
    // needs more passes than the queue allows receives of one message.
    let page = 10;
    let n = page * (max as usize + 3) + 4;
    app.seed("acme", "bob", n - 1).await;
    let minted = mint_n(&app, "acme", "bob", 1).await;
    let others = app.seed("acme", "carol", 2).await;
    let bystander = mint_n(&app, "acme", "carol", 1).await;
    let queue = SqsQueue::start(max).await;
    let service = api_tokens::TokenService::new(
        api_tokens::DynamoStore::new(app.dynamodb.clone(), &app.table),
        &integration_tests::test_config_with(&app.table, &[]),
    )
    .with_user_revocation_page(page as i32);
    let options = revocation_options().with_continuation(revocation::Continuation::new(
        &queue.stub.sdk_config(),
        &queue.url,
    ));
    let now = || Some(std::time::Instant::now());

    // An EventBridge event invokes the function directly; its first pass hands on the rest.
    let event = fixture("eventbridge-revoke-user-tokens.json", &[("USER_ID", "bob")]);
    let r = revocation::handle(&service, &options, event.clone(), now())
        .await
        .unwrap();
    assert_eq!(
        r["done"],
        format!("revoked {page}, continued in a new message")
    );

    let mut deliveries = 1;
    while let Some(batch) = queue.receive(10) {
        assert_eq!(batch["Records"].as_array().unwrap().len(), 1, "one job");
        let answer = revocation::handle(&service, &options, batch.clone(), now())
            .await
            .unwrap();
        assert_eq!(answer["batchItemFailures"], json!([]), "never failed");
        queue.settle(&batch, &answer);
        deliveries += 1;
        assert!(deliveries <= n, "the job ends");
    }
    assert!(
        deliveries > max as usize,
        "{deliveries} passes: redelivering one message would have dead-lettered it"
    );
    assert!(queue.dead().is_empty(), "nothing in the dead-letter queue");
    assert_each_pass_was_a_new_message_of_the_event(&queue, &event, deliveries);

    let counts = service.store().counts("acme", Some("bob")).await.unwrap();
    assert_eq!(
        (counts.active, counts.revoked),
        (0, n as i64),
        "each exactly once"
    );
    for t in app.records().await {
        if t.user_id == "bob" {
            assert_eq!(t.status, StoredStatus::Revoked);
            assert_eq!(t.revoked_by.as_deref(), Some("okta-scim"));
            assert_eq!(
                t.revoked_via.as_deref(),
                Some("event:com.example.idp@123456789012")
            );
        }
    }
    for t in &others {
        assert_eq!(record(&app, t.id).await.status, StoredStatus::Active);
    }
    assert_bobs_revoked_where_verification_reads(&app, n, &minted, &bystander).await;
}

/// After every pass: bob's `n` credentials revoked (`minted`'s secrets refused), carol's
/// active (`bystander` still verifies), and the tenant's counters.
async fn assert_bobs_revoked_where_verification_reads(
    app: &App,
    n: usize,
    minted: &[(uuid::Uuid, String)],
    bystander: &[(uuid::Uuid, String)],
) {
    let credentials = credentials_of(app, "acme", "bob").await;
    assert_eq!(credentials.len(), n);
    assert!(
        credentials.values().all(|s| s == "revoked"),
        "{credentials:?}"
    );
    assert_refused_as_revoked(app, &secrets(minted)).await;
    let carols = credentials_of(app, "acme", "carol").await;
    assert!(carols.values().all(|s| s == "active"), "{carols:?}");
    assert_still_verified(app, &secrets(bystander)).await;
    assert_eq!(tenant_counts(app, "acme").await, (3, n as i64));
}

/// Every pass after the first was a message of its own: received once, the same `event`,
/// numbered by pass, and sent by the pass before it.
fn assert_each_pass_was_a_new_message_of_the_event(
    queue: &SqsQueue,
    event: &serde_json::Value,
    deliveries: usize,
) {
    let handled = queue.deleted();
    assert_eq!(handled.len(), deliveries - 1);
    for (i, m) in handled.iter().enumerate() {
        assert_eq!(m.receives, 1, "{}: received once", m.id);
        // The continuation is the same event (so the same source checks and provenance),
        // numbered by pass.
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&m.body).unwrap(),
            *event
        );
        assert_eq!(
            m.attributes[revocation::PASS_ATTRIBUTE],
            json!({"DataType": "Number", "StringValue": (i + 2).to_string()})
        );
    }
    assert_eq!(
        queue.stub.requests().len(),
        deliveries - 1,
        "one SendMessage a pass"
    );
}

#[tokio::test]
async fn a_continuation_that_cannot_be_sent_leaves_the_message_to_redelivery() {
    let app = App::start().await;
    app.seed("acme", "bob", 11).await;
    let minted = mint_n(&app, "acme", "bob", 1).await;
    let queue = SqsQueue::start(5).await;
    let service = api_tokens::TokenService::new(
        api_tokens::DynamoStore::new(app.dynamodb.clone(), &app.table),
        &integration_tests::test_config_with(&app.table, &[]),
    )
    .with_user_revocation_page(5);
    // A queue URL the stand-in does not know: SendMessage fails.
    let options = revocation_options().with_continuation(revocation::Continuation::new(
        &queue.stub.sdk_config(),
        "https://sqs.eu-west-1.amazonaws.com/123456789012/gone",
    ));
    let body = json!({"tenant_id": "acme", "user_id": "bob"}).to_string();
    let batch = sqs_batch(&[("m-1".into(), body)]);
    let r = revocation::handle(
        &service,
        &options,
        batch.clone(),
        Some(std::time::Instant::now()),
    )
    .await
    .unwrap();
    assert_eq!(r["batchItemFailures"], json!([{"itemIdentifier": "m-1"}]));
    assert_eq!(queue.stub.requests().len(), 1);
    let counts = service.store().counts("acme", Some("bob")).await.unwrap();
    assert_eq!(
        (counts.active, counts.revoked),
        (7, 5),
        "the pass's work stands"
    );
    let statuses = |c: std::collections::BTreeMap<uuid::Uuid, String>| {
        let revoked = c.values().filter(|s| *s == "revoked").count();
        (c.len() - revoked, revoked)
    };
    assert_eq!(
        statuses(credentials_of(&app, "acme", "bob").await),
        (7, 5),
        "the credentials agree with the counters"
    );
    // Redelivered (a real failure, counted), it goes on where the last pass stopped.
    let r = revocation::handle(&service, &revocation_options(), batch, None)
        .await
        .unwrap();
    assert_eq!(r["batchItemFailures"], json!([]));
    let counts = service.store().counts("acme", Some("bob")).await.unwrap();
    assert_eq!((counts.active, counts.revoked), (0, 12));
    assert_eq!(tenant_counts(&app, "acme").await, (0, 12));
    assert_eq!(statuses(credentials_of(&app, "acme", "bob").await), (0, 12));
    assert_refused_as_revoked(&app, &secrets(&minted)).await;
}
