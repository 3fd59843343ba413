//! Run by `scripts/test` after the whole suite (`--ignored`): nothing the suite made leaks a
//! token secret or a secret hash.
//!
//! - Tables: no item of any table holds a secret; a secret hash appears only in the
//!   `secret_hash` attribute of its credential item, in no other attribute of any item of any
//!   table (looked for as stored, base64url, and as hex and padded standard base64).
//! - Logs: the service's tracing output during the suite (captured by the harness, see
//!   `integration_tests::capture`) holds no secret and no hash.
//! - Responses: of every HTTP answer the suite received, only the `201`s of `POST /tokens` and
//!   `POST /tokens/{id}/rotate` (replays included) hold a secret, and none holds a hash.
//!
//! The detectors are tested below on planted values, so a broken detector fails rather than
//! passing everything.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use api_tokens::{schema, secret};
use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use integration_tests::{capture, dynamodb, endpoint};
use serde_json::Value;

/// Every string inside an attribute value, recursively, and every binary value.
fn contents(v: &AttributeValue, texts: &mut Vec<String>, blobs: &mut Vec<Vec<u8>>) {
    match v {
        AttributeValue::S(s) => texts.push(s.clone()),
        AttributeValue::Ss(list) => texts.extend(list.iter().cloned()),
        AttributeValue::B(b) => blobs.push(b.as_ref().to_vec()),
        AttributeValue::Bs(list) => blobs.extend(list.iter().map(|b| b.as_ref().to_vec())),
        AttributeValue::L(list) => list.iter().for_each(|v| contents(v, texts, blobs)),
        AttributeValue::M(map) => map.values().for_each(|v| contents(v, texts, blobs)),
        _ => {}
    }
}

