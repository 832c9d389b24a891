//! A plan: what has to change for each guest to match its file, shown like `terraform plan`, and
//! carrying it out. `apply` plans every file it reads; `vm|ct edit` plans the one guest edited.
//!
//! Configuration changes go through the same digest-guarded write as `vm|ct set`, new guests
//! through the same request as `vm|ct create`, deletions through the one of `vm|ct delete`.

use std::time::Instant;

use serde::Serialize;
use serde_json::{Map, Value};

use super::document::{Document, Settings};
use crate::api::de::text;
use crate::api::guest::compare::{
    compare, existing_volume, filled_on_create, hidden, read_only, Sameness, HIDDEN,
};
use crate::api::guest::config::{self, is_stale_digest, Config};
use crate::api::guest::provision;
use crate::api::ha::{self, ResourceOptions};
use crate::api::pools::{self, Change as PoolChange};
use crate::api::{cluster, firewall, ApiError, Client, GuestKind, Params};
use crate::error::{self, ErrorKind};
use crate::targets::{Guest, KindWords};
use crate::task::{ActionResult, Session};

/// How keys a file leaves out are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A file of `apply`: a key left out is removed, unless PVE fills it in itself on creation.
    Apply,
    /// An edited configuration: every key shown and taken out is removed.
    Edit,
}

/// What happens to a guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    Create,
    Change,
    None,
    Delete,
}

