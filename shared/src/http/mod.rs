//! The HTTP API: routes, request parsing and validation, and responses. Each Lambda function
//! serves a subset of the routes through [`serve`]; the local dev server serves all of them.

pub mod problem;

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;

use lambda_http::http::{header, HeaderValue, Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::domain::error::{ApiError, FieldError};
use crate::domain::limits::{
    valid_id, valid_metadata_key, MAX_ALLOWED_IPS, MAX_DESCRIPTION_CHARS, MAX_EXPIRES_IN_DAYS,
    MAX_GRACE_PERIOD, MAX_METADATA_ENTRIES, MAX_METADATA_KEY_CHARS, MAX_METADATA_VALUE_CHARS,
    MAX_NAME_CHARS, MAX_REASON_CHARS, MAX_SCOPES, MAX_TOKEN_IDS,
};
use crate::domain::model::Status;
use crate::domain::model::{CreatedView, TokenView};
use crate::domain::principal::Principal;
use crate::service::idempotency::{self, Keyed};
use crate::service::listing::{ListQuery, ListResult};
use crate::service::{CreateInput, Minted, RotateInput, TokenService};
use crate::store::schema::SortField;
use crate::store::Patch;
use crate::store::TokenStore;
use crate::support::time::{self, Timestamp};
use uuid::Uuid;

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Default and maximum page sizes.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page a client may ask for.
pub const MAX_LIMIT: u32 = 1000;

/// The API's operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `GET /tokens`
    ListTokens,
    /// `POST /tokens`
    CreateToken,
    /// `GET /tokens/{id}`
    GetToken,
    /// `GET /tokens/self`: the presented token's own record.
    GetSelf,
    /// `DELETE /tokens/{id}`
    DeleteToken,
    /// `POST /tokens/{id}/revoke`
    RevokeToken,
    /// `POST /tokens/{id}/rotate`
    RotateToken,
    /// `PATCH /tokens/{id}`: name, description, metadata.
    UpdateToken,
}

/// Every route: method, path template, operation. The single source for the Lambda functions,
/// the dev server and the route tests.
pub const ROUTES: [(Method, &str, Operation); 8] = [
    (Method::GET, "/tokens", Operation::ListTokens),
    (Method::POST, "/tokens", Operation::CreateToken),
    (Method::GET, "/tokens/self", Operation::GetSelf),
    (Method::GET, "/tokens/{id}", Operation::GetToken),
    (Method::PATCH, "/tokens/{id}", Operation::UpdateToken),
    (Method::DELETE, "/tokens/{id}", Operation::DeleteToken),
    (Method::POST, "/tokens/{id}/revoke", Operation::RevokeToken),
    (Method::POST, "/tokens/{id}/rotate", Operation::RotateToken),
];

/// Operations of the list function.
pub const LIST_FUNCTION: &[Operation] = &[
    Operation::ListTokens,
    Operation::GetToken,
    Operation::GetSelf,
];
/// Operations of the create function: everything that mints a secret.
pub const CREATE_FUNCTION: &[Operation] = &[Operation::CreateToken, Operation::RotateToken];
/// Operations of the revoke function: changes to existing tokens.
pub const REVOKE_FUNCTION: &[Operation] = &[
    Operation::RevokeToken,
    Operation::DeleteToken,
    Operation::UpdateToken,
];
/// Every operation (the local dev server).
pub const ALL_OPERATIONS: &[Operation] = &[
    Operation::ListTokens,
    Operation::CreateToken,
    Operation::GetToken,
    Operation::GetSelf,
    Operation::DeleteToken,
    Operation::RevokeToken,
    Operation::RotateToken,
    Operation::UpdateToken,
];

/// A request matched to a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// The operation.
    pub operation: Operation,
    /// The `{id}` path parameter, when the route has one.
    pub id: Option<String>,
}

/// Matches a method and a concrete path (`/tokens/abc`) against [`ROUTES`]:
/// 404 for an unknown path, 405 (with the allowed methods) for a known path.
pub fn match_route(method: &Method, path: &str) -> Result<Matched, ApiError> {
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    let (template, id) = match segments.as_slice() {
        ["tokens"] => ("/tokens", None),
        ["tokens", "self"] => ("/tokens/self", None),
        ["tokens", id] if !id.is_empty() => ("/tokens/{id}", Some(id.to_string())),
        ["tokens", id, "revoke"] if !id.is_empty() => ("/tokens/{id}/revoke", Some(id.to_string())),
        ["tokens", id, "rotate"] if !id.is_empty() => ("/tokens/{id}/rotate", Some(id.to_string())),
        _ => return Err(ApiError::RouteNotFound),
    };
    match_template(method, template, id)
}

