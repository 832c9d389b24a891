//! `POST /nodes/{node}/storage/{storage}/upload`: a file streamed from disk as
//! `multipart/form-data`, never held in memory.
//!
//! pveproxy reads the body itself before the API sees it (pve-http-server
//! `file_upload_multipart`): it wants a `Content-Length` (no chunked encoding), the `content`,
//! `checksum-algorithm` and `checksum` parts in that order before the file part, and the file part
//! named `filename` with the target name in its `filename="…"`. It writes the file to
//! `/var/tmp/pveupload-…` and deletes it when the connection breaks before the end, so an upload
//! cut short leaves nothing. Uploads are never proxied: send them to the node that stores the
//! file. The answer is an `imgcopy` UPID: that task moves the file into place and checks the
//! checksum.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::stream;
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::Value;
use tokio::io::AsyncReadExt;

use super::answer::{decode, interpret, reason_phrase};
use super::error::ApiError;
use super::limiter::Priority;
use super::storage::{Checksum, Content};
use super::{nodes, seg, Client, Params};

/// Bytes read from the file per chunk.
const CHUNK: usize = 1 << 20;

/// Called with the number of bytes handed to the connection so far.
pub type OnProgress = Arc<dyn Fn(u64) + Send + Sync>;

/// One file to upload.
#[derive(Clone)]
pub struct Upload {
    pub path: PathBuf,
    /// Its size, as sent in the `Content-Length`.
    pub size: u64,
    /// The name to store it under (already normalised as PVE does).
    pub filename: String,
    pub content: Content,
    pub checksum: Option<Checksum>,
    /// Give up when nothing moved for this long (no bytes taken by the server, or no answer
    /// after the last one).
    pub stall: Duration,
    pub progress: Option<OnProgress>,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload")
            .field("path", &self.path)
            .field("size", &self.size)
            .field("filename", &self.filename)
            .field("content", &self.content)
            .finish_non_exhaustive()
    }
}

/// What the watchdog looks at: bytes sent and when the last ones went.
struct Activity {
    sent: AtomicU64,
    last: Mutex<Instant>,
}

impl Activity {
    fn touch(&self) {
        if let Ok(mut t) = self.last.lock() {
            *t = Instant::now();
        }
    }
    fn idle(&self) -> Duration {
        self.last.lock().map(|t| t.elapsed()).unwrap_or_default()
    }
}

/// The file as a stream of chunks, reporting each one as it is taken.
fn file_stream(
    file: tokio::fs::File,
    size: u64,
    activity: Arc<Activity>,
    progress: Option<OnProgress>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    stream::try_unfold((file, 0u64), move |(mut file, done)| {
        let activity = activity.clone();
        let progress = progress.clone();
        async move {
            if done >= size {
                return Ok(None);
            }
            let want = CHUNK.min(usize::try_from(size - done).unwrap_or(CHUNK));
            let mut buf = Vec::with_capacity(want);
            while buf.len() < want {
                let n = (&mut file)
                    .take((want - buf.len()) as u64)
                    .read_to_end(&mut buf)
                    .await?;
                if n == 0 {
                    // The file shrank since its size was taken: the Content-Length would lie.
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the file got shorter while it was being uploaded",
                    ));
                }
            }
            let done = done + buf.len() as u64;
            activity.sent.store(done, Ordering::Relaxed);
            activity.touch();
            if let Some(p) = &progress {
                p(done);
            }
            Ok(Some((buf, (file, done))))
        }
    })
}

/// Upload the file; the answer is PVE's `imgcopy` UPID.
pub async fn upload(
    client: &Client,
    node: &str,
    storage: &str,
    u: &Upload,
) -> Result<Value, ApiError> {
    let file = tokio::fs::File::open(&u.path)
        .await
        .map_err(|e| ApiError::Invalid(format!("cannot read {}: {e}", u.path.display())))?;
    let activity = Arc::new(Activity {
        sent: AtomicU64::new(0),
        last: Mutex::new(Instant::now()),
    });
    let body = reqwest::Body::wrap_stream(file_stream(
        file,
        u.size,
        activity.clone(),
        u.progress.clone(),
    ));
    // pveproxy reads these parts in this order, before the file.
    let mut form = Form::new().text("content", u.content.as_str().to_string());
    if let Some(c) = &u.checksum {
        form = form
            .text("checksum-algorithm", c.algorithm.clone())
            .text("checksum", c.hex.clone());
    }
    let part = Part::stream_with_length(body, u.size)
        .file_name(u.filename.clone())
        .mime_str("application/octet-stream")
        .map_err(|e| ApiError::Invalid(e.to_string()))?;
    form = form.part("filename", part);

    let path = format!("{}/storage/{}/upload", nodes::path(node), seg(storage));
    let method = Method::POST;
    let headers = client.auth_headers(&method).await?;
    client.limiter.acquire(Priority::Normal).await;
    // The body may take hours; the watchdog below decides when it is stuck.
    let request = client
        .http
        .request(method.clone(), format!("{}{}", client.api, path))
        .headers(headers)
        .timeout(Duration::from_secs(7 * 24 * 3600))
        .multipart(form);
    let started = Instant::now();
    let send = async {
        let response = request.send().await?;
        let status = response.status();
        let reason = reason_phrase(&response);
        let body = response.bytes().await?;
        Ok::<_, reqwest::Error>((status, reason, body))
    };
    let watchdog = async {
        loop {
            tokio::time::sleep(Duration::from_millis(500).min(u.stall)).await;
            if activity.idle() >= u.stall {
                return;
            }
        }
    };
    let outcome = tokio::select! {
        r = send => Some(r),
        _ = watchdog => None,
    };
    let params = Params::new();
    let answer = match outcome {
        None => {
            client.trace_line(&method, &path, &params, "stalled", started, 1);
            let sent = activity.sent.load(Ordering::Relaxed);
            let what = if sent >= u.size {
                "no answer after the whole file was sent"
            } else {
                "the server took no data"
            };
            return Err(ApiError::Unreachable {
                message: format!(
                    "upload stalled: {what} for {}s ({sent} of {} bytes sent)",
                    u.stall.as_secs(),
                    u.size
                ),
            });
        }
        Some(Err(e)) => {
            client.trace_line(&method, &path, &params, "error", started, 1);
            return Err(client.transport_error(e));
        }
        Some(Ok(a)) => a,
    };
    let (status, reason, body) = answer;
    client.trace_line(&method, &path, &params, status.as_str(), started, 1);
    let env = interpret(status, reason, &body, &path).map_err(nodes::unknown(node))?;
    decode(&path, env.data)
}
