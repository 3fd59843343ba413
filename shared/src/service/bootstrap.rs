//! A tenant's first admin token, minted by the operator (`tokens-admin mint-first-admin`).
//!
//! Every API call needs a token, so the first one of a tenant cannot come from the API. The
//! operator's tool mints it with the deployment's own keys and the same write as a create
//! (record, credential and counters in one transaction; only the hash is stored), and it
//! refuses a tenant that already has active tokens unless told otherwise, so it cannot be used
//! to slip an extra admin into a tenant that is in use.

use std::io::Write as _;
use std::path::Path;

use crate::domain::error::ApiError;
use crate::domain::model::TokenItem;
use crate::service::create::CreateInput;
use crate::service::token_service::TokenService;
use crate::store::{StoreError, TokenStore};
use crate::support::secret::TokenSecret;
use crate::support::time::Timestamp;

/// The `created_by` of a token the operator's tool minted.
pub const CREATED_BY: &str = "tokens-admin";

/// What to mint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstAdmin {
    /// The tenant.
    pub tenant_id: String,
    /// The admin user who will hold the token.
    pub user_id: String,
    /// The token's name.
    pub name: String,
    /// When it stops working (`None`: never).
    pub expires_at: Option<Timestamp>,
    /// Mint even if the tenant already has active tokens (break-glass).
    pub allow_existing: bool,
}

/// Why no token was minted.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// The tenant is already in use; its admins mint further tokens through the API.
    #[error(
        "tenant {tenant_id} already has {active} active token(s): mint further tokens through \
         the API with an admin token, or pass --allow-existing to mint one anyway"
    )]
    TenantInUse {
        /// The tenant.
        tenant_id: String,
        /// Its active tokens.
        active: i64,
    },
    /// The request was invalid (ids, name) or the write failed.
    #[error("{0}")]
    Api(#[from] ApiError),
    /// Reading the tenant's counters failed.
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// Mints `request`'s admin token with every scope the deployment has (`tokens:read`,
/// `tokens:write`, `tokens:admin` and `EXTRA_SCOPES`: a token grants only scopes it holds, so
/// the tenant's first admin holds them all): one `BatchGetItem` of the tenant's counters, then
/// the create's single transaction.
pub async fn mint_first_admin<S: TokenStore>(
    service: &TokenService<S>,
    request: FirstAdmin,
) -> Result<(TokenItem, TokenSecret), BootstrapError> {
    if !request.allow_existing {
        let active = service
            .store()
            .counts(&request.tenant_id, None)
            .await?
            .active;
        if active > 0 {
            return Err(BootstrapError::TenantInUse {
                tenant_id: request.tenant_id,
                active,
            });
        }
    }
    let input = CreateInput {
        name: request.name,
        scopes: service.scopes().all().to_vec(),
        expires_at: request.expires_at,
        ..CreateInput::default()
    };
    Ok(service
        .issue(&request.tenant_id, &request.user_id, CREATED_BY, input)
        .await?)
}

/// Creates `path` for a secret: readable by its owner only (mode 0600 on Unix), and never
/// replacing an existing file. Create it before minting, so a secret is never minted
/// without a place to put it.
pub fn create_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Writes `secret` and a newline to `file`.
pub fn write_secret(mut file: std::fs::File, secret: &TokenSecret) -> std::io::Result<()> {
    file.write_all(format!("{}\n", secret.expose()).as_bytes())?;
    file.sync_all()
}
