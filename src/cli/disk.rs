//! `vm disk …`, `ct disk …` and `vm cloudinit …`: the disks of a guest and a VM's cloud-init.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::args::{GuestTarget, WaitArgs};

/// `pvectl vm disk …`
#[derive(Subcommand, Debug, Clone)]
#[command(defer = true)]
pub enum VmDiskCmd {
    /// Every disk with bus, volume, size, storage, format, cache and backup flag; unused volumes too
    #[command(visible_alias = "ls")]
    List(GuestTarget),
    /// Grow a disk: +10G grows by, 64G sets (disks never shrink)
    Resize(ResizeArgs),
    /// Move a disk to another storage (live for a running VM), or to another VM with --target-vmid
    Move(VmMoveArgs),
    /// Detach a disk: its volume stays as unusedN, or is destroyed with --destroy (asks)
    Detach(DetachArgs),
    /// Import a disk image (a volume such as local:import/x.qcow2, or a path) as a new disk
    Import(ImportArgs),
}

/// `pvectl ct disk …`
#[derive(Subcommand, Debug, Clone)]
#[command(defer = true)]
pub enum CtDiskCmd {
    /// The root file system, mount point volumes and unused volumes, with size and storage
    #[command(visible_alias = "ls")]
    List(GuestTarget),
    /// Grow rootfs or a mount point: +10G grows by, 64G sets (volumes never shrink)
    Resize(ResizeArgs),
    /// Move rootfs or a mount point volume to another storage (stopped container), or to
    /// another container with --target-vmid
    Move(CtMoveArgs),
}

#[derive(Args, Debug, Clone)]
pub struct ResizeArgs {
    /// VMID or name
    pub guest: String,
    /// The disk: scsi0, virtio1… for a VM; rootfs or mpN for a container
    pub disk: String,
    /// +SIZE grows by, SIZE sets the new size (K, M, G or T; e.g. +10G, 64G)
    #[arg(allow_hyphen_values = true)]
    pub size: String,
    /// Node of the guest (with a numeric VMID this saves the lookup)
    #[arg(long)]
    pub node: Option<String>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

// What moving a disk takes for both kinds.
#[derive(Args, Debug, Clone)]
pub struct MoveArgs {
    /// VMID or name
    pub guest: String,
    /// The disk to move: scsi0, virtio1… of a VM; rootfs, mpN or unusedN of a container
    pub disk: String,
    /// Target storage (not with --target-vmid)
    #[arg(
        required_unless_present = "target_vmid",
        conflicts_with = "target_vmid"
    )]
    pub storage: Option<String>,
    /// Delete the source volume after a successful copy (otherwise it stays as unusedN)
    #[arg(long)]
    pub delete: bool,
    /// Move the disk to this guest instead (same kind, same node)
    #[arg(long, value_name = "VMID")]
    pub target_vmid: Option<u32>,
    /// Bandwidth limit in KiB/s
    #[arg(long)]
    pub bwlimit: Option<u64>,
    /// Node of the guest (with a numeric VMID this saves the lookup)
    #[arg(long)]
    pub node: Option<String>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