fn match_template(
    method: &Method,
    template: &str,
    id: Option<String>,
) -> Result<Matched, ApiError> {
    ROUTES
        .iter()
        .find(|(m, t, _)| m == method && *t == template)
        .map(|(_, _, operation)| Matched {
            operation: *operation,
            id: id.clone(),
        })
        .ok_or_else(|| match allowed_methods(template) {
            [] => ApiError::RouteNotFound,
            allow => ApiError::MethodNotAllowed(allow),
        })
}

/// Methods served on a path template.
pub fn allowed_methods(template: &str) -> &'static [&'static str] {
    match template {
        "/tokens" => &["GET", "POST"],
        "/tokens/self" => &["GET"],
        "/tokens/{id}" => &["GET", "PATCH", "DELETE"],
        "/tokens/{id}/revoke" | "/tokens/{id}/rotate" => &["POST"],
        _ => &[],
    }
}

/// Matches a Lambda request: by API Gateway's route template when present (robust to stage
/// prefixes and custom domain base paths), by the raw path otherwise.
fn route_of(req: &Request) -> Result<Matched, ApiError> {
    let template = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(c)) => c
            .route_key
            .as_deref()
            .and_then(|k| k.split_once(' '))
            .map(|(_, t)| t.to_string()),
        Some(RequestContext::ApiGatewayV1(c)) => c.resource_path.clone(),
        _ => None,
    };
    match template {
        Some(t) if !allowed_methods(&t).is_empty() => {
            let id = req.path_parameters().first("id").map(str::to_string);
            if t.contains("{id}") && id.as_deref().is_none_or(str::is_empty) {
                return Err(ApiError::RouteNotFound);
            }
            match_template(req.method(), &t, id)
        }
        _ => match_route(req.method(), req.uri().path()),
    }
}

/// Serves one request for a function that handles `operations`. Never fails: every error
/// becomes a problem+json response.
pub async fn serve<S: TokenStore>(
    service: &TokenService<S>,
    req: Request,
    operations: &[Operation],
) -> Result<Response<Body>, Infallible> {
    let instance = req.uri().path().to_string();
    // Boxed for the same reason as `TokenService::verify_cached`: a shallower future type.
    let response = match Box::pin(dispatch(service, &req, operations)).await {
        Ok(resp) => resp,
        Err(err) => err.into_response(&instance),
    };
    Ok(response)
}

async fn dispatch<S: TokenStore>(
    service: &TokenService<S>,
    req: &Request,
    operations: &[Operation],
) -> Result<Response<Body>, ApiError> {
    let matched = route_of(req)?;
    if !operations.contains(&matched.operation) {
        return Err(ApiError::RouteNotFound);
    }
    let caller = Principal::from_request(req).ok_or(ApiError::Unauthorized)?;
    let id = matched.id.as_deref().unwrap_or_default();
    match matched.operation {
        Operation::ListTokens => {
            let query = parse_list_query(req)?;
            let page = service.list(&caller, &query).await?;
            Ok(list_response(&page, &query, time::now()))
        }
        Operation::GetSelf => {
            reject_query(req, &[])?;
            let item = service.get_self(&caller).await?;
            Ok(json_response(StatusCode::OK, &item.view(time::now())))
        }
        Operation::GetToken => {
            reject_query(req, &[])?;
            let item = service.get(&caller, id).await?;
            Ok(json_response(StatusCode::OK, &item.view(time::now())))
        }
        Operation::CreateToken => {
            reject_query(req, &[])?;
            let key = idempotency_key(req)?;
            let body = required_json(req)?;
            let now = time::now();
            let input = parse_create(&body, now, service.scopes())?;
            let key = key.map(|k| Keyed::new(&caller, &k, "POST /tokens", "", &body));
            let minted = service.create(&caller, input, key.as_ref(), now).await?;
            Ok(minted_response(&minted))
        }
        Operation::RotateToken => {
            reject_query(req, &[])?;
            let key = idempotency_key(req)?;
            let body = read_json(req)?.unwrap_or_else(|| Value::Object(Map::new()));
            let input = parse_rotate(&body, time::now())?;
            let key = key.map(|k| Keyed::new(&caller, &k, "POST /tokens/{id}/rotate", id, &body));
            let minted = service.rotate(&caller, id, input, key.as_ref()).await?;
            Ok(minted_response(&minted))
        }
        Operation::UpdateToken => {
            reject_query(req, &[])?;
            let body = required_json(req)?;
            let patch = parse_update(&body)?;
            let item = service.update(&caller, id, &patch).await?;
            Ok(json_response(StatusCode::OK, &item.view(time::now())))
        }
        Operation::RevokeToken | Operation::DeleteToken => {
            reject_query(req, &[])?;
            let reason = match read_json(req)? {
                Some(body) => parse_revoke(&body)?,
                None => None,
            };
            if matched.operation == Operation::DeleteToken {
                service.delete(&caller, id, reason.as_deref()).await?;
                let mut resp = Response::new(Body::Empty);
                *resp.status_mut() = StatusCode::NO_CONTENT;
                return Ok(resp);
            }
            let item = service.revoke(&caller, id, reason.as_deref()).await?;
            Ok(json_response(StatusCode::OK, &item.view(time::now())))
        }
    }
}

