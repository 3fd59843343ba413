//! After a run under faults, with the faults off: what the 503s left unknown, settled by the
//! table itself, and the table checked for anything half-written. Every create that answered
//! 503 made one token or none (never two), every revocation that answered 503 either happened
//! or did not, and every token record has its credential, in the same status, and the other
//! way round. The resolved ledger is then as exact as the run without faults's.

use std::collections::{BTreeMap, HashMap};

use api_tokens::model::{StoredStatus, TokenItem};
use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::App;

use crate::client::{Maybe, Tok};

/// What resolving found.
#[derive(Debug, Default)]
pub(crate) struct Resolved {
    /// Creates that answered 503 and made their token.
    pub(crate) maybes_created: usize,
    /// Creates that answered 503 and made nothing.
    pub(crate) maybes_not: usize,
    /// Revocations that answered 503 and happened.
    pub(crate) uncertain_revoked: usize,
    /// Revocations that answered 503 and did not.
    pub(crate) uncertain_active: usize,
}

/// Settles `ledger`'s uncertain tokens and adds the tokens `maybes` made, from the table.
/// Panics on a create that made two tokens, and on an uncertain token that verification
/// refused (401) but that is not revoked.
pub(crate) async fn resolve(app: &App, ledger: &mut Vec<Tok>, maybes: &[Maybe]) -> Resolved {
    let records = app.records().await;
    let by_id: HashMap<String, &TokenItem> =
        records.iter().map(|r| (r.id.to_string(), r)).collect();
    let mut resolved = Resolved::default();
    for t in ledger.iter_mut().filter(|t| t.uncertain) {
        let r = by_id
            .get(&t.id)
            .unwrap_or_else(|| panic!("{}: a token whose revocation answered 503 is gone", t.id));
        t.revoked = r.status == StoredStatus::Revoked;
        assert!(
            t.revoked || !t.refused,
            "{}: verification answered 401 for a token that is active",
            t.id
        );
        t.uncertain = false;
        if t.revoked {
            resolved.uncertain_revoked += 1;
        } else {
            resolved.uncertain_active += 1;
        }
    }
    for m in maybes {
        let made: Vec<&&TokenItem> = by_id
            .values()
            .filter(|r| r.tenant_id == m.tenant && r.user_id == m.owner && r.name == m.name)
            .collect();
        assert!(made.len() <= 1, "a create that answered 503 made {made:?}");
        let Some(r) = made.first() else {
            resolved.maybes_not += 1;
            continue;
        };
        resolved.maybes_created += 1;
        ledger.push(Tok {
            id: r.id.to_string(),
            // Never answered: nobody holds it.
            secret: String::new(),
            tenant: m.tenant,
            owner: m.owner.clone(),
            name: m.name.clone(),
            revoked: r.status == StoredStatus::Revoked,
            revocation_reason: None,
            uncertain: false,
            refused: false,
        });
    }
    resolved
}

/// The item kinds of the table (`shared/src/store/schema.rs`).
const KINDS: [&str; 4] = ["TOKEN#", "CRED#", "COUNT#", "IDEM#"];

/// Nothing is half-written: every `TOKEN#` record has its `CRED#` credential and every
/// credential its record, revoked together or not at all, and the table holds no item of
/// another kind. Returns how many items of each kind it holds.
pub(crate) async fn never_half(app: &App) -> BTreeMap<&'static str, usize> {
    let mut kinds: BTreeMap<&'static str, usize> = BTreeMap::new();
    // id -> (record's status, credential's status)
    let mut pairs: BTreeMap<String, (Option<String>, Option<String>)> = BTreeMap::new();
    for item in app.scan_all().await {
        let text = |name: &str| match item.get(name) {
            Some(AttributeValue::S(v)) => Some(v.clone()),
            _ => None,
        };
        let pk = text("pk").unwrap_or_default();
        let kind = KINDS
            .into_iter()
            .find(|k| pk.starts_with(k))
            .unwrap_or_else(|| panic!("a stray item: {pk:?}"));
        *kinds.entry(kind).or_default() += 1;
        let status = text("status");
        assert!(
            !matches!(kind, "TOKEN#" | "CRED#") || status.is_some(),
            "{pk} has no status"
        );
        let pair = pairs.entry(pk[kind.len()..].to_string());
        match kind {
            "TOKEN#" => pair.or_default().0 = status,
            "CRED#" => pair.or_default().1 = status,
            _ => {}
        }
    }
    for (id, (record, credential)) in &pairs {
        let revoked = |s: &Option<String>| s.as_deref().map(|s| s == "revoked");
        assert!(
            record.is_some() && credential.is_some(),
            "{id}: half-written: record {record:?}, credential {credential:?}"
        );
        assert_eq!(
            revoked(record),
            revoked(credential),
            "{id}: the record is {record:?} and the credential {credential:?}"
        );
    }
    kinds
}
