//! The sweeper racing everything else. Tokens fall due while several sweeps run at once and,
//! on the same tokens, `DELETE`, revoke, rotate and `PATCH` run from spawned tasks, round
//! after round. Which write wins each race is left to chance; what is checked is that the
//! end is one a serial order of the acknowledged writes gives: a revocation that answered
//! wins over the expiry, a rotation that answered left exactly one successor, a `PATCH`
//! that answered is not undone, the counters equal the records, every credential says what
//! its record says, and verification refuses every token that is not active.
//!
//! Each sweep's transaction is conditioned on the record's `status` and `updated_at` being
//! as read; without that condition, two sweeps expire a token twice (the counters drift)
//! and a sweep overwrites a revocation or a `PATCH` that landed after its read.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use api_tokens::model::{StoredStatus, TokenItem};
use api_tokens::service::{CreateInput, RotateInput};
use api_tokens::store::{StoreError, TokenStore as _};
use api_tokens::time::{self, Timestamp};
use chrono::Duration;
use integration_tests::{principal, App, Method};
use serde_json::{json, Value};

use crate::{ADMIN, USER};

const TENANT: &str = "acme";
const USERS: [&str; 3] = ["alice", "bob", "carol"];
/// Tokens of each user that fall due during the race (half expire, half end a grace period).
const PER_USER: usize = 16;
/// Sweeps running at once, each round.
const SWEEPS: usize = 3;
/// Rounds at least, and at most (the race ends once every token is past due).
const ROUNDS: std::ops::RangeInclusive<usize> = 6..=80;

/// A token the race is run on.
struct Target {
    id: String,
    owner: &'static str,
    secret: String,
    /// Its successor, when it was rotated before the race (its grace period ends during it).
    successor: Option<String>,
}

/// A request of the race.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Delete,
    Revoke,
    Rotate,
    Patch,
}

/// A request of the race and its answer.
struct Done {
    target: usize,
    kind: Kind,
    /// The request's unique label: the reason of a revoke, the name of a `PATCH`.
    label: String,
    status: u16,
    body: Value,
    /// `503`s answered before `status`.
    retried: u32,
}

/// A fixed stream of choices (splitmix64), so a failing race can be read again.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sweeper_racing_revoke_rotate_and_patch_ends_as_a_serial_order_would() {
    let app = Arc::new(App::start().await);
    let admin = app.mint(TENANT, "root", ADMIN).await;
    let mut callers = BTreeMap::new();
    for user in USERS {
        callers.insert(user, app.mint(TENANT, user, USER).await);
    }
    let (targets, last_due) = setup(&app).await;
    let (mut done, mut swept) = (Vec::new(), 0);
    let mut rounds = 0;
    while rounds < *ROUNDS.start() || (time::now() <= last_due && rounds < *ROUNDS.end()) {
        let (answers, moved) = round(&app, &admin, &callers, &targets, rounds).await;
        done.extend(answers);
        swept += moved;
        rounds += 1;
    }
    // Past every expiry and every grace period the race's rotations began (one second):
    // one more sweep alone stores each due token's end; a second finds nothing.
    let ends = time::now() + Duration::milliseconds(1_100);
    while time::now() <= ends.max(last_due) {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.service.sweep_expired().await.expect("the last sweep");
    assert_eq!(app.service.sweep_expired().await.unwrap(), 0, "all swept");
    let tally = |k: Kind, s: u16| done.iter().filter(|d| d.kind == k && d.status == s).count();
    println!(
        "{rounds} rounds, {swept} moved by racing sweeps, {} requests: {} deletes, {} revokes, \
         {} rotations ({} refused), {} patches; {} answers were 503 and sent again",
        done.len(),
        tally(Kind::Delete, 204),
        tally(Kind::Revoke, 200),
        tally(Kind::Rotate, 201),
        tally(Kind::Rotate, 409),
        tally(Kind::Patch, 200),
        done.iter().map(|d| d.retried).sum::<u32>(),
    );
    assert_answers(&done);
    let records: BTreeMap<String, TokenItem> = app
        .records()
        .await
        .into_iter()
        .map(|t| (t.id.to_string(), t))
        .collect();
    let successors = assert_serial_ends(&records, &targets, &done);
    assert_eq!(
        records.len(),
        1 + USERS.len() + targets.len() + successors.len(),
        "the callers, the targets and their successors, nothing else"
    );
    assert_credentials_follow_records(&app, &records).await;
    assert_counters_and_totals(&app, &admin, &records).await;
    assert_verification(&app, &records, &targets, &successors).await;
}

