//! `GET /tokens` parameters, as a specification: what each one accepts and how every bad
//! one is named.

use super::*;

/// A `GET /tokens` request with `raw_query`, as API Gateway's HTTP API sends it and the
/// functions read it.
fn request(raw_query: &str) -> Request {
    let event = serde_json::json!({
        "version": "2.0", "routeKey": "GET /tokens", "rawPath": "/tokens",
        "rawQueryString": raw_query, "headers": {},
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com",
            "requestId": "r", "routeKey": "GET /tokens", "stage": "$default",
            "time": "01/Jan/2027:00:00:00 +0000", "timeEpoch": 0,
            "http": {"method": "GET", "path": "/tokens", "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.7", "userAgent": "test"}
        },
        "isBase64Encoded": false
    });
    crate::http::lambda::read_event(&event.to_string()).expect("an HTTP API event")
}

fn parse(raw_query: &str) -> ListQuery {
    parse_list_query(&request(raw_query)).expect(raw_query)
}

/// Every error as `(parameter, kind)`, or a panic if the query parses.
fn errors(raw_query: &str) -> Vec<(String, &'static str)> {
    match parse_list_query(&request(raw_query)) {
        Err(ApiError::Validation(errors)) => named(errors),
        other => panic!("{raw_query}: {other:?}"),
    }
}

fn named(errors: Vec<FieldError>) -> Vec<(String, &'static str)> {
    errors
        .into_iter()
        .map(|e| (e.loc[1].as_str().unwrap_or_default().to_string(), e.kind))
        .collect()
}

fn one(name: &str, kind: &'static str) -> Vec<(String, &'static str)> {
    vec![(name.to_string(), kind)]
}

fn at(s: &str) -> Option<Timestamp> {
    time::parse(s)
}

#[test]
fn no_parameters_is_the_default_query() {
    let q = parse("");
    assert_eq!(q, ListQuery::default());
    assert_eq!((q.limit, q.descending), (DEFAULT_LIMIT, true));
}

#[test]
fn limit_is_a_whole_number_from_1_to_the_maximum() {
    assert_eq!(parse("limit=1").limit, 1);
    assert_eq!(parse("limit=1000").limit, MAX_LIMIT);
    assert_eq!(errors("limit=0"), one("limit", "greater_than_equal"));
    assert_eq!(errors("limit=1001"), one("limit", "less_than_equal"));
    assert_eq!(errors("limit=ten"), one("limit", "int_parsing"));
}

#[test]
fn a_parameter_given_twice_is_refused_unless_repeatable() {
    assert_eq!(errors("limit=1&limit=2"), one("limit", "multiple_values"));
    assert_eq!(
        errors("cursor=a&cursor=b"),
        one("cursor", "multiple_values")
    );
    let q = parse("status=active&status=revoked,expired&token_ids=0190b0c4-0000-7000-8000-000000000000&token_ids=0190b0c4-0000-7000-8000-000000000001");
    assert_eq!(q.statuses.map(|s| s.len()), Some(3));
    assert_eq!(q.token_ids.map(|ids| ids.len()), Some(2));
}

#[test]
fn statuses_are_a_non_empty_set_of_known_ones() {
    let q = parse("status=active,%20expired,,active");
    assert_eq!(
        q.statuses,
        Some(BTreeSet::from([Status::Active, Status::Expired]))
    );
    assert_eq!(
        parse("status=revoked").statuses,
        Some(BTreeSet::from([Status::Revoked]))
    );
    assert_eq!(
        errors("status=gone"),
        [
            ("status".to_string(), "enum"),
            ("status".to_string(), "missing")
        ]
    );
    assert_eq!(errors("status=,"), one("status", "missing"));
    assert_eq!(errors("status=active,gone"), one("status", "enum"));
}

#[test]
fn booleans_are_true_or_false() {
    let q = parse("include_revoked=true&include_total_count=true");
    assert!(q.include_revoked && q.include_total);
    let q = parse("include_revoked=false&include_total_count=false");
    assert!(!q.include_revoked && !q.include_total);
    assert_eq!(
        errors("include_revoked=yes"),
        one("include_revoked", "bool_parsing")
    );
    assert_eq!(
        errors("include_total_count=1"),
        one("include_total_count", "bool_parsing")
    );
}

#[test]
fn status_and_include_revoked_are_exclusive() {
    assert_eq!(
        errors("status=active&include_revoked=true"),
        one("include_revoked", "mutually_exclusive")
    );
}