/// Substrings that parse as a complete token (prefix, body and a valid checksum).
fn secrets_in(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    for (start, _) in text.match_indices('_') {
        // The character before the prefix may take several bytes (any text is scanned).
        let prefix_start = text[..start]
            .char_indices()
            .rev()
            .find(|&(_, c)| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
            .map_or(0, |(i, c)| i + c.len_utf8());
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

/// The secret hashes written by the suite, in every textual form one could appear in.
#[derive(Default)]
struct Hashes {
    /// Stored base64url, hex (both cases) and standard base64 (padded or not).
    forms: HashSet<String>,
    /// The raw 32-byte HMACs.
    raw: HashSet<Vec<u8>>,
}

/// Lengths of the textual forms: base64 without and with padding, hex.
const FORM_LENGTHS: [usize; 3] = [43, 44, 64];

impl Hashes {
    /// Adds a hash as `secret_hash` stores it. Placeholders that are no HMAC (test seeds)
    /// are skipped.
    fn add(&mut self, stored: &str) {
        let Ok(raw) = URL_SAFE_NO_PAD.decode(stored) else {
            return;
        };
        if raw.len() != 32 {
            return;
        }
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        self.forms.extend([
            stored.to_string(),
            hex.to_uppercase(),
            hex,
            STANDARD.encode(&raw),
            STANDARD_NO_PAD.encode(&raw),
        ]);
        self.raw.insert(raw);
    }

    fn len(&self) -> usize {
        self.raw.len()
    }

    /// Hashes inside `text`: every window of a form's length, within runs of base64/hex
    /// characters long enough to hold one (few strings have such runs, so this is fast).
    fn in_text<'t>(&self, text: &'t str) -> Vec<&'t str> {
        let is_b64 =
            |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-' | '_');
        let mut found = Vec::new();
        for run in text.split(|c: char| !is_b64(c)).filter(|r| r.len() >= 43) {
            for len in FORM_LENGTHS {
                for start in 0..=run.len().saturating_sub(len) {
                    let window = &run[start..(start + len).min(run.len())];
                    if window.len() == len && self.forms.contains(window) {
                        found.push(window);
                    }
                }
            }
        }
        found
    }

    /// Whether a binary value holds a raw hash.
    fn in_bytes(&self, bytes: &[u8]) -> bool {
        bytes.windows(32).any(|w| self.raw.contains(w))
    }
}

type Item = HashMap<String, AttributeValue>;

fn is_credential(item: &Item) -> bool {
    matches!(item.get(schema::PK), Some(AttributeValue::S(pk)) if pk.starts_with("CRED#"))
}

/// What is wrong with one stored item: a secret anywhere, a hash outside a credential's
/// `secret_hash`.
fn item_leaks(table: &str, item: &Item, hashes: &Hashes) -> Vec<String> {
    let mut leaks = Vec::new();
    let pk = match item.get(schema::PK) {
        Some(AttributeValue::S(pk)) => pk.as_str(),
        _ => "?",
    };
    if item.contains_key(schema::SECRET_HASH) != is_credential(item) {
        leaks.push(format!(
            "{table} {pk}: a secret_hash outside a credential, or a credential without one"
        ));
    }
    for (name, value) in item {
        let (mut texts, mut blobs) = (Vec::new(), Vec::new());
        contents(value, &mut texts, &mut blobs);
        let the_hash_attribute = name == schema::SECRET_HASH && is_credential(item);
        for t in &texts {
            if !secrets_in(t).is_empty() {
                leaks.push(format!("{table} {pk}.{name}: a secret"));
            }
            if !the_hash_attribute && !hashes.in_text(t).is_empty() {
                leaks.push(format!("{table} {pk}.{name}: a secret hash"));
            }
        }
        if blobs.iter().any(|b| hashes.in_bytes(b)) {
            leaks.push(format!("{table} {pk}.{name}: a raw secret hash"));
        }
    }
    leaks
}

/// What is wrong with one captured log line.
fn log_leaks(line: &str, hashes: &Hashes) -> Vec<String> {
    let mut leaks = Vec::new();
    if !secrets_in(line).is_empty() {
        leaks.push(format!("a secret in the log line {line}"));
    }
    if !hashes.in_text(line).is_empty() {
        leaks.push(format!("a secret hash in the log line {line}"));
    }
    leaks
}

/// Whether an answer may carry a secret: the `201` of a create or a rotation.
fn may_hold_a_secret(method: &str, path: &str, status: u64) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let minting = matches!(segments.as_slice(), ["tokens"] | ["tokens", _, "rotate"]);
    status == 201 && method == "POST" && minting
}

/// What is wrong with one captured HTTP answer (`{method, path, status, body}`).
fn response_leaks(record: &Value, hashes: &Hashes) -> Vec<String> {
    let method = record["method"].as_str().unwrap_or_default();
    let path = record["path"].as_str().unwrap_or_default();
    let status = record["status"].as_u64().unwrap_or_default();
    let body = record["body"].as_str().unwrap_or_default();
    let mut leaks = Vec::new();
    if !secrets_in(body).is_empty() && !may_hold_a_secret(method, path, status) {
        leaks.push(format!("a secret in the {status} of {method} {path}"));
    }
    if !hashes.in_text(body).is_empty() {
        leaks.push(format!("a secret hash in the {status} of {method} {path}"));
    }
    leaks
}

/// The capture files whose names start with `prefix`.
fn capture_files(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".jsonl"))
        })
        .collect();
    files.sort();
    files
}

