//! `docs/openapi.yaml` describes exactly what the code serves: routes, parameters, and the
//! fields of every body. A difference either way fails here.

use std::collections::BTreeSet;

use api_tokens::http::{
    self, ListBody, CREATE_FIELDS, LIST_PARAMETERS, ROTATE_FIELDS, UPDATE_FIELDS,
};
use api_tokens::model::CreatedView;
use serde_yaml::Value;

fn spec() -> Value {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.yaml"))
            .expect("read docs/openapi.yaml");
    serde_yaml::from_str(&text).expect("docs/openapi.yaml parses")
}

/// Follows a local `$ref`.
fn resolve<'a>(spec: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let mut node = spec;
            for part in r.trim_start_matches("#/").split('/') {
                node = &node[part];
            }
            resolve(spec, node)
        }
        None => v,
    }
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_mapping()
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn json_keys(v: &serde_json::Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn every_route_is_in_the_spec_and_nothing_else() {
    let s = spec();
    let mut documented = BTreeSet::new();
    for (path, item) in s["paths"].as_mapping().unwrap() {
        for method in keys(item).into_iter().filter(|k| k != "parameters") {
            documented.insert(format!(
                "{} {}",
                method.to_uppercase(),
                path.as_str().unwrap()
            ));
        }
    }
    let served: BTreeSet<String> = http::ROUTES
        .iter()
        .map(|(m, p, _)| format!("{m} {p}"))
        .collect();
    assert_eq!(documented, served);
}

#[test]
fn list_parameters_match_the_parser() {
    let s = spec();
    let documented: BTreeSet<String> = s["paths"]["/tokens"]["get"]["parameters"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| resolve(&s, p)["name"].as_str().unwrap().to_string())
        .collect();
    let parsed: BTreeSet<String> = LIST_PARAMETERS.iter().map(|p| p.to_string()).collect();
    assert_eq!(documented, parsed);
    // The other routes take no query parameters; `{id}` is their only parameter.
    assert!(s["paths"]["/tokens/self"]["get"]["parameters"].is_null());
    for path in ["/tokens/{id}", "/tokens/{id}/revoke", "/tokens/{id}/rotate"] {
        let params = s["paths"][path]["parameters"].as_sequence().unwrap();
        assert_eq!(params.len(), 1);
        assert_eq!(resolve(&s, &params[0])["name"], "id");
    }
}

#[test]
fn body_schemas_have_exactly_the_fields_of_the_code() {
    let s = spec();
    let schema = |name: &str| keys(&s["components"]["schemas"][name]["properties"]);
    let item = integration_tests::sample_token("t", "u");
    let view = serde_json::to_value(item.view(api_tokens::time::now())).unwrap();
    assert_eq!(schema("Token"), json_keys(&view));
    let required: BTreeSet<String> = s["components"]["schemas"]["Token"]["required"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        required,
        json_keys(&view),
        "every Token field is always present"
    );

    let created = serde_json::to_value(CreatedView {
        token: item.view(api_tokens::time::now()),
        secret: "s",
    })
    .unwrap();
    let mut documented = schema("Token");
    documented.extend(keys(
        &s["components"]["schemas"]["CreatedToken"]["allOf"][1]["properties"],
    ));
    assert_eq!(documented, json_keys(&created));

    let list = serde_json::to_value(ListBody {
        items: vec![],
        limit: 1,
        has_next: false,
        has_prev: false,
        next_cursor: None,
        prev_cursor: None,
        total: Some(1),
        total_capped: Some(false),
    })
    .unwrap();
    assert_eq!(schema("TokenList"), json_keys(&list));

    let create: BTreeSet<String> = CREATE_FIELDS.iter().map(|f| f.to_string()).collect();
    assert_eq!(schema("CreateToken"), create);
    assert_eq!(schema("Revoke"), BTreeSet::from(["reason".to_string()]));
    let fields = |f: &[&str]| f.iter().map(|f| f.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(schema("Rotate"), fields(&ROTATE_FIELDS));
    assert_eq!(schema("UpdateToken"), fields(&UPDATE_FIELDS));

    let problem =
        http::HttpError::from(api_tokens::ApiError::field(vec!["query".into()], "x", "y"))
            .into_response("/tokens");
    let problem: serde_json::Value = serde_json::from_slice(problem.body().as_ref()).unwrap();
    assert_eq!(schema("Problem"), json_keys(&problem));
    assert_eq!(schema("FieldError"), json_keys(&problem["errors"][0]));
}

/// The problem `type` slugs of the code's one error catalogue (`shared/src/http/problem.rs`,
/// where every variant of `HttpError` and `ApiError` maps to `(status, "slug", "title")`),
/// read from its source so that a new error is seen here without anyone listing it.
fn catalogue_slugs() -> BTreeSet<String> {
    let source = include_str!("../../shared/src/http/problem.rs");
    let code = source.split("#[cfg(test)]").next().unwrap();
    let mut slugs = BTreeSet::new();
    for (at, _) in code.match_indices("S::") {
        if !code[..at].ends_with(['(', ' ', '\n']) {
            continue;
        }
        let rest = code[at + 3..].trim_start_matches(|c: char| c.is_ascii_uppercase() || c == '_');
        let Some(quoted) = rest.strip_prefix(',').map(str::trim_start) else {
            continue;
        };
        if let Some(slug) = quoted.strip_prefix('"').and_then(|q| q.split('"').next()) {
            slugs.insert(format!("/problems/{slug}"));
        }
    }
    slugs
}

/// A verdict for the two `429`s.
fn usage() -> api_tokens::domain::usage::Usage {
    api_tokens::domain::usage::Usage::new(
        api_tokens::domain::usage::Verdict::RateLimited,
        Some(1),
        &[],
    )
}

/// One of every error, answered: its problem `type`. No wildcard arm, so a new variant does not
/// compile until it is listed here.
fn answered_slugs() -> BTreeSet<String> {
    use api_tokens::ApiError as A;
    use http::HttpError as H;
    let every: Vec<H> = vec![
        H::RouteNotFound,
        H::MethodNotAllowed(&["GET"]),
        H::UnsupportedMediaType,
        H::PayloadTooLarge(1),
        H::MalformedJson("x".into()),
        A::Unauthorized.into(),
        A::MissingScope("tokens:read").into(),
        A::Forbidden("x".into()).into(),
        A::TokenNotFound.into(),
        A::InvalidCursor.into(),
        A::NotRotatable("x".into()).into(),
        A::IdempotencyKeyReused.into(),
        A::Validation(vec![]).into(),
        A::RateLimited(usage()).into(),
        A::QuotaExhausted(usage()).into(),
        A::Unavailable.into(),
        A::Internal("x".into()).into(),
    ];
    for err in &every {
        match err {
            H::RouteNotFound
            | H::MethodNotAllowed(_)
            | H::UnsupportedMediaType
            | H::PayloadTooLarge(_)
            | H::MalformedJson(_) => {}
            H::Domain(
                A::Unauthorized
                | A::MissingScope(_)
                | A::Forbidden(_)
                | A::TokenNotFound
                | A::InvalidCursor
                | A::NotRotatable(_)
                | A::IdempotencyKeyReused
                | A::Validation(_)
                | A::RateLimited(_)
                | A::QuotaExhausted(_)
                | A::Unavailable
                | A::Internal(_),
            ) => {}
        }
    }
    every
        .into_iter()
        .map(|err| {
            let resp = err.into_response("/");
            let body: serde_json::Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
            body["type"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn every_problem_type_the_code_can_answer_is_documented() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.yaml"))
            .unwrap();
    let catalogue = catalogue_slugs();
    assert_eq!(catalogue, answered_slugs(), "one slug per error");
    let undocumented: Vec<&String> = catalogue
        .iter()
        .filter(|slug| !text.contains(&format!("`{slug}`")))
        .collect();
    assert!(undocumented.is_empty(), "not in the spec: {undocumented:?}");
    // And the spec names no problem the code cannot answer.
    let documented: BTreeSet<String> = text
        .split("`/problems/")
        .skip(1)
        .filter_map(|rest| rest.split_once('`'))
        .map(|(slug, _)| format!("/problems/{slug}"))
        .filter(|slug| slug != "/problems/<slug>")
        .collect();
    assert_eq!(documented, catalogue);
}
