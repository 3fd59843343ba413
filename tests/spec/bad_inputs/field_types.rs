//! Wrong JSON types in `POST /tokens`, one per field.

use super::case::{create, Case};

pub(super) const CASES: &[Case] = &[
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
];
