//! `nodes drain` and `nodes undrain`: empty a node for maintenance and fill it again.
//!
//! One read of `/cluster/resources` gives the guests, the nodes' memory and CPU and where each
//! storage is; each guest to move gets its configuration read (its disks' storages, local disks,
//! a local CD-ROM image that keeps it home). The plan places every guest before anything moves
//! and is refused whole when the rest of the cluster cannot take them. Running VMs move live
//! (with their local disks), running containers in restart mode, stopped guests (with
//! `--include-stopped`) offline, HA-managed guests through HA. The drain is recorded (`record`)
//! before the first move so `undrain` can bring them back.

use std::collections::BTreeSet;
use std::sync::Mutex;

use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};

use super::moves::Runner;
use super::plan::{self, How, Mover, Room, Step};
use super::record::{self, Placed, Record};
use crate::api::cluster::{self, Resource};
use crate::api::guest::config;
use crate::api::ha::{self, Rule};
use crate::api::{Client, GuestKind};
use crate::cli::{DrainArgs, UndrainArgs};
use crate::commands::Ctx;
use crate::error::CliError;
use crate::output::{col, Column, Kind};
use crate::targets::{self, Guest};
use crate::task::{Session, LONG_WAIT};

/// The cluster as one `/cluster/resources` shows it.
struct Survey {
    guests: Vec<Guest>,
    nodes: Vec<Resource>,
    storages: Vec<Resource>,
}

impl Survey {
    async fn read(client: &Client) -> anyhow::Result<Survey> {
        let all = cluster::resources(client, None).await?;
        let guests = targets::fetch_from(&all);
        let (nodes, rest): (Vec<Resource>, Vec<Resource>) =
            all.into_iter().partition(|r| r.kind == "node");
        let storages = rest.into_iter().filter(|r| r.kind == "storage").collect();
        Ok(Survey {
            guests,
            nodes,
            storages,
        })
    }

    fn node(&self, name: &str) -> Option<&Resource> {
        self.nodes.iter().find(|n| n.node.as_deref() == Some(name))
    }

    fn names(&self) -> Vec<&str> {
        self.nodes
            .iter()
            .filter_map(|n| n.node.as_deref())
            .collect()
    }

    /// The node must be in the cluster (5) and online (7).
    fn check_online(&self, name: &str, what: &str) -> Result<(), CliError> {
        match self.node(name) {
            None => Err(CliError::not_found(format!(
                "no node '{name}' in the cluster (nodes: {})",
                self.names().join(", ")
            ))),
            Some(n) if n.status.as_deref() != Some("online") => {
                Err(CliError::unreachable(format!(
                    "node {name} is {}: {what}",
                    n.status.as_deref().unwrap_or("offline")
                )))
            }
            Some(_) => Ok(()),
        }
    }

    fn shared(&self) -> BTreeSet<String> {
        self.storages
            .iter()
            .filter(|s| s.shared)
            .filter_map(|s| s.storage.clone())
            .collect()
    }

    /// Every node as a target.
    fn rooms(&self) -> Vec<Room> {
        let mut rooms: Vec<Room> = self
            .nodes
            .iter()
            .filter_map(|n| {
                let name = n.node.clone()?;
                let storages = self
                    .storages
                    .iter()
                    .filter(|s| {
                        s.node.as_deref() == Some(name.as_str())
                            && s.status.as_deref() == Some("available")
                    })
                    .filter_map(|s| s.storage.clone())
                    .collect();
                Some(Room {
                    online: n.status.as_deref() == Some("online"),
                    free: n.number("maxmem").unwrap_or(0.0) - n.number("mem").unwrap_or(0.0),
                    cpu: n.number("cpu").unwrap_or(0.0),
                    maxcpu: n.number("maxcpu").unwrap_or(1.0),
                    storages,
                    name,
                })
            })
            .collect();
        rooms.sort_by(|a, b| a.name.cmp(&b.name));
        rooms
    }
}

/// Running as far as moving goes: a paused VM still holds its memory and moves live.
fn runs(g: &Guest) -> bool {
    matches!(g.state(), Some("running" | "paused"))
}

/// The HA resource id of a guest HA manages (`ignored` ones behave as unmanaged, as PVE says).
fn ha_sid(g: &Guest) -> Option<String> {
    let state = g.resource.as_ref()?.ha_state()?;
    (state != "ignored").then(|| ha::sid(g.kind, g.vmid))
}

