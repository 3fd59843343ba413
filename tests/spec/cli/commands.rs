//! Each command against the dev server: what it sends, what it prints, its `--json`.

use std::collections::BTreeSet;

use integration_tests::App;
use serde_json::json;
use tokens_cli::{exit, TOKEN_FIELDS};

use super::{keys, listed, names, run_with, tokens};
use crate::{ADMIN, USER};

#[tokio::test]
async fn create_sends_every_field_and_whoami_reads_the_new_token() {
    let app = App::start().await;
    let admin = app.mint("acme", "root", ADMIN).await;
    let created = tokens(
        &app,
        &admin,
        &[
            "create",
            "--name",
            "ci deploy",
            "--description",
            "deploys",
            "--scope",
            "tokens:read,tokens:write",
            "--expires-in-days",
            "30",
            "--metadata",
            "team=infra",
            "--metadata",
            "env=prod",
            "--user-id",
            "bob",
            "--allowed-ip",
            "127.0.0.1",
            "--json",
        ],
    )
    .await
    .json();
    assert_eq!(created["name"], "ci deploy");
    assert_eq!(created["user_id"], "bob");
    assert_eq!(created["scopes"], json!(["tokens:read", "tokens:write"]));
    assert_eq!(created["metadata"], json!({"team": "infra", "env": "prod"}));
    assert_eq!(created["allowed_ips"], json!(["127.0.0.1/32"]));
    assert!(created["expires_at"].is_string());
    let (id, secret) = (
        created["id"].as_str().unwrap(),
        created["secret"].as_str().unwrap(),
    );

    // The secret works, and whoami names its token.
    let me = tokens(&app, secret, &["whoami", "--json"]).await.json();
    assert_eq!(me["id"], id);
    let me = tokens(&app, secret, &["whoami"]).await;
    assert_eq!(me.code, exit::OK);
    assert!(
        me.out.contains("name               ci deploy\n"),
        "{}",
        me.out
    );
}

#[tokio::test]
async fn show_prints_every_field_and_create_without_json_shows_the_secret_once() {
    let app = App::start().await;
    let admin = app.mint("acme", "root", ADMIN).await;
    let args = [
        "create",
        "--name",
        "ci",
        "--user-id",
        "bob",
        "--metadata",
        "team=infra",
        "--metadata",
        "env=prod",
        "--json",
    ];
    let created = tokens(&app, &admin, &args).await.json();
    let id = created["id"].as_str().unwrap();

    // show: every field of the API's token object, as lines or as the API's JSON.
    let shown = tokens(&app, &admin, &["show", id]).await;
    assert_eq!(shown.code, exit::OK, "{}", shown.err);
    for line in [
        format!("id                 {id}"),
        "user_id            bob".into(),
        "metadata           env=prod team=infra".into(),
    ] {
        assert!(shown.out.contains(&line), "{line}: {}", shown.out);
    }
    let json = tokens(&app, &admin, &["show", id, "--json"]).await.json();
    assert_eq!(keys(&json), names(TOKEN_FIELDS));
    assert_eq!(json, app.get(&format!("/tokens/{id}"), &admin).await.json);

    // Without --json: the details, then the secret, shown this once.
    let human = tokens(&app, &admin, &["create", "--name", "laptop"]).await;
    assert_eq!(human.code, exit::OK, "{}", human.err);
    let secret_line = human
        .out
        .lines()
        .find(|l| l.starts_with("secret "))
        .unwrap();
    let secret = secret_line.split_whitespace().nth(1).unwrap();
    assert_eq!(
        tokens(&app, secret, &["whoami", "--json"]).await.json()["name"],
        "laptop"
    );
    assert!(human.err.contains("shown only now"), "{}", human.err);
}

#[tokio::test]
async fn list_sends_each_filter_and_prints_a_table_or_the_page() {
    let app = App::start().await;
    let admin = app.mint("acme", "root", ADMIN).await;
    for (name, labels, scope) in [
        ("deploy eu", "team=infra", "tokens:write"),
        ("deploy us", "team=infra", "tokens:read"),
        ("laptop", "team=web", "tokens:read"),
    ] {
        let args = [
            "create",
            "--name",
            name,
            "--metadata",
            labels,
            "--scope",
            scope,
            "--json",
        ];
        tokens(&app, &admin, &args).await.json();
    }
    assert_eq!(
        listed(
            &app,
            &admin,
            &[
                "--metadata",
                "team=infra",
                "--sort",
                "name",
                "--order",
                "asc"
            ]
        )
        .await,
        ["deploy eu", "deploy us"]
    );
    assert_eq!(
        listed(
            &app,
            &admin,
            &["--scope", "tokens:write", "--name", "DEPLOY"]
        )
        .await,
        ["deploy eu"]
    );
    assert_eq!(
        listed(&app, &admin, &["--status", "revoked"]).await,
        Vec::<String>::new()
    );

    let page = tokens(&app, &admin, &["list", "--total", "--json", "--limit", "2"])
        .await
        .json();
    assert_eq!(
        (page["total"].as_u64(), page["limit"].as_u64()),
        (Some(4), Some(2))
    );
    assert!(page["next_cursor"].is_string());

    let table = tokens(&app, &admin, &["list", "--sort", "name", "--total"]).await;
    assert_eq!(table.code, exit::OK, "{}", table.err);
    let lines: Vec<&str> = table.out.lines().collect();
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("STATUS"),
        "{}",
        table.out
    );
    assert!(
        lines[1].contains("deploy eu") && lines[1].contains("active"),
        "{}",
        table.out
    );
    assert_eq!(lines.last(), Some(&"4 token(s) of 4"), "{}", table.out);
}

