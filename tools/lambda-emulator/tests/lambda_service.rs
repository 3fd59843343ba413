//! The Lambda service over a real runtime (`echo-runtime`, built on `lambda_runtime`): events
//! and answers, environments and cold starts, freezing, timeouts and failures.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use lambda_emulator::invoke::{FunctionError, Invoke};
use lambda_emulator::lambda::{Lambda, LambdaOptions};
use lambda_emulator::model::Deployment;
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

const ECHO: &str = "EchoFunction";

/// A deployment of one function running `echo-runtime`, with `reserved` concurrency.
fn deployment(timeout_seconds: u32, reserved: Option<u32>) -> Deployment {
    serde_json::from_value(json!({
        "stack_name": "emulator-test", "region": "eu-west-1", "account": "123456789012",
        "functions": {ECHO: {
            "name": "emulator-test-EchoFunction-ABCDEFGHIJKLM",
            "arn": "arn:aws:lambda:eu-west-1:123456789012:function:emulator-test-EchoFunction-ABCDEFGHIJKLM",
            "binary": "echo", "memory_mb": 128, "timeout_seconds": timeout_seconds,
            "reserved_concurrency": reserved,
            "environment": {"TABLE_NAME": "tokens", "OVERRIDDEN": "by the template"},
            "logging": {"log_format": "JSON", "application_log_level": "DEBUG", "log_group": "/aws/lambda/echo"}
        }}
    }))
    .expect("a valid model")
}

/// A directory in cargo-lambda's layout (`echo/bootstrap`) holding the test runtime.
fn bin_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "lambda-emulator-test-{}-{}",
        std::process::id(),
        uuid::Uuid::now_v7().simple()
    ));
    std::fs::create_dir_all(dir.join("echo")).expect("temp dir");
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_echo-runtime"),
        dir.join("echo/bootstrap"),
    )
    .expect("symlink");
    dir
}

fn lambda(timeout_seconds: u32, reserved: Option<u32>, freeze: bool) -> Lambda {
    let dir = bin_dir();
    let options = LambdaOptions {
        log_dir: dir.clone(),
        bin_dir: dir,
        freeze,
        extra_env: BTreeMap::from([("OVERRIDDEN".into(), "by the emulator".into())]),
        aws_endpoint: "http://127.0.0.1:1".into(),
    };
    Lambda::new(&deployment(timeout_seconds, reserved), options)
}

fn json_of(result: &Result<Vec<u8>, FunctionError>) -> Value {
    let bytes = result.as_ref().expect("a response");
    serde_json::from_slice(bytes).expect("JSON")
}

fn state(pid: u32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the process is alive");
    let after = stat.rsplit_once(')').expect("stat").1;
    after.trim_start().chars().next().expect("a state")
}

#[tokio::test]
async fn an_event_is_answered_by_a_cold_then_a_warm_environment() {
    let lambda = lambda(3, None, true);
    let first = lambda.invoke(ECHO, json!({"hello": "world"})).await;
    assert_eq!(json_of(&first.result), json!({"hello": "world"}));
    assert_eq!(first.environment, 1);
    assert!(first.init.is_some(), "the first invocation is a cold start");

    let second = lambda.invoke(ECHO, json!({"n": 2})).await;
    assert_eq!(json_of(&second.result), json!({"n": 2}));
    assert_eq!((second.environment, second.init), (1, None));

    let stats = lambda.stats(ECHO);
    assert_eq!(stats.environments_started, 1);
    assert_eq!(stats.invocations, 2);
    assert_eq!(stats.cold_start_init.len(), 1);
    lambda.shutdown().await;
}

#[tokio::test]
async fn the_process_gets_lambdas_variables_then_the_templates_then_the_extras() {
    let lambda = lambda(3, None, true);
    let answer = lambda.invoke(ECHO, json!({"action": "env"})).await;
    let env = &json_of(&answer.result)["env"];
    assert_eq!(
        env["AWS_LAMBDA_FUNCTION_NAME"],
        "emulator-test-EchoFunction-ABCDEFGHIJKLM"
    );
    assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "128");
    assert_eq!(env["AWS_LAMBDA_LOG_FORMAT"], "JSON");
    assert_eq!(env["AWS_LAMBDA_LOG_LEVEL"], "DEBUG");
    assert_eq!(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/echo");
    assert_eq!(env["AWS_REGION"], "eu-west-1");
    assert_eq!(env["TZ"], ":UTC");
    assert_eq!(env["TABLE_NAME"], "tokens");
    assert_eq!(env["OVERRIDDEN"], "by the emulator");
    assert_eq!(env["AWS_ENDPOINT_URL"], "http://127.0.0.1:1");
    let key = env["AWS_ACCESS_KEY_ID"].as_str().expect("a key");
    assert!(key.starts_with("ASIA"));
    assert!(
        env.get("HOME").is_none(),
        "nothing of the emulator's own environment"
    );
    lambda.shutdown().await;
}

