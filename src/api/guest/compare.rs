//! How PVE writes a configuration value back, as opposed to how it was given, so that a value in a
//! file can be compared with the guest's: keys PVE shows but does not take, keys it fills in when
//! it creates a guest, values it hides, and the parts of a value it adds itself (a NIC's MAC
//! address, a new disk's volume name and size, `type=veth` of a container NIC) or sorts (tags).

use std::collections::BTreeMap;

use super::super::propstring::PropString;
use super::disk::{self, parse_size};
use super::GuestKind;

/// What PVE shows for a value it hides (`cipassword` of a VM).
pub const HIDDEN: &str = "**********";

/// QEMU's NIC models: `MODEL[=MAC]` is the first item of a `netN` value.
const NET_MODELS: &[&str] = &[
    "e1000",
    "e1000-82540em",
    "e1000-82544gc",
    "e1000-82545em",
    "e1000e",
    "i82551",
    "i82557b",
    "i82559er",
    "ne2k_isa",
    "ne2k_pci",
    "pcnet",
    "rtl8139",
    "virtio",
    "vmxnet3",
];

/// Keys a configuration shows that are PVE's own bookkeeping, never set through it: the digest,
/// a lock, snapshot state, the machine a running VM started with, detached volumes (`unusedN`,
/// which only PVE adds and whose removal destroys the volume) and a container's raw `lxc.*` lines.
pub fn read_only(kind: GuestKind, key: &str) -> bool {
    const BOTH: &[&str] = &["digest", "lock", "parent", "snaptime", "snapstate"];
    const QEMU: &[&str] = &[
        "meta",
        "vmstate",
        "runningmachine",
        "runningcpu",
        "running-nets-host-mtu",
    ];
    BOTH.contains(&key)
        || (kind == GuestKind::Qemu && QEMU.contains(&key))
        || (kind == GuestKind::Lxc && key == "lxc")
        || key
            .strip_prefix("unused")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Keys whose value PVE never shows (it shows `HIDDEN` when one is set).
pub fn hidden(kind: GuestKind, key: &str) -> bool {
    kind == GuestKind::Qemu && key == "cipassword"
}

/// Keys PVE fills in itself when it creates a guest, which a file written by hand leaves out:
/// a VM's boot order, SMBIOS UUID, generation ID and (Windows) pinned machine type; a container's
/// architecture and OS type (from its template), hostname, memory, swap, root disk and
/// `unprivileged`.
pub fn filled_on_create(kind: GuestKind, key: &str) -> bool {
    match kind {
        GuestKind::Qemu => matches!(key, "boot" | "smbios1" | "vmgenid" | "machine"),
        GuestKind::Lxc => matches!(
            key,
            "arch" | "ostype" | "hostname" | "memory" | "swap" | "rootfs" | "unprivileged"
        ),
    }
}

/// How a wanted value compares with the guest's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sameness {
    Same,
    /// The same as far as a configuration change goes, with something to say (a disk whose size
    /// differs: a size is no configuration change).
    SameBut(String),
    Different,
}

/// Whether `wanted` (as a file gives it) is what the guest has (`current`, as PVE shows it).
pub fn compare(kind: GuestKind, key: &str, wanted: &str, current: &str) -> Sameness {
    if wanted == current {
        return Sameness::Same;
    }
    if key == "tags" {
        return same_if(tags(wanted) == tags(current));
    }
    if key == "description" {
        // PVE keeps the description as comment lines and gives it back without trailing blanks.
        return same_if(wanted.trim_end() == current.trim_end());
    }
    if is_net(key) {
        let w = nic(kind, wanted);
        let c = nic(kind, current).map(|c| with_defaults(c, &w));
        return same_if(w.is_some() && w == c);
    }
    if is_disk(kind, key) {
        return disk_compare(kind, key, wanted, current);
    }
    same_if(same_scalar(wanted, current))
}

fn same_if(same: bool) -> Sameness {
    if same {
        Sameness::Same
    } else {
        Sameness::Different
    }
}

/// `2` and `2.0`, `1` and `yes`: one value written two ways.
fn same_scalar(a: &str, b: &str) -> bool {
    if let (Ok(x), Ok(y)) = (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
        return x == y;
    }
    matches!((boolean(a), boolean(b)), (Some(x), Some(y)) if x == y)
}

