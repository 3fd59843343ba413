//! What a client accepts while DynamoDB is behind the fault proxy: a 503 problem+json with
//! `Retry-After` in place of any answer, keyed creates retried with their key until they
//! are answered, and the lists' and counts' slack for what the 503s left unknown (creates
//! that may exist, revocations that may have happened). Without faults nothing here loosens
//! a check: a client has no maybes and no uncertain tokens.

use std::collections::HashSet;
use std::time::Duration;

use integration_tests::{Method, Reply};
use serde_json::Value;

use crate::client::{Client, Kind, Tok};

/// Tries of a keyed create (the first included) while it answers 503.
const KEYED_TRIES: usize = 5;
/// The pause between them.
const KEYED_PAUSE: Duration = Duration::from_millis(200);

impl Client {
    /// Records a failure unless `reply` is the 503 of a time budget: problem+json of type
    /// `/problems/service-unavailable` with `Retry-After`.
    pub(crate) fn check_unavailable(&mut self, what: &str, reply: &Reply) {
        if reply.header("content-type") != "application/problem+json"
            || reply.problem() != "/problems/service-unavailable"
            || reply.header("retry-after").is_empty()
        {
            self.fail(format!(
                "{what}: a 503 that is not service-unavailable with Retry-After: {:?} {}",
                reply.headers,
                reply.text.chars().take(400).collect::<String>()
            ));
        }
    }

    /// `POST /tokens` of `body`; a keyed one again with the same key while it answers 503
    /// under faults (at most [`KEYED_TRIES`] times).
    pub(crate) async fn send_retrying(
        &mut self,
        kind: Kind,
        me: &str,
        body: &Value,
        extra: &[(&str, &str)],
        keyed: bool,
    ) -> Reply {
        let mut tries = 0;
        loop {
            tries += 1;
            let r = self
                .send(kind, Method::POST, "/tokens", me, Some(body.clone()), extra)
                .await;
            if !(self.faults && keyed && r.status == 503 && tries < KEYED_TRIES) {
                return r;
            }
            self.check_unavailable("keyed create", &r);
            tokio::time::sleep(KEYED_PAUSE).await;
        }
    }

    /// The answer to verifying ledger token `i`, whose revocation answered 503: 200 (as
    /// itself) or 401 (then it must turn out revoked), or 503.
    pub(crate) fn verify_uncertain(&mut self, i: usize, r: &Reply) {
        let id = self.out.ledger[i].id.clone();
        match r.status {
            200 if r.json["id"] == id.as_str() && r.json["status"] == "active" => {}
            401 if r.problem() == "/problems/unauthorized" => self.out.ledger[i].refused = true,
            503 => self.check_unavailable("verify an uncertain token", r),
            _ => self.fail(format!(
                "verify of uncertain {id}: {} {}",
                r.status,
                r.text.chars().take(400).collect::<String>()
            )),
        }
    }

    /// Names of this client's creates of `owner` that answered 503: a list may hold them.
    pub(crate) fn maybe_names(&self, owner: &str) -> HashSet<String> {
        self.out
            .maybes
            .iter()
            .filter(|m| m.owner == owner)
            .map(|m| m.name.clone())
            .collect()
    }

    /// How far above the exact count of `mine` in `status` (`active` or `revoked`) the
    /// counters may be: uncertain revocations either way, and maybe-creates while active.
    pub(crate) fn count_slack(&self, mine: &[Tok], owner: &str, status: &str) -> usize {
        let uncertain = mine.iter().filter(|t| t.uncertain).count();
        match status {
            "active" => uncertain + self.maybe_names(owner).len(),
            _ => uncertain,
        }
    }
}
