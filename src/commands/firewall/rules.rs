//! `firewall rules list|add|delete|move|enable|disable`: rules by position, each change with the
//! digest of the list it was made against.

use serde_json::{Map, Value};

use super::{done, no_rule, refused, rows, rule_text, Ctx, Place, ScopeArg};
use crate::api::firewall::{self, Rule};
use crate::api::{Client, GuestKind, Params};
use crate::cli::{RuleAddArgs, RulesCmd};
use crate::error::CliError;
use crate::output::{col, Column, Kind};

pub const COLUMNS: [Column; 13] = [
    col("pos", "POS", Kind::Text),
    col("enable", "ON", Kind::Flag),
    col("type", "TYPE", Kind::Text),
    col("action", "ACTION", Kind::Text),
    col("macro", "MACRO", Kind::Text),
    col("iface", "IFACE", Kind::Text),
    col("source", "SOURCE", Kind::Text),
    col("dest", "DEST", Kind::Text),
    col("proto", "PROTO", Kind::Text),
    col("dport", "DPORT", Kind::Text),
    col("sport", "SPORT", Kind::Text),
    col("log", "LOG", Kind::Text),
    col("comment", "COMMENT", Kind::Text),
];

pub async fn run<R: ScopeArg>(
    ctx: &Ctx,
    cmd: RulesCmd<R>,
    kind: Option<GuestKind>,
) -> anyhow::Result<()> {
    let client = ctx.client()?;
    match cmd {
        RulesCmd::List { scope } => {
            let place = scope.place(&client, kind).await?;
            let list = firewall::rules(&client, &place.scope).await?;
            let rows = rows(&list);
            let columns = match ctx.out.columns {
                Some(_) => COLUMNS.to_vec(),
                None => used_columns(&rows),
            };
            ctx.out.list(&columns, &rows)
        }
        RulesCmd::Add(a) => {
            let place = a.scope.place(&client, kind).await?;
            add(ctx, &client, &place, &a).await
        }
        RulesCmd::Delete { scope, pos, yes } => {
            let place = scope.place(&client, kind).await?;
            let (list, digest) = read(&client, &place).await?;
            let rule = at(&place, &list, pos)?;
            ctx.confirm(
                &format!("Delete rule {pos} of the {}", place.label),
                &[rule_text(&rule)],
                yes,
            )?;
            firewall::delete_rule(&client, &place.scope, pos, digest.as_deref())
                .await
                .map_err(|e| refused(&place, e))?;
            done(
                ctx,
                place
                    .result("rule delete")
                    .done(&format!("OK ({})", rule_text(&rule))),
            )
        }
        RulesCmd::Move { scope, pos, to } => {
            let place = scope.place(&client, kind).await?;
            let (list, digest) = read(&client, &place).await?;
            at(&place, &list, pos)?;
            let last = list.len() as u32 - 1;
            if to > last {
                return Err(CliError::usage(format!(
                    "position {to} is past the last rule of the {} ({last})",
                    place.label
                ))
                .into());
            }
            let r = place.result("rule move");
            if to == pos {
                return done(ctx, r.done(&format!("already at position {pos}")));
            }
            firewall::move_rule(&client, &place.scope, pos, to, digest.as_deref())
                .await
                .map_err(|e| refused(&place, e))?;
            done(ctx, r.done(&format!("OK ({pos} → {to})")))
        }
        RulesCmd::Enable { scope, pos } => {
            let place = scope.place(&client, kind).await?;
            switch(ctx, &client, &place, pos, true).await
        }
        RulesCmd::Disable { scope, pos } => {
            let place = scope.place(&client, kind).await?;
            switch(ctx, &client, &place, pos, false).await
        }
    }
}

/// The columns some rule fills (position, state, type and action always): a table that fits.
/// `--columns` still picks any.
fn used_columns(rows: &[Value]) -> Vec<Column> {
    COLUMNS
        .iter()
        .filter(|c| {
            matches!(c.key.as_ref(), "pos" | "enable" | "type" | "action")
                || rows.iter().any(|r| {
                    r.get(c.key.as_ref())
                        .is_some_and(|v| !v.is_null() && v != "")
                })
        })
        .cloned()
        .collect()
}

/// The rules and the digest of their list.
async fn read(
    client: &Client,
    place: &Place,
) -> anyhow::Result<(Vec<Map<String, Value>>, Option<String>)> {
    let list = firewall::rules(client, &place.scope).await?;
    let digest = firewall::list_digest(&list);
    Ok((list, digest))
}

