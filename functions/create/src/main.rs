//! Lambda function that creates tokens (POST /tokens).

use api_tokens::http;
use api_tokens::{Budget, Keys};
use lambda_http::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    api_tokens::logging::init();
    let service = api_tokens::service_from_env(Keys::TOKEN_HASH, Budget::API).await?;
    http::lambda::run(&service, http::CREATE_FUNCTION).await
}
