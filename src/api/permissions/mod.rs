//! What PVE checks before it answers: the permission rule of each endpoint this client calls
//! (`table`, generated from PVE's API schema by `tools/permission_table.py`), PVE's own words when
//! it refuses (`Permission check failed (/vms/100, VM.PowerMgmt)`), and how a rule reads for one
//! request: which privileges on which ACL paths, or root@pam alone.
//!
//! The table is small on purpose: the whole schema is about 2 MB, and only the endpoints called
//! here matter. It serves where PVE's refusal does not name the privilege (a bare
//! `Permission check failed`) and for asking, before a command runs, what it will need.

mod table;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};

pub use table::TABLE;

/// One rule of PVE's schema (`permissions.check`, or `user => 'all'`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Every logged-in user (`user => 'all'`); the handler may still filter or check inline.
    Anyone,
    /// No login needed (`user => 'world'`).
    World,
    /// No permission rule at all: root@pam alone.
    RootOnly,
    /// Privileges on an ACL path whose `{placeholders}` are request parameters.
    Perm {
        path: &'static str,
        privs: &'static [&'static str],
        /// One of the privileges suffices.
        any: bool,
        /// The check fails when this parameter is missing.
        require_param: Option<&'static str>,
    },
    And(&'static [Check]),
    Or(&'static [Check]),
    /// The `userid` parameter is the login itself (a token is not its user here).
    UseridSelf,
    /// The privilege on `/access/realm/<realm of userid>`.
    UseridRealm(&'static str),
    /// One of the privileges on `/access/groups` (or on a group of the user named).
    UseridGroup {
        privs: &'static [&'static str],
        groups_param: Option<&'static str>,
    },
    /// `Permissions.Modify` on the path, or the path's own allocate privilege.
    PermModify(&'static str),
}

/// An endpoint and its rule.
#[derive(Clone, Copy, Debug)]
pub struct Endpoint {
    pub method: &'static str,
    /// PVE's path template (`/nodes/{node}/qemu/{vmid}/status/start`).
    pub path: &'static str,
    /// Whether an API token may call it at all (PVE's `allowtoken`).
    pub allowtoken: bool,
    pub check: Check,
}

/// Privileges wanted on one ACL path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Need {
    pub path: String,
    pub privs: Vec<String>,
    /// One of `privs` suffices.
    pub any: bool,
}

impl Need {
    pub fn new(path: &str, privs: &[&str], any: bool) -> Self {
        Need {
            path: path.to_string(),
            privs: privs.iter().map(|p| p.to_string()).collect(),
            any,
        }
    }

    /// Whether privileges held on the path satisfy this need.
    pub fn met_by(&self, held: &[String]) -> bool {
        let has = |p: &String| held.iter().any(|h| h == p);
        if self.any {
            self.privs.iter().any(has)
        } else {
            self.privs.iter().all(has)
        }
    }

    /// `VM.PowerMgmt`, `VM.Config.Disk and VM.PowerMgmt`, `one of Datastore.Audit, Datastore.AllocateSpace`.
    pub fn privs_text(&self) -> String {
        match (self.privs.len(), self.any) {
            (1, _) => self.privs[0].clone(),
            (_, true) => format!("one of {}", self.privs.join(", ")),
            (_, false) => self.privs.join(" and "),
        }
    }
}

impl std::fmt::Display for Need {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = if self.path.is_empty() {
            "(a path PVE could not read)"
        } else {
            &self.path
        };
        write!(f, "{} on {path}", self.privs_text())
    }
}

/// What a refusal says PVE wanted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Said {
    /// Privileges on a path.
    Need(Need),
    /// Only root@pam itself may do this; the reason PVE gave.
    RootOnly(String),
    /// No API token may do this: it needs a ticket (a password login).
    NoToken,
    /// PVE did not say (`Permission check failed` alone).
    Nothing,
}

