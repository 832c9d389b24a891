//! The configuration keys of each guest kind as PVE 9's schema has them (qemu-server's and
//! pve-container's `$confdesc`, the keys `PUT|POST …/config` takes): the name, or the prefix of a
//! numbered family (`net0`…`net31`), the form of the value, and PVE's description shortened to
//! one line. The one list key names are checked against, and what `set --help-keys` shows.

use super::GuestKind;

/// One configuration key, or one numbered family of keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key (`memory`), or a family's prefix (`net`).
    pub name: &'static str,
    /// For a family, its highest index (`net`: 31); `None` for a single key.
    pub max_index: Option<u32>,
    /// What the value looks like (`N (1-8192)`, `0|1`, `[current=]MiB`).
    pub format: &'static str,
    /// PVE's description, one line.
    pub description: &'static str,
}

const fn key(
    name: &'static str,
    max_index: Option<u32>,
    format: &'static str,
    description: &'static str,
) -> KeyInfo {
    KeyInfo {
        name,
        max_index,
        format,
        description,
    }
}

impl KeyInfo {
    /// `net[n]` for a family, the key itself otherwise.
    pub fn label(&self) -> String {
        match self.max_index {
            Some(_) => format!("{}[n]", self.name),
            None => self.name.to_string(),
        }
    }

    /// Whether `key` is this key, or a member of this family (`net7`; `net07` and `net32` are
    /// not).
    pub fn matches(&self, key: &str) -> bool {
        match self.max_index {
            None => key == self.name,
            Some(max) => key
                .strip_prefix(self.name)
                .and_then(index)
                .is_some_and(|n| n <= max),
        }
    }
}

/// The index of a family key's rest (`7` of `net7`): digits only, no leading zero.
fn index(rest: &str) -> Option<u32> {
    if rest.is_empty()
        || !rest.bytes().all(|b| b.is_ascii_digit())
        || (rest.len() > 1 && rest.starts_with('0'))
    {
        return None;
    }
    rest.parse().ok()
}

/// The keys of a kind, in alphabetical order.
pub fn keys(kind: GuestKind) -> &'static [KeyInfo] {
    match kind {
        GuestKind::Qemu => QEMU_KEYS,
        GuestKind::Lxc => LXC_KEYS,
    }
}

/// The entry `key` belongs to.
pub fn lookup(kind: GuestKind, key: &str) -> Option<&'static KeyInfo> {
    keys(kind).iter().find(|k| k.matches(key))
}

/// Whether `key` is a configuration key of this kind.
pub fn known(kind: GuestKind, key: &str) -> bool {
    lookup(kind, key).is_some()
}

/// The family a key that is not one names by its prefix, with an index out of range or
/// malformed (`scsi31`, `net01`, `net`).
pub fn family_of(kind: GuestKind, key: &str) -> Option<&'static KeyInfo> {
    if known(kind, key) {
        return None;
    }
    let stem = key.trim_end_matches(|c: char| c.is_ascii_digit());
    keys(kind)
        .iter()
        .find(|k| k.max_index.is_some() && k.name == stem)
}

/// The known key closest to a mistyped one (`memroy` → `memory`, `nte0` → `net0`, `hostnme` →
/// `hostname`), if one is close enough to be what was meant.
pub fn closest(kind: GuestKind, typed: &str) -> Option<String> {
    let typed = typed.to_ascii_lowercase();
    let stem = typed.trim_end_matches(|c: char| c.is_ascii_digit());
    let digits = &typed[stem.len()..];
    let candidates: Vec<String> = keys(kind)
        .iter()
        .map(|k| match k.max_index {
            None => k.name.to_string(),
            // A family's member with the index given (when it has one), else its first.
            Some(max) => {
                let n = index(digits).filter(|n| *n <= max).unwrap_or(0);
                format!("{}{n}", k.name)
            }
        })
        .collect();
    let allowed = match typed.chars().count() {
        0..=3 => 1,
        4..=6 => 2,
        _ => 3,
    };
    let best = candidates
        .iter()
        .map(|c| (distance(&typed, c), c))
        .filter(|(d, _)| *d <= allowed)
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    if let Some((_, c)) = best {
        return Some(c.clone());
    }
    // A beginning of exactly one key (`cipass` → `cipassword`).
    let starting: Vec<&String> = candidates
        .iter()
        .filter(|c| typed.len() >= 3 && c.starts_with(typed.as_str()))
        .collect();
    match starting.as_slice() {
        [one] => Some((*one).clone()),
        _ => None,
    }
}

