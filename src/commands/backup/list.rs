//! `backup list`: every backup archive, newest first, each guest named as it is called now.

use std::collections::{BTreeMap, HashSet};

use serde_json::{json, Value};

use super::{backup_kind, backup_stores, read_backups, wanted_vmids, Ctx};
use crate::api::cluster;
use crate::api::de::truthy;
use crate::api::GuestKind;
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
    let rows: Vec<Value> = found
        .iter()
        .map(|f| {
            let v = &f.volume;
            let x = |k: &str| v.extra.get(k).cloned().unwrap_or(Value::Null);
            json!({
                "volid": v.volid,
                "vmid": v.vmid,
                "name": v.vmid.and_then(|id| names.get(&id).copied()),
                "type": backup_kind(v).map(GuestKind::as_str),
                "size": x("size"),
                "ctime": x("ctime"),
                "notes": x("notes"),
                "protected": truthy(&x("protected")),
                "storage": f.storage,
                "node": if shared.contains(f.storage.as_str()) { Value::Null } else { json!(f.node) },
                "format": x("format"),
            })
        })
        .collect();
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
    col("type", "TYPE", Kind::Text).priority(3),
    col("size", "SIZE", Kind::Bytes).priority(1),
    col("ctime", "CREATED", Kind::Epoch).priority(5),
    col("ctime", "AGE", Kind::Age).priority(1),
    col("notes", "NOTES", Kind::Text).free().priority(3),
    col("protected", "PROTECTED", Kind::Flag).priority(6),
    col("storage", "STORAGE", Kind::Text).priority(4),
    col("node", "NODE", Kind::Text).priority(4),
];
