//! `tasks list|status|log|wait|stop`.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::Value;

use super::nodes::unknown_node;
use super::power::wait_limit;
use super::Ctx;
use crate::actions::{self, ActionResult, InFlight, Session};
use crate::api::types::{exitstatus_ok, LogLine, NodeEntry, TaskEntry, TaskStatus};
use crate::api::{seg, ApiError, Client, Params, Upid};
use crate::cli::{OutputFormat, TasksCmd};
use crate::error::{CliError, EXIT_TASK_FAILED};
use crate::output::{col, Column, Kind};
use crate::wait::{full_log, log_page, poll_interval, transient};

/// Parse a UPID given by the user (a malformed one is a usage error, exit 2).
pub fn parse_upid(text: &str) -> Result<Upid, CliError> {
    text.trim()
        .parse()
        .map_err(|e: crate::api::upid::UpidParseError| CliError::usage(e.to_string()))
}

pub fn task_path(upid: &Upid) -> String {
    format!("/nodes/{}/tasks/{}", seg(upid.node()), seg(upid.as_str()))
}

pub async fn status(client: &Client, upid: &Upid) -> anyhow::Result<TaskStatus> {
    client
        .get(&format!("{}/status", task_path(upid)), &Params::new())
        .await
        .map_err(|e| unknown_task(upid, e))
}

/// PVE says "no such task" (400) or, for a well-formed UPID it has no record of, "unable to
/// parse worker upid" (500): either way the task is not known on its node.
fn unknown_task(upid: &Upid, e: ApiError) -> anyhow::Error {
    let text = e.to_string();
    if text.contains("no such task") || text.contains("unable to parse worker upid") {
        return CliError::not_found(format!(
            "node {} has no task {upid} (old tasks are rotated out; see `pvectl tasks list --node {}`)",
            upid.node(),
            upid.node()
        ))
        .into();
    }
    match e {
        ApiError::NotFound { .. } => unknown_node(upid.node())(e),
        e => e.into(),
    }
}

pub async fn run(ctx: &Ctx, cmd: TasksCmd) -> anyhow::Result<()> {
    let client = ctx.client()?;
    match cmd {
        TasksCmd::List {
            node,
            vmid,
            kind,
            errors,
            running,
            limit,
        } => {
            let nodes = match node {
                Some(n) => vec![n],
                None => {
                    let all: Vec<NodeEntry> = client.get("/nodes", &Params::new()).await?;
                    let online: Vec<String> = all
                        .iter()
                        .filter(|n| n.online())
                        .map(|n| n.node.clone())
                        .collect();
                    for n in all.iter().filter(|n| !n.online()) {
                        ctx.out.warn(&format!(
                            "node {} is {}: its tasks are not listed",
                            n.node,
                            n.status.as_deref().unwrap_or("unknown")
                        ));
                    }
                    online
                }
            };
            let params = Params::new()
                .set("limit", limit)
                .opt("vmid", vmid)
                .opt("typefilter", kind)
                .flag_if("errors", errors)
                // Without `source`, PVE lists finished tasks only.
                .opt("source", running.then_some("all"));
            let fetches = nodes.iter().map(|n| {
                let (client, params) = (&client, &params);
                async move {
                    client
                        .get::<Vec<TaskEntry>>(&format!("/nodes/{}/tasks", seg(n)), params)
                        .await
                        .map_err(unknown_node(n))
                }
            });
            let mut tasks = vec![];
            for r in join_all(fetches).await {
                tasks.extend(r?);
            }
            tasks.sort_by(|a, b| {
                b.starttime
                    .cmp(&a.starttime)
                    .then_with(|| b.upid.cmp(&a.upid))
            });
            tasks.truncate(limit as usize);
            let mut rows: Vec<Value> = tasks
                .iter()
                .map(serde_json::to_value)
                .collect::<Result<_, _>>()?;
            if ctx.out.format != OutputFormat::Json {
                // A running task has neither an exit status nor an end time: say so in the table.
                for row in rows.iter_mut().filter_map(Value::as_object_mut) {
                    if !row.contains_key("status") && !row.contains_key("endtime") {
                        row.insert("status".into(), Value::String("RUNNING".into()));
                    }
                }
            }
            ctx.out.list(&LIST_COLUMNS, &rows)
        }
        TasksCmd::Status { upid } => {
            let upid = parse_upid(&upid)?;
            let st = status(&client, &upid).await?;
            ctx.out.object(&serde_json::to_value(&st)?, &STATUS_KINDS)
        }
        TasksCmd::Log { upid, follow } => {
            let upid = parse_upid(&upid)?;
            // The log endpoint never says "no such task": ask the status first.
            let st = status(&client, &upid).await?;
            if follow {
                return follow_log(ctx, &client, &upid, st).await;
            }
            let lines = full_log(&client, &upid).await?;
            match ctx.out.format {
                OutputFormat::Json => ctx.out.object(&serde_json::to_value(&lines)?, &[]),
                _ => ctx.out.lines(lines.into_iter().map(|l| l.t)),
            }
        }
        TasksCmd::Wait {
            upids,
            wait_timeout,
        } => {
            let upids: Vec<Upid> = upids
                .iter()
                .map(|u| parse_upid(u))
                .collect::<Result<_, _>>()?;
            let timeout = wait_limit(ctx, wait_timeout.as_deref(), Duration::ZERO)?;
            let session = Session::new(&ctx.out, &client, timeout);
            let work = join_all(upids.iter().map(|u| wait_one(&session, u)));
            session.finish(work, false).await
        }
        TasksCmd::Stop { upid } => {
            let upid = parse_upid(&upid)?;
            let st = status(&client, &upid).await?;
            if !st.running() {
                ctx.out.info(&format!(
                    "task {upid} has already ended ({}): nothing to stop",
                    st.exitstatus.as_deref().unwrap_or("no exit status")
                ));
                return Ok(());
            }
            let _: Value = client.delete(&task_path(&upid), &Params::new()).await?;
            ctx.out.info(&format!("stop requested for task {upid}"));
            Ok(())
        }
    }
}

