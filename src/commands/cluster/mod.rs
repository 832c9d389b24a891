//! `version` and `cluster status|resources|nextid|top` (`top.rs`).

mod top;

use serde_json::{json, Value};

use super::kit::rows;
use super::Ctx;
use crate::api::cluster::{self, ResourceType};
use crate::cli::{self, ClusterCmd};
use crate::output::{col, Column, Kind};

pub async fn version(ctx: &Ctx) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let v = cluster::version(&client).await?;
    let mut obj = serde_json::to_value(&v)?;
    if let Value::Object(m) = &mut obj {
        m.insert("client".into(), json!(env!("CARGO_PKG_VERSION")));
    }
    if ctx.out.tabular() {
        return ctx.out.lines([
            format!("client: pvectl {}", env!("CARGO_PKG_VERSION")),
            format!(
                "server: pve-manager {} (release {}, repoid {})",
                v.version.as_deref().unwrap_or("?"),
                v.release.as_deref().unwrap_or("?"),
                v.repoid.as_deref().unwrap_or("?")
            ),
        ]);
    }
    ctx.out.object(&obj, &[])
}

pub async fn run(ctx: &Ctx, cmd: ClusterCmd) -> anyhow::Result<()> {
    let client = ctx.client()?;
    match cmd {
        ClusterCmd::Status => {
            let entries = cluster::status(&client).await?;
            ctx.out.list(&STATUS_COLUMNS, &rows(&entries)?)
        }
        ClusterCmd::Resources { kind } => {
            let kind = kind.map(|k| match k {
                cli::ResourceType::Vm => ResourceType::Vm,
                cli::ResourceType::Node => ResourceType::Node,
                cli::ResourceType::Storage => ResourceType::Storage,
                cli::ResourceType::Sdn => ResourceType::Sdn,
            });
            // Shown as PVE sent them: each type has its own fields.
            let entries = cluster::resources_raw(&client, kind).await?;
            ctx.out.list(&RESOURCE_COLUMNS, &entries)
        }
        ClusterCmd::Nextid => {
            // PVE sends the id as a string; scripts want the bare number.
            let n = cluster::next_id(&client).await?;
            if ctx.out.structured() {
                ctx.out.object(&json!(n), &[])
            } else {
                ctx.out.lines([n.to_string()])
            }
        }
        ClusterCmd::Top(a) => top::run(ctx, &client, &a).await,
    }
}

const STATUS_COLUMNS: [Column; 7] = [
    col("type", "TYPE", Kind::Text),
    col("name", "NAME", Kind::Text),
    col("id", "ID", Kind::Text),
    col("nodeid", "NODEID", Kind::Text).priority(2),
    col("ip", "IP", Kind::Text),
    col("online", "ONLINE", Kind::Flag),
    col("quorate", "QUORATE", Kind::Flag).priority(1),
];

const RESOURCE_COLUMNS: [Column; 9] = [
    col("id", "ID", Kind::Text),
    col("type", "TYPE", Kind::Text),
    col("node", "NODE", Kind::Text).priority(1),
    col("name", "NAME", Kind::Text),
    col("status", "STATUS", Kind::State),
    col("cpu", "CPU", Kind::Percent).live().priority(2),
    col("mem", "MEM", Kind::Bytes).live().priority(2),
    col("maxmem", "MAXMEM", Kind::Bytes).priority(3),
    col("uptime", "UPTIME", Kind::Duration).live().priority(4),
];
