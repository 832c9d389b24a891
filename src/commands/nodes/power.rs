//! `nodes reboot|shutdown`: through `POST /nodes/{node}/status`, after asking, and never by
//! accident while guests run there (`--force` goes ahead anyway).

use crate::api::cluster;
use crate::api::nodes::{self, NodePower};
use crate::cli::NodePowerArgs;
use crate::commands::Ctx;
use crate::error::CliError;
use crate::targets::{self, Guest};
use crate::task::{ActionResult, Session};

pub async fn run(ctx: &Ctx, what: NodePower, a: NodePowerArgs) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let node = a.node.as_str();
    let all = cluster::resources(&client, None).await?;
    let Some(entry) = all
        .iter()
        .find(|r| r.kind == "node" && r.node.as_deref() == Some(node))
    else {
        let names: Vec<&str> = all
            .iter()
            .filter(|r| r.kind == "node")
            .filter_map(|r| r.node.as_deref())
            .collect();
        return Err(CliError::not_found(format!(
            "no node '{node}' in the cluster (nodes: {})",
            names.join(", ")
        ))
        .into());
    };
    if entry.status.as_deref() != Some("online") {
        return Err(CliError::unreachable(format!(
            "node {node} is {}: it cannot be asked to {}",
            entry.status.as_deref().unwrap_or("offline"),
            what.as_str()
        ))
        .into());
    }
    let running: Vec<Guest> = targets::fetch_from(&all)
        .into_iter()
        .filter(|g| g.node == node && matches!(g.state(), Some("running" | "paused")))
        .collect();
    let names: Vec<String> = running.iter().map(Guest::label).collect();
    if !running.is_empty() && !a.force {
        return Err(CliError::refused(format!(
            "{node} still runs {} guest(s): {}; move them off first (`pvectl nodes drain {node}`), or add --force",
            running.len(),
            names.join(", ")
        ))
        .into());
    }
    if !running.is_empty() {
        ctx.out.warn(&format!(
            "{node} still runs {} guest(s) (--force): {}",
            running.len(),
            names.join(", ")
        ));
    }
    ctx.confirm(&format!("{} node {node}", what.as_str()), &[], a.yes)?;
    let result = ActionResult::new(node.to_string(), node.to_string(), what.as_str());
    let result = match nodes::power(&client, node, what).await {
        Ok(()) => result.done("requested"),
        Err(e) => result.failed(&e.into()),
    };
    Session::new(&ctx.out, &client, None).report(&[result], false)
}
