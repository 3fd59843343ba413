//! A minimal function on `lambda_runtime` for the emulator's tests. It answers its event,
//! unless the event's `action` asks for something else:
//!
//! | event | does |
//! | --- | --- |
//! | `{"action": "late_write", "addr": "127.0.0.1:N", "delay_ms": 50}` | spawns a task that connects to `addr` after the delay and writes `late`, answers at once |
//! | `{"action": "sleep", "ms": N}` | sleeps, then answers |
//! | `{"action": "exit", "code": N}` | exits the process |
//! | `{"action": "fail"}` | returns an error (`/invocation/{id}/error`) |
//! | `{"action": "env"}` | answers `{"env": {every variable}}` |

use std::time::Duration;

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(handle)).await
}

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let payload = event.payload;
    match payload["action"].as_str() {
        Some("late_write") => {
            let addr = payload["addr"].as_str().unwrap_or_default().to_owned();
            let delay = payload["delay_ms"].as_u64().unwrap_or(50);
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(delay)).await;
                if let Ok(mut stream) = tokio::net::TcpStream::connect(&addr).await {
                    let _ = stream.write_all(b"late").await;
                }
            });
            Ok(json!({"spawned": true}))
        }
        Some("sleep") => {
            let ms = payload["ms"].as_u64().unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(json!({"slept_ms": ms}))
        }
        Some("exit") => std::process::exit(payload["code"].as_i64().unwrap_or(1) as i32),
        Some("fail") => Err("asked to fail".into()),
        Some("env") => {
            let vars: serde_json::Map<String, Value> = std::env::vars()
                .map(|(k, v)| (k, Value::String(v)))
                .collect();
            Ok(json!({ "env": vars }))
        }
        _ => Ok(payload),
    }
}
