//! `vm|ct disk move`: a disk to another storage (QEMU `move_disk`, live for a running VM; LXC
//! `move_volume`, stopped containers only), or to another guest of the same kind on the same node
//! (`--target-vmid`). Waited for with a progress bar from the task log.

use super::{check_disk_storage, find, load};
use crate::api::guest::config;
use crate::api::guest::disk::{self, bus_of, next_free, MoveOptions};
use crate::api::GuestKind;
use crate::cli::MoveArgs;
use crate::commands::guest::concurrent_edit;
use crate::commands::kit::settle_shaped;
use crate::commands::Ctx;
use crate::error::CliError;
use crate::targets::{self, KindWords};
use crate::task::{ActionResult, Session, LONG_WAIT};

pub async fn run(
    ctx: &Ctx,
    kind: GuestKind,
    a: MoveArgs,
    format: Option<String>,
    target_key: Option<String>,
) -> anyhow::Result<()> {
    let timeout = ctx.wait_limit(a.wait.wait_timeout.as_deref(), LONG_WAIT)?;
    if a.delete && a.target_vmid.is_some() {
        return Err(CliError::usage(
            "--delete is for moves to a storage: a disk moved to another guest leaves nothing behind",
        )
        .into());
    }
    let client = ctx.client()?;
    let (g, cfg) = load(&client, kind, &a.guest, a.node.as_deref()).await?;
    let d = find(&g, &cfg, a.disk.trim())?;
    let key = d.key.clone();
    if d.is_cdrom() && !d.is_cloudinit() {
        return Err(CliError::usage(format!(
            "{key} of {} is a CD-ROM drive: there is no disk to move",
            g.label()
        ))
        .into());
    }
    if d.volume().starts_with('/') {
        return Err(CliError::usage(format!(
            "{key} of {} is {} on the host, not a volume PVE can move",
            g.label(),
            d.volume()
        ))
        .into());
    }
    let running = g.status.as_deref() == Some("running");
    let mut o = MoveOptions {
        delete: a.delete,
        bwlimit: a.bwlimit,
        digest: cfg.digest().map(str::to_string),
        ..MoveOptions::default()
    };
    let action;
    match (&a.storage, a.target_vmid) {
        (Some(storage), _) => {
            action = "move";
            let same_format = format
                .as_deref()
                .is_none_or(|f| d.format().as_deref() == Some(f));
            if d.storage() == Some(storage.as_str()) && same_format {
                let r = ActionResult::for_guest(&g, action)
                    .done(&format!("already on {storage} ({key})"));
                let s = Session::new(&ctx.out, &client, None);
                return s.report(&[r], false);
            }
            check_disk_storage(&client, &g, storage).await?;
            if kind == GuestKind::Lxc && running {
                return Err(CliError::refused(format!(
                    "{} is running: PVE moves a container's volumes only while it is stopped (`pvectl ct shutdown {}`)",
                    g.label(),
                    g.vmid
                ))
                .into());
            }
            o.storage = Some(storage.clone());
            o.format = format;
        }
        (None, Some(target)) => {
            action = "reassign";
            if target == g.vmid {
                return Err(CliError::usage(format!(
                    "--target-vmid {target} is {} itself",
                    g.label()
                ))
                .into());
            }
            let resources = targets::fetch_guests(&client).await?;
            let t = targets::match_spec(&resources, kind, &target.to_string())?.remove(0);
            if t.node != g.node {
                return Err(CliError::usage(format!(
                    "{} is on {} and {} on {}: a disk moves only between guests of the same node (migrate one first)",
                    g.label(),
                    g.node,
                    t.label(),
                    t.node
                ))
                .into());
            }
            let unused = bus_of(kind, &key) == Some("unused");
            if kind == GuestKind::Qemu && running && !unused {
                return Err(CliError::refused(format!(
                    "{} is running: PVE moves a disk to another VM only from a stopped VM, or once it is detached (`pvectl vm disk detach {} {key}`)",
                    g.label(),
                    g.vmid
                ))
                .into());
            }
            if kind == GuestKind::Lxc && key == "rootfs" {
                return Err(CliError::usage(
                    "rootfs cannot move to another container (only mount point volumes can)",
                )
                .into());
            }
            let tcfg = config::get(&client, &t).await?;
            let tkey = match target_key {
                Some(k) => {
                    let k = k.trim().to_string();
                    if !disk::is_disk_key(kind, &k) || (kind == GuestKind::Lxc && k == "rootfs") {
                        return Err(CliError::usage(format!(
                            "'{k}' is no {} disk key for the target",
                            kind.noun()
                        ))
                        .into());
                    }
                    if tcfg.contains(&k) {
                        return Err(CliError::usage(format!(
                            "{k} of {} is in use: pick a free key or leave it out",
                            t.label()
                        ))
                        .into());
                    }
                    k
                }
                None if !tcfg.contains(&key) => key.clone(),
                None => {
                    let bus = bus_of(kind, &key).unwrap_or("unused");
                    next_free(kind, &tcfg, bus).ok_or_else(|| {
                        CliError::refused(format!("{} has no free {bus} slot", t.label()))
                    })?
                }
            };
            o.target_vmid = Some(t.vmid);
            o.target_key = Some(tkey);
            o.target_digest = tcfg.digest().map(str::to_string);
        }
        (None, None) => {
            return Err(CliError::usage("give a target storage, or --target-vmid").into());
        }
    }
    let answer = disk::move_to(&client, &g, &key, &o)
        .await
        .map_err(|e| concurrent_edit(&g, e))?;
    let session = Session::new(&ctx.out, &client, timeout);
    let where_to = match (&o.storage, o.target_vmid, &o.target_key) {
        (Some(s), _, _) => format!("{key} → {s}"),
        (None, Some(t), Some(k)) => format!("{key} → {t} as {k}"),
        _ => key.clone(),
    };
    let mut r = session
        .run(settle_shaped(
            &session,
            Ok(answer),
            ActionResult::for_guest(&g, action),
            "OK",
            a.wait.no_wait,
            |b| b.transfer(),
        ))
        .await?;
    if r.ok && !a.wait.no_wait {
        r.message = format!("{where_to} ({})", r.message);
        // The source stays as an unusedN entry unless --delete: say which.
        if o.storage.is_some() && !o.delete {
            if let Ok(after) = config::get(&client, &g).await {
                let old = d.volume();
                let kept = disk::drives(kind, &after)
                    .into_iter()
                    .find(|x| bus_of(kind, &x.key) == Some("unused") && x.volume() == old);
                if let Some(u) = kept {
                    let remove = match kind {
                        GuestKind::Qemu => {
                            format!("pvectl vm disk detach {} {} --destroy", g.vmid, u.key)
                        }
                        GuestKind::Lxc => format!("pvectl ct set {} --delete {}", g.vmid, u.key),
                    };
                    r.message.push_str(&format!(
                        "; the source {old} stays as {} (`{remove}` removes it)",
                        u.key
                    ));
                }
            }
        }
    }
    session.report(&[r], a.wait.no_wait)
}
