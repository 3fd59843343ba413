//! `dev-server`: runs the whole service on 127.0.0.1 over DynamoDB Local. Started by
//! `scripts/dev`, which provides DynamoDB Local and the configuration.
//!
//! On start it creates the table if missing, mints (or reuses) an admin token for tenant
//! `dev`, prints it as `admin token: <secret>`, writes it to `$DEV_STATE_DIR/admin-token`,
//! and serves until Ctrl-C.

use std::path::PathBuf;
use std::sync::Arc;

use api_tokens::service::bootstrap;
use api_tokens::service::CreateInput;
use api_tokens::{config, schema, Config, DynamoStore, TokenService};
use tokio::net::TcpListener;

type Error = Box<dyn std::error::Error + Send + Sync>;

const TENANT: &str = "dev";
const ADMIN: &str = "admin";

#[tokio::main]
async fn main() -> Result<(), Error> {
    api_tokens::logging::init();
    let config = Config::from_env()?;
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let state_dir = PathBuf::from(std::env::var("DEV_STATE_DIR").unwrap_or_else(|_| ".dev".into()));

    let client = config::dynamodb_client().await;
    ensure_table(&client, &config.table_name).await?;
    let service = Arc::new(TokenService::new(
        DynamoStore::new(client, config.table_name.clone()),
        &config,
    ));
    let admin = admin_token(&service, &state_dir).await?;
    println!("admin token: {admin}");
    spawn_sweeper(service.clone());

    let listener = TcpListener::bind((host.as_str(), port)).await?;
    println!("listening on http://{}", listener.local_addr()?);
    tokio::select! {
        r = dev_server::serve(listener, service) => r?,
        _ = tokio::signal::ctrl_c() => eprintln!("stopping"),
    }
    Ok(())
}

/// Creates the table as `template.yaml` declares it, or checks that an existing one has this
/// version's indexes (a table from an older schema would fail at the first query: say so now).
async fn ensure_table(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<(), Error> {
    match client.describe_table().table_name(table).send().await {
        Ok(out) => {
            let mut have: Vec<String> = out
                .table
                .and_then(|t| t.global_secondary_indexes)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|i| i.index_name)
                .collect();
            let mut want: Vec<String> =
                schema::INDEXES.iter().map(|i| i.name.to_string()).collect();
            have.sort();
            want.sort();
            if have != want {
                return Err(format!(
                    "table {table} has indexes {have:?}, this version needs {want:?}: remove \
                     .dev/data (or run with --in-memory) to start afresh"
                )
                .into());
            }
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            schema::create_table(client, table).await?;
            eprintln!("created table {table}");
        }
        Err(e) => return Err(format!("cannot reach DynamoDB: {}", aws_error(&e)).into()),
    }
    Ok(())
}

/// The admin token in `state_dir/admin-token` while it still verifies; otherwise a new one,
/// written there.
async fn admin_token(
    service: &TokenService<DynamoStore>,
    state_dir: &std::path::Path,
) -> Result<String, Error> {
    let token_file = state_dir.join("admin-token");
    if let Ok(t) = std::fs::read_to_string(&token_file) {
        if service.verify(t.trim()).await.is_ok() {
            return Ok(t.trim().to_string());
        }
    }
    let (_, secret) = service
        .issue(
            TENANT,
            ADMIN,
            ADMIN,
            CreateInput {
                name: "dev admin".into(),
                scopes: service.scopes().all().to_vec(),
                ..CreateInput::default()
            },
        )
        .await
        .map_err(|e| format!("minting the admin token failed: {e}"))?;
    std::fs::create_dir_all(state_dir)?;
    // A stale file (its token no longer verifies) is replaced.
    let _ = std::fs::remove_file(&token_file);
    bootstrap::write_secret(bootstrap::create_private_file(&token_file)?, &secret)?;
    Ok(secret.expose().to_string())
}

/// What the scheduled `tokens-expire` function does in AWS, every minute.
fn spawn_sweeper(service: Arc<TokenService<DynamoStore>>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            every.tick().await;
            if let Err(e) = service.sweep_expired().await {
                eprintln!("expiry sweep failed: {e}");
            }
        }
    });
}

fn aws_error(e: &impl std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
