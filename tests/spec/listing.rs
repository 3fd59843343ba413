//! `GET /tokens` filters, sorts, two-way paging, totals and costs, over a mixed tenant.
//! Every expectation is computed from the stored records by an independent model.

use std::collections::HashSet;

use api_tokens::model::{Status, StoredStatus, TokenItem};
use api_tokens::schema::SortField;
use api_tokens::service::listing::ListQuery;
use api_tokens::service::CreateInput;
use api_tokens::time::{self, Timestamp};
use chrono::Duration;
use integration_tests::{principal, App};
use serde_json::Value;

use crate::{ADMIN, USER};

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
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
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

#[tokio::test]
async fn every_filter_and_sort_walks_both_ways_to_exactly_the_expected_tokens() {
    let w = world().await;
    let live = |t: &TokenItem| status(&w, t) != Status::Revoked;
    let (admin, alice) = (w.admin.as_str(), w.alice.as_str());
    let created = SortField::CreatedAt;
    let tomorrow_month = time::format(&(w.now + Duration::days(30)));
    let later = time::format(&(w.now + Duration::days(200)));
    let mid = time::format(&w.mid);
    let recent = time::format(&(w.now - Duration::minutes(60)));

    check(&w, admin, "", live, created, true).await;
    check(&w, admin, "include_revoked=true", |_| true, created, true).await;
    check(
        &w,
        admin,
        "status=revoked",
        |t| status(&w, t) == Status::Revoked,
        created,
        true,
    )
    .await;
    check(
        &w,
        admin,
        "status=active",
        |t| status(&w, t) == Status::Active,
        created,
        true,
    )
    .await;
    check(
        &w,
        admin,
        "status=expired",
        |t| status(&w, t) == Status::Expired,
        created,
        true,
    )
    .await;
    check(
        &w,
        admin,
        "status=active,revoked",
        |t| status(&w, t) != Status::Expired,
        created,
        true,
    )
    .await;
    check(
        &w,
        admin,
        "status=active&status=expired&order=asc",
        live,
        created,
        false,
    )
    .await;
    check(
        &w,
        admin,
        "user_id=bob",
        |t| t.user_id == "bob" && live(t),
        created,
        true,
    )
    .await;
    check(
        &w,
        admin,
        "user_id=bob&status=revoked",
        |t| t.user_id == "bob" && status(&w, t) == Status::Revoked,
        created,
        true,
    )
    .await;
    check(
        &w,
        admin,
        "user_id=carol&include_revoked=true&order=asc",
        |t| t.user_id == "carol",
        created,
        false,
    )
    .await;
    check(
        &w,
        alice,
        "",
        |t| t.user_id == "alice" && live(t),
        created,
        true,
    )
    .await;
    check(
        &w,
        alice,
        "status=expired",
        |t| t.user_id == "alice" && status(&w, t) == Status::Expired,
        created,
        true,
    )
    .await;
    check(
        &w,
        admin,
        "name=DEPLOY",
        |t| live(t) && t.name.to_lowercase().contains("deploy"),
        created,
        true,
    )
    .await;
    check(
        &w,
        admin,
        "name=%C3%BCn%C3%AF",
        |t| live(t) && t.name.to_lowercase().contains("ünï"),
        created,
        true,
    )
    .await;
    check(
        &w,
        admin,
        "scope=orders:read",
        |t| live(t) && t.scopes.iter().any(|s| s == "orders:read"),
        created,
        true,
    )
    .await;
    check(
        &w,
        admin,
        "metadata.env=prod&metadata.team=a",
        |t| {
            live(t)
                && t.metadata.get("env").is_some_and(|v| v == "prod")
                && t.metadata.get("team").is_some_and(|v| v == "a")
        },
        created,
        true,
    )
    .await;
    check(
        &w,
        admin,
        &format!("created_after={mid}"),
        |t| live(t) && t.created_at > w.mid,
        created,
        true,
    )
    .await;
    check(
        &w,
        admin,
        &format!("created_before={mid}&order=asc"),
        |t| live(t) && t.created_at < w.mid,
        created,
        false,
    )
    .await;
    check(
        &w,
        admin,
        &format!("expires_before={tomorrow_month}"),
        |t| live(t) && t.expires_at.is_some_and(|e| e < w.now + Duration::days(30)),
        created,
        true,
    )
    .await;
    check(
        &w,
        admin,
        &format!("expires_after={later}&sort=expires_at&order=asc"),
        |t| live(t) && t.expires_at.is_none_or(|e| e > w.now + Duration::days(200)),
        SortField::ExpiresAt,
        false,
    )
    .await;
    check(
        &w,
        admin,
        &format!("last_used_after={recent}&include_revoked=true"),
        |t| {
            t.last_used_at
                .is_some_and(|u| u > w.now - Duration::minutes(60))
        },
        created,
        true,
    )
    .await;
    check(&w, admin, "sort=name", live, SortField::Name, false).await;
    check(
        &w,
        admin,
        "sort=name&order=desc&status=revoked",
        |t| status(&w, t) == Status::Revoked,
        SortField::Name,
        true,
    )
    .await;
    check(
        &w,
        admin,
        "sort=expires_at",
        live,
        SortField::ExpiresAt,
        true,
    )
    .await;
    check(
        &w,
        admin,
        "sort=last_used_at&include_revoked=true",
        |_| true,
        SortField::LastUsedAt,
        true,
    )
    .await;
    check(
        &w,
        admin,
        &format!("sort=last_used_at&order=asc&last_used_before={recent}"),
        |t| {
            live(t)
                && t.last_used_at
                    .is_some_and(|u| u < w.now - Duration::minutes(60))
        },
        SortField::LastUsedAt,
        false,
    )
    .await;
    // One user's tokens in another order than creation are all read from that user's own
    // partitions and ordered in memory: past the read budget (60 here; each user has about
    // 64 live tokens) that is a 422 naming `sort`, never a read of the tenant's partitions.
    // `hostile::a_user_sort_walks_both_ways_and_refuses_beyond_the_read_budget` walks them.
    for (token, query) in [
        (admin, "sort=name&user_id=carol&name=key"),
        (alice, "sort=expires_at&order=asc&scope=tokens:read"),
    ] {
        let r = w.app.get(&format!("/tokens?{query}"), token).await;
        r.assert_problem(422, "validation-error");
        assert_eq!(r.error_locs(), [r#"["query","sort"]"#], "{query}");
    }

    // token_ids: a mix of live, revoked, other users' and another tenant's ids.
    let mut picked: Vec<String> = w.all.iter().step_by(7).map(|t| t.id.to_string()).collect();
    let foreign = w
        .app
        .records()
        .await
        .into_iter()
        .find(|t| t.tenant_id == "globex")
        .unwrap();
    picked.push(foreign.id.to_string());
    let wanted: HashSet<String> = picked.iter().cloned().collect();
    let ids = picked.join(",");
    check(
        &w,
        admin,
        &format!("token_ids={ids}"),
        |t| live(t) && wanted.contains(&t.id.to_string()),
        created,
        true,
    )
    .await;
    check(
        &w,
        alice,
        &format!("token_ids={ids}&sort=name&include_revoked=true"),
        |t| t.user_id == "alice" && wanted.contains(&t.id.to_string()),
        SortField::Name,
        false,
    )
    .await;
}

fn query(q: ListQuery) -> ListQuery {
    ListQuery { limit: 10, ..q }
}

#[tokio::test]
async fn key_condition_filters_read_exactly_one_page_plus_one_item_in_one_query() {
    let w = world().await;
    let root = principal("acme", "root", ADMIN);
    let bob = principal("acme", "bob", &["tokens:read"]);
    let cases: Vec<(&str, &api_tokens::Principal, ListQuery)> = vec![
        ("tenant default", &root, query(ListQuery::default())),
        (
            "status",
            &root,
            query(ListQuery {
                statuses: Some([Status::Revoked].into()),
                ..Default::default()
            }),
        ),
        (
            "status active",
            &root,
            query(ListQuery {
                statuses: Some([Status::Active].into()),
                ..Default::default()
            }),
        ),
        (
            "owner",
            &root,
            query(ListQuery {
                user_id: Some("bob".into()),
                ..Default::default()
            }),
        ),
        (
            "owner+status",
            &root,
            query(ListQuery {
                user_id: Some("bob".into()),
                statuses: Some([Status::Active].into()),
                ..Default::default()
            }),
        ),
        ("own tokens", &bob, query(ListQuery::default())),
        (
            "sort by name within a status",
            &root,
            query(ListQuery {
                sort: SortField::Name,
                statuses: Some([Status::Active].into()),
                descending: false,
                ..Default::default()
            }),
        ),
        (
            "created window",
            &root,
            query(ListQuery {
                created: api_tokens::service::listing::Window {
                    after: Some(w.mid),
                    before: None,
                },
                ..Default::default()
            }),
        ),
    ];
    for (what, caller, q) in cases {
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

    // Counters make totals one BatchGetItem, exact; beside it, one Query of the sweeper's
    // backlog (empty here) keeps them exact while tokens await the sweeper.
    let q = ListQuery {
        include_total: true,
        statuses: Some([Status::Revoked].into()),
        ..query(ListQuery::default())
    };
    let r = w.app.service.list(&root, &q).await.unwrap();
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

    // token_ids: one BatchGetItem, reading only those ids.
    let ids: Vec<_> = w.all.iter().take(5).map(|t| t.id).collect();
    let r = w
        .app
        .service
        .list(
            &root,
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

    // A filter that is not a key condition stops at the read budget (60 here) and says where.
    let r = w
        .app
        .service
        .list(
            &root,
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

#[tokio::test]
async fn totals_stay_exact_under_concurrent_creates_and_revokes() {
    let app = App::start().await;
    let root = principal("acme", "root", ADMIN);
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

#[tokio::test]
async fn every_bad_list_parameter_is_named() {
    let app = App::start().await;
    let admin = app.mint("acme", "root", ADMIN).await;
    let many_ids = (0..101)
        .map(|_| uuid::Uuid::now_v7().to_string())
        .collect::<Vec<_>>()
        .join(",");
    for (q, name, kind) in [
        ("status=gone", "status", "enum"),
        ("status=", "status", "missing"),
        (
            "status=active&include_revoked=true",
            "include_revoked",
            "mutually_exclusive",
        ),
        ("include_revoked=yes", "include_revoked", "bool_parsing"),
        (
            "include_total_count=1",
            "include_total_count",
            "bool_parsing",
        ),
        ("user_id=a%23b", "user_id", "string_pattern_mismatch"),
        ("token_ids=nope", "token_ids", "uuid_parsing"),
        (&format!("token_ids={many_ids}"), "token_ids", "length"),
        ("name=", "name", "string_length"),
        ("scope=", "scope", "string_length"),
        (
            "created_after=yesterday",
            "created_after",
            "datetime_parsing",
        ),
        (
            "expires_before=2026-13-01T00:00:00Z",
            "expires_before",
            "datetime_parsing",
        ),
        (
            "last_used_after=2027-01-01T00:00:00Z&last_used_before=2026-01-01T00:00:00Z",
            "last_used_before",
            "range",
        ),
        ("sort=id", "sort", "enum"),
        ("order=up", "order", "enum"),
        ("sort=name&sort=name", "sort", "multiple_values"),
        ("metadata.=x", "metadata.", "invalid_key"),
        ("metadata.a%20b=x", "metadata.a b", "invalid_key"),
        (
            "metadata.env=a&metadata.env=b",
            "metadata.env",
            "multiple_values",
        ),
        ("statuss=active", "statuss", "extra_forbidden"),
    ] {
        let r = app.get(&format!("/tokens?{q}"), &admin).await;
        r.assert_problem(422, "validation-error");
        let errors = r.json["errors"].as_array().unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e["loc"] == serde_json::json!(["query", name]) && e["type"] == kind),
            "{q}: {}",
            r.text
        );
    }
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
        let fetch = |cursor: Option<String>| {
            let path = match cursor {
                Some(c) => format!("/tokens?{query}&cursor={c}"),
                None => format!("/tokens?{query}"),
            };
            let (app, admin) = (&app, &admin);
            async move {
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
        };
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
