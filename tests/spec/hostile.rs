//! A hostile user of a tenant: whatever they send or store, (a) no other request of the tenant
//! fails, (b) no token yields one more powerful, longer-lived or less restricted than itself,
//! (c) no background job stops for other tokens. Issue 14's findings, each as a test.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use api_tokens::domain::limits::MAX_LIFETIME_DAYS;
use api_tokens::model::Status;
use api_tokens::model::{StoredStatus, TokenItem};
use api_tokens::schema::SortField;
use api_tokens::service::idempotency::{Keyed, Sealer};
use api_tokens::service::listing::{ListQuery, Window};
use api_tokens::service::CreateInput;
use api_tokens::store::{Once, TokenStore};
use api_tokens::{metrics, schema, time};
use aws_sdk_dynamodb::types::AttributeValue as A;
use chrono::Duration;
use integration_tests::{principal, sample_token, App, Reply};
use serde_json::{json, Value};

use crate::revocation_events::{Fault, Faulty};
use crate::{ADMIN, USER};

fn days(n: i64) -> Duration {
    Duration::days(n)
}

/// Every `5xx` is a defect, whatever was asked.
fn no_server_error(r: &Reply, what: &str) {
    assert!(r.status < 500, "{what}: {} {}", r.status, r.text);
}

// ---- 1. Times at the edge of the representable range ---------------------------------------

