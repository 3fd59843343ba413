//! Missing and unknown fields, and wrong fields in the bodies of update, rotate and revoke.

use serde_json::json;

use super::case::{case, create, patch, rotate, Case};

pub(super) const CASES: &[Case] = &[
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
];

fn patch_name_of_129() -> Vec<u8> {
    json!({"name": "n".repeat(129)}).to_string().into_bytes()
}
