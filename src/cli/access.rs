//! `access`: users, groups, roles, API tokens, ACLs, who the login is and what it may do.
//!
//! The global `--user` and `--token` log in; so who an ACL is for is named with PVE's own
//! `pveum acl` words: `--users`, `--groups`, `--tokens`, and no argument here has the id `user`
//! (clap would take it for the global one).

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum AccessCmd {
    /// Users: list, show, create, set, delete
    #[command(subcommand)]
    Users(UsersCmd),
    /// Groups of users: list, create, delete
    #[command(subcommand)]
    Groups(GroupsCmd),
    /// Roles (named sets of privileges): list, show, create, delete
    #[command(subcommand)]
    Roles(RolesCmd),
    /// API tokens: list, create (shows the secret once), delete
    #[command(subcommand)]
    Tokens(TokensCmd),
    /// Access control lists: which role who has on which path
    #[command(subcommand)]
    Acl(AclCmd),
    /// Who pvectl is logged in as, and its effective permissions
    Whoami,
    /// Whether the login holds a privilege on a path: exit 0 if it does, 4 if not
    Check(CheckArgs),
    /// Which privileges a pvectl command would need on which paths, and whether the login holds them
    Can(CanArgs),
    /// A user, a privilege-separated API token, their ACLs and a profile for pvectl, in one command
    /// (run it as an administrator; safe to run again)
    Bootstrap(BootstrapArgs),
}

// ------------------------------------------------------------------------------------- users

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum UsersCmd {
    /// Users with their state, expiry, groups and tokens
    #[command(visible_alias = "ls")]
    List {
        /// Only enabled users
        #[arg(long)]
        enabled: bool,
    },
    /// One user's settings, groups and tokens
    Show {
        /// User id with its realm (alice@pve)
        userid: String,
    },
    /// Create a user
    Create(UserCreateArgs),
    /// Change a user: enable or disable, expiry, groups, comment, password
    Set(UserSetArgs),
    /// Delete a user, with its tokens and ACL entries (asks first, or --yes)
    Delete {
        /// User id with its realm (alice@pve)
        userid: String,
        /// Do not ask
        #[arg(short, long)]
        yes: bool,
    },
}