/// The `201` answer of a create or rotation: the token with its secret, and where it lives.
/// A replay (same `Idempotency-Key`) is the same answer, marked `Idempotent-Replayed: true`.
fn minted_response(minted: &Minted) -> Response<Body> {
    let view = CreatedView {
        token: minted.item.view(time::now()),
        secret: minted.secret.expose(),
    };
    let mut resp = json_response(StatusCode::CREATED, &view);
    let headers = resp.headers_mut();
    if let Ok(location) = HeaderValue::from_str(&format!("/tokens/{}", minted.item.id)) {
        headers.insert(header::LOCATION, location);
    }
    if minted.replayed {
        headers.insert(
            idempotency::REPLAYED_HEADER,
            HeaderValue::from_static("true"),
        );
    }
    resp
}

/// The `Idempotency-Key` header, if sent: 1..=255 printable ASCII characters.
fn idempotency_key(req: &Request) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(idempotency::HEADER) else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(k) if idempotency::valid_key(k) => Ok(Some(k.to_string())),
        _ => Err(ApiError::field(
            loc(&["header", "Idempotency-Key"]),
            "string_pattern_mismatch",
            format!(
                "must be 1..={} printable ASCII characters",
                idempotency::MAX_KEY_BYTES
            ),
        )),
    }
}

/// The `GET /tokens` body.
#[derive(Debug, Serialize)]
pub struct ListBody<'a> {
    /// The page's tokens, newest first.
    pub items: Vec<TokenView<'a>>,
    /// The page size used.
    pub limit: u32,
    /// Whether another page follows.
    pub has_next: bool,
    /// Whether a page precedes this one.
    pub has_prev: bool,
    /// Cursor of the next page (`null` on the last page).
    pub next_cursor: Option<&'a str>,
    /// Cursor of the previous page (`null` on the first page).
    pub prev_cursor: Option<&'a str>,
    /// With `include_total_count=true`: the exact number of matching tokens (`null` when
    /// counting a filtered list would read more than `listing::COUNT_BUDGET` items).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// With `include_total_count=true`: whether counting stopped at its budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_capped: Option<bool>,
}

/// The `200` answer of `GET /tokens`: the page's tokens as the API shows them at `now`.
pub fn list_response(page: &ListResult, query: &ListQuery, now: Timestamp) -> Response<Body> {
    let body = ListBody {
        items: page.items.iter().map(|t| t.view(now)).collect(),
        limit: query.limit,
        has_next: page.next_cursor.is_some(),
        has_prev: page.prev_cursor.is_some(),
        next_cursor: page.next_cursor.as_deref(),
        prev_cursor: page.prev_cursor.as_deref(),
        total: page.total,
        total_capped: query.include_total.then_some(page.total_capped),
    };
    // About 460 bytes per token as the API writes them.
    let capacity = 512 * (body.items.len() + 1);
    json_response_sized(StatusCode::OK, &body, capacity)
}

/// A JSON response that no cache may keep.
pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    json_response_sized(status, body, 1024)
}

/// [`json_response`] writing into `capacity` bytes reserved up front: a list page is tens
/// of kilobytes, which a buffer grown from empty reallocates and copies a dozen times.
fn json_response_sized(
    status: StatusCode,
    body: &impl Serialize,
    capacity: usize,
) -> Response<Body> {
    let mut bytes = Vec::with_capacity(capacity);
    if serde_json::to_writer(&mut bytes, body).is_err() {
        bytes = b"{}".to_vec();
    }
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn loc(parts: &[&str]) -> Vec<Value> {
    parts.iter().map(|p| Value::from(*p)).collect()
}

/// The body as JSON: `None` when empty; 415 unless the content type is JSON; 413 over
/// [`MAX_BODY_BYTES`]; 400 when it does not parse.
pub fn read_json(req: &Request) -> Result<Option<Value>, ApiError> {
    let bytes: &[u8] = req.body().as_ref();
    if bytes.is_empty() {
        return Ok(None);
    }
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES));
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let is_json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    serde_json::from_slice(bytes)
        .map(Some)
        .map_err(|e| ApiError::MalformedJson(e.to_string()))
}

