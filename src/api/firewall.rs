//! `…/firewall/…`: the firewall of the cluster, of a node, of a guest, and the cluster's security
//! groups: options, rules, aliases, IP sets and macros (pve-firewall's API).
//!
//! PVE quirks kept here: a new rule always goes to the top whatever `pos` says (it is moved after),
//! `moveto` puts a rule in front of the one at that position counted before the move, a node's
//! firewall has no aliases or IP sets, and every list carries one `digest` on each of its entries
//! (none when the list is empty).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::de::{self, truthy};
use super::guest::{GuestKind, GuestRef, Located};
use super::{nodes, seg, ApiError, Client, Params};

/// Where a firewall configuration lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    Cluster,
    Node(String),
    Guest(GuestRef),
    /// A security group of the cluster (rules only).
    Group(String),
}

impl Scope {
    /// `/cluster/firewall`, `/nodes/{node}/firewall`, `/nodes/{node}/{qemu|lxc}/{vmid}/firewall`.
    pub fn base(&self) -> String {
        match self {
            Scope::Cluster | Scope::Group(_) => "/cluster/firewall".into(),
            Scope::Node(n) => format!("{}/firewall", nodes::path(n)),
            Scope::Guest(g) => format!("{}/firewall", g.path()),
        }
    }

    fn rules_path(&self) -> String {
        match self {
            Scope::Group(g) => format!("/cluster/firewall/groups/{}", seg(g)),
            other => format!("{}/rules", other.base()),
        }
    }

    fn rule_path(&self, pos: u32) -> String {
        format!("{}/{pos}", self.rules_path())
    }

    /// Errors of a request at this scope: a node name PVE does not know is `NoSuchNode`.
    fn errors(&self) -> impl FnOnce(ApiError) -> ApiError + '_ {
        move |e| match self {
            Scope::Node(n) => nodes::unknown(n)(e),
            _ => e,
        }
    }

    /// Whether the scope has aliases and IP sets of its own (a node has neither).
    pub fn has_objects(&self) -> bool {
        matches!(self, Scope::Cluster | Scope::Guest(_))
    }

    /// Whether the scope has options (a security group has none).
    pub fn has_options(&self) -> bool {
        !matches!(self, Scope::Group(_))
    }

    /// The rule types PVE allows here (`verify_rule`'s rule environments).
    pub fn rule_types(&self) -> &'static [&'static str] {
        match self {
            Scope::Cluster | Scope::Node(_) => &["in", "out", "forward", "group"],
            Scope::Group(_) => &["in", "out", "forward"],
            Scope::Guest(_) => &["in", "out", "group"],
        }
    }

    /// The options PVE takes at this scope (`PUT …/options`), in its order.
    pub fn option_names(&self) -> &'static [&'static str] {
        match self {
            Scope::Cluster => &[
                "enable",
                "policy_in",
                "policy_out",
                "policy_forward",
                "log_ratelimit",
                "ebtables",
            ],
            Scope::Node(_) => &[
                "enable",
                "log_level_in",
                "log_level_out",
                "log_level_forward",
                "log_nf_conntrack",
                "ndp",
                "nf_conntrack_allow_invalid",
                "nf_conntrack_helpers",
                "nf_conntrack_max",
                "nf_conntrack_tcp_timeout_established",
                "nf_conntrack_tcp_timeout_syn_recv",
                "nftables",
                "nosmurfs",
                "protection_synflood",
                "protection_synflood_burst",
                "protection_synflood_rate",
                "smurf_log_level",
                "tcp_flags_log_level",
                "tcpflags",
            ],
            Scope::Guest(_) => &[
                "enable",
                "policy_in",
                "policy_out",
                "log_level_in",
                "log_level_out",
                "dhcp",
                "ipfilter",
                "macfilter",
                "ndp",
                "radv",
            ],
            Scope::Group(_) => &[],
        }
    }
}

/// A guest's firewall scope.
pub fn guest_scope(kind: GuestKind, node: &str, vmid: u32) -> Scope {
    Scope::Guest(GuestRef {
        kind,
        node: node.to_string(),
        vmid,
    })
}

