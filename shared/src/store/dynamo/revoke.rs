//! Revocations: one token (reading it first, or not when its owner is known), a damaged
//! token's credential alone, and batches of a user's tokens.

use uuid::Uuid;

use crate::domain::model::{StoredStatus, TokenItem};
use crate::store::dynamo::reads;
use crate::store::dynamo::{
    cancellation_reasons, is_cancel, readable, DynamoStore, WRITE_ATTEMPTS,
};
use crate::store::error::{classify, unless_condition_failed, StoreError};
use crate::store::port::{Revocation, RevokeOutcome};
use crate::store::requests::{self, MAX_TRANSACTION_ITEMS};
use crate::support::time::Timestamp;

/// Revokes a live token in reach: read it, then revoke it as read.
pub(super) async fn revoke(
    store: &DynamoStore,
    r: &Revocation<'_>,
) -> Result<RevokeOutcome, StoreError> {
    revoke_from(store, r, None).await
}

/// [`revoke`] without the record back: with the owner known, an active token costs one
/// transaction and no read.
pub(super) async fn revoke_write_only(
    store: &DynamoStore,
    r: &Revocation<'_>,
) -> Result<RevokeOutcome<()>, StoreError> {
    let known = match r.owner {
        Some(owner) => match revoke_as(store, r, owner, StoredStatus::Active).await? {
            Ok(()) => return Ok(RevokeOutcome::Revoked(())),
            Err(old) => Some(old),
        },
        None => None,
    };
    Ok(match revoke_from(store, r, known).await? {
        RevokeOutcome::Revoked(_) => RevokeOutcome::Revoked(()),
        RevokeOutcome::Unchanged(old) => RevokeOutcome::Unchanged(old),
    })
}

/// The revocation loop of [`revoke`], starting from `known` (the record as just read) when
/// given.
async fn revoke_from(
    store: &DynamoStore,
    r: &Revocation<'_>,
    mut known: Option<Option<TokenItem>>,
) -> Result<RevokeOutcome, StoreError> {
    for _ in 0..WRITE_ATTEMPTS {
        let read = match known.take() {
            Some(read) => read,
            None => reads::get(store, r.id).await?,
        };
        let Some(old) = read else {
            return Ok(RevokeOutcome::Unchanged(None));
        };
        let in_reach = old.tenant_id == r.tenant_id && r.owner.is_none_or(|o| o == old.user_id);
        if !in_reach || old.status == StoredStatus::Revoked {
            return Ok(RevokeOutcome::Unchanged(Some(old)));
        }
        match revoke_as(store, r, &old.user_id, old.status).await? {
            Ok(()) => return Ok(RevokeOutcome::Revoked(r.applied_to(&old))),
            // Its status changed since the read (swept, rotated, revoked): go again from
            // the record the failed condition returned, without another read.
            Err(current) => known = Some(current),
        }
    }
    Err(StoreError::Contended(format!("revocation of {}", r.id)))
}

/// Revokes `owner`'s token `r.id`, stored as `was` (active or expired), with one
/// transaction and no read: the record's revocation fields and status partitions, its
/// credential and its counters all follow from the tenant, the owner and the status,
/// which the transaction requires, and from nothing else. So a concurrent `PATCH` (name,
/// description, metadata) or last-use touch never makes a revocation fail or retry.
/// When the token is not that (missing, foreign, in another status), nothing is written
/// and the record as it is comes back (`Err`, `None` if there is none).
async fn revoke_as(
    store: &DynamoStore,
    r: &Revocation<'_>,
    owner: &str,
    was: StoredStatus,
) -> Result<Result<(), Option<TokenItem>>, StoreError> {
    let items = requests::revoke_items(&store.table, r, owner, was)?;
    let err = match store.transact(items).await {
        Ok(()) => return Ok(Ok(())),
        Err(e) => e,
    };
    match cancellation_reasons(&err).first() {
        Some(reason) if reason.code() == Some("ConditionalCheckFailed") => {
            Ok(Err(reason.item().cloned().and_then(readable)))
        }
        _ => Err(classify(err)),
    }
}

/// Revokes the credential of token `id` alone, if it belongs to `tenant_id` and `owner`;
/// `false` when there is no such credential.
pub(super) async fn revoke_credential(
    store: &DynamoStore,
    id: Uuid,
    tenant_id: &str,
    owner: &str,
) -> Result<bool, StoreError> {
    let out = requests::revoke_credential_update(&store.client, &store.table, id, tenant_id, owner)
        .send()
        .await;
    Ok(unless_condition_failed(out)?.is_some())
}

/// Several revocations in one transaction, each conditioned on its record being as read;
/// `false` when any changed since (nothing is written then).
pub(super) async fn revoke_batch(
    store: &DynamoStore,
    changes: &[(TokenItem, TokenItem)],
    purge_at: Timestamp,
) -> Result<bool, StoreError> {
    let items = requests::batch_revocation_items(&store.table, changes, purge_at)?;
    if items.len() > MAX_TRANSACTION_ITEMS {
        return Err(StoreError::Other(format!(
            "a batch of {} revocations needs {} transaction items",
            changes.len(),
            items.len()
        )));
    }
    match store.transact(items).await {
        Ok(()) => Ok(true),
        Err(e) if is_cancel(&e, "ConditionalCheckFailed") => Ok(false),
        Err(e) => Err(classify(e)),
    }
}
