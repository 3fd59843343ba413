//! Transactions: a new token, a rotation, a status change, revocations, an idempotency
//! record. Each builder gives the items; [`transact_write`] sends them as one request.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::builders::TransactWriteItemsFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use uuid::Uuid;

use crate::domain::model::{StoredStatus, TokenItem};
use crate::store::error::{unbuilt, StoreError};
use crate::store::port::{Once, Revocation, Rotation};
use crate::store::record::{
    epoch, metadata_attribute, quota_attribute, rate_limit_attribute, record_attributes, s,
};
use crate::store::requests::counters::CounterDeltas;
use crate::store::schema;
use crate::support::time::{self, Timestamp};

/// Most items DynamoDB takes in one transaction.
pub const MAX_TRANSACTION_ITEMS: usize = 100;

/// One `TransactWriteItems` of `items`.
pub fn transact_write(
    client: &Client,
    items: Vec<TransactWriteItem>,
) -> TransactWriteItemsFluentBuilder {
    client
        .transact_write_items()
        .set_transact_items(Some(items))
}

/// A new token's transaction (`TokenStore::insert`), without its idempotency record: the
/// record and credential puts and its counters.
pub fn insert_items(
    table: &str,
    item: &TokenItem,
    secret_hash: &str,
    purge_at: Option<Timestamp>,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let mut items = create_items(table, item, secret_hash, purge_at)?;
    let mut counters = CounterDeltas::default();
    counters.add(item, item.status, 1);
    items.extend(counters.items(table)?);
    Ok(items)
}

/// A rotation's transaction (`TokenStore::rotate`), without its idempotency record: the new
/// token's puts, the old token retired (conditioned on it being as read), both counters.
pub fn rotation_items(table: &str, r: &Rotation<'_>) -> Result<Vec<TransactWriteItem>, StoreError> {
    let mut counters = CounterDeltas::default();
    let mut items = create_items(table, r.new, r.new_hash, r.new_purge_at)?;
    counters.add(r.new, r.new.status, 1);
    items.extend(transition_items(
        table,
        r.old,
        r.retired,
        r.retired_purge_at,
        &mut counters,
    )?);
    items.extend(counters.items(table)?);
    Ok(items)
}

/// A status change's transaction: record `old` becomes `new` (conditioned on `old` being
/// current), its credential follows, and both counters.
pub fn status_change_items(
    table: &str,
    old: &TokenItem,
    new: &TokenItem,
    purge_at: Option<Timestamp>,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let mut counters = CounterDeltas::default();
    let mut items = transition_items(table, old, new, purge_at, &mut counters)?;
    items.extend(counters.items(table)?);
    Ok(items)
}

/// Several revocations in one transaction (`TokenStore::revoke_batch`): each `(old, new)`
/// as [`status_change_items`], the counters summed per counter item.
pub fn batch_revocation_items(
    table: &str,
    changes: &[(TokenItem, TokenItem)],
    purge_at: Timestamp,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let mut counters = CounterDeltas::default();
    let mut items = Vec::with_capacity(changes.len() * 2 + 4);
    for (old, new) in changes {
        items.extend(transition_items(
            table,
            old,
            new,
            Some(purge_at),
            &mut counters,
        )?);
    }
    items.extend(counters.items(table)?);
    Ok(items)
}

/// The two puts of a new token: its record and its credential.
pub fn create_items(
    table: &str,
    item: &TokenItem,
    secret_hash: &str,
    purge_at: Option<Timestamp>,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let not_exists = "attribute_not_exists(#pk)";
    let record = Put::builder()
        .table_name(table)
        .set_item(Some(record_attributes(item, purge_at)?))
        .condition_expression(not_exists)
        .expression_attribute_names("#pk", schema::PK)
        .build()
        .map_err(unbuilt)?;
    let cred = Put::builder()
        .table_name(table)
        .set_item(Some(credential_attributes(item, secret_hash, purge_at)))
        .condition_expression(not_exists)
        .expression_attribute_names("#pk", schema::PK)
        .build()
        .map_err(unbuilt)?;
    Ok(vec![
        TransactWriteItem::builder().put(record).build(),
        TransactWriteItem::builder().put(cred).build(),
    ])
}

