//! The whole command-line surface (clap derive) and nothing else: one file per noun, the selector
//! and wait arguments every verb shares in `args`. `vm` and `ct` are separate trees, so `--help`
//! shows each kind only what it has.

mod access;
mod api;
mod apply;
mod args;
mod backup;
mod cluster;
mod config;
mod disk;
mod firewall;
mod guest;
mod guest_args;
mod guest_inside;
mod ha;
mod nodes;
mod pool;
mod storage;
mod tasks;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::api::Secret;

pub use access::{
    AccessCmd, AclArgs, AclCmd, BootstrapArgs, CanArgs, CheckArgs, GroupsCmd, RolesCmd, TokensCmd,
    UserCreateArgs, UserFields, UserSetArgs, UsersCmd,
};
pub use api::{ApiArgs, ApiCmd};
pub use apply::{ApplyArgs, EditArgs, ExportArgs};
pub use args::{
    GraphArgs, GuestTarget, ListArgs, Selectors, Targets, Timeframe, WaitArgs, WatchArg,
};
pub use backup::{
    BackupCmd, BackupCreateArgs, BackupDeleteArgs, BackupListArgs, BackupMode, BackupPruneArgs,
    BackupRestoreArgs,
};
pub use cluster::{ClusterCmd, NodesCmd, ResourceType, TopArgs, TopSort};
pub use config::{ConfigCmd, InitArgs};
pub use disk::*;
pub use firewall::{
    AliasesCmd, ApplyArgs as FwApplyArgs, EntriesCmd, ExportArgs as FwExportArgs, FirewallCmd,
    FirewallVerbs, FwGroupsCmd, FwRulesScope, FwScope, GuestFirewallCmd, IpsetsCmd, OptionsCmd,
    RuleAddArgs, RulesCmd,
};
pub use guest::{
    CtCmd, CtSnapshotCmd, GuestDeclare, GuestEnd, GuestRead, MountCmd, SnapshotVerbs, TagCmd,
    VmCmd, VmCreateCmd, VmSnapshotCmd,
};
pub use guest_args::*;
pub use guest_inside::*;
pub use ha::{
    Affinity, HaAddArgs, HaCmd, HaMoveArgs, HaRuleAddArgs, HaRulesCmd, HaState, RuleType,
};
pub use nodes::{DrainArgs, NodePowerArgs, NodeStatusArgs, UndrainArgs, UpdatesArgs};
pub use pool::{PoolAddArgs, PoolCmd, PoolMembersArgs};
pub use storage::*;
pub use tasks::TasksCmd;

#[derive(Parser, Debug)]
#[command(
    name = "pvectl",
    version,
    about = "Manage Proxmox VE clusters over the REST API",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Output format: table (for people), wide, json (PVE's names and raw units), jsonl, yaml, tsv
    #[arg(short = 'o', long, global = true, value_enum)]
    pub output: Option<OutputFormat>,
    /// Fields to show, comma-separated (e.g. vmid,name,status); with json and yaml too
    #[arg(long, global = true, value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Leave out the header line of table and tsv output
    #[arg(long, global = true)]
    pub no_headers: bool,
    /// Show times in UTC (default: the local time zone, from TZ or the system)
    #[arg(long, global = true)]
    pub utc: bool,
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
    /// Server: name, IP or https URL (port 8006 unless given) [env: PROXMOX_HOST, PROXMOX_PORT]
    #[arg(long, global = true)]
    pub host: Option<String>,
    /// Full API token USER@REALM!NAME=SECRET (visible in `ps`: prefer PROXMOX_TOKEN or the config
    /// file) [env: PROXMOX_TOKEN]
    #[arg(long, global = true, value_name = "TOKEN", value_parser = secret_arg)]
    pub token: Option<Secret>,
    /// Log in with this user's password instead of a token (e.g. root@pam) [env: PROXMOX_USERNAME
    /// with PROXMOX_PASSWORD]
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
    /// HTTP request timeout: 30s, 2m, or seconds; more than 0 (default 60s)
    #[arg(long, global = true, value_name = "DURATION")]
    pub request_timeout: Option<String>,
    /// At most this many API requests per second (default 10, PVE's advice per token; 0 = no limit)
    #[arg(long, global = true, value_name = "N")]
    pub max_rps: Option<u32>,
}

