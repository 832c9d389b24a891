//! `backup`: vzdump and what it made.

use clap::{Args, Subcommand, ValueEnum};

use super::args::{Selectors, WaitArgs};

#[derive(Subcommand, Debug)]
#[command(defer = true)]
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
    /// The guests keep running (PVE's default)
    Snapshot,
    /// Suspended guests for a consistent copy
    Suspend,
    /// Stopped guests, started again afterwards
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
    #[command(flatten)]
    pub sel: Selectors,
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
    /// Keep the newest N backups
    #[arg(long, value_name = "N")]
    pub keep_last: Option<u32>,
    /// Keep the newest backup of each of the last N hours
    #[arg(long, value_name = "N")]
    pub keep_hourly: Option<u32>,
    /// Keep the newest backup of each of the last N days
    #[arg(long, value_name = "N")]
    pub keep_daily: Option<u32>,
    /// Keep the newest backup of each of the last N weeks
    #[arg(long, value_name = "N")]
    pub keep_weekly: Option<u32>,
    /// Keep the newest backup of each of the last N months
    #[arg(long, value_name = "N")]
    pub keep_monthly: Option<u32>,
    /// Keep the newest backup of each of the last N years
    #[arg(long, value_name = "N")]
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
