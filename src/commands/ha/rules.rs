//! `ha rules list|add|remove`: PVE 9's node-affinity rules (guests on some nodes, by priority,
//! strictly or not) and resource-affinity rules (guests together or apart).

use serde_json::json;

use super::{by_sid, guest_of, report, rules_missing};
use crate::api::ha::{self, NewRule};
use crate::api::Client;
use crate::cli::{Affinity, HaRuleAddArgs, HaRulesCmd, RuleType, Selectors};
use crate::commands::Ctx;
use crate::error::{CliError, ErrorKind};
use crate::output::{col, Column, Kind};
use crate::targets;
use crate::task::ActionResult;

pub async fn run(ctx: &Ctx, client: &Client, cmd: HaRulesCmd) -> anyhow::Result<()> {
    match cmd {
        HaRulesCmd::List { kind, guest } => list(ctx, client, kind, guest.as_deref()).await,
        HaRulesCmd::Add(a) => add(ctx, client, a).await,
        HaRulesCmd::Remove { rule } => remove(ctx, client, &rule).await,
    }
}

async fn list(
    ctx: &Ctx,
    client: &Client,
    kind: Option<RuleType>,
    guest: Option<&str>,
) -> anyhow::Result<()> {
    let sid = match guest {
        Some(spec) => {
            let g = guest_of(client, spec).await?;
            Some(ha::sid(g.kind, g.vmid))
        }
        None => None,
    };
    let (rules, guests) = tokio::join!(
        ha::rules(client, kind.map(RuleType::as_str), sid.as_deref()),
        targets::fetch_guests(client)
    );
    let rules = rules.map_err(rules_missing)?;
    let guests = by_sid(&guests?);
    let mut rows = vec![];
    for r in &rules {
        let mut row = serde_json::to_value(r)?;
        let names: Vec<String> = r
            .resource_ids()
            .iter()
            .map(|s| guests.get(*s).map_or_else(|| s.to_string(), |g| g.label()))
            .collect();
        row["guests"] = json!(names.join(", "));
        row["state"] = json!(if r.disable { "disabled" } else { "enabled" });
        if r.affinity.is_none() && r.is_node_affinity() {
            // PVE's default for node-affinity rules.
            row["affinity"] = json!("positive");
        }
        rows.push(row);
    }
    ctx.out.list(&COLUMNS, &rows)
}

const COLUMNS: [Column; 8] = [
    col("rule", "RULE", Kind::Text),
    col("type", "TYPE", Kind::Text),
    col("guests", "GUESTS", Kind::Text),
    col("nodes", "NODES", Kind::Text),
    col("affinity", "AFFINITY", Kind::Text),
    col("strict", "STRICT", Kind::Flag),
    col("state", "STATE", Kind::Text),
    col("comment", "COMMENT", Kind::Text).free().priority(1),
];

fn affinity(a: Affinity) -> String {
    match a {
        Affinity::Positive => "positive".into(),
        Affinity::Negative => "negative".into(),
    }
}

async fn add(ctx: &Ctx, client: &Client, a: HaRuleAddArgs) -> anyhow::Result<()> {
    match a.kind {
        RuleType::NodeAffinity if a.nodes.is_none() => {
            return Err(CliError::usage(
                "a node-affinity rule needs --nodes (e.g. --nodes pve1:2,pve2)",
            )
            .into())
        }
        RuleType::ResourceAffinity if a.affinity.is_none() => return Err(CliError::usage(
            "a resource-affinity rule needs --affinity: positive (together) or negative (apart)",
        )
        .into()),
        RuleType::ResourceAffinity if a.nodes.is_some() || a.strict => {
            return Err(CliError::usage(
                "--nodes and --strict belong to node-affinity rules (--type node-affinity)",
            )
            .into())
        }
        _ => {}
    }
    let resources = targets::fetch_guests(client).await?;
    let picked = targets::select_any(&resources, &a.guests, false, &Selectors::default(), true)?;
    let sids: Vec<String> = picked
        .guests
        .iter()
        .map(|g| ha::sid(g.kind, g.vmid))
        .collect();
    let rule = NewRule {
        rule: a.rule.clone(),
        kind: a.kind.as_str().to_string(),
        resources: sids,
        nodes: a.nodes.clone(),
        affinity: a.affinity.map(affinity),
        strict: a.strict,
        disable: a.disable,
        comment: a.comment.clone(),
    };
    let result = ActionResult::new(a.rule.clone(), String::new(), "add HA rule");
    let result = match ha::add_rule(client, &rule).await {
        Ok(()) => result.done("OK"),
        Err(e) => {
            let unmanaged = e.message().contains("unmanaged resource");
            let mut r = result.failed(&rules_missing(e));
            if unmanaged {
                r.hint = Some("put the guests under HA first: `pvectl ha add <guest>`".into());
            }
            r
        }
    };
    report(ctx, client, result)
}

async fn remove(ctx: &Ctx, client: &Client, rule: &str) -> anyhow::Result<()> {
    // PVE deletes a rule that is not there without a word: look first.
    if let Err(e) = ha::rule(client, rule).await {
        let e = rules_missing(e);
        if crate::error::kind_of(&e) == ErrorKind::NotFound {
            return Err(CliError::not_found(format!(
                "no HA rule '{rule}' (see `pvectl ha rules list`)"
            ))
            .into());
        }
        return Err(e);
    }
    let result = ActionResult::new(rule.to_string(), String::new(), "remove HA rule");
    let result = match ha::remove_rule(client, rule).await {
        Ok(()) => result.done("OK"),
        Err(e) => result.failed(&e.into()),
    };
    report(ctx, client, result)
}
