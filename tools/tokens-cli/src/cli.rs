//! The command line, as clap reads it. Flags are named after the API's fields and parameters
//! (`--expires-in-days` for `expires_in_days`); lists take a flag per value or commas.
//!
//! The environment is not read here (no clap `env`): [`crate::config`] reads it through the
//! lookup [`crate::run`] is given, so tests drive the whole tool in-process.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use uuid::Uuid;

use crate::error::EXIT_CODES;
use crate::secret::Secret;

const AFTER_HELP: &str = "\
Configuration: --api-url or TOKENS_API_URL, --token or TOKENS_TOKEN, else the config file
(--config, TOKENS_CONFIG, else $XDG_CONFIG_HOME/tokens/config.toml or
~/.config/tokens/config.toml) with api_url = \"...\" and token = \"...\"; a file holding a
token must be readable by its owner only (chmod 600).";

/// `tokens`: the command line of the api-tokens service.
#[derive(Debug, Parser)]
#[command(
    name = "tokens",
    version,
    about = "List, create, rotate and revoke API tokens through the api-tokens HTTP API.",
    after_help = format!("{AFTER_HELP}\n\n{EXIT_CODES}"),
)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// The API's base URL, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com [env: TOKENS_API_URL]
    #[arg(long, global = true, value_name = "URL")]
    pub api_url: Option<String>,
    /// The bearer token; prefer TOKENS_TOKEN or the config file, as other users of this
    /// machine can see command lines [env: TOKENS_TOKEN]
    #[arg(long, global = true, value_name = "TOKEN", value_parser = secret)]
    pub token: Option<Secret>,
    /// The config file [env: TOKENS_CONFIG]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Most seconds one request may take
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,
    /// Times a request safe to repeat is sent again after a 503 or 429 (waiting Retry-After)
    #[arg(long, global = true, value_name = "N", default_value_t = 2)]
    pub retries: u32,
    /// Print the API's JSON instead of text
    #[arg(long, global = true)]
    pub json: bool,
}

fn secret(value: &str) -> Result<Secret, String> {
    Ok(Secret::new(value))
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List tokens (GET /tokens): your own, or the tenant's with tokens:admin
    List(ListArgs),
    /// Create a token (POST /tokens); its secret is printed once, or written to --secret-file
    Create(CreateArgs),
    /// Show one token (GET /tokens/{id})
    Show {
        /// The token's id
        id: Uuid,
    },
    /// Rename, describe or relabel a token (PATCH /tokens/{id})
    Update(UpdateArgs),
    /// Revoke a token (POST /tokens/{id}/revoke); revoking again changes nothing
    Revoke {
        /// The token's id
        id: Uuid,
        /// Why, kept with the token (1..512 characters)
        #[arg(long)]
        reason: Option<String>,
    },
    /// Rotate a token (POST /tokens/{id}/rotate): a new secret, the old one valid for --grace
    Rotate(RotateArgs),
    /// Show the token you are using (GET /tokens/self)
    Whoami,
    /// Print a shell completion script, e.g. `tokens completions bash > /etc/bash_completion.d/tokens`
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
}

