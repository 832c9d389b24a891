//! `vm|ct template`: turn a stopped guest into a template.

use super::super::kit::TaskVerb;
use super::Ctx;
use crate::api::guest::provision;
use crate::api::GuestKind;
use crate::cli::{GuestTarget, WaitArgs};
use crate::error::CliError;
use crate::task::LONG_WAIT;

pub async fn run(ctx: &Ctx, kind: GuestKind, t: &GuestTarget) -> anyhow::Result<()> {
    let v = TaskVerb::resolve(
        ctx,
        kind,
        &t.guest,
        t.node.as_deref(),
        &WaitArgs::default(),
        LONG_WAIT,
    )
    .await?;
    if v.guest.status.as_deref() == Some("running") {
        return Err(CliError::refused(format!(
            "{} is running: shut it down first (a running guest cannot become a template)",
            v.guest.label()
        ))
        .into());
    }
    let answer = provision::template(&v.client, &v.guest).await?;
    v.finish("template", answer).await
}
