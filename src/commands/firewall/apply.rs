//! `firewall apply FILE`: make a scope's firewall match a document, in an order that never leaves
//! it more open than it was before or will be after.
//!
//! The order: first what opens nothing (new aliases, IP sets and security groups, still unused;
//! options that close, such as `enable=1` or a `DROP` policy), then what only closes (rules that
//! accept leave, rules that drop or reject arrive, addresses join sets that only drop), then what
//! may do both (an alias's new address), then what opens (rules that accept arrive, rules that
//! drop leave, options that open), and last the objects no longer used are deleted. While the
//! closing part runs the firewall is at most as open as before (removing an accepting rule, or
//! adding a dropping one, can only close); while the opening part runs it is at most as open as the
//! document (it is the document with accepting rules still missing and dropping rules still there).
//! A rule that jumps to a security group counts as accepting when the group accepts anything,
//! and as dropping when it drops anything. Every change sends the digest of the list as it was just
//! read, and the list is compared with what pvectl expects first: an edit made by someone else in
//! the middle stops the run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::document::{self, Document, Group};
use super::options::option_value;
use super::rules::check_rule;
use super::{refused, rule_text, Ctx, Place};
use crate::api::firewall::{self, IpsetEntry, Rule, Scope};
use crate::api::Client;
use crate::cli::OutputFormat;
use crate::error::{CliError, ErrorKind, Reported};
use crate::output::progress::Progress;
use crate::task::{report, ActionResult};

/// What a rule does to traffic, for the order of changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    Opens,
    Closes,
    Both,
    None,
}

impl Effect {
    fn join(self, other: Effect) -> Effect {
        match (self, other) {
            (Effect::None, e) | (e, Effect::None) => e,
            (a, b) if a == b => a,
            _ => Effect::Both,
        }
    }
}

/// Which list of rules: the scope's, or a security group's (applying the cluster).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum List {
    Main,
    Group(String),
}

