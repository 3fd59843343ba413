//! What an operator does with a fresh deployment: the functions read their keys from SSM
//! Parameter Store, and `tokens-admin mint-first-admin` mints a tenant's first admin token.
//!
//! SSM is a local stand-in ([`AwsStub`]) answering as SSM does; DynamoDB is DynamoDB Local.

use std::sync::{Arc, Mutex};

use api_tokens::config::{self, ConfigError};
use api_tokens::store::TokenStore;
use api_tokens::{schema, Budget, Config, DynamoStore, TokenService};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use integration_tests::{dynamodb, endpoint, HttpClient, Method};
use serde_json::{json, Value};
use tokens_admin::{parse, run, CommandError};

use crate::aws_stub::AwsStub;

const PREFIX: &str = "/api-tokens/test";
const CURSOR_PARAMETER: &str = "/api-tokens/test/cursor-keys";
const HASH_PARAMETER: &str = "/api-tokens/test/token-hash-key";

/// Two fresh random keys, base64, as `scripts/aws-keys create` stores them.
fn keys() -> (String, String) {
    let key = || {
        let mut k = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut k).unwrap();
        STANDARD.encode(k)
    };
    (key(), key())
}

/// SSM holding `stored` (name, value) pairs. `GetParameters` answers as SSM does, listing
/// unknown names under `InvalidParameters`; `PutParameter` without overwrite adds a parameter
/// or answers `ParameterAlreadyExists`.
async fn ssm_holding(stored: Vec<(String, String)>) -> (AwsStub, aws_sdk_ssm::Client) {
    let stored = Mutex::new(stored);
    let stub = AwsStub::start(move |_, target, body| {
        let mut stored = stored.lock().unwrap();
        if target == "AmazonSSM.PutParameter" {
            let name = body["Name"].as_str().unwrap().to_string();
            assert_eq!(body["Type"], "SecureString");
            assert_eq!(body["Overwrite"], json!(false));
            if stored.iter().any(|(n, _)| *n == name) {
                return (
                    400,
                    json!({"__type": "ParameterAlreadyExists", "message": "The parameter already exists."}),
                );
            }
            stored.push((name, body["Value"].as_str().unwrap().to_string()));
            return (200, json!({"Version": 1, "Tier": "Standard"}));
        }
        assert_eq!(target, "AmazonSSM.GetParameters");
        let names: Vec<&str> = body["Names"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let found: Vec<Value> = stored
            .iter()
            .filter(|(name, _)| names.contains(&name.as_str()))
            .map(|(name, value)| {
                json!({"Name": name, "Type": "SecureString", "Value": value, "Version": 1,
                       "ARN": format!("arn:aws:ssm:eu-west-1:123456789012:parameter{name}")})
            })
            .collect();
        let invalid: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| !stored.iter().any(|(name, _)| name == n))
            .collect();
        (200, json!({"Parameters": found, "InvalidParameters": invalid}))
    })
    .await;
    let client = ssm_client(&stub);
    (stub, client)
}

fn ssm_client(stub: &AwsStub) -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(&stub.sdk_config())
}

/// The environment the template gives every function.
fn deployed_env(table: &str) -> impl Fn(&str) -> Option<String> + '_ {
    move |k| match k {
        "TABLE_NAME" => Some(table.to_string()),
        "CURSOR_KEYS_PARAMETER" => Some(CURSOR_PARAMETER.into()),
        "TOKEN_HASH_KEY_PARAMETER" => Some(HASH_PARAMETER.into()),
        "TOKEN_PREFIX" => Some("acme".into()),
        "EXTRA_SCOPES" => Some("orders:read,orders:write".into()),
        _ => None,
    }
}

fn stored(cursor: &str, hash: &str) -> Vec<(String, String)> {
    vec![
        (CURSOR_PARAMETER.into(), cursor.into()),
        (HASH_PARAMETER.into(), hash.into()),
    ]
}

