//! What a token is and what may be done with it: the record, scopes, the caller, the limits
//! every path enforces, and the error every use case returns. No DynamoDB, no HTTP.

pub mod error;
pub mod limits;
pub mod model;
pub mod principal;
pub mod scope;
pub mod usage;
pub mod verification;