// What a user has besides its id.
#[derive(Args, Debug, Clone, Default)]
pub struct UserFields {
    /// Account expiry: a date (2027-01-31, midnight UTC), a time from now (90d), seconds since
    /// 1970, or never
    #[arg(long, value_name = "WHEN")]
    pub expire: Option<String>,
    /// Groups, comma-separated (they must exist)
    #[arg(long, value_name = "GROUP,…")]
    pub groups: Option<String>,
    /// A comment
    #[arg(long)]
    pub comment: Option<String>,
    /// E-mail address
    #[arg(long)]
    pub email: Option<String>,
    /// First name
    #[arg(long)]
    pub firstname: Option<String>,
    /// Last name
    #[arg(long)]
    pub lastname: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct UserCreateArgs {
    /// User id with its realm: alice@pve (PVE's own users) or alice@pam (a system account)
    pub userid: String,
    /// File holding the password (realms pve and pam; at least 8 characters)
    #[arg(long, value_name = "PATH")]
    pub password_file: Option<PathBuf>,
    /// Create the account enabled (the default)
    #[arg(long, conflicts_with = "disable")]
    pub enable: bool,
    /// Create the account disabled
    #[arg(long)]
    pub disable: bool,
    #[command(flatten)]
    pub fields: UserFields,
}

#[derive(Args, Debug, Clone)]
pub struct UserSetArgs {
    /// User id with its realm (alice@pve)
    pub userid: String,
    /// Enable the account
    #[arg(long, conflicts_with = "disable")]
    pub enable: bool,
    /// Disable the account (its tokens stop working too)
    #[arg(long)]
    pub disable: bool,
    /// Add the groups of --groups instead of replacing the user's groups
    #[arg(long, requires = "groups")]
    pub append: bool,
    /// File holding a new password (realms pve and pam; needs a password login, not a token)
    #[arg(long, value_name = "PATH")]
    pub password_file: Option<PathBuf>,
    #[command(flatten)]
    pub fields: UserFields,
}

// ------------------------------------------------------------------------------------ groups

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum GroupsCmd {
    /// Groups and their members
    #[command(visible_alias = "ls")]
    List,
    /// Create a group
    Create {
        /// Group name
        groupid: String,
        /// A comment
        #[arg(long)]
        comment: Option<String>,
    },
    /// Delete a group and its ACL entries (asks first, or --yes)
    Delete {
        /// Group name
        groupid: String,
        /// Do not ask
        #[arg(short, long)]
        yes: bool,
    },
}

// ------------------------------------------------------------------------------------- roles

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum RolesCmd {
    /// Roles and their privileges
    #[command(visible_alias = "ls")]
    List,
    /// The privileges of one role
    Show {
        /// Role name
        roleid: String,
    },
    /// Create a role from privileges (checked against PVE's list before anything is sent)
    Create {
        /// Role name (not starting with PVE)
        roleid: String,
        /// Privileges, separated by spaces or commas (VM.Audit VM.PowerMgmt)
        #[arg(required = true, value_name = "PRIVILEGE")]
        privs: Vec<String>,
    },
    /// Delete a role (asks first, or --yes)
    Delete {
        /// Role name
        roleid: String,
        /// Do not ask
        #[arg(short, long)]
        yes: bool,
    },
}

// ------------------------------------------------------------------------------------ tokens

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum TokensCmd {
    /// API tokens of a user, or of every user
    #[command(visible_alias = "ls")]
    List {
        /// User id (alice@pve); every user's tokens without it
        #[arg(value_name = "USER")]
        owner: Option<String>,
    },
    /// Create a token: its secret goes to stdout, once (PVE never shows it again)
    Create {
        /// The user it belongs to (alice@pve), or the full token id (alice@pve!ci)
        #[arg(value_name = "USER")]
        owner: String,
        /// The token's name (ci), unless the first argument is the full id
        tokenid: Option<String>,
        /// Privilege separation: the token gets only the ACLs given to it (PVE's default)
        #[arg(long, overrides_with = "no_privsep")]
        privsep: bool,
        /// No privilege separation: the token has all of its user's privileges
        #[arg(long)]
        no_privsep: bool,
        /// Expiry: a date (2027-01-31), a time from now (90d), seconds since 1970, or never
        #[arg(long, value_name = "WHEN")]
        expire: Option<String>,
        /// A comment
        #[arg(long)]
        comment: Option<String>,
    },
    /// Delete a token (asks first, or --yes)
    Delete {
        /// The user it belongs to (alice@pve), or the full token id (alice@pve!ci)
        #[arg(value_name = "USER")]
        owner: String,
        /// The token's name, unless the first argument is the full id
        tokenid: Option<String>,
        /// Do not ask
        #[arg(short, long)]
        yes: bool,
    },
}

// --------------------------------------------------------------------------------------- acl

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum AclCmd {
    /// ACL entries: path, who (user, group or token), role, propagation
    #[command(visible_alias = "ls")]
    List {
        /// Only entries on this path and the paths above it (what applies there)
        #[arg(long)]
        path: Option<String>,
    },
    /// Give a role on a path to users, groups or tokens
    Grant(AclArgs),
    /// Take a role on a path away from users, groups or tokens
    Revoke(AclArgs),
}

#[derive(Args, Debug, Clone)]
pub struct AclArgs {
    /// ACL path: /, /vms/100, /storage/local, /nodes/pve1, /pool/web, /access/groups…
    pub path: String,
    /// Role (PVEVMAdmin…), or several, comma-separated
    pub role: String,
    /// Users, comma-separated (alice@pve)
    #[arg(long, value_name = "USER,…")]
    pub users: Option<String>,
    /// Groups, comma-separated
    #[arg(long, visible_alias = "group", value_name = "GROUP,…")]
    pub groups: Option<String>,
    /// API tokens, comma-separated (alice@pve!ci)
    #[arg(long, value_name = "TOKEN,…")]
    pub tokens: Option<String>,
    /// The role applies to this path only, not below it
    #[arg(long)]
    pub no_propagate: bool,
}

// --------------------------------------------------------------------------- check, can, …

#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    /// Privilege (VM.PowerMgmt, Sys.Audit…)
    pub privilege: String,
    /// ACL path (/vms/100, /, /storage/local…)
    pub path: String,
}

#[derive(Args, Debug, Clone)]
pub struct CanArgs {
    /// A pvectl command line, without `pvectl` (vm start web-1)
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}

#[derive(Args, Debug, Clone)]
#[command(after_help = "\
Like `config init`, it writes a profile: --profile NAME names it (default: the user's name) and \
--user names the user the token is for (pvectl@pve). pvectl logs in for it as the administrator \
of --admin (with a password), or with the environment or the default profile.")]
pub struct BootstrapArgs {
    /// The role to give the user and its token (PVEVMAdmin, PVEAdmin…)
    #[arg(long)]
    pub role: String,
    /// The ACL path of the role
    #[arg(long, default_value = "/")]
    pub path: String,
    /// The token's name
    #[arg(long, default_value = "pvectl", value_name = "NAME")]
    pub token_name: String,
    /// Log in as this administrator with a password (asked on a terminal, or PROXMOX_PASSWORD)
    #[arg(long, value_name = "USER@REALM")]
    pub admin: Option<String>,
    /// Give an existing token a new secret when the profile does not hold a working one (anything
    /// else using the old secret stops working)
    #[arg(long)]
    pub regenerate: bool,
    /// The user the token is for (the global --user)
    #[arg(skip)]
    pub user: Option<String>,
    /// The profile to write (the global --profile)
    #[arg(skip)]
    pub profile: Option<String>,
}
