//! What every integration test shares: the credentials the servers accept, a clean `pvectl`
//! command, and `Run`, what a run of the binary left (exit code, stdout, stderr) with the
//! assertions tests make on it. The two servers live beside it: `fake` (a fresh fakepve per test)
//! and `stub` (a scripted HTTPS server for protocol tests); `helpers` reads what a fakepve saw and
//! holds.
// Each test binary uses part of this module, none uses all of it.
#![allow(dead_code)]

pub mod fake;
pub mod helpers;
pub mod stub;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

pub use fake::Fake;

/// The API token both servers accept.
pub const TOKEN_ID: &str = "root@pam!cli";
pub const TOKEN_SECRET: &str = "0f6b1c2e-5a4d-4e8b-9c1d-2b3a4c5d6e7f";
/// root@pam's password on fakepve.
pub const PASSWORD: &str = "secret";
/// Every API path starts with this.
pub const API: &str = "/api2/json";

/// The token as `PROXMOX_TOKEN` takes it: `USER@REALM!NAME=SECRET`.
pub fn full_token() -> String {
    format!("{TOKEN_ID}={TOKEN_SECRET}")
}

/// `pvectl` with nothing of the caller's environment: `home` as HOME and XDG config directory, so
/// the configuration file is `config_file(home)` (absent until a test writes it), no host, no
/// credentials.
pub fn clean_command(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pvectl"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        // Times in one zone whatever the machine's is (a test that needs another sets its own).
        .env("TZ", "UTC");
    cmd
}

/// The default configuration file under a test's home (its directory is made, the file is not).
pub fn config_file(home: &Path) -> std::path::PathBuf {
    let dir = home.join(".config").join("pvectl");
    std::fs::create_dir_all(&dir).expect("the test's config directory");
    dir.join("config.toml")
}

/// What `run_cmd` runs: a std `Command` or an `assert_cmd` one (which can time out).
pub trait Runnable {
    fn run_to_exit(&mut self) -> std::io::Result<Output>;
}

impl Runnable for Command {
    fn run_to_exit(&mut self) -> std::io::Result<Output> {
        Command::output(self)
    }
}

impl Runnable for assert_cmd::Command {
    fn run_to_exit(&mut self) -> std::io::Result<Output> {
        assert_cmd::Command::output(self)
    }
}

/// Run `pvectl` to its exit; whatever the case, it must not panic.
pub fn run_cmd(cmd: &mut impl Runnable) -> Run {
    let started = Instant::now();
    let out = cmd.run_to_exit().expect("run pvectl");
    Run::new(
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        started.elapsed(),
    )
}

/// What a run of the binary left.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// From the start of the process to its exit.
    pub elapsed: Duration,
}

impl Run {
    /// A finished run; fails the test if `pvectl` panicked.
    #[track_caller]
    pub fn new(code: i32, stdout: String, stderr: String, elapsed: Duration) -> Run {
        assert!(!stderr.contains("panicked"), "pvectl panicked:\n{stderr}");
        Run {
            code,
            stdout,
            stderr,
            elapsed,
        }
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    #[track_caller]
    pub fn success(&self) -> &Self {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Exit `code` (any code, 0 included).
    #[track_caller]
    pub fn failure(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// pvectl's way to fail: exit `code`, nothing on stdout, one `error:` line and then only
    /// `hint:` lines on stderr.
    #[track_caller]
    pub fn one_error(&self, code: i32) -> &Self {
        self.failure(code);
        assert_eq!(self.stdout, "", "stdout must stay empty on errors");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert!(
            !lines.is_empty() && lines[0].starts_with("error: "),
            "stderr must start with one error line:\n{}",
            self.stderr
        );
        assert!(
            lines[1..].iter().all(|l| l.starts_with("hint: ")),
            "only hints may follow the error line:\n{}",
            self.stderr
        );
        self
    }

    /// A verb or flag the guest kind does not have: clap refuses it (exit 2, nothing on stdout)
    /// and the tip says which kind has it.
    #[track_caller]
    pub fn not_for_this_kind(&self, bad: &str, tip: &str) -> &Self {
        self.failure(2).stdout_empty();
        let error = self.error_line();
        assert!(
            error == format!("error: unexpected argument '{bad}' found")
                || error == format!("error: unrecognized subcommand '{bad}'"),
            "{error}"
        );
        self.stderr_has(&format!("tip: {tip}"))
    }

    /// The `error: …` line of stderr.
    #[track_caller]
    pub fn error_line(&self) -> String {
        self.stderr
            .lines()
            .find(|l| l.starts_with("error: "))
            .unwrap_or_else(|| panic!("no error line on stderr:\n{}", self.stderr))
            .to_string()
    }

    #[track_caller]
    pub fn stdout_has(&self, text: &str) -> &Self {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stdout_empty(&self) -> &Self {
        assert_eq!(
            self.stdout, "",
            "stdout must be empty; stderr:\n{}",
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}:\n{}",
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stderr_lacks(&self, text: &str) -> &Self {
        assert!(
            !self.stderr.contains(text),
            "stderr should not contain {text:?}:\n{}",
            self.stderr
        );
        self
    }

    /// Neither stream shows `secret`.
    #[track_caller]
    pub fn hides(&self, secret: &str) -> &Self {
        assert!(
            !self.stdout.contains(secret) && !self.stderr.contains(secret),
            "the secret {secret:?} leaked:\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}
