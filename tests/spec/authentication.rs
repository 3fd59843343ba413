//! Bearer tokens, the authorizer, and where the caller's identity comes from.

use std::time::Duration;

use api_tokens::domain::verification::Rejection;
use api_tokens::service::{CreateInput, VerifyError};
use api_tokens::{authorizer, secret, DynamoStore, TokenService};
use integration_tests::{dynamodb, test_config, App, Method};
use serde_json::json;

use crate::{ADMIN, USER};

#[tokio::test]
async fn requests_without_a_valid_bearer_token_are_401() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let mut bad_checksum = alice.clone().into_bytes();
    let last = bad_checksum.len() - 1;
    bad_checksum[last] = if bad_checksum[last] == b'a' {
        b'b'
    } else {
        b'a'
    };
    let bad_checksum = String::from_utf8(bad_checksum).unwrap();
    // Well formed, right checksum, but never issued by this deployment.
    let unknown = secret::generate(
        "tkn",
        uuid::Uuid::now_v7(),
        &ring::rand::SystemRandom::new(),
    );

    for auth in [
        None,
        Some("".to_string()),
        Some(format!("Basic {alice}")),
        Some(format!("Bearer{alice}")),
        Some("Bearer ".into()),
        Some("Bearer nonsense".into()),
        Some(format!("Bearer {bad_checksum}")),
        Some(format!("Bearer {}", unknown.expose())),
        Some(format!("Bearer {alice}x")),
    ] {
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("authorization", a.as_str())).collect();
        let r = app.raw(Method::GET, "/tokens", &headers, vec![]).await;
        r.assert_problem(401, "unauthorized");
        assert_eq!(r.header("www-authenticate"), "Bearer", "{auth:?}");
    }
    // The scheme is case-insensitive.
    let r = app
        .raw(
            Method::GET,
            "/tokens",
            &[("authorization", &format!("bearer {alice}"))],
            vec![],
        )
        .await;
    assert_eq!(r.status, 200);
}

/// An endpoint nothing listens on: a port the OS just handed out and took back (not a fixed
/// port some other process may hold).
fn unreachable_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn malformed_tokens_are_rejected_without_any_dynamodb_call() {
    // A service whose DynamoDB is unreachable: any lookup would fail as a store error.
    let dead = dynamodb(&unreachable_endpoint());
    let config = test_config("unreachable");
    let service = TokenService::new(DynamoStore::new(dead, "unreachable"), &config);
    let valid = secret::generate(
        "tkn",
        uuid::Uuid::now_v7(),
        &ring::rand::SystemRandom::new(),
    );
    let mut typo = valid.expose().to_string();
    typo.replace_range(10..11, if &typo[10..11] == "a" { "b" } else { "a" });

    for junk in ["", "nonsense", "tkn_short", typo.as_str()] {
        assert!(matches!(
            service.verify(junk).await,
            Err(VerifyError::Rejected(Rejection::Malformed(_)))
        ));
    }
    // A well-formed token does need the lookup, and a store failure is not "invalid token".
    assert!(matches!(
        service.verify(valid.expose()).await,
        Err(VerifyError::Store(_))
    ));
}

#[tokio::test]
async fn an_expired_token_reads_expired_and_is_refused_the_moment_it_expires() {
    let app = App::start().await;
    let admin = app.mint("acme", "root", ADMIN).await;
    // Before its expiry the token works and reads active. The window is checked, not assumed:
    // if the checks ran past it (a busy machine), they prove nothing, and a token with a wider
    // window is tried.
    let mut windows = [2_000, 8_000, 30_000].into_iter();
    let (id, short, expires_at) = loop {
        let window = windows.next().expect("a window the checks fit in");
        let expires_at = api_tokens::time::now() + chrono::Duration::milliseconds(window);
        let (id, short) = app
            .mint_with(
                "acme",
                "alice",
                USER,
                CreateInput {
                    expires_at: Some(expires_at),
                    ..Default::default()
                },
            )
            .await;
        let works = app.get("/tokens", &short).await.status;
        let status = app.get(&format!("/tokens/{id}"), &admin).await.json["status"].clone();
        if api_tokens::time::now() < expires_at {
            assert_eq!((works, status), (200, json!("active")));
            break (id, short, expires_at);
        }
    };

    // From the moment it expires (waited for from the record's own time, not a fixed sleep).
    let wait = (expires_at - api_tokens::time::now())
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(1)).await;
    app.get("/tokens", &short)
        .await
        .assert_problem(401, "unauthorized");
    assert!(matches!(
        app.service.verify(&short).await,
        Err(VerifyError::Rejected(Rejection::Expired))
    ));
    let t = app.get(&format!("/tokens/{id}"), &admin).await;
    assert_eq!(t.json["status"], "expired");
}

