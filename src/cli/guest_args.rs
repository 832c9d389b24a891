//! The arguments of the `vm` and `ct` verbs. Where the kinds differ (PVE's power parameters,
//! create, clone, migrate) each has its own struct, flattening what they share.

use std::path::PathBuf;

use clap::Args;

use super::args::{GraphArgs, GuestTarget, Selectors, Targets, WaitArgs, WatchArg};

#[derive(Args, Debug, Clone)]
pub struct ConfigArgs {
    #[command(flatten)]
    pub target: GuestTarget,
    /// Show pending changes (applied at the next restart) beside the current values
    #[arg(long, conflicts_with = "get")]
    pub pending: bool,
    /// Print only this key's raw value (for scripts); exit 5 when it is not set
    #[arg(long, value_name = "KEY")]
    pub get: Option<String>,
}

// `vm|ct status`: now, live (`--watch`) or over time (`--graph`).
#[derive(Args, Debug, Clone)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: GuestTarget,
    #[command(flatten)]
    pub graph: GraphArgs,
    #[command(flatten)]
    pub watch: WatchArg,
}

// ------------------------------------------------------------------------------------- tags

// `vm|ct tag add|remove|set`: guests, then the tags.
#[derive(Args, Debug, Clone)]
pub struct TagArgs {
    /// Guests (VMIDs, names or globs), then the tags as the last argument: `web-1 web-2 prod,eu` (or pick the guests with --all, --tag, --pool, --node, --status and give only the tags)
    #[arg(required = true, value_name = "GUEST… TAGS")]
    pub args: Vec<String>,
    /// Every guest of this kind (templates excluded)
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub sel: Selectors,
    /// At most this many guests at once (default 4, or the profile's `parallel`)
    #[arg(long, value_name = "N")]
    pub parallel: Option<u32>,
    /// Do not ask before changing guests picked by a selector
    #[arg(short, long)]
    pub yes: bool,
}

// ------------------------------------------------------------------------------------ power

// Targets and waiting, what every power verb has.
#[derive(Args, Debug, Clone)]
pub struct PowerArgs {
    #[command(flatten)]
    pub targets: Targets,
    #[command(flatten)]
    pub wait: WaitArgs,
}