/// Read PVE's 403 message (`raise_perm_exc`): `Permission check failed (/vms/100, VM.PowerMgmt)`,
/// `(/storage/nfs, Datastore.Audit|Datastore.AllocateSpace)`, `(/, VM.PowerMgmt && VM.Config.Disk)`,
/// `(user != root@pam)`, `(mount point type bind is only allowed for root@pam)`, `(URI '…' not
/// available with API token, need proper ticket.)`.
pub fn parse_refusal(message: &str) -> Said {
    let text = message.trim();
    if let Some(why) = root_only_reason(text) {
        return Said::RootOnly(why);
    }
    if text.contains("not available with API token") || text.contains("API token not allowed") {
        return Said::NoToken;
    }
    let inner = match text.split_once('(') {
        Some((_, rest)) => rest.rsplit_once(')').map_or(rest, |(i, _)| i).trim(),
        None => return Said::Nothing,
    };
    let Some((path, privs)) = inner.split_once(", ") else {
        return Said::Nothing;
    };
    let path = path.trim();
    if !(path.is_empty() || path.starts_with('/')) {
        return Said::Nothing;
    }
    let (list, any): (Vec<&str>, bool) = if privs.contains('|') {
        (privs.split('|').collect(), true)
    } else if privs.contains("&&") {
        (privs.split("&&").collect(), false)
    } else {
        (vec![privs], false)
    };
    // `Sys.Modify for modifying tag 'x'`: the privilege is the first word.
    let list: Vec<String> = list
        .iter()
        .filter_map(|p| p.split_whitespace().next())
        .filter(|p| looks_like_privilege(p))
        .map(str::to_string)
        .collect();
    if list.is_empty() {
        return Said::Nothing;
    }
    Said::Need(Need {
        path: path.to_string(),
        privs: list,
        any,
    })
}

/// `VM.PowerMgmt`, `Sys.Audit`: capitalised words joined by dots.
fn looks_like_privilege(p: &str) -> bool {
    p.contains('.')
        && p.split('.').all(|w| {
            w.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && w.chars().all(|c| c.is_ascii_alphanumeric())
        })
}

/// Whether PVE's message says only root@pam may do this (403s from `raise_perm_exc`, and the
/// 500s and field errors of inline checks): the reason, in PVE's words.
pub fn root_only_reason(message: &str) -> Option<String> {
    let m = message.trim();
    let lower = m.to_ascii_lowercase();
    let hit = lower.contains("user != root@pam")
        || lower.contains("only allowed for root@pam")
        || lower.contains("only root can")
        || lower.contains("only root may")
        || lower.contains("only root@pam may")
        || lower.contains("root-only command");
    if !hit {
        return None;
    }
    let inner = m
        .strip_prefix("Permission check failed")
        .map(str::trim)
        .map(|r| r.trim_start_matches('(').trim_end_matches(')').trim())
        .unwrap_or(m);
    Some(inner.to_string())
}

/// The endpoint of a request (`/nodes/pve1/qemu/100/status/start`, the path as sent, its segments
/// percent-encoded) and the values of its template's placeholders.
pub fn lookup(method: &str, path: &str) -> Option<(&'static Endpoint, BTreeMap<String, String>)> {
    let path = path.split('?').next().unwrap_or(path);
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    TABLE.iter().find_map(|e| {
        if !e.method.eq_ignore_ascii_case(method) {
            return None;
        }
        let tmpl: Vec<&str> = e.path.trim_matches('/').split('/').collect();
        if tmpl.len() != segs.len() {
            return None;
        }
        let mut params = BTreeMap::new();
        for (t, s) in tmpl.iter().zip(&segs) {
            if let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                let value = percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned();
                params.insert(name.to_string(), value);
            } else if t != s {
                return None;
            }
        }
        Some((e, params))
    })
}

/// The endpoint with this method and template.
pub fn endpoint(method: &str, template: &str) -> Option<&'static Endpoint> {
    TABLE
        .iter()
        .find(|e| e.method.eq_ignore_ascii_case(method) && e.path == template)
}

/// `/vms/{vmid}` with the request's values; `None` when one is missing.
fn fill(template: &str, params: &BTreeMap<String, String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}')? + start;
        let name = &rest[start + 1..end];
        out.push_str(params.get(name)?);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// The privilege that lets one allocate below a path, beside `Permissions.Modify`
/// (PVE's `check_perm_modify`).
fn modify_privs(path: &str) -> Vec<&'static str> {
    let mut privs = vec!["Permissions.Modify"];
    let under = |p: &str| path.starts_with(p) && path.len() > p.len();
    if under("/storage/") {
        privs.push("Datastore.Allocate");
    } else if under("/vms/") {
        privs.push("VM.Allocate");
    } else if under("/pool/") {
        privs.push("Pool.Allocate");
    }
    privs
}

/// The realm of a user id (`ops@pve` → `pve`; a token id's user counts).
fn realm_of(userid: &str) -> &str {
    let user = userid.split('!').next().unwrap_or(userid);
    user.rsplit_once('@').map_or("", |(_, r)| r)
}

/// What a rule asks of a login, as one request fills it in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rule {
    Anyone,
    RootOnly,
    Need(Need),
    /// The request must be about the login itself (`userid` is the login).
    SelfOnly(String),
    All(Vec<Rule>),
    Any(Vec<Rule>),
    /// An alternative this request cannot take (it lacks the parameter the rule requires).
    Never,
}

