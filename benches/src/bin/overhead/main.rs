//! `scripts/bench overhead`: what the service adds on top of its DynamoDB requests. For each
//! route, the latency of one HTTP request through the local server (the dev server in
//! process, over DynamoDB Local: routing, the authorizer's check, the handler) against a bare
//! SDK client sending the same DynamoDB requests (same operations, keys, expressions, limits
//! and items) and doing nothing else. Both run in the same process, interleaved: each
//! iteration runs both, in alternating order. Prints a Markdown table of medians and ratios,
//! then two pieces of the list route timed alone: a bare HTTP round trip to the local server
//! and the list page's JSON answer.
//!
//! `OVERHEAD_ITERATIONS` (default 1000) sets the measured iterations; 20 more warm up first.

mod bare;
mod direct;
mod measure;

use std::time::Instant;

use api_tokens::model::TokenItem;
use api_tokens::schema;
use api_tokens::service::listing::ListQuery;
use api_tokens::service::CreateInput;
use api_tokens::{authorizer, time, Principal};
use api_tokens_benches::{median, percentile, seed_tenant};
use bare::Bare;
use direct::Direct;
use futures_util::FutureExt;
use integration_tests::{dynamodb_counted, endpoint, sample_token, App, RequestCounter};
use measure::{interleave, Measured, WARM_UP};
use serde_json::json;
use uuid::Uuid;

const TENANT: &str = "bench";
const ADMIN: &str = "admin";
/// Size of the list page both sides read.
const PAGE: i32 = 50;
const SCOPES: [&str; 3] = ["tokens:admin", "tokens:read", "tokens:write"];

