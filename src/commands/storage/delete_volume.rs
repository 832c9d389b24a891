//! `storage delete-volume`: volumes by volume ID, after asking (or `--yes`). PVE itself deletes
//! a volume that a guest still uses (its web UI is what refuses), so pvectl looks first: the
//! owner guest's configuration for a disk, every VM's for an ISO or a snippet.

use futures_util::future::join_all;

use crate::api::cluster::{self, Resource, ResourceType};
use crate::api::guest::config::{self, Config};
use crate::api::storage::{self, Volume};
use crate::api::{Client, GuestKind};
use crate::cli::DeleteVolumeArgs;
use crate::commands::Ctx;
use crate::error::CliError;
use crate::output::bytes;
use crate::targets::{self, Guest, KindWords};
use crate::task::{ActionResult, Session, LONG_WAIT};

/// A volume found on a node.
struct Found {
    volume: Volume,
    storage: String,
    node: String,
    shared: bool,
}

pub async fn run(ctx: &Ctx, a: DeleteVolumeArgs) -> anyhow::Result<()> {
    let timeout = ctx.wait_limit(a.wait.wait_timeout.as_deref(), LONG_WAIT)?;
    let mut volids: Vec<String> = vec![];
    for v in &a.volids {
        let v = v.trim().to_string();
        if !v.contains(':') || v.starts_with(':') || v.ends_with(':') {
            return Err(CliError::usage(format!(
                "'{v}' is not a volume ID: expected STORAGE:NAME, e.g. local:iso/old.iso (see `pvectl storage content STORAGE`)"
            ))
            .into());
        }
        if !volids.contains(&v) {
            volids.push(v);
        }
    }
    let client = ctx.client()?;
    let stores = cluster::resources(&client, Some(ResourceType::Storage)).await?;
    let mut found = vec![];
    for volid in &volids {
        found.push(locate(&client, &stores, volid, a.node.as_deref()).await?);
    }
    let guests = targets::fetch_from(&targets::fetch_guests(&client).await?);
    for f in &found {
        if let Some((g, key)) = user_of(&client, &guests, f).await? {
            return Err(CliError::refused(format!(
                "{} is in use by {} {} as {key}: nothing was deleted; remove it from that {} first (see `pvectl {} config {}`)",
                f.volume.volid,
                g.kind.noun(),
                g.label(),
                g.kind.noun(),
                g.kind.command(),
                g.vmid
            ))
            .into());
        }
    }
    let items: Vec<String> = found
        .iter()
        .map(|f| {
            let size = f
                .volume
                .extra
                .get("size")
                .and_then(serde_json::Value::as_f64)
                .map(|s| format!(", {}", bytes(s)))
                .unwrap_or_default();
            format!("{} on {}{size}", f.volume.volid, f.node)
        })
        .collect();
    let n = found.len();
    ctx.confirm(
        &format!(
            "Delete {n} volume{} (the data is lost)?",
            if n == 1 { "" } else { "s" }
        ),
        &items,
        a.yes,
    )?;
    let session = Session::new(&ctx.out, &client, timeout);
    let blank = |f: &Found| {
        let mut r = ActionResult::new(f.volume.volid.clone(), f.node.clone(), "delete");
        r.vmid = f.volume.vmid;
        r.volid = Some(f.volume.volid.clone());
        r
    };
    // Ctrl-C still gives every volume its result.
    session.plan(found.iter().map(blank));
    let work = async {
        let mut results = vec![];
        for f in &found {
            let answer =
                storage::delete_volume(&client, &f.node, &f.storage, &f.volume.volid).await;
            let r = session
                .settle(answer, blank(f), "deleted", a.wait.no_wait)
                .await;
            results.push(session.keep(r));
        }
        results
    };
    session.finish(work, a.wait.no_wait).await
}

/// The content type a volume name says (`iso/…`, `vztmpl/…`), to list only that.
fn content_of(volname: &str) -> Option<&'static str> {
    let (dir, _) = volname.split_once('/')?;
    ["iso", "vztmpl", "backup", "snippets", "import"]
        .into_iter()
        .find(|c| *c == dir)
}

