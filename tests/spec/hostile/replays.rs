//! Idempotent replays are bound to the presenting token: a replay passes the checks a fresh
//! request passes.

use std::collections::HashMap;

use api_tokens::model::TokenItem;
use api_tokens::schema;
use api_tokens::service::idempotency::{Keyed, Sealer};
use api_tokens::service::CreateInput;
use api_tokens::store::Once;
use api_tokens::time;
use aws_sdk_dynamodb::types::AttributeValue as A;
use chrono::Duration;
use integration_tests::{principal, sample_token, App};
use serde_json::{json, Value};

use super::days;
use crate::ADMIN;

#[tokio::test]
async fn a_weaker_token_of_the_same_user_never_receives_a_stronger_tokens_replay() {
    let app = App::start().await;
    let strong = app.mint("acme", "alice", ADMIN).await;
    let (_, weak) = app
        .mint_with(
            "acme",
            "alice",
            &["tokens:write"],
            CreateInput {
                expires_at: Some(time::now() + days(1)),
                ..Default::default()
            },
        )
        .await;

    // POST /tokens: the strong token mints a never-expiring admin token under key k...
    let body = json!({"name": "ci", "scopes": ["tokens:write"]});
    let first = app.post_keyed("/tokens", &strong, "k", body.clone()).await;
    assert_eq!(first.status, 201);
    assert_eq!(first.json["expires_at"], Value::Null);
    // ...and the weak token's same request is its own: a new token within its own day.
    let second = app.post_keyed("/tokens", &weak, "k", body).await;
    assert_eq!(second.status, 201, "{}", second.text);
    assert_eq!(second.header("idempotent-replayed"), "");
    assert_ne!(second.json["id"], first.json["id"]);
    assert_ne!(second.json["secret"], first.json["secret"]);
    let expiry = time::parse(second.json["expires_at"].as_str().unwrap()).unwrap();
    assert!(expiry <= time::now() + days(1));

    // Rotate: the strong token rotates a token under key r; the weak token's replay of the
    // same rotation gets no secret.
    let target = app
        .post(
            "/tokens",
            &strong,
            json!({"name": "deploy", "scopes": ["tokens:read"]}),
        )
        .await;
    let id = target.json["id"].as_str().unwrap();
    let path = format!("/tokens/{id}/rotate");
    let rotated = app.post_keyed(&path, &strong, "r", json!({})).await;
    assert_eq!(rotated.status, 201);
    let replay = app.post_keyed(&path, &weak, "r", json!({})).await;
    assert!(replay.json.get("secret").is_none(), "{}", replay.text);
    replay.assert_problem(409, "token-not-rotatable");
    // The strong token's own retry still gets its result.
    let retry = app.post_keyed(&path, &strong, "r", json!({})).await;
    assert_eq!(retry.json["secret"], rotated.json["secret"]);
}

#[tokio::test]
async fn a_replay_passes_the_checks_a_fresh_request_passes() {
    let app = App::start().await;
    let (_, weak) = app
        .mint_with(
            "acme",
            "alice",
            &["tokens:write"],
            CreateInput {
                expires_at: Some(time::now() + days(1)),
                allowed_ips: vec!["127.0.0.0/8".into()],
                quota: Some(daily(100)),
                ..Default::default()
            },
        )
        .await;
    let me: Value = app.get("/tokens/self", &weak).await.json;
    let caller = api_tokens::Principal {
        token_id: me["id"].as_str().unwrap().into(),
        ..principal("acme", "alice", &["tokens:write"])
    };
    let body = json!({"name": "ci"});
    let key = Keyed::new(&caller, "planted", "POST /tokens", "", &body);
    // A held result for the weak token's own key that it could never have minted (a
    // damaged or planted record): each is refused, and its secret never shown.
    let base = TokenItem {
        expires_at: Some(time::now() + Duration::hours(1)),
        allowed_ips: vec!["127.0.0.1/32".into()],
        quota: Some(daily(100)),
        ..sample_token("acme", "alice")
    };
    for planted in beyond(&base) {
        let sealed = sealed_result(&app, &key, &planted, "tkn_planted_secret");
        app.dynamodb
            .put_item()
            .table_name(&app.table)
            .set_item(Some(sealed))
            .send()
            .await
            .unwrap();
        let r = app
            .post_keyed("/tokens", &weak, "planted", body.clone())
            .await;
        r.assert_problem(403, "forbidden");
        assert!(!r.text.contains("tkn_planted_secret"));
    }
}

/// Tokens each a step beyond what `base` (the weak caller's own) allows: a scope, no expiry,
/// no or wider address blocks, no or a larger quota.
fn beyond(base: &TokenItem) -> Vec<TokenItem> {
    vec![
        TokenItem {
            scopes: vec!["tokens:admin".into()],
            ..base.clone()
        },
        TokenItem {
            expires_at: None,
            ..base.clone()
        },
        TokenItem {
            allowed_ips: vec![],
            ..base.clone()
        },
        TokenItem {
            allowed_ips: vec!["10.0.0.0/8".into()],
            ..base.clone()
        },
        TokenItem {
            quota: None,
            ..base.clone()
        },
        TokenItem {
            quota: Some(daily(101)),
            ..base.clone()
        },
    ]
}

/// The idempotency item a keyed request that minted `token` would have written, sealed
/// under the app's key.
fn sealed_result(app: &App, key: &Keyed, token: &TokenItem, secret: &str) -> HashMap<String, A> {
    let sealer = Sealer::new(&app_hash_key(app));
    let plain = serde_json::to_vec(&json!({"token": token, "secret": secret})).unwrap();
    let once = Once {
        pk: key.pk.clone(),
        fingerprint: key.fingerprint.clone(),
        sealed: sealer.seal(&key.pk, &plain),
        expires_at: time::now() + Duration::hours(1),
    };
    HashMap::from([
        ("pk".to_string(), A::S(once.pk)),
        ("fingerprint".into(), A::S(once.fingerprint)),
        ("sealed".into(), A::B(once.sealed.into())),
        ("expires_at".into(), A::S(time::format(&once.expires_at))),
        (
            schema::PURGE_AT.into(),
            A::N(once.expires_at.timestamp().to_string()),
        ),
    ])
}

/// A daily quota of `limit` requests.
fn daily(limit: u64) -> api_tokens::domain::usage::Quota {
    api_tokens::domain::usage::Quota {
        limit,
        period: api_tokens::domain::usage::QuotaPeriod::Day,
    }
}

fn app_hash_key(app: &App) -> Vec<u8> {
    app.config.token_hash_key.clone()
}
