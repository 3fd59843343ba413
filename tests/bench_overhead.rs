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

#[allow(dead_code)]
#[path = "bench_support.rs"]
mod bench_support;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::Instant;

use api_tokens::model::{StoredStatus, TokenItem};
use api_tokens::schema::{self, Partition};
use api_tokens::service::CreateInput;
use api_tokens::store::record_attributes;
use api_tokens::{authorizer, time};
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnConsumedCapacity, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};
use bench_support::{median, percentile, seed_tenant};
use futures_util::future::{Either, LocalBoxFuture};
use futures_util::FutureExt;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{Connection, SendRequest};
use hyper::Method;
use hyper_util::rt::TokioIo;
use integration_tests::{dynamodb_counted, endpoint, sample_token, App, RequestCounter};
use serde_json::json;
use tokio::net::TcpStream;

const WARM_UP: usize = 20;
const TENANT: &str = "bench";
const ADMIN: &str = "admin";
/// Size of the list page both sides read.
const PAGE: i32 = 50;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// The server side's HTTP client: one kept-alive HTTP/1.1 connection (`TCP_NODELAY`) driven
/// in the calling task. A pooled client hands each request to a connection task and the
/// answer back, two task switches per request that are the client's plumbing, not the
/// route's latency. Answers are read as bytes, not parsed (the bare side has nothing to
/// parse them against).
struct Direct(tokio::sync::Mutex<(SendRequest<Full<Bytes>>, Link)>);

/// The connection's own future: polled alongside each exchange, it moves the bytes.
type Link = Connection<TokioIo<TcpStream>, Full<Bytes>>;

impl Direct {
    async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        Self(tokio::sync::Mutex::new((sender, connection)))
    }

    /// Sends one request with `token` (and a JSON `body`) and reads the whole answer.
    async fn send(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Vec<u8>>,
    ) -> (u16, Bytes) {
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost")
            .header("authorization", format!("Bearer {token}"));
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .unwrap();
        let mut held = self.0.lock().await;
        let (sender, connection) = &mut *held;
        let exchange = std::pin::pin!(async {
            sender.ready().await.unwrap();
            let resp = sender.send_request(req).await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.into_body().collect().await.unwrap().to_bytes())
        });
        let answer = match futures_util::future::select(exchange, connection).await {
            Either::Left((answer, _)) => answer,
            Either::Right((closed, _)) => {
                panic!("the local server closed the connection: {closed:?}")
            }
        };
        answer
    }

    async fn get(&self, path: &str, token: &str) -> (u16, Bytes) {
        self.send(Method::GET, path, token, None).await
    }

    async fn post(&self, path: &str, token: &str, body: serde_json::Value) -> (u16, Bytes) {
        let body = serde_json::to_vec(&body).unwrap();
        self.send(Method::POST, path, token, Some(body)).await
    }
}

/// The bare side: a client built like the service's, sending the service's requests.
struct Bare {
    db: aws_sdk_dynamodb::Client,
    table: String,
}

impl Bare {
    /// The authorizer's request: the credential, strongly consistent.
    async fn credential(&self, id: uuid::Uuid) {
        self.get(schema::credential_pk(id)).await;
    }

    async fn get(&self, pk: String) -> Option<HashMap<String, AttributeValue>> {
        self.db
            .get_item()
            .table_name(&self.table)
            .key(schema::PK, s(pk))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
    }

    /// `GET /tokens?limit=50` for an admin: one page of the tenant's live partition, newest
    /// first, one item beyond the page.
    async fn list_page(&self) {
        let out = self
            .db
            .query()
            .table_name(&self.table)
            .index_name(schema::BY_TENANT.name)
            .expression_attribute_names("#p", schema::BY_TENANT.partition_key())
            .expression_attribute_values(
                ":p",
                s(schema::partition_value(
                    Partition::TenantGroup,
                    TENANT,
                    "",
                    "live",
                )),
            )
            .scan_index_forward(false)
            .limit(PAGE + 1)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .key_condition_expression("#p = :p")
            .send()
            .await
            .unwrap();
        assert_eq!(out.items.unwrap_or_default().len(), PAGE as usize + 1);
    }

