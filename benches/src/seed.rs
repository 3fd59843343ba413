//! Seeding a tenant fast: records with `BatchWriteItem` (the store has no such request:
//! it writes one token per transaction), counters with the store's own counter updates.

use std::collections::HashMap;

use api_tokens::model::{StoredStatus, TokenItem};
use api_tokens::store::record_attributes;
use api_tokens::store::requests::{self, CounterDeltas, MAX_TRANSACTION_ITEMS};
use api_tokens::time;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use futures_util::StreamExt;
use integration_tests::sample_token;

/// Items per `BatchWriteItem`, DynamoDB's most.
const BATCH: usize = 25;

/// The `i`-th token of a seeded tenant: owner `user<(i / 10) % users>`; 80% active, 10% expired
/// (with an expiry in the past), 10% revoked; 1% have `needle` in their name. Token `i` is
/// created `i` seconds after `base`, so higher indexes are newer.
pub fn seeded_token(tenant: &str, i: usize, users: usize, base: time::Timestamp) -> TokenItem {
    let created = base + chrono::Duration::seconds(i as i64);
    let status = match i % 10 {
        0 => StoredStatus::Revoked,
        1 => StoredStatus::Expired,
        _ => StoredStatus::Active,
    };
    let revoked = status == StoredStatus::Revoked;
    TokenItem {
        name: if i % 100 == 42 {
            format!("needle {i}")
        } else {
            format!("token {i}")
        },
        scopes: vec!["tokens:read".into()],
        status,
        created_at: created,
        updated_at: created,
        expires_at: (status == StoredStatus::Expired)
            .then(|| created + chrono::Duration::seconds(1)),
        revoked_at: revoked.then_some(created),
        revoked_by: revoked.then(|| "admin".to_string()),
        revocation_reason: revoked.then(|| "seeded".to_string()),
        metadata: [("team".to_string(), format!("t{}", i % 7))].into(),
        ..sample_token(tenant, &format!("user{}", (i / 10) % users))
    }
}

/// Writes tokens `range` of `tenant` (see [`seeded_token`]) with `BatchWriteItem`, 25 items
/// per request and `concurrency` requests at a time, and adds them to the tenant's and the
/// owners' counters. Only token records and counters are written: credentials are in no
/// index, and lists never read them.
pub async fn seed_tenant(
    db: &aws_sdk_dynamodb::Client,
    table: &str,
    tenant: &str,
    range: std::ops::Range<usize>,
    users: usize,
    base: time::Timestamp,
    concurrency: usize,
) {
    let mut counters = CounterDeltas::default();
    let mut records = Vec::with_capacity(range.len());
    for i in range {
        let t = seeded_token(tenant, i, users, base);
        counters.add(&t, t.status, 1);
        records.push(record_attributes(&t, None).unwrap());
    }
    put_records(db, table, records, concurrency).await;
    let updates = counters.items(table).unwrap();
    for chunk in updates.chunks(MAX_TRANSACTION_ITEMS) {
        requests::transact_write(db, chunk.to_vec())
            .send()
            .await
            .expect("seed the counters");
    }
}

/// Writes `records` (attributes as `record_attributes` gives them) with `BatchWriteItem`,
/// 25 per request and `concurrency` requests at a time, until none is left unprocessed.
pub async fn put_records(
    db: &aws_sdk_dynamodb::Client,
    table: &str,
    records: Vec<HashMap<String, AttributeValue>>,
    concurrency: usize,
) {
    let puts: Vec<WriteRequest> = records
        .into_iter()
        .map(|r| {
            let put = PutRequest::builder().set_item(Some(r)).build().unwrap();
            WriteRequest::builder().put_request(put).build()
        })
        .collect();
    let chunks: Vec<Vec<WriteRequest>> = puts.chunks(BATCH).map(<[_]>::to_vec).collect();
    futures_util::stream::iter(chunks)
        .for_each_concurrent(concurrency, |mut chunk| async move {
            while !chunk.is_empty() {
                let out = db
                    .batch_write_item()
                    .request_items(table, chunk)
                    .send()
                    .await
                    .expect("seed a batch");
                chunk = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(table))
                    .unwrap_or_default();
            }
        })
        .await;
}
