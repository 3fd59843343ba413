//! Records nothing can read: every reader skips them, and no background job stops for them.

use std::collections::HashMap;

use api_tokens::model::{StoredStatus, TokenItem};
use api_tokens::service::CreateInput;
use api_tokens::store::TokenStore;
use api_tokens::{metrics, schema, time};
use aws_sdk_dynamodb::types::AttributeValue as A;
use chrono::Duration;
use integration_tests::{sample_token, App};

use super::days;
use crate::revocation_events::{Fault, Faulty};
use crate::{ADMIN, USER};

/// Damaged records of `user`, each with the index keys of an active token that expired a
/// minute ago (so lists, counts, the sweeper and bulk revocation all meet them): bad times,
/// missing fields, wrong types. Returns their ids.
async fn damaged_records(app: &App, tenant: &str, user: &str) -> Vec<uuid::Uuid> {
    type Edit = fn(&mut HashMap<String, A>);
    let edits: [Edit; 9] = [
        |i| {
            i.insert(
                "created_at".into(),
                A::S("+10000-01-01T00:00:00.000Z".into()),
            );
        },
        |i| {
            i.insert("expires_at".into(), A::S("not a time".into()));
        },
        |i| {
            i.remove("name");
        },
        |i| {
            i.remove("id");
        },
        |i| {
            i.insert("scopes".into(), A::N("5".into()));
        },
        |i| {
            i.insert("status".into(), A::S("zombie".into()));
        },
        |i| {
            i.insert("metadata".into(), A::S("{}".into()));
        },
        |i| {
            i.insert("id".into(), A::S("not-a-uuid".into()));
        },
        |i| {
            i.insert("updated_at".into(), A::Bool(true));
        },
    ];
    let mut ids = Vec::new();
    for edit in edits {
        let t = TokenItem {
            expires_at: Some(time::now() - Duration::minutes(1)),
            ..sample_token(tenant, user)
        };
        app.put_record(&t, edit).await;
        // The credential is intact: the token still verifies until it is revoked.
        app.dynamodb
            .put_item()
            .table_name(&app.table)
            .set_item(Some(HashMap::from([
                ("pk".to_string(), A::S(schema::credential_pk(t.id))),
                ("tenant_id".into(), A::S(tenant.into())),
                ("user_id".into(), A::S(user.into())),
                ("scopes".into(), A::L(vec![])),
                ("status".into(), A::S("active".into())),
                (schema::SECRET_HASH.into(), A::S("not-a-real-hash".into())),
            ])))
            .send()
            .await
            .unwrap();
        ids.push(t.id);
    }
    ids
}

#[tokio::test]
async fn damaged_records_are_skipped_by_every_reader_and_never_stop_a_job() {
    let app = App::start().await;
    let admin = app.mint("acme", "root", ADMIN).await;
    let (_, alice) = app
        .mint_with("acme", "alice", USER, CreateInput::default())
        .await;
    let good: Vec<TokenItem> = app
        .seed_with("acme", "alice", 12, |t| TokenItem {
            expires_at: Some(time::now() + days(1)),
            ..t
        })
        .await;
    let due: Vec<TokenItem> = app
        .seed_with("acme", "alice", 3, |t| TokenItem {
            expires_at: Some(time::now() - Duration::minutes(1)),
            ..t
        })
        .await;
    let unreadable_before = metrics::unreadable_records();
    let damaged = damaged_records(&app, "acme", "alice").await;

    // Lists: every sort and direction, page by page, for the admin and for alice; each good
    // token once, the damaged ones nowhere, and no error.
    let readable = 1 + good.len() + due.len();
    for (token, expected) in [(&admin, readable + 1), (&alice, readable)] {
        assert_every_sort_lists_only_readable(&app, token, expected, &damaged).await;
    }
    let ids: Vec<String> = damaged
        .iter()
        .chain([&good[0].id])
        .map(|i| i.to_string())
        .collect();
    let r = app
        .get(&format!("/tokens?token_ids={}", ids.join(",")), &admin)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["items"].as_array().unwrap().len(), 1);
    for id in &damaged {
        app.get(&format!("/tokens/{id}"), &admin)
            .await
            .assert_problem(404, "token-not-found");
    }

    // The sweeper moves the readable due tokens and steps over the damaged ones.
    assert_eq!(app.service.sweep_expired().await.unwrap(), due.len());
    assert_eq!(app.service.sweep_expired().await.unwrap(), 0);

    // Bulk revocation finishes; damaged records whose tenant, owner and status are intact
    // are revoked too, so their tokens stop working.
    let done = app
        .service
        .revoke_user("acme", "alice", "idp", None, Some("offboarded"), None)
        .await
        .unwrap();
    assert!(done.complete, "{done:?}");
    // Alice's own token, the good ones still active, and every damaged one: by its record
    // where its tenant, owner and status are intact, by its credential alone otherwise (the
    // `zombie` status).
    assert_eq!(done.revoked, 1 + good.len() + damaged.len(), "{done:?}");
    assert_eq!(done.unchanged, 0, "{done:?}");
    for id in &damaged {
        let cred = app.service.store().credential(*id).await.unwrap().unwrap();
        assert_eq!(
            cred.status,
            StoredStatus::Revoked,
            "{id}: its token stops verifying"
        );
    }
    assert!(done.unreadable >= damaged.len() - 1, "{done:?}");
    let r = app.get("/tokens?status=active", &admin).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json["items"].as_array().unwrap().len(),
        1,
        "only root's token is active"
    );

    assert!(metrics::unreadable_records() >= unreadable_before + damaged.len() as u64);
}

