//! `tokens-admin`: the operator's command line for a deployed stack. Not deployed itself: it
//! runs on the operator's machine with their AWS credentials and the stack's configuration
//! (`TABLE_NAME`, `CURSOR_KEYS_PARAMETER`, `TOKEN_HASH_KEY_PARAMETER`, `TOKEN_PREFIX`; the
//! `scripts/tokens-admin` wrapper reads them from the stack's outputs).
//!
//! ```text
//! tokens-admin create-keys --prefix /api-tokens/<env> [--kms-key-id KEY]
//! tokens-admin mint-first-admin --tenant ID --user ID [--name TEXT]
//!     [--expires-in-days N | --never-expires] [--out PATH] [--allow-existing]
//! ```
//!
//! `create-keys` runs before the first deploy: it creates the two SecureString parameters
//! with fresh random keys, and never replaces one that exists (a new secret-hash key would
//! invalidate every token).
//!
//! The secret goes to a new file readable only by its owner (default
//! `./admin-token-<tenant>`), created before anything is minted and never overwritten. It is
//! printed nowhere, and it never passes through a Lambda or its logs.

use std::collections::HashMap;
use std::path::PathBuf;

use api_tokens::config::ConfigError;
use api_tokens::service::bootstrap::{self, BootstrapError, FirstAdmin};
use api_tokens::time::Timestamp;
use api_tokens::{Config, DynamoStore, TokenService};
use aws_sdk_ssm::error::DisplayErrorContext;
use aws_sdk_ssm::types::ParameterType;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ring::rand::{SecureRandom as _, SystemRandom};

/// Usage, printed for `--help` and after a usage error.
pub const USAGE: &str = "usage: tokens-admin create-keys --prefix /api-tokens/ENV [--kms-key-id KEY]
       tokens-admin mint-first-admin --tenant ID --user ID [--name TEXT]
       [--expires-in-days N (default 90) | --never-expires] [--out PATH] [--allow-existing]

create-keys: creates PREFIX/cursor-keys and PREFIX/token-hash-key in SSM Parameter Store
(SecureString, fresh random 32-byte keys) unless they exist; existing ones are kept.

mint-first-admin: mints the first admin token of a tenant (every scope of the deployment: tokens:* and EXTRA_SCOPES) in the
deployment that TABLE_NAME, CURSOR_KEYS_PARAMETER and TOKEN_HASH_KEY_PARAMETER (and
TOKEN_PREFIX) describe, using your AWS credentials. Refuses a tenant with active tokens
unless --allow-existing. The secret is written to a new file (mode 0600; default
./admin-token-<tenant>) and shown nowhere else.";

/// Default lifetime of a first admin token, in days.
pub const DEFAULT_DAYS: i64 = 90;
/// Longest lifetime `--expires-in-days` accepts.
pub const MAX_DAYS: i64 = 3650;

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `create-keys`.
    CreateKeys(CreateKeys),
    /// `mint-first-admin`.
    MintFirstAdmin(MintFirstAdmin),
}

/// `create-keys`: the deployment's two key parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateKeys {
    /// Parameter path prefix; the parameters are `<prefix>/cursor-keys` and
    /// `<prefix>/token-hash-key`, as `samconfig.toml` names them.
    pub prefix: String,
    /// KMS key to encrypt them with (default: the AWS managed key `aws/ssm`).
    pub kms_key_id: Option<String>,
}

impl CreateKeys {
    /// The parameter names, with the variable each one feeds.
    pub fn parameters(&self) -> [(&'static str, String); 2] {
        [
            ("CURSOR_KEYS", format!("{}/cursor-keys", self.prefix)),
            ("TOKEN_HASH_KEY", format!("{}/token-hash-key", self.prefix)),
        ]
    }
}

/// `mint-first-admin`: a tenant's first admin token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintFirstAdmin {
    /// Tenant id.
    pub tenant: String,
    /// User id of the admin.
    pub user: String,
    /// Token name.
    pub name: String,
    /// Lifetime in days; `None`: never expires.
    pub days: Option<i64>,
    /// Where the secret goes.
    pub out: PathBuf,
    /// Mint even if the tenant has active tokens.
    pub allow_existing: bool,
}

