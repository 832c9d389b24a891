//! Questions to the user on the terminal: y/N confirmations, a line of text, a secret. The only
//! place that reads stdin interactively.

use std::io::{BufRead, Write};

use super::Term;
use crate::error::CliError;

/// Ask before a destructive or wide action: on a terminal a y/N question (after the items it
/// concerns); without one, `--yes` is required and nothing happens without it (exit 2).
pub fn confirm(term: Term, question: &str, items: &[String], yes: bool) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    if !(term.stdin_tty && term.stderr_tty) {
        // After `error: ` the question reads on in lower case.
        let mut what = question.trim_end_matches('?').to_string();
        if let Some(first) = what.get(..1) {
            what = first.to_lowercase() + &what[1..];
        }
        return Err(CliError::usage(format!(
            "{what}: needs confirmation, add --yes (there is no terminal to ask on); nothing was done"
        ))
        .into());
    }
    for item in items {
        eprintln!("  {item}");
    }
    eprint!("{}? [y/N] ", question.trim_end_matches('?'));
    std::io::stderr().flush()?;
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line)? == 0 {
        // Ctrl-D echoes no newline: end the question's line before the error.
        eprintln!();
    }
    if matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(CliError::usage("cancelled: nothing was done").into())
    }
}

/// A line of text (trimmed) after `question` on stderr.
pub fn ask_line(question: &str) -> anyhow::Result<String> {
    eprint!("{question}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_string())
}

/// A y/N question; true only for y or yes.
pub fn ask_yes(question: &str) -> anyhow::Result<bool> {
    let a = ask_line(question)?;
    Ok(matches!(a.to_ascii_lowercase().as_str(), "y" | "yes"))
}

/// A secret typed without echo (a password, a token secret, a one-time code).
pub fn ask_secret(question: &str) -> std::io::Result<String> {
    rpassword::prompt_password(question)
}
