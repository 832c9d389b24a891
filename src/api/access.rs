//! `/access/…`: users, groups, roles, API tokens, ACLs and effective permissions.
//!
//! A new token's secret comes back once, in the answer of its creation: it is taken out of the
//! answer into a `Secret` at once and never decoded into anything that could show it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::de::{self, truthy};
use super::{seg, ApiError, Client, Params, Secret};

// ------------------------------------------------------------------------------------- users

fn user_path(userid: &str) -> String {
    format!("/access/users/{}", seg(userid))
}

/// `GET /access/users`: users as PVE lists them (`full` adds their groups and tokens).
pub async fn users(client: &Client, full: bool) -> Result<Vec<Map<String, Value>>, ApiError> {
    client
        .get("/access/users", &Params::new().flag_if("full", full))
        .await
}

/// `GET /access/users/{userid}`: one user's configuration, with groups and tokens.
pub async fn user(client: &Client, userid: &str) -> Result<Map<String, Value>, ApiError> {
    client.get(&user_path(userid), &Params::new()).await
}

/// `POST /access/users`: `params` hold `userid` and the rest (`password` never shows in a trace).
pub async fn create_user(client: &Client, params: &Params) -> Result<(), ApiError> {
    let _: Value = client.post("/access/users", params).await?;
    Ok(())
}

/// `PUT /access/users/{userid}`.
pub async fn update_user(client: &Client, userid: &str, params: &Params) -> Result<(), ApiError> {
    let _: Value = client.put(&user_path(userid), params).await?;
    Ok(())
}

/// `DELETE /access/users/{userid}`.
pub async fn delete_user(client: &Client, userid: &str) -> Result<(), ApiError> {
    let _: Value = client.delete(&user_path(userid), &Params::new()).await?;
    Ok(())
}

/// `PUT /access/password`. Users other than root@pam confirm with their own password (PVE
/// refuses API tokens here: this needs a password login).
pub async fn set_password(
    client: &Client,
    userid: &str,
    password: &Secret,
    confirmation: Option<&Secret>,
) -> Result<(), ApiError> {
    let params = Params::new()
        .set("userid", userid)
        .set("password", password.expose())
        .opt("confirmation-password", confirmation.map(Secret::expose));
    let _: Value = client.put("/access/password", &params).await?;
    Ok(())
}

/// The realm of a user id (`alice@pve` → `pve`).
pub fn realm(userid: &str) -> &str {
    userid
        .split('!')
        .next()
        .unwrap_or(userid)
        .rsplit_once('@')
        .map_or("", |(_, r)| r)
}

/// A user id must name its realm: `name@realm`.
pub fn valid_userid(userid: &str) -> bool {
    match userid.rsplit_once('@') {
        Some((name, realm)) => {
            !name.is_empty()
                && !realm.is_empty()
                && !userid.contains(['!', ':', '/'])
                && !userid.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// A token's own name (`cli` of `root@pam!cli`): a letter, then letters, digits, `.`, `-`, `_`.
pub fn valid_token_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// `user@realm!name` split into the user and the token's name.
pub fn split_token_id(id: &str) -> Option<(&str, &str)> {
    let (user, name) = id.split_once('!')?;
    (valid_userid(user) && valid_token_name(name)).then_some((user, name))
}

// ------------------------------------------------------------------------------------ tokens

fn token_path(userid: &str, tokenid: &str) -> String {
    format!("{}/token/{}", user_path(userid), seg(tokenid))
}

/// `GET /access/users/{userid}/token`: the user's tokens (`tokenid`, `privsep`, `expire`, `comment`).
pub async fn tokens(client: &Client, userid: &str) -> Result<Vec<Map<String, Value>>, ApiError> {
    client
        .get(&format!("{}/token", user_path(userid)), &Params::new())
        .await
}

/// What PVE keeps of a token.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TokenInfo {
    /// Privilege separation: the token has only the ACLs given to it (PVE's default).
    #[serde(default = "yes", deserialize_with = "de::flag")]
    pub privsep: bool,
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub expire: Option<i64>,
    #[serde(default)]
    pub comment: Option<String>,
}

fn yes() -> bool {
    true
}

/// `GET /access/users/{userid}/token/{tokenid}`.
pub async fn token(client: &Client, userid: &str, tokenid: &str) -> Result<TokenInfo, ApiError> {
    client
        .get(&token_path(userid, tokenid), &Params::new())
        .await
}

/// A token just made (or given a new secret): its full id and the secret, shown once.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub full_tokenid: String,
    pub value: Secret,
    pub privsep: Option<bool>,
}

/// The answer of a creation or a regeneration. Decoded by hand: a decoding error must never
/// quote the answer, which holds the secret.
fn new_token(answer: Value, userid: &str, tokenid: &str) -> Result<NewToken, ApiError> {
    let value = answer
        .get("value")
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .map(Secret::new)
        .ok_or_else(|| ApiError::Decode {
            context: "the new token".into(),
            detail: "PVE's answer holds no token value".into(),
        })?;
    let full_tokenid = answer
        .get("full-tokenid")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| format!("{userid}!{tokenid}"));
    let privsep = answer
        .get("info")
        .unwrap_or(&answer)
        .get("privsep")
        .map(truthy);
    Ok(NewToken {
        full_tokenid,
        value,
        privsep,
    })
}