/// Why the command did nothing (or, for `create-keys`, stopped part way: see its report).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Bad command line (the message says what; [`USAGE`] follows it).
    #[error("{0}")]
    Usage(String),
    /// Missing or invalid configuration, or the key parameters could not be read.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The secret file could not be created (it may already exist).
    #[error("cannot create {path}: {error}")]
    File {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// The tenant is in use, or the write failed.
    #[error(transparent)]
    Mint(#[from] BootstrapError),
    /// SSM refused to create a parameter.
    #[error("cannot create parameter {name}: {reason}")]
    Ssm {
        /// The parameter.
        name: String,
        /// SSM's answer.
        reason: String,
    },
}

fn usage(message: impl Into<String>) -> CommandError {
    CommandError::Usage(message.into())
}

/// The options after a command: `--flag value` for those in `valued`, bare `--flag` for
/// those in `switches`.
fn options<'a>(
    args: &'a [String],
    valued: &[&str],
    switches: &[&str],
) -> Result<HashMap<&'a str, String>, CommandError> {
    let mut found = HashMap::new();
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let value = if valued.contains(&flag.as_str()) {
            args.next()
                .cloned()
                .ok_or_else(|| usage(format!("{flag} needs a value")))?
        } else if switches.contains(&flag.as_str()) {
            String::new()
        } else {
            return Err(usage(format!("unknown option {flag:?}")));
        };
        if found.insert(flag.as_str(), value).is_some() {
            return Err(usage(format!("{flag} is given twice")));
        }
    }
    Ok(found)
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, CommandError> {
    let Some((command, rest)) = args.split_first() else {
        return Err(usage("no command given"));
    };
    match command.as_str() {
        "create-keys" => parse_create_keys(rest).map(Command::CreateKeys),
        "mint-first-admin" => parse_mint(rest).map(Command::MintFirstAdmin),
        other => Err(usage(format!("unknown command {other:?}"))),
    }
}

fn parse_create_keys(args: &[String]) -> Result<CreateKeys, CommandError> {
    let mut o = options(args, &["--prefix", "--kms-key-id"], &[])?;
    let prefix = o
        .remove("--prefix")
        .ok_or_else(|| usage("--prefix is required"))?;
    let valid = prefix.len() <= 900
        && prefix.starts_with('/')
        && !prefix.ends_with('/')
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c));
    if !valid {
        return Err(usage(
            "--prefix must be a parameter path like /api-tokens/prod: a leading /, then \
             [A-Za-z0-9_.-/], no trailing /",
        ));
    }
    Ok(CreateKeys {
        prefix,
        kms_key_id: o.remove("--kms-key-id"),
    })
}

fn parse_mint(args: &[String]) -> Result<MintFirstAdmin, CommandError> {
    let mut o = options(
        args,
        &["--tenant", "--user", "--name", "--out", "--expires-in-days"],
        &["--never-expires", "--allow-existing"],
    )?;
    let days = match (
        o.remove("--expires-in-days"),
        o.contains_key("--never-expires"),
    ) {
        (Some(_), true) => {
            return Err(usage("give --expires-in-days or --never-expires, not both"))
        }
        (None, true) => None,
        (None, false) => Some(DEFAULT_DAYS),
        (Some(v), false) => Some(
            v.parse::<i64>()
                .ok()
                .filter(|d| (1..=MAX_DAYS).contains(d))
                .ok_or_else(|| {
                    usage(format!(
                        "--expires-in-days must be 1..={MAX_DAYS}, not {v:?}"
                    ))
                })?,
        ),
    };
    let mut id = |flag: &str| {
        let id = o
            .remove(flag)
            .ok_or_else(|| usage(format!("{flag} is required")))?;
        if !api_tokens::domain::limits::valid_id(&id) {
            return Err(usage(format!(
                "{flag} must be 1..=128 of [A-Za-z0-9._@:+-]"
            )));
        }
        Ok(id)
    };
    let (tenant, user) = (id("--tenant")?, id("--user")?);
    Ok(MintFirstAdmin {
        out: o.remove("--out").map_or_else(
            || PathBuf::from(format!("admin-token-{tenant}")),
            PathBuf::from,
        ),
        name: o.remove("--name").unwrap_or_else(|| "first admin".into()),
        allow_existing: o.contains_key("--allow-existing"),
        days,
        tenant,
        user,
    })
}

/// Runs `command` with these clients and environment; returns the report to print, which
/// holds no secret.
pub async fn run(
    command: Command,
    ssm: &aws_sdk_ssm::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    env: impl Fn(&str) -> Option<String>,
) -> Result<String, CommandError> {
    match command {
        Command::CreateKeys(c) => create_keys(c, ssm).await,
        Command::MintFirstAdmin(c) => mint(c, ssm, dynamodb, env).await,
    }
}

/// Creates each key parameter that does not exist yet, with a fresh random 32-byte key
/// (`PutParameter` without overwrite, so an existing key is never replaced).
async fn create_keys(
    command: CreateKeys,
    ssm: &aws_sdk_ssm::Client,
) -> Result<String, CommandError> {
    let rng = SystemRandom::new();
    let mut report = Vec::new();
    for (var, name) in command.parameters() {
        let mut key = [0u8; 32];
        rng.fill(&mut key).map_err(|_| CommandError::Ssm {
            name: name.clone(),
            reason: "no randomness available".into(),
        })?;
        let put = ssm
            .put_parameter()
            .name(&name)
            .description(format!("api-tokens {var} (see README, Deploy to AWS)"))
            .r#type(ParameterType::SecureString)
            .value(STANDARD.encode(key))
            .overwrite(false)
            .set_key_id(command.kms_key_id.clone())
            .send()
            .await;
        match put {
            Ok(_) => report.push(format!("created {name}")),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_parameter_already_exists()) =>
            {
                report.push(format!("kept {name}: it exists"))
            }
            Err(e) => {
                return Err(CommandError::Ssm {
                    name,
                    reason: DisplayErrorContext(&e).to_string(),
                })
            }
        }
    }
    let [(_, cursor), (_, hash)] = command.parameters();
    report.push(format!(
        "deploy with: --parameter-overrides CursorKeysParameter={cursor} TokenHashKeyParameter={hash}"
    ));
    Ok(report.join("\n"))
}

