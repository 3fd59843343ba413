//! `GET /tokens`

use std::collections::HashSet;

use api_tokens::schema;
use futures_util::StreamExt;
use integration_tests::App;
use serde_json::Value;

use crate::{ADMIN, USER};

/// Mints `n` tokens for `user` and returns their ids, newest first (the list order).
async fn mint_many(app: &App, tenant: &str, user: &str, n: usize) -> Vec<String> {
    // Eight at a time: DynamoDB Local times out transactions queued on one counter item.
    let mut items: Vec<_> = futures_util::stream::iter(0..n)
        .map(|i| {
            let input = api_tokens::service::CreateInput {
                name: format!("token {i}"),
                ..Default::default()
            };
            let service = app.service.clone();
            let (tenant, user) = (tenant.to_string(), user.to_string());
            async move { service.issue(&tenant, &user, &user, input).await.unwrap().0 }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    items.sort_by_key(|t| std::cmp::Reverse(schema::created_sk(&t.created_at, t.id)));
    items.into_iter().map(|t| t.id.to_string()).collect()
}

/// Follows `next_cursor` from `first` to the end; returns every id in order and the pages.
async fn walk(app: &App, token: &str, first: &str) -> (Vec<String>, usize) {
    let (mut ids, mut pages, mut path) = (Vec::new(), 0, first.to_string());
    loop {
        let r = app.get(&path, token).await;
        assert_eq!(r.status, 200, "{}", r.text);
        pages += 1;
        let items = r.json["items"].as_array().unwrap();
        ids.extend(items.iter().map(|t| t["id"].as_str().unwrap().to_string()));
        assert_eq!(r.json["has_next"], r.json["next_cursor"].is_string());
        match r.json["next_cursor"].as_str() {
            Some(c) => {
                assert!(!items.is_empty(), "a page with a next cursor was empty");
                path = format!("{}&cursor={c}", first.split("&cursor").next().unwrap());
            }
            None => return (ids, pages),
        }
        assert!(pages < 1000, "the walk does not end");
    }
}

#[tokio::test]
async fn a_cursor_walk_over_250_tokens_returns_each_exactly_once_newest_first() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let mut expected = mint_many(&app, "acme", "alice", 249).await;
    // Alice's own token is the oldest.
    let own = app.get("/tokens?limit=1000", &alice).await.json["items"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    expected.push(own);

    let (ids, pages) = walk(&app, &alice, "/tokens?limit=7").await;
    assert_eq!(ids.len(), 250);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 250, "duplicates");
    assert_eq!(ids, expected, "not newest first with ties broken by id");
    assert_eq!(pages, 250usize.div_ceil(7));
}

#[tokio::test]
async fn pages_default_to_50_and_the_last_full_page_says_there_is_no_next() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    mint_many(&app, "acme", "alice", 59).await; // 60 with alice's own

    let r = app.get("/tokens", &alice).await;
    assert_eq!(r.json["limit"], 50);
    assert_eq!(r.json["items"].as_array().unwrap().len(), 50);
    assert_eq!(r.json["has_next"], true);

    // Exactly 60 in pages of 30: the second page is full and final, with no empty third page.
    let (ids, pages) = walk(&app, &alice, "/tokens?limit=30").await;
    assert_eq!((ids.len(), pages), (60, 2));
}

#[tokio::test]
async fn users_list_their_own_tokens_and_admins_the_whole_tenant() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let bob = app.mint("acme", "bob", USER).await;
    let admin = app.mint("acme", "root", ADMIN).await;
    app.mint("globex", "mallory", ADMIN).await;
    mint_many(&app, "acme", "bob", 3).await;

    let owners = |r: &Value| -> Vec<String> {
        r["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["user_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(owners(&app.get("/tokens", &alice).await.json), ["alice"]);
    assert_eq!(owners(&app.get("/tokens", &bob).await.json), ["bob"; 4]);
    let mut all = owners(&app.get("/tokens", &admin).await.json);
    all.sort();
    assert_eq!(all, ["alice", "bob", "bob", "bob", "bob", "root"]);
}

#[tokio::test]
async fn list_items_carry_no_secret_material() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let r = app.get("/tokens", &alice).await;
    let item = &r.json["items"][0];
    assert!(item.get("secret").is_none() && item.get("secret_hash").is_none());
    assert!(!r.text.contains(&alice));
    assert!(!r.text.contains("TOKEN#") && !r.text.contains("sort_key"));
}

#[tokio::test]
async fn bad_parameters_are_422_naming_the_parameter() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    for (query, loc, kind) in [
        ("limit=0", "limit", "greater_than_equal"),
        ("limit=1001", "limit", "less_than_equal"),
        ("limit=-5", "limit", "greater_than_equal"),
        ("limit=ten", "limit", "int_parsing"),
        ("limit=1.5", "limit", "int_parsing"),
        ("limit=99999999999999999999999", "limit", "int_parsing"),
        ("limit=5&limit=6", "limit", "multiple_values"),
        ("limt=5", "limt", "extra_forbidden"),
    ] {
        let r = app.get(&format!("/tokens?{query}"), &alice).await;
        r.assert_problem(422, "validation-error");
        assert_eq!(
            r.json["errors"][0]["loc"],
            serde_json::json!(["query", loc]),
            "{query}"
        );
        assert_eq!(r.json["errors"][0]["type"], kind, "{query}");
    }
    assert_eq!(app.get("/tokens?limit=1000", &alice).await.status, 200);
    assert_eq!(app.get("/tokens?limit=1", &alice).await.status, 200);
}

#[tokio::test]
async fn a_cursor_is_only_good_for_the_caller_and_query_it_came_from() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let alice2 = app.mint("acme", "alice", USER).await; // another token of the same user
    let bob = app.mint("acme", "bob", USER).await;
    let admin = app.mint("acme", "root", ADMIN).await;
    let foreign = app.mint("globex", "alice", USER).await;
    mint_many(&app, "acme", "alice", 4).await;

    let cursor = app.get("/tokens?limit=2", &alice).await.json["next_cursor"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(cursor.len() < 200 && !cursor.contains("TOKEN") && !cursor.contains("acme"));
    let next = |c: &str| format!("/tokens?limit=2&cursor={c}");
    assert_eq!(app.get(&next(&cursor), &alice).await.status, 200);
    // The same user may page on with another of their tokens.
    assert_eq!(app.get(&next(&cursor), &alice2).await.status, 200);
    // Changing the page size keeps the query the same.
    assert_eq!(
        app.get(&format!("/tokens?limit=3&cursor={cursor}"), &alice)
            .await
            .status,
        200
    );

    let mut edited = cursor.clone().into_bytes();
    edited[10] = if edited[10] == b'A' { b'B' } else { b'A' };
    let edited = String::from_utf8(edited).unwrap();
    for (what, token, c) in [
        ("edited", &alice, edited.as_str()),
        ("truncated", &alice, &cursor[..cursor.len() - 4]),
        ("garbage", &alice, "not-a-cursor"),
        ("another user", &bob, cursor.as_str()),
        ("an admin (another query)", &admin, cursor.as_str()),
        ("another tenant, same user id", &foreign, cursor.as_str()),
    ] {
        let r = app.get(&next(c), token).await;
        assert_eq!(r.status, 400, "{what}: {}", r.text);
        r.assert_problem(400, "invalid-cursor");
    }
    app.get("/tokens?cursor=", &alice)
        .await
        .assert_problem(400, "invalid-cursor");
}
