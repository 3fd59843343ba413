//! The bare side: a client built like the service's, sending the service's own requests
//! (built by `api_tokens::store::requests`, the builders the store sends) and doing nothing
//! else.

use std::collections::HashMap;

use api_tokens::model::TokenItem;
use api_tokens::schema::{self, Partition};
use api_tokens::store::requests;
use api_tokens::store::{KeyRange, PageRequest, Revocation};
use api_tokens::time;
use aws_sdk_dynamodb::types::AttributeValue;
use uuid::Uuid;

pub struct Bare {
    pub db: aws_sdk_dynamodb::Client,
    pub table: String,
}

impl Bare {
    /// The authorizer's request: the credential, strongly consistent.
    pub async fn credential(&self, id: Uuid) {
        self.get(schema::credential_pk(id)).await;
    }

    /// One item, strongly consistent.
    pub async fn get(&self, pk: String) -> Option<HashMap<String, AttributeValue>> {
        requests::get_item(&self.db, &self.table, pk)
            .send()
            .await
            .unwrap()
            .item
    }

    /// `GET /tokens?limit=<page>` for an admin of `tenant`: one page of the tenant's live
    /// partition, newest first, one item beyond the page.
    pub async fn list_page(&self, tenant: &str, page: i32) {
        let partition = schema::partition_value(Partition::TenantGroup, tenant, "", "live");
        let query = PageRequest {
            index: schema::BY_TENANT,
            partition: &partition,
            range: &KeyRange::default(),
            ascending: false,
            limit: page + 1,
            start_after: None,
        };
        let out = requests::page_query(&self.db, &self.table, &query)
            .unwrap()
            .send()
            .await
            .unwrap();
        assert_eq!(out.items.unwrap_or_default().len(), page as usize + 1);
    }

    /// `POST /tokens`: the record and credential puts and both counters, one transaction.
    pub async fn create(&self, item: &TokenItem) {
        // The length of a real hash: base64url of an HMAC-SHA256.
        let hash = "x".repeat(43);
        let items = requests::insert_items(&self.table, item, &hash, None).unwrap();
        requests::transact_write(&self.db, items)
            .send()
            .await
            .unwrap();
    }

    /// `POST /tokens/{id}/revoke` by `actor`, an admin: read the record, then one
    /// transaction revoking it (conditioned on its tenant, owner and status as read), its
    /// credential and both counters.
    pub async fn revoke(&self, id: Uuid, actor: &str, reason: &str) {
        let old: TokenItem =
            serde_dynamo::from_item(self.get(schema::token_pk(id)).await.unwrap()).unwrap();
        let now = time::now();
        let revocation = Revocation {
            id,
            tenant_id: &old.tenant_id,
            owner: None,
            actor,
            via: None,
            reason: Some(reason),
            at: now,
            purge_at: now + chrono::Duration::days(90),
        };
        let items =
            requests::revoke_items(&self.table, &revocation, &old.user_id, old.status).unwrap();
        requests::transact_write(&self.db, items)
            .send()
            .await
            .unwrap();
    }
}
