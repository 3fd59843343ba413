//! Load: 32 concurrent clients, each on its own HTTP connection, send 10,000 mixed create,
//! list, revoke and verify requests to the dev server over DynamoDB Local, across four
//! tenants and many users. Every answer's status is what that operation expects (so zero
//! 5xx), and each client's lists of its own tokens match its ledger exactly while the others
//! write. Afterwards a full cursor walk of each tenant lists every created token exactly once
//! with its status, and the counters equal the real counts. Throughput and p50/p99 latency
//! per operation are printed (`--nocapture`).
//!
//! A test binary of its own, so it does not share DynamoDB Local with the spec's tests.
//! `LOAD_CLIENTS`, `LOAD_OPS` and `LOAD_SEED` change its size and its choices.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use api_tokens::service::CreateInput;
use integration_tests::{App, HttpClient, Method, Reply};
use serde_json::{json, Value};

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

/// splitmix64: a small deterministic generator, so a failing run can be repeated by seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The kinds of operation timed separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Kind {
    /// `POST /tokens`.
    Create,
    /// `POST /tokens` again with the same `Idempotency-Key`.
    CreateReplay,
    /// One `GET /tokens` page.
    List,
    /// `POST /tokens/{id}/revoke` or `DELETE /tokens/{id}` of an active token.
    Revoke,
    /// `POST /tokens/{id}/revoke` of a token already revoked.
    Rerevoke,
    /// `GET /tokens/self` with an active token's secret: 200.
    VerifyActive,
    /// `GET /tokens/self` with a revoked token's secret: 401.
    VerifyRevoked,
}

/// One token a client created (or was given), as the client believes it is.
#[derive(Debug, Clone)]
struct Tok {
    id: String,
    secret: String,
    tenant: &'static str,
    owner: String,
    name: String,
    revoked: bool,
    revocation_reason: Option<String>,
}

/// What one client did and saw.
#[derive(Default)]
struct Outcome {
    ledger: Vec<Tok>,
    timings: HashMap<Kind, Vec<Duration>>,
    statuses: BTreeMap<(Kind, u16), usize>,
    failures: Vec<String>,
    ops: usize,
}

struct Client {
    index: usize,
    addr: SocketAddr,
    http: HttpClient,
    rng: Rng,
    tenant: &'static str,
    admin: bool,
    /// Bearer secret of the client's own (bootstrap) token.
    me: String,
    /// Whose tokens this client creates: itself, or (admin) service users only it writes to.
    owners: Vec<String>,
    quota: usize,
    out: Outcome,
    created: usize,
}

impl Client {
    async fn send(
        &mut self,
        kind: Kind,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
        extra: &[(&str, &str)],
    ) -> Reply {
        let auth = format!("Bearer {token}");
        let mut headers = vec![("authorization", auth.as_str())];
        headers.extend_from_slice(extra);
        let bytes = match &body {
            Some(b) => {
                headers.push(("content-type", "application/json"));
                serde_json::to_vec(b).unwrap()
            }
            None => Vec::new(),
        };
        let started = Instant::now();
        let reply = self
            .http
            .send(self.addr, method.clone(), path, &headers, bytes)
            .await;
        let took = started.elapsed();
        self.out.ops += 1;
        self.out.timings.entry(kind).or_default().push(took);
        *self.out.statuses.entry((kind, reply.status)).or_default() += 1;
        reply
    }

    /// Records a failure unless `reply` has status `want`; true when it has.
    fn expect(&mut self, what: &str, reply: &Reply, want: u16) -> bool {
        if reply.status == want {
            return true;
        }
        self.fail(format!(
            "{what}: expected {want}, got {} {}",
            reply.status,
            reply.text.chars().take(400).collect::<String>()
        ));
        false
    }

    fn fail(&mut self, message: String) {
        self.out.failures.push(format!(
            "client {} ({}): {message}",
            self.index, self.tenant
        ));
    }

    async fn run(mut self) -> Outcome {
        while self.out.ops < self.quota {
            let live = self.out.ledger.iter().filter(|t| !t.revoked).count();
            let roll = self.rng.below(100);
            // Verification dominates, as it does for a token service (and writes are what
            // DynamoDB Local spends its CPU on); the ledger always holds a token to verify
            // (the bootstrap token, or an admin's first creation). About 8% create, 64%
            // verify, 22% list, 6% revoke.
            match roll {
                0..8 => self.create().await,
                8..72 => self.verify().await,
                72..94 => self.list().await,
                _ if live > 2 => self.revoke().await,
                _ => self.create().await,
            }
        }
        self.out
    }

