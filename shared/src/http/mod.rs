//! The HTTP API: routes, request parsing and validation, and responses. Each Lambda function
//! serves a subset of the routes through [`serve`]; the local dev server serves all of them.
//!
//! | file | what it holds |
//! | --- | --- |
//! | [`routes`] | every route, its operation, and which function serves which operations |
//! | [`lambda`] | the functions' entry point: `lambda_http` with the event made safe for it |
//! | [`principal`] | the caller, from API Gateway's authorizer context |
//! | [`query`] | the `GET /tokens` parameters |
//! | [`body`] | reading a JSON body; the create, rotate, update and revoke bodies |
//! | [`checker`] | the field checks those bodies share |
//! | [`response`] | JSON responses, the list page, the `201` of a minted token |
//! | [`error`] | [`HttpError`]: the transport's own failures, or a use case's [`ApiError`] |
//! | [`problem`] | the one mapping of an [`HttpError`] to a problem+json response |

pub mod body;
pub mod checker;
pub mod error;
pub mod lambda;
pub mod principal;
pub mod problem;
pub mod query;
pub mod response;
pub mod routes;

use std::convert::Infallible;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{Map, Value};

use crate::config::Budget;
use crate::domain::error::ApiError;
use crate::domain::usage::{Usage, Verdict};
use crate::http::body::required_json;
use crate::http::error::loc;
use crate::http::query::reject_query;
use crate::http::response::minted_response;
use crate::service::idempotency::{self, Keyed};
use crate::service::TokenService;
use crate::store::TokenStore;
use crate::support::time;

pub use body::{
    parse_create, parse_revoke, parse_rotate, parse_update, read_json, CREATE_FIELDS,
    MAX_BODY_BYTES, ROTATE_FIELDS, UPDATE_FIELDS,
};
pub use error::HttpError;
pub use query::{
    parse_list_query, DEFAULT_LIMIT, LIST_PARAMETERS, MAX_LIMIT, METADATA_PARAMETER_PREFIX,
};
pub use response::{json_response, list_response, ListBody};
pub use routes::{
    allowed_methods, match_route, Matched, Operation, ALL_OPERATIONS, CREATE_FUNCTION,
    LIST_FUNCTION, REVOKE_FUNCTION, ROUTES,
};

/// Serves one request for a function that handles `operations`. Never fails: every error
/// becomes a problem+json response, and a request still waiting on AWS when its time
/// ([`Budget::API`], or less when Lambda's deadline is nearer) is spent is answered 503 with
/// `Retry-After`: dropping it is safe, as every write is one atomic request or conditioned.
pub async fn serve<S: TokenStore>(
    service: &TokenService<S>,
    req: Request,
    operations: &[Operation],
) -> Result<Response<Body>, Infallible> {
    let instance = req.uri().path().to_string();
    let usage = principal::usage_of(&req);
    let within = Budget::API.in_effect().answer_within(lambda_deadline(&req));
    // Boxed for the same reason as `TokenService::verify_cached`: a shallower future type.
    let response = match tokio::time::timeout(
        within,
        Box::pin(dispatch(service, &req, operations, usage.as_ref())),
    )
    .await
    {
        Ok(Ok(resp)) => resp,
        Ok(Err(err)) => err.into_response(&instance),
        Err(_) => {
            tracing::warn!(
                budget_ms = within.as_millis() as u64,
                "answer budget spent waiting on AWS"
            );
            HttpError::from(ApiError::Unavailable).into_response(&instance)
        }
    };
    Ok(with_limit_headers(response, usage.as_ref()))
}

/// Every answer to a limited token's request says where it stands: the IETF
/// `RateLimit-Policy` and `RateLimit` headers.
fn with_limit_headers(mut resp: Response<Body>, usage: Option<&Usage>) -> Response<Body> {
    let Some(u) = usage else {
        return resp;
    };
    for (name, value) in [("ratelimit-policy", &u.policy), ("ratelimit", &u.state)] {
        if value.is_empty() {
            continue;
        }
        if let Ok(v) = lambda_http::http::HeaderValue::from_str(value) {
            resp.headers_mut().insert(name, v);
        }
    }
    resp
}

/// The invocation's deadline, when Lambda runs this request (not under the dev server).
fn lambda_deadline(req: &Request) -> Option<SystemTime> {
    let ms = req.lambda_context_ref()?.deadline;
    Some(UNIX_EPOCH + Duration::from_millis(ms))
}

async fn dispatch<S: TokenStore>(
    service: &TokenService<S>,
    req: &Request,
    operations: &[Operation],
    usage: Option<&Usage>,
) -> Result<Response<Body>, HttpError> {
    let matched = routes::route_of(req)?;
    if !operations.contains(&matched.operation) {
        return Err(HttpError::RouteNotFound);
    }
    let caller = principal::from_request(req).ok_or(ApiError::Unauthorized)?;
    if let Some(u) = usage {
        match u.verdict {
            Verdict::Admitted => {}
            Verdict::RateLimited => return Err(ApiError::RateLimited(u.clone()).into()),
            Verdict::QuotaExhausted => return Err(ApiError::QuotaExhausted(u.clone()).into()),
        }
    }
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
            token_response(service, item).await
        }
        Operation::GetToken => {
            reject_query(req, &[])?;
            let item = service.get(&caller, id).await?;
            token_response(service, item).await
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
            token_response(service, item).await
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
            token_response(service, item).await
        }
    }
}

/// The `200` answer of one token, its `quota_remaining` read (one `GetItem`-sized
/// `BatchGetItem` when it has a quota).
async fn token_response<S: TokenStore>(
    service: &TokenService<S>,
    item: crate::domain::model::TokenItem,
) -> Result<Response<Body>, HttpError> {
    let now = time::now();
    let remaining = service
        .quota_remaining(std::slice::from_ref(&item), now)
        .await
        .map_err(ApiError::from)?;
    let mut view = item.view(now);
    view.quota_remaining = remaining.of(&item);
    Ok(json_response(StatusCode::OK, &view))
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
