//! `/nodes/{node}/tasks/…`: a task's status and log, the task lists, stopping a task, and PVE's
//! rule for which exit statuses succeed. A task is always addressed on the node in its UPID.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::de::{self, Extra};
use super::nodes;
use super::params::seg;
use super::upid::Upid;
use super::{ApiError, Client, Params};

/// A task as the task lists show it (`GET /nodes/{node}/tasks`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskEntry {
    pub upid: String,
    #[serde(default)]
    pub node: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub id: Option<String>,
    #[serde(default)]
    pub user: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub tokenid: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_i64"
    )]
    pub starttime: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_i64"
    )]
    pub endtime: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub status: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GET /nodes/{node}/tasks/{upid}/status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskStatus {
    pub upid: Upid,
    /// `running` or `stopped`.
    pub status: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub exitstatus: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl TaskStatus {
    pub fn running(&self) -> bool {
        self.status == "running"
    }

    /// A task known (from a task list) to have ended with `exitstatus`.
    pub fn stopped(upid: &Upid, exitstatus: String) -> Self {
        TaskStatus {
            upid: upid.clone(),
            status: "stopped".into(),
            exitstatus: Some(exitstatus),
            extra: Extra::new(),
        }
    }

    /// A task known (from a task list) to be running.
    pub fn running_now(upid: &Upid) -> Self {
        TaskStatus {
            upid: upid.clone(),
            status: "running".into(),
            exitstatus: None,
            extra: Extra::new(),
        }
    }
}

/// One line of `GET /nodes/{node}/tasks/{upid}/log`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogLine {
    #[serde(deserialize_with = "de::u32_req")]
    pub n: u32,
    #[serde(default)]
    pub t: String,
}

/// PVE's own success rule (`status_is_error`): `OK` or `WARNINGS: N` succeed.
pub fn exitstatus_ok(exitstatus: &str) -> bool {
    exitstatus == "OK"
        || exitstatus
            .strip_prefix("WARNINGS: ")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The exit status of a task whose log does not end with PVE's verdict (killed, node crash).
pub const UNEXPECTED_STATUS: &str = "unexpected status";

fn task_path(upid: &Upid) -> String {
    format!("{}/tasks/{}", nodes::path(upid.node()), seg(upid.as_str()))
}

/// PVE says "no such task" (400) or, for a well-formed UPID it has no record of, "unable to
/// parse worker upid": either way the node does not know the task.
fn unknown_task(upid: &Upid) -> impl FnOnce(ApiError) -> ApiError + '_ {
    move |e| {
        let text = e.to_string();
        if text.contains("no such task") || text.contains("unable to parse worker upid") {
            return ApiError::NoSuchTask {
                upid: upid.to_string(),
                node: upid.node().to_string(),
            };
        }
        nodes::unknown(upid.node())(e)
    }
}

/// `GET …/tasks/{upid}/status`.
pub async fn status(client: &Client, upid: &Upid) -> Result<TaskStatus, ApiError> {
    // Asking how a task is doing yields the request budget to actions.
    let answer = client
        .get_polling(&format!("{}/status", task_path(upid)), &Params::new())
        .await
        .map_err(unknown_task(upid));
    match answer {
        Err(ApiError::NoSuchTask { .. }) => Err(node_or_task(client, upid).await),
        other => other,
    }
}

/// A task its node does not know: unless the node is not in the cluster at all (some PVE versions
/// answer an unknown node's UPID as they answer an unknown task).
async fn node_or_task(client: &Client, upid: &Upid) -> ApiError {
    let unknown_node = nodes::list(client)
        .await
        .is_ok_and(|all| !all.iter().any(|n| n.node == upid.node()));
    if unknown_node {
        ApiError::NoSuchNode {
            node: upid.node().to_string(),
        }
    } else {
        ApiError::NoSuchTask {
            upid: upid.to_string(),
            node: upid.node().to_string(),
        }
    }
}

