//! `vm|ct clone`: a copy of a guest, by default as the next free VMID.

use super::{in_use_error, Ctx};
use crate::api::guest::provision::{self, CloneOptions};
use crate::api::{cluster, GuestKind};
use crate::cli::CloneArgs;
use crate::error::CliError;
use crate::targets;
use crate::task::{self, ActionResult, LONG_WAIT};

pub async fn run(
    ctx: &Ctx,
    kind: GuestKind,
    a: CloneArgs,
    name: Option<String>,
    format: Option<String>,
) -> anyhow::Result<()> {
    let timeout = ctx.wait_limit(a.wait.wait_timeout.as_deref(), LONG_WAIT)?;
    let client = ctx.client()?;
    let resources = targets::fetch_guests(&client).await?;
    let mut source = targets::match_spec(&resources, kind, &a.guest)?;
    if source.len() != 1 {
        return Err(CliError::usage(format!(
            "'{}' names {} guests: clone takes one",
            a.guest,
            source.len()
        ))
        .into());
    }
    let g = source.remove(0);
    let newid = match a.newid {
        Some(id) => {
            if let Some(other) = targets::fetch_from(&resources)
                .iter()
                .find(|o| o.vmid == id)
            {
                return Err(in_use_error(id, other).into());
            }
            id
        }
        None => cluster::next_id(&client).await?,
    };
    let options = CloneOptions {
        newid,
        name,
        description: a.description,
        full: a.full,
        target: a.target,
        storage: a.storage,
        snapname: a.snapname,
        pool: a.pool,
        format,
        bwlimit: a.bwlimit,
    };
    let answer = provision::clone(&client, &g, &options).await?;
    let mut r = ActionResult::for_guest(&g, &format!("clone to {newid}"));
    r.newid = Some(newid);
    task::finish_one(&ctx.out, &client, timeout, r, answer, a.wait.no_wait).await
}