/// One change of a key: added (`old` None), changed, or removed (`new` None).
#[derive(Clone, Debug, Serialize)]
pub struct Change {
    /// `config`, `pool`, `ha` or `firewall`.
    pub section: &'static str,
    pub key: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// What becomes of one guest.
#[derive(Clone, Debug)]
pub struct GuestPlan {
    /// The file that describes it (none for a guest `--prune` deletes).
    pub origin: Option<String>,
    pub kind: GuestKind,
    /// None: a new guest gets the next free VMID when it is created.
    pub vmid: Option<u32>,
    pub name: Option<String>,
    /// Where it is, or where it will be created.
    pub node: String,
    pub step: Step,
    /// The guest as it is (not for a new one).
    pub guest: Option<Guest>,
    pub changes: Vec<Change>,
    /// What the plan does not change but should be said (a disk size, a node).
    pub notes: Vec<String>,
    /// Why it will not be done: its result fails without a request.
    pub refusal: Option<String>,
    /// The digest of the configuration the changes were computed from.
    pub digest: Option<String>,
    /// The digest of the firewall options read.
    pub fw_digest: Option<String>,
    /// Whether HA manages it now.
    pub ha_managed: bool,
    /// For a new guest: its configuration and `[create]` options.
    pub config: Settings,
    pub create: Settings,
}

/// What was read of an existing guest, for the sections its file has.
#[derive(Default)]
pub struct Current {
    pub config: Option<Config>,
    /// Its HA resource; None when HA does not manage it.
    pub ha: Option<Map<String, Value>>,
    pub firewall: Option<Map<String, Value>>,
}

// --------------------------------------------------------------------------------- planning

/// The changes that make the configuration `current` what `wanted` says, and notes.
pub fn config_changes(
    kind: GuestKind,
    wanted: &Settings,
    current: &Config,
    mode: Mode,
) -> (Vec<Change>, Vec<String>) {
    let mut changes = vec![];
    let mut notes = vec![];
    let change = |key: &str, old: Option<String>, new: Option<String>| Change {
        section: "config",
        key: key.to_string(),
        old,
        new,
    };
    for (k, w) in wanted {
        let Some(c) = current.text(k) else {
            changes.push(change(k, None, Some(w.clone())));
            continue;
        };
        if hidden(kind, k) && c == HIDDEN {
            // PVE shows only that one is set: an edit that gives one sends it, a file keeps it.
            match mode {
                Mode::Edit if w != HIDDEN => changes.push(change(k, Some(c), Some(w.clone()))),
                Mode::Edit => {}
                Mode::Apply => notes.push(format!(
                    "{k}: set on the guest, and PVE does not show it: left as it is"
                )),
            }
            continue;
        }
        match compare(kind, k, w, &c) {
            Sameness::Same => {}
            Sameness::SameBut(note) => notes.push(note),
            Sameness::Different => changes.push(change(k, Some(c), Some(w.clone()))),
        }
    }
    for (k, v) in &current.0 {
        if wanted.contains_key(k) || read_only(kind, k) || hidden(kind, k) {
            continue;
        }
        if mode == Mode::Apply && filled_on_create(kind, k) {
            continue;
        }
        changes.push(change(k, Some(text(v)), None));
    }
    (changes, notes)
}

/// A section whose file gives the whole truth (HA settings, firewall options): keys given are
/// set, keys left out are cleared.
fn section_changes(
    section: &'static str,
    kind: GuestKind,
    wanted: &Settings,
    current: Option<&Map<String, Value>>,
    skip: &[&str],
) -> Vec<Change> {
    let mut changes = vec![];
    for (k, w) in wanted {
        let c = current.and_then(|m| m.get(k)).map(text);
        let same = c
            .as_deref()
            .is_some_and(|c| compare(kind, k, w, c) != Sameness::Different);
        if !same {
            changes.push(Change {
                section,
                key: k.clone(),
                old: c,
                new: Some(w.clone()),
            });
        }
    }
    for (k, v) in current.into_iter().flatten() {
        if !wanted.contains_key(k) && !skip.contains(&k.as_str()) {
            changes.push(Change {
                section,
                key: k.clone(),
                old: Some(text(v)),
                new: None,
            });
        }
    }
    changes
}

/// `pool = "…"` of a file against the pool the guest is in (`""`: in none).
fn pool_change(wanted: Option<&str>, current: Option<&str>) -> Option<Change> {
    let wanted = wanted?;
    let wanted = (!wanted.is_empty()).then_some(wanted);
    (wanted != current).then(|| Change {
        section: "pool",
        key: "pool".into(),
        old: current.map(str::to_string),
        new: wanted.map(str::to_string),
    })
}

/// The plan for a guest that exists.
pub fn existing(doc: &Document, g: &Guest, cur: &Current, mode: Mode) -> GuestPlan {
    let mut plan = GuestPlan::of_guest(g, Step::None);
    plan.origin = Some(doc.origin.clone());
    if let (Some(wanted), Some(have)) = (&doc.config, &cur.config) {
        let (changes, notes) = config_changes(g.kind, wanted, have, mode);
        plan.changes.extend(changes);
        plan.notes.extend(notes);
        plan.digest = have.digest().map(str::to_string);
        if let Some(n) = doc.name() {
            plan.name = Some(n.to_string());
        }
    }
    let in_pool = g.resource.as_ref().and_then(|r| r.pool.as_deref());
    plan.changes
        .extend(pool_change(doc.pool.as_deref(), in_pool));
    plan.ha_managed = cur.ha.is_some();
    if let Some(wanted) = &doc.ha {
        plan.changes.extend(section_changes(
            "ha",
            g.kind,
            wanted,
            cur.ha.as_ref(),
            ha::READ_ONLY,
        ));
    }
    if let Some(wanted) = &doc.firewall {
        plan.fw_digest = cur
            .firewall
            .as_ref()
            .and_then(|f| f.get("digest"))
            .and_then(Value::as_str)
            .map(str::to_string);
        plan.changes.extend(section_changes(
            "firewall",
            g.kind,
            wanted,
            cur.firewall.as_ref(),
            &["digest"],
        ));
    }
    if let Some(n) = doc.node.as_deref().filter(|n| *n != g.node) {
        plan.notes.push(format!(
            "the file says node {n}, the guest is on {}: apply moves no guest (use `pvectl {} migrate`)",
            g.node,
            g.kind.command()
        ));
    }
    if !plan.changes.is_empty() {
        plan.step = Step::Change;
    }
    plan
}

/// The plan for a guest the file describes and the cluster does not have.
pub fn create(doc: &Document, node: &str) -> GuestPlan {
    let config = doc.config.clone().unwrap_or_default();
    let mut changes: Vec<Change> = config
        .iter()
        .map(|(k, v)| Change {
            section: "config",
            key: k.clone(),
            old: None,
            new: Some(v.clone()),
        })
        .collect();
    changes.extend(pool_change(doc.pool.as_deref(), None));
    for (section, wanted) in [("ha", &doc.ha), ("firewall", &doc.firewall)] {
        for (k, v) in wanted.iter().flatten() {
            changes.push(Change {
                section,
                key: k.clone(),
                old: None,
                new: Some(v.clone()),
            });
        }
    }
    // A file exported from a guest that is gone names its volumes, which went with it.
    let notes = config
        .iter()
        .filter_map(|(k, v)| {
            let volume = existing_volume(doc.kind, k, v)?;
            Some(format!(
                "{k} is the existing volume {volume}; for a new disk write STORAGE:SIZE_GiB (e.g. {}:32)",
                volume.split(':').next().unwrap_or("local-lvm")
            ))
        })
        .collect();
    GuestPlan {
        origin: Some(doc.origin.clone()),
        kind: doc.kind,
        vmid: doc.vmid,
        name: doc.name().map(str::to_string),
        node: node.to_string(),
        step: Step::Create,
        guest: None,
        changes,
        notes,
        refusal: None,
        digest: None,
        fw_digest: None,
        ha_managed: false,
        config,
        create: doc.create.clone(),
    }
}

/// The plan for a guest no file describes (`--prune`): deleted, unless it runs.
pub fn delete(g: &Guest) -> GuestPlan {
    let mut plan = GuestPlan::of_guest(g, Step::Delete);
    if g.status.as_deref() == Some("running") {
        plan.refusal = Some(format!(
            "it is running: stop it first (`pvectl {} stop {}`)",
            g.kind.command(),
            g.vmid
        ));
    }
    plan
}

impl GuestPlan {
    fn of_guest(g: &Guest, step: Step) -> GuestPlan {
        GuestPlan {
            origin: None,
            kind: g.kind,
            vmid: Some(g.vmid),
            name: g.name.clone(),
            node: g.node.clone(),
            step,
            guest: Some(g.clone()),
            changes: vec![],
            notes: vec![],
            refusal: None,
            digest: None,
            fw_digest: None,
            ha_managed: false,
            config: Settings::new(),
            create: Settings::new(),
        }
    }

