//! Bulk revocation through faults DynamoDB Local cannot produce on cue: a record changed
//! since the read, throttled batches.

use api_tokens::model::{StoredStatus, TokenItem};
use api_tokens::store::TokenStore;
use integration_tests::App;

use super::faulty::{Fault, Faulty};
use super::{assert_refused_as_revoked, credentials_of, mint_n, secrets, tenant_counts};

/// Revokes every token of a user of 30 (two minted, so `verify` can be asked about them)
/// through `fault`, and checks where verification reads; returns the result, how many
/// batches were attempted, and the records afterwards.
async fn revoke_user_through(
    fault: Fault,
) -> (api_tokens::service::BulkRevocation, usize, Vec<TokenItem>) {
    let app = App::start().await;
    app.seed("acme", "frank", 28).await;
    let minted = mint_n(&app, "acme", "frank", 2).await;
    let store = Faulty::new(
        api_tokens::DynamoStore::new(app.dynamodb.clone(), &app.table),
        fault,
    );
    let service = api_tokens::TokenService::new(
        store.clone(),
        &integration_tests::test_config_with(&app.table, &[]),
    );
    let done = service
        .revoke_user("acme", "frank", "idp", None, Some("offboarded"), None)
        .await
        .unwrap();
    let counts = store.counts("acme", Some("frank")).await.unwrap();
    assert_eq!(
        (counts.active, counts.revoked),
        (0, 30),
        "counters exact whatever path each token took"
    );
    assert_eq!(
        tenant_counts(&app, "acme").await,
        (0, 30),
        "the tenant's too"
    );
    let credentials = credentials_of(&app, "acme", "frank").await;
    assert_eq!(credentials.len(), 30);
    assert!(
        credentials.values().all(|s| s == "revoked"),
        "every credential revoked: {credentials:?}"
    );
    assert_refused_as_revoked(&app, &secrets(&minted)).await;
    let batches = store.batches();
    (done, batches, app.records().await)
}

#[tokio::test]
async fn a_batch_whose_record_changed_since_the_read_is_revoked_token_by_token() {
    let (done, _, records) = revoke_user_through(Fault::ChangeOneFirst).await;
    assert!(done.complete);
    assert_eq!(done.revoked, 30);
    assert!(records.iter().all(|t| t.status == StoredStatus::Revoked));
    let renamed = records
        .iter()
        .find(|t| t.name == "renamed meanwhile")
        .expect("the concurrent change was kept, not overwritten by the revocation");
    assert_eq!(renamed.revoked_by.as_deref(), Some("idp"));
}

#[tokio::test]
async fn a_throttled_batch_is_retried_then_revoked_token_by_token() {
    // Twice throttled: the third attempt of that batch writes it.
    let (done, batches, records) = revoke_user_through(Fault::Throttle(2)).await;
    assert_eq!(done.revoked, 30);
    assert!(records.iter().all(|t| t.status == StoredStatus::Revoked));
    let lanes = records
        .iter()
        .map(|t| api_tokens::schema::counter_shard(t.id))
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    assert_eq!(batches, lanes + 2, "one batch per lane, plus two retries");

    // Always throttled: each lane's batch is tried 3 times, then its tokens one by one.
    let (done, batches, records) = revoke_user_through(Fault::Throttle(usize::MAX)).await;
    assert_eq!(done.revoked, 30);
    assert!(records.iter().all(|t| t.status == StoredStatus::Revoked));
    let lanes = records
        .iter()
        .map(|t| api_tokens::schema::counter_shard(t.id))
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    assert_eq!(batches, lanes * 3);
}
