//! Why PVE refused a request (403), found out when it happens: the privilege and path PVE wanted
//! (from its message, or from the endpoint's rule in PVE's schema where the message does not say),
//! whether only root@pam may do it, or no API token at all, and what the login is: a user, or a
//! token with or without privilege separation whose user does or does not hold the privilege.
//!
//! Finding out costs a few reads (the token's settings, the user's permissions on the path, the
//! roles), made only after a refusal; any of them may itself be refused, which leaves that fact
//! unknown. Nothing here is shown: the command layer turns a `Refusal` into its advice.

use serde_json::Value;

use super::access::{self, Permissions, Role, TokenInfo};
use super::auth::Auth;
use super::permissions::{self, Need, Said};
use super::{seg, ApiError, Client, Params};

/// What a 403 meant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The request refused (`POST`, `/nodes/pve1/qemu/100/status/start`).
    pub method: String,
    pub path: String,
    pub want: Want,
    /// Who was refused, when the client knows.
    pub login: Option<Login>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Want {
    /// Privileges on ACL paths; `from_schema` when PVE did not name them and the schema did.
    Privileges { needs: Vec<Need>, from_schema: bool },
    /// Only root@pam itself may do this (PVE's reason).
    RootOnly(String),
    /// PVE lets no API token do this: it needs a password login.
    NoToken,
    /// Nothing known beyond PVE's message.
    Unknown,
}

/// The login a refusal (or a check) concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Login {
    /// `user@realm`, or `user@realm!name` for a token.
    pub authid: String,
    /// The user (of the token).
    pub user: String,
    /// The full token id, for a token.
    pub token: Option<String>,
    /// Whether the token has privilege separation (only its own ACLs, within its user's).
    pub privsep: Option<bool>,
    /// Whether the token's user holds every privilege wanted (a token only, when readable).
    pub user_holds: Option<bool>,
    /// The token holds no privilege on any path (what a privilege-separated token without ACLs
    /// of its own looks like).
    pub holds_nothing: bool,
    /// A role that holds what was wanted, to grant.
    pub role: Option<String>,
}

impl Login {
    /// The login of these credentials (none for a client without credentials).
    pub fn of(auth: &Auth) -> Option<Login> {
        let authid = match auth {
            Auth::Token { id, .. } => id.clone(),
            Auth::Password { user, .. } => user.clone(),
            Auth::None => return None,
        };
        let (user, token) = match authid.split_once('!') {
            Some((user, _)) => (user.to_string(), Some(authid.clone())),
            None => (authid.clone(), None),
        };
        Some(Login {
            authid,
            user,
            token,
            privsep: None,
            user_holds: None,
            holds_nothing: false,
            role: None,
        })
    }
}

impl Client {
    /// Who this client logs in as.
    pub fn who(&self) -> Option<Login> {
        Login::of(&self.auth)
    }

    /// The refusal of a request explained (see the module); other errors unchanged.
    pub(super) async fn explain(
        &self,
        error: ApiError,
        method: &str,
        path: &str,
        params: &Params,
    ) -> ApiError {
        let ApiError::Forbidden { message, .. } = error else {
            return error;
        };
        let Some(login) = self.who().filter(|_| self.explain_refusals) else {
            return ApiError::Forbidden {
                message,
                refusal: None,
            };
        };
        let want = want(method, path, params, &message, login.token.is_some());
        let login = match &want {
            Want::Privileges { needs, .. } => Some(self.facts(login, needs).await),
            _ => Some(login),
        };
        ApiError::Forbidden {
            message,
            refusal: Some(Box::new(Refusal {
                method: method.to_string(),
                path: path.to_string(),
                want,
                login,
            })),
        }
    }