    /// The counter updates of one transaction, as the store writes them.
    fn counters(
        &self,
        token: &TokenItem,
        deltas: &[(StoredStatus, i64)],
    ) -> Vec<TransactWriteItem> {
        let shard = schema::counter_shard(token.id);
        let mut items = Vec::new();
        let keys: BTreeMap<String, ()> = [None, Some(token.user_id.as_str())]
            .into_iter()
            .map(|u| (schema::counter_pk(&token.tenant_id, u, shard), ()))
            .collect();
        for pk in keys.into_keys() {
            let mut update = Update::builder()
                .table_name(&self.table)
                .key(schema::PK, s(pk));
            let mut adds = Vec::new();
            for (status, d) in deltas {
                let name = status.as_str();
                adds.push(format!("#{name} :{name}"));
                update = update
                    .expression_attribute_names(format!("#{name}"), name)
                    .expression_attribute_values(
                        format!(":{name}"),
                        AttributeValue::N(d.to_string()),
                    );
            }
            let update = update
                .update_expression(format!("ADD {}", adds.join(", ")))
                .build()
                .unwrap();
            items.push(TransactWriteItem::builder().update(update).build());
        }
        items
    }

    /// `POST /tokens`: the record and credential puts and both counters, one transaction.
    async fn create(&self, i: usize) {
        let id = uuid::Uuid::now_v7();
        let item = TokenItem {
            id,
            name: format!("bare {i}"),
            prefix: "tkn_0123abcd".into(),
            scopes: vec!["tokens:read".into()],
            ..sample_token(TENANT, ADMIN)
        };
        let not_exists = "attribute_not_exists(#pk)";
        let record = Put::builder()
            .table_name(&self.table)
            .set_item(Some(record_attributes(&item, None).unwrap()))
            .condition_expression(not_exists)
            .expression_attribute_names("#pk", schema::PK)
            .build()
            .unwrap();
        let cred = Put::builder()
            .table_name(&self.table)
            .item(schema::PK, s(schema::credential_pk(id)))
            .item("tenant_id", s(TENANT))
            .item("user_id", s(ADMIN))
            .item("scopes", AttributeValue::L(vec![s("tokens:read")]))
            .item("status", s("active"))
            // The length of a real hash: base64url of an HMAC-SHA256.
            .item(schema::SECRET_HASH, s("x".repeat(43)))
            .condition_expression(not_exists)
            .expression_attribute_names("#pk", schema::PK)
            .build()
            .unwrap();
        let mut items = vec![
            TransactWriteItem::builder().put(record).build(),
            TransactWriteItem::builder().put(cred).build(),
        ];
        items.extend(self.counters(&item, &[(StoredStatus::Active, 1)]));
        self.db
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .unwrap();
    }

