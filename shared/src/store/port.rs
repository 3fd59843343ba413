//! The port: what the service asks of storage ([`TokenStore`]) and the types it speaks.
//! Nothing here knows DynamoDB's requests; `dynamo` implements it over the table.

use std::future::Future;

use serde::Deserialize;
use uuid::Uuid;

use crate::domain::model::{StoredStatus, TokenItem};
use crate::store::error::StoreError;
use crate::store::schema::Index;
use crate::support::time::{self, Timestamp};

/// Most revocations in one [`TokenStore::revoke_batch`]: two items each (record and
/// credential) plus the two counter items of their shard, 52 items, about half of
/// DynamoDB's 100 per transaction: smaller transactions hold their items' locks for less
/// time, so concurrent writers to those tokens wait less.
pub const MAX_BATCH_REVOCATIONS: usize = 25;

/// The credential item: the hash and what a verifier needs, nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Credential {
    /// Tenant of the token.
    pub tenant_id: String,
    /// Owner.
    pub user_id: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// `active` or `revoked` (expiry is checked against `expires_at`).
    pub status: StoredStatus,
    /// Expiry, if any.
    #[serde(default, with = "time::rfc3339::option")]
    pub expires_at: Option<Timestamp>,
    /// The stored HMAC of the secret.
    pub secret_hash: String,
    /// CIDR blocks requests must come from (empty: anywhere).
    #[serde(default)]
    pub allowed_ips: Vec<String>,
    /// The token's metadata, kept in step with the record's (absent in credentials written
    /// before it was copied here: empty).
    #[serde(default)]
    pub metadata: std::collections::BTreeMap<String, String>,
    /// The token's rate limit, kept in step with the record's.
    #[serde(default)]
    pub rate_limit: Option<crate::domain::usage::RateLimit>,
    /// The token's quota, kept in step with the record's.
    #[serde(default)]
    pub quota: Option<crate::domain::usage::Quota>,
}

/// A revocation to apply atomically.
#[derive(Debug, Clone)]
pub struct Revocation<'a> {
    /// Token to revoke.
    pub id: Uuid,
    /// It must belong to this tenant...
    pub tenant_id: &'a str,
    /// ...and, unless `None` (an admin), to this user.
    pub owner: Option<&'a str>,
    /// Who revokes.
    pub actor: &'a str,
    /// Where the request came from (`revoked_via`), when not the HTTP API.
    pub via: Option<&'a str>,
    /// Optional reason.
    pub reason: Option<&'a str>,
    /// When.
    pub at: Timestamp,
    /// When TTL may delete the record.
    pub purge_at: Timestamp,
}

/// An idempotency record: written in the same transaction as the effect it stands for, so
/// a key is taken if and only if its effect happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Once {
    /// Its item key (see `schema::idempotency_pk`).
    pub pk: String,
    /// Digest of the operation, its target and its body.
    pub fingerprint: String,
    /// The result, sealed (see `idempotency::Sealer`): it holds a secret.
    pub sealed: Vec<u8>,
    /// End of the window in which the key replays (TTL deletes the record after it).
    pub expires_at: Timestamp,
}

/// A rotation to write atomically.
#[derive(Debug, Clone, Copy)]
pub struct Rotation<'a> {
    /// The old token as read.
    pub old: &'a TokenItem,
    /// The old token as it is to be: `rotated_to` set, and revoked or in its grace period.
    pub retired: &'a TokenItem,
    /// When TTL may delete the old token.
    pub retired_purge_at: Option<Timestamp>,
    /// The new token.
    pub new: &'a TokenItem,
    /// Hash of the new token's secret.
    pub new_hash: &'a str,
    /// When TTL may delete the new token.
    pub new_purge_at: Option<Timestamp>,
    /// The idempotency record to take, if the client sent a key.
    pub once: Option<&'a Once>,
}

