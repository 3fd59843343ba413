//! The scope matrix of `docs/scopes.md`, the creator ceilings, and tenant isolation.
//!
//! Each cell of the matrix is checked by its effect as well as its status: a success
//! shows exactly the tokens in the caller's reach, or writes exactly the items it should
//! (what the record and the credential say after it); a `403` or `404` writes nothing,
//! the whole table compared before and after.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use api_tokens::model::TokenItem;
use api_tokens::service::CreateInput;
use api_tokens::time;
use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::{App, Method, Reply};
use serde_json::{json, Value};

use crate::{ADMIN, USER};

/// One row of the matrix: route, target, and per column the caller's scopes and the status.
type Row = (String, String, Vec<(Vec<String>, u16)>);

/// The rows of the matrix in `docs/scopes.md`.
fn documented_matrix() -> Vec<Row> {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/scopes.md")).unwrap();
    let table = doc
        .split("<!-- matrix:start -->")
        .nth(1)
        .and_then(|t| t.split("<!-- matrix:end -->").next())
        .expect("the matrix markers");
    let cells = |line: &str| -> Vec<String> {
        line.trim()
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().trim_matches('`').to_string())
            .collect()
    };
    let mut lines = table.lines().filter(|l| l.starts_with('|'));
    let header = cells(lines.next().unwrap());
    let columns: Vec<Vec<String>> = header[2..]
        .iter()
        .map(|h| match h.as_str() {
            "other scopes only" => vec!["orders:read".to_string()],
            scopes => scopes.split_whitespace().map(str::to_string).collect(),
        })
        .collect();
    lines
        .skip(1)
        .map(|line| {
            let c = cells(line);
            let expected = c[2..]
                .iter()
                .zip(&columns)
                .map(|(status, scopes)| (scopes.clone(), status.parse().unwrap()))
                .collect();
            (c[0].clone(), c[1].clone(), expected)
        })
        .collect()
}

#[tokio::test]
async fn the_documented_matrix_holds_route_by_route() {
    let matrix = documented_matrix();
    assert_eq!(matrix.len(), 15, "every route, for own and others' tokens");
    let app = App::start().await;
    let mut failures = Vec::new();
    let mut cells = 0;
    for (route, target, expected) in &matrix {
        let (method, template) = route.split_once(' ').unwrap();
        let method: Method = method.parse().unwrap();
        let own = target == "own";
        for (scopes, status) in expected {
            let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
            cells += 1;
            let cell = Cell::new(&app, cells, &scopes, own).await;
            let mut path = template.replace("{id}", &cell.target);
            if template == "/tokens" && method == Method::GET && !own {
                path.push_str("?user_id=bob");
            }
            let body = match (method.as_str(), template) {
                ("POST", "/tokens") if own => Some(json!({"name": "new"})),
                ("POST", "/tokens") => Some(json!({"name": "new", "user_id": "bob"})),
                ("PATCH", _) => Some(json!({"name": "renamed"})),
                ("POST", _) => Some(json!({})),
                _ => None,
            };
            let before = Snapshot::of(&app).await;
            let r = app
                .call(method.clone(), &path, Some(&cell.caller), body)
                .await;
            let slug = match r.status {
                403 => "/problems/missing-scope",
                404 => "/problems/token-not-found",
                _ => "",
            };
            let cell_name = format!("{route} ({target}) with {scopes:?}");
            if r.status != *status || r.problem() != slug {
                failures.push(format!("{cell_name}: expected {status}, got {}", r.text));
                continue;
            }
            let after = Snapshot::of(&app).await;
            if let Err(e) = cell.effect(route, &r, &before, &after) {
                failures.push(format!("{cell_name}: {e}"));
            }
        }
    }
    assert_eq!(cells, 75);
    assert!(failures.is_empty(), "{failures:#?}");
}

/// One cell's world: a tenant of its own with the caller (alice, already used once, so
/// the call's own last-use write is behind it), the target (alice's or bob's), and beside
/// them a token of carol and one of bob in another tenant, which no answer may show.
struct Cell {
    tenant: String,
    caller: String,
    caller_id: String,
    target: String,
    owner: &'static str,
    carol: String,
    admin: bool,
}

