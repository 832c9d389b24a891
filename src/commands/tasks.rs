//! `tasks list|status|log`.

use futures_util::future::join_all;
use serde_json::Value;

use super::Ctx;
use crate::api::types::{LogLine, NodeEntry, TaskEntry, TaskStatus};
use crate::api::{seg, Client, Params, Upid};
use crate::cli::{OutputFormat, TasksCmd};
use crate::error::CliError;
use crate::output::{col, Column, Kind};

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
    Ok(client
        .get(&format!("{}/status", task_path(upid)), &Params::new())
        .await?)
}

/// Log lines after `start` (0 = from the beginning), every page of them.
pub async fn log_from(
    client: &Client,
    upid: &Upid,
    mut start: u32,
) -> anyhow::Result<Vec<LogLine>> {
    const PAGE: u32 = 1000;
    let mut lines = vec![];
    loop {
        let env = client
            .call(
                reqwest::Method::GET,
                &format!("{}/log", task_path(upid)),
                &Params::new().set("start", start).set("limit", PAGE),
            )
            .await?;
        let page: Vec<LogLine> =
            serde_json::from_value(env.data).map_err(|e| crate::api::ApiError::Decode {
                context: "task log".into(),
                detail: e.to_string(),
            })?;
        // An empty log answers with the placeholder "no content" as line 1.
        let placeholder = page.len() == 1 && page[0].t == "no content" && start == 0;
        let got = page.len() as u32;
        if !placeholder {
            if let Some(last) = page.last() {
                start = last.n;
            }
            lines.extend(page);
        }
        let total = env.total.unwrap_or(0) as u32;
        if placeholder || got < PAGE || start >= total {
            return Ok(lines);
        }
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
            let rows: Vec<Value> = tasks
                .iter()
                .map(serde_json::to_value)
                .collect::<Result<_, _>>()?;
            ctx.out.list(&LIST_COLUMNS, &rows)
        }
        TasksCmd::Status { upid } => {
            let upid = parse_upid(&upid)?;
            let st = status(&client, &upid).await?;
            ctx.out.object(&serde_json::to_value(&st)?, &STATUS_KINDS)
        }
        TasksCmd::Log { upid } => {
            let upid = parse_upid(&upid)?;
            // The log endpoint never says "no such task": ask the status first.
            status(&client, &upid).await?;
            let lines = log_from(&client, &upid, 0).await?;
            match ctx.out.format {
                OutputFormat::Json => ctx.out.object(&serde_json::to_value(&lines)?, &[]),
                _ => ctx.out.lines(lines.into_iter().map(|l| l.t)),
            }
        }
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
