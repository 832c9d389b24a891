//! `vm exec`: run a command in VMs through the guest agent (`agent/exec`, then `agent/exec-status`
//! polled on the task module's schedule), the guest's stdout to ours and its stderr to ours, and
//! exit with the guest's exit code; several VMs at once (`--parallel`), each output labelled on a
//! terminal, the worst exit code.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};

use super::Ctx;
use crate::api::guest::agent::{self, ExecStatus, Unavailable};
use crate::api::guest::config;
use crate::api::{ApiError, Client, GuestKind, Located};
use crate::cli::VmExecArgs;
use crate::config::parse_duration;
use crate::error::{self, CliError, ErrorKind, ExitWith, Reported};
use crate::targets::{Guest, KindWords};
use crate::task::{self, poll_until, SHORT_WAIT};

/// Commands running in guests, so Ctrl-C can say which keep running.
#[derive(Default)]
struct Running(Mutex<Vec<(Guest, u64)>>);

impl Running {
    fn add(&self, g: &Guest, pid: u64) {
        if let Ok(mut v) = self.0.lock() {
            v.push((g.clone(), pid));
        }
    }
    fn remove(&self, g: &Guest) {
        if let Ok(mut v) = self.0.lock() {
            v.retain(|(o, _)| o.vmid != g.vmid);
        }
    }
    fn take(&self) -> Vec<(Guest, u64)> {
        self.0
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
}

/// How a command in one guest went.
struct Ran {
    g: Guest,
    outcome: anyhow::Result<(u64, ExecStatus)>,
}

impl Ran {
    /// The exit code this guest stands for: its command's, or pvectl's for an error.
    fn code(&self) -> u8 {
        match &self.outcome {
            Ok((_, s)) => exit_code(s),
            Err(e) => error::exit_code(e),
        }
    }
}

pub async fn run(ctx: &Ctx, a: VmExecArgs) -> anyhow::Result<()> {
    let kind = GuestKind::Qemu;
    let limit = match &a.timeout {
        Some(t) => {
            let d = parse_duration(t).map_err(|e| CliError::usage(format!("--timeout: {e}")))?;
            (!d.is_zero()).then_some(d)
        }
        None => task::wait_limit(&ctx.settings, None, SHORT_WAIT)?,
    };
    let input = read_input(a.input.as_deref())?;
    let client = ctx.client()?;
    let (guests, single) = super::guests_of(&client, kind, &a.guests, a.node.as_deref()).await?;
    let parallel = a.parallel.unwrap_or(ctx.settings.parallel).max(1) as usize;
    let running = Running::default();
    let label = !single && ctx.term.stdout_tty;
    let mut shown: Vec<Ran> = vec![];
    let work = async {
        let mut done = stream::iter(guests)
            .map(|g| one(&client, g, &a.argv, input.as_deref(), limit, &running))
            .buffered(parallel);
        while let Some(ran) = done.next().await {
            if !ctx.out.structured() {
                print_plain(ctx, &ran, single, label)?;
            }
            shown.push(ran);
        }
        anyhow::Ok(())
    };
    tokio::select! {
        r = work => r?,
        _ = tokio::signal::ctrl_c() => {
            for (g, pid) in running.take() {
                ctx.out.notice(&format!(
                    "interrupted: the command keeps running in {} as PID {pid}; {}",
                    g.label(),
                    look_later(&g, pid)
                ));
            }
            return Err(Reported(ErrorKind::Interrupted).into());
        }
    }
    if ctx.out.structured() {
        if single {
            if shown[0].outcome.is_ok() {
                ctx.out.json(&row(&shown[0]))?;
            }
        } else {
            let rows: Vec<Value> = shown.iter().map(row).collect();
            ctx.out.json(&rows)?;
        }
    }
    if single {
        let ran = shown.remove(0);
        return match ran.outcome {
            Err(e) => Err(e),
            Ok((_, s)) => match exit_code(&s) {
                0 => Ok(()),
                code => Err(ExitWith(code).into()),
            },
        };
    }
    let worst = shown.iter().map(Ran::code).max().unwrap_or(0);
    match worst {
        0 => Ok(()),
        code => Err(ExitWith(code).into()),
    }
}

/// The command's standard input: `--input FILE`, `--input -`, or pvectl's own stdin when it is
/// a pipe or a file (never a terminal: nobody types into a command that gets its input at once).
fn read_input(flag: Option<&Path>) -> anyhow::Result<Option<Vec<u8>>> {
    let data =
        match flag {
            Some(p) if p == Path::new("-") => Some(read_stdin()?),
            Some(p) => Some(std::fs::read(p).map_err(|e| {
                CliError::usage(format!("--input: cannot read {}: {e}", p.display()))
            })?),
            None if stdin_is_data() => Some(read_stdin()?),
            None => None,
        };
    if let Some(d) = &data {
        if d.len() > agent::EXEC_INPUT_MAX {
            return Err(CliError::usage(format!(
                "the input is {} bytes; PVE passes at most {} bytes (64 KiB) to a command; nothing was run",
                d.len(),
                agent::EXEC_INPUT_MAX
            ))
            .into());
        }
    }
    Ok(data.filter(|d| !d.is_empty()))
}

fn read_stdin() -> anyhow::Result<Vec<u8>> {
    let mut buf = vec![];
    std::io::stdin()
        .lock()
        .take(agent::EXEC_INPUT_MAX as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| CliError::usage(format!("cannot read stdin: {e}")))?;
    Ok(buf)
}

/// Whether stdin is a pipe or a file (`< file`), as opposed to a terminal or /dev/null.
fn stdin_is_data() -> bool {
    if std::io::stdin().is_terminal() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        std::fs::metadata("/dev/stdin")
            .map(|m| m.file_type().is_fifo() || m.file_type().is_file())
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// Run the command in one guest and wait for it.
async fn one(
    client: &Client,
    g: Guest,
    argv: &[String],
    input: Option<&[u8]>,
    limit: Option<Duration>,
    running: &Running,
) -> Ran {
    let outcome = async {
        let pid = match agent::exec(client, &g, argv, input).await {
            Ok(p) => p,
            Err(e) => return Err(agent_error(client, &g, e).await),
        };
        running.add(&g, pid);
        let gr = &g;
        let status = poll_until(limit, Duration::ZERO, move || async move {
            match agent::exec_status(client, gr, pid).await {
                Ok(s) if s.exited => Some(Ok(s)),
                Ok(_) => None,
                // The connection or a proxy in between, not the agent: ask again.
                Err(e) if e.is_transient() => None,
                Err(e) => Some(Err(e)),
            }
        })
        .await;
        running.remove(&g);
        match status {
            Some(Ok(s)) => Ok((pid, s)),
            Some(Err(e)) => Err(agent_error(client, &g, e).await),
            None => Err(CliError::new(
                ErrorKind::WaitTimeout,
                format!(
                    "gave up waiting after {}s: the command keeps running in {} as PID {pid}; {}",
                    limit.unwrap_or_default().as_secs(),
                    g.label(),
                    look_later(&g, pid)
                ),
            )
            .into()),
        }
    }
    .await;
    Ran { g, outcome }
}

fn look_later(g: &Guest, pid: u64) -> String {
    format!(
        "look at it later with `pvectl api get {}/agent/exec-status pid={pid}`",
        g.path()
    )
}

/// An agent request PVE refused, in words: why the agent cannot be asked and what to do.
pub(super) async fn agent_error(client: &Client, g: &Guest, e: ApiError) -> anyhow::Error {
    let name = g.name.clone().unwrap_or_else(|| g.vmid.to_string());
    let who = g.label();
    let message = match agent::unavailable(&e) {
        Some(Unavailable::NotConfigured) => format!(
            "{who} has no guest agent configured: enable it with `pvectl vm set {name} agent=1`, install \
             qemu-guest-agent in the guest and restart the VM (the agent's device is added at start)"
        ),
        Some(Unavailable::GuestStopped) => format!(
            "{who} is not running: start it with `pvectl {} start {name}`",
            g.kind.command()
        ),
        Some(Unavailable::NotRunning) => {
            // `agent: 0` gets the same answer from PVE as an agent that does not answer.
            let disabled = config::get(client, g)
                .await
                .ok()
                .and_then(|c| c.text("agent"))
                .is_some_and(|v| !agent::enabled_in_config(&v));
            if disabled {
                format!(
                    "the guest agent of {who} is disabled (agent: 0): enable it with `pvectl vm set {name} agent=1` \
                     and restart the VM"
                )
            } else {
                format!(
                    "the guest agent of {who} is not running: install and start qemu-guest-agent in the guest \
                     (e.g. apt install qemu-guest-agent; systemctl start qemu-guest-agent)"
                )
            }
        }
        None => return anyhow::Error::from(e).context(who),
    };
    CliError::refused(message).into()
}

/// The exit code a shell would show: the guest's, or 128 + the signal that ended it. Codes a
/// byte cannot hold (Windows' NTSTATUS values) become 255.
fn exit_code(s: &ExecStatus) -> u8 {
    match (s.exitcode, s.signal) {
        (_, Some(sig)) if sig > 0 => u8::try_from(128 + sig).unwrap_or(255),
        (Some(code), _) => u8::try_from(code).unwrap_or(255),
        (None, _) => 0,
    }
}

/// One guest's output on our stdout and stderr (each line labelled with the guest when
/// several run on a terminal), its truncation and its error.
fn print_plain(ctx: &Ctx, ran: &Ran, single: bool, label: bool) -> anyhow::Result<()> {
    let prefix = label.then(|| {
        format!(
            "{}: ",
            ran.g.name.clone().unwrap_or_else(|| ran.g.vmid.to_string())
        )
    });
    match &ran.outcome {
        Ok((_, s)) => {
            write_out(
                &mut std::io::stdout().lock(),
                &s.stdout(),
                prefix.as_deref(),
            )?;
            write_out(
                &mut std::io::stderr().lock(),
                &s.stderr(),
                prefix.as_deref(),
            )?;
            for (cut, stream) in [(s.out_truncated, "stdout"), (s.err_truncated, "stderr")] {
                if cut {
                    ctx.out.warn(&format!(
                        "{}: the guest agent kept only the start of the command's {stream} (it holds at most 16 MiB)",
                        ran.g.label()
                    ));
                }
            }
            if !single {
                let code = exit_code(s);
                if code != 0 {
                    ctx.out
                        .notice(&format!("{}: exited with {code}", ran.g.label()));
                }
            }
        }
        Err(e) if !single => ctx.out.notice(&format!("error: {}", error::message(e))),
        Err(_) => {}
    }
    Ok(())
}

fn write_out(w: &mut impl Write, data: &[u8], prefix: Option<&str>) -> std::io::Result<()> {
    match prefix {
        None => w.write_all(data)?,
        Some(p) => {
            for line in data.split_inclusive(|b| *b == b'\n') {
                w.write_all(p.as_bytes())?;
                w.write_all(line)?;
            }
            if !data.is_empty() && !data.ends_with(b"\n") {
                w.write_all(b"\n")?;
            }
        }
    }
    w.flush()
}

/// A guest's entry of `-o json`: `exitcode`, `signal`, `out`, `err`, `truncated` (and who, and the
/// PID; `error` instead when it could not run).
fn row(ran: &Ran) -> Value {
    let g = &ran.g;
    let mut v = json!({"vmid": g.vmid, "name": g.name, "node": g.node});
    match &ran.outcome {
        Ok((pid, s)) => {
            v["pid"] = json!(pid);
            v["exitcode"] = json!(s.exitcode);
            v["signal"] = json!(s.signal);
            v["out"] = json!(String::from_utf8_lossy(&s.stdout()));
            v["err"] = json!(String::from_utf8_lossy(&s.stderr()));
            v["truncated"] = json!(s.out_truncated || s.err_truncated);
        }
        Err(e) => {
            v["exitcode"] = Value::Null;
            v["error"] = json!(error::message(e));
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_as_a_shell_shows_them() {
        let s = |exitcode, signal| ExecStatus {
            exited: true,
            exitcode,
            signal,
            ..ExecStatus::default()
        };
        assert_eq!(exit_code(&s(Some(0), None)), 0);
        assert_eq!(exit_code(&s(Some(3), None)), 3);
        assert_eq!(exit_code(&s(None, Some(9))), 137);
        assert_eq!(exit_code(&s(Some(-1073741819), None)), 255);
    }

    #[test]
    fn several_guests_label_every_line() {
        let mut out = vec![];
        write_out(&mut out, b"a\nb", Some("web-1: ")).unwrap();
        assert_eq!(out, b"web-1: a\nweb-1: b\n");
        let mut out = vec![];
        write_out(&mut out, b"raw\x00bytes", None).unwrap();
        assert_eq!(out, b"raw\x00bytes");
    }
}
