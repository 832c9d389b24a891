//! `apply FILE|DIR`: create or change guests to match their files. Everything is read first and
//! planned (nothing is changed when a file or a guest cannot be planned), the plan is shown and
//! confirmed, then each guest is changed in file order; `--prune` also deletes the guests of the
//! files' kinds that no file describes.

pub(crate) mod document;
pub(crate) mod plan;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use self::document::Document;
use self::plan::{Current, GuestPlan, Mode, Step};
use super::Ctx;
use crate::api::cluster::Resource;
use crate::api::guest::config;
use crate::api::{firewall, ha, nodes, pools, ApiError, Client, GuestKind};
use crate::cli::{ApplyArgs, OutputFormat};
use crate::error::{api_kind, CliError};
use crate::output::{col, Column, Kind};
use crate::targets::{self, Guest, KindWords};
use crate::task::{ActionResult, Session, LONG_WAIT};

pub async fn run(ctx: &Ctx, a: ApplyArgs) -> anyhow::Result<()> {
    let docs = document::load(&a.path)?;
    for d in &docs {
        if !d.ignored.is_empty() {
            ctx.out.warn(&format!(
                "{}: read-only, not applied: {}",
                d.origin,
                d.ignored.join(", ")
            ));
        }
    }
    let timeout = ctx.wait_limit(a.wait.wait_timeout.as_deref(), LONG_WAIT)?;
    let client = ctx.client()?;
    let plans = plan_all(ctx, &client, &docs, a.prune).await?;
    if a.dry_run {
        return show_plan(ctx, &plans);
    }
    let todo: Vec<&GuestPlan> = plans.iter().filter(|p| p.step != Step::None).collect();
    if todo.is_empty() {
        for line in plans
            .iter()
            .filter(|p| worth_showing(p))
            .flat_map(GuestPlan::lines)
        {
            ctx.out.info(&line);
        }
        ctx.out.info(&match plans.len() {
            1 => "No changes: 1 guest matches its file.".to_string(),
            n => format!("No changes: {n} guests match their files."),
        });
        if ctx.out.structured() {
            ctx.out.json(&Vec::<ActionResult>::new())?;
        }
        return Ok(());
    }
    // The plan goes with the question; without one (`--yes`) it is informational.
    let say = |line: &str| {
        if a.yes {
            ctx.out.info(line)
        } else {
            ctx.out.notice(line)
        }
    };
    for line in plans
        .iter()
        .filter(|p| worth_showing(p))
        .flat_map(GuestPlan::lines)
    {
        say(&line);
    }
    say(&plan::summary(&plans));
    if todo
        .iter()
        .any(|p| p.step != Step::Delete && p.refusal.is_none())
    {
        ctx.confirm("Apply these changes?", &[], a.yes)?;
    }
    let doomed: Vec<String> = todo
        .iter()
        .filter(|p| p.step == Step::Delete && p.refusal.is_none())
        .filter_map(|p| p.guest.as_ref().map(Guest::summary))
        .collect();
    if !doomed.is_empty() {
        ctx.confirm(
            &format!(
                "Delete {} and {} disks, which no file describes?",
                guests(doomed.len()),
                if doomed.len() == 1 { "its" } else { "their" }
            ),
            &doomed,
            a.yes,
        )?;
    }
    let session = Session::new(&ctx.out, &client, timeout);
    session.plan(todo.iter().map(|p| plan::blank(p, plan::action(p.step))));
    let work = async {
        let mut results = vec![];
        for p in &todo {
            let (r, pending) = plan::execute(&client, &session, p, a.wait.no_wait).await;
            results.push(session.keep(r));
            if let Some(line) = pending {
                session.progress.println(&line);
            }
        }
        results
    };
    session.finish(work, a.wait.no_wait).await
}

/// Like `terraform plan`, a plan lists the guests that change, and those with a note; the others
/// are counted.
fn worth_showing(p: &GuestPlan) -> bool {
    p.step != Step::None || !p.notes.is_empty()
}

fn guests(n: usize) -> String {
    if n == 1 {
        "1 guest".into()
    } else {
        format!("{n} guests")
    }
}

