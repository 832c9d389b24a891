//! Settings: the configuration file's profiles, the environment and the flags, merged with the
//! precedence flags > environment > profile > defaults.

mod file;

use file::has_profile_secret;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::api::{tls, Secret, TlsMode};
use crate::cli::{GlobalArgs, OutputFormat};
use crate::error::CliError;

pub use file::{
    cache_dir, cache_key, config_dir, config_path, create_private, expand_home, load_configured,
    load_file, parse_duration, profile_choice, select_profile, write_cache_file, write_file,
    xdg_dir, AuthKind, ConfigFile, DurationValue, Profile,
};

pub const DEFAULT_PORT: u16 = 8006;
/// PVE's own CA, which signs every node's certificate (`pveproxy` listens on localhost:8006 with
/// it): its presence marks a PVE node, where pvectl then works as PVE's own tools do.
pub const PVE_ROOT_CA: &str = "/etc/pve/pve-root-ca.pem";
/// Where pvectl looks for PVE's CA instead (for tests).
pub const PVE_ROOT_CA_VAR: &str = "PVECTL_PVE_ROOT_CA";
/// PVE's notes advise about 10 requests per second per token.
pub const DEFAULT_MAX_RPS: u32 = 10;

/// Where the credentials come from, resolved.
#[derive(Clone, Debug)]
pub enum Credentials {
    Token {
        id: String,
        secret: Secret,
    },
    Password {
        user: String,
        password: Option<Secret>,
    },
}

/// Everything a command needs to talk to the server, resolved from all sources.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config_path: PathBuf,
    pub profile_name: Option<String>,
    pub base_url: Option<String>,
    pub credentials: Option<Credentials>,
    pub tls: TlsMode,
    pub fingerprint_text: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub node: Option<String>,
    pub timeout: Duration,
    pub wait_timeout: Option<Duration>,
    pub parallel: u32,
    /// Requests per second (0 = no limit).
    pub max_rps: u32,
    pub output: OutputFormat,
    pub warnings: Vec<String>,
    pub ssh: SshSettings,
    /// Where each setting came from, by its `config show` key.
    pub origins: BTreeMap<&'static str, Origin>,
}

/// Where a setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Flag(&'static str),
    Env(&'static str),
    Profile(String),
    /// This machine is a PVE node: localhost and PVE's CA.
    LocalNode,
    /// How the configuration file chose the profile (`default_profile`, the only profile…).
    File(&'static str),
    Default,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Flag(flag) => write!(f, "flag {flag}"),
            Origin::Env(var) => write!(f, "env {var}"),
            Origin::Profile(name) => write!(f, "profile {name}"),
            Origin::LocalNode => f.write_str("PVE node"),
            Origin::File(how) => f.write_str(how),
            Origin::Default => f.write_str("default"),
        }
    }
}

/// Every environment variable pvectl reads, with what it means (the `--help` footer, the man page).
pub const ENVIRONMENT: &[(&str, &str)] = &[
    ("PROXMOX_HOST", "server: name, IP or https URL (as --host)"),
    (
        "PROXMOX_PORT",
        "port when the host names none (default 8006)",
    ),
    ("PROXMOX_TOKEN", "full API token USER@REALM!NAME=SECRET"),
    (
        "PROXMOX_TOKEN_ID",
        "token id USER@REALM!NAME, or NAME with PROXMOX_USERNAME",
    ),
    ("PROXMOX_TOKEN_SECRET", "the token's secret"),
    ("PROXMOX_USERNAME", "user for password login (USER@REALM)"),
    ("PROXMOX_PASSWORD", "password for password login"),
    ("PROXMOX_NODE", "default node for node-scoped commands"),
    (
        "PROXMOX_FINGERPRINT",
        "trust exactly this certificate (as --fingerprint)",
    ),
    (
        "PROXMOX_INSECURE",
        "1: do not verify the certificate (as --insecure)",
    ),
    ("PVECTL_CONFIG", "configuration file (as --config)"),
    ("PVECTL_PROFILE", "profile to use (as --profile)"),
    (
        PVE_ROOT_CA_VAR,
        "for tests: the CA file that marks a PVE node",
    ),
    (
        "XDG_CONFIG_HOME",
        "configuration directory base (default ~/.config)",
    ),
    (
        "XDG_CACHE_HOME",
        "cached completions and guests' nodes (default ~/.cache)",
    ),
    (
        "COMPLETE",
        "bash, zsh or fish: print the live completion script",
    ),
    (
        "PVECTL_TAB_LIMIT_MS",
        "for tests: completion's time limit (default 300)",
    ),
    ("NO_COLOR", "no colour"),
];

/// The `--help` footer's environment block.
pub fn environment_help() -> String {
    let mut text = String::from("Environment:");
    for (var, meaning) in ENVIRONMENT {
        text.push_str(&format!("\n  {var:<21} {meaning}"));
    }
    text
}

/// PVE's CA when this machine is a PVE node (`PVECTL_PVE_ROOT_CA` names another file, for tests).
fn local_node_ca(env: &Env) -> Option<PathBuf> {
    let path =
        env_get(env, PVE_ROOT_CA_VAR).map_or_else(|| PathBuf::from(PVE_ROOT_CA), PathBuf::from);
    path.exists().then_some(path)
}