#[tokio::test]
async fn a_cold_start_reads_both_keys_with_one_decrypting_get_parameters_call() {
    let (cursor, hash) = keys();
    let (stub, ssm) = ssm_holding(stored(&cursor, &hash)).await;
    let config = Config::load_with(&ssm, deployed_env("t")).await.unwrap();
    assert_eq!(config.cursor_keys, vec![STANDARD.decode(&cursor).unwrap()]);
    assert_eq!(config.token_hash_key, STANDARD.decode(&hash).unwrap());
    assert_eq!(config.token_prefix, "acme");

    let requests = stub.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].target, "AmazonSSM.GetParameters");
    let body: Value = serde_json::from_str(&requests[0].body).unwrap();
    assert_eq!(body["Names"], json!([CURSOR_PARAMETER, HASH_PARAMETER]));
    assert_eq!(body["WithDecryption"], json!(true));
}

/// What Lambda sets, with endpoint overrides: the functions' SDK configuration reads nothing
/// else (`config::lambda_sdk_config`).
fn lambda_env(extra: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> + Send + Sync {
    let mut vars: Vec<(&str, String)> = vec![
        ("AWS_REGION", "eu-west-1".into()),
        ("AWS_ACCESS_KEY_ID", "ASIALAMBDAROLE".into()),
        ("AWS_SECRET_ACCESS_KEY", "role-secret".into()),
        ("AWS_SESSION_TOKEN", "role-session-token".into()),
    ];
    vars.extend(extra);
    move |k| {
        vars.iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| v.clone())
    }
}

#[tokio::test]
async fn the_functions_sign_with_lambdas_role_credentials_and_use_the_endpoint_variables() {
    let (cursor, hash) = keys();
    let (stub, _) = ssm_holding(stored(&cursor, &hash)).await;
    let sdk = config::lambda_sdk_config_from(
        lambda_env(vec![
            ("AWS_ENDPOINT_URL_SSM", stub.endpoint.clone()),
            ("AWS_ENDPOINT_URL_DYNAMODB", endpoint()),
        ]),
        Budget::AUTHORIZER,
    )
    .unwrap();
    // Every client built from it waits on AWS only as long as the function's budget allows.
    let budget = Budget::AUTHORIZER.in_effect();
    assert_eq!(sdk.timeout_config(), Some(&budget.timeout_config()));
    assert_eq!(sdk.retry_config(), Some(&budget.retry_config()));
    let loaded = Config::load_with(&aws_sdk_ssm::Client::new(&sdk), deployed_env("t"))
        .await
        .unwrap();
    assert_eq!(loaded.token_hash_key, STANDARD.decode(&hash).unwrap());
    let sent = &stub.requests()[0];
    let header = |name: &str| sent.headers[name].to_str().unwrap().to_string();
    let signature = header("authorization");
    assert!(
        signature.contains("Credential=ASIALAMBDAROLE/")
            && signature.contains("/eu-west-1/ssm/aws4_request"),
        "{signature}"
    );
    assert_eq!(header("x-amz-security-token"), "role-session-token");
    // DynamoDB at its own endpoint (DynamoDB Local), from the same configuration.
    aws_sdk_dynamodb::Client::new(&sdk)
        .list_tables()
        .limit(1)
        .send()
        .await
        .expect("DynamoDB Local through AWS_ENDPOINT_URL_DYNAMODB");

    // AWS_ENDPOINT_URL serves every service without its own variable.
    let sdk = config::lambda_sdk_config_from(
        lambda_env(vec![("AWS_ENDPOINT_URL", stub.endpoint.clone())]),
        Budget::API,
    )
    .unwrap();
    Config::load_with(&aws_sdk_ssm::Client::new(&sdk), deployed_env("t"))
        .await
        .unwrap();
    assert_eq!(stub.requests().len(), 2);
}

