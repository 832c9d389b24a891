//! `ct mount list|add|remove`: container mount points (`mpN`).

use anyhow::Context as _;
use serde_json::{json, Value};

use super::{concurrent_edit, Ctx};
use crate::api::guest::config::{
    self, mount_path_problem, mount_point_fields, mp_index, same_path, MountKind,
};
use crate::api::propstring::PropString;
use crate::api::{ApiError, GuestKind, Params};
use crate::cli::{GuestTarget, MountAddArgs, MountCmd, MountRemoveArgs};
use crate::config::Credentials;
use crate::error::{CliError, ErrorKind};
use crate::output::progress::Progress;
use crate::output::{col, Column, Kind};
use crate::targets::{self, Guest};
use crate::task::{report, ActionResult};

pub async fn run(ctx: &Ctx, cmd: MountCmd) -> anyhow::Result<()> {
    match cmd {
        MountCmd::List(t) => list(ctx, &t).await,
        MountCmd::Add(a) => add(ctx, a).await,
        MountCmd::Remove(a) => remove(ctx, a).await,
    }
}

async fn list(ctx: &Ctx, t: &GuestTarget) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let g = targets::resolve_one(&client, GuestKind::Lxc, &t.guest, t.node.as_deref()).await?;
    let cfg = config::get(&client, &g).await?;
    let people = ctx.out.tabular();
    let rows: Vec<Value> = cfg
        .mount_points()
        .iter()
        .map(|(n, ps)| {
            // PVE's decoded property string under its own names, with the key it is under.
            let mut row = serde_json::Map::new();
            row.insert("key".into(), json!(format!("mp{n}")));
            row.extend(mount_point_fields(ps));
            if people {
                let volume = ps.get("volume").unwrap_or_default();
                let rest: Vec<String> = ps
                    .iter()
                    .filter(|(k, _)| !matches!(*k, "volume" | "mp" | "size" | "ro" | "backup"))
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                row.insert("kind".into(), json!(MountKind::of(volume).as_str()));
                row.insert("options".into(), json!(rest.join(",")));
                // Unset flags read as PVE's defaults: writable, not backed up.
                for flag in ["ro", "backup"] {
                    row.entry(flag).or_insert(json!(0));
                }
            }
            Value::Object(row)
        })
        .collect();
    if people {
        ctx.out.list(&COLUMNS, &rows)
    } else {
        ctx.out.list(&RAW_COLUMNS, &rows)
    }
}

const COLUMNS: [Column; 8] = [
    col("key", "MP", Kind::Text),
    col("volume", "VOLUME", Kind::Text),
    col("mp", "PATH", Kind::Text),
    col("kind", "KIND", Kind::Text),
    col("size", "SIZE", Kind::Text),
    col("ro", "RO", Kind::Flag),
    col("backup", "BACKUP", Kind::Flag).priority(1),
    col("options", "OPTIONS", Kind::Text).priority(2),
];

/// TSV: the keys of PVE's mount point property string.
const RAW_COLUMNS: [Column; 6] = [
    col("key", "KEY", Kind::Text),
    col("volume", "VOLUME", Kind::Text),
    col("mp", "MP", Kind::Text),
    col("size", "SIZE", Kind::Text),
    col("ro", "RO", Kind::Text),
    col("backup", "BACKUP", Kind::Text),
];

fn check_mount_path(path: &str) -> Result<(), CliError> {
    match mount_path_problem(path) {
        Some(why) => Err(CliError::usage(format!("mount path '{path}' {why}"))),
        None => Ok(()),
    }
}

/// Report a mount point change that took no task.
fn done(ctx: &Ctx, g: &Guest, action: &str, message: &str) -> anyhow::Result<()> {
    let r = ActionResult::for_guest(g, action).done(message);
    report(&ctx.out, &Progress::new(&ctx.out), &[r], false)
}

async fn add(ctx: &Ctx, a: MountAddArgs) -> anyhow::Result<()> {
    check_mount_path(&a.path)?;
    if a.source.contains(',') {
        return Err(CliError::usage(format!(
            "'{}' contains a comma: give options as flags (--ro, --backup, …)",
            a.source
        ))
        .into());
    }
    let client = ctx.client()?;
    let g = targets::resolve_one(&client, GuestKind::Lxc, &a.guest, a.node.as_deref()).await?;
    let cfg = config::get(&client, &g).await?;
    let mps = cfg.mount_points();
    if same_path(&a.path, "/") {
        return Err(
            CliError::usage("'/' is the root file system (rootfs), not a mount point").into(),
        );
    }
    if let Some((n, _)) = mps
        .iter()
        .find(|(_, ps)| ps.get("mp").is_some_and(|p| same_path(p, &a.path)))
    {
        return Err(CliError::usage(format!(
            "{} already mounts something at {} (mp{n}): remove it first or pick another path",
            g.label(),
            a.path
        ))
        .into());
    }
    let index = match a.mp {
        Some(n) if mps.iter().any(|(i, _)| *i == n) => {
            return Err(CliError::usage(format!(
                "mp{n} of {} is in use: leave --mp out to take the next free one",
                g.label()
            ))
            .into())
        }
        Some(n) if n > 255 => {
            return Err(CliError::usage("--mp must be 0…255").into());
        }
        Some(n) => n,
        None => (0..=255)
            .find(|n| !cfg.contains(&format!("mp{n}")))
            .ok_or_else(|| CliError::refused("all 256 mount points are in use"))?,
    };
    let mut ps = PropString::parse("", Some("volume"))?;
    ps.set("volume", a.source.trim());
    ps.set("mp", a.path.trim());
    let on = |v: bool| v.then_some("1");
    for (k, v) in [
        ("acl", a.acl.as_deref()),
        ("backup", on(a.backup)),
        ("mountoptions", a.mountoptions.as_deref()),
        ("quota", on(a.quota)),
        ("replicate", a.replicate.as_deref()),
        ("ro", on(a.ro)),
        ("shared", on(a.shared)),
        ("size", a.size.as_deref()),
    ] {
        if let Some(v) = v {
            ps.set(k, v);
        }
    }
    let key = format!("mp{index}");
    let value = ps.to_string();
    let params = Params::new().set(&key, &value).opt("digest", cfg.digest());
    let kind = MountKind::of(a.source.trim());
    if let Err(e) = config::write(&client, &g, &params).await {
        return Err(match kind {
            MountKind::Volume => concurrent_edit(&g, e),
            _ => root_only(ctx, &g, e, kind),
        });
    }
    // Say what PVE stored: the volume it allocated for STORAGE:SIZE, its spelling of the options.
    let stored = config::get(&client, &g)
        .await
        .ok()
        .and_then(|c| c.get(&key).and_then(Value::as_str).map(str::to_string))
        .unwrap_or(value);
    done(ctx, &g, "mount add", &format!("{key}: {stored}"))
}

