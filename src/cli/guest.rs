//! `vm` and `ct`: two trees that flatten the verbs both kinds share, so each `--help` lists only
//! what its kind has (`vm reset` but no `ct reset`, `ct mount` but no `vm mount`).

use clap::Subcommand;

use super::apply::{EditArgs, ExportArgs};
use super::args::{GuestTarget, ListArgs, WaitArgs};
use super::disk::{CloudinitCmd, CtDiskCmd, VmDiskCmd};
use super::firewall::GuestFirewallCmd;
use super::guest_args::*;
use super::guest_inside::*;

/// Verbs that read, the same for both kinds.
#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum GuestRead {
    /// Guests of the whole cluster, in one request
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Current state of one guest; --watch to follow it, --graph for its history
    Status(StatusArgs),
    /// Configuration of one guest
    Config(ConfigArgs),
}

/// Verbs that remove a guest or make it a template, the same for both kinds.
#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum GuestEnd {
    /// Delete guests and their disks (always asks, or --yes)
    Delete(DeleteArgs),
    /// Turn a guest into a template (irreversible: asks first, or --yes)
    Template(TemplateArgs),
}

/// Declarative verbs, the same for both kinds.
#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum GuestDeclare {
    /// Edit the configuration as TOML in $VISUAL/$EDITOR, then apply it (refused if it changed
    /// meanwhile; the edit is kept)
    Edit(EditArgs),
    /// The guests' configurations (with pool, HA and firewall options) as TOML, for `pvectl apply`
    Export(ExportArgs),
}

/// `vm create`, built with `vm` rather than deferred like the other verbs: clap orders a help
/// page's sections by their first option, and a deferred command gets the global options before
/// its own, which would put "Global options" above "From a cloud image".
#[derive(Subcommand, Debug)]
pub enum VmCreateCmd {
    /// Create a VM: `vm create [VMID] --name … KEY=VALUE…`, or ready to boot from a cloud image
    /// with --image
    Create(Box<VmCreateArgs>),
}

/// `pvectl vm …`
#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum VmCmd {
    #[command(flatten)]
    Read(GuestRead),
    /// Start VMs
    Start(VmStartArgs),
    /// Stop VMs at once (like pulling the plug; see shutdown)
    Stop(VmStopArgs),
    /// Shut VMs down cleanly (ACPI), waiting up to --timeout
    Shutdown(VmShutdownArgs),
    /// Reboot VMs (shutdown, then start; applies pending changes)
    Reboot(RebootArgs),
    /// Hard-reset VMs
    Reset(VmResetArgs),
    /// Suspend VMs: pause them, or hibernate to disk with --todisk
    Suspend(VmSuspendArgs),
    /// Resume paused VMs
    Resume(VmResumeArgs),
    /// Change the configuration: KEY=VALUE…, --delete, --revert (refused if it changed meanwhile)
    Set(SetArgs),
    #[command(flatten)]
    Declare(GuestDeclare),
    /// Snapshots: list, create, rollback, delete
    #[command(subcommand)]
    Snapshot(VmSnapshotCmd),
    /// Tags: add, remove, set (on one guest or many)
    #[command(subcommand)]
    Tag(TagCmd),
    /// Clone a VM (the new VMID defaults to the next free one)
    Clone(VmCloneArgs),
    /// Move a VM to another node
    Migrate(VmMigrateArgs),
    #[command(flatten)]
    Create(VmCreateCmd),
    #[command(flatten)]
    Inside(GuestInside),
    /// Run a command in VMs through the guest agent, with its output and exit code
    Exec(VmExecArgs),
    /// Copy files into and out of a VM through the guest agent
    #[command(subcommand)]
    File(FileCmd),
    /// The VM's serial console in this terminal (Ctrl-] leaves); --vnc for the screen
    Console(VmConsoleArgs),
    /// The VM's firewall: rules, options, aliases, IP sets, export, apply
    #[command(subcommand)]
    Firewall(GuestFirewallCmd),
    #[command(flatten)]
    End(GuestEnd),
    /// Disks: list, resize, move, detach, import
    #[command(subcommand)]
    Disk(VmDiskCmd),
    /// Cloud-init: set, show, regenerate
    #[command(subcommand)]
    Cloudinit(CloudinitCmd),
}

