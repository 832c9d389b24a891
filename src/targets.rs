//! Guest addressing, the one resolver for every guest argument: VMIDs, names, globs and selectors
//! resolved with one `GET /cluster/resources?type=vm`, so nobody has to name the node. A single
//! guest given by VMID is first looked for where the last lookup saw it (`hints`).

pub mod hints;

use globset::{Glob, GlobMatcher};
use serde_json::Value;

use crate::api::cluster::{self, Resource};
use crate::api::guest::power;
use crate::api::{ApiError, Client, GuestKind, Located};
use crate::cli::Selectors;
use crate::error::{CliError, ErrorKind};

/// The words a user reads for a guest kind.
pub trait KindWords {
    /// "VM" or "container".
    fn noun(self) -> &'static str;
    /// "a VM" or "a container".
    fn a_noun(self) -> &'static str;
    /// The command for this kind: `vm` or `ct`.
    fn command(self) -> &'static str;
}

impl KindWords for GuestKind {
    fn noun(self) -> &'static str {
        match self {
            GuestKind::Qemu => "VM",
            GuestKind::Lxc => "container",
        }
    }
    fn a_noun(self) -> &'static str {
        match self {
            GuestKind::Qemu => "a VM",
            GuestKind::Lxc => "a container",
        }
    }
    fn command(self) -> &'static str {
        match self {
            GuestKind::Qemu => "vm",
            GuestKind::Lxc => "ct",
        }
    }
}

/// A guest, located.
#[derive(Clone, Debug)]
pub struct Guest {
    pub vmid: u32,
    pub kind: GuestKind,
    pub node: String,
    pub name: Option<String>,
    pub status: Option<String>,
    /// The lookup's entry; for a guest found through its node (`current`), that node's answer
    /// in the same shape, which has no `pool`, and an HA state only for a managed guest.
    pub resource: Option<Resource>,
    /// The node's own `…/status/current` answer of a moment ago, when that is how the guest was
    /// found (`hinted`): its state is then not pvestatd's last report, which `/cluster/resources`
    /// gives (up to ~10 s old).
    pub current: Option<Value>,
}

impl Located for Guest {
    fn kind(&self) -> GuestKind {
        self.kind
    }
    fn node(&self) -> &str {
        &self.node
    }
    fn vmid(&self) -> u32 {
        self.vmid
    }
}

impl Guest {
    /// A guest known only by VMID and node (nothing was looked up).
    pub fn at(kind: GuestKind, node: &str, vmid: u32) -> Guest {
        Guest {
            vmid,
            kind,
            node: node.to_string(),
            name: None,
            status: None,
            resource: None,
            current: None,
        }
    }

    /// The state as PVE's web UI shows it (`paused`, `suspended` for a hibernated VM, or the
    /// status), from the cluster's view.
    pub fn state(&self) -> Option<&str> {
        crate::api::guest::power::state(
            self.status.as_deref(),
            None,
            self.resource.as_ref().and_then(|r| r.lock.as_deref()),
        )
    }

