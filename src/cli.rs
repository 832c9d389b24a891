//! The whole command-line surface (clap derive) and nothing else.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::api::Secret;

pub const EXIT_CODES: &str = "\
Exit codes:
  0  success (tasks that ended with WARNINGS included)
  1  any other error
  2  usage error (bad flags or arguments, ambiguous guest name, no --yes off a terminal)
  3  configuration error (no host or credentials, invalid config file, unknown profile)
  4  authentication failed or permission denied
  5  not found (guest, node, storage, volume, task)
  6  the API refused the request (locked, no quorum, invalid parameter…)
  7  cannot reach or trust the server (DNS, connect, TLS, timeout, node offline)
  8  a task ran and failed
  9  gave up waiting: the task is still running on the server
  130 interrupted while waiting: the task keeps running";

#[derive(Parser, Debug)]
#[command(
    name = "pvectl",
    version,
    about = "Manage Proxmox VE clusters over the REST API",
    after_help = EXIT_CODES,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone, Default)]
pub struct GlobalArgs {
    /// Output format: table (for people), json (PVE's names and raw units), tsv (raw values)
    #[arg(short = 'o', long, global = true, value_enum)]
    pub output: Option<OutputFormat>,
    /// Columns to show with table and tsv output, comma-separated (e.g. vmid,name,status)
    #[arg(long, global = true, value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Leave out the header line of table and tsv output
    #[arg(long, global = true)]
    pub no_headers: bool,
    /// When to use colour (NO_COLOR is honoured with auto)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// No progress or informational lines on stderr (errors still print)
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// One line per HTTP request on stderr (method, path, status, milliseconds, attempt)
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Configuration file [env: PVECTL_CONFIG]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Profile of the configuration file to use [env: PVECTL_PROFILE]
    #[arg(short = 'P', long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Server: name, IP or https URL (port 8006 unless given) [env: PROXMOX_HOST]
    #[arg(long, global = true)]
    pub host: Option<String>,
    /// Full API token USER@REALM!NAME=SECRET (visible in `ps`: prefer PROXMOX_TOKEN or the config file)
    #[arg(long, global = true, value_name = "TOKEN", value_parser = secret_arg)]
    pub token: Option<Secret>,
    /// Log in with this user's password instead of a token (e.g. root@pam)
    #[arg(long, global = true, value_name = "USER@REALM")]
    pub user: Option<String>,
    /// One-time code for a user with two-factor authentication
    #[arg(long, global = true, value_name = "CODE", value_parser = secret_arg)]
    pub otp: Option<Secret>,
    /// Trust exactly the certificate with this SHA-256 fingerprint [env: PROXMOX_FINGERPRINT]
    #[arg(long, global = true, value_name = "AA:BB:…")]
    pub fingerprint: Option<String>,
    /// Extra CA certificates (PEM) to trust
    #[arg(long, global = true, value_name = "PATH")]
    pub ca_file: Option<PathBuf>,
    /// Do not verify the server's certificate (warns) [env: PROXMOX_INSECURE]
    #[arg(short = 'k', long, global = true)]
    pub insecure: bool,
    /// HTTP request timeout, e.g. 30s (default 60s)
    #[arg(long, global = true, value_name = "DURATION")]
    pub request_timeout: Option<String>,
}

