//! `config init|show|profiles|use|current|set|delete-profile`.

use serde_json::{json, Value};

use super::Ctx;
use crate::api::{cluster, tls, ApiError, Auth, Client, ClientOptions, Secret, TlsMode};
use crate::cli::{ConfigCmd, GlobalArgs, InitArgs, OutputFormat};
use crate::config::{self, write_file, AuthKind, Credentials, Env, Profile};
use crate::error::CliError;
use crate::output::{col, prompt, Column, Kind, Output, Term};

/// The output layer for the commands that run before settings exist.
fn output(flags: &GlobalArgs, env: &Env, term: Term) -> Output {
    let no_color = env.get("NO_COLOR").is_some_and(|v| !v.is_empty());
    Output::new(
        flags,
        flags.output.unwrap_or(OutputFormat::Table),
        term,
        no_color,
    )
}

/// `profiles`, `use` and `init` work from the file alone (no host or credentials needed yet);
/// `None` means the command needs resolved settings.
pub async fn run_without_settings(
    cmd: &ConfigCmd,
    flags: &GlobalArgs,
    env: &Env,
    term: Term,
) -> Option<anyhow::Result<()>> {
    match cmd {
        ConfigCmd::Profiles => Some(profiles(flags, env, term)),
        ConfigCmd::Use { name } => Some(use_profile(flags, env, term, name)),
        ConfigCmd::Init(args) => Some(init(flags, env, term, args).await),
        ConfigCmd::Current => Some(current(flags, env, term)),
        ConfigCmd::Set { key, value } => Some(set(flags, env, term, key, value)),
        ConfigCmd::DeleteProfile { name, yes } => {
            Some(delete_profile(flags, env, term, name, *yes))
        }
        ConfigCmd::Show => None,
    }
}

pub async fn run(ctx: &Ctx, cmd: ConfigCmd) -> anyhow::Result<()> {
    match cmd {
        ConfigCmd::Show => show(ctx),
        // Handled before settings are resolved.
        _ => Ok(()),
    }
}

fn show(ctx: &Ctx) -> anyhow::Result<()> {
    let s = &ctx.settings;
    let (auth, token_id, user) = match &s.credentials {
        Some(Credentials::Token { id, .. }) => ("token", Some(id.clone()), None),
        Some(Credentials::Password { user, .. }) => ("password", None, Some(user.clone())),
        None => ("none", None, None),
    };
    let tls = match &s.tls {
        TlsMode::Verify => "verify",
        TlsMode::Pinned(_) => "pinned",
        TlsMode::Insecure => "insecure",
    };
    let value = json!({
        "config_file": s.config_path.display().to_string(),
        "profile": s.profile_name,
        "host": s.base_url,
        "auth": auth,
        "token_id": token_id,
        "token_secret": matches!(s.credentials, Some(Credentials::Token { .. })).then_some("(redacted)"),
        "user": user,
        "tls": tls,
        "fingerprint": s.fingerprint_text,
        "ca_file": s.ca_file.as_ref().map(|p| p.display().to_string()),
        "node": s.node,
        "timeout_s": s.timeout.as_secs(),
        "wait_timeout_s": s.wait_timeout.map(|d| d.as_secs()),
        "parallel": s.parallel,
        "max_requests_per_second": s.max_rps,
        "output": s.output,
        "ssh": s.ssh.nodes.then_some(true),
        "ssh_user": s.ssh.user,
        "ssh_key": s.ssh.key.as_ref().map(|p| p.display().to_string()),
        "node_ssh_user": (s.ssh.node_user != "root").then_some(&s.ssh.node_user),
    });
    // The keys in the order above, without the unset ones; each with where it came from (the
    // credentials' keys share the source of `auth`).
    let set: Vec<(&String, &Value)> = value
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, v)| !v.is_null())
        .collect();
    let origin_of = |key: &str| {
        let key = match key {
            "token_id" | "token_secret" | "user" => "auth",
            k => k,
        };
        s.origins.get(key).map(ToString::to_string)
    };
    if ctx.out.format == OutputFormat::Json {
        let mut object: serde_json::Map<String, Value> = set
            .iter()
            .map(|(k, v)| ((*k).clone(), (*v).clone()))
            .collect();
        let sources: serde_json::Map<String, Value> = set
            .iter()
            .filter_map(|(k, _)| origin_of(k).map(|o| ((*k).clone(), Value::String(o))))
            .collect();
        object.insert("sources".into(), Value::Object(sources));
        return ctx.out.json(&object);
    }
    let rows: Vec<Value> = set
        .iter()
        .map(|(k, v)| json!({ "key": k, "value": v, "source": origin_of(k) }))
        .collect();
    ctx.out.list(&SHOW_COLUMNS, &rows)
}