/// `PER_USER` tokens of each user due in 4 to 16 s (spread out, so
/// that they fall due while the race runs even on a slow machine): every other one expires then, the others are rotated now with
/// a grace period that ends then. Returns them and the last due time.
async fn setup(app: &Arc<App>) -> (Vec<Target>, Timestamp) {
    let start = time::now();
    let mut minting = Vec::new();
    for owner in USERS {
        for i in 0..PER_USER {
            let due = start + Duration::milliseconds(4_000 + (mix(i as u64) % 12_000) as i64);
            let app = app.clone();
            minting.push(async move {
                let expires_at = (i % 2 == 0).then_some(due);
                let input = CreateInput {
                    expires_at,
                    ..Default::default()
                };
                let (id, secret) = app.mint_with(TENANT, owner, USER, input).await;
                let successor = match expires_at {
                    Some(_) => None,
                    None => Some(rotate_until(&app, owner, &id, due).await),
                };
                let target = Target {
                    id,
                    owner,
                    secret,
                    successor,
                };
                (target, due)
            });
        }
    }
    // Eight at a time: a burst of all of them meets the time budgets on a busy machine.
    let minted: Vec<(Target, Timestamp)> = futures_util::StreamExt::collect(
        futures_util::StreamExt::buffer_unordered(futures_util::stream::iter(minting), 8),
    )
    .await;
    let last_due = minted.iter().map(|(_, due)| *due).max().unwrap_or(start);
    println!("set up in {} ms", (time::now() - start).num_milliseconds());
    (minted.into_iter().map(|(t, _)| t).collect(), last_due)
}

/// Rotates `owner`'s token `id` with a grace period ending at `due`; the successor's id.
async fn rotate_until(app: &App, owner: &str, id: &str, due: Timestamp) -> String {
    let input = RotateInput {
        grace_period: (due - time::now()).max(Duration::milliseconds(1)),
        expires_at: None,
        rate_limit: None,
        quota: None,
    };
    let minted = app
        .service
        .rotate(&principal(TENANT, owner, USER), id, input, None)
        .await
        .expect("rotate before the race");
    minted.item.id.to_string()
}

/// One round: `SWEEPS` sweeps, and on every target one or two requests (by its owner or
/// the admin), all at once.
async fn round(
    app: &Arc<App>,
    admin: &str,
    callers: &BTreeMap<&str, String>,
    targets: &[Target],
    n: usize,
) -> (Vec<Done>, usize) {
    let mut sweeps = tokio::task::JoinSet::new();
    for _ in 0..SWEEPS {
        let app = app.clone();
        sweeps.spawn(async move { app.service.sweep_expired().await });
    }
    let mut requests = tokio::task::JoinSet::new();
    for (t, target) in targets.iter().enumerate() {
        let draw = mix(((n as u64) << 32) ^ t as u64);
        for slot in 0..1 + (draw & 1) as usize {
            let pick = (draw >> (8 + 8 * slot)) % 100;
            let kind = match pick {
                0..=2 => Kind::Delete,
                3..=5 => Kind::Revoke,
                6..=13 => Kind::Rotate,
                14..=59 => Kind::Patch,
                _ => continue,
            };
            let caller = match (draw >> (40 + slot)) & 1 {
                0 => callers[target.owner].clone(),
                _ => admin.to_string(),
            };
            let label = format!("race-{n}-{t}-{slot}");
            let (app, id) = (app.clone(), target.id.clone());
            requests.spawn(async move {
                let (status, body, retried) = send(&app, &caller, &id, kind, &label).await;
                Done {
                    retried,
                    target: t,
                    kind,
                    label,
                    status,
                    body,
                }
            });
        }
    }
    let answers = requests.join_all().await;
    let mut moved = 0;
    for swept in sweeps.join_all().await {
        // A sweep that stops on a busy table is the next schedule's to finish, as in AWS;
        // any other failure is a defect.
        match swept {
            Ok(n) => moved += n,
            Err(
                e @ (StoreError::Contended(_)
                | StoreError::Throttled(_)
                | StoreError::Unavailable(_)),
            ) => println!("a sweep stopped, left for the next: {e}"),
            Err(e) => panic!("a sweep racing the others: {e}"),
        }
    }
    (answers, moved)
}

