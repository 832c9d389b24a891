//! `firewall` (the cluster's, or a node's with `--node`) and `vm|ct firewall` (a guest's): the
//! same verbs, with the scope as one parameter, as guest kinds are. Security groups and macros
//! belong to the cluster, so only `pvectl firewall` has them; a group's rules are `firewall rules
//! … --group NAME`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::args::GuestTarget;

// The scope of `pvectl firewall …`: the cluster (default) or a node.
#[derive(Args, Debug, Clone, Default)]
pub struct FwScope {
    /// The cluster's firewall (the default)
    #[arg(long, conflicts_with = "node")]
    pub cluster: bool,
    /// A node's firewall (rules and options only)
    #[arg(long)]
    pub node: Option<String>,
}

// The scope of `pvectl firewall rules …`: the cluster, a node, or a security group.
#[derive(Args, Debug, Clone, Default)]
pub struct FwRulesScope {
    #[command(flatten)]
    pub scope: FwScope,
    /// A security group's rules (see `firewall groups`)
    #[arg(long, conflicts_with_all = ["node", "cluster"])]
    pub group: Option<String>,
}

/// `pvectl firewall …`
#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum FirewallCmd {
    #[command(flatten)]
    Verbs(FirewallVerbs<FwScope, FwRulesScope>),
    /// Security groups (named sets of rules a rule of type group uses): list, add, delete
    #[command(subcommand)]
    Groups(FwGroupsCmd),
    /// The macros PVE knows (SSH, HTTP, Ceph…), for --macro
    Macros,
}

/// The verbs every scope has: `S` names the scope, `R` the scope of rules (which may also be a
/// security group).
#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum FirewallVerbs<S: Args, R: Args> {
    /// Rules, in the order they are matched: list, add, delete, move, enable, disable
    #[command(subcommand)]
    Rules(RulesCmd<R>),
    /// Options: show, set (enable, policy_in, policy_out, log levels…)
    #[command(subcommand)]
    Options(OptionsCmd<S>),
    /// Aliases (names for addresses): list, add, delete
    #[command(subcommand)]
    Aliases(AliasesCmd<S>),
    /// IP sets and their entries: list, add, delete, entries
    #[command(subcommand)]
    Ipsets(IpsetsCmd<S>),
    /// The whole firewall of the scope as a document (TOML; JSON with -o json)
    Export(ExportArgs<S>),
    /// Make the scope's firewall match a document: shows the changes, asks, then applies them in
    /// an order that never leaves it more open than before or after
    Apply(ApplyArgs<S>),
}

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum RulesCmd<R: Args> {
    /// The rules with their positions
    #[command(visible_alias = "ls")]
    List {
        #[command(flatten)]
        scope: R,
    },
    /// Add a rule (at the top unless --pos says where)
    Add(Box<RuleAddArgs<R>>),
    /// Delete the rule at a position (asks first, or --yes)
    Delete {
        #[command(flatten)]
        scope: R,
        /// Its position (see `rules list`)
        pos: u32,
        /// Do not ask
        #[arg(short, long)]
        yes: bool,
    },
    /// Move the rule at a position to another
    Move {
        #[command(flatten)]
        scope: R,
        /// Its position now
        pos: u32,
        /// The position it should have
        to: u32,
    },
    /// Turn the rule at a position on
    Enable {
        #[command(flatten)]
        scope: R,
        /// Its position
        pos: u32,
    },
    /// Turn the rule at a position off (it stays in the list)
    Disable {
        #[command(flatten)]
        scope: R,
        /// Its position
        pos: u32,
    },
}

