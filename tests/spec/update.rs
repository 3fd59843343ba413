//! `PATCH /tokens/{id}`

use integration_tests::App;
use serde_json::json;

use crate::{ADMIN, USER};

#[tokio::test]
async fn patch_changes_name_description_and_metadata_only() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let created = app
        .post(
            "/tokens",
            &alice,
            json!({"name": "deploy", "description": "CI", "scopes": ["tokens:read"],
                   "expires_in_days": 3, "metadata": {"env": "prod", "team": "infra"}}),
        )
        .await
        .json;
    let path = format!("/tokens/{}", created["id"].as_str().unwrap());

    let r = app
        .patch(
            &path,
            &alice,
            json!({"name": "Zeta deploy", "metadata": {"env": "staging"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["name"], "Zeta deploy");
    assert_eq!(r.json["description"], "CI", "an absent field is left alone");
    assert_eq!(
        r.json["metadata"],
        json!({"env": "staging"}),
        "metadata is replaced"
    );
    assert!(r.json["updated_at"].as_str() > created["updated_at"].as_str());
    for kept in [
        "scopes",
        "expires_at",
        "user_id",
        "created_at",
        "prefix",
        "status",
    ] {
        assert_eq!(r.json[kept], created[kept], "{kept}");
    }
    assert_eq!(app.get(&path, &alice).await.json, r.json);

    // The new name is where a name-sorted list puts it.
    let names: Vec<String> = app.get("/tokens?sort=name", &alice).await.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, vec!["alice token", "Zeta deploy"]);
    let found = app.get("/tokens?name=zeta", &alice).await;
    assert_eq!(found.json["items"][0]["id"], created["id"]);

    // null removes the description and empties the metadata.
    let r = app
        .patch(
            &path,
            &alice,
            json!({"description": null, "metadata": null}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json["description"].is_null());
    assert_eq!(r.json["metadata"], json!({}));
    assert_eq!(r.json["name"], "Zeta deploy");
}

#[tokio::test]
async fn scopes_expiry_owner_and_addresses_are_immutable() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let (id, _) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    let path = format!("/tokens/{id}");
    let before = app.get(&path, &alice).await.json;
    let r = app
        .patch(
            &path,
            &alice,
            json!({"name": "ok", "scopes": ["tokens:admin"], "expires_at": null,
                   "expires_in_days": 9, "user_id": "bob", "allowed_ips": [], "status": "active"}),
        )
        .await;
    r.assert_problem(422, "validation-error");
    let kinds: Vec<(String, String)> = r.json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["loc"].to_string(), e["type"].as_str().unwrap().into()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (r#"["body","allowed_ips"]"#.into(), "immutable".into()),
            (r#"["body","expires_at"]"#.into(), "immutable".into()),
            (r#"["body","expires_in_days"]"#.into(), "immutable".into()),
            (r#"["body","scopes"]"#.into(), "immutable".into()),
            (r#"["body","status"]"#.into(), "extra_forbidden".into()),
            (r#"["body","user_id"]"#.into(), "immutable".into()),
        ]
    );
    assert_eq!(
        app.get(&path, &alice).await.json,
        before,
        "nothing was written"
    );

    for (body, loc, kind) in [
        (json!({}), r#"["body"]"#, "missing"),
        (
            json!({"name": ""}),
            r#"["body","name"]"#,
            "string_too_short",
        ),
        (
            json!({"name": "  "}),
            r#"["body","name"]"#,
            "string_too_short",
        ),
        (json!({"name": null}), r#"["body","name"]"#, "missing"),
        (
            json!({"metadata": {"k": 1}}),
            r#"["body","metadata","k"]"#,
            "string_type",
        ),
        (
            json!({"description": 5}),
            r#"["body","description"]"#,
            "string_type",
        ),
    ] {
        let r = app.patch(&path, &alice, body.clone()).await;
        r.assert_problem(422, "validation-error");
        assert_eq!(r.error_locs(), vec![loc.to_string()], "{body}");
        assert_eq!(r.json["errors"][0]["type"], kind, "{body}");
    }
}

#[tokio::test]
async fn only_the_owner_or_an_admin_of_the_tenant_may_patch() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let bob = app.mint("acme", "bob", USER).await;
    let root = app.mint("acme", "root", ADMIN).await;
    let reader = app.mint("acme", "alice", &["tokens:read"]).await;
    let other_admin = app.mint("globex", "root", ADMIN).await;
    let (id, _) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    let path = format!("/tokens/{id}");
    let body = json!({"name": "renamed"});
    app.patch(&path, &bob, body.clone())
        .await
        .assert_problem(404, "token-not-found");
    app.patch(&path, &other_admin, body.clone())
        .await
        .assert_problem(404, "token-not-found");
    app.patch(&path, &reader, body.clone())
        .await
        .assert_problem(403, "missing-scope");
    assert_eq!(app.patch(&path, &alice, body.clone()).await.status, 200);
    let by_admin = app.patch(&path, &root, json!({"name": "by root"})).await;
    assert_eq!(by_admin.status, 200);
    assert_eq!(by_admin.json["name"], "by root");
}

#[tokio::test]
async fn a_patch_racing_a_revocation_loses_neither_write() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(
            app.mint_with("acme", "alice", USER, Default::default())
                .await
                .0,
        );
    }
    let races = ids.iter().map(|id| {
        let (app, alice) = (&app, &alice);
        async move {
            let path = format!("/tokens/{id}");
            let revoke = format!("{path}/revoke");
            let (p, r) = tokio::join!(
                app.patch(&path, alice, json!({"name": format!("renamed {id}")})),
                app.post(&revoke, alice, json!({"reason": "race"})),
            );
            assert_eq!((p.status, r.status), (200, 200), "{} {}", p.text, r.text);
        }
    });
    futures_util::future::join_all(races).await;
    for id in &ids {
        let t = app.get(&format!("/tokens/{id}"), &alice).await.json;
        assert_eq!(t["name"], format!("renamed {id}"));
        assert_eq!(t["status"], "revoked");
        assert_eq!(t["revocation_reason"], "race");
    }
}
