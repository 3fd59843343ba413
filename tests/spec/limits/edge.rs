//! The authorizer in front of other APIs: over a limit, a request is refused at the edge
//! (`"limits": "deny"`, the default) or let through with the verdict in the context
//! (`"limits": "context"`), for HTTP and REST APIs alike; one token's counters are shared by
//! every API it calls.

use api_tokens::domain::usage::QuotaPeriod::Total;
use integration_tests::App;
use lambda_emulator::apigw::policy::{Decision, PolicyDocument};
use serde_json::json;

use super::{limited, quota, rate};
use crate::route_scopes::{answer, declarations, http_event, method_arn, rest_event};
use crate::{ADMIN, USER};

fn apis() -> [(&'static str, serde_json::Value); 2] {
    [
        ("edge", json!({"version": 1, "default": "authenticated"})),
        (
            "verdict",
            json!({"version": 1, "default": "authenticated", "limits": "context"}),
        ),
    ]
}

#[tokio::test]
async fn http_apis_refuse_at_the_edge_unless_they_ask_for_the_verdict() {
    let app = App::start().await;
    let d = declarations(&apis());
    let (_, token) = limited(&app, "alice", USER, Some(rate(1, 3600)), None).await;
    let first = answer(&app, &d, http_event("edge", "GET /orders", &token)).await;
    assert_eq!(first["isAuthorized"], true);
    assert_eq!(first["context"]["usage"], "admitted");
    assert_eq!(first["context"]["ratelimit_policy"], r#""rate";q=1;w=3600"#);
    assert_eq!(first["context"]["rate_limit"], "1/3600");
    let refused = answer(&app, &d, http_event("edge", "GET /orders", &token)).await;
    assert_eq!(refused, json!({"isAuthorized": false, "context": {}}));
    // The same token's window, seen from another API: over, and told so.
    let told = answer(&app, &d, http_event("verdict", "GET /orders", &token)).await;
    assert_eq!(told["isAuthorized"], true);
    assert_eq!(told["context"]["usage"], "rate_limited");
    let retry: u64 = told["context"]["retry_after"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry));
    assert!(told["context"]["ratelimit"]
        .as_str()
        .unwrap()
        .starts_with(r#""rate";r=0;t="#));
}

#[tokio::test]
async fn rest_apis_deny_with_the_verdict_in_the_context_or_allow_with_it() {
    let app = App::start().await;
    let d = declarations(&apis());
    let (_, token) = limited(&app, "alice", USER, None, Some(quota(1, Total))).await;
    let allows = |a: &serde_json::Value, arn: &str| {
        PolicyDocument::parse(&a["policyDocument"])
            .unwrap()
            .evaluate_invoke(arn)
            == Decision::Allow
    };
    let edge = method_arn("edge", "GET", "orders");
    let first = answer(&app, &d, rest_event(&edge, &token)).await;
    assert!(allows(&first, &edge));
    assert_eq!(first["context"]["usage"], "admitted");
    let denied = answer(&app, &d, rest_event(&edge, &token)).await;
    assert!(!allows(&denied, &edge));
    assert_eq!(
        denied["context"]["usage"], "quota_exhausted",
        "for a gateway response"
    );
    assert_eq!(
        denied["context"]["retry_after"], "",
        "a total quota never refills"
    );
    let verdict = method_arn("verdict", "GET", "orders");
    let told = answer(&app, &d, rest_event(&verdict, &token)).await;
    assert!(allows(&told, &verdict));
    assert_eq!(told["context"]["usage"], "quota_exhausted");
    assert_eq!(told["context"]["user_id"], "alice");
}

#[tokio::test]
async fn an_exhausted_quota_and_a_revoked_token_are_told_apart() {
    let app = App::start().await;
    let d = declarations(&apis());
    let admin = app.mint("acme", "root", ADMIN).await;
    let (id, token) = limited(&app, "alice", USER, None, Some(quota(1, Total))).await;
    answer(&app, &d, http_event("verdict", "GET /orders", &token)).await;
    let exhausted = answer(&app, &d, http_event("verdict", "GET /orders", &token)).await;
    assert_eq!(exhausted["isAuthorized"], true);
    assert_eq!(exhausted["context"]["usage"], "quota_exhausted");
    app.post(&format!("/tokens/{id}/revoke"), &admin, json!({}))
        .await;
    let revoked = answer(&app, &d, http_event("verdict", "GET /orders", &token)).await;
    assert_eq!(revoked, json!({"isAuthorized": false, "context": {}}));
}

#[tokio::test]
async fn a_declaration_with_an_unknown_limits_answer_refuses_its_api() {
    let app = App::start().await;
    let d = declarations(&[(
        "odd",
        json!({"version": 1, "default": "authenticated", "limits": "warn"}),
    )]);
    let token = app.mint("acme", "alice", USER).await;
    let a = answer(&app, &d, http_event("odd", "GET /orders", &token)).await;
    assert_eq!(a["isAuthorized"], false);
}
