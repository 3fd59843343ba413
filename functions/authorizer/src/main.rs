//! API Gateway Lambda authorizer: verifies `Authorization: Bearer <token>`.

use api_tokens::authorizer;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    api_tokens::logging::init();
    let service = api_tokens::service_from_env().await?;
    run(service_fn(|event: LambdaEvent<Value>| async {
        // A refused REST token must reach API Gateway as the error message `Unauthorized`.
        authorizer::handle(&service, event.payload)
            .await
            .map_err(Error::from)
    }))
    .await
}
