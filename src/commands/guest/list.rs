//! `vm list` / `ct list`: every guest of the kind, cluster-wide, in one request.

use serde_json::Value;

use super::super::watch;
use super::Ctx;
use crate::api::guest::power;
use crate::api::{nodes, ApiError, Client, GuestKind};
use crate::cli::ListArgs;
use crate::output::{col, Column, Kind};
use crate::targets::{self, glob};

pub async fn run(ctx: &Ctx, kind: GuestKind, a: &ListArgs) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let every = watch::every(ctx, &a.watch, 1)?;
    let title = format!("pvectl {} list", crate::targets::KindWords::command(kind));
    watch::run(ctx, every, &title, || once(ctx, &client, kind, a)).await
}

/// The list, once.
async fn once(ctx: &Ctx, client: &Client, kind: GuestKind, a: &ListArgs) -> anyhow::Result<()> {
    let name_glob = a.name.as_deref().map(glob).transpose()?;
    let mut all = targets::fetch_guests(client).await?;
    all.retain(|r| {
        r.guest_kind() == Some(kind)
            && a.sel.matches(r)
            && name_glob
                .as_ref()
                .is_none_or(|m| r.name.as_deref().is_some_and(|n| m.is_match(n)))
    });
    all.sort_by_key(|r| r.vmid);
    if all.is_empty() {
        check_node(client, a.sel.node.as_deref()).await?;
    }
    if ctx.out.structured() && ctx.out.columns.is_none() {
        // As PVE sent them, written straight from the decoded entries.
        return ctx.out.json(&all);
    }
    // A table or TSV shows a few fields of each guest: only those are decoded (and `status` and
    // `template`, which the state shown depends on).
    let mut keys: Vec<&str> = match &ctx.out.columns {
        Some(wanted) => wanted
            .iter()
            .map(|w| {
                let w = w.trim();
                COLUMNS
                    .iter()
                    .find(|c| c.key.eq_ignore_ascii_case(w) || c.header.eq_ignore_ascii_case(w))
                    .map_or(w, |c| c.key)
            })
            .collect(),
        None => COLUMNS.iter().map(|c| c.key).collect(),
    };
    keys.extend(["status", "template"]);
    let table = ctx.out.tabular();
    let rows: Vec<Value> = all
        .iter()
        .map(|r| {
            let mut row = r.pick(&keys);
            if table {
                // The state as PVE's web UI shows it (a VM hibernated to disk is `suspended`, a
                // template is a template); TSV and JSON keep PVE's own `status` and `lock`.
                let state = if r.template {
                    Some("template")
                } else {
                    power::state(r.status.as_deref(), None, r.lock.as_deref())
                };
                if let Some(state) = state {
                    row.insert("status".into(), Value::String(state.to_string()));
                }
            }
            Value::Object(row)
        })
        .collect();
    ctx.out.list(&COLUMNS, &rows)
}

/// A `--node` that picks nothing may be a node the cluster does not have: say so (exit 5).
async fn check_node(client: &Client, node: Option<&str>) -> anyhow::Result<()> {
    let Some(node) = node else { return Ok(()) };
    let all = nodes::list(client).await?;
    if all.iter().any(|n| n.node == node) {
        return Ok(());
    }
    Err(ApiError::NoSuchNode {
        node: node.to_string(),
    }
    .into())
}

/// On a narrow terminal UPTIME goes first, then MAXMEM, TAGS, MEM and CPU, then NODE.
static COLUMNS: [Column; 13] = [
    col("vmid", "VMID", Kind::Text),
    col("name", "NAME", Kind::Text),
    col("node", "NODE", Kind::Text).priority(1),
    col("status", "STATUS", Kind::State),
    col("cpu", "CPU", Kind::Percent).live().priority(2),
    col("mem", "MEM", Kind::Bytes).live().priority(2),
    col("maxmem", "MAXMEM", Kind::Bytes).priority(4),
    col("uptime", "UPTIME", Kind::Duration).live().priority(5),
    col("tags", "TAGS", Kind::Text).priority(3),
    col("maxdisk", "MAXDISK", Kind::Bytes).wide(),
    col("pool", "POOL", Kind::Text).wide(),
    col("hastate", "HA", Kind::Text).wide(),
    col("lock", "LOCK", Kind::Text).wide(),
];
