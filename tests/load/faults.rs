//! The load under DynamoDB faults (issue 18): the same clients and operations, with the
//! service's DynamoDB behind the fault proxy, whose faults a background task switches on and
//! off (a window off, a window on, through [`profiles`]). Every answer comes within the
//! authorizer's and the route's budgets together, is what its operation expects or a 503
//! problem+json, and never a 500, a 401 for an active token or a 404 for an existing one.
//! Afterwards, faults off, the table settles what the 503s left unknown (`resolve.rs`),
//! nothing is half-written, and the audits of the run without faults are exact.
//!
//! `LOAD_FAULT_OPS` (default 3,000), `LOAD_CLIENTS`, `LOAD_SEED` and `LOAD_FAULT_WINDOW_MS`
//! (default 1,500) change it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use api_tokens::Budget;
use fault_proxy::{Fault, Rule};
use integration_tests::App;

use crate::client::{start_clients, Client, Kind, Outcome};
use crate::report::Totals;
use crate::resolve::{never_half, resolve};
use crate::{audit, env_or, TENANTS};

/// The longest any answer may take: the dev server runs the authorizer, then the route.
const BOUND: Duration = Budget::AUTHORIZER
    .answer
    .saturating_add(Budget::API.answer)
    .saturating_add(Duration::from_secs(1));

/// The fault windows, in turn: slow, hung, reset, truncated, throttled and failing requests,
/// writes whose answer is lost, and everything hung (the authorizer's 503) or every write and
/// query hung (the routes' 503, after their own budget).
fn profiles() -> Vec<(&'static str, Vec<Rule>)> {
    vec![
        (
            "latency 50 ms",
            vec![Rule::new(Fault::Latency(Duration::from_millis(50)))],
        ),
        ("hang 5%", vec![Rule::new(Fault::Hang).share(0.05)]),
        ("reset 20%", vec![Rule::new(Fault::Reset).share(0.2)]),
        ("truncate 10%", vec![Rule::new(Fault::Truncate).share(0.1)]),
        ("throttle 30%", vec![Rule::new(Fault::Throttle).share(0.3)]),
        (
            "server error 20%",
            vec![Rule::new(Fault::ServerError).share(0.2)],
        ),
        (
            "transactions' answers lost 30%",
            vec![Rule::new(Fault::Reset.after_forward())
                .share(0.3)
                .target("TransactWriteItems")],
        ),
        ("hang everything", vec![Rule::new(Fault::Hang)]),
        (
            "hang writes and queries",
            vec![
                Rule::new(Fault::Hang).target("TransactWriteItems"),
                Rule::new(Fault::Hang).target("Query"),
            ],
        ),
    ]
}

/// Switches the profiles on for a `window` each, with a `window` off before each, until
/// dropped; counts the windows of each profile in `windows`.
async fn switch_faults(app: &App, window: Duration, seed: u64, windows: &mut BTreeMap<&str, u32>) {
    for (n, (name, rules)) in profiles().into_iter().cycle().enumerate() {
        tokio::time::sleep(window).await;
        app.faults().set_seeded(rules, seed ^ n as u64);
        *windows.entry(name).or_default() += 1;
        tokio::time::sleep(window).await;
        app.faults().clear();
    }
}

