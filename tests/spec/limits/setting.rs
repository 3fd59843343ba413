//! Who may give a token limits, and how they narrow: only `tokens:admin` sets or raises a
//! limit, any writer lowers one, and no token mints, rotates or patches a token to more than
//! its own.

use api_tokens::domain::usage::QuotaPeriod::{Day, Month, Total};
use integration_tests::{App, Method};
use serde_json::{json, Value};

use super::{limited, quota, rate};
use crate::{ADMIN, USER};

fn limits(body: &Value) -> (Value, Value, Value) {
    (
        body["rate_limit"].clone(),
        body["quota"].clone(),
        body["quota_remaining"].clone(),
    )
}

#[tokio::test]
async fn an_admin_sets_limits_at_create_and_every_view_shows_them() {
    let app = App::start().await;
    let admin = app.mint("acme", "root", ADMIN).await;
    let created = app
        .post(
            "/tokens",
            &admin,
            json!({"name": "metered", "scopes": ["tokens:read"],
                   "rate_limit": {"limit": 100, "window_seconds": 60},
                   "quota": {"limit": 10000, "period": "month"}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let expected = (
        json!({"limit": 100, "window_seconds": 60}),
        json!({"limit": 10000, "period": "month"}),
        json!(10000),
    );
    assert_eq!(limits(&created.json), expected);
    let id = created.json["id"].as_str().unwrap();
    let got = app.get(&format!("/tokens/{id}"), &admin).await;
    assert_eq!(limits(&got.json), expected);
    let listed = app.get("/tokens?limited=true", &admin).await;
    let items = listed.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", listed.text);
    assert_eq!(limits(&items[0]), expected);
    // An unlimited token shows nulls, and is what `limited=false` lists.
    let plain = app.get("/tokens?limited=false", &admin).await;
    let plain = &plain.json["items"].as_array().unwrap()[0];
    assert_eq!(limits(plain), (Value::Null, Value::Null, Value::Null));
    let bad = app.get("/tokens?limited=maybe", &admin).await;
    bad.assert_problem(422, "validation-error");
    assert_eq!(bad.error_locs(), [r#"["query","limited"]"#]);
}

#[tokio::test]
async fn without_admin_a_limit_can_only_be_inherited_or_lowered() {
    let app = App::start().await;
    let user = app.mint("acme", "alice", USER).await;
    let asked = json!({"name": "ci", "rate_limit": {"limit": 5, "window_seconds": 60}});
    let refused = app.post("/tokens", &user, asked.clone()).await;
    refused.assert_problem(403, "forbidden");
    assert!(refused.json["detail"]
        .as_str()
        .unwrap()
        .starts_with("rate_limit:"));
    let (_, metered) = limited(
        &app,
        "alice",
        USER,
        Some(rate(10, 60)),
        Some(quota(100, Day)),
    )
    .await;
    // Without the fields (or with their documented default, null): the parent's own.
    for body in [
        json!({"name": "child"}),
        json!({"name": "child", "rate_limit": null, "quota": null}),
    ] {
        let child = app.post("/tokens", &metered, body).await;
        assert_eq!(child.status, 201, "{}", child.text);
        assert_eq!(
            child.json["rate_limit"],
            json!({"limit": 10, "window_seconds": 60})
        );
        assert_eq!(child.json["quota"], json!({"limit": 100, "period": "day"}));
    }
    let lower = app.post("/tokens", &metered, asked).await;
    assert_eq!(lower.status, 201, "{}", lower.text);
    assert_eq!(lower.json["rate_limit"]["limit"], 5);
    for (field, value) in [
        ("rate_limit", json!({"limit": 11, "window_seconds": 60})),
        ("rate_limit", json!({"limit": 10, "window_seconds": 59})),
        ("quota", json!({"limit": 101, "period": "day"})),
    ] {
        let more = app
            .post("/tokens", &metered, json!({"name": "x", field: value}))
            .await;
        more.assert_problem(403, "forbidden");
        assert!(
            more.json["detail"].as_str().unwrap().starts_with(field),
            "{}",
            more.text
        );
    }
}

#[tokio::test]
async fn an_admins_children_are_held_within_the_admins_own_limits() {
    let app = App::start().await;
    let (_, admin) = limited(&app, "root", ADMIN, None, Some(quota(1000, Day))).await;
    for (asked, status) in [
        (json!({"limit": 1000, "period": "day"}), 201),
        (json!({"limit": 1000, "period": "month"}), 201),
        (json!({"limit": 5, "period": "total"}), 201),
        (json!({"limit": 1001, "period": "day"}), 403),
    ] {
        let r = app
            .post("/tokens", &admin, json!({"name": "q", "quota": asked}))
            .await;
        assert_eq!(r.status, status, "{asked}: {}", r.text);
    }
    // Over a parent with a monthly quota, a daily one (refilled more often) is more.
    let (_, monthly) = limited(&app, "root", ADMIN, None, Some(quota(1000, Month))).await;
    let daily = app
        .post(
            "/tokens",
            &monthly,
            json!({"name": "q", "quota": {"limit": 1, "period": "day"}}),
        )
        .await;
    daily.assert_problem(403, "forbidden");
    let (_, total) = limited(&app, "root", ADMIN, None, Some(quota(10, Total))).await;
    let inherited = app.post("/tokens", &total, json!({"name": "q"})).await;
    assert_eq!(
        inherited.json["quota"],
        json!({"limit": 10, "period": "total"})
    );
}

#[tokio::test]
async fn patch_lowers_a_limit_for_any_writer_and_raises_or_removes_it_only_for_an_admin() {
    let app = App::start().await;
    let admin = app.mint("acme", "root", ADMIN).await;
    let user = app.mint("acme", "alice", USER).await;
    let (id, _) = limited(
        &app,
        "alice",
        USER,
        Some(rate(10, 60)),
        Some(quota(100, Day)),
    )
    .await;
    let path = format!("/tokens/{id}");
    let lowered = app
        .patch(
            &path,
            &user,
            json!({"rate_limit": {"limit": 5, "window_seconds": 60}}),
        )
        .await;
    assert_eq!(lowered.status, 200, "{}", lowered.text);
    assert_eq!(lowered.json["rate_limit"]["limit"], 5);
    assert_eq!(lowered.json["quota"]["limit"], 100, "left as it was");
    for body in [
        json!({"rate_limit": {"limit": 6, "window_seconds": 60}}),
        json!({"rate_limit": null}),
        json!({"quota": {"limit": 101, "period": "day"}, "name": "renamed"}),
    ] {
        let r = app.patch(&path, &user, body.clone()).await;
        r.assert_problem(403, "forbidden");
        assert_eq!(
            app.get(&path, &admin).await.json["name"],
            "alice token",
            "{body}: nothing written"
        );
    }
    let raised = app
        .patch(
            &path,
            &admin,
            json!({"rate_limit": {"limit": 1000, "window_seconds": 1}}),
        )
        .await;
    assert_eq!(
        raised.json["rate_limit"],
        json!({"limit": 1000, "window_seconds": 1})
    );
    let removed = app.patch(&path, &admin, json!({"quota": null})).await;
    assert_eq!(removed.json["quota"], Value::Null);
    assert_eq!(removed.json["quota_remaining"], Value::Null);
    // A token that had none may be given one by an admin only.
    let (plain, _) = limited(&app, "alice", USER, None, None).await;
    let plain = format!("/tokens/{plain}");
    let set = json!({"quota": {"limit": 3, "period": "total"}});
    app.patch(&plain, &user, set.clone())
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(
        app.patch(&plain, &admin, set).await.json["quota_remaining"],
        3
    );
}

#[tokio::test]
async fn a_patched_limit_is_what_the_authorizer_enforces_next() {
    let app = App::start().await;
    let admin = app.mint("acme", "root", ADMIN).await;
    let (id, secret) = limited(&app, "alice", USER, Some(rate(100, 3600)), None).await;
    assert_eq!(app.get("/tokens/self", &secret).await.status, 200);
    let r = app
        .patch(
            &format!("/tokens/{id}"),
            &admin,
            json!({"rate_limit": {"limit": 1, "window_seconds": 3600}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The window's counter already holds one use: the new limit of one is reached.
    app.get("/tokens/self", &secret)
        .await
        .assert_problem(429, "rate-limited");
}

#[tokio::test]
async fn a_rotation_keeps_the_limits_and_may_only_lower_them_without_admin() {
    let app = App::start().await;
    let (id, secret) = limited(
        &app,
        "alice",
        USER,
        Some(rate(10, 60)),
        Some(quota(50, Month)),
    )
    .await;
    let rotate = |body: Value| {
        let (app, secret, id) = (&app, &secret, &id);
        async move {
            app.call(
                Method::POST,
                &format!("/tokens/{id}/rotate"),
                Some(secret),
                Some(body),
            )
            .await
        }
    };
    let higher = rotate(json!({"quota": {"limit": 51, "period": "month"}})).await;
    higher.assert_problem(403, "forbidden");
    let same = rotate(json!({"rate_limit": {"limit": 2, "window_seconds": 60}})).await;
    assert_eq!(same.status, 201, "{}", same.text);
    assert_eq!(
        same.json["rate_limit"],
        json!({"limit": 2, "window_seconds": 60})
    );
    assert_eq!(same.json["quota"], json!({"limit": 50, "period": "month"}));
    assert_eq!(
        same.json["quota_remaining"], 50,
        "a new token has used none"
    );
}

#[tokio::test]
async fn malformed_limits_are_422s_naming_the_member() {
    // No last-use write either: the table must be exactly as it was.
    let app = App::start_with(&[("LAST_USED_INTERVAL_SECONDS", "0")]).await;
    let admin = app.mint("acme", "root", ADMIN).await;
    for (rate_limit, quota, locs) in [
        (
            json!({"limit": 0, "window_seconds": 60}),
            Value::Null,
            vec![r#"["body","rate_limit","limit"]"#],
        ),
        (
            json!({"limit": 1, "window_seconds": 86401}),
            Value::Null,
            vec![r#"["body","rate_limit","window_seconds"]"#],
        ),
        (
            json!({"limit": 1.5, "window_seconds": 1, "burst": 2}),
            Value::Null,
            vec![
                r#"["body","rate_limit","burst"]"#,
                r#"["body","rate_limit","limit"]"#,
            ],
        ),
        (
            json!("100/60"),
            Value::Null,
            vec![r#"["body","rate_limit"]"#],
        ),
        (
            Value::Null,
            json!({"limit": 10, "period": "week"}),
            vec![r#"["body","quota","period"]"#],
        ),
        (
            Value::Null,
            json!({"limit": 10}),
            vec![r#"["body","quota","period"]"#],
        ),
        (
            Value::Null,
            json!({"period": "day"}),
            vec![r#"["body","quota","limit"]"#],
        ),
    ] {
        let before = app.snapshot().await;
        let r = app
            .post(
                "/tokens",
                &admin,
                json!({"name": "x", "rate_limit": rate_limit, "quota": quota}),
            )
            .await;
        r.assert_problem(422, "validation-error");
        assert_eq!(r.error_locs(), locs, "{}", r.text);
        assert_eq!(app.snapshot().await, before, "nothing written");
    }
}
