//! What people read: a token as aligned `field value` lines, a list as a table. Scripts use
//! `--json`, which prints the API's own JSON instead (nothing here is parsed back).
//!
//! The answers are read into local structs: the server's views (`TokenView`, `ListBody` in
//! `api-tokens`) only serialize and borrow, and the spec tests hold these fields to the API's.

use std::collections::BTreeMap;
use std::io::Write;

use comfy_table::{presets, Table};
use serde::Deserialize;
use serde_json::Value;

use crate::error::{clean, CliError};

/// Every field of the API's token object, in the order `show` prints them.
pub const TOKEN_FIELDS: [&str; 24] = [
    "id",
    "name",
    "description",
    "prefix",
    "scopes",
    "status",
    "user_id",
    "created_by",
    "created_at",
    "updated_at",
    "last_used_at",
    "last_used_ip",
    "expires_at",
    "revoked_at",
    "revoked_by",
    "revoked_via",
    "revocation_reason",
    "metadata",
    "allowed_ips",
    "rotated_from",
    "rotated_to",
    "rate_limit",
    "quota",
    "quota_remaining",
];

/// The token object. Every field is optional here, so an older or newer API still prints.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Token {
    id: String,
    name: String,
    description: Option<String>,
    prefix: String,
    scopes: Vec<String>,
    status: String,
    user_id: String,
    created_by: String,
    created_at: String,
    updated_at: String,
    last_used_at: Option<String>,
    last_used_ip: Option<String>,
    expires_at: Option<String>,
    revoked_at: Option<String>,
    revoked_by: Option<String>,
    revoked_via: Option<String>,
    revocation_reason: Option<String>,
    metadata: BTreeMap<String, String>,
    allowed_ips: Vec<String>,
    rotated_from: Option<String>,
    rotated_to: Option<String>,
    rate_limit: Option<RateLimit>,
    quota: Option<Quota>,
    quota_remaining: Option<u64>,
}

/// A token's `rate_limit`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RateLimit {
    limit: u64,
    window_seconds: u64,
}

/// A token's `quota`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Quota {
    limit: u64,
    period: String,
}

impl Token {
    /// Reads a token object out of an answer.
    pub fn from_json(value: &Value) -> Result<Self, CliError> {
        Self::deserialize(value)
            .map_err(|e| CliError::Other(format!("the answer is not a token object: {e}")))
    }

    /// Each field of [`TOKEN_FIELDS`], in its order, as text (`-` for none).
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        let list = |v: &[String]| {
            if v.is_empty() {
                "-".into()
            } else {
                v.join(" ")
            }
        };
        let metadata: Vec<String> = self
            .metadata
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let fields = [
            ("id", self.id.clone()),
            ("name", self.name.clone()),
            ("description", opt(&self.description)),
            ("prefix", self.prefix.clone()),
            ("scopes", list(&self.scopes)),
            ("status", self.status.clone()),
            ("user_id", self.user_id.clone()),
            ("created_by", self.created_by.clone()),
            ("created_at", self.created_at.clone()),
            ("updated_at", self.updated_at.clone()),
            ("last_used_at", opt(&self.last_used_at)),
            ("last_used_ip", opt(&self.last_used_ip)),
            ("expires_at", opt(&self.expires_at)),
            ("revoked_at", opt(&self.revoked_at)),
            ("revoked_by", opt(&self.revoked_by)),
            ("revoked_via", opt(&self.revoked_via)),
            ("revocation_reason", opt(&self.revocation_reason)),
            ("metadata", list(&metadata)),
            ("allowed_ips", list(&self.allowed_ips)),
            ("rotated_from", opt(&self.rotated_from)),
            ("rotated_to", opt(&self.rotated_to)),
            (
                "rate_limit",
                opt(&self
                    .rate_limit
                    .as_ref()
                    .map(|r| format!("{} per {} s", r.limit, r.window_seconds))),
            ),
            (
                "quota",
                opt(&self
                    .quota
                    .as_ref()
                    .map(|q| format!("{} per {}", q.limit, q.period))),
            ),
            (
                "quota_remaining",
                opt(&self.quota_remaining.map(|n| n.to_string())),
            ),
        ];
        fields
            .into_iter()
            .map(|(name, value)| (name, clean(&value)))
            .collect()
    }
}

/// A token as `field value` lines.
pub fn details(out: &mut dyn Write, token: &Token) -> Result<(), CliError> {
    for (name, value) in token.fields() {
        writeln!(out, "{name:<18} {value}")?;
    }
    Ok(())
}

