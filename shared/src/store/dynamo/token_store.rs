//! [`TokenStore`] for [`DynamoStore`]: which module does each operation.

use uuid::Uuid;

use crate::domain::model::TokenItem;
use crate::store::dynamo::{reads, revoke, sweep, usage, writes, DynamoStore};
use crate::store::error::StoreError;
use crate::store::port::{
    Amendment, Counts, Credential, Once, Page, PageRequest, Revocation, RevokeOutcome,
    RotateOutcome, Rotation, SweepStep, TokenStore, UsageNotice, UseCount,
};
use crate::support::time::Timestamp;

impl TokenStore for DynamoStore {
    async fn insert(
        &self,
        item: &TokenItem,
        secret_hash: &str,
        purge_at: Option<Timestamp>,
        once: Option<&Once>,
    ) -> Result<Option<Once>, StoreError> {
        writes::insert(self, item, secret_hash, purge_at, once).await
    }

    async fn rotate(&self, r: &Rotation<'_>) -> Result<RotateOutcome, StoreError> {
        writes::rotate(self, r).await
    }

    async fn revoke_batch(
        &self,
        changes: &[(TokenItem, TokenItem)],
        purge_at: Timestamp,
    ) -> Result<bool, StoreError> {
        revoke::revoke_batch(self, changes, purge_at).await
    }

    async fn held(&self, pk: &str) -> Result<Option<Once>, StoreError> {
        reads::held(self, pk).await
    }

    async fn amend(&self, a: &Amendment<'_>) -> Result<Option<TokenItem>, StoreError> {
        writes::amend(self, a).await
    }

    async fn get(&self, id: Uuid) -> Result<Option<TokenItem>, StoreError> {
        reads::get(self, id).await
    }

    async fn credential(&self, id: Uuid) -> Result<Option<Credential>, StoreError> {
        reads::credential(self, id).await
    }

    async fn revoke_credential(
        &self,
        id: Uuid,
        tenant_id: &str,
        owner: &str,
    ) -> Result<bool, StoreError> {
        revoke::revoke_credential(self, id, tenant_id, owner).await
    }

    async fn revoke(&self, r: &Revocation<'_>) -> Result<RevokeOutcome, StoreError> {
        revoke::revoke(self, r).await
    }

    async fn revoke_write_only(&self, r: &Revocation<'_>) -> Result<RevokeOutcome<()>, StoreError> {
        revoke::revoke_write_only(self, r).await
    }

    async fn page(&self, q: &PageRequest<'_>) -> Result<Page, StoreError> {
        reads::page(self, q).await
    }

    async fn counts(&self, tenant_id: &str, user_id: Option<&str>) -> Result<Counts, StoreError> {
        reads::counts(self, tenant_id, user_id).await
    }

    async fn batch_get(&self, ids: &[Uuid]) -> Result<Vec<TokenItem>, StoreError> {
        reads::batch_get(self, ids).await
    }

    async fn count_use(
        &self,
        pk: &str,
        limit: u64,
        purge_at: Timestamp,
    ) -> Result<UseCount, StoreError> {
        usage::count_use(self, pk, limit, purge_at).await
    }

    async fn use_counts(
        &self,
        pks: &[String],
    ) -> Result<std::collections::HashMap<String, u64>, StoreError> {
        usage::use_counts(self, pks).await
    }

    async fn notify(&self, notice: &UsageNotice) -> Result<bool, StoreError> {
        usage::notify(self, notice).await
    }

    async fn touch(
        &self,
        id: Uuid,
        at: Timestamp,
        ip: Option<String>,
        interval: chrono::Duration,
    ) -> Result<bool, StoreError> {
        writes::touch(self, id, at, ip, interval).await
    }

    async fn expire_due(
        &self,
        shard: u32,
        now: Timestamp,
        limit: i32,
        after: Option<&str>,
    ) -> Result<SweepStep, StoreError> {
        sweep::expire_due(self, shard, now, limit, after).await
    }
}