#[tokio::main]
async fn main() {
    let iterations: usize = std::env::var("OVERHEAD_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let b = Bench::set_up(iterations).await;
    eprintln!("set up; measuring {iterations} iterations per route");
    let mut results = Vec::new();
    results.extend(lists(&b, iterations).await);
    results.extend(writes(&b, iterations).await);
    results.extend(verifies(&b, iterations).await);
    print_table(&results);
    pieces(&b, iterations).await;
    b.app
        .dynamodb
        .delete_table()
        .table_name(&b.app.table)
        .send()
        .await
        .unwrap();
}

/// Both sides, and what they work on.
struct Bench {
    /// The service, its local server, and its (counted) DynamoDB client.
    app: App,
    /// The server side's connection to the local server.
    http: Direct,
    bare: Bare,
    bare_requests: RequestCounter,
    /// The admin's token id and secret.
    admin_id: Uuid,
    admin: String,
    /// Active tokens to revoke: the server side's (ids as in a path), the bare side's.
    victims: (Vec<String>, Vec<Uuid>),
    /// Who lists in process.
    lister: Principal,
}

impl Bench {
    /// A tenant of 1,000 tokens, the admin's token, one victim per iteration on each side.
    async fn set_up(iterations: usize) -> Self {
        // No last-use write behind the checks (it is off the response path, at most once a
        // minute per token in AWS): both sides send exactly the same requests.
        let app = App::start_with(&[("LAST_USED_INTERVAL_SECONDS", "0")]).await;
        let base = time::now() - chrono::Duration::days(30);
        seed_tenant(&app.dynamodb, &app.table, TENANT, 0..1_000, 5, base, 4).await;
        let (admin_id, admin) = app
            .mint_with(TENANT, ADMIN, &SCOPES, CreateInput::default())
            .await;
        let bare_requests = RequestCounter::default();
        let bare = Bare {
            db: dynamodb_counted(&endpoint(), bare_requests.clone()),
            table: app.table.clone(),
        };
        let mut victims = (Vec::new(), Vec::new());
        for i in 0..2 * (WARM_UP + iterations) {
            let input = CreateInput {
                name: format!("victim {i}"),
                ..Default::default()
            };
            let (id, _) = app.mint_with(TENANT, "user1", &[], input).await;
            if i % 2 == 0 {
                victims.0.push(id);
            } else {
                victims.1.push(Uuid::parse_str(&id).unwrap());
            }
        }
        let http = Direct::connect(app.addr).await;
        Self {
            app,
            http,
            bare,
            bare_requests,
            admin_id: Uuid::parse_str(&admin_id).unwrap(),
            admin,
            victims,
            lister: integration_tests::principal(TENANT, ADMIN, &SCOPES),
        }
    }

    fn counters(&self) -> (&RequestCounter, &RequestCounter) {
        (&self.app.requests, &self.bare_requests)
    }
}

/// The list route through HTTP, and its handler alone in process.
async fn lists(b: &Bench, iterations: usize) -> Vec<Measured> {
    let (http, bare, admin, admin_id) = (&b.http, &b.bare, b.admin.as_str(), b.admin_id);
    let through_http = interleave(
        "list: `GET /tokens?limit=50` (admin, tenant's live tokens)",
        iterations,
        b.counters(),
        |_| {
            async move {
                let (status, body) = http.get("/tokens?limit=50", admin).await;
                assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
            }
            .boxed_local()
        },
        |_| {
            async move {
                bare.credential(admin_id).await;
                bare.list_page(TENANT, PAGE).await;
            }
            .boxed_local()
        },
    )
    .await;
    // The handler's share of the list route alone: no HTTP, no event, no authorizer.
    let (service, lister, query) = (&b.app.service, &b.lister, &ListQuery::default());
    let in_process = interleave(
        "list in process: `TokenService::list`, limit 50 (no HTTP, no authorizer)",
        iterations,
        b.counters(),
        |_| {
            async move {
                let r = service.list(lister, query).await.unwrap();
                assert_eq!(r.items.len(), PAGE as usize);
            }
            .boxed_local()
        },
        |_| async move { bare.list_page(TENANT, PAGE).await }.boxed_local(),
    )
    .await;
    vec![through_http, in_process]
}

/// The bare side's `i`-th new token.
fn bare_token(i: usize) -> TokenItem {
    TokenItem {
        id: Uuid::now_v7(),
        name: format!("bare {i}"),
        prefix: "tkn_0123abcd".into(),
        scopes: vec!["tokens:read".into()],
        ..sample_token(TENANT, ADMIN)
    }
}

/// Create and revoke through HTTP.
async fn writes(b: &Bench, iterations: usize) -> Vec<Measured> {
    let (http, bare, admin, admin_id) = (&b.http, &b.bare, b.admin.as_str(), b.admin_id);
    let create = interleave(
        "create: `POST /tokens`",
        iterations,
        b.counters(),
        |i| {
            async move {
                let body = json!({"name": format!("created {i}"), "scopes": ["tokens:read"]});
                let (status, body) = http.post("/tokens", admin, body).await;
                assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
            }
            .boxed_local()
        },
        |i| {
            async move {
                bare.credential(admin_id).await;
                bare.create(&bare_token(i)).await;
            }
            .boxed_local()
        },
    )
    .await;
    let (server_victims, bare_victims) = (&b.victims.0, &b.victims.1);
    let revoke = interleave(
        "revoke: `POST /tokens/{id}/revoke`",
        iterations,
        b.counters(),
        |i| {
            async move {
                let path = format!("/tokens/{}/revoke", server_victims[i]);
                let (status, body) = http.post(&path, admin, json!({"reason": "bench"})).await;
                assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
            }
            .boxed_local()
        },
        |i| {
            async move {
                bare.credential(admin_id).await;
                bare.revoke(bare_victims[i], ADMIN, "bench").await;
            }
            .boxed_local()
        },
    )
    .await;
    vec![create, revoke]
}

/// The check and the caller's record through HTTP, and the authorizer alone in process.
async fn verifies(b: &Bench, iterations: usize) -> Vec<Measured> {
    let (http, bare, admin, admin_id) = (&b.http, &b.bare, b.admin.as_str(), b.admin_id);
    let through_http = interleave(
        "verify: `GET /tokens/self` (the check, then the caller's record)",
        iterations,
        b.counters(),
        |_| {
            async move {
                let (status, body) = http.get("/tokens/self", admin).await;
                assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
            }
            .boxed_local()
        },
        |_| {
            async move {
                bare.credential(admin_id).await;
                bare.get(schema::token_pk(admin_id)).await.unwrap();
            }
            .boxed_local()
        },
    )
    .await;
    let event = json!({"version": "2.0", "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:eu-west-1:1:api/$default/GET/tokens",
        "identitySource": [format!("Bearer {admin}")], "routeKey": "GET /tokens",
        "rawPath": "/tokens", "rawQueryString": "",
        "headers": {"authorization": format!("Bearer {admin}")},
        "requestContext": {"http": {"method": "GET", "path": "/tokens", "sourceIp": "203.0.113.7"}}});
    let (service, event) = (&b.app.service, &event);
    let alone = interleave(
        "verify alone: `authorizer::handle` in process, no HTTP",
        iterations,
        b.counters(),
        |_| {
            async move {
                let answer = authorizer::handle(&**service, event.clone()).await.unwrap();
                assert_eq!(answer["isAuthorized"], true);
            }
            .boxed_local()
        },
        |_| async move { bare.credential(admin_id).await }.boxed_local(),
    )
    .await;
    vec![through_http, alone]
}

/// The routes' table: medians and ratios.
fn print_table(results: &[Measured]) {
    println!("| route | DynamoDB requests per call (server / bare) | server p50 | bare SDK p50 | ratio of medians | server − bare, p50 | server p90 | bare SDK p90 |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for m in results {
        let (a, b) = (median(&m.server_ms), median(&m.bare_ms));
        println!(
            "| {} | {} / {} | {a:.3} ms | {b:.3} ms | {:.3} | {:.3} ms | {:.3} ms | {:.3} ms |",
            m.route,
            m.server_requests,
            m.bare_requests,
            a / b,
            a - b,
            percentile(&m.server_ms, 0.9),
            percentile(&m.bare_ms, 0.9),
        );
    }
}

/// Two pieces of the list route's overhead, measured alone: a bare HTTP round trip to the
/// local server, and the list page's JSON answer.
async fn pieces(b: &Bench, iterations: usize) {
    let mut round_trips = Vec::with_capacity(iterations);
    for i in 0..WARM_UP + iterations {
        let t = Instant::now();
        let (status, _) = b.http.get("/no-such-route", &b.admin).await;
        assert_eq!(status, 404);
        if i >= WARM_UP {
            round_trips.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let query = ListQuery::default();
    let page = b.app.service.list(&b.lister, &query).await.unwrap();
    let (now, t) = (time::now(), Instant::now());
    for _ in 0..iterations {
        std::hint::black_box(api_tokens::http::list_response(&page, &query, now));
    }
    let answer_ms = t.elapsed().as_secs_f64() * 1000.0 / iterations as f64;
    println!();
    println!(
        "- HTTP round trip alone (`GET /no-such-route`, answered 404 before any event or handler): p50 {:.3} ms, p90 {:.3} ms",
        median(&round_trips),
        percentile(&round_trips, 0.9)
    );
    println!(
        "- The list page's JSON answer alone (`api::list_response`, {} tokens, in process): {answer_ms:.3} ms",
        page.items.len()
    );
}