/// What each guest needs of a target, from its configuration.
async fn needs(
    client: &Client,
    guests: &[Guest],
    shared: &BTreeSet<String>,
    offline_local_disks: bool,
) -> anyhow::Result<Vec<Mover>> {
    let read = stream::iter(guests.iter())
        .map(|g| async move { (g, config::get(client, g).await) })
        .buffered(8)
        .collect::<Vec<_>>()
        .await;
    let mut out = vec![];
    for (g, cfg) in read {
        let cfg = cfg.map_err(|e| {
            anyhow::Error::from(e).context(format!("reading {}'s configuration", g.label()))
        })?;
        let (volumes, local_things) = cfg.volumes(g.kind);
        let storage_of = |v: &str| v.split(':').next().unwrap_or_default().to_string();
        let storages: BTreeSet<String> = volumes.iter().map(|(_, v, _)| storage_of(v)).collect();
        let local_disks = volumes
            .iter()
            .any(|(_, v, cdrom)| !cdrom && !shared.contains(&storage_of(v)));
        let stuck = volumes
            .iter()
            .find(|(_, v, cdrom)| *cdrom && !shared.contains(&storage_of(v)))
            .map(|(key, v, _)| {
                format!(
                    "a CD-ROM image on local storage ({key}: {v}): eject it first (`pvectl vm set {} {key}=none,media=cdrom`)",
                    g.vmid
                )
            })
            .or_else(|| {
                local_things
                    .first()
                    .map(|d| format!("it uses {d}, which only its node has"))
            });
        let running = runs(g);
        let r = g.resource.as_ref();
        let ha = ha_sid(g);
        let how = match (&ha, g.kind, running) {
            (Some(_), _, _) => How::Ha,
            (None, _, false) => How::Offline,
            (None, GuestKind::Lxc, true) => How::Restart,
            (None, GuestKind::Qemu, true) if local_disks && offline_local_disks => {
                How::ShutdownMoveStart
            }
            (None, GuestKind::Qemu, true) => How::Live,
        };
        out.push(Mover {
            guest: g.clone(),
            memory: if running {
                r.and_then(|r| r.number("maxmem")).unwrap_or(0.0)
            } else {
                0.0
            },
            cpus_used: r
                .map(|r| r.number("cpu").unwrap_or(0.0) * r.number("maxcpu").unwrap_or(1.0))
                .unwrap_or(0.0),
            storages,
            local_disks,
            stuck,
            ha,
            how,
        });
    }
    Ok(out)
}

/// The HA rules, when any guest is under HA (none on a PVE without rules).
async fn rules_for(ctx: &Ctx, client: &Client, movers: &[Mover]) -> Vec<Rule> {
    if movers.iter().all(|m| m.ha.is_none()) {
        return vec![];
    }
    match ha::rules(client, None, None).await {
        Ok(r) => r,
        Err(e) if ha::is_before_rules(&e) => vec![],
        Err(e) => {
            ctx.out.warn(&format!(
                "cannot read the HA rules ({e}): they are not taken into account"
            ));
            vec![]
        }
    }
}

/// Warn about HA rules that will bring guests back, and say how HA's own maintenance mode works.
fn ha_notes(ctx: &Ctx, node: &str, steps: &[Step], rules: &[Rule]) {
    let ha: Vec<&Step> = steps.iter().filter(|s| s.how == How::Ha).collect();
    if ha.is_empty() {
        return;
    }
    for s in &ha {
        let sid = s.ha.as_deref().unwrap_or_default();
        for r in plan::pulls_back(sid, node, rules) {
            ctx.out.warn(&format!(
                "{sid}: HA rule '{}' prefers {node} ({}): HA may move it back while {node} is up",
                r.rule,
                r.nodes.as_deref().unwrap_or("")
            ));
        }
    }
    ctx.out.info(&format!(
        "{} HA-managed guest(s) move through HA; for a reboot, HA's own maintenance mode moves them and brings them back by HA's rules: `ha-manager crm-command node-maintenance enable {node}` on a node (and `… disable {node}` after)",
        ha.len()
    ));
}

const PLAN_COLUMNS: [Column; 6] = [
    col("guest", "GUEST", Kind::Text),
    col("type", "TYPE", Kind::Text),
    col("from", "FROM", Kind::Text),
    col("to", "TO", Kind::Text),
    col("how", "HOW", Kind::Text),
    col("why", "WHY", Kind::Text).free(),
];

