//! [`TokenStore`](crate::store::port::TokenStore) over a DynamoDB table: [`DynamoStore`]
//! and what every operation shares (one read, a batch read, a transaction retried while it
//! only conflicts, decoding). The requests themselves are built in `store::requests`.
//!
//! | file | operations |
//! | --- | --- |
//! | `writes` | insert, rotate, amend (`PATCH`), touch; idempotency records |
//! | `revoke` | revoke, revoke write-only, revoke a credential alone, batches of revocations |
//! | `reads` | get, credential, held, page, counts, batch get |
//! | `sweep` | expire due tokens |
//! | `usage` | count a use, read usage counters, write a usage notice |
//! | `token_store` | `impl TokenStore`: which of the above does each operation |
//!
//! Every reader skips a record it cannot decode ([`readable`]) and goes on with the rest.

mod reads;
mod revoke;
mod sweep;
mod token_store;
mod usage;
mod writes;

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason, TransactWriteItem};
use aws_sdk_dynamodb::Client;

use crate::domain::model::TokenItem;
use crate::store::error::{classify, StoreError};
use crate::store::port::{Counts, Credential, Once};
use crate::store::requests;
use crate::store::schema;
use crate::support::time;

/// [`TokenStore`](crate::store::port::TokenStore) over a DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

/// How often a write re-reads and retries after losing a race.
const WRITE_ATTEMPTS: usize = 4;

/// Attempts after a transaction is cancelled by a conflicting one.
const CONFLICT_RETRIES: u32 = 6;

type TransactError =
    SdkError<TransactWriteItemsError, aws_sdk_dynamodb::config::http::HttpResponse>;

impl DynamoStore {
    /// A store over `table`, using a client built once per process.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// One item by key; an item that does not decode is logged, counted and read as absent.
    async fn get_item<T: Decode>(&self, pk: String) -> Result<Option<T>, StoreError> {
        Ok(self.get_raw(pk).await?.and_then(readable))
    }

    /// One strongly consistent `GetItem`, the item as DynamoDB returns it.
    async fn get_raw(
        &self,
        pk: impl Into<String>,
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let out = requests::get_item(&self.client, &self.table, pk)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.item)
    }

    /// One strongly consistent `BatchGetItem` of up to 100 keys (missing items are skipped);
    /// keys DynamoDB leaves unprocessed are asked for again a few times, then reported.
    async fn batch_read<T: Decode>(&self, pks: Vec<String>) -> Result<Vec<T>, StoreError> {
        let mut keys: Vec<_> = pks.into_iter().map(requests::item_key).collect();
        let mut found = Vec::new();
        for _ in 0..WRITE_ATTEMPTS {
            if keys.is_empty() {
                return Ok(found);
            }
            let out =
                requests::batch_get_item(&self.client, &self.table, std::mem::take(&mut keys))?
                    .send()
                    .await
                    .map_err(classify)?;
            for item in out
                .responses
                .and_then(|mut r| r.remove(&self.table))
                .unwrap_or_default()
            {
                found.extend(readable(item));
            }
            keys = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
        }
        if keys.is_empty() {
            Ok(found)
        } else {
            Err(StoreError::Throttled(
                "BatchGetItem left keys unprocessed".into(),
            ))
        }
    }

    /// One `TransactWriteItems`, retried with jittered backoff while it is cancelled only
    /// because a concurrent transaction touched the same items.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), TransactError> {
        let mut attempt = 0u32;
        loop {
            let result = requests::transact_write(&self.client, items.clone())
                .send()
                .await;
            match result {
                Err(e)
                    if attempt < CONFLICT_RETRIES
                        && is_cancel(&e, "TransactionConflict")
                        && !is_cancel(&e, "ConditionalCheckFailed") =>
                {
                    attempt += 1;
                    let jitter = u64::from(uuid::Uuid::now_v7().as_u128() as u8 % 20);
                    tokio::time::sleep(std::time::Duration::from_millis(
                        (10u64 << attempt.min(5)) + jitter,
                    ))
                    .await;
                }
                Err(e) => return Err(e),
                Ok(_) => return Ok(()),
            }
        }
    }
}

fn cancellation_reasons(err: &TransactError) -> &[CancellationReason] {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => c.cancellation_reasons(),
        _ => &[],
    }
}

/// Whether a transaction was cancelled with `reason` for one of its items.
fn is_cancel(err: &TransactError, reason: &str) -> bool {
    cancellation_reasons(err)
        .iter()
        .any(|r| r.code() == Some(reason))
}

/// `item` decoded, or `None` after logging and counting it (`metrics::unreadable_record`):
/// every reader skips what it cannot read and goes on with the rest.
fn readable<T: Decode>(item: HashMap<String, AttributeValue>) -> Option<T> {
    let key = match item.get(schema::PK) {
        Some(AttributeValue::S(pk)) => pk.clone(),
        _ => "(no pk)".to_string(),
    };
    T::decode(item)
        .map_err(|e| crate::support::metrics::unreadable_record(&key, &e.to_string()))
        .ok()
}

/// An item type the store reads.
trait Decode: Sized {
    /// The item from its attributes.
    fn decode(item: HashMap<String, AttributeValue>) -> Result<Self, StoreError>;
}

/// Token records: the hot read (a list page has up to 101), decoded field by field.
impl Decode for TokenItem {
    fn decode(item: HashMap<String, AttributeValue>) -> Result<Self, StoreError> {
        crate::store::record::token_item(item).map_err(StoreError::Corrupt)
    }
}

impl Decode for Credential {
    fn decode(item: HashMap<String, AttributeValue>) -> Result<Self, StoreError> {
        from_serde(item)
    }
}

impl Decode for Counts {
    fn decode(item: HashMap<String, AttributeValue>) -> Result<Self, StoreError> {
        from_serde(item)
    }
}

/// An item through `serde_dynamo`.
fn from_serde<T: serde::de::DeserializeOwned>(
    item: HashMap<String, AttributeValue>,
) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// An idempotency record from its attributes.
fn decode_once(mut item: HashMap<String, AttributeValue>) -> Result<Once, StoreError> {
    let corrupt = || StoreError::Corrupt("idempotency record".into());
    let mut text = |k: &str| match item.remove(k) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    };
    let pk = text(schema::PK).ok_or_else(corrupt)?;
    let fingerprint = text("fingerprint").ok_or_else(corrupt)?;
    let expires_at = text("expires_at")
        .and_then(|t| time::parse(&t))
        .ok_or_else(corrupt)?;
    let sealed = match item.remove("sealed") {
        Some(AttributeValue::B(b)) => b.into_inner(),
        _ => return Err(corrupt()),
    };
    Ok(Once {
        pk,
        fingerprint,
        sealed,
        expires_at,
    })
}
