//! Protocol-level errors: routes, methods, media types, sizes, malformed input. Never a 5xx.

use integration_tests::{App, Method};

use crate::USER;

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_with_allow() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let auth = format!("Bearer {alice}");
    let h = [("authorization", auth.as_str())];
    for path in ["/", "/token", "/tokens/", "/tokens/a/b", "/v1/tokens"] {
        app.raw(Method::GET, path, &h, vec![])
            .await
            .assert_problem(404, "route-not-found");
    }
    for (method, path, allow) in [
        (Method::PUT, "/tokens", "GET, POST"),
        (Method::DELETE, "/tokens", "GET, POST"),
        (Method::PUT, "/tokens/x", "GET, PATCH, DELETE"),
        (Method::GET, "/tokens/x/rotate", "POST"),
        (Method::GET, "/tokens/x/revoke", "POST"),
    ] {
        let r = app.raw(method, path, &h, vec![]).await;
        r.assert_problem(405, "method-not-allowed");
        assert_eq!(r.header("allow"), allow);
    }
}

#[tokio::test]
async fn bodies_must_be_json_of_a_sane_size() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let auth = format!("Bearer {alice}");
    let with = |ct: &'static str| {
        [
            ("authorization", auth.clone()),
            ("content-type", ct.to_string()),
        ]
    };
    let send = |ct: &'static str, body: &'static [u8]| {
        let headers = with(ct);
        let app = &app;
        async move {
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.raw(Method::POST, "/tokens", &h, body.to_vec()).await
        }
    };
    send("text/plain", br#"{"name":"x"}"#)
        .await
        .assert_problem(415, "unsupported-media-type");
    send("application/x-www-form-urlencoded", b"name=x")
        .await
        .assert_problem(415, "unsupported-media-type");
    let no_type = app
        .raw(
            Method::POST,
            "/tokens",
            &[("authorization", &auth)],
            br#"{"name":"x"}"#.to_vec(),
        )
        .await;
    no_type.assert_problem(415, "unsupported-media-type");
    for malformed in [
        &b"{"[..],
        b"{\"name\":}",
        b"nul",
        b"\xff\xfe",
        b"{\"name\":\"x\"} trailing",
    ] {
        send("application/json", malformed)
            .await
            .assert_problem(400, "malformed-json");
    }
    // Parameters and +json types are accepted.
    assert_eq!(
        send("application/json; charset=utf-8", br#"{"name":"x"}"#)
            .await
            .status,
        201
    );
    assert_eq!(
        send("application/merge-patch+json", br#"{"name":"x"}"#)
            .await
            .status,
        201
    );

    let huge = format!(
        r#"{{"name":"x","description":"{}"}}"#,
        "a".repeat(70 * 1024)
    );
    let h = with("application/json");
    let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.raw(Method::POST, "/tokens", &h, huge.into_bytes())
        .await
        .assert_problem(413, "payload-too-large");
    let enormous = vec![b' '; 2 * 1024 * 1024];
    app.raw(Method::POST, "/tokens", &h, enormous)
        .await
        .assert_problem(413, "payload-too-large");
    let deep = "[".repeat(10_000);
    app.raw(Method::POST, "/tokens", &h, deep.into_bytes())
        .await
        .assert_problem(400, "malformed-json");
}

#[tokio::test]
async fn odd_but_valid_text_is_stored_exactly() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    for name in [
        "名前 🔑",
        "a\u{200b}b",
        "\u{feff}x",
        "'; DROP TABLE tokens; --",
        "TOKEN#x",
        "{{x}}",
    ] {
        let r = app
            .post(
                "/tokens",
                &alice,
                serde_json::json!({"name": name, "metadata": {"k": name}}),
            )
            .await;
        assert_eq!(r.status, 201, "{name:?}: {}", r.text);
        let id = r.json["id"].as_str().unwrap();
        let back = app.get(&format!("/tokens/{id}"), &alice).await;
        assert_eq!(back.json["name"], name);
        assert_eq!(back.json["metadata"]["k"], name);
    }
    let r = app
        .post("/tokens", &alice, serde_json::json!({"name": "bell\u{7}"}))
        .await;
    r.assert_problem(422, "validation-error");
}

#[tokio::test]
async fn no_bad_input_produces_a_server_error() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let values = [
        serde_json::json!(null),
        serde_json::json!(true),
        serde_json::json!(-1),
        serde_json::json!(1e308),
        serde_json::json!(""),
        serde_json::json!("x".repeat(5000)),
        serde_json::json!([]),
        serde_json::json!({}),
        serde_json::json!([null]),
        serde_json::json!({"a": {"b": []}}),
        serde_json::json!("2027-02-30T00:00:00Z"),
        serde_json::json!("9999-12-31T23:59:59Z"),
        serde_json::json!(u64::MAX),
        serde_json::json!("\u{0}"),
    ];

    for field in api_tokens::http::CREATE_FIELDS {
        for v in &values {
            let r = app
                .post(
                    "/tokens",
                    &alice,
                    serde_json::json!({"name": "n", field: v}),
                )
                .await;
            assert!(r.status < 500, "{field}={v}: {} {}", r.status, r.text);
            assert!(r.status == 201 || r.header("content-type") == "application/problem+json");
        }
    }
    for q in [
        "limit=%00",
        "limit=%F0%9F%94%91",
        "cursor=%FF",
        "cursor=////",
        "a=1&b=2",
        "limit=",
    ] {
        let r = app.get(&format!("/tokens?{q}"), &alice).await;
        assert!((400..500).contains(&r.status), "{q}: {}", r.text);
    }
}
