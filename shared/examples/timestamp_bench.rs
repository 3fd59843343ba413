//! Does the hand-written timestamp writer pay for itself? Times `time::format` (digit by
//! digit) against chrono's two ways of writing the same text, per call and as a JSON string;
//! then the list page's JSON answer (`http::list_response`, 100 tokens) and what chrono's
//! writer would add to it.
//!
//! `cargo run --release -p api-tokens --example timestamp_bench` (docs/benchmarks.md,
//! "Hand-written or library").

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use api_tokens::model::{StoredStatus, TokenItem};
use api_tokens::service::listing::{ListQuery, ListResult, ReadStats};
use api_tokens::time::{self, Timestamp};
use chrono::{DateTime, Datelike, SecondsFormat};
use serde::Serializer as _;
use uuid::Uuid;

/// Many short rounds, of which the fastest counts: on a shared machine most rounds are
/// interrupted, and an interruption only ever adds time.
const ROUNDS: usize = 501;
const CALLS: usize = 2_000;
const PAGES: usize = 10;

type Json<'a> = serde_json::Serializer<&'a mut Vec<u8>>;

fn main() {
    let instants = instants(1_000);
    same_text_in_every_year(&instants);
    let next = |i: usize| black_box(&instants[i % instants.len()]);

    println!("fastest of {ROUNDS} rounds of {CALLS}, ns per call:");
    let per_call = |name: &str, f: &dyn Fn(&Timestamp) -> String| {
        let ns = fastest_ns(CALLS, |i| drop(black_box(f(next(i)))));
        println!("  {name:<55} {ns:>6.1}");
    };
    per_call("time::format (digit by digit)", &time::format);
    per_call("chrono to_rfc3339_opts(Millis, true)", &|t| {
        t.to_rfc3339_opts(SecondsFormat::Millis, true)
    });
    per_call(
        "chrono format(\"%Y-%m-%dT%H:%M:%S%.3fZ\").to_string()",
        &|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
    );

    println!("as a JSON string into a reused buffer, ns per call:");
    let into_json = |name: &str, f: &dyn Fn(&Timestamp, &mut Json)| {
        let mut buf = Vec::with_capacity(64);
        let ns = fastest_ns(CALLS, |i| {
            buf.clear();
            f(next(i), &mut serde_json::Serializer::new(&mut buf));
        });
        println!("  {name:<55} {ns:>6.1}");
        ns
    };
    let ours = into_json("time::rfc3339::serialize (from the stack)", &|t, s| {
        time::rfc3339::serialize(t, s).unwrap()
    });
    let chrono = into_json("chrono to_rfc3339_opts, then serialize_str", &|t, s| {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
            .unwrap()
    });

    let page = page(100);
    let query = ListQuery {
        limit: 100,
        ..ListQuery::default()
    };
    let now = time::now();
    let stamps: usize = page.items.iter().map(timestamps_shown).sum();
    let answer = || api_tokens::http::list_response(&page, &query, now);
    let bytes = answer().into_body().len();
    let us = fastest_ns(PAGES, |_| drop(black_box(answer()))) / 1000.0;
    let more = stamps as f64 * (chrono - ours) / 1000.0;
    println!(
        "list page of {} tokens ({stamps} timestamps, {bytes} bytes of JSON), fastest of \
         {ROUNDS} rounds of {PAGES}:\n  http::list_response {us:.2} µs; chrono's writer would \
         add about {more:.1} µs ({:.0}%)",
        page.items.len(),
        100.0 * more / us
    );
}

/// `time::format` writes what chrono writes, byte for byte: the first and last millisecond
/// of every year 0000..=9999, and every instant timed.
fn same_text_in_every_year(instants: &[Timestamp]) {
    let years = (0..=9999).flat_map(|y| {
        let first = chrono::NaiveDate::from_ymd_opt(y, 1, 1).unwrap();
        let last = chrono::NaiveDate::from_ymd_opt(y, 12, 31).unwrap();
        [
            first.and_hms_opt(0, 0, 0).unwrap().and_utc(),
            last.and_hms_milli_opt(23, 59, 59, 999).unwrap().and_utc(),
        ]
    });
    for t in years.chain(instants.iter().copied()) {
        let text = time::format(&t);
        assert_eq!(text, t.to_rfc3339_opts(SecondsFormat::Millis, true));
        assert!(text.len() == 24 && text.starts_with(&format!("{:04}-", t.year())));
    }
}

/// The fastest of [`ROUNDS`] rounds: time per call of `f(0..calls)`, in nanoseconds.
fn fastest_ns(calls: usize, mut f: impl FnMut(usize)) -> f64 {
    for i in 0..calls {
        f(i);
    }
    (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            for i in 0..calls {
                f(i);
            }
            start.elapsed().as_nanos() as f64 / calls as f64
        })
        .fold(f64::INFINITY, f64::min)
}

/// `n` instants in 2025..2027 with milliseconds (a xorshift, so every run sees the same).
fn instants(n: usize) -> Vec<Timestamp> {
    let start = 1_735_689_600_000_i64; // 2025-01-01
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            DateTime::from_timestamp_millis(start + (x % 63_072_000_000) as i64).unwrap()
        })
        .collect()
}

/// A page as a tenant's list shows it: every token created and updated, 60% used, half
/// expiring, one in ten revoked.
fn page(n: usize) -> ListResult {
    let at = instants(5 * n);
    let items = (0..n)
        .map(|i| {
            let revoked = i % 10 == 9;
            TokenItem {
                id: Uuid::now_v7(),
                tenant_id: "acme".into(),
                user_id: format!("user{}", i % 7),
                name: format!("deploy key {i}"),
                description: (i % 3 == 0).then(|| "CI deploys to staging".into()),
                prefix: "tkn_4fGh2kLp".into(),
                scopes: vec!["tokens:read".into(), "deploy:write".into()],
                status: if revoked {
                    StoredStatus::Revoked
                } else {
                    StoredStatus::Active
                },
                created_by: "root".into(),
                created_at: at[5 * i],
                updated_at: at[5 * i + 1],
                last_used_at: (i % 5 < 3).then(|| at[5 * i + 2]),
                last_used_ip: (i % 5 < 3).then(|| "203.0.113.7".into()),
                expires_at: (i % 2 == 0).then(|| at[5 * i + 3]),
                revoked_at: revoked.then(|| at[5 * i + 4]),
                revoked_by: revoked.then(|| "root".into()),
                revoked_via: None,
                revocation_reason: revoked.then(|| "leaked".into()),
                metadata: BTreeMap::from([("team".into(), "platform".into())]),
                allowed_ips: vec![],
                rotated_from: None,
                rotated_to: None,
                updated_by: Some("root".into()),
            }
        })
        .collect();
    ListResult {
        items,
        next_cursor: Some("c".repeat(120)),
        prev_cursor: None,
        total: None,
        total_capped: false,
        stats: ReadStats::default(),
    }
}

/// How many timestamps the API writes for `t`.
fn timestamps_shown(t: &TokenItem) -> usize {
    2 + [t.last_used_at, t.expires_at, t.revoked_at]
        .iter()
        .filter(|x| x.is_some())
        .count()
}
