//! `vm disk …` and `ct disk …`: one implementation per verb for both kinds (a VM's disks and a
//! container's rootfs and mount point volumes), one file per verb.

mod detach;
pub(crate) mod import;
mod list;
mod moving;
mod resize;

use crate::api::cluster::{self, ResourceType};
use crate::api::guest::config::{self, Config};
use crate::api::guest::disk::{drives, Drive};
use crate::api::{Client, GuestKind};
use crate::cli::{CtDiskCmd, VmDiskCmd};
use crate::commands::Ctx;
use crate::error::CliError;
use crate::targets::{self, Guest, KindWords};

pub async fn run_vm(ctx: &Ctx, cmd: VmDiskCmd) -> anyhow::Result<()> {
    let kind = GuestKind::Qemu;
    match cmd {
        VmDiskCmd::List(t) => list::run(ctx, kind, &t).await,
        VmDiskCmd::Resize(a) => resize::run(ctx, kind, a).await,
        VmDiskCmd::Move(a) => moving::run(ctx, kind, a.common, a.format, a.target_disk).await,
        VmDiskCmd::Detach(a) => detach::run(ctx, a).await,
        VmDiskCmd::Import(a) => import::run(ctx, a).await,
    }
}

pub async fn run_ct(ctx: &Ctx, cmd: CtDiskCmd) -> anyhow::Result<()> {
    let kind = GuestKind::Lxc;
    match cmd {
        CtDiskCmd::List(t) => list::run(ctx, kind, &t).await,
        CtDiskCmd::Resize(a) => resize::run(ctx, kind, a).await,
        CtDiskCmd::Move(a) => moving::run(ctx, kind, a.common, None, a.target_volume).await,
    }
}

/// The guest and its configuration.
async fn load(
    client: &Client,
    kind: GuestKind,
    spec: &str,
    node: Option<&str>,
) -> anyhow::Result<(Guest, Config)> {
    let g = targets::resolve_one(client, kind, spec, node).await?;
    let cfg = config::get(client, &g).await?;
    Ok((g, cfg))
}

/// The disk `key` of the guest, or an error naming the disks it has.
fn find(g: &Guest, cfg: &Config, key: &str) -> Result<Drive, CliError> {
    let all = drives(g.kind, cfg);
    if let Some(d) = all.iter().find(|d| d.key == key) {
        return Ok(d.clone());
    }
    let have: Vec<&str> = all.iter().map(|d| d.key.as_str()).collect();
    let what = match g.kind {
        GuestKind::Qemu => "disk",
        GuestKind::Lxc => "volume",
    };
    Err(CliError::not_found(format!(
        "{} has no {what} {key}{} (see `pvectl {} disk list {}`)",
        g.label(),
        if have.is_empty() {
            String::new()
        } else {
            format!("; it has {}", have.join(", "))
        },
        g.kind.command(),
        g.vmid
    )))
}

/// The content type a disk needs on its storage: VM images, or container root directories.
fn disk_content(kind: GuestKind) -> &'static str {
    match kind {
        GuestKind::Qemu => "images",
        GuestKind::Lxc => "rootdir",
    }
}

/// Check that `storage` exists on the guest's node and holds disks of its kind.
async fn check_disk_storage(client: &Client, g: &Guest, storage: &str) -> anyhow::Result<()> {
    check_disk_storage_on(client, g.kind, &g.node, storage, &g.label()).await
}

/// Check that `storage` exists on `node` and holds disks of guests of `kind` (`who` is the guest
/// the disk is for, in messages).
pub(crate) async fn check_disk_storage_on(
    client: &Client,
    kind: GuestKind,
    node: &str,
    storage: &str,
    who: &str,
) -> anyhow::Result<()> {
    let all = cluster::resources(client, Some(ResourceType::Storage)).await?;
    let mine: Vec<_> = all
        .iter()
        .filter(|r| r.storage.as_deref() == Some(storage))
        .collect();
    if mine.is_empty() {
        return Err(CliError::not_found(format!(
            "no storage '{storage}' in the cluster (see `pvectl storage list`)"
        ))
        .into());
    }
    let Some(here) = mine.iter().find(|r| r.node.as_deref() == Some(node)) else {
        return Err(CliError::not_found(format!(
            "storage '{storage}' is not available on {node}, the node of {who}"
        ))
        .into());
    };
    let want = disk_content(kind);
    if !here.holds(want) {
        return Err(CliError::usage(format!(
            "storage '{storage}' does not hold {} disks (it takes: {}): pick one with {want} content (see `pvectl storage list`)",
            kind.noun(),
            here.content_types().join(", ")
        ))
        .into());
    }
    Ok(())
}
