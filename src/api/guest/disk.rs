//! A guest's disks: the drive keys of each kind and their buses, PVE's disk-size strings, and the
//! endpoints that grow, move and detach them (QEMU `resize`, `move_disk`, `unlink`; LXC `resize`,
//! `move_volume`). Importing an image is a configuration change (`STORAGE:0,import-from=…`).

use serde_json::Value;

use super::super::propstring::PropString;
use super::super::{ApiError, Client, Params};
use super::config::Config;
use super::{GuestKind, Located};

/// QEMU's disk buses and how many slots each has (`ide0`…`ide3`, `sata0`…`sata5`, …).
pub const QEMU_BUSES: &[(&str, u32)] = &[("ide", 4), ("sata", 6), ("scsi", 31), ("virtio", 16)];

/// Disk keys that are no bus slot.
const QEMU_SINGLE: &[&str] = &["efidisk0", "tpmstate0"];

/// `scsi3` → (`scsi`, 3).
fn split_key(key: &str) -> Option<(&str, u32)> {
    let digits = key.find(|c: char| c.is_ascii_digit())?;
    let (prefix, n) = key.split_at(digits);
    if n.len() > 1 && n.starts_with('0') {
        return None;
    }
    Some((prefix, n.parse().ok()?))
}

/// The bus of a QEMU disk key (`scsi`, `virtio`, `sata`, `ide`), `efidisk`/`tpmstate`, `unused`,
/// or for a container `rootfs`, `mp`, `unused`. `None` when `key` is no disk key of the kind.
pub fn bus_of(kind: GuestKind, key: &str) -> Option<&'static str> {
    if let Some(single) = QEMU_SINGLE.iter().find(|k| **k == key) {
        return (kind == GuestKind::Qemu).then(|| single.trim_end_matches('0'));
    }
    if kind == GuestKind::Lxc && key == "rootfs" {
        return Some("rootfs");
    }
    let (prefix, n) = split_key(key)?;
    if prefix == "unused" {
        return (n < 256).then_some("unused");
    }
    match kind {
        GuestKind::Qemu => QEMU_BUSES
            .iter()
            .find(|(bus, max)| *bus == prefix && n < *max)
            .map(|(bus, _)| *bus),
        GuestKind::Lxc => (prefix == "mp" && n < 256).then_some("mp"),
    }
}

/// Whether `key` names a disk (or mount point) of this kind.
pub fn is_disk_key(kind: GuestKind, key: &str) -> bool {
    bus_of(kind, key).is_some()
}

/// One disk of a configuration: its key and its property string.
#[derive(Debug, Clone)]
pub struct Drive {
    pub key: String,
    pub props: PropString,
}

impl Drive {
    /// Parse a disk value: QEMU's default key is `file`, a container's `volume`.
    pub fn parse(kind: GuestKind, key: &str, value: &str) -> Option<Drive> {
        let default = match kind {
            GuestKind::Qemu => "file",
            GuestKind::Lxc => "volume",
        };
        let mut props = PropString::parse(value, Some(default)).ok()?;
        // QEMU also accepts `volume=` for the file.
        if kind == GuestKind::Qemu && props.get("file").is_none() {
            if let Some(v) = props.remove("volume") {
                props.set("file", v);
            }
        }
        Some(Drive {
            key: key.to_string(),
            props,
        })
    }

    /// The volume ID (`local-lvm:vm-100-disk-0`), a path, or `none`/`cdrom`.
    pub fn volume(&self) -> &str {
        self.props
            .get("file")
            .or_else(|| self.props.get("volume"))
            .unwrap_or_default()
    }

    /// The storage of the volume, when it is a volume ID.
    pub fn storage(&self) -> Option<&str> {
        let v = self.volume();
        if v.starts_with('/') {
            return None;
        }
        v.split_once(':').map(|(s, _)| s)
    }

    /// A CD-ROM drive (an ISO, `none`, or the cloud-init drive).
    pub fn is_cdrom(&self) -> bool {
        self.props.get("media") == Some("cdrom") || self.volume() == "cdrom"
    }

    /// PVE's cloud-init drive: `STORAGE:vm-100-cloudinit` (or `…/vm-100-cloudinit.qcow2`).
    pub fn is_cloudinit(&self) -> bool {
        is_cloudinit_volume(self.volume())
    }

    /// The size PVE recorded (`size=32G`), in bytes.
    pub fn size(&self) -> Option<u64> {
        self.props.get("size").and_then(parse_size)
    }

