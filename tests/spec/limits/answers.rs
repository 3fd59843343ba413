//! What the service's own API answers a limited token: every answer carries the IETF
//! `RateLimit-Policy` and `RateLimit` headers; over a limit, a `429` problem with
//! `Retry-After`, which says which limit it was and is not a `401`.

use std::time::Duration;

use api_tokens::domain::usage::QuotaPeriod::{Day, Total};
use integration_tests::App;

use super::{counter, limited, quota, rate};
use crate::{ADMIN, USER};

#[tokio::test]
async fn a_rate_limited_token_gets_429_with_retry_after_and_is_admitted_again_after_it() {
    let app = App::start().await;
    let (_, secret) = limited(&app, "alice", USER, Some(rate(2, 3)), None).await;
    let mut answers = Vec::new();
    // Two per 3 s: by the fourth request at most, one window has refused one (a window may
    // end between two requests).
    let refused = loop {
        let r = app.get("/tokens/self", &secret).await;
        if r.status != 200 {
            break r;
        }
        assert_eq!(r.header("ratelimit-policy"), r#""rate";q=2;w=3"#);
        assert!(
            r.header("ratelimit").starts_with(r#""rate";r="#),
            "{:?}",
            r.headers
        );
        answers.push(r);
        assert!(answers.len() <= 3, "no request was refused");
    };
    refused.assert_problem(429, "rate-limited");
    assert_eq!(refused.header("ratelimit-policy"), r#""rate";q=2;w=3"#);
    let retry: u64 = refused.header("retry-after").parse().expect("Retry-After");
    assert!((1..=3).contains(&retry), "{retry}");
    assert!(refused.header("ratelimit").starts_with(r#""rate";r=0;t="#));
    assert!(refused.json["detail"]
        .as_str()
        .unwrap()
        .contains("rate limit"));
    tokio::time::sleep(Duration::from_secs(retry) + Duration::from_millis(50)).await;
    let again = app.get("/tokens/self", &secret).await;
    assert_eq!(again.status, 200, "{}", again.text);
}

#[tokio::test]
async fn an_exhausted_quota_is_a_429_of_its_own_not_a_revoked_token() {
    let app = App::start().await;
    let admin = app.mint("acme", "root", ADMIN).await;
    let (id, secret) = limited(&app, "alice", USER, None, Some(quota(2, Day))).await;
    for left in [1, 0] {
        let r = app.get("/tokens/self", &secret).await;
        assert_eq!(r.status, 200);
        assert_eq!(
            r.json["quota_remaining"], left,
            "read after this request was counted"
        );
        assert!(r
            .header("ratelimit")
            .starts_with(&format!(r#""quota";r={left};t="#)));
    }
    let exhausted = app.get("/tokens", &secret).await;
    exhausted.assert_problem(429, "quota-exhausted");
    assert_eq!(
        exhausted.header("ratelimit-policy"),
        r#""quota";q=2;w=86400"#
    );
    let retry: i64 = exhausted.header("retry-after").parse().unwrap();
    let midnight = (chrono::Utc::now().date_naive() + chrono::Days::new(1))
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    assert!(
        ((midnight - chrono::Utc::now()).num_seconds() - retry).abs() <= 2,
        "until midnight UTC"
    );
    // Refused requests are not counted: the day's counter holds exactly the two admitted.
    let seen = app.get(&format!("/tokens/{id}"), &admin).await;
    assert_eq!(seen.json["quota_remaining"], 0);
    let today = quota(2, Day).period_of(api_tokens::time::now()).label;
    assert_eq!(counter(&app, &id, &today).await, Some(2));
    app.post(
        &format!("/tokens/{id}/revoke"),
        &admin,
        serde_json::json!({}),
    )
    .await;
    app.get("/tokens/self", &secret)
        .await
        .assert_problem(401, "unauthorized");
}

#[tokio::test]
async fn a_total_quota_never_says_when_to_retry() {
    let app = App::start().await;
    let (_, secret) = limited(&app, "alice", USER, None, Some(quota(1, Total))).await;
    assert_eq!(app.get("/tokens/self", &secret).await.status, 200);
    let r = app.get("/tokens/self", &secret).await;
    r.assert_problem(429, "quota-exhausted");
    assert_eq!(r.header("retry-after"), "");
    assert_eq!(r.header("ratelimit-policy"), r#""quota";q=1"#);
    assert_eq!(r.header("ratelimit"), r#""quota";r=0"#);
    assert!(r.json["detail"].as_str().unwrap().ends_with("for good"));
}

#[tokio::test]
async fn a_request_over_the_rate_limit_is_not_counted_against_the_quota() {
    let app = App::start().await;
    let admin = app.mint("acme", "root", ADMIN).await;
    let (id, secret) = limited(
        &app,
        "alice",
        USER,
        Some(rate(1, 3600)),
        Some(quota(10, Total)),
    )
    .await;
    assert_eq!(app.get("/tokens/self", &secret).await.status, 200);
    for _ in 0..3 {
        let r = app.get("/tokens/self", &secret).await;
        r.assert_problem(429, "rate-limited");
        assert_eq!(r.header("ratelimit-policy"), r#""rate";q=1;w=3600"#);
    }
    let seen = app.get(&format!("/tokens/{id}"), &admin).await;
    assert_eq!(seen.json["quota_remaining"], 9);
    assert_eq!(counter(&app, &id, "total").await, Some(1));
}

#[tokio::test]
async fn an_unlimited_token_gets_no_limit_headers() {
    let app = App::start().await;
    let user = app.mint("acme", "alice", USER).await;
    let r = app.get("/tokens/self", &user).await;
    assert_eq!(r.status, 200);
    assert!(r.headers.get("ratelimit").is_none() && r.headers.get("ratelimit-policy").is_none());
    assert!(r.json["quota_remaining"].is_null());
}
