//! `POST /tokens/{id}/rotate`

use api_tokens::domain::verification::Rejection;
use api_tokens::model::Status;
use api_tokens::service::listing::ListQuery;
use api_tokens::service::{CreateInput, VerifyError};
use api_tokens::time;
use integration_tests::{principal, App};
use serde_json::{json, Value};

use crate::{ADMIN, USER};

fn millis_apart(a: &Value, b: &Value) -> i64 {
    let a = time::parse(a.as_str().unwrap()).unwrap();
    let b = time::parse(b.as_str().unwrap()).unwrap();
    (a - b).num_milliseconds().abs()
}

#[tokio::test]
async fn rotation_mints_a_copy_with_a_new_secret_and_revokes_the_old_token_at_once() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let created = app
        .post(
            "/tokens",
            &alice,
            json!({"name": "deploy", "description": "CI", "scopes": ["tokens:read"],
                   "expires_in_days": 30, "metadata": {"env": "prod"},
                   "allowed_ips": ["10.0.0.0/8"]}),
        )
        .await;
    let old_id = created.json["id"].as_str().unwrap();
    let old_secret = created.json["secret"].as_str().unwrap();

    let r = app
        .post(&format!("/tokens/{old_id}/rotate"), &alice, json!({}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let new = &r.json;
    let new_id = new["id"].as_str().unwrap();
    assert_ne!(new_id, old_id);
    assert_eq!(r.header("location"), format!("/tokens/{new_id}"));
    assert_eq!(new["rotated_from"], old_id);
    assert!(new["rotated_to"].is_null());
    for same in [
        "name",
        "description",
        "scopes",
        "user_id",
        "metadata",
        "allowed_ips",
    ] {
        assert_eq!(new[same], created.json[same], "{same}");
    }
    let new_secret = new["secret"].as_str().unwrap();
    assert_ne!(new_secret, old_secret);
    // The same 30-day lifetime, counted from the rotation.
    let lifetime = |t: &Value| {
        time::parse(t["expires_at"].as_str().unwrap()).unwrap()
            - time::parse(t["created_at"].as_str().unwrap()).unwrap()
    };
    assert_eq!(lifetime(new), lifetime(&created.json));

    // Without a grace period the old token is revoked now, linked to its successor.
    let old = app.get(&format!("/tokens/{old_id}"), &alice).await.json;
    assert_eq!(old["status"], "revoked");
    assert_eq!(old["revocation_reason"], "rotated");
    assert_eq!(old["revoked_by"], "alice");
    assert_eq!(old["rotated_to"], new_id);
    let refused = app.service.verify(old_secret).await;
    assert!(
        matches!(refused, Err(VerifyError::Rejected(Rejection::Revoked))),
        "{refused:?}"
    );
    let me = app.service.verify(new_secret).await.unwrap();
    assert_eq!(me.token_id, new_id);
}

#[tokio::test]
async fn the_old_token_works_through_its_grace_period_then_reads_revoked_with_reason_rotated() {
    // The checks during the grace period are checked to have run inside it, not assumed to:
    // on a machine too busy for that, a longer grace period is tried on a fresh table.
    for grace in [6, 20, 60] {
        if grace_period_then_revoked(grace).await {
            return;
        }
    }
    panic!("the checks never fit in a grace period");
}

/// The grace-period test with `grace` seconds; `false` when the checks during the grace
/// period ran past its end (they prove nothing then).
async fn grace_period_then_revoked(grace: i64) -> bool {
    let app = App::start().await;
    let admin = app.mint("acme", "root", ADMIN).await;
    let (old_id, old_secret) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    let r = app
        .post(
            &format!("/tokens/{old_id}/rotate"),
            &admin,
            json!({"grace_period_seconds": grace}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let new_id = r.json["id"].as_str().unwrap().to_string();
    assert_eq!(r.json["created_by"], "root");
    assert_eq!(r.json["user_id"], "alice");
    assert!(
        r.json["expires_at"].is_null(),
        "a token that never expired is replaced by one that never expires"
    );

    // During the grace period: still active and working; when it ends is on the record.
    let old = app.get(&format!("/tokens/{old_id}"), &admin).await.json;
    let ends = api_tokens::time::parse(old["revoked_at"].as_str().unwrap()).unwrap();
    let works = app.get("/tokens/self", &old_secret).await.status;
    let (active, total) = listed(&app, Status::Active).await;
    if api_tokens::time::now() >= ends {
        return false;
    }
    assert_eq!(old["status"], "active");
    assert_eq!(old["rotated_to"], new_id.as_str());
    assert_eq!(old["revocation_reason"], "rotated");
    assert_eq!(old["expires_at"], old["revoked_at"]);
    assert!(millis_apart(&old["revoked_at"], &r.json["created_at"]) <= grace * 1_000 + 100);
    assert_eq!(works, 200);
    assert!(active.contains(&old_id) && active.contains(&new_id));
    assert_eq!(total, Some(3));

    // Until the grace period ends.
    integration_tests::sleep_past(ends, 200).await;
    // After it: refused, and read as revoked, before and after the sweeper stores that.
    assert_eq!(app.get("/tokens/self", &old_secret).await.status, 401);
    let old = app.get(&format!("/tokens/{old_id}"), &admin).await.json;
    assert_eq!(old["status"], "revoked");
    assert_eq!(old["revocation_reason"], "rotated");
    let (active, total) = listed(&app, Status::Active).await;
    assert!(!active.contains(&old_id));
    assert_eq!(total, Some(2));
    assert_eq!(listed(&app, Status::Revoked).await.1, Some(1));
    assert_eq!(listed(&app, Status::Expired).await.1, Some(0));

    assert_eq!(app.service.sweep_expired().await.unwrap(), 1);
    let (revoked, total) = listed(&app, Status::Revoked).await;
    assert_eq!((revoked, total), (vec![old_id.clone()], Some(1)));
    assert_eq!(listed(&app, Status::Expired).await.1, Some(0));
    let after = app.get(&format!("/tokens/{old_id}"), &admin).await.json;
    assert_eq!(after, old, "the sweeper changes nothing a client sees");
    true
}

/// The ids of the tenant's tokens in `status`, and their total.
async fn listed(app: &App, status: Status) -> (Vec<String>, Option<u64>) {
    let q = ListQuery {
        statuses: Some([status].into_iter().collect()),
        include_total: true,
        ..ListQuery::default()
    };
    let r = app
        .service
        .list(&principal("acme", "root", ADMIN), &q)
        .await
        .unwrap();
    (r.items.iter().map(|t| t.id.to_string()).collect(), r.total)
}

#[tokio::test]
async fn the_grace_period_never_extends_an_earlier_expiry() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let soon = time::now() + chrono::Duration::hours(1);
    let (id, _) = app
        .mint_with(
            "acme",
            "alice",
            USER,
            CreateInput {
                expires_at: Some(soon),
                ..Default::default()
            },
        )
        .await;
    let r = app
        .post(
            &format!("/tokens/{id}/rotate"),
            &alice,
            json!({"grace_period_seconds": 86400, "expires_at": "2031-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["expires_at"], "2031-01-01T00:00:00.000Z");
    let old = app.get(&format!("/tokens/{id}"), &alice).await.json;
    assert_eq!(old["expires_at"], time::format(&soon));
    assert_eq!(old["revoked_at"], time::format(&soon));
}

#[tokio::test]
async fn only_an_active_token_not_yet_rotated_can_be_rotated() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let (id, _) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    let path = format!("/tokens/{id}/rotate");
    let first = app
        .post(&path, &alice, json!({"grace_period_seconds": 60}))
        .await;
    assert_eq!(first.status, 201);
    let again = app.post(&path, &alice, json!({})).await;
    again.assert_problem(409, "token-not-rotatable");
    assert!(again.json["detail"]
        .as_str()
        .unwrap()
        .contains(first.json["id"].as_str().unwrap()));

    let (revoked, _) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    app.post(&format!("/tokens/{revoked}/revoke"), &alice, json!({}))
        .await;
    app.post(&format!("/tokens/{revoked}/rotate"), &alice, json!({}))
        .await
        .assert_problem(409, "token-not-rotatable");

    let (expired, _) = app
        .mint_with(
            "acme",
            "alice",
            USER,
            CreateInput {
                expires_at: Some(time::now() - chrono::Duration::seconds(1)),
                ..Default::default()
            },
        )
        .await;
    let r = app
        .post(&format!("/tokens/{expired}/rotate"), &alice, json!({}))
        .await;
    r.assert_problem(409, "token-not-rotatable");
    assert!(r.json["detail"].as_str().unwrap().contains("expired"));
    assert_eq!(
        app.records().await.len(),
        5,
        "nothing was minted by a refusal"
    );
}

#[tokio::test]
async fn concurrent_rotations_of_one_token_mint_exactly_one_successor() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let (id, _) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    let path = format!("/tokens/{id}/rotate");
    let replies = futures_util::future::join_all(
        (0..4).map(|_| app.post(&path, &alice, json!({"grace_period_seconds": 30}))),
    )
    .await;
    let mut statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, vec![201, 409, 409, 409], "{replies:?}");
    let records = app.records().await;
    assert_eq!(records.len(), 3);
    let q = ListQuery {
        include_total: true,
        ..ListQuery::default()
    };
    let total = app
        .service
        .list(&principal("acme", "alice", USER), &q)
        .await
        .unwrap()
        .total;
    assert_eq!(total, Some(3), "counters count each token once");
}

#[tokio::test]
async fn the_rotation_body_is_validated_field_by_field() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let (id, _) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    let path = format!("/tokens/{id}/rotate");
    for (body, loc, kind) in [
        (
            json!({"grace_period_seconds": 604801}),
            "grace_period_seconds",
            "range",
        ),
        (
            json!({"grace_period_seconds": -1}),
            "grace_period_seconds",
            "range",
        ),
        (
            json!({"grace_period_seconds": "60"}),
            "grace_period_seconds",
            "int_type",
        ),
        (
            json!({"expires_at": "2000-01-01T00:00:00Z"}),
            "expires_at",
            "datetime_future",
        ),
        (
            json!({"expires_at": "next week"}),
            "expires_at",
            "datetime_parsing",
        ),
        (json!({"name": "x"}), "name", "extra_forbidden"),
    ] {
        let r = app.post(&path, &alice, body.clone()).await;
        r.assert_problem(422, "validation-error");
        assert_eq!(
            r.error_locs(),
            vec![format!(r#"["body","{loc}"]"#)],
            "{body}"
        );
        assert_eq!(r.json["errors"][0]["type"], kind, "{body}");
    }
    let seven_days = app
        .post(&path, &alice, json!({"grace_period_seconds": 604800}))
        .await;
    assert_eq!(seven_days.status, 201, "{}", seven_days.text);
    assert_eq!(
        app.records().await.len(),
        3,
        "no rejected body minted anything"
    );
}
