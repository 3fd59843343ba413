//! The single-table design. `template.yaml` declares the same table; a test keeps them equal.
//!
//! | item | `pk` | index keys |
//! | --- | --- | --- |
//! | token | `TOKEN#<id>` | `by_owner`: `owner_pk` = `<tenant>#<user>`; `by_status`: `status_pk` = `<tenant>#<status>`; `by_tenant`: `tenant_pk` = `<tenant>`; all sorted by `sort_key` = `<created_at>#<id>` |
//!
//! The base key is the token id alone, so a verifier holding only the secret finds the record
//! with one `GetItem`. The indexes project the attributes of [`crate::model::TokenItem`] and
//! never `secret_hash`.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use uuid::Uuid;

use crate::time::{self, Timestamp};

/// Partition key of the table.
pub const PK: &str = "pk";
/// Sort key of every index: `<created_at>#<id>`.
pub const SORT_KEY: &str = "sort_key";
/// The stored secret hash. Never projected, never returned.
pub const SECRET_HASH: &str = "secret_hash";
/// Epoch seconds after which DynamoDB's TTL may delete an expired or revoked token.
pub const PURGE_AT: &str = "purge_at";

/// A global secondary index of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Index {
    /// Index name.
    pub name: &'static str,
    /// Its partition key attribute.
    pub partition_key: &'static str,
}

/// Tokens of one user of a tenant.
pub const BY_OWNER: Index = Index {
    name: "by_owner",
    partition_key: "owner_pk",
};
/// Tokens of a tenant in one stored status.
pub const BY_STATUS: Index = Index {
    name: "by_status",
    partition_key: "status_pk",
};
/// All tokens of a tenant.
pub const BY_TENANT: Index = Index {
    name: "by_tenant",
    partition_key: "tenant_pk",
};
/// Every index, in declaration order.
pub const INDEXES: [Index; 3] = [BY_OWNER, BY_STATUS, BY_TENANT];

/// Non-key attributes every index projects: the fields of `TokenItem`, nothing secret.
pub const PROJECTED: [&str; 17] = [
    "id",
    "tenant_id",
    "user_id",
    "name",
    "description",
    "prefix",
    "scopes",
    "status",
    "created_by",
    "created_at",
    "updated_at",
    "last_used_at",
    "expires_at",
    "revoked_at",
    "revoked_by",
    "revocation_reason",
    "metadata",
];

/// Base-table key of a token.
pub fn token_pk(id: Uuid) -> String {
    format!("TOKEN#{id}")
}

/// `by_owner` partition of a user.
pub fn owner_pk(tenant_id: &str, user_id: &str) -> String {
    format!("{tenant_id}#{user_id}")
}

/// `by_status` partition of a tenant's tokens in one stored status.
pub fn status_pk(tenant_id: &str, status: &str) -> String {
    format!("{tenant_id}#{status}")
}

/// Index sort key: creation time, then id, so the order is total.
pub fn sort_key(created_at: &Timestamp, id: Uuid) -> String {
    format!("{}#{id}", time::format(created_at))
}

/// The token id inside a sort key, if it is well formed.
pub fn id_from_sort_key(sort_key: &str) -> Option<Uuid> {
    let (_, id) = sort_key.rsplit_once('#')?;
    Uuid::parse_str(id).ok()
}

/// Creates the table with its keys, indexes and stream (what `template.yaml` declares), and
/// enables TTL on [`PURGE_AT`]. Used by the local dev server and the tests.
pub async fn create_table(client: &Client, table: &str) -> Result<(), aws_sdk_dynamodb::Error> {
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("key schema is complete")
    };
    let string_attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attribute definition is complete")
    };
    let projection = Projection::builder()
        .projection_type(ProjectionType::Include)
        .set_non_key_attributes(Some(PROJECTED.iter().map(|s| s.to_string()).collect()))
        .build();
    let mut req = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .expect("stream spec is complete"),
        )
        .key_schema(key(PK, KeyType::Hash))
        .attribute_definitions(string_attr(PK))
        .attribute_definitions(string_attr(SORT_KEY));
    for index in INDEXES {
        req = req
            .attribute_definitions(string_attr(index.partition_key))
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(index.name)
                    .key_schema(key(index.partition_key, KeyType::Hash))
                    .key_schema(key(SORT_KEY, KeyType::Range))
                    .projection(projection.clone())
                    .build()
                    .expect("index is complete"),
            );
    }
    req.send().await?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(PURGE_AT)
                .enabled(true)
                .build()
                .expect("ttl spec is complete"),
        )
        .send()
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projected_attributes_are_exactly_the_token_item_fields() {
        let mut item = crate::model::tests::item();
        item.description = Some("d".into());
        item.last_used_at = item.expires_at;
        item.revoked_at = item.expires_at;
        item.revoked_by = Some("x".into());
        item.revocation_reason = Some("x".into());
        let json = serde_json::to_value(&item).unwrap();
        let mut fields: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut projected = PROJECTED.to_vec();
        fields.sort_unstable();
        projected.sort_unstable();
        assert_eq!(fields, projected);
        assert!(!PROJECTED.contains(&SECRET_HASH));
    }

    #[test]
    fn sort_keys_order_by_time_then_id_and_give_the_id_back() {
        let t = time::parse("2026-01-01T00:00:00Z").unwrap();
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert!(sort_key(&t, a) < sort_key(&t, b));
        assert!(sort_key(&t, b) < sort_key(&(t + chrono::Duration::milliseconds(1)), a));
        assert_eq!(id_from_sort_key(&sort_key(&t, a)), Some(a));
        assert_eq!(id_from_sort_key("junk"), None);
    }
}
