//! Where each guest of a drained node goes: the online node with the most free memory that can
//! take it (its memory, the storages of its disks, its HA rules), CPU load breaking ties, each
//! placement counted before the next one is made. Pure: the cluster comes in, the plan goes out.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::api::ha::Rule;
use crate::output::{bytes, percent};
use crate::targets::Guest;

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// A node as a target.
#[derive(Clone, Debug)]
pub struct Room {
    pub name: String,
    pub online: bool,
    /// Bytes of memory not in use (`maxmem - mem`), less what was placed on it.
    pub free: f64,
    /// CPU load as a fraction of the node's CPUs, plus what was placed on it.
    pub cpu: f64,
    pub maxcpu: f64,
    /// The storages available on the node.
    pub storages: BTreeSet<String>,
}

/// How a guest moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum How {
    /// A running VM, live (`online=1`).
    Live,
    /// A running container: shut down, moved, started (`restart=1`).
    Restart,
    /// A stopped guest.
    Offline,
    /// A running VM with local disks, with --offline-local-disks: shut down, moved, started.
    ShutdownMoveStart,
    /// An HA-managed guest, through HA's migrate.
    Ha,
}

impl How {
    pub fn as_str(self) -> &'static str {
        match self {
            How::Live => "live",
            How::Restart => "restart",
            How::Offline => "offline",
            How::ShutdownMoveStart => "shutdown, move, start",
            How::Ha => "HA",
        }
    }
}

/// A guest to place, with what it needs.
#[derive(Clone, Debug)]
pub struct Mover {
    pub guest: Guest,
    /// Bytes of memory the target must have free (its configured memory when it runs).
    pub memory: f64,
    /// Its CPU load, as a fraction of one CPU times its CPUs (`cpu * maxcpu`).
    pub cpus_used: f64,
    /// The storages its volumes are on.
    pub storages: BTreeSet<String>,
    /// Some of them are not shared (a VM needs `with-local-disks` to move live).
    pub local_disks: bool,
    /// Why it cannot move at all (a local CD-ROM image, a passed-through device).
    pub stuck: Option<String>,
    /// Its HA resource id when HA manages it.
    pub ha: Option<String>,
    pub how: How,
}

/// One line of the plan.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub vmid: u32,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub from: String,
    /// `None`: no node can take it.
    pub to: Option<String>,
    pub how: How,
    pub why: String,
    /// Bytes of memory it needs.
    pub memory: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ha: Option<String>,
    #[serde(skip)]
    pub mover: Mover,
}

/// Place every mover; `allowed` limits the targets (`--to`), `away_from` is the drained node.
pub fn place(
    movers: &[Mover],
    rooms: &mut [Room],
    allowed: &[String],
    away_from: Option<&str>,
    rules: &[Rule],
) -> Vec<Step> {
    // The largest first, so the big ones find room; stopped guests need none and go last.
    let mut order: Vec<usize> = (0..movers.len()).collect();
    order.sort_by(|&a, &b| {
        movers[b]
            .memory
            .total_cmp(&movers[a].memory)
            .then(movers[a].guest.vmid.cmp(&movers[b].guest.vmid))
    });
    let mut steps: Vec<Option<Step>> = vec![None; movers.len()];
    for i in order {
        let mv = &movers[i];
        let (to, why) = choose(mv, rooms, allowed, away_from, rules);
        if let Some(t) = &to {
            if let Some(room) = rooms.iter_mut().find(|r| &r.name == t) {
                room.free -= mv.memory;
                if room.maxcpu > 0.0 {
                    room.cpu += mv.cpus_used / room.maxcpu;
                }
            }
        }
        steps[i] = Some(Step {
            vmid: mv.guest.vmid,
            name: mv.guest.name.clone(),
            kind: mv.guest.kind.as_str(),
            from: mv.guest.node.clone(),
            to,
            how: mv.how,
            why,
            memory: mv.memory as u64,
            ha: mv.ha.clone(),
            mover: mv.clone(),
        });
    }
    let mut steps: Vec<Step> = steps.into_iter().flatten().collect();
    steps.sort_by_key(|s| s.vmid);
    steps
}