/// Walks every sort, two tokens a page, as `token`: `expected` tokens each once, none of the
/// `damaged` ones, and no error.
async fn assert_every_sort_lists_only_readable(
    app: &App,
    token: &str,
    expected: usize,
    damaged: &[uuid::Uuid],
) {
    for sort in ["created_at", "name", "expires_at", "last_used_at"] {
        let base = format!("/tokens?sort={sort}&limit=2&include_total_count=true");
        let mut path = base.clone();
        let mut seen = std::collections::BTreeSet::new();
        loop {
            let r = app.get(&path, token).await;
            assert_eq!(r.status, 200, "{path}: {}", r.text);
            for t in r.json["items"].as_array().unwrap() {
                let id: uuid::Uuid = t["id"].as_str().unwrap().parse().unwrap();
                assert!(!damaged.contains(&id));
                assert!(seen.insert(id));
            }
            match r.json["next_cursor"].as_str() {
                Some(c) => path = format!("{base}&cursor={c}"),
                None => break,
            }
        }
        assert_eq!(seen.len(), expected, "{base}");
    }
}

#[tokio::test]
async fn a_failing_shard_does_not_stop_the_sweep_of_the_others() {
    let app = App::start().await;
    // Four tokens in each `by_due` shard (ids picked so: random ids leave a shard empty
    // about once in a hundred runs).
    let next = std::cell::Cell::new(0u128);
    let due: Vec<TokenItem> = app
        .seed_with("acme", "alice", 16, |t| {
            let shard = next.replace(next.get() + 1) % u128::from(schema::DUE_SHARDS);
            let id = t.id.as_u128() - t.id.as_u128() % u128::from(schema::DUE_SHARDS) + shard;
            TokenItem {
                id: uuid::Uuid::from_u128(id),
                expires_at: Some(time::now() - Duration::minutes(1)),
                ..t
            }
        })
        .await;
    assert!(due.iter().any(|t| schema::due_shard(t.id) == 0));
    // Every sweep step of shard 0 fails.
    let broken = Faulty::new(app.service.store().clone(), Fault::FailSweepShard(0));
    let service = api_tokens::TokenService::new(broken, &app.config);
    let err = service.sweep_expired().await.unwrap_err();
    assert!(err.to_string().contains("shard 0"), "{err}");
    let still_due: Vec<_> = app
        .records()
        .await
        .into_iter()
        .filter(|t| {
            t.status == StoredStatus::Active && t.expires_at.is_some_and(|e| e <= time::now())
        })
        .collect();
    assert!(!still_due.is_empty());
    assert!(
        still_due.iter().all(|t| schema::due_shard(t.id) == 0),
        "every other shard was swept"
    );
    assert!(due.iter().any(|t| schema::due_shard(t.id) != 0));
}
