//! Settings: the configuration file's profiles, the environment and the flags, merged with the
//! precedence flags > environment > profile > defaults.

mod file;

use file::has_profile_secret;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::api::{tls, Secret, TlsMode};
use crate::cli::{GlobalArgs, OutputFormat};
use crate::error::CliError;

pub use file::{
    config_path, create_private, expand_home, load_configured, load_file, parse_duration,
    select_profile, write_file, AuthKind, ConfigFile, DurationValue, Profile,
};

pub const DEFAULT_PORT: u16 = 8006;
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

pub fn resolve(flags: &GlobalArgs, env: &Env) -> Result<Settings, CliError> {
    let (path, file, mut warnings) = load_configured(flags, env)?;
    let (profile_name, profile) = select_profile(&file, flags, env)?;
    let empty = Profile::default();
    let p = profile.unwrap_or(&empty);

    // Host and port.
    let host = flags
        .host
        .clone()
        .or_else(|| env_get(env, "PROXMOX_HOST").map(str::to_string))
        .or_else(|| p.host.clone());
    let port =
        match env_get(env, "PROXMOX_PORT") {
            Some(v) => Some(v.parse::<u16>().map_err(|_| {
                CliError::config(format!("PROXMOX_PORT '{v}' is not a port number"))
            })?),
            None => None,
        };
    let base_url = host.as_deref().map(|h| base_url(h, port)).transpose()?;

    // Credentials.
    let credentials = resolve_credentials(flags, env, p, &mut warnings)?;

    // TLS: the first of flags, environment and profile that says anything decides, so `-k` works
    // for one command against a profile that pins an old certificate; within one of them a
    // fingerprint beats `insecure`.
    let (fingerprint_text, insecure) = [
        (flags.fingerprint.clone(), flags.insecure),
        (
            env_get(env, "PROXMOX_FINGERPRINT").map(str::to_string),
            env_flag(env, "PROXMOX_INSECURE"),
        ),
        (p.fingerprint.clone(), p.insecure.unwrap_or(false)),
    ]
    .into_iter()
    .find(|(fp, insecure)| fp.is_some() || *insecure)
    .unwrap_or((None, false));
    let tls = if let Some(fp) = &fingerprint_text {
        TlsMode::Pinned(tls::parse_fingerprint(fp).map_err(|e| CliError::config(e.to_string()))?)
    } else if insecure {
        TlsMode::Insecure
    } else {
        TlsMode::Verify
    };
    let ca_file = flags
        .ca_file
        .clone()
        .or_else(|| p.ca_file.as_deref().map(expand_home));

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
            d
        }
        None => match &p.timeout {
            Some(v) => v.to_duration("timeout")?,
            None => Duration::from_secs(60),
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
    let node = env_get(env, "PROXMOX_NODE")
        .map(str::to_string)
        .or_else(|| p.node.clone());
    let output = flags.output.or(p.output).unwrap_or(OutputFormat::Table);

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
        max_rps: flags
            .max_rps
            .or(p.max_requests_per_second)
            .unwrap_or(DEFAULT_MAX_RPS),
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
    })
}

fn resolve_credentials(
    flags: &GlobalArgs,
    env: &Env,
    p: &Profile,
    warnings: &mut Vec<String>,
) -> Result<Option<Credentials>, CliError> {
    // 1. --user switches this command to password login.
    if let Some(user) = &flags.user {
        let password = if p.user.as_deref() == Some(user.as_str()) || p.user.is_none() {
            password_from(env, p)?
        } else {
            env_get(env, "PROXMOX_PASSWORD").map(Secret::new)
        };
        return Ok(Some(Credentials::Password {
            user: user.clone(),
            password,
        }));
    }
    // 2. A full token on the command line (visible in `ps`, so it warns).
    if let Some(token) = &flags.token {
        warnings.push(
            "--token puts the secret on the command line, where `ps` shows it: prefer PROXMOX_TOKEN or the configuration file".into(),
        );
        let (id, secret) = split_full_token(token.expose())?;
        return Ok(Some(Credentials::Token { id, secret }));
    }
    // 3. The environment.
    if let Some(token) = env_get(env, "PROXMOX_TOKEN") {
        let (id, secret) = split_full_token(token)?;
        return Ok(Some(Credentials::Token { id, secret }));
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
            None => profile_token_secret(p)?,
        };
        return token_credentials(id, secret, "PROXMOX_TOKEN_ID / PROXMOX_TOKEN_SECRET");
    }
    if let (Some(user), Some(pw)) = (
        env_get(env, "PROXMOX_USERNAME"),
        env_get(env, "PROXMOX_PASSWORD"),
    ) {
        return Ok(Some(Credentials::Password {
            user: user.to_string(),
            password: Some(Secret::new(pw)),
        }));
    }
    // 4. The profile.
    match p.auth_kind() {
        AuthKind::Password => {
            let Some(user) = p.user.clone() else {
                return Err(CliError::config(
                    "the profile says auth = \"password\" but names no user: add user = \"root@pam\"".to_string(),
                ));
            };
            Ok(Some(Credentials::Password {
                user,
                password: password_from(env, p)?,
            }))
        }
        AuthKind::Token => {
            if p.token_id.is_none() && !has_profile_secret(p) {
                return Ok(None);
            }
            token_credentials(p.token_id.clone(), profile_token_secret(p)?, "the profile")
        }
    }
}

fn profile_token_secret(p: &Profile) -> Result<Option<Secret>, CliError> {
    if let Some(s) = &p.token_secret {
        return Ok(Some(Secret::new(s.trim())));
    }
    if let Some(f) = &p.token_secret_file {
        return secret_from_file(f, "token_secret_file").map(Some);
    }
    if let Some(c) = &p.token_secret_command {
        return secret_from_command(c, "token_secret_command").map(Some);
    }
    Ok(None)
}

fn password_from(env: &Env, p: &Profile) -> Result<Option<Secret>, CliError> {
    if let Some(pw) = env_get(env, "PROXMOX_PASSWORD") {
        return Ok(Some(Secret::new(pw)));
    }
    if let Some(f) = &p.password_file {
        return secret_from_file(f, "password_file").map(Some);
    }
    if let Some(c) = &p.password_command {
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

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("soon").is_err());
    }
}
