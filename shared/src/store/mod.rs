//! The DynamoDB store: the only module that speaks to the table.
//!
//! | operation | requests |
//! | --- | --- |
//! | create | 1 `TransactWriteItems`: record, credential, tenant and user counters (+ idempotency record) |
//! | rotate | 1 `GetItem` + 1 `TransactWriteItems`: new token, old token retired, counters (+ idempotency record) |
//! | update (`PATCH`) | 1 `UpdateItem` |
//! | revoke a user's tokens | per page: 1 `Query` + 1 `TransactWriteItems` per ≤ 25 tokens of one counter shard; per damaged record 1 `TransactWriteItems` (+ 1 `UpdateItem` of its credential alone when its status is damaged too) |
//! | get, verify | 1 `GetItem` (record, or credential) |
//! | revoke, returning the record | 1 `GetItem` + 1 `TransactWriteItems` (record moves partitions, credential, counters) |
//! | revoke, write only, owner known | 1 `TransactWriteItems` (conditioned on tenant, owner, `active`); + 1 when the token was `expired` |
//! | list page | 1 `Query` per index partition read (usually one) |
//! | counts | 1 `BatchGetItem` (the counter shards) |
//! | by ids | 1 `BatchGetItem` (≤ 100 ids) |

mod record;
pub mod schema;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, Put, ReturnConsumedCapacity,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::model::{StoredStatus, TokenItem};
use crate::store::schema::Index;
use crate::support::time::{self, Timestamp};

/// A store failure. Throttling and unavailability are retryable by the client (503).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// DynamoDB throttled the request after the SDK's own retries.
    #[error("throttled: {0}")]
    Throttled(String),
    /// Timeout, connection failure, or a DynamoDB server error.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// An item did not have the expected shape.
    #[error("corrupt item: {0}")]
    Corrupt(String),
    /// A write kept losing races with concurrent writes to the same token.
    #[error("contended: {0}")]
    Contended(String),
    /// Anything else (bad configuration, missing table, access denied, ...).
    #[error("dynamodb: {0}")]
    Other(String),
}

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

/// The narrow interface the service needs from storage. A store is a cheap handle (a client
/// and a table name), cloned into background tasks such as the last-use touch.
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

    /// Changes a token's name, description or metadata with one conditional `UpdateItem`;
    /// `None` when no such token is in reach.
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

