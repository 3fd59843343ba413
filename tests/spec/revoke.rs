//! `POST /tokens/{id}/revoke` and `DELETE /tokens/{id}`

use std::collections::HashMap;

use api_tokens::model::{StoredStatus, TokenItem};
use api_tokens::schema;
use api_tokens::service::CreateInput;
use api_tokens::store::{record_attributes, DynamoStore, Revocation, RevokeOutcome, TokenStore};
use api_tokens::time;
use api_tokens::ApiError;
use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::{principal, App, Method};
use serde_json::json;

use crate::{ADMIN, USER};

#[tokio::test]
async fn revoking_records_who_when_and_why_and_a_repeat_changes_nothing() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let (id, victim) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    let path = format!("/tokens/{id}/revoke");

    let first = app
        .post(&path, &alice, json!({"reason": "laptop lost"}))
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.json["status"], "revoked");
    assert_eq!(first.json["revoked_by"], "alice");
    assert_eq!(first.json["revocation_reason"], "laptop lost");
    assert!(first.json["revoked_at"].is_string());
    assert_eq!(first.json["updated_at"], first.json["revoked_at"]);

    // The revoked token is refused at once.
    app.get("/tokens", &victim)
        .await
        .assert_problem(401, "unauthorized");

    // Again, with another reason and without a body: the first revocation, unchanged.
    let again = app.post(&path, &alice, json!({"reason": "other"})).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json, first.json);
    let bare = app.call(Method::POST, &path, Some(&alice), None).await;
    assert_eq!(bare.json, first.json);
    assert_eq!(
        app.get(&format!("/tokens/{id}"), &alice).await.json,
        first.json
    );
}

#[tokio::test]
async fn delete_revokes_and_answers_204() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let (id, victim) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    let path = format!("/tokens/{id}");
    for _ in 0..2 {
        let r = app.call(Method::DELETE, &path, Some(&alice), None).await;
        assert_eq!(r.status, 204);
        assert!(r.text.is_empty());
    }
    let t = app.get(&path, &alice).await;
    assert_eq!(t.json["status"], "revoked");
    assert!(t.json["revocation_reason"].is_null());
    app.get("/tokens", &victim)
        .await
        .assert_problem(401, "unauthorized");
}

