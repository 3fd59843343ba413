//! A hung DynamoDB (the proxy accepts each request and never answers): how long each route
//! takes to answer, what it answers, and how many attempts its DynamoDB client made first.
//! The samples of one route run at the same time, each waiting on its own hung requests.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use api_tokens::authorizer;
use fault_proxy::{Fault, FaultProxy, Rule};
use futures_util::future::join_all;
use integration_tests::Reply;

use crate::routes::{authorizer_event, Route};
use crate::Bench;

/// Longer than any budget: a call still unanswered then has hung, and the bench fails.
const GIVE_UP: Duration = Duration::from_secs(20);

/// One route's samples under the hang.
pub struct Hung {
    pub label: String,
    /// Milliseconds to each answer.
    pub ms: Vec<f64>,
    /// The answers, counted: `503 (Retry-After: 1)`, `error: OutOfTime(1s)`.
    pub answers: BTreeMap<String, usize>,
    /// DynamoDB requests (attempts) the proxy received per call.
    pub attempts: f64,
}

/// `samples` calls of each route at once while every DynamoDB request hangs, then the
/// uncached check through the server and the authorizer alone.
pub async fn measure(b: &Bench, samples: usize) -> Vec<Hung> {
    let mut rows = Vec::new();
    for route in Route::ALL {
        let (proxy, admin, fixed) = (b.app.faults(), b.admin.as_str(), b.fixed.as_str());
        let calls = (0..samples).map(|i| timed(route.call(&b.app, admin, fixed, i)));
        rows.push(hung(route.label(), proxy, calls).await);
    }
    let proxy = b.checker.faults();
    let uncached = (0..samples).map(|i| timed(Route::Own.call(&b.checker, &b.checked, "", i)));
    rows.push(hung("`GET /tokens/self`, uncached check", proxy, uncached).await);
    let service = &*b.checker.service;
    let alone = (0..samples).map(|_| async {
        let started = Instant::now();
        let answer = authorizer::handle(service, authorizer_event(&b.checked)).await;
        let what = match answer {
            Ok(a) => format!("answered {}", a["isAuthorized"]),
            // The variant only: `OutOfTime`, or `Store` when the attempt timed out first.
            Err(e) => format!(
                "error: {}",
                format!("{e:?}").split('(').next().unwrap_or("")
            ),
        };
        (what, started.elapsed())
    });
    rows.push(
        hung(
            "authorizer alone (`authorizer::handle`, uncached)",
            proxy,
            alone,
        )
        .await,
    );
    rows
}

/// Runs `calls` at once under a hang of every request through `proxy`.
async fn hung<F>(label: &str, proxy: &FaultProxy, calls: impl Iterator<Item = F>) -> Hung
where
    F: std::future::Future<Output = (String, Duration)>,
{
    proxy.set(vec![Rule::new(Fault::Hang)]);
    let before = proxy.stats();
    let answers = tokio::time::timeout(GIVE_UP, join_all(calls))
        .await
        .unwrap_or_else(|_| panic!("{label}: no answer after {GIVE_UP:?}"));
    let after = proxy.stats();
    proxy.clear();
    assert!(
        after.applied("hang") > before.applied("hang"),
        "{label}: no hang"
    );
    let mut row = Hung {
        label: label.into(),
        ms: Vec::new(),
        answers: BTreeMap::new(),
        attempts: (after.requests - before.requests) as f64 / answers.len() as f64,
    };
    for (what, took) in answers {
        *row.answers.entry(what).or_default() += 1;
        row.ms.push(took.as_secs_f64() * 1000.0);
    }
    row
}

/// A call's answer, as the table shows it, and its time.
async fn timed(call: impl std::future::Future<Output = Reply>) -> (String, Duration) {
    let started = Instant::now();
    let reply = call.await;
    let took = started.elapsed();
    let what = match reply.header("retry-after") {
        "" => format!("{} {}", reply.status, reply.problem()),
        after => format!("{} {}, Retry-After: {after}", reply.status, reply.problem()),
    };
    (what, took)
}