    async fn create(&mut self) {
        self.created += 1;
        let n = self.created;
        let owner = self.owners[self.rng.below(self.owners.len())].clone();
        let name = format!(
            "{}-c{}-{n}",
            NAME_KINDS[self.rng.below(NAME_KINDS.len())],
            self.index
        );
        let scopes: Vec<&str> = match self.rng.below(3) {
            0 => vec![],
            1 => vec!["tokens:read"],
            _ => USER_SCOPES.to_vec(),
        };
        let parity = ["even", "odd"][n % 2];
        let mut body = json!({
            "name": name,
            "scopes": scopes,
            "metadata": {"client": format!("c{}", self.index), "parity": parity},
        });
        if self.admin {
            body["user_id"] = json!(owner);
        }
        if self.rng.below(2) == 0 {
            body["expires_in_days"] = json!(1 + self.rng.below(365));
        }
        let keyed = self.rng.below(8) == 0;
        let key = format!("load-c{}-{n}", self.index);
        let extra: &[(&str, &str)] = if keyed {
            &[("idempotency-key", &key)]
        } else {
            &[]
        };
        let me = self.me.clone();
        let r = self
            .send(
                Kind::Create,
                Method::POST,
                "/tokens",
                &me,
                Some(body.clone()),
                extra,
            )
            .await;
        if !self.expect("create", &r, 201) {
            return;
        }
        let id = r.json["id"].as_str().unwrap_or_default().to_string();
        let secret = r.json["secret"].as_str().unwrap_or_default().to_string();
        if id.is_empty()
            || secret.is_empty()
            || r.json["status"] != "active"
            || r.json["user_id"] != owner.as_str()
            || r.header("location") != format!("/tokens/{id}")
        {
            self.fail(format!("create answered {}", r.text));
            return;
        }
        if keyed {
            let again = self
                .send(
                    Kind::CreateReplay,
                    Method::POST,
                    "/tokens",
                    &me,
                    Some(body),
                    extra,
                )
                .await;
            if self.expect("create replay", &again, 201)
                && (again.json["id"] != id.as_str()
                    || again.json["secret"] != secret.as_str()
                    || again.header("idempotent-replayed") != "true")
            {
                self.fail(format!("replay minted another token: {}", again.text));
            }
        }
        self.out.ledger.push(Tok {
            id,
            secret,
            tenant: self.tenant,
            owner,
            name,
            revoked: false,
            revocation_reason: None,
        });
    }

    async fn verify(&mut self) {
        // Mostly recent tokens (the ones a real client just made), some old ones.
        let len = self.out.ledger.len();
        let i = if self.rng.below(2) == 0 {
            len - 1 - self.rng.below(len.min(5))
        } else {
            self.rng.below(len)
        };
        let t = self.out.ledger[i].clone();
        let kind = if t.revoked {
            Kind::VerifyRevoked
        } else {
            Kind::VerifyActive
        };
        let r = self
            .send(kind, Method::GET, "/tokens/self", &t.secret, None, &[])
            .await;
        if t.revoked {
            if self.expect("verify a revoked token", &r, 401)
                && r.problem() != "/problems/unauthorized"
            {
                self.fail(format!("revoked token refused with {}", r.text));
            }
        } else if self.expect("verify an active token", &r, 200)
            && (r.json["id"] != t.id.as_str() || r.json["status"] != "active")
        {
            self.fail(format!("verify of {} answered {}", t.id, r.text));
        }
    }

