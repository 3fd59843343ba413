//! A client's lists: walks of its own tokens that must match its ledger exactly while the
//! other clients write, counts, and filters whose every item must match.

use std::collections::{HashMap, HashSet};

use integration_tests::Method;
use serde_json::Value;

use crate::client::{Client, Kind, Tok};
use crate::NAME_KINDS;

impl Client {
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
    /// Under faults, only what a 503 left unknown may differ: a token whose revocation
    /// answered 503 may be missing from a status filter and listed either way, and a token
    /// not in the ledger may be listed when it has the name of one of `owner`'s creates that
    /// answered 503 (`tolerance.rs`).
    fn compare(&mut self, what: &str, got: &[Value], want: &[Tok], owner: &str) {
        let maybes = self.maybe_names(owner);
        let mut seen = HashSet::new();
        for item in got {
            let id = item["id"].as_str().unwrap_or_default();
            if !seen.insert(id.to_string()) {
                self.fail(format!("{what}: {id} listed twice"));
            }
        }
        let expected: HashMap<&str, &Tok> = want.iter().map(|t| (t.id.as_str(), t)).collect();
        let extra: Vec<&str> = got
            .iter()
            .filter(|i| !maybes.contains(i["name"].as_str().unwrap_or_default()))
            .map(|i| i["id"].as_str().unwrap_or_default())
            .filter(|id| !expected.contains_key(id))
            .collect();
        let missing: Vec<&str> = expected
            .iter()
            .filter(|(id, t)| !t.uncertain && !seen.contains(**id))
            .map(|(id, _)| *id)
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
            if let Some(t) = expected.get(id).filter(|t| !t.uncertain) {
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

    /// One list of the tokens of one of the client's owners, drawn at random.
    pub(crate) async fn list(&mut self) {
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
            0 | 1 => self.walk_all_of_owner(&of, &mine, &owner).await,
            2 => self.walk_active_of_owner(&of, &mine, &owner).await,
            3 => self.walk_by_name(&of, &mine, &owner).await,
            4 => self.count_of_owner(&of, &mine, &owner).await,
            5 if self.admin => self.walk_tenant().await,
            _ => self.walk_filtered(&of, &owner).await,
        }
    }

    /// Every token of the owner, small pages: exactly the ledger.
    async fn walk_all_of_owner(&mut self, of: &str, mine: &[Tok], owner: &str) {
        let limit = 10 + self.rng.below(40);
        let q = format!("{of}include_revoked=true&limit={limit}");
        if let Some(got) = self.walk(&q, usize::MAX).await {
            self.compare(&format!("walk {q}"), &got, mine, owner);
        }
    }

    /// The owner's active tokens: exactly the ledger's.
    async fn walk_active_of_owner(&mut self, of: &str, mine: &[Tok], owner: &str) {
        let q = format!("{of}status=active&limit={}", 5 + self.rng.below(30));
        let want: Vec<Tok> = mine.iter().filter(|t| !t.revoked).cloned().collect();
        if let Some(got) = self.walk(&q, usize::MAX).await {
            self.compare(&format!("walk {q}"), &got, &want, owner);
        }
    }

    /// Case-insensitive name filter (not a key condition), sorted by name.
    async fn walk_by_name(&mut self, of: &str, mine: &[Tok], owner: &str) {
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
            self.compare(&format!("walk {q}"), &got, &want, owner);
        }
    }

    /// Counters while others write: exact for this owner (only this client writes its
    /// tokens), but for what 503s left unknown (`Client::count_slack`).
    async fn count_of_owner(&mut self, of: &str, mine: &[Tok], owner: &str) {
        let certain = mine.iter().filter(|t| !t.uncertain);
        let (status, want) = match self.rng.below(2) {
            0 => ("active", certain.filter(|t| !t.revoked).count()),
            _ => ("revoked", certain.filter(|t| t.revoked).count()),
        };
        let slack = self.count_slack(mine, owner, status);
        let q = format!("{of}status={status}&include_total_count=true&limit=1");
        let me = self.me.clone();
        let path = format!("/tokens?{q}");
        let r = self
            .send(Kind::List, Method::GET, &path, &me, None, &[])
            .await;
        let total = r.json["total"].as_u64().map(|n| n as usize);
        if self.expect(&path, &r, 200) && !total.is_some_and(|n| (want..=want + slack).contains(&n))
        {
            self.fail(format!(
                "{path}: total {}, ledger {want} (+{slack} unknown)",
                r.json["total"]
            ));
        }
    }

    /// The whole tenant while every client writes: no page repeats a token, and each has the
    /// status asked for.
    async fn walk_tenant(&mut self) {
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

    /// Other sorts and filters: every item matches.
    async fn walk_filtered(&mut self, of: &str, owner: &str) {
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
                if !check(item) || item["user_id"] != owner {
                    self.fail(format!("{q}: listed {item}"));
                }
            }
        }
    }
}
