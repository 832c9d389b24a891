//! Many tasks on one node, watched with one request: a bulk run asks each node for its task list
//! instead of asking every task for its status, and every task waiting on that node reads its end
//! from the same answer. A task the list does not show is asked for its status itself.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::api::tasks::{self, TaskEntry};
use crate::api::{ApiError, Client, Upid};

/// What a node's list says of one task.
pub enum Seen {
    Ended(String),
    Running,
    /// Not in the list (too old for it, or a PVE that lists differently): ask the task.
    Unlisted,
}

/// The last list read of one node.
struct Fetched {
    /// When the request for it was made (it shows every task started before).
    at: Option<Instant>,
    /// The `since` it was asked with, and the oldest task asked about so far.
    since: i64,
    oldest: i64,
    entries: Vec<TaskEntry>,
}

pub struct NodeLists {
    nodes: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Fetched>>>>,
    /// How many tasks wait for a fresh list, per node.
    waiting: Mutex<HashMap<String, usize>>,
}

/// How long a node's list may wait for busier nodes' lists to go first.
const DEFER_AT_MOST: Duration = Duration::from_secs(1);

impl NodeLists {
    pub fn new() -> Self {
        NodeLists {
            nodes: Mutex::new(HashMap::new()),
            waiting: Mutex::new(HashMap::new()),
        }
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether another node has more tasks waiting for its list: that one is asked first, so
    /// every request answers for as many tasks as it can.
    fn busier_elsewhere(&self, node: &str) -> bool {
        let waiting = self.waiting();
        let mine = waiting.get(node).copied().unwrap_or(0);
        waiting.iter().any(|(n, w)| n != node && *w > mine)
    }

    fn slot(&self, node: &str) -> Arc<tokio::sync::Mutex<Fetched>> {
        let mut nodes = self
            .nodes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        nodes
            .entry(node.to_string())
            .or_insert_with(|| {
                Arc::new(tokio::sync::Mutex::new(Fetched {
                    at: None,
                    since: i64::MAX,
                    oldest: i64::MAX,
                    entries: vec![],
                }))
            })
            .clone()
    }

    /// The task as its node's list shows it, read no earlier than `fresh_after`: a list read since
    /// then (for another task) is used again, else the node is asked (one task at a time per node,
    /// so the tasks waiting meanwhile share the next answer).
    pub async fn look(
        &self,
        client: &Client,
        upid: &Upid,
        fresh_after: Instant,
    ) -> Result<Seen, ApiError> {
        let slot = self.slot(upid.node());
        *self.waiting().entry(upid.node().to_string()).or_default() += 1;
        let mut fetched = slot.lock().await;
        fetched.oldest = fetched.oldest.min(upid.starttime);
        let stale = fetched.at.is_none_or(|at| at < fresh_after) || upid.starttime < fetched.since;
        if stale {
            let since_waiting = Instant::now();
            while self.busier_elsewhere(upid.node()) && since_waiting.elapsed() < DEFER_AT_MOST {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        if let Some(w) = self.waiting().get_mut(upid.node()) {
            *w = w.saturating_sub(1);
        }
        if stale {
            // From the oldest task waited for on this node (a second early, for rounding).
            let since = fetched.oldest - 1;
            let (entries, sent) = tasks::recent_polling(client, upid.node(), since).await?;
            fetched.entries = entries;
            fetched.at = Some(sent);
            fetched.since = since;
        }
        Ok(
            match fetched.entries.iter().find(|t| t.upid == upid.as_str()) {
                Some(t) => match t.ended() {
                    Some(status) => Seen::Ended(status.to_string()),
                    None => Seen::Running,
                },
                None => Seen::Unlisted,
            },
        )
    }
}
