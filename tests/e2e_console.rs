//! End-to-end: `vm console` and `ct console` on a pseudo-terminal (`tests/support/pty_run.py`),
//! against fakepve's terminal websocket (a container's as PVE serves it: `emulate_lxc_console`).
//! Keys are typed, the window is resized, and after pvectl has exited the same terminal is asked
//! for its settings (`stty -a`): raw mode must be gone, however the session ended. The server's
//! side is checked too: every frame pvectl sent after the ticket (`pve.termdata`).

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::helpers::seen;
use common::Fake;
use serde_json::Value;

/// A running VM with a serial port, and a container, both with consoles.
const GUESTS: &str = "\
emulate_lxc_console(pve)
pve.add_vm(100, 'web-1', status='running', config={'serial0': 'socket'})
pve.add_ct(101, 'dns', status='running', config={'hostname': 'dns'})
";

/// One step on the terminal: once `expect` has appeared, type `send` or resize to `resize`.
enum Step<'a> {
    Type(&'a str, &'a str),
    Resize(&'a str, &'a str),
}

/// What the terminal showed: pvectl's session, its exit code, and the terminal's settings after.
struct Screen {
    raw: String,
    code: Option<i32>,
    timed_out: bool,
}

impl Screen {
    /// pvectl's exit code (the shell wrapping it prints it).
    #[track_caller]
    fn exits(&self, code: i32) -> &Self {
        assert!(!self.timed_out, "the session hung:\n{}", self.raw);
        let line = self
            .raw
            .split('\n')
            .find_map(|l| l.trim_end_matches('\r').strip_prefix("pvectl exit="))
            .unwrap_or_else(|| panic!("no exit code on the terminal:\n{}", self.raw));
        assert_eq!(line, code.to_string(), "the terminal showed:\n{}", self.raw);
        assert_eq!(self.code, Some(0), "the shell around pvectl");
        self
    }

    #[track_caller]
    fn shows(&self, text: &str) -> &Self {
        assert!(
            self.raw.contains(text),
            "{text:?} did not appear on the terminal:\n{}",
            self.raw
        );
        self
    }

    /// After pvectl: canonical mode, echo, signals and output processing are back on.
    #[track_caller]
    fn restored(&self) -> &Self {
        let stty = self
            .raw
            .split_once("pvectl exit=")
            .map(|(_, after)| after.replace(['\r', '\n'], " "))
            .unwrap_or_default();
        let flags: Vec<&str> = stty.split([' ', ';']).collect();
        for on in ["icanon", "echo", "isig", "opost", "icrnl"] {
            assert!(
                flags.contains(&on) && !flags.contains(&format!("-{on}").as_str()),
                "{on} is not back on after pvectl:\n{stty}"
            );
        }
        self
    }
}

fn venv_python() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let venv = std::env::var("PVECTL_TEST_VENV").unwrap_or_else(|_| ".venv".to_string());
    let python = root.join(venv).join("bin/python");
    assert!(
        python.exists(),
        "no Python at {}: run the suite with tests/run.sh, which creates the venv",
        python.display()
    );
    python
}

/// Run `pvectl ARGS` on an 80x24 terminal, then `stty -a` on the same terminal.
fn on_terminal(fake: &Fake, args: &[&str], steps: &[Step]) -> Screen {
    let mut cmd = terminal_command(fake, args, steps, None);
    screen(cmd.output().expect("run tests/support/pty_run.py"))
}

