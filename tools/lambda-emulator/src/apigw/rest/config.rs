//! A REST API for a consumer API, configured in code (the template has none): its resources,
//! one Lambda authorizer on every method, and a mock integration that echoes what the
//! authorizer let through.

/// REST's default authorizer result TTL.
pub const DEFAULT_TTL_SECONDS: u32 = 300;

/// A REST API.
#[derive(Debug, Clone)]
pub struct RestApiConfig {
    /// The API id in ARNs.
    pub id: String,
    /// The stage (`prod`), the first segment of every path.
    pub stage: String,
    /// `(METHOD or ANY, resource path such as /orders/{id})`.
    pub resources: Vec<(String, String)>,
    /// The Lambda authorizer on every method.
    pub authorizer: RestAuthorizer,
}

/// A REST API's Lambda authorizer.
#[derive(Debug, Clone)]
pub struct RestAuthorizer {
    /// Logical id of its function.
    pub function: String,
    /// TOKEN or REQUEST.
    pub kind: RestAuthorizerKind,
    /// Seconds a policy is cached (REST's default: [`DEFAULT_TTL_SECONDS`]; 0: no cache).
    pub result_ttl_seconds: u32,
}

/// The two kinds of REST Lambda authorizer.
#[derive(Debug, Clone)]
pub enum RestAuthorizerKind {
    /// The token is one header's value.
    Token {
        /// The header (`Authorization`).
        header: String,
        /// A regular expression the whole token must match, else 401 without invoking.
        validation_regex: Option<String>,
    },
    /// The function gets the whole request; the identity sources key the cache.
    Request {
        /// `method.request.header.Authorization`, `context.identity.sourceIp`, ...
        identity_sources: Vec<String>,
    },
}

impl RestAuthorizer {
    /// A TOKEN authorizer on `header` with the default TTL.
    pub fn token(function: &str, header: &str) -> Self {
        Self {
            function: function.into(),
            kind: RestAuthorizerKind::Token {
                header: header.into(),
                validation_regex: None,
            },
            result_ttl_seconds: DEFAULT_TTL_SECONDS,
        }
    }

    /// A REQUEST authorizer with these identity sources and the default TTL.
    pub fn request(function: &str, identity_sources: &[&str]) -> Self {
        Self {
            function: function.into(),
            kind: RestAuthorizerKind::Request {
                identity_sources: identity_sources.iter().map(|s| s.to_string()).collect(),
            },
            result_ttl_seconds: DEFAULT_TTL_SECONDS,
        }
    }
}
