//! `vm cloudinit set|show|regenerate`. `set` writes PVE's cloud-init keys (`ciuser`,
//! `cipassword`, `sshkeys` URL-encoded as PVE wants them, `ipconfig0`, `nameserver`,
//! `searchdomain`) with the digest guard, and adds a cloud-init drive when the VM has none.

use serde_json::json;

use super::disk::check_disk_storage_on;
use super::{concurrent_edit, stale_digest_message, Ctx};
use crate::api::guest::cloudinit::{self, DumpType};
use crate::api::guest::config::{self, is_stale_digest, Config};
use crate::api::guest::disk::{drives, free_cloudinit_slot};
use crate::api::{GuestKind, Params};
use crate::cli::{
    CloudinitArgs, CloudinitCmd, CloudinitSetArgs, CloudinitShowArgs, DumpKind, GuestTarget,
    OutputFormat,
};
use crate::error::{CliError, ErrorKind};
use crate::output::progress::Progress;
use crate::targets;
use crate::task::{finish_one_then, report, ActionResult, SHORT_WAIT};

pub async fn run(ctx: &Ctx, cmd: CloudinitCmd) -> anyhow::Result<()> {
    match cmd {
        CloudinitCmd::Set(a) => set(ctx, *a).await,
        CloudinitCmd::Show(a) => show(ctx, a).await,
        CloudinitCmd::Regenerate(t) => regenerate(ctx, t).await,
    }
}

/// The configuration keys for the cloud-init flags both `cloudinit set` and `create --image`
/// take, read and checked before anything is sent. `ipconfig0` is left to the caller (it merges
/// with what is set).
pub(crate) fn settings(ci: &CloudinitArgs) -> Result<Vec<(&'static str, String)>, CliError> {
    let mut out = vec![];
    if let Some(u) = &ci.ciuser {
        let u = u.trim();
        if u.is_empty() || u.contains(char::is_whitespace) {
            return Err(CliError::usage(format!("--ciuser '{u}' is no user name")));
        }
        out.push(("ciuser", u.to_string()));
    }
    if let Some(p) = &ci.password_file {
        let secret = crate::config::secret_from_file(p, "--password-file")
            .map_err(|e| CliError::usage(e.message))?;
        out.push(("cipassword", secret.expose().to_string()));
    }
    if let Some(p) = &ci.ssh_keys_file {
        let path = crate::config::expand_home(p);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            CliError::usage(format!("--ssh-keys-file: cannot read {}: {e}", p.display()))
        })?;
        let keys = cloudinit::public_keys(&text)
            .map_err(|e| CliError::usage(format!("--ssh-keys-file {}: {e}", p.display())))?;
        out.push(("sshkeys", cloudinit::encode_sshkeys(&keys)));
    }
    Ok(out)
}

/// The `ipconfig0` for `--ip0` / `--ip6-0`, merged into the current one.
pub(crate) fn ipconfig0(
    current: Option<&str>,
    v4: Option<&str>,
    v6: Option<&str>,
) -> Result<Option<String>, CliError> {
    if v4.is_none() && v6.is_none() {
        return Ok(None);
    }
    cloudinit::ipconfig(current, v4, v6).map(Some).map_err(|e| {
        CliError::usage(format!(
            "{}: {e}",
            if v4.is_some() { "--ip0" } else { "--ip6-0" }
        ))
    })
}

/// The key and value of a cloud-init drive to add when the VM has none: the first free IDE or
/// SATA slot, on `storage` or that of the VM's first disk.
fn drive_to_add(cfg: &Config, storage: Option<&str>) -> Result<Option<(String, String)>, CliError> {
    let all = drives(GuestKind::Qemu, cfg);
    if all.iter().any(|d| d.is_cloudinit()) {
        return Ok(None);
    }
    let storage = match storage {
        Some(s) => s.to_string(),
        None => all
            .iter()
            .filter(|d| !d.is_cdrom() && !d.key.starts_with("unused"))
            .find_map(|d| d.storage().map(str::to_string))
            .ok_or_else(|| {
                CliError::usage(
                    "the VM has no cloud-init drive and no disk whose storage it could go on: give --storage",
                )
            })?,
    };
    let slot = free_cloudinit_slot(cfg).ok_or_else(|| {
        CliError::refused("the VM has no free IDE or SATA slot for a cloud-init drive")
    })?;
    Ok(Some((slot, format!("{storage}:cloudinit"))))
}

