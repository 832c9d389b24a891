//! `vm|ct status` and `vm|ct config` (with `--pending`, or one raw value with `--get`).

use serde_json::Value;

use super::super::graph::{self, Subject};
use super::super::watch;
use super::{check_key, Ctx};
use crate::api::guest::{config, power};
use crate::api::GuestKind;
use crate::cli::{ConfigArgs, StatusArgs};
use crate::error::CliError;
use crate::output::{col, Column, Kind};
use crate::targets;

pub async fn status(ctx: &Ctx, kind: GuestKind, a: &StatusArgs) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let t = &a.target;
    let every = watch::every(ctx, &a.watch, 1)?;
    let mut g = targets::resolve_one(&client, kind, &t.guest, t.node.as_deref()).await?;
    let title = format!(
        "pvectl {} status {}",
        crate::targets::KindWords::command(kind),
        g.label()
    );
    // Found by asking its node: that answer is the first status shown.
    let found = std::sync::Mutex::new(g.current.take());
    watch::run(ctx, every, &title, || async {
        if a.graph.graph {
            graph::show(ctx, &client, &Subject::Guest(&g), &a.graph).await
        } else {
            let answer = found.lock().ok().and_then(|mut f| f.take());
            status_once(ctx, &client, kind, &g, answer).await
        }
    })
    .await
}

/// The guest's status, once (`answer`: the node's, if it was just asked).
async fn status_once(
    ctx: &Ctx,
    client: &crate::api::Client,
    kind: GuestKind,
    g: &crate::targets::Guest,
    answer: Option<Value>,
) -> anyhow::Result<()> {
    let mut status = match answer {
        Some(a) => a,
        None => power::current_raw(client, g).await?,
    };
    if let Value::Object(m) = &mut status {
        m.entry("node")
            .or_insert_with(|| Value::String(g.node.clone()));
        m.entry("type")
            .or_insert_with(|| Value::String(kind.as_str().into()));
        if ctx.out.tabular() {
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

/// How `vm|ct status` shows its fields: every byte count in binary units, CPU, memory and uptime
/// blank while the guest does not run, nested counters (`nics`, `blockstat`, `ballooninfo`) as
/// sub-rows in the same units.
const STATUS_KINDS: [Column; 28] = [
    col("cpu", "CPU", Kind::Percent).live(),
    col("mem", "MEM", Kind::Bytes).live(),
    col("freemem", "FREEMEM", Kind::Bytes).live(),
    col("memhost", "MEMHOST", Kind::Bytes).live(),
    col("swap", "SWAP", Kind::Bytes).live(),
    col("uptime", "UPTIME", Kind::Duration).live(),
    col("maxmem", "MAXMEM", Kind::Bytes),
    col("disk", "DISK", Kind::Bytes),
    col("maxdisk", "MAXDISK", Kind::Bytes),
    col("maxswap", "MAXSWAP", Kind::Bytes),
    col("balloon", "BALLOON", Kind::Bytes),
    col("balloon_min", "BALLOON_MIN", Kind::Bytes),
    col("diskread", "DISKREAD", Kind::Bytes),
    col("diskwrite", "DISKWRITE", Kind::Bytes),
    col("netin", "NETIN", Kind::Bytes),
    col("netout", "NETOUT", Kind::Bytes),
    col("nics.*.netin", "", Kind::Bytes),
    col("nics.*.netout", "", Kind::Bytes),
    col("blockstat.*.rd_bytes", "", Kind::Bytes),
    col("blockstat.*.wr_bytes", "", Kind::Bytes),
    col("ballooninfo.actual", "", Kind::Bytes),
    col("ballooninfo.max_mem", "", Kind::Bytes),
    col("ballooninfo.total_mem", "", Kind::Bytes),
    col("ballooninfo.free_mem", "", Kind::Bytes),
    col("ballooninfo.mem_swapped_in", "", Kind::Bytes),
    col("ballooninfo.mem_swapped_out", "", Kind::Bytes),
    col("ballooninfo.last_update", "", Kind::Epoch),
    col("status", "STATUS", Kind::State),
];

const PENDING_COLUMNS: [Column; 4] = [
    col("key", "KEY", Kind::Text),
    col("value", "VALUE", Kind::Text),
    col("pending", "PENDING", Kind::Text),
    col("delete", "DELETE", Kind::Text),
];
