//! `vm|ct set`: change the configuration with the digest guard, then say which changes wait for
//! the next restart.

use serde_json::{json, Value};

use super::{check_key, concurrent_edit, key_values, stale_digest_message, Ctx};
use crate::api::guest::config::{self, deletable_key, is_stale_digest};
use crate::api::guest::keys;
use crate::api::{GuestKind, Params};
use crate::cli::SetArgs;
use crate::error::{CliError, ErrorKind};
use crate::output::{col, Column, Kind};
use crate::targets::{self, KindWords};
use crate::task::{finish_one_then, ActionResult, SHORT_WAIT};

pub async fn run(ctx: &Ctx, kind: GuestKind, a: SetArgs) -> anyhow::Result<()> {
    if a.help_keys {
        return help_keys(ctx, kind);
    }
    let Some(guest) = &a.guest else {
        return Err(CliError::usage("give the guest: VMID or name").into());
    };
    let settings = key_values(kind, &a.settings)?;
    for k in &a.delete {
        if !deletable_key(kind, k.trim()) {
            check_key(kind, k.trim())?;
        }
    }
    for k in &a.revert {
        check_key(kind, k.trim())?;
    }
    if let Some((k, _)) = settings
        .iter()
        .find(|(k, _)| a.delete.iter().any(|d| d.trim() == k))
    {
        return Err(CliError::usage(format!("'{k}' is both set and deleted: pick one")).into());
    }
    if settings.is_empty() && a.delete.is_empty() && a.revert.is_empty() {
        return Err(CliError::usage(
            "nothing to change: give KEY=VALUE pairs, --delete KEY or --revert KEY",
        )
        .into());
    }
    let timeout = ctx.wait_limit(a.wait.wait_timeout.as_deref(), SHORT_WAIT)?;
    let client = ctx.client()?;
    let g = targets::resolve_one(&client, kind, guest, a.node.as_deref()).await?;
    let cfg = config::get(&client, &g).await?;
    let mut params = Params::new();
    for (k, v) in &settings {
        params.push(k, v);
    }
    let join = |v: &[String]| v.iter().map(|s| s.trim()).collect::<Vec<_>>().join(",");
    let params = params
        .opt("delete", (!a.delete.is_empty()).then(|| join(&a.delete)))
        .opt("revert", (!a.revert.is_empty()).then(|| join(&a.revert)))
        .opt("digest", cfg.digest());
    let answer = config::write(&client, &g, &params)
        .await
        .map_err(|e| concurrent_edit(&g, e))?;
    // A `qmconfig` task that ended on a stale digest is the same refusal as a synchronous one
    // (exit 6), not a task failure.
    finish_one_then(
        &ctx.out,
        &client,
        timeout,
        ActionResult::for_guest(&g, "set"),
        answer,
        a.wait.no_wait,
        |r| match r.exitstatus.clone().filter(|x| !r.ok && is_stale_digest(x)) {
            Some(exitstatus) => {
                let mut r = r.fail(ErrorKind::Refused, stale_digest_message(&exitstatus));
                r.log_tail.clear();
                r
            }
            None => r,
        },
    )
    .await?;
    if a.wait.no_wait {
        return Ok(());
    }
    // Changes a running guest cannot take now wait for its next restart: say which, of the ones
    // this command made (other pending changes are not its news).
    let pending = config::pending(&client, &g).await.unwrap_or_default();
    let touched =
        |k: &str| settings.iter().any(|(s, _)| s == k) || a.delete.iter().any(|d| d.trim() == k);
    let waiting: Vec<String> = pending
        .iter()
        .filter(|p| p.waiting() && touched(&p.key))
        .map(|p| p.key.clone())
        .collect();
    if !waiting.is_empty() {
        ctx.out.info(&format!(
            "{}: pending until the next restart: {} (see `pvectl {} config {} --pending`)",
            g.label(),
            waiting.join(", "),
            kind.command(),
            g.vmid
        ));
    }
    Ok(())
}

/// `set --help-keys`: the keys of this kind's configuration with PVE's descriptions, from the key
/// schema the key names are checked against. A numbered family is one row (`net[n]`).
fn help_keys(ctx: &Ctx, kind: GuestKind) -> anyhow::Result<()> {
    let people = ctx.out.tabular();
    let rows: Vec<Value> = keys::keys(kind)
        .iter()
        .map(|k| {
            let mut row =
                json!({"key": k.label(), "format": k.format, "description": k.description});
            if let Some(max) = k.max_index {
                row["max_index"] = json!(max);
                if people {
                    row["description"] = json!(format!("{} (n is 0 to {max})", k.description));
                }
            }
            row
        })
        .collect();
    ctx.out.list(&KEY_COLUMNS, &rows)
}

const KEY_COLUMNS: [Column; 2] = [
    col("key", "KEY", Kind::Text),
    col("description", "DESCRIPTION", Kind::Text),
];
