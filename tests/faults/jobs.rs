//! The jobs nobody waits on, under faults: the sweeper, bulk revocation and the lifecycle
//! publisher (`publisher.rs`) are called again and again while DynamoDB (or EventBridge) resets connections,
//! loses answers of writes that happened, throttles and hangs, as their schedule or event
//! source would call them. Each call stops by its deadline, and together they finish:
//! nothing is expired, revoked or counted twice, nothing is skipped, and every lifecycle event
//! arrives, more than once only as an identical copy with the same `event_id`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use api_tokens::model::{StoredStatus, TokenItem};
use api_tokens::schema;
use api_tokens::service::CreateInput;
use api_tokens::{time, DynamoStore, TokenService};
use aws_sdk_dynamodb::types::AttributeValue;
use fault_proxy::{Fault, FaultProxy, Rule};
use integration_tests::{dynamodb_for_service, App, RequestCounter};
use uuid::Uuid;

use crate::{ADMIN, SLACK};

/// How late past its stop a job may return: twice [`SLACK`], as the binary's other tests load
/// the same cores meanwhile; a job that ignores its stop is seconds late.
pub(crate) const LATE: Duration = SLACK.saturating_mul(2);

/// DynamoDB misbehaving in every way a job must survive: writes that happened but whose
/// answer was lost, connections reset before the request arrived, throttling, and hangs
/// (which cost an SDK attempt's timeout each).
fn dynamodb_faults() -> Vec<Rule> {
    vec![
        Rule::new(Fault::Reset.after_forward())
            .share(0.3)
            .target("TransactWriteItems"),
        Rule::new(Fault::Reset).share(0.2),
        Rule::new(Fault::Throttle).share(0.2),
        Rule::new(Fault::Hang).share(0.05),
    ]
}

/// Asserts that the proxy really injected the faults a test relies on (a fault test that
/// passes because no fault fired proves nothing).
pub(crate) fn assert_faults_fired(proxy: &FaultProxy, kinds: &[&str]) {
    let stats = proxy.stats();
    eprintln!("faults applied: {:?}", stats.faults);
    for kind in kinds {
        assert!(stats.applied(kind) > 0, "no {kind} fault fired: {stats:?}");
    }
}

/// The token records by id.
async fn records_by_id(app: &App) -> BTreeMap<Uuid, TokenItem> {
    app.records().await.into_iter().map(|t| (t.id, t)).collect()
}

/// The item with key `pk`, read directly and strongly consistent (empty: none).
async fn item(app: &App, pk: String) -> std::collections::HashMap<String, AttributeValue> {
    let get = app.dynamodb.get_item().table_name(&app.table);
    let out = get
        .key("pk", AttributeValue::S(pk))
        .consistent_read(true)
        .send();
    out.await.expect("read an item").item.unwrap_or_default()
}

/// The counters of `tenant` (`user: None`) or of one of its users, summed over their
/// shards, read directly: `[active, revoked, expired]`.
async fn counters(app: &App, tenant: &str, user: Option<&str>) -> [i64; 3] {
    let mut sums = [0; 3];
    for shard in 0..schema::COUNTER_SHARDS {
        let item = item(app, schema::counter_pk(tenant, user, shard)).await;
        for (sum, status) in sums.iter_mut().zip(["active", "revoked", "expired"]) {
            if let Some(AttributeValue::N(n)) = item.get(status) {
                *sum += n.parse::<i64>().expect("a counter is a number");
            }
        }
    }
    sums
}

/// The `status` of token `id`'s credential item (what verification reads), read directly.
async fn credential_status(app: &App, id: Uuid) -> String {
    match item(app, schema::credential_pk(id)).await.get("status") {
        Some(AttributeValue::S(s)) => s.clone(),
        other => panic!("credential {id}: status {other:?}"),
    }
}

/// `GET /tokens?status=<status>&include_total_count=true`'s `total`.
async fn listed_total(app: &App, admin: &str, status: &str) -> u64 {
    let path = format!("/tokens?status={status}&include_total_count=true");
    let r = app.get(&path, admin).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    r.json["total"].as_u64().expect("a total")
}