/// The best node for one guest and why, or no node and why not.
fn choose(
    mv: &Mover,
    rooms: &[Room],
    allowed: &[String],
    away_from: Option<&str>,
    rules: &[Rule],
) -> (Option<String>, String) {
    if let Some(stuck) = &mv.stuck {
        return (None, stuck.clone());
    }
    let mut reasons: Vec<String> = vec![];
    let mut fits: Vec<&Room> = vec![];
    let constraint = mv.ha.as_deref().and_then(|sid| ha_nodes(sid, rules));
    for room in rooms {
        if room.name == mv.guest.node || Some(room.name.as_str()) == away_from {
            continue;
        }
        if !allowed.is_empty() && !allowed.contains(&room.name) {
            continue;
        }
        if !room.online {
            reasons.push(format!("{} is offline", room.name));
            continue;
        }
        if let Some(missing) = mv.storages.iter().find(|s| !room.storages.contains(*s)) {
            reasons.push(format!("{} has no storage {missing}", room.name));
            continue;
        }
        if let Some((rule, nodes, keep_on)) = &constraint {
            if nodes.contains(&room.name) != *keep_on {
                reasons.push(format!("HA rule {rule} keeps it off {}", room.name));
                continue;
            }
        }
        if room.free < mv.memory {
            reasons.push(format!(
                "{} has {} free, it needs {}",
                room.name,
                bytes(room.free.max(0.0)),
                bytes(mv.memory)
            ));
            continue;
        }
        fits.push(room);
    }
    // The nodes an HA rule prefers first (as HA would place it), then most free memory (to
    // the GiB), then the lower CPU load, then the name.
    let preferred = mv.ha.as_deref().and_then(|sid| preference(sid, rules));
    let rank = |r: &Room| {
        preferred
            .as_ref()
            .and_then(|(_, nodes)| nodes.iter().find(|(n, _)| n == &r.name).map(|(_, p)| *p))
    };
    fits.sort_by(|a, b| {
        let (fa, fb) = ((a.free / GIB).floor(), (b.free / GIB).floor());
        rank(b)
            .cmp(&rank(a))
            .then(fb.total_cmp(&fa))
            .then(a.cpu.total_cmp(&b.cpu))
            .then(a.name.cmp(&b.name))
    });
    match fits.first() {
        Some(best) if rank(best).is_some() => {
            let rule = preferred.map(|(r, _)| r).unwrap_or_default();
            (
                Some(best.name.clone()),
                format!(
                    "HA rule {rule} prefers it there ({} free)",
                    bytes(best.free)
                ),
            )
        }
        Some(best) => {
            let why = if fits.len() == 1 && !reasons.is_empty() {
                format!("the only node that can take it ({} free)", bytes(best.free))
            } else if fits.len() == 1 {
                format!("{} free, CPU {}", bytes(best.free), percent(best.cpu))
            } else {
                format!(
                    "most free memory: {}, CPU {}",
                    bytes(best.free),
                    percent(best.cpu)
                )
            };
            (Some(best.name.clone()), why)
        }
        None if reasons.is_empty() => (None, "no other online node to move it to".into()),
        None => (None, reasons.join("; ")),
    }
}

/// The nodes an HA rule holds a resource to: (rule, nodes, true when it must be on them, false
/// when off them). Only strict node-affinity rules bind; the others are preferences HA weighs.
fn ha_nodes(sid: &str, rules: &[Rule]) -> Option<(String, Vec<String>, bool)> {
    rules
        .iter()
        .filter(|r| r.is_node_affinity() && !r.disable)
        .filter(|r| r.resource_ids().contains(&sid))
        .find(|r| r.strict || r.negative())
        .map(|r| {
            let nodes = r
                .node_priorities()
                .into_iter()
                .map(|(n, _)| n.to_string())
                .collect();
            (r.rule.clone(), nodes, !r.negative())
        })
}

/// The nodes a positive node-affinity rule of an HA resource names, with their priorities.
fn preference(sid: &str, rules: &[Rule]) -> Option<(String, Vec<(String, i64)>)> {
    rules
        .iter()
        .filter(|r| r.is_node_affinity() && !r.disable && !r.negative())
        .find(|r| r.resource_ids().contains(&sid))
        .map(|r| {
            let nodes = r
                .node_priorities()
                .into_iter()
                .map(|(n, p)| (n.to_string(), p))
                .collect();
            (r.rule.clone(), nodes)
        })
}

