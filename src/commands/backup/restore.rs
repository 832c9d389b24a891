//! `backup restore`: an archive back as a VM or container, to its own VMID or the next free one.

use super::{backup_kind, backup_stores, locate, read_backups, wanted_vmids, Ctx, Found};
use crate::api::cluster::{self, Resource};
use crate::api::guest::provision;
use crate::api::vzdump::{self, archive_identity};
use crate::api::{Client, GuestKind, Params};
use crate::cli::BackupRestoreArgs;
use crate::error::CliError;
use crate::targets::{self, KindWords};
use crate::task::{self, ActionResult, LONG_WAIT};

pub async fn run(ctx: &Ctx, a: BackupRestoreArgs) -> anyhow::Result<()> {
    let timeout = ctx.wait_limit(a.wait.wait_timeout.as_deref(), LONG_WAIT)?;
    let client = ctx.client()?;
    let resources = cluster::resources(&client, None).await?;
    let found = if a.latest {
        latest(ctx, &client, &resources, &a.volid, a.node.as_deref()).await?
    } else {
        locate(ctx, &client, &resources, a.volid.trim(), a.node.as_deref()).await?
    };
    let volid = found.volume.volid.clone();
    let (kind, archive_vmid) = match (backup_kind(&found.volume), archive_identity(&volid)) {
        (Some(k), Some((_, id))) => (k, id),
        (k, id) => {
            let kind = match k {
                Some(k) => k,
                None => kind_from_config(&client, &found.node, &volid).await?,
            };
            let id = id.map(|(_, id)| id).or(found.volume.vmid).ok_or_else(|| {
                CliError::usage(format!("cannot tell the VMID of {volid}: give --vmid"))
            })?;
            (kind, id)
        }
    };
    let guests_now = targets::fetch_from(&resources);
    let in_use = |id: u32| guests_now.iter().find(|g| g.vmid == id);
    let vmid = match a.vmid {
        Some(id) => {
            if let Some(g) = in_use(id) {
                if !a.force {
                    return Err(CliError::usage(format!(
                        "VMID {id} is in use by {} on {}: add --force to overwrite it, or choose another --vmid",
                        g.label(),
                        g.node
                    ))
                    .into());
                }
            }
            id
        }
        None => match in_use(archive_vmid) {
            Some(g) if !a.force => {
                let next = cluster::next_id(&client).await?;
                ctx.out.info(&format!(
                    "VMID {archive_vmid} is in use by {} on {}: restoring as {next} (--force overwrites {archive_vmid}, --vmid picks another)",
                    g.label(),
                    g.node
                ));
                next
            }
            _ => archive_vmid,
        },
    };
    let existing = in_use(vmid).cloned();
    let node = match (&a.node, &existing) {
        (Some(n), _) => n.clone(),
        (None, Some(g)) => g.node.clone(),
        (None, None) => found.node.clone(),
    };
    if let Some(g) = &existing {
        if g.kind != kind {
            return Err(CliError::usage(format!(
                "{vmid} is {} and {volid} is a {} backup: choose another --vmid",
                g.kind.a_noun(),
                kind.noun()
            ))
            .into());
        }
        if g.status.as_deref() == Some("running") {
            return Err(CliError::refused(format!(
                "{} is running: stop it first (`pvectl {} stop {vmid}`); a running guest is never overwritten",
                g.label(),
                kind.command()
            ))
            .into());
        }
        ctx.confirm(
            &format!("Overwrite {} on {} with {volid}?", g.label(), g.node),
            &[],
            a.yes,
        )?;
    }
    // A restore is a create with the archive: `archive` for QEMU, `ostemplate` + `restore` for LXC.
    let mut params = Params::new().set("vmid", vmid);
    match kind {
        GuestKind::Qemu => params.push("archive", &volid),
        GuestKind::Lxc => {
            params.push("ostemplate", &volid);
            params.push("restore", 1);
        }
    }
    let params = params
        .opt("storage", a.storage.as_deref())
        .flag_if("force", existing.is_some())
        .flag_if("unique", a.unique)
        .flag_if("start", a.start)
        .opt("pool", a.pool.as_deref())
        .opt("bwlimit", a.bwlimit);
    let mut result = ActionResult::new(format!("{volid} → {vmid}"), node.clone(), "restore");
    result.vmid = Some(vmid);
    result.kind = Some(kind);
    result.volid = Some(volid.clone());
    let answer = provision::create(&client, kind, &node, &params).await?;
    task::finish_one(&ctx.out, &client, timeout, result, answer, a.wait.no_wait).await
}

/// The newest backup of a guest (by VMID, or by the name of a guest that still exists).
async fn latest(
    ctx: &Ctx,
    client: &Client,
    resources: &[Resource],
    spec: &str,
    node: Option<&str>,
) -> anyhow::Result<Found> {
    let ids = wanted_vmids(resources, &[spec.to_string()])?.unwrap_or_default();
    let [vmid] = ids[..] else {
        return Err(CliError::usage(format!(
            "'{spec}' names {} guests: --latest takes one",
            ids.len()
        ))
        .into());
    };
    let stores = backup_stores(ctx, resources, None, node);
    let (mut found, error) = read_backups(ctx, client, &stores, Some(vmid)).await;
    found.retain(|f| f.volume.vmid == Some(vmid));
    found.sort_by_key(|f| std::cmp::Reverse(f.volume.ctime()));
    match (found.into_iter().next(), error) {
        (Some(f), _) => {
            ctx.out
                .info(&format!("newest backup of {vmid}: {}", f.volume.volid));
            Ok(f)
        }
        (None, Some(e)) => Err(e.context(format!(
            "no backup of {vmid} on the storages that could be read"
        ))),
        (None, None) => Err(CliError::not_found(format!(
            "no backup of guest {vmid} (see `pvectl backup list`)"
        ))
        .into()),
    }
}

/// QEMU or LXC from the configuration stored in the archive (a container's has `rootfs`).
async fn kind_from_config(client: &Client, node: &str, volid: &str) -> anyhow::Result<GuestKind> {
    let text = vzdump::extract_config(client, node, volid).await?;
    Ok(if vzdump::config_is_container(&text) {
        GuestKind::Lxc
    } else {
        GuestKind::Qemu
    })
}
