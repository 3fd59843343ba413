//! Rate limits and quotas where tokens are verified ([`TokenService::admit`]), and the
//! `quota_remaining` that reads show ([`TokenService::quota_remaining`]).
//!
//! Each limit is one counter item per token and window or period (`USE#<id>#<label>`,
//! `schema::usage_pk`), raised by one conditional `UpdateItem` (`ADD n 1` if `n < limit`).
//! DynamoDB applies the updates of one item one after another, so however many authorizer
//! instances count at once, a window or period admits at most `limit` requests. The update is
//! sent without the SDK's retries (only a throttled one, never applied, is sent again): a
//! retry after a timeout could count one request twice. An update that failed otherwise is the
//! authorizer's error (`500`, never an admission), and may still have been applied: so a window
//! admits exactly `limit` requests less those answered `500` after their count was taken.
//! Counters expire by TTL (`purge_at`) after their window or period ends.
//!
//! | the token has | DynamoDB requests per verified request |
//! | --- | --- |
//! | no limit | none (the verification's one `GetItem`, as before) |
//! | a rate limit | 1 conditional `UpdateItem` |
//! | a quota | 1 conditional `UpdateItem` |
//! | both | 2: the rate first; a request it refuses is not counted against the quota |
//! | a quota reaching its threshold or its end | + 1 conditional `PutItem` (the notice), once per period and instance |

use std::collections::HashMap;

use chrono::Duration;
use uuid::Uuid;

use crate::domain::limits::MAX_LIFETIME;
use crate::domain::model::TokenItem;
use crate::domain::principal::Principal;
use crate::domain::usage::{Quota, Span, Standing, Usage, Verdict};
use crate::service::token_service::TokenService;
use crate::store::{schema, StoreError, TokenStore, UsageNotice, UseCount};
use crate::support::time::Timestamp;

/// How long a counter outlives its window or period (TTL deletes it after that).
const COUNTER_AFTERLIFE: Duration = Duration::hours(1);

/// Most notice keys an instance remembers having written (then it forgets them all: at
/// worst a conditional `PutItem` is sent again and finds the notice there).
const MAX_NOTICED: usize = 10_000;

/// What is left of each token's quota in its current period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuotaRemaining(HashMap<Uuid, u64>);

impl QuotaRemaining {
    /// `item`'s remaining quota; `None` when it has none.
    pub fn of(&self, item: &TokenItem) -> Option<u64> {
        let q = item.quota?;
        Some(self.0.get(&item.id).copied().unwrap_or(q.limit))
    }
}

impl<S: TokenStore> TokenService<S> {
    /// Counts a verified request of `p` against its token's rate limit and quota at `now`:
    /// `None` for a token without either (nothing is read or written), else the verdict and
    /// the standing of each limit. A store failure is an error, never an admission.
    pub async fn admit(&self, p: &Principal, now: Timestamp) -> Result<Option<Usage>, StoreError> {
        if p.rate_limit.is_none() && p.quota.is_none() {
            return Ok(None);
        }
        let id = Uuid::parse_str(&p.token_id)
            .map_err(|_| StoreError::Other("a principal without a token id".into()))?;
        let mut standings = Vec::with_capacity(2);
        if let Some(r) = p.rate_limit {
            let window = r.window(now);
            let reset = window.seconds_left(now);
            let counted = self.count(id, &window, r.limit, now).await?;
            standings.push(standing("rate", r.limit, &window, counted, reset));
            if counted == UseCount::Refused {
                return Ok(Some(Usage::new(Verdict::RateLimited, reset, &standings)));
            }
        }
        if let Some(q) = p.quota {
            let period = q.period_of(now);
            let reset = period.seconds_left(now);
            let counted = self.count(id, &period, q.limit, now).await?;
            standings.push(standing("quota", q.limit, &period, counted, reset));
            self.notice_if_due(p, id, q, &period, counted, now).await;
            if counted == UseCount::Refused {
                return Ok(Some(Usage::new(Verdict::QuotaExhausted, reset, &standings)));
            }
        }
        Ok(Some(Usage::new(Verdict::Admitted, None, &standings)))
    }

