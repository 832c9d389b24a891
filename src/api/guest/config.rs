//! A guest's configuration: whether a key is one of its kind's (`keys`), reading it with its digest,
//! writing it with the digest guard, pending changes, and the container mount points in it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::super::de::{self, text};
use super::super::propstring::PropString;
use super::super::{ApiError, Client, Params};
use super::{GuestKind, Located};

/// Whether `key` is a configuration key of this kind (`[n]` families are matched by prefix and
/// number: `net0`…`net31`); the table is `keys`.
pub fn known_key(kind: GuestKind, key: &str) -> bool {
    super::keys::known(kind, key)
}

/// `vmstate` is no settable key, but deleting it drops a hibernated VM's saved state.
pub fn deletable_key(kind: GuestKind, key: &str) -> bool {
    known_key(kind, key) || (kind == GuestKind::Qemu && key == "vmstate")
}

/// A configuration as `GET …/config` returns it: keys and values, and the `digest`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Config(pub BTreeMap<String, Value>);

impl Config {
    /// The SHA1 of the file: sent back with a change, PVE refuses it if the file changed since.
    pub fn digest(&self) -> Option<&str> {
        self.0.get("digest").and_then(Value::as_str)
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    /// A value as text (numbers and booleans as PVE wrote them).
    pub fn text(&self, key: &str) -> Option<String> {
        self.0.get(key).map(text)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// The volumes of the configuration that live on a storage (disks, CD-ROM images, container
    /// root and mount points, unused volumes) as (key, volume ID, is a CD-ROM), and what only
    /// this node has (a device passed through, a host path bind-mounted), which keeps a guest on
    /// its node.
    pub fn volumes(&self, kind: GuestKind) -> (Vec<(String, String, bool)>, Vec<String>) {
        let mut volumes = vec![];
        let mut devices = vec![];
        for (key, value) in &self.0 {
            let Some(text) = value.as_str() else { continue };
            let default_key = match (kind, key.as_str()) {
                (GuestKind::Lxc, "rootfs") => "volume",
                (GuestKind::Lxc, k) if mp_index(k).is_some() || k.starts_with("unused") => "volume",
                (GuestKind::Qemu, k) if is_qemu_drive(k) => "file",
                _ => continue,
            };
            let Ok(prop) = PropString::parse(text, Some(default_key)) else {
                continue;
            };
            let Some(volume) = prop.get(default_key) else {
                continue;
            };
            if volume.starts_with('/') {
                // A device, or a host path bind-mounted into a container: on this node only,
                // unless a container's mount point says the path is on every node.
                let everywhere = prop
                    .get("shared")
                    .is_some_and(|v| matches!(v, "1" | "on" | "yes" | "true"));
                if volume.starts_with("/dev/") || !everywhere {
                    devices.push(volume.to_string());
                }
            } else if volume.contains(':') {
                let cdrom = prop.get("media") == Some("cdrom");
                volumes.push((key.clone(), volume.to_string(), cdrom));
            }
        }
        (volumes, devices)
    }

    /// A container's mount points (`mpN`), by index.
    pub fn mount_points(&self) -> Vec<(u32, PropString)> {
        let mut mps: Vec<(u32, PropString)> = self
            .0
            .iter()
            .filter_map(|(k, v)| {
                let n = mp_index(k)?;
                Some((n, PropString::parse(v.as_str()?, Some("volume")).ok()?))
            })
            .collect();
        mps.sort_by_key(|(n, _)| *n);
        mps
    }
}

/// A QEMU disk key: `scsi0`, `virtio3`, `ide2`, `sata1`, `efidisk0`, `tpmstate0`, `unused0`.
fn is_qemu_drive(key: &str) -> bool {
    ["ide", "sata", "scsi", "virtio", "unused"]
        .iter()
        .any(|p| known_key(GuestKind::Qemu, key) && key.starts_with(p))
        || key == "efidisk0"
        || key == "tpmstate0"
}

/// The boolean keys of a mount point's property string (pve-container's `$mp_desc`).
const MOUNT_FLAGS: &[&str] = &[
    "acl",
    "backup",
    "keepattrs",
    "quota",
    "replicate",
    "ro",
    "shared",
];

/// A mount point as PVE decodes its property string: the keys as written, booleans as 0/1 (PVE
/// reads `on`, `yes`, `true` as 1), everything else as text (`size` stays `4G`).
pub fn mount_point_fields(ps: &PropString) -> serde_json::Map<String, Value> {
    ps.iter()
        .map(|(k, v)| {
            let value = match MOUNT_FLAGS.contains(&k).then(|| ps.flag(k)).flatten() {
                Some(b) => Value::from(u8::from(b)),
                None => Value::from(v),
            };
            (k.to_string(), value)
        })
        .collect()
}

/// `mp7` → 7.
pub fn mp_index(key: &str) -> Option<u32> {
    key.strip_prefix("mp")?.parse().ok()
}

/// What a mount point's `volume` is: a storage volume, a host path (bind mount) or a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MountKind {
    Volume,
    Bind,
    Device,
}

impl MountKind {
    pub fn of(volume: &str) -> Self {
        if volume.starts_with("/dev/") {
            MountKind::Device
        } else if volume.starts_with('/') {
            MountKind::Bind
        } else {
            MountKind::Volume
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MountKind::Volume => "volume",
            MountKind::Bind => "bind",
            MountKind::Device => "device",
        }
    }
}

/// Why a path cannot be a mount point inside a container (PVE's rule: absolute, no `.`/`..`).
pub fn mount_path_problem(path: &str) -> Option<&'static str> {
    if !path.starts_with('/') {
        return Some("must be absolute, e.g. /srv/data");
    }
    if path.split('/').any(|c| c == "." || c == "..") {
        return Some("must not contain '.' or '..'");
    }
    None
}

