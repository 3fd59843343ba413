//! Each command: the request it sends (its query or body built from the flags alone, so the
//! API stays the one judge of values) and what it prints.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use serde_json::{json, Map, Value};

use crate::cli::{Cli, Command, CreateArgs, LimitArgs, ListArgs, MintArgs, RotateArgs, UpdateArgs};
use crate::client::{Answer, Call, Client};
use crate::config;
use crate::error::CliError;
use crate::output::{self, Token};

/// Where a command writes, and how.
struct Out<'a> {
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
    json: bool,
}

/// Runs a parsed command line.
pub fn execute(
    cli: Cli,
    env: &dyn Fn(&str) -> Option<String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    if let Command::Completions { shell } = cli.command {
        // Into memory first: clap_complete panics when its writer fails (a closed pipe).
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "tokens", &mut script);
        return Ok(out.write_all(&script)?);
    }
    let client = Client::new(&config::resolve(&cli.global, env)?);
    let mut io = Out {
        out,
        err,
        json: cli.global.json,
    };
    let get = |path: String| Call {
        method: "GET",
        path,
        repeatable: true,
        ..Call::default()
    };
    match cli.command {
        Command::List(args) => list(&client, &args, &mut io),
        Command::Create(args) => create(&client, &args, &mut io),
        Command::Show { id } => token(&client.send(&get(format!("/tokens/{id}")))?, &mut io),
        Command::Whoami => token(&client.send(&get("/tokens/self".into()))?, &mut io),
        Command::Update(args) => {
            let call = Call {
                method: "PATCH",
                path: format!("/tokens/{}", args.id),
                body: Some(update_body(&args)?),
                repeatable: true,
                ..Call::default()
            };
            token(&client.send(&call)?, &mut io)
        }
        Command::Revoke { id, reason } => {
            let call = Call {
                method: "POST",
                path: format!("/tokens/{id}/revoke"),
                body: reason.map(|r| json!({ "reason": r })),
                repeatable: true,
                ..Call::default()
            };
            token(&client.send(&call)?, &mut io)
        }
        Command::Rotate(args) => rotate(&client, &args, &mut io),
        // Answered above, before any configuration is needed.
        Command::Completions { .. } => Ok(()),
    }
}

/// Prints a token answer.
fn token(answer: &Answer, io: &mut Out) -> Result<(), CliError> {
    if io.json {
        return output::json(io.out, &answer.body);
    }
    output::details(io.out, &Token::from_json(&answer.body)?)
}

/// The query of `GET /tokens` the flags ask for, in the API's parameter names.
pub fn list_query(args: &ListArgs) -> Vec<(&'static str, String)> {
    let mut query = Vec::new();
    let joined = |values: Vec<String>| (!values.is_empty()).then(|| values.join(","));
    let statuses = args.status.iter().filter_map(value_name).collect();
    let ids = args.token_ids.iter().map(ToString::to_string).collect();
    let flags = [
        ("status", joined(statuses)),
        (
            "include_revoked",
            args.include_revoked.then(|| "true".into()),
        ),
        ("user_id", args.user_id.clone()),
        ("token_ids", joined(ids)),
        ("name", args.name.clone()),
        ("scope", args.scope.clone()),
        ("created_after", args.created_after.clone()),
        ("created_before", args.created_before.clone()),
        ("expires_after", args.expires_after.clone()),
        ("expires_before", args.expires_before.clone()),
        ("last_used_after", args.last_used_after.clone()),
        ("last_used_before", args.last_used_before.clone()),
        ("sort", args.sort.as_ref().and_then(value_name)),
        ("order", args.order.as_ref().and_then(value_name)),
        ("limit", args.limit.map(|l| l.to_string())),
        ("cursor", args.cursor.clone()),
        ("include_total_count", args.total.then(|| "true".into())),
        ("limited", args.limited.map(|l| l.to_string())),
    ];
    for (name, v) in flags {
        query.extend(v.map(|v| (name, v)));
    }
    for (key, v) in &args.metadata {
        query.push(("metadata", format!("{key}={v}")));
    }
    query
}

/// The name a value has on the command line, which is the API's.
fn value_name<T: clap::ValueEnum>(value: &T) -> Option<String> {
    value.to_possible_value().map(|p| p.get_name().to_string())
}

