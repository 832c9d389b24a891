//! `vm|ct template`: turn a stopped guest into a template, after asking (it cannot be undone).

use super::super::kit::TaskVerb;
use super::Ctx;
use crate::api::guest::provision;
use crate::api::GuestKind;
use crate::cli::{TemplateArgs, WaitArgs};
use crate::error::CliError;
use crate::targets::KindWords;
use crate::task::LONG_WAIT;

pub async fn run(ctx: &Ctx, kind: GuestKind, a: &TemplateArgs) -> anyhow::Result<()> {
    let t = &a.target;
    let v = TaskVerb::resolve(
        ctx,
        kind,
        &t.guest,
        t.node.as_deref(),
        &WaitArgs::default(),
        LONG_WAIT,
    )
    .await?;
    let g = &v.guest;
    if g.status.as_deref() == Some("running") {
        return Err(CliError::refused(format!(
            "{} is running: shut it down first (a running guest cannot become a template)",
            g.label()
        ))
        .into());
    }
    if g.resource.as_ref().is_some_and(|r| r.template) {
        return Err(CliError::refused(format!("{} is a template already", g.label())).into());
    }
    let who = match &g.name {
        Some(name) => format!("{} {} ({name})", kind.noun(), g.vmid),
        None => format!("{} {}", kind.noun(), g.vmid),
    };
    v.confirm(
        &format!("Convert {who} into a template (it cannot be started or changed back)?"),
        a.yes,
    )?;
    let answer = provision::template(&v.client, g).await?;
    v.finish("template", answer).await
}
