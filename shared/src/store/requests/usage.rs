//! The usage counters' requests: one use counted, and a usage notice written once.

use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_dynamodb::Client;

use crate::store::port::UsageNotice;
use crate::store::record::{epoch, quota_attribute, s};
use crate::store::schema;
use crate::support::time::{self, Timestamp};

/// `n` up by one unless it is at `limit` already (`TokenStore::count_use`), returning the new
/// value. The TTL is set with the first use and never moved.
pub fn count_use_update(
    client: &Client,
    table: &str,
    pk: &str,
    limit: u64,
    purge_at: Timestamp,
) -> UpdateItemFluentBuilder {
    client
        .update_item()
        .table_name(table)
        .key(schema::PK, s(pk))
        .update_expression("ADD n :one SET #ttl = if_not_exists(#ttl, :ttl)")
        .condition_expression("attribute_not_exists(n) OR n < :limit")
        .expression_attribute_names("#ttl", schema::PURGE_AT)
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .expression_attribute_values(":limit", AttributeValue::N(limit.to_string()))
        .expression_attribute_values(":ttl", epoch(&purge_at))
        .return_values(ReturnValue::UpdatedNew)
}

/// The put of a usage notice, unless one with its key exists.
pub fn notice_put(client: &Client, table: &str, n: &UsageNotice) -> PutItemFluentBuilder {
    let mut put = client
        .put_item()
        .table_name(table)
        .item(schema::PK, s(&n.pk))
        .item("kind", s(n.kind))
        .item("tenant_id", s(&n.tenant_id))
        .item("user_id", s(&n.user_id))
        .item("token_id", s(n.token_id.to_string()))
        .item("quota", quota_attribute(&n.quota))
        .item("used", AttributeValue::N(n.used.to_string()))
        .item("period", s(&n.period))
        .item("at", s(time::format(&n.at)))
        .item(schema::PURGE_AT, epoch(&n.purge_at))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", schema::PK);
    if let Some(end) = &n.period_ends {
        put = put.item("period_ends", s(time::format(end)));
    }
    put
}
