//! The whole tool in-process against a scripted HTTP server: what the API's rarer answers
//! (503, redirects, foreign bodies, silence) become. `tests/spec/cli.rs` runs it against the
//! real service.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::exit;

/// A new empty directory, removed with everything in it when dropped.
#[derive(Debug, PartialEq)]
pub struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A new empty directory of this test run.
pub fn temp_dir() -> TempDir {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "tokens-cli-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

/// What the scripted server does with one connection.
enum Reply {
    /// Answers this status, headers and body, then closes.
    With(u16, Vec<(&'static str, String)>, String),
    /// Reads the request and says nothing for this long.
    Silence(Duration),
}

fn problem(status: u16, title: &str, detail: &str, headers: &[(&'static str, &str)]) -> Reply {
    let body = json!({"type": "/problems/x", "title": title, "status": status, "detail": detail});
    let mut headers: Vec<_> = headers.iter().map(|(k, v)| (*k, v.to_string())).collect();
    headers.push(("content-type", "application/problem+json".into()));
    Reply::With(status, headers, body.to_string())
}

fn ok(status: u16, body: Value) -> Reply {
    Reply::With(
        status,
        vec![("content-type", "application/json".into())],
        body.to_string(),
    )
}

/// A server answering each connection with the next reply; it records each request's head.
struct Stub {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Stub {
    fn start(replies: Vec<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for reply in replies {
                let Ok((stream, _)) = listener.accept() else {
                    return;
                };
                let mut reader = BufReader::new(stream);
                let mut head = String::new();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    head.push_str(&line);
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                head.push_str(&String::from_utf8_lossy(&body));
                seen.lock().unwrap().push(head);
                let mut stream = reader.into_inner();
                match reply {
                    Reply::Silence(d) => std::thread::sleep(d),
                    Reply::With(status, headers, body) => {
                        let mut text = format!("HTTP/1.1 {status} X\r\nconnection: close\r\n");
                        for (k, v) in headers {
                            text.push_str(&format!("{k}: {v}\r\n"));
                        }
                        text.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
                        let _ = stream.write_all(text.as_bytes());
                    }
                }
            }
        });
        Self { url, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// Runs `tokens ARGS` against `url` with a token; returns the exit code, stdout and stderr.
fn tokens(url: &str, args: &[&str]) -> (u8, String, String) {
    let vars = [
        ("TOKENS_API_URL", url),
        ("TOKENS_TOKEN", "tkn_stub_secret"),
        ("HOME", "/nonexistent"),
    ];
    let env = |k: &str| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let line = std::iter::once("tokens").chain(args.iter().copied());
    let code = crate::run(line, &env, &mut out, &mut err);
    let (out, err) = (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    );
    assert!(!out.contains("tkn_stub_secret") && !err.contains("tkn_stub_secret"));
    (code, out, err)
}

const ID: &str = "0190a1b2-0000-7000-8000-000000000001";

fn token_json() -> Value {
    json!({"id": ID, "name": "ci", "prefix": "tkn_abc", "status": "active", "scopes": []})
}

#[test]
fn help_lists_the_exit_codes_and_mistakes_exit_2() {
    let (code, out, _) = tokens("http://127.0.0.1:1", &["--help"]);
    assert_eq!(code, exit::OK);
    assert!(
        out.contains("Exit codes:") && out.contains("4  authentication"),
        "{out}"
    );
    assert!(
        out.contains("TOKENS_API_URL") && out.contains("chmod 600"),
        "{out}"
    );
    let (code, out, err) = tokens("http://127.0.0.1:1", &["lsit"]);
    assert_eq!((code, out.as_str()), (exit::USAGE, ""));
    assert!(err.contains("lsit"), "{err}");
}

#[test]
fn the_token_is_sent_as_a_bearer_token_and_a_refusal_is_one_line() {
    let stub = Stub::start(vec![problem(
        401,
        "Unauthorized",
        "a valid bearer token is required",
        &[],
    )]);
    let (code, out, err) = tokens(&stub.url, &["whoami"]);
    assert_eq!((code, out.as_str()), (exit::AUTH, ""));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("tokens: authentication refused (401 Unauthorized)"),
        "{err}"
    );
    let request = &stub.requests()[0];
    assert!(
        request.starts_with("GET /tokens/self HTTP/1.1"),
        "{request}"
    );
    assert!(
        request.contains("authorization: Bearer tkn_stub_secret"),
        "{request}"
    );
}

#[test]
fn a_503_is_sent_again_after_retry_after_when_that_is_safe() {
    let busy = || problem(503, "Service unavailable", "busy", &[("retry-after", "0")]);
    let stub = Stub::start(vec![busy(), ok(200, token_json())]);
    let (code, out, err) = tokens(&stub.url, &["show", ID, "--json"]);
    assert_eq!(code, exit::OK, "{err}");
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["id"], ID);
    assert_eq!(stub.requests().len(), 2);

    // A create without an Idempotency-Key could mint twice: reported, not repeated.
    let stub = Stub::start(vec![busy(), busy()]);
    let (code, _, err) = tokens(&stub.url, &["create", "--name", "ci"]);
    assert_eq!(code, exit::UNAVAILABLE);
    assert!(err.contains("(Retry-After: 0 s; sent 1 time(s))"), "{err}");
    assert_eq!(stub.requests().len(), 1);

    // With a key it is repeated, as often as --retries says.
    let stub = Stub::start(vec![busy(), busy(), busy()]);
    let args = [
        "create",
        "--name",
        "ci",
        "--idempotency-key",
        "k1",
        "--retries",
        "1",
    ];
    let (code, _, err) = tokens(&stub.url, &args);
    assert_eq!(code, exit::UNAVAILABLE);
    assert!(err.contains("sent 2 time(s)"), "{err}");
    let requests = stub.requests();
    assert_eq!(requests.len(), 2);
    assert!(
        requests[1].contains("idempotency-key: k1"),
        "{}",
        requests[1]
    );
}

#[test]
fn answers_that_are_not_the_apis_say_so() {
    let html = |status| {
        Reply::With(
            status,
            vec![("content-type", "text/html".into())],
            "<html>".into(),
        )
    };
    let stub = Stub::start(vec![html(200), html(404), html(502)]);
    let (code, _, err) = tokens(&stub.url, &["whoami"]);
    assert_eq!(code, exit::OTHER);
    assert!(err.contains("not JSON: is the API URL right?"), "{err}");
    let (code, _, err) = tokens(&stub.url, &["whoami"]);
    assert_eq!(code, exit::NOT_FOUND);
    assert!(
        err.contains("not found (404) from") && err.contains("is the API URL right?"),
        "{err}"
    );
    let (code, _, _) = tokens(&stub.url, &["whoami"]);
    assert_eq!(code, exit::UNAVAILABLE);
}

#[test]
fn redirects_are_reported_not_followed() {
    let moved = Reply::With(
        301,
        vec![("location", "https://elsewhere.example/".into())],
        String::new(),
    );
    let stub = Stub::start(vec![moved]);
    let (code, _, err) = tokens(&stub.url, &["whoami"]);
    assert_eq!(code, exit::OTHER);
    assert!(err.contains("301"), "{err}");
    assert_eq!(stub.requests().len(), 1);
}

#[test]
fn silence_is_a_timeout_naming_the_url() {
    let stub = Stub::start(vec![Reply::Silence(Duration::from_secs(5))]);
    let (code, _, err) = tokens(&stub.url, &["whoami", "--timeout", "1"]);
    assert_eq!(code, exit::NETWORK);
    let expected = format!(
        "tokens: cannot reach {}/tokens/self: no answer within 1 s",
        stub.url
    );
    assert!(err.starts_with(&expected), "{err}");
}

#[test]
fn list_sends_each_filter_and_all_follows_next_cursor() {
    let page =
        |items: Vec<Value>, next: Value| ok(200, json!({"items": items, "next_cursor": next}));
    let stub = Stub::start(vec![
        page(vec![token_json()], json!("c/1+")),
        page(vec![token_json()], Value::Null),
    ]);
    let args = [
        "list",
        "--all",
        "--json",
        "--metadata",
        "team=a&b",
        "--status",
        "active,expired",
    ];
    let (code, out, err) = tokens(&stub.url, &args);
    assert_eq!(code, exit::OK, "{err}");
    let all: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let requests = stub.requests();
    let first = requests[0].lines().next().unwrap();
    assert_eq!(
        first,
        "GET /tokens?status=active%2Cexpired&metadata=team%3Da%26b HTTP/1.1"
    );
    assert!(
        requests[1].contains("&cursor=c%2F1%2B HTTP/1.1"),
        "{}",
        requests[1]
    );
}

#[cfg(unix)]
#[test]
fn the_secret_file_is_new_private_and_only_kept_when_a_token_was_minted() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir();
    let path = dir.join("secret");
    let file = path.to_str().unwrap();
    let mut created = token_json();
    created["secret"] = json!("tkn_minted_secret");
    let stub = Stub::start(vec![
        ok(201, created.clone()),
        problem(403, "Forbidden", "no", &[]),
    ]);

    let (code, out, err) = tokens(
        &stub.url,
        &["create", "--name", "ci", "--secret-file", file],
    );
    assert_eq!(code, exit::OK, "{err}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "tkn_minted_secret\n"
    );
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        !out.contains("tkn_minted_secret") && out.contains("secret written to"),
        "{out}"
    );

    // An existing file: refused before anything is sent.
    let (code, _, err) = tokens(
        &stub.url,
        &["create", "--name", "ci", "--secret-file", file],
    );
    assert_eq!(code, exit::SECRET_FILE);
    assert!(err.contains("exists already"), "{err}");
    assert_eq!(stub.requests().len(), 1);

    // A refused request leaves no file behind.
    let other = dir.join("other");
    let args = [
        "create",
        "--name",
        "ci",
        "--secret-file",
        other.to_str().unwrap(),
    ];
    assert_eq!(tokens(&stub.url, &args).0, exit::AUTH);
    assert!(!other.exists());
}
