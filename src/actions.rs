//! Results of state-changing commands: one per target, reported the same way by every verb (a line
//! per target on stderr, a summary for several, JSON objects with `-o json`, the exit code of the
//! first failure in target order).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::api::{ApiError, Client, GuestKind, Upid};
use crate::cli::OutputFormat;
use crate::error::{
    api_exit_code, CliError, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_TASK_FAILED, EXIT_WAIT_TIMEOUT,
};
use crate::guests::Guest;
use crate::output::progress::Progress;
use crate::output::{col, Kind, Output};
use crate::wait::{Outcome, Unfinished, Waiter};

/// The result of one action on one target; `-o json` prints these with PVE's names.
#[derive(Debug, Clone, Serialize)]
pub struct ActionResult {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vmid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub node: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<GuestKind>,
    pub action: String,
    pub upid: Option<String>,
    pub exitstatus: Option<String>,
    pub ok: bool,
    pub warnings: Vec<String>,
    pub duration_s: f64,
    /// What happened, in words: "OK", "already running", PVE's error.
    pub message: String,
    /// The backup archive made, restored or deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volid: Option<String>,
    /// Its size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The VMID of the guest a clone made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newid: Option<u32>,
    #[serde(skip)]
    pub code: u8,
    #[serde(skip)]
    pub log_tail: Vec<String>,
    /// What helps with the error (the privilege to grant for a 403…).
    #[serde(skip)]
    pub hint: Option<String>,
    #[serde(skip)]
    pub label: String,
}

impl ActionResult {
    /// A result for one guest.
    pub fn for_guest(g: &Guest, action: &str) -> Self {
        let mut r = ActionResult::new(g.label(), g.node.clone(), action);
        r.vmid = Some(g.vmid);
        r.name = g.name.clone();
        r.kind = Some(g.kind);
        r
    }

    pub fn new(label: String, node: String, action: &str) -> Self {
        ActionResult {
            vmid: None,
            name: None,
            node,
            kind: None,
            action: action.to_string(),
            upid: None,
            exitstatus: None,
            ok: false,
            warnings: vec![],
            duration_s: 0.0,
            message: String::new(),
            volid: None,
            size: None,
            newid: None,
            code: 0,
            log_tail: vec![],
            hint: None,
            label,
        }
    }

    /// Success without a task (nothing to do).
    pub fn done(mut self, message: &str) -> Self {
        self.ok = true;
        self.message = message.to_string();
        self
    }

    /// Started, not waited for.
    pub fn started(mut self, upid: &Upid) -> Self {
        self.ok = true;
        self.upid = Some(upid.to_string());
        self.message = "started".into();
        self
    }

    pub fn from_outcome(mut self, o: Outcome) -> Self {
        self.upid = Some(o.upid.to_string());
        self.ok = o.ok;
        self.duration_s = round2(o.duration);
        // PVE's exit status says it all: `OK`, `WARNINGS: 2`, or the error.
        self.message = o.exitstatus.clone();
        self.exitstatus = Some(o.exitstatus);
        self.warnings = o.warnings;
        self.log_tail = o.log_tail;
        self.code = if o.ok { 0 } else { EXIT_TASK_FAILED };
        self
    }

    /// A failure before or while waiting.
    pub fn failed(mut self, err: &anyhow::Error) -> Self {
        self.ok = false;
        self.code = EXIT_ERROR;
        self.message = err.to_string();
        self.hint = crate::error::hint(err);
        for cause in err.chain() {
            if let Some(a) = cause.downcast_ref::<ApiError>() {
                self.code = api_exit_code(a);
                break;
            }
            if let Some(c) = cause.downcast_ref::<CliError>() {
                self.code = c.code;
                break;
            }
            if let Some(Unfinished::TimedOut { upid, .. }) = cause.downcast_ref::<Unfinished>() {
                self.code = EXIT_WAIT_TIMEOUT;
                self.upid = Some(upid.to_string());
                break;
            }
        }
        self
    }
}

fn round2(d: Duration) -> f64 {
    (d.as_secs_f64() * 100.0).round() / 100.0
}

/// UPIDs of tasks being waited for, so Ctrl-C can say which keep running.
#[derive(Clone, Default)]
pub struct InFlight(Arc<Mutex<Vec<(String, String)>>>);

impl InFlight {
    pub fn add(&self, label: &str, upid: &Upid) {
        if let Ok(mut v) = self.0.lock() {
            v.push((label.to_string(), upid.to_string()));
        }
    }
    pub fn remove(&self, upid: &Upid) {
        if let Ok(mut v) = self.0.lock() {
            v.retain(|(_, u)| u != upid.as_str());
        }
    }
    fn take(&self) -> Vec<(String, String)> {
        self.0
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
}

/// Run `work` and stop waiting on Ctrl-C: the tasks keep running on the server (exit 130).
pub async fn interruptible<T>(
    inflight: &InFlight,
    work: impl std::future::Future<Output = T>,
) -> anyhow::Result<T> {
    tokio::select! {
        r = work => Ok(r),
        _ = tokio::signal::ctrl_c() => {
            let running = inflight.take();
            for (label, upid) in &running {
                eprintln!("interrupted: {label}: task {upid} keeps running on the server; follow it with `pvectl tasks wait {upid}`");
            }
            if running.is_empty() {
                eprintln!("interrupted");
            }
            Err(CliError::new(EXIT_INTERRUPTED, "").into())
        }
    }
}

/// Report every result and turn them into the command's outcome.
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
            // The message is the most specific reason known (a backup's own error rather than
            // the job's exit status); the log tail below says the rest.
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
            if r.code == EXIT_WAIT_TIMEOUT
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
    }
    // With `-o json` the array on stdout is the summary.
    if results.len() > 1 && !out.quiet && out.format != OutputFormat::Json {
        summary(results);
    }
    match out.format {
        OutputFormat::Json => {
            let mut stdout = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut stdout, results)?;
            use std::io::Write;
            writeln!(stdout)?;
        }
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
        // Already reported above: exit with the code, print nothing more.
        Some(first) => Err(CliError::new(first.code, "").into()),
    }
}