/// Find the volume: on a shared storage any node sees it, on a local one the node that has it.
async fn locate(
    client: &Client,
    stores: &[Resource],
    volid: &str,
    node: Option<&str>,
) -> anyhow::Result<Found> {
    let (storage, volname) = volid.split_once(':').unwrap_or((volid, ""));
    let mine: Vec<&Resource> = stores
        .iter()
        .filter(|r| r.storage.as_deref() == Some(storage) && r.node.is_some())
        .collect();
    if mine.is_empty() {
        return Err(CliError::not_found(format!(
            "no storage '{storage}' in the cluster (see `pvectl storage list`)"
        ))
        .into());
    }
    let shared = mine.iter().any(|r| r.shared);
    let mut nodes: Vec<String> = mine.iter().filter_map(|r| r.node.clone()).collect();
    nodes.sort();
    if let Some(n) = node {
        if !nodes.iter().any(|x| x == n) {
            return Err(CliError::not_found(format!(
                "storage '{storage}' is not on node '{n}' (it is on {})",
                nodes.join(", ")
            ))
            .into());
        }
        nodes = vec![n.to_string()];
    } else if shared {
        let up = mine
            .iter()
            .find(|r| r.status.as_deref() == Some("available"))
            .and_then(|r| r.node.clone());
        nodes = up
            .into_iter()
            .chain(nodes.into_iter().take(1))
            .take(1)
            .collect();
    }
    let content = content_of(volname);
    let reads = nodes.iter().map(|n| async move {
        (
            n.clone(),
            storage::content(client, n, storage, content, None).await,
        )
    });
    let mut hits = vec![];
    let mut error = None;
    for (n, r) in join_all(reads).await {
        match r {
            Ok(list) => {
                if let Some(v) = list.into_iter().find(|v| v.volid == volid) {
                    hits.push((n, v));
                }
            }
            Err(e) => error = Some(e),
        }
    }
    match hits.len() {
        1 => {
            let (node, volume) = hits.remove(0);
            Ok(Found {
                volume,
                storage: storage.to_string(),
                node,
                shared,
            })
        }
        0 => match error {
            Some(e) => Err(anyhow::Error::from(e).context(format!(
                "{volid} was not found on the nodes that could be read"
            ))),
            None => Err(CliError::not_found(format!(
                "no volume {volid} (see `pvectl storage content {storage}`)"
            ))
            .into()),
        },
        _ => {
            let on: Vec<&str> = hits.iter().map(|(n, _)| n.as_str()).collect();
            Err(CliError::usage(format!(
                "{volid} exists on {} (each node has its own '{storage}'): say which with --node",
                on.join(" and ")
            ))
            .into())
        }
    }
}

/// The guest whose configuration refers to the volume, and the key it does so under.
async fn user_of(
    client: &Client,
    guests: &[Guest],
    f: &Found,
) -> anyhow::Result<Option<(Guest, String)>> {
    let volid = f.volume.volid.as_str();
    let kind = f.volume.content.as_deref().unwrap_or_default();
    let candidates: Vec<&Guest> = match kind {
        // A disk belongs to its owner.
        "images" | "rootdir" => guests
            .iter()
            .filter(|g| Some(g.vmid) == f.volume.vmid)
            .collect(),
        // An ISO can be in any VM's CD drive, a snippet in any VM's cicustom; a local storage is
        // only seen by the guests of its node.
        "iso" | "snippets" => guests
            .iter()
            .filter(|g| g.kind == GuestKind::Qemu && (f.shared || g.node == f.node))
            .collect(),
        _ => vec![],
    };
    let reads = candidates
        .iter()
        .map(|g| async move { ((*g).clone(), config::get(client, *g).await) });
    for (g, cfg) in join_all(reads).await {
        if let Some(key) = cfg.ok().and_then(|c| refers_to(&c, volid)) {
            return Ok(Some((g, key)));
        }
    }
    Ok(None)
}

/// The key of a configuration that names the volume (`scsi0`, `ide2`, `unused1`, `cicustom`…).
fn refers_to(cfg: &Config, volid: &str) -> Option<String> {
    cfg.0.iter().find_map(|(k, v)| {
        let text = v.as_str()?;
        text.split(',')
            .any(|item| item == volid || item.split_once('=').is_some_and(|(_, x)| x == volid))
            .then(|| k.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_in_a_configuration() {
        let cfg: Config = serde_json::from_value(json!({
            "ide2": "local:iso/debian.iso,media=cdrom",
            "scsi0": "file=local-lvm:vm-100-disk-0,size=8G",
            "cicustom": "user=local:snippets/u.yaml",
            "unused0": "local-lvm:vm-100-disk-3",
        }))
        .unwrap();
        assert_eq!(
            refers_to(&cfg, "local:iso/debian.iso").as_deref(),
            Some("ide2")
        );
        assert_eq!(
            refers_to(&cfg, "local-lvm:vm-100-disk-0").as_deref(),
            Some("scsi0")
        );
        assert_eq!(
            refers_to(&cfg, "local:snippets/u.yaml").as_deref(),
            Some("cicustom")
        );
        assert_eq!(
            refers_to(&cfg, "local-lvm:vm-100-disk-3").as_deref(),
            Some("unused0")
        );
        assert_eq!(refers_to(&cfg, "local:iso/other.iso"), None);
    }
}
