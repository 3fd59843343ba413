//! Only the configured sources may revoke by event: others are refused, counted, and never
//! failed.

use api_tokens::events::revocation;
use api_tokens::model::StoredStatus;
use integration_tests::{fixture, revocation_options, sqs_batch, App};
use serde_json::json;

use super::{assert_refused_as_revoked, assert_still_verified, credential_status, seed, table};
use crate::USER;

#[tokio::test]
async fn an_event_from_a_source_not_in_the_list_is_refused_counted_and_never_failed() {
    let app = App::start().await;
    let (token_id, alices) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    seed(&app, "acme", "bob", 3).await;
    let mut forged = fixture("eventbridge-revoke-token.json", &[("TOKEN_ID", &token_id)]);
    forged["source"] = json!("com.example.untrusted");
    let before = app.records().await;
    let whole_table = table(&app).await;
    let refused = revocation::refused_events();

    // Directly from EventBridge: answered, not an error (a retry could not change it).
    let r = revocation::handle(&app.service, &revocation_options(), forged.clone(), None)
        .await
        .unwrap();
    assert_eq!(r["done"], "refused: source not allowed");
    assert_eq!(
        table(&app).await,
        whole_table,
        "a refused event writes nothing"
    );

    // As SQS bodies: an envelope of a foreign source, one with no source at all, and a
    // good request beside them. Only the good one revokes; none is failed.
    let mut sourceless = fixture("eventbridge-revoke-user-tokens.json", &[("USER_ID", "bob")]);
    sourceless.as_object_mut().unwrap().remove("source");
    let good = fixture("eventbridge-revoke-user-tokens.json", &[("USER_ID", "bob")]);
    let batch = sqs_batch(&[
        ("forged".into(), forged.to_string()),
        ("sourceless".into(), sourceless.to_string()),
        ("good".into(), good.to_string()),
    ]);
    let r = revocation::handle(&app.service, &revocation_options(), batch, None)
        .await
        .unwrap();
    assert_eq!(r["batchItemFailures"], json!([]));
    assert!(
        revocation::refused_events() >= refused + 3,
        "each refusal is counted"
    );
    for t in app.records().await {
        let was = before.iter().find(|b| b.id == t.id).unwrap();
        if t.user_id == "bob" {
            assert_eq!(t.status, StoredStatus::Revoked);
            assert_eq!(
                t.revoked_via.as_deref(),
                Some("event:com.example.idp@123456789012")
            );
        } else {
            assert_eq!(&t, was, "a refused event changes nothing");
        }
    }
    let alice = token_id.parse().unwrap();
    assert_eq!(credential_status(&app, alice).await, "active");
    assert_still_verified(&app, &[&alices]).await;

    // The list is the handler's, not the fixtures': with another list the same event passes.
    let options = revocation::Options::new(["com.example.untrusted"]);
    let r = revocation::handle(&app.service, &options, forged, None)
        .await
        .unwrap();
    assert_eq!(r["done"], "revoked 1");
    assert_eq!(credential_status(&app, alice).await, "revoked");
    assert_refused_as_revoked(&app, &[&alices]).await;
}
