//! `access users list|show|create|set|delete`.

use serde_json::{json, Value};

use super::{done, now, parse_expire, result, userid, Ctx};
use crate::api::{access, Params, Secret};
use crate::cli::{OutputFormat, UserCreateArgs, UserFields, UserSetArgs, UsersCmd};
use crate::config::{secret_from_file, Credentials};
use crate::error::CliError;
use crate::output::{col, Column, Kind};

const COLUMNS: [Column; 7] = [
    col("userid", "USERID", Kind::Text),
    col("enable", "ENABLED", Kind::Flag),
    col("expire", "EXPIRES", Kind::Epoch),
    col("realm-type", "REALM TYPE", Kind::Text),
    col("groups", "GROUPS", Kind::Text),
    col("tokens", "TOKENS", Kind::Text),
    col("comment", "COMMENT", Kind::Text),
];

/// In a table, a user's tokens read as their names.
fn token_names(v: &Value) -> Value {
    match v {
        Value::Array(items) => Value::from(
            items
                .iter()
                .filter_map(|t| t.get("tokenid").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(","),
        ),
        Value::Object(map) => Value::from(map.keys().cloned().collect::<Vec<_>>().join(",")),
        other => other.clone(),
    }
}

pub async fn run(ctx: &Ctx, cmd: UsersCmd) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let table = ctx.out.format != OutputFormat::Json;
    match cmd {
        UsersCmd::List { enabled } => {
            let users = access::users(&client, true).await?;
            let rows: Vec<Value> = users
                .into_iter()
                .filter(|u| !enabled || u.get("enable").is_none_or(crate::api::de::truthy))
                .map(|mut u| {
                    if table {
                        if let Some(t) = u.get("tokens").map(token_names) {
                            u.insert("tokens".into(), t);
                        }
                    }
                    Value::Object(u)
                })
                .collect();
            ctx.out.list(&COLUMNS, &rows)
        }
        UsersCmd::Show { userid: id } => {
            let id = userid(&id)?;
            let mut u = access::user(&client, id).await?;
            u.insert("userid".into(), json!(id));
            if table {
                if let Some(t) = u.get("tokens").map(token_names) {
                    u.insert("tokens".into(), t);
                }
                if let Some(Value::Array(g)) = u.get("groups") {
                    let joined = g
                        .iter()
                        .map(crate::api::de::text)
                        .collect::<Vec<_>>()
                        .join(",");
                    u.insert("groups".into(), json!(joined));
                }
            }
            ctx.out.object(&Value::Object(u), &COLUMNS)
        }
        UsersCmd::Create(a) => create(ctx, &client, a).await,
        UsersCmd::Set(a) => set(ctx, &client, a).await,
        UsersCmd::Delete { userid: id, yes } => {
            let id = userid(&id)?;
            ctx.confirm(
                &format!("Delete user {id} with its API tokens and ACL entries"),
                &[],
                yes,
            )?;
            access::delete_user(&client, id).await?;
            done(ctx, result(id, "user delete").done("OK"))
        }
    }
}

/// The password of `--password-file`, for a realm that keeps passwords.
fn password(id: &str, file: &std::path::Path) -> Result<Secret, CliError> {
    let realm = access::realm(id);
    if realm != "pve" && realm != "pam" {
        return Err(CliError::usage(format!(
            "users of realm '{realm}' have their password in that directory (LDAP, AD, OpenID): --password-file is for the pve and pam realms"
        )));
    }
    let secret = secret_from_file(file, "--password-file")?;
    if secret.expose().chars().count() < 8 {
        return Err(CliError::usage(format!(
            "the password in {} is shorter than 8 characters, PVE's minimum",
            file.display()
        )));
    }
    Ok(secret)
}

/// The fields both create and set send.
fn fields(p: Params, f: &UserFields) -> Result<Params, CliError> {
    let expire = f
        .expire
        .as_deref()
        .map(|e| parse_expire(e, now()))
        .transpose()?;
    Ok(p.opt("expire", expire)
        .opt("groups", f.groups.as_deref())
        .opt("comment", f.comment.as_deref())
        .opt("email", f.email.as_deref())
        .opt("firstname", f.firstname.as_deref())
        .opt("lastname", f.lastname.as_deref()))
}

async fn create(ctx: &Ctx, client: &crate::api::Client, a: UserCreateArgs) -> anyhow::Result<()> {
    let id = userid(&a.userid)?;
    let pw = a
        .password_file
        .as_deref()
        .map(|f| password(id, f))
        .transpose()?;
    let mut params = fields(Params::new().set("userid", id), &a.fields)?;
    if a.disable {
        params = params.flag("enable", false);
    }
    if let Some(pw) = &pw {
        params.push("password", pw.expose());
    }
    access::create_user(client, &params).await?;
    let said = if a.disable { "OK (disabled)" } else { "OK" };
    done(ctx, result(id, "user create").done(said))
}

async fn set(ctx: &Ctx, client: &crate::api::Client, a: UserSetArgs) -> anyhow::Result<()> {
    let id = userid(&a.userid)?;
    let pw = a
        .password_file
        .as_deref()
        .map(|f| password(id, f))
        .transpose()?;
    let mut params = fields(Params::new(), &a.fields)?;
    if a.enable || a.disable {
        params = params.flag("enable", a.enable);
    }
    params = params.flag_if("append", a.append);
    if params.is_empty() && pw.is_none() {
        return Err(CliError::usage(
            "nothing to change: give --enable, --disable, --expire, --groups, --comment, --email, --firstname, --lastname or --password-file",
        )
        .into());
    }
    let mut changed = vec![];
    if !params.is_empty() {
        access::update_user(client, id, &params).await?;
        changed.extend(params.pairs().iter().map(|(k, v)| format!("{k}={v}")));
    }
    if let Some(pw) = &pw {
        // Anyone but root@pam confirms with their own password (a password login has it).
        let confirmation = match &ctx.settings.credentials {
            Some(Credentials::Password {
                user,
                password: Some(own),
            }) if user != "root@pam" => Some(own.clone()),
            _ => None,
        };
        access::set_password(client, id, pw, confirmation.as_ref()).await?;
        changed.push("password".into());
    }
    done(
        ctx,
        result(id, "user set").done(&format!("OK ({})", changed.join(" "))),
    )
}
