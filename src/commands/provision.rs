//! Guest configuration and provisioning, for `vm` and `ct` alike: set, config --get, LXC mount
//! points, snapshots, clone, migrate, create, delete, template. Where PVE's endpoints for QEMU
//! and LXC are parallel the code is one; where they differ the kind decides.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;

use serde_json::{json, Value};

use super::cluster::next_id;
use super::power::wait_limit;
use super::Ctx;
use crate::actions::{self, ActionResult, Session};
use crate::api::types::{NodeEntry, PendingEntry};
use crate::api::{seg, ApiError, Client, GuestKind, Params, Upid};
use crate::cli::{
    CloneArgs, CreateArgs, DeleteArgs, MigrateArgs, MountAddArgs, MountCmd, MountRemoveArgs,
    SetArgs, SnapshotCmd,
};
use crate::config::Credentials;
use crate::error::{CliError, EXIT_AUTH, EXIT_NOT_FOUND, EXIT_REFUSED, EXIT_UNREACHABLE};
use crate::guests::{self, Guest};
use crate::output::progress::Progress;
use crate::output::{col, Column, Kind};
use crate::propstring::PropString;

/// Power verbs wait 5 minutes by default; these may move or copy disks: 30.
const LONG_WAIT: Duration = Duration::from_secs(30 * 60);
const SHORT_WAIT: Duration = Duration::from_secs(5 * 60);

// ----------------------------------------------------------------------------------- key names

/// Config keys of each kind (PVE 9's schema); `[n]` families are matched by prefix and number.
const QEMU_KEYS: &[&str] = &[
    "acpi",
    "affinity",
    "agent",
    "allow-ksm",
    "amd-sev",
    "arch",
    "args",
    "audio0",
    "autostart",
    "balloon",
    "bios",
    "boot",
    "bootdisk",
    "cdrom",
    "cicustom",
    "cipassword",
    "citype",
    "ciupgrade",
    "ciuser",
    "cores",
    "cpu",
    "cpulimit",
    "cpuunits",
    "description",
    "efidisk0",
    "freeze",
    "hookscript",
    "hotplug",
    "hugepages",
    "intel-tdx",
    "ivshmem",
    "keephugepages",
    "keyboard",
    "kvm",
    "localtime",
    "lock",
    "machine",
    "memory",
    "migrate_downtime",
    "migrate_speed",
    "name",
    "nameserver",
    "numa",
    "onboot",
    "ostype",
    "protection",
    "reboot",
    "rng0",
    "scsihw",
    "searchdomain",
    "shares",
    "smbios1",
    "smp",
    "sockets",
    "spice_enhancements",
    "sshkeys",
    "startdate",
    "startup",
    "tablet",
    "tags",
    "tdf",
    "template",
    "tpmstate0",
    "vcpus",
    "vga",
    "vmgenid",
    "vmstatestorage",
    "watchdog",
];
const QEMU_FAMILIES: &[(&str, u32)] = &[
    ("hostpci", 15),
    ("ide", 3),
    ("ipconfig", 31),
    ("net", 31),
    ("numa", 7),
    ("parallel", 2),
    ("sata", 5),
    ("scsi", 30),
    ("serial", 3),
    ("unused", 255),
    ("usb", 13),
    ("virtio", 15),
    ("virtiofs", 9),
];
const LXC_KEYS: &[&str] = &[
    "arch",
    "cmode",
    "console",
    "cores",
    "cpulimit",
    "cpuunits",
    "debug",
    "description",
    "entrypoint",
    "env",
    "features",
    "hookscript",
    "hostname",
    "lock",
    "memory",
    "nameserver",
    "onboot",
    "ostype",
    "protection",
    "rootfs",
    "searchdomain",
    "startup",
    "swap",
    "tags",
    "template",
    "timezone",
    "tty",
    "unprivileged",
];
const LXC_FAMILIES: &[(&str, u32)] = &[("dev", 255), ("mp", 255), ("net", 31), ("unused", 255)];

fn known_key(kind: GuestKind, key: &str) -> bool {
    let (keys, families) = match kind {
        GuestKind::Qemu => (QEMU_KEYS, QEMU_FAMILIES),
        GuestKind::Lxc => (LXC_KEYS, LXC_FAMILIES),
    };
    keys.contains(&key)
        || families.iter().any(|(prefix, max)| {
            key.strip_prefix(prefix).is_some_and(|n| {
                !n.is_empty()
                    && n.bytes().all(|b| b.is_ascii_digit())
                    && (n == "0" || !n.starts_with('0'))
                    && n.parse::<u32>().is_ok_and(|n| n <= *max)
            })
        })
}

