//! `backup create`: one vzdump per node, all nodes at once, each guest's result read from the
//! task log.

use std::collections::{BTreeMap, HashSet};

use futures_util::future::join_all;
use serde_json::Value;

use super::{plural, Ctx};
use crate::api::vzdump::log::{GuestLog, JobLog};
use crate::api::vzdump::{self, Started};
use crate::api::{storage, tasks, ApiError, Client, Params, Upid};
use crate::cli::{BackupCreateArgs, BackupMode, Selectors};
use crate::error::{CliError, ErrorKind};
use crate::output::progress::TaskBar;
use crate::targets::{self, Guest};
use crate::task::{ActionResult, Session, LONG_WAIT};

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

pub async fn run(ctx: &Ctx, a: BackupCreateArgs) -> anyhow::Result<()> {
    let params = vzdump_params(&a)?;
    let timeout = ctx.wait_limit(a.wait.wait_timeout.as_deref(), LONG_WAIT)?;
    let client = ctx.client()?;
    let resources = targets::fetch_guests(&client).await?;
    let selection = targets::select_any(&resources, &a.guests, a.all, &a.sel, true)?;
    let by_selector = selection.by_selector;
    let mut targets = selection.guests;
    if !a.exclude.is_empty() {
        let excluded =
            targets::select_any(&resources, &a.exclude, false, &Selectors::default(), true)?;
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
            ctx.confirm(
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
    session.plan(targets.iter().map(|g| ActionResult::for_guest(g, "backup")));
    let job = NodeJob {
        client: &client,
        session: &session,
        params: &params,
        storage: a.storage.as_deref(),
        no_wait: a.wait.no_wait,
    };
    let work = join_all(by_node.iter().map(|(node, guests)| async {
        let results = job.run(node, guests).await;
        // Each node's guests are reported as its job ends.
        results
            .into_iter()
            .map(|r| session.keep(r))
            .collect::<Vec<_>>()
    }));
    let mut results: Vec<ActionResult> = session.run(work).await?.into_iter().flatten().collect();
    if a.wait.no_wait && !ctx.out.structured() {
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
    for node in nodes {
        match vzdump::defaults(client, node, Some(storage)).await {
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
        let mut results = self.job(node, guests).await;
        self.sizes_from_storage(node, &mut results).await;
        results
    }

    /// Archives whose size the log did not give (a backup to PBS logs none) get the size the
    /// storage lists: one request for the node, only when needed.
    async fn sizes_from_storage(&self, node: &str, results: &mut [ActionResult]) {
        let sizeless: Vec<&mut ActionResult> = results
            .iter_mut()
            .filter(|r| r.ok && r.size.is_none() && r.volid.is_some())
            .collect();
        let Some(storage) = sizeless
            .first()
            .and_then(|r| r.volid.as_deref()?.split_once(':'))
            .map(|(s, _)| s.to_string())
        else {
            return;
        };
        let vmid = match sizeless.as_slice() {
            [one] => one.vmid,
            _ => None,
        };
        // A short look, as at the log: the wait may be over already.
        let read = storage::content(self.client, node, &storage, Some("backup"), vmid);
        let Ok(Ok(volumes)) = tokio::time::timeout(LOOK, read).await else {
            return;
        };
        for r in sizeless {
            let found = volumes
                .iter()
                .find(|v| Some(&v.volid) == r.volid.as_ref())
                .and_then(|v| v.extra.get("size").and_then(Value::as_u64));
            if let Some(size) = found {
                r.size = Some(size);
                r.message = archive_message(r.volid.as_deref(), r.size, r.shown_warnings);
            }
        }
    }

    async fn job(&self, node: &str, guests: &[Guest]) -> Vec<ActionResult> {
        let blank = |g: &Guest| ActionResult::for_guest(g, "backup");
        let ids: Vec<String> = guests.iter().map(|g| g.vmid.to_string()).collect();
        let mut params = self.params.clone();
        params.push("vmid", ids.join(","));
        let upid = match vzdump::start(self.client, node, &params).await {
            Ok(Started::Task(upid)) => upid,
            // A plain "OK" instead of a UPID: none of the guests is on this node any more.
            Ok(Started::Nothing(answer)) => {
                return guests
                    .iter()
                    .map(|g| {
                        blank(g).fail(ErrorKind::TaskFailed, format!(
                            "not backed up: PVE on {node} started no backup (answer {answer}); the guest is no longer there"
                        ))
                    })
                    .collect();
            }
            Err(e) => {
                let e = anyhow::Error::from(e);
                return guests.iter().map(|g| blank(g).failed(&e)).collect();
            }
        };
        if self.no_wait {
            return guests.iter().map(|g| blank(g).started(&upid)).collect();
        }
        let label = format!("{node} ({} guest{})", guests.len(), plural(guests.len()));
        let covers: Vec<String> = guests.iter().map(Guest::label).collect();
        let waiting = std::time::Instant::now();
        let outcome = self
            .session
            .watch(&label, "backup", &upid, &covers, |bar: TaskBar| {
                bar.vzdump(guests.len())
            })
            .await;
        let lines: Vec<String> = self.log(&upid, outcome.is_ok()).await;
        let log = JobLog::parse(lines.iter().map(String::as_str));
        // Warnings of the job itself (outside any guest's part of the log): said once, and kept
        // in the results of every guest of the job.
        for w in &log.warnings {
            self.session
                .progress
                .println_always(&format!("{label}: WARN: {w}"));
        }
        let outcome = match outcome {
            Ok(o) => o,
            // Gave up waiting (or could not): guests the log already shows finished are done,
            // the others are reported with the reason.
            Err(e) => {
                let storage = self.storage_on(node).await;
                return guests
                    .iter()
                    .map(|g| match log.guests.get(&g.vmid).filter(|gl| gl.finished) {
                        Some(gl) => self.backed_up(blank(g), gl, &log, storage.as_deref(), &upid),
                        None => {
                            let mut r = blank(g).failed(&e);
                            r.upid.get_or_insert_with(|| upid.to_string());
                            // How long it was waited for (not 0: it did not end).
                            r.duration_s =
                                (waiting.elapsed().as_secs_f64() * 100.0).round() / 100.0;
                            r
                        }
                    })
                    .collect();
            }
        };
        let storage = self.storage_on(node).await;
        let mut tail_shown = false;
        guests
            .iter()
            .map(|g| {
                let mut r = blank(g);
                r.upid = Some(upid.to_string());
                r.exitstatus = Some(outcome.exitstatus.clone());
                let Some(gl) = log.guests.get(&g.vmid).filter(|gl| gl.finished) else {
                    r.failure = Some(ErrorKind::TaskFailed);
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
                let mut r = self.backed_up(r, gl, &log, storage.as_deref(), &upid);
                if gl.elapsed.is_none() {
                    r.duration_s = outcome.duration.as_secs_f64();
                }
                r
            })
            .collect()
    }

    /// The job's log (after its end, or as far as it got when the wait ended without a verdict).
    async fn log(&self, upid: &Upid, ended: bool) -> Vec<String> {
        let read = tasks::full_log(self.client, upid);
        let lines = if ended {
            read.await.ok()
        } else {
            // The wait is over: one short look, not another long one.
            tokio::time::timeout(LOOK, read)
                .await
                .ok()
                .and_then(Result::ok)
        };
        lines
            .map(|l| l.into_iter().map(|l| l.t).collect())
            .unwrap_or_default()
    }

    async fn storage_on(&self, node: &str) -> Option<String> {
        match self.storage {
            Some(s) => Some(s.to_string()),
            None => default_storage(self.client, node).await,
        }
    }

    /// A guest the log says was backed up: its archive, size, time and warnings (its own and the
    /// job's).
    fn backed_up(
        &self,
        mut r: ActionResult,
        gl: &GuestLog,
        log: &JobLog,
        storage: Option<&str>,
        upid: &Upid,
    ) -> ActionResult {
        r.ok = true;
        r.failure = None;
        r.upid = Some(upid.to_string());
        r.warnings = gl.warnings.clone();
        r.duration_s = gl.elapsed.map(|d| d.as_secs_f64()).unwrap_or(0.0);
        r.volid = match (storage, &gl.archive) {
            (Some(s), Some(a)) => Some(vzdump::log::volid(s, a)),
            (None, Some(a)) => Some(a.clone()),
            _ => None,
        };
        r.size = gl.size;
        r.message = archive_message(r.volid.as_deref(), gl.size, r.warnings.len());
        // The job's own warnings were said once above; the JSON keeps them with each guest.
        r.warnings.extend(log.warnings.iter().cloned());
        r.shown_warnings = gl.warnings.len();
        r
    }
}

/// What a guest's backup made, in words: `to nfs:backup/vzdump-qemu-100-….vma.zst (1.2 GiB)`,
/// with its own warnings counted.
fn archive_message(volid: Option<&str>, size: Option<u64>, warnings: usize) -> String {
    let made = match (volid, size) {
        (Some(v), Some(size)) => format!("to {v} ({})", crate::output::bytes(size as f64)),
        (Some(v), None) => format!("to {v}"),
        _ => "OK".into(),
    };
    match warnings {
        0 => made,
        n => format!("{made} with {n} warning(s)"),
    }
}

/// How long to look at a job's log once the wait for it is over.
const LOOK: std::time::Duration = std::time::Duration::from_secs(5);

fn tail(lines: &[String], n: usize) -> Vec<String> {
    lines[lines.len().saturating_sub(n)..].to_vec()
}

/// The storage vzdump uses without `--storage` (the node's vzdump.conf, else `local`).
async fn default_storage(client: &Client, node: &str) -> Option<String> {
    let defaults = vzdump::defaults(client, node, None).await.ok()?;
    defaults
        .get("storage")
        .and_then(Value::as_str)
        .map(str::to_string)
}
