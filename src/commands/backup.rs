//! `backup create|list|restore|delete|prune|jobs`.
//!
//! vzdump is node-local: PVE backs up only the guests on the node the request goes to. `create`
//! groups the targets by node, starts one vzdump per node at once, and reports a guest as backed
//! up only when its task log says `Finished Backup of VM N`.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{json, Map, Value};

use super::power::wait_limit;
use super::storage::nodes_with;
use super::Ctx;
use crate::actions::{self, ActionResult, Session};
use crate::api::types::{truthy, Resource, Volume};
use crate::api::{seg, ApiError, Client, GuestKind, Params, Upid};
use crate::cli::{
    BackupCmd, BackupCreateArgs, BackupDeleteArgs, BackupListArgs, BackupMode, BackupPruneArgs,
    BackupRestoreArgs, OutputFormat,
};
use crate::error::{CliError, EXIT_REFUSED, EXIT_TASK_FAILED};
use crate::guests::{self, Guest, Selectors};
use crate::output::{col, Column, Kind};
use crate::vzdump::{self, JobLog};
use crate::wait::full_log;

/// A JSON object as PVE sends one (decoding fails, rather than indexing panics, on anything else).
type JsonObject = Map<String, Value>;

/// Backups, restores and deletions may take long: 30 minutes unless told otherwise.
const LONG_WAIT: Duration = Duration::from_secs(30 * 60);

pub async fn run(ctx: &Ctx, cmd: BackupCmd) -> anyhow::Result<()> {
    match cmd {
        BackupCmd::Create(a) => create(ctx, *a).await,
        BackupCmd::List(a) => list(ctx, a).await,
        BackupCmd::Restore(a) => restore(ctx, a).await,
        BackupCmd::Delete(a) => delete(ctx, a).await,
        BackupCmd::Prune(a) => prune(ctx, a).await,
        BackupCmd::Jobs => jobs(ctx).await,
    }
}

// ------------------------------------------------------------------------------------- create

/// The vzdump options, under vzdump's names (everything but the guests).
fn vzdump_params(a: &BackupCreateArgs) -> Result<Params, CliError> {
    if (a.notes_template.is_some() || a.protected) && a.storage.is_none() {
        return Err(CliError::usage(
            "--notes-template and --protected need --storage (PVE's rule)",
        ));
    }
    let mode = a.mode.map(|m| match m {
        BackupMode::Snapshot => "snapshot",
        BackupMode::Suspend => "suspend",
        BackupMode::Stop => "stop",
    });
    let mut p = Params::new()
        .opt("storage", a.storage.as_deref())
        .opt("mode", mode)
        .opt("compress", a.compress.as_deref())
        .opt("notes-template", a.notes_template.as_deref())
        .flag_if("protected", a.protected)
        .opt("prune-backups", a.prune_backups.as_deref())
        .opt("remove", a.remove.as_deref())
        .opt("bwlimit", a.bwlimit)
        .opt("zstd", a.zstd)
        .opt("pigz", a.pigz)
        .opt("ionice", a.ionice)
        .opt("lockwait", a.lockwait)
        .opt("stopwait", a.stopwait)
        .opt("mailto", a.mailto.as_deref())
        .opt("mailnotification", a.mailnotification.as_deref())
        .opt("notification-mode", a.notification_mode.as_deref())
        .opt("fleecing", a.fleecing.as_deref());
    for path in &a.exclude_path {
        p.push("exclude-path", path);
    }
    Ok(p)
}

