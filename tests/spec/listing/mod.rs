//! `GET /tokens` filters, sorts, two-way paging, totals and costs, over a mixed tenant.
//! Every expectation is computed from the stored records by an independent model.

mod costs;
mod cursors;
mod filters;
mod parameters;
mod totals;

use std::collections::HashSet;

use api_tokens::model::{Status, StoredStatus, TokenItem};
use api_tokens::schema::SortField;
use api_tokens::service::CreateInput;
use api_tokens::time::{self, Timestamp};
use chrono::Duration;
use integration_tests::{principal, App};

use crate::ADMIN;

const USERS: [&str; 3] = ["alice", "bob", "carol"];

struct World {
    app: App,
    admin: String,
    alice: String,
    /// Every record of tenant `acme`, final state.
    all: Vec<TokenItem>,
    /// A time inside the creation period.
    mid: Timestamp,
    now: Timestamp,
}

fn nth_input(i: usize, now: Timestamp) -> CreateInput {
    let names = [
        "Deploy {}",
        "ci-runner {}",
        "BACKUP key {}",
        "Ünïcode Ключ {}",
    ];
    let scopes: &[&[&str]] = &[
        &["tokens:read"],
        &["tokens:read", "orders:read"],
        &[],
        &["orders:read", "tokens:write"],
    ];
    let envs = ["prod", "staging", "dev"];
    CreateInput {
        name: names[i % 4].replace("{}", &i.to_string()),
        scopes: scopes[(i / 2) % 4].iter().map(|s| s.to_string()).collect(),
        metadata: [
            ("env".to_string(), envs[(i / 3) % 3].to_string()),
            ("team".to_string(), ["a", "b"][(i / 5) % 2].to_string()),
        ]
        .into(),
        expires_at: match i % 3 {
            0 => None,
            1 => Some(now + Duration::days(i as i64)),
            _ => Some(now + Duration::days(365) + Duration::hours(i as i64)),
        },
        ..Default::default()
    }
}

/// 240 tokens over three users, some expired (and swept), some revoked, half of them used;
/// and 20 tokens of another tenant with the same user ids.
async fn world() -> World {
    // A small read budget, so filtered pages also exercise budget stops and resumption.
    // Last-use recording off: the walks below must not change the records they compare with.
    let app = App::start_with(&[
        ("LIST_READ_BUDGET", "60"),
        ("LAST_USED_INTERVAL_SECONDS", "0"),
    ])
    .await;
    let admin = app.mint("acme", "root", ADMIN).await;
    let alice = app
        .mint("acme", "alice", &["tokens:read", "tokens:write"])
        .await;
    let now = time::now();
    // Eight at a time: DynamoDB Local times out transactions queued on one item long before
    // real DynamoDB would.
    let mut created = Vec::new();
    for chunk in (0..260).collect::<Vec<usize>>().chunks(8) {
        let mut set = tokio::task::JoinSet::new();
        for &i in chunk {
            let service = app.service.clone();
            set.spawn(async move {
                let (tenant, mut input) = if i < 240 {
                    ("acme", nth_input(i, now))
                } else {
                    ("globex", nth_input(i - 240, now))
                };
                if i < 240 && i % 20 == 7 {
                    input.expires_at = Some(time::now() + Duration::milliseconds(1200));
                }
                service
                    .issue(tenant, USERS[i % 3], "root", input)
                    .await
                    .unwrap()
                    .0
            });
        }
        created.extend(set.join_all().await);
    }
    let root = principal("acme", "root", ADMIN);
    for t in created.iter().filter(|t| t.tenant_id == "acme") {
        let n = t
            .name
            .split(' ')
            .next_back()
            .unwrap()
            .parse::<usize>()
            .unwrap();
        if n % 5 == 0 {
            app.service
                .revoke(&root, &t.id.to_string(), Some("test"))
                .await
                .unwrap();
        }
        if n % 2 == 0 {
            app.touch(t.id, now - Duration::minutes(n as i64)).await;
        }
    }
    integration_tests::sleep_past(last_short_expiry(&created).unwrap_or(now), 20).await;
    assert!(
        app.service.sweep_expired().await.unwrap() > 0,
        "the sweeper moved the expired tokens"
    );
    let all: Vec<TokenItem> = app
        .records()
        .await
        .into_iter()
        .filter(|t| t.tenant_id == "acme")
        .collect();
    assert!(all.iter().any(|t| t.status == StoredStatus::Expired));
    let mut times: Vec<Timestamp> = all.iter().map(|t| t.created_at).collect();
    times.sort();
    World {
        mid: times[times.len() / 2],
        app,
        admin,
        alice,
        all,
        now,
    }
}

