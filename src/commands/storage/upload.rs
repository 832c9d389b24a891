//! `storage upload`: a local file streamed to the node that stores it, with a byte progress bar
//! on a terminal, then PVE's `imgcopy` task (it moves the file into place and checks the
//! checksum) waited for. Everything that can be checked is checked before a byte is sent.

use std::sync::Arc;
use std::time::Instant;

use super::place::{checksum, content_and_name, image_place, sniff_format};
use crate::api::storage::{self, file_volid};
use crate::api::upload::{self, Upload};
use crate::cli::UploadArgs;
use crate::commands::Ctx;
use crate::error::{CliError, ErrorKind, Reported};
use crate::output::bytes;
use crate::task::{ActionResult, Session, LONG_WAIT};

pub async fn run(ctx: &Ctx, a: UploadArgs) -> anyhow::Result<()> {
    let t = &a.transfer;
    let timeout = ctx.wait_limit(t.wait.wait_timeout.as_deref(), LONG_WAIT)?;
    let path = crate::config::expand_home(&a.file);
    let meta = std::fs::metadata(&path)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", a.file.display())))?;
    if !meta.is_file() {
        return Err(CliError::usage(format!("{} is not a file", a.file.display())).into());
    }
    // Opening it now says "permission denied" before anything else happens.
    std::fs::File::open(&path)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", a.file.display())))?;
    let size = meta.len();
    let original = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (content, name, note) = content_and_name(t, &original, || sniff_format(&path))?;
    let checksum = checksum(t, &original)?;

    let client = ctx.client()?;
    let place = image_place(ctx, &client, &a.storage, t.node.as_deref()).await?;
    place.require(content)?;
    let volid = file_volid(&place.storage, content, &name);
    let mut result = ActionResult::new(volid.clone(), place.node.clone(), "upload");
    result.volid = Some(volid.clone());
    result.size = Some(size);
    let session = Session::new(&ctx.out, &client, timeout);
    if let Some(note) = &note {
        session.progress.println(&format!("{volid}: {note}"));
    }

    // A file of that name already there: the same size is taken as the same file.
    let present = storage::content(
        &client,
        &place.node,
        &place.storage,
        Some(content.as_str()),
        None,
    )
    .await?
    .into_iter()
    .find(|v| v.volid == volid);
    if let Some(v) = present {
        let there = v.extra.get("size").and_then(serde_json::Value::as_u64);
        if !a.force {
            if there == Some(size) {
                return session.report(&[result.done("already present")], false);
            }
            return Err(CliError::refused(format!(
                "{volid} on {} is already there ({}; this file is {}): --force replaces it",
                place.node,
                there
                    .map(|s| bytes(s as f64))
                    .unwrap_or_else(|| "size unknown".into()),
                bytes(size as f64)
            ))
            .into());
        }
    }

    session.progress.println(&format!(
        "{volid}: uploading {} ({}) to {}",
        original,
        bytes(size as f64),
        place.node
    ));
    let bar = session.progress.bytes(&volid, "upload", size);
    let on_progress: upload::OnProgress = {
        let bar = bar.clone();
        Arc::new(move |n| bar.set(n))
    };
    let sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = sent.clone();
    let up = Upload {
        path: path.clone(),
        size,
        filename: name.clone(),
        content,
        checksum,
        stall: ctx.settings.timeout,
        progress: Some(Arc::new(move |n| {
            counter.store(n, std::sync::atomic::Ordering::Relaxed);
            on_progress(n);
        })),
    };
    let started = Instant::now();
    let answer = tokio::select! {
        r = upload::upload(&client, &place.node, &place.storage, &up) => r,
        _ = tokio::signal::ctrl_c() => {
            bar.finish();
            let n = sent.load(std::sync::atomic::Ordering::Relaxed);
            ctx.out.notice(&format!(
                "interrupted: the upload of {original} to {} on {} was cancelled after {} of {}; PVE discards a partial upload, nothing was stored",
                place.storage,
                place.node,
                bytes(n as f64),
                bytes(size as f64),
            ));
            return Err(Reported(ErrorKind::Interrupted).into());
        }
    };
    bar.finish();
    if answer.is_ok() {
        let secs = started.elapsed().as_secs_f64().max(0.001);
        session.progress.println(&format!(
            "{volid}: sent {} in {secs:.1}s ({}/s)",
            bytes(size as f64),
            bytes(size as f64 / secs)
        ));
    }
    let r = session
        .run(session.settle(answer, result, "OK", t.wait.no_wait))
        .await?;
    session.report(&[explain(r)], t.wait.no_wait)
}

/// A checksum that did not match: PVE deleted the upload, say so.
pub(super) fn explain(mut r: ActionResult) -> ActionResult {
    if !r.ok && r.message.contains("checksum mismatch") {
        r.hint = Some(
            "PVE removed the transferred file: nothing was stored. Check the file and the checksum"
                .into(),
        );
    }
    r
}
