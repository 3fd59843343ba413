//! Query parameters: of the list, and on routes that take none.

use super::case::{case, list, Case};

pub(super) const CASES: &[Case] = &[
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
];
