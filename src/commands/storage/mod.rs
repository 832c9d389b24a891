//! `storage list|status|content`, and putting images onto storages: `upload`, `download`,
//! `templates`, `delete-volume` (one file per verb). A shared storage is the same on every node:
//! it is listed and read once.

mod delete_volume;
pub(crate) mod download;
mod place;
mod templates;
mod upload;

use std::collections::BTreeMap;

use futures_util::future::join_all;
use serde_json::{json, Value};

use super::kit::storage_nodes;
use super::Ctx;
use crate::api::cluster::{self, Resource, ResourceType};
use crate::api::{storage, Client};
use crate::cli::StorageCmd;
use crate::output::{col, Column, Kind};
use crate::targets;
pub(crate) use place::{image_place, Place};

pub async fn run(ctx: &Ctx, cmd: StorageCmd) -> anyhow::Result<()> {
    let cmd = match cmd {
        StorageCmd::Upload(a) => return upload::run(ctx, a).await,
        StorageCmd::Download(a) => return download::run(ctx, a).await,
        StorageCmd::Templates(a) => return templates::run(ctx, a).await,
        StorageCmd::DeleteVolume(a) => return delete_volume::run(ctx, a).await,
        other => other,
    };
    let client = ctx.client()?;
    match cmd {
        StorageCmd::List { node } => match node {
            Some(node) => {
                let list = storage::list(&client, &node).await?;
                let rows: Vec<Value> = list
                    .iter()
                    .map(|s| {
                        let mut v = serde_json::to_value(s)?;
                        v["node"] = json!(node);
                        Ok(v)
                    })
                    .collect::<anyhow::Result<_>>()?;
                show_storages(ctx, &NODE_COLUMNS, rows)
            }
            None => {
                let resources = cluster::resources(&client, Some(ResourceType::Storage)).await?;
                show_storages(ctx, &RESOURCE_COLUMNS, cluster_rows(&resources)?)
            }
        },
        StorageCmd::Status {
            storage: name,
            node,
        } => status(ctx, &client, &name, ctx.node_or(node.as_deref())).await,
        StorageCmd::Content {
            storage: name,
            content,
            vmid,
            node,
        } => {
            let vmid = match &vmid {
                Some(g) => Some(targets::vmid_of(&client, g).await?),
                None => None,
            };
            let nodes = match node {
                Some(n) => vec![n],
                None => storage_nodes(&client, &name).await?,
            };
            let fetches = nodes.iter().map(|n| {
                let (client, name, content) = (&client, &name, content.as_deref());
                async move {
                    storage::content(client, n, name, content, vmid)
                        .await
                        .map(|v| (n.clone(), v))
                }
            });
            let mut rows = vec![];
            for result in join_all(fetches).await {
                let (node, volumes) = result?;
                for v in volumes {
                    let mut row = serde_json::to_value(&v)?;
                    row["node"] = json!(node);
                    rows.push(row);
                }
            }
            ctx.out.list(&CONTENT_COLUMNS, &rows)
        }
        StorageCmd::Upload(_)
        | StorageCmd::Download(_)
        | StorageCmd::Templates(_)
        | StorageCmd::DeleteVolume(_) => Ok(()),
    }
}