    /// `web1 (100)` or `100`.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("{n} ({})", self.vmid),
            None => self.vmid.to_string(),
        }
    }

    /// `web1 (100) on pve1 (running)`: a line of a confirmation list.
    pub fn summary(&self) -> String {
        format!(
            "{} on {} ({})",
            self.label(),
            self.node,
            self.status.as_deref().unwrap_or("?")
        )
    }

    /// A guest as its node's `…/status/current` describes it, in the shape of a lookup's entry
    /// (name, state, lock, template, HA state).
    fn from_status(kind: GuestKind, node: &str, vmid: u32, answer: Value) -> Option<Guest> {
        let mut status = answer.clone();
        let entry = status.as_object_mut()?;
        // The state as `/cluster/resources` has it: pvestatd reports `qmpstatus || status`.
        let qmp = entry
            .get("qmpstatus")
            .and_then(Value::as_str)
            .filter(|q| {
                *q != "running" && entry.get("status").and_then(Value::as_str) == Some("running")
            })
            .map(str::to_string);
        if let Some(q) = qmp {
            entry.insert("status".into(), q.into());
        }
        let hastate = entry
            .get("ha")
            .filter(|ha| ha.get("managed").and_then(Value::as_u64) == Some(1))
            .and_then(|ha| ha.get("state").cloned());
        entry.insert("id".into(), format!("{kind}/{vmid}").into());
        entry.insert("type".into(), kind.as_str().into());
        entry.insert("node".into(), node.into());
        entry.insert("vmid".into(), vmid.into());
        if let Some(state) = hastate {
            entry.insert("hastate".into(), state);
        }
        let r: Resource = serde_json::from_str(&status.to_string()).ok()?;
        Some(Guest {
            current: Some(answer),
            ..Guest::from_resource(&r)?
        })
    }

    fn from_resource(r: &Resource) -> Option<Guest> {
        Some(Guest {
            vmid: r.vmid?,
            kind: r.guest_kind()?,
            node: r.node.clone()?,
            name: r.name.clone(),
            status: r.status.clone(),
            resource: Some(r.clone()),
            current: None,
        })
    }
}

/// All guests of the cluster (both kinds): the one request every resolution needs. Where each
/// guest is, is kept for the next command (`hints`).
pub async fn fetch_guests(client: &Client) -> anyhow::Result<Vec<Resource>> {
    let guests = cluster::guests(client).await?;
    if let Some(file) = client.hints() {
        hints::write(file, &guests);
    }
    Ok(guests)
}

/// How long the node where a guest was last seen gets to confirm it, before it is looked up
/// (a node answers in milliseconds; one that is down or hangs must not hold the command up).
const HINT_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A guest given by VMID alone, found where the last lookup saw it: that node confirms it holds
/// the guest and tells its name and state (one small answer instead of the cluster's whole list).
/// `None` when nothing was seen, it was of the other kind, or the node does not confirm it in
/// time, asked once (the guest moved or is gone, the node is down or slow, any error answer): the
/// caller looks the guest up. An error only when the request could not be sent at all (no
/// connection to the server, TLS, a login refused), where a lookup would fail alike.
pub async fn hinted(
    client: &Client,
    kind: GuestKind,
    vmid: u32,
) -> Result<Option<Guest>, ApiError> {
    let Some((seen, node)) = client.hints().and_then(|f| hints::read(f, vmid)) else {
        return Ok(None);
    };
    if seen != kind {
        return Ok(None);
    }
    match power::current_once(client, &Guest::at(kind, &node, vmid), HINT_LIMIT).await {
        Ok(status) => Ok(Guest::from_status(kind, &node, vmid, status)),
        Err(Some(e)) => Err(e),
        Err(None) => Ok(None),
    }
}

/// One guest by VMID and nothing else to select by: the guest where it was last seen (`hinted`).
pub async fn hinted_selection(
    client: &Client,
    kind: GuestKind,
    specs: &[String],
    all: bool,
    sel: &Selectors,
) -> Result<Option<Selection>, ApiError> {
    let [spec] = specs else { return Ok(None) };
    let Some(vmid) = parse_vmid(spec.trim()) else {
        return Ok(None);
    };
    if all || sel.any() {
        return Ok(None);
    }
    Ok(hinted(client, kind, vmid).await?.map(|g| Selection {
        guests: vec![g],
        by_selector: false,
    }))
}

/// The guests (both kinds) among resources of any type.
pub fn fetch_from(resources: &[Resource]) -> Vec<Guest> {
    resources.iter().filter_map(Guest::from_resource).collect()
}

pub fn is_glob(spec: &str) -> bool {
    spec.contains(['*', '?', '['])
}

pub fn glob(pattern: &str) -> Result<GlobMatcher, CliError> {
    Glob::new(pattern)
        .map(|g| g.compile_matcher())
        .map_err(|e| CliError::usage(format!("'{pattern}' is not a valid glob: {e}")))
}

