//! The request bodies, as a specification: what each operation accepts and how it names
//! every field it refuses.

use super::*;
use crate::support::time;
use serde_json::json;

fn create(body: Value) -> Result<CreateInput, ApiError> {
    parse_create(
        &body,
        time::parse("2026-01-01T00:00:00Z").unwrap(),
        &ScopeCatalog::default(),
    )
}

#[test]
fn whole_numbers_written_with_a_fraction_part_of_zero_are_integers() {
    let days = |v: Value| create(json!({"name": "n", "expires_in_days": v}));
    assert!(days(json!(30.0)).is_ok());
    assert!(days(json!(30.5)).is_err());
    assert!(days(json!(1e300)).is_err());
    let now = time::parse("2026-01-01T00:00:00Z").unwrap();
    let grace = parse_rotate(&json!({"grace_period_seconds": 60.0}), now).unwrap();
    assert_eq!(grace.grace_period.num_seconds(), 60);
}

fn error_locs(r: Result<CreateInput, ApiError>) -> Vec<(String, &'static str)> {
    match r {
        Err(ApiError::Validation(errs)) => errs
            .into_iter()
            .map(|e| (serde_json::to_string(&e.loc).unwrap(), e.kind))
            .collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn a_full_valid_body_is_accepted() {
    let input = create(json!({
        "name": "deploy", "description": "CI", "scopes": ["tokens:read"],
        "expires_in_days": 30, "user_id": "bob", "metadata": {"env": "prod"}
    }))
    .unwrap();
    assert_eq!(input.scopes, vec!["tokens:read"]);
    assert_eq!(
        time::format(&input.expires_at.unwrap()),
        "2026-01-31T00:00:00.000Z"
    );
    assert_eq!(input.metadata["env"], "prod");
}

#[test]
fn every_bad_field_is_named() {
    let locs = error_locs(create(json!({
        "name": "", "scopes": ["tokens:read", "nope", 3, "tokens:read"],
        "expires_at": "2020-01-01T00:00:00Z", "user_id": "a#b", "metadata": {"k": 1}, "extra": true
    })));
    assert_eq!(
        locs,
        vec![
            (r#"["body","extra"]"#.into(), "extra_forbidden"),
            (r#"["body","name"]"#.into(), "string_too_short"),
            (r#"["body","scopes",1]"#.into(), "unknown_scope"),
            (r#"["body","scopes",2]"#.into(), "string_type"),
            (r#"["body","scopes",3]"#.into(), "duplicate_scope"),
            (r#"["body","expires_at"]"#.into(), "datetime_future"),
            (r#"["body","user_id"]"#.into(), "string_pattern_mismatch"),
            (r#"["body","metadata","k"]"#.into(), "string_type"),
        ]
    );
}

#[test]
fn name_is_required_and_bounded() {
    assert_eq!(
        error_locs(create(json!({}))),
        vec![(r#"["body","name"]"#.into(), "missing")]
    );
    assert_eq!(
        error_locs(create(json!({"name": null}))),
        vec![(r#"["body","name"]"#.into(), "missing")]
    );
    assert_eq!(
        error_locs(create(json!({"name": "   "}))),
        vec![(r#"["body","name"]"#.into(), "string_too_short")]
    );
    assert!(create(json!({"name": "é".repeat(128)})).is_ok());
    assert_eq!(
        error_locs(create(json!({"name": "x".repeat(129)}))),
        vec![(r#"["body","name"]"#.into(), "string_too_long")]
    );
}

#[test]
fn expiry_forms_are_exclusive_and_checked() {
    assert_eq!(
        error_locs(create(
            json!({"name": "a", "expires_at": "2027-01-01T00:00:00Z", "expires_in_days": 3})
        )),
        vec![(r#"["body","expires_in_days"]"#.into(), "mutually_exclusive")]
    );
    assert_eq!(
        error_locs(create(json!({"name": "a", "expires_in_days": 0}))),
        vec![(r#"["body","expires_in_days"]"#.into(), "range")]
    );
    assert_eq!(
        error_locs(create(json!({"name": "a", "expires_in_days": 1.5}))),
        vec![(r#"["body","expires_in_days"]"#.into(), "int_type")]
    );
    assert_eq!(
        error_locs(create(json!({"name": "a", "expires_at": "tomorrow"}))),
        vec![(r#"["body","expires_at"]"#.into(), "datetime_parsing")]
    );
}

#[test]
fn a_non_object_body_is_a_validation_error() {
    assert_eq!(
        error_locs(create(json!([1, 2]))),
        vec![(r#"["body"]"#.into(), "dict_type")]
    );
}

fn request(content_type: Option<&str>, body: &str) -> Request {
    let mut req = lambda_http::http::Request::builder();
    if let Some(t) = content_type {
        req = req.header(header::CONTENT_TYPE, t);
    }
    req.body(lambda_http::Body::from(body)).unwrap()
}

#[test]
fn a_body_is_json_by_its_content_type_size_and_syntax() {
    let read = |t: Option<&str>, b: &str| read_json(&request(t, b));
    assert!(matches!(read(None, ""), Ok(None)));
    for json in [
        "application/json",
        "Application/JSON; charset=utf-8",
        "application/merge-patch+json",
    ] {
        assert_eq!(read(Some(json), "{}").unwrap(), Some(json!({})), "{json}");
    }
    for other in [
        None,
        Some("text/plain"),
        Some("text/x+json"),
        Some("application/jsonx"),
    ] {
        assert!(
            matches!(read(other, "{}"), Err(HttpError::UnsupportedMediaType)),
            "{other:?}"
        );
    }
    assert!(matches!(
        read(Some("application/json"), "{"),
        Err(HttpError::MalformedJson(_))
    ));
    assert_eq!(MAX_BODY_BYTES, 65_536, "64 KiB");
    let largest = format!("\"{}\"", "x".repeat(MAX_BODY_BYTES - 2));
    assert!(read(Some("application/json"), &largest).is_ok());
    let over = format!("{largest} ");
    assert!(matches!(
        read(Some("application/json"), &over),
        Err(HttpError::PayloadTooLarge(MAX_BODY_BYTES))
    ));
    assert!(matches!(
        required_json(&request(None, "")),
        Err(HttpError::Domain(ApiError::Validation(_)))
    ));
    assert_eq!(
        required_json(&request(Some("application/json"), "[]")).unwrap(),
        json!([])
    );
}

#[test]
fn scopes_and_allowed_ips_are_bounded_lists() {
    let many: Vec<String> = (0..=MAX_SCOPES).map(|i| format!("s{i}")).collect();
    let catalog = ScopeCatalog::with_extra(many.iter().map(String::as_str)).unwrap();
    let now = time::parse("2026-01-01T00:00:00Z").unwrap();
    let all = parse_create(
        &json!({"name": "n", "scopes": catalog.all()}),
        now,
        &catalog,
    );
    assert_eq!(
        all.unwrap().scopes.len(),
        MAX_SCOPES + 4,
        "every scope of a large catalog"
    );
    let too_many = vec!["tokens:read"; MAX_SCOPES + 1];
    let scope_errors = |v: Value| error_locs(create(json!({"name": "n", "scopes": v})));
    assert_eq!(
        scope_errors(json!(too_many)),
        vec![(r#"["body","scopes"]"#.into(), "too_long")]
    );
    assert_eq!(
        scope_errors(json!("tokens:read")),
        vec![(r#"["body","scopes"]"#.into(), "list_type")]
    );
    let ips = |v: Value| create(json!({"name": "n", "allowed_ips": v}));
    assert_eq!(
        ips(json!(["10.1.2.3/8", "2001:db8::1"]))
            .unwrap()
            .allowed_ips,
        ["10.0.0.0/8", "2001:db8::1/128"]
    );
    assert_eq!(
        ips(json!(vec!["10.0.0.0/8"; MAX_ALLOWED_IPS]))
            .unwrap()
            .allowed_ips
            .len(),
        MAX_ALLOWED_IPS
    );
    let ip_errors = |v: Value| error_locs(ips(v));
    assert_eq!(
        ip_errors(json!(vec!["10.0.0.0/8"; MAX_ALLOWED_IPS + 1])),
        vec![(r#"["body","allowed_ips"]"#.into(), "too_long")]
    );
    assert_eq!(
        ip_errors(json!("10.0.0.0/8")),
        vec![(r#"["body","allowed_ips"]"#.into(), "list_type")]
    );
    assert_eq!(
        ip_errors(json!(["10.0.0.0/33", 7])),
        vec![
            (r#"["body","allowed_ips",0]"#.into(), "cidr_parsing"),
            (r#"["body","allowed_ips",1]"#.into(), "string_type")
        ]
    );
}

#[test]
fn expires_in_days_counts_from_now_up_to_the_maximum() {
    let days = |d: i64| create(json!({"name": "n", "expires_in_days": d}));
    let now = time::parse("2026-01-01T00:00:00Z").unwrap();
    assert_eq!(
        days(1).unwrap().expires_at,
        Some(now + chrono::Duration::days(1))
    );
    assert!(days(MAX_EXPIRES_IN_DAYS).is_ok());
    assert_eq!(
        error_locs(days(MAX_EXPIRES_IN_DAYS + 1)),
        vec![(r#"["body","expires_in_days"]"#.into(), "range")]
    );
    assert_eq!(
        create(json!({"name": "n", "description": ""}))
            .unwrap()
            .description,
        None
    );
}

#[test]
fn a_grace_period_is_0_to_7_days_in_whole_seconds() {
    let now = time::parse("2026-01-01T00:00:00Z").unwrap();
    let rotate = |v: Value| parse_rotate(&v, now);
    assert_eq!(
        rotate(json!({})).unwrap().grace_period,
        chrono::Duration::zero()
    );
    let max = MAX_GRACE_PERIOD.num_seconds();
    assert_eq!(
        rotate(json!({"grace_period_seconds": max}))
            .unwrap()
            .grace_period,
        MAX_GRACE_PERIOD
    );
    for (v, kind) in [
        (json!(max + 1), "range"),
        (json!(-1), "range"),
        (json!("60"), "int_type"),
    ] {
        match rotate(json!({"grace_period_seconds": v})) {
            Err(ApiError::Validation(e)) => assert_eq!(e[0].kind, kind),
            other => panic!("{other:?}"),
        }
    }
    let later = rotate(json!({"expires_at": "2026-02-01T00:00:00Z"})).unwrap();
    assert_eq!(later.expires_at, time::parse("2026-02-01T00:00:00Z"));
}

#[test]
fn an_update_changes_name_description_or_metadata_only() {
    let kinds = |v: Value| match parse_update(&v) {
        Err(ApiError::Validation(e)) => e.into_iter().map(|e| e.kind).collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    let patch = parse_update(&json!({"name": "n", "description": null, "metadata": null})).unwrap();
    assert_eq!(patch.name.as_deref(), Some("n"));
    assert_eq!(patch.description, Some(None));
    assert_eq!(patch.metadata, Some(BTreeMap::new()));
    let patch = parse_update(&json!({"description": "", "metadata": {"a": "b"}})).unwrap();
    assert_eq!((patch.name, patch.description), (None, Some(None)));
    assert_eq!(patch.metadata.unwrap()["a"], "b");
    assert_eq!(
        parse_update(&json!({"description": "d"}))
            .unwrap()
            .description,
        Some(Some("d".into()))
    );
    assert_eq!(kinds(json!({})), ["missing"]);
    assert_eq!(kinds(json!({"name": null})), ["missing"]);
    assert_eq!(
        kinds(json!({"scopes": [], "grace_period_seconds": 1, "x": 1})),
        ["immutable", "immutable", "extra_forbidden"]
    );
    assert_eq!(
        parse_revoke(&json!({"reason": "leaked"}))
            .unwrap()
            .as_deref(),
        Some("leaked")
    );
    assert_eq!(parse_revoke(&json!({})).unwrap(), None);
    assert!(parse_revoke(&json!({"reason": ""})).is_err());
}

#[test]
fn ids_exclude_the_key_separator() {
    assert!(valid_id("alice@example.com"));
    assert!(!valid_id("a#b"));
    assert!(!valid_id(""));
    assert!(!valid_id(&"a".repeat(129)));
}
