use std::process::ExitCode;

use clap::Parser;

use pvectl::cli::Cli;
use pvectl::error::{exit_code, hint, EXIT_USAGE};
use pvectl::output::Term;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let env = pvectl::config::process_env();
    let term = Term::detect();
    match runtime.block_on(pvectl::commands::run(cli, env, term)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // A closed stdout (`| head`) is not an error worth a message.
            if err.chain().any(is_broken_pipe) {
                return ExitCode::SUCCESS;
            }
            let code = exit_code(&err);
            if err.to_string().is_empty() {
                // Already reported (per-target results, an interrupted wait).
                return ExitCode::from(code);
            }
            let chain: Vec<String> = err.chain().map(|c| c.to_string()).collect();
            let mut msg = chain[0].clone();
            for c in &chain[1..] {
                if !msg.contains(c.as_str()) {
                    msg = format!("{msg}: {c}");
                }
            }
            eprintln!("error: {msg}");
            if let Some(h) = hint(&err) {
                eprintln!("hint: {h}");
            }
            ExitCode::from(code)
        }
    }
}

fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    let pipe = std::io::ErrorKind::BrokenPipe;
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == pipe)
        || e.downcast_ref::<serde_json::Error>()
            .and_then(|e| e.io_error_kind())
            == Some(pipe)
}
