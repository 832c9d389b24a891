//! `vm` and `ct`: one implementation, parameterised by `GuestKind`.

use serde_json::Value;

use super::power::{self, PowerAction, PowerParam as P, PowerRequest};
use super::{provision, Ctx};
use crate::api::types::PendingEntry;
use crate::api::{GuestKind, Params};
use crate::cli::{GuestCmd, ListFilters};
use crate::guests::{self, glob};
use crate::output::{col, Column, Kind};

pub async fn run(ctx: &Ctx, kind: GuestKind, cmd: GuestCmd) -> anyhow::Result<()> {
    match cmd {
        GuestCmd::List(f) => list(ctx, kind, &f).await,
        GuestCmd::Status(t) => {
            let client = ctx.client()?;
            let g = guests::resolve_one(&client, kind, &t.guest, t.node.as_deref()).await?;
            let status: Value = client
                .get(&format!("{}/status/current", g.path()), &Params::new())
                .await?;
            let mut status = status;
            if let Value::Object(m) = &mut status {
                m.entry("node")
                    .or_insert_with(|| Value::String(g.node.clone()));
                m.entry("type")
                    .or_insert_with(|| Value::String(kind.as_str().into()));
            }
            ctx.out.object(&status, &STATUS_KINDS)
        }
        GuestCmd::Config {
            target,
            get: Some(key),
            ..
        } => provision::get_key(ctx, kind, &target.guest, target.node.as_deref(), &key).await,
        GuestCmd::Config {
            target,
            pending,
            get: None,
        } => {
            let client = ctx.client()?;
            let g =
                guests::resolve_one(&client, kind, &target.guest, target.node.as_deref()).await?;
            if pending {
                let entries: Vec<PendingEntry> = client
                    .get(&format!("{}/pending", g.path()), &Params::new())
                    .await?;
                let rows: Vec<Value> = entries
                    .iter()
                    .map(serde_json::to_value)
                    .collect::<Result<_, _>>()?;
                return ctx.out.list(&PENDING_COLUMNS, &rows);
            }
            let config: Value = client
                .get(&format!("{}/config", g.path()), &Params::new())
                .await?;
            ctx.out.object(&config, &[])
        }
        GuestCmd::Set(a) => provision::set(ctx, kind, a).await,
        GuestCmd::Mount(c) => provision::mount(ctx, kind, c).await,
        GuestCmd::Snapshot(c) => provision::snapshot(ctx, kind, c).await,
        GuestCmd::Clone(a) => provision::clone(ctx, kind, a).await,
        GuestCmd::Migrate(a) => provision::migrate(ctx, kind, a).await,
        GuestCmd::Create(a) => provision::create(ctx, kind, *a).await,
        GuestCmd::Delete(a) => provision::delete(ctx, kind, a).await,
        GuestCmd::Template(t) => provision::template(ctx, kind, &t.guest, t.node.as_deref()).await,
        power => match power_request(&power) {
            Some(req) => power::run(ctx, kind, req).await,
            None => anyhow::bail!("internal error: {power:?} is not a power verb"),
        },
    }
}