fn parse_vmid(spec: &str) -> Option<u32> {
    if spec.len() >= 3
        && spec.len() <= 9
        && spec.bytes().all(|b| b.is_ascii_digit())
        && !spec.starts_with('0')
    {
        spec.parse().ok()
    } else {
        None
    }
}

/// `spec` (as the user typed it) names a guest of the other kind.
fn other_kind_error(r: &Resource, kind: GuestKind, spec: &str) -> CliError {
    let other = r.guest_kind().unwrap_or(kind);
    let what = other.a_noun();
    let id = r.vmid.map(|v| v.to_string()).unwrap_or_default();
    let named = if spec == id {
        id
    } else {
        format!("'{spec}' ({id})")
    };
    CliError::usage(format!(
        "{named} is {what}: use 'pvectl {} …'",
        other.command()
    ))
}

/// Match one guest argument (VMID, name or glob) against the cluster's guests.
pub fn match_spec(
    resources: &[Resource],
    kind: GuestKind,
    spec: &str,
) -> Result<Vec<Guest>, CliError> {
    match_scoped(resources, Some(kind), spec)
}

fn noun(kind: Option<GuestKind>) -> &'static str {
    kind.map_or("guest", |k| k.noun())
}

fn list_command(kind: Option<GuestKind>) -> &'static str {
    match kind {
        Some(GuestKind::Qemu) => "pvectl vm list",
        Some(GuestKind::Lxc) => "pvectl ct list",
        None => "pvectl vm list` or `pvectl ct list",
    }
}

/// Match one guest argument; `kind` None accepts VMs and containers alike (backups).
fn match_scoped(
    resources: &[Resource],
    kind: Option<GuestKind>,
    spec: &str,
) -> Result<Vec<Guest>, CliError> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Err(CliError::usage(
            "an empty guest name: give a VMID, a name or a glob",
        ));
    }
    let ours = |r: &&Resource| kind.is_none_or(|k| r.guest_kind() == Some(k));
    // A guest PVE lists without a node cannot be addressed: as good as not found.
    let located = |r: &Resource| {
        Guest::from_resource(r).map(|g| vec![g]).ok_or_else(|| {
            CliError::not_found(format!(
                "{} {spec} has no node in the cluster's list (try again, or see `{}`)",
                noun(kind),
                list_command(kind)
            ))
        })
    };
    if let Some(vmid) = parse_vmid(spec) {
        return match resources.iter().find(|r| r.vmid == Some(vmid)) {
            Some(r) if ours(&r) => located(r),
            Some(r) => Err(other_kind_error(r, kind.unwrap_or(GuestKind::Qemu), spec)),
            None => Err(CliError::not_found(format!(
                "no {} with VMID {vmid} in the cluster (see `{}`)",
                noun(kind),
                list_command(kind)
            ))),
        };
    }
    // All digits but no VMID (`99`, `0100`): a mistyped VMID, unless a guest has that name.
    if spec.bytes().all(|b| b.is_ascii_digit())
        && !resources.iter().any(|r| r.name.as_deref() == Some(spec))
    {
        return Err(CliError::usage(format!(
            "'{spec}' is not a VMID: VMIDs are 100 to 999999999"
        )));
    }
    if is_glob(spec) {
        let m = glob(spec)?;
        let found: Vec<Guest> = resources
            .iter()
            .filter(ours)
            .filter(|r| r.name.as_deref().is_some_and(|n| m.is_match(n)))
            .filter_map(Guest::from_resource)
            .collect();
        if found.is_empty() {
            return Err(CliError::not_found(format!(
                "no {} name matches '{spec}' (see `{}`)",
                noun(kind),
                list_command(kind)
            )));
        }
        return Ok(found);
    }
    let named: Vec<&Resource> = resources
        .iter()
        .filter(|r| r.name.as_deref() == Some(spec))
        .collect();
    let mine: Vec<&Resource> = named.iter().copied().filter(ours).collect();
    match (mine.len(), named.first()) {
        (1, _) => located(mine[0]),
        (0, Some(r)) => Err(other_kind_error(r, kind.unwrap_or(GuestKind::Qemu), spec)),
        (0, None) => Err(CliError::not_found(format!(
            "no {} named '{spec}' in the cluster (see `{}`)",
            noun(kind),
            list_command(kind)
        ))),
        _ => {
            let list: Vec<String> = mine
                .iter()
                .map(|r| {
                    format!(
                        "{} on {}",
                        r.vmid.unwrap_or_default(),
                        r.node.as_deref().unwrap_or("?")
                    )
                })
                .collect();
            Err(CliError::new(
                ErrorKind::Usage,
                format!(
                    "'{spec}' names {} {}s: {}; use the VMID",
                    mine.len(),
                    noun(kind),
                    list.join(", ")
                ),
            ))
        }
    }
}

