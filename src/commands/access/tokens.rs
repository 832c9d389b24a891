//! `access tokens list|create|delete`. A new token's secret is printed once, on stdout alone (so
//! `> file` captures it and nothing else); it appears nowhere else.

use serde_json::{json, Value};

use super::{done, now, parse_expire, result, token_parts, userid, Ctx};
use crate::api::{access, Params};
use crate::cli::{OutputFormat, TokensCmd};
use crate::output::{col, Column, Kind};

const COLUMNS: [Column; 5] = [
    col("userid", "USER", Kind::Text),
    col("tokenid", "TOKEN", Kind::Text),
    col("privsep", "PRIVSEP", Kind::Flag),
    col("expire", "EXPIRES", Kind::Epoch),
    col("comment", "COMMENT", Kind::Text),
];

/// A token row with the user it belongs to.
fn row(user: &str, mut t: serde_json::Map<String, Value>) -> Value {
    t.insert("userid".into(), json!(user));
    Value::Object(t)
}

pub async fn run(ctx: &Ctx, cmd: TokensCmd) -> anyhow::Result<()> {
    let client = ctx.client()?;
    match cmd {
        TokensCmd::List { owner } => {
            let mut rows = vec![];
            match owner {
                Some(u) => {
                    let u = userid(&u)?;
                    for t in access::tokens(&client, u).await? {
                        rows.push(row(u, t));
                    }
                }
                None => {
                    for u in access::users(&client, true).await? {
                        let id = u.get("userid").and_then(Value::as_str).unwrap_or("");
                        if let Some(Value::Array(tokens)) = u.get("tokens") {
                            for t in tokens {
                                if let Value::Object(t) = t {
                                    rows.push(row(id, t.clone()));
                                }
                            }
                        }
                    }
                }
            }
            rows.sort_by(|a, b| {
                let key = |v: &Value| {
                    (
                        v["userid"].as_str().unwrap_or("").to_string(),
                        v["tokenid"].as_str().unwrap_or("").to_string(),
                    )
                };
                key(a).cmp(&key(b))
            });
            ctx.out.list(&COLUMNS, &rows)
        }
        TokensCmd::Create {
            owner: user,
            tokenid,
            privsep,
            no_privsep,
            expire,
            comment,
        } => {
            let (user, name) = token_parts(&user, tokenid.as_deref())?;
            let expire = expire
                .as_deref()
                .map(|e| parse_expire(e, now()))
                .transpose()?;
            let mut params = Params::new()
                .opt("expire", expire)
                .opt("comment", comment.as_deref());
            if privsep || no_privsep {
                params = params.flag("privsep", !no_privsep);
            }
            let token = access::create_token(&client, &user, &name, &params).await?;
            let id = &token.full_tokenid;
            ctx.out.warn(&format!(
                "this is the only time PVE shows the secret of {id}: store it now (it is not shown again)"
            ));
            if token.privsep != Some(false) {
                ctx.out.info(&format!(
                    "{id} is privilege-separated: it may do only what ACLs give it, e.g. `pvectl access acl grant / PVEVMAdmin --tokens '{id}'`"
                ));
            }
            if ctx.out.format == OutputFormat::Json {
                return ctx.out.json(&json!({
                    "full-tokenid": id,
                    "value": token.value.expose(),
                }));
            }
            ctx.out.lines([token.value.expose().to_string()])
        }
        TokensCmd::Delete {
            owner: user,
            tokenid,
            yes,
        } => {
            let (user, name) = token_parts(&user, tokenid.as_deref())?;
            let id = format!("{user}!{name}");
            ctx.confirm(
                &format!("Delete API token {id} (whatever uses it stops working)"),
                &[],
                yes,
            )?;
            access::delete_token(&client, &user, &name).await?;
            done(ctx, result(&id, "token delete").done("OK"))
        }
    }
}
