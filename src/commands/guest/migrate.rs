//! `vm|ct migrate`: move a guest to another node (live for a VM with `--online`, restart mode for
//! a running container).

use super::Ctx;
use crate::api::guest::provision::{self, MigrateOptions};
use crate::api::{nodes, GuestKind};
use crate::cli::MigrateArgs;
use crate::error::CliError;
use crate::task::LONG_WAIT;

pub async fn run(
    ctx: &Ctx,
    kind: GuestKind,
    a: MigrateArgs,
    options: MigrateOptions,
) -> anyhow::Result<()> {
    let v =
        super::super::kit::TaskVerb::resolve(ctx, kind, &a.guest, None, &a.wait, LONG_WAIT).await?;
    let g = &v.guest;
    if g.node == a.target {
        return Err(CliError::usage(format!("{} is already on {}", g.label(), a.target)).into());
    }
    let all = nodes::list(&v.client).await?;
    match all.iter().find(|n| n.node == a.target) {
        None => {
            let names: Vec<&str> = all.iter().map(|n| n.node.as_str()).collect();
            return Err(CliError::not_found(format!(
                "no node '{}' in the cluster (nodes: {})",
                a.target,
                names.join(", ")
            ))
            .into());
        }
        Some(n) if !n.online() => {
            return Err(CliError::unreachable(format!(
                "node {} is {}: a guest cannot move there now",
                a.target,
                n.status.as_deref().unwrap_or("offline")
            ))
            .into())
        }
        Some(_) => {}
    }
    let options = MigrateOptions {
        target: a.target.clone(),
        target_storage: a.target_storage,
        bwlimit: a.bwlimit,
        ..options
    };
    let answer = provision::migrate(&v.client, g, &options).await?;
    v.finish(&format!("migrate to {}", a.target), answer)
        .await?;
    // Seen through to its end: the guest is on the target now (the next command asks there).
    if let (false, Some(file)) = (a.wait.no_wait, v.client.hints()) {
        crate::targets::hints::moved(file, g.vmid, kind, &a.target);
    }
    Ok(())
}