#[test]
fn the_functions_refuse_to_start_without_lambdas_region_or_credentials() {
    for missing in ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
        let env = lambda_env(vec![]);
        let err = config::lambda_sdk_config_from(
            move |k| (k != missing).then(|| env(k)).flatten(),
            Budget::API,
        )
        .err()
        .unwrap_or_else(|| panic!("started without {missing}"));
        assert_eq!(err.var, missing);
    }
    // AWS_DEFAULT_REGION stands in for AWS_REGION; the session token is optional.
    let env = lambda_env(vec![("AWS_DEFAULT_REGION", "eu-west-1".into())]);
    let sdk = config::lambda_sdk_config_from(
        move |k| {
            (k != "AWS_REGION" && k != "AWS_SESSION_TOKEN")
                .then(|| env(k))
                .flatten()
        },
        Budget::EVENTS,
    )
    .unwrap();
    assert_eq!(sdk.region().unwrap().as_ref(), "eu-west-1");
}

#[tokio::test]
async fn keys_given_as_values_need_no_request() {
    let (cursor, hash) = keys();
    let (stub, ssm) = ssm_holding(vec![]).await;
    let config = Config::load_with(&ssm, |k| match k {
        "TABLE_NAME" => Some("t".into()),
        "CURSOR_KEYS" => Some(cursor.clone()),
        "TOKEN_HASH_KEY" => Some(hash.clone()),
        _ => None,
    })
    .await
    .unwrap();
    assert_eq!(config.token_hash_key, STANDARD.decode(&hash).unwrap());
    assert!(stub.requests().is_empty());
}

#[tokio::test]
async fn a_missing_parameter_stops_the_cold_start_naming_its_variable_and_parameter() {
    let (cursor, _) = keys();
    let (_stub, ssm) = ssm_holding(vec![(CURSOR_PARAMETER.into(), cursor)]).await;
    let err: ConfigError = Config::load_with(&ssm, deployed_env("t"))
        .await
        .unwrap_err();
    assert_eq!(err.var, "TOKEN_HASH_KEY_PARAMETER");
    assert!(err.to_string().contains(HASH_PARAMETER), "{err}");
}

#[tokio::test]
async fn a_parameter_the_role_cannot_read_stops_the_cold_start_with_ssm_s_reason() {
    let stub = AwsStub::start(|_, _, _| {
        (
            400,
            json!({"__type": "AccessDeniedException",
                   "message": "User is not authorized to perform: ssm:GetParameters"}),
        )
    })
    .await;
    let err = Config::load_with(&ssm_client(&stub), deployed_env("t"))
        .await
        .unwrap_err();
    assert_eq!(err.var, "CURSOR_KEYS_PARAMETER");
    assert!(err.to_string().contains("AccessDeniedException"), "{err}");
}

#[tokio::test]
async fn a_stored_key_that_is_not_a_key_is_refused_without_echoing_it() {
    let (cursor, _) = keys();
    let (_stub, ssm) = ssm_holding(stored(&cursor, "not-a-key")).await;
    let err = Config::load_with(&ssm, deployed_env("t"))
        .await
        .unwrap_err();
    assert_eq!(err.var, "TOKEN_HASH_KEY");
    assert!(!err.to_string().contains("not-a-key"), "{err}");
}

/// A deployment: a table on DynamoDB Local, keys in (stand-in) SSM, and the operator's
/// command pointed at both.
struct Deployment {
    table: String,
    cursor: String,
    hash: String,
    _stub: AwsStub,
    ssm: aws_sdk_ssm::Client,
    dir: std::path::PathBuf,
}

