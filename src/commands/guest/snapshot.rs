//! `vm|ct snapshot list|create|rollback|delete`.

use std::collections::{BTreeMap, HashSet};

use serde_json::{json, Value};

use super::super::kit::TaskVerb;
use super::Ctx;
use crate::api::de::truthy;
use crate::api::guest::snapshot::{self, CURRENT};
use crate::api::GuestKind;
use crate::cli::{SnapshotArgs, SnapshotCreateArgs, SnapshotVerbs};
use crate::output::{col, Column, Kind};
use crate::targets;
use crate::task::LONG_WAIT;

pub async fn run(ctx: &Ctx, kind: GuestKind, cmd: SnapshotVerbs) -> anyhow::Result<()> {
    match cmd {
        SnapshotVerbs::List(t) => {
            let client = ctx.client()?;
            let g = targets::resolve_one(&client, kind, &t.guest, t.node.as_deref()).await?;
            let snaps = snapshot::list(&client, &g).await?;
            if ctx.out.structured() {
                // PVE's list as it is (times as ISO 8601).
                ctx.out.list(&RAW_COLUMNS, &snaps)
            } else if ctx.out.tabular() {
                ctx.out.list(&COLUMNS, &drawn(&snaps))
            } else {
                // PVE's entries in tree order, raw.
                let rows: Vec<Value> = tree(&snaps).into_iter().map(|(s, _)| s.clone()).collect();
                ctx.out.list(&RAW_COLUMNS, &rows)
            }
        }
        SnapshotVerbs::Rollback {
            snap,
            start,
            yes,
            wait,
        } => {
            let SnapshotArgs { guest, name, node } = snap;
            let v = TaskVerb::resolve(ctx, kind, &guest, node.as_deref(), &wait, LONG_WAIT).await?;
            v.confirm(
                &format!(
                    "Roll {} back to snapshot '{name}' (what changed since is lost)",
                    v.guest.label()
                ),
                yes,
            )?;
            let answer = snapshot::rollback(&v.client, &v.guest, &name, start).await?;
            v.finish(&format!("rollback to {name}"), answer).await
        }
        SnapshotVerbs::Delete {
            snap,
            force,
            yes,
            wait,
        } => {
            let SnapshotArgs { guest, name, node } = snap;
            let v = TaskVerb::resolve(ctx, kind, &guest, node.as_deref(), &wait, LONG_WAIT).await?;
            v.confirm(
                &format!("Delete snapshot '{name}' of {}?", v.guest.label()),
                yes,
            )?;
            let answer = snapshot::delete(&v.client, &v.guest, &name, force).await?;
            v.finish(&format!("delete snapshot {name}"), answer).await
        }
    }
}

pub async fn create(
    ctx: &Ctx,
    kind: GuestKind,
    a: SnapshotCreateArgs,
    vmstate: bool,
) -> anyhow::Result<()> {
    let SnapshotArgs { guest, name, node } = a.snap;
    let v = TaskVerb::resolve(ctx, kind, &guest, node.as_deref(), &a.wait, LONG_WAIT).await?;
    let answer = snapshot::create(
        &v.client,
        &v.guest,
        &name,
        vmstate,
        a.description.as_deref(),
    )
    .await?;
    v.finish(&format!("snapshot {name}"), answer).await
}

/// The snapshots in tree order, each with the lines that draw its place: parents before their
/// children, siblings oldest first and the current state last. A snapshot whose parent is missing
/// (a broken chain) starts a tree of its own.
fn tree(snaps: &[Value]) -> Vec<(&Value, String)> {
    let name = |s: &Value| s["name"].as_str().unwrap_or_default().to_string();
    let names: HashSet<String> = snaps.iter().map(name).collect();
    let parent = |s: &Value| {
        s["parent"]
            .as_str()
            .filter(|p| names.contains(*p) && *p != name(s))
            .map(str::to_string)
    };
    let mut children: BTreeMap<Option<String>, Vec<&Value>> = BTreeMap::new();
    for s in snaps {
        children.entry(parent(s)).or_default().push(s);
    }
    for list in children.values_mut() {
        list.sort_by_key(|s| (name(s) == CURRENT, s["snaptime"].as_i64().unwrap_or(0)));
    }
    let mut rows = vec![];
    let mut seen = HashSet::new();
    // (entry, the lines of its ancestors' levels, whether it is the last of its siblings, depth)
    let mut stack: Vec<(&Value, String, bool, usize)> = vec![];
    let roots = children.get(&None).cloned().unwrap_or_default();
    for (i, s) in roots.iter().enumerate().rev() {
        stack.push((s, String::new(), i + 1 == roots.len(), 0));
    }
    while let Some((s, above, last, depth)) = stack.pop() {
        let n = name(s);
        if !seen.insert(n.clone()) {
            continue;
        }
        let (mark, below) = match (depth, last) {
            (0, _) => ("", String::new()),
            (_, false) => ("├ ", format!("{above}│ ")),
            (_, true) => ("└ ", format!("{above}  ")),
        };
        rows.push((s, format!("{above}{mark}")));
        if let Some(kids) = children.get(&Some(n)) {
            for (i, k) in kids.iter().enumerate().rev() {
                stack.push((k, below.clone(), i + 1 == kids.len(), depth + 1));
            }
        }
    }
    // A loop of parents has no way in from a root: show its entries all the same.
    for s in snaps {
        if !seen.contains(&name(s)) {
            rows.push((s, String::new()));
        }
    }
    rows
}

