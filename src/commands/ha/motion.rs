//! Moving a guest through HA: PVE queues the request for the CRM, which acts some seconds later,
//! so the move is done only when `status/current` shows the resource on the node and settled.
//! Many guests waiting at once share one read of the status.

use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::api::ha::{self, Motion, MotionAnswer, StatusEntry};
use crate::api::{ApiError, Client};
use crate::error::{CliError, ErrorKind};
use crate::task::{poll_until, transient};

/// The HA status as last read, shared by everyone waiting for HA: a read that ended after a
/// question was asked answers it too (one read serves every guest waiting at the time).
pub struct HaWatch<'a> {
    client: &'a Client,
    last: Mutex<Option<(Instant, Vec<StatusEntry>)>>,
}

impl<'a> HaWatch<'a> {
    pub fn new(client: &'a Client) -> Self {
        HaWatch {
            client,
            last: Mutex::new(None),
        }
    }

    /// The entry of one resource (`None`: HA does not list it), as read after `asked`.
    async fn service(&self, sid: &str, asked: Instant) -> Result<Option<StatusEntry>, ApiError> {
        let mut last = self.last.lock().await;
        let stale = last.as_ref().is_none_or(|(at, _)| *at < asked);
        if stale {
            let entries = ha::status_polling(self.client).await?;
            *last = Some((Instant::now(), entries));
        }
        Ok(last.as_ref().and_then(|(_, entries)| {
            entries
                .iter()
                .find(|e| e.kind == "service" && e.sid.as_deref() == Some(sid))
                .cloned()
        }))
    }
}

/// Ask HA to move `sid` to `node`. A resource that other resources keep where it is
/// (`blocking-resources`) is refused, as HA will not move it.
pub async fn request(
    client: &Client,
    sid: &str,
    motion: Motion,
    node: &str,
) -> anyhow::Result<MotionAnswer> {
    let answer = ha::request_move(client, sid, motion, node).await?;
    if !answer.blocking.is_empty() {
        let blockers: Vec<String> = answer
            .blocking
            .iter()
            .map(|b| match &b.cause {
                Some(c) => format!("{} ({c})", b.sid),
                None => b.sid.clone(),
            })
            .collect();
        return Err(CliError::refused(format!(
            "HA will not move {sid} to {node}: {} keeps it away (an HA rule)",
            blockers.join(", ")
        ))
        .into());
    }
    Ok(answer)
}

/// Wait until HA shows `sid` on `node` and no longer moving, for `limit` (`None`: for ever) less
/// the `spent` already. An error state is a failure (8); time running out is 9.
pub async fn wait_there(
    watch: &HaWatch<'_>,
    sid: &str,
    node: &str,
    limit: Option<Duration>,
    spent: Duration,
) -> Result<(), CliError> {
    let started = Instant::now();
    let seen: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
    let outcome = poll_until(limit, spent, || async {
        match watch.service(sid, Instant::now()).await {
            Ok(Some(e)) => {
                let state = e.state.clone().unwrap_or_default();
                let at = e.node.clone().unwrap_or_default();
                if let Ok(mut s) = seen.lock() {
                    *s = Some(format!("{state} on {at}"));
                }
                if state == "error" {
                    return Some(Err(CliError::new(
                        ErrorKind::TaskFailed,
                        format!("HA reports {sid} in error state on {at}: see `pvectl ha status` and the node's task log"),
                    )));
                }
                (at == node && !ha::in_motion(&state)).then_some(Ok(()))
            }
            Ok(None) => Some(Err(CliError::not_found(format!(
                "{sid} is no longer under HA"
            )))),
            Err(e) if transient(&e) => None,
            Err(e) => Some(Err(CliError::new(crate::error::api_kind(&e), e.to_string()))),
        }
    })
    .await;
    match outcome {
        Some(r) => r,
        None => {
            let now = seen
                .lock()
                .ok()
                .and_then(|s| s.clone())
                .map(|s| format!(" (HA shows it {s})"))
                .unwrap_or_default();
            Err(CliError::new(
                ErrorKind::WaitTimeout,
                format!(
                    "HA has not moved it to {node} after {}s{now}; the request stands: follow it with `pvectl ha status`",
                    (spent + started.elapsed()).as_secs()
                ),
            ))
        }
    }
}