#[tokio::test]
async fn all_follows_next_cursor_to_the_last_page() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    for _ in 0..7 {
        app.mint("acme", "alice", USER).await;
    }
    let one = tokens(&app, &alice, &["list", "--limit", "3", "--json"])
        .await
        .json();
    assert_eq!(one["items"].as_array().unwrap().len(), 3);
    let all = tokens(&app, &alice, &["list", "--all", "--limit", "3", "--json"])
        .await
        .json();
    let ids: BTreeSet<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 8, "{all}");
    let table = tokens(&app, &alice, &["list", "--all", "--limit", "3"]).await;
    assert!(table.out.ends_with("8 token(s)\n"), "{}", table.out);
    assert!(!table.out.contains("--cursor"), "{}", table.out);
    let first_page = tokens(&app, &alice, &["list", "--limit", "3"]).await;
    assert!(
        first_page.out.contains("more: add --cursor "),
        "{}",
        first_page.out
    );
}

#[tokio::test]
async fn rotate_keeps_the_old_secret_for_the_grace_period_once() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let (id, old) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    let rotated = tokens(&app, &alice, &["rotate", &id, "--grace", "1h", "--json"])
        .await
        .json();
    assert_eq!(rotated["rotated_from"], id.as_str());
    let new = rotated["secret"].as_str().unwrap();
    assert_eq!(
        tokens(&app, new, &["whoami", "--json"]).await.json()["id"],
        rotated["id"]
    );

    // The old secret works for the hour of grace, which is its new expiry.
    let before = tokens(&app, &old, &["whoami", "--json"]).await.json();
    assert_eq!(before["rotated_to"], rotated["id"]);
    let expires =
        chrono::DateTime::parse_from_rfc3339(before["expires_at"].as_str().unwrap()).unwrap();
    let left = expires
        .signed_duration_since(chrono::Utc::now())
        .num_minutes();
    assert!((55..=60).contains(&left), "{left} minutes of grace");

    // Only once (409), and a key makes a retry return the same secret.
    let twice = tokens(&app, &alice, &["rotate", &id]).await;
    assert!(
        twice
            .failed(exit::REFUSED)
            .contains("(409 Token not rotatable)"),
        "{}",
        twice.err
    );
    let fresh = rotated["id"].as_str().unwrap();
    let keyed = [
        "rotate",
        fresh,
        "--idempotency-key",
        "rotate-ci-1",
        "--json",
    ];
    let first = tokens(&app, &alice, &keyed).await.json();
    let replay = tokens(&app, &alice, &keyed).await;
    assert_eq!(replay.json()["secret"], first["secret"]);
    assert!(replay.err.contains("earlier answer"), "{}", replay.err);
}

#[tokio::test]
async fn update_renames_and_relabels() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let (id, _) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    let args = [
        "update",
        &id,
        "--name",
        "ci (eu)",
        "--metadata",
        "region=eu",
        "--json",
    ];
    let updated = tokens(&app, &alice, &args).await.json();
    assert_eq!(
        (updated["name"].as_str(), &updated["metadata"]),
        (Some("ci (eu)"), &json!({"region": "eu"}))
    );
    let cleared = tokens(&app, &alice, &["update", &id, "--clear-metadata", "--json"])
        .await
        .json();
    assert_eq!(cleared["metadata"], json!({}));
    assert_eq!(
        tokens(&app, &alice, &["update", &id]).await.code,
        exit::USAGE
    );
}

#[tokio::test]
async fn completions_are_printed_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let run = run_with(&[], &["completions", shell]).await;
        assert_eq!(run.code, exit::OK, "{shell}: {}", run.err);
        assert!(
            run.out.contains("rotate") && run.out.contains("--secret-file"),
            "{shell}"
        );
    }
}

#[tokio::test]
async fn limits_are_set_lowered_listed_and_an_exhausted_quota_exits_10() {
    let app = App::start().await;
    let admin = app.mint("acme", "root", ADMIN).await;
    let created = tokens(
        &app,
        &admin,
        &[
            "create",
            "--name",
            "metered",
            "--scope",
            "tokens:read",
            "--user-id",
            "alice",
            "--rate-limit",
            "100/60",
            "--quota",
            "2/total",
            "--json",
        ],
    )
    .await
    .json();
    assert_eq!(
        created["rate_limit"],
        json!({"limit": 100, "window_seconds": 60})
    );
    assert_eq!(created["quota"], json!({"limit": 2, "period": "total"}));
    let (id, secret) = (
        created["id"].as_str().unwrap(),
        created["secret"].as_str().unwrap(),
    );
    let lowered = tokens(
        &app,
        &admin,
        &["update", id, "--rate-limit", "10/60", "--json"],
    )
    .await;
    assert_eq!(lowered.json()["rate_limit"]["limit"], 10);
    assert_eq!(
        listed(&app, &admin, &["--limited", "true"]).await,
        ["metered"]
    );
    let me = tokens(&app, secret, &["whoami"]).await;
    assert!(
        me.out.contains("rate_limit         10 per 60 s\n"),
        "{}",
        me.out
    );
    assert!(me.out.contains("quota_remaining    1\n"), "{}", me.out);
    tokens(&app, secret, &["whoami"]).await;
    // Used up for good: no Retry-After, so no retry, and its own exit code.
    let over = tokens(&app, secret, &["whoami"]).await;
    assert_eq!(over.code, exit::LIMITED, "{}", over.err);
    assert!(
        over.err
            .contains("over the token's limits (429 Quota exhausted)"),
        "{}",
        over.err
    );
    assert!(over.err.contains("sent 1 time(s)"), "{}", over.err);
    let removed = tokens(&app, &admin, &["update", id, "--no-quota", "--json"]).await;
    assert_eq!(removed.json()["quota"], serde_json::Value::Null);
    assert_eq!(tokens(&app, secret, &["whoami"]).await.code, exit::OK);
}
