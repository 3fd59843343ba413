//! Cursors: forged, truncated, edited, oversized, and foreign ones (another query, caller,
//! tenant or deployment's keys).

use super::case::{list, Case};

pub(super) const CASES: &[Case] = &[
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
];
