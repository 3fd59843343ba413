//! `scripts/bench revoke-user`: revoking every token of a user with 2,000 active tokens, the
//! way a `RevokeUserTokens` event does, over DynamoDB Local. Release build; prints a Markdown
//! table row with the time and the DynamoDB requests, as counted by an SDK interceptor.

use std::time::Instant;

use api_tokens::store::TokenStore;
use api_tokens::{schema, DynamoStore, TokenService};
use futures_util::StreamExt;
use integration_tests::{
    dynamodb, dynamodb_counted, endpoint, sample_token, test_config_with, RequestCounter,
};

const TOKENS: usize = 2_000;

#[tokio::main]
async fn main() {
    let db = dynamodb(&endpoint());
    let table = format!("bench-{}", uuid::Uuid::now_v7().simple());
    schema::create_table(&db, &table).await.unwrap();
    let counter = RequestCounter::default();
    let service = TokenService::new(
        DynamoStore::new(dynamodb_counted(&endpoint(), counter.clone()), &table),
        &test_config_with(&table, &[]),
    );
    let tokens: Vec<_> = (0..TOKENS)
        .map(|_| sample_token("bench", "mallory"))
        .collect();
    let seeded = Instant::now();
    futures_util::stream::iter(&tokens)
        .map(|t| service.store().insert(t, "not-a-real-hash", None, None))
        .buffer_unordered(8)
        .for_each(|r| async move {
            r.unwrap();
        })
        .await;
    eprintln!(
        "seeded {TOKENS} tokens in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );

    let before = counter.get();
    let started = Instant::now();
    let done = service
        .revoke_user("bench", "mallory", "bench", None, Some("offboarded"), None)
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(done.complete);
    assert_eq!(done.revoked, TOKENS);
    let counts = service
        .store()
        .counts("bench", Some("mallory"))
        .await
        .unwrap();
    assert_eq!((counts.active, counts.revoked), (0, TOKENS as i64));
    println!("| tokens revoked | DynamoDB requests | time |");
    println!("| --- | --- | --- |");
    println!(
        "| {TOKENS} | {} | {:.1} s |",
        counter.get() - before,
        took.as_secs_f64()
    );
    db.delete_table().table_name(&table).send().await.unwrap();
}
