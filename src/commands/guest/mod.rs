//! `vm` and `ct`: one implementation of each verb, parameterised by `GuestKind`. The two clap
//! trees differ where PVE's do; here each kind's arguments become the verb's one request.

mod address;
mod clone;
mod cloudinit;
mod console;
mod create;
mod create_image;
mod ct_exec;
mod delete;
mod disk;
mod edit;
mod exec;
mod export;
mod file;
mod ip;
mod list;
mod migrate;
mod mount;
mod power;
mod set;
mod show;
mod snapshot;
mod ssh;
mod tag;
mod template;
mod wait_ip;

use crate::api::guest::power::PowerAction;
use crate::api::guest::provision::MigrateOptions;
use crate::api::{GuestKind, Params};
use crate::cli::{
    CtCmd, CtSnapshotCmd, GuestDeclare, GuestEnd, GuestInside, GuestRead, VmCmd, VmCreateCmd,
    VmSnapshotCmd,
};
use crate::error::CliError;
use crate::targets::{Guest, KindWords};

use super::Ctx;

pub async fn run_vm(ctx: &Ctx, cmd: VmCmd) -> anyhow::Result<()> {
    let kind = GuestKind::Qemu;
    match cmd {
        VmCmd::Read(r) => read(ctx, kind, r).await,
        VmCmd::Start(a) => {
            let params = Params::new()
                .opt("timeout", a.timeout)
                .flag_if("skiplock", a.skiplock)
                .opt("machine", a.machine);
            power::run(ctx, kind, PowerAction::Start, a.power, params).await
        }
        VmCmd::Stop(a) => {
            let params = Params::new()
                .opt("timeout", a.timeout)
                .flag_if("skiplock", a.skiplock)
                .flag_if("keepActive", a.keep_active)
                .flag_if("overrule-shutdown", a.overrule_shutdown);
            power::run(ctx, kind, PowerAction::Stop, a.power, params).await
        }
        VmCmd::Shutdown(a) => {
            let params = Params::new()
                .opt("timeout", a.timeout)
                .flag_if("forceStop", a.force_stop)
                .flag_if("keepActive", a.keep_active)
                .flag_if("skiplock", a.skiplock);
            power::run(ctx, kind, PowerAction::Shutdown, a.power, params).await
        }
        VmCmd::Reboot(a) => {
            let params = Params::new().opt("timeout", a.timeout);
            power::run(ctx, kind, PowerAction::Reboot, a.power, params).await
        }
        VmCmd::Reset(a) => {
            let params = Params::new().flag_if("skiplock", a.skiplock);
            power::run(ctx, kind, PowerAction::Reset, a.power, params).await
        }
        VmCmd::Suspend(a) => {
            let params = Params::new()
                .flag_if("todisk", a.todisk)
                .opt("statestorage", a.statestorage)
                .flag_if("skiplock", a.skiplock);
            power::run(ctx, kind, PowerAction::Suspend, a.power, params).await
        }
        VmCmd::Resume(a) => {
            let params = Params::new()
                .flag_if("skiplock", a.skiplock)
                .flag_if("nocheck", a.nocheck);
            power::run(ctx, kind, PowerAction::Resume, a.power, params).await
        }
        VmCmd::Set(a) => set::run(ctx, kind, a).await,
        VmCmd::Declare(d) => declare(ctx, kind, d).await,
        VmCmd::End(e) => end(ctx, kind, e).await,
        VmCmd::Snapshot(VmSnapshotCmd::Common(v)) => snapshot::run(ctx, kind, v).await,
        VmCmd::Snapshot(VmSnapshotCmd::Create { snap, vmstate }) => {
            snapshot::create(ctx, kind, snap, vmstate).await
        }
        VmCmd::Tag(t) => tag::run(ctx, kind, t).await,
        VmCmd::Clone(a) => clone::run(ctx, kind, a.clone, a.name, a.format).await,
        VmCmd::Migrate(a) => {
            let options = MigrateOptions {
                online: a.online,
                with_local_disks: a.with_local_disks,
                ..MigrateOptions::default()
            };
            migrate::run(ctx, kind, a.migrate, options).await
        }
        VmCmd::Create(VmCreateCmd::Create(a)) => create::vm(ctx, *a).await,
        VmCmd::Disk(d) => disk::run_vm(ctx, d).await,
        VmCmd::Cloudinit(c) => cloudinit::run(ctx, c).await,
        VmCmd::Inside(i) => inside(ctx, kind, i).await,
        VmCmd::Exec(a) => exec::run(ctx, a).await,
        VmCmd::File(f) => file::run(ctx, f).await,
        VmCmd::Console(a) => {
            console::run(ctx, kind, &a.target, Some(a.serial.as_str()), a.vnc).await
        }
        VmCmd::Firewall(f) => super::firewall::run_guest(ctx, kind, f).await,
    }
}

