//! Times at the edge of the representable range: no path stores an expiry past the longest
//! lifetime, and no list parameter at the edges of time fails.

use api_tokens::domain::limits::MAX_LIFETIME_DAYS;
use api_tokens::model::TokenItem;
use api_tokens::store::TokenStore;
use api_tokens::time;
use chrono::Duration;
use integration_tests::{sample_token, App};
use serde_json::json;

use super::{days, no_server_error};
use crate::{ADMIN, USER};

#[tokio::test]
async fn no_path_stores_an_expiry_past_the_longest_lifetime() {
    let app = App::start().await;
    // The report's caller: a non-admin whose token never expires.
    let alice = app.mint("acme", "alice", USER).await;
    let latest = time::now() + days(MAX_LIFETIME_DAYS);
    for (expires_at, what) in [
        (
            "9999-12-31T23:59:59.999Z",
            "the last representable millisecond",
        ),
        ("9999-12-31T23:30:00-01:00", "year 10000 in UTC"),
        (
            &*time::format(&(latest + days(1))),
            "one day past the longest lifetime",
        ),
    ] {
        let r = app
            .post(
                "/tokens",
                &alice,
                json!({"name": "far", "expires_at": expires_at}),
            )
            .await;
        r.assert_problem(422, "validation-error");
        assert_eq!(r.error_locs(), [r#"["body","expires_at"]"#], "{what}");
    }
    let r = app
        .post(
            "/tokens",
            &alice,
            json!({"name": "x", "expires_in_days": MAX_LIFETIME_DAYS + 1}),
        )
        .await;
    assert_eq!(r.error_locs(), [r#"["body","expires_in_days"]"#]);

    // The longest lifetime itself is fine, by either field.
    let r = app
        .post(
            "/tokens",
            &alice,
            json!({"name": "ten years", "expires_in_days": MAX_LIFETIME_DAYS}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let just_inside = time::format(&(time::now() + days(MAX_LIFETIME_DAYS) - Duration::minutes(1)));
    let r = app
        .post(
            "/tokens",
            &alice,
            json!({"name": "almost", "expires_at": just_inside}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json["id"].as_str().unwrap().to_string();

    // Rotation: an explicit expiry past the limit is refused; the inherited lifetime (ten
    // years, counted again from now) is within it.
    let r = app
        .post(
            &format!("/tokens/{id}/rotate"),
            &alice,
            json!({"expires_at": "9999-12-31T00:00:00Z"}),
        )
        .await;
    assert_eq!(r.error_locs(), [r#"["body","expires_at"]"#]);
    let r = app
        .post(&format!("/tokens/{id}/rotate"), &alice, json!({}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let successor = time::parse(r.json["expires_at"].as_str().unwrap()).unwrap();
    assert!(successor <= time::now() + days(MAX_LIFETIME_DAYS));

    // Nothing stored reaches year 10000, and the tenant still lists.
    assert_no_stored_time_reaches_year_10000(&app).await;
    assert_eq!(
        app.get("/tokens?include_revoked=true", &alice).await.status,
        200
    );
}

/// Every time of every record formats in 24 characters: none is in year 10000 or later.
async fn assert_no_stored_time_reaches_year_10000(app: &App) {
    for t in app.records().await {
        for at in [Some(t.created_at), t.expires_at, t.revoked_at]
            .into_iter()
            .flatten()
        {
            assert!(time::format(&at).len() == 24, "{at:?} of {}", t.id);
        }
    }
}

#[tokio::test]
async fn rotating_a_token_stored_before_the_limit_cannot_push_its_successor_past_it() {
    let app = App::start().await;
    let admin = app.mint("acme", "root", ADMIN).await;
    // A record an older version let through: created a year ago, expiring at the very end
    // of year 9999. Inheriting its lifetime from now would land in year 10000.
    let legacy = TokenItem {
        created_at: time::now() - days(365),
        expires_at: time::parse("9999-12-31T23:59:00Z"),
        ..sample_token("acme", "alice")
    };
    app.service
        .store()
        .insert(&legacy, "not-a-real-hash", None, None)
        .await
        .unwrap();
    let alices = || async {
        let mut r = app.records().await;
        r.retain(|t| t.user_id == "alice");
        r
    };
    let before = alices().await;
    let r = app
        .post(&format!("/tokens/{}/rotate", legacy.id), &admin, json!({}))
        .await;
    r.assert_problem(422, "validation-error");
    assert_eq!(r.error_locs(), [r#"["body","expires_at"]"#], "{}", r.text);
    assert_eq!(alices().await, before, "nothing half-written");
    // An explicit expiry within the limit rotates it.
    let r = app
        .post(
            &format!("/tokens/{}/rotate", legacy.id),
            &admin,
            json!({"expires_in_days": 1}),
        )
        .await;
    assert_eq!(
        r.status, 422,
        "rotation takes expires_at, not expires_in_days"
    );
    let soon = time::format(&(time::now() + days(30)));
    let r = app
        .post(
            &format!("/tokens/{}/rotate", legacy.id),
            &admin,
            json!({"expires_at": soon}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
}

#[tokio::test]
async fn list_parameters_at_the_edges_of_time_never_fail() {
    let app = App::start().await;
    let admin = app.mint("acme", "root", ADMIN).await;
    let alice = app.mint("acme", "alice", USER).await;
    for edge in [
        "0000-01-01T00:00:00Z",
        "0000-01-01T00:00:00.001Z",
        "9999-12-31T23:59:59.999Z",
        "9999-12-31T23:59:59.999-00:00",
        "9999-12-31T23:30:00-01:00",
        "0000-01-01T00:30:00%2B01:00",
    ] {
        for param in [
            "created_after",
            "created_before",
            "expires_after",
            "expires_before",
            "last_used_after",
            "last_used_before",
        ] {
            for sort in ["created_at", "name", "expires_at", "last_used_at"] {
                let path = format!("/tokens?{param}={edge}&sort={sort}&include_total_count=true");
                for token in [&admin, &alice] {
                    no_server_error(&app.get(&path, token).await, &path);
                }
            }
        }
    }
}
