//! The bad-input catalog: one table of requests the API must refuse, each with the exact
//! status and problem `type` it is answered with and, for validation errors, the field the
//! problem names. After every case the whole table must be exactly as it was: a refused
//! request writes nothing.
//!
//! Cursors carry no expiry (a cursor is only a sealed position, see `shared/src/cursor.rs`),
//! so "expired" cursors are not a case here; forged, truncated, edited, oversized and foreign
//! ones (another tenant, another caller, another query, another deployment's keys) are.

use std::collections::{BTreeMap, HashMap};

use api_tokens::service::CreateInput;
use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::{App, Method, Reply};
use serde_json::json;

use crate::{ADMIN, USER};

/// Who calls.
#[derive(Debug, Clone, Copy)]
enum Auth {
    /// `acme/alice`, scopes `tokens:read tokens:write`.
    Alice,
    /// `acme/rita`, scope `tokens:read` only.
    Reader,
    /// `acme/carol`, user scopes, her token expires in a day.
    Expiring,
    /// No `Authorization` header.
    Missing,
    /// This exact `Authorization` value (placeholders filled in).
    Raw(&'static str),
}

/// The request body.
#[derive(Debug, Clone, Copy)]
enum Body {
    Empty,
    /// Text with placeholders filled in.
    Text(&'static str),
    /// Exactly these bytes.
    Bytes(&'static [u8]),
    /// Built at run time (large bodies).
    Built(fn() -> Vec<u8>),
}

/// One bad request and the answer it must get.
#[derive(Debug, Clone, Copy)]
struct Case {
    name: &'static str,
    method: &'static str,
    /// Path and query, with placeholders such as `{id}` and `{cursor}`.
    path: &'static str,
    auth: Auth,
    content_type: Option<&'static str>,
    headers: &'static [(&'static str, &'static str)],
    body: Body,
    status: u16,
    problem: &'static str,
    /// For validation errors: the `loc` (compact JSON) one of the errors must have.
    loc: Option<&'static str>,
}

const JSON: &str = "application/json";

const fn case(name: &'static str, method: &'static str, path: &'static str) -> Case {
    Case {
        name,
        method,
        path,
        auth: Auth::Alice,
        content_type: None,
        headers: &[],
        body: Body::Empty,
        status: 0,
        problem: "",
        loc: None,
    }
}

/// `POST /tokens` with a JSON body.
const fn create(name: &'static str, body: &'static str) -> Case {
    case(name, "POST", "/tokens").json(body)
}

/// `PATCH /tokens/{id}` (one of alice's tokens) with a JSON body.
const fn patch(name: &'static str, body: &'static str) -> Case {
    case(name, "PATCH", "/tokens/{id}").json(body)
}

/// `POST /tokens/{id}/rotate` with a JSON body.
const fn rotate(name: &'static str, body: &'static str) -> Case {
    case(name, "POST", "/tokens/{id}/rotate").json(body)
}

/// `GET /tokens?{query}`.
const fn list(name: &'static str, path: &'static str) -> Case {
    case(name, "GET", path)
}

impl Case {
    const fn json(self, body: &'static str) -> Self {
        Self {
            content_type: Some(JSON),
            body: Body::Text(body),
            ..self
        }
    }

    const fn built(self, body: fn() -> Vec<u8>) -> Self {
        Self {
            content_type: Some(JSON),
            body: Body::Built(body),
            ..self
        }
    }

    const fn bytes(self, content_type: Option<&'static str>, body: &'static [u8]) -> Self {
        Self {
            content_type,
            body: Body::Bytes(body),
            ..self
        }
    }

    const fn auth(self, auth: Auth) -> Self {
        Self { auth, ..self }
    }

    const fn headers(self, headers: &'static [(&'static str, &'static str)]) -> Self {
        Self { headers, ..self }
    }

    /// Answered with this status and problem type.
    const fn fails(self, status: u16, problem: &'static str) -> Self {
        Self {
            status,
            problem,
            ..self
        }
    }

    /// A `422 /problems/validation-error` naming `loc`.
    const fn invalid(self, loc: &'static str) -> Self {
        Self {
            loc: Some(loc),
            ..self.fails(422, "validation-error")
        }
    }

    /// A `400 /problems/malformed-json`.
    const fn malformed(self) -> Self {
        self.fails(400, "malformed-json")
    }

    /// A `400 /problems/invalid-cursor`.
    const fn bad_cursor(self) -> Self {
        self.fails(400, "invalid-cursor")
    }

    /// A `401 /problems/unauthorized`.
    const fn unauthorized(self) -> Self {
        self.fails(401, "unauthorized")
    }
}

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
fn thirty_three_cidrs() -> Vec<u8> {
    let ips: Vec<String> = (0..33).map(|i| format!("10.0.{i}.0/24")).collect();
    json!({"name": "x", "allowed_ips": ips})
        .to_string()
        .into_bytes()
}
fn nested_10k() -> Vec<u8> {
    format!(r#"{{"name": {}"#, "[".repeat(10_000)).into_bytes()
}
fn patch_name_of_129() -> Vec<u8> {
    json!({"name": "n".repeat(129)}).to_string().into_bytes()
}

/// The catalog.
const CASES: &[Case] = &[
    // ---- POST /tokens: wrong JSON types, one per field ----
    create("create: name is a number", r#"{"name": 1}"#).invalid(r#"["body","name"]"#),
    create("create: name is an array", r#"{"name": ["x"]}"#).invalid(r#"["body","name"]"#),
    create("create: name is missing", r#"{"scopes": []}"#).invalid(r#"["body","name"]"#),
    create("create: name is null", r#"{"name": null}"#).invalid(r#"["body","name"]"#),
    create("create: name is empty", r#"{"name": ""}"#).invalid(r#"["body","name"]"#),
    create("create: name is blank", r#"{"name": " \u00a0 "}"#).invalid(r#"["body","name"]"#),
    create(
        "create: description is a number",
        r#"{"name": "x", "description": 5}"#,
    )
    .invalid(r#"["body","description"]"#),
    create(
        "create: scopes is a string",
        r#"{"name": "x", "scopes": "tokens:read"}"#,
    )
    .invalid(r#"["body","scopes"]"#),
    create(
        "create: a scope is a number",
        r#"{"name": "x", "scopes": [1]}"#,
    )
    .invalid(r#"["body","scopes",0]"#),
    create(
        "create: a scope is an array",
        r#"{"name": "x", "scopes": ["tokens:read", ["tokens:write"]]}"#,
    )
    .invalid(r#"["body","scopes",1]"#),
    create(
        "create: an unknown scope",
        r#"{"name": "x", "scopes": ["tokens:root"]}"#,
    )
    .invalid(r#"["body","scopes",0]"#),
    create(
        "create: a scope listed twice",
        r#"{"name": "x", "scopes": ["tokens:read", "tokens:read"]}"#,
    )
    .invalid(r#"["body","scopes",1]"#),
    create(
        "create: expires_at is a number",
        r#"{"name": "x", "expires_at": 1893456000}"#,
    )
    .invalid(r#"["body","expires_at"]"#),
    create(
        "create: expires_in_days is a string",
        r#"{"name": "x", "expires_in_days": "30"}"#,
    )
    .invalid(r#"["body","expires_in_days"]"#),
    create(
        "create: expires_in_days is fractional",
        r#"{"name": "x", "expires_in_days": 1.5}"#,
    )
    .invalid(r#"["body","expires_in_days"]"#),
    create(
        "create: expires_in_days is 0",
        r#"{"name": "x", "expires_in_days": 0}"#,
    )
    .invalid(r#"["body","expires_in_days"]"#),
    create(
        "create: expires_in_days is 3651",
        r#"{"name": "x", "expires_in_days": 3651}"#,
    )
    .invalid(r#"["body","expires_in_days"]"#),
    create(
        "create: expires_in_days is 1e308",
        r#"{"name": "x", "expires_in_days": 1e308}"#,
    )
    .invalid(r#"["body","expires_in_days"]"#),
    create(
        "create: expires_in_days beyond i64",
        r#"{"name": "x", "expires_in_days": 18446744073709551616}"#,
    )
    .invalid(r#"["body","expires_in_days"]"#),
    create(
        "create: both expiry forms",
        r#"{"name": "x", "expires_in_days": 1, "expires_at": "2099-01-01T00:00:00Z"}"#,
    )
    .invalid(r#"["body","expires_in_days"]"#),
    create(
        "create: user_id is a number",
        r#"{"name": "x", "user_id": 42}"#,
    )
    .invalid(r#"["body","user_id"]"#),
    create(
        "create: user_id holds the key separator",
        r##"{"name": "x", "user_id": "a#b"}"##,
    )
    .invalid(r#"["body","user_id"]"#),
    create(
        "create: user_id is empty",
        r#"{"name": "x", "user_id": ""}"#,
    )
    .invalid(r#"["body","user_id"]"#),
    create(
        "create: metadata is an array",
        r#"{"name": "x", "metadata": []}"#,
    )
    .invalid(r#"["body","metadata"]"#),
    create(
        "create: metadata is a string",
        r#"{"name": "x", "metadata": "team=infra"}"#,
    )
    .invalid(r#"["body","metadata"]"#),
    create(
        "create: a metadata value is a number",
        r#"{"name": "x", "metadata": {"team": 1}}"#,
    )
    .invalid(r#"["body","metadata","team"]"#),
    create(
        "create: a metadata value is an object",
        r#"{"name": "x", "metadata": {"team": {"a": "b"}}}"#,
    )
    .invalid(r#"["body","metadata","team"]"#),
    create(
        "create: a metadata key with a space",
        r#"{"name": "x", "metadata": {"bad key": "v"}}"#,
    )
    .invalid(r#"["body","metadata","bad key"]"#),
    create(
        "create: an empty metadata key",
        r#"{"name": "x", "metadata": {"": "v"}}"#,
    )
    .invalid(r#"["body","metadata",""]"#),
    create(
        "create: allowed_ips is a string",
        r#"{"name": "x", "allowed_ips": "10.0.0.0/8"}"#,
    )
    .invalid(r#"["body","allowed_ips"]"#),
    create(
        "create: an allowed_ips entry is a number",
        r#"{"name": "x", "allowed_ips": [167772160]}"#,
    )
    .invalid(r#"["body","allowed_ips",0]"#),
    // ---- huge bodies ----
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
    // ---- unicode edge cases ----
    create("create: a NUL in the name", r#"{"name": "a\u0000b"}"#).invalid(r#"["body","name"]"#),
    create(
        "create: an escaped lone high surrogate",
        r#"{"name": "\ud800"}"#,
    )
    .malformed(),
    create(
        "create: an escaped lone low surrogate",
        r#"{"name": "x\udc00y"}"#,
    )
    .malformed(),
    case("create: invalid UTF-8 inside a string", "POST", "/tokens")
        .bytes(Some(JSON), b"{\"name\": \"\xc3\x28\"}")
        .malformed(),
    case(
        "create: a UTF-8 byte-order mark before the JSON",
        "POST",
        "/tokens",
    )
    .bytes(Some(JSON), b"\xef\xbb\xbf{\"name\": \"x\"}")
    .malformed(),
    case("create: a UTF-16 body", "POST", "/tokens")
        .bytes(Some(JSON), b"\xff\xfe{\x00\"\x00n\x00\"\x00:\x001\x00}\x00")
        .malformed(),
    create(
        "create: a C1 control character in the name",
        r#"{"name": "a\u0085b"}"#,
    )
    .invalid(r#"["body","name"]"#),
    create(
        "create: DEL in the description",
        r#"{"name": "x", "description": "a\u007fb"}"#,
    )
    .invalid(r#"["body","description"]"#),
    create(
        "create: a newline in the name",
        r#"{"name": "line\nbreak"}"#,
    )
    .invalid(r#"["body","name"]"#),
    create(
        "create: a NUL in a metadata value",
        r#"{"name": "x", "metadata": {"k": "\u0000"}}"#,
    )
    .invalid(r#"["body","metadata","k"]"#),
    create(
        "create: a zero-width space in a metadata key",
        r#"{"name": "x", "metadata": {"a\u200bb": "v"}}"#,
    )
    .invalid("[\"body\",\"metadata\",\"a\u{200b}b\"]"),
    create(
        "create: a right-to-left override in user_id",
        r#"{"name": "x", "user_id": "bob\u202egpj"}"#,
    )
    .invalid(r#"["body","user_id"]"#),
    create(
        "create: a fullwidth letter in a scope",
        r#"{"name": "x", "scopes": ["tokens:reａd"]}"#,
    )
    .invalid(r#"["body","scopes",0]"#),
    // ---- bad times ----
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
    // ---- bad CIDRs ----
    create(
        "create: an IPv4 prefix of 33",
        r#"{"name": "x", "allowed_ips": ["10.0.0.0/33"]}"#,
    )
    .invalid(r#"["body","allowed_ips",0]"#),
    create(
        "create: an IPv6 prefix of 129",
        r#"{"name": "x", "allowed_ips": ["2001:db8::/129"]}"#,
    )
    .invalid(r#"["body","allowed_ips",0]"#),
    create(
        "create: a negative prefix",
        r#"{"name": "x", "allowed_ips": ["10.0.0.0/-1"]}"#,
    )
    .invalid(r#"["body","allowed_ips",0]"#),
    create(
        "create: an IPv4-mapped IPv6 block",
        r#"{"name": "x", "allowed_ips": ["::ffff:10.0.0.0/104"]}"#,
    )
    .invalid(r#"["body","allowed_ips",0]"#),
    create(
        "create: an IPv4-mapped IPv6 address",
        r#"{"name": "x", "allowed_ips": ["10.0.0.0/8", "::ffff:192.0.2.1"]}"#,
    )
    .invalid(r#"["body","allowed_ips",1]"#),
    create(
        "create: an octet over 255",
        r#"{"name": "x", "allowed_ips": ["256.0.0.0/8"]}"#,
    )
    .invalid(r#"["body","allowed_ips",0]"#),
    create(
        "create: an octet with a leading zero",
        r#"{"name": "x", "allowed_ips": ["010.0.0.0/8"]}"#,
    )
    .invalid(r#"["body","allowed_ips",0]"#),
    create(
        "create: two prefixes",
        r#"{"name": "x", "allowed_ips": ["10.0.0.0/8/8"]}"#,
    )
    .invalid(r#"["body","allowed_ips",0]"#),
    create(
        "create: a hostname",
        r#"{"name": "x", "allowed_ips": ["example.com"]}"#,
    )
    .invalid(r#"["body","allowed_ips",0]"#),
    create(
        "create: an empty block",
        r#"{"name": "x", "allowed_ips": [""]}"#,
    )
    .invalid(r#"["body","allowed_ips",0]"#),
    create(
        "create: an IPv6 zone id",
        r#"{"name": "x", "allowed_ips": ["fe80::1%eth0"]}"#,
    )
    .invalid(r#"["body","allowed_ips",0]"#),
    case("create: 33 blocks", "POST", "/tokens")
        .built(thirty_three_cidrs)
        .invalid(r#"["body","allowed_ips"]"#),
    // ---- cursors ----
    list(
        "list: a forged cursor",
        "/tokens?cursor=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    )
    .bad_cursor(),
    list(
        "list: a truncated cursor",
        "/tokens?limit=1&cursor={cursor_truncated}",
    )
    .bad_cursor(),
    list(
        "list: an edited cursor",
        "/tokens?limit=1&cursor={cursor_edited}",
    )
    .bad_cursor(),
    list(
        "list: a cursor of 600 characters",
        "/tokens?cursor={cursor_long}",
    )
    .bad_cursor(),
    list("list: an empty cursor", "/tokens?cursor=").bad_cursor(),
    list(
        "list: a cursor that is not base64url",
        "/tokens?cursor=%FF%FE%00",
    )
    .bad_cursor(),
    list(
        "list: a cursor with padding appended",
        "/tokens?limit=1&cursor={cursor}%3D%3D",
    )
    .bad_cursor(),
    list(
        "list: a cursor of another query",
        "/tokens?limit=1&status=active&cursor={cursor}",
    )
    .bad_cursor(),
    list(
        "list: a cursor of another sort",
        "/tokens?limit=1&sort=name&cursor={cursor}",
    )
    .bad_cursor(),
    list(
        "list: a cursor of another caller in the tenant",
        "/tokens?limit=1&cursor={cursor_of_bob}",
    )
    .bad_cursor(),
    list(
        "list: a cursor of another tenant",
        "/tokens?limit=1&cursor={cursor_of_globex}",
    )
    .bad_cursor(),
    list(
        "list: a cursor sealed with another deployment's keys",
        "/tokens?limit=1&cursor={cursor_of_other_keys}",
    )
    .bad_cursor(),
    list(
        "list: two cursors",
        "/tokens?cursor={cursor}&cursor={cursor}",
    )
    .invalid(r#"["query","cursor"]"#),
    // ---- missing and unknown fields ----
    create(
        "create: an unknown field",
        r#"{"name": "x", "colour": "red"}"#,
    )
    .invalid(r#"["body","colour"]"#),
    create(
        "create: a client-chosen id",
        r#"{"name": "x", "id": "0190b0c4-0000-7000-8000-000000000000"}"#,
    )
    .invalid(r#"["body","id"]"#),
    create(
        "create: a client-chosen secret",
        r#"{"name": "x", "secret": "tkn_x"}"#,
    )
    .invalid(r#"["body","secret"]"#),
    create(
        "create: another tenant",
        r#"{"name": "x", "tenant_id": "globex"}"#,
    )
    .invalid(r#"["body","tenant_id"]"#),
    create("create: a field in the wrong case", r#"{"Name": "x"}"#).invalid(r#"["body","Name"]"#),
    patch("update: no field", r#"{}"#).invalid(r#"["body"]"#),
    patch("update: name is a number", r#"{"name": 1}"#).invalid(r#"["body","name"]"#),
    patch("update: name is null", r#"{"name": null}"#).invalid(r#"["body","name"]"#),
    patch("update: name is blank", r#"{"name": "   "}"#).invalid(r#"["body","name"]"#),
    case("update: a name of 129 characters", "PATCH", "/tokens/{id}")
        .built(patch_name_of_129)
        .invalid(r#"["body","name"]"#),
    patch("update: description is an array", r#"{"description": []}"#)
        .invalid(r#"["body","description"]"#),
    patch("update: metadata is a string", r#"{"metadata": "x"}"#).invalid(r#"["body","metadata"]"#),
    patch(
        "update: a metadata value is null",
        r#"{"metadata": {"k": null}}"#,
    )
    .invalid(r#"["body","metadata","k"]"#),
    patch(
        "update: scopes cannot change",
        r#"{"scopes": ["tokens:read"]}"#,
    )
    .invalid(r#"["body","scopes"]"#),
    patch(
        "update: the owner cannot change",
        r#"{"name": "x", "user_id": "bob"}"#,
    )
    .invalid(r#"["body","user_id"]"#),
    patch(
        "update: allowed_ips cannot change",
        r#"{"allowed_ips": []}"#,
    )
    .invalid(r#"["body","allowed_ips"]"#),
    patch("update: an unknown field", r#"{"status": "active"}"#).invalid(r#"["body","status"]"#),
    patch("update: the body is an array", r#"[{"name": "x"}]"#).invalid(r#"["body"]"#),
    rotate(
        "rotate: grace_period_seconds is a string",
        r#"{"grace_period_seconds": "60"}"#,
    )
    .invalid(r#"["body","grace_period_seconds"]"#),
    rotate(
        "rotate: grace_period_seconds is negative",
        r#"{"grace_period_seconds": -1}"#,
    )
    .invalid(r#"["body","grace_period_seconds"]"#),
    rotate(
        "rotate: grace_period_seconds over 7 days",
        r#"{"grace_period_seconds": 604801}"#,
    )
    .invalid(r#"["body","grace_period_seconds"]"#),
    rotate(
        "rotate: grace_period_seconds is fractional",
        r#"{"grace_period_seconds": 1.5}"#,
    )
    .invalid(r#"["body","grace_period_seconds"]"#),
    rotate("rotate: expires_at is a boolean", r#"{"expires_at": true}"#)
        .invalid(r#"["body","expires_at"]"#),
    rotate(
        "rotate: a field only create takes",
        r#"{"name": "new name"}"#,
    )
    .invalid(r#"["body","name"]"#),
    rotate("rotate: the body is null", "null").invalid(r#"["body"]"#),
    case("revoke: reason is a number", "POST", "/tokens/{id}/revoke")
        .json(r#"{"reason": 7}"#)
        .invalid(r#"["body","reason"]"#),
    case("revoke: reason holds a NUL", "POST", "/tokens/{id}/revoke")
        .json(r#"{"reason": "\u0000"}"#)
        .invalid(r#"["body","reason"]"#),
    case("revoke: an unknown field", "POST", "/tokens/{id}/revoke")
        .json(r#"{"why": "x"}"#)
        .invalid(r#"["body","why"]"#),
    // ---- content types and body shapes ----
    case("create: text/plain", "POST", "/tokens")
        .bytes(Some("text/plain"), br#"{"name": "x"}"#)
        .fails(415, "unsupported-media-type"),
    case("create: a form", "POST", "/tokens")
        .bytes(Some("application/x-www-form-urlencoded"), b"name=x")
        .fails(415, "unsupported-media-type"),
    case("create: multipart", "POST", "/tokens")
        .bytes(Some("multipart/form-data; boundary=x"), b"--x--")
        .fails(415, "unsupported-media-type"),
    case("create: no content type", "POST", "/tokens")
        .bytes(None, br#"{"name": "x"}"#)
        .fails(415, "unsupported-media-type"),
    case("create: application/jsonx", "POST", "/tokens")
        .bytes(Some("application/jsonx"), br#"{"name": "x"}"#)
        .fails(415, "unsupported-media-type"),
    case(
        "create: JSON with a charset is parsed (and validated)",
        "POST",
        "/tokens",
    )
    .bytes(Some("application/json; charset=utf-8"), br#"{"name": 1}"#)
    .invalid(r#"["body","name"]"#),
    case("update: text/plain", "PATCH", "/tokens/{id}")
        .bytes(Some("text/plain"), br#"{"name": "x"}"#)
        .fails(415, "unsupported-media-type"),
    case("rotate: text/plain", "POST", "/tokens/{id}/rotate")
        .bytes(Some("text/plain"), b"{}")
        .fails(415, "unsupported-media-type"),
    create("create: truncated JSON", r#"{"name": "x""#).malformed(),
    create("create: single quotes", r#"{'name': 'x'}"#).malformed(),
    create("create: a trailing comma", r#"{"name": "x",}"#).malformed(),
    create("create: two documents", r#"{"name": "x"}{"name": "y"}"#).malformed(),
    create("create: NaN", r#"{"name": "x", "expires_in_days": NaN}"#).malformed(),
    case("create: an empty body", "POST", "/tokens")
        .bytes(Some(JSON), b"")
        .invalid(r#"["body"]"#),
    create("create: whitespace only", "  \n ").malformed(),
    create("create: a JSON array", r#"[{"name": "x"}]"#).invalid(r#"["body"]"#),
    create("create: a JSON number", "42").invalid(r#"["body"]"#),
    create("create: a JSON string", r#""x""#).invalid(r#"["body"]"#),
    create("create: JSON null", "null").invalid(r#"["body"]"#),
    case("update: an empty body", "PATCH", "/tokens/{id}")
        .bytes(Some(JSON), b"")
        .invalid(r#"["body"]"#),
    // ---- query parameters ----
    list("list: limit 0", "/tokens?limit=0").invalid(r#"["query","limit"]"#),
    list("list: limit 1001", "/tokens?limit=1001").invalid(r#"["query","limit"]"#),
    list("list: a negative limit", "/tokens?limit=-5").invalid(r#"["query","limit"]"#),
    list("list: limit is a word", "/tokens?limit=ten").invalid(r#"["query","limit"]"#),
    list("list: limit in exponent form", "/tokens?limit=1e3").invalid(r#"["query","limit"]"#),
    list(
        "list: limit beyond u64",
        "/tokens?limit=99999999999999999999999",
    )
    .invalid(r#"["query","limit"]"#),
    list("list: limit is empty", "/tokens?limit=").invalid(r#"["query","limit"]"#),
    list("list: limit given twice", "/tokens?limit=10&limit=20").invalid(r#"["query","limit"]"#),
    list("list: an unknown parameter", "/tokens?colour=red").invalid(r#"["query","colour"]"#),
    list("list: a parameter in the wrong case", "/tokens?Limit=10").invalid(r#"["query","Limit"]"#),
    list("list: an unknown status", "/tokens?status=pending").invalid(r#"["query","status"]"#),
    list("list: an empty status", "/tokens?status=").invalid(r#"["query","status"]"#),
    list(
        "list: status and include_revoked",
        "/tokens?status=active&include_revoked=true",
    )
    .invalid(r#"["query","include_revoked"]"#),
    list(
        "list: include_revoked is yes",
        "/tokens?include_revoked=yes",
    )
    .invalid(r#"["query","include_revoked"]"#),
    list(
        "list: include_total_count is 1",
        "/tokens?include_total_count=1",
    )
    .invalid(r#"["query","include_total_count"]"#),
    list("list: an unknown sort", "/tokens?sort=id").invalid(r#"["query","sort"]"#),
    list(
        "list: sort given twice",
        "/tokens?sort=name&sort=created_at",
    )
    .invalid(r#"["query","sort"]"#),
    list("list: an unknown order", "/tokens?order=up").invalid(r#"["query","order"]"#),
    list(
        "list: a token id that is not a uuid",
        "/tokens?token_ids=abc",
    )
    .invalid(r#"["query","token_ids"]"#),
    list("list: 101 token ids", "/tokens?token_ids={ids_101}").invalid(r#"["query","token_ids"]"#),
    list(
        "list: 101 token ids, all the same (schemathesis found it passing)",
        "/tokens?token_ids={ids_101_same}",
    )
    .invalid(r#"["query","token_ids"]"#),
    list(
        "list: user_id with the key separator",
        "/tokens?user_id=a%23b",
    )
    .invalid(r#"["query","user_id"]"#),
    list(
        "list: a metadata filter with a bad key",
        "/tokens?metadata.bad%20key=x",
    )
    .invalid(r#"["query","metadata.bad key"]"#),
    list(
        "list: a name filter of 129 characters",
        "/tokens?name={name_129}",
    )
    .invalid(r#"["query","name"]"#),
    case("get: a query parameter", "GET", "/tokens/{id}?fields=name")
        .invalid(r#"["query","fields"]"#),
    case("create: a query parameter", "POST", "/tokens?dry_run=true")
        .json(r#"{"name": "x"}"#)
        .invalid(r#"["query","dry_run"]"#),
    // ---- path ids ----
    case("get: an id that is not a uuid", "GET", "/tokens/not-a-uuid")
        .fails(404, "token-not-found"),
    case("get: an id of 5,000 characters", "GET", "/tokens/{long_id}")
        .fails(404, "token-not-found"),
    case("get: a percent-encoded NUL id", "GET", "/tokens/%00").fails(404, "token-not-found"),
    case("get: another tenant's token", "GET", "/tokens/{foreign_id}")
        .fails(404, "token-not-found"),
    case("get: another user's token", "GET", "/tokens/{bob_id}").fails(404, "token-not-found"),
    case(
        "update: another tenant's token",
        "PATCH",
        "/tokens/{foreign_id}",
    )
    .json(r#"{"name": "mine now"}"#)
    .fails(404, "token-not-found"),
    case("update: an id that is not a uuid", "PATCH", "/tokens/x")
        .json(r#"{"name": "y"}"#)
        .fails(404, "token-not-found"),
    case(
        "revoke: another tenant's token",
        "POST",
        "/tokens/{foreign_id}/revoke",
    )
    .fails(404, "token-not-found"),
    case(
        "delete: another tenant's token",
        "DELETE",
        "/tokens/{foreign_id}",
    )
    .fails(404, "token-not-found"),
    case("delete: an id that is not a uuid", "DELETE", "/tokens/42").fails(404, "token-not-found"),
    case(
        "rotate: another tenant's token",
        "POST",
        "/tokens/{foreign_id}/rotate",
    )
    .json("{}")
    .fails(404, "token-not-found"),
    case(
        "rotate: another user's token",
        "POST",
        "/tokens/{bob_id}/rotate",
    )
    .json("{}")
    .fails(404, "token-not-found"),
    case(
        "rotate: a revoked token",
        "POST",
        "/tokens/{revoked_id}/rotate",
    )
    .json("{}")
    .fails(409, "token-not-rotatable"),
    case("a path that is no route", "GET", "/tokens/{id}/secret").fails(404, "route-not-found"),
    case("a method the path does not serve", "PUT", "/tokens/{id}")
        .json(r#"{"name": "x"}"#)
        .fails(405, "method-not-allowed"),
    // ---- Idempotency-Key ----
    create("create: an empty Idempotency-Key", r#"{"name": "x"}"#)
        .headers(&[("idempotency-key", "")])
        .invalid(r#"["header","Idempotency-Key"]"#),
    create(
        "create: an Idempotency-Key of 256 characters",
        r#"{"name": "x"}"#,
    )
    .headers(&[("idempotency-key", "{key_256}")])
    .invalid(r#"["header","Idempotency-Key"]"#),
    create("create: a non-ASCII Idempotency-Key", r#"{"name": "x"}"#)
        .headers(&[("idempotency-key", "clé")])
        .invalid(r#"["header","Idempotency-Key"]"#),
    create("create: a tab in the Idempotency-Key", r#"{"name": "x"}"#)
        .headers(&[("idempotency-key", "a\tb")])
        .invalid(r#"["header","Idempotency-Key"]"#),
    rotate("rotate: an Idempotency-Key of 256 characters", "{}")
        .headers(&[("idempotency-key", "{key_256}")])
        .invalid(r#"["header","Idempotency-Key"]"#),
    create(
        "create: a used Idempotency-Key with another body",
        r#"{"name": "second"}"#,
    )
    .headers(&[("idempotency-key", "used-key")])
    .fails(422, "idempotency-key-reused"),
    // ---- Authorization ----
    case("no Authorization header", "GET", "/tokens")
        .auth(Auth::Missing)
        .unauthorized(),
    case("Bearer without a token", "GET", "/tokens")
        .auth(Auth::Raw("Bearer"))
        .unauthorized(),
    case("Bearer and spaces", "GET", "/tokens")
        .auth(Auth::Raw("Bearer    "))
        .unauthorized(),
    case("Basic credentials", "GET", "/tokens")
        .auth(Auth::Raw("Basic dXNlcjpwYXNz"))
        .unauthorized(),
    case("the token without a scheme", "GET", "/tokens")
        .auth(Auth::Raw("{alice_secret}"))
        .unauthorized(),
    case("a token with a bad checksum", "GET", "/tokens")
        .auth(Auth::Raw("Bearer {alice_secret_edited}"))
        .unauthorized(),
    case("a truncated token", "GET", "/tokens")
        .auth(Auth::Raw("Bearer {alice_secret_truncated}"))
        .unauthorized(),
    case("a token followed by junk", "GET", "/tokens")
        .auth(Auth::Raw("Bearer {alice_secret} x"))
        .unauthorized(),
    case("a token of another service", "GET", "/tokens")
        .auth(Auth::Raw(
            "Bearer ghp_1234567890abcdefghijklmnopqrstuvwxyzAB",
        ))
        .unauthorized(),
    case("a revoked token", "GET", "/tokens")
        .auth(Auth::Raw("Bearer {revoked_secret}"))
        .unauthorized(),
    case("an expired token", "GET", "/tokens")
        .auth(Auth::Raw("Bearer {expired_secret}"))
        .unauthorized(),
    case("a token of another deployment", "GET", "/tokens")
        .auth(Auth::Raw("Bearer {other_keys_secret}"))
        .unauthorized(),
    case("a revoked token creating a token", "POST", "/tokens")
        .json(r#"{"name": "x"}"#)
        .auth(Auth::Raw("Bearer {revoked_secret}"))
        .unauthorized(),
    case("a read-only token creating a token", "POST", "/tokens")
        .json(r#"{"name": "x"}"#)
        .auth(Auth::Reader)
        .fails(403, "missing-scope"),
    create(
        "a user creating a token for another user",
        r#"{"name": "x", "user_id": "bob"}"#,
    )
    .fails(403, "missing-scope"),
    create(
        "granting a scope the caller lacks",
        r#"{"name": "x", "scopes": ["tokens:admin"]}"#,
    )
    .fails(403, "forbidden"),
    list(
        "a user listing another user's tokens",
        "/tokens?user_id=bob",
    )
    .fails(403, "missing-scope"),
];

/// Values the placeholders of [`CASES`] are filled with.
struct Fixtures {
    values: Vec<(&'static str, String)>,
    alice: String,
    reader: String,
    expiring: String,
}

impl Fixtures {
    fn fill(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (k, v) in &self.values {
            out = out.replace(&format!("{{{k}}}"), v);
        }
        assert!(
            !out.contains("{cursor") && !out.contains("_id}") && !out.contains("_secret"),
            "an unfilled placeholder in {text}"
        );
        out
    }
}

/// Flips one character in the middle of a cursor or secret.
fn edited(s: &str) -> String {
    let mut b = s.as_bytes().to_vec();
    let i = b.len() / 2;
    b[i] = if b[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(b).unwrap()
}

/// The next-page cursor of `GET /tokens?{query}` for `token`.
async fn cursor(app: &App, token: &str, query: &str) -> String {
    let r = app.get(&format!("/tokens?{query}"), token).await;
    r.json["next_cursor"]
        .as_str()
        .unwrap_or_else(|| panic!("a second page for {query}: {}", r.text))
        .to_string()
}

async fn fixtures(app: &App) -> Fixtures {
    let alice = app.mint("acme", "alice", USER).await;
    let reader = app.mint("acme", "rita", &["tokens:read"]).await;
    let in_a_day = api_tokens::time::now() + chrono::Duration::days(1);
    let (_, expiring) = app
        .mint_with(
            "acme",
            "carol",
            USER,
            CreateInput {
                expires_at: Some(in_a_day),
                ..Default::default()
            },
        )
        .await;
    let (id, _) = app
        .mint_with("acme", "alice", USER, CreateInput::default())
        .await;
    let (bob_id, bob) = app
        .mint_with("acme", "bob", USER, CreateInput::default())
        .await;
    app.mint("acme", "bob", USER).await;
    let (foreign_id, gina) = app
        .mint_with("globex", "gina", ADMIN, CreateInput::default())
        .await;
    app.mint("globex", "gina", USER).await;
    let (revoked_id, revoked) = app
        .mint_with("acme", "alice", USER, CreateInput::default())
        .await;
    let r = app
        .post(&format!("/tokens/{revoked_id}/revoke"), &alice, json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let an_hour_ago = api_tokens::time::now() - chrono::Duration::hours(1);
    let (_, expired) = app
        .mint_with(
            "acme",
            "alice",
            USER,
            CreateInput {
                expires_at: Some(an_hour_ago),
                ..Default::default()
            },
        )
        .await;
    let r = app
        .post_keyed("/tokens", &alice, "used-key", json!({"name": "first"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);

    let cursor_of_alice = cursor(app, &alice, "limit=1").await;
    let other = App::start().await;
    let other_alice = other.mint("acme", "alice", USER).await;
    other.mint("acme", "alice", USER).await;
    let ids: Vec<String> = (0..101).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let values = vec![
        ("id", id),
        ("bob_id", bob_id),
        ("foreign_id", foreign_id),
        ("revoked_id", revoked_id),
        (
            "cursor_truncated",
            cursor_of_alice[..cursor_of_alice.len() - 3].to_string(),
        ),
        ("cursor_edited", edited(&cursor_of_alice)),
        ("cursor_long", "A".repeat(600)),
        ("cursor_of_bob", cursor(app, &bob, "limit=1").await),
        ("cursor_of_globex", cursor(app, &gina, "limit=1").await),
        (
            "cursor_of_other_keys",
            cursor(&other, &other_alice, "limit=1").await,
        ),
        ("cursor", cursor_of_alice),
        ("ids_101", ids.join(",")),
        ("ids_101_same", vec![ids[0].clone(); 101].join(",")),
        ("name_129", "n".repeat(129)),
        ("key_256", "k".repeat(256)),
        ("key_65", "k".repeat(65)),
        ("long_id", "x".repeat(5000)),
        ("alice_secret_edited", edited(&alice)),
        (
            "alice_secret_truncated",
            alice[..alice.len() - 1].to_string(),
        ),
        ("alice_secret", alice.clone()),
        ("revoked_secret", revoked),
        ("expired_secret", expired),
        ("other_keys_secret", other_alice),
    ];
    Fixtures {
        values,
        alice,
        reader,
        expiring,
    }
}

/// Every item of the table by its key: what "nothing was written" is checked against.
async fn snapshot(app: &App) -> BTreeMap<String, HashMap<String, AttributeValue>> {
    app.scan_all()
        .await
        .into_iter()
        .map(|item| match item.get("pk") {
            Some(AttributeValue::S(pk)) => (pk.clone(), item),
            _ => panic!("an item without a string pk"),
        })
        .collect()
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
    assert!(CASES.len() >= 60, "the catalog has {} cases", CASES.len());
    let app = App::start_with(&[("LAST_USED_INTERVAL_SECONDS", "0")]).await;
    let f = fixtures(&app).await;
    let mut before = snapshot(&app).await;
    let mut failures = Vec::new();
    for case in CASES {
        let reply = send(&app, &f, case).await;
        if let Some(m) = mismatch(case, &f, &reply) {
            failures.push(m);
        }
        let after = snapshot(&app).await;
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
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn catalog_names_are_unique() {
    let mut names: Vec<&str> = CASES.iter().map(|c| c.name).collect();
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
