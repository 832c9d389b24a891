//! The one task waiter: polls a UPID's status on the node in the UPID with an adaptive interval,
//! follows the log for progress, and gives PVE's verdict (`OK` and `WARNINGS: N` succeed).
//! `poll_until` is the same schedule for anything else that has to be polled.

use std::future::Future;
use std::time::{Duration, Instant};

use super::watch::{NodeLists, Seen};
use crate::api::tasks::{self, exitstatus_ok, TaskStatus, UNEXPECTED_STATUS};
use crate::api::{ApiError, Client, Upid};
use crate::error::{CliError, ErrorKind};
use crate::output::progress::TaskBar;

/// The first poll comes as soon as the request that started the task has answered; after that
/// the pause is a fifth of the time waited so far, at least 100 ms and at most 2 s. A task that
/// ends at once costs one poll; a 2 s task is seen to end within 0.4 s; a long one costs a poll
/// per 2 s.
pub fn poll_interval(elapsed: Duration) -> Duration {
    const MIN: Duration = Duration::from_millis(100);
    const CAP: Duration = Duration::from_secs(2);
    (elapsed / 5).clamp(MIN, CAP)
}

/// The pace of one wait: when it started, when it must end, and the pause before the next poll.
#[derive(Clone, Copy, Debug)]
pub struct Pacer {
    started: Instant,
    deadline: Option<Instant>,
}

impl Pacer {
    /// A wait of at most `limit` (`None` = for ever), `spent` of which has already passed.
    pub fn new(limit: Option<Duration>, spent: Duration) -> Self {
        let now = Instant::now();
        let started = now.checked_sub(spent).unwrap_or(now);
        Pacer {
            started,
            deadline: limit.and_then(|l| started.checked_add(l)),
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn expired(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    pub fn bounded(&self) -> bool {
        self.deadline.is_some()
    }

    /// Run a request within the time left: `None` when the deadline comes first (the request is
    /// dropped then, whatever the server does), so no single hung request outlasts the wait.
    pub async fn within<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        match self.deadline {
            Some(d) => tokio::time::timeout_at(tokio::time::Instant::from_std(d), work)
                .await
                .ok(),
            None => Some(work.await),
        }
    }

    /// Sleep until the next poll is due (never past the deadline).
    pub async fn pause(&self) {
        let pause = poll_interval(self.elapsed());
        let pause = match self.deadline {
            Some(d) => pause.min(d.saturating_duration_since(Instant::now())),
            None => pause,
        };
        tokio::time::sleep(pause).await;
    }
}

/// Call `probe` until it answers `Some`, pausing on the waiter's schedule; `None` when `limit`
/// (minus what was `spent` before) runs out first.
pub async fn poll_until<T, F, Fut>(
    limit: Option<Duration>,
    spent: Duration,
    mut probe: F,
) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let pacer = Pacer::new(limit, spent);
    loop {
        if let Some(done) = pacer.within(probe()).await? {
            return Some(done);
        }
        if pacer.expired() {
            return None;
        }
        pacer.pause().await;
    }
}

/// How a task ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub upid: Upid,
    pub exitstatus: String,
    pub ok: bool,
    /// The `WARN:` lines of the log (only fetched when the exit status says there are warnings).
    pub warnings: Vec<String>,
    /// The last lines of the log of a failed task.
    pub log_tail: Vec<String>,
    pub duration: Duration,
}

pub struct Waiter<'a> {
    pub client: &'a Client,
    /// `None` waits for ever.
    pub timeout: Option<Duration>,
    /// With several tasks: learn their ends from their nodes' task lists.
    lists: Option<NodeLists>,
}

const TAIL_LINES: u32 = 20;

/// Failures worth polling again: the connection, a proxy that lost the node, a busy server.
pub fn transient(e: &ApiError) -> bool {
    e.is_transient()
        || matches!(
            e,
            ApiError::Refused {
                status: 500..=599,
                ..
            } | ApiError::Unreachable { .. }
        )
}

/// The error of a wait that ran out: the task goes on (exit 9).
pub fn gave_up(upid: &Upid, waited: Duration) -> CliError {
    CliError::new(
        ErrorKind::WaitTimeout,
        format!(
            "gave up waiting after {}s; follow it with `pvectl tasks wait {upid}`",
            waited.as_secs()
        ),
    )
}

impl<'a> Waiter<'a> {
    /// A waiter that asks each task for its status.
    pub fn new(client: &'a Client, timeout: Option<Duration>) -> Self {
        Waiter {
            client,
            timeout,
            lists: None,
        }
    }

    /// A waiter for many tasks at once: each node's task list tells the end of all of them.
    pub fn for_many(client: &'a Client, timeout: Option<Duration>) -> Self {
        Waiter {
            client,
            timeout,
            lists: Some(NodeLists::new()),
        }
    }