/// The VMID a guest argument stands for: a VMID as it is (no lookup, so also a guest that is
/// gone), a name (of either kind) looked up; it must name exactly one guest.
pub async fn vmid_of(client: &Client, spec: &str) -> anyhow::Result<u32> {
    if let Some(vmid) = parse_vmid(spec.trim()) {
        return Ok(vmid);
    }
    if is_glob(spec) {
        return Err(CliError::usage(format!("'{spec}' is a glob: give one guest")).into());
    }
    let resources = fetch_guests(client).await?;
    let found = match_scoped(&resources, None, spec)?;
    Ok(found[0].vmid)
}

/// Resolve exactly one guest. With `--node` and a numeric VMID nothing is looked up.
pub async fn resolve_one(
    client: &Client,
    kind: GuestKind,
    spec: &str,
    node: Option<&str>,
) -> anyhow::Result<Guest> {
    match (parse_vmid(spec.trim()), node) {
        (Some(vmid), Some(node)) => return Ok(Guest::at(kind, node, vmid)),
        (Some(vmid), None) => {
            if let Some(g) = hinted(client, kind, vmid).await? {
                return Ok(g);
            }
        }
        _ => {}
    }
    if is_glob(spec) {
        return Err(
            CliError::usage(format!("'{spec}' is a glob: this command takes one guest")).into(),
        );
    }
    let resources = fetch_guests(client).await?;
    let Some(n) = node else {
        return Ok(match_spec(&resources, kind, spec)?.remove(0));
    };
    // With --node, a name only has to be unique on that node.
    let on_node: Vec<Resource> = resources
        .iter()
        .filter(|r| r.node.as_deref() == Some(n))
        .cloned()
        .collect();
    match match_spec(&on_node, kind, spec) {
        Ok(mut found) => Ok(found.remove(0)),
        Err(e) if e.kind == ErrorKind::NotFound => {
            Err(CliError::not_found(format!("no {} '{spec}' on node {n}", kind.noun())).into())
        }
        Err(e) => Err(e.into()),
    }
}

impl Selectors {
    pub fn any(&self) -> bool {
        self.tag.is_some() || self.pool.is_some() || self.node.is_some() || self.status.is_some()
    }

    /// Whether the guest (or any resource) passes every selector given.
    pub fn matches(&self, r: &Resource) -> bool {
        self.node
            .as_ref()
            .is_none_or(|n| r.node.as_ref() == Some(n))
            && self.status.as_ref().is_none_or(|s| {
                crate::api::guest::power::state(r.status.as_deref(), None, r.lock.as_deref())
                    == Some(s.as_str())
            })
            && self
                .pool
                .as_ref()
                .is_none_or(|p| r.pool.as_ref() == Some(p))
            && self
                .tag
                .as_ref()
                .is_none_or(|t| r.tag_list().contains(&t.as_str()))
    }
}

/// How the targets were chosen: by name (explicit) or by a selector (needs confirmation).
#[derive(Debug, Clone)]
pub struct Selection {
    pub guests: Vec<Guest>,
    pub by_selector: bool,
}

/// The targets of a multi-guest verb: positional guests (filtered by any selectors), or, without
/// positional guests, every guest the selectors pick (templates excluded). Unknown names fail before
/// anything is done.
pub fn select(
    resources: &[Resource],
    kind: GuestKind,
    specs: &[String],
    all: bool,
    sel: &Selectors,
) -> Result<Selection, CliError> {
    select_scoped(resources, Some(kind), specs, all, sel, false)
}