    /// `web-1 (100)`, `web-1` (a new guest without a VMID yet) or `100`.
    pub fn label(&self) -> String {
        match (&self.name, self.vmid) {
            (Some(n), Some(id)) => format!("{n} ({id})"),
            (Some(n), None) => n.clone(),
            (None, Some(id)) => id.to_string(),
            (None, None) => self.origin.clone().unwrap_or_default(),
        }
    }

    fn section(&self, section: &str) -> impl Iterator<Item = &Change> {
        let section = section.to_string();
        self.changes.iter().filter(move |c| c.section == section)
    }

    fn sets(&self, section: &str) -> Vec<(String, String)> {
        self.section(section)
            .filter_map(|c| Some((c.key.clone(), c.new.clone()?)))
            .collect()
    }

    fn deletes(&self, section: &str) -> Vec<String> {
        self.section(section)
            .filter(|c| c.new.is_none())
            .map(|c| c.key.clone())
            .collect()
    }

    // ------------------------------------------------------------------------------ showing

    /// The plan of this guest as lines of text: a title, then a line per change.
    pub fn lines(&self) -> Vec<String> {
        let what = self.kind.noun();
        let (mark, title) = match self.step {
            Step::Create => (
                "+",
                format!("{}, a new {what} on {}: create", self.label(), self.node),
            ),
            Step::Change => (
                "~",
                format!("{}, {what} on {}: change", self.label(), self.node),
            ),
            Step::None => (
                " ",
                format!("{}, {what} on {}: no changes", self.label(), self.node),
            ),
            Step::Delete => match &self.refusal {
                Some(why) => (
                    "!",
                    format!(
                        "{}, {what} on {}: not deleted, {why}",
                        self.label(),
                        self.node
                    ),
                ),
                None => (
                    "-",
                    format!(
                        "{}, {what} on {}: delete (no file describes it)",
                        self.label(),
                        self.node
                    ),
                ),
            },
        };
        let mut out = wrap(&format!("{mark} {title}"), "    ");
        for c in &self.changes {
            out.extend(change_lines(self.kind, c, self.step == Step::Create));
        }
        for n in &self.notes {
            out.extend(wrap(&format!("    note: {n}"), "          "));
        }
        out
    }