/// Tokens as a table, then how many (and of how many, with `--total`).
pub fn table(out: &mut dyn Write, tokens: &[Token], total: Option<&Value>) -> Result<(), CliError> {
    if tokens.is_empty() {
        writeln!(out, "no tokens")?;
    } else {
        let mut table = Table::new();
        table.load_preset(presets::NOTHING).set_header([
            "ID",
            "NAME",
            "STATUS",
            "USER",
            "SCOPES",
            "EXPIRES (UTC)",
            "LAST USED (UTC)",
        ]);
        for t in tokens {
            table.add_row([
                t.id.clone(),
                clean(&t.name),
                t.status.clone(),
                clean(&t.user_id),
                if t.scopes.is_empty() {
                    "-".into()
                } else {
                    clean(&t.scopes.join(" "))
                },
                short_time(t.expires_at.as_deref(), "never"),
                short_time(t.last_used_at.as_deref(), "never"),
            ]);
        }
        for column in table.column_iter_mut() {
            column.set_padding((0, 2));
        }
        writeln!(out, "{}", table.trim_fmt())?;
    }
    let count = match total {
        Some(Value::Number(n)) => format!(" of {n}"),
        Some(Value::Null) => " of more than can be counted".into(),
        _ => String::new(),
    };
    if !tokens.is_empty() {
        writeln!(out, "{} token(s){count}", tokens.len())?;
    }
    Ok(())
}

/// `2026-07-01T12:00:00.000Z` as `2026-07-01 12:00`.
fn short_time(time: Option<&str>, none: &str) -> String {
    match time {
        Some(t) => clean(&t.get(..16).unwrap_or(t).replacen('T', " ", 1)),
        None => none.into(),
    }
}

/// `value` as pretty JSON and a newline.
pub fn json(out: &mut dyn Write, value: &Value) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::Other(format!("cannot print JSON: {e}")))?;
    writeln!(out, "{text}")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "id": "0190a1b2-0000-7000-8000-000000000001", "name": "ci deploy",
            "description": null, "prefix": "tkn_abcdefgh", "scopes": ["tokens:read", "tokens:write"],
            "status": "active", "user_id": "alice", "created_by": "alice",
            "created_at": "2026-01-01T00:00:00.000Z", "updated_at": "2026-01-01T00:00:00.000Z",
            "last_used_at": null, "last_used_ip": null, "expires_at": "2026-07-01T12:30:00.000Z",
            "revoked_at": null, "revoked_by": null, "revoked_via": null, "revocation_reason": null,
            "metadata": {"team": "infra", "env": "prod"}, "allowed_ips": [],
            "rotated_from": null, "rotated_to": null,
            "rate_limit": {"limit": 100, "window_seconds": 60},
            "quota": {"limit": 10000, "period": "day"}, "quota_remaining": 9000
        })
    }

    #[test]
    fn details_show_every_field_of_the_token_object() {
        let value = sample();
        let fields = Token::from_json(&value).unwrap().fields();
        let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, TOKEN_FIELDS);
        let mut answered: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        answered.sort_unstable();
        assert_eq!(sorted, answered);
        let mut out = Vec::new();
        details(&mut out, &Token::from_json(&value).unwrap()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("metadata           env=prod team=infra\n"),
            "{text}"
        );
        assert!(text.contains("description        -\n"), "{text}");
        assert!(text.contains("rate_limit         100 per 60 s\n"), "{text}");
        assert!(
            text.contains("quota              10000 per day\n"),
            "{text}"
        );
        assert!(text.contains("quota_remaining    9000\n"), "{text}");
        assert!(
            text.contains("scopes             tokens:read tokens:write\n"),
            "{text}"
        );
    }

    #[test]
    fn tables_have_a_row_per_token_and_a_count() {
        let tokens = [Token::from_json(&sample()).unwrap(), Token::default()];
        let mut out = Vec::new();
        table(&mut out, &tokens, Some(&json!(7))).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("ID") && lines[0].contains("LAST USED (UTC)"),
            "{text}"
        );
        assert!(
            lines[1].contains("ci deploy") && lines[1].contains("2026-07-01 12:30"),
            "{text}"
        );
        assert!(lines[1].contains("never"), "{text}");
        assert_eq!(lines.last(), Some(&"2 token(s) of 7"));
        let mut out = Vec::new();
        table(&mut out, &[], None).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "no tokens\n");
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let mut value = sample();
        value["name"] = json!("evil\u{1b}]0;owned\u{7}");
        value["expires_at"] = json!("\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}");
        let mut out = Vec::new();
        table(&mut out, &[Token::from_json(&value).unwrap()], None).unwrap();
        details(&mut out, &Token::from_json(&value).unwrap()).unwrap();
        assert!(!out.iter().any(|b| *b == 0x1b || *b == 0x07));
    }
}
