//! The bad-input catalog: requests the API must refuse, a table per kind of bad input (one
//! file each), each with the exact status and problem `type` it is answered with and, for
//! validation errors, the field the problem names. After every case the whole table must be exactly as it was: a refused
//! request writes nothing.
//!
//! Cursors carry no expiry (a cursor is only a sealed position, see `shared/src/support/cursor.rs`),
//! so "expired" cursors are not a case here; forged, truncated, edited, oversized and foreign
//! ones (another tenant, another caller, another query, another deployment's keys) are.

mod authorization;
mod body_shapes;
mod case;
mod cidrs;
mod cursors;
mod field_types;
mod fields;
mod fixtures;
mod idempotency_key;
mod paths;
mod query;
mod sizes;
mod times;
mod unicode;

use integration_tests::{App, Method, Reply};
use serde_json::json;

use crate::USER;
use case::{Auth, Body, Case};
use fixtures::{fixtures, Fixtures};

/// The catalog, table by table, in the order the cases are sent.
const CATALOG: &[&[Case]] = &[
    field_types::CASES,
    sizes::CASES,
    unicode::CASES,
    times::CASES,
    cidrs::CASES,
    cursors::CASES,
    fields::CASES,
    body_shapes::CASES,
    query::CASES,
    paths::CASES,
    idempotency_key::CASES,
    authorization::CASES,
];

/// Every case of the catalog.
fn cases() -> Vec<&'static Case> {
    CATALOG.iter().flat_map(|table| table.iter()).collect()
}

async fn send(app: &App, f: &Fixtures, case: &Case) -> Reply {
    let auth = match case.auth {
        Auth::Alice => Some(format!("Bearer {}", f.alice)),
        Auth::Reader => Some(format!("Bearer {}", f.reader)),
        Auth::Expiring => Some(format!("Bearer {}", f.expiring)),
        Auth::Missing => None,
        Auth::Raw(v) => Some(f.fill(v)),
    };
    let filled: Vec<(&str, String)> = case.headers.iter().map(|(k, v)| (*k, f.fill(v))).collect();
    let mut headers: Vec<(&str, &str)> = filled.iter().map(|(k, v)| (*k, v.as_str())).collect();
    if let Some(a) = &auth {
        headers.push(("authorization", a));
    }
    if let Some(ct) = case.content_type {
        headers.push(("content-type", ct));
    }
    let body = match case.body {
        Body::Empty => Vec::new(),
        Body::Text(t) => f.fill(t).into_bytes(),
        Body::Bytes(b) => b.to_vec(),
        Body::Built(build) => build(),
    };
    let method = Method::from_bytes(case.method.as_bytes()).unwrap();
    app.raw(method, &f.fill(case.path), &headers, body).await
}

/// What is wrong with `reply` as the answer to `case`, if anything.
fn mismatch(case: &Case, f: &Fixtures, reply: &Reply) -> Option<String> {
    let expected_type = format!("/problems/{}", case.problem);
    let mut wrong = Vec::new();
    if reply.status != case.status {
        wrong.push(format!("status {} (want {})", reply.status, case.status));
    }
    if reply.header("content-type") != "application/problem+json" {
        wrong.push(format!("content-type {:?}", reply.header("content-type")));
    }
    if reply.problem() != expected_type {
        wrong.push(format!(
            "type {:?} (want {expected_type:?})",
            reply.problem()
        ));
    }
    if reply.json["status"] != case.status {
        wrong.push("the body's status differs".into());
    }
    if let Some(loc) = case.loc.map(|l| f.fill(l)) {
        let locs = reply.error_locs();
        if !locs.contains(&loc) {
            let shown = &locs[..locs.len().min(5)];
            wrong.push(format!("{} errors, at {shown:?}… (want {loc})", locs.len()));
        }
    }
    if reply.text.len() > 16 * 1024 {
        wrong.push(format!("a {}-byte problem", reply.text.len()));
    }
    (!wrong.is_empty()).then(|| {
        format!(
            "{}: {} — {}",
            case.name,
            wrong.join("; "),
            truncated(&reply.text)
        )
    })
}

fn truncated(s: &str) -> &str {
    match s.char_indices().nth(300) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[tokio::test]
async fn every_bad_input_gets_its_exact_problem_and_writes_nothing() {
    let cases = cases();
    assert_eq!(
        cases.len(),
        readme_claim(),
        "the README's count is the catalog's"
    );
    let app = App::start_with(&[("LAST_USED_INTERVAL_SECONDS", "0")]).await;
    let f = fixtures(&app).await;
    let mut before = app.snapshot().await;
    let mut failures = Vec::new();
    for case in cases.iter().copied() {
        let reply = send(&app, &f, case).await;
        if let Some(m) = mismatch(case, &f, &reply) {
            failures.push(m);
        }
        let after = app.snapshot().await;
        if after != before {
            let changed: Vec<&String> = after
                .iter()
                .filter(|(k, v)| before.get(*k) != Some(v))
                .map(|(k, _)| k)
                .chain(before.keys().filter(|k| !after.contains_key(*k)))
                .collect();
            failures.push(format!("{}: the table changed at {changed:?}", case.name));
            before = after;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The catalog's size as the README states it ("The catalog has N requests").
fn readme_claim() -> usize {
    let readme = include_str!("../../../README.md");
    let (_, after) = readme
        .split_once("The catalog has ")
        .expect("the README states the catalog's size");
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().expect("a number of cases")
}

/// Adding or removing a case means saying so in the README: the count it claims is exact.
#[test]
fn the_catalog_has_exactly_as_many_cases_as_the_readme_claims() {
    assert_eq!(cases().len(), readme_claim());
}

#[test]
fn catalog_names_are_unique() {
    let mut names: Vec<&str> = cases().iter().map(|c| c.name).collect();
    names.sort_unstable();
    let total = names.len();
    names.dedup();
    assert_eq!(names.len(), total, "two cases share a name");
}

#[tokio::test]
async fn values_just_inside_the_limits_are_accepted_and_read_back() {
    let app = App::start().await;
    let alice = app.mint("acme", "alice", USER).await;
    let cidrs: Vec<String> = (0..32).map(|i| format!("10.0.{i}.0/24")).collect();
    // The longest lifetime, less a minute for the time the request takes.
    let latest = api_tokens::time::format(
        &(api_tokens::time::now()
            + chrono::Duration::days(api_tokens::domain::limits::MAX_LIFETIME_DAYS)
            - chrono::Duration::minutes(1)),
    );
    for (body, field, stored) in [
        (
            json!({"name": "🔑".repeat(128)}),
            "name",
            json!("🔑".repeat(128)),
        ),
        (
            json!({"name": "x", "expires_at": latest}),
            "expires_at",
            json!(latest),
        ),
        (
            json!({"name": "x", "expires_at": "2030-06-30T23:59:60Z"}),
            "expires_at",
            json!("2030-07-01T00:00:00.000Z"),
        ),
        (
            json!({"name": "x", "allowed_ips": cidrs}),
            "allowed_ips",
            json!(cidrs),
        ),
    ] {
        let r = app.post("/tokens", &alice, body.clone()).await;
        assert_eq!(r.status, 201, "{body}: {}", r.text);
        let back = app
            .get(
                &format!("/tokens/{}", r.json["id"].as_str().unwrap()),
                &alice,
            )
            .await;
        assert_eq!(back.status, 200, "{}", back.text);
        assert_eq!(back.json[field], stored, "{body}");
    }
    let all = app.get("/tokens?sort=expires_at", &alice).await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(all.json["items"].as_array().unwrap().len(), 5);
}