    /// `POST /tokens/{id}/revoke`: read the record, then one transaction moving it to
    /// revoked (conditioned on it being as read), the credential and both counters.
    async fn revoke(&self, id: uuid::Uuid) {
        let old: TokenItem =
            serde_dynamo::from_item(self.get(schema::token_pk(id)).await.unwrap()).unwrap();
        let now = time::now();
        let new = TokenItem {
            status: StoredStatus::Revoked,
            revoked_at: Some(now),
            revoked_by: Some(ADMIN.into()),
            revocation_reason: Some("bench".into()),
            updated_at: now,
            updated_by: Some(ADMIN.into()),
            ..old.clone()
        };
        let mut record = record_attributes(&new, Some(now + chrono::Duration::days(90))).unwrap();
        record.remove(schema::PK);
        for touched in ["last_used_at", "last_used_ip", "last_used_sk"] {
            record.remove(touched);
        }
        let mut names = HashMap::new();
        let mut values = HashMap::new();
        let mut sets = Vec::new();
        for (i, (k, v)) in record.into_iter().enumerate() {
            names.insert(format!("#a{i}"), k);
            values.insert(format!(":a{i}"), v);
            sets.push(format!("#a{i} = :a{i}"));
        }
        names.insert("#st".into(), "status".into());
        names.insert("#up".into(), "updated_at".into());
        values.insert(":old_status".into(), s(old.status.as_str()));
        values.insert(":old_updated".into(), s(time::format(&old.updated_at)));
        let record = Update::builder()
            .table_name(&self.table)
            .key(schema::PK, s(schema::token_pk(id)))
            .update_expression(format!("SET {}", sets.join(", ")))
            .condition_expression("#st = :old_status AND #up = :old_updated")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .unwrap();
        let cred = Update::builder()
            .table_name(&self.table)
            .key(schema::PK, s(schema::credential_pk(id)))
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":st", s("revoked"))
            .update_expression("SET #st = :st")
            .build()
            .unwrap();
        let mut items = vec![
            TransactWriteItem::builder().update(record).build(),
            TransactWriteItem::builder().update(cred).build(),
        ];
        items.extend(self.counters(
            &old,
            &[(StoredStatus::Active, -1), (StoredStatus::Revoked, 1)],
        ));
        self.db
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .unwrap();
    }
}

/// One route's measurements.
struct Measured {
    route: &'static str,
    server_ms: Vec<f64>,
    bare_ms: Vec<f64>,
    server_requests: f64,
    bare_requests: f64,
}

/// Runs `server` and `bare` once per iteration, alternating which goes first, and keeps the
/// timings after the warm-up. Requests are counted over the measured iterations.
async fn interleave<'a>(
    route: &'static str,
    iterations: usize,
    counters: (&RequestCounter, &RequestCounter),
    mut server: impl FnMut(usize) -> LocalBoxFuture<'a, ()>,
    mut bare: impl FnMut(usize) -> LocalBoxFuture<'a, ()>,
) -> Measured {
    let mut m = Measured {
        route,
        server_ms: Vec::with_capacity(iterations),
        bare_ms: Vec::with_capacity(iterations),
        server_requests: 0.0,
        bare_requests: 0.0,
    };
    let mut before = (0, 0);
    for i in 0..WARM_UP + iterations {
        if i == WARM_UP {
            before = (counters.0.get(), counters.1.get());
        }
        let mut time_one = async |server_side: bool| {
            let t = Instant::now();
            if server_side {
                server(i).await;
            } else {
                bare(i).await;
            }
            t.elapsed().as_secs_f64() * 1000.0
        };
        let (a, b) = if i % 2 == 0 {
            let a = time_one(true).await;
            (a, time_one(false).await)
        } else {
            let b = time_one(false).await;
            (time_one(true).await, b)
        };
        if i >= WARM_UP {
            m.server_ms.push(a);
            m.bare_ms.push(b);
        }
    }
    m.server_requests = (counters.0.get() - before.0) as f64 / iterations as f64;
    m.bare_requests = (counters.1.get() - before.1) as f64 / iterations as f64;
    m
}

