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
    /// The terminal's width (0: a terminal that reports no size, which never wraps here).
    cols: usize,
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
            for row in chars.chunks(if self.cols == 0 {
                usize::MAX
            } else {
                self.cols
            }) {
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
    run_sized(pvectl, args, answers, COLS, 40)
}

/// `run_on_terminal` on a terminal `cols` wide and `rows` high (0×0: one that reports no size).
fn run_sized(
    pvectl: Command,
    args: &[&str],
    answers: &[(&str, &str)],
    cols: usize,
    rows: usize,
) -> Screen {
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
        &cols.to_string(),
        "--rows",
        &rows.to_string(),
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
        cols,
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
fn a_list_on_a_terminal_is_aligned_and_coloured_unless_no_color() {
    let fake = cluster();
    let screen = on_terminal(&fake, &["vm", "list"], &[]);
    screen
        .exits(0)
        .shows("VMID  NAME  NODE  STATUS   CPU   MEM     MAXMEM   UPTIME  TAGS")
        .lacks("┌")
        .lacks("│");
    assert!(
        screen.raw.contains("\x1b[32mrunning\x1b[0m"),
        "the state is coloured: {:?}",
        screen.raw
    );
    // A stopped guest's CPU, memory and uptime are blank, not zeros.
    let web1 = screen
        .lines()
        .into_iter()
        .find(|l| l.starts_with("100 "))
        .expect("a row for 100");
    assert_eq!(
        web1.split_whitespace().collect::<Vec<_>>(),
        ["100", "web1", "pve1", "stopped", "512", "MiB"],
        "{web1}"
    );

    let mut cmd = fake.cmd();
    cmd.env("NO_COLOR", "1");
    let screen = run_on_terminal(cmd, &["vm", "list"], &[]);
    screen.exits(0).shows_text("100   web1  pve1  stopped");
    assert!(!screen.raw.contains('\x1b'), "NO_COLOR: {:?}", screen.raw);
}

/// Guests with long names and tag lists, backups with long volids, and finished tasks (UPIDs).
fn wide_cluster() -> Fake {
    let fake = Fake::with(
        "pve.add_node('pve2')\n\
         pve.add_vm(100, 'web-frontend-production-1', status='running', config={'tags': 'web;prod;frontend;monitored;backup-daily'})\n\
         pve.add_vm(101, 'db-primary', node='pve2', config={'tags': 'db;prod'})\n\
         pve.add_vm(102, 'a-template', template=True)\n\
         for i, name in enumerate(['vzdump-qemu-100-2026_01_03-00_00_00.vma.zst', 'vzdump-qemu-101-2026_01_02-00_00_00.vma.zst']):\n\
         \x20   pve.storages['local'].setdefault('volumes', {})['backup/' + name] = {'content': 'backup', 'format': 'vma.zst', \
         'size': 3 << 30, 'ctime': 1767225600 + i, 'vmid': 100 + i, \
         'notes': 'a long note about why this backup was taken before the upgrade'}",
    );
    for args in [["vm", "start", "db-primary"], ["vm", "stop", "db-primary"]] {
        fake.run(&args).success();
    }
    fake
}

/// The lines of a table on the screen (those after the header that starts with `header`).
fn table_lines(screen: &Screen, header: &str) -> Vec<String> {
    let lines = screen.lines();
    let at = lines
        .iter()
        .position(|l| l.starts_with(header))
        .unwrap_or_else(|| panic!("no header {header:?}:\n{}", screen.text()));
    lines[at..].to_vec()
}

#[test]
fn at_80_columns_tables_fit_and_never_break_an_identifier() {
    let fake = wide_cluster();
    for (args, header, whole) in [
        (
            vec!["vm", "list"],
            "VMID",
            vec!["web-frontend-production-1", "db-primary"],
        ),
        (
            vec!["backup", "list"],
            "VOLID",
            vec![
                "local:backup/vzdump-qemu-100-2026_01_03-00_00_00.vma.zst",
                "local:backup/vzdump-qemu-101-2026_01_02-00_00_00.vma.zst",
            ],
        ),
        (vec!["tasks", "list"], "AGE", vec!["UPID:pve2:"]),
    ] {
        let mut cmd = fake.cmd();
        cmd.env("NO_COLOR", "1");
        let screen = run_sized(cmd, &args, &[], 80, 40);
        screen.exits(0);
        // Each row is one line of the terminal: nothing wrapped, nothing past the edge.
        let raw_lines: Vec<String> = strip_escapes(&screen.raw)
            .split("\r\n")
            .map(str::to_string)
            .collect();
        for l in raw_lines.iter().filter(|l| !l.starts_with("warning")) {
            assert!(
                l.chars().count() <= 80,
                "{args:?}: a line wider than 80 columns:\n{}",
                screen.text()
            );
        }
        let table = table_lines(&screen, header);
        for id in whole {
            assert!(
                table.iter().any(|l| l.contains(id)),
                "{args:?}: {id} is not whole on one line:\n{}",
                screen.text()
            );
        }
        if args[0] == "tasks" {
            // Every UPID whole, ending in the token and its colon.
            let upids: Vec<&str> = table[1..]
                .iter()
                .filter_map(|l| l.split_whitespace().last())
                .collect();
            assert_eq!(upids.len(), 2, "{}", screen.text());
            for u in upids {
                assert!(
                    u.starts_with("UPID:pve2:") && u.ends_with(":root@pam!cli:"),
                    "{u}"
                );
            }
        }
    }
    // The backup notes are shortened before columns go: `…` and no line is wider than 80.
    let mut cmd = fake.cmd();
    cmd.env("NO_COLOR", "1");
    let screen = run_sized(cmd, &["backup", "list"], &[], 80, 40);
    let header = &table_lines(&screen, "VOLID")[0];
    assert!(
        header.contains("SIZE") && header.contains("AGE"),
        "{header}"
    );
    assert!(
        !header.contains("PROTECTED"),
        "the least important column goes first: {header}"
    );

    // At 120 columns vm list shows every column, the template marked as one.
    let screen = run_sized(fake.cmd(), &["vm", "list"], &[], 120, 40);
    screen
        .exits(0)
        .shows_text("VMID  NAME                       NODE  STATUS    CPU")
        .shows_text("web;prod;frontend;monitored;backup-daily");
    let template = table_lines(&screen, "VMID")
        .into_iter()
        .find(|l| l.starts_with("102 "))
        .expect("a row for 102");
    assert!(template.contains(" template "), "{template}");
}

#[test]
fn a_terminal_without_a_size_gets_every_column_whole() {
    let fake = wide_cluster();
    let mut cmd = fake.cmd();
    cmd.env("NO_COLOR", "1");
    let screen = run_sized(cmd, &["vm", "list"], &[], 0, 0);
    screen
        .exits(0)
        .shows(
            "VMID  NAME                       NODE  STATUS    CPU   MEM     MAXMEM   UPTIME  TAGS",
        )
        .shows_text("web;prod;frontend;monitored;backup-daily");
    // Not one character per column, and nothing cut short.
    let mut cmd = fake.cmd();
    cmd.env("NO_COLOR", "1");
    let screen = run_sized(cmd, &["backup", "list"], &[], 0, 0);
    screen
        .exits(0)
        .shows_text("a long note about why this backup was taken before the upgrade")
        .lacks("…");
}

#[test]
fn wide_shows_every_column_at_any_width() {
    let fake = wide_cluster();
    let mut cmd = fake.cmd();
    cmd.env("NO_COLOR", "1");
    let screen = run_sized(cmd, &["-o", "wide", "vm", "list"], &[], 80, 40);
    let header = table_lines(&screen, "VMID")[0].clone();
    let header = strip_escapes(&screen.raw)
        .split("\r\n")
        .find(|l| l.starts_with("VMID"))
        .map(str::to_string)
        .unwrap_or(header);
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        [
            "VMID", "NAME", "NODE", "STATUS", "CPU", "MEM", "MAXMEM", "UPTIME", "TAGS", "MAXDISK",
            "POOL", "HA", "LOCK"
        ]
    );
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

// ------------------------------------------------------------------------------- live views

/// `--watch` on a terminal draws on the alternate screen, each refresh from the top under a
/// heading, and Ctrl-C ends it with success and the screen as it was.
#[test]
fn watch_on_a_terminal_redraws_on_the_alternate_screen_until_ctrl_c() {
    let fake = cluster();
    let screen = on_terminal(
        &fake,
        &["vm", "list", "--watch", "1"],
        &[
            ("Every 1s: pvectl vm list", ""),
            ("Every 1s: pvectl vm list", "\u{3}"),
        ],
    );
    screen.exits(0).shows_text("web1").shows_text("web3");
    let raw = &screen.raw;
    let enter = raw.find("\x1b[?1049h").expect("the alternate screen");
    let leave = raw.rfind("\x1b[?1049l").expect("the screen restored");
    assert!(enter < leave);
    // Each refresh starts from a clean screen, and the cursor comes back at the end.
    assert!(raw.matches("\x1b[H\x1b[2J").count() >= 2, "{raw:?}");
    assert!(
        raw[leave..].len() < 16,
        "nothing drawn after leaving: {:?}",
        &raw[leave..]
    );
    assert!(raw.contains("\x1b[?25h"));
}

/// `cluster top` on a terminal: nodes and guests, refreshed in place until Ctrl-C.
#[test]
fn top_on_a_terminal() {
    let fake = cluster();
    let screen = on_terminal(
        &fake,
        &["cluster", "top", "--interval", "1s"],
        &[("pvectl cluster top", ""), ("pvectl cluster top", "\u{3}")],
    );
    screen
        .exits(0)
        .shows_text("NODE")
        .shows_text("VMID")
        .shows_text("web3");
    assert!(screen.raw.contains("\x1b[?1049l"));
}

/// A drain on a terminal shows where each guest goes and asks first.
#[test]
fn drain_on_a_terminal_shows_the_plan_and_asks() {
    let fake = cluster();
    fake.exec("emulate_migration(pve)\nemulate_node_usage(pve)");
    let screen = on_terminal(&fake, &["nodes", "drain", "pve1"], &[(PROMPT, "y\r")]);
    screen
        .exits(0)
        .shows("  web3 (102): pve1 → pve2 (live)")
        .shows("move 1 guest(s) off pve1? [y/N] y")
        .shows_text("web3 (102): migrate to pve2 OK");
    assert_eq!(guest(&fake, 102)["node"], "pve2");
    let screen = on_terminal(&fake, &["nodes", "undrain", "pve1"], &[(PROMPT, "n\r")]);
    screen.exits(2).shows("  web3 (102): pve2 → pve1 (live)");
    assert_eq!(guest(&fake, 102)["node"], "pve2");
}

// ------------------------------------------------------------------------- edit and apply

/// A VM to edit and apply files to, with PVE's view of pending changes.
fn declared() -> Fake {
    let fake = Fake::with(
        "emulate_pending_config(pve)\n\
         pve.add_vm(100, 'web1', config={'memory': 2048, 'cores': 2, 'onboot': 1})\n\
         pve.add_vm(101, 'web2')",
    );
    fake.clear_requests();
    fake
}

#[test]
fn apply_on_a_terminal_shows_the_plan_asks_and_only_y_applies() {
    let fake = declared();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("web1.toml");
    std::fs::write(
        &file,
        "type = \"qemu\"\nvmid = 100\n[config]\nname = \"web1\"\nmemory = 4096\ncores = 2\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let screen = on_terminal(&fake, &["apply", file], &[(PROMPT, "n\r")]);
    screen
        .exits(2)
        .shows("~ web1 (100), VM on pve1: change")
        .shows("    ~ memory: 2048 → 4096")
        .shows("    - onboot (was 1)")
        .shows("Plan: 0 to create, 1 to change, 0 to delete; 0 unchanged.")
        .shows("Apply these changes? [y/N] n")
        .shows("error: cancelled: nothing was done");
    assert_eq!(write_lines(&fake), Vec::<String>::new());

    let screen = on_terminal(&fake, &["apply", file], &[(PROMPT, "y\r")]);
    screen
        .exits(0)
        .shows("Apply these changes? [y/N] y")
        .shows_text("web1 (100): change OK");
    assert_eq!(write_lines(&fake), vec!["POST /nodes/pve1/qemu/100/config"]);
    assert_eq!(guest(&fake, 100)["config"]["memory"], "4096");

    // Nothing left to do: no question.
    let screen = on_terminal(&fake, &["apply", file], &[]);
    screen
        .exits(0)
        .shows("No changes: 1 guest matches its file.")
        .lacks("[y/N]");
}

#[test]
fn apply_prune_on_a_terminal_asks_again_for_the_guests_it_deletes() {
    let fake = declared();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("web1.toml");
    std::fs::write(
        &file,
        "type = \"qemu\"\nvmid = 100\n[config]\nname = \"web1\"\nmemory = 4096\ncores = 2\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let question = "Delete 1 guest and its disks, which no file describes? [y/N] ";
    let screen = on_terminal(
        &fake,
        &["apply", file, "--prune"],
        &[(PROMPT, "y\r"), (question, "n\r")],
    );
    screen
        .exits(2)
        .shows("- web2 (101), VM on pve1: delete (no file describes it)")
        .shows("  web2 (101) on pve1 (stopped)")
        .shows(&format!("{question}n"))
        .shows("error: cancelled: nothing was done");
    assert_eq!(
        write_lines(&fake),
        Vec::<String>::new(),
        "nothing, not even the change"
    );
    let screen = on_terminal(
        &fake,
        &["apply", file, "--prune"],
        &[(PROMPT, "y\r"), (question, "y\r")],
    );
    screen
        .exits(0)
        .shows_text("web1 (100): change OK")
        .shows_text("web2 (101): delete OK");
    assert!(!exists(&fake, 101));
}

#[test]
fn edit_runs_the_editor_on_the_terminal_then_shows_and_applies_the_difference() {
    let fake = declared();
    let dir = tempfile::tempdir().unwrap();
    // An editor that asks on the terminal, as a real one works on it.
    let editor = dir.path().join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nprintf 'cores? ' >/dev/tty\nread n </dev/tty\nsed -i \"s/^cores = .*/cores = $n/\" \"$1\"\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut pvectl = fake.cmd();
    pvectl.env("VISUAL", &editor).env("TMPDIR", dir.path());
    let screen = run_on_terminal(pvectl, &["vm", "edit", "web1"], &[("cores? ", "8\r")]);
    screen
        .exits(0)
        .shows("~ web1 (100), VM on pve1: change")
        .shows("    ~ cores: 2 → 8")
        .shows_text("web1 (100): change OK");
    assert_eq!(write_lines(&fake), vec!["POST /nodes/pve1/qemu/100/config"]);
    assert_eq!(guest(&fake, 100)["config"]["cores"], "8");
}