    /// One use counted in `span`'s counter of token `id`.
    async fn count(
        &self,
        id: Uuid,
        span: &Span,
        limit: u64,
        now: Timestamp,
    ) -> Result<UseCount, StoreError> {
        // A total quota's counter lives as long as any token can.
        let purge_at = span.ends.unwrap_or(now + MAX_LIFETIME + self.retention) + COUNTER_AFTERLIFE;
        self.store
            .count_use(&schema::usage_pk(id, &span.label), limit, purge_at)
            .await
    }

    /// Writes the threshold or exhaustion notice of this period once it is due, unless this
    /// instance wrote it already. A failure is logged, never the caller's: the request's
    /// answer does not wait on more than one attempt.
    async fn notice_if_due(
        &self,
        p: &Principal,
        id: Uuid,
        q: Quota,
        period: &Span,
        counted: UseCount,
        now: Timestamp,
    ) {
        let used = match counted {
            UseCount::Counted(n) => n,
            UseCount::Refused => q.limit,
        };
        let threshold = q.threshold_count(self.quota_warning_percent);
        for (kind, due) in [
            ("threshold", threshold.is_some_and(|t| used >= t)),
            ("exhausted", used >= q.limit),
        ] {
            if !due {
                continue;
            }
            let pk = schema::usage_notice_pk(id, &period.label, kind);
            {
                let mut noticed = self.noticed.lock().unwrap_or_else(|e| e.into_inner());
                if noticed.len() >= MAX_NOTICED {
                    noticed.clear();
                }
                if !noticed.insert(pk.clone()) {
                    continue;
                }
            }
            let notice = UsageNotice {
                pk: pk.clone(),
                kind,
                tenant_id: p.tenant_id.clone(),
                user_id: p.user_id.clone(),
                token_id: id,
                quota: q,
                used,
                period: period.label.clone(),
                period_ends: period.ends,
                at: now,
                purge_at: period.ends.unwrap_or(now + self.retention) + Duration::days(1),
            };
            let within = crate::config::Budget::AUTHORIZER.in_effect().attempt;
            match tokio::time::timeout(within, self.store.notify(&notice)).await {
                Ok(Ok(_)) => {}
                failed => {
                    let error = match failed {
                        Ok(Err(e)) => e.to_string(),
                        _ => "out of time".to_string(),
                    };
                    tracing::warn!(token_id = %id, kind, %error, "writing a quota notice failed");
                    self.noticed
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&pk);
                }
            }
        }
    }

    /// What is left of the quota of each of `items` that has one: one `BatchGetItem` of their
    /// current periods' counters per 100 such tokens, none when no item has a quota.
    pub async fn quota_remaining(
        &self,
        items: &[TokenItem],
        now: Timestamp,
    ) -> Result<QuotaRemaining, StoreError> {
        let with_quota: Vec<(Uuid, Quota, String)> = items
            .iter()
            .filter_map(|t| {
                let q = t.quota?;
                Some((t.id, q, schema::usage_pk(t.id, &q.period_of(now).label)))
            })
            .collect();
        let mut remaining = HashMap::with_capacity(with_quota.len());
        for chunk in with_quota.chunks(100) {
            let pks: Vec<String> = chunk.iter().map(|(_, _, pk)| pk.clone()).collect();
            let used = self.store.use_counts(&pks).await?;
            for (id, q, pk) in chunk {
                let n = used.get(pk).copied().unwrap_or(0);
                remaining.insert(*id, q.limit.saturating_sub(n));
            }
        }
        Ok(QuotaRemaining(remaining))
    }
}

/// A limit's standing after a use was counted (or refused) in `span`.
fn standing(
    name: &'static str,
    limit: u64,
    span: &Span,
    counted: UseCount,
    reset: Option<u64>,
) -> Standing {
    Standing {
        name,
        limit,
        window: span.length,
        remaining: match counted {
            UseCount::Counted(n) => limit.saturating_sub(n),
            UseCount::Refused => 0,
        },
        reset,
    }
}