/// Two paths inside a container name the same place (trailing slashes aside).
pub fn same_path(a: &str, b: &str) -> bool {
    let norm = |p: &str| {
        let t = p.trim_end_matches('/');
        if t.is_empty() {
            "/".to_string()
        } else {
            t.to_string()
        }
    };
    norm(a) == norm(b)
}

/// One entry of `GET …/{vmid}/pending`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingEntry {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Value>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_u64"
    )]
    pub delete: Option<u64>,
}

impl PendingEntry {
    /// A change that waits for the next restart (a new value or a deletion).
    pub fn waiting(&self) -> bool {
        self.pending.is_some() || self.delete.is_some()
    }
}

/// `GET …/config`.
pub async fn get(client: &Client, g: &impl Located) -> Result<Config, ApiError> {
    client
        .get(&format!("{}/config", g.path()), &Params::new())
        .await
}

/// `GET …/pending`.
pub async fn pending(client: &Client, g: &impl Located) -> Result<Vec<PendingEntry>, ApiError> {
    client
        .get(&format!("{}/pending", g.path()), &Params::new())
        .await
}

/// Change the configuration (keys, `delete`, `revert`, `digest`): QEMU through the task endpoint
/// (`POST`, answers a `qmconfig` UPID), LXC through the synchronous one (`PUT`, answers null).
pub async fn write(client: &Client, g: &impl Located, params: &Params) -> Result<Value, ApiError> {
    let path = format!("{}/config", g.path());
    match g.kind() {
        GuestKind::Qemu => client.post(&path, params).await,
        GuestKind::Lxc => client.put(&path, params).await,
    }
}

/// Change the configuration synchronously (`PUT`, both kinds): for keys that touch no disk, such
/// as `tags`, which a running VM takes at once.
pub async fn write_now(client: &Client, g: &impl Located, params: &Params) -> Result<(), ApiError> {
    let _: Value = client.put(&format!("{}/config", g.path()), params).await?;
    Ok(())
}

