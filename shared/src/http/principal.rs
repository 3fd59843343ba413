//! The caller of a request: the principal API Gateway's authorizer attached to it (its
//! context, never a client header; the codec is [`Principal::from_context`]).

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::domain::principal::Principal;

/// The principal the authorizer attached to `req`; `None` when there is none or it is
/// incomplete.
pub fn from_request(req: &Request) -> Option<Principal> {
    let fields = match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(c) => &c.authorizer.as_ref()?.fields,
        RequestContext::ApiGatewayV1(c) => &c.authorizer.fields,
        _ => return None,
    };
    Principal::from_context(fields)
}