/// The digest of a list as PVE lists it: the same on every entry, none when it is empty.
pub fn list_digest(entries: &[Map<String, Value>]) -> Option<String> {
    entries
        .first()
        .and_then(|e| e.get("digest"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

// ------------------------------------------------------------------------------------- rules

/// A firewall rule with PVE's field names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Rule {
    /// `in`, `out`, `forward` or `group`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `ACCEPT`, `DROP`, `REJECT`, or the security group of a `group` rule.
    pub action: String,
    #[serde(
        rename = "macro",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub macro_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iface: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub proto: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub dport: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub sport: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub icmp_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    #[serde(
        default = "enabled",
        deserialize_with = "de::flag",
        serialize_with = "de::ser_flag"
    )]
    pub enable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

fn enabled() -> bool {
    true
}

impl Rule {
    /// A rule as PVE lists it (its `pos`, `digest` and `ipversion` are PVE's own).
    pub fn from_entry(entry: &Map<String, Value>) -> Result<Rule, ApiError> {
        let mut e = entry.clone();
        for k in ["pos", "digest", "ipversion", "errors"] {
            e.remove(k);
        }
        // A rule PVE lists without `enable` is off (PVE writes new rules with enable=0).
        e.entry("enable").or_insert(Value::from(0));
        serde_json::from_value(Value::Object(e)).map_err(|err| ApiError::Decode {
            context: "a firewall rule".into(),
            detail: err.to_string(),
        })
    }

    /// The parameters of a create or update: every field, `enable` as 1 or 0.
    pub fn params(&self) -> Params {
        let mut p = Params::new()
            .set("type", &self.kind)
            .set("action", &self.action);
        for (k, v) in [
            ("macro", &self.macro_name),
            ("iface", &self.iface),
            ("source", &self.source),
            ("dest", &self.dest),
            ("proto", &self.proto),
            ("dport", &self.dport),
            ("sport", &self.sport),
            ("icmp-type", &self.icmp_type),
            ("log", &self.log),
            ("comment", &self.comment),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                p.push(k, v);
            }
        }
        p.flag("enable", self.enable)
    }

    /// The same rule, ignoring what PVE spells its own way (a macro's case).
    pub fn same(&self, other: &Rule) -> bool {
        let norm = |r: &Rule| {
            let mut r = r.clone();
            r.macro_name = r.macro_name.map(|m| m.to_ascii_lowercase());
            r.comment = r.comment.filter(|c| !c.is_empty());
            r.log = r.log.filter(|l| l != "nolog");
            r
        };
        norm(self) == norm(other)
    }
}

/// `GET …/rules`: the rules in order, as PVE lists them (with `pos` and the list's `digest`).
pub async fn rules(client: &Client, scope: &Scope) -> Result<Vec<Map<String, Value>>, ApiError> {
    client
        .get(&scope.rules_path(), &Params::new())
        .await
        .map_err(scope.errors())
}

/// `POST …/rules`: PVE puts the new rule at the top (position 0) whatever `pos` says.
pub async fn add_rule(
    client: &Client,
    scope: &Scope,
    rule: &Rule,
    digest: Option<&str>,
) -> Result<(), ApiError> {
    let params = rule.params().opt("digest", digest);
    let _: Value = client
        .post(&scope.rules_path(), &params)
        .await
        .map_err(scope.errors())?;
    Ok(())
}

/// `PUT …/rules/{pos}`: change fields of a rule (`delete` lists fields to clear).
pub async fn update_rule(
    client: &Client,
    scope: &Scope,
    pos: u32,
    params: Params,
    digest: Option<&str>,
) -> Result<(), ApiError> {
    let params = params.opt("digest", digest);
    let _: Value = client
        .put(&scope.rule_path(pos), &params)
        .await
        .map_err(scope.errors())?;
    Ok(())
}

/// PVE's `moveto` for a rule at `from` that should end at position `to` (it goes in front of
/// the rule at `moveto`, counted before the move).
pub fn moveto(from: u32, to: u32) -> u32 {
    if to > from {
        to + 1
    } else {
        to
    }
}