/// One guest named by VMID on the node `--node` gives, and no other selector: nothing needs to
/// be looked up (the guest's name and state are then not known; PVE's answer says the rest).
pub fn direct(kind: GuestKind, specs: &[String], all: bool, sel: &Selectors) -> Option<Selection> {
    let (Some(node), [spec]) = (sel.node.as_deref(), specs) else {
        return None;
    };
    if all || sel.tag.is_some() || sel.pool.is_some() || sel.status.is_some() {
        return None;
    }
    Some(Selection {
        guests: vec![Guest::at(kind, node, parse_vmid(spec.trim())?)],
        by_selector: false,
    })
}

/// Guests of both kinds (backups); `templates` says whether selectors pick templates too.
pub fn select_any(
    resources: &[Resource],
    specs: &[String],
    all: bool,
    sel: &Selectors,
    templates: bool,
) -> Result<Selection, CliError> {
    select_scoped(resources, None, specs, all, sel, templates)
}

fn select_scoped(
    resources: &[Resource],
    kind: Option<GuestKind>,
    specs: &[String],
    all: bool,
    sel: &Selectors,
    templates: bool,
) -> Result<Selection, CliError> {
    if specs.is_empty() && !all && !sel.any() {
        return Err(CliError::usage(format!(
            "no {}s given: name them (VMID, name or glob), or pick them with --all, --tag, --pool, --node or --status",
            noun(kind)
        )));
    }
    let mut out: Vec<Guest> = vec![];
    let push = |g: Guest, out: &mut Vec<Guest>| {
        if !out.iter().any(|o| o.vmid == g.vmid) {
            out.push(g);
        }
    };
    if specs.is_empty() {
        let mut picked: Vec<Guest> = resources
            .iter()
            .filter(|r| kind.is_none_or(|k| r.guest_kind() == Some(k)))
            .filter(|r| templates || !r.template)
            .filter(|r| sel.matches(r))
            .filter_map(Guest::from_resource)
            .collect();
        picked.sort_by_key(|g| g.vmid);
        for g in picked {
            push(g, &mut out);
        }
        if out.is_empty() {
            return Err(CliError::not_found(format!(
                "the selectors pick no {}",
                noun(kind)
            )));
        }
        return Ok(Selection {
            guests: out,
            by_selector: true,
        });
    }
    for spec in specs {
        for g in match_scoped(resources, kind, spec)? {
            if g.resource.as_ref().is_none_or(|r| sel.matches(r)) {
                push(g, &mut out);
            }
        }
    }
    if out.is_empty() {
        return Err(CliError::not_found(format!(
            "none of the given {}s matches the selectors",
            noun(kind)
        )));
    }
    Ok(Selection {
        guests: out,
        by_selector: false,
    })
}

