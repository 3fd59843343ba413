//! A Lambda invocation at `TRACE`, end to end, in a child process (tests only).

#[cfg(test)]
mod tests {
    use crate::support::logging::tests::mint;
    use crate::support::logging::{init, REDACTED};

    /// The whole path a function takes: [`init`] from the environment (at `TRACE`), a
    /// `lambda_http` handler run by `lambda_runtime` against a local Runtime API stub, an
    /// invocation with `Authorization: Bearer <secret>`, and a DynamoDB `GetItem` (to the same
    /// stub) answering the credential's `secret_hash`. `init` installs a process-wide
    /// subscriber on stdout, so the function runs in a child process
    /// ([`lambda_function_child`]); its stdout is what CloudWatch would get.
    #[test]
    fn a_lambda_invocation_at_trace_writes_no_secret() {
        let (secret, hash) = mint();
        let session_token = format!("IQoJb3JpZ2luX2VjE{}", "Zz9".repeat(40));
        for (format, level_var) in [("JSON", "AWS_LAMBDA_LOG_LEVEL"), ("Text", "RUST_LOG")] {
            let stub = stub::RuntimeApi::start(&secret, &hash);
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    &format!(
                        "{}::lambda_function_child",
                        module_path!().split_once("::").unwrap().1
                    ),
                    "--exact",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env_remove("AWS_LAMBDA_LOG_LEVEL")
                .env_remove("RUST_LOG")
                .env_remove("AWS_ENDPOINT_URL")
                .env(level_var, "TRACE")
                .env("AWS_LAMBDA_LOG_FORMAT", format)
                .env("AWS_LAMBDA_RUNTIME_API", stub.addr())
                .env("AWS_LAMBDA_FUNCTION_NAME", "tokens-list")
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
                .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                .env(
                    "AWS_ENDPOINT_URL_DYNAMODB",
                    format!("http://{}", stub.addr()),
                )
                .env("AWS_REGION", "eu-west-1")
                .env("AWS_ACCESS_KEY_ID", "ASIAEXAMPLEEXAMPLE00")
                .env(
                    "AWS_SECRET_ACCESS_KEY",
                    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
                )
                .env("AWS_SESSION_TOKEN", &session_token)
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{stdout}\n{stderr}");
            let answers = stub.answers();
            assert_eq!(answers.len(), 1, "{answers:?}\n{stdout}\n{stderr}");
            assert!(answers[0].contains(r#""statusCode":200"#), "{answers:?}");
            assert!(answers[0].contains("verified"), "{answers:?}");
            for (what, value) in [
                ("secret", secret.as_str()),
                ("hash", hash.as_str()),
                ("session token", session_token.as_str()),
                ("secret key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"),
            ] {
                assert!(
                    !stdout.contains(value),
                    "{format}: the {what} is logged:\n{stdout}"
                );
            }
            assert!(!stdout.contains("raw JSON event"), "{stdout}");
            let trace = if format == "JSON" {
                r#""level":"TRACE""#
            } else {
                "TRACE "
            };
            assert!(
                stdout.matches(trace).count() >= 2,
                "{format}: no TRACE lines:\n{stdout}"
            );
            assert!(stdout.contains("handler saw"), "{stdout}");
            if format == "JSON" {
                // Redacted or not, every log line is still a JSON object.
                for line in stdout.lines().filter(|l| l.contains(r#""level":"#)) {
                    let line = &line[line.find('{').unwrap()..];
                    serde_json::from_str::<serde_json::Value>(line).expect(line);
                }
            }
            assert!(stdout.contains(REDACTED), "{stdout}");
        }
    }

    /// The function [`a_lambda_invocation_at_trace_writes_no_secret`] runs: `init()`, then
    /// `lambda_http::run` until the stub ends the run. Does nothing useful on its own.
    #[test]
    #[ignore = "run in its own process by a_lambda_invocation_at_trace_writes_no_secret"]
    fn lambda_function_child() {
        use aws_sdk_dynamodb::types::AttributeValue;
        use lambda_http::{Body, Error, Request, Response};

        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            // Only the parent test sets what `lambda_runtime` reads.
            if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
                eprintln!("not run: no AWS_LAMBDA_RUNTIME_API");
                return;
            }
            init();
            let sdk = crate::config::lambda_sdk_config(crate::config::Budget::API).unwrap();
            let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
            let hasher = crate::support::secret::SecretHasher::new(&[7u8; 32]);
            let handler = lambda_http::service_fn(|req: Request| {
                let (dynamodb, hasher) = (dynamodb.clone(), hasher.clone());
                async move {
                    let header = req
                        .headers()
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    // Careless lines of our own: the writer must blank them.
                    tracing::trace!(authorization = %header, "handler saw");
                    let presented = header.strip_prefix("Bearer ").unwrap_or_default();
                    let token = crate::support::secret::parse(presented)?;
                    let got = dynamodb
                        .get_item()
                        .table_name("tokens")
                        .key(
                            "pk",
                            AttributeValue::S(crate::store::schema::credential_pk(token.id)),
                        )
                        .consistent_read(true)
                        .send()
                        .await?;
                    let stored = got
                        .item()
                        .and_then(|i| i.get("secret_hash"))
                        .and_then(|v| v.as_s().ok())
                        .cloned()
                        .unwrap_or_default();
                    tracing::debug!(stored_hash = %stored, "handler read");
                    let answer = if hasher.verify(&token, &stored) {
                        "verified"
                    } else {
                        "mismatch"
                    };
                    Ok::<_, Error>(Response::new(Body::from(answer)))
                }
            });
            let run = tokio::time::timeout(
                std::time::Duration::from_secs(60),
                lambda_http::run(handler),
            );
            // The stub drops the second poll for an event, which ends the run.
            let ended = run.await;
            eprintln!("the run ended: {ended:?}");
        });
    }

