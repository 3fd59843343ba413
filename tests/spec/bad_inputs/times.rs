//! Bad times: unparsable, impossible, out of range, past, or beyond the longest lifetime.

use super::case::{create, list, rotate, Auth, Case};

pub(super) const CASES: &[Case] = &[
    create(
        "create: expires_at is a date without a time",
        r#"{"name": "x", "expires_at": "2030-01-01"}"#,
    )
    .invalid(r#"["body","expires_at"]"#),
    create(
        "create: expires_at has no offset",
        r#"{"name": "x", "expires_at": "2030-01-01T00:00:00"}"#,
    )
    .invalid(r#"["body","expires_at"]"#),
    create(
        "create: expires_at is a word",
        r#"{"name": "x", "expires_at": "tomorrow"}"#,
    )
    .invalid(r#"["body","expires_at"]"#),
    create(
        "create: expires_at is February 30th",
        r#"{"name": "x", "expires_at": "2030-02-30T00:00:00Z"}"#,
    )
    .invalid(r#"["body","expires_at"]"#),
    create(
        "create: expires_at has hour 24",
        r#"{"name": "x", "expires_at": "2030-01-01T24:00:00Z"}"#,
    )
    .invalid(r#"["body","expires_at"]"#),
    create(
        "create: expires_at has offset +24:00",
        r#"{"name": "x", "expires_at": "2030-01-01T00:00:00+24:00"}"#,
    )
    .invalid(r#"["body","expires_at"]"#),
    create(
        "create: expires_at is in the past",
        r#"{"name": "x", "expires_at": "2020-01-01T00:00:00Z"}"#,
    )
    .invalid(r#"["body","expires_at"]"#),
    create(
        "create: expires_at is a past leap second",
        r#"{"name": "x", "expires_at": "2016-12-31T23:59:60Z"}"#,
    )
    .invalid(r#"["body","expires_at"]"#),
    create(
        "create: expires_at in year 0",
        r#"{"name": "x", "expires_at": "0000-01-01T00:00:00Z"}"#,
    )
    .invalid(r#"["body","expires_at"]"#),
    create(
        "create: expires_at in year 10000",
        r#"{"name": "x", "expires_at": "10000-01-01T00:00:00Z"}"#,
    )
    .invalid(r#"["body","expires_at"]"#),
    create(
        "create: expires_at that is year 10000 in UTC",
        r#"{"name": "x", "expires_at": "9999-12-31T23:30:00-01:00"}"#,
    )
    .invalid(r#"["body","expires_at"]"#),
    create(
        "create: expires_at past the longest lifetime (3650 days)",
        r#"{"name": "x", "expires_at": "2099-01-01T00:00:00Z"}"#,
    )
    .invalid(r#"["body","expires_at"]"#),
    create(
        "create: an expiry beyond the caller's own",
        r#"{"name": "x", "expires_at": "2031-01-01T00:00:00Z"}"#,
    )
    .auth(Auth::Expiring)
    .fails(403, "forbidden"),
    rotate(
        "rotate: expires_at in the past",
        r#"{"expires_at": "2001-01-01T00:00:00Z"}"#,
    )
    .invalid(r#"["body","expires_at"]"#),
    rotate(
        "rotate: expires_at past the longest lifetime (3650 days)",
        r#"{"expires_at": "2099-01-01T00:00:00Z"}"#,
    )
    .invalid(r#"["body","expires_at"]"#),
    rotate(
        "rotate: expires_at that is year 10000 in UTC",
        r#"{"expires_at": "9999-12-31T23:59:59-00:01"}"#,
    )
    .invalid(r#"["body","expires_at"]"#),
    list(
        "list: created_after is a word",
        "/tokens?created_after=yesterday",
    )
    .invalid(r#"["query","created_after"]"#),
    list(
        "list: expires_before is a date only",
        "/tokens?expires_before=2030-01-01",
    )
    .invalid(r#"["query","expires_before"]"#),
    list(
        "list: last_used_after is a Unix time",
        "/tokens?last_used_after=1700000000",
    )
    .invalid(r#"["query","last_used_after"]"#),
    list(
        "list: created_after is not before created_before",
        "/tokens?created_after=2026-01-02T00:00:00Z&created_before=2026-01-01T00:00:00Z",
    )
    .invalid(r#"["query","created_before"]"#),
];