    /// The plan of this guest as JSON (and TSV rows): PVE's names, raw values.
    pub fn row(&self) -> PlanRow {
        PlanRow {
            file: self.origin.clone(),
            kind: self.kind,
            vmid: self.vmid,
            name: self.name.clone(),
            node: self.node.clone(),
            action: self.step,
            changes: self
                .changes
                .iter()
                .map(|c| Change {
                    old: c.old.as_ref().map(|v| shown(self.kind, &c.key, v)),
                    new: c.new.as_ref().map(|v| shown(self.kind, &c.key, v)),
                    ..c.clone()
                })
                .collect(),
            notes: self.notes.clone(),
            refusal: self.refusal.clone(),
        }
    }
}

/// One guest of a plan as `-o json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct PlanRow {
    pub file: Option<String>,
    #[serde(rename = "type")]
    pub kind: GuestKind,
    pub vmid: Option<u32>,
    pub name: Option<String>,
    pub node: String,
    pub action: Step,
    pub changes: Vec<Change>,
    pub notes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
}

/// The width a plan line is kept to before a change is shown on lines of its own.
const WIDTH: usize = 80;

/// Words of a line kept to `WIDTH`, the next lines indented by `indent` (a word longer than
/// that, or a command in backquotes, is never broken).
fn wrap(line: &str, indent: &str) -> Vec<String> {
    if line.chars().count() <= WIDTH {
        return vec![line.to_string()];
    }
    let lead = line.len() - line.trim_start().len();
    let mut words: Vec<String> = vec![];
    let mut quoted = false;
    for word in line[lead..].split(' ') {
        match words.last_mut() {
            Some(last) if quoted => {
                last.push(' ');
                last.push_str(word);
            }
            _ => words.push(word.to_string()),
        }
        if word.matches('`').count() % 2 == 1 {
            quoted = !quoted;
        }
    }
    let mut out: Vec<String> = vec![];
    let mut current = line[..lead].to_string();
    for word in &words {
        let fresh = current.trim().is_empty();
        if !fresh && current.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push(current);
            current = indent.to_string();
        } else if !fresh {
            current.push(' ');
        }
        current.push_str(word);
    }
    out.push(current);
    out
}

/// A value as a plan shows it: a hidden one hidden, on one line.
fn shown(kind: GuestKind, key: &str, v: &str) -> String {
    if hidden(kind, key) || crate::api::params::is_secret_key(key) {
        return "(hidden)".into();
    }
    v.replace('\n', "\\n")
}

fn change_lines(kind: GuestKind, c: &Change, creating: bool) -> Vec<String> {
    let key = match c.section {
        "config" | "pool" => c.key.clone(),
        section => format!("{section}.{}", c.key),
    };
    let old = c.old.as_deref().map(|v| shown(kind, &c.key, v));
    let new = c.new.as_deref().map(|v| shown(kind, &c.key, v));
    match (old, new) {
        (None, Some(new)) if creating => vec![format!("    {key} = {new}")],
        (None, Some(new)) => vec![format!("    + {key} = {new}")],
        (Some(old), None) if c.section == "pool" => vec![format!("    - pool {old} (in no pool)")],
        (Some(old), None) => vec![format!("    - {key} (was {old})")],
        (Some(old), Some(new)) => {
            let line = format!("    ~ {key}: {old} → {new}");
            if line.chars().count() <= WIDTH {
                vec![line]
            } else {
                vec![
                    format!("    ~ {key}:"),
                    format!("        - {old}"),
                    format!("        + {new}"),
                ]
            }
        }
        (None, None) => vec![],
    }
}

/// `Plan: 1 to create, 2 to change, 0 to delete; 3 unchanged.`
pub fn summary(plans: &[GuestPlan]) -> String {
    let count = |s: Step| plans.iter().filter(|p| p.step == s).count();
    let refused = plans.iter().filter(|p| p.refusal.is_some()).count();
    let mut text = format!(
        "Plan: {} to create, {} to change, {} to delete; {} unchanged.",
        count(Step::Create),
        count(Step::Change),
        count(Step::Delete) - refused,
        count(Step::None)
    );
    if refused > 0 {
        text.push_str(&format!(" {refused} cannot be deleted."));
    }
    text
}

// ---------------------------------------------------------------------------------- carrying out

