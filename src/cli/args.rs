//! Arguments many verbs share: guest selectors, the targets of a state-changing verb, how long to
//! wait for its task, and one guest.

use clap::Args;

/// Selectors that pick guests without naming them (the one selector type of every command).
#[derive(Args, Debug, Clone, Default)]
pub struct Selectors {
    /// Only guests with this tag
    #[arg(long)]
    pub tag: Option<String>,
    /// Only guests in this pool
    #[arg(long)]
    pub pool: Option<String>,
    /// Only guests on this node
    #[arg(long)]
    pub node: Option<String>,
    /// Only guests in this state
    #[arg(long, value_parser = ["running", "stopped", "paused", "suspended", "unknown"])]
    pub status: Option<String>,
}

/// What `vm list` and `ct list` show.
#[derive(Args, Debug, Clone, Default)]
pub struct ListArgs {
    #[command(flatten)]
    pub sel: Selectors,
    /// Only guests whose name matches this glob (e.g. 'web-*')
    #[arg(long, value_name = "GLOB")]
    pub name: Option<String>,
}

/// Which guests a state-changing verb acts on.
#[derive(Args, Debug, Clone, Default)]
pub struct Targets {
    /// Guests: VMIDs, names or globs ('web-*')
    pub guests: Vec<String>,
    /// Every guest of this kind (templates excluded)
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub sel: Selectors,
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

/// One guest.
#[derive(Args, Debug, Clone)]
pub struct GuestTarget {
    /// VMID or name
    pub guest: String,
    /// Node of the guest (with a numeric VMID this saves the lookup)
    #[arg(long)]
    pub node: Option<String>,
}
