//! Revoking every active token of a user ([`TokenService::revoke_user`]: an identity provider
//! offboarding them).
//!
//! - The owner's active partition (`by_owner_status`) is read page by page; revoked tokens
//!   leave it, so a call that stops early is finished by calling again, and nothing is done
//!   twice or skipped.
//! - Each page is revoked in lanes, one per counter shard ([`REVOCATION_LANES`] at a time), so
//!   lanes never contend on a counter; a lane writes up to `store::MAX_BATCH_REVOCATIONS`
//!   tokens per transaction, each conditioned on its record being as read.
//! - A batch that changed meanwhile, or that DynamoDB kept throttling ([`BATCH_ATTEMPTS`]), is
//!   revoked one token at a time.
//! - A record that does not decode never keeps its token working: it is revoked when its
//!   tenant, owner and status are intact, else its credential alone is.

use std::collections::BTreeMap;
use std::time::Instant;

use futures_util::StreamExt;
use uuid::Uuid;

use crate::domain::model::{StoredStatus, TokenItem};
use crate::service::token_service::TokenService;
use crate::store::schema;
use crate::store::{
    KeyRange, Page, PageRequest, Revocation, RevokeOutcome, StoreError, TokenStore,
};
use crate::support::time::Timestamp;

/// Lanes (counter shards) revoked at once when revoking all of a user's tokens.
const REVOCATION_LANES: usize = 4;

/// Attempts of one batched revocation that DynamoDB throttles or times out, before its
/// tokens are revoked one by one.
const BATCH_ATTEMPTS: u32 = 3;

/// Time kept in reserve before the deadline when revoking a user's tokens: another page is
/// started only with more than this left.
fn user_revocation_margin() -> std::time::Duration {
    crate::config::Budget::EVENTS.in_effect().margin()
}

/// How long before the deadline a page still running is dropped.
const PAGE_CUTOFF: std::time::Duration = std::time::Duration::from_secs(1);

/// The result of revoking a user's tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BulkRevocation {
    /// Tokens this call revoked.
    pub revoked: usize,
    /// Tokens found active but revoked (or changed) by someone else meanwhile.
    pub unchanged: usize,
    /// Records in the user's active partition that did not decode: logged, counted
    /// (`metrics`) and stepped over.
    pub unreadable: usize,
    /// DynamoDB requests sent.
    pub requests: usize,
    /// Whether every active token is now revoked; if not, call again.
    pub complete: bool,
}

impl BulkRevocation {
    fn add(&mut self, other: Self) {
        self.revoked += other.revoked;
        self.unchanged += other.unchanged;
        self.unreadable += other.unreadable;
        self.requests += other.requests;
    }
}

impl<S: TokenStore> TokenService<S> {
    /// Revokes every stored-active token of a user (an identity provider offboarding them).
    /// Reads the owner's active partition page by page; revokes each page in parallel lanes
    /// (4 at a time), one per counter shard (lanes never contend on a counter), up to 25
    /// tokens per transaction (`store::MAX_BATCH_REVOCATIONS`). Stops between pages once
    /// `deadline` is near, after at least one page: the result then says `complete: false`,
    /// and calling again finishes the job (revoked tokens have left the partition, so
    /// nothing is done twice and nothing is skipped).
    pub async fn revoke_user(
        &self,
        tenant_id: &str,
        user_id: &str,
        actor: &str,
        via: Option<&str>,
        reason: Option<&str>,
        deadline: Option<Instant>,
    ) -> Result<BulkRevocation, StoreError> {
        let partition = schema::partition_value(
            schema::Partition::OwnerStatus,
            tenant_id,
            user_id,
            StoredStatus::Active.as_str(),
        );
        let range = KeyRange::default();
        let mut after: Option<String> = None;
        let mut done = BulkRevocation::default();
        loop {
            let page = self
                .store
                .page(&PageRequest {
                    index: schema::BY_OWNER_STATUS,
                    partition: &partition,
                    range: &range,
                    ascending: true,
                    limit: self.user_revocation_page,
                    start_after: after.as_deref(),
                })
                .await?;
            done.requests += 1;
            let revocation = Revocation {
                via,
                ..self.revocation(tenant_id, Some(user_id), Uuid::nil(), actor, reason)
            };
            // A page still running a second before the deadline is dropped, so the handler
            // can answer before Lambda stops it. A deadline already that close lets the page
            // run (its calls are bounded by the SDK's budget): every call makes progress.
            let stop_at = deadline
                .and_then(|d| d.checked_sub(PAGE_CUTOFF))
                .filter(|at| *at > Instant::now());
            let revoked = self.revoke_page(&page, &revocation, &mut done);
            let finished = match stop_at {
                Some(at) => tokio::time::timeout_at(at.into(), revoked).await.ok(),
                None => Some(revoked.await),
            };
            match finished {
                Some(result) => result?,
                // Each transaction is atomic, so a page dropped mid-way leaves its tokens
                // revoked or not, never half; the next call re-reads the active partition.
                None => {
                    tracing::warn!(tenant = %tenant_id, user = %user_id, "revoking a page stopped at the deadline");
                    break;
                }
            }
            after = match (page.more, page.last_key) {
                (true, Some(last)) => Some(last),
                _ => {
                    done.complete = true;
                    break;
                }
            };
            if deadline.is_some_and(|d| {
                d.saturating_duration_since(Instant::now()) < user_revocation_margin()
            }) {
                break;
            }
        }
        tracing::info!(tenant = %tenant_id, user = %user_id, by = %actor, via = via.unwrap_or("-"), revoked = done.revoked, complete = done.complete, "user's tokens revoked");
        Ok(done)
    }