pub async fn run_ct(ctx: &Ctx, cmd: CtCmd) -> anyhow::Result<()> {
    let kind = GuestKind::Lxc;
    match cmd {
        CtCmd::Read(r) => read(ctx, kind, r).await,
        CtCmd::Start(a) => {
            let params = Params::new()
                .flag_if("skiplock", a.skiplock)
                .flag_if("debug", a.debug);
            power::run(ctx, kind, PowerAction::Start, a.power, params).await
        }
        CtCmd::Stop(a) => {
            let params = Params::new()
                .flag_if("skiplock", a.skiplock)
                .flag_if("overrule-shutdown", a.overrule_shutdown);
            power::run(ctx, kind, PowerAction::Stop, a.power, params).await
        }
        CtCmd::Shutdown(a) => {
            let params = Params::new()
                .opt("timeout", a.timeout)
                .flag_if("forceStop", a.force_stop);
            power::run(ctx, kind, PowerAction::Shutdown, a.power, params).await
        }
        CtCmd::Reboot(a) => {
            let params = Params::new().opt("timeout", a.timeout);
            power::run(ctx, kind, PowerAction::Reboot, a.power, params).await
        }
        CtCmd::Suspend(a) => {
            power::run(ctx, kind, PowerAction::Suspend, a.power, Params::new()).await
        }
        CtCmd::Resume(a) => {
            power::run(ctx, kind, PowerAction::Resume, a.power, Params::new()).await
        }
        CtCmd::Set(a) => set::run(ctx, kind, a).await,
        CtCmd::Declare(d) => declare(ctx, kind, d).await,
        CtCmd::End(e) => end(ctx, kind, e).await,
        CtCmd::Mount(m) => mount::run(ctx, m).await,
        CtCmd::Snapshot(CtSnapshotCmd::Common(v)) => snapshot::run(ctx, kind, v).await,
        CtCmd::Snapshot(CtSnapshotCmd::Create(snap)) => {
            snapshot::create(ctx, kind, snap, false).await
        }
        CtCmd::Tag(t) => tag::run(ctx, kind, t).await,
        CtCmd::Clone(a) => clone::run(ctx, kind, a.clone, a.hostname, None).await,
        CtCmd::Migrate(a) => {
            let options = MigrateOptions {
                restart: a.restart,
                timeout: a.timeout,
                ..MigrateOptions::default()
            };
            migrate::run(ctx, kind, a.migrate, options).await
        }
        CtCmd::Create(a) => create::ct(ctx, *a).await,
        CtCmd::Disk(d) => disk::run_ct(ctx, d).await,
        CtCmd::Inside(i) => inside(ctx, kind, i).await,
        CtCmd::Exec(a) => ct_exec::run(ctx, a).await,
        CtCmd::Console(t) => console::run(ctx, kind, &t, None, false).await,
        CtCmd::Firewall(f) => super::firewall::run_guest(ctx, kind, f).await,
    }
}

async fn inside(ctx: &Ctx, kind: GuestKind, cmd: GuestInside) -> anyhow::Result<()> {
    match cmd {
        GuestInside::Ip(a) => ip::run(ctx, kind, a).await,
        GuestInside::Ssh(a) => ssh::run(ctx, kind, a).await,
    }
}

async fn read(ctx: &Ctx, kind: GuestKind, cmd: GuestRead) -> anyhow::Result<()> {
    match cmd {
        GuestRead::List(a) => list::run(ctx, kind, &a).await,
        GuestRead::Status(a) => show::status(ctx, kind, &a).await,
        GuestRead::Config(a) => show::config(ctx, kind, &a).await,
    }
}

async fn declare(ctx: &Ctx, kind: GuestKind, cmd: GuestDeclare) -> anyhow::Result<()> {
    match cmd {
        GuestDeclare::Edit(a) => edit::run(ctx, kind, a).await,
        GuestDeclare::Export(a) => export::run(ctx, kind, a).await,
    }
}

async fn end(ctx: &Ctx, kind: GuestKind, cmd: GuestEnd) -> anyhow::Result<()> {
    match cmd {
        GuestEnd::Delete(a) => delete::run(ctx, kind, a).await,
        GuestEnd::Template(t) => template::run(ctx, kind, &t).await,
    }
}

