//! The one task waiter: polls a UPID's status on the node in the UPID with an adaptive interval,
//! follows the log for progress, and gives PVE's verdict (`OK` and `WARNINGS: N` succeed).

use std::time::{Duration, Instant};

use crate::api::types::{exitstatus_ok, LogLine, TaskStatus};
use crate::api::{ApiError, Client, Params, Upid};
use crate::commands::tasks::task_path;
use crate::output::progress::TaskBar;

/// First poll after ~150 ms; then a quarter of the time waited so far, capped at 2 s. A task that
/// ends at once costs one poll; a 2 s task is seen to end within ~0.5 s; a long one costs a poll per 2 s.
pub fn poll_interval(elapsed: Duration) -> Duration {
    const FIRST: Duration = Duration::from_millis(150);
    const CAP: Duration = Duration::from_secs(2);
    (elapsed / 4).clamp(FIRST, CAP)
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

/// Why waiting stopped without a verdict.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Unfinished {
    #[error("gave up waiting after {}s: task {upid} is still running (follow it with `pvectl tasks wait {upid}`)", .waited.as_secs())]
    TimedOut { upid: Upid, waited: Duration },
}

pub struct Waiter<'a> {
    pub client: &'a Client,
    /// `None` waits for ever.
    pub timeout: Option<Duration>,
}

const TAIL_LINES: u32 = 20;

impl Waiter<'_> {
    /// Wait for the task; transient poll failures are retried until the deadline.
    pub async fn wait(&self, upid: &Upid, bar: &TaskBar) -> anyhow::Result<Outcome> {
        let started = Instant::now();
        let deadline = self.timeout.map(|t| started + t);
        let status_path = format!("{}/status", task_path(upid));
        let mut log_start = 0u32;
        let mut failing = false;
        loop {
            let pause = poll_interval(started.elapsed());
            let pause = match deadline {
                Some(d) => pause.min(d.saturating_duration_since(Instant::now())),
                None => pause,
            };
            tokio::time::sleep(pause).await;
            let status: Result<TaskStatus, ApiError> =
                self.client.get(&status_path, &Params::new()).await;
            if status.is_ok() {
                failing = false;
            }
            match status {
                Ok(st) if !st.running() => {
                    let exitstatus = st
                        .exitstatus
                        .clone()
                        .unwrap_or_else(|| "unexpected status".into());
                    return self.verdict(upid, exitstatus, started.elapsed()).await;
                }
                Ok(_) => {
                    if bar.wants_log() {
                        if let Ok(lines) = log_page(self.client, upid, log_start, 500).await {
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
                            if deadline.is_some() {
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
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(Unfinished::TimedOut {
                    upid: upid.clone(),
                    waited: started.elapsed(),
                }
                .into());
            }
        }
    }

    async fn verdict(
        &self,
        upid: &Upid,
        exitstatus: String,
        duration: Duration,
    ) -> anyhow::Result<Outcome> {
        let ok = exitstatus_ok(&exitstatus);
        let mut outcome = Outcome {
            upid: upid.clone(),
            exitstatus,
            ok,
            warnings: vec![],
            log_tail: vec![],
            duration,
        };
        if ok && outcome.exitstatus == "OK" {
            return Ok(outcome);
        }
        // Warnings or a failure: the log says what happened. Errors reading it do not change the verdict.
        let lines = if ok {
            full_log(self.client, upid).await.unwrap_or_default()
        } else {
            log_tail(self.client, upid, TAIL_LINES)
                .await
                .unwrap_or_default()
        };
        if ok {
            outcome.warnings = lines
                .into_iter()
                .filter(|l| l.t.starts_with("WARN"))
                .map(|l| l.t)
                .collect();
        } else {
            outcome.log_tail = lines.into_iter().map(|l| l.t).collect();
        }
        Ok(outcome)
    }
}

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

/// One page of the log after line `start`; the "no content" placeholder of an empty log is dropped.
pub async fn log_page(
    client: &Client,
    upid: &Upid,
    start: u32,
    limit: u32,
) -> Result<Vec<LogLine>, ApiError> {
    let (lines, _) = log_page_total(client, upid, start, limit).await?;
    Ok(lines)
}

/// One page of the log and PVE's `total` (lines in the file), when the server sent it.
async fn log_page_total(
    client: &Client,
    upid: &Upid,
    start: u32,
    limit: u32,
) -> Result<(Vec<LogLine>, Option<u32>), ApiError> {
    let env = client
        .call(
            reqwest::Method::GET,
            &format!("{}/log", task_path(upid)),
            &Params::new().set("start", start).set("limit", limit),
        )
        .await?;
    let lines: Vec<LogLine> = serde_json::from_value(env.data).map_err(|e| ApiError::Decode {
        context: "task log".into(),
        detail: e.to_string(),
    })?;
    let placeholder = start == 0 && lines.len() == 1 && lines[0].t == "no content";
    let total = env.total.map(|t| u32::try_from(t).unwrap_or(u32::MAX));
    Ok((if placeholder { vec![] } else { lines }, total))
}

/// The whole log, page by page (a short page ends it, whether or not `total` was sent).
pub async fn full_log(client: &Client, upid: &Upid) -> Result<Vec<LogLine>, ApiError> {
    const PAGE: u32 = 1000;
    let mut out: Vec<LogLine> = vec![];
    let mut start = 0;
    loop {
        let (lines, total) = log_page_total(client, upid, start, PAGE).await?;
        let got = lines.len() as u32;
        if let Some(last) = lines.last() {
            start = last.n;
        }
        out.extend(lines);
        if got < PAGE || total.is_some_and(|t| start >= t) {
            return Ok(out);
        }
    }
}

/// The last `n` lines: one request to learn the length, one for the tail. Without PVE's `total`
/// the length is unknown, so a full first page means reading the whole log.
pub async fn log_tail(client: &Client, upid: &Upid, n: u32) -> Result<Vec<LogLine>, ApiError> {
    let (first, total) = log_page_total(client, upid, 0, n).await?;
    if (first.len() as u32) < n {
        return Ok(first);
    }
    match total {
        Some(t) if t <= n => Ok(first),
        Some(t) => log_page(client, upid, t - n, n).await,
        None => {
            let mut all = full_log(client, upid).await?;
            let skip = all.len().saturating_sub(n as usize);
            Ok(all.split_off(skip))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_is_quick_first_and_capped() {
        assert_eq!(poll_interval(Duration::ZERO), Duration::from_millis(150));
        assert_eq!(
            poll_interval(Duration::from_secs(2)),
            Duration::from_millis(500)
        );
        assert_eq!(
            poll_interval(Duration::from_secs(600)),
            Duration::from_secs(2)
        );
        // A task of 2 s is seen within 0.5 s of its end.
        let mut t = Duration::ZERO;
        while t < Duration::from_secs(2) {
            t += poll_interval(t);
        }
        assert!(
            t - Duration::from_secs(2) <= Duration::from_millis(500),
            "{t:?}"
        );
        // A 10-minute task costs no more than a poll per ~2 s after the start.
        let mut polls = 0;
        let mut t = Duration::ZERO;
        while t < Duration::from_secs(600) {
            t += poll_interval(t);
            polls += 1;
        }
        assert!(polls <= 600 / 2 + 20, "{polls}");
    }
}