    /// Revokes one page of the owner's active partition: its active tokens lane by lane,
    /// then its records that did not decode.
    async fn revoke_page(
        &self,
        page: &Page,
        revocation: &Revocation<'_>,
        done: &mut BulkRevocation,
    ) -> Result<(), StoreError> {
        let results: Vec<_> = futures_util::stream::iter(lanes(&page.items).into_values())
            .map(|lane| self.revoke_lane(lane, revocation))
            .buffer_unordered(REVOCATION_LANES)
            .collect()
            .await;
        for lane in results {
            done.add(lane?);
        }
        // A record that does not decode is still revoked when its tenant, owner and
        // status are intact (the write-only revocation conditions on nothing else); when
        // they are not, its credential alone is revoked. So a damaged record never keeps
        // its token working past an offboarding.
        for id in page
            .unreadable
            .iter()
            .filter_map(|pk| schema::id_from_token_pk(pk))
        {
            done.unreadable += 1;
            if let Err(e) = self.revoke_damaged(id, revocation, done).await {
                tracing::warn!(token_id = %id, error = %e, "revoking a damaged record failed");
            }
        }
        Ok(())
    }

    /// Revokes token `id`, whose record in the owner's active partition does not decode:
    /// its record when its tenant, owner and status allow, else its credential alone.
    async fn revoke_damaged(
        &self,
        id: Uuid,
        revocation: &Revocation<'_>,
        done: &mut BulkRevocation,
    ) -> Result<(), StoreError> {
        let single = Revocation {
            id,
            ..revocation.clone()
        };
        done.requests += 1;
        if let RevokeOutcome::Revoked(_) = self.store.revoke_write_only(&single).await? {
            done.revoked += 1;
            return Ok(());
        }
        done.requests += 1;
        let owner = revocation.owner.unwrap_or_default();
        if self
            .store
            .revoke_credential(id, revocation.tenant_id, owner)
            .await?
        {
            done.revoked += 1;
        } else {
            done.unchanged += 1;
        }
        Ok(())
    }

    /// Revokes tokens sharing one counter shard, in batches; a batch whose records changed
    /// since they were read, or that DynamoDB could not take (throttled, timed out), falls
    /// back to revoking its tokens one by one.
    async fn revoke_lane(
        &self,
        lane: Vec<&TokenItem>,
        revocation: &Revocation<'_>,
    ) -> Result<BulkRevocation, StoreError> {
        let mut done = BulkRevocation::default();
        for chunk in lane.chunks(crate::store::MAX_BATCH_REVOCATIONS) {
            let changes: Vec<(TokenItem, TokenItem)> = chunk
                .iter()
                .map(|old| ((*old).clone(), revocation.applied_to(old)))
                .collect();
            if self
                .try_batch(&changes, revocation.purge_at, &mut done)
                .await?
            {
                done.revoked += changes.len();
                continue;
            }
            for (old, _) in &changes {
                // One transaction each, no read (two when the token expired meanwhile).
                done.requests += 1;
                let single = Revocation {
                    id: old.id,
                    ..revocation.clone()
                };
                match self.store.revoke_write_only(&single).await? {
                    RevokeOutcome::Revoked(_) => done.revoked += 1,
                    RevokeOutcome::Unchanged(_) => done.unchanged += 1,
                }
            }
        }
        Ok(done)
    }

