//! Routes: every method and path the API serves, the operation each stands for, and which
//! Lambda function serves which operations.

use lambda_http::http::Method;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::http::error::HttpError;

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
pub fn match_route(method: &Method, path: &str) -> Result<Matched, HttpError> {
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    let (template, id) = match segments.as_slice() {
        ["tokens"] => ("/tokens", None),
        ["tokens", "self"] => ("/tokens/self", None),
        ["tokens", id] if !id.is_empty() => ("/tokens/{id}", Some(id.to_string())),
        ["tokens", id, "revoke"] if !id.is_empty() => ("/tokens/{id}/revoke", Some(id.to_string())),
        ["tokens", id, "rotate"] if !id.is_empty() => ("/tokens/{id}/rotate", Some(id.to_string())),
        _ => return Err(HttpError::RouteNotFound),
    };
    match_template(method, template, id)
}

fn match_template(
    method: &Method,
    template: &str,
    id: Option<String>,
) -> Result<Matched, HttpError> {
    ROUTES
        .iter()
        .find(|(m, t, _)| m == method && *t == template)
        .map(|(_, _, operation)| Matched {
            operation: *operation,
            id: id.clone(),
        })
        .ok_or_else(|| match allowed_methods(template) {
            [] => HttpError::RouteNotFound,
            allow => HttpError::MethodNotAllowed(allow),
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
pub(crate) fn route_of(req: &Request) -> Result<Matched, HttpError> {
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
                return Err(HttpError::RouteNotFound);
            }
            match_template(req.method(), &t, id)
        }
        _ => match_route(req.method(), req.uri().path()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            Err(HttpError::MethodNotAllowed(["GET", "POST"]))
        ));
        assert!(matches!(
            match_route(&Method::GET, "/tokens/abc/revoke"),
            Err(HttpError::MethodNotAllowed(["POST"]))
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
                    Err(HttpError::RouteNotFound)
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
            Err(HttpError::MethodNotAllowed(["GET"]))
        ));
    }

    #[test]
    fn every_route_has_its_methods_listed() {
        for (method, template, _) in &ROUTES {
            assert!(allowed_methods(template).contains(&method.as_str()));
        }
    }
}
