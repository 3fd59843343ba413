//! Where verification reads. A revocation is only kept if the credential item (`CRED#<id>`,
//! the one `GetItem` of `verify`) says `revoked` and `verify` refuses the secret as revoked:
//! token records and counters alone would pass with revoked tokens still authenticating.
//! Also included by `tests/bulk_revocation.rs`, so it uses nothing of the spec binary.

use std::collections::BTreeMap;

use api_tokens::domain::verification::Rejection;
use api_tokens::service::VerifyError;
use api_tokens::store::TokenStore;
use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::App;
use uuid::Uuid;

/// The `status` of token `id`'s credential item, read directly from the table.
pub(crate) async fn credential_status(app: &App, id: Uuid) -> String {
    let item = app
        .dynamodb
        .get_item()
        .table_name(&app.table)
        .key(
            "pk",
            AttributeValue::S(api_tokens::schema::credential_pk(id)),
        )
        .consistent_read(true)
        .send()
        .await
        .expect("get the credential")
        .item
        .unwrap_or_else(|| panic!("token {id} has a credential item"));
    match item.get("status") {
        Some(AttributeValue::S(s)) => s.clone(),
        other => panic!("credential of {id}: status {other:?}"),
    }
}

/// Each of `ids` has its credential item revoked.
pub(crate) async fn assert_credentials_revoked(app: &App, ids: impl IntoIterator<Item = Uuid>) {
    for id in ids {
        assert_eq!(
            credential_status(app, id).await,
            "revoked",
            "the credential of {id}, which verification reads"
        );
    }
}

/// The `status` of every credential item of `user` in `tenant`, by token id (one scan:
/// for users with thousands of tokens).
pub(crate) async fn credentials_of(app: &App, tenant: &str, user: &str) -> BTreeMap<Uuid, String> {
    let s = |item: &std::collections::HashMap<String, AttributeValue>, k: &str| match item.get(k) {
        Some(AttributeValue::S(s)) => s.clone(),
        _ => String::new(),
    };
    app.scan_all()
        .await
        .iter()
        .filter(|i| s(i, "pk").starts_with("CRED#"))
        .filter(|i| s(i, "tenant_id") == tenant && s(i, "user_id") == user)
        .map(|i| {
            let id = s(i, "pk")["CRED#".len()..].parse().expect("a token id");
            (id, s(i, "status"))
        })
        .collect()
}

/// `verify` refuses each of `secrets` as revoked: not unknown, not a mismatch, not a
/// failure of the store.
pub(crate) async fn assert_refused_as_revoked(app: &App, secrets: &[&str]) {
    for secret in secrets {
        match app.service.verify(secret).await {
            Err(VerifyError::Rejected(Rejection::Revoked)) => {}
            other => panic!("a revoked token's secret must be refused as revoked: {other:?}"),
        }
    }
}

/// `verify` still accepts each of `secrets`.
pub(crate) async fn assert_still_verified(app: &App, secrets: &[&str]) {
    for secret in secrets {
        let r = app.service.verify(secret).await;
        assert!(r.is_ok(), "an untouched token still verifies: {r:?}");
    }
}

/// A tenant's counters, all its users together: `(active, revoked)`.
pub(crate) async fn tenant_counts(app: &App, tenant: &str) -> (i64, i64) {
    let c = app.service.store().counts(tenant, None).await.unwrap();
    (c.active, c.revoked)
}

/// Every item of the table (records, credentials, counters), in key order: what a replay
/// that is a no-op must leave exactly as it was.
pub(crate) async fn table(app: &App) -> Vec<BTreeMap<String, AttributeValue>> {
    let mut items: Vec<BTreeMap<String, AttributeValue>> = app
        .scan_all()
        .await
        .into_iter()
        .map(|i| i.into_iter().collect())
        .collect();
    items.sort_by_key(|i| format!("{:?}", i.get("pk")));
    items
}
