//! `vm|ct edit`: the configuration as TOML in the user's editor, then the difference applied with
//! the digest guard of the configuration read before editing. Whatever goes wrong after the
//! editor, the edit is kept in its file, whose path is printed.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::super::apply::document::{self, Document, Export};
use super::super::apply::plan::{self, Current, Mode, Step};
use super::Ctx;
use crate::api::guest::config;
use crate::api::{firewall, ha, GuestKind};
use crate::cli::EditArgs;
use crate::error::{self, CliError, ErrorKind, Reported};
use crate::targets::{self, Guest, KindWords};
use crate::task::{ActionResult, Session, SHORT_WAIT};

pub async fn run(ctx: &Ctx, kind: GuestKind, a: EditArgs) -> anyhow::Result<()> {
    let timeout = ctx.wait_limit(a.wait.wait_timeout.as_deref(), SHORT_WAIT)?;
    if editor(ctx).is_none() && !(ctx.term.stdin_tty && ctx.term.stderr_tty) {
        return Err(CliError::usage(
            "no editor: set VISUAL or EDITOR (there is no terminal to run vi on); nothing was done",
        )
        .into());
    }
    let client = ctx.client()?;
    let g = targets::resolve_one(&client, kind, &a.guest, a.node.as_deref()).await?;
    let cfg = config::get(&client, &g).await?;
    let shown = Export {
        kind,
        vmid: g.vmid,
        node: &g.node,
        pool: None,
        config: &cfg,
        ha: None,
        firewall: None,
    };
    let original = format!("{}{}", header(&g), shown.render(""));
    let path = temp_file(&g, &original)?;
    let edit = Edit {
        ctx,
        guest: &g,
        path: &path,
    };
    if let Err(e) = run_editor(ctx, &path) {
        return Err(edit.keep_if_changed(&original, e));
    }
    let edited = std::fs::read_to_string(&path).map_err(|e| {
        edit.kept(CliError::other(format!(
            "cannot read {}: {e}",
            path.display()
        )))
    })?;
    if edited == original {
        return edit.unchanged();
    }
    let doc = match document::parse(&edited, &path.display().to_string()) {
        Ok(mut docs) if docs.len() == 1 => docs.remove(0),
        Ok(_) => {
            return Err(edit.kept(CliError::usage(format!(
                "{}: an edit is one guest, not [[guest]] tables",
                path.display()
            ))))
        }
        Err(e) => return Err(edit.kept(e)),
    };
    if let Err(e) = same_guest(&doc, &g) {
        return Err(edit.kept(e));
    }
    if !doc.ignored.is_empty() {
        ctx.out.warn(&format!(
            "read-only, not applied: {}",
            doc.ignored.join(", ")
        ));
    }
    let mut cur = Current {
        config: Some(cfg),
        ..Current::default()
    };
    if doc.ha.is_some() {
        let sid = ha::sid(kind, g.vmid);
        let list: Vec<serde_json::Map<String, serde_json::Value>> =
            ha::resources(&client).await.map_err(|e| edit.kept(e))?;
        cur.ha = list
            .into_iter()
            .find(|r| r.get("sid").and_then(serde_json::Value::as_str) == Some(sid.as_str()));
    }
    if doc.firewall.is_some() {
        cur.firewall = Some(
            firewall::options(&client, &firewall::guest_scope(kind, &g.node, g.vmid))
                .await
                .map_err(|e| edit.kept(e))?,
        );
    }
    let p = plan::existing(&doc, &g, &cur, Mode::Edit);
    if p.step == Step::None {
        return edit.unchanged();
    }
    for line in p.lines() {
        ctx.out.info(&line);
    }
    let session = Session::new(&ctx.out, &client, timeout);
    session.plan([plan::blank(&p, "change")]);
    let (mut r, pending) = match session
        .run(plan::execute(&client, &session, &p, a.wait.no_wait))
        .await
    {
        Ok(done) => done,
        Err(e) => {
            // Interrupted: whether the change reached PVE, the task's result says.
            ctx.out.notice(&format!("hint: {}", edit.kept_hint(true)));
            return Err(e);
        }
    };
    if r.ok {
        let _ = std::fs::remove_file(&path);
    } else {
        r.hint = Some(edit.kept_hint(r.failure == Some(ErrorKind::Refused)));
    }
    session.report(&[r], a.wait.no_wait)?;
    if let Some(line) = pending {
        ctx.out.info(&line);
    }
    Ok(())
}

/// The edit in progress: where it is kept when it cannot be applied.
struct Edit<'a> {
    ctx: &'a Ctx,
    guest: &'a Guest,
    path: &'a Path,
}

