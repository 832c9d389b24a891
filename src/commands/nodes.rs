//! `nodes list|status`.

use serde_json::Value;

use super::Ctx;
use crate::api::types::NodeEntry;
use crate::api::{seg, ApiError, Params};
use crate::cli::NodesCmd;
use crate::error::CliError;
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
                .await
                .map_err(unknown_node(&node))?;
            ctx.out.object(&status, &STATUS_KINDS)
        }
    }
}

/// PVE answers a node name it does not know with "hostname lookup '…' failed" (pveproxy cannot
/// forward the request): say which node and where to find the right name.
pub fn unknown_node(node: &str) -> impl FnOnce(ApiError) -> anyhow::Error + '_ {
    move |e| match &e {
        ApiError::NotFound { message } if message.contains("hostname lookup") => {
            CliError::not_found(format!(
                "no node '{node}' in the cluster (see `pvectl nodes list`)"
            ))
            .into()
        }
        _ => e.into(),
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
