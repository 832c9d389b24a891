//! `backup create|list|restore|delete|prune|jobs`.
//!
//! vzdump is node-local: PVE backs up only the guests on the node the request goes to. `create`
//! groups the targets by node, starts one vzdump per node at once, and reports a guest as backed
//! up only when its task log says `Finished Backup of VM N`. This module holds what the verbs
//! share: where backups are stored and how to find one.

mod create;
mod delete;
mod jobs;
mod list;
mod prune;
mod restore;

use std::collections::HashSet;

use futures_util::future::join_all;
use serde_json::Value;

use super::Ctx;
use crate::api::cluster::Resource;
use crate::api::storage::{self, Volume};
use crate::api::vzdump::archive_identity;
use crate::api::{Client, GuestKind};
use crate::cli::{BackupCmd, Selectors};
use crate::error::CliError;
use crate::targets;

pub async fn run(ctx: &Ctx, cmd: BackupCmd) -> anyhow::Result<()> {
    match cmd {
        BackupCmd::Create(a) => create::run(ctx, *a).await,
        BackupCmd::List(a) => list::run(ctx, a).await,
        BackupCmd::Restore(a) => restore::run(ctx, a).await,
        BackupCmd::Delete(a) => delete::run(ctx, a).await,
        BackupCmd::Prune(a) => prune::run(ctx, a).await,
        BackupCmd::Jobs => jobs::run(ctx).await,
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// A backup archive where it was found.
#[derive(Debug, Clone)]
struct Found {
    node: String,
    storage: String,
    volume: Volume,
}

/// The (storage, node) pairs to read backups from: storages with `backup` content, a shared one
/// once. Unavailable ones are skipped with a warning.
fn backup_stores(
    ctx: &Ctx,
    resources: &[Resource],
    storage: Option<&str>,
    node: Option<&str>,
) -> Vec<(String, String)> {
    let mut pairs = vec![];
    let mut shared_done = HashSet::new();
    let mut candidates: Vec<&Resource> = resources
        .iter()
        .filter(|r| r.kind == "storage" && r.holds("backup"))
        .filter(|r| storage.is_none_or(|s| r.storage.as_deref() == Some(s)))
        .filter(|r| node.is_none_or(|n| r.node.as_deref() == Some(n)))
        .collect();
    // Available copies first, so a shared storage is read where it works.
    candidates.sort_by_key(|r| r.status.as_deref() != Some("available"));
    for r in candidates {
        let (Some(s), Some(n)) = (&r.storage, &r.node) else {
            continue;
        };
        if r.shared && !shared_done.insert(s.clone()) {
            continue;
        }
        if r.status.as_deref() != Some("available") {
            ctx.out.warn(&format!(
                "storage {s} on {n} is {}: its backups are not listed",
                r.status.as_deref().unwrap_or("unknown")
            ));
            continue;
        }
        pairs.push((s.clone(), n.clone()));
    }
    pairs
}

/// Every backup on the given stores (concurrently); a store that cannot be read is reported as
/// a warning and counted in the error returned beside the list.
async fn read_backups(
    ctx: &Ctx,
    client: &Client,
    stores: &[(String, String)],
    vmid: Option<u32>,
) -> (Vec<Found>, Option<anyhow::Error>) {
    let fetches = stores.iter().map(|(s, n)| async move {
        (
            s,
            n,
            storage::content(client, n, s, Some("backup"), vmid).await,
        )
    });
    let mut found = vec![];
    let mut first_error = None;
    for (s, n, result) in join_all(fetches).await {
        match result {
            Ok(volumes) => found.extend(volumes.into_iter().map(|v| Found {
                node: n.clone(),
                storage: s.clone(),
                volume: v,
            })),
            Err(e) => {
                ctx.out
                    .warn(&format!("cannot list backups on {s} ({n}): {e}"));
                first_error.get_or_insert_with(|| e.into());
            }
        }
    }
    (found, first_error)
}

/// The VMIDs the guest arguments name: a bare VMID also for a guest that no longer exists.
fn wanted_vmids(resources: &[Resource], specs: &[String]) -> Result<Option<Vec<u32>>, CliError> {
    if specs.is_empty() {
        return Ok(None);
    }
    let mut ids = vec![];
    for spec in specs {
        let spec = spec.trim();
        if let Ok(id) = spec.parse::<u32>() {
            ids.push(id);
            continue;
        }
        let sel = targets::select_any(
            resources,
            &[spec.to_string()],
            false,
            &Selectors::default(),
            true,
        )?;
        ids.extend(sel.guests.iter().map(|g| g.vmid));
    }
    Ok(Some(ids))
}

/// QEMU or LXC, from PVE's `subtype` or the archive's name.
fn backup_kind(v: &Volume) -> Option<GuestKind> {
    if let Some(k) = v.extra.get("subtype").and_then(Value::as_str) {
        if let Some(k) = GuestKind::from_type(k) {
            return Some(k);
        }
    }
    archive_identity(&v.volid).map(|(k, _)| k)
}

/// Find a backup volume: on a shared storage any node sees it, on a local one the node that has it.
async fn locate(
    ctx: &Ctx,
    client: &Client,
    resources: &[Resource],
    volid: &str,
    node: Option<&str>,
) -> anyhow::Result<Found> {
    let Some((storage, _)) = volid.split_once(':') else {
        return Err(CliError::usage(format!(
            "'{volid}' is not a volume ID: expected STORAGE:backup/… (see `pvectl backup list`)"
        ))
        .into());
    };
    if !resources
        .iter()
        .any(|r| r.kind == "storage" && r.storage.as_deref() == Some(storage))
    {
        return Err(CliError::not_found(format!(
            "no storage '{storage}' in the cluster (see `pvectl storage list`)"
        ))
        .into());
    }
    let stores = backup_stores(ctx, resources, Some(storage), node);
    let (found, error) = read_backups(
        ctx,
        client,
        &stores,
        archive_identity(volid).map(|(_, id)| id),
    )
    .await;
    if let Some(f) = found.into_iter().find(|f| f.volume.volid == volid) {
        return Ok(f);
    }
    if let Some(e) = error {
        return Err(e.context(format!(
            "backup {volid} not found on the storages that could be read"
        )));
    }
    Err(CliError::not_found(format!(
        "no backup {volid} (see `pvectl backup list --storage {storage}`)"
    ))
    .into())
}