fn summary(results: &[ActionResult]) {
    let cols = [
        col("target", "TARGET", Kind::Text),
        col("node", "NODE", Kind::Text),
        col("result", "RESULT", Kind::Text),
        col("duration", "TIME", Kind::Text),
    ];
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::NOTHING);
    table.set_header(cols.iter().map(|c| c.header.as_ref()));
    for r in results {
        table.add_row(vec![
            r.label.clone(),
            r.node.clone(),
            if r.ok {
                r.message.clone()
            } else {
                format!("FAILED: {}", r.message)
            },
            format!("{:.1}s", r.duration_s),
        ]);
    }
    for col in table.column_iter_mut() {
        col.set_padding((0, 2));
    }
    let text = table.to_string();
    for line in text.lines() {
        eprintln!("{}", line.trim_end());
    }
}

/// The waiting side of a state-changing command, shared by all its targets: one progress
/// display, one list of the tasks in flight (for Ctrl-C) and one waiter.
pub struct Session<'a> {
    out: &'a Output,
    pub progress: Progress,
    pub inflight: InFlight,
    pub waiter: Waiter<'a>,
}

impl<'a> Session<'a> {
    pub fn new(out: &'a Output, client: &'a Client, timeout: Option<Duration>) -> Self {
        Session {
            out,
            progress: Progress::new(out),
            inflight: InFlight::default(),
            waiter: Waiter { client, timeout },
        }
    }

    /// Wait for one started task and turn its outcome into the result (the volume, size and new
    /// VMID the verb recorded are kept).
    pub async fn wait(&self, result: ActionResult, upid: &Upid) -> ActionResult {
        let bar = self.progress.bar(&result.label, &result.action);
        bar.started(upid.as_str());
        self.inflight.add(&result.label, upid);
        let outcome = self.waiter.wait(upid, &bar).await;
        self.inflight.remove(upid);
        bar.finish();
        let (volid, size, newid) = (result.volid.clone(), result.size, result.newid);
        let mut r = match outcome {
            Ok(o) => result.from_outcome(o),
            Err(e) => {
                let mut r = result.failed(&e);
                r.upid.get_or_insert_with(|| upid.to_string());
                r
            }
        };
        r.volid = volid;
        r.size = size;
        r.newid = newid;
        r
    }

    /// What a request that may start a task answered, settled: an error fails the result; a UPID
    /// is waited for (with `no_wait` reported as started); anything else (PVE's `null` of a
    /// synchronous call) is done, with `done` as the message.
    pub async fn settle(
        &self,
        answer: Result<serde_json::Value, ApiError>,
        result: ActionResult,
        done: &str,
        no_wait: bool,
    ) -> ActionResult {
        let answer = match answer {
            Ok(v) => v,
            Err(e) => return result.failed(&e.into()),
        };
        match answer.as_str().and_then(|s| s.parse::<Upid>().ok()) {
            None => result.done(done),
            Some(upid) if no_wait => result.started(&upid),
            Some(upid) => self.wait(result, &upid).await,
        }
    }

    /// Run `work`, stopping on Ctrl-C (exit 130; the tasks keep running on the server).
    pub async fn run<T>(&self, work: impl std::future::Future<Output = T>) -> anyhow::Result<T> {
        interruptible(&self.inflight, work).await
    }

    /// Report the results and turn them into the command's outcome.
    pub fn report(&self, results: &[ActionResult], no_wait: bool) -> anyhow::Result<()> {
        report(self.out, &self.progress, results, no_wait)
    }

    /// `run` then `report`.
    pub async fn finish(
        &self,
        work: impl std::future::Future<Output = Vec<ActionResult>>,
        no_wait: bool,
    ) -> anyhow::Result<()> {
        let results = self.run(work).await?;
        self.report(&results, no_wait)
    }
}

/// Finish a single-target verb whose request answered `answer` (see `Session::settle`), then
/// report.
pub async fn finish_one(
    out: &Output,
    client: &Client,
    timeout: Option<Duration>,
    result: ActionResult,
    answer: serde_json::Value,
    no_wait: bool,
) -> anyhow::Result<()> {
    finish_one_then(out, client, timeout, result, answer, no_wait, |r| r).await
}

/// `finish_one`, with the result adjusted before it is reported.
pub async fn finish_one_then(
    out: &Output,
    client: &Client,
    timeout: Option<Duration>,
    result: ActionResult,
    answer: serde_json::Value,
    no_wait: bool,
    adjust: impl FnOnce(ActionResult) -> ActionResult,
) -> anyhow::Result<()> {
    let session = Session::new(out, client, timeout);
    let result = session
        .run(session.settle(Ok(answer), result, "OK", no_wait))
        .await?;
    session.report(&[adjust(result)], no_wait)
}
