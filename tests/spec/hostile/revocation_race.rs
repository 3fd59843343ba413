//! An admin's revocation against an owner who keeps renaming the token.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use api_tokens::model::StoredStatus;
use api_tokens::service::CreateInput;
use api_tokens::store::TokenStore;
use api_tokens::time;
use integration_tests::{principal, App};

use crate::{ADMIN, USER};

#[tokio::test]
async fn a_revocation_wins_against_an_owner_who_renames_the_token_after_every_read() {
    let app = App::start().await;
    let (id, _) = app
        .mint_with("acme", "alice", USER, CreateInput::default())
        .await;
    let renames = Arc::new(AtomicUsize::new(0));
    let owner = RenameAfterEveryRead {
        endpoint: integration_tests::endpoint(),
        table: app.table.clone(),
        id: id.parse().unwrap(),
        renames: renames.clone(),
    };
    let revoking = api_tokens::TokenService::new(
        api_tokens::DynamoStore::new(
            integration_tests::dynamodb_with(&integration_tests::endpoint(), owner),
            &app.table,
        ),
        &app.config,
    );
    let admin = principal("acme", "root", ADMIN);
    let revoked = revoking
        .revoke(&admin, &id, Some("offboarded"))
        .await
        .expect("the revocation wins: it conditions on tenant, owner and status only");
    assert_eq!(revoked.status, StoredStatus::Revoked);
    let n = renames.load(Ordering::SeqCst);
    assert!(
        n >= 1,
        "the owner renamed it between the read and the write"
    );
    let stored = app
        .service
        .store()
        .get(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, StoredStatus::Revoked);
    assert_eq!(stored.revocation_reason.as_deref(), Some("offboarded"));
    assert_eq!(
        stored.name,
        format!("renamed {n}"),
        "the owner's last rename is kept"
    );
    let cred = app
        .service
        .store()
        .credential(stored.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cred.status, StoredStatus::Revoked);
}

/// The owner of token `id`, renaming it (a `PATCH`, on a client of its own) right after each
/// `GetItem` the intercepted client completes: every read of a revocation is stale by the
/// time its write is sent.
#[derive(Debug)]
struct RenameAfterEveryRead {
    endpoint: String,
    table: String,
    id: uuid::Uuid,
    renames: Arc<AtomicUsize>,
}

impl aws_sdk_dynamodb::config::Intercept for RenameAfterEveryRead {
    fn name(&self) -> &'static str {
        "RenameAfterEveryRead"
    }

    fn read_after_deserialization(
        &self,
        ctx: &aws_sdk_dynamodb::config::interceptors::AfterDeserializationInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let read = ctx
            .output_or_error()
            .ok()
            .and_then(|o| o.downcast_ref::<aws_sdk_dynamodb::operation::get_item::GetItemOutput>());
        if read.and_then(|r| r.item()).is_none() {
            return Ok(());
        }
        let n = self.renames.fetch_add(1, Ordering::SeqCst) + 1;
        let (endpoint, table, id) = (self.endpoint.clone(), self.table.clone(), self.id);
        // Done before this read returns, on a runtime and client of its own.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let store =
                    api_tokens::DynamoStore::new(integration_tests::dynamodb(&endpoint), table);
                store
                    .amend(&api_tokens::store::Amendment {
                        id,
                        tenant_id: "acme",
                        owner: Some("alice"),
                        patch: &api_tokens::store::Patch {
                            name: Some(format!("renamed {n}")),
                            ..Default::default()
                        },
                        actor: "alice",
                        at: time::now(),
                        seen: None,
                    })
                    .await
                    .unwrap()
                    .expect("alice's token");
            });
        })
        .join()
        .unwrap();
        Ok(())
    }
}