/// `tokens list`: one page, or with `--all` every page, following `next_cursor`.
fn list(client: &Client, args: &ListArgs, io: &mut Out) -> Result<(), CliError> {
    let mut call = Call {
        method: "GET",
        path: "/tokens".into(),
        query: list_query(args),
        repeatable: true,
        ..Call::default()
    };
    let mut items = Vec::new();
    let mut first: Option<Value> = None;
    loop {
        let page = client.send(&call)?.body;
        let next = page["next_cursor"].as_str().map(String::from);
        if !args.all {
            return print_page(&page, page["items"].as_array(), next.as_deref(), io);
        }
        items.extend(page["items"].as_array().cloned().unwrap_or_default());
        first.get_or_insert(page);
        let Some(next) = next else { break };
        if call.query.last() == Some(&("cursor", next.clone())) {
            return Err(CliError::Other(
                "the API answered the same next_cursor twice".into(),
            ));
        }
        call.query.retain(|(name, _)| *name != "cursor");
        call.query.push(("cursor", next));
    }
    let first = first.unwrap_or_default();
    if !io.json {
        return print_page(&first, Some(&items), None, io);
    }
    let mut all = Map::new();
    for key in ["total", "total_capped"] {
        if let Some(v) = first.get(key) {
            all.insert(key.into(), v.clone());
        }
    }
    all.insert("items".into(), Value::Array(items));
    output::json(io.out, &Value::Object(all))
}

/// One page (or every page's `items`) as JSON or a table.
fn print_page(
    page: &Value,
    items: Option<&Vec<Value>>,
    next: Option<&str>,
    io: &mut Out,
) -> Result<(), CliError> {
    if io.json {
        return output::json(io.out, page);
    }
    let tokens: Vec<Token> = items
        .map(|items| items.iter().map(Token::from_json).collect::<Result<_, _>>())
        .transpose()?
        .unwrap_or_default();
    output::table(io.out, &tokens, page.get("total"))?;
    if let Some(next) = next {
        writeln!(io.out, "more: add --cursor {next} (or --all)")?;
    }
    Ok(())
}

/// The body of `POST /tokens`.
pub fn create_body(args: &CreateArgs) -> Result<Value, CliError> {
    let mut body = Map::new();
    body.insert("name".into(), json!(args.name));
    let fields = [
        ("description", args.description.as_ref().map(|d| json!(d))),
        (
            "scopes",
            (!args.scopes.is_empty()).then(|| json!(args.scopes)),
        ),
        ("expires_in_days", args.expires_in_days.map(|d| json!(d))),
        ("expires_at", args.expires_at.as_ref().map(|t| json!(t))),
        ("user_id", args.user_id.as_ref().map(|u| json!(u))),
        ("metadata", labels(&args.metadata)?),
        (
            "allowed_ips",
            (!args.allowed_ips.is_empty()).then(|| json!(args.allowed_ips)),
        ),
    ];
    for (name, value) in fields {
        if let Some(value) = value {
            body.insert(name.into(), value);
        }
    }
    limit_fields(&args.limits, &mut body);
    Ok(Value::Object(body))
}

/// `--rate-limit` and `--quota` as the body's `rate_limit` and `quota`.
fn limit_fields(args: &LimitArgs, body: &mut Map<String, Value>) {
    if let Some((limit, window_seconds)) = args.rate_limit {
        body.insert(
            "rate_limit".into(),
            json!({"limit": limit, "window_seconds": window_seconds}),
        );
    }
    if let Some((limit, period)) = &args.quota {
        body.insert("quota".into(), json!({"limit": limit, "period": period}));
    }
}

/// `--metadata` pairs as a JSON object (`None` for none); a key given twice is refused.
fn labels(pairs: &[(String, String)]) -> Result<Option<Value>, CliError> {
    let mut labels = Map::new();
    for (key, value) in pairs {
        if labels.insert(key.clone(), json!(value)).is_some() {
            return Err(CliError::Usage(format!("--metadata {key} is given twice")));
        }
    }
    Ok((!labels.is_empty()).then_some(Value::Object(labels)))
}

/// The body of `PATCH /tokens/{id}`.
pub fn update_body(args: &UpdateArgs) -> Result<Value, CliError> {
    let mut body = Map::new();
    if let Some(name) = &args.name {
        body.insert("name".into(), json!(name));
    }
    if let Some(description) = &args.description {
        body.insert("description".into(), json!(description));
    }
    if args.clear_metadata {
        body.insert("metadata".into(), Value::Null);
    } else if let Some(labels) = labels(&args.metadata)? {
        body.insert("metadata".into(), labels);
    }
    limit_fields(&args.limits, &mut body);
    for (removed, field) in [(args.no_rate_limit, "rate_limit"), (args.no_quota, "quota")] {
        if removed {
            body.insert(field.into(), Value::Null);
        }
    }
    Ok(Value::Object(body))
}

