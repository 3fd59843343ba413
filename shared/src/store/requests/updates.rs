//! Single conditional updates: a `PATCH`, a credential revoked alone, the last-use touch.

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_dynamodb::Client;
use uuid::Uuid;

use crate::domain::model::StoredStatus;
use crate::store::port::Amendment;
use crate::store::record::s;
use crate::store::schema;
use crate::support::time::{self, Timestamp};

/// A `PATCH` (`TokenStore::amend`): one `UpdateItem` conditioned on the token being in
/// reach, returning the record as it becomes.
pub fn amend_update(client: &Client, table: &str, a: &Amendment<'_>) -> UpdateItemFluentBuilder {
    let mut sets = vec!["updated_at = :at, updated_by = :by"];
    let mut removes = Vec::new();
    let mut req = client
        .update_item()
        .table_name(table)
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
    req.update_expression(update)
        .condition_expression(condition)
        .return_values(ReturnValue::AllNew)
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