fn check_key(kind: GuestKind, key: &str) -> Result<(), CliError> {
    if known_key(kind, key) {
        return Ok(());
    }
    let other = match kind {
        GuestKind::Qemu => GuestKind::Lxc,
        GuestKind::Lxc => GuestKind::Qemu,
    };
    let also = if known_key(other, key) {
        format!(
            " (it is a {} key: `pvectl {} set`)",
            other.noun(),
            other.command()
        )
    } else {
        String::new()
    };
    Err(CliError::usage(format!(
        "'{key}' is not a configuration key of a {}{also}; see `pvectl {} config <guest>` for the keys in use",
        kind.noun(),
        kind.command()
    )))
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

// ---------------------------------------------------------------------------------- shared bits

async fn config_of(client: &Client, g: &Guest) -> anyhow::Result<BTreeMap<String, Value>> {
    Ok(client
        .get(&format!("{}/config", g.path()), &Params::new())
        .await?)
}

fn digest(config: &BTreeMap<String, Value>) -> Option<String> {
    config
        .get("digest")
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// PVE's answer when the digest pvectl sent is stale: someone changed the configuration since it
/// was read. QEMU and LXC word it differently (and older QEMU spelled it "missmatch").
fn is_stale_digest(message: &str) -> bool {
    message.contains("checksum mismatch")
        || message.contains("checksum missmatch")
        || message.contains("file changed by other user")
}

fn stale_digest_message(pve_says: &str) -> String {
    format!(
        "the configuration changed since pvectl read it ({}); nothing was changed, run the command again",
        pve_says.trim_end()
    )
}

fn concurrent_edit(g: &Guest, e: ApiError) -> anyhow::Error {
    let msg = e.to_string();
    if is_stale_digest(&msg) {
        return CliError::new(
            EXIT_REFUSED,
            format!("{}: {}", g.label(), stale_digest_message(&msg)),
        )
        .into();
    }
    e.into()
}

/// Change the configuration with the digest guard: QEMU through the task endpoint (waited for),
/// LXC through the synchronous one.
async fn write_config(client: &Client, g: &Guest, params: &Params) -> anyhow::Result<Value> {
    let path = format!("{}/config", g.path());
    let answer = match g.kind {
        GuestKind::Qemu => client.post::<Value>(&path, params).await,
        GuestKind::Lxc => client.put::<Value>(&path, params).await,
    };
    answer.map_err(|e| concurrent_edit(g, e))
}

/// Report a configuration write: a `qmconfig` task is waited for (unless `no_wait`), and one that
/// ended on a stale digest is the same refusal as a synchronous one (exit 6), not a task failure.
async fn finish_write(
    ctx: &Ctx,
    client: &Client,
    timeout: Option<Duration>,
    g: &Guest,
    answer: Value,
    no_wait: bool,
) -> anyhow::Result<()> {
    let result = ActionResult::for_guest(g, "set");
    actions::finish_one_then(
        &ctx.out,
        client,
        timeout,
        result,
        answer,
        no_wait,
        |mut r| {
            if let Some(exitstatus) = r.exitstatus.clone().filter(|x| !r.ok && is_stale_digest(x)) {
                r.code = EXIT_REFUSED;
                r.message = stale_digest_message(&exitstatus);
                r.log_tail.clear();
            }
            r
        },
    )
    .await
}

// ------------------------------------------------------------------------------------------ set

pub async fn set(ctx: &Ctx, kind: GuestKind, a: SetArgs) -> anyhow::Result<()> {
    let settings = key_values(kind, &a.settings)?;
    for k in &a.delete {
        // `vmstate` is no settable key, but deleting it drops a hibernated VM's saved state.
        if !(kind == GuestKind::Qemu && k.trim() == "vmstate") {
            check_key(kind, k.trim())?;
        }
    }
    for k in &a.revert {
        check_key(kind, k.trim())?;
    }
    if let Some((k, _)) = settings
        .iter()
        .find(|(k, _)| a.delete.iter().any(|d| d.trim() == k))
    {
        return Err(CliError::usage(format!("'{k}' is both set and deleted: pick one")).into());
    }
    if settings.is_empty() && a.delete.is_empty() && a.revert.is_empty() {
        return Err(CliError::usage(
            "nothing to change: give KEY=VALUE pairs, --delete KEY or --revert KEY",
        )
        .into());
    }
    let timeout = wait_limit(ctx, a.wait.wait_timeout.as_deref(), SHORT_WAIT)?;
    let client = ctx.client()?;
    let g = guests::resolve_one(&client, kind, &a.guest, a.node.as_deref()).await?;
    let config = config_of(&client, &g).await?;
    let mut params = Params::new();
    for (k, v) in &settings {
        params.push(k, v);
    }
    let join = |v: &[String]| v.iter().map(|s| s.trim()).collect::<Vec<_>>().join(",");
    let params = params
        .opt("delete", (!a.delete.is_empty()).then(|| join(&a.delete)))
        .opt("revert", (!a.revert.is_empty()).then(|| join(&a.revert)))
        .opt("digest", digest(&config));
    let answer = write_config(&client, &g, &params).await?;
    finish_write(ctx, &client, timeout, &g, answer, a.wait.no_wait).await?;
    if a.wait.no_wait {
        return Ok(());
    }
    // Changes a running guest cannot take now wait for its next restart: say which.
    let pending: Vec<PendingEntry> = client
        .get(&format!("{}/pending", g.path()), &Params::new())
        .await
        .unwrap_or_default();
    // Only what this command changed: other pending changes are not its news.
    let touched =
        |k: &str| settings.iter().any(|(s, _)| s == k) || a.delete.iter().any(|d| d.trim() == k);
    let waiting: Vec<String> = pending
        .iter()
        .filter(|p| (p.pending.is_some() || p.delete.is_some()) && touched(&p.key))
        .map(|p| p.key.clone())
        .collect();
    if !waiting.is_empty() {
        ctx.out.info(&format!(
            "{}: pending until the next restart: {} (see `pvectl {} config {} --pending`)",
            g.label(),
            waiting.join(", "),
            kind.command(),
            g.vmid
        ));
    }
    Ok(())
}

/// `config --get KEY`: the raw value, for scripts.
pub async fn get_key(
    ctx: &Ctx,
    kind: GuestKind,
    guest: &str,
    node: Option<&str>,
    key: &str,
) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let g = guests::resolve_one(&client, kind, guest, node).await?;
    let config = config_of(&client, &g).await?;
    match config.get(key) {
        Some(v) => ctx.out.lines([text(v)]),
        None => {
            check_key(kind, key)?;
            Err(CliError::not_found(format!("{} has no '{key}' set", g.label())).into())
        }
    }
}

// ---------------------------------------------------------------------------------- mount points

/// Volume, bind mount or device mount, from the `volume` of a mount point.
fn mount_kind(volume: &str) -> &'static str {
    if volume.starts_with("/dev/") {
        "device"
    } else if volume.starts_with('/') {
        "bind"
    } else {
        "volume"
    }
}

