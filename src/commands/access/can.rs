//! `access can COMMAND…`: the requests a pvectl command line makes, the privileges PVE checks for
//! each (the rules of `api::permissions`, filled in with its guests, node, storage…), and whether
//! the login holds them (PVE's own answer for each path, `GET /access/permissions?path=`).
//!
//! The command line is parsed like any other and its guests are looked up, but nothing of it is
//! run. Checks PVE makes inside a handler rather than in its schema (a backup's guests and
//! storage) are added where pvectl knows them.

use std::collections::BTreeMap;

use clap::ArgMatches;
use serde_json::json;

use super::check::{fail, login};
use super::Ctx;
use crate::api::permissions::{self, Need, Rule};
use crate::api::{access, Client, GuestKind};
use crate::cli::{CanArgs, Selectors};
use crate::error::{self, CliError, ErrorKind};
use crate::output::{col, Column, Kind};
use crate::targets::{self, Guest};

const COLUMNS: [Column; 3] = [
    col("request", "REQUEST", Kind::Text),
    col("needs", "NEEDS", Kind::Text),
    col("held", "HELD", Kind::Flag),
];

/// The requests of each command, by its words (`GUEST` is `vm` or `ct`; `{kind}` its path
/// segment; `WRITE` is POST for a VM's config and PUT for a container's).
const CALLS: &[(&str, &[(&str, &str)])] = &[
    ("version", &[("GET", "/version")]),
    ("cluster status", &[("GET", "/cluster/status")]),
    ("cluster resources", &[("GET", "/cluster/resources")]),
    ("cluster nextid", &[("GET", "/cluster/nextid")]),
    ("nodes list", &[("GET", "/nodes")]),
    ("nodes status", &[("GET", "/nodes/{node}/status")]),
    ("storage list", &[("GET", "/cluster/resources")]),
    (
        "storage status",
        &[("GET", "/nodes/{node}/storage/{storage}/status")],
    ),
    (
        "storage content",
        &[("GET", "/nodes/{node}/storage/{storage}/content")],
    ),
    ("tasks list", &[("GET", "/nodes/{node}/tasks")]),
    (
        "tasks status",
        &[("GET", "/nodes/{node}/tasks/{upid}/status")],
    ),
    ("tasks log", &[("GET", "/nodes/{node}/tasks/{upid}/log")]),
    (
        "tasks wait",
        &[("GET", "/nodes/{node}/tasks/{upid}/status")],
    ),
    ("tasks stop", &[("DELETE", "/nodes/{node}/tasks/{upid}")]),
    ("backup create", &[("POST", "/nodes/{node}/vzdump")]),
    ("backup jobs", &[("GET", "/cluster/backup")]),
    ("GUEST list", &[("GET", "/cluster/resources")]),
    (
        "GUEST status",
        &[("GET", "/nodes/{node}/{kind}/{vmid}/status/current")],
    ),
    (
        "GUEST config",
        &[("GET", "/nodes/{node}/{kind}/{vmid}/config")],
    ),
    (
        "GUEST start",
        &[("POST", "/nodes/{node}/{kind}/{vmid}/status/start")],
    ),
    (
        "GUEST stop",
        &[("POST", "/nodes/{node}/{kind}/{vmid}/status/stop")],
    ),
    (
        "GUEST shutdown",
        &[("POST", "/nodes/{node}/{kind}/{vmid}/status/shutdown")],
    ),
    (
        "GUEST reboot",
        &[("POST", "/nodes/{node}/{kind}/{vmid}/status/reboot")],
    ),
    (
        "GUEST reset",
        &[("POST", "/nodes/{node}/{kind}/{vmid}/status/reset")],
    ),
    (
        "GUEST suspend",
        &[("POST", "/nodes/{node}/{kind}/{vmid}/status/suspend")],
    ),
    (
        "GUEST resume",
        &[("POST", "/nodes/{node}/{kind}/{vmid}/status/resume")],
    ),
    (
        "GUEST set",
        &[
            ("GET", "/nodes/{node}/{kind}/{vmid}/config"),
            ("WRITE", "/nodes/{node}/{kind}/{vmid}/config"),
        ],
    ),
    (
        "GUEST snapshot list",
        &[("GET", "/nodes/{node}/{kind}/{vmid}/snapshot")],
    ),
    (
        "GUEST snapshot create",
        &[("POST", "/nodes/{node}/{kind}/{vmid}/snapshot")],
    ),
    (
        "GUEST snapshot rollback",
        &[(
            "POST",
            "/nodes/{node}/{kind}/{vmid}/snapshot/{snapname}/rollback",
        )],
    ),
    (
        "GUEST snapshot delete",
        &[("DELETE", "/nodes/{node}/{kind}/{vmid}/snapshot/{snapname}")],
    ),
    (
        "GUEST clone",
        &[("POST", "/nodes/{node}/{kind}/{vmid}/clone")],
    ),
    (
        "GUEST migrate",
        &[("POST", "/nodes/{node}/{kind}/{vmid}/migrate")],
    ),
    ("GUEST create", &[("POST", "/nodes/{node}/{kind}")]),
    ("GUEST delete", &[("DELETE", "/nodes/{node}/{kind}/{vmid}")]),
    (
        "GUEST template",
        &[("POST", "/nodes/{node}/{kind}/{vmid}/template")],
    ),
    (
        "ct mount list",
        &[("GET", "/nodes/{node}/lxc/{vmid}/config")],
    ),
    (
        "ct mount add",
        &[
            ("GET", "/nodes/{node}/lxc/{vmid}/config"),
            ("PUT", "/nodes/{node}/lxc/{vmid}/config"),
        ],
    ),
    (
        "ct mount remove",
        &[
            ("GET", "/nodes/{node}/lxc/{vmid}/config"),
            ("PUT", "/nodes/{node}/lxc/{vmid}/config"),
        ],
    ),
    (
        "vm ip",
        &[(
            "GET",
            "/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces",
        )],
    ),
    (
        "vm ssh",
        &[(
            "GET",
            "/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces",
        )],
    ),
    ("ct ip", &[("GET", "/nodes/{node}/lxc/{vmid}/interfaces")]),
    ("ct ssh", &[("GET", "/nodes/{node}/lxc/{vmid}/interfaces")]),
    (
        "vm exec",
        &[
            ("POST", "/nodes/{node}/qemu/{vmid}/agent/exec"),
            ("GET", "/nodes/{node}/qemu/{vmid}/agent/exec-status"),
        ],
    ),
    (
        "vm file get",
        &[("GET", "/nodes/{node}/qemu/{vmid}/agent/file-read")],
    ),
    (
        "vm file put",
        &[("POST", "/nodes/{node}/qemu/{vmid}/agent/file-write")],
    ),
    (
        "GUEST console",
        &[
            ("POST", "/nodes/{node}/{kind}/{vmid}/termproxy"),
            ("GET", "/nodes/{node}/{kind}/{vmid}/vncwebsocket"),
        ],
    ),
    ("FW rules list", &[("GET", "{fw}/rules")]),
    (
        "FW rules add",
        &[("GET", "{fw}/rules"), ("POST", "{fw}/rules")],
    ),
    (
        "FW rules delete",
        &[("GET", "{fw}/rules"), ("DELETE", "{fw}/rules/{pos}")],
    ),
    (
        "FW rules move",
        &[("GET", "{fw}/rules"), ("PUT", "{fw}/rules/{pos}")],
    ),
    (
        "FW rules enable",
        &[("GET", "{fw}/rules"), ("PUT", "{fw}/rules/{pos}")],
    ),
    (
        "FW rules disable",
        &[("GET", "{fw}/rules"), ("PUT", "{fw}/rules/{pos}")],
    ),
    ("FW options show", &[("GET", "{fw}/options")]),
    (
        "FW options set",
        &[("GET", "{fw}/options"), ("PUT", "{fw}/options")],
    ),
    ("FW aliases list", &[("GET", "{fw}/aliases")]),
    ("FW aliases add", &[("POST", "{fw}/aliases")]),
    (
        "FW aliases delete",
        &[("GET", "{fw}/aliases"), ("DELETE", "{fw}/aliases/{name}")],
    ),
    ("FW ipsets list", &[("GET", "{fw}/ipset")]),
    ("FW ipsets add", &[("POST", "{fw}/ipset")]),
    (
        "FW ipsets delete",
        &[
            ("GET", "{fw}/ipset/{name}"),
            ("DELETE", "{fw}/ipset/{name}"),
        ],
    ),
    ("FW ipsets entries list", &[("GET", "{fw}/ipset/{name}")]),
    ("FW ipsets entries add", &[("POST", "{fw}/ipset/{name}")]),
    (
        "FW ipsets entries delete",
        &[
            ("GET", "{fw}/ipset/{name}"),
            ("DELETE", "{fw}/ipset/{name}/{cidr}"),
        ],
    ),
    (
        "FW export",
        &[("GET", "{fw}/options"), ("GET", "{fw}/rules")],
    ),
    (
        "FW apply",
        &[
            ("GET", "{fw}/rules"),
            ("PUT", "{fw}/options"),
            ("POST", "{fw}/rules"),
            ("PUT", "{fw}/rules/{pos}"),
            ("DELETE", "{fw}/rules/{pos}"),
        ],
    ),
    (
        "firewall groups list",
        &[("GET", "/cluster/firewall/groups")],
    ),
    (
        "firewall groups add",
        &[("POST", "/cluster/firewall/groups")],
    ),
    (
        "firewall groups delete",
        &[
            ("GET", "/cluster/firewall/groups/{group}"),
            ("DELETE", "/cluster/firewall/groups/{group}"),
        ],
    ),
    ("firewall macros", &[("GET", "/cluster/firewall/macros")]),
    ("access users list", &[("GET", "/access/users")]),
    ("access users show", &[("GET", "/access/users/{userid}")]),
    ("access users create", &[("POST", "/access/users")]),
    ("access users set", &[("PUT", "/access/users/{userid}")]),
    (
        "access users delete",
        &[("DELETE", "/access/users/{userid}")],
    ),
    ("access groups list", &[("GET", "/access/groups")]),
    ("access groups create", &[("POST", "/access/groups")]),
    (
        "access groups delete",
        &[("DELETE", "/access/groups/{groupid}")],
    ),
    ("access roles list", &[("GET", "/access/roles")]),
    ("access roles show", &[("GET", "/access/roles/{roleid}")]),
    ("access roles create", &[("POST", "/access/roles")]),
    (
        "access roles delete",
        &[("DELETE", "/access/roles/{roleid}")],
    ),
    ("access tokens list", &[("GET", "/access/users")]),
    (
        "access tokens create",
        &[("POST", "/access/users/{userid}/token/{tokenid}")],
    ),
    (
        "access tokens delete",
        &[("DELETE", "/access/users/{userid}/token/{tokenid}")],
    ),
    ("access acl list", &[("GET", "/access/acl")]),
    (
        "access acl grant",
        &[("GET", "/access/acl"), ("PUT", "/access/acl")],
    ),
    (
        "access acl revoke",
        &[("GET", "/access/acl"), ("PUT", "/access/acl")],
    ),
    ("access whoami", &[("GET", "/access/permissions")]),
    ("access check", &[("GET", "/access/permissions")]),
    ("cluster top", &[("GET", "/cluster/resources")]),
    ("nodes services", &[("GET", "/nodes/{node}/services")]),
    (
        "nodes updates",
        &[
            ("POST", "/nodes/{node}/apt/update"),
            ("GET", "/nodes/{node}/apt/update"),
        ],
    ),
    ("nodes reboot", &[("POST", "/nodes/{node}/status")]),
    ("nodes shutdown", &[("POST", "/nodes/{node}/status")]),
    ("nodes drain", DRAIN),
    ("nodes undrain", DRAIN),
    ("ha status", &[("GET", "/cluster/ha/status/current")]),
    ("ha list", &[("GET", "/cluster/ha/resources")]),
    ("ha add", &[("POST", "/cluster/ha/resources")]),
    ("ha set", &[("PUT", "/cluster/ha/resources/{sid}")]),
    ("ha remove", &[("DELETE", "/cluster/ha/resources/{sid}")]),
    (
        "ha migrate",
        &[
            ("POST", "/cluster/ha/resources/{sid}/migrate"),
            ("GET", "/cluster/ha/status/current"),
        ],
    ),
    (
        "ha relocate",
        &[
            ("POST", "/cluster/ha/resources/{sid}/relocate"),
            ("GET", "/cluster/ha/status/current"),
        ],
    ),
    ("ha rules list", &[("GET", "/cluster/ha/rules")]),
    ("ha rules add", &[("POST", "/cluster/ha/rules")]),
    (
        "ha rules remove",
        &[
            ("GET", "/cluster/ha/rules/{rule}"),
            ("DELETE", "/cluster/ha/rules/{rule}"),
        ],
    ),
    ("pool list", &[("GET", "/pools")]),
    ("pool show", &[("GET", "/pools")]),
    ("pool create", &[("POST", "/pools")]),
    (
        "pool delete",
        &[("GET", "/pools"), ("PUT", "/pools"), ("DELETE", "/pools")],
    ),
    ("pool add", &[("GET", "/pools"), ("PUT", "/pools")]),
    ("pool remove", &[("GET", "/pools"), ("PUT", "/pools")]),
    ("GUEST tag add", TAGS),
    ("GUEST tag remove", TAGS),
    ("GUEST tag set", TAGS),
    (
        "GUEST edit",
        &[
            ("GET", "/nodes/{node}/{kind}/{vmid}/config"),
            ("GET", "/cluster/ha/resources"),
            ("GET", "/nodes/{node}/{kind}/{vmid}/firewall/options"),
            ("WRITE", "/nodes/{node}/{kind}/{vmid}/config"),
            ("PUT", "/pools"),
            ("POST", "/cluster/ha/resources"),
            ("PUT", "/cluster/ha/resources/{sid}"),
            ("PUT", "/nodes/{node}/{kind}/{vmid}/firewall/options"),
        ],
    ),
    (
        "GUEST export",
        &[
            ("GET", "/cluster/resources"),
            ("GET", "/cluster/ha/resources"),
            ("GET", "/nodes/{node}/{kind}/{vmid}/config"),
            ("GET", "/nodes/{node}/{kind}/{vmid}/firewall/options"),
        ],
    ),
    (
        "apply",
        &[
            ("GET", "/cluster/resources"),
            ("GET", "/cluster/ha/resources"),
            ("GET", "/pools"),
            ("GET", "/nodes"),
            ("GET", "/nodes/{node}/qemu/{vmid}/config"),
            ("GET", "/nodes/{node}/lxc/{vmid}/config"),
            ("GET", "/nodes/{node}/qemu/{vmid}/firewall/options"),
            ("GET", "/nodes/{node}/lxc/{vmid}/firewall/options"),
            ("POST", "/nodes/{node}/qemu"),
            ("POST", "/nodes/{node}/lxc"),
            ("POST", "/nodes/{node}/qemu/{vmid}/config"),
            ("PUT", "/nodes/{node}/lxc/{vmid}/config"),
            ("PUT", "/pools"),
            ("POST", "/cluster/ha/resources"),
            ("PUT", "/cluster/ha/resources/{sid}"),
            ("PUT", "/nodes/{node}/qemu/{vmid}/firewall/options"),
            ("PUT", "/nodes/{node}/lxc/{vmid}/firewall/options"),
            ("DELETE", "/nodes/{node}/qemu/{vmid}"),
            ("DELETE", "/nodes/{node}/lxc/{vmid}"),
        ],
    ),
];

