//! `scripts/bench ops`: the DynamoDB requests and capacity units each operation costs, read
//! from DynamoDB's own responses by an SDK interceptor ([`api_tokens_benches::Meter`]) on the
//! service's client, over DynamoDB Local. Each operation is measured twice: as the function
//! runs it (`TokenService`, what its Lambda sends) and as one HTTP request through the local
//! server (the authorizer's check included). Prints Markdown tables.

mod measure;

use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::Arc;

use api_tokens::model::Status;
use api_tokens::service::listing::ListQuery;
use api_tokens::service::CreateInput;
use api_tokens::{authorizer, schema, time, DynamoStore, Principal, TokenService};
use api_tokens_benches::{metered_client, seed_tenant, Meter};
use integration_tests::{
    dynamodb, endpoint, principal, test_config_with, HttpClient, Method, Reply,
};
use measure::{measure, num, row, Mean, RUNS};
use serde_json::json;

/// Tokens seeded in the tenant the lists read.
const SEEDED: usize = 3_000;
/// Owners they are spread over (`user0`..`user4`: 600 tokens, 480 active each).
const USERS: usize = 5;
const TENANT: &str = "ops";

#[tokio::main]
async fn main() {
    let raw = dynamodb(&endpoint());
    let table = format!("bench-{}", uuid::Uuid::now_v7().simple());
    schema::create_table(&raw, &table).await.unwrap();
    let base = api_tokens::time::now() - chrono::Duration::days(30);
    seed_tenant(&raw, &table, TENANT, 0..SEEDED, USERS, base, 4).await;

    let bench = Bench::start(&table).await;
    lists(&bench).await;
    let (create, revoke) = writes(&bench).await;
    checks(&bench, &table).await;
    eprintln!(
        "GSI share of create's WCU: {} of {}",
        num(create.index_wcu()),
        num(create.wcu())
    );
    eprintln!(
        "GSI share of revoke's WCU: {} of {}",
        num(revoke.index_wcu()),
        num(revoke.wcu())
    );
    bench.server.abort();
    raw.delete_table().table_name(&table).send().await.unwrap();
}

/// The service on a metered client, the local server in front of it, and its admin.
struct Bench {
    service: Arc<TokenService<DynamoStore>>,
    meter: Meter,
    admin: Principal,
    /// The admin's secret.
    secret: String,
    /// `Bearer <the admin's secret>`.
    auth: String,
    http: HttpClient,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Bench {
    /// The service over `table` (no last-use write in the background of a check, so each
    /// figure is the operation's own: in AWS that write costs one UpdateItem per token per
    /// interval, by default a minute), its admin's token, and the local server.
    async fn start(table: &str) -> Self {
        let meter = Meter::default();
        let service = Arc::new(TokenService::new(
            DynamoStore::new(metered_client(&endpoint(), meter.clone()), table),
            &test_config_with(table, &[("LAST_USED_INTERVAL_SECONDS", "0")]),
        ));
        let admin = principal(
            TENANT,
            "admin",
            &["tokens:admin", "tokens:read", "tokens:write"],
        );
        let all_scopes = ["tokens:admin", "tokens:read", "tokens:write"].map(String::from);
        let input = CreateInput {
            name: "bench admin".into(),
            scopes: all_scopes.to_vec(),
            ..Default::default()
        };
        let (_, secret) = service
            .issue(TENANT, "admin", "admin", input)
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(dev_server::serve(listener, service.clone()));
        Self {
            service,
            meter,
            admin,
            secret: secret.expose().to_string(),
            auth: format!("Bearer {}", secret.expose()),
            http: HttpClient::new(),
            addr,
            server,
        }
    }

    /// One HTTP request with `auth` as its `authorization` header.
    async fn call_as(
        &self,
        auth: String,
        method: Method,
        path: String,
        body: Option<serde_json::Value>,
    ) -> Reply {
        let mut headers = vec![("authorization", auth.as_str())];
        let bytes = match body {
            Some(b) => {
                headers.push(("content-type", "application/json"));
                serde_json::to_vec(&b).unwrap()
            }
            None => Vec::new(),
        };
        self.http
            .send(self.addr, method, &path, &headers, bytes)
            .await
    }

    /// One HTTP request as the admin.
    fn call(
        &self,
        method: Method,
        path: String,
        body: Option<serde_json::Value>,
    ) -> impl std::future::Future<Output = Reply> + '_ {
        self.call_as(self.auth.clone(), method, path, body)
    }

    /// Fresh active tokens of `user1`.
    async fn victims(&self, n: u32) -> Vec<String> {
        let mut victims = Vec::new();
        for i in 0..n {
            let input = CreateInput {
                name: format!("victim {i}"),
                ..Default::default()
            };
            let (item, _) = self
                .service
                .issue(TENANT, "user1", "user1", input)
                .await
                .unwrap();
            victims.push(item.id.to_string());
        }
        victims
    }
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

/// The lists table: each filter at three page sizes, in the handler and over HTTP.
async fn lists(bench: &Bench) {
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
            list_row(bench, what, limit, status, owner).await;
        }
    }
}