#[test]
fn user_name_and_scope_filters_are_checked() {
    let q = parse("user_id=bob@example.com&name=CI%20Deploy&scope=orders:read");
    assert_eq!(q.user_id.as_deref(), Some("bob@example.com"));
    assert_eq!(q.name.as_deref(), Some("ci deploy"), "matched lowercased");
    assert_eq!(q.scope.as_deref(), Some("orders:read"));
    assert_eq!(
        errors("user_id=a%20b"),
        one("user_id", "string_pattern_mismatch")
    );
    assert_eq!(errors("name="), one("name", "string_length"));
    let long = "n".repeat(MAX_NAME_CHARS);
    assert_eq!(parse(&format!("name={long}")).name, Some(long.clone()));
    assert_eq!(
        errors(&format!("name={long}n")),
        one("name", "string_length")
    );
    assert_eq!(errors("scope="), one("scope", "string_length"));
    assert_eq!(
        errors(&format!("scope={}", "s".repeat(65))),
        one("scope", "string_length")
    );
}

#[test]
fn token_ids_are_1_to_the_maximum_distinct_uuids() {
    let id = |i: usize| format!("0190b0c4-0000-7000-8000-{i:012}");
    let q = parse(&format!("token_ids={},{},{}", id(1), id(2), id(1)));
    let want: Vec<Uuid> = [id(1), id(2)].iter().map(|s| s.parse().unwrap()).collect();
    assert_eq!(q.token_ids, Some(want));
    assert_eq!(
        errors("token_ids=nope"),
        [
            ("token_ids".to_string(), "uuid_parsing"),
            ("token_ids".to_string(), "length")
        ]
    );
    let all: Vec<String> = (0..MAX_TOKEN_IDS).map(id).collect();
    assert_eq!(
        parse(&format!("token_ids={}", all.join(",")))
            .token_ids
            .unwrap()
            .len(),
        MAX_TOKEN_IDS
    );
    // Counted as sent: repeats count against the maximum.
    let repeated = vec![id(1); MAX_TOKEN_IDS + 1].join(",");
    assert_eq!(
        errors(&format!("token_ids={repeated}")),
        one("token_ids", "length")
    );
}

#[test]
fn time_windows_need_their_start_before_their_end() {
    let q = parse("created_after=2026-01-01T00:00:00Z&created_before=2026-02-01T00:00:00Z&expires_after=2026-03-01T00:00:00Z&expires_before=2026-04-01T00:00:00Z&last_used_after=2026-05-01T00:00:00Z&last_used_before=2026-06-01T00:00:00Z");
    assert_eq!(q.created.after, at("2026-01-01T00:00:00Z"));
    assert_eq!(q.created.before, at("2026-02-01T00:00:00Z"));
    assert_eq!(q.expires.after, at("2026-03-01T00:00:00Z"));
    assert_eq!(q.expires.before, at("2026-04-01T00:00:00Z"));
    assert_eq!(q.last_used.after, at("2026-05-01T00:00:00Z"));
    assert_eq!(q.last_used.before, at("2026-06-01T00:00:00Z"));
    for (after, before) in [
        ("created_after", "created_before"),
        ("expires_after", "expires_before"),
        ("last_used_after", "last_used_before"),
    ] {
        let same = format!("{after}=2026-01-01T00:00:00Z&{before}=2026-01-01T00:00:00Z");
        assert_eq!(errors(&same), one(before, "range"));
        assert_eq!(
            errors(&format!("{after}=soon")),
            one(after, "datetime_parsing")
        );
    }
}

#[test]
fn names_sort_a_to_z_and_times_newest_first_unless_ordered() {
    let sorted = |raw: &str| {
        let q = parse(raw);
        (q.sort, q.descending)
    };
    assert_eq!(sorted("sort=name"), (SortField::Name, false));
    assert_eq!(sorted("sort=created_at"), (SortField::CreatedAt, true));
    assert_eq!(sorted("sort=expires_at"), (SortField::ExpiresAt, true));
    assert_eq!(sorted("sort=last_used_at"), (SortField::LastUsedAt, true));
    assert_eq!(sorted("sort=name&order=desc"), (SortField::Name, true));
    assert_eq!(sorted("order=asc"), (SortField::CreatedAt, false));
    assert_eq!(errors("sort=size"), one("sort", "enum"));
    assert_eq!(errors("order=up"), one("order", "enum"));
}

