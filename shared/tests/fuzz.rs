//! Property-based fuzzing of everything a client controls before any DynamoDB call: cursors,
//! token secrets, `GET /tokens` query strings and JSON bodies. Each input either parses or
//! fails with an error that the one `HttpError` mapping turns into a 4xx problem response;
//! nothing panics, and no edited cursor or secret is ever accepted.
//!
//! Cases per property come from `PROPTEST_CASES` (proptest's default, 256, when unset), e.g.
//! `PROPTEST_CASES=20000 cargo test -p api-tokens --test fuzz --release` for a longer run.

use api_tokens::cursor::{CursorBinding, CursorCodec};
use api_tokens::http::{
    self, HttpError, CREATE_FIELDS, LIST_PARAMETERS, ROTATE_FIELDS, UPDATE_FIELDS,
};
use api_tokens::scope::ScopeCatalog;
use api_tokens::{secret, time, ApiError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use lambda_http::aws_lambda_events::query_map::QueryMap;
use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::{Body, Request, RequestExt};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use ring::rand::SystemRandom;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------
// Helpers

/// Asserts that `err` maps, through the one `HttpError` → HTTP mapping, to a 4xx
/// problem+json response.
fn assert_client_error(
    err: impl Into<HttpError>,
    input: &dyn std::fmt::Debug,
) -> Result<(), TestCaseError> {
    let err: HttpError = err.into();
    let described = format!("{err:?}");
    let resp = err.into_response("/tokens");
    let status = resp.status().as_u16();
    prop_assert!(
        (400..500).contains(&status),
        "{described} became {status} for {input:?}"
    );
    prop_assert_eq!(
        resp.headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    Ok(())
}

/// Every validation error must name where it is (`body`, `query` or `header` first).
fn assert_names_fields(err: &ApiError, origin: &str) -> Result<(), TestCaseError> {
    if let ApiError::Validation(fields) = err {
        prop_assert!(!fields.is_empty());
        for f in fields {
            prop_assert_eq!(f.loc.first().and_then(Value::as_str), Some(origin));
        }
    }
    Ok(())
}

fn codec() -> CursorCodec {
    CursorCodec::new(&[vec![7u8; 32], vec![9u8; 32]]).expect("two 32-byte keys")
}

const BINDING: CursorBinding<'static> = CursorBinding {
    tenant_id: "acme",
    user_id: "alice",
    query: r#"{"sort":"created_at","desc":true}"#,
};

/// A position as the listing seals it: a direction, then a sort key ending in the token id.
fn position() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just('>'), Just('<')],
        any::<u128>(),
        "[ -~]{0,40}",
    )
        .prop_map(|(d, id, sort)| format!("{d}{sort}#{}", Uuid::from_u128(id)))
}

/// Any Unicode string, biased towards the characters cursors and secrets are made of.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[A-Za-z0-9_-]{0,600}",
        "[a-z0-9]{0,12}_[A-Za-z0-9]{0,60}",
        "[ -~]{0,80}",
    ]
}

/// A realistic API Gateway HTTP API (v2) request for `method path` from an authorized
/// caller, as `lambda_http` builds it from the Lambda event.
fn gateway_request(method: &str, path: &str, raw_query: &str) -> Request {
    let event = json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": {"host": "abc123def4.execute-api.eu-west-1.amazonaws.com"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123def4",
            "authorizer": {"lambda": {
                "tenant_id": "acme", "user_id": "alice",
                "token_id": "0190b0c4-0000-7000-8000-000000000000",
                "scopes": "tokens:read tokens:write"
            }},
            "domainName": "abc123def4.execute-api.eu-west-1.amazonaws.com",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.7", "userAgent": "proptest"},
            "requestId": "fuzz", "routeKey": format!("{method} {path}"), "stage": "$default",
            "time": "22/Nov/2026:23:52:51 +0000", "timeEpoch": 1795392771598u64
        },
        "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).expect("a well-formed v2 event")
}

/// Percent-encodes every byte outside the unreserved set, as a browser or curl would.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A query parameter name: mostly real ones (so their values get exercised), some unknown.
fn parameter_name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => proptest::sample::select(
            LIST_PARAMETERS
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
        ),
        1 => "metadata\\.[ -~]{0,70}",
        1 => "metadata\\[[ -~]{0,70}\\]?",
        1 => any::<String>(),
    ]
}

