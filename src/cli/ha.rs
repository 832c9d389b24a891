//! `ha`: PVE's HA stack (PVE 9: resources and rules).

use clap::{Args, Subcommand, ValueEnum};

use super::args::{WaitArgs, WatchArg};

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum HaCmd {
    /// The HA manager, each node's LRM and each resource's state
    Status {
        #[command(flatten)]
        watch: WatchArg,
    },
    /// The guests under HA and their settings
    #[command(visible_alias = "ls")]
    List,
    /// Put a guest under HA
    Add(HaAddArgs),
    /// Take a guest out of HA (and out of the rules that name it)
    Remove {
        /// VMID or name of the guest
        guest: String,
    },
    /// Change a guest's HA settings
    Set(HaAddArgs),
    /// Move a guest through HA (live for a VM) and wait until HA reports it on the node
    Migrate(HaMoveArgs),
    /// Move a guest through HA by stopping it and starting it on the node, and wait for it
    Relocate(HaMoveArgs),
    /// Node-affinity and resource-affinity rules (PVE 9)
    #[command(subcommand)]
    Rules(HaRulesCmd),
}

// A resource's settings, as `ha add` and `ha set` take them.
#[derive(Args, Debug, Clone)]
pub struct HaAddArgs {
    /// VMID or name of the guest
    pub guest: String,
    /// The state HA keeps the guest in (PVE's default: started)
    #[arg(long, value_enum)]
    pub state: Option<HaState>,
    /// How often HA restarts the guest on its node after a failed start
    #[arg(long, value_name = "N")]
    pub max_restart: Option<u32>,
    /// How often HA moves the guest to another node after failed starts
    #[arg(long, value_name = "N")]
    pub max_relocate: Option<u32>,
    /// Whether HA moves the guest back to a node of higher priority in its node-affinity rule when that node comes back (PVE's default: yes)
    #[arg(long, value_name = "yes|no", value_parser = clap::builder::BoolishValueParser::new())]
    pub failback: Option<bool>,
    /// A description
    #[arg(long)]
    pub comment: Option<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum HaState {
    /// Keep it running
    Started,
    /// Keep it stopped (HA still moves it when its node fails)
    Stopped,
    /// Leave it alone, as if HA did not manage it
    Ignored,
    /// Stop it and leave it stopped, also after a node failure
    Disabled,
}

impl HaState {
    pub fn as_str(self) -> &'static str {
        match self {
            HaState::Started => "started",
            HaState::Stopped => "stopped",
            HaState::Ignored => "ignored",
            HaState::Disabled => "disabled",
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct HaMoveArgs {
    /// VMID or name of the guest
    pub guest: String,
    /// The node to move it to
    pub node: String,
    #[command(flatten)]
    pub wait: WaitArgs,
}

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum HaRulesCmd {
    /// The rules, with the guests and nodes they name
    #[command(visible_alias = "ls")]
    List {
        /// Only rules of this type
        #[arg(long = "type", value_enum)]
        kind: Option<RuleType>,
        /// Only rules that name this guest (VMID or name)
        #[arg(long)]
        guest: Option<String>,
    },
    /// Add a rule: node-affinity (guests on --nodes) or resource-affinity (guests together or apart)
    Add(HaRuleAddArgs),
    /// Remove a rule
    Remove {
        /// The rule's id
        rule: String,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleType {
    /// Guests prefer (or must use, with --strict) some nodes
    NodeAffinity,
    /// Guests run on the same node (positive) or on different nodes (negative)
    ResourceAffinity,
}

impl RuleType {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleType::NodeAffinity => "node-affinity",
            RuleType::ResourceAffinity => "resource-affinity",
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Affinity {
    /// On the nodes / together
    Positive,
    /// Off the nodes / apart
    Negative,
}

#[derive(Args, Debug, Clone)]
pub struct HaRuleAddArgs {
    /// The rule's id (letters, digits, - and _)
    pub rule: String,
    /// The guests it is about: VMIDs, names or globs (each must be under HA)
    #[arg(required = true)]
    pub guests: Vec<String>,
    /// The kind of rule
    #[arg(long = "type", value_enum)]
    pub kind: RuleType,
    /// node-affinity: the nodes, each with an optional priority (pve1:2,pve2:1; higher is preferred)
    #[arg(long, value_name = "NODE[:PRI],…")]
    pub nodes: Option<String>,
    /// positive (on the nodes / together) or negative (off the nodes / apart); resource-affinity needs it
    #[arg(long, value_enum)]
    pub affinity: Option<Affinity>,
    /// node-affinity: only ever on these nodes (the guest stops when none is available)
    #[arg(long)]
    pub strict: bool,
    /// Add it switched off
    #[arg(long)]
    pub disable: bool,
    /// A description
    #[arg(long)]
    pub comment: Option<String>,
}
