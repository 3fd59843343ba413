//! `scripts/bench faults`: what a slow or hung DynamoDB costs each route. The dev server (the
//! tests' `App`: the service's client on `Budget::API`'s SDK timeouts and retries) reaches
//! DynamoDB Local through a fault-injecting proxy (`tools/fault-proxy`).
//!
//! - Latency: each route's calls one after another with +0, +5 and +50 ms on every DynamoDB
//!   request (`Fault::Latency`), p50 and p99, and the DynamoDB requests per call the proxy
//!   received, so the added time reads as requests × delay.
//! - Hang (`Fault::Hang`: accepted, never answered): the time to answer and the answer of each
//!   route, a few samples each.
//!
//! The routes run with a warm verification cache (`AUTH_CACHE_TTL_SECONDS=3600`), so a row is
//! the route's own requests; the authorizer alone (`authorizer::handle`, uncached, its own
//! table and proxy) is the row an uncached check adds. No last-use writes
//! (`LAST_USED_INTERVAL_SECONDS=0`). Prints Markdown tables.
//!
//! `FAULTS_CALLS` (default 150) sets the timed calls per route and delay, `FAULTS_HANG_SAMPLES`
//! (default 3) the calls per route under the hang.

mod hang;
mod latency;
mod routes;

use std::time::{Duration, Instant};

use api_tokens::{time, Budget};
use api_tokens_benches::{percentile, seed_tenant};
use integration_tests::App;
use latency::{Pool, Timed};
use routes::Route;

const TENANT: &str = "bench";
/// The admin, owner of every token the routes work on.
const OWNER: &str = "root";
const SCOPES: [&str; 3] = ["tokens:admin", "tokens:read", "tokens:write"];
/// The delays added to every DynamoDB request.
const DELAYS_MS: [u64; 3] = [0, 5, 50];

/// The services under test and what they work on.
pub struct Bench {
    /// The routes' service: dev server, proxy, a tenant of 1,000 tokens.
    app: App,
    /// The admin's secret (its verification cached after the first call).
    admin: String,
    /// The token the reads and renames work on.
    fixed: String,
    /// The authorizer's service: uncached checks, its own table and proxy.
    checker: App,
    /// The secret it checks.
    checked: String,
}

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (calls, samples) = (knob("FAULTS_CALLS", 150), knob("FAULTS_HANG_SAMPLES", 3));
    let started = Instant::now();
    let b = set_up().await;
    eprintln!("set up; {calls} calls per route and delay, {samples} under the hang");
    let mut pool = Pool {
        created: Vec::new(),
        chain: None,
    };
    let mut rows = Vec::new();
    for route in Route::ALL {
        let mut timed = Vec::new();
        for ms in DELAYS_MS {
            let delay = Duration::from_millis(ms);
            timed.push(latency::route(&b, &mut pool, route, delay, calls).await);
        }
        eprintln!("{}: done at {:?}", route.label(), started.elapsed());
        rows.push((route.label().to_string(), timed));
    }
    let mut timed = Vec::new();
    for ms in DELAYS_MS {
        timed.push(latency::authorizer(&b, Duration::from_millis(ms), calls).await);
    }
    rows.push((
        "authorizer alone (`authorizer::handle`, uncached)".into(),
        timed,
    ));
    print_latency(&rows, calls);
    let hung = hang::measure(&b, samples).await;
    print_hang(&hung);
    recovered(&b).await;
    eprintln!("done in {:?}", started.elapsed());
    for app in [&b.app, &b.checker] {
        let _ = app
            .dynamodb
            .delete_table()
            .table_name(&app.table)
            .send()
            .await;
    }
}

