//! Path ids (malformed, foreign, revoked), and paths or methods no route serves.

use super::case::{case, Case};

pub(super) const CASES: &[Case] = &[
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
];
