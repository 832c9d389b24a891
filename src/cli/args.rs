//! Arguments many verbs share: guest selectors, the targets of a state-changing verb, how long to
//! wait for its task, and one guest.

use clap::Args;

// Selectors that pick guests without naming them (the one selector type of every command).
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

// What `vm list` and `ct list` show.
#[derive(Args, Debug, Clone, Default)]
pub struct ListArgs {
    #[command(flatten)]
    pub sel: Selectors,
    /// Only guests whose name matches this glob (e.g. 'web-*')
    #[arg(long, value_name = "GLOB")]
    pub name: Option<String>,
    #[command(flatten)]
    pub watch: WatchArg,
}

// `--watch [INTERVAL]` of the views that can be watched live.
#[derive(Args, Debug, Clone, Default)]
pub struct WatchArg {
    /// Show it again every INTERVAL (default 2s, at least 1s) until Ctrl-C: redrawn in place on a terminal, a new block each time otherwise
    #[arg(long, value_name = "INTERVAL", num_args = 0..=1, default_missing_value = "2s")]
    pub watch: Option<String>,
}

/// How far back the charts of `--graph` go.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Timeframe {
    /// The last hour, a point a minute
    #[default]
    Hour,
    /// The last day
    Day,
    /// The last week
    Week,
    /// The last month
    Month,
    /// The last year
    Year,
}

// `--graph` of `nodes status` and `vm|ct status`.
#[derive(Args, Debug, Clone, Default)]
pub struct GraphArgs {
    /// Charts of CPU, memory, network and disk IO from PVE's statistics, with min/avg/max (-o json: the series)
    #[arg(long)]
    pub graph: bool,
    /// How far back the charts go
    #[arg(long, value_enum, default_value_t = Timeframe::Hour, requires = "graph")]
    pub timeframe: Timeframe,
    /// Rows of each chart (1: a one-line sparkline)
    #[arg(long, value_name = "ROWS", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=20), requires = "graph")]
    pub height: u16,
}

// Which guests a state-changing verb acts on.
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

// How long to wait for the task.
#[derive(Args, Debug, Clone, Default)]
pub struct WaitArgs {
    /// Print the task id (UPID) and exit without waiting
    #[arg(long = "no-wait", visible_alias = "async")]
    pub no_wait: bool,
    /// Give up waiting after this long (90s, 10m; 0 = for ever); the task keeps running
    #[arg(long, value_name = "DURATION")]
    pub wait_timeout: Option<String>,
}

// One guest.
#[derive(Args, Debug, Clone)]
pub struct GuestTarget {
    /// VMID or name
    pub guest: String,
    /// Node of the guest (with a numeric VMID this saves the lookup)
    #[arg(long)]
    pub node: Option<String>,
}
