//! Unicode edge cases: NULs, lone surrogates, invalid UTF-8, byte-order marks, control and
//! invisible characters.

use super::case::{case, create, Case, JSON};

pub(super) const CASES: &[Case] = &[
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
];