/// Sends one request of the race as a client would: a `503` (the same items contended past
/// the store's retries, or the time budget spent, on a slow machine) is sent again after its
/// `Retry-After`, a rotation under the same `Idempotency-Key`, so a retry never applies a
/// request twice. Its final status and body; `retried` counts the `503`s.
async fn send(app: &App, caller: &str, id: &str, kind: Kind, label: &str) -> (u16, Value, u32) {
    let path = format!("/tokens/{id}");
    let mut retried = 0;
    loop {
        let r = match kind {
            Kind::Delete => app.call(Method::DELETE, &path, Some(caller), None).await,
            Kind::Revoke => {
                app.post(&format!("{path}/revoke"), caller, json!({"reason": label}))
                    .await
            }
            Kind::Rotate => {
                let body = json!({
                    "grace_period_seconds": label.len() % 2,
                    "expires_at": time::format(&(time::now() + Duration::days(30))),
                });
                app.post_keyed(&format!("{path}/rotate"), caller, label, body)
                    .await
            }
            Kind::Patch => {
                let body = json!({"name": label, "metadata": {"patch": label}});
                app.patch(&path, caller, body).await
            }
        };
        if r.status != 503 || retried == MAX_RETRIES {
            return (r.status, r.json, retried);
        }
        assert_eq!(r.header("retry-after"), "1", "a 503 says when to come back");
        retried += 1;
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// How often [`send`] sends a request again after a `503`.
const MAX_RETRIES: u32 = 8;

/// Every answer is the one its request can get whatever it raced: never a 5xx.
fn assert_answers(done: &[Done]) {
    let wrong: Vec<String> = done
        .iter()
        .filter(|d| {
            let allowed: &[u16] = match d.kind {
                Kind::Delete => &[204],
                Kind::Revoke | Kind::Patch => &[200],
                Kind::Rotate => &[201, 409],
            };
            !allowed.contains(&d.status)
        })
        .map(|d| format!("{:?} {}: {} {}", d.kind, d.label, d.status, d.body))
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// Each target ends as a serial order of the acknowledged requests leaves it; returns the
/// successors (of the rotations before the race and in it), by id.
fn assert_serial_ends(
    records: &BTreeMap<String, TokenItem>,
    targets: &[Target],
    done: &[Done],
) -> BTreeSet<String> {
    let mut successors = BTreeSet::new();
    let mut wrong = Vec::new();
    for (t, target) in targets.iter().enumerate() {
        let mine: Vec<&Done> = done.iter().filter(|d| d.target == t).collect();
        let record = &records[&target.id];
        let mut check = |ok: bool, what: &str| {
            if !ok {
                wrong.push(format!("{} ({what}): {record:?}", target.id));
            }
        };
        // Rotations: the one before the race, or at most one in it; one successor, linked.
        let rotated: Vec<String> = target
            .successor
            .iter()
            .cloned()
            .chain(answered(&mine, Kind::Rotate, 201).map(|d| str_of(&d.body["id"])))
            .collect();
        check(rotated.len() <= 1, "rotated at most once");
        let linked: Vec<&String> = records
            .iter()
            .filter(|(_, r)| r.rotated_from.map(|f| f.to_string()) == Some(target.id.clone()))
            .map(|(id, _)| id)
            .collect();
        check(
            linked == rotated.iter().collect::<Vec<_>>(),
            "one successor per acknowledged rotation",
        );
        check(
            record.rotated_to.map(|s| s.to_string()) == rotated.first().cloned(),
            "linked to its successor",
        );
        successors.extend(rotated);
        assert_status_end(record, &mine, &mut check);
        assert_patches_kept(record, &mine, &mut check);
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    successors
}

/// The requests of `mine` of `kind` answered with `status`.
fn answered<'a>(
    mine: &'a [&'a Done],
    kind: Kind,
    status: u16,
) -> impl Iterator<Item = &'a &'a Done> {
    mine.iter()
        .filter(move |d| d.kind == kind && d.status == status)
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// Revoked wins over expired when a revocation answered; expired only when none did and the
/// token was never rotated; revoked only by a revocation or the end of a grace period; and
/// the first revocation is the one every revocation answered with.
fn assert_status_end(record: &TokenItem, mine: &[&Done], check: &mut impl FnMut(bool, &str)) {
    let revokes: Vec<&&Done> = answered(mine, Kind::Revoke, 200).collect();
    let deleted = answered(mine, Kind::Delete, 204).count() > 0;
    let revoked_by_request = deleted || !revokes.is_empty();
    let rotated = record.rotated_to.is_some();
    let expected = match (revoked_by_request, rotated) {
        (false, false) => StoredStatus::Expired,
        _ => StoredStatus::Revoked,
    };
    check(record.status == expected, "status of a serial order");
    if record.status == StoredStatus::Expired {
        check(
            record.expires_at.is_some_and(|e| e <= time::now()),
            "expired only when due",
        );
    }
    let reason = record.revocation_reason.as_deref();
    let reasons: Vec<&str> = revokes.iter().map(|d| d.label.as_str()).collect();
    let by_rotation = rotated && reason == Some(api_tokens::service::ROTATED);
    let by_request = reason.is_some_and(|r| reasons.contains(&r)) || (deleted && reason.is_none());
    if expected == StoredStatus::Revoked {
        check(
            by_rotation || by_request,
            "revoked by an acknowledged request",
        );
    }
    for r in &revokes {
        check(
            r.body["revoked_at"] == json!(record.revoked_at.as_ref().map(time::format))
                && r.body["revocation_reason"] == json!(reason),
            "every revocation answered with the first",
        );
    }
}

/// A `PATCH` that answered is not undone: the name is one a `PATCH` set, and the metadata
/// that `PATCH`'s.
fn assert_patches_kept(record: &TokenItem, mine: &[&Done], check: &mut impl FnMut(bool, &str)) {
    let names: Vec<&str> = answered(mine, Kind::Patch, 200)
        .map(|d| d.label.as_str())
        .collect();
    if names.is_empty() {
        return;
    }
    check(
        names.contains(&record.name.as_str()),
        "the name a PATCH set",
    );
    check(
        record.metadata.get("patch") == Some(&record.name),
        "the metadata of the same PATCH",
    );
}

/// Every credential says what its record says: revoked exactly when the record is, the
/// same expiry (verification compares it), owner, scopes and metadata.
async fn assert_credentials_follow_records(app: &App, records: &BTreeMap<String, TokenItem>) {
    let mut wrong = Vec::new();
    for record in records.values() {
        let cred = app
            .service
            .store()
            .credential(record.id)
            .await
            .unwrap()
            .expect("every record has its credential");
        let revoked = record.status == StoredStatus::Revoked;
        let status = if revoked {
            StoredStatus::Revoked
        } else {
            StoredStatus::Active
        };
        if cred.status != status
            || cred.expires_at != record.expires_at
            || (cred.tenant_id.as_str(), cred.user_id.as_str())
                != (record.tenant_id.as_str(), record.user_id.as_str())
            || cred.scopes != record.scopes
            || cred.metadata != record.metadata
        {
            wrong.push(format!(
                "{}: record {:?} until {:?} {:?}, credential {:?} until {:?} {:?}",
                record.id,
                record.status,
                record.expires_at,
                record.metadata,
                cred.status,
                cred.expires_at,
                cred.metadata
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// The counters of the tenant and of each user equal the records, and so do the totals the
/// API answers (an admin's list without `user_id` is the tenant's).
async fn assert_counters_and_totals(app: &App, admin: &str, records: &BTreeMap<String, TokenItem>) {
    let statuses = [
        StoredStatus::Active,
        StoredStatus::Expired,
        StoredStatus::Revoked,
    ];
    for user in std::iter::once(None).chain(USERS.iter().copied().map(Some)) {
        let counts = app.service.store().counts(TENANT, user).await.unwrap();
        for status in statuses {
            let real = records
                .values()
                .filter(|r| r.status == status && user.is_none_or(|u| r.user_id == u))
                .count() as i64;
            assert_eq!(counts.of(status), real, "{user:?} {status:?}: counter");
            let mut path = format!(
                "/tokens?status={}&include_total_count=true&limit=1",
                status.as_str()
            );
            if let Some(u) = user {
                path.push_str(&format!("&user_id={u}"));
            }
            let total = app.get(&path, admin).await;
            assert_eq!(total.status, 200, "{}", total.text);
            assert_eq!(total.json["total"], real, "{user:?} {status:?}: total");
        }
    }
}

/// Verification refuses every token that is not active, and accepts the successors.
async fn assert_verification(
    app: &App,
    records: &BTreeMap<String, TokenItem>,
    targets: &[Target],
    successors: &BTreeSet<String>,
) {
    for target in targets {
        let record = &records[&target.id];
        assert_ne!(record.status, StoredStatus::Active, "{record:?}");
        assert!(
            matches!(
                app.service.verify(&target.secret).await,
                Err(api_tokens::service::VerifyError::Rejected(_))
            ),
            "{} ({:?}) still verifies",
            target.id,
            record.status
        );
        app.get("/tokens/self", &target.secret)
            .await
            .assert_problem(401, "unauthorized");
    }
    for id in successors {
        assert_eq!(records[id].status, StoredStatus::Active, "{id}");
    }
}