    /// Writes `changes` in one transaction, tried again after a backoff while DynamoDB
    /// throttles or times out ([`BATCH_ATTEMPTS`] in all); whether it was written.
    async fn try_batch(
        &self,
        changes: &[(TokenItem, TokenItem)],
        purge_at: Timestamp,
        done: &mut BulkRevocation,
    ) -> Result<bool, StoreError> {
        for attempt in 0..BATCH_ATTEMPTS {
            done.requests += 1;
            match self.store.revoke_batch(changes, purge_at).await {
                Ok(written) => return Ok(written),
                Err(e @ (StoreError::Throttled(_) | StoreError::Unavailable(_))) => {
                    tracing::warn!(error = %e, attempt, tokens = changes.len(), "batched revocation failed");
                    let backoff = std::time::Duration::from_millis(100 << attempt);
                    tokio::time::sleep(backoff).await;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(false)
    }
}

/// A page's active tokens by counter shard: one lane each.
fn lanes(items: &[TokenItem]) -> BTreeMap<u32, Vec<&TokenItem>> {
    let mut lanes: BTreeMap<u32, Vec<&TokenItem>> = BTreeMap::new();
    for t in items.iter().filter(|t| t.status == StoredStatus::Active) {
        lanes
            .entry(schema::counter_shard(t.id))
            .or_default()
            .push(t);
    }
    lanes
}

/// The deadline logic of [`TokenService::revoke_user`], over a store whose batches take as
/// long as a test says, on tokio's paused clock: the margin kept before the deadline, the
/// page dropped at [`PAGE_CUTOFF`], and a deadline far enough to finish in one call.
#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;
    use crate::events::revocation::{self, Done};
    use crate::store::{Amendment, Counts, Credential, Once, RotateOutcome, Rotation, SweepStep};

    /// A user's active tokens in memory: pages of them by id, revoked in batches that each
    /// take `latency` (tokio's clock).
    #[derive(Clone)]
    struct Slow {
        active: Arc<Mutex<Vec<TokenItem>>>,
        latency: Duration,
        pages: Arc<AtomicUsize>,
    }

    impl Slow {
        fn new(n: usize, latency: Duration) -> Self {
            let mut active: Vec<TokenItem> = (0..n).map(|_| token()).collect();
            active.sort_by_key(|t| t.id.to_string());
            Self {
                active: Arc::new(Mutex::new(active)),
                latency,
                pages: Default::default(),
            }
        }

        fn active(&self) -> usize {
            self.active.lock().unwrap().len()
        }

        fn pages(&self) -> usize {
            self.pages.load(Ordering::SeqCst)
        }
    }

    /// An active token of frank's that never expires.
    fn token() -> TokenItem {
        TokenItem {
            user_id: "frank".into(),
            expires_at: None,
            ..crate::domain::model::tests::item()
        }
    }

    impl TokenStore for Slow {
        async fn page(&self, q: &PageRequest<'_>) -> Result<Page, StoreError> {
            self.pages.fetch_add(1, Ordering::SeqCst);
            let active = self.active.lock().unwrap();
            let after: Vec<&TokenItem> = active
                .iter()
                .filter(|t| q.start_after.is_none_or(|a| t.id.to_string().as_str() > a))
                .collect();
            let items: Vec<TokenItem> = after
                .iter()
                .take(q.limit as usize)
                .map(|t| (*t).clone())
                .collect();
            Ok(Page {
                more: after.len() > items.len(),
                last_key: items.last().map(|t| t.id.to_string()),
                items,
                ..Page::default()
            })
        }
        async fn revoke_batch(
            &self,
            changes: &[(TokenItem, TokenItem)],
            _: Timestamp,
        ) -> Result<bool, StoreError> {
            tokio::time::sleep(self.latency).await;
            let mut active = self.active.lock().unwrap();
            active.retain(|t| !changes.iter().any(|(old, _)| old.id == t.id));
            Ok(true)
        }
        async fn insert(
            &self,
            _: &TokenItem,
            _: &str,
            _: Option<Timestamp>,
            _: Option<&Once>,
        ) -> Result<Option<Once>, StoreError> {
            unreachable!("revoke_user creates nothing")
        }
        async fn rotate(&self, _: &Rotation<'_>) -> Result<RotateOutcome, StoreError> {
            unreachable!("revoke_user rotates nothing")
        }
        async fn held(&self, _: &str) -> Result<Option<Once>, StoreError> {
            unreachable!("revoke_user has no idempotency key")
        }
        async fn amend(&self, _: &Amendment<'_>) -> Result<Option<TokenItem>, StoreError> {
            unreachable!("revoke_user amends nothing")
        }
        async fn get(&self, _: Uuid) -> Result<Option<TokenItem>, StoreError> {
            unreachable!("revoke_user reads pages only")
        }
        async fn credential(&self, _: Uuid) -> Result<Option<Credential>, StoreError> {
            unreachable!("revoke_user verifies nothing")
        }
        async fn revoke_credential(&self, _: Uuid, _: &str, _: &str) -> Result<bool, StoreError> {
            unreachable!("every record decodes")
        }
        async fn revoke(&self, _: &Revocation<'_>) -> Result<RevokeOutcome, StoreError> {
            unreachable!("every batch is written")
        }
        async fn counts(&self, _: &str, _: Option<&str>) -> Result<Counts, StoreError> {
            unreachable!("revoke_user counts nothing")
        }
        async fn batch_get(&self, _: &[Uuid]) -> Result<Vec<TokenItem>, StoreError> {
            unreachable!("revoke_user reads pages only")
        }
        async fn count_use(
            &self,
            _: &str,
            _: u64,
            _: Timestamp,
        ) -> Result<crate::store::UseCount, StoreError> {
            unreachable!("revoke_user counts no use")
        }
        async fn use_counts(
            &self,
            _: &[String],
        ) -> Result<std::collections::HashMap<String, u64>, StoreError> {
            unreachable!("revoke_user reads no usage")
        }
        async fn notify(&self, _: &crate::store::UsageNotice) -> Result<bool, StoreError> {
            unreachable!("revoke_user writes no notice")
        }
        async fn touch(
            &self,
            _: Uuid,
            _: Timestamp,
            _: Option<String>,
            _: chrono::Duration,
        ) -> Result<bool, StoreError> {
            unreachable!("revoke_user records no use")
        }
        async fn expire_due(
            &self,
            _: u32,
            _: Timestamp,
            _: i32,
            _: Option<&str>,
        ) -> Result<SweepStep, StoreError> {
            unreachable!("revoke_user sweeps nothing")
        }
    }

    /// Tokens a page in these tests.
    const PAGE: i32 = 5;

    fn service(store: &Slow) -> TokenService<Slow> {
        const KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        let config = crate::Config::from_lookup(|k| match k {
            "TABLE_NAME" => Some("t".into()),
            "CURSOR_KEYS" | "TOKEN_HASH_KEY" => Some(KEY.into()),
            _ => None,
        })
        .unwrap();
        TokenService::new(store.clone(), &config).with_user_revocation_page(PAGE)
    }

    async fn revoke_frank(store: &Slow, deadline: Instant) -> BulkRevocation {
        service(store)
            .revoke_user("acme", "frank", "idp", None, None, Some(deadline))
            .await
            .unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn with_more_than_the_margin_left_after_each_page_every_page_is_revoked_in_one_call() {
        let store = Slow::new(23, Duration::ZERO);
        let deadline = Instant::now() + user_revocation_margin() + Duration::from_secs(30);
        let done = revoke_frank(&store, deadline).await;
        assert!(done.complete);
        assert_eq!(done.revoked, 23);
        assert_eq!(store.pages(), 5, "pages of 5, 5, 5, 5 and 3");
        assert_eq!(store.active(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn with_the_deadline_within_the_margin_after_the_first_page_the_call_stops_incomplete() {
        let store = Slow::new(23, Duration::ZERO);
        let deadline = Instant::now() + user_revocation_margin() - Duration::from_millis(1);
        let done = revoke_frank(&store, deadline).await;
        assert!(!done.complete);
        assert_eq!(done.revoked, PAGE as usize, "the first page only");
        assert_eq!(store.pages(), 1);
        assert_eq!(store.active(), 23 - PAGE as usize);

        // Through the revocation handler's one path: incomplete, to be continued.
        let revoke =
            revocation::parse(&serde_json::json!({"tenant_id": "acme", "user_id": "frank"}))
                .unwrap();
        let done = revocation::apply(&service(&store), &revoke, "idp", None, Some(deadline))
            .await
            .unwrap();
        assert_eq!(done, Done::Incomplete(PAGE as usize));
        assert_eq!(store.active(), 23 - 2 * PAGE as usize);
    }

    #[tokio::test(start_paused = true)]
    async fn a_page_still_running_a_second_before_the_deadline_is_dropped() {
        // Each batch takes an hour; the deadline is 11 s away.
        let store = Slow::new(23, Duration::from_secs(3600));
        let deadline = Instant::now() + PAGE_CUTOFF + Duration::from_secs(10);
        let done = revoke_frank(&store, deadline).await;
        let left = tokio::time::Instant::from_std(deadline) - tokio::time::Instant::now();
        assert!(!done.complete);
        assert_eq!(done.revoked, 0, "no batch finished");
        assert_eq!(store.active(), 23);
        assert!(
            left > Duration::from_millis(900) && left <= PAGE_CUTOFF,
            "dropped {left:?} before the deadline"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_closer_than_the_cutoff_still_lets_one_page_run_to_its_end() {
        // Each batch takes a minute; the deadline is half a second away.
        let store = Slow::new(23, Duration::from_secs(60));
        let deadline = Instant::now() + PAGE_CUTOFF / 2;
        let done = revoke_frank(&store, deadline).await;
        assert!(!done.complete);
        assert_eq!(done.revoked, PAGE as usize, "every call makes progress");
        assert_eq!(store.pages(), 1);
    }
}
