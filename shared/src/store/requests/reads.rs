//! Reads: one item, items by key, a page of an index partition.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::batch_get_item::builders::BatchGetItemFluentBuilder;
use aws_sdk_dynamodb::operation::get_item::builders::GetItemFluentBuilder;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnConsumedCapacity};
use aws_sdk_dynamodb::Client;

use crate::store::error::{unbuilt, StoreError};
use crate::store::port::PageRequest;
use crate::store::record::s;
use crate::store::schema;

/// One item by key, strongly consistent: a record (`schema::token_pk`), a credential
/// (`schema::credential_pk`, the authorizer's one request) or an idempotency record.
pub fn get_item(client: &Client, table: &str, pk: impl Into<String>) -> GetItemFluentBuilder {
    client
        .get_item()
        .table_name(table)
        .key(schema::PK, s(pk))
        .consistent_read(true)
}

/// The item key of `pk`, as `BatchGetItem` takes it.
pub fn item_key(pk: impl Into<String>) -> HashMap<String, AttributeValue> {
    HashMap::from([(schema::PK.to_string(), s(pk))])
}

/// Up to 100 items by key (see [`item_key`]), strongly consistent.
pub fn batch_get_item(
    client: &Client,
    table: &str,
    keys: Vec<HashMap<String, AttributeValue>>,
) -> Result<BatchGetItemFluentBuilder, StoreError> {
    let request = KeysAndAttributes::builder()
        .set_keys(Some(keys))
        .consistent_read(true)
        .build()
        .map_err(unbuilt)?;
    Ok(client.batch_get_item().request_items(table, request))
}

/// One page of an index partition (`TokenStore::page`): the key conditions of `q.range`,
/// `q.limit` items, after `q.start_after`, with the capacity it consumed.
pub fn page_query(
    client: &Client,
    table: &str,
    q: &PageRequest<'_>,
) -> Result<QueryFluentBuilder, StoreError> {
    let mut condition = String::from("#p = :p");
    let mut req = client
        .query()
        .table_name(table)
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
    Ok(req.key_condition_expression(condition))
}
