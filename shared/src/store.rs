//! The DynamoDB store: the only module that speaks to the table. Every operation is a single
//! request: `PutItem` to create, `GetItem` to read or verify, `UpdateItem` to revoke, one
//! `Query` per list page.

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_dynamodb::Client;
use serde::Deserialize;
use uuid::Uuid;

use crate::model::{StoredStatus, TokenItem};
use crate::schema::{self, Index};
use crate::time::{self, Timestamp};

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
    /// Anything else (bad configuration, missing table, access denied, ...).
    #[error("dynamodb: {0}")]
    Other(String),
}

/// What a verifier needs: the hash and the principal's facts, nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Credential {
    /// Tenant of the token.
    pub tenant_id: String,
    /// Owner.
    pub user_id: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Stored status.
    pub status: StoredStatus,
    /// Expiry, if any.
    #[serde(default, with = "time::rfc3339::option")]
    pub expires_at: Option<Timestamp>,
    /// The stored HMAC of the secret.
    pub secret_hash: String,
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
    /// Optional reason.
    pub reason: Option<&'a str>,
    /// When.
    pub at: Timestamp,
    /// When TTL may delete the record.
    pub purge_at: Timestamp,
}

/// Result of a revocation attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum RevokeOutcome {
    /// The token was active and is now revoked.
    Revoked(TokenItem),
    /// Nothing was written; the record as it was, if it exists.
    Unchanged(Option<TokenItem>),
}

/// One page of an index, in index order.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest<'a> {
    /// Index to query.
    pub index: Index,
    /// Its partition key value.
    pub partition: &'a str,
    /// Oldest first when true.
    pub ascending: bool,
    /// Items to read (callers ask for one more than they return, to know if more follow).
    pub limit: i32,
    /// Continue after this sort key (exclusive).
    pub start_after: Option<&'a str>,
}

/// Items read by a page request.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The items, in the requested order.
    pub items: Vec<TokenItem>,
    /// DynamoDB stopped early (`LastEvaluatedKey` was set).
    pub more: bool,
}

/// The narrow interface the service needs from storage.
pub trait TokenStore: Send + Sync {
    /// Writes a new token; fails if the id exists.
    fn insert(
        &self,
        item: &TokenItem,
        secret_hash: &str,
        purge_at: Option<Timestamp>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Reads a token (strongly consistent), without its hash.
    fn get(&self, id: Uuid) -> impl Future<Output = Result<Option<TokenItem>, StoreError>> + Send;

    /// Reads what verification needs (strongly consistent).
    fn credential(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<Credential>, StoreError>> + Send;

    /// Revokes an active token of the given tenant (and owner), atomically.
    fn revoke(
        &self,
        r: &Revocation<'_>,
    ) -> impl Future<Output = Result<RevokeOutcome, StoreError>> + Send;

    /// Reads one page of an index.
    fn page(&self, q: &PageRequest<'_>) -> impl Future<Output = Result<Page, StoreError>> + Send;
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

    /// The client, for tools that need the table directly (setup, tests).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }
}

impl DynamoStore {
    /// One strongly consistent `GetItem` of a token, reading only `projection`.
    async fn read<T: serde::de::DeserializeOwned>(
        &self,
        id: Uuid,
        projection: String,
        names: HashMap<String, String>,
    ) -> Result<Option<T>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(schema::PK, s(schema::token_pk(id)))
            .consistent_read(true)
            .projection_expression(projection)
            .set_expression_attribute_names(Some(names))
            .send()
            .await
            .map_err(classify)?;
        out.item.map(decode).transpose()
    }
}

/// Attributes a client may see: everything but the hash and the index keys.
fn public_projection() -> (String, HashMap<String, String>) {
    let names: HashMap<String, String> = schema::PROJECTED
        .iter()
        .enumerate()
        .map(|(i, a)| (format!("#a{i}"), a.to_string()))
        .collect();
    let expr = (0..schema::PROJECTED.len())
        .map(|i| format!("#a{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    (expr, names)
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn epoch(t: &Timestamp) -> AttributeValue {
    AttributeValue::N(t.timestamp().to_string())
}

fn decode<T: serde::de::DeserializeOwned>(
    item: HashMap<String, AttributeValue>,
) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
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
                | "RequestLimitExceeded",
            ),
        ) => StoreError::Throttled(text),
        (_, Some("InternalServerError" | "ServiceUnavailable")) => StoreError::Unavailable(text),
        _ => StoreError::Other(text),
    }
}

impl TokenStore for DynamoStore {
    async fn insert(
        &self,
        item: &TokenItem,
        secret_hash: &str,
        purge_at: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        let mut attrs: HashMap<String, AttributeValue> =
            serde_dynamo::to_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        attrs.insert(schema::PK.into(), s(schema::token_pk(item.id)));
        attrs.insert(
            schema::BY_OWNER.partition_key.into(),
            s(schema::owner_pk(&item.tenant_id, &item.user_id)),
        );
        attrs.insert(
            schema::BY_STATUS.partition_key.into(),
            s(schema::status_pk(&item.tenant_id, item.status.as_str())),
        );
        attrs.insert(schema::BY_TENANT.partition_key.into(), s(&item.tenant_id));
        attrs.insert(
            schema::SORT_KEY.into(),
            s(schema::sort_key(&item.created_at, item.id)),
        );
        attrs.insert(schema::SECRET_HASH.into(), s(secret_hash));
        if let Some(t) = purge_at {
            attrs.insert(schema::PURGE_AT.into(), epoch(&t));
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(attrs))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", schema::PK)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn get(&self, id: Uuid) -> Result<Option<TokenItem>, StoreError> {
        let (projection, names) = public_projection();
        self.read(id, projection, names).await
    }

