//! The client experience in Rust: the client openapi-generator (`-g rust`, blocking reqwest)
//! generates from docs/openapi.yaml, driven through every operation against a running server,
//! using nothing but the generated API. Each step prints one line; a failed check exits
//! non-zero naming it.
//!
//! Run by scripts/test-clients, which generates the crate this one depends on and sets
//! TOKENS_API_URL (the server) and TOKENS_TOKEN (an admin token of tenant `dev`).

use std::collections::HashMap;

use api_tokens_client::apis::configuration::Configuration;
use api_tokens_client::apis::tokens_api::{
    self as api, CreateTokenParams, DeleteTokenParams, GetTokenParams, ListTokensParams,
    RevokeTokenParams, RotateTokenParams, UpdateTokenParams,
};
use api_tokens_client::models::quota::Period;
use api_tokens_client::models::{
    CreateToken, CreatedToken, FieldErrorLocInner, IpBlock, Quota, RateLimit, Revoke, Rotate,
    Status, Token, TokenList, UpdateToken,
};

mod support;

use support::{at, check, ids, no_filter, ok, problem, since_epoch, sorted, step};

const DAY: i64 = 86_400;

fn main() {
    let drive = Drive::from_env();

    // 1. Create: with every field, again with the same Idempotency-Key, then four more to list.
    let request = with_every_field(&drive);
    let created = create(&drive, &request);
    create_again(&drive, request, &created);
    let others = create_more(&drive);

    // 2. The secret, once: it authenticates, and no later answer carries it.
    self_with_new_secret(&drive, &created);
    get_as_created(&drive, &created);

    // 3. Listing: every filter at once, then each kind of filter and order.
    list_with_every_filter(&drive, &created);
    list_by_kind(&drive, &created, &others);
    page_by_name(&drive, &created, &others);

    // 4. Change it: patch, rotate (idempotently), revoke, delete.
    patch(&drive, &created);
    let rotated = rotate_twice(&drive, &created);
    revoke(&drive, &rotated);
    delete(&drive, &others[0], &rotated);

    // 5. Errors, as problem+json through the generated error model.
    not_found(&drive);
    invalid_scope(&drive);
    unauthorized(&drive);
}

/// What the steps share: the admin's configuration, and this run's names, which keep its
/// tokens apart from any other run's.
struct Drive {
    admin: Configuration,
    run: String,
    owner: String,
}

impl Drive {
    fn from_env() -> Self {
        let var = |name| std::env::var(name).expect(name);
        let salt = since_epoch().subsec_nanos() ^ std::process::id();
        let run = format!("rs-{salt:08x}");
        Drive {
            admin: Configuration {
                base_path: var("TOKENS_API_URL"),
                bearer_access_token: Some(var("TOKENS_TOKEN")),
                ..Configuration::default()
            },
            owner: format!("{run}-alice"),
            run,
        }
    }

    fn client(&self, secret: &str) -> Configuration {
        Configuration {
            bearer_access_token: Some(secret.into()),
            ..self.admin.clone()
        }
    }

    fn get(&self, id: impl ToString) -> Token {
        let id = id.to_string();
        ok(api::get_token(&self.admin, GetTokenParams { id }))
    }

    fn list(&self, params: ListTokensParams) -> TokenList {
        ok(api::list_tokens(&self.admin, params))
    }

