//! Generated requests: a route of the API (or none) and, around it, a method, a path whose
//! id is valid, foreign, malformed, unicode or percent-encoded, a query from the list
//! parameters, the headers that matter (`Authorization`, `Content-Type`,
//! `Idempotency-Key`) and random others, and a body that is valid-ish for the route,
//! any JSON, or bytes. Values the world holds (secrets, ids, a cursor) are `{placeholders}`,
//! so a failing case prints without secrets and replays against the same world.

use api_tokens::http::{LIST_PARAMETERS, ROUTES};
use proptest::prelude::*;

use super::bodies::{body, clean_body, Body};
use super::gateway::Sent;
use super::world::{percent_encode, World};

/// A generated request; [`Case::render`] fills it in.
#[derive(Debug, Clone)]
pub(super) struct Case {
    method: String,
    path: String,
    /// Name and value pairs, percent-encoded when rendered; or a raw query string.
    query: Query,
    headers: Vec<(String, String)>,
    body: Body,
}

#[derive(Debug, Clone)]
enum Query {
    Pairs(Vec<(String, String)>),
    Raw(String),
}

impl Case {
    /// The request as sent, placeholders filled from `world`.
    pub(super) fn render(&self, world: &World) -> Sent {
        let query = match &self.query {
            Query::Pairs(pairs) => pairs
                .iter()
                .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(&world.fill(v))))
                .collect::<Vec<_>>()
                .join("&"),
            Query::Raw(raw) => raw.clone(),
        };
        let body = match &self.body {
            Body::Empty => Vec::new(),
            Body::Json(v) => world.fill(&v.to_string()).into_bytes(),
            Body::Bytes(b) => b.clone(),
        };
        Sent {
            method: self.method.clone(),
            path: world.fill(&self.path),
            query,
            headers: self
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), world.fill(v)))
                .collect(),
            body,
        }
    }
}

/// A request: a third of them well-formed calls of a route (any id, any valid field values),
/// the rest anything around a route.
pub(super) fn case() -> impl Strategy<Value = Case> {
    prop_oneof![1 => well_formed(), 2 => anything()]
}

/// A route's own method, a real or random token id, a caller with the scopes or without,
/// JSON, and a body of the route's fields: what gets past validation to the store.
fn well_formed() -> impl Strategy<Value = Case> {
    (0..ROUTES.len()).prop_flat_map(|route| {
        let (method, template) = route_of(route).unwrap_or(("GET", "/tokens"));
        let named = prop::sample::select(vec!["{alice2}", "{bob}", "{gina}", "{revoked}"]);
        let id = prop_oneof![3 => named.prop_map(str::to_string), 1 => id()];
        let caller =
            prop::sample::select(vec!["Bearer {admin}", "Bearer {admin}", "Bearer {reader}"]);
        let key = prop::option::weighted(0.3, "[!-~]{1,40}");
        let query = if route == 0 {
            query(route)
        } else {
            Just(Query::Pairs(Vec::new())).boxed()
        };
        (id, caller, key, query, clean_body(route)).prop_map(
            move |(id, caller, key, query, body)| {
                let mut headers = vec![
                    ("Authorization".to_string(), caller.to_string()),
                    ("Content-Type".to_string(), "application/json".to_string()),
                ];
                headers.extend(key.map(|k| ("Idempotency-Key".to_string(), k)));
                Case {
                    method: method.to_string(),
                    path: template.replace("{id}", &id),
                    query,
                    headers,
                    body,
                }
            },
        )
    })
}

/// Any request: a route of the API (most of the time) with the parts around it.
fn anything() -> impl Strategy<Value = Case> {
    (0..=ROUTES.len()).prop_flat_map(|route| {
        (
            method(route),
            path(route),
            query(route),
            headers(),
            body(route),
        )
            .prop_map(|(method, path, query, headers, body)| Case {
                method,
                path,
                query,
                headers,
                body,
            })
    })
}

/// The route's template and method, or none for the last index.
fn route_of(route: usize) -> Option<(&'static str, &'static str)> {
    ROUTES.get(route).map(|(m, t, _)| (m.as_str(), *t))
}