/// Runs `runners` while faults switch on and off; returns their outcomes and the windows.
async fn run_under_faults(
    app: &App,
    runners: Vec<Client>,
    window: Duration,
    seed: u64,
) -> (Vec<Outcome>, BTreeMap<&'static str, u32>) {
    let mut set = tokio::task::JoinSet::new();
    for c in runners {
        set.spawn(c.run());
    }
    let mut windows = BTreeMap::new();
    let outcomes = tokio::select! {
        outcomes = set.join_all() => outcomes,
        _ = switch_faults(app, window, seed, &mut windows) => unreachable!("it cycles"),
    };
    app.faults().clear();
    (outcomes, windows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_under_switching_dynamodb_faults_get_answers_in_budget_and_nothing_is_lost_or_half_written(
) {
    let clients = env_or("LOAD_CLIENTS", 32) as usize;
    let total_ops = env_or("LOAD_FAULT_OPS", 3_000) as usize;
    let seed = env_or("LOAD_SEED", 0x10ad);
    let window = Duration::from_millis(env_or("LOAD_FAULT_WINDOW_MS", 1_500));
    let app = App::start_behind_proxy(&[]).await;

    // Tokens are minted in-process, and the admins' first creates made, with faults off.
    let (mut runners, mut ledger) = start_clients(&app, clients, total_ops, seed, true).await;
    for c in runners.iter_mut().filter(|c| c.admin) {
        c.create().await;
    }
    let started = Instant::now();
    let (outcomes, windows) = run_under_faults(&app, runners, window, seed).await;
    let took = started.elapsed();
    let stats = app.faults().stats();

    let mut totals = Totals::merge(outcomes);
    ledger.append(&mut totals.ledger);
    let unavailable = |kind: Kind| totals.statuses.get(&(kind, 503)).copied().unwrap_or(0);
    let kinds = [
        Kind::Create,
        Kind::CreateReplay,
        Kind::List,
        Kind::Revoke,
        Kind::Rerevoke,
        Kind::VerifyActive,
        Kind::VerifyRevoked,
        Kind::VerifyUncertain,
    ];
    let per_kind: Vec<(Kind, usize)> = kinds.iter().map(|&k| (k, unavailable(k))).collect();
    eprintln!(
        "load under faults: {clients} clients, {} operations in {:.1} s (seed {seed:#x}); windows {windows:?}",
        totals.ops,
        took.as_secs_f64()
    );
    totals.print();
    eprintln!("  503s: {per_kind:?}");
    eprintln!(
        "  proxy: {} requests, {} forwarded, faults {:?}",
        stats.requests, stats.forwarded, stats.faults
    );
    let slowest = totals.slowest();
    eprintln!("  slowest answer {slowest:?}, bound {BOUND:?}");

    assert!(totals.ops >= total_ops, "{} operations", totals.ops);
    assert!(stats.faults_total() > 0, "no fault was injected");
    let unavailable_total: usize = per_kind.iter().map(|(_, n)| n).sum();
    assert_eq!(
        totals.server_errors(),
        unavailable_total,
        "5xx answers other than 503: {:?}",
        totals.statuses
    );
    assert!(
        totals.failures.is_empty(),
        "{} unexpected answers, first: {}",
        totals.failures.len(),
        totals.failures[0]
    );
    assert!(
        slowest <= BOUND,
        "an answer took {slowest:?}, bound {BOUND:?}"
    );

    audit_after_faults(&app, clients, &mut ledger, &totals).await;
}

/// Faults off: the unknowns settled by the table, nothing half-written, and the audits of the
/// run without faults over the settled ledger.
async fn audit_after_faults(
    app: &App,
    clients: usize,
    ledger: &mut Vec<crate::client::Tok>,
    totals: &Totals,
) {
    let audit_started = Instant::now();
    let resolved = resolve(app, ledger, &totals.maybes).await;
    let kinds = never_half(app).await;
    eprintln!(
        "  resolved: {} maybe-creates ({} made, {} not), {} uncertain revocations ({} revoked, {} not); table {kinds:?}",
        totals.maybes.len(),
        resolved.maybes_created,
        resolved.maybes_not,
        resolved.uncertain_revoked + resolved.uncertain_active,
        resolved.uncertain_revoked,
        resolved.uncertain_active
    );
    let tenants: Vec<&'static str> = TENANTS.iter().copied().take(clients).collect();
    let auditors = audit::mint_auditors(app, &tenants, ledger).await;
    let pages = audit::walk_each_tenant(app, &tenants, &auditors, ledger).await;
    audit::table_holds_the_ledger(app, ledger).await;
    let counted = audit::totals_equal_the_ledger(app, &tenants, &auditors, ledger).await;
    let revoked = ledger.iter().filter(|t| t.revoked).count();
    eprintln!(
        "  afterwards: {} tokens ({revoked} revoked) each listed once in {pages} pages; \
         {counted} totals equal the ledger and the table; {:.1} s",
        ledger.len(),
        audit_started.elapsed().as_secs_f64()
    );
}
