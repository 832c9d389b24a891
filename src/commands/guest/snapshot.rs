//! `vm|ct snapshot list|create|rollback|delete`.

use std::collections::{BTreeMap, HashSet};

use serde_json::{json, Value};

use super::super::kit::TaskVerb;
use super::Ctx;
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
                ctx.out.list(&COLUMNS, &snaps)
            } else {
                ctx.out.list(&COLUMNS, &tree(&snaps))
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

/// The snapshots in tree order (parents before children, the oldest branch first), indented,
/// with `current` as "you are here".
fn tree(snaps: &[Value]) -> Vec<Value> {
    let name = |s: &Value| s["name"].as_str().unwrap_or_default().to_string();
    let parent = |s: &Value| s["parent"].as_str().map(str::to_string);
    let mut children: BTreeMap<Option<String>, Vec<&Value>> = BTreeMap::new();
    for s in snaps {
        children.entry(parent(s)).or_default().push(s);
    }
    for list in children.values_mut() {
        list.sort_by_key(|s| (name(s) == CURRENT, s["snaptime"].as_i64().unwrap_or(0)));
    }
    let mut rows = vec![];
    let mut stack: Vec<(&Value, usize)> = children
        .get(&None)
        .map(|l| l.iter().rev().map(|s| (*s, 0)).collect())
        .unwrap_or_default();
    let mut seen = HashSet::new();
    while let Some((s, depth)) = stack.pop() {
        let n = name(s);
        if !seen.insert(n.clone()) {
            continue;
        }
        let is_current = n == CURRENT;
        let label = if is_current {
            "NOW (you are here)".to_string()
        } else {
            n.clone()
        };
        rows.push(json!({
            "name": format!("{}{}{label}", "  ".repeat(depth), if depth > 0 { "└ " } else { "" }),
            "snaptime": s.get("snaptime"),
            "vmstate": s.get("vmstate").map(|v| v.as_u64() == Some(1)).unwrap_or(false),
            "description": if is_current { Value::Null } else { s.get("description").cloned().unwrap_or(Value::Null) },
        }));
        if let Some(kids) = children.get(&Some(n)) {
            for k in kids.iter().rev() {
                stack.push((k, depth + 1));
            }
        }
    }
    // Entries whose parent is missing (a broken chain) still show.
    for s in snaps {
        if !seen.contains(&name(s)) {
            rows.push(json!({"name": name(s), "snaptime": s.get("snaptime"), "vmstate": false, "description": s.get("description")}));
        }
    }
    rows
}

const COLUMNS: [Column; 4] = [
    col("name", "NAME", Kind::Text),
    col("snaptime", "TAKEN", Kind::Epoch).priority(2),
    col("vmstate", "RAM", Kind::Flag).priority(1),
    col("description", "DESCRIPTION", Kind::Text).free(),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_order() {
        let snaps = vec![
            json!({"name": "b", "parent": "a", "snaptime": 2}),
            json!({"name": "current", "parent": "b", "description": "You are here!"}),
            json!({"name": "a", "snaptime": 1}),
            json!({"name": "c", "parent": "a", "snaptime": 3}),
        ];
        let names: Vec<String> = tree(&snaps)
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            names,
            vec!["a", "  └ b", "    └ NOW (you are here)", "  └ c"]
        );
    }
}