fn plan_rows(steps: &[Step], staying: &[Guest]) -> anyhow::Result<Vec<Value>> {
    let mut rows = vec![];
    for s in steps {
        let mut row = serde_json::to_value(s)?;
        row["guest"] = json!(s.mover.guest.label());
        row["how"] = json!(s.how.as_str());
        rows.push(row);
    }
    for g in staying {
        rows.push(json!({
            "guest": g.label(), "vmid": g.vmid, "name": g.name, "type": g.kind.as_str(),
            "from": g.node, "to": null, "how": "stays",
            "why": "stopped (--include-stopped moves it)",
        }));
    }
    rows.sort_by_key(|r| r["vmid"].as_u64());
    Ok(rows)
}

/// Refuse a plan some guest has no place in: nothing has moved.
fn refuse_unplaced(ctx: &Ctx, steps: &[Step], what: &str, dry_run: bool) -> anyhow::Result<()> {
    let unplaced: Vec<&Step> = steps.iter().filter(|s| s.to.is_none()).collect();
    if unplaced.is_empty() {
        return Ok(());
    }
    if !dry_run {
        for s in &unplaced {
            ctx.out
                .notice(&format!("  {}: {}", s.mover.guest.label(), s.why));
        }
    }
    Err(CliError::refused(format!(
        "{what} cannot take {} of the {} guests: nothing was moved{}",
        unplaced.len(),
        steps.len(),
        if dry_run {
            ""
        } else {
            " (`--dry-run` shows the whole plan)"
        }
    ))
    .into())
}

/// The lines of a confirmation: one per guest.
fn confirm_items(steps: &[Step]) -> Vec<String> {
    steps
        .iter()
        .map(|s| {
            format!(
                "{}: {} → {} ({})",
                s.mover.guest.label(),
                s.from,
                s.to.as_deref().unwrap_or("?"),
                s.how.as_str()
            )
        })
        .collect()
}

fn parallel(ctx: &Ctx, flag: Option<u32>) -> usize {
    flag.unwrap_or(ctx.settings.parallel).max(1) as usize
}

