//! Shared fixture for end-to-end tests: a fresh fakepve per test (through the control process that
//! `tests/run.sh` starts), and a runner for the built `pvectl` binary.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

pub const TOKEN_ID: &str = "root@pam!cli";
pub const TOKEN_SECRET: &str = "0f6b1c2e-5a4d-4e8b-9c1d-2b3a4c5d6e7f";
pub const PASSWORD: &str = "secret";

fn control_addr() -> String {
    std::env::var("PVECTL_FAKEPVE_CONTROL").unwrap_or_else(|_| {
        panic!(
            "PVECTL_FAKEPVE_CONTROL is not set: run the suite with tests/run.sh, which installs and starts fakepve \
             (needs python3 with venv and pip)"
        )
    })
}

/// POST to the control process; returns the parsed JSON answer.
fn control(path: &str, body: &str) -> Value {
    let addr = control_addr();
    let mut stream = TcpStream::connect(&addr)
        .unwrap_or_else(|e| panic!("cannot reach the fakepve control at {addr}: {e}"));
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(req.as_bytes())
        .expect("write to the fakepve control");
    let mut resp = String::new();
    stream
        .read_to_string(&mut resp)
        .expect("read from the fakepve control");
    let (_, body) = resp
        .split_once("\r\n\r\n")
        .expect("an HTTP answer from the fakepve control");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("bad control answer {body:?}: {e}"))
}

/// One fakepve instance, stopped when dropped.
pub struct Fake {
    pub id: String,
    pub host: String,
    pub port: u16,
    pub fingerprint: String,
    pub cafile: String,
    pub home: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
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

    #[track_caller]
    pub fn failure(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
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
    pub fn stdout_has(&self, text: &str) -> &Self {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}:\n{}",
            self.stdout
        );
        self
    }
}

impl Fake {
    /// A fresh fake with an API token `root@pam!cli`, tasks that finish at once, and one node `pve1`.
    pub fn new() -> Fake {
        Self::with_time_scale(0.0)
    }

    /// `time_scale`: real seconds per PVE second (0 = tasks finish before the request returns).
    pub fn with_time_scale(time_scale: f64) -> Fake {
        let v = control("/new", &format!("{{\"time_scale\": {time_scale}}}"));
        let fake = Fake {
            id: v["id"].as_str().unwrap().to_string(),
            host: v["host"].as_str().unwrap().to_string(),
            port: v["port"].as_u64().unwrap() as u16,
            fingerprint: v["fingerprint"].as_str().unwrap().to_string(),
            cafile: v["cafile"].as_str().unwrap().to_string(),
            home: tempfile::tempdir().unwrap(),
        };
        fake.exec(&format!("pve.apitokens['{TOKEN_ID}'] = '{TOKEN_SECRET}'"));
        fake
    }

    /// Run Python with `pve` (the FakePve) in scope; `result = …` is returned as JSON.
    #[track_caller]
    pub fn exec(&self, code: &str) -> Value {
        let v = control(&format!("/exec/{}", self.id), code);
        if let Some(err) = v.get("error") {
            panic!(
                "fakepve exec failed:\n{code}\n{}",
                err.as_str().unwrap_or_default()
            );
        }
        v["result"].clone()
    }

    /// `host:port` for PROXMOX_HOST.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The requests the fake has seen so far: `[method, path, body]`.
    pub fn requests(&self) -> Vec<(String, String, String)> {
        let v = self
            .exec("result = [[m, p, b.decode('utf-8', 'replace')] for (m, p, b) in pve.requests]");
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r[0].as_str().unwrap().to_string(),
                    r[1].as_str().unwrap().to_string(),
                    r[2].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    pub fn clear_requests(&self) {
        self.exec("pve.requests.clear()");
    }

    /// A `pvectl` command with a clean environment: token auth, pinned certificate, no config file.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pvectl"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join(".config"))
            .env("PVECTL_CONFIG", self.config_path())
            .env("PROXMOX_HOST", self.addr())
            .env("PROXMOX_TOKEN", format!("{TOKEN_ID}={TOKEN_SECRET}"))
            .env("PROXMOX_FINGERPRINT", &self.fingerprint)
            .stdin(Stdio::null());
        cmd
    }

    /// A command with no credentials or host at all (for configuration tests).
    pub fn bare_cmd(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pvectl"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join(".config"))
            .env("PVECTL_CONFIG", self.config_path())
            .stdin(Stdio::null());
        cmd
    }

    pub fn config_path(&self) -> PathBuf {
        self.home.path().join("config.toml")
    }

    /// Run `pvectl ARGS` with token auth.
    pub fn run(&self, args: &[&str]) -> Run {
        run_cmd(self.cmd().args(args))
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(|| control(&format!("/stop/{}", self.id), ""));
    }
}

pub fn run_cmd(cmd: &mut Command) -> Run {
    let out = cmd.output().expect("run pvectl");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
