//! The configuration file: its profiles as written on disk, where it is, reading it (with a
//! warning when a file holding a secret is readable by others) and writing it with mode 0600.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{env_get, Env};
use crate::cli::{GlobalArgs, OutputFormat};
use crate::error::CliError;

/// The configuration file as written on disk.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_profile: Option<String>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

#[derive(Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_secret_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_secret_command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<DurationValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_timeout: Option<DurationValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_requests_per_second: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<OutputFormat>,
    /// Let `ct exec` run `pct exec` on the container's node over SSH.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<bool>,
    /// The login `vm ssh` and `ct ssh` use when neither `-l` nor cloud-init's `ciuser` names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_user: Option<String>,
    /// The identity file (`ssh -i`) for guests and nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_key: Option<PathBuf>,
    /// The login on the nodes for `ct exec` (default root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_ssh_user: Option<String>,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("host", &self.host)
            .field("auth", &self.auth)
            .field("token_id", &self.token_id)
            .field(
                "token_secret",
                &self.token_secret.as_ref().map(|_| "(redacted)"),
            )
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthKind {
    Token,
    Password,
}

/// A duration written as seconds (`60`) or with a unit (`"90s"`, `"10m"`).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum DurationValue {
    Seconds(u64),
    Text(String),
}

/// Read by hand, so that a wrong value says what is expected (serde's untagged enums only say
/// that nothing matched, naming the Rust type).
impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Seconds;
        impl serde::de::Visitor<'_> for Seconds {
            type Value = DurationValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("seconds (e.g. 90) or a duration (e.g. \"10m\")")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<DurationValue, E> {
                Ok(DurationValue::Seconds(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<DurationValue, E> {
                u64::try_from(v).map(DurationValue::Seconds).map_err(|_| {
                    E::custom(format!(
                        "{v} is negative: give seconds (e.g. 90) or a duration (e.g. \"10m\")"
                    ))
                })
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DurationValue, E> {
                Ok(DurationValue::Text(v.to_string()))
            }
        }
        d.deserialize_any(Seconds)
    }
}

impl DurationValue {
    pub fn to_duration(&self, key: &str) -> Result<Duration, CliError> {
        match self {
            DurationValue::Seconds(s) => Ok(Duration::from_secs(*s)),
            DurationValue::Text(t) => {
                parse_duration(t).map_err(|e| CliError::config(format!("{key}: {e}")))
            }
        }
    }
}

/// `90s`, `10m`, `1h30m`, `0`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(t)
        .map_err(|_| format!("'{text}' is not a duration: use e.g. 90s, 10m, 1h or 0"))
}

pub fn config_path(flags: &GlobalArgs, env: &Env) -> PathBuf {
    config_source(flags, env).0
}

/// `$XDG_CONFIG_HOME/pvectl`, else `~/.config/pvectl`: on every system, macOS included (as gh and
/// kubectl keep theirs; not the platform's `Library/Application Support`).
pub fn config_dir(env: &Env) -> PathBuf {
    xdg_dir(env, "XDG_CONFIG_HOME", ".config").join("pvectl")
}

/// An XDG base directory: the variable when it holds an absolute path (the specification says to
/// ignore a relative one), else `~/<fallback>`.
pub fn xdg_dir(env: &Env, var: &str, fallback: &str) -> PathBuf {
    match env_get(env, var).map(PathBuf::from) {
        Some(p) if p.is_absolute() => p,
        _ => dirs::home_dir()
            .unwrap_or_else(|| PathBuf::from("."))
            .join(fallback),
    }
}

/// The configuration file, and what named it (`None` for the default location).
pub(super) fn config_source(flags: &GlobalArgs, env: &Env) -> (PathBuf, Option<&'static str>) {
    if let Some(p) = &flags.config {
        return (p.clone(), Some("--config"));
    }
    if let Some(p) = env.get("PVECTL_CONFIG").filter(|p| !p.is_empty()) {
        return (PathBuf::from(p), Some("PVECTL_CONFIG"));
    }
    (config_dir(env).join("config.toml"), None)
}

/// Read the configuration file the command line or environment names, or the default one. A
/// missing default file is an empty configuration; a missing file that was named is an error.
pub fn load_configured(
    flags: &GlobalArgs,
    env: &Env,
) -> Result<(PathBuf, ConfigFile, Vec<String>), CliError> {
    let (path, named_by) = config_source(flags, env);
    if let Some(by) = named_by {
        if !path.exists() {
            return Err(CliError::config(format!(
                "the configuration file {} ({by}) does not exist: check the path, or create it with `pvectl config init`",
                path.display()
            )));
        }
    }
    let (file, warnings) = load_file(&path)?;
    Ok((path, file, warnings))
}

/// Read the file; a missing file is an empty configuration.
pub fn load_file(path: &Path) -> Result<(ConfigFile, Vec<String>), CliError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((ConfigFile::default(), vec![]))
        }
        Err(e) => {
            return Err(CliError::config(format!(
                "cannot read the configuration file {}: {e}",
                path.display()
            )))
        }
    };
    let file: ConfigFile = toml::from_str(&text).map_err(|e| {
        let detail = toml_error_line(&e, &text);
        CliError::config(format!(
            "invalid configuration file {}: {detail}",
            path.display()
        ))
    })?;
    let mut warnings = vec![];
    let holds_secret = file.profiles.values().any(|p| p.token_secret.is_some());
    if holds_secret && group_or_other_readable(path) {
        warnings.push(format!(
            "{} holds a token secret and is readable by group or others: run chmod 600 {}",
            path.display(),
            path.display()
        ));
    }
    // The files the profiles keep their secrets in deserve the same care.
    for p in file.profiles.values() {
        for f in [&p.token_secret_file, &p.password_file]
            .into_iter()
            .flatten()
        {
            let f = expand_home(f);
            if f.exists() && group_or_other_readable(&f) {
                warnings.push(format!(
                    "{} holds a secret and is readable by group or others: run chmod 600 {}",
                    f.display(),
                    f.display()
                ));
            }
        }
    }
    Ok((file, warnings))
}

