//! A store with faults DynamoDB Local cannot be made to produce on cue.

/// Faults DynamoDB Local cannot be made to produce on cue, injected in front of the real
/// store: a record changed between the page read and its batch, a throttled batch, or a
/// sweep shard that keeps failing.
#[derive(Clone)]
pub(crate) struct Faulty {
    inner: api_tokens::DynamoStore,
    fault: Fault,
    batches: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Faulty {
    /// The real store `inner`, with `fault`.
    pub(crate) fn new(inner: api_tokens::DynamoStore, fault: Fault) -> Self {
        Self {
            inner,
            fault,
            batches: Default::default(),
        }
    }

    /// How many batches of revocations were attempted.
    pub(crate) fn batches(&self) -> usize {
        self.batches.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[derive(Clone, Copy)]
pub(crate) enum Fault {
    /// Before the first batch, the first token of it is renamed (so its `updated_at` moves).
    ChangeOneFirst,
    /// The first `n` batches are throttled.
    Throttle(usize),
    /// Every sweep step of this `by_due` shard fails (as an unreachable DynamoDB would).
    FailSweepShard(u32),
}

mod faulty_store {
    use super::{Fault, Faulty};
    use api_tokens::model::TokenItem;
    use api_tokens::store::*;
    use api_tokens::time::Timestamp;
    use std::sync::atomic::Ordering;
    use uuid::Uuid;

    impl TokenStore for Faulty {
        async fn revoke_batch(
            &self,
            changes: &[(TokenItem, TokenItem)],
            purge_at: Timestamp,
        ) -> Result<bool, StoreError> {
            let n = self.batches.fetch_add(1, Ordering::SeqCst);
            match self.fault {
                Fault::ChangeOneFirst if n == 0 => {
                    let patch = Patch {
                        name: Some("renamed meanwhile".into()),
                        ..Patch::default()
                    };
                    let old = &changes[0].0;
                    self.inner
                        .amend(&Amendment {
                            id: old.id,
                            tenant_id: &old.tenant_id,
                            owner: None,
                            patch: &patch,
                            actor: "someone",
                            at: api_tokens::time::now(),
                            seen: None,
                        })
                        .await?;
                }
                Fault::Throttle(k) if n < k => {
                    return Err(StoreError::Throttled("injected".into()));
                }
                _ => {}
            }
            self.inner.revoke_batch(changes, purge_at).await
        }
        async fn insert(
            &self,
            item: &TokenItem,
            hash: &str,
            purge_at: Option<Timestamp>,
            once: Option<&Once>,
        ) -> Result<Option<Once>, StoreError> {
            self.inner.insert(item, hash, purge_at, once).await
        }
        async fn rotate(&self, r: &Rotation<'_>) -> Result<RotateOutcome, StoreError> {
            self.inner.rotate(r).await
        }
        async fn held(&self, pk: &str) -> Result<Option<Once>, StoreError> {
            self.inner.held(pk).await
        }
        async fn amend(&self, a: &Amendment<'_>) -> Result<Option<TokenItem>, StoreError> {
            self.inner.amend(a).await
        }
        async fn get(&self, id: Uuid) -> Result<Option<TokenItem>, StoreError> {
            self.inner.get(id).await
        }
        async fn credential(&self, id: Uuid) -> Result<Option<Credential>, StoreError> {
            self.inner.credential(id).await
        }
        async fn revoke_credential(
            &self,
            id: Uuid,
            tenant_id: &str,
            owner: &str,
        ) -> Result<bool, StoreError> {
            self.inner.revoke_credential(id, tenant_id, owner).await
        }
        async fn revoke(&self, r: &Revocation<'_>) -> Result<RevokeOutcome, StoreError> {
            self.inner.revoke(r).await
        }
        async fn revoke_write_only(
            &self,
            r: &Revocation<'_>,
        ) -> Result<RevokeOutcome<()>, StoreError> {
            self.inner.revoke_write_only(r).await
        }
        async fn page(&self, q: &PageRequest<'_>) -> Result<Page, StoreError> {
            self.inner.page(q).await
        }
        async fn counts(&self, tenant: &str, user: Option<&str>) -> Result<Counts, StoreError> {
            self.inner.counts(tenant, user).await
        }
        async fn batch_get(&self, ids: &[Uuid]) -> Result<Vec<TokenItem>, StoreError> {
            self.inner.batch_get(ids).await
        }
        async fn count_use(
            &self,
            pk: &str,
            limit: u64,
            purge_at: Timestamp,
        ) -> Result<api_tokens::store::UseCount, StoreError> {
            self.inner.count_use(pk, limit, purge_at).await
        }
        async fn use_counts(
            &self,
            pks: &[String],
        ) -> Result<std::collections::HashMap<String, u64>, StoreError> {
            self.inner.use_counts(pks).await
        }
        async fn notify(&self, n: &api_tokens::store::UsageNotice) -> Result<bool, StoreError> {
            self.inner.notify(n).await
        }
        async fn touch(
            &self,
            id: Uuid,
            at: Timestamp,
            ip: Option<String>,
            interval: chrono::Duration,
        ) -> Result<bool, StoreError> {
            self.inner.touch(id, at, ip, interval).await
        }
        async fn expire_due(
            &self,
            shard: u32,
            now: Timestamp,
            limit: i32,
            after: Option<&str>,
        ) -> Result<api_tokens::store::SweepStep, StoreError> {
            if matches!(self.fault, Fault::FailSweepShard(s) if s == shard) {
                return Err(StoreError::Unavailable("injected".into()));
            }
            self.inner.expire_due(shard, now, limit, after).await
        }
    }
}