fn method(route: usize) -> BoxedStrategy<String> {
    let any = prop::sample::select(vec![
        "GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS", "TRACE", "CONNECT", "get",
        "Post", "PURGE", "M-SEARCH",
    ])
    .prop_map(str::to_string);
    match route_of(route) {
        Some((m, _)) => prop_oneof![9 => Just(m.to_string()), 1 => any].boxed(),
        None => any.boxed(),
    }
}

/// An `{id}`: a real token's (the caller's tenant or not, revoked), any UUID, or not one.
fn id() -> impl Strategy<Value = String> {
    let named = prop::sample::select(vec![
        "{alice2}",
        "{bob}",
        "{gina}",
        "{revoked}",
        "{BOB}",
        "{bob%}",
        "self",
    ]);
    prop_oneof![
        4 => named.prop_map(str::to_string),
        2 => any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).to_string()),
        1 => Just(uuid::Uuid::nil().to_string()),
        1 => (any::<u128>(), 0..36usize, "[^-]").prop_map(|(n, at, c)| {
            let mut s: Vec<char> = uuid::Uuid::from_u128(n).to_string().chars().collect();
            s[at] = c.chars().next().unwrap_or('x');
            percent_encode(&s.into_iter().collect::<String>())
        }),
        1 => any::<u128>().prop_map(|n| format!("{{{}}}", uuid::Uuid::from_u128(n))),
        1 => "[A-Za-z0-9._~-]{1,40}",
        1 => "\\PC{1,12}".prop_map(|s| percent_encode(&s)),
        1 => "(%[0-9A-Fa-f]{2}|%[g-z]{2}|%|[a-z]){1,12}",
        1 => (1..3000usize).prop_map(|n| "x".repeat(n)),
    ]
}

fn path(route: usize) -> BoxedStrategy<String> {
    let Some((_, template)) = route_of(route) else {
        return prop_oneof![
            Just("/".to_string()),
            Just(String::new()),
            "/[a-z]{1,10}(/[A-Za-z0-9%._-]{0,12}){0,3}",
            id().prop_map(|id| format!("/tokens/{id}/{id}")),
            id().prop_map(|id| format!("/tokens//{id}")),
            Just("/Tokens".to_string()),
            Just("/tokens/".to_string()),
            Just("//tokens".to_string()),
        ]
        .boxed();
    };
    let extra = prop_oneof![
        24 => Just(String::new()),
        1 => Just("/".to_string()),
        1 => "/[A-Za-z0-9%._-]{0,12}",
        1 => Just("/revoke/rotate".to_string()),
    ];
    (id(), extra)
        .prop_map(move |(id, extra)| format!("{}{extra}", template.replace("{id}", &id)))
        .boxed()
}

/// A value for a list parameter: one that means something to it, or anything.
fn list_value(name: &'static str) -> BoxedStrategy<String> {
    let meaningful: Vec<&str> = match name {
        "limit" => vec![
            "0",
            "1",
            "2",
            "50",
            "1000",
            "1001",
            "-1",
            "1e3",
            "",
            "99999999999",
        ],
        "cursor" => vec!["{cursor}", "garbage", ""],
        "status" => vec![
            "active",
            "revoked",
            "expired",
            "rotated",
            "bogus",
            "active,revoked",
        ],
        "include_revoked" | "include_total_count" => vec!["true", "false", "1", "yes", ""],
        "user_id" => vec!["alice", "bob", "rita", "", "*"],
        "token_ids" => vec![
            "{bob}",
            "{bob},{alice2}",
            "{gina}",
            "{revoked},{revoked}",
            "x,",
        ],
        "scope" => vec!["tokens:read", "tokens:admin", "orders:read", "nope", ""],
        "sort" => vec!["created_at", "expires_at", "last_used_at", "name", "bogus"],
        "order" => vec!["asc", "desc", "up"],
        "metadata" => vec!["team=infra", "team", "=x", "team=a=b", "bad key=x"],
        n if n.contains("after") || n.contains("before") => vec![
            "2024-01-01T00:00:00Z",
            "2024-01-01T00:00:00.123+02:00",
            "1700000000",
            "2024-13-45T00:00:00Z",
            "now",
        ],
        _ => vec!["x", ""],
    };
    prop_oneof![
        3 => prop::sample::select(meaningful).prop_map(str::to_string),
        1 => "\\PC{0,30}",
        1 => (1..1200usize).prop_map(|n| "A".repeat(n)),
    ]
    .boxed()
}