    /// The image format: `format=`, else what the volume name says (file storages name volumes
    /// `….qcow2`/`.raw`/`.vmdk`; `subvol-…` is a container directory; a bare name lives on a block
    /// storage, always raw). `None` for paths and keywords.
    pub fn format(&self) -> Option<String> {
        if let Some(f) = self.props.get("format") {
            return Some(f.to_string());
        }
        let (_, name) = self.volume().split_once(':')?;
        let base = name.rsplit('/').next().unwrap_or(name);
        if let Some((_, ext)) = base.rsplit_once('.') {
            return matches!(ext, "qcow2" | "raw" | "vmdk" | "subvol").then(|| ext.to_string());
        }
        Some(
            if base.starts_with("subvol-") || base.starts_with("basevol-") {
                "subvol".to_string()
            } else {
                "raw".to_string()
            },
        )
    }
}

/// A volume is a cloud-init drive (PVE's `drive_is_cloudinit`).
pub fn is_cloudinit_volume(volume: &str) -> bool {
    let Some(pos) = volume.rfind([':', '/']) else {
        return false;
    };
    let name = &volume[pos + 1..];
    let name = name
        .strip_suffix(".qcow2")
        .or_else(|| name.strip_suffix(".raw"))
        .or_else(|| name.strip_suffix(".vmdk"))
        .unwrap_or(name);
    let name = match name.strip_prefix("vm-") {
        Some(rest) => match rest.split_once('-') {
            Some((id, tail)) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => tail,
            _ => return false,
        },
        None => name,
    };
    name == "cloudinit"
}

/// Order of disk keys as PVE lists them: rootfs, then by bus and number.
fn natural(key: &str) -> (u8, String, u32) {
    if key == "rootfs" {
        return (0, String::new(), 0);
    }
    match split_key(key) {
        Some((p, n)) => (1 + u8::from(p == "unused"), p.to_string(), n),
        None => (1, key.to_string(), 0),
    }
}

/// The disks of a configuration (unused volumes last), in PVE's order.
pub fn drives(kind: GuestKind, cfg: &Config) -> Vec<Drive> {
    let mut out: Vec<Drive> = cfg
        .0
        .iter()
        .filter(|(k, _)| is_disk_key(kind, k))
        .filter_map(|(k, v)| Drive::parse(kind, k, v.as_str()?))
        .collect();
    out.sort_by_key(|d| natural(&d.key));
    out
}

/// The first free slot of a bus (`scsi1` when `scsi0` is taken); `None` when all are in use.
pub fn next_free(kind: GuestKind, cfg: &Config, bus: &str) -> Option<String> {
    let max = match (kind, bus) {
        (GuestKind::Lxc, "mp") | (_, "unused") => 256,
        (GuestKind::Qemu, _) => QEMU_BUSES.iter().find(|(b, _)| *b == bus)?.1,
        _ => return None,
    };
    (0..max)
        .map(|n| format!("{bus}{n}"))
        .find(|k| !cfg.contains(k))
}

/// The first free slot for a cloud-init drive: `ide2` as PVE's own tools use, then the other IDE
/// slots, then SATA.
pub fn free_cloudinit_slot(cfg: &Config) -> Option<String> {
    ["ide2", "ide0", "ide1", "ide3"]
        .into_iter()
        .map(str::to_string)
        .chain((0..6).map(|n| format!("sata{n}")))
        .find(|k| !cfg.contains(k))
}

// ------------------------------------------------------------------------------------ sizes

/// PVE's disk-size string (`32G`, `1.5T`, `4096K`; a bare number is bytes) in bytes.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, unit) = match text.chars().last()? {
        c @ ('K' | 'M' | 'G' | 'T') => (&text[..text.len() - 1], Some(c)),
        _ => (text, None),
    };
    if number.is_empty()
        || !number.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        || number.starts_with('.')
        || number.ends_with('.')
        || number.matches('.').count() > 1
    {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    let factor = match unit {
        None => 1.0,
        Some('K') => 1024.0,
        Some('M') => 1024.0 * 1024.0,
        Some('G') => 1024.0 * 1024.0 * 1024.0,
        _ => 1024.0 * 1024.0 * 1024.0 * 1024.0,
    };
    let bytes = value * factor;
    (bytes.is_finite() && bytes < u64::MAX as f64).then_some(bytes as u64)
}

/// Bytes as PVE prints a disk size: the largest unit that divides it (`32G`, `1536M`), else bytes.
pub fn format_size(bytes: u64) -> String {
    for (unit, factor) in [
        ("T", 1u64 << 40),
        ("G", 1 << 30),
        ("M", 1 << 20),
        ("K", 1 << 10),
    ] {
        if bytes >= factor && bytes % factor == 0 {
            return format!("{}{unit}", bytes / factor);
        }
    }
    bytes.to_string()
}