/// Result of a rotation attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum RotateOutcome {
    /// Written.
    Rotated,
    /// The old token changed since it was read: read it again.
    Stale,
    /// The idempotency key is held by this record; nothing was written.
    Held(Once),
}

/// The fields `PATCH` may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Patch {
    /// New name.
    pub name: Option<String>,
    /// New description; `Some(None)` removes it.
    pub description: Option<Option<String>>,
    /// New metadata, replacing the old map.
    pub metadata: Option<std::collections::BTreeMap<String, String>>,
    /// New rate limit; `Some(None)` removes it.
    pub rate_limit: Option<Option<crate::domain::usage::RateLimit>>,
    /// New quota; `Some(None)` removes it.
    pub quota: Option<Option<crate::domain::usage::Quota>>,
}

impl Patch {
    /// Whether it changes what the credential carries to the authorizer too.
    pub fn touches_credential(&self) -> bool {
        self.metadata.is_some() || self.rate_limit.is_some() || self.quota.is_some()
    }

    /// Whether it changes a limit.
    pub fn changes_limits(&self) -> bool {
        self.rate_limit.is_some() || self.quota.is_some()
    }
}

/// A patch to apply to a token in reach of the caller.
#[derive(Debug, Clone, Copy)]
pub struct Amendment<'a> {
    /// Token to change.
    pub id: Uuid,
    /// It must belong to this tenant...
    pub tenant_id: &'a str,
    /// ...and, unless `None` (an admin), to this user.
    pub owner: Option<&'a str>,
    /// The changes.
    pub patch: &'a Patch,
    /// Who (the new `updated_by`).
    pub actor: &'a str,
    /// When (the new `updated_at`).
    pub at: Timestamp,
    /// Write only if the record's `updated_at` is still this (the record the checks read).
    pub seen: Option<Timestamp>,
}

impl Revocation<'_> {
    /// The record `old` as this revocation leaves it.
    pub fn applied_to(&self, old: &TokenItem) -> TokenItem {
        TokenItem {
            status: StoredStatus::Revoked,
            revoked_at: Some(self.at),
            revoked_by: Some(self.actor.to_string()),
            revoked_via: self.via.map(str::to_string),
            revocation_reason: self.reason.map(str::to_string),
            updated_at: self.at,
            updated_by: Some(self.actor.to_string()),
            ..old.clone()
        }
    }
}

/// Result of a revocation attempt. `R` is what comes back of a token revoked now: its
/// record ([`TokenStore::revoke`]) or nothing ([`TokenStore::revoke_write_only`]).
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // `RevokeOutcome<()>`: one per call, returned, not kept.
pub enum RevokeOutcome<R = TokenItem> {
    /// The token was active or expired and is now revoked.
    Revoked(R),
    /// Nothing was written; the record as it is, if it exists and is in reach.
    Unchanged(Option<TokenItem>),
}

/// Inclusive bounds on an index sort key, compared as DynamoDB compares strings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyRange {
    /// Smallest sort key to read.
    pub lower: Option<String>,
    /// Largest sort key to read.
    pub upper: Option<String>,
}

/// One read of an index partition.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest<'a> {
    /// Index to query.
    pub index: Index,
    /// Its partition key value.
    pub partition: &'a str,
    /// Bounds on the sort key (key conditions).
    pub range: &'a KeyRange,
    /// Smallest sort key first when true.
    pub ascending: bool,
    /// Items to read.
    pub limit: i32,
    /// Continue after this sort key (exclusive).
    pub start_after: Option<&'a str>,
}

/// Items read by a page request.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The items that decoded, in the requested order.
    pub items: Vec<TokenItem>,
    /// The keys (`pk`) of the items that did not decode: logged, counted and left out.
    pub unreadable: Vec<String>,
    /// The index sort key of the last item DynamoDB returned, readable or not: where the
    /// next page starts, so an unreadable item is stepped over instead of ending the walk.
    pub last_key: Option<String>,
    /// DynamoDB stopped early (`LastEvaluatedKey` was set).
    pub more: bool,
    /// Read capacity consumed, as DynamoDB reported it.
    pub capacity: f64,
}