fn query_pair() -> impl Strategy<Value = (String, String)> {
    let names: Vec<&'static str> = LIST_PARAMETERS
        .iter()
        .flat_map(|n| match *n {
            // The metadata filter's spellings: `metadata=team=x`, `metadata.team`, `metadata[team]`.
            "metadata" => vec!["metadata", "metadata.team", "metadata[team]"],
            n => vec![n],
        })
        .collect();
    prop_oneof![
        5 => prop::sample::select(names).prop_flat_map(|n| (Just(n.to_string()), list_value(n))),
        1 => ("metadata\\.\\PC{0,10}", "\\PC{0,20}"),
        1 => ("\\PC{0,12}", "\\PC{0,12}"),
    ]
}

fn query(route: usize) -> BoxedStrategy<Query> {
    let pairs = prop::collection::vec(query_pair(), 1..5).prop_map(Query::Pairs);
    let none = Just(Query::Pairs(Vec::new()));
    // A query string as a client may send it: RFC 3986's characters, stray `%`s, and the
    // bytes curl sends raw that `http::Uri` refuses (space, `"`, `#`, `<`, `>`, a tab), which
    // `http::lambda::read_event` encodes before lambda_http builds its URI.
    let raw =
        r##"([A-Za-z0-9._~!$&'()*+,;=:@/?-]|[ "#<>{}|\\^`\t]|\PC|%[0-9A-Fa-f]{2}|%[g-z]?){0,30}"##;
    let raw = raw.prop_map(Query::Raw);
    if route == 0 {
        prop_oneof![1 => none, 6 => pairs, 1 => raw].boxed()
    } else {
        prop_oneof![6 => none, 1 => pairs, 1 => raw].boxed()
    }
}

fn authorization() -> impl Strategy<Value = Option<String>> {
    let fixed = |s: &str| Just(Some(s.to_string()));
    prop_oneof![
        30 => fixed("Bearer {admin}"),
        6 => fixed("Bearer {reader}"),
        1 => fixed("bearer  {admin} "),
        1 => fixed("Bearer {revoked_secret}"),
        1 => fixed("Bearer {admin}x"),
        1 => fixed("Basic YWxpY2U6c2VjcmV0"),
        1 => fixed("Bearer"),
        1 => fixed(""),
        1 => Just(None),
        1 => "Bearer tkn_[A-Za-z0-9]{0,60}".prop_map(Some),
        1 => "\\PC{0,40}".prop_map(Some),
    ]
}

fn content_type() -> impl Strategy<Value = Option<String>> {
    let known = prop::sample::select(vec![
        "application/json",
        "application/json; charset=utf-8",
        "application/merge-patch+json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "APPLICATION/JSON",
        "application/json; charset=latin1",
        "application/problem+json",
        "application/json, text/plain",
        "multipart/form-data; boundary=x",
        "",
    ]);
    prop_oneof![
        6 => Just(Some("application/json".to_string())),
        3 => known.prop_map(|s| Some(s.to_string())),
        2 => Just(None),
        1 => "[ -~]{0,40}".prop_map(Some),
    ]
}

fn idempotency_key() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        6 => Just(None),
        3 => "[ -~]{1,64}".prop_map(Some),
        1 => Just(Some("k".repeat(256))),
        1 => "\\PC{1,20}".prop_map(Some),
        1 => Just(Some(String::new())),
    ]
}

/// Headers: the three the API reads, then a few others (never `host` or the
/// `x-forwarded-*` ones, which API Gateway sets itself).
fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let other = (
        "[a-z][a-z0-9-]{0,20}".prop_filter("set by API Gateway", |n| {
            n != "host" && !n.starts_with("x-forwarded-") && n != "authorization"
        }),
        "[ -~]{0,40}|\\PC{0,10}",
    );
    (
        authorization(),
        content_type(),
        idempotency_key(),
        prop::collection::vec(other, 0..3),
    )
        .prop_map(|(auth, ct, key, others)| {
            let mut headers = Vec::new();
            let named = [
                ("Authorization", auth),
                ("Content-Type", ct),
                ("Idempotency-Key", key),
            ];
            for (name, value) in named {
                if let Some(v) = value {
                    headers.push((name.to_string(), v));
                }
            }
            headers.extend(others);
            headers
        })
}