#[derive(Args, Debug, Clone)]
pub struct RuleAddArgs<R: Args> {
    #[command(flatten)]
    pub scope: R,
    /// ACCEPT, DROP or REJECT; for --type group, the security group
    #[arg(long)]
    pub action: String,
    /// Direction: in, out, forward, or group (jump to a security group)
    #[arg(long = "type", default_value = "in", value_parser = ["in", "out", "forward", "group"])]
    pub kind: String,
    /// A macro of `firewall macros` (SSH, HTTP…) instead of protocol and ports
    #[arg(long = "macro", value_name = "MACRO")]
    pub macro_name: Option<String>,
    /// Protocol: tcp, udp, icmp… or a number
    #[arg(long)]
    pub proto: Option<String>,
    /// Destination ports: 22, 80,443, 8000:8080, or a service name
    #[arg(long)]
    pub dport: Option<String>,
    /// Source ports
    #[arg(long)]
    pub sport: Option<String>,
    /// Source: address, network, range, alias or +ipset
    #[arg(long)]
    pub source: Option<String>,
    /// Destination: address, network, range, alias or +ipset
    #[arg(long)]
    pub dest: Option<String>,
    /// ICMP type (with --proto icmp or icmpv6)
    #[arg(long)]
    pub icmp_type: Option<String>,
    /// Network interface (a guest's: net0, net1…)
    #[arg(long)]
    pub iface: Option<String>,
    /// Log level of matching packets
    #[arg(long, value_parser = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", "nolog"])]
    pub log: Option<String>,
    /// A comment
    #[arg(long)]
    pub comment: Option<String>,
    /// The position it should have (0 is the top, matched first)
    #[arg(long)]
    pub pos: Option<u32>,
    /// Add it switched off
    #[arg(long)]
    pub disable: bool,
}

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum OptionsCmd<S: Args> {
    /// The options as PVE has them
    Show {
        #[command(flatten)]
        scope: S,
    },
    /// Set options: KEY=VALUE… (enable=1 policy_in=DROP log_level_in=info), --delete KEY,…
    Set {
        #[command(flatten)]
        scope: S,
        /// Options to set
        #[arg(value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Options to go back to PVE's default, comma-separated
        #[arg(long, value_delimiter = ',', value_name = "KEY,…")]
        delete: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum AliasesCmd<S: Args> {
    /// The aliases
    #[command(visible_alias = "ls")]
    List {
        #[command(flatten)]
        scope: S,
    },
    /// Add an alias
    Add {
        #[command(flatten)]
        scope: S,
        /// Name (a letter, then letters, digits, - and _)
        name: String,
        /// Address or network (10.0.0.5, 10.0.0.0/24, fd00::/64)
        cidr: String,
        /// A comment
        #[arg(long)]
        comment: Option<String>,
    },
    /// Delete an alias (asks first, or --yes)
    Delete {
        #[command(flatten)]
        scope: S,
        /// Its name
        name: String,
        /// Do not ask
        #[arg(short, long)]
        yes: bool,
    },
}

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum IpsetsCmd<S: Args> {
    /// The IP sets
    #[command(visible_alias = "ls")]
    List {
        #[command(flatten)]
        scope: S,
    },
    /// Add an empty IP set (rules use it as +NAME)
    Add {
        #[command(flatten)]
        scope: S,
        /// Name
        name: String,
        /// A comment
        #[arg(long)]
        comment: Option<String>,
    },
    /// Delete an IP set (asks first, or --yes; --force if it still has entries)
    Delete {
        #[command(flatten)]
        scope: S,
        /// Its name
        name: String,
        /// Delete it with its entries
        #[arg(long)]
        force: bool,
        /// Do not ask
        #[arg(short, long)]
        yes: bool,
    },
    /// The entries of an IP set: list, add, delete
    #[command(subcommand)]
    Entries(EntriesCmd<S>),
}

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum EntriesCmd<S: Args> {
    /// The addresses and networks of an IP set
    #[command(visible_alias = "ls")]
    List {
        #[command(flatten)]
        scope: S,
        /// The IP set
        ipset: String,
    },
    /// Add an address or network
    Add {
        #[command(flatten)]
        scope: S,
        /// The IP set
        ipset: String,
        /// Address, network or alias
        cidr: String,
        /// Exclude it from the set instead
        #[arg(long)]
        nomatch: bool,
        /// A comment
        #[arg(long)]
        comment: Option<String>,
    },
    /// Remove an address or network (asks first, or --yes)
    Delete {
        #[command(flatten)]
        scope: S,
        /// The IP set
        ipset: String,
        /// The address or network as the set lists it
        cidr: String,
        /// Do not ask
        #[arg(short, long)]
        yes: bool,
    },
}

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum FwGroupsCmd {
    /// The security groups
    #[command(visible_alias = "ls")]
    List,
    /// Add an empty security group (then `firewall rules add --group NAME …`)
    Add {
        /// Name
        name: String,
        /// A comment
        #[arg(long)]
        comment: Option<String>,
    },
    /// Delete a security group, which must have no rules left (asks first, or --yes)
    Delete {
        /// Its name
        name: String,
        /// Do not ask
        #[arg(short, long)]
        yes: bool,
    },
}

#[derive(Args, Debug, Clone)]
pub struct ExportArgs<S: Args> {
    #[command(flatten)]
    pub scope: S,
}

#[derive(Args, Debug, Clone)]
pub struct ApplyArgs<S: Args> {
    #[command(flatten)]
    pub scope: S,
    /// The document (TOML or JSON, as `firewall export` writes it); - reads stdin
    pub file: PathBuf,
    /// Show the changes and stop
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask
    #[arg(short, long)]
    pub yes: bool,
}

/// `vm firewall …` and `ct firewall …`: the verbs of a guest's firewall.
pub type GuestFirewallCmd = FirewallVerbs<GuestTarget, GuestTarget>;