/// `nodes drain|undrain`: the guests of the node, their configurations (local resources) and the
/// HA rules are read; each guest moves by a migration, or by the HA manager when HA manages it.
const DRAIN: &[(&str, &str)] = &[
    ("GET", "/cluster/resources"),
    ("GET", "/nodes/{node}/qemu/{vmid}/config"),
    ("GET", "/nodes/{node}/lxc/{vmid}/config"),
    ("GET", "/cluster/ha/rules"),
    ("POST", "/nodes/{node}/qemu/{vmid}/migrate"),
    ("POST", "/nodes/{node}/lxc/{vmid}/migrate"),
    ("POST", "/cluster/ha/resources/{sid}/migrate"),
    ("GET", "/cluster/ha/status/current"),
];

/// `vm|ct tag …`: the tags are read and written back at once (`PUT` for both kinds).
const TAGS: &[(&str, &str)] = &[
    ("GET", "/nodes/{node}/{kind}/{vmid}/config"),
    ("PUT", "/nodes/{node}/{kind}/{vmid}/config"),
];

/// Commands that make no request to PVE.
const NO_API: &[&str] = &["config", "man", "completions"];

/// One request a command would make, with the values of its placeholders.
#[derive(Clone, Debug)]
struct Call {
    method: String,
    template: String,
    values: BTreeMap<String, String>,
    /// Checks PVE makes in the handler, which its schema does not show.
    extra: Vec<Need>,
    /// A rule PVE applies in the handler, beside these.
    inline: Option<Rule>,
}