    /// The task's state: from its node's list when watching many (a task the list does not show
    /// is asked itself), else from the task.
    async fn state(&self, upid: &Upid, fresh_after: Instant) -> Result<TaskStatus, ApiError> {
        if let Some(lists) = &self.lists {
            match lists.look(self.client, upid, fresh_after).await? {
                Seen::Ended(exitstatus) => return Ok(TaskStatus::stopped(upid, exitstatus)),
                Seen::Running => return Ok(TaskStatus::running_now(upid)),
                Seen::Unlisted => {}
            }
        }
        tasks::status(self.client, upid).await
    }

    /// Wait for the task; transient poll failures are retried until the deadline.
    pub async fn wait(&self, upid: &Upid, bar: &TaskBar) -> anyhow::Result<Outcome> {
        let pacer = Pacer::new(self.timeout, Duration::ZERO);
        let mut log_start = 0u32;
        let mut failing = false;
        loop {
            let asked = Instant::now();
            let Some(status) = pacer.within(self.state(upid, asked)).await else {
                return Err(gave_up(upid, pacer.elapsed()).into());
            };
            if status.is_ok() {
                failing = false;
            }
            match status {
                Ok(st) if !st.running() => {
                    let exitstatus = st
                        .exitstatus
                        .clone()
                        .unwrap_or_else(|| UNEXPECTED_STATUS.into());
                    return Ok(self.verdict(upid, exitstatus, &pacer).await);
                }
                Ok(_) => {
                    // The newest log line for a spinner (not in a bulk run: that is a request per
                    // task and poll).
                    if bar.wants_log() && self.lists.is_none() {
                        let page = tasks::log_page(self.client, upid, log_start, 500);
                        if let Some(Ok(lines)) = pacer.within(page).await {
                            if let Some(last) = lines.last() {
                                log_start = last.n;
                            }
                            for l in &lines {
                                bar.log_line(&l.t);
                            }
                        }
                    }
                }
                Err(e) if transient(&e) => {
                    // Said once per run of failures, so a long outage is visible in a cron mail too.
                    if !failing {
                        bar.note(&format!(
                            "cannot read the task's status ({e}); retrying until it answers{}",
                            if pacer.bounded() {
                                " or the wait times out"
                            } else {
                                ""
                            }
                        ));
                    }
                    failing = true;
                }
                Err(e) => return Err(e.into()),
            }
            if pacer.expired() {
                return Err(gave_up(upid, pacer.elapsed()).into());
            }
            pacer.pause().await;
        }
    }

    /// PVE's verdict, with the `WARN:` lines or the end of the log of a failure (read within the
    /// time left: errors reading them do not change the verdict).
    async fn verdict(&self, upid: &Upid, exitstatus: String, pacer: &Pacer) -> Outcome {
        let ok = exitstatus_ok(&exitstatus);
        let mut outcome = Outcome {
            upid: upid.clone(),
            exitstatus,
            ok,
            warnings: vec![],
            log_tail: vec![],
            duration: pacer.elapsed(),
        };
        if ok && outcome.exitstatus == "OK" {
            return outcome;
        }
        let lines = if ok {
            pacer.within(tasks::full_log(self.client, upid)).await
        } else {
            pacer
                .within(tasks::log_tail(self.client, upid, TAIL_LINES))
                .await
        };
        let lines = lines.and_then(Result::ok).unwrap_or_default();
        if ok {
            outcome.warnings = lines
                .into_iter()
                .filter(|l| l.t.starts_with("WARN"))
                .map(|l| l.t)
                .collect();
        } else {
            outcome.log_tail = lines.into_iter().map(|l| l.t).collect();
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_is_quick_first_and_capped() {
        assert_eq!(poll_interval(Duration::ZERO), Duration::from_millis(100));
        assert_eq!(
            poll_interval(Duration::from_secs(2)),
            Duration::from_millis(400)
        );
        assert_eq!(
            poll_interval(Duration::from_secs(600)),
            Duration::from_secs(2)
        );
        // A task of 2 s is seen within 0.4 s of its end (the first poll comes at once), whenever
        // in the schedule it ends.
        let mut t = Duration::ZERO;
        while t < Duration::from_secs(2) {
            let next = t + poll_interval(t);
            assert!(next.saturating_sub(Duration::from_secs(2)) <= Duration::from_millis(400));
            t = next;
        }
        // A 10-minute task costs no more than a poll per ~2 s after the start.
        let mut polls = 0;
        let mut t = Duration::ZERO;
        while t < Duration::from_secs(600) {
            t += poll_interval(t);
            polls += 1;
        }
        assert!(polls <= 600 / 2 + 20, "{polls}");
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn poll_until_stops_at_the_deadline() {
        let mut calls = 0;
        let got: Option<()> = poll_until(Some(Duration::from_secs(3)), Duration::ZERO, || {
            calls += 1;
            async { None }
        })
        .await;
        assert!(got.is_none());
        assert!(calls >= 2, "{calls}");
        let got = poll_until(None, Duration::ZERO, || async { Some(7) }).await;
        assert_eq!(got, Some(7));
    }
}
