//! The world every generated request runs in: a small table (two callers, the tokens their
//! paths name, a cursor), the placeholders that name them in a generated request, and the
//! table snapshot that "a refused request writes nothing" is checked against. A request
//! that succeeds and writes is undone ([`World::restore`]), so every case starts from the
//! same table and a shrinking run replays against the state the failure was found in.

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::{App, Snapshot};
use serde_json::json;

use crate::{ADMIN, USER};

/// The running service, its callers' secrets and the values placeholders stand for.
pub(super) struct World {
    pub(super) app: App,
    /// `{name}` → value, filled into generated paths, queries and bodies.
    values: Vec<(&'static str, String)>,
    /// The table as every case starts it.
    pub(super) baseline: Snapshot,
}

impl World {
    /// A table of its own with: alice (tenant admin) and rita (read-only) as callers, a second
    /// token of alice's, bob's (same tenant), gina's (another tenant), a revoked token, and a
    /// cursor of alice's. The last-used touch is off, so reading writes nothing.
    pub(super) async fn start() -> Self {
        let app = App::start_with(&[("LAST_USED_INTERVAL_SECONDS", "0")]).await;
        let admin = app.mint("acme", "alice", ADMIN).await;
        let reader = app.mint("acme", "rita", &["tokens:read"]).await;
        let mint = |tenant, user| app.mint_with(tenant, user, USER, Default::default());
        let (alice2, _) = mint("acme", "alice").await;
        let (bob, _) = mint("acme", "bob").await;
        let (gina, _) = mint("globex", "gina").await;
        let (revoked, revoked_secret) = mint("acme", "alice").await;
        let r = app
            .post(&format!("/tokens/{revoked}/revoke"), &admin, json!({}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = app.get("/tokens?limit=1", &admin).await;
        let cursor = r.json["next_cursor"].as_str().expect("a second page");
        let values = vec![
            ("BOB", bob.to_uppercase()),
            ("bob%", percent_encode_all(&bob)),
            ("alice2", alice2),
            ("bob", bob),
            ("gina", gina),
            ("revoked_secret", revoked_secret),
            ("revoked", revoked),
            ("admin", admin),
            ("reader", reader),
            ("cursor", cursor.to_string()),
        ];
        let baseline = app.snapshot().await;
        Self {
            app,
            values,
            baseline,
        }
    }

    /// `text` with each `{name}` replaced by its value.
    pub(super) fn fill(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (k, v) in &self.values {
            out = out.replace(&format!("{{{k}}}"), v);
        }
        out
    }

    /// Puts the table back to [`World::baseline`]: deletes items a case added, writes back
    /// those it changed or removed. Returns the keys that differed.
    pub(super) async fn restore(&self, now: &Snapshot) -> Vec<String> {
        let mut changed = Vec::new();
        for pk in now.keys().filter(|k| !self.baseline.contains_key(*k)) {
            changed.push(pk.clone());
            self.app
                .dynamodb
                .delete_item()
                .table_name(&self.app.table)
                .key("pk", AttributeValue::S(pk.clone()))
                .send()
                .await
                .expect("delete an added item");
        }
        for (pk, item) in &self.baseline {
            if now.get(pk) == Some(item) {
                continue;
            }
            changed.push(pk.clone());
            self.app
                .dynamodb
                .put_item()
                .table_name(&self.app.table)
                .set_item(Some(item.clone()))
                .send()
                .await
                .expect("put back a changed item");
        }
        changed
    }
}

/// Every byte of `s` as `%XX`.
fn percent_encode_all(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// `s` as a client puts it in a path segment or query value: unreserved characters as
/// they are, every other byte as `%XX`.
pub(super) fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
