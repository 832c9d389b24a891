//! The arguments of `nodes` verbs beyond list and status: maintenance (drain, undrain, reboot,
//! shutdown) and the read side of patching (services, updates).

use clap::Args;

use super::args::{GraphArgs, WatchArg};

#[derive(Args, Debug, Clone)]
pub struct NodeStatusArgs {
    /// Name of the node
    pub node: String,
    #[command(flatten)]
    pub graph: GraphArgs,
    #[command(flatten)]
    pub watch: WatchArg,
}

#[derive(Args, Debug, Clone)]
pub struct DrainArgs {
    /// The node to empty
    pub node: String,
    /// Move the guests only to these nodes (repeat, or separate with commas)
    #[arg(long, value_name = "NODE", value_delimiter = ',')]
    pub to: Vec<String>,
    /// Show the plan (guest, from, to, how, why) and move nothing
    #[arg(long)]
    pub dry_run: bool,
    /// At most this many guests on the move at once (default 4, or the profile's `parallel`)
    #[arg(long, value_name = "N")]
    pub parallel: Option<u32>,
    /// Move stopped guests and templates too (they stay on the node by default)
    #[arg(long)]
    pub include_stopped: bool,
    /// Move running VMs with disks on local storage offline (shut down, move, start on the target) instead of live
    #[arg(long)]
    pub offline_local_disks: bool,
    /// Do not ask (needed without a terminal)
    #[arg(short, long)]
    pub yes: bool,
    /// Give up waiting for each guest's move after this long (90s, 10m; 0 = for ever; default 30m)
    #[arg(long, value_name = "DURATION")]
    pub wait_timeout: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct UndrainArgs {
    /// The node a drain emptied
    pub node: String,
    /// Show the plan and move nothing
    #[arg(long)]
    pub dry_run: bool,
    /// At most this many guests on the move at once (default 4, or the profile's `parallel`)
    #[arg(long, value_name = "N")]
    pub parallel: Option<u32>,
    /// Move running VMs with disks on local storage offline (shut down, move, start) instead of live
    #[arg(long)]
    pub offline_local_disks: bool,
    /// Do not ask (needed without a terminal)
    #[arg(short, long)]
    pub yes: bool,
    /// Give up waiting for each guest's move after this long (90s, 10m; 0 = for ever; default 30m)
    #[arg(long, value_name = "DURATION")]
    pub wait_timeout: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct NodePowerArgs {
    /// Name of the node
    pub node: String,
    /// Go ahead although guests run on the node
    #[arg(long)]
    pub force: bool,
    /// Do not ask (needed without a terminal)
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Args, Debug, Clone)]
pub struct UpdatesArgs {
    /// Name of the node
    pub node: String,
    /// Refresh the package index first (apt update, a task on the node)
    #[arg(long)]
    pub refresh: bool,
    /// With --refresh: give up waiting for it after this long (90s, 10m; 0 = for ever)
    #[arg(long, value_name = "DURATION", requires = "refresh")]
    pub wait_timeout: Option<String>,
}
