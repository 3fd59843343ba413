//! `scripts/bench cold-start`: cold start of every function's release binary, started the
//! way Lambda starts it, against a minimal Lambda Runtime API emulator (`emulator`) and DynamoDB
//! Local. Prints a Markdown table.
//!
//! Each run spawns the binary with a Lambda-like environment (and nothing else; the keys are
//! read from SSM Parameter Store, which the emulator also answers), hands it two
//! invocations of a realistic event, and timestamps what the runtime client does:
//! - init: process spawn → its first `GET /runtime/invocation/next`;
//! - cold start: process spawn → the first invocation's `POST .../response`;
//! - 1st invocation: that `next` → that response (a fresh DynamoDB connection);
//! - 2nd invocation: the same work again in the same process (the connection is warm).
//!
//! The response must be a success (no `/error` or `/init/error` POST; a 2xx status, an
//! authorization, an empty `batchItemFailures`, events actually put), or the run fails.
//!
//! `COLD_START_RUNS` (default 20) sets the runs per function; `COLD_START_BIN_DIR` (default
//! `target/release`) where the binaries are; `COLD_START_KEYS=env` passes the keys in the
//! environment instead of through SSM.

mod emulator;
mod functions;
mod run;

use std::path::{Path, PathBuf};
use std::time::Instant;

use api_tokens::service::CreateInput;
use api_tokens::store::requests;
use api_tokens::{schema, Config, DynamoStore, TokenService};
use api_tokens_benches::percentile;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use functions::{Bench, Function, FUNCTIONS, TENANT, USER};
use integration_tests::{dynamodb, endpoint};
use run::{run_once, Sample};

#[tokio::main]
async fn main() {
    let runs: usize = std::env::var("COLD_START_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let bin_dir = PathBuf::from(
        std::env::var("COLD_START_BIN_DIR").unwrap_or_else(|_| "target/release".into()),
    );
    let db = dynamodb(&endpoint());
    let table = format!("bench-{}", uuid::Uuid::now_v7().simple());
    schema::create_table(&db, &table).await.unwrap();
    let bench = set_up(&db, &table).await;

    println!(
        "| function | binary | init (spawn → first `next`) | cold start (spawn → first response) median / p90 | 1st invocation, cold connection | 2nd invocation, warm connection |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    let mut failed = false;
    for function in &FUNCTIONS {
        failed |= !measure(&bench, &bin_dir, function, runs).await;
    }
    println!("\n{runs} runs per function (medians unless marked), after one unrecorded run.\n");
    first_request_cost(&bench, runs).await;
    db.delete_table().table_name(&table).send().await.unwrap();
    if failed {
        std::process::exit(1);
    }
}

/// The service over `table` with fresh keys, the caller's token, and the environment
/// every function is started with.
async fn set_up(db: &aws_sdk_dynamodb::Client, table: &str) -> Bench {
    let (cursor_keys, hash_key) = (random_key(), random_key());
    let vars = [
        ("TABLE_NAME", table.to_string()),
        ("CURSOR_KEYS", cursor_keys),
        ("TOKEN_HASH_KEY", hash_key),
        ("EVENT_BUS_NAME", "bench-bus".to_string()),
    ];
    let config =
        Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .expect("bench configuration");
    let service = TokenService::new(DynamoStore::new(db.clone(), table), &config);
    let input = CreateInput {
        name: "cold start caller".into(),
        scopes: vec!["tokens:read".into(), "tokens:write".into()],
        ..CreateInput::default()
    };
    let (caller, secret) = service
        .issue(TENANT, USER, USER, input)
        .await
        .expect("seed the caller's token");
    let (env, parameters) = lambda_env(&vars);
    Bench {
        service,
        parameters,
        env,
        caller_token_id: caller.id.to_string(),
        secret: secret.expose().to_string(),
    }
}

/// Names and values: environment variables, SSM parameters.
type Pairs = Vec<(String, String)>;

/// What Lambda sets (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html),
/// dummy credentials, DynamoDB Local, and the service's configuration `vars`; and the SSM
/// parameters the emulator answers with.
fn lambda_env(vars: &[(&str, String)]) -> (Pairs, Pairs) {
    let mut env: Pairs = [
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
        ("AWS_SESSION_TOKEN", "local"),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/11/23/[$LATEST]0123456789abcdef0123456789abcdef",
        ),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        ("_HANDLER", "bootstrap"),
        ("LAMBDA_TASK_ROOT", "/var/task"),
        ("TZ", ":UTC"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.push(("AWS_ENDPOINT_URL_DYNAMODB".into(), endpoint()));
    // As deployed: the keys are read from SSM Parameter Store (the emulator answers
    // `GetParameters`), the rest from the environment.
    // `COLD_START_KEYS=env` puts them in the environment instead (binaries older than SSM).
    let from_ssm = std::env::var("COLD_START_KEYS").as_deref() != Ok("env");
    let mut parameters = Vec::new();
    for (k, v) in vars {
        if from_ssm && (k.ends_with("_KEY") || k.ends_with("_KEYS")) {
            let name = format!("/api-tokens/bench/{}", k.to_lowercase());
            env.push((format!("{k}_PARAMETER"), name.clone()));
            parameters.push((name, v.clone()));
        } else {
            env.push((k.to_string(), v.clone()));
        }
    }
    (env, parameters)
}

/// Runs `function` `runs` times (after one unrecorded run: DynamoDB Local, a JVM, warms up
/// too, and it is not under test) and prints its row; `false` when a run failed.
async fn measure(bench: &Bench, bin_dir: &Path, function: &Function, runs: usize) -> bool {
    let bin = bin_dir.join(function.bin);
    let size = std::fs::metadata(&bin)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}; build the functions with cargo build --release",
                bin.display()
            )
        })
        .len();
    let log = std::env::temp_dir().join(format!("cold-start-{}.log", function.bin));
    let mut samples = Vec::with_capacity(runs);
    for i in 0..=runs {
        match run_once(bench, &bin, function, &log).await {
            Ok(s) if i > 0 => samples.push(s),
            Ok(_) => {}
            Err(e) => {
                println!(
                    "| {} | FAILED: {e} (log: {}) | | | | |",
                    function.bin,
                    log.display()
                );
                return false;
            }
        }
    }
    let col = |f: fn(&Sample) -> f64| samples.iter().map(f).collect::<Vec<_>>();
    let (init, cold, first, second) = (
        col(|s| s.init),
        col(|s| s.cold_start),
        col(|s| s.first),
        col(|s| s.second),
    );
    println!(
        "| {} | {:.2} MB | {:.1} ms | **{:.1} ms** / {:.1} ms | {:.1} ms | {:.1} ms |",
        function.bin,
        size as f64 / 1e6,
        percentile(&init, 0.5),
        percentile(&cold, 0.5),
        percentile(&cold, 0.9),
        percentile(&first, 0.5),
        percentile(&second, 0.5),
    );
    true
}

