//! Run by `scripts/test` after the whole suite: every table the tests wrote to, scanned for
//! anything shaped like a token secret. Only hashes may be stored.

use api_tokens::secret;
use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::{dynamodb, endpoint};

/// Every string inside an attribute value, recursively.
fn strings(v: &AttributeValue, out: &mut Vec<String>) {
    match v {
        AttributeValue::S(s) => out.push(s.clone()),
        AttributeValue::Ss(list) => out.extend(list.iter().cloned()),
        AttributeValue::L(list) => list.iter().for_each(|v| strings(v, out)),
        AttributeValue::M(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// Substrings that parse as a complete token (prefix, body and a valid checksum).
fn secrets_in(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    for (start, _) in text.match_indices('_') {
        let prefix_start = text[..start]
            .rfind(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
            .map_or(0, |i| i + 1);
        let end = text[start + 1..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .map_or(text.len(), |i| start + 1 + i);
        let candidate = &text[prefix_start..end];
        if secret::parse(candidate).is_ok() {
            found.push(candidate);
        }
    }
    found
}

#[test]
fn the_detector_finds_a_secret_inside_other_text() {
    let s = secret::generate(
        "tkn",
        uuid::Uuid::now_v7(),
        &ring::rand::SystemRandom::new(),
    );
    let text = format!("note: {} was here", s.expose());
    assert_eq!(secrets_in(&text), [s.expose()]);
    assert!(secrets_in("tkn_abc and snake_case words").is_empty());
}

#[tokio::test]
#[ignore = "scripts/test runs this after the suite, over every table the suite wrote"]
async fn no_table_written_by_the_suite_holds_a_secret() {
    let db = dynamodb(&endpoint());
    let tables = db
        .list_tables()
        .send()
        .await
        .unwrap()
        .table_names
        .unwrap_or_default();
    let (mut scanned_tables, mut items, mut hashes) = (0, 0, 0);
    for table in tables.iter().filter(|t| t.starts_with("tokens-")) {
        scanned_tables += 1;
        let mut start = None;
        loop {
            let out = db
                .scan()
                .table_name(table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            for item in out.items.unwrap_or_default() {
                items += 1;
                let credential = matches!(item.get("pk"), Some(AttributeValue::S(pk)) if pk.starts_with("CRED#"));
                assert_eq!(
                    credential,
                    item.contains_key("secret_hash"),
                    "hash outside a credential in {table}"
                );
                hashes += usize::from(credential);
                for (name, value) in &item {
                    let mut texts = Vec::new();
                    strings(value, &mut texts);
                    for t in texts {
                        assert!(secrets_in(&t).is_empty(), "a secret in {table}.{name}");
                    }
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
    }
    println!("scanned {scanned_tables} tables, {items} items, {hashes} hashes: no secret");
    assert!(
        scanned_tables > 10 && items > 300,
        "the suite did not run first"
    );
    assert!(hashes > 150, "credentials were written");
}
