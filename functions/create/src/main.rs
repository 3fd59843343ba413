//! Lambda function that creates tokens (POST /tokens).

use api_tokens::http;
use api_tokens::{Budget, Keys};
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    api_tokens::logging::init();
    let service = api_tokens::service_from_env(Keys::TOKEN_HASH, Budget::API).await?;
    run(service_fn(|req| {
        http::serve(&service, req, http::CREATE_FUNCTION)
    }))
    .await
}
