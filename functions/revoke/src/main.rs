//! Lambda function that revokes tokens (POST /tokens/{id}/revoke, DELETE /tokens/{id}).

use api_tokens::http;
use api_tokens::{Budget, Keys};
use lambda_http::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    api_tokens::logging::init();
    let service = api_tokens::service_from_env(Keys::NONE, Budget::API).await?;
    http::lambda::run(&service, http::REVOKE_FUNCTION).await
}
