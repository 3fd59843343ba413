//! Where the API URL and the token come from: a flag, else the environment (`TOKENS_API_URL`,
//! `TOKENS_TOKEN`), else the config file (`--config`, `$TOKENS_CONFIG`, else
//! `$XDG_CONFIG_HOME/tokens/config.toml` or `~/.config/tokens/config.toml`).
//!
//! Like ssh with a private key, a config file that holds a token is refused while anyone but
//! its owner may read or change it: a readable token leaks, and a writable `api_url` sends the
//! token elsewhere.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::cli::Global;
use crate::error::CliError;
use crate::secret::Secret;

/// The API URL's variable.
pub const API_URL_VAR: &str = "TOKENS_API_URL";
/// The token's variable.
pub const TOKEN_VAR: &str = "TOKENS_TOKEN";
/// The config file's variable.
pub const CONFIG_VAR: &str = "TOKENS_CONFIG";

/// What a command that calls the API needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Base URL, without a trailing `/`.
    pub api_url: String,
    /// The bearer token.
    pub token: Secret,
    /// Most time one request may take.
    pub timeout: Duration,
    /// How often a request that is safe to repeat is sent again after a 503 or 429.
    pub retries: u32,
}

/// The config file's contents.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    api_url: Option<String>,
    token: Option<Secret>,
}

/// Resolves the settings from the flags, the environment (`env`) and the config file, which
/// is read only when a flag and the environment leave something unset (or it is named).
pub fn resolve(
    global: &Global,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, CliError> {
    let var = |name: &str| env(name).filter(|v| !v.is_empty());
    let mut api_url = global
        .api_url
        .clone()
        .map(|u| (u, "--api-url".to_string()))
        .or_else(|| var(API_URL_VAR).map(|u| (u, API_URL_VAR.to_string())));
    let mut token = global
        .token
        .clone()
        .map(|t| (t, "--token".to_string()))
        .or_else(|| var(TOKEN_VAR).map(|t| (Secret::new(t), TOKEN_VAR.to_string())));
    let named = global
        .config
        .clone()
        .or_else(|| var(CONFIG_VAR).map(PathBuf::from));
    let path = named.clone().or_else(|| default_path(&var));
    if api_url.is_none() || token.is_none() || named.is_some() {
        if let Some(path) = path.as_deref() {
            let file = read_file(path, named.is_some())?;
            let shown = path.display();
            api_url = api_url.or(file.api_url.map(|u| (u, format!("api_url in {shown}"))));
            token = token.or(file.token.map(|t| (t, format!("token in {shown}"))));
        }
    }
    let place = path.map_or("a config file".into(), |p| p.display().to_string());
    let (api_url, url_source) = api_url.ok_or_else(|| {
        CliError::Config(format!(
            "no API URL: give --api-url, set {API_URL_VAR}, or put api_url in {place}"
        ))
    })?;
    let (token, token_source) = token.ok_or_else(|| {
        CliError::Config(format!(
            "no token: set {TOKEN_VAR}, give --token, or put token in {place}"
        ))
    })?;
    Ok(Settings {
        api_url: check_url(&api_url, &url_source)?,
        token: check_token(token, &token_source)?,
        timeout: Duration::from_secs(global.timeout.max(1)),
        retries: global.retries,
    })
}

/// `$XDG_CONFIG_HOME/tokens/config.toml`, else `$HOME/.config/tokens/config.toml`.
fn default_path(var: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let base = var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| var("HOME").map(|h| Path::new(&h).join(".config")))?;
    Some(base.join("tokens").join("config.toml"))
}

/// Reads and checks the config file; a missing file is empty unless it was named.
fn read_file(path: &Path, named: bool) -> Result<File, CliError> {
    let shown = path.display();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !named => return Ok(File::default()),
        Err(e) => {
            return Err(CliError::Config(format!(
                "cannot read config file {shown}: {e}"
            )))
        }
    };
    // The parser's own message quotes the offending line, which may be the token's: only
    // its position and reason are told.
    let file: File = toml::from_str(&text).map_err(|e| {
        let before = |at: usize| &text.as_bytes()[..at.min(text.len())];
        let line = e.span().map_or(0, |s| {
            before(s.start).iter().filter(|b| **b == b'\n').count() + 1
        });
        CliError::Config(format!(
            "config file {shown}, line {line}: {} (it holds api_url and token)",
            e.message().trim()
        ))
    })?;
    if file.token.is_some() {
        check_private(path)?;
    }
    Ok(file)
}