/// A flag value that must not show in `Debug` output (the full token, a one-time code).
fn secret_arg(value: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(value))
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Table,
    Json,
    Tsv,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Client and server version
    Version,
    /// Cluster overview
    #[command(subcommand)]
    Cluster(ClusterCmd),
    /// Cluster nodes
    #[command(subcommand)]
    Nodes(NodesCmd),
    /// QEMU virtual machines
    #[command(subcommand)]
    Vm(GuestCmd),
    /// LXC containers
    #[command(subcommand)]
    Ct(GuestCmd),
    /// Storages and their content
    #[command(subcommand)]
    Storage(StorageCmd),
    /// Tasks: list, status, log, wait, stop
    #[command(subcommand)]
    Tasks(TasksCmd),
    /// Backups (vzdump): create, list, restore, delete, prune, jobs
    #[command(subcommand)]
    Backup(Box<BackupCmd>),
    /// Raw API access, like pvesh: JSON out
    #[command(subcommand)]
    Api(ApiCmd),
    /// Profiles and the configuration file
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Shell completion script on stdout
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand, Debug)]
pub enum ClusterCmd {
    /// Quorum and nodes (GET /cluster/status)
    Status,
    /// Every guest, node and storage of the cluster
    Resources {
        /// Only this type
        #[arg(long = "type", value_enum)]
        kind: Option<ResourceType>,
    },
    /// The next free VMID
    Nextid,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceType {
    Vm,
    Node,
    Storage,
    Sdn,
}

#[derive(Subcommand, Debug)]
pub enum NodesCmd {
    /// Nodes with CPU, memory and uptime
    #[command(visible_alias = "ls")]
    List,
    /// Detail of one node
    Status { node: String },
}

#[derive(Args, Debug, Clone, Default)]
pub struct ListFilters {
    /// Only guests on this node
    #[arg(long)]
    pub node: Option<String>,
    /// Only guests in this state (running, stopped…)
    #[arg(long)]
    pub status: Option<String>,
    /// Only guests with this tag
    #[arg(long)]
    pub tag: Option<String>,
    /// Only guests in this pool
    #[arg(long)]
    pub pool: Option<String>,
    /// Only guests whose name matches this glob (e.g. 'web-*')
    #[arg(long, value_name = "GLOB")]
    pub name: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum GuestCmd {
    /// Guests of the whole cluster, in one request
    #[command(visible_alias = "ls")]
    List(ListFilters),
    /// Current state of one guest
    Status(GuestTarget),
    /// Configuration of one guest
    Config {
        #[command(flatten)]
        target: GuestTarget,
        /// Show pending changes (applied at the next restart) beside the current values
        #[arg(long, conflicts_with = "get")]
        pending: bool,
        /// Print only this key's raw value (for scripts); exit 5 when it is not set
        #[arg(long, value_name = "KEY")]
        get: Option<String>,
    },
    /// Start guests
    Start(StartArgs),
    /// Stop guests at once (like pulling the plug; see shutdown)
    Stop(StopArgs),
    /// Shut guests down cleanly (ACPI / init), waiting up to --timeout
    Shutdown(ShutdownArgs),
    /// Reboot guests (shutdown, then start; applies pending changes)
    Reboot(RebootArgs),
    /// Reset VMs (hard reset; VMs only)
    Reset(ResetArgs),
    /// Suspend guests (pause; VMs also to disk with --todisk)
    Suspend(SuspendArgs),
    /// Resume suspended guests
    Resume(ResumeArgs),
    /// Change the configuration: KEY=VALUE…, --delete, --revert (refused if it changed meanwhile)
    Set(SetArgs),
    /// Container mount points (mpN): list, add, remove
    #[command(subcommand)]
    Mount(MountCmd),
    /// Snapshots: list, create, rollback, delete
    #[command(subcommand)]
    Snapshot(SnapshotCmd),
    /// Clone a guest (the new VMID defaults to the next free one)
    Clone(CloneArgs),
    /// Move a guest to another node
    Migrate(MigrateArgs),
    /// Create a guest: `vm create [VMID] --name … KEY=VALUE…`, `ct create [VMID] OSTEMPLATE …`
    Create(Box<CreateArgs>),
    /// Delete guests and their disks (always asks, or --yes)
    Delete(DeleteArgs),
    /// Turn a guest into a template
    Template(GuestTarget),
}

/// Which guests a state-changing verb acts on.
#[derive(Args, Debug, Clone, Default)]
pub struct Targets {
    /// Guests: VMIDs, names or globs ('web-*')
    pub guests: Vec<String>,
    /// Every guest of this kind (templates excluded)
    #[arg(long)]
    pub all: bool,
    /// Guests with this tag
    #[arg(long)]
    pub tag: Option<String>,
    /// Guests in this pool
    #[arg(long)]
    pub pool: Option<String>,
    /// Guests on this node
    #[arg(long)]
    pub node: Option<String>,
    /// Guests in this state (running, stopped)
    #[arg(long)]
    pub status: Option<String>,
    /// At most this many tasks at once (default 4, or the profile's `parallel`)
    #[arg(long, value_name = "N")]
    pub parallel: Option<u32>,
    /// Do not ask before acting on guests picked by a selector
    #[arg(short, long)]
    pub yes: bool,
}

/// How long to wait for the task.
#[derive(Args, Debug, Clone, Default)]
pub struct WaitArgs {
    /// Print the task id (UPID) and exit without waiting
    #[arg(long = "no-wait", visible_alias = "async")]
    pub no_wait: bool,
    /// Give up waiting after this long (90s, 10m; 0 = for ever); the task keeps running
    #[arg(long, value_name = "DURATION")]
    pub wait_timeout: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct StartArgs {
    #[command(flatten)]
    pub targets: Targets,
    #[command(flatten)]
    pub wait: WaitArgs,
    /// Seconds PVE waits for the VM to start (VMs)
    #[arg(long)]
    pub timeout: Option<u32>,
    /// Ignore a lock (root@pam only)
    #[arg(long)]
    pub skiplock: bool,
    /// QEMU machine type to start with (VMs)
    #[arg(long)]
    pub machine: Option<String>,
    /// Start in debug mode (containers)
    #[arg(long)]
    pub debug: bool,
}

#[derive(Args, Debug, Clone)]
pub struct StopArgs {
    #[command(flatten)]
    pub targets: Targets,
    #[command(flatten)]
    pub wait: WaitArgs,
    /// Seconds PVE waits before killing the VM (VMs)
    #[arg(long)]
    pub timeout: Option<u32>,
    /// Ignore a lock (root@pam only)
    #[arg(long)]
    pub skiplock: bool,
    /// Keep the disks active (root@pam only; VMs)
    #[arg(long = "keepActive", visible_alias = "keep-active")]
    pub keep_active: bool,
    /// Abort a running shutdown task first
    #[arg(long)]
    pub overrule_shutdown: bool,
}

#[derive(Args, Debug, Clone)]
pub struct ShutdownArgs {
    #[command(flatten)]
    pub targets: Targets,
    #[command(flatten)]
    pub wait: WaitArgs,
    /// Seconds PVE waits for the guest to power off (PVE's default: 60)
    #[arg(long)]
    pub timeout: Option<u32>,
    /// Stop the guest if it has not shut down within --timeout
    #[arg(long = "forceStop", visible_alias = "force-stop")]
    pub force_stop: bool,
    /// Keep the disks active (root@pam only; VMs)
    #[arg(long = "keepActive", visible_alias = "keep-active")]
    pub keep_active: bool,
    /// Ignore a lock (root@pam only; VMs)
    #[arg(long)]
    pub skiplock: bool,
}

#[derive(Args, Debug, Clone)]
pub struct RebootArgs {
    #[command(flatten)]
    pub targets: Targets,
    #[command(flatten)]
    pub wait: WaitArgs,
    /// Seconds PVE waits for the shutdown part
    #[arg(long)]
    pub timeout: Option<u32>,
}

#[derive(Args, Debug, Clone)]
pub struct ResetArgs {
    #[command(flatten)]
    pub targets: Targets,
    #[command(flatten)]
    pub wait: WaitArgs,
    /// Ignore a lock (root@pam only)
    #[arg(long)]
    pub skiplock: bool,
}

#[derive(Args, Debug, Clone)]
pub struct SuspendArgs {
    #[command(flatten)]
    pub targets: Targets,
    #[command(flatten)]
    pub wait: WaitArgs,
    /// Suspend to disk (hibernate) instead of pausing (VMs)
    #[arg(long)]
    pub todisk: bool,
    /// Storage for the VM state, with --todisk (VMs)
    #[arg(long, requires = "todisk")]
    pub statestorage: Option<String>,
    /// Ignore a lock (root@pam only; VMs)
    #[arg(long)]
    pub skiplock: bool,
}

#[derive(Args, Debug, Clone)]
pub struct ResumeArgs {
    #[command(flatten)]
    pub targets: Targets,
    #[command(flatten)]
    pub wait: WaitArgs,
    /// Ignore a lock (root@pam only; VMs)
    #[arg(long)]
    pub skiplock: bool,
    /// Skip checks (root@pam only; VMs)
    #[arg(long)]
    pub nocheck: bool,
}

#[derive(Args, Debug, Clone)]
pub struct SetArgs {
    /// VMID or name
    pub guest: String,
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
    #[command(flatten)]
    pub wait: WaitArgs,
}

#[derive(Subcommand, Debug, Clone)]
pub enum MountCmd {
    /// The mount points of a container
    #[command(visible_alias = "ls")]
    List(GuestTarget),
    /// Add a mount point: a new volume (STORAGE:SIZE_GiB), an existing volume, or a host path (bind)
    Add(MountAddArgs),
    /// Remove a mount point (its volume stays as unusedN unless --destroy)
    Remove(MountRemoveArgs),
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
    #[arg(long)]
    pub node: Option<String>,
}

#[derive(Subcommand, Debug, Clone)]
pub enum SnapshotCmd {
    /// Snapshots as a tree, with the current position
    #[command(visible_alias = "ls")]
    List(GuestTarget),
    /// Take a snapshot
    Create {
        guest: String,
        name: String,
        /// Include the RAM of a running VM
        #[arg(long)]
        vmstate: bool,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        node: Option<String>,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Go back to a snapshot (asks first, or --yes)
    Rollback {
        guest: String,
        name: String,
        /// Start the guest afterwards
        #[arg(long)]
        start: bool,
        #[arg(short, long)]
        yes: bool,
        #[arg(long)]
        node: Option<String>,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Delete a snapshot (asks first, or --yes)
    Delete {
        guest: String,
        name: String,
        /// Drop it from the config even if removing the disk snapshot fails
        #[arg(long)]
        force: bool,
        #[arg(short, long)]
        yes: bool,
        #[arg(long)]
        node: Option<String>,
        #[command(flatten)]
        wait: WaitArgs,
    },
}

#[derive(Args, Debug, Clone)]
pub struct CloneArgs {
    /// VMID or name of the source
    pub guest: String,
    /// VMID of the clone (default: the next free one)
    pub newid: Option<u32>,
    /// Name of the clone (VMs: name; containers: hostname)
    #[arg(long, visible_alias = "hostname")]
    pub name: Option<String>,
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
    #[arg(long)]
    pub pool: Option<String>,
    /// Disk format of a full clone: raw, qcow2 or vmdk (VMs)
    #[arg(long, value_parser = ["raw", "qcow2", "vmdk"])]
    pub format: Option<String>,
    /// Bandwidth limit in KiB/s
    #[arg(long)]
    pub bwlimit: Option<u64>,
    #[arg(long)]
    pub node: Option<String>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

#[derive(Args, Debug, Clone)]
pub struct MigrateArgs {
    /// VMID or name
    pub guest: String,
    /// Target node
    pub target: String,
    /// Live migration of a running VM
    #[arg(long)]
    pub online: bool,
    /// Also move local disks (VMs)
    #[arg(long)]
    pub with_local_disks: bool,
    /// Storage mapping on the target: one ID, or SRC:DST,…
    #[arg(long, visible_alias = "targetstorage")]
    pub target_storage: Option<String>,
    /// Restart mode for a running container: shut down, move, start
    #[arg(long)]
    pub restart: bool,
    /// Shutdown timeout of restart mode, seconds (containers)
    #[arg(long)]
    pub timeout: Option<u32>,
    /// Bandwidth limit in KiB/s
    #[arg(long)]
    pub bwlimit: Option<u64>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

#[derive(Args, Debug, Clone)]
pub struct CreateArgs {
    /// [VMID] (default: the next free one), for containers the OSTEMPLATE volume, then KEY=VALUE…
    pub args: Vec<String>,
    /// Node to create on (default: the profile's node, else the first online node)
    #[arg(long)]
    pub node: Option<String>,
    /// VM name
    #[arg(long)]
    pub name: Option<String>,
    /// Container hostname
    #[arg(long)]
    pub hostname: Option<String>,
    /// Memory in MiB
    #[arg(long)]
    pub memory: Option<u32>,
    #[arg(long)]
    pub cores: Option<u32>,
    /// CPU sockets (VMs)
    #[arg(long)]
    pub sockets: Option<u32>,
    /// Swap in MiB (containers)
    #[arg(long)]
    pub swap: Option<u32>,
    /// First NIC, e.g. virtio,bridge=vmbr0 (VMs) or name=eth0,bridge=vmbr0,ip=dhcp (containers)
    #[arg(long)]
    pub net0: Option<String>,
    /// First SCSI disk, e.g. local-lvm:32 (VMs)
    #[arg(long)]
    pub scsi0: Option<String>,
    /// ISO to boot from, e.g. local:iso/debian-13.iso (VMs; attached as ide2 cdrom)
    #[arg(long)]
    pub iso: Option<String>,
    /// Guest OS type (l26, win11…; containers: debian, ubuntu…)
    #[arg(long)]
    pub ostype: Option<String>,
    /// Root disk, e.g. local-lvm:8 (containers)
    #[arg(long)]
    pub rootfs: Option<String>,
    /// Default storage for new disks
    #[arg(long)]
    pub storage: Option<String>,
    /// File with the root password (containers)
    #[arg(long, value_name = "PATH")]
    pub password_file: Option<std::path::PathBuf>,
    /// File with SSH public keys for root (containers)
    #[arg(long, value_name = "PATH")]
    pub ssh_public_keys: Option<std::path::PathBuf>,
    /// Unprivileged container (recommended)
    #[arg(long)]
    pub unprivileged: bool,
    #[arg(long)]
    pub pool: Option<String>,
    /// Start it afterwards
    #[arg(long)]
    pub start: bool,
    #[command(flatten)]
    pub wait: WaitArgs,
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

#[derive(Args, Debug, Clone)]
pub struct GuestTarget {
    /// VMID or name
    pub guest: String,
    /// Node of the guest (with a numeric VMID this saves the lookup)
    #[arg(long)]
    pub node: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum StorageCmd {
    /// Storages with usage; a shared storage is listed once
    #[command(visible_alias = "ls")]
    List {
        /// Storages as seen from this node
        #[arg(long)]
        node: Option<String>,
    },
    /// Usage of one storage
    Status {
        storage: String,
        /// Node to ask (default: a node that has the storage)
        #[arg(long)]
        node: Option<String>,
    },
    /// Volumes on a storage
    Content {
        storage: String,
        /// Only this content type (images, rootdir, vztmpl, iso, backup, snippets, import)
        #[arg(long)]
        content: Option<String>,
        /// Only volumes of this guest
        #[arg(long)]
        vmid: Option<u32>,
        /// Node to ask (default: every node that has the storage; one for a shared storage)
        #[arg(long)]
        node: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum TasksCmd {
    /// Recent tasks of every node, newest first
    #[command(visible_alias = "ls")]
    List {
        /// Only this node
        #[arg(long)]
        node: Option<String>,
        /// Only tasks of this guest
        #[arg(long)]
        vmid: Option<u32>,
        /// Only this task type (qmstart, vzdump…)
        #[arg(long = "type", value_name = "TYPE")]
        kind: Option<String>,
        /// Only failed tasks
        #[arg(long)]
        errors: bool,
        /// Also list running tasks (PVE lists finished ones by default)
        #[arg(long)]
        running: bool,
        /// At most this many tasks
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Status of one task
    Status { upid: String },
    /// The log of one task
    Log {
        upid: String,
        /// Keep printing new lines until the task ends, then exit with its verdict
        #[arg(short, long)]
        follow: bool,
    },
    /// Wait for tasks and exit with their verdict (0 OK or warnings, 8 failed, 9 still running)
    Wait {
        #[arg(required = true)]
        upids: Vec<String>,
        /// Give up waiting after this long (90s, 10m; 0 = for ever)
        #[arg(long, value_name = "DURATION")]
        wait_timeout: Option<String>,
    },
    /// Stop (cancel) a running task
    Stop { upid: String },
}

#[derive(Subcommand, Debug)]
pub enum BackupCmd {
    /// Back guests up: one vzdump per node, all nodes at once, waited for
    Create(Box<BackupCreateArgs>),
    /// Backup archives on every storage that holds backups, newest first
    #[command(visible_alias = "ls")]
    List(BackupListArgs),
    /// Restore a backup as a VM or container
    Restore(BackupRestoreArgs),
    /// Delete backup archives
    Delete(BackupDeleteArgs),
    /// Remove old backups by retention rules (PVE's own simulation shown first)
    Prune(BackupPruneArgs),
    /// Scheduled backup jobs of the cluster
    Jobs,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackupMode {
    Snapshot,
    Suspend,
    Stop,
}

#[derive(Args, Debug, Clone)]
pub struct BackupCreateArgs {
    /// Guests (VMs and containers): VMIDs, names or globs
    pub guests: Vec<String>,
    /// Every guest of the cluster (templates included)
    #[arg(long)]
    pub all: bool,
    /// With --all: leave these guests out (VMIDs, names or globs)
    #[arg(long, value_name = "GUEST", num_args = 1.., requires = "all")]
    pub exclude: Vec<String>,
    /// Guests in this pool
    #[arg(long)]
    pub pool: Option<String>,
    /// Guests with this tag
    #[arg(long)]
    pub tag: Option<String>,
    /// Guests on this node
    #[arg(long)]
    pub node: Option<String>,
    /// Target storage (default: the node's vzdump.conf, else `local`)
    #[arg(long)]
    pub storage: Option<String>,
    /// snapshot (default), suspend or stop
    #[arg(long, value_enum)]
    pub mode: Option<BackupMode>,
    /// 0, 1, gzip, lzo or zstd
    #[arg(long, value_parser = ["0", "1", "gzip", "lzo", "zstd"])]
    pub compress: Option<String>,
    /// Notes of the new backups: {{cluster}} {{guestname}} {{node}} {{vmid}} (needs --storage)
    #[arg(long)]
    pub notes_template: Option<String>,
    /// Mark the new backups protected (needs --storage)
    #[arg(long)]
    pub protected: bool,
    /// Retention instead of the storage's, e.g. keep-last=3,keep-weekly=2
    #[arg(long)]
    pub prune_backups: Option<String>,
    /// Prune old backups afterwards: 1 (PVE's default) or 0
    #[arg(long, value_parser = ["0", "1"])]
    pub remove: Option<String>,
    /// Bandwidth limit in KiB/s
    #[arg(long)]
    pub bwlimit: Option<u64>,
    /// zstd threads (0 = half the cores)
    #[arg(long)]
    pub zstd: Option<u32>,
    /// pigz threads with gzip (1 = half the cores)
    #[arg(long)]
    pub pigz: Option<u32>,
    /// I/O priority 0..8 (8 = idle)
    #[arg(long)]
    pub ionice: Option<u8>,
    /// Minutes to wait for the global vzdump lock
    #[arg(long)]
    pub lockwait: Option<u32>,
    /// Minutes to wait for a guest to stop (stop mode)
    #[arg(long)]
    pub stopwait: Option<u32>,
    /// Mail the report to these addresses (deprecated in PVE: notifications)
    #[arg(long)]
    pub mailto: Option<String>,
    /// always or failure (deprecated in PVE: notifications)
    #[arg(long, value_parser = ["always", "failure"])]
    pub mailnotification: Option<String>,
    /// auto, legacy-sendmail or notification-system
    #[arg(long, value_parser = ["auto", "legacy-sendmail", "notification-system"])]
    pub notification_mode: Option<String>,
    /// Leave these paths out of container backups (shell globs; repeat the flag)
    #[arg(long, value_name = "GLOB")]
    pub exclude_path: Vec<String>,
    /// Fleecing for VM backups, e.g. enabled=1,storage=local-lvm
    #[arg(long)]
    pub fleecing: Option<String>,
    /// Do not ask before stop or suspend mode pauses running guests picked by a selector
    #[arg(short, long)]
    pub yes: bool,
    #[command(flatten)]
    pub wait: WaitArgs,
}

#[derive(Args, Debug, Clone)]
pub struct BackupListArgs {
    /// Only backups of these guests (VMIDs, names or globs; a VMID also for a guest that is gone)
    pub guests: Vec<String>,
    /// Only this storage
    #[arg(long)]
    pub storage: Option<String>,
    /// Only storages as seen from this node
    #[arg(long)]
    pub node: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct BackupRestoreArgs {
    /// Backup volume ID (local:backup/vzdump-qemu-100-….vma.zst); or a guest with --latest
    pub volid: String,
    /// Restore the newest backup of the guest given instead of a volume ID
    #[arg(long)]
    pub latest: bool,
    /// VMID of the restored guest (default: the archive's, or the next free one if taken)
    #[arg(long)]
    pub vmid: Option<u32>,
    /// Node to restore on (default: the archive's node, or the guest's)
    #[arg(long)]
    pub node: Option<String>,
    /// Storage for the disks (default: as in the backup)
    #[arg(long)]
    pub storage: Option<String>,
    /// Overwrite an existing guest with that VMID (asks first; it must be stopped)
    #[arg(long)]
    pub force: bool,
    /// New MAC addresses and a new VM generation id
    #[arg(long)]
    pub unique: bool,
    /// Start the guest afterwards
    #[arg(long)]
    pub start: bool,
    /// Add the guest to this pool
    #[arg(long)]
    pub pool: Option<String>,
    /// Bandwidth limit in KiB/s
    #[arg(long)]
    pub bwlimit: Option<u64>,
    /// Do not ask before overwriting
    #[arg(short, long)]
    pub yes: bool,
    #[command(flatten)]
    pub wait: WaitArgs,
}

#[derive(Args, Debug, Clone)]
pub struct BackupDeleteArgs {
    /// Backup volume IDs
    #[arg(required = true)]
    pub volids: Vec<String>,
    /// Node that holds a local storage (default: found by looking)
    #[arg(long)]
    pub node: Option<String>,
    /// Do not ask
    #[arg(short, long)]
    pub yes: bool,
    #[command(flatten)]
    pub wait: WaitArgs,
}

#[derive(Args, Debug, Clone)]
pub struct BackupPruneArgs {
    /// Storage to prune
    pub storage: String,
    /// Only backups of this guest
    #[arg(long)]
    pub vmid: Option<u32>,
    /// Only backups of this kind
    #[arg(long = "type", value_parser = ["qemu", "lxc"])]
    pub kind: Option<String>,
    /// Node whose (local) storage to prune (default: every node that has it; a shared one once)
    #[arg(long)]
    pub node: Option<String>,
    #[arg(long)]
    pub keep_last: Option<u32>,
    #[arg(long)]
    pub keep_hourly: Option<u32>,
    #[arg(long)]
    pub keep_daily: Option<u32>,
    #[arg(long)]
    pub keep_weekly: Option<u32>,
    #[arg(long)]
    pub keep_monthly: Option<u32>,
    #[arg(long)]
    pub keep_yearly: Option<u32>,
    /// Only show what would be kept and removed
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask before removing
    #[arg(short, long)]
    pub yes: bool,
    #[command(flatten)]
    pub wait: WaitArgs,
}

#[derive(Subcommand, Debug)]
pub enum ApiCmd {
    /// GET a path, e.g. `pvectl api get /nodes/pve1/qemu full=1`
    Get(ApiArgs),
    /// POST to a path
    Post(ApiArgs),
    /// PUT to a path
    Put(ApiArgs),
    /// DELETE a path
    Delete(ApiArgs),
}

#[derive(Args, Debug)]
pub struct ApiArgs {
    /// Path under /api2/json, e.g. /cluster/resources
    pub path: String,
    /// Parameters as KEY=VALUE (repeat a key for arrays)
    pub params: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum ConfigCmd {
    /// Create or update a profile (the one of --profile, else "default"): connect, pin the
    /// certificate, check the credentials
    Init(InitArgs),
    /// The settings in effect (secrets redacted)
    Show,
    /// The profiles of the configuration file
    Profiles,
    /// Make a profile the default
    Use { name: String },
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// API token id, USER@REALM!NAME
    #[arg(long)]
    pub token_id: Option<String>,
    /// File holding the token secret
    #[arg(long, value_name = "PATH")]
    pub token_secret_file: Option<PathBuf>,
    /// File holding the password (with --user)
    #[arg(long, value_name = "PATH")]
    pub password_file: Option<PathBuf>,
    /// Default node for node-scoped commands
    #[arg(long)]
    pub node: Option<String>,
    /// Trust the presented certificate without asking
    #[arg(short, long)]
    pub yes: bool,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Cli;

    #[test]
    fn secrets_given_as_flags_never_show_in_debug_output() {
        let cli = Cli::try_parse_from([
            "pvectl",
            "--token",
            "root@pam!cli=0f6b1c2e-TOPSECRET",
            "--otp",
            "654321",
            "version",
        ])
        .unwrap();
        let shown = format!("{cli:?}");
        assert!(!shown.contains("TOPSECRET"), "{shown}");
        assert!(!shown.contains("654321"), "{shown}");
        assert_eq!(
            cli.global.token.as_ref().map(|t| t.expose()),
            Some("root@pam!cli=0f6b1c2e-TOPSECRET")
        );
    }
}
