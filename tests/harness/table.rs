//! The table under an [`App`], read and written directly: what tests inspect, and fast setup
//! of records the service would take long to write (or would never write).

use api_tokens::schema;

use crate::app::App;
use crate::fixtures::sample_token;

impl App {
    /// Every token record of the table, as stored.
    pub async fn records(&self) -> Vec<api_tokens::model::TokenItem> {
        self.scan_all()
            .await
            .into_iter()
            .filter(|i| matches!(i.get("pk"), Some(aws_sdk_dynamodb::types::AttributeValue::S(pk)) if pk.starts_with("TOKEN#")))
            .map(|i| serde_dynamo::from_item(i).expect("a token record"))
            .collect()
    }

    /// Records a use of a token at `at` (what the authorizer's last-used touch writes).
    pub async fn touch(&self, id: uuid::Uuid, at: api_tokens::time::Timestamp) {
        use api_tokens::store::TokenStore as _;
        let mut item = self
            .service
            .store()
            .get(id)
            .await
            .unwrap()
            .expect("the token exists");
        item.last_used_at = Some(at);
        use aws_sdk_dynamodb::types::AttributeValue::S;
        self.dynamodb
            .update_item()
            .table_name(&self.table)
            .key("pk", S(schema::token_pk(id)))
            .update_expression("SET last_used_at = :t, last_used_sk = :k")
            .expression_attribute_values(":t", S(api_tokens::time::format(&at)))
            .expression_attribute_values(":k", S(schema::SortField::LastUsedAt.key_of(&item)))
            .send()
            .await
            .expect("touch");
    }

    /// Writes `n` active tokens of `user` with `BatchWriteItem` (records, credentials with a
    /// dummy hash, and the counters they add up to): fast setup for tests that need many
    /// tokens. Returns the records.
    pub async fn seed(
        &self,
        tenant: &str,
        user: &str,
        n: usize,
    ) -> Vec<api_tokens::model::TokenItem> {
        self.seed_with(tenant, user, n, |t| t).await
    }

    /// [`App::seed`] with each record changed by `edit` first (still active: the counters
    /// count them so).
    pub async fn seed_with(
        &self,
        tenant: &str,
        user: &str,
        n: usize,
        edit: impl Fn(api_tokens::model::TokenItem) -> api_tokens::model::TokenItem,
    ) -> Vec<api_tokens::model::TokenItem> {
        seed_tokens(&self.dynamodb, &self.table, tenant, user, n, edit).await
    }

    /// Writes record `t` with every index key the service would give it, after `edit` has
    /// changed its attributes: for records the service itself never writes (damaged or
    /// left by an older version). No credential, no counters.
    pub async fn put_record(
        &self,
        t: &api_tokens::model::TokenItem,
        edit: impl FnOnce(
            &mut std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
        ),
    ) {
        let mut item = api_tokens::store::record_attributes(t, None).unwrap();
        edit(&mut item);
        self.dynamodb
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .expect("put a record");
    }

    /// Every item of the table, as DynamoDB returns it (for inspecting what is stored).
    pub async fn scan_all(
        &self,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .dynamodb
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan");
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return items;
            }
        }
    }

    /// Every item of the table by its key: what "nothing was written" is checked against.
    pub async fn snapshot(&self) -> Snapshot {
        self.scan_all()
            .await
            .into_iter()
            .map(|item| match item.get(schema::PK) {
                Some(aws_sdk_dynamodb::types::AttributeValue::S(pk)) => (pk.clone(), item),
                _ => panic!("an item without a string pk"),
            })
            .collect()
    }
}

/// The table's items by key ([`App::snapshot`]).
pub type Snapshot = std::collections::BTreeMap<
    String,
    std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
>;

/// Writes `n` active tokens of `user` into `table` with `BatchWriteItem`, each record changed
/// by `edit` first (still active: the counters count them so): records, credentials with a
/// dummy hash, and the counters they add up to. What [`App::seed`] does, for any table.
pub async fn seed_tokens(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    tenant: &str,
    user: &str,
    n: usize,
    edit: impl Fn(api_tokens::model::TokenItem) -> api_tokens::model::TokenItem,
) -> Vec<api_tokens::model::TokenItem> {
    use aws_sdk_dynamodb::types::{AttributeValue as A, PutRequest, WriteRequest};
    use futures_util::StreamExt;
    let items: Vec<_> = (0..n).map(|_| edit(sample_token(tenant, user))).collect();
    let mut writes = Vec::new();
    let mut shards = std::collections::BTreeMap::<u32, i64>::new();
    for t in &items {
        let record = api_tokens::store::record_attributes(t, None).unwrap();
        let cred = std::collections::HashMap::from([
            ("pk".to_string(), A::S(schema::credential_pk(t.id))),
            ("tenant_id".into(), A::S(t.tenant_id.clone())),
            ("user_id".into(), A::S(t.user_id.clone())),
            ("scopes".into(), A::L(vec![])),
            ("status".into(), A::S("active".into())),
            (schema::SECRET_HASH.into(), A::S("not-a-real-hash".into())),
        ]);
        for item in [record, cred] {
            let put = PutRequest::builder().set_item(Some(item)).build().unwrap();
            writes.push(WriteRequest::builder().put_request(put).build());
        }
        *shards.entry(schema::counter_shard(t.id)).or_default() += 1;
    }
    let chunks: Vec<Vec<WriteRequest>> = writes.chunks(25).map(<[_]>::to_vec).collect();
    futures_util::stream::iter(chunks)
        .for_each_concurrent(4, |mut chunk| async move {
            while !chunk.is_empty() {
                let out = dynamodb
                    .batch_write_item()
                    .request_items(table, chunk)
                    .send()
                    .await
                    .expect("seed");
                chunk = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(table))
                    .unwrap_or_default();
            }
        })
        .await;
    for (shard, count) in shards {
        for owner in [None, Some(user)] {
            dynamodb
                .update_item()
                .table_name(table)
                .key("pk", A::S(schema::counter_pk(tenant, owner, shard)))
                .update_expression("ADD active :n")
                .expression_attribute_values(":n", A::N(count.to_string()))
                .send()
                .await
                .expect("seed counters");
        }
    }
    items
}
