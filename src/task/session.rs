//! The waiting side of a state-changing command, shared by all its targets: one progress display,
//! one waiter, and a ledger of the targets (planned, in flight, done), so that each target's line
//! is printed when it ends and Ctrl-C can still give one result per target.

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::result::ActionResult;
use super::waiter::{Outcome, Waiter};
use crate::api::{ApiError, Client, Upid};
use crate::error::{ErrorKind, Reported};
use crate::output::progress::{Progress, TaskBar};
use crate::output::Output;

/// What the session knows of its targets.
#[derive(Default)]
struct Ledger {
    /// The targets in the order they were given (their results' blanks).
    planned: Vec<ActionResult>,
    /// Tasks being waited for: the labels of the targets they serve, and the UPID.
    inflight: Vec<(Vec<String>, String)>,
    /// Results that have ended, by label.
    done: Vec<ActionResult>,
}

pub struct Session<'a> {
    pub out: &'a Output,
    pub progress: Progress,
    ledger: Mutex<Ledger>,
    pub waiter: Waiter<'a>,
}

impl<'a> Session<'a> {
    pub fn new(out: &'a Output, client: &'a Client, timeout: Option<Duration>) -> Self {
        Session {
            out,
            progress: Progress::new(out),
            ledger: Mutex::new(Ledger::default()),
            waiter: Waiter::new(client, timeout),
        }
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        // A panic while holding the lock cannot leave it inconsistent: take it as it is.
        self.ledger
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A session for several targets: their tasks' ends are learnt from their nodes' task lists
    /// (one request per node and poll, instead of one per task).
    pub fn for_many(out: &'a Output, client: &'a Client, timeout: Option<Duration>) -> Self {
        Session {
            waiter: Waiter::for_many(client, timeout),
            ..Session::new(out, client, timeout)
        }
    }

    /// The targets, in the order they were given: the final report and Ctrl-C follow it.
    pub fn plan(&self, blanks: impl IntoIterator<Item = ActionResult>) {
        let mut ledger = self.ledger();
        ledger.planned.extend(blanks);
        self.progress.count(ledger.planned.len());
    }

    /// A target's result has ended: print its line now and remember it.
    pub fn keep(&self, mut r: ActionResult) -> ActionResult {
        super::report::line(&self.progress, &r);
        self.progress.counted(r.ok);
        r.reported = true;
        let mut ledger = self.ledger();
        ledger
            .inflight
            .retain(|(labels, _)| !labels.contains(&r.label));
        ledger.done.push(r.clone());
        r
    }

    /// Wait for one task with its own progress line (`shape` may turn the spinner into a vzdump
    /// bar); Ctrl-C meanwhile names the targets in `covers` as still running.
    pub async fn watch(
        &self,
        label: &str,
        action: &str,
        upid: &Upid,
        covers: &[String],
        shape: impl FnOnce(TaskBar) -> TaskBar,
    ) -> anyhow::Result<Outcome> {
        let bar = shape(self.progress.bar(label, action));
        bar.started(upid.as_str());
        self.ledger()
            .inflight
            .push((covers.to_vec(), upid.to_string()));
        let outcome = self.waiter.wait(upid, &bar).await;
        bar.finish();
        outcome
    }

    /// Mark a task as in flight while `work` follows it some other way (`tasks log --follow`).
    pub async fn following<T>(&self, label: &str, upid: &Upid, work: impl Future<Output = T>) -> T {
        self.ledger()
            .inflight
            .push((vec![label.to_string()], upid.to_string()));
        work.await
    }

    /// Wait for one started task and turn its outcome into the result (the volume, size and new
    /// VMID the verb recorded are kept).
    pub async fn wait(&self, result: ActionResult, upid: &Upid) -> ActionResult {
        let started = Instant::now();
        let covers = [result.label.clone()];
        let outcome = self
            .watch(&result.label, &result.action, upid, &covers, |b| b)
            .await;
        let (volid, size, newid) = (result.volid.clone(), result.size, result.newid);
        let mut r = match outcome {
            Ok(o) => result.from_outcome(o),
            Err(e) => {
                let mut r = result.failed(&e);
                r.upid.get_or_insert_with(|| upid.to_string());
                r.duration_s = super::result::round2(started.elapsed());
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

    /// Run `work` and stop waiting on Ctrl-C: the tasks keep running on the server. Every planned
    /// target still gets its result (`interrupted` with its UPID, or `not started`; `-o json`
    /// prints them), then the command exits 130.
    pub async fn run<T>(&self, work: impl Future<Output = T>) -> anyhow::Result<T> {
        tokio::select! {
            r = work => Ok(r),
            _ = tokio::signal::ctrl_c() => Err(self.interrupted()),
        }
    }

    fn interrupted(&self) -> anyhow::Error {
        let (results, unplanned) = {
            let ledger = self.ledger();
            let results: Vec<ActionResult> = ledger
                .planned
                .iter()
                .map(|blank| {
                    if let Some(r) = ledger.done.iter().find(|d| d.label == blank.label) {
                        return r.clone();
                    }
                    match ledger
                        .inflight
                        .iter()
                        .find(|(labels, _)| labels.contains(&blank.label))
                    {
                        Some((_, upid)) => {
                            let mut r = blank.clone().fail(
                                ErrorKind::Interrupted,
                                format!(
                                    "interrupted: the task keeps running on the server; follow it with `pvectl tasks wait {upid}`"
                                ),
                            );
                            r.upid = Some(upid.clone());
                            r
                        }
                        None => blank.clone().fail(ErrorKind::Interrupted, "not started"),
                    }
                })
                .collect();
            let unplanned: Vec<String> = ledger
                .inflight
                .iter()
                .filter(|(labels, _)| {
                    !labels
                        .iter()
                        .any(|l| ledger.planned.iter().any(|p| &p.label == l))
                })
                .map(|(labels, upid)| format!("interrupted: {}: task {upid} keeps running on the server; follow it with `pvectl tasks wait {upid}`", labels.join(", ")))
                .collect();
            (results, unplanned)
        };
        for line in &unplanned {
            self.out.notice(line);
        }
        if results.is_empty() {
            if unplanned.is_empty() {
                self.out.notice("interrupted");
            }
            return Reported(ErrorKind::Interrupted).into();
        }
        let _ = self.report(&results, false);
        Reported(ErrorKind::Interrupted).into()
    }

    /// Report the results and turn them into the command's outcome: lines not printed yet, a
    /// summary for several, the JSON array with `-o json`, the exit code of the first failure in
    /// target order (the plan's, when there is one).
    pub fn report(&self, results: &[ActionResult], no_wait: bool) -> anyhow::Result<()> {
        let ordered = self.in_plan_order(results);
        super::report(self.out, &self.progress, &ordered, no_wait)
    }

    /// The results in the order the targets were given (those outside the plan last, as they came).
    fn in_plan_order(&self, results: &[ActionResult]) -> Vec<ActionResult> {
        let ledger = self.ledger();
        if ledger.planned.is_empty() {
            return results.to_vec();
        }
        let mut ordered: Vec<ActionResult> = ledger
            .planned
            .iter()
            .filter_map(|p| results.iter().find(|r| r.label == p.label).cloned())
            .collect();
        ordered.extend(
            results
                .iter()
                .filter(|r| !ledger.planned.iter().any(|p| p.label == r.label))
                .cloned(),
        );
        ordered
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
    session.plan([result.clone()]);
    let result = session
        .run(session.settle(Ok(answer), result, "OK", no_wait))
        .await?;
    session.report(&[adjust(result)], no_wait)
}