/// [`read_json`] for routes whose body is required: an empty one is a validation error.
fn required_json(req: &Request) -> Result<Value, ApiError> {
    read_json(req)?
        .ok_or_else(|| ApiError::field(loc(&["body"]), "missing", "a JSON object body is required"))
}

/// Refuses query parameters outside `allowed` (a typo must not be silently ignored).
fn reject_query(req: &Request, allowed: &[&str]) -> Result<(), ApiError> {
    let params = req.query_string_parameters();
    let unknown: BTreeSet<&str> = params
        .iter()
        .map(|(k, _)| k)
        .filter(|k| !allowed.contains(k))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(ApiError::Validation(
        unknown
            .into_iter()
            .map(|k| {
                FieldError::new(
                    loc(&["query", k]),
                    "extra_forbidden",
                    "unknown query parameter",
                )
            })
            .collect(),
    ))
}

/// Every `GET /tokens` parameter (besides `metadata.<key>`).
pub const LIST_PARAMETERS: [&str; 18] = [
    "limit",
    "cursor",
    "status",
    "include_revoked",
    "user_id",
    "token_ids",
    "name",
    "scope",
    "created_after",
    "created_before",
    "expires_after",
    "expires_before",
    "last_used_after",
    "last_used_before",
    "sort",
    "order",
    "include_total_count",
    "metadata.<key>",
];

/// Prefix of the repeatable metadata filter parameters (`metadata.team=infra`).
pub const METADATA_PARAMETER_PREFIX: &str = "metadata.";