#[tokio::test]
async fn tenant_and_caller_come_only_from_the_verified_token() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let (bob_token_id, _) = app.mint_with("acme", "bob", USER, Default::default()).await;
    let auth = format!("Bearer {alice}");
    let forged = [
        ("authorization", auth.as_str()),
        ("x-tenant-id", "globex"),
        ("x-user-id", "bob"),
        (
            "x-amzn-requestcontext",
            r#"{"authorizer":{"lambda":{"user_id":"bob"}}}"#,
        ),
    ];
    let r = app.raw(Method::GET, "/tokens", &forged, vec![]).await;
    assert_eq!(r.status, 200);
    assert!(r.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["user_id"] == "alice"));
    let r = app
        .raw(
            Method::GET,
            &format!("/tokens/{bob_token_id}"),
            &forged,
            vec![],
        )
        .await;
    r.assert_problem(404, "token-not-found");
    // Naming another user is an admin's privilege, not a way around the token's identity.
    let r = app.get("/tokens?user_id=bob", &alice).await;
    r.assert_problem(403, "missing-scope");
}

#[tokio::test]
async fn the_http_api_authorizer_answers_with_a_simple_response_and_context() {
    let app = App::start().await;
    let (id, alice) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    let ok = authorizer::handle(&app.service, v2_event(&alice))
        .await
        .unwrap();
    assert_eq!(
        ok,
        json!({"isAuthorized": true, "context": {
            "context_version": "1", "tenant_id": "acme", "user_id": "alice", "token_id": id,
            "scopes": "tokens:read tokens:write", "expires_at": "", "allowed_ips": "", "metadata": "{}",
            "route": "", "required_scopes": "", "rate_limit": "", "quota": ""}})
    );
    let denied = authorizer::handle(&app.service, v2_event("tkn_nope"))
        .await
        .unwrap();
    assert_eq!(denied["isAuthorized"], false);
}

#[tokio::test]
async fn the_rest_api_authorizer_answers_with_an_iam_policy_allowing_the_method_or_denying_the_api()
{
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let arn = "arn:aws:execute-api:eu-west-1:1:api/prod/GET/tokens";
    let token_event =
        |auth: &str| json!({"type": "TOKEN", "authorizationToken": auth, "methodArn": arn});
    let ok = authorizer::handle(&app.service, token_event(&format!("Bearer {alice}")))
        .await
        .unwrap();
    assert_eq!(ok["principalId"], "alice");
    // Without route declarations a valid token may call every method of the API and stage:
    // the policy API Gateway caches is right for the token's next call to another method.
    assert_eq!(ok["policyDocument"]["Statement"][0]["Effect"], "Allow");
    assert_eq!(
        ok["policyDocument"]["Statement"][0]["Resource"],
        json!(["arn:aws:execute-api:eu-west-1:1:api/prod/*"])
    );
    assert_eq!(ok["context"]["tenant_id"], "acme");
    assert_eq!(ok["context"]["context_version"], "1");

    let request_event = json!({"type": "REQUEST", "methodArn": arn, "headers": {"Authorization": format!("Bearer {alice}")}});
    assert_eq!(
        authorizer::handle(&app.service, request_event)
            .await
            .unwrap()["principalId"],
        "alice"
    );

    // A refusal is an answer (API Gateway's 403), not a function error: the errors alarm
    // counts failures only.
    let refused = authorizer::handle(&app.service, token_event("Bearer junk"))
        .await
        .unwrap();
    assert_eq!(refused["principalId"], "anonymous");
    assert_eq!(refused["policyDocument"]["Statement"][0]["Effect"], "Deny");
    assert_eq!(
        refused["policyDocument"]["Statement"][0]["Resource"],
        "arn:aws:execute-api:eu-west-1:1:api/prod/*"
    );
    assert!(refused.get("context").is_none());
    // An event of neither API type is the function's error, not an answer.
    let unsupported = authorizer::handle(&app.service, json!({"hello": "world"})).await;
    assert!(
        matches!(
            unsupported,
            Err(authorizer::AuthorizerError::UnsupportedEvent(
                "no version 2.0 and no methodArn"
            ))
        ),
        "{unsupported:?}"
    );
}

