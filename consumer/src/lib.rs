//! Your API behind api-tokens: the caller the token service's authorizer verified, read from
//! a `lambda_http` request, and the service's own problem+json answers when it falls short.
//!
//! The authorizer has already refused bad tokens and, where your stack declares route scopes,
//! tokens without them; your handler gets the verified caller's tenant, user, token, scopes
//! and metadata through API Gateway's authorizer context (never a client header). Checking a
//! scope again in the handler is defence in depth, and the answer is the service's own `403`.
//!
//! ```no_run
//! use api_tokens_consumer::{Principal, Problem};
//! use lambda_http::{Body, Request, Response};
//!
//! async fn handler(req: Request) -> Result<Response<Body>, lambda_http::Error> {
//!     Ok(orders(&req).unwrap_or_else(Problem::into_response))
//! }
//!
//! fn orders(req: &Request) -> Result<Response<Body>, Problem> {
//!     let caller = Principal::from_request(req)?; // 401 without the authorizer's context
//!     caller.require_scope("orders:read")?; // 403 missing-scope, as the service answers
//!     Ok(Response::new(Body::from(format!("orders of {}", caller.tenant_id))))
//! }
//! ```
//!
//! | file | what it holds |
//! | --- | --- |
//! | [`principal`] | [`Principal`]: the context contract, version 1, and the scope checks |
//! | [`problem`] | [`Problem`]: RFC 9457 problem+json, the token service's field set |
//! | [`usage`] | [`Usage`]: the authorizer's verdict on the token's rate limit and quota |
//!
//! Behind an API whose declaration says `"limits": "context"`, a request over its token's
//! rate limit or quota reaches your handler with the verdict; answer it first:
//!
//! ```no_run
//! # use api_tokens_consumer::{Principal, Problem};
//! # use lambda_http::{Body, Request, Response};
//! fn orders(req: &Request) -> Result<Response<Body>, Problem> {
//!     let caller = Principal::from_request(req)?;
//!     caller.require_within_limits()?; // 429 with Retry-After and RateLimit headers
//!     let mut resp = Response::new(Body::from("orders"));
//!     if let Some(usage) = &caller.usage {
//!         usage.add_headers(&mut resp); // RateLimit-Policy and RateLimit on every answer
//!     }
//!     Ok(resp)
//! }
//! ```

pub mod principal;
pub mod problem;
pub mod usage;

pub use principal::{Principal, CONTEXT_VERSION};
pub use problem::{FieldError, Problem, PROBLEM_BASE};
pub use usage::{Usage, Verdict};
