//! `config`: profiles and the configuration file.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum ConfigCmd {
    /// Create or update a profile (the one of --profile, else "default"): connect, pin the
    /// certificate, check the credentials
    Init(InitArgs),
    /// The settings in effect and where each comes from: flag, env, profile or default (secrets
    /// redacted)
    Show,
    /// The profiles of the configuration file
    Profiles,
    /// Make a profile the default
    Use {
        /// Name of the profile
        name: String,
    },
    /// The name of the profile in use
    Current,
    /// Set KEY to VALUE in the profile in use (the one of --profile, else "default" when there is
    /// none), checked as the file is
    Set {
        /// A profile key: host, token_id, token_secret_file, user, fingerprint, node, timeout, …
        key: String,
        /// The value: text, a number or true/false, as the key takes
        value: String,
    },
    /// Remove a profile from the configuration file (asks first)
    DeleteProfile {
        /// Name of the profile
        name: String,
        /// Do not ask
        #[arg(short, long)]
        yes: bool,
    },
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// API token id, USER@REALM!NAME
    #[arg(long)]
    pub token_id: Option<String>,
    /// File holding the token secret
    #[arg(long, value_name = "PATH")]
    pub token_secret_file: Option<PathBuf>,
    /// File holding the password (with --user)
    #[arg(long, value_name = "PATH")]
    pub password_file: Option<PathBuf>,
    /// Default node for node-scoped commands
    #[arg(long)]
    pub node: Option<String>,
    /// Trust the presented certificate without asking
    #[arg(short, long)]
    pub yes: bool,
}