/// `GET /tokens` parameters, validated; every bad parameter is named.
pub fn parse_list_query(req: &Request) -> Result<ListQuery, ApiError> {
    let params = req.query_string_parameters();
    let mut errors: Vec<FieldError> = Vec::new();
    let mut fail = |name: &str, kind: &'static str, msg: String| {
        errors.push(FieldError::new(loc(&["query", name]), kind, msg));
    };
    let mut names: Vec<&str> = params.iter().map(|(k, _)| k).collect();
    names.sort_unstable();
    names.dedup();
    let mut q = ListQuery::default();
    let mut order: Option<bool> = None;
    let mut include_revoked: Option<bool> = None;
    for name in names {
        let values = params.all(name).unwrap_or_default();
        let repeatable = matches!(name, "status" | "token_ids");
        if values.len() > 1 && !repeatable {
            fail(
                name,
                "multiple_values",
                "give this parameter at most once".into(),
            );
            continue;
        }
        let value = values[0];
        let list = || {
            values
                .iter()
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let boolean = |fail: &mut dyn FnMut(&str, &'static str, String)| match value {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                fail(name, "bool_parsing", "must be true or false".into());
                None
            }
        };
        let timestamp = |fail: &mut dyn FnMut(&str, &'static str, String)| {
            let t = time::parse(value);
            if t.is_none() {
                fail(
                    name,
                    "datetime_parsing",
                    "must be an RFC 3339 date-time, e.g. 2027-01-31T00:00:00Z".into(),
                );
            }
            t
        };
        match name {
            "limit" => match value.trim().parse::<i64>() {
                Ok(n) if n < 1 => fail(
                    name,
                    "greater_than_equal",
                    "limit must be at least 1".into(),
                ),
                Ok(n) if n > i64::from(MAX_LIMIT) => fail(
                    name,
                    "less_than_equal",
                    format!("limit must be at most {MAX_LIMIT}"),
                ),
                Ok(n) => q.limit = n as u32,
                Err(_) => fail(name, "int_parsing", "limit must be a whole number".into()),
            },
            "cursor" => q.cursor = Some(value.to_string()),
            "status" => {
                let mut set = BTreeSet::new();
                for v in list() {
                    match v {
                        "active" => set.insert(Status::Active),
                        "expired" => set.insert(Status::Expired),
                        "revoked" => set.insert(Status::Revoked),
                        _ => {
                            fail(
                                name,
                                "enum",
                                format!("unknown status {v:?}; use active, expired or revoked"),
                            );
                            continue;
                        }
                    };
                }
                if set.is_empty() {
                    fail(
                        name,
                        "missing",
                        "give one or more of active, expired, revoked".into(),
                    );
                }
                q.statuses = Some(set);
            }
            "include_revoked" => include_revoked = boolean(&mut fail),
            "include_total_count" => q.include_total = boolean(&mut fail).unwrap_or_default(),
            "user_id" if valid_id(value) => q.user_id = Some(value.to_string()),
            "user_id" => fail(
                name,
                "string_pattern_mismatch",
                "must be 1..=128 of [A-Za-z0-9._@:+-]".into(),
            ),
            "token_ids" => {
                // Counted as given, repeats included: the limit is on what the client sent.
                let given = list().count();
                let mut ids = Vec::new();
                for v in list() {
                    match Uuid::parse_str(v) {
                        Ok(id) if !ids.contains(&id) => ids.push(id),
                        Ok(_) => {}
                        Err(_) => fail(name, "uuid_parsing", format!("{v:?} is not a token id")),
                    }
                }
                if ids.is_empty() || given > MAX_TOKEN_IDS {
                    fail(
                        name,
                        "length",
                        format!("give 1..={MAX_TOKEN_IDS} token ids"),
                    );
                }
                q.token_ids = Some(ids);
            }
            "name" => match value.chars().count() {
                1..=MAX_NAME_CHARS => q.name = Some(value.to_lowercase()),
                _ => fail(
                    name,
                    "string_length",
                    format!("must be 1..={MAX_NAME_CHARS} characters"),
                ),
            },
            "scope" => match value.chars().count() {
                1..=64 => q.scope = Some(value.to_string()),
                _ => fail(name, "string_length", "must be 1..=64 characters".into()),
            },
            "created_after" => q.created.after = timestamp(&mut fail),
            "created_before" => q.created.before = timestamp(&mut fail),
            "expires_after" => q.expires.after = timestamp(&mut fail),
            "expires_before" => q.expires.before = timestamp(&mut fail),
            "last_used_after" => q.last_used.after = timestamp(&mut fail),
            "last_used_before" => q.last_used.before = timestamp(&mut fail),
            "sort" => match value {
                "created_at" => q.sort = SortField::CreatedAt,
                "name" => q.sort = SortField::Name,
                "expires_at" => q.sort = SortField::ExpiresAt,
                "last_used_at" => q.sort = SortField::LastUsedAt,
                _ => fail(
                    name,
                    "enum",
                    "use created_at, name, expires_at or last_used_at".into(),
                ),
            },
            "order" => match value {
                "asc" => order = Some(false),
                "desc" => order = Some(true),
                _ => fail(name, "enum", "use asc or desc".into()),
            },
            _ => match name.strip_prefix(METADATA_PARAMETER_PREFIX) {
                Some(key) if valid_metadata_key(key) => {
                    q.metadata.insert(key.to_string(), value.to_string());
                }
                Some(_) => fail(
                    name,
                    "invalid_key",
                    "metadata keys are 1..=64 of [A-Za-z0-9._:-]".into(),
                ),
                None => fail(name, "extra_forbidden", "unknown query parameter".into()),
            },
        }
    }
    if q.statuses.is_some() && include_revoked.is_some() {
        fail(
            "include_revoked",
            "mutually_exclusive",
            "give status or include_revoked, not both".into(),
        );
    }
    q.include_revoked = include_revoked.unwrap_or_default();
    // Names read naturally A to Z; times newest first.
    q.descending = order.unwrap_or(q.sort != SortField::Name);
    for (w, after, before) in [
        (&q.created, "created_after", "created_before"),
        (&q.expires, "expires_after", "expires_before"),
        (&q.last_used, "last_used_after", "last_used_before"),
    ] {
        if let (Some(a), Some(b)) = (w.after, w.before) {
            if a >= b {
                errors.push(FieldError::new(
                    loc(&["query", before]),
                    "range",
                    format!("must be later than {after}"),
                ));
            }
        }
    }
    if let Some(c) = &q.cursor {
        if c.is_empty() && errors.is_empty() {
            return Err(ApiError::InvalidCursor);
        }
    }
    if errors.is_empty() {
        Ok(q)
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// Collects field errors while a body is checked, so one response names every bad field.
struct Checker<'a> {
    obj: &'a Map<String, Value>,
    errors: Vec<FieldError>,
}

impl<'a> Checker<'a> {
    fn new(body: &'a Value, known: &[&str]) -> Result<Self, ApiError> {
        let obj = body.as_object().ok_or_else(|| {
            ApiError::field(
                loc(&["body"]),
                "dict_type",
                "the body must be a JSON object",
            )
        })?;
        let mut errors: Vec<FieldError> = obj
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .map(|k| FieldError::new(loc(&["body", k]), "extra_forbidden", "unknown field"))
            .collect();
        errors.sort_by(|a, b| {
            a.loc
                .iter()
                .map(Value::to_string)
                .cmp(b.loc.iter().map(Value::to_string))
        });
        Ok(Self { obj, errors })
    }

    fn fail_body(&mut self, kind: &'static str, msg: impl Into<String>) {
        self.errors.push(FieldError::new(loc(&["body"]), kind, msg));
    }