#[tokio::main]
async fn main() {
    let iterations: usize = std::env::var("OVERHEAD_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    // No last-use write behind the checks (it is off the response path, at most once a
    // minute per token in AWS): both sides send exactly the same requests.
    let app = App::start_with(&[("LAST_USED_INTERVAL_SECONDS", "0")]).await;
    let base = time::now() - chrono::Duration::days(30);
    seed_tenant(&app.dynamodb, &app.table, TENANT, 0..1_000, 5, base, 4).await;
    let scopes = ["tokens:admin", "tokens:read", "tokens:write"];
    let (admin_id, admin) = app
        .mint_with(TENANT, ADMIN, &scopes, CreateInput::default())
        .await;
    let admin_id = uuid::Uuid::parse_str(&admin_id).unwrap();
    let bare_requests = RequestCounter::default();
    let bare = Bare {
        db: dynamodb_counted(&endpoint(), bare_requests.clone()),
        table: app.table.clone(),
    };
    let total = WARM_UP + iterations;
    let mut victims = (Vec::new(), Vec::new());
    for i in 0..2 * total {
        let (id, _) = app
            .mint_with(
                TENANT,
                "user1",
                &[],
                CreateInput {
                    name: format!("victim {i}"),
                    ..Default::default()
                },
            )
            .await;
        if i % 2 == 0 {
            victims.0.push(id);
        } else {
            victims.1.push(uuid::Uuid::parse_str(&id).unwrap());
        }
    }
    let http = Direct::connect(app.addr).await;
    let http = &http;
    eprintln!("set up; measuring {iterations} iterations per route");
    let counters = (&app.requests, &bare_requests);
    let (app, bare, admin) = (&app, &bare, admin.as_str());
    let mut results = Vec::new();

    results.push(
        interleave(
            "list: `GET /tokens?limit=50` (admin, tenant's live tokens)",
            iterations,
            counters,
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
                    bare.list_page().await;
                }
                .boxed_local()
            },
        )
        .await,
    );
    // The handler's share of the list route alone: no HTTP, no event, no authorizer.
    let lister = integration_tests::principal(TENANT, ADMIN, &scopes);
    let (lister, query) = (&lister, &api_tokens::service::listing::ListQuery::default());
    results.push(
        interleave(
            "list in process: `TokenService::list`, limit 50 (no HTTP, no authorizer)",
            iterations,
            counters,
            |_| {
                async move {
                    let r = app.service.list(lister, query).await.unwrap();
                    assert_eq!(r.items.len(), PAGE as usize);
                }
                .boxed_local()
            },
            |_| async move { bare.list_page().await }.boxed_local(),
        )
        .await,
    );
    results.push(
        interleave(
            "create: `POST /tokens`",
            iterations,
            counters,
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
                    bare.create(i).await;
                }
                .boxed_local()
            },
        )
        .await,
    );
    let (server_victims, bare_victims) = (&victims.0, &victims.1);
    results.push(
        interleave(
            "revoke: `POST /tokens/{id}/revoke`",
            iterations,
            counters,
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
                    bare.revoke(bare_victims[i]).await;
                }
                .boxed_local()
            },
        )
        .await,
    );
    results.push(
        interleave(
            "verify: `GET /tokens/self` (the check, then the caller's record)",
            iterations,
            counters,
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
        .await,
    );
    let event = json!({"version": "2.0", "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:eu-west-1:1:api/$default/GET/tokens",
        "identitySource": [format!("Bearer {admin}")], "routeKey": "GET /tokens",
        "rawPath": "/tokens", "rawQueryString": "",
        "headers": {"authorization": format!("Bearer {admin}")},
        "requestContext": {"http": {"method": "GET", "path": "/tokens", "sourceIp": "203.0.113.7"}}});
    let event = &event;
    results.push(
        interleave(
            "verify alone: `authorizer::handle` in process, no HTTP",
            iterations,
            counters,
            |_| {
                async move {
                    let answer = authorizer::handle(&*app.service, event.clone())
                        .await
                        .unwrap();
                    assert_eq!(answer["isAuthorized"], true);
                }
                .boxed_local()
            },
            |_| async move { bare.credential(admin_id).await }.boxed_local(),
        )
        .await,
    );

    println!("| route | DynamoDB requests per call (server / bare) | server p50 | bare SDK p50 | ratio of medians | server − bare, p50 | server p90 | bare SDK p90 |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for m in &results {
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
    // Two pieces of the list route's overhead, measured alone.
    let mut round_trips = Vec::with_capacity(iterations);
    for i in 0..WARM_UP + iterations {
        let t = Instant::now();
        let (status, _) = http.get("/no-such-route", admin).await;
        assert_eq!(status, 404);
        if i >= WARM_UP {
            round_trips.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let page = app.service.list(lister, query).await.unwrap();
    let (now, t) = (time::now(), Instant::now());
    for _ in 0..iterations {
        std::hint::black_box(api_tokens::http::list_response(&page, query, now));
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
    app.dynamodb
        .delete_table()
        .table_name(&app.table)
        .send()
        .await
        .unwrap();
}
