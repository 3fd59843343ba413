//! Huge bodies, and values one past each length limit.

use serde_json::json;

use super::case::{case, Case};

pub(super) const CASES: &[Case] = &[
    case("create: a 1.1 MB body", "POST", "/tokens")
        .built(huge_description)
        .fails(413, "payload-too-large"),
    case("create: a 70 KiB body", "POST", "/tokens")
        .built(seventy_kib_description)
        .fails(413, "payload-too-large"),
    case("create: 10,000 unknown scopes", "POST", "/tokens")
        .built(ten_thousand_unknown_scopes)
        .invalid(r#"["body","scopes"]"#),
    case(
        "create: 10,000 copies of a real scope (140 KB)",
        "POST",
        "/tokens",
    )
    .built(ten_thousand_real_scopes)
    .fails(413, "payload-too-large"),
    case("create: a 10,000-character name", "POST", "/tokens")
        .built(ten_thousand_names)
        .invalid(r#"["body","name"]"#),
    case(
        "create: a name of 129 emoji (counted in characters)",
        "POST",
        "/tokens",
    )
    .built(name_of_129_emoji)
    .invalid(r#"["body","name"]"#),
    case("create: a name of 129 accented letters", "POST", "/tokens")
        .built(name_of_129_accented)
        .invalid(r#"["body","name"]"#),
    case(
        "create: a description of 1025 characters",
        "POST",
        "/tokens",
    )
    .built(description_of_1025)
    .invalid(r#"["body","description"]"#),
    case(
        "create: a metadata value of 513 characters",
        "POST",
        "/tokens",
    )
    .built(metadata_value_of_513)
    .invalid(r#"["body","metadata","k"]"#),
    case("create: a metadata key of 65 characters", "POST", "/tokens")
        .built(metadata_key_of_65)
        .invalid(r#"["body","metadata","{key_65}"]"#),
    case("create: 21 metadata entries", "POST", "/tokens")
        .built(metadata_of_21_entries)
        .invalid(r#"["body","metadata"]"#),
    case("create: JSON nested 10,000 deep", "POST", "/tokens")
        .built(nested_10k)
        .malformed(),
];

fn huge_description() -> Vec<u8> {
    format!(
        r#"{{"name":"x","description":"{}"}}"#,
        "a".repeat(1_100_000)
    )
    .into_bytes()
}
fn seventy_kib_description() -> Vec<u8> {
    format!(
        r#"{{"name":"x","description":"{}"}}"#,
        "a".repeat(70 * 1024)
    )
    .into_bytes()
}
fn ten_thousand_unknown_scopes() -> Vec<u8> {
    json!({"name": "x", "scopes": vec!["x"; 10_000]})
        .to_string()
        .into_bytes()
}
fn ten_thousand_real_scopes() -> Vec<u8> {
    json!({"name": "x", "scopes": vec!["tokens:read"; 10_000]})
        .to_string()
        .into_bytes()
}
fn ten_thousand_names() -> Vec<u8> {
    json!({"name": "x".repeat(10_000)}).to_string().into_bytes()
}
fn name_of_129_emoji() -> Vec<u8> {
    json!({"name": "🔑".repeat(129)}).to_string().into_bytes()
}
fn name_of_129_accented() -> Vec<u8> {
    json!({"name": "é".repeat(129)}).to_string().into_bytes()
}
fn description_of_1025() -> Vec<u8> {
    json!({"name": "x", "description": "d".repeat(1025)})
        .to_string()
        .into_bytes()
}
fn metadata_value_of_513() -> Vec<u8> {
    json!({"name": "x", "metadata": {"k": "v".repeat(513)}})
        .to_string()
        .into_bytes()
}
fn metadata_key_of_65() -> Vec<u8> {
    json!({"name": "x", "metadata": {"k".repeat(65): "v"}})
        .to_string()
        .into_bytes()
}
fn metadata_of_21_entries() -> Vec<u8> {
    let m: serde_json::Map<String, serde_json::Value> =
        (0..21).map(|i| (format!("k{i}"), json!("v"))).collect();
    json!({"name": "x", "metadata": m}).to_string().into_bytes()
}
fn nested_10k() -> Vec<u8> {
    format!(r#"{{"name": {}"#, "[".repeat(10_000)).into_bytes()
}