impl Cell {
    async fn new(app: &App, n: usize, scopes: &[&str], own: bool) -> Self {
        let tenant = format!("cell{n}");
        let (caller_id, caller) = app
            .mint_with(&tenant, "alice", scopes, Default::default())
            .await;
        let owner = if own { "alice" } else { "bob" };
        let (target, _) = app.mint_with(&tenant, owner, &[], Default::default()).await;
        let (carol, _) = app
            .mint_with(&tenant, "carol", &[], Default::default())
            .await;
        app.mint_with(&format!("other{n}"), "bob", &[], Default::default())
            .await;
        assert_eq!(app.get("/tokens/self", &caller).await.status, 200);
        Self {
            tenant,
            caller,
            caller_id,
            target,
            owner,
            carol,
            admin: scopes.contains(&"tokens:admin"),
        }
    }

    /// What a cell's answer did: a refusal wrote nothing; a success read exactly the tokens
    /// in the caller's reach, or wrote exactly its own items (and its tenant's counters).
    fn effect(
        &self,
        route: &str,
        r: &Reply,
        before: &Snapshot,
        after: &Snapshot,
    ) -> Result<(), String> {
        let changed = before.changed(after);
        let counters = format!("COUNT#{}#", self.tenant);
        let written: BTreeSet<String> = changed
            .iter()
            .filter(|pk| !pk.starts_with(&counters))
            .cloned()
            .collect();
        if r.status >= 400 || route.starts_with("GET ") {
            if !changed.is_empty() {
                return Err(format!("wrote {changed:?}"));
            }
            if r.status >= 400 {
                return Ok(());
            }
        }
        let new_id = r.json["id"].as_str().unwrap_or_default().to_string();
        let token = |id: &str| format!("TOKEN#{id}");
        let cred = |id: &str| format!("CRED#{id}");
        let (expected, ok): (Vec<String>, Result<(), String>) = match route {
            "GET /tokens" => (vec![], self.listed(r)),
            "GET /tokens/self" => (vec![], same("id", &r.json["id"], &self.caller_id)),
            "GET /tokens/{id}" => (vec![], self.shown(r)),
            "POST /tokens" => (
                vec![token(&new_id), cred(&new_id)],
                self.created(after, &new_id),
            ),
            "PATCH /tokens/{id}" => (vec![token(&self.target)], self.renamed(after)),
            "POST /tokens/{id}/rotate" => (
                vec![
                    token(&self.target),
                    cred(&self.target),
                    token(&new_id),
                    cred(&new_id),
                ],
                self.rotated(after, &new_id),
            ),
            _ => (
                vec![token(&self.target), cred(&self.target)],
                self.revoked(after),
            ),
        };
        let expected: BTreeSet<String> = expected.into_iter().collect();
        if written != expected {
            return Err(format!("wrote {written:?}, expected {expected:?}"));
        }
        ok
    }

    /// A list shows exactly the tokens in reach: the caller's own (an admin's, its tenant's
    /// without `user_id`), or bob's with `user_id=bob`.
    fn listed(&self, r: &Reply) -> Result<(), String> {
        let ids: BTreeSet<String> = r.json["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| t["id"].as_str().unwrap_or_default().to_string())
            .collect();
        let expected: BTreeSet<String> = match (self.owner, self.admin) {
            ("bob", _) => [self.target.clone()].into(),
            (_, false) => [self.caller_id.clone(), self.target.clone()].into(),
            (_, true) => [&self.caller_id, &self.target, &self.carol]
                .map(String::clone)
                .into(),
        };
        if ids != expected {
            return Err(format!("listed {ids:?}, expected {expected:?}"));
        }
        Ok(())
    }

    fn shown(&self, r: &Reply) -> Result<(), String> {
        same("id", &r.json["id"], &self.target)?;
        same("user_id", &r.json["user_id"], self.owner)
    }

    /// A creation: a new active token of the owner asked for, by the caller, in its tenant.
    fn created(&self, after: &Snapshot, id: &str) -> Result<(), String> {
        let t = after.record(id)?;
        same_item(&t, &self.tenant, self.owner, "new")?;
        same("created_by", &json!(t.created_by), "alice")?;
        same("status", &json!(t.status.as_str()), "active")?;
        same("credential", &json!(after.credential_status(id)), "active")
    }

    fn renamed(&self, after: &Snapshot) -> Result<(), String> {
        let t = after.record(&self.target)?;
        same_item(&t, &self.tenant, self.owner, "renamed")?;
        same("updated_by", &json!(t.updated_by), "alice")
    }

    /// A rotation: the target retired at once (no grace period) and linked to a successor
    /// of the same owner.
    fn rotated(&self, after: &Snapshot, id: &str) -> Result<(), String> {
        let old = after.record(&self.target)?;
        let new = after.record(id)?;
        same(
            "rotated_to",
            &json!(old.rotated_to.map(|i| i.to_string())),
            id,
        )?;
        same(
            "rotated_from",
            &json!(new.rotated_from.map(|i| i.to_string())),
            &self.target,
        )?;
        same_item(&new, &self.tenant, self.owner, &old.name)?;
        same("credential", &json!(after.credential_status(id)), "active")?;
        self.revoked(after)
    }

    /// A revocation by the caller, on the record and on the credential verification reads.
    fn revoked(&self, after: &Snapshot) -> Result<(), String> {
        let t = after.record(&self.target)?;
        same("status", &json!(t.status.as_str()), "revoked")?;
        same("revoked_by", &json!(t.revoked_by), "alice")?;
        same(
            "credential",
            &json!(after.credential_status(&self.target)),
            "revoked",
        )
    }
}

/// `Err` naming `what` unless `value` is the string `expected`.
fn same(what: &str, value: &Value, expected: &str) -> Result<(), String> {
    match value.as_str() == Some(expected) {
        true => Ok(()),
        false => Err(format!("{what} is {value}, expected {expected:?}")),
    }
}

fn same_item(t: &TokenItem, tenant: &str, owner: &str, name: &str) -> Result<(), String> {
    same("tenant_id", &json!(t.tenant_id), tenant)?;
    same("user_id", &json!(t.user_id), owner)?;
    same("name", &json!(t.name), name)
}

/// Every item of the table, by key.
struct Snapshot(BTreeMap<String, HashMap<String, AttributeValue>>);

impl Snapshot {
    async fn of(app: &App) -> Self {
        let items = app.scan_all().await;
        let key = |i: &HashMap<String, AttributeValue>| match i.get("pk") {
            Some(AttributeValue::S(pk)) => pk.clone(),
            other => panic!("an item without a pk: {other:?}"),
        };
        Self(items.into_iter().map(|i| (key(&i), i)).collect())
    }