#[derive(Args, Debug, Clone)]
pub struct VmMoveArgs {
    #[command(flatten)]
    pub common: MoveArgs,
    /// Convert to this format on the way: raw, qcow2 or vmdk
    #[arg(long, value_parser = ["raw", "qcow2", "vmdk"], conflicts_with = "target_vmid")]
    pub format: Option<String>,
    /// Key on the target VM (default: the same key if free, else the next free slot of its bus)
    #[arg(long, value_name = "KEY", requires = "target_vmid")]
    pub target_disk: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct CtMoveArgs {
    #[command(flatten)]
    pub common: MoveArgs,
    /// Key on the target container (default: the same key if free, else the next free mpN)
    #[arg(long, value_name = "KEY", requires = "target_vmid")]
    pub target_volume: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct DetachArgs {
    /// VMID or name
    pub guest: String,
    /// The disk: scsi1, virtio0…, or unusedN with --destroy
    pub disk: String,
    /// Also destroy the volume (the data on it is lost); asks first, or --yes
    #[arg(long)]
    pub destroy: bool,
    /// Do not ask before destroying
    #[arg(short, long)]
    pub yes: bool,
    /// Node of the VM (with a numeric VMID this saves the lookup)
    #[arg(long)]
    pub node: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Bus {
    Scsi,
    Virtio,
    Sata,
    Ide,
}

impl Bus {
    pub fn as_str(self) -> &'static str {
        match self {
            Bus::Scsi => "scsi",
            Bus::Virtio => "virtio",
            Bus::Sata => "sata",
            Bus::Ide => "ide",
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct ImportArgs {
    /// VMID or name
    pub guest: String,
    /// The image: a volume ID (local:import/debian-13.qcow2, an existing disk) or an absolute
    /// path on the node (root@pam only)
    pub source: String,
    /// Storage for the new disk
    pub storage: String,
    /// Bus of the new disk; it takes the next free slot
    #[arg(long, value_enum, default_value_t = Bus::Scsi, conflicts_with = "as_key")]
    pub bus: Bus,
    /// Exactly this key instead of the next free slot (e.g. scsi1)
    #[arg(long = "as", value_name = "KEY")]
    pub as_key: Option<String>,
    /// Format of the new disk on a file storage: raw, qcow2 or vmdk
    #[arg(long, value_parser = ["raw", "qcow2", "vmdk"])]
    pub format: Option<String>,
    /// Node of the VM (with a numeric VMID this saves the lookup)
    #[arg(long)]
    pub node: Option<String>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

// -------------------------------------------------------------------------------- cloud-init

/// `pvectl vm cloudinit …`
#[derive(Subcommand, Debug, Clone)]
#[command(defer = true)]
pub enum CloudinitCmd {
    /// Set the user, password, SSH keys, addresses and DNS; adds a cloud-init drive if missing
    Set(Box<CloudinitSetArgs>),
    /// What PVE generates for the VM: user-data (default), network-config or meta-data
    Show(CloudinitShowArgs),
    /// Write the cloud-init drive anew from the configuration
    Regenerate(GuestTarget),
}

// The cloud-init settings `vm cloudinit set` and `vm create --image` share.
#[derive(Args, Debug, Clone, Default)]
pub struct CloudinitArgs {
    /// User to create in the guest (PVE: ciuser; the image's default user otherwise)
    #[arg(long, value_name = "USER")]
    pub ciuser: Option<String>,
    /// File with that user's password (PVE stores it hashed)
    #[arg(long, value_name = "PATH")]
    pub password_file: Option<PathBuf>,
    /// File with SSH public keys, as it is (e.g. ~/.ssh/id_ed25519.pub)
    #[arg(long, value_name = "PATH", visible_alias = "sshkeys")]
    pub ssh_keys_file: Option<PathBuf>,
    /// IPv4 of the first NIC: dhcp, or ADDRESS/PREFIX[,gw=GATEWAY]
    #[arg(long, value_name = "dhcp|CIDR[,gw=IP]")]
    pub ip0: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct CloudinitSetArgs {
    /// VMID or name
    pub guest: String,
    #[command(flatten)]
    pub ci: CloudinitArgs,
    /// IPv6 of the first NIC: dhcp, auto, or ADDRESS/PREFIX[,gw6=GATEWAY]
    #[arg(long = "ip6-0", value_name = "dhcp|auto|CIDR[,gw6=IP]")]
    pub ip6_0: Option<String>,
    /// DNS servers, comma- or space-separated (PVE: nameserver)
    #[arg(long, value_name = "IP,…", visible_alias = "nameserver")]
    pub dns: Option<String>,
    /// DNS search domains (PVE: searchdomain)
    #[arg(long, value_name = "DOMAIN,…", visible_alias = "searchdomain")]
    pub search: Option<String>,
    /// Storage for the cloud-init drive when one is added (default: that of the first disk)
    #[arg(long)]
    pub storage: Option<String>,
    /// Node of the VM (with a numeric VMID this saves the lookup)
    #[arg(long)]
    pub node: Option<String>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DumpKind {
    User,
    Network,
    Meta,
}

#[derive(Args, Debug, Clone)]
pub struct CloudinitShowArgs {
    /// VMID or name
    pub guest: String,
    /// Which document: user (user-data), network (network-config) or meta (meta-data)
    #[arg(value_enum, default_value_t = DumpKind::User)]
    pub what: DumpKind,
    /// Node of the VM (with a numeric VMID this saves the lookup)
    #[arg(long)]
    pub node: Option<String>,
}
