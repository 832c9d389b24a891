//! `pool list|show|create|delete|add|remove`: resource pools of guests and storages. Adding a
//! member a pool has, or removing one it has not, is said and skipped (PVE would refuse the whole
//! change); a pool with members is deleted only with `--force`, which takes them out first.

use serde_json::json;

use super::Ctx;
use crate::api::cluster::Resource;
use crate::api::pools::{self, Change, Pool};
use crate::api::Client;
use crate::cli::{PoolCmd, PoolMembersArgs, Selectors};
use crate::error::CliError;
use crate::output::{col, Column, Kind};
use crate::targets::{self, Guest};
use crate::task::{ActionResult, Session};

pub async fn run(ctx: &Ctx, cmd: PoolCmd) -> anyhow::Result<()> {
    let client = ctx.client()?;
    match cmd {
        PoolCmd::List => {
            let mut list = pools::list(&client).await?;
            list.sort_by(|a, b| a.poolid.cmp(&b.poolid));
            ctx.out.list(&LIST_COLUMNS, &super::kit::rows(&list)?)
        }
        PoolCmd::Show { pool } => {
            let p = pools::get(&client, &pool).await?;
            if ctx.out.structured() {
                return ctx.out.json(&p);
            }
            let rows: Vec<serde_json::Value> = p
                .members
                .iter()
                .map(|m| {
                    let mut row = serde_json::to_value(m).unwrap_or_default();
                    let id = match (&m.vmid, &m.storage) {
                        (Some(v), _) => v.to_string(),
                        (None, Some(s)) => s.clone(),
                        _ => m.id.clone(),
                    };
                    row["member"] = json!(id);
                    row
                })
                .collect();
            if rows.is_empty() {
                ctx.out.info(&format!("pool {pool} has no members"));
            }
            ctx.out.list(&MEMBER_COLUMNS, &rows)
        }
        PoolCmd::Create { pool, comment } => {
            let r = ActionResult::new(pool.clone(), String::new(), "create pool");
            let r = match pools::create(&client, &pool, comment.as_deref()).await {
                Ok(()) => r.done("OK"),
                Err(e) => r.failed(&e.into()),
            };
            report(ctx, &client, vec![r])
        }
        PoolCmd::Delete { pool, force, yes } => delete(ctx, &client, &pool, force, yes).await,
        PoolCmd::Add(a) => change(ctx, &client, &a.members, false, a.allow_move).await,
        PoolCmd::Remove(a) => change(ctx, &client, &a, true, false).await,
    }
}

const LIST_COLUMNS: [Column; 2] = [
    col("poolid", "POOL", Kind::Text),
    col("comment", "COMMENT", Kind::Text).free(),
];

const MEMBER_COLUMNS: [Column; 5] = [
    col("type", "TYPE", Kind::Text),
    col("member", "MEMBER", Kind::Text),
    col("name", "NAME", Kind::Text),
    col("node", "NODE", Kind::Text),
    col("status", "STATUS", Kind::State),
];

fn report(ctx: &Ctx, client: &Client, results: Vec<ActionResult>) -> anyhow::Result<()> {
    Session::new(&ctx.out, client, None).report(&results, false)
}

