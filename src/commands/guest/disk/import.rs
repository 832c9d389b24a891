//! `vm disk import`: a disk image becomes a new disk of a VM, on the next free slot of a bus
//! (PVE's `STORAGE:0,import-from=SOURCE` in a configuration change, a `qmconfig` task that copies
//! the image with `qemu-img convert`, progress from its log).

use super::{check_disk_storage, load};
use crate::api::guest::config::{self, is_stale_digest};
use crate::api::guest::disk::{self, bus_of, next_free};
use crate::api::{storage, ApiError, Client, GuestKind, Params};
use crate::cli::ImportArgs;
use crate::commands::guest::{concurrent_edit, stale_digest_message};
use crate::commands::kit::settle_shaped;
use crate::commands::Ctx;
use crate::error::{CliError, ErrorKind};
use crate::output::bytes;
use crate::task::{ActionResult, Session, LONG_WAIT};

/// What kind of volume a volume ID names, by the directory of its name.
fn source_problem(volid: &str) -> Option<String> {
    let (_, name) = volid.split_once(':')?;
    let what = match name.split_once('/').map(|(dir, _)| dir) {
        Some("iso") => {
            "an ISO image (it can go into a CD drive: `pvectl vm set VM ide2=…,media=cdrom`)"
        }
        Some("vztmpl") => "a container template",
        Some("backup") => "a backup (restore it with `pvectl backup restore`)",
        Some("snippets") => "a snippet",
        _ => return None,
    };
    Some(format!(
        "{volid} is {what}, not a disk image: PVE imports disk images (import content such as local:import/x.qcow2, or a VM disk)"
    ))
}

/// Check that the source volume exists on `node`, the node of the VM `who`; its size in bytes
/// when PVE says.
pub(crate) async fn check_source(
    client: &Client,
    node: &str,
    who: &str,
    source: &str,
) -> anyhow::Result<Option<u64>> {
    if source.starts_with('/') {
        // A path on the node: only root@pam may import one, and PVE checks it.
        return Ok(None);
    }
    let Some((storage, _)) = source.split_once(':') else {
        return Err(CliError::usage(format!(
            "'{source}' is neither a volume ID (STORAGE:NAME, e.g. local:import/debian-13.qcow2) nor an absolute path"
        ))
        .into());
    };
    if let Some(why) = source_problem(source) {
        return Err(CliError::usage(why).into());
    }
    match storage::volume_info(client, node, storage, source).await {
        Ok(info) => Ok(info.get("size").and_then(serde_json::Value::as_u64)),
        Err(e @ (ApiError::NotFound { .. } | ApiError::Refused { .. })) => {
            Err(CliError::not_found(format!(
                "no volume {source} on {node}, the node of {who} ({e}); see `pvectl storage content {storage} --node {node}`"
            ))
            .into())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn run(ctx: &Ctx, a: ImportArgs) -> anyhow::Result<()> {
    let kind = GuestKind::Qemu;
    let timeout = ctx.wait_limit(a.wait.wait_timeout.as_deref(), LONG_WAIT)?;
    let source = a.source.trim().to_string();
    if !source.starts_with('/') && !source.contains(':') {
        return Err(CliError::usage(format!(
            "'{source}' is neither a volume ID (STORAGE:NAME, e.g. local:import/debian-13.qcow2) nor an absolute path (upload a local file first: `pvectl storage upload STORAGE FILE`)"
        ))
        .into());
    }
    let client = ctx.client()?;
    let (g, cfg) = load(&client, kind, &a.guest, a.node.as_deref()).await?;
    let key = match &a.as_key {
        Some(k) => {
            let k = k.trim().to_string();
            match bus_of(kind, &k) {
                Some("scsi" | "virtio" | "sata" | "ide") => {}
                _ => {
                    return Err(CliError::usage(format!(
                        "--as {k}: give a disk slot such as scsi1, virtio0, sata2 or ide1"
                    ))
                    .into())
                }
            }
            if cfg.contains(&k) {
                return Err(CliError::usage(format!(
                    "{k} of {} is in use: pick a free slot, or leave --as out for the next free one",
                    g.label()
                ))
                .into());
            }
            k
        }
        None => next_free(kind, &cfg, a.bus.as_str()).ok_or_else(|| {
            CliError::refused(format!(
                "every {} slot of {} is in use: pick another --bus",
                a.bus.as_str(),
                g.label()
            ))
        })?,
    };
    check_disk_storage(&client, &g, &a.storage).await?;
    let size = check_source(&client, &g.node, &g.label(), &source).await?;
    let value = disk::import_value(&a.storage, &source, a.format.as_deref());
    let params = Params::new().set(&key, &value).opt("digest", cfg.digest());
    let answer = config::write(&client, &g, &params)
        .await
        .map_err(|e| concurrent_edit(&g, e))?;
    let session = Session::new(&ctx.out, &client, timeout);
    session.progress.println(&format!(
        "{}: importing {source}{} as {key} on {}",
        g.label(),
        size.map(|s| format!(" ({})", bytes(s as f64)))
            .unwrap_or_default(),
        a.storage
    ));
    let mut r = session
        .run(settle_shaped(
            &session,
            Ok(answer),
            ActionResult::for_guest(&g, "import"),
            "OK",
            a.wait.no_wait,
            |b| b.transfer(),
        ))
        .await?;
    if let Some(x) = r.exitstatus.clone().filter(|x| !r.ok && is_stale_digest(x)) {
        r = r.fail(ErrorKind::Refused, stale_digest_message(&x));
        r.log_tail.clear();
    }
    if r.ok && !a.wait.no_wait {
        let now = config::get(&client, &g)
            .await
            .ok()
            .and_then(|c| c.text(&key));
        r.message = match now {
            Some(v) => format!("{key}: {v} ({})", r.message),
            None => format!("{key} ({})", r.message),
        };
    }
    session.report(&[r], a.wait.no_wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_disk_images_are_imported() {
        assert!(source_problem("local:iso/debian.iso")
            .unwrap()
            .contains("ISO"));
        assert!(source_problem("local:vztmpl/a.tar.zst").is_some());
        assert!(source_problem("local:import/d.qcow2").is_none());
        assert!(source_problem("local-lvm:vm-100-disk-0").is_none());
    }
}
