//! End-to-end on a terminal: pvectl runs on a pseudo-terminal (stdin, stdout and stderr), through
//! `tests/support/pty_run.py`, so the questions, the answers typed and the spinners are the ones a
//! person sees. Every test checks the exit code, what appeared on the terminal and the server's
//! state afterwards.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::helpers::{guest, status_of, write_lines};
use common::Fake;
use serde_json::Value;

const PROMPT: &str = "[y/N] ";
/// The width of the terminal the tests run on.
const COLS: usize = 120;

// ------------------------------------------------------------------------------------ helpers

/// What a run on the terminal left: the exit code and everything written to the terminal.
struct Screen {
    code: i32,
    /// The raw bytes, escape sequences and `\r\n` line ends included.
    raw: String,
}

impl Screen {
    /// The text without escape sequences, one entry per line or per redraw of a line (`\r`).
    /// A line wider than the terminal wraps, as the terminal shows it: indicatif pads the last
    /// line it prints to the full width and leaves the wrap to the terminal.
    fn lines(&self) -> Vec<String> {
        let mut lines = vec![];
        for segment in strip_escapes(&self.raw).split(['\r', '\n']) {
            let chars: Vec<char> = segment.chars().collect();
            for row in chars.chunks(COLS) {
                let row: String = row.iter().collect();
                if !row.trim().is_empty() {
                    lines.push(row.trim_end().to_string());
                }
            }
        }
        lines
    }

    /// The text without escape sequences, redraws on lines of their own.
    fn text(&self) -> String {
        self.lines().join("\n")
    }

    #[track_caller]
    fn exits(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            code,
            "expected exit {code}; the terminal showed:\n{}",
            self.text()
        );
        self
    }

    #[track_caller]
    fn shows(&self, line: &str) -> &Self {
        assert!(
            self.lines().iter().any(|l| l == line),
            "no line {line:?} on the terminal:\n{}",
            self.text()
        );
        self
    }

    #[track_caller]
    fn shows_text(&self, text: &str) -> &Self {
        assert!(
            self.text().contains(text),
            "{text:?} did not appear on the terminal:\n{}",
            self.text()
        );
        self
    }

    #[track_caller]
    fn lacks(&self, text: &str) -> &Self {
        assert!(
            !self.text().contains(text),
            "{text:?} appeared on the terminal:\n{}",
            self.text()
        );
        self
    }

    /// The spinner frames of a task: `<tick> <prefix> <elapsed> [newest log line]`.
    fn spinner_frames(&self, prefix: &str) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|l| {
                let Some((tick, rest)) = l.split_once(&format!(" {prefix} ")) else {
                    return false;
                };
                let elapsed = rest.split_whitespace().next().unwrap_or_default();
                tick.chars().count() == 1
                    && elapsed
                        .strip_suffix('s')
                        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
            })
            .collect()
    }
}

/// Drop ANSI escape sequences (CSI `ESC [ … final`, OSC `ESC ] … BEL`, and two-byte ones).
fn strip_escapes(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('[') => {
                for c in chars.by_ref() {
                    if ('\x40'..='\x7e').contains(&c) {
                        break;
                    }
                }
            }
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\x07' || (c == '\x1b' && chars.next_if_eq(&'\\').is_some()) {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The Python of the test venv (`.venv` at the repository root, or `PVECTL_TEST_VENV`).
fn venv_python() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let venv = std::env::var("PVECTL_TEST_VENV").unwrap_or_else(|_| ".venv".to_string());
    let python = root.join(venv).join("bin/python");
    assert!(
        python.exists(),
        "no Python at {}: the terminal tests run pvectl on a pseudo-terminal through \
         tests/support/pty_run.py with the test venv's Python; run the suite with tests/run.sh, \
         which creates the venv (needs python3 with venv and pip), or point PVECTL_TEST_VENV at one",
        python.display()
    );
    python
}

/// Run `pvectl ARGS` on a terminal; each `(text, typed)` answers a question once `text`
/// appeared. Gives up after 10 s.
fn on_terminal(fake: &Fake, args: &[&str], answers: &[(&str, &str)]) -> Screen {
    run_on_terminal(fake.cmd(), args, answers)
}

