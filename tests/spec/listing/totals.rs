//! Totals stay exact under concurrent writes, and an expired token moves between the
//! status filters and their counts.

use api_tokens::model::{Status, StoredStatus};
use api_tokens::service::listing::ListQuery;
use api_tokens::service::CreateInput;
use api_tokens::time;
use chrono::Duration;
use integration_tests::{principal, App};
use serde_json::Value;

use super::USERS;
use crate::{ADMIN, USER};

#[tokio::test]
async fn totals_stay_exact_under_concurrent_creates_and_revokes() {
    let app = App::start().await;
    let root = principal("acme", "root", ADMIN);
    race_creates_and_revokes(&app, &root).await;
    let total = |q: ListQuery, who: api_tokens::Principal| {
        let app = &app;
        async move {
            app.service
                .list(
                    &who,
                    &ListQuery {
                        include_total: true,
                        limit: 1,
                        ..q
                    },
                )
                .await
                .unwrap()
                .total
                .unwrap()
        }
    };
    assert_eq!(total(ListQuery::default(), root.clone()).await, 10);
    assert_eq!(
        total(
            ListQuery {
                include_revoked: true,
                ..Default::default()
            },
            root.clone()
        )
        .await,
        40
    );
    assert_eq!(
        total(
            ListQuery {
                statuses: Some([Status::Revoked].into()),
                ..Default::default()
            },
            root.clone()
        )
        .await,
        30
    );
    let per_user: u64 = futures_total(&app, &root).await;
    assert_eq!(per_user, 40);
}

/// Forty tokens over three users, created eight at a time; half revoked by two concurrent
/// revocations each, a quarter by the owner's `DELETE` racing an admin's revoke.
async fn race_creates_and_revokes(app: &App, root: &api_tokens::Principal) {
    // Eight writers at once (DynamoDB Local's lock timeouts; see `world`).
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(8));
    let mut set = tokio::task::JoinSet::new();
    for i in 0..40 {
        let service = app.service.clone();
        let root = root.clone();
        let gate = gate.clone();
        set.spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            let (t, _) = service
                .issue(
                    "acme",
                    USERS[i % 3],
                    "root",
                    CreateInput {
                        name: format!("t{i}"),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            let id = t.id.to_string();
            if i % 2 == 0 {
                // Two concurrent revocations of the same token: one wins, both succeed.
                let a = service.revoke(&root, &id, Some("a"));
                let b = service.revoke(&root, &id, Some("b"));
                let (a, b) = tokio::join!(a, b);
                assert_eq!(a.unwrap().revoked_at, b.unwrap().revoked_at);
            } else if i % 4 == 1 {
                // The owner's write-only `DELETE` races an admin's read-then-write revoke.
                let owner = principal("acme", USERS[i % 3], USER);
                let a = service.delete(&owner, &id, Some("a"));
                let b = service.revoke(&root, &id, Some("b"));
                let (a, b) = tokio::join!(a, b);
                a.unwrap();
                assert_eq!(b.unwrap().status, StoredStatus::Revoked);
            }
        });
    }
    set.join_all().await;
}

async fn futures_total(app: &App, root: &api_tokens::Principal) -> u64 {
    let mut sum = 0;
    for u in USERS {
        let q = ListQuery {
            user_id: Some(u.into()),
            include_revoked: true,
            include_total: true,
            limit: 1,
            ..Default::default()
        };
        sum += app.service.list(root, &q).await.unwrap().total.unwrap();
    }
    sum
}

#[tokio::test]
async fn a_token_reads_expired_at_once_and_joins_the_expired_filter_when_swept() {
    let app = App::start().await;
    let admin = app.mint("acme", "root", ADMIN).await;
    let soon = time::now() + Duration::milliseconds(800);
    let (id, _) = app
        .mint_with(
            "acme",
            "bob",
            &[],
            CreateInput {
                expires_at: Some(soon),
                ..Default::default()
            },
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(900)).await;
    let ids = |r: &integration_tests::Reply| -> Vec<String> {
        r.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect()
    };
    // Before the sweep: expired at once, gone from `active`, counted as expired.
    let r = app.get("/tokens?status=active", &admin).await;
    assert!(!ids(&r).contains(&id));
    let r = app
        .get("/tokens?include_total_count=true&status=expired", &admin)
        .await;
    assert_eq!(r.json["total"], 1);
    let r = app.get(&format!("/tokens/{id}"), &admin).await;
    assert_eq!(r.json["status"], "expired");
    // After the sweep: listed under `expired`, and the sweep is idempotent.
    assert_eq!(app.service.sweep_expired().await.unwrap(), 1);
    assert_eq!(app.service.sweep_expired().await.unwrap(), 0);
    let r = app
        .get("/tokens?status=expired&include_total_count=true", &admin)
        .await;
    assert_eq!(ids(&r), vec![id.clone()]);
    assert_eq!(r.json["total"], 1);
    // Revoking an expired token moves it (and its count) to revoked.
    assert_eq!(
        app.post(
            &format!("/tokens/{id}/revoke"),
            &admin,
            serde_json::json!({})
        )
        .await
        .status,
        200
    );
    let r = app
        .get("/tokens?status=revoked&include_total_count=true", &admin)
        .await;
    assert_eq!(
        (ids(&r), r.json["total"].clone()),
        (vec![id], Value::from(1))
    );
    let r = app
        .get("/tokens?status=expired&include_total_count=true", &admin)
        .await;
    assert_eq!(r.json["total"], 0);
}