/// The plan on stdout (`--dry-run`): text, the JSON array of `PlanRow`s, or TSV rows of changes.
fn show_plan(ctx: &Ctx, plans: &[GuestPlan]) -> anyhow::Result<()> {
    match ctx.out.format {
        OutputFormat::Json | OutputFormat::Jsonl | OutputFormat::Yaml => {
            let rows: Vec<plan::PlanRow> = plans.iter().map(GuestPlan::row).collect();
            ctx.out.json(&rows)
        }
        OutputFormat::Tsv => {
            let mut rows = vec![];
            for p in plans.iter().map(GuestPlan::row) {
                let base = serde_json::json!({
                    "file": p.file, "type": p.kind, "vmid": p.vmid, "name": p.name,
                    "node": p.node, "action": p.action,
                });
                if p.changes.is_empty() {
                    rows.push(base.clone());
                }
                for c in &p.changes {
                    let mut row = base.clone();
                    if let (Value::Object(m), Ok(Value::Object(c))) =
                        (&mut row, serde_json::to_value(c))
                    {
                        m.extend(c);
                    }
                    rows.push(row);
                }
            }
            ctx.out.list(&PLAN_COLUMNS, &rows)
        }
        OutputFormat::Table | OutputFormat::Wide => {
            // Like `terraform plan`: the guests that change; the others are counted.
            let mut lines: Vec<String> = plans
                .iter()
                .filter(|p| worth_showing(p))
                .flat_map(GuestPlan::lines)
                .collect();
            lines.push(plan::summary(plans));
            ctx.out.lines(lines)
        }
    }
}

const PLAN_COLUMNS: [Column; 10] = [
    col("file", "FILE", Kind::Text),
    col("type", "TYPE", Kind::Text),
    col("vmid", "VMID", Kind::Text),
    col("name", "NAME", Kind::Text),
    col("node", "NODE", Kind::Text),
    col("action", "ACTION", Kind::Text),
    col("section", "SECTION", Kind::Text),
    col("key", "KEY", Kind::Text),
    col("old", "OLD", Kind::Text),
    col("new", "NEW", Kind::Text),
];

/// Read what the files concern and plan every guest; any file or guest that cannot be planned
/// stops everything before a change is made.
async fn plan_all(
    ctx: &Ctx,
    client: &Client,
    docs: &[Document],
    prune: bool,
) -> anyhow::Result<Vec<GuestPlan>> {
    let resources = targets::fetch_guests(client).await?;
    let all = targets::fetch_from(&resources);
    // Which guest each file describes (None: one to create).
    let mut found: Vec<Option<Guest>> = vec![];
    for d in docs {
        found.push(locate(d, &all, &resources)?);
    }
    check_duplicates(docs, &found)?;
    let ha = if docs.iter().any(|d| d.ha.is_some()) {
        Some(ha::resources(client).await.map_err(|e| {
            CliError::new(
                api_kind(&e),
                format!("cannot read the HA resources: {e}; nothing was changed"),
            )
        })?)
    } else {
        None
    };
    check_pools(client, docs, &found).await?;
    let nodes = if found.iter().any(Option::is_none) {
        Some(nodes::list(client).await?)
    } else {
        None
    };
    let mut plans = vec![];
    for (d, g) in docs.iter().zip(&found) {
        let p = match g {
            Some(g) => {
                let cur = read_current(client, d, g, ha.as_deref()).await?;
                plan::existing(d, g, &cur, Mode::Apply)
            }
            None => {
                let node = creation_node(ctx, d, nodes.as_deref().unwrap_or_default())?;
                check_creatable(d)?;
                plan::create(d, &node)
            }
        };
        plans.push(p);
    }
    if prune {
        let kinds: Vec<GuestKind> = docs.iter().map(|d| d.kind).collect();
        for g in &all {
            let described = found.iter().flatten().any(|f| f.vmid == g.vmid);
            let template = g.resource.as_ref().is_some_and(|r| r.template);
            if kinds.contains(&g.kind) && !described && !template {
                plans.push(plan::delete(g));
            }
        }
    }
    Ok(plans)
}

