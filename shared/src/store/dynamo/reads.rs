//! Reads: one record, one credential, an idempotency record, a page of an index partition,
//! the counters, records by id.

use uuid::Uuid;

use crate::domain::model::TokenItem;
use crate::store::dynamo::{decode_once, readable, DynamoStore};
use crate::store::error::{classify, StoreError};
use crate::store::port::{Counts, Credential, Once, Page, PageRequest};
use crate::store::requests;
use crate::store::schema;
use crate::support::time;

/// A token record (strongly consistent).
pub(super) async fn get(store: &DynamoStore, id: Uuid) -> Result<Option<TokenItem>, StoreError> {
    store.get_item(schema::token_pk(id)).await
}

/// What verification needs (strongly consistent).
pub(super) async fn credential(
    store: &DynamoStore,
    id: Uuid,
) -> Result<Option<Credential>, StoreError> {
    store.get_item(schema::credential_pk(id)).await
}

/// The live idempotency record with this key, if any.
pub(super) async fn held(store: &DynamoStore, pk: &str) -> Result<Option<Once>, StoreError> {
    // TTL deletes lazily: a record past its window holds nothing.
    match store.get_raw(pk).await? {
        Some(item) => Ok(Some(decode_once(item)?).filter(|o| o.expires_at > time::now())),
        None => Ok(None),
    }
}

/// One page of an index partition; records that do not decode are left out and named.
pub(super) async fn page(store: &DynamoStore, q: &PageRequest<'_>) -> Result<Page, StoreError> {
    let out = requests::page_query(&store.client, &store.table, q)?
        .send()
        .await
        .map_err(classify)?;
    let capacity = out
        .consumed_capacity
        .as_ref()
        .and_then(|c| c.capacity_units)
        .unwrap_or_default();
    let raw = out.items.unwrap_or_default();
    let last_key = raw
        .last()
        .and_then(|item| item.get(q.index.sort_key()))
        .and_then(|v| v.as_s().ok())
        .cloned();
    let mut items = Vec::with_capacity(raw.len());
    let mut unreadable = Vec::new();
    for item in raw {
        let key = item.get(schema::PK).and_then(|v| v.as_s().ok()).cloned();
        match readable(item) {
            Some(t) => items.push(t),
            None => unreadable.push(key.unwrap_or_default()),
        }
    }
    Ok(Page {
        items,
        unreadable,
        last_key,
        more: out.last_evaluated_key.is_some_and(|k| !k.is_empty()),
        capacity,
    })
}

/// A tenant's counters, or a user's: the sum of their shards.
pub(super) async fn counts(
    store: &DynamoStore,
    tenant_id: &str,
    user_id: Option<&str>,
) -> Result<Counts, StoreError> {
    let shards = (0..schema::COUNTER_SHARDS)
        .map(|shard| schema::counter_pk(tenant_id, user_id, shard))
        .collect();
    let mut total = Counts::default();
    for c in store.batch_read::<Counts>(shards).await? {
        total.active += c.active;
        total.expired += c.expired;
        total.revoked += c.revoked;
    }
    Ok(total)
}

/// Up to 100 token records by id (missing ids are skipped).
pub(super) async fn batch_get(
    store: &DynamoStore,
    ids: &[Uuid],
) -> Result<Vec<TokenItem>, StoreError> {
    store
        .batch_read(ids.iter().map(|id| schema::token_pk(*id)).collect())
        .await
}