    fn fail(&mut self, field: &str, kind: &'static str, msg: impl Into<String>) {
        self.errors
            .push(FieldError::new(loc(&["body", field]), kind, msg));
    }

    /// A present, non-null field.
    fn get(&self, field: &str) -> Option<&'a Value> {
        self.obj.get(field).filter(|v| !v.is_null())
    }

    /// An optional string of `min..=max` characters without control characters.
    fn string(&mut self, field: &str, min: usize, max: usize) -> Option<String> {
        let value = self.get(field)?;
        let Some(s) = value.as_str() else {
            self.fail(field, "string_type", "must be a string");
            return None;
        };
        let chars = s.chars().count();
        if chars < min {
            self.fail(
                field,
                "string_too_short",
                format!("must have at least {min} character(s)"),
            );
        } else if chars > max {
            self.fail(
                field,
                "string_too_long",
                format!("must have at most {max} characters"),
            );
        } else if s.chars().any(char::is_control) {
            self.fail(
                field,
                "string_pattern_mismatch",
                "must not contain control characters",
            );
        } else {
            return Some(s.to_string());
        }
        None
    }

    /// An optional token name: 1..=128 characters, not blank.
    fn name(&mut self) -> Option<String> {
        let name = self.string("name", 1, MAX_NAME_CHARS)?;
        if name.trim().is_empty() {
            self.fail("name", "string_too_short", "name must not be blank");
            return None;
        }
        Some(name)
    }

    /// An optional token expiry: an RFC 3339 date-time later than `now` and at most
    /// [`crate::domain::limits::MAX_LIFETIME`] after it.
    fn future_time(&mut self, field: &str, now: Timestamp) -> Option<Timestamp> {
        let latest = now + crate::domain::limits::MAX_LIFETIME;
        match self.get(field)?.as_str().map(time::parse) {
            None => self.fail(field, "string_type", "must be an RFC 3339 date-time string"),
            Some(None) => self.fail(
                field,
                "datetime_parsing",
                "must be an RFC 3339 date-time, e.g. 2027-01-31T00:00:00Z",
            ),
            Some(Some(t)) if t <= now => {
                self.fail(field, "datetime_future", "must be in the future")
            }
            Some(Some(t)) if t > latest => self.fail(
                field,
                "range",
                format!(
                    "a token lives at most {} days: must be at most {}",
                    crate::domain::limits::MAX_LIFETIME_DAYS,
                    time::format(&latest)
                ),
            ),
            Some(Some(t)) => return Some(t),
        }
        None
    }

    /// Optional `metadata`: at most [`MAX_METADATA_ENTRIES`] string labels.
    fn metadata(&mut self) -> Option<BTreeMap<String, String>> {
        let mut metadata = BTreeMap::new();
        match self.get("metadata")? {
            Value::Object(map) => {
                if map.len() > MAX_METADATA_ENTRIES {
                    self.fail(
                        "metadata",
                        "too_long",
                        format!("at most {MAX_METADATA_ENTRIES} entries"),
                    );
                }
                for (k, v) in map {
                    let at = vec!["body".into(), "metadata".into(), Value::from(k.as_str())];
                    match v.as_str() {
                        _ if !valid_metadata_key(k) => self.errors.push(FieldError::new(
                            at,
                            "invalid_key",
                            format!("keys are 1..={MAX_METADATA_KEY_CHARS} of [A-Za-z0-9._:-]"),
                        )),
                        None => self.errors.push(FieldError::new(
                            at,
                            "string_type",
                            "values must be strings",
                        )),
                        Some(s)
                            if s.chars().count() > MAX_METADATA_VALUE_CHARS
                                || s.chars().any(char::is_control) =>
                        {
                            self.errors.push(FieldError::new(
                                at,
                                "string_too_long",
                                format!(
                                    "values are at most {MAX_METADATA_VALUE_CHARS} characters, no control characters"
                                ),
                            ))
                        }
                        Some(s) => {
                            metadata.insert(k.clone(), s.to_string());
                        }
                    }
                }
            }
            _ => self.fail(
                "metadata",
                "dict_type",
                "must be an object of string values",
            ),
        }
        Some(metadata)
    }

    fn finish<T>(self, value: T) -> Result<T, ApiError> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

fn max_scopes(catalog: &crate::domain::scope::ScopeCatalog) -> usize {
    MAX_SCOPES.max(catalog.all().len())
}

/// A JSON integer: `7`, or a number with no fractional part (`7.0`, which JSON Schema also
/// counts as an integer).
fn whole_number(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| {
        let f = v.as_f64()?;
        (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
    })
}