/// A size asked for: grow by (`+10G`) or set to (`64G`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeRequest {
    Grow(u64),
    Set(u64),
}

impl SizeRequest {
    /// Parse `+10G` or `64G` as PVE's resize takes them.
    pub fn parse(text: &str) -> Option<SizeRequest> {
        let text = text.trim();
        match text.strip_prefix('+') {
            Some(rest) => parse_size(rest).map(SizeRequest::Grow),
            None => parse_size(text).map(SizeRequest::Set),
        }
    }

    /// The size a disk of `current` bytes would get.
    pub fn target(self, current: u64) -> u64 {
        match self {
            SizeRequest::Grow(n) => current.saturating_add(n),
            SizeRequest::Set(n) => n,
        }
    }
}

// ------------------------------------------------------------------------------- endpoints

/// `PUT …/resize` (`disk`, `size` as `+10G` or `64G`, `digest`): a UPID (`resize`) for both
/// kinds. PVE only grows disks: QEMU refuses to shrink inside the task, LXC synchronously.
pub async fn resize(
    client: &Client,
    g: &impl Located,
    disk: &str,
    size: &str,
    digest: Option<&str>,
) -> Result<Value, ApiError> {
    let params = Params::new()
        .set("disk", disk)
        .set("size", size)
        .opt("digest", digest);
    client.put(&format!("{}/resize", g.path()), &params).await
}

/// Where a disk goes: another storage (optionally converted), or another guest of the same kind
/// on the same node.
#[derive(Debug, Clone, Default)]
pub struct MoveOptions {
    pub storage: Option<String>,
    /// VMs only: raw, qcow2 or vmdk.
    pub format: Option<String>,
    /// Delete the source after a successful copy (otherwise it stays as `unusedN`).
    pub delete: bool,
    pub target_vmid: Option<u32>,
    /// The key on the target guest (PVE's default: the source key).
    pub target_key: Option<String>,
    /// KiB/s.
    pub bwlimit: Option<u64>,
    pub digest: Option<String>,
    pub target_digest: Option<String>,
}

/// QEMU `POST …/move_disk` (`disk`, `target-disk`) or LXC `POST …/move_volume` (`volume`,
/// `target-volume`): a UPID (`qmmove`, `move_volume`).
pub async fn move_to(
    client: &Client,
    g: &impl Located,
    key: &str,
    o: &MoveOptions,
) -> Result<Value, ApiError> {
    let (endpoint, source_key, target_key) = match g.kind() {
        GuestKind::Qemu => ("move_disk", "disk", "target-disk"),
        GuestKind::Lxc => ("move_volume", "volume", "target-volume"),
    };
    let params = Params::new()
        .set(source_key, key)
        .opt("storage", o.storage.as_deref())
        .opt("format", o.format.as_deref())
        .flag_if("delete", o.delete)
        .opt("target-vmid", o.target_vmid)
        .opt(target_key, o.target_key.as_deref())
        .opt("bwlimit", o.bwlimit)
        .opt("digest", o.digest.as_deref())
        .opt("target-digest", o.target_digest.as_deref());
    client
        .post(&format!("{}/{endpoint}", g.path()), &params)
        .await
}

/// QEMU `PUT …/unlink`: detach disks (they stay as `unusedN`), or with `force` destroy their
/// volumes. Synchronous (null).
pub async fn unlink(
    client: &Client,
    g: &impl Located,
    keys: &[String],
    force: bool,
) -> Result<(), ApiError> {
    let params = Params::new()
        .set("idlist", keys.join(","))
        .flag_if("force", force);
    let _: Value = client.put(&format!("{}/unlink", g.path()), &params).await?;
    Ok(())
}