    /// `pairs` and this run's `run` pair, which every token of the run carries.
    fn metadata(&self, pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .chain([&("run", self.run.as_str())])
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

/// Every field (expires_in_days in [`create_more`]) and an Idempotency-Key; `None` leaves a field
/// out, `Some(None)` sends null. Built once: a replay must send the very same body.
fn with_every_field(drive: &Drive) -> CreateTokenParams {
    CreateTokenParams {
        create_token: CreateToken {
            name: format!("{} deploy bot", drive.run),
            description: Some(Some("deploys the web app".into())),
            scopes: Some(Some(vec!["tokens:read".into(), "tokens:write".into()])),
            expires_at: Some(Some(at(30 * DAY))),
            expires_in_days: None,
            user_id: Some(Some(drive.owner.clone())),
            metadata: Some(Some(drive.metadata(&[("team", "infra")]))),
            allowed_ips: Some(Some(vec![
                IpBlock::Ipv4Block("127.0.0.1".into()),
                IpBlock::Ipv6Address("2001:db8::/32".into()),
            ])),
            rate_limit: Some(Some(Box::new(RateLimit::new(1000, 60)))),
            quota: Some(Some(Box::new(Quota::new(100_000, Period::Month)))),
        },
        idempotency_key: Some(format!("{}-create", drive.run)),
    }
}

fn create(drive: &Drive, request: &CreateTokenParams) -> CreatedToken {
    let created = ok(api::create_token(&drive.admin, request.clone()));
    check(
        created.secret.starts_with(&created.prefix) && created.prefix.starts_with("tkn_"),
        "secret and prefix",
    );
    check(
        created.user_id == drive.owner && created.status == Status::Active,
        "owner and status",
    );
    check(
        created.allowed_ips == ["127.0.0.1/32", "2001:db8::/32"],
        "allowed_ips normalised",
    );
    check(
        created.metadata == drive.metadata(&[("team", "infra")]),
        "metadata",
    );
    check(
        created.rate_limit == Some(Box::new(RateLimit::new(1000, 60)))
            && created.quota == Some(Box::new(Quota::new(100_000, Period::Month)))
            && created.quota_remaining == Some(100_000),
        "rate_limit, quota and quota_remaining",
    );
    step(format!(
        "create with every field and an Idempotency-Key: 201 {}, secret {}...",
        created.id, created.prefix
    ));
    created
}

/// The client does not expose `Idempotent-Replayed`; the same token and secret show the replay.
fn create_again(drive: &Drive, request: CreateTokenParams, created: &CreatedToken) {
    let replayed = ok(api::create_token(&drive.admin, request));
    check(
        (replayed.id, &replayed.secret) == (created.id, &created.secret),
        "a replay returns the same token and secret",
    );
    step("create again with the same Idempotency-Key: the same token and secret (headers not exposed)");
}

/// Four more of the same owner, two per team, a day apart: something to filter, sort and page.
fn create_more(drive: &Drive) -> Vec<CreatedToken> {
    let others: Vec<CreatedToken> = ["data", "infra", "data", "infra"]
        .iter()
        .enumerate()
        .map(|(i, team)| {
            let body = CreateToken {
                scopes: Some(Some(vec!["tokens:read".into()])),
                expires_in_days: Some(Some(i as i32 + 1)),
                user_id: Some(Some(drive.owner.clone())),
                metadata: Some(Some(drive.metadata(&[("team", team)]))),
                ..CreateToken::new(format!("{} batch {}", drive.run, i + 1))
            };
            let params = CreateTokenParams {
                create_token: body,
                idempotency_key: None,
            };
            ok(api::create_token(&drive.admin, params))
        })
        .collect();
    step(format!(
        "create {} more with expires_in_days (1..4 days)",
        others.len()
    ));
    others
}

fn self_with_new_secret(drive: &Drive, created: &CreatedToken) {
    let me: Token = ok(api::get_self(&drive.client(&created.secret)));
    check(
        me.id == created.id && me.last_used_ip.as_deref() == Some("127.0.0.1"),
        "self, its use recorded",
    );
    step("GET /tokens/self with the new secret: the same token, its use recorded");
}

/// `Token`, unlike `CreatedToken`, has no `secret` field: no answer after the first carries it.
fn get_as_created(drive: &Drive, created: &CreatedToken) {
    let got = drive.get(created.id);
    check(
        (&got.name, &got.scopes, &got.expires_at)
            == (&created.name, &created.scopes, &created.expires_at),
        "as created",
    );
    step("get: the token as created, without its secret");
}

fn list_with_every_filter(drive: &Drive, created: &CreatedToken) {
    let page = drive.list(ListTokensParams {
        status: Some(vec![Status::Active]),
        include_revoked: Some(false),
        user_id: Some(drive.owner.clone()),
        name: Some(drive.run.clone()),
        scope: Some("tokens:write".into()),
        metadata: Some(vec![format!("run={}", drive.run), "team=infra".into()]),
        created_after: Some(at(-60)),
        created_before: Some(at(3600)),
        expires_after: Some(at(29 * DAY)),
        expires_before: Some(at(31 * DAY)),
        last_used_after: Some(created.created_at.clone()),
        last_used_before: Some(at(3600)),
        sort: Some("created_at".into()),
        order: Some("desc".into()),
        limit: Some(10),
        include_total_count: Some(true),
        limited: Some(true),
        ..no_filter()
    });
    check(
        ids(&page.items) == [created.id.to_string()] && page.total == Some(Some(1)),
        "every filter: exactly the token",
    );
    step("list with every filter (status, include_revoked=false, user_id, name, scope, metadata, created/expires/last_used ranges, limited), sort, order, limit, total: exactly the token");
}

fn list_by_kind(drive: &Drive, created: &CreatedToken, others: &[CreatedToken]) {
    let page = drive.list(ListTokensParams {
        metadata: Some(vec![format!("run={}", drive.run), "team=data".into()]),
        user_id: Some(drive.owner.clone()),
        ..no_filter()
    });
    check(
        sorted(ids(&page.items))
            == sorted(vec![others[0].id.to_string(), others[2].id.to_string()]),
        "metadata=run=..&metadata=team=data",
    );
    let page = drive.list(ListTokensParams {
        token_ids: Some(vec![others[1].id, others[3].id]),
        ..no_filter()
    });
    check(
        sorted(ids(&page.items))
            == sorted(vec![others[1].id.to_string(), others[3].id.to_string()]),
        "token_ids",
    );
    let page = drive.list(ListTokensParams {
        status: Some(vec![Status::Active, Status::Expired]),
        name: Some(drive.run.clone()),
        sort: Some("expires_at".into()),
        order: Some("asc".into()),
        ..no_filter()
    });
    let expected: Vec<String> = others
        .iter()
        .chain([created])
        .map(|t| t.id.to_string())
        .collect();
    check(ids(&page.items) == expected, "sort=expires_at&order=asc");
    step("list by repeated metadata pairs, by token_ids, by two statuses sorted by expiry");
}

fn page_by_name(drive: &Drive, created: &CreatedToken, others: &[CreatedToken]) {
    let by_name = |cursor: Option<String>| ListTokensParams {
        user_id: Some(drive.owner.clone()),
        sort: Some("name".into()),
        order: Some("asc".into()),
        limit: Some(2),
        include_total_count: Some(true),
        cursor,
        ..no_filter()
    };
    let mut pages: Vec<Vec<String>> = vec![];
    let mut page = drive.list(by_name(None));
    loop {
        check(
            page.total == Some(Some(5)) && page.has_prev != pages.is_empty(),
            "page totals",
        );
        pages.push(page.items.iter().map(|t| t.name.clone()).collect());
        match page.next_cursor.take() {
            Some(cursor) => page = drive.list(by_name(Some(cursor))),
            None => break,
        }
    }
    let all = sorted(
        others
            .iter()
            .chain([created])
            .map(|t| t.name.clone())
            .collect(),
    );
    check(
        pages.concat() == all && pages.len() == 3,
        "forward pages in name order",
    );
    let mut back = vec![pages[2].clone()];
    while let Some(cursor) = page.prev_cursor.take() {
        page = drive.list(by_name(Some(cursor)));
        back.push(page.items.iter().map(|t| t.name.clone()).collect());
    }
    back.reverse();
    check(back == pages, "backward pages are the forward ones");
    step("page by name, 2 a page: forward with next_cursor, back with prev_cursor, total 5");
}

/// `Some(None)` sends null, which removes the description.
fn patch(drive: &Drive, created: &CreatedToken) {
    let params = UpdateTokenParams {
        id: created.id.to_string(),
        update_token: UpdateToken {
            name: Some(format!("{} deploy bot (eu)", drive.run)),
            description: Some(None),
            metadata: Some(Some(drive.metadata(&[("team", "infra"), ("region", "eu")]))),
            rate_limit: Some(Some(Box::new(RateLimit::new(500, 60)))),
            quota: None,
        },
    };
    let patched = ok(api::update_token(&drive.admin, params));
    check(
        patched.name.ends_with("(eu)")
            && patched.description.is_none()
            && patched.metadata["region"] == "eu"
            && patched.rate_limit == Some(Box::new(RateLimit::new(500, 60))),
        "patched",
    );
    step("patch (application/json): renamed, description removed, metadata replaced, rate limit lowered");
}

/// With a grace period, so that the old token still works; the same key and body twice.
fn rotate_twice(drive: &Drive, created: &CreatedToken) -> CreatedToken {
    let rotate = || RotateTokenParams {
        id: created.id.to_string(),
        idempotency_key: Some(format!("{}-rotate", drive.run)),
        rotate: Some(Rotate {
            grace_period_seconds: Some(Some(60)),
            expires_at: None,
            rate_limit: None,
            quota: None,
        }),
    };
    let rotated = ok(api::rotate_token(&drive.admin, rotate()));
    check(
        rotated.rotated_from == Some(created.id) && rotated.secret != created.secret,
        "a new token and secret",
    );
    check(
        ok(api::rotate_token(&drive.admin, rotate())).secret == rotated.secret,
        "a repeated rotation returns the same new token",
    );
    let old = drive.get(created.id);
    check(
        old.rotated_to == Some(rotated.id) && old.status == Status::Active,
        "the old token works through its grace period",
    );
    step("rotate with an Idempotency-Key, twice: one new token, the same secret both times");
    rotated
}

/// Then again with an empty body (`Some(Revoke::new())`: `None` goes out as `null`, which the
/// schema refuses): a revoked token answers with its first revocation.
fn revoke(drive: &Drive, rotated: &CreatedToken) {
    let revoke = |revoke| {
        let id = rotated.id.to_string();
        ok(api::revoke_token(
            &drive.admin,
            RevokeTokenParams { id, revoke },
        ))
    };
    let revoked = revoke(Some(Revoke {
        reason: Some(Some("laptop lost".into())),
    }));
    check(
        revoked.status == Status::Revoked
            && revoked.revocation_reason.as_deref() == Some("laptop lost"),
        "revoked with its reason",
    );
    check(
        revoke(Some(Revoke::new())) == revoked,
        "revoked again without a reason: the first revocation, unchanged",
    );
    step("revoke with a reason: status revoked");
}

/// With an empty body, as [`revoke`]. A deleted token is revoked, not erased.
fn delete(drive: &Drive, deleted: &CreatedToken, revoked: &CreatedToken) {
    let params = DeleteTokenParams {
        id: deleted.id.to_string(),
        revoke: Some(Revoke::new()),
    };
    ok(api::delete_token(&drive.admin, params));
    check(
        drive.get(deleted.id).status == Status::Revoked,
        "deleted = revoked, and kept",
    );
    let page = drive.list(ListTokensParams {
        user_id: Some(drive.owner.clone()),
        status: Some(vec![Status::Revoked]),
        include_total_count: Some(true),
        ..no_filter()
    });
    check(
        sorted(ids(&page.items)) == sorted(vec![revoked.id.to_string(), deleted.id.to_string()])
            && page.total == Some(Some(2)),
        "status=revoked",
    );
    let page = drive.list(ListTokensParams {
        user_id: Some(drive.owner.clone()),
        include_revoked: Some(true),
        include_total_count: Some(true),
        ..no_filter()
    });
    check(page.total == Some(Some(6)), "include_revoked=true");
    step("delete: 2xx, then read and listed as revoked");
}

fn not_found(drive: &Drive) {
    let missing = GetTokenParams {
        id: "00000000-0000-4000-8000-000000000000".into(),
    };
    let p = problem(
        api::get_token(&drive.admin, missing),
        404,
        "/problems/token-not-found",
    );
    step(format!("404 {}: {}", p.r#type, p.title));
}

/// The field error's `loc` is a `oneOf` of string and integer: each element its own variant.
fn invalid_scope(drive: &Drive) {
    let bad = CreateTokenParams {
        create_token: CreateToken {
            scopes: Some(Some(vec!["tokens:read".into(), "tokens:nope".into()])),
            ..CreateToken::new(drive.run.clone())
        },
        idempotency_key: None,
    };
    let p = problem(
        api::create_token(&drive.admin, bad),
        422,
        "/problems/validation-error",
    );
    let errors = p.errors.unwrap_or_default();
    let (text, index) = (FieldErrorLocInner::String, FieldErrorLocInner::Integer);
    check(
        errors.len() == 1
            && errors[0].loc == [text("body".into()), text("scopes".into()), index(1)]
            && errors[0].r#type == "unknown_scope",
        "the field error names body.scopes[1]",
    );
    step(format!(
        "422 {}: {:?} {}",
        p.r#type, errors[0].loc, errors[0].r#type
    ));
}

/// A well-formed secret that no token has.
fn unauthorized(drive: &Drive) {
    let stranger = drive.client(&format!("tkn_{}", "0".repeat(55)));
    let p = problem(
        api::list_tokens(&stranger, no_filter()),
        401,
        "/problems/unauthorized",
    );
    step(format!("401 {}: {}", p.r#type, p.detail));
}
