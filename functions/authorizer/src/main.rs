//! API Gateway Lambda authorizer: verifies `Authorization: Bearer <token>` and, where
//! `ROUTE_SCOPES_PARAMETER_PREFIX` is set, the scopes each API declares for its routes.

use api_tokens::authorizer::Authorizer;
use api_tokens::Keys;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    api_tokens::logging::init();
    let authorizer = Authorizer::from_env(Keys::TOKEN_HASH).await?;
    run(service_fn(|event: LambdaEvent<Value>| async {
        // A refused token or route is an answer (deny); only a failure is an error.
        authorizer.handle(event.payload).await.map_err(Error::from)
    }))
    .await
}