/// `on_terminal` for a `pvectl` command prepared by the caller (its program and environment).
fn run_on_terminal(pvectl: Command, args: &[&str], answers: &[(&str, &str)]) -> Screen {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new(venv_python());
    cmd.env_clear().env("TERM", "xterm-256color");
    for (key, value) in pvectl.get_envs() {
        if let Some(v) = value {
            cmd.env(key, v);
        }
    }
    cmd.arg(root.join("tests/support/pty_run.py")).args([
        "--cols",
        &COLS.to_string(),
        "--rows",
        "40",
        "--timeout",
        "10",
    ]);
    for (text, typed) in answers {
        cmd.args(["--expect", text, "--send", typed]);
    }
    cmd.arg("--").arg(pvectl.get_program()).args(args);
    let out = cmd.output().expect("run tests/support/pty_run.py");
    assert!(
        out.status.success(),
        "pty_run.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "pty_run.py printed no JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let raw = v["output"].as_str().unwrap_or_default().to_string();
    assert!(
        v["unanswered"].as_array().is_some_and(|a| a.is_empty()),
        "never asked {}; the terminal showed:\n{}",
        v["unanswered"],
        strip_escapes(&raw)
    );
    assert_eq!(
        v["timed_out"],
        false,
        "pvectl {args:?} did not exit within 10 s; the terminal showed:\n{}",
        strip_escapes(&raw)
    );
    Screen {
        code: v["code"].as_i64().expect("an exit code") as i32,
        raw,
    }
}

fn exists(fake: &Fake, vmid: u32) -> bool {
    !guest(fake, vmid).is_null()
}

/// Two stopped VMs on two nodes, a running one, and a container `--all` of `vm` leaves alone.
fn cluster() -> Fake {
    let fake = Fake::with(
        "pve.add_node('pve2')\n\
         pve.add_vm(100, 'web1')\n\
         pve.add_vm(101, 'web2', node='pve2')\n\
         pve.add_vm(102, 'web3', status='running')\n\
         pve.add_ct(200, 'db1')",
    );
    fake.clear_requests();
    fake
}

// ---------------------------------------------------------------------------- confirmation

#[test]
fn start_all_lists_the_guests_asks_and_y_starts_them() {
    let fake = cluster();
    let screen = on_terminal(&fake, &["vm", "start", "--all"], &[(PROMPT, "y\r")]);
    screen
        .exits(0)
        .shows("  web1 (100) on pve1 (stopped)")
        .shows("  web2 (101) on pve2 (stopped)")
        .shows("  web3 (102) on pve1 (running)")
        .shows("start 3 VMs picked by a selector? [y/N] y")
        .shows_text("web1 (100): start OK")
        .shows_text("web2 (101): start OK")
        .shows("web3 (102): already running")
        .lacks("db1");
    let text = screen.text();
    assert!(
        text.find("[y/N]").unwrap() < text.find("start OK").unwrap(),
        "asked before acting:\n{text}"
    );
    assert_eq!(
        write_lines(&fake),
        vec![
            "POST /nodes/pve1/qemu/100/status/start",
            "POST /nodes/pve2/qemu/101/status/start",
        ]
    );
    for vmid in [100, 101, 102] {
        assert_eq!(status_of(&fake, vmid), "running");
    }
    assert_eq!(status_of(&fake, 200), "stopped");
}

#[test]
fn start_all_answered_no_or_enter_starts_nothing() {
    let fake = cluster();
    // Ctrl-D (end of input) echoes no newline: the error still starts a line of its own.
    for typed in ["n\r", "\r", "N\n", "maybe\r", "\x04"] {
        let screen = on_terminal(&fake, &["vm", "start", "--all"], &[(PROMPT, typed)]);
        screen
            .exits(2)
            .shows("  web1 (100) on pve1 (stopped)")
            .shows_text("start 3 VMs picked by a selector? [y/N]")
            .shows("error: cancelled: nothing was done")
            .lacks("start OK");
        assert_eq!(
            write_lines(&fake),
            Vec::<String>::new(),
            "answered {typed:?}"
        );
    }
    for vmid in [100, 101] {
        assert_eq!(status_of(&fake, vmid), "stopped");
    }
}

#[test]
fn ctrl_c_at_the_question_stops_pvectl_and_nothing_is_done() {
    let fake = cluster();
    let screen = on_terminal(&fake, &["vm", "start", "--all"], &[(PROMPT, "\x03")]);
    // Killed by SIGINT (a shell shows 130), or exits 130 itself.
    assert!(
        [-2, 130].contains(&screen.code),
        "exit {}:\n{}",
        screen.code,
        screen.text()
    );
    screen.lacks("start OK");
    assert_eq!(write_lines(&fake), Vec::<String>::new());
    assert_eq!(status_of(&fake, 100), "stopped");
}

#[test]
fn delete_asks_and_only_y_deletes() {
    let fake =
        Fake::with("pve.add_vm(100, 'web1', config={'scsi0': 'local-lvm:vm-100-disk-0,size=32G'})");
    fake.clear_requests();

    let screen = on_terminal(&fake, &["vm", "delete", "web1"], &[(PROMPT, "n\r")]);
    screen
        .exits(2)
        .shows("  web1 (100) on pve1 (stopped)")
        .shows("Delete 1 VM and its disks? [y/N] n")
        .shows("error: cancelled: nothing was done");
    assert_eq!(write_lines(&fake), Vec::<String>::new());
    assert!(exists(&fake, 100), "the VM is still there");

    let screen = on_terminal(&fake, &["vm", "delete", "web1"], &[(PROMPT, "y\r")]);
    screen
        .exits(0)
        .shows("Delete 1 VM and its disks? [y/N] y")
        .shows_text("web1 (100): delete OK");
    assert_eq!(write_lines(&fake), vec!["DELETE /nodes/pve1/qemu/100"]);
    assert!(!exists(&fake, 100), "the VM is gone");
}

#[test]
fn template_asks_first_and_only_y_converts() {
    let fake =
        Fake::with("pve.add_vm(100, 'web1', config={'scsi0': 'local-lvm:vm-100-disk-0,size=32G'})");
    fake.clear_requests();
    let question =
        "Convert VM 100 (web1) into a template (it cannot be started or changed back)? [y/N]";

    let screen = on_terminal(&fake, &["vm", "template", "web1"], &[(PROMPT, "n\r")]);
    screen
        .exits(2)
        .shows(&format!("{question} n"))
        .shows("error: cancelled: nothing was done");
    assert_eq!(write_lines(&fake), Vec::<String>::new());
    assert_eq!(guest(&fake, 100)["template"], false);

    let screen = on_terminal(&fake, &["vm", "template", "web1"], &[(PROMPT, "y\r")]);
    screen
        .exits(0)
        .shows(&format!("{question} y"))
        .shows_text("web1 (100): template OK");
    assert_eq!(
        write_lines(&fake),
        vec!["POST /nodes/pve1/qemu/100/template"]
    );
    assert_eq!(guest(&fake, 100)["template"], true);
}

#[test]
fn yes_on_a_terminal_asks_nothing() {
    let fake = cluster();
    fake.exec("pve.vm(100).config['scsi0'] = 'local-lvm:vm-100-disk-0,size=32G'");
    let screen = on_terminal(&fake, &["vm", "start", "--all", "--yes"], &[]);
    screen
        .exits(0)
        .lacks("[y/N]")
        .lacks("picked by a selector")
        .shows_text("web1 (100): start OK")
        .shows_text("web2 (101): start OK");
    assert_eq!(status_of(&fake, 101), "running");

    fake.clear_requests();
    let screen = on_terminal(&fake, &["vm", "delete", "web2", "-y", "--stop"], &[]);
    screen
        .exits(0)
        .lacks("[y/N]")
        .shows_text("web2 (101): delete OK");
    assert_eq!(
        write_lines(&fake),
        vec![
            "POST /nodes/pve2/qemu/101/status/stop",
            "DELETE /nodes/pve2/qemu/101",
        ]
    );
    assert!(!exists(&fake, 101));
}

// -------------------------------------------------------------------------------- progress

#[test]
fn a_task_that_takes_a_moment_shows_a_spinner_then_the_result() {
    // 8 PVE seconds of shutdown at 0.2 s each: the task runs for about 1.6 s.
    let fake = Fake::with_time_scale(0.2);
    fake.exec("vm = pve.add_vm(100, 'web1', status='running')\nvm.shutdown_secs = 8");
    // Half-way through, the task logs a line: the spinner shows the newest one.
    fake.exec(
        "import threading, time\n\
         def log_a_line():\n\
         \x20   for _ in range(200):\n\
         \x20       tasks = [t for t in pve.tasklog if t['type'] == 'qmshutdown']\n\
         \x20       if tasks:\n\
         \x20           time.sleep(0.5)\n\
         \x20           tasks[0]['log'].append('waiting for the guest to power off')\n\
         \x20           return\n\
         \x20       time.sleep(0.02)\n\
         threading.Thread(target=log_a_line, daemon=True).start()",
    );
    let screen = on_terminal(&fake, &["vm", "shutdown", "web1"], &[]);
    screen.exits(0);
    let frames = screen.spinner_frames("web1 (100): shutdown");
    assert!(
        frames.len() >= 2,
        "no spinner for the shutdown:\n{}",
        screen.text()
    );
    assert!(
        frames
            .iter()
            .any(|f| f.ends_with(" waiting for the guest to power off")),
        "the spinner never showed the task's log line:\n{}",
        screen.text()
    );
    // The plain lines are for logs and cron mails, not for a terminal.
    screen.lacks("task UPID:");
    let lines = screen.lines();
    let last = lines.last().unwrap();
    assert!(
        last.starts_with("web1 (100): shutdown OK in ") && last.ends_with('s'),
        "the result is the last line, the spinner cleared:\n{}",
        screen.text()
    );
    assert_eq!(status_of(&fake, 100), "stopped");
}

#[test]
fn quiet_on_a_terminal_shows_no_progress_but_still_the_failure() {
    let fake = Fake::with_time_scale(0.2);
    fake.exec(
        "vm = pve.add_vm(100, 'web1', status='running')\nvm.shutdown_secs = 8\n\
         vm = pve.add_vm(101, 'web2', status='running')\nvm.shutdown_secs = 100",
    );
    let screen = on_terminal(&fake, &["-q", "vm", "shutdown", "web1"], &[]);
    screen.exits(0);
    assert_eq!(screen.text(), "", "nothing at all on the terminal");
    assert_eq!(status_of(&fake, 100), "stopped");

    // The guest ignores the request for longer than PVE's timeout (4 PVE seconds: 0.8 s).
    let screen = on_terminal(
        &fake,
        &["-q", "vm", "shutdown", "web2", "--timeout", "4"],
        &[],
    );
    screen
        .exits(8)
        .shows("web2 (101): shutdown failed: VM quit/powerdown failed - got timeout")
        .shows_text("TASK ERROR: VM quit/powerdown failed - got timeout");
    assert!(
        screen.spinner_frames("web2 (101): shutdown").is_empty(),
        "a spinner with --quiet:\n{}",
        screen.text()
    );
    assert_eq!(status_of(&fake, 101), "running");
}

// ---------------------------------------------------------------------------------- tables

#[test]
fn a_list_on_a_terminal_is_boxed_and_coloured_unless_no_color() {
    let fake = cluster();
    let screen = on_terminal(&fake, &["vm", "list"], &[]);
    screen
        .exits(0)
        .shows_text("┌")
        .shows_text("│ 100  ┆ web1 ┆ pve1 ┆");
    assert!(
        screen.raw.contains("m running \x1b["),
        "the state is coloured: {:?}",
        screen.raw
    );

    let mut cmd = fake.cmd();
    cmd.env("NO_COLOR", "1");
    let screen = run_on_terminal(cmd, &["vm", "list"], &[]);
    screen.exits(0).shows_text("│ 100  ┆ web1 ┆ pve1 ┆");
    assert!(!screen.raw.contains('\x1b'), "NO_COLOR: {:?}", screen.raw);
}

// ---------------------------------------------------------------------- images and disks

#[test]
fn an_upload_on_a_terminal_shows_bytes_rate_and_time_left() {
    let fake = Fake::with("emulate_images(pve)\npve.upload_stall = 1.0");
    let path = fake.home.path().join("big.iso");
    std::fs::write(&path, vec![7u8; 24 << 20]).unwrap();
    let screen = on_terminal(
        &fake,
        &["storage", "upload", "local", path.to_str().unwrap()],
        &[],
    );
    screen.exits(0);
    let bars: Vec<String> = screen
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("local:iso/big.iso: upload ["))
        .collect();
    assert!(
        bars.iter()
            .any(|b| b.contains("MiB/24.00 MiB") && b.contains("/s") && b.contains("ETA")),
        "no byte bar with rate and ETA:\n{}",
        screen.text()
    );
    screen.shows_text("local:iso/big.iso: upload OK");
    let got = fake.exec("result = pve.uploads[0]['size']");
    assert_eq!(got, 24 << 20);
}

#[test]
fn a_download_on_a_terminal_shows_a_bar_from_the_percentages_of_its_log() {
    // Four wget progress lines over 4 PVE seconds at 0.4 s each.
    let fake = Fake::with_time_scale(0.4);
    fake.exec("emulate_images(pve, secs=4)");
    let screen = on_terminal(
        &fake,
        &[
            "storage",
            "download",
            "local",
            "https://x.example/debian.iso",
        ],
        &[],
    );
    screen.exits(0);
    let bars: Vec<String> = screen
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("local:iso/debian.iso: download ") && l.contains("] "))
        .collect();
    assert!(
        bars.iter()
            .any(|b| b.contains(" 45%") || b.contains(" 78%")),
        "no bar from the log's percentages:\n{}",
        screen.text()
    );
    screen.shows_text("local:iso/debian.iso: download OK");
}
