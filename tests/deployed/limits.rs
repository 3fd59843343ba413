//! Rate limits and quotas through the binaries: the create function stores them, the
//! authorizer counts each request (its IAM grants on usage counters and notices are used
//! here) and the list function answers the one over the quota with its `429`.

use hyper::Method;
use serde_json::json;

use crate::stack::Stack;

const ADMIN: &[&str] = &["tokens:read", "tokens:write", "tokens:admin"];

#[tokio::test]
async fn a_token_over_its_quota_gets_the_list_functions_429_through_the_authorizer() {
    let stack = Stack::start().await;
    let tenant = format!("deployed-limits-{}", uuid::Uuid::now_v7().simple());
    let admin = stack.mint(&tenant, "ops", ADMIN).await;
    let created = stack
        .call(
            Method::POST,
            "/tokens",
            &admin,
            Some(json!({"name": "metered", "scopes": ["tokens:read"],
                        "rate_limit": {"limit": 100, "window_seconds": 60},
                        "quota": {"limit": 2, "period": "day"}})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let secret = created.json["secret"].as_str().unwrap().to_string();
    let id = created.json["id"].as_str().unwrap().to_string();
    for left in [1, 0] {
        let me = stack.call(Method::GET, "/tokens/self", &secret, None).await;
        assert_eq!(me.status, 200, "{}", me.text);
        assert_eq!(me.json["quota_remaining"], left);
        assert_eq!(
            me.headers["ratelimit-policy"],
            r#""rate";q=100;w=60, "quota";q=2;w=86400"#
        );
    }
    let over = stack.call(Method::GET, "/tokens", &secret, None).await;
    assert_eq!(over.status, 429, "{}", over.text);
    assert_eq!(over.json["type"], "/problems/quota-exhausted");
    assert_eq!(over.headers["content-type"], "application/problem+json");
    assert!(over.headers.contains_key("retry-after"));
    // The revoke function's answers read the counter too: a PATCH lowering the rate limit.
    let patched = stack
        .request(
            crate::stack::LOCALHOST,
            Method::PATCH,
            &format!("/tokens/{id}"),
            Some(&admin),
            Some(json!({"rate_limit": {"limit": 10, "window_seconds": 60}})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.json["rate_limit"]["limit"], 10);
    assert_eq!(patched.json["quota_remaining"], 0);
}
