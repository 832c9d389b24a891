//! `vm|ct tag add|remove|set <guest>… <tags>`: a guest's tags, on one guest or many (selectors and
//! `--parallel` as power verbs have them). Tags follow PVE's rules: letters, digits and `_-+.`,
//! compared without regard to case, written `;`-separated; the tags a guest has keep their order
//! and new ones come after. A guest that already has what was asked is left alone.

use futures_util::stream::{self, StreamExt};

use super::{concurrent_edit, Ctx};
use crate::api::guest::config;
use crate::api::{Client, GuestKind, Params};
use crate::cli::TagCmd;
use crate::error::CliError;
use crate::targets::{self, Guest, KindWords};
use crate::task::{ActionResult, Session};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Remove,
    Set,
}

impl Op {
    fn action(self) -> &'static str {
        match self {
            Op::Add => "tag add",
            Op::Remove => "tag remove",
            Op::Set => "tag set",
        }
    }
}

pub async fn run(ctx: &Ctx, kind: GuestKind, cmd: TagCmd) -> anyhow::Result<()> {
    let (op, a) = match cmd {
        TagCmd::Add(a) => (Op::Add, a),
        TagCmd::Remove(a) => (Op::Remove, a),
        TagCmd::Set(a) => (Op::Set, a),
    };
    let mut specs = a.args.clone();
    let tags = parse_tags(&specs.pop().unwrap_or_default())?;
    if tags.is_empty() && op != Op::Set {
        return Err(CliError::usage(format!(
            "no tags given: the last argument is the tags, e.g. `pvectl {} {} web-1 prod,eu`",
            kind.command(),
            op.action()
        ))
        .into());
    }
    let client = ctx.client()?;
    let resources = targets::fetch_guests(&client).await?;
    let selection = targets::select(&resources, kind, &specs, a.all, &a.sel)?;
    if selection.by_selector {
        let items: Vec<String> = selection.guests.iter().map(Guest::summary).collect();
        ctx.confirm(
            &format!(
                "{} {} on {} {}(s) picked by a selector",
                op.action(),
                tags.join(";"),
                selection.guests.len(),
                kind.noun()
            ),
            &items,
            a.yes,
        )?;
    }
    let session = Session::new(&ctx.out, &client, None);
    session.plan(
        selection
            .guests
            .iter()
            .map(|g| ActionResult::for_guest(g, op.action())),
    );
    let parallel = a.parallel.unwrap_or(ctx.settings.parallel).max(1) as usize;
    let tags = &tags;
    let client = &client;
    let session_ref = &session;
    let work = stream::iter(selection.guests.iter())
        .map(|g| async move { session_ref.keep(one(client, g, op, tags).await) })
        .buffer_unordered(parallel)
        .collect::<Vec<_>>();
    session.finish(work, false).await
}

/// PVE's tag rule (`pve-tag`): a letter, digit or `_`, then letters, digits and `_-+.`.
fn valid(tag: &str) -> bool {
    let mut chars = tag.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+' | '.'))
}

/// The tags of an argument (`prod,eu` or `prod;eu`), checked, each once.
fn parse_tags(arg: &str) -> Result<Vec<String>, CliError> {
    let mut out: Vec<String> = vec![];
    for t in split(arg) {
        if !valid(t) {
            return Err(CliError::usage(format!(
                "'{t}' is not a tag: PVE's tags are letters, digits and _ - + . (starting with a letter, digit or _)"
            )));
        }
        if !out.iter().any(|o| o.eq_ignore_ascii_case(t)) {
            out.push(t.to_string());
        }
    }
    Ok(out)
}

/// A tag list as PVE writes it (`;`), or as older versions did (`,`, spaces).
fn split(text: &str) -> impl Iterator<Item = &str> {
    text.split([';', ',', ' '])
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

fn has(list: &[String], tag: &str) -> bool {
    list.iter().any(|t| t.eq_ignore_ascii_case(tag))
}

/// The tags after the change, or why nothing changes.
fn after(op: Op, now: &[String], tags: &[String]) -> Result<Vec<String>, String> {
    match op {
        Op::Add => {
            let new: Vec<&String> = tags.iter().filter(|t| !has(now, t)).collect();
            if new.is_empty() {
                return Err(format!("already tagged {}", tags.join(";")));
            }
            Ok(now.iter().chain(new).cloned().collect())
        }
        Op::Remove => {
            if !tags.iter().any(|t| has(now, t)) {
                return Err(format!("already without {}", tags.join(";")));
            }
            Ok(now.iter().filter(|t| !has(tags, t)).cloned().collect())
        }
        Op::Set => {
            let same = now.len() == tags.len() && tags.iter().all(|t| has(now, t));
            if same {
                return Err(if tags.is_empty() {
                    "already without tags".to_string()
                } else {
                    format!("already tagged {}", tags.join(";"))
                });
            }
            Ok(tags.to_vec())
        }
    }
}

async fn one(client: &Client, g: &Guest, op: Op, tags: &[String]) -> ActionResult {
    let result = ActionResult::for_guest(g, op.action());
    let cfg = match config::get(client, g).await {
        Ok(c) => c,
        Err(e) => return result.failed(&e.into()),
    };
    let now: Vec<String> = split(&cfg.text("tags").unwrap_or_default())
        .map(str::to_string)
        .collect();
    let new = match after(op, &now, tags) {
        Ok(n) => n,
        Err(why) => return result.done(&why),
    };
    let mut params = if new.is_empty() {
        Params::new().set("delete", "tags")
    } else {
        Params::new().set("tags", new.join(";"))
    };
    if let Some(d) = cfg.digest() {
        params.push("digest", d);
    }
    match config::write_now(client, g, &params).await {
        Ok(()) if new.is_empty() => result.done("OK, no tags left"),
        Ok(()) => result.done(&format!("OK, tags: {}", new.join(";"))),
        Err(e) => result.failed(&concurrent_edit(g, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn pve_tag_rules() {
        assert_eq!(
            parse_tags("prod,eu;Prod web").unwrap(),
            v(&["prod", "eu", "web"])
        );
        assert!(parse_tags("-x").is_err());
        assert!(parse_tags("a b!").is_err());
        assert!(parse_tags("").unwrap().is_empty());
        assert!(valid("_x.y+z-1"));
    }

    #[test]
    fn changes_keep_the_order_the_guest_has() {
        let now = v(&["web", "prod"]);
        assert_eq!(
            after(Op::Add, &now, &v(&["eu", "PROD"])).unwrap(),
            v(&["web", "prod", "eu"])
        );
        assert_eq!(after(Op::Remove, &now, &v(&["web"])).unwrap(), v(&["prod"]));
        assert_eq!(
            after(Op::Add, &now, &v(&["Web"])).unwrap_err(),
            "already tagged Web"
        );
        assert_eq!(
            after(Op::Remove, &now, &v(&["eu"])).unwrap_err(),
            "already without eu"
        );
        assert!(after(Op::Set, &now, &v(&["prod", "web"])).is_err());
        assert_eq!(after(Op::Set, &now, &[]).unwrap(), Vec::<String>::new());
    }
}
