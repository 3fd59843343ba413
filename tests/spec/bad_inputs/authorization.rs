//! `Authorization`: missing, malformed, revoked, expired or foreign tokens; missing scopes and
//! grants beyond the caller's.

use super::case::{case, create, list, Auth, Case};

pub(super) const CASES: &[Case] = &[
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