const SHOW_COLUMNS: [Column; 3] = [
    col("key", "KEY", Kind::Text),
    col("value", "VALUE", Kind::Text),
    col("source", "SOURCE", Kind::Text),
];

/// `config current`: the profile this command line uses, as `kubectl config current-context`.
fn current(flags: &GlobalArgs, env: &Env, term: Term) -> anyhow::Result<()> {
    let (path, file, _) = config::load_configured(flags, env)?;
    let (name, _) = config::select_profile(&file, flags, env)?;
    let Some(name) = name else {
        return Err(CliError::config(format!(
            "no profile in use: {} has no default_profile and no profile named default; pick one with `pvectl config use NAME` or create one with `pvectl config init`",
            path.display()
        ))
        .into());
    };
    let out = output(flags, env, term);
    if out.format == OutputFormat::Json {
        let how = config::profile_choice(&file, flags, env);
        return out.json(&json!({ "profile": name, "chosen_by": how }));
    }
    out.lines([name])
}

/// `config set KEY VALUE` in the profile in use (created when the file has none).
fn set(flags: &GlobalArgs, env: &Env, term: Term, key: &str, value: &str) -> anyhow::Result<()> {
    let (path, mut file, _) = config::load_configured(flags, env)?;
    // A profile named with -P or PVECTL_PROFILE is made if it is not there yet, as `init` does.
    let named = flags
        .profile
        .clone()
        .or_else(|| env.get("PVECTL_PROFILE").filter(|v| !v.is_empty()).cloned());
    let name = match named {
        Some(name) => name,
        None => config::select_profile(&file, flags, env)?
            .0
            .unwrap_or_else(|| "default".to_string()),
    };
    let profile = file.profiles.get(&name).cloned().unwrap_or_default();
    let updated = config::set_key(&profile, key, value)?;
    file.profiles.insert(name.clone(), updated);
    if file.default_profile.is_none() && file.profiles.len() == 1 {
        file.default_profile = Some(name.clone());
    }
    write_file(&path, &file)?;
    output(flags, env, term).info(&format!(
        "{key} set in profile '{name}' ({})",
        path.display()
    ));
    Ok(())
}

/// `config delete-profile NAME`: asks first, or `--yes`.
fn delete_profile(
    flags: &GlobalArgs,
    env: &Env,
    term: Term,
    name: &str,
    yes: bool,
) -> anyhow::Result<()> {
    let (path, mut file, _) = config::load_configured(flags, env)?;
    if !file.profiles.contains_key(name) {
        let known: Vec<&str> = file.profiles.keys().map(String::as_str).collect();
        return Err(CliError::config(format!(
            "unknown profile '{name}' (profiles: {})",
            if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            }
        ))
        .into());
    }
    prompt::confirm(
        term,
        &format!("Delete profile '{name}' from {}?", path.display()),
        &[],
        yes,
    )?;
    file.profiles.remove(name);
    let out = output(flags, env, term);
    if file.default_profile.as_deref() == Some(name) {
        file.default_profile = None;
        out.info(&format!(
            "'{name}' was the default profile: pick another with `pvectl config use NAME`"
        ));
    }
    write_file(&path, &file)?;
    out.info(&format!("profile '{name}' deleted from {}", path.display()));
    Ok(())
}

fn profiles(flags: &GlobalArgs, env: &Env, term: Term) -> anyhow::Result<()> {
    let (path, file, _) = config::load_configured(flags, env)?;
    // The profile this command line would use (-P, PVECTL_PROFILE, default_profile…).
    let (current, _) = config::select_profile(&file, flags, env).unwrap_or((None, None));
    let out = output(flags, env, term);
    if file.profiles.is_empty() {
        out.info(&format!(
            "no profiles in {}: create one with `pvectl config init --host HOST`",
            path.display()
        ));
        if !out.structured() {
            return Ok(());
        }
    }
    let rows: Vec<Value> = file
        .profiles
        .iter()
        .map(|(name, p)| {
            json!({
                "name": name,
                // The one this command line uses, and the one `config use` made the default.
                "selected": current.as_deref() == Some(name.as_str()),
                "default": file.default_profile.as_deref() == Some(name.as_str()),
                "host": p.host,
                "auth": p.auth_kind(),
            })
        })
        .collect();
    out.list(&PROFILE_COLUMNS, &rows)
}