/// A flag value that must not show in `Debug` output (the full token, a one-time code).
fn secret_arg(value: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(value))
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// Columns for people, fitted to the terminal
    Table,
    /// Every column, none shortened
    Wide,
    /// PVE's names and raw values
    Json,
    /// One JSON object a line (for `jq -c` pipelines and logs)
    Jsonl,
    /// As json, in YAML
    Yaml,
    /// Raw values, tab-separated, header first
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
#[command(defer = true)]
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
    Vm(VmCmd),
    /// LXC containers
    #[command(subcommand)]
    Ct(CtCmd),
    /// Storages and their content
    #[command(subcommand)]
    Storage(StorageCmd),
    /// Tasks: list, status, log, wait, stop
    #[command(subcommand)]
    Tasks(TasksCmd),
    /// Backups (vzdump): create, list, restore, delete, prune, jobs
    #[command(subcommand)]
    Backup(Box<BackupCmd>),
    /// Users, groups, roles, API tokens, ACLs; who the login is and what it may do
    #[command(subcommand)]
    Access(AccessCmd),
    /// The cluster's firewall (--node N: a node's): rules, options, aliases, IP sets, groups
    #[command(subcommand)]
    Firewall(FirewallCmd),
    /// High availability (PVE 9): status, resources, moves, rules
    #[command(subcommand)]
    Ha(HaCmd),
    /// Resource pools of guests and storages
    #[command(subcommand)]
    Pool(PoolCmd),
    /// Raw API access, like pvesh: JSON out
    #[command(subcommand)]
    Api(ApiCmd),
    /// Create or change guests to match TOML files (`vm export` writes them); shows the plan first
    Apply(ApplyArgs),
    /// Profiles and the configuration file
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Shell completion script on stdout
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Man pages: one command's on stdout (for `man -l -`), or every command's into a directory
    Man(ManArgs),
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write a page for every command and subcommand into this directory (e.g.
    /// /usr/local/share/man/man1)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The command whose page to print, e.g. `vm start` (default: pvectl's own)
    #[arg(value_name = "COMMAND", conflicts_with = "dir")]
    pub command: Vec<String>,
}

/// The clap command with the exit codes and the environment in its help footer. Subcommands are
/// built only when the command line reaches them (clap's `defer`): a run builds the few on its
/// path, not the whole tree of ~270 commands. Code that walks the tree takes [`command_built`].
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command().after_help(format!(
        "{}\n\n{}",
        crate::error::exit_codes_help(),
        crate::config::environment_help()
    ))
}

/// The whole tree, every subcommand built (for man pages, completion and tips that look around).
pub fn command_built() -> clap::Command {
    let mut cmd = command();
    cmd.build();
    cmd
}

/// Parse the command line (`--help`, `--version` and usage errors end here as clap's errors).
pub fn parse<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    parse_args(&args, true)
}

/// `parse`; `quick`: as described there (off only to compare the two in tests).
fn parse_args(args: &[std::ffi::OsString], quick_allowed: bool) -> Result<Cli, clap::Error> {
    // clap copies each global option into every subcommand of each level a command line passes
    // (18 options into ~45 `vm` verbs for `vm start`): most of a short run's parsing. A command
    // line whose global options all come before the command parses the same without the copies.
    let mut quick = command();
    if quick_allowed && globals_first(&quick, args) {
        quick = quick.mut_args(|a| a.global(false));
        match quick.try_get_matches_from_mut(args) {
            Ok(matches) => {
                if let Ok(cli) = <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
                    leave(quick, matches);
                    return Ok(cli);
                }
            }
            Err(e) if e.kind() == clap::error::ErrorKind::DisplayVersion => return Err(e),
            // Help (it lists the global options under every command) and errors (their
            // suggestions) come from the whole tree.
            Err(_) => {}
        }
        quick = command();
    }
    let mut cmd = quick;
    let matches = cmd.try_get_matches_from_mut(args)?;
    let cli =
        <Cli as clap::FromArgMatches>::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd));
    leave(cmd, matches);
    cli
}

/// Needed no more, and freed with the process: dropping the tree's thousands of small allocations
/// one by one is a measurable part of a short command's run.
fn leave(cmd: clap::Command, matches: clap::ArgMatches) {
    std::mem::forget(cmd);
    std::mem::forget(matches);
}

/// Whether no word after the command's name (up to `--`) is, or may hold, a global option: then
/// they are all given before it, where the top level takes them.
fn globals_first(cmd: &clap::Command, args: &[std::ffi::OsString]) -> bool {
    let globals: Vec<&clap::Arg> = cmd.get_arguments().filter(|a| a.is_global_set()).collect();
    let is_global_long = |name: &str| globals.iter().any(|a| a.get_long() == Some(name));
    let is_global_short = |c: char| globals.iter().any(|a| a.get_short() == Some(c));
    let takes_value = |word: &str| {
        globals.iter().any(|a| {
            a.get_action().takes_values()
                && (word
                    .strip_prefix("--")
                    .is_some_and(|l| a.get_long() == Some(l))
                    || word.strip_prefix('-').and_then(|s| s.chars().next()) == a.get_short()
                        && word.chars().count() == 2)
        })
    };
    let mut words = args.iter().skip(1).map(|w| w.to_str());
    // Up to the command: global options, and the values of those that take one.
    loop {
        match words.next() {
            None => return true,
            Some(None) => return false,
            Some(Some(w)) if w.starts_with('-') => {
                if w == "--" {
                    return true;
                }
                if takes_value(w) {
                    words.next();
                }
            }
            Some(Some(_)) => break,
        }
    }
    for w in words {
        let Some(w) = w else { return false };
        if w == "--" {
            return true;
        }
        if let Some(long) = w.strip_prefix("--") {
            if is_global_long(long.split('=').next().unwrap_or(long)) {
                return false;
            }
        } else if let Some(shorts) = w.strip_prefix('-') {
            if shorts.chars().any(is_global_short) {
                return false;
            }
        }
    }
    true
}