/// The node-affinity rules that would bring an HA resource back to `node`: enabled, positive, and
/// with `node` among its nodes of the highest priority.
pub fn pulls_back<'a>(sid: &str, node: &str, rules: &'a [Rule]) -> Vec<&'a Rule> {
    rules
        .iter()
        .filter(|r| r.is_node_affinity() && !r.disable && !r.negative())
        .filter(|r| r.resource_ids().contains(&sid))
        .filter(|r| {
            let nodes = r.node_priorities();
            let best = nodes.iter().map(|(_, p)| *p).max().unwrap_or(0);
            nodes.iter().any(|(n, p)| *n == node && *p == best)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::GuestKind;
    use serde_json::json;

    fn room(name: &str, free_gib: f64, cpu: f64) -> Room {
        Room {
            name: name.into(),
            online: true,
            free: free_gib * GIB,
            cpu,
            maxcpu: 8.0,
            storages: ["local-lvm".to_string(), "nfs".to_string()].into(),
        }
    }

    fn mover(vmid: u32, gib: f64, storages: &[&str]) -> Mover {
        Mover {
            guest: Guest::at(GuestKind::Qemu, "pve1", vmid),
            memory: gib * GIB,
            cpus_used: 1.0,
            storages: storages.iter().map(|s| s.to_string()).collect(),
            local_disks: false,
            stuck: None,
            ha: None,
            how: How::Live,
        }
    }

    #[test]
    fn most_free_memory_wins_and_placements_count() {
        let mut rooms = vec![room("pve2", 10.0, 0.1), room("pve3", 8.0, 0.1)];
        let movers = [mover(100, 4.0, &["nfs"]), mover(101, 4.0, &["nfs"])];
        let steps = place(&movers, &mut rooms, &[], Some("pve1"), &[]);
        // 100 and 101 need as much: 100 (lower VMID) is placed first, on pve2 (10 GiB free);
        // pve2 then has 6, pve3 8: 101 goes to pve3.
        assert_eq!(steps[0].to.as_deref(), Some("pve2"));
        assert_eq!(steps[1].to.as_deref(), Some("pve3"));
    }

    #[test]
    fn cpu_breaks_ties_of_free_memory() {
        let mut rooms = vec![room("pve2", 8.2, 0.6), room("pve3", 8.7, 0.1)];
        let steps = place(&[mover(100, 1.0, &[])], &mut rooms, &[], None, &[]);
        assert_eq!(steps[0].to.as_deref(), Some("pve3"));
        assert!(
            steps[0].why.starts_with("most free memory"),
            "{}",
            steps[0].why
        );
    }

    #[test]
    fn what_a_node_lacks_is_why_it_is_not_chosen() {
        let mut off = room("pve4", 64.0, 0.0);
        off.online = false;
        let mut rooms = vec![room("pve2", 2.0, 0.0), room("pve3", 64.0, 0.0), off];
        rooms[1].storages.remove("nfs");
        let steps = place(&[mover(100, 4.0, &["nfs"])], &mut rooms, &[], None, &[]);
        assert_eq!(steps[0].to, None);
        assert_eq!(
            steps[0].why,
            "pve2 has 2 GiB free, it needs 4 GiB; pve3 has no storage nfs; pve4 is offline"
        );
    }

    #[test]
    fn to_limits_the_targets_and_stuck_guests_stay() {
        let mut rooms = vec![room("pve2", 10.0, 0.0), room("pve3", 20.0, 0.0)];
        let mut stuck = mover(101, 1.0, &[]);
        stuck.stuck = Some("a CD-ROM image on local storage: local:iso/x.iso".into());
        let steps = place(
            &[mover(100, 1.0, &[]), stuck],
            &mut rooms,
            &["pve2".to_string()],
            None,
            &[],
        );
        assert_eq!(steps[0].to.as_deref(), Some("pve2"));
        assert_eq!(steps[1].to, None);
        assert!(steps[1].why.contains("CD-ROM"));
    }

    #[test]
    fn strict_ha_rules_bind_and_preferences_warn() {
        let rule: Rule = serde_json::from_value(json!({
            "rule": "db-here", "type": "node-affinity", "resources": "vm:100",
            "nodes": "pve1:2,pve3:1", "strict": 1
        }))
        .unwrap();
        let mut rooms = vec![room("pve2", 30.0, 0.0), room("pve3", 10.0, 0.0)];
        let mut m = mover(100, 1.0, &[]);
        m.ha = Some("vm:100".into());
        let steps = place(
            &[m.clone()],
            &mut rooms,
            &[],
            Some("pve1"),
            std::slice::from_ref(&rule),
        );
        assert_eq!(steps[0].to.as_deref(), Some("pve3"));
        // Not strict: still the rule's next node first, although pve2 has more room.
        let mut soft = rule.clone();
        soft.strict = false;
        let steps = place(
            &[m],
            &mut rooms,
            &[],
            Some("pve1"),
            std::slice::from_ref(&soft),
        );
        assert_eq!(steps[0].to.as_deref(), Some("pve3"));
        assert!(
            steps[0].why.starts_with("HA rule db-here prefers it there"),
            "{}",
            steps[0].why
        );
        assert_eq!(
            pulls_back("vm:100", "pve1", std::slice::from_ref(&rule)).len(),
            1
        );
        assert!(pulls_back("vm:100", "pve3", std::slice::from_ref(&rule)).is_empty());
    }
}