/// A parameter value: plausible values of every parameter, and anything at all.
fn parameter_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "-?[0-9]{1,25}",
        proptest::sample::select(vec![
            "true", "false", "active", "expired,revoked", "revoked", "asc", "desc", "name",
            "created_at", "expires_at", "last_used_at", "tokens:read", "alice",
        ])
        .prop_map(str::to_string),
        "20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})",
        (any::<u128>(), 0..3usize).prop_map(|(id, n)| vec![Uuid::from_u128(id).to_string(); n + 1].join(",")),
        text(),
    ]
}

/// Any JSON value, nested a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::from),
        "20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z".prop_map(Value::from),
        "([0-9]{1,3}\\.){3}[0-9]{1,3}(/[0-9]{1,3})?".prop_map(Value::from),
        "[0-9a-f:]{2,40}(/[0-9]{1,3})?".prop_map(Value::from),
        proptest::sample::select(vec!["tokens:read", "tokens:write", "tokens:admin"])
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..12).prop_map(Value::Array),
            prop::collection::btree_map("[A-Za-z0-9._:-]{0,70}|\\PC{0,10}", inner, 0..12)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A JSON object whose keys are mostly the fields of the bodies under test.
fn json_body() -> impl Strategy<Value = Value> {
    let fields: Vec<&'static str> = CREATE_FIELDS
        .iter()
        .chain(&ROTATE_FIELDS)
        .chain(&UPDATE_FIELDS)
        .chain(&["reason"])
        .copied()
        .collect();
    let key = prop_oneof![
        8 => proptest::sample::select(fields).prop_map(str::to_string),
        1 => any::<String>(),
    ];
    prop_oneof![
        4 => prop::collection::vec((key, json_value()), 0..8)
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        1 => json_value(),
    ]
}

/// A `POST /tokens` body every field of which is valid.
fn valid_create_body() -> impl Strategy<Value = Value> {
    (
        "[A-Za-z0-9][ -~]{0,60}",
        proptest::sample::subsequence(vec!["tokens:read", "tokens:write", "tokens:admin"], 0..=3),
        1..=api_tokens::domain::limits::MAX_EXPIRES_IN_DAYS,
        prop::collection::btree_map("[A-Za-z0-9._:-]{1,64}", "\\PC{0,40}", 0..5),
        prop::collection::vec(
            (any::<[u8; 4]>(), 0..=32u8)
                .prop_map(|(ip, bits)| format!("{}/{bits}", std::net::Ipv4Addr::from(ip))),
            0..4,
        ),
    )
        .prop_map(|(name, scopes, days, metadata, ips)| {
            json!({"name": name, "scopes": scopes, "expires_in_days": days,
                   "metadata": metadata, "allowed_ips": ips})
        })
}