/// The latest expiry within the next minute among `created` (the tokens made to expire while
/// the world is built): the sweep comes after it, whenever the revocations finished.
fn last_short_expiry(created: &[TokenItem]) -> Option<Timestamp> {
    let soon = time::now() + Duration::minutes(1);
    created
        .iter()
        .filter_map(|t| t.expires_at)
        .filter(|e| *e < soon)
        .max()
}

/// What a page body says.
struct Page {
    ids: Vec<String>,
    next: Option<String>,
    prev: Option<String>,
}

async fn page(w: &World, token: &str, query: &str, cursor: Option<&str>) -> Page {
    let mut path = format!("/tokens?limit=13&{query}");
    if let Some(c) = cursor {
        path.push_str(&format!("&cursor={c}"));
    }
    let r = w.app.get(&path, token).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    let ids = r.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(r.json["has_next"], r.json["next_cursor"].is_string());
    assert_eq!(r.json["has_prev"], r.json["prev_cursor"].is_string());
    Page {
        ids,
        next: r.json["next_cursor"].as_str().map(str::to_string),
        prev: r.json["prev_cursor"].as_str().map(str::to_string),
    }
}

/// Walks `query` forward to the end and back to the start; both walks, and the total, must
/// give exactly the records `expect` selects, in `sort` order.
async fn check(
    w: &World,
    token: &str,
    query: &str,
    expect: impl Fn(&TokenItem) -> bool,
    sort: SortField,
    desc: bool,
) {
    let mut expected: Vec<&TokenItem> = w.all.iter().filter(|t| expect(t)).collect();
    expected.sort_by_key(|t| sort.key_of(t));
    if desc {
        expected.reverse();
    }
    let expected: Vec<String> = expected.iter().map(|t| t.id.to_string()).collect();
    assert!(!expected.is_empty(), "{query}: the model selects nothing");

    let mut forward = Vec::new();
    let first = page(w, token, query, None).await;
    assert!(
        first.prev.is_none(),
        "{query}: the first page has a prev cursor"
    );
    let mut last = first;
    loop {
        forward.extend(last.ids.clone());
        match last.next.clone() {
            Some(c) => last = page(w, token, query, Some(&c)).await,
            None => break,
        }
        assert!(forward.len() <= w.all.len() * 2, "{query}: runaway walk");
    }
    assert_eq!(
        forward.len(),
        forward.iter().collect::<HashSet<_>>().len(),
        "{query}: duplicates"
    );
    assert_eq!(forward, expected, "{query}: forward walk");

    // Back from the last page to the first.
    let mut backward: Vec<Vec<String>> = vec![last.ids.clone()];
    let mut cursor = last.prev.clone();
    while let Some(c) = cursor {
        let p = page(w, token, query, Some(&c)).await;
        backward.push(p.ids.clone());
        cursor = p.prev;
        assert!(
            backward.len() <= w.all.len(),
            "{query}: runaway backward walk"
        );
    }
    let backward: Vec<String> = backward.into_iter().rev().flatten().collect();
    assert_eq!(backward, expected, "{query}: backward walk");

    let r = w
        .app
        .get(
            &format!("/tokens?{query}&include_total_count=true&limit=1"),
            token,
        )
        .await;
    assert_eq!(r.json["total"], expected.len(), "{query}: total");
    assert_eq!(r.json["total_capped"], false);
}

fn status(w: &World, t: &TokenItem) -> Status {
    t.status_at(w.now.max(time::now()))
}
