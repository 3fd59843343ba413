//! Revocation by EventBridge events and SQS messages (`api_tokens::events::revocation`), driven by
//! the real-shaped fixtures in `tests/fixtures/`.

mod bulk;
mod continuation;
mod faulty;
mod requests;
mod sources;
mod verification;

pub(crate) use faulty::{Fault, Faulty};
use verification::*;

use api_tokens::model::TokenItem;
use api_tokens::store::TokenStore;
use integration_tests::App;

/// `n` active tokens of `user`, written directly (see `App::seed`).
async fn seed(app: &App, tenant: &str, user: &str, n: usize) -> Vec<TokenItem> {
    app.seed(tenant, user, n).await
}

/// `n` tokens of `user` minted through the service (real secrets, so `verify` can be asked
/// about them): their ids and secrets.
async fn mint_n(app: &App, tenant: &str, user: &str, n: usize) -> Vec<(uuid::Uuid, String)> {
    let mut minted = Vec::new();
    for _ in 0..n {
        let (id, secret) = app
            .mint_with(tenant, user, crate::USER, Default::default())
            .await;
        minted.push((id.parse().unwrap(), secret));
    }
    minted
}

/// The secrets of `minted`.
fn secrets(minted: &[(uuid::Uuid, String)]) -> Vec<&str> {
    minted.iter().map(|(_, s)| s.as_str()).collect()
}

async fn record(app: &App, id: uuid::Uuid) -> TokenItem {
    app.service.store().get(id).await.unwrap().unwrap()
}
