//! One run: spawn the binary as Lambda would, hand it its invocations, time what it does.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::emulator::{Emulator, Seen};
use crate::functions::{Bench, Expect, Function};

/// Invocations per run: the first on a cold process, the second warm.
const INVOCATIONS: usize = 2;

/// One cold start's timings, in milliseconds.
pub struct Sample {
    pub init: f64,
    pub cold_start: f64,
    pub first: f64,
    pub second: f64,
}

fn check(expect: Expect, answer: &Value, first: bool, put_events: usize) -> Result<(), String> {
    let ok = match expect {
        Expect::Http => answer["statusCode"]
            .as_u64()
            .is_some_and(|s| (200..300).contains(&s)),
        Expect::Authorized => answer["isAuthorized"] == json!(true),
        // Every invocation's expired token is seeded before the first one runs, which moves
        // them all.
        Expect::Swept => answer["moved"].as_u64().is_some_and(|n| n >= 1 || !first),
        Expect::NoFailures => answer["batchItemFailures"] == json!([]),
        Expect::Published => answer["batchItemFailures"] == json!([]) && put_events > 0,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("unsuccessful answer: {answer}"))
    }
}

pub async fn run_once(
    bench: &Bench,
    bin: &Path,
    function: &Function,
    log: &Path,
) -> Result<Sample, String> {
    let mut events = Vec::new();
    for _ in 0..INVOCATIONS {
        events.push(bench.event(function.bin).await);
    }
    let (emulator, port, mut seen) = Emulator::start(events, bench.parameters.clone()).await;
    let log = std::fs::File::create(log).map_err(|e| e.to_string())?;
    let runtime_api = format!("127.0.0.1:{port}");
    let local = format!("http://{runtime_api}");
    let mut command = Command::new(bin);
    command
        .env_clear()
        .envs(bench.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", &runtime_api)
        .env("AWS_ENDPOINT_URL_EVENTBRIDGE", &local)
        .env("AWS_ENDPOINT_URL_SSM", &local)
        .env("AWS_LAMBDA_FUNCTION_NAME", function.bin)
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", function.bin),
        )
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log);

    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let mut nexts = Vec::new();
    let mut answers = Vec::new();
    let mut put_events = 0;
    let outcome = loop {
        if answers.len() == INVOCATIONS {
            break Ok(());
        }
        match tokio::time::timeout(Duration::from_secs(20), seen.recv()).await {
            Ok(Some(Seen::Next(at))) => nexts.push(at),
            Ok(Some(Seen::Response(at, answer))) => {
                if let Err(e) = check(function.expect, &answer, answers.is_empty(), put_events) {
                    break Err(e);
                }
                answers.push(at);
            }
            Ok(Some(Seen::PutEvents(n))) => put_events += n,
            Ok(Some(Seen::Error(e))) => break Err(e),
            Ok(None) => break Err("the emulator stopped".into()),
            Err(_) => break Err("no answer within 20 s".into()),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    emulator.stop();
    outcome?;
    let ms = |from: Instant, to: Instant| (to - from).as_secs_f64() * 1000.0;
    Ok(Sample {
        init: ms(started, nexts[0]),
        cold_start: ms(started, answers[0]),
        first: ms(nexts[0], answers[0]),
        second: ms(nexts[1], answers[1]),
    })
}
