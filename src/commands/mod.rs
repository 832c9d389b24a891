//! Commands: thin layers that resolve targets, call the client and hand rows to the output layer.

pub mod api;
pub mod backup;
pub mod cluster;
pub mod config;
pub mod guest;
pub mod nodes;
pub mod power;
pub mod provision;
pub mod storage;
pub mod tasks;

use std::sync::Arc;

use anyhow::Context as _;

use crate::api::{Auth, Client, ClientOptions, Secret, TlsMode};
use crate::cli::{Cli, Command, GlobalArgs};
use crate::config::{Credentials, Env, Settings};
use crate::error::CliError;
use crate::output::{Output, Term};

/// What every command gets: resolved settings, the output layer and the terminal.
pub struct Ctx {
    pub settings: Settings,
    pub out: Output,
    pub flags: GlobalArgs,
    pub env: Env,
    pub term: Term,
}

impl Ctx {
    /// The API client for these settings (one per process).
    pub fn client(&self) -> anyhow::Result<Client> {
        let base = self.settings.base_url.clone().ok_or_else(|| {
            CliError::config(
                "no Proxmox host configured: run `pvectl config init --host HOST`, or set PROXMOX_HOST, or pass --host",
            )
        })?;
        let auth = self.auth()?;
        self.client_for(base, auth, self.settings.tls.clone())
    }

    pub fn client_for(&self, base: String, auth: Auth, tls: TlsMode) -> anyhow::Result<Client> {
        if matches!(tls, TlsMode::Insecure) {
            self.out.warn("TLS verification is off (--insecure): the connection can be intercepted; pin the certificate with --fingerprint instead");
        }
        let mut opts = ClientOptions::new(base, auth);
        opts.tls = tls;
        opts.ca_file = self.settings.ca_file.clone();
        opts.request_timeout = self.settings.timeout;
        let mut client = Client::new(opts)?;
        if self.flags.verbose {
            client = client.with_trace(Arc::new(|line: &str| eprintln!("http: {line}")));
        }
        Ok(client)
    }

    fn auth(&self) -> anyhow::Result<Auth> {
        match &self.settings.credentials {
            None => Err(CliError::config(
                "no credentials configured: run `pvectl config init`, or set PROXMOX_TOKEN_ID and PROXMOX_TOKEN_SECRET (or PROXMOX_TOKEN), or log in with --user root@pam",
            )
            .into()),
            Some(Credentials::Token { id, secret }) => Ok(Auth::Token {
                id: id.clone(),
                secret: secret.clone(),
            }),
            Some(Credentials::Password { user, password }) => {
                let password = match password {
                    Some(p) => p.clone(),
                    None if self.term.stdin_tty => Secret::new(
                        rpassword::prompt_password(format!("Password for {user}: "))
                            .context("cannot read the password from the terminal")?,
                    ),
                    None => {
                        return Err(CliError::config(format!(
                            "no password for {user}: set PROXMOX_PASSWORD, or password_file / password_command in the profile (there is no terminal to ask on)"
                        ))
                        .into())
                    }
                };
                let otp = self.flags.otp.clone();
                let prompt: Option<crate::api::OtpPrompt> = if self.term.stdin_tty {
                    let user = user.clone();
                    Some(Arc::new(move || rpassword::prompt_password(format!("One-time code for {user}: ")).ok()))
                } else {
                    None
                };
                Ok(Auth::Password {
                    user: user.clone(),
                    password,
                    otp,
                    prompt,
                })
            }
        }
    }

    /// The node a node-scoped command uses: the flag, else the profile's, else an error.
    pub fn node_or(&self, flag: Option<&str>) -> Option<String> {
        flag.map(str::to_string)
            .or_else(|| self.settings.node.clone())
    }
}

pub async fn run(cli: Cli, env: Env, term: Term) -> anyhow::Result<()> {
    // Commands that need no server, and some that must work with a broken configuration.
    if let Command::Completions { shell } = &cli.command {
        let mut cmd = <Cli as clap::CommandFactory>::command();
        clap_complete::generate(*shell, &mut cmd, "pvectl", &mut std::io::stdout());
        return Ok(());
    }
    if let Command::Config(c) = &cli.command {
        if let Some(result) = config::run_without_settings(c, &cli.global, &env, term).await {
            return result;
        }
    }
    let settings = crate::config::resolve(&cli.global, &env)?;
    let no_color = env.get("NO_COLOR").is_some_and(|v| !v.is_empty());
    let out = Output::new(&cli.global, settings.output, term, no_color);
    for w in &settings.warnings {
        out.warn(w);
    }
    let ctx = Ctx {
        settings,
        out,
        flags: cli.global.clone(),
        env,
        term,
    };
    match cli.command {
        Command::Version => cluster::version(&ctx).await,
        Command::Cluster(c) => cluster::run(&ctx, c).await,
        Command::Nodes(c) => nodes::run(&ctx, c).await,
        Command::Vm(c) => guest::run(&ctx, crate::api::GuestKind::Qemu, c).await,
        Command::Ct(c) => guest::run(&ctx, crate::api::GuestKind::Lxc, c).await,
        Command::Storage(c) => storage::run(&ctx, c).await,
        Command::Tasks(c) => tasks::run(&ctx, c).await,
        Command::Backup(c) => backup::run(&ctx, *c).await,
        Command::Api(c) => api::run(&ctx, c).await,
        Command::Config(c) => config::run(&ctx, c).await,
        Command::Completions { .. } => Ok(()),
    }
}

/// Ask before a destructive or wide action: on a terminal a y/N question (after the items it
/// concerns); without one, `--yes` is required and nothing happens without it (exit 2).
pub fn confirm(ctx: &Ctx, question: &str, items: &[String], yes: bool) -> anyhow::Result<()> {
    use std::io::{BufRead, Write};
    if yes {
        return Ok(());
    }
    if !(ctx.term.stdin_tty && ctx.term.stderr_tty) {
        // After `error: ` the question reads on in lower case.
        let mut what = question.trim_end_matches('?').to_string();
        if let Some(first) = what.get(..1) {
            what = first.to_lowercase() + &what[1..];
        }
        return Err(CliError::usage(format!(
            "{what}: needs confirmation, add --yes (there is no terminal to ask on); nothing was done"
        ))
        .into());
    }
    for item in items {
        eprintln!("  {item}");
    }
    eprint!("{}? [y/N] ", question.trim_end_matches('?'));
    std::io::stderr().flush()?;
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line)? == 0 {
        // Ctrl-D echoes no newline: end the question's line before the error.
        eprintln!();
    }
    if matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(CliError::usage("cancelled: nothing was done").into())
    }
}