impl Check {
    /// The rule for one request: `params` are its path placeholders and parameters.
    pub fn rule(&self, params: &BTreeMap<String, String>) -> Rule {
        match *self {
            Check::Anyone | Check::World => Rule::Anyone,
            Check::RootOnly => Rule::RootOnly,
            Check::Perm {
                path,
                privs,
                any,
                require_param,
            } => {
                if require_param.is_some_and(|p| !params.contains_key(p)) {
                    return Rule::Never;
                }
                // A placeholder the request does not give is left empty, as PVE does.
                let filled = fill(path, params).unwrap_or_else(|| {
                    let kept: Vec<&str> = path
                        .split('/')
                        .filter(|s| !s.is_empty() && !s.starts_with('{'))
                        .collect();
                    format!("/{}", kept.join("/"))
                });
                Rule::Need(Need::new(&filled, privs, any))
            }
            Check::And(items) => Rule::All(items.iter().map(|c| c.rule(params)).collect()),
            Check::Or(items) => Rule::Any(items.iter().map(|c| c.rule(params)).collect()),
            Check::UseridSelf => Rule::SelfOnly(params.get("userid").cloned().unwrap_or_default()),
            Check::UseridRealm(privilege) => {
                let realm = params.get("userid").map(|u| realm_of(u)).unwrap_or("");
                Rule::Need(Need::new(
                    &format!("/access/realm/{realm}"),
                    &[privilege],
                    false,
                ))
            }
            Check::UseridGroup { privs, .. } => {
                Rule::Need(Need::new("/access/groups", privs, privs.len() > 1))
            }
            Check::PermModify(path) => {
                let filled = fill(path, params).unwrap_or_else(|| "/".into());
                let privs = modify_privs(&filled);
                Rule::Need(Need::new(&filled, &privs, privs.len() > 1))
            }
        }
    }

    /// The rule as PVE's schema writes it (`["perm", "/vms/{vmid}", ["VM.Audit"]]`), for comparing
    /// the table with the schema.
    pub fn schema_json(&self) -> Value {
        match *self {
            Check::Anyone => json!({"user": "all"}),
            Check::World => json!({"user": "world"}),
            Check::RootOnly => Value::Null,
            _ => json!({ "check": self.check_json() }),
        }
    }

    fn check_json(&self) -> Value {
        match *self {
            Check::Perm {
                path,
                privs,
                any,
                require_param,
            } => {
                let mut v = vec![json!("perm"), json!(path), json!(privs)];
                if any {
                    v.extend([json!("any"), json!(1)]);
                }
                if let Some(p) = require_param {
                    v.extend([json!("require_param"), json!(p)]);
                }
                Value::Array(v)
            }
            Check::And(items) | Check::Or(items) => {
                let form = if matches!(self, Check::And(_)) {
                    "and"
                } else {
                    "or"
                };
                let mut v = vec![json!(form)];
                v.extend(items.iter().map(Check::check_json));
                Value::Array(v)
            }
            Check::UseridSelf => json!(["userid-param", "self"]),
            Check::UseridRealm(p) => json!(["userid-param", p]),
            Check::UseridGroup {
                privs,
                groups_param,
            } => {
                let mut v = vec![json!("userid-group"), json!(privs)];
                if let Some(g) = groups_param {
                    v.extend([json!("groups_param"), json!(g)]);
                }
                Value::Array(v)
            }
            Check::PermModify(p) => json!(["perm-modify", p]),
            Check::Anyone | Check::World | Check::RootOnly => Value::Null,
        }
    }
}

impl Rule {
    /// The privileges this rule asks for that a grant could give: every need of an `All`, the
    /// first alternative of an `Any` that is not "the login itself".
    pub fn needs(&self) -> Vec<Need> {
        match self {
            Rule::Need(n) => vec![n.clone()],
            Rule::All(items) => items.iter().flat_map(Rule::needs).collect(),
            Rule::Any(items) => items
                .iter()
                .map(Rule::needs)
                .find(|n| !n.is_empty())
                .unwrap_or_default(),
            Rule::Anyone | Rule::RootOnly | Rule::SelfOnly(_) | Rule::Never => vec![],
        }
    }

    /// Whether only root@pam can pass.
    pub fn root_only(&self) -> bool {
        match self {
            Rule::RootOnly => true,
            Rule::All(items) => items.iter().any(Rule::root_only),
            Rule::Any(items) => {
                let live: Vec<&Rule> = items.iter().filter(|r| **r != Rule::Never).collect();
                !live.is_empty() && live.iter().all(|r| r.root_only())
            }
            _ => false,
        }
    }