/// The guest a file describes: by VMID (which must be of the file's kind), else by name.
fn locate(d: &Document, all: &[Guest], resources: &[Resource]) -> Result<Option<Guest>, CliError> {
    if let Some(id) = d.vmid {
        let Some(g) = all.iter().find(|g| g.vmid == id) else {
            if let Some(r) = resources.iter().find(|r| r.vmid == Some(id)) {
                return Err(CliError::not_found(format!(
                    "{}: VMID {id} is in the cluster but has no node in its list ({}); nothing was changed",
                    d.origin, r.id
                )));
            }
            return Ok(None);
        };
        if g.kind != d.kind {
            return Err(CliError::usage(format!(
                "{}: VMID {id} is {} ({} on {}), but the file describes {} (type = \"{}\"); nothing was changed",
                d.origin,
                g.kind.a_noun(),
                g.label(),
                g.node,
                d.kind.a_noun(),
                d.kind.as_str()
            )));
        }
        return Ok(Some(g.clone()));
    }
    let name = d.name().unwrap_or_default();
    let named: Vec<&Guest> = all
        .iter()
        .filter(|g| g.kind == d.kind && g.name.as_deref() == Some(name))
        .collect();
    match named.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some((*one).clone())),
        many => Err(CliError::usage(format!(
            "{}: {} {}s are named '{name}' ({}): give the vmid in the file",
            d.origin,
            many.len(),
            d.kind.noun(),
            many.iter()
                .map(|g| format!("{} on {}", g.vmid, g.node))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Two files that describe one guest would fight over it.
fn check_duplicates(docs: &[Document], found: &[Option<Guest>]) -> Result<(), CliError> {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for (d, g) in docs.iter().zip(found) {
        let id = match (g, d.vmid) {
            (Some(g), _) => format!("VMID {}", g.vmid),
            (None, Some(id)) => format!("VMID {id}"),
            (None, None) => format!("the new {} '{}'", d.kind.noun(), d.name().unwrap_or("")),
        };
        if let Some(first) = seen.insert(id.clone(), &d.origin) {
            return Err(CliError::usage(format!(
                "{first} and {} both describe {id}: keep one; nothing was changed",
                d.origin
            )));
        }
    }
    Ok(())
}

/// A pool a file names must exist: PVE would refuse it half-way through.
async fn check_pools(
    client: &Client,
    docs: &[Document],
    found: &[Option<Guest>],
) -> anyhow::Result<()> {
    let wanted: Vec<(&Document, &str)> = docs
        .iter()
        .zip(found)
        .filter_map(|(d, g)| {
            let p = d.pool.as_deref().filter(|p| !p.is_empty())?;
            let there = g
                .as_ref()
                .and_then(|g| g.resource.as_ref())
                .and_then(|r| r.pool.as_deref());
            (there != Some(p)).then_some((d, p))
        })
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let pools = pools::list(client).await?;
    for (d, p) in wanted {
        if !pools.iter().any(|x| x.poolid == p) {
            return Err(CliError::not_found(format!(
                "{}: there is no pool '{p}' in the cluster: create it first; nothing was changed",
                d.origin
            ))
            .into());
        }
    }
    Ok(())
}

/// What the sections a file has concern of the guest as it is now.
async fn read_current(
    client: &Client,
    d: &Document,
    g: &Guest,
    ha: Option<&[Map<String, Value>]>,
) -> anyhow::Result<Current> {
    let unreadable = |what: &str, e: ApiError| {
        CliError::new(
            api_kind(&e),
            format!(
                "{}: cannot read {what} of {} on {}: {e}; nothing was changed",
                d.origin,
                g.label(),
                g.node
            ),
        )
    };
    let config = match d.config {
        Some(_) => Some(
            config::get(client, g)
                .await
                .map_err(|e| unreadable("the configuration", e))?,
        ),
        None => None,
    };
    let firewall = match d.firewall {
        Some(_) => Some(
            firewall::options(client, &firewall::guest_scope(g.kind, &g.node, g.vmid))
                .await
                .map_err(|e| unreadable("the firewall options", e))?,
        ),
        None => None,
    };
    let sid = ha::sid(g.kind, g.vmid);
    let ha = ha
        .and_then(|list| {
            list.iter()
                .find(|r| r.get("sid").and_then(Value::as_str) == Some(sid.as_str()))
        })
        .cloned();
    Ok(Current {
        config,
        ha,
        firewall,
    })
}

/// Where a new guest goes: the file's node (which must be online), else the profile's, else the
/// first online node.
fn creation_node(ctx: &Ctx, d: &Document, nodes: &[nodes::NodeEntry]) -> Result<String, CliError> {
    let node = d.node.clone().or_else(|| ctx.node_or(None));
    match node {
        Some(n) => match nodes.iter().find(|e| e.node == n) {
            None => Err(CliError::not_found(format!(
                "{}: there is no node '{n}' in the cluster (see `pvectl nodes list`); nothing was changed",
                d.origin
            ))),
            Some(e) if !e.online() => Err(CliError::unreachable(format!(
                "{}: node {n} is offline, so {} cannot be created there; nothing was changed",
                d.origin,
                d.label()
            ))),
            Some(_) => Ok(n),
        },
        None => {
            let mut online: Vec<&str> = nodes
                .iter()
                .filter(|e| e.online())
                .map(|e| e.node.as_str())
                .collect();
            online.sort();
            online.first().map(|n| n.to_string()).ok_or_else(|| {
                CliError::unreachable("no node of the cluster is online; nothing was changed")
            })
        }
    }
}

/// A new guest needs its configuration (and a container its template).
fn check_creatable(d: &Document) -> Result<(), CliError> {
    if d.config.is_none() {
        return Err(CliError::usage(format!(
            "{}: {} does not exist, and the file has no [config] to create it from; nothing was changed",
            d.origin,
            d.label()
        )));
    }
    if d.kind == GuestKind::Lxc && !d.create.contains_key("ostemplate") {
        return Err(CliError::usage(format!(
            "{}: {} does not exist, and a new container needs its template: add [create] with \
             ostemplate = \"local:vztmpl/…\" (see `pvectl storage content local --content vztmpl`); nothing was changed",
            d.origin,
            d.label()
        )));
    }
    Ok(())
}