/// PVE lets only root@pam itself, logged in with a password, add bind and device mount points.
fn root_only(ctx: &Ctx, g: &Guest, e: ApiError, kind: MountKind) -> anyhow::Error {
    if !matches!(e, ApiError::Forbidden { .. }) {
        return concurrent_edit(g, e);
    }
    let how = match &ctx.settings.credentials {
        Some(Credentials::Password { user, .. }) => format!("you are logged in as {user}"),
        _ => "an API token can never add one, however privileged".to_string(),
    };
    CliError::new(
        ErrorKind::Auth,
        format!(
            "{e}: {} mount points can only be added by root@pam logged in with a password ({how}); run the command with `--user root@pam`, or with a profile that has auth = \"password\" and user = \"root@pam\"",
            kind.as_str()
        ),
    )
    .into()
}

async fn remove(ctx: &Ctx, a: MountRemoveArgs) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let g = targets::resolve_one(&client, GuestKind::Lxc, &a.guest, a.node.as_deref()).await?;
    let cfg = config::get(&client, &g).await?;
    let mps = cfg.mount_points();
    let found = if mp_index(&a.mount).is_some() {
        mps.iter().find(|(n, _)| format!("mp{n}") == a.mount)
    } else {
        mps.iter()
            .find(|(_, ps)| ps.get("mp").is_some_and(|p| same_path(p, &a.mount)))
    };
    let Some((n, ps)) = found else {
        return Err(CliError::not_found(format!(
            "{} has no mount point {} (see `pvectl ct mount list {}`)",
            g.label(),
            a.mount,
            g.vmid
        ))
        .into());
    };
    let key = format!("mp{n}");
    let volume = ps.get("volume").unwrap_or_default().to_string();
    let at = ps.get("mp").unwrap_or("?").to_string();
    let is_volume = MountKind::of(&volume) == MountKind::Volume;
    if a.destroy && is_volume {
        ctx.confirm(
            &format!(
                "Remove {key} of {} and destroy its volume {volume} (the data on it is lost)",
                g.label()
            ),
            &[],
            a.yes,
        )?;
    }
    let params = Params::new()
        .set("delete", &key)
        .opt("digest", cfg.digest());
    config::write(&client, &g, &params)
        .await
        .map_err(|e| concurrent_edit(&g, e))?;
    let mut message = format!("{key} ({volume} at {at}) removed");
    if is_volume {
        // PVE detaches the volume to an unusedN entry; a running container keeps the mount point
        // until its next restart (a pending delete).
        let entries = config::pending(&client, &g).await.with_context(|| {
            format!("{key} was removed, but what became of {volume} could not be read")
        })?;
        let holds = |v: &Option<Value>| v.as_ref().and_then(Value::as_str) == Some(volume.as_str());
        if entries.iter().any(|p| p.key == key && p.delete.is_some()) {
            message = format!(
                "{key} ({volume} at {at}) is removed at the next restart of the container (see `pvectl ct config {} --pending`); the volume then stays as an unusedN entry{}",
                g.vmid,
                if a.destroy { ", to delete with `pvectl ct set <ct> --delete unusedN`" } else { "" }
            );
        } else {
            let unused = entries
                .iter()
                .find(|p| p.key.starts_with("unused") && (holds(&p.value) || holds(&p.pending)))
                .map(|p| p.key.clone());
            match unused {
                Some(u) if a.destroy => {
                    // Deleting the unusedN entry destroys the volume.
                    let cfg = config::get(&client, &g).await?;
                    let params = Params::new().set("delete", &u).opt("digest", cfg.digest());
                    config::write(&client, &g, &params)
                        .await
                        .map_err(|e| concurrent_edit(&g, e))?;
                    message.push_str("; volume destroyed");
                }
                Some(u) => {
                    message.push_str(&format!("; the volume stays as {u} (--destroy removes it)"))
                }
                None if a.destroy => message
                    .push_str("; PVE left no unusedN entry for the volume, nothing to destroy"),
                None => {}
            }
        }
    }
    done(ctx, &g, "mount remove", &message)
}
