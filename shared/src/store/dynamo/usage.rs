//! Usage counters and notices: what the authorizer writes for a token with a rate limit or
//! a quota, and what reads show of them (`quota_remaining`).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::store::dynamo::{Decode, DynamoStore};
use crate::store::error::{classify, unless_condition_failed, StoreError};
use crate::store::port::{UsageNotice, UseCount};
use crate::store::requests;
use crate::store::schema;
use crate::support::time::Timestamp;

/// Attempts of one count while DynamoDB throttles it.
const COUNT_ATTEMPTS: u32 = 3;

/// One use counted against `pk` unless it is at `limit`.
///
/// Sent without the SDK's retries: `ADD` is not idempotent, and a retry after a timeout or a
/// lost answer would count one request twice. Only a throttled attempt, which DynamoDB did
/// not apply, is sent again; any other failure is the caller's error (the authorizer's `500`).
pub(super) async fn count_use(
    store: &DynamoStore,
    pk: &str,
    limit: u64,
    purge_at: Timestamp,
) -> Result<UseCount, StoreError> {
    let mut attempt = 0;
    let out = loop {
        attempt += 1;
        let once = aws_sdk_dynamodb::config::Builder::default()
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled());
        let out = requests::count_use_update(&store.client, &store.table, pk, limit, purge_at)
            .customize()
            .config_override(once)
            .send()
            .await;
        match unless_condition_failed(out) {
            Err(StoreError::Throttled(_)) if attempt < COUNT_ATTEMPTS => {
                let jitter = u64::from(uuid::Uuid::now_v7().as_u128() as u8 % 10);
                tokio::time::sleep(std::time::Duration::from_millis((10 << attempt) + jitter))
                    .await;
            }
            other => break other?,
        }
    };
    let Some(out) = out else {
        return Ok(UseCount::Refused);
    };
    let n = out
        .attributes
        .as_ref()
        .and_then(|a| a.get("n"))
        .and_then(|n| n.as_n().ok())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| StoreError::Corrupt(format!("usage counter {pk}: n is not a count")))?;
    Ok(UseCount::Counted(n))
}

/// A usage counter's key and value.
struct Counter {
    pk: String,
    n: u64,
}

impl Decode for Counter {
    fn decode(item: HashMap<String, AttributeValue>) -> Result<Self, StoreError> {
        let text = |k: &str| match item.get(k) {
            Some(AttributeValue::S(v) | AttributeValue::N(v)) => Some(v.clone()),
            _ => None,
        };
        let pk = text(schema::PK).unwrap_or_default();
        let n = text("n").and_then(|n| n.parse().ok());
        n.map(|n| Counter { pk: pk.clone(), n })
            .ok_or_else(|| StoreError::Corrupt(format!("usage counter {pk}: n is not a count")))
    }
}

/// Up to 100 counters' values; an absent (or unreadable) counter is not in the map.
pub(super) async fn use_counts(
    store: &DynamoStore,
    pks: &[String],
) -> Result<HashMap<String, u64>, StoreError> {
    if pks.is_empty() {
        return Ok(HashMap::new());
    }
    let counters: Vec<Counter> = store.batch_read(pks.to_vec()).await?;
    Ok(counters.into_iter().map(|c| (c.pk, c.n)).collect())
}

/// Writes a notice once; `false` when it was there already.
pub(super) async fn notify(store: &DynamoStore, notice: &UsageNotice) -> Result<bool, StoreError> {
    match requests::notice_put(&store.client, &store.table, notice)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Ok(false)
        }
        Err(e) => Err(classify(e)),
    }
}