/// Runs every body parser on `body`; each must succeed or fail with a 4xx naming body fields.
fn parse_every_body(body: &Value) -> Result<(), TestCaseError> {
    let now = time::now();
    let catalog = ScopeCatalog::default();
    let results = [
        http::parse_create(body, now, &catalog).map(drop),
        http::parse_rotate(body, now).map(drop),
        http::parse_update(body).map(drop),
        http::parse_revoke(body).map(drop),
    ];
    for result in results {
        if let Err(err) = result {
            assert_names_fields(&err, "body")?;
            assert_client_error(err, body)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Cursors

proptest! {
    #[test]
    fn an_arbitrary_string_is_never_a_valid_cursor(s in text()) {
        prop_assert!(codec().open(&BINDING, &s).is_err());
    }

    #[test]
    fn arbitrary_bytes_in_cursor_encoding_are_never_a_valid_cursor(
        bytes in prop::collection::vec(any::<u8>(), 0..400)
    ) {
        prop_assert!(codec().open(&BINDING, &URL_SAFE_NO_PAD.encode(bytes)).is_err());
    }

    #[test]
    fn a_valid_cursor_opens_to_its_position(pos in position()) {
        let codec = codec();
        let cursor = codec.seal(&BINDING, &pos);
        prop_assert_eq!(codec.open(&BINDING, &cursor), Ok(pos));
    }

    #[test]
    fn a_cursor_with_any_bit_flipped_is_refused(
        pos in position(), index in any::<prop::sample::Index>(), bit in 0..8u8
    ) {
        let codec = codec();
        let mut bytes = URL_SAFE_NO_PAD.decode(codec.seal(&BINDING, &pos)).unwrap();
        let at = index.index(bytes.len());
        bytes[at] ^= 1 << bit;
        prop_assert!(codec.open(&BINDING, &URL_SAFE_NO_PAD.encode(&bytes)).is_err());
    }

    #[test]
    fn a_cursor_with_any_character_changed_is_refused(
        pos in position(), index in any::<prop::sample::Index>(), replacement in any::<char>()
    ) {
        let codec = codec();
        let cursor = codec.seal(&BINDING, &pos);
        let mut chars: Vec<char> = cursor.chars().collect();
        let at = index.index(chars.len());
        prop_assume!(chars[at] != replacement);
        chars[at] = replacement;
        let edited: String = chars.into_iter().collect();
        prop_assert!(codec.open(&BINDING, &edited).is_err());
    }

    #[test]
    fn a_truncated_or_extended_cursor_is_refused(
        pos in position(), cut in any::<prop::sample::Index>(), tail in "[A-Za-z0-9_-]{1,8}"
    ) {
        let codec = codec();
        let cursor = codec.seal(&BINDING, &pos);
        let truncated = &cursor[..cut.index(cursor.len())];
        prop_assert!(codec.open(&BINDING, truncated).is_err());
        let extended = format!("{cursor}{tail}");
        prop_assert!(codec.open(&BINDING, &extended).is_err());
    }

    #[test]
    fn a_cursor_opens_only_for_its_tenant_caller_and_query(
        pos in position(),
        field in 0..3usize,
        other in "[ -~]{0,40}",
    ) {
        let codec = codec();
        let cursor = codec.seal(&BINDING, &pos);
        let mut foreign = BINDING.clone();
        match field {
            0 => foreign.tenant_id = &other,
            1 => foreign.user_id = &other,
            _ => foreign.query = &other,
        }
        prop_assume!(foreign != BINDING);
        prop_assert!(codec.open(&foreign, &cursor).is_err());
    }

    #[test]
    fn a_cursor_sealed_with_an_unknown_key_is_refused(pos in position(), key in any::<[u8; 32]>()) {
        prop_assume!(key != [7u8; 32] && key != [9u8; 32]);
        let stranger = CursorCodec::new(&[key.to_vec()]).unwrap();
        prop_assert!(codec().open(&BINDING, &stranger.seal(&BINDING, &pos)).is_err());
    }
}

// ---------------------------------------------------------------------------------------
// Token secrets

fn valid_secret() -> impl Strategy<Value = (String, Uuid)> {
    ("[a-z0-9]{2,10}", any::<u128>()).prop_map(|(prefix, id)| {
        let id = Uuid::from_u128(id);
        let s = secret::generate(&prefix, id, &SystemRandom::new());
        (s.expose().to_string(), id)
    })
}

proptest! {
    #[test]
    fn an_arbitrary_string_is_never_a_valid_secret(s in text()) {
        // A random string passes the CRC-32 check with probability 2^-32 at most.
        prop_assert!(secret::parse(&s).is_err());
    }

    #[test]
    fn a_generated_secret_parses_to_its_token_id((s, id) in valid_secret()) {
        prop_assert_eq!(secret::parse(&s).map(|p| p.id), Ok(id));
    }

    #[test]
    fn a_secret_with_any_character_changed_is_refused(
        (s, _) in valid_secret(), index in any::<prop::sample::Index>(), replacement in any::<char>()
    ) {
        let mut chars: Vec<char> = s.chars().collect();
        let at = index.index(chars.len());
        prop_assume!(chars[at] != replacement);
        chars[at] = replacement;
        let edited: String = chars.into_iter().collect();
        prop_assert!(secret::parse(&edited).is_err(), "{} accepted", edited);
    }

    #[test]
    fn a_secret_with_two_neighbours_swapped_is_refused(
        (s, _) in valid_secret(), index in any::<prop::sample::Index>()
    ) {
        let mut bytes = s.into_bytes();
        let at = index.index(bytes.len() - 1);
        prop_assume!(bytes[at] != bytes[at + 1]);
        bytes.swap(at, at + 1);
        prop_assert!(secret::parse(std::str::from_utf8(&bytes).unwrap()).is_err());
    }

    #[test]
    fn a_secret_with_a_character_removed_or_added_is_refused(
        (s, _) in valid_secret(), index in any::<prop::sample::Index>(), extra in any::<char>()
    ) {
        let at = index.index(s.len());
        let removed = format!("{}{}", &s[..at], &s[at + 1..]);
        let added = format!("{}{}{}", &s[..at], extra, &s[at..]);
        prop_assert!(secret::parse(&removed).is_err());
        prop_assert!(secret::parse(&added).is_err());
    }
}

// ---------------------------------------------------------------------------------------
// GET /tokens query strings

proptest! {
    #[test]
    fn any_decoded_query_parameters_parse_or_are_a_4xx_naming_the_parameter(
        params in prop::collection::vec(
            (parameter_name(), prop::collection::vec(parameter_value(), 1..3)), 0..8
        )
    ) {
        let map: HashMap<String, Vec<String>> = params.into_iter().collect();
        let req = gateway_request("GET", "/tokens", "")
            .with_query_string_parameters(QueryMap::from(map.clone()));
        if let Err(err) = http::parse_list_query(&req) {
            if let ApiError::Validation(fields) = &err {
                for f in fields {
                    let name = f.loc.get(1).and_then(Value::as_str).unwrap_or_default();
                    prop_assert!(
                        map.contains_key(name) || name == "include_revoked",
                        "error names {name:?}, not a parameter given"
                    );
                }
            }
            assert_names_fields(&err, "query")?;
            assert_client_error(err, &map)?;
        }
    }

    #[test]
    fn any_raw_query_string_from_api_gateway_parses_or_is_a_4xx(
        pairs in prop::collection::vec((parameter_name(), parameter_value(), any::<bool>()), 0..8),
        junk in "[A-Za-z0-9%&=.,:+_~-]{0,40}",
    ) {
        let mut raw: Vec<String> = pairs
            .iter()
            .map(|(k, v, encode)| {
                if *encode { format!("{}={}", percent_encode(k), percent_encode(v)) }
                else { format!("{}={}", percent_encode(k), v.replace(|c: char| !c.is_ascii_alphanumeric() && !"-._~:,".contains(c), "")) }
            })
            .collect();
        raw.push(junk);
        let raw = raw.join("&");
        let req = gateway_request("GET", "/tokens", &raw);
        if let Err(err) = http::parse_list_query(&req) {
            assert_names_fields(&err, "query")?;
            assert_client_error(err, &raw)?;
        }
    }
}

// ---------------------------------------------------------------------------------------
// JSON bodies of create, update, rotate and revoke

proptest! {
    #[test]
    fn a_create_body_with_every_field_valid_is_accepted(body in valid_create_body()) {
        let parsed = http::parse_create(&body, time::now(), &ScopeCatalog::default());
        prop_assert!(parsed.is_ok(), "{:?} refused: {:?}", body, parsed.err());
    }

    #[test]
    fn any_json_body_is_accepted_or_a_4xx_naming_body_fields(body in json_body()) {
        parse_every_body(&body)?;
    }

    #[test]
    fn any_bytes_as_a_json_body_are_accepted_or_a_4xx(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..300),
            json_body().prop_map(|v| {
                let mut b = v.to_string().into_bytes();
                // Cut valid JSON short half of the time, so the parser sees every prefix.
                let len = b.len();
                b.truncate(len - len / 3);
                b
            }),
        ],
        content_type in prop_oneof![
            Just("application/json"),
            Just("application/problem+json; charset=utf-8"),
            Just("text/plain"),
            Just(""),
        ],
    ) {
        let mut req = gateway_request("POST", "/tokens", "");
        *req.body_mut() = Body::Binary(bytes.clone());
        if !content_type.is_empty() {
            req.headers_mut()
                .insert(CONTENT_TYPE, content_type.parse().unwrap());
        }
        match http::read_json(&req) {
            Ok(Some(body)) => parse_every_body(&body)?,
            Ok(None) => prop_assert!(bytes.is_empty()),
            Err(err) => assert_client_error(err, &bytes)?,
        }
    }
}

#[test]
fn an_oversized_body_is_a_413_before_it_is_parsed() {
    let mut req = gateway_request("POST", "/tokens", "");
    *req.body_mut() = Body::Binary(vec![b'{'; http::MAX_BODY_BYTES + 1]);
    req.headers_mut()
        .insert(CONTENT_TYPE, "application/json".parse().unwrap());
    let err = http::read_json(&req).unwrap_err();
    assert_eq!(err.into_response("/tokens").status().as_u16(), 413);
}
