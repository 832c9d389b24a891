//! Declarative use: `vm|ct edit` and `vm|ct export` (verbs of both kinds), and `apply`.

use std::path::PathBuf;

use clap::Args;

use super::args::{Selectors, WaitArgs};

#[derive(Args, Debug, Clone)]
pub struct EditArgs {
    /// VMID or name
    pub guest: String,
    /// Node of the guest (with a numeric VMID this saves the lookup)
    #[arg(long)]
    pub node: Option<String>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    /// Guests: VMIDs, names or globs ('web-*')
    pub guests: Vec<String>,
    /// Every guest of this kind (templates excluded)
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub sel: Selectors,
    /// Write one file per guest into this directory (VMID-NAME.toml) instead of stdout
    #[arg(long, value_name = "DIR")]
    pub to: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct ApplyArgs {
    /// A guest file (`-` for stdin), or a directory: its *.toml files
    #[arg(value_name = "FILE|DIR")]
    pub path: PathBuf,
    /// Show the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask before changing or deleting guests
    #[arg(short, long)]
    pub yes: bool,
    /// Also delete the guests of the files' kinds that no file describes (asks; never templates)
    #[arg(long)]
    pub prune: bool,
    #[command(flatten)]
    pub wait: WaitArgs,
}