/// `tokens list`: every parameter of `GET /tokens`.
#[derive(Debug, Default, Args)]
pub struct ListArgs {
    /// Only these statuses (repeat or separate with commas)
    #[arg(long, value_enum, value_delimiter = ',')]
    pub status: Vec<Status>,
    /// Also list revoked tokens (without --status)
    #[arg(long)]
    pub include_revoked: bool,
    /// Only this owner's tokens (another user's needs tokens:admin)
    #[arg(long, value_name = "USER")]
    pub user_id: Option<String>,
    /// Only these tokens (repeat or separate with commas; up to 100)
    #[arg(long = "token-id", value_name = "ID", value_delimiter = ',')]
    pub token_ids: Vec<Uuid>,
    /// Names containing this text (case-insensitive)
    #[arg(long, value_name = "TEXT")]
    pub name: Option<String>,
    /// Tokens holding this scope
    #[arg(long, value_name = "SCOPE")]
    pub scope: Option<String>,
    /// Tokens whose metadata has this pair (repeat: every pair)
    #[arg(long, value_name = "KEY=VALUE", value_parser = pair)]
    pub metadata: Vec<(String, String)>,
    /// Created after this time (RFC 3339, e.g. 2026-01-01T00:00:00Z)
    #[arg(long, value_name = "TIME")]
    pub created_after: Option<String>,
    /// Created before this time
    #[arg(long, value_name = "TIME")]
    pub created_before: Option<String>,
    /// Expiring after this time (tokens that never expire included)
    #[arg(long, value_name = "TIME")]
    pub expires_after: Option<String>,
    /// Expiring before this time (tokens that never expire excluded)
    #[arg(long, value_name = "TIME")]
    pub expires_before: Option<String>,
    /// Last used after this time (never-used excluded)
    #[arg(long, value_name = "TIME")]
    pub last_used_after: Option<String>,
    /// Last used before this time (never-used excluded)
    #[arg(long, value_name = "TIME")]
    pub last_used_before: Option<String>,
    /// Sort field (ties broken by id)
    #[arg(long, value_enum)]
    pub sort: Option<Sort>,
    /// Sort order (default desc; asc for --sort name)
    #[arg(long, value_enum)]
    pub order: Option<Order>,
    /// Page size, 1..1000 (default 50)
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,
    /// Start at this page (a next_cursor or prev_cursor of the same query)
    #[arg(long, value_name = "CURSOR", conflicts_with = "all")]
    pub cursor: Option<String>,
    /// Only tokens with (true) or without (false) a rate limit or a quota
    #[arg(long, value_name = "BOOL")]
    pub limited: Option<bool>,
    /// Also count every matching token (`total`)
    #[arg(long, visible_alias = "include-total-count")]
    pub total: bool,
    /// Follow next_cursor to the last page and print every token
    #[arg(long)]
    pub all: bool,
}

/// A token status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Status {
    /// Usable.
    Active,
    /// Past its expiry.
    Expired,
    /// Revoked.
    Revoked,
}

/// A sort field of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Sort {
    /// Newest first by default.
    CreatedAt,
    /// A to Z by default.
    Name,
    /// Never-expiring last.
    ExpiresAt,
    /// Never-used first.
    LastUsedAt,
}

/// A sort order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Order {
    /// Ascending.
    Asc,
    /// Descending.
    Desc,
}

/// `tokens create`: every field of `POST /tokens`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Name, 1..128 characters
    #[arg(long)]
    pub name: String,
    /// Longer description
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// Scopes to grant (repeat or separate with commas; none by default)
    #[arg(long = "scope", value_name = "SCOPE", value_delimiter = ',')]
    pub scopes: Vec<String>,
    /// Lifetime in days, 1..3650 (default: never expires, or your token's expiry)
    #[arg(long, value_name = "DAYS", conflicts_with = "expires_at")]
    pub expires_in_days: Option<u32>,
    /// Expiry time (RFC 3339)
    #[arg(long, value_name = "TIME")]
    pub expires_at: Option<String>,
    /// Owner (default: you; another user needs tokens:admin)
    #[arg(long, value_name = "USER")]
    pub user_id: Option<String>,
    /// A label (repeat for several)
    #[arg(long, value_name = "KEY=VALUE", value_parser = pair)]
    pub metadata: Vec<(String, String)>,
    /// CIDR block the token may be used from (repeat or separate with commas; default yours)
    #[arg(long = "allowed-ip", value_name = "CIDR", value_delimiter = ',')]
    pub allowed_ips: Vec<String>,
    /// Its limits (default yours).
    #[command(flatten)]
    pub limits: LimitArgs,
    /// What the secret becomes.
    #[command(flatten)]
    pub mint: MintArgs,
}