const PROFILE_COLUMNS: [Column; 5] = [
    col("name", "PROFILE", Kind::Text),
    col("selected", "IN USE", Kind::Flag),
    col("default", "DEFAULT", Kind::Flag),
    col("host", "HOST", Kind::Text),
    col("auth", "AUTH", Kind::Text),
];

fn use_profile(flags: &GlobalArgs, env: &Env, term: Term, name: &str) -> anyhow::Result<()> {
    let (path, mut file, _) = config::load_configured(flags, env)?;
    if !file.profiles.contains_key(name) {
        let known: Vec<&str> = file.profiles.keys().map(String::as_str).collect();
        return Err(CliError::config(format!(
            "unknown profile '{name}' (profiles: {}); create it with `pvectl -P {name} config init`",
            if known.is_empty() { "none".into() } else { known.join(", ") }
        ))
        .into());
    }
    file.default_profile = Some(name.to_string());
    write_file(&path, &file)?;
    output(flags, env, term).info(&format!("default profile is now '{name}'"));
    Ok(())
}

async fn init(flags: &GlobalArgs, env: &Env, term: Term, args: &InitArgs) -> anyhow::Result<()> {
    let out = output(flags, env, term);
    let path = config::config_path(flags, env);
    let (mut file, _) = config::load_file(&path)?;
    let name = flags
        .profile
        .clone()
        .or_else(|| env.get("PVECTL_PROFILE").filter(|v| !v.is_empty()).cloned())
        .unwrap_or_else(|| "default".to_string());
    let mut p: Profile = file.profiles.get(&name).cloned().unwrap_or_default();
    let interactive = term.stdin_tty && term.stderr_tty;
    let envv = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();

    // Host.
    let host = match flags
        .host
        .clone()
        .or_else(|| envv("PROXMOX_HOST"))
        .or_else(|| p.host.clone())
    {
        Some(h) => h,
        None if interactive => prompt::ask_line("Proxmox host (name, IP or https URL): ")?,
        None => {
            return Err(
                CliError::config("no host given: pass --host HOST (or set PROXMOX_HOST)").into(),
            );
        }
    };
    let port = envv("PROXMOX_PORT").and_then(|p| p.parse().ok());
    let base = config::base_url(&host, port)?;
    p.host = Some(host);

    // Credentials: what to store, and what to check now.
    let auth = if let Some(user) = &flags.user {
        p.auth = Some(AuthKind::Password);
        p.user = Some(user.clone());
        p.token_id = None;
        p.token_secret = None;
        p.token_secret_file = None;
        p.token_secret_command = None;
        if let Some(f) = &args.password_file {
            p.password_file = Some(f.clone());
        }
        let password = if let Some(pw) = envv("PROXMOX_PASSWORD") {
            Secret::new(pw)
        } else if let Some(f) = &p.password_file {
            config::secret_from_file(f, "password_file")?
        } else if interactive {
            Secret::new(prompt::ask_secret(&format!("Password for {user}: "))?)
        } else {
            return Err(CliError::config(format!(
                "no password for {user}: pass --password-file PATH or set PROXMOX_PASSWORD"
            ))
            .into());
        };
        Auth::Password {
            user: user.clone(),
            password,
            otp: flags.otp.clone(),
            prompt: None,
        }
    } else {
        let (full_id, full_secret) = match flags
            .token
            .as_ref()
            .map(|t| config::split_full_token(t.expose()))
            .transpose()?
        {
            Some((id, s)) => {
                out.warn("--token puts the secret on the command line, where `ps` shows it");
                (Some(id), Some(s))
            }
            // The full token of the environment, as every other command reads it.
            None => match envv("PROXMOX_TOKEN")
                .map(|t| config::split_full_token(&t))
                .transpose()?
            {
                Some((id, s)) => (Some(id), Some(s)),
                None => (None, None),
            },
        };
        let token_id = match full_id
            .or_else(|| args.token_id.clone())
            .or_else(|| envv("PROXMOX_TOKEN_ID"))
            .or_else(|| p.token_id.clone())
        {
            Some(t) => t,
            None if interactive => prompt::ask_line("API token id (user@realm!name): ")?,
            None => {
                return Err(CliError::config(
                    "no token id given: pass --token-id USER@REALM!NAME (or set PROXMOX_TOKEN_ID), or --user root@pam for password login",
                )
                .into())
            }
        };
        if !config::valid_token_id(&token_id) {
            return Err(config::bad_token_id(&token_id).into());
        }
        let secret = if let Some(s) = full_secret {
            p.token_secret = Some(s.expose().to_string());
            p.token_secret_file = None;
            s
        } else if let Some(f) = &args.token_secret_file {
            let secret = config::secret_from_file(f, "--token-secret-file")?;
            p.token_secret_file = Some(f.clone());
            p.token_secret = None;
            secret
        } else if let Some(s) = envv("PROXMOX_TOKEN_SECRET") {
            p.token_secret = Some(s.clone());
            Secret::new(s)
        } else if let Some(s) = &p.token_secret {
            Secret::new(s.clone())
        } else if let Some(f) = &p.token_secret_file {
            config::secret_from_file(f, "token_secret_file")?
        } else if interactive {
            let s = prompt::ask_secret(&format!("Secret of token {token_id}: "))?;
            p.token_secret = Some(s.trim().to_string());
            Secret::new(s.trim())
        } else {
            return Err(CliError::config(format!(
                "no secret for token {token_id}: pass --token-secret-file PATH or set PROXMOX_TOKEN_SECRET"
            ))
            .into());
        };
        p.auth = None;
        p.token_id = Some(token_id.clone());
        Auth::Token {
            id: token_id,
            secret,
        }
    };
    if let Some(n) = &args.node {
        p.node = Some(n.clone());
    }

    // TLS: pin what the user gave, else trust on first use.
    let fingerprint = flags
        .fingerprint
        .clone()
        .or_else(|| envv("PROXMOX_FINGERPRINT"));
    let tls_mode = if let Some(fp) = fingerprint {
        let bytes = tls::parse_fingerprint(&fp).map_err(|e| CliError::config(e.to_string()))?;
        p.fingerprint = Some(tls::format_fingerprint(&bytes));
        p.insecure = None;
        TlsMode::Pinned(bytes)
    } else if flags.insecure {
        out.warn("TLS verification is off for this profile (insecure = true): pin the certificate instead when you can");
        p.insecure = Some(true);
        p.fingerprint = None;
        TlsMode::Insecure
    } else {
        match probe(&base, flags).await? {
            Probe::Trusted => {
                out.info("the server's certificate is trusted by the system roots: nothing to pin");
                p.fingerprint = None;
                TlsMode::Verify
            }
            Probe::Untrusted(fp) => {
                // Informational with --yes (-q silences it); the question needs it.
                if !flags.quiet || (!args.yes && interactive) {
                    out.notice(
                        "The server presented a certificate that is not trusted by the system roots.",
                    );
                    out.notice(&format!("SHA-256 fingerprint: {fp}"));
                    out.notice("Compare it with Node > System > Certificates in the web UI, or `pvenode cert info` on the node.");
                }
                let yes = args.yes
                    || (interactive
                        && prompt::ask_yes(
                            "Trust this certificate and pin it in the profile? [y/N] ",
                        )?);
                if !yes {
                    return Err(CliError::unreachable(
                        format!("certificate not trusted: rerun with --fingerprint {fp} (after checking it) or --yes"),
                    )
                    .into());
                }
                let bytes = tls::parse_fingerprint(&fp)?;
                p.fingerprint = Some(fp);
                TlsMode::Pinned(bytes)
            }
        }
    };

    // Check the credentials before writing anything.
    let mut opts = ClientOptions::new(base.clone(), auth);
    opts.tls = tls_mode;
    opts.ca_file = flags
        .ca_file
        .clone()
        .or_else(|| p.ca_file.as_deref().map(config::expand_home));
    if let Some(ca) = &flags.ca_file {
        p.ca_file = Some(ca.clone());
    }
    let client = Client::new(opts)?;
    let version = cluster::version(&client).await?;

    file.profiles.insert(name.clone(), p);
    if file.default_profile.is_none() {
        file.default_profile = Some(name.clone());
    }
    write_file(&path, &file)?;
    out.info(&format!(
        "profile '{name}' written to {} (server: pve-manager {})",
        path.display(),
        version.version.as_deref().unwrap_or("?")
    ));
    Ok(())
}

enum Probe {
    Trusted,
    Untrusted(String),
}

/// Connect without credentials and see whether the system roots trust the server.
async fn probe(base: &str, flags: &GlobalArgs) -> anyhow::Result<Probe> {
    let mut opts = ClientOptions::new(base.to_string(), Auth::None);
    opts.ca_file = flags.ca_file.clone();
    opts.attempts = 1;
    let client = Client::new(opts)?;
    match cluster::version(&client).await {
        Ok(_)
        | Err(ApiError::Auth { .. })
        | Err(ApiError::Forbidden { .. })
        | Err(ApiError::Decode { .. }) => Ok(Probe::Trusted),
        Err(ApiError::Tls {
            presented_fingerprint: Some(fp),
            ..
        }) => Ok(Probe::Untrusted(fp)),
        Err(e) => Err(e.into()),
    }
}
