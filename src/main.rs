use std::process::ExitCode;

use pvectl::output::Term;

fn main() -> ExitCode {
    pvectl::output::on_panic();
    // A shell asking for completions (`COMPLETE=bash pvectl -- …`) is answered here.
    pvectl::complete::serve_if_asked();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match pvectl::cli::parse(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let usage = e.use_stderr();
            let _ = e.print();
            if usage {
                let tip = pvectl::cli::other_kind_tip(&args, &e)
                    .or_else(|| pvectl::cli::watch_tip(&args, &e));
                if let Some(tip) = tip {
                    eprintln!("{tip}");
                }
            }
            let code = if usage {
                pvectl::error::ErrorKind::Usage.exit_code()
            } else {
                0
            };
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
            return ExitCode::from(pvectl::error::ErrorKind::Other.exit_code());
        }
    };
    let env = pvectl::config::process_env();
    let term = Term::detect();
    match runtime.block_on(pvectl::commands::run(cli, env, term)) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed stdout (`| head`) is not an error worth a message.
        Err(err) if err.chain().any(is_broken_pipe) => ExitCode::SUCCESS,
        Err(err) => ExitCode::from(pvectl::error::report(&err)),
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
