//! The scheduled sweeper ([`TokenService::sweep_expired`]): stored-active tokens past their
//! expiry become `expired` (a rotated token past its grace period becomes `revoked`), so
//! the status partitions and counters agree with what verification already refuses.

use std::time::Instant;

use crate::service::token_service::TokenService;
use crate::store::schema;
use crate::store::{StoreError, TokenStore};
use crate::support::time;

impl<S: TokenStore> TokenService<S> {
    /// Moves every stored-active token past its expiry to `expired` (the scheduled sweeper).
    /// Each `by_due` shard is walked to its end from the last key read, so records that do
    /// not decode (logged and counted by the store) are stepped over; a shard that fails
    /// is logged and the others are still swept. `Err` names the failed shards after every
    /// shard was tried, so the run is reported failed and retried.
    pub async fn sweep_expired(&self) -> Result<usize, StoreError> {
        self.sweep_expired_until(None).await
    }

    /// [`Self::sweep_expired`], stopping at `stop_at` (the function's deadline less
    /// [`crate::config::Budget::margin`]): a step still running then is dropped (each token
    /// moves in one transaction, so none is half-moved) and the next run goes on from the
    /// start of each shard, where only the tokens still due are left.
    pub async fn sweep_expired_until(&self, stop_at: Option<Instant>) -> Result<usize, StoreError> {
        const BATCH: i32 = 100;
        let now = time::now();
        let mut moved = 0;
        let mut failed = Vec::new();
        'shards: for shard in 0..schema::DUE_SHARDS {
            let mut after: Option<String> = None;
            loop {
                let step = self.store.expire_due(shard, now, BATCH, after.as_deref());
                let step = match stop_at {
                    Some(at) => match tokio::time::timeout_at(at.into(), step).await {
                        Ok(step) => step,
                        Err(_) => {
                            tracing::warn!(
                                shard,
                                moved,
                                "sweep stopped at its deadline; the next run goes on"
                            );
                            break 'shards;
                        }
                    },
                    None => step.await,
                };
                match step {
                    Ok(step) => {
                        moved += step.moved;
                        match step.next {
                            Some(next) => after = Some(next),
                            None => break,
                        }
                    }
                    Err(e) => {
                        tracing::error!(shard, error = %e, "sweeping a shard failed; going on with the others");
                        failed.push(format!("shard {shard}: {e}"));
                        break;
                    }
                }
            }
        }
        if moved > 0 {
            tracing::info!(moved, "expired tokens moved to the expired status");
        }
        if failed.is_empty() {
            Ok(moved)
        } else {
            Err(StoreError::Unavailable(format!(
                "moved {moved}; failed: {}",
                failed.join("; ")
            )))
        }
    }
}
