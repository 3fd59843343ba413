//! Every bad list parameter is answered with a validation error naming it; what generated
//! clients send (every default, the metadata filter's spellings) lists what it means.

use integration_tests::App;
use serde_json::{json, Value};

use crate::ADMIN;

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
        (
            "metadata[env]=a&metadata.env=b",
            "metadata[env]",
            "multiple_values",
        ),
        ("metadata[]=x", "metadata[]", "invalid_key"),
        ("metadata=team", "metadata", "invalid_pair"),
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

#[tokio::test]
async fn defaults_sent_and_the_deep_object_filter_list_what_they_mean() {
    let app = App::start().await;
    let admin = app.mint("acme", "root", ADMIN).await;
    for (name, team) in [("a", "infra"), ("b", "web"), ("c", "infra")] {
        let body = json!({"name": name, "scopes": [], "metadata": {"team": team}});
        assert_eq!(app.post("/tokens", &admin, body).await.status, 201);
    }
    let b = app.get("/tokens?name=b", &admin).await.json["items"][0]["id"].clone();
    let revoked = app
        .post(
            &format!("/tokens/{}/revoke", b.as_str().unwrap()),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    let names = |q: &'static str| {
        let app = &app;
        let admin = &admin;
        async move {
            let r = app.get(&format!("/tokens?{q}"), admin).await;
            assert_eq!(r.status, 200, "{q}: {}", r.text);
            let mut names: Vec<String> = r.json["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_string())
                .collect();
            names.sort();
            (names, r.json["total"].clone())
        }
    };
    // What openapi-python-client sends for "the active tokens": every declared default too.
    let generated = "status=active&include_revoked=false&include_total_count=false\
                     &sort=created_at&limit=50";
    assert_eq!(names(generated).await, names("status=active").await);
    let active = names("status=active").await.0;
    assert!(active.contains(&"a".to_string()) && !active.contains(&"b".to_string()));
    // The metadata filter in each spelling: as the spec declares it (what generated clients
    // send), as a deepObject with the brackets encoded, and the oldest.
    let by_team = (vec!["a".to_string(), "c".to_string()], Value::Null);
    assert_eq!(names("metadata=team%3Dinfra").await, by_team);
    assert_eq!(names("metadata%5Bteam%5D=infra").await, by_team);
    assert_eq!(names("metadata[team]=infra").await, by_team);
    assert_eq!(names("metadata.team=infra").await, by_team);
}
