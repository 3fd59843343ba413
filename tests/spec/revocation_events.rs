//! Revocation by EventBridge events and SQS messages (`api_tokens::events::revocation`), driven by
//! the real-shaped fixtures in `tests/fixtures/`.

use api_tokens::events::revocation::{self, Failed, Malformed};
use api_tokens::model::{StoredStatus, TokenItem};
use api_tokens::store::TokenStore;
use integration_tests::{fixture, revocation_options, sqs_batch, App};
use serde_json::json;

use crate::aws_stub::SqsQueue;
use crate::USER;

/// `n` active tokens of `user`, written directly (see `App::seed`).
async fn seed(app: &App, tenant: &str, user: &str, n: usize) -> Vec<TokenItem> {
    app.seed(tenant, user, n).await
}

async fn record(app: &App, id: uuid::Uuid) -> TokenItem {
    app.service.store().get(id).await.unwrap().unwrap()
}

#[tokio::test]
async fn an_sqs_batch_with_three_bad_messages_fails_exactly_those_and_revokes_the_rest() {
    let app = App::start().await;
    let singles = seed(&app, "acme", "alice", 5).await;
    let carols = seed(&app, "acme", "carol", 3).await;
    let (leaked_id, leaked) = app
        .mint_with("acme", "dave", USER, Default::default())
        .await;
    let bystander = seed(&app, "acme", "erin", 1).await;

    let mut bodies: Vec<(String, String)> = singles
        .iter()
        .map(|t| {
            json!({"tenant_id": "acme", "token_id": t.id, "reason": "rotation of keys"}).to_string()
        })
        .chain([
            json!({"tenant_id": "acme", "user_id": "carol", "reason": "left"}).to_string(),
            json!({"secret": leaked, "actor": "secret-scanner"}).to_string(),
        ])
        .enumerate()
        .map(|(i, b)| (format!("good-{i}"), b))
        .collect();
    let bad = [
        ("bad-not-json", "revoke everything please".to_string()),
        ("bad-no-shape", json!({"tenant_id": "acme"}).to_string()),
        (
            "bad-checksum",
            json!({"secret": format!("{}x", &leaked[..leaked.len() - 1])}).to_string(),
        ),
    ];
    for (i, (id, body)) in bad.iter().enumerate() {
        bodies.insert(i * 3, (id.to_string(), body.clone()));
    }
    assert_eq!(bodies.len(), 10);
    let batch = sqs_batch(&bodies);

    let answer = revocation::handle(&app.service, &revocation_options(), batch.clone(), None)
        .await
        .unwrap();
    let mut failed: Vec<&str> = answer["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap())
        .collect();
    failed.sort_unstable();
    assert_eq!(failed, vec!["bad-checksum", "bad-no-shape", "bad-not-json"]);

    for t in singles.iter().chain(&carols) {
        let now = record(&app, t.id).await;
        assert_eq!(now.status, StoredStatus::Revoked, "{}", t.user_id);
        assert_eq!(
            now.revoked_by.as_deref(),
            Some("sqs:api-tokens-revocations")
        );
        // A bare body: the queue is all its transport vouches for.
        assert_eq!(
            now.revoked_via.as_deref(),
            Some("sqs:api-tokens-revocations")
        );
    }
    let dave = record(&app, leaked_id.parse().unwrap()).await;
    assert_eq!(dave.status, StoredStatus::Revoked);
    assert_eq!(dave.revoked_by.as_deref(), Some("secret-scanner"));
    assert_eq!(
        dave.revoked_via.as_deref(),
        Some("sqs:api-tokens-revocations"),
        "the claimed actor is kept beside where the request came from"
    );
    assert_eq!(
        record(&app, bystander[0].id).await.status,
        StoredStatus::Active
    );

    // At-least-once delivery: the same batch again changes nothing, and fails only the bad.
    let before = app.records().await;
    let again = revocation::handle(&app.service, &revocation_options(), batch, None)
        .await
        .unwrap();
    assert_eq!(again["batchItemFailures"].as_array().unwrap().len(), 3);
    let mut after = app.records().await;
    let mut before = before;
    before.sort_by_key(|t| t.id);
    after.sort_by_key(|t| t.id);
    assert_eq!(after, before, "a replay is a no-op");
}

#[tokio::test]
async fn eventbridge_events_revoke_once_and_replays_change_nothing() {
    let app = App::start().await;
    let (token_id, _) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    seed(&app, "acme", "bob", 4).await;
    let (_, leaked) = app
        .mint_with("acme", "dave", USER, Default::default())
        .await;
    let events = [
        fixture("eventbridge-revoke-token.json", &[("TOKEN_ID", &token_id)]),
        fixture("eventbridge-revoke-user-tokens.json", &[("USER_ID", "bob")]),
        fixture(
            "eventbridge-revoke-leaked-secret.json",
            &[("SECRET", &leaked)],
        ),
    ];
    let mut answers = Vec::new();
    for e in &events {
        answers.push(
            revocation::handle(&app.service, &revocation_options(), e.clone(), None)
                .await
                .unwrap()["done"]
                .clone(),
        );
    }
    assert_eq!(answers, vec!["revoked 1", "revoked 4", "revoked 1"]);
    let records = app.records().await;
    assert!(records.iter().all(|t| t.status == StoredStatus::Revoked));
    let by = |user: &str| {
        records
            .iter()
            .find(|t| t.user_id == user)
            .map(|t| (t.revoked_by.clone(), t.revocation_reason.clone()))
            .unwrap()
    };
    assert_eq!(
        by("alice"),
        (
            Some("eventbridge:com.example.security".into()),
            Some("compromised host".into())
        )
    );
    assert_eq!(
        by("bob"),
        (Some("okta-scim".into()), Some("offboarded".into()))
    );
    assert_eq!(
        by("dave").0.as_deref(),
        Some("eventbridge:com.example.secret-scanning")
    );
    // Provenance: the event's source and account, beside whatever actor the body claims.
    let via = |user: &str| {
        records
            .iter()
            .filter(|t| t.user_id == user)
            .map(|t| t.revoked_via.clone().unwrap())
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(
        via("alice"),
        ["event:com.example.security@123456789012".into()].into()
    );
    assert_eq!(
        via("bob"),
        ["event:com.example.idp@123456789012".into()].into()
    );
    assert_eq!(
        via("dave"),
        ["event:com.example.secret-scanning@123456789012".into()].into()
    );
    for e in &events {
        let replay = revocation::handle(&app.service, &revocation_options(), e.clone(), None)
            .await
            .unwrap();
        assert_eq!(replay["done"], "nothing to do");
    }
    assert_eq!(app.records().await, records, "replays change nothing");
    let shown = app
        .get(
            &format!("/tokens/{token_id}"),
            &app.mint("acme", "root", crate::ADMIN).await,
        )
        .await;
    assert_eq!(
        shown.json["revoked_via"], "event:com.example.security@123456789012",
        "the client view shows it"
    );
}

#[tokio::test]
async fn a_junk_secret_is_rejected_before_any_lookup() {
    let app = App::start().await;
    let (_, real) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    let mut junk = real.clone().into_bytes();
    let last = junk.len() - 1;
    junk[last] = if junk[last] == b'A' { b'B' } else { b'A' };
    let junk = String::from_utf8(junk).unwrap();
    let before = app.requests.get();
    let r = revocation::handle(
        &app.service,
        &revocation_options(),
        fixture(
            "eventbridge-revoke-leaked-secret.json",
            &[("SECRET", &junk)],
        ),
        None,
    )
    .await;
    assert!(matches!(r, Err(Failed::Malformed(Malformed::NotAToken))));
    assert_eq!(app.requests.get(), before, "no DynamoDB request");

    // Well-formed, with a valid checksum, but no such token: one lookup, nothing revoked.
    let stranger = api_tokens::secret::generate(
        "tkn",
        uuid::Uuid::now_v7(),
        &ring::rand::SystemRandom::new(),
    );
    let r = revocation::handle(
        &app.service,
        &revocation_options(),
        fixture(
            "eventbridge-revoke-leaked-secret.json",
            &[("SECRET", stranger.expose())],
        ),
        None,
    )
    .await
    .unwrap();
    assert_eq!(r["done"], "nothing to do");
    assert_eq!(app.requests.get() - before, 1);
    assert_eq!(app.get("/tokens/self", &real).await.status, 200);
}

#[tokio::test]
async fn a_malformed_eventbridge_event_is_an_error_for_lambda_to_retry_and_dead_letter() {
    let app = App::start().await;
    let mut e = fixture(
        "eventbridge-revoke-token.json",
        &[("TOKEN_ID", &uuid::Uuid::now_v7().to_string())],
    );
    e["detail-type"] = json!("RevokeEverything");
    assert!(matches!(
        revocation::handle(&app.service, &revocation_options(), e, None).await,
        Err(Failed::Malformed(Malformed::UnknownDetailType(_)))
    ));
    // A token of another tenant is left alone: "nothing to do", not an error.
    let (other, _) = app
        .mint_with("globex", "alice", USER, Default::default())
        .await;
    let e = fixture("eventbridge-revoke-token.json", &[("TOKEN_ID", &other)]);
    let r = revocation::handle(&app.service, &revocation_options(), e, None)
        .await
        .unwrap();
    assert_eq!(r["done"], "nothing to do");
    assert_eq!(
        record(&app, other.parse().unwrap()).await.status,
        StoredStatus::Active
    );
}

/// Faults DynamoDB Local cannot be made to produce on cue, injected in front of the real
/// store: a record changed between the page read and its batch, a throttled batch, or a
/// sweep shard that keeps failing.
#[derive(Clone)]
pub(crate) struct Faulty {
    inner: api_tokens::DynamoStore,
    fault: Fault,
    batches: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Faulty {
    /// The real store `inner`, with `fault`.
    pub(crate) fn new(inner: api_tokens::DynamoStore, fault: Fault) -> Self {
        Self {
            inner,
            fault,
            batches: Default::default(),
        }
    }
}

#[derive(Clone, Copy)]
pub(crate) enum Fault {
    /// Before the first batch, the first token of it is renamed (so its `updated_at` moves).
    ChangeOneFirst,
    /// The first `n` batches are throttled.
    Throttle(usize),
    /// Every sweep step of this `by_due` shard fails (as an unreachable DynamoDB would).
    FailSweepShard(u32),
}

mod faulty_store {
    use super::{Fault, Faulty};
    use api_tokens::model::TokenItem;
    use api_tokens::store::*;
    use api_tokens::time::Timestamp;
    use std::sync::atomic::Ordering;
    use uuid::Uuid;

    impl TokenStore for Faulty {
        async fn revoke_batch(
            &self,
            changes: &[(TokenItem, TokenItem)],
            purge_at: Timestamp,
        ) -> Result<bool, StoreError> {
            let n = self.batches.fetch_add(1, Ordering::SeqCst);
            match self.fault {
                Fault::ChangeOneFirst if n == 0 => {
                    let patch = Patch {
                        name: Some("renamed meanwhile".into()),
                        ..Patch::default()
                    };
                    let old = &changes[0].0;
                    self.inner
                        .amend(&Amendment {
                            id: old.id,
                            tenant_id: &old.tenant_id,
                            owner: None,
                            patch: &patch,
                            actor: "someone",
                            at: api_tokens::time::now(),
                        })
                        .await?;
                }
                Fault::Throttle(k) if n < k => {
                    return Err(StoreError::Throttled("injected".into()));
                }
                _ => {}
            }
            self.inner.revoke_batch(changes, purge_at).await
        }
        async fn insert(
            &self,
            item: &TokenItem,
            hash: &str,
            purge_at: Option<Timestamp>,
            once: Option<&Once>,
        ) -> Result<Option<Once>, StoreError> {
            self.inner.insert(item, hash, purge_at, once).await
        }
        async fn rotate(&self, r: &Rotation<'_>) -> Result<RotateOutcome, StoreError> {
            self.inner.rotate(r).await
        }
        async fn held(&self, pk: &str) -> Result<Option<Once>, StoreError> {
            self.inner.held(pk).await
        }
        async fn amend(&self, a: &Amendment<'_>) -> Result<Option<TokenItem>, StoreError> {
            self.inner.amend(a).await
        }
        async fn get(&self, id: Uuid) -> Result<Option<TokenItem>, StoreError> {
            self.inner.get(id).await
        }
        async fn credential(&self, id: Uuid) -> Result<Option<Credential>, StoreError> {
            self.inner.credential(id).await
        }
        async fn revoke_credential(
            &self,
            id: Uuid,
            tenant_id: &str,
            owner: &str,
        ) -> Result<bool, StoreError> {
            self.inner.revoke_credential(id, tenant_id, owner).await
        }
        async fn revoke(&self, r: &Revocation<'_>) -> Result<RevokeOutcome, StoreError> {
            self.inner.revoke(r).await
        }
        async fn revoke_write_only(
            &self,
            r: &Revocation<'_>,
        ) -> Result<RevokeOutcome<()>, StoreError> {
            self.inner.revoke_write_only(r).await
        }
        async fn page(&self, q: &PageRequest<'_>) -> Result<Page, StoreError> {
            self.inner.page(q).await
        }
        async fn counts(&self, tenant: &str, user: Option<&str>) -> Result<Counts, StoreError> {
            self.inner.counts(tenant, user).await
        }
        async fn batch_get(&self, ids: &[Uuid]) -> Result<Vec<TokenItem>, StoreError> {
            self.inner.batch_get(ids).await
        }
        async fn touch(
            &self,
            id: Uuid,
            at: Timestamp,
            ip: Option<String>,
            interval: chrono::Duration,
        ) -> Result<bool, StoreError> {
            self.inner.touch(id, at, ip, interval).await
        }
        async fn expire_due(
            &self,
            shard: u32,
            now: Timestamp,
            limit: i32,
            after: Option<&str>,
        ) -> Result<api_tokens::store::SweepStep, StoreError> {
            if matches!(self.fault, Fault::FailSweepShard(s) if s == shard) {
                return Err(StoreError::Unavailable("injected".into()));
            }
            self.inner.expire_due(shard, now, limit, after).await
        }
    }
}

/// Revokes every token of a user of 30 through `fault`; returns the result, how many batches
/// were attempted, and the records afterwards.
async fn revoke_user_through(
    fault: Fault,
) -> (api_tokens::service::BulkRevocation, usize, Vec<TokenItem>) {
    let app = App::start().await;
    app.seed("acme", "frank", 30).await;
    let store = Faulty {
        inner: api_tokens::DynamoStore::new(app.dynamodb.clone(), &app.table),
        fault,
        batches: Default::default(),
    };
    let service = api_tokens::TokenService::new(
        store.clone(),
        &integration_tests::test_config_with(&app.table, &[]),
    );
    let done = service
        .revoke_user("acme", "frank", "idp", None, Some("offboarded"), None)
        .await
        .unwrap();
    let counts = store.counts("acme", Some("frank")).await.unwrap();
    assert_eq!(
        (counts.active, counts.revoked),
        (0, 30),
        "counters exact whatever path each token took"
    );
    let batches = store.batches.load(std::sync::atomic::Ordering::SeqCst);
    (done, batches, app.records().await)
}

#[tokio::test]
async fn a_batch_whose_record_changed_since_the_read_is_revoked_token_by_token() {
    let (done, _, records) = revoke_user_through(Fault::ChangeOneFirst).await;
    assert!(done.complete);
    assert_eq!(done.revoked, 30);
    assert!(records.iter().all(|t| t.status == StoredStatus::Revoked));
    let renamed = records
        .iter()
        .find(|t| t.name == "renamed meanwhile")
        .expect("the concurrent change was kept, not overwritten by the revocation");
    assert_eq!(renamed.revoked_by.as_deref(), Some("idp"));
}

#[tokio::test]
async fn a_throttled_batch_is_retried_then_revoked_token_by_token() {
    // Twice throttled: the third attempt of that batch writes it.
    let (done, batches, records) = revoke_user_through(Fault::Throttle(2)).await;
    assert_eq!(done.revoked, 30);
    assert!(records.iter().all(|t| t.status == StoredStatus::Revoked));
    let lanes = records
        .iter()
        .map(|t| api_tokens::schema::counter_shard(t.id))
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    assert_eq!(batches, lanes + 2, "one batch per lane, plus two retries");

    // Always throttled: each lane's batch is tried 3 times, then its tokens one by one.
    let (done, batches, records) = revoke_user_through(Fault::Throttle(usize::MAX)).await;
    assert_eq!(done.revoked, 30);
    assert!(records.iter().all(|t| t.status == StoredStatus::Revoked));
    let lanes = records
        .iter()
        .map(|t| api_tokens::schema::counter_shard(t.id))
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    assert_eq!(batches, lanes * 3);
}

#[tokio::test]
async fn an_event_from_a_source_not_in_the_list_is_refused_counted_and_never_failed() {
    let app = App::start().await;
    let (token_id, _) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    seed(&app, "acme", "bob", 3).await;
    let mut forged = fixture("eventbridge-revoke-token.json", &[("TOKEN_ID", &token_id)]);
    forged["source"] = json!("com.example.untrusted");
    let before = app.records().await;
    let refused = revocation::refused_events();

    // Directly from EventBridge: answered, not an error (a retry could not change it).
    let r = revocation::handle(&app.service, &revocation_options(), forged.clone(), None)
        .await
        .unwrap();
    assert_eq!(r["done"], "refused: source not allowed");

    // As SQS bodies: an envelope of a foreign source, one with no source at all, and a
    // good request beside them. Only the good one revokes; none is failed.
    let mut sourceless = fixture("eventbridge-revoke-user-tokens.json", &[("USER_ID", "bob")]);
    sourceless.as_object_mut().unwrap().remove("source");
    let good = fixture("eventbridge-revoke-user-tokens.json", &[("USER_ID", "bob")]);
    let batch = sqs_batch(&[
        ("forged".into(), forged.to_string()),
        ("sourceless".into(), sourceless.to_string()),
        ("good".into(), good.to_string()),
    ]);
    let r = revocation::handle(&app.service, &revocation_options(), batch, None)
        .await
        .unwrap();
    assert_eq!(r["batchItemFailures"], json!([]));
    assert!(
        revocation::refused_events() >= refused + 3,
        "each refusal is counted"
    );
    for t in app.records().await {
        let was = before.iter().find(|b| b.id == t.id).unwrap();
        if t.user_id == "bob" {
            assert_eq!(t.status, StoredStatus::Revoked);
            assert_eq!(
                t.revoked_via.as_deref(),
                Some("event:com.example.idp@123456789012")
            );
        } else {
            assert_eq!(&t, was, "a refused event changes nothing");
        }
    }

    // The list is the handler's, not the fixtures': with another list the same event passes.
    let options = revocation::Options::new(["com.example.untrusted"]);
    let r = revocation::handle(&app.service, &options, forged, None)
        .await
        .unwrap();
    assert_eq!(r["done"], "revoked 1");
}

/// `maxReceiveCount` of the revocation queue's redrive policy in `template.yaml`.
fn max_receive_count() -> u32 {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let t: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let policy = &t["Resources"]["RevocationQueue"]["Properties"]["RedrivePolicy"];
    policy["maxReceiveCount"].as_u64().unwrap() as u32
}

#[tokio::test]
async fn a_long_revocation_continues_in_new_messages_and_none_is_received_twice() {
    let app = App::start().await;
    let max = max_receive_count();
    // Ten tokens a pass and no time at all: each delivery revokes one page, so the job
    // needs more passes than the queue allows receives of one message.
    let page = 10;
    let n = page * (max as usize + 3) + 4;
    app.seed("acme", "bob", n).await;
    let others = app.seed("acme", "carol", 2).await;
    let queue = SqsQueue::start(max).await;
    let service = api_tokens::TokenService::new(
        api_tokens::DynamoStore::new(app.dynamodb.clone(), &app.table),
        &integration_tests::test_config_with(&app.table, &[]),
    )
    .with_user_revocation_page(page as i32);
    let options = revocation_options().with_continuation(revocation::Continuation::new(
        &queue.stub.sdk_config(),
        &queue.url,
    ));
    let now = || Some(std::time::Instant::now());

    // An EventBridge event invokes the function directly; its first pass hands on the rest.
    let event = fixture("eventbridge-revoke-user-tokens.json", &[("USER_ID", "bob")]);
    let r = revocation::handle(&service, &options, event.clone(), now())
        .await
        .unwrap();
    assert_eq!(
        r["done"],
        format!("revoked {page}, continued in a new message")
    );

    let mut deliveries = 1;
    while let Some(batch) = queue.receive(10) {
        assert_eq!(batch["Records"].as_array().unwrap().len(), 1, "one job");
        let answer = revocation::handle(&service, &options, batch.clone(), now())
            .await
            .unwrap();
        assert_eq!(answer["batchItemFailures"], json!([]), "never failed");
        queue.settle(&batch, &answer);
        deliveries += 1;
        assert!(deliveries <= n, "the job ends");
    }
    assert!(
        deliveries > max as usize,
        "{deliveries} passes: redelivering one message would have dead-lettered it"
    );
    assert!(queue.dead().is_empty(), "nothing in the dead-letter queue");
    let handled = queue.deleted();
    assert_eq!(handled.len(), deliveries - 1);
    for (i, m) in handled.iter().enumerate() {
        assert_eq!(m.receives, 1, "{}: received once", m.id);
        // The continuation is the same event (so the same source checks and provenance),
        // numbered by pass.
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&m.body).unwrap(),
            event
        );
        assert_eq!(
            m.attributes[revocation::PASS_ATTRIBUTE],
            json!({"DataType": "Number", "StringValue": (i + 2).to_string()})
        );
    }
    assert_eq!(
        queue.stub.requests().len(),
        deliveries - 1,
        "one SendMessage a pass"
    );

    let counts = service.store().counts("acme", Some("bob")).await.unwrap();
    assert_eq!(
        (counts.active, counts.revoked),
        (0, n as i64),
        "each exactly once"
    );
    for t in app.records().await {
        if t.user_id == "bob" {
            assert_eq!(t.status, StoredStatus::Revoked);
            assert_eq!(t.revoked_by.as_deref(), Some("okta-scim"));
            assert_eq!(
                t.revoked_via.as_deref(),
                Some("event:com.example.idp@123456789012")
            );
        }
    }
    for t in &others {
        assert_eq!(record(&app, t.id).await.status, StoredStatus::Active);
    }
}

#[tokio::test]
async fn a_continuation_that_cannot_be_sent_leaves_the_message_to_redelivery() {
    let app = App::start().await;
    app.seed("acme", "bob", 12).await;
    let queue = SqsQueue::start(5).await;
    let service = api_tokens::TokenService::new(
        api_tokens::DynamoStore::new(app.dynamodb.clone(), &app.table),
        &integration_tests::test_config_with(&app.table, &[]),
    )
    .with_user_revocation_page(5);
    // A queue URL the stand-in does not know: SendMessage fails.
    let options = revocation_options().with_continuation(revocation::Continuation::new(
        &queue.stub.sdk_config(),
        "https://sqs.eu-west-1.amazonaws.com/123456789012/gone",
    ));
    let body = json!({"tenant_id": "acme", "user_id": "bob"}).to_string();
    let batch = sqs_batch(&[("m-1".into(), body)]);
    let r = revocation::handle(
        &service,
        &options,
        batch.clone(),
        Some(std::time::Instant::now()),
    )
    .await
    .unwrap();
    assert_eq!(r["batchItemFailures"], json!([{"itemIdentifier": "m-1"}]));
    assert_eq!(queue.stub.requests().len(), 1);
    let counts = service.store().counts("acme", Some("bob")).await.unwrap();
    assert_eq!(
        (counts.active, counts.revoked),
        (7, 5),
        "the pass's work stands"
    );
    // Redelivered (a real failure, counted), it goes on where the last pass stopped.
    let r = revocation::handle(&service, &revocation_options(), batch, None)
        .await
        .unwrap();
    assert_eq!(r["batchItemFailures"], json!([]));
    let counts = service.store().counts("acme", Some("bob")).await.unwrap();
    assert_eq!((counts.active, counts.revoked), (0, 12));
}
