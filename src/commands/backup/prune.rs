//! `backup prune`: PVE's own simulation of the retention rules first, then the removal, asked for.

use futures_util::future::join_all;
use serde_json::{json, Value};

use super::{plural, Ctx};
use crate::api::storage::{self, PruneFilter};
use crate::cli::BackupPruneArgs;
use crate::commands::kit::storage_nodes;
use crate::output::{col, Column, Kind};
use crate::task::{ActionResult, Session, LONG_WAIT};

fn retention(a: &BackupPruneArgs) -> Option<String> {
    let keep = [
        ("keep-last", a.keep_last),
        ("keep-hourly", a.keep_hourly),
        ("keep-daily", a.keep_daily),
        ("keep-weekly", a.keep_weekly),
        ("keep-monthly", a.keep_monthly),
        ("keep-yearly", a.keep_yearly),
    ];
    let parts: Vec<String> = keep
        .iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
        .collect();
    (!parts.is_empty()).then(|| parts.join(","))
}

pub async fn run(ctx: &Ctx, a: BackupPruneArgs) -> anyhow::Result<()> {
    let timeout = ctx.wait_limit(a.wait.wait_timeout.as_deref(), LONG_WAIT)?;
    let client = ctx.client()?;
    let nodes = match ctx.node_or(a.node.as_deref()) {
        Some(n) => vec![n],
        None => storage_nodes(&client, &a.storage).await?,
    };
    let rules = retention(&a);
    if rules.is_none() {
        ctx.out.info(&format!(
            "no --keep-* given: using the retention configured on storage {}",
            a.storage
        ));
    }
    let filter = PruneFilter {
        rules,
        kind: a.kind.clone(),
        vmid: a.vmid,
    };
    let plans = join_all(nodes.iter().map(|n| {
        let (client, filter, name) = (&client, &filter, &a.storage);
        async move { (n, storage::prune_plan(client, n, name, filter).await) }
    }))
    .await;
    let mut rows = vec![];
    let mut removable: Vec<&String> = vec![];
    for (node, plan) in plans {
        let plan = plan
            .map_err(|e| anyhow::Error::from(e).context(format!("prune simulation on {node}")))?;
        let mut any = false;
        for mut row in plan {
            any |= row.get("mark").and_then(Value::as_str) == Some("remove");
            row.insert("node".into(), json!(node));
            rows.push(Value::Object(row));
        }
        if any {
            removable.push(node);
        }
    }
    rows.sort_by(|a, b| {
        let key = |v: &Value| (v["vmid"].as_u64(), std::cmp::Reverse(v["ctime"].as_i64()));
        key(a).cmp(&key(b))
    });
    let to_remove = rows
        .iter()
        .filter(|r| r["mark"].as_str() == Some("remove"))
        .count();
    // With `-o json` stdout holds one document: the plan for a dry run, else the results.
    let json_results = ctx.out.structured() && !a.dry_run;
    if !json_results {
        ctx.out.list(&PRUNE_COLUMNS, &rows)?;
    }
    if a.dry_run {
        ctx.out.info(&format!(
            "dry run: {to_remove} backup{} would be removed",
            plural(to_remove)
        ));
        return Ok(());
    }
    let label = |node: &str| format!("{} on {node}", a.storage);
    let session = Session::new(&ctx.out, &client, timeout);
    if to_remove == 0 {
        if !json_results {
            ctx.out.info("nothing to remove");
            return Ok(());
        }
        let results: Vec<ActionResult> = nodes
            .iter()
            .map(|n| ActionResult::new(label(n), n.clone(), "prune").done("nothing to remove"))
            .collect();
        return session.report(&results, false);
    }
    // Without the table on stdout, the question lists what goes.
    let doomed: Vec<String> = if json_results {
        rows.iter()
            .filter(|r| r["mark"].as_str() == Some("remove"))
            .map(|r| {
                format!(
                    "{} on {}",
                    r["volid"].as_str().unwrap_or("?"),
                    r["node"].as_str().unwrap_or("?")
                )
            })
            .collect()
    } else {
        vec![]
    };
    ctx.confirm(
        &format!(
            "Remove the {to_remove} backup{} marked 'remove' on {}?",
            plural(to_remove),
            a.storage
        ),
        &doomed,
        a.yes,
    )?;
    let work = async {
        let mut results = vec![];
        for node in removable {
            let r = ActionResult::new(label(node), node.clone(), "prune");
            let answer = storage::prune(&client, node, &a.storage, &filter).await;
            results.push(session.settle(answer, r, "pruned", a.wait.no_wait).await);
        }
        results
    };
    session.finish(work, a.wait.no_wait).await
}

const PRUNE_COLUMNS: [Column; 7] = [
    col("volid", "VOLID", Kind::Text),
    col("vmid", "VMID", Kind::Text),
    col("type", "TYPE", Kind::Text).priority(3),
    col("ctime", "CREATED", Kind::Epoch).priority(4),
    col("ctime", "AGE", Kind::Age).priority(1),
    col("mark", "MARK", Kind::State),
    col("node", "NODE", Kind::Text).priority(2),
];
