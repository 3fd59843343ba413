//! Children never escape their parent's `allowed_ips`, whether minted or rotated.

use api_tokens::service::CreateInput;
use integration_tests::App;
use serde_json::json;

use crate::USER;

#[tokio::test]
async fn a_restricted_token_mints_and_rotates_only_tokens_inside_its_blocks() {
    let app = App::start().await;
    // The dev server sees every request from 127.0.0.1.
    let (_, parent) = app
        .mint_with(
            "acme",
            "alice",
            USER,
            CreateInput {
                allowed_ips: vec!["127.0.0.0/8".into()],
                ..Default::default()
            },
        )
        .await;
    // No restriction asked: the child inherits the parent's.
    let child = app
        .post("/tokens", &parent, json!({"name": "child", "scopes": USER}))
        .await;
    assert_eq!(child.status, 201, "{}", child.text);
    assert_eq!(child.json["allowed_ips"], json!(["127.0.0.0/8"]));
    // Narrower: granted as asked.
    let narrow = app
        .post(
            "/tokens",
            &parent,
            json!({"name": "n", "allowed_ips": ["127.0.0.1/32"]}),
        )
        .await;
    assert_eq!(narrow.json["allowed_ips"], json!(["127.0.0.1/32"]));
    // Wider, beside, or another family: 403 naming the field, nothing written.
    let before = app.records().await.len();
    for ips in [
        json!(["0.0.0.0/0"]),
        json!(["127.0.0.0/7"]),
        json!(["10.0.0.0/8"]),
        json!(["::1/128"]),
        json!(["127.0.0.1", "192.0.2.1"]),
    ] {
        let r = app
            .post(
                "/tokens",
                &parent,
                json!({"name": "wide", "allowed_ips": ips}),
            )
            .await;
        r.assert_problem(403, "forbidden");
        assert!(
            r.json["detail"]
                .as_str()
                .unwrap()
                .starts_with("allowed_ips:"),
            "{}",
            r.text
        );
    }
    assert_eq!(app.records().await.len(), before);
    // The grandchild, minted by the child, is held inside the child's blocks in turn.
    let grandchild_secret = child.json["secret"].as_str().unwrap();
    let r = app
        .post(
            "/tokens",
            grandchild_secret,
            json!({"name": "g", "allowed_ips": ["0.0.0.0/0"]}),
        )
        .await;
    r.assert_problem(403, "forbidden");

    rotations_stay_inside_the_blocks_of(&app, &parent).await;
}

/// An unrestricted token of alice's, rotated by the restricted `parent`, gets the parent's
/// blocks; one restricted elsewhere cannot be rotated by it.
async fn rotations_stay_inside_the_blocks_of(app: &App, parent: &str) {
    let (open_id, _) = app
        .mint_with("acme", "alice", USER, CreateInput::default())
        .await;
    let r = app
        .post(&format!("/tokens/{open_id}/rotate"), parent, json!({}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["allowed_ips"], json!(["127.0.0.0/8"]));
    let (elsewhere, _) = app
        .mint_with(
            "acme",
            "alice",
            USER,
            CreateInput {
                allowed_ips: vec!["10.0.0.0/8".into()],
                ..Default::default()
            },
        )
        .await;
    let r = app
        .post(&format!("/tokens/{elsewhere}/rotate"), parent, json!({}))
        .await;
    r.assert_problem(403, "forbidden");
    assert!(r.json["detail"]
        .as_str()
        .unwrap()
        .starts_with("allowed_ips:"));
}
