//! Content types and body shapes: no JSON content type, malformed JSON, JSON that is no
//! object.

use super::case::{case, create, Case, JSON};

pub(super) const CASES: &[Case] = &[
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
];