/// `POST /access/users/{userid}/token/{tokenid}` (`privsep`, `expire`, `comment` in `params`).
pub async fn create_token(
    client: &Client,
    userid: &str,
    tokenid: &str,
    params: &Params,
) -> Result<NewToken, ApiError> {
    let answer: Value = client.post(&token_path(userid, tokenid), params).await?;
    new_token(answer, userid, tokenid)
}

/// `PUT /access/users/{userid}/token/{tokenid}` (`privsep`, `expire`, `comment`).
pub async fn update_token(
    client: &Client,
    userid: &str,
    tokenid: &str,
    params: &Params,
) -> Result<(), ApiError> {
    let _: Value = client.put(&token_path(userid, tokenid), params).await?;
    Ok(())
}

/// `PUT …/token/{tokenid}` with `regenerate=1`: a new secret (the old one stops working).
pub async fn regenerate_token(
    client: &Client,
    userid: &str,
    tokenid: &str,
) -> Result<NewToken, ApiError> {
    let params = Params::new().flag("regenerate", true);
    let answer: Value = client.put(&token_path(userid, tokenid), &params).await?;
    new_token(answer, userid, tokenid)
}

/// `DELETE /access/users/{userid}/token/{tokenid}`.
pub async fn delete_token(client: &Client, userid: &str, tokenid: &str) -> Result<(), ApiError> {
    let _: Value = client
        .delete(&token_path(userid, tokenid), &Params::new())
        .await?;
    Ok(())
}

// ------------------------------------------------------------------------------------ groups

/// `GET /access/groups` (`groupid`, `comment`, `users`).
pub async fn groups(client: &Client) -> Result<Vec<Map<String, Value>>, ApiError> {
    client.get("/access/groups", &Params::new()).await
}

/// `POST /access/groups`.
pub async fn create_group(
    client: &Client,
    groupid: &str,
    comment: Option<&str>,
) -> Result<(), ApiError> {
    let params = Params::new()
        .set("groupid", groupid)
        .opt("comment", comment);
    let _: Value = client.post("/access/groups", &params).await?;
    Ok(())
}

/// `DELETE /access/groups/{groupid}`.
pub async fn delete_group(client: &Client, groupid: &str) -> Result<(), ApiError> {
    let _: Value = client
        .delete(&format!("/access/groups/{}", seg(groupid)), &Params::new())
        .await?;
    Ok(())
}

// ------------------------------------------------------------------------------------- roles

/// A role: its privileges, and whether PVE made it (built-in roles cannot be changed).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Role {
    pub roleid: String,
    /// Comma-separated, as PVE lists them.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub privs: Option<String>,
    #[serde(
        default,
        deserialize_with = "de::flag",
        serialize_with = "de::ser_flag"
    )]
    pub special: bool,
}

