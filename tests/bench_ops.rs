//! `scripts/bench ops`: the DynamoDB requests and capacity units each operation costs, read
//! from DynamoDB's own responses by an SDK interceptor ([`bench_support::Meter`]) on the
//! service's client, over DynamoDB Local. Each operation is measured twice: as the function
//! runs it (`TokenService`, what its Lambda sends) and as one HTTP request through the local
//! server (the authorizer's check included). Prints Markdown tables.

#[allow(dead_code)]
#[path = "bench_support.rs"]
mod bench_support;

use std::cell::Cell;
use std::sync::Arc;

use api_tokens::model::Status;
use api_tokens::service::listing::ListQuery;
use api_tokens::service::CreateInput;
use api_tokens::{authorizer, schema, time, DynamoStore, TokenService};
use bench_support::{metered_client, seed_tenant, Meter, Tally};
use integration_tests::{dynamodb, endpoint, principal, test_config_with, HttpClient, Method};
use serde_json::json;

/// Runs of each operation; the table shows the mean per run.
const RUNS: u32 = 20;
/// Tokens seeded in the tenant the lists read.
const SEEDED: usize = 3_000;
/// Owners they are spread over (`user0`..`user4`: 600 tokens, 480 active each).
const USERS: usize = 5;
const TENANT: &str = "ops";

/// The mean of `runs` tallies, per run.
struct Mean {
    tally: Tally,
    runs: u32,
}

impl Mean {
    fn requests(&self) -> String {
        if self.tally.requests.is_empty() {
            return "0".into();
        }
        self.tally
            .requests
            .iter()
            .map(|(op, n)| format!("{} {op}", num(f64::from(*n) / f64::from(self.runs))))
            .collect::<Vec<_>>()
            .join(" + ")
    }

    fn rcu(&self) -> f64 {
        self.tally.read_units / f64::from(self.runs)
    }

    fn wcu(&self) -> f64 {
        self.tally.write_units / f64::from(self.runs)
    }
}

fn num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

/// Runs `op` [`RUNS`] times after one unmetered warm-up, and returns what it cost per run.
async fn measure<F, Fut>(meter: &Meter, mut op: F) -> Mean
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    op(RUNS).await;
    // Let anything the warm-up left in flight land before counting.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    meter.take();
    for i in 0..RUNS {
        op(i).await;
    }
    let tally = meter.take();
    Mean { tally, runs: RUNS }
}

fn list_query(limit: u32, status: bool, owner: bool) -> ListQuery {
    ListQuery {
        limit,
        statuses: status.then(|| [Status::Active].into()),
        user_id: owner.then(|| "user0".to_string()),
        ..Default::default()
    }
}

fn list_path(limit: u32, status: bool, owner: bool) -> String {
    let mut p = format!("/tokens?limit={limit}");
    if status {
        p.push_str("&status=active");
    }
    if owner {
        p.push_str("&user_id=user0");
    }
    p
}

