//! Writes: a new token, a rotation, a `PATCH`, the last-use touch, a status change; and the
//! idempotency record taken in the same transaction as a creation or a rotation.

use uuid::Uuid;

use crate::domain::model::TokenItem;
use crate::store::dynamo::reads;
use crate::store::dynamo::{
    cancellation_reasons, decode_once, is_cancel, readable, DynamoStore, TransactError,
    WRITE_ATTEMPTS,
};
use crate::store::error::{classify, unless_condition_failed, StoreError};
use crate::store::port::{Amendment, Once, RotateOutcome, Rotation};
use crate::store::requests;
use crate::support::time::{self, Timestamp};

/// Why a transaction with an idempotency record did not commit.
enum TransactOutcome {
    /// The key's record vanished between the failed write and the read: try again.
    Stale,
    /// A failure outside the transaction itself.
    Store(StoreError),
    /// DynamoDB refused the transaction (boxed: the SDK error is large).
    Cancelled(Box<TransactError>),
}

impl From<TransactError> for TransactOutcome {
    fn from(e: TransactError) -> Self {
        Self::Cancelled(Box::new(e))
    }
}

/// A new token (record, credential, counters) and `once`'s record, in one transaction;
/// the record already holding `once`'s key instead, if there is one.
pub(super) async fn insert(
    store: &DynamoStore,
    item: &TokenItem,
    secret_hash: &str,
    purge_at: Option<Timestamp>,
    once: Option<&Once>,
) -> Result<Option<Once>, StoreError> {
    let items = requests::insert_items(&store.table, item, secret_hash, purge_at)?;
    for _ in 0..WRITE_ATTEMPTS {
        match transact_once(store, once, items.clone()).await {
            Ok(held) => return Ok(held),
            Err(TransactOutcome::Stale) => continue,
            Err(TransactOutcome::Store(e)) => return Err(e),
            Err(TransactOutcome::Cancelled(e)) => return Err(classify(*e)),
        }
    }
    Err(StoreError::Contended(format!("creation of {}", item.id)))
}

/// A rotation in one transaction (see [`requests::rotation_items`]) with `r.once`'s record.
pub(super) async fn rotate(
    store: &DynamoStore,
    r: &Rotation<'_>,
) -> Result<RotateOutcome, StoreError> {
    let items = requests::rotation_items(&store.table, r)?;
    match transact_once(store, r.once, items).await {
        Ok(None) => Ok(RotateOutcome::Rotated),
        Ok(Some(held)) => Ok(RotateOutcome::Held(held)),
        Err(TransactOutcome::Stale) => Ok(RotateOutcome::Stale),
        Err(TransactOutcome::Store(e)) => Err(e),
        Err(TransactOutcome::Cancelled(e)) if is_cancel(&e, "ConditionalCheckFailed") => {
            Ok(RotateOutcome::Stale)
        }
        Err(TransactOutcome::Cancelled(e)) => Err(classify(*e)),
    }
}

/// Runs a transaction whose first item is `once`'s record (when given). Nothing is
/// written when the key is already taken: the record holding it is returned instead.
async fn transact_once(
    store: &DynamoStore,
    once: Option<&Once>,
    writes: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
) -> Result<Option<Once>, TransactOutcome> {
    let mut items = Vec::with_capacity(writes.len() + 1);
    if let Some(o) = once {
        items.push(
            requests::once_item(&store.table, o, time::now()).map_err(TransactOutcome::Store)?,
        );
    }
    items.extend(writes);
    let err = match store.transact(items).await {
        Ok(()) => return Ok(None),
        Err(e) => e,
    };
    let Some(once) = once else {
        return Err(TransactOutcome::from(err));
    };
    let reasons = cancellation_reasons(&err);
    match reasons.first() {
        Some(r) if r.code() == Some("ConditionalCheckFailed") => {
            let held = match r.item() {
                Some(item) => Some(decode_once(item.clone()).map_err(TransactOutcome::Store)?),
                None => reads::held(store, &once.pk)
                    .await
                    .map_err(TransactOutcome::Store)?,
            };
            // Gone between the two reads (its window ended): the caller may try again.
            held.map(Some).ok_or(TransactOutcome::Stale)
        }
        _ => Err(TransactOutcome::from(err)),
    }
}

/// Applies a status change to a record, its credential and both counters in one
/// transaction, conditioned on the record being exactly as `old` was read; `false` when
/// it was not.
pub(super) async fn transition(
    store: &DynamoStore,
    old: &TokenItem,
    new: &TokenItem,
    purge_at: Option<Timestamp>,
) -> Result<bool, StoreError> {
    let items = requests::status_change_items(&store.table, old, new, purge_at)?;
    match store.transact(items).await {
        Ok(()) => Ok(true),
        Err(e) if is_cancel(&e, "ConditionalCheckFailed") => Ok(false),
        Err(e) => Err(classify(e)),
    }
}

/// A `PATCH`: one conditional `UpdateItem`; when it changes the metadata, one
/// `TransactWriteItems` (record and credential) and a strongly consistent `GetItem` of the
/// record as it became. `None` when no such token is in reach.
pub(super) async fn amend(
    store: &DynamoStore,
    a: &Amendment<'_>,
) -> Result<Option<TokenItem>, StoreError> {
    if a.patch.touches_credential() {
        let items = requests::amend_items(&store.table, a)?;
        return match store.transact(items).await {
            Ok(()) => reads::get(store, a.id).await,
            Err(e) if is_cancel(&e, "ConditionalCheckFailed") => Ok(None),
            Err(e) => Err(classify(e)),
        };
    }
    let out = requests::amend_update(&store.client, &store.table, a)
        .send()
        .await;
    Ok(unless_condition_failed(out)?
        .and_then(|out| out.attributes)
        .and_then(readable))
}

/// Records a use, unless one was recorded within `interval` before `at`; whether it wrote.
pub(super) async fn touch(
    store: &DynamoStore,
    id: Uuid,
    at: Timestamp,
    ip: Option<String>,
    interval: chrono::Duration,
) -> Result<bool, StoreError> {
    let out = requests::touch_update(&store.client, &store.table, id, at, ip, interval)
        .send()
        .await;
    Ok(unless_condition_failed(out)?.is_some())
}