/// The effect of the REST authorizer's policy for `event`.
async fn rest_effect(app: &App, event: serde_json::Value) -> String {
    let answer = authorizer::handle(&app.service, event).await.unwrap();
    answer["policyDocument"]["Statement"][0]["Effect"]
        .as_str()
        .unwrap()
        .to_string()
}

/// An HTTP API (payload 2.0) authorizer event presenting `token`.
fn v2_event(token: &str) -> serde_json::Value {
    json!({"version": "2.0", "type": "REQUEST", "routeArn": "arn:aws:execute-api:eu-west-1:1:api/$default/GET/tokens",
           "identitySource": [format!("Bearer {token}")], "routeKey": "GET /tokens", "rawPath": "/tokens",
           "rawQueryString": "", "headers": {"authorization": format!("Bearer {token}")},
           "requestContext": {"http": {"method": "GET", "path": "/tokens"}}})
}

#[tokio::test]
async fn uncached_verification_is_one_get_item_and_a_malformed_token_none() {
    let app = App::start_with(&[("LAST_USED_INTERVAL_SECONDS", "0")]).await;
    let alice = app.mint("acme", "alice", USER).await;
    for (token, cost) in [
        (alice.as_str(), 1),
        ("tkn_malformed", 0),
        (alice.as_str(), 1),
    ] {
        let before = app.requests.get();
        authorizer::handle(&app.service, v2_event(token))
            .await
            .unwrap();
        assert_eq!(app.requests.get() - before, cost, "{token}");
    }
}

#[tokio::test]
async fn the_authorizer_cache_answers_repeat_checks_without_dynamodb() {
    let app = App::start_with(&[
        ("AUTH_CACHE_TTL_SECONDS", "60"),
        ("LAST_USED_INTERVAL_SECONDS", "0"),
    ])
    .await;
    let (id, alice) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    let unknown = secret::generate(
        "tkn",
        uuid::Uuid::now_v7(),
        &ring::rand::SystemRandom::new(),
    );
    let check = |token: String| {
        let app = &app;
        async move {
            let before = app.requests.get();
            let answer = authorizer::handle(&app.service, v2_event(&token))
                .await
                .unwrap();
            (answer["isAuthorized"] == true, app.requests.get() - before)
        }
    };
    // Positive and negative answers: one GetItem the first time, none after.
    assert_eq!(check(alice.clone()).await, (true, 1));
    assert_eq!(check(alice.clone()).await, (true, 0));
    assert_eq!(check(unknown.expose().to_string()).await, (false, 1));
    assert_eq!(check(unknown.expose().to_string()).await, (false, 0));

    // The documented revocation delay: this instance keeps accepting the cached token until
    // its entry expires (here 60 s); a fresh instance, or TTL 0, refuses it at once.
    let root = integration_tests::principal("acme", "root", crate::ADMIN);
    app.service.revoke(&root, &id, None).await.unwrap();
    assert_eq!(check(alice.clone()).await, (true, 0));
    assert!(matches!(
        app.service.verify(&alice).await,
        Err(VerifyError::Rejected(Rejection::Revoked))
    ));

    // A cached positive answer never outlives the token's own expiry. The first check is
    // checked to have run before the expiry; on a machine too busy for that, a token with a
    // wider window is tried.
    for window in [2_000, 8_000, 30_000] {
        let expires_at = api_tokens::time::now() + chrono::Duration::milliseconds(window);
        let input = CreateInput {
            expires_at: Some(expires_at),
            ..Default::default()
        };
        let short = app.mint_with("acme", "alice", USER, input).await.1;
        let first = check(short.clone()).await;
        if api_tokens::time::now() >= expires_at {
            continue;
        }
        assert_eq!(first, (true, 1));
        integration_tests::sleep_past(expires_at, 20).await;
        assert_eq!(check(short.clone()).await, (false, 1));
        return;
    }
    panic!("no window the first check fits in");
}