/// The fields of a `POST /tokens` body.
pub const CREATE_FIELDS: [&str; 8] = [
    "name",
    "description",
    "scopes",
    "expires_at",
    "expires_in_days",
    "user_id",
    "metadata",
    "allowed_ips",
];

/// Validates a `POST /tokens` body. Every invalid field is reported at once.
pub fn parse_create(
    body: &Value,
    now: Timestamp,
    catalog: &crate::domain::scope::ScopeCatalog,
) -> Result<CreateInput, ApiError> {
    let mut c = Checker::new(body, &CREATE_FIELDS)?;
    if c.get("name").is_none() {
        c.fail("name", "missing", "name is required");
    }
    let name = c.name();
    let description = c.string("description", 0, MAX_DESCRIPTION_CHARS);

    let mut scopes = Vec::new();
    match c.get("scopes") {
        None => {}
        Some(Value::Array(list)) if list.len() > max_scopes(catalog) => c.fail(
            "scopes",
            "too_long",
            format!("at most {} scopes", max_scopes(catalog)),
        ),
        Some(Value::Array(list)) => {
            for (i, s) in list.iter().enumerate() {
                let at = vec!["body".into(), "scopes".into(), Value::from(i)];
                match s.as_str() {
                    None => c
                        .errors
                        .push(FieldError::new(at, "string_type", "must be a string")),
                    Some(s) if !catalog.contains(s) => c.errors.push(FieldError::new(
                        at,
                        "unknown_scope",
                        format!("unknown scope; valid scopes: {}", catalog.all().join(", ")),
                    )),
                    Some(s) if scopes.iter().any(|x| x == s) => {
                        c.errors
                            .push(FieldError::new(at, "duplicate_scope", "listed twice"))
                    }
                    Some(s) => scopes.push(s.to_string()),
                }
            }
        }
        Some(_) => c.fail("scopes", "list_type", "must be an array of scope strings"),
    }

    let mut expires_at = c.future_time("expires_at", now);
    if let Some(v) = c.get("expires_in_days") {
        if c.get("expires_at").is_some() {
            c.fail(
                "expires_in_days",
                "mutually_exclusive",
                "give expires_at or expires_in_days, not both",
            );
        } else {
            match whole_number(v) {
                None => c.fail("expires_in_days", "int_type", "must be a whole number"),
                Some(d) if !(1..=MAX_EXPIRES_IN_DAYS).contains(&d) => c.fail(
                    "expires_in_days",
                    "range",
                    format!("must be between 1 and {MAX_EXPIRES_IN_DAYS}"),
                ),
                Some(d) => expires_at = Some(now + chrono::Duration::days(d)),
            }
        }
    }

    let user_id = c.string("user_id", 1, 128);
    if user_id.as_deref().is_some_and(|u| !valid_id(u)) {
        c.fail(
            "user_id",
            "string_pattern_mismatch",
            "must be 1..=128 of [A-Za-z0-9._@:+-]",
        );
    }

    let metadata = c.metadata().unwrap_or_default();

    let mut allowed_ips = Vec::new();
    match c.get("allowed_ips") {
        None => {}
        Some(Value::Array(list)) if list.len() <= MAX_ALLOWED_IPS => {
            for (i, v) in list.iter().enumerate() {
                let at = vec!["body".into(), "allowed_ips".into(), Value::from(i)];
                match v.as_str().map(str::parse::<crate::support::cidr::Cidr>) {
                    Some(Ok(cidr)) => allowed_ips.push(cidr.to_string()),
                    Some(Err(why)) => c.errors.push(FieldError::new(at, "cidr_parsing", why)),
                    None => {
                        c.errors
                            .push(FieldError::new(at, "string_type", "must be a CIDR string"))
                    }
                }
            }
        }
        Some(Value::Array(_)) => c.fail(
            "allowed_ips",
            "too_long",
            format!("at most {MAX_ALLOWED_IPS} blocks"),
        ),
        Some(_) => c.fail(
            "allowed_ips",
            "list_type",
            "must be an array of CIDR strings",
        ),
    }

    let input = CreateInput {
        name: name.unwrap_or_default(),
        allowed_ips,
        description: description.filter(|d| !d.is_empty()),
        scopes,
        expires_at,
        user_id,
        metadata,
    };
    c.finish(input)
}

/// The fields of a `POST /tokens/{id}/rotate` body.
pub const ROTATE_FIELDS: [&str; 2] = ["grace_period_seconds", "expires_at"];

