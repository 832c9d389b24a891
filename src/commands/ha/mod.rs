//! `ha`: PVE 9's HA stack. `status` and `list` read it, `add|remove|set` change a guest's HA
//! resource, `migrate|relocate` move a guest through HA and wait until HA reports it there
//! (`motion.rs`, shared with `nodes drain`), `rules` are PVE 9's node- and resource-affinity
//! rules (`rules.rs`). Guests are named as everywhere: VMID or name, of either kind.

pub mod motion;
mod rules;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{watch, Ctx};
use crate::api::ha::{self, Motion, Removed, ResourceOptions};
use crate::api::{cluster::Resource, nodes, Client};
use crate::cli::{HaAddArgs, HaCmd, HaMoveArgs, Selectors};
use crate::error::{CliError, ErrorKind, Reported};
use crate::output::{col, Column, Kind};
use crate::targets::{self, Guest};
use crate::task::{ActionResult, Session, LONG_WAIT};

pub async fn run(ctx: &Ctx, cmd: HaCmd) -> anyhow::Result<()> {
    let client = ctx.client()?;
    match cmd {
        HaCmd::Status { watch: w } => {
            let every = watch::every(ctx, &w, 2)?;
            watch::run(ctx, every, "pvectl ha status", || status(ctx, &client)).await
        }
        HaCmd::List => list(ctx, &client).await,
        HaCmd::Add(a) => add(ctx, &client, a).await,
        HaCmd::Remove { guest } => remove(ctx, &client, &guest).await,
        HaCmd::Set(a) => set(ctx, &client, a).await,
        HaCmd::Migrate(a) => move_to(ctx, &client, a, Motion::Migrate).await,
        HaCmd::Relocate(a) => move_to(ctx, &client, a, Motion::Relocate).await,
        HaCmd::Rules(r) => rules::run(ctx, &client, r).await,
    }
}

/// One guest of either kind, by VMID or name.
pub(crate) async fn guest_of(client: &Client, spec: &str) -> anyhow::Result<Guest> {
    if targets::is_glob(spec) {
        return Err(CliError::usage(format!("'{spec}' is a glob: name one guest")).into());
    }
    let resources = targets::fetch_guests(client).await?;
    let mut picked = targets::select_any(
        &resources,
        &[spec.to_string()],
        false,
        &Selectors::default(),
        true,
    )?;
    Ok(picked.guests.remove(0))
}

/// The guests of the cluster by HA resource id.
fn by_sid(resources: &[Resource]) -> HashMap<String, Guest> {
    targets::fetch_from(resources)
        .into_iter()
        .map(|g| (ha::sid(g.kind, g.vmid), g))
        .collect()
}

/// Report one result (a line, or the JSON array with `-o json`) and exit with its code.
fn report(ctx: &Ctx, client: &Client, r: ActionResult) -> anyhow::Result<()> {
    Session::new(&ctx.out, client, None).report(&[r], false)
}

async fn status(ctx: &Ctx, client: &Client) -> anyhow::Result<()> {
    let (entries, guests) = tokio::join!(ha::status(client), targets::fetch_guests(client));
    let (entries, guests) = (entries?, by_sid(&guests?));
    let mut rows = vec![];
    for e in &entries {
        let mut row = serde_json::to_value(e)?;
        if let Some(word) = e.word() {
            row["state"] = json!(word);
        }
        if let Some(g) = e.sid.as_ref().and_then(|s| guests.get(s)) {
            row["guest"] = json!(g.label());
        }
        rows.push(row);
    }
    ctx.out.list(&STATUS_COLUMNS, &rows)
}

const STATUS_COLUMNS: [Column; 5] = [
    col("type", "TYPE", Kind::Text),
    col("id", "ID", Kind::Text),
    col("guest", "GUEST", Kind::Text),
    col("node", "NODE", Kind::Text),
    col("state", "STATE", Kind::State),
];

async fn list(ctx: &Ctx, client: &Client) -> anyhow::Result<()> {
    let (list, guests) = tokio::join!(
        ha::resources::<ha::Resource>(client),
        targets::fetch_guests(client)
    );
    let (mut list, guests) = (list?, by_sid(&guests?));
    list.sort_by_key(|r| ha::parse_sid(&r.sid).map(|(_, v)| v));
    let mut rows = vec![];
    for r in &list {
        let mut row = serde_json::to_value(r)?;
        if let Some(g) = guests.get(&r.sid) {
            row["name"] = json!(g.name);
            row["node"] = json!(g.node);
        }
        rows.push(row);
    }
    ctx.out.list(&LIST_COLUMNS, &rows)
}

const LIST_COLUMNS: [Column; 7] = [
    col("sid", "SID", Kind::Text),
    col("name", "NAME", Kind::Text),
    col("node", "NODE", Kind::Text),
    col("state", "STATE", Kind::State),
    col("max_restart", "MAX_RESTART", Kind::Text).priority(2),
    col("max_relocate", "MAX_RELOCATE", Kind::Text).priority(2),
    col("comment", "COMMENT", Kind::Text).free().priority(1),
];

fn options(a: &HaAddArgs) -> ResourceOptions {
    ResourceOptions {
        state: a.state.map(|s| s.as_str().to_string()),
        max_restart: a.max_restart,
        max_relocate: a.max_relocate,
        comment: a.comment.clone(),
        failback: a.failback,
        ..ResourceOptions::default()
    }
}