/// `DELETE …/tasks/{upid}`: stop a task (SIGTERM, then SIGKILL after 5 s).
pub async fn stop(client: &Client, upid: &Upid) -> Result<(), ApiError> {
    let _: Value = client
        .delete(&task_path(upid), &Params::new())
        .await
        .map_err(unknown_task(upid))?;
    Ok(())
}

/// The filters of a node's task list.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub limit: Option<u32>,
    pub vmid: Option<u32>,
    pub typefilter: Option<String>,
    pub errors: bool,
    /// `all` to include running tasks (PVE lists finished ones by default), or `active`.
    pub source: Option<&'static str>,
    /// Only tasks started at or after this epoch second.
    pub since: Option<i64>,
}

/// `GET /nodes/{node}/tasks`, newest first.
pub async fn list(
    client: &Client,
    node: &str,
    filter: &TaskFilter,
) -> Result<Vec<TaskEntry>, ApiError> {
    let params = Params::new()
        .opt("limit", filter.limit)
        .opt("vmid", filter.vmid)
        .opt("typefilter", filter.typefilter.as_deref())
        .flag_if("errors", filter.errors)
        .opt("source", filter.source)
        .opt("since", filter.since);
    client
        .get(&format!("{}/tasks", nodes::path(node)), &params)
        .await
        .map_err(nodes::unknown(node))
}

/// The node's tasks since `since` (running ones included), as a poll: one request tells the state
/// of every task of the node a bulk run waits for.
/// Also when the request went out: the list shows every task started before.
pub async fn recent_polling(
    client: &Client,
    node: &str,
    since: i64,
) -> Result<(Vec<TaskEntry>, std::time::Instant), ApiError> {
    let params = Params::new()
        .set("source", "all")
        .set("since", since)
        .set("limit", 1000);
    client
        .get_polling_sent(&format!("{}/tasks", nodes::path(node)), &params)
        .await
        .map_err(nodes::unknown(node))
}

impl TaskEntry {
    /// The exit status of a task the list shows ended (`None` while it runs: PVE lists a running
    /// task with no end time and no status, or the status `RUNNING`).
    pub fn ended(&self) -> Option<&str> {
        match (self.status.as_deref(), self.endtime) {
            (Some("RUNNING"), _) => None,
            (Some(s), _) => Some(s),
            (None, Some(_)) => Some(UNEXPECTED_STATUS),
            (None, None) => None,
        }
    }
}

/// The UPID of the newest task of `typ` for guest `vmid` on `node`, running ones included
/// (for calls that start a task but answer null, as a container's `template` does).
pub async fn newest_of(
    client: &Client,
    node: &str,
    vmid: u32,
    typ: &str,
) -> Result<Option<Upid>, ApiError> {
    let params = Params::new()
        .set("vmid", vmid)
        .set("typefilter", typ)
        .set("source", "all")
        .set("limit", 10);
    let tasks: Vec<Value> = client
        .get(&format!("{}/tasks", nodes::path(node)), &params)
        .await?;
    Ok(tasks
        .iter()
        .find(|t| t["type"] == typ)
        .and_then(|t| t.get("upid")?.as_str()?.parse().ok()))
}

/// One page of the log after line `start`, and PVE's `total` (lines in the file) when sent. The
/// "no content" placeholder of an empty log is dropped.
pub async fn log_page_total(
    client: &Client,
    upid: &Upid,
    start: u32,
    limit: u32,
) -> Result<(Vec<LogLine>, Option<u32>), ApiError> {
    let env = client
        .call_polling(
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

/// One page of the log after line `start`.
pub async fn log_page(
    client: &Client,
    upid: &Upid,
    start: u32,
    limit: u32,
) -> Result<Vec<LogLine>, ApiError> {
    Ok(log_page_total(client, upid, start, limit).await?.0)
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
    fn exit_status_rule() {
        assert!(exitstatus_ok("OK"));
        assert!(exitstatus_ok("WARNINGS: 3"));
        assert!(!exitstatus_ok("WARNINGS: "));
        assert!(!exitstatus_ok(UNEXPECTED_STATUS));
        assert!(!exitstatus_ok("VM 100 already running"));
    }
}
