//! `POST /tokens/{id}/revoke` and `DELETE /tokens/{id}`

use integration_tests::{App, Method};
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
