//! Every bad list parameter is answered with a validation error naming it.

use integration_tests::App;

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
