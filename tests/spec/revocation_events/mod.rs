//! Revocation by EventBridge events and SQS messages (`api_tokens::events::revocation`), driven by
//! the real-shaped fixtures in `tests/fixtures/`.

mod bulk;
mod continuation;
mod faulty;
mod requests;
mod sources;

pub(crate) use faulty::{Fault, Faulty};

use api_tokens::model::TokenItem;
use api_tokens::store::TokenStore;
use integration_tests::App;

/// `n` active tokens of `user`, written directly (see `App::seed`).
async fn seed(app: &App, tenant: &str, user: &str, n: usize) -> Vec<TokenItem> {
    app.seed(tenant, user, n).await
}

async fn record(app: &App, id: uuid::Uuid) -> TokenItem {
    app.service.store().get(id).await.unwrap().unwrap()
}
