//! `nodes list|status|services|updates`, and node maintenance: `drain`, `undrain` (`drain.rs`,
//! with the placement in `plan.rs`, the moves in `moves.rs` and the record of a drain in
//! `record.rs`), `reboot` and `shutdown` (`power.rs`).

mod drain;
mod moves;
mod plan;
mod power;
mod record;

use serde_json::Value;

use super::graph::{self, Subject};
use super::kit::rows;
use super::{watch, Ctx};
use crate::api::nodes::{self, NodePower};
use crate::api::{Client, Upid};
use crate::cli::{NodeStatusArgs, NodesCmd, UpdatesArgs};
use crate::error::{ErrorKind, Reported};
use crate::output::{col, Column, Kind};
use crate::task::{ActionResult, Session, SHORT_WAIT};

pub async fn run(ctx: &Ctx, cmd: NodesCmd) -> anyhow::Result<()> {
    match cmd {
        NodesCmd::List { watch: w } => {
            let client = ctx.client()?;
            let every = watch::every(ctx, &w, 1)?;
            watch::run(ctx, every, "pvectl nodes list", || list(ctx, &client)).await
        }
        NodesCmd::Status(a) => status(ctx, &a).await,
        NodesCmd::Drain(a) => drain::drain(ctx, a).await,
        NodesCmd::Undrain(a) => drain::undrain(ctx, a).await,
        NodesCmd::Reboot(a) => power::run(ctx, NodePower::Reboot, a).await,
        NodesCmd::Shutdown(a) => power::run(ctx, NodePower::Shutdown, a).await,
        NodesCmd::Services { node } => services(ctx, &node).await,
        NodesCmd::Updates(a) => updates(ctx, &a).await,
    }
}

async fn list(ctx: &Ctx, client: &Client) -> anyhow::Result<()> {
    let mut list = nodes::list(client).await?;
    list.sort_by(|a, b| a.node.cmp(&b.node));
    ctx.out.list(&LIST_COLUMNS, &rows(&list)?)
}

async fn status(ctx: &Ctx, a: &NodeStatusArgs) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let every = watch::every(ctx, &a.watch, 1)?;
    let title = format!("pvectl nodes status {}", a.node);
    watch::run(ctx, every, &title, || async {
        if a.graph.graph {
            return graph::show(ctx, &client, &Subject::Node(&a.node), &a.graph).await;
        }
        let status = nodes::status(&client, &a.node).await?;
        ctx.out.object(&status, &STATUS_KINDS)
    })
    .await
}

async fn services(ctx: &Ctx, node: &str) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let mut list = nodes::services(&client, node).await?;
    list.sort_by_key(|a| text(a, "service"));
    ctx.out.list(&SERVICE_COLUMNS, &list)
}

async fn updates(ctx: &Ctx, a: &UpdatesArgs) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let node = a.node.as_str();
    if a.refresh {
        let timeout = ctx.wait_limit(a.wait_timeout.as_deref(), SHORT_WAIT)?;
        let session = Session::new(&ctx.out, &client, timeout);
        let answer = nodes::refresh_updates(&client, node).await?;
        let result = ActionResult::new(node.to_string(), node.to_string(), "apt update");
        let result = match answer.as_str().and_then(|u| u.parse::<Upid>().ok()) {
            Some(upid) => session.run(session.wait(result, &upid)).await?,
            None => result.done("OK"),
        };
        let result = session.keep(result);
        if !result.ok {
            return Err(Reported(result.failure.unwrap_or(ErrorKind::Other)).into());
        }
    }
    let mut list = nodes::updates(&client, node).await?;
    list.sort_by_key(|a| text(a, "Package"));
    if list.is_empty() {
        ctx.out.info(&format!(
            "{node}: no updates, as of its last `apt update`{}",
            if a.refresh {
                ""
            } else {
                " (--refresh runs one)"
            }
        ));
    }
    ctx.out.list(&UPDATE_COLUMNS, &list)
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

const LIST_COLUMNS: [Column; 7] = [
    col("node", "NODE", Kind::Text),
    col("status", "STATUS", Kind::State),
    col("cpu", "CPU", Kind::Percent).live(),
    col("maxcpu", "CPUS", Kind::Text),
    col("mem", "MEM", Kind::Bytes).live(),
    col("maxmem", "MAXMEM", Kind::Bytes),
    col("uptime", "UPTIME", Kind::Duration).live(),
];

/// How `nodes status` shows its nested fields: sizes in binary units, fractions as percentages.
const STATUS_KINDS: [Column; 7] = [
    col("cpu", "CPU", Kind::Percent),
    col("wait", "WAIT", Kind::Percent),
    col("uptime", "UPTIME", Kind::Duration),
    col("memory.*", "", Kind::Bytes),
    col("swap.*", "", Kind::Bytes),
    col("rootfs.*", "", Kind::Bytes),
    col("ksm.shared", "", Kind::Bytes),
];

const SERVICE_COLUMNS: [Column; 5] = [
    col("service", "SERVICE", Kind::Text),
    col("state", "STATE", Kind::State),
    col("active-state", "ACTIVE", Kind::Text),
    col("unit-state", "UNIT", Kind::Text).priority(1),
    col("desc", "DESCRIPTION", Kind::Text).free(),
];

const UPDATE_COLUMNS: [Column; 6] = [
    col("Package", "PACKAGE", Kind::Text),
    col("OldVersion", "INSTALLED", Kind::Text),
    col("Version", "NEW", Kind::Text),
    col("Priority", "PRIORITY", Kind::Text).priority(2),
    col("Origin", "ORIGIN", Kind::Text).priority(1),
    col("Title", "TITLE", Kind::Text).free(),
];