#[tokio::test]
async fn allowed_ips_admit_only_their_blocks_in_both_payload_versions() {
    let app = App::start().await;
    let admin = app.mint("acme", "root", crate::ADMIN).await;
    let r = app
        .post("/tokens", &admin, json!({"name": "office", "scopes": ["tokens:read"], "allowed_ips": ["203.0.113.7/24", "2001:db8::/32"]}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.json["allowed_ips"],
        json!(["203.0.113.0/24", "2001:db8::/32"])
    );
    let office = r.json["secret"].as_str().unwrap().to_string();

    let v2 = |ip: &str| {
        let mut e = v2_event(&office);
        e["requestContext"]["http"]["sourceIp"] = json!(ip);
        e
    };
    let rest = |ip: Option<&str>| {
        let mut e = json!({"type": "REQUEST", "methodArn": "arn:aws:execute-api:eu-west-1:1:api/prod/GET/tokens",
                           "headers": {"Authorization": format!("Bearer {office}")}, "requestContext": {"identity": {}}});
        if let Some(ip) = ip {
            e["requestContext"]["identity"]["sourceIp"] = json!(ip);
        }
        e
    };
    for ip in ["203.0.113.200", "2001:db8:1::9", "::ffff:203.0.113.1"] {
        assert_eq!(
            authorizer::handle(&app.service, v2(ip)).await.unwrap()["isAuthorized"],
            true,
            "{ip}"
        );
        assert_eq!(rest_effect(&app, rest(Some(ip))).await, "Allow", "{ip}");
    }
    for ip in ["203.0.114.1", "10.0.0.1", "2001:db9::1", "not-an-ip"] {
        assert_eq!(
            authorizer::handle(&app.service, v2(ip)).await.unwrap()["isAuthorized"],
            false,
            "{ip}"
        );
        assert_eq!(rest_effect(&app, rest(Some(ip))).await, "Deny", "{ip}");
    }
    // No address to check (a REST TOKEN authorizer): refused.
    assert_eq!(rest_effect(&app, rest(None)).await, "Deny");
    let token_event = json!({"type": "TOKEN", "authorizationToken": format!("Bearer {office}"), "methodArn": "arn:x"});
    assert_eq!(rest_effect(&app, token_event).await, "Deny");
    // Through the local server the caller is 127.0.0.1: outside the list.
    app.get("/tokens/self", &office)
        .await
        .assert_problem(401, "unauthorized");
    // A token without a list works from anywhere.
    assert_eq!(app.get("/tokens/self", &admin).await.status, 200);
}

#[tokio::test]
async fn bad_allowed_ips_are_named() {
    let app = App::start().await;
    let admin = app.mint("acme", "root", crate::ADMIN).await;
    let r = app
        .post("/tokens", &admin, json!({"name": "x", "allowed_ips": ["10.0.0.0/8", "10.0.0.0/33", 7, "::1/129", "host"]}))
        .await;
    r.assert_problem(422, "validation-error");
    assert_eq!(
        r.error_locs(),
        [
            r#"["body","allowed_ips",1]"#,
            r#"["body","allowed_ips",2]"#,
            r#"["body","allowed_ips",3]"#,
            r#"["body","allowed_ips",4]"#
        ]
    );
    let many: Vec<String> = (0..33).map(|i| format!("10.0.{i}.0/24")).collect();
    app.post("/tokens", &admin, json!({"name": "x", "allowed_ips": many}))
        .await
        .assert_problem(422, "validation-error");
    app.post(
        "/tokens",
        &admin,
        json!({"name": "x", "allowed_ips": "10.0.0.0/8"}),
    )
    .await
    .assert_problem(422, "validation-error");
}

/// Waits until the token's record shows a use (the touch runs in the background).
async fn used(app: &App, id: &str) -> api_tokens::model::TokenItem {
    use api_tokens::store::TokenStore as _;
    let id = uuid::Uuid::parse_str(id).unwrap();
    for _ in 0..100 {
        let t = app.service.store().get(id).await.unwrap().unwrap();
        if t.last_used_at.is_some() {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the use was never recorded");
}

#[tokio::test]
async fn a_use_is_recorded_with_its_address_at_most_once_per_interval() {
    let app = App::start().await;
    let (id, alice) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    let mut event = v2_event(&alice);
    event["requestContext"]["http"]["sourceIp"] = json!("198.51.100.23");
    authorizer::handle(&app.service, event.clone())
        .await
        .unwrap();
    let t = used(&app, &id).await;
    assert_eq!(t.last_used_ip.as_deref(), Some("198.51.100.23"));
    let first = t.last_used_at.unwrap();
    // Within the interval: one GetItem per check, no further write.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let before = app.requests.get();
    for _ in 0..5 {
        authorizer::handle(&app.service, event.clone())
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.requests.get() - before, 5);
    let r = app.get(&format!("/tokens/{id}"), &alice).await;
    assert_eq!(r.json["last_used_at"], api_tokens::time::format(&first));
    assert_eq!(r.json["last_used_ip"], "198.51.100.23");
    // And the list can sort by it.
    let r = app.get("/tokens?sort=last_used_at&limit=1", &alice).await;
    assert_eq!(r.json["items"][0]["id"], id.as_str());
}

#[tokio::test]
async fn a_touch_never_undoes_a_revocation_nor_resurrects_a_deleted_token() {
    use api_tokens::store::TokenStore as _;
    let app = App::start().await;
    let root = integration_tests::principal("acme", "root", crate::ADMIN);
    let store = app.service.store();
    let minute = chrono::Duration::seconds(60);
    // Touches racing revocations: every token ends revoked, record and credential alike.
    let mut ids = Vec::new();
    for i in 0..12 {
        let (id, _) = app
            .mint_with(
                "acme",
                "alice",
                USER,
                CreateInput {
                    name: format!("t{i}"),
                    ..Default::default()
                },
            )
            .await;
        ids.push(uuid::Uuid::parse_str(&id).unwrap());
    }
    let app_ref = &app;
    let races = ids.iter().map(|id| {
        let (root, id) = (root.clone(), *id);
        async move {
            let key = id.to_string();
            let touch = store.touch(
                id,
                api_tokens::time::now(),
                Some("192.0.2.1".into()),
                minute,
            );
            let revoke = app_ref.service.revoke(&root, &key, Some("race"));
            let (t, r) = tokio::join!(touch, revoke);
            t.unwrap();
            r.unwrap();
        }
    });
    futures_util::future::join_all(races).await;
    for id in &ids {
        let t = store.get(*id).await.unwrap().unwrap();
        assert_eq!(t.status, api_tokens::model::StoredStatus::Revoked);
        assert_eq!(
            store.credential(*id).await.unwrap().unwrap().status,
            api_tokens::model::StoredStatus::Revoked
        );
        // A later touch records the use but leaves the status alone.
        store
            .touch(*id, api_tokens::time::now() + minute * 2, None, minute)
            .await
            .unwrap();
        assert_eq!(
            store.get(*id).await.unwrap().unwrap().status,
            api_tokens::model::StoredStatus::Revoked
        );
    }
    // A deleted (or never created) token stays absent.
    let gone = ids[0];
    app.dynamodb
        .delete_item()
        .table_name(&app.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(api_tokens::schema::token_pk(gone)),
        )
        .send()
        .await
        .unwrap();
    assert!(!store
        .touch(gone, api_tokens::time::now() + minute * 5, None, minute)
        .await
        .unwrap());
    assert!(store.get(gone).await.unwrap().is_none());
    assert!(!store
        .touch(uuid::Uuid::now_v7(), api_tokens::time::now(), None, minute)
        .await
        .unwrap());
}
