//! `Idempotency-Key` on `POST /tokens` and `POST /tokens/{id}/rotate`

use api_tokens::service::idempotency::{Keyed, Sealer};
use api_tokens::store::{Once, TokenStore};
use api_tokens::time;
use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::{principal, sample_token, App, Method};
use serde_json::json;

use crate::USER;

#[tokio::test]
async fn a_retry_with_the_same_key_and_body_returns_the_original_answer_and_mints_nothing() {
    // No last-use writes: the count of requests below is exact by construction.
    let app = App::start_with(&[("LAST_USED_INTERVAL_SECONDS", "0")]).await;
    let alice = app.mint("acme", "alice", USER).await;
    let body = json!({"name": "deploy", "scopes": ["tokens:read"], "expires_in_days": 7});
    let first = app
        .post_keyed("/tokens", &alice, "order-42", body.clone())
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.header("idempotent-replayed"), "");

    let before = app.requests.get();
    let retry = app
        .post_keyed("/tokens", &alice, "order-42", body.clone())
        .await;
    assert_eq!(retry.status, 201);
    assert_eq!(retry.header("idempotent-replayed"), "true");
    assert_eq!(retry.header("location"), first.header("location"));
    assert_eq!(
        retry.json, first.json,
        "the same token and the same, usable secret"
    );
    assert_eq!(
        app.requests.get() - before,
        2,
        "the authorizer's GetItem, and one refused transaction: the record comes back with \
         the refusal, so a replay needs no read of its own"
    );
    let secret = retry.json["secret"].as_str().unwrap();
    assert_eq!(app.get("/tokens/self", secret).await.status, 200);
    assert_eq!(app.records().await.len(), 2, "alice's token and one more");
    let total = app
        .get("/tokens?include_total_count=true", &alice)
        .await
        .json["total"]
        .clone();
    assert_eq!(total, 2);

    // Formatting and key order are not part of the request's identity.
    let reordered = br#"{ "expires_in_days": 7, "scopes": ["tokens:read"], "name": "deploy" }"#;
    let auth = format!("Bearer {alice}");
    let r = app
        .raw(
            Method::POST,
            "/tokens",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
                ("idempotency-key", "order-42"),
            ],
            reordered.to_vec(),
        )
        .await;
    assert_eq!(r.json, first.json);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_422_and_keys_belong_to_their_caller() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let bob = app.mint("acme", "bob", USER).await;
    let first = app
        .post_keyed("/tokens", &alice, "k1", json!({"name": "a"}))
        .await;
    assert_eq!(first.status, 201);
    app.post_keyed("/tokens", &alice, "k1", json!({"name": "b"}))
        .await
        .assert_problem(422, "idempotency-key-reused");
    // The same key on another route is another request too.
    let id = first.json["id"].as_str().unwrap();
    app.post_keyed(&format!("/tokens/{id}/rotate"), &alice, "k1", json!({}))
        .await
        .assert_problem(422, "idempotency-key-reused");
    // Bob's "k1" is his own.
    let bobs = app
        .post_keyed("/tokens", &bob, "k1", json!({"name": "a"}))
        .await;
    assert_eq!(bobs.status, 201);
    assert_ne!(bobs.json["id"], first.json["id"]);
    assert_eq!(app.records().await.len(), 4);
}

#[tokio::test]
async fn concurrent_creates_with_one_key_mint_one_token() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let body = json!({"name": "once"});
    let replies = futures_util::future::join_all(
        (0..6).map(|_| app.post_keyed("/tokens", &alice, "same", body.clone())),
    )
    .await;
    for r in &replies {
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.json, replies[0].json, "every caller gets the one token");
    }
    let fresh = replies
        .iter()
        .filter(|r| r.header("idempotent-replayed").is_empty())
        .count();
    assert_eq!(fresh, 1, "exactly one request minted");
    assert_eq!(app.records().await.len(), 2);
}

