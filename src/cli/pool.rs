//! `pool`: resource pools of guests and storages.

use clap::{Args, Subcommand};

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum PoolCmd {
    /// The pools
    #[command(visible_alias = "ls")]
    List,
    /// One pool's members (guests and storages)
    Show {
        /// The pool's id
        pool: String,
    },
    /// Make a pool
    Create {
        /// The pool's id (`parent/child` for a pool inside another)
        pool: String,
        /// A description
        #[arg(long)]
        comment: Option<String>,
    },
    /// Delete a pool (asks first; refuses one with members unless --force)
    Delete {
        /// The pool's id
        pool: String,
        /// Take the members out of the pool first (the guests and storages stay)
        #[arg(long)]
        force: bool,
        /// Do not ask (needed without a terminal)
        #[arg(short, long)]
        yes: bool,
    },
    /// Add guests or storages to a pool
    Add(PoolAddArgs),
    /// Take guests or storages out of a pool
    Remove(PoolMembersArgs),
}

#[derive(Args, Debug, Clone)]
pub struct PoolMembersArgs {
    /// The pool's id
    pub pool: String,
    /// Guests: VMIDs, names or globs
    pub guests: Vec<String>,
    /// Storages (repeat, or separate with commas)
    #[arg(long, value_name = "STORAGE", value_delimiter = ',')]
    pub storage: Vec<String>,
}

#[derive(Args, Debug, Clone)]
pub struct PoolAddArgs {
    #[command(flatten)]
    pub members: PoolMembersArgs,
    /// Take guests out of the pool they are in (a guest is in one pool at most)
    #[arg(long = "move")]
    pub allow_move: bool,
}