/// Refuses a file that others may read or write.
#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), CliError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| CliError::Config(format!("cannot read config file {}: {e}", path.display())))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(CliError::Config(format!(
            "config file {path} holds a token but its mode {mode:04o} lets others read or change \
             it; run: chmod 600 {path}",
            path = path.display(),
            mode = mode & 0o7777,
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path) -> Result<(), CliError> {
    Ok(())
}

/// An `https://` URL, or `http://` to this machine only (a token sent in clear text elsewhere
/// is a token given away).
fn check_url(url: &str, source: &str) -> Result<String, CliError> {
    let url = url.trim().trim_end_matches('/');
    let bad = |why: &str| CliError::Config(format!("the API URL from {source} {why}"));
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("is not an http(s):// URL"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.contains('@') || rest.contains(['?', '#']) {
        return Err(bad("needs a host, and no user, query or fragment"));
    }
    let name = host
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(host, |(name, _)| name);
    match scheme {
        "https" => Ok(url.to_string()),
        "http" if matches!(name, "localhost" | "127.0.0.1" | "[::1]") => Ok(url.to_string()),
        "http" => Err(bad(
            "is plain http to another machine: the token would travel unencrypted; use https",
        )),
        _ => Err(bad("is not an http(s):// URL")),
    }
}

/// A token that fits in a header; its value is never part of the message.
fn check_token(token: Secret, source: &str) -> Result<Secret, CliError> {
    let trimmed = token.expose().trim();
    if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(CliError::Config(format!(
            "the token from {source} is empty or holds spaces or other characters no token has"
        )));
    }
    Ok(Secret::new(trimmed))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn global(args: &[&str]) -> Global {
        let mut line = vec!["tokens"];
        line.extend_from_slice(args);
        line.push("whoami");
        crate::cli::parse(line).unwrap().global
    }

    fn resolve_with(args: &[&str], vars: &[(&str, &str)]) -> Result<Settings, CliError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        resolve(&global(args), &|k| vars.get(k).cloned())
    }

    /// A fresh directory with a config file of `text` and `mode`.
    fn config_file(text: &str, mode: u32) -> (crate::tests::TempDir, PathBuf) {
        let dir = crate::tests::temp_dir();
        let path = dir.join("config.toml");
        std::fs::write(&path, text).unwrap();
        #[cfg(unix)]
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(mode))
            .unwrap();
        (dir, path)
    }

    #[test]
    fn flags_win_over_the_environment_which_wins_over_the_file() {
        let (_dir, file) = config_file(
            "api_url = \"https://file.example\"\ntoken = \"tkn_file\"\n",
            0o600,
        );
        let file = file.to_str().unwrap();
        let s = resolve_with(&[], &[(CONFIG_VAR, file)]).unwrap();
        assert_eq!(
            (s.api_url.as_str(), s.token.expose()),
            ("https://file.example", "tkn_file")
        );
        let env = [
            (CONFIG_VAR, file),
            (API_URL_VAR, "https://env.example/"),
            (TOKEN_VAR, "tkn_env"),
        ];
        let s = resolve_with(&[], &env).unwrap();
        assert_eq!(
            (s.api_url.as_str(), s.token.expose()),
            ("https://env.example", "tkn_env")
        );
        let s = resolve_with(
            &[
                "--api-url",
                "https://flag.example/prod",
                "--token",
                "tkn_flag",
            ],
            &env,
        )
        .unwrap();
        assert_eq!(
            (s.api_url.as_str(), s.token.expose()),
            ("https://flag.example/prod", "tkn_flag")
        );
        // One from each place.
        let s = resolve_with(&["--token", "tkn_flag"], &[(CONFIG_VAR, file)]).unwrap();
        assert_eq!(
            (s.api_url.as_str(), s.token.expose()),
            ("https://file.example", "tkn_flag")
        );
    }

    #[test]
    fn the_default_file_is_under_xdg_config_home_else_home() {
        let home = crate::tests::temp_dir();
        let xdg = crate::tests::temp_dir();
        for (dir, text) in [
            (&home, "https://home.example"),
            (&xdg, "https://xdg.example"),
        ] {
            let config = if dir == &home {
                dir.join(".config/tokens")
            } else {
                dir.join("tokens")
            };
            std::fs::create_dir_all(&config).unwrap();
            std::fs::write(config.join("config.toml"), format!("api_url = {text:?}\n")).unwrap();
        }
        let (home, xdg) = (home.to_str().unwrap(), xdg.to_str().unwrap());
        let s = resolve_with(&[], &[("HOME", home), (TOKEN_VAR, "t")]).unwrap();
        assert_eq!(s.api_url, "https://home.example");
        let s = resolve_with(
            &[],
            &[("HOME", home), ("XDG_CONFIG_HOME", xdg), (TOKEN_VAR, "t")],
        )
        .unwrap();
        assert_eq!(s.api_url, "https://xdg.example");
    }

    #[test]
    fn nothing_configured_says_where_to_configure() {
        let err = resolve_with(&[], &[("HOME", "/nonexistent")]).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::exit::CONFIG);
        let text = err.to_string();
        assert!(
            text.contains("--api-url") && text.contains(API_URL_VAR),
            "{text}"
        );
        assert!(
            text.contains("/nonexistent/.config/tokens/config.toml"),
            "{text}"
        );
        let err = resolve_with(&[], &[(API_URL_VAR, "https://x.example")]).unwrap_err();
        assert!(err.to_string().contains(TOKEN_VAR), "{err}");
        // A named file must exist.
        let err = resolve_with(&["--config", "/nonexistent/c.toml"], &[]).unwrap_err();
        assert!(
            err.to_string()
                .contains("cannot read config file /nonexistent/c.toml"),
            "{err}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_token_in_a_file_others_can_read_or_change_is_refused() {
        let text = "api_url = \"https://x.example\"\ntoken = \"tkn_secret_value\"\n";
        for mode in [0o644, 0o640, 0o620, 0o604] {
            let (_dir, path) = config_file(text, mode);
            let err = resolve_with(&["--config", path.to_str().unwrap()], &[]).unwrap_err();
            let message = err.to_string();
            assert_eq!(err.exit_code(), crate::error::exit::CONFIG);
            assert!(
                message.contains(&format!("chmod 600 {}", path.display())),
                "{message}"
            );
            assert!(message.contains(&format!("{mode:04o}")), "{message}");
            assert!(!message.contains("tkn_secret_value"));
        }
        let (_dir, path) = config_file(text, 0o600);
        assert!(resolve_with(&["--config", path.to_str().unwrap()], &[]).is_ok());
        // Without a token there is nothing to protect.
        let (_dir, path) = config_file("api_url = \"https://x.example\"\n", 0o644);
        assert!(resolve_with(&["--config", path.to_str().unwrap()], &[(TOKEN_VAR, "t")]).is_ok());
    }

    #[test]
    fn a_bad_file_is_named_without_quoting_its_lines() {
        let (_dir, path) = config_file(
            "api_url = \"https://x.example\"\ntoken = tkn_unquoted_secret\n",
            0o600,
        );
        let err = resolve_with(&["--config", path.to_str().unwrap()], &[]).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("config file {}, line 2", path.display())),
            "{text}"
        );
        assert!(!text.contains("tkn_unquoted_secret"), "{text}");
        let (_dir, path) = config_file("api_url = \"https://x.example\"\ntokn = \"t\"\n", 0o600);
        let err = resolve_with(&["--config", path.to_str().unwrap()], &[]).unwrap_err();
        assert!(err.to_string().contains("tokn"), "{err}");
    }

    #[test]
    fn urls_must_be_https_or_loopback_http() {
        for ok in [
            "https://abc.execute-api.eu-west-1.amazonaws.com/prod/",
            "http://127.0.0.1:3000",
            "http://localhost:3000",
            "http://[::1]:3000",
        ] {
            assert!(check_url(ok, "x").is_ok(), "{ok}");
        }
        for (bad, says) in [
            ("api.example", "not an http(s)"),
            ("ftp://api.example", "not an http(s)"),
            ("http://api.example", "unencrypted"),
            ("http://127.0.0.1.example.org", "unencrypted"),
            ("https://user:pw@api.example", "no user"),
            ("https://api.example/?x=1", "no user, query"),
            ("https://", "not an http(s)"),
            ("https:///tokens", "needs a host"),
        ] {
            let err = check_url(bad, "TOKENS_API_URL").unwrap_err().to_string();
            assert!(
                err.contains(says) && err.contains("TOKENS_API_URL"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn tokens_are_trimmed_and_never_shown() {
        let s = resolve_with(
            &[],
            &[(API_URL_VAR, "https://x.example"), (TOKEN_VAR, " tkn_a\n")],
        )
        .unwrap();
        assert_eq!(s.token.expose(), "tkn_a");
        assert_eq!(format!("{s:?}").matches("tkn_a").count(), 0);
        let err = resolve_with(
            &[],
            &[(API_URL_VAR, "https://x.example"), (TOKEN_VAR, "tkn a")],
        )
        .unwrap_err();
        assert!(err.to_string().contains(TOKEN_VAR) && !err.to_string().contains("tkn a"));
    }
}
