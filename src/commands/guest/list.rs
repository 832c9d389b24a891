//! `vm list` / `ct list`: every guest of the kind, cluster-wide, in one request.

use serde_json::Value;

use super::super::kit::for_people;
use super::Ctx;
use crate::api::guest::power;
use crate::api::{nodes, ApiError, Client, GuestKind};
use crate::cli::{ListArgs, OutputFormat};
use crate::output::{col, Column, Kind};
use crate::targets::{self, glob};

pub async fn run(ctx: &Ctx, kind: GuestKind, a: &ListArgs) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let name_glob = a.name.as_deref().map(glob).transpose()?;
    let mut all = targets::fetch_guests(&client).await?;
    all.retain(|r| {
        r.guest_kind() == Some(kind)
            && a.sel.matches(r)
            && name_glob
                .as_ref()
                .is_none_or(|m| r.name.as_deref().is_some_and(|n| m.is_match(n)))
    });
    all.sort_by_key(|r| r.vmid);
    if all.is_empty() {
        check_node(&client, a.sel.node.as_deref()).await?;
    }
    if ctx.out.format == OutputFormat::Json {
        // As PVE sent them, written straight from the decoded entries.
        return ctx.out.json(&all);
    }
    // A table or TSV shows a few fields of each guest: only those are decoded.
    let keys: Vec<&str> = match &ctx.out.columns {
        Some(wanted) => wanted
            .iter()
            .map(|w| {
                let w = w.trim();
                COLUMNS
                    .iter()
                    .find(|c| c.key.eq_ignore_ascii_case(w) || c.header.eq_ignore_ascii_case(w))
                    .map_or(w, |c| c.key.as_ref())
            })
            .collect(),
        None => COLUMNS.iter().map(|c| c.key.as_ref()).collect(),
    };
    let people = for_people(&ctx.out);
    let rows: Vec<Value> = all
        .iter()
        .map(|r| {
            let mut row = r.pick(&keys);
            // The state as PVE's web UI shows it (a VM hibernated to disk is `suspended`); JSON
            // and TSV keep PVE's own `status` and `lock`.
            if let Some(state) =
                power::state(r.status.as_deref(), None, r.lock.as_deref()).filter(|_| people)
            {
                row.insert("status".into(), Value::String(state.to_string()));
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

static COLUMNS: [Column; 9] = [
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