/// `PUT …/rules/{pos}` with `moveto`: the rule at `from` ends at position `to`.
pub async fn move_rule(
    client: &Client,
    scope: &Scope,
    from: u32,
    to: u32,
    digest: Option<&str>,
) -> Result<(), ApiError> {
    let params = Params::new().set("moveto", moveto(from, to));
    update_rule(client, scope, from, params, digest).await
}

/// `DELETE …/rules/{pos}`.
pub async fn delete_rule(
    client: &Client,
    scope: &Scope,
    pos: u32,
    digest: Option<&str>,
) -> Result<(), ApiError> {
    let params = Params::new().opt("digest", digest);
    let _: Value = client
        .delete(&scope.rule_path(pos), &params)
        .await
        .map_err(scope.errors())?;
    Ok(())
}

// ----------------------------------------------------------------------------------- options

/// `GET …/options` (with its `digest`).
pub async fn options(client: &Client, scope: &Scope) -> Result<Map<String, Value>, ApiError> {
    client
        .get(&format!("{}/options", scope.base()), &Params::new())
        .await
        .map_err(scope.errors())
}

/// `PUT …/options`: set some options, clear others (`delete`).
pub async fn set_options(
    client: &Client,
    scope: &Scope,
    set: &[(String, String)],
    delete: &[String],
    digest: Option<&str>,
) -> Result<(), ApiError> {
    let mut params = Params::new();
    for (k, v) in set {
        params.push(k, v);
    }
    if !delete.is_empty() {
        params.push("delete", delete.join(","));
    }
    let params = params.opt("digest", digest);
    let _: Value = client
        .put(&format!("{}/options", scope.base()), &params)
        .await
        .map_err(scope.errors())?;
    Ok(())
}

// ----------------------------------------------------------------------------------- aliases

/// `GET …/aliases` (`name`, `cidr`, `comment`, `ipversion`, `digest`).
pub async fn aliases(client: &Client, scope: &Scope) -> Result<Vec<Map<String, Value>>, ApiError> {
    client
        .get(&format!("{}/aliases", scope.base()), &Params::new())
        .await
        .map_err(scope.errors())
}

/// `POST …/aliases`.
pub async fn add_alias(
    client: &Client,
    scope: &Scope,
    name: &str,
    cidr: &str,
    comment: Option<&str>,
) -> Result<(), ApiError> {
    let params = Params::new()
        .set("name", name)
        .set("cidr", cidr)
        .opt("comment", comment.filter(|c| !c.is_empty()));
    let _: Value = client
        .post(&format!("{}/aliases", scope.base()), &params)
        .await
        .map_err(scope.errors())?;
    Ok(())
}

/// `PUT …/aliases/{name}`: a new address or comment.
pub async fn update_alias(
    client: &Client,
    scope: &Scope,
    name: &str,
    cidr: &str,
    comment: Option<&str>,
    digest: Option<&str>,
) -> Result<(), ApiError> {
    let params = Params::new()
        .set("cidr", cidr)
        .opt("comment", comment.filter(|c| !c.is_empty()))
        .opt("digest", digest);
    let _: Value = client
        .put(&format!("{}/aliases/{}", scope.base(), seg(name)), &params)
        .await
        .map_err(scope.errors())?;
    Ok(())
}

/// `DELETE …/aliases/{name}`.
pub async fn delete_alias(
    client: &Client,
    scope: &Scope,
    name: &str,
    digest: Option<&str>,
) -> Result<(), ApiError> {
    let params = Params::new().opt("digest", digest);
    let _: Value = client
        .delete(&format!("{}/aliases/{}", scope.base(), seg(name)), &params)
        .await
        .map_err(scope.errors())?;
    Ok(())
}

// ------------------------------------------------------------------------------------ ipsets

fn ipset_path(scope: &Scope, name: &str) -> String {
    format!("{}/ipset/{}", scope.base(), seg(name))
}