#[tokio::test]
async fn overlapping_invocations_get_separate_environments() {
    let lambda = lambda(3, None, true);
    let slow = json!({"action": "sleep", "ms": 300});
    let (a, b) = tokio::join!(lambda.invoke(ECHO, slow.clone()), lambda.invoke(ECHO, slow));
    let mut environments = [a.environment, b.environment];
    environments.sort();
    assert_eq!(environments, [1, 2]);
    assert!(a.init.is_some() && b.init.is_some());
    assert_eq!(lambda.stats(ECHO).environments_started, 2);
    lambda.shutdown().await;
}

#[tokio::test]
async fn reserved_concurrency_throttles_what_does_not_fit() {
    let lambda = lambda(3, Some(1), true);
    let slow = json!({"action": "sleep", "ms": 300});
    let (a, b) = tokio::join!(lambda.invoke(ECHO, slow.clone()), lambda.invoke(ECHO, slow));
    let throttled = [&a, &b]
        .iter()
        .filter(|i| i.result == Err(FunctionError::Throttled))
        .count();
    assert_eq!(throttled, 1);
    lambda.shutdown().await;
}

#[tokio::test]
async fn an_idle_environment_is_stopped_and_runs_during_an_invocation() {
    let lambda = lambda(3, None, true);
    lambda.invoke(ECHO, json!({})).await;
    lambda.wait_idle(ECHO).await;
    let pid = lambda.environments(ECHO)[0].pid;
    assert_eq!(state(pid), 'T', "stopped while it waits for an event");

    let lambda2 = lambda.clone();
    let running = tokio::spawn(async move {
        lambda2
            .invoke(ECHO, json!({"action": "sleep", "ms": 400}))
            .await
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_ne!(state(pid), 'T', "running during the invocation");
    assert_eq!(running.await.expect("joined").environment, 1);
    lambda.wait_idle(ECHO).await;
    assert_eq!(state(pid), 'T');
    lambda.shutdown().await;
}

#[tokio::test]
async fn a_timeout_kills_the_environment_and_the_next_invocation_starts_cold() {
    let lambda = lambda(1, None, true);
    let first = lambda.invoke(ECHO, json!({})).await;
    let pid = lambda.environments(ECHO)[0].pid;
    let slow = lambda
        .invoke(ECHO, json!({"action": "sleep", "ms": 3000}))
        .await;
    assert_eq!(
        slow.result,
        Err(FunctionError::Timeout(Duration::from_secs(1)))
    );
    assert_eq!(slow.environment, first.environment);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the timed-out process is gone"
    );
    let next = lambda.invoke(ECHO, json!({"n": 3})).await;
    assert_eq!(json_of(&next.result), json!({"n": 3}));
    assert_eq!(next.environment, 2);
    assert!(next.init.is_some(), "a cold start");
    lambda.shutdown().await;
}

#[tokio::test]
async fn a_function_error_keeps_the_environment_and_an_exit_discards_it() {
    let lambda = lambda(3, None, true);
    let failed = lambda.invoke(ECHO, json!({"action": "fail"})).await;
    match &failed.result {
        Err(FunctionError::Handled { message, .. }) => assert_eq!(message, "asked to fail"),
        other => panic!("expected a handled error, got {other:?}"),
    }
    let warm = lambda.invoke(ECHO, json!({})).await;
    assert_eq!((warm.environment, warm.init), (1, None));

    let exited = lambda
        .invoke(ECHO, json!({"action": "exit", "code": 3}))
        .await;
    assert!(
        matches!(exited.result, Err(FunctionError::Runtime(_))),
        "{exited:?}"
    );
    let next = lambda.invoke(ECHO, json!({})).await;
    assert_eq!(next.environment, 2);
    assert!(next.init.is_some());
    lambda.shutdown().await;
}

/// Invokes a function that spawns a task writing to a listener 50 ms after the answer, then
/// says whether the write arrived within 500 ms.
async fn late_write_arrives(lambda: &Lambda, listener: &TcpListener) -> bool {
    let addr = listener.local_addr().expect("addr").to_string();
    let answer = lambda
        .invoke(
            ECHO,
            json!({"action": "late_write", "addr": addr, "delay_ms": 50}),
        )
        .await;
    assert_eq!(json_of(&answer.result), json!({"spawned": true}));
    let accepted = tokio::time::timeout(Duration::from_millis(500), async {
        let (mut stream, _) = listener.accept().await.expect("accept");
        let mut text = String::new();
        stream.read_to_string(&mut text).await.expect("read");
        text
    })
    .await;
    match accepted {
        Ok(text) => {
            assert_eq!(text, "late");
            true
        }
        Err(_) => false,
    }
}

#[tokio::test]
async fn work_left_running_after_the_answer_does_not_run_while_frozen() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let frozen = lambda(3, None, true);
    assert!(!late_write_arrives(&frozen, &listener).await);

    // The next invocation thaws the process, and the write goes out then.
    frozen.invoke(ECHO, json!({})).await;
    let (mut stream, _) = tokio::time::timeout(Duration::from_secs(2), listener.accept())
        .await
        .expect("the write arrives once thawed")
        .expect("accept");
    let mut text = String::new();
    stream.read_to_string(&mut text).await.expect("read");
    assert_eq!(text, "late");
    frozen.shutdown().await;

    let running = lambda(3, None, false);
    assert!(late_write_arrives(&running, &listener).await);
    running.shutdown().await;
}
