//! The recorded stream (`fixtures/streams-token-lifecycle.json`): its tokens, and its records
//! picked out.

use std::collections::BTreeSet;

use serde_json::{json, Value};

pub(super) const FIXTURE: &str = "streams-token-lifecycle.json";

// The tokens of the fixture.
pub(super) const ROOT: &str = "01a20644-e8ab-7487-9916-abb852d20fc8";
pub(super) const ALICE: &str = "01a20644-e8c7-7070-9284-73f59abf0aef";
pub(super) const CI: &str = "01a20644-e8ec-7530-a3ba-1552b2870d24";
pub(super) const CI_2: &str = "01a20644-e963-73b6-8872-8605b6a38927";
pub(super) const BACKUP: &str = "01a20644-e9a5-73b8-aece-bde1e9321af6";
pub(super) const LAPTOP: &str = "01a20644-e9cc-7356-b593-355bd8324fad";
pub(super) const CI_3: &str = "01a20644-e9fd-71d2-aa97-a11330785c4c";

pub(super) fn fixture(name: &str) -> Value {
    let path = format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).expect("a JSON fixture")
}

/// The fixture's records that `keep` selects, as a Lambda event.
pub(super) fn fixture_records(keep: impl Fn(&Value) -> bool) -> Value {
    let records: Vec<Value> = fixture(FIXTURE)["Records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| keep(r))
        .cloned()
        .collect();
    json!({ "Records": records })
}

/// A `MODIFY` that changed nothing but the last-use attributes.
pub(super) fn last_use_only(record: &Value) -> bool {
    let change = &record["dynamodb"];
    let (Some(old), Some(new)) = (
        change["OldImage"].as_object(),
        change["NewImage"].as_object(),
    ) else {
        return false;
    };
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let changed: Vec<&&String> = names
        .iter()
        .filter(|k| old.get(**k) != new.get(**k))
        .collect();
    !changed.is_empty() && changed.iter().all(|k| k.starts_with("last_used_"))
}

/// The `SequenceNumber` of the fixture record with this `eventID`.
pub(super) fn sequence_number_of(event_id: &str) -> String {
    fixture(FIXTURE)["Records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["eventID"] == event_id)
        .and_then(|r| r["dynamodb"]["SequenceNumber"].as_str())
        .expect("a record of the fixture")
        .to_string()
}