fn toml_error_line(e: &toml::de::Error, text: &str) -> String {
    let msg = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {msg}")
        }
        None => msg,
    }
}

#[cfg(unix)]
fn group_or_other_readable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o077 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn group_or_other_readable(_: &Path) -> bool {
    false
}

/// Which profile is selected, and the profile itself (an unknown name is an error).
pub fn select_profile<'a>(
    file: &'a ConfigFile,
    flags: &GlobalArgs,
    env: &Env,
) -> Result<(Option<String>, Option<&'a Profile>), CliError> {
    select_profile_named(file, flags, env)
}

/// What chose the profile: `--profile`, `PVECTL_PROFILE`, `default_profile`, the only profile,
/// or the one named `default`.
pub fn profile_choice(file: &ConfigFile, flags: &GlobalArgs, env: &Env) -> &'static str {
    if flags.profile.is_some() {
        "flag --profile"
    } else if env_get(env, "PVECTL_PROFILE").is_some() {
        "env PVECTL_PROFILE"
    } else if file.default_profile.is_some() {
        "default_profile"
    } else if file.profiles.len() == 1 {
        "the only profile"
    } else {
        "named default"
    }
}

fn select_profile_named<'a>(
    file: &'a ConfigFile,
    flags: &GlobalArgs,
    env: &Env,
) -> Result<(Option<String>, Option<&'a Profile>), CliError> {
    let explicit = flags
        .profile
        .clone()
        .or_else(|| env_get(env, "PVECTL_PROFILE").map(str::to_string));
    let name = explicit.clone().or_else(|| file.default_profile.clone());
    match name {
        None => {
            // A single profile needs no default_profile.
            if file.profiles.len() == 1 {
                let (n, p) = file
                    .profiles
                    .iter()
                    .next()
                    .map(|(n, p)| (n.clone(), p))
                    .unzip();
                return Ok((n, p));
            }
            Ok((
                file.profiles.get("default").map(|_| "default".to_string()),
                file.profiles.get("default"),
            ))
        }
        Some(n) => match file.profiles.get(&n) {
            Some(p) => Ok((Some(n), Some(p))),
            None => {
                let known: Vec<&str> = file.profiles.keys().map(String::as_str).collect();
                let list = if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                };
                Err(CliError::config(format!(
                    "unknown profile '{n}' (profiles: {list}); create it with `pvectl -P {n} config init`"
                )))
            }
        },
    }
}

/// A leading `~/` in a path of the configuration file means the home directory, as in a shell.
pub fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), dirs::home_dir()) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => path.to_path_buf(),
    }
}

impl Profile {
    /// How the profile logs in: its `auth`; without one, a profile that names a user but no
    /// token logs in with the password.
    pub fn auth_kind(&self) -> AuthKind {
        let password_profile =
            self.token_id.is_none() && !has_profile_secret(self) && self.user.is_some();
        self.auth.unwrap_or(if password_profile {
            AuthKind::Password
        } else {
            AuthKind::Token
        })
    }
}

pub(super) fn has_profile_secret(p: &Profile) -> bool {
    p.token_secret.is_some() || p.token_secret_file.is_some() || p.token_secret_command.is_some()
}

/// Create (or truncate) a file only its owner can read: mode 0600 from the start.
pub fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// `$XDG_CACHE_HOME/pvectl`, else `~/.cache/pvectl`: what pvectl keeps between runs and can
/// always fetch again (completion's answers, where guests were last seen).
pub fn cache_dir(env: &Env) -> PathBuf {
    xdg_dir(env, "XDG_CACHE_HOME", ".cache").join("pvectl")
}

/// The name part that tells one server and login's cache files from another's: a digest, so
/// that nothing of the host or the login shows in a file name.
pub fn cache_key(base_url: &str, login: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{base_url}\n{login}").as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Replace a cache file at once (a reader sees the old file or the new, never half), readable by
/// its owner only, in a directory only its owner can enter.
pub fn write_cache_file(path: &Path, body: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(dir)?;
    }
    // A name no other process picks, and a file that must not exist yet (never one someone
    // else put there, nor a link to one).
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.{nanos}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut file = opts.open(&tmp)?;
    file.write_all(body)
        .and_then(|()| std::fs::rename(&tmp, path))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
}

/// Write the configuration with mode 0600 (it may hold a secret), through a temporary file.
pub fn write_file(path: &Path, file: &ConfigFile) -> anyhow::Result<()> {
    let text = toml::to_string_pretty(file)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::config(format!("cannot create {}: {e}", dir.display())))?;
    }
    let tmp = path.with_extension("toml.tmp");
    {
        let mut f = create_private(&tmp)
            .map_err(|e| CliError::config(format!("cannot write {}: {e}", tmp.display())))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&tmp, path)
        .map_err(|e| CliError::config(format!("cannot write {}: {e}", path.display())))?;
    Ok(())
}