impl Call {
    /// `POST /nodes/pve1/qemu/100/status/start`: the template with what is known filled in.
    fn request(&self) -> String {
        let mut path = self.template.clone();
        for (k, v) in &self.values {
            path = path.replace(&format!("{{{k}}}"), v);
        }
        format!("{} {path}", self.method)
    }

    /// The rule PVE applies, with the handler's own checks.
    fn rule(&self) -> Option<Rule> {
        let e = permissions::endpoint(&self.method, &self.template)?;
        let rule = e.check.rule(&self.values);
        if self.extra.is_empty() && self.inline.is_none() {
            return Some(rule);
        }
        let mut all = vec![rule];
        all.extend(self.extra.iter().cloned().map(Rule::Need));
        all.extend(self.inline.clone());
        Some(Rule::All(all))
    }
}

/// A rule in words.
fn rule_text(rule: &Rule) -> String {
    match rule {
        Rule::Anyone => "any user".into(),
        Rule::RootOnly => "root@pam itself".into(),
        Rule::Need(n) => n.to_string(),
        Rule::SelfOnly(u) => format!("being {u}"),
        Rule::All(items) => {
            let parts: Vec<String> = items
                .iter()
                .filter(|r| **r != Rule::Anyone)
                .map(|r| match r {
                    Rule::Any(alts) if alts.iter().filter(|a| **a != Rule::Never).count() > 1 => {
                        format!("({})", rule_text(r))
                    }
                    _ => rule_text(r),
                })
                .collect();
            if parts.is_empty() {
                "any user".into()
            } else {
                parts.join(" and ")
            }
        }
        Rule::Any(items) => items
            .iter()
            .filter(|r| **r != Rule::Never)
            .map(rule_text)
            .collect::<Vec<_>>()
            .join(", or "),
        Rule::Never => String::new(),
    }
}

