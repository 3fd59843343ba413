//! Counting: a window or period admits exactly its limit however many clients and
//! authorizer instances count at once, windows and periods refill on time, and a token
//! without limits costs what it did before.

use std::sync::Arc;

use api_tokens::domain::usage::QuotaPeriod::{Day, Month, Total};
use api_tokens::domain::usage::Verdict;
use api_tokens::time::{self, Timestamp};
use api_tokens::{authorizer, DynamoStore, TokenService};
use integration_tests::{dynamodb_for_service, endpoint, principal, App, RequestCounter};
use serde_json::{json, Value};

use super::{counter, counter_item, limited, quota, rate};
use crate::{ADMIN, USER};

/// An HTTP API authorizer event presenting `token`.
fn event(token: &str) -> Value {
    json!({"version": "2.0", "type": "REQUEST", "routeKey": "GET /orders",
           "identitySource": [format!("Bearer {token}")], "rawPath": "/orders",
           "headers": {"authorization": format!("Bearer {token}")},
           "requestContext": {"apiId": "orders", "http": {"method": "GET", "path": "/orders",
                              "sourceIp": "203.0.113.7"}}})
}

#[tokio::test]
async fn a_quota_admits_exactly_its_limit_to_concurrent_clients() {
    let app = Arc::new(App::start().await);
    let admin = app.mint("acme", "root", ADMIN).await;
    let (id, secret) = limited(&app, "alice", USER, None, Some(quota(40, Total))).await;
    let clients: Vec<_> = (0..16)
        .map(|_| {
            let (app, secret) = (app.clone(), secret.clone());
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                for _ in 0..5 {
                    let r = app.get("/tokens/self", &secret).await;
                    statuses.push((r.status, r.problem().to_string()));
                }
                statuses
            })
        })
        .collect();
    let mut admitted = 0;
    let mut refused = 0;
    for c in clients {
        for (status, problem) in c.await.unwrap() {
            match status {
                200 => admitted += 1,
                429 if problem == "/problems/quota-exhausted" => refused += 1,
                other => panic!("unexpected {other} {problem}"),
            }
        }
    }
    assert_eq!((admitted, refused), (40, 40));
    assert_eq!(counter(&app, &id, "total").await, Some(40));
    let seen = app.get(&format!("/tokens/{id}"), &admin).await;
    assert_eq!(seen.json["quota_remaining"], 0);
}

/// `instances` authorizers (each its own service, client and caches, as warm Lambda
/// instances are) over one table, `clients` tasks sending `requests` verifications of one
/// token between them: how many each verdict got, and the DynamoDB requests sent.
async fn verdicts_across_instances(
    app: &App,
    token: &str,
    instances: usize,
    clients: usize,
    requests: usize,
) -> (usize, usize, usize) {
    let sent = RequestCounter::default();
    let services: Vec<Arc<TokenService<DynamoStore>>> = (0..instances)
        .map(|_| {
            let client = dynamodb_for_service(&endpoint(), sent.clone());
            Arc::new(TokenService::new(
                DynamoStore::new(client, &app.table),
                &app.config,
            ))
        })
        .collect();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let service = services[c % instances].clone();
            let (token, next) = (token.to_string(), next.clone());
            tokio::spawn(async move {
                let mut verdicts = Vec::new();
                while next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < requests {
                    let answer = authorizer::handle(&service, event(&token)).await.unwrap();
                    assert_eq!(
                        answer["isAuthorized"], true,
                        "no routes: the verdict is in the context"
                    );
                    verdicts.push(answer["context"]["usage"].as_str().unwrap().to_string());
                }
                verdicts
            })
        })
        .collect();
    let (mut admitted, mut limited) = (0, 0);
    for t in tasks {
        for v in t.await.unwrap() {
            match Verdict::parse(&v) {
                Some(Verdict::Admitted) => admitted += 1,
                Some(Verdict::RateLimited) => limited += 1,
                other => panic!("unexpected verdict {other:?}"),
            }
        }
    }
    (admitted, limited, sent.get())
}

#[tokio::test]
async fn a_rate_limit_holds_exactly_across_authorizer_instances() {
    let app = App::start_with(&[("LAST_USED_INTERVAL_SECONDS", "0")]).await;
    // An hour's window: the run never straddles two.
    let (_, token) = limited(&app, "alice", USER, Some(rate(25, 3600)), None).await;
    let started = std::time::Instant::now();
    let (admitted, limited, sent) = verdicts_across_instances(&app, &token, 4, 32, 100).await;
    println!(
        "rate limit 25 per window, 100 verifications by 32 clients over 4 instances: {admitted} admitted, \
         {limited} limited, {sent} DynamoDB requests, {} ms",
        started.elapsed().as_millis()
    );
    assert_eq!((admitted, limited), (25, 75));
    // One GetItem of the credential and one conditional UpdateItem of the counter each.
    assert_eq!(sent, 200);
}

