//! `GET /tokens/{id}`

use integration_tests::App;

use crate::{ADMIN, USER};

#[tokio::test]
async fn owners_read_their_tokens_and_nobody_else_sees_them() {
    let app = App::start().await;
    let (id, alice) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    let bob = app.mint("acme", "bob", USER).await;
    let admin = app.mint("acme", "root", ADMIN).await;
    let foreign_admin = app.mint("globex", "root", ADMIN).await;
    let path = format!("/tokens/{id}");

    let r = app.get(&path, &alice).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["id"], id.as_str());
    assert_eq!(app.get(&path, &admin).await.status, 200);

    // Another user of the tenant, and any token of another tenant: indistinguishable from
    // a token that does not exist.
    let missing = app
        .get(&format!("/tokens/{}", uuid::Uuid::now_v7()), &alice)
        .await;
    missing.assert_problem(404, "token-not-found");
    for (who, token) in [("bob", &bob), ("foreign admin", &foreign_admin)] {
        let r = app.get(&path, token).await;
        r.assert_problem(404, "token-not-found");
        assert_eq!(r.json["detail"], missing.json["detail"], "{who}");
    }
}

#[tokio::test]
async fn ids_that_cannot_exist_are_not_found() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    for id in [
        "abc",
        "00000000-0000-0000-0000-00000000000g",
        "%20",
        "TOKEN%23x",
    ] {
        app.get(&format!("/tokens/{id}"), &alice)
            .await
            .assert_problem(404, "token-not-found");
    }
}

#[tokio::test]
async fn reading_needs_tokens_read() {
    let app = App::start().await;
    let (id, writer) = app
        .mint_with("acme", "alice", &["tokens:write"], Default::default())
        .await;
    app.get(&format!("/tokens/{id}"), &writer)
        .await
        .assert_problem(403, "missing-scope");
    app.get("/tokens", &writer)
        .await
        .assert_problem(403, "missing-scope");
}

#[tokio::test]
async fn a_token_reads_its_own_record_at_tokens_self_whatever_its_scopes() {
    let app = App::start().await;
    let (id, bare) = app
        .mint_with("acme", "alice", &[], Default::default())
        .await;
    let r = app.get("/tokens/self", &bare).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["id"], id.as_str());
    assert_eq!(r.json["scopes"], serde_json::json!([]));
    assert!(r.json.get("secret").is_none());
    app.get("/tokens/self?x=1", &bare)
        .await
        .assert_problem(422, "validation-error");
    let r = app
        .call(
            integration_tests::Method::DELETE,
            "/tokens/self",
            Some(&bare),
            None,
        )
        .await;
    r.assert_problem(405, "method-not-allowed");
    assert_eq!(r.header("allow"), "GET");
}
