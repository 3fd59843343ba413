//! Lambda function that lists and reads tokens (GET /tokens, GET /tokens/{id}).

use api_tokens::http;
use api_tokens::{Budget, Keys};
use lambda_http::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    api_tokens::logging::init();
    let service = api_tokens::service_from_env(Keys::CURSORS, Budget::API).await?;
    http::lambda::run(&service, http::LIST_FUNCTION).await
}
