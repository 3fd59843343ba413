//! Publishing a stream batch: its events go out in `PutEvents` calls of at most
//! [`MAX_ENTRIES`], in stream order, and every failed entry or call is answered as a batch
//! item failure of the stream record it came from.
//!
//! Lambda retries a stream batch from the lowest sequence number reported, so an event
//! exists once its write committed, and may exist more than once: a retry republishes the
//! records after the failed one, with the same `event_id`s. A record that can never be read
//! is logged at error level and skipped: reporting it would only stop the shard on it.

use std::future::Future;

use serde::Serialize;
use serde_json::Value;

use super::stream::read_record;
use super::{events_of, LifecycleEvent};

/// Most entries one `PutEvents` call takes.
pub const MAX_ENTRIES: usize = 10;

/// Somewhere that takes lifecycle events, `PutEvents`-style.
pub trait EventSink: Send + Sync {
    /// Puts 1..=[`MAX_ENTRIES`] events in one request. Answers one outcome per event, in
    /// order (`Err` for an entry the sink refused), or fails the whole request.
    fn put(
        &self,
        events: &[LifecycleEvent],
    ) -> impl Future<Output = Result<Vec<Result<(), EntryError>>, SinkError>> + Send;
}

/// An entry the sink refused (`ErrorCode` and `ErrorMessage` of a `PutEvents` result).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct EntryError {
    /// The error code, e.g. `ThrottlingException`.
    pub code: String,
    /// Its message.
    pub message: String,
}

/// A whole request failed (after the client's own retries).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("PutEvents failed: {0}")]
pub struct SinkError(pub String);

/// The invocation's input is not a DynamoDB Streams event (no `Records` array).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a DynamoDB Streams event: no Records array")]
pub struct NotAStreamEvent;

/// A stream handler's answer (`ReportBatchItemFailures`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BatchResponse {
    /// The records to retry, in stream order.
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<ItemFailure>,
}

/// One record to retry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemFailure {
    /// The record's `SequenceNumber`.
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// Publishes the lifecycle events of a Lambda DynamoDB Streams event to `sink`.
pub async fn publish<S: EventSink>(
    sink: &S,
    event: &Value,
) -> Result<BatchResponse, NotAStreamEvent> {
    publish_until(sink, event, None).await
}

/// [`publish`], stopping at `stop_at` (the invocation's deadline less
/// [`crate::config::Budget::margin`]): the records not yet published, and those of a
/// `PutEvents` still waiting then, are reported failed, so Lambda retries from the first of
/// them and keeps the progress made. An event that went out anyway is sent again with the
/// same `event_id`, which consumers deduplicate on.
pub async fn publish_until<S: EventSink>(
    sink: &S,
    event: &Value,
    stop_at: Option<std::time::Instant>,
) -> Result<BatchResponse, NotAStreamEvent> {
    let records = event
        .get("Records")
        .and_then(Value::as_array)
        .ok_or(NotAStreamEvent)?;
    // Each event keeps the index of its record (`sources`), and each record its sequence
    // number (none when it cannot be read), so a failed entry fails its record.
    let mut sequence_numbers = Vec::with_capacity(records.len());
    let mut events = Vec::new();
    let mut sources = Vec::new();
    for (i, raw) in records.iter().enumerate() {
        match read_record(raw) {
            Ok(record) => {
                for event in events_of(&record) {
                    events.push(event);
                    sources.push(i);
                }
                sequence_numbers.push(Some(record.sequence_number));
            }
            Err(why) => {
                // Acknowledged, not retried: a record that can never be read would otherwise
                // hold up every change behind it in its shard.
                let key = format!(
                    "stream record {} (event {})",
                    raw["dynamodb"]["SequenceNumber"].as_str().unwrap_or("?"),
                    raw["eventID"].as_str().unwrap_or("?")
                );
                crate::support::metrics::unreadable_record(&key, &why.to_string());
                sequence_numbers.push(None);
            }
        }
    }
    let failed = put_all(sink, &events, &sources, records.len(), stop_at).await;
    let batch_item_failures = failed
        .into_iter()
        .zip(sequence_numbers)
        .filter_map(|(failed, sequence)| sequence.filter(|_| failed))
        .map(|item_identifier| ItemFailure { item_identifier })
        .collect();
    Ok(BatchResponse {
        batch_item_failures,
    })
}

/// Puts `events` in chunks of [`MAX_ENTRIES`], none after `stop_at`; which of the
/// `record_count` records (`sources[i]` is event `i`'s) had an event that was not put.
async fn put_all<S: EventSink>(
    sink: &S,
    events: &[LifecycleEvent],
    sources: &[usize],
    record_count: usize,
    stop_at: Option<std::time::Instant>,
) -> Vec<bool> {
    let mut failed = vec![false; record_count];
    for (chunk, from) in events.chunks(MAX_ENTRIES).zip(sources.chunks(MAX_ENTRIES)) {
        let put = match stop_at {
            Some(at) => tokio::time::timeout_at(at.into(), sink.put(chunk))
                .await
                .unwrap_or_else(|_| Err(SinkError("no answer before the deadline".into()))),
            None => sink.put(chunk).await,
        };
        match put {
            Ok(outcomes) if outcomes.len() == chunk.len() => {
                for ((outcome, event), &i) in outcomes.iter().zip(chunk).zip(from) {
                    if let Err(e) = outcome {
                        tracing::warn!(
                            event_id = %event.detail.event_id,
                            detail_type = event.kind.detail_type(),
                            error = %e,
                            "event refused; its stream record will be retried"
                        );
                        failed[i] = true;
                    }
                }
            }
            other => {
                let error = match other {
                    Err(e) => e.to_string(),
                    Ok(outcomes) => {
                        format!("{} outcomes for {} entries", outcomes.len(), chunk.len())
                    }
                };
                tracing::warn!(%error, entries = chunk.len(), "PutEvents failed; its stream records will be retried");
                for &i in from {
                    failed[i] = true;
                }
            }
        }
    }
    failed
}