/// The rows of the table: the tree drawn before each name, `current` as "NOW (you are here)".
fn drawn(snaps: &[Value]) -> Vec<Value> {
    tree(snaps)
        .into_iter()
        .map(|(s, lines)| {
            let name = s["name"].as_str().unwrap_or_default();
            if name == CURRENT {
                return json!({"name": format!("{lines}NOW (you are here)")});
            }
            let mut row = json!({
                "name": format!("{lines}{name}"),
                "vmstate": u8::from(s.get("vmstate").is_some_and(truthy)),
            });
            for key in ["snaptime", "description"] {
                if let Some(v) = s.get(key) {
                    row[key] = v.clone();
                }
            }
            row
        })
        .collect()
}

const COLUMNS: [Column; 4] = [
    col("name", "NAME", Kind::Text),
    col("snaptime", "TAKEN", Kind::Epoch).priority(2),
    col("vmstate", "RAM", Kind::Flag).priority(1),
    col("description", "DESCRIPTION", Kind::Text).free(),
];

/// TSV: PVE's fields, raw.
const RAW_COLUMNS: [Column; 5] = [
    col("name", "NAME", Kind::Text),
    col("parent", "PARENT", Kind::Text),
    col("snaptime", "SNAPTIME", Kind::Epoch),
    col("vmstate", "VMSTATE", Kind::Text),
    col("description", "DESCRIPTION", Kind::Text),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn names(snaps: &[Value]) -> Vec<String> {
        drawn(snaps)
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn two_branches_draw_their_siblings() {
        let snaps = vec![
            json!({"name": "b", "parent": "a", "snaptime": 2}),
            json!({"name": "current", "parent": "b", "description": "You are here!"}),
            json!({"name": "a", "snaptime": 1}),
            json!({"name": "c", "parent": "a", "snaptime": 3}),
            json!({"name": "d", "parent": "c", "snaptime": 4}),
        ];
        assert_eq!(
            names(&snaps),
            ["a", "├ b", "│ └ NOW (you are here)", "└ c", "  └ d"]
        );
    }

    #[test]
    fn a_deep_chain_and_siblings_below_it() {
        let snaps = vec![
            json!({"name": "s1", "snaptime": 1}),
            json!({"name": "s2", "parent": "s1", "snaptime": 2}),
            json!({"name": "s3", "parent": "s2", "snaptime": 3}),
            json!({"name": "s4", "parent": "s3", "snaptime": 4}),
            json!({"name": "x", "parent": "s2", "snaptime": 5}),
            json!({"name": "y", "parent": "s3", "snaptime": 6}),
            json!({"name": "current", "parent": "s3"}),
        ];
        assert_eq!(
            names(&snaps),
            [
                "s1",
                "└ s2",
                "  ├ s3",
                "  │ ├ s4",
                "  │ ├ y",
                "  │ └ NOW (you are here)",
                "  └ x",
            ]
        );
    }

    #[test]
    fn a_broken_parent_starts_a_tree_of_its_own() {
        let snaps = vec![
            json!({"name": "a", "snaptime": 1}),
            json!({"name": "orphan", "parent": "deleted", "snaptime": 2}),
            json!({"name": "child", "parent": "orphan", "snaptime": 3}),
            json!({"name": "current", "parent": "a"}),
            // Parents in a loop: no way in from a root.
            json!({"name": "p", "parent": "q", "snaptime": 8}),
            json!({"name": "q", "parent": "p", "snaptime": 9}),
        ];
        assert_eq!(
            names(&snaps),
            ["a", "└ NOW (you are here)", "orphan", "└ child", "p", "q"]
        );
    }

    #[test]
    fn only_the_current_state() {
        assert_eq!(names(&[json!({"name": "current"})]), ["NOW (you are here)"]);
    }

    #[test]
    fn rows_for_people_and_raw_rows() {
        let snaps = vec![
            json!({"name": "a", "snaptime": 1, "vmstate": 1, "description": "d"}),
            json!({"name": "current", "parent": "a", "description": "You are here!", "running": 0}),
        ];
        assert_eq!(
            drawn(&snaps),
            [
                json!({"name": "a", "snaptime": 1, "vmstate": 1, "description": "d"}),
                json!({"name": "└ NOW (you are here)"}),
            ]
        );
        let raw: Vec<&Value> = tree(&snaps).into_iter().map(|(s, _)| s).collect();
        assert_eq!(raw, [&snaps[0], &snaps[1]]);
    }
}
