//! `fault-proxy --listen 127.0.0.1:8001 --upstream http://127.0.0.1:8000 [--control 127.0.0.1:8002]`:
//! the proxy by hand, beside `./scripts/dev`. Rules are set through the control endpoint
//! (`fault_proxy::control`); without `--control` the proxy only forwards.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use fault_proxy::control::serve_control;
use fault_proxy::FaultProxy;
use tokio::net::TcpListener;

const USAGE: &str =
    "usage: fault-proxy --listen ADDR:PORT --upstream http://HOST:PORT [--control ADDR:PORT]";

struct Args {
    listen: SocketAddr,
    upstream: String,
    control: Option<SocketAddr>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut listen, mut upstream, mut control) = (None, None, None);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let addr = || {
            value
                .parse::<SocketAddr>()
                .map_err(|e| format!("{flag} {value}: {e}"))
        };
        match flag.as_str() {
            "--listen" => listen = Some(addr()?),
            "--control" => control = Some(addr()?),
            "--upstream" => upstream = Some(value),
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    Ok(Args {
        listen: listen.ok_or("--listen is required")?,
        upstream: upstream.ok_or("--upstream is required")?,
        control,
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("fault-proxy: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let proxy = match FaultProxy::start_on(args.listen, &args.upstream).await {
        Ok(proxy) => Arc::new(proxy),
        Err(e) => {
            eprintln!("fault-proxy: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("fault-proxy: {} -> {}", proxy.endpoint(), args.upstream);
    if let Some(control) = args.control {
        match TcpListener::bind(control).await {
            Ok(listener) => {
                eprintln!(
                    "fault-proxy: control on http://{control} (PUT/DELETE /rules, GET /stats)"
                );
                tokio::spawn(serve_control(listener, proxy.clone()));
            }
            Err(e) => {
                eprintln!("fault-proxy: cannot listen on {control}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}