    /// Keys of the items added, removed or changed from `self` to `after`.
    fn changed(&self, after: &Snapshot) -> BTreeSet<String> {
        let keys = self.0.keys().chain(after.0.keys());
        keys.filter(|k| self.0.get(*k) != after.0.get(*k))
            .cloned()
            .collect()
    }

    fn record(&self, id: &str) -> Result<TokenItem, String> {
        let item = self
            .0
            .get(&format!("TOKEN#{id}"))
            .ok_or(format!("no record {id:?}"))?;
        serde_dynamo::from_item(item.clone()).map_err(|e| format!("record {id}: {e}"))
    }

    fn credential_status(&self, id: &str) -> Option<String> {
        match self.0.get(&format!("CRED#{id}"))?.get("status")? {
            AttributeValue::S(s) => Some(s.clone()),
            _ => None,
        }
    }
}

fn without_instance(r: &Reply) -> Value {
    let mut body = r.json.clone();
    body.as_object_mut().unwrap().remove("instance");
    body
}

#[tokio::test]
async fn every_cross_tenant_attempt_reads_as_nonexistent() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let (victim, victim_secret) = app
        .mint_with("acme", "alice", USER, Default::default())
        .await;
    let intruder = app.mint("globex", "root", ADMIN).await;
    let unknown = uuid::Uuid::now_v7();
    let before = app.get(&format!("/tokens/{victim}"), &alice).await.json;

    // Ids in paths.
    assert_every_route_answers_as_for_an_unknown_id(&app, &intruder, &victim, unknown).await;
    assert_eq!(
        app.get(&format!("/tokens/{victim}"), &alice).await.json,
        before,
        "untouched"
    );
    assert_eq!(app.get("/tokens/self", &victim_secret).await.status, 200);

    // Ids in token_ids, and users of the other tenant.
    for query in [
        format!("token_ids={victim}"),
        format!("token_ids={unknown}"),
        "user_id=alice&include_total_count=true".to_string(),
        "user_id=nobody&include_total_count=true".to_string(),
    ] {
        let r = app.get(&format!("/tokens?{query}"), &intruder).await;
        assert_eq!(r.status, 200, "{query}: {}", r.text);
        assert_eq!(r.json["items"], json!([]), "{query}");
        assert!(r.json["total"].is_null() || r.json["total"] == 0, "{query}");
    }

    // Cursors.
    let page = app.get("/tokens?limit=1", &alice).await;
    let cursor = page.json["next_cursor"].as_str().unwrap().to_string();
    let foreign = app
        .get(&format!("/tokens?limit=1&cursor={cursor}"), &intruder)
        .await;
    let forged: String = cursor
        .chars()
        .map(|c| if c == 'A' { 'B' } else { 'A' })
        .collect();
    let made_up = app
        .get(&format!("/tokens?limit=1&cursor={forged}"), &intruder)
        .await;
    foreign.assert_problem(400, "invalid-cursor");
    assert_eq!(without_instance(&foreign), without_instance(&made_up));

