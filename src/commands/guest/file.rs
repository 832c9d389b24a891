//! `vm file get|put`: files out of and into a VM through the guest agent, byte for byte (base64
//! on the wire). A read goes in 16 MiB pieces, so any size can be fetched; a write is one request,
//! so PVE's limit applies: 45 KiB.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::exec::agent_error;
use super::Ctx;
use crate::api::guest::agent::{self, FILE_WRITE_MAX};
use crate::api::{ApiError, GuestKind};
use crate::cli::{FileCmd, FileGetArgs, FilePutArgs};
use crate::error::CliError;
use crate::output::progress::Progress;
use crate::targets::{self, Guest};
use crate::task::{self, ActionResult};

pub async fn run(ctx: &Ctx, cmd: FileCmd) -> anyhow::Result<()> {
    match cmd {
        FileCmd::Get(a) => get(ctx, a).await,
        FileCmd::Put(a) => put(ctx, a).await,
    }
}

async fn get(ctx: &Ctx, a: FileGetArgs) -> anyhow::Result<()> {
    let target = a
        .local
        .as_deref()
        .filter(|p| *p != Path::new("-"))
        .map(|p| local_target(p, &a.path))
        .transpose()?;
    let client = ctx.client()?;
    let g = targets::resolve_one(&client, GuestKind::Qemu, &a.guest, a.node.as_deref()).await?;
    let mut data: Vec<u8> = vec![];
    loop {
        let chunk = match agent::file_read(&client, &g, &a.path, data.len() as u64).await {
            Ok(c) => c,
            Err(e) => return Err(read_error(&client, &g, &a.path, e).await),
        };
        let more = chunk.truncated && !chunk.data.is_empty();
        data.extend_from_slice(&chunk.data);
        if !more {
            break;
        }
    }
    match target {
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(&data)?;
            out.flush()?;
        }
        Some(path) => {
            write_whole(&path, &data)?;
            ctx.out.info(&format!(
                "{}: {} → {} ({} bytes)",
                g.label(),
                a.path,
                path.display(),
                data.len()
            ));
        }
    }
    Ok(())
}

async fn read_error(
    client: &crate::api::Client,
    g: &Guest,
    path: &str,
    e: ApiError,
) -> anyhow::Error {
    if agent::no_such_file(&e) {
        return CliError::not_found(format!("{} has no file {path} ({})", g.label(), e)).into();
    }
    agent_error(client, g, e).await
}

/// Where `get` writes: LOCAL, or into it when it is a directory (with the guest file's name).
fn local_target(local: &Path, remote: &str) -> anyhow::Result<PathBuf> {
    if local.is_dir() {
        let name = remote
            .rsplit(['/', '\\'])
            .find(|s| !s.is_empty())
            .ok_or_else(|| {
                CliError::usage(format!(
                    "'{remote}' names no file to put into the directory {}",
                    local.display()
                ))
            })?;
        return Ok(local.join(name));
    }
    Ok(local.to_path_buf())
}

/// Write the file whole or not at all: a temporary file beside it, renamed when complete.
fn write_whole(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.pvectl-{}", std::process::id()));
    let written = std::fs::write(&tmp, data).and_then(|_| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(CliError::other(format!("cannot write {}: {e}", path.display())).into());
    }
    Ok(())
}

async fn put(ctx: &Ctx, a: FilePutArgs) -> anyhow::Result<()> {
    let from_stdin = a.local == Path::new("-");
    let shown = if from_stdin {
        "stdin".to_string()
    } else {
        a.local.display().to_string()
    };
    let data = if from_stdin {
        let mut buf = vec![];
        std::io::stdin()
            .lock()
            .take(FILE_WRITE_MAX as u64 + 1)
            .read_to_end(&mut buf)
            .map_err(|e| CliError::usage(format!("cannot read stdin: {e}")))?;
        buf
    } else {
        std::fs::read(&a.local).map_err(|e| CliError::usage(format!("cannot read {shown}: {e}")))?
    };
    if data.len() > FILE_WRITE_MAX {
        let size = if from_stdin {
            format!("more than {FILE_WRITE_MAX} bytes")
        } else {
            format!("{} bytes", data.len())
        };
        return Err(CliError::usage(format!(
            "{shown} is {size}: PVE's guest agent writes a file in one request of at most 60 KiB of base64, \
             that is {FILE_WRITE_MAX} bytes (45 KiB); nothing was written"
        ))
        .into());
    }
    let client = ctx.client()?;
    let g = targets::resolve_one(&client, GuestKind::Qemu, &a.guest, a.node.as_deref()).await?;
    let result = ActionResult::for_guest(&g, "file put");
    let result = match agent::file_write(&client, &g, &a.path, &data).await {
        Ok(()) => result.done(&format!("wrote {} bytes to {}", data.len(), a.path)),
        Err(e) => result.failed(&agent_error(&client, &g, e).await),
    };
    task::report(&ctx.out, &Progress::new(&ctx.out), &[result], false)
}