fn one(m: &ArgMatches, id: &str) -> Option<String> {
    m.try_get_one::<String>(id).ok().flatten().cloned()
}

fn many(m: &ArgMatches, id: &str) -> Vec<String> {
    m.try_get_many::<String>(id)
        .ok()
        .flatten()
        .map(|v| v.cloned().collect())
        .unwrap_or_default()
}

fn flag(m: &ArgMatches, id: &str) -> bool {
    m.try_get_one::<bool>(id)
        .ok()
        .flatten()
        .copied()
        .unwrap_or(false)
}

fn number(m: &ArgMatches, id: &str) -> Option<String> {
    m.try_get_one::<u32>(id)
        .ok()
        .flatten()
        .map(|n| n.to_string())
}

/// The words of the command and the matches of its last subcommand.
fn words_of(m: &ArgMatches) -> (Vec<String>, &ArgMatches) {
    let mut words = vec![];
    let mut cur = m;
    while let Some((name, sub)) = cur.subcommand() {
        words.push(name.to_string());
        cur = sub;
    }
    (words, cur)
}

/// The calls of a command line, without its guests filled in.
fn templates(words: &[String]) -> Option<(String, Vec<(String, String)>)> {
    let joined = words.join(" ");
    let kind_word = words.first().map(String::as_str);
    let candidates = [
        joined.clone(),
        match kind_word {
            Some("vm") | Some("ct") => format!("GUEST {}", words[1..].join(" ")),
            _ => String::new(),
        },
        match (kind_word, words.get(1).map(String::as_str)) {
            (Some("vm") | Some("ct"), Some("firewall")) => format!("FW {}", words[2..].join(" ")),
            (Some("firewall"), _) => format!("FW {}", words[1..].join(" ")),
            _ => String::new(),
        },
    ];
    for c in candidates.iter().filter(|c| !c.is_empty()) {
        if let Some((_, calls)) = CALLS.iter().find(|(k, _)| k == c) {
            let calls = calls
                .iter()
                .map(|(m, t)| (m.to_string(), t.to_string()))
                .collect();
            return Some((joined, calls));
        }
    }
    None
}