async fn set_up() -> Bench {
    let app = App::start_behind_proxy(&[
        ("AUTH_CACHE_TTL_SECONDS", "3600"),
        ("LAST_USED_INTERVAL_SECONDS", "0"),
    ])
    .await;
    let base = time::now() - chrono::Duration::days(30);
    seed_tenant(&app.dynamodb, &app.table, TENANT, 0..1_000, 5, base, 4).await;
    let admin = app.mint(TENANT, OWNER, &SCOPES).await;
    let fixed = app.mint_with(TENANT, OWNER, &["tokens:read"], Default::default());
    let fixed = fixed.await.0;
    // The first call verifies the admin's token and caches it.
    let warm = app.get("/tokens/self", &admin).await;
    assert_eq!(warm.status, 200, "{}", warm.text);
    let checker = App::start_behind_proxy(&[("LAST_USED_INTERVAL_SECONDS", "0")]).await;
    let checked = checker.mint(TENANT, "alice", &["tokens:read"]).await;
    Bench {
        app,
        admin,
        fixed,
        checker,
        checked,
    }
}

/// `2` or `1.50`.
fn count(n: f64) -> String {
    if (n - n.round()).abs() < 0.005 {
        format!("{}", n.round())
    } else {
        format!("{n:.2}")
    }
}

/// `1 GetItem + 1 TransactWriteItems`.
fn describe(t: &Timed) -> String {
    let ops: Vec<String> = t
        .per_call
        .iter()
        .map(|(op, n)| format!("{} {op}", count(*n)))
        .collect();
    if ops.is_empty() {
        "none".into()
    } else {
        ops.join(" + ")
    }
}

fn print_latency(rows: &[(String, Vec<Timed>)], calls: usize) {
    println!("Latency, {calls} calls per route and delay (ms):");
    println!();
    println!("| route | DynamoDB requests per call | +0 ms: p50 / p99 | +5 ms: p50 / p99 | +50 ms: p50 / p99 | p50 added at +5 ms (requests × 5) | p50 added at +50 ms (requests × 50) |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (label, timed) in rows {
        let p50 = |t: &Timed| percentile(&t.ms, 0.5);
        let cells: Vec<String> = timed
            .iter()
            .map(|t| format!("{:.1} / {:.1}", p50(t), percentile(&t.ms, 0.99)))
            .collect();
        let added = |k: usize| {
            let expected = timed[k].requests() * DELAYS_MS[k] as f64;
            format!("{:.1} ({expected:.0})", p50(&timed[k]) - p50(&timed[0]))
        };
        let requests = &timed[0];
        if timed.iter().any(|t| describe(t) != describe(requests)) {
            let each: Vec<String> = timed.iter().map(describe).collect();
            eprintln!("{label}: requests per call differ by delay: {each:?}");
        }
        println!(
            "| {label} | {}: {} | {} | {} | {} |",
            count(requests.requests()),
            describe(requests),
            cells.join(" | "),
            added(1),
            added(2),
        );
    }
}

fn print_hang(rows: &[hang::Hung]) {
    println!();
    println!(
        "Under a hang (budgets: routes {:?}, DynamoDB operation {:?}, attempt {:?}; authorizer {:?}):",
        Budget::API.answer,
        Budget::API.operation,
        Budget::API.attempt,
        Budget::AUTHORIZER.answer
    );
    println!();
    println!(
        "| route | answer | time to answer: min / median / max (ms) | DynamoDB attempts per call |"
    );
    println!("| --- | --- | --- | --- |");
    for r in rows {
        let answers: Vec<String> = r
            .answers
            .iter()
            .map(|(what, n)| format!("{what} ×{n}"))
            .collect();
        println!(
            "| {} | {} | {:.0} / {:.0} / {:.0} | {} |",
            r.label,
            answers.join(", "),
            percentile(&r.ms, 0.0),
            percentile(&r.ms, 0.5),
            percentile(&r.ms, 1.0),
            count(r.attempts),
        );
    }
}

/// Once DynamoDB answers again, so does the service, and the token the hung writes named is
/// as it was.
async fn recovered(b: &Bench) {
    let after = b.app.get(&format!("/tokens/{}", b.fixed), &b.admin).await;
    assert_eq!(after.status, 200, "{}", after.text);
    assert_eq!(after.json["status"], "active", "{}", after.text);
}