fn boolean(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "on" | "yes" | "true" => Some(true),
        "0" | "off" | "no" | "false" => Some(false),
        _ => None,
    }
}

/// PVE's tag list, as a set: it sorts and lower-cases them, and takes `;`, `,` and spaces.
fn tags(v: &str) -> Vec<String> {
    let mut t: Vec<String> = v
        .split([';', ',', ' '])
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .collect();
    t.sort();
    t.dedup();
    t
}

fn is_net(key: &str) -> bool {
    key.strip_prefix("net")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A disk or mount point (not a detached `unusedN`).
pub fn is_disk(kind: GuestKind, key: &str) -> bool {
    disk::is_disk_key(kind, key) && !key.starts_with("unused")
}

/// A NIC as options: QEMU's `MODEL=MAC` first item split into `model` and `macaddr`.
type Options = BTreeMap<String, String>;

fn nic(kind: GuestKind, value: &str) -> Option<Options> {
    let value = match kind {
        GuestKind::Qemu => bare_model(value),
        GuestKind::Lxc => value.to_string(),
    };
    let ps = PropString::parse(&value, None).ok()?;
    let mut out = Options::new();
    for (k, v) in ps.iter() {
        if kind == GuestKind::Qemu && NET_MODELS.contains(&k) {
            out.insert("model".into(), k.to_string());
            if !v.is_empty() {
                out.insert("macaddr".into(), v.to_ascii_uppercase());
            }
        } else if k == "macaddr" || k == "hwaddr" {
            out.insert(k.to_string(), v.to_ascii_uppercase());
        } else {
            out.insert(k.to_string(), normal_flag(v));
        }
    }
    Some(out)
}

/// A bare QEMU NIC model (`virtio,bridge=vmbr0`) parses as a bare item: PropString has no default
/// key for it, so it is given one here.
fn bare_model(value: &str) -> String {
    match value.split_once(',') {
        Some((first, rest)) if NET_MODELS.contains(&first) => format!("{first}=,{rest}"),
        None if NET_MODELS.contains(&value) => format!("{value}="),
        _ => value.to_string(),
    }
}

/// What PVE adds to a NIC when a file leaves it out: the MAC address it generated, and a
/// container NIC's `type=veth`.
fn with_defaults(mut current: Options, wanted: &Option<Options>) -> Options {
    let Some(w) = wanted else {
        return current;
    };
    for generated in ["macaddr", "hwaddr"] {
        if !w.contains_key(generated) {
            current.remove(generated);
        }
    }
    if !w.contains_key("type") && current.get("type").map(String::as_str) == Some("veth") {
        current.remove("type");
    }
    current
}

fn normal_flag(v: &str) -> String {
    match boolean(v) {
        Some(true) if v != "1" && v.parse::<f64>().is_err() => "1".into(),
        Some(false) if v != "0" && v.parse::<f64>().is_err() => "0".into(),
        _ => v.to_string(),
    }
}

/// A disk value: its volume, and its options without `size` (a size is no configuration change).
struct Disk {
    volume: String,
    options: Options,
    size: Option<String>,
}

fn parse_disk(kind: GuestKind, value: &str) -> Option<Disk> {
    let default = match kind {
        GuestKind::Qemu => "file",
        GuestKind::Lxc => "volume",
    };
    let ps = PropString::parse(value, Some(default)).ok()?;
    let mut options = Options::new();
    let mut volume = None;
    let mut size = None;
    for (k, v) in ps.iter() {
        match k {
            _ if k == default || k == "volume" || k == "file" => volume = Some(v.to_string()),
            "size" => size = Some(v.to_string()),
            _ => {
                options.insert(k.to_string(), normal_flag(v));
            }
        }
    }
    Some(Disk {
        volume: volume?,
        options,
        size,
    })
}

/// The volume a disk value names when it is an existing volume (`local-lvm:vm-100-disk-0`), not
/// a new one (`local-lvm:32`), a CD-ROM, `none`, or a host path (a container's bind mount).
pub fn existing_volume(kind: GuestKind, key: &str, value: &str) -> Option<String> {
    if !is_disk(kind, key) || value.contains("media=cdrom") {
        return None;
    }
    let d = parse_disk(kind, value)?;
    (d.volume.contains(':') && new_volume(&d.volume).is_none() && !d.volume.ends_with(":cloudinit"))
        .then_some(d.volume)
}

/// `local-lvm:32` or `32` (a new volume of 32 GiB): the storage (if named) and the size in GiB.
pub fn new_volume(volume: &str) -> Option<(Option<&str>, f64)> {
    let (storage, size) = match volume.rsplit_once(':') {
        Some((s, n)) => (Some(s), n),
        None => (None, volume),
    };
    if size.is_empty() || !size.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    Some((storage, size.parse().ok()?))
}

fn disk_compare(kind: GuestKind, key: &str, wanted: &str, current: &str) -> Sameness {
    let (Some(w), Some(c)) = (parse_disk(kind, wanted), parse_disk(kind, current)) else {
        return Sameness::Different;
    };
    let mut w_options = w.options.clone();
    let size_note = |file_size: u64| -> Option<String> {
        let have = c.size.as_deref().and_then(parse_size)?;
        (have != file_size).then(|| {
            format!(
                "{key} has {1}, the file says {0}: sizes change with `pvectl {2} disk resize`",
                disk::format_size(file_size),
                disk::format_size(have),
                match kind {
                    GuestKind::Qemu => "vm",
                    GuestKind::Lxc => "ct",
                }
            )
        })
    };
    let note = match new_volume(&w.volume) {
        // A volume to allocate: the disk on that storage is it (PVE named it `vm-ID-disk-N`).
        Some((storage, gib)) => {
            let on = c.volume.split_once(':').map(|(s, _)| s);
            if storage.is_some_and(|s| Some(s) != on) || !c.volume.contains(':') {
                return Sameness::Different;
            }
            w_options.remove("import-from");
            w_options.remove("format");
            // EFI vars and TPM state have fixed sizes, `0` comes from an imported image.
            let fixed = matches!(key, "efidisk0" | "tpmstate0") || gib == 0.0;
            if fixed {
                None
            } else {
                size_note((gib * (1u64 << 30) as f64) as u64)
            }
        }
        None => {
            if w.volume != c.volume {
                return Sameness::Different;
            }
            w.size.as_deref().and_then(parse_size).and_then(size_note)
        }
    };
    if w_options != c.options {
        return Sameness::Different;
    }
    match note {
        Some(n) => Sameness::SameBut(n),
        None => Sameness::Same,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use GuestKind::{Lxc, Qemu};

    #[test]
    fn disks_that_name_a_volume() {
        assert_eq!(
            existing_volume(Qemu, "scsi0", "local-lvm:vm-100-disk-0,size=32G").as_deref(),
            Some("local-lvm:vm-100-disk-0")
        );
        assert_eq!(existing_volume(Qemu, "scsi0", "local-lvm:32"), None);
        assert_eq!(
            existing_volume(Qemu, "ide2", "local:iso/x.iso,media=cdrom"),
            None
        );
        assert_eq!(existing_volume(Qemu, "ide2", "local-lvm:cloudinit"), None);
        assert_eq!(existing_volume(Qemu, "net0", "virtio,bridge=vmbr0"), None);
        assert_eq!(existing_volume(Lxc, "mp0", "/mnt/host,mp=/data"), None);
        assert_eq!(existing_volume(Lxc, "rootfs", "local-lvm:8"), None);
    }

    #[test]
    fn keys_pve_keeps_for_itself() {
        for k in ["digest", "lock", "meta", "unused0", "vmstate", "parent"] {
            assert!(read_only(Qemu, k), "{k}");
        }
        assert!(read_only(Lxc, "lxc"));
        assert!(!read_only(Qemu, "lxc"));
        assert!(!read_only(Qemu, "memory"));
        assert!(!read_only(Lxc, "unused"));
        assert!(hidden(Qemu, "cipassword"));
        assert!(filled_on_create(Qemu, "vmgenid") && filled_on_create(Lxc, "arch"));
        assert!(!filled_on_create(Qemu, "memory"));
    }

    #[test]
    fn scalars_tags_and_descriptions() {
        assert_eq!(compare(Qemu, "cores", "2", "2"), Sameness::Same);
        assert_eq!(compare(Qemu, "cpulimit", "0.5", "0.50"), Sameness::Same);
        assert_eq!(compare(Qemu, "onboot", "yes", "1"), Sameness::Same);
        assert_eq!(compare(Qemu, "memory", "2048", "4096"), Sameness::Different);
        assert_eq!(
            compare(Qemu, "tags", "web;Prod", "prod;web"),
            Sameness::Same
        );
        assert_eq!(
            compare(Qemu, "tags", "web", "prod;web"),
            Sameness::Different
        );
        assert_eq!(compare(Qemu, "description", "hi", "hi\n"), Sameness::Same);
        assert_eq!(compare(Qemu, "name", "a", "b"), Sameness::Different);
    }

    #[test]
    fn a_nic_without_mac_is_the_nic_pve_gave_one() {
        let have = "virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,firewall=1";
        assert_eq!(
            compare(Qemu, "net0", "virtio,bridge=vmbr0,firewall=1", have),
            Sameness::Same
        );
        assert_eq!(
            compare(
                Qemu,
                "net0",
                "firewall=1,virtio=bc:24:11:aa:bb:cc,bridge=vmbr0",
                have
            ),
            Sameness::Same
        );
        assert_eq!(
            compare(
                Qemu,
                "net0",
                "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1",
                have
            ),
            Sameness::Different
        );
        assert_eq!(
            compare(Qemu, "net0", "virtio,bridge=vmbr0", have),
            Sameness::Different,
            "firewall=1 left out is a change"
        );
        assert_eq!(
            compare(Qemu, "net0", "e1000,bridge=vmbr0,firewall=1", have),
            Sameness::Different
        );
        let ct = "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:01:02:03,ip=dhcp,type=veth";
        assert_eq!(
            compare(Lxc, "net0", "name=eth0,bridge=vmbr0,ip=dhcp", ct),
            Sameness::Same
        );
        assert_eq!(
            compare(Lxc, "net0", "name=eth0,bridge=vmbr0,ip=10.0.0.5/24", ct),
            Sameness::Different
        );
    }

    #[test]
    fn a_new_disk_is_the_disk_pve_allocated_for_it() {
        let have = "local-lvm:vm-100-disk-0,iothread=1,size=32G";
        assert_eq!(
            compare(Qemu, "scsi0", "local-lvm:32,iothread=1", have),
            Sameness::Same
        );
        assert!(matches!(
            compare(Qemu, "scsi0", "local-lvm:40,iothread=1", have),
            Sameness::SameBut(n) if n.contains("40G") && n.contains("32G") && n.contains("vm disk resize")
        ));
        assert_eq!(
            compare(Qemu, "scsi0", "ceph:32,iothread=1", have),
            Sameness::Different
        );
        assert_eq!(
            compare(Qemu, "scsi0", "local-lvm:32", have),
            Sameness::Different,
            "an option left out is a change"
        );
        assert_eq!(
            compare(Qemu, "scsi0", "local-lvm:vm-100-disk-0,iothread=1", have),
            Sameness::Same
        );
        assert_eq!(
            compare(
                Qemu,
                "efidisk0",
                "local-lvm:1,efitype=4m",
                "local-lvm:vm-100-disk-1,efitype=4m,size=4M"
            ),
            Sameness::Same
        );
        assert_eq!(
            compare(Lxc, "rootfs", "8", "local-lvm:vm-200-disk-0,size=8G"),
            Sameness::Same
        );
        assert_eq!(
            compare(
                Lxc,
                "mp0",
                "local-lvm:8,mp=/srv",
                "local-lvm:vm-200-disk-1,mp=/srv,size=8G"
            ),
            Sameness::Same
        );
        assert_eq!(
            compare(
                Lxc,
                "mp0",
                "local-lvm:8,mp=/data",
                "local-lvm:vm-200-disk-1,mp=/srv,size=8G"
            ),
            Sameness::Different
        );
        assert_eq!(
            compare(Qemu, "ide2", "none,media=cdrom", "none,media=cdrom"),
            Sameness::Same
        );
    }
}
