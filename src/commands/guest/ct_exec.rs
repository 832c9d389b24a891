//! `ct exec`: PVE's API has no way to run a command in a container, so this runs `pct exec` on the
//! container's node over SSH, and only when the user allowed pvectl to (the profile's `ssh = true`,
//! or `--ssh`). The node's address comes from `/cluster/status`; the login from the profile's
//! `node_ssh_user` (root) and `ssh_key`.

use std::io::IsTerminal;
use std::process::Stdio;

use serde_json::json;

use super::ssh::{cannot_run, shell_line, ssh};
use super::Ctx;
use crate::api::{cluster, GuestKind};
use crate::cli::CtExecArgs;
use crate::error::{CliError, ExitWith};
use crate::targets;

pub async fn run(ctx: &Ctx, a: CtExecArgs) -> anyhow::Result<()> {
    if !(a.ssh || ctx.settings.ssh.nodes) {
        return Err(CliError::usage(
            "containers have no exec endpoint in PVE's API; pvectl can run `pct exec` on the container's node over SSH: \
             add --ssh, or set ssh = true in the profile (node_ssh_user and ssh_key say how to log in; the user needs root)",
        )
        .into());
    }
    let client = ctx.client()?;
    let g = targets::resolve_one(&client, GuestKind::Lxc, &a.guest, a.node.as_deref()).await?;
    let host = node_address(&client, &g.node).await?;
    let mut remote = vec![
        "pct".to_string(),
        "exec".into(),
        g.vmid.to_string(),
        "--".into(),
    ];
    remote.extend(a.argv.iter().cloned());
    let mut args: Vec<String> = vec![];
    if let Some(key) = &ctx.settings.ssh.key {
        args.extend(["-i".into(), key.display().to_string()]);
    }
    args.extend(["-l".into(), ctx.settings.ssh.node_user.clone()]);
    // A terminal for the command only when there is one on both ends (an interactive shell).
    let tty =
        !ctx.out.structured() && std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    args.push(if tty { "-t" } else { "-T" }.into());
    args.extend([host.clone(), "--".into(), shell_line(&remote)]);
    ctx.out.info(&format!(
        "{}: on {} ({host}) as {} over ssh: {}",
        g.label(),
        g.node,
        ctx.settings.ssh.node_user,
        shell_line(&remote)
    ));
    let mut cmd = ssh();
    cmd.args(&args);
    let code = if ctx.out.structured() {
        let out = cmd.stdin(Stdio::inherit()).output().map_err(cannot_run)?;
        let code = status_code(&out.status);
        ctx.out.json(&json!({
            "vmid": g.vmid,
            "name": g.name,
            "node": g.node,
            "exitcode": out.status.code(),
            "out": String::from_utf8_lossy(&out.stdout),
            "err": String::from_utf8_lossy(&out.stderr),
        }))?;
        code
    } else {
        status_code(&cmd.status().map_err(cannot_run)?)
    };
    match code {
        0 => Ok(()),
        c => Err(ExitWith(c).into()),
    }
}

/// The exit code a shell would show for ssh's end (255: ssh itself failed).
fn status_code(s: &std::process::ExitStatus) -> u8 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = s.signal() {
            return u8::try_from(128 + sig).unwrap_or(255);
        }
    }
    s.code().and_then(|c| u8::try_from(c).ok()).unwrap_or(255)
}

/// The address the cluster knows the node by (`/cluster/status`), else its name.
async fn node_address(client: &crate::api::Client, node: &str) -> anyhow::Result<String> {
    let entries = cluster::status(client).await?;
    Ok(entries
        .iter()
        .find(|e| e.kind == "node" && e.name.as_deref() == Some(node))
        .and_then(|e| e.extra.get("ip"))
        .and_then(|ip| ip.as_str())
        .filter(|ip| !ip.is_empty())
        .unwrap_or(node)
        .to_string())
}
