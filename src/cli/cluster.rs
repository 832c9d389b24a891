//! `cluster` and `nodes`.

use clap::{Subcommand, ValueEnum};

#[derive(Subcommand, Debug)]
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
pub enum NodesCmd {
    /// Nodes with CPU, memory and uptime
    #[command(visible_alias = "ls")]
    List,
    /// Detail of one node
    Status {
        /// Name of the node
        node: String,
    },
}