/// The power verbs' PVE parameters under their `qm`/`pct` names, with the kinds that take each.
fn power_request(cmd: &GuestCmd) -> Option<PowerRequest> {
    let num = |v: Option<u32>| v.map(|n| n.to_string());
    let (action, targets, wait, params) = match cmd {
        GuestCmd::Start(a) => (
            PowerAction::Start,
            &a.targets,
            &a.wait,
            vec![
                P::value("--timeout", "timeout", num(a.timeout), true, false),
                P::flag("--skiplock", "skiplock", a.skiplock, true, true),
                P::value("--machine", "machine", a.machine.clone(), true, false),
                P::flag("--debug", "debug", a.debug, false, true),
            ],
        ),
        GuestCmd::Stop(a) => (
            PowerAction::Stop,
            &a.targets,
            &a.wait,
            vec![
                P::value("--timeout", "timeout", num(a.timeout), true, false),
                P::flag("--skiplock", "skiplock", a.skiplock, true, true),
                P::flag("--keepActive", "keepActive", a.keep_active, true, false),
                P::flag(
                    "--overrule-shutdown",
                    "overrule-shutdown",
                    a.overrule_shutdown,
                    true,
                    true,
                ),
            ],
        ),
        GuestCmd::Shutdown(a) => (
            PowerAction::Shutdown,
            &a.targets,
            &a.wait,
            vec![
                P::value("--timeout", "timeout", num(a.timeout), true, true),
                P::flag("--forceStop", "forceStop", a.force_stop, true, true),
                P::flag("--keepActive", "keepActive", a.keep_active, true, false),
                P::flag("--skiplock", "skiplock", a.skiplock, true, false),
            ],
        ),
        GuestCmd::Reboot(a) => (
            PowerAction::Reboot,
            &a.targets,
            &a.wait,
            vec![P::value("--timeout", "timeout", num(a.timeout), true, true)],
        ),
        GuestCmd::Reset(a) => (
            PowerAction::Reset,
            &a.targets,
            &a.wait,
            vec![P::flag("--skiplock", "skiplock", a.skiplock, true, false)],
        ),
        GuestCmd::Suspend(a) => (
            PowerAction::Suspend,
            &a.targets,
            &a.wait,
            vec![
                P::flag("--todisk", "todisk", a.todisk, true, false),
                P::value(
                    "--statestorage",
                    "statestorage",
                    a.statestorage.clone(),
                    true,
                    false,
                ),
                P::flag("--skiplock", "skiplock", a.skiplock, true, false),
            ],
        ),
        GuestCmd::Resume(a) => (
            PowerAction::Resume,
            &a.targets,
            &a.wait,
            vec![
                P::flag("--skiplock", "skiplock", a.skiplock, true, false),
                P::flag("--nocheck", "nocheck", a.nocheck, true, false),
            ],
        ),
        GuestCmd::List(_)
        | GuestCmd::Status(_)
        | GuestCmd::Config { .. }
        | GuestCmd::Set(_)
        | GuestCmd::Mount(_)
        | GuestCmd::Snapshot(_)
        | GuestCmd::Clone(_)
        | GuestCmd::Migrate(_)
        | GuestCmd::Create(_)
        | GuestCmd::Delete(_)
        | GuestCmd::Template(_) => return None,
    };
    Some(PowerRequest {
        action,
        targets: targets.clone(),
        wait: wait.clone(),
        params,
    })
}

async fn list(ctx: &Ctx, kind: GuestKind, f: &ListFilters) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let name_glob = f.name.as_deref().map(glob).transpose()?;
    let mut all = guests::fetch_guests(&client).await?;
    all.retain(|r| {
        r.kind == kind.as_str()
            && f.node.as_ref().is_none_or(|n| r.node.as_ref() == Some(n))
            && f.status
                .as_ref()
                .is_none_or(|s| r.status.as_ref() == Some(s))
            && f.pool.as_ref().is_none_or(|p| r.pool.as_ref() == Some(p))
            && f.tag
                .as_ref()
                .is_none_or(|t| r.tag_list().contains(&t.as_str()))
            && name_glob
                .as_ref()
                .is_none_or(|m| r.name.as_deref().is_some_and(|n| m.is_match(n)))
    });
    all.sort_by_key(|r| r.vmid);
    ctx.out.list(&LIST_COLUMNS, &guests::rows(&all))
}

const LIST_COLUMNS: [Column; 9] = [
    col("vmid", "VMID", Kind::Text),
    col("name", "NAME", Kind::Text),
    col("node", "NODE", Kind::Text),
    col("status", "STATUS", Kind::State),
    col("cpu", "CPU", Kind::Percent),
    col("mem", "MEM", Kind::Bytes),
    col("maxmem", "MAXMEM", Kind::Bytes),
    col("uptime", "UPTIME", Kind::Duration),
    col("tags", "TAGS", Kind::Text),
];

const STATUS_KINDS: [Column; 10] = [
    col("cpu", "CPU", Kind::Percent),
    col("mem", "MEM", Kind::Bytes),
    col("maxmem", "MAXMEM", Kind::Bytes),
    col("memhost", "MEMHOST", Kind::Bytes),
    col("disk", "DISK", Kind::Bytes),
    col("maxdisk", "MAXDISK", Kind::Bytes),
    col("maxswap", "MAXSWAP", Kind::Bytes),
    col("balloon", "BALLOON", Kind::Bytes),
    col("uptime", "UPTIME", Kind::Duration),
    col("status", "STATUS", Kind::State),
];

const PENDING_COLUMNS: [Column; 4] = [
    col("key", "KEY", Kind::Text),
    col("value", "VALUE", Kind::Text),
    col("pending", "PENDING", Kind::Text),
    col("delete", "DELETE", Kind::Text),
];