    /// What can be learnt about the login and the privileges it lacks: for a token its privilege
    /// separation and whether its user holds them; for anyone a role that has them. Each fact a
    /// login may not read stays unknown.
    pub async fn facts(&self, mut login: Login, needs: &[Need]) -> Login {
        // root@pam holds every privilege: its refused token can only lack an ACL of its own.
        if login.token.is_some() && login.user == "root@pam" {
            login.user_holds = Some(true);
        } else if let (Some(token), true) = (&login.token, !needs.is_empty()) {
            if let Some((user, name)) = token.split_once('!') {
                let info: Result<TokenInfo, _> = self
                    .get_plain(
                        &format!("/access/users/{}/token/{}", seg(user), seg(name)),
                        &Params::new(),
                    )
                    .await;
                login.privsep = info.ok().map(|i| i.privsep);
            }
            let mut holds = Some(true);
            for need in needs {
                let perms: Result<Permissions, _> = self
                    .get_plain(
                        "/access/permissions",
                        &Params::new()
                            .set("userid", &login.user)
                            .set("path", &need.path),
                    )
                    .await;
                match perms {
                    Ok(p) if !need.met_by(&access::held_at(&p, &need.path)) => {
                        holds = Some(false);
                        break;
                    }
                    Ok(_) => {}
                    Err(_) => holds = None,
                }
            }
            login.user_holds = holds;
            if login.privsep.is_none() {
                let own: Result<Permissions, _> =
                    self.get_plain("/access/permissions", &Params::new()).await;
                login.holds_nothing = own.is_ok_and(|p| p.values().all(|privs| privs.is_empty()));
            }
        }
        if let Some(first) = needs.first() {
            let roles: Result<Vec<Role>, _> = self.get_plain("/access/roles", &Params::new()).await;
            if let Ok(roles) = roles {
                // One role for every need when one fits them all, else one for the first.
                let all: Vec<String> = needs.iter().flat_map(|n| n.privs.clone()).collect();
                let pick = if needs.len() > 1 && needs.iter().all(|n| !n.any) {
                    access::smallest_role(&roles, &all, false)
                } else {
                    None
                };
                login.role = pick
                    .or_else(|| access::smallest_role(&roles, &first.privs, first.any))
                    .map(|r| r.roleid.clone());
            }
        }
        login
    }
}

/// What PVE wanted: its message first, else the endpoint's rule for this request.
fn want(method: &str, path: &str, params: &Params, message: &str, token: bool) -> Want {
    match permissions::parse_refusal(message) {
        Said::Need(n) => {
            return Want::Privileges {
                needs: vec![n],
                from_schema: false,
            }
        }
        Said::RootOnly(why) => return Want::RootOnly(why),
        Said::NoToken => return Want::NoToken,
        Said::Nothing => {}
    }
    let Some((endpoint, mut values)) = permissions::lookup(method, path) else {
        return Want::Unknown;
    };
    if token && !endpoint.allowtoken {
        return Want::NoToken;
    }
    for (k, v) in params.pairs() {
        values.entry(k.clone()).or_insert_with(|| v.clone());
    }
    if let Some(Value::Object(body)) = params.json_body() {
        for (k, v) in body {
            values
                .entry(k.clone())
                .or_insert_with(|| super::de::text(v));
        }
    }
    let rule = endpoint.check.rule(&values);
    if rule.root_only() {
        return Want::RootOnly(format!(
            "PVE's schema lets only root@pam call {method} {}",
            endpoint.path
        ));
    }
    let needs = rule.needs();
    if needs.is_empty() {
        return Want::Unknown;
    }
    Want::Privileges {
        needs,
        from_schema: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params_of(pairs: &[(&str, &str)]) -> Params {
        let mut p = Params::new();
        for (k, v) in pairs {
            p.push(k, v);
        }
        p
    }

    #[test]
    fn pve_s_words_come_first_then_the_schema() {
        assert_eq!(
            want(
                "POST",
                "/nodes/pve1/qemu/100/status/start",
                &Params::new(),
                "Permission check failed (/vms/100, VM.PowerMgmt)",
                true
            ),
            Want::Privileges {
                needs: vec![Need::new("/vms/100", &["VM.PowerMgmt"], false)],
                from_schema: false
            }
        );
        // A bare refusal: the rule of `PUT /access/acl` for this path.
        assert_eq!(
            want(
                "PUT",
                "/access/acl",
                &params_of(&[("path", "/storage/nfs"), ("roles", "PVEAuditor")]),
                "Permission check failed",
                true
            ),
            Want::Privileges {
                needs: vec![Need::new(
                    "/storage/nfs",
                    &["Permissions.Modify", "Datastore.Allocate"],
                    true
                )],
                from_schema: true
            }
        );
        // PVE lets no token change a password.
        assert_eq!(
            want(
                "PUT",
                "/access/password",
                &Params::new(),
                "Permission check failed",
                true
            ),
            Want::NoToken
        );
        assert_eq!(
            want(
                "GET",
                "/somewhere/else",
                &Params::new(),
                "Permission check failed",
                true
            ),
            Want::Unknown
        );
    }

    #[test]
    fn the_login_of_a_token_is_its_user_and_its_id() {
        let l = Login::of(&Auth::Token {
            id: "ops@pve!ci".into(),
            secret: super::super::Secret::new("x"),
        })
        .unwrap();
        assert_eq!(l.user, "ops@pve");
        assert_eq!(l.token.as_deref(), Some("ops@pve!ci"));
        assert!(Login::of(&Auth::None).is_none());
    }
}
