//! The orders table: one item per order, keyed by the caller's tenant (`tenant_id`) and the
//! order's id (`order_id`, a UUIDv7, so a tenant's orders sort by creation). Every read and
//! write names the tenant in its key, so no request reaches another tenant's orders.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use serde::Serialize;

use crate::input::NewOrder;

/// The most orders `GET /orders` returns (newest first); this example does not paginate.
pub const LIST_LIMIT: i32 = 100;

/// One order, as stored and as answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Order {
    pub tenant_id: String,
    pub order_id: String,
    pub item: String,
    pub quantity: i64,
    /// The user whose token created it.
    pub created_by: String,
    /// RFC 3339 UTC.
    pub created_at: String,
}

/// DynamoDB failed; the cause is logged by [`Orders`], never sent.
#[derive(Debug)]
pub struct StoreError;

/// The orders table and the client that reaches it (built once per cold start).
pub struct Orders {
    client: Client,
    table: String,
}

impl Orders {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }

    /// The tenant's newest orders (at most [`LIST_LIMIT`]).
    pub async fn list(&self, tenant_id: &str) -> Result<Vec<Order>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("tenant_id = :t")
            .expression_attribute_values(":t", s(tenant_id))
            .scan_index_forward(false)
            .limit(LIST_LIMIT)
            .send()
            .await
            .map_err(|e| logged("Query", e))?;
        Ok(out.items().iter().filter_map(from_item).collect())
    }

    /// The tenant's order `order_id`, if it has one.
    pub async fn get(&self, tenant_id: &str, order_id: &str) -> Result<Option<Order>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("tenant_id", s(tenant_id))
            .key("order_id", s(order_id))
            .send()
            .await
            .map_err(|e| logged("GetItem", e))?;
        Ok(out.item().and_then(from_item))
    }

    /// Stores a new order of the tenant, created by `user_id`.
    pub async fn create(
        &self,
        tenant_id: &str,
        user_id: &str,
        new: NewOrder,
    ) -> Result<Order, StoreError> {
        let order = Order {
            tenant_id: tenant_id.into(),
            order_id: uuid::Uuid::now_v7().to_string(),
            item: new.item,
            quantity: new.quantity,
            created_by: user_id.into(),
            created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&order)))
            .condition_expression("attribute_not_exists(order_id)")
            .send()
            .await
            .map_err(|e| logged("PutItem", e))?;
        Ok(order)
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn to_item(o: &Order) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("tenant_id".into(), s(&o.tenant_id)),
        ("order_id".into(), s(&o.order_id)),
        ("item".into(), s(&o.item)),
        ("quantity".into(), AttributeValue::N(o.quantity.to_string())),
        ("created_by".into(), s(&o.created_by)),
        ("created_at".into(), s(&o.created_at)),
    ])
}

/// An order from its item; `None` for an item this code did not write.
fn from_item(item: &HashMap<String, AttributeValue>) -> Option<Order> {
    let text = |k: &str| item.get(k)?.as_s().ok().cloned();
    Some(Order {
        tenant_id: text("tenant_id")?,
        order_id: text("order_id")?,
        item: text("item")?,
        quantity: item.get("quantity")?.as_n().ok()?.parse().ok()?,
        created_by: text("created_by")?,
        created_at: text("created_at")?,
    })
}

fn logged(operation: &str, err: impl std::error::Error) -> StoreError {
    eprintln!(
        "orders: DynamoDB {operation} failed: {}",
        DisplayErrorContext(&err)
    );
    StoreError
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_round_trips_through_its_item() {
        let order = Order {
            tenant_id: "acme".into(),
            order_id: "0190a5c4-aaaa-7bbb-8ccc-000000000001".into(),
            item: "widget".into(),
            quantity: 3,
            created_by: "alice".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
        };
        assert_eq!(from_item(&to_item(&order)), Some(order));
    }
}
