//! `tasks list|status|log|wait|stop`.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::Value;

use super::{watch, Ctx};
use crate::api::tasks::{self, exitstatus_ok, LogLine, TaskFilter, TaskStatus};
use crate::api::{nodes, Client, Upid};
use crate::cli::TasksCmd;
use crate::error::{CliError, ErrorKind};
use crate::output::{col, Column, Kind};
use crate::targets;
use crate::task::{gave_up, ActionResult, Pacer, Session};

/// Parse a UPID given by the user (a malformed one is a usage error, exit 2).
fn parse_upid(text: &str) -> Result<Upid, CliError> {
    text.trim()
        .parse()
        .map_err(|e: crate::api::upid::UpidParseError| CliError::usage(e.to_string()))
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
            watch: w,
        } => {
            let vmid = match &vmid {
                Some(g) => Some(targets::vmid_of(&client, g).await?),
                None => None,
            };
            let filter = TaskFilter {
                limit: Some(limit),
                vmid,
                typefilter: kind,
                errors,
                // Without `source`, PVE lists finished tasks only.
                source: running.then_some("all"),
                since: None,
            };
            // A refresh asks /nodes and then each node (one request with --node).
            let requests = match (&node, &w.watch) {
                (Some(_), _) => 1,
                (None, Some(_)) => 1 + nodes::list(&client).await?.len() as u32,
                (None, None) => 0,
            };
            let every = watch::every(ctx, &w, requests)?;
            watch::run(ctx, every, "pvectl tasks list", || {
                list_once(ctx, &client, node.as_deref(), &filter)
            })
            .await
        }
        TasksCmd::Status { upid } => {
            let upid = parse_upid(&upid)?;
            let st = tasks::status(&client, &upid).await?;
            ctx.out.object(&serde_json::to_value(&st)?, &STATUS_KINDS)
        }
        TasksCmd::Log {
            upid,
            follow,
            wait_timeout,
        } => {
            let upid = parse_upid(&upid)?;
            let limit = ctx.wait_limit(wait_timeout.as_deref(), Duration::ZERO)?;
            // The log endpoint never says "no such task": ask the status first (when following,
            // within the wait, which starts now).
            if follow {
                let pacer = Pacer::new(limit, Duration::ZERO);
                let Some(st) = pacer.within(tasks::status(&client, &upid)).await else {
                    return Err(gave_up(&upid, pacer.elapsed()).into());
                };
                return follow_log(ctx, &client, &upid, st?, pacer).await;
            }
            tasks::status(&client, &upid).await?;
            let lines = tasks::full_log(&client, &upid).await?;
            if ctx.out.structured() {
                ctx.out.json(&lines)
            } else {
                ctx.out.lines(lines.into_iter().map(|l| l.t))
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
            let timeout = ctx.wait_limit(wait_timeout.as_deref(), Duration::ZERO)?;
            let session = if upids.len() > 1 {
                Session::for_many(&ctx.out, &client, timeout)
            } else {
                Session::new(&ctx.out, &client, timeout)
            };
            let work = join_all(upids.iter().map(|u| wait_one(&session, u)));
            session.finish(work, false).await
        }
        TasksCmd::Stop { upid } => {
            let upid = parse_upid(&upid)?;
            let st = tasks::status(&client, &upid).await?;
            if !st.running() {
                ctx.out.info(&format!(
                    "task {upid} has already ended ({}): nothing to stop",
                    st.exitstatus.as_deref().unwrap_or("no exit status")
                ));
                return Ok(());
            }
            tasks::stop(&client, &upid).await?;
            ctx.out.info(&format!("stop requested for task {upid}"));
            Ok(())
        }
    }
}