#[tokio::test]
async fn quotas_refill_with_their_utc_period_and_rate_limits_with_their_window() {
    let app = App::start().await;
    let at = |s: &str| time::parse(s).unwrap();
    let admit = |p: api_tokens::Principal, t: Timestamp| {
        let service = app.service.clone();
        async move { service.admit(&p, t).await.unwrap().unwrap().verdict }
    };
    let with = |rate_limit, quota| api_tokens::Principal {
        rate_limit,
        quota,
        ..principal("acme", "alice", USER)
    };
    for (q, last, next) in [
        (
            quota(2, Day),
            "2026-12-31T23:59:59.999Z",
            "2027-01-01T00:00:00Z",
        ),
        (
            quota(2, Month),
            "2027-02-28T12:00:00Z",
            "2027-03-01T00:00:00Z",
        ),
    ] {
        let p = with(None, Some(q));
        for expected in [
            Verdict::Admitted,
            Verdict::Admitted,
            Verdict::QuotaExhausted,
        ] {
            assert_eq!(admit(p.clone(), at(last)).await, expected, "{q:?}");
        }
        assert_eq!(
            admit(p.clone(), at(next)).await,
            Verdict::Admitted,
            "{q:?} refilled"
        );
        // The counter of the period that ended goes by TTL an hour after it.
        let label = q.period_of(at(last)).label;
        let (n, purge_at) = counter_item(&app, &p.token_id, &label).await.unwrap();
        assert_eq!(n, Some(2));
        assert_eq!(purge_at, Some(at(next).timestamp() + 3600), "{q:?}");
    }
    let p = with(None, Some(quota(1, Total)));
    assert_eq!(
        admit(p.clone(), at("2026-01-01T00:00:00Z")).await,
        Verdict::Admitted
    );
    assert_eq!(
        admit(p.clone(), at("2036-01-01T00:00:00Z")).await,
        Verdict::QuotaExhausted,
        "a total quota never refills"
    );
    let p = with(Some(rate(1, 60)), None);
    assert_eq!(
        admit(p.clone(), at("2026-12-08T10:00:59Z")).await,
        Verdict::Admitted
    );
    assert_eq!(
        admit(p.clone(), at("2026-12-08T10:00:59.999Z")).await,
        Verdict::RateLimited
    );
    assert_eq!(
        admit(p.clone(), at("2026-12-08T10:01:00Z")).await,
        Verdict::Admitted
    );
}

#[tokio::test]
async fn an_unlimited_token_costs_one_get_item_and_each_limit_one_update() {
    let app = App::start_with(&[("LAST_USED_INTERVAL_SECONDS", "0")]).await;
    let plain = app.mint("acme", "alice", USER).await;
    let (_, rated) = limited(&app, "alice", USER, Some(rate(1000, 60)), None).await;
    let (_, both) = limited(
        &app,
        "alice",
        USER,
        Some(rate(1000, 60)),
        Some(quota(1000, Day)),
    )
    .await;
    for (token, cost) in [(&plain, 1), (&rated, 2), (&both, 3)] {
        let before = app.requests.get();
        let answer = authorizer::handle(&app.service, event(token))
            .await
            .unwrap();
        assert_eq!(answer["isAuthorized"], true);
        assert_eq!(app.requests.get() - before, cost, "{}", answer["context"]);
    }
    // With a warm verification cache, the credential is not read again; the counters are.
    let app = App::start_with(&[
        ("LAST_USED_INTERVAL_SECONDS", "0"),
        ("AUTH_CACHE_TTL_SECONDS", "60"),
    ])
    .await;
    let plain = app.mint("acme", "alice", USER).await;
    let (_, both) = limited(
        &app,
        "alice",
        USER,
        Some(rate(1000, 60)),
        Some(quota(1000, Day)),
    )
    .await;
    for (token, cost) in [(&plain, 0), (&both, 2)] {
        authorizer::handle(&app.service, event(token))
            .await
            .unwrap();
        let before = app.requests.get();
        authorizer::handle(&app.service, event(token))
            .await
            .unwrap();
        assert_eq!(app.requests.get() - before, cost);
    }
}