/// The guests a command names (positional, or picked by `--all`).
async fn guests_of(
    client: &Client,
    kind: Option<GuestKind>,
    words: &[String],
    m: &ArgMatches,
) -> anyhow::Result<Vec<Guest>> {
    let mut specs = many(m, "guests");
    specs.extend(one(m, "guest"));
    // `vm|ct tag …`: the guests, then the tags.
    if kind.is_some() && words.get(1).map(String::as_str) == Some("tag") {
        let mut args = many(m, "args");
        args.pop();
        specs.extend(args);
    }
    let all = flag(m, "all");
    if specs.is_empty() && !all {
        return Ok(vec![]);
    }
    let resources = targets::fetch_guests(client).await?;
    let sel = Selectors::default();
    let selection = match kind {
        Some(k) => targets::select(&resources, k, &specs, all, &sel)?,
        None => targets::select_any(&resources, &specs, all, &sel, false)?,
    };
    Ok(selection.guests)
}

/// The calls of a parsed command line, one set per guest it names.
async fn calls(client: &Client, ctx: &Ctx, m: &ArgMatches) -> anyhow::Result<(String, Vec<Call>)> {
    let (words, leaf) = words_of(m);
    let Some((shown, templates)) = templates(&words) else {
        return Err(CliError::usage(format!(
            "pvectl does not know what `{}` needs (try `access can api get|post|put|delete PATH`)",
            words.join(" ")
        ))
        .into());
    };
    let kind = match words.first().map(String::as_str) {
        Some("vm") => Some(GuestKind::Qemu),
        Some("ct") => Some(GuestKind::Lxc),
        _ => None,
    };
    let mut base = BTreeMap::new();
    if let Some(k) = kind {
        base.insert("kind".to_string(), k.as_str().to_string());
    }
    for (id, key) in [
        ("node", "node"),
        ("storage", "storage"),
        ("pool", "pool"),
        ("path", "path"),
        ("roleid", "roleid"),
        ("groupid", "groupid"),
        ("userid", "userid"),
        ("tokenid", "tokenid"),
        ("group", "group"),
        ("name", "name"),
        ("ipset", "name"),
        ("cidr", "cidr"),
        ("upid", "upid"),
        ("target", "target"),
        ("rule", "rule"),
    ] {
        if let Some(v) = one(leaf, id) {
            base.entry(key.to_string()).or_insert(v);
        }
    }
    // `/pools` takes the pool as `poolid`.
    if let Some(p) = base.get("pool").cloned() {
        base.insert("poolid".into(), p);
    }
    if let Some(n) = number(leaf, "pos") {
        base.insert("pos".into(), n);
    }
    if let Some(n) = number(leaf, "newid") {
        base.insert("newid".into(), n);
    }
    // `access tokens …` name the user as `owner`, and may give the full token id there.
    if let Some(u) = one(leaf, "owner") {
        match u.split_once('!') {
            Some((user, t)) => {
                base.insert("userid".into(), user.to_string());
                base.insert("tokenid".into(), t.to_string());
            }
            None => {
                base.insert("userid".into(), u);
            }
        }
    }
    if words.first().map(String::as_str) == Some("access")
        && words.get(1).map(String::as_str) == Some("users")
    {
        if let Some(u) = one(leaf, "userid") {
            base.insert("userid".into(), u);
        }
    }
    // A task's node is in its UPID.
    if let Some(u) = base.get("upid").cloned() {
        if let Ok(upid) = u.parse::<crate::api::Upid>() {
            base.insert("node".into(), upid.node().to_string());
        }
    }
    if words.first().map(String::as_str) == Some("access")
        && words.get(1).map(String::as_str) == Some("acl")
    {
        // The role's name is positional `role`.
        if let Some(r) = one(leaf, "role") {
            base.insert("roles".into(), r);
        }
    }
    let node_default = ctx.node_or(None);
    if !base.contains_key("node") {
        if let Some(n) = &node_default {
            base.insert("node".into(), n.clone());
        }
    }
    // A storage is read on a node that has it.
    if let (Some(storage), false) = (base.get("storage").cloned(), base.contains_key("node")) {
        if words.first().map(String::as_str) == Some("storage") {
            if let Some(n) = super::super::kit::storage_nodes(client, &storage)
                .await?
                .first()
            {
                base.insert("node".into(), n.clone());
            }
        }
    }
    // A new guest's VMID: the one given, else the next free one (what the command would take).
    let verb = words.get(1).map(String::as_str);
    let mut new_vmid = None;
    if kind.is_some() && matches!(verb, Some("clone") | Some("create")) {
        let given = match verb {
            Some("clone") => base.get("newid").cloned(),
            _ => many(leaf, "args")
                .into_iter()
                .find(|a| a.chars().all(|c| c.is_ascii_digit())),
        };
        let id = match given {
            Some(id) => id,
            None => crate::api::cluster::next_id(client).await?.to_string(),
        };
        base.insert("newid".into(), id.clone());
        new_vmid = Some(id);
    }
    let guests = guests_of(client, kind, &words, leaf).await?;
    // The firewall a `firewall …` command is about, as a template.
    let fw = |g: Option<&Guest>| -> String {
        if g.is_some() {
            "/nodes/{node}/{kind}/{vmid}/firewall".into()
        } else if base.contains_key("group") {
            "/cluster/firewall/groups/{group}".into()
        } else if one(leaf, "node").is_some() {
            "/nodes/{node}/firewall".into()
        } else {
            "/cluster/firewall".into()
        }
    };
    let mut out = vec![];
    let targets: Vec<Option<&Guest>> = if guests.is_empty() {
        vec![None]
    } else {
        guests.iter().map(Some).collect()
    };
    for g in targets {
        let mut values = base.clone();
        if let Some(g) = g {
            values.insert("node".into(), g.node.clone());
            values.insert("vmid".into(), g.vmid.to_string());
            values.insert("kind".into(), g.kind.as_str().to_string());
            values.insert("sid".into(), crate::api::ha::sid(g.kind, g.vmid));
        }
        for (method, template) in &templates {
            let base_fw = fw(g);
            let mut template = if base_fw.starts_with("/cluster/firewall/groups/") {
                // A security group's rules are the group itself.
                template
                    .replace("{fw}/rules", &base_fw)
                    .replace("{fw}", &base_fw)
            } else {
                template.replace("{fw}", &base_fw)
            };
            if let Some(k) = values.get("kind") {
                template = template.replace("{kind}", k);
            }
            let method = match method.as_str() {
                "WRITE" if values.get("kind").map(String::as_str) == Some("lxc") => {
                    "PUT".to_string()
                }
                "WRITE" => "POST".to_string(),
                m => m.to_string(),
            };
            let mut call = Call {
                method,
                template,
                values: values.clone(),
                extra: vec![],
                inline: None,
            };
            // PVE checks a new guest's VMID inside the handler of `create`.
            if verb == Some("create") {
                if let Some(id) = &new_vmid {
                    let pool = values.get("pool").cloned();
                    let own = Rule::Need(Need::new(&format!("/vms/{id}"), &["VM.Allocate"], false));
                    call.inline = Some(match pool {
                        Some(p) => Rule::Any(vec![
                            own,
                            Rule::Need(Need::new(&format!("/pool/{p}"), &["VM.Allocate"], false)),
                        ]),
                        None => own,
                    });
                }
            }
            // `apply` creates the guests its files describe: PVE checks the new VMID (which the
            // files name) in the handler.
            if words.first().map(String::as_str) == Some("apply")
                && call.method == "POST"
                && (call.template.ends_with("/qemu") || call.template.ends_with("/lxc"))
            {
                call.inline = Some(Rule::Need(Need::new("/vms", &["VM.Allocate"], false)));
            }
            if words.first().map(String::as_str) == Some("backup") {
                if let Some(g) = g {
                    call.values.insert("node".into(), g.node.clone());
                    call.extra.push(Need::new(
                        &format!("/vms/{}", g.vmid),
                        &["VM.Backup"],
                        false,
                    ));
                }
                let storage = call
                    .values
                    .get("storage")
                    .cloned()
                    .unwrap_or_else(|| "local".into());
                call.extra.push(Need::new(
                    &format!("/storage/{storage}"),
                    &["Datastore.AllocateSpace"],
                    false,
                ));
            }
            // One request for all the guests (`pool add`) is shown once.
            let same = |c: &Call| c.request() == call.request() && c.rule() == call.rule();
            if !out.iter().any(same) {
                out.push(call);
            }
        }
    }
    Ok((shown, out))
}