// The sweeper.

/// Due tokens (56 past their expiry, 4 rotated ones past their grace period) and tokens it
/// must leave alone; returns the ids of the due ones and of the rotated ones.
async fn seed_for_the_sweeper(app: &App) -> (BTreeSet<Uuid>, BTreeSet<Uuid>) {
    let past = time::now() - chrono::Duration::minutes(1);
    let due = app
        .seed_with("acme", "alice", 56, |t| TokenItem {
            expires_at: Some(past),
            ..t
        })
        .await;
    // What a rotation leaves on the old token: the end of its grace period as its expiry
    // and as its revocation time, reason `rotated`, still stored active.
    let rotated = app
        .seed_with("acme", "bob", 4, |t| TokenItem {
            expires_at: Some(past),
            revoked_at: Some(past),
            revoked_by: Some("bob".into()),
            revocation_reason: Some("rotated".into()),
            rotated_to: Some(Uuid::now_v7()),
            ..t
        })
        .await;
    app.seed_with("acme", "alice", 10, |t| TokenItem {
        expires_at: Some(time::now() + chrono::Duration::days(1)),
        ..t
    })
    .await;
    app.seed("acme", "carol", 10).await;
    let ids = |ts: Vec<TokenItem>| ts.into_iter().map(|t| t.id).collect::<BTreeSet<_>>();
    (ids(due), ids(rotated))
}

