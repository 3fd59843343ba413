//! Cursors: pages stay exact while the tenant changes between fetches, a cursor continues
//! only its own query, and cursors of the longest sort keys still page both ways.

use std::collections::HashSet;

use api_tokens::model::{StoredStatus, TokenItem};
use api_tokens::schema::SortField;
use api_tokens::service::CreateInput;
use integration_tests::{principal, App};

use super::{page, world, USERS};
use crate::ADMIN;

#[tokio::test]
async fn pages_stay_exact_while_tokens_are_created_and_revoked_between_fetches() {
    let w = world().await;
    let root = principal("acme", "root", ADMIN);
    let before: Vec<&TokenItem> = w
        .all
        .iter()
        .filter(|t| t.status != StoredStatus::Revoked)
        .collect();
    // Victims are the dataset's tokens, never the admin token doing the walk.
    let revocable = |t: &&&TokenItem| USERS.contains(&t.user_id.as_str()) && t.created_by == "root";
    let mut seen: Vec<String> = Vec::new();
    let mut revoked_during = HashSet::new();
    let mut cursor: Option<String> = None;
    let mut round = 0;
    loop {
        let p = page(&w, &w.admin, "", cursor.as_deref()).await;
        seen.extend(p.ids.clone());
        // Between fetches: new tokens (newer than the walk, so before its position) and
        // revocations of tokens the walk has not reached yet.
        w.app
            .service
            .issue(
                "acme",
                "bob",
                "root",
                CreateInput {
                    name: format!("new {round}"),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        if let Some(victim) = before
            .iter()
            .rev()
            .filter(revocable)
            .find(|t| !seen.contains(&t.id.to_string()) && !revoked_during.contains(&t.id))
        {
            w.app
                .service
                .revoke(&root, &victim.id.to_string(), None)
                .await
                .unwrap();
            revoked_during.insert(victim.id);
        }
        round += 1;
        match p.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let expected: Vec<String> = {
        let mut e: Vec<&&TokenItem> = before
            .iter()
            .filter(|t| !revoked_during.contains(&t.id))
            .collect();
        e.sort_by_key(|t| std::cmp::Reverse(SortField::CreatedAt.key_of(t)));
        e.iter().map(|t| t.id.to_string()).collect()
    };
    assert!(!revoked_during.is_empty() && round > 5);
    assert_eq!(
        seen, expected,
        "no duplicates, no gaps, nothing revoked ahead of the walk"
    );
}

#[tokio::test]
async fn a_cursor_only_continues_the_query_it_came_from() {
    let w = world().await;
    let base = "status=active&sort=name";
    let c = page(&w, &w.admin, base, None).await.next.unwrap();
    assert_eq!(
        w.app
            .get(&format!("/tokens?{base}&cursor={c}&limit=5"), &w.admin)
            .await
            .status,
        200
    );
    for changed in [
        "status=expired&sort=name",
        "status=active&sort=created_at",
        "status=active&sort=name&order=desc",
        "status=active&sort=name&name=x",
        "status=active&sort=name&user_id=bob",
        "status=active&sort=name&scope=tokens:read",
        "status=active&sort=name&metadata.env=prod",
        "status=active&sort=name&created_after=2020-01-01T00:00:00Z",
        "sort=name",
    ] {
        let r = w
            .app
            .get(&format!("/tokens?{changed}&cursor={c}"), &w.admin)
            .await;
        r.assert_problem(400, "invalid-cursor");
    }
    let own = page(&w, &w.alice, "", None).await;
    let r = w
        .app
        .get(&format!("/tokens?cursor={}", own.next.unwrap()), &w.admin)
        .await;
    r.assert_problem(400, "invalid-cursor");
}

/// Names as long as allowed in the characters that make the longest sort keys: 128 of 4
/// bytes (`𝔸`, `𐐀` which lowercases to `𐐨`, also 4 bytes) and 128 of `İ` (2 bytes, 3 once
/// lowercased). Sorted by name, one per page, every cursor holds such a key: the walk forward
/// and back lists each token once, and no cursor is refused as too long.
#[tokio::test]
async fn names_of_128_widest_characters_page_by_name_both_ways() {
    let app = App::start().await;
    let admin = app.mint("acme", "root", ADMIN).await;
    let mut created = HashSet::new();
    for name in ["𝔸", "𐐀", "İ"] {
        for copy in 0..2 {
            // Equal names too: their order is the ids'.
            let name = match copy {
                0 => name.repeat(128),
                _ => format!("{}{}", name.repeat(127), 'Z'),
            };
            let r = app
                .post("/tokens", &admin, serde_json::json!({"name": name}))
                .await;
            assert_eq!(r.status, 201, "{}", r.text);
            created.insert(r.json["id"].as_str().unwrap().to_string());
        }
    }
    let records = app.records().await;
    assert!(created
        .iter()
        .all(|id| records.iter().any(|t| t.id.to_string() == *id)));
    let mut longest = 0;
    for desc in [false, true] {
        let mut expected: Vec<&TokenItem> = records.iter().collect();
        expected.sort_by_key(|t| SortField::Name.key_of(t));
        if desc {
            expected.reverse();
        }
        let expected: Vec<String> = expected.iter().map(|t| t.id.to_string()).collect();
        let query = format!(
            "sort=name&order={}&limit=1",
            if desc { "desc" } else { "asc" }
        );
        let fetch = |cursor: Option<String>| one_by_name(&app, &admin, &query, cursor);
        let (first, mut next, prev) = fetch(None).await;
        assert!(prev.is_none());
        let mut forward = vec![first];
        let mut last_prev = None;
        while let Some(c) = next {
            longest = longest.max(c.len());
            let (id, n, p) = fetch(Some(c)).await;
            forward.push(id);
            (next, last_prev) = (n, p);
            assert!(forward.len() <= expected.len(), "{query}: runaway walk");
        }
        assert_eq!(forward, expected, "{query}: forward walk");
        let mut backward = vec![forward.last().unwrap().clone()];
        let mut prev = last_prev;
        while let Some(c) = prev {
            longest = longest.max(c.len());
            let (id, _, p) = fetch(Some(c)).await;
            backward.push(id);
            prev = p;
            assert!(
                backward.len() <= expected.len(),
                "{query}: runaway backward walk"
            );
        }
        backward.reverse();
        assert_eq!(backward, expected, "{query}: backward walk");
    }
    // The walks went through cursors of the longest positions.
    assert_eq!(longest, api_tokens::cursor::MAX_CURSOR_LEN);
}

/// The one token of a page of `query` (limit 1) from `cursor` on, and the page's next and
/// previous cursors.
async fn one_by_name(
    app: &App,
    admin: &str,
    query: &str,
    cursor: Option<String>,
) -> (String, Option<String>, Option<String>) {
    let path = match cursor {
        Some(c) => format!("/tokens?{query}&cursor={c}"),
        None => format!("/tokens?{query}"),
    };
    let r = app.get(&path, admin).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    let ids: Vec<String> = r.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 1, "{path}: {}", r.text);
    let cursor = |k: &str| r.json[k].as_str().map(str::to_string);
    (ids[0].clone(), cursor("next_cursor"), cursor("prev_cursor"))
}
