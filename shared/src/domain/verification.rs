//! Why a presented token is refused: the outcomes of verification that are the token's
//! fault, as opposed to the store's.

use crate::support::secret;

/// Why a presented token was refused. Logged (without the token), never sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Bad format or checksum: rejected without any DynamoDB call.
    #[error("malformed token: {0}")]
    Malformed(#[from] secret::MalformedToken),
    /// No record with that id.
    #[error("unknown token")]
    Unknown,
    /// A record exists but the secret does not match its hash.
    #[error("secret does not match")]
    Mismatch,
    /// Revoked.
    #[error("token revoked")]
    Revoked,
    /// Past its expiry.
    #[error("token expired")]
    Expired,
    /// The request comes from outside the token's `allowed_ips`.
    #[error("source address not allowed")]
    IpNotAllowed,
}
