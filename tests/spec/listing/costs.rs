//! What a list costs: key-condition filters read one page plus one item in one `Query`,
//! totals come from the counters, and other filters stop at the read budget.

use api_tokens::model::{Status, StoredStatus};
use api_tokens::schema::SortField;
use api_tokens::service::listing::ListQuery;
use api_tokens::Principal;
use integration_tests::principal;

use super::{world, World};
use crate::ADMIN;

fn query(q: ListQuery) -> ListQuery {
    ListQuery { limit: 10, ..q }
}

#[tokio::test]
async fn key_condition_filters_read_exactly_one_page_plus_one_item_in_one_query() {
    let w = world().await;
    let root = principal("acme", "root", ADMIN);
    let bob = principal("acme", "bob", &["tokens:read"]);
    for (what, caller, q) in key_condition_cases(&w, &root, &bob) {
        let mut cursor = None;
        for page_no in 0..2 {
            let r = w
                .app
                .service
                .list(
                    caller,
                    &ListQuery {
                        cursor: cursor.clone(),
                        ..q.clone()
                    },
                )
                .await
                .unwrap();
            assert_eq!(r.items.len(), 10, "{what}");
            assert_eq!(r.stats.requests, 1, "{what} page {page_no}: one Query");
            assert_eq!(
                r.stats.items_read, 11,
                "{what} page {page_no}: items read = returned + 1"
            );
            // DynamoDB's own figure: eventually consistent reads of small items.
            assert!(
                r.stats.capacity > 0.0 && r.stats.capacity <= 11.0 * 0.5,
                "{what}: {} RCU",
                r.stats.capacity
            );
            cursor = r.next_cursor;
        }
    }
    totals_cost_one_batch_get_beside_one_query(&w, &root).await;
    token_ids_read_only_those_ids(&w, &root).await;
    other_filters_stop_at_the_read_budget(&w, &root).await;
}

/// Lists whose filters are key conditions: what each is, who lists, and the query.
fn key_condition_cases<'a>(
    w: &World,
    root: &'a Principal,
    bob: &'a Principal,
) -> Vec<(&'static str, &'a Principal, ListQuery)> {
    vec![
        ("tenant default", root, query(ListQuery::default())),
        (
            "status",
            root,
            query(ListQuery {
                statuses: Some([Status::Revoked].into()),
                ..Default::default()
            }),
        ),
        (
            "status active",
            root,
            query(ListQuery {
                statuses: Some([Status::Active].into()),
                ..Default::default()
            }),
        ),
        (
            "owner",
            root,
            query(ListQuery {
                user_id: Some("bob".into()),
                ..Default::default()
            }),
        ),
        (
            "owner+status",
            root,
            query(ListQuery {
                user_id: Some("bob".into()),
                statuses: Some([Status::Active].into()),
                ..Default::default()
            }),
        ),
        ("own tokens", bob, query(ListQuery::default())),
        (
            "sort by name within a status",
            root,
            query(ListQuery {
                sort: SortField::Name,
                statuses: Some([Status::Active].into()),
                descending: false,
                ..Default::default()
            }),
        ),
        (
            "created window",
            root,
            query(ListQuery {
                created: api_tokens::service::listing::Window {
                    after: Some(w.mid),
                    before: None,
                },
                ..Default::default()
            }),
        ),
    ]
}

/// Counters make totals one `BatchGetItem`, exact; beside it, one `Query` of the sweeper's
/// backlog (empty here) keeps them exact while tokens await the sweeper.
async fn totals_cost_one_batch_get_beside_one_query(w: &World, root: &Principal) {
    let q = ListQuery {
        include_total: true,
        statuses: Some([Status::Revoked].into()),
        ..query(ListQuery::default())
    };
    let r = w.app.service.list(root, &q).await.unwrap();
    assert_eq!(r.stats.requests, 3);
    assert_eq!(
        r.total,
        Some(
            w.all
                .iter()
                .filter(|t| t.status == StoredStatus::Revoked)
                .count() as u64
        )
    );
}

/// token_ids: one `BatchGetItem`, reading only those ids.
async fn token_ids_read_only_those_ids(w: &World, root: &Principal) {
    let ids: Vec<_> = w.all.iter().take(5).map(|t| t.id).collect();
    let r = w
        .app
        .service
        .list(
            root,
            &ListQuery {
                token_ids: Some(ids),
                include_revoked: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (r.stats.requests, r.stats.items_read, r.items.len()),
        (1, 5, 5)
    );
}

/// A filter that is not a key condition stops at the read budget (60 here) and says where.
async fn other_filters_stop_at_the_read_budget(w: &World, root: &Principal) {
    let r = w
        .app
        .service
        .list(
            root,
            &ListQuery {
                name: Some("no such name".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(r.items.is_empty() && r.next_cursor.is_some());
    assert!(
        r.stats.items_read <= 60,
        "{} items read",
        r.stats.items_read
    );
}
