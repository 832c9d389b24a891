//! `cluster` and `nodes`.

use clap::{Args, Subcommand, ValueEnum};

use super::args::WatchArg;
use super::nodes::{DrainArgs, NodePowerArgs, NodeStatusArgs, UndrainArgs, UpdatesArgs};

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum ClusterCmd {
    /// Quorum and nodes (GET /cluster/status)
    Status,
    /// Every guest, node and storage of the cluster
    Resources {
        /// Only this type of resource
        #[arg(long = "type", value_enum)]
        kind: Option<ResourceType>,
    },
    /// The next free VMID
    Nextid,
    /// The busiest guests and nodes by CPU, memory and IO, refreshed like top (Ctrl-C ends it)
    Top(TopArgs),
}

#[derive(Args, Debug, Clone)]
pub struct TopArgs {
    /// Order the guests by this
    #[arg(long, value_enum, default_value_t = TopSort::Cpu)]
    pub sort: TopSort,
    /// Show this many guests (default: what fits the terminal, 20 without one)
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Refresh every INTERVAL (at least 1s)
    #[arg(long, value_name = "DURATION", default_value = "2s")]
    pub interval: String,
    /// Print one view and exit (two samples an interval apart, for the IO rates)
    #[arg(long)]
    pub once: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopSort {
    /// CPU use
    Cpu,
    /// Memory in use
    Mem,
    /// Disk reads and writes per second
    Disk,
    /// Network traffic per second
    Net,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceType {
    /// VMs and containers
    Vm,
    /// Nodes
    Node,
    /// Storages
    Storage,
    /// SDN zones
    Sdn,
}

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum NodesCmd {
    /// Nodes with CPU, memory and uptime
    #[command(visible_alias = "ls")]
    List {
        #[command(flatten)]
        watch: WatchArg,
    },
    /// Detail of one node; --graph for its CPU, memory and network over time
    Status(NodeStatusArgs),
    /// Move every guest off a node for maintenance (live where they run; HA guests through HA)
    Drain(DrainArgs),
    /// Move the guests a drain took off a node back to it
    Undrain(UndrainArgs),
    /// Reboot a node (asks first; refuses while guests run on it unless --force)
    Reboot(NodePowerArgs),
    /// Shut a node down (asks first; refuses while guests run on it unless --force)
    Shutdown(NodePowerArgs),
    /// PVE's services on a node and their state
    Services {
        /// Name of the node
        node: String,
    },
    /// Packages with an update on a node (what apt would upgrade)
    Updates(UpdatesArgs),
}
