//! `vm console` / `ct console`: the guest's console in the user's terminal, through PVE's terminal
//! proxy and its websocket. The terminal is raw while connected (every key goes to the guest,
//! Ctrl-C included) and restored however the session ends; Ctrl-] leaves; window-size changes
//! are passed on. `vm console --vnc` prints how to open the graphical screen instead.

use std::io::{IsTerminal, Read, Write};
use std::time::Duration;

use serde_json::{json, Value};

use super::Ctx;
use crate::api::guest::config::{self, Config};
use crate::api::guest::console::{self, TermWriter};
use crate::api::{ApiError, Client, GuestKind};
use crate::cli::GuestTarget;
use crate::error::{CliError, ErrorKind, Reported};
use crate::targets::{self, Guest, KindWords};

/// The key that leaves the console (telnet's escape).
const LEAVE: u8 = 0x1d;
/// How often the connection is kept alive (PVE's web console does the same).
const KEEPALIVE: Duration = Duration::from_secs(30);

pub async fn run(
    ctx: &Ctx,
    kind: GuestKind,
    t: &GuestTarget,
    serial: Option<&str>,
    vnc: bool,
) -> anyhow::Result<()> {
    if !vnc && !std::io::stdin().is_terminal() {
        return Err(CliError::usage(format!(
            "the console needs a terminal, and stdin is none; to run a command use `pvectl {} exec`",
            kind.command()
        ))
        .into());
    }
    let client = ctx.client()?;
    let g = targets::resolve_one(&client, kind, &t.guest, t.node.as_deref()).await?;
    if g.status.as_deref() == Some("stopped") {
        let name = g.name.clone().unwrap_or_else(|| g.vmid.to_string());
        return Err(CliError::refused(format!(
            "{} is not running: start it with `pvectl {} start {name}`",
            g.label(),
            kind.command()
        ))
        .into());
    }
    if kind == GuestKind::Qemu {
        let cfg = config::get(&client, &g).await?;
        if vnc {
            return graphical(ctx, &client, &g, &cfg).await;
        }
        let port = serial.unwrap_or("serial0");
        if !cfg.contains(port) {
            let name = g.name.clone().unwrap_or_else(|| g.vmid.to_string());
            return Err(CliError::refused(format!(
                "{} has no serial port {port}, so there is no text console: add one with \
                 `pvectl vm set {name} {port}=socket`, restart the VM, and let the guest use it \
                 (kernel option console=ttyS{}); or use --vnc for the screen",
                g.label(),
                port.trim_start_matches("serial")
            ))
            .into());
        }
    }
    let ticket = console::termproxy(&client, &g, serial).await?;
    let (writer, reader, first) = console::open_terminal(&client, &g, &ticket).await?;
    let what = match kind {
        GuestKind::Qemu => format!("the serial console ({})", serial.unwrap_or("serial0")),
        GuestKind::Lxc => "the console".to_string(),
    };
    let hello = format!(
        "connected to {what} of {}; press Ctrl-] to leave",
        g.label()
    );
    session(ctx, &g, &hello, writer, reader, first).await
}

/// How a session ended.
enum End {
    /// The user pressed Ctrl-].
    Left,
    /// The server ended it (the terminal program exited).
    Closed,
    /// The terminal went away or pvectl was told to stop.
    Signal,
    Broken(ApiError),
}

#[cfg(unix)]
async fn session(
    ctx: &Ctx,
    g: &Guest,
    hello: &str,
    mut writer: TermWriter,
    mut reader: console::TermReader,
    first: Vec<u8>,
) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};

    let mut winch = signal(SignalKind::window_change())?;
    // Signals from elsewhere (raw mode makes no SIGINT of Ctrl-C) end the session cleanly.
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut quit = signal(SignalKind::quit())?;
    // From here on the terminal is raw; `raw` restores it when dropped, on every way out. The
    // greeting comes after, so every key typed once it shows goes to the guest.
    let raw = crate::output::raw::RawMode::enter()?;
    eprint!("{hello}\r\n");
    let mut stdout = std::io::stdout();
    stdout.write_all(&first)?;
    stdout.flush()?;
    if let Some((cols, rows)) = crate::output::raw::size() {
        writer.resize(cols, rows).await?;
    }
    let mut keys = stdin_reader();
    let mut keepalive =
        tokio::time::interval_at(tokio::time::Instant::now() + KEEPALIVE, KEEPALIVE);
    let end = loop {
        tokio::select! {
            out = reader.next() => match out {
                Some(Ok(bytes)) => {
                    stdout.write_all(&bytes)?;
                    stdout.flush()?;
                }
                Some(Err(e)) => break End::Broken(e),
                None => break End::Closed,
            },
            typed = keys.recv() => match typed {
                Some(bytes) => match bytes.iter().position(|b| *b == LEAVE) {
                    Some(at) => {
                        writer.input(&bytes[..at]).await?;
                        break End::Left;
                    }
                    None => writer.input(&bytes).await?,
                },
                // stdin is gone: nothing more can be typed.
                None => break End::Signal,
            },
            _ = winch.recv() => {
                if let Some((cols, rows)) = crate::output::raw::size() {
                    writer.resize(cols, rows).await?;
                }
            }
            _ = keepalive.tick() => writer.ping().await?,
            _ = term.recv() => break End::Signal,
            _ = hup.recv() => break End::Signal,
            _ = int.recv() => break End::Signal,
            _ = quit.recv() => break End::Signal,
        }
    };
    if !matches!(end, End::Closed | End::Broken(_)) {
        writer.close().await;
    }
    drop(raw);
    // The guest's output may have left the cursor anywhere.
    eprintln!();
    match end {
        End::Left => {
            ctx.out
                .notice(&format!("left the console of {}", g.label()));
            Ok(())
        }
        End::Closed => {
            ctx.out
                .notice(&format!("the console of {} was closed", g.label()));
            Ok(())
        }
        End::Signal => {
            ctx.out
                .notice(&format!("interrupted: left the console of {}", g.label()));
            Err(Reported(ErrorKind::Interrupted).into())
        }
        End::Broken(e) => Err(e.into()),
    }
}

