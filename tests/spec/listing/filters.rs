//! Every filter and sort of `GET /tokens`, walked forward and back over the mixed tenant,
//! gives exactly the tokens the model selects, in order, with the exact total.

use std::collections::HashSet;

use api_tokens::model::{Status, TokenItem};
use api_tokens::schema::SortField;
use api_tokens::time;
use chrono::Duration;

use super::{check, status, world, World};

#[tokio::test]
async fn every_filter_and_sort_walks_both_ways_to_exactly_the_expected_tokens() {
    let w = world().await;
    by_status(&w).await;
    by_owner(&w).await;
    by_name_scope_and_metadata(&w).await;
    by_time(&w).await;
    by_sort(&w).await;
    user_sorts_beyond_the_read_budget_are_refused(&w).await;
    by_token_ids(&w).await;
}

/// Every status filter, alone and combined, in both orders.
async fn by_status(w: &World) {
    let live = |t: &TokenItem| status(w, t) != Status::Revoked;
    let admin = w.admin.as_str();
    let created = SortField::CreatedAt;

    check(w, admin, "", live, created, true).await;
    check(w, admin, "include_revoked=true", |_| true, created, true).await;
    check(
        w,
        admin,
        "status=revoked",
        |t| status(w, t) == Status::Revoked,
        created,
        true,
    )
    .await;
    check(
        w,
        admin,
        "status=active",
        |t| status(w, t) == Status::Active,
        created,
        true,
    )
    .await;
    check(
        w,
        admin,
        "status=expired",
        |t| status(w, t) == Status::Expired,
        created,
        true,
    )
    .await;
    check(
        w,
        admin,
        "status=active,revoked",
        |t| status(w, t) != Status::Expired,
        created,
        true,
    )
    .await;
    check(
        w,
        admin,
        "status=active&status=expired&order=asc",
        live,
        created,
        false,
    )
    .await;
}

/// One owner's tokens, as an admin names them and as the owner lists its own.
async fn by_owner(w: &World) {
    let live = |t: &TokenItem| status(w, t) != Status::Revoked;
    let (admin, alice) = (w.admin.as_str(), w.alice.as_str());
    let created = SortField::CreatedAt;

    check(
        w,
        admin,
        "user_id=bob",
        |t| t.user_id == "bob" && live(t),
        created,
        true,
    )
    .await;
    check(
        w,
        admin,
        "user_id=bob&status=revoked",
        |t| t.user_id == "bob" && status(w, t) == Status::Revoked,
        created,
        true,
    )
    .await;
    check(
        w,
        admin,
        "user_id=carol&include_revoked=true&order=asc",
        |t| t.user_id == "carol",
        created,
        false,
    )
    .await;
    check(
        w,
        alice,
        "",
        |t| t.user_id == "alice" && live(t),
        created,
        true,
    )
    .await;
    check(
        w,
        alice,
        "status=expired",
        |t| t.user_id == "alice" && status(w, t) == Status::Expired,
        created,
        true,
    )
    .await;
}

/// Filters that are no key condition: name, scope and metadata.
async fn by_name_scope_and_metadata(w: &World) {
    let live = |t: &TokenItem| status(w, t) != Status::Revoked;
    let admin = w.admin.as_str();
    let created = SortField::CreatedAt;

    check(
        w,
        admin,
        "name=DEPLOY",
        |t| live(t) && t.name.to_lowercase().contains("deploy"),
        created,
        true,
    )
    .await;
    check(
        w,
        admin,
        "name=%C3%BCn%C3%AF",
        |t| live(t) && t.name.to_lowercase().contains("ünï"),
        created,
        true,
    )
    .await;
    check(
        w,
        admin,
        "scope=orders:read",
        |t| live(t) && t.scopes.iter().any(|s| s == "orders:read"),
        created,
        true,
    )
    .await;
    check(
        w,
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
}

/// Creation, expiry and last-use windows.
async fn by_time(w: &World) {
    let live = |t: &TokenItem| status(w, t) != Status::Revoked;
    let admin = w.admin.as_str();
    let created = SortField::CreatedAt;
    let tomorrow_month = time::format(&(w.now + Duration::days(30)));
    let later = time::format(&(w.now + Duration::days(200)));
    let mid = time::format(&w.mid);
    let recent = time::format(&(w.now - Duration::minutes(60)));

    check(
        w,
        admin,
        &format!("created_after={mid}"),
        |t| live(t) && t.created_at > w.mid,
        created,
        true,
    )
    .await;
    check(
        w,
        admin,
        &format!("created_before={mid}&order=asc"),
        |t| live(t) && t.created_at < w.mid,
        created,
        false,
    )
    .await;
    check(
        w,
        admin,
        &format!("expires_before={tomorrow_month}"),
        |t| live(t) && t.expires_at.is_some_and(|e| e < w.now + Duration::days(30)),
        created,
        true,
    )
    .await;
    check(
        w,
        admin,
        &format!("expires_after={later}&sort=expires_at&order=asc"),
        |t| live(t) && t.expires_at.is_none_or(|e| e > w.now + Duration::days(200)),
        SortField::ExpiresAt,
        false,
    )
    .await;
    check(
        w,
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
}

/// Every sort other than creation, in both orders.
async fn by_sort(w: &World) {
    let live = |t: &TokenItem| status(w, t) != Status::Revoked;
    let admin = w.admin.as_str();
    let recent = time::format(&(w.now - Duration::minutes(60)));

    check(w, admin, "sort=name", live, SortField::Name, false).await;
    check(
        w,
        admin,
        "sort=name&order=desc&status=revoked",
        |t| status(w, t) == Status::Revoked,
        SortField::Name,
        true,
    )
    .await;
    check(
        w,
        admin,
        "sort=expires_at",
        live,
        SortField::ExpiresAt,
        true,
    )
    .await;
    check(
        w,
        admin,
        "sort=last_used_at&include_revoked=true",
        |_| true,
        SortField::LastUsedAt,
        true,
    )
    .await;
    check(
        w,
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
}

/// token_ids: a mix of live, revoked, other users' and another tenant's ids.
async fn by_token_ids(w: &World) {
    let live = |t: &TokenItem| status(w, t) != Status::Revoked;
    let (admin, alice) = (w.admin.as_str(), w.alice.as_str());
    let created = SortField::CreatedAt;

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
        w,
        admin,
        &format!("token_ids={ids}"),
        |t| live(t) && wanted.contains(&t.id.to_string()),
        created,
        true,
    )
    .await;
    check(
        w,
        alice,
        &format!("token_ids={ids}&sort=name&include_revoked=true"),
        |t| t.user_id == "alice" && wanted.contains(&t.id.to_string()),
        SortField::Name,
        false,
    )
    .await;
}

/// One user's tokens in another order than creation are all read from that user's own
/// partitions and ordered in memory: past the read budget (60 here; each user has about 64
/// live tokens) that is a 422 naming `sort`, never a read of the tenant's partitions.
/// `hostile::lists::a_user_sort_walks_both_ways_and_refuses_beyond_the_read_budget` walks
/// them.
async fn user_sorts_beyond_the_read_budget_are_refused(w: &World) {
    let (admin, alice) = (w.admin.as_str(), w.alice.as_str());
    for (token, query) in [
        (admin, "sort=name&user_id=carol&name=key"),
        (alice, "sort=expires_at&order=asc&scope=tokens:read"),
    ] {
        let r = w.app.get(&format!("/tokens?{query}"), token).await;
        r.assert_problem(422, "validation-error");
        assert_eq!(r.error_locs(), [r#"["query","sort"]"#], "{query}");
    }
}