impl Role {
    pub fn privileges(&self) -> Vec<String> {
        self.privs
            .as_deref()
            .unwrap_or("")
            .split([',', ';', ' '])
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// `GET /access/roles`.
pub async fn roles(client: &Client) -> Result<Vec<Role>, ApiError> {
    client.get("/access/roles", &Params::new()).await
}

/// `GET /access/roles/{roleid}`: its privileges (PVE answers `{priv: 1}`).
pub async fn role(client: &Client, roleid: &str) -> Result<Vec<String>, ApiError> {
    let m: BTreeMap<String, Value> = client
        .get(&format!("/access/roles/{}", seg(roleid)), &Params::new())
        .await?;
    Ok(m.into_iter()
        .filter(|(_, v)| truthy(v))
        .map(|(k, _)| k)
        .collect())
}

/// `POST /access/roles`.
pub async fn create_role(client: &Client, roleid: &str, privs: &[String]) -> Result<(), ApiError> {
    let params = Params::new()
        .set("roleid", roleid)
        .set("privs", privs.join(","));
    let _: Value = client.post("/access/roles", &params).await?;
    Ok(())
}

/// `DELETE /access/roles/{roleid}`.
pub async fn delete_role(client: &Client, roleid: &str) -> Result<(), ApiError> {
    let _: Value = client
        .delete(&format!("/access/roles/{}", seg(roleid)), &Params::new())
        .await?;
    Ok(())
}

/// The privileges this PVE knows: those of `Administrator`, which has every one.
pub fn all_privileges(roles: &[Role]) -> Vec<String> {
    roles
        .iter()
        .find(|r| r.roleid == "Administrator")
        .map(Role::privileges)
        .unwrap_or_default()
}

/// The role to suggest for privileges on a path: a built-in one if any fits, with the fewest
/// privileges; `any` asks for one of `privs` only.
pub fn smallest_role<'a>(roles: &'a [Role], privs: &[String], any: bool) -> Option<&'a Role> {
    // Privileges to look, not to change: the auditor's role, when it has them.
    if !privs.is_empty() && privs.iter().all(|p| p.ends_with(".Audit")) {
        if let Some(r) = roles.iter().find(|r| {
            r.roleid == "PVEAuditor" && {
                let has = r.privileges();
                privs.iter().any(|p| has.contains(p))
                    && (any || privs.iter().all(|p| has.contains(p)))
            }
        }) {
            return Some(r);
        }
    }
    roles
        .iter()
        .filter(|r| r.roleid != "NoAccess")
        .filter(|r| {
            let has = r.privileges();
            if any {
                privs.iter().any(|p| has.contains(p))
            } else {
                privs.iter().all(|p| has.contains(p))
            }
        })
        .min_by_key(|r| (!r.special, r.privileges().len(), r.roleid.clone()))
}

// --------------------------------------------------------------------------------------- acl

/// One ACL entry: a role on a path for a user, group or token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclEntry {
    pub path: String,
    /// `user`, `group` or `token`.
    #[serde(rename = "type")]
    pub kind: String,
    pub ugid: String,
    pub roleid: String,
    #[serde(
        default = "yes",
        deserialize_with = "de::flag",
        serialize_with = "de::ser_flag"
    )]
    pub propagate: bool,
}

/// `GET /access/acl` (PVE lists what the login may see: with `Sys.Audit` on `/access`, all).
pub async fn acl(client: &Client) -> Result<Vec<AclEntry>, ApiError> {
    client.get("/access/acl", &Params::new()).await
}

/// Who an ACL change is for.
#[derive(Debug, Clone, Default)]
pub struct AclChange {
    pub path: String,
    pub roles: Vec<String>,
    pub users: Vec<String>,
    pub groups: Vec<String>,
    pub tokens: Vec<String>,
    /// `None` leaves PVE's default (propagate).
    pub propagate: Option<bool>,
}

fn acl_params(c: &AclChange, delete: bool) -> Params {
    let list = |v: &[String]| (!v.is_empty()).then(|| v.join(","));
    let mut p = Params::new()
        .set("path", &c.path)
        .set("roles", c.roles.join(","))
        .opt("users", list(&c.users))
        .opt("groups", list(&c.groups))
        .opt("tokens", list(&c.tokens));
    if let Some(prop) = c.propagate {
        p = p.flag("propagate", prop);
    }
    p.flag_if("delete", delete)
}

/// `PUT /access/acl`: add the roles on the path.
pub async fn grant(client: &Client, change: &AclChange) -> Result<(), ApiError> {
    let _: Value = client
        .put("/access/acl", &acl_params(change, false))
        .await?;
    Ok(())
}

/// `PUT /access/acl` with `delete=1`: remove them.
pub async fn revoke(client: &Client, change: &AclChange) -> Result<(), ApiError> {
    let _: Value = client.put("/access/acl", &acl_params(change, true)).await?;
    Ok(())
}

// ------------------------------------------------------------------------------- permissions

/// `{path: {privilege: propagate}}`, as `GET /access/permissions` answers.
pub type Permissions = BTreeMap<String, BTreeMap<String, Value>>;