/// A credential's attributes as written: what verification needs, and the hash.
fn credential_attributes(
    item: &TokenItem,
    secret_hash: &str,
    purge_at: Option<Timestamp>,
) -> HashMap<String, AttributeValue> {
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
    if !item.metadata.is_empty() {
        cred.insert("metadata".into(), metadata_attribute(&item.metadata));
    }
    if let Some(r) = &item.rate_limit {
        cred.insert("rate_limit".into(), rate_limit_attribute(r));
    }
    if let Some(q) = &item.quota {
        cred.insert("quota".into(), quota_attribute(q));
    }
    if let Some(t) = purge_at {
        cred.insert(schema::PURGE_AT.into(), epoch(&t));
    }
    cred
}

/// The put of an idempotency record, first in its transaction: it fails if a live
/// record holds the key, and then returns that record.
pub fn once_item(
    table: &str,
    once: &Once,
    now: Timestamp,
) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
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
        .map_err(unbuilt)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// The writes that turn record `old` into `new` (conditioned on `old` being current) and
/// keep its credential in step; the counter changes go to `counters`.
pub fn transition_items(
    table: &str,
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
        .table_name(table)
        .key(schema::PK, s(schema::token_pk(old.id)))
        .update_expression(update)
        .condition_expression("#st = :old_status AND #up = :old_updated")
        .set_expression_attribute_names(Some(names))
        .set_expression_attribute_values(Some(values))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .map_err(unbuilt)?;
    let mut items = vec![TransactWriteItem::builder().update(record_update).build()];
    // The credential is what verification reads: it follows revocations and any
    // shortened expiry (a rotation's grace period).
    let expiry = new.expires_at.filter(|_| new.expires_at != old.expires_at);
    if new.status == StoredStatus::Revoked || expiry.is_some() {
        items.push(credential_update(table, old.id, new.status, expiry)?);
    }
    counters.add(old, old.status, -1);
    counters.add(old, new.status, 1);
    Ok(items)
}

/// Sets the credential's status (and a shortened expiry) to follow its record.
pub fn credential_update(
    table: &str,
    id: Uuid,
    status: StoredStatus,
    expiry: Option<Timestamp>,
) -> Result<TransactWriteItem, StoreError> {
    let mut cred = Update::builder()
        .table_name(table)
        .key(schema::PK, s(schema::credential_pk(id)))
        .expression_attribute_names("#st", "status")
        .expression_attribute_values(":st", s(status.as_str()));
    let mut update = String::from("SET #st = :st");
    if let Some(e) = expiry {
        update.push_str(", expires_at = :exp");
        cred = cred.expression_attribute_values(":exp", s(time::format(&e)));
    }
    let cred = cred.update_expression(update).build().map_err(unbuilt)?;
    Ok(TransactWriteItem::builder().update(cred).build())
}

/// The transaction that revokes `owner`'s token `r.id`, stored as `was`, without reading it:
/// the record's revocation fields and status partitions (conditioned on its tenant, owner
/// and status, from which everything written follows), its credential, its counters.
pub fn revoke_items(
    table: &str,
    r: &Revocation<'_>,
    owner: &str,
    was: StoredStatus,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let (set, removed) = revoked_attributes(r, owner);
    let (update, mut names, mut values) = update_expression(set, removed);
    for (name, attr, value) in [
        ("#tn", "tenant_id", r.tenant_id),
        ("#ow", "user_id", owner),
        ("#was", "status", was.as_str()),
    ] {
        names.insert(name.into(), attr.into());
        values.insert(format!(":{}", &name[1..]), s(value));
    }
    let record_update = Update::builder()
        .table_name(table)
        .key(schema::PK, s(schema::token_pk(r.id)))
        .update_expression(update)
        .condition_expression("#tn = :tn AND #ow = :ow AND #was = :was")
        .set_expression_attribute_names(Some(names))
        .set_expression_attribute_values(Some(values))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .map_err(unbuilt)?;
    let mut items = vec![
        TransactWriteItem::builder().update(record_update).build(),
        credential_update(table, r.id, StoredStatus::Revoked, None)?,
    ];
    let mut counters = CounterDeltas::default();
    counters.add_to(r.tenant_id, owner, r.id, was, -1);
    counters.add_to(r.tenant_id, owner, r.id, StoredStatus::Revoked, 1);
    items.extend(counters.items(table)?);
    Ok(items)
}

/// What a revocation sets on `owner`'s record, and the attributes it removes.
fn revoked_attributes(
    r: &Revocation<'_>,
    owner: &str,
) -> (HashMap<String, AttributeValue>, Vec<String>) {
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
    (record, removed)
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
