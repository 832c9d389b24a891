//! `/nodes/{node}/vzdump…`: backups. vzdump is node-local: PVE backs up only the guests on the
//! node the request goes to. `log` reads what its task log says about each guest.

pub mod log;

use serde_json::Value;

use super::nodes;
use super::upid::Upid;
use super::{ApiError, Client, Params};

/// What `POST /nodes/{node}/vzdump` answered.
#[derive(Debug, Clone)]
pub enum Started {
    /// A `vzdump` task.
    Task(Upid),
    /// No task: PVE answers a plain string (`"OK"`) when none of the guests is on that node.
    Nothing(Value),
}

/// `POST /nodes/{node}/vzdump` with vzdump's own parameters (`vmid`, `storage`, `mode`…).
pub async fn start(client: &Client, node: &str, params: &Params) -> Result<Started, ApiError> {
    let answer: Value = client
        .post(&format!("{}/vzdump", nodes::path(node)), params)
        .await?;
    Ok(match answer.as_str().and_then(|s| s.parse::<Upid>().ok()) {
        Some(upid) => Started::Task(upid),
        None => Started::Nothing(answer),
    })
}

/// `GET /nodes/{node}/vzdump/defaults`: the node's vzdump.conf (with `storage`, PVE's check that
/// the storage exists and takes backups: 500 otherwise).
pub async fn defaults(
    client: &Client,
    node: &str,
    storage: Option<&str>,
) -> Result<Value, ApiError> {
    client
        .get(
            &format!("{}/vzdump/defaults", nodes::path(node)),
            &Params::new().opt("storage", storage),
        )
        .await
}

/// `GET /nodes/{node}/vzdump/extractconfig`: the guest configuration stored in a backup, as text.
pub async fn extract_config(client: &Client, node: &str, volid: &str) -> Result<String, ApiError> {
    let config: Value = client
        .get(
            &format!("{}/vzdump/extractconfig", nodes::path(node)),
            &Params::new().set("volume", volid),
        )
        .await?;
    Ok(config.as_str().unwrap_or_default().to_string())
}

/// Kind and VMID from a backup volume ID: `…:backup/vzdump-qemu-100-….vma.zst`, or a Proxmox
/// Backup Server `…:backup/vm/100/2026-…Z` / `ct/…`.
pub fn archive_identity(volid: &str) -> Option<(super::GuestKind, u32)> {
    use super::GuestKind;
    let (_, name) = volid.split_once(':')?;
    let name = name.strip_prefix("backup/").unwrap_or(name);
    if let Some(rest) = name.strip_prefix("vzdump-") {
        let (kind, rest) = rest.split_once('-')?;
        let (id, _) = rest.split_once('-')?;
        let kind = match kind {
            "qemu" => GuestKind::Qemu,
            "lxc" | "openvz" => GuestKind::Lxc,
            _ => return None,
        };
        return Some((kind, id.parse().ok()?));
    }
    let mut parts = name.split('/');
    let kind = match parts.next()? {
        "vm" => GuestKind::Qemu,
        "ct" => GuestKind::Lxc,
        _ => return None,
    };
    Some((kind, parts.next()?.parse().ok()?))
}

/// A container's configuration has a `rootfs`; a VM's has none.
pub fn config_is_container(config: &str) -> bool {
    config.lines().any(|l| l.starts_with("rootfs:"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::GuestKind;

    #[test]
    fn archive_names() {
        assert_eq!(
            archive_identity("local:backup/vzdump-qemu-100-2026_05_04-10_00_01.vma.zst"),
            Some((GuestKind::Qemu, 100))
        );
        assert_eq!(
            archive_identity("nfs:backup/vzdump-lxc-2001-2026_05_04-10_00_01.tar.gz"),
            Some((GuestKind::Lxc, 2001))
        );
        assert_eq!(
            archive_identity("pbs:backup/ct/105/2026-05-04T10:00:01Z"),
            Some((GuestKind::Lxc, 105))
        );
        assert_eq!(archive_identity("local:iso/debian.iso"), None);
        assert_eq!(archive_identity("nocolon"), None);
    }
}