/// Carry out one guest's plan. Returns its result and, for a running guest whose changes wait
/// for its next restart, the line that says which.
pub async fn execute(
    client: &Client,
    session: &Session<'_>,
    plan: &GuestPlan,
    no_wait: bool,
) -> (ActionResult, Option<String>) {
    match plan.step {
        Step::Create => (create_guest(client, session, plan, no_wait).await, None),
        Step::Change => change_guest(client, session, plan, no_wait).await,
        Step::Delete => (delete_guest(client, session, plan, no_wait).await, None),
        Step::None => (blank(plan, "change").done("no changes"), None),
    }
}

/// The result a plan's guest starts with (the same label as its plan).
pub fn blank(plan: &GuestPlan, action: &str) -> ActionResult {
    let mut r = ActionResult::new(plan.label(), plan.node.clone(), action);
    r.vmid = plan.vmid;
    r.name = plan.name.clone();
    r.kind = Some(plan.kind);
    r
}

/// The action word of a plan's result.
pub fn action(step: Step) -> &'static str {
    match step {
        Step::Create => "create",
        Step::Delete => "delete",
        Step::Change | Step::None => "change",
    }
}

/// A failure of one part of a guest's changes: which, why, and what was done before it.
fn failed_part(r: ActionResult, part: &str, e: anyhow::Error, done: &[&str]) -> ActionResult {
    let before = if done.is_empty() {
        String::new()
    } else {
        format!(" ({} changed before)", done.join(", "))
    };
    let mut r = r.fail(
        error::kind_of(&e),
        format!("{part}: {}{before}", error::message(&e)),
    );
    r.hint = error::hint(&e);
    r
}

async fn create_guest(
    client: &Client,
    session: &Session<'_>,
    plan: &GuestPlan,
    no_wait: bool,
) -> ActionResult {
    let r = blank(plan, "create");
    let vmid = match plan.vmid {
        Some(id) => id,
        None => match cluster::next_id(client).await {
            Ok(id) => id,
            Err(e) => return failed_part(r, "the next free VMID", e.into(), &[]),
        },
    };
    let mut r = r;
    r.vmid = Some(vmid);
    let mut params = Params::new().set("vmid", vmid);
    for (k, v) in plan.config.iter().chain(&plan.create) {
        params.push(k, v);
    }
    if let Some(pool) = plan.sets("pool").into_iter().next() {
        params.push("pool", pool.1);
    }
    let answer = provision::create(client, plan.kind, &plan.node, &params).await;
    // HA and firewall options need the guest: its creation is waited for then.
    let follow_up = plan
        .changes
        .iter()
        .any(|c| c.section == "ha" || c.section == "firewall");
    let mut r = session.settle(answer, r, "OK", no_wait && !follow_up).await;
    if plan.vmid.is_none() && r.ok {
        // The next free VMID was taken: say which.
        r.newid = Some(vmid);
        if r.message != "started" {
            r.message = format!("{} (VMID {vmid})", r.message);
        }
    }
    if !r.ok || r.message == "started" {
        return r;
    }
    let g = crate::api::GuestRef {
        kind: plan.kind,
        node: plan.node.clone(),
        vmid,
    };
    let ha = plan.sets("ha");
    if !ha.is_empty() {
        let sid = ha::sid(plan.kind, vmid);
        let o = ResourceOptions {
            settings: ha,
            ..ResourceOptions::default()
        };
        if let Err(e) = ha::add(client, &sid, &o).await {
            return failed_part(r, "HA", e.into(), &["created"]);
        }
    }
    let fw = plan.sets("firewall");
    if !fw.is_empty() {
        let scope = firewall::guest_scope(g.kind, &g.node, g.vmid);
        if let Err(e) = firewall::set_options(client, &scope, &fw, &[], None).await {
            return failed_part(r, "firewall options", e.into(), &["created"]);
        }
    }
    r
}

