//! What goes wrong, and how it is told: one line on stderr (and the API's field errors), the
//! exit code of its kind, never the token; the secret file and the config file's checks.

use integration_tests::App;
use tokens_cli::exit;

use super::{run_with, temp_dir, tokens};
use crate::USER;

#[cfg(unix)]
#[tokio::test]
async fn the_secret_file_is_new_and_private_and_never_overwritten() {
    use std::os::unix::fs::PermissionsExt;
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let dir = temp_dir();
    let path = dir.join("ci.token");
    let file = path.to_str().unwrap();

    let created = tokens(
        &app,
        &alice,
        &["create", "--name", "ci", "--secret-file", file, "--json"],
    )
    .await
    .json();
    assert!(created.get("secret").is_none(), "{created}");
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let secret = std::fs::read_to_string(&path).unwrap();
    let me = tokens(&app, secret.trim(), &["whoami", "--json"])
        .await
        .json();
    assert_eq!(me["id"], created["id"]);

    // The same path again: refused before anything is minted, the file untouched.
    let again = tokens(
        &app,
        &alice,
        &["create", "--name", "ci", "--secret-file", file],
    )
    .await;
    let err = again.failed(exit::SECRET_FILE);
    assert!(
        err.contains(file) && err.contains("exists already"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), secret);
    let named = tokens(&app, &alice, &["list", "--name", "ci", "--json"])
        .await
        .json();
    assert_eq!(named["items"].as_array().unwrap().len(), 1);

    // rotate writes its new secret the same way; the text output says where it went.
    let rotated_path = dir.join("ci.rotated");
    let id = created["id"].as_str().unwrap();
    let rotated = tokens(
        &app,
        &alice,
        &[
            "rotate",
            id,
            "--secret-file",
            rotated_path.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(rotated.code, exit::OK, "{}", rotated.err);
    assert!(rotated.out.contains("secret written to"), "{}", rotated.out);
    let new_secret = std::fs::read_to_string(&rotated_path).unwrap();
    assert!(!rotated.out.contains(new_secret.trim()));
    assert_eq!(
        std::fs::metadata(&rotated_path)
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let me = tokens(&app, new_secret.trim(), &["whoami", "--json"])
        .await
        .json();
    assert_eq!(me["rotated_from"], created["id"]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_revoked_token_is_refused_with_the_authentication_exit_code() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let (id, victim) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    let revoked = tokens(
        &app,
        &alice,
        &["revoke", &id, "--reason", "laptop lost", "--json"],
    )
    .await
    .json();
    assert_eq!(revoked["status"], "revoked");
    assert_eq!(revoked["revocation_reason"], "laptop lost");
    // Again: the first revocation, unchanged.
    let again = tokens(&app, &alice, &["revoke", &id, "--json"])
        .await
        .json();
    assert_eq!(again, revoked);

    let refused = tokens(&app, &victim, &["whoami"]).await;
    let err = refused.failed(exit::AUTH);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("authentication refused (401 Unauthorized)") && err.contains("revoked"),
        "{err}"
    );
}

#[tokio::test]
async fn refusals_name_the_parameter_and_have_their_exit_codes() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let reader = app.mint("acme", "alice", &["tokens:read"]).await;

    let bad = tokens(
        &app,
        &alice,
        &["list", "--created-after", "yesterday", "--limit", "0"],
    )
    .await;
    let err = bad.failed(exit::REFUSED);
    assert!(
        err.contains("request refused (422 Validation error)"),
        "{err}"
    );
    assert!(
        err.contains("\n  query created_after (--created-after): "),
        "{err}"
    );
    assert!(err.contains("\n  query limit (--limit): "), "{err}");

    let unknown = tokens(
        &app,
        &alice,
        &["create", "--name", "x", "--scope", "no:such"],
    )
    .await;
    assert!(
        unknown.failed(exit::REFUSED).contains("(--scope)"),
        "{}",
        unknown.err
    );

    let missing = tokens(&app, &reader, &["create", "--name", "x"]).await;
    assert!(
        missing.failed(exit::AUTH).contains("not allowed (403"),
        "{}",
        missing.err
    );
    assert!(missing.err.contains("tokens:write"), "{}", missing.err);

    let nobody = uuid::Uuid::now_v7().to_string();
    let gone = tokens(&app, &alice, &["show", &nobody]).await;
    assert!(
        gone.failed(exit::NOT_FOUND).contains("not found (404"),
        "{}",
        gone.err
    );
    assert_eq!(
        tokens(&app, &alice, &["revoke", &nobody]).await.code,
        exit::NOT_FOUND
    );

    let usage = tokens(&app, &alice, &["show", "not-an-id"]).await;
    assert_eq!(usage.code, exit::USAGE);
}

#[tokio::test]
async fn an_unreachable_api_is_a_network_failure_naming_the_url() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let run = run_with(
        &[("TOKENS_API_URL", &url), ("TOKENS_TOKEN", "tkn_x")],
        &["list"],
    )
    .await;
    let err = run.failed(exit::NETWORK);
    assert!(
        err.starts_with(&format!(
            "tokens: cannot reach {url}/tokens: connection refused"
        )),
        "{err}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_config_file_holding_a_token_must_be_private() {
    use std::os::unix::fs::PermissionsExt;
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let home = temp_dir();
    let path = home.join("tokens/config.toml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        &path,
        format!("api_url = \"http://{}\"\ntoken = \"{alice}\"\n", app.addr),
    )
    .unwrap();
    let xdg = [("XDG_CONFIG_HOME", home.to_str().unwrap())];

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let open = run_with(&xdg, &["whoami"]).await;
    let err = open.failed(exit::CONFIG);
    assert!(
        err.contains(&format!("run: chmod 600 {}", path.display())),
        "{err}"
    );
    assert!(!err.contains(&alice));

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let me = run_with(&xdg, &["whoami", "--json"]).await.json();
    assert_eq!(me["user_id"], "alice");
    // Named by TOKENS_CONFIG, with the URL from the environment.
    let named = [
        ("TOKENS_CONFIG", path.to_str().unwrap()),
        ("TOKENS_API_URL", "http://127.0.0.1:1"),
    ];
    let run = run_with(&named, &["whoami"]).await;
    assert_eq!(run.failed(exit::NETWORK), format!("tokens: cannot reach http://127.0.0.1:1/tokens/self: connection refused (is the API URL right, and the server up?)\n"));
    let none = run_with(&[], &["whoami"]).await;
    assert!(
        none.failed(exit::CONFIG).contains("no API URL"),
        "{}",
        none.err
    );
    std::fs::remove_dir_all(home).unwrap();
}
