//! The release binaries with DynamoDB hung (a fault-injecting proxy between the functions and
//! the AWS stand-in): each route's function answers 503 problem+json itself within
//! `Budget::API`, long before its Lambda timeout, and the authorizer fails within
//! `Budget::AUTHORIZER`, so API Gateway answers 500 in about a second instead of waiting.

use std::time::{Duration, Instant};

use api_tokens::Budget;
use fault_proxy::{Fault, Rule};
use hyper::Method;
use serde_json::json;

use crate::stack::{Stack, Template};

/// What a busy two-core machine may add between a budget's timer and the answer arriving
/// through the emulated API Gateway.
const SLACK: Duration = Duration::from_millis(1000);

const ADMIN: &[&str] = &["tokens:read", "tokens:write", "tokens:admin"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_a_hung_dynamodb_each_function_answers_503_within_its_budget() {
    // API Gateway's authorizer cache (300 s, per token, address and route) lets requests
    // reach the functions while the table hangs, as it does for a warm API.
    let stack = Stack::start_behind_proxy(Template::Cached).await;
    // A tenant of its own: the suite's stacks share one table.
    let tenant = format!("faults-{}", uuid::Uuid::now_v7().simple());
    let admin = stack.mint(&tenant, "root", ADMIN).await;
    let (ids, routes) = warm_routes(&stack, &admin).await;
    let proxy = stack.proxy.as_ref().unwrap();
    proxy.set(vec![Rule::new(Fault::Hang)]);
    let mut routes = routes;
    routes.push((
        Method::POST,
        "/tokens".into(),
        Some(json!({"name": "during"})),
    ));
    for (method, path, body) in &routes {
        let started = Instant::now();
        let r = stack.call(method.clone(), path, &admin, body.clone()).await;
        let took = started.elapsed();
        eprintln!(
            "hung DynamoDB (release binary): {method} {path}: {} in {took:?}",
            r.status
        );
        assert_eq!(r.status, 503, "{method} {path}: {}", r.text);
        assert_eq!(
            r.json["type"], "/problems/service-unavailable",
            "{}",
            r.text
        );
        assert!(r.headers.contains_key("retry-after"), "{method} {path}");
        assert!(
            took <= Budget::API.answer + SLACK,
            "{method} {path}: {took:?}"
        );
    }

    // Nothing the hung requests started was half-done: DynamoDB back, the tokens are as the
    // warm-up left them and the hung create left no token.
    proxy.clear();
    let r = stack
        .call(Method::GET, &format!("/tokens/{}", ids[0]), &admin, None)
        .await;
    assert_eq!(
        (r.status, r.json["name"].as_str()),
        (200, Some("renamed")),
        "{}",
        r.text
    );
    let listed = stack
        .call(
            Method::GET,
            "/tokens?include_revoked=true&include_total_count=true",
            &admin,
            None,
        )
        .await;
    assert_eq!(listed.json["total"], 4, "{}", listed.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_a_hung_dynamodb_the_authorizer_fails_within_its_budget() {
    let stack = Stack::start_behind_proxy(Template::Cached).await;
    let proxy = stack.proxy.as_ref().unwrap();
    // Started while DynamoDB answers, as a warm authorizer is.
    let tenant = format!("faults-{}", uuid::Uuid::now_v7().simple());
    let known = stack.mint(&tenant, "alice", &["tokens:read"]).await;
    let r = stack.call(Method::GET, "/tokens/self", &known, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    proxy.set(vec![Rule::new(Fault::Hang)]);

    // A token API Gateway has not seen: the authorizer runs, and fails within its budget.
    let fresh = stack.mint(&tenant, "bob", &["tokens:read"]).await;
    let errors_before = stack.lambda.stats("TokensAuthorizerFunction").errors;
    let started = Instant::now();
    let r = stack.call(Method::GET, "/tokens/self", &fresh, None).await;
    let took = started.elapsed();
    eprintln!(
        "hung DynamoDB (release binary): authorizer: {} in {took:?}",
        r.status
    );
    assert_eq!(r.status, 500, "{}", r.text);
    assert_eq!(r.json["message"], "Internal Server Error");
    assert!(took <= Budget::AUTHORIZER.answer + SLACK, "{took:?}");
    let errors = stack.lambda.stats("TokensAuthorizerFunction").errors - errors_before;
    assert_eq!(errors, 1, "a function error, not a denial");
}

/// A route: method, path, body.
type Route = (Method, String, Option<serde_json::Value>);

/// Three tokens of `admin`'s, and a call of each route on them, each made once (authorized and
/// cached by API Gateway, and each function started).
async fn warm_routes(stack: &Stack, admin: &str) -> (Vec<String>, Vec<Route>) {
    let mut ids = Vec::new();
    for n in 0..3 {
        let r = stack
            .call(
                Method::POST,
                "/tokens",
                admin,
                Some(json!({ "name": format!("t{n}") })),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        ids.push(r.json["id"].as_str().unwrap().to_string());
    }
    let routes = vec![
        (Method::GET, "/tokens".to_string(), None),
        (Method::GET, format!("/tokens/{}", ids[0]), None),
        (
            Method::PATCH,
            format!("/tokens/{}", ids[0]),
            Some(json!({"name": "renamed"})),
        ),
        (
            Method::POST,
            format!("/tokens/{}/revoke", ids[1]),
            Some(json!({})),
        ),
        (Method::DELETE, format!("/tokens/{}", ids[2]), None),
    ];
    // Warm: each route authorized once (cached by API Gateway) and each function started.
    for (method, path, body) in &routes {
        let r = stack.call(method.clone(), path, admin, body.clone()).await;
        assert!(r.status < 300, "{method} {path}: {}", r.text);
    }
    (ids, routes)
}