async fn change_guest(
    client: &Client,
    session: &Session<'_>,
    plan: &GuestPlan,
    no_wait: bool,
) -> (ActionResult, Option<String>) {
    let mut r = blank(plan, "change");
    let Some(g) = &plan.guest else {
        return (r.fail(ErrorKind::Other, "no guest to change"), None);
    };
    let started = Instant::now();
    let mut done: Vec<&str> = vec![];
    let mut pending = None;
    let set = plan.sets("config");
    let delete = plan.deletes("config");
    if !set.is_empty() || !delete.is_empty() {
        let mut params = Params::new();
        for (k, v) in &set {
            params.push(k, v);
        }
        let params = params
            .opt("delete", (!delete.is_empty()).then(|| delete.join(",")))
            .opt("digest", plan.digest.as_deref());
        r = match config::write(client, g, &params).await {
            Err(e) if is_stale_digest(&e.to_string()) => {
                return (stale(r, &e.to_string()), None);
            }
            answer => session.settle(answer, r, "OK", no_wait).await,
        };
        if !r.ok {
            // A `qmconfig` task that ended on a stale digest is the same refusal.
            if let Some(x) = r.exitstatus.clone().filter(|x| is_stale_digest(x)) {
                let mut r = stale(r, &x);
                r.log_tail.clear();
                return (r, None);
            }
            return (r, None);
        }
        done.push("configuration");
        if !no_wait && g.status.as_deref() == Some("running") {
            pending = waiting(client, g, &set, &delete).await;
        }
    }
    let upid = r.upid.clone();
    let exitstatus = r.exitstatus.clone();
    if let Some(c) = plan.section("pool").next() {
        let moved = async {
            if let Some(to) = &c.new {
                let join = PoolChange {
                    vms: vec![g.vmid],
                    // Out of the pool it is in.
                    allow_move: c.old.is_some(),
                    ..PoolChange::default()
                };
                pools::update(client, to, &join).await
            } else if let Some(from) = &c.old {
                let leave = PoolChange {
                    vms: vec![g.vmid],
                    delete: true,
                    ..PoolChange::default()
                };
                pools::update(client, from, &leave).await
            } else {
                Ok(())
            }
        };
        if let Err(e) = moved.await {
            return (failed_part(r, "pool", e.into(), &done), pending);
        }
        done.push("pool");
    }
    let ha_set = plan.sets("ha");
    let ha_delete = plan.deletes("ha");
    if !ha_set.is_empty() || !ha_delete.is_empty() {
        let sid = ha::sid(g.kind, g.vmid);
        let sent = if plan.ha_managed {
            let o = ResourceOptions {
                settings: ha_set,
                delete: ha_delete,
                ..ResourceOptions::default()
            };
            ha::update(client, &sid, &o).await
        } else {
            let o = ResourceOptions {
                settings: ha_set,
                ..ResourceOptions::default()
            };
            ha::add(client, &sid, &o).await
        };
        if let Err(e) = sent {
            return (failed_part(r, "HA", e.into(), &done), pending);
        }
        done.push("HA");
    }
    let fw_set = plan.sets("firewall");
    let fw_delete = plan.deletes("firewall");
    if !fw_set.is_empty() || !fw_delete.is_empty() {
        let scope = firewall::guest_scope(g.kind, &g.node, g.vmid);
        let digest = plan.fw_digest.as_deref();
        if let Err(e) = firewall::set_options(client, &scope, &fw_set, &fw_delete, digest).await {
            let e = match is_stale_digest(&e.to_string()) {
                true => anyhow::Error::from(crate::error::CliError::refused(
                    super::super::guest::stale_digest_message(&e.to_string()),
                )),
                false => e.into(),
            };
            return (failed_part(r, "firewall options", e, &done), pending);
        }
    }
    let mut r = if r.message == "started" {
        r
    } else {
        r.done(exitstatus.as_deref().unwrap_or("OK"))
    };
    r.upid = upid;
    r.exitstatus = exitstatus;
    if r.duration_s == 0.0 {
        r.duration_s = (started.elapsed().as_secs_f64() * 100.0).round() / 100.0;
    }
    (r, pending)
}

/// PVE refused a stale digest: exit 6, nothing changed.
fn stale(r: ActionResult, pve_says: &str) -> ActionResult {
    r.fail(
        ErrorKind::Refused,
        super::super::guest::stale_digest_message(pve_says),
    )
}

/// Which of the keys just changed wait for the guest's next restart, as a line to show.
async fn waiting(
    client: &Client,
    g: &Guest,
    set: &[(String, String)],
    delete: &[String],
) -> Option<String> {
    let pending = config::pending(client, g).await.ok()?;
    let touched = |k: &str| set.iter().any(|(s, _)| s == k) || delete.iter().any(|d| d == k);
    let keys: Vec<&str> = pending
        .iter()
        .filter(|p| p.waiting() && touched(&p.key))
        .map(|p| p.key.as_str())
        .collect();
    (!keys.is_empty()).then(|| {
        format!(
            "{}: pending until the next restart: {} (see `pvectl {} config {} --pending`)",
            g.label(),
            keys.join(", "),
            g.kind.command(),
            g.vmid
        )
    })
}

