//! `nodes list|status`.

use serde_json::Value;

use super::Ctx;
use crate::api::types::NodeEntry;
use crate::api::{seg, Params};
use crate::cli::NodesCmd;
use crate::output::{col, Column, Kind};

pub async fn run(ctx: &Ctx, cmd: NodesCmd) -> anyhow::Result<()> {
    let client = ctx.client()?;
    match cmd {
        NodesCmd::List => {
            let mut nodes: Vec<NodeEntry> = client.get("/nodes", &Params::new()).await?;
            nodes.sort_by(|a, b| a.node.cmp(&b.node));
            let rows: Vec<Value> = nodes
                .iter()
                .map(serde_json::to_value)
                .collect::<Result<_, _>>()?;
            ctx.out.list(&LIST_COLUMNS, &rows)
        }
        NodesCmd::Status { node } => {
            let status: Value = client
                .get(&format!("/nodes/{}/status", seg(&node)), &Params::new())
                .await?;
            ctx.out.object(&status, &STATUS_KINDS)
        }
    }
}

const LIST_COLUMNS: [Column; 7] = [
    col("node", "NODE", Kind::Text),
    col("status", "STATUS", Kind::State),
    col("cpu", "CPU", Kind::Percent),
    col("maxcpu", "CPUS", Kind::Text),
    col("mem", "MEM", Kind::Bytes),
    col("maxmem", "MAXMEM", Kind::Bytes),
    col("uptime", "UPTIME", Kind::Duration),
];

const STATUS_KINDS: [Column; 3] = [
    col("cpu", "CPU", Kind::Percent),
    col("wait", "WAIT", Kind::Percent),
    col("uptime", "UPTIME", Kind::Duration),
];