#[tokio::test]
async fn no_path_stores_an_expiry_past_the_longest_lifetime() {
    let app = App::start().await;
    // The report's caller: a non-admin whose token never expires.
    let alice = app.mint("acme", "alice", USER).await;
    let latest = time::now() + days(MAX_LIFETIME_DAYS);
    for (expires_at, what) in [
        (
            "9999-12-31T23:59:59.999Z",
            "the last representable millisecond",
        ),
        ("9999-12-31T23:30:00-01:00", "year 10000 in UTC"),
        (
            &*time::format(&(latest + days(1))),
            "one day past the longest lifetime",
        ),
    ] {
        let r = app
            .post(
                "/tokens",
                &alice,
                json!({"name": "far", "expires_at": expires_at}),
            )
            .await;
        r.assert_problem(422, "validation-error");
        assert_eq!(r.error_locs(), [r#"["body","expires_at"]"#], "{what}");
    }
    let r = app
        .post(
            "/tokens",
            &alice,
            json!({"name": "x", "expires_in_days": MAX_LIFETIME_DAYS + 1}),
        )
        .await;
    assert_eq!(r.error_locs(), [r#"["body","expires_in_days"]"#]);

    // The longest lifetime itself is fine, by either field.
    let r = app
        .post(
            "/tokens",
            &alice,
            json!({"name": "ten years", "expires_in_days": MAX_LIFETIME_DAYS}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let just_inside = time::format(&(time::now() + days(MAX_LIFETIME_DAYS) - Duration::minutes(1)));
    let r = app
        .post(
            "/tokens",
            &alice,
            json!({"name": "almost", "expires_at": just_inside}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json["id"].as_str().unwrap().to_string();

    // Rotation: an explicit expiry past the limit is refused; the inherited lifetime (ten
    // years, counted again from now) is within it.
    let r = app
        .post(
            &format!("/tokens/{id}/rotate"),
            &alice,
            json!({"expires_at": "9999-12-31T00:00:00Z"}),
        )
        .await;
    assert_eq!(r.error_locs(), [r#"["body","expires_at"]"#]);
    let r = app
        .post(&format!("/tokens/{id}/rotate"), &alice, json!({}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let successor = time::parse(r.json["expires_at"].as_str().unwrap()).unwrap();
    assert!(successor <= time::now() + days(MAX_LIFETIME_DAYS));

    // Nothing stored reaches year 10000, and the tenant still lists.
    for t in app.records().await {
        for at in [Some(t.created_at), t.expires_at, t.revoked_at]
            .into_iter()
            .flatten()
        {
            assert!(time::format(&at).len() == 24, "{at:?} of {}", t.id);
        }
    }
    assert_eq!(
        app.get("/tokens?include_revoked=true", &alice).await.status,
        200
    );
}

#[tokio::test]
async fn rotating_a_token_stored_before_the_limit_cannot_push_its_successor_past_it() {
    let app = App::start().await;
    let admin = app.mint("acme", "root", ADMIN).await;
    // A record an older version let through: created a year ago, expiring at the very end
    // of year 9999. Inheriting its lifetime from now would land in year 10000.
    let legacy = TokenItem {
        created_at: time::now() - days(365),
        expires_at: time::parse("9999-12-31T23:59:00Z"),
        ..sample_token("acme", "alice")
    };
    app.service
        .store()
        .insert(&legacy, "not-a-real-hash", None, None)
        .await
        .unwrap();
    let alices = || async {
        let mut r = app.records().await;
        r.retain(|t| t.user_id == "alice");
        r
    };
    let before = alices().await;
    let r = app
        .post(&format!("/tokens/{}/rotate", legacy.id), &admin, json!({}))
        .await;
    r.assert_problem(422, "validation-error");
    assert_eq!(r.error_locs(), [r#"["body","expires_at"]"#], "{}", r.text);
    assert_eq!(alices().await, before, "nothing half-written");
    // An explicit expiry within the limit rotates it.
    let r = app
        .post(
            &format!("/tokens/{}/rotate", legacy.id),
            &admin,
            json!({"expires_in_days": 1}),
        )
        .await;
    assert_eq!(
        r.status, 422,
        "rotation takes expires_at, not expires_in_days"
    );
    let soon = time::format(&(time::now() + days(30)));
    let r = app
        .post(
            &format!("/tokens/{}/rotate", legacy.id),
            &admin,
            json!({"expires_at": soon}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
}

#[tokio::test]
async fn list_parameters_at_the_edges_of_time_never_fail() {
    let app = App::start().await;
    let admin = app.mint("acme", "root", ADMIN).await;
    let alice = app.mint("acme", "alice", USER).await;
    for edge in [
        "0000-01-01T00:00:00Z",
        "0000-01-01T00:00:00.001Z",
        "9999-12-31T23:59:59.999Z",
        "9999-12-31T23:59:59.999-00:00",
        "9999-12-31T23:30:00-01:00",
        "0000-01-01T00:30:00%2B01:00",
    ] {
        for param in [
            "created_after",
            "created_before",
            "expires_after",
            "expires_before",
            "last_used_after",
            "last_used_before",
        ] {
            for sort in ["created_at", "name", "expires_at", "last_used_at"] {
                let path = format!("/tokens?{param}={edge}&sort={sort}&include_total_count=true");
                for token in [&admin, &alice] {
                    no_server_error(&app.get(&path, token).await, &path);
                }
            }
        }
    }
}

// ---- 2. Idempotent replays are bound to the presenting token --------------------------------

#[tokio::test]
async fn a_weaker_token_of_the_same_user_never_receives_a_stronger_tokens_replay() {
    let app = App::start().await;
    let strong = app.mint("acme", "alice", ADMIN).await;
    let (_, weak) = app
        .mint_with(
            "acme",
            "alice",
            &["tokens:write"],
            CreateInput {
                expires_at: Some(time::now() + days(1)),
                ..Default::default()
            },
        )
        .await;

    // POST /tokens: the strong token mints a never-expiring admin token under key k...
    let body = json!({"name": "ci", "scopes": ["tokens:write"]});
    let first = app.post_keyed("/tokens", &strong, "k", body.clone()).await;
    assert_eq!(first.status, 201);
    assert_eq!(first.json["expires_at"], Value::Null);
    // ...and the weak token's same request is its own: a new token within its own day.
    let second = app.post_keyed("/tokens", &weak, "k", body).await;
    assert_eq!(second.status, 201, "{}", second.text);
    assert_eq!(second.header("idempotent-replayed"), "");
    assert_ne!(second.json["id"], first.json["id"]);
    assert_ne!(second.json["secret"], first.json["secret"]);
    let expiry = time::parse(second.json["expires_at"].as_str().unwrap()).unwrap();
    assert!(expiry <= time::now() + days(1));

    // Rotate: the strong token rotates a token under key r; the weak token's replay of the
    // same rotation gets no secret.
    let target = app
        .post(
            "/tokens",
            &strong,
            json!({"name": "deploy", "scopes": ["tokens:read"]}),
        )
        .await;
    let id = target.json["id"].as_str().unwrap();
    let path = format!("/tokens/{id}/rotate");
    let rotated = app.post_keyed(&path, &strong, "r", json!({})).await;
    assert_eq!(rotated.status, 201);
    let replay = app.post_keyed(&path, &weak, "r", json!({})).await;
    assert!(replay.json.get("secret").is_none(), "{}", replay.text);
    replay.assert_problem(409, "token-not-rotatable");
    // The strong token's own retry still gets its result.
    let retry = app.post_keyed(&path, &strong, "r", json!({})).await;
    assert_eq!(retry.json["secret"], rotated.json["secret"]);
}

#[tokio::test]
async fn a_replay_passes_the_checks_a_fresh_request_passes() {
    let app = App::start().await;
    let (_, weak) = app
        .mint_with(
            "acme",
            "alice",
            &["tokens:write"],
            CreateInput {
                expires_at: Some(time::now() + days(1)),
                allowed_ips: vec!["127.0.0.0/8".into()],
                ..Default::default()
            },
        )
        .await;
    let me: Value = app.get("/tokens/self", &weak).await.json;
    let caller = api_tokens::Principal {
        token_id: me["id"].as_str().unwrap().into(),
        ..principal("acme", "alice", &["tokens:write"])
    };
    let body = json!({"name": "ci"});
    let key = Keyed::new(&caller, "planted", "POST /tokens", "", &body);
    // A held result for the weak token's own key that it could never have minted (a
    // damaged or planted record): each is refused, and its secret never shown.
    let base = TokenItem {
        expires_at: Some(time::now() + Duration::hours(1)),
        allowed_ips: vec!["127.0.0.1/32".into()],
        ..sample_token("acme", "alice")
    };
    for (planted, problem) in [
        (
            TokenItem {
                scopes: vec!["tokens:admin".into()],
                ..base.clone()
            },
            "forbidden",
        ),
        (
            TokenItem {
                expires_at: None,
                ..base.clone()
            },
            "forbidden",
        ),
        (
            TokenItem {
                allowed_ips: vec![],
                ..base.clone()
            },
            "forbidden",
        ),
        (
            TokenItem {
                allowed_ips: vec!["10.0.0.0/8".into()],
                ..base.clone()
            },
            "forbidden",
        ),
    ] {
        let sealed = sealed_result(&app, &key, &planted, "tkn_planted_secret");
        app.dynamodb
            .put_item()
            .table_name(&app.table)
            .set_item(Some(sealed))
            .send()
            .await
            .unwrap();
        let r = app
            .post_keyed("/tokens", &weak, "planted", body.clone())
            .await;
        r.assert_problem(403, problem);
        assert!(!r.text.contains("tkn_planted_secret"));
    }
}

/// The idempotency item a keyed request that minted `token` would have written, sealed
/// under the app's key.
fn sealed_result(app: &App, key: &Keyed, token: &TokenItem, secret: &str) -> HashMap<String, A> {
    let sealer = Sealer::new(&app_hash_key(app));
    let plain = serde_json::to_vec(&json!({"token": token, "secret": secret})).unwrap();
    let once = Once {
        pk: key.pk.clone(),
        fingerprint: key.fingerprint.clone(),
        sealed: sealer.seal(&key.pk, &plain),
        expires_at: time::now() + Duration::hours(1),
    };
    HashMap::from([
        ("pk".to_string(), A::S(once.pk)),
        ("fingerprint".into(), A::S(once.fingerprint)),
        ("sealed".into(), A::B(once.sealed.into())),
        ("expires_at".into(), A::S(time::format(&once.expires_at))),
        (
            schema::PURGE_AT.into(),
            A::N(once.expires_at.timestamp().to_string()),
        ),
    ])
}

fn app_hash_key(app: &App) -> Vec<u8> {
    app.config.token_hash_key.clone()
}

// ---- 3. Children never escape their parent's allowed_ips ------------------------------------

#[tokio::test]
async fn a_restricted_token_mints_and_rotates_only_tokens_inside_its_blocks() {
    let app = App::start().await;
    // The dev server sees every request from 127.0.0.1.
    let (_, parent) = app
        .mint_with(
            "acme",
            "alice",
            USER,
            CreateInput {
                allowed_ips: vec!["127.0.0.0/8".into()],
                ..Default::default()
            },
        )
        .await;
    // No restriction asked: the child inherits the parent's.
    let child = app
        .post("/tokens", &parent, json!({"name": "child", "scopes": USER}))
        .await;
    assert_eq!(child.status, 201, "{}", child.text);
    assert_eq!(child.json["allowed_ips"], json!(["127.0.0.0/8"]));
    // Narrower: granted as asked.
    let narrow = app
        .post(
            "/tokens",
            &parent,
            json!({"name": "n", "allowed_ips": ["127.0.0.1/32"]}),
        )
        .await;
    assert_eq!(narrow.json["allowed_ips"], json!(["127.0.0.1/32"]));
    // Wider, beside, or another family: 403 naming the field, nothing written.
    let before = app.records().await.len();
    for ips in [
        json!(["0.0.0.0/0"]),
        json!(["127.0.0.0/7"]),
        json!(["10.0.0.0/8"]),
        json!(["::1/128"]),
        json!(["127.0.0.1", "192.0.2.1"]),
    ] {
        let r = app
            .post(
                "/tokens",
                &parent,
                json!({"name": "wide", "allowed_ips": ips}),
            )
            .await;
        r.assert_problem(403, "forbidden");
        assert!(
            r.json["detail"]
                .as_str()
                .unwrap()
                .starts_with("allowed_ips:"),
            "{}",
            r.text
        );
    }
    assert_eq!(app.records().await.len(), before);
    // The grandchild, minted by the child, is held inside the child's blocks in turn.
    let grandchild_secret = child.json["secret"].as_str().unwrap();
    let r = app
        .post(
            "/tokens",
            grandchild_secret,
            json!({"name": "g", "allowed_ips": ["0.0.0.0/0"]}),
        )
        .await;
    r.assert_problem(403, "forbidden");

    // Rotation: an unrestricted token of alice's, rotated by the restricted parent, gets the
    // parent's blocks; one restricted elsewhere cannot be rotated by it.
    let (open_id, _) = app
        .mint_with("acme", "alice", USER, CreateInput::default())
        .await;
    let r = app
        .post(&format!("/tokens/{open_id}/rotate"), &parent, json!({}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["allowed_ips"], json!(["127.0.0.0/8"]));
    let (elsewhere, _) = app
        .mint_with(
            "acme",
            "alice",
            USER,
            CreateInput {
                allowed_ips: vec!["10.0.0.0/8".into()],
                ..Default::default()
            },
        )
        .await;
    let r = app
        .post(&format!("/tokens/{elsewhere}/rotate"), &parent, json!({}))
        .await;
    r.assert_problem(403, "forbidden");
    assert!(r.json["detail"]
        .as_str()
        .unwrap()
        .starts_with("allowed_ips:"));
}

// ---- 4. A caller limited to its own tokens reads only its own partitions --------------------

#[tokio::test]
async fn a_users_lists_and_counts_read_only_that_users_tokens() {
    let app = App::start().await;
    let alice = principal("acme", "alice", &["tokens:read"]);
    for name in ["b", "a", "c"] {
        app.mint_with(
            "acme",
            "alice",
            USER,
            CreateInput {
                name: name.into(),
                expires_at: Some(time::now() + days(2)),
                ..Default::default()
            },
        )
        .await;
    }
    // Many tokens of another user, past their expiry but not yet swept: the tenant's
    // backlog, which a user's count must not read either.
    app.seed_with("acme", "bob", 600, |t| TokenItem {
        expires_at: Some(time::now() - Duration::minutes(1)),
        ..t
    })
    .await;
    let counted = ListQuery {
        include_total: true,
        ..ListQuery::default()
    };
    let by = |sort| ListQuery {
        sort,
        ..counted.clone()
    };
    let queries = [
        (
            "sort=name&name=zzz",
            ListQuery {
                name: Some("zzz".into()),
                ..by(SortField::Name)
            },
            0,
        ),
        ("sort=name", by(SortField::Name), 3),
        ("sort=expires_at", by(SortField::ExpiresAt), 3),
        (
            "sort=last_used_at&last_used_after=2020",
            ListQuery {
                last_used: Window {
                    after: time::parse("2020-01-01T00:00:00Z"),
                    before: None,
                },
                ..by(SortField::LastUsedAt)
            },
            0,
        ),
        ("include_total_count", counted.clone(), 3),
        (
            "status=active",
            ListQuery {
                statuses: Some([Status::Active].into()),
                ..counted.clone()
            },
            3,
        ),
        (
            "scope=tokens:admin",
            ListQuery {
                scope: Some("tokens:admin".into()),
                ..counted.clone()
            },
            0,
        ),
    ];
    for (what, q, total) in queries {
        let page = app.service.list(&alice, &q).await.unwrap();
        // The page and the count each read the user's own three tokens at most, and the
        // count one item of the tenant's backlog to learn that it has one.
        assert!(
            page.stats.items_read <= 2 * 3 + 1,
            "{what}: read {} items for a user with 3 tokens",
            page.stats.items_read
        );
        assert_eq!(page.total, Some(total), "{what}");
    }
    let names: Vec<String> = app
        .service
        .list(
            &alice,
            &ListQuery {
                descending: false,
                ..by(SortField::Name)
            },
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["a", "b", "c"]);
}

#[tokio::test]
async fn a_user_sort_walks_both_ways_and_refuses_beyond_the_read_budget() {
    let app = App::start_with(&[("LIST_READ_BUDGET", "40")]).await;
    let alice = app.mint("acme", "alice", USER).await;
    let mut seeded = app
        .seed_with("acme", "alice", 30, |t| TokenItem {
            name: format!("q-{}", &t.id.simple().to_string()[24..]),
            ..t
        })
        .await;
    seeded.sort_by_key(|t| t.name.clone());
    // Forward by name, one at a time, then all the way back.
    let mut seen = Vec::new();
    let mut path = "/tokens?sort=name&order=asc&limit=1&name=q-".to_string();
    loop {
        let r = app.get(&path, &alice).await;
        assert_eq!(r.status, 200, "{}", r.text);
        seen.extend(
            r.json["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_string()),
        );
        match r.json["next_cursor"].as_str() {
            Some(c) => path = format!("/tokens?sort=name&order=asc&limit=1&name=q-&cursor={c}"),
            None => break,
        }
    }
    let names: Vec<String> = seeded.iter().map(|t| t.name.clone()).collect();
    assert_eq!(seen, names);
    // A user with more tokens than the budget in the asked statuses: 422 naming `sort`.
    app.seed("acme", "alice", 20).await;
    let r = app.get("/tokens?sort=expires_at", &alice).await;
    r.assert_problem(422, "validation-error");
    assert_eq!(r.error_locs(), [r#"["query","sort"]"#]);
    assert_eq!(
        app.get("/tokens?limit=5", &alice).await.status,
        200,
        "creation order still pages"
    );
}

// ---- 5. Long multibyte names, in every sort --------------------------------------------------

#[tokio::test]
async fn the_longest_multibyte_names_page_in_every_sort() {
    let app = App::start().await;
    let admin = app.mint("acme", "root", ADMIN).await;
    let alice = app.mint("acme", "alice", USER).await;
    for name in ["𝔸".repeat(128), "İ".repeat(128), "\u{10FFFF}".repeat(128)] {
        for token in [&admin, &alice] {
            let r = app
                .post(
                    "/tokens",
                    token,
                    json!({"name": name, "expires_in_days": 3}),
                )
                .await;
            assert_eq!(r.status, 201, "{}", r.text);
        }
    }
    for token in [&admin, &alice] {
        let total = app.get("/tokens?limit=1000", token).await.json["items"]
            .as_array()
            .unwrap()
            .len();
        for sort in ["name", "created_at", "expires_at", "last_used_at"] {
            for order in ["asc", "desc"] {
                let base = format!("/tokens?sort={sort}&order={order}&limit=1");
                let mut path = base.clone();
                let mut ids = std::collections::BTreeSet::new();
                loop {
                    let r = app.get(&path, token).await;
                    assert_eq!(r.status, 200, "{path}: {}", r.text);
                    for t in r.json["items"].as_array().unwrap() {
                        assert!(
                            ids.insert(t["id"].as_str().unwrap().to_string()),
                            "{path}: twice"
                        );
                    }
                    match r.json["next_cursor"].as_str() {
                        Some(c) => path = format!("{base}&cursor={c}"),
                        None => break,
                    }
                }
                assert_eq!(ids.len(), total, "{base}");
            }
        }
    }
}

// ---- 5. An admin's revocation against an owner who keeps renaming the token ---------------

#[tokio::test]
async fn a_revocation_wins_against_an_owner_who_renames_the_token_after_every_read() {
    let app = App::start().await;
    let (id, _) = app
        .mint_with("acme", "alice", USER, CreateInput::default())
        .await;
    let renames = Arc::new(AtomicUsize::new(0));
    let owner = RenameAfterEveryRead {
        endpoint: integration_tests::endpoint(),
        table: app.table.clone(),
        id: id.parse().unwrap(),
        renames: renames.clone(),
    };
    let revoking = api_tokens::TokenService::new(
        api_tokens::DynamoStore::new(
            integration_tests::dynamodb_with(&integration_tests::endpoint(), owner),
            &app.table,
        ),
        &app.config,
    );
    let admin = principal("acme", "root", ADMIN);
    let revoked = revoking
        .revoke(&admin, &id, Some("offboarded"))
        .await
        .expect("the revocation wins: it conditions on tenant, owner and status only");
    assert_eq!(revoked.status, StoredStatus::Revoked);
    let n = renames.load(Ordering::SeqCst);
    assert!(
        n >= 1,
        "the owner renamed it between the read and the write"
    );
    let stored = app
        .service
        .store()
        .get(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, StoredStatus::Revoked);
    assert_eq!(stored.revocation_reason.as_deref(), Some("offboarded"));
    assert_eq!(
        stored.name,
        format!("renamed {n}"),
        "the owner's last rename is kept"
    );
    let cred = app
        .service
        .store()
        .credential(stored.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cred.status, StoredStatus::Revoked);
}

/// The owner of token `id`, renaming it (a `PATCH`, on a client of its own) right after each
/// `GetItem` the intercepted client completes: every read of a revocation is stale by the
/// time its write is sent.
#[derive(Debug)]
struct RenameAfterEveryRead {
    endpoint: String,
    table: String,
    id: uuid::Uuid,
    renames: Arc<AtomicUsize>,
}

impl aws_sdk_dynamodb::config::Intercept for RenameAfterEveryRead {
    fn name(&self) -> &'static str {
        "RenameAfterEveryRead"
    }

    fn read_after_deserialization(
        &self,
        ctx: &aws_sdk_dynamodb::config::interceptors::AfterDeserializationInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let read = ctx
            .output_or_error()
            .ok()
            .and_then(|o| o.downcast_ref::<aws_sdk_dynamodb::operation::get_item::GetItemOutput>());
        if read.and_then(|r| r.item()).is_none() {
            return Ok(());
        }
        let n = self.renames.fetch_add(1, Ordering::SeqCst) + 1;
        let (endpoint, table, id) = (self.endpoint.clone(), self.table.clone(), self.id);
        // Done before this read returns, on a runtime and client of its own.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let store =
                    api_tokens::DynamoStore::new(integration_tests::dynamodb(&endpoint), table);
                store
                    .amend(&api_tokens::store::Amendment {
                        id,
                        tenant_id: "acme",
                        owner: Some("alice"),
                        patch: &api_tokens::store::Patch {
                            name: Some(format!("renamed {n}")),
                            ..Default::default()
                        },
                        actor: "alice",
                        at: time::now(),
                    })
                    .await
                    .unwrap()
                    .expect("alice's token");
            });
        })
        .join()
        .unwrap();
        Ok(())
    }
}

// ---- 5b. Pages of the largest tokens stay within Lambda's response limit --------------------

#[tokio::test]
async fn a_page_of_the_largest_tokens_ends_before_lambdas_response_limit() {
    let app = App::start().await;
    let admin = app.mint("acme", "root", ADMIN).await;
    // What a user may store in each token: 20 labels of 512 characters that JSON escapes to
    // two bytes each, and the longest description.
    let largest = |t: TokenItem| TokenItem {
        description: Some("\"".repeat(1024)),
        metadata: (0..20)
            .map(|i| (format!("{i:0>64}"), "\\".repeat(512)))
            .collect(),
        ..t
    };
    let seeded = app.seed_with("acme", "mallory", 130, largest).await;
    let mut seen = std::collections::BTreeSet::new();
    let mut path = "/tokens?limit=1000".to_string();
    let mut pages = 0;
    loop {
        let (status, body) = app.get_bytes(&path, &admin).await;
        assert_eq!(status, 200);
        assert!(
            body.len() <= api_tokens::service::listing::MAX_PAGE_BYTES,
            "a page of {} bytes",
            body.len()
        );
        let page: Value = serde_json::from_slice(&body).unwrap();
        eprintln!(
            "page {pages}: {} tokens, {} bytes",
            page["items"].as_array().unwrap().len(),
            body.len()
        );
        for t in page["items"].as_array().unwrap() {
            assert!(seen.insert(t["id"].as_str().unwrap().to_string()));
        }
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/tokens?limit=1000&cursor={c}"),
            None => break,
        }
    }
    assert!(pages > 1);
    assert_eq!(seen.len(), seeded.len() + 1, "every token once, root's too");
}

// ---- 6. Records nothing can read -------------------------------------------------------------

/// Damaged records of `user`, each with the index keys of an active token that expired a
/// minute ago (so lists, counts, the sweeper and bulk revocation all meet them): bad times,
/// missing fields, wrong types. Returns their ids.
async fn damaged_records(app: &App, tenant: &str, user: &str) -> Vec<uuid::Uuid> {
    type Edit = fn(&mut HashMap<String, A>);
    let edits: [Edit; 9] = [
        |i| {
            i.insert(
                "created_at".into(),
                A::S("+10000-01-01T00:00:00.000Z".into()),
            );
        },
        |i| {
            i.insert("expires_at".into(), A::S("not a time".into()));
        },
        |i| {
            i.remove("name");
        },
        |i| {
            i.remove("id");
        },
        |i| {
            i.insert("scopes".into(), A::N("5".into()));
        },
        |i| {
            i.insert("status".into(), A::S("zombie".into()));
        },
        |i| {
            i.insert("metadata".into(), A::S("{}".into()));
        },
        |i| {
            i.insert("id".into(), A::S("not-a-uuid".into()));
        },
        |i| {
            i.insert("updated_at".into(), A::Bool(true));
        },
    ];
    let mut ids = Vec::new();
    for edit in edits {
        let t = TokenItem {
            expires_at: Some(time::now() - Duration::minutes(1)),
            ..sample_token(tenant, user)
        };
        app.put_record(&t, edit).await;
        // The credential is intact: the token still verifies until it is revoked.
        app.dynamodb
            .put_item()
            .table_name(&app.table)
            .set_item(Some(HashMap::from([
                ("pk".to_string(), A::S(schema::credential_pk(t.id))),
                ("tenant_id".into(), A::S(tenant.into())),
                ("user_id".into(), A::S(user.into())),
                ("scopes".into(), A::L(vec![])),
                ("status".into(), A::S("active".into())),
                (schema::SECRET_HASH.into(), A::S("not-a-real-hash".into())),
            ])))
            .send()
            .await
            .unwrap();
        ids.push(t.id);
    }
    ids
}

#[tokio::test]
async fn damaged_records_are_skipped_by_every_reader_and_never_stop_a_job() {
    let app = App::start().await;
    let admin = app.mint("acme", "root", ADMIN).await;
    let (_, alice) = app
        .mint_with("acme", "alice", USER, CreateInput::default())
        .await;
    let good: Vec<TokenItem> = app
        .seed_with("acme", "alice", 12, |t| TokenItem {
            expires_at: Some(time::now() + days(1)),
            ..t
        })
        .await;
    let due: Vec<TokenItem> = app
        .seed_with("acme", "alice", 3, |t| TokenItem {
            expires_at: Some(time::now() - Duration::minutes(1)),
            ..t
        })
        .await;
    let unreadable_before = metrics::unreadable_records();
    let damaged = damaged_records(&app, "acme", "alice").await;

    // Lists: every sort and direction, page by page, for the admin and for alice; each good
    // token once, the damaged ones nowhere, and no error.
    let readable = 1 + good.len() + due.len();
    for (token, expected) in [(&admin, readable + 1), (&alice, readable)] {
        for sort in ["created_at", "name", "expires_at", "last_used_at"] {
            let base = format!("/tokens?sort={sort}&limit=2&include_total_count=true");
            let mut path = base.clone();
            let mut seen = std::collections::BTreeSet::new();
            loop {
                let r = app.get(&path, token).await;
                assert_eq!(r.status, 200, "{path}: {}", r.text);
                for t in r.json["items"].as_array().unwrap() {
                    let id: uuid::Uuid = t["id"].as_str().unwrap().parse().unwrap();
                    assert!(!damaged.contains(&id));
                    assert!(seen.insert(id));
                }
                match r.json["next_cursor"].as_str() {
                    Some(c) => path = format!("{base}&cursor={c}"),
                    None => break,
                }
            }
            assert_eq!(seen.len(), expected, "{base}");
        }
    }
    let ids: Vec<String> = damaged
        .iter()
        .chain([&good[0].id])
        .map(|i| i.to_string())
        .collect();
    let r = app
        .get(&format!("/tokens?token_ids={}", ids.join(",")), &admin)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["items"].as_array().unwrap().len(), 1);
    for id in &damaged {
        app.get(&format!("/tokens/{id}"), &admin)
            .await
            .assert_problem(404, "token-not-found");
    }

    // The sweeper moves the readable due tokens and steps over the damaged ones.
    assert_eq!(app.service.sweep_expired().await.unwrap(), due.len());
    assert_eq!(app.service.sweep_expired().await.unwrap(), 0);

    // Bulk revocation finishes; damaged records whose tenant, owner and status are intact
    // are revoked too, so their tokens stop working.
    let done = app
        .service
        .revoke_user("acme", "alice", "idp", None, Some("offboarded"), None)
        .await
        .unwrap();
    assert!(done.complete, "{done:?}");
    // Alice's own token, the good ones still active, and every damaged one: by its record
    // where its tenant, owner and status are intact, by its credential alone otherwise (the
    // `zombie` status).
    assert_eq!(done.revoked, 1 + good.len() + damaged.len(), "{done:?}");
    assert_eq!(done.unchanged, 0, "{done:?}");
    for id in &damaged {
        let cred = app.service.store().credential(*id).await.unwrap().unwrap();
        assert_eq!(
            cred.status,
            StoredStatus::Revoked,
            "{id}: its token stops verifying"
        );
    }
    assert!(done.unreadable >= damaged.len() - 1, "{done:?}");
    let r = app.get("/tokens?status=active", &admin).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json["items"].as_array().unwrap().len(),
        1,
        "only root's token is active"
    );

    assert!(metrics::unreadable_records() >= unreadable_before + damaged.len() as u64);
}

#[tokio::test]
async fn a_failing_shard_does_not_stop_the_sweep_of_the_others() {
    let app = App::start().await;
    let due: Vec<TokenItem> = app
        .seed_with("acme", "alice", 16, |t| TokenItem {
            expires_at: Some(time::now() - Duration::minutes(1)),
            ..t
        })
        .await;
    // Every sweep step of shard 0 fails.
    let broken = Faulty::new(app.service.store().clone(), Fault::FailSweepShard(0));
    let service = api_tokens::TokenService::new(broken, &app.config);
    let err = service.sweep_expired().await.unwrap_err();
    assert!(err.to_string().contains("shard 0"), "{err}");
    let still_due: Vec<_> = app
        .records()
        .await
        .into_iter()
        .filter(|t| {
            t.status == StoredStatus::Active && t.expires_at.is_some_and(|e| e <= time::now())
        })
        .collect();
    assert!(!still_due.is_empty());
    assert!(
        still_due.iter().all(|t| schema::due_shard(t.id) == 0),
        "every other shard was swept"
    );
    assert!(due.iter().any(|t| schema::due_shard(t.id) != 0));
}
