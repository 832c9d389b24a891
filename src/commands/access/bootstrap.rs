//! `access bootstrap --user pvectl@pve --role PVEVMAdmin [--path /] [--profile NAME]`: a user (if
//! absent), a privilege-separated token, the role on the path for both, and a profile holding the
//! token's secret in the configuration file (mode 0600). Everything is read first and only what
//! is missing or wrong is changed, so it is safe to run again; each step says what it did.
//!
//! Like `config init`, it writes a profile: the global `--profile` names it and the global `--user`
//! names the user the token is for. pvectl logs in for it with `--admin USER` (a password), or as
//! the environment or the default profile say.

use crate::api::access::{self, AclChange};
use crate::api::{cluster, ApiError, Auth, Client, Secret, TlsMode};
use crate::cli::{BootstrapArgs, GlobalArgs};
use crate::commands::Ctx;
use crate::config::{self, Env, Profile};
use crate::error::CliError;
use crate::output::progress::Progress;
use crate::output::{Output, Term};
use crate::task::{report, ActionResult};

fn step(what: &str, action: &str) -> ActionResult {
    let mut r = ActionResult::new(what.to_string(), String::new(), action);
    r.name = Some(what.to_string());
    r
}

pub async fn run(
    global: &GlobalArgs,
    args: &BootstrapArgs,
    env: &Env,
    term: Term,
) -> anyhow::Result<()> {
    let Some(userid) = global.user.clone() else {
        return Err(CliError::usage(
            "name the user the token is for: --user pvectl@pve (and log in as an administrator with --admin root@pam, the environment or the default profile)",
        )
        .into());
    };
    super::userid(&userid)?;
    if !access::valid_token_name(&args.token_name) {
        return Err(CliError::usage(format!(
            "--token-name '{}' must start with a letter and hold only letters, digits, '.', '-' and '_'",
            args.token_name
        ))
        .into());
    }
    if !args.path.starts_with('/') {
        return Err(CliError::usage(format!(
            "--path '{}' must start with '/' (/, /vms, /pool/NAME…)",
            args.path
        ))
        .into());
    }
    let profile_name = global.profile.clone().unwrap_or_else(|| {
        userid
            .rsplit_once('@')
            .map_or(userid.as_str(), |(n, _)| n)
            .to_string()
    });
    // The administrator's login: everything but --user and --profile, which name the new profile.
    let mut admin_flags = global.clone();
    admin_flags.user = args.admin.clone();
    admin_flags.profile = None;
    let settings = config::resolve(&admin_flags, env)?;
    let no_color = env.get("NO_COLOR").is_some_and(|v| !v.is_empty());
    let out = Output::new(global, settings.output, term, no_color);
    for w in &settings.warnings {
        out.warn(w);
    }
    let ctx = Ctx {
        settings,
        out,
        flags: admin_flags,
        env: env.clone(),
        term,
    };
    let token_id = format!("{userid}!{}", args.token_name);
    Bootstrap {
        ctx: &ctx,
        userid: &userid,
        token_id: &token_id,
        profile_name: &profile_name,
        args,
        global,
    }
    .run()
    .await
}

struct Bootstrap<'a> {
    ctx: &'a Ctx,
    userid: &'a str,
    token_id: &'a str,
    profile_name: &'a str,
    args: &'a BootstrapArgs,
    global: &'a GlobalArgs,
}

