//! `storage templates`: PVE's appliance catalog; `storage templates download` fetches one onto a
//! storage (the node checks its checksum), with progress from the task log.

use serde_json::Value;

use super::download::present;
use super::place::image_place;
use crate::api::storage::{file_volid, Content};
use crate::api::{aplinfo, nodes, Client};
use crate::cli::{TemplateDownloadArgs, TemplatesArgs, TemplatesCmd};
use crate::commands::kit::settle_shaped;
use crate::commands::Ctx;
use crate::error::CliError;
use crate::output::{col, Column, Kind};
use crate::task::{ActionResult, Session, LONG_WAIT};

pub async fn run(ctx: &Ctx, a: TemplatesArgs) -> anyhow::Result<()> {
    if let Some(TemplatesCmd::Download(d)) = a.cmd {
        return download(ctx, d).await;
    }
    let client = ctx.client()?;
    let node = match ctx.node_or(a.node.as_deref()) {
        Some(n) => n,
        None => first_online(&client).await?,
    };
    let mut list = aplinfo::list(&client, &node).await?;
    if let Some(s) = &a.section {
        let mut sections: Vec<&str> = list.iter().filter_map(|t| t.section.as_deref()).collect();
        sections.sort_unstable();
        sections.dedup();
        if !sections.contains(&s.as_str()) {
            return Err(CliError::usage(format!(
                "the catalog of {node} has no section '{s}': it has {}",
                sections.join(", ")
            ))
            .into());
        }
    }
    list.retain(|t| {
        a.section
            .as_deref()
            .is_none_or(|s| t.section.as_deref() == Some(s))
            && a.search.as_deref().is_none_or(|w| t.matches(w))
    });
    list.sort_by(|x, y| (&x.section, &x.template).cmp(&(&y.section, &y.template)));
    let rows: Vec<Value> = list
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()?;
    ctx.out.list(&COLUMNS, &rows)
}

const COLUMNS: [Column; 5] = [
    col("template", "TEMPLATE", Kind::Text),
    col("section", "SECTION", Kind::Text),
    col("os", "OS", Kind::Text),
    col("version", "VERSION", Kind::Text),
    col("headline", "HEADLINE", Kind::Text),
];

/// The node to read the catalog from when none is named: the first online one.
async fn first_online(client: &Client) -> anyhow::Result<String> {
    let mut all = nodes::list(client).await?;
    all.sort_by(|a, b| a.node.cmp(&b.node));
    all.into_iter()
        .find(|n| n.online())
        .map(|n| n.node)
        .ok_or_else(|| CliError::unreachable("no node of the cluster is online").into())
}

async fn download(ctx: &Ctx, a: TemplateDownloadArgs) -> anyhow::Result<()> {
    let timeout = ctx.wait_limit(a.wait.wait_timeout.as_deref(), LONG_WAIT)?;
    let client = ctx.client()?;
    let place = image_place(ctx, &client, &a.storage, a.node.as_deref()).await?;
    place.require(Content::Vztmpl)?;
    let catalog = aplinfo::list(&client, &place.node).await?;
    if !catalog.iter().any(|t| t.template == a.template) {
        let near: Vec<&str> = catalog
            .iter()
            .filter(|t| {
                let stem = a.template.split(['_', '.']).next().unwrap_or(&a.template);
                !stem.is_empty() && t.template.contains(stem)
            })
            .map(|t| t.template.as_str())
            .take(5)
            .collect();
        let also = if near.is_empty() {
            String::new()
        } else {
            format!(" (similar: {})", near.join(", "))
        };
        return Err(CliError::not_found(format!(
            "no template '{}' in the catalog of {}{also}; see `pvectl storage templates --search WORD`",
            a.template, place.node
        ))
        .into());
    }
    let volid = file_volid(&place.storage, Content::Vztmpl, &a.template);
    let mut result = ActionResult::new(volid.clone(), place.node.clone(), "download");
    result.volid = Some(volid.clone());
    let session = Session::new(&ctx.out, &client, timeout);
    if present(&client, &place, Content::Vztmpl, &volid).await? {
        return session.report(&[result.done("already present")], false);
    }
    let answer = aplinfo::download(&client, &place.node, &place.storage, &a.template).await;
    let r = session
        .run(settle_shaped(
            &session,
            answer,
            result,
            "OK",
            a.wait.no_wait,
            |b| b.transfer(),
        ))
        .await?;
    session.report(&[r], a.wait.no_wait)
}