async fn create(ctx: &Ctx, a: BackupCreateArgs) -> anyhow::Result<()> {
    let params = vzdump_params(&a)?;
    let timeout = wait_limit(ctx, a.wait.wait_timeout.as_deref(), LONG_WAIT)?;
    let client = ctx.client()?;
    let resources = guests::fetch_guests(&client).await?;
    let sel = Selectors {
        all: a.all,
        tag: a.tag.clone(),
        pool: a.pool.clone(),
        node: a.node.clone(),
        status: None,
    };
    let selection = guests::select_any(&resources, &a.guests, &sel, true)?;
    let by_selector = selection.by_selector;
    let mut targets = selection.guests;
    if !a.exclude.is_empty() {
        let excluded = guests::select_any(&resources, &a.exclude, &Selectors::default(), true)?;
        let ids: HashSet<u32> = excluded.guests.iter().map(|g| g.vmid).collect();
        targets.retain(|g| !ids.contains(&g.vmid));
        if targets.is_empty() {
            return Err(CliError::not_found("--exclude leaves no guest to back up").into());
        }
    }
    // A backup leaves the guests as they are, except in stop and suspend mode: there, guests
    // picked by a selector are confirmed like any state-changing verb's.
    if by_selector && matches!(a.mode, Some(BackupMode::Stop | BackupMode::Suspend)) {
        let running: Vec<String> = targets
            .iter()
            .filter(|g| g.status.as_deref() == Some("running"))
            .map(Guest::summary)
            .collect();
        if !running.is_empty() {
            super::confirm(
                ctx,
                &format!(
                    "Back up in {} mode, pausing or stopping {} running guest{} picked by a selector",
                    if a.mode == Some(BackupMode::Stop) { "stop" } else { "suspend" },
                    running.len(),
                    plural(running.len())
                ),
                &running,
                a.yes,
            )?;
        }
    }
    let mut by_node: BTreeMap<String, Vec<Guest>> = BTreeMap::new();
    for g in &targets {
        by_node.entry(g.node.clone()).or_default().push(g.clone());
    }
    if let Some(storage) = &a.storage {
        check_storage(&client, by_node.keys(), storage).await?;
    }
    let session = Session::new(&ctx.out, &client, timeout);
    let job = NodeJob {
        client: &client,
        session: &session,
        params: &params,
        storage: a.storage.as_deref(),
        no_wait: a.wait.no_wait,
    };
    let work = join_all(by_node.iter().map(|(node, guests)| job.run(node, guests)));
    let per_node = session.run(work).await?;
    // Report in target order, one result per guest.
    let mut by_vmid: BTreeMap<u32, ActionResult> = per_node
        .into_iter()
        .flatten()
        .map(|r| (r.vmid.unwrap_or_default(), r))
        .collect();
    let mut results: Vec<ActionResult> = targets
        .iter()
        .filter_map(|g| by_vmid.remove(&g.vmid))
        .collect();
    if a.wait.no_wait && ctx.out.format != OutputFormat::Json {
        // One vzdump serves every guest of its node: print each UPID once.
        let mut seen = HashSet::new();
        for r in &mut results {
            if r.upid.as_ref().is_some_and(|u| !seen.insert(u.clone())) {
                r.upid = None;
            }
        }
    }
    session.report(&results, a.wait.no_wait)
}

/// vzdump checks its storage only inside the task, on every node; PVE's own check (the vzdump
/// defaults for that storage) before anything starts makes an unknown storage exit 5 and one
/// without backup content 6, with PVE's message. Asked of the first node that answers.
async fn check_storage<'a>(
    client: &Client,
    nodes: impl Iterator<Item = &'a String>,
    storage: &str,
) -> anyhow::Result<()> {
    let params = Params::new().set("storage", storage);
    for node in nodes {
        let path = format!("/nodes/{}/vzdump/defaults", seg(node));
        match client.get::<Value>(&path, &params).await {
            Ok(_) => return Ok(()),
            // That node is down: its guests fail on their own; ask another.
            Err(ApiError::Unreachable { .. }) => continue,
            Err(e) => {
                return Err(anyhow::Error::from(e).context(format!(
                    "cannot back up to storage '{storage}'; nothing was started"
                )))
            }
        }
    }
    Ok(())
}

/// One vzdump on one node, for all of that node's targets.
struct NodeJob<'a> {
    client: &'a Client,
    session: &'a Session<'a>,
    params: &'a Params,
    storage: Option<&'a str>,
    no_wait: bool,
}