#[derive(Args, Debug, Clone)]
pub struct VmStartArgs {
    #[command(flatten)]
    pub power: PowerArgs,
    /// Seconds PVE waits for the VM to start
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u32>,
    /// Ignore a lock (root@pam only)
    #[arg(long)]
    pub skiplock: bool,
    /// QEMU machine type to start with
    #[arg(long)]
    pub machine: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct CtStartArgs {
    #[command(flatten)]
    pub power: PowerArgs,
    /// Ignore a lock (root@pam only)
    #[arg(long)]
    pub skiplock: bool,
    /// Start in debug mode (lxc-start's debug log)
    #[arg(long)]
    pub debug: bool,
}

#[derive(Args, Debug, Clone)]
pub struct VmStopArgs {
    #[command(flatten)]
    pub power: PowerArgs,
    /// Seconds PVE waits before killing the VM
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u32>,
    /// Ignore a lock (root@pam only)
    #[arg(long)]
    pub skiplock: bool,
    /// Keep the disks active (root@pam only)
    #[arg(long = "keepActive", visible_alias = "keep-active")]
    pub keep_active: bool,
    /// Abort a running shutdown task first
    #[arg(long)]
    pub overrule_shutdown: bool,
}

#[derive(Args, Debug, Clone)]
pub struct CtStopArgs {
    #[command(flatten)]
    pub power: PowerArgs,
    /// Ignore a lock (root@pam only)
    #[arg(long)]
    pub skiplock: bool,
    /// Abort a running shutdown task first
    #[arg(long)]
    pub overrule_shutdown: bool,
}

#[derive(Args, Debug, Clone)]
pub struct VmShutdownArgs {
    #[command(flatten)]
    pub power: PowerArgs,
    /// Seconds PVE waits for the VM to power off (PVE's default: 60)
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u32>,
    /// Stop the VM if it has not shut down within --timeout
    #[arg(long = "forceStop", visible_alias = "force-stop")]
    pub force_stop: bool,
    /// Keep the disks active (root@pam only)
    #[arg(long = "keepActive", visible_alias = "keep-active")]
    pub keep_active: bool,
    /// Ignore a lock (root@pam only)
    #[arg(long)]
    pub skiplock: bool,
}

#[derive(Args, Debug, Clone)]
pub struct CtShutdownArgs {
    #[command(flatten)]
    pub power: PowerArgs,
    /// Seconds PVE waits for the container to power off (PVE's default: 60)
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u32>,
    /// Stop the container if it has not shut down within --timeout
    #[arg(long = "forceStop", visible_alias = "force-stop")]
    pub force_stop: bool,
}

#[derive(Args, Debug, Clone)]
pub struct RebootArgs {
    #[command(flatten)]
    pub power: PowerArgs,
    /// Seconds PVE waits for the shutdown part
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u32>,
}

#[derive(Args, Debug, Clone)]
pub struct VmResetArgs {
    #[command(flatten)]
    pub power: PowerArgs,
    /// Ignore a lock (root@pam only)
    #[arg(long)]
    pub skiplock: bool,
}

#[derive(Args, Debug, Clone)]
pub struct VmSuspendArgs {
    #[command(flatten)]
    pub power: PowerArgs,
    /// Suspend to disk (hibernate) instead of pausing
    #[arg(long)]
    pub todisk: bool,
    /// Storage for the VM state, with --todisk
    #[arg(long, requires = "todisk")]
    pub statestorage: Option<String>,
    /// Ignore a lock (root@pam only)
    #[arg(long)]
    pub skiplock: bool,
}

#[derive(Args, Debug, Clone)]
pub struct VmResumeArgs {
    #[command(flatten)]
    pub power: PowerArgs,
    /// Ignore a lock (root@pam only)
    #[arg(long)]
    pub skiplock: bool,
    /// Skip checks (root@pam only)
    #[arg(long)]
    pub nocheck: bool,
}

// Container suspend and resume take no parameters of PVE's.
#[derive(Args, Debug, Clone)]
pub struct CtPowerArgs {
    #[command(flatten)]
    pub power: PowerArgs,
}

// ------------------------------------------------------------------------------ configuration

#[derive(Args, Debug, Clone)]
pub struct SetArgs {
    /// VMID or name
    #[arg(required_unless_present = "help_keys")]
    pub guest: Option<String>,
    /// KEY=VALUE pairs, e.g. memory=4096 'net0=virtio,bridge=vmbr0'
    pub settings: Vec<String>,
    /// Remove these keys (comma-separated; repeatable)
    #[arg(long, value_name = "KEY,…", value_delimiter = ',')]
    pub delete: Vec<String>,
    /// Drop the pending change of these keys (comma-separated; repeatable)
    #[arg(long, value_name = "KEY,…", value_delimiter = ',')]
    pub revert: Vec<String>,
    /// Node of the guest (with a numeric VMID this saves the lookup)
    #[arg(long)]
    pub node: Option<String>,
    /// List the keys this kind's configuration has, with PVE's descriptions, and exit
    #[arg(long, conflicts_with_all = ["guest", "settings", "delete", "revert", "node"])]
    pub help_keys: bool,
    #[command(flatten)]
    pub wait: WaitArgs,
}

#[derive(Args, Debug, Clone)]
pub struct MountAddArgs {
    /// VMID or name of the container
    pub guest: String,
    /// STORAGE:SIZE_GiB (new volume), a volume ID, or an absolute host path (bind mount, root@pam only)
    pub source: String,
    /// Path inside the container, e.g. /srv/data
    pub path: String,
    /// Use this index (mpN) instead of the next free one
    #[arg(long, value_name = "N")]
    pub mp: Option<u32>,
    /// Read-only
    #[arg(long)]
    pub ro: bool,
    /// Include the volume in backups (PVE leaves mount points out unless set)
    #[arg(long)]
    pub backup: bool,
    /// Size to record (e.g. 8G; informational)
    #[arg(long)]
    pub size: Option<String>,
    /// Force ACL support on (1) or off (0)
    #[arg(long, value_parser = ["0", "1"])]
    pub acl: Option<String>,
    /// Enable user quotas
    #[arg(long)]
    pub quota: bool,
    /// Include in storage replication: 1 (PVE's default) or 0
    #[arg(long, value_parser = ["0", "1"])]
    pub replicate: Option<String>,
    /// Mark a non-volume mount point as available on all nodes
    #[arg(long)]
    pub shared: bool,
    /// Mount options, e.g. noatime;nodev
    #[arg(long)]
    pub mountoptions: Option<String>,
    /// Node of the container (with a numeric VMID this saves the lookup)
    #[arg(long)]
    pub node: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct MountRemoveArgs {
    /// VMID or name of the container
    pub guest: String,
    /// The mount point: mpN or its path inside the container
    pub mount: String,
    /// Also destroy the volume (otherwise it stays as unusedN); asks first, or --yes
    #[arg(long)]
    pub destroy: bool,
    /// Do not ask before destroying the volume
    #[arg(short, long)]
    pub yes: bool,
    /// Node of the container (with a numeric VMID this saves the lookup)
    #[arg(long)]
    pub node: Option<String>,
}

// ---------------------------------------------------------------------------------- snapshots

// A guest and one of its snapshots.
#[derive(Args, Debug, Clone)]
pub struct SnapshotArgs {
    /// VMID or name
    pub guest: String,
    /// Name of the snapshot
    pub name: String,
    /// Node of the guest (with a numeric VMID this saves the lookup)
    #[arg(long)]
    pub node: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct SnapshotCreateArgs {
    #[command(flatten)]
    pub snap: SnapshotArgs,
    /// What the snapshot is for
    #[arg(long)]
    pub description: Option<String>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

// --------------------------------------------------------------------------- clone and migrate

#[derive(Args, Debug, Clone)]
pub struct CloneArgs {
    /// VMID or name of the source
    pub guest: String,
    /// VMID of the clone (default: the next free one)
    pub newid: Option<u32>,
    /// What the clone is for
    #[arg(long)]
    pub description: Option<String>,
    /// Full copy instead of a linked clone (templates default to linked)
    #[arg(long)]
    pub full: bool,
    /// Node to create the clone on (shared storage only)
    #[arg(long)]
    pub target: Option<String>,
    /// Storage for a full clone's disks
    #[arg(long)]
    pub storage: Option<String>,
    /// Clone from this snapshot
    #[arg(long)]
    pub snapname: Option<String>,
    /// Add the clone to this pool
    #[arg(long)]
    pub pool: Option<String>,
    /// Bandwidth limit in KiB/s
    #[arg(long)]
    pub bwlimit: Option<u64>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

#[derive(Args, Debug, Clone)]
pub struct VmCloneArgs {
    #[command(flatten)]
    pub clone: CloneArgs,
    /// Name of the clone
    #[arg(long)]
    pub name: Option<String>,
    /// Disk format of a full clone: raw, qcow2 or vmdk
    #[arg(long, value_parser = ["raw", "qcow2", "vmdk"])]
    pub format: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct CtCloneArgs {
    #[command(flatten)]
    pub clone: CloneArgs,
    /// Hostname of the clone
    #[arg(long, visible_alias = "name")]
    pub hostname: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct MigrateArgs {
    /// VMID or name
    pub guest: String,
    /// Target node
    pub target: String,
    /// Storage mapping on the target: one ID, or SRC:DST,…
    #[arg(long, visible_alias = "targetstorage")]
    pub target_storage: Option<String>,
    /// Bandwidth limit in KiB/s
    #[arg(long)]
    pub bwlimit: Option<u64>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

#[derive(Args, Debug, Clone)]
pub struct VmMigrateArgs {
    #[command(flatten)]
    pub migrate: MigrateArgs,
    /// Live migration of a running VM
    #[arg(long)]
    pub online: bool,
    /// Also move local disks
    #[arg(long)]
    pub with_local_disks: bool,
}

#[derive(Args, Debug, Clone)]
pub struct CtMigrateArgs {
    #[command(flatten)]
    pub migrate: MigrateArgs,
    /// Restart mode for a running container: shut it down, move it, start it
    #[arg(long)]
    pub restart: bool,
    /// Shutdown timeout of restart mode, in seconds (PVE's default: 180)
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u32>,
}

// ------------------------------------------------------------------------------------ create

// What creating either kind takes.
#[derive(Args, Debug, Clone)]
pub struct CreateArgs {
    /// Node to create on (default: the profile's node, else the first online node)
    #[arg(long)]
    pub node: Option<String>,
    /// Memory in MiB
    #[arg(long)]
    pub memory: Option<u32>,
    /// CPU cores
    #[arg(long)]
    pub cores: Option<u32>,
    /// Default storage for new disks
    #[arg(long)]
    pub storage: Option<String>,
    /// Add the guest to this pool
    #[arg(long)]
    pub pool: Option<String>,
    /// Start it afterwards
    #[arg(long)]
    pub start: bool,
    #[command(flatten)]
    pub wait: WaitArgs,
}

#[derive(Args, Debug, Clone)]
pub struct VmCreateArgs {
    /// [VMID] (default: the next free one), then KEY=VALUE… settings
    pub args: Vec<String>,
    #[command(flatten)]
    pub create: CreateArgs,
    /// VM name
    #[arg(long)]
    pub name: Option<String>,
    /// CPU sockets
    #[arg(long)]
    pub sockets: Option<u32>,
    /// First NIC, e.g. virtio,bridge=vmbr0
    #[arg(long)]
    pub net0: Option<String>,
    /// First SCSI disk, e.g. local-lvm:32
    #[arg(long)]
    pub scsi0: Option<String>,
    /// ISO to boot from, e.g. local:iso/debian-13.iso (attached as ide2 cdrom)
    #[arg(long)]
    pub iso: Option<String>,
    /// Guest OS type: l26, win11, other…
    #[arg(long)]
    pub ostype: Option<String>,
    #[command(flatten)]
    pub image: ImageArgs,
}

// `vm create --image`: a VM ready to boot from a cloud image.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "From a cloud image")]
pub struct ImageArgs {
    /// Cloud image to boot from: a volume (local:import/debian-13-genericcloud-amd64.qcow2) or an
    /// http(s) URL, downloaded first. Imported as the boot disk scsi0 on --storage, with a
    /// cloud-init drive, a serial console and the guest agent
    #[arg(long, value_name = "VOLUME|URL", conflicts_with_all = ["scsi0"])]
    pub image: Option<String>,
    /// Where a URL is downloaded to (default: a storage of the node with import content)
    #[arg(long, value_name = "STORAGE", requires = "image")]
    pub image_storage: Option<String>,
    /// Grow the boot disk to this size (e.g. 20G; it never shrinks below the image)
    #[arg(long, value_name = "SIZE", requires = "image")]
    pub disk_size: Option<String>,
    #[command(flatten)]
    pub ci: super::disk::CloudinitArgs,
    /// Start the VM and print its address once the guest agent reports one (implies --start)
    #[arg(long, requires = "image")]
    pub wait_ip: bool,
}

#[derive(Args, Debug, Clone)]
pub struct CtCreateArgs {
    /// [VMID] (default: the next free one), the OSTEMPLATE volume, then KEY=VALUE… settings
    pub args: Vec<String>,
    #[command(flatten)]
    pub create: CreateArgs,
    /// Container hostname
    #[arg(long)]
    pub hostname: Option<String>,
    /// Swap in MiB
    #[arg(long)]
    pub swap: Option<u32>,
    /// First NIC, e.g. name=eth0,bridge=vmbr0,ip=dhcp
    #[arg(long)]
    pub net0: Option<String>,
    /// OS type: debian, ubuntu, alpine… (PVE reads it from the template when not given)
    #[arg(long)]
    pub ostype: Option<String>,
    /// Root disk, e.g. local-lvm:8
    #[arg(long)]
    pub rootfs: Option<String>,
    /// File with the root password
    #[arg(long, value_name = "PATH")]
    pub password_file: Option<PathBuf>,
    /// File with SSH public keys for root
    #[arg(long, value_name = "PATH")]
    pub ssh_public_keys: Option<PathBuf>,
    /// Unprivileged container (recommended)
    #[arg(long)]
    pub unprivileged: bool,
}

#[derive(Args, Debug, Clone)]
pub struct TemplateArgs {
    #[command(flatten)]
    pub target: GuestTarget,
    /// Do not ask (a template cannot be started or turned back into a guest)
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Args, Debug, Clone)]
pub struct DeleteArgs {
    /// Guests: VMIDs or names
    #[arg(required = true)]
    pub guests: Vec<String>,
    /// Also remove the guests from backup and replication jobs and HA
    #[arg(long)]
    pub purge: bool,
    /// Also destroy disks not referenced in the config
    #[arg(long)]
    pub destroy_unreferenced_disks: bool,
    /// Stop running guests first (otherwise a running guest is refused)
    #[arg(long)]
    pub stop: bool,
    /// Do not ask
    #[arg(short, long)]
    pub yes: bool,
    #[command(flatten)]
    pub wait: WaitArgs,
}
