//! Lambda function that lists and reads tokens (GET /tokens, GET /tokens/{id}).

use api_tokens::api;
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    api_tokens::logging::init();
    let service = api_tokens::service_from_env().await?;
    run(service_fn(|req| {
        api::serve(&service, req, api::LIST_FUNCTION)
    }))
    .await
}
