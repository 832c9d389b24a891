//! `access roles list|show|create|delete` and `access groups list|create|delete`.

use serde_json::{json, Map, Value};

use super::{done, result, Ctx};
use crate::api::access;
use crate::cli::{GroupsCmd, OutputFormat, RolesCmd};
use crate::error::CliError;
use crate::output::{col, Column, Kind};

const ROLE_COLUMNS: [Column; 3] = [
    col("roleid", "ROLE", Kind::Text),
    col("special", "BUILT-IN", Kind::Flag),
    col("privs", "PRIVILEGES", Kind::Text),
];

const PRIV_COLUMNS: [Column; 1] = [col("privilege", "PRIVILEGE", Kind::Text)];

const GROUP_COLUMNS: [Column; 3] = [
    col("groupid", "GROUP", Kind::Text),
    col("users", "USERS", Kind::Text),
    col("comment", "COMMENT", Kind::Text),
];

pub async fn run(ctx: &Ctx, cmd: RolesCmd) -> anyhow::Result<()> {
    let client = ctx.client()?;
    match cmd {
        RolesCmd::List => {
            let mut roles = access::roles(&client).await?;
            roles.sort_by(|a, b| a.roleid.cmp(&b.roleid));
            let rows: Vec<Value> = roles
                .iter()
                .map(|r| {
                    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
                    if ctx.out.format != OutputFormat::Json {
                        v["privs"] = json!(r.privileges().join(", "));
                    }
                    v
                })
                .collect();
            ctx.out.list(&ROLE_COLUMNS, &rows)
        }
        RolesCmd::Show { roleid } => {
            let mut privs = access::role(&client, &roleid).await?;
            privs.sort();
            if ctx.out.format == OutputFormat::Json {
                let m: Map<String, Value> = privs.into_iter().map(|p| (p, json!(1))).collect();
                return ctx.out.json(&m);
            }
            let rows: Vec<Value> = privs.iter().map(|p| json!({ "privilege": p })).collect();
            ctx.out.list(&PRIV_COLUMNS, &rows)
        }
        RolesCmd::Create { roleid, privs } => {
            if roleid.to_ascii_lowercase().starts_with("pve") {
                return Err(CliError::usage(format!(
                    "role '{roleid}': names starting with PVE belong to PVE's built-in roles; pick another"
                ))
                .into());
            }
            let wanted: Vec<String> = privs
                .iter()
                .flat_map(|p| p.split([',', ';', ' ']))
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect();
            let roles = access::roles(&client).await?;
            let known = access::all_privileges(&roles);
            check_privileges(&wanted, &known)?;
            access::create_role(&client, &roleid, &wanted).await?;
            done(
                ctx,
                result(&roleid, "role create").done(&format!("OK ({})", wanted.join(","))),
            )
        }
        RolesCmd::Delete { roleid, yes } => {
            ctx.confirm(
                &format!("Delete role {roleid} and every ACL entry that gives it"),
                &[],
                yes,
            )?;
            access::delete_role(&client, &roleid).await?;
            done(ctx, result(&roleid, "role delete").done("OK"))
        }
    }
}

/// Every privilege must be one PVE knows (when PVE said which it knows).
pub fn check_privileges(wanted: &[String], known: &[String]) -> Result<(), CliError> {
    if known.is_empty() {
        return Ok(());
    }
    for p in wanted {
        if known.contains(p) {
            continue;
        }
        let near: Vec<&String> = known
            .iter()
            .filter(|k| {
                k.eq_ignore_ascii_case(p)
                    || k.to_ascii_lowercase().starts_with(&p.to_ascii_lowercase())
            })
            .collect();
        let hint = match near.first() {
            Some(k) => format!(" (did you mean {k}?)"),
            None => String::new(),
        };
        return Err(CliError::usage(format!(
            "PVE has no privilege '{p}'{hint}; `pvectl access roles show Administrator` lists them all"
        )));
    }
    Ok(())
}

pub async fn groups(ctx: &Ctx, cmd: GroupsCmd) -> anyhow::Result<()> {
    let client = ctx.client()?;
    match cmd {
        GroupsCmd::List => {
            let mut groups = access::groups(&client).await?;
            groups.sort_by(|a, b| {
                let id = |m: &Map<String, Value>| {
                    m.get("groupid")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string()
                };
                id(a).cmp(&id(b))
            });
            let rows: Vec<Value> = groups.into_iter().map(Value::Object).collect();
            ctx.out.list(&GROUP_COLUMNS, &rows)
        }
        GroupsCmd::Create { groupid, comment } => {
            access::create_group(&client, &groupid, comment.as_deref()).await?;
            done(ctx, result(&groupid, "group create").done("OK"))
        }
        GroupsCmd::Delete { groupid, yes } => {
            ctx.confirm(
                &format!("Delete group {groupid} and its ACL entries (its users stay)"),
                &[],
                yes,
            )?;
            access::delete_group(&client, &groupid).await?;
            done(ctx, result(&groupid, "group delete").done("OK"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privileges_are_checked_with_a_suggestion() {
        let known = vec!["VM.PowerMgmt".to_string(), "VM.Audit".to_string()];
        assert!(check_privileges(&["VM.Audit".into()], &known).is_ok());
        let e = check_privileges(&["vm.powermgmt".into()], &known).unwrap_err();
        assert!(
            e.message.contains("did you mean VM.PowerMgmt?"),
            "{}",
            e.message
        );
        assert!(check_privileges(&["Nope".into()], &[]).is_ok());
    }
}