/// One change, in the order it is made.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
enum Step {
    AliasAdd {
        name: String,
        cidr: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    AliasUpdate {
        name: String,
        cidr: String,
        old_cidr: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    AliasDelete {
        name: String,
    },
    IpsetAdd {
        name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    IpsetDelete {
        name: String,
    },
    EntryAdd {
        ipset: String,
        #[serde(flatten)]
        entry: IpsetEntry,
    },
    EntryDelete {
        ipset: String,
        cidr: String,
    },
    GroupAdd {
        name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    GroupDelete {
        name: String,
    },
    Options {
        set: BTreeMap<String, String>,
        delete: Vec<String>,
        #[serde(skip)]
        was: BTreeMap<String, String>,
    },
    RuleAdd {
        #[serde(skip_serializing_if = "Option::is_none")]
        group: Option<String>,
        position: usize,
        rule: Rule,
    },
    RuleDelete {
        #[serde(skip_serializing_if = "Option::is_none")]
        group: Option<String>,
        rule: Rule,
        /// Which rule of the list as it was read (pvectl's own bookkeeping).
        #[serde(skip)]
        id: usize,
    },
}

fn group_of(list: &List) -> Option<String> {
    match list {
        List::Main => None,
        List::Group(g) => Some(g.clone()),
    }
}

fn list_of(group: &Option<String>) -> List {
    match group {
        None => List::Main,
        Some(g) => List::Group(g.clone()),
    }
}

impl Step {
    /// The change as a line of the plan: `+` adds, `-` removes, `~` changes.
    fn line(&self) -> String {
        let in_group = |g: &Option<String>| match g {
            Some(g) => format!(" (security group {g})"),
            None => String::new(),
        };
        match self {
            Step::AliasAdd { name, cidr, .. } => format!("+ alias {name} = {cidr}"),
            Step::AliasUpdate {
                name,
                cidr,
                old_cidr,
                ..
            } => format!("~ alias {name} = {cidr} (was {old_cidr})"),
            Step::AliasDelete { name } => format!("- alias {name}"),
            Step::IpsetAdd { name, .. } => format!("+ ipset {name}"),
            Step::IpsetDelete { name } => format!("- ipset {name}"),
            Step::EntryAdd { ipset, entry } => format!(
                "+ ipset {ipset}: {}{}",
                if entry.nomatch { "!" } else { "" },
                entry.cidr
            ),
            Step::EntryDelete { ipset, cidr } => format!("- ipset {ipset}: {cidr}"),
            Step::GroupAdd { name, .. } => format!("+ security group {name}"),
            Step::GroupDelete { name } => format!("- security group {name}"),
            Step::Options { set, delete, was } => {
                let mut parts: Vec<String> = set
                    .iter()
                    .map(|(k, v)| match was.get(k) {
                        Some(old) => format!("{k}={v} (was {old})"),
                        None => format!("{k}={v}"),
                    })
                    .collect();
                parts.extend(delete.iter().map(|k| match was.get(k) {
                    Some(old) => format!("-{k} (was {old})"),
                    None => format!("-{k}"),
                }));
                format!("~ options {}", parts.join(" "))
            }
            Step::RuleAdd {
                group,
                position,
                rule,
            } => format!("+ rule {position}{}: {}", in_group(group), rule_text(rule)),
            Step::RuleDelete { group, rule, .. } => {
                format!("- rule{}: {}", in_group(group), rule_text(rule))
            }
        }
    }
}

/// A rule of a list as pvectl keeps track of it while applying: where it ends (None: it goes).
#[derive(Clone, Debug)]
struct Item {
    rule: Rule,
    id: usize,
    end: Option<usize>,
}

/// The longest common subsequence of two rule lists: pairs (index in `old`, index in `new`).
fn common(old: &[Rule], new: &[Rule]) -> Vec<(usize, usize)> {
    let (n, m) = (old.len(), new.len());
    let mut len = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            len[i][j] = if old[i].same(&new[j]) {
                len[i + 1][j + 1] + 1
            } else {
                len[i + 1][j].max(len[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, vec![]);
    while i < n && j < m {
        if old[i].same(&new[j]) {
            out.push((i, j));
            i += 1;
            j += 1;
        } else if len[i + 1][j] >= len[i][j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// What a rule does: accepting opens, dropping or rejecting closes, a group rule what its group
/// does, a disabled rule nothing.
fn effect(rule: &Rule, groups: &BTreeMap<String, Vec<Rule>>) -> Effect {
    if !rule.enable {
        return Effect::None;
    }
    match rule.kind.as_str() {
        "group" => groups
            .get(&rule.action)
            .map(|rules| {
                rules
                    .iter()
                    .filter(|r| r.kind != "group")
                    .map(|r| effect(r, &BTreeMap::new()))
                    .fold(Effect::None, Effect::join)
            })
            // A group pvectl cannot see: assume it does both.
            .unwrap_or(Effect::Both),
        _ => match rule.action.as_str() {
            "ACCEPT" => Effect::Opens,
            "DROP" | "REJECT" => Effect::Closes,
            _ => Effect::Both,
        },
    }
}

/// How strict a policy is.
fn strictness(policy: &str) -> u8 {
    match policy.to_ascii_uppercase().as_str() {
        "ACCEPT" => 0,
        _ => 1,
    }
}

/// What setting (or, with `None`, resetting) an option does, by PVE's defaults.
fn option_effect(key: &str, old: Option<&str>, new: Option<&str>) -> Effect {
    let default = |k: &str| match k {
        "policy_in" => "DROP",
        "policy_out" | "policy_forward" => "ACCEPT",
        "macfilter" => "1",
        _ => "0",
    };
    let old = old.unwrap_or(default(key));
    let new = new.unwrap_or(default(key));
    let on = |v: &str| v != "0" && !v.is_empty();
    if key.starts_with("policy_") {
        return match strictness(new).cmp(&strictness(old)) {
            std::cmp::Ordering::Greater => Effect::Closes,
            std::cmp::Ordering::Less => Effect::Opens,
            std::cmp::Ordering::Equal => Effect::None,
        };
    }
    let closes_when_on = [
        "enable",
        "ipfilter",
        "macfilter",
        "nosmurfs",
        "tcpflags",
        "protection_synflood",
    ];
    let opens_when_on = ["dhcp", "ndp", "radv", "nf_conntrack_allow_invalid"];
    let (was, is) = (on(old), on(new));
    if was == is {
        return Effect::None;
    }
    if closes_when_on.contains(&key) {
        return if is { Effect::Closes } else { Effect::Opens };
    }
    if opens_when_on.contains(&key) {
        return if is { Effect::Opens } else { Effect::Closes };
    }
    Effect::None
}

/// The names a rule refers to in `source` and `dest`: aliases and `+ipsets` (scope prefixes cut).
fn references(rule: &Rule) -> Vec<String> {
    [&rule.source, &rule.dest]
        .into_iter()
        .flatten()
        .filter(|v| !v.is_empty())
        .filter(|v| {
            v.starts_with('+')
                || v.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    && !v.contains(['.', ':'])
        })
        .map(|v| {
            let v = v.trim_start_matches('+');
            let v = v
                .strip_prefix("dc/")
                .or_else(|| v.strip_prefix("guest/"))
                .unwrap_or(v);
            v.to_ascii_lowercase()
        })
        .collect()
}

fn value_text(v: &Value) -> String {
    crate::api::de::text(v)
}

/// The plan: changes in the order they are made, and the lists of rules as they are now.
struct Plan {
    early: Vec<Step>,
    closing: Vec<Step>,
    middle: Vec<Step>,
    opening: Vec<Step>,
    late: Vec<Step>,
}

impl Plan {
    fn steps(&self) -> Vec<Step> {
        [
            &self.early,
            &self.closing,
            &self.middle,
            &self.opening,
            &self.late,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect()
    }
}

/// Everything wrong with a document for this scope, before anything is sent.
async fn validate(
    client: &Client,
    place: &Place,
    doc: &Document,
) -> anyhow::Result<Vec<(String, String)>> {
    let scope = &place.scope;
    if doc.options.is_some() && !scope.has_options() {
        return Err(CliError::usage(format!("the {} has no options", place.label)).into());
    }
    if (doc.aliases.is_some() || doc.ipsets.is_some()) && !scope.has_objects() {
        return Err(CliError::usage(format!(
            "the {} has no aliases or IP sets: leave them out of the document",
            place.label
        ))
        .into());
    }
    if doc.groups.is_some() && *scope != Scope::Cluster {
        return Err(CliError::usage(
            "security groups belong to the cluster: apply them with `pvectl firewall apply` (no --node, no guest)",
        )
        .into());
    }
    let mut options = vec![];
    if let Some(opts) = &doc.options {
        let names = scope.option_names();
        for (k, v) in opts {
            if !names.contains(&k.as_str()) {
                return Err(CliError::usage(format!(
                    "the {} has no option '{k}'; options: {}",
                    place.label,
                    names.join(", ")
                ))
                .into());
            }
            options.push((k.clone(), option_value(k, &value_text(v))?));
        }
    }
    let all_rules: Vec<(&Rule, &str)> = doc
        .rules
        .iter()
        .flatten()
        .map(|r| (r, place.label.as_str()))
        .chain(
            doc.groups
                .iter()
                .flatten()
                .flat_map(|g| g.rules.iter().map(move |r| (r, g.name.as_str()))),
        )
        .collect();
    for rule in doc.rules.iter().flatten() {
        check_rule(place, rule)?;
    }
    for g in doc.groups.iter().flatten() {
        let gp = Place {
            scope: Scope::Group(g.name.clone()),
            label: format!("security group {}", g.name),
            guest: None,
        };
        for r in &g.rules {
            check_rule(&gp, r)?;
        }
    }
    // Names PVE would refuse in the middle of the run: refused now instead.
    if all_rules.iter().any(|(r, _)| r.macro_name.is_some()) {
        let known: Vec<String> = firewall::macros(client)
            .await?
            .iter()
            .filter_map(|m| m.get("macro").and_then(Value::as_str))
            .map(str::to_ascii_lowercase)
            .collect();
        for (r, at) in &all_rules {
            if let Some(m) = &r.macro_name {
                if !known.contains(&m.to_ascii_lowercase()) {
                    return Err(CliError::usage(format!(
                        "a rule of {at} uses the macro '{m}', which PVE does not know (see `pvectl firewall macros`); nothing was changed"
                    ))
                    .into());
                }
            }
        }
    }
    // The aliases and IP sets the document makes, and (read only when needed) what the scope
    // and the cluster have.
    let mut names: BTreeSet<String> = doc
        .aliases
        .iter()
        .flatten()
        .map(|a| a.name.to_ascii_lowercase())
        .chain(
            doc.ipsets
                .iter()
                .flatten()
                .map(|s| s.name.to_ascii_lowercase()),
        )
        .collect();
    let needs_lookup = all_rules
        .iter()
        .flat_map(|(r, _)| references(r))
        .any(|n| !names.contains(&n));
    if needs_lookup {
        // What the scope has now (for sections the document leaves out) and the cluster's.
        let mut scopes = vec![Scope::Cluster];
        if scope.has_objects() && *scope != Scope::Cluster {
            scopes.push(scope.clone());
        }
        for s in scopes {
            let this = s == *scope;
            if !this || doc.aliases.is_none() {
                for a in firewall::aliases(client, &s).await? {
                    if let Some(n) = a.get("name").and_then(Value::as_str) {
                        names.insert(n.to_ascii_lowercase());
                    }
                }
            }
            if !this || doc.ipsets.is_none() {
                for a in firewall::ipsets(client, &s).await? {
                    if let Some(n) = a.get("name").and_then(Value::as_str) {
                        names.insert(n.to_ascii_lowercase());
                    }
                }
            }
        }
        for (r, at) in &all_rules {
            for n in references(r) {
                if !names.contains(&n) {
                    return Err(CliError::usage(format!(
                        "a rule of {at} refers to '{n}', which is no alias or IP set of the {} or the cluster; nothing was changed",
                        place.label
                    ))
                    .into());
                }
            }
        }
    }
    Ok(options)
}

/// The changes from `now` to `want`, each in its place of the order.
fn plan(now: &Document, want: &Document, options: &[(String, String)]) -> Plan {
    let mut p = Plan {
        early: vec![],
        closing: vec![],
        middle: vec![],
        opening: vec![],
        late: vec![],
    };
    // Security groups, as they will be (for what a group rule does).
    let mut groups: BTreeMap<String, Vec<Rule>> = now
        .groups
        .iter()
        .flatten()
        .map(|g| (g.name.clone(), g.rules.clone()))
        .collect();
    for g in want.groups.iter().flatten() {
        groups.insert(g.name.clone(), g.rules.clone());
    }
    let old_groups = now
        .groups
        .iter()
        .flatten()
        .map(|g| (g.name.clone(), g.rules.clone()))
        .collect::<BTreeMap<_, _>>();
    // What each alias and IP set is used for, by the scope's rules before and after (the rules
    // of other scopes that use the cluster's are not looked at).
    let mut usage: BTreeMap<String, Effect> = BTreeMap::new();
    let every_rule = now.rules.iter().chain(want.rules.iter()).flatten().chain(
        now.groups
            .iter()
            .chain(want.groups.iter())
            .flatten()
            .flat_map(|g| g.rules.iter()),
    );
    for r in every_rule {
        for n in references(r) {
            let slot = usage.entry(n).or_insert(Effect::None);
            *slot = slot.join(effect(r, &groups));
        }
    }
    let used = |name: &str| {
        usage
            .get(&name.to_ascii_lowercase())
            .copied()
            .unwrap_or(Effect::None)
    };

    // Groups.
    if let Some(want_groups) = &want.groups {
        let have: Vec<&Group> = now.groups.iter().flatten().collect();
        for g in want_groups {
            if !have.iter().any(|h| h.name == g.name) {
                p.early.push(Step::GroupAdd {
                    name: g.name.clone(),
                    comment: g.comment.clone(),
                });
            }
        }
        for h in &have {
            if !want_groups.iter().any(|g| g.name == h.name) {
                p.late.push(Step::GroupDelete {
                    name: h.name.clone(),
                });
            }
        }
    }

    // Aliases.
    if let Some(want_aliases) = &want.aliases {
        let have = now.aliases.clone().unwrap_or_default();
        for a in want_aliases {
            match have.iter().find(|h| h.name.eq_ignore_ascii_case(&a.name)) {
                None => p.early.push(Step::AliasAdd {
                    name: a.name.clone(),
                    cidr: a.cidr.clone(),
                    comment: a.comment.clone(),
                }),
                Some(h) if h.cidr != a.cidr || h.comment != a.comment => {
                    let step = Step::AliasUpdate {
                        name: h.name.clone(),
                        cidr: a.cidr.clone(),
                        old_cidr: h.cidr.clone(),
                        comment: a.comment.clone(),
                    };
                    // A new address both adds and removes: only harmless when unused or a comment.
                    if used(&a.name) == Effect::None || h.cidr == a.cidr {
                        p.early.push(step);
                    } else {
                        p.middle.push(step);
                    }
                }
                Some(_) => {}
            }
        }
        for h in &have {
            if !want_aliases
                .iter()
                .any(|a| a.name.eq_ignore_ascii_case(&h.name))
            {
                p.late.push(Step::AliasDelete {
                    name: h.name.clone(),
                });
            }
        }
    }

    // IP sets and their entries.
    if let Some(want_sets) = &want.ipsets {
        let have = now.ipsets.clone().unwrap_or_default();
        for s in want_sets {
            let old = have.iter().find(|h| h.name == s.name);
            if old.is_none() {
                p.early.push(Step::IpsetAdd {
                    name: s.name.clone(),
                    comment: s.comment.clone(),
                });
            }
            let old_entries = old.map(|o| o.entries.clone()).unwrap_or_default();
            let u = used(&s.name);
            for e in &s.entries {
                if !old_entries.contains(e) {
                    let step = Step::EntryAdd {
                        ipset: s.name.clone(),
                        entry: e.clone(),
                    };
                    // An address that joins a set that drops closes; one that accepts opens.
                    match (u, e.nomatch) {
                        (Effect::None, _) => p.early.push(step),
                        (Effect::Closes, false) | (Effect::Opens, true) => p.closing.push(step),
                        (Effect::Opens, false) | (Effect::Closes, true) => p.opening.push(step),
                        (Effect::Both, _) => p.middle.push(step),
                    }
                }
            }
            for e in &old_entries {
                if !s.entries.contains(e) {
                    let step = Step::EntryDelete {
                        ipset: s.name.clone(),
                        cidr: e.cidr.clone(),
                    };
                    match (u, e.nomatch) {
                        (Effect::None, _) => p.early.push(step),
                        (Effect::Opens, false) | (Effect::Closes, true) => p.closing.push(step),
                        (Effect::Closes, false) | (Effect::Opens, true) => p.opening.push(step),
                        (Effect::Both, _) => p.middle.push(step),
                    }
                }
            }
        }
        for h in &have {
            if !want_sets.iter().any(|s| s.name == h.name) {
                p.late.push(Step::IpsetDelete {
                    name: h.name.clone(),
                });
            }
        }
    }

    // Options: what closes (or does neither) early, what opens at the end.
    if want.options.is_some() {
        let have: BTreeMap<String, String> = now
            .options
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), value_text(v)))
            .collect();
        let mut close = (BTreeMap::new(), vec![]);
        let mut open = (BTreeMap::new(), vec![]);
        for (k, v) in options {
            if have.get(k) == Some(v) {
                continue;
            }
            match option_effect(k, have.get(k).map(String::as_str), Some(v)) {
                Effect::Opens => open.0.insert(k.clone(), v.clone()),
                _ => close.0.insert(k.clone(), v.clone()),
            };
        }
        for k in have.keys() {
            if !options.iter().any(|(o, _)| o == k) {
                match option_effect(k, have.get(k).map(String::as_str), None) {
                    Effect::Opens => open.1.push(k.clone()),
                    _ => close.1.push(k.clone()),
                }
            }
        }
        for ((set, delete), into) in [(close, &mut p.early), (open, &mut p.late)] {
            if !set.is_empty() || !delete.is_empty() {
                into.push(Step::Options {
                    set,
                    delete,
                    was: have.clone(),
                });
            }
        }
    }

    // Rules of the scope and of each security group.
    let mut lists: Vec<(List, Vec<Rule>, Vec<Rule>)> = vec![];
    if let Some(want_rules) = &want.rules {
        lists.push((
            List::Main,
            now.rules.clone().unwrap_or_default(),
            want_rules.clone(),
        ));
    }
    for g in want.groups.iter().flatten() {
        lists.push((
            List::Group(g.name.clone()),
            old_groups.get(&g.name).cloned().unwrap_or_default(),
            g.rules.clone(),
        ));
    }
    for (name, old) in &old_groups {
        if !want.groups.iter().flatten().any(|g| &g.name == name) && want.groups.is_some() {
            lists.push((List::Group(name.clone()), old.clone(), vec![]));
        }
    }
    // What a rule that leaves does is what its group does now.
    let groups_now = old_groups_or(&groups, &old_groups);
    for (list, old, new) in lists {
        let kept = common(&old, &new);
        let group = group_of(&list);
        for (i, r) in old.iter().enumerate() {
            if kept.iter().any(|(o, _)| *o == i) {
                continue;
            }
            let step = Step::RuleDelete {
                group: group.clone(),
                rule: r.clone(),
                id: i,
            };
            match effect(r, &groups_now) {
                Effect::Opens | Effect::None => p.closing.push(step),
                Effect::Closes | Effect::Both => p.opening.push(step),
            }
        }
        for (j, r) in new.iter().enumerate() {
            if kept.iter().any(|(_, n)| *n == j) {
                continue;
            }
            let step = Step::RuleAdd {
                group: group.clone(),
                position: j,
                rule: r.clone(),
            };
            match effect(r, &groups) {
                Effect::Closes => p.closing.push(step),
                _ => p.opening.push(step),
            }
        }
    }
    order_part(&mut p.closing);
    order_part(&mut p.opening);
    p
}

/// The groups as they are now, and those only the document has (a new group has no old rules).
fn old_groups_or(
    all: &BTreeMap<String, Vec<Rule>>,
    old: &BTreeMap<String, Vec<Rule>>,
) -> BTreeMap<String, Vec<Rule>> {
    let mut out = all.clone();
    for (k, v) in old {
        out.insert(k.clone(), v.clone());
    }
    out
}

/// Within a part, additions in ascending position per list (each lands where it belongs), and in
/// the opening part the additions first, then the deletions of dropping rules.
fn order_part(steps: &mut [Step]) {
    steps.sort_by_key(|s| match s {
        Step::EntryAdd { .. } | Step::EntryDelete { .. } => (0, List::Main, 0),
        Step::RuleAdd {
            group, position, ..
        } => (1, list_of(group), *position),
        Step::RuleDelete { group, id, .. } => (2, list_of(group), usize::MAX - *id),
        _ => (3, List::Main, 0),
    });
}

/// The state of a list while applying: the rules in their order, with where each will end.
struct Tracker {
    lists: BTreeMap<List, Vec<Item>>,
}

impl Tracker {
    fn new(now: &Document, want: &Document) -> Tracker {
        let mut lists = BTreeMap::new();
        let mut add = |list: List, old: &[Rule], new: &[Rule]| {
            let kept = common(old, new);
            let items = old
                .iter()
                .enumerate()
                .map(|(i, r)| Item {
                    rule: r.clone(),
                    id: i,
                    end: kept.iter().find(|(o, _)| *o == i).map(|(_, n)| *n),
                })
                .collect();
            lists.insert(list, items);
        };
        if let Some(w) = &want.rules {
            add(List::Main, now.rules.as_deref().unwrap_or(&[]), w);
        }
        let old_groups: BTreeMap<&str, &Vec<Rule>> = now
            .groups
            .iter()
            .flatten()
            .map(|g| (g.name.as_str(), &g.rules))
            .collect();
        if let Some(wg) = &want.groups {
            for g in wg {
                let old = old_groups
                    .get(g.name.as_str())
                    .map(|r| r.as_slice())
                    .unwrap_or(&[]);
                add(List::Group(g.name.clone()), old, &g.rules);
            }
            for (name, old) in &old_groups {
                if !wg.iter().any(|g| g.name == *name) {
                    add(List::Group(name.to_string()), old, &[]);
                }
            }
        }
        Tracker { lists }
    }

    /// The rules of a list the plan changes.
    fn list(&mut self, list: &List) -> Result<&mut Vec<Item>, CliError> {
        self.lists
            .get_mut(list)
            .ok_or_else(|| CliError::other("a list of rules the plan changes is not tracked"))
    }
}

/// The scope of a list.
fn scope_of(place: &Place, list: &List) -> Scope {
    match list {
        List::Main => place.scope.clone(),
        List::Group(g) => Scope::Group(g.clone()),
    }
}

/// Read a list, check it is what pvectl expects, and give its digest.
async fn checked(
    client: &Client,
    place: &Place,
    list: &List,
    items: &[Item],
) -> anyhow::Result<Option<String>> {
    let scope = scope_of(place, list);
    let entries = firewall::rules(client, &scope).await?;
    let rules: Vec<Rule> = entries
        .iter()
        .map(Rule::from_entry)
        .collect::<Result<_, _>>()?;
    let same = rules.len() == items.len() && rules.iter().zip(items).all(|(a, b)| a.same(&b.rule));
    if !same {
        return Err(CliError::refused(format!(
            "the rules of the {} changed while pvectl applied the document (another edit?)",
            match list {
                List::Main => place.label.clone(),
                List::Group(g) => format!("security group {g}"),
            }
        ))
        .into());
    }
    Ok(firewall::list_digest(&entries))
}

/// Make one change.
async fn execute(
    client: &Client,
    place: &Place,
    tracker: &mut Tracker,
    step: &Step,
) -> anyhow::Result<()> {
    let scope = &place.scope;
    let fail = |e: crate::api::ApiError| refused(place, e);
    match step {
        Step::AliasAdd {
            name,
            cidr,
            comment,
        } => firewall::add_alias(client, scope, name, cidr, comment.as_deref())
            .await
            .map_err(fail)?,
        Step::AliasUpdate {
            name,
            cidr,
            comment,
            ..
        } => {
            let list = firewall::aliases(client, scope).await?;
            let digest = firewall::list_digest(&list);
            firewall::update_alias(
                client,
                scope,
                name,
                cidr,
                comment.as_deref(),
                digest.as_deref(),
            )
            .await
            .map_err(fail)?
        }
        Step::AliasDelete { name } => {
            let list = firewall::aliases(client, scope).await?;
            let digest = firewall::list_digest(&list);
            firewall::delete_alias(client, scope, name, digest.as_deref())
                .await
                .map_err(fail)?
        }
        Step::IpsetAdd { name, comment } => {
            firewall::add_ipset(client, scope, name, comment.as_deref())
                .await
                .map_err(fail)?
        }
        Step::IpsetDelete { name } => firewall::delete_ipset(client, scope, name, true)
            .await
            .map_err(fail)?,
        Step::EntryAdd { ipset, entry } => firewall::add_ipset_entry(client, scope, ipset, entry)
            .await
            .map_err(fail)?,
        Step::EntryDelete { ipset, cidr } => {
            let list = firewall::ipset_entries(client, scope, ipset).await?;
            let digest = firewall::list_digest(&list);
            firewall::delete_ipset_entry(client, scope, ipset, cidr, digest.as_deref())
                .await
                .map_err(fail)?
        }
        Step::GroupAdd { name, comment } => firewall::add_group(client, name, comment.as_deref())
            .await
            .map_err(fail)?,
        Step::GroupDelete { name } => firewall::delete_group(client, name).await.map_err(fail)?,
        Step::Options { set, delete, .. } => {
            let current = firewall::options(client, scope).await?;
            let digest = current.get("digest").and_then(Value::as_str);
            let set: Vec<(String, String)> =
                set.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            firewall::set_options(client, scope, &set, delete, digest)
                .await
                .map_err(fail)?
        }
        Step::RuleAdd {
            group,
            position,
            rule,
        } => {
            let list = list_of(group);
            let items = tracker.list(&list)?;
            let digest = checked(client, place, &list, items).await?;
            // Right after the last rule that ends before it.
            let at = items
                .iter()
                .rposition(|i| i.end.is_some_and(|e| e < *position))
                .map_or(0, |p| p + 1);
            let lp = Place {
                scope: scope_of(place, &list),
                label: place.label.clone(),
                guest: None,
            };
            super::rules::insert(client, &lp, rule, digest.as_deref(), at as u32).await?;
            items.insert(
                at,
                Item {
                    rule: rule.clone(),
                    id: usize::MAX,
                    end: Some(*position),
                },
            );
        }
        Step::RuleDelete { group, id, .. } => {
            let list = list_of(group);
            let items = tracker.list(&list)?;
            let digest = checked(client, place, &list, items).await?;
            let at = items.iter().position(|i| i.id == *id).ok_or_else(|| {
                CliError::other("a rule to delete is missing from pvectl's own list")
            })?;
            firewall::delete_rule(
                client,
                &scope_of(place, &list),
                at as u32,
                digest.as_deref(),
            )
            .await
            .map_err(fail)?;
            items.remove(at);
        }
    }
    Ok(())
}

pub async fn run(
    ctx: &Ctx,
    client: &Client,
    place: &Place,
    file: &Path,
    dry_run: bool,
    yes: bool,
) -> anyhow::Result<()> {
    let want = document::read(file)?;
    let options = validate(client, place, &want).await?;
    let now = document::current(client, place).await?;
    let steps = plan(&now, &want, &options).steps();
    let lines: Vec<String> = steps.iter().map(Step::line).collect();
    if dry_run {
        if ctx.out.format == OutputFormat::Json {
            return ctx.out.json(&steps);
        }
        if steps.is_empty() {
            ctx.out.info(&format!(
                "the {} already matches {}",
                place.label,
                file.display()
            ));
            return Ok(());
        }
        return ctx.out.lines(lines);
    }
    if steps.is_empty() {
        let r = place.result("apply").done("already matches the document");
        return report(&ctx.out, &Progress::new(&ctx.out), &[r], false);
    }
    ctx.confirm(
        &format!("Make these {} changes to the {}", steps.len(), place.label),
        &lines,
        yes,
    )?;
    let mut tracker = Tracker::new(&now, &want);
    let mut results: Vec<ActionResult> = vec![];
    for (n, step) in steps.iter().enumerate() {
        let mut r = place.result("apply");
        r.message = step.line();
        match execute(client, place, &mut tracker, step).await {
            Ok(()) => {
                ctx.out.info(&format!("{}: {}", place.label, step.line()));
                results.push(r.done(&step.line()));
            }
            Err(e) => {
                let failed = r.failed(&e);
                let kind = crate::error::kind_of(&e);
                ctx.out.notice(&format!(
                    "error: {}: stopped at change {} of {} ({}): {}",
                    place.label,
                    n + 1,
                    steps.len(),
                    step.line(),
                    crate::error::message(&e)
                ));
                if let Some(h) = crate::error::hint(&e) {
                    ctx.out.notice(&format!("hint: {h}"));
                } else if n > 0 {
                    ctx.out.notice(
                        "hint: the changes before it were made; run the same apply again to make the rest (`--dry-run` shows them)",
                    );
                }
                results.push(failed);
                if ctx.out.format == OutputFormat::Json {
                    ctx.out.json(&results)?;
                }
                return Err(Reported(if kind == ErrorKind::Other {
                    ErrorKind::Refused
                } else {
                    kind
                })
                .into());
            }
        }
    }
    if ctx.out.format == OutputFormat::Json {
        ctx.out.json(&results)?;
    }
    ctx.out
        .info(&format!("{}: {} changes made", place.label, results.len()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(kind: &str, action: &str, dport: Option<&str>) -> Rule {
        Rule {
            kind: kind.into(),
            action: action.into(),
            proto: dport.map(|_| "tcp".into()),
            dport: dport.map(str::to_string),
            enable: true,
            ..Rule::default()
        }
    }

    fn doc(rules: Vec<Rule>) -> Document {
        Document {
            rules: Some(rules),
            ..Document::default()
        }
    }

    #[test]
    fn accepting_rules_leave_first_and_arrive_last() {
        let ssh = rule("in", "ACCEPT", Some("22"));
        let web = rule("in", "ACCEPT", Some("80"));
        let block = rule("in", "DROP", Some("23"));
        let old_drop = rule("in", "REJECT", Some("25"));
        let now = doc(vec![web.clone(), old_drop.clone(), ssh.clone()]);
        let want = doc(vec![
            block.clone(),
            ssh.clone(),
            rule("in", "ACCEPT", Some("443")),
        ]);
        let p = plan(&now, &want, &[]);
        let lines: Vec<String> = p.steps().iter().map(Step::line).collect();
        assert_eq!(
            lines,
            vec![
                "+ rule 0: in DROP -p tcp -dport 23",
                "- rule: in ACCEPT -p tcp -dport 80",
                "+ rule 2: in ACCEPT -p tcp -dport 443",
                "- rule: in REJECT -p tcp -dport 25",
            ]
        );
    }

    #[test]
    fn options_that_open_go_last() {
        assert_eq!(
            option_effect("enable", Some("0"), Some("1")),
            Effect::Closes
        );
        assert_eq!(option_effect("enable", Some("1"), None), Effect::Opens);
        assert_eq!(
            option_effect("policy_in", Some("DROP"), Some("ACCEPT")),
            Effect::Opens
        );
        assert_eq!(
            option_effect("policy_out", None, Some("REJECT")),
            Effect::Closes
        );
        assert_eq!(
            option_effect("log_level_in", None, Some("info")),
            Effect::None
        );
        let now = Document {
            options: Some(
                [("policy_in".to_string(), Value::from("DROP"))]
                    .into_iter()
                    .collect(),
            ),
            ..Document::default()
        };
        let want = Document {
            options: Some(BTreeMap::new()),
            ..Document::default()
        };
        let opts = vec![
            ("enable".to_string(), "1".to_string()),
            ("policy_in".to_string(), "ACCEPT".to_string()),
        ];
        let steps = plan(&now, &want, &opts).steps();
        let lines: Vec<String> = steps.iter().map(Step::line).collect();
        assert_eq!(
            lines,
            vec![
                "~ options enable=1",
                "~ options policy_in=ACCEPT (was DROP)"
            ]
        );
    }

    #[test]
    fn the_common_rules_stay() {
        let a = rule("in", "ACCEPT", Some("1"));
        let b = rule("in", "ACCEPT", Some("2"));
        let c = rule("in", "ACCEPT", Some("3"));
        assert_eq!(
            common(
                &[a.clone(), b.clone(), c.clone()],
                &[b.clone(), c.clone(), a.clone()]
            ),
            vec![(1, 0), (2, 1)]
        );
    }
}