async fn set(ctx: &Ctx, a: CloudinitSetArgs) -> anyhow::Result<()> {
    let mut keys = settings(&a.ci)?;
    if let Some(d) = &a.dns {
        keys.push(("nameserver", d.trim().to_string()));
    }
    if let Some(s) = &a.search {
        keys.push(("searchdomain", s.trim().to_string()));
    }
    // Checked now, merged with the current value once it is read.
    ipconfig0(None, a.ci.ip0.as_deref(), a.ip6_0.as_deref())?;
    if keys.is_empty() && a.ci.ip0.is_none() && a.ip6_0.is_none() {
        return Err(CliError::usage(
            "nothing to set: give --ciuser, --password-file, --ssh-keys-file, --ip0, --ip6-0, --dns or --search",
        )
        .into());
    }
    let timeout = ctx.wait_limit(a.wait.wait_timeout.as_deref(), SHORT_WAIT)?;
    let client = ctx.client()?;
    let g = targets::resolve_one(&client, GuestKind::Qemu, &a.guest, a.node.as_deref()).await?;
    let cfg = config::get(&client, &g).await?;
    let mut params = Params::new();
    let mut names: Vec<String> = keys.iter().map(|(k, _)| k.to_string()).collect();
    for (k, v) in &keys {
        params.push(k, v);
    }
    let current = cfg.text("ipconfig0");
    if let Some(ip) = ipconfig0(current.as_deref(), a.ci.ip0.as_deref(), a.ip6_0.as_deref())? {
        params.push("ipconfig0", &ip);
        names.push(format!("ipconfig0={ip}"));
    }
    if let Some((slot, value)) = drive_to_add(&cfg, a.storage.as_deref())? {
        let storage = value.trim_end_matches(":cloudinit");
        check_disk_storage_on(&client, GuestKind::Qemu, &g.node, storage, &g.label()).await?;
        params.push(&slot, &value);
        names.push(format!("cloud-init drive {slot} on {storage}"));
    }
    let params = params.opt("digest", cfg.digest());
    let answer = config::write(&client, &g, &params)
        .await
        .map_err(|e| concurrent_edit(&g, e))?;
    let running = g.status.as_deref() == Some("running");
    finish_one_then(
        &ctx.out,
        &client,
        timeout,
        ActionResult::for_guest(&g, "cloudinit set"),
        answer,
        a.wait.no_wait,
        |r| match r.exitstatus.clone().filter(|x| !r.ok && is_stale_digest(x)) {
            Some(x) => {
                let mut r = r.fail(ErrorKind::Refused, stale_digest_message(&x));
                r.log_tail.clear();
                r
            }
            None if r.ok && !a.wait.no_wait => {
                let mut r = r;
                r.message = format!("{} ({})", names.join(", "), r.message);
                r
            }
            None => r,
        },
    )
    .await?;
    if running && !a.wait.no_wait {
        ctx.out.info(&format!(
            "{}: cloud-init reads these at the next boot; `pvectl vm cloudinit regenerate {}` rewrites the drive now",
            g.label(),
            g.vmid
        ));
    }
    Ok(())
}

async fn show(ctx: &Ctx, a: CloudinitShowArgs) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let g = targets::resolve_one(&client, GuestKind::Qemu, &a.guest, a.node.as_deref()).await?;
    let t = match a.what {
        DumpKind::User => DumpType::User,
        DumpKind::Network => DumpType::Network,
        DumpKind::Meta => DumpType::Meta,
    };
    let text = cloudinit::dump(&client, &g, t).await?;
    if ctx.out.format == OutputFormat::Json {
        return ctx.out.json(&json!({
            "vmid": g.vmid,
            "node": g.node,
            "type": t.as_str(),
            "content": text,
        }));
    }
    ctx.out.lines(text.lines().map(str::to_string))
}

async fn regenerate(ctx: &Ctx, t: GuestTarget) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let g = targets::resolve_one(&client, GuestKind::Qemu, &t.guest, t.node.as_deref()).await?;
    cloudinit::regenerate(&client, &g).await?;
    let r = ActionResult::for_guest(&g, "cloudinit regenerate").done("OK");
    report(&ctx.out, &Progress::new(&ctx.out), &[r], false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_cloudinit_drive_goes_next_to_the_first_disk() {
        let cfg: Config = serde_json::from_value(json!({
            "scsi0": "local-lvm:vm-100-disk-0,size=8G",
            "ide2": "local:iso/debian.iso,media=cdrom",
        }))
        .unwrap();
        assert_eq!(
            drive_to_add(&cfg, None).unwrap(),
            Some(("ide0".to_string(), "local-lvm:cloudinit".to_string()))
        );
        assert_eq!(
            drive_to_add(&cfg, Some("ceph")).unwrap().unwrap().1,
            "ceph:cloudinit"
        );
        let with: Config = serde_json::from_value(json!({
            "scsi0": "local-lvm:vm-100-disk-0", "ide2": "local-lvm:vm-100-cloudinit,media=cdrom"
        }))
        .unwrap();
        assert_eq!(drive_to_add(&with, None).unwrap(), None);
        let bare: Config = serde_json::from_value(json!({"memory": "512"})).unwrap();
        assert!(drive_to_add(&bare, None).is_err());
    }
}
