//! `vm|ct delete`: guests and their disks, always confirmed; a running guest only with `--stop`.

use super::Ctx;
use crate::api::guest::power::{self, PowerAction};
use crate::api::guest::provision;
use crate::api::{Client, GuestKind, Params};
use crate::cli::DeleteArgs;
use crate::error::CliError;
use crate::targets::{self, Guest, KindWords};
use crate::task::{ActionResult, Session, LONG_WAIT};

pub async fn run(ctx: &Ctx, kind: GuestKind, a: DeleteArgs) -> anyhow::Result<()> {
    let timeout = ctx.wait_limit(a.wait.wait_timeout.as_deref(), LONG_WAIT)?;
    let client = ctx.client()?;
    let resources = targets::fetch_guests(&client).await?;
    let mut doomed: Vec<Guest> = vec![];
    for spec in &a.guests {
        if targets::is_glob(spec) {
            return Err(CliError::usage(format!(
                "'{spec}' is a glob: delete takes VMIDs or names, so that nothing is deleted by accident"
            ))
            .into());
        }
        for g in targets::match_spec(&resources, kind, spec)? {
            if !doomed.iter().any(|t| t.vmid == g.vmid) {
                doomed.push(g);
            }
        }
    }
    let running: Vec<&Guest> = doomed
        .iter()
        .filter(|g| g.status.as_deref() == Some("running"))
        .collect();
    if !running.is_empty() && !a.stop {
        let names: Vec<String> = running.iter().map(|g| g.label()).collect();
        return Err(CliError::refused(format!(
            "{} running: nothing was deleted; stop it first, or add --stop",
            if names.len() == 1 {
                format!("{} is", names[0])
            } else {
                format!("{} are", names.join(", "))
            }
        ))
        .into());
    }
    let items: Vec<String> = doomed.iter().map(Guest::summary).collect();
    ctx.confirm(
        &format!(
            "Delete {} {}{} and {} disks?",
            doomed.len(),
            kind.noun(),
            if doomed.len() == 1 { "" } else { "s" },
            if doomed.len() == 1 { "its" } else { "their" }
        ),
        &items,
        a.yes,
    )?;
    let session = Session::new(&ctx.out, &client, timeout);
    let work = async {
        let mut results = vec![];
        for g in &doomed {
            results.push(one(&client, &session, g, &a).await);
        }
        results
    };
    session.finish(work, a.wait.no_wait).await
}

async fn one(client: &Client, session: &Session<'_>, g: &Guest, a: &DeleteArgs) -> ActionResult {
    // A running guest is stopped first, and that is always waited for: PVE deletes no running
    // guest. `--no-wait` applies to the delete itself.
    if g.status.as_deref() == Some("running") {
        match power::action(client, g, PowerAction::Stop, &Params::new()).await {
            Ok(upid) => {
                let r = session
                    .wait(ActionResult::for_guest(g, "stop"), &upid)
                    .await;
                if !r.ok {
                    let mut r = r;
                    r.action = "delete".into();
                    r.message = format!("not deleted: stopping it failed: {}", r.message);
                    return r;
                }
                session
                    .progress
                    .println(&format!("{}: stop {}", r.label, r.message));
            }
            Err(e) => {
                return ActionResult::for_guest(g, "delete")
                    .failed(&anyhow::Error::from(e).context("not deleted: stopping it failed"))
            }
        }
    }
    let answer = provision::delete(client, g, a.purge, a.destroy_unreferenced_disks).await;
    let result = ActionResult::for_guest(g, "delete");
    session
        .settle(answer, result, "deleted", a.wait.no_wait)
        .await
}