/// The value of a disk key that imports `source` (a volume ID or an absolute path) onto
/// `storage`: PVE's special syntax `STORAGE:0,import-from=SOURCE`.
pub fn import_value(storage: &str, source: &str, format: Option<&str>) -> String {
    let mut v = format!("{storage}:0,import-from={source}");
    if let Some(f) = format {
        v.push_str(&format!(",format={f}"));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cfg(v: serde_json::Value) -> Config {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn keys_and_buses() {
        assert_eq!(bus_of(GuestKind::Qemu, "scsi30"), Some("scsi"));
        assert_eq!(bus_of(GuestKind::Qemu, "scsi31"), None);
        assert_eq!(bus_of(GuestKind::Qemu, "ide3"), Some("ide"));
        assert_eq!(bus_of(GuestKind::Qemu, "sata6"), None);
        assert_eq!(bus_of(GuestKind::Qemu, "efidisk0"), Some("efidisk"));
        assert_eq!(bus_of(GuestKind::Qemu, "unused12"), Some("unused"));
        assert_eq!(bus_of(GuestKind::Qemu, "scsi01"), None);
        assert_eq!(bus_of(GuestKind::Qemu, "net0"), None);
        assert_eq!(bus_of(GuestKind::Qemu, "rootfs"), None);
        assert_eq!(bus_of(GuestKind::Lxc, "rootfs"), Some("rootfs"));
        assert_eq!(bus_of(GuestKind::Lxc, "mp255"), Some("mp"));
        assert_eq!(bus_of(GuestKind::Lxc, "scsi0"), None);
        assert_eq!(bus_of(GuestKind::Lxc, "efidisk0"), None);
    }

    #[test]
    fn sizes_as_pve_writes_them() {
        assert_eq!(parse_size("32G"), Some(32 << 30));
        assert_eq!(parse_size("1.5T"), Some(3 << 39));
        assert_eq!(parse_size("4096K"), Some(4 << 20));
        assert_eq!(parse_size("1048576"), Some(1 << 20));
        for bad in ["", "G", "1.G", "-1G", "12X", "1..5G", "abc"] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
        assert_eq!(format_size(32 << 30), "32G");
        assert_eq!(format_size(1536 << 20), "1536M");
        assert_eq!(format_size(1000), "1000");
        assert_eq!(
            SizeRequest::parse("+10G"),
            Some(SizeRequest::Grow(10 << 30))
        );
        assert_eq!(SizeRequest::parse("64G").unwrap().target(1), 64 << 30);
        assert_eq!(SizeRequest::parse("+2G").unwrap().target(8 << 30), 10 << 30);
        assert_eq!(SizeRequest::parse("+"), None);
    }

    #[test]
    fn drives_in_order_with_their_facts() {
        let c = cfg(json!({
            "scsi10": "local-lvm:vm-100-disk-2,size=4G",
            "scsi2": "local:100/vm-100-disk-1.qcow2,size=8G,backup=0",
            "ide2": "local:iso/debian.iso,media=cdrom",
            "ide0": "local-lvm:vm-100-cloudinit,media=cdrom",
            "unused0": "local-lvm:vm-100-disk-9",
            "net0": "virtio,bridge=vmbr0",
            "memory": "2048",
        }));
        let d = drives(GuestKind::Qemu, &c);
        let keys: Vec<&str> = d.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(keys, ["ide0", "ide2", "scsi2", "scsi10", "unused0"]);
        assert!(d[0].is_cloudinit() && d[0].is_cdrom());
        assert!(d[1].is_cdrom() && !d[1].is_cloudinit());
        assert_eq!(d[2].format().as_deref(), Some("qcow2"));
        assert_eq!(d[2].size(), Some(8 << 30));
        assert_eq!(d[3].format().as_deref(), Some("raw"));
        assert_eq!(d[3].storage(), Some("local-lvm"));
        assert_eq!(
            next_free(GuestKind::Qemu, &c, "scsi").as_deref(),
            Some("scsi0")
        );
        assert_eq!(
            next_free(GuestKind::Qemu, &c, "ide").as_deref(),
            Some("ide1")
        );
        assert_eq!(free_cloudinit_slot(&c).as_deref(), Some("ide1"));
        let ct = cfg(
            json!({"rootfs": "local-lvm:subvol-200-disk-0,size=8G", "mp0": "local:200/vm-200-disk-1.raw,mp=/srv"}),
        );
        let d = drives(GuestKind::Lxc, &ct);
        assert_eq!(d[0].key, "rootfs");
        assert_eq!(d[0].format().as_deref(), Some("subvol"));
        assert_eq!(d[1].volume(), "local:200/vm-200-disk-1.raw");
        assert_eq!(next_free(GuestKind::Lxc, &ct, "mp").as_deref(), Some("mp1"));
    }

    #[test]
    fn cloudinit_volumes() {
        assert!(is_cloudinit_volume("local-lvm:vm-100-cloudinit"));
        assert!(is_cloudinit_volume("local:100/vm-100-cloudinit.qcow2"));
        assert!(is_cloudinit_volume("local-lvm:cloudinit"));
        assert!(!is_cloudinit_volume("local-lvm:vm-100-disk-0"));
        assert!(!is_cloudinit_volume("cloudinit"));
        assert_eq!(
            import_value("local-lvm", "local:import/d.qcow2", None),
            "local-lvm:0,import-from=local:import/d.qcow2"
        );
    }
}
