//! `vm create --image`: a VM ready to boot from a cloud image in one command. The steps, each
//! reported: download the image when given a URL (as `storage download`), create the VM with the
//! image imported as its boot disk, a cloud-init drive, a serial console and the guest agent, grow
//! the disk to `--disk-size`, start it, and with `--wait-ip` wait for the address its agent
//! reports. Everything that can be checked is checked before the first step; a step that fails
//! ends the run with what exists by then, and nothing is removed.

use serde_json::Value;

use super::cloudinit;
use super::create::{creation_node, leading_vmid};
use super::disk::check_disk_storage_on;
use super::disk::import::check_source;
use super::wait_ip::wait_ip;
use super::{in_use_error, key_values, Ctx};
use crate::api::cluster::{self, ResourceType};
use crate::api::guest::config;
use crate::api::guest::disk::{self, format_size, import_value, parse_size, Drive};
use crate::api::guest::power::{self, PowerAction};
use crate::api::guest::provision;
use crate::api::{GuestKind, Params};
use crate::cli::{OutputFormat, TransferArgs, VmCreateArgs};
use crate::commands::kit::settle_shaped;
use crate::commands::storage::{download, image_place, Place};
use crate::error::{self, CliError, ErrorKind, Reported};
use crate::output::bytes;
use crate::targets::{self, Guest};
use crate::task::{ActionResult, Session, LONG_WAIT, SHORT_WAIT};

/// Where the image comes from.
enum Source {
    /// Downloaded first onto a storage of the node.
    Url(download::Prepared),
    /// A volume (`local:import/…`, or another VM's disk) or a path on the node.
    Volume(String),
}

impl Source {
    fn parse(image: &str) -> Result<Source, CliError> {
        let image = image.trim();
        if image.starts_with("http://") || image.starts_with("https://") {
            if image
                .to_ascii_lowercase()
                .split(['?', '#'])
                .next()
                .is_some_and(|u| u.ends_with(".iso"))
            {
                return Err(CliError::usage(
                    "an ISO is an installer, not a cloud image: boot it with --iso",
                ));
            }
            let t = TransferArgs {
                content: Some("import".into()),
                name: None,
                checksum: None,
                checksum_file: None,
                node: None,
                wait: Default::default(),
            };
            return download::prepare(image, &t).map(Source::Url);
        }
        if image.contains(':') || image.starts_with('/') {
            return Ok(Source::Volume(image.to_string()));
        }
        Err(CliError::usage(format!(
            "--image '{image}' is neither a volume (e.g. local:import/debian-13-genericcloud-amd64.qcow2), an http(s) URL nor a path on the node; a file of this machine goes up first with `pvectl storage upload STORAGE FILE`"
        )))
    }
}

/// What exists so far, for the account of a run that stopped half-way.
#[derive(Default)]
struct State {
    /// The image volume, and whether this run downloaded it.
    image: Option<(String, bool)>,
    vm: bool,
    resized: bool,
    started: bool,
    /// The step whose task was being waited for (it keeps running after Ctrl-C).
    in_flight: Option<&'static str>,
}

/// Everything decided before the first step.
struct Plan {
    vmid: u32,
    node: String,
    label: String,
    name: Option<String>,
    source: Source,
    /// Where a URL is downloaded to.
    image_place: Option<Place>,
    params: Params,
    ci_slot: String,
    disk_size: Option<u64>,
    start: bool,
    wait_ip: bool,
    wait_ip_limit: Option<std::time::Duration>,
}

/// `--disk-size`: a size with a unit, not an increase.
fn disk_size(text: &str) -> Result<u64, CliError> {
    let t = text.trim();
    if t.starts_with('+') {
        return Err(CliError::usage(format!(
            "--disk-size {t}: give the size the disk should have (e.g. 20G), not an increase"
        )));
    }
    match parse_size(t) {
        Some(n) if !t.ends_with(|c: char| c.is_ascii_digit()) && n > 0 => Ok(n),
        _ => Err(CliError::usage(format!(
            "--disk-size '{t}' is not a size such as 20G (units K, M, G, T)"
        ))),
    }
}