    async fn revoke(&mut self) {
        let me = self.me.clone();
        let revoked: Vec<usize> = (0..self.out.ledger.len())
            .filter(|&i| self.out.ledger[i].revoked)
            .collect();
        if !revoked.is_empty() && self.rng.below(10) == 0 {
            // Revoking again changes nothing and answers the first revocation.
            let t = self.out.ledger[revoked[self.rng.below(revoked.len())]].clone();
            let path = format!("/tokens/{}/revoke", t.id);
            let r = self
                .send(
                    Kind::Rerevoke,
                    Method::POST,
                    &path,
                    &me,
                    Some(json!({"reason": "again"})),
                    &[],
                )
                .await;
            if self.expect("revoke again", &r, 200)
                && (r.json["status"] != "revoked"
                    || r.json["revocation_reason"].as_str() != t.revocation_reason.as_deref())
            {
                self.fail(format!("second revocation changed the token: {}", r.text));
            }
            return;
        }
        // Never the client's own bootstrap token (index 0): it keeps calling.
        let live: Vec<usize> = (1..self.out.ledger.len())
            .filter(|&i| !self.out.ledger[i].revoked)
            .collect();
        let i = live[self.rng.below(live.len())];
        let id = self.out.ledger[i].id.clone();
        let reason = if self.rng.below(2) == 0 {
            let r = self
                .send(
                    Kind::Revoke,
                    Method::DELETE,
                    &format!("/tokens/{id}"),
                    &me,
                    None,
                    &[],
                )
                .await;
            if !self.expect("delete", &r, 204) {
                return;
            }
            None
        } else {
            let reason = format!("load {}", self.rng.below(1000));
            let r = self
                .send(
                    Kind::Revoke,
                    Method::POST,
                    &format!("/tokens/{id}/revoke"),
                    &me,
                    Some(json!({ "reason": reason })),
                    &[],
                )
                .await;
            if !self.expect("revoke", &r, 200) {
                return;
            }
            if r.json["status"] != "revoked" || r.json["revocation_reason"] != reason.as_str() {
                self.fail(format!("revoke answered {}", r.text));
            }
            Some(reason)
        };
        let t = &mut self.out.ledger[i];
        t.revoked = true;
        t.revocation_reason = reason;
    }

    /// Follows `next_cursor` from `query` to the end (every page one operation); `None` if a
    /// page failed (already recorded).
    async fn walk(&mut self, query: &str, max_pages: usize) -> Option<Vec<Value>> {
        let me = self.me.clone();
        let mut items = Vec::new();
        let mut path = format!("/tokens?{query}");
        for _ in 0..max_pages {
            let r = self
                .send(Kind::List, Method::GET, &path, &me, None, &[])
                .await;
            if !self.expect(&format!("list {path}"), &r, 200) {
                return None;
            }
            items.extend(r.json["items"].as_array().cloned().unwrap_or_default());
            match r.json["next_cursor"].as_str() {
                Some(c) => path = format!("/tokens?{query}&cursor={c}"),
                None => break,
            }
        }
        Some(items)
    }

    /// Checks that a walk listed exactly `want` (ids), each once, with the right status.
    fn compare(&mut self, what: &str, got: &[Value], want: &[Tok]) {
        let mut seen = HashSet::new();
        for item in got {
            let id = item["id"].as_str().unwrap_or_default();
            if !seen.insert(id.to_string()) {
                self.fail(format!("{what}: {id} listed twice"));
            }
        }
        let expected: HashMap<&str, &Tok> = want.iter().map(|t| (t.id.as_str(), t)).collect();
        let extra: Vec<&str> = seen
            .iter()
            .map(String::as_str)
            .filter(|id| !expected.contains_key(id))
            .collect();
        let missing: Vec<&str> = expected
            .keys()
            .copied()
            .filter(|id| !seen.contains(*id))
            .collect();
        if !extra.is_empty() || !missing.is_empty() {
            self.fail(format!(
                "{what}: listed {} tokens, ledger has {}; unexpected {extra:?}, missing {missing:?}",
                got.len(),
                want.len()
            ));
        }
        for item in got {
            let id = item["id"].as_str().unwrap_or_default();
            if let Some(t) = expected.get(id) {
                let status = if t.revoked { "revoked" } else { "active" };
                if item["status"] != status {
                    self.fail(format!(
                        "{what}: {id} is {}, expected {status}",
                        item["status"]
                    ));
                }
            }
        }
    }