/// A token's rate limit and quota, as `--rate-limit 100/60` and `--quota 10000/day`.
#[derive(Debug, Default, Args)]
pub struct LimitArgs {
    /// Requests per window: LIMIT/SECONDS, e.g. 100/60 (setting or raising one needs tokens:admin)
    #[arg(long, value_name = "LIMIT/SECONDS", value_parser = rate_limit)]
    pub rate_limit: Option<(u64, u64)>,
    /// Requests per period: LIMIT/day, LIMIT/month or LIMIT/total, e.g. 10000/day
    #[arg(long, value_name = "LIMIT/PERIOD", value_parser = quota)]
    pub quota: Option<(u64, String)>,
}

/// `100/60`: a limit and a window in seconds.
fn rate_limit(text: &str) -> Result<(u64, u64), String> {
    let bad = || format!("expected LIMIT/SECONDS, e.g. 100/60, not {text:?}");
    let (limit, window) = text.split_once('/').ok_or_else(bad)?;
    Ok((
        limit.parse().map_err(|_| bad())?,
        window.parse().map_err(|_| bad())?,
    ))
}

/// `10000/day`: a limit and a period.
fn quota(text: &str) -> Result<(u64, String), String> {
    let bad = || format!("expected LIMIT/day, LIMIT/month or LIMIT/total, not {text:?}");
    let (limit, period) = text.split_once('/').ok_or_else(bad)?;
    if !matches!(period, "day" | "month" | "total") {
        return Err(bad());
    }
    Ok((limit.parse().map_err(|_| bad())?, period.to_string()))
}

/// Options of the commands that mint a secret.
#[derive(Debug, Default, Args)]
pub struct MintArgs {
    /// Retries with the same key and request get the first answer (the same secret) and mint
    /// nothing; also lets this tool retry after a 503
    #[arg(long, value_name = "KEY", value_parser = idempotency_key)]
    pub idempotency_key: Option<String>,
    /// Write the secret to this new file (mode 0600; never overwritten) instead of printing it
    #[arg(long, value_name = "PATH")]
    pub secret_file: Option<PathBuf>,
}

/// `tokens update`: the fields `PATCH /tokens/{id}` changes (at least one).
#[derive(Debug, Args)]
#[command(group(
    clap::ArgGroup::new("change")
        .required(true)
        .multiple(true)
        .args(["name", "description", "metadata", "clear_metadata", "rate_limit", "quota", "no_rate_limit", "no_quota"])
))]
pub struct UpdateArgs {
    /// The token's id
    pub id: Uuid,
    /// New name
    #[arg(long)]
    pub name: Option<String>,
    /// New description ("" removes it)
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// The labels, replacing all of them (repeat for several)
    #[arg(long, value_name = "KEY=VALUE", value_parser = pair)]
    pub metadata: Vec<(String, String)>,
    /// Remove every label
    #[arg(long, conflicts_with = "metadata")]
    pub clear_metadata: bool,
    /// New limits (lowering is anyone's who may write the token; raising needs tokens:admin).
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Remove the rate limit (needs tokens:admin)
    #[arg(long, conflicts_with = "rate_limit")]
    pub no_rate_limit: bool,
    /// Remove the quota (needs tokens:admin)
    #[arg(long, conflicts_with = "quota")]
    pub no_quota: bool,
}

/// `tokens rotate`: the body of `POST /tokens/{id}/rotate`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The token's id
    pub id: Uuid,
    /// How long the old secret keeps working: 90s, 15m, 1h, 7d (at most) or seconds (default 0)
    #[arg(long, value_name = "DURATION", value_parser = grace)]
    pub grace: Option<u64>,
    /// The new token's expiry (RFC 3339; default: the old one's lifetime, from now)
    #[arg(long, value_name = "TIME")]
    pub expires_at: Option<String>,
    /// The new token's limits (default: the old one's; lowering is anyone's).
    #[command(flatten)]
    pub limits: LimitArgs,
    /// What the secret becomes.
    #[command(flatten)]
    pub mint: MintArgs,
}