impl Edit<'_> {
    /// Where the edit is kept and how to go on: fix a file PVE was not asked about, or compare
    /// with what PVE has now when it refused.
    fn kept_hint(&self, refused: bool) -> String {
        let g = self.guest;
        let p = self.path.display();
        let (c, id) = (g.kind.command(), g.vmid);
        if refused {
            format!(
                "your edit is kept in {p}: see what is there now with `pvectl {c} config {id}`, then apply your edit with `pvectl apply {p}` (or start again with `pvectl {c} edit {id}`)"
            )
        } else {
            format!(
                "your edit is kept in {p}: correct it and apply it with `pvectl apply {p}` (or start again with `pvectl {c} edit {id}`)"
            )
        }
    }

    /// The error, said now with where the edit is kept; the command then exits with its code.
    fn kept(&self, e: impl Into<anyhow::Error>) -> anyhow::Error {
        let e: anyhow::Error = e.into();
        self.ctx
            .out
            .notice(&format!("error: {}", error::message(&e)));
        self.ctx
            .out
            .notice(&format!("hint: {}", self.kept_hint(false)));
        Reported(error::kind_of(&e)).into()
    }

    /// After a failed editor: the file is kept only if something was written to it.
    fn keep_if_changed(&self, original: &str, e: anyhow::Error) -> anyhow::Error {
        match std::fs::read_to_string(self.path) {
            Ok(text) if text != original => self.kept(e),
            _ => {
                let _ = std::fs::remove_file(self.path);
                e.context("nothing was changed")
            }
        }
    }

    fn unchanged(&self) -> anyhow::Result<()> {
        let _ = std::fs::remove_file(self.path);
        self.ctx
            .out
            .info(&format!("{}: no changes", self.guest.label()));
        if self.ctx.out.structured() {
            self.ctx.out.json(&Vec::<ActionResult>::new())?;
        }
        Ok(())
    }
}

fn header(g: &Guest) -> String {
    format!(
        "# The configuration of {}, {} on {}.\n\
         # Save and close to apply it (PVE refuses it if someone changed it meanwhile; your edit is\n\
         # then kept); take a line out to remove that key. Read-only keys are not shown.\n\n",
        g.label(),
        g.kind.a_noun(),
        g.node
    )
}

/// The edit's file, readable only by its owner (a configuration may hold secrets).
fn temp_file(g: &Guest, text: &str) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir();
    for _ in 0..16 {
        let path = dir.join(format!(
            "pvectl-edit-{}-{}-{:08x}.toml",
            g.kind.command(),
            g.vmid,
            rand::random::<u32>()
        ));
        let mut open = std::fs::OpenOptions::new();
        open.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
        match open.open(&path) {
            Ok(mut f) => {
                f.write_all(text.as_bytes()).map_err(|e| {
                    CliError::other(format!("cannot write {}: {e}", path.display()))
                })?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(CliError::other(format!(
                    "cannot create a file for the edit in {}: {e}",
                    dir.display()
                ))
                .into())
            }
        }
    }
    Err(CliError::other(format!(
        "cannot create a file for the edit in {}",
        dir.display()
    ))
    .into())
}

/// `$VISUAL`, else `$EDITOR`, else `vi`, run through the shell (it may carry arguments, as
/// `code --wait` does) on the file, with the terminal.
fn run_editor(ctx: &Ctx, path: &Path) -> anyhow::Result<()> {
    let editor = editor(ctx).unwrap_or("vi");
    // Ctrl-C belongs to the editor while it runs: pvectl must not end under it.
    #[cfg(unix)]
    let _interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt());
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(path)
        .status()
        .map_err(|e| CliError::other(format!("cannot start the editor ({editor}): {e}")))?;
    if !status.success() {
        let how = match status.code() {
            Some(code) => format!("exited with {code}"),
            None => "was killed".to_string(),
        };
        return Err(CliError::other(format!(
            "the editor ({editor}) {how}: set VISUAL or EDITOR to the one you use"
        ))
        .into());
    }
    Ok(())
}

/// The editor the user chose: `$VISUAL`, else `$EDITOR`.
fn editor(ctx: &Ctx) -> Option<&str> {
    ["VISUAL", "EDITOR"]
        .iter()
        .find_map(|k| ctx.env.get(*k).filter(|v| !v.trim().is_empty()))
        .map(String::as_str)
}

/// An edit changes one guest's configuration: its type, VMID and node stay.
fn same_guest(doc: &Document, g: &Guest) -> Result<(), CliError> {
    if doc.kind != g.kind || doc.vmid != Some(g.vmid) {
        return Err(CliError::usage(format!(
            "{}: the edit names another guest (type and vmid must stay {} and {})",
            doc.origin,
            g.kind.as_str(),
            g.vmid
        )));
    }
    if doc.node.as_deref().is_some_and(|n| n != g.node) {
        return Err(CliError::usage(format!(
            "{}: node must stay {}: an edit moves no guest (use `pvectl {} migrate {} NODE`)",
            doc.origin,
            g.node,
            g.kind.command(),
            g.vmid
        )));
    }
    Ok(())
}
