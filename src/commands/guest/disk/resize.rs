//! `vm|ct disk resize`: grow a disk. PVE never shrinks one (QEMU fails the task, LXC refuses at
//! once); pvectl checks against the size in the configuration before sending anything, and a
//! disk that already has the size asked for is left alone.

use super::{find, load};
use crate::api::guest::disk::{self, format_size, SizeRequest};
use crate::api::GuestKind;
use crate::cli::ResizeArgs;
use crate::commands::guest::concurrent_edit;
use crate::commands::Ctx;
use crate::error::CliError;
use crate::output::bytes;
use crate::task::{finish_one_then, report, ActionResult, SHORT_WAIT};

/// The size argument, or why it is none.
fn parse(text: &str) -> Result<SizeRequest, CliError> {
    let t = text.trim();
    if t.starts_with('-') {
        return Err(CliError::usage(format!(
            "'{t}': disks cannot shrink (PVE refuses it); give +SIZE to grow, or a larger SIZE"
        )));
    }
    let req = SizeRequest::parse(t).ok_or_else(|| {
        CliError::usage(format!(
            "'{t}' is not a size: +10G grows by 10 GiB, 64G makes it 64 GiB (units K, M, G, T)"
        ))
    })?;
    if t.ends_with(|c: char| c.is_ascii_digit()) {
        return Err(CliError::usage(format!(
            "'{t}' has no unit, which PVE reads as bytes: write e.g. {t}G"
        )));
    }
    Ok(req)
}

pub async fn run(ctx: &Ctx, kind: GuestKind, a: ResizeArgs) -> anyhow::Result<()> {
    let req = parse(&a.size)?;
    let timeout = ctx.wait_limit(a.wait.wait_timeout.as_deref(), SHORT_WAIT)?;
    let client = ctx.client()?;
    let (g, cfg) = load(&client, kind, &a.guest, a.node.as_deref()).await?;
    let d = find(&g, &cfg, a.disk.trim())?;
    let key = d.key.clone();
    if disk::bus_of(kind, &key) == Some("unused") {
        return Err(CliError::usage(format!(
            "{key} of {} is not attached to it: attach it before resizing",
            g.label()
        ))
        .into());
    }
    if d.is_cdrom() {
        return Err(CliError::usage(format!(
            "{key} of {} is a CD-ROM drive: it has no disk to resize",
            g.label()
        ))
        .into());
    }
    if d.volume().starts_with('/') {
        return Err(CliError::usage(format!(
            "{key} of {} is {} on the host, not a volume PVE can resize",
            g.label(),
            d.volume()
        ))
        .into());
    }
    let current = d.size();
    let target = current.map(|c| (c, req.target(c)));
    if let Some((c, t)) = target {
        if t < c {
            return Err(CliError::usage(format!(
                "{key} of {} is {}; {} would shrink it, which PVE refuses: nothing was sent (give a size of at least {}, or +SIZE)",
                g.label(),
                format_size(c),
                a.size.trim(),
                format_size(c)
            ))
            .into());
        }
        if t == c {
            let r = ActionResult::for_guest(&g, "resize")
                .done(&format!("already {} ({key})", format_size(c)));
            let progress = crate::output::progress::Progress::new(&ctx.out);
            return report(&ctx.out, &progress, &[r], false);
        }
    }
    let answer = disk::resize(&client, &g, &key, a.size.trim(), cfg.digest())
        .await
        .map_err(|e| concurrent_edit(&g, e))?;
    finish_one_then(
        &ctx.out,
        &client,
        timeout,
        ActionResult::for_guest(&g, "resize"),
        answer,
        a.wait.no_wait,
        |mut r| {
            if r.ok && !a.wait.no_wait {
                r.message = match target {
                    Some((c, t)) => format!(
                        "{key}: {} → {} ({})",
                        bytes(c as f64),
                        bytes(t as f64),
                        r.message
                    ),
                    None => format!("{key} ({})", r.message),
                };
            }
            r
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_asked_for() {
        assert_eq!(parse("+10G").unwrap(), SizeRequest::Grow(10 << 30));
        assert_eq!(parse("64G").unwrap(), SizeRequest::Set(64 << 30));
        for bad in ["-5G", "64", "+10", "ten", "10X"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse("-5G").unwrap_err().message.contains("cannot shrink"));
        assert!(parse("64").unwrap_err().message.contains("64G"));
    }
}