    /// A Lambda Runtime API and DynamoDB endpoint on one local port, in plain std: serves one
    /// invocation, answers `GetItem` with a credential, drops the next poll.
    mod stub {
        use std::io::{BufRead, BufReader, Read, Write};
        use std::net::{TcpListener, TcpStream};
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::{Arc, Mutex};

        struct State {
            event: String,
            item: String,
            polls: AtomicUsize,
            answers: Mutex<Vec<String>>,
        }

        pub struct RuntimeApi {
            addr: String,
            state: Arc<State>,
        }

        impl RuntimeApi {
            pub fn start(secret: &str, hash: &str) -> Self {
                // An HTTP API (payload 2.0) request, as API Gateway sends it.
                let event = serde_json::json!({
                    "version": "2.0",
                    "routeKey": "GET /tokens",
                    "rawPath": "/tokens",
                    "rawQueryString": "",
                    "headers": {
                        "authorization": format!("Bearer {secret}"),
                        "host": "abc123def4.execute-api.eu-west-1.amazonaws.com",
                    },
                    "requestContext": {
                        "accountId": "123456789012",
                        "apiId": "abc123def4",
                        "domainName": "abc123def4.execute-api.eu-west-1.amazonaws.com",
                        "domainPrefix": "abc123def4",
                        "http": {
                            "method": "GET",
                            "path": "/tokens",
                            "protocol": "HTTP/1.1",
                            "sourceIp": "203.0.113.7",
                            "userAgent": "curl/8.5.0",
                        },
                        "requestId": "B3bXqj8yDoEEMdw=",
                        "routeKey": "GET /tokens",
                        "stage": "$default",
                        "time": "22/Nov/2026:23:52:51 +0000",
                        "timeEpoch": 1_795_392_771_598_u64,
                    },
                    "isBase64Encoded": false,
                })
                .to_string();
                let item = format!(
                    r#"{{"Item":{{"pk":{{"S":"CRED#x"}},"secret_hash":{{"S":"{hash}"}}}}}}"#
                );
                let state = Arc::new(State {
                    event,
                    item,
                    polls: AtomicUsize::new(0),
                    answers: Mutex::new(Vec::new()),
                });
                let listener = TcpListener::bind("127.0.0.1:0").unwrap();
                let addr = listener.local_addr().unwrap().to_string();
                let serving = state.clone();
                std::thread::spawn(move || {
                    for stream in listener.incoming().flatten() {
                        let state = serving.clone();
                        std::thread::spawn(move || {
                            let _ = serve(stream, &state);
                        });
                    }
                });
                Self { addr, state }
            }

            pub fn addr(&self) -> &str {
                &self.addr
            }

            /// The bodies posted as invocation responses.
            pub fn answers(&self) -> Vec<String> {
                self.state.answers.lock().unwrap().clone()
            }
        }

        fn serve(stream: TcpStream, state: &State) -> std::io::Result<()> {
            let mut out = stream.try_clone()?;
            let mut input = BufReader::new(stream);
            loop {
                let mut request_line = String::new();
                if input.read_line(&mut request_line)? == 0 {
                    return Ok(());
                }
                let mut parts = request_line.split_whitespace();
                let (method, path) = (
                    parts.next().unwrap_or_default().to_string(),
                    parts.next().unwrap_or_default().to_string(),
                );
                let (mut length, mut target) = (0usize, String::new());
                loop {
                    let mut line = String::new();
                    input.read_line(&mut line)?;
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':') {
                        match name.trim().to_ascii_lowercase().as_str() {
                            "content-length" => length = value.trim().parse().unwrap_or(0),
                            "x-amz-target" => target = value.trim().to_string(),
                            "transfer-encoding" => panic!("the stub reads no chunked bodies"),
                            _ => {}
                        }
                    }
                }
                let mut body = vec![0; length];
                input.read_exact(&mut body)?;
                let (status, headers, reply) = match (method.as_str(), path.as_str()) {
                    ("GET", "/2018-06-01/runtime/invocation/next") => {
                        if state.polls.fetch_add(1, Ordering::SeqCst) == 0 {
                            let deadline = std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .unwrap()
                                .as_millis()
                                + 30_000;
                            let headers = format!(
                                "lambda-runtime-aws-request-id: 8476a536-e9f4-11e8-9739-2dfe598c3fcd\r\n\
                                 lambda-runtime-deadline-ms: {deadline}\r\n\
                                 lambda-runtime-invoked-function-arn: arn:aws:lambda:eu-west-1:123456789012:function:tokens-list\r\n\
                                 content-type: application/json\r\n"
                            );
                            ("200 OK", headers, state.event.clone())
                        } else {
                            // Closing the connection unanswered ends the run.
                            return Ok(());
                        }
                    }
                    ("POST", p) if p.starts_with("/2018-06-01/runtime/") => {
                        state
                            .answers
                            .lock()
                            .unwrap()
                            .push(String::from_utf8_lossy(&body).into_owned());
                        (
                            "202 Accepted",
                            String::new(),
                            r#"{"status":"OK"}"#.to_string(),
                        )
                    }
                    ("POST", "/") if target == "DynamoDB_20120810.GetItem" => (
                        "200 OK",
                        "content-type: application/x-amz-json-1.0\r\n".to_string(),
                        state.item.clone(),
                    ),
                    _ => ("404 Not Found", String::new(), String::new()),
                };
                write!(
                    out,
                    "HTTP/1.1 {status}\r\ncontent-length: {}\r\n{headers}\r\n{reply}",
                    reply.len()
                )?;
                out.flush()?;
            }
        }
    }
}
