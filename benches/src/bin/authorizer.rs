//! `scripts/bench authorizer`: latency of one authorizer check (HTTP API payload 2.0) and the
//! DynamoDB requests it costs, uncached and with the warm-instance cache, over DynamoDB Local.
//! In-process, release build; prints a Markdown table.

use std::time::Instant;

use api_tokens::service::CreateInput;
use api_tokens::store::requests;
use api_tokens::{authorizer, schema, DynamoStore, TokenService};
use api_tokens_benches::percentile;
use integration_tests::{dynamodb, dynamodb_counted, endpoint, test_config_with, RequestCounter};
use serde_json::json;

const CALLS: usize = 500;

#[tokio::main]
async fn main() {
    let db = dynamodb(&endpoint());
    let table = format!("bench-{}", uuid::Uuid::now_v7().simple());
    schema::create_table(&db, &table).await.unwrap();
    println!("| authorizer check | DynamoDB requests per check | RCU per check | p50 | p99 |");
    println!("| --- | --- | --- | --- | --- |");
    for (what, ttl) in [
        ("uncached (AUTH_CACHE_TTL_SECONDS=0)", "0"),
        ("cached, warm (AUTH_CACHE_TTL_SECONDS=60)", "60"),
    ] {
        let counter = RequestCounter::default();
        let service = TokenService::new(
            DynamoStore::new(dynamodb_counted(&endpoint(), counter.clone()), &table),
            &test_config_with(&table, &[("AUTH_CACHE_TTL_SECONDS", ttl)]),
        );
        let (item, secret) = service
            .issue(
                "bench",
                "alice",
                "alice",
                CreateInput {
                    name: "bench".into(),
                    scopes: vec!["tokens:read".into()],
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let event = json!({"version": "2.0", "type": "REQUEST", "routeArn": "arn:aws:execute-api:eu-west-1:1:api/$default/GET/tokens",
                           "identitySource": [format!("Bearer {}", secret.expose())], "routeKey": "GET /tokens",
                           "rawPath": "/tokens", "rawQueryString": "",
                           "headers": {"authorization": format!("Bearer {}", secret.expose())},
                           "requestContext": {"http": {"method": "GET", "path": "/tokens", "sourceIp": "203.0.113.7"}}});
        // Warm the connection (and, when enabled, the cache); let the first check's last-use
        // write (off the response path, once a minute) land before counting.
        authorizer::handle(&service, event.clone()).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let before = counter.get();
        let mut ms = Vec::with_capacity(CALLS);
        for _ in 0..CALLS {
            let t = Instant::now();
            let answer = authorizer::handle(&service, event.clone()).await.unwrap();
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(answer["isAuthorized"], true);
        }
        let per_check = (counter.get() - before) as f64 / CALLS as f64;
        // The check's one request, repeated with DynamoDB reporting what it consumed.
        let rcu = requests::get_item(&db, &table, schema::credential_pk(item.id))
            .return_consumed_capacity(aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total)
            .send()
            .await
            .unwrap()
            .consumed_capacity
            .and_then(|c| c.capacity_units)
            .unwrap_or_default();
        println!(
            "| {what} | {per_check} | {} | {:.3} ms | {:.3} ms |",
            rcu * per_check,
            percentile(&ms, 0.5),
            percentile(&ms, 0.99)
        );
    }
    db.delete_table().table_name(&table).send().await.unwrap();
}