/// How pvectl uses the system's `ssh`: into guests (`vm ssh`, `ct ssh`) and onto nodes
/// (`ct exec`, only when allowed).
#[derive(Debug, Clone, Default)]
pub struct SshSettings {
    /// `ssh = true`: `ct exec` may run `pct exec` on a node over SSH.
    pub nodes: bool,
    /// The login for guests when none is given and cloud-init names none.
    pub user: Option<String>,
    /// The identity file (`~/` expanded).
    pub key: Option<PathBuf>,
    /// The login on the nodes (default root).
    pub node_user: String,
}

/// The environment, read once (a map so tests can give their own).
pub type Env = BTreeMap<String, String>;

pub fn process_env() -> Env {
    std::env::vars().collect()
}

fn env_get<'a>(env: &'a Env, key: &str) -> Option<&'a str> {
    env.get(key).map(String::as_str).filter(|v| !v.is_empty())
}

fn env_flag(env: &Env, key: &str) -> bool {
    env_get(env, key)
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
}

/// Normalise a host (name, IP, `name:port` or `https://…` URL) into `https://host:port`.
pub fn base_url(host: &str, port: Option<u16>) -> Result<String, CliError> {
    // A URL with `user:password@` in it is refused, but its password is not repeated.
    let shown = match host.rsplit_once('@') {
        Some((before, rest))
            if before
                .split_once("://")
                .map_or(before, |(_, userinfo)| userinfo)
                .contains(':') =>
        {
            format!("…@{rest}")
        }
        _ => host.to_string(),
    };
    let bad = |why: &str| {
        CliError::config(format!(
            "host '{shown}' is not a host name, IP address or https URL ({why}); e.g. pve1.example.com, 192.0.2.10:8006 or https://pve1:8006"
        ))
    };
    let h = host.trim();
    if h.is_empty() {
        return Err(bad("empty"));
    }
    let text = if h.contains("://") {
        h.to_string()
    } else {
        format!("https://{h}")
    };
    let url = url::Url::parse(&text).map_err(|e| bad(&e.to_string()))?;
    if url.scheme() != "https" {
        return Err(bad("PVE's API is served over https only"));
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
        return Err(bad("no user, password or query belongs in it"));
    }
    if !(url.path() == "/"
        || url.path().is_empty()
        || url.path() == "/api2/json"
        || url.path() == "/api2/json/")
    {
        return Err(bad("no path belongs in it"));
    }
    let Some(name) = url.host_str() else {
        return Err(bad("no host"));
    };
    // `url` hides an explicit :443 (the https default), so read the port from the text too.
    let authority = text
        .split("://")
        .nth(1)
        .unwrap_or("")
        .split('/')
        .next()
        .unwrap_or("");
    let explicit = authority
        .rsplit_once(':')
        .filter(|(h, _)| !h.ends_with(':') && (!h.contains(':') || h.ends_with(']')))
        .and_then(|(_, p)| p.parse::<u16>().ok());
    let port = url.port().or(explicit).or(port).unwrap_or(DEFAULT_PORT);
    Ok(format!("https://{name}:{port}"))
}

/// Split a full token `USER@REALM!NAME=SECRET` at the last `=`.
pub fn split_full_token(token: &str) -> Result<(String, Secret), CliError> {
    match token.rsplit_once('=') {
        Some((id, secret)) if valid_token_id(id) && !secret.is_empty() => {
            Ok((id.to_string(), Secret::new(secret)))
        }
        _ => Err(CliError::config(
            "the full token must look like USER@REALM!NAME=SECRET (e.g. root@pam!cli=xxxxxxxx-…)"
                .to_string(),
        )),
    }
}

/// The error for a malformed token id. A full token given where the id belongs
/// (`user@realm!name=SECRET`) would put the secret in the message: it is cut at the `=`.
pub fn bad_token_id(id: &str) -> CliError {
    let shown = match id.split_once('=') {
        Some((id, _)) => format!("{id}=(redacted)"),
        None => id.to_string(),
    };
    CliError::config(format!(
        "token id '{shown}' must look like USER@REALM!NAME (e.g. root@pam!cli); the secret goes in PROXMOX_TOKEN_SECRET or token_secret_file"
    ))
}

pub fn valid_token_id(id: &str) -> bool {
    match id.split_once('!') {
        Some((user, name)) => {
            user.contains('@')
                && !name.is_empty()
                && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        }
        None => false,
    }
}