/// `GET …/ipset` (`name`, `comment`, `digest`).
pub async fn ipsets(client: &Client, scope: &Scope) -> Result<Vec<Map<String, Value>>, ApiError> {
    client
        .get(&format!("{}/ipset", scope.base()), &Params::new())
        .await
        .map_err(scope.errors())
}

/// `POST …/ipset`: a new, empty IP set.
pub async fn add_ipset(
    client: &Client,
    scope: &Scope,
    name: &str,
    comment: Option<&str>,
) -> Result<(), ApiError> {
    let params = Params::new()
        .set("name", name)
        .opt("comment", comment.filter(|c| !c.is_empty()));
    let _: Value = client
        .post(&format!("{}/ipset", scope.base()), &params)
        .await
        .map_err(scope.errors())?;
    Ok(())
}

/// `DELETE …/ipset/{name}`; `force` deletes it with its entries (else PVE refuses a non-empty one).
pub async fn delete_ipset(
    client: &Client,
    scope: &Scope,
    name: &str,
    force: bool,
) -> Result<(), ApiError> {
    let params = Params::new().flag_if("force", force);
    let _: Value = client
        .delete(&ipset_path(scope, name), &params)
        .await
        .map_err(scope.errors())?;
    Ok(())
}

/// `GET …/ipset/{name}`: its entries (`cidr`, `comment`, `nomatch`, `digest`).
pub async fn ipset_entries(
    client: &Client,
    scope: &Scope,
    name: &str,
) -> Result<Vec<Map<String, Value>>, ApiError> {
    client
        .get(&ipset_path(scope, name), &Params::new())
        .await
        .map_err(scope.errors())
}

/// `POST …/ipset/{name}`: add an address or network (`nomatch` excludes it).
pub async fn add_ipset_entry(
    client: &Client,
    scope: &Scope,
    name: &str,
    entry: &IpsetEntry,
) -> Result<(), ApiError> {
    let params = Params::new()
        .set("cidr", &entry.cidr)
        .flag_if("nomatch", entry.nomatch)
        .opt(
            "comment",
            entry.comment.as_deref().filter(|c| !c.is_empty()),
        );
    let _: Value = client
        .post(&ipset_path(scope, name), &params)
        .await
        .map_err(scope.errors())?;
    Ok(())
}

/// `DELETE …/ipset/{name}/{cidr}`.
pub async fn delete_ipset_entry(
    client: &Client,
    scope: &Scope,
    name: &str,
    cidr: &str,
    digest: Option<&str>,
) -> Result<(), ApiError> {
    let params = Params::new().opt("digest", digest);
    let _: Value = client
        .delete(
            &format!("{}/{}", ipset_path(scope, name), seg(cidr)),
            &params,
        )
        .await
        .map_err(scope.errors())?;
    Ok(())
}

/// An entry of an IP set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpsetEntry {
    pub cidr: String,
    #[serde(
        default,
        skip_serializing_if = "std::ops::Not::not",
        deserialize_with = "de::flag",
        serialize_with = "de::ser_flag"
    )]
    pub nomatch: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl IpsetEntry {
    pub fn from_entry(e: &Map<String, Value>) -> IpsetEntry {
        IpsetEntry {
            cidr: e.get("cidr").map(de::text).unwrap_or_default(),
            nomatch: e.get("nomatch").is_some_and(truthy),
            comment: e.get("comment").map(de::text).filter(|c| !c.is_empty()),
        }
    }
}

/// PVE refused a change because the configuration changed since its digest was read.
pub fn digest_conflict(e: &ApiError) -> bool {
    let m = e.message();
    m.contains("detected modified configuration") || m.contains("checksum mismatch")
}

/// A name a rule refers to that PVE does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnknownName {
    Macro(String),
    Alias(String),
    Ipset(String),
    Group(String),
}