/// The body of `POST /tokens/{id}/rotate` (`None`: the defaults).
pub fn rotate_body(args: &RotateArgs) -> Option<Value> {
    let mut body = Map::new();
    if let Some(seconds) = args.grace {
        body.insert("grace_period_seconds".into(), json!(seconds));
    }
    if let Some(at) = &args.expires_at {
        body.insert("expires_at".into(), json!(at));
    }
    limit_fields(&args.limits, &mut body);
    (!body.is_empty()).then_some(Value::Object(body))
}

/// `tokens create`.
fn create(client: &Client, args: &CreateArgs, io: &mut Out) -> Result<(), CliError> {
    let call = Call {
        method: "POST",
        path: "/tokens".into(),
        body: Some(create_body(args)?),
        idempotency_key: args.mint.idempotency_key.as_deref(),
        repeatable: args.mint.idempotency_key.is_some(),
        ..Call::default()
    };
    mint(client, &call, &args.mint, io)
}

/// `tokens rotate`.
fn rotate(client: &Client, args: &RotateArgs, io: &mut Out) -> Result<(), CliError> {
    let call = Call {
        method: "POST",
        path: format!("/tokens/{}/rotate", args.id),
        body: rotate_body(args),
        idempotency_key: args.mint.idempotency_key.as_deref(),
        repeatable: args.mint.idempotency_key.is_some(),
        ..Call::default()
    };
    mint(client, &call, &args.mint, io)
}

/// Sends a request that mints a secret; prints the secret once, or writes it to the secret
/// file, which is created first so that nothing is minted when it cannot be.
fn mint(client: &Client, call: &Call, args: &MintArgs, io: &mut Out) -> Result<(), CliError> {
    let file = args
        .secret_file
        .as_deref()
        .map(SecretFile::create)
        .transpose()?;
    let (mut answer, secret) = match client.send(call).and_then(take_secret) {
        Ok(minted) => minted,
        Err(e) => {
            if let Some(file) = file {
                file.discard();
            }
            return Err(e);
        }
    };
    let body = &mut answer.body;
    // The secret is saved before anything else can fail.
    let id = body["id"].as_str().unwrap_or("?").to_string();
    let written = file.map(|f| f.write(&secret, &id)).transpose()?;
    if answer.replayed {
        writeln!(
            io.err,
            "tokens: the earlier answer to this Idempotency-Key (nothing new was minted)"
        )?;
    }
    if io.json {
        if written.is_none() {
            body["secret"] = json!(secret);
        }
        return output::json(io.out, body);
    }
    output::details(io.out, &Token::from_json(body)?)?;
    match written {
        Some(path) => writeln!(io.out, "secret written to {} (mode 0600)", path.display())?,
        None => {
            writeln!(io.out, "{:<18} {secret}", "secret")?;
            writeln!(io.err, "tokens: the secret is shown only now: store it")?;
        }
    }
    Ok(())
}

/// Takes the secret out of a minting answer.
fn take_secret(mut answer: Answer) -> Result<(Answer, String), CliError> {
    match answer.body.as_object_mut().and_then(|b| b.remove("secret")) {
        Some(Value::String(secret)) => Ok((answer, secret)),
        _ => Err(CliError::Other("the answer holds no secret".into())),
    }
}

/// A new file for a secret, readable by its owner only from the start.
struct SecretFile {
    path: PathBuf,
    file: std::fs::File,
}

impl SecretFile {
    /// Creates the file with mode 0600; an existing file is never replaced.
    fn create(path: &Path) -> Result<Self, CliError> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path).map_err(|e| CliError::SecretFile {
            path: path.display().to_string(),
            reason: match e.kind() {
                std::io::ErrorKind::AlreadyExists => {
                    "exists already and is never overwritten: remove it or give another path \
                     (nothing was created)"
                        .into()
                }
                _ => format!("{e} (nothing was created)"),
            },
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Writes the secret of token `id` and a newline.
    fn write(mut self, secret: &str, id: &str) -> Result<PathBuf, CliError> {
        let written = self
            .file
            .write_all(format!("{secret}\n").as_bytes())
            .and_then(|()| self.file.sync_all());
        written.map_err(|e| CliError::SecretFile {
            path: self.path.display().to_string(),
            reason: format!("{e}; token {id} was minted but its secret is lost: revoke it"),
        })?;
        Ok(self.path)
    }

    /// Removes the still empty file after a failed request.
    fn discard(self) {
        drop(self.file);
        let _ = std::fs::remove_file(&self.path);
    }
}