/// Every line of the capture files with `prefix`.
fn capture_lines(dir: &Path, prefix: &str) -> Vec<String> {
    capture_files(dir, prefix)
        .iter()
        .flat_map(|p| {
            let bytes = std::fs::read(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
            String::from_utf8_lossy(&bytes)
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Counts of what a check looked at, and what it found.
#[derive(Debug, Default)]
struct Report {
    tables: usize,
    items: usize,
    log_lines: usize,
    responses: usize,
    responses_with_a_secret: usize,
    leaks: Vec<String>,
}

/// The DynamoDB Locals the suite ran on: `DYNAMODB_ENDPOINTS` (space-separated; `scripts/test`
/// runs two), else `DYNAMODB_ENDPOINT`.
fn endpoints() -> Vec<String> {
    match std::env::var("DYNAMODB_ENDPOINTS") {
        Ok(list) if !list.trim().is_empty() => {
            list.split_whitespace().map(str::to_string).collect()
        }
        _ => vec![endpoint()],
    }
}

/// Every item of every table of every endpoint, with the hashes collected first.
async fn scan_tables() -> (Vec<(String, Item)>, Hashes) {
    let (mut items, mut hashes) = (Vec::new(), Hashes::default());
    for endpoint in endpoints() {
        scan_endpoint(&endpoint, &mut items, &mut hashes).await;
    }
    (items, hashes)
}

/// Every item of every table of one DynamoDB Local.
async fn scan_endpoint(endpoint: &str, items: &mut Vec<(String, Item)>, hashes: &mut Hashes) {
    let db = dynamodb(endpoint);
    let mut tables = Vec::new();
    let mut start = None;
    loop {
        let out = db
            .list_tables()
            .set_exclusive_start_table_name(start)
            .send()
            .await
            .unwrap();
        tables.extend(out.table_names.unwrap_or_default());
        start = out.last_evaluated_table_name;
        if start.is_none() {
            break;
        }
    }
    for table in tables {
        let mut start = None;
        loop {
            let out = db
                .scan()
                .table_name(&table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            for item in out.items.unwrap_or_default() {
                if is_credential(&item) {
                    if let Some(AttributeValue::S(h)) = item.get(schema::SECRET_HASH) {
                        hashes.add(h);
                    }
                }
                items.push((table.clone(), item));
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
    }
}

/// The whole check over the tables and a capture directory.
fn check(items: &[(String, Item)], hashes: &Hashes, dir: &Path) -> Report {
    let mut report = Report {
        tables: items.iter().map(|(t, _)| t).collect::<HashSet<_>>().len(),
        items: items.len(),
        ..Report::default()
    };
    for (table, item) in items {
        report.leaks.extend(item_leaks(table, item, hashes));
    }
    for line in capture_lines(dir, capture::LOGS) {
        report.log_lines += 1;
        report.leaks.extend(log_leaks(&line, hashes));
    }
    for line in capture_lines(dir, capture::HTTP) {
        report.responses += 1;
        let record: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("a captured answer that is not JSON ({e}): {line}"));
        if !secrets_in(record["body"].as_str().unwrap_or_default()).is_empty() {
            report.responses_with_a_secret += 1;
        }
        report.leaks.extend(response_leaks(&record, hashes));
    }
    report
}

#[tokio::test]
#[ignore = "scripts/test runs this after the suite, over every table, log and answer of the suite"]
async fn no_secret_or_hash_leaks_into_tables_logs_or_responses() {
    let dir = capture::dir().unwrap_or_else(|| {
        panic!(
            "{} is not set: run ./scripts/test, which captures the suite's logs and answers",
            capture::DIR_VAR
        )
    });
    let (items, hashes) = scan_tables().await;
    let report = check(&items, &hashes, &dir);
    println!(
        "scanned {} tables, {} items, {} hashes; {} log lines; {} answers, {} of them a create or rotation with its secret",
        report.tables,
        report.items,
        hashes.len(),
        report.log_lines,
        report.responses,
        report.responses_with_a_secret
    );
    let shown: Vec<&String> = report.leaks.iter().take(50).collect();
    assert!(
        report.leaks.is_empty(),
        "{} leaks, first ones:\n{shown:#?}",
        report.leaks.len()
    );
    // What a scan of the suite must at least have looked at, so an empty scan cannot pass:
    // the README's suite, or (`SUITE_SCAN`) the emulator suite (`deployed`,
    // scripts/test-lambda) or the fault runs (`faults`, scripts/test-faults).
    let (tables, items, hashes_min, lines, responses, with_secret) =
        match std::env::var("SUITE_SCAN").as_deref() {
            Ok("deployed") => (0, 20, 5, 40, 30, 3),
            Ok("faults") => (3, 300, 100, 50, 500, 20),
            _ => (10, 300, 150, 100, 500, 50),
        };
    assert!(
        report.tables > tables && report.items > items,
        "the suite did not run first"
    );
    assert!(hashes.len() > hashes_min, "credentials were written");
    assert!(
        report.log_lines > lines,
        "the service's logs were not captured"
    );
    assert!(
        report.responses > responses && report.responses_with_a_secret > with_secret,
        "the suite's answers were not captured"
    );
}

// ---- the detectors, on planted values ----

fn a_secret() -> String {
    secret::generate(
        "tkn",
        uuid::Uuid::now_v7(),
        &ring::rand::SystemRandom::new(),
    )
    .expose()
    .to_string()
}

/// A real stored hash (HMAC-SHA256 under a random key) and its raw bytes.
fn a_hash() -> (String, Vec<u8>) {
    let s = secret::generate(
        "tkn",
        uuid::Uuid::now_v7(),
        &ring::rand::SystemRandom::new(),
    );
    let stored =
        secret::SecretHasher::new(uuid::Uuid::now_v7().as_bytes().repeat(2).as_slice()).hash(&s);
    let raw = URL_SAFE_NO_PAD.decode(&stored).unwrap();
    (stored, raw)
}

#[test]
fn the_secret_detector_finds_a_secret_inside_other_text() {
    let s = a_secret();
    let text = format!("note: {s} was here");
    assert_eq!(secrets_in(&text), [s.as_str()]);
    assert_eq!(secrets_in(&format!(r#"{{"token":"{s}"}}"#)), [s.as_str()]);
    assert!(secrets_in("tkn_abc and snake_case words").is_empty());
    // After any character, of any width: the scan reads stored text of every alphabet.
    assert_eq!(secrets_in(&format!("é§{s}")), [s.as_str()]);
    assert!(secrets_in("ï§_öh¤ 𐐀_x").is_empty());
    let mut edited = s.clone().into_bytes();
    edited[10] = if edited[10] == b'A' { b'B' } else { b'A' };
    assert!(
        secrets_in(&String::from_utf8(edited).unwrap()).is_empty(),
        "checksum checked"
    );
}

#[test]
fn the_hash_detector_finds_a_hash_in_every_form_and_nothing_else() {
    let (stored, raw) = a_hash();
    let mut hashes = Hashes::default();
    hashes.add(&stored);
    hashes.add("not-a-real-hash");
    assert_eq!(hashes.len(), 1);
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    for form in [
        stored.clone(),
        hex.clone(),
        hex.to_uppercase(),
        STANDARD.encode(&raw),
        STANDARD_NO_PAD.encode(&raw),
    ] {
        for text in [
            form.clone(),
            format!(r#"{{"fields":{{"hash":"{form}"}}}}"#),
            format!("xyz{form}xyz"),
        ] {
            assert!(!hashes.in_text(&text).is_empty(), "{text}");
        }
    }
    assert!(hashes.in_bytes(&[b"sealed:".as_slice(), &raw, b"tail"].concat()));
    let (other, other_raw) = a_hash();
    assert!(hashes.in_text(&other).is_empty());
    assert!(hashes.in_text(&stored[..42]).is_empty());
    assert!(!hashes.in_bytes(&other_raw));
}

#[test]
fn planted_leaks_in_items_logs_and_answers_are_each_reported() {
    let (stored, _) = a_hash();
    let mut hashes = Hashes::default();
    hashes.add(&stored);
    let s = a_secret();
    let id = uuid::Uuid::now_v7();
    let item = |pairs: &[(&str, &str)]| -> Item {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), AttributeValue::S(v.to_string())))
            .collect()
    };
    let cred_pk = schema::credential_pk(id);
    let token_pk = schema::token_pk(id);
    let clean = [
        item(&[("pk", &cred_pk), ("secret_hash", &stored)]),
        item(&[("pk", &token_pk), ("name", "deploy")]),
    ];
    let leaky = [
        item(&[
            ("pk", &token_pk),
            ("description", &format!("hash {stored}")),
        ]),
        item(&[("pk", &token_pk), ("name", &s)]),
        item(&[("pk", &token_pk), ("secret_hash", &stored)]),
        item(&[
            ("pk", &cred_pk),
            ("secret_hash", &stored),
            ("note", &stored),
        ]),
    ];
    for i in &clean {
        assert_eq!(item_leaks("t", i, &hashes), Vec::<String>::new());
    }
    for i in &leaky {
        assert!(!item_leaks("t", i, &hashes).is_empty(), "{i:?}");
    }
    let mut blob = item(&[("pk", &token_pk)]);
    let raw = URL_SAFE_NO_PAD.decode(&stored).unwrap();
    blob.insert("sealed".into(), AttributeValue::B(raw.into()));
    assert!(!item_leaks("t", &blob, &hashes).is_empty());

    // Logs and answers, through the capture files as the harness writes them.
    let dir = std::env::temp_dir().join(format!("after-suite-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    plant_capture_files(&dir, id, &s, &stored);
    let items: Vec<(String, Item)> = clean.iter().map(|i| ("t".to_string(), i.clone())).collect();
    let report = check(&items, &hashes, &dir);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!((report.log_lines, report.responses), (3, 7));
    assert_eq!(report.responses_with_a_secret, 5);
    assert_eq!(
        report.leaks.len(),
        6,
        "2 log lines, 3 answers with a secret, 1 with a hash: {:#?}",
        report.leaks
    );
    let mut answers: Vec<&str> = report
        .leaks
        .iter()
        .map(String::as_str)
        .filter(|l| !l.contains("log line"))
        .collect();
    answers.sort_unstable();
    assert_eq!(
        answers,
        [
            "a secret hash in the 201 of POST /tokens".to_string(),
            format!("a secret in the 200 of GET /tokens/{id}"),
            format!("a secret in the 201 of POST /tokens/{id}/revoke"),
            "a secret in the 422 of POST /tokens".to_string(),
        ]
    );
}

/// Writes capture files into `dir` as the harness does: three log lines (one clean, one with
/// `secret`, one with `hash`), and seven answers: a creation and a rotation showing `secret`
/// as they may, a list, three answers showing it that must not, and a creation showing `hash`.
fn plant_capture_files(dir: &Path, id: uuid::Uuid, secret: &str, hash: &str) {
    let log = |fields: Value| serde_json::json!({"level": "INFO", "fields": fields}).to_string();
    std::fs::write(
        dir.join(format!("{}1.jsonl", capture::LOGS)),
        [
            log(serde_json::json!({"message": "token created"})),
            log(serde_json::json!({"message": "authorization denied", "token": secret})),
            log(serde_json::json!({"message": "verify", "hash": hash})),
        ]
        .join("\n"),
    )
    .unwrap();
    let answer = |method: &str, path: &str, status: u16, body: String| {
        serde_json::json!({"method": method, "path": path, "status": status, "body": body})
            .to_string()
    };
    let created = format!(r#"{{"id":"{id}","secret":"{secret}"}}"#);
    std::fs::write(
        dir.join(format!("{}1.jsonl", capture::HTTP)),
        [
            answer("POST", "/tokens", 201, created.clone()),
            answer(
                "POST",
                &format!("/tokens/{id}/rotate"),
                201,
                created.clone(),
            ),
            answer("GET", "/tokens", 200, r#"{"items":[]}"#.into()),
            answer("GET", &format!("/tokens/{id}"), 200, created.clone()),
            answer(
                "POST",
                "/tokens",
                422,
                format!(r#"{{"detail":"{secret}"}}"#),
            ),
            answer(
                "POST",
                &format!("/tokens/{id}/revoke"),
                201,
                created.clone(),
            ),
            answer("POST", "/tokens", 201, format!(r#"{{"hash":"{hash}"}}"#)),
        ]
        .join("\n"),
    )
    .unwrap();
}