/// The words of a command line after the program's name, as text.
fn words_of(args: &[std::ffi::OsString]) -> Vec<String> {
    args.iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

/// `vm status --watch web-1`: `--watch` takes an optional interval, so it took the guest for one
/// and the guest is missing. Say so, and how to write it.
pub fn watch_tip(args: &[std::ffi::OsString], e: &clap::Error) -> Option<String> {
    if e.kind() != clap::error::ErrorKind::MissingRequiredArgument {
        return None;
    }
    let words = words_of(args);
    let at = words.iter().position(|w| w == "--watch")?;
    let taken = words.get(at + 1)?;
    if taken.starts_with('-') || crate::config::parse_duration(taken).is_ok() {
        return None;
    }
    let mut fixed = words.clone();
    fixed.swap(at, at + 1);
    Some(format!(
        "tip: --watch took '{taken}' for its interval; name it first (`pvectl {}`), or write the interval as --watch=5s",
        fixed.join(" ")
    ))
}

/// For `vm …`/`ct …` with a verb or flag only the other kind has: say where it belongs, e.g.
/// "tip: `reset` is a verb of `pvectl vm`; containers have none". `None` for any other error.
pub fn other_kind_tip(args: &[std::ffi::OsString], e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if !matches!(
        e.kind(),
        ErrorKind::InvalidSubcommand | ErrorKind::UnknownArgument
    ) {
        return None;
    }
    let words = words_of(args);
    let at = words.iter().position(|w| w == "vm" || w == "ct")?;
    let (other, this_noun) = match words[at].as_str() {
        "vm" => ("ct", "VMs"),
        _ => ("vm", "containers"),
    };
    let bad = match e
        .get(ContextKind::InvalidSubcommand)
        .or(e.get(ContextKind::InvalidArg))
    {
        Some(ContextValue::String(s)) => s.split_whitespace().next()?.to_string(),
        _ => return None,
    };
    let root = command_built();
    let other_cmd = root.find_subcommand(other)?;
    if e.kind() == ErrorKind::InvalidSubcommand {
        // The words before the bad one name subcommands both kinds have (`ct disk detach`).
        let mut cmd = other_cmd;
        let mut path = String::new();
        for w in &words[at + 1..] {
            if *w == bad {
                break;
            }
            match cmd.find_subcommand(w) {
                Some(sub) => {
                    cmd = sub;
                    path.push_str(w);
                    path.push(' ');
                }
                None => break,
            }
        }
        cmd.find_subcommand(&bad)?;
        return Some(format!(
            "tip: `pvectl {other} {path}{bad}` exists, but {this_noun} have no `{bad}`"
        ));
    }
    // A flag: is it an option of the same verb of the other kind?
    let verb = words.get(at + 1)?;
    let flag = bad.trim_start_matches('-');
    let mut cmd = other_cmd.find_subcommand(verb)?;
    let mut path = verb.to_string();
    for w in &words[at + 2..] {
        match cmd.find_subcommand(w) {
            Some(sub) => {
                cmd = sub;
                path = format!("{path} {w}");
            }
            None => break,
        }
    }
    let known = cmd.get_arguments().any(|a| {
        a.get_long() == Some(flag) || a.get_all_aliases().is_some_and(|al| al.contains(&flag))
    });
    known.then(|| {
        format!(
            "tip: {bad} is an option of `pvectl {other} {path}`; {this_noun} have no such parameter"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::parse;

    fn words(line: &str) -> Vec<std::ffi::OsString> {
        line.split_whitespace().map(Into::into).collect()
    }

    #[test]
    fn global_options_given_first_parse_alike_without_copying_them_into_every_command() {
        // (command line, whether every global option comes before the command)
        let lines = [
            ("pvectl vm start 100", true),
            ("pvectl -o json vm list --node pve1 --status running", true),
            ("pvectl -ojson ct list", true),
            ("pvectl --output=tsv --no-headers vm list", true),
            ("pvectl -P prod -v -q vm status web-1 --watch 2", true),
            ("pvectl -k --host pve1:8006 --max-rps 0 nodes list", true),
            (
                "pvectl --columns vmid,name --utc --color never tasks list --limit 5",
                true,
            ),
            (
                "pvectl --request-timeout 5s vm start 100 101 --parallel 2 --no-wait",
                true,
            ),
            ("pvectl vm exec 100 -- uptime -v -o json", true),
            ("pvectl vm disk resize 100 scsi0 +10G", true),
            ("pvectl --token root@pam!t=s3cret vm ip 100", true),
            ("pvectl vm list -o json", false),
            ("pvectl vm start 100 -v", false),
            ("pvectl vm ssh web-1 -l root", true),
            // May hold -o: asked of the whole tree, to be sure.
            ("pvectl vm ssh web-1 -lroot", false),
            ("pvectl access can -o json vm start 100", false),
            ("pvectl vm list --output tsv --no-headers", false),
        ];
        for (line, first) in lines {
            let args = words(line);
            assert_eq!(
                super::globals_first(&super::command(), &args),
                first,
                "{line}"
            );
            let quick = format!("{:?}", super::parse_args(&args, true));
            let whole = format!("{:?}", super::parse_args(&args, false));
            assert_eq!(quick, whole, "{line}");
            assert!(quick.starts_with("Ok("), "{line}: {quick}");
        }
        // Help, versions and errors are the whole tree's, word for word.
        for line in [
            "pvectl vm start --help",
            "pvectl -o json vm start -h",
            "pvectl help vm start",
            "pvectl --version",
            "pvectl vm --version",
            "pvectl vm strat 100",
            "pvectl -o jsno vm list",
            "pvectl vm start 100 --bogus",
            "pvectl ct reset 100",
        ] {
            let args = words(line);
            let quick = super::parse_args(&args, true).unwrap_err();
            let whole = super::parse_args(&args, false).unwrap_err();
            assert_eq!(quick.kind(), whole.kind(), "{line}");
            assert_eq!(quick.to_string(), whole.to_string(), "{line}");
        }
    }

    #[test]
    fn secrets_given_as_flags_never_show_in_debug_output() {
        let cli = parse([
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

    #[test]
    fn the_clap_tree_is_consistent() {
        super::command().debug_assert();
    }

    /// Subcommands are built when reached (`defer`), after their parent set their help line: an
    /// `Args` struct with a doc comment would replace it then (clap takes a struct's doc comment
    /// as its `about`). Struct comments in `cli/` are therefore plain `//` comments. This checks
    /// that building changes no command's help lines.
    #[test]
    fn building_a_command_keeps_its_help_line() {
        fn lines(cmd: &clap::Command) -> (String, String) {
            let text = |s: Option<&clap::builder::StyledStr>| s.map(|s| s.to_string());
            (
                text(cmd.get_about()).unwrap_or_default(),
                text(cmd.get_long_about()).unwrap_or_default(),
            )
        }
        fn walk(built: &clap::Command, path: &mut Vec<String>, changed: &mut Vec<String>) {
            // Parsing `path --help` builds only the commands on the path; their subcommands are
            // still as the parent declared them.
            let mut lazy = super::command();
            let argv = std::iter::once("pvectl".to_string())
                .chain(path.iter().cloned())
                .chain(std::iter::once("--help".to_string()));
            let _ = lazy.try_get_matches_from_mut(argv);
            let mut declared = &lazy;
            for p in path.iter() {
                declared = declared.find_subcommand(p).expect("on the path");
            }
            for sub in built.get_subcommands() {
                let name = sub.get_name().to_string();
                if name == "help" {
                    continue;
                }
                let before = declared.find_subcommand(&name).map(lines);
                if before.as_ref() != Some(&lines(sub)) {
                    changed.push(format!(
                        "{} {name}: {before:?} -> {:?}",
                        path.join(" "),
                        lines(sub)
                    ));
                }
                if sub.has_subcommands() {
                    path.push(name);
                    walk(sub, path, changed);
                    path.pop();
                }
            }
        }
        let mut changed = vec![];
        walk(&super::command_built(), &mut vec![], &mut changed);
        assert!(
            changed.is_empty(),
            "help lines changed by building: {changed:#?}"
        );
    }

    /// Every command, argument and flag says what it is for.
    #[test]
    fn everything_has_a_help_line() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") || arg.is_hide_set() {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                let p = format!("{path} {}", sub.get_name());
                if sub.get_about().is_none() && sub.get_name() != "help" {
                    missing.push(p.clone());
                }
                walk(sub, &p, missing);
            }
        }
        let mut missing = vec![];
        walk(&super::command_built(), "pvectl", &mut missing);
        assert!(missing.is_empty(), "no help line: {missing:#?}");
    }
}