/// The resource rows of one kind, as JSON values, for lists.
pub fn rows(resources: &[Resource]) -> Vec<Value> {
    resources
        .iter()
        .filter_map(|r| serde_json::to_value(r).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(vmid: u32, kind: &str, name: &str, node: &str) -> Resource {
        serde_json::from_str(&serde_json::json!({
            "id": format!("{kind}/{vmid}"), "type": kind, "vmid": vmid, "name": name, "node": node, "status": "running"
        })
        .to_string())
        .unwrap()
    }

    #[test]
    fn a_guest_found_through_its_node_reads_as_a_lookup_would_show_it() {
        // PVE's `status/current` of a paused, HA-managed VM with a lock (fields as its schema
        // names them).
        let answer = serde_json::json!({
            "vmid": 100, "name": "web1", "status": "running", "qmpstatus": "paused",
            "lock": "backup", "tags": "prod", "ha": {"managed": 1, "state": "started"}
        });
        let g = Guest::from_status(GuestKind::Qemu, "pve2", 100, answer.clone()).unwrap();
        assert_eq!(
            (g.vmid, g.kind, g.node.as_str()),
            (100, GuestKind::Qemu, "pve2")
        );
        assert_eq!(g.label(), "web1 (100)");
        // As pvestatd reports it to /cluster/resources: QEMU's own state.
        assert_eq!(g.status.as_deref(), Some("paused"));
        let r = g.resource.as_ref().unwrap();
        assert_eq!(r.lock.as_deref(), Some("backup"));
        assert_eq!(r.ha_state().as_deref(), Some("started"));
        assert_eq!(r.tag_list(), ["prod"]);
        assert!(!r.template);
        // The node's answer itself is kept as it came.
        assert_eq!(g.current, Some(answer));

        // A template container, not HA-managed, hibernation irrelevant.
        let answer = serde_json::json!({
            "vmid": 200, "name": "base", "status": "stopped", "template": 1, "ha": {"managed": 0}
        });
        let g = Guest::from_status(GuestKind::Lxc, "pve1", 200, answer).unwrap();
        assert_eq!(g.status.as_deref(), Some("stopped"));
        let r = g.resource.as_ref().unwrap();
        assert!(r.template);
        assert_eq!(r.ha_state(), None);
        assert_eq!(r.guest_kind(), Some(GuestKind::Lxc));
        // Not an object: nothing to go by.
        assert!(Guest::from_status(GuestKind::Qemu, "pve1", 1, serde_json::json!(null)).is_none());
    }

    fn cluster() -> Vec<Resource> {
        vec![
            res(100, "qemu", "web-1", "pve1"),
            res(101, "qemu", "web-2", "pve2"),
            res(102, "lxc", "db", "pve1"),
            res(103, "qemu", "dup", "pve1"),
            res(104, "qemu", "dup", "pve3"),
        ]
    }

    #[test]
    fn by_vmid_name_and_glob() {
        let c = cluster();
        assert_eq!(
            match_spec(&c, GuestKind::Qemu, "100").unwrap()[0].node,
            "pve1"
        );
        assert_eq!(
            match_spec(&c, GuestKind::Qemu, "web-2").unwrap()[0].vmid,
            101
        );
        let g = match_spec(&c, GuestKind::Qemu, "web-*").unwrap();
        assert_eq!(g.iter().map(|g| g.vmid).collect::<Vec<_>>(), vec![100, 101]);
    }

    #[test]
    fn other_kind_is_a_usage_error() {
        let e = match_spec(&cluster(), GuestKind::Qemu, "102").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Usage);
        assert_eq!(e.message, "102 is a container: use 'pvectl ct …'");
        let e = match_spec(&cluster(), GuestKind::Lxc, "web-1").unwrap_err();
        assert_eq!(e.message, "'web-1' (100) is a VM: use 'pvectl vm …'");
        let e = match_spec(&cluster(), GuestKind::Lxc, "100").unwrap_err();
        assert_eq!(e.message, "100 is a VM: use 'pvectl vm …'");
    }

    #[test]
    fn a_guest_without_a_node_is_not_found_rather_than_nothing() {
        let mut r = res(105, "qemu", "lost", "pve1");
        r.node = None;
        for spec in ["105", "lost"] {
            let e = match_spec(std::slice::from_ref(&r), GuestKind::Qemu, spec).unwrap_err();
            assert_eq!(e.kind, ErrorKind::NotFound, "{spec}: {}", e.message);
        }
    }

    #[test]
    fn ambiguous_and_unknown() {
        let e = match_spec(&cluster(), GuestKind::Qemu, "dup").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Usage);
        assert!(
            e.message.contains("103 on pve1") && e.message.contains("104 on pve3"),
            "{}",
            e.message
        );
        let e = match_spec(&cluster(), GuestKind::Qemu, "nope").unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound);
        let e = match_spec(&cluster(), GuestKind::Qemu, "999").unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound);
        let e = match_spec(&cluster(), GuestKind::Qemu, "99").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Usage);
        assert_eq!(e.message, "'99' is not a VMID: VMIDs are 100 to 999999999");
    }
}
