//! Why a stand-in API cannot be started.

use super::route::RouteError;

/// Why an API could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ApigwError {
    /// No port on 127.0.0.1.
    #[error("cannot listen on 127.0.0.1: {0}")]
    Bind(#[from] std::io::Error),
    /// A route key or resource path that is not valid.
    #[error("{0}")]
    Route(#[from] RouteError),
    /// A route names an authorizer the API does not have.
    #[error("route {route:?} names authorizer {authorizer:?}, which the API does not have")]
    UnknownAuthorizer {
        /// The route key.
        route: String,
        /// The authorizer's name.
        authorizer: String,
    },
    /// A payload format version the stand-in does not reproduce.
    #[error("{what} uses payload format {version}; only 2.0 is reproduced")]
    PayloadFormat {
        /// The route or authorizer.
        what: String,
        /// Its version.
        version: String,
    },
    /// A TOKEN authorizer's validation expression that is not a valid regular expression.
    #[error("token validation expression {0:?} is not a valid regular expression")]
    Regex(String),
}
