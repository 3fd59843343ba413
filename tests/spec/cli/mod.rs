//! `tokens`, the command line (tools/tokens-cli), against the dev server: each command and
//! its `--json` ([`commands`]); exit codes and messages, the secret file and the config
//! file's permissions ([`failures`]). The tool is blocking, so each run is a `spawn_blocking`
//! beside the server's tasks.

mod commands;
mod failures;

use std::collections::BTreeSet;
use std::path::PathBuf;

use api_tokens::http::{CREATE_FIELDS, LIST_PARAMETERS, ROTATE_FIELDS, UPDATE_FIELDS};
use integration_tests::App;
use serde_json::Value;
use tokens_cli::exit;

/// One run of the tool.
pub struct Run {
    pub code: u8,
    pub out: String,
    pub err: String,
}

impl Run {
    /// Stdout as JSON, after checking the run succeeded.
    pub fn json(&self) -> Value {
        assert_eq!(self.code, exit::OK, "stderr: {}", self.err);
        serde_json::from_str(&self.out).unwrap_or_else(|e| panic!("{e}: {}", self.out))
    }

    /// Checks the exit code, that stdout is empty and stderr is one `tokens:` line (plus
    /// field errors); returns stderr.
    pub fn failed(&self, code: u8) -> &str {
        assert_eq!(
            self.code, code,
            "stdout: {}\nstderr: {}",
            self.out, self.err
        );
        assert!(self.out.is_empty(), "{}", self.out);
        assert!(self.err.starts_with("tokens: "), "{}", self.err);
        let extra = self.err.lines().skip(1);
        assert!(extra.clone().all(|l| l.starts_with("  ")), "{}", self.err);
        &self.err
    }
}

/// Runs `tokens ARGS` with exactly the environment `vars` (no config file of the machine's).
pub async fn run_with(vars: &[(&str, &str)], args: &[&str]) -> Run {
    let mut vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if !vars
        .iter()
        .any(|(k, _)| k == "HOME" || k == "XDG_CONFIG_HOME")
    {
        vars.push(("HOME".into(), "/nonexistent".into()));
    }
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let env = |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let line = std::iter::once("tokens".to_string()).chain(args);
        let code = tokens_cli::run(line, &env, &mut out, &mut err);
        let (out, err) = (
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        );
        Run { code, out, err }
    })
    .await
    .unwrap()
}

/// Runs `tokens ARGS` against `app` with `token` in `TOKENS_TOKEN`; the token never shows.
pub async fn tokens(app: &App, token: &str, args: &[&str]) -> Run {
    let url = format!("http://{}", app.addr);
    let run = run_with(&[("TOKENS_API_URL", &url), ("TOKENS_TOKEN", token)], args).await;
    assert!(
        !run.out.contains(token) && !run.err.contains(token),
        "the token was printed"
    );
    run
}

/// A new empty directory.
pub fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tokens-cli-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn names<'a>(items: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    items.into_iter().map(String::from).collect()
}

pub fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

/// The names `tokens list --json ARGS` lists.
pub async fn listed(app: &App, token: &str, args: &[&str]) -> Vec<String> {
    let mut line = vec!["list", "--json"];
    line.extend_from_slice(args);
    let page = tokens(app, token, &line).await.json();
    let items = page["items"].as_array().unwrap().iter();
    items
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_flags_cover_every_parameter_and_field_of_the_api() {
    let id = "0190a1b2-0000-7000-8000-000000000001";
    let parse = |line: &str| tokens_cli::cli::parse(line.split_whitespace()).unwrap();
    let t = "2026-01-01T00:00:00Z";
    let list = parse(&format!(
        "tokens list --status active --include-revoked --user-id bob --token-id {id} --name n \
         --scope s --metadata a=b --created-after {t} --created-before {t} --expires-after {t} \
         --expires-before {t} --last-used-after {t} --last-used-before {t} --sort name \
         --order asc --limit 5 --cursor c --total --limited true"
    ));
    let tokens_cli::cli::Command::List(list) = list.command else {
        panic!()
    };
    let sent = tokens_cli::list_query(&list)
        .into_iter()
        .map(|(name, _)| name);
    assert_eq!(names(sent), names(LIST_PARAMETERS));

    let create = parse(&format!(
        "tokens create --name n --description d --scope s --expires-at {t} --user-id u \
         --metadata a=b --allowed-ip 10.0.0.0/8 --rate-limit 100/60 --quota 10/day"
    ));
    let tokens_cli::cli::Command::Create(create) = create.command else {
        panic!()
    };
    let mut fields = keys(&tokens_cli::create_body(&create).unwrap());
    fields.insert("expires_in_days".into()); // --expires-in-days, which excludes --expires-at
    assert_eq!(fields, names(CREATE_FIELDS));

    let rotate = parse(&format!(
        "tokens rotate {id} --grace 1h --expires-at {t} --rate-limit 1/1 --quota 1/total"
    ));
    let tokens_cli::cli::Command::Rotate(rotate) = rotate.command else {
        panic!()
    };
    assert_eq!(
        keys(&tokens_cli::rotate_body(&rotate).unwrap()),
        names(ROTATE_FIELDS)
    );

    let update = parse(&format!(
        "tokens update {id} --name n --description d --metadata a=b --rate-limit 5/60 --quota 3/total"
    ));
    let tokens_cli::cli::Command::Update(update) = update.command else {
        panic!()
    };
    assert_eq!(
        keys(&tokens_cli::update_body(&update).unwrap()),
        names(UPDATE_FIELDS)
    );
}