fn mp_index(key: &str) -> Option<u32> {
    key.strip_prefix("mp")?.parse().ok()
}

/// The container's mount points (`mpN`), by index.
fn mount_points(config: &BTreeMap<String, Value>) -> Vec<(u32, PropString)> {
    let mut mps: Vec<(u32, PropString)> = config
        .iter()
        .filter_map(|(k, v)| {
            let n = mp_index(k)?;
            Some((n, PropString::parse(v.as_str()?, Some("volume")).ok()?))
        })
        .collect();
    mps.sort_by_key(|(n, _)| *n);
    mps
}

pub async fn mount(ctx: &Ctx, kind: GuestKind, cmd: MountCmd) -> anyhow::Result<()> {
    if kind == GuestKind::Qemu {
        return Err(CliError::usage(
            "VMs have no mount points: `pvectl ct mount` is for containers; add a VM disk with `pvectl vm set <vm> scsi1=STORAGE:SIZE`",
        )
        .into());
    }
    match cmd {
        MountCmd::List(t) => mount_list(ctx, &t.guest, t.node.as_deref()).await,
        MountCmd::Add(a) => mount_add(ctx, a).await,
        MountCmd::Remove(a) => mount_remove(ctx, a).await,
    }
}

async fn mount_list(ctx: &Ctx, guest: &str, node: Option<&str>) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let g = guests::resolve_one(&client, GuestKind::Lxc, guest, node).await?;
    let config = config_of(&client, &g).await?;
    let rows: Vec<Value> = mount_points(&config)
        .iter()
        .map(|(n, ps)| {
            let volume = ps.get("volume").unwrap_or_default();
            let rest: Vec<String> = ps
                .iter()
                .filter(|(k, _)| !matches!(*k, "volume" | "mp" | "size" | "ro" | "backup"))
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            json!({
                "mp": format!("mp{n}"),
                "volume": volume,
                "path": ps.get("mp"),
                "kind": mount_kind(volume),
                "size": ps.get("size"),
                "ro": ps.flag("ro").unwrap_or(false),
                "backup": ps.flag("backup").unwrap_or(false),
                "options": rest.join(","),
                "raw": ps.to_string(),
            })
        })
        .collect();
    ctx.out.list(&MOUNT_COLUMNS, &rows)
}

const MOUNT_COLUMNS: [Column; 8] = [
    col("mp", "MP", Kind::Text),
    col("volume", "VOLUME", Kind::Text),
    col("path", "PATH", Kind::Text),
    col("kind", "KIND", Kind::Text),
    col("size", "SIZE", Kind::Text),
    col("ro", "RO", Kind::Flag),
    col("backup", "BACKUP", Kind::Flag),
    col("options", "OPTIONS", Kind::Text),
];

/// PVE's rule for a mount path: absolute, no `.`/`..` components.
fn check_mount_path(path: &str) -> Result<(), CliError> {
    if !path.starts_with('/') {
        return Err(CliError::usage(format!(
            "mount path '{path}' must be absolute, e.g. /srv/data"
        )));
    }
    if path.split('/').any(|c| c == "." || c == "..") {
        return Err(CliError::usage(format!(
            "mount path '{path}' must not contain '.' or '..'"
        )));
    }
    Ok(())
}

fn same_path(a: &str, b: &str) -> bool {
    let norm = |p: &str| {
        let t = p.trim_end_matches('/');
        if t.is_empty() {
            "/".to_string()
        } else {
            t.to_string()
        }
    };
    norm(a) == norm(b)
}

async fn mount_add(ctx: &Ctx, a: MountAddArgs) -> anyhow::Result<()> {
    check_mount_path(&a.path)?;
    if a.source.contains(',') {
        return Err(CliError::usage(format!(
            "'{}' contains a comma: give options as flags (--ro, --backup, …)",
            a.source
        ))
        .into());
    }
    let client = ctx.client()?;
    let g = guests::resolve_one(&client, GuestKind::Lxc, &a.guest, a.node.as_deref()).await?;
    let config = config_of(&client, &g).await?;
    let mps = mount_points(&config);
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
            .find(|n| !config.contains_key(&format!("mp{n}")))
            .ok_or_else(|| CliError::new(EXIT_REFUSED, "all 256 mount points are in use"))?,
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
    let params = Params::new()
        .set(&key, &value)
        .opt("digest", digest(&config));
    let kind = mount_kind(a.source.trim());
    match write_config(&client, &g, &params).await {
        Ok(_) => {}
        Err(e) if kind != "volume" => return Err(root_only(ctx, e, kind)),
        Err(e) => return Err(e),
    }
    // Say what PVE stored: the volume it allocated for STORAGE:SIZE, its spelling of the options.
    let stored = config_of(&client, &g)
        .await
        .ok()
        .and_then(|c| c.get(&key).and_then(Value::as_str).map(str::to_string))
        .unwrap_or(value);
    let r = ActionResult::for_guest(&g, "mount add").done(&format!("{key}: {stored}"));
    let progress = Progress::new(&ctx.out);
    actions::report(&ctx.out, &progress, &[r], false)
}