impl Deployment {
    async fn new() -> Self {
        let table = format!("tokens-{}", uuid::Uuid::now_v7().simple());
        schema::create_table(&dynamodb(&endpoint()), &table)
            .await
            .unwrap();
        let (cursor, hash) = keys();
        let (stub, ssm) = ssm_holding(stored(&cursor, &hash)).await;
        let dir = std::env::temp_dir().join(format!("tokens-admin-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        Self {
            table,
            cursor,
            hash,
            _stub: stub,
            ssm,
            dir,
        }
    }

    /// Runs `tokens-admin <line>`, with `{dir}` standing for a private temporary folder.
    async fn run(&self, line: &str) -> Result<String, CommandError> {
        let line = line.replace("{dir}", &self.dir.display().to_string());
        let args: Vec<String> = line.split_whitespace().map(String::from).collect();
        run(
            parse(&args)?,
            &self.ssm,
            dynamodb(&endpoint()),
            deployed_env(&self.table),
        )
        .await
    }

    /// The deployment's service, as its functions build it.
    fn service(&self) -> TokenService<DynamoStore> {
        let config = Config::from_lookup(|k| match k {
            "CURSOR_KEYS" => Some(self.cursor.clone()),
            "TOKEN_HASH_KEY" => Some(self.hash.clone()),
            other => deployed_env(&self.table)(other).filter(|_| !other.ends_with("_PARAMETER")),
        })
        .unwrap();
        TokenService::new(
            DynamoStore::new(dynamodb(&endpoint()), &self.table),
            &config,
        )
    }

    fn file(&self, name: &str) -> std::path::PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn the_first_admin_token_is_written_to_a_private_file_and_administers_its_tenant() {
    let deployment = Deployment::new().await;
    let report = deployment
        .run("mint-first-admin --tenant acme --user ops --out {dir}/admin --expires-in-days 30")
        .await
        .unwrap();

    let path = deployment.file("admin");
    let secret = std::fs::read_to_string(&path).unwrap().trim().to_string();
    assert!(secret.starts_with("acme_"), "the deployment's prefix");
    assert!(
        !report.contains(&secret),
        "the report holds no secret: {report}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The deployment's own functions accept it: it reads itself, and creates for another user.
    let service = Arc::new(deployment.service());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(dev_server::serve(listener, service.clone()));
    let bearer = format!("Bearer {secret}");
    let http = HttpClient::new();
    let me = http
        .send(
            addr,
            Method::GET,
            "/tokens/self",
            &[("authorization", &bearer)],
            vec![],
        )
        .await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(
        me.json["scopes"],
        json!([
            "tokens:read",
            "tokens:write",
            "tokens:admin",
            "orders:read",
            "orders:write"
        ]),
        "the first admin holds every scope of the deployment, so it can grant each"
    );
    assert_eq!(me.json["user_id"], "ops");
    assert_eq!(me.json["created_by"], "tokens-admin");
    assert!(report.contains(me.json["id"].as_str().unwrap()), "{report}");
    let expires = chrono::DateTime::parse_from_rfc3339(me.json["expires_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    let days = (expires - chrono::Utc::now()).num_hours() as f64 / 24.0;
    assert!((29.9..=30.0).contains(&days), "{days}");

    let created = http
        .send(
            addr,
            Method::POST,
            "/tokens",
            &[
                ("authorization", &bearer),
                ("content-type", "application/json"),
            ],
            json!({"name": "ci", "user_id": "ci-bot", "scopes": ["tokens:read"]})
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    server.abort();
}

#[tokio::test]
async fn a_tenant_with_active_tokens_is_refused_and_no_file_is_left() {
    let deployment = Deployment::new().await;
    deployment
        .run("mint-first-admin --tenant acme --user ops --out {dir}/first")
        .await
        .unwrap();
    let first = std::fs::read_to_string(deployment.file("first")).unwrap();

    let err = deployment
        .run("mint-first-admin --tenant acme --user mallory --out {dir}/second")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("already has 1 active token"),
        "{err}"
    );
    assert!(!deployment.file("second").exists());
    assert_eq!(
        std::fs::read_to_string(deployment.file("first")).unwrap(),
        first
    );
    let counts = deployment
        .service()
        .store()
        .counts("acme", None)
        .await
        .unwrap();
    assert_eq!(counts.active, 1);

    // Another tenant is not in use; --allow-existing is the documented break-glass.
    deployment
        .run("mint-first-admin --tenant globex --user ops --out {dir}/globex")
        .await
        .unwrap();
    deployment
        .run("mint-first-admin --tenant acme --user ops --out {dir}/again --allow-existing")
        .await
        .unwrap();
    let counts = deployment
        .service()
        .store()
        .counts("acme", None)
        .await
        .unwrap();
    assert_eq!(counts.active, 2);
}

#[tokio::test]
async fn an_existing_file_is_never_overwritten_and_nothing_is_minted() {
    let deployment = Deployment::new().await;
    std::fs::write(deployment.file("taken"), "keep me").unwrap();
    let err = deployment
        .run("mint-first-admin --tenant acme --user ops --out {dir}/taken")
        .await
        .unwrap_err();
    assert!(matches!(err, CommandError::File { .. }), "{err}");
    assert_eq!(
        std::fs::read_to_string(deployment.file("taken")).unwrap(),
        "keep me"
    );
    let counts = deployment
        .service()
        .store()
        .counts("acme", None)
        .await
        .unwrap();
    assert_eq!(counts.active, 0);
}

#[tokio::test]
async fn the_command_fails_before_minting_when_the_keys_cannot_be_read() {
    let mut deployment = Deployment::new().await;
    let (_stub, empty) = ssm_holding(vec![]).await;
    deployment.ssm = empty;
    let err = deployment
        .run("mint-first-admin --tenant acme --user ops --out {dir}/admin")
        .await
        .unwrap_err();
    assert!(matches!(err, CommandError::Config(_)), "{err}");
    assert!(!deployment.file("admin").exists());
}

/// Runs `create-keys` against SSM holding `stored`; returns SSM, its report, and the
/// configuration the functions then load.
async fn create_keys(stored: Vec<(String, String)>) -> (AwsStub, String, Config) {
    let (stub, ssm) = ssm_holding(stored).await;
    let mut deployment = Deployment::new().await;
    deployment.ssm = ssm;
    let report = deployment
        .run(&format!("create-keys --prefix {PREFIX}"))
        .await
        .unwrap();
    let config = Config::load_with(&deployment.ssm, deployed_env("t"))
        .await
        .unwrap();
    (stub, report, config)
}

#[tokio::test]
async fn create_keys_makes_two_fresh_keys_the_functions_can_load() {
    let (stub, report, config) = create_keys(vec![]).await;
    assert!(
        report.contains(&format!("created {CURSOR_PARAMETER}")),
        "{report}"
    );
    assert!(
        report.contains(&format!("created {HASH_PARAMETER}")),
        "{report}"
    );
    assert_eq!(config.cursor_keys.len(), 1);
    assert_eq!(config.cursor_keys[0].len(), 32);
    assert_eq!(config.token_hash_key.len(), 32);
    assert_ne!(config.cursor_keys[0], config.token_hash_key);
    for request in stub.requests() {
        let body: Value = serde_json::from_str(&request.body).unwrap();
        if let Some(value) = body["Value"].as_str() {
            assert!(!report.contains(value), "the report shows no key");
        }
    }
}

/// The values `create-keys` asked SSM to store, by parameter name.
fn put_values(stub: &AwsStub) -> Vec<(String, String)> {
    stub.requests()
        .iter()
        .filter(|r| r.target == "AmazonSSM.PutParameter")
        .map(|r| {
            let body: Value = serde_json::from_str(&r.body).unwrap();
            let field = |k: &str| body[k].as_str().unwrap().to_string();
            (field("Name"), field("Value"))
        })
        .collect()
}

#[tokio::test]
async fn create_keys_never_replaces_an_existing_key() {
    let (_, hash) = keys();
    let (stub, report, config) = create_keys(vec![(HASH_PARAMETER.into(), hash.clone())]).await;
    assert!(
        report.contains(&format!("created {CURSOR_PARAMETER}")),
        "{report}"
    );
    assert!(
        report.contains(&format!("kept {HASH_PARAMETER}")),
        "{report}"
    );
    // The kept key is the one loaded; the created one is what was stored, and a new key.
    assert_eq!(config.token_hash_key, STANDARD.decode(&hash).unwrap());
    let created: Vec<String> = put_values(&stub)
        .into_iter()
        .filter(|(name, _)| name == CURSOR_PARAMETER)
        .map(|(_, value)| value)
        .collect();
    assert_eq!(created.len(), 1, "one cursor key put: {created:?}");
    assert_eq!(
        config.cursor_keys,
        vec![STANDARD.decode(&created[0]).unwrap()]
    );
    assert_ne!(config.cursor_keys[0], config.token_hash_key);
}
