//! `vm disk detach`: take a disk off a VM (`PUT …/unlink`). Its volume stays as an `unusedN`
//! entry; with `--destroy` (asked, or `--yes`) the volume is destroyed.

use serde_json::Value;

use super::{find, load};
use crate::api::guest::config;
use crate::api::guest::disk::{self, bus_of};
use crate::api::GuestKind;
use crate::cli::DetachArgs;
use crate::commands::guest::concurrent_edit;
use crate::commands::Ctx;
use crate::error::CliError;
use crate::output::progress::Progress;
use crate::task::{report, ActionResult};

pub async fn run(ctx: &Ctx, a: DetachArgs) -> anyhow::Result<()> {
    let kind = GuestKind::Qemu;
    let client = ctx.client()?;
    let (g, cfg) = load(&client, kind, &a.guest, a.node.as_deref()).await?;
    let d = find(&g, &cfg, a.disk.trim())?;
    let key = d.key.clone();
    let volume = d.volume().to_string();
    let unused = bus_of(kind, &key) == Some("unused");
    if unused && !a.destroy {
        return Err(CliError::usage(format!(
            "{key} of {} is detached already; --destroy removes its volume {volume}",
            g.label()
        ))
        .into());
    }
    let cdrom = d.is_cdrom() && !d.is_cloudinit();
    if cdrom && a.destroy {
        return Err(CliError::usage(format!(
            "{key} of {} is a CD-ROM drive: detaching it never destroys the image ({volume}); leave out --destroy, and delete the image with `pvectl storage delete-volume` if you mean to",
            g.label()
        ))
        .into());
    }
    if a.destroy {
        ctx.confirm(
            &format!(
                "Detach {key} of {} and destroy its volume {volume} (the data on it is lost)",
                g.label()
            ),
            &[],
            a.yes,
        )?;
    }
    disk::unlink(&client, &g, std::slice::from_ref(&key), a.destroy)
        .await
        .map_err(|e| concurrent_edit(&g, e))?;
    let message = if a.destroy {
        format!("{key}: volume {volume} destroyed")
    } else if cdrom {
        format!("{key} ({volume})")
    } else {
        // PVE detaches a disk of a running VM at once when it can hot-unplug it, otherwise at the
        // next restart; the volume then stays as an unusedN entry.
        let entries = config::pending(&client, &g).await.unwrap_or_default();
        let holds = |v: &Option<Value>| {
            v.as_ref()
                .and_then(Value::as_str)
                .is_some_and(|s| s.split(',').next() == Some(volume.as_str()))
        };
        if entries.iter().any(|p| p.key == key && p.delete.is_some()) {
            format!(
                "{key} at the next restart of {} (see `pvectl vm config {} --pending`); {volume} then stays as an unusedN entry",
                g.label(),
                g.vmid
            )
        } else {
            match entries
                .iter()
                .find(|p| p.key.starts_with("unused") && (holds(&p.value) || holds(&p.pending)))
            {
                Some(u) => format!(
                    "{key}: {volume} stays as {} (`pvectl vm disk detach {} {} --destroy` removes it)",
                    u.key, g.vmid, u.key
                ),
                None => key.clone(),
            }
        }
    };
    let r = ActionResult::for_guest(&g, "detach").done(&message);
    report(&ctx.out, &Progress::new(&ctx.out), &[r], false)
}