impl NodeJob<'_> {
    async fn run(&self, node: &str, guests: &[Guest]) -> Vec<ActionResult> {
        let blank = |g: &Guest| ActionResult::for_guest(g, "backup");
        let ids: Vec<String> = guests.iter().map(|g| g.vmid.to_string()).collect();
        let mut params = self.params.clone();
        params.push("vmid", ids.join(","));
        let path = format!("/nodes/{}/vzdump", seg(node));
        let answer: Value = match self.client.post(&path, &params).await {
            Ok(v) => v,
            Err(e) => {
                let e = anyhow::Error::from(e);
                return guests.iter().map(|g| blank(g).failed(&e)).collect();
            }
        };
        // A plain "OK" instead of a UPID: none of the guests is on this node any more.
        let Some(upid) = answer.as_str().and_then(|s| s.parse::<Upid>().ok()) else {
            return guests
                .iter()
                .map(|g| {
                    let mut r = blank(g);
                    r.code = EXIT_TASK_FAILED;
                    r.message = format!(
                        "not backed up: PVE on {node} started no backup (answer {answer}); the guest is no longer there"
                    );
                    r
                })
                .collect();
        };
        if self.no_wait {
            return guests.iter().map(|g| blank(g).started(&upid)).collect();
        }
        let label = format!("{node} ({} guest{})", guests.len(), plural(guests.len()));
        let s = self.session;
        let bar = s.progress.bar(&label, "backup").vzdump(guests.len());
        bar.started(upid.as_str());
        s.inflight.add(&label, &upid);
        let outcome = s.waiter.wait(&upid, &bar).await;
        s.inflight.remove(&upid);
        bar.finish();
        let outcome = match outcome {
            Ok(o) => o,
            Err(e) => {
                return guests
                    .iter()
                    .map(|g| {
                        let mut r = blank(g).failed(&e);
                        r.upid.get_or_insert_with(|| upid.to_string());
                        r
                    })
                    .collect()
            }
        };
        let lines: Vec<String> = full_log(self.client, &upid)
            .await
            .map(|l| l.into_iter().map(|l| l.t).collect())
            .unwrap_or_default();
        let log = JobLog::parse(lines.iter().map(String::as_str));
        let storage = match self.storage {
            Some(s) => Some(s.to_string()),
            None => default_storage(self.client, node).await,
        };
        let mut tail_shown = false;
        guests
            .iter()
            .map(|g| {
                let mut r = blank(g);
                r.upid = Some(upid.to_string());
                r.exitstatus = Some(outcome.exitstatus.clone());
                let Some(gl) = log.guests.get(&g.vmid).filter(|gl| gl.finished) else {
                    r.code = EXIT_TASK_FAILED;
                    let reason = log.guests.get(&g.vmid).and_then(|gl| gl.error.clone());
                    r.message = match (reason, &log.job_error) {
                        (Some(reason), _) => format!("backup failed: {reason}"),
                        (None, Some(job)) => format!("backup job failed: {job}"),
                        (None, None) if !outcome.ok => {
                            format!("not backed up: the task ended {}", outcome.exitstatus)
                        }
                        (None, None) => format!(
                            "not backed up: the task log does not say 'Finished Backup of VM {}'",
                            g.vmid
                        ),
                    };
                    if !tail_shown {
                        r.log_tail = if outcome.log_tail.is_empty() {
                            tail(&lines, 20)
                        } else {
                            outcome.log_tail.clone()
                        };
                        tail_shown = true;
                    }
                    return r;
                };
                r.ok = true;
                r.warnings = gl.warnings.clone();
                r.duration_s = gl.elapsed.unwrap_or(outcome.duration).as_secs_f64();
                r.volid = match (&storage, &gl.archive) {
                    (Some(s), Some(a)) => Some(vzdump::volid(s, a)),
                    (None, Some(a)) => Some(a.clone()),
                    _ => None,
                };
                r.size = gl.size;
                r.message = match (&r.volid, gl.size) {
                    (Some(v), Some(size)) => {
                        format!("{v} ({})", crate::output::format::bytes(size as f64))
                    }
                    (Some(v), None) => v.clone(),
                    _ => "OK".into(),
                };
                if !r.warnings.is_empty() {
                    r.message = format!("{} with {} warning(s)", r.message, r.warnings.len());
                }
                r
            })
            .collect()
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn tail(lines: &[String], n: usize) -> Vec<String> {
    lines[lines.len().saturating_sub(n)..].to_vec()
}

/// The storage vzdump uses without `--storage` (the node's vzdump.conf, else `local`).
async fn default_storage(client: &Client, node: &str) -> Option<String> {
    let defaults: Value = client
        .get(
            &format!("/nodes/{}/vzdump/defaults", seg(node)),
            &Params::new(),
        )
        .await
        .ok()?;
    defaults
        .get("storage")
        .and_then(Value::as_str)
        .map(str::to_string)
}

// --------------------------------------------------------------------------------------- list

/// A backup archive where it was found.
#[derive(Debug, Clone)]
struct Found {
    node: String,
    storage: String,
    volume: Volume,
}

/// The (storage, node) pairs to read backups from: storages with `backup` content, a shared one
/// once. Unavailable ones are skipped with a warning.
fn backup_stores(
    ctx: &Ctx,
    resources: &[Resource],
    storage: Option<&str>,
    node: Option<&str>,
) -> Vec<(String, String)> {
    let mut pairs = vec![];
    let mut shared_done = HashSet::new();
    let holds_backups = |r: &Resource| {
        r.extra
            .get("content")
            .and_then(Value::as_str)
            .is_some_and(|c| c.split(',').any(|c| c.trim() == "backup"))
    };
    let mut candidates: Vec<&Resource> = resources
        .iter()
        .filter(|r| r.kind == "storage" && holds_backups(r))
        .filter(|r| storage.is_none_or(|s| r.storage.as_deref() == Some(s)))
        .filter(|r| node.is_none_or(|n| r.node.as_deref() == Some(n)))
        .collect();
    // Available copies first, so a shared storage is read where it works.
    candidates.sort_by_key(|r| r.status.as_deref() != Some("available"));
    for r in candidates {
        let (Some(s), Some(n)) = (&r.storage, &r.node) else {
            continue;
        };
        if r.shared && !shared_done.insert(s.clone()) {
            continue;
        }
        if r.status.as_deref() != Some("available") {
            ctx.out.warn(&format!(
                "storage {s} on {n} is {}: its backups are not listed",
                r.status.as_deref().unwrap_or("unknown")
            ));
            continue;
        }
        pairs.push((s.clone(), n.clone()));
    }
    pairs
}

/// Every backup on the given stores (concurrently); a store that cannot be read is reported as
/// a warning and counted in the error returned beside the list.
async fn read_backups(
    ctx: &Ctx,
    client: &Client,
    stores: &[(String, String)],
    vmid: Option<u32>,
) -> (Vec<Found>, Option<anyhow::Error>) {
    let params = Params::new().set("content", "backup").opt("vmid", vmid);
    let fetches = stores.iter().map(|(s, n)| {
        let params = &params;
        async move {
            let path = format!("/nodes/{}/storage/{}/content", seg(n), seg(s));
            (s, n, client.get::<Vec<Volume>>(&path, params).await)
        }
    });
    let mut found = vec![];
    let mut first_error = None;
    for (s, n, result) in join_all(fetches).await {
        match result {
            Ok(volumes) => found.extend(volumes.into_iter().map(|v| Found {
                node: n.clone(),
                storage: s.clone(),
                volume: v,
            })),
            Err(e) => {
                ctx.out
                    .warn(&format!("cannot list backups on {s} ({n}): {e}"));
                first_error.get_or_insert_with(|| e.into());
            }
        }
    }
    (found, first_error)
}

/// The VMIDs the guest arguments name: a bare VMID also for a guest that no longer exists.
fn wanted_vmids(resources: &[Resource], specs: &[String]) -> Result<Option<Vec<u32>>, CliError> {
    if specs.is_empty() {
        return Ok(None);
    }
    let mut ids = vec![];
    for spec in specs {
        let spec = spec.trim();
        if let Ok(id) = spec.parse::<u32>() {
            ids.push(id);
            continue;
        }
        let sel = guests::select_any(resources, &[spec.to_string()], &Selectors::default(), true)?;
        ids.extend(sel.guests.iter().map(|g| g.vmid));
    }
    Ok(Some(ids))
}

async fn list(ctx: &Ctx, a: BackupListArgs) -> anyhow::Result<()> {
    let client = ctx.client()?;
    // Guests (for their current names) and storages in one request.
    let resources: Vec<Resource> = client.get("/cluster/resources", &Params::new()).await?;
    let wanted = wanted_vmids(&resources, &a.guests)?;
    let stores = backup_stores(ctx, &resources, a.storage.as_deref(), a.node.as_deref());
    if stores.is_empty() {
        if let Some(s) = &a.storage {
            if !resources.iter().any(|r| r.storage.as_deref() == Some(s)) {
                return Err(CliError::not_found(format!(
                    "no storage '{s}' in the cluster (see `pvectl storage list`)"
                ))
                .into());
            }
            return Err(CliError::new(
                EXIT_REFUSED,
                format!("storage '{s}' does not hold backups (its content types lack 'backup')"),
            )
            .into());
        }
    }
    let one = wanted.as_ref().filter(|w| w.len() == 1).map(|w| w[0]);
    let (mut found, error) = read_backups(ctx, &client, &stores, one).await;
    if let Some(w) = &wanted {
        found.retain(|f| f.volume.vmid.is_some_and(|v| w.contains(&v)));
    }
    found.sort_by(|a, b| {
        ctime(&b.volume)
            .cmp(&ctime(&a.volume))
            .then_with(|| a.volume.volid.cmp(&b.volume.volid))
    });
    let names: BTreeMap<u32, &str> = resources
        .iter()
        .filter_map(|r| Some((r.vmid?, r.name.as_deref()?)))
        .collect();
    let shared: HashSet<&str> = resources
        .iter()
        .filter(|r| r.kind == "storage" && r.shared)
        .filter_map(|r| r.storage.as_deref())
        .collect();
    let rows: Vec<Value> = found
        .iter()
        .map(|f| {
            let v = &f.volume;
            let x = |k: &str| v.extra.get(k).cloned().unwrap_or(Value::Null);
            json!({
                "volid": v.volid,
                "vmid": v.vmid,
                "name": v.vmid.and_then(|id| names.get(&id).copied()),
                "type": backup_kind(v).map(GuestKind::as_str),
                "size": x("size"),
                "ctime": x("ctime"),
                "notes": x("notes"),
                "protected": truthy(&x("protected")),
                "storage": f.storage,
                "node": if shared.contains(f.storage.as_str()) { Value::Null } else { json!(f.node) },
                "format": x("format"),
            })
        })
        .collect();
    ctx.out.list(&LIST_COLUMNS, &rows)?;
    match error {
        Some(e) => Err(e.context("some storages could not be read: the list above is incomplete")),
        None => Ok(()),
    }
}

fn ctime(v: &Volume) -> i64 {
    v.extra.get("ctime").and_then(Value::as_i64).unwrap_or(0)
}

/// QEMU or LXC, from PVE's `subtype` or the archive's name.
fn backup_kind(v: &Volume) -> Option<GuestKind> {
    if let Some(k) = v.extra.get("subtype").and_then(Value::as_str) {
        if let Some(k) = GuestKind::from_type(k) {
            return Some(k);
        }
    }
    archive_identity(&v.volid).map(|(k, _)| k)
}

/// Kind and VMID from a backup volume ID: `…:backup/vzdump-qemu-100-….vma.zst`, or a PBS
/// `…:backup/vm/100/2026-…Z` / `ct/…`.
fn archive_identity(volid: &str) -> Option<(GuestKind, u32)> {
    let (_, name) = volid.split_once(':')?;
    let name = name.strip_prefix("backup/").unwrap_or(name);
    if let Some(rest) = name.strip_prefix("vzdump-") {
        let (kind, rest) = rest.split_once('-')?;
        let (id, _) = rest.split_once('-')?;
        let kind = match kind {
            "qemu" => GuestKind::Qemu,
            "lxc" | "openvz" => GuestKind::Lxc,
            _ => return None,
        };
        return Some((kind, id.parse().ok()?));
    }
    let mut parts = name.split('/');
    let kind = match parts.next()? {
        "vm" => GuestKind::Qemu,
        "ct" => GuestKind::Lxc,
        _ => return None,
    };
    Some((kind, parts.next()?.parse().ok()?))
}

const LIST_COLUMNS: [Column; 10] = [
    col("volid", "VOLID", Kind::Text),
    col("vmid", "VMID", Kind::Text),
    col("name", "NAME", Kind::Text),
    col("type", "TYPE", Kind::Text),
    col("size", "SIZE", Kind::Bytes),
    col("ctime", "CREATED", Kind::Epoch),
    col("notes", "NOTES", Kind::Text),
    col("protected", "PROTECTED", Kind::Flag),
    col("storage", "STORAGE", Kind::Text),
    col("node", "NODE", Kind::Text),
];

// ------------------------------------------------------------------------------- locate a volume

/// Find a backup volume: on a shared storage any node sees it, on a local one the node that has it.
async fn locate(
    ctx: &Ctx,
    client: &Client,
    resources: &[Resource],
    volid: &str,
    node: Option<&str>,
) -> anyhow::Result<Found> {
    let Some((storage, _)) = volid.split_once(':') else {
        return Err(CliError::usage(format!(
            "'{volid}' is not a volume ID: expected STORAGE:backup/… (see `pvectl backup list`)"
        ))
        .into());
    };
    if !resources
        .iter()
        .any(|r| r.kind == "storage" && r.storage.as_deref() == Some(storage))
    {
        return Err(CliError::not_found(format!(
            "no storage '{storage}' in the cluster (see `pvectl storage list`)"
        ))
        .into());
    }
    let stores = backup_stores(ctx, resources, Some(storage), node);
    let (found, error) = read_backups(
        ctx,
        client,
        &stores,
        archive_identity(volid).map(|(_, id)| id),
    )
    .await;
    if let Some(f) = found.into_iter().find(|f| f.volume.volid == volid) {
        return Ok(f);
    }
    if let Some(e) = error {
        return Err(e.context(format!(
            "backup {volid} not found on the storages that could be read"
        )));
    }
    Err(CliError::not_found(format!(
        "no backup {volid} (see `pvectl backup list --storage {storage}`)"
    ))
    .into())
}

// ------------------------------------------------------------------------------------ restore

async fn restore(ctx: &Ctx, a: BackupRestoreArgs) -> anyhow::Result<()> {
    let timeout = wait_limit(ctx, a.wait.wait_timeout.as_deref(), LONG_WAIT)?;
    let client = ctx.client()?;
    let resources: Vec<Resource> = client.get("/cluster/resources", &Params::new()).await?;
    let found = if a.latest {
        latest(ctx, &client, &resources, &a.volid, a.node.as_deref()).await?
    } else {
        locate(ctx, &client, &resources, a.volid.trim(), a.node.as_deref()).await?
    };
    let volid = found.volume.volid.clone();
    let (kind, archive_vmid) = match (backup_kind(&found.volume), archive_identity(&volid)) {
        (Some(k), Some((_, id))) => (k, id),
        (k, id) => {
            let kind = match k {
                Some(k) => k,
                None => kind_from_config(&client, &found.node, &volid).await?,
            };
            let id = id.map(|(_, id)| id).or(found.volume.vmid).ok_or_else(|| {
                CliError::usage(format!("cannot tell the VMID of {volid}: give --vmid"))
            })?;
            (kind, id)
        }
    };
    let guests_now = guests::fetch_from(&resources);
    let in_use = |id: u32| guests_now.iter().find(|g| g.vmid == id);
    let vmid = match a.vmid {
        Some(id) => {
            if let Some(g) = in_use(id) {
                if !a.force {
                    return Err(CliError::usage(format!(
                        "VMID {id} is in use by {} on {}: add --force to overwrite it, or choose another --vmid",
                        g.label(),
                        g.node
                    ))
                    .into());
                }
            }
            id
        }
        None => match in_use(archive_vmid) {
            Some(g) if !a.force => {
                let next = super::cluster::next_id(&client).await?;
                ctx.out.info(&format!(
                    "VMID {archive_vmid} is in use by {} on {}: restoring as {next} (--force overwrites {archive_vmid}, --vmid picks another)",
                    g.label(),
                    g.node
                ));
                next
            }
            _ => archive_vmid,
        },
    };
    let existing = in_use(vmid).cloned();
    let node = match (&a.node, &existing) {
        (Some(n), _) => n.clone(),
        (None, Some(g)) => g.node.clone(),
        (None, None) => found.node.clone(),
    };
    if let Some(g) = &existing {
        if g.kind != kind {
            return Err(CliError::usage(format!(
                "{vmid} is {} and {volid} is a {} backup: choose another --vmid",
                g.kind.a_noun(),
                kind.noun()
            ))
            .into());
        }
        if g.status.as_deref() == Some("running") {
            return Err(CliError::new(
                EXIT_REFUSED,
                format!(
                    "{} is running: stop it first (`pvectl {} stop {vmid}`); a running guest is never overwritten",
                    g.label(),
                    kind.command()
                ),
            )
            .into());
        }
        super::confirm(
            ctx,
            &format!("Overwrite {} on {} with {volid}?", g.label(), g.node),
            &[],
            a.yes,
        )?;
    }
    let mut params = Params::new().set("vmid", vmid);
    let path = match kind {
        GuestKind::Qemu => {
            params.push("archive", &volid);
            format!("/nodes/{}/qemu", seg(&node))
        }
        GuestKind::Lxc => {
            params.push("ostemplate", &volid);
            params.push("restore", 1);
            format!("/nodes/{}/lxc", seg(&node))
        }
    };
    let params = params
        .opt("storage", a.storage.as_deref())
        .flag_if("force", existing.is_some())
        .flag_if("unique", a.unique)
        .flag_if("start", a.start)
        .opt("pool", a.pool.as_deref())
        .opt("bwlimit", a.bwlimit);
    let mut result = ActionResult::new(format!("{volid} → {vmid}"), node.clone(), "restore");
    result.vmid = Some(vmid);
    result.kind = Some(kind);
    result.volid = Some(volid.clone());
    let answer: Value = client.post(&path, &params).await?;
    actions::finish_one(&ctx.out, &client, timeout, result, answer, a.wait.no_wait).await
}

/// The newest backup of a guest (by VMID, or by the name of a guest that still exists).
async fn latest(
    ctx: &Ctx,
    client: &Client,
    resources: &[Resource],
    spec: &str,
    node: Option<&str>,
) -> anyhow::Result<Found> {
    let ids = wanted_vmids(resources, &[spec.to_string()])?.unwrap_or_default();
    let [vmid] = ids[..] else {
        return Err(CliError::usage(format!(
            "'{spec}' names {} guests: --latest takes one",
            ids.len()
        ))
        .into());
    };
    let stores = backup_stores(ctx, resources, None, node);
    let (mut found, error) = read_backups(ctx, client, &stores, Some(vmid)).await;
    found.retain(|f| f.volume.vmid == Some(vmid));
    found.sort_by_key(|f| std::cmp::Reverse(ctime(&f.volume)));
    match (found.into_iter().next(), error) {
        (Some(f), _) => {
            ctx.out
                .info(&format!("newest backup of {vmid}: {}", f.volume.volid));
            Ok(f)
        }
        (None, Some(e)) => Err(e.context(format!(
            "no backup of {vmid} on the storages that could be read"
        ))),
        (None, None) => Err(CliError::not_found(format!(
            "no backup of guest {vmid} (see `pvectl backup list`)"
        ))
        .into()),
    }
}

/// QEMU or LXC from the configuration stored in the archive (a container's has `rootfs`).
async fn kind_from_config(client: &Client, node: &str, volid: &str) -> anyhow::Result<GuestKind> {
    let config: Value = client
        .get(
            &format!("/nodes/{}/vzdump/extractconfig", seg(node)),
            &Params::new().set("volume", volid),
        )
        .await?;
    let text = config.as_str().unwrap_or_default();
    Ok(if text.lines().any(|l| l.starts_with("rootfs:")) {
        GuestKind::Lxc
    } else {
        GuestKind::Qemu
    })
}

// ------------------------------------------------------------------------------------- delete

async fn delete(ctx: &Ctx, a: BackupDeleteArgs) -> anyhow::Result<()> {
    let timeout = wait_limit(ctx, a.wait.wait_timeout.as_deref(), LONG_WAIT)?;
    let client = ctx.client()?;
    let resources: Vec<Resource> = client
        .get("/cluster/resources", &Params::new().set("type", "storage"))
        .await?;
    let mut found = vec![];
    for volid in &a.volids {
        let f = locate(ctx, &client, &resources, volid.trim(), a.node.as_deref()).await?;
        let protected = f.volume.extra.get("protected").is_some_and(truthy);
        if protected {
            return Err(CliError::new(
                EXIT_REFUSED,
                format!(
                    "cannot remove protected volume '{}' on '{}': nothing was deleted; remove the protection first (`pvectl api put /nodes/{}/storage/{}/content/{} protected=0`)",
                    f.volume.volid, f.storage, f.node, f.storage, f.volume.volid
                ),
            )
            .into());
        }
        found.push(f);
    }
    let items: Vec<String> = found
        .iter()
        .map(|f| format!("{} on {}", f.volume.volid, f.node))
        .collect();
    super::confirm(
        ctx,
        &format!("Delete {} backup{}?", found.len(), plural(found.len())),
        &items,
        a.yes,
    )?;
    let session = Session::new(&ctx.out, &client, timeout);
    let work = async {
        let mut results = vec![];
        for f in &found {
            let mut r = ActionResult::new(f.volume.volid.clone(), f.node.clone(), "delete");
            r.vmid = f.volume.vmid;
            r.volid = Some(f.volume.volid.clone());
            let path = format!(
                "/nodes/{}/storage/{}/content/{}",
                seg(&f.node),
                seg(&f.storage),
                seg(&f.volume.volid)
            );
            let answer = client.delete(&path, &Params::new()).await;
            results.push(session.settle(answer, r, "deleted", a.wait.no_wait).await);
        }
        results
    };
    session.finish(work, a.wait.no_wait).await
}

// -------------------------------------------------------------------------------------- prune

fn retention(a: &BackupPruneArgs) -> Option<String> {
    let keep = [
        ("keep-last", a.keep_last),
        ("keep-hourly", a.keep_hourly),
        ("keep-daily", a.keep_daily),
        ("keep-weekly", a.keep_weekly),
        ("keep-monthly", a.keep_monthly),
        ("keep-yearly", a.keep_yearly),
    ];
    let parts: Vec<String> = keep
        .iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
        .collect();
    (!parts.is_empty()).then(|| parts.join(","))
}

async fn prune(ctx: &Ctx, a: BackupPruneArgs) -> anyhow::Result<()> {
    let timeout = wait_limit(ctx, a.wait.wait_timeout.as_deref(), LONG_WAIT)?;
    let client = ctx.client()?;
    let nodes = match ctx.node_or(a.node.as_deref()) {
        Some(n) => vec![n],
        None => nodes_with(&client, &a.storage).await?,
    };
    let rules = retention(&a);
    if rules.is_none() {
        ctx.out.info(&format!(
            "no --keep-* given: using the retention configured on storage {}",
            a.storage
        ));
    }
    let params = Params::new()
        .opt("prune-backups", rules.as_deref())
        .opt("type", a.kind.as_deref())
        .opt("vmid", a.vmid);
    let path = |n: &str| format!("/nodes/{}/storage/{}/prunebackups", seg(n), seg(&a.storage));
    let plans = join_all(nodes.iter().map(|n| {
        let (client, params, path) = (&client, &params, path(n));
        async move { (n, client.get::<Vec<JsonObject>>(&path, params).await) }
    }))
    .await;
    let mut rows = vec![];
    let mut removable: Vec<&String> = vec![];
    for (node, plan) in plans {
        let plan = plan
            .map_err(|e| anyhow::Error::from(e).context(format!("prune simulation on {node}")))?;
        let mut any = false;
        for mut row in plan {
            any |= row.get("mark").and_then(Value::as_str) == Some("remove");
            row.insert("node".into(), json!(node));
            rows.push(Value::Object(row));
        }
        if any {
            removable.push(node);
        }
    }
    rows.sort_by(|a, b| {
        let key = |v: &Value| (v["vmid"].as_u64(), std::cmp::Reverse(v["ctime"].as_i64()));
        key(a).cmp(&key(b))
    });
    let to_remove = rows
        .iter()
        .filter(|r| r["mark"].as_str() == Some("remove"))
        .count();
    // With `-o json` stdout holds one document: the plan for a dry run, else the results.
    let json_results = ctx.out.format == OutputFormat::Json && !a.dry_run;
    if !json_results {
        ctx.out.list(&PRUNE_COLUMNS, &rows)?;
    }
    if a.dry_run {
        ctx.out.info(&format!(
            "dry run: {to_remove} backup{} would be removed",
            plural(to_remove)
        ));
        return Ok(());
    }
    let label = |node: &str| format!("{} on {node}", a.storage);
    let session = Session::new(&ctx.out, &client, timeout);
    if to_remove == 0 {
        if !json_results {
            ctx.out.info("nothing to remove");
            return Ok(());
        }
        let results: Vec<ActionResult> = nodes
            .iter()
            .map(|n| ActionResult::new(label(n), n.clone(), "prune").done("nothing to remove"))
            .collect();
        return session.report(&results, false);
    }
    // Without the table on stdout, the question lists what goes.
    let doomed: Vec<String> = if json_results {
        rows.iter()
            .filter(|r| r["mark"].as_str() == Some("remove"))
            .map(|r| {
                format!(
                    "{} on {}",
                    r["volid"].as_str().unwrap_or("?"),
                    r["node"].as_str().unwrap_or("?")
                )
            })
            .collect()
    } else {
        vec![]
    };
    super::confirm(
        ctx,
        &format!(
            "Remove the {to_remove} backup{} marked 'remove' on {}?",
            plural(to_remove),
            a.storage
        ),
        &doomed,
        a.yes,
    )?;
    let work = async {
        let mut results = vec![];
        for node in removable {
            let r = ActionResult::new(label(node), node.clone(), "prune");
            let answer = client.delete(&path(node), &params).await;
            results.push(session.settle(answer, r, "pruned", a.wait.no_wait).await);
        }
        results
    };
    session.finish(work, a.wait.no_wait).await
}

const PRUNE_COLUMNS: [Column; 6] = [
    col("volid", "VOLID", Kind::Text),
    col("vmid", "VMID", Kind::Text),
    col("type", "TYPE", Kind::Text),
    col("ctime", "CREATED", Kind::Epoch),
    col("mark", "MARK", Kind::State),
    col("node", "NODE", Kind::Text),
];

// --------------------------------------------------------------------------------------- jobs

async fn jobs(ctx: &Ctx) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let jobs: Vec<JsonObject> = client.get("/cluster/backup", &Params::new()).await?;
    let rows: Vec<Value> = jobs
        .into_iter()
        .map(|mut j| {
            let what = selection(&Value::Object(j.clone()));
            j.insert("selection".into(), json!(what));
            Value::Object(j)
        })
        .collect();
    ctx.out.list(&JOB_COLUMNS, &rows)
}

