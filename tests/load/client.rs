//! One load client: its own connection, token and generator, the ledger of the tokens it
//! made, and the create, verify and revoke operations it draws (its lists are in `lists.rs`).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use api_tokens::service::CreateInput;
use integration_tests::{App, HttpClient, Method, Reply};
use serde_json::{json, Value};

use crate::{ADMIN_SCOPES, NAME_KINDS, TENANTS, USER_SCOPES};

/// splitmix64: a small deterministic generator, so a failing run can be repeated by seed.
pub(crate) struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The kinds of operation timed separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Kind {
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
    /// `GET /tokens/self` with the secret of a token whose revocation answered 503 (only
    /// under faults): 200 or 401.
    VerifyUncertain,
}

/// One token a client created (or was given), as the client believes it is.
#[derive(Debug, Clone)]
pub(crate) struct Tok {
    pub(crate) id: String,
    pub(crate) secret: String,
    pub(crate) tenant: &'static str,
    pub(crate) owner: String,
    pub(crate) name: String,
    pub(crate) revoked: bool,
    pub(crate) revocation_reason: Option<String>,
    /// A revocation of it answered 503: revoked or not, the table says after the run.
    pub(crate) uncertain: bool,
    /// Verification refused it (401) while it was uncertain: it must turn out revoked.
    pub(crate) refused: bool,
}

/// A create that answered 503 (after its retries, when keyed): the token may exist once, or
/// not at all; the table says after the run.
#[derive(Debug, Clone)]
pub(crate) struct Maybe {
    pub(crate) tenant: &'static str,
    pub(crate) owner: String,
    pub(crate) name: String,
}

/// What one client did and saw.
#[derive(Default)]
pub(crate) struct Outcome {
    pub(crate) ledger: Vec<Tok>,
    pub(crate) timings: HashMap<Kind, Vec<Duration>>,
    pub(crate) statuses: BTreeMap<(Kind, u16), usize>,
    pub(crate) failures: Vec<String>,
    pub(crate) ops: usize,
    /// Creates that answered 503 (only under faults).
    pub(crate) maybes: Vec<Maybe>,
}

pub(crate) struct Client {
    pub(crate) index: usize,
    pub(crate) addr: SocketAddr,
    pub(crate) http: HttpClient,
    pub(crate) rng: Rng,
    pub(crate) tenant: &'static str,
    pub(crate) admin: bool,
    /// Bearer secret of the client's own (bootstrap) token.
    pub(crate) me: String,
    /// Whose tokens this client creates: itself, or (admin) service users only it writes to.
    pub(crate) owners: Vec<String>,
    pub(crate) quota: usize,
    pub(crate) out: Outcome,
    pub(crate) created: usize,
    /// DynamoDB is behind a proxy that injects faults: 503 problem+json is an allowed answer
    /// (`tolerance.rs`), and what it leaves unknown is resolved after the run.
    pub(crate) faults: bool,
}

impl Client {
    pub(crate) async fn send(
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
    pub(crate) fn expect(&mut self, what: &str, reply: &Reply, want: u16) -> bool {
        if reply.status == want {
            return true;
        }
        if self.faults && reply.status == 503 {
            self.check_unavailable(what, reply);
            return false;
        }
        self.fail(format!(
            "{what}: expected {want}, got {} {}",
            reply.status,
            reply.text.chars().take(400).collect::<String>()
        ));
        false
    }

    pub(crate) fn fail(&mut self, message: String) {
        self.out.failures.push(format!(
            "client {} ({}): {message}",
            self.index, self.tenant
        ));
    }

    pub(crate) async fn run(mut self) -> Outcome {
        while self.out.ops < self.quota {
            let live = self
                .out
                .ledger
                .iter()
                .filter(|t| !t.revoked && !t.uncertain)
                .count();
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

    pub(crate) async fn create(&mut self) {
        self.created += 1;
        let n = self.created;
        let owner = self.owners[self.rng.below(self.owners.len())].clone();
        let name = format!(
            "{}-c{}-{n}",
            NAME_KINDS[self.rng.below(NAME_KINDS.len())],
            self.index
        );
        let body = self.new_token_body(n, &owner, &name);
        let keyed = self.rng.below(8) == 0;
        let key = format!("load-c{}-{n}", self.index);
        let extra: &[(&str, &str)] = if keyed {
            &[("idempotency-key", &key)]
        } else {
            &[]
        };
        let me = self.me.clone();
        // Keyed: a 503 is retried with the same key, as a real client does (`tolerance.rs`).
        let r = self
            .send_retrying(Kind::Create, &me, &body, extra, keyed)
            .await;
        if !self.expect("create", &r, 201) {
            if self.faults && r.status == 503 {
                self.out.maybes.push(Maybe {
                    tenant: self.tenant,
                    owner,
                    name,
                });
            }
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
                .send_retrying(Kind::CreateReplay, &me, &body, extra, true)
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
            uncertain: false,
            refused: false,
        });
    }

    /// The body of the `n`th create: random scopes and expiry, metadata naming the client and
    /// the parity of `n`, and (an admin's) the owner.
    fn new_token_body(&mut self, n: usize, owner: &str, name: &str) -> Value {
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
        body
    }

    pub(crate) async fn verify(&mut self) {
        // Mostly recent tokens (the ones a real client just made), some old ones.
        let len = self.out.ledger.len();
        let i = if self.rng.below(2) == 0 {
            len - 1 - self.rng.below(len.min(5))
        } else {
            self.rng.below(len)
        };
        let t = self.out.ledger[i].clone();
        let kind = if t.uncertain {
            Kind::VerifyUncertain
        } else if t.revoked {
            Kind::VerifyRevoked
        } else {
            Kind::VerifyActive
        };
        let r = self
            .send(kind, Method::GET, "/tokens/self", &t.secret, None, &[])
            .await;
        if t.uncertain {
            self.verify_uncertain(i, &r);
        } else if t.revoked {
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

    pub(crate) async fn revoke(&mut self) {
        let me = self.me.clone();
        let revoked: Vec<usize> = (0..self.out.ledger.len())
            .filter(|&i| self.out.ledger[i].revoked && !self.out.ledger[i].uncertain)
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
            .filter(|&i| !self.out.ledger[i].revoked && !self.out.ledger[i].uncertain)
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
                self.out.ledger[i].uncertain = self.faults && r.status == 503;
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
                self.out.ledger[i].uncertain = self.faults && r.status == 503;
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
}

/// `count` clients of the tenants in turn, each with a token of its own minted directly: a
/// user token for its own user, or (every fourth round) an admin token that writes only to
/// service users of its own. Each gets its share of `total_ops` and a generator seeded from
/// `seed`; with `faults`, each tolerates 503s (`tolerance.rs`). Returns the clients and the
/// admins' own tokens, which no client's ledger holds.
pub(crate) async fn start_clients(
    app: &App,
    count: usize,
    total_ops: usize,
    seed: u64,
    faults: bool,
) -> (Vec<Client>, Vec<Tok>) {
    let mut ledger: Vec<Tok> = Vec::new();
    let mut runners = Vec::new();
    for index in 0..count {
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
            uncertain: false,
            refused: false,
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
            quota: total_ops / count + usize::from(index < total_ops % count),
            out,
            created: 0,
            faults,
        });
    }
    (runners, ledger)
}
