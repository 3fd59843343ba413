//! Lists a hostile user can shape: a caller limited to its own tokens reads only its own
//! partitions, the longest multibyte names page in every sort, and pages of the largest
//! tokens stay within Lambda's response limit.

use api_tokens::model::{Status, TokenItem};
use api_tokens::schema::SortField;
use api_tokens::service::listing::{ListQuery, Window};
use api_tokens::service::CreateInput;
use api_tokens::time;
use chrono::Duration;
use integration_tests::{principal, App};
use serde_json::{json, Value};

use super::days;
use crate::{ADMIN, USER};

#[tokio::test]
async fn a_users_lists_and_counts_read_only_that_users_tokens() {
    let app = App::start().await;
    let alice = principal("acme", "alice", &["tokens:read"]);
    for name in ["b", "a", "c"] {
        app.mint_with(
            "acme",
            "alice",
            USER,
            CreateInput {
                name: name.into(),
                expires_at: Some(time::now() + days(2)),
                ..Default::default()
            },
        )
        .await;
    }
    // Many tokens of another user, past their expiry but not yet swept: the tenant's
    // backlog, which a user's count must not read either.
    app.seed_with("acme", "bob", 600, |t| TokenItem {
        expires_at: Some(time::now() - Duration::minutes(1)),
        ..t
    })
    .await;
    for (what, q, total) in counted_queries() {
        let page = app.service.list(&alice, &q).await.unwrap();
        // The page and the count each read the user's own three tokens at most, and the
        // count one item of the tenant's backlog to learn that it has one.
        assert!(
            page.stats.items_read <= 2 * 3 + 1,
            "{what}: read {} items for a user with 3 tokens",
            page.stats.items_read
        );
        assert_eq!(page.total, Some(total), "{what}");
    }
    let names: Vec<String> = app
        .service
        .list(
            &alice,
            &ListQuery {
                descending: false,
                ..counted_by(SortField::Name)
            },
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["a", "b", "c"]);
}

/// A first page of alice's tokens with its total.
fn counted() -> ListQuery {
    ListQuery {
        include_total: true,
        ..ListQuery::default()
    }
}

fn counted_by(sort: SortField) -> ListQuery {
    ListQuery { sort, ..counted() }
}