/// The members of a pool in words: `web-1 (100), storage nfs`.
fn members_text(p: &Pool) -> String {
    p.members
        .iter()
        .map(|m| match (&m.vmid, &m.storage) {
            (Some(v), _) => match &m.name {
                Some(n) => format!("{n} ({v})"),
                None => v.to_string(),
            },
            (None, Some(s)) => format!("storage {s}"),
            _ => m.id.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn delete(
    ctx: &Ctx,
    client: &Client,
    pool: &str,
    force: bool,
    yes: bool,
) -> anyhow::Result<()> {
    let p = pools::get(client, pool).await?;
    if !p.members.is_empty() && !force {
        return Err(CliError::refused(format!(
            "pool {pool} still has {} member(s): {}; take them out first (`pvectl pool remove {pool} …`), or add --force (the guests and storages stay, outside any pool)",
            p.members.len(),
            members_text(&p)
        ))
        .into());
    }
    let items = if p.members.is_empty() {
        vec![]
    } else {
        vec![format!("members taken out of it: {}", members_text(&p))]
    };
    ctx.confirm(&format!("delete pool {pool}"), &items, yes)?;
    let r = ActionResult::new(pool.to_string(), String::new(), "delete pool");
    if !p.members.is_empty() {
        let c = Change {
            vms: p.members.iter().filter_map(|m| m.vmid).collect(),
            storages: p.members.iter().filter_map(|m| m.storage.clone()).collect(),
            delete: true,
            ..Change::default()
        };
        if let Err(e) = pools::update(client, pool, &c).await {
            return report(ctx, client, vec![r.failed(&e.into())]);
        }
    }
    let r = match pools::delete(client, pool).await {
        Ok(()) => r.done("OK"),
        Err(e) => r.failed(&e.into()),
    };
    report(ctx, client, vec![r])
}

/// One result per member, for a change that is one request.
struct Member {
    result: ActionResult,
    vmid: Option<u32>,
    storage: Option<String>,
    /// Nothing to do for it (already in, or not in).
    settled: Option<String>,
}

async fn change(
    ctx: &Ctx,
    client: &Client,
    a: &PoolMembersArgs,
    remove: bool,
    allow_move: bool,
) -> anyhow::Result<()> {
    if a.guests.is_empty() && a.storage.is_empty() {
        return Err(CliError::usage(
            "no members given: name guests (VMID, name or glob) or --storage",
        )
        .into());
    }
    let pool = a.pool.as_str();
    let p = pools::get(client, pool).await?;
    let guests: Vec<Guest> = if a.guests.is_empty() {
        vec![]
    } else {
        let resources = targets::fetch_guests(client).await?;
        targets::select_any(&resources, &a.guests, false, &Selectors::default(), true)?.guests
    };
    let action = if remove {
        format!("remove from pool {pool}")
    } else {
        format!("add to pool {pool}")
    };
    let mut members = vec![];
    for g in &guests {
        let inside = p.members.iter().any(|m| m.vmid == Some(g.vmid));
        let elsewhere = g
            .resource
            .as_ref()
            .and_then(|r: &Resource| r.pool.clone())
            .filter(|other| other != pool);
        if let (false, Some(other), false) = (remove, &elsewhere, allow_move) {
            return Err(CliError::refused(format!(
                "{} is in pool {other}: add --move to move it to {pool}; nothing was changed",
                g.label()
            ))
            .into());
        }
        members.push(Member {
            result: ActionResult::for_guest(g, &action),
            vmid: Some(g.vmid),
            storage: None,
            settled: match (remove, inside) {
                (false, true) => Some(format!("already in pool {pool}")),
                (true, false) => Some(format!("already out of pool {pool}")),
                _ => None,
            },
        });
    }
    for s in &a.storage {
        let inside = p.members.iter().any(|m| m.storage.as_deref() == Some(s));
        members.push(Member {
            result: ActionResult::new(format!("storage {s}"), String::new(), &action),
            vmid: None,
            storage: Some(s.clone()),
            settled: match (remove, inside) {
                (false, true) => Some(format!("already in pool {pool}")),
                (true, false) => Some(format!("already out of pool {pool}")),
                _ => None,
            },
        });
    }
    let todo: Vec<&Member> = members.iter().filter(|m| m.settled.is_none()).collect();
    let outcome = if todo.is_empty() {
        Ok(())
    } else {
        let c = Change {
            vms: todo.iter().filter_map(|m| m.vmid).collect(),
            storages: todo.iter().filter_map(|m| m.storage.clone()).collect(),
            delete: remove,
            allow_move,
            comment: None,
        };
        pools::update(client, pool, &c).await
    };
    let outcome = outcome.map_err(anyhow::Error::from);
    let results: Vec<ActionResult> = members
        .into_iter()
        .map(|m| match (&m.settled, &outcome) {
            (Some(why), _) => m.result.done(why),
            (None, Ok(())) => m.result.done("OK"),
            (None, Err(e)) => m.result.failed(e),
        })
        .collect();
    report(ctx, client, results)
}
