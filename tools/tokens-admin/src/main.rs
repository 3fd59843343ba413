//! `tokens-admin`: see the library's documentation, or run `tokens-admin --help`.

use std::process::ExitCode;

use api_tokens::config;
use tokens_admin::{parse, run, CommandError, USAGE};

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let result = match parse(&args) {
        Ok(command) => {
            let sdk = config::sdk_config().await;
            run(
                command,
                &aws_sdk_ssm::Client::new(&sdk),
                aws_sdk_dynamodb::Client::new(&sdk),
                |k| std::env::var(k).ok(),
            )
            .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e @ CommandError::Usage(_)) => {
            eprintln!("tokens-admin: {e}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("tokens-admin: {e}");
            ExitCode::FAILURE
        }
    }
}
