//! `storage download`: the node fetches a URL onto a storage itself (`download-url`); pvectl
//! shows the progress the task log reports (wget's percentages) and the task's verdict.

use super::place::{checksum, content_and_name, image_place, Place};
use super::upload::explain;
use crate::api::storage::{self, file_volid, Content, DownloadUrl};
use crate::api::Client;
use crate::cli::{DownloadArgs, TransferArgs};
use crate::commands::kit::settle_shaped;
use crate::commands::Ctx;
use crate::error::CliError;
use crate::task::{ActionResult, Session, LONG_WAIT};

pub async fn run(ctx: &Ctx, a: DownloadArgs) -> anyhow::Result<()> {
    let t = &a.transfer;
    let timeout = ctx.wait_limit(t.wait.wait_timeout.as_deref(), LONG_WAIT)?;
    let request = prepare(&a.url, t)?;
    let client = ctx.client()?;
    let place = image_place(ctx, &client, &a.storage, t.node.as_deref()).await?;
    let session = Session::new(&ctx.out, &client, timeout);
    let r = fetch(&session, &client, &place, &request, t.wait.no_wait).await?;
    session.report(&[r], t.wait.no_wait)
}

/// What a download needs, checked before anything is sent: the URL, content type, name and
/// checksum.
pub struct Prepared {
    pub request: DownloadUrl,
    pub note: Option<String>,
}

/// Check the URL and work out the content type, name and checksum of a download.
pub fn prepare(url: &str, t: &TransferArgs) -> Result<Prepared, CliError> {
    let parsed = url::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| {
            CliError::usage(format!(
                "'{url}' is not an http(s) URL: the node downloads from http:// or https:// only"
            ))
        })?;
    let last = parsed
        .path_segments()
        .and_then(|mut s| s.next_back())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .unwrap_or_default();
    if last.is_empty() && t.name.is_none() {
        return Err(CliError::usage(format!(
            "the URL '{url}' names no file: give --name"
        )));
    }
    // A remote `.img` cannot be looked into: cloud images of that name are qcow2.
    let (content, filename, note) = content_and_name(t, &last, || "qcow2")?;
    let checksum = checksum(t, &last)?;
    Ok(Prepared {
        request: DownloadUrl {
            url: url.to_string(),
            content,
            filename,
            checksum,
        },
        note,
    })
}

/// Download onto `place` unless a file of that name is there already; the result says which.
pub async fn fetch(
    session: &Session<'_>,
    client: &Client,
    place: &Place,
    p: &Prepared,
    no_wait: bool,
) -> anyhow::Result<ActionResult> {
    let d = &p.request;
    place.require(d.content)?;
    let volid = file_volid(&place.storage, d.content, &d.filename);
    let mut result = ActionResult::new(volid.clone(), place.node.clone(), "download");
    result.volid = Some(volid.clone());
    if let Some(note) = &p.note {
        session.progress.println(&format!("{volid}: {note}"));
    }
    // PVE refuses to overwrite a file (unless a checksum proves it is the same one): a file of
    // that name is taken as the one asked for.
    if present(client, place, d.content, &volid).await? {
        return Ok(result.done("already present"));
    }
    session
        .progress
        .println(&format!("{volid}: {} fetches {}", place.node, d.url));
    let answer = storage::download_url(client, &place.node, &place.storage, d).await;
    let r = session
        .run(settle_shaped(session, answer, result, "OK", no_wait, |b| {
            b.transfer()
        }))
        .await?;
    Ok(explain(r))
}

/// Whether the storage lists `volid`.
pub async fn present(
    client: &Client,
    place: &Place,
    content: Content,
    volid: &str,
) -> anyhow::Result<bool> {
    Ok(storage::content(
        client,
        &place.node,
        &place.storage,
        Some(content.as_str()),
        None,
    )
    .await?
    .iter()
    .any(|v| v.volid == volid))
}