/// `pvectl ct …`
#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum CtCmd {
    #[command(flatten)]
    Read(GuestRead),
    /// Start containers
    Start(CtStartArgs),
    /// Stop containers at once (like pulling the plug; see shutdown)
    Stop(CtStopArgs),
    /// Shut containers down cleanly, waiting up to --timeout
    Shutdown(CtShutdownArgs),
    /// Reboot containers (shutdown, then start; applies pending changes)
    Reboot(RebootArgs),
    /// Suspend (freeze) containers
    Suspend(CtPowerArgs),
    /// Resume suspended containers
    Resume(CtPowerArgs),
    /// Change the configuration: KEY=VALUE…, --delete, --revert (refused if it changed meanwhile)
    Set(SetArgs),
    #[command(flatten)]
    Declare(GuestDeclare),
    /// Mount points (mpN): list, add, remove
    #[command(subcommand)]
    Mount(MountCmd),
    /// Snapshots: list, create, rollback, delete
    #[command(subcommand)]
    Snapshot(CtSnapshotCmd),
    /// Tags: add, remove, set (on one guest or many)
    #[command(subcommand)]
    Tag(TagCmd),
    /// Clone a container (the new VMID defaults to the next free one)
    Clone(CtCloneArgs),
    /// Move a container to another node
    Migrate(CtMigrateArgs),
    /// Create a container: `ct create [VMID] OSTEMPLATE --hostname … KEY=VALUE…`
    Create(Box<CtCreateArgs>),
    #[command(flatten)]
    Inside(GuestInside),
    /// Run a command in a container: `pct exec` on its node over SSH (opt-in: --ssh)
    Exec(CtExecArgs),
    /// The container's console in this terminal (Ctrl-] leaves)
    Console(GuestTarget),
    /// The container's firewall: rules, options, aliases, IP sets, export, apply
    #[command(subcommand)]
    Firewall(GuestFirewallCmd),
    #[command(flatten)]
    End(GuestEnd),
    /// Volumes: list, resize, move
    #[command(subcommand)]
    Disk(CtDiskCmd),
}

#[derive(Subcommand, Debug, Clone)]
#[command(defer = true)]
pub enum VmSnapshotCmd {
    #[command(flatten)]
    Common(SnapshotVerbs),
    /// Take a snapshot
    Create {
        #[command(flatten)]
        snap: SnapshotCreateArgs,
        /// Include the RAM of a running VM
        #[arg(long)]
        vmstate: bool,
    },
}

#[derive(Subcommand, Debug, Clone)]
#[command(defer = true)]
pub enum CtSnapshotCmd {
    #[command(flatten)]
    Common(SnapshotVerbs),
    /// Take a snapshot
    Create(SnapshotCreateArgs),
}

/// Snapshot verbs both kinds have alike.
#[derive(Subcommand, Debug, Clone)]
#[command(defer = true)]
pub enum SnapshotVerbs {
    /// Snapshots as a tree, with the current position
    #[command(visible_alias = "ls")]
    List(GuestTarget),
    /// Go back to a snapshot (asks first, or --yes)
    Rollback {
        #[command(flatten)]
        snap: SnapshotArgs,
        /// Start the guest afterwards
        #[arg(long)]
        start: bool,
        /// Do not ask
        #[arg(short, long)]
        yes: bool,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Delete a snapshot (asks first, or --yes)
    Delete {
        #[command(flatten)]
        snap: SnapshotArgs,
        /// Drop it from the config even if removing the disk snapshot fails
        #[arg(long)]
        force: bool,
        /// Do not ask
        #[arg(short, long)]
        yes: bool,
        #[command(flatten)]
        wait: WaitArgs,
    },
}

/// Tag verbs, the same for both kinds.
#[derive(Subcommand, Debug, Clone)]
#[command(defer = true)]
pub enum TagCmd {
    /// Add tags to guests (those they have stay)
    Add(TagArgs),
    /// Remove tags from guests
    Remove(TagArgs),
    /// Give guests exactly these tags ('' for none)
    Set(TagArgs),
}

#[derive(Subcommand, Debug, Clone)]
#[command(defer = true)]
pub enum MountCmd {
    /// The mount points of a container
    #[command(visible_alias = "ls")]
    List(GuestTarget),
    /// Add a mount point: a new volume (STORAGE:SIZE_GiB), an existing volume, or a host path (bind)
    Add(MountAddArgs),
    /// Remove a mount point (its volume stays as unusedN unless --destroy)
    Remove(MountRemoveArgs),
}