async fn add(ctx: &Ctx, client: &Client, a: HaAddArgs) -> anyhow::Result<()> {
    let g = guest_of(client, &a.guest).await?;
    let sid = ha::sid(g.kind, g.vmid);
    let result = ActionResult::for_guest(&g, "add to HA");
    let result = match ha::add(client, &sid, &options(&a)).await {
        Ok(()) => result.done("OK"),
        Err(e) => {
            let already = e.message().contains("already defined");
            let mut r = result.failed(&e.into());
            if already {
                r.hint = Some(format!(
                    "it is under HA already: change its settings with `pvectl ha set {}`",
                    g.vmid
                ));
            }
            r
        }
    };
    report(ctx, client, result)
}

async fn set(ctx: &Ctx, client: &Client, a: HaAddArgs) -> anyhow::Result<()> {
    let o = options(&a);
    if o.is_empty() {
        return Err(CliError::usage(
            "nothing to change: give --state, --max-restart, --max-relocate, --failback or --comment",
        )
        .into());
    }
    let g = guest_of(client, &a.guest).await?;
    let sid = ha::sid(g.kind, g.vmid);
    let result = ActionResult::for_guest(&g, "change HA settings");
    let result = match ha::update(client, &sid, &o).await {
        Ok(()) => result.done("OK"),
        Err(e) => {
            let mut r = result.failed(&e.into());
            if r.failure == Some(ErrorKind::NotFound) {
                r.hint = Some(format!("it is not under HA: `pvectl ha add {}`", g.vmid));
            }
            r
        }
    };
    report(ctx, client, result)
}

async fn remove(ctx: &Ctx, client: &Client, spec: &str) -> anyhow::Result<()> {
    let g = guest_of(client, spec).await?;
    let sid = ha::sid(g.kind, g.vmid);
    let result = ActionResult::for_guest(&g, "remove from HA");
    let result = match ha::remove(client, &sid).await {
        Ok(Removed::Removed) => result.done("OK"),
        Ok(Removed::NotManaged) => result.done("already out of HA"),
        Err(e) => result.failed(&e.into()),
    };
    report(ctx, client, result)
}

async fn move_to(
    ctx: &Ctx,
    client: &Client,
    a: HaMoveArgs,
    motion_kind: Motion,
) -> anyhow::Result<()> {
    let timeout = ctx.wait_limit(a.wait.wait_timeout.as_deref(), LONG_WAIT)?;
    let g = guest_of(client, &a.guest).await?;
    let node = a.node.as_str();
    let sid = ha::sid(g.kind, g.vmid);
    let action = format!("HA {} to {node}", motion_kind.as_str());
    let result = ActionResult::for_guest(&g, &action);
    if g.node == node {
        return report(ctx, client, result.done(&format!("already on {node}")));
    }
    // HA takes any name and leaves a node it cannot use to its log: check it here.
    let all = nodes::list(client).await?;
    match all.iter().find(|n| n.node == node) {
        None => {
            let names: Vec<&str> = all.iter().map(|n| n.node.as_str()).collect();
            return Err(CliError::not_found(format!(
                "no node '{node}' in the cluster (nodes: {})",
                names.join(", ")
            ))
            .into());
        }
        Some(n) if !n.online() => {
            return Err(CliError::unreachable(format!(
                "node {node} is {}: HA cannot move a guest there now",
                n.status.as_deref().unwrap_or("offline")
            ))
            .into());
        }
        Some(_) => {}
    }
    let started = Instant::now();
    let answer = match motion::request(client, &sid, motion_kind, node).await {
        Ok(a) => a,
        Err(e) => {
            let not_managed = crate::error::message(&e).contains("not HA managed");
            let mut r = result.failed(&e);
            if not_managed {
                r.hint = Some(format!(
                    "put it under HA first (`pvectl ha add {0}`), or move it without HA (`pvectl {1} migrate {0} {node}`)",
                    g.vmid,
                    crate::targets::KindWords::command(g.kind)
                ));
            }
            return report(ctx, client, r);
        }
    };
    let session = Session::new(&ctx.out, client, timeout);
    let along = answer.comigrated_sids();
    if !along.is_empty() {
        ctx.out.info(&format!(
            "{} move along with it (positive resource affinity)",
            along.join(", ")
        ));
    }
    if a.wait.no_wait {
        return report(ctx, client, result.done("requested"));
    }
    let bar = session.progress.bar(&result.label, &action);
    let watch = motion::HaWatch::new(client);
    let reached = tokio::select! {
        r = motion::wait_there(&watch, &sid, node, timeout, Duration::ZERO) => r,
        _ = tokio::signal::ctrl_c() => {
            bar.finish();
            let r = result.fail(
                ErrorKind::Interrupted,
                format!("interrupted: HA goes on moving it to {node}; see `pvectl ha status`"),
            );
            let _ = session.report(&[r], false);
            return Err(Reported(ErrorKind::Interrupted).into());
        }
    };
    bar.finish();
    let mut result = match reached {
        Ok(()) => result.done("OK"),
        Err(e) => result.fail(e.kind, e.message),
    };
    result.duration_s = (started.elapsed().as_secs_f64() * 100.0).round() / 100.0;
    session.report(&[result], false)
}

/// PVE without HA rules (before 9) says so in its own way: say it in words.
pub(crate) fn rules_missing(e: crate::api::ApiError) -> anyhow::Error {
    if ha::is_before_rules(&e) {
        return CliError::refused(
            "this PVE has no HA rules (PVE 9 replaced HA groups with rules): upgrade it, or use HA groups in its web UI",
        )
        .into();
    }
    e.into()
}
