//! Single conditional updates: a `PATCH` (with the credential, in a transaction, when it
//! changes the metadata), a credential revoked alone, the last-use touch.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use uuid::Uuid;

use crate::domain::model::StoredStatus;
use crate::store::error::{unbuilt, StoreError};
use crate::store::port::Amendment;
use crate::store::record::{metadata_attribute, quota_attribute, rate_limit_attribute, s};
use crate::store::schema;
use crate::support::time::{self, Timestamp};

/// A `PATCH`'s update of the token record: expression, condition (the token is in reach)
/// and their names and values; sent alone ([`amend_update`]) or in a transaction with the
/// credential ([`amend_items`]).
struct AmendExpression {
    update: String,
    condition: String,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

fn amend_expression(a: &Amendment<'_>) -> AmendExpression {
    let mut sets = vec!["updated_at = :at, updated_by = :by"];
    let mut removes = Vec::new();
    let mut names = HashMap::from([("#pk".to_string(), schema::PK.to_string())]);
    let mut values = HashMap::from([
        (":at".to_string(), s(time::format(&a.at))),
        (":by".to_string(), s(a.actor)),
        (":tenant".to_string(), s(a.tenant_id)),
    ]);
    let mut condition = String::from("attribute_exists(#pk) AND tenant_id = :tenant");
    if let Some(owner) = a.owner {
        condition.push_str(" AND user_id = :owner");
        values.insert(":owner".into(), s(owner));
    }
    if let Some(name) = &a.patch.name {
        sets.push("#name = :name, name_sk = :name_sk");
        names.insert("#name".into(), "name".into());
        values.insert(":name".into(), s(name));
        values.insert(":name_sk".into(), s(schema::name_sk(name, a.id)));
    }
    match &a.patch.description {
        Some(Some(d)) => {
            sets.push("description = :description");
            values.insert(":description".into(), s(d));
        }
        Some(None) => removes.push("description"),
        None => {}
    }
    if let Some(metadata) = &a.patch.metadata {
        sets.push("metadata = :metadata");
        values.insert(":metadata".into(), metadata_attribute(metadata));
    }
    limit_changes(a, &mut sets, &mut removes, &mut values);
    if let Some(seen) = &a.seen {
        condition.push_str(" AND updated_at = :seen");
        values.insert(":seen".into(), s(time::format(seen)));
    }
    let mut update = format!("SET {}", sets.join(", "));
    if !removes.is_empty() {
        update.push_str(&format!(" REMOVE {}", removes.join(", ")));
    }
    AmendExpression {
        update,
        condition,
        names,
        values,
    }
}

/// The `SET` and `REMOVE` clauses of a patch's limits, the record's and the credential's alike.
fn limit_changes(
    a: &Amendment<'_>,
    sets: &mut Vec<&'static str>,
    removes: &mut Vec<&'static str>,
    values: &mut HashMap<String, AttributeValue>,
) {
    match &a.patch.rate_limit {
        Some(Some(r)) => {
            sets.push("rate_limit = :rate_limit");
            values.insert(":rate_limit".into(), rate_limit_attribute(r));
        }
        Some(None) => removes.push("rate_limit"),
        None => {}
    }
    match &a.patch.quota {
        Some(Some(q)) => {
            sets.push("quota = :quota");
            values.insert(":quota".into(), quota_attribute(q));
        }
        Some(None) => removes.push("quota"),
        None => {}
    }
}

/// A `PATCH` that leaves the metadata as it is (`TokenStore::amend`): one `UpdateItem`
/// conditioned on the token being in reach, returning the record as it becomes.
pub fn amend_update(client: &Client, table: &str, a: &Amendment<'_>) -> UpdateItemFluentBuilder {
    let e = amend_expression(a);
    client
        .update_item()
        .table_name(table)
        .key(schema::PK, s(schema::token_pk(a.id)))
        .set_expression_attribute_names(Some(e.names))
        .set_expression_attribute_values(Some(e.values))
        .update_expression(e.update)
        .condition_expression(e.condition)
        .return_values(ReturnValue::AllNew)
}

/// A `PATCH` that changes the metadata or a limit (`TokenStore::amend`): the record's update
/// as in [`amend_update`], and the credential's copies set to match (the authorizer reads
/// only the credential), conditioned on the credential existing.
pub fn amend_items(table: &str, a: &Amendment<'_>) -> Result<Vec<TransactWriteItem>, StoreError> {
    let e = amend_expression(a);
    let record = Update::builder()
        .table_name(table)
        .key(schema::PK, s(schema::token_pk(a.id)))
        .set_expression_attribute_names(Some(e.names))
        .set_expression_attribute_values(Some(e.values))
        .update_expression(e.update)
        .condition_expression(e.condition)
        .build()
        .map_err(unbuilt)?;
    let (mut sets, mut removes, mut values) = (Vec::new(), Vec::new(), HashMap::new());
    if let Some(metadata) = &a.patch.metadata {
        sets.push("metadata = :metadata");
        values.insert(":metadata".into(), metadata_attribute(metadata));
    }
    limit_changes(a, &mut sets, &mut removes, &mut values);
    let mut update = String::new();
    if !sets.is_empty() {
        update.push_str(&format!("SET {}", sets.join(", ")));
    }
    if !removes.is_empty() {
        update.push_str(&format!(" REMOVE {}", removes.join(", ")));
    }
    let credential = Update::builder()
        .table_name(table)
        .key(schema::PK, s(schema::credential_pk(a.id)))
        .update_expression(update.trim_start())
        .condition_expression("attribute_exists(#pk)")
        .expression_attribute_names("#pk", schema::PK)
        .set_expression_attribute_values((!values.is_empty()).then_some(values))
        .build()
        .map_err(unbuilt)?;
    Ok(vec![
        TransactWriteItem::builder().update(record).build(),
        TransactWriteItem::builder().update(credential).build(),
    ])
}

/// Revokes the credential of token `id` alone (`TokenStore::revoke_credential`), if it
/// belongs to `tenant_id` and `owner`.
pub fn revoke_credential_update(
    client: &Client,
    table: &str,
    id: Uuid,
    tenant_id: &str,
    owner: &str,
) -> UpdateItemFluentBuilder {
    client
        .update_item()
        .table_name(table)
        .key(schema::PK, s(schema::credential_pk(id)))
        .update_expression("SET #st = :revoked")
        .condition_expression("attribute_exists(#pk) AND tenant_id = :tn AND user_id = :ow")
        .expression_attribute_names("#st", "status")
        .expression_attribute_names("#pk", schema::PK)
        .expression_attribute_values(":revoked", s(StoredStatus::Revoked.as_str()))
        .expression_attribute_values(":tn", s(tenant_id))
        .expression_attribute_values(":ow", s(owner))
}

/// The last-use write (`TokenStore::touch`): conditioned on the record existing and on no
/// use recorded within `interval` before `at`.
pub fn touch_update(
    client: &Client,
    table: &str,
    id: Uuid,
    at: Timestamp,
    ip: Option<String>,
    interval: chrono::Duration,
) -> UpdateItemFluentBuilder {
    let mut update = String::from("SET last_used_at = :at, last_used_sk = :sk");
    let mut req = client
        .update_item()
        .table_name(table)
        .key(schema::PK, s(schema::token_pk(id)))
        .condition_expression(
            "attribute_exists(#pk) AND (attribute_not_exists(last_used_at) OR last_used_at < :cutoff)",
        )
        .expression_attribute_names("#pk", schema::PK)
        .expression_attribute_values(":at", s(time::format(&at)))
        .expression_attribute_values(":sk", s(format!("{}#{id}", time::format(&at))))
        .expression_attribute_values(":cutoff", s(time::format(&(at - interval))));
    if let Some(ip) = ip {
        update.push_str(", last_used_ip = :ip");
        req = req.expression_attribute_values(":ip", s(ip));
    }
    req.update_expression(update)
}
