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
    let kind = |item: &std::collections::HashMap<String, AttributeValue>| match item.get(schema::PK)
    {
        Some(AttributeValue::S(pk)) => pk.split('#').next().unwrap_or_default().to_string(),
        _ => panic!("an item without pk"),
    };
    let count = |k: &str| items.iter().filter(|i| kind(i) == k).count();
    assert_eq!((count("TOKEN"), count("CRED")), (6, 6));
    assert!(count("COUNT") >= 2);
    let index_keys: Vec<&str> = schema::INDEXES
        .iter()
        .flat_map(|i| [i.partition_key(), i.sort_key()])
        .collect();
    for item in &items {
        let hash = match (kind(item).as_str(), item.get(schema::SECRET_HASH)) {
            ("CRED", Some(AttributeValue::S(h))) => {
                // Credentials carry no index key, so no index ever holds one.
                assert!(
                    index_keys.iter().all(|k| !item.contains_key(*k)),
                    "a credential in an index"
                );
                Some(h.clone())
            }
            ("CRED", other) => panic!("a credential without its hash: {other:?}"),
            (_, None) => None,
            (k, Some(_)) => panic!("a {k} item holds a secret hash"),
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
            if let Some(hash) = &hash {
                if name != schema::SECRET_HASH {
                    assert!(!text.contains(hash.as_str()), "hash copied into {name}");
                }
            }
        }
    }

    assert_indexes_hold_records_only(&app).await;
}

/// What the indexes hold, read back: records only, never a hash.
async fn assert_indexes_hold_records_only(app: &App) {
    for (index, partition) in [
        (schema::BY_TENANT, "acme#live".to_string()),
        (schema::BY_OWNER, "acme#bob#revoked".to_string()),
        (schema::BY_STATUS, "acme#revoked".to_string()),
    ] {
        let out = app
            .dynamodb
            .query()
            .table_name(&app.table)
            .index_name(index.name)
            .key_condition_expression("#p = :p")
            .expression_attribute_names("#p", index.partition_key())
            .expression_attribute_values(":p", AttributeValue::S(partition))
            .send()
            .await
            .unwrap();
        let found = out.items.unwrap_or_default();
        assert!(!found.is_empty(), "{} is empty", index.name);
        for item in found {
            assert!(
                !item.contains_key(schema::SECRET_HASH),
                "{} holds a hash",
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
                .expression_attribute_names("#p", schema::BY_STATUS.partition_key())
                .expression_attribute_values(":p", AttributeValue::S(format!("acme#{status}")))
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
    let items = app.scan_all().await;
    let record = items
        .iter()
        .find(|i| matches!(i.get(schema::PK), Some(AttributeValue::S(pk)) if pk.starts_with("TOKEN#")))
        .unwrap();
    assert!(matches!(
        record.get(schema::PURGE_AT),
        Some(AttributeValue::N(_))
    ));
}
