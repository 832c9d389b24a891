//! The arguments of the verbs that reach inside a guest: its addresses, running commands, files,
//! ssh and the console.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::args::GuestTarget;

/// Verbs both kinds have alike.
#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum GuestInside {
    /// Addresses of guests, one per line, the one to use first (VMs: from the guest agent)
    Ip(IpArgs),
    /// Log in to a guest with the system's ssh, at the address `ip` gives
    Ssh(SshArgs),
}

// Which addresses, and whether to wait for one.
#[derive(Args, Debug, Clone, Default)]
pub struct AddressArgs {
    /// Only IPv4 addresses
    #[arg(short = '4', long, conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Only IPv6 addresses
    #[arg(short = '6', long)]
    pub ipv6: bool,
    /// Wait until the guest has an address (boot, DHCP), at most DURATION (default 5m; 0 = for ever)
    #[arg(long, value_name = "DURATION", num_args = 0..=1, default_missing_value = "")]
    pub wait: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct IpArgs {
    /// Guests: VMIDs, names or globs ('web-*')
    #[arg(required = true)]
    pub guests: Vec<String>,
    #[command(flatten)]
    pub pick: AddressArgs,
    /// Every address: loopback, link-local and container bridges (docker0, veth…) too
    #[arg(long)]
    pub all: bool,
    /// Node of the guests (with a numeric VMID this saves the lookup)
    #[arg(long)]
    pub node: Option<String>,
    /// At most this many guests asked at once (default 4, or the profile's `parallel`)
    #[arg(long, value_name = "N")]
    pub parallel: Option<u32>,
}

#[derive(Args, Debug, Clone)]
pub struct SshArgs {
    /// VMID or name
    pub guest: String,
    /// Log in as USER (default: a VM's cloud-init user, else the profile's ssh_user, else ssh's own)
    #[arg(short = 'l', long = "login", value_name = "USER")]
    pub login: Option<String>,
    #[command(flatten)]
    pub pick: AddressArgs,
    /// Node of the guest (with a numeric VMID this saves the lookup)
    #[arg(long)]
    pub node: Option<String>,
    /// More arguments for ssh, after `--`: options (-p 2222, -L …) or a command to run
    #[arg(last = true, value_name = "SSH ARGS")]
    pub ssh_args: Vec<String>,
}

#[derive(Args, Debug, Clone)]
pub struct VmExecArgs {
    /// VMs: VMIDs, names or globs ('web-*')
    #[arg(required = true)]
    pub guests: Vec<String>,
    /// The command and its arguments after `--`, passed as they are (no shell: write sh -c '…' for one)
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub argv: Vec<String>,
    /// Stop waiting after this long (90s, 10m; 0 = for ever; default 5m): the command keeps running
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Standard input for the command: a file, or - for pvectl's own (at most 64 KiB)
    #[arg(long, value_name = "FILE|-")]
    pub input: Option<PathBuf>,
    /// Node of the VM (with a numeric VMID this saves the lookup)
    #[arg(long)]
    pub node: Option<String>,
    /// At most this many VMs at once (default 4, or the profile's `parallel`)
    #[arg(long, value_name = "N")]
    pub parallel: Option<u32>,
}

#[derive(Args, Debug, Clone)]
pub struct CtExecArgs {
    /// VMID or name of the container
    pub guest: String,
    /// The command and its arguments after `--`, passed as they are
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub argv: Vec<String>,
    /// Run it with `pct exec` on the container's node over SSH (what the profile's `ssh = true` allows always)
    #[arg(long)]
    pub ssh: bool,
    /// Node of the container (with a numeric VMID this saves the lookup)
    #[arg(long)]
    pub node: Option<String>,
}

#[derive(Subcommand, Debug, Clone)]
#[command(defer = true)]
pub enum FileCmd {
    /// Copy a file out of a VM through the guest agent: to LOCAL, or to stdout
    Get(FileGetArgs),
    /// Copy a local file (or - for stdin) into a VM, replacing PATH (at most 45 KiB)
    Put(FilePutArgs),
}

#[derive(Args, Debug, Clone)]
pub struct FileGetArgs {
    /// VMID or name
    pub guest: String,
    /// The file in the VM (absolute path)
    pub path: String,
    /// Where to write it: a file or directory (default: stdout, also for -)
    pub local: Option<PathBuf>,
    /// Node of the VM (with a numeric VMID this saves the lookup)
    #[arg(long)]
    pub node: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct FilePutArgs {
    /// VMID or name
    pub guest: String,
    /// The local file, or - for stdin
    pub local: PathBuf,
    /// The file in the VM (absolute path); it is replaced
    pub path: String,
    /// Node of the VM (with a numeric VMID this saves the lookup)
    #[arg(long)]
    pub node: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct VmConsoleArgs {
    #[command(flatten)]
    pub target: GuestTarget,
    /// The serial port to attach to
    #[arg(long, value_parser = ["serial0", "serial1", "serial2", "serial3"], default_value = "serial0")]
    pub serial: String,
    /// The graphical screen instead: print a noVNC link and ticket, or write a .vv file for remote-viewer (SPICE)
    #[arg(long)]
    pub vnc: bool,
}