impl Bootstrap<'_> {
    /// A client that logs in with the token's secret (same server, same trust).
    fn token_client(&self, secret: &Secret) -> anyhow::Result<Client> {
        let base = self
            .ctx
            .settings
            .base_url
            .clone()
            .ok_or_else(|| CliError::config("no Proxmox host configured"))?;
        self.ctx.client_for(
            base,
            Auth::Token {
                id: self.token_id.to_string(),
                secret: secret.clone(),
            },
            self.ctx.settings.tls.clone(),
        )
    }

    /// Whether the secret logs in.
    async fn works(&self, secret: &Secret) -> anyhow::Result<bool> {
        let client = self.token_client(secret)?;
        match cluster::version(&client).await {
            Ok(_) => Ok(true),
            Err(ApiError::Auth { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn run(&self) -> anyhow::Result<()> {
        let ctx = self.ctx;
        let client = ctx.client()?;
        let (user, name) = (self.userid, self.args.token_name.as_str());
        let role = &self.args.role;
        let path = &self.args.path;

        // Read everything first: nothing is changed when something is wrong.
        let roles = access::roles(&client).await?;
        if !roles.iter().any(|r| &r.roleid == role) {
            let mut known: Vec<&str> = roles.iter().map(|r| r.roleid.as_str()).collect();
            known.sort();
            return Err(CliError::usage(format!(
                "PVE has no role '{role}'; roles: {}",
                known.join(", ")
            ))
            .into());
        }
        let user_exists = match access::user(&client, user).await {
            Ok(_) => true,
            Err(ApiError::NotFound { .. }) => false,
            Err(e) => return Err(e.into()),
        };
        let token = if user_exists {
            access::tokens(&client, user)
                .await?
                .into_iter()
                .find(|t| t.get("tokenid").and_then(|v| v.as_str()) == Some(name))
        } else {
            None
        };
        let (path_of_file, mut file, _) = config::load_configured(self.global, &ctx.env)?;
        let existing = file.profiles.get(self.profile_name).cloned();
        if let Some(p) = &existing {
            let same = p.token_id.as_deref() == Some(self.token_id)
                && p.auth_kind() == config::AuthKind::Token;
            if !same {
                let who = p
                    .token_id
                    .clone()
                    .or_else(|| p.user.clone())
                    .unwrap_or_else(|| "someone else".into());
                return Err(CliError::config(format!(
                    "profile '{}' already exists and logs in as {who}: name another with --profile",
                    self.profile_name
                ))
                .into());
            }
        }
        // The secret the profile holds, if it still logs in.
        let mut secret: Option<Secret> = None;
        if token.is_some() {
            if let Some(s) = existing.as_ref().and_then(|p| p.token_secret.clone()) {
                let s = Secret::new(s);
                if self.works(&s).await? {
                    secret = Some(s);
                }
            }
            if secret.is_none() && !self.args.regenerate {
                return Err(CliError::config(format!(
                    "token {} exists, but profile '{}' holds no secret that logs in with it (PVE shows a secret only when it makes it): add --regenerate to give the token a new secret (whatever uses the old one stops working), or delete the token (`pvectl access tokens delete '{}'`)",
                    self.token_id, self.profile_name, self.token_id
                ))
                .into());
            }
        }
        let acl = access::acl(&client).await?;
        let has = |kind: &str, who: &str| {
            acl.iter().any(|e| {
                &e.path == path
                    && e.kind == kind
                    && e.ugid == who
                    && &e.roleid == role
                    && e.propagate
            })
        };

        // Then change what is missing, saying what was done.
        let mut done = vec![];
        if user_exists {
            done.push(step(user, "user").done("already exists"));
        } else {
            let params = crate::api::Params::new()
                .set("userid", user)
                .set("comment", "pvectl (access bootstrap)");
            access::create_user(&client, &params).await?;
            done.push(step(user, "user").done("created"));
        }
        match (&token, &secret) {
            (None, _) => {
                let params = crate::api::Params::new()
                    .flag("privsep", true)
                    .set("comment", "pvectl");
                let t = access::create_token(&client, user, name, &params).await?;
                secret = Some(t.value);
                done.push(step(self.token_id, "token").done("created, privilege-separated"));
            }
            (Some(t), Some(_)) => {
                let privsep = t.get("privsep").is_none_or(crate::api::de::truthy);
                if !privsep {
                    access::update_token(
                        &client,
                        user,
                        name,
                        &crate::api::Params::new().flag("privsep", true),
                    )
                    .await?;
                    done.push(step(self.token_id, "token").done(
                        "privilege separation turned on (it had all of its user's privileges)",
                    ));
                } else {
                    done.push(
                        step(self.token_id, "token").done("already exists, privilege-separated"),
                    );
                }
            }
            (Some(t), None) => {
                let privsep = t.get("privsep").is_none_or(crate::api::de::truthy);
                if !privsep {
                    access::update_token(
                        &client,
                        user,
                        name,
                        &crate::api::Params::new().flag("privsep", true),
                    )
                    .await?;
                }
                let t = access::regenerate_token(&client, user, name).await?;
                secret = Some(t.value);
                done.push(step(self.token_id, "token").done("given a new secret (--regenerate)"));
            }
        }
        let mut change = AclChange {
            path: path.clone(),
            roles: vec![role.clone()],
            ..AclChange::default()
        };
        if !has("user", user) {
            change.users.push(user.to_string());
        }
        if !has("token", self.token_id) {
            change.tokens.push(self.token_id.to_string());
        }
        let label = format!("{role} on {path}");
        if change.users.is_empty() && change.tokens.is_empty() {
            done.push(step(&label, "acl").done("already granted to the user and the token"));
        } else {
            let whom = change
                .users
                .iter()
                .chain(change.tokens.iter())
                .cloned()
                .collect::<Vec<_>>()
                .join(" and ");
            access::grant(&client, &change).await?;
            done.push(step(&label, "acl").done(&format!("granted to {whom}")));
        }

        // The profile: the same server and trust as this login, the token and its secret.
        let secret = secret.ok_or_else(|| CliError::other("no token secret to store"))?;
        let s = &ctx.settings;
        let mut p: Profile = existing.clone().unwrap_or_default();
        p.host = s.base_url.clone();
        p.auth = None;
        p.user = None;
        p.password_file = None;
        p.password_command = None;
        p.token_id = Some(self.token_id.to_string());
        p.token_secret = Some(secret.expose().to_string());
        p.token_secret_file = None;
        p.token_secret_command = None;
        p.fingerprint = s.fingerprint_text.clone();
        p.insecure = matches!(s.tls, TlsMode::Insecure).then_some(true);
        if let Some(ca) = &s.ca_file {
            p.ca_file = Some(ca.clone());
        }
        let unchanged = existing.as_ref().is_some_and(|e| {
            e.host == p.host
                && e.token_secret == p.token_secret
                && e.fingerprint == p.fingerprint
                && e.insecure == p.insecure
        });
        let shown = self.profile_name.to_string();
        if unchanged {
            done.push(step(&shown, "profile").done("already holds the token"));
        } else {
            file.profiles.insert(self.profile_name.to_string(), p);
            if file.default_profile.is_none() && file.profiles.len() == 1 {
                file.default_profile = Some(self.profile_name.to_string());
            }
            config::write_file(&path_of_file, &file)?;
            done.push(step(&shown, "profile").done(&format!(
                "written to {} (mode 0600, with the token's secret)",
                path_of_file.display()
            )));
        }
        if !self.works(&secret).await? {
            done.push(step(self.token_id, "check").fail(
                crate::error::ErrorKind::Auth,
                "the token does not log in yet: try again in a moment",
            ));
        } else {
            done.push(step(self.token_id, "check").done(&format!(
                "OK: it logs in; use it with `pvectl -P {} …`",
                self.profile_name
            )));
        }
        report(&ctx.out, &Progress::new(&ctx.out), &done, false)
    }
}
