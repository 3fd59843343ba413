//! Only a hash of each secret is stored, and only where the verifier reads it.

use api_tokens::schema;
use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::{App, Method};
use serde_json::json;

use crate::{ADMIN, USER};

fn text_of(v: &AttributeValue) -> String {
    format!("{v:?}")
}

#[tokio::test]
async fn the_table_holds_no_secret_and_the_hash_only_in_its_attribute() {
    let app = App::start().await;
    let admin = app.mint("acme", "root", ADMIN).await;
    let mut secrets = vec![admin.clone()];
    for i in 0..5 {
        let r = app
            .post(
                "/tokens",
                &admin,
                json!({"name": format!("t{i}"), "user_id": "bob"}),
            )
            .await;
        secrets.push(r.json["secret"].as_str().unwrap().to_string());
        if i % 2 == 0 {
            let id = r.json["id"].as_str().unwrap();
            app.call(Method::DELETE, &format!("/tokens/{id}"), Some(&admin), None)
                .await;
        }
    }

    let items = app.scan_all().await;
    assert_eq!(items.len(), 6);
    for item in &items {
        let hash = match item.get(schema::SECRET_HASH) {
            Some(AttributeValue::S(h)) => h.clone(),
            other => panic!("no secret hash attribute: {other:?}"),
        };
        for (name, value) in item {
            let text = text_of(value);
            for s in &secrets {
                assert!(!text.contains(s.as_str()), "secret in {name}");
                // Not even the random part alone.
                assert!(
                    !text.contains(&s[s.len() - 33..s.len() - 6]),
                    "secret part in {name}"
                );
            }
            if name != schema::SECRET_HASH {
                assert!(!text.contains(&hash), "hash copied into {name}");
            }
        }
    }

    // The indexes never carry the hash.
    for (index, partition) in [
        (schema::BY_TENANT, "acme".to_string()),
        (schema::BY_OWNER, schema::owner_pk("acme", "bob")),
        (schema::BY_STATUS, schema::status_pk("acme", "revoked")),
    ] {
        let out = app
            .dynamodb
            .query()
            .table_name(&app.table)
            .index_name(index.name)
            .key_condition_expression("#p = :p")
            .expression_attribute_names("#p", index.partition_key)
            .expression_attribute_values(":p", AttributeValue::S(partition))
            .send()
            .await
            .unwrap();
        let found = out.items.unwrap_or_default();
        assert!(!found.is_empty(), "{} is empty", index.name);
        for item in found {
            assert!(
                !item.contains_key(schema::SECRET_HASH),
                "{} projects the hash",
                index.name
            );
        }
    }
}

#[tokio::test]
async fn revocation_moves_the_token_between_status_partitions() {
    let app = App::start().await;
    let (id, alice) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    let count = |status: &'static str| {
        let app = &app;
        async move {
            app.dynamodb
                .query()
                .table_name(&app.table)
                .index_name(schema::BY_STATUS.name)
                .key_condition_expression("#p = :p")
                .expression_attribute_names("#p", schema::BY_STATUS.partition_key)
                .expression_attribute_values(
                    ":p",
                    AttributeValue::S(schema::status_pk("acme", status)),
                )
                .send()
                .await
                .unwrap()
                .count
        }
    };
    assert_eq!((count("active").await, count("revoked").await), (1, 0));
    app.post(&format!("/tokens/{id}/revoke"), &alice, json!({}))
        .await;
    assert_eq!((count("active").await, count("revoked").await), (0, 1));
    // Revoked records are given a TTL so they are eventually purged.
    let item = &app.scan_all().await[0];
    assert!(matches!(
        item.get(schema::PURGE_AT),
        Some(AttributeValue::N(_))
    ));
}
