//! Live completion (`COMPLETE=bash pvectl`, clap_complete's dynamic completion): besides
//! commands and flags, the cluster's guest names and VMIDs (for `vm` verbs only VMs, for `ct`
//! only containers), nodes, storages, tags, pools, snapshot names and UPIDs, and the profiles of
//! the configuration file.
//!
//! A TAB must never hang the shell: what the server said is kept for a few seconds under the XDG
//! cache directory (`cache`), a request has a hard limit of 300 ms (`fetch`), no password is ever
//! asked for and no `*_command` run, and nothing is printed but the candidates.

mod cache;
mod context;
mod fetch;

use std::ffi::OsStr;

use clap::Arg;
use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};

use crate::api::GuestKind;

/// What an argument takes, for completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    /// Guest names and VMIDs: of one kind, or of both (`None`).
    Guests(Option<GuestKind>),
    Nodes,
    Storages,
    Tags,
    Pools,
    /// The snapshots of the guest named earlier on the line.
    Snapshots(Option<GuestKind>),
    Upids,
    Profiles,
}

/// Answer a completion request and exit, when the shell asks for one (`COMPLETE` is set);
/// otherwise return at once. Called first thing in `main`.
pub fn serve_if_asked() {
    clap_complete::CompleteEnv::with_factory(command).complete();
}

/// The clap tree with a completer on every argument that names something on the server.
pub fn command() -> clap::Command {
    annotate(crate::cli::command_built(), &[])
}

fn annotate(cmd: clap::Command, path: &[String]) -> clap::Command {
    let here: Vec<String> = path.to_vec();
    let cmd = cmd.mut_args(|arg| match what(&here, &arg) {
        Some(w) => arg.add(ArgValueCompleter::new(move |current: &OsStr| {
            candidates(w, current)
        })),
        None => arg,
    });
    cmd.mut_subcommands(|sub| {
        let mut p = path.to_vec();
        p.push(sub.get_name().to_string());
        annotate(sub, &p)
    })
}

/// Which completion an argument gets, from its id and the command it belongs to (`path`: the
/// subcommand names below `pvectl`). New commands that use the usual ids get it too.
pub fn what(path: &[String], arg: &Arg) -> Option<What> {
    let kind = match path.first().map(String::as_str) {
        Some("vm") => Some(GuestKind::Qemu),
        Some("ct") => Some(GuestKind::Lxc),
        _ => None,
    };
    let verb = |names: &[&str]| path.iter().any(|p| names.contains(&p.as_str()));
    let id = arg.get_id().as_str();
    let value_name = arg
        .get_value_names()
        .and_then(|v| v.first())
        .map(|v| v.as_str());
    Some(match id {
        "guest" | "guests" | "exclude" | "target_vmid" => What::Guests(kind),
        "vmid" if value_name == Some("GUEST") || verb(&["prune"]) => What::Guests(kind),
        "node" => What::Nodes,
        "target" if verb(&["migrate", "clone"]) => What::Nodes,
        "storage" | "image_storage" | "target_storage" | "statestorage" => What::Storages,
        "tag" => What::Tags,
        "pool" => What::Pools,
        "name" if verb(&["snapshot"]) && verb(&["rollback", "delete"]) => What::Snapshots(kind),
        "snapname" => What::Snapshots(kind),
        "upid" | "upids" => What::Upids,
        "profile" => What::Profiles,
        "name" if verb(&["config"]) && verb(&["use", "delete-profile"]) => What::Profiles,
        _ => return None,
    })
}

/// The candidates for the word being completed; nothing when nothing can be known in time.
fn candidates(what: What, current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(current) = current.to_str() else {
        return vec![];
    };
    let line = context::Line::from_process();
    let found = match what {
        What::Profiles => line.profiles(),
        _ => fetch::values(what, &line, current),
    };
    found
        .into_iter()
        .filter(|c| c.value.starts_with(current))
        .map(|c| CompletionCandidate::new(c.value).help(c.help.map(Into::into)))
        .collect()
}

/// A value to offer, with a line of help (zsh and fish show it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub value: String,
    pub help: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn what_at(words: &[&str], id: &str) -> Option<What> {
        let mut cmd = command();
        cmd.build();
        let mut at = &cmd;
        let mut path = vec![];
        for w in words {
            at = at.find_subcommand(w).unwrap_or_else(|| panic!("no {w}"));
            path.push(w.to_string());
        }
        let arg = at
            .get_arguments()
            .find(|a| a.get_id().as_str() == id)
            .unwrap_or_else(|| panic!("no {id} in {words:?}"));
        assert!(
            arg.get::<ArgValueCompleter>().is_some() == what(&path, arg).is_some(),
            "{words:?} {id}"
        );
        what(&path, arg)
    }

    #[test]
    fn each_kind_completes_its_own_guests() {
        assert_eq!(
            what_at(&["vm", "start"], "guests"),
            Some(What::Guests(Some(GuestKind::Qemu)))
        );
        assert_eq!(
            what_at(&["ct", "status"], "guest"),
            Some(What::Guests(Some(GuestKind::Lxc)))
        );
        assert_eq!(
            what_at(&["backup", "create"], "guests"),
            Some(What::Guests(None))
        );
        assert_eq!(
            what_at(&["vm", "snapshot", "rollback"], "name"),
            Some(What::Snapshots(Some(GuestKind::Qemu)))
        );
        assert_eq!(what_at(&["vm", "snapshot", "create"], "name"), None);
        assert_eq!(what_at(&["vm", "migrate"], "target"), Some(What::Nodes));
        assert_eq!(what_at(&["nodes", "status"], "node"), Some(What::Nodes));
        assert_eq!(what_at(&["tasks", "wait"], "upids"), Some(What::Upids));
        assert_eq!(what_at(&["config", "use"], "name"), Some(What::Profiles));
        assert_eq!(what_at(&[], "profile"), Some(What::Profiles));
        assert_eq!(
            what_at(&["storage", "content"], "storage"),
            Some(What::Storages)
        );
    }
}
