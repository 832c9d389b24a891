//! `cluster top`: the nodes and the busiest guests, refreshed like `top` (on a terminal in place
//! until Ctrl-C), one request a refresh. Disk and network rates come from the counters of two
//! refreshes, so the first view has none; `--once` takes two samples an interval apart.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use serde_json::{json, Value};

use crate::api::cluster::{self, Resource};
use crate::api::Client;
use crate::cli::{TopArgs, TopSort};
use crate::commands::{watch, Ctx};
use crate::config::parse_duration;
use crate::error::CliError;
use crate::output::{col, Column, Kind};

/// The counters of the last sample, by resource id, and when it was taken.
type Sample = (Instant, HashMap<String, [f64; 4]>);

const COUNTERS: [&str; 4] = ["diskread", "diskwrite", "netin", "netout"];

pub async fn run(ctx: &Ctx, client: &Client, a: &TopArgs) -> anyhow::Result<()> {
    let asked =
        parse_duration(&a.interval).map_err(|e| CliError::usage(format!("--interval: {e}")))?;
    let interval = watch::stretch(&ctx.out, asked, 1, ctx.settings.max_rps, "--interval");
    let last: Mutex<Option<Sample>> = Mutex::new(None);
    if a.once {
        sample(client, &last).await?;
        tokio::time::sleep(interval).await;
        return frame(ctx, client, a, &last).await;
    }
    watch::run(ctx, Some(interval), "pvectl cluster top", || {
        frame(ctx, client, a, &last)
    })
    .await
}

/// Take a sample and return the resources with the rates since the last one.
async fn sample(
    client: &Client,
    last: &Mutex<Option<Sample>>,
) -> anyhow::Result<Vec<(Resource, Option<[f64; 4]>)>> {
    let all = cluster::resources(client, None).await?;
    let now = Instant::now();
    let counters: HashMap<String, [f64; 4]> = all
        .iter()
        .map(|r| {
            let fields = r.pick(&COUNTERS);
            (r.id.clone(), COUNTERS.map(|k| num(fields.get(k))))
        })
        .collect();
    let mut guard = last
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let rated = all
        .into_iter()
        .map(|r| {
            let rates = guard.as_ref().and_then(|(at, prev)| {
                let dt = now.duration_since(*at).as_secs_f64();
                let (before, now) = (prev.get(&r.id)?, counters.get(&r.id)?);
                let mut out = [0.0; 4];
                for i in 0..4 {
                    let d = now[i] - before[i];
                    // A counter that went back: the guest restarted.
                    if d < 0.0 || dt <= 0.0 {
                        return None;
                    }
                    out[i] = d / dt;
                }
                Some(out)
            });
            (r, rates)
        })
        .collect();
    *guard = Some((now, counters));
    Ok(rated)
}

async fn frame(
    ctx: &Ctx,
    client: &Client,
    a: &TopArgs,
    last: &Mutex<Option<Sample>>,
) -> anyhow::Result<()> {
    let rated = sample(client, last).await?;
    let mut nodes: Vec<Value> = vec![];
    let mut guests: Vec<(f64, Value)> = vec![];
    for (r, rates) in &rated {
        let mut row = serde_json::to_value(r)?;
        match r.kind.as_str() {
            "node" => nodes.push(row),
            "qemu" | "lxc" if r.status.as_deref() != Some("stopped") && !r.template => {
                let cpus = row.get("maxcpu").map_or(1.0, |v| num(Some(v)));
                let used = num(row.get("cpu")) * cpus;
                let mem = num(row.get("mem"));
                if let Some([dr, dw, ni, no]) = rates {
                    row["diskread_rate"] = json!(dr);
                    row["diskwrite_rate"] = json!(dw);
                    row["netin_rate"] = json!(ni);
                    row["netout_rate"] = json!(no);
                    row["disk_rate"] = json!(dr + dw);
                    row["net_rate"] = json!(ni + no);
                }
                let key = match a.sort {
                    TopSort::Cpu => used,
                    TopSort::Mem => mem,
                    TopSort::Disk => rates.map_or(0.0, |x| x[0] + x[1]),
                    TopSort::Net => rates.map_or(0.0, |x| x[2] + x[3]),
                };
                guests.push((key, row));
            }
            _ => {}
        }
    }
    nodes.sort_by(|x, y| x["node"].as_str().cmp(&y["node"].as_str()));
    guests.sort_by(|x, y| {
        y.0.total_cmp(&x.0)
            .then(x.1["vmid"].as_u64().cmp(&y.1["vmid"].as_u64()))
    });
    let limit = a.limit.unwrap_or_else(|| fits(nodes.len()));
    let guests: Vec<Value> = guests.into_iter().take(limit).map(|(_, v)| v).collect();
    if ctx.out.structured() {
        return ctx.out.json(&json!({ "nodes": nodes, "guests": guests }));
    }
    ctx.out.list(&NODE_COLUMNS, &nodes)?;
    ctx.out.lines([String::new()])?;
    ctx.out.list(&GUEST_COLUMNS, &guests)
}

/// A number of an entry (0 when it has none).
fn num(v: Option<&Value>) -> f64 {
    v.and_then(crate::api::de::number).unwrap_or(0.0)
}

/// How many guests fit the terminal under the nodes (20 without a terminal).
fn fits(nodes: usize) -> usize {
    match crate::output::live::size() {
        // The title, the node table with its frame, a blank line, the guest table's frame.
        Some((_, rows)) => usize::from(rows).saturating_sub(nodes + 12).max(5),
        None => 20,
    }
}

const NODE_COLUMNS: [Column; 6] = [
    col("node", "NODE", Kind::Text),
    col("status", "STATUS", Kind::State),
    col("cpu", "CPU", Kind::Percent),
    col("mem", "MEM", Kind::Bytes),
    col("maxmem", "MAXMEM", Kind::Bytes),
    col("uptime", "UPTIME", Kind::Duration),
];

const GUEST_COLUMNS: [Column; 8] = [
    col("vmid", "VMID", Kind::Text),
    col("name", "NAME", Kind::Text),
    col("node", "NODE", Kind::Text),
    col("cpu", "CPU", Kind::Percent),
    col("maxcpu", "CPUS", Kind::Text),
    col("mem", "MEM", Kind::Bytes),
    col("disk_rate", "DISK/S", Kind::Bytes),
    col("net_rate", "NET/S", Kind::Bytes),
];