/// What a function's first DynamoDB request costs beyond a later one: the client as
/// `service_from_env` builds it at init, from `config::lambda_sdk_config` and the Lambda
/// environment (nothing is sent then), a first `GetItem` (the store's, as the authorizer
/// sends it) that opens the connection, then the same `GetItem` again over the warm
/// connection.
async fn first_request_cost(bench: &Bench, runs: usize) {
    for (k, v) in &bench.env {
        std::env::set_var(k, v);
    }
    let table = bench
        .env
        .iter()
        .find(|(k, _)| k == "TABLE_NAME")
        .unwrap()
        .1
        .clone();
    let (mut build, mut first, mut second) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..=runs {
        let t = Instant::now();
        let sdk = api_tokens::config::lambda_sdk_config(api_tokens::Budget::API)
            .expect("the Lambda environment");
        let client = aws_sdk_dynamodb::Client::new(&sdk);
        build.push(t.elapsed().as_secs_f64() * 1000.0);
        for times in [&mut first, &mut second] {
            let t = Instant::now();
            requests::get_item(&client, &table, schema::credential_pk(uuid::Uuid::nil()))
                .send()
                .await
                .expect("GetItem on DynamoDB Local");
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let median = |v: &[f64]| percentile(&v[1..], 0.5);
    println!("| DynamoDB client (in-process, {runs} fresh clients) | median |");
    println!("| --- | --- |");
    println!(
        "| build the client (`config::lambda_sdk_config`, at init) | {:.2} ms |",
        median(&build)
    );
    println!(
        "| first `GetItem`: connector, TCP connection | {:.2} ms |",
        median(&first)
    );
    println!(
        "| second `GetItem`, warm connection | {:.2} ms |",
        median(&second)
    );
}

fn random_key() -> String {
    let mut k = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut k).unwrap();
    STANDARD.encode(k)
}