fn server(ctx: &Ctx) -> String {
    ctx.settings.base_url.clone().unwrap_or_default()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub async fn drain(ctx: &Ctx, a: DrainArgs) -> anyhow::Result<()> {
    let timeout = ctx.wait_limit(a.wait_timeout.as_deref(), LONG_WAIT)?;
    let client = ctx.client()?;
    let survey = Survey::read(&client).await?;
    let node = a.node.as_str();
    survey.check_online(
        node,
        "its guests cannot be migrated from it (HA recovers HA-managed ones itself)",
    )?;
    for t in &a.to {
        if t == node {
            return Err(CliError::usage(format!(
                "--to {t} is the node being drained: name other nodes"
            ))
            .into());
        }
        survey.check_online(t, "guests cannot move there now")?;
    }
    let on_node: Vec<Guest> = survey
        .guests
        .iter()
        .filter(|g| g.node == node)
        .cloned()
        .collect();
    let (movable, staying): (Vec<Guest>, Vec<Guest>) = on_node
        .into_iter()
        .partition(|g| a.include_stopped || runs(g));
    let movers = needs(&client, &movable, &survey.shared(), a.offline_local_disks).await?;
    let rules = rules_for(ctx, &client, &movers).await;
    let steps = plan::place(&movers, &mut survey.rooms(), &a.to, Some(node), &rules);
    if a.dry_run {
        ctx.out.list(&PLAN_COLUMNS, &plan_rows(&steps, &staying)?)?;
    }
    refuse_unplaced(ctx, &steps, "the rest of the cluster", a.dry_run)?;
    if a.dry_run {
        return Ok(());
    }
    if steps.is_empty() {
        ctx.out
            .info(&format!("nothing to move: no guest runs on {node}"));
        say_staying(ctx, node, &staying);
        return no_results(ctx);
    }
    ha_notes(ctx, node, &steps, &rules);
    ctx.confirm(
        &format!("move {} guest(s) off {node}", steps.len()),
        &confirm_items(&steps),
        a.yes,
    )?;

    // Written before anything moves: a drain cut short can still be undone.
    let file = record::path(&server(ctx), node)?;
    let mut rec = record::load(&file)?.unwrap_or_else(|| Record {
        node: node.to_string(),
        server: server(ctx),
        drained_at: now(),
        guests: vec![],
    });
    for s in &steps {
        rec.note(placed(s, false));
    }
    record::save(&file, &rec)?;
    let rec = Mutex::new(rec);

    let session = Session::for_many(&ctx.out, &client, timeout);
    let runner = Runner::new(&client, &session, timeout);
    let order: Vec<&Step> = steps.iter().collect();
    let results = runner
        .run(&order, parallel(ctx, a.parallel), |s| {
            let mut r = rec
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            r.note(placed(s, true));
            if let Err(e) = record::save(&file, &r) {
                ctx.out.warn(&format!("{e:#}"));
            }
        })
        .await?;
    say_staying(ctx, node, &staying);
    ctx.out.info(&format!(
        "recorded in {}: `pvectl nodes undrain {node}` moves them back",
        file.display()
    ));
    session.report(&results, false)
}

/// No guest moved: with `-o json` the usual array, empty.
fn no_results(ctx: &Ctx) -> anyhow::Result<()> {
    if ctx.out.structured() {
        return ctx.out.json(&Vec::<crate::task::ActionResult>::new());
    }
    Ok(())
}

fn placed(s: &Step, moved: bool) -> Placed {
    Placed {
        vmid: s.vmid,
        kind: s.kind.to_string(),
        name: s.name.clone(),
        to: s.to.clone().unwrap_or_default(),
        moved,
    }
}

fn say_staying(ctx: &Ctx, node: &str, staying: &[Guest]) {
    if staying.is_empty() {
        return;
    }
    let names: Vec<String> = staying.iter().map(Guest::label).collect();
    ctx.out.info(&format!(
        "{} stopped guest(s) stay on {node}: {} (--include-stopped moves them too)",
        staying.len(),
        names.join(", ")
    ));
}

pub async fn undrain(ctx: &Ctx, a: UndrainArgs) -> anyhow::Result<()> {
    let timeout = ctx.wait_limit(a.wait_timeout.as_deref(), LONG_WAIT)?;
    let client = ctx.client()?;
    let node = a.node.as_str();
    let file = record::path(&server(ctx), node)?;
    let Some(mut rec) = record::load(&file)? else {
        return Err(CliError::not_found(format!(
            "no drain of {node} is recorded for this server (looked for {}): nothing to move back",
            file.display()
        ))
        .into());
    };
    let survey = Survey::read(&client).await?;
    survey.check_online(node, "guests cannot move back to it now")?;
    let mut back: Vec<Guest> = vec![];
    let mut settled: Vec<u32> = vec![];
    for p in &rec.guests {
        let found = survey
            .guests
            .iter()
            .find(|g| g.vmid == p.vmid && g.kind.as_str() == p.kind);
        match found {
            None => {
                ctx.out.info(&format!(
                    "{} ({}) is no longer in the cluster: left out",
                    p.name.as_deref().unwrap_or("guest"),
                    p.vmid
                ));
                settled.push(p.vmid);
            }
            Some(g) if g.node == node => {
                ctx.out.info(&format!("{}: already on {node}", g.label()));
                settled.push(p.vmid);
            }
            Some(g) => back.push(g.clone()),
        }
    }
    let movers = needs(&client, &back, &survey.shared(), a.offline_local_disks).await?;
    let rules = rules_for(ctx, &client, &movers).await;
    let mut steps = plan::place(
        &movers,
        &mut survey.rooms(),
        &[node.to_string()],
        None,
        &rules,
    );
    for s in steps.iter_mut().filter(|s| s.to.is_some()) {
        s.why = "back where the drain took it from".into();
    }
    if a.dry_run {
        ctx.out.list(&PLAN_COLUMNS, &plan_rows(&steps, &[])?)?;
    }
    refuse_unplaced(ctx, &steps, node, a.dry_run)?;
    if a.dry_run {
        return Ok(());
    }
    rec.guests.retain(|p| !settled.contains(&p.vmid));
    if steps.is_empty() {
        record::remove(&file)?;
        ctx.out.info(&format!(
            "nothing to move back: the drain of {node} is undone"
        ));
        return no_results(ctx);
    }
    record::save(&file, &rec)?;
    ctx.confirm(
        &format!("move {} guest(s) back to {node}", steps.len()),
        &confirm_items(&steps),
        a.yes,
    )?;
    let rec = Mutex::new(rec);
    let session = Session::for_many(&ctx.out, &client, timeout);
    let runner = Runner::new(&client, &session, timeout);
    let order: Vec<&Step> = steps.iter().collect();
    let results = runner
        .run(&order, parallel(ctx, a.parallel), |s| {
            let mut r = rec
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            r.guests.retain(|p| p.vmid != s.vmid);
            let written = if r.guests.is_empty() {
                record::remove(&file)
            } else {
                record::save(&file, &r)
            };
            if let Err(e) = written {
                ctx.out.warn(&format!("{e:#}"));
            }
        })
        .await?;
    if results.iter().all(|r| r.ok) {
        ctx.out.info(&format!(
            "the drain of {node} is undone: its guests are back"
        ));
    }
    session.report(&results, false)
}
