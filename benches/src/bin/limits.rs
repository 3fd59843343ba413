//! `scripts/bench limits`: what a rate limit and a quota add to each verified request
//! (DynamoDB requests, capacity, latency), what `quota_remaining` costs a read, and how exact
//! the limits are with many clients over many authorizer instances. Over DynamoDB Local, in
//! process, release build; prints Markdown tables.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use api_tokens::domain::usage::{Quota, QuotaPeriod, RateLimit, Verdict};
use api_tokens::service::CreateInput;
use api_tokens::{authorizer, schema, DynamoStore, TokenService};
use api_tokens_benches::{metered_client, percentile, Meter};
use integration_tests::{dynamodb, endpoint, test_config_with};
use serde_json::{json, Value};

const CALLS: usize = 500;

fn event(secret: &str) -> Value {
    json!({"version": "2.0", "type": "REQUEST", "routeKey": "GET /orders", "rawPath": "/orders",
           "identitySource": [format!("Bearer {secret}")],
           "headers": {"authorization": format!("Bearer {secret}")},
           "requestContext": {"apiId": "orders", "http": {"method": "GET", "path": "/orders", "sourceIp": "203.0.113.7"}}})
}

fn config(table: &str, cache_ttl: &str) -> api_tokens::Config {
    test_config_with(
        table,
        &[
            ("AUTH_CACHE_TTL_SECONDS", cache_ttl),
            // The last-use write is once a minute per token, apart from limits: left out.
            ("LAST_USED_INTERVAL_SECONDS", "0"),
        ],
    )
}

fn service(table: &str, meter: &Meter, cache_ttl: &str) -> TokenService<DynamoStore> {
    instance(table, meter, &config(table, cache_ttl))
}

/// A service as one warm authorizer instance has it: its own client and caches, the
/// deployment's keys.
fn instance(table: &str, meter: &Meter, config: &api_tokens::Config) -> TokenService<DynamoStore> {
    TokenService::new(
        DynamoStore::new(metered_client(&endpoint(), meter.clone()), table),
        config,
    )
}

