//! `nodes list|status`.

use super::kit::rows;
use super::Ctx;
use crate::api::nodes;
use crate::cli::NodesCmd;
use crate::output::{col, Column, Kind};

pub async fn run(ctx: &Ctx, cmd: NodesCmd) -> anyhow::Result<()> {
    let client = ctx.client()?;
    match cmd {
        NodesCmd::List => {
            let mut list = nodes::list(&client).await?;
            list.sort_by(|a, b| a.node.cmp(&b.node));
            ctx.out.list(&LIST_COLUMNS, &rows(&list)?)
        }
        NodesCmd::Status { node } => {
            let status = nodes::status(&client, &node).await?;
            ctx.out.object(&status, &STATUS_KINDS)
        }
    }
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