/// One scheduled run stopping at `stop_at`, timed: it must return by then (plus what a busy
/// machine adds), whatever DynamoDB does.
async fn sweep_once(app: &App, stop_at: Instant) -> Result<usize, String> {
    let outcome = app
        .service
        .sweep_expired_until(Some(stop_at))
        .await
        .map_err(|e| e.to_string());
    let late = Instant::now().saturating_duration_since(stop_at);
    assert!(late <= LATE, "the sweep returned {late:?} after its stop");
    outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_under_faults_stops_at_its_deadline_and_expires_each_due_token_once() {
    let app = App::start_behind_proxy(&[]).await;
    let admin = app.mint("acme", "root", ADMIN).await;
    let (due, rotated) = seed_for_the_sweeper(&app).await;
    let before = records_by_id(&app).await;

    // A hung DynamoDB: the run stops at its deadline, having moved nothing.
    app.faults().set(vec![Rule::new(Fault::Hang)]);
    let stop_at = Instant::now() + Duration::from_secs(1);
    assert_eq!(sweep_once(&app, stop_at).await, Ok(0));
    assert!(Instant::now() >= stop_at, "a hung sweep cannot finish");
    assert_eq!(records_by_id(&app).await, before);

    // Mixed faults: runs of two seconds each, as the schedule would start them, eight of
    // them (or until no due token is left stored active).
    app.faults().set(dynamodb_faults());
    let still_due = |records: &BTreeMap<Uuid, TokenItem>| {
        records
            .values()
            .filter(|t| {
                (due.contains(&t.id) || rotated.contains(&t.id)) && t.status == StoredStatus::Active
            })
            .count()
    };
    let mut runs = Vec::new();
    // On a loaded machine eight runs may not reach a write whose answer is lost: a few more.
    let lost_answer = || app.faults().stats().applied("after_forward:reset") > 0;
    while runs.len() < 8 || (!lost_answer() && runs.len() < 14) {
        let run = sweep_once(&app, Instant::now() + Duration::from_secs(2)).await;
        runs.push(run.map_err(|e| e.chars().take(60).collect::<String>()));
        if still_due(&records_by_id(&app).await) == 0 {
            break;
        }
    }
    eprintln!("sweeps under faults: {runs:?}");
    assert_faults_fired(app.faults(), &["after_forward:reset", "reset", "throttle"]);
    let left = still_due(&records_by_id(&app).await);
    eprintln!(
        "due tokens left after {} runs under faults: {left}",
        runs.len()
    );
    assert!(left < due.len() + rotated.len(), "no progress under faults");

    // DynamoDB recovers: the runs go on where the others stopped (a run that stops at its
    // deadline also answers `Ok`, so the records say when they are done), and one more
    // finds nothing to do.
    app.faults().clear();
    let mut after_faults = Vec::new();
    while still_due(&records_by_id(&app).await) > 0 {
        assert!(
            after_faults.len() < 10,
            "runs without faults: {after_faults:?}"
        );
        after_faults.push(sweep_once(&app, Instant::now() + Duration::from_secs(5)).await);
    }
    assert_eq!(
        sweep_once(&app, Instant::now() + Duration::from_secs(5)).await,
        Ok(0)
    );

    assert_swept_once(&app, &admin, &before, &due, &rotated).await;
}

/// Each token of `due` expired and each of `rotated` revoked, once: nothing else about them
/// changed, the other tokens are as in `before`, and the counters and totals are exact.
async fn assert_swept_once(
    app: &App,
    admin: &str,
    before: &BTreeMap<Uuid, TokenItem>,
    due: &BTreeSet<Uuid>,
    rotated: &BTreeSet<Uuid>,
) {
    let after = records_by_id(app).await;
    assert_eq!(after.len(), before.len());
    for (id, old) in before {
        let status = match (due.contains(id), rotated.contains(id)) {
            (true, _) => StoredStatus::Expired,
            (_, true) => StoredStatus::Revoked,
            _ => old.status,
        };
        let expected = TokenItem {
            status,
            ..old.clone()
        };
        assert_eq!(after[id], expected, "token {id}");
    }
    let users = [None, Some("alice"), Some("bob"), Some("carol")];
    for (user, expected) in users
        .into_iter()
        .zip([[21, 4, 56], [10, 0, 56], [0, 4, 0], [10, 0, 0]])
    {
        assert_eq!(counters(app, "acme", user).await, expected, "{user:?}");
    }
    for (status, total) in [("expired", 56), ("revoked", 4), ("active", 21)] {
        assert_eq!(listed_total(app, admin, status).await, total, "{status}");
    }
}

// Bulk revocation.

/// `n` active tokens of `user` with real secrets (verifiable); their ids and secrets.
async fn mint_many(app: &App, user: &str, n: usize) -> Vec<(Uuid, String)> {
    let mut minted = Vec::new();
    for i in 0..n {
        let input = CreateInput {
            name: format!("{user} {i}"),
            ..Default::default()
        };
        let (id, secret) = app.mint_with("acme", user, &[], input).await;
        minted.push((id.parse().unwrap(), secret));
    }
    minted
}

/// The service of `app`, through its proxy, revoking a user's tokens in pages of `page`
/// (several pages, so a call also stops between pages, not only inside one).
fn paged_service(app: &App, page: i32) -> TokenService<DynamoStore> {
    let client = dynamodb_for_service(&app.faults().endpoint(), RequestCounter::default());
    TokenService::new(DynamoStore::new(client, &app.table), &app.config)
        .with_user_revocation_page(page)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_users_tokens_under_faults_resumes_and_revokes_each_once() {
    let app = App::start_behind_proxy(&[]).await;
    let admin = app.mint("acme", "root", ADMIN).await;
    let alice_seeded = app.seed("acme", "alice", 180).await;
    let alice_minted = mint_many(&app, "alice", 20).await;
    app.seed("acme", "bob", 30).await;
    let bob_minted = mint_many(&app, "bob", 2).await;
    let before = records_by_id(&app).await;
    let alice: BTreeSet<Uuid> = alice_seeded
        .iter()
        .map(|t| t.id)
        .chain(alice_minted.iter().map(|(id, _)| *id))
        .collect();
    assert_eq!(alice.len(), 200);
    let service = paged_service(&app, 50);

    // As the revocation function runs it: each call gets a deadline seven seconds away (it
    // stops starting work `Budget::EVENTS.margin()` before), and the event comes again
    // until a call says it is complete: six deliveries under faults, then DynamoDB recovers.
    app.faults().set(dynamodb_faults());
    let mut calls = Vec::new();
    let via = Some("event:idp@123456789012");
    let started = Instant::now();
    while calls.len() < 30 {
        if calls.len() == 6 {
            app.faults().clear();
            let revoked = records_by_id(&app)
                .await
                .values()
                .filter(|t| alice.contains(&t.id) && t.status == StoredStatus::Revoked)
                .count();
            eprintln!("bulk revocation: {revoked} of 200 revoked under faults");
            assert!(revoked > 0, "no progress under faults: {calls:?}");
        }
        let deadline = Instant::now() + Duration::from_secs(7);
        let outcome = service
            .revoke_user(
                "acme",
                "alice",
                "idp",
                via,
                Some("offboarded"),
                Some(deadline),
            )
            .await;
        let late = Instant::now().saturating_duration_since(deadline);
        assert!(late <= LATE, "a call returned {late:?} after its deadline");
        let complete = matches!(outcome, Ok(done) if done.complete);
        calls.push(outcome.map_err(|e| e.to_string().chars().take(60).collect::<String>()));
        if complete {
            break;
        }
    }
    eprintln!("bulk revocation under faults: {calls:?}");
    assert_faults_fired(app.faults(), &["after_forward:reset", "reset", "throttle"]);
    assert!(
        matches!(calls.last(), Some(Ok(done)) if done.complete),
        "not complete after {} calls in {:?}",
        calls.len(),
        started.elapsed()
    );
    app.faults().clear();

    assert_revoked_once(&before, &records_by_id(&app).await, &alice, via);
    // Revoked once: the counters are exact.
    assert_eq!(counters(&app, "acme", Some("alice")).await, [0, 200, 0]);
    assert_eq!(counters(&app, "acme", Some("bob")).await, [32, 0, 0]);
    assert_eq!(counters(&app, "acme", None).await, [33, 200, 0]);
    assert_eq!(listed_total(&app, &admin, "revoked").await, 200);
    assert_eq!(listed_total(&app, &admin, "active").await, 33);

    assert_verification_refuses(&app, &alice, &alice_minted, &bob_minted).await;
}

/// Every token of `revoked` revoked by the offboarding (by `idp`, `via`, reason
/// `offboarded`), everyone else's as in `before`.
fn assert_revoked_once(
    before: &BTreeMap<Uuid, TokenItem>,
    after: &BTreeMap<Uuid, TokenItem>,
    revoked: &BTreeSet<Uuid>,
    via: Option<&str>,
) {
    assert_eq!(after.len(), before.len());
    for (id, old) in before {
        let now = &after[id];
        if !revoked.contains(id) {
            assert_eq!(now, old, "token {id}");
            continue;
        }
        assert_eq!(now.status, StoredStatus::Revoked, "token {id}");
        assert!(now.revoked_at.is_some(), "token {id}");
        assert_eq!(now.revoked_by.as_deref(), Some("idp"), "token {id}");
        assert_eq!(now.revoked_via.as_deref(), via, "token {id}");
        assert_eq!(now.revocation_reason.as_deref(), Some("offboarded"));
    }
}

/// Where verification looks: every credential of `revoked` says revoked, and the secrets of
/// `refused` are refused; those of `accepted` still verify.
async fn assert_verification_refuses(
    app: &App,
    revoked: &BTreeSet<Uuid>,
    refused: &[(Uuid, String)],
    accepted: &[(Uuid, String)],
) {
    for id in revoked {
        assert_eq!(credential_status(app, *id).await, "revoked", "token {id}");
    }
    for (id, secret) in refused {
        let verified = app.service.verify(secret).await;
        assert!(
            matches!(verified, Err(api_tokens::service::VerifyError::Rejected(_))),
            "token {id}: {verified:?}"
        );
    }
    for (id, secret) in accepted {
        assert_eq!(credential_status(app, *id).await, "active");
        let verified = app.service.verify(secret).await;
        assert!(verified.is_ok(), "token {id}: {verified:?}");
    }
}
