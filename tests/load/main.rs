//! Load: 32 concurrent clients, each on its own HTTP connection, send 10,000 mixed create,
//! list, revoke and verify requests to the dev server over DynamoDB Local, across four
//! tenants and many users. Every answer's status is what that operation expects (so zero
//! 5xx), and each client's lists of its own tokens match its ledger exactly while the others
//! write. Afterwards a full cursor walk of each tenant lists every created token exactly once
//! with its status, and the counters equal the real counts. Throughput and p50/p99 latency
//! per operation are printed (`--nocapture`).
//!
//! The same clients with DynamoDB behind a fault proxy whose faults switch on and off are in
//! `faults.rs`: answers within budget, and nothing lost or half-written.
//!
//! A test binary of its own, so it does not share DynamoDB Local with the spec's tests.
//! `LOAD_CLIENTS`, `LOAD_OPS` and `LOAD_SEED` change its size and its choices.

mod audit;
mod client;
mod faults;
mod lists;
mod report;
mod resolve;
mod tolerance;

use std::time::Instant;

use integration_tests::App;

use client::start_clients;
use report::Totals;

const TENANTS: [&str; 4] = ["acme", "globex", "initech", "umbrella"];
const USER_SCOPES: &[&str] = &["tokens:read", "tokens:write"];
const ADMIN_SCOPES: &[&str] = &["tokens:read", "tokens:write", "tokens:admin"];
const NAME_KINDS: [&str; 3] = ["deploy", "ci", "backup"];

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_clients_doing_ten_thousand_mixed_operations_leave_exact_lists_and_counters() {
    let clients = env_or("LOAD_CLIENTS", 32) as usize;
    let total_ops = env_or("LOAD_OPS", 10_000) as usize;
    let seed = env_or("LOAD_SEED", 0x10ad);
    let app = App::start().await;

    let (mut runners, mut ledger) = start_clients(&app, clients, total_ops, seed, false).await;
    // An admin client's ledger starts empty, so it always has a token to verify: its first
    // operation is a create.
    for c in runners.iter_mut().filter(|c| c.admin) {
        c.create().await;
    }

    let requests_before = app.requests.get();
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for c in runners {
        set.spawn(c.run());
    }
    let outcomes = set.join_all().await;
    let took = started.elapsed();
    let dynamodb_requests = app.requests.get() - requests_before;

    let mut totals = Totals::merge(outcomes);
    let ops = totals.ops;
    ledger.append(&mut totals.ledger);
    eprintln!(
        "load: {clients} clients, {ops} operations in {:.1} s = {:.0} ops/s ({dynamodb_requests} DynamoDB requests, seed {seed:#x})",
        took.as_secs_f64(),
        ops as f64 / took.as_secs_f64()
    );
    totals.print();
    let (statuses, failures) = (&totals.statuses, &totals.failures);
    assert!(ops >= total_ops, "{ops} operations");
    assert_eq!(totals.server_errors(), 0, "5xx answers: {statuses:?}");
    assert!(
        failures.is_empty(),
        "{} unexpected answers, first: {}",
        failures.len(),
        failures[0]
    );

    let tenants: Vec<&'static str> = TENANTS.iter().copied().take(clients).collect();
    let auditors = audit::mint_auditors(&app, &tenants, &mut ledger).await;
    let audit_started = Instant::now();
    let audit_pages = audit::walk_each_tenant(&app, &tenants, &auditors, &ledger).await;
    // The ledger against the table itself, and the counters against the ledger, per tenant
    // and per owner.
    audit::table_holds_the_ledger(&app, &ledger).await;
    let counted = audit::totals_equal_the_ledger(&app, &tenants, &auditors, &ledger).await;
    let revoked = ledger.iter().filter(|t| t.revoked).count();
    eprintln!(
        "  afterwards: {} tokens ({} active, {revoked} revoked) each listed once in {audit_pages} pages \
         (forward and back, two orders); {counted} totals equal the ledger and the table; {:.1} s",
        ledger.len(),
        ledger.len() - revoked,
        audit_started.elapsed().as_secs_f64()
    );
}