/// The edit distance of two words, a swap of neighbours counting as one edit (optimal string
/// alignment): `memroy` is one edit from `memory`.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[rustfmt::skip]
const QEMU_KEYS: &[KeyInfo] = &[
    key("acpi", None, "0|1", "Enable/disable ACPI."),
    key("affinity", None, "CPU list, e.g. 0,5,8-11", "List of host cores used to execute guest processes."),
    key("agent", None, "[enabled=]0|1,freeze-fs=…,fstrim_cloned_disks=…,type=…", "Enable/disable communication with the QEMU Guest Agent and its properties."),
    key("allow-ksm", None, "0|1", "Allow memory pages of this guest to be merged via KSM (Kernel Samepage Merging)."),
    key("amd-sev", None, "[type=]std|es|snp,…", "Secure Encrypted Virtualization (SEV) features by AMD CPUs."),
    key("arch", None, "x86_64|aarch64", "Virtual processor architecture. Defaults to the host architecture."),
    key("args", None, "text", "Arbitrary arguments passed to kvm."),
    key("audio0", None, "device=…,driver=…", "Configure an audio device, useful in combination with QXL/Spice."),
    key("autostart", None, "0|1", "Automatic restart after crash (currently ignored)."),
    key("balloon", None, "MiB", "Amount of target RAM for the VM in MiB; 0 disables the balloon driver."),
    key("bios", None, "seabios|ovmf", "Select BIOS implementation."),
    key("boot", None, "order=DEV;DEV…", "Specify guest boot order."),
    key("bootdisk", None, "disk key", "Enable booting from specified disk. Deprecated: use 'boot: order=…' instead."),
    key("cdrom", None, "volume", "An alias for ide2."),
    key("cicustom", None, "user=VOLUME,network=…,meta=…,vendor=…", "cloud-init: custom files to replace the automatically generated ones at start."),
    key("cipassword", None, "text", "cloud-init: Password to assign the user (ssh keys are recommended instead)."),
    key("citype", None, "configdrive2|nocloud|opennebula", "Specifies the cloud-init configuration format (default by ostype)."),
    key("ciupgrade", None, "0|1", "cloud-init: do an automatic package upgrade after the first boot."),
    key("ciuser", None, "text", "cloud-init: User name to change ssh keys and password for instead of the image's default user."),
    key("cores", None, "N (>= 1)", "The number of cores per socket."),
    key("cpu", None, "[cputype=]TYPE,flags=…", "Emulated CPU type."),
    key("cpulimit", None, "X.Y (0-128)", "Limit of CPU usage; 0 is no limit."),
    key("cpuunits", None, "N (1-262144)", "CPU weight for a VM, will be clamped to [1, 10000] in cgroup v2."),
    key("description", None, "text", "Description for the VM, shown in the web interface's summary."),
    key("efidisk0", None, "[file=]VOLUME,efitype=…,format=…,…", "Configure a disk for storing EFI vars."),
    key("freeze", None, "0|1", "Freeze CPU at startup (use 'c' monitor command to start execution)."),
    key("hookscript", None, "volume ID", "Script that will be executed during various steps in the VM's lifetime."),
    key("hostpci", Some(15), "[host=]ID|mapping=ID,pcie=1,…", "Map host PCI devices into guest."),
    key("hotplug", None, "network,disk,cpu,memory,usb,cloudinit|0|1", "Selectively enable hotplug features (default network,disk,usb)."),
    key("hugepages", None, "any|2|1024", "Enables hugepages memory: the size of hugepages in MiB."),
    key("ide", Some(3), "[file=]VOLUME,media=cdrom,…", "Use volume as IDE hard disk or CD-ROM."),
    key("intel-tdx", None, "[type=]tdx,…", "Trusted Domain Extension (TDX) features by Intel CPUs."),
    key("ipconfig", Some(31), "ip=CIDR|dhcp,gw=IP,ip6=…,gw6=…", "cloud-init: Specify IP addresses and gateways for the corresponding interface."),
    key("ivshmem", None, "size=MiB,name=…", "Inter-VM shared memory, for communication between VMs or with the host."),
    key("keephugepages", None, "0|1", "Use together with hugepages: keep them after VM shutdown for subsequent starts."),
    key("keyboard", None, "de|de-ch|da|en-gb|en-us|es|…", "Keyboard layout for VNC server."),
    key("kvm", None, "0|1", "Enable/disable KVM hardware virtualization."),
    key("localtime", None, "0|1", "Set the real time clock (RTC) to local time (default on for Windows ostypes)."),
    key("lock", None, "backup|clone|create|migrate|rollback|snapshot|…", "Lock/unlock the VM."),
    key("machine", None, "[type=]…,viommu=…,…", "Specify the QEMU machine."),
    key("memory", None, "[current=]MiB", "Memory properties."),
    key("migrate_downtime", None, "seconds", "Set maximum tolerated downtime (in seconds) for migrations."),
    key("migrate_speed", None, "MB/s", "Set maximum speed (in MB/s) for migrations; 0 is no limit."),
    key("name", None, "name", "Set a name for the VM. Only used on the configuration web interface."),
    key("nameserver", None, "IP[ IP…]", "cloud-init: Sets DNS server IP address (default: the host's)."),
    key("net", Some(31), "MODEL[=MAC],bridge=…,tag=…,firewall=…,…", "Specify network devices."),
    key("numa", None, "0|1", "Enable/disable NUMA."),
    key("numa", Some(7), "cpus=…,hostnodes=…,memory=…,policy=…", "NUMA topology."),
    key("onboot", None, "0|1", "Specifies whether a VM will be started during system bootup."),
    key("ostype", None, "other|l26|win11|win10|…", "Specify guest operating system."),
    key("parallel", Some(2), "/dev/parportN|/dev/usb/lpN", "Map host parallel devices."),
    key("protection", None, "0|1", "Sets the protection flag of the VM: no removing the VM or its disks."),
    key("reboot", None, "0|1", "Allow reboot. If set to '0' the VM exits on reboot."),
    key("rng0", None, "[source=]/dev/urandom|…,max_bytes=…,period=…", "Configure a VirtIO-based Random Number Generator."),
    key("sata", Some(5), "[file=]VOLUME,media=cdrom,…", "Use volume as SATA hard disk or CD-ROM."),
    key("scsi", Some(30), "[file=]VOLUME,iothread=…,discard=…,…", "Use volume as SCSI hard disk or CD-ROM."),
    key("scsihw", None, "lsi|virtio-scsi-pci|virtio-scsi-single|…", "SCSI controller model."),
    key("searchdomain", None, "domain", "cloud-init: Sets DNS search domains (default: the host's)."),
    key("serial", Some(3), "/dev/ttySN|socket", "Create a serial device inside the VM."),
    key("shares", None, "N (0-50000)", "Amount of memory shares for auto-ballooning; 0 disables it."),
    key("smbios1", None, "uuid=…,serial=…,…", "Specify SMBIOS type 1 fields."),
    key("smp", None, "N (>= 1)", "The number of CPUs. Please use option sockets instead."),
    key("sockets", None, "N (>= 1)", "The number of CPU sockets."),
    key("spice_enhancements", None, "foldersharing=0|1,videostreaming=…", "Configure additional enhancements for SPICE."),
    key("sshkeys", None, "URL-encoded keys", "cloud-init: Setup public SSH keys (one key per line, OpenSSH format)."),
    key("startdate", None, "now|YYYY-MM-DD[THH:MM:SS]", "Set the initial date of the real time clock."),
    key("startup", None, "[order=]N,up=S,down=S", "Startup and shutdown behavior: order, and delays in seconds."),
    key("tablet", None, "0|1", "Enable/disable the USB tablet device."),
    key("tags", None, "tag;tag…", "Tags of the VM. This is only meta information."),
    key("tdf", None, "0|1", "Enable/disable time drift fix."),
    key("template", None, "0|1", "Enable/disable Template."),
    key("tpmstate0", None, "[file=]VOLUME,version=v1.2|v2.0", "Configure a Disk for storing TPM state. The format is fixed to 'raw'."),
    key("unused", Some(255), "[file=]VOLUME", "Reference to unused volumes, used internally: do not change by hand."),
    key("usb", Some(13), "[host=]ID|spice,mapping=…,usb3=…", "Configure an USB device (up to usb13 with machine >= 7.1, otherwise usb4)."),
    key("vcpus", None, "N (>= 1)", "Number of hotplugged vcpus."),
    key("vga", None, "[type=]std|virtio|qxl|serial0|…,memory=…", "Configure the VGA hardware."),
    key("virtio", Some(15), "[file=]VOLUME,iothread=…,discard=…,…", "Use volume as VIRTIO hard disk."),
    key("virtiofs", Some(9), "[dirid=]ID,cache=…,expose-acl=…,…", "Share a directory between host and guest using Virtio-fs."),
    key("vmgenid", None, "UUID|1|0", "Set VM Generation ID: 1 generates one, 0 disables it."),
    key("vmstatestorage", None, "storage", "Default storage for VM state volumes/files."),
    key("watchdog", None, "[model=]i6300esb|ib700,action=…", "Create a virtual hardware watchdog device."),
];