/// Whether PVE refused a rule (or an entry) for naming a macro, alias, IP set or security group it
/// does not know (`verify_rule`'s field errors, `no such security group`).
pub fn unknown_name(e: &ApiError) -> Option<UnknownName> {
    let (message, errors) = match e {
        ApiError::Refused {
            message, errors, ..
        } => (message, Some(errors)),
        // PVE's "no such alias" reads as not found.
        ApiError::NotFound { message } => (message, None),
        _ => return None,
    };
    let quoted = |m: &str| m.split('\'').nth(1).unwrap_or("").to_string();
    for text in errors
        .into_iter()
        .flat_map(|e| e.values())
        .chain(std::iter::once(message))
    {
        if text.contains("unknown macro") {
            return Some(UnknownName::Macro(quoted(text)));
        }
        if text.contains("no such alias") {
            return Some(UnknownName::Alias(quoted(text)));
        }
        if text.contains("no such ipset") || text.contains("no such IPSet") {
            return Some(UnknownName::Ipset(quoted(text)));
        }
        if text.contains("no such security group") {
            return Some(UnknownName::Group(quoted(text)));
        }
    }
    None
}

// ----------------------------------------------------------------------------------- groups

/// `GET /cluster/firewall/groups` (`group`, `comment`, `digest`).
pub async fn groups(client: &Client) -> Result<Vec<Map<String, Value>>, ApiError> {
    client.get("/cluster/firewall/groups", &Params::new()).await
}

/// `POST /cluster/firewall/groups`: a new, empty security group.
pub async fn add_group(client: &Client, name: &str, comment: Option<&str>) -> Result<(), ApiError> {
    let params = Params::new()
        .set("group", name)
        .opt("comment", comment.filter(|c| !c.is_empty()));
    let _: Value = client.post("/cluster/firewall/groups", &params).await?;
    Ok(())
}

/// `DELETE /cluster/firewall/groups/{group}` (PVE refuses a group that still has rules).
pub async fn delete_group(client: &Client, name: &str) -> Result<(), ApiError> {
    let _: Value = client
        .delete(
            &format!("/cluster/firewall/groups/{}", seg(name)),
            &Params::new(),
        )
        .await?;
    Ok(())
}

/// `GET /cluster/firewall/macros`: the macros PVE knows (`macro`, `descr`).
pub async fn macros(client: &Client) -> Result<Vec<Map<String, Value>>, ApiError> {
    client.get("/cluster/firewall/macros", &Params::new()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scopes_have_pves_paths() {
        assert_eq!(Scope::Cluster.base(), "/cluster/firewall");
        assert_eq!(Scope::Node("pve1".into()).base(), "/nodes/pve1/firewall");
        let g = guest_scope(GuestKind::Lxc, "pve2", 101);
        assert_eq!(g.rules_path(), "/nodes/pve2/lxc/101/firewall/rules");
        assert_eq!(
            Scope::Group("web".into()).rule_path(2),
            "/cluster/firewall/groups/web/2"
        );
        assert!(!Scope::Node("pve1".into()).has_objects());
    }

    #[test]
    fn moving_counts_positions_before_the_move() {
        // Down: in front of the rule after the target position.
        assert_eq!(moveto(0, 2), 3);
        // Up: in front of the rule now at the target.
        assert_eq!(moveto(3, 1), 1);
        assert_eq!(moveto(2, 2), 2);
    }

    #[test]
    fn rules_read_as_pve_lists_them() {
        let e = json!({"pos": 0, "digest": "abc", "type": "in", "action": "ACCEPT",
                       "macro": "SSH", "enable": 1, "ipversion": 4, "source": "10.0.0.0/8"});
        let r = Rule::from_entry(e.as_object().unwrap()).unwrap();
        assert_eq!(r.macro_name.as_deref(), Some("SSH"));
        assert!(r.enable);
        let mut other = r.clone();
        other.macro_name = Some("ssh".into());
        assert!(r.same(&other));
        let p = r.params();
        assert_eq!(p.get("enable"), Some("1"));
        assert_eq!(p.get("macro"), Some("SSH"));
        assert_eq!(p.get("pos"), None);
        // Without `enable`, PVE's rule is off.
        let e = json!({"type": "out", "action": "DROP"});
        assert!(!Rule::from_entry(e.as_object().unwrap()).unwrap().enable);
    }
}