/// Loads the deployment's configuration (keys from SSM), creates the secret file, mints the
/// token, writes the secret.
async fn mint(
    command: MintFirstAdmin,
    ssm: &aws_sdk_ssm::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    env: impl Fn(&str) -> Option<String>,
) -> Result<String, CommandError> {
    let config = Config::load_with(ssm, env).await?;
    let service = TokenService::new(DynamoStore::new(dynamodb, &config.table_name), &config);
    let path = command.out.display().to_string();
    let file =
        bootstrap::create_private_file(&command.out).map_err(|error| CommandError::File {
            path: path.clone(),
            error,
        })?;
    let minted = bootstrap::mint_first_admin(
        &service,
        FirstAdmin {
            tenant_id: command.tenant,
            user_id: command.user,
            name: command.name,
            expires_at: command
                .days
                .map(|d| api_tokens::time::now() + chrono::Duration::days(d)),
            allow_existing: command.allow_existing,
        },
    )
    .await;
    let (item, secret) = match minted {
        Ok(minted) => minted,
        Err(e) => {
            drop(file);
            let _ = std::fs::remove_file(&command.out);
            return Err(e.into());
        }
    };
    bootstrap::write_secret(file, &secret).map_err(|error| CommandError::File {
        path: path.clone(),
        error,
    })?;
    Ok(format!(
        "minted token {id} ({prefix}...) for user {user} of tenant {tenant}\n\
         scopes: {scopes}; expires: {expires}\n\
         secret written to {path} (readable by you only); it is shown nowhere else: store it \
         in your secret manager, then delete the file",
        id = item.id,
        prefix = item.prefix,
        user = item.user_id,
        tenant = item.tenant_id,
        scopes = item.scopes.join(" "),
        expires = item.expires_at.map_or("never".into(), expiry),
    ))
}

fn expiry(at: Timestamp) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    fn mint(line: &str) -> MintFirstAdmin {
        match parse(&args(line)).unwrap() {
            Command::MintFirstAdmin(c) => c,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_first_admin_lasts_ninety_days_and_goes_to_a_file_named_after_the_tenant() {
        let c = mint("mint-first-admin --tenant acme --user ops");
        assert_eq!(c.days, Some(DEFAULT_DAYS));
        assert_eq!(c.out, PathBuf::from("admin-token-acme"));
        assert_eq!(c.name, "first admin");
        assert!(!c.allow_existing);
    }

    #[test]
    fn every_mint_option_is_read() {
        let c = mint(
            "mint-first-admin --tenant acme --user ops --name root --never-expires \
             --out /tmp/t --allow-existing",
        );
        assert_eq!(
            c,
            MintFirstAdmin {
                tenant: "acme".into(),
                user: "ops".into(),
                name: "root".into(),
                days: None,
                out: "/tmp/t".into(),
                allow_existing: true,
            }
        );
        assert_eq!(
            mint("mint-first-admin --tenant a --user b --expires-in-days 7").days,
            Some(7)
        );
    }

    #[test]
    fn keys_are_named_as_samconfig_names_them() {
        let Command::CreateKeys(c) = parse(&args(
            "create-keys --prefix /api-tokens/prod --kms-key-id alias/tokens",
        ))
        .unwrap() else {
            panic!()
        };
        assert_eq!(c.kms_key_id.as_deref(), Some("alias/tokens"));
        assert_eq!(
            c.parameters().map(|(_, name)| name),
            [
                "/api-tokens/prod/cursor-keys",
                "/api-tokens/prod/token-hash-key"
            ]
        );
    }

    #[test]
    fn bad_command_lines_say_what_is_wrong() {
        for (line, says) in [
            ("", "no command"),
            ("mint-admin --tenant a --user b", "unknown command"),
            ("mint-first-admin --user b", "--tenant is required"),
            ("mint-first-admin --tenant a", "--user is required"),
            ("mint-first-admin --tenant a --user", "--user needs a value"),
            ("mint-first-admin --tenant a/b --user c", "--tenant must be"),
            (
                "mint-first-admin --tenant a --tenant b --user c",
                "given twice",
            ),
            (
                "mint-first-admin --tenant a --user b --expires-in-days 0",
                "1..=3650",
            ),
            (
                "mint-first-admin --tenant a --user b --expires-in-days x",
                "1..=3650",
            ),
            (
                "mint-first-admin --tenant a --user b --expires-in-days 5 --never-expires",
                "not both",
            ),
            (
                "mint-first-admin --tenant a --user b --force",
                "unknown option",
            ),
            ("create-keys", "--prefix is required"),
            ("create-keys --prefix api-tokens", "leading /"),
            ("create-keys --prefix /api-tokens/", "leading /"),
            ("create-keys --prefix /api tokens", "unknown option"),
        ] {
            let err = parse(&args(line)).unwrap_err().to_string();
            assert!(err.contains(says), "{line:?}: {err}");
        }
    }
}