/// 1..=255 printable ASCII characters, as the API takes them (and a header can carry).
fn idempotency_key(text: &str) -> Result<String, String> {
    let printable = text.bytes().all(|b| (b' '..=b'~').contains(&b));
    match text.len() {
        1..=255 if printable => Ok(text.to_string()),
        _ => Err("expected 1..=255 printable ASCII characters".into()),
    }
}

/// `KEY=VALUE`; the key ends at the first `=`.
fn pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err("expected KEY=VALUE".into()),
    }
}

/// A grace period in seconds: `3600`, `90s`, `15m`, `1h`, `7d`.
pub fn grace(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err("expected a duration such as 90s, 15m, 1h or 7d".into()),
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| "expected a duration such as 90s, 15m, 1h or 7d".into())
}

/// Parses a command line (the program's name first).
pub fn parse<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    Cli::try_parse_from(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> Vec<String> {
        std::iter::once("tokens".to_string())
            .chain(text.split_whitespace().map(String::from))
            .collect()
    }

    fn command(text: &str) -> Command {
        parse(line(text))
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .command
    }

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn lists_take_a_flag_per_value_or_commas() {
        let Command::List(a) = command(
            "list --status active,expired --status revoked --token-id \
             0190a1b2-0000-7000-8000-000000000001,0190a1b2-0000-7000-8000-000000000002 \
             --metadata team=infra --metadata note=a=b",
        ) else {
            panic!()
        };
        assert_eq!(a.status, [Status::Active, Status::Expired, Status::Revoked]);
        assert_eq!(a.token_ids.len(), 2);
        assert_eq!(
            a.metadata,
            [
                ("team".into(), "infra".into()),
                ("note".into(), "a=b".into())
            ]
        );
    }

    #[test]
    fn grace_periods_read_as_people_write_them() {
        for (text, seconds) in [
            ("0", 0),
            ("3600", 3600),
            ("90s", 90),
            ("15m", 900),
            ("1h", 3600),
            ("7d", 604_800),
        ] {
            assert_eq!(grace(text), Ok(seconds), "{text}");
        }
        for bad in ["", "h", "1w", "1.5h", "-1h", "99999999999999999999d"] {
            assert!(grace(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_command_lines_are_refused_before_any_request() {
        for bad in [
            "",
            "show not-a-uuid",
            "revoke",
            "list --status gone",
            "list --sort size",
            "list --metadata team",
            "list --metadata =x",
            "list --all --cursor abc",
            "list --limit many",
            "create",
            "create --name x --expires-in-days 3 --expires-at 2030-01-01T00:00:00Z",
            "rotate 0190a1b2-0000-7000-8000-000000000001 --grace 1w",
            "update 0190a1b2-0000-7000-8000-000000000001 --metadata a=b --clear-metadata",
            "completions tcsh",
            "update 0190a1b2-0000-7000-8000-000000000001",
        ] {
            let err = parse(line(bad)).map(|_| ()).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn idempotency_keys_are_what_the_api_takes() {
        let key = |k: &str| parse(["tokens", "create", "--name", "x", "--idempotency-key", k]);
        assert!(key("deploy-bot 2026/12").is_ok());
        assert!(key(&"k".repeat(255)).is_ok());
        for bad in ["", "k\u{e9}", "a\nb", &"k".repeat(256)] {
            assert_eq!(key(bad).map(|_| ()).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn global_options_go_before_or_after_the_command() {
        let a = parse(line("--json list --timeout 5")).unwrap();
        assert!(a.global.json);
        assert_eq!(a.global.timeout, 5);
        let b = parse(line("whoami --json --token tkn_x")).unwrap();
        assert!(b.global.json);
        assert_eq!(b.global.token.unwrap().expose(), "tkn_x");
        assert!(!format!("{:?}", parse(line("whoami --token tkn_x")).unwrap()).contains("tkn_x"));
    }
}
