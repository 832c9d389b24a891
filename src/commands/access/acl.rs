//! `access acl list|grant|revoke`. A grant that is already there, or a revoke of what is not,
//! sends nothing.

use serde_json::Value;

use super::{done, result, Ctx};
use crate::api::access::{self, AclChange, AclEntry};
use crate::cli::{AclArgs, AclCmd};
use crate::error::CliError;
use crate::output::{col, Column, Kind};

const COLUMNS: [Column; 5] = [
    col("path", "PATH", Kind::Text),
    col("type", "TYPE", Kind::Text),
    col("ugid", "WHO", Kind::Text),
    col("roleid", "ROLE", Kind::Text),
    col("propagate", "PROPAGATE", Kind::Flag),
];

/// Whether an entry on `entry` applies on `path` (the path itself or one above it).
fn applies(entry: &str, path: &str) -> bool {
    entry == path || entry == "/" || path.starts_with(&format!("{}/", entry.trim_end_matches('/')))
}

pub async fn run(ctx: &Ctx, cmd: AclCmd) -> anyhow::Result<()> {
    let client = ctx.client()?;
    match cmd {
        AclCmd::List { path } => {
            let mut entries = access::acl(&client).await?;
            if let Some(p) = &path {
                entries.retain(|e| applies(&e.path, p));
            }
            entries.sort_by(|a, b| {
                (&a.path, &a.kind, &a.ugid, &a.roleid).cmp(&(&b.path, &b.kind, &b.ugid, &b.roleid))
            });
            let rows: Vec<Value> = entries
                .iter()
                .map(serde_json::to_value)
                .collect::<Result<_, _>>()?;
            ctx.out.list(&COLUMNS, &rows)
        }
        AclCmd::Grant(a) => change(ctx, &client, a, true).await,
        AclCmd::Revoke(a) => change(ctx, &client, a, false).await,
    }
}

fn list(text: &Option<String>) -> Vec<String> {
    text.iter()
        .flat_map(|t| t.split([',', ';', ' ']))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The change an `acl grant|revoke` asks for, checked.
pub fn change_of(a: &AclArgs, login_user: Option<&str>) -> Result<AclChange, CliError> {
    let c = AclChange {
        path: a.path.clone(),
        roles: list(&Some(a.role.clone())),
        users: list(&a.users),
        groups: list(&a.groups),
        tokens: list(&a.tokens),
        propagate: a.no_propagate.then_some(false),
    };
    if !c.path.starts_with('/') {
        return Err(CliError::usage(format!(
            "ACL path '{}' must start with '/' (/, /vms/100, /storage/local, /nodes/pve1, /pool/NAME…)",
            c.path
        )));
    }
    if c.users.is_empty() && c.groups.is_empty() && c.tokens.is_empty() {
        let tip = match login_user {
            Some(u) => {
                format!(" (--user logs pvectl in as {u}; to name that user here, use --users {u})")
            }
            None => String::new(),
        };
        return Err(CliError::usage(format!(
            "name who the role is for: --users, --groups or --tokens{tip}"
        )));
    }
    for u in &c.users {
        super::userid(u)?;
    }
    for t in &c.tokens {
        if access::split_token_id(t).is_none() {
            return Err(CliError::usage(format!(
                "'{t}' is not a token id: USER@REALM!NAME (e.g. ops@pve!ci)"
            )));
        }
    }
    Ok(c)
}

/// The entries a change concerns: (type, who, role).
fn wanted(c: &AclChange) -> Vec<(&'static str, String, String)> {
    let mut out = vec![];
    for role in &c.roles {
        for (kind, who) in [
            ("user", &c.users),
            ("group", &c.groups),
            ("token", &c.tokens),
        ] {
            for w in who {
                out.push((kind, w.clone(), role.clone()));
            }
        }
    }
    out
}

/// Whether the list has this entry (with the propagation asked for, when granting).
fn has(
    entries: &[AclEntry],
    path: &str,
    w: &(&str, String, String),
    propagate: Option<bool>,
) -> bool {
    entries.iter().any(|e| {
        e.path == path
            && e.kind == w.0
            && e.ugid == w.1
            && e.roleid == w.2
            && propagate.is_none_or(|p| e.propagate == p)
    })
}

async fn change(
    ctx: &Ctx,
    client: &crate::api::Client,
    a: AclArgs,
    grant: bool,
) -> anyhow::Result<()> {
    let c = change_of(&a, ctx.flags.user.as_deref())?;
    let entries = access::acl(client).await.unwrap_or_default();
    let wants = wanted(&c);
    let what = format!("{} on {}", c.roles.join(","), c.path);
    let whom: Vec<&str> = wants.iter().map(|w| w.1.as_str()).collect();
    let mut whom = whom;
    whom.dedup();
    let label = format!("{what} for {}", whom.join(","));
    if grant {
        let propagate = Some(c.propagate.unwrap_or(true));
        if wants.iter().all(|w| has(&entries, &c.path, w, propagate)) {
            return done(ctx, result(&label, "acl grant").done("already granted"));
        }
        access::grant(client, &c).await?;
        done(ctx, result(&label, "acl grant").done("OK"))
    } else {
        if !entries.is_empty() && !wants.iter().any(|w| has(&entries, &c.path, w, None)) {
            return done(ctx, result(&label, "acl revoke").done("already absent"));
        }
        access::revoke(client, &c).await?;
        done(ctx, result(&label, "acl revoke").done("OK"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_above_a_path_apply_to_it() {
        assert!(applies("/", "/vms/100"));
        assert!(applies("/vms", "/vms/100"));
        assert!(applies("/vms/100", "/vms/100"));
        assert!(!applies("/vms/10", "/vms/100"));
        assert!(!applies("/storage", "/vms/100"));
    }
}
