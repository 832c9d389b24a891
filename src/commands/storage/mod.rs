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
use crate::api::storage;
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
                ctx.out.list(&LIST_COLUMNS, &rows)
            }
            None => {
                let resources = cluster::resources(&client, Some(ResourceType::Storage)).await?;
                ctx.out.list(&LIST_COLUMNS, &cluster_rows(&resources))
            }
        },
        StorageCmd::Status {
            storage: name,
            node,
        } => {
            let node = match ctx.node_or(node.as_deref()) {
                Some(n) => n,
                None => storage_nodes(&client, &name).await?.remove(0),
            };
            let mut status = storage::status(&client, &node, &name).await?;
            status.insert("storage".into(), json!(name));
            status.insert("node".into(), json!(node));
            ctx.out.object(&Value::Object(status), &LIST_COLUMNS)
        }
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

/// One row per storage and node, a shared storage once (with every node that has it in `nodes`).
fn cluster_rows(resources: &[Resource]) -> Vec<Value> {
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
        // Raw values as PVE sent them (bytes stay integers in JSON).
        let used = r.field("disk").filter(|v| v.is_number());
        let total = r.field("maxdisk").filter(|v| v.is_number());
        let mut row = json!({
            "storage": name,
            "node": r.node,
            "type": r.field("plugintype"),
            "content": r.field("content"),
            "shared": u8::from(r.shared),
            "status": r.status,
            "used": used,
            "total": total,
            "used_fraction": match (used.as_ref().and_then(Value::as_f64), total.as_ref().and_then(Value::as_f64)) {
                (Some(u), Some(t)) if t > 0.0 => Some(u / t),
                _ => None,
            },
        });
        if r.shared {
            row["nodes"] = json!(shared.get(name).cloned().unwrap_or_default().join(","));
        }
        rows.push(row);
    }
    rows.sort_by(|a, b| {
        (a["storage"].as_str(), a["node"].as_str())
            .cmp(&(b["storage"].as_str(), b["node"].as_str()))
    });
    rows
}

const LIST_COLUMNS: [Column; 9] = [
    col("storage", "STORAGE", Kind::Text),
    col("node", "NODE", Kind::Text),
    col("type", "TYPE", Kind::Text),
    col("content", "CONTENT", Kind::Text),
    col("shared", "SHARED", Kind::Flag),
    col("used", "USED", Kind::Bytes),
    col("total", "TOTAL", Kind::Bytes),
    col("avail", "AVAIL", Kind::Bytes),
    col("used_fraction", "USED%", Kind::Percent),
];

const CONTENT_COLUMNS: [Column; 7] = [
    col("volid", "VOLID", Kind::Text),
    col("content", "CONTENT", Kind::Text),
    col("format", "FORMAT", Kind::Text),
    col("size", "SIZE", Kind::Bytes),
    col("vmid", "VMID", Kind::Text),
    col("ctime", "CREATED", Kind::Epoch),
    col("node", "NODE", Kind::Text),
];