#[cfg(not(unix))]
async fn session(
    _ctx: &Ctx,
    _g: &Guest,
    _hello: &str,
    _writer: TermWriter,
    _reader: console::TermReader,
    _first: Vec<u8>,
) -> anyhow::Result<()> {
    Err(CliError::other("the console needs a Unix terminal").into())
}

/// What is typed, read on a thread of its own (a blocking read that nobody has to wait for when
/// the session ends: the process exits around it).
fn stdin_reader() -> tokio::sync::mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let mut stdin = std::io::stdin();
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.blocking_send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

/// `vm console --vnc`: SPICE for a VM with a SPICE display (`vga: qxl…`), written as a `.vv` file
/// for remote-viewer; otherwise a VNC proxy, with the link to PVE's web console and the
/// websocket and password a VNC client of PVE's kind needs.
async fn graphical(ctx: &Ctx, client: &Client, g: &Guest, cfg: &Config) -> anyhow::Result<()> {
    let base = ctx.settings.base_url.clone().unwrap_or_default();
    let host = url::Url::parse(&base)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string));
    let spice = cfg
        .text("vga")
        .is_some_and(|v| v.split(',').next().unwrap_or("").starts_with("qxl"));
    if spice {
        let settings = console::spiceproxy(client, g, host.as_deref()).await?;
        let path = write_vv(g, &settings)?;
        if ctx.out.structured() {
            ctx.out
                .json(&json!({"vmid": g.vmid, "name": g.name, "node": g.node, "file": path}))?;
        } else {
            ctx.out.lines([path.clone()])?;
        }
        ctx.out.info(&format!(
            "open it within 30 seconds (PVE's SPICE ticket expires): remote-viewer {path}"
        ));
        return Ok(());
    }
    let t = console::vncproxy(client, g).await?;
    let name = g.name.clone().unwrap_or_default();
    let web = format!(
        "{base}/?console=kvm&novnc=1&vmid={}&vmname={}&node={}&resize=scale",
        g.vmid,
        crate::api::seg(&name),
        crate::api::seg(&g.node)
    );
    let (path, params) = console::websocket_request(g, &t);
    let query: Vec<String> = params
        .pairs()
        .iter()
        .map(|(k, v)| format!("{k}={}", crate::api::seg(v)))
        .collect();
    let websocket = format!(
        "{}/api2/json{path}?{}",
        base.replacen("https://", "wss://", 1),
        query.join("&")
    );
    let mut value = json!({
        "console": web,
        "websocket": websocket,
        "port": t.port,
        "user": t.user,
    });
    if let Some(p) = &t.password {
        value["password"] = Value::String(p.expose().to_string());
    }
    ctx.out.object(&value, &[])?;
    ctx.out.info(
        "`console` opens the screen in PVE's web UI (logged in there); the websocket and its password are \
         good for one connection within about 10 seconds",
    );
    Ok(())
}

/// The `.vv` file remote-viewer reads: `[virt-viewer]` and PVE's keys as they came; mode 0600,
/// as it holds the ticket.
fn write_vv(
    g: &Guest,
    settings: &std::collections::BTreeMap<String, Value>,
) -> anyhow::Result<String> {
    let mut text = String::from("[virt-viewer]\n");
    for (k, v) in settings {
        let v = match v {
            Value::String(s) => s.clone(),
            Value::Null => continue,
            other => other.to_string(),
        };
        text.push_str(&format!("{k}={v}\n"));
    }
    let path = std::env::temp_dir().join(format!("pvectl-{}-{}.vv", g.vmid, std::process::id()));
    let mut f = crate::config::create_private(&path)
        .map_err(|e| CliError::other(format!("cannot write {}: {e}", path.display())))?;
    f.write_all(text.as_bytes())?;
    Ok(path.display().to_string())
}