/// `GET /access/permissions`: the effective permissions of the login (or of `userid`, a user or
/// a full token id), on every path that has any, or on `path` alone.
pub async fn permissions(
    client: &Client,
    userid: Option<&str>,
    path: Option<&str>,
) -> Result<Permissions, ApiError> {
    let params = Params::new().opt("userid", userid).opt("path", path);
    client.get("/access/permissions", &params).await
}

/// The privileges held on `path`: PVE's answer for that path when it gives one, else what its
/// nearest listed parent passes down (propagate set).
pub fn held_at(perms: &Permissions, path: &str) -> Vec<String> {
    if let Some(privs) = perms.get(path) {
        return privs.keys().cloned().collect();
    }
    let mut best: Option<(&String, &BTreeMap<String, Value>)> = None;
    for (p, privs) in perms {
        let parent = p == "/" || path.starts_with(&format!("{p}/"));
        if parent && best.is_none_or(|(b, _)| p.len() > b.len()) {
            best = Some((p, privs));
        }
    }
    best.map(|(_, privs)| {
        privs
            .iter()
            .filter(|(_, prop)| truthy(prop))
            .map(|(k, _)| k.clone())
            .collect()
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_new_tokens_secret_is_never_in_an_error_or_debug() {
        let t = new_token(
            json!({"full-tokenid": "ops@pve!ci", "value": "5ec12e7-secret", "info": {"privsep": 1}}),
            "ops@pve",
            "ci",
        )
        .unwrap();
        assert_eq!(t.full_tokenid, "ops@pve!ci");
        assert_eq!(t.value.expose(), "5ec12e7-secret");
        assert_eq!(t.privsep, Some(true));
        assert!(!format!("{t:?}").contains("5ec12e7"));
        let e = new_token(json!({"value": 42, "other": "x"}), "ops@pve", "ci").unwrap_err();
        assert!(!e.to_string().contains("42"), "{e}");
    }

    #[test]
    fn ids_name_their_realm() {
        assert!(valid_userid("alice@pve"));
        assert!(!valid_userid("alice"));
        assert!(!valid_userid("alice@pve!tok"));
        assert_eq!(realm("ops@pam!cli"), "pam");
        assert_eq!(split_token_id("ops@pve!ci-1"), Some(("ops@pve", "ci-1")));
        assert_eq!(split_token_id("ops@pve!1ci"), None);
        assert_eq!(split_token_id("ops!ci"), None);
    }

    #[test]
    fn the_smallest_builtin_role_is_suggested() {
        let roles: Vec<Role> = serde_json::from_value(json!([
            {"roleid": "Administrator", "privs": "VM.Audit,VM.PowerMgmt,Sys.Modify", "special": 1},
            {"roleid": "PVEVMUser", "privs": "VM.Audit,VM.PowerMgmt", "special": 1},
            {"roleid": "PVEAuditor", "privs": "VM.Audit", "special": 1},
            {"roleid": "Mine", "privs": "VM.PowerMgmt", "special": 0},
            {"roleid": "NoAccess", "privs": "", "special": 1},
        ]))
        .unwrap();
        let pick = |p: &[&str], any| {
            let p: Vec<String> = p.iter().map(|s| s.to_string()).collect();
            smallest_role(&roles, &p, any).map(|r| r.roleid.clone())
        };
        assert_eq!(pick(&["VM.PowerMgmt"], false).as_deref(), Some("PVEVMUser"));
        assert_eq!(pick(&["VM.Audit"], false).as_deref(), Some("PVEAuditor"));
        assert_eq!(
            pick(&["Sys.Modify"], false).as_deref(),
            Some("Administrator")
        );
        assert_eq!(pick(&["Nope.Nope"], false), None);
        assert_eq!(all_privileges(&roles).len(), 3);
    }

    #[test]
    fn privileges_pass_down_from_the_nearest_parent() {
        let perms: Permissions = serde_json::from_value(json!({
            "/": {"Sys.Audit": 1, "VM.Audit": 0},
            "/vms": {"VM.PowerMgmt": 1},
            "/vms/100": {"VM.Console": 0}
        }))
        .unwrap();
        assert_eq!(held_at(&perms, "/vms/100"), vec!["VM.Console"]);
        assert_eq!(held_at(&perms, "/vms/101"), vec!["VM.PowerMgmt"]);
        assert_eq!(held_at(&perms, "/nodes/pve1"), vec!["Sys.Audit"]);
        assert_eq!(held_at(&perms, "/vmsx"), vec!["Sys.Audit"]);
    }
}