/// One step of the expiry sweep over a `by_due` shard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepStep {
    /// Tokens moved to `expired` (or, at the end of a rotation's grace period, `revoked`).
    pub moved: usize,
    /// Where the next step reads from; `None` when the shard's due range is done.
    pub next: Option<String>,
}

/// A tenant's or a user's token counts, maintained in the same transactions as the tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct Counts {
    /// Stored active.
    #[serde(default)]
    pub active: i64,
    /// Stored expired.
    #[serde(default)]
    pub expired: i64,
    /// Revoked.
    #[serde(default)]
    pub revoked: i64,
}

impl Page {
    /// Items DynamoDB returned (and charged for), unreadable ones included.
    pub fn examined(&self) -> usize {
        self.items.len() + self.unreadable.len()
    }
}

impl Counts {
    /// The count of one stored status.
    pub fn of(&self, status: StoredStatus) -> i64 {
        match status {
            StoredStatus::Active => self.active,
            StoredStatus::Expired => self.expired,
            StoredStatus::Revoked => self.revoked,
        }
    }
}

/// One use counted against a usage counter ([`TokenStore::count_use`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UseCount {
    /// Counted: the counter's value after this use.
    Counted(u64),
    /// Not counted: the counter had reached the limit.
    Refused,
}

/// A notice that a token reached a share of its quota in a period, written once
/// ([`TokenStore::notify`]) for the lifecycle publisher to turn into an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageNotice {
    /// Its key (`schema::usage_notice_pk`).
    pub pk: String,
    /// `threshold` or `exhausted`.
    pub kind: &'static str,
    /// The token's tenant.
    pub tenant_id: String,
    /// Its owner.
    pub user_id: String,
    /// The token.
    pub token_id: Uuid,
    /// The quota.
    pub quota: crate::domain::usage::Quota,
    /// The count that was reached.
    pub used: u64,
    /// The period (`d2026-12-08`, `m2026-12`, `total`).
    pub period: String,
    /// When the period ends (`None`: a total quota).
    pub period_ends: Option<Timestamp>,
    /// When.
    pub at: Timestamp,
    /// When TTL may delete it.
    pub purge_at: Timestamp,
}