/// One row of the lists table.
async fn list_row(bench: &Bench, what: &str, limit: u32, status: bool, owner: bool) {
    let q = list_query(limit, status, owner);
    let (returned, items_read) = (Cell::new(0), Cell::new(0));
    let handler = measure(&bench.meter, |_| {
        let (service, admin, q) = (&bench.service, &bench.admin, &q);
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
    let over_http = measure(&bench.meter, |_| {
        let reply = bench.call(Method::GET, path.clone(), None);
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

/// The writes rows: create, revoke, the owner's `DELETE`. Returns create's and revoke's
/// handler figures.
async fn writes(bench: &Bench) -> (Mean, Mean) {
    println!("\n### Writes and checks\n");
    println!("| operation | handler: DynamoDB requests | RCU | WCU (indexes included) | HTTP request (authorizer + handler): requests | RCU | WCU |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let create = measure(&bench.meter, |i| {
        let (service, admin) = (&bench.service, &bench.admin);
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
    let create_http = measure(&bench.meter, |i| {
        let reply = bench.call(
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
    let victims = bench.victims(4 * (RUNS + 1)).await;
    let (posted, deleted) = victims.split_at(victims.len() / 2);
    let revoke = revoke_rows(bench, posted).await;
    delete_rows(bench, deleted).await;
    (create, revoke)
}

/// The row of `POST /tokens/{id}/revoke`, half of `victims` through each path; the
/// handler's figures.
async fn revoke_rows(bench: &Bench, victims: &[String]) -> Mean {
    let (direct, via_http) = victims.split_at(victims.len() / 2);
    let revoke = measure(&bench.meter, |i| {
        let (service, admin) = (&bench.service, &bench.admin);
        let id = direct[i as usize].clone();
        async move {
            service.revoke(admin, &id, Some("bench")).await.unwrap();
        }
    })
    .await;
    let revoke_http = measure(&bench.meter, |i| {
        let reply = bench.call(
            Method::POST,
            format!("/tokens/{}/revoke", via_http[i as usize]),
            Some(json!({"reason": "bench"})),
        );
        async move { assert_eq!(reply.await.status, 200) }
    })
    .await;
    row("revoke (`POST /tokens/{id}/revoke`)", &revoke, &revoke_http);
    revoke
}

/// The row of the owner's `DELETE`: the answer is 204, so nothing is read first.
async fn delete_rows(bench: &Bench, victims: &[String]) {
    let input = CreateInput {
        name: "bench owner".into(),
        scopes: vec!["tokens:read".into(), "tokens:write".into()],
        ..Default::default()
    };
    let (_, owner_secret) = bench
        .service
        .issue(TENANT, "user1", "user1", input)
        .await
        .unwrap();
    let owner = bench.service.verify(owner_secret.expose()).await.unwrap();
    let owner_auth = format!("Bearer {}", owner_secret.expose());
    let (direct, via_http) = victims.split_at(victims.len() / 2);
    let delete = measure(&bench.meter, |i| {
        let (service, owner, id) = (&bench.service, &owner, direct[i as usize].clone());
        async move { service.delete(owner, &id, None).await.unwrap() }
    })
    .await;
    let delete_http = measure(&bench.meter, |i| {
        let path = format!("/tokens/{}", via_http[i as usize]);
        let reply = bench.call_as(owner_auth.clone(), Method::DELETE, path, None);
        async move { assert_eq!(reply.await.status, 204) }
    })
    .await;
    row(
        "revoke, owner's `DELETE /tokens/{id}`",
        &delete,
        &delete_http,
    );
}

/// An authorizer event (HTTP API payload 2.0) carrying `secret`.
fn check_event(secret: &str) -> serde_json::Value {
    json!({"version": "2.0", "type": "REQUEST",
           "routeArn": "arn:aws:execute-api:eu-west-1:1:api/$default/GET/tokens",
           "identitySource": [format!("Bearer {secret}")], "routeKey": "GET /tokens",
           "rawPath": "/tokens", "rawQueryString": "",
           "headers": {"authorization": format!("Bearer {secret}")},
           "requestContext": {"http": {"method": "GET", "path": "/tokens", "sourceIp": "203.0.113.7"}}})
}

/// The checks rows: the authorizer uncached, and warm with its cache on.
async fn checks(bench: &Bench, table: &str) {
    let check = check_event(&bench.secret);
    let verify = measure(&bench.meter, |_| {
        let (service, check) = (&bench.service, check.clone());
        async move {
            let answer = authorizer::handle(service, check).await.unwrap();
            assert_eq!(answer["isAuthorized"], true);
        }
    })
    .await;
    let cached_meter = Meter::default();
    let cached = TokenService::new(
        DynamoStore::new(metered_client(&endpoint(), cached_meter.clone()), table),
        &test_config_with(
            table,
            &[
                ("LAST_USED_INTERVAL_SECONDS", "0"),
                ("AUTH_CACHE_TTL_SECONDS", "60"),
            ],
        ),
    );
    // Its own token: each configuration has its own random hash key.
    let input = CreateInput {
        name: "cached check".into(),
        scopes: vec!["tokens:read".into()],
        ..Default::default()
    };
    let (_, cached_secret) = cached.issue(TENANT, "admin", "admin", input).await.unwrap();
    let cached_check = check_event(cached_secret.expose());
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
}
