//! The waiting side of a state-changing command, shared by all its targets: one progress display,
//! one list of the tasks in flight (for Ctrl-C) and one waiter.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::result::ActionResult;
use super::waiter::{Outcome, Waiter};
use crate::api::{ApiError, Client, Upid};
use crate::error::{ErrorKind, Reported};
use crate::output::progress::{Progress, TaskBar};
use crate::output::Output;

/// UPIDs of tasks being waited for, so Ctrl-C can say which keep running.
#[derive(Clone, Default)]
struct InFlight(Arc<Mutex<Vec<(String, String)>>>);

impl InFlight {
    fn add(&self, label: &str, upid: &Upid) {
        if let Ok(mut v) = self.0.lock() {
            v.push((label.to_string(), upid.to_string()));
        }
    }
    fn remove(&self, upid: &Upid) {
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

pub struct Session<'a> {
    pub out: &'a Output,
    pub progress: Progress,
    inflight: InFlight,
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

    /// Wait for one task with its own progress line (`shape` may turn the spinner into a vzdump
    /// bar); Ctrl-C meanwhile names it as still running.
    pub async fn watch(
        &self,
        label: &str,
        action: &str,
        upid: &Upid,
        shape: impl FnOnce(TaskBar) -> TaskBar,
    ) -> anyhow::Result<Outcome> {
        let bar = shape(self.progress.bar(label, action));
        bar.started(upid.as_str());
        self.inflight.add(label, upid);
        let outcome = self.waiter.wait(upid, &bar).await;
        self.inflight.remove(upid);
        bar.finish();
        outcome
    }

    /// Mark a task as in flight while `work` follows it some other way (`tasks log --follow`).
    pub async fn following<T>(&self, label: &str, upid: &Upid, work: impl Future<Output = T>) -> T {
        self.inflight.add(label, upid);
        let r = work.await;
        self.inflight.remove(upid);
        r
    }

    /// Wait for one started task and turn its outcome into the result (the volume, size and new
    /// VMID the verb recorded are kept).
    pub async fn wait(&self, result: ActionResult, upid: &Upid) -> ActionResult {
        let outcome = self.watch(&result.label, &result.action, upid, |b| b).await;
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
        answer: Result<Value, ApiError>,
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

    /// Run `work` and stop waiting on Ctrl-C: the tasks keep running on the server (exit 130).
    pub async fn run<T>(&self, work: impl Future<Output = T>) -> anyhow::Result<T> {
        tokio::select! {
            r = work => Ok(r),
            _ = tokio::signal::ctrl_c() => {
                let running = self.inflight.take();
                for (label, upid) in &running {
                    self.out.notice(&format!("interrupted: {label}: task {upid} keeps running on the server; follow it with `pvectl tasks wait {upid}`"));
                }
                if running.is_empty() {
                    self.out.notice("interrupted");
                }
                Err(Reported(ErrorKind::Interrupted).into())
            }
        }
    }

    /// Report the results and turn them into the command's outcome.
    pub fn report(&self, results: &[ActionResult], no_wait: bool) -> anyhow::Result<()> {
        super::report(self.out, &self.progress, results, no_wait)
    }

    /// `run` then `report`.
    pub async fn finish(
        &self,
        work: impl Future<Output = Vec<ActionResult>>,
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
    answer: Value,
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
    answer: Value,
    no_wait: bool,
    adjust: impl FnOnce(ActionResult) -> ActionResult,
) -> anyhow::Result<()> {
    let session = Session::new(out, client, timeout);
    let result = session
        .run(session.settle(Ok(answer), result, "OK", no_wait))
        .await?;
    session.report(&[adjust(result)], no_wait)
}
