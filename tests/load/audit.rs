//! The audit after the run: each tenant walked whole both ways, the table against the ledger,
//! and every total against the ledger, per tenant and per owner.

use std::collections::{BTreeMap, HashMap, HashSet};

use api_tokens::service::CreateInput;
use integration_tests::App;
use serde_json::Value;

use crate::client::Tok;
use crate::ADMIN_SCOPES;

/// An auditor per tenant: an admin token of its own, in the ledger like every token. Returns
/// each tenant's auditor's secret.
pub(crate) async fn mint_auditors(
    app: &App,
    tenants: &[&'static str],
    ledger: &mut Vec<Tok>,
) -> HashMap<&'static str, String> {
    let mut auditors = HashMap::new();
    for tenant in tenants {
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
            uncertain: false,
            refused: false,
        });
    }
    auditors
}

/// Each tenant walked whole, every status, in two orders: each token once, with its status,
/// and the walk back from the last page by `prev_cursor` lists the same sequence. Returns the
/// pages read.
pub(crate) async fn walk_each_tenant(
    app: &App,
    tenants: &[&'static str],
    auditors: &HashMap<&'static str, String>,
    ledger: &[Tok],
) -> usize {
    let mut audit_pages = 0;
    for tenant in tenants {
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
            let (forward, backward, pages) = audit_walk(app, &admin, query).await;
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
    audit_pages
}

/// The table holds exactly the ledger's tokens, each of its tenant and owner, revoked or not
/// as the ledger says.
pub(crate) async fn table_holds_the_ledger(app: &App, ledger: &[Tok]) {
    let records = app.records().await;
    let stored: HashMap<String, &api_tokens::model::TokenItem> =
        records.iter().map(|r| (r.id.to_string(), r)).collect();
    assert_eq!(
        stored.len(),
        ledger.len(),
        "the table holds exactly the tokens created"
    );
    for t in ledger {
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
}

/// Every total of each tenant, and of each owner in it, equals the ledger's count. Returns how
/// many totals were compared.
pub(crate) async fn totals_equal_the_ledger(
    app: &App,
    tenants: &[&'static str],
    auditors: &HashMap<&'static str, String>,
    ledger: &[Tok],
) -> usize {
    let mut counted = 0;
    let mut owners: BTreeMap<(&str, &str), (usize, usize)> = BTreeMap::new();
    for t in ledger {
        let e = owners.entry((t.tenant, t.owner.as_str())).or_default();
        if t.revoked {
            e.1 += 1;
        } else {
            e.0 += 1;
        }
    }
    for tenant in tenants {
        let admin = auditors[tenant].clone();
        let total = |query: String| {
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
    counted
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
