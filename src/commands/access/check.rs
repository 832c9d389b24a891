//! `access whoami` (the login and its effective permissions) and `access check PRIVILEGE PATH`
//! (exit 0 when the login holds it, 4 when not, with the grant that would give it).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::roles::check_privileges;
use super::Ctx;
use crate::api::permissions::Need;
use crate::api::refusal::Login;
use crate::api::{access, Client};
use crate::cli::{CheckArgs, OutputFormat};
use crate::error::{self, CliError, ErrorKind, Reported};
use crate::output::{col, Column, Kind};

const COLUMNS: [Column; 3] = [
    col("path", "PATH", Kind::Text),
    col("privileges", "PRIVILEGES", Kind::Text),
    col("this_path_only", "ON THIS PATH ONLY", Kind::Text),
];

/// The login of the settings, or the configuration error that says there is none.
pub fn login(client: &Client) -> Result<Login, CliError> {
    client
        .who()
        .ok_or_else(|| CliError::config("no credentials configured"))
}

/// Whether the token separates its privileges, when the login may read that.
pub async fn privsep(client: &Client, login: &Login) -> Option<bool> {
    let (user, name) = login.token.as_deref()?.split_once('!')?;
    access::token(client, user, name)
        .await
        .ok()
        .map(|t| t.privsep)
}

/// `ops@pve!ci: API token of ops@pve, privilege-separated`.
fn who_line(login: &Login, privsep: Option<bool>) -> String {
    match &login.token {
        None => format!("{}: user (password login)", login.authid),
        Some(t) => format!(
            "{t}: API token of {}, {}",
            login.user,
            match privsep {
                Some(true) => "privilege-separated (only its own ACLs count, within its user's)",
                Some(false) => "not privilege-separated (it has its user's privileges)",
                None => "privilege separation unknown (the token may not read its own settings)",
            }
        ),
    }
}

pub async fn whoami(ctx: &Ctx) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let login = login(&client)?;
    let privsep = privsep(&client, &login).await;
    let perms = access::permissions(&client, None, None).await?;
    if ctx.out.format == OutputFormat::Json {
        return ctx.out.json(&json!({
            "authid": login.authid,
            "type": if login.token.is_some() { "token" } else { "user" },
            "user": login.user,
            "privsep": privsep,
            "permissions": perms,
        }));
    }
    let all: Vec<String> = access::roles(&client)
        .await
        .map(|r| access::all_privileges(&r))
        .unwrap_or_default();
    let text = |privs: Vec<&String>| -> String {
        if !all.is_empty() && privs.len() == all.len() {
            return "(all privileges)".into();
        }
        privs
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let rows: Vec<Value> = perms
        .iter()
        .map(|(path, privs)| {
            let (down, here): (Vec<_>, Vec<_>) =
                privs.iter().partition(|(_, p)| crate::api::de::truthy(p));
            json!({
                "path": path,
                "privileges": text(down.into_iter().map(|(k, _)| k).collect()),
                "this_path_only": text(here.into_iter().map(|(k, _)| k).collect()),
            })
        })
        .collect();
    // The login's line heads the table; TSV stays rows alone.
    if ctx.out.format == OutputFormat::Table {
        ctx.out.lines([who_line(&login, privsep)])?;
    }
    if rows.is_empty() {
        ctx.out
            .info("no privileges on any path: an administrator can grant some with `pvectl access acl grant`");
        return Ok(());
    }
    ctx.out.list(&COLUMNS, &rows)
}

/// End the command with an error line and a hint (both on stderr), exit code of `kind`.
pub fn fail(ctx: &Ctx, kind: ErrorKind, message: &str, hint: Option<String>) -> anyhow::Error {
    ctx.out.notice(&format!("error: {message}"));
    if let Some(h) = hint {
        ctx.out.notice(&format!("hint: {h}"));
    }
    Reported(kind).into()
}

/// What the login lacks, with the grant that gives it.
pub async fn lacking(client: &Client, login: Login, needs: &[Need]) -> String {
    let facts = client.facts(login, needs).await;
    error::privileges_advice(needs, false, &facts)
}

pub async fn check(ctx: &Ctx, a: CheckArgs) -> anyhow::Result<()> {
    if !a.path.starts_with('/') {
        return Err(CliError::usage(format!(
            "ACL path '{}' must start with '/' (/, /vms/100, /storage/local…)",
            a.path
        ))
        .into());
    }
    let client = ctx.client()?;
    let login = login(&client)?;
    let known = access::roles(&client)
        .await
        .map(|r| access::all_privileges(&r))
        .unwrap_or_default();
    check_privileges(std::slice::from_ref(&a.privilege), &known)?;
    let perms = access::permissions(&client, None, Some(&a.path)).await?;
    let held =
        login.authid == "root@pam" || access::held_at(&perms, &a.path).contains(&a.privilege);
    if ctx.out.format == OutputFormat::Json {
        let mut m = BTreeMap::new();
        m.insert("authid", json!(login.authid));
        m.insert("privilege", json!(a.privilege));
        m.insert("path", json!(a.path));
        m.insert("held", json!(held));
        ctx.out.json(&m)?;
    } else if held {
        ctx.out.lines([format!(
            "yes: {} holds {} on {}",
            login.authid, a.privilege, a.path
        )])?;
    }
    if held {
        return Ok(());
    }
    let need = Need::new(&a.path, &[a.privilege.as_str()], false);
    let hint = lacking(&client, login.clone(), std::slice::from_ref(&need)).await;
    Err(fail(
        ctx,
        ErrorKind::Auth,
        &format!("{} lacks {} on {}", login.authid, a.privilege, a.path),
        Some(hint),
    ))
}