/// `tasks list`, once: every online node's list (or one node's), newest first.
async fn list_once(
    ctx: &Ctx,
    client: &Client,
    node: Option<&str>,
    filter: &TaskFilter,
) -> anyhow::Result<()> {
    let nodes = match node {
        Some(n) => vec![n.to_string()],
        None => {
            let all = nodes::list(client).await?;
            for n in all.iter().filter(|n| !n.online()) {
                ctx.out.warn(&format!(
                    "node {} is {}: its tasks are not listed",
                    n.node,
                    n.status.as_deref().unwrap_or("unknown")
                ));
            }
            all.into_iter()
                .filter(|n| n.online())
                .map(|n| n.node)
                .collect()
        }
    };
    let fetches = nodes.iter().map(|n| tasks::list(client, n, filter));
    let mut list = vec![];
    for r in join_all(fetches).await {
        list.extend(r?);
    }
    let kind = &filter.typefilter;
    let errors = filter.errors;
    // Not every PVE version honours `typefilter` and `errors`: filter here too.
    list.retain(|t| {
        kind.as_ref().is_none_or(|k| &t.kind == k)
            && (!errors
                || t.status
                    .as_deref()
                    .is_some_and(|s| s != "RUNNING" && !exitstatus_ok(s)))
    });
    list.sort_by(|a, b| {
        b.starttime
            .cmp(&a.starttime)
            .then_with(|| b.upid.cmp(&a.upid))
    });
    list.truncate(filter.limit.unwrap_or(50) as usize);
    let mut rows = super::kit::rows(&list)?;
    if ctx.out.tabular() {
        // A running task has neither an exit status nor an end time: say so in the table.
        for row in rows.iter_mut().filter_map(Value::as_object_mut) {
            if !row.contains_key("status") && !row.contains_key("endtime") {
                row.insert("status".into(), Value::String("RUNNING".into()));
            }
        }
    }
    ctx.out.list(&LIST_COLUMNS, &rows)
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
    pacer: Pacer,
) -> anyhow::Result<()> {
    // With `-o json` the lines are one array at the end (stdout holds one JSON document).
    let json = ctx.out.structured();
    let mut collected: Vec<LogLine> = vec![];
    let mut next = 0u32;
    let session = Session::new(&ctx.out, client, None);
    let follow = async {
        loop {
            let running = st.running();
            // Read the log after the status, so a task that has ended has all its lines.
            loop {
                let Some(page) = pacer.within(tasks::log_page(client, upid, next, 500)).await
                else {
                    return Err(gave_up(upid, pacer.elapsed()).into());
                };
                let page = page?;
                let Some(last) = page.last() else { break };
                next = last.n;
                let full = page.len() >= 500;
                if json {
                    collected.extend(page);
                } else {
                    for l in &page {
                        ctx.out.line_now(&l.t)?;
                    }
                }
                if !full {
                    break;
                }
            }
            if !running {
                return Ok::<_, anyhow::Error>(st.exitstatus.clone().unwrap_or_default());
            }
            if pacer.expired() {
                return Err(gave_up(upid, pacer.elapsed()).into());
            }
            pacer.pause().await;
            match pacer.within(tasks::status(client, upid)).await {
                None => return Err(gave_up(upid, pacer.elapsed()).into()),
                Some(Ok(s)) => st = s,
                Some(Err(e)) if crate::task::transient(&e) => {}
                Some(Err(e)) => return Err(e.into()),
            }
        }
    };
    let ended = session
        .run(session.following(upid.as_str(), upid, follow))
        .await;
    // The lines read so far, also when the wait ends without a verdict (exit 9, Ctrl-C).
    if json {
        ctx.out.json(&collected)?;
    }
    let exitstatus = ended??;
    if exitstatus_ok(&exitstatus) {
        ctx.out
            .info(&format!("the task ended {exitstatus}: {upid}"));
        Ok(())
    } else {
        Err(CliError::new(
            ErrorKind::TaskFailed,
            format!("the task failed: {exitstatus} ({upid})"),
        )
        .into())
    }
}

/// On a narrow terminal the UPID (to copy into `tasks log`), the age and the status stay; the
/// status is shortened if need be.
const LIST_COLUMNS: [Column; 9] = [
    col("starttime", "STARTED", Kind::Epoch).priority(4),
    col("starttime", "AGE", Kind::Age),
    col("node", "NODE", Kind::Text).priority(2),
    col("type", "TYPE", Kind::Text).priority(1),
    col("id", "ID", Kind::Text).priority(1),
    col("user", "USER", Kind::Text).priority(3),
    col("status", "STATUS", Kind::State).free(),
    col("endtime", "ENDED", Kind::Epoch).priority(5),
    col("upid", "UPID", Kind::Text),
];

const STATUS_KINDS: [Column; 2] = [
    col("starttime", "STARTED", Kind::Epoch),
    col("status", "STATUS", Kind::State),
];