#[test]
fn metadata_filters_need_valid_keys_and_other_names_are_unknown() {
    let q = parse("metadata.team=infra&metadata.env=prod");
    assert_eq!(q.metadata.get("team").map(String::as_str), Some("infra"));
    assert_eq!(q.metadata.len(), 2);
    assert_eq!(errors("metadata.=x"), one("metadata.", "invalid_key"));
    assert_eq!(errors("colour=red"), one("colour", "extra_forbidden"));
}

#[test]
fn metadata_filters_read_in_each_spelling() {
    // `metadata=key=value` is what the spec declares (an array every generator sends), the
    // `deepObject` brackets what some send for objects, `metadata.key` the oldest spelling.
    for raw in [
        "metadata=team=infra&metadata=env=prod",
        "metadata=team%3Dinfra&metadata=env%3Dprod",
        "metadata[team]=infra&metadata.env=prod",
        "metadata%5Bteam%5D=infra&metadata%5Benv%5D=prod",
    ] {
        let q = parse(raw);
        assert_eq!(
            q.metadata.get("team").map(String::as_str),
            Some("infra"),
            "{raw}"
        );
        assert_eq!(
            q.metadata.get("env").map(String::as_str),
            Some("prod"),
            "{raw}"
        );
        assert_eq!(q.metadata.len(), 2, "{raw}");
    }
    // The key ends at the first `=`; the value may hold more.
    assert_eq!(
        parse("metadata=expr=a=b")
            .metadata
            .get("expr")
            .map(String::as_str),
        Some("a=b")
    );
    assert_eq!(errors("metadata=team"), one("metadata", "invalid_pair"));
    assert_eq!(errors("metadata==x"), one("metadata", "invalid_key"));
    assert_eq!(
        errors("metadata=team=a&metadata=team=b"),
        one("metadata", "multiple_values")
    );
    assert_eq!(
        errors("metadata[team]=a&metadata.team=b"),
        one("metadata[team]", "multiple_values")
    );
    assert_eq!(errors("metadata[]=x"), one("metadata[]", "invalid_key"));
    assert_eq!(
        errors("metadata[a b]=x"),
        one("metadata[a b]", "invalid_key")
    );
    assert_eq!(
        errors("metadata[team=x"),
        one("metadata[team", "extra_forbidden")
    );
}

#[test]
fn every_documented_default_sent_means_what_leaving_it_out_means() {
    // Generated clients send each parameter's declared default; beside any other parameter
    // it must change nothing (`sort` is left out where the base sorts: given twice is an
    // error of its own).
    let defaults = [
        format!("limit={DEFAULT_LIMIT}"),
        "include_revoked=false".to_string(),
        "sort=created_at".to_string(),
        "include_total_count=false".to_string(),
    ];
    for base in [
        "",
        "status=active",
        "status=revoked,expired&sort=name",
        "user_id=bob",
    ] {
        let sent: Vec<&str> = defaults
            .iter()
            .map(String::as_str)
            .filter(|d| !(base.contains("sort=") && d.starts_with("sort=")))
            .collect();
        let with = [base].into_iter().chain(sent).filter(|p| !p.is_empty());
        let with = with.collect::<Vec<_>>().join("&");
        assert_eq!(parse(&with), parse(base), "{with}");
    }
}

#[test]
fn an_empty_cursor_is_an_invalid_cursor_unless_something_else_is_wrong() {
    assert_eq!(parse("cursor=abc").cursor.as_deref(), Some("abc"));
    assert!(matches!(
        parse_list_query(&request("cursor=")),
        Err(ApiError::InvalidCursor)
    ));
    assert_eq!(
        errors("cursor=&limit=0"),
        one("limit", "greater_than_equal")
    );
}

#[test]
fn every_bad_parameter_is_named_at_once() {
    assert_eq!(
        errors("limit=0&order=up&sort=size"),
        [
            ("limit".to_string(), "greater_than_equal"),
            ("order".to_string(), "enum"),
            ("sort".to_string(), "enum")
        ]
    );
}

#[test]
fn other_routes_refuse_parameters_they_do_not_take() {
    assert!(reject_query(&request(""), &[]).is_ok());
    assert!(reject_query(&request("a=1"), &["a"]).is_ok());
    match reject_query(&request("b=1&a=1&c=2"), &["a"]) {
        Err(ApiError::Validation(e)) => assert_eq!(
            named(e),
            [
                ("b".to_string(), "extra_forbidden"),
                ("c".to_string(), "extra_forbidden")
            ]
        ),
        other => panic!("{other:?}"),
    }
}