/// The narrow interface the service needs from storage. A store is a cheap handle (a client
/// and a table name), cloned wherever a task needs its own.
pub trait TokenStore: Clone + Send + Sync + 'static {
    /// Writes a new token (record, credential, counters) atomically, and `once`'s record
    /// with it. If a live record already holds `once`'s key, nothing is written and that
    /// record is returned.
    fn insert(
        &self,
        item: &TokenItem,
        secret_hash: &str,
        purge_at: Option<Timestamp>,
        once: Option<&Once>,
    ) -> impl Future<Output = Result<Option<Once>, StoreError>> + Send;

    /// Writes a rotation in one transaction: the new token, the old one retired (conditioned
    /// on it being as read), both tokens' counters, and `once`'s record.
    fn rotate(
        &self,
        r: &Rotation<'_>,
    ) -> impl Future<Output = Result<RotateOutcome, StoreError>> + Send;

    /// Applies several revocations (`(old, new)` pairs, each `new` the revoked `old`) in one
    /// transaction, each conditioned on its record being as read. `false` when any record
    /// changed since (nothing is written then). At most [`MAX_BATCH_REVOCATIONS`] pairs.
    fn revoke_batch(
        &self,
        changes: &[(TokenItem, TokenItem)],
        purge_at: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The live idempotency record with this key, if any.
    fn held(&self, pk: &str) -> impl Future<Output = Result<Option<Once>, StoreError>> + Send;

    /// Changes a token's name, description or metadata with one conditional `UpdateItem`, or,
    /// when the metadata changes, one `TransactWriteItems` (record and credential, which
    /// carries the metadata to the authorizer) and one `GetItem`; `None` when no such token
    /// is in reach.
    fn amend(
        &self,
        a: &Amendment<'_>,
    ) -> impl Future<Output = Result<Option<TokenItem>, StoreError>> + Send;

    /// Reads a token record (strongly consistent).
    fn get(&self, id: Uuid) -> impl Future<Output = Result<Option<TokenItem>, StoreError>> + Send;

    /// Reads what verification needs (strongly consistent).
    fn credential(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<Credential>, StoreError>> + Send;

    /// Revokes the credential of token `id` alone, if it belongs to `tenant_id` and `owner`:
    /// for a token whose record cannot be read or revoked (damaged), so that it stops
    /// verifying all the same. One conditional `UpdateItem`; `false` when there is no such
    /// credential. The record and the counters are left as they are.
    fn revoke_credential(
        &self,
        id: Uuid,
        tenant_id: &str,
        owner: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Revokes a live token of the given tenant (and owner), atomically with its counters.
    fn revoke(
        &self,
        r: &Revocation<'_>,
    ) -> impl Future<Output = Result<RevokeOutcome, StoreError>> + Send;

    /// [`TokenStore::revoke`] for callers that do not need the revoked record back. With
    /// the owner known, an active token is revoked by one transaction conditioned on its
    /// tenant, owner and status, without reading it first (every attribute it writes
    /// follows from those three); any other case costs what `revoke` costs.
    fn revoke_write_only(
        &self,
        r: &Revocation<'_>,
    ) -> impl Future<Output = Result<RevokeOutcome<()>, StoreError>> + Send {
        async move {
            Ok(match self.revoke(r).await? {
                RevokeOutcome::Revoked(_) => RevokeOutcome::Revoked(()),
                RevokeOutcome::Unchanged(old) => RevokeOutcome::Unchanged(old),
            })
        }
    }

    /// Reads one page of an index partition.
    fn page(&self, q: &PageRequest<'_>) -> impl Future<Output = Result<Page, StoreError>> + Send;

    /// Reads a tenant's counters, or a user's.
    fn counts(
        &self,
        tenant_id: &str,
        user_id: Option<&str>,
    ) -> impl Future<Output = Result<Counts, StoreError>> + Send;

    /// Reads up to 100 token records by id (missing ids are skipped).
    fn batch_get(
        &self,
        ids: &[Uuid],
    ) -> impl Future<Output = Result<Vec<TokenItem>, StoreError>> + Send;

    /// Records a use at `at` from `ip`, unless one was recorded within `interval` before.
    /// Never creates an item and never touches the status, so it cannot resurrect a deleted
    /// token or undo a revocation. Returns whether it wrote.
    fn touch(
        &self,
        id: Uuid,
        at: Timestamp,
        ip: Option<String>,
        interval: chrono::Duration,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Counts one use against the counter `pk`, unless it holds `limit` already: one
    /// conditional `UpdateItem`, so concurrent callers never count past the limit.
    fn count_use(
        &self,
        pk: &str,
        limit: u64,
        purge_at: Timestamp,
    ) -> impl Future<Output = Result<UseCount, StoreError>> + Send;

    /// The values of up to 100 usage counters (absent ones are 0).
    fn use_counts(
        &self,
        pks: &[String],
    ) -> impl Future<Output = Result<std::collections::HashMap<String, u64>, StoreError>> + Send;

    /// Writes `notice` unless it exists; whether it wrote.
    fn notify(&self, notice: &UsageNotice)
        -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Moves up to `limit` stored-active tokens of one `by_due` shard whose expiry is at or
    /// before `now` to `expired`, reading after the `by_due` key `after` (the previous
    /// step's `next`).
    fn expire_due(
        &self,
        shard: u32,
        now: Timestamp,
        limit: i32,
        after: Option<&str>,
    ) -> impl Future<Output = Result<SweepStep, StoreError>> + Send;
}