async fn mint(
    service: &TokenService<DynamoStore>,
    rate_limit: Option<RateLimit>,
    quota: Option<Quota>,
) -> (uuid::Uuid, String) {
    let (item, secret) = service
        .issue(
            "bench",
            "alice",
            "alice",
            CreateInput {
                name: "bench".into(),
                scopes: vec!["tokens:read".into()],
                rate_limit,
                quota,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    (item.id, secret.expose().to_string())
}

/// Per verified request: requests, RCU, WCU, p50 and p99 of `authorizer::handle`.
async fn per_request(table: &str) {
    println!("| token | verification cache | DynamoDB requests per verified request | RCU | WCU | p50 | p99 |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let rate = Some(RateLimit {
        limit: 1_000_000,
        window_seconds: 3600,
    });
    let quota = Some(Quota {
        limit: 1_000_000,
        period: QuotaPeriod::Month,
    });
    for (what, r, q) in [
        ("no limit", None, None),
        ("rate limit", rate, None),
        ("quota", None, quota),
        ("rate limit and quota", rate, quota),
    ] {
        for (cache, ttl) in [("off", "0"), ("warm", "60")] {
            let meter = Meter::default();
            let service = service(table, &meter, ttl);
            let (_, secret) = mint(&service, r, q).await;
            let e = event(&secret);
            authorizer::handle(&service, e.clone()).await.unwrap();
            meter.take();
            let mut ms = Vec::with_capacity(CALLS);
            for _ in 0..CALLS {
                let t = Instant::now();
                let answer = authorizer::handle(&service, e.clone()).await.unwrap();
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
                assert_eq!(answer["isAuthorized"], true);
            }
            let tally = meter.take();
            let n = CALLS as f64;
            println!(
                "| {what} | {cache} | {} | {:.2} | {:.2} | {:.3} ms | {:.3} ms |",
                per_call(&tally.describe(), CALLS),
                tally.read_units / n,
                tally.write_units / n,
                percentile(&ms, 0.5),
                percentile(&ms, 0.99)
            );
        }
    }
}

/// `3 GetItem + 3 UpdateItem` over 3 calls as `1 GetItem + 1 UpdateItem`.
fn per_call(described: &str, calls: usize) -> String {
    if described == "none" {
        return described.into();
    }
    described
        .split(" + ")
        .map(|part| {
            let (n, op) = part.split_once(' ').unwrap();
            let n: f64 = n.parse().unwrap();
            format!("{} {op}", n / calls as f64)
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

/// `quota_remaining` for one token and for a page of 100 with quotas.
async fn reads(table: &str) {
    println!();
    println!("| `quota_remaining` of | DynamoDB requests | RCU |");
    println!("| --- | --- | --- |");
    let meter = Meter::default();
    let service = service(table, &meter, "0");
    let quota = Some(Quota {
        limit: 100,
        period: QuotaPeriod::Day,
    });
    let mut items = Vec::new();
    for _ in 0..100 {
        let (id, secret) = mint(&service, None, quota).await;
        authorizer::handle(&service, event(&secret)).await.unwrap();
        items.push(record(&service, id).await);
    }
    let plain = mint(&service, None, None).await.0;
    let plain = [record(&service, plain).await];
    for (what, page) in [
        ("a token without a quota", &plain[..]),
        ("one token with a quota", &items[..1]),
        ("a page of 100 tokens with quotas", &items[..]),
    ] {
        meter.take();
        let left = service
            .quota_remaining(page, api_tokens::time::now())
            .await
            .unwrap();
        assert!(page
            .iter()
            .all(|t| left.of(t) == t.quota.map(|q| q.limit - 1)));
        let tally = meter.take();
        println!(
            "| {what} | {} | {:.1} |",
            tally.describe(),
            tally.read_units
        );
    }
}

/// Admitted requests of one token limited to `limit` per hour, `requests` sent by `clients`
/// over `instances` authorizers, on the time budgets of AWS (`TIME_BUDGET_SCALE` as set).
async fn accuracy(table: &str) {
    println!();
    println!("| clients | authorizer instances | limit | requests | admitted | refused | failed (500) | counter | requests/s |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (clients, instances, limit, requests) in [
        (8, 1, 50, 200),
        (8, 4, 100, 400),
        (32, 4, 100, 400),
        (64, 8, 250, 1000),
        (64, 16, 500, 2000),
    ] {
        let config = config(table, "60");
        let services: Vec<Arc<TokenService<DynamoStore>>> = (0..instances)
            .map(|_| Arc::new(instance(table, &Meter::default(), &config)))
            .collect();
        let rate = RateLimit {
            limit,
            window_seconds: 3600,
        };
        let (id, secret) = mint(&services[0], Some(rate), None).await;
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let tasks: Vec<_> = (0..clients)
            .map(|c| {
                let (service, secret, next) = (
                    services[c % instances].clone(),
                    secret.clone(),
                    next.clone(),
                );
                tokio::spawn(async move {
                    let mut seen = [0u64; 3];
                    while next.fetch_add(1, Ordering::SeqCst) < requests {
                        let verdict = match authorizer::handle(&service, event(&secret)).await {
                            Ok(a) => {
                                assert_eq!(
                                    a["isAuthorized"], true,
                                    "the verdict is in the context"
                                );
                                a["context"]["usage"].as_str().and_then(Verdict::parse)
                            }
                            Err(_) => None,
                        };
                        seen[match verdict {
                            Some(Verdict::Admitted) => 0,
                            Some(_) => 1,
                            None => 2,
                        }] += 1;
                    }
                    seen
                })
            })
            .collect();
        let mut seen = [0u64; 3];
        for t in tasks {
            for (total, n) in seen.iter_mut().zip(t.await.unwrap()) {
                *total += n;
            }
        }
        let secs = started.elapsed().as_secs_f64();
        let counter = counter(table, id, &rate.window(api_tokens::time::now()).label).await;
        let [admitted, refused, failed] = seen;
        println!(
            "| {clients} | {instances} | {limit} | {requests} | {admitted} | {refused} | {failed} | {counter} | {:.0} |",
            requests as f64 / secs
        );
        // Never more than the limit; every count taken is an admission or a failure.
        assert!(admitted <= limit && counter <= limit);
        assert!(admitted + failed >= counter, "a count without a decision");
        if failed == 0 {
            assert_eq!(admitted, limit, "a window admits exactly its limit");
        }
    }
}

/// The usage counter `label` of token `id`.
async fn counter(table: &str, id: uuid::Uuid, label: &str) -> u64 {
    let out = dynamodb(&endpoint())
        .get_item()
        .table_name(table)
        .key(
            schema::PK,
            aws_sdk_dynamodb::types::AttributeValue::S(schema::usage_pk(id, label)),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.item
        .and_then(|i| {
            i.get("n")
                .and_then(|n| n.as_n().ok())
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let db = dynamodb(&endpoint());
    let table = format!("bench-{}", uuid::Uuid::now_v7().simple());
    schema::create_table(&db, &table).await.unwrap();
    per_request(&table).await;
    reads(&table).await;
    accuracy(&table).await;
    db.delete_table().table_name(&table).send().await.unwrap();
}

/// A token record, read through the service's store.
async fn record(
    service: &TokenService<DynamoStore>,
    id: uuid::Uuid,
) -> api_tokens::model::TokenItem {
    use api_tokens::store::TokenStore;
    service.store().get(id).await.unwrap().unwrap()
}