/// The guests a verb that takes several names: one VMID or name (`--node` with a VMID saves the
/// lookup), or names and globs resolved with one request; and whether it was exactly one
/// non-glob argument (whose output is then a single object, not a list).
async fn guests_of(
    client: &crate::api::Client,
    kind: GuestKind,
    specs: &[String],
    node: Option<&str>,
) -> anyhow::Result<(Vec<Guest>, bool)> {
    if let [spec] = specs {
        if !crate::targets::is_glob(spec) {
            return Ok((
                vec![crate::targets::resolve_one(client, kind, spec, node).await?],
                true,
            ));
        }
    }
    let resources = crate::targets::fetch_guests(client).await?;
    let sel = crate::cli::Selectors {
        node: node.map(str::to_string),
        ..Default::default()
    };
    Ok((
        crate::targets::select(&resources, kind, specs, false, &sel)?.guests,
        false,
    ))
}

/// A key this kind does not have: say so, and what was meant (the closest key, the range of a
/// numbered family, or that the other kind has it); nothing is sent.
fn check_key(kind: GuestKind, key: &str) -> Result<(), CliError> {
    use crate::api::guest::keys;
    if keys::known(kind, key) {
        return Ok(());
    }
    let listed = format!("`pvectl {} set --help-keys` lists them", kind.command());
    let head = format!("unknown key '{key}' for a {}", kind.noun());
    let other = kind.other();
    let message = if let Some(family) = keys::family_of(kind, key) {
        format!(
            "{head}: {0} keys are {0}0 to {0}{1} ({listed})",
            family.name,
            family.max_index.unwrap_or(0)
        )
    } else if keys::known(other, key) {
        format!(
            "{head}: it is a {} key (`pvectl {} set`); {listed}",
            other.noun(),
            other.command()
        )
    } else if let Some(near) = keys::closest(kind, key) {
        format!("{head}; did you mean '{near}'? ({listed})")
    } else {
        format!("{head} ({listed})")
    };
    Err(CliError::usage(message))
}

/// `KEY=VALUE` arguments, in order; a key given twice is an error.
fn key_values(kind: GuestKind, args: &[String]) -> Result<Vec<(String, String)>, CliError> {
    let mut out: Vec<(String, String)> = vec![];
    for arg in args {
        let Some((k, v)) = arg.split_once('=') else {
            return Err(CliError::usage(format!(
                "'{arg}' is not KEY=VALUE (e.g. memory=4096)"
            )));
        };
        let k = k.trim();
        check_key(kind, k)?;
        if out.iter().any(|(key, _)| key == k) {
            return Err(CliError::usage(format!("key '{k}' given twice")));
        }
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

/// PVE's refusal of a stale digest, in words: nothing was changed, run it again.
pub(crate) fn stale_digest_message(pve_says: &str) -> String {
    format!(
        "the configuration changed since pvectl read it ({}); nothing was changed, run the command again",
        pve_says.trim_end()
    )
}

/// A configuration write PVE refused because the digest was stale is exit 6 with that message.
fn concurrent_edit(g: &Guest, e: crate::api::ApiError) -> anyhow::Error {
    let msg = e.to_string();
    if crate::api::guest::config::is_stale_digest(&msg) {
        return CliError::refused(format!("{}: {}", g.label(), stale_digest_message(&msg))).into();
    }
    e.into()
}

/// The VMID given for a new guest is taken.
fn in_use_error(id: u32, g: &Guest) -> CliError {
    CliError::usage(format!(
        "VMID {id} is in use by {} on {}: pick another (or leave it out for the next free one)",
        g.label(),
        g.node
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn keys_of_the_other_kind_say_where_they_belong() {
        let e = check_key(GuestKind::Qemu, "hostname").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Usage);
        assert!(e.message.contains("pvectl ct set"), "{}", e.message);
        let kv = key_values(
            GuestKind::Lxc,
            &["memory=512".into(), "mp0=local:8,mp=/a".into()],
        )
        .unwrap();
        assert_eq!(kv[1], ("mp0".to_string(), "local:8,mp=/a".to_string()));
        assert!(key_values(GuestKind::Lxc, &["memory".into()]).is_err());
        assert!(key_values(GuestKind::Lxc, &["memory=1".into(), "memory=2".into()]).is_err());
    }

    #[test]
    fn a_stale_digest_says_nothing_was_changed() {
        assert_eq!(
            stale_digest_message("checksum mismatch (file change by other user?)\n"),
            "the configuration changed since pvectl read it (checksum mismatch (file change by other user?)); nothing was changed, run the command again"
        );
    }
}
