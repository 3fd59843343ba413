//! `cargo run --release -p api-tokens-benches --bin bench-list` (through `scripts/bench list`,
//! which starts DynamoDB Local): cost and latency of a page of 100 tokens with 1,000 and
//! 20,000 tokens in a tenant, for a status filter (a key condition) and a name filter (read
//! under the budget). Prints a Markdown table.

use std::time::Instant;

use api_tokens::model::{Status, StoredStatus, TokenItem};
use api_tokens::service::listing::ListQuery;
use api_tokens::store::record_attributes;
use api_tokens::{schema, time, DynamoStore, TokenService};
use api_tokens_benches::{median, put_records};
use integration_tests::{dynamodb, endpoint, principal, sample_token, test_config};

const RUNS: usize = 15;

/// Writes `n` token records of tenant `bench` (records only: lists read nothing else), one
/// second apart, 80% active, 10% expired, 10% revoked, 1% named `needle`.
async fn load(db: &aws_sdk_dynamodb::Client, table: &str, n: usize) {
    let now = time::now();
    let records: Vec<_> = (0..n)
        .map(|i| {
            let created = now - chrono::Duration::seconds((n - i) as i64);
            let item = TokenItem {
                user_id: format!("user{}", i % 10),
                name: if i % 100 == 42 {
                    format!("needle {i}")
                } else {
                    format!("token {i}")
                },
                scopes: vec!["tokens:read".into()],
                status: match i % 10 {
                    0 => StoredStatus::Revoked,
                    1 => StoredStatus::Expired,
                    _ => StoredStatus::Active,
                },
                created_at: created,
                updated_at: created,
                metadata: [("team".to_string(), format!("t{}", i % 7))].into(),
                ..sample_token("bench", "bench")
            };
            record_attributes(&item, None).unwrap()
        })
        .collect();
    put_records(db, table, records, 8).await;
}

#[tokio::main]
async fn main() {
    let db = dynamodb(&endpoint());
    println!("| tokens in tenant | query | items returned | requests | items read | read capacity (RCU) | latency, median of {RUNS} |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for n in [1_000usize, 20_000] {
        let table = format!("bench-{}", uuid::Uuid::now_v7().simple());
        schema::create_table(&db, &table).await.unwrap();
        let started = Instant::now();
        load(&db, &table, n).await;
        eprintln!(
            "loaded {n} tokens in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let service = TokenService::new(DynamoStore::new(db.clone(), &table), &test_config(&table));
        let admin = principal("bench", "root", &["tokens:admin"]);
        let cases = [
            (
                "status=active, first page",
                ListQuery {
                    limit: 100,
                    statuses: Some([Status::Active].into()),
                    ..Default::default()
                },
            ),
            (
                "name=needle (1% match)",
                ListQuery {
                    limit: 100,
                    name: Some("needle".into()),
                    ..Default::default()
                },
            ),
        ];
        for (what, q) in cases {
            let mut latencies = Vec::new();
            let mut last = None;
            for _ in 0..RUNS {
                let t = Instant::now();
                let r = service.list(&admin, &q).await.unwrap();
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                last = Some(r);
            }
            let r = last.unwrap();
            println!(
                "| {n} | {what} | {} | {} | {} | {:.1} | {:.1} ms |",
                r.items.len(),
                r.stats.requests,
                r.stats.items_read,
                r.stats.capacity,
                median(&latencies)
            );
        }
        db.delete_table().table_name(&table).send().await.unwrap();
    }
}