/// PVE's answer when the digest sent is stale: someone changed the configuration since it was
/// read. QEMU and LXC word it differently (and older QEMU spelled it "missmatch").
pub fn is_stale_digest(message: &str) -> bool {
    message.contains("checksum mismatch")
        || message.contains("checksum missmatch")
        || message.contains("file changed by other user")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_per_kind() {
        for k in [
            "memory", "net0", "scsi30", "unused7", "ide2", "virtio15", "efidisk0",
        ] {
            assert!(known_key(GuestKind::Qemu, k), "{k}");
        }
        for k in [
            "scsi31", "net01", "mp0", "rootfs", "hostname", "bogus", "net",
        ] {
            assert!(!known_key(GuestKind::Qemu, k), "{k}");
        }
        for k in ["mp0", "mp255", "rootfs", "hostname", "swap", "dev3", "net5"] {
            assert!(known_key(GuestKind::Lxc, k), "{k}");
        }
        assert!(!known_key(GuestKind::Lxc, "mp256"));
        assert!(deletable_key(GuestKind::Qemu, "vmstate"));
        assert!(!deletable_key(GuestKind::Lxc, "vmstate"));
    }

    #[test]
    fn volumes_of_both_kinds() {
        let vm: Config = serde_json::from_value(serde_json::json!({
            "scsi0": "local-lvm:vm-100-disk-0,size=32G",
            "ide2": "local:iso/debian.iso,media=cdrom",
            "ide0": "none,media=cdrom",
            "efidisk0": "nfs:100/vm-100-disk-1.qcow2,size=4M",
            "unused0": "local-lvm:vm-100-disk-9",
            "sata1": "/dev/disk/by-id/ata-X",
            "net0": "virtio=AA:BB:CC:DD:EE:FF,bridge=vmbr0",
        }))
        .unwrap();
        let (volumes, local) = vm.volumes(GuestKind::Qemu);
        let ids: Vec<(&str, bool)> = volumes.iter().map(|(_, v, c)| (v.as_str(), *c)).collect();
        assert_eq!(
            ids,
            vec![
                ("nfs:100/vm-100-disk-1.qcow2", false),
                ("local:iso/debian.iso", true),
                ("local-lvm:vm-100-disk-0", false),
                ("local-lvm:vm-100-disk-9", false),
            ]
        );
        assert_eq!(local, vec!["/dev/disk/by-id/ata-X"]);
        let ct: Config = serde_json::from_value(serde_json::json!({
            "rootfs": "local-lvm:vm-101-disk-0,size=8G",
            "mp0": "/srv/share,mp=/share,shared=1",
            "mp1": "/tank/media,mp=/media",
            "mp2": "nfs:101/vm-101-disk-1.raw,mp=/data",
        }))
        .unwrap();
        let (volumes, local) = ct.volumes(GuestKind::Lxc);
        assert_eq!(volumes.len(), 2);
        assert_eq!(local, vec!["/tank/media"]);
    }

    #[test]
    fn mount_point_fields_as_pve_decodes_them() {
        let ps = PropString::parse(
            "local-lvm:vm-200-disk-1,mp=/srv/a,backup=on,ro=0,size=4G,mountoptions=noatime",
            Some("volume"),
        )
        .unwrap();
        assert_eq!(
            Value::Object(mount_point_fields(&ps)),
            serde_json::json!({"volume": "local-lvm:vm-200-disk-1", "mp": "/srv/a", "backup": 1,
                               "ro": 0, "size": "4G", "mountoptions": "noatime"})
        );
    }

    #[test]
    fn mount_paths_and_kinds() {
        assert!(mount_path_problem("/srv/data").is_none());
        assert!(mount_path_problem("srv").is_some());
        assert!(mount_path_problem("/srv/../etc").is_some());
        assert!(same_path("/srv/", "/srv"));
        assert_eq!(MountKind::of("/dev/sdb"), MountKind::Device);
        assert_eq!(MountKind::of("/mnt/host"), MountKind::Bind);
        assert_eq!(MountKind::of("local-lvm:vm-101-disk-1"), MountKind::Volume);
    }

    #[test]
    fn stale_digest_in_every_wording() {
        for m in [
            "checksum mismatch (file change by other user?)",
            "checksum missmatch (file change by other user?)",
            "detected modified configuration - file changed by other user? Try again.",
        ] {
            assert!(is_stale_digest(m), "{m}");
        }
        assert!(!is_stale_digest("CT is locked (backup)"));
    }
}