async fn delete_guest(
    client: &Client,
    session: &Session<'_>,
    plan: &GuestPlan,
    no_wait: bool,
) -> ActionResult {
    let r = blank(plan, "delete");
    if let Some(why) = &plan.refusal {
        return r.fail(ErrorKind::Refused, why.clone());
    }
    let Some(g) = &plan.guest else {
        return r.fail(ErrorKind::Other, "no guest to delete");
    };
    let answer: Result<Value, ApiError> = provision::delete(client, g, false, false).await;
    session.settle(answer, r, "deleted", no_wait).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cfg(v: Value) -> Config {
        serde_json::from_value(v).unwrap()
    }

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn keys_left_out_of_a_file_and_of_an_edit() {
        let have = cfg(json!({
            "name": "web", "memory": "2048", "onboot": 1, "vmgenid": "x", "digest": "d",
            "unused0": "local:v", "cipassword": "**********",
            "net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0"
        }));
        let want = settings(&[
            ("name", "web"),
            ("memory", "4096"),
            ("net0", "virtio,bridge=vmbr0"),
            ("cores", "2"),
        ]);
        let (changes, _) = config_changes(GuestKind::Qemu, &want, &have, Mode::Apply);
        let shown: Vec<(String, Option<String>, Option<String>)> = changes
            .iter()
            .map(|c| (c.key.clone(), c.old.clone(), c.new.clone()))
            .collect();
        assert_eq!(
            shown,
            vec![
                ("cores".into(), None, Some("2".into())),
                ("memory".into(), Some("2048".into()), Some("4096".into())),
                ("onboot".into(), Some("1".into()), None),
            ],
            "vmgenid is PVE's, unused0 and digest read-only, cipassword hidden"
        );
        let (changes, _) = config_changes(GuestKind::Qemu, &want, &have, Mode::Edit);
        let keys: Vec<&str> = changes.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, vec!["cores", "memory", "onboot", "vmgenid"]);
    }

    #[test]
    fn a_plan_reads_like_terraform() {
        let g = Guest::at(GuestKind::Qemu, "pve1", 100);
        let mut p = GuestPlan::of_guest(&g, Step::Change);
        p.name = Some("web".into());
        p.changes = vec![
            Change {
                section: "config",
                key: "memory".into(),
                old: Some("2048".into()),
                new: Some("4096".into()),
            },
            Change {
                section: "config",
                key: "onboot".into(),
                old: Some("1".into()),
                new: None,
            },
            Change {
                section: "pool",
                key: "pool".into(),
                old: None,
                new: Some("prod".into()),
            },
            Change {
                section: "ha",
                key: "state".into(),
                old: None,
                new: Some("started".into()),
            },
            Change {
                section: "config",
                key: "net0".into(),
                old: Some("virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1,tag=20".into()),
                new: Some("virtio=BC:24:11:00:00:01,bridge=vmbr1,firewall=1,tag=20".into()),
            },
        ];
        assert_eq!(
            p.lines(),
            vec![
                "~ web (100), VM on pve1: change",
                "    ~ memory: 2048 → 4096",
                "    - onboot (was 1)",
                "    + pool = prod",
                "    + ha.state = started",
                "    ~ net0:",
                "        - virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1,tag=20",
                "        + virtio=BC:24:11:00:00:01,bridge=vmbr1,firewall=1,tag=20",
            ]
        );
        assert!(p.lines().iter().all(|l| l.chars().count() <= WIDTH));
        let mut running = Guest::at(GuestKind::Qemu, "pve2", 101);
        running.name = Some("web2".into());
        running.status = Some("running".into());
        assert_eq!(
            delete(&running).lines(),
            vec![
                "! web2 (101), VM on pve2: not deleted, it is running: stop it first",
                "    (`pvectl vm stop 101`)",
            ]
        );
        assert_eq!(
            summary(&[p.clone(), delete(&g)]),
            "Plan: 0 to create, 1 to change, 1 to delete; 0 unchanged."
        );
    }
}