/// What a job backs up, in words: `all`, `all except 100,101`, `pool web`, `100,101`.
fn selection(job: &Value) -> String {
    let text = |k: &str| {
        job.get(k).and_then(|v| match v {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    let all = job.get("all").is_some_and(truthy);
    if all {
        return match text("exclude") {
            Some(ex) => format!("all except {ex}"),
            None => "all".into(),
        };
    }
    if let Some(pool) = text("pool") {
        return format!("pool {pool}");
    }
    text("vmid").unwrap_or_default()
}

const JOB_COLUMNS: [Column; 9] = [
    col("id", "ID", Kind::Text),
    col("enabled", "ENABLED", Kind::Flag),
    col("schedule", "SCHEDULE", Kind::Text),
    col("next-run", "NEXT RUN", Kind::Epoch),
    col("selection", "SELECTION", Kind::Text),
    col("node", "NODE", Kind::Text),
    col("storage", "STORAGE", Kind::Text),
    col("mode", "MODE", Kind::Text),
    col("comment", "COMMENT", Kind::Text),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_names() {
        assert_eq!(
            archive_identity("local:backup/vzdump-qemu-100-2026_05_04-10_00_01.vma.zst"),
            Some((GuestKind::Qemu, 100))
        );
        assert_eq!(
            archive_identity("nfs:backup/vzdump-lxc-2001-2026_05_04-10_00_01.tar.gz"),
            Some((GuestKind::Lxc, 2001))
        );
        assert_eq!(
            archive_identity("pbs:backup/ct/105/2026-05-04T10:00:01Z"),
            Some((GuestKind::Lxc, 105))
        );
        assert_eq!(archive_identity("local:iso/debian.iso"), None);
        assert_eq!(archive_identity("nocolon"), None);
    }

    #[test]
    fn job_selection_in_words() {
        assert_eq!(
            selection(&json!({"all": 1, "exclude": "100,101"})),
            "all except 100,101"
        );
        assert_eq!(
            selection(&json!({"all": 0, "pool": "web", "exclude": ""})),
            "pool web"
        );
        assert_eq!(selection(&json!({"vmid": "100,101"})), "100,101");
    }
}