/// Run a `*_command` and take the first line of its output as the secret.
fn secret_from_command(cmd: &str, key: &str) -> Result<Secret, CliError> {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| CliError::config(format!("{key}: cannot run the command: {e}")))?;
    if !out.status.success() {
        return Err(CliError::config(format!(
            "{key}: the command failed ({})",
            out.status
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().next().unwrap_or("").trim().to_string();
    if line.is_empty() {
        return Err(CliError::config(format!(
            "{key}: the command printed nothing"
        )));
    }
    Ok(Secret::new(line))
}

/// The secret in the first line of a file (`~/` expanded); `key` names where it was asked for.
pub fn secret_from_file(path: &Path, key: &str) -> Result<Secret, CliError> {
    let path = &expand_home(path);
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::config(format!("{key}: cannot read {}: {e}", path.display())))?;
    let line = text.lines().next().unwrap_or("").trim().to_string();
    if line.is_empty() {
        return Err(CliError::config(format!(
            "{key}: {} is empty",
            path.display()
        )));
    }
    Ok(Secret::new(line))
}

/// The profile with `key` set to `value`, checked as the file is when read: the key must be a
/// profile's, the value of its type (a number, true/false or text, tried in that order), and a
/// host, token id, fingerprint or duration valid. The secret itself is not taken from the command
/// line, where `ps` shows it.
pub fn set_key(profile: &Profile, key: &str, value: &str) -> Result<Profile, CliError> {
    if key == "token_secret" {
        return Err(CliError::usage(
            "the token secret is not taken on the command line, where `ps` shows it: put it in a file only you can read and `pvectl config set token_secret_file PATH`, or run `pvectl config init`",
        ));
    }
    let table = match toml::Value::try_from(profile) {
        Ok(toml::Value::Table(t)) => t,
        _ => toml::Table::new(),
    };
    let mut candidates = vec![];
    if let Ok(n) = value.trim().parse::<i64>() {
        candidates.push(toml::Value::Integer(n));
    }
    if let Ok(b) = value.trim().parse::<bool>() {
        candidates.push(toml::Value::Boolean(b));
    }
    candidates.push(toml::Value::String(value.to_string()));
    let mut first_error = None;
    let mut updated = None;
    for candidate in candidates {
        let mut t = table.clone();
        t.insert(key.to_string(), candidate);
        match Profile::deserialize(toml::Value::Table(t)) {
            Ok(p) => {
                updated = Some(p);
                break;
            }
            Err(e) => {
                first_error.get_or_insert(e.message().trim().replace('\n', " "));
            }
        }
    }
    let Some(p) = updated else {
        return Err(CliError::usage(format!(
            "{key}: {}",
            first_error.unwrap_or_default()
        )));
    };
    let bad = |why: String| CliError::usage(format!("{key}: {why}"));
    match key {
        "host" => {
            base_url(value, None).map_err(|e| bad(e.message))?;
        }
        "token_id" if !valid_token_id(value) => {
            return Err(CliError::usage(bad_token_id(value).message));
        }
        "fingerprint" => {
            tls::parse_fingerprint(value).map_err(|e| bad(e.to_string()))?;
        }
        "timeout" | "wait_timeout" => {
            let v = if key == "timeout" {
                &p.timeout
            } else {
                &p.wait_timeout
            };
            let d = v.as_ref().map(|v| v.to_duration(key)).transpose();
            let d = d.map_err(|e| CliError::usage(e.message))?;
            if key == "timeout" && d.is_some_and(|d| d.is_zero()) {
                return Err(bad("must be more than 0 seconds (e.g. 30 or 2m)".into()));
            }
        }
        _ => {}
    }
    Ok(p)
}

pub fn resolve(flags: &GlobalArgs, env: &Env) -> Result<Settings, CliError> {
    resolve_with(flags, env, Commands::Run)
}

/// Whether `token_secret_command` and `password_command` may run: not while completing a word,
/// where a command that asks for a passphrase would hang the shell's TAB.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Commands {
    Run,
    Skip,
}

/// `resolve`, with the secrets' commands run or skipped (a secret they would give stays unset).
pub fn resolve_with(
    flags: &GlobalArgs,
    env: &Env,
    commands: Commands,
) -> Result<Settings, CliError> {
    let (path, file, mut warnings) = load_configured(flags, env)?;
    let (profile_name, profile) = select_profile(&file, flags, env)?;
    let empty = Profile::default();
    let p = profile.unwrap_or(&empty);
    let from_profile = || Origin::Profile(profile_name.clone().unwrap_or_default());
    let mut origins = BTreeMap::new();
    origins.insert(
        "config_file",
        match file::config_source(flags, env).1 {
            Some("--config") => Origin::Flag("--config"),
            Some(_) => Origin::Env("PVECTL_CONFIG"),
            None => Origin::Default,
        },
    );
    if profile_name.is_some() {
        let how = profile_choice(&file, flags, env);
        origins.insert(
            "profile",
            match how {
                "flag --profile" => Origin::Flag("--profile"),
                "env PVECTL_PROFILE" => Origin::Env("PVECTL_PROFILE"),
                how => Origin::File(how),
            },
        );
    }

    // Host and port; on a PVE node with nothing configured, its own pveproxy.
    let mut host = [
        (flags.host.clone(), Origin::Flag("--host")),
        (
            env_get(env, "PROXMOX_HOST").map(str::to_string),
            Origin::Env("PROXMOX_HOST"),
        ),
        (p.host.clone(), from_profile()),
    ]
    .into_iter()
    .find(|(h, _)| h.is_some());
    let mut local_ca = None;
    if host.is_none() && profile.is_none() {
        if let Some(ca) = local_node_ca(env) {
            host = Some((Some("localhost".to_string()), Origin::LocalNode));
            if std::fs::File::open(&ca).is_ok() {
                local_ca = Some(ca);
            } else {
                warnings.push(format!(
                    "cannot read {} (root and group www-data can): the certificate of localhost is checked against the system's roots only; pin it with --fingerprint",
                    ca.display()
                ));
            }
        }
    }
    let port =
        match env_get(env, "PROXMOX_PORT") {
            Some(v) => Some(v.parse::<u16>().map_err(|_| {
                CliError::config(format!("PROXMOX_PORT '{v}' is not a port number"))
            })?),
            None => None,
        };
    let base_url = match &host {
        Some((Some(h), origin)) => {
            origins.insert("host", origin.clone());
            Some(base_url(h, port)?)
        }
        _ => None,
    };

    // Credentials.
    let (credentials, credentials_origin) =
        resolve_credentials(flags, env, p, commands, &mut warnings)?;
    if credentials.is_some() {
        let origin = match credentials_origin {
            Some(o) => o,
            None => from_profile(),
        };
        origins.insert("auth", origin);
    }

    // TLS: the first of flags, environment and profile that says anything decides, so `-k` works
    // for one command against a profile that pins an old certificate; within one of them a
    // fingerprint beats `insecure`.
    let (fingerprint_text, insecure, tls_origin) = [
        (
            flags.fingerprint.clone(),
            flags.insecure,
            if flags.fingerprint.is_some() {
                Origin::Flag("--fingerprint")
            } else {
                Origin::Flag("--insecure")
            },
        ),
        (
            env_get(env, "PROXMOX_FINGERPRINT").map(str::to_string),
            env_flag(env, "PROXMOX_INSECURE"),
            if env_get(env, "PROXMOX_FINGERPRINT").is_some() {
                Origin::Env("PROXMOX_FINGERPRINT")
            } else {
                Origin::Env("PROXMOX_INSECURE")
            },
        ),
        (
            p.fingerprint.clone(),
            p.insecure.unwrap_or(false),
            from_profile(),
        ),
    ]
    .into_iter()
    .find(|(fp, insecure, _)| fp.is_some() || *insecure)
    .unwrap_or((None, false, Origin::Default));
    let tls = if let Some(fp) = &fingerprint_text {
        TlsMode::Pinned(tls::parse_fingerprint(fp).map_err(|e| CliError::config(e.to_string()))?)
    } else if insecure {
        TlsMode::Insecure
    } else {
        TlsMode::Verify
    };
    origins.insert("tls", tls_origin.clone());
    if fingerprint_text.is_some() {
        origins.insert("fingerprint", tls_origin);
    }
    let ca_file = [
        (flags.ca_file.clone(), Origin::Flag("--ca-file")),
        (p.ca_file.as_deref().map(expand_home), from_profile()),
        (local_ca, Origin::LocalNode),
    ]
    .into_iter()
    .find(|(f, _)| f.is_some())
    .and_then(|(f, origin)| {
        origins.insert("ca_file", origin);
        f
    });

    let timeout = match &flags.request_timeout {
        Some(t) => {
            // Not parse_duration's own message: it offers 0, which means nothing here.
            let d = parse_duration(t).map_err(|_| {
                CliError::usage(format!(
                    "--request-timeout: '{t}' is not a duration: use e.g. 30s, 2m or 90 (seconds)"
                ))
            })?;
            if d.is_zero() {
                return Err(CliError::usage(
                    "--request-timeout must be more than 0 (e.g. 30s, 2m)",
                ));
            }
            origins.insert("timeout_s", Origin::Flag("--request-timeout"));
            d
        }
        None => match &p.timeout {
            Some(v) => {
                origins.insert("timeout_s", from_profile());
                v.to_duration("timeout")?
            }
            None => {
                origins.insert("timeout_s", Origin::Default);
                Duration::from_secs(60)
            }
        },
    };
    if timeout.is_zero() {
        return Err(CliError::config(
            "timeout in the profile must be more than 0 seconds (e.g. 30 or \"2m\")".to_string(),
        ));
    }
    let wait_timeout = p
        .wait_timeout
        .as_ref()
        .map(|v| v.to_duration("wait_timeout"))
        .transpose()?;
    if wait_timeout.is_some() {
        origins.insert("wait_timeout_s", from_profile());
    }
    let node = match env_get(env, "PROXMOX_NODE") {
        Some(n) => {
            origins.insert("node", Origin::Env("PROXMOX_NODE"));
            Some(n.to_string())
        }
        None => p.node.clone().inspect(|_| {
            origins.insert("node", from_profile());
        }),
    };
    let output = match (flags.output, p.output) {
        (Some(o), _) => {
            origins.insert("output", Origin::Flag("--output"));
            o
        }
        (None, Some(o)) => {
            origins.insert("output", from_profile());
            o
        }
        (None, None) => {
            origins.insert("output", Origin::Default);
            OutputFormat::Table
        }
    };
    let of_profile = |set: bool| if set { from_profile() } else { Origin::Default };
    origins.insert("parallel", of_profile(p.parallel.is_some()));
    let max_rps = match (flags.max_rps, p.max_requests_per_second) {
        (Some(n), _) => {
            origins.insert("max_requests_per_second", Origin::Flag("--max-rps"));
            n
        }
        (None, Some(n)) => {
            origins.insert("max_requests_per_second", from_profile());
            n
        }
        (None, None) => {
            origins.insert("max_requests_per_second", Origin::Default);
            DEFAULT_MAX_RPS
        }
    };
    for (key, set) in [
        ("ssh", p.ssh.is_some()),
        ("ssh_user", p.ssh_user.is_some()),
        ("ssh_key", p.ssh_key.is_some()),
        ("node_ssh_user", p.node_ssh_user.is_some()),
    ] {
        if set {
            origins.insert(key, from_profile());
        }
    }

    Ok(Settings {
        config_path: path,
        profile_name,
        base_url,
        credentials,
        tls,
        fingerprint_text,
        ca_file,
        node,
        timeout,
        wait_timeout,
        parallel: p.parallel.unwrap_or(4).max(1),
        max_rps,
        output,
        warnings,
        ssh: SshSettings {
            nodes: p.ssh.unwrap_or(false),
            user: p.ssh_user.clone().filter(|u| !u.trim().is_empty()),
            key: p.ssh_key.as_deref().map(expand_home),
            node_user: p
                .node_ssh_user
                .clone()
                .filter(|u| !u.trim().is_empty())
                .unwrap_or_else(|| "root".into()),
        },
        origins,
    })
}

/// The credentials, and where they came from (`None`: the profile).
fn resolve_credentials(
    flags: &GlobalArgs,
    env: &Env,
    p: &Profile,
    commands: Commands,
    warnings: &mut Vec<String>,
) -> Result<(Option<Credentials>, Option<Origin>), CliError> {
    // 1. --user switches this command to password login.
    if let Some(user) = &flags.user {
        let password = if p.user.as_deref() == Some(user.as_str()) || p.user.is_none() {
            password_from(env, p, commands)?
        } else {
            env_get(env, "PROXMOX_PASSWORD").map(Secret::new)
        };
        return Ok((
            Some(Credentials::Password {
                user: user.clone(),
                password,
            }),
            Some(Origin::Flag("--user")),
        ));
    }
    // 2. A full token on the command line (visible in `ps`, so it warns).
    if let Some(token) = &flags.token {
        warnings.push(
            "--token puts the secret on the command line, where `ps` shows it: prefer PROXMOX_TOKEN or the configuration file".into(),
        );
        let (id, secret) = split_full_token(token.expose())?;
        return Ok((
            Some(Credentials::Token { id, secret }),
            Some(Origin::Flag("--token")),
        ));
    }
    // 3. The environment.
    if let Some(token) = env_get(env, "PROXMOX_TOKEN") {
        let (id, secret) = split_full_token(token)?;
        return Ok((
            Some(Credentials::Token { id, secret }),
            Some(Origin::Env("PROXMOX_TOKEN")),
        ));
    }
    let env_token_id = env_get(env, "PROXMOX_TOKEN_ID").map(|id| {
        if id.contains('!') {
            id.to_string()
        } else {
            // A bare token name goes with PROXMOX_USERNAME.
            format!("{}!{id}", env_get(env, "PROXMOX_USERNAME").unwrap_or(""))
        }
    });
    let env_secret = env_get(env, "PROXMOX_TOKEN_SECRET").map(Secret::new);
    if env_token_id.is_some() || env_secret.is_some() {
        let id = env_token_id.or_else(|| p.token_id.clone());
        let secret = match env_secret {
            Some(s) => Some(s),
            None => profile_token_secret(p, commands)?,
        };
        let origin = if env_get(env, "PROXMOX_TOKEN_ID").is_some() {
            Origin::Env("PROXMOX_TOKEN_ID")
        } else {
            Origin::Env("PROXMOX_TOKEN_SECRET")
        };
        return token_credentials(id, secret, "PROXMOX_TOKEN_ID / PROXMOX_TOKEN_SECRET")
            .map(|c| (c, Some(origin)));
    }
    if let (Some(user), Some(pw)) = (
        env_get(env, "PROXMOX_USERNAME"),
        env_get(env, "PROXMOX_PASSWORD"),
    ) {
        return Ok((
            Some(Credentials::Password {
                user: user.to_string(),
                password: Some(Secret::new(pw)),
            }),
            Some(Origin::Env("PROXMOX_USERNAME")),
        ));
    }
    // 4. The profile.
    match p.auth_kind() {
        AuthKind::Password => {
            let Some(user) = p.user.clone() else {
                return Err(CliError::config(
                    "the profile says auth = \"password\" but names no user: add user = \"root@pam\"".to_string(),
                ));
            };
            Ok((
                Some(Credentials::Password {
                    user,
                    password: password_from(env, p, commands)?,
                }),
                None,
            ))
        }
        AuthKind::Token => {
            if p.token_id.is_none() && !has_profile_secret(p) {
                return Ok((None, None));
            }
            token_credentials(
                p.token_id.clone(),
                profile_token_secret(p, commands)?,
                "the profile",
            )
            .map(|c| (c, None))
        }
    }
}

fn profile_token_secret(p: &Profile, commands: Commands) -> Result<Option<Secret>, CliError> {
    if let Some(s) = &p.token_secret {
        return Ok(Some(Secret::new(s.trim())));
    }
    if let Some(f) = &p.token_secret_file {
        return secret_from_file(f, "token_secret_file").map(Some);
    }
    if let Some(c) = p
        .token_secret_command
        .as_ref()
        .filter(|_| commands == Commands::Run)
    {
        return secret_from_command(c, "token_secret_command").map(Some);
    }
    Ok(None)
}

fn password_from(env: &Env, p: &Profile, commands: Commands) -> Result<Option<Secret>, CliError> {
    if let Some(pw) = env_get(env, "PROXMOX_PASSWORD") {
        return Ok(Some(Secret::new(pw)));
    }
    if let Some(f) = &p.password_file {
        return secret_from_file(f, "password_file").map(Some);
    }
    if let Some(c) = p
        .password_command
        .as_ref()
        .filter(|_| commands == Commands::Run)
    {
        return secret_from_command(c, "password_command").map(Some);
    }
    Ok(None)
}

fn token_credentials(
    id: Option<String>,
    secret: Option<Secret>,
    source: &str,
) -> Result<Option<Credentials>, CliError> {
    let Some(id) = id else {
        return Err(CliError::config(format!(
            "a token secret is set ({source}) but no token id: set token_id = \"user@realm!name\" or PROXMOX_TOKEN_ID"
        )));
    };
    if !valid_token_id(&id) {
        return Err(bad_token_id(&id));
    }
    let Some(secret) = secret else {
        return Err(CliError::config(format!(
            "no secret for token {id}: set token_secret_file or token_secret in the profile, or PROXMOX_TOKEN_SECRET"
        )));
    };
    Ok(Some(Credentials::Token { id, secret }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn with_file(text: &str) -> (tempfile::TempDir, GlobalArgs) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        let flags = GlobalArgs {
            config: Some(path),
            ..Default::default()
        };
        (dir, flags)
    }

    #[test]
    fn host_forms() {
        assert_eq!(base_url("pve1", None).unwrap(), "https://pve1:8006");
        assert_eq!(
            base_url("192.0.2.1:443", None).unwrap(),
            "https://192.0.2.1:443"
        );
        assert_eq!(
            base_url("https://pve1.example.com", Some(9000)).unwrap(),
            "https://pve1.example.com:9000"
        );
        assert_eq!(base_url("[::1]", None).unwrap(), "https://[::1]:8006");
        assert!(base_url("http://pve1", None).is_err());
        assert!(base_url("pve 1", None).is_err());
        assert!(base_url("https://pve1/foo", None).is_err());
        let e = base_url("https://root:hunter2@pve1", None).unwrap_err();
        assert!(!e.message.contains("hunter2"), "{}", e.message);
        assert!(e.message.contains("'…@pve1'"), "{}", e.message);
    }

    #[test]
    fn flags_beat_env_beat_profile() {
        let (_d, mut flags) = with_file(
            "[profiles.home]\nhost = \"from-profile\"\ntoken_id = \"a@pve!p\"\ntoken_secret = \"s1\"\nnode = \"pn\"\n",
        );
        let e = env(&[("PROXMOX_HOST", "from-env"), ("PROXMOX_NODE", "en")]);
        let s = resolve(&flags, &e).unwrap();
        assert_eq!(s.base_url.as_deref(), Some("https://from-env:8006"));
        assert_eq!(s.node.as_deref(), Some("en"));
        flags.host = Some("from-flag".into());
        let s = resolve(&flags, &e).unwrap();
        assert_eq!(s.base_url.as_deref(), Some("https://from-flag:8006"));
        match s.credentials.unwrap() {
            Credentials::Token { id, secret } => {
                assert_eq!(id, "a@pve!p");
                assert_eq!(secret.expose(), "s1");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tls_the_first_level_that_says_anything_decides() {
        let fp = "AB:".repeat(31) + "AB";
        let (_d, mut flags) = with_file(&format!(
            "[profiles.p]\nhost = \"h\"\ninsecure = true\nfingerprint = \"{}\"\n",
            "00:".repeat(31) + "00"
        ));
        let pinned = |s: Settings| matches!(s.tls, TlsMode::Pinned(b) if b == [0xAB; 32]);
        // The environment's fingerprint beats the profile's pin and its insecure.
        let e = env(&[("PROXMOX_FINGERPRINT", &fp)]);
        assert!(pinned(resolve(&flags, &e).unwrap()));
        // --fingerprint beats PROXMOX_INSECURE.
        flags.fingerprint = Some(fp.clone());
        let e = env(&[("PROXMOX_INSECURE", "1")]);
        assert!(pinned(resolve(&flags, &e).unwrap()));
        // -k beats PROXMOX_FINGERPRINT.
        flags.fingerprint = None;
        flags.insecure = true;
        let e = env(&[("PROXMOX_FINGERPRINT", &fp)]);
        assert!(matches!(
            resolve(&flags, &e).unwrap().tls,
            TlsMode::Insecure
        ));
    }

    #[test]
    fn env_token_forms() {
        let (_d, flags) = with_file("");
        let s = resolve(&flags, &env(&[("PROXMOX_TOKEN", "u@pam!t=abc-def")])).unwrap();
        assert!(
            matches!(s.credentials, Some(Credentials::Token { ref id, ref secret }) if id == "u@pam!t" && secret.expose() == "abc-def")
        );
        assert!(resolve(&flags, &env(&[("PROXMOX_TOKEN", "nonsense")])).is_err());
        let s = resolve(
            &flags,
            &env(&[
                ("PROXMOX_USERNAME", "u@pam"),
                ("PROXMOX_TOKEN_ID", "t"),
                ("PROXMOX_TOKEN_SECRET", "x"),
            ]),
        )
        .unwrap();
        assert!(
            matches!(s.credentials, Some(Credentials::Token { ref id, .. }) if id == "u@pam!t")
        );
        let s = resolve(
            &flags,
            &env(&[("PROXMOX_USERNAME", "root@pam"), ("PROXMOX_PASSWORD", "pw")]),
        )
        .unwrap();
        assert!(
            matches!(s.credentials, Some(Credentials::Password { ref user, .. }) if user == "root@pam")
        );
    }

    #[test]
    fn a_full_token_given_as_the_token_id_keeps_its_secret_out_of_the_error() {
        let (_d, flags) = with_file("");
        let e = resolve(
            &flags,
            &env(&[("PROXMOX_TOKEN_ID", "u@pam!cli=0f6b1c2e-TOPSECRET")]),
        )
        .unwrap_err();
        assert_eq!(e.kind, crate::error::ErrorKind::Config);
        assert!(!e.message.contains("TOPSECRET"), "{}", e.message);
        assert!(e.message.contains("u@pam!cli=(redacted)"), "{}", e.message);
    }

    #[test]
    fn unknown_profile_and_bad_toml_are_config_errors() {
        let (_d, mut flags) = with_file("[profiles.a]\nhost = \"x\"\n");
        flags.profile = Some("b".into());
        let e = resolve(&flags, &Env::new()).unwrap_err();
        assert_eq!(e.kind, crate::error::ErrorKind::Config);
        assert!(e.message.contains("unknown profile 'b'"), "{}", e.message);
        let (_d, flags) = with_file("[profiles.a]\nhost = \n");
        let e = resolve(&flags, &Env::new()).unwrap_err();
        assert_eq!(e.kind, crate::error::ErrorKind::Config);
        assert!(e.message.contains("line 2"), "{}", e.message);
    }

    #[test]
    fn a_profile_with_a_user_and_no_token_logs_in_with_the_password() {
        let (_d, flags) = with_file(
            "[profiles.a]\nhost = \"x\"\nuser = \"root@pam\"\npassword_command = \"echo pw\"\n",
        );
        let s = resolve(&flags, &Env::new()).unwrap();
        assert!(
            matches!(s.credentials, Some(Credentials::Password { ref user, password: Some(ref pw) }) if user == "root@pam" && pw.expose() == "pw")
        );
        let (_d, flags) = with_file(
            "[profiles.a]\nhost = \"x\"\nuser = \"root@pam\"\ntoken_id = \"a@pve!p\"\ntoken_secret = \"s\"\n",
        );
        let s = resolve(&flags, &Env::new()).unwrap();
        assert!(matches!(s.credentials, Some(Credentials::Token { .. })));
    }

    #[test]
    fn secret_never_in_debug() {
        let (_d, flags) = with_file(
            "[profiles.a]\nhost = \"x\"\ntoken_id = \"a@pve!p\"\ntoken_secret = \"TOPSECRET\"\n",
        );
        let s = resolve(&flags, &Env::new()).unwrap();
        assert!(!format!("{s:?}").contains("TOPSECRET"));
        let (file, _) = load_file(flags.config.as_ref().unwrap()).unwrap();
        assert!(!format!("{file:?}").contains("TOPSECRET"));
    }

    #[test]
    fn ssh_keys_of_a_profile() {
        let (_d, flags) = with_file(
            "[profiles.a]\nhost = \"x\"\nssh = true\nssh_user = \"debian\"\nssh_key = \"~/.ssh/pve\"\n",
        );
        let s = resolve(&flags, &Env::new()).unwrap();
        assert!(s.ssh.nodes);
        assert_eq!(s.ssh.user.as_deref(), Some("debian"));
        assert_eq!(s.ssh.node_user, "root");
        let home = dirs::home_dir().expect("a home directory");
        assert_eq!(s.ssh.key, Some(home.join(".ssh/pve")));
        let (_d, flags) = with_file("[profiles.a]\nhost = \"x\"\nnode_ssh_user = \"admin\"\n");
        let s = resolve(&flags, &Env::new()).unwrap();
        assert!(!s.ssh.nodes);
        assert_eq!(s.ssh.node_user, "admin");
    }

    #[test]
    fn home_is_expanded_in_paths() {
        let home = dirs::home_dir().expect("a home directory");
        assert_eq!(expand_home(Path::new("~/a/b")), home.join("a/b"));
        assert_eq!(expand_home(Path::new("/etc/x")), PathBuf::from("/etc/x"));
        assert_eq!(expand_home(Path::new("~user/x")), PathBuf::from("~user/x"));
    }

    /// Every PROXMOX_* and PVECTL_* variable the code reads is in `--help`'s environment block.
    #[test]
    fn every_variable_read_is_documented() {
        fn walk(dir: &Path, found: &mut std::collections::BTreeSet<String>) {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, found);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for part in text.split('"').skip(1).step_by(2) {
                        let var = part.starts_with("PROXMOX_") || part.starts_with("PVECTL_");
                        if var && part.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                            found.insert(part.to_string());
                        }
                    }
                }
            }
        }
        let mut found = std::collections::BTreeSet::new();
        walk(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        found.insert(PVE_ROOT_CA_VAR.to_string());
        assert!(found.len() >= 13, "{found:?}");
        let help = crate::cli::command().render_help().to_string();
        for var in &found {
            assert!(
                help.contains(&format!("\n  {var} ")),
                "{var} is not in --help's environment block"
            );
        }
    }

    #[test]
    fn the_config_directory_is_xdg_on_every_system() {
        let home = dirs::home_dir().expect("a home directory");
        assert_eq!(config_dir(&Env::new()), home.join(".config/pvectl"));
        let e = env(&[("XDG_CONFIG_HOME", "/srv/conf")]);
        assert_eq!(config_dir(&e), PathBuf::from("/srv/conf/pvectl"));
        // A relative XDG_CONFIG_HOME is ignored, as the specification says.
        let e = env(&[("XDG_CONFIG_HOME", "conf")]);
        assert_eq!(config_dir(&e), home.join(".config/pvectl"));
    }

    #[test]
    fn each_setting_says_where_it_came_from() {
        let (_d, mut flags) = with_file(
            "default_profile = \"home\"\n[profiles.home]\nhost = \"pve1\"\ntoken_id = \"a@pve!p\"\ntoken_secret = \"s\"\nparallel = 8\n",
        );
        flags.max_rps = Some(3);
        let e = env(&[("PROXMOX_NODE", "pve2")]);
        let s = resolve(&flags, &e).unwrap();
        let o = |k: &str| s.origins.get(k).map(ToString::to_string);
        assert_eq!(o("host").as_deref(), Some("profile home"));
        assert_eq!(o("auth").as_deref(), Some("profile home"));
        assert_eq!(o("node").as_deref(), Some("env PROXMOX_NODE"));
        assert_eq!(o("parallel").as_deref(), Some("profile home"));
        assert_eq!(
            o("max_requests_per_second").as_deref(),
            Some("flag --max-rps")
        );
        assert_eq!(o("timeout_s").as_deref(), Some("default"));
        assert_eq!(o("profile").as_deref(), Some("default_profile"));
        assert_eq!(o("config_file").as_deref(), Some("flag --config"));
    }

    #[test]
    fn a_pve_node_with_nothing_configured_uses_its_own_proxy_and_ca() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("pve-root-ca.pem");
        std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\n").unwrap();
        let (_d, flags) = with_file("");
        let e = env(&[(PVE_ROOT_CA_VAR, ca.to_str().unwrap())]);
        let s = resolve(&flags, &e).unwrap();
        assert_eq!(s.base_url.as_deref(), Some("https://localhost:8006"));
        assert_eq!(s.ca_file.as_deref(), Some(ca.as_path()));
        assert_eq!(s.origins.get("host"), Some(&Origin::LocalNode));
        assert!(matches!(s.tls, TlsMode::Verify));
        // A host given anywhere, or a profile, wins.
        let e = env(&[
            (PVE_ROOT_CA_VAR, ca.to_str().unwrap()),
            ("PROXMOX_HOST", "pve9"),
        ]);
        let s = resolve(&flags, &e).unwrap();
        assert_eq!(s.base_url.as_deref(), Some("https://pve9:8006"));
        assert_eq!(s.ca_file, None);
        let (_d, flags) = with_file("[profiles.a]\nnode = \"pve1\"\n");
        let e = env(&[(PVE_ROOT_CA_VAR, ca.to_str().unwrap())]);
        assert_eq!(resolve(&flags, &e).unwrap().base_url, None);
        // Not a PVE node.
        let (_d, flags) = with_file("");
        let e = env(&[(PVE_ROOT_CA_VAR, "/nonexistent/pve-root-ca.pem")]);
        assert_eq!(resolve(&flags, &e).unwrap().base_url, None);
    }

    #[test]
    fn set_checks_keys_and_values_as_the_file_is_read() {
        let p = Profile::default();
        let p = set_key(&p, "host", "pve1.lan").unwrap();
        let p = set_key(&p, "parallel", "8").unwrap();
        let p = set_key(&p, "insecure", "true").unwrap();
        let p = set_key(&p, "timeout", "90").unwrap();
        let p = set_key(&p, "wait_timeout", "10m").unwrap();
        let p = set_key(&p, "node", "42").unwrap();
        assert_eq!(p.host.as_deref(), Some("pve1.lan"));
        assert_eq!(p.parallel, Some(8));
        assert_eq!(p.insecure, Some(true));
        assert_eq!(p.node.as_deref(), Some("42"));
        let bad = |k: &str, v: &str| set_key(&p, k, v).unwrap_err().message;
        assert!(bad("hots", "x").contains("unknown field `hots`"));
        assert!(bad("parallel", "lots").contains("expected u32"));
        assert!(bad("insecure", "yes").contains("expected a boolean"));
        assert!(bad("host", "http://pve1").contains("https"));
        assert!(bad("token_id", "root@pam").contains("USER@REALM!NAME"));
        assert!(bad("fingerprint", "AB:CD").starts_with("fingerprint: "));
        assert!(bad("timeout", "0").contains("more than 0"));
        assert!(bad("wait_timeout", "soon").contains("not a duration"));
        assert!(bad("token_secret", "x").contains("token_secret_file"));
        assert!(bad("output", "xml").starts_with("output: "));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("soon").is_err());
    }
}