    async fn list(&mut self) {
        let owner = self.owners[self.rng.below(self.owners.len())].clone();
        let mine: Vec<Tok> = self
            .out
            .ledger
            .iter()
            .filter(|t| t.owner == owner)
            .cloned()
            .collect();
        // An admin names the owner; a user lists its own tokens by default.
        let of = if self.admin {
            format!("user_id={owner}&")
        } else {
            String::new()
        };
        match self.rng.below(8) {
            0 | 1 => {
                // Every token of the owner, small pages: exactly the ledger.
                let limit = 10 + self.rng.below(40);
                let q = format!("{of}include_revoked=true&limit={limit}");
                if let Some(got) = self.walk(&q, usize::MAX).await {
                    self.compare(&format!("walk {q}"), &got, &mine);
                }
            }
            2 => {
                let q = format!("{of}status=active&limit={}", 5 + self.rng.below(30));
                let want: Vec<Tok> = mine.iter().filter(|t| !t.revoked).cloned().collect();
                if let Some(got) = self.walk(&q, usize::MAX).await {
                    self.compare(&format!("walk {q}"), &got, &want);
                }
            }
            3 => {
                // Case-insensitive name filter (not a key condition), sorted by name.
                let kind = NAME_KINDS[self.rng.below(NAME_KINDS.len())];
                let q = format!(
                    "{of}name={}&sort=name&order=asc&limit=25",
                    kind.to_uppercase()
                );
                let want: Vec<Tok> = mine
                    .iter()
                    .filter(|t| !t.revoked && t.name.starts_with(kind))
                    .cloned()
                    .collect();
                if let Some(got) = self.walk(&q, usize::MAX).await {
                    self.compare(&format!("walk {q}"), &got, &want);
                }
            }
            4 => {
                // Counters while others write: exact for this owner (only this client
                // writes its tokens).
                let (status, want) = match self.rng.below(2) {
                    0 => ("active", mine.iter().filter(|t| !t.revoked).count()),
                    _ => ("revoked", mine.iter().filter(|t| t.revoked).count()),
                };
                let q = format!("{of}status={status}&include_total_count=true&limit=1");
                let me = self.me.clone();
                let path = format!("/tokens?{q}");
                let r = self
                    .send(Kind::List, Method::GET, &path, &me, None, &[])
                    .await;
                if self.expect(&path, &r, 200) && r.json["total"] != want {
                    self.fail(format!("{path}: total {}, ledger {want}", r.json["total"]));
                }
            }
            5 if self.admin => {
                // The whole tenant while every client writes: no page repeats a token, and
                // each has the status asked for.
                let q = format!("status=active&limit={}", 50 + self.rng.below(150));
                if let Some(got) = self.walk(&q, 3).await {
                    let mut seen = HashSet::new();
                    for item in &got {
                        if item["status"] != "active" || !seen.insert(item["id"].clone()) {
                            self.fail(format!("walk {q}: {item}"));
                        }
                    }
                }
            }
            _ => {
                // Other sorts and filters: every item matches.
                let (q, check): (String, fn(&Value) -> bool) = match self.rng.below(3) {
                    0 => (
                        format!("{of}scope=tokens:write&include_revoked=true&limit=20"),
                        |v| {
                            v["scopes"]
                                .as_array()
                                .is_some_and(|s| s.iter().any(|s| s == "tokens:write"))
                        },
                    ),
                    1 => (
                        format!("{of}metadata.parity=odd&sort=expires_at&order=asc&limit=20"),
                        |v| v["metadata"]["parity"] == "odd" && v["status"] == "active",
                    ),
                    _ => (
                        format!("{of}status=revoked&sort=last_used_at&limit=20"),
                        |v| v["status"] == "revoked",
                    ),
                };
                if let Some(got) = self.walk(&q, 2).await {
                    for item in &got {
                        if !check(item) || item["user_id"] != owner.as_str() {
                            self.fail(format!("{q}: listed {item}"));
                        }
                    }
                }
            }
        }
    }
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() - 1) * p / 100]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// Every page of `query` in `tenant`, walked forwards and then back from the last page by
/// `prev_cursor`: (forward items, backward items, pages).
async fn audit_walk(app: &App, admin: &str, query: &str) -> (Vec<Value>, Vec<Value>, usize) {
    let mut forward = Vec::new();
    let mut pages = 0;
    let mut path = format!("/tokens?{query}");
    let last = loop {
        let r = app.get(&path, admin).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        pages += 1;
        forward.extend(r.json["items"].as_array().unwrap().iter().cloned());
        match r.json["next_cursor"].as_str() {
            Some(c) => path = format!("/tokens?{query}&cursor={c}"),
            None => break r,
        }
    };
    let mut backward: Vec<Value> = last.json["items"].as_array().unwrap().clone();
    let mut prev = last.json["prev_cursor"].as_str().map(str::to_string);
    while let Some(c) = prev {
        let r = app.get(&format!("/tokens?{query}&cursor={c}"), admin).await;
        assert_eq!(r.status, 200, "{}", r.text);
        pages += 1;
        let mut page = r.json["items"].as_array().unwrap().clone();
        page.extend(backward);
        backward = page;
        prev = r.json["prev_cursor"].as_str().map(str::to_string);
    }
    (forward, backward, pages)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_clients_doing_ten_thousand_mixed_operations_leave_exact_lists_and_counters() {
    let clients = env_or("LOAD_CLIENTS", 32) as usize;
    let total_ops = env_or("LOAD_OPS", 10_000) as usize;
    let seed = env_or("LOAD_SEED", 0x10ad);
    let app = App::start().await;

    // Each client's own token, minted directly: a user token for its own user, or an admin
    // token that writes only to service users of its own.
    let mut ledger: Vec<Tok> = Vec::new();
    let mut runners = Vec::new();
    for index in 0..clients {
        let tenant = TENANTS[index % TENANTS.len()];
        let admin = (index / TENANTS.len()) % 4 == 3;
        let user = if admin {
            format!("admin-{index}")
        } else {
            format!("user-{index}")
        };
        let name = format!("bootstrap-c{index}");
        let (id, secret) = app
            .mint_with(
                tenant,
                &user,
                if admin { ADMIN_SCOPES } else { USER_SCOPES },
                CreateInput {
                    name: name.clone(),
                    ..CreateInput::default()
                },
            )
            .await;
        let me = Tok {
            id,
            secret: secret.clone(),
            tenant,
            owner: user.clone(),
            name,
            revoked: false,
            revocation_reason: None,
        };
        let owners = if admin {
            vec![format!("svc-{index}-a"), format!("svc-{index}-b")]
        } else {
            vec![user]
        };
        let out = Outcome {
            // An admin's own token is not among the tokens it lists by owner.
            ledger: if admin { vec![] } else { vec![me.clone()] },
            ..Outcome::default()
        };
        if admin {
            ledger.push(me.clone());
        }
        runners.push(Client {
            index,
            addr: app.addr,
            http: HttpClient::new(),
            rng: Rng(seed ^ (index as u64).wrapping_mul(0x2545_f491_4f6c_dd1d)),
            tenant,
            admin,
            me: me.secret,
            owners,
            quota: total_ops / clients + usize::from(index < total_ops % clients),
            out,
            created: 0,
        });
    }
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

    let mut timings: BTreeMap<Kind, Vec<Duration>> = BTreeMap::new();
    let mut statuses: BTreeMap<(Kind, u16), usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut ops = 0;
    for o in outcomes {
        ops += o.ops;
        ledger.extend(o.ledger);
        for (k, v) in o.timings {
            timings.entry(k).or_default().extend(v);
        }
        for (k, n) in o.statuses {
            *statuses.entry(k).or_default() += n;
        }
        failures.extend(o.failures);
    }

    eprintln!(
        "load: {clients} clients, {ops} operations in {:.1} s = {:.0} ops/s ({dynamodb_requests} DynamoDB requests, seed {seed:#x})",
        took.as_secs_f64(),
        ops as f64 / took.as_secs_f64()
    );
    eprintln!("  operation        count    p50 ms   p99 ms   max ms");
    for (kind, mut v) in timings {
        v.sort();
        eprintln!(
            "  {:<15} {:>6}  {:>7}  {:>7}  {:>7}",
            format!("{kind:?}"),
            v.len(),
            ms(percentile(&v, 50)),
            ms(percentile(&v, 99)),
            ms(*v.last().unwrap())
        );
    }
    eprintln!("  statuses: {statuses:?}");
    let server_errors: usize = statuses
        .iter()
        .filter(|((_, s), _)| *s >= 500)
        .map(|(_, n)| n)
        .sum();
    for f in failures.iter().take(20) {
        eprintln!("  FAILED {f}");
    }
    assert!(ops >= total_ops, "{ops} operations");
    assert_eq!(server_errors, 0, "5xx answers: {statuses:?}");
    assert!(
        failures.is_empty(),
        "{} unexpected answers, first: {}",
        failures.len(),
        failures[0]
    );

    // An auditor per tenant (an admin token of its own, in the ledger like every token).
    let tenants: Vec<&'static str> = TENANTS.iter().copied().take(clients).collect();
    let mut auditors = HashMap::new();
    for tenant in &tenants {
        let (id, secret) = app
            .mint_with(
                tenant,
                "auditor",
                ADMIN_SCOPES,
                CreateInput {
                    name: "auditor".into(),
                    ..CreateInput::default()
                },
            )
            .await;
        auditors.insert(*tenant, secret.clone());
        ledger.push(Tok {
            id,
            secret,
            tenant,
            owner: "auditor".into(),
            name: "auditor".into(),
            revoked: false,
            revocation_reason: None,
        });
    }

    // (a) Each tenant walked whole, every status: each token once, with its status, and the
    // walk back from the last page by `prev_cursor` lists the same sequence.
    let audit_started = Instant::now();
    let mut audit_pages = 0;
    for tenant in &tenants {
        let admin = auditors[tenant].clone();
        let want: HashMap<&str, &Tok> = ledger
            .iter()
            .filter(|t| t.tenant == *tenant)
            .map(|t| (t.id.as_str(), t))
            .collect();
        for query in [
            "include_revoked=true&limit=97",
            "status=active,revoked&sort=name&order=asc&limit=250",
        ] {
            let (forward, backward, pages) = audit_walk(&app, &admin, query).await;
            audit_pages += pages;
            let ids = |items: &[Value]| -> Vec<String> {
                items
                    .iter()
                    .map(|i| i["id"].as_str().unwrap().to_string())
                    .collect()
            };
            assert_eq!(
                ids(&forward),
                ids(&backward),
                "{tenant} {query}: the walk back lists the same tokens"
            );
            let mut seen = HashSet::new();
            for item in &forward {
                let id = item["id"].as_str().unwrap();
                assert!(seen.insert(id), "{tenant} {query}: {id} listed twice");
                let t = want
                    .get(id)
                    .unwrap_or_else(|| panic!("{tenant} {query}: {id} is not a token of {tenant}"));
                let status = if t.revoked { "revoked" } else { "active" };
                assert_eq!(item["status"], status, "{tenant} {query}: {id}");
                assert_eq!(item["user_id"], t.owner.as_str());
            }
            assert_eq!(
                seen.len(),
                want.len(),
                "{tenant} {query}: every created token is listed"
            );
        }
    }

    // (b) The counters against the ledger, per tenant and per owner, and the ledger against
    // the table itself.
    let records = app.records().await;
    let stored: HashMap<String, &api_tokens::model::TokenItem> =
        records.iter().map(|r| (r.id.to_string(), r)).collect();
    assert_eq!(
        stored.len(),
        ledger.len(),
        "the table holds exactly the tokens created"
    );
    for t in &ledger {
        let r = stored[&t.id];
        assert_eq!(
            (
                r.tenant_id.as_str(),
                r.user_id.as_str(),
                r.revoked_at.is_some()
            ),
            (t.tenant, t.owner.as_str(), t.revoked),
            "stored record of {}",
            t.id
        );
    }
    let mut counted = 0;
    let mut owners: BTreeMap<(&str, &str), (usize, usize)> = BTreeMap::new();
    for t in &ledger {
        let e = owners.entry((t.tenant, t.owner.as_str())).or_default();
        if t.revoked {
            e.1 += 1;
        } else {
            e.0 += 1;
        }
    }
    for tenant in &tenants {
        let admin = auditors[tenant].clone();
        let total = |query: String| {
            let app = &app;
            let admin = admin.clone();
            async move {
                let r = app
                    .get(
                        &format!("/tokens?{query}&include_total_count=true&limit=1"),
                        &admin,
                    )
                    .await;
                assert_eq!(r.status, 200, "{}", r.text);
                assert_eq!(r.json["total_capped"], false);
                r.json["total"].as_u64().unwrap() as usize
            }
        };
        let (active, revoked) = owners
            .iter()
            .filter(|((t, _), _)| t == tenant)
            .fold((0, 0), |(a, r), (_, (x, y))| (a + x, r + y));
        assert_eq!(
            total("status=active".into()).await,
            active,
            "{tenant} active"
        );
        assert_eq!(
            total("status=revoked".into()).await,
            revoked,
            "{tenant} revoked"
        );
        assert_eq!(
            total("include_revoked=true".into()).await,
            active + revoked,
            "{tenant} all"
        );
        counted += 3;
        for ((_, owner), (a, r)) in owners.iter().filter(|((t, _), _)| t == tenant) {
            assert_eq!(total(format!("user_id={owner}&status=active")).await, *a);
            assert_eq!(total(format!("user_id={owner}&status=revoked")).await, *r);
            counted += 2;
        }
    }
    let revoked = ledger.iter().filter(|t| t.revoked).count();
    eprintln!(
        "  afterwards: {} tokens ({} active, {revoked} revoked) each listed once in {audit_pages} pages \
         (forward and back, two orders); {counted} totals equal the ledger and the table; {:.1} s",
        ledger.len(),
        ledger.len() - revoked,
        audit_started.elapsed().as_secs_f64()
    );
}