/// Validates a rotation body `{grace_period_seconds?, expires_at?}` (empty: no grace
/// period, the old token's lifetime).
pub fn parse_rotate(body: &Value, now: Timestamp) -> Result<RotateInput, ApiError> {
    let mut c = Checker::new(body, &ROTATE_FIELDS)?;
    let max = MAX_GRACE_PERIOD.num_seconds();
    let grace_period = match c.get("grace_period_seconds").map(whole_number) {
        None => 0,
        Some(Some(n)) if (0..=max).contains(&n) => n,
        Some(Some(_)) => {
            c.fail(
                "grace_period_seconds",
                "range",
                format!("must be between 0 and {max} (7 days)"),
            );
            0
        }
        Some(None) => {
            c.fail("grace_period_seconds", "int_type", "must be a whole number");
            0
        }
    };
    let expires_at = c.future_time("expires_at", now);
    c.finish(RotateInput {
        grace_period: chrono::Duration::seconds(grace_period),
        expires_at,
    })
}

/// The fields `PATCH /tokens/{id}` may change.
pub const UPDATE_FIELDS: [&str; 3] = ["name", "description", "metadata"];

/// Validates a `PATCH /tokens/{id}` body: `name`, `description` (`null` removes it) and
/// `metadata` (replaces the map; `null` empties it). Every other token field is named as
/// immutable: scopes, expiry, owner and address limits never change after creation.
pub fn parse_update(body: &Value) -> Result<Patch, ApiError> {
    let mut c = Checker::new(body, &UPDATE_FIELDS)?;
    for e in &mut c.errors {
        let field = e.loc.get(1).and_then(Value::as_str).unwrap_or_default();
        if CREATE_FIELDS.contains(&field) || ROTATE_FIELDS.contains(&field) {
            e.kind = "immutable";
            e.msg = "cannot change after creation; rotate or create a token instead".into();
        }
    }
    let name = c.name();
    if c.obj.get("name").is_some_and(Value::is_null) {
        c.fail("name", "missing", "name cannot be removed");
    }
    let description = match c.obj.get("description") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(_) => Some(
            c.string("description", 0, MAX_DESCRIPTION_CHARS)
                .filter(|d| !d.is_empty()),
        ),
    };
    let metadata = match c.obj.get("metadata") {
        None => None,
        Some(Value::Null) => Some(BTreeMap::new()),
        Some(_) => c.metadata(),
    };
    if c.obj.keys().all(|k| !UPDATE_FIELDS.contains(&k.as_str())) && c.errors.is_empty() {
        c.fail_body(
            "missing",
            "give at least one of name, description, metadata",
        );
    }
    c.finish(Patch {
        name,
        description,
        metadata,
    })
}

/// Validates a revocation body `{reason?}`.
pub fn parse_revoke(body: &Value) -> Result<Option<String>, ApiError> {
    let mut c = Checker::new(body, &["reason"])?;
    let reason = c.string("reason", 1, MAX_REASON_CHARS);
    c.finish(reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::scope::ScopeCatalog;
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

    #[test]
    fn routes_match_methods_and_paths() {
        let m = match_route(&Method::GET, "/tokens/abc").unwrap();
        assert_eq!(
            (m.operation, m.id.as_deref()),
            (Operation::GetToken, Some("abc"))
        );
        assert_eq!(
            match_route(&Method::POST, "/tokens/abc/revoke")
                .unwrap()
                .operation,
            Operation::RevokeToken
        );
        assert!(matches!(
            match_route(&Method::PUT, "/tokens"),
            Err(ApiError::MethodNotAllowed(["GET", "POST"]))
        ));
        assert!(matches!(
            match_route(&Method::GET, "/tokens/abc/revoke"),
            Err(ApiError::MethodNotAllowed(["POST"]))
        ));
        for path in [
            "/",
            "/token",
            "/tokens/",
            "/tokens/a/b",
            "/tokens//revoke",
            "",
        ] {
            assert!(
                matches!(
                    match_route(&Method::GET, path),
                    Err(ApiError::RouteNotFound)
                ),
                "{path}"
            );
        }
    }

    #[test]
    fn self_is_a_route_of_its_own_not_an_id() {
        let m = match_route(&Method::GET, "/tokens/self").unwrap();
        assert_eq!((m.operation, m.id), (Operation::GetSelf, None));
        assert!(matches!(
            match_route(&Method::DELETE, "/tokens/self"),
            Err(ApiError::MethodNotAllowed(["GET"]))
        ));
    }

    #[test]
    fn every_route_has_its_methods_listed() {
        for (method, template, _) in &ROUTES {
            assert!(allowed_methods(template).contains(&method.as_str()));
        }
    }

    #[test]
    fn ids_exclude_the_key_separator() {
        assert!(valid_id("alice@example.com"));
        assert!(!valid_id("a#b"));
        assert!(!valid_id(""));
        assert!(!valid_id(&"a".repeat(129)));
    }
}
