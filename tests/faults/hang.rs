//! A hung DynamoDB (connections accepted, nothing answered: the proxy's `Hang`) costs each
//! route its budget and no more: `Budget::API` for the routes, then 503 problem+json with
//! `Retry-After`; `Budget::AUTHORIZER` for the authorizer, then an error (API Gateway's 500;
//! the dev server's 503). Measured per route and asserted against the budget.

use std::time::{Duration, Instant};

use api_tokens::authorizer::{self, AuthorizerError};
use api_tokens::Budget;
use fault_proxy::{Fault, Rule};
use integration_tests::{App, Method, Reply};
use serde_json::{json, Value};

use crate::{ADMIN, SLACK};

/// Longer than any budget: a request still unanswered then has hung.
const GIVE_UP: Duration = Duration::from_secs(20);

/// `method path` with `token` and `body`, timed; a request that hangs fails the test.
async fn timed(
    app: &App,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (Reply, Duration) {
    let started = Instant::now();
    let call = app.call(method.clone(), path, Some(token), body);
    let reply = tokio::time::timeout(GIVE_UP, call)
        .await
        .unwrap_or_else(|_| panic!("{method} {path}: no answer after {GIVE_UP:?}"));
    (reply, started.elapsed())
}

/// The 503 every route gives while DynamoDB hangs.
fn assert_unavailable(what: &str, reply: &Reply, took: Duration, budget: Duration) {
    assert_eq!(reply.status, 503, "{what}: {}", reply.text);
    assert_eq!(
        reply.header("content-type"),
        "application/problem+json",
        "{what}"
    );
    assert_eq!(reply.problem(), "/problems/service-unavailable", "{what}");
    assert!(
        !reply.header("retry-after").is_empty(),
        "{what}: Retry-After"
    );
    assert!(
        took <= budget + SLACK,
        "{what}: answered after {took:?}, budget {budget:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_503_within_the_api_budget_while_dynamodb_hangs() {
    // The authorizer's verification is cached (as a warm instance's is), so each request
    // reaches its route and waits on the route's own DynamoDB requests.
    let app = App::start_behind_proxy(&[("AUTH_CACHE_TTL_SECONDS", "300")]).await;
    let admin = app.mint("acme", "root", ADMIN).await;
    let created = app.post("/tokens", &admin, json!({"name": "target"})).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["id"].as_str().unwrap().to_string();
    let warm = app.get("/tokens/self", &admin).await;
    assert_eq!(warm.status, 200, "{}", warm.text);

    app.faults().set(vec![Rule::new(Fault::Hang)]);
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/tokens".into(), None),
        (Method::GET, "/tokens?include_total_count=true".into(), None),
        (
            Method::GET,
            "/tokens?name=target&status=active&sort=name".into(),
            None,
        ),
        (Method::GET, "/tokens/self".into(), None),
        (Method::GET, format!("/tokens/{id}"), None),
        (
            Method::POST,
            "/tokens".into(),
            Some(json!({"name": "during the hang"})),
        ),
        (
            Method::PATCH,
            format!("/tokens/{id}"),
            Some(json!({"name": "renamed"})),
        ),
        (
            Method::POST,
            format!("/tokens/{id}/rotate"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/tokens/{id}/revoke"),
            Some(json!({"reason": "x"})),
        ),
        (Method::DELETE, format!("/tokens/{id}"), None),
    ];
    // All at once: each waits on its own hung requests.
    let answers = futures_util::future::join_all(
        routes
            .iter()
            .map(|(m, p, b)| timed(&app, m.clone(), p, &admin, b.clone())),
    )
    .await;
    for ((method, path, _), (reply, took)) in routes.iter().zip(&answers) {
        eprintln!(
            "hung DynamoDB: {method} {path}: {} in {took:?}",
            reply.status
        );
        assert_unavailable(
            &format!("{method} {path}"),
            reply,
            *took,
            Budget::API.answer,
        );
    }
    assert!(app.faults().stats().applied("hang") >= routes.len() as u64);

    // Nothing was half-written: once DynamoDB answers again the token is as it was, and the
    // table holds exactly the two tokens (no create went through without its answer).
    app.faults().clear();
    let after = app.get(&format!("/tokens/{id}"), &admin).await;
    assert_eq!(after.status, 200, "{}", after.text);
    assert_eq!(after.json["name"], "target");
    assert_eq!(after.json["status"], "active");
    assert_eq!(app.records().await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorizer_fails_within_its_budget_while_dynamodb_hangs() {
    let app = App::start_behind_proxy(&[]).await;
    let token = app.mint("acme", "alice", &["tokens:read"]).await;
    app.faults().set(vec![Rule::new(Fault::Hang)]);

    // The function's handler, both API flavours: an error (API Gateway answers 500), never
    // a denial that would tell the caller its token is bad.
    let http = json!({"version": "2.0", "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:eu-west-1:1:api/$default/GET/tokens",
        "identitySource": [format!("Bearer {token}")], "routeKey": "GET /tokens", "rawPath": "/tokens",
        "headers": {"authorization": format!("Bearer {token}")},
        "requestContext": {"http": {"method": "GET", "path": "/tokens", "sourceIp": "192.0.2.1"}}});
    let rest = json!({"type": "TOKEN", "authorizationToken": format!("Bearer {token}"),
        "methodArn": "arn:aws:execute-api:eu-west-1:1:api/prod/GET/tokens"});
    for (what, event) in [("HTTP API", http), ("REST API", rest)] {
        let started = Instant::now();
        let answer = tokio::time::timeout(GIVE_UP, authorizer::handle(&app.service, event))
            .await
            .unwrap_or_else(|_| panic!("{what}: the authorizer hung"));
        let took = started.elapsed();
        eprintln!("hung DynamoDB: authorizer ({what}): failed in {took:?}");
        assert!(
            matches!(
                answer,
                Err(AuthorizerError::OutOfTime(_) | AuthorizerError::Store(_))
            ),
            "{what}: {answer:?}"
        );
        assert!(
            took <= Budget::AUTHORIZER.answer + SLACK,
            "{what}: {took:?}"
        );
    }

    // Through the dev server, as a client sees it: 503 within the authorizer's budget.
    let (reply, took) = timed(&app, Method::GET, "/tokens/self", &token, None).await;
    eprintln!(
        "hung DynamoDB: GET /tokens/self, uncached: {} in {took:?}",
        reply.status
    );
    assert_unavailable(
        "uncached verification",
        &reply,
        took,
        Budget::AUTHORIZER.answer,
    );

    // And it recovers as soon as DynamoDB does.
    app.faults().clear();
    let reply = app.get("/tokens/self", &token).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_use_that_hangs_does_not_cost_the_caller_its_answer() {
    // The last-use write is the only request after the credential's read: hung alone, the
    // verified caller still gets in, within the authorizer's budget.
    let app = App::start_behind_proxy(&[("LAST_USED_INTERVAL_SECONDS", "1")]).await;
    let token = app.mint("acme", "alice", &["tokens:read"]).await;
    app.faults()
        .set(vec![Rule::new(Fault::Hang).target("UpdateItem")]);
    let event = json!({"type": "TOKEN", "authorizationToken": format!("Bearer {token}"),
        "methodArn": "arn:aws:execute-api:eu-west-1:1:api/prod/GET/tokens"});
    let started = Instant::now();
    let answer = authorizer::handle(&app.service, event).await.unwrap();
    let took = started.elapsed();
    assert_eq!(
        answer["policyDocument"]["Statement"][0]["Effect"], "Allow",
        "{answer}"
    );
    assert!(took < Budget::AUTHORIZER.answer, "{took:?}");
    assert_eq!(app.faults().stats().applied("hang"), 1);
}
