//! The end-to-end fixture: a fresh fakepve per test, through the control process that
//! `tests/run.sh` starts, and `pvectl` commands pointed at it with token or password login, or
//! with no host and no credentials at all.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use super::{clean_command, full_token, run_cmd, Run, PASSWORD, TOKEN_ID, TOKEN_SECRET};

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

/// fakepve keeps paths without their query and redacts secrets in `pve.requests`; this records
/// every request beside it in `pve.sent` as the server saw it: method, path and the target as sent
/// (both under /api2/json), and the parameters (query string, then form body) decoded. A
/// `pve.before_write = (method, path suffix, fn)` runs `fn` once, just before the server handles
/// the first matching request: another client's edit landing between pvectl's read and its write.
const RECORDER: &str = "\
import urllib.parse
pve.sent = []
pve.before_write = None
def _record(request, body, _pve=pve, _orig=pve._record):
    _orig(request, body)
    path, target = request.path, request.path_qs
    for prefix in ('/api2/json', '/api2/extjs'):
        if path.startswith(prefix):
            path = path[len(prefix):]
        if target.startswith(prefix):
            target = target[len(prefix):]
    params = urllib.parse.parse_qsl(request.query_string, keep_blank_values=True)
    if body:
        params += urllib.parse.parse_qsl(body.decode('utf-8', 'replace'), keep_blank_values=True)
    _pve.sent.append([request.method, path, target, [list(p) for p in params]])
    hook = _pve.before_write
    if hook and request.method == hook[0] and path.endswith(hook[1]):
        _pve.before_write = None
        hook[2]()
pve._record = _record
";

/// One fakepve instance, stopped when dropped.
pub struct Fake {
    pub id: String,
    pub host: String,
    pub port: u16,
    pub fingerprint: String,
    pub cafile: String,
    pub home: tempfile::TempDir,
}

impl Fake {
    /// A fresh fake with an API token `root@pam!cli`, tasks that finish at once, and one node `pve1`.
    pub fn new() -> Fake {
        Self::with_time_scale(0.0)
    }

    /// A fresh fake set up by `setup`: Python with `pve` in scope, as for `exec`.
    #[track_caller]
    pub fn with(setup: &str) -> Fake {
        let fake = Self::new();
        fake.exec(setup);
        fake
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
        fake.exec(&format!(
            "pve.apitokens['{TOKEN_ID}'] = '{TOKEN_SECRET}'\n{RECORDER}"
        ));
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

    /// The requests the fake has seen so far, as fakepve keeps them: `[method, path, body]`
    /// (full path without the query, secrets in the body redacted). `helpers::sent` has them
    /// decoded.
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

    /// Forget the requests seen so far (both records).
    pub fn clear_requests(&self) {
        self.exec("pve.requests.clear()\npve.sent.clear()");
    }

    /// A `pvectl` command with a clean environment: token auth, pinned certificate, no config file.
    pub fn cmd(&self) -> Command {
        let mut cmd = self.bare_cmd();
        cmd.env("PROXMOX_HOST", self.addr())
            .env("PROXMOX_TOKEN", full_token())
            .env("PROXMOX_FINGERPRINT", &self.fingerprint);
        cmd
    }

    /// A command with no credentials or host at all (for configuration tests).
    pub fn bare_cmd(&self) -> Command {
        let mut cmd = clean_command(self.home.path());
        cmd.stdin(Stdio::null());
        cmd
    }

    pub fn config_path(&self) -> PathBuf {
        super::config_file(self.home.path())
    }

    /// Run `pvectl ARGS` with token auth.
    pub fn run(&self, args: &[&str]) -> Run {
        run_cmd(self.cmd().args(args))
    }

    /// `pvectl ARGS` with extra environment (and some of the fixture's variables removed).
    pub fn run_env(&self, remove: &[&str], env: &[(&str, &str)], args: &[&str]) -> Run {
        let mut cmd = self.cmd();
        for k in remove {
            cmd.env_remove(k);
        }
        cmd.envs(env.iter().copied());
        run_cmd(cmd.args(args))
    }

    /// `pvectl ARGS` logged in as `user` with `password` (PROXMOX_USERNAME / PROXMOX_PASSWORD).
    pub fn run_as(&self, user: &str, password: &str, args: &[&str]) -> Run {
        self.run_env(
            &["PROXMOX_TOKEN"],
            &[("PROXMOX_USERNAME", user), ("PROXMOX_PASSWORD", password)],
            args,
        )
    }

    /// `pvectl ARGS` logged in with root@pam's password.
    pub fn run_password(&self, args: &[&str]) -> Run {
        self.run_as("root@pam", PASSWORD, args)
    }

    /// A bare `pvectl ARGS` (no host, no credentials) with these variables.
    pub fn run_bare(&self, env: &[(&str, &str)], args: &[&str]) -> Run {
        run_cmd(self.bare_cmd().envs(env.iter().copied()).args(args))
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(|| control(&format!("/stop/{}", self.id), ""));
    }
}
