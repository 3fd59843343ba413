//! What the handler is sent: an SQS batch with bad messages among good ones, EventBridge events
//! and their replays, junk secrets and malformed events.

use api_tokens::events::revocation::{self, Failed, Malformed};
use api_tokens::model::{StoredStatus, TokenItem};
use integration_tests::{fixture, revocation_options, sqs_batch, App};
use serde_json::json;
use uuid::Uuid;

use super::{
    assert_credentials_revoked, assert_refused_as_revoked, assert_still_verified,
    credential_status, mint_n, record, secrets, table, tenant_counts,
};
use crate::USER;

#[tokio::test]
async fn an_sqs_batch_with_three_bad_messages_fails_exactly_those_and_revokes_the_rest() {
    let app = App::start().await;
    let singles = mint_n(&app, "acme", "alice", 5).await;
    let carols = mint_n(&app, "acme", "carol", 3).await;
    let (leaked_id, leaked) = app
        .mint_with("acme", "dave", USER, Default::default())
        .await;
    let leaked_id: Uuid = leaked_id.parse().unwrap();
    let bystander = mint_n(&app, "acme", "erin", 1).await;

    let ids: Vec<Uuid> = singles.iter().map(|(id, _)| *id).collect();
    let bodies = batch_bodies(&ids, &leaked);
    assert_eq!(bodies.len(), 10);
    let batch = sqs_batch(&bodies);

    let answer = revocation::handle(&app.service, &revocation_options(), batch.clone(), None)
        .await
        .unwrap();
    let mut failed: Vec<&str> = answer["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap())
        .collect();
    failed.sort_unstable();
    assert_eq!(failed, vec!["bad-checksum", "bad-no-shape", "bad-not-json"]);

    for (id, _) in singles.iter().chain(&carols) {
        let now = record(&app, *id).await;
        assert_eq!(now.status, StoredStatus::Revoked, "{}", now.user_id);
        assert_eq!(
            now.revoked_by.as_deref(),
            Some("sqs:api-tokens-revocations")
        );
        // A bare body: the queue is all its transport vouches for.
        assert_eq!(
            now.revoked_via.as_deref(),
            Some("sqs:api-tokens-revocations")
        );
    }
    let dave = record(&app, leaked_id).await;
    assert_eq!(dave.status, StoredStatus::Revoked);
    assert_eq!(dave.revoked_by.as_deref(), Some("secret-scanner"));
    assert_eq!(
        dave.revoked_via.as_deref(),
        Some("sqs:api-tokens-revocations"),
        "the claimed actor is kept beside where the request came from"
    );
    assert_eq!(
        record(&app, bystander[0].0).await.status,
        StoredStatus::Active
    );

    // Where verification reads: each revoked credential, each secret refused as revoked
    // (one token by id, a user's tokens, a leaked secret); the bystander untouched.
    let revoked = singles.iter().chain(&carols).map(|(id, _)| *id);
    assert_credentials_revoked(&app, revoked.chain([leaked_id])).await;
    let mut refused = secrets(&singles);
    refused.extend(secrets(&carols));
    refused.push(&leaked);
    assert_refused_as_revoked(&app, &refused).await;
    assert_eq!(credential_status(&app, bystander[0].0).await, "active");
    assert_still_verified(&app, &secrets(&bystander)).await;
    assert_eq!(
        tenant_counts(&app, "acme").await,
        (1, 9),
        "the tenant's counters"
    );

    // At-least-once delivery: the same batch again changes nothing (records, credentials,
    // counters), and fails only the bad.
    let before = table(&app).await;
    let again = revocation::handle(&app.service, &revocation_options(), batch, None)
        .await
        .unwrap();
    assert_eq!(again["batchItemFailures"].as_array().unwrap().len(), 3);
    assert_eq!(table(&app).await, before, "a replay is a no-op");
}

/// A revocation of each of `singles`, one of carol's tokens and one of the `leaked` secret,
/// with three bad messages among them: not JSON, no known shape, a secret with a bad
/// checksum.
fn batch_bodies(singles: &[Uuid], leaked: &str) -> Vec<(String, String)> {
    let mut bodies: Vec<(String, String)> = singles
        .iter()
        .map(|id| {
            json!({"tenant_id": "acme", "token_id": id, "reason": "rotation of keys"}).to_string()
        })
        .chain([
            json!({"tenant_id": "acme", "user_id": "carol", "reason": "left"}).to_string(),
            json!({"secret": leaked, "actor": "secret-scanner"}).to_string(),
        ])
        .enumerate()
        .map(|(i, b)| (format!("good-{i}"), b))
        .collect();
    let bad = [
        ("bad-not-json", "revoke everything please".to_string()),
        ("bad-no-shape", json!({"tenant_id": "acme"}).to_string()),
        (
            "bad-checksum",
            json!({"secret": format!("{}x", &leaked[..leaked.len() - 1])}).to_string(),
        ),
    ];
    for (i, (id, body)) in bad.iter().enumerate() {
        bodies.insert(i * 3, (id.to_string(), body.clone()));
    }
    bodies
}

#[tokio::test]
async fn eventbridge_events_revoke_once_and_replays_change_nothing() {
    let app = App::start().await;
    let (token_id, alices) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    let bobs = mint_n(&app, "acme", "bob", 4).await;
    let (_, leaked) = app
        .mint_with("acme", "dave", USER, Default::default())
        .await;
    let events = [
        fixture("eventbridge-revoke-token.json", &[("TOKEN_ID", &token_id)]),
        fixture("eventbridge-revoke-user-tokens.json", &[("USER_ID", "bob")]),
        fixture(
            "eventbridge-revoke-leaked-secret.json",
            &[("SECRET", &leaked)],
        ),
    ];
    let mut answers = Vec::new();
    for e in &events {
        answers.push(
            revocation::handle(&app.service, &revocation_options(), e.clone(), None)
                .await
                .unwrap()["done"]
                .clone(),
        );
    }
    assert_eq!(answers, vec!["revoked 1", "revoked 4", "revoked 1"]);
    let records = app.records().await;
    assert!(records.iter().all(|t| t.status == StoredStatus::Revoked));
    assert_revoked_by_and_via_each_source(&records);
    // Where verification reads.
    assert_credentials_revoked(&app, records.iter().map(|t| t.id)).await;
    let mut refused = secrets(&bobs);
    refused.extend([alices.as_str(), leaked.as_str()]);
    assert_refused_as_revoked(&app, &refused).await;
    assert_eq!(tenant_counts(&app, "acme").await, (0, 6));

    let before = table(&app).await;
    for e in &events {
        let replay = revocation::handle(&app.service, &revocation_options(), e.clone(), None)
            .await
            .unwrap();
        assert_eq!(replay["done"], "nothing to do");
    }
    assert_eq!(table(&app).await, before, "replays change nothing");
    let shown = app
        .get(
            &format!("/tokens/{token_id}"),
            &app.mint("acme", "root", crate::ADMIN).await,
        )
        .await;
    assert_eq!(
        shown.json["revoked_via"], "event:com.example.security@123456789012",
        "the client view shows it"
    );
}

/// Who revoked each user's tokens, with what reason, and by which event.
fn assert_revoked_by_and_via_each_source(records: &[TokenItem]) {
    let by = |user: &str| {
        records
            .iter()
            .find(|t| t.user_id == user)
            .map(|t| (t.revoked_by.clone(), t.revocation_reason.clone()))
            .unwrap()
    };
    assert_eq!(
        by("alice"),
        (
            Some("eventbridge:com.example.security".into()),
            Some("compromised host".into())
        )
    );
    assert_eq!(
        by("bob"),
        (Some("okta-scim".into()), Some("offboarded".into()))
    );
    assert_eq!(
        by("dave").0.as_deref(),
        Some("eventbridge:com.example.secret-scanning")
    );
    // Provenance: the event's source and account, beside whatever actor the body claims.
    let via = |user: &str| {
        records
            .iter()
            .filter(|t| t.user_id == user)
            .map(|t| t.revoked_via.clone().unwrap())
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(
        via("alice"),
        ["event:com.example.security@123456789012".into()].into()
    );
    assert_eq!(
        via("bob"),
        ["event:com.example.idp@123456789012".into()].into()
    );
    assert_eq!(
        via("dave"),
        ["event:com.example.secret-scanning@123456789012".into()].into()
    );
}

#[tokio::test]
async fn a_junk_secret_is_rejected_before_any_lookup() {
    let app = App::start().await;
    let (_, real) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    let mut junk = real.clone().into_bytes();
    let last = junk.len() - 1;
    junk[last] = if junk[last] == b'A' { b'B' } else { b'A' };
    let junk = String::from_utf8(junk).unwrap();
    let before = app.requests.get();
    let r = revocation::handle(
        &app.service,
        &revocation_options(),
        fixture(
            "eventbridge-revoke-leaked-secret.json",
            &[("SECRET", &junk)],
        ),
        None,
    )
    .await;
    assert!(matches!(r, Err(Failed::Malformed(Malformed::NotAToken))));
    assert_eq!(app.requests.get(), before, "no DynamoDB request");

    // Well-formed, with a valid checksum, but no such token: one lookup, nothing revoked.
    let stranger = api_tokens::secret::generate(
        "tkn",
        uuid::Uuid::now_v7(),
        &ring::rand::SystemRandom::new(),
    );
    let r = revocation::handle(
        &app.service,
        &revocation_options(),
        fixture(
            "eventbridge-revoke-leaked-secret.json",
            &[("SECRET", stranger.expose())],
        ),
        None,
    )
    .await
    .unwrap();
    assert_eq!(r["done"], "nothing to do");
    assert_eq!(app.requests.get() - before, 1);
    assert_eq!(app.get("/tokens/self", &real).await.status, 200);
}

#[tokio::test]
async fn a_malformed_eventbridge_event_is_an_error_for_lambda_to_retry_and_dead_letter() {
    let app = App::start().await;
    let mut e = fixture(
        "eventbridge-revoke-token.json",
        &[("TOKEN_ID", &uuid::Uuid::now_v7().to_string())],
    );
    e["detail-type"] = json!("RevokeEverything");
    assert!(matches!(
        revocation::handle(&app.service, &revocation_options(), e, None).await,
        Err(Failed::Malformed(Malformed::UnknownDetailType(_)))
    ));
    // A token of another tenant is left alone: "nothing to do", not an error.
    let (other, _) = app
        .mint_with("globex", "alice", USER, Default::default())
        .await;
    let e = fixture("eventbridge-revoke-token.json", &[("TOKEN_ID", &other)]);
    let r = revocation::handle(&app.service, &revocation_options(), e, None)
        .await
        .unwrap();
    assert_eq!(r["done"], "nothing to do");
    assert_eq!(
        record(&app, other.parse().unwrap()).await.status,
        StoredStatus::Active
    );
}