/// The rule at a position, or not found.
fn at(place: &Place, list: &[Map<String, Value>], pos: u32) -> anyhow::Result<Rule> {
    let entry = list
        .get(pos as usize)
        .ok_or_else(|| no_rule(place, pos, list.len()))?;
    Ok(Rule::from_entry(entry)?)
}

/// The rule the flags describe.
pub fn rule_of<R: clap::Args>(a: &RuleAddArgs<R>) -> Rule {
    let action = if a.kind == "group" {
        a.action.clone()
    } else {
        a.action.to_ascii_uppercase()
    };
    Rule {
        kind: a.kind.clone(),
        action,
        macro_name: a.macro_name.clone(),
        iface: a.iface.clone(),
        source: a.source.clone(),
        dest: a.dest.clone(),
        proto: a.proto.clone(),
        dport: a.dport.clone(),
        sport: a.sport.clone(),
        icmp_type: a.icmp_type.clone(),
        log: a.log.clone(),
        enable: !a.disable,
        comment: a.comment.clone(),
    }
}

/// Check what PVE would refuse anyway, with words that say what to do.
pub fn check_rule(place: &Place, rule: &Rule) -> Result<(), CliError> {
    let types = place.scope.rule_types();
    if !types.contains(&rule.kind.as_str()) {
        return Err(CliError::usage(format!(
            "the {} takes rules of type {} (not {})",
            place.label,
            types.join(", "),
            rule.kind
        )));
    }
    if rule.kind != "group" && !["ACCEPT", "DROP", "REJECT"].contains(&rule.action.as_str()) {
        return Err(CliError::usage(format!(
            "the action must be ACCEPT, DROP or REJECT (or, for a rule of type group, a security group), not '{}'",
            rule.action
        )));
    }
    Ok(())
}

async fn add<R: clap::Args>(
    ctx: &Ctx,
    client: &Client,
    place: &Place,
    a: &RuleAddArgs<R>,
) -> anyhow::Result<()> {
    let rule = rule_of(a);
    check_rule(place, &rule)?;
    let (list, digest) = read(client, place).await?;
    if let Some(p) = a.pos {
        if p as usize > list.len() {
            return Err(CliError::usage(format!(
                "--pos {p} is past the end of the {}: it has {} rules (0 is the top, {} the end)",
                place.label,
                list.len(),
                list.len()
            ))
            .into());
        }
    }
    let pos = insert(client, place, &rule, digest.as_deref(), a.pos.unwrap_or(0)).await?;
    done(
        ctx,
        place
            .result("rule add")
            .done(&format!("OK at position {pos} ({})", rule_text(&rule))),
    )
}

/// Add a rule and put it at `pos`: PVE always adds at the top, so a rule meant further down is
/// moved there, with the digest of the list as it is after the addition (where the new rule must
/// be the first). Returns where it ended.
pub async fn insert(
    client: &Client,
    place: &Place,
    rule: &Rule,
    digest: Option<&str>,
    pos: u32,
) -> anyhow::Result<u32> {
    firewall::add_rule(client, &place.scope, rule, digest)
        .await
        .map_err(|e| refused(place, e))?;
    if pos == 0 {
        return Ok(0);
    }
    let (list, digest) = read(client, place).await?;
    let first = list.first().map(Rule::from_entry).transpose()?;
    if !first.as_ref().is_some_and(|f| f.same(rule)) {
        return Err(CliError::refused(format!(
            "the rule was added at the top of the {}, but the list changed right after (another edit?): \
             it was not moved to position {pos}; look with `rules list` and move it",
            place.label
        ))
        .into());
    }
    let to = pos.min(list.len() as u32 - 1);
    firewall::move_rule(client, &place.scope, 0, to, digest.as_deref())
        .await
        .map_err(|e| refused(place, e))?;
    Ok(to)
}

/// `enable` / `disable`: nothing is sent when the rule already is so.
async fn switch(
    ctx: &Ctx,
    client: &Client,
    place: &Place,
    pos: u32,
    on: bool,
) -> anyhow::Result<()> {
    let (list, digest) = read(client, place).await?;
    let rule = at(place, &list, pos)?;
    let action = if on { "rule enable" } else { "rule disable" };
    let r = place.result(action);
    if rule.enable == on {
        let state = if on {
            "already enabled"
        } else {
            "already disabled"
        };
        return done(ctx, r.done(state));
    }
    let params = Params::new().flag("enable", on);
    firewall::update_rule(client, &place.scope, pos, params, digest.as_deref())
        .await
        .map_err(|e| refused(place, e))?;
    done(
        ctx,
        r.done(&format!("OK ({})", rule_text(&Rule { enable: on, ..rule }))),
    )
}