/// `access can api METHOD PATH`: the raw request as it is.
fn raw_call(leaf: &ArgMatches, method: &str) -> Option<Call> {
    let path = one(leaf, "path")?;
    let path = if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    };
    let (e, values) = permissions::lookup(method, &path)?;
    Some(Call {
        method: e.method.to_string(),
        template: e.path.to_string(),
        values,
        extra: vec![],
        inline: None,
    })
}

pub async fn run(ctx: &Ctx, a: CanArgs) -> anyhow::Result<()> {
    let mut argv = vec!["pvectl".to_string()];
    argv.extend(a.command.iter().cloned());
    let matches = crate::cli::command()
        .try_get_matches_from(&argv)
        .map_err(|e| {
            let text = e.to_string();
            let first = text
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("error: ")
                .to_string();
            CliError::usage(format!(
                "`{}` is no pvectl command: {first}",
                a.command.join(" ")
            ))
        })?;
    let (words, leaf) = words_of(&matches);
    let shown = a.command.join(" ");
    if words.first().is_some_and(|w| NO_API.contains(&w.as_str())) {
        return no_request(ctx, &shown);
    }
    let client = ctx.client()?;
    let login = login(&client)?;
    let (_, calls) = if words.first().map(String::as_str) == Some("api") {
        let method = words
            .get(1)
            .map(|m| m.to_ascii_uppercase())
            .unwrap_or_default();
        let call = raw_call(leaf, &method).ok_or_else(|| {
            CliError::usage(format!(
                "pvectl does not know the permissions of {method} {}",
                one(leaf, "path").unwrap_or_default()
            ))
        })?;
        (words.join(" "), vec![call])
    } else {
        calls(&client, ctx, &matches).await?
    };
    // PVE's answer for each path the rules name.
    let rules: Vec<Option<Rule>> = calls.iter().map(Call::rule).collect();
    let mut paths: Vec<String> = rules
        .iter()
        .flatten()
        .flat_map(needs_of)
        .map(|n| n.path)
        .collect();
    paths.sort();
    paths.dedup();
    let mut held: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in &paths {
        let perms = access::permissions(&client, None, Some(p)).await?;
        held.insert(p.clone(), access::held_at(&perms, p));
    }
    let lookup = |p: &str| held.get(p).cloned().unwrap_or_default();
    let mut rows = vec![];
    let mut missing: Vec<Need> = vec![];
    let mut all_ok = true;
    for (call, rule) in calls.iter().zip(&rules) {
        let (text, ok) = match rule {
            Some(r) => {
                let ok = r.passes(&login.authid, &lookup);
                if !ok {
                    missing.extend(
                        needs_of(r)
                            .into_iter()
                            .filter(|n| !n.met_by(&lookup(&n.path))),
                    );
                }
                (rule_text(r), ok)
            }
            None => ("(not known)".to_string(), true),
        };
        all_ok &= ok;
        rows.push(json!({
            "request": call.request(),
            "needs": text,
            "held": ok,
            "needs_privileges": rule.as_ref().map(needs_of).unwrap_or_default(),
        }));
    }
    if ctx.out.structured() {
        ctx.out.json(&json!({
            "authid": login.authid,
            "command": shown,
            "allowed": all_ok,
            "requests": rows,
        }))?;
    } else {
        ctx.out.list(&COLUMNS, &rows)?;
    }
    if all_ok {
        return Ok(());
    }
    let root_only = rules.iter().flatten().any(Rule::root_only);
    let hint = if missing.is_empty() && root_only {
        Some(
            "only root@pam logged in with a password may do this; run the command with --user root@pam"
                .to_string(),
        )
    } else if missing.is_empty() {
        None
    } else {
        missing.dedup();
        let facts = client.facts(login.clone(), &missing).await;
        Some(error::privileges_advice(&missing, false, &facts))
    };
    Err(fail(
        ctx,
        ErrorKind::Auth,
        &format!("{} lacks what `{shown}` needs", login.authid),
        hint,
    ))
}

/// A command that makes no request to PVE needs no privilege.
fn no_request(ctx: &Ctx, shown: &str) -> anyhow::Result<()> {
    if ctx.out.structured() {
        return ctx.out.json(&json!({
            "command": shown,
            "allowed": true,
            "requests": [],
        }));
    }
    ctx.out.info(&format!(
        "`{shown}` makes no request to PVE: it needs no privileges"
    ));
    Ok(())
}

/// The needs of a rule (every alternative's, for a table).
fn needs_of(rule: &Rule) -> Vec<Need> {
    match rule {
        Rule::Need(n) => vec![n.clone()],
        Rule::All(items) | Rule::Any(items) => items.iter().flat_map(needs_of).collect(),
        _ => vec![],
    }
}