    // Tokens: an altered secret naming the victim's id is refused like an unknown token.
    let rng = ring::rand::SystemRandom::new();
    let id = |s: &str| s.parse().unwrap();
    let altered = api_tokens::secret::generate("tkn", id(&victim), &rng);
    let stranger = api_tokens::secret::generate("tkn", unknown, &rng);
    let a = app.get("/tokens/self", altered.expose()).await;
    let b = app.get("/tokens/self", stranger.expose()).await;
    a.assert_problem(401, "unauthorized");
    assert_eq!(without_instance(&a), without_instance(&b));
}

/// Every route taking an id answers `intruder` for `victim` exactly as for an `unknown` id.
async fn assert_every_route_answers_as_for_an_unknown_id(
    app: &App,
    intruder: &str,
    victim: &str,
    unknown: uuid::Uuid,
) {
    for (method, suffix, body) in [
        (Method::GET, "", None),
        (Method::PATCH, "", Some(json!({"name": "pwned"}))),
        (Method::POST, "/rotate", Some(json!({}))),
        (Method::POST, "/revoke", Some(json!({}))),
        (Method::DELETE, "", None),
    ] {
        let foreign = app
            .call(
                method.clone(),
                &format!("/tokens/{victim}{suffix}"),
                Some(intruder),
                body.clone(),
            )
            .await;
        let missing = app
            .call(
                method.clone(),
                &format!("/tokens/{unknown}{suffix}"),
                Some(intruder),
                body,
            )
            .await;
        foreign.assert_problem(404, "token-not-found");
        assert_eq!(without_instance(&foreign), without_instance(&missing));
    }
}

#[tokio::test]
async fn a_token_never_creates_a_token_that_outlives_it() {
    let app = App::start().await;
    let expiry = time::now() + chrono::Duration::days(1);
    let (_, caller) = app
        .mint_with(
            "acme",
            "alice",
            USER,
            CreateInput {
                expires_at: Some(expiry),
                ..Default::default()
            },
        )
        .await;
    let r = app
        .post(
            "/tokens",
            &caller,
            json!({"name": "x", "expires_in_days": 30}),
        )
        .await;
    r.assert_problem(403, "forbidden");
    let detail = r.json["detail"].as_str().unwrap();
    assert!(
        detail.contains("expires_at") && detail.contains(&time::format(&expiry)),
        "{detail}"
    );

    let forever = app.post("/tokens", &caller, json!({"name": "x"})).await;
    assert_eq!(forever.status, 201);
    assert_eq!(
        forever.json["expires_at"],
        time::format(&expiry),
        "no expiry asked: the caller's"
    );
    let sooner = time::now() + chrono::Duration::hours(1);
    let r = app
        .post(
            "/tokens",
            &caller,
            json!({"name": "x", "expires_at": time::format(&sooner)}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json["expires_at"], time::format(&sooner));

    // A rotation keeps the old lifetime (30 days here), capped at the caller's expiry.
    let (long, _) = app
        .mint_with(
            "acme",
            "alice",
            USER,
            CreateInput {
                expires_at: Some(time::now() + chrono::Duration::days(30)),
                ..Default::default()
            },
        )
        .await;
    let path = format!("/tokens/{long}/rotate");
    app.post(
        &path,
        &caller,
        json!({"expires_at": "2031-01-01T00:00:00Z"}),
    )
    .await
    .assert_problem(403, "forbidden");
    let rotated = app.post(&path, &caller, json!({})).await;
    assert_eq!(rotated.status, 201, "{}", rotated.text);
    assert_eq!(rotated.json["expires_at"], time::format(&expiry));
    assert_eq!(app.records().await.len(), 5, "nothing refused was minted");
}

#[tokio::test]
async fn a_token_never_grants_or_rotates_scopes_it_lacks() {
    let app = App::start().await;
    let admin_only = app.mint("acme", "root", &["tokens:admin"]).await;
    let r = app
        .post(
            "/tokens",
            &admin_only,
            json!({"name": "x", "scopes": ["orders:read"]}),
        )
        .await;
    r.assert_problem(403, "forbidden");
    assert!(r.json["detail"].as_str().unwrap().contains("orders:read"));
    let (wider, _) = app
        .mint_with("acme", "alice", &["orders:read"], Default::default())
        .await;
    app.post(&format!("/tokens/{wider}/rotate"), &admin_only, json!({}))
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(app.records().await.len(), 2);
}
