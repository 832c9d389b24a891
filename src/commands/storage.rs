//! `storage list|status|content`. A shared storage is the same on every node: it is listed and
//! read once.

use std::collections::BTreeMap;

use futures_util::future::join_all;
use serde_json::{json, Value};

use super::nodes::unknown_node;
use super::Ctx;
use crate::api::types::{Resource, StorageStatus, Volume};
use crate::api::{seg, Client, Params};
use crate::cli::StorageCmd;
use crate::error::CliError;
use crate::output::{col, Column, Kind};

pub async fn run(ctx: &Ctx, cmd: StorageCmd) -> anyhow::Result<()> {
    let client = ctx.client()?;
    match cmd {
        StorageCmd::List { node } => match node {
            Some(node) => {
                let list: Vec<StorageStatus> = client
                    .get(&format!("/nodes/{}/storage", seg(&node)), &Params::new())
                    .await
                    .map_err(unknown_node(&node))?;
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
                let resources = storages(&client).await?;
                ctx.out.list(&LIST_COLUMNS, &cluster_rows(&resources))
            }
        },
        StorageCmd::Status { storage, node } => {
            let node = match ctx.node_or(node.as_deref()) {
                Some(n) => n,
                None => nodes_with(&client, &storage).await?.remove(0),
            };
            let mut status: serde_json::Map<String, Value> = client
                .get(
                    &format!("/nodes/{}/storage/{}/status", seg(&node), seg(&storage)),
                    &Params::new(),
                )
                .await
                .map_err(unknown_node(&node))?;
            status.insert("storage".into(), json!(storage));
            status.insert("node".into(), json!(node));
            ctx.out.object(&Value::Object(status), &LIST_COLUMNS)
        }
        StorageCmd::Content {
            storage,
            content,
            vmid,
            node,
        } => {
            let nodes = match node {
                Some(n) => vec![n],
                None => nodes_with(&client, &storage).await?,
            };
            let params = Params::new().opt("content", content).opt("vmid", vmid);
            let path = |n: &str| format!("/nodes/{}/storage/{}/content", seg(n), seg(&storage));
            let fetches = nodes.iter().map(|n| {
                let (client, params, path) = (&client, &params, path(n));
                async move {
                    client
                        .get::<Vec<Volume>>(&path, params)
                        .await
                        .map(|v| (n.clone(), v))
                        .map_err(unknown_node(n))
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
    }
}

async fn storages(client: &Client) -> anyhow::Result<Vec<Resource>> {
    Ok(client
        .get("/cluster/resources", &Params::new().set("type", "storage"))
        .await?)
}

/// The nodes to read a storage from: one for a shared storage, every node that has a local one.
pub(crate) async fn nodes_with(client: &Client, storage: &str) -> anyhow::Result<Vec<String>> {
    Ok(nodes_holding(&storages(client).await?, storage)?)
}

/// The nodes of `nodes_with`, from the storage entries of `/cluster/resources`; never empty.
fn nodes_holding(all: &[Resource], storage: &str) -> Result<Vec<String>, CliError> {
    let mine: Vec<&Resource> = all
        .iter()
        .filter(|r| r.storage.as_deref() == Some(storage) && r.node.is_some())
        .collect();
    if mine.is_empty() {
        return Err(CliError::not_found(format!(
            "no storage '{storage}' in the cluster (see `pvectl storage list`)"
        )));
    }
    let available = |r: &&&Resource| r.status.as_deref() == Some("available");
    if mine.iter().any(|r| r.shared) {
        let pick = mine.iter().find(available).unwrap_or(&mine[0]);
        return Ok(pick.node.clone().into_iter().collect());
    }
    Ok(mine.iter().filter_map(|r| r.node.clone()).collect())
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
        let used = r.extra.get("disk").filter(|v| v.is_number());
        let total = r.extra.get("maxdisk").filter(|v| v.is_number());
        let mut row = json!({
            "storage": name,
            "node": r.node,
            "type": r.extra.get("plugintype"),
            "content": r.extra.get("content"),
            "shared": u8::from(r.shared),
            "status": r.status,
            "used": used,
            "total": total,
            "used_fraction": match (used.and_then(Value::as_f64), total.and_then(Value::as_f64)) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn storage(name: &str, node: Option<&str>, shared: bool) -> Resource {
        serde_json::from_value(json!({
            "id": format!("storage/{}/{name}", node.unwrap_or("?")), "type": "storage",
            "storage": name, "node": node, "shared": u8::from(shared), "status": "available",
        }))
        .unwrap()
    }

    #[test]
    fn nodes_holding_a_storage_are_never_an_empty_list() {
        let all = vec![
            storage("local", Some("pve1"), false),
            storage("local", Some("pve2"), false),
            storage("nfs", Some("pve1"), true),
            storage("nfs", Some("pve2"), true),
            storage("odd", None, false),
        ];
        assert_eq!(nodes_holding(&all, "local").unwrap(), vec!["pve1", "pve2"]);
        assert_eq!(nodes_holding(&all, "nfs").unwrap(), vec!["pve1"]);
        // An entry without a node cannot be read anywhere: not found, not an empty list.
        assert_eq!(nodes_holding(&all, "odd").unwrap_err().code, 5);
        assert_eq!(nodes_holding(&all, "nope").unwrap_err().code, 5);
    }
}
