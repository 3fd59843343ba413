//! `tokens`: see the library's documentation, or run `tokens --help`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let code = tokens_cli::run(
        std::env::args_os(),
        &|name| std::env::var(name).ok(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    ExitCode::from(code)
}
