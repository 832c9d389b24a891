//! Reporting results: a line per target on stderr (with PVE's reason and the end of the task log
//! for a failure), a summary for several, the JSON array with `-o json`, and the exit code of the
//! first failure in target order.

use super::result::ActionResult;
use crate::cli::OutputFormat;
use crate::error::{ErrorKind, Reported};
use crate::output::progress::Progress;
use crate::output::Output;

pub fn report(
    out: &Output,
    progress: &Progress,
    results: &[ActionResult],
    no_wait: bool,
) -> anyhow::Result<()> {
    for r in results {
        for w in &r.warnings {
            progress.println_always(&format!("{}: {w}", r.label));
        }
        if r.ok {
            let took = if r.duration_s > 0.0 {
                format!(" in {:.1}s", r.duration_s)
            } else {
                String::new()
            };
            progress.println(&format!("{}: {} {}{took}", r.label, r.action, r.message));
        } else {
            failure(progress, r);
        }
    }
    // With `-o json` the array on stdout is the summary.
    if results.len() > 1 && !out.quiet && out.format != OutputFormat::Json {
        summary(out, results);
    }
    match out.format {
        OutputFormat::Json => out.json(&results)?,
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

/// The lines of one failure: the most specific reason known (a backup's own error rather than the
/// job's exit status), the hint, and the end of the task log.
fn failure(progress: &Progress, r: &ActionResult) {
    // PVE's own message may already say it ("start failed: QEMU exited…").
    let failed = format!("{} failed", r.action);
    let line = if r.message.starts_with(&failed) {
        format!("{}: {}", r.label, r.message)
    } else {
        format!("{}: {failed}: {}", r.label, r.message)
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
    // Only a task that has not ended can be followed (an HA request ends at once).
    if r.failure == Some(ErrorKind::WaitTimeout)
        && r.exitstatus.is_none()
        && !r.message.contains("pvectl tasks wait")
    {
        if let Some(u) = &r.upid {
            progress.println_always(&format!(
                "    the task keeps running; follow it with `pvectl tasks wait {u}`"
            ));
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
