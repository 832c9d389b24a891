//! `backup list`: every backup archive, newest first, each guest named as it is called now.

use std::collections::{BTreeMap, HashSet};

use serde_json::{json, Value};

use super::{backup_kind, backup_stores, read_backups, wanted_vmids, Ctx};
use crate::api::cluster;
use crate::cli::BackupListArgs;
use crate::error::CliError;
use crate::output::{col, Column, Kind};

pub async fn run(ctx: &Ctx, a: BackupListArgs) -> anyhow::Result<()> {
    let client = ctx.client()?;
    // Guests (for their current names) and storages in one request.
    let resources = cluster::resources(&client, None).await?;
    let wanted = wanted_vmids(&resources, &a.guests)?;
    let stores = backup_stores(ctx, &resources, a.storage.as_deref(), a.node.as_deref());
    if stores.is_empty() {
        if let Some(s) = &a.storage {
            if !resources.iter().any(|r| r.storage.as_deref() == Some(s)) {
                return Err(CliError::not_found(format!(
                    "no storage '{s}' in the cluster (see `pvectl storage list`)"
                ))
                .into());
            }
            return Err(CliError::refused(format!(
                "storage '{s}' does not hold backups (its content types lack 'backup')"
            ))
            .into());
        }
    }
    let one = wanted.as_ref().filter(|w| w.len() == 1).map(|w| w[0]);
    let (mut found, error) = read_backups(ctx, &client, &stores, one).await;
    if let Some(w) = &wanted {
        found.retain(|f| f.volume.vmid.is_some_and(|v| w.contains(&v)));
    }
    found.sort_by(|a, b| {
        b.volume
            .ctime()
            .cmp(&a.volume.ctime())
            .then_with(|| a.volume.volid.cmp(&b.volume.volid))
    });
    let names: BTreeMap<u32, &str> = resources
        .iter()
        .filter_map(|r| Some((r.vmid?, r.name.as_deref()?)))
        .collect();
    let shared: HashSet<&str> = resources
        .iter()
        .filter(|r| r.kind == "storage" && r.shared)
        .filter_map(|r| r.storage.as_deref())
        .collect();
    let people = ctx.out.tabular();
    let rows: Vec<Value> = found
        .iter()
        .map(|f| {
            // PVE's content entry as it is, and where it was found; the guest's name as it is
            // called now (when it still exists); a shared storage's backups belong to no node.
            let v = &f.volume;
            let mut row = serde_json::to_value(v)?;
            if let Some(name) = v.vmid.and_then(|id| names.get(&id)) {
                row["name"] = json!(name);
            }
            row["storage"] = json!(f.storage);
            if !shared.contains(f.storage.as_str()) {
                row["node"] = json!(f.node);
            }
            if people {
                if let Some(kind) = backup_kind(v) {
                    row["subtype"] = json!(kind.as_str());
                }
            }
            Ok(row)
        })
        .collect::<anyhow::Result<_>>()?;
    ctx.out.list(&LIST_COLUMNS, &rows)?;
    match error {
        Some(e) => Err(e.context("some storages could not be read: the list above is incomplete")),
        None => Ok(()),
    }
}

/// On a narrow terminal the volid stays whole; notes are shortened, then the columns go from
/// PROTECTED to SIZE and AGE.
const LIST_COLUMNS: [Column; 11] = [
    col("volid", "VOLID", Kind::Text),
    col("vmid", "VMID", Kind::Text),
    col("name", "NAME", Kind::Text).priority(2),
    col("subtype", "TYPE", Kind::Text).priority(3),
    col("size", "SIZE", Kind::Bytes).priority(1),
    col("ctime", "CREATED", Kind::Epoch).priority(5),
    col("ctime", "AGE", Kind::Age).priority(1),
    col("notes", "NOTES", Kind::Text).free().priority(3),
    col("protected", "PROTECTED", Kind::Flag).priority(6),
    col("storage", "STORAGE", Kind::Text).priority(4),
    col("node", "NODE", Kind::Text).priority(4),
];