/// One task of `tasks wait`, reported like any action.
async fn wait_one(session: &Session<'_>, upid: &Upid) -> ActionResult {
    let label = match &upid.id {
        id if id.is_empty() => upid.task_type.clone(),
        id => format!("{} {id}", upid.task_type),
    };
    let result = ActionResult::new(label, upid.node().to_string(), "wait");
    session.wait(result, upid).await
}

/// Print the log as it grows; when the task ends, the rest of it, then exit with the verdict.
async fn follow_log(
    ctx: &Ctx,
    client: &Client,
    upid: &Upid,
    mut st: TaskStatus,
) -> anyhow::Result<()> {
    use std::io::Write;
    // With `-o json` the lines are one array at the end (stdout holds one JSON document).
    let json = ctx.out.format == OutputFormat::Json;
    let mut collected: Vec<LogLine> = vec![];
    let started = Instant::now();
    let mut next = 0u32;
    let inflight = InFlight::default();
    inflight.add(upid.as_str(), upid);
    let follow = async {
        loop {
            let running = st.running();
            // Read the log after the status, so a task that has ended has all its lines.
            loop {
                let page = log_page(client, upid, next, 500).await?;
                let Some(last) = page.last() else { break };
                next = last.n;
                let full = page.len() >= 500;
                if json {
                    collected.extend(page);
                } else {
                    let mut stdout = std::io::stdout().lock();
                    for l in &page {
                        writeln!(stdout, "{}", l.t)?;
                    }
                    stdout.flush()?;
                }
                if !full {
                    break;
                }
            }
            if !running {
                return Ok::<_, anyhow::Error>(st.exitstatus.clone().unwrap_or_default());
            }
            tokio::time::sleep(poll_interval(started.elapsed())).await;
            match status(client, upid).await {
                Ok(s) => st = s,
                Err(e) if e.downcast_ref::<ApiError>().is_some_and(transient) => {}
                Err(e) => return Err(e),
            }
        }
    };
    let exitstatus = actions::interruptible(&inflight, follow).await??;
    if json {
        ctx.out.object(&serde_json::to_value(&collected)?, &[])?;
    }
    if exitstatus_ok(&exitstatus) {
        ctx.out.info(&format!("task {upid}: {exitstatus}"));
        Ok(())
    } else {
        Err(CliError::new(
            EXIT_TASK_FAILED,
            format!("task {upid} failed: {exitstatus}"),
        )
        .into())
    }
}

const LIST_COLUMNS: [Column; 8] = [
    col("starttime", "STARTED", Kind::Epoch),
    col("node", "NODE", Kind::Text),
    col("type", "TYPE", Kind::Text),
    col("id", "ID", Kind::Text),
    col("user", "USER", Kind::Text),
    col("status", "STATUS", Kind::State),
    col("endtime", "ENDED", Kind::Epoch),
    col("upid", "UPID", Kind::Text),
];

const STATUS_KINDS: [Column; 2] = [
    col("starttime", "STARTED", Kind::Epoch),
    col("status", "STATUS", Kind::State),
];
