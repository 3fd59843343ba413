//! Generated bodies: valid-ish JSON for the route (its own fields, each with a right or a
//! wrong value, sometimes an unknown one), any JSON, or bytes that may not be UTF-8.

use api_tokens::http::{CREATE_FIELDS, ROTATE_FIELDS, ROUTES, UPDATE_FIELDS};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// A request body.
#[derive(Clone)]
pub(super) enum Body {
    Empty,
    Json(Value),
    Bytes(Vec<u8>),
}

/// Bytes print as an escaped string: a failing case stays readable.
impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty => write!(f, "Empty"),
            Self::Json(v) => write!(f, "Json({v})"),
            Self::Bytes(b) => write!(f, "Bytes(b\"{}\")", b.escape_ascii()),
        }
    }
}

/// A body for `route` (an index of [`ROUTES`]; past the end: no route).
pub(super) fn body(route: usize) -> BoxedStrategy<Body> {
    let fields = fields_of(route);
    let object = if fields.is_empty() {
        any_json().boxed()
    } else {
        object_of(fields, 0.85).boxed()
    };
    prop_oneof![
        2 => Just(Body::Empty),
        6 => object.prop_map(Body::Json),
        2 => any_json().prop_map(Body::Json),
        1 => prop::collection::vec(any::<u8>(), 0..200).prop_map(Body::Bytes),
        1 => "\\PC{0,60}".prop_map(|s| Body::Bytes(s.into_bytes())),
    ]
    .boxed()
}

/// The body fields of `route` (an index of [`ROUTES`]; past the end: none).
fn fields_of(route: usize) -> &'static [&'static str] {
    match ROUTES.get(route).map(|(m, t, _)| (m.as_str(), *t)) {
        Some(("POST", "/tokens")) => &CREATE_FIELDS,
        Some(("PATCH", _)) => &UPDATE_FIELDS,
        Some((_, "/tokens/{id}/rotate")) => &ROTATE_FIELDS,
        Some(("DELETE", _) | (_, "/tokens/{id}/revoke")) => &["reason"],
        _ => &[],
    }
}

/// A body for `route` whose fields all take values they may take (or nearly: see [`valid`]).
pub(super) fn clean_body(route: usize) -> BoxedStrategy<Body> {
    match fields_of(route) {
        [] => Just(Body::Empty).boxed(),
        fields => object_of(fields, 1.0).prop_map(Body::Json).boxed(),
    }
}

/// An object with some of `fields` (each valid with probability `good`) and, now and then,
/// an unknown one.
fn object_of(fields: &'static [&'static str], good: f64) -> impl Strategy<Value = Value> {
    let entries = prop::collection::vec(
        (
            prop::sample::select(fields.to_vec()),
            prop::bool::weighted(good.min(0.99)),
        )
            .prop_flat_map(|(f, good)| (Just(f), if good { valid(f) } else { any_json() })),
        0..fields.len().min(3),
    );
    // The first field is the one a body most needs (a create's `name`): mostly there, valid.
    let first = prop::option::weighted(0.8, valid(fields[0]));
    let unknown =
        prop::option::weighted((1.0 - good).clamp(0.01, 0.1), ("[a-z_]{1,12}", any_json()));
    (first, entries, unknown).prop_map(|(first, entries, unknown)| {
        let mut object = Map::new();
        let first = first.map(|v| (fields[0], v));
        for (k, v) in first.into_iter().chain(entries) {
            object.insert(k.to_string(), v);
        }
        if let Some((k, v)) = unknown {
            object.insert(k, v);
        }
        Value::Object(object)
    })
}

/// A value `field` takes (or nearly: at its limits and just past them).
fn valid(field: &'static str) -> BoxedStrategy<Value> {
    match field {
        "name" => prop_oneof!["\\PC{1,20}", Just("n".repeat(128)), Just("n".repeat(129))]
            .prop_map(Value::from)
            .boxed(),
        "description" | "reason" => prop_oneof![
            "\\PC{0,40}".prop_map(Value::from),
            Just(Value::Null),
            Just(Value::from("d".repeat(1025)))
        ]
        .boxed(),
        "scopes" => prop::collection::vec(
            prop::sample::select(vec![
                "tokens:read",
                "tokens:write",
                "tokens:admin",
                "orders:read",
                "orders:write",
                "nope",
            ]),
            0..4,
        )
        .prop_map(|s| json!(s))
        .boxed(),
        "expires_at" => prop_oneof![
            (1..400i64).prop_map(|d| {
                Value::from(api_tokens::time::format(
                    &(api_tokens::time::now() + chrono::Duration::days(d)),
                ))
            }),
            Just(json!("2020-01-01T00:00:00Z")),
            Just(json!("2030-02-30T00:00:00Z")),
            Just(json!(1_900_000_000)),
        ]
        .boxed(),
        "expires_in_days" | "grace_period_seconds" => {
            prop_oneof![(-2..1000i64).prop_map(Value::from), Just(json!(1.5))].boxed()
        }
        "user_id" => prop::sample::select(vec!["alice", "bob", "rita", "", "gina"])
            .prop_map(Value::from)
            .boxed(),
        "metadata" => prop::collection::btree_map("[a-z.]{0,8}", "\\PC{0,12}", 0..4)
            .prop_map(|m| json!(m))
            .boxed(),
        "allowed_ips" => prop::collection::vec(
            prop_oneof![
                Just("10.0.0.0/8".to_string()),
                Just("203.0.113.7/32".to_string()),
                Just("::1/128".to_string()),
                "[0-9./:a-f]{1,20}",
            ],
            0..3,
        )
        .prop_map(|v| json!(v))
        .boxed(),
        _ => any_json().boxed(),
    }
}

/// Any JSON value, nested a few levels.
fn any_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("\\PC{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}
