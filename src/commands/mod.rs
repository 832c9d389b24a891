//! Commands: orchestration only, one folder (or file) per noun. A verb resolves its targets
//! (`targets`), calls endpoint functions (`api`), waits for tasks (`task`) and hands rows or
//! results to `output`. `kit` holds the shapes that repeat.

mod access;
mod api;
mod apply;
mod backup;
mod cluster;
mod config;
mod firewall;
mod graph;
mod guest;
pub(crate) mod ha;
mod kit;
mod man;
mod nodes;
mod pool;
mod storage;
mod tasks;
mod watch;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::api::{Auth, Client, ClientOptions, Secret, TlsMode};
use crate::cli::{Cli, Command, GlobalArgs};
use crate::config::{Credentials, Env, Settings};
use crate::error::CliError;
use crate::output::{prompt, Output, Term};

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
        let login = match &self.settings.credentials {
            Some(Credentials::Token { id, .. }) => id.as_str(),
            Some(Credentials::Password { user, .. }) => user.as_str(),
            None => "",
        };
        let hints = crate::targets::hints::file(&self.env, &base, login);
        Ok(self
            .client_for(base, auth, self.settings.tls.clone())?
            .with_hints(hints))
    }

    pub fn client_for(&self, base: String, auth: Auth, tls: TlsMode) -> anyhow::Result<Client> {
        if matches!(tls, TlsMode::Insecure) {
            self.out.warn("TLS verification is off (--insecure): the connection can be intercepted; pin the certificate with --fingerprint instead");
        }
        let mut opts = ClientOptions::new(base, auth);
        opts.tls = tls;
        opts.ca_file = self.settings.ca_file.clone();
        opts.request_timeout = self.settings.timeout;
        opts.rate = self.settings.max_rps;
        let mut client = Client::new(opts)?;
        if self.flags.verbose {
            let out = self.out.clone();
            client = client.with_trace(Arc::new(move |line: &str| {
                out.notice(&format!("http: {line}"))
            }));
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
                        prompt::ask_secret(&format!("Password for {user}: "))
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
                    Some(Arc::new(move || {
                        prompt::ask_secret(&format!("One-time code for {user}: ")).ok()
                    }))
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

    /// The node a node-scoped command uses: the flag, else the profile's.
    pub fn node_or(&self, flag: Option<&str>) -> Option<String> {
        flag.map(str::to_string)
            .or_else(|| self.settings.node.clone())
    }

    /// How long to wait for a task: `--wait-timeout`, else the profile's, else `default`.
    pub fn wait_limit(
        &self,
        flag: Option<&str>,
        default: Duration,
    ) -> Result<Option<Duration>, CliError> {
        crate::task::wait_limit(&self.settings, flag, default)
    }

    /// Ask before a destructive or wide action (see `prompt::confirm`).
    pub fn confirm(&self, question: &str, items: &[String], yes: bool) -> anyhow::Result<()> {
        prompt::confirm(self.term, question, items, yes)
    }
}

pub async fn run(cli: Cli, env: Env, term: Term) -> anyhow::Result<()> {
    // Commands that need no server, and some that must work with a broken configuration.
    if let Command::Completions { shell } = &cli.command {
        // Generated into memory, then written: a closed stdout (`| head`) is an error to end on
        // quietly, not a panic inside the generator.
        let mut cmd = crate::cli::command();
        let mut script = Vec::new();
        clap_complete::generate(*shell, &mut cmd, "pvectl", &mut script);
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(&script)?;
        stdout.flush()?;
        return Ok(());
    }
    if let Command::Man(args) = &cli.command {
        return man::run(args, cli.global.quiet);
    }
    if let Command::Config(c) = &cli.command {
        if let Some(result) = config::run_without_settings(c, &cli.global, &env, term).await {
            return result;
        }
    }
    // `access bootstrap` names the profile it writes with --profile and --user, as `config init`.
    if let Command::Access(crate::cli::AccessCmd::Bootstrap(a)) = &cli.command {
        return access::bootstrap::run(&cli.global, a, &env, term).await;
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
        Command::Vm(c) => guest::run_vm(&ctx, c).await,
        Command::Ct(c) => guest::run_ct(&ctx, c).await,
        Command::Storage(c) => storage::run(&ctx, c).await,
        Command::Tasks(c) => tasks::run(&ctx, c).await,
        Command::Backup(c) => backup::run(&ctx, *c).await,
        Command::Access(c) => access::run(&ctx, c).await,
        Command::Firewall(c) => firewall::run(&ctx, c).await,
        Command::Ha(c) => ha::run(&ctx, c).await,
        Command::Pool(c) => pool::run(&ctx, c).await,
        Command::Api(c) => api::run(&ctx, c).await,
        Command::Apply(a) => apply::run(&ctx, a).await,
        Command::Config(c) => config::run(&ctx, c).await,
        Command::Completions { .. } | Command::Man(_) => Ok(()),
    }
}