    async fn credential(&self, id: Uuid) -> Result<Option<Credential>, StoreError> {
        let names = HashMap::from([
            ("#status".to_string(), "status".to_string()),
            ("#hash".to_string(), schema::SECRET_HASH.to_string()),
        ]);
        let projection = "tenant_id, user_id, scopes, #status, expires_at, #hash".to_string();
        self.read(id, projection, names).await
    }

    async fn revoke(&self, r: &Revocation<'_>) -> Result<RevokeOutcome, StoreError> {
        let mut update = String::from(
            "SET #status = :revoked, #status_pk = :status_pk, revoked_at = :at, \
             revoked_by = :actor, updated_at = :at, #purge = :purge",
        );
        let mut condition = String::from("tenant_id = :tenant AND #status = :active");
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(schema::PK, s(schema::token_pk(r.id)))
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#status_pk", schema::BY_STATUS.partition_key)
            .expression_attribute_names("#purge", schema::PURGE_AT)
            .expression_attribute_values(":revoked", s(StoredStatus::Revoked.as_str()))
            .expression_attribute_values(":active", s(StoredStatus::Active.as_str()))
            .expression_attribute_values(
                ":status_pk",
                s(schema::status_pk(
                    r.tenant_id,
                    StoredStatus::Revoked.as_str(),
                )),
            )
            .expression_attribute_values(":at", s(time::format(&r.at)))
            .expression_attribute_values(":actor", s(r.actor))
            .expression_attribute_values(":purge", epoch(&r.purge_at))
            .expression_attribute_values(":tenant", s(r.tenant_id))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if let Some(reason) = r.reason {
            update.push_str(", revocation_reason = :reason");
            req = req.expression_attribute_values(":reason", s(reason));
        }
        if let Some(owner) = r.owner {
            condition.push_str(" AND user_id = :owner");
            req = req.expression_attribute_values(":owner", s(owner));
        }
        let result = req
            .update_expression(update)
            .condition_expression(condition)
            .send()
            .await;
        match result {
            Ok(out) => {
                let item = out
                    .attributes
                    .ok_or_else(|| StoreError::Corrupt("UpdateItem returned no item".into()))?;
                Ok(RevokeOutcome::Revoked(decode(item)?))
            }
            Err(SdkError::ServiceError(e)) => match e.into_err() {
                UpdateItemError::ConditionalCheckFailedException(failed) => Ok(
                    RevokeOutcome::Unchanged(failed.item.map(decode).transpose()?),
                ),
                other => Err(classify(SdkError::<_, ()>::service_error(other, ()))),
            },
            Err(other) => Err(classify(other)),
        }
    }

    async fn page(&self, q: &PageRequest<'_>) -> Result<Page, StoreError> {
        let mut req = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(q.index.name)
            .key_condition_expression("#p = :p")
            .expression_attribute_names("#p", q.index.partition_key)
            .expression_attribute_values(":p", s(q.partition))
            .scan_index_forward(q.ascending)
            .limit(q.limit);
        if let Some(after) = q.start_after {
            let id = schema::id_from_sort_key(after)
                .ok_or_else(|| StoreError::Corrupt("cursor position without an id".into()))?;
            req = req
                .exclusive_start_key(schema::PK, s(schema::token_pk(id)))
                .exclusive_start_key(q.index.partition_key, s(q.partition))
                .exclusive_start_key(schema::SORT_KEY, s(after));
        }
        let out = req.send().await.map_err(classify)?;
        let items = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(decode)
            .collect::<Result<Vec<TokenItem>, _>>()?;
        Ok(Page {
            items,
            more: out.last_evaluated_key.is_some_and(|k| !k.is_empty()),
        })
    }
}
