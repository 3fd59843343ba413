//! Shared by the benchmark binaries `bench-ops`, `bench-overhead` and `bench-scale` (each
//! includes it with `#[path]`): a capacity meter on the DynamoDB client, a fast seeder of a
//! tenant's token records, and small statistics helpers.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use api_tokens::model::{StoredStatus, TokenItem};
use api_tokens::store::record_attributes;
use api_tokens::{schema, time};
use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextMut, FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConsumedCapacity, PutRequest, ReturnConsumedCapacity, WriteRequest,
};
use integration_tests::sample_token;

/// What DynamoDB was asked and what it charged, as a [`Meter`] saw it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// Requests sent, by operation name (`GetItem`, `Query`, ...).
    pub requests: BTreeMap<&'static str, u32>,
    /// Capacity units of read operations (`GetItem`, `Query`, `BatchGetItem`, `Scan`).
    pub read_units: f64,
    /// Capacity units of write operations (transactions, puts, updates, deletes), indexes
    /// included.
    pub write_units: f64,
    /// Of those, the units DynamoDB attributed to global secondary indexes.
    pub index_units: f64,
    /// The indexes `Query` requests read.
    pub queried: std::collections::BTreeSet<String>,
}

impl Tally {
    /// Every request, whatever its operation.
    pub fn total_requests(&self) -> u32 {
        self.requests.values().sum()
    }

    /// `1 GetItem + 1 TransactWriteItems`, or `none`.
    pub fn describe(&self) -> String {
        if self.requests.is_empty() {
            return "none".into();
        }
        self.requests
            .iter()
            .map(|(op, n)| format!("{n} {op}"))
            .collect::<Vec<_>>()
            .join(" + ")
    }
}

/// An SDK interceptor that counts every DynamoDB request by operation and adds up the
/// `ConsumedCapacity` of every response. It asks for `ReturnConsumedCapacity=INDEXES` on every
/// request that can report capacity (the store asks only on `Query`): this changes what
/// DynamoDB reports, never what it does or charges.
#[derive(Debug, Clone, Default)]
pub struct Meter(Arc<Mutex<Tally>>);

impl Meter {
    /// The tally so far, and a fresh start.
    pub fn take(&self) -> Tally {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    fn count(&self, op: &'static str) {
        *self.0.lock().unwrap().requests.entry(op).or_default() += 1;
    }

    fn charge<'a>(&self, read: bool, capacities: impl IntoIterator<Item = &'a ConsumedCapacity>) {
        let mut t = self.0.lock().unwrap();
        for c in capacities {
            let units = c.capacity_units.unwrap_or_default();
            if read {
                t.read_units += units;
            } else {
                t.write_units += units;
            }
            t.index_units += c
                .global_secondary_indexes
                .iter()
                .flat_map(|m| m.values())
                .map(|i| i.capacity_units.unwrap_or_default())
                .sum::<f64>();
        }
    }
}

impl Intercept for Meter {
    fn name(&self) -> &'static str {
        "Meter"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        use aws_sdk_dynamodb::operation as op;
        let input = context.input_mut();
        let indexes = Some(ReturnConsumedCapacity::Indexes);
        if let Some(q) = input.downcast_ref::<op::query::QueryInput>() {
            let index = q.index_name.clone().unwrap_or_else(|| "table".into());
            self.0.lock().unwrap().queried.insert(index);
        }
        macro_rules! ask {
            ($($ty:ty => $name:literal),* $(,)?) => {
                $(if let Some(i) = input.downcast_mut::<$ty>() {
                    i.return_consumed_capacity = indexes;
                    self.count($name);
                    return Ok(());
                })*
            };
        }
        ask!(
            op::get_item::GetItemInput => "GetItem",
            op::query::QueryInput => "Query",
            op::scan::ScanInput => "Scan",
            op::batch_get_item::BatchGetItemInput => "BatchGetItem",
            op::transact_write_items::TransactWriteItemsInput => "TransactWriteItems",
            op::transact_get_items::TransactGetItemsInput => "TransactGetItems",
            op::update_item::UpdateItemInput => "UpdateItem",
            op::put_item::PutItemInput => "PutItem",
            op::delete_item::DeleteItemInput => "DeleteItem",
            op::batch_write_item::BatchWriteItemInput => "BatchWriteItem",
        );
        self.count("other");
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        use aws_sdk_dynamodb::operation as op;
        let Some(Ok(out)) = context.output_or_error() else {
            return Ok(());
        };
        macro_rules! one {
            ($read:expr, $($ty:ty),*) => {
                $(if let Some(o) = out.downcast_ref::<$ty>() {
                    self.charge($read, o.consumed_capacity.iter());
                    return Ok(());
                })*
            };
        }
        macro_rules! many {
            ($read:expr, $($ty:ty),*) => {
                $(if let Some(o) = out.downcast_ref::<$ty>() {
                    self.charge($read, o.consumed_capacity.iter().flatten());
                    return Ok(());
                })*
            };
        }
        one!(
            true,
            op::get_item::GetItemOutput,
            op::query::QueryOutput,
            op::scan::ScanOutput
        );
        many!(
            true,
            op::batch_get_item::BatchGetItemOutput,
            op::transact_get_items::TransactGetItemsOutput
        );
        one!(
            false,
            op::update_item::UpdateItemOutput,
            op::put_item::PutItemOutput,
            op::delete_item::DeleteItemOutput
        );
        many!(
            false,
            op::transact_write_items::TransactWriteItemsOutput,
            op::batch_write_item::BatchWriteItemOutput
        );
        Ok(())
    }
}

/// A DynamoDB Local client, as the harness builds it, with `meter` on it.
pub fn metered_client(endpoint: &str, meter: Meter) -> aws_sdk_dynamodb::Client {
    integration_tests::dynamodb_with(endpoint, meter)
}

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
    use futures_util::StreamExt;
    let mut counters: HashMap<String, [i64; 3]> = HashMap::new();
    let mut chunks = Vec::new();
    let mut chunk = Vec::with_capacity(25);
    for i in range {
        let t = seeded_token(tenant, i, users, base);
        let shard = schema::counter_shard(t.id);
        let slot = match t.status {
            StoredStatus::Active => 0,
            StoredStatus::Expired => 1,
            StoredStatus::Revoked => 2,
        };
        for owner in [None, Some(t.user_id.as_str())] {
            counters
                .entry(schema::counter_pk(tenant, owner, shard))
                .or_default()[slot] += 1;
        }
        let put = PutRequest::builder()
            .set_item(Some(record_attributes(&t, None).unwrap()))
            .build()
            .unwrap();
        chunk.push(WriteRequest::builder().put_request(put).build());
        if chunk.len() == 25 {
            chunks.push(std::mem::take(&mut chunk));
        }
    }
    if !chunk.is_empty() {
        chunks.push(chunk);
    }
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
    for (pk, [active, expired, revoked]) in counters {
        db.update_item()
            .table_name(table)
            .key(schema::PK, AttributeValue::S(pk))
            .update_expression("ADD active :a, expired :e, revoked :r")
            .expression_attribute_values(":a", AttributeValue::N(active.to_string()))
            .expression_attribute_values(":e", AttributeValue::N(expired.to_string()))
            .expression_attribute_values(":r", AttributeValue::N(revoked.to_string()))
            .send()
            .await
            .expect("seed the counters");
    }
}

/// The `p`-quantile (0..=1) of samples, nearest rank.
pub fn percentile(samples: &[f64], p: f64) -> f64 {
    let mut v = samples.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// The median of samples.
pub fn median(samples: &[f64]) -> f64 {
    percentile(samples, 0.5)
}