    /// Whether the login passes, given the privileges it holds on each path (`held`) and who it
    /// is. root@pam passes every rule.
    pub fn passes(&self, authid: &str, held: &dyn Fn(&str) -> Vec<String>) -> bool {
        if authid == "root@pam" {
            return true;
        }
        match self {
            Rule::Anyone => true,
            Rule::RootOnly | Rule::Never => false,
            Rule::Need(n) => n.met_by(&held(&n.path)),
            Rule::SelfOnly(userid) => userid == authid,
            Rule::All(items) => items.iter().all(|r| r.passes(authid, held)),
            Rule::Any(items) => items.iter().any(|r| r.passes(authid, held)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pve_refusals_name_path_and_privilege() {
        assert_eq!(
            parse_refusal("Permission check failed (/vms/100, VM.PowerMgmt)"),
            Said::Need(Need::new("/vms/100", &["VM.PowerMgmt"], false))
        );
        assert_eq!(
            parse_refusal(
                "Permission check failed (/storage/nfs, Datastore.Audit|Datastore.AllocateSpace)\n"
            ),
            Said::Need(Need::new(
                "/storage/nfs",
                &["Datastore.Audit", "Datastore.AllocateSpace"],
                true
            ))
        );
        assert_eq!(
            parse_refusal("Permission check failed (/, VM.PowerMgmt && VM.Config.Disk)"),
            Said::Need(Need::new("/", &["VM.PowerMgmt", "VM.Config.Disk"], false))
        );
        assert_eq!(
            parse_refusal("Permission check failed (/, Sys.Modify for modifying tag 'web')"),
            Said::Need(Need::new("/", &["Sys.Modify"], false))
        );
        assert_eq!(parse_refusal("Permission check failed"), Said::Nothing);
        assert_eq!(
            parse_refusal("Permission check failed (user != root@pam)"),
            Said::RootOnly("user != root@pam".into())
        );
        assert_eq!(
            parse_refusal(
                "Permission check failed (mount point type bind is only allowed for root@pam)"
            ),
            Said::RootOnly("mount point type bind is only allowed for root@pam".into())
        );
        assert_eq!(
            parse_refusal("Permission check failed (URI '/access/password' not available with API token, need proper ticket.\n)"),
            Said::NoToken
        );
        assert_eq!(
            parse_refusal("Permission check failed (, VM.Audit)"),
            Said::Need(Need::new("", &["VM.Audit"], false))
        );
    }

    #[test]
    fn requests_find_their_endpoint_and_rule() {
        let (e, params) = lookup("POST", "/nodes/pve1/qemu/100/status/start").unwrap();
        assert_eq!(e.path, "/nodes/{node}/qemu/{vmid}/status/start");
        assert_eq!(
            e.check.rule(&params),
            Rule::Need(Need::new("/vms/100", &["VM.PowerMgmt"], false))
        );
        // Percent-encoded segments are decoded for the ACL path.
        let (e, params) = lookup("GET", "/access/users/ops%40pve/token/cli").unwrap();
        assert_eq!(e.path, "/access/users/{userid}/token/{tokenid}");
        let rule = e.check.rule(&params);
        assert_eq!(
            rule.needs(),
            vec![Need::new("/access/groups", &["User.Modify"], false)]
        );
        assert!(rule.passes("ops@pve", &|_| vec![]));
        assert!(!rule.passes("ops@pve!cli", &|_| vec![]));
        assert!(lookup("GET", "/nowhere").is_none());
    }

    #[test]
    fn perm_modify_accepts_the_allocate_privilege() {
        let (e, mut params) = lookup("PUT", "/access/acl").unwrap();
        params.insert("path".into(), "/vms/100".into());
        assert_eq!(
            e.check.rule(&params),
            Rule::Need(Need::new(
                "/vms/100",
                &["Permissions.Modify", "VM.Allocate"],
                true
            ))
        );
    }

    #[test]
    fn creating_a_user_needs_the_realm_and_the_groups() {
        let (e, mut params) = lookup("POST", "/access/users").unwrap();
        params.insert("userid".into(), "alice@pve".into());
        let rule = e.check.rule(&params);
        assert_eq!(
            rule.needs(),
            vec![
                Need::new("/access/realm/pve", &["Realm.AllocateUser"], false),
                Need::new("/access/groups", &["User.Modify"], false),
            ]
        );
        let held = |p: &str| match p {
            "/access/realm/pve" => vec!["Realm.AllocateUser".to_string()],
            _ => vec![],
        };
        assert!(!rule.passes("ops@pve", &held));
        assert!(rule.passes("root@pam", &held));
    }
}
