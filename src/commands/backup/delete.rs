//! `backup delete`: archives by volume ID, always confirmed; a protected one is refused.

use super::{locate, plural, Ctx};
use crate::api::cluster::{self, ResourceType};
use crate::api::storage;
use crate::cli::BackupDeleteArgs;
use crate::error::CliError;
use crate::task::{ActionResult, Session, LONG_WAIT};

pub async fn run(ctx: &Ctx, a: BackupDeleteArgs) -> anyhow::Result<()> {
    let timeout = ctx.wait_limit(a.wait.wait_timeout.as_deref(), LONG_WAIT)?;
    let client = ctx.client()?;
    let resources = cluster::resources(&client, Some(ResourceType::Storage)).await?;
    let mut found = vec![];
    for volid in &a.volids {
        let f = locate(ctx, &client, &resources, volid.trim(), a.node.as_deref()).await?;
        // PVE refuses a protected backup only inside the task (exit 8): say so up front.
        if f.volume.protected() {
            return Err(CliError::refused(format!(
                "cannot remove protected volume '{}' on '{}': nothing was deleted; remove the protection first (`pvectl api put {} protected=0`)",
                f.volume.volid,
                f.storage,
                storage::volume_path(&f.node, &f.storage, &f.volume.volid)
            ))
            .into());
        }
        found.push(f);
    }
    let items: Vec<String> = found
        .iter()
        .map(|f| format!("{} on {}", f.volume.volid, f.node))
        .collect();
    ctx.confirm(
        &format!("Delete {} backup{}?", found.len(), plural(found.len())),
        &items,
        a.yes,
    )?;
    let session = Session::new(&ctx.out, &client, timeout);
    let work = async {
        let mut results = vec![];
        for f in &found {
            let mut r = ActionResult::new(f.volume.volid.clone(), f.node.clone(), "delete");
            r.vmid = f.volume.vmid;
            r.volid = Some(f.volume.volid.clone());
            let answer =
                storage::delete_volume(&client, &f.node, &f.storage, &f.volume.volid).await;
            results.push(session.settle(answer, r, "deleted", a.wait.no_wait).await);
        }
        results
    };
    session.finish(work, a.wait.no_wait).await
}