#[rustfmt::skip]
const LXC_KEYS: &[KeyInfo] = &[
    key("arch", None, "amd64|i386|arm64|armhf|riscv32|riscv64", "OS architecture type."),
    key("cmode", None, "tty|console|shell", "Console mode: a tty (default), /dev/console, or a shell without login."),
    key("console", None, "0|1", "Attach a console device (/dev/console) to the container."),
    key("cores", None, "N (1-8192)", "The number of cores assigned to the container (default: all)."),
    key("cpulimit", None, "X.Y (0-8192)", "Limit of CPU usage; 0 is no limit."),
    key("cpuunits", None, "N (0-500000)", "CPU weight for a container, will be clamped to [1, 10000] in cgroup v2."),
    key("debug", None, "0|1", "Try to be more verbose: debug log-level on start."),
    key("description", None, "text", "Description for the container, shown in the web interface's summary."),
    key("dev", Some(255), "[path=]/dev/…,mode=…,uid=…,gid=…,deny-write=…", "Device to pass through to the container."),
    key("entrypoint", None, "command [args]", "Command to run as init, optionally with arguments."),
    key("env", None, "NAME=VALUE\\0…", "The container runtime environment as NUL-separated list."),
    key("features", None, "nesting=1,keyctl=1,fuse=1,mount=…,…", "Allow containers access to advanced features."),
    key("hookscript", None, "volume ID", "Script that will be executed during various steps in the container's lifetime."),
    key("hostname", None, "name", "Set a host name for the container."),
    key("lock", None, "backup|create|disk|migrate|mounted|snapshot|…", "Lock/unlock the container."),
    key("memory", None, "MiB (>= 16)", "Amount of RAM for the container in MB."),
    key("mp", Some(255), "[volume=]VOLUME|STORAGE:GiB,mp=PATH,backup=…,…", "Use volume as container mount point (STORAGE:SIZE_IN_GiB allocates a new one)."),
    key("nameserver", None, "IP[ IP…]", "Sets DNS server IP address for a container (default: the host's)."),
    key("net", Some(31), "name=eth0,bridge=…,ip=dhcp|CIDR,gw=…,…", "Specifies network interfaces for the container."),
    key("onboot", None, "0|1", "Specifies whether a container will be started during system bootup."),
    key("ostype", None, "debian|ubuntu|alpine|…|unmanaged", "OS type, for the setup inside the container; 'unmanaged' skips it."),
    key("protection", None, "0|1", "Sets the protection flag of the container: no removing it or its disks."),
    key("rootfs", None, "[volume=]VOLUME|STORAGE:GiB,size=…,…", "Use volume as container root."),
    key("searchdomain", None, "domain", "Sets DNS search domains for a container (default: the host's)."),
    key("startup", None, "[order=]N,up=S,down=S", "Startup and shutdown behavior: order, and delays in seconds."),
    key("swap", None, "MiB", "Amount of SWAP for the container in MB."),
    key("tags", None, "tag;tag…", "Tags of the container. This is only meta information."),
    key("template", None, "0|1", "Enable/disable Template."),
    key("timezone", None, "ZONE|host", "Time zone to use in the container: 'host', or a zone of zone.tab."),
    key("tty", None, "N (0-6)", "Specify the number of tty available to the container."),
    key("unprivileged", None, "0|1", "Makes the container run as unprivileged user (do not change by hand)."),
    key("unused", Some(255), "[volume=]VOLUME", "Reference to unused volumes, used internally: do not change by hand."),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_keys_and_families() {
        for k in [
            "memory", "net0", "scsi30", "unused7", "ide2", "virtio15", "efidisk0", "numa", "numa7",
        ] {
            assert!(known(GuestKind::Qemu, k), "{k}");
        }
        for k in [
            "scsi31", "net01", "net", "mp0", "rootfs", "hostname", "bogus", "numa8", "",
        ] {
            assert!(!known(GuestKind::Qemu, k), "{k}");
        }
        for k in ["mp0", "mp255", "rootfs", "hostname", "swap", "dev3", "net5"] {
            assert!(known(GuestKind::Lxc, k), "{k}");
        }
        assert!(!known(GuestKind::Lxc, "mp256"));
        assert_eq!(family_of(GuestKind::Qemu, "scsi31").unwrap().name, "scsi");
        assert_eq!(family_of(GuestKind::Qemu, "net").unwrap().name, "net");
        assert!(family_of(GuestKind::Qemu, "net1").is_none());
        assert!(family_of(GuestKind::Qemu, "memory").is_none());
        assert_eq!(lookup(GuestKind::Qemu, "net3").unwrap().label(), "net[n]");
    }

    #[test]
    fn the_closest_key_to_a_typo() {
        let q = |k| closest(GuestKind::Qemu, k);
        let l = |k| closest(GuestKind::Lxc, k);
        assert_eq!(q("memroy").as_deref(), Some("memory"));
        assert_eq!(q("Memory").as_deref(), Some("memory"));
        assert_eq!(q("coers").as_deref(), Some("cores"));
        assert_eq!(q("nte3").as_deref(), Some("net3"));
        assert_eq!(q("net").as_deref(), Some("net0"));
        assert_eq!(q("ciuesr").as_deref(), Some("ciuser"));
        assert_eq!(q("cipass").as_deref(), Some("cipassword"));
        assert_eq!(l("hostnme").as_deref(), Some("hostname"));
        assert_eq!(l("mp3").as_deref(), Some("mp3"));
        assert_eq!(l("swp").as_deref(), Some("swap"));
        assert_eq!(q("bogus"), None);
        assert_eq!(q("x"), None);
    }

    #[test]
    fn the_table_is_sorted_and_every_entry_says_something() {
        for kind in [GuestKind::Qemu, GuestKind::Lxc] {
            let names: Vec<(&str, bool)> = keys(kind)
                .iter()
                .map(|k| (k.name, k.max_index.is_some()))
                .collect();
            let mut sorted = names.clone();
            sorted.sort();
            assert_eq!(names, sorted);
            for k in keys(kind) {
                assert!(!k.format.is_empty() && !k.description.is_empty(), "{k:?}");
                assert!(!k.description.contains('\n'), "{k:?}");
            }
        }
    }

    #[test]
    fn edit_distance() {
        assert_eq!(distance("memroy", "memory"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
