//! `vm ssh` / `ct ssh`: the system's ssh at the guest's address (found as `ip` finds it), as the
//! user given with `-l`, else a VM's cloud-init user, else the profile's `ssh_user`, else ssh's own
//! choice. pvectl becomes ssh (exec), so the terminal, the exit code and the signals are ssh's.

use std::process::Command;

use super::address::{self, Want};
use super::Ctx;
use crate::api::guest::config;
use crate::api::GuestKind;
use crate::cli::SshArgs;
use crate::error::CliError;
use crate::targets;

pub async fn run(ctx: &Ctx, kind: GuestKind, a: SshArgs) -> anyhow::Result<()> {
    let wait = address::wait_limit(a.pick.wait.as_deref(), &ctx.settings)?;
    let want = Want {
        v4_only: a.pick.ipv4,
        v6_only: a.pick.ipv6,
        all: false,
    };
    let client = ctx.client()?;
    let g = targets::resolve_one(&client, kind, &a.guest, a.node.as_deref()).await?;
    // cloud-init's user is only needed when -l does not name one.
    let cfg = match (&a.login, kind) {
        (None, GuestKind::Qemu) => Some(config::get(&client, &g).await?),
        _ => None,
    };
    let ciuser = cfg
        .as_ref()
        .and_then(|c| c.text("ciuser"))
        .filter(|u| !u.trim().is_empty());
    let user = a.login.clone().or(ciuser).or(ctx.settings.ssh.user.clone());
    let found = address::find(&client, &g, &want, wait, cfg).await?;
    if let Some(note) = &found.note {
        ctx.out.info(note);
    }
    let Some(addr) = found.addresses.first() else {
        return Err(CliError::not_found(format!("{} has no address", g.label())).into());
    };
    let mut args: Vec<String> = vec![];
    if let Some(key) = &ctx.settings.ssh.key {
        args.extend(["-i".into(), key.display().to_string()]);
    }
    if let Some(u) = &user {
        args.extend(["-l".into(), u.clone()]);
    }
    args.push(addr.to_string());
    args.extend(a.ssh_args.iter().cloned());
    ctx.out
        .info(&format!("{}: ssh {}", g.label(), shell_line(&args)));
    Err(become_ssh(args))
}

/// Replace pvectl with `ssh ARGS`; only returns when ssh cannot be started.
#[cfg(unix)]
fn become_ssh(args: Vec<String>) -> anyhow::Error {
    use std::os::unix::process::CommandExt;
    let e = ssh().args(&args).exec();
    cannot_run(e)
}

#[cfg(not(unix))]
fn become_ssh(_args: Vec<String>) -> anyhow::Error {
    CliError::other("ssh into a guest needs a Unix system").into()
}

/// The system's ssh.
pub(super) fn ssh() -> Command {
    Command::new("ssh")
}

pub(super) fn cannot_run(e: std::io::Error) -> anyhow::Error {
    CliError::other(format!(
        "cannot run ssh: {e} (install the OpenSSH client, or put ssh on PATH)"
    ))
    .into()
}

/// One argument as a POSIX shell reads it back: bare when it is safe, else in single quotes.
pub(super) fn shell_quote(arg: &str) -> String {
    let safe = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@%+".contains(&b));
    if safe {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

/// Arguments as one shell line (what `ssh` runs on the other side, or what we show).
pub(super) fn shell_line(args: &[String]) -> String {
    args.iter()
        .map(|a| shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_survive_the_remote_shell() {
        assert_eq!(shell_quote("uptime"), "uptime");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("$HOME;rm"), "'$HOME;rm'");
        assert_eq!(
            shell_line(&["sh".into(), "-c".into(), "echo $1".into()]),
            "sh -c 'echo $1'"
        );
    }
}
