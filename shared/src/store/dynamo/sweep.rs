//! The expiry sweep: one step over a `by_due` shard.

use crate::domain::model::{StoredStatus, TokenItem};
use crate::store::dynamo::{reads, writes, DynamoStore};
use crate::store::error::StoreError;
use crate::store::port::{KeyRange, PageRequest, SweepStep};
use crate::store::schema;
use crate::support::time::{self, Timestamp};

/// Moves up to `limit` stored-active tokens of `by_due` shard `shard` whose expiry is at or
/// before `now` to `expired` (or, at the end of a rotation's grace period, `revoked`),
/// reading after the `by_due` key `after`.
pub(super) async fn expire_due(
    store: &DynamoStore,
    shard: u32,
    now: Timestamp,
    limit: i32,
    after: Option<&str>,
) -> Result<SweepStep, StoreError> {
    let partition = schema::partition_value(schema::Partition::Due, "", "", &shard.to_string());
    // `<expires_at>#<id>` <= `<now>$` selects every expiry at or before now.
    let range = KeyRange {
        lower: None,
        upper: Some(format!("{}$", time::format(&now))),
    };
    let page = reads::page(
        store,
        &PageRequest {
            index: schema::BY_DUE,
            partition: &partition,
            range: &range,
            ascending: true,
            limit,
            start_after: after,
        },
    )
    .await?;
    let mut moved = 0;
    let next = page.last_key.filter(|_| page.more);
    for old in page.items {
        // The index is eventually consistent: re-read, and write only if still due.
        let Some(current) = reads::get(store, old.id).await? else {
            continue;
        };
        if current.status != StoredStatus::Active || current.expires_at.is_none_or(|e| e > now) {
            continue;
        }
        // A rotated token's expiry is the end of its grace period: it becomes revoked
        // (its revocation fields were set when it was rotated).
        let status = match current.rotated_to {
            Some(_) => StoredStatus::Revoked,
            None => StoredStatus::Expired,
        };
        let new = TokenItem {
            status,
            ..current.clone()
        };
        if writes::transition(store, &current, &new, None).await? {
            moved += 1;
        }
    }
    Ok(SweepStep { moved, next })
}