#[tokio::test]
async fn only_a_success_takes_the_key() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    app.post_keyed("/tokens", &alice, "fix-and-retry", json!({"name": ""}))
        .await
        .assert_problem(422, "validation-error");
    app.post_keyed(
        "/tokens",
        &alice,
        "fix-and-retry",
        json!({"name": "x", "scopes": ["tokens:admin"]}),
    )
    .await
    .assert_problem(403, "forbidden");
    let r = app
        .post_keyed("/tokens", &alice, "fix-and-retry", json!({"name": "x"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.header("idempotent-replayed"), "");
}

#[tokio::test]
async fn a_rotation_retried_after_it_finished_returns_the_same_successor() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let (id, _) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    let path = format!("/tokens/{id}/rotate");
    let body = json!({"grace_period_seconds": 60});
    let first = app.post_keyed(&path, &alice, "rot-1", body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let retry = app.post_keyed(&path, &alice, "rot-1", body.clone()).await;
    assert_eq!(retry.status, 201, "{}", retry.text);
    assert_eq!(retry.header("idempotent-replayed"), "true");
    assert_eq!(retry.json, first.json);
    // Without the key, a second rotation is refused: the token is already rotated.
    app.post(&path, &alice, body)
        .await
        .assert_problem(409, "token-not-rotatable");
    assert_eq!(app.records().await.len(), 3);
}

#[tokio::test]
async fn the_key_header_is_validated() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    for key in ["", &"k".repeat(256), "tab\tkey"] {
        let r = app
            .post_keyed("/tokens", &alice, key, json!({"name": "x"}))
            .await;
        r.assert_problem(422, "validation-error");
        assert_eq!(r.error_locs(), vec![r#"["header","Idempotency-Key"]"#]);
    }
    let longest = app
        .post_keyed("/tokens", &alice, &"k".repeat(255), json!({"name": "x"}))
        .await;
    assert_eq!(longest.status, 201);
    assert_eq!(app.records().await.len(), 2);
}

#[tokio::test]
async fn the_record_keeps_neither_the_key_nor_the_secret_in_plaintext() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let r = app
        .post_keyed("/tokens", &alice, "visible-key", json!({"name": "x"}))
        .await;
    let secret = r.json["secret"].as_str().unwrap();
    let records: Vec<_> = app
        .scan_all()
        .await
        .into_iter()
        .filter(|i| matches!(i.get("pk"), Some(AttributeValue::S(pk)) if pk.starts_with("IDEM#")))
        .collect();
    assert_eq!(records.len(), 1);
    let dump = format!("{:?}", records[0]);
    assert!(!dump.contains("visible-key"));
    assert!(!dump.contains(secret));
    let Some(AttributeValue::B(sealed)) = records[0].get("sealed") else {
        panic!("a sealed result");
    };
    let bytes = sealed.as_ref();
    assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
    assert!(
        records[0].contains_key("purge_at"),
        "TTL removes it after 24 h"
    );
}

#[tokio::test]
async fn a_key_whose_window_ended_is_free_again() {
    let app = App::start().await;
    let store = app.service.store();
    let caller = principal("acme", "alice", USER);
    let key = Keyed::new(&caller, "old", "POST /tokens", "", &json!({}));
    let sealer = Sealer::new(b"irrelevant for this test");
    let once = |expires_at| Once {
        pk: key.pk.clone(),
        fingerprint: key.fingerprint.clone(),
        sealed: sealer.seal(&key.pk, b"{}"),
        expires_at,
    };
    let ended = once(time::now() - chrono::Duration::seconds(1));
    let t = sample_token("acme", "alice");
    assert_eq!(
        store.insert(&t, "h", None, Some(&ended)).await.unwrap(),
        None
    );
    // DynamoDB's TTL may not have deleted it yet; it no longer holds the key.
    assert_eq!(store.held(&key.pk).await.unwrap(), None);
    let live = once(time::now() + chrono::Duration::hours(24));
    let t2 = sample_token("acme", "alice");
    assert_eq!(
        store.insert(&t2, "h", None, Some(&live)).await.unwrap(),
        None
    );
    let t3 = sample_token("acme", "alice");
    let held = store
        .insert(&t3, "h", None, Some(&once(time::now())))
        .await
        .unwrap();
    assert_eq!(held, Some(live), "a live record holds the key");
    assert!(store.get(t3.id).await.unwrap().is_none(), "nothing written");
}