#[tokio::test]
async fn only_the_owner_or_a_tenant_admin_can_revoke() {
    let app = App::start().await;
    let (id, bob) = app.mint_with("acme", "bob", USER, Default::default()).await;
    let alice = app.mint("acme", "alice", USER).await;
    let foreign_admin = app.mint("globex", "root", ADMIN).await;
    let reader = app.mint("acme", "bob", &["tokens:read"]).await;
    let admin = app.mint("acme", "root", ADMIN).await;
    let path = format!("/tokens/{id}/revoke");

    app.post(&path, &alice, json!({}))
        .await
        .assert_problem(404, "token-not-found");
    app.post(&path, &foreign_admin, json!({}))
        .await
        .assert_problem(404, "token-not-found");
    app.call(
        Method::DELETE,
        &format!("/tokens/{id}"),
        Some(&foreign_admin),
        None,
    )
    .await
    .assert_problem(404, "token-not-found");
    app.post(&path, &reader, json!({}))
        .await
        .assert_problem(403, "missing-scope");
    // None of that touched it.
    assert_eq!(
        app.get(&format!("/tokens/{id}"), &bob).await.json["status"],
        "active"
    );

    let r = app
        .post(&path, &admin, json!({"reason": "offboarding"}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["revoked_by"], "root");
    app.post(
        &format!("/tokens/{}/revoke", uuid::Uuid::now_v7()),
        &admin,
        json!({}),
    )
    .await
    .assert_problem(404, "token-not-found");
    app.post("/tokens/not-a-uuid/revoke", &admin, json!({}))
        .await
        .assert_problem(404, "token-not-found");
}

#[tokio::test]
async fn a_bad_revocation_body_is_rejected_and_revokes_nothing() {
    let app = App::start().await;
    let (id, alice) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    let path = format!("/tokens/{id}/revoke");
    for (body, loc) in [
        (json!({"reason": 5}), r#"["body","reason"]"#),
        (json!({"reason": "x".repeat(513)}), r#"["body","reason"]"#),
        (json!({"reason": ""}), r#"["body","reason"]"#),
        (json!({"why": "x"}), r#"["body","why"]"#),
        (json!(["x"]), r#"["body"]"#),
    ] {
        let r = app.post(&path, &alice, body).await;
        r.assert_problem(422, "validation-error");
        assert_eq!(r.error_locs(), [loc]);
    }
    let r = app
        .raw(
            Method::POST,
            &path,
            &[
                ("authorization", &format!("Bearer {alice}")),
                ("content-type", "text/plain"),
            ],
            b"x".to_vec(),
        )
        .await;
    r.assert_problem(415, "unsupported-media-type");
    assert_eq!(
        app.get(&format!("/tokens/{id}"), &alice).await.json["status"],
        "active"
    );
}

/// The record as DynamoDB holds it, every attribute.
async fn stored(app: &App, id: uuid::Uuid) -> HashMap<String, AttributeValue> {
    app.dynamodb
        .get_item()
        .table_name(&app.table)
        .key(schema::PK, AttributeValue::S(schema::token_pk(id)))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("the record")
}

#[tokio::test]
async fn a_write_only_revocation_stores_the_record_a_read_then_write_one_stores() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let store = DynamoStore::new(app.dynamodb.clone(), &app.table);
    let expiring = CreateInput {
        expires_at: Some(time::now() + chrono::Duration::days(30)),
        ..Default::default()
    };
    // Per path: a plain token, one with an expiry (it sits in `by_due`), and one rotated
    // with a grace period (still active, already carrying the reason `rotated`).
    for write_only in [false, true] {
        let (plain, _) = app
            .mint_with("acme", "alice", USER, Default::default())
            .await;
        let (due, _) = app.mint_with("acme", "alice", USER, expiring.clone()).await;
        let (rotated, _) = app
            .mint_with("acme", "alice", USER, Default::default())
            .await;
        let r = app
            .post(
                &format!("/tokens/{rotated}/rotate"),
                &alice,
                json!({"grace_period_seconds": 3600}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        for (id, reason) in [(plain, Some("lost")), (due, None), (rotated, None)] {
            let id: uuid::Uuid = id.parse().unwrap();
            let old: TokenItem = serde_dynamo::from_item(stored(&app, id).await).unwrap();
            assert_eq!(old.status, StoredStatus::Active);
            let at = time::now();
            let revocation = Revocation {
                id,
                tenant_id: "acme",
                owner: Some("alice"),
                actor: "alice",
                // Provenance is written beside the actor on both paths (a revocation event's).
                via: reason.map(|_| "event:com.example.idp@123456789012"),
                reason,
                at,
                purge_at: at + chrono::Duration::days(90),
            };
            if write_only {
                let outcome = store.revoke_write_only(&revocation).await.unwrap();
                assert_eq!(outcome, RevokeOutcome::Revoked(()));
            } else {
                let outcome = store.revoke(&revocation).await.unwrap();
                assert_eq!(outcome, RevokeOutcome::Revoked(revocation.applied_to(&old)));
            }
            let expected =
                record_attributes(&revocation.applied_to(&old), Some(revocation.purge_at)).unwrap();
            assert_eq!(
                stored(&app, id).await,
                expected,
                "write only: {write_only}, reason: {reason:?}"
            );
        }
    }
    // Six tokens revoked (and the two rotations' successors minted): the counters agree.
    let counts = store.counts("acme", None).await.unwrap();
    let of = |s| counts.of(s);
    assert_eq!(
        (of(StoredStatus::Active), of(StoredStatus::Revoked)),
        (1 + 2, 6)
    );
}

#[tokio::test]
async fn delete_of_ones_own_active_token_is_one_transaction_without_a_read() {
    let app = App::start().await;
    let alice = principal("acme", "alice", USER);
    let root = principal("acme", "root", ADMIN);
    let soon = CreateInput {
        expires_at: Some(time::now() + chrono::Duration::milliseconds(500)),
        ..Default::default()
    };
    let (own, _) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    let (bobs, _) = app.mint_with("acme", "bob", USER, Default::default()).await;
    let (other, _) = app.mint_with("acme", "bob", USER, Default::default()).await;
    let (swept, _) = app.mint_with("acme", "alice", USER, soon).await;
    let (posted, _) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(app.service.sweep_expired().await.unwrap(), 1);

    let cost = |who: api_tokens::Principal, id: String| {
        let app = &app;
        async move {
            let before = app.requests.get();
            let answer = match app.service.delete(&who, &id, None).await {
                Ok(()) => Ok(()),
                Err(ApiError::TokenNotFound) => Err("not found"),
                Err(e) => panic!("{e}"),
            };
            (answer, app.requests.get() - before)
        }
    };
    let not_found = Err("not found");
    // One transaction; the failed condition returns the record, so a repeat, a stranger's
    // token and a missing one cost one request too.
    assert_eq!(cost(alice.clone(), own.clone()).await, (Ok(()), 1));
    assert_eq!(cost(alice.clone(), own.clone()).await, (Ok(()), 1));
    assert_eq!(cost(alice.clone(), bobs.clone()).await, (not_found, 1));
    let missing = uuid::Uuid::now_v7().to_string();
    assert_eq!(cost(alice.clone(), missing).await, (not_found, 1));
    // An expired token fails the `active` condition: the record it returns is the read.
    assert_eq!(cost(alice.clone(), swept.clone()).await, (Ok(()), 2));
    // An admin revoking another user's token does not know the owner: read, then write.
    assert_eq!(cost(root.clone(), other).await, (Ok(()), 2));
    // `POST /revoke` answers with the record, so it reads it.
    let before = app.requests.get();
    let item = app.service.revoke(&alice, &posted, None).await.unwrap();
    assert_eq!(
        (item.status, app.requests.get() - before),
        (StoredStatus::Revoked, 2)
    );

    // Bob's token was untouched; the others are revoked and counted so.
    let bob = principal("acme", "bob", USER);
    let item = app.service.get(&bob, &bobs).await.unwrap();
    assert_eq!(item.status, StoredStatus::Active);
    for id in [&own, &swept] {
        let item = app.service.get(&alice, id).await.unwrap();
        assert_eq!(
            (item.status, item.revoked_by.as_deref()),
            (StoredStatus::Revoked, Some("alice"))
        );
    }
    let counts = DynamoStore::new(app.dynamodb.clone(), &app.table)
        .counts("acme", None)
        .await
        .unwrap();
    let of = |s| counts.of(s);
    assert_eq!(
        (
            of(StoredStatus::Active),
            of(StoredStatus::Expired),
            of(StoredStatus::Revoked)
        ),
        (1, 0, 4)
    );
}
