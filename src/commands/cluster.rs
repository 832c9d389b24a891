//! `version` and `cluster status|resources|nextid`.

use serde_json::{json, Value};

use super::Ctx;
use crate::api::types::{ClusterStatusEntry, Version};
use crate::api::{Client, Params};
use crate::cli::{ClusterCmd, OutputFormat, ResourceType};
use crate::error::{CliError, EXIT_ERROR};
use crate::output::{col, Column, Kind};

pub async fn version(ctx: &Ctx) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let v: Version = client.get("/version", &Params::new()).await?;
    let mut obj = serde_json::to_value(&v)?;
    if let Value::Object(m) = &mut obj {
        m.insert("client".into(), json!(env!("CARGO_PKG_VERSION")));
    }
    if ctx.out.format == OutputFormat::Table {
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
            let entries: Vec<ClusterStatusEntry> =
                client.get("/cluster/status", &Params::new()).await?;
            let rows: Vec<Value> = entries
                .iter()
                .map(serde_json::to_value)
                .collect::<Result<_, _>>()?;
            ctx.out.list(&STATUS_COLUMNS, &rows)
        }
        ClusterCmd::Resources { kind } => {
            let params = match kind {
                None => Params::new(),
                Some(k) => Params::new().set(
                    "type",
                    match k {
                        ResourceType::Vm => "vm",
                        ResourceType::Node => "node",
                        ResourceType::Storage => "storage",
                        ResourceType::Sdn => "sdn",
                    },
                ),
            };
            // Shown as PVE sent them: each type has its own fields.
            let rows: Vec<Value> = client.get("/cluster/resources", &params).await?;
            ctx.out.list(&RESOURCE_COLUMNS, &rows)
        }
        ClusterCmd::Nextid => {
            // PVE sends the id as a string; scripts want the bare number.
            let n = next_id(&client).await?;
            match ctx.out.format {
                OutputFormat::Json => ctx.out.object(&json!(n), &[]),
                _ => ctx.out.lines([n.to_string()]),
            }
        }
    }
}

const STATUS_COLUMNS: [Column; 7] = [
    col("type", "TYPE", Kind::Text),
    col("name", "NAME", Kind::Text),
    col("id", "ID", Kind::Text),
    col("nodeid", "NODEID", Kind::Text),
    col("ip", "IP", Kind::Text),
    col("online", "ONLINE", Kind::Flag),
    col("quorate", "QUORATE", Kind::Flag),
];

const RESOURCE_COLUMNS: [Column; 9] = [
    col("id", "ID", Kind::Text),
    col("type", "TYPE", Kind::Text),
    col("node", "NODE", Kind::Text),
    col("name", "NAME", Kind::Text),
    col("status", "STATUS", Kind::State),
    col("cpu", "CPU", Kind::Percent),
    col("mem", "MEM", Kind::Bytes),
    col("maxmem", "MAXMEM", Kind::Bytes),
    col("uptime", "UPTIME", Kind::Duration),
];

/// The next free VMID of the cluster (`GET /cluster/nextid`, which PVE answers as a string).
pub async fn next_id(client: &Client) -> anyhow::Result<u32> {
    let v: Value = client.get("/cluster/nextid", &Params::new()).await?;
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| v.as_u64().and_then(|n| u32::try_from(n).ok()))
        .ok_or_else(|| {
            CliError::new(
                EXIT_ERROR,
                format!("PVE answered {v} for the next free VMID"),
            )
            .into()
        })
}