/// [`TokenStore`] over a DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    /// A store over `table`, using a client built once per process.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// One item by key; an item that does not decode is logged, counted and read as absent.
    async fn get_item<T: Decode>(&self, pk: String) -> Result<Option<T>, StoreError> {
        Ok(self.get_raw(pk).await?.and_then(readable))
    }

    /// One strongly consistent `GetItem`, the item as DynamoDB returns it.
    async fn get_raw(
        &self,
        pk: impl Into<String>,
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(schema::PK, s(pk))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.item)
    }

    /// One strongly consistent `BatchGetItem` of up to 100 keys (missing items are skipped);
    /// keys DynamoDB leaves unprocessed are asked for again a few times, then reported.
    async fn batch_read<T: Decode>(&self, pks: Vec<String>) -> Result<Vec<T>, StoreError> {
        let mut keys: Vec<HashMap<String, AttributeValue>> = pks
            .into_iter()
            .map(|pk| HashMap::from([(schema::PK.to_string(), s(pk))]))
            .collect();
        let mut found = Vec::new();
        for _ in 0..WRITE_ATTEMPTS {
            if keys.is_empty() {
                return Ok(found);
            }
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut keys)))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Other(e.to_string()))?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(classify)?;
            for item in out
                .responses
                .and_then(|mut r| r.remove(&self.table))
                .unwrap_or_default()
            {
                found.extend(readable(item));
            }
            keys = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
        }
        if keys.is_empty() {
            Ok(found)
        } else {
            Err(StoreError::Throttled(
                "BatchGetItem left keys unprocessed".into(),
            ))
        }
    }

    /// Applies a status change to a record, its credential and both counters in one
    /// transaction, conditioned on the record being exactly as `old` was read.
    async fn transition(
        &self,
        old: &TokenItem,
        new: &TokenItem,
        purge_at: Option<Timestamp>,
    ) -> Result<bool, StoreError> {
        let mut counters = CounterDeltas::default();
        let mut items = self.transition_items(old, new, purge_at, &mut counters)?;
        items.extend(counters.items(&self.table)?);
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(e) if is_cancel(&e, "ConditionalCheckFailed") => Ok(false),
            Err(e) => Err(classify(e)),
        }
    }

    /// The writes that turn record `old` into `new` (conditioned on `old` being current) and
    /// keep its credential in step; the counter changes go to `counters`.
    fn transition_items(
        &self,
        old: &TokenItem,
        new: &TokenItem,
        purge_at: Option<Timestamp>,
        counters: &mut CounterDeltas,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut record = record_attributes(new, purge_at)?;
        record.remove(schema::PK);
        // Left as they are: a concurrent last-use touch must not be overwritten by this
        // read's older values (a touch never writes status, so it cannot undo this either).
        for touched in ["last_used_at", "last_used_ip", "last_used_sk"] {
            record.remove(touched);
        }
        // What `new` no longer has (an index key, a cleared reason) is removed.
        let removed: Vec<String> = record_attributes(old, None)?
            .into_keys()
            .filter(|k| !record.contains_key(k) && k != schema::PK && !k.starts_with("last_used"))
            .collect();
        let (update, mut names, mut values) = update_expression(record, removed);
        names.insert("#st".into(), "status".into());
        names.insert("#up".into(), "updated_at".into());
        values.insert(":old_status".into(), s(old.status.as_str()));
        values.insert(":old_updated".into(), s(time::format(&old.updated_at)));
        let record_update = Update::builder()
            .table_name(&self.table)
            .key(schema::PK, s(schema::token_pk(old.id)))
            .update_expression(update)
            .condition_expression("#st = :old_status AND #up = :old_updated")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        let mut items = vec![TransactWriteItem::builder().update(record_update).build()];
        // The credential is what verification reads: it follows revocations and any
        // shortened expiry (a rotation's grace period).
        let expiry = new.expires_at.filter(|_| new.expires_at != old.expires_at);
        if new.status == StoredStatus::Revoked || expiry.is_some() {
            items.push(self.credential_update(old.id, new.status, expiry)?);
        }
        counters.add(old, old.status, -1);
        counters.add(old, new.status, 1);
        Ok(items)
    }

    /// Sets the credential's status (and a shortened expiry) to follow its record.
    fn credential_update(
        &self,
        id: Uuid,
        status: StoredStatus,
        expiry: Option<Timestamp>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut cred = Update::builder()
            .table_name(&self.table)
            .key(schema::PK, s(schema::credential_pk(id)))
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":st", s(status.as_str()));
        let mut update = String::from("SET #st = :st");
        if let Some(e) = expiry {
            update.push_str(", expires_at = :exp");
            cred = cred.expression_attribute_values(":exp", s(time::format(&e)));
        }
        let cred = cred
            .update_expression(update)
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        Ok(TransactWriteItem::builder().update(cred).build())
    }

    /// Revokes `owner`'s token `r.id`, stored as `was` (active or expired), with one
    /// transaction and no read: the record's revocation fields and status partitions, its
    /// credential and its counters all follow from the tenant, the owner and the status,
    /// which the transaction requires, and from nothing else. So a concurrent `PATCH` (name,
    /// description, metadata) or last-use touch never makes a revocation fail or retry.
    /// When the token is not that (missing, foreign, in another status), nothing is written
    /// and the record as it is comes back (`Err`, `None` if there is none).
    async fn revoke_as(
        &self,
        r: &Revocation<'_>,
        owner: &str,
        was: StoredStatus,
    ) -> Result<Result<(), Option<TokenItem>>, StoreError> {
        let mut record: HashMap<String, AttributeValue> = [
            ("status", s(StoredStatus::Revoked.as_str())),
            ("revoked_at", s(time::format(&r.at))),
            ("revoked_by", s(r.actor)),
            ("updated_at", s(time::format(&r.at))),
            ("updated_by", s(r.actor)),
            (schema::PURGE_AT, epoch(&r.purge_at)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (k, v) in schema::status_partitions(r.tenant_id, owner, StoredStatus::Revoked) {
            record.insert(k.into(), s(v));
        }
        let mut removed = vec![schema::Partition::Due.attribute().to_string()];
        if let Some(reason) = r.reason {
            record.insert("revocation_reason".into(), s(reason));
        } else {
            removed.push("revocation_reason".into());
        }
        if let Some(via) = r.via {
            record.insert("revoked_via".into(), s(via));
        } else {
            removed.push("revoked_via".into());
        }
        let (update, mut names, mut values) = update_expression(record, removed);
        for (name, attr, value) in [
            ("#tn", "tenant_id", r.tenant_id),
            ("#ow", "user_id", owner),
            ("#was", "status", was.as_str()),
        ] {
            names.insert(name.into(), attr.into());
            values.insert(format!(":{}", &name[1..]), s(value));
        }
        let record_update = Update::builder()
            .table_name(&self.table)
            .key(schema::PK, s(schema::token_pk(r.id)))
            .update_expression(update)
            .condition_expression("#tn = :tn AND #ow = :ow AND #was = :was")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        let mut items = vec![
            TransactWriteItem::builder().update(record_update).build(),
            self.credential_update(r.id, StoredStatus::Revoked, None)?,
        ];
        let mut counters = CounterDeltas::default();
        counters.add_to(r.tenant_id, owner, r.id, was, -1);
        counters.add_to(r.tenant_id, owner, r.id, StoredStatus::Revoked, 1);
        items.extend(counters.items(&self.table)?);
        let err = match self.transact(items).await {
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

    /// The revocation loop of [`TokenStore::revoke`], starting from `known` (the record as
    /// just read) when given.
    async fn revoke_from(
        &self,
        r: &Revocation<'_>,
        mut known: Option<Option<TokenItem>>,
    ) -> Result<RevokeOutcome, StoreError> {
        for _ in 0..WRITE_ATTEMPTS {
            let read = match known.take() {
                Some(read) => read,
                None => self.get(r.id).await?,
            };
            let Some(old) = read else {
                return Ok(RevokeOutcome::Unchanged(None));
            };
            let in_reach = old.tenant_id == r.tenant_id && r.owner.is_none_or(|o| o == old.user_id);
            if !in_reach || old.status == StoredStatus::Revoked {
                return Ok(RevokeOutcome::Unchanged(Some(old)));
            }
            match self.revoke_as(r, &old.user_id, old.status).await? {
                Ok(()) => return Ok(RevokeOutcome::Revoked(r.applied_to(&old))),
                // Its status changed since the read (swept, rotated, revoked): go again from
                // the record the failed condition returned, without another read.
                Err(current) => known = Some(current),
            }
        }
        Err(StoreError::Contended(format!("revocation of {}", r.id)))
    }

    /// The two puts of a new token: its record and its credential.
    fn create_items(
        &self,
        item: &TokenItem,
        secret_hash: &str,
        purge_at: Option<Timestamp>,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let not_exists = "attribute_not_exists(#pk)";
        let record = Put::builder()
            .table_name(&self.table)
            .set_item(Some(record_attributes(item, purge_at)?))
            .condition_expression(not_exists)
            .expression_attribute_names("#pk", schema::PK)
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        let mut cred = HashMap::from([
            (schema::PK.to_string(), s(schema::credential_pk(item.id))),
            ("tenant_id".into(), s(&item.tenant_id)),
            ("user_id".into(), s(&item.user_id)),
            (
                "scopes".into(),
                AttributeValue::L(item.scopes.iter().map(s).collect()),
            ),
            ("status".into(), s(item.status.as_str())),
            (schema::SECRET_HASH.into(), s(secret_hash)),
        ]);
        if let Some(e) = &item.expires_at {
            cred.insert("expires_at".into(), s(time::format(e)));
        }
        if !item.allowed_ips.is_empty() {
            cred.insert(
                "allowed_ips".into(),
                AttributeValue::L(item.allowed_ips.iter().map(s).collect()),
            );
        }
        if let Some(t) = purge_at {
            cred.insert(schema::PURGE_AT.into(), epoch(&t));
        }
        let cred = Put::builder()
            .table_name(&self.table)
            .set_item(Some(cred))
            .condition_expression(not_exists)
            .expression_attribute_names("#pk", schema::PK)
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        Ok(vec![
            TransactWriteItem::builder().put(record).build(),
            TransactWriteItem::builder().put(cred).build(),
        ])
    }

    /// The put of an idempotency record, first in its transaction: it fails if a live
    /// record holds the key, and then returns that record.
    fn once_item(&self, once: &Once, now: Timestamp) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .item(schema::PK, s(&once.pk))
            .item("fingerprint", s(&once.fingerprint))
            .item(
                "sealed",
                AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(once.sealed.clone())),
            )
            .item("expires_at", s(time::format(&once.expires_at)))
            .item(schema::PURGE_AT, epoch(&once.expires_at))
            .condition_expression("attribute_not_exists(#pk) OR #purge <= :now")
            .expression_attribute_names("#pk", schema::PK)
            .expression_attribute_names("#purge", schema::PURGE_AT)
            .expression_attribute_values(":now", epoch(&now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Runs a transaction whose first item is `once`'s record (when given). Nothing is
    /// written when the key is already taken: the record holding it is returned instead.
    async fn transact_once(
        &self,
        once: Option<&Once>,
        writes: Vec<TransactWriteItem>,
    ) -> Result<Option<Once>, TransactOutcome> {
        let mut items = Vec::with_capacity(writes.len() + 1);
        if let Some(o) = once {
            items.push(
                self.once_item(o, time::now())
                    .map_err(TransactOutcome::Store)?,
            );
        }
        items.extend(writes);
        let err = match self.transact(items).await {
            Ok(()) => return Ok(None),
            Err(e) => e,
        };
        let Some(once) = once else {
            return Err(TransactOutcome::from(err));
        };
        let reasons = cancellation_reasons(&err);
        match reasons.first() {
            Some(r) if r.code() == Some("ConditionalCheckFailed") => {
                let held = match r.item() {
                    Some(item) => Some(decode_once(item.clone()).map_err(TransactOutcome::Store)?),
                    None => self.held(&once.pk).await.map_err(TransactOutcome::Store)?,
                };
                // Gone between the two reads (its window ended): the caller may try again.
                held.map(Some).ok_or(TransactOutcome::Stale)
            }
            _ => Err(TransactOutcome::from(err)),
        }
    }

    /// One `TransactWriteItems`, retried with jittered backoff while it is cancelled only
    /// because a concurrent transaction touched the same items.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), TransactError> {
        let mut attempt = 0u32;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            match result {
                Err(e)
                    if attempt < CONFLICT_RETRIES
                        && is_cancel(&e, "TransactionConflict")
                        && !is_cancel(&e, "ConditionalCheckFailed") =>
                {
                    attempt += 1;
                    let jitter = u64::from(uuid::Uuid::now_v7().as_u128() as u8 % 20);
                    tokio::time::sleep(std::time::Duration::from_millis(
                        (10u64 << attempt.min(5)) + jitter,
                    ))
                    .await;
                }
                Err(e) => return Err(e),
                Ok(_) => return Ok(()),
            }
        }
    }
}

type TransactError = SdkError<
    aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
    aws_sdk_dynamodb::config::http::HttpResponse,
>;

/// Attempts after a transaction is cancelled by a conflicting one.
const CONFLICT_RETRIES: u32 = 6;

/// A conditional `UpdateItem`'s output, `None` when its condition failed (nothing written).
fn unless_condition_failed<R>(
    out: Result<
        aws_sdk_dynamodb::operation::update_item::UpdateItemOutput,
        SdkError<aws_sdk_dynamodb::operation::update_item::UpdateItemError, R>,
    >,
) -> Result<Option<aws_sdk_dynamodb::operation::update_item::UpdateItemOutput>, StoreError>
where
    R: std::fmt::Debug,
{
    match out {
        Ok(out) => Ok(Some(out)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(classify(e)),
    }
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn epoch(t: &Timestamp) -> AttributeValue {
    AttributeValue::N(t.timestamp().to_string())
}

/// An item type the store reads.
/// `item` decoded, or `None` after logging and counting it (`metrics::unreadable_record`):
/// every reader skips what it cannot read and goes on with the rest.
fn readable<T: Decode>(item: HashMap<String, AttributeValue>) -> Option<T> {
    let key = match item.get(schema::PK) {
        Some(AttributeValue::S(pk)) => pk.clone(),
        _ => "(no pk)".to_string(),
    };
    T::decode(item)
        .map_err(|e| crate::support::metrics::unreadable_record(&key, &e.to_string()))
        .ok()
}

trait Decode: Sized {
    /// The item from its attributes.
    fn decode(item: HashMap<String, AttributeValue>) -> Result<Self, StoreError>;
}

/// Token records: the hot read (a list page has up to 101), decoded field by field.
impl Decode for TokenItem {
    fn decode(item: HashMap<String, AttributeValue>) -> Result<Self, StoreError> {
        crate::store::record::token_item(item).map_err(StoreError::Corrupt)
    }
}

impl Decode for Credential {
    fn decode(item: HashMap<String, AttributeValue>) -> Result<Self, StoreError> {
        from_serde(item)
    }
}

impl Decode for Counts {
    fn decode(item: HashMap<String, AttributeValue>) -> Result<Self, StoreError> {
        from_serde(item)
    }
}

/// An item through `serde_dynamo`.
fn from_serde<T: serde::de::DeserializeOwned>(
    item: HashMap<String, AttributeValue>,
) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A record's attributes as written: the token, its key, every index key, and the TTL.
pub fn record_attributes(
    item: &TokenItem,
    purge_at: Option<Timestamp>,
) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let mut attrs: HashMap<String, AttributeValue> =
        serde_dynamo::to_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    attrs.insert(schema::PK.into(), s(schema::token_pk(item.id)));
    for (k, v) in schema::index_keys(item) {
        attrs.insert(k.into(), s(v));
    }
    if let Some(t) = purge_at {
        attrs.insert(schema::PURGE_AT.into(), epoch(&t));
    }
    Ok(attrs)
}

/// An update expression that sets `set` (names and values as placeholders `#aN`, `:aN`)
/// and removes `remove`, with its placeholder maps.
fn update_expression(
    set: HashMap<String, AttributeValue>,
    remove: Vec<String>,
) -> (
    String,
    HashMap<String, String>,
    HashMap<String, AttributeValue>,
) {
    let mut names = HashMap::new();
    let mut values = HashMap::new();
    let mut sets = Vec::new();
    for (i, (k, v)) in set.into_iter().enumerate() {
        names.insert(format!("#a{i}"), k);
        values.insert(format!(":a{i}"), v);
        sets.push(format!("#a{i} = :a{i}"));
    }
    let mut update = format!("SET {}", sets.join(", "));
    let mut removes = Vec::new();
    for (i, k) in remove.into_iter().enumerate() {
        names.insert(format!("#r{i}"), k);
        removes.push(format!("#r{i}"));
    }
    if !removes.is_empty() {
        update.push_str(&format!(" REMOVE {}", removes.join(", ")));
    }
    (update, names, values)
}

/// Counter changes of one transaction, summed per counter item: a transaction may write
/// each item only once, and two tokens (a rotation) can share a counter shard.
#[derive(Debug, Default)]
struct CounterDeltas(BTreeMap<String, BTreeMap<StoredStatus, i64>>);

impl CounterDeltas {
    /// Adds `delta` to `status` in the tenant's and the owner's counters of `token`.
    fn add(&mut self, token: &TokenItem, status: StoredStatus, delta: i64) {
        self.add_to(&token.tenant_id, &token.user_id, token.id, status, delta);
    }

    /// Adds `delta` to `status` in the counters of token `id` of `tenant` and `user`.
    fn add_to(&mut self, tenant: &str, user: &str, id: Uuid, status: StoredStatus, delta: i64) {
        let shard = schema::counter_shard(id);
        for user in [None, Some(user)] {
            let pk = schema::counter_pk(tenant, user, shard);
            *self.0.entry(pk).or_default().entry(status).or_default() += delta;
        }
    }

    /// One `ADD` update per counter item with a non-zero change.
    fn items(self, table: &str) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut items = Vec::new();
        for (pk, deltas) in self.0 {
            let mut update = Update::builder().table_name(table).key(schema::PK, s(pk));
            let mut adds = Vec::new();
            for (status, d) in deltas.into_iter().filter(|(_, d)| *d != 0) {
                adds.push(format!("#{0} :{0}", status.as_str()));
                update = update
                    .expression_attribute_names(format!("#{}", status.as_str()), status.as_str())
                    .expression_attribute_values(
                        format!(":{}", status.as_str()),
                        AttributeValue::N(d.to_string()),
                    );
            }
            if adds.is_empty() {
                continue;
            }
            let update = update
                .update_expression(format!("ADD {}", adds.join(", ")))
                .build()
                .map_err(|e| StoreError::Other(e.to_string()))?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        Ok(items)
    }
}

/// Why a transaction with an idempotency record did not commit.
enum TransactOutcome {
    /// The key's record vanished between the failed write and the read: try again.
    Stale,
    /// A failure outside the transaction itself.
    Store(StoreError),
    /// DynamoDB refused the transaction (boxed: the SDK error is large).
    Cancelled(Box<TransactError>),
}

impl From<TransactError> for TransactOutcome {
    fn from(e: TransactError) -> Self {
        Self::Cancelled(Box::new(e))
    }
}

fn decode_once(mut item: HashMap<String, AttributeValue>) -> Result<Once, StoreError> {
    let corrupt = || StoreError::Corrupt("idempotency record".into());
    let mut text = |k: &str| match item.remove(k) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    };
    let pk = text(schema::PK).ok_or_else(corrupt)?;
    let fingerprint = text("fingerprint").ok_or_else(corrupt)?;
    let expires_at = text("expires_at")
        .and_then(|t| time::parse(&t))
        .ok_or_else(corrupt)?;
    let sealed = match item.remove("sealed") {
        Some(AttributeValue::B(b)) => b.into_inner(),
        _ => return Err(corrupt()),
    };
    Ok(Once {
        pk,
        fingerprint,
        sealed,
        expires_at,
    })
}

fn cancellation_reasons(err: &TransactError) -> &[aws_sdk_dynamodb::types::CancellationReason] {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
    match err.as_service_error() {
        Some(E::TransactionCanceledException(c)) => c.cancellation_reasons(),
        _ => &[],
    }
}

/// Whether a transaction was cancelled with `reason` for one of its items.
fn is_cancel(err: &TransactError, reason: &str) -> bool {
    cancellation_reasons(err)
        .iter()
        .any(|r| r.code() == Some(reason))
}

/// Sorts SDK failures into retryable and not.
fn classify<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = err.code().map(str::to_string);
    let text = DisplayErrorContext(&err).to_string();
    match (&err, code.as_deref()) {
        (SdkError::TimeoutError(_) | SdkError::DispatchFailure(_), _) => {
            StoreError::Unavailable(text)
        }
        (
            _,
            Some(
                "ThrottlingException"
                | "ProvisionedThroughputExceededException"
                | "RequestLimitExceeded"
                | "TransactionConflictException",
            ),
        ) => StoreError::Throttled(text),
        (_, Some("InternalServerError" | "ServiceUnavailable")) => StoreError::Unavailable(text),
        _ => StoreError::Other(text),
    }
}

/// Most revocations in one [`TokenStore::revoke_batch`]: two items each (record and
/// credential) plus the two counter items of their shard, 52 items, about half of
/// DynamoDB's 100 per transaction: smaller transactions hold their items' locks for less
/// time, so concurrent writers to those tokens wait less.
pub const MAX_BATCH_REVOCATIONS: usize = 25;

/// How often a revocation re-reads and retries after losing a race.
const WRITE_ATTEMPTS: usize = 4;

impl TokenStore for DynamoStore {
    async fn insert(
        &self,
        item: &TokenItem,
        secret_hash: &str,
        purge_at: Option<Timestamp>,
        once: Option<&Once>,
    ) -> Result<Option<Once>, StoreError> {
        let mut items = self.create_items(item, secret_hash, purge_at)?;
        let mut counters = CounterDeltas::default();
        counters.add(item, item.status, 1);
        items.extend(counters.items(&self.table)?);
        for _ in 0..WRITE_ATTEMPTS {
            match self.transact_once(once, items.clone()).await {
                Ok(held) => return Ok(held),
                Err(TransactOutcome::Stale) => continue,
                Err(TransactOutcome::Store(e)) => return Err(e),
                Err(TransactOutcome::Cancelled(e)) => return Err(classify(*e)),
            }
        }
        Err(StoreError::Contended(format!("creation of {}", item.id)))
    }

    async fn rotate(&self, r: &Rotation<'_>) -> Result<RotateOutcome, StoreError> {
        let mut counters = CounterDeltas::default();
        let mut items = self.create_items(r.new, r.new_hash, r.new_purge_at)?;
        counters.add(r.new, r.new.status, 1);
        items.extend(self.transition_items(r.old, r.retired, r.retired_purge_at, &mut counters)?);
        items.extend(counters.items(&self.table)?);
        match self.transact_once(r.once, items).await {
            Ok(None) => Ok(RotateOutcome::Rotated),
            Ok(Some(held)) => Ok(RotateOutcome::Held(held)),
            Err(TransactOutcome::Stale) => Ok(RotateOutcome::Stale),
            Err(TransactOutcome::Store(e)) => Err(e),
            Err(TransactOutcome::Cancelled(e)) if is_cancel(&e, "ConditionalCheckFailed") => {
                Ok(RotateOutcome::Stale)
            }
            Err(TransactOutcome::Cancelled(e)) => Err(classify(*e)),
        }
    }

    async fn revoke_batch(
        &self,
        changes: &[(TokenItem, TokenItem)],
        purge_at: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut counters = CounterDeltas::default();
        let mut items = Vec::with_capacity(changes.len() * 2 + 4);
        for (old, new) in changes {
            items.extend(self.transition_items(old, new, Some(purge_at), &mut counters)?);
        }
        items.extend(counters.items(&self.table)?);
        if items.len() > 100 {
            return Err(StoreError::Other(format!(
                "a batch of {} revocations needs {} transaction items",
                changes.len(),
                items.len()
            )));
        }
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(e) if is_cancel(&e, "ConditionalCheckFailed") => Ok(false),
            Err(e) => Err(classify(e)),
        }
    }

    async fn held(&self, pk: &str) -> Result<Option<Once>, StoreError> {
        // TTL deletes lazily: a record past its window holds nothing.
        match self.get_raw(pk).await? {
            Some(item) => Ok(Some(decode_once(item)?).filter(|o| o.expires_at > time::now())),
            None => Ok(None),
        }
    }

    async fn amend(&self, a: &Amendment<'_>) -> Result<Option<TokenItem>, StoreError> {
        let mut sets = vec!["updated_at = :at, updated_by = :by"];
        let mut removes = Vec::new();
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(schema::PK, s(schema::token_pk(a.id)))
            .expression_attribute_names("#pk", schema::PK)
            .expression_attribute_values(":at", s(time::format(&a.at)))
            .expression_attribute_values(":by", s(a.actor))
            .expression_attribute_values(":tenant", s(a.tenant_id));
        let mut condition = String::from("attribute_exists(#pk) AND tenant_id = :tenant");
        if let Some(owner) = a.owner {
            condition.push_str(" AND user_id = :owner");
            req = req.expression_attribute_values(":owner", s(owner));
        }
        if let Some(name) = &a.patch.name {
            sets.push("#name = :name, name_sk = :name_sk");
            req = req
                .expression_attribute_names("#name", "name")
                .expression_attribute_values(":name", s(name))
                .expression_attribute_values(":name_sk", s(schema::name_sk(name, a.id)));
        }
        match &a.patch.description {
            Some(Some(d)) => {
                sets.push("description = :description");
                req = req.expression_attribute_values(":description", s(d));
            }
            Some(None) => removes.push("description"),
            None => {}
        }
        if let Some(metadata) = &a.patch.metadata {
            sets.push("metadata = :metadata");
            req = req.expression_attribute_values(
                ":metadata",
                AttributeValue::M(metadata.iter().map(|(k, v)| (k.clone(), s(v))).collect()),
            );
        }
        let mut update = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            update.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        let out = req
            .update_expression(update)
            .condition_expression(condition)
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        Ok(unless_condition_failed(out)?
            .and_then(|out| out.attributes)
            .and_then(readable))
    }

    async fn get(&self, id: Uuid) -> Result<Option<TokenItem>, StoreError> {
        self.get_item(schema::token_pk(id)).await
    }

    async fn credential(&self, id: Uuid) -> Result<Option<Credential>, StoreError> {
        self.get_item(schema::credential_pk(id)).await
    }

    async fn revoke_credential(
        &self,
        id: Uuid,
        tenant_id: &str,
        owner: &str,
    ) -> Result<bool, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(schema::PK, s(schema::credential_pk(id)))
            .update_expression("SET #st = :revoked")
            .condition_expression("attribute_exists(#pk) AND tenant_id = :tn AND user_id = :ow")
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#pk", schema::PK)
            .expression_attribute_values(":revoked", s(StoredStatus::Revoked.as_str()))
            .expression_attribute_values(":tn", s(tenant_id))
            .expression_attribute_values(":ow", s(owner))
            .send()
            .await;
        Ok(unless_condition_failed(out)?.is_some())
    }

    async fn revoke(&self, r: &Revocation<'_>) -> Result<RevokeOutcome, StoreError> {
        self.revoke_from(r, None).await
    }

    async fn revoke_write_only(&self, r: &Revocation<'_>) -> Result<RevokeOutcome<()>, StoreError> {
        let known = match r.owner {
            Some(owner) => match self.revoke_as(r, owner, StoredStatus::Active).await? {
                Ok(()) => return Ok(RevokeOutcome::Revoked(())),
                Err(old) => Some(old),
            },
            None => None,
        };
        Ok(match self.revoke_from(r, known).await? {
            RevokeOutcome::Revoked(_) => RevokeOutcome::Revoked(()),
            RevokeOutcome::Unchanged(old) => RevokeOutcome::Unchanged(old),
        })
    }

    async fn page(&self, q: &PageRequest<'_>) -> Result<Page, StoreError> {
        let mut condition = String::from("#p = :p");
        let mut req = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(q.index.name)
            .expression_attribute_names("#p", q.index.partition_key())
            .expression_attribute_values(":p", s(q.partition))
            .scan_index_forward(q.ascending)
            .limit(q.limit)
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        match (&q.range.lower, &q.range.upper) {
            (Some(lo), Some(hi)) => {
                condition.push_str(" AND #s BETWEEN :lo AND :hi");
                req = req
                    .expression_attribute_values(":lo", s(lo))
                    .expression_attribute_values(":hi", s(hi));
            }
            (Some(lo), None) => {
                condition.push_str(" AND #s >= :lo");
                req = req.expression_attribute_values(":lo", s(lo));
            }
            (None, Some(hi)) => {
                condition.push_str(" AND #s <= :hi");
                req = req.expression_attribute_values(":hi", s(hi));
            }
            (None, None) => {}
        }
        if q.range.lower.is_some() || q.range.upper.is_some() {
            req = req.expression_attribute_names("#s", q.index.sort_key());
        }
        if let Some(after) = q.start_after {
            let id = schema::id_from_sort_key(after)
                .ok_or_else(|| StoreError::Corrupt("cursor position without an id".into()))?;
            req = req
                .exclusive_start_key(schema::PK, s(schema::token_pk(id)))
                .exclusive_start_key(q.index.partition_key(), s(q.partition))
                .exclusive_start_key(q.index.sort_key(), s(after));
        }
        let out = req
            .key_condition_expression(condition)
            .send()
            .await
            .map_err(classify)?;
        let capacity = out
            .consumed_capacity
            .as_ref()
            .and_then(|c| c.capacity_units)
            .unwrap_or_default();
        let raw = out.items.unwrap_or_default();
        let last_key = raw
            .last()
            .and_then(|item| item.get(q.index.sort_key()))
            .and_then(|v| v.as_s().ok())
            .cloned();
        let mut items = Vec::with_capacity(raw.len());
        let mut unreadable = Vec::new();
        for item in raw {
            let key = item.get(schema::PK).and_then(|v| v.as_s().ok()).cloned();
            match readable(item) {
                Some(t) => items.push(t),
                None => unreadable.push(key.unwrap_or_default()),
            }
        }
        Ok(Page {
            items,
            unreadable,
            last_key,
            more: out.last_evaluated_key.is_some_and(|k| !k.is_empty()),
            capacity,
        })
    }

    async fn counts(&self, tenant_id: &str, user_id: Option<&str>) -> Result<Counts, StoreError> {
        let shards = (0..schema::COUNTER_SHARDS)
            .map(|shard| schema::counter_pk(tenant_id, user_id, shard))
            .collect();
        let mut total = Counts::default();
        for c in self.batch_read::<Counts>(shards).await? {
            total.active += c.active;
            total.expired += c.expired;
            total.revoked += c.revoked;
        }
        Ok(total)
    }

    async fn batch_get(&self, ids: &[Uuid]) -> Result<Vec<TokenItem>, StoreError> {
        self.batch_read(ids.iter().map(|id| schema::token_pk(*id)).collect())
            .await
    }

    async fn touch(
        &self,
        id: Uuid,
        at: Timestamp,
        ip: Option<String>,
        interval: chrono::Duration,
    ) -> Result<bool, StoreError> {
        let mut update = String::from("SET last_used_at = :at, last_used_sk = :sk");
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(schema::PK, s(schema::token_pk(id)))
            .condition_expression(
                "attribute_exists(#pk) AND (attribute_not_exists(last_used_at) OR last_used_at < :cutoff)",
            )
            .expression_attribute_names("#pk", schema::PK)
            .expression_attribute_values(":at", s(time::format(&at)))
            .expression_attribute_values(":sk", s(format!("{}#{id}", time::format(&at))))
            .expression_attribute_values(
                ":cutoff",
                s(time::format(&(at - interval))),
            );
        if let Some(ip) = ip {
            update.push_str(", last_used_ip = :ip");
            req = req.expression_attribute_values(":ip", s(ip));
        }
        let out = req.update_expression(update).send().await;
        Ok(unless_condition_failed(out)?.is_some())
    }

    async fn expire_due(
        &self,
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
        let page = self
            .page(&PageRequest {
                index: schema::BY_DUE,
                partition: &partition,
                range: &range,
                ascending: true,
                limit,
                start_after: after,
            })
            .await?;
        let mut moved = 0;
        let next = page.last_key.filter(|_| page.more);
        for old in page.items {
            // The index is eventually consistent: re-read, and write only if still due.
            let Some(current) = self.get(old.id).await? else {
                continue;
            };
            if current.status != StoredStatus::Active || current.expires_at.is_none_or(|e| e > now)
            {
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
            if self.transition(&current, &new, None).await? {
                moved += 1;
            }
        }
        Ok(SweepStep { moved, next })
    }
}

/// DynamoDB being busy is the client's to retry (503); any other store failure is ours.
impl From<StoreError> for crate::domain::error::ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Throttled(detail)
            | StoreError::Unavailable(detail)
            | StoreError::Contended(detail) => {
                tracing::warn!(detail = %detail, "DynamoDB busy or unreachable");
                Self::Unavailable
            }
            other => Self::Internal(other.to_string()),
        }
    }
}
