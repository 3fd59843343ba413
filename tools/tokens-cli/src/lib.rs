//! `tokens`: the api-tokens HTTP API's command line, for people and CI pipelines. The
//! operator's `tokens-admin` talks to AWS; this talks to the API, with a bearer token.
//!
//! ```text
//! tokens list [--status S] [--metadata K=V]... [--sort F] [--all] [--json] ...
//! tokens create --name NAME [--scope S]... [--expires-in-days N] [--secret-file PATH] ...
//! tokens show ID | update ID ... | revoke ID [--reason R] | rotate ID [--grace 1h] | whoami
//! tokens completions bash|zsh|fish|elvish|powershell
//! ```
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`cli`] | the command line (clap), named after the API's fields and parameters |
//! | `config` | the API URL and token: flags, environment, config file (and its permissions) |
//! | `client` | HTTP (ureq on rustls/ring): timeouts, problems, retries after a 503 |
//! | `commands` | each command's request and output |
//! | `output` | tables and `field value` lines for people; `--json` is the API's JSON |
//! | [`error`] | the one error type and its exit codes |
//! | `secret` | the token, never shown by `Debug` |
//!
//! [`run`] is the whole tool, with the environment, stdout and stderr passed in: the binary
//! is a thin wrapper around it and the tests drive it in-process.

pub mod cli;
mod client;
mod commands;
mod config;
pub mod error;
mod output;
mod secret;

use std::ffi::OsString;
use std::io::Write;

pub use commands::{create_body, list_query, rotate_body, update_body};
pub use config::{API_URL_VAR, CONFIG_VAR, TOKEN_VAR};
pub use error::{exit, CliError, EXIT_CODES};
pub use output::TOKEN_FIELDS;

/// Runs the command line `args` (the program's name first) with the environment variables
/// `env` gives; returns the exit code ([`exit`]). Data goes to `out`, messages to `err`: one
/// line per error (then the API's field errors), never the token.
pub fn run<I, T>(
    args: I,
    env: &dyn Fn(&str) -> Option<String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match cli::parse(args) {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` go to stdout with 0; mistakes to stderr with 2.
            let text = e.render().to_string();
            let _ = if e.use_stderr() {
                err.write_all(text.as_bytes())
            } else {
                out.write_all(text.as_bytes())
            };
            return u8::try_from(e.exit_code()).unwrap_or(exit::USAGE);
        }
    };
    match commands::execute(cli, env, out, err) {
        Ok(()) => exit::OK,
        Err(CliError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::OTHER,
        Err(e) => {
            let _ = writeln!(err, "tokens: {e}");
            e.exit_code()
        }
    }
}

#[cfg(test)]
mod tests;