/// `storage status`: PVE's status of the storage on one node (an object), or on every node
/// that has it (a list: one row per node, a shared storage once), read at once.
async fn status(
    ctx: &Ctx,
    client: &Client,
    name: &str,
    node: Option<String>,
) -> anyhow::Result<()> {
    let read = |node: String| async move {
        let mut status = storage::status(client, &node, name).await?;
        status.insert("storage".into(), json!(name));
        status.insert("node".into(), json!(node));
        Ok::<_, anyhow::Error>(Value::Object(status))
    };
    if let Some(node) = node {
        let status = read(node).await?;
        return ctx.out.object(&status, &STATUS_KINDS);
    }
    let nodes = storage_nodes(client, name).await?;
    let mut rows = vec![];
    let mut failed = vec![];
    for (node, answer) in nodes
        .iter()
        .zip(join_all(nodes.iter().cloned().map(read)).await)
    {
        match answer {
            Ok(row) => rows.push(row),
            Err(e) => failed.push((node, e)),
        }
    }
    // What could be read is shown; each node that could not is named, the first decides the exit
    // code.
    let missing = if rows.is_empty() {
        ""
    } else {
        ", missing from the list above"
    };
    if failed.is_empty() || !rows.is_empty() {
        show_storages(ctx, &NODE_COLUMNS, rows)?;
    }
    let mut failed = failed
        .into_iter()
        .map(|(node, e)| e.context(format!("storage '{name}' on {node}{missing}")));
    let first = failed.next();
    for e in failed {
        ctx.out
            .notice(&format!("error: {}", crate::error::message(&e)));
    }
    match first {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Storage rows: JSON and TSV as PVE answered (`/cluster/resources` names its fields `disk`,
/// `maxdisk` and `plugintype`, a node's storage list `used`, `total`, `avail` and `type`); the
/// table reads whichever the rows have, with the space left and the share used.
fn show_storages(ctx: &Ctx, raw: &[Column], mut rows: Vec<Value>) -> anyhow::Result<()> {
    if !ctx.out.tabular() {
        return ctx.out.list(raw, &rows);
    }
    for row in rows.iter_mut().filter_map(Value::as_object_mut) {
        let number =
            |row: &serde_json::Map<String, Value>, k: &str| row.get(k).and_then(Value::as_u64);
        let used = number(row, "used").or_else(|| number(row, "disk"));
        let total = number(row, "total").or_else(|| number(row, "maxdisk"));
        let avail = number(row, "avail").or_else(|| Some(total?.saturating_sub(used?)));
        if let Some(t) = row.get("plugintype").cloned() {
            row.insert("type".into(), t);
        }
        row.insert("used".into(), json!(used));
        row.insert("total".into(), json!(total));
        row.insert("avail".into(), json!(avail));
        if !row.contains_key("used_fraction") {
            let fraction = match (used, total) {
                (Some(u), Some(t)) if t > 0 => Some(u as f64 / t as f64),
                _ => None,
            };
            row.insert("used_fraction".into(), json!(fraction));
        }
    }
    ctx.out.list(&TABLE_COLUMNS, &rows)
}

/// One row per storage and node, a shared storage once: the entries as PVE sent them, a shared
/// one with every node that has it in `nodes`.
fn cluster_rows(resources: &[Resource]) -> anyhow::Result<Vec<Value>> {
    let mut shared: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in resources.iter().filter(|r| r.shared) {
        if let (Some(s), Some(n)) = (&r.storage, &r.node) {
            shared.entry(s.clone()).or_default().push(n.clone());
        }
    }
    let mut seen = std::collections::HashSet::new();
    let mut rows = vec![];
    for r in resources {
        let Some(name) = &r.storage else { continue };
        if r.shared && !seen.insert(name.clone()) {
            continue;
        }
        let mut row = serde_json::to_value(r)?;
        if r.shared {
            row["nodes"] = json!(shared.get(name).cloned().unwrap_or_default().join(","));
        }
        rows.push(row);
    }
    rows.sort_by(|a, b| {
        (a["storage"].as_str(), a["node"].as_str())
            .cmp(&(b["storage"].as_str(), b["node"].as_str()))
    });
    Ok(rows)
}

/// The table of both lists, from the fields `show_storages` fills in.
const TABLE_COLUMNS: [Column; 9] = [
    col("storage", "STORAGE", Kind::Text),
    col("node", "NODE", Kind::Text).priority(1),
    col("type", "TYPE", Kind::Text).priority(2),
    col("content", "CONTENT", Kind::Text).free().priority(3),
    col("shared", "SHARED", Kind::Flag).priority(4),
    col("used", "USED", Kind::Bytes).priority(3),
    col("total", "TOTAL", Kind::Bytes),
    col("avail", "AVAIL", Kind::Bytes),
    col("used_fraction", "USED%", Kind::Percent),
];

/// TSV of the cluster-wide list: `/cluster/resources`' names.
const RESOURCE_COLUMNS: [Column; 9] = [
    col("storage", "STORAGE", Kind::Text),
    col("node", "NODE", Kind::Text),
    col("plugintype", "PLUGINTYPE", Kind::Text),
    col("content", "CONTENT", Kind::Text),
    col("shared", "SHARED", Kind::Flag),
    col("status", "STATUS", Kind::Text),
    col("disk", "DISK", Kind::Bytes),
    col("maxdisk", "MAXDISK", Kind::Bytes),
    col("nodes", "NODES", Kind::Text),
];

/// TSV of a node's storages and of `storage status`: the names of `/nodes/{node}/storage`.
const NODE_COLUMNS: [Column; 10] = [
    col("storage", "STORAGE", Kind::Text),
    col("node", "NODE", Kind::Text),
    col("type", "TYPE", Kind::Text),
    col("content", "CONTENT", Kind::Text),
    col("shared", "SHARED", Kind::Flag),
    col("enabled", "ENABLED", Kind::Flag),
    col("active", "ACTIVE", Kind::Flag),
    col("used", "USED", Kind::Bytes),
    col("total", "TOTAL", Kind::Bytes),
    col("avail", "AVAIL", Kind::Bytes),
];

/// How the fields of one storage's status read in a table.
const STATUS_KINDS: [Column; 6] = [
    col("shared", "SHARED", Kind::Flag),
    col("enabled", "ENABLED", Kind::Flag),
    col("active", "ACTIVE", Kind::Flag),
    col("used", "USED", Kind::Bytes),
    col("total", "TOTAL", Kind::Bytes),
    col("avail", "AVAIL", Kind::Bytes),
];

const CONTENT_COLUMNS: [Column; 8] = [
    col("volid", "VOLID", Kind::Text),
    col("content", "CONTENT", Kind::Text).priority(2),
    col("format", "FORMAT", Kind::Text).priority(3),
    col("size", "SIZE", Kind::Bytes).priority(1),
    col("vmid", "VMID", Kind::Text).priority(2),
    col("ctime", "CREATED", Kind::Epoch).priority(5),
    col("ctime", "AGE", Kind::Age).priority(1),
    col("node", "NODE", Kind::Text).priority(4),
];
