//! The counters' share of a transaction.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use uuid::Uuid;

use crate::domain::model::{StoredStatus, TokenItem};
use crate::store::error::{unbuilt, StoreError};
use crate::store::record::s;
use crate::store::schema;

/// Counter changes of one transaction, summed per counter item: a transaction may write
/// each item only once, and two tokens (a rotation) can share a counter shard.
#[derive(Debug, Default)]
pub struct CounterDeltas(BTreeMap<String, BTreeMap<StoredStatus, i64>>);

impl CounterDeltas {
    /// Adds `delta` to `status` in the tenant's and the owner's counters of `token`.
    pub fn add(&mut self, token: &TokenItem, status: StoredStatus, delta: i64) {
        self.add_to(&token.tenant_id, &token.user_id, token.id, status, delta);
    }

    /// Adds `delta` to `status` in the counters of token `id` of `tenant` and `user`.
    pub fn add_to(&mut self, tenant: &str, user: &str, id: Uuid, status: StoredStatus, delta: i64) {
        let shard = schema::counter_shard(id);
        for user in [None, Some(user)] {
            let pk = schema::counter_pk(tenant, user, shard);
            *self.0.entry(pk).or_default().entry(status).or_default() += delta;
        }
    }

    /// One `ADD` update per counter item with a non-zero change.
    pub fn items(self, table: &str) -> Result<Vec<TransactWriteItem>, StoreError> {
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
                .map_err(unbuilt)?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        Ok(items)
    }
}