#[tokio::main]
async fn main() {
    let raw = dynamodb(&endpoint());
    let table = format!("bench-{}", uuid::Uuid::now_v7().simple());
    schema::create_table(&raw, &table).await.unwrap();
    let base = api_tokens::time::now() - chrono::Duration::days(30);
    seed_tenant(&raw, &table, TENANT, 0..SEEDED, USERS, base, 4).await;

    // LAST_USED_INTERVAL_SECONDS=0: no last-use write in the background of a check, so each
    // figure is the operation's own (in AWS that write costs one UpdateItem per token per
    // interval, by default a minute).
    let meter = Meter::default();
    let service = Arc::new(TokenService::new(
        DynamoStore::new(metered_client(&endpoint(), meter.clone()), &table),
        &test_config_with(&table, &[("LAST_USED_INTERVAL_SECONDS", "0")]),
    ));
    let cached_meter = Meter::default();
    let cached = TokenService::new(
        DynamoStore::new(metered_client(&endpoint(), cached_meter.clone()), &table),
        &test_config_with(
            &table,
            &[
                ("LAST_USED_INTERVAL_SECONDS", "0"),
                ("AUTH_CACHE_TTL_SECONDS", "60"),
            ],
        ),
    );
    let admin = principal(
        TENANT,
        "admin",
        &["tokens:admin", "tokens:read", "tokens:write"],
    );
    let all_scopes = ["tokens:admin", "tokens:read", "tokens:write"].map(String::from);
    let (_, admin_secret) = service
        .issue(
            TENANT,
            "admin",
            "admin",
            CreateInput {
                name: "bench admin".into(),
                scopes: all_scopes.to_vec(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(dev_server::serve(listener, service.clone()));
    let http = HttpClient::new();
    let auth = format!("Bearer {}", admin_secret.expose());
    let call_as = |auth: String, method: Method, path: String, body: Option<serde_json::Value>| {
        let http = &http;
        async move {
            let mut headers = vec![("authorization", auth.as_str())];
            let bytes = match body {
                Some(b) => {
                    headers.push(("content-type", "application/json"));
                    serde_json::to_vec(&b).unwrap()
                }
                None => Vec::new(),
            };
            http.send(addr, method, &path, &headers, bytes).await
        }
    };
    let call = |method: Method, path: String, body: Option<serde_json::Value>| {
        call_as(auth.clone(), method, path, body)
    };

    println!("### Lists (tenant of {SEEDED} tokens, {USERS} owners; 80% active)\n");
    println!("| list page | index | items returned | handler: DynamoDB requests | items read | RCU | RCU per item returned | HTTP request (authorizer + handler): requests, RCU |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let cases = [
        ("tenant, default (no filter)", false, false),
        ("status=active", true, false),
        ("user_id=user0", false, true),
        ("user_id=user0&status=active", true, true),
    ];
    for (what, status, owner) in cases {
        for limit in [10u32, 50, 100] {
            let q = list_query(limit, status, owner);
            let (returned, items_read) = (Cell::new(0), Cell::new(0));
            let handler = measure(&meter, |_| {
                let (service, admin, q) = (&service, &admin, &q);
                let (returned, items_read) = (&returned, &items_read);
                async move {
                    let r = service.list(admin, q).await.unwrap();
                    returned.set(r.items.len());
                    items_read.set(r.stats.items_read);
                }
            })
            .await;
            let (returned, items_read) = (returned.get(), items_read.get());
            let path = list_path(limit, status, owner);
            let over_http = measure(&meter, |_| {
                let reply = call(Method::GET, path.clone(), None);
                async move {
                    let r = reply.await;
                    assert_eq!(r.status, 200, "{}", r.text);
                    assert_eq!(r.json["items"].as_array().unwrap().len(), limit as usize);
                }
            })
            .await;
            assert_eq!(returned, limit as usize, "{what}: a full page");
            println!(
                "| {what}, limit={limit} | {} | {returned} | {} | {items_read} | {} | {:.3} | {}, {} |",
                handler
                    .tally
                    .queried
                    .iter()
                    .map(|i| format!("`{i}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                handler.requests(),
                num(handler.rcu()),
                handler.rcu() / returned as f64,
                over_http.requests(),
                num(over_http.rcu()),
            );
        }
    }

    println!("\n### Writes and checks\n");
    println!("| operation | handler: DynamoDB requests | RCU | WCU (indexes included) | HTTP request (authorizer + handler): requests | RCU | WCU |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let create = measure(&meter, |i| {
        let (service, admin) = (&service, &admin);
        async move {
            let input = CreateInput {
                name: format!("created {i}"),
                scopes: vec!["tokens:read".into()],
                ..Default::default()
            };
            service
                .create(admin, input, None, time::now())
                .await
                .unwrap();
        }
    })
    .await;
    let create_http = measure(&meter, |i| {
        let reply = call(
            Method::POST,
            "/tokens".into(),
            Some(json!({"name": format!("created {i}"), "scopes": ["tokens:read"]})),
        );
        async move { assert_eq!(reply.await.status, 201) }
    })
    .await;
    row("create (`POST /tokens`)", &create, &create_http);

    // Fresh active tokens to revoke, one per run and warm-up on each path, for each of
    // `POST /revoke` and `DELETE`.
    let mut victims = Vec::new();
    for i in 0..4 * (RUNS + 1) {
        let (item, _) = service
            .issue(
                TENANT,
                "user1",
                "user1",
                CreateInput {
                    name: format!("victim {i}"),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        victims.push(item.id.to_string());
    }
    let (posted, deleted) = victims.split_at(victims.len() / 2);
    let (direct, via_http) = posted.split_at(posted.len() / 2);
    let revoke = measure(&meter, |i| {
        let (service, admin, id) = (&service, &admin, direct[i as usize].clone());
        async move {
            service.revoke(admin, &id, Some("bench")).await.unwrap();
        }
    })
    .await;
    let revoke_http = measure(&meter, |i| {
        let reply = call(
            Method::POST,
            format!("/tokens/{}/revoke", via_http[i as usize]),
            Some(json!({"reason": "bench"})),
        );
        async move { assert_eq!(reply.await.status, 200) }
    })
    .await;
    row("revoke (`POST /tokens/{id}/revoke`)", &revoke, &revoke_http);

    // The owner's `DELETE`: the answer is 204, so nothing is read first.
    let (_, owner_secret) = service
        .issue(
            TENANT,
            "user1",
            "user1",
            CreateInput {
                name: "bench owner".into(),
                scopes: vec!["tokens:read".into(), "tokens:write".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let owner = service.verify(owner_secret.expose()).await.unwrap();
    let owner_auth = format!("Bearer {}", owner_secret.expose());
    let (direct, via_http) = deleted.split_at(deleted.len() / 2);
    let delete = measure(&meter, |i| {
        let (service, owner, id) = (&service, &owner, direct[i as usize].clone());
        async move { service.delete(owner, &id, None).await.unwrap() }
    })
    .await;
    let delete_http = measure(&meter, |i| {
        let path = format!("/tokens/{}", via_http[i as usize]);
        let reply = call_as(owner_auth.clone(), Method::DELETE, path, None);
        async move { assert_eq!(reply.await.status, 204) }
    })
    .await;
    row(
        "revoke, owner's `DELETE /tokens/{id}`",
        &delete,
        &delete_http,
    );

    let event = |secret: &str| {
        json!({"version": "2.0", "type": "REQUEST",
               "routeArn": "arn:aws:execute-api:eu-west-1:1:api/$default/GET/tokens",
               "identitySource": [format!("Bearer {secret}")], "routeKey": "GET /tokens",
               "rawPath": "/tokens", "rawQueryString": "",
               "headers": {"authorization": format!("Bearer {secret}")},
               "requestContext": {"http": {"method": "GET", "path": "/tokens", "sourceIp": "203.0.113.7"}}})
    };
    let check = event(admin_secret.expose());
    let verify = measure(&meter, |_| {
        let (service, check) = (&service, check.clone());
        async move {
            let answer = authorizer::handle(service, check).await.unwrap();
            assert_eq!(answer["isAuthorized"], true);
        }
    })
    .await;
    // Its own token: each configuration has its own random hash key.
    let (_, cached_secret) = cached
        .issue(
            TENANT,
            "admin",
            "admin",
            CreateInput {
                name: "cached check".into(),
                scopes: vec!["tokens:read".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let cached_check = event(cached_secret.expose());
    let verify_cached = measure(&cached_meter, |_| {
        let (cached, check) = (&cached, cached_check.clone());
        async move {
            let answer = authorizer::handle(cached, check).await.unwrap();
            assert_eq!(answer["isAuthorized"], true);
        }
    })
    .await;
    println!(
        "| verify, uncached (authorizer check, AUTH_CACHE_TTL_SECONDS=0) | {} | {} | {} | (is the authorizer's part of every row) | | |",
        verify.requests(),
        num(verify.rcu()),
        num(verify.wcu())
    );
    println!(
        "| verify, cached (warm authorizer, AUTH_CACHE_TTL_SECONDS=60) | {} | {} | {} | | | |",
        verify_cached.requests(),
        num(verify_cached.rcu()),
        num(verify_cached.wcu())
    );
    eprintln!(
        "GSI share of create's WCU: {} of {}",
        num(create.tally.index_units / f64::from(create.runs)),
        num(create.wcu())
    );
    eprintln!(
        "GSI share of revoke's WCU: {} of {}",
        num(revoke.tally.index_units / f64::from(revoke.runs)),
        num(revoke.wcu())
    );
    server.abort();
    raw.delete_table().table_name(&table).send().await.unwrap();
}

fn row(what: &str, handler: &Mean, over_http: &Mean) {
    println!(
        "| {what} | {} | {} | {} | {} | {} | {} |",
        handler.requests(),
        num(handler.rcu()),
        num(handler.wcu()),
        over_http.requests(),
        num(over_http.rcu()),
        num(over_http.wcu()),
    );
}