pub async fn run(ctx: &Ctx, a: VmCreateArgs) -> anyhow::Result<()> {
    let img = &a.image;
    let (vmid_arg, rest) = leading_vmid(&a.args)?;
    let extra = key_values(GuestKind::Qemu, rest)?;
    if a.create.wait.no_wait {
        return Err(CliError::usage(
            "--no-wait does not go with --image: each step needs the one before it",
        )
        .into());
    }
    let storage = a.create.storage.clone().ok_or_else(|| {
        CliError::usage(
            "--image needs --storage: the storage for the boot disk and the cloud-init drive (e.g. local-lvm)",
        )
    })?;
    let disk_size = img.disk_size.as_deref().map(disk_size).transpose()?;
    let source = Source::parse(img.image.as_deref().unwrap_or_default())?;
    let ci = cloudinit::settings(&img.ci)?;
    let ipconfig = cloudinit::ipconfig0(None, Some(img.ci.ip0.as_deref().unwrap_or("dhcp")), None)?
        .unwrap_or_else(|| "ip=dhcp".into());
    let timeout = ctx.wait_limit(a.create.wait.wait_timeout.as_deref(), LONG_WAIT)?;
    let wait_ip_limit = ctx.wait_limit(a.create.wait.wait_timeout.as_deref(), SHORT_WAIT)?;

    // The create request, checked before anything is asked of the server; the VMID and the
    // image volume are filled in once they are known.
    let ci_slot = if a.iso.is_some() { "ide0" } else { "ide2" }.to_string();
    let mut params = Params::new();
    let mut explicit: Vec<(&str, Option<String>)> = vec![
        ("name", a.name.clone()),
        ("memory", a.create.memory.map(|v| v.to_string())),
        ("cores", a.create.cores.map(|v| v.to_string())),
        ("sockets", a.sockets.map(|v| v.to_string())),
        ("net0", a.net0.clone()),
        (
            "ide2",
            a.iso.clone().map(|iso| format!("{iso},media=cdrom")),
        ),
        ("ostype", a.ostype.clone()),
        ("pool", a.create.pool.clone()),
        (
            if ci_slot == "ide0" { "ide0" } else { "ide2" },
            Some(format!("{storage}:cloudinit")),
        ),
    ];
    for (k, v) in &ci {
        explicit.push((k, Some(v.clone())));
    }
    if img.ci.ip0.is_some() {
        explicit.push(("ipconfig0", Some(ipconfig.clone())));
    }
    for (k, v) in explicit {
        if let Some(v) = v {
            if extra.iter().any(|(e, _)| e == k) {
                return Err(
                    CliError::usage(format!("'{k}' is given both as a flag and as {k}=…")).into(),
                );
            }
            params.push(k, v);
        }
    }
    if extra.iter().any(|(e, _)| e == "scsi0") {
        return Err(
            CliError::usage("--image makes scsi0, the boot disk: leave scsi0=… out").into(),
        );
    }
    // Sensible defaults for a cloud image, each of which KEY=VALUE may override.
    let defaults = [
        ("ostype", "l26".to_string()),
        ("net0", "virtio,bridge=vmbr0".to_string()),
        ("scsihw", "virtio-scsi-single".to_string()),
        ("boot", "order=scsi0".to_string()),
        ("serial0", "socket".to_string()),
        ("vga", "serial0".to_string()),
        ("agent", "enabled=1".to_string()),
        ("ipconfig0", ipconfig),
    ];
    for (k, v) in defaults {
        if params.get(k).is_none() && !extra.iter().any(|(e, _)| e == k) {
            params.push(k, v);
        }
    }
    for (k, v) in &extra {
        params.push(k, v);
    }
    let client = ctx.client()?;
    let resources = targets::fetch_guests(&client).await?;
    let vmid = match vmid_arg {
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
    let node = creation_node(ctx, &client, a.create.node.as_deref()).await?;
    let label = match &a.name {
        Some(n) => format!("{n} ({vmid})"),
        None => vmid.to_string(),
    };
    let who = format!("the new VM {label}");
    check_disk_storage_on(&client, GuestKind::Qemu, &node, &storage, &who).await?;
    let image_place = match &source {
        Source::Url(p) => {
            let place = match &img.image_storage {
                Some(s) => image_place(ctx, &client, s, Some(&node)).await?,
                None => import_storage(&client, &node).await?,
            };
            place.require(p.request.content)?;
            Some(place)
        }
        Source::Volume(v) => {
            let size = check_source(&client, &node, &who, v).await?;
            ctx.out.info(&format!(
                "{label}: image {v}{} on {node}",
                size.map(|s| format!(" ({})", bytes(s as f64)))
                    .unwrap_or_default()
            ));
            None
        }
    };

    let mut with_id = Params::new().set("vmid", vmid);
    for (k, v) in params.pairs() {
        with_id.push(k, v);
    }
    let params = with_id;
    let plan = Plan {
        vmid,
        node,
        label,
        name: a.name.clone(),
        source,
        image_place,
        params,
        ci_slot,
        disk_size,
        start: a.create.start || img.wait_ip,
        wait_ip: img.wait_ip,
        wait_ip_limit,
    };

    let session = Session::new(&ctx.out, &client, timeout);
    let mut log = Steps::default();
    let mut state = State::default();
    let mut address = None;
    let run = steps(
        &session,
        &client,
        &plan,
        &storage,
        &mut state,
        &mut log,
        &mut address,
    )
    .await;
    if let Err(e) = run {
        // Interrupted while waiting (the session said which task keeps running), or an error
        // between steps.
        if error::kind_of(&e) == ErrorKind::Interrupted {
            account(ctx, &plan, &state);
            return Err(e);
        }
        log.push(
            &session,
            ActionResult::new(plan.label.clone(), plan.node.clone(), "create").failed(&e),
        );
    }
    let results = log.results;
    if ctx.out.format == OutputFormat::Json {
        ctx.out.json(&results)?;
    }
    match results.iter().find(|r| !r.ok) {
        Some(failed) => {
            account(ctx, &plan, &state);
            Err(Reported(failed.failure.unwrap_or(ErrorKind::Other)).into())
        }
        None => {
            if let Some(ip) = address {
                if ctx.out.format != OutputFormat::Json {
                    ctx.out.lines([ip])?;
                }
            }
            Ok(())
        }
    }
}

/// The results of the steps, each reported on stderr as it ends (the JSON array comes at the end).
#[derive(Default)]
struct Steps {
    results: Vec<ActionResult>,
}

impl Steps {
    fn push(&mut self, session: &Session<'_>, r: ActionResult) {
        // The line (and for a failure its reason and the end of the task log) now; the outcome
        // is decided once all steps ran.
        self.results.push(session.keep(r));
    }
}

/// A storage of `node` that takes import content, for a downloaded image.
async fn import_storage(client: &crate::api::Client, node: &str) -> anyhow::Result<Place> {
    let all = cluster::resources(client, Some(ResourceType::Storage)).await?;
    let mut fit: Vec<_> = all
        .iter()
        .filter(|r| {
            r.node.as_deref() == Some(node)
                && r.status.as_deref() == Some("available")
                && r.holds("import")
        })
        .collect();
    fit.sort_by(|a, b| a.storage.cmp(&b.storage));
    let Some(r) = fit.first() else {
        return Err(CliError::usage(format!(
            "no storage on {node} takes import content, where a downloaded image goes: give --image-storage, or allow it on one, e.g. `pvesm set local --content iso,vztmpl,backup,import`"
        ))
        .into());
    };
    Ok(Place {
        storage: r.storage.clone().unwrap_or_default(),
        node: node.to_string(),

        content: r.content_types(),
        plugintype: r
            .field("plugintype")
            .and_then(|v| v.as_str().map(str::to_string)),
    })
}

/// Run the steps, pushing a result for each; stop at the first that fails. An `Err` is an
/// interruption or an error no step owns.
async fn steps(
    session: &Session<'_>,
    client: &crate::api::Client,
    plan: &Plan,
    storage: &str,
    state: &mut State,
    log: &mut Steps,
    address: &mut Option<String>,
) -> anyhow::Result<()> {
    // 1. The image.
    let image = match &plan.source {
        Source::Volume(v) => v.clone(),
        Source::Url(p) => {
            let Some(place) = &plan.image_place else {
                return Err(CliError::other("no storage for the image").into());
            };
            state.in_flight = Some("download");
            let r = download::fetch(session, client, place, p, false).await?;
            state.in_flight = None;
            let volid = r.volid.clone().unwrap_or_default();
            let ok = r.ok;
            if ok {
                state.image = Some((volid.clone(), r.message != "already present"));
            }
            log.push(session, r);
            if !ok {
                return Ok(());
            }
            volid
        }
    };

    // 2. The VM, with the image imported as its boot disk.
    let mut params = plan.params.clone();
    params.push("scsi0", import_value(storage, &image, None));
    let g = Guest::at(GuestKind::Qemu, &plan.node, plan.vmid);
    let g = Guest {
        name: plan.name.clone(),
        ..g
    };
    let mut r = ActionResult::for_guest(&g, "create");
    r.label = plan.label.clone();
    session.progress.println(&format!(
        "{}: creating on {} with scsi0 imported from {image}",
        plan.label, plan.node
    ));
    let answer = provision::create(client, GuestKind::Qemu, &plan.node, &params).await;
    state.in_flight = Some("create");
    let mut r = session
        .run(settle_shaped(session, answer, r, "OK", false, |b| {
            b.transfer()
        }))
        .await?;
    state.in_flight = None;
    if !r.ok {
        log.push(session, r);
        return Ok(());
    }
    state.vm = true;
    r.message = format!(
        "boot disk scsi0 from {image}, cloud-init drive {}, serial console, guest agent ({})",
        plan.ci_slot, r.message
    );
    log.push(session, r);

    // 3. The boot disk at the size asked for.
    if let Some(want) = plan.disk_size {
        let cfg = match config::get(client, &g).await {
            Ok(c) => c,
            Err(e) => {
                log.push(
                    session,
                    ActionResult::for_guest(&g, "resize").failed(&e.into()),
                );
                return Ok(());
            }
        };
        let current = cfg
            .text("scsi0")
            .and_then(|v| Drive::parse(GuestKind::Qemu, "scsi0", &v))
            .and_then(|d| d.size());
        match current {
            Some(c) if c >= want => {
                let note = if c == want {
                    format!("already {} (scsi0)", format_size(c))
                } else {
                    format!(
                        "already {}, more than --disk-size {}: scsi0 keeps the image's size",
                        format_size(c),
                        format_size(want)
                    )
                };
                log.push(session, ActionResult::for_guest(&g, "resize").done(&note));
            }
            _ => {
                let answer =
                    disk::resize(client, &g, "scsi0", &format_size(want), cfg.digest()).await;
                state.in_flight = Some("resize");
                let mut r = session
                    .run(session.settle(answer, ActionResult::for_guest(&g, "resize"), "OK", false))
                    .await?;
                state.in_flight = None;
                if !r.ok {
                    log.push(session, r);
                    return Ok(());
                }
                state.resized = true;
                r.message = format!(
                    "scsi0: {}{} ({})",
                    current
                        .map(|c| format!("{} → ", bytes(c as f64)))
                        .unwrap_or_default(),
                    bytes(want as f64),
                    r.message
                );
                log.push(session, r);
            }
        }
    }

    // 4. Started.
    if !plan.start {
        return Ok(());
    }
    let answer = power::action(client, &g, PowerAction::Start, &Params::new())
        .await
        .map(|u| Value::String(u.to_string()));
    state.in_flight = Some("start");
    let r = session
        .run(session.settle(answer, ActionResult::for_guest(&g, "start"), "OK", false))
        .await?;
    state.in_flight = None;
    let ok = r.ok;
    log.push(session, r);
    if !ok {
        return Ok(());
    }
    state.started = true;

    // 5. Its address.
    if plan.wait_ip {
        let r = ActionResult::for_guest(&g, "wait-ip");
        match session
            .run(wait_ip(client, &g, plan.wait_ip_limit, &session.progress))
            .await?
        {
            Ok(ip) => {
                log.push(session, r.done(&ip));
                *address = Some(ip);
            }
            Err(e) => {
                let mut r = r.failed(&e);
                if r.failure == Some(ErrorKind::WaitTimeout) {
                    // No task is left running: the VM runs, only the address is missing.
                    session
                        .progress
                        .println_always(&format!("{}: wait-ip failed: {}", r.label, r.message));
                    r.reported = true;
                    log.results.push(r);
                } else {
                    log.push(session, r);
                }
            }
        }
    }
    Ok(())
}

/// After a failure or an interruption: what exists now, and what to do with it. Nothing is
/// removed.
fn account(ctx: &Ctx, plan: &Plan, state: &State) {
    let mut lines = vec![];
    match state.in_flight {
        Some("download") => lines.push(
            "the download of the image keeps running on the node (its task is named above); the image is on the storage once it ends".to_string(),
        ),
        Some("create") => lines.push(format!(
            "the task creating VM {} keeps running on {} (named above); the VM exists, stopped, once it ends",
            plan.label, plan.node
        )),
        Some(step) => lines.push(format!(
            "the {step} task keeps running on {} (named above)",
            plan.node
        )),
        None => {}
    }
    if let Some((volid, fresh)) = &state.image {
        lines.push(format!(
            "the image {volid} is on the storage ({})",
            if *fresh {
                "downloaded now"
            } else {
                "it was there before"
            }
        ));
    }
    if state.vm {
        let how = if state.started { "running" } else { "stopped" };
        lines.push(format!("VM {} exists on {} ({how})", plan.label, plan.node));
        if plan.disk_size.is_some() && !state.resized {
            if let Some(s) = plan.disk_size {
                lines.push(format!(
                    "its boot disk has the image's size: `pvectl vm disk resize {} scsi0 {}` grows it",
                    plan.vmid,
                    format_size(s)
                ));
            }
        }
        if plan.start && !state.started && state.in_flight != Some("start") {
            lines.push(format!(
                "it was not started: `pvectl vm start {}`",
                plan.vmid
            ));
        }
        lines.push(format!(
            "nothing was removed; `pvectl vm delete {} --yes` removes the VM",
            plan.vmid
        ));
    } else if state.in_flight != Some("create") {
        lines.push("no VM was created".to_string());
    }
    ctx.out.notice("what exists now:");
    for l in lines {
        ctx.out.notice(&format!("  {l}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_sizes_and_sources() {
        assert_eq!(disk_size("20G").unwrap(), 20 << 30);
        for bad in ["+20G", "20", "big", "0G"] {
            assert!(disk_size(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            Source::parse("local:import/d.qcow2").unwrap(),
            Source::Volume(_)
        ));
        assert!(matches!(
            Source::parse("https://cloud.example/debian-13.qcow2").unwrap(),
            Source::Url(_)
        ));
        assert!(Source::parse("https://x.example/debian.iso")
            .err()
            .unwrap()
            .message
            .contains("--iso"));
        assert!(Source::parse("debian.qcow2").is_err());
    }
}
