//! `vm|ct status` and `vm|ct config` (with `--pending`, or one raw value with `--get`).

use serde_json::Value;

use super::super::kit::for_people;
use super::{check_key, Ctx};
use crate::api::guest::{config, power};
use crate::api::GuestKind;
use crate::cli::{ConfigArgs, GuestTarget};
use crate::error::CliError;
use crate::output::{col, Column, Kind};
use crate::targets;

pub async fn status(ctx: &Ctx, kind: GuestKind, t: &GuestTarget) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let g = targets::resolve_one(&client, kind, &t.guest, t.node.as_deref()).await?;
    let mut status = power::current_raw(&client, &g).await?;
    if let Value::Object(m) = &mut status {
        m.entry("node")
            .or_insert_with(|| Value::String(g.node.clone()));
        m.entry("type")
            .or_insert_with(|| Value::String(kind.as_str().into()));
        if for_people(&ctx.out) {
            // `status` is only whether the process runs: show `paused` / `suspended` as PVE's web
            // UI does (JSON and TSV keep PVE's `status` and `qmpstatus`).
            let text = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
            let (st, q, lock) = (text("status"), text("qmpstatus"), text("lock"));
            if let Some(state) = power::state(st.as_deref(), q.as_deref(), lock.as_deref()) {
                m.insert("status".into(), Value::String(state.to_string()));
            }
        }
    }
    ctx.out.object(&status, &STATUS_KINDS)
}

pub async fn config(ctx: &Ctx, kind: GuestKind, a: &ConfigArgs) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let t = &a.target;
    let g = targets::resolve_one(&client, kind, &t.guest, t.node.as_deref()).await?;
    if a.pending {
        let entries = config::pending(&client, &g).await?;
        return ctx
            .out
            .list(&PENDING_COLUMNS, &super::super::kit::rows(&entries)?);
    }
    let cfg = config::get(&client, &g).await?;
    match &a.get {
        // `--get KEY`: the raw value, for scripts.
        Some(key) => match cfg.text(key) {
            Some(v) => ctx.out.lines([v]),
            None => {
                check_key(kind, key)?;
                Err(CliError::not_found(format!("{} has no '{key}' set", g.label())).into())
            }
        },
        None => ctx.out.object(&serde_json::to_value(&cfg)?, &[]),
    }
}

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