/// `on_terminal`, with `signal` sent to pvectl from outside once it has run for a second.
fn on_terminal_signalled(fake: &Fake, args: &[&str], signal: &str) -> Screen {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let mut cmd = terminal_command(fake, args, &[], Some(&pidfile));
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run tests/support/pty_run.py");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let pid = loop {
        if let Some(pid) = std::fs::read_to_string(&pidfile)
            .ok()
            .filter(|p| p.ends_with('\n'))
        {
            break pid.trim().to_string();
        }
        assert!(std::time::Instant::now() < deadline, "pvectl did not start");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    std::thread::sleep(std::time::Duration::from_secs(1));
    let sent = Command::new("kill")
        .args([&format!("-{signal}"), &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    screen(child.wait_with_output().unwrap())
}

/// pty_run.py running `pvectl ARGS` then `stty -a` (writing pvectl's PID to `pidfile` first).
fn terminal_command(
    fake: &Fake,
    args: &[&str],
    steps: &[Step],
    pidfile: Option<&std::path::Path>,
) -> Command {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let pvectl = fake.cmd();
    let mut cmd = Command::new(venv_python());
    cmd.env_clear().env("TERM", "xterm-256color");
    for (key, value) in pvectl.get_envs() {
        if let Some(v) = value {
            cmd.env(key, v);
        }
    }
    cmd.arg(root.join("tests/support/pty_run.py")).args([
        "--cols",
        "80",
        "--rows",
        "24",
        "--timeout",
        "10",
    ]);
    for step in steps {
        match step {
            Step::Type(expect, send) => cmd.args(["--expect", expect, "--send", send]),
            Step::Resize(expect, size) => cmd.args(["--expect", expect, "--resize", size]),
        };
    }
    // pvectl runs in a shell of its own (`exec`), so its PID can be written first.
    let run = match pidfile {
        Some(p) => format!(
            "sh -c 'echo $$ > {}; exec \"$0\" \"$@\"' \"$0\" \"$@\"",
            p.display()
        ),
        None => "\"$0\" \"$@\"".to_string(),
    };
    cmd.args([
        "--",
        "sh",
        "-c",
        &format!("{run}; echo \"pvectl exit=$?\"; stty -a"),
    ])
    .arg(pvectl.get_program())
    .args(args);
    cmd
}

fn screen(out: std::process::Output) -> Screen {
    assert!(
        out.status.success(),
        "pty_run.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("pty_run.py prints JSON");
    let raw = v["output"].as_str().unwrap_or_default().to_string();
    assert!(
        v["unanswered"].as_array().is_some_and(|a| a.is_empty()),
        "never saw {}; the terminal showed:\n{raw}",
        v["unanswered"]
    );
    Screen {
        code: v["code"].as_i64().map(|c| c as i32),
        timed_out: v["timed_out"].as_bool().unwrap_or(true),
        raw,
    }
}

/// The frames pvectl sent after the ticket line.
fn frames(fake: &Fake) -> Vec<String> {
    fake.exec("result = list(pve.termdata)")
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn vm_console_is_an_interactive_terminal_until_ctrl_bracket() {
    let fake = Fake::with(GUESTS);
    fake.clear_requests();
    let screen = on_terminal(
        &fake,
        &["vm", "console", "web-1"],
        &[
            Step::Type("press Ctrl-] to leave", "ls\r"),
            Step::Resize("ls", "100x30"),
            // Ctrl-C goes to the guest: pvectl is not interrupted.
            Step::Type("", "\u{3}"),
            Step::Type("\u{3}", "\u{1d}"),
        ],
    );
    screen
        .exits(0)
        .shows("connected to the serial console (serial0) of web-1 (100); press Ctrl-] to leave")
        .shows("starting serial terminal on interface serial0")
        .shows("left the console of web-1 (100)")
        .restored();
    let sent = frames(&fake);
    assert_eq!(sent[0], "1:80:24:", "the size first: {sent:?}");
    assert!(sent.contains(&"0:3:ls\r".to_string()), "{sent:?}");
    assert!(sent.contains(&"1:100:30:".to_string()), "{sent:?}");
    assert!(sent.contains(&"0:1:\u{3}".to_string()), "{sent:?}");
    assert!(
        !sent.iter().any(|f| f.contains('\u{1d}')),
        "Ctrl-] stays local: {sent:?}"
    );
    assert_eq!(
        seen(&fake),
        vec![
            "GET /cluster/resources",
            "GET /nodes/pve1/qemu/100/config",
            "POST /nodes/pve1/qemu/100/termproxy",
            "GET /nodes/pve1/qemu/100/vncwebsocket"
        ]
    );
}

#[test]
fn ct_console_speaks_the_same_protocol() {
    let fake = Fake::with(GUESTS);
    let screen = on_terminal(
        &fake,
        &["ct", "console", "dns"],
        &[
            Step::Type("dns login: ", "root\r"),
            Step::Type("root", "\u{1d}"),
        ],
    );
    screen
        .exits(0)
        .shows("connected to the console of dns (101); press Ctrl-] to leave")
        .restored();
    assert_eq!(frames(&fake), vec!["1:80:24:", "0:5:root\r"]);
}

/// The fake's terminal ends when `exit` is typed (the connection is dropped, as PVE drops it when
/// the terminal program exits) and breaks when `crash` is typed (garbage on the connection).
const HANGUP: &str = "
import asyncio
class Hangup(list):
    def append(self, frame):
        super().append(frame)
        if 'exit' in frame:
            raise asyncio.CancelledError()
        if 'crash' in frame:
            raise ConnectionResetError('the terminal program crashed')
pve.termdata = Hangup()
";

#[test]
fn a_console_the_server_ends_restores_the_terminal() {
    let fake = Fake::with(&format!("{GUESTS}{HANGUP}"));
    let screen = on_terminal(
        &fake,
        &["vm", "console", "web-1"],
        &[Step::Type("press Ctrl-] to leave", "exit\r")],
    );
    screen
        .exits(0)
        .shows("the console of web-1 (100) was closed")
        .restored();
    let screen = on_terminal(
        &fake,
        &["vm", "console", "web-1"],
        &[Step::Type("press Ctrl-] to leave", "crash\r")],
    );
    screen
        .exits(7)
        .shows("error: the console connection broke")
        .restored();
}

#[test]
fn a_signal_from_elsewhere_ends_the_console_and_restores_the_terminal() {
    for signal in ["TERM", "INT", "HUP"] {
        let fake = Fake::with(GUESTS);
        let screen = on_terminal_signalled(&fake, &["vm", "console", "web-1"], signal);
        screen
            .exits(130)
            .shows("interrupted: left the console of web-1 (100)")
            .restored();
    }
}

#[test]
fn a_refused_websocket_is_an_error_and_the_terminal_stays_usable() {
    let fake = Fake::with(&format!("{GUESTS}pve.refuse_terminal = True"));
    let screen = on_terminal(&fake, &["vm", "console", "web-1"], &[]);
    screen
        .exits(6)
        .shows("error: the server closed the console without accepting the ticket")
        .restored();
    // A ticket that expired before the websocket was opened: PVE's 401.
    let fake = Fake::with(&format!("{GUESTS}pve.vnc_ticket_ttl = 0"));
    let screen = on_terminal(&fake, &["ct", "console", "dns"], &[]);
    screen
        .exits(6)
        .shows("error: the server refused the console's ticket (permission denied - invalid PVEVNC ticket)")
        .restored();
}

#[test]
fn vm_console_without_a_serial_port_says_how_to_add_one() {
    let fake = Fake::with("pve.add_vm(100, 'web-1', status='running')");
    let screen = on_terminal(&fake, &["vm", "console", "web-1"], &[]);
    screen
        .exits(6)
        .shows("web-1 (100) has no serial port serial0")
        .shows("`pvectl vm set web-1 serial0=socket`")
        .shows("console=ttyS0")
        .restored();
    assert!(!seen(&fake).iter().any(|l| l.ends_with("termproxy")));
    let screen = on_terminal(
        &fake,
        &["vm", "console", "web-1", "--serial", "serial1"],
        &[],
    );
    screen
        .exits(6)
        .shows("serial1=socket")
        .shows("console=ttyS1");
}

#[test]
fn a_stopped_guest_has_no_console() {
    let fake = Fake::with("pve.add_vm(100, 'web-1', config={'serial0': 'socket'})");
    let screen = on_terminal(&fake, &["vm", "console", "web-1"], &[]);
    screen
        .exits(6)
        .shows("web-1 (100) is not running: start it with `pvectl vm start web-1`");
}

#[test]
fn the_console_needs_a_terminal() {
    let fake = Fake::with(GUESTS);
    fake.clear_requests();
    let run = fake.run(&["vm", "console", "web-1"]);
    run.one_error(2);
    assert!(
        run.error_line().contains("needs a terminal") && run.error_line().contains("vm exec"),
        "{}",
        run.stderr
    );
    assert!(seen(&fake).is_empty());
}

#[test]
fn vm_console_vnc_prints_the_web_console_and_the_websocket() {
    let fake = Fake::with(GUESTS);
    fake.clear_requests();
    let run = fake.run(&["-o", "json", "vm", "console", "web-1", "--vnc"]);
    run.success();
    let v = run.json();
    let web = v["console"].as_str().unwrap();
    assert!(
        web.starts_with(&format!(
            "https://{}/?console=kvm&novnc=1&vmid=100",
            fake.addr()
        )),
        "{web}"
    );
    let ws = v["websocket"].as_str().unwrap();
    assert!(
        ws.starts_with(&format!(
            "wss://{}/api2/json/nodes/pve1/qemu/100/vncwebsocket?port=5900&vncticket=PVEVNC%3A",
            fake.addr()
        )),
        "{ws}"
    );
    assert_eq!(v["port"], 5900);
    let sent = common::helpers::sent(&fake);
    let post = sent.iter().find(|r| r.path.ends_with("/vncproxy")).unwrap();
    assert_eq!(
        post.params,
        vec![("websocket".to_string(), "1".to_string())]
    );
}

#[test]
fn vm_console_vnc_of_a_spice_vm_writes_a_vv_file() {
    let fake = Fake::with("pve.add_vm(100, 'desk', status='running', config={'vga': 'qxl'})");
    let run = fake.run(&["vm", "console", "desk", "--vnc"]);
    run.success().stderr_has("remote-viewer");
    let path = run.stdout.trim().to_string();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("[virt-viewer]\n"), "{text}");
    assert!(text.contains("\ntype="), "{text}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the file holds a ticket");
    std::fs::remove_file(&path).unwrap();
    let sent = common::helpers::sent(&fake);
    let post = sent
        .iter()
        .find(|r| r.path.ends_with("/spiceproxy"))
        .unwrap();
    assert_eq!(
        post.params,
        vec![("proxy".to_string(), fake.host.clone())],
        "the proxy is the host pvectl reaches"
    );
    // --vnc is a VM's: containers have no such flag.
    fake.run(&["ct", "console", "x", "--vnc"])
        .not_for_this_kind("--vnc", "--vnc is an option of `pvectl vm console`");
}

#[test]
fn vm_exec_on_several_vms_labels_each_line_on_a_terminal() {
    let fake = Fake::with(
        "emulate_agent(pve)\n\
         for vmid, name in ((100, 'web-1'), (101, 'web-2')):\n\
         \x20   vm = pve.add_vm(vmid, name, status='running', config={'agent': '1'})\n\
         \x20   vm.agent = {'exec': {'hostname': {'out-data': name + '\\n', 'err-data': 'note\\n'}}}",
    );
    let screen = on_terminal(&fake, &["vm", "exec", "web-*", "--", "hostname"], &[]);
    screen
        .exits(0)
        .shows("web-1: web-1\r\nweb-1: note\r\nweb-2: web-2\r\nweb-2: note\r\n");
}

/// The console's websocket is a connection of pvectl's own, outside the HTTP client: it must
/// trust exactly what the requests trust.
#[tokio::test(flavor = "current_thread")]
async fn the_console_websocket_trusts_exactly_the_pinned_certificate() {
    use pvectl::api::{ApiError, Auth, Client, ClientOptions, Params, Secret, TlsMode};
    let fake = Fake::with(GUESTS);
    let client = |pin: &str| {
        let auth = Auth::Token {
            id: common::TOKEN_ID.into(),
            secret: Secret::new(common::TOKEN_SECRET),
        };
        let mut opts = ClientOptions::new(format!("https://{}", fake.addr()), auth);
        opts.tls = TlsMode::Pinned(pvectl::api::tls::parse_fingerprint(pin).unwrap());
        Client::new(opts).unwrap()
    };
    let path = "/nodes/pve1/qemu/100/vncwebsocket";
    let params = Params::new()
        .set("port", 5900)
        .set("vncticket", "PVEVNC:not-issued");
    // The right pin: TLS passes, and PVE's own refusal of the ticket comes back.
    let err = client(&fake.fingerprint)
        .websocket(path, &params, "binary")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::Auth { message } if message.contains("invalid PVEVNC ticket")),
        "{err:?}"
    );
    // Another pin: refused in the handshake, naming what the server presented.
    let err = client(&("00:".repeat(31) + "00"))
        .websocket(path, &params, "binary")
        .await
        .unwrap_err();
    match err {
        ApiError::Tls {
            presented_fingerprint: Some(fp),
            ..
        } => assert_eq!(fp, fake.fingerprint),
        other => panic!("expected a TLS refusal, got {other:?}"),
    }
}
