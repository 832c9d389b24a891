//! `vm create` and `ct create`: a new guest from flags and KEY=VALUE settings, by default as the
//! next free VMID on the profile's node (else the first online node).

use super::{in_use_error, key_values, Ctx};
use crate::api::guest::provision;
use crate::api::{cluster, nodes, GuestKind, Params};
use crate::cli::{CreateArgs, CtCreateArgs, VmCreateArgs};
use crate::error::CliError;
use crate::targets;
use crate::task::{self, ActionResult, LONG_WAIT};

pub async fn vm(ctx: &Ctx, a: VmCreateArgs) -> anyhow::Result<()> {
    if a.image.image.is_some() {
        return super::create_image::run(ctx, a).await;
    }
    let ci = &a.image.ci;
    if ci.ciuser.is_some()
        || ci.password_file.is_some()
        || ci.ssh_keys_file.is_some()
        || ci.ip0.is_some()
    {
        return Err(CliError::usage(
            "the cloud-init flags of `vm create` go with --image; for another VM use `pvectl vm cloudinit set` after creating it",
        )
        .into());
    }
    let (vmid, rest) = leading_vmid(&a.args)?;
    let extra = key_values(GuestKind::Qemu, rest)?;
    let flagged = vec![
        ("name", a.name.clone()),
        ("memory", a.create.memory.map(|v| v.to_string())),
        ("cores", a.create.cores.map(|v| v.to_string())),
        ("sockets", a.sockets.map(|v| v.to_string())),
        ("net0", a.net0),
        ("scsi0", a.scsi0),
        ("ide2", a.iso.map(|iso| format!("{iso},media=cdrom"))),
        ("ostype", a.ostype),
    ];
    create(
        ctx,
        GuestKind::Qemu,
        vmid,
        a.name,
        &a.create,
        flagged,
        extra,
    )
    .await
}

pub async fn ct(ctx: &Ctx, a: CtCreateArgs) -> anyhow::Result<()> {
    let (vmid, mut rest) = leading_vmid(&a.args)?;
    // The template comes next: a volume ID (`local:vztmpl/…`), never a KEY=VALUE.
    let ostemplate = match rest.first() {
        Some(t) if !t.contains('=') || t.split_once('=').is_some_and(|(k, _)| k.contains(':')) => {
            rest = &rest[1..];
            t.clone()
        }
        _ => {
            return Err(CliError::usage(
                "a container needs its OS template: `pvectl ct create [VMID] local:vztmpl/debian-13-standard_….tar.zst --hostname …` (see `pvectl storage content local --content vztmpl`)",
            )
            .into())
        }
    };
    let extra = key_values(GuestKind::Lxc, rest)?;
    let password = match &a.password_file {
        Some(p) => Some(
            crate::config::secret_from_file(p, "--password-file")
                .map_err(|e| CliError::usage(e.message))?,
        ),
        None => None,
    };
    let keys = match &a.ssh_public_keys {
        Some(p) => Some(
            std::fs::read_to_string(crate::config::expand_home(p)).map_err(|e| {
                CliError::usage(format!(
                    "--ssh-public-keys: cannot read {}: {e}",
                    p.display()
                ))
            })?,
        ),
        None => None,
    };
    let flagged = vec![
        ("ostemplate", Some(ostemplate)),
        ("hostname", a.hostname.clone()),
        ("memory", a.create.memory.map(|v| v.to_string())),
        ("cores", a.create.cores.map(|v| v.to_string())),
        ("swap", a.swap.map(|v| v.to_string())),
        ("net0", a.net0),
        ("ostype", a.ostype),
        ("rootfs", a.rootfs),
        ("password", password.map(|p| p.expose().to_string())),
        ("ssh-public-keys", keys),
        ("unprivileged", a.unprivileged.then(|| "1".to_string())),
    ];
    create(
        ctx,
        GuestKind::Lxc,
        vmid,
        a.hostname,
        &a.create,
        flagged,
        extra,
    )
    .await
}

/// The node a new guest goes to: `--node`, else the profile's, else the first online node.
pub(super) async fn creation_node(
    ctx: &Ctx,
    client: &crate::api::Client,
    flag: Option<&str>,
) -> anyhow::Result<String> {
    if let Some(n) = ctx.node_or(flag) {
        return Ok(n);
    }
    let all = nodes::list(client).await?;
    let mut online: Vec<&nodes::NodeEntry> = all.iter().filter(|n| n.online()).collect();
    online.sort_by(|a, b| a.node.cmp(&b.node));
    Ok(online
        .first()
        .map(|n| n.node.clone())
        .ok_or_else(|| CliError::unreachable("no node of the cluster is online"))?)
}

/// An optional VMID first among the positionals.
pub(super) fn leading_vmid(args: &[String]) -> Result<(Option<u32>, &[String]), CliError> {
    match args.first() {
        Some(first) if !first.contains('=') && first.bytes().all(|b| b.is_ascii_digit()) => {
            let id = first
                .parse()
                .map_err(|_| CliError::usage(format!("'{first}' is not a VMID")))?;
            Ok((Some(id), &args[1..]))
        }
        _ => Ok((None, args)),
    }
}

async fn create(
    ctx: &Ctx,
    kind: GuestKind,
    vmid: Option<u32>,
    name: Option<String>,
    common: &CreateArgs,
    flagged: Vec<(&str, Option<String>)>,
    extra: Vec<(String, String)>,
) -> anyhow::Result<()> {
    let timeout = ctx.wait_limit(common.wait.wait_timeout.as_deref(), LONG_WAIT)?;
    let client = ctx.client()?;
    let resources = targets::fetch_guests(&client).await?;
    let vmid = match vmid {
        Some(id) => {
            if let Some(g) = targets::fetch_from(&resources)
                .iter()
                .find(|g| g.vmid == id)
            {
                return Err(in_use_error(id, g).into());
            }
            id
        }
        None => cluster::next_id(&client).await?,
    };
    let node = creation_node(ctx, &client, common.node.as_deref()).await?;
    let mut params = Params::new().set("vmid", vmid);
    let shared = [
        ("storage", common.storage.clone()),
        ("pool", common.pool.clone()),
        ("start", common.start.then(|| "1".to_string())),
    ];
    for (k, v) in flagged.into_iter().chain(shared) {
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
    let answer = provision::create(&client, kind, &node, &params).await?;
    let mut r = ActionResult::new(vmid.to_string(), node.clone(), "create");
    r.vmid = Some(vmid);
    r.kind = Some(kind);
    if let Some(n) = &name {
        r.label = format!("{n} ({vmid})");
    }
    r.name = name;
    task::finish_one(&ctx.out, &client, timeout, r, answer, common.wait.no_wait).await
}