/// PVE lets only root@pam itself, logged in with a password, add bind and device mount points.
fn root_only(ctx: &Ctx, e: anyhow::Error, kind: &str) -> anyhow::Error {
    let denied = e
        .downcast_ref::<ApiError>()
        .is_some_and(|a| matches!(a, ApiError::Forbidden { .. }));
    if !denied {
        return e;
    }
    let how = match &ctx.settings.credentials {
        Some(Credentials::Password { user, .. }) => format!("you are logged in as {user}"),
        _ => "an API token can never add one, however privileged".to_string(),
    };
    CliError::new(
        EXIT_AUTH,
        format!(
            "{e}: {kind} mount points can only be added by root@pam logged in with a password ({how}); run the command with `--user root@pam`, or with a profile that has auth = \"password\" and user = \"root@pam\""
        ),
    )
    .into()
}

async fn mount_remove(ctx: &Ctx, a: MountRemoveArgs) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let g = guests::resolve_one(&client, GuestKind::Lxc, &a.guest, a.node.as_deref()).await?;
    let config = config_of(&client, &g).await?;
    let mps = mount_points(&config);
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
    if a.destroy && mount_kind(&volume) == "volume" {
        super::confirm(
            ctx,
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
        .opt("digest", digest(&config));
    write_config(&client, &g, &params).await?;
    let mut message = format!("{key} ({volume} at {at}) removed");
    if mount_kind(&volume) == "volume" {
        // PVE detaches the volume to an unusedN entry; a running container keeps the mount point
        // until its next restart (a pending delete).
        let entries: Vec<PendingEntry> = client
            .get(&format!("{}/pending", g.path()), &Params::new())
            .await
            .with_context(|| {
                format!("{key} was removed, but what became of {volume} could not be read")
            })?;
        let is_volume =
            |v: &Option<Value>| v.as_ref().and_then(Value::as_str) == Some(volume.as_str());
        if entries.iter().any(|p| p.key == key && p.delete.is_some()) {
            message = format!(
                "{key} ({volume} at {at}) is removed at the next restart of the container (see `pvectl ct config {} --pending`); the volume then stays as an unusedN entry{}",
                g.vmid,
                if a.destroy { ", to delete with `pvectl ct set <ct> --delete unusedN`" } else { "" }
            );
        } else {
            let unused = entries
                .iter()
                .find(|p| {
                    p.key.starts_with("unused") && (is_volume(&p.value) || is_volume(&p.pending))
                })
                .map(|p| p.key.clone());
            match unused {
                Some(u) if a.destroy => {
                    // Deleting the unusedN entry destroys the volume.
                    let config = config_of(&client, &g).await?;
                    let params = Params::new()
                        .set("delete", &u)
                        .opt("digest", digest(&config));
                    write_config(&client, &g, &params).await?;
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
    let r = ActionResult::for_guest(&g, "mount remove").done(&message);
    actions::report(&ctx.out, &Progress::new(&ctx.out), &[r], false)
}

// ------------------------------------------------------------------------------------ snapshots

pub async fn snapshot(ctx: &Ctx, kind: GuestKind, cmd: SnapshotCmd) -> anyhow::Result<()> {
    let client = ctx.client()?;
    match cmd {
        SnapshotCmd::List(t) => {
            let g = guests::resolve_one(&client, kind, &t.guest, t.node.as_deref()).await?;
            let snaps: Vec<Value> = client
                .get(&format!("{}/snapshot", g.path()), &Params::new())
                .await?;
            match ctx.out.format {
                crate::cli::OutputFormat::Json => ctx.out.list(&[], &snaps),
                _ => ctx.out.list(&SNAPSHOT_COLUMNS, &snapshot_tree(&snaps)),
            }
        }
        SnapshotCmd::Create {
            guest,
            name,
            vmstate,
            description,
            node,
            wait,
        } => {
            if vmstate && kind == GuestKind::Lxc {
                return Err(CliError::usage("containers have no --vmstate (RAM) snapshots").into());
            }
            let timeout = wait_limit(ctx, wait.wait_timeout.as_deref(), LONG_WAIT)?;
            let g = guests::resolve_one(&client, kind, &guest, node.as_deref()).await?;
            let params = Params::new()
                .set("snapname", &name)
                .flag_if("vmstate", vmstate)
                .opt("description", description.as_deref());
            let answer: Value = client
                .post(&format!("{}/snapshot", g.path()), &params)
                .await?;
            let r = ActionResult::for_guest(&g, &format!("snapshot {name}"));
            actions::finish_one(&ctx.out, &client, timeout, r, answer, wait.no_wait).await
        }
        SnapshotCmd::Rollback {
            guest,
            name,
            start,
            yes,
            node,
            wait,
        } => {
            let timeout = wait_limit(ctx, wait.wait_timeout.as_deref(), LONG_WAIT)?;
            let g = guests::resolve_one(&client, kind, &guest, node.as_deref()).await?;
            super::confirm(
                ctx,
                &format!(
                    "Roll {} back to snapshot '{name}' (what changed since is lost)",
                    g.label()
                ),
                &[],
                yes,
            )?;
            let path = format!("{}/snapshot/{}/rollback", g.path(), seg(&name));
            let answer: Value = client
                .post(&path, &Params::new().flag_if("start", start))
                .await?;
            let r = ActionResult::for_guest(&g, &format!("rollback to {name}"));
            actions::finish_one(&ctx.out, &client, timeout, r, answer, wait.no_wait).await
        }
        SnapshotCmd::Delete {
            guest,
            name,
            force,
            yes,
            node,
            wait,
        } => {
            let timeout = wait_limit(ctx, wait.wait_timeout.as_deref(), LONG_WAIT)?;
            let g = guests::resolve_one(&client, kind, &guest, node.as_deref()).await?;
            super::confirm(
                ctx,
                &format!("Delete snapshot '{name}' of {}?", g.label()),
                &[],
                yes,
            )?;
            let path = format!("{}/snapshot/{}", g.path(), seg(&name));
            let answer: Value = client
                .delete(&path, &Params::new().flag_if("force", force))
                .await?;
            let r = ActionResult::for_guest(&g, &format!("delete snapshot {name}"));
            actions::finish_one(&ctx.out, &client, timeout, r, answer, wait.no_wait).await
        }
    }
}

/// The snapshots in tree order (parents before children, the oldest branch first), indented,
/// with `current` as "you are here".
fn snapshot_tree(snaps: &[Value]) -> Vec<Value> {
    let name = |s: &Value| s["name"].as_str().unwrap_or_default().to_string();
    let parent = |s: &Value| s["parent"].as_str().map(str::to_string);
    let mut children: BTreeMap<Option<String>, Vec<&Value>> = BTreeMap::new();
    for s in snaps {
        children.entry(parent(s)).or_default().push(s);
    }
    for list in children.values_mut() {
        list.sort_by_key(|s| (name(s) == "current", s["snaptime"].as_i64().unwrap_or(0)));
    }
    let mut rows = vec![];
    let mut stack: Vec<(&Value, usize)> = children
        .get(&None)
        .map(|l| l.iter().rev().map(|s| (*s, 0)).collect())
        .unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    while let Some((s, depth)) = stack.pop() {
        let n = name(s);
        if !seen.insert(n.clone()) {
            continue;
        }
        let is_current = n == "current";
        let label = if is_current {
            "NOW (you are here)".to_string()
        } else {
            n.clone()
        };
        rows.push(json!({
            "name": format!("{}{}{label}", "  ".repeat(depth), if depth > 0 { "└ " } else { "" }),
            "snaptime": s.get("snaptime"),
            "vmstate": s.get("vmstate").map(|v| v.as_u64() == Some(1)).unwrap_or(false),
            "description": if is_current { Value::Null } else { s.get("description").cloned().unwrap_or(Value::Null) },
        }));
        if let Some(kids) = children.get(&Some(n)) {
            for k in kids.iter().rev() {
                stack.push((k, depth + 1));
            }
        }
    }
    // Entries whose parent is missing (a broken chain) still show.
    for s in snaps {
        if !seen.contains(&name(s)) {
            rows.push(json!({"name": name(s), "snaptime": s.get("snaptime"), "vmstate": false, "description": s.get("description")}));
        }
    }
    rows
}

const SNAPSHOT_COLUMNS: [Column; 4] = [
    col("name", "NAME", Kind::Text),
    col("snaptime", "TAKEN", Kind::Epoch),
    col("vmstate", "RAM", Kind::Flag),
    col("description", "DESCRIPTION", Kind::Text),
];

// --------------------------------------------------------------------------------------- clone

fn in_use_error(id: u32, g: &Guest) -> CliError {
    CliError::usage(format!(
        "VMID {id} is in use by {} on {}: pick another (or leave it out for the next free one)",
        g.label(),
        g.node
    ))
}

pub async fn clone(ctx: &Ctx, kind: GuestKind, a: CloneArgs) -> anyhow::Result<()> {
    if a.format.is_some() && kind == GuestKind::Lxc {
        return Err(
            CliError::usage("--format is for VMs; a container's clone keeps its formats").into(),
        );
    }
    let timeout = wait_limit(ctx, a.wait.wait_timeout.as_deref(), LONG_WAIT)?;
    let client = ctx.client()?;
    let resources = guests::fetch_guests(&client).await?;
    let mut source = guests::match_spec(&resources, kind, &a.guest)?;
    if source.len() != 1 {
        return Err(CliError::usage(format!(
            "'{}' names {} guests: clone takes one",
            a.guest,
            source.len()
        ))
        .into());
    }
    let g = source.remove(0);
    let all = guests::fetch_from(&resources);
    let newid = match a.newid {
        Some(id) => {
            if let Some(other) = all.iter().find(|o| o.vmid == id) {
                return Err(in_use_error(id, other).into());
            }
            id
        }
        None => next_id(&client).await?,
    };
    let name_key = match kind {
        GuestKind::Qemu => "name",
        GuestKind::Lxc => "hostname",
    };
    let params = Params::new()
        .set("newid", newid)
        .opt(name_key, a.name.as_deref())
        .opt("description", a.description.as_deref())
        .flag_if("full", a.full)
        .opt("target", a.target.as_deref())
        .opt("storage", a.storage.as_deref())
        .opt("snapname", a.snapname.as_deref())
        .opt("pool", a.pool.as_deref())
        .opt("format", a.format.as_deref())
        .opt("bwlimit", a.bwlimit);
    let answer: Value = client.post(&format!("{}/clone", g.path()), &params).await?;
    let mut r = ActionResult::for_guest(&g, &format!("clone to {newid}"));
    r.newid = Some(newid);
    actions::finish_one(&ctx.out, &client, timeout, r, answer, a.wait.no_wait).await
}

// ------------------------------------------------------------------------------------- migrate

pub async fn migrate(ctx: &Ctx, kind: GuestKind, a: MigrateArgs) -> anyhow::Result<()> {
    match kind {
        GuestKind::Qemu if a.restart || a.timeout.is_some() => {
            return Err(CliError::usage(
                "--restart and --timeout are for containers; a running VM moves with --online",
            )
            .into())
        }
        GuestKind::Lxc if a.with_local_disks => {
            return Err(CliError::usage(
                "--with-local-disks is for VMs; a container moves its volumes itself",
            )
            .into())
        }
        _ => {}
    }
    let timeout = wait_limit(ctx, a.wait.wait_timeout.as_deref(), LONG_WAIT)?;
    let client = ctx.client()?;
    let g = guests::resolve_one(&client, kind, &a.guest, None).await?;
    if g.node == a.target {
        return Err(CliError::usage(format!("{} is already on {}", g.label(), a.target)).into());
    }
    let nodes: Vec<NodeEntry> = client.get("/nodes", &Params::new()).await?;
    match nodes.iter().find(|n| n.node == a.target) {
        None => {
            let names: Vec<&str> = nodes.iter().map(|n| n.node.as_str()).collect();
            return Err(CliError::new(
                EXIT_NOT_FOUND,
                format!(
                    "no node '{}' in the cluster (nodes: {})",
                    a.target,
                    names.join(", ")
                ),
            )
            .into());
        }
        Some(n) if !n.online() => {
            return Err(CliError::new(
                EXIT_UNREACHABLE,
                format!(
                    "node {} is {}: a guest cannot move there now",
                    a.target,
                    n.status.as_deref().unwrap_or("offline")
                ),
            )
            .into())
        }
        Some(_) => {}
    }
    let storage_key = match kind {
        GuestKind::Qemu => "targetstorage",
        GuestKind::Lxc => "target-storage",
    };
    let params = Params::new()
        .set("target", &a.target)
        .flag_if("online", a.online)
        .flag_if("with-local-disks", a.with_local_disks)
        .opt(storage_key, a.target_storage.as_deref())
        .flag_if("restart", a.restart)
        .opt("timeout", a.timeout)
        .opt("bwlimit", a.bwlimit);
    let answer: Value = client
        .post(&format!("{}/migrate", g.path()), &params)
        .await?;
    let r = ActionResult::for_guest(&g, &format!("migrate to {}", a.target));
    actions::finish_one(&ctx.out, &client, timeout, r, answer, a.wait.no_wait).await
}

// -------------------------------------------------------------------------------------- create

fn read_file(path: &std::path::Path, what: &str) -> Result<String, CliError> {
    std::fs::read_to_string(crate::config::expand_home(path))
        .map_err(|e| CliError::usage(format!("{what}: cannot read {}: {e}", path.display())))
}

pub async fn create(ctx: &Ctx, kind: GuestKind, a: CreateArgs) -> anyhow::Result<()> {
    // Positionals: an optional VMID first, for containers the template, then KEY=VALUE pairs.
    let mut rest = a.args.as_slice();
    let mut vmid: Option<u32> = None;
    if let Some(first) = rest.first() {
        if !first.contains('=') && first.bytes().all(|b| b.is_ascii_digit()) {
            vmid = Some(
                first
                    .parse()
                    .map_err(|_| CliError::usage(format!("'{first}' is not a VMID")))?,
            );
            rest = &rest[1..];
        }
    }
    let mut ostemplate: Option<String> = None;
    if kind == GuestKind::Lxc {
        match rest.first() {
            Some(t) if !t.contains('=') || t.split_once('=').is_some_and(|(k, _)| k.contains(':')) => {
                ostemplate = Some(t.clone());
                rest = &rest[1..];
            }
            _ => {
                return Err(CliError::usage(
                    "a container needs its OS template: `pvectl ct create [VMID] local:vztmpl/debian-13-standard_….tar.zst --hostname …` (see `pvectl storage content local --content vztmpl`)",
                )
                .into())
            }
        }
    }
    let extra = key_values(kind, rest)?;
    let only = |flag: &str, set: bool, k: GuestKind| -> Result<(), CliError> {
        if set && kind != k {
            return Err(CliError::usage(format!(
                "{flag} is for {}s, not {}s",
                k.noun(),
                kind.noun()
            )));
        }
        Ok(())
    };
    only("--name", a.name.is_some(), GuestKind::Qemu)?;
    only("--sockets", a.sockets.is_some(), GuestKind::Qemu)?;
    only("--scsi0", a.scsi0.is_some(), GuestKind::Qemu)?;
    only("--iso", a.iso.is_some(), GuestKind::Qemu)?;
    only("--hostname", a.hostname.is_some(), GuestKind::Lxc)?;
    only("--swap", a.swap.is_some(), GuestKind::Lxc)?;
    only("--rootfs", a.rootfs.is_some(), GuestKind::Lxc)?;
    only("--password-file", a.password_file.is_some(), GuestKind::Lxc)?;
    only(
        "--ssh-public-keys",
        a.ssh_public_keys.is_some(),
        GuestKind::Lxc,
    )?;
    only("--unprivileged", a.unprivileged, GuestKind::Lxc)?;
    let timeout = wait_limit(ctx, a.wait.wait_timeout.as_deref(), LONG_WAIT)?;
    let client = ctx.client()?;
    let resources = guests::fetch_guests(&client).await?;
    let vmid = match vmid {
        Some(id) => {
            if let Some(g) = guests::fetch_from(&resources).iter().find(|g| g.vmid == id) {
                return Err(in_use_error(id, g).into());
            }
            id
        }
        None => next_id(&client).await?,
    };
    let node = match ctx.node_or(a.node.as_deref()) {
        Some(n) => n,
        None => {
            let nodes: Vec<NodeEntry> = client.get("/nodes", &Params::new()).await?;
            let mut online: Vec<&NodeEntry> = nodes.iter().filter(|n| n.online()).collect();
            online.sort_by(|a, b| a.node.cmp(&b.node));
            online.first().map(|n| n.node.clone()).ok_or_else(|| {
                CliError::new(EXIT_UNREACHABLE, "no node of the cluster is online")
            })?
        }
    };
    let mut params = Params::new().set("vmid", vmid);
    let password = match &a.password_file {
        Some(p) => Some(
            crate::config::secret_from_file(p, "--password-file")
                .map_err(|e| CliError::usage(e.message))?,
        ),
        None => None,
    };
    let keys = match &a.ssh_public_keys {
        Some(p) => Some(read_file(p, "--ssh-public-keys")?),
        None => None,
    };
    let flagged: Vec<(&str, Option<String>)> = vec![
        ("ostemplate", ostemplate),
        ("name", a.name.clone()),
        ("hostname", a.hostname.clone()),
        ("memory", a.memory.map(|v| v.to_string())),
        ("cores", a.cores.map(|v| v.to_string())),
        ("sockets", a.sockets.map(|v| v.to_string())),
        ("swap", a.swap.map(|v| v.to_string())),
        ("net0", a.net0.clone()),
        ("scsi0", a.scsi0.clone()),
        (
            "ide2",
            a.iso.as_ref().map(|iso| format!("{iso},media=cdrom")),
        ),
        ("ostype", a.ostype.clone()),
        ("rootfs", a.rootfs.clone()),
        ("storage", a.storage.clone()),
        ("password", password.map(|p| p.expose().to_string())),
        ("ssh-public-keys", keys),
        ("unprivileged", a.unprivileged.then(|| "1".to_string())),
        ("pool", a.pool.clone()),
        ("start", a.start.then(|| "1".to_string())),
    ];
    for (k, v) in flagged {
        if let Some(v) = v {
            if extra.iter().any(|(e, _)| e == k) {
                return Err(
                    CliError::usage(format!("'{k}' is given both as a flag and as {k}=…")).into(),
                );
            }
            params.push(k, v);
        }
    }
    for (k, v) in &extra {
        params.push(k, v);
    }
    let path = format!("/nodes/{}/{}", seg(&node), kind.as_str());
    let answer: Value = client.post(&path, &params).await?;
    let mut r = ActionResult::new(vmid.to_string(), node.clone(), "create");
    r.vmid = Some(vmid);
    r.kind = Some(kind);
    r.name = a.name.clone().or(a.hostname.clone());
    if let Some(n) = &r.name {
        r.label = format!("{n} ({vmid})");
    }
    actions::finish_one(&ctx.out, &client, timeout, r, answer, a.wait.no_wait).await
}

// -------------------------------------------------------------------------------------- delete

pub async fn delete(ctx: &Ctx, kind: GuestKind, a: DeleteArgs) -> anyhow::Result<()> {
    let timeout = wait_limit(ctx, a.wait.wait_timeout.as_deref(), LONG_WAIT)?;
    let client = ctx.client()?;
    let resources = guests::fetch_guests(&client).await?;
    let mut targets: Vec<Guest> = vec![];
    for spec in &a.guests {
        if guests::is_glob(spec) {
            return Err(CliError::usage(format!(
                "'{spec}' is a glob: delete takes VMIDs or names, so that nothing is deleted by accident"
            ))
            .into());
        }
        for g in guests::match_spec(&resources, kind, spec)? {
            if !targets.iter().any(|t| t.vmid == g.vmid) {
                targets.push(g);
            }
        }
    }
    let running: Vec<&Guest> = targets
        .iter()
        .filter(|g| g.status.as_deref() == Some("running"))
        .collect();
    if !running.is_empty() && !a.stop {
        let names: Vec<String> = running.iter().map(|g| g.label()).collect();
        return Err(CliError::new(
            EXIT_REFUSED,
            format!(
                "{} running: nothing was deleted; stop it first, or add --stop",
                if names.len() == 1 {
                    format!("{} is", names[0])
                } else {
                    format!("{} are", names.join(", "))
                }
            ),
        )
        .into());
    }
    let items: Vec<String> = targets.iter().map(Guest::summary).collect();
    super::confirm(
        ctx,
        &format!(
            "Delete {} {}{} and {} disks?",
            targets.len(),
            kind.noun(),
            if targets.len() == 1 { "" } else { "s" },
            if targets.len() == 1 { "its" } else { "their" }
        ),
        &items,
        a.yes,
    )?;
    let session = Session::new(&ctx.out, &client, timeout);
    let params = Params::new()
        .flag_if("purge", a.purge)
        .flag_if("destroy-unreferenced-disks", a.destroy_unreferenced_disks);
    let no_wait = a.wait.no_wait;
    let work = async {
        let mut results = vec![];
        for g in &targets {
            results.push(delete_one(&client, &session, g, &params, no_wait).await);
        }
        results
    };
    session.finish(work, no_wait).await
}

async fn delete_one(
    client: &Client,
    session: &Session<'_>,
    g: &Guest,
    params: &Params,
    no_wait: bool,
) -> ActionResult {
    // A running guest is stopped first, and that is always waited for: PVE deletes no running
    // guest. `no_wait` applies to the delete itself.
    if g.status.as_deref() == Some("running") {
        let stop = async {
            let upid: Upid = client
                .post(&format!("{}/status/stop", g.path()), &Params::new())
                .await?;
            Ok::<_, anyhow::Error>(upid)
        };
        match stop.await {
            Ok(upid) => {
                let r = session
                    .wait(ActionResult::for_guest(g, "stop"), &upid)
                    .await;
                if !r.ok {
                    let mut r = r;
                    r.action = "delete".into();
                    r.message = format!("not deleted: stopping it failed: {}", r.message);
                    return r;
                }
                session
                    .progress
                    .println(&format!("{}: stop {}", r.label, r.message));
            }
            Err(e) => {
                return ActionResult::for_guest(g, "delete")
                    .failed(&e.context("not deleted: stopping it failed"))
            }
        }
    }
    let answer = client.delete(&g.path(), params).await;
    let result = ActionResult::for_guest(g, "delete");
    session.settle(answer, result, "deleted", no_wait).await
}

// ------------------------------------------------------------------------------------ template

pub async fn template(
    ctx: &Ctx,
    kind: GuestKind,
    guest: &str,
    node: Option<&str>,
) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let g = guests::resolve_one(&client, kind, guest, node).await?;
    if g.status.as_deref() == Some("running") {
        return Err(CliError::new(
            EXIT_REFUSED,
            format!(
                "{} is running: shut it down first (a running guest cannot become a template)",
                g.label()
            ),
        )
        .into());
    }
    let answer: Value = client
        .post(&format!("{}/template", g.path()), &Params::new())
        .await?;
    // PVE starts a `vztemplate` task for a container but answers null: find it, to wait for it.
    let answer = match (kind, &answer) {
        (GuestKind::Lxc, Value::Null) => template_task(&client, &g).await.unwrap_or(Value::Null),
        _ => answer,
    };
    let timeout = wait_limit(ctx, None, LONG_WAIT)?;
    actions::finish_one(
        &ctx.out,
        &client,
        timeout,
        ActionResult::for_guest(&g, "template"),
        answer,
        false,
    )
    .await
}

/// The UPID of the newest `vztemplate` task of the container (running ones included); a
/// container becomes a template once, so the newest is the one just started.
async fn template_task(client: &Client, g: &Guest) -> Option<Value> {
    let params = Params::new()
        .set("vmid", g.vmid)
        .set("typefilter", "vztemplate")
        .set("source", "all")
        .set("limit", 10);
    let tasks: Vec<Value> = client
        .get(&format!("/nodes/{}/tasks", seg(&g.node)), &params)
        .await
        .ok()?;
    tasks
        .iter()
        .find(|t| t["type"] == "vztemplate")?
        .get("upid")
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_per_kind() {
        for k in [
            "memory", "net0", "scsi30", "unused7", "ide2", "virtio15", "efidisk0",
        ] {
            assert!(known_key(GuestKind::Qemu, k), "{k}");
        }
        for k in [
            "scsi31", "net01", "mp0", "rootfs", "hostname", "bogus", "net",
        ] {
            assert!(!known_key(GuestKind::Qemu, k), "{k}");
        }
        for k in ["mp0", "mp255", "rootfs", "hostname", "swap", "dev3", "net5"] {
            assert!(known_key(GuestKind::Lxc, k), "{k}");
        }
        assert!(!known_key(GuestKind::Lxc, "mp256"));
        let e = check_key(GuestKind::Qemu, "hostname").unwrap_err();
        assert_eq!(e.code, 2);
        assert!(e.message.contains("pvectl ct set"), "{}", e.message);
    }

    #[test]
    fn key_values_and_mount_paths() {
        let kv = key_values(
            GuestKind::Lxc,
            &["memory=512".into(), "mp0=local:8,mp=/a".into()],
        )
        .unwrap();
        assert_eq!(kv[1], ("mp0".to_string(), "local:8,mp=/a".to_string()));
        assert!(key_values(GuestKind::Lxc, &["memory".into()]).is_err());
        assert!(key_values(GuestKind::Lxc, &["memory=1".into(), "memory=2".into()]).is_err());
        assert!(check_mount_path("/srv/data").is_ok());
        assert!(check_mount_path("srv").is_err());
        assert!(check_mount_path("/srv/../etc").is_err());
        assert!(same_path("/srv/", "/srv"));
        assert_eq!(mount_kind("/dev/sdb"), "device");
        assert_eq!(mount_kind("/mnt/host"), "bind");
        assert_eq!(mount_kind("local-lvm:vm-101-disk-1"), "volume");
    }

    #[test]
    fn stale_digest_in_every_wording() {
        for m in [
            "checksum mismatch (file change by other user?)",
            "checksum missmatch (file change by other user?)",
            "detected modified configuration - file changed by other user? Try again.",
        ] {
            assert!(is_stale_digest(m), "{m}");
        }
        assert!(!is_stale_digest("CT is locked (backup)"));
        assert_eq!(
            stale_digest_message("checksum mismatch (file change by other user?)\n"),
            "the configuration changed since pvectl read it (checksum mismatch (file change by other user?)); nothing was changed, run the command again"
        );
    }

    #[test]
    fn snapshot_tree_order() {
        let snaps = vec![
            json!({"name": "b", "parent": "a", "snaptime": 2}),
            json!({"name": "current", "parent": "b", "description": "You are here!"}),
            json!({"name": "a", "snaptime": 1}),
            json!({"name": "c", "parent": "a", "snaptime": 3}),
        ];
        let names: Vec<String> = snapshot_tree(&snaps)
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            names,
            vec!["a", "  └ b", "    └ NOW (you are here)", "  └ c"]
        );
    }
}
