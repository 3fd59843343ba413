//! The API through the function binaries: every route, and API Gateway's own answers where
//! no function runs.

use hyper::Method;
use serde_json::json;

use crate::stack::{Stack, LOCALHOST};

const ADMIN: &[&str] = &["tokens:read", "tokens:write", "tokens:admin"];

#[tokio::test]
async fn create_list_read_patch_rotate_revoke_and_delete_through_the_binaries() {
    let stack = Stack::start().await;
    // A tenant of its own: the table outlives a run (the walk below counts every token).
    let tenant = format!("deployed-api-{}", uuid::Uuid::now_v7().simple());
    let admin = stack.mint(&tenant, "ops", ADMIN).await;

    let created = stack
        .call(
            Method::POST,
            "/tokens",
            &admin,
            Some(json!({"name": "ci", "scopes": ["tokens:read"], "expires_in_days": 30})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(
        created.headers["content-type"], "application/json",
        "{:?}",
        created.headers
    );
    let id = created.json["id"].as_str().unwrap().to_string();
    let secret = created.json["secret"].as_str().unwrap().to_string();

    // The new token works at once, through the authorizer binary.
    let me = stack.call(Method::GET, "/tokens/self", &secret, None).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.json["id"], id.as_str());

    // Pages of one, forward: cursors sealed by the list binary's keys.
    for _ in 0..2 {
        let more = stack
            .call(
                Method::POST,
                "/tokens",
                &admin,
                Some(json!({"name": "more", "scopes": ["tokens:read"]})),
            )
            .await;
        assert_eq!(more.status, 201);
    }
    let seen = every_page(&stack, &admin, &secret).await;
    assert_eq!(seen.len(), 4, "the admin and three created: {seen:?}");

    let read = stack
        .call(Method::GET, &format!("/tokens/{id}"), &admin, None)
        .await;
    assert_eq!(read.json["name"], "ci");
    let patched = stack
        .request(
            LOCALHOST,
            Method::PATCH,
            &format!("/tokens/{id}"),
            Some(&admin),
            Some(json!({"name": "ci-renamed"})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.json["name"], "ci-renamed");

    rotate_revoke_and_delete(&stack, &admin, &id).await;
}

/// Every token id of the admin's tenant, one page at a time; no page holds a secret.
async fn every_page(stack: &Stack, admin: &str, secret: &str) -> Vec<serde_json::Value> {
    let mut seen = Vec::new();
    let mut path = "/tokens?limit=1&include_total_count=true".to_string();
    loop {
        let page = stack.call(Method::GET, &path, admin, None).await;
        assert_eq!(page.status, 200, "{}", page.text);
        assert!(!page.text.contains("secret_hash") && !page.text.contains(secret));
        seen.extend(
            page.json["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].clone()),
        );
        match page.json["next_cursor"].as_str() {
            Some(c) => path = format!("/tokens?limit=1&cursor={c}"),
            None => return seen,
        }
    }
}

/// Rotates token `id`, then revokes and deletes its successor, checking each at the
/// authorizer.
async fn rotate_revoke_and_delete(stack: &Stack, admin: &str, id: &str) {
    let rotated = stack
        .call(
            Method::POST,
            &format!("/tokens/{id}/rotate"),
            admin,
            Some(json!({})),
        )
        .await;
    assert_eq!(rotated.status, 201, "{}", rotated.text);
    let successor = rotated.json["secret"].as_str().unwrap().to_string();
    let new_id = rotated.json["id"].as_str().unwrap().to_string();
    assert_eq!(
        stack
            .call(Method::GET, "/tokens/self", &successor, None)
            .await
            .status,
        200
    );

    let revoked = stack
        .call(
            Method::POST,
            &format!("/tokens/{new_id}/revoke"),
            admin,
            None,
        )
        .await;
    assert!(matches!(revoked.status, 200 | 204), "{}", revoked.text);
    // A revoked token is refused by the authorizer: API Gateway's own 403.
    let refused = stack
        .call(Method::GET, "/tokens/self", &successor, None)
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json, json!({"message": "Forbidden"}));

    let deleted = stack
        .call(Method::DELETE, &format!("/tokens/{new_id}"), admin, None)
        .await;
    assert!(matches!(deleted.status, 200 | 204), "{}", deleted.text);
}

#[tokio::test]
async fn api_gateway_answers_for_itself_where_no_function_runs() {
    let stack = Stack::start().await;
    let admin = stack.mint("deployed-gw", "ops", ADMIN).await;
    // No Authorization header: 401 without invoking the authorizer.
    let before = stack.lambda.stats("TokensAuthorizerFunction").invocations;
    let anonymous = stack
        .request(LOCALHOST, Method::GET, "/tokens", None, None)
        .await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.json, json!({"message": "Unauthorized"}));
    assert_eq!(
        stack.lambda.stats("TokensAuthorizerFunction").invocations,
        before
    );
    // A token the authorizer refuses: 403, not the function's problem+json.
    let junk = stack.call(Method::GET, "/tokens", "tkn_junk", None).await;
    assert_eq!(junk.status, 403);
    assert_eq!(junk.json, json!({"message": "Forbidden"}));
    // No such route: 404 from API Gateway, before any authorizer.
    let nowhere = stack.call(Method::GET, "/nowhere", &admin, None).await;
    assert_eq!(nowhere.status, 404);
    assert_eq!(nowhere.json, json!({"message": "Not Found"}));
    // The function's own problems pass through unchanged.
    let bad = stack
        .call(Method::POST, "/tokens", &admin, Some(json!({"name": ""})))
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert_eq!(bad.headers["content-type"], "application/problem+json");
}

#[tokio::test]
async fn overlapping_requests_get_environments_of_their_own_and_each_binary_starts_cold_once() {
    let stack = Stack::start().await;
    let admin = stack.mint("deployed-concurrency", "ops", ADMIN).await;
    let calls = (0..6).map(|_| stack.call(Method::GET, "/tokens", &admin, None));
    for reply in futures_util::future::join_all(calls).await {
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    let list = stack.lambda.stats("TokensListFunction");
    assert!(list.environments_started > 1, "{list:?}");
    assert_eq!(list.cold_start_init.len() as u64, list.environments_started);
    // Warm environments are reused once the burst is over.
    for _ in 0..3 {
        assert_eq!(
            stack
                .call(Method::GET, "/tokens", &admin, None)
                .await
                .status,
            200
        );
    }
    assert_eq!(
        stack
            .lambda
            .stats("TokensListFunction")
            .environments_started,
        list.environments_started
    );
}
