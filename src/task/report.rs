//! Reporting results: a line per target on stderr (with PVE's reason and the end of the task log
//! for a failure), a summary for several, the JSON array with `-o json`, and the exit code of the
//! first failure in target order.

use super::result::ActionResult;
use crate::error::{ErrorKind, Reported};
use crate::output::progress::Progress;
use crate::output::Output;

pub fn report(
    out: &Output,
    progress: &Progress,
    results: &[ActionResult],
    no_wait: bool,
) -> anyhow::Result<()> {
    for r in results.iter().filter(|r| !r.reported) {
        line(progress, r);
    }
    // With `-o json` the array on stdout is the summary.
    if results.len() > 1 && !out.quiet && !out.structured() {
        summary(out, results);
    }
    match out.format {
        _ if out.structured() => out.json(&results)?,
        _ if no_wait => {
            // Targets that share a task (a node's vzdump) print its UPID once.
            let mut upids: Vec<String> = vec![];
            for u in results.iter().filter_map(|r| r.upid.clone()) {
                if !upids.contains(&u) {
                    upids.push(u);
                }
            }
            out.lines(upids)?;
        }
        _ => {}
    }
    match results.iter().find(|r| !r.ok) {
        None => Ok(()),
        Some(first) => Err(Reported(first.failure.unwrap_or(ErrorKind::Other)).into()),
    }
}

/// The lines of one result on stderr: its warnings, then what happened.
pub(super) fn line(progress: &Progress, r: &ActionResult) {
    for w in r.warnings.iter().take(r.shown_warnings) {
        progress.println_always(&format!("{}: {w}", r.label));
    }
    if r.ok {
        progress.println(&success(r));
    } else {
        failure(progress, r);
    }
}

/// `web1 (100): start OK in 1.2s`, `web1 (100): already running`, `web1 (100): start requested, not
/// waited for (UPID…)`.
fn success(r: &ActionResult) -> String {
    let took = if r.duration_s > 0.0 {
        format!(" in {:.1}s", r.duration_s)
    } else {
        String::new()
    };
    if r.message.starts_with("already ") {
        return format!("{}: {}{took}", r.label, r.message);
    }
    if r.message == "started" {
        return format!(
            "{}: {} requested, not waited for ({})",
            r.label,
            r.action,
            r.upid.as_deref().unwrap_or("")
        );
    }
    format!("{}: {} {}{took}", r.label, r.action, r.message)
}

/// The lines of one failure: the most specific reason known (a backup's own error rather than the
/// job's exit status), the hint, and the end of the task log.
fn failure(progress: &Progress, r: &ActionResult) {
    let line = match r.failure {
        // The task goes on: it did not fail.
        Some(ErrorKind::WaitTimeout) if r.exitstatus.is_none() => {
            format!("{}: {} still running: {}", r.label, r.action, r.message)
        }
        Some(ErrorKind::WaitTimeout) => {
            format!("{}: {} not done yet: {}", r.label, r.action, r.message)
        }
        Some(ErrorKind::Interrupted) => format!("{}: {} {}", r.label, r.action, r.message),
        _ => {
            // PVE's own message may already say it ("start failed: QEMU exited…").
            let failed = format!("{} failed", r.action);
            if r.message.starts_with(&failed) {
                format!("{}: {}", r.label, r.message)
            } else {
                format!("{}: {failed}: {}", r.label, r.message)
            }
        }
    };
    progress.println_always(&line);
    if let Some(h) = &r.hint {
        progress.println_always(&format!("    hint: {h}"));
    }
    if !r.log_tail.is_empty() {
        progress.println_always(&format!(
            "--- last lines of the task log ({}):",
            r.upid.as_deref().unwrap_or("")
        ));
        for l in &r.log_tail {
            progress.println_always(&format!("    {l}"));
        }
    }
}

fn summary(out: &Output, results: &[ActionResult]) {
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            vec![
                r.label.clone(),
                r.node.clone(),
                if r.ok {
                    r.message.clone()
                } else {
                    format!("FAILED: {}", r.message)
                },
                format!("{:.1}s", r.duration_s),
            ]
        })
        .collect();
    out.stderr_table(&["TARGET", "NODE", "RESULT", "TIME"], rows);
}