/// Alice's lists with a count that could read beyond her own partitions: what each is, the
/// query, and the total it answers.
fn counted_queries() -> [(&'static str, ListQuery, u64); 7] {
    [
        (
            "sort=name&name=zzz",
            ListQuery {
                name: Some("zzz".into()),
                ..counted_by(SortField::Name)
            },
            0,
        ),
        ("sort=name", counted_by(SortField::Name), 3),
        ("sort=expires_at", counted_by(SortField::ExpiresAt), 3),
        (
            "sort=last_used_at&last_used_after=2020",
            ListQuery {
                last_used: Window {
                    after: time::parse("2020-01-01T00:00:00Z"),
                    before: None,
                },
                ..counted_by(SortField::LastUsedAt)
            },
            0,
        ),
        ("include_total_count", counted(), 3),
        (
            "status=active",
            ListQuery {
                statuses: Some([Status::Active].into()),
                ..counted()
            },
            3,
        ),
        (
            "scope=tokens:admin",
            ListQuery {
                scope: Some("tokens:admin".into()),
                ..counted()
            },
            0,
        ),
    ]
}

#[tokio::test]
async fn a_user_sort_walks_both_ways_and_refuses_beyond_the_read_budget() {
    let app = App::start_with(&[("LIST_READ_BUDGET", "40")]).await;
    let alice = app.mint("acme", "alice", USER).await;
    let mut seeded = app
        .seed_with("acme", "alice", 30, |t| TokenItem {
            name: format!("q-{}", &t.id.simple().to_string()[24..]),
            ..t
        })
        .await;
    seeded.sort_by_key(|t| t.name.clone());
    // Forward by name, one at a time, then all the way back.
    let mut seen = Vec::new();
    let mut path = "/tokens?sort=name&order=asc&limit=1&name=q-".to_string();
    loop {
        let r = app.get(&path, &alice).await;
        assert_eq!(r.status, 200, "{}", r.text);
        seen.extend(
            r.json["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_string()),
        );
        match r.json["next_cursor"].as_str() {
            Some(c) => path = format!("/tokens?sort=name&order=asc&limit=1&name=q-&cursor={c}"),
            None => break,
        }
    }
    let names: Vec<String> = seeded.iter().map(|t| t.name.clone()).collect();
    assert_eq!(seen, names);
    // A user with more tokens than the budget in the asked statuses: 422 naming `sort`.
    app.seed("acme", "alice", 20).await;
    let r = app.get("/tokens?sort=expires_at", &alice).await;
    r.assert_problem(422, "validation-error");
    assert_eq!(r.error_locs(), [r#"["query","sort"]"#]);
    assert_eq!(
        app.get("/tokens?limit=5", &alice).await.status,
        200,
        "creation order still pages"
    );
}

#[tokio::test]
async fn the_longest_multibyte_names_page_in_every_sort() {
    let app = App::start().await;
    let admin = app.mint("acme", "root", ADMIN).await;
    let alice = app.mint("acme", "alice", USER).await;
    for name in ["𝔸".repeat(128), "İ".repeat(128), "\u{10FFFF}".repeat(128)] {
        for token in [&admin, &alice] {
            let r = app
                .post(
                    "/tokens",
                    token,
                    json!({"name": name, "expires_in_days": 3}),
                )
                .await;
            assert_eq!(r.status, 201, "{}", r.text);
        }
    }
    for token in [&admin, &alice] {
        let total = app.get("/tokens?limit=1000", token).await.json["items"]
            .as_array()
            .unwrap()
            .len();
        for sort in ["name", "created_at", "expires_at", "last_used_at"] {
            for order in ["asc", "desc"] {
                let base = format!("/tokens?sort={sort}&order={order}&limit=1");
                let mut path = base.clone();
                let mut ids = std::collections::BTreeSet::new();
                loop {
                    let r = app.get(&path, token).await;
                    assert_eq!(r.status, 200, "{path}: {}", r.text);
                    for t in r.json["items"].as_array().unwrap() {
                        assert!(
                            ids.insert(t["id"].as_str().unwrap().to_string()),
                            "{path}: twice"
                        );
                    }
                    match r.json["next_cursor"].as_str() {
                        Some(c) => path = format!("{base}&cursor={c}"),
                        None => break,
                    }
                }
                assert_eq!(ids.len(), total, "{base}");
            }
        }
    }
}

#[tokio::test]
async fn a_page_of_the_largest_tokens_ends_before_lambdas_response_limit() {
    let app = App::start().await;
    let admin = app.mint("acme", "root", ADMIN).await;
    // What a user may store in each token: 20 labels of 512 characters that JSON escapes to
    // two bytes each, and the longest description.
    let largest = |t: TokenItem| TokenItem {
        description: Some("\"".repeat(1024)),
        metadata: (0..20)
            .map(|i| (format!("{i:0>64}"), "\\".repeat(512)))
            .collect(),
        ..t
    };
    let seeded = app.seed_with("acme", "mallory", 130, largest).await;
    let mut seen = std::collections::BTreeSet::new();
    let mut path = "/tokens?limit=1000".to_string();
    let mut pages = 0;
    loop {
        let (status, body) = app.get_bytes(&path, &admin).await;
        assert_eq!(status, 200);
        assert!(
            body.len() <= api_tokens::service::listing::MAX_PAGE_BYTES,
            "a page of {} bytes",
            body.len()
        );
        let page: Value = serde_json::from_slice(&body).unwrap();
        eprintln!(
            "page {pages}: {} tokens, {} bytes",
            page["items"].as_array().unwrap().len(),
            body.len()
        );
        for t in page["items"].as_array().unwrap() {
            assert!(seen.insert(t["id"].as_str().unwrap().to_string()));
        }
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/tokens?limit=1000&cursor={c}"),
            None => break,
        }
    }
    assert!(pages > 1);
    assert_eq!(seen.len(), seeded.len() + 1, "every token once, root's too");
}
