//! `POST /tokens`

use api_tokens::{http, time};
use integration_tests::{principal, App, Method};
use serde_json::json;

use crate::{ADMIN, USER};

#[tokio::test]
async fn creating_answers_201_with_location_and_the_secret_shown_once() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let r = app
        .post(
            "/tokens",
            &alice,
            json!({"name": "deploy", "description": "CI deploys", "scopes": ["tokens:read"],
                   "expires_in_days": 30, "metadata": {"env": "prod"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let t = &r.json;
    let id = t["id"].as_str().unwrap();
    assert_eq!(r.header("location"), format!("/tokens/{id}"));
    assert_eq!(r.header("cache-control"), "no-store");
    assert_eq!(t["name"], "deploy");
    assert_eq!(t["description"], "CI deploys");
    assert_eq!(t["scopes"], json!(["tokens:read"]));
    assert_eq!(t["status"], "active");
    assert_eq!(
        (t["user_id"].as_str(), t["created_by"].as_str()),
        (Some("alice"), Some("alice"))
    );
    assert_eq!(t["metadata"], json!({"env": "prod"}));
    assert!(t["revoked_at"].is_null() && t["last_used_at"].is_null());
    let secret = t["secret"].as_str().unwrap();
    assert!(secret.starts_with(t["prefix"].as_str().unwrap()));

    // The secret works, and is never shown again.
    let again = app.get(&format!("/tokens/{id}"), secret).await;
    assert_eq!(again.status, 200);
    assert!(again.json.get("secret").is_none());
    let listed = app.get("/tokens", &alice).await;
    assert!(!listed.text.contains(secret));
}

#[tokio::test]
async fn defaults_are_the_caller_as_owner_no_scopes_and_no_expiry() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let r = app.post("/tokens", &alice, json!({"name": "plain"})).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json["scopes"], json!([]));
    assert!(r.json["expires_at"].is_null());
    assert!(r.json["description"].is_null());
    assert_eq!(r.json["user_id"], "alice");
}

#[tokio::test]
async fn expiry_is_stored_as_given_in_utc() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let r = app
        .post(
            "/tokens",
            &alice,
            json!({"name": "x", "expires_at": "2030-05-01T12:00:00+02:00"}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json["expires_at"], "2030-05-01T10:00:00.000Z");
}

#[tokio::test]
async fn a_relative_expiry_counts_from_the_created_at_it_is_stored_with() {
    // The request's instant is `created_at` too: `expires_in_days: 30` stores exactly
    // 30 days, however long the request takes. (An instant in the past makes a second
    // clock reading inside the service visible.)
    let app = App::start().await;
    let alice = principal("acme", "alice", USER);
    let then = time::now() - chrono::Duration::milliseconds(1234);
    let body = json!({"name": "n", "expires_in_days": 30});
    let input = http::parse_create(&body, then, app.service.scopes()).unwrap();
    let minted = app.service.create(&alice, input, None, then).await.unwrap();
    assert_eq!(minted.item.created_at, then);
    assert_eq!(
        minted.item.expires_at,
        Some(then + chrono::Duration::days(30))
    );
}

#[tokio::test]
async fn tokens_for_another_user_need_tokens_admin() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    app.post("/tokens", &alice, json!({"name": "x", "user_id": "bob"}))
        .await
        .assert_problem(403, "missing-scope");
    // Naming oneself is fine.
    assert_eq!(
        app.post("/tokens", &alice, json!({"name": "x", "user_id": "alice"}))
            .await
            .status,
        201
    );

    let admin = app.mint("acme", "root", ADMIN).await;
    let r = app
        .post(
            "/tokens",
            &admin,
            json!({"name": "for bob", "user_id": "bob"}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        (r.json["user_id"].as_str(), r.json["created_by"].as_str()),
        (Some("bob"), Some("root"))
    );
}

#[tokio::test]
async fn a_token_cannot_grant_scopes_it_does_not_hold() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let r = app
        .post(
            "/tokens",
            &alice,
            json!({"name": "x", "scopes": ["tokens:read", "tokens:admin"]}),
        )
        .await;
    r.assert_problem(403, "forbidden");
    assert!(r.json["detail"].as_str().unwrap().contains("tokens:admin"));
    let admin = app.mint("acme", "root", ADMIN).await;
    app.post(
        "/tokens",
        &admin,
        json!({"name": "x", "scopes": ["orders:write"]}),
    )
    .await
    .assert_problem(403, "forbidden");
    assert_eq!(
        app.post(
            "/tokens",
            &admin,
            json!({"name": "x", "scopes": ["orders:read"]})
        )
        .await
        .status,
        201
    );
}

#[tokio::test]
async fn creating_needs_tokens_write() {
    let app = App::start().await;
    let reader = app.mint("acme", "alice", &["tokens:read"]).await;
    app.post("/tokens", &reader, json!({"name": "x"}))
        .await
        .assert_problem(403, "missing-scope");
}

#[tokio::test]
async fn invalid_bodies_name_every_bad_field_and_write_nothing() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let before = app.scan_all().await.len();
    let r = app
        .post(
            "/tokens",
            &alice,
            json!({"name": 5, "scopes": ["tokens:read", "nope"], "expires_at": "2001-01-01T00:00:00Z",
                   "metadata": "x", "colour": "blue"}),
        )
        .await;
    r.assert_problem(422, "validation-error");
    assert_eq!(
        r.error_locs(),
        [
            r#"["body","colour"]"#,
            r#"["body","name"]"#,
            r#"["body","scopes",1]"#,
            r#"["body","expires_at"]"#,
            r#"["body","metadata"]"#,
        ]
    );
    for e in r.json["errors"].as_array().unwrap() {
        assert!(e["msg"].is_string() && e["type"].is_string());
    }
    for body in [
        json!({}),
        json!([]),
        json!("name"),
        json!({"name": "x".repeat(129)}),
        json!({"name": "x", "expires_in_days": 0}),
        json!({"name": "x", "user_id": "a#b"}),
    ] {
        assert_eq!(
            app.post("/tokens", &alice, body.clone()).await.status,
            422,
            "{body}"
        );
    }
    let r = app.call(Method::POST, "/tokens", Some(&alice), None).await;
    r.assert_problem(422, "validation-error");
    assert_eq!(r.error_locs(), [r#"["body"]"#]);
    assert_eq!(
        app.scan_all().await.len(),
        before,
        "a rejected create wrote something"
    );
}
